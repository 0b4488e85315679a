/** The registry of IR layer definitions, keyed by Caffe type string. */
import { TensorRTNodeError } from '../../errors';
import type { LayerType } from '../types';
import { absVal, bnll, clip, dropout, elu, exp, log, power, prelu, relu, sigmoid, swish, tanh, threshold } from './activation';
import type { LayerDef } from './common';
import { convolution, deconvolution } from './conv';
import { embed, innerProduct } from './dense';
import { detectionOutput, priorBox } from './detection';
import { batchNorm, bias, lrn, mvn, normalize, scale } from './normalization';
import { pooling } from './pool';
import { interp, upsample } from './resize';
import { proposal, psroiPooling, roiPooling } from './roi';
import { argMax, reduction, softmax } from './reduce';
import { concat, crop, eltwise, flatten, input, permute, reshape, shuffleChannel, slice, split, tile } from './structure';

export type { LayerDef, BuildResult } from './common';

/**
 * Plugin: the IR type of layers a loaded plugin library implements, which keep their own Caffe
 * type names (graph.ts builds them through the library). A file naming the type itself is refused.
 */
const plugin: LayerDef<'Plugin'> = {
  type: 'Plugin',
  bottoms: [0, Infinity],
  tops: [0, Infinity],
  build(p) {
    throw new TensorRTNodeError(
      'E_UNSUPPORTED_LAYER',
      `layer '${p.str('name')}' has type 'Plugin', the IR's name for plugin layers; a plugin layer keeps the Caffe ` +
        'type its library implements (load the library with loadPlugin and use that type)',
    );
  },
};

/** Every layer definition, by type. */
export const LAYER_DEFS: { readonly [T in LayerType]: LayerDef<T> } = {
  Input: input,
  Convolution: convolution,
  Deconvolution: deconvolution,
  Pooling: pooling,
  LRN: lrn,
  ReLU: relu,
  PReLU: prelu,
  ELU: elu,
  Sigmoid: sigmoid,
  TanH: tanh,
  AbsVal: absVal,
  Power: power,
  BNLL: bnll,
  Exp: exp,
  Log: log,
  Threshold: threshold,
  InnerProduct: innerProduct,
  Softmax: softmax,
  Dropout: dropout,
  Concat: concat,
  Eltwise: eltwise,
  BatchNorm: batchNorm,
  Scale: scale,
  Bias: bias,
  Flatten: flatten,
  Reshape: reshape,
  Split: split,
  Slice: slice,
  Crop: crop,
  ArgMax: argMax,
  MVN: mvn,
  Tile: tile,
  ShuffleChannel: shuffleChannel,
  Permute: permute,
  Normalize: normalize,
  PriorBox: priorBox,
  DetectionOutput: detectionOutput,
  Upsample: upsample,
  Interp: interp,
  Reduction: reduction,
  Embed: embed,
  Clip: clip,
  Swish: swish,
  Plugin: plugin,
  ROIPooling: roiPooling,
  PSROIPooling: psroiPooling,
  Proposal: proposal,
};
