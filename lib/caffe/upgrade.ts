/**
 * Format upgrades of Caffe network definitions, as named steps in the order Caffe applies them:
 *
 *   upgradeV0PaddingLayers   V0 `padding` layers folded into the convolution that follows
 *   upgradeV0ToV1            `layers { layer { type: "conv" ... } }` to `layers { type: CONVOLUTION }`
 *   upgradeDataTransform     scale / mean_file / crop_size / mirror of data layers to transform_param
 *   upgradeV1ToCurrent       `layers { type: CONVOLUTION }` to `layer { type: "Convolution" }`
 *   upgradeInputFields       `input:` + `input_dim:` / `input_shape` to an Input layer
 *
 * then filterByPhase applies include / exclude rules (NetStateRule) for a NetState.
 * Each step works on a NetParameter Message in place and returns a note when it changed anything.
 */
import { ParseError } from '../errors';
import { caffeSchema } from './caffe_schema';
import { Message, type SourceLoc } from './message';

function newMessage(type: string, loc?: SourceLoc): Message {
  return new Message(caffeSchema, caffeSchema.message(type), loc);
}

function fail(loc: SourceLoc | undefined, problem: string, expected = ''): never {
  throw new ParseError(loc ?? { file: '<net>', line: 0, col: 1 }, problem, undefined, expected);
}

/** V0 layer type strings and their V1 enum values. */
const V0_TYPES: Readonly<Record<string, string>> = {
  accuracy: 'ACCURACY',
  bnll: 'BNLL',
  concat: 'CONCAT',
  conv: 'CONVOLUTION',
  data: 'DATA',
  dropout: 'DROPOUT',
  euclidean_loss: 'EUCLIDEAN_LOSS',
  flatten: 'FLATTEN',
  hdf5_data: 'HDF5_DATA',
  hdf5_output: 'HDF5_OUTPUT',
  im2col: 'IM2COL',
  images: 'IMAGE_DATA',
  infogain_loss: 'INFOGAIN_LOSS',
  innerproduct: 'INNER_PRODUCT',
  lrn: 'LRN',
  multinomial_logistic_loss: 'MULTINOMIAL_LOGISTIC_LOSS',
  pool: 'POOLING',
  relu: 'RELU',
  sigmoid: 'SIGMOID',
  softmax: 'SOFTMAX',
  softmax_loss: 'SOFTMAX_LOSS',
  split: 'SPLIT',
  tanh: 'TANH',
  window_data: 'WINDOW_DATA',
};

/** V1 LayerType enum values and the current type strings. */
export const V1_TYPES: Readonly<Record<string, string>> = {
  ABSVAL: 'AbsVal',
  ACCURACY: 'Accuracy',
  ARGMAX: 'ArgMax',
  BNLL: 'BNLL',
  CONCAT: 'Concat',
  CONTRASTIVE_LOSS: 'ContrastiveLoss',
  CONVOLUTION: 'Convolution',
  DECONVOLUTION: 'Deconvolution',
  DATA: 'Data',
  DROPOUT: 'Dropout',
  DUMMY_DATA: 'DummyData',
  EUCLIDEAN_LOSS: 'EuclideanLoss',
  ELTWISE: 'Eltwise',
  EXP: 'Exp',
  FLATTEN: 'Flatten',
  HDF5_DATA: 'HDF5Data',
  HDF5_OUTPUT: 'HDF5Output',
  HINGE_LOSS: 'HingeLoss',
  IM2COL: 'Im2col',
  IMAGE_DATA: 'ImageData',
  INFOGAIN_LOSS: 'InfogainLoss',
  INNER_PRODUCT: 'InnerProduct',
  LRN: 'LRN',
  MEMORY_DATA: 'MemoryData',
  MULTINOMIAL_LOGISTIC_LOSS: 'MultinomialLogisticLoss',
  MVN: 'MVN',
  POOLING: 'Pooling',
  POWER: 'Power',
  RELU: 'ReLU',
  SIGMOID: 'Sigmoid',
  SIGMOID_CROSS_ENTROPY_LOSS: 'SigmoidCrossEntropyLoss',
  SILENCE: 'Silence',
  SOFTMAX: 'Softmax',
  SOFTMAX_LOSS: 'SoftmaxWithLoss',
  SPLIT: 'Split',
  SLICE: 'Slice',
  TANH: 'TanH',
  WINDOW_DATA: 'WindowData',
  THRESHOLD: 'Threshold',
};

