/**
 * A worker thread for the terminate test (test/support/terminate_child.ts): makes one kind of native
 * call, telling its parent just before, so the parent can terminate it while the call is in flight.
 */
import * as os from 'os';
import * as path from 'path';
import { parentPort, workerData } from 'worker_threads';
import { Builder, Int8EntropyCalibrator2, Network, Runtime } from '../../lib';

/** What the parent sends. */
export interface TerminateJob {
  readonly phase: 'build' | 'deserialize' | 'infer' | 'calibrate' | 'save';
  readonly prototxt: string;
  readonly plan: Uint8Array;
  readonly batch: number;
  readonly backend: 'cpu' | 'cuda';
}

async function main(job: TerminateJob): Promise<void> {
  const calling = (): void => parentPort?.postMessage('calling');
  const image = 3 * 224 * 224;
  switch (job.phase) {
    case 'build': {
      const net = await Network.fromCaffe(job.prototxt);
      calling();
      await new Builder({ backend: job.backend }).build(net, { maxBatchSize: job.batch });
      break;
    }
    case 'deserialize':
      calling();
      await Runtime.deserialize(job.plan);
      break;
    case 'infer': {
      const ctx = (await Runtime.deserialize(job.plan)).createContext();
      calling();
      await Promise.all([ctx.infer({ data: new Float32Array(job.batch * image).fill(0.5) }), ctx.infer({ data: new Float32Array(image) })]);
      break;
    }
    case 'calibrate': {
      const net = await Network.fromCaffe(job.prototxt);
      const batches = [0, 1].map((b) => ({ data: new Float32Array(2 * image).fill(b + 0.25) }));
      calling();
      await new Builder({ backend: job.backend }).build(net, {
        precision: 'int8',
        maxBatchSize: 2,
        calibrator: new Int8EntropyCalibrator2({ batches, batchSize: 2 }),
      });
      break;
    }
    case 'save': {
      const engine = await Runtime.deserialize(job.plan);
      calling();
      await engine.save(path.join(os.tmpdir(), `trtn-terminate-${process.pid}-${Date.now()}.plan`));
      break;
    }
  }
  parentPort?.postMessage('done');
}

void main(workerData as TerminateJob);
