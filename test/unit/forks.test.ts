// Layers of Caffe's forks folded into a Scale on load (lib/network/layers/forks.ts): ENet / SegNet's
// BN, PSPNet's BN and NVCaffe's BatchNorm with scale_bias. Their weights go through a .caffemodel
// written here in the fork's own blob layout, and the cpu backend's output is checked against the
// fork's formula computed in float64 from those blobs.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Builder, knownLayerTypes, Network } from '../../lib';
import { caffeSchema, Message, writeCaffemodel } from '../../lib/caffe';
import { fails } from '../support/helpers';
import { randomInput } from '../support/reference';

const N = 2;
const C = 3;
const HW = 4;
const INPUT = `layer { name: "in" type: "Input" top: "x" input_param { shape { dim: ${N} dim: ${C} dim: 2 dim: 2 } } }\n`;

let dir: string;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-forks-'));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A .caffemodel holding `blobs` (shape, values) for layer `name`. */
async function caffemodel(name: string, type: string, blobs: Array<[number[], Float32Array]>): Promise<string> {
  const p = path.join(dir, `${name}-${Math.random().toString(36).slice(2)}.caffemodel`);
  const param = new Message(caffeSchema, caffeSchema.message('LayerParameter'));
  param.set('name', name);
  param.set('type', type);
  const net = new Message(caffeSchema, caffeSchema.message('NetParameter'));
  net.set('name', 'forks');
  await writeCaffemodel(p, net, [{ param, blobs: blobs.map(([shape, data]) => ({ shape, data })) }]);
  return p;
}

/** Runs `net` on the cpu backend (fp32, batch N) on `x`. */
async function runCpu(net: Network, x: Float32Array): Promise<Float32Array> {
  const engine = await new Builder({ backend: 'cpu' }).build(net, { precision: 'fp32', maxBatchSize: N });
  try {
    const out = await engine.createContext().infer({ x }, { batchSize: N });
    return out.y;
  } finally {
    engine.dispose();
  }
}

/** Checks y against f(x, c) in float64, relative to the largest |y|. */
function checkPerChannel(y: Float32Array, x: Float32Array, f: (v: number, c: number) => number): void {
  const want = Array.from(x, (v, i) => f(v, Math.floor(i / HW) % C));
  const scale = Math.max(...want.map(Math.abs));
  want.forEach((w, i) => assert.ok(Math.abs(y[i] - w) <= 2e-6 * scale, `y[${i}] = ${y[i]}, expected ${w}`));
}

const channels = (seed: number, lo: number, hi: number) => randomInput(C, seed, lo, hi);