/**
 * Where each V0 field goes, per V0 layer type: [V1 parameter message field, field in it].
 * A V0 field set on a type missing here is an error, as in Caffe.
 */
const V0_FIELDS: Readonly<Record<string, Readonly<Record<string, readonly [string, string]>>>> = {
  num_output: { conv: ['convolution_param', 'num_output'], innerproduct: ['inner_product_param', 'num_output'] },
  biasterm: { conv: ['convolution_param', 'bias_term'], innerproduct: ['inner_product_param', 'bias_term'] },
  weight_filler: { conv: ['convolution_param', 'weight_filler'], innerproduct: ['inner_product_param', 'weight_filler'] },
  bias_filler: { conv: ['convolution_param', 'bias_filler'], innerproduct: ['inner_product_param', 'bias_filler'] },
  pad: { conv: ['convolution_param', 'pad'], pool: ['pooling_param', 'pad'] },
  kernelsize: { conv: ['convolution_param', 'kernel_size'], pool: ['pooling_param', 'kernel_size'] },
  group: { conv: ['convolution_param', 'group'] },
  stride: { conv: ['convolution_param', 'stride'], pool: ['pooling_param', 'stride'] },
  pool: { pool: ['pooling_param', 'pool'] },
  dropout_ratio: { dropout: ['dropout_param', 'dropout_ratio'] },
  local_size: { lrn: ['lrn_param', 'local_size'] },
  alpha: { lrn: ['lrn_param', 'alpha'] },
  beta: { lrn: ['lrn_param', 'beta'] },
  k: { lrn: ['lrn_param', 'k'] },
  source: {
    data: ['data_param', 'source'],
    hdf5_data: ['hdf5_data_param', 'source'],
    images: ['image_data_param', 'source'],
    window_data: ['window_data_param', 'source'],
    infogain_loss: ['infogain_loss_param', 'source'],
  },
  scale: { data: ['data_param', 'scale'], images: ['image_data_param', 'scale'], window_data: ['window_data_param', 'scale'] },
  meanfile: {
    data: ['data_param', 'mean_file'],
    images: ['image_data_param', 'mean_file'],
    window_data: ['window_data_param', 'mean_file'],
  },
  batchsize: {
    data: ['data_param', 'batch_size'],
    hdf5_data: ['hdf5_data_param', 'batch_size'],
    images: ['image_data_param', 'batch_size'],
    window_data: ['window_data_param', 'batch_size'],
  },
  cropsize: {
    data: ['data_param', 'crop_size'],
    images: ['image_data_param', 'crop_size'],
    window_data: ['window_data_param', 'crop_size'],
  },
  mirror: { data: ['data_param', 'mirror'], images: ['image_data_param', 'mirror'], window_data: ['window_data_param', 'mirror'] },
  rand_skip: { data: ['data_param', 'rand_skip'], images: ['image_data_param', 'rand_skip'] },
  shuffle_images: { images: ['image_data_param', 'shuffle'] },
  new_height: { images: ['image_data_param', 'new_height'] },
  new_width: { images: ['image_data_param', 'new_width'] },
  concat_dim: { concat: ['concat_param', 'concat_dim'] },
  det_fg_threshold: { window_data: ['window_data_param', 'fg_threshold'] },
  det_bg_threshold: { window_data: ['window_data_param', 'bg_threshold'] },
  det_fg_fraction: { window_data: ['window_data_param', 'fg_fraction'] },
  det_context_pad: { window_data: ['window_data_param', 'context_pad'] },
  det_crop_mode: { window_data: ['window_data_param', 'crop_mode'] },
  hdf5_output_param: { hdf5_output: ['hdf5_output_param', ''] },
};

/** The format a network file was written in. */
export type NetFormat = 'current' | 'V1' | 'V0';

/** The oldest format used by the layers of `net`. */
export function detectFormat(net: Message): NetFormat {
  const v1 = net.msgs('layers');
  if (v1.some((l) => l.has('layer'))) return 'V0';
  if (v1.length > 0) return 'V1';
  return 'current';
}

