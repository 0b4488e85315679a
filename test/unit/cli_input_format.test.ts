// The CLI's input-format options (--inputFormat, --mean, --meanFile, --scale, --imageSize,
// --networkOrder) on build, infer and bench, and uint8 .npy inputs for infer.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Builder, Network } from '../../lib';
import { formatMeanFile } from '../../lib/caffe';
import { readNpy, writeNpy } from '../../lib/npy';
import { mnistSplit } from '../../lib/calibration/data';
import { runCli as run } from '../support/cli';

const ROOT = path.resolve(__dirname, '../../..');
const LENET = path.join(ROOT, 'models', 'lenet.prototxt');
const LENET_WEIGHTS = path.join(ROOT, 'models', 'lenet_mnist.caffemodel');

describe('cli: uint8 image inputs (--inputFormat and friends)', function () {
  this.timeout(60000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-cli-input-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("build a uint8 LeNet plan; infer it on MNIST bytes (a |u1 .npy): the float32 engine's scores; --random and bench take bytes", async () => {
    const plan = path.join(dir, 'lenet-u8.plan');
    const built = await run(
      'build',
      LENET,
      '--weights',
      LENET_WEIGHTS,
      '--backend',
      'cpu',
      '--batch',
      '8',
      '--inputFormat',
      'uint8-nhwc',
      '--scale',
      '0.00390625',
      '-o',
      plan,
    );
    assert.equal(built.code, 0, built.err);
    assert.match(built.err, /info: input 'data': uint8-nhwc images 28x28, no mean, scale 0\.00390625/);

    const { test } = mnistSplit();
    const floats = test.images.subarray(0, 8 * 784);
    const bytes = Uint8Array.from(floats, (v) => v * 256);
    const input = path.join(dir, 'digits-u8.npy');
    await writeNpy(input, [8, 28, 28, 1], bytes);
    assert.equal((await readNpy(input)).descr, '|u1');
    const outFile = path.join(dir, 'prob.npy');
    const inferred = await run('infer', plan, '--input', input, '-o', outFile);
    assert.equal(inferred.code, 0, inferred.err);
    const net = await Network.fromCaffe(LENET, { weights: LENET_WEIGHTS });
    const engine = await new Builder({ backend: 'cpu' }).build(net, { maxBatchSize: 8 });
    const ctx = engine.createContext();
    const want = (await ctx.infer({ data: floats })).prob;
    ctx.dispose();
    engine.dispose();
    assert.deepEqual([...(await readNpy(outFile)).data], [...want]);

    const random = await run('infer', plan, '--random', '--batch', '2', '-o', outFile);
    assert.equal(random.code, 0, random.err);
    const bench = await run('bench', plan, '--batch', '2', '--duration', '0', '--iterations', '3', '--warmUp', '0', '--json');
    assert.equal(bench.code, 0, bench.err);
  });

  it('infer on a prototxt: RGB images with a crop, a mean file and the network order', async () => {
    const net = path.join(dir, 'tiny.prototxt');
    fs.writeFileSync(
      net,
      `name: "tiny"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 4 dim: 4 } } }
layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" inner_product_param { num_output: 3 } }\n`,
    );
    const mean = path.join(dir, 'mean.binaryproto');
    fs.writeFileSync(
      mean,
      formatMeanFile(
        [3, 6, 6],
        Float32Array.from({ length: 108 }, (_, i) => i),
      ),
    );
    const images = path.join(dir, 'rgb.npy');
    await writeNpy(
      images,
      [2, 6, 6, 3],
      Uint8Array.from({ length: 216 }, (_, i) => (i * 37) % 256),
    );
    const r = await run(
      'infer',
      net,
      '--backend',
      'cpu',
      '--inputFormat',
      'uint8-nhwc-rgb',
      '--meanFile',
      mean,
      '--imageSize',
      '6x6',
      '--networkOrder',
      'bgr',
      '--input',
      images,
      '-o',
      path.join(dir, 'ip.npy'),
    );
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.err,
      /uint8-nhwc-rgb images 6x6, centre crop to 4x4, channels swapped \(the network takes BGR\), mean image .*mean\.binaryproto, scale 1/,
    );
    assert.deepEqual((await readNpy(path.join(dir, 'ip.npy'))).shape, [2, 3]);
  });

  it('--help of build, infer and bench lists the input options', async () => {
    for (const cmd of ['build', 'infer', 'bench']) {
      const r = await run(cmd, '--help');
      for (const o of [
        '--inputFormat <float32|uint8-nhwc|uint8-nhwc-bgr|uint8-nhwc-rgb>',
        '--mean <a,b,c>',
        '--meanFile',
        '--scale <s>',
        '--imageSize <HxW>',
        '--networkOrder <bgr|rgb>',
      ]) {
        assert.ok(r.out.includes(o), `${cmd} --help lacks ${o}`);
      }
    }
  });

  it('usage errors exit 2: a float .npy for a uint8 input, details without a uint8 format, malformed values, plans', async () => {
    const floats = path.join(dir, 'floats.npy');
    await writeNpy(floats, [1, 28, 28, 1], new Float32Array(784));
    const plan = path.join(dir, 'lenet.plan');
    assert.equal((await run('build', LENET, '--backend', 'cpu', '-o', plan)).code, 0);
    const cases: Array<[string[], RegExp]> = [
      [
        ['infer', LENET, '--backend', 'cpu', '--inputFormat', 'uint8-nhwc', '--input', floats, '-o', path.join(dir, 'y.npy')],
        /floats\.npy holds '<f4' values; input 'data' takes uint8 images \[N, 28, 28, 1\] \(a '\|u1' \.npy/,
      ],
      [['build', LENET, '-o', 'x.plan', '--mean', '1'], /--mean describes uint8 images: it goes with --inputFormat uint8-nhwc-bgr/],
      [
        ['build', LENET, '-o', 'x.plan', '--inputFormat', 'uint8'],
        /--inputFormat is one of float32, uint8-nhwc, uint8-nhwc-bgr, uint8-nhwc-rgb, got 'uint8'/,
      ],
      [['build', LENET, '-o', 'x.plan', '--inputFormat', 'uint8-nhwc', '--imageSize', '28'], /--imageSize is <height>x<width>/],
      [['build', LENET, '-o', 'x.plan', '--inputFormat', 'uint8-nhwc', '--scale', 'half'], /--scale takes numbers, got 'half'/],
      [['build', LENET, '-o', 'x.plan', '--inputFormat', 'uint8-nhwc', '--mean', '1,x'], /--mean takes numbers, got 'x'/],
      [['build', LENET, '-o', 'x.plan', '--inputFormat', 'uint8-nhwc', '--networkOrder', 'rbg'], /--networkOrder is bgr or rgb/],
      [
        ['build', LENET, '-o', 'x.plan', '--inputFormat', 'uint8-nhwc', '--mean', '1', '--meanFile', 'm.binaryproto'],
        /--mean or --meanFile, not both/,
      ],
      [['infer', plan, '--random', '-o', 'y.npy', '--inputFormat', 'uint8-nhwc'], /--inputFormat applies to prototxt files, not plans/],
      // The builder's own argument checks: RangeError, exit 2 too.
      [
        ['build', LENET, '--backend', 'cpu', '-o', path.join(dir, 'x.plan'), '--inputFormat', 'uint8-nhwc-bgr'],
        /'uint8-nhwc' \(uint8-nhwc-bgr is for 3-channel images; the input has 1 channel\)/,
      ],
      [
        ['build', LENET, '--backend', 'cpu', '-o', path.join(dir, 'x.plan'), '--inputFormat', 'uint8-nhwc', '--imageSize', '20x30'],
        /an image size of at least 28x28/,
      ],
    ];
    for (const [argv, message] of cases) {
      const r = await run(...argv);
      assert.equal(r.code, 2, `${argv.join(' ')}: ${r.err}`);
      assert.match(r.err, message);
    }
  });

  it('--inputIOFormats / --outputIOFormats fp16: a float16-I/O plan; infer converts .npy float32 in and out; bench and --random run', async () => {
    const plan = path.join(dir, 'lenet-f16.plan');
    const built = await run(
      'build',
      LENET,
      '--weights',
      LENET_WEIGHTS,
      '--backend',
      'cpu',
      '--batch',
      '4',
      '--inputIOFormats',
      'fp16:chw',
      '--outputIOFormats',
      'fp16',
      '-o',
      plan,
    );
    assert.equal(built.code, 0, built.err);
    const engine = await (await import('../../lib')).Engine.load(plan);
    assert.deepEqual([engine.inputs[0].dtype, engine.outputs[0].dtype], ['float16', 'float16']);
    engine.dispose();
    const { test } = mnistSplit();
    const input = path.join(dir, 'digits-f32.npy');
    await writeNpy(input, [4, 1, 28, 28], test.images.subarray(0, 4 * 784));
    const out = path.join(dir, 'prob-f16.npy');
    const inferred = await run('infer', plan, '--input', input, '-o', out);
    assert.equal(inferred.code, 0, inferred.err);
    const prob = await readNpy(out);
    assert.deepEqual(prob.shape, [4, 10]);
    // The float32 engine's scores, to float16's precision.
    const net = await Network.fromCaffe(LENET, { weights: LENET_WEIGHTS });
    const f32 = await new Builder({ backend: 'cpu' }).build(net, { maxBatchSize: 4 });
    const want = (await f32.createContext().infer({ data: test.images.subarray(0, 4 * 784) })).prob;
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(prob.data[i] - want[i]) <= 2e-3, `${i}: ${prob.data[i]} vs ${want[i]}`);
    f32.dispose();
    assert.equal((await run('infer', plan, '--random', '-o', path.join(dir, 'r.npy'))).code, 0);
    assert.equal((await run('bench', plan, '--batch', '2', '--duration', '0.1', '--warmUp', '10')).code, 0);
    const bad = await run('build', LENET, '--backend', 'cpu', '--inputIOFormats', 'int8', '-o', path.join(dir, 'x.plan'));
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--inputIOFormats is fp32 or fp16 \(trtexec's fp16:chw also reads\), got 'int8'/);
    const onPlan = await run('infer', plan, '--random', '--outputIOFormats', 'fp16', '-o', path.join(dir, 'y.npy'));
    assert.equal(onPlan.code, 2);
    assert.match(onPlan.err, /--outputIOFormats applies to prototxt files, not plans/);
  });
});
