/**
 * createServer(): the inference server as an API. It serves a Triton-layout model repository over
 * KServe v2 REST (fastify), gRPC (grpc-js) and Prometheus metrics (a port of their own), with
 * model control, dynamic batching and a graceful close (stop accepting, drain, free).
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { AggregatorRegistry } from 'prom-client';
import type { AddressInfo } from 'net';
import type { BackendChoice } from '../backends';
import { argumentError } from '../errors';
import { arrayOf, integer, nonEmptyString, object, oneOf, optional, string, type Checker } from '../validate';
import { v2Routes } from './http';
import { createLogger, LOG_LEVELS, type Logger, type LogLevel } from './log';
import { ServeMetrics } from './metrics';
import { ModelRegistry } from './registry';

/** Options of createServer(). */
export interface ServerOptions {
  /** The model repository folder (Triton's layout). */
  readonly repository: string;
  /** Address the ports bind to (default '0.0.0.0'; tests use '127.0.0.1'). */
  readonly host?: string;
  /** HTTP port (default 8000; 0 picks a free one). */
  readonly httpPort?: number;
  /** gRPC port (default 8001; false: no gRPC). */
  readonly grpcPort?: number | false;
  /** Metrics port (default 8002; false: no metrics endpoint). */
  readonly metricsPort?: number | false;
  /** 'none' (default): every model loads at start and stays; 'explicit': load / unload on request. */
  readonly modelControl?: 'none' | 'explicit';
  /** explicit mode: the models loaded at start ('*': all). */
  readonly loadModels?: readonly string[];
  /** Backend of models whose parameters name none (default 'auto'). */
  readonly backend?: BackendChoice;
  /** GPUs instances go on when their instance_group names none (default [0]). */
  readonly gpus?: readonly number[];
  /** Requests a model's queue holds when its config sets no max_queue_size (default 1024). */
  readonly maxQueueSize?: number;
  /** Largest request body in bytes (default 64 MiB); more is a 413. */
  readonly bodyLimit?: number;
  /** Log level of the default JSON logger (default 'info'). */
  readonly logLevel?: LogLevel;
  /** A logger of your own instead. */
  readonly logger?: Logger;
  /** Seconds between progress lines while a model builds (default 5). */
  readonly progressSeconds?: number;
  /**
   * This server is worker `index` of `count` (`serve --workers`, cluster.ts): it loads its models
   * before it binds (no connection reaches it unready), binds no metrics port (the primary
   * aggregates this registry), refuses model control requests, and logs its index.
   */
  readonly worker?: { readonly index: number; readonly count: number };
}

/** Where a listening server answers. */
export interface ServerAddresses {
  readonly http: AddressInfo;
  readonly grpc?: { readonly port: number };
  readonly metrics?: AddressInfo;
}

/** A server made by createServer(). */
export interface ServerHandle {
  /** Binds the ports, then loads the models (mode none; explicit: loadModels); resolves when both are done. */
  listen(): Promise<ServerAddresses>;
  /** Stops accepting, lets requests in flight finish, unloads the models and closes the ports. */
  close(): Promise<void>;
  /** The fastify instance of the HTTP port (to add routes of your own before listen()). */
  readonly http: FastifyInstance;
  readonly registry: ModelRegistry;
  readonly metrics: ServeMetrics;
  readonly log: Logger;
}

function version(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('../../../package.json') as { version: string }).version;
}

/** A port, or (where `allowFalse`) false for none. */
function port(allowFalse: boolean): Checker<number | false> {
  const what = `a port in [0, 65535]${allowFalse ? ' or false' : ''}`;
  const inRange = integer({ min: 0, max: 65535, what });
  return (value, name) => (allowFalse && value === false ? false : inRange(value, name));
}

function objectOf<T>(what: string): Checker<T> {
  return (value, name) => {
    if (value === null || typeof value !== 'object') throw argumentError(what, name, value);
    return value as T;
  };
}

