/**
 * The execution graph: what every backend builds an engine from, and what a plan file stores.
 *
 * planExecGraph turns a Network (the IR) into nodes over tensors with per-image dimensions (the
 * batch is the leading dimension of every tensor and is chosen at run time, up to maxBatchSize):
 *   - Input layers become graph inputs; Dropout and Split disappear (their tops alias their bottom);
 *   - with `optimize` (the default), BatchNorm / Scale / Bias layers that only follow a
 *     Convolution, Deconvolution or InnerProduct fold into it, and a ReLU that only follows a
 *     Convolution, Deconvolution, InnerProduct or Eltwise fuses into its epilogue;
 *   - each node gets a precision; in INT8, tensors between INT8 nodes are stored as int8 with a
 *     per-tensor scale, Quantize nodes turn float tensors into int8 ones for INT8 nodes, and an
 *     INT8 node whose output a float node reads writes it as float
 *     (docs/int8.md is the contract of every INT8 node);
 *   - with `preprocess`, an image input is taken as uint8 pixels [H, W, C] and a leading Preprocess
 *     node turns them into the network's float input (Caffe's test-phase transform: centre crop,
 *     channel swap, (x - mean) * scale); in INT8 it also does the input's Quantize.
 * The graph is plain JSON; weights travel beside it as Float32Arrays in `weights` order.
 */
import { ShapeError, TensorRTNodeError } from '../errors';
import type { AnyLayer, Network, Shape } from '../network';
import { volume } from '../network';
import {
  isPlannerNode,
  nodePrecisions,
  ioDtype,
  type DType,
  type ExecGraph,
  type ExecNode,
  type ExecOp,
  type ExecTensor,
  type ExecWeight,
  type FoldedAffine,
  type FusedActivation,
  type IoDType,
  type Precision,
} from '../runtime/graph_format';

export {
  isPlannerNode,
  nodePrecisions,
  ioDtype,
  type DType,
  type ExecGraph,
  type ExecNode,
  type ExecOp,
  type ExecTensor,
  type ExecWeight,
  type FoldedAffine,
  type FusedActivation,
  type IoDType,
  type Precision,
};

/**
 * A Preprocess node in front of a network input [C, H, W]: the engine takes uint8 images
 * [imageSize[0], imageSize[1], C] instead, under the input's name. Output (c, h, w) is
 * (image[h + offset[0], w + offset[1], swapChannels ? C - 1 - c : c] - mean) * scale in float32,
 * mean being mean[c] or, with meanImage, the weight `<input>/preprocess/0` [C, H_in, W_in] at
 * (c, h + offset[0], w + offset[1]). lib/builder/input_format.ts makes these from build options.
 */
export interface PreprocessSpec {
  /** The network input (IR name). */
  readonly input: string;
  /** [H_in, W_in] of the images. */
  readonly imageSize: readonly [number, number];
  /** The crop window's first row and column. */
  readonly offset: readonly [number, number];
  readonly swapChannels: boolean;
  /** A float32 value. */
  readonly scale: number;
  /** Per-channel means (C float32 values); absent with meanImage. */
  readonly mean?: readonly number[];
  /** The mean is a per-pixel image (a weight of the node). */
  readonly meanImage?: boolean;
}

/** The name of the Preprocess node in front of input `input`, and of its mean image weight. */
export function preprocessNames(input: string): { readonly node: string; readonly meanImage: string } {
  return { node: `${input}/preprocess`, meanImage: `${input}/preprocess/0` };
}

/** Options of planExecGraph. */
export interface PlanOptions {
  readonly precision: Precision;
  readonly maxBatchSize: number;
  /** Fold BatchNorm / Scale / Bias and fuse ReLU (default true). */
  readonly optimize?: boolean;
  /**
   * INT8: quantization steps (scale = amax / 127) by tensor name: the IR name, or the Caffe top
   * name (which then applies to every value an in-place chain writes under it, as in TensorRT's
   * calibration caches). Zero means no range.
   */
  readonly int8Scales?: Readonly<Record<string, number>>;
  /** Take an image input as uint8 pixels, preprocessed on the device. */
  readonly preprocess?: PreprocessSpec;
}

/**
 * A tensor that a node able to run in INT8 reads or writes but that has no INT8 scale (not listed,
 * and not given one by the scale rules): the node runs in FP32 instead.
 */
