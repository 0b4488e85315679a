/**
 * The network IR: typed layers over named tensors. Everything here is plain, JSON-able data: it is
 * what the native backends receive (with the weights as typed arrays beside it).
 *
 * Tensor names are unique (static single assignment): where Caffe writes a top in place
 * (`top == bottom`), the value before the write is renamed `<top>#<k>` (k = 0, 1, ... in write
 * order) and the last value written keeps the plain Caffe name, so the names users know (`prob`,
 * `conv1` after its ReLU) name the final values.
 */
import type { SourceLoc } from '../caffe/message';

/** A tensor shape: N, C, H, W for images (any rank in general). */
export type Shape = readonly number[];

/** Layer types of the IR: every BVLC layer type usable in a deploy network. */
export const LAYER_TYPES = [
  'Input',
  'Convolution',
  'Deconvolution',
  'Pooling',
  'LRN',
  'ReLU',
  'PReLU',
  'ELU',
  'Sigmoid',
  'TanH',
  'AbsVal',
  'Power',
  'BNLL',
  'Exp',
  'Log',
  'Threshold',
  'InnerProduct',
  'Softmax',
  'Dropout',
  'Concat',
  'Eltwise',
  'BatchNorm',
  'Scale',
  'Bias',
  'Flatten',
  'Reshape',
  'Split',
  'Slice',
  'Crop',
  'ArgMax',
  'MVN',
  'Tile',
  'ShuffleChannel',
  'Permute',
  'Normalize',
  'PriorBox',
  'DetectionOutput',
  'Upsample',
  'Interp',
  'Reduction',
  'Embed',
  'Clip',
  'Swish',
  'Plugin',
  'ROIPooling',
  'PSROIPooling',
  'Proposal',
] as const;

/** One of LAYER_TYPES. */
export type LayerType = (typeof LAYER_TYPES)[number];

/** Layer types that exist only for training; a deploy view drops them (data layers become inputs). */
export const TRAINING_ONLY_TYPES: ReadonlySet<string> = new Set([
  'Data',
  'ImageData',
  'HDF5Data',
  'MemoryData',
  'WindowData',
  'DummyData',
  'HDF5Output',
  'SoftmaxWithLoss',
  'EuclideanLoss',
  'HingeLoss',
  'SigmoidCrossEntropyLoss',
  'InfogainLoss',
  'ContrastiveLoss',
  'MultinomialLogisticLoss',
  'Accuracy',
  'Silence',
]);

/** Data layers among TRAINING_ONLY_TYPES: their tops become network inputs in the deploy view. */
export const DATA_LAYER_TYPES: ReadonlySet<string> = new Set(['Data', 'ImageData', 'HDF5Data', 'MemoryData', 'WindowData', 'DummyData']);

/** Convolution and deconvolution (N-D spatial; lists hold one value per spatial axis). */
export interface ConvAttrs {
  readonly numOutput: number;
  readonly kernel: readonly number[];
  readonly stride: readonly number[];
  readonly pad: readonly number[];
  readonly dilation: readonly number[];
  readonly group: number;
  readonly biasTerm: boolean;
  /** Channel axis (1 unless the file says otherwise). */
  readonly axis: number;
}

/** Pooling over H and W. */
export interface PoolAttrs {
  readonly method: 'MAX' | 'AVE' | 'STOCHASTIC';
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly pad: readonly [number, number];
  readonly global: boolean;
  /** Caffe's rounding of the output size: CEIL (default) or FLOOR. */
  readonly roundMode: 'CEIL' | 'FLOOR';
}

/** Local response normalisation. */
export interface LRNAttrs {
  readonly localSize: number;
  readonly alpha: number;
  readonly beta: number;
  readonly k: number;
  readonly region: 'ACROSS_CHANNELS' | 'WITHIN_CHANNEL';
}

/** Fully connected layer: out = x W^T + b over the dims from `axis` on. */
export interface InnerProductAttrs {
  readonly numOutput: number;
  readonly biasTerm: boolean;
  readonly axis: number;
  /** Weights stored [K, N] instead of [N, K]. */
  readonly transpose: boolean;
  /** Number of inputs per output (K). */
  readonly inputSize: number;
}

/**
 * SSD's PriorBox, resolved: every value the boxes depend on, so backends need no parameter rules.
 * Boxes per cell: for each min size, the min box, the sqrt(min * max) box (when max sizes are
 * given), then one box per aspect ratio other than 1 (docs/network.md, "Detection layers").
 */