/** V0: a `padding` layer followed by convolutions (or pooling) becomes `pad` on those layers. */
export function upgradeV0PaddingLayers(net: Message): string | undefined {
  const layers = net.msgs('layers');
  const padding = layers.filter((l) => l.has('layer') && l.sub('layer').str('type') === 'padding');
  if (padding.length === 0) return undefined;
  for (const pad of padding) {
    const v0 = pad.sub('layer');
    const bottoms = pad.strs('bottom');
    const tops = pad.strs('top');
    if (bottoms.length !== 1 || tops.length !== 1) {
      fail(pad.loc, `V0 padding layer '${v0.str('name')}' must have one bottom and one top`);
    }
    for (const consumer of layers) {
      if (consumer === pad || !consumer.strs('bottom').includes(tops[0])) continue;
      const cv0 = consumer.sub('layer');
      if (cv0.str('type') !== 'conv' && cv0.str('type') !== 'pool') {
        fail(
          consumer.loc,
          `V0 padding layer '${v0.str('name')}' feeds '${cv0.str('name')}' (type ${cv0.str('type')}); ` +
            'only convolution and pooling layers can absorb V0 padding',
        );
      }
      cv0.set('pad', v0.num('pad'));
      const rewired = consumer.strs('bottom').map((b) => (b === tops[0] ? bottoms[0] : b));
      consumer.clear('bottom');
      for (const b of rewired) consumer.push('bottom', b);
    }
  }
  const kept = layers.filter((l) => !padding.includes(l));
  net.clear('layers');
  for (const l of kept) net.push('layers', l, l.loc);
  return `folded ${padding.length} V0 padding layer(s) into the convolutions that follow`;
}

/** V0 to V1: each `layers { layer { ... } bottom top }` becomes a V1LayerParameter. */
export function upgradeV0ToV1(net: Message): string | undefined {
  if (detectFormat(net) !== 'V0') return undefined;
  const upgraded: Message[] = [];
  for (const wrapper of net.msgs('layers')) {
    if (!wrapper.has('layer')) {
      fail(wrapper.loc, 'this file mixes V0 layers (`layers { layer { ... } }`) with V1 layers', 'one format');
    }
    const v0 = wrapper.sub('layer');
    const v1 = newMessage('V1LayerParameter', wrapper.loc);
    for (const b of wrapper.strs('bottom')) v1.push('bottom', b);
    for (const t of wrapper.strs('top')) v1.push('top', t);
    const v0type = v0.str('type');
    for (const field of v0.presentFields()) {
      const value = v0.raw(field);
      if (field === 'name') v1.set('name', v0.str('name'));
      else if (field === 'type') {
        const t = V0_TYPES[v0type];
        if (t === undefined) {
          fail(v0.loc, `unknown V0 layer type '${v0type}' in layer '${v0.str('name')}'`, `one of ${Object.keys(V0_TYPES).join(', ')}`);
        }
        v1.set('type', t);
      } else if (field === 'blobs' || field === 'blobs_lr' || field === 'weight_decay') {
        for (const v of value as Message[] | number[]) v1.push(field, v);
      } else {
        const target = V0_FIELDS[field]?.[v0type];
        if (target === undefined) {
          fail(
            v0.loc,
            `V0 layer '${v0.str('name')}' of type '${v0type}' has field '${field}', ` + 'which that type does not take',
            'fields of its type',
          );
        }
        const [paramField, inner] = target;
        if (inner === '') {
          v1.set(paramField, value as Message);
          continue;
        }
        const param = v1.msg(paramField) ?? newMessage(v1.field(paramField).typeName as string);
        v1.set(paramField, param);
        if (param.field(inner).repeated) param.push(inner, value as number);
        else param.set(inner, value as number | string | boolean | Message);
      }
    }
    upgraded.push(v1);
  }
  net.clear('layers');
  for (const l of upgraded) net.push('layers', l, l.loc);
  return 'upgraded V0 layers (layers { layer { ... } }) to V1';
}

