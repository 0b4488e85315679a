// SSD's layers beyond the op cases: PriorBox against boxes computed by hand, DetectionOutput's NMS,
// ties and padding on a case small enough to follow, and the three SSD models of models/ (shapes
// pinned, prior counts, and their detections on the cpu backend against the float64
// DetectionOutput run on the engine's own head outputs).
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Builder, detections as readDetections, Network, Tensor } from '../../lib';
import { toFloat16 } from '../../lib/float16';
import { runCli } from '../support/cli';
import { ROOT, detectorOf, detections, modelText, splitDetection } from '../support/ssd';
import { randomInput, referenceForward, relError } from '../support/reference';

/** Runs `net` on the cpu backend in fp32 at `batch` with `inputs`; returns every output. */
async function runCpu(net: Network, inputs: Record<string, Float32Array>, batch = 1): Promise<Record<string, Float32Array>> {
  const engine = await new Builder({ backend: 'cpu' }).build(net, { precision: 'fp32', maxBatchSize: batch });
  try {
    return await engine.createContext().infer(inputs, { batchSize: batch });
  } finally {
    engine.dispose();
  }
}

function close(actual: ArrayLike<number>, expected: readonly number[], tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol, `${what}[${i}]: got ${actual[i]}, expected ${expected[i]}`);
  }
}

describe('SSD layers', function () {
  this.timeout(120000);

  it('PriorBox: the boxes of one cell, computed by hand (min 4, max 9, ratio 2 flipped, on a 20 x 10 image)', async () => {
    const net = await Network.parse(
      'layer { name: "in" type: "Input" top: "f" top: "img" input_param { shape { dim: 1 dim: 2 dim: 1 dim: 1 } shape { dim: 1 dim: 3 dim: 10 dim: 20 } } }\n' +
        'layer { name: "p" type: "PriorBox" bottom: "f" bottom: "img" top: "p" prior_box_param { min_size: 4 max_size: 9 aspect_ratio: 2 } }',
    );
    const out = await runCpu(net, { f: new Float32Array(2), img: new Float32Array(600) });
    // Centre (10, 5) (step 20 x 10, offset 0.5); x over 20, y over 10.
    const r2 = Math.SQRT2;
    const boxes = [
      [8 / 20, 3 / 10, 12 / 20, 7 / 10], // 4 x 4
      [7 / 20, 2 / 10, 13 / 20, 8 / 10], // sqrt(4 * 9) = 6
      [(10 - 2 * r2) / 20, (5 - r2) / 10, (10 + 2 * r2) / 20, (5 + r2) / 10], // ratio 2: 4 sqrt 2 x 4 / sqrt 2
      [(10 - r2) / 20, (5 - 2 * r2) / 10, (10 + r2) / 20, (5 + 2 * r2) / 10], // ratio 1/2
    ].flat();
    close(out.p, [...boxes, ...new Array<number>(16).fill(0.1)], 1e-6, 'priors');
  });

  it('DetectionOutput: NMS, ties by prior, keep_top_k across classes, padding rows', async () => {
    // Three priors; A and B overlap (IoU 0.9), C stands apart. CORNER code with zero offsets
    // decodes each box to its prior.
    const A = [0.1, 0.1, 0.5, 0.5];
    const B = [0.12, 0.1, 0.52, 0.5];
    const C = [0.6, 0.6, 0.9, 0.9];
    const text = (threshold: number) =>
      'layer { name: "in" type: "Input" top: "loc" top: "conf" top: "prior" input_param { shape { dim: 1 dim: 12 } shape { dim: 1 dim: 9 } shape { dim: 1 dim: 2 dim: 12 } } }\n' +
      'layer { name: "d" type: "DetectionOutput" bottom: "loc" bottom: "conf" bottom: "prior" top: "d" ' +
      `detection_output_param { num_classes: 3 nms_param { nms_threshold: 0.5 } keep_top_k: 3 confidence_threshold: ${threshold} } }`;
    const net = await Network.parse(text(0.05));
    const prior = Float32Array.from([...A, ...B, ...C, ...new Array<number>(12).fill(0.1)]);
    // Scores per prior for classes 0 (background), 1, 2; class 2 ties A and B at 0.6.
    const conf = Float32Array.from([0.1, 0.6, 0.6, 0.1, 0.8, 0.6, 0.2, 0.6, 0.2]);
    const out = await runCpu(net, { loc: new Float32Array(12), conf, prior });
    const f = Math.fround;
    // Class 1: B (0.8) suppresses A (IoU > 0.5), C (0.6) kept. Class 2: A and B tie, the lower
    // prior (A) goes first and suppresses B; C (0.2) kept. keep_top_k 3 of {1: B 0.8, 1: C 0.6,
    // 2: A 0.6, 2: C 0.2}: the last one goes.
    const want = [
      [0, 1, f(0.8), ...B.map(f)],
      [0, 1, f(0.6), ...C.map(f)],
      [0, 2, f(0.6), ...A.map(f)],
    ];
    assert.deepEqual(detections(out.d, 1)[0], want);
    // The reference agrees on the same case.
    const ref = referenceForward(net, { loc: new Float32Array(12), conf, prior }).get('d') as Float64Array;
    close(out.d, Array.from(ref), 1e-7, 'reference');
    // Nothing above a threshold of 0.9: Caffe's "no detection" row [image, -1 x 6] and padding.
    const none = await Network.parse(text(0.9));
    const empty = await runCpu(none, { loc: new Float32Array(12), conf, prior });
    assert.deepEqual(Array.from(empty.d), [0, -1, -1, -1, -1, -1, -1, 0, -1, -1, -1, -1, -1, -1, 0, -1, -1, -1, -1, -1, -1]);
  });

  it('detections(): the rows of a result without the padding, from arrays and Tensors (float16 decoded); bad input is coded', () => {
    const rows = Float32Array.from([
      0, 1, 0.9, 0.1, 0.2, 0.3, 0.4, 0, -1, -1, -1, -1, -1, -1, 1, 2, 0.5, 0.5, 0.5, 0.75, 1.25, 1, -1, -1, -1, -1, -1, -1,
    ]);
    const want = [
      { image: 0, label: 1, score: Math.fround(0.9), box: [0.1, 0.2, 0.3, 0.4].map(Math.fround) },
      { image: 1, label: 2, score: 0.5, box: [0.5, 0.5, 0.75, 1.25] },
    ];
    assert.deepEqual(readDetections(rows), want);
    assert.deepEqual(readDetections(rows, 0.6), want.slice(0, 1));
    assert.deepEqual(readDetections(new Tensor('float32', rows, [2, 1, 2, 7])), want);
    const half = readDetections(new Tensor('float16', toFloat16(rows), [2, 1, 2, 7]));
    assert.deepEqual(
      half.map((d) => [d.image, d.label]),
      [
        [0, 1],
        [1, 2],
      ],
    );
    assert.ok(Math.abs(half[0].score - 0.9) < 1e-3);
    assert.throws(
      () => readDetections(new Float32Array(8)),
      (e: Error & { code?: string }) => e.code === 'E_INVALID_ARGUMENT' && /rows of 7 values/.test(e.message),
    );
    assert.throws(
      () => readDetections(null as unknown as Float32Array),
      (e: Error & { code?: string }) => e.code === 'E_INVALID_ARGUMENT',
    );
  });

  describe('the SSD models of models/', () => {
    const models = [
      // [model, priors, output rows, confidence threshold for random weights]
      ['ssd300_vgg16', 8732, 200],
      ['mobilenet_ssd', 1917, 100],
      ['res10_300x300_ssd', 8892, 200],
    ] as const;
    for (const [model, priors, rows] of models) {
      it(`${model}: ${priors} priors, detections [1, 1, ${rows}, 7]; at batch 2 on the cpu backend equal to DetectionOutput on its own heads`, async () => {
        // Random weights score every class near 1 / classes: a low threshold keeps detections.
        const text = modelText(model, [[/confidence_threshold: [0-9.]+/, 'confidence_threshold: 0.01']]);
        const net = await Network.parse(text, { seed: 5, file: `${model}.prototxt` });
        assert.deepEqual(net.tensors.get('mbox_priorbox')?.shape, [1, 2, priors * 4]);
        assert.deepEqual(
          net.outputs.map((o) => [o.name, o.shape]),
          [['detection_out', [1, 1, rows, 7]]],
        );
        const { heads, layer, bottoms } = splitDetection(text);
        const headNet = (await Network.parse(heads, { seed: 5 })).withBatchSize(2);
        const data = randomInput(2 * 3 * 300 * 300, 7, 0, 1);
        const whole = await runCpu(net.withBatchSize(2), { data }, 2);
        const parts = await runCpu(headNet, { data }, 2);
        // The float64 DetectionOutput over the float32 head values the engine computed.
        const detector = (await detectorOf(headNet, layer, bottoms)).withBatchSize(2);
        const ref = referenceForward(detector, Object.fromEntries(bottoms.map((b) => [b, parts[b]]))).get('detection_out') as Float64Array;
        const got = detections(whole.detection_out, 2);
        const want = detections(ref, 2);
        assert.deepEqual(
          got.map((d) => d.length),
          want.map((d) => d.length),
          'detections per image',
        );
        assert.ok(got[0].length > 0 && got[1].length > 0, 'random weights still give detections');
        assert.ok(relError(whole.detection_out, ref) < 1e-6, `rows: relative error ${relError(whole.detection_out, ref)}`);
      });
    }

    it('res10_300x300_ssd: the heads (loc, conf after softmax, priors) within 1e-5 of the float64 reference', async () => {
      const { heads } = splitDetection(modelText('res10_300x300_ssd'));
      const net = await Network.parse(heads, { seed: 5 });
      const data = randomInput(3 * 300 * 300, 8, 0, 1);
      const out = await runCpu(net, { data });
      const ref = referenceForward(net, { data });
      for (const o of net.outputs) {
        const err = relError(out[o.name], ref.get(o.name) as Float64Array);
        assert.ok(err < 1e-5, `${o.name}: relative error ${err}`);
      }
    });
  });
});