export interface PriorBoxAttrs {
  readonly minSizes: readonly number[];
  readonly maxSizes: readonly number[];
  /** The aspect ratios with 1 first, duplicates removed and flipped ratios added (Caffe's order). */
  readonly aspectRatios: readonly number[];
  readonly clip: boolean;
  /** Four variances (one given value is repeated). */
  readonly variances: readonly number[];
  readonly imageHeight: number;
  readonly imageWidth: number;
  readonly stepH: number;
  readonly stepW: number;
  readonly offset: number;
  /** Feature map height and width (of input 0). */
  readonly layerHeight: number;
  readonly layerWidth: number;
  /** Boxes per feature map cell. */
  readonly priorsPerCell: number;
}

/** SSD's DetectionOutput: box decoding, per-class NMS and keep_top_k, rows of [image, label, score, xmin, ymin, xmax, ymax]. */
export interface DetectionOutputAttrs {
  readonly numClasses: number;
  readonly shareLocation: boolean;
  /** -1: no background class. */
  readonly backgroundLabelId: number;
  readonly nmsThreshold: number;
  /** Candidates per class kept for NMS; -1: all. */
  readonly topK: number;
  readonly eta: number;
  readonly codeType: 'CORNER' | 'CENTER_SIZE' | 'CORNER_SIZE';
  readonly varianceEncodedInTarget: boolean;
  /** OpenCV's `clip`: decoded boxes clamped to [0, 1] (before NMS). */
  readonly clip: boolean;
  /** Detections kept per image over all classes; -1: all. */
  readonly keepTopK: number;
  /** Scores must be above it; -3.4028234663852886e38 (-FLT_MAX) when the file gives none. */
  readonly confidenceThreshold: number;
  readonly numPriors: number;
  /** Rows of the output per image: the most detections one image can have. */
  readonly maxDetections: number;
}

/** Attributes per layer type. */
export interface LayerAttrsMap {
  Input: { readonly shapes: readonly Shape[] };
  Convolution: ConvAttrs;
  Deconvolution: ConvAttrs;
  Pooling: PoolAttrs;
  LRN: LRNAttrs;
  ReLU: { readonly negativeSlope: number };
  PReLU: { readonly channelShared: boolean };
  ELU: { readonly alpha: number };
  Sigmoid: Record<string, never>;
  TanH: Record<string, never>;
  AbsVal: Record<string, never>;
  Power: { readonly power: number; readonly scale: number; readonly shift: number };
  BNLL: Record<string, never>;
  /** y = base ^ (shift + scale * x); base -1 means e. */
  Exp: { readonly base: number; readonly scale: number; readonly shift: number };
  /** y = log_base(shift + scale * x); base -1 means e. */
  Log: { readonly base: number; readonly scale: number; readonly shift: number };
  Threshold: { readonly threshold: number };
  InnerProduct: InnerProductAttrs;
  Softmax: { readonly axis: number };
  Dropout: { readonly ratio: number };
  Concat: { readonly axis: number };
  Eltwise: { readonly operation: 'PROD' | 'SUM' | 'MAX'; readonly coeff: readonly number[] };
  BatchNorm: { readonly eps: number; readonly useGlobalStats: boolean; readonly channels: number };
  Scale: {
    readonly axis: number;
    readonly numAxes: number;
    readonly biasTerm: boolean;
    readonly scaleShape: Shape;
    readonly fromInput: boolean;
  };
  Bias: { readonly axis: number; readonly numAxes: number; readonly biasShape: Shape; readonly fromInput: boolean };
  Flatten: { readonly axis: number; readonly endAxis: number };
  Reshape: { readonly shape: readonly number[]; readonly axis: number; readonly numAxes: number };
  Split: Record<string, never>;
  Slice: { readonly axis: number; readonly points: readonly number[] };
  Crop: { readonly axis: number; readonly offsets: readonly number[] };
  ArgMax: { readonly outMaxVal: boolean; readonly topK: number; readonly axis?: number };
  MVN: { readonly normalizeVariance: boolean; readonly acrossChannels: boolean; readonly eps: number };
  Tile: { readonly axis: number; readonly tiles: number };
  ShuffleChannel: { readonly group: number };
  /** SSD's Permute: output axis i is input axis order[i]; order covers every axis, batch first. */
  Permute: { readonly order: readonly number[] };
  /** SSD's Normalize: L2 norm over C x H x W per image (acrossSpatial) or over C per pixel, then a learned scale. */
  Normalize: { readonly acrossSpatial: boolean; readonly channelShared: boolean; readonly eps: number };
  PriorBox: PriorBoxAttrs;
  DetectionOutput: DetectionOutputAttrs;
  /**
   * Upsample: 'nearest' (one input; output (y, x) reads input (floor(y H / H_out), floor(x W / W_out)),
   * YOLOv3's form) or 'unpool' (SegNet / ENet: a second input holds each value's argmax index in the
   * output plane, as MAX pooling's mask top gives it; every other output is 0).
   */
  Upsample: { readonly mode: 'nearest' | 'unpool' };
  /**
   * Interp (DeepLab / PSPNet): bilinear resize with aligned corners of the input cropped by
   * -padBeg at the top-left and -padEnd at the bottom-right (pads are <= 0).
   */
  Interp: { readonly padBeg: number; readonly padEnd: number };
  Reduction: { readonly operation: 'SUM' | 'ASUM' | 'SUMSQ' | 'MEAN'; readonly axis: number; readonly coeff: number };
  Embed: { readonly numOutput: number; readonly inputDim: number; readonly biasTerm: boolean };
  Clip: { readonly min: number; readonly max: number };
  Swish: { readonly beta: number };
  /**
   * A layer a loaded plugin library implements (lib/network/plugins.ts): its Caffe type, the
   * library's name and version (plans record them), its parameters as a JSON object.
   */
  Plugin: { readonly pluginType: string; readonly pluginLibrary: string; readonly pluginVersion: number; readonly params: string };
  /**
   * Fast R-CNN's ROIPooling: each region [n, x1, y1, x2, y2] (image pixels; corners rounded after
   * scaling by spatialScale) max-pooled into pooledH x pooledW bins of image n's feature map.
   */
  ROIPooling: { readonly pooledH: number; readonly pooledW: number; readonly spatialScale: number };
  /** R-FCN's position-sensitive ROI pooling: bin (i, j) of output channel c averages input channel (c g + i) g + j. */
  PSROIPooling: { readonly outputDim: number; readonly groupSize: number; readonly spatialScale: number };
  /**
   * py-faster-rcnn's RPN proposal layer (a Python layer in Caffe): anchors (base 16, ratios,
   * scales) at every feature cell, decoded by the box deltas, clipped to the image, small boxes
   * dropped, the best preNmsTopN by score, greedy NMS, the first postNmsTopN kept.
   */
  Proposal: {
    readonly featStride: number;
    readonly scales: readonly number[];
    readonly ratios: readonly number[];
    readonly preNmsTopN: number;
    readonly postNmsTopN: number;
    readonly nmsThresh: number;
    readonly minSize: number;
  };
}

