/**
 * The op cases: one tiny network per case (prototxt text with seeded random weights), shared by
 * the cpu backend's tests against the float64 reference (test/unit/cpu_ops.test.ts) and the cuda
 * backend's tests against the cpu backend (test/gpu/cuda_ops.test.ts).
 */
import * as path from 'path';
import { Network } from '../../lib';
import { caffeSchema, Message, writeCaffemodel } from '../../lib/caffe';
import type { Shape } from '../../lib/network';
import { randomIndices, randomInput, SeededRandom } from './reference';

/** The batch every engine of a case is built for; every case also runs at batch 1. */
export const MAX_BATCH = 3;
export const BATCHES = [1, 3];

// ---------------------------------------------------------------------------------------------
// float16, written here from IEEE 754 binary16 (not from native/core/numeric.h)

/** binary16 bits of the float16 value nearest to float32(x), ties to even; overflow to infinity. */
export function float16Bits(x: number): number {
  const f = Math.fround(x);
  if (Number.isNaN(f)) return 0x7e00;
  const sign = f < 0 || Object.is(f, -0) ? 0x8000 : 0;
  const a = Math.abs(f);
  if (a === 0) return sign;
  if (a === Infinity) return sign | 0x7c00;
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  if (2 ** (e + 1) <= a) e++;
  // Quantum of the binade (subnormals share the quantum of the smallest normal binade).
  const quantum = 2 ** (Math.max(e, -14) - 10);
  const scaled = a / quantum;
  const fl = Math.floor(scaled);
  const rest = scaled - fl;
  const m = rest > 0.5 || (rest === 0.5 && fl % 2 === 1) ? fl + 1 : fl;
  const v = m * quantum;
  if (v > 65504) return sign | 0x7c00;
  if (v < 2 ** -14) return sign | m;
  let E = Math.floor(Math.log2(v));
  if (2 ** E > v) E--;
  if (2 ** (E + 1) <= v) E++;
  return sign | ((E + 15) << 10) | (v / 2 ** (E - 10) - 1024);
}

/** The value of binary16 bits. */
export function float16Value(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  if (exp === 0) return sign * mant * 2 ** -24;
  return sign * (1024 + mant) * 2 ** (exp - 25);
}

/** True when v is a float32 value that is also a float16 value. */
export function isFloat16(v: number): boolean {
  return Math.fround(v) === v && Object.is(float16Value(float16Bits(v)), v);
}

// ---------------------------------------------------------------------------------------------
// Cases

/** One tiny network. */
export interface OpCase {
  readonly type: string;
  readonly name: string;
  /** Layers after the inputs. */
  readonly body: string;
  /** Per-image input shapes (the batch is prepended), by input name; default { data: [3, 6, 6] }. */
  readonly inputs?: Readonly<Record<string, readonly number[]>>;
  /** Input values: n values for input `name` (default uniform [-1, 1), never zero). */
  readonly gen?: (n: number, seed: number, name: string) => Float32Array;
  /** Replaces random blobs (through a .caffemodel), by layer name, from the layer's blob shapes. */
  readonly blobs?: Readonly<Record<string, (shapes: readonly Shape[]) => Float32Array[]>>;
  /** A GEMM network: also run in tf32. */
  readonly gemm?: boolean;
  /**
   * False where fp16 rounding may change discrete decisions (which boxes NMS keeps from scores a
   * conv and softmax computed), so fp16 is not compared with the float64 reference; the test says so.
   */
  readonly fp16?: boolean;
}

export const cases: OpCase[] = [];

/** Adds cases of one layer type. */
function add(type: string, list: ReadonlyArray<Omit<OpCase, 'type'>>): void {
  for (const c of list) cases.push({ type, ...c });
}

