// Error paths not covered by the per-module tests: options of the public API, the fork field
// ceil_mode, element counts beyond 2^53, malformed schema tables, misuse of Message.
import { strict as assert } from 'assert';
import { caffeSchema, Message, parsePrototxt } from '../../lib/caffe';
import { Schema } from '../../lib/caffe/schema';
import { Network } from '../../lib/network';
import { fails } from '../support/helpers';

const INPUT = (dims: number[]) =>
  `layer { name: "data" type: "Input" top: "data" input_param { shape { ${dims.map((d) => `dim: ${d}`).join(' ')} } } }\n`;

describe('error paths', () => {
  describe('Network.fromCaffe / parse arguments', () => {
    const cases: Array<[unknown, string]> = [
      [{ stages: 'a' }, 'Expected an array of strings for options.stages but received type string ("a")'],
      [{ stages: [1] }, 'Expected an array of strings for options.stages but received an Array of length 1'],
      [{ phase: 'DEPLOY' }, "Expected 'TRAIN' or 'TEST' for options.phase but received type string (\"DEPLOY\")"],
      [{ allowUnknownFields: 'yes' }, 'Expected a boolean for options.allowUnknownFields but received type string ("yes")'],
      [{ onProgress: 3 }, 'Expected a function for options.onProgress but received type number (3)'],
      [{ inputShapes: [] }, 'Expected an object of shapes by input name for options.inputShapes but received an Array of length 0'],
      [
        { inputShapes: { data: [1, 0] } },
        'Expected an array of positive integers for options.inputShapes.data but received an Array of length 2',
      ],
      [{ weights: '' }, 'Expected a path string for options.weights but received type string ("")'],
      [{ weightInit: 'zeros' }, "Expected 'he' or 'filler' for options.weightInit but received type string (\"zeros\")"],
      [{ batchSize: '8' }, 'Expected a positive integer for options.batchSize but received type string ("8")'],
      [null, 'Expected an options object for options but received null'],
    ];
    for (const [options, message] of cases) {
      it(`rejects ${JSON.stringify(options)}`, async () => {
        await assert.rejects(Network.parse(INPUT([1, 3, 4, 4]), options as never), { name: 'TypeError', message });
      });
    }

    it('rejects a number of the right type out of range (a fractional level) with a RangeError', async () => {
      await assert.rejects(Network.parse(INPUT([1, 3, 4, 4]), { level: 1.5 }), {
        name: 'RangeError',
        message: 'Expected an integer for options.level but received type number (1.5)',
      });
    });

    it('rejects a batch size out of range with a RangeError', async () => {
      await assert.rejects(Network.parse(INPUT([1, 3, 4, 4]), { batchSize: 0 }), {
        name: 'RangeError',
        message: 'Expected an integer in [1, 1048576] for options.batchSize but received type number (0)',
      });
    });

    it('rejects a prototxt argument that is not a path', async () => {
      await assert.rejects(Network.fromCaffe(42 as never), {
        name: 'TypeError',
        message: 'Expected a path string for prototxt but received type number (42)',
      });
      await assert.rejects(Network.fromCaffe(''), { name: 'TypeError' });
      await assert.rejects(Network.parse(undefined as never), {
        name: 'TypeError',
        message: 'Expected a string for text but received undefined',
      });
    });
  });

  describe('shapes', () => {
    it('rejects output shapes whose element count is beyond 2^53 (E_SHAPE)', async () => {
      const text = INPUT([100000, 100000, 100000, 10]) + 'layer { name: "r" type: "ReLU" bottom: "data" top: "r" }';
      await fails(Network.parse(text), 'E_SHAPE', "layer 'data' (Input)", 'more elements than can be counted exactly');
    });

    it('rejects an Input layer with a shape count other than 1 or one per top (E_SHAPE)', async () => {
      const text = 'layer { name: "in" type: "Input" top: "a" top: "b" top: "c" ' + 'input_param { shape { dim: 1 } shape { dim: 2 } } }';
      await fails(Network.parse(text), 'E_SHAPE', "layer 'in' (Input)", 'has 3 tops but 2 shapes');
    });

    it("reads the forks' ceil_mode: false as FLOOR rounding, true as CEIL, and refuses it with round_mode", async () => {
      const pool = (p: string) =>
        `${INPUT([1, 1, 6, 6])}layer { name: "p" type: "Pooling" bottom: "data" top: "p" ` +
        `pooling_param { pool: MAX kernel_size: 3 stride: 2 ${p} } }`;
      // (6 - 3) / 2 = 1.5: ceil 2 + 1 = 3, floor 1 + 1 = 2.
      assert.deepEqual((await Network.parse(pool('ceil_mode: false'))).tensors.get('p')?.shape, [1, 1, 2, 2]);
      assert.deepEqual((await Network.parse(pool('ceil_mode: true'))).tensors.get('p')?.shape, [1, 1, 3, 3]);
      await fails(Network.parse(pool('ceil_mode: false round_mode: FLOOR')), 'E_SHAPE', 'give either round_mode or ceil_mode');
    });

    it('rejects a crop offset list of the wrong length and Embed without a vocabulary (E_SHAPE)', async () => {
      const crop =
        'layer { name: "ref" type: "Input" top: "ref" input_param { shape { dim: 1 dim: 3 dim: 4 dim: 4 } } }\n' +
        'layer { name: "c" type: "Crop" bottom: "data" bottom: "ref" top: "c" crop_param { axis: 2 offset: 1 offset: 1 offset: 1 } }';
      await fails(Network.parse(INPUT([1, 3, 8, 8]) + crop), 'E_SHAPE', "layer 'c' (Crop)", 'give 0, 1 or 2 values');
      const embed = 'layer { name: "e" type: "Embed" bottom: "data" top: "e" embed_param { num_output: 4 } }';
      await fails(Network.parse(INPUT([2, 5]) + embed), 'E_SHAPE', "layer 'e' (Embed)", 'input_dim must be > 0');
    });
  });

  describe('text format', () => {
    it('rejects a list of messages without commas (E_PARSE)', () => {
      assert.throws(() => parsePrototxt('layer: [ { name: "a" } { name: "b" } ]', { file: 'x' }), {
        code: 'E_PARSE',
        message: /x:1:24: bad list of messages \(expected ',' or '\]', found '\{'\)/,
      });
    });
  });

  describe('schema tables (errors that are bugs in this package, thrown as plain Error)', () => {
    const cases: Array<[string, ConstructorParameters<typeof Schema>[0], RegExp]> = [
      ['unknown type', { enums: {}, messages: { A: [['x', 1, 'Nope']] } }, /A\.x has unknown type Nope/],
      [
        'duplicate name',
        {
          enums: {},
          messages: {
            A: [
              ['x', 1, 'int32'],
              ['x', 2, 'int32'],
            ],
          },
        },
        /A\.x declared twice/,
      ],
      [
        'duplicate number',
        {
          enums: {},
          messages: {
            A: [
              ['x', 1, 'int32'],
              ['y', 1, 'int32'],
            ],
          },
        },
        /A reuses field number 1/,
      ],
      ['packed string', { enums: {}, messages: { A: [['x', 1, 'string', { repeated: true, packed: true }]] } }, /A\.x cannot be packed/],
      ['packed singular', { enums: {}, messages: { A: [['x', 1, 'int32', { packed: true }]] } }, /A\.x cannot be packed/],
      ['enum default', { enums: { E: { A: 0 } }, messages: { M: [['e', 1, 'E', { default: 'B' }]] } }, /M\.e default B is not in E/],
    ];
    for (const [what, source, message] of cases) {
      it(`refuses a table with ${what}`, () => assert.throws(() => new Schema(source), message));
    }

    it('refuses lookups of messages and enums it does not have', () => {
      assert.throws(() => caffeSchema.message('Nope'), /schema: no message Nope/);
      assert.throws(() => caffeSchema.enum('Nope'), /schema: no enum Nope/);
    });

    it('Message getters refuse fields of the wrong kind or name', () => {
      const m = new Message(caffeSchema, caffeSchema.message('LayerParameter'));
      m.set('name', 'x');
      assert.throws(() => m.num('name'), /LayerParameter\.name is not numeric/);
      assert.throws(() => m.str('nope'), /LayerParameter has no field nope/);
      m.set('loss_weight', 2 as never);
      assert.throws(() => m.sub('name'), /LayerParameter\.name is not a message/);
    });
  });
});
