/**
 * Float64 reference implementations of every IR layer type, written from Caffe's documented
 * semantics (the layer sources of BVLC Caffe), not from our C++: the oracle the cpu backend is
 * tested against (DESIGN.md, "One oracle").
 *
 * Everything works on Float64Array in row-major order with the batch first (NCHW for images).
 * `referenceForward` runs a whole Network layer by layer at the network's own batch size and
 * returns every tensor by IR name.
 */
import type { AnyLayer, Layer, Network, Shape } from '../../lib/network';
import { detectionOutput, interp, normalize, permute, priorBox, upsample } from './reference_detection';
import { proposal, psroiPooling, roiPooling } from './reference_roi';

/** Elements of `shape` from axis `from` (inclusive) to `to` (exclusive). */
export function count(shape: Shape, from = 0, to = shape.length): number {
  let n = 1;
  for (let i = from; i < to; i++) n *= shape[i];
  return n;
}

// ---------------------------------------------------------------------------------------------
// Error measures and test data

/**
 * Relative L2 error ||actual - expected|| / ||expected||. A NaN or infinity anywhere that the
 * expected value does not have gives Infinity; an all-zero expectation gives 0 when actual is all
 * zero too and Infinity otherwise.
 */
export function relError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) {
    throw new Error(`relError: ${actual.length} values against ${expected.length} expected`);
  }
  let num = 0;
  let den = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (!Number.isFinite(a) || !Number.isFinite(e)) {
      if (Object.is(a, e)) continue;
      return Infinity;
    }
    num += (a - e) * (a - e);
    den += e * e;
  }
  if (den === 0) return num === 0 ? 0 : Infinity;
  return Math.sqrt(num) / Math.sqrt(den);
}

/** max |actual - expected| (Infinity where only one side is non-finite). */
export function maxAbsError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) {
    throw new Error(`maxAbsError: ${actual.length} values against ${expected.length} expected`);
  }
  let m = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (!Number.isFinite(a) || !Number.isFinite(e)) {
      if (Object.is(a, e)) continue;
      return Infinity;
    }
    m = Math.max(m, Math.abs(a - e));
  }
  return m;
}

/** xorshift32 stream in [0, 1). */
export class SeededRandom {
  private x: number;

