/**
 * `serve --workers N`: N server processes on the same ports (node:cluster shares the listening
 * sockets; connections go round-robin). One JavaScript thread parses HTTP and copies request bodies
 * at a few GB/s: large requests (batch-32 images, 4.8 MB each) keep it busy before the GPU is, and
 * more processes lift that limit. Each worker loads its own engines (on the same GPUs; no batching
 * across workers) before it binds, so no connection reaches a worker that is not ready. The
 * primary serves /metrics for all of them (prom-client's AggregatorRegistry: counters summed),
 * forwards SIGTERM / SIGINT, and exits when they have drained.
 */
import cluster, { type Worker } from 'node:cluster';
import Fastify from 'fastify';
import { AggregatorRegistry } from 'prom-client';
import type { Logger } from './log';

/** The environment a worker reads its index from (set by the primary). */
export const WORKER_ENV = 'TRTN_SERVE_WORKER';

/** This process's worker index, when it is a serve worker. */
export function workerIndex(): number | undefined {
  const v = process.env[WORKER_ENV];
  return cluster.isWorker && v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

/** What the primary needs. */
export interface ClusterOptions {
  readonly workers: number;
  readonly host: string;
  /** The aggregated /metrics port (false: none). */
  readonly metricsPort: number | false;
  readonly log: Logger;
}

/** A worker's messages to the primary. */
type WorkerMessage = { readonly kind: 'trtn-serve-ready'; readonly ready: boolean } | { readonly kind: string };

/**
 * Runs the primary: forks the workers (each runs this same command line), serves the aggregated
 * metrics, and resolves with the exit code once a signal stopped them (1 when a worker died).
 */
export async function runPrimary(o: ClusterOptions): Promise<number> {
  const metrics = o.metricsPort === false ? undefined : await serveMetrics(o);
  const workers = Array.from({ length: o.workers }, (_, i) => cluster.fork({ [WORKER_ENV]: String(i) }));
  let stopping = false;
  let failed = false;
  const exited = workers.map(
    (w, i) =>
      new Promise<void>((resolve) =>
        w.on('exit', (code, signal) => {
          if (!stopping) {
            failed = true;
            o.log.error(`worker ${i} exited (${signal ?? `code ${code}`}); the others keep serving`);
          }
          resolve();
        }),
      ),
  );
  void readiness(workers, o.log);
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    o.log.info(`${signal}: stopping ${o.workers} workers`);
    for (const w of workers) if (!w.isDead()) w.process.kill('SIGTERM');
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  await Promise.all(exited);
  await metrics?.close();
  o.log.info('stopped');
  return failed && !stopping ? 1 : 0;
}

/** Logs once every worker said whether its models loaded. */
async function readiness(workers: readonly Worker[], log: Logger): Promise<void> {
  const states = await Promise.all(
    workers.map(
      (w) =>
        new Promise<boolean>((resolve) => {
          w.on('message', (m: WorkerMessage) => {
            if (m.kind === 'trtn-serve-ready') resolve((m as { ready: boolean }).ready);
          });
          w.on('exit', () => resolve(false));
        }),
    ),
  );
  const ready = states.filter(Boolean).length;
  log.info(
    ready === workers.length ? `all ${workers.length} workers ready` : `${ready} of ${workers.length} workers have every model ready`,
  );
}

/** The primary's /metrics: every worker's registry, aggregated. */
async function serveMetrics(o: ClusterOptions): Promise<{ close(): Promise<void> }> {
  const aggregator = new AggregatorRegistry();
  const app = Fastify({ logger: false, forceCloseConnections: 'idle' });
  app.get('/metrics', async (_req, reply) => reply.type(aggregator.contentType).send(await aggregator.clusterMetrics()));
  await app.listen({ port: o.metricsPort as number, host: o.host });
  o.log.info(`metrics (Prometheus, ${o.workers} workers aggregated) on ${o.host}:${o.metricsPort}/metrics`);
  return app;
}

/** In a worker: tells the primary whether every model loaded. */
export function reportReady(ready: boolean): void {
  process.send?.({ kind: 'trtn-serve-ready', ready });
}
