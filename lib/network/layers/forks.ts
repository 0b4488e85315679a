/**
 * Layers of Caffe's forks that run as an IR layer of another type. Most fold their learned blobs
 * on load into a Scale: ENet / SegNet's `BN` (scale and shift), PSPNet's `BN` (slope, bias, mean
 * and variance) and NVCaffe's `BatchNorm` with `scale_bias` (mean, variance, factor, scale and
 * bias). At inference each is a per-channel y = a x + b, so each becomes one IR Scale with a bias:
 * every backend, the fusions (a Scale after a convolution folds into it) and the tensorrt mapping
 * take it as it is. The weights file keeps the fork's blobs; `FileBlobs` says which they are and
 * folds them into (a, b) in float64. MobileNet V2 ports' `ReLU6` is a Clip to [0, 6].
 * Semantics: docs/network.md, "Layers of Caffe's forks".
 */
import type { Message } from '../../caffe/message';
import { TensorRTNodeError } from '../../errors';
import { LAYER_TYPES, TRAINING_ONLY_TYPES, volume, type LayerType, type Shape } from '../types';
import { check, fmt, sameShape, type BuildResult } from './common';

/** The blobs a weights file holds for a folded layer, and how they become the Scale's scale and bias. */
export interface FileBlobs {
  /** The layouts the file may hold, each a list of blob shapes (matched by element count), in the order tried. */
  readonly layouts: ReadonlyArray<readonly Shape[]>;
  /** What the file's blobs are, in the last layout's order, for messages. */
  readonly names: readonly string[];
  /** The Scale's blobs (scale, bias) from the file's, which matched layout `layout`. */
  convert(blobs: readonly Float32Array[], layout: number): Float32Array[];
}

/** A BuildResult of any one IR type. */
type AnyBuildResult = { [T in LayerType]: BuildResult<T> }[LayerType];

/**
 * What a fork layer becomes: the IR layer's attributes and shapes, its file blobs when they differ,
 * and what the graph's notes say of it ("BN (...) runs as a Scale ..."; layers with the same note
 * are listed in one).
 */
export interface Lowering {
  readonly result: AnyBuildResult;
  readonly file?: FileBlobs;
  readonly note?: string;
}

/** A fork layer type that runs as an IR layer of type `irType`. */
export interface ForkDef {
  readonly irType: LayerType;
  readonly bottoms: readonly [number, number];
  readonly tops: readonly [number, number];
  build(param: Message, inputs: readonly Shape[]): Lowering;
  /** The parameter message and fields of the fillers of the IR layer's blobs ('filler' weights). */
  fillers?(param: Message): readonly [string, readonly string[]];
}

/**
 * Type names of Caffe forks that are an IR type with a fixed parameter: the depthwise convolution
 * layers of MobileNet ports (`ConvolutionDepthwise`, `DepthwiseConvolution`) are Convolutions with
 * group = the input's channels, whatever `group` the file gives.
 */
export const DEPTHWISE_TYPES: ReadonlySet<string> = new Set(['ConvolutionDepthwise', 'DepthwiseConvolution']);

/** Fork type names that are not IR types (NVCaffe's BatchNorm is one, with scale_bias), and the IR type each runs as. */
export const FORK_TYPES: Readonly<Record<string, LayerType>> = { BN: 'Scale', ReLU6: 'Clip', Python: 'Proposal' };

/** Every type name the package has built in: IR types, fork aliases, training-only types (plugins come on top). */
export const BUILT_IN_LAYER_TYPES: ReadonlySet<string> = new Set([
  ...LAYER_TYPES,
  ...DEPTHWISE_TYPES,
  ...Object.keys(FORK_TYPES),
  ...TRAINING_ONLY_TYPES,
]);

const ENET_FIELDS = ['scale_filler', 'shift_filler', 'bn_mode'];
const PSPNET_FIELDS = ['slope_filler', 'bias_filler', 'momentum', 'eps', 'frozen', 'engine'];

/** The fork definition `layer` uses, or undefined: `BN`, and `BatchNorm` with NVCaffe's scale and bias. */
export function forkOf(layer: Message): ForkDef | undefined {
  const type = layer.str('type');
  if (type === 'BN') return bnForm(layer) === 'pspnet' ? pspnetBN : enetBN;
  if (type === 'ReLU6') return relu6;
  if (type === 'BatchNorm' && hasScaleBias(layer.sub('batch_norm_param'))) return nvcaffeBatchNorm;
  return undefined;
}

function hasScaleBias(bp: Message): boolean {
  return bp.bool('scale_bias') || bp.has('scale_filler') || bp.has('bias_filler');
}

/**
 * Which fork's BN a layer is, from the fields it sets (their names differ); with none, four `param`
 * entries (PSPNet's files give one per blob) mean PSPNet, anything else ENet (whose default mode,
 * LEARN, is then refused with the fix).
 */
function bnForm(layer: Message): 'enet' | 'pspnet' {
  const bp = layer.sub('bn_param');
  const enet = ENET_FIELDS.filter((f) => bp.has(f));
  const pspnet = PSPNET_FIELDS.filter((f) => bp.has(f));
  if (enet.length > 0 && pspnet.length > 0) {
    throw new TensorRTNodeError(
      'E_UNSUPPORTED_LAYER',
      `layer '${layer.str('name')}' (BN) mixes ENet / SegNet's bn_param fields (${enet.join(', ')}) with ` +
        `PSPNet's (${pspnet.join(', ')}); they are two different layers: keep the fields of the one the weights come from`,
    );
  }
  if (pspnet.length > 0) return 'pspnet';
  if (enet.length > 0) return 'enet';
  return layer.msgs('param').length === 4 ? 'pspnet' : 'enet';
}