  constructor(seed: number) {
    this.x = seed >>> 0 || 0x2545f491;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let x = this.x;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.x = x >>> 0;
    return this.x / 4294967296;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Integer in [lo, hi). */
  int(lo: number, hi: number): number {
    return lo + Math.floor((hi - lo) * this.next());
  }
}

/**
 * `n` seeded random float32 values uniform in [lo, hi) (default [-1, 1)), never zero: a value
 * that would round to zero is replaced by one just inside the range, so that layers whose result
 * hides a zero input (ReLU, products) still see real data.
 */
export function randomInput(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const rng = new SeededRandom(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v = Math.fround(rng.uniform(lo, hi));
    if (v === 0) v = Math.fround(lo + (hi - lo) * 0.5 + (hi - lo) * 1e-3);
    if (v === 0) v = Math.fround((hi - lo) * 1e-3);
    out[i] = v;
  }
  return out;
}

/** `n` seeded random integers in [lo, hi) as float32 (indices for Embed). */
export function randomIndices(n: number, seed: number, lo: number, hi: number): Float32Array {
  const rng = new SeededRandom(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.int(lo, hi);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Layers. Each takes its inputs (with shapes), its output shapes (from the IR) and its blobs as
// float64, and returns its outputs.

/** One layer's arguments. */
export interface LayerArgs<T extends AnyLayer['type']> {
  readonly layer: Layer<T>;
  readonly inputs: readonly Float64Array[];
  readonly inShapes: readonly Shape[];
  readonly outShapes: readonly Shape[];
  readonly blobs: readonly Float64Array[];
}

/** Row-major strides of `dims`. */
export function strides(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1] * dims[i + 1];
  return s;
}

/** Multi-index of flat index `i` in `dims`. */
function unravel(i: number, dims: readonly number[]): number[] {
  const idx = new Array<number>(dims.length);
  for (let d = dims.length - 1; d >= 0; d--) {
    idx[d] = i % dims[d];
    i = Math.floor(i / dims[d]);
  }
  return idx;
}

/**
 * Convolution (Caffe's ConvolutionLayer, N-D): with `axis` the channel axis, the dims before it are
 * independent images; out[n, o, y] = bias[o] + Σ_{i in o's group, k} x[n, i, y * stride - pad +
 * k * dilation] w[o, i - group start, k], positions outside the input contributing 0.
 * Each bottom gives the top at the same index, with the same weights.
 */
export function convolution(a: LayerArgs<'Convolution'>): Float64Array[] {
  const { numOutput, kernel, stride, pad, dilation, group, biasTerm, axis } = a.layer.attrs;
  const [w, b] = a.blobs;
  return a.inputs.map((x, bi) => {
    const inShape = a.inShapes[bi];
    const outShape = a.outShapes[bi];
    const outer = count(inShape, 0, axis);
    const cin = inShape[axis];
    const inSp = inShape.slice(axis + 1);
    const outSp = outShape.slice(axis + 1);
    const inSpN = count(inSp);
    const outSpN = count(outSp);
    const kN = count(kernel);
    const cinG = cin / group;
    const coutG = numOutput / group;
    const inStr = strides(inSp);
    // For each (output position, kernel offset): the input offset in the plane, or -1 in padding.
    const table = new Int32Array(outSpN * kN);
    for (let o = 0; o < outSpN; o++) {
      const oi = unravel(o, outSp);
      for (let k = 0; k < kN; k++) {
        const ki = unravel(k, kernel);
        let off = 0;
        for (let d = 0; d < inSp.length; d++) {
          const p = oi[d] * stride[d] - pad[d] + ki[d] * dilation[d];
          if (p < 0 || p >= inSp[d]) {
            off = -1;
            break;
          }
          off += p * inStr[d];
        }
        table[o * kN + k] = off;
      }
    }
    const y = new Float64Array(outer * numOutput * outSpN);
    for (let n = 0; n < outer; n++) {
      for (let oc = 0; oc < numOutput; oc++) {
        const g = Math.floor(oc / coutG);
        for (let o = 0; o < outSpN; o++) {
          let acc = biasTerm ? b[oc] : 0;
          for (let ic = 0; ic < cinG; ic++) {
            const plane = (n * cin + g * cinG + ic) * inSpN;
            const wBase = (oc * cinG + ic) * kN;
            for (let k = 0; k < kN; k++) {
              const off = table[o * kN + k];
              if (off >= 0) acc += x[plane + off] * w[wBase + k];
            }
          }
          y[(n * numOutput + oc) * outSpN + o] = acc;
        }
      }
    }
    return y;
  });
}

/**
 * Deconvolution (Caffe's DeconvolutionLayer: the convolution's backward pass): every input value
 * x[n, i, p] adds x * w[i, o - group start, k] to out[n, o, p * stride - pad + k * dilation] for
 * the outputs o of i's group; weights are [C_in, C_out / group, kernel...]; then the bias.
 */
export function deconvolution(a: LayerArgs<'Deconvolution'>): Float64Array[] {
  const { numOutput, kernel, stride, pad, dilation, group, biasTerm, axis } = a.layer.attrs;
  const [w, b] = a.blobs;
  return a.inputs.map((x, bi) => {
    const inShape = a.inShapes[bi];
    const outShape = a.outShapes[bi];
    const outer = count(inShape, 0, axis);
    const cin = inShape[axis];
    const inSp = inShape.slice(axis + 1);
    const outSp = outShape.slice(axis + 1);
    const inSpN = count(inSp);
    const outSpN = count(outSp);
    const kN = count(kernel);
    const cinG = cin / group;
    const coutG = numOutput / group;
    const outStr = strides(outSp);
    const y = new Float64Array(outer * numOutput * outSpN);
    for (let n = 0; n < outer; n++) {
      for (let ic = 0; ic < cin; ic++) {
        const g = Math.floor(ic / cinG);
        for (let p = 0; p < inSpN; p++) {
          const pi = unravel(p, inSp);
          const v = x[(n * cin + ic) * inSpN + p];
          for (let k = 0; k < kN; k++) {
            const ki = unravel(k, kernel);
            let off = 0;
            for (let d = 0; d < outSp.length; d++) {
              const q = pi[d] * stride[d] - pad[d] + ki[d] * dilation[d];
              if (q < 0 || q >= outSp[d]) {
                off = -1;
                break;
              }
              off += q * outStr[d];
            }
            if (off < 0) continue;
            for (let oc = 0; oc < coutG; oc++) {
              y[(n * numOutput + g * coutG + oc) * outSpN + off] += v * w[(ic * coutG + oc) * kN + k];
            }
          }
        }
      }
      if (biasTerm) {
        for (let oc = 0; oc < numOutput; oc++) {
          for (let q = 0; q < outSpN; q++) y[(n * numOutput + oc) * outSpN + q] += b[oc];
        }
      }
    }
    return y;
  });
}

/**
 * Pooling (Caffe's PoolingLayer::Forward_cpu; STOCHASTIC as its TEST-phase kernel):
 * - window of output (ph, pw) starts at ph * stride - pad;
 * - MAX: the window clipped to the input; the first largest value wins; the optional second top
 *   is the argmax mask, h * W + w within the plane;
 * - AVE: the window clipped to [-pad, in + pad) gives the divisor (pool size, padding included),
 *   then clipped to the input for the sum;
 * - STOCHASTIC (test phase): no padding; Σ x² / (FLT_MIN + Σ x) over the window clipped to the input.
 * Global pooling is a kernel of the whole plane (the IR's attrs already say so).
 */
export function pooling(a: LayerArgs<'Pooling'>): Float64Array[] {
  const { method, kernel, stride, pad } = a.layer.attrs;
  const [N, C, H, W] = a.inShapes[0];
  const [, , PH, PW] = a.outShapes[0];
  const x = a.inputs[0];
  const y = new Float64Array(N * C * PH * PW);
  const mask = a.outShapes.length > 1 ? new Float64Array(y.length) : undefined;
  const FLT_MIN = 1.1754943508222875e-38;
  for (let nc = 0; nc < N * C; nc++) {
    const plane = nc * H * W;
    for (let ph = 0; ph < PH; ph++) {
      for (let pw = 0; pw < PW; pw++) {
        const out = (nc * PH + ph) * PW + pw;
        let hs = ph * stride[0] - pad[0];
        let ws = pw * stride[1] - pad[1];
        if (method === 'MAX') {
          const he = Math.min(hs + kernel[0], H);
          const we = Math.min(ws + kernel[1], W);
          hs = Math.max(hs, 0);
          ws = Math.max(ws, 0);
          let best = -3.4028234663852886e38;
          let at = -1;
          for (let h = hs; h < he; h++) {
            for (let w = ws; w < we; w++) {
              const v = x[plane + h * W + w];
              if (v > best) {
                best = v;
                at = h * W + w;
              }
            }
          }
          y[out] = best;
          if (mask !== undefined) mask[out] = at;
        } else if (method === 'AVE') {
          let he = Math.min(hs + kernel[0], H + pad[0]);
          let we = Math.min(ws + kernel[1], W + pad[1]);
          const poolSize = (he - hs) * (we - ws);
          hs = Math.max(hs, 0);
          ws = Math.max(ws, 0);
          he = Math.min(he, H);
          we = Math.min(we, W);
          let sum = 0;
          for (let h = hs; h < he; h++) for (let w = ws; w < we; w++) sum += x[plane + h * W + w];
          y[out] = sum / poolSize;
        } else {
          hs = ph * stride[0];
          ws = pw * stride[1];
          const he = Math.min(hs + kernel[0], H);
          const we = Math.min(ws + kernel[1], W);
          let cumsum = FLT_MIN;
          let cumvalues = 0;
          for (let h = hs; h < he; h++) {
            for (let w = ws; w < we; w++) {
              const v = x[plane + h * W + w];
              cumsum += v;
              cumvalues += v * v;
            }
          }
          y[out] = cumvalues / cumsum;
        }
      }
    }
  }
  return mask === undefined ? [y] : [y, mask];
}

/**
 * LRN (Caffe's LRNLayer):
 * - ACROSS_CHANNELS: y = x (k + alpha / size Σ x²)^-beta over channels [c - (size - 1) / 2,
 *   c + (size - 1) / 2] clipped to the existing channels (the sum has at most `size` terms, the
 *   divisor is always `size`);
 * - WITHIN_CHANNEL: Caffe composes square -> AVE pooling (kernel size, pad (size - 1) / 2, stride 1)
 *   -> Power(power -beta, scale alpha, shift 1) -> product, so y = x (1 + alpha avg(x²))^-beta
 *   with AVE pooling's divisor rule, and `k` plays no part.
 */
export function lrn(a: LayerArgs<'LRN'>): Float64Array[] {
  const { localSize, alpha, beta, k, region } = a.layer.attrs;
  const [N, C, H, W] = a.inShapes[0];
  const x = a.inputs[0];
  const y = new Float64Array(x.length);
  const pre = (localSize - 1) / 2;
  if (region === 'ACROSS_CHANNELS') {
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        for (let s = 0; s < H * W; s++) {
          let sum = 0;
          for (let j = Math.max(0, c - pre); j <= Math.min(C - 1, c + pre); j++) {
            const v = x[(n * C + j) * H * W + s];
            sum += v * v;
          }
          const i = (n * C + c) * H * W + s;
          y[i] = x[i] * Math.pow(k + (alpha / localSize) * sum, -beta);
        }
      }
    }
    return [y];
  }
  for (let nc = 0; nc < N * C; nc++) {
    const plane = nc * H * W;
    for (let h = 0; h < H; h++) {
      for (let w = 0; w < W; w++) {
        let hs = h - pre;
        let ws = w - pre;
        let he = Math.min(hs + localSize, H + pre);
        let we = Math.min(ws + localSize, W + pre);
        const poolSize = (he - hs) * (we - ws);
        hs = Math.max(hs, 0);
        ws = Math.max(ws, 0);
        he = Math.min(he, H);
        we = Math.min(we, W);
        let sum = 0;
        for (let i = hs; i < he; i++) {
          for (let j = ws; j < we; j++) {
            const v = x[plane + i * W + j];
            sum += v * v;
          }
        }
        const at = plane + h * W + w;
        y[at] = x[at] * Math.pow(1 + alpha * (sum / poolSize), -beta);
      }
    }
  }
  return [y];
}

