/**
 * Worker thread that generates random weights (lib/network/weights.ts generateBlob), so that a
 * large network's weights do not hold up the JS thread. Input: { specs, seed, init }; output: the
 * blobs' ArrayBuffers, transferred (WorkerBlobs), or what failed and on which blob (WorkerFailure).
 */
import { parentPort, workerData } from 'worker_threads';
import { generateBlob, workerBlobsMessage, workerFailure, type BlobSpec, type WeightInit } from './weights';

const { specs, seed, init } = workerData as { specs: BlobSpec[]; seed: number; init: WeightInit };
let current: BlobSpec | undefined;
try {
  const blobs = specs.map((spec) => {
    current = spec;
    return generateBlob(spec, seed, init);
  });
  const { message, transfer } = workerBlobsMessage(blobs);
  parentPort?.postMessage(message, transfer);
} catch (err) {
  parentPort?.postMessage(workerFailure(err, current));
}
