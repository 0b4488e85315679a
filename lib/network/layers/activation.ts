/** Elementwise (neuron) layers: one bottom, one top of the same shape. */
import type { Message } from '../../caffe/message';
import type { LayerAttrsMap, LayerType } from '../types';
import { check, fmt, sameShape, type LayerDef } from './common';

/** A neuron layer whose attributes come from its parameter message alone. */
function neuron<T extends LayerType>(type: T, attrs: (p: Message) => LayerAttrsMap[T]): LayerDef<T> {
  return {
    type,
    bottoms: [1, 1],
    tops: [1, 1],
    build: (p, inputs) => ({ attrs: attrs(p), outputs: sameShape(inputs) }),
  };
}

const none = (): Record<string, never> => ({});

function expLogAttrs(param: Message, what: string): { base: number; scale: number; shift: number } {
  const base = param.num('base');
  check(base > 0 || base === -1, `${what} base must be > 0, or -1 for e; got ${base}`);
  return { base, scale: param.num('scale'), shift: param.num('shift') };
}

/** ReLU, with Caffe's leaky negative_slope. */
export const relu = neuron('ReLU', (p) => ({ negativeSlope: p.sub('relu_param').num('negative_slope') }));
/** ELU with alpha. */
export const elu = neuron('ELU', (p) => ({ alpha: p.sub('elu_param').num('alpha') }));
/** Logistic sigmoid. */
export const sigmoid = neuron('Sigmoid', none);
/** Hyperbolic tangent. */
export const tanh = neuron('TanH', none);
/** |x|. */
export const absVal = neuron('AbsVal', none);
/** log(1 + e^x). */
export const bnll = neuron('BNLL', none);
/** (shift + scale x) ^ power. */
export const power = neuron('Power', (p) => {
  const pp = p.sub('power_param');
  return { power: pp.num('power'), scale: pp.num('scale'), shift: pp.num('shift') };
});
/** base ^ (shift + scale x). */
export const exp = neuron('Exp', (p) => expLogAttrs(p.sub('exp_param'), 'Exp'));
/** log_base(shift + scale x). */
export const log = neuron('Log', (p) => expLogAttrs(p.sub('log_param'), 'Log'));
/** x > threshold ? 1 : 0. */
export const threshold = neuron('Threshold', (p) => ({ threshold: p.sub('threshold_param').num('threshold') }));
/** min(max(x, min), max). */
export const clip = neuron('Clip', (p) => {
  const cp = p.sub('clip_param');
  check(cp.has('min') && cp.has('max'), 'Clip needs both min and max');
  check(cp.num('min') <= cp.num('max'), `Clip min ${cp.num('min')} is above max ${cp.num('max')}`);
  return { min: cp.num('min'), max: cp.num('max') };
});
/** x * sigmoid(beta x). */
export const swish = neuron('Swish', (p) => ({ beta: p.sub('swish_param').num('beta') }));
/** Dropout: identity at inference. */
export const dropout = neuron('Dropout', (p) => {
  const dp = p.sub('dropout_param');
  const ratio = dp.num('dropout_ratio');
  check(ratio >= 0 && ratio < 1, `dropout_ratio must be in [0, 1), got ${ratio}`);
  return { ratio };
});

/** PReLU: learned slope per channel ([C]) or one shared ([], a single value). */
export const prelu: LayerDef<'PReLU'> = {
  type: 'PReLU',
  bottoms: [1, 1],
  tops: [1, 1],
  build(p, inputs) {
    const input = inputs[0];
    check(input.length >= 2, `PReLU needs at least (N, C), got ${fmt(input)}`);
    const channelShared = p.sub('prelu_param').bool('channel_shared');
    // A shared slope is a 0-axis blob (one value), as Caffe stores it.
    return { attrs: { channelShared }, outputs: sameShape(inputs), blobs: [channelShared ? [] : [input[1]]] };
  },
};