function map(x: Float64Array, f: (v: number) => number): Float64Array {
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = f(x[i]);
  return y;
}

const sigmoidOf = (v: number): number => 1 / (1 + Math.exp(-v));

/** Caffe's PowerLayer: (shift + scale x)^power; when power * scale == 0 the input is ignored. */
function power(x: Float64Array, attrs: { power: number; scale: number; shift: number }): Float64Array {
  const { power: p, scale, shift } = attrs;
  if (p * scale === 0) {
    const value = p === 0 ? 1 : Math.pow(shift, p);
    return new Float64Array(x.length).fill(value);
  }
  return map(x, (v) => Math.pow(shift + scale * v, p));
}

/** Caffe's ExpLayer: outer * e^(inner x), inner = ln(base) scale, outer = base^shift (e for base -1). */
function exp(x: Float64Array, attrs: { base: number; scale: number; shift: number }): Float64Array {
  const { base, scale, shift } = attrs;
  const logBase = base === -1 ? 1 : Math.log(base);
  const inner = logBase * scale;
  const outer = shift === 0 ? 1 : base === -1 ? Math.exp(shift) : Math.pow(base, shift);
  return map(x, (v) => outer * Math.exp(inner * v));
}

/** Caffe's LogLayer: ln(shift + scale x) / ln(base) (ln for base -1). */
function log(x: Float64Array, attrs: { base: number; scale: number; shift: number }): Float64Array {
  const { base, scale, shift } = attrs;
  const baseScale = base === -1 ? 1 : 1 / Math.log(base);
  return map(x, (v) => Math.log(shift + scale * v) * baseScale);
}

