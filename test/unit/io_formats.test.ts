// float16 inputs and outputs (BuildConfig.ioFormats, issue 14 item 3): the engine takes and gives
// Uint16Arrays of float16 bits and converts on the device (cpu: at the copy); the float16 helpers.
import { strict as assert } from 'assert';
import { Builder, fromFloat16, Network, Runtime, toFloat16 } from '../../lib';
import { readPlan } from '../../lib/runtime/plan_file';
import { floatToHalfBits, halfBitsToFloat } from '../../lib/float16';
import { seededFloats } from '../support/helpers';

const NET = `
name: "small"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 8 dim: 8 } } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" convolution_param { num_output: 4 kernel_size: 3 } }
layer { name: "relu" type: "ReLU" bottom: "conv" top: "conv" }
layer { name: "pool" type: "Pooling" bottom: "conv" top: "pool" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }`;

describe('float16 inputs and outputs', function () {
  this.timeout(60000);

  it('toFloat16 / fromFloat16 round to nearest even, keep subnormals, infinities and NaN', () => {
    for (const [x, bits] of [
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff],
      [65520, 0x7c00],
      [2 ** -24, 0x0001],
      [2 ** -25, 0x0000],
      [3 * 2 ** -25, 0x0002],
      [1 + 2 ** -11, 0x3c00],
      [1 + 3 * 2 ** -11, 0x3c02],
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
      [0.1, 0x2e66],
    ] as const) {
      assert.equal(floatToHalfBits(x), bits, `${x}`);
    }
    assert.ok(Number.isNaN(halfBitsToFloat(floatToHalfBits(NaN))));
    const v = seededFloats(1000, 3, 200);
    const back = fromFloat16(toFloat16(v));
    for (let i = 0; i < v.length; i++) assert.ok(Math.abs(back[i] - v[i]) <= Math.abs(v[i]) * 2 ** -11 + 2 ** -25, `${v[i]} -> ${back[i]}`);
  });

  it('an engine with ioFormats float16 takes and gives float16 bits: the float32 engine on half-rounded values, rounded', async () => {
    const net = await Network.parse(NET, { seed: 5 });
    const plain = await new Builder({ backend: 'cpu' }).build(net, { maxBatchSize: 2 });
    const half = await new Builder({ backend: 'cpu' }).build(net, {
      maxBatchSize: 2,
      ioFormats: { inputs: 'float16', outputs: 'float16' },
    });
    assert.deepEqual(
      half.inputs.map((t) => t.dtype),
      ['float16'],
    );
    assert.deepEqual(
      half.outputs.map((t) => t.dtype),
      ['float16'],
    );
    const x = seededFloats(2 * 3 * 64, 9, 4);
    const rounded = fromFloat16(toFloat16(x));
    const expected = toFloat16((await plain.createContext().infer({ data: rounded })).pool);
    const out = await half.createContext().infer<Uint16Array>({ data: toFloat16(x) });
    assert.ok(out.pool instanceof Uint16Array);
    assert.deepEqual(Array.from(out.pool), Array.from(expected));
    // A float32 array for a float16 input is a TypeError naming the array it takes.
    await assert.rejects(half.createContext().infer({ data: x }), {
      name: 'TypeError',
      message: /Uint16Array \(float16 bits\) for inputs.data/,
    });
    // The plan records the forms and round-trips them.
    const again = await Runtime.deserialize(half.serialize());
    assert.deepEqual(readPlan(half.serialize()).header.inputs[0].dtype, 'float16');
    assert.deepEqual(Array.from((await again.createContext().infer<Uint16Array>({ data: toFloat16(x) })).pool), Array.from(expected));
    await assert.rejects(new Builder({ backend: 'cpu' }).build(net, { ioFormats: { inputs: 'half' as never } }), {
      name: 'TypeError',
      message: /'float32' or 'float16'/,
    });
    for (const e of [plain, half, again]) e.dispose();
  });
});
