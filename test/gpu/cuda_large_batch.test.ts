/**
 * The cuda backend at large batches (native/backends/cuda/index_range.h): AlexNet and GoogLeNet
 * built for batch 4096 in every precision run 4096 distinct images, and images 0, 1 and 4095 give
 * what they give alone at batch 1 on the same engine (nothing indexes past 32 bits: the first
 * convolution of GoogLeNet alone writes 3.3e9 values at this batch). An engine whose maxBatchSize
 * is beyond what its kernels index is refused at build with E_INVALID_ARGUMENT naming the layer and
 * the largest batch, and the process keeps working.
 */
import { strict as assert } from 'assert';
import * as path from 'path';
import { Builder, Network } from '../../lib';
import type { Engine, Precision } from '../../lib';
import { requireCuda } from '../support/cuda';
import { fails } from '../support/helpers';
import { randomInput } from '../support/reference';

const ROOT = path.resolve(__dirname, '../../..');
const model = (f: string) => path.join(ROOT, 'models', f);
const quiet = { logger: () => undefined };
const BATCH = 4096;
/** Largest relative difference allowed between an image's output at batch 4096 and alone. Every
 * kernel computes an image's values in the same order whatever the batch, so fp16 and int8 match
 * exactly; fp32 / tf32 are allowed rounding-level slack. */
const TOLERANCE: Record<Precision, number> = { fp32: 1e-5, tf32: 1e-4, fp16: 0, int8: 0 };

/** `batch` distinct images: 16 random ones repeated, each copy with one element of its own. */
function distinctImages(volume: number, batch: number, seed: number): Float32Array {
  const pool = randomInput(16 * volume, seed, -1, 1);
  const out = new Float32Array(batch * volume);
  for (let i = 0; i < batch; i++) {
    out.set(pool.subarray((i % 16) * volume, ((i % 16) + 1) * volume), i * volume);
    out[i * volume + ((i * 7919) % volume)] = 1 + i / batch;
  }
  return out;
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let scale = 0;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return scale === 0 ? d : d / scale;
}

describe('gpu: the cuda backend at batch 4096 and beyond its index range', function () {
  this.timeout(600000);
  before(function () {
    requireCuda(this);
  });

  for (const [file, limit] of [
    ['alexnet.prototxt', 709911],
    ['googlenet.prototxt', 171196],
  ] as const) {
    it(`${file}: batch ${BATCH} in fp32, tf32, fp16 and int8 gives every image what it gives alone`, async () => {
      const net = await Network.fromCaffe(model(file), { seed: 11 });
      let images: Float32Array | undefined;
      for (const precision of ['fp32', 'tf32', 'fp16', 'int8'] as Precision[]) {
        const engine: Engine = await new Builder({ backend: 'cuda', ...quiet }).build(net, {
          precision,
          maxBatchSize: BATCH,
          tuneBatch: 8,
        });
        assert.equal(engine.maxRunnableBatch, limit);
        const input = engine.inputs[0];
        const volume = input.dims.reduce((a, b) => a * b, 1);
        images ??= distinctImages(volume, BATCH, 5);
        const ctx = engine.createContext();
        try {
          const all = await ctx.infer({ [input.name]: images }, { batchSize: BATCH });
          for (const out of engine.outputs) {
            const per = out.dims.reduce((a, b) => a * b, 1);
            const y = all[out.name];
            assert.ok(y.every(Number.isFinite), `${precision} ${out.name}: finite`);
            assert.notDeepEqual(y.subarray(0, per), y.subarray(per, 2 * per), 'distinct images give distinct outputs');
          }
          for (const i of [0, 1, BATCH - 1]) {
            const alone = await ctx.infer({ [input.name]: images.slice(i * volume, (i + 1) * volume) }, { batchSize: 1 });
            for (const out of engine.outputs) {
              const per = out.dims.reduce((a, b) => a * b, 1);
              const inBatch = all[out.name].subarray(i * per, (i + 1) * per);
              const d = maxRelDiff(inBatch, alone[out.name]);
              assert.ok(d <= TOLERANCE[precision], `${file} ${precision} image ${i} '${out.name}': ${d} from the image alone`);
            }
          }
        } finally {
          ctx.dispose();
          engine.dispose();
        }
      }
    });
  }

  it('refuses an engine beyond its index range with E_INVALID_ARGUMENT naming the layer and the largest batch; the process keeps working', async () => {
    // 4096 x 4096 output pixels per image: at most 127 images stay below 2^31 - 257 GEMM rows.
    const text =
      'name: "wide"\nlayer { name: "in" type: "Input" top: "data" input_param { shape { dim: 1 dim: 4 dim: 4096 dim: 4096 } } }\n' +
      'layer { name: "big" type: "Convolution" bottom: "data" top: "big" convolution_param { num_output: 8 kernel_size: 1 } }\n';
    const net = await Network.parse(text, { seed: 2 });
    const builder = new Builder({ backend: 'cuda', ...quiet });
    await fails(
      builder.build(net, { precision: 'fp16', maxBatchSize: 128, tuneBatch: 1 }),
      'E_INVALID_ARGUMENT',
      "maxBatchSize 128 is beyond what layer 'big' can index with 32-bit offsets (128 x 16777216 = 2.15e9 GEMM rows > 2^31 - 257)",
      'the largest batch this engine runs is 127',
    );

    const small = await builder.build(net, { precision: 'fp16', maxBatchSize: 2, tuneBatch: 1 });
    assert.equal(small.maxRunnableBatch, 127);
    const ctx = small.createContext();
    const y = await ctx.infer({ data: randomInput(2 * 4 * 4096 * 4096, 3, -1, 1) }, { batchSize: 2 });
    assert.ok(y.big.every(Number.isFinite));
    ctx.dispose();
    small.dispose();
    const lenet = await builder.build(await Network.fromCaffe(model('lenet.prototxt'), { seed: 1 }), { maxBatchSize: 4 });
    const lctx = lenet.createContext();
    const out = await lctx.infer({ [lenet.inputs[0].name]: randomInput(4 * 28 * 28, 4, 0, 1) });
    assert.ok(Object.values(out)[0].every(Number.isFinite));
    lctx.dispose();
    lenet.dispose();
  });
});