export interface UnscaledTensor {
  /** The tensor's Caffe name (what calibration caches list). */
  readonly tensor: string;
  /** The nodes that would run in INT8 with a scale for it. */
  readonly nodes: readonly string[];
}

/** An INT8 execution graph, and the tensors its scales left out. */
export interface Int8Plan {
  readonly graph: ExecGraph;
  readonly unscaled: readonly UnscaledTensor[];
}

/** Ops that run in INT8 when their inputs have scales (see docs/int8.md). */
const INT8_OPS: ReadonlySet<string> = new Set([
  'Convolution',
  'InnerProduct',
  'Pooling',
  'ReLU',
  'Concat',
  'Eltwise',
  'Flatten',
  'Reshape',
  'LRN',
]);
/** INT8 ops whose output keeps the input's scale (TensorRT's rule for pooling and friends). */
const SCALE_PRESERVING: ReadonlySet<string> = new Set(['Pooling', 'ReLU', 'Flatten', 'Reshape']);
/** Ops that can absorb a following per-channel affine layer and a ReLU. */
const GEMM_OPS: ReadonlySet<string> = new Set(['Convolution', 'Deconvolution', 'InnerProduct']);

/**
 * Per-image dimensions of every tensor. Engines take the batch at run time, so every tensor must
 * keep the batch in dimension 0: checked by comparing the IR at batch 1 and batch 2.
 */
export function perImageDims(net: Network): Map<string, number[]> {
  const one = net.withBatchSize(1);
  const two = net.withBatchSize(2);
  const dims = new Map<string, number[]>();
  for (const [name, t1] of one.tensors) {
    const t2 = two.tensors.get(name)?.shape as Shape;
    // Region tensors lead with batch x rows.
    const separable =
      t1.shape.length >= 1 &&
      t1.shape[0] === t1.rows &&
      t2[0] === 2 * t1.rows &&
      t1.shape.length === t2.length &&
      t1.shape.every((d, i) => i === 0 || d === t2[i]);
    if (!separable) {
      throw new ShapeError(
        `tensor '${name}' of layer '${t1.producer}' does not keep the batch in dimension 0 ` +
          `(shape [${t1.shape.join(', ')}] at batch 1, [${t2.join(', ')}] at batch 2): engines need every tensor to lead ` +
          'with the batch',
        t1.producer,
      );
    }
    dims.set(name, t1.shape.slice(1));
  }
  // Learned blobs cannot depend on the batch either (a Scale over axis 0, or one whose operand
  // includes the batch, learns one value per image).
  one.layers.forEach((l, i) => {
    const other = two.layers[i];
    const same =
      l.blobs.length === other.blobs.length &&
      l.blobs.every((b, j) => b.length === other.blobs[j].length && b.every((d, k) => d === other.blobs[j][k]));
    if (!same) {
      throw new ShapeError(
        `layer '${l.name}' (${l.type}) has learned blobs whose shape depends on the batch ` +
          `([${l.blobs.map((b) => `[${b.join(', ')}]`).join(', ')}] at batch 1): engines need batch-independent weights`,
        l.name,
      );
    }
  });
  return dims;
}

interface Draft {
  layer: AnyLayer;
  inputs: string[];
  outputs: string[];
  fold: FoldedAffine[];
  activation?: FusedActivation;
}

/** Builds the execution graph of `net` (see the module comment). */
export function planExecGraph(net: Network, options: PlanOptions): ExecGraph {
  return planWithCoverage(net, options).graph;
}

/**
 * Builds the INT8 execution graph of `net` and lists the tensors without a scale that keep
 * INT8-capable nodes in FP32 (a tensor listed with scale 0, "no range", is not one of them: the
 * calibrator measured it). The builder refuses a build with any unless mixed precision is allowed.
 */
export function planInt8Graph(net: Network, options: Omit<PlanOptions, 'precision'>): Int8Plan {
  return planWithCoverage(net, { ...options, precision: 'int8' });
}

/**
 * The graph with its float inputs and/or outputs crossing as float16 (hostDtype): the backends
 * convert on the device (cpu: at the copy). uint8 inputs keep their form.
 */
export function withIoFormats(
  graph: ExecGraph,
  formats: { readonly inputs?: 'float32' | 'float16'; readonly outputs?: 'float32' | 'float16' } | undefined,
): ExecGraph {
  const half = new Set<number>();
  if (formats?.inputs === 'float16')
    graph.inputs.forEach((id) => {
      if (graph.tensors[id].dtype === 'float32') half.add(id);
    });
  if (formats?.outputs === 'float16') graph.outputs.forEach((id) => half.add(id));
  if (half.size === 0) return graph;
  return { ...graph, tensors: graph.tensors.map((t, id) => (half.has(id) ? { ...t, hostDtype: 'float16' as const } : t)) };
}