const DATA_PARAMS: ReadonlyArray<readonly [string, string]> = [
  ['data_param', 'DATA'],
  ['image_data_param', 'IMAGE_DATA'],
  ['window_data_param', 'WINDOW_DATA'],
];
const TRANSFORM_FIELDS = ['scale', 'mean_file', 'crop_size', 'mirror'] as const;

/** Data layers' scale / mean_file / crop_size / mirror move to transform_param (V1 and current layers). */
export function upgradeDataTransform(net: Message): string | undefined {
  let moved = 0;
  for (const layer of [...net.msgs('layers'), ...net.msgs('layer')]) {
    for (const [paramField] of DATA_PARAMS) {
      const param = layer.msg(paramField);
      if (param === undefined) continue;
      for (const f of TRANSFORM_FIELDS) {
        if (!param.has(f)) continue;
        const transform = layer.msg('transform_param') ?? newMessage('TransformationParameter');
        layer.set('transform_param', transform);
        transform.set(f, param.raw(f) as number | string | boolean);
        param.clear(f);
        moved++;
      }
    }
  }
  return moved > 0 ? `moved ${moved} data-transformation field(s) to transform_param` : undefined;
}

/** V1 to current: `layers { type: CONVOLUTION }` becomes `layer { type: "Convolution" }`. */
export function upgradeV1ToCurrent(net: Message): string | undefined {
  const v1layers = net.msgs('layers');
  if (v1layers.length === 0) return undefined;
  if (net.msgs('layer').length > 0) {
    fail(net.locOf('layer'), 'this file has both `layer` and `layers` (V1) entries', 'one or the other');
  }
  const current = v1layers.map(upgradeV1Layer);
  net.clear('layers');
  for (const l of current) net.push('layer', l, l.loc);
  return 'upgraded V1 layers (layers { type: ENUM }) to the current format';
}

function upgradeV1Layer(v1: Message): Message {
  const layer = newMessage('LayerParameter', v1.loc);
  const lp = caffeSchema.message('LayerParameter');
  const params: Message[] = [];
  const paramAt = (i: number): Message => {
    while (params.length <= i) params.push(newMessage('ParamSpec'));
    return params[i];
  };
  for (const field of v1.presentFields()) {
    const value = v1.raw(field);
    switch (field) {
      case 'type': {
        const t = V1_TYPES[v1.str('type')];
        if (t === undefined) fail(v1.loc, `V1 layer '${v1.str('name')}' has type ${v1.str('type')}, which has no current form`);
        layer.set('type', t);
        break;
      }
      case 'param':
        v1.strs('param').forEach((name, i) => paramAt(i).set('name', name));
        break;
      case 'blob_share_mode':
        v1.strs('blob_share_mode').forEach((mode, i) => paramAt(i).set('share_mode', mode));
        break;
      case 'blobs_lr':
        v1.nums('blobs_lr').forEach((v, i) => paramAt(i).set('lr_mult', v));
        break;
      case 'weight_decay':
        v1.nums('weight_decay').forEach((v, i) => paramAt(i).set('decay_mult', v));
        break;
      case 'layer':
        fail(v1.loc, `layer '${v1.str('name')}' still holds a V0 layer`);
        break;
      default: {
        if (!lp.byName.has(field)) fail(v1.loc, `V1 field '${field}' has no place in the current format`);
        if (Array.isArray(value)) for (const v of value) layer.push(field, v);
        else layer.set(field, value as Message);
      }
    }
  }
  for (const p of params) layer.push('param', p);
  return layer;
}