/** A Scale with a bias over axis 1 of `inputs[0]`: y = x a[c] + b[c]. */
function channelScale(inputs: readonly Shape[], what: string): { result: BuildResult<'Scale'>; channels: number } {
  const input = inputs[0];
  check(input.length >= 2, `${what} needs an input with channels (N, C, ...), got ${fmt(input)}`);
  const channels = input[1];
  const result: BuildResult<'Scale'> = {
    attrs: { axis: 1, numAxes: 1, biasTerm: true, scaleShape: [channels], fromInput: false },
    outputs: [input],
    blobs: [[channels], [channels]],
  };
  return { result, channels };
}

/** a = scale / sqrt(variance + eps), b = bias - mean a, in float64. */
function fold(scale: Float32Array, bias: Float32Array, mean: Float32Array, variance: Float32Array, eps: number): Float32Array[] {
  const a = new Float32Array(scale.length);
  const b = new Float32Array(scale.length);
  for (let c = 0; c < scale.length; c++) {
    const inv = 1 / Math.sqrt(variance[c] + eps);
    a[c] = scale[c] * inv;
    b[c] = bias[c] - mean[c] * scale[c] * inv;
  }
  return [a, b];
}

const perChannel = (c: number): Shape => [1, c, 1, 1];

/** ENet / SegNet's BN: in INFERENCE mode y = x scale[c] + shift[c] (statistics folded in by ENet's script). */
const enetBN: ForkDef = {
  irType: 'Scale',
  bottoms: [1, 1],
  tops: [1, 1],
  build(p, inputs) {
    const name = p.str('name');
    if (p.sub('bn_param').str('bn_mode') !== 'INFERENCE') {
      throw new TensorRTNodeError(
        'E_UNSUPPORTED_LAYER',
        `layer '${name}' (BN, ENet / SegNet's) is in bn_mode LEARN, which normalises every batch with its own ` +
          "statistics, even at test time; fold the statistics into its scale and shift (ENet's " +
          'compute_bn_statistics.py writes such weights) and set bn_param { bn_mode: INFERENCE }',
      );
    }
    const { result, channels } = channelScale(inputs, 'BN');
    return {
      result,
      file: {
        layouts: [[perChannel(channels), perChannel(channels)]],
        names: ['scale', 'shift'],
        convert: (blobs) => blobs.map((b) => Float32Array.from(b)),
      },
      note: "BN (ENet / SegNet's, INFERENCE) runs as a Scale with a bias",
    };
  },
  fillers: () => ['bn_param', ['scale_filler', 'shift_filler']],
};

/** PSPNet's BN: y = slope[c] (x - mean[c]) / sqrt(var[c] + eps) + bias[c] at test time (frozen or not). */
const pspnetBN: ForkDef = {
  irType: 'Scale',
  bottoms: [1, 1],
  tops: [1, 1],
  build(p, inputs) {
    const eps = p.sub('bn_param').num('eps');
    check(eps > 0, `BN eps must be > 0, got ${eps}`);
    const { result, channels } = channelScale(inputs, 'BN');
    const c = perChannel(channels);
    return {
      result,
      file: {
        layouts: [[c, c, c, c]],
        names: ['slope', 'bias', 'mean', 'variance'],
        convert: ([slope, bias, mean, variance]) => fold(slope, bias, mean, variance, eps),
      },
      note: `BN (PSPNet's) runs as a Scale with a bias, its statistics folded in (eps ${+eps.toPrecision(6)})`,
    };
  },
  fillers: () => ['bn_param', ['slope_filler', 'bias_filler']],
};

/**
 * NVCaffe's BatchNorm with scale_bias: y = (x - mean[c]) / sqrt(var[c] + eps) scale[c] + bias[c],
 * eps at least 1e-5 as NVCaffe raises it. Blobs mean, variance, factor (unused with five blobs, as
 * NVCaffe's loader has it), scale, bias; or DIGITS' older order scale, bias, mean, variance and a
 * one-value fifth blob, which NVCaffe recognises by that last blob (tried first, as NVCaffe does).
 */
const nvcaffeBatchNorm: ForkDef = {
  irType: 'Scale',
  bottoms: [1, 1],
  tops: [1, 1],
  build(p, inputs) {
    const eps = Math.max(p.sub('batch_norm_param').num('eps'), 1e-5);
    const { result, channels } = channelScale(inputs, 'BatchNorm');
    const c: Shape = [channels];
    return {
      result,
      file: {
        layouts: [
          [c, c, c, c, [1]],
          [c, c, [1], c, c],
        ],
        names: ['mean', 'variance', 'factor', 'scale', 'bias'],
        convert: (b, layout) => (layout === 0 ? fold(b[0], b[1], b[2], b[3], eps) : fold(b[3], b[4], b[0], b[1], eps)),
      },
      note: `BatchNorm with NVCaffe's scale_bias runs as a Scale with a bias, its statistics folded in (eps ${+eps.toPrecision(6)})`,
    };
  },
  fillers: () => ['batch_norm_param', ['scale_filler', 'bias_filler']],
};

/** MobileNet V2 ports' ReLU6: min(max(x, 0), 6), a Clip (in place like any neuron). */
const relu6: ForkDef = {
  irType: 'Clip',
  bottoms: [1, 1],
  tops: [1, 1],
  build: (_p, inputs) => ({ result: { attrs: { min: 0, max: 6 }, outputs: sameShape(inputs) } }),
};

/** The index of the first layout of `file` that `shapes` match by element count, or -1. */
export function matchLayout(file: FileBlobs, shapes: ReadonlyArray<readonly number[]>): number {
  return file.layouts.findIndex((layout) => layout.length === shapes.length && layout.every((s, i) => volume(s) === volume(shapes[i])));
}