describe('SSD networks on the command line', function () {
  this.timeout(120000);

  it('bench and sweep time a detection network (its DetectionOutput is just another output)', async () => {
    const model = path.join(ROOT, 'models', 'res10_300x300_ssd.prototxt');
    const bench = await runCli('bench', model, '--backend', 'cpu', '--duration', '0.2', '--warmUp', '0', '--iterations', '2');
    assert.equal(bench.code, 0, bench.err);
    assert.match(bench.out, /Throughput: [0-9.]+ images\/s/);
    const out = path.join(os.tmpdir(), `trtn-sweep-ssd-${process.pid}.json`);
    try {
      const sweep = await runCli(
        'sweep',
        '--networks',
        'mobilenet_ssd',
        '--precisions',
        'fp32',
        '--batches',
        '1,2',
        '--backend',
        'cpu',
        '--duration',
        '0.2',
        '--warmUp',
        '0',
        '-o',
        out,
      );
      assert.equal(sweep.code, 0, sweep.err);
      const points = (JSON.parse(fs.readFileSync(out, 'utf8')) as { points: Array<{ batch: number; imagesPerSecond?: number }> }).points;
      assert.deepEqual(
        points.map((p) => p.batch),
        [1, 2],
      );
    } finally {
      fs.rmSync(out, { force: true });
    }
  });
});
