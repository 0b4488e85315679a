/**
 * uint8 image inputs on the cuda backend (the Preprocess kernel, kernels/preprocess.cu):
 *   - the Preprocess node alone (a network that only flattens its input) against the cpu backend,
 *     bit for bit, in FP32, FP16 and INT8 (the Quantize fused in), for every option: channel swap,
 *     centre crop, per-channel and per-pixel means, scale, 1 to 4 channels, rows whose loads are
 *     word-aligned or not, at batch 1 and 3, with the GPU's activation memory poisoned (NaN);
 *   - GoogLeNet and AlexNet with a uint8 input (RGB images 256x256 into the BGR network, mean
 *     104,117,123, centre crop) against the float32 engine fed the same images preprocessed on the
 *     host, both built from one timing cache (the same tactics), in FP32, FP16 and INT8 (one
 *     calibration cache): the same scores within the stated tolerance, the same top-1 classes.
 * Skipped, with the reason printed, where the cuda backend cannot run.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Builder, Network } from '../../lib';
import { formatMeanFile } from '../../lib/caffe';
import { preprocessOnHost, resolveInput } from '../../lib/builder/input_format';
import type { BuildConfig, Engine, InputOptions, Precision } from '../../lib';
import { Int8MinMaxCalibrator } from '../../lib/calibration/calibrator';
import { poisonedCudaSuite } from '../support/cuda';
import { relError, SeededRandom } from '../support/reference';

const ROOT = path.resolve(__dirname, '../../..');
const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-cuda-preprocess-'));
after(() => fs.rmSync(tmpDir, { recursive: true, force: true }));

function bytes(n: number, seed: number): Uint8Array {
  const rng = new SeededRandom(seed);
  return Uint8Array.from({ length: n }, () => rng.int(0, 256));
}

async function runOnce(
  engine: Engine,
  inputs: Record<string, Float32Array | Uint8Array>,
  batch: number,
  poison = false,
): Promise<Record<string, Float32Array>> {
  const ctx = engine.createContext();
  try {
    const outputs = poison
      ? Object.fromEntries(engine.outputs.map((o) => [o.name, new Float32Array(batch * o.dims.reduce((a, b) => a * b, 1)).fill(NaN)]))
      : undefined;
    return (await ctx.infer(inputs, { batchSize: batch, ...(outputs !== undefined ? { outputs } : {}) })) as Record<string, Float32Array>;
  } finally {
    ctx.dispose();
  }
}

/** The top-1 class of each image. */
function top1(scores: Float32Array, classes: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => {
    const row = scores.subarray(i * classes, (i + 1) * classes);
    return row.indexOf(Math.max(...row));
  });
}