/** PReLU: y = max(x, 0) + a_c min(x, 0), c = axis 1 (one shared slope with channel_shared). */
function prelu(a: LayerArgs<'PReLU'>): Float64Array[] {
  const s = a.inShapes[0];
  const C = s[1];
  const inner = count(s, 2);
  const slopes = a.blobs[0];
  const x = a.inputs[0];
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const c = Math.floor(i / inner) % C;
    const slope = a.layer.attrs.channelShared ? slopes[0] : slopes[c];
    y[i] = Math.max(x[i], 0) + slope * Math.min(x[i], 0);
  }
  return [y];
}

/** InnerProduct: out[m, n] = Σ_k x[m, k] W[n, k] (W[k, n] with transpose) + b[n], M = count(0, axis). */
function innerProduct(a: LayerArgs<'InnerProduct'>): Float64Array[] {
  const { numOutput: N, biasTerm, axis, transpose } = a.layer.attrs;
  const s = a.inShapes[0];
  const M = count(s, 0, axis);
  const K = count(s, axis);
  const [w, b] = a.blobs;
  const x = a.inputs[0];
  const y = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let acc = biasTerm ? b[n] : 0;
      for (let k = 0; k < K; k++) acc += x[m * K + k] * (transpose ? w[k * N + n] : w[n * K + k]);
      y[m * N + n] = acc;
    }
  }
  return [y];
}

/** Softmax along `axis`, shifted by the max as Caffe does. */
function softmax(a: LayerArgs<'Softmax'>): Float64Array[] {
  const s = a.inShapes[0];
  const axis = a.layer.attrs.axis;
  const outer = count(s, 0, axis);
  const dim = s[axis];
  const inner = count(s, axis + 1);
  const x = a.inputs[0];
  const y = new Float64Array(x.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const at = (c: number) => (o * dim + c) * inner + i;
      let m = -Infinity;
      for (let c = 0; c < dim; c++) m = Math.max(m, x[at(c)]);
      let sum = 0;
      for (let c = 0; c < dim; c++) sum += Math.exp(x[at(c)] - m);
      for (let c = 0; c < dim; c++) y[at(c)] = Math.exp(x[at(c)] - m) / sum;
    }
  }
  return [y];
}

/** Concat along `axis`. */
function concat(a: LayerArgs<'Concat'>): Float64Array[] {
  const axis = a.layer.attrs.axis;
  const out = a.outShapes[0];
  const outer = count(out, 0, axis);
  const inner = count(out, axis + 1);
  const y = new Float64Array(count(out));
  let offset = 0;
  a.inputs.forEach((x, i) => {
    const d = a.inShapes[i][axis];
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < d * inner; j++) y[(o * out[axis] + offset) * inner + j] = x[o * d * inner + j];
    }
    offset += d;
  });
  return [y];
}

/** Eltwise PROD, SUM (Σ coeff_i x_i) or MAX. */
function eltwise(a: LayerArgs<'Eltwise'>): Float64Array[] {
  const { operation, coeff } = a.layer.attrs;
  const n = a.inputs[0].length;
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    if (operation === 'PROD') {
      let v = 1;
      for (const x of a.inputs) v *= x[i];
      y[i] = v;
    } else if (operation === 'SUM') {
      let v = 0;
      a.inputs.forEach((x, j) => {
        v += coeff[j] * x[i];
      });
      y[i] = v;
    } else {
      let v = -Infinity;
      for (const x of a.inputs) v = Math.max(v, x[i]);
      y[i] = v;
    }
  }
  return [y];
}

/**
 * BatchNorm (Caffe's BatchNormLayer): with global statistics, mean = blob0 / f, var = blob1 / f
 * with f the moving-average factor (blob2[0]; a factor of 0 makes both 0); otherwise the batch's
 * own statistics per channel (biased variance). y = (x - mean) / sqrt(var + eps), channel = axis 1.
 */
