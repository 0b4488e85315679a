/**
 * Host memory for weights: how much can be allocated now, and the checks that refuse weights
 * which cannot be held before any of them is allocated (E_OUT_OF_MEMORY naming the layer and the
 * bytes), as activations are refused before their arena is allocated. Shared by the .caffemodel
 * reader (lib/caffe) and the random weights (lib/network).
 */
import { constants } from 'buffer';
import * as os from 'os';
import { OutOfMemoryError, TensorRTNodeError } from './errors';

/** Bytes of host memory a new allocation can take, and where the number comes from. */
export interface HostMemory {
  readonly bytes: number;
  readonly source: string;
}

/**
 * The most values one Float32Array holds in this Node.js: V8's typed-array length limit
 * (2^32 elements in Node 20, whatever the element size), capped where the byte length would
 * pass 2^53 (later Node versions limit bytes instead).
 */
export const MAX_FLOAT32_VALUES = Math.min(constants.MAX_LENGTH, Math.floor(Number.MAX_SAFE_INTEGER / 4));

/**
 * Host memory available now: process.availableMemory() (Node >= 20.13: MemAvailable of
 * /proc/meminfo on Linux, page cache that can be dropped included, and no more than a cgroup
 * limit leaves), else os.freemem(). Test hook: TRTN_HOST_MEMORY_LIMIT=<bytes> replaces the
 * reading, so that out-of-memory refusals can be tested with small networks.
 */
export function availableHostMemory(): HostMemory {
  const hook = process.env.TRTN_HOST_MEMORY_LIMIT;
  if (hook !== undefined && hook !== '') {
    if (!/^\d+$/.test(hook) || !Number.isSafeInteger(Number(hook))) {
      throw new TensorRTNodeError('E_INVALID_ARGUMENT', `TRTN_HOST_MEMORY_LIMIT (a test hook) must be a number of bytes, got '${hook}'`);
    }
    return { bytes: Number(hook), source: 'TRTN_HOST_MEMORY_LIMIT, a test hook' };
  }
  const available = (process as { availableMemory?: () => number }).availableMemory;
  if (typeof available === 'function') return { bytes: available.call(process), source: 'process.availableMemory()' };
  return { bytes: os.freemem(), source: 'os.freemem()' };
}

/** One layer's weights, in the order they will be allocated. */
export interface WeightNeed {
  readonly layer: string;
  readonly type: string;
  /** Bytes of the layer's blobs together. */
  readonly bytes: number;
  /** Values of the layer's largest blob. */
  readonly largestBlob: number;
}

/**
 * Throws OutOfMemoryError when weights cannot be held: one blob has more values than a Float32Array
 * holds, or the layers together need more host memory than is available now. `what` names the
 * weights in the message ("the weights of network 'AlexNet'"). Nothing is allocated.
 */
export function checkWeightsFit(needs: readonly WeightNeed[], what: string): void {
  if (needs.length === 0) return;
  let total = 0;
  let at: WeightNeed | undefined;
  const memory = availableHostMemory();
  for (const n of needs) {
    total += n.bytes;
    if (at === undefined && total > memory.bytes) at = n;
  }
  if (at !== undefined) {
    const largest = needs.reduce((a, b) => (b.bytes > a.bytes ? b : a));
    throw new OutOfMemoryError(
      `cannot hold ${what}: they need ${total} bytes of host memory but ${memory.bytes} bytes are ` +
        `available (${memory.source}); the running total passes that at layer '${at.layer}' (${at.type}, ${at.bytes} bytes)` +
        (largest === at ? ', the largest layer' : `; the largest layer is '${largest.layer}' (${largest.type}, ${largest.bytes} bytes)`) +
        '. Free host memory, or use a machine with more memory or a smaller network',
      at.layer,
      total,
      memory.bytes,
    );
  }
  const tooLong = needs.find((n) => n.largestBlob > MAX_FLOAT32_VALUES);
  if (tooLong !== undefined) {
    throw new OutOfMemoryError(
      `cannot hold ${what}: layer '${tooLong.layer}' (${tooLong.type}) has a blob of ${tooLong.largestBlob} ` +
        `values (${tooLong.largestBlob * 4} bytes), more than the ${MAX_FLOAT32_VALUES} values one Float32Array holds in Node.js ` +
        `${process.version}`,
      tooLong.layer,
      tooLong.largestBlob * 4,
    );
  }
}
