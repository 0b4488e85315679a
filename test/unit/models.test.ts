/**
 * Our deploy models (models/*.prototxt) pinned against test/fixtures/models_expected.json, whose
 * numbers were computed independently of lib/ by parsing the prototxt files.
 *
 * How the fixture counts (its "counting" text), per image at batch 1:
 * - MACs: Convolution = output elements x (input channels / group) x kernel_h x kernel_w;
 *   InnerProduct = input elements x outputs; every other layer 0 (bias additions, pooling, LRN,
 *   Eltwise, Scale, BatchNorm and Softmax are free). lib/network counts the whole batch the same
 *   way, so at batch 1 the totals agree and at batch N they are exactly N times as large.
 * - params: every learned blob as Caffe stores it: Convolution weights (num_output x channels/group
 *   x kh x kw) plus bias when bias_term; InnerProduct weights plus bias; BatchNorm mean [C] +
 *   variance [C] + moving-average factor [1]; Scale gamma [C] plus beta [C] with bias_term.
 * - activations: the elements of every top of every layer except Input, in-place layers and
 *   Dropout included.
 * - layers: layer entries in the file, Input included. outputs: tops no later layer reads.
 * - shapes: every top name mapped to its shape after the last layer that writes it (the IR tensor
 *   that keeps the plain Caffe name).
 */
import { strict as assert } from 'assert';
import { readdirSync, readFileSync } from 'fs';
import * as path from 'path';
import { Network } from '../../lib/network';

interface ModelFacts {
  readonly file: string;
  readonly input: Record<string, number[]>;
  readonly outputs: Record<string, number[]>;
  readonly layers: number;
  readonly macs: number;
  readonly params: number;
  readonly activations: number;
  readonly shapes: Record<string, number[]>;
}

const ROOT = path.resolve(__dirname, '..', '..', '..');
const FIXTURE = JSON.parse(readFileSync(path.join(ROOT, 'test', 'fixtures', 'models_expected.json'), 'utf8')) as {
  counting: string;
  models: Record<string, ModelFacts>;
};

describe('models: our deploy networks, pinned', () => {
  it('the fixture has an entry for every models/*.prototxt', () => {
    const stems = readdirSync(path.join(ROOT, 'models'))
      .filter((f) => f.endsWith('.prototxt'))
      .map((f) => f.slice(0, -'.prototxt'.length));
    assert.deepEqual(Object.keys(FIXTURE.models).sort(), stems.sort());
    assert.ok(stems.length >= 7, `models/ has ${stems.length} prototxt files`);
  });

  for (const [stem, facts] of Object.entries(FIXTURE.models)) {
    describe(stem, () => {
      let network: Network;

      before(async () => {
        assert.equal(facts.file, `models/${stem}.prototxt`);
        network = await Network.fromCaffe(path.join(ROOT, facts.file));
      });

      it('has the pinned inputs', () => {
        assert.deepEqual(
          network.inputs,
          Object.entries(facts.input).map(([name, shape]) => ({ name, shape })),
        );
        assert.equal(network.batchSize, 1);
      });

      it('has the pinned output names and shapes', () => {
        assert.deepEqual(
          network.outputs,
          Object.entries(facts.outputs).map(([name, shape]) => ({ name, shape })),
        );
      });

      it('has the pinned number of layers', () => {
        assert.equal(network.layers.length, facts.layers);
      });

      it('has exactly the pinned MACs, params and activations', () => {
        const { totals, perImage } = network.summary();
        assert.equal(totals.macs, facts.macs);
        assert.equal(totals.params, facts.params);
        assert.equal(totals.activations, facts.activations);
        assert.equal(perImage.macs, facts.macs);
        assert.equal(totals.weightBytes, 4 * facts.params);
      });

      it('has every pinned tensor shape', () => {
        const wrong: string[] = [];
        for (const [name, shape] of Object.entries(facts.shapes)) {
          const t = network.tensors.get(name);
          if (t === undefined) wrong.push(`${name}: missing`);
          else if (t.shape.join(',') !== shape.join(',')) wrong.push(`${name}: [${t.shape.join(', ')}], pinned [${shape.join(', ')}]`);
        }
        assert.deepEqual(wrong, []);
        assert.ok(Object.keys(facts.shapes).length > 0);
      });

      it('has exactly 128x the MACs and activations at batch 128 (withBatchSize)', () => {
        const big = network.withBatchSize(128);
        const { totals } = big.summary();
        assert.equal(totals.macs, 128 * facts.macs);
        assert.equal(totals.activations, 128 * facts.activations);
        assert.equal(totals.params, facts.params);
        assert.deepEqual(
          big.inputs,
          Object.entries(facts.input).map(([name, shape]) => ({ name, shape: [128, ...shape.slice(1)] })),
        );
        // Dimension 0 at batch 1 is 1, or the rows per image of a region tensor (Faster R-CNN).
        assert.deepEqual(
          big.outputs,
          Object.entries(facts.outputs).map(([name, shape]) => ({ name, shape: [128 * shape[0], ...shape.slice(1)] })),
        );
        // the original network is unchanged
        assert.equal(network.summary().totals.macs, facts.macs);
      });
    });
  }
});