function planWithCoverage(net: Network, options: PlanOptions): Int8Plan {
  const dims = perImageDims(net);
  const { layers, kept, resolve } = liveLayers(net);
  const drafts = fuseLayers(net, kept, resolve, dims, options.optimize !== false);
  const graph = emitGraph(net, { layers, drafts, resolve, dims }, options);
  const pre = options.preprocess;
  if (options.precision !== 'int8') return { graph: pre === undefined ? graph : withPreprocess(graph, pre), unscaled: [] };
  const { graph: int8, unscaled } = withInt8Scales(net, graph, options.int8Scales ?? {});
  return { graph: pre === undefined ? int8 : withPreprocess(int8, pre), unscaled };
}

/**
 * The layers that become nodes (Dropout, Split and Input do not: a Dropout or Split top is its
 * bottom, `resolve` follows those aliases), and the check that every convolution's channels follow
 * the batch.
 */
function liveLayers(net: Network): { layers: readonly AnyLayer[]; kept: AnyLayer[]; resolve: (t: string) => string } {
  const layers = net.withBatchSize(1).layers;
  const alias = new Map<string, string>();
  const resolve = (t: string): string => {
    let x = t;
    while (alias.has(x)) x = alias.get(x) as string;
    return x;
  };
  for (const l of layers) {
    if (l.type === 'Dropout' || l.type === 'Split') for (const o of l.outputs) alias.set(o, l.inputs[0]);
  }
  const kept = layers.filter((l) => l.type !== 'Dropout' && l.type !== 'Split' && l.type !== 'Input');
  for (const l of kept) {
    if ((l.type === 'Convolution' || l.type === 'Deconvolution') && l.attrs.axis !== 1) {
      throw new TensorRTNodeError(
        'E_UNSUPPORTED_LAYER',
        `layer '${l.name}' (${l.type}) convolves over channel axis ` +
          `${l.attrs.axis}; engines run convolutions whose channels follow the batch (axis 1)`,
      );
    }
  }
  return { layers, kept, resolve };
}

/** One draft node per kept layer; with `optimize`, affine layers and a ReLU fused into the layer before them. */
function fuseLayers(
  net: Network,
  kept: readonly AnyLayer[],
  resolve: (t: string) => string,
  dims: ReadonlyMap<string, number[]>,
  optimize: boolean,
): Draft[] {
  const outputsOfNet = new Set(net.outputs.map((o) => o.name));
  const consumers = new Map<string, AnyLayer[]>();
  for (const l of kept) for (const i of l.inputs) consumers.set(resolve(i), [...(consumers.get(resolve(i)) ?? []), l]);
  const isOutput = (t: string) => [...outputsOfNet].some((o) => resolve(o) === t);
  const soleConsumer = (t: string): AnyLayer | undefined => {
    const c = consumers.get(t) ?? [];
    return c.length === 1 && !isOutput(t) ? c[0] : undefined;
  };
  const absorbed = new Set<string>();
  const drafts: Draft[] = [];
  for (const l of kept) {
    if (absorbed.has(l.name)) continue;
    const draft: Draft = { layer: l, inputs: l.inputs.map(resolve), outputs: l.outputs.map(resolve), fold: [] };
    if (optimize && GEMM_OPS.has(l.type) && l.outputs.length === 1) {
      let out = resolve(l.outputs[0]);
      for (;;) {
        const next = soleConsumer(out);
        const affine = next === undefined ? undefined : asFoldable(next, dims.get(out) as number[], l);
        if (next === undefined || affine === undefined || draft.activation !== undefined) break;
        draft.fold.push(affine);
        absorbed.add(next.name);
        out = resolve(next.outputs[0]);
      }
      draft.outputs = [out];
    }
    if (optimize && (GEMM_OPS.has(l.type) || l.type === 'Eltwise') && draft.outputs.length === 1) {
      const next = soleConsumer(draft.outputs[0]);
      if (next !== undefined && next.type === 'ReLU') {
        draft.activation = { type: 'ReLU', negativeSlope: next.attrs.negativeSlope };
        absorbed.add(next.name);
        draft.outputs = [resolve(next.outputs[0])];
      }
    }
    drafts.push(draft);
  }
  return drafts;
}