/** A layer's text: bottoms default to `data`, top to the layer name. */
export function L(
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

export const uniform = (lo: number, hi: number) => (n: number, seed: number) => randomInput(n, seed, lo, hi);

/** Distinct values (a shuffled ladder of multiples of 1/16), exact in float16: no ties anywhere. */
function distinct(n: number, seed: number): Float32Array {
  const rng = new SeededRandom(seed);
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(0, i + 1);
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return Float32Array.from(idx, (k) => (k - Math.floor(n / 2) + 0.5) / 16);
}

/** Uniform in [-1, 1) but at least `gap` away from `t` (discontinuities must not flip on rounding). */
function awayFrom(t: number, gap: number) {
  return (n: number, seed: number): Float32Array => {
    const x = randomInput(n, seed);
    for (let i = 0; i < n; i++) if (Math.abs(x[i] - t) < gap) x[i] = Math.fround(x[i] >= t ? t + gap : t - gap);
    return x;
  };
}

// Convolution: weights [C_out, C_in / group, k...]; out = floor((in + 2 pad - (d (k - 1) + 1)) / s) + 1.
add('Convolution', [
  {
    name: '3x3, pad 1, stride 1, bias',
    body: L('conv', 'Convolution', 'convolution_param { num_output: 4 kernel_size: 3 pad: 1 }'),
    inputs: { data: [3, 7, 7] },
    gemm: true,
  },
  {
    name: 'odd sizes: kernel 3x2, stride 2x3, pad 1x0 on 9x11',
    inputs: { data: [3, 9, 11] },
    gemm: true,
    body: L('conv', 'Convolution', 'convolution_param { num_output: 5 kernel_h: 3 kernel_w: 2 stride_h: 2 stride_w: 3 pad_h: 1 pad_w: 0 }'),
  },
  {
    name: 'groups: 4 -> 6 channels in 2 groups, stride 2',
    inputs: { data: [4, 6, 5] },
    gemm: true,
    body: L('conv', 'Convolution', 'convolution_param { num_output: 6 group: 2 kernel_size: 3 pad: 1 stride: 2 }'),
  },
  {
    name: 'depthwise (group = channels)',
    inputs: { data: [4, 6, 6] },
    gemm: true,
    body: L('conv', 'Convolution', 'convolution_param { num_output: 4 group: 4 kernel_size: 3 }'),
  },
  {
    name: 'dilation 2 with pad 2',
    inputs: { data: [3, 9, 8] },
    gemm: true,
    body: L('conv', 'Convolution', 'convolution_param { num_output: 4 kernel_size: 3 dilation: 2 pad: 2 }'),
  },
  {
    name: 'dilation per axis (1, 3), stride 2',
    inputs: { data: [2, 8, 9] },
    gemm: true,
    body: L('conv', 'Convolution', 'convolution_param { num_output: 3 kernel_size: 3 dilation: 1 dilation: 3 pad: 1 stride: 2 }'),
  },
  {
    name: '1x1 without bias',
    inputs: { data: [5, 4, 3] },
    gemm: true,
    body: L('conv', 'Convolution', 'convolution_param { num_output: 3 kernel_size: 1 bias_term: false }'),
  },
  {
    name: 'stride larger than the kernel (1x1, stride 3)',
    inputs: { data: [3, 7, 8] },
    gemm: true,
    body: L('conv', 'Convolution', 'convolution_param { num_output: 2 kernel_size: 1 stride: 3 }'),
  },
  {
    name: 'pad larger than the kernel (outputs in the padding are the bias)',
    inputs: { data: [2, 4, 5] },
    gemm: true,
    body: L('conv', 'Convolution', 'convolution_param { num_output: 3 kernel_size: 2 pad: 3 }'),
  },
  {
    name: 'N-D: 3-D kernel 3x2x3, stride (2, 1, 2), pad (1, 0, 1)',
    inputs: { data: [2, 5, 4, 6] },
    gemm: true,
    body: L(
      'conv',
      'Convolution',
      'convolution_param { num_output: 3 kernel_size: 3 kernel_size: 2 kernel_size: 3 ' +
        'stride: 2 stride: 1 stride: 2 pad: 1 pad: 0 pad: 1 }',
    ),
  },
  {
    name: 'N-D: 1-D convolution',
    inputs: { data: [3, 10] },
    gemm: true,
    body: L('conv', 'Convolution', 'convolution_param { num_output: 4 kernel_size: 3 stride: 2 pad: 1 }'),
  },
  {
    name: 'two bottoms, two tops, shared weights',
    inputs: { a: [3, 5, 5], b: [3, 5, 5] },
    gemm: true,
    body: L('conv', 'Convolution', 'convolution_param { num_output: 2 kernel_size: 3 pad: 1 }', ['a', 'b'], ['ca', 'cb']),
  },
]);

// Deconvolution: weights [C_in, C_out / group, k...]; out = s (in - 1) + d (k - 1) + 1 - 2 pad.
add('Deconvolution', [
  {
    name: 'kernel 4, stride 2, pad 1 (2x upsampling)',
    inputs: { data: [3, 5, 5] },
    gemm: true,
    body: L('deconv', 'Deconvolution', 'convolution_param { num_output: 4 kernel_size: 4 stride: 2 pad: 1 }'),
  },
  {
    name: 'groups, odd sizes: kernel 3x2, stride 2x3, pad 1x0',
    inputs: { data: [4, 5, 7] },
    gemm: true,
    body: L(
      'deconv',
      'Deconvolution',
      'convolution_param { num_output: 6 group: 2 kernel_h: 3 kernel_w: 2 stride_h: 2 stride_w: 3 pad_h: 1 pad_w: 0 }',
    ),
  },
  {
    name: 'dilation 2, no bias',
    inputs: { data: [2, 4, 4] },
    gemm: true,
    body: L('deconv', 'Deconvolution', 'convolution_param { num_output: 3 kernel_size: 3 dilation: 2 bias_term: false }'),
  },
  {
    name: '1x1, stride 1',
    inputs: { data: [5, 3, 3] },
    gemm: true,
    body: L('deconv', 'Deconvolution', 'convolution_param { num_output: 2 kernel_size: 1 }'),
  },
  {
    name: 'N-D: 3-D kernel 2, stride 2',
    inputs: { data: [2, 3, 3, 4] },
    gemm: true,
    body: L('deconv', 'Deconvolution', 'convolution_param { num_output: 2 kernel_size: 2 stride: 2 }'),
  },
]);

// Pooling: out = ceil((in + 2 pad - k) / s) + 1 (floor with FLOOR), the last window dropped when it
// would start in the padding; MAX over the window clipped to the input; AVE divides by the window
// clipped to the padded input.
add('Pooling', [
  {
    name: 'MAX 3x3 stride 2, ceil-mode edge window (8 -> 4)',
    inputs: { data: [3, 8, 8] },
    body: L('pool', 'Pooling', 'pooling_param { pool: MAX kernel_size: 3 stride: 2 }'),
  },
  {
    name: 'MAX with padding 1 (padding never wins, even over negative values)',
    inputs: { data: [2, 7, 6] },
    body: L('pool', 'Pooling', 'pooling_param { pool: MAX kernel_size: 3 stride: 2 pad: 1 }'),
    gen: uniform(-2, -0.5),
  },
  {
    name: 'MAX 2x2 stride 2 pad 1 on 5x5: the window starting in the padding is dropped',
    inputs: { data: [2, 5, 5] },
    body: L('pool', 'Pooling', 'pooling_param { pool: MAX kernel_size: 2 stride: 2 pad: 1 }'),
  },
  {
    name: 'AVE 3x3 stride 2 pad 1 on 6x6: pool size counts padding, but not past it',
    inputs: { data: [3, 6, 6] },
    body: L('pool', 'Pooling', 'pooling_param { pool: AVE kernel_size: 3 stride: 2 pad: 1 }'),
  },
  {
    name: 'AVE without padding: ceil-mode edge windows divide by the clipped size',
    inputs: { data: [3, 8, 8] },
    body: L('pool', 'Pooling', 'pooling_param { pool: AVE kernel_size: 3 stride: 2 }'),
  },
  {
    name: 'AVE 2x2 stride 2 pad 1 on 5x5: the window starting in the padding is dropped',
    inputs: { data: [2, 5, 5] },
    body: L('pool', 'Pooling', 'pooling_param { pool: AVE kernel_size: 2 stride: 2 pad: 1 }'),
  },
  {
    name: 'MAX kernel 3x2, stride 2x1, pad 1x0',
    inputs: { data: [2, 7, 5] },
    body: L('pool', 'Pooling', 'pooling_param { pool: MAX kernel_h: 3 kernel_w: 2 stride_h: 2 stride_w: 1 pad_h: 1 pad_w: 0 }'),
  },
  {
    name: 'AVE kernel 3x2, stride 2x1, pad 1x0',
    inputs: { data: [2, 7, 5] },
    body: L('pool', 'Pooling', 'pooling_param { pool: AVE kernel_h: 3 kernel_w: 2 stride_h: 2 stride_w: 1 pad_h: 1 pad_w: 0 }'),
  },
  {
    name: 'MAX, padding on one axis clips the other axis too (kernel 2, stride 3, pad_h 1)',
    inputs: { data: [2, 5, 6] },
    body: L('pool', 'Pooling', 'pooling_param { pool: MAX kernel_size: 2 stride: 3 pad_h: 1 pad_w: 0 }'),
  },
  {
    name: 'AVE, padding on one axis clips the other axis too (kernel 2, stride 3, pad_h 1)',
    inputs: { data: [2, 5, 6] },
    body: L('pool', 'Pooling', 'pooling_param { pool: AVE kernel_size: 2 stride: 3 pad_h: 1 pad_w: 0 }'),
  },
  {
    name: 'MAX, round_mode FLOOR (8 -> 3)',
    inputs: { data: [2, 8, 8] },
    body: L('pool', 'Pooling', 'pooling_param { pool: MAX kernel_size: 3 stride: 2 round_mode: FLOOR }'),
  },
  {
    name: 'AVE, round_mode FLOOR with padding',
    inputs: { data: [2, 7, 7] },
    body: L('pool', 'Pooling', 'pooling_param { pool: AVE kernel_size: 3 stride: 2 pad: 1 round_mode: FLOOR }'),
  },
  {
    name: 'global MAX on 5x7',
    inputs: { data: [4, 5, 7] },
    body: L('pool', 'Pooling', 'pooling_param { pool: MAX global_pooling: true }'),
  },
  {
    name: 'global AVE on 5x7',
    inputs: { data: [4, 5, 7] },
    body: L('pool', 'Pooling', 'pooling_param { pool: AVE global_pooling: true }'),
  },
  {
    name: 'STOCHASTIC (test phase: sum x^2 / sum x) on positive inputs',
    inputs: { data: [2, 7, 7] },
    gen: uniform(0.1, 1),
    body: L('pool', 'Pooling', 'pooling_param { pool: STOCHASTIC kernel_size: 3 stride: 2 }'),
  },
  {
    name: 'MAX with the argmax mask as second top',
    inputs: { data: [2, 7, 7] },
    body: L('pool', 'Pooling', 'pooling_param { pool: MAX kernel_size: 3 stride: 2 pad: 1 }', 'data', ['pool', 'mask']),
  },
]);

// LRN: across channels y = x (k + alpha / n Σ x²)^-beta; within channel y = x (1 + alpha avg(x²))^-beta.
add('LRN', [
  {
    name: 'ACROSS_CHANNELS size 5 on 7 channels (clipped at the channel borders)',
    inputs: { data: [7, 3, 4] },
    gen: uniform(-2, 2),
    body: L('lrn', 'LRN', 'lrn_param { local_size: 5 alpha: 2 beta: 0.75 k: 1.5 }'),
  },
  {
    name: 'ACROSS_CHANNELS size 5 on 3 channels (window wider than the channels)',
    inputs: { data: [3, 4, 4] },
    gen: uniform(-2, 2),
    body: L('lrn', 'LRN', 'lrn_param { local_size: 5 alpha: 1 beta: 0.5 k: 2 }'),
  },
  {
    name: 'ACROSS_CHANNELS size 3, AlexNet constants',
    inputs: { data: [6, 5, 5] },
    gen: uniform(-40, 40),
    body: L('lrn', 'LRN', 'lrn_param { local_size: 3 alpha: 0.0001 beta: 0.75 }'),
  },
  {
    name: 'ACROSS_CHANNELS size 9, beta 1.25 on 20 channels (a 16-channel group and a partial one)',
    inputs: { data: [20, 3, 3] },
    gen: uniform(-3, 3),
    body: L('lrn', 'LRN', 'lrn_param { local_size: 9 alpha: 0.5 beta: 1.25 k: 0.5 }'),
  },
  {
    name: 'WITHIN_CHANNEL size 3: Caffe ignores k (shift 1)',
    inputs: { data: [2, 6, 5] },
    gen: uniform(-2, 2),
    body: L('lrn', 'LRN', 'lrn_param { local_size: 3 alpha: 2 beta: 0.75 k: 5 norm_region: WITHIN_CHANNEL }'),
  },
  {
    name: 'WITHIN_CHANNEL size 5 on a 3x4 plane (window wider than the plane)',
    inputs: { data: [2, 3, 4] },
    gen: uniform(-2, 2),
    body: L('lrn', 'LRN', 'lrn_param { local_size: 5 alpha: 1.5 beta: 0.6 norm_region: WITHIN_CHANNEL }'),
  },
]);

add('ReLU', [
  { name: 'plain', body: L('relu', 'ReLU') },
  {
    name: 'leaky, negative_slope 0.1, odd shape',
    inputs: { data: [3, 5, 7] },
    body: L('relu', 'ReLU', 'relu_param { negative_slope: 0.1 }'),
  },
  { name: '2-D input, in place', inputs: { data: [10] }, body: L('relu', 'ReLU', 'relu_param { negative_slope: -0.3 }', 'data', 'data') },
]);
add('PReLU', [
  { name: 'a slope per channel', inputs: { data: [4, 5, 5] }, body: L('prelu', 'PReLU') },
  { name: 'channel_shared', inputs: { data: [3, 4, 5] }, body: L('prelu', 'PReLU', 'prelu_param { channel_shared: true }') },
  { name: '2-D input (N, C)', inputs: { data: [6] }, body: L('prelu', 'PReLU') },
]);
add('ELU', [
  { name: 'alpha 1', gen: uniform(-3, 3), body: L('elu', 'ELU') },
  { name: 'alpha 0.4', gen: uniform(-3, 3), body: L('elu', 'ELU', 'elu_param { alpha: 0.4 }') },
]);
add('Sigmoid', [{ name: 'on [-6, 6)', gen: uniform(-6, 6), body: L('sig', 'Sigmoid') }]);
add('TanH', [{ name: 'on [-4, 4)', gen: uniform(-4, 4), body: L('tanh', 'TanH') }]);
add('AbsVal', [{ name: 'odd shape', inputs: { data: [3, 5, 7] }, body: L('abs', 'AbsVal') }]);
add('Power', [
  { name: 'power 2, scale 0.5, shift 1', body: L('pow', 'Power', 'power_param { power: 2 scale: 0.5 shift: 1 }') },
  { name: 'power 0.5 (square root), shift 2', body: L('pow', 'Power', 'power_param { power: 0.5 shift: 2 }') },
  { name: 'power 3, scale -1.5, shift 0.25', body: L('pow', 'Power', 'power_param { power: 3 scale: -1.5 shift: 0.25 }') },
  { name: 'power -1.5, scale 0.5, shift 2', body: L('pow', 'Power', 'power_param { power: -1.5 scale: 0.5 shift: 2 }') },
  { name: 'defaults (identity)', body: L('pow', 'Power') },
  { name: 'power 0: every value is 1', body: L('pow', 'Power', 'power_param { power: 0 scale: 3 shift: 2 }') },
  { name: 'scale 0: every value is shift^power', body: L('pow', 'Power', 'power_param { power: 3 scale: 0 shift: 1.5 }') },
]);
add('BNLL', [{ name: 'on [-8, 8) (both branches)', gen: uniform(-8, 8), body: L('bnll', 'BNLL') }]);
add('Exp', [
  { name: 'base e', gen: uniform(-3, 3), body: L('exp', 'Exp') },
  { name: 'base 2, scale 1.5, shift -0.5', gen: uniform(-3, 3), body: L('exp', 'Exp', 'exp_param { base: 2 scale: 1.5 shift: -0.5 }') },
  { name: 'base e with shift 0.7 and scale -2', body: L('exp', 'Exp', 'exp_param { scale: -2 shift: 0.7 }') },
]);
add('Log', [
  { name: 'base e, shift 2', body: L('log', 'Log', 'log_param { shift: 2 }') },
  { name: 'base 10, scale 0.5, shift 1.5', body: L('log', 'Log', 'log_param { base: 10 scale: 0.5 shift: 1.5 }') },
  { name: 'base 2 on positive inputs', gen: uniform(0.05, 4), body: L('log', 'Log', 'log_param { base: 2 }') },
]);
add('Threshold', [
  { name: 'threshold 0.2', gen: awayFrom(0.2, 0.01), body: L('th', 'Threshold', 'threshold_param { threshold: 0.2 }') },
  { name: 'threshold 0 (default)', gen: awayFrom(0, 0.01), body: L('th', 'Threshold') },
]);
add('Clip', [{ name: 'min -0.5, max 0.3', body: L('clip', 'Clip', 'clip_param { min: -0.5 max: 0.3 }') }]);
add('Swish', [
  { name: 'beta 1', gen: uniform(-4, 4), body: L('swish', 'Swish') },
  { name: 'beta 2.5', gen: uniform(-4, 4), body: L('swish', 'Swish', 'swish_param { beta: 2.5 }') },
]);

// InnerProduct: M = count(0, axis), K = count(axis), out = x W^T + b (W [N, K]; [K, N] with transpose).
add('InnerProduct', [
  {
    name: '4-D input, axis 1',
    inputs: { data: [3, 5, 4] },
    gemm: true,
    body: L('ip', 'InnerProduct', 'inner_product_param { num_output: 7 }'),
  },
  {
    name: 'axis 2 (a row per (n, c))',
    inputs: { data: [4, 5, 6] },
    gemm: true,
    body: L('ip', 'InnerProduct', 'inner_product_param { num_output: 3 axis: 2 }'),
  },
  {
    name: 'transpose (weights [K, N])',
    inputs: { data: [2, 3, 3] },
    gemm: true,
    body: L('ip', 'InnerProduct', 'inner_product_param { num_output: 5 transpose: true }'),
  },
  {
    name: 'no bias, a single output',
    inputs: { data: [11] },
    gemm: true,
    body: L('ip', 'InnerProduct', 'inner_product_param { num_output: 1 bias_term: false }'),
  },
  {
    name: 'K = 300 (long dot products)',
    inputs: { data: [12, 5, 5] },
    gemm: true,
    body: L('ip', 'InnerProduct', 'inner_product_param { num_output: 10 }'),
  },
]);

add('Softmax', [
  { name: 'axis 1 on 4-D (per position)', gen: uniform(-3, 3), inputs: { data: [5, 3, 4] }, body: L('prob', 'Softmax') },
  { name: 'axis 3', gen: uniform(-3, 3), inputs: { data: [2, 3, 6] }, body: L('prob', 'Softmax', 'softmax_param { axis: 3 }') },
  { name: 'axis -2', gen: uniform(-3, 3), inputs: { data: [2, 5, 3] }, body: L('prob', 'Softmax', 'softmax_param { axis: -2 }') },
  { name: '2-D with large values (shifted by the max)', gen: uniform(-40, 40), inputs: { data: [10] }, body: L('prob', 'Softmax') },
  // The cuda backend's block kernel (a classifier at a small batch) and, past its 2048 channels, the warp kernel.
  { name: '1000 classes (one block per image)', gen: uniform(-20, 20), inputs: { data: [1000] }, body: L('prob', 'Softmax') },
  { name: '2500 classes on [C, 1, 1]', gen: uniform(-20, 20), inputs: { data: [2500, 1, 1] }, body: L('prob', 'Softmax') },
]);

add('Dropout', [
  {
    name: 'separate top, read by the next layer',
    body: L('tanh', 'TanH') + L('drop', 'Dropout', 'dropout_param { dropout_ratio: 0.3 }', 'tanh') + L('sig', 'Sigmoid', '', 'drop'),
  },
  { name: 'in place, as the network output', body: L('tanh', 'TanH') + L('drop', 'Dropout', '', 'tanh', 'tanh') },
]);

add('Concat', [
  { name: 'axis 1, three inputs', inputs: { a: [2, 4, 5], b: [3, 4, 5], c: [1, 4, 5] }, body: L('cat', 'Concat', '', ['a', 'b', 'c']) },
  { name: 'axis 2', inputs: { a: [2, 3, 5], b: [2, 4, 5] }, body: L('cat', 'Concat', 'concat_param { axis: 2 }', ['a', 'b']) },
  { name: 'axis 3 (-1)', inputs: { a: [2, 3, 2], b: [2, 3, 5] }, body: L('cat', 'Concat', 'concat_param { axis: -1 }', ['a', 'b']) },
  { name: 'the same tensor twice', inputs: { a: [2, 3, 3] }, body: L('cat', 'Concat', '', ['a', 'a']) },
  {
    name: 'legacy concat_dim 1 on 2-D inputs',
    inputs: { a: [3], b: [4] },
    body: L('cat', 'Concat', 'concat_param { concat_dim: 1 }', ['a', 'b']),
  },
]);

add('Eltwise', [
  { name: 'PROD of two', inputs: { a: [3, 4, 5], b: [3, 4, 5] }, body: L('e', 'Eltwise', 'eltwise_param { operation: PROD }', ['a', 'b']) },
  {
    name: 'PROD of three',
    inputs: { a: [2, 3, 3], b: [2, 3, 3], c: [2, 3, 3] },
    body: L('e', 'Eltwise', 'eltwise_param { operation: PROD }', ['a', 'b', 'c']),
  },
  { name: 'SUM (default)', inputs: { a: [3, 4, 5], b: [3, 4, 5] }, body: L('e', 'Eltwise', '', ['a', 'b']) },
  {
    name: 'SUM with coefficients (1, -0.5, 2)',
    inputs: { a: [2, 3, 5], b: [2, 3, 5], c: [2, 3, 5] },
    body: L('e', 'Eltwise', 'eltwise_param { operation: SUM coeff: 1 coeff: -0.5 coeff: 2 }', ['a', 'b', 'c']),
  },
  {
    name: 'MAX of three',
    inputs: { a: [2, 3, 5], b: [2, 3, 5], c: [2, 3, 5] },
    body: L('e', 'Eltwise', 'eltwise_param { operation: MAX }', ['a', 'b', 'c']),
  },
]);

/** BatchNorm blobs mean, variance, factor: statistics accumulated with moving-average factor `f`. */
export function bnBlobs(f: number, seed: number) {
  return (shapes: readonly Shape[]): Float32Array[] => {
    const c = shapes[0][0];
    const mean = randomInput(c, seed, -0.5, 0.5).map((v) => v * f);
    const variance = randomInput(c, seed + 1, 0.3, 2).map((v) => v * f);
    return [mean, variance, Float32Array.of(f)];
  };
}

add('BatchNorm', [
  { name: 'global statistics, factor 1 (random weights)', inputs: { data: [4, 5, 5] }, body: L('bn', 'BatchNorm') },
  {
    name: 'moving-average factor 999.982 (statistics divided by it), eps 0.001',
    inputs: { data: [3, 4, 5] },
    blobs: { bn: bnBlobs(999.982, 11) },
    body: L('bn', 'BatchNorm', 'batch_norm_param { eps: 0.001 }'),
  },
  { name: 'moving-average factor 0.25', inputs: { data: [3, 4, 5] }, blobs: { bn: bnBlobs(0.25, 12) }, body: L('bn', 'BatchNorm') },
  {
    name: 'moving-average factor 0: mean and variance count as 0',
    inputs: { data: [3, 4, 5] },
    blobs: { bn: (s) => [randomInput(s[0][0], 5), randomInput(s[0][0], 6, 0.5, 1), Float32Array.of(0)] },
    body: L('bn', 'BatchNorm', 'batch_norm_param { eps: 0.01 }'),
  },
  { name: '2-D input (N, C), in place', inputs: { data: [6] }, body: L('bn', 'BatchNorm', '', 'data', 'data') },
]);

add('Scale', [
  { name: 'per channel with bias', inputs: { data: [4, 3, 5] }, body: L('sc', 'Scale', 'scale_param { bias_term: true }') },
  { name: 'per channel without bias', inputs: { data: [4, 3, 5] }, body: L('sc', 'Scale') },
  {
    name: 'axis 1, num_axes 2 (a scale per (c, h))',
    inputs: { data: [3, 4, 5] },
    body: L('sc', 'Scale', 'scale_param { num_axes: 2 bias_term: true }'),
  },
  {
    name: 'axis 2, num_axes 1 (a scale per row)',
    inputs: { data: [3, 4, 5] },
    body: L('sc', 'Scale', 'scale_param { axis: 2 num_axes: 1 }'),
  },
  { name: 'num_axes 0 (one scalar)', inputs: { data: [3, 4, 5] }, body: L('sc', 'Scale', 'scale_param { num_axes: 0 bias_term: true }') },
  { name: 'num_axes -1 (every value its own scale)', inputs: { data: [2, 3, 4] }, body: L('sc', 'Scale', 'scale_param { num_axes: -1 }') },
  {
    name: 'scale from a second bottom (axis 0, [N, C])',
    inputs: { data: [4, 3, 5], s: [4] },
    body: L('sc', 'Scale', 'scale_param { axis: 0 }', ['data', 's']),
  },
]);

add('Bias', [
  { name: 'per channel', inputs: { data: [4, 3, 5] }, body: L('b', 'Bias') },
  { name: 'axis 2, num_axes 2', inputs: { data: [2, 3, 4] }, body: L('b', 'Bias', 'bias_param { axis: 2 num_axes: 2 }') },
  {
    name: 'from a second bottom (axis 0, [N, C])',
    inputs: { data: [4, 3, 5], offsets: [4] },
    body: L('b', 'Bias', 'bias_param { axis: 0 }', ['data', 'offsets']),
  },
]);

add('Flatten', [
  {
    name: 'default (axis 1 to the end), then a GEMM-free reader',
    inputs: { data: [3, 4, 5] },
    body: L('flat', 'Flatten') + L('sig', 'Sigmoid', '', 'flat'),
  },
  { name: 'axis 2, end_axis 3', inputs: { data: [2, 3, 4] }, body: L('flat', 'Flatten', 'flatten_param { axis: 2 end_axis: 3 }') },
  {
    name: 'axis 1, end_axis 2',
    inputs: { data: [2, 3, 4] },
    body: L('flat', 'Flatten', 'flatten_param { axis: 1 end_axis: 2 }') + L('sm', 'Softmax', '', 'flat'),
  },
]);

add('Reshape', [
  {
    name: 'shape (0, -1)',
    inputs: { data: [3, 4, 5] },
    body: L('r', 'Reshape', 'reshape_param { shape { dim: 0 dim: -1 } }') + L('sm', 'Softmax', '', 'r'),
  },
  {
    name: 'shape (0, 2, -1, 3) from (6, 4, 3)',
    inputs: { data: [6, 4, 3] },
    body:
      L('r', 'Reshape', 'reshape_param { shape { dim: 0 dim: 2 dim: -1 dim: 3 } }') + L('sm', 'Softmax', 'softmax_param { axis: 2 }', 'r'),
  },
  {
    name: 'axis 1, num_axes 1: channels 6 -> (2, 3)',
    inputs: { data: [6, 2, 2] },
    body: L('r', 'Reshape', 'reshape_param { shape { dim: 2 dim: 3 } axis: 1 num_axes: 1 }') + L('sm', 'Softmax', '', 'r'),
  },
]);

add('Split', [
  {
    name: 'two readers of one split',
    inputs: { data: [2, 3, 4] },
    body: L('split', 'Split', '', 'data', ['s1', 's2']) + L('t', 'TanH', '', 's1') + L('s', 'Sigmoid', '', 's2'),
  },
]);

add('Slice', [
  {
    name: 'axis 1 at points (1, 3)',
    inputs: { data: [5, 3, 4] },
    body: L('sl', 'Slice', 'slice_param { slice_point: 1 slice_point: 3 }', 'data', ['p', 'q', 'r']),
  },
  {
    name: 'axis 2 in equal parts',
    inputs: { data: [2, 6, 3] },
    body: L('sl', 'Slice', 'slice_param { axis: 2 }', 'data', ['p', 'q', 'r']),
  },
  {
    name: 'axis 3 at point 2',
    inputs: { data: [2, 3, 5] },
    body: L('sl', 'Slice', 'slice_param { axis: 3 slice_point: 2 }', 'data', ['p', 'q']),
  },
  { name: 'legacy slice_dim 1', inputs: { data: [4, 2, 2] }, body: L('sl', 'Slice', 'slice_param { slice_dim: 1 }', 'data', ['p', 'q']) },
]);

add('Crop', [
  {
    name: 'axis 2, offsets (1, 2)',
    inputs: { data: [3, 7, 8], ref: [1, 4, 5] },
    body: L('crop', 'Crop', 'crop_param { axis: 2 offset: 1 offset: 2 }', ['data', 'ref']),
  },
  {
    name: 'axis 1, one offset for every axis',
    inputs: { data: [4, 6, 6], ref: [2, 3, 3] },
    body: L('crop', 'Crop', 'crop_param { axis: 1 offset: 1 }', ['data', 'ref']),
  },
  { name: 'default axis 2, offset 0', inputs: { data: [2, 5, 5], ref: [2, 3, 4] }, body: L('crop', 'Crop', '', ['data', 'ref']) },
]);

add('ArgMax', [
  { name: 'top_k 1 over each image', gen: distinct, inputs: { data: [3, 4, 5] }, body: L('am', 'ArgMax') },
  {
    name: 'top_k 3 with out_max_val',
    gen: distinct,
    inputs: { data: [3, 4, 5] },
    body: L('am', 'ArgMax', 'argmax_param { top_k: 3 out_max_val: true }'),
  },
  { name: 'axis 1', gen: distinct, inputs: { data: [5, 3, 4] }, body: L('am', 'ArgMax', 'argmax_param { axis: 1 }') },
  {
    name: 'axis 1, top_k 2, out_max_val (values)',
    gen: distinct,
    inputs: { data: [5, 3, 4] },
    body: L('am', 'ArgMax', 'argmax_param { axis: 1 top_k: 2 out_max_val: true }'),
  },
  { name: 'axis 3, top_k 2', gen: distinct, inputs: { data: [2, 3, 6] }, body: L('am', 'ArgMax', 'argmax_param { axis: 3 top_k: 2 }') },
]);

add('MVN', [
  { name: 'default: per channel, normalize variance', inputs: { data: [3, 4, 5] }, body: L('mvn', 'MVN') },
  { name: 'across channels', inputs: { data: [3, 4, 5] }, body: L('mvn', 'MVN', 'mvn_param { across_channels: true }') },
  { name: 'mean only', inputs: { data: [3, 4, 5] }, body: L('mvn', 'MVN', 'mvn_param { normalize_variance: false }') },
  { name: 'eps 0.5: added after the square root', inputs: { data: [3, 4, 5] }, body: L('mvn', 'MVN', 'mvn_param { eps: 0.5 }') },
]);

add('Tile', [
  { name: 'axis 1, tiles 3', inputs: { data: [2, 3, 4] }, body: L('tile', 'Tile', 'tile_param { tiles: 3 }') },
  { name: 'axis 3, tiles 2', inputs: { data: [2, 3, 4] }, body: L('tile', 'Tile', 'tile_param { axis: 3 tiles: 2 }') },
  { name: 'axis 2 (block of rows)', inputs: { data: [2, 3, 4] }, body: L('tile', 'Tile', 'tile_param { axis: 2 tiles: 4 }') },
]);

add('ShuffleChannel', [
  {
    name: 'group 3 of 6 channels',
    inputs: { data: [6, 3, 5] },
    body: L('shuffle', 'ShuffleChannel', 'shuffle_channel_param { group: 3 }'),
  },
  {
    name: 'group 2, one pixel (C = 10)',
    inputs: { data: [10, 1, 1] },
    body: L('shuffle', 'ShuffleChannel', 'shuffle_channel_param { group: 2 }'),
  },
  { name: 'group 1 (a copy)', inputs: { data: [4, 3, 3] }, body: L('shuffle', 'ShuffleChannel') },
  {
    name: 'group = C (a transpose of one row)',
    inputs: { data: [8, 2, 7] },
    body: L('shuffle', 'ShuffleChannel', 'shuffle_channel_param { group: 8 }'),
  },
]);

add('Permute', [
  {
    name: 'order 0 2 3 1 (NCHW to NHWC, as SSD heads)',
    inputs: { data: [3, 4, 5] },
    body: L('perm', 'Permute', 'permute_param { order: 0 order: 2 order: 3 order: 1 }'),
  },
  {
    name: 'order 0 3 1 2',
    inputs: { data: [2, 3, 7] },
    body: L('perm', 'Permute', 'permute_param { order: 0 order: 3 order: 1 order: 2 }'),
  },
  {
    name: 'partial order 0 2 (the rest follow: 0 2 1 3)',
    inputs: { data: [3, 5, 2] },
    body: L('perm', 'Permute', 'permute_param { order: 0 order: 2 }'),
  },
  { name: '3-D order 0 2 1', inputs: { data: [6, 5] }, body: L('perm', 'Permute', 'permute_param { order: 0 order: 2 order: 1 }') },
  {
    name: 'identity order',
    inputs: { data: [2, 3, 3] },
    body: L('perm', 'Permute', 'permute_param { order: 0 order: 1 order: 2 order: 3 }'),
  },
]);

add('Normalize', [
  {
    name: 'per position, a scale per channel (SSD conv4_3_norm)',
    inputs: { data: [5, 4, 3] },
    body: L('norm', 'Normalize', 'norm_param { across_spatial: false channel_shared: false }'),
  },
  { name: 'per position, shared scale', inputs: { data: [3, 5, 5] }, body: L('norm', 'Normalize', 'norm_param { across_spatial: false }') },
  { name: 'across spatial, shared scale (the defaults)', inputs: { data: [3, 4, 6] }, body: L('norm', 'Normalize') },
  {
    name: 'across spatial, a scale per channel, eps 0.5',
    inputs: { data: [4, 3, 3] },
    body: L('norm', 'Normalize', 'norm_param { channel_shared: false eps: 0.5 }'),
  },
]);

/** A PriorBox over feature map `feature` and the 'image' input. */
const prior = (param: string) => L('prior', 'PriorBox', `prior_box_param { ${param} }`, ['feature', 'image']);
add('PriorBox', [
  {
    name: 'min and max size, aspect ratio 2 with flip (SSD conv4_3)',
    inputs: { feature: [2, 5, 4], image: [3, 40, 32] },
    body: prior('min_size: 6 max_size: 13 aspect_ratio: 2 variance: 0.1 variance: 0.1 variance: 0.2 variance: 0.2'),
  },
  {
    name: 'two min sizes (truncated), ratios 2 and 3 without flip, clip, one variance',
    inputs: { feature: [1, 3, 3], image: [3, 30, 30] },
    body: prior('min_size: 7.6 min_size: 15 aspect_ratio: 2 aspect_ratio: 3 aspect_ratio: 2 flip: false clip: true variance: 0.2'),
  },
  {
    name: 'img_h / img_w and step_h / step_w given, offset 0',
    inputs: { feature: [2, 4, 6], image: [3, 9, 9] },
    body: prior('min_size: 10 max_size: 20 img_h: 48 img_w: 64 step_h: 12 step_w: 10 offset: 0'),
  },
  {
    name: 'no step: image / map as a float (300 / 19)',
    inputs: { feature: [1, 19, 19], image: [1, 300, 300] },
    body: prior('min_size: 60 aspect_ratio: 2'),
  },
]);

/**
 * DetectionOutput inputs: loc multiples of 1/64 in [-0.5, 0.5), scores distinct multiples of
 * 1/1024 (exact in float16, no ties), and the same prior boxes (multiples of 1/256) for every image.
 */
function detectionInputs(priors: number) {
  return (n: number, seed: number, name: string): Float32Array => {
    const rng = new SeededRandom(seed);
    if (name === 'loc') return Float32Array.from({ length: n }, () => (rng.int(0, 64) - 32) / 64);
    if (name === 'conf') {
      const ks = Array.from({ length: n }, (_, i) => i + 1);
      for (let i = n - 1; i > 0; i--) {
        const j = rng.int(0, i + 1);
        [ks[i], ks[j]] = [ks[j], ks[i]];
      }
      return Float32Array.from(ks, (k) => k / (n + 1 <= 1024 ? 1024 : 2 ** Math.ceil(Math.log2(n + 1))));
    }
    const one = new Float32Array(2 * priors * 4);
    const box = new SeededRandom(99);
    for (let p = 0; p < priors; p++) {
      const cx = box.int(16, 240) / 256;
      const cy = box.int(16, 240) / 256;
      const w = box.int(12, 100) / 256;
      const h = box.int(12, 100) / 256;
      one.set([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], p * 4);
      one.set([0.125, 0.125, 0.25, 0.25], (priors + p) * 4);
    }
    const out = new Float32Array(n);
    for (let i = 0; i < n; i += one.length) out.set(one, i);
    return out;
  };
}

/** A DetectionOutput case over `priors` priors and `classes` classes. */
function detection(name: string, priors: number, classes: number, locClasses: number, param: string): Omit<OpCase, 'type'> {
  return {
    name,
    inputs: { loc: [priors * locClasses * 4], conf: [priors * classes], prior: [2, priors * 4] },
    gen: detectionInputs(priors),
    body: L('det', 'DetectionOutput', `detection_output_param { num_classes: ${classes} ${param} }`, ['loc', 'conf', 'prior']),
  };
}
add('DetectionOutput', [
  detection(
    'CENTER_SIZE, shared locations, top_k and keep_top_k cut',
    40,
    4,
    1,
    'nms_param { nms_threshold: 0.45 top_k: 10 } code_type: CENTER_SIZE keep_top_k: 12 confidence_threshold: 0.3',
  ),
  detection(
    'CORNER, a location per class, no background, no limits',
    24,
    3,
    3,
    'share_location: false background_label_id: -1 nms_param { nms_threshold: 0.3 } confidence_threshold: 0.1',
  ),
  detection(
    'CORNER_SIZE, variances in the target, background 1, eta 0.8',
    30,
    3,
    1,
    'background_label_id: 1 nms_param { nms_threshold: 0.7 eta: 0.8 } code_type: CORNER_SIZE variance_encoded_in_target: true keep_top_k: 20',
  ),
  detection(
    "OpenCV's clip, no confidence threshold, NMS threshold 0",
    20,
    2,
    1,
    'nms_param { nms_threshold: 0 top_k: 8 } code_type: CENTER_SIZE clip: true',
  ),
  detection('nothing above the threshold: padding rows only', 10, 3, 1, 'code_type: CENTER_SIZE keep_top_k: 5 confidence_threshold: 2'),
]);

/** A two-scale SSD: heads on a 10x10 and a 5x5 map, priors, softmax over 3 classes, detections. */
function miniSsd(): string {
  const head = (src: string, priors: number) =>
    L(`${src}_loc`, 'Convolution', `convolution_param { num_output: ${priors * 4} kernel_size: 3 pad: 1 }`, src) +
    L(`${src}_loc_perm`, 'Permute', 'permute_param { order: 0 order: 2 order: 3 order: 1 }', `${src}_loc`) +
    L(`${src}_loc_flat`, 'Flatten', '', `${src}_loc_perm`) +
    L(`${src}_conf`, 'Convolution', `convolution_param { num_output: ${priors * 3} kernel_size: 3 pad: 1 }`, src) +
    L(`${src}_conf_perm`, 'Permute', 'permute_param { order: 0 order: 2 order: 3 order: 1 }', `${src}_conf`) +
    L(`${src}_conf_flat`, 'Flatten', '', `${src}_conf_perm`);
  return (
    L('f1', 'Convolution', 'convolution_param { num_output: 6 kernel_size: 3 pad: 1 }') +
    L(
      'f1_norm',
      'Normalize',
      'norm_param { across_spatial: false channel_shared: false scale_filler { type: "constant" value: 20 } }',
      'f1',
    ) +
    L('f2', 'Pooling', 'pooling_param { pool: MAX kernel_size: 2 stride: 2 }', 'f1') +
    head('f1_norm', 4) +
    head('f2', 6) +
    L(
      'f1_prior',
      'PriorBox',
      'prior_box_param { min_size: 4 max_size: 8 aspect_ratio: 2 variance: 0.1 variance: 0.1 variance: 0.2 variance: 0.2 }',
      ['f1_norm', 'data'],
    ) +
    L(
      'f2_prior',
      'PriorBox',
      'prior_box_param { min_size: 8 max_size: 12 aspect_ratio: 2 aspect_ratio: 3 variance: 0.1 variance: 0.1 variance: 0.2 variance: 0.2 }',
      ['f2', 'data'],
    ) +
    L('loc', 'Concat', '', ['f1_norm_loc_flat', 'f2_loc_flat']) +
    L('conf', 'Concat', '', ['f1_norm_conf_flat', 'f2_conf_flat']) +
    L('priors', 'Concat', 'concat_param { axis: 2 }', ['f1_prior', 'f2_prior']) +
    L('conf_shape', 'Reshape', 'reshape_param { shape { dim: 0 dim: -1 dim: 3 } }', 'conf') +
    L('conf_prob', 'Softmax', 'softmax_param { axis: 2 }', 'conf_shape') +
    L('conf_flat', 'Flatten', '', 'conf_prob') +
    L(
      'det',
      'DetectionOutput',
      'detection_output_param { num_classes: 3 nms_param { nms_threshold: 0.45 top_k: 30 } code_type: CENTER_SIZE keep_top_k: 25 confidence_threshold: 0.34 }',
      ['loc', 'conf_flat', 'priors'],
    )
  );
}
add('SSD head', [
  {
    name: 'two scales: Normalize, PriorBox, Permute, Flatten, Concat, Softmax, DetectionOutput',
    inputs: { data: [3, 10, 10] },
    body: miniSsd(),
    fp16: false,
  },
]);

add('Upsample', [
  { name: 'nearest, scale 2 (YOLOv3)', inputs: { data: [3, 4, 5] }, body: L('up', 'Upsample', 'upsample_param { scale: 2 }') },
  {
    name: 'nearest, scale_h 3 scale_w 2',
    inputs: { data: [2, 3, 4] },
    body: L('up', 'Upsample', 'upsample_param { scale_h: 3 scale_w: 2 }'),
  },
  {
    name: 'nearest to a size (7 x 9 from 3 x 4)',
    inputs: { data: [2, 3, 4] },
    body: L('up', 'Upsample', 'upsample_param { upsample_h: 7 upsample_w: 9 }'),
  },
  {
    name: 'max unpooling with the mask of MAX pooling (SegNet), odd size (pad_out)',
    inputs: { data: [3, 7, 9] },
    gen: uniform(-2, 2),
    body:
      L('pool', 'Pooling', 'pooling_param { pool: MAX kernel_size: 2 stride: 2 }', 'data', ['pool', 'mask']) +
      L('up', 'Upsample', 'upsample_param { scale: 2 pad_out_h: true pad_out_w: true }', ['pool', 'mask']),
  },
  {
    name: 'max unpooling, overlapping windows (kernel 3 stride 2)',
    inputs: { data: [2, 9, 9] },
    gen: uniform(-2, 2),
    body:
      L('pool', 'Pooling', 'pooling_param { pool: MAX kernel_size: 3 stride: 2 }', 'data', ['pool', 'mask']) +
      L('up', 'Upsample', 'upsample_param { upsample_h: 9 upsample_w: 9 }', ['pool', 'mask']),
  },
]);

add('Interp', [
  { name: 'to a size (9 x 13 from 4 x 5)', inputs: { data: [3, 4, 5] }, body: L('ip', 'Interp', 'interp_param { height: 9 width: 13 }') },
  { name: 'zoom_factor 3', inputs: { data: [2, 4, 3] }, body: L('ip', 'Interp', 'interp_param { zoom_factor: 3 }') },
  { name: 'shrink_factor 2 (downsampling)', inputs: { data: [2, 9, 8] }, body: L('ip', 'Interp', 'interp_param { shrink_factor: 2 }') },
  {
    name: 'crop with pad_beg / pad_end, then zoom 2',
    inputs: { data: [2, 8, 8] },
    body: L('ip', 'Interp', 'interp_param { zoom_factor: 2 pad_beg: -1 pad_end: -2 }'),
  },
  { name: 'to one pixel (a ratio of 0)', inputs: { data: [2, 5, 4] }, body: L('ip', 'Interp', 'interp_param { height: 1 width: 1 }') },
]);

add('Reduction', [
  { name: 'SUM over axis 1 (per image)', inputs: { data: [3, 4, 5] }, body: L('red', 'Reduction', 'reduction_param { axis: 1 }') },
  { name: 'ASUM over axis 2', inputs: { data: [3, 4, 5] }, body: L('red', 'Reduction', 'reduction_param { operation: ASUM axis: 2 }') },
  {
    name: 'SUMSQ over axis 1, coeff 0.5',
    inputs: { data: [3, 4, 5] },
    body: L('red', 'Reduction', 'reduction_param { operation: SUMSQ axis: 1 coeff: 0.5 }'),
  },
  {
    name: 'MEAN over axis 3, coeff -2',
    inputs: { data: [3, 4, 5] },
    body: L('red', 'Reduction', 'reduction_param { operation: MEAN axis: 3 coeff: -2 }'),
  },
]);

add('Embed', [
  {
    name: 'with bias, indices in [0, 7)',
    inputs: { data: [5] },
    gen: (n, seed) => randomIndices(n, seed, 0, 7),
    body: L('emb', 'Embed', 'embed_param { num_output: 4 input_dim: 7 }'),
  },
  {
    name: 'without bias, 2-D indices',
    inputs: { data: [2, 3] },
    gen: (n, seed) => randomIndices(n, seed, 0, 9),
    body: L('emb', 'Embed', 'embed_param { num_output: 3 input_dim: 9 bias_term: false }'),
  },
]);

/** Networks that exist to be folded and fused with optimize: true (and must give the same numbers). */
export const fusionCases: OpCase[] = [
  {
    type: 'Fusion',
    name: 'Convolution -> BatchNorm -> Scale (bias) -> ReLU, in place',
    inputs: { data: [3, 6, 6] },
    gemm: true,
    body:
      L('conv', 'Convolution', 'convolution_param { num_output: 4 kernel_size: 3 pad: 1 }', 'data', 'conv') +
      L('bn', 'BatchNorm', '', 'conv', 'conv') +
      L('sc', 'Scale', 'scale_param { bias_term: true }', 'conv', 'conv') +
      L('relu', 'ReLU', '', 'conv', 'conv'),
  },
  {
    type: 'Fusion',
    name: 'Convolution (no bias) -> BatchNorm (factor 999.982) -> Scale -> leaky ReLU',
    inputs: { data: [3, 5, 5] },
    gemm: true,
    blobs: { bn: bnBlobs(999.982, 21) },
    body:
      L('conv', 'Convolution', 'convolution_param { num_output: 4 kernel_size: 3 stride: 2 bias_term: false }', 'data', 'c') +
      L('bn', 'BatchNorm', 'batch_norm_param { eps: 0.001 }', 'c', 'b') +
      L('sc', 'Scale', 'scale_param { bias_term: true }', 'b', 's') +
      L('relu', 'ReLU', 'relu_param { negative_slope: 0.2 }', 's', 'r'),
  },
  {
    type: 'Fusion',
    name: 'grouped Convolution -> Bias -> ReLU',
    inputs: { data: [4, 5, 5] },
    gemm: true,
    body:
      L('conv', 'Convolution', 'convolution_param { num_output: 6 group: 2 kernel_size: 3 bias_term: false }', 'data', 'c') +
      L('b', 'Bias', '', 'c', 'c') +
      L('relu', 'ReLU', '', 'c', 'c'),
  },
  {
    type: 'Fusion',
    name: 'InnerProduct -> BatchNorm -> Scale -> ReLU',
    inputs: { data: [3, 4, 4] },
    gemm: true,
    body:
      L('ip', 'InnerProduct', 'inner_product_param { num_output: 6 }', 'data', 'ip') +
      L('bn', 'BatchNorm', '', 'ip', 'ip') +
      L('sc', 'Scale', 'scale_param { bias_term: true }', 'ip', 'ip') +
      L('relu', 'ReLU', '', 'ip', 'ip'),
  },
  {
    type: 'Fusion',
    name: 'Deconvolution -> Scale -> ReLU',
    inputs: { data: [3, 4, 4] },
    gemm: true,
    body:
      L('deconv', 'Deconvolution', 'convolution_param { num_output: 2 kernel_size: 4 stride: 2 pad: 1 }', 'data', 'd') +
      L('sc', 'Scale', 'scale_param { bias_term: true }', 'd', 'd') +
      L('relu', 'ReLU', '', 'd', 'd'),
  },
  {
    type: 'Fusion',
    name: 'Eltwise SUM -> ReLU',
    inputs: { a: [3, 4, 4], b: [3, 4, 4] },
    body: L('sum', 'Eltwise', 'eltwise_param { coeff: 1 coeff: -1.5 }', ['a', 'b'], 'sum') + L('relu', 'ReLU', '', 'sum', 'sum'),
  },
  {
    type: 'Fusion',
    name: 'BatchNorm output read twice: folded, ReLU not fused',
    inputs: { data: [3, 5, 5] },
    gemm: true,
    body:
      L('conv', 'Convolution', 'convolution_param { num_output: 4 kernel_size: 3 }', 'data', 'c') +
      L('bn', 'BatchNorm', '', 'c', 'b') +
      L('relu', 'ReLU', '', 'b', 'r') +
      L('sig', 'Sigmoid', '', 'b', 's'),
  },
  {
    type: 'Fusion',
    name: 'Convolution output is also a network output: nothing folds',
    inputs: { data: [3, 5, 5] },
    gemm: true,
    body:
      L('conv', 'Convolution', 'convolution_param { num_output: 4 kernel_size: 3 }', 'data', 'c') +
      L('sc', 'Scale', 'scale_param { bias_term: true }', 'c', 's') +
      L('split', 'Split', '', 'c', ['c1']),
  },
  {
    type: 'Fusion',
    name: 'Scale over (C, H) after a convolution: not per channel, not folded',
    inputs: { data: [3, 5, 5] },
    gemm: true,
    body:
      L('conv', 'Convolution', 'convolution_param { num_output: 4 kernel_size: 3 }', 'data', 'c') +
      L('sc', 'Scale', 'scale_param { num_axes: 2 }', 'c', 's') +
      L('relu', 'ReLU', '', 's', 's'),
  },
  {
    type: 'Fusion',
    name: 'small CNN: conv/BN/Scale/ReLU, MAX pool, LRN, InnerProduct/ReLU, Dropout, InnerProduct, Softmax',
    inputs: { data: [3, 12, 12] },
    gemm: true,
    body:
      L('conv1', 'Convolution', 'convolution_param { num_output: 8 kernel_size: 5 stride: 1 pad: 2 }', 'data', 'conv1') +
      L('bn1', 'BatchNorm', '', 'conv1', 'conv1') +
      L('sc1', 'Scale', 'scale_param { bias_term: true }', 'conv1', 'conv1') +
      L('relu1', 'ReLU', '', 'conv1', 'conv1') +
      L('pool1', 'Pooling', 'pooling_param { pool: MAX kernel_size: 3 stride: 2 }', 'conv1', 'pool1') +
      L('norm1', 'LRN', 'lrn_param { local_size: 5 alpha: 0.0001 beta: 0.75 }', 'pool1', 'norm1') +
      L('conv2', 'Convolution', 'convolution_param { num_output: 6 kernel_size: 3 group: 2 pad: 1 }', 'norm1', 'conv2') +
      L('relu2', 'ReLU', '', 'conv2', 'conv2') +
      L('pool2', 'Pooling', 'pooling_param { pool: AVE kernel_size: 3 stride: 2 pad: 1 }', 'conv2', 'pool2') +
      L('fc1', 'InnerProduct', 'inner_product_param { num_output: 16 }', 'pool2', 'fc1') +
      L('relu3', 'ReLU', '', 'fc1', 'fc1') +
      L('drop', 'Dropout', '', 'fc1', 'fc1') +
      L('fc2', 'InnerProduct', 'inner_product_param { num_output: 5 }', 'fc1', 'fc2') +
      L('prob', 'Softmax', '', 'fc2', 'prob'),
  },
];

// ---------------------------------------------------------------------------------------------
// Running a case

export function prototxt(c: OpCase): string {
  const shapes = c.inputs ?? { data: [3, 6, 6] };
  const inputs = Object.entries(shapes).map(
    ([name, dims]) =>
      `layer { name: "input_${name}" type: "Input" top: "${name}" input_param { shape { ${[MAX_BATCH, ...dims].map((d) => `dim: ${d}`).join(' ')} } } }\n`,
  );
  return `name: "${c.type.toLowerCase()}"\n${inputs.join('')}${c.body}`;
}

let modelCount = 0;

/** The case's network: seeded random weights, with `c.blobs` replacing some through a .caffemodel. */
export async function networkOf(c: OpCase, tmpDir: string): Promise<Network> {
  const text = prototxt(c);
  const random = await Network.parse(text, { seed: 7, file: `${c.type}.prototxt` });
  if (c.blobs === undefined) return random;
  const layers = random.layers
    .filter((l) => l.blobs.length > 0)
    .map((l) => {
      const make = c.blobs?.[l.name];
      const data = make !== undefined ? make(l.blobs) : random.weights(l.name);
      const param = new Message(caffeSchema, caffeSchema.message('LayerParameter'));
      param.set('name', l.name);
      param.set('type', l.type);
      return { param, blobs: l.blobs.map((shape, i) => ({ shape: [...shape], data: data[i] })) };
    });
  const header = new Message(caffeSchema, caffeSchema.message('NetParameter'));
  header.set('name', c.type);
  const file = path.join(tmpDir, `model${modelCount++}.caffemodel`);
  await writeCaffemodel(file, header, layers);
  return Network.parse(text, { weights: file, file: `${c.type}.prototxt` });
}
