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
  const children = gpus.map((gpu, rank) =>
    fork(main, args, {
      env: { ...process.env, CUDA_VISIBLE_DEVICES: gpu, TRTN_BENCH_WORKER: `${rank}/${gpus.length}` },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    }),
  );
  let failed = false;
  let firstFailure: Error | undefined; // the worker that failed first (the others are then stopped)
  const results = children.map(
    (child, rank) =>
      new Promise<BenchResult>((resolve, reject) => {
        let stderr = '';
        let result: BenchResult | undefined;
        // A send to a worker that has just died must not crash this process: the exit handler reports it.
        child.on('error', () => undefined);
        child.stderr?.on('data', (chunk: Buffer) => {
          const text = chunk.toString();
          stderr += text;
          for (const line of text.split('\n')) if (line.trim()) log(`[gpu ${gpus[rank]}] ${line}`);
        });
        child.on('message', (m: WorkerMessage) => {
          if (m.type === 'ready' && ++ready === children.length && !failed) {
            // Every GPU is warm: start the timed window everywhere.
            for (const c of children) if (c.connected) c.send({ type: 'go' });
          } else if (m.type === 'result') {
            result = m.result;
          }
        });
        child.on('exit', (code) => {
          if (code === 0 && result !== undefined) resolve(result);
          else {
            const last = stderr.trim().split('\n').slice(-3).join(' | ');
            const error = new TensorRTNodeError(
              'E_WORKER',
              `the bench worker for GPU ${gpus[rank]} exited with code ${code}: ${last || 'no output'}`,
            );
            if (!failed) {
              // One failed worker fails the run: stop the others rather than let them time for nothing.
              failed = true;
              firstFailure = error;
              for (const c of children) if (c !== child && c.exitCode === null) c.kill();
            }
            reject(error);
          }
        });
      }),
  );
  const settled = await Promise.allSettled(results);
  if (firstFailure !== undefined) throw firstFailure;
  return settled.map((s) => (s as PromiseFulfilledResult<BenchResult>).value);
}

/**
 * Test aids: TRTN_BENCH_DELAY_RANK=<rank>:<ms> makes that rank arrive late at the barrier;
 * TRTN_BENCH_FAIL_RANK=<rank> makes it fail there (E_INTERNAL), as a worker whose GPU broke would.
 */
async function testDelay(rank: number): Promise<void> {
  const m = /^(\d+):(\d+)$/.exec(process.env.TRTN_BENCH_DELAY_RANK ?? '');
  if (m && Number(m[1]) === rank) await new Promise((r) => setTimeout(r, Number(m[2])));
  if (process.env.TRTN_BENCH_FAIL_RANK === String(rank)) {
    throw new TensorRTNodeError('E_INTERNAL', `rank ${rank} failed on purpose (TRTN_BENCH_FAIL_RANK)`);
  }
}

/** In a --gpus worker: the rank, the barrier and the way back for the result. */
export function workerBarrier(): { rank: RankInfo; wait: () => Promise<void>; send: (r: BenchResult) => void } | undefined {
  const spec = process.env.TRTN_BENCH_WORKER;
  if (spec === undefined || process.send === undefined) return undefined;
  const [rank, size] = spec.split('/').map(Number);
  return {
    rank: { rank, size, localRank: rank },
    wait: async () => {
      await testDelay(rank);
      await new Promise<void>((resolve) => {
        const onMessage = (m: { type: string }): void => {
          if (m.type !== 'go') return;
          process.off('message', onMessage);
          resolve();
        };
        process.on('message', onMessage);
        process.send?.({ type: 'ready' });
      });
    },
    send: (result) => {
      process.send?.({ type: 'result', result }, () => process.disconnect());
    },
  };
}

/**
 * The CUDA device index an MPI rank uses: its local rank among the visible GPUs (all of them, or
 * the CUDA_VISIBLE_DEVICES list); a list of one GPU is the rank's own (index 0).
 */
export function rankDevice(localRank: number, visible: string | undefined): number {
  if (visible === undefined) return localRank;
  const listed = visible.split(',').filter((s) => s.trim() !== '').length;
  return listed > 1 ? localRank % listed : 0;
}

/** Under mpirun (Open MPI or MPICH / PMI variables, more than one rank): this rank. */
export function mpiRank(
  env: NodeJS.ProcessEnv = process.env,
): { rank: RankInfo; job?: string; fileBarrier: (dir: string) => Promise<void> } | undefined {
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
  // One folder per MPI job, so files of an earlier run never count.
  const job =
    env.TRTN_BARRIER_ID ??
    env.OMPI_MCA_ess_base_jobid ??
    env.PMIX_NAMESPACE ??
    env.PMI_JOBID ??
    (env.SLURM_JOB_ID !== undefined ? `${env.SLURM_JOB_ID}.${env.SLURM_STEP_ID ?? 0}` : undefined);
  return {
    rank: { rank, size, localRank },
    job,
    fileBarrier: async (root: string) => {
      if (job === undefined) {
        throw new TensorRTNodeError(
          'E_WORKER',
          '--barrierDir: this MPI does not name its job (OMPI_MCA_ess_base_jobid, PMIX_NAMESPACE, ' +
            'PMI_JOBID or SLURM_JOB_ID); set TRTN_BARRIER_ID to a value unique to this run',
        );
      }
      const dir = path.join(root, job.replace(/[^\w.-]/g, '_'));
      await fsp.mkdir(dir, { recursive: true });
      await testDelay(rank);
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