/** The execution graph of the drafts: tensors in first-use order (inputs first), nodes, weights. */
function emitGraph(
  net: Network,
  plan: { layers: readonly AnyLayer[]; drafts: readonly Draft[]; resolve: (t: string) => string; dims: ReadonlyMap<string, number[]> },
  options: PlanOptions,
): ExecGraph {
  const { layers, drafts, resolve, dims } = plan;
  const tensorIds = new Map<string, number>();
  const tensors: Array<{ name: string; dims: number[]; dtype: DType; scale?: number; rows?: number }> = [];
  const tensorId = (name: string): number => {
    let id = tensorIds.get(name);
    if (id === undefined) {
      id = tensors.length;
      tensorIds.set(name, id);
      const rows = net.tensors.get(name)?.rows ?? 1;
      tensors.push({ name, dims: dims.get(name) as number[], dtype: 'float32', ...(rows > 1 ? { rows } : {}) });
    }
    return id;
  };
  const inputs = net.inputs.map((i) => tensorId(i.name));
  const weights: ExecWeight[] = [];
  const weightIds = (layer: AnyLayer): number[] =>
    layer.blobs.map((shape, i) => {
      weights.push({ name: `${layer.name}/${i}`, dims: [...shape] });
      return weights.length - 1;
    });
  const byName = new Map(layers.map((l) => [l.name, l]));
  const nodes: Array<{ -readonly [K in keyof ExecNode]: ExecNode[K] }> = drafts.map((d) => ({
    name: d.layer.name,
    op: d.layer.type as ExecOp,
    inputs: d.inputs.map(tensorId),
    outputs: d.outputs.map(tensorId),
    attrs: d.layer.attrs as unknown as Record<string, unknown>,
    weights: weightIds(d.layer),
    precision: options.precision === 'int8' ? 'fp32' : options.precision,
    ...(d.fold.length > 0 ? { fold: d.fold.map((f) => ({ ...f, weights: weightIds(byName.get(f.layer) as AnyLayer) })) } : {}),
    ...(d.activation !== undefined ? { activation: d.activation } : {}),
  }));
  const outputs = net.outputs.map((o) => tensorId(resolve(o.name)));

  const graph: ExecGraph = {
    format: 1,
    name: net.name,
    precision: options.precision,
    maxBatchSize: options.maxBatchSize,
    tensors,
    inputs,
    outputs,
    nodes,
    weights,
  };
  return graph;
}

/** `graph` with the INT8 scales `given` (by tensor or Caffe blob name) and the tensors left without one. */
function withInt8Scales(net: Network, graph: ExecGraph, given: Readonly<Record<string, number>>): Int8Plan {
  const caffeName = (name: string): string => net.tensors.get(name)?.caffeName ?? name;
  const listed = (name: string): number | undefined => {
    const own = (key: string) => Object.prototype.hasOwnProperty.call(given, key);
    return own(name) ? given[name] : own(caffeName(name)) ? given[caffeName(name)] : undefined;
  };
  const scaleFor = (name: string): number | undefined => {
    const s = listed(name);
    return s !== undefined && Number.isFinite(s) && s > 0 ? Math.fround(s) : undefined;
  };
  const { graph: int8, unscaled } = assignInt8(graph, scaleFor, (name) => listed(name) !== undefined);
  const byTensor = new Map<string, string[]>();
  for (const u of unscaled) byTensor.set(caffeName(u.tensor), [...(byTensor.get(caffeName(u.tensor)) ?? []), ...u.nodes]);
  return { graph: int8, unscaled: [...byTensor].map(([tensor, nodes]) => ({ tensor, nodes: [...new Set(nodes)] })) };
}

/**
 * `graph` with input `spec.input` taken as uint8 images: the input keeps its id and name but
 * becomes uint8 [H_in, W_in, C]; a Preprocess node, first, writes what its readers read. When the
 * only reader is the input's Quantize (INT8), the Preprocess quantizes itself (the same float32
 * value, then docs/int8.md's division) and writes the int8 tensor in its place; otherwise it writes
 * a new float tensor `<input>/preprocessed`.
 */
