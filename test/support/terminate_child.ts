/**
 * Run as a child process by test/unit/worker_terminate.test.ts (a process abort must fail the test,
 * not end mocha): terminates worker threads while each kind of native call runs in them (build,
 * deserialize, infer, calibrate, save), then checks that this thread still infers correctly.
 * Prints one JSON line: { loops, callsSeen, finishedBeforeTerminate, agree }.
 */
import * as path from 'path';
import { Worker } from 'worker_threads';
import { Builder, Network } from '../../lib';
import type { TerminateJob } from './terminate_worker';

const PHASES: ReadonlyArray<TerminateJob['phase']> = ['build', 'deserialize', 'infer', 'calibrate', 'save'];
const DELAYS_MS = [0, 30, 80, 150];

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function main(): Promise<void> {
  const prototxt = path.join(process.argv[2], 'models', 'googlenet.prototxt');
  const loops = Number(process.argv[3] ?? 20);
  const backend = (process.argv[4] ?? 'cpu') as TerminateJob['backend'];
  const batch = 8;
  const net = await Network.fromCaffe(prototxt);
  const engine = await new Builder({ backend }).build(net, { maxBatchSize: batch });
  const plan = engine.serialize();
  const input = new Float32Array(3 * 224 * 224).map((_, i) => Math.sin(i));
  const ctx = engine.createContext();
  const before = Array.from((await ctx.infer({ data: input })).prob);
  let callsSeen = 0;
  let finishedBeforeTerminate = 0;
  for (let loop = 0; loop < loops; loop++) {
    const job: TerminateJob = { phase: PHASES[loop % PHASES.length], prototxt, plan, batch, backend };
    const worker = new Worker(path.join(__dirname, 'terminate_worker.js'), { workerData: job });
    let done = false;
    const calling = new Promise<void>((resolve, reject) => {
      worker.on('message', (m) => {
        if (m === 'calling') resolve();
        if (m === 'done') done = true;
      });
      worker.once('error', reject);
      worker.once('exit', () => resolve());
    });
    await calling;
    callsSeen++;
    await sleep(DELAYS_MS[Math.floor(loop / PHASES.length) % DELAYS_MS.length]);
    if (done) finishedBeforeTerminate++;
    await worker.terminate();
  }
  // This thread keeps working, and gives the same answer as before.
  const after = Array.from((await ctx.infer({ data: input })).prob);
  const agree = after.every((v, i) => v === before[i]);
  ctx.dispose();
  engine.dispose();
  process.stdout.write(JSON.stringify({ loops, callsSeen, finishedBeforeTerminate, agree }) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