function batchNorm(a: LayerArgs<'BatchNorm'>): Float64Array[] {
  const { eps, useGlobalStats } = a.layer.attrs;
  const s = a.inShapes[0];
  const N = s[0];
  const C = s.length > 1 ? s[1] : 1;
  const inner = count(s, 2);
  const x = a.inputs[0];
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  if (useGlobalStats) {
    const f = a.blobs[2][0] === 0 ? 0 : 1 / a.blobs[2][0];
    for (let c = 0; c < C; c++) {
      mean[c] = a.blobs[0][c] * f;
      variance[c] = a.blobs[1][c] * f;
    }
  } else {
    const m = N * inner;
    for (let c = 0; c < C; c++) {
      let sum = 0;
      for (let n = 0; n < N; n++) for (let i = 0; i < inner; i++) sum += x[(n * C + c) * inner + i];
      mean[c] = sum / m;
      let sq = 0;
      for (let n = 0; n < N; n++) {
        for (let i = 0; i < inner; i++) {
          const d = x[(n * C + c) * inner + i] - mean[c];
          sq += d * d;
        }
      }
      variance[c] = sq / m;
    }
  }
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const c = Math.floor(i / inner) % C;
    y[i] = (x[i] - mean[c]) / Math.sqrt(variance[c] + eps);
  }
  return [y];
}

/**
 * Scale / Bias (Caffe's ScaleLayer / BiasLayer): the operand spans dims [axis, axis + operand rank)
 * of the input and broadcasts over the rest: y[o, d, i] = x[o, d, i] * scale[d] (+ bias[d]).
 * The operand is the second input when there is one, else blob 0; Scale's bias is the blob after.
 */
function channelAffine(
  x: Float64Array,
  shape: Shape,
  axis: number,
  operandLength: number,
  scale: Float64Array | undefined,
  bias: Float64Array | undefined,
  operandRank: number,
): Float64Array {
  const outer = count(shape, 0, axis);
  const inner = count(shape, axis + operandRank);
  const y = new Float64Array(x.length);
  for (let o = 0; o < outer; o++) {
    for (let d = 0; d < operandLength; d++) {
      const sc = scale === undefined ? 1 : scale[d];
      const bs = bias === undefined ? 0 : bias[d];
      for (let i = 0; i < inner; i++) {
        const at = (o * operandLength + d) * inner + i;
        y[at] = x[at] * sc + bs;
      }
    }
  }
  return y;
}

function scaleLayer(a: LayerArgs<'Scale'>): Float64Array[] {
  const { axis, biasTerm, scaleShape, fromInput } = a.layer.attrs;
  const scale = fromInput ? a.inputs[1] : a.blobs[0];
  const bias = biasTerm ? a.blobs[fromInput ? 0 : 1] : undefined;
  return [channelAffine(a.inputs[0], a.inShapes[0], axis, count(scaleShape), scale, bias, scaleShape.length)];
}

function biasLayer(a: LayerArgs<'Bias'>): Float64Array[] {
  const { axis, biasShape, fromInput } = a.layer.attrs;
  const bias = fromInput ? a.inputs[1] : a.blobs[0];
  return [channelAffine(a.inputs[0], a.inShapes[0], axis, count(biasShape), undefined, bias, biasShape.length)];
}

/** Slice along `axis` at the IR's points. */
function slice(a: LayerArgs<'Slice'>): Float64Array[] {
  const axis = a.layer.attrs.axis;
  const s = a.inShapes[0];
  const outer = count(s, 0, axis);
  const inner = count(s, axis + 1);
  const x = a.inputs[0];
  let start = 0;
  return a.outShapes.map((os) => {
    const d = os[axis];
    const y = new Float64Array(count(os));
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < d * inner; j++) y[o * d * inner + j] = x[(o * s[axis] + start) * inner + j];
    }
    start += d;
    return y;
  });
}

/** Crop (Caffe's CropLayer): out[idx] = in[idx + offset], offsets on the axes from `axis` on. */
function crop(a: LayerArgs<'Crop'>): Float64Array[] {
  const { axis, offsets } = a.layer.attrs;
  const s = a.inShapes[0];
  const os = a.outShapes[0];
  const inStr = strides(s);
  const x = a.inputs[0];
  const y = new Float64Array(count(os));
  for (let i = 0; i < y.length; i++) {
    const idx = unravel(i, os);
    let at = 0;
    for (let d = 0; d < s.length; d++) at += (idx[d] + (d >= axis ? offsets[d - axis] : 0)) * inStr[d];
    y[i] = x[at];
  }
  return [y];
}

/**
 * ArgMax (Caffe's ArgMaxLayer): (value, index) pairs sorted descending as std::greater orders
 * pairs (equal values: the larger index first). Without axis, per image over all its values, the
 * output holds the top_k indices, then (out_max_val) the top_k values; with axis, along it,
 * indices or (out_max_val) values.
 */