/** sharp-style checks of every option, before anything starts (unknown keys refused). */
const checkOptions = object<ServerOptions>(
  {
    repository: nonEmptyString('a folder path'),
    host: optional(string('a host string')),
    httpPort: optional(port(false)) as Checker<number | undefined>,
    grpcPort: optional(port(true)),
    metricsPort: optional(port(true)),
    modelControl: optional(oneOf(['none', 'explicit'] as const)),
    loadModels: optional(arrayOf(string(), { what: 'an array of model names', reportWhole: true })),
    backend: optional(oneOf(['auto', 'cpu', 'cuda', 'tensorrt'] as const)),
    gpus: optional(arrayOf(integer({ min: 0 }), { what: 'an array of GPU indices', reportWhole: true })),
    maxQueueSize: optional(integer({ min: 1 })),
    bodyLimit: optional(integer({ min: 1024 })),
    logLevel: optional(oneOf(LOG_LEVELS)),
    logger: optional(objectOf<Logger>('a logger object (error, warn, info, debug)')),
    progressSeconds: optional(integer({ min: 1 })),
    worker: optional(
      object<{ index: number; count: number }>(
        { index: integer({ min: 0 }), count: integer({ min: 1 }) },
        { what: 'an object { index, count }' },
      ),
    ),
  },
  { exact: true },
);

/** Makes a server (nothing is bound or loaded until listen()). */
export function createServer(options: ServerOptions): ServerHandle {
  const o = checkOptions(options, 'options');
  const worker = o.worker;
  const log = o.logger ?? createLogger(o.logLevel ?? 'info', undefined, worker !== undefined ? { worker: worker.index } : {});
  const metrics = new ServeMetrics();
  const registry = new ModelRegistry({
    repository: o.repository,
    backend: o.backend ?? 'auto',
    gpus: o.gpus ?? [],
    log,
    metrics,
    maxQueueSize: o.maxQueueSize ?? 1024,
    progressSeconds: o.progressSeconds ?? 5,
  });
  let stopping = false;
  const http = Fastify({ bodyLimit: o.bodyLimit ?? 64 * 1024 * 1024, logger: false, forceCloseConnections: 'idle' });
  const modelControl = o.modelControl ?? 'none';
  void http.register(v2Routes, {
    registry,
    log,
    serverName: 'tensorrt-node',
    serverVersion: version(),
    modelControl: worker !== undefined ? 'none' : modelControl,
    ...(worker !== undefined
      ? {
          controlRefusal: `model control requests are refused with --workers ${worker.count} (each worker loads its models at start): restart the server with the models to load`,
        }
      : {}),
    stopping: () => stopping,
  });
  http.addHook('onResponse', async (req, reply) => {
    log.debug('request', { method: req.method, url: req.url, status: reply.statusCode, ms: Number(reply.elapsedTime.toFixed(3)) });
  });
  let metricsApp: FastifyInstance | undefined;
  let extra: { close(): Promise<void> } | undefined;
  const host = o.host ?? '0.0.0.0';

  async function listen(): Promise<ServerAddresses> {
    if (worker !== undefined) {
      // The primary's /metrics asks this registry (prom-client answers once an AggregatorRegistry exists).
      new AggregatorRegistry();
      AggregatorRegistry.setRegistries([metrics.registry]);
      await loadModels();
    }
    await http.listen({ port: o.httpPort ?? 8000, host });
    const addresses: { http: AddressInfo; grpc?: { port: number }; metrics?: AddressInfo } = { http: http.server.address() as AddressInfo };
    log.info(`HTTP (KServe v2 REST) on ${host}:${addresses.http.port}`);
    if (o.metricsPort !== false && worker === undefined) {
      metricsApp = Fastify({ logger: false, forceCloseConnections: 'idle' });
      metricsApp.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.text()));
      await metricsApp.listen({ port: o.metricsPort ?? 8002, host });
      addresses.metrics = metricsApp.server.address() as AddressInfo;
      log.info(`metrics (Prometheus) on ${host}:${addresses.metrics.port}/metrics`);
    }
    if (o.grpcPort !== false) {
      const { startGrpc } = await import('./grpc');
      const g = await startGrpc({ registry, host, port: o.grpcPort ?? 8001, serverVersion: version(), stopping: () => stopping });
      extra = g;
      addresses.grpc = { port: g.port };
      log.info(`gRPC (GRPCInferenceService) on ${host}:${g.port}`);
    }
    if (worker === undefined) await loadModels();
    return addresses;
  }

  async function loadModels(): Promise<void> {
    if (modelControl === 'none' || o.loadModels?.includes('*') === true) await registry.loadAll();
    else await Promise.all((o.loadModels ?? []).map((m) => registry.load(m).catch(() => undefined)));
  }

  async function close(): Promise<void> {
    if (stopping) return;
    stopping = true;
    log.info('shutting down: no new requests, draining');
    await http.close();
    await extra?.close();
    await registry.close();
    await metricsApp?.close();
    log.info('stopped');
  }

  return { listen, close, http, registry, metrics, log };
}
