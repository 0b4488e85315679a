/** LRN, BatchNorm, Scale, Bias and MVN. */
import type { Message } from '../../caffe/message';
import type { LRNAttrs, Shape } from '../types';
import { canonicalAxis, check, fmt, sameShape, type LayerDef } from './common';

/** LRN: same shape; local_size must be odd; 4-D input. */
export const lrn: LayerDef<'LRN'> = {
  type: 'LRN',
  bottoms: [1, 1],
  tops: [1, 1],
  build(p, inputs) {
    const lp = p.sub('lrn_param');
    const localSize = lp.num('local_size');
    check(localSize % 2 === 1, `LRN local_size must be odd, got ${localSize}`);
    check(inputs[0].length === 4, `LRN needs a 4-D input (N, C, H, W); got ${fmt(inputs[0])}`);
    const attrs: LRNAttrs = {
      localSize,
      alpha: lp.num('alpha'),
      beta: lp.num('beta'),
      k: lp.num('k'),
      region: lp.str('norm_region') as LRNAttrs['region'],
    };
    return { attrs, outputs: sameShape(inputs) };
  },
};

/** BatchNorm: same shape; blobs mean [C], variance [C], moving-average factor [1]. */
export const batchNorm: LayerDef<'BatchNorm'> = {
  type: 'BatchNorm',
  bottoms: [1, 1],
  tops: [1, 1],
  build(p, inputs) {
    // NVCaffe's BatchNorm with scale_bias never comes here: it is a fork layer (forks.ts).
    const bp = p.sub('batch_norm_param');
    const input = inputs[0];
    const channels = input.length === 1 ? 1 : input[1];
    // Without the field, Caffe uses global statistics in the TEST phase: the deploy view.
    const useGlobalStats = bp.has('use_global_stats') ? bp.bool('use_global_stats') : true;
    return {
      attrs: { eps: bp.num('eps'), useGlobalStats, channels },
      outputs: sameShape(inputs),
      blobs: [[channels], [channels], [1]],
    };
  },
};

/**
 * Shape of the operand of Scale / Bias over `input` from `axis` for `numAxes` dims (-1: to the end),
 * or the checked second bottom.
 */
function operandShape(
  param: Message,
  inputs: readonly Shape[],
  what: string,
): { axis: number; numAxes: number; shape: Shape; fromInput: boolean } {
  const input = inputs[0];
  const numAxes = param.num('num_axes');
  if (inputs.length === 2) {
    const operand = inputs[1];
    const axis = operand.length === 0 ? 0 : canonicalAxis(param.num('axis'), input.length, `${what} axis`);
    check(input.length >= axis + operand.length, `${what} operand ${fmt(operand)} does not fit input ${fmt(input)} at axis ${axis}`);
    operand.forEach((d, i) =>
      check(input[axis + i] === d, `${what} operand ${fmt(operand)} must match input ${fmt(input)} from axis ${axis}`),
    );
    return { axis, numAxes: operand.length, shape: operand, fromInput: true };
  }
  check(numAxes >= -1, `${what} num_axes must be >= -1, got ${numAxes}`);
  const axis = input.length === 0 ? 0 : canonicalAxis(param.num('axis'), input.length, `${what} axis`);
  const end = numAxes === -1 ? input.length : axis + numAxes;
  check(end <= input.length, `${what} axis ${axis} with num_axes ${numAxes} runs past input ${fmt(input)}`);
  return { axis, numAxes, shape: input.slice(axis, end), fromInput: false };
}

/** Scale: y = x * scale (+ bias); scale is a blob over dims [axis, axis + num_axes) or the second bottom. */
export const scale: LayerDef<'Scale'> = {
  type: 'Scale',
  bottoms: [1, 2],
  tops: [1, 1],
  build(p, inputs) {
    const sp = p.sub('scale_param');
    const { axis, numAxes, shape, fromInput } = operandShape(sp, inputs, 'scale');
    const biasTerm = sp.bool('bias_term');
    const blobs: Shape[] = [];
    if (!fromInput) blobs.push(shape);
    if (biasTerm) blobs.push(shape);
    return { attrs: { axis, numAxes, biasTerm, scaleShape: shape, fromInput }, outputs: sameShape(inputs), blobs };
  },
};

/** Bias: y = x + bias; bias is a blob over dims [axis, axis + num_axes) or the second bottom. */
export const bias: LayerDef<'Bias'> = {
  type: 'Bias',
  bottoms: [1, 2],
  tops: [1, 1],
  build(p, inputs) {
    const { axis, numAxes, shape, fromInput } = operandShape(p.sub('bias_param'), inputs, 'bias');
    return {
      attrs: { axis, numAxes, biasShape: shape, fromInput },
      outputs: sameShape(inputs),
      blobs: fromInput ? [] : [shape],
    };
  },
};

/** MVN: mean (and variance) normalisation; same shape. */
export const mvn: LayerDef<'MVN'> = {
  type: 'MVN',
  bottoms: [1, 1],
  tops: [1, 1],
  build(p, inputs) {
    const mp = p.sub('mvn_param');
    check(inputs[0].length >= 2, `MVN needs at least (N, C), got ${fmt(inputs[0])}`);
    return {
      attrs: { normalizeVariance: mp.bool('normalize_variance'), acrossChannels: mp.bool('across_channels'), eps: mp.num('eps') },
      outputs: sameShape(inputs),
    };
  },
};

/**
 * Normalize (SSD's Caffe, `norm_param`): each image divided by the L2 norm of all its values
 * (across_spatial) or each pixel by the L2 norm over its channels, norm = sqrt(sum of squares + eps),
 * then multiplied by a learned scale: one value (channel_shared) or one per channel (blob [] / [C]).
 */
export const normalize: LayerDef<'Normalize'> = {
  type: 'Normalize',
  bottoms: [1, 1],
  tops: [1, 1],
  build(p, inputs) {
    const np = p.sub('norm_param');
    const s = inputs[0];
    check(s.length >= 2, `Normalize needs at least (N, C), got ${fmt(s)}`);
    const eps = np.num('eps');
    check(Number.isFinite(eps) && eps >= 0, `Normalize eps must be a finite value >= 0, got ${eps}`);
    const channelShared = np.bool('channel_shared');
    return {
      attrs: { acrossSpatial: np.bool('across_spatial'), channelShared, eps },
      outputs: sameShape(inputs),
      // A shared scale is a 0-axis blob (one value), as SSD's Caffe stores it.
      blobs: [channelShared ? [] : [s[1]]],
    };
  },
};