function argMax(a: LayerArgs<'ArgMax'>): Float64Array[] {
  const { outMaxVal, topK, axis } = a.layer.attrs;
  const s = a.inShapes[0];
  const x = a.inputs[0];
  const total = count(s);
  const hasAxis = axis !== undefined;
  const dim = hasAxis ? s[axis] : count(s, 1);
  const axisDist = hasAxis ? count(s, axis + 1) : 1;
  const num = total / dim;
  const y = new Float64Array(count(a.outShapes[0]));
  for (let i = 0; i < num; i++) {
    const pairs: Array<[number, number]> = [];
    for (let j = 0; j < dim; j++) {
      pairs.push([x[(Math.floor(i / axisDist) * dim + j) * axisDist + (i % axisDist)], j]);
    }
    pairs.sort((p, q) => q[0] - p[0] || q[1] - p[1]);
    for (let j = 0; j < topK; j++) {
      const along = (Math.floor(i / axisDist) * topK + j) * axisDist + (i % axisDist);
      if (outMaxVal) {
        if (hasAxis) {
          y[along] = pairs[j][0];
        } else {
          y[2 * i * topK + j] = pairs[j][1];
          y[2 * i * topK + topK + j] = pairs[j][0];
        }
      } else {
        y[along] = pairs[j][1];
      }
    }
  }
  return [y];
}

/**
 * MVN (Caffe's MVNLayer): per image (across_channels) or per image and channel, subtract the
 * mean; with normalize_variance divide by sqrt(E[(x - mean)²]) + eps (eps after the root).
 */
function mvn(a: LayerArgs<'MVN'>): Float64Array[] {
  const { normalizeVariance, acrossChannels, eps } = a.layer.attrs;
  const s = a.inShapes[0];
  const num = acrossChannels ? s[0] : s[0] * s[1];
  const x = a.inputs[0];
  const dim = x.length / num;
  const y = new Float64Array(x.length);
  for (let n = 0; n < num; n++) {
    let sum = 0;
    for (let i = 0; i < dim; i++) sum += x[n * dim + i];
    const mean = sum / dim;
    for (let i = 0; i < dim; i++) y[n * dim + i] = x[n * dim + i] - mean;
    if (normalizeVariance) {
      let sq = 0;
      for (let i = 0; i < dim; i++) sq += y[n * dim + i] * y[n * dim + i];
      const sd = Math.sqrt(sq / dim) + eps;
      for (let i = 0; i < dim; i++) y[n * dim + i] /= sd;
    }
  }
  return [y];
}

/** Tile (Caffe's TileLayer): each block of the dims from `axis` on repeated `tiles` times. */
function tile(a: LayerArgs<'Tile'>): Float64Array[] {
  const { axis, tiles } = a.layer.attrs;
  const s = a.inShapes[0];
  const outer = count(s, 0, axis);
  const inner = count(s, axis);
  const x = a.inputs[0];
  const y = new Float64Array(outer * inner * tiles);
  for (let o = 0; o < outer; o++) {
    for (let t = 0; t < tiles; t++) {
      for (let i = 0; i < inner; i++) y[(o * tiles + t) * inner + i] = x[o * inner + i];
    }
  }
  return [y];
}

/**
 * ShuffleChannel (ShuffleNet): per image, the C channels as a group x (C / group) matrix of planes,
 * transposed: output channel i * group + j is input channel j * (C / group) + i.
 */
function shuffleChannel(a: LayerArgs<'ShuffleChannel'>): Float64Array[] {
  const { group } = a.layer.attrs;
  const s = a.inShapes[0];
  const channels = s[1];
  const plane = count(s, 2);
  const per = channels / group;
  const x = a.inputs[0];
  const y = new Float64Array(x.length);
  for (let n = 0; n < s[0]; n++) {
    for (let i = 0; i < per; i++) {
      for (let j = 0; j < group; j++) {
        const from = (n * channels + j * per + i) * plane;
        const to = (n * channels + i * group + j) * plane;
        for (let k = 0; k < plane; k++) y[to + k] = x[from + k];
      }
    }
  }
  return [y];
}

/** Reduction (Caffe's ReductionLayer): over all dims from `axis` on, SUM / ASUM / SUMSQ / MEAN, times coeff. */
function reduction(a: LayerArgs<'Reduction'>): Float64Array[] {
  const { operation, axis, coeff } = a.layer.attrs;
  const s = a.inShapes[0];
  const num = count(s, 0, axis);
  const dim = count(s, axis);
  const x = a.inputs[0];
  const y = new Float64Array(num);
  for (let n = 0; n < num; n++) {
    let v = 0;
    for (let i = 0; i < dim; i++) {
      const e = x[n * dim + i];
      v += operation === 'ASUM' ? Math.abs(e) : operation === 'SUMSQ' ? e * e : e;
    }
    if (operation === 'MEAN') v /= dim;
    y[n] = v * coeff;
  }
  return [y];
}

/** Embed (Caffe's EmbedLayer): every input value is an index i in [0, input_dim); out = W[i, :] + b. */
function embed(a: LayerArgs<'Embed'>): Float64Array[] {
  const { numOutput: N, inputDim, biasTerm } = a.layer.attrs;
  const [w, b] = a.blobs;
  const x = a.inputs[0];
  const y = new Float64Array(x.length * N);
  for (let m = 0; m < x.length; m++) {
    const index = Math.trunc(x[m]);
    if (index !== x[m] || index < 0 || index >= inputDim) {
      throw new Error(`reference Embed: input ${x[m]} is not an index in [0, ${inputDim})`);
    }
    for (let n = 0; n < N; n++) y[m * N + n] = w[index * N + n] + (biasTerm ? b[n] : 0);
  }
  return [y];
}

