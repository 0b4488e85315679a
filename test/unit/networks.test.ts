// Whole networks on the cpu backend against a second path: the float64 op-by-op reference of
// test/support/reference.ts, run over the IR. The final Softmax is left out so that the logits,
// not a saturated probability, are compared.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { Builder, Network } from '../../lib';
import { maskUnpoolCase, movedPositions, randomInput, referenceForward, relError } from '../support/reference';

const ROOT = path.resolve(__dirname, '../../..');

/** The model's text without its last layer (the Softmax "prob"). */
function withoutSoftmax(model: string): string {
  const text = fs.readFileSync(path.join(ROOT, 'models', `${model}.prototxt`), 'utf8');
  const at = text.lastIndexOf('layer {');
  assert.match(text.slice(at), /type: "Softmax"/);
  return text.slice(0, at);
}

describe('whole networks: cpu engine vs the float64 reference', function () {
  this.timeout(180000);
  const cases: Array<[string, number]> = [
    ['lenet', 3],
    ['alexnet', 1],
    ['googlenet', 1],
    ['squeezenet1.1', 1],
    ['resnet50', 1],
    ['shufflenet_v1', 2],
    ['shufflenet_v2', 2],
  ];
  for (const [model, batch] of cases) {
    it(`${model}, batch ${batch}: fp32 logits within 1e-5 of float64, with and without layer fusion`, async () => {
      const net = (await Network.parse(withoutSoftmax(model), { seed: 3, file: `${model}.prototxt` })).withBatchSize(batch);
      const input = net.inputs[0];
      const data = randomInput(
        input.shape.reduce((a, b) => a * b, 1),
        11,
      );
      const reference = referenceForward(net, { [input.name]: data });
      for (const optimize of [true, false]) {
        const engine = await new Builder({ backend: 'cpu' }).build(net, { precision: 'fp32', maxBatchSize: batch, optimize });
        const out = await engine.createContext().infer({ [input.name]: data });
        for (const o of net.outputs) {
          const err = relError(out[o.name], reference.get(o.name) as Float64Array);
          assert.ok(err < 1e-5, `${model} ${o.name} (optimize ${optimize}): relative error ${err.toExponential(2)}`);
        }
        engine.dispose();
      }
    });
  }

  it("ENet (ENet's BN, PReLU, max unpooling, deconvolutions) at batch 2 of 64 x 128 images: within 1e-5 of float64", async () => {
    const net = await Network.fromCaffe(path.join(ROOT, 'models', 'enet.prototxt'), { seed: 3, inputShapes: { data: [2, 3, 64, 128] } });
    assert.deepEqual(net.outputs, [{ name: 'deconv6_0_0', shape: [2, 19, 64, 128] }]);
    assert.equal(net.layers.filter((l) => l.type === 'Upsample').length, 2);
    // One note for the 86 BN layers, naming the first few.
    assert.ok(
      net.notes.includes(
        "BN (ENet / SegNet's, INFERENCE) runs as a Scale with a bias: 86 layers ('bn0_1', 'bn1_0_0', 'bn1_0_1', 'bn1_0_2', 'bn1_0_4', 'bn1_1_0', ...)",
      ),
      net.notes.join('\n'),
    );
    const data = randomInput(2 * 3 * 64 * 128, 13);
    const reference = referenceForward(net, { data }).get('deconv6_0_0') as Float64Array;
    for (const optimize of [true, false]) {
      const engine = await new Builder({ backend: 'cpu' }).build(net, { precision: 'fp32', maxBatchSize: 2, optimize });
      const out = await engine.createContext().infer({ data });
      const err = relError(out.deconv6_0_0, reference);
      assert.ok(err < 1e-5, `ENet (optimize ${optimize}): relative error ${err.toExponential(2)}`);
      engine.dispose();
    }
  });

  it("PSPNet50 (PSPNet's BN, the pyramid's Interp to 60 x 60, zoom by 8) at 473 x 473: runs, and the folded engine equals the unfolded one", async () => {
    // 161.5 GMACs: too many for the float64 reference in JavaScript; each of its layer types is
    // checked against it in the op tests and test/unit/forks.test.ts.
    const net = await Network.fromCaffe(path.join(ROOT, 'models', 'pspnet50_ade20k.prototxt'), { seed: 3 });
    const data = randomInput(3 * 473 * 473, 14);
    const outs: Float32Array[] = [];
    for (const optimize of [true, false]) {
      const engine = await new Builder({ backend: 'cpu' }).build(net, { precision: 'fp32', maxBatchSize: 1, optimize });
      outs.push((await engine.createContext().infer({ data })).conv6_interp);
      engine.dispose();
    }
    assert.equal(outs[0].length, 150 * 473 * 473);
    assert.ok(outs[0].every(Number.isFinite));
    const err = relError(outs[0], outs[1]);
    assert.ok(err < 1e-5, `folded vs unfolded: relative error ${err.toExponential(2)}`);
  });

  it('googlenet fp16 and tf32 stay near float64 (2e-2 and 2e-3)', async () => {
    const net = (await Network.parse(withoutSoftmax('googlenet'), { seed: 3 })).withBatchSize(1);
    const data = randomInput(3 * 224 * 224, 12);
    const reference = referenceForward(net, { data }).get(net.outputs[0].name) as Float64Array;
    for (const [precision, bound] of [
      ['fp16', 2e-2],
      ['tf32', 2e-3],
    ] as const) {
      const engine = await new Builder({ backend: 'cpu' }).build(net, { precision, maxBatchSize: 1 });
      const out = (await engine.createContext().infer({ data }))[net.outputs[0].name];
      const err = relError(out, reference);
      assert.ok(err < bound, `${precision}: relative error ${err.toExponential(2)}`);
      engine.dispose();
    }
  });
});

describe('index tensors keep float32 in fp16 engines (cpu backend)', function () {
  this.timeout(60000);

  it('MAX pooling masks past 2048 (float16 integers) unpool to the same positions as in fp32', async () => {
    const { text, x } = maskUnpoolCase();
    const net = await Network.parse(text);
    const run = async (precision: 'fp32' | 'fp16') => {
      const engine = await new Builder({ backend: 'cpu' }).build(net, { precision });
      try {
        return (await engine.createContext().infer({ x })).y;
      } finally {
        engine.dispose();
      }
    };
    const want = await run('fp32');
    const got = await run('fp16');
    const moved = movedPositions(got, want);
    assert.equal(moved, 0, `${moved} of ${want.length} positions differ in being set`);
    assert.ok(relError(got, want) < 1e-3, `relative L2 error ${relError(got, want)}`);
  });
});