describe('gpu: uint8 image inputs on the cuda backend', function () {
  this.timeout(600000);
  poisonedCudaSuite();

  describe('the Preprocess node against the cpu backend, bit for bit', () => {
    interface Case {
      readonly name: string;
      readonly dims: [number, number, number];
      readonly input: InputOptions;
      readonly meanImage?: boolean;
    }
    const cases: Case[] = [
      {
        name: 'RGB into BGR, crop 8x10 -> 5x7, mean values, scale',
        dims: [3, 5, 7],
        input: { format: 'uint8-nhwc-rgb', mean: [104, 117, 123], scale: 0.017, imageSize: [8, 10] },
      },
      {
        name: "BGR, 224x224 from 256x256 (aligned rows, GoogLeNet's crop)",
        dims: [3, 224, 224],
        input: { format: 'uint8-nhwc-bgr', mean: [104, 117, 123], imageSize: [256, 256] },
      },
      {
        name: "RGB, 227x227 from 256x256 (AlexNet's crop: unaligned rows)",
        dims: [3, 227, 227],
        input: { format: 'uint8-nhwc-rgb', mean: [104, 117, 123], imageSize: [256, 256] },
      },
      { name: 'grayscale, scale 1/256 (LeNet)', dims: [1, 28, 28], input: { format: 'uint8-nhwc', scale: 0.00390625 } },
      { name: 'four channels, 16-byte loads', dims: [4, 8, 12], input: { format: 'uint8-nhwc', mean: [1, 2, 3, 4], imageSize: [10, 16] } },
      {
        name: 'two channels, odd sizes',
        dims: [2, 5, 9],
        input: { format: 'uint8-nhwc', mean: [100, 50], scale: -0.25, imageSize: [7, 11] },
      },
      {
        name: 'a mean image, cropped with the image',
        dims: [3, 6, 10],
        meanImage: true,
        input: { format: 'uint8-nhwc-rgb', imageSize: [9, 13], scale: 0.5 },
      },
    ];
    for (const c of cases) {
      for (const precision of ['fp32', 'fp16', 'int8'] as Precision[]) {
        it(`${c.name} (${precision})`, async () => {
          const [ch, h, w] = c.dims;
          const [ih, iw] = c.input.imageSize ?? [h, w];
          let input = c.input;
          if (c.meanImage === true) {
            const rng = new SeededRandom(9);
            const file = path.join(tmpDir, `mean-${ch}x${ih}x${iw}.binaryproto`);
            fs.writeFileSync(
              file,
              formatMeanFile(
                [ch, ih, iw],
                Float32Array.from({ length: ch * ih * iw }, () => rng.uniform(60, 160)),
              ),
            );
            input = { ...input, meanFile: file };
          }
          const net = await Network.parse(`name: "identity"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 3 dim: ${ch} dim: ${h} dim: ${w} } } }
layer { name: "flat" type: "Flatten" bottom: "data" top: "flat" }\n`);
          const config: BuildConfig = {
            precision,
            maxBatchSize: 3,
            input,
            ...(precision === 'int8' ? { int8Scales: { data: 0.04, flat: 0.04 } } : {}),
          };
          const cpu = await new Builder({ backend: 'cpu' }).build(net, config);
          const gpu = await new Builder({ backend: 'cuda' }).build(net, config);
          for (const batch of [1, 3]) {
            const images = bytes(batch * ih * iw * ch, 31 * batch + ch);
            const want = (await runOnce(cpu, { data: images }, batch)).flat;
            const got = (await runOnce(gpu, { data: images }, batch, true)).flat;
            const bad = got.findIndex((v, i) => !Object.is(v, want[i]));
            assert.equal(bad, -1, `batch ${batch}: [${bad}] = ${got[bad]}, the cpu backend gives ${want[bad]}`);
          }
          cpu.dispose();
          gpu.dispose();
        });
      }
    }
  });

  it('INT8 with a float reader of the input too (Preprocess -> float tensor -> Quantize): cuda against cpu', async () => {
    const net = await Network.parse(
      `name: "branches"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 3 dim: 3 dim: 16 dim: 16 } } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1" convolution_param { num_output: 8 kernel_size: 3 } }
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "squash" type: "Sigmoid" bottom: "data" top: "squash" }
`,
      { seed: 3 },
    );
    const input: InputOptions = { format: 'uint8-nhwc-bgr', mean: [120], scale: 0.02, imageSize: [19, 18] };
    const config: BuildConfig = {
      precision: 'int8',
      maxBatchSize: 3,
      input,
      int8Scales: { data: 0.021, conv1: 0.05, pool1: 0.05, squash: 0.008 },
    };
    const cpu = await new Builder({ backend: 'cpu' }).build(net, config);
    const gpu = await new Builder({ backend: 'cuda' }).build(net, config);
    const images = bytes(3 * 19 * 18 * 3, 77);
    const want = await runOnce(cpu, { data: images }, 3);
    const got = await runOnce(gpu, { data: images }, 3, true);
    const bad = got.pool1.findIndex((v, i) => !Object.is(v, want.pool1[i]));
    assert.equal(bad, -1, `pool1 (INT8): [${bad}] = ${got.pool1[bad]}, the cpu backend gives ${want.pool1[bad]}`);
    assert.ok(relError(got.squash, want.squash) < 1e-5, 'squash (float)');
    cpu.dispose();
    gpu.dispose();
  });

  describe('whole networks: the uint8 engine against the float32 engine on host-preprocessed images (one timing cache)', () => {
    const TOLERANCE: Record<Precision, number> = { fp32: 1e-5, tf32: 1e-4, fp16: 1e-2, int8: 5e-2 }; // tf32 is not run here
    const input: InputOptions = { format: 'uint8-nhwc-rgb', mean: [104, 117, 123], imageSize: [256, 256] };
    for (const model of ['googlenet', 'alexnet']) {
      for (const precision of ['fp32', 'fp16', 'int8'] as Precision[]) {
        it(`${model} ${precision}`, async () => {
          const batch = 4;
          const net = await Network.fromCaffe(path.join(ROOT, 'models', `${model}.prototxt`), { batchSize: batch });
          const dims = net.inputs[0].shape.slice(1) as [number, number, number];
          const resolved = await resolveInput(net, input);
          const images = bytes(batch * 256 * 256 * 3, 7);
          const floats = preprocessOnHost(resolved as NonNullable<typeof resolved>, dims, images, batch);
          const timingCache = path.join(tmpDir, `${model}-${precision}.timing.json`);
          const builder = new Builder({ backend: 'cuda', timingCache });
          let config: BuildConfig = { precision, maxBatchSize: batch, tuneBatch: batch };
          if (precision === 'int8') {
            const cacheFile = path.join(tmpDir, `${model}.calib`);
            const calibrator = new Int8MinMaxCalibrator({ batches: [{ data: floats }], batchSize: batch, cacheFile });
            (await builder.build(net, { ...config, calibrator })).dispose();
            config = { ...config, calibrationCache: cacheFile };
          }
          const floatEngine = await builder.build(net, config);
          const byteEngine = await builder.build(net, { ...config, input });
          const output = floatEngine.outputs[0].name;
          const want = (await runOnce(floatEngine, { data: floats }, batch))[output];
          const got = (await runOnce(byteEngine, { data: images }, batch, true))[output];
          const err = relError(got, want);
          console.log(`      ${model} ${precision}: relative L2 difference ${err.toExponential(2)}`);
          assert.ok(err < TOLERANCE[precision], `${model} ${precision}: relative L2 error ${err} >= ${TOLERANCE[precision]}`);
          if (precision === 'fp32') {
            const classes = floatEngine.outputs[0].dims.reduce((a, b) => a * b, 1);
            assert.deepEqual(top1(got, classes, batch), top1(want, classes, batch), 'top-1 classes');
          }
          floatEngine.dispose();
          byteEngine.dispose();
        });
      }
    }
  });
});
