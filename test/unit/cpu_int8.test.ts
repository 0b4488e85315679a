/**
 * INT8 emulation of the cpu backend, pinned bit for bit to the arithmetic of docs/int8.md.
 *
 * Every network here is tiny, with weights given exactly (written to a .caffemodel) and scales
 * given per IR tensor (`int8Scales`). The expected outputs are computed in this file from the
 * formulas of docs/int8.md, never from the code under test:
 *   - saturate(v): round half to even, clamp to [-127, 127], NaN -> 0;
 *   - Quantize: saturate(float32(x / s));
 *   - weights per output channel: s_w = float32(amax / 127), q_w = clamp(rint(w / s_w)) in double;
 *   - multipliers float32(a * b / c) from the float32 scales, in double, rounded once;
 *   - fma with a single rounding: `fmaf` below is exact (BigInt), not Math.fround(a * b + c).
 * Every value is compared with Object.is. Each op's inputs are chosen so that the rounding meets
 * ties (x.5 -> even) and saturation (beyond +-127); the tests assert that they did.
 *
 * An INT8 node writes int8 when an INT8 node reads its output and float32 when it is a network
 * output, so the int8 result of an op is read through a Flatten (INT8, dequantizing:
 * y = float(q) * s) and the float result by making the op's output the network output.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Builder, Network } from '../../lib';
import { caffeSchema, Message, writeCaffemodel } from '../../lib/caffe';
import { planExecGraph } from '../../lib/builder/exec_graph';
import type { Shape } from '../../lib/network';
import { count, referenceLayer, SeededRandom } from '../support/reference';

const f32 = Math.fround;
const MAX_BATCH = 3;

// ---------------------------------------------------------------------------------------------
// The arithmetic of docs/int8.md

/** Round half to even (the default rounding mode's rint), without -0. */
function rint(v: number): number {
  const fl = Math.floor(v);
  const d = v - fl;
  const r = d < 0.5 ? fl : d > 0.5 ? fl + 1 : fl % 2 === 0 ? fl : fl + 1;
  return r === 0 ? 0 : r;
}

/** True when v lies exactly halfway between two integers. */
function isTie(v: number): boolean {
  return Number.isFinite(v) && v - Math.floor(v) === 0.5;
}

/** saturate(v): rint, clamp to [-127, 127], NaN to 0. */
function saturate(v: number): number {
  if (Number.isNaN(v)) return 0;
  return Math.max(-127, Math.min(127, rint(v)));
}

