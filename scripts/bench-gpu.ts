/**
 * GPU benchmark of the cuda backend (trtexec-style GPU compute time): for each network, precision
 * and batch, build an engine (tactics timed, shared timing cache), warm up, then time inferences
 * and keep the median GPU compute time (CUDA events around the kernels of one inference, copies
 * excluded) and the median host latency (copies included). Writes one JSON document.
 *   node dist/scripts/bench-gpu.js --out results.json [--nets alexnet,googlenet]
 *     [--precisions fp32,tf32,fp16,int8] [--batches 1,8,32,128] [--iterations 30]
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Builder, devices, Network } from '../lib';
import type { Precision } from '../lib';
import { uniformData } from '../lib/random_data';

const ROOT = path.resolve(__dirname, '../..');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function main(): Promise<void> {
  const nets = arg('nets', 'alexnet,googlenet').split(',');
  const precisions = arg('precisions', 'fp32,tf32,fp16,int8').split(',') as Precision[];
  const batches = arg('batches', '1,8,32,128').split(',').map(Number);
  const iterations = Number(arg('iterations', '30'));
  const out = arg('out', '');
  const cache = path.join(os.tmpdir(), `trtn-bench-timing-${process.pid}.json`);
  const gpu = devices().devices[0];
  const rows: unknown[] = [];
  for (const name of nets) {
    const net = await Network.fromCaffe(path.join(ROOT, 'models', `${name}.prototxt`), { seed: 1 });
    for (const precision of precisions) {
      for (const batch of batches) {
        const t0 = performance.now();
        let row: Record<string, unknown> = { network: name, precision, batch };
        try {
          const engine = await new Builder({ backend: 'cuda', timingCache: cache, logger: () => undefined }).build(net, {
            precision,
            maxBatchSize: batch,
            tuneBatch: batch,
          });
          const buildSeconds = (performance.now() - t0) / 1000;
          const ctx = engine.createContext();
          const inputs = Object.fromEntries(
            engine.inputs.map((t, k) => [t.name, uniformData(batch * t.dims.reduce((a, b) => a * b, 1), 7 + k)]),
          );
          const outputs = Object.fromEntries(
            engine.outputs.map((t) => [t.name, new Float32Array(batch * t.dims.reduce((a, b) => a * b, 1))]),
          );
          for (let i = 0; i < 5; i++) await ctx.infer(inputs, { outputs });
          const compute: number[] = [];
          const latency: number[] = [];
          const h2d: number[] = [];
          const d2h: number[] = [];
          for (let i = 0; i < iterations; i++) {
            const s = performance.now();
            await ctx.infer(inputs, { outputs });
            latency.push(performance.now() - s);
            const t = ctx.lastTiming;
            if (t === undefined) throw new Error('no GPU timing: is this the cuda backend?');
            compute.push(t.computeMs);
            h2d.push(t.h2dMs);
            d2h.push(t.d2hMs);
          }
          const details = engine.details();
          const computeMs = median(compute);
          row = {
            ...row,
            buildSeconds,
            computeMs,
            imagesPerSecond: batch / (computeMs / 1000),
            h2dMs: median(h2d),
            d2hMs: median(d2h),
            latencyMs: median(latency),
            activationBytesPerImage: engine.memory().activationBytesPerImage,
            tactics: Object.fromEntries((details.layers ?? []).filter((l) => l.candidates > 1).map((l) => [l.name, l.tactic])),
          };
          ctx.dispose();
          engine.dispose();
        } catch (err) {
          row = { ...row, error: (err as Error).message, code: (err as { code?: string }).code };
        }
        console.log(JSON.stringify(row, (k, v) => (k === 'tactics' ? undefined : v)));
        rows.push(row);
      }
    }
  }
  fs.rmSync(cache, { force: true });
  const doc = {
    what: 'cuda backend: median GPU compute time per inference (CUDA events, copies excluded) and host latency',
    date: new Date().toISOString(),
    commit: process.env.TRTN_COMMIT ?? 'unknown',
    gpu: gpu?.name,
    computeCapability: gpu ? `${gpu.major}.${gpu.minor}` : undefined,
    driverVersion: devices().driverVersion,
    iterations,
    rows,
  };
  if (out !== '') fs.writeFileSync(out, JSON.stringify(doc, null, 1) + '\n');
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