/** A layer of type T. Tensor names refer to Network.tensors. */
export interface Layer<T extends LayerType = LayerType> {
  readonly name: string;
  readonly type: T;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs: LayerAttrsMap[T];
  /** Shapes of the learned blobs this layer needs, in Caffe's blob order (weights, bias ...). */
  readonly blobs: readonly Shape[];
  /** Multiply-accumulates for the whole batch (see docs/network.md for what counts). */
  readonly macs: number;
  /** Where the layer is defined, when it came from a text file. */
  readonly loc?: SourceLoc;
}

/** Any layer, discriminated by `type`. */
export type AnyLayer = { [T in LayerType]: Layer<T> }[LayerType];

/** A named value flowing between layers. */
export interface Tensor {
  /** Unique IR name. */
  readonly name: string;
  /** The Caffe top name (equal to `name` except for values overwritten in place). */
  readonly caffeName: string;
  readonly shape: Shape;
  /** Name of the layer that writes it. */
  readonly producer: string;
  /** Names of the layers that read it, in order (explicit fan-out). */
  readonly consumers: readonly string[];
  /**
   * Rows per image: 1 for image tensors; R for the region tensors of Faster R-CNN (Proposal's
   * rois, ROIPooling's output and the layers after it), whose dimension 0 is batch x R.
   */
  readonly rows: number;
}

/**
 * Caffe's transform_param (TransformationParameter) on the layer that produces a network input:
 * how the images of its data layer are turned into the input (DataTransformer). Only fields the
 * file sets are present, except the flags.
 */
export interface InputTransform {
  /** The layer that carries it (an Input or data layer). */
  readonly layer: string;
  readonly scale?: number;
  /** Per-channel means (mean_value; one value means every channel). */
  readonly meanValue: readonly number[];
  /** mean_file, as the file writes it (a path relative to where Caffe ran). */
  readonly meanFile?: string;
  readonly cropSize?: number;
  /** Random mirroring: a training-time augmentation. */
  readonly mirror: boolean;
  readonly forceColor: boolean;
  readonly forceGray: boolean;
}

/** Name and shape of a network input or output. */
export interface TensorInfo {
  readonly name: string;
  readonly shape: Shape;
}

/** Number of elements of a shape. */
export function volume(shape: Shape, from = 0, to = shape.length): number {
  let n = 1;
  for (let i = from; i < to; i++) n *= shape[i];
  return n;
}