/** The reference of one layer (every IR type but Input). */
export function referenceLayer(a: LayerArgs<AnyLayer['type']>): Float64Array[] {
  const l = a.layer as AnyLayer;
  const x = a.inputs[0];
  const same = <T extends AnyLayer['type']>(args: LayerArgs<AnyLayer['type']>) => args as unknown as LayerArgs<T>;
  switch (l.type) {
    case 'Convolution':
      return convolution(same<'Convolution'>(a));
    case 'Deconvolution':
      return deconvolution(same<'Deconvolution'>(a));
    case 'Pooling':
      return pooling(same<'Pooling'>(a));
    case 'LRN':
      return lrn(same<'LRN'>(a));
    case 'ReLU': {
      const slope = l.attrs.negativeSlope;
      return [map(x, (v) => Math.max(v, 0) + slope * Math.min(v, 0))];
    }
    case 'PReLU':
      return prelu(same<'PReLU'>(a));
    case 'ELU': {
      const alpha = l.attrs.alpha;
      return [map(x, (v) => Math.max(v, 0) + alpha * (Math.exp(Math.min(v, 0)) - 1))];
    }
    case 'Sigmoid':
      return [map(x, sigmoidOf)];
    case 'TanH':
      return [map(x, Math.tanh)];
    case 'AbsVal':
      return [map(x, Math.abs)];
    case 'Power':
      return [power(x, l.attrs)];
    case 'BNLL':
      return [map(x, (v) => (v > 0 ? v + Math.log(1 + Math.exp(-v)) : Math.log(1 + Math.exp(v))))];
    case 'Exp':
      return [exp(x, l.attrs)];
    case 'Log':
      return [log(x, l.attrs)];
    case 'Threshold': {
      const t = l.attrs.threshold;
      return [map(x, (v) => (v > t ? 1 : 0))];
    }
    case 'Clip': {
      const { min, max } = l.attrs;
      return [map(x, (v) => Math.max(min, Math.min(v, max)))];
    }
    case 'Swish': {
      const beta = l.attrs.beta;
      return [map(x, (v) => v * sigmoidOf(beta * v))];
    }
    case 'ROIPooling':
      return roiPooling(same<'ROIPooling'>(a));
    case 'PSROIPooling':
      return psroiPooling(same<'PSROIPooling'>(a));
    case 'Proposal':
      return proposal(same<'Proposal'>(a));
    case 'Plugin':
      // A plugin's own code is its reference: tests compare it with values they compute themselves.
      throw new Error(`no float64 reference for plugin layer '${l.name}' (${l.attrs.pluginType})`);
    case 'InnerProduct':
      return innerProduct(same<'InnerProduct'>(a));
    case 'Softmax':
      return softmax(same<'Softmax'>(a));
    case 'Dropout':
      return [Float64Array.from(x)];
    case 'Concat':
      return concat(same<'Concat'>(a));
    case 'Eltwise':
      return eltwise(same<'Eltwise'>(a));
    case 'BatchNorm':
      return batchNorm(same<'BatchNorm'>(a));
    case 'Scale':
      return scaleLayer(same<'Scale'>(a));
    case 'Bias':
      return biasLayer(same<'Bias'>(a));
    case 'Flatten':
    case 'Reshape':
      return [Float64Array.from(x)];
    case 'Split':
      return l.outputs.map(() => Float64Array.from(x));
    case 'Slice':
      return slice(same<'Slice'>(a));
    case 'Crop':
      return crop(same<'Crop'>(a));
    case 'ArgMax':
      return argMax(same<'ArgMax'>(a));
    case 'MVN':
      return mvn(same<'MVN'>(a));
    case 'Tile':
      return tile(same<'Tile'>(a));
    case 'ShuffleChannel':
      return shuffleChannel(same<'ShuffleChannel'>(a));
    case 'Permute':
      return permute(same<'Permute'>(a));
    case 'Normalize':
      return normalize(same<'Normalize'>(a));
    case 'PriorBox':
      return priorBox(same<'PriorBox'>(a));
    case 'DetectionOutput':
      return detectionOutput(same<'DetectionOutput'>(a));
    case 'Upsample':
      return upsample(same<'Upsample'>(a));
    case 'Interp':
      return interp(same<'Interp'>(a));
    case 'Reduction':
      return reduction(same<'Reduction'>(a));
    case 'Embed':
      return embed(same<'Embed'>(a));
    case 'Input':
      throw new Error('reference: Input layers have no computation');
  }
}

/**
 * Runs `net` layer by layer in float64 at its own batch size (use `net.withBatchSize(n)` for
 * another). `inputs` gives every network input by name, batch-major. Returns every tensor of the
 * IR by name (inputs included).
 */