function withPreprocess(graph: ExecGraph, spec: PreprocessSpec): ExecGraph {
  const id = graph.tensors.findIndex((t) => t.name === spec.input);
  if (id < 0 || !graph.inputs.includes(id)) throw new ShapeError(`cannot preprocess '${spec.input}': it is not an input of the network`);
  const input = graph.tensors[id];
  const [h, w] = spec.imageSize;
  const [top, left] = spec.offset;
  if (input.dims.length !== 3 || top < 0 || left < 0 || top + input.dims[1] > h || left + input.dims[2] > w) {
    throw new ShapeError(
      `cannot preprocess '${spec.input}' [${input.dims.join(', ')}] from ${h}x${w} images at offset ` +
        `(${top}, ${left}): an image input is [C, H, W] inside the image`,
    );
  }
  const channels = input.dims[0];
  if (spec.meanImage !== true && spec.mean !== undefined && spec.mean.length !== channels) {
    throw new ShapeError(`cannot preprocess '${spec.input}': ${spec.mean.length} mean values for ${channels} channels`);
  }
  const tensors: ExecTensor[] = [...graph.tensors];
  tensors[id] = { name: input.name, dims: [h, w, channels], dtype: 'uint8' };
  const readers = graph.nodes.filter((n) => n.inputs.includes(id));
  const fuse = readers.length === 1 && readers[0].op === 'Quantize' && !graph.outputs.includes(id);
  let out: number;
  if (fuse) {
    out = readers[0].outputs[0];
  } else {
    out = tensors.length;
    tensors.push({ name: `${input.name}/preprocessed`, dims: input.dims, dtype: 'float32' });
  }
  const redirect = (t: number) => (t === id ? out : t);
  const weights = [...graph.weights];
  const { node: name, meanImage } = preprocessNames(input.name);
  if (spec.meanImage === true) weights.push({ name: meanImage, dims: [channels, h, w] });
  const node: ExecNode = {
    name,
    op: 'Preprocess',
    inputs: [id],
    outputs: [out],
    attrs: {
      swapChannels: spec.swapChannels,
      offset: [top, left],
      scale: Math.fround(spec.scale),
      ...(spec.meanImage === true ? {} : { mean: (spec.mean ?? new Array<number>(channels).fill(0)).map(Math.fround) }),
    },
    weights: spec.meanImage === true ? [weights.length - 1] : [],
    precision: fuse ? 'int8' : graph.precision === 'int8' ? 'fp32' : graph.precision,
  };
  const nodes = graph.nodes.filter((n) => !(fuse && n === readers[0])).map((n) => ({ ...n, inputs: n.inputs.map(redirect) }));
  return { ...graph, tensors, nodes: [node, ...nodes], weights, outputs: graph.outputs.map(redirect) };
}

/** The affine description of `layer` when it can fold into `producer`'s output channels. */
function asFoldable(layer: AnyLayer, inputDims: readonly number[], producer: AnyLayer): FoldedAffine | undefined {
  const channels = inputDims[0];
  // Per-channel over dimension 1 of the full shape (dimension 0 of the per-image dims) only.
  const perChannel = (shape: Shape) => shape.length >= 1 && shape[0] === channels && volume(shape) === channels;
  if (producer.type === 'Deconvolution' && producer.attrs.group !== 1) return undefined;
  switch (layer.type) {
    case 'BatchNorm':
      return layer.attrs.channels === channels && layer.attrs.useGlobalStats
        ? { type: 'BatchNorm', layer: layer.name, eps: layer.attrs.eps, weights: [] }
        : undefined;
    case 'Scale':
      return !layer.attrs.fromInput && layer.attrs.axis === 1 && perChannel(layer.attrs.scaleShape)
        ? { type: 'Scale', layer: layer.name, weights: [], biasTerm: layer.attrs.biasTerm }
        : undefined;
    case 'Bias':
      return !layer.attrs.fromInput && layer.attrs.axis === 1 && perChannel(layer.attrs.biasShape)
        ? { type: 'Bias', layer: layer.name, weights: [] }
        : undefined;
    default:
      return undefined;
  }
}

/**
 * INT8 storage: nodes of INT8-capable ops whose inputs all have scales run in INT8; a tensor is
 * int8 when its producer and all its consumers are INT8 nodes; Quantize nodes feed INT8 nodes
 * from float tensors. Scale rules (TensorRT's): the inputs of a Concat take the Concat's scale
 * (so an INT8 concat copies), passed back through scale-preserving producers; Pooling, ReLU,
 * Flatten and Reshape outputs keep their input's scale.
 */
