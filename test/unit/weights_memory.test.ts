/**
 * Weights and host memory: random blobs over 4 GiB come back from the weights worker whole and
 * checked, and its failures keep their meaning; random weights loaded for a build are not kept by
 * the network; networks whose weights do not fit in host memory are refused before anything is
 * allocated (E_OUT_OF_MEMORY naming the layer and the bytes); the TRTN_HOST_MEMORY_LIMIT test hook.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as v8 from 'v8';
import * as vm from 'vm';
import { MessageChannel, receiveMessageOnPort } from 'worker_threads';
import { Builder } from '../../lib/builder/builder';
import { caffeSchema, Message, readCaffemodel, writeCaffemodel } from '../../lib/caffe';
import { OutOfMemoryError, TensorRTNodeError, WeightsError } from '../../lib/errors';
import { MAX_FLOAT32_VALUES } from '../../lib/host_memory';
import { Network } from '../../lib/network';
import {
  blobsFromWorker,
  errorFromWorker,
  workerBlobsMessage,
  workerFailure,
  type BlobSpec,
  type WorkerBlobs,
} from '../../lib/network/weights';
import { fails } from '../support/helpers';

const LENET = path.join(__dirname, '../../../models/lenet.prototxt');

/** A network of one InnerProduct layer 'fc' of `outputs` x `inputs` weights. */
function bigFc(inputs: number, outputs: number): string {
  return [
    'name: "big"',
    `layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: ${inputs} } } }`,
    `layer { name: "fc" type: "InnerProduct" bottom: "data" top: "fc" inner_product_param { num_output: ${outputs} } }`,
  ].join('\n');
}

/** Runs `fn` with TRTN_HOST_MEMORY_LIMIT set to `limit`, then restores the environment. */
async function withLimit<T>(limit: string, fn: () => Promise<T>): Promise<T> {
  const before = process.env.TRTN_HOST_MEMORY_LIMIT;
  process.env.TRTN_HOST_MEMORY_LIMIT = limit;
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env.TRTN_HOST_MEMORY_LIMIT;
    else process.env.TRTN_HOST_MEMORY_LIMIT = before;
  }
}

/** A full garbage collection (the flag set at run time, so the suite needs no --expose-gc). */
function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

/** True once the object `ref` points to has been collected (after the current job, which keeps WeakRef targets alive). */
async function collected(ref: WeakRef<object>): Promise<boolean> {
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setTimeout(r, 10));
    collectGarbage();
    if (ref.deref() === undefined) return true;
  }
  return false;
}

function layerParam(name: string, type: string): Message {
  const m = new Message(caffeSchema, caffeSchema.message('LayerParameter'));
  m.set('name', name);
  m.set('type', type);
  return m;
}

function thrownBy(fn: () => unknown): TensorRTNodeError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof TensorRTNodeError, `expected a TensorRTNodeError, got ${String(err)}`);
    return err;
  }
  return assert.fail('expected an error, but nothing was thrown');
}

/** A blob spec of `shape` for layer `layer`, blob 0. */
function spec(layer: string, shape: number[]): BlobSpec {
  return { layer, type: 'InnerProduct', index: 0, shape, fromInput: false };
}

/** Posts `blobs` as the weights worker does, through a real port, and returns what arrives. */
function throughPort(blobs: Float32Array[]): WorkerBlobs {
  const { port1, port2 } = new MessageChannel();
  try {
    const { message, transfer } = workerBlobsMessage(blobs);
    port1.postMessage(message, transfer);
    const got = receiveMessageOnPort(port2);
    assert.ok(got !== undefined, 'nothing arrived');
    return got.message as WorkerBlobs;
  } finally {
    port1.close();
    port2.close();
  }
}

