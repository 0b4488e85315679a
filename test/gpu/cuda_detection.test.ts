/**
 * SSD detection on the cuda backend against the cpu backend:
 *   - DetectionOutput alone at SSD300's scale (8732 priors, 21 classes, batch 3): the same rows,
 *     box count exact, values within 1e-6 (distinct scores: no ties to order differently);
 *   - the three SSD models of models/ (random weights, a low confidence threshold so that random
 *     scores give detections), fp32 and fp16: the heads (loc, conf, priors) close to the cpu
 *     backend's, and the engine's detections equal to the cpu backend's DetectionOutput run on the
 *     head values the cuda engine itself computed (a shared timing cache gives both builds the same
 *     kernels), so nearly tied scores cannot reorder the comparison.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Builder, Network } from '../../lib';
import type { Precision } from '../../lib';
import { poisonedCudaSuite } from '../support/cuda';
import { randomInput, relError, SeededRandom } from '../support/reference';
import { detectorOf, detections, modelText, splitDetection } from '../support/ssd';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-cuda-detection-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function run(
  backend: 'cpu' | 'cuda',
  net: Network,
  inputs: Record<string, Float32Array>,
  batch: number,
  precision: Precision = 'fp32',
  timingCache?: string,
): Promise<Record<string, Float32Array>> {
  const engine = await new Builder({ backend, ...(timingCache ? { timingCache } : {}) }).build(net, { precision, maxBatchSize: batch });
  try {
    return await engine.createContext().infer(inputs, { batchSize: batch });
  } finally {
    engine.dispose();
  }
}

/** Row-by-row comparison of two detection outputs: counts exact, values within `tol` (relative above 1). */
function sameDetections(got: Float32Array, want: Float32Array, images: number, tol: number, what: string): number {
  const g = detections(got, images);
  const w = detections(want, images);
  assert.deepEqual(
    g.map((d) => d.length),
    w.map((d) => d.length),
    `${what}: detections per image`,
  );
  g.forEach((rows, n) =>
    rows.forEach((row, r) =>
      row.forEach((v, k) => {
        // Relative above 1: unclipped boxes can leave [0, 1], where float16's step grows.
        const bound = tol * Math.max(1, Math.abs(w[n][r][k]));
        assert.ok(Math.abs(v - w[n][r][k]) <= bound, `${what}: image ${n} row ${r} column ${k}: ${v} against ${w[n][r][k]}`);
      }),
    ),
  );
  return g.reduce((s, d) => s + d.length, 0);
}

describe('cuda backend: SSD detection', function () {
  this.timeout(600000);
  poisonedCudaSuite();

  it('DetectionOutput at SSD300 scale (8732 priors, 21 classes, batch 3) equals the cpu backend', async () => {
    const P = 8732;
    const C = 21;
    const batch = 3;
    const net = await Network.parse(
      `layer { name: "in" type: "Input" top: "loc" top: "conf" top: "prior" input_param { shape { dim: ${batch} dim: ${P * 4} } shape { dim: ${batch} dim: ${P * C} } shape { dim: ${batch} dim: 2 dim: ${P * 4} } } }\n` +
        'layer { name: "det" type: "DetectionOutput" bottom: "loc" bottom: "conf" bottom: "prior" top: "det" ' +
        'detection_output_param { num_classes: 21 nms_param { nms_threshold: 0.45 top_k: 400 } code_type: CENTER_SIZE keep_top_k: 200 confidence_threshold: 0.01 } }',
    );
    const rng = new SeededRandom(5);
    const prior = new Float32Array(batch * 2 * P * 4);
    for (let p = 0; p < P; p++) {
      const cx = rng.next();
      const cy = rng.next();
      const w = 0.02 + 0.5 * rng.next();
      const h = 0.02 + 0.5 * rng.next();
      for (let n = 0; n < batch; n++) {
        prior.set([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], n * 2 * P * 4 + p * 4);
        prior.set([0.1, 0.1, 0.2, 0.2], n * 2 * P * 4 + (P + p) * 4);
      }
    }
    // Distinct scores: a shuffled ladder in (0, 0.1).
    const conf = new Float32Array(batch * P * C);
    const order = Array.from({ length: conf.length }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(0, i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    order.forEach((k, i) => (conf[i] = (k + 1) / (conf.length + 1) / 10));
    const inputs = { loc: randomInput(batch * P * 4, 6, -1, 1), conf, prior };
    const cpu = await run('cpu', net, inputs, batch);
    const gpu = await run('cuda', net, inputs, batch);
    const kept = sameDetections(gpu.det, cpu.det, batch, 1e-6, 'DetectionOutput');
    assert.ok(kept === 3 * 200, `keep_top_k fills every image (${kept} rows)`);
    assert.ok(relError(gpu.det, cpu.det) < 1e-6);
  });

  for (const model of ['ssd300_vgg16', 'mobilenet_ssd', 'res10_300x300_ssd']) {
    for (const precision of ['fp32', 'fp16'] as const) {
      it(`${model} (${precision}): heads close to the cpu backend's, detections equal to DetectionOutput on the engine's own heads`, async () => {
        const batch = 2;
        const text = modelText(model, [[/confidence_threshold: [0-9.]+/, 'confidence_threshold: 0.01']]);
        const { heads, layer, bottoms } = splitDetection(text);
        const net = (await Network.parse(text, { seed: 5 })).withBatchSize(batch);
        const headNet = (await Network.parse(heads, { seed: 5 })).withBatchSize(batch);
        const data = randomInput(batch * 3 * 300 * 300, 9, 0, 1);
        const cache = path.join(tmp, `${model}-${precision}.cache`);
        const gpuHeads = await run('cuda', headNet, { data }, batch, precision, cache);
        const cpuHeads = await run('cpu', headNet, { data }, batch);
        for (const b of bottoms) {
          const err = relError(gpuHeads[b], cpuHeads[b]);
          assert.ok(err < (precision === 'fp32' ? 1e-4 : 3e-2), `${b}: relative error ${err} against the cpu backend`);
        }
        const whole = await run('cuda', net, { data }, batch, precision, cache);
        const detector = (await detectorOf(headNet, layer, bottoms)).withBatchSize(batch);
        const want = await run('cpu', detector, Object.fromEntries(bottoms.map((b) => [b, gpuHeads[b]])), batch);
        const kept = sameDetections(whole.detection_out, want.detection_out, batch, precision === 'fp32' ? 1e-5 : 2e-3, model);
        console.log(`      ${model} ${precision}: ${kept} detections over ${batch} images`);
      });
    }
  }
});