function assignInt8(graph: ExecGraph, scaleFor: (name: string) => number | undefined, listed: (name: string) => boolean): Int8Plan {
  const tensors = graph.tensors.map((t) => ({ ...t }));
  const scaleOf = new Map<number, number>();
  tensors.forEach((t, id) => {
    const s = scaleFor(t.name);
    if (s !== undefined) scaleOf.set(id, s);
  });
  const nodes = graph.nodes.map((n) => ({ ...n }));
  const producerOf = new Map<number, (typeof nodes)[number]>();
  const readers = new Map<number, number>();
  for (const n of nodes) {
    for (const o of n.outputs) producerOf.set(o, n);
    for (const i of n.inputs) readers.set(i, (readers.get(i) ?? 0) + 1);
  }
  // Concat inputs share the concat's scale; a scale-preserving producer read only by the concat
  // takes it too, back to where the scale is free to change.
  const shared = new Set<number>();
  for (const n of nodes) {
    if (n.op !== 'Concat' || !scaleOf.has(n.outputs[0])) continue;
    const s = scaleOf.get(n.outputs[0]) as number;
    for (let t of n.inputs) {
      if (shared.has(t)) continue;
      for (;;) {
        scaleOf.set(t, s);
        shared.add(t);
        const p = producerOf.get(t);
        if (p === undefined || !SCALE_PRESERVING.has(p.op) || readers.get(p.inputs[0]) !== 1 || shared.has(p.inputs[0])) break;
        t = p.inputs[0];
      }
    }
  }
  // Scale-preserving ops pass their input scale on, in graph order.
  for (const n of nodes) {
    if (SCALE_PRESERVING.has(n.op) && scaleOf.has(n.inputs[0])) scaleOf.set(n.outputs[0], scaleOf.get(n.inputs[0]) as number);
  }
  const unscaled: UnscaledTensor[] = [];
  for (const n of nodes) {
    const capable =
      INT8_OPS.has(n.op) &&
      !(n.op === 'Pooling' && (n.attrs as { method: string }).method === 'STOCHASTIC') &&
      !(n.op === 'Eltwise' && (n.attrs as { operation: string }).operation !== 'SUM');
    const missing = [...n.inputs, ...n.outputs].filter((t) => !scaleOf.has(t));
    n.precision = capable && missing.length === 0 ? 'int8' : 'fp32';
    if (capable) {
      for (const t of missing) if (!listed(tensors[t].name)) unscaled.push({ tensor: tensors[t].name, nodes: [n.name] });
    }
  }
  const producer = new Map<number, (typeof nodes)[number]>();
  const users = new Map<number, Array<(typeof nodes)[number]>>();
  for (const n of nodes) {
    for (const o of n.outputs) producer.set(o, n);
    for (const i of n.inputs) users.set(i, [...(users.get(i) ?? []), n]);
  }
  const outputs = new Set(graph.outputs);
  tensors.forEach((t, id) => {
    const p = producer.get(id);
    const u = users.get(id) ?? [];
    if (p !== undefined && p.precision === 'int8' && !outputs.has(id) && u.length > 0 && u.every((c) => c.precision === 'int8')) {
      t.dtype = 'int8';
      t.scale = scaleOf.get(id);
    }
  });
  // Quantize nodes: one per float tensor that INT8 nodes read.
  const quantized = new Map<number, number>();
  const result: Array<(typeof nodes)[number]> = [];
  const quantizeBefore = (node: (typeof nodes)[number]) => {
    node.inputs = node.inputs.map((id) => {
      if (tensors[id].dtype === 'int8') return id;
      let q = quantized.get(id);
      if (q === undefined) {
        q = tensors.length;
        const rows = tensors[id].rows;
        tensors.push({
          name: `${tensors[id].name}/int8`,
          dims: tensors[id].dims,
          dtype: 'int8',
          scale: scaleOf.get(id),
          ...(rows !== undefined ? { rows } : {}),
        });
        quantized.set(id, q);
        const qnode = {
          name: `${tensors[id].name}/quantize`,
          op: 'Quantize' as ExecOp,
          inputs: [id],
          outputs: [q],
          attrs: {},
          weights: [],
          precision: 'int8' as Precision,
        };
        result.push(qnode);
      }
      return q;
    });
  };
  for (const n of nodes) {
    if (n.precision === 'int8') quantizeBefore(n);
    // Float nodes never see int8 tensors: by construction an int8 tensor has only INT8 users,
    // and an INT8 node whose output a float node reads writes that output as float.
    result.push(n);
  }
  return { graph: { ...graph, tensors, nodes: result }, unscaled };
}