describe('weights and host memory', () => {
  describe('random blobs from the weights worker', () => {
    it('a blob over 4 GiB arrives whole (a transferred view keeps only its length mod 2^32)', function () {
      // 1.1e9 values = 4.4 GB of address space; the pages are never touched but the first and last.
      const values = 1.1e9;
      let big: Float32Array;
      try {
        big = new Float32Array(values);
      } catch {
        return this.skip(); // no 4.4 GB of address space here
      }
      big[0] = 3;
      big[values - 1] = 7;
      const blobs = blobsFromWorker([spec('fc', [11000, 100000]), spec('fc2', [2])], throughPort([big, Float32Array.of(1, 2)]));
      assert.equal(blobs[0].length, values);
      assert.equal(blobs[0][0], 3);
      assert.equal(blobs[0][values - 1], 7);
      assert.deepEqual([...blobs[1]], [1, 2]);
    });

    it('a blob that comes back with another number of values is E_INTERNAL naming the blob, not the caller', () => {
      const arrived = throughPort([new Float32Array(9), new Float32Array(4)]);
      const err = thrownBy(() => blobsFromWorker([spec('fc', [3, 3]), spec('ip2', [5])], arrived));
      assert.equal(err.code, 'E_INTERNAL');
      assert.match(err.message, /'ip2\/0'.*4 values.*expected 5/);
      assert.match(err.message, /bug in tensorrt-node/);
      const missing = thrownBy(() =>
        blobsFromWorker([spec('fc', [3, 3]), spec('ip2', [4]), spec('ip3', [1])], throughPort([new Float32Array(9), new Float32Array(4)])),
      );
      assert.equal(missing.code, 'E_INTERNAL');
      assert.match(missing.message, /2 blob\(s\).*expected 3/);
    });
  });

  describe('failures on the weights worker', () => {
    it('a filler it cannot apply is E_WEIGHTS naming the layer and blob (through the worker: over 2^20 values)', async () => {
      const net = await Network.parse(bigFc(1100, 1000).replace('num_output: 1000', 'num_output: 1000 weight_filler { type: "nope" }'), {
        weightInit: 'filler',
      });
      const err = await fails(
        net.loadWeights(['fc/0', 'fc/1']),
        'E_WEIGHTS',
        "layer 'fc' (InnerProduct) blob 0: unknown filler type 'nope'",
      );
      assert.equal((err as WeightsError).layerName, 'fc');
    });

    it('an allocation that fails there is E_OUT_OF_MEMORY naming the blob and its bytes; anything else E_INTERNAL', () => {
      const specs = [spec('fc', [1000, 1000]), spec('fc2', [10])];
      const memory = errorFromWorker(workerFailure(new RangeError('Array buffer allocation failed'), specs[0]), specs);
      assert.ok(memory instanceof OutOfMemoryError);
      assert.equal(
        memory.message,
        "cannot allocate 4000000 bytes of host memory for random weights 'fc/0' (Array buffer allocation failed)",
      );
      assert.deepEqual([memory.layerName, memory.bytesNeeded], ['fc', 4000000]);
      const other = errorFromWorker(workerFailure(new TypeError('x is not a function'), specs[1]), specs);
      assert.equal(other.code, 'E_INTERNAL');
      assert.equal(other.message, "the weights worker failed while generating random weights 'fc2/0': x is not a function");
    });
  });

  describe('random weights a build asks for (loadWeights) are not kept by the network', () => {
    it('they are garbage once the caller drops them, and come back with the same values', async () => {
      const net = await Network.fromCaffe(LENET, { seed: 5 });
      const first = await net.loadWeights(['ip1/0', 'ip1/1']);
      const bits = Buffer.from(first[0].buffer.slice(0));
      const ref = new WeakRef(first[0]);
      first.length = 0;
      assert.ok(await collected(ref), 'the network still holds the 1.6 MB of ip1 after the caller dropped them');
      const again = await net.loadWeights(['ip1/0']);
      assert.ok(Buffer.from(again[0].buffer).equals(bits), 'generated again with the same values');
    });

    it('while the caller holds them they are the same arrays; weights() keeps what it returns', async () => {
      const net = await Network.fromCaffe(LENET, { seed: 5 });
      const [w] = await net.loadWeights(['ip1/0']);
      await new Promise((r) => setTimeout(r, 10));
      collectGarbage();
      assert.equal((await net.loadWeights(['ip1/0']))[0], w);
      assert.equal(net.weights('ip1')[0], w);
      const ref = new WeakRef(net.weights('conv2')[0]);
      assert.equal(await collected(ref), false, 'weights() keeps its arrays (documented)');
      assert.equal((await net.loadWeights(['conv2/0']))[0], ref.deref());
    });
  });

  describe('weights that do not fit in host memory are refused before they are allocated', () => {
    let dir: string;
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtnode-hostmem-'));
    });
    after(() => {
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('an InnerProduct of 100k x 100k (40 GB of weights): E_OUT_OF_MEMORY naming the layer and the bytes, at once; the process keeps working', async () => {
      const net = await Network.parse(bigFc(100000, 100000));
      const rss = process.memoryUsage().rss;
      const t0 = Date.now();
      const err = await fails(new Builder({ backend: 'cpu' }).build(net), 'E_OUT_OF_MEMORY', "'fc' (InnerProduct", 'bytes');
      assert.ok(err instanceof OutOfMemoryError);
      assert.equal(err.layerName, 'fc');
      assert.ok(err.bytesNeeded >= 4e10, String(err.bytesNeeded));
      // Without the hook: this machine's memory or, on one with 40 GB free, the typed-array limit.
      assert.match(err.message, /(\d+ bytes are available \(process\.availableMemory\(\)|os\.freemem\(\)\))|Float32Array/);
      assert.throws(
        () => net.weights('fc'),
        (e: unknown) => e instanceof OutOfMemoryError && e.layerName === 'fc',
      );
      assert.ok(Date.now() - t0 < 2000, `refused after ${Date.now() - t0} ms`);
      assert.ok(process.memoryUsage().rss - rss < 100e6, 'nothing was allocated');
      // The process goes on: another network builds and runs.
      const lenet = await new Builder({ backend: 'cpu' }).build(await Network.fromCaffe(LENET));
      const ctx = lenet.createContext();
      assert.equal((await ctx.infer({ data: new Float32Array(784) })).prob.length, 10);
      ctx.dispose();
      lenet.dispose();
    });

    it('TRTN_HOST_MEMORY_LIMIT (a test hook): the layer where the running total passes the limit, the largest layer, the bytes needed and free', async () => {
      const net = await Network.fromCaffe(LENET);
      const total = net.summary().totals.weightBytes;
      const all = net.layers.flatMap((l) => l.blobs.map((_, i) => `${l.name}/${i}`));
      // LeNet: conv1 2,080 bytes, conv2 100,200, ip1 1,602,000, ip2 20,040.
      const err = (await withLimit('50000', () =>
        fails(
          net.loadWeights(all),
          'E_OUT_OF_MEMORY',
          `cannot hold the weights of network 'LeNet': they need ${total} bytes of host memory but 50000 bytes are available ` +
            "(TRTN_HOST_MEMORY_LIMIT, a test hook); the running total passes that at layer 'conv2' (Convolution, 100200 bytes); " +
            "the largest layer is 'ip1' (InnerProduct, 1602000 bytes)",
        ),
      )) as OutOfMemoryError;
      assert.deepEqual([err.layerName, err.bytesNeeded, err.bytesAvailable], ['conv2', total, 50000]);
      await withLimit('1000000', () =>
        fails(
          new Builder({ backend: 'cpu' }).build(net),
          'E_OUT_OF_MEMORY',
          "passes that at layer 'ip1' (InnerProduct, 1602000 bytes), the largest layer",
        ),
      );
      await withLimit('5000', async () => {
        assert.throws(() => net.weights('conv2'), /cannot hold the weights of network 'LeNet': they need 100200 bytes/);
        assert.equal(net.weights('conv1').length, 2, 'a layer that fits is generated');
      });
      // Without the hook the same network's weights are there.
      const blobs = await net.loadWeights(['conv1/0', 'ip2/1']);
      assert.deepEqual(
        blobs.map((b) => b.length),
        [500, 10],
      );
    });

    it('TRTN_HOST_MEMORY_LIMIT must be a number of bytes (E_INVALID_ARGUMENT naming the hook)', async () => {
      const net = await Network.fromCaffe(LENET);
      await withLimit('1G', () =>
        fails(net.loadWeights(['ip1/0']), 'E_INVALID_ARGUMENT', "TRTN_HOST_MEMORY_LIMIT (a test hook) must be a number of bytes, got '1G'"),
      );
    });

    it('a .caffemodel whose network does not fit is refused before the file is read', async () => {
      const lenet = await Network.fromCaffe(LENET);
      const file = path.join(dir, 'lenet.caffemodel');
      await writeCaffemodel(
        file,
        new Message(caffeSchema, caffeSchema.message('NetParameter')),
        lenet.layers
          .filter((l) => l.blobs.length > 0)
          .map((l) => ({
            param: layerParam(l.name, l.type),
            blobs: lenet.weights(l.name).map((data, i) => ({ shape: l.blobs[i], data })),
          })),
      );
      let progress = 0;
      await withLimit('1000000', () =>
        fails(
          Network.fromCaffe(LENET, {
            weights: file,
            onProgress: () => {
              progress++;
            },
          }),
          'E_OUT_OF_MEMORY',
          "the weights of network 'LeNet'",
          "layer 'ip1'",
          '1000000 bytes are available',
        ),
      );
      assert.equal(progress, 0, 'nothing was read');
      // readCaffemodel alone counts the payloads as it goes and names the layer it is in.
      const read = (await withLimit('1000000', () =>
        fails(readCaffemodel(file), 'E_OUT_OF_MEMORY', `cannot read the weights of ${file}`, "layer 'ip1'", '1000000 bytes are available'),
      )) as OutOfMemoryError;
      assert.equal(read.layerName, 'ip1');
      assert.equal((await Network.fromCaffe(LENET, { weights: file })).weights('ip1')[0].length, 400000);
    });

    it('a blob of more values than one Float32Array holds: E_OUT_OF_MEMORY naming the layer, nothing allocated', async function () {
      if (MAX_FLOAT32_VALUES > 4.9e9) return this.skip(); // a Node.js whose typed arrays hold it
      const net = await Network.parse(bigFc(70000, 70000));
      // Pretend the machine has a petabyte free, so that only the typed-array limit is left.
      const err = (await withLimit('1000000000000000', () =>
        fails(
          net.loadWeights(['fc/0']),
          'E_OUT_OF_MEMORY',
          "cannot hold the weights of network 'big': layer 'fc' (InnerProduct) has a blob of 4900000000 values (19600000000 bytes), " +
            `more than the ${MAX_FLOAT32_VALUES} values one Float32Array holds`,
        ),
      )) as OutOfMemoryError;
      assert.equal(err.layerName, 'fc');
    });
  });
});
