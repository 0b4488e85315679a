/**
 * Several GPUs, one process each, the way the 2017 study ran them (one MPI process per GPU):
 *   - `bench --gpus all | 0,1,...`: this process forks one worker per GPU with
 *     CUDA_VISIBLE_DEVICES=<gpu>; each builds its engine and warms up, then waits at a barrier
 *     (IPC messages) so that every GPU times the same window; the results come back over IPC.
 *   - under mpirun: each rank (OMPI_COMM_WORLD_* or PMI_* variables) times the GPU of its local
 *     rank and writes its own result file; an optional file barrier in a shared directory lines
 *     the ranks up. `tensorrt-node report merge` sums the rank files.
 */
import { fork } from 'child_process';
import { promises as fsp } from 'fs';
import * as path from 'path';
import { devices } from '../device';
import { TensorRTNodeError } from '../errors';
import type { BenchResult } from './result';

export interface RankInfo {
  rank: number;
  size: number;
  localRank: number;
}

/** The GPUs of --gpus: 'all' (every visible GPU) or a comma-separated list of indices. */
export function gpuList(spec: string): string[] {
  if (spec === 'all') {
    const list = devices();
    if (list.devices.length === 0) {
      throw new TensorRTNodeError('E_NO_DEVICE', `--gpus all: no GPU is visible${list.reason ? ` (${list.reason})` : ''}`);
    }
    return list.devices.map((d) => String(d.index));
  }
  const items = spec.split(',').map((s) => s.trim());
  if (items.length === 0 || items.some((s) => !/^\d+$/.test(s)) || new Set(items).size !== items.length) {
    throw new RangeError(`--gpus is 'all' or distinct GPU indices separated by commas (0,1,2), got '${spec}'`);
  }
  return items;
}

/** argv without --gpus (and its value) and without --json: what each worker runs. */
function workerArgs(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--gpus') {
      i++;
      continue;
    }
    if (a.startsWith('--gpus=') || a === '--json') continue;
    out.push(a);
  }
  return out;
}

type WorkerMessage = { type: 'ready' } | { type: 'result'; result: BenchResult };

/**
 * Runs `bench` (argv as given to it) on every GPU of `gpus` at once; resolves to their results
 * in GPU order. A worker that fails rejects the whole run with its message.
 */
export async function runOnGpus(argv: readonly string[], gpus: readonly string[], log: (s: string) => void): Promise<BenchResult[]> {
  const main = path.join(__dirname, '..', 'cli', 'main.js');
  const args = ['bench', ...workerArgs(argv)];
  let ready = 0;
  const children = gpus.map((gpu, rank) => fork(main, args, {
    env: { ...process.env, CUDA_VISIBLE_DEVICES: gpu, TRTN_BENCH_WORKER: `${rank}/${gpus.length}` },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  }));
  const results = children.map((child, rank) => new Promise<BenchResult>((resolve, reject) => {
    let stderr = '';
    let result: BenchResult | undefined;
    child.stderr?.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      stderr += text;
      for (const line of text.split('\n')) if (line.trim()) log(`[gpu ${gpus[rank]}] ${line}`);
    });
    child.on('message', (m: WorkerMessage) => {
      if (m.type === 'ready' && ++ready === children.length) {
        // Every GPU is warm: start the timed window everywhere.
        for (const c of children) c.send({ type: 'go' });
      } else if (m.type === 'result') {
        result = m.result;
      }
    });
    child.on('exit', (code) => {
      if (code === 0 && result !== undefined) resolve(result);
      else {
        // A failed worker releases the others from the barrier (they finish; their results are dropped).
        for (const c of children) if (c.connected) c.send({ type: 'go' });
        const last = stderr.trim().split('\n').slice(-3).join(' | ');
        reject(new TensorRTNodeError('E_WORKER', `the bench worker for GPU ${gpus[rank]} exited with code ${code}: ${last || 'no output'}`));
      }
    });
  }));
  const settled = await Promise.allSettled(results);
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return settled.map((s) => (s as PromiseFulfilledResult<BenchResult>).value);
}

/** In a --gpus worker: the rank, the barrier and the way back for the result. */
export function workerBarrier(): { rank: RankInfo; wait: () => Promise<void>; send: (r: BenchResult) => void } | undefined {
  const spec = process.env.TRTN_BENCH_WORKER;
  if (spec === undefined || process.send === undefined) return undefined;
  const [rank, size] = spec.split('/').map(Number);
  return {
    rank: { rank, size, localRank: rank },
    wait: () => new Promise<void>((resolve) => {
      const onMessage = (m: { type: string }): void => {
        if (m.type !== 'go') return;
        process.off('message', onMessage);
        resolve();
      };
      process.on('message', onMessage);
      process.send?.({ type: 'ready' });
    }),
    send: (result) => {
      process.send?.({ type: 'result', result }, () => process.disconnect());
    },
  };
}

/** Under mpirun (Open MPI or MPICH / PMI variables, more than one rank): this rank. */
export function mpiRank(env: NodeJS.ProcessEnv = process.env):
  { rank: RankInfo; fileBarrier: (dir: string) => Promise<void> } | undefined {
  const num = (...names: string[]): number | undefined => {
    for (const n of names) {
      const v = env[n];
      if (v !== undefined && /^\d+$/.test(v)) return Number(v);
    }
    return undefined;
  };
  const rank = num('OMPI_COMM_WORLD_RANK', 'PMI_RANK', 'PMIX_RANK');
  const size = num('OMPI_COMM_WORLD_SIZE', 'PMI_SIZE');
  if (rank === undefined || size === undefined || size < 2) return undefined;
  const localRank = num('OMPI_COMM_WORLD_LOCAL_RANK', 'MPI_LOCALRANKID', 'PMI_LOCAL_RANK') ?? rank;
  return {
    rank: { rank, size, localRank },
    fileBarrier: async (dir: string) => {
      await fsp.mkdir(dir, { recursive: true });
      await fsp.writeFile(path.join(dir, `ready.${rank}`), String(process.pid));
      const deadline = Date.now() + 10 * 60 * 1000;
      for (;;) {
        const present = (await fsp.readdir(dir)).filter((f) => /^ready\.\d+$/.test(f)).length;
        if (present >= size) return;
        if (Date.now() > deadline) {
          throw new TensorRTNodeError('E_WORKER', `barrier in ${dir}: ${present} of ${size} ranks arrived in 10 minutes`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}
