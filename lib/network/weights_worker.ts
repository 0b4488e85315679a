/**
 * Worker thread that generates random weights (lib/network/weights.ts generateBlob), so that a
 * large network's weights do not hold up the JS thread. Input: { specs, seed, init }; output: the
 * blobs' Float32Arrays, their buffers transferred.
 */
import { parentPort, workerData } from 'worker_threads';
import { generateBlob, type BlobSpec, type WeightInit } from './weights';

const { specs, seed, init } = workerData as { specs: BlobSpec[]; seed: number; init: WeightInit };
try {
  const blobs = specs.map((spec) => generateBlob(spec, seed, init));
  parentPort?.postMessage({ blobs }, blobs.map((b) => b.buffer as ArrayBuffer));
} catch (err) {
  parentPort?.postMessage({ error: { message: (err as Error).message, layer: (err as { layerName?: string }).layerName } });
}