export function referenceForward(net: Network, inputs: Readonly<Record<string, Float64Array | Float32Array>>): Map<string, Float64Array> {
  const values = new Map<string, Float64Array>();
  const shapeOf = (name: string): Shape => {
    const t = net.tensors.get(name);
    if (t === undefined) throw new Error(`reference: no tensor '${name}'`);
    return t.shape;
  };
  for (const layer of net.layers) {
    if (layer.type === 'Input') {
      for (const name of layer.outputs) {
        const given = inputs[name];
        if (given === undefined) throw new Error(`reference: no value for input '${name}'`);
        if (given.length !== count(shapeOf(name))) {
          throw new Error(
            `reference: input '${name}' has ${given.length} values, shape [${shapeOf(name).join(', ')}] needs ${count(shapeOf(name))}`,
          );
        }
        values.set(name, Float64Array.from(given));
      }
      continue;
    }
    const ins = layer.inputs.map((name) => {
      const v = values.get(name);
      if (v === undefined) throw new Error(`reference: layer '${layer.name}' reads '${name}' before it is written`);
      return v;
    });
    const outs = referenceLayer({
      layer,
      inputs: ins,
      inShapes: layer.inputs.map(shapeOf),
      outShapes: layer.outputs.map(shapeOf),
      blobs: net.weights(layer.name).map((b) => Float64Array.from(b)),
    });
    layer.outputs.forEach((name, i) => {
      if (outs[i].length !== count(shapeOf(name))) {
        throw new Error(
          `reference bug: layer '${layer.name}' made ${outs[i].length} values for '${name}' of shape [${shapeOf(name).join(', ')}]`,
        );
      }
      values.set(name, outs[i]);
    });
  }
  return values;
}

// ---------------------------------------------------------------------------------------------
// Image preprocessing (Caffe's DataTransformer, test phase)

/** What an engine's uint8 input does to an image (lib/builder/exec_graph.ts PreprocessSpec). */
export interface ImageTransform {
  /** The network input [C, H, W]. */
  readonly dims: readonly [number, number, number];
  /** [H_in, W_in] of the images: larger than [H, W] is Caffe's crop_size, a centre crop. */
  readonly imageSize: readonly [number, number];
  readonly swapChannels: boolean;
  readonly scale: number;
  /** C values, or undefined with meanImage. */
  readonly mean?: readonly number[];
  /** [C, H_in, W_in]. */
  readonly meanImage?: ArrayLike<number>;
}

/**
 * Caffe's DataTransformer::Transform in its TEST phase, in float64, on images given as interleaved
 * bytes [N, H_in, W_in, C] (Caffe's datum is [C, H_in, W_in]; only the indexing differs): the
 * window is cut at h_off = (H_in - H) / 2, w_off = (W_in - W) / 2 (integer division), and
 * out[n, c, h, w] = (x - mean) * scale with x the byte at (h_off + h, w_off + w) of channel c (of
 * channel C - 1 - c with a channel swap), mean = meanImage[c, h_off + h, w_off + w] (indexed over
 * the uncropped image, as Caffe's data_index) or mean[c].
 */
export function transformImages(images: ArrayLike<number>, batch: number, t: ImageTransform): Float64Array {
  const [c, h, w] = t.dims;
  const [ih, iw] = t.imageSize;
  const hOff = Math.trunc((ih - h) / 2);
  const wOff = Math.trunc((iw - w) / 2);
  const out = new Float64Array(batch * c * h * w);
  for (let n = 0; n < batch; n++) {
    for (let ch = 0; ch < c; ch++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const dataIndex = (ch * ih + hOff + y) * iw + wOff + x;
          const pixel = ((n * ih + hOff + y) * iw + wOff + x) * c + (t.swapChannels ? c - 1 - ch : ch);
          const mean = t.meanImage !== undefined ? t.meanImage[dataIndex] : (t.mean as readonly number[])[ch];
          out[((n * c + ch) * h + y) * w + x] = (images[pixel] - mean) * t.scale;
        }
      }
    }
  }
  return out;
}

/**
 * A MAX pooling whose mask reaches past 2048 (float16's last exact integer) and the Upsample that
 * unpools through it: a 1 x 2 x 128 x 256 plane (mask indices up to 32,767) and an input whose
 * values are distinct in float16 (steps of 1/8 below 256), so every window has one clear maximum
 * in both precisions. Output 'y'.
 */
export function maskUnpoolCase(): { text: string; x: Float32Array } {
  const text =
    'layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 1 dim: 2 dim: 128 dim: 256 } } }\n' +
    'layer { name: "pool" type: "Pooling" bottom: "x" top: "p" top: "mask" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }\n' +
    'layer { name: "up" type: "Upsample" bottom: "p" bottom: "mask" top: "y" upsample_param { scale: 2 } }\n';
  return { text, x: Float32Array.from({ length: 2 * 128 * 256 }, (_, i) => ((i * 7919) % 2048) / 8) };
}

/** How many positions are set (non-zero) in one of two unpooled outputs and not in the other. */
export function movedPositions(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let moved = 0;
  for (let i = 0; i < want.length; i++) if ((want[i] === 0) !== (got[i] === 0)) moved++;
  return moved;
}