/** `input:` with `input_dim:` (4 per input) or `input_shape { }` becomes one Input layer in front. */
export function upgradeInputFields(net: Message): string | undefined {
  const inputs = net.strs('input');
  const dims = net.nums('input_dim');
  const shapes = net.msgs('input_shape');
  if (inputs.length === 0) {
    if (dims.length > 0 || shapes.length > 0) {
      fail(net.locOf(dims.length > 0 ? 'input_dim' : 'input_shape'), 'input dimensions given without `input:` names', "an 'input:' field");
    }
    return undefined;
  }
  if (dims.length > 0 && shapes.length > 0) {
    fail(net.locOf('input_dim'), 'both input_dim and input_shape are given', 'one of them');
  }
  if (dims.length === 0 && shapes.length === 0) {
    // `input:` names without dimensions mark a legacy file whose inputs come from elsewhere (an
    // Input layer, or the caller): Caffe drops the field, and so do we.
    net.clear('input');
    return `ignored the legacy 'input: ${inputs.join(', ')}' field, which gives no dimensions`;
  }
  const layer = newMessage('LayerParameter', net.locOf('input'));
  layer.set('name', 'input');
  layer.set('type', 'Input');
  const param = newMessage('InputParameter');
  for (const name of inputs) layer.push('top', name);
  if (shapes.length > 0) {
    if (shapes.length !== inputs.length) {
      fail(net.locOf('input_shape'), `${inputs.length} input(s) but ${shapes.length} input_shape block(s)`, 'one per input');
    }
    for (const s of shapes) param.push('shape', s);
  } else {
    if (dims.length !== 4 * inputs.length) {
      fail(
        net.locOf('input_dim'),
        `${inputs.length} input(s) need ${4 * inputs.length} input_dim values, found ${dims.length}`,
        'four input_dim values (N, C, H, W) per input',
      );
    }
    for (let i = 0; i < inputs.length; i++) {
      const shape = newMessage('BlobShape');
      for (const d of dims.slice(4 * i, 4 * i + 4)) shape.push('dim', d);
      param.push('shape', shape);
    }
  }
  layer.set('input_param', param);
  const rest = net.msgs('layer');
  net.clear('layer');
  net.push('layer', layer, layer.loc);
  for (const l of rest) net.push('layer', l, l.loc);
  net.clear('input');
  net.clear('input_dim');
  net.clear('input_shape');
  return `turned the legacy input fields into an Input layer ('${inputs.join("', '")}')`;
}

/** Runs every upgrade step in order; returns the format found and the notes of the steps that acted. */
export function upgradeNet(net: Message): { format: NetFormat; notes: string[] } {
  const format = detectFormat(net);
  const notes: string[] = [];
  for (const step of [upgradeV0PaddingLayers, upgradeV0ToV1, upgradeDataTransform, upgradeV1ToCurrent, upgradeInputFields]) {
    const note = step(net);
    if (note !== undefined) notes.push(note);
  }
  return { format, notes };
}

/** The state a network is instantiated in (Caffe's NetState): phase, level, stages. */
export interface NetStateOptions {
  /** 'TEST' by default: the deploy view. */
  readonly phase?: 'TRAIN' | 'TEST';
  readonly level?: number;
  readonly stages?: readonly string[];
}

function meetsRule(rule: Message, phase: string, level: number, stages: readonly string[]): boolean {
  if (rule.has('phase') && rule.str('phase') !== phase) return false;
  if (rule.has('min_level') && level < rule.num('min_level')) return false;
  if (rule.has('max_level') && level > rule.num('max_level')) return false;
  if (rule.strs('stage').some((s) => !stages.includes(s))) return false;
  if (rule.strs('not_stage').some((s) => stages.includes(s))) return false;
  return true;
}

/**
 * Keeps the layers whose include / exclude rules admit the state (Caffe's FilterNet). The state
 * starts from the file's own `state { }` and the options override it. Returns the removed layers.
 */
export function filterByPhase(net: Message, options: NetStateOptions = {}): Message[] {
  const fileState = net.msg('state');
  const phase = options.phase ?? (fileState?.has('phase') === true ? fileState.str('phase') : 'TEST');
  const level = options.level ?? fileState?.num('level') ?? 0;
  const stages = options.stages ?? fileState?.strs('stage') ?? [];
  const kept: Message[] = [];
  const removed: Message[] = [];
  for (const layer of net.msgs('layer')) {
    const include = layer.msgs('include');
    const exclude = layer.msgs('exclude');
    if (include.length > 0 && exclude.length > 0) {
      fail(layer.loc, `layer '${layer.str('name')}' has both include and exclude rules`, 'one kind of rule');
    }
    const keep =
      include.length > 0
        ? include.some((r) => meetsRule(r, phase, level, stages))
        : !exclude.some((r) => meetsRule(r, phase, level, stages));
    if (keep) kept.push(layer);
    else removed.push(layer);
  }
  net.clear('layer');
  for (const l of kept) net.push('layer', l, l.loc);
  return removed;
}