describe("layers of Caffe's forks folded into a Scale", function () {
  this.timeout(60000);
  const x = randomInput(N * C * HW, 3, -2, 2);

  it('knows BN and ReLU6 as layer types', () => {
    assert.ok(knownLayerTypes().includes('BN'));
    assert.ok(knownLayerTypes().includes('ReLU6'));
  });

  it("MobileNet V2 ports' ReLU6: a Clip to [0, 6], in place", async () => {
    const text =
      INPUT +
      'layer { name: "pre" type: "Power" bottom: "x" top: "y" power_param { scale: 5 } }\n' +
      'layer { name: "r" type: "ReLU6" bottom: "y" top: "y" }';
    const net = await Network.parse(text);
    assert.deepEqual(net.layer('r')?.type, 'Clip');
    assert.deepEqual(net.layer('r')?.attrs, { min: 0, max: 6 });
    const y = await runCpu(net, x);
    checkPerChannel(y, x, (v) => Math.min(Math.max(5 * v, 0), 6));
    assert.ok(y.some((v) => v === 6) && y.some((v) => v === 0), 'both bounds reached');
  });

  it("ENet / SegNet's BN (INFERENCE): x scale + shift from [1, C, 1, 1] blobs, in place", async () => {
    const text =
      INPUT +
      'layer { name: "pre" type: "Power" bottom: "x" top: "y" }\n' +
      'layer { name: "bn" type: "BN" bottom: "y" top: "y" bn_param { bn_mode: INFERENCE } }';
    const scale = channels(5, 0.5, 2);
    const shift = channels(6, -1, 1);
    const weights = await caffemodel('bn', 'BN', [
      [[1, C, 1, 1], scale],
      [[1, C, 1, 1], shift],
    ]);
    const net = await Network.parse(text, { weights });
    assert.equal(net.layer('bn')?.type, 'Scale');
    assert.ok(
      net.notes.some((n) => n === "BN (ENet / SegNet's, INFERENCE) runs as a Scale with a bias: layer 'bn'"),
      net.notes.join('; '),
    );
    assert.deepEqual(Array.from(net.weights('bn')[0]), Array.from(scale));
    checkPerChannel(await runCpu(net, x), x, (v, c) => v * scale[c] + shift[c]);
  });

  it("PSPNet's BN: slope (x - mean) / sqrt(var + eps) + bias, eps as given", async () => {
    const text = INPUT + 'layer { name: "bn" type: "BN" bottom: "x" top: "y" bn_param { frozen: true eps: 0.001 } }';
    const [slope, bias, mean, variance] = [channels(7, 0.5, 2), channels(8, -1, 1), channels(9, -1, 1), channels(10, 1e-4, 2e-3)];
    const weights = await caffemodel(
      'bn',
      'BN',
      [slope, bias, mean, variance].map((b) => [[1, C, 1, 1], b]),
    );
    const net = await Network.parse(text, { weights });
    assert.ok(
      net.notes.some((n) => /^BN \(PSPNet's\) runs as a Scale .* \(eps 0\.001\): layer 'bn'$/.test(n)),
      net.notes.join('; '),
    );
    checkPerChannel(await runCpu(net, x), x, (v, c) => (slope[c] * (v - mean[c])) / Math.sqrt(variance[c] + 0.001) + bias[c]);
  });

  it("a BN with no fields and four param entries is PSPNet's (one param per blob)", async () => {
    const text = INPUT + 'layer { name: "bn" type: "BN" bottom: "x" top: "y" param {} param {} param {} param {} }';
    const net = await Network.parse(text);
    assert.ok(net.notes.some((n) => /PSPNet's/.test(n)));
  });

  describe("NVCaffe's BatchNorm with scale_bias", () => {
    const text = INPUT + 'layer { name: "bn" type: "BatchNorm" bottom: "x" top: "y" batch_norm_param { scale_bias: true eps: 1e-7 } }';
    const [mean, variance, scale, bias] = [channels(11, -1, 1), channels(12, 1e-6, 1e-5), channels(13, 0.5, 2), channels(14, -1, 1)];
    // eps 1e-7 is raised to 1e-5, as NVCaffe does; the variances are small enough for it to show.
    const f = (v: number, c: number) => ((v - mean[c]) / Math.sqrt(variance[c] + 1e-5)) * scale[c] + bias[c];

    it('blobs mean, variance, factor (unused), scale, bias', async () => {
      const weights = await caffemodel('bn', 'BatchNorm', [
        [[C], mean],
        [[C], variance],
        [[1], Float32Array.of(7)],
        [[C], scale],
        [[C], bias],
      ]);
      const net = await Network.parse(text, { weights });
      assert.equal(net.layer('bn')?.type, 'Scale');
      assert.ok(
        net.notes.some((n) => /scale_bias runs as a Scale .* \(eps 0\.00001\): layer 'bn'$/.test(n)),
        net.notes.join('; '),
      );
      checkPerChannel(await runCpu(net, x), x, f);
    });

    it("DIGITS' older order: scale, bias, mean, variance and a one-value fifth blob", async () => {
      const weights = await caffemodel('bn', 'BatchNorm', [
        [[C], scale],
        [[C], bias],
        [[C], mean],
        [[C], variance],
        [[1], Float32Array.of(0)],
      ]);
      checkPerChannel(await runCpu(await Network.parse(text, { weights }), x), x, f);
    });

    it('blobs that fit neither layout: E_WEIGHTS naming the five blobs', async () => {
      const weights = await caffemodel('bn', 'BatchNorm', [
        [[C], mean],
        [[C], variance],
        [[1], Float32Array.of(1)],
      ]);
      await fails(Network.parse(text, { weights }), 'E_WEIGHTS', "layer 'bn'", 'mean, variance, factor, scale, bias', 'has 3');
    });

    it('scale_filler alone means scale_bias; filler weights come from batch_norm_param', async () => {
      const filler =
        INPUT +
        'layer { name: "bn" type: "BatchNorm" bottom: "x" top: "y" batch_norm_param { ' +
        'scale_filler { type: "constant" value: 2 } bias_filler { type: "constant" value: 0.5 } } }';
      const net = await Network.parse(filler, { weightInit: 'filler' });
      assert.deepEqual(
        net.weights('bn').map((b) => Array.from(b)),
        [
          [2, 2, 2],
          [0.5, 0.5, 0.5],
        ],
      );
    });
  });

  it("ENet's fillers: scale_filler and shift_filler", async () => {
    const text =
      INPUT +
      'layer { name: "bn" type: "BN" bottom: "x" top: "y" bn_param { bn_mode: INFERENCE ' +
      'scale_filler { type: "constant" value: 3 } shift_filler { type: "constant" value: -1 } } }';
    const net = await Network.parse(text, { weightInit: 'filler' });
    assert.deepEqual(
      net.weights('bn').map((b) => Array.from(b)),
      [
        [3, 3, 3],
        [-1, -1, -1],
      ],
    );
  });

  describe('refused with the fix', () => {
    it("ENet's BN in LEARN mode (its default): batch statistics at test time", async () => {
      await fails(
        Network.parse(INPUT + 'layer { name: "bn" type: "BN" bottom: "x" top: "y" bn_param { scale_filler { value: 1 } } }'),
        'E_UNSUPPORTED_LAYER',
        "layer 'bn'",
        'LEARN',
        'bn_mode: INFERENCE',
      );
    });

    it("fields of both forks' BN in one layer", async () => {
      await fails(
        Network.parse(INPUT + 'layer { name: "bn" type: "BN" bottom: "x" top: "y" bn_param { bn_mode: INFERENCE frozen: true } }'),
        'E_UNSUPPORTED_LAYER',
        'bn_mode',
        'frozen',
      );
    });

    it('a BN over an input without channels: E_SHAPE naming the layer', async () => {
      const text =
        'layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 5 } } }\n' +
        'layer { name: "bn" type: "BN" bottom: "x" top: "y" bn_param { bn_mode: INFERENCE } }';
      await fails(Network.parse(text), 'E_SHAPE', "layer 'bn' (BN)", 'channels');
    });

    it('a BN with two bottoms: E_SHAPE', async () => {
      const text = INPUT + 'layer { name: "bn" type: "BN" bottom: "x" bottom: "x" top: "y" bn_param { bn_mode: INFERENCE } }';
      await fails(Network.parse(text), 'E_SHAPE', "layer 'bn' (BN) takes 1 bottom(s)");
    });

    it("PSPNet's BN with blobs of the wrong size: E_WEIGHTS", async () => {
      const text = INPUT + 'layer { name: "bn" type: "BN" bottom: "x" top: "y" bn_param { frozen: true } }';
      const weights = await caffemodel(
        'bn',
        'BN',
        [0, 1, 2, 3].map(() => [[1, 4, 1, 1], new Float32Array(4)]),
      );
      await fails(Network.parse(text, { weights }), 'E_WEIGHTS', 'slope, bias, mean, variance', '[1, 3, 1, 1]');
    });
  });
});