/** Quantize: saturate(float32(x / s)) (float32 division: the double quotient rounded once is exact). */
function quantize(x: number, s: number): number {
  return saturate(f32(x / s));
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** A finite float32 value as m * 2^e with m an integer. */
function decompose(x: number): { m: bigint; e: number } {
  F32[0] = x;
  assert.ok(Object.is(F32[0], x), `test bug: ${x} is not a float32 value`);
  const bits = U32[0];
  const exp = (bits >>> 23) & 0xff;
  assert.ok(exp !== 0xff, `test bug: fmaf of a non-finite value ${x}`);
  const frac = bits & 0x7fffff;
  const m = exp === 0 ? frac : frac | 0x800000;
  const e = exp === 0 ? -149 : exp - 150;
  return { m: BigInt(bits >>> 31 ? -m : m), e };
}

/** S * 2^e rounded to float32, to nearest even (overflow to infinity). */
function roundToFloat32(S: bigint, e: number): number {
  const neg = S < 0n;
  const M = neg ? -S : S;
  const bits = M.toString(2).length;
  const q = Math.max(e + bits - 24, -149);
  let value: number;
  if (q <= e) {
    value = Number(M) * 2 ** e;
  } else {
    const shift = BigInt(q - e);
    let r = M >> shift;
    const rest = M - (r << shift);
    const half = 1n << (shift - 1n);
    if (rest > half || (rest === half && (r & 1n) === 1n)) r += 1n;
    value = Number(r) * 2 ** q;
  }
  return f32(neg ? -value : value);
}

/** fmaf(a, b, c): a * b + c computed exactly and rounded once to float32 (C's fmaf, PTX fma.rn.f32). */
function fmaf(a: number, b: number, c: number): number {
  const A = decompose(a);
  const B = decompose(b);
  const C = decompose(c);
  const pm = A.m * B.m;
  const pe = A.e + B.e;
  const e = Math.min(pe, C.e);
  const S = (pm << BigInt(pe - e)) + (C.m << BigInt(C.e - e));
  if (S === 0n) {
    // An exact zero is +0, except -0 + -0 (round to nearest).
    const productNegative = (a < 0 || Object.is(a, -0)) !== (b < 0 || Object.is(b, -0));
    return pm === 0n && C.m === 0n && productNegative && Object.is(c, -0) ? -0 : 0;
  }
  return roundToFloat32(S, e);
}

/** Per-output-channel weight quantization (docs/int8.md "Weight scales"). */
function quantizeWeights(w: Float32Array, channels: number): { q: number[]; s: number[] } {
  const per = w.length / channels;
  const q: number[] = [];
  const s: number[] = [];
  for (let c = 0; c < channels; c++) {
    let amax = 0;
    for (let i = 0; i < per; i++) amax = Math.max(amax, Math.abs(w[c * per + i]));
    const sw = amax === 0 ? 1 : f32(amax / 127);
    s.push(sw);
    for (let i = 0; i < per; i++) q.push(Math.max(-127, Math.min(127, rint(w[c * per + i] / sw))));
  }
  return { q, s };
}

describe('test support: exact fmaf and rint', () => {
  it('rounds once where Math.fround(a * b + c) rounds twice', () => {
    const a = f32(2 ** -12 * (1 + 2 ** -18));
    const b = f32(2 ** -12 * (1 - 2 ** -18));
    const c = 1 + 2 ** -23;
    // a * b + c = 1 + 2^-23 + 2^-24 - 2^-60: just below the tie, so 1 + 2^-23; the double sum lands
    // on the tie and then goes to even.
    assert.equal(fmaf(a, b, c), 1 + 2 ** -23);
    assert.equal(f32(a * b + c), 1 + 2 ** -22);
    assert.equal(fmaf(3, 0.5, 0), 1.5);
    assert.equal(fmaf(-0, 1, -0), -0);
    assert.equal(fmaf(f32(1e30), f32(1e30), 0), Infinity);
    assert.equal(fmaf(f32(2 ** -75 * 1.5), 2 ** -75, 0), 2 ** -149, '1.5 * 2^-150 rounds up to 2^-149');
    assert.equal(fmaf(2 ** -75, 2 ** -75, 0), 0, '2^-150 is a tie between 0 and 2^-149: even is 0');
  });

  it('rint and saturate', () => {
    assert.deepEqual([2.5, 3.5, -2.5, -1.5, -0.5, 0.5, 126.5, 127.5, -200, NaN].map(saturate), [2, 4, -2, -2, 0, 0, 126, 127, -127, 0]);
    assert.ok(Object.is(saturate(-0.4), 0));
  });
});

// ---------------------------------------------------------------------------------------------
// Networks

const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-cpu-int8-'));
after(() => fs.rmSync(tmpDir, { recursive: true, force: true }));
let files = 0;

/** A layer's text. */
function L(
  name: string,
  type: string,
  param = '',
  bottoms: string | readonly string[] = 'data',
  tops: string | readonly string[] = name,
): string {
  const list = (v: string | readonly string[]) => (typeof v === 'string' ? [v] : v);
  return (
    `layer { name: "${name}" type: "${type}" ${list(bottoms)
      .map((b) => `bottom: "${b}"`)
      .join(' ')} ` +
    `${list(tops)
      .map((t) => `top: "${t}"`)
      .join(' ')} ${param} }\n`
  );
}

/** Inputs (per-image shapes; batch MAX_BATCH) and layers, with the given blobs by layer name. */
async function network(
  inputs: Record<string, readonly number[]>,
  body: string,
  blobs: Record<string, Float32Array[]> = {},
): Promise<Network> {
  const text =
    Object.entries(inputs)
      .map(
        ([name, dims]) =>
          `layer { name: "input_${name}" type: "Input" top: "${name}" input_param { shape { ${[MAX_BATCH, ...dims].map((d) => `dim: ${d}`).join(' ')} } } }\n`,
      )
      .join('') + body;
  const plain = await Network.parse(text, { file: 'int8.prototxt' });
  const layers = plain.layers.filter((l) => l.blobs.length > 0);
  if (layers.length === 0) return plain;
  const toWrite = layers.map((l) => {
    const data = blobs[l.name];
    assert.ok(data !== undefined && data.length === l.blobs.length, `test bug: give the ${l.blobs.length} blob(s) of layer '${l.name}'`);
    const param = new Message(caffeSchema, caffeSchema.message('LayerParameter'));
    param.set('name', l.name);
    param.set('type', l.type);
    return { param, blobs: l.blobs.map((shape, i) => ({ shape: [...shape], data: data[i] })) };
  });
  const header = new Message(caffeSchema, caffeSchema.message('NetParameter'));
  header.set('name', 'int8');
  const file = path.join(tmpDir, `w${files++}.caffemodel`);
  await writeCaffemodel(file, header, toWrite);
  return Network.parse(text, { file: 'int8.prototxt', weights: file });
}

/**
 * Builds the INT8 engine, checks the planner ran the expected nodes in INT8, runs batch 1 and 3
 * and compares every output value with Object.is against expected(inputs at that batch).
 */
async function checkInt8(
  net: Network,
  scales: Record<string, number>,
  int8Nodes: readonly string[],
  inputs: (batch: number) => Record<string, Float32Array>,
  expected: (inputs: Record<string, Float32Array>, batch: number) => Record<string, Float32Array>,
  optimize = true,
): Promise<void> {
  const graph = planExecGraph(net, { precision: 'int8', maxBatchSize: MAX_BATCH, optimize, int8Scales: scales });
  const ran = graph.nodes.filter((n) => n.precision === 'int8' && n.op !== 'Quantize').map((n) => n.name);
  assert.deepEqual(ran, int8Nodes, 'the planner chooses which nodes run in INT8 (lib/builder/exec_graph.ts)');
  const engine = await new Builder({ backend: 'cpu' }).build(net, {
    precision: 'int8',
    maxBatchSize: MAX_BATCH,
    optimize,
    int8Scales: scales,
  });
  const ctx = engine.createContext();
  try {
    for (const batch of [1, MAX_BATCH]) {
      const x = inputs(batch);
      const out = await ctx.infer(x, { batchSize: batch });
      const want = expected(x, batch);
      assert.deepEqual(Object.keys(out).sort(), Object.keys(want).sort(), 'outputs');
      for (const [name, e] of Object.entries(want)) {
        const a = out[name];
        assert.equal(a.length, e.length, `${name}: length`);
        const bad: string[] = [];
        for (let i = 0; i < e.length; i++) if (!Object.is(a[i], e[i])) bad.push(`[${i}] got ${a[i]}, expected ${e[i]}`);
        assert.equal(bad.length, 0, `${name} at batch ${batch}: ${bad.length} of ${e.length} values differ: ${bad.slice(0, 8).join('; ')}`);
      }
    }
  } finally {
    ctx.dispose();
    engine.dispose();
  }
}

/** Seeded values: integers in [lo, hi] times `s`, with `tieShare` of them moved half a step. */
function grid(n: number, seed: number, s: number, lo: number, hi: number, tieShare = 0.3): Float32Array {
  const rng = new SeededRandom(seed);
  return Float32Array.from({ length: n }, () => {
    let k = rng.int(lo, hi + 1);
    if (k === 0) k = 1;
    return f32((rng.next() < tieShare ? k + 0.5 : k) * s);
  });
}

/** Image 0 fixed (hand-chosen values), the other images from `rest`. */
function withFirst(first: readonly number[], batch: number, rest: (n: number) => Float32Array): Float32Array {
  const out = new Float32Array(first.length * batch);
  out.set(first);
  if (batch > 1) out.set(rest(first.length * (batch - 1)), first.length);
  return out;
}

/** Asserts that the rounding in `values` met at least one tie and one saturation. */
function assertCoverage(what: string, values: readonly number[]): void {
  assert.ok(values.some(isTie), `test bug: ${what} never rounds a tie`);
  assert.ok(
    values.some((v) => Math.abs(v) > 127.5 || Number.isNaN(v)),
    `test bug: ${what} never saturates`,
  );
}

/** Runs the float64 reference of IR layer `name` of `net` on `inputs` (for pooling windows). */
function layerOn(net: Network, name: string, inputs: Float64Array[]): Float64Array[] {
  const layer = net.layers.find((l) => l.name === name);
  assert.ok(layer !== undefined);
  const shape = (t: string): Shape => (net.tensors.get(t) as { shape: Shape }).shape;
  return referenceLayer({ layer, inputs, inShapes: layer.inputs.map(shape), outShapes: layer.outputs.map(shape), blobs: [] });
}

// ---------------------------------------------------------------------------------------------

describe('cpu backend INT8 emulation (docs/int8.md), bit exact', function () {
  this.timeout(60000);

  describe('Quantize, Flatten, Reshape', () => {
    const first = [1.25, 1.75, -1.25, -0.75, -0.25, 100, -1000, NaN];

    it('Quantize -> Flatten: ties to even, saturation, NaN -> 0; y = float(q) * s', async () => {
      const net = await network({ data: [2, 2, 2] }, L('flat', 'Flatten'));
      const s = 0.5;
      const data = (batch: number) => withFirst(first, batch, (n) => grid(n, 3, s, -200, 200));
      assertCoverage(
        'Quantize',
        [...data(3)].map((x) => f32(x / s)),
      );
      await checkInt8(
        net,
        { data: s },
        ['flat'],
        (batch) => ({ data: data(batch) }),
        (x) => ({
          flat: Float32Array.from(x.data, (v) => f32(quantize(v, s) * s)),
        }),
      );
      // Hand check of image 0: q = 2, 4, -2, -2, 0, 127, -127, 0.
      assert.deepEqual(
        first.map((v) => quantize(v, s)),
        [2, 4, -2, -2, 0, 127, -127, 0],
      );
    });

    it('Quantize -> Reshape with scale float32(0.1): y = float(q) * s', async () => {
      const net = await network({ data: [2, 3] }, L('r', 'Reshape', 'reshape_param { shape { dim: 0 dim: -1 } }'));
      const s = f32(0.1);
      const data = (batch: number) => grid(6 * batch, 9, s, -160, 160, 0.5);
      assertCoverage(
        'Quantize',
        [...data(3)].map((x) => f32(x / s)),
      );
      await checkInt8(
        net,
        { data: 0.1 },
        ['r'],
        (batch) => ({ data: data(batch) }),
        (x) => ({
          r: Float32Array.from(x.data, (v) => f32(quantize(v, s) * s)),
        }),
      );
    });
  });

  describe('Convolution', () => {
    // 1x1, 2 -> 3 channels. Channel scales: 127 -> s_w 1; 63.5 -> 0.5; 127/64 -> 1/64.
    // Weight 2.5 (s_w 1) quantizes to 2 (a tie); 3.5 (s_w 0.5) to 7; -0.5 (s_w 1/64) to -32.
    const w1 = Float32Array.of(127, 2.5, -63.5, 3.5, 127 / 64, -0.5);
    const b1 = Float32Array.of(0, 1, -0.25);
    // Image 0: channel 0 q = 0, 20, 0, -1; channel 1 q = 10, 0, 12, 7 (x = q * 0.5).
    //   position 0: acc = (20, 70, -320): v = 2.5 -> 2 (tie); 70/16 + 0.25 = 4.625 -> 5; -0.6875 -> -1
    //   position 1: acc = (2540, -2540, 2540): 317.5 -> 127; -158.5 -> -127 (saturation); 4.898 -> 5
    //   position 2: acc = (24, 84, -384): 3; 84/16 + 0.25 = 5.5 -> 6 (tie); -0.8125 -> -1
    const first1 = [0, 20, 0, -1, 10, 0, 12, 7].map((q) => q * 0.5);

    /** acc[n][c][p] of a convolution over quantized inputs (padding contributes 0). */
    function accumulate(net: Network, layer: string, qx: Float64Array, qw: number[], batch: number): Float64Array {
      const l = net.withBatchSize(batch).layers.find((x) => x.name === layer);
      assert.ok(l !== undefined && l.type === 'Convolution');
      const shape = (t: string) => (net.withBatchSize(batch).tensors.get(t) as { shape: Shape }).shape;
      const ref = referenceLayer({
        layer: { ...l, attrs: { ...l.attrs, biasTerm: false } },
        inputs: [qx],
        inShapes: [shape(l.inputs[0])],
        outShapes: [shape(l.outputs[0])],
        blobs: [Float64Array.from(qw)],
      });
      return ref[0];
    }

    it('1x1, int8 output: v = fma(acc, M[c], B[c]), ties to even, saturation', async () => {
      const net = await network(
        { data: [2, 2, 2] },
        L('conv', 'Convolution', 'convolution_param { num_output: 3 kernel_size: 1 }') + L('flat', 'Flatten', '', 'conv'),
        { conv: [w1, b1] },
      );
      const sx = 0.5;
      const sy = 4;
      const { q: qw, s: sw } = quantizeWeights(w1, 3);
      assert.deepEqual(qw, [127, 2, -127, 7, 127, -32]);
      assert.deepEqual(sw, [1, 0.5, 1 / 64]);
      const M = sw.map((s) => f32((sx * s) / sy));
      const B = [...b1].map((b) => f32(b / sy));
      const data = (batch: number) => withFirst(first1, batch, (n) => grid(n, 5, sx, -40, 40, 0));
      const expect = (x: Float32Array, batch: number) => {
        const acc = accumulate(
          net,
          'conv',
          Float64Array.from(x, (v) => quantize(v, sx)),
          qw,
          batch,
        );
        return [...acc].map((a, i) => fmaf(f32(a), M[Math.floor(i / 4) % 3], B[Math.floor(i / 4) % 3]));
      };
      assertCoverage('the convolution', expect(data(3), 3));
      await checkInt8(
        net,
        { data: sx, conv: sy },
        ['conv', 'flat'],
        (batch) => ({ data: data(batch) }),
        (x, batch) => ({
          flat: Float32Array.from(expect(x.data, batch), (v) => f32(saturate(v) * sy)),
        }),
      );
      const v0 = expect(Float32Array.from(first1), 1);
      assert.deepEqual(
        [0, 1, 2].map((p) => [0, 1, 2].map((c) => saturate(v0[c * 4 + p]))),
        [
          [2, 5, -1],
          [127, -127, 5],
          [3, 6, -1],
        ],
      );
    });

    it('1x1, float output: y = fma(acc, float32(s_x s_w[c]), bias[c]) with one rounding', async () => {
      const w = Float32Array.from([0.9, -0.37, 0.5, 0.21, -0.05, 0.33], f32);
      const b = Float32Array.from([0.3, -0.7, 0.05], f32);
      const net = await network({ data: [2, 2, 2] }, L('conv', 'Convolution', 'convolution_param { num_output: 3 kernel_size: 1 }'), {
        conv: [w, b],
      });
      const sx = f32(0.1);
      const { q: qw, s: sw } = quantizeWeights(w, 3);
      const M = sw.map((s) => f32(sx * s));
      const data = (batch: number) => grid(8 * batch, 17, sx, -140, 140, 0.4);
      assertCoverage(
        'Quantize',
        [...data(3)].map((x) => f32(x / sx)),
      );
      const expect = (x: Float32Array, batch: number) => {
        const acc = accumulate(
          net,
          'conv',
          Float64Array.from(x, (v) => quantize(v, sx)),
          qw,
          batch,
        );
        return Float32Array.from(acc, (a, i) => fmaf(f32(a), M[Math.floor(i / 4) % 3], b[Math.floor(i / 4) % 3]));
      };
      // The data must tell one rounding from two.
      const acc3 = accumulate(
        net,
        'conv',
        Float64Array.from(data(3), (v) => quantize(v, sx)),
        qw,
        3,
      );
      assert.ok(
        [...acc3].some((a, i) => {
          const c = Math.floor(i / 4) % 3;
          return fmaf(f32(a), M[c], b[c]) !== f32(f32(a * M[c]) + b[c]);
        }),
        'test bug: no value where fma differs from multiply-then-add',
      );
      await checkInt8(
        net,
        { data: 0.1, conv: 0.05 },
        ['conv'],
        (batch) => ({ data: data(batch) }),
        (x, batch) => ({
          conv: expect(x.data, batch),
        }),
      );
    });

    it('3x3 pad 1, fused leaky ReLU (slope 0.5), int8 output: padding contributes 0', async () => {
      // Channel 0: s_w 1 (amax 127); channel 1: s_w 0.5 (amax 63.5).
      const w = Float32Array.of(127, 1, -1, 2, 0, -2, 1, 1, -1, -1.5, 2.5, 1, 0.5, -2, 3, 0, 1, 63.5);
      const b = Float32Array.of(0, -1);
      const net = await network(
        { data: [1, 4, 4] },
        L('conv', 'Convolution', 'convolution_param { num_output: 2 kernel_size: 3 pad: 1 }') +
          L('relu', 'ReLU', 'relu_param { negative_slope: 0.5 }', 'conv', 'conv') +
          L('flat', 'Flatten', '', 'conv'),
        { conv: [w, b] },
      );
      const sx = 1;
      const sy = 2;
      const { q: qw, s: sw } = quantizeWeights(w, 2);
      assert.deepEqual(sw, [1, 0.5]);
      const M = sw.map((s) => f32((sx * s) / sy));
      const B = [...b].map((v) => f32(v / sy));
      const slope = 0.5;
      const data = (batch: number) =>
        withFirst([3, -1, 2, 0.5, -2, 1, 5, -3, 4, 2, -5, 1, -1, 3, 1, -4], batch, (n) => grid(n, 23, sx, -6, 6, 0.2));
      const expectV = (x: Float32Array, batch: number) => {
        const acc = accumulate(
          net,
          'conv',
          Float64Array.from(x, (v) => quantize(v, sx)),
          qw,
          batch,
        );
        return [...acc].map((a, i) => {
          const c = Math.floor(i / 16) % 2;
          const v = fmaf(f32(a), M[c], B[c]);
          return v > 0 ? v : f32(v * slope);
        });
      };
      assertCoverage('the convolution with leaky ReLU', expectV(data(3), 3));
      assert.ok(
        expectV(data(3), 3).some((v) => v < 0 && isTie(v)),
        'test bug: no tie on the negative (slope) side',
      );
      await checkInt8(
        net,
        { data: sx, conv: sy },
        ['conv', 'flat'],
        (batch) => ({ data: data(batch) }),
        (x, batch) => ({
          flat: Float32Array.from(expectV(x.data, batch), (v) => f32(saturate(v) * sy)),
        }),
      );
    });
  });

  describe('InnerProduct', () => {
    // 6 inputs -> 3 outputs; s_w = 1 (amax 127), 0.25 (amax 31.75), 1/64 (amax 127/64).
    const w = Float32Array.of(127, -3, 2.5, 0, 1, -1, 31.75, 0.375, -0.625, 1.25, -2, 0.125, 127 / 64, -1, 0.5, 0.25, -0.75, 1);
    const b = Float32Array.of(-0.5, 2, 0);
    const matmul = (qx: number[], qw: number[], batch: number) => {
      const acc: number[] = [];
      for (let n = 0; n < batch; n++)
        for (let o = 0; o < 3; o++) {
          let a = 0;
          for (let k = 0; k < 6; k++) a += qx[n * 6 + k] * qw[o * 6 + k];
          acc.push(a);
        }
      return acc;
    };

    it('int8 output: v = fma(acc, M[c], B[c]), ties to even, saturation', async () => {
      const net = await network(
        { data: [6] },
        L('ip', 'InnerProduct', 'inner_product_param { num_output: 3 }') + L('flat', 'Flatten', '', 'ip'),
        { ip: [w, b] },
      );
      const sx = 0.25;
      const sy = 2;
      const { q: qw, s: sw } = quantizeWeights(w, 3);
      assert.deepEqual(sw, [1, 0.25, 1 / 64]);
      assert.deepEqual(qw.slice(0, 6), [127, -3, 2, 0, 1, -1], 'weight 2.5 is a tie: 2');
      const M = sw.map((s) => f32((sx * s) / sy));
      const B = [...b].map((v) => f32(v / sy));
      // Image 0: q_x = (2, 1, 7, 4, 2, 5): acc0 = 254 - 3 + 14 + 0 + 2 - 5 = 262 -> 262/8 - 0.25 = 32.5 -> 32 (tie).
      const data = (batch: number) => withFirst([0.5, 0.25, 0.25 * 7, 1, 0.5, 1.25], batch, (n) => grid(n, 31, sx, -127, 127, 0));
      const expect = (x: Float32Array, batch: number) =>
        matmul(
          [...x].map((v) => quantize(v, sx)),
          qw,
          batch,
        ).map((a, i) => fmaf(f32(a), M[i % 3], B[i % 3]));
      assertCoverage('the inner product', expect(data(3), 3));
      assert.equal(saturate(expect(data(1), 1)[0]), 32);
      await checkInt8(
        net,
        { data: sx, ip: sy },
        ['ip', 'flat'],
        (batch) => ({ data: data(batch) }),
        (x, batch) => ({
          flat: Float32Array.from(expect(x.data, batch), (v) => f32(saturate(v) * sy)),
        }),
      );
    });

    it('float output: y = fma(acc, float32(s_x s_w[c]), bias[c]), one rounding', async () => {
      const wf = Float32Array.from(w, (v, i) => f32(v * (i % 5 === 0 ? 0.3 : 0.7)));
      const bf = Float32Array.from([0.1, -0.3, 0.7], f32);
      const net = await network({ data: [6] }, L('ip', 'InnerProduct', 'inner_product_param { num_output: 3 }'), { ip: [wf, bf] });
      const sx = f32(0.1);
      const { q: qw, s: sw } = quantizeWeights(wf, 3);
      const M = sw.map((s) => f32(sx * s));
      const data = (batch: number) => grid(6 * batch, 37, sx, -140, 140, 0.4);
      assertCoverage(
        'Quantize',
        [...data(3)].map((x) => f32(x / sx)),
      );
      const expect = (x: Float32Array, batch: number) =>
        matmul(
          [...x].map((v) => quantize(v, sx)),
          qw,
          batch,
        ).map((a, i) => fmaf(f32(a), M[i % 3], bf[i % 3]));
      await checkInt8(
        net,
        { data: 0.1, ip: 1 },
        ['ip'],
        (batch) => ({ data: data(batch) }),
        (x, batch) => ({
          ip: Float32Array.from(expect(x.data, batch)),
        }),
      );
    });
  });

  describe('Pooling', () => {
    const s = 0.5;
    /** Inputs with many exact ties (k + 0.5 steps) and values past +-127 steps. */
    const data = (n: number, seed: number) => grid(n, seed, s, -150, 150, 0.5);

    it('MAX 3x3 stride 2 pad 1 (ceil), int8 output: q = max of the quantized window', async () => {
      const net = await network(
        { data: [2, 5, 5] },
        L('pool', 'Pooling', 'pooling_param { pool: MAX kernel_size: 3 stride: 2 pad: 1 }') + L('flat', 'Flatten', '', 'pool'),
      );
      const inputs = (batch: number) => ({ data: data(50 * batch, 41) });
      assertCoverage(
        'Quantize',
        [...inputs(3).data].map((x) => f32(x / s)),
      );
      const expect = (x: Float32Array, batch: number) =>
        layerOn(net.withBatchSize(batch), 'pool', [Float64Array.from(x, (v) => quantize(v, s))])[0];
      const picked = expect(inputs(3).data, 3);
      assert.ok(
        picked.some((q) => Math.abs(q) === 127),
        'test bug: no saturated value wins a window',
      );
      await checkInt8(net, { data: s }, ['pool', 'flat'], inputs, (x, batch) => ({
        flat: Float32Array.from(expect(x.data, batch), (q) => f32(q * s)),
      }));
    });

    it('MAX, float output: y = float(q) * s_x', async () => {
      const net = await network({ data: [2, 5, 5] }, L('pool', 'Pooling', 'pooling_param { pool: MAX kernel_size: 2 stride: 2 pad: 1 }'));
      await checkInt8(
        net,
        { data: s },
        ['pool'],
        (batch) => ({ data: data(50 * batch, 43) }),
        (x, batch) => ({
          pool: Float32Array.from(layerOn(net.withBatchSize(batch), 'pool', [Float64Array.from(x.data, (v) => quantize(v, s))])[0], (q) =>
            f32(q * s),
          ),
        }),
      );
    });

    // AVE: v = float(sum) / float(n), n = Caffe's pool size; |v| <= 127 always, so AVE itself never
    // saturates: the saturated values come from the Quantize before it.
    const aveCases = [
      {
        name: 'AVE 2x2 stride 2 pad 1 on 4x4 (n = 4, padding counted)',
        dims: [2, 4, 4],
        param: 'kernel_size: 2 stride: 2 pad: 1',
        seed: 47,
      },
      { name: 'AVE 2x2 stride 2 on 5x5 (ceil edge windows: n = 2 and 1)', dims: [2, 5, 5], param: 'kernel_size: 2 stride: 2', seed: 53 },
    ];
    for (const c of aveCases) {
      it(`${c.name}, int8 output: q = saturate(float(sum) / float(n))`, async () => {
        const net = await network(
          { data: c.dims },
          L('pool', 'Pooling', `pooling_param { pool: AVE ${c.param} }`) + L('flat', 'Flatten', '', 'pool'),
        );
        const n = count(c.dims);
        const inputs = (batch: number) => ({ data: data(n * batch, c.seed) });
        // The reference divides the exact integer sum by n in double; rounding that to float32 is the
        // float32 division (double rounding of a quotient of float32 values is harmless).
        const v = (x: Float32Array, batch: number) =>
          Float64Array.from(layerOn(net.withBatchSize(batch), 'pool', [Float64Array.from(x, (e) => quantize(e, s))])[0], f32);
        const vs = [...v(inputs(3).data, 3)];
        assert.ok(vs.some(isTie), 'test bug: no average is a tie');
        assert.ok(
          [...inputs(3).data].some((e) => Math.abs(e / s) > 127.5),
          'test bug: no input saturates',
        );
        await checkInt8(net, { data: s }, ['pool', 'flat'], inputs, (x, batch) => ({
          flat: Float32Array.from(v(x.data, batch), (e) => f32(saturate(e) * s)),
        }));
      });
      it(`${c.name}, float output: y = (float(sum) / float(n)) * s_x, not rounded to an integer`, async () => {
        const net = await network({ data: c.dims }, L('pool', 'Pooling', `pooling_param { pool: AVE ${c.param} }`));
        const n = count(c.dims);
        await checkInt8(
          net,
          { data: s },
          ['pool'],
          (batch) => ({ data: data(n * batch, c.seed + 1) }),
          (x, batch) => ({
            pool: Float32Array.from(layerOn(net.withBatchSize(batch), 'pool', [Float64Array.from(x.data, (e) => quantize(e, s))])[0], (e) =>
              f32(f32(e) * s),
            ),
          }),
        );
      });
    }
  });

  describe('Eltwise SUM', () => {
    // s_a 0.5, s_b 0.25, s_y 1, coefficients (1, 3): C = (0.5, 0.75).
    //   q_a = 1, q_b = 4: 0.5 + 3 = 3.5 -> 4 (tie); q_a = 127, q_b = 127: 158.75 -> 127 (saturation).
    const sa = 0.5;
    const sb = 0.25;
    const firstA = [1, 127, 7, -3, 5, -9, 2, 11].map((q) => q * sa);
    const firstB = [4, 127, -2, 2, -1, 6, 2, -30].map((q) => q * sb);
    const inputs = (batch: number) => ({
      a: withFirst(firstA, batch, (n) => grid(n, 59, sa, -127, 127, 0)),
      b: withFirst(firstB, batch, (n) => grid(n, 61, sb, -127, 127, 0)),
    });
    const sums = (x: Record<string, Float32Array>, C: number[]) =>
      [...x.a].map((va, i) => fmaf(quantize(x.b[i], sb), C[1], fmaf(quantize(va, sa), C[0], 0)));

    it('int8 output: acc = fma(q_b, C_b, fma(q_a, C_a, 0)), C_i = float32(coeff_i s_i / s_y)', async () => {
      const net = await network(
        { a: [2, 2, 2], b: [2, 2, 2] },
        L('sum', 'Eltwise', 'eltwise_param { operation: SUM coeff: 1 coeff: 3 }', ['a', 'b']) + L('flat', 'Flatten', '', 'sum'),
      );
      const C = [f32((1 * sa) / 1), f32((3 * sb) / 1)];
      assertCoverage('the sum', sums(inputs(3), C));
      await checkInt8(net, { a: sa, b: sb, sum: 1 }, ['sum', 'flat'], inputs, (x) => ({
        flat: Float32Array.from(sums(x, C), (v) => f32(saturate(v) * 1)),
      }));
    });

    it('int8 output with a fused leaky ReLU (slope 0.25)', async () => {
      const net = await network(
        { a: [2, 2, 2], b: [2, 2, 2] },
        L('sum', 'Eltwise', 'eltwise_param { coeff: 1 coeff: 3 }', ['a', 'b']) +
          L('relu', 'ReLU', 'relu_param { negative_slope: 0.25 }', 'sum', 'r') +
          L('flat', 'Flatten', '', 'r'),
      );
      const graph = planExecGraph(net, { precision: 'int8', maxBatchSize: MAX_BATCH, int8Scales: { a: sa, b: sb, r: 0.5 } });
      assert.deepEqual(graph.nodes.find((n) => n.name === 'sum')?.activation, { type: 'ReLU', negativeSlope: 0.25 }, 'the ReLU is fused');
      const C = [f32(sa / 0.5), f32((3 * sb) / 0.5)];
      const relu = (v: number) => (v > 0 ? v : f32(v * 0.25));
      const vs = sums(inputs(3), C).map(relu);
      assertCoverage('the sum with ReLU', vs);
      assert.ok(
        vs.some((v) => v < 0 && isTie(v)),
        'test bug: no tie on the slope side',
      );
      await checkInt8(net, { a: sa, b: sb, r: 0.5 }, ['sum', 'flat'], inputs, (x) => ({
        flat: Float32Array.from(sums(x, C).map(relu), (v) => f32(saturate(v) * 0.5)),
      }));
    });

    it('float output: C_i = float32(coeff_i s_i), y = acc', async () => {
      const net = await network({ a: [2, 2, 2], b: [2, 2, 2] }, L('sum', 'Eltwise', 'eltwise_param { coeff: 1 coeff: -0.3 }', ['a', 'b']));
      const s1 = f32(0.1);
      const s2 = f32(0.3);
      const C = [f32(1 * s1), f32(f32(-0.3) * s2)];
      const x = (batch: number) => ({ a: grid(8 * batch, 67, s1, -140, 140, 0.4), b: grid(8 * batch, 71, s2, -140, 140, 0.4) });
      const fsum = (v: Record<string, Float32Array>) =>
        [...v.a].map((va, i) => fmaf(quantize(v.b[i], s2), C[1], fmaf(quantize(va, s1), C[0], 0)));
      assertCoverage(
        'Quantize',
        [...x(3).a].map((v) => f32(v / s1)),
      );
      await checkInt8(net, { a: 0.1, b: 0.3, sum: 1 }, ['sum'], x, (v) => ({ sum: Float32Array.from(fsum(v)) }));
    });
  });

  describe('Concat', () => {
    const sa = 0.5;
    const inputs = (batch: number) => ({
      a: grid(4 * batch, 73, sa, -127, 127, 0),
      b: withFirst(
        [5, 7, -3, -1, 2, 9, 11, -13].map((q) => q * 0.25),
        batch,
        (n) => grid(n, 79, 0.25, -127, 127, 0),
      ),
      c: withFirst([100, -64, 63, 1], batch, (n) => grid(n, 83, 1, -200, 200, 0)),
    });
    /** Every input quantized at the concat's scale s and dequantized, joined along channels. */
    const atScale = (x: Record<string, Float32Array>, batch: number, s: number) => {
      const out: number[] = [];
      for (let n = 0; n < batch; n++) {
        for (const [name, per] of [
          ['a', 4],
          ['b', 8],
          ['c', 4],
        ] as const) {
          for (let i = 0; i < per; i++) out.push(f32(quantize(x[name][n * per + i], s) * s));
        }
      }
      return Float32Array.from(out);
    };

    it("the inputs take the concat's scale (TensorRT's rule), so the concat copies", async () => {
      const net = await network(
        { a: [1, 2, 2], b: [2, 2, 2], c: [1, 2, 2] },
        L('cat', 'Concat', '', ['a', 'b', 'c']) + L('flat', 'Flatten', '', 'cat'),
      );
      assertCoverage(
        'the quantization at the concat scale',
        [...inputs(3).b, ...inputs(3).c].map((v) => f32(v / sa)),
      );
      await checkInt8(net, { a: sa, b: 0.25, c: 1, cat: sa }, ['cat', 'flat'], inputs, (x, batch) => ({ flat: atScale(x, batch, sa) }));
    });

    it("float output: y = float(q_i) * s_i, every input at the concat's scale", async () => {
      const net = await network({ a: [1, 2, 2], b: [2, 2, 2], c: [1, 2, 2] }, L('cat', 'Concat', '', ['a', 'b', 'c']));
      await checkInt8(net, { a: sa, b: 0.25, c: 1, cat: sa }, ['cat'], inputs, (x, batch) => ({ cat: atScale(x, batch, sa) }));
    });

    it("a tensor two concats read keeps the first one's scale; the second requantizes it: saturate(float(q) * float32(s / s_y))", async () => {
      // a feeds cat1 (scale 0.3, so a takes 0.3) and cat2 (scale 0.7): cat2 requantizes a with
      // R = float32(0.3 / 0.7), not a power of two; b and c take their concat's scale.
      const net = await network(
        { a: [2, 2, 2], b: [1, 2, 2], c: [1, 2, 2] },
        L('cat1', 'Concat', '', ['a', 'b']) +
          L('flat1', 'Flatten', '', 'cat1') +
          L('cat2', 'Concat', '', ['a', 'c']) +
          L('flat2', 'Flatten', '', 'cat2'),
      );
      const s1 = f32(0.3);
      const s2 = f32(0.7);
      const R = f32(s1 / s2);
      const x = (batch: number) => ({
        a: grid(8 * batch, 89, s1, -130, 130),
        b: grid(4 * batch, 97, s1, -130, 130),
        c: grid(4 * batch, 101, s2, -130, 130),
      });
      assertCoverage(
        'the quantization of a',
        [...x(3).a].map((v) => f32(v / s1)),
      );
      await checkInt8(net, { a: 0.1, b: 0.2, c: 0.5, cat1: 0.3, cat2: 0.7 }, ['cat1', 'flat1', 'cat2', 'flat2'], x, (v, batch) => {
        const flat1: number[] = [];
        const flat2: number[] = [];
        for (let n = 0; n < batch; n++) {
          for (let i = 0; i < 8; i++) flat1.push(f32(quantize(v.a[n * 8 + i], s1) * s1));
          for (let i = 0; i < 4; i++) flat1.push(f32(quantize(v.b[n * 4 + i], s1) * s1));
          for (let i = 0; i < 8; i++) flat2.push(f32(saturate(f32(quantize(v.a[n * 8 + i], s1) * R)) * s2));
          for (let i = 0; i < 4; i++) flat2.push(f32(quantize(v.c[n * 4 + i], s2) * s2));
        }
        return { flat1: Float32Array.from(flat1), flat2: Float32Array.from(flat2) };
      });
    });
  });

  describe('ReLU', () => {
    const s = 0.5;
    // q_x = -5: -7.5 -> -8; -3: -4.5 -> -4 (ties); -100: -150 -> -127 (saturation).
    const first = [-5, -3, -100, 7, -1, 0.5, 127, -127].map((q) => q * s);
    const inputs = (batch: number) => ({ data: withFirst(first, batch, (n) => grid(n, 103, s, -127, 127, 0)) });

    it('leaky (slope 1.5), int8 output: q = q_x > 0 ? q_x : saturate(float(q_x) * slope)', async () => {
      const net = await network(
        { data: [2, 2, 2] },
        L('relu', 'ReLU', 'relu_param { negative_slope: 1.5 }', 'data', 'r') + L('flat', 'Flatten', '', 'r'),
      );
      const relu = (q: number) => (q > 0 ? q : f32(q * 1.5));
      assertCoverage(
        'the ReLU',
        [...inputs(3).data].map((v) => relu(quantize(v, s))),
      );
      assert.deepEqual(
        first.map((v) => saturate(relu(quantize(v, s)))),
        [-8, -4, -127, 7, -2, 0, 127, -127],
      );
      await checkInt8(net, { data: s }, ['relu', 'flat'], inputs, (x) => ({
        flat: Float32Array.from(x.data, (v) => f32(saturate(relu(quantize(v, s))) * s)),
      }));
    });

    it('plain, float output: y = float(max(q_x, 0)) * s', async () => {
      const net = await network({ data: [2, 2, 2] }, L('relu', 'ReLU', '', 'data', 'r'));
      await checkInt8(net, { data: s }, ['relu'], inputs, (x) => ({
        r: Float32Array.from(x.data, (v) => f32(Math.max(quantize(v, s), 0) * s)),
      }));
    });
  });
  // LRN (docs/int8.md): ACROSS_CHANNELS sums the integer squares exactly, scale = k + float32(
  // float32(alpha / size) * float32(s_x^2)) * S; int8 out saturate((q * float32(s_x / s_y)) * f),
  // float out (q * s_x) * f. WITHIN_CHANNEL: x = float32(q * s_x); the float32 LRN; int8 out
  // saturate(float32(y / s_y)). pow is the platform's, so the test allows what the document
  // allows: floats within a few ulp, int8 values within one step (and nearly all exact).
  describe('LRN', () => {
    const sx = 0.25;
    const sy = f32(0.01);
    const dims = [6, 3, 3];
    const plane = 9;
    const inputs = (batch: number) => ({ data: grid(6 * plane * batch, 107, sx, -127, 127, 0.3) });
    /**
     * float32 emulation of the INT8 LRN (docs/int8.md): `y` as a float output stores it, and `p`,
     * the value an int8 output saturates.
     */
    const lrn = (x: Float32Array, batch: number, across: boolean): { y: number[]; p: number[] } => {
      const qs = [...x].map((v) => quantize(v, sx));
      const q = qs.map((v) => f32(v * sx));
      const y: number[] = [];
      const p: number[] = [];
      for (let n = 0; n < batch; n++) {
        for (let c = 0; c < 6; c++) {
          for (let i = 0; i < plane; i++) {
            const at = (cc: number, ii: number) => q[(n * 6 + cc) * plane + ii];
            let sum = 0;
            let scale: number;
            if (across) {
              const qat = (cc: number) => qs[(n * 6 + cc) * plane + i];
              for (let j = Math.max(0, c - 2); j <= Math.min(5, c + 2); j++) sum += qat(j) * qat(j);
              scale = f32(1.5 + f32(f32(f32(2 / 5) * f32(sx * sx)) * sum));
              const f = f32(Math.pow(scale, -0.75));
              y.push(f32(f32(qat(c) * sx) * f));
              p.push(f32(f32(qat(c) * f32(sx / sy)) * f));
              continue;
            } else {
              const h = Math.floor(i / 3),
                w = i % 3;
              for (let y = Math.max(0, h - 1); y <= Math.min(2, h + 1); y++) {
                for (let z = Math.max(0, w - 1); z <= Math.min(2, w + 1); z++) sum = f32(sum + f32(at(c, y * 3 + z) * at(c, y * 3 + z)));
              }
              scale = f32(1 + f32(2 * f32(sum / 9)));
            }
            y.push(f32(at(c, i) * f32(Math.pow(scale, -0.75))));
            p.push(f32(y[y.length - 1] / sy));
          }
        }
      }
      return { y, p };
    };
    const cases = [
      { name: 'ACROSS_CHANNELS size 5', param: 'lrn_param { local_size: 5 alpha: 2 beta: 0.75 k: 1.5 }', across: true },
      {
        name: 'WITHIN_CHANNEL size 3',
        param: 'lrn_param { local_size: 3 alpha: 2 beta: 0.75 norm_region: WITHIN_CHANNEL }',
        across: false,
      },
    ];
    for (const c of cases) {
      it(`${c.name}: runs in INT8; int8 output within one step of docs/int8.md's value, float output y`, async () => {
        const net = await network({ data: dims }, L('lrn', 'LRN', c.param, 'data', 'n') + L('flat', 'Flatten', '', 'n'));
        const scales = { data: sx, n: sy };
        const graph = planExecGraph(net, { precision: 'int8', maxBatchSize: MAX_BATCH, int8Scales: scales });
        assert.deepEqual(
          graph.nodes.filter((n) => n.precision === 'int8' && n.op !== 'Quantize').map((n) => n.name),
          ['lrn', 'flat'],
        );
        const engine = await new Builder({ backend: 'cpu' }).build(net, { precision: 'int8', maxBatchSize: MAX_BATCH, int8Scales: scales });
        const plain = await network({ data: dims }, L('lrn', 'LRN', c.param, 'data', 'n'));
        const floatOut = await new Builder({ backend: 'cpu' }).build(plain, {
          precision: 'int8',
          maxBatchSize: MAX_BATCH,
          int8Scales: scales,
        });
        try {
          const x = inputs(MAX_BATCH);
          const { y, p } = lrn(x.data, MAX_BATCH, c.across);
          const wantQ = p.map(saturate);
          assert.ok(wantQ.some((q) => Math.abs(q) === 127) || wantQ.some((q) => Math.abs(q) > 20), 'test bug: outputs too small');
          const gotQ = [...(await engine.createContext().infer(x)).flat].map((v) => Math.round(v / sy));
          const off = gotQ.filter((q, i) => q !== wantQ[i]).length;
          assert.ok(
            gotQ.every((q, i) => Math.abs(q - wantQ[i]) <= 1),
            'int8 within one step',
          );
          assert.ok(off <= gotQ.length / 50, `${off} of ${gotQ.length} int8 values differ by a step`);
          const gotF = (await floatOut.createContext().infer(x)).n;
          const worst = Math.max(...y.map((v, i) => Math.abs(gotF[i] - v) / Math.max(Math.abs(v), 1e-30)));
          assert.ok(worst < 1e-6, `float output: relative error ${worst}`);
        } finally {
          engine.dispose();
          floatOut.dispose();
        }
      });
    }
  });
});
