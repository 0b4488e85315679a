/**
 * From a Caffe network definition to the IR: the deploy view (training-only layers dropped, data
 * layers turned into inputs), unique tensor names for in-place layers, explicit fan-out, and shape
 * inference layer by layer with Caffe's rules.
 */
import { caffeSchema, formatLoc, Message, type CaffeNetDefinition } from '../caffe';
import { argumentError, ParseError, ShapeError, UnsupportedLayerError } from '../errors';
import { LAYER_DEFS } from './layers';
import { BUILT_IN_LAYER_TYPES, DEPTHWISE_TYPES, FORK_TYPES, forkOf, type FileBlobs, type ForkDef } from './layers/forks';
import { pluginLayer, pluginShapes, pluginTypes } from './plugins';
import { DATA_LAYER_TYPES, TRAINING_ONLY_TYPES, type AnyLayer, type LayerType, type Shape, type Tensor, type TensorInfo } from './types';

/** Options of buildGraph. */
export interface GraphOptions {
  /** Input shapes by input name; they replace the file's (and are required for Data layers' tops). */
  readonly inputShapes?: Readonly<Record<string, readonly number[]>>;
  /** Replaces dimension 0 (the batch) of every input. */
  readonly batchSize?: number;
}

/** The IR of a network at one set of input shapes. */
export interface Graph {
  readonly name: string;
  /** Layers in execution order. */
  readonly layers: readonly AnyLayer[];
  readonly tensors: ReadonlyMap<string, Tensor>;
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  /** What the deploy view changed (dropped layers, data layers made inputs). */
  readonly notes: readonly string[];
  /** The LayerParameter of each IR layer, by layer name (weights code reads fillers from it). */
  readonly params: ReadonlyMap<string, Message>;
  /** Layers of Caffe's forks folded into a Scale: the blobs their weights file holds, by layer name. */
  readonly fileBlobs: ReadonlyMap<string, FileBlobs>;
}

/** Every type name the importer knows: IR types, their fork aliases, the training-only types it drops and loaded plugins' types. */
export function knownLayerTypes(): string[] {
  return [...BUILT_IN_LAYER_TYPES, ...pluginTypes()].sort();
}

/** The IR type of a Caffe type name, or undefined for types the IR does not have. */
function irType(type: string): LayerType | undefined {
  if (DEPTHWISE_TYPES.has(type)) return 'Convolution';
  if (Object.prototype.hasOwnProperty.call(FORK_TYPES, type)) return FORK_TYPES[type];
  if (Object.prototype.hasOwnProperty.call(LAYER_DEFS, type)) return type as LayerType;
  return pluginLayer(type) !== undefined ? 'Plugin' : undefined;
}

/** A loaded plugin's layer type as a fork definition: its arity, attributes and the library's shapes. */
function pluginFork(layer: Message): ForkDef | undefined {
  const info = pluginLayer(layer.str('type'));
  if (info === undefined) return undefined;
  return {
    irType: 'Plugin',
    bottoms: [info.minInputs, info.maxInputs],
    tops: [info.outputs, info.outputs],
    build: (p, inputs) => ({ result: pluginShapes(info, p, inputs) }),
  };
}

function isLayerType(type: string): boolean {
  return irType(type) !== undefined;
}

function where(layer: Message): string {
  return formatLoc(layer.loc);
}

/** Shape of a data layer's top when the file says it (MemoryData, DummyData); else undefined. */
function dataTopShape(layer: Message, topIndex: number): number[] | undefined {
  const type = layer.str('type');
  if (type === 'MemoryData') {
    const m = layer.sub('memory_data_param');
    if (!m.has('batch_size')) return undefined;
    // Caffe's MemoryData: data (N, C, H, W) and label (N).
    if (topIndex === 1) return [m.num('batch_size')];
    if (topIndex !== 0 || !['channels', 'height', 'width'].every((f) => m.has(f))) return undefined;
    return [m.num('batch_size'), m.num('channels'), m.num('height'), m.num('width')];
  }
  if (type === 'DummyData') {
    const d = layer.sub('dummy_data_param');
    const shapes = d.msgs('shape');
    if (shapes.length > 0) return shapes[shapes.length === 1 ? 0 : topIndex]?.nums('dim');
    const pick = (f: string) => {
      const v = d.nums(f);
      return v.length === 1 ? v[0] : v[topIndex];
    };
    const dims = ['num', 'channels', 'height', 'width'].map(pick);
    return dims.every((x) => x !== undefined) ? (dims as number[]) : undefined;
  }
  return undefined;
}

/**
 * An Input layer standing in for a data layer, with the tops that kept layers read; the shapes the
 * data layer gives go into `shapes` (they rank below the caller's inputShapes).
 */
function inputFromDataLayer(layer: Message, tops: string[], shapes: Record<string, number[]>): Message {
  const input = new Message(caffeSchema, caffeSchema.message('LayerParameter'), layer.loc);
  input.set('name', layer.str('name'));
  input.set('type', 'Input');
  const all = layer.strs('top');
  for (const t of tops) {
    input.push('top', t);
    const shape = dataTopShape(layer, all.indexOf(t));
    if (shape !== undefined) shapes[t] = shape;
  }
  return input;
}

interface TensorRecord {
  caffeName: string;
  shape: Shape;
  producer: string;
  consumers: string[];
  name: string;
  rows: number;
  /** A region tensor (a region layer's output, or computed from one), whatever its rows. */
  region: boolean;
}

/** Builds the IR of a parsed definition. Throws E_UNSUPPORTED_LAYER, E_SHAPE or E_PARSE. */
export function buildGraph(def: CaffeNetDefinition, options: GraphOptions = {}): Graph {
  const notes: string[] = [];
  const view = deployView(def, options, notes);
  const walk = walkLayers(def, view, options);
  nameVersions(walk.versions);
  return assembleGraph(def, walk, [...notes, ...forkNotes(walk.notes)]);
}

/** The deploy view of the file: the layers that stay, data layers turned into inputs. */
interface DeployView {
  readonly layers: readonly Message[];
  /** The Input layers made from data layers, with the data layer's type. */
  readonly madeInputs: ReadonlyMap<Message, string>;
  /** Tensors written by dropped (training-only) layers, with the layer. */
  readonly fromDropped: ReadonlyMap<string, Message>;
  /** The data layers' shapes under the caller's inputShapes. */
  readonly inputShapes: Readonly<Record<string, readonly number[]>>;
}

/** One note per kind of fork layer: "<what>: layer 'a'" or "<what>: 3 layers ('a', 'b', 'c')", at most 6 named. */
function forkNotes(notes: ReadonlyArray<[string, string]>): string[] {
  const byWhat = new Map<string, string[]>();
  for (const [what, layer] of notes) byWhat.set(what, [...(byWhat.get(what) ?? []), layer]);
  return [...byWhat].map(([what, layers]) => {
    if (layers.length === 1) return `${what}: layer '${layers[0]}'`;
    const named = layers.slice(0, 6).map((l) => `'${l}'`);
    return `${what}: ${layers.length} layers (${named.join(', ')}${layers.length > 6 ? ', ...' : ''})`;
  });
}

/** 1. Which layers stay, which data layers become inputs; refuses unknown types and unknown inputShapes names. */
function deployView(def: CaffeNetDefinition, options: GraphOptions, notes: string[]): DeployView {
  const all = def.net.msgs('layer');
  const readers = readersOfKeptLayers(all);
  const layers: Message[] = [];
  const madeInputs = new Map<Message, string>();
  const dataShapes: Record<string, number[]> = {};
  const droppedNames: string[] = [];
  const fromDropped = new Map<string, Message>();
  for (const layer of all) {
    const type = layer.str('type');
    if (isLayerType(type)) {
      layers.push(layer);
      continue;
    }
    if (DATA_LAYER_TYPES.has(type)) {
      const used = layer.strs('top').filter((t) => readers.has(t));
      if (used.length > 0) {
        const input = inputFromDataLayer(layer, used, dataShapes);
        madeInputs.set(input, type);
        layers.push(input);
        notes.push(`data layer '${layer.str('name')}' (${type}) became input ${used.map((u) => `'${u}'`).join(', ')}`);
        continue;
      }
    }
    droppedNames.push(`${layer.str('name')} (${type})`);
    for (const t of layer.strs('top')) fromDropped.set(t, layer);
  }
  if (droppedNames.length > 0) notes.push(`dropped training-only layer(s): ${droppedNames.join(', ')}`);
  checkInputShapeNames(layers, options);
  return { layers, madeInputs, fromDropped, inputShapes: { ...dataShapes, ...options.inputShapes } };
}

/** How many kept layers read each tensor; a type neither known nor training-only is E_UNSUPPORTED_LAYER. */
function readersOfKeptLayers(all: readonly Message[]): Map<string, number> {
  const kept: Message[] = [];
  for (const layer of all) {
    const type = layer.str('type');
    if (isLayerType(type)) kept.push(layer);
    else if (!TRAINING_ONLY_TYPES.has(type)) throw new UnsupportedLayerError(layer.str('name'), type, knownLayerTypes(), where(layer));
  }
  const readers = new Map<string, number>();
  for (const layer of kept) for (const b of layer.strs('bottom')) readers.set(b, (readers.get(b) ?? 0) + 1);
  return readers;
}

function checkInputShapeNames(layers: readonly Message[], options: GraphOptions): void {
  const inputNames = layers.filter((l) => l.str('type') === 'Input').flatMap((l) => l.strs('top'));
  for (const key of Object.keys(options.inputShapes ?? {})) {
    if (!inputNames.includes(key)) {
      throw argumentError(
        `the name of an input of the network (${inputNames.join(', ') || 'it has none'})`,
        'options.inputShapes',
        key,
        'range',
      );
    }
  }
}

type BuildResultOf = ReturnType<(typeof LAYER_DEFS)[LayerType]['build']>;

type BuiltLayer = {
  layer: Message;
  type: LayerType;
  inputs: TensorRecord[];
  outputs: TensorRecord[];
  result: BuildResultOf;
};

/**
 * What walking the layers gives: each layer built, every version of each Caffe tensor name, the
 * layers by name, the file blobs of fork layers folded into a Scale and the notes saying so.
 */
interface Walk {
  readonly built: BuiltLayer[];
  readonly versions: Map<string, TensorRecord[]>;
  readonly params: Map<string, Message>;
  readonly fileBlobs: Map<string, FileBlobs>;
  /** Fork layers' notes with the layer each is about. */
  readonly notes: Array<[string, string]>;
}

/** 2. Walks the layers in order: unique layer names, their tensors, shapes and attributes. */
function walkLayers(def: CaffeNetDefinition, view: DeployView, options: GraphOptions): Walk {
  const current = new Map<string, TensorRecord>();
  const walk: Walk = { built: [], versions: new Map(), params: new Map(), fileBlobs: new Map(), notes: [] };
  for (const layer of view.layers) {
    const name = layer.str('name');
    const fork = forkOf(layer) ?? pluginFork(layer);
    const type = fork?.irType ?? (irType(layer.str('type')) as LayerType);
    const origin = view.madeInputs.get(layer);
    const loc = where(layer);
    const shown = origin !== undefined ? `${origin}, an input in the deploy view` : fork !== undefined ? layer.str('type') : type;
    const label = `${loc ? `${loc}: ` : ''}layer '${name}' (${shown})`;
    checkLayerName(def, layer, walk.params);
    walk.params.set(name, layer);
    const bottoms = layer.strs('bottom');
    const tops = layer.strs('top');
    checkArity(label, layer, type, fork ?? LAYER_DEFS[type], bottoms, tops);
    const inputs = bottoms.map((b) => readTensor(def, view, current, layer, label, b));
    checkRows(label, name, type, inputs);
    const shapes = inputs.map((t) => t.shape);
    const result = buildLayer(label, layer, () => {
      if (fork === undefined) {
        const context = {
          tops,
          inputShapes: view.inputShapes,
          batchSize: options.batchSize,
          depthwise: DEPTHWISE_TYPES.has(layer.str('type')),
          inputRows: inputs.map((t) => t.rows),
          inputRegions: inputs.map((t) => t.region),
        };
        return LAYER_DEFS[type].build(layer, shapes, tops.length, context);
      }
      const lowered = fork.build(layer, shapes);
      if (lowered.file !== undefined) walk.fileBlobs.set(name, lowered.file);
      if (lowered.note !== undefined) walk.notes.push([lowered.note, name]);
      return lowered.result;
    });
    for (const t of inputs) t.consumers.push(name);
    const rows = outputRows(inputs, result);
    const region = REGION_TYPES.has(type) || inputs.some((t) => t.region);
    const outputs = writeTops(def, layer, bottoms, tops, result.outputs, current, walk.versions, rows, region);
    walk.built.push({ layer, type, inputs, outputs, result });
  }
  return walk;
}

/** Layer types that take image tensors and give region tensors (rows per image set by the layer). */
const REGION_TYPES: ReadonlySet<LayerType> = new Set(['ROIPooling', 'PSROIPooling', 'Proposal']);

/** Every other layer's inputs must agree in rows: none can mix a region tensor (batch x R rows) with an image tensor. */
function checkRows(label: string, name: string, type: LayerType, inputs: readonly TensorRecord[]): void {
  if (REGION_TYPES.has(type) || inputs.every((t) => t.rows === inputs[0].rows)) return;
  throw new ShapeError(
    `${label} mixes region tensors (rows per image: ${inputs.map((t) => t.rows).join(', ')}) with image tensors; ` +
      'only ROIPooling and PSROIPooling take both',
    name,
  );
}

/** Rows per image of the layer's outputs: what a region layer says, else its inputs'. */
function outputRows(inputs: readonly TensorRecord[], result: BuildResultOf): number[] {
  if (result.rows !== undefined) return [...result.rows];
  const rows = inputs.length === 0 ? 1 : inputs[0].rows;
  return result.outputs.map(() => rows);
}

function checkLayerName(def: CaffeNetDefinition, layer: Message, seen: ReadonlyMap<string, Message>): void {
  const name = layer.str('name');
  const at = layer.loc ?? { file: def.file, line: 0, col: 1 };
  if (name === '') throw new ParseError(at, `a ${layer.str('type')} layer has no name`, undefined, 'name: "..."');
  if (seen.has(name)) throw new ParseError(at, `two layers are named '${name}'`, name, 'unique layer names');
}

/** The bottom and top counts the layer type takes, one top per bottom for convolutions, in place only where allowed. */
function checkArity(
  label: string,
  layer: Message,
  type: LayerType,
  defn: { readonly bottoms: readonly [number, number]; readonly tops: readonly [number, number]; readonly inPlace?: boolean },
  bottoms: readonly string[],
  tops: readonly string[],
): void {
  const name = layer.str('name');
  if (bottoms.length < defn.bottoms[0] || bottoms.length > defn.bottoms[1]) {
    throw new ShapeError(`${label} takes ${range(defn.bottoms)} bottom(s), got ${bottoms.length}`, name);
  }
  if (tops.length < defn.tops[0] || tops.length > defn.tops[1]) {
    throw new ShapeError(`${label} takes ${range(defn.tops)} top(s), got ${tops.length}`, name);
  }
  if ((type === 'Convolution' || type === 'Deconvolution') && tops.length !== bottoms.length) {
    throw new ShapeError(`${label} needs one top per bottom, got ${bottoms.length} bottoms and ${tops.length} tops`, name);
  }
  if (defn.inPlace === false && tops.some((t, i) => bottoms[i] === t)) {
    throw new ShapeError(`${label} cannot run in place: give its top a name of its own`, name);
  }
}

/** The tensor a bottom reads, or why there is none (a dropped layer writes it, or a layer the phase removes, or nothing). */
function readTensor(
  def: CaffeNetDefinition,
  view: DeployView,
  current: ReadonlyMap<string, TensorRecord>,
  layer: Message,
  label: string,
  b: string,
): TensorRecord {
  const t = current.get(b);
  if (t !== undefined) return t;
  const source = view.fromDropped.get(b);
  if (source !== undefined) {
    throw new ShapeError(
      `${label} reads '${b}', which comes from training-only layer '${source.str('name')}' ` +
        `(${source.str('type')}) that the deploy view drops`,
    );
  }
  const excluded = def.excluded.find((l) => l.strs('top').includes(b));
  const hint =
    excluded === undefined
      ? ''
      : ` (layer '${excluded.str('name')}' writes it but its include/exclude rules remove it in this phase: ` +
        'choose the phase and stages the file expects)';
  throw new ParseError(
    layer.loc ?? { file: def.file, line: 0, col: 1 },
    `layer '${layer.str('name')}' reads '${b}', which no earlier layer writes${hint}`,
    b,
    'the top of an earlier layer',
  );
}

/** Runs the layer's shape rule (`build`); its shape errors name the layer, and every output's size must be countable. */
function buildLayer(label: string, layer: Message, build: () => BuildResultOf): BuildResultOf {
  const name = layer.str('name');
  let result: BuildResultOf;
  try {
    result = build();
  } catch (err) {
    if (err instanceof ShapeError) throw new ShapeError(`${label}: ${err.message}`, name);
    throw err;
  }
  for (const out of result.outputs) {
    if (!Number.isSafeInteger(out.reduce((a, d) => a * d, 1))) {
      throw new ShapeError(`${label}: output shape [${out.join(', ')}] has more elements than can be counted exactly`, name);
    }
  }
  return result;
}

/** Records the layer's tops as new versions of their names (Caffe rewrites a blob only in place). */
function writeTops(
  def: CaffeNetDefinition,
  layer: Message,
  bottoms: readonly string[],
  tops: readonly string[],
  shapes: readonly Shape[],
  current: Map<string, TensorRecord>,
  versions: Map<string, TensorRecord[]>,
  rows: readonly number[],
  region: boolean,
): TensorRecord[] {
  const name = layer.str('name');
  tops.forEach((top, i) => {
    const writer = current.get(top);
    // Caffe rewrites a blob only in place: top i may repeat bottom i, nothing else.
    if (writer !== undefined && bottoms[i] !== top) {
      throw new ParseError(
        layer.loc ?? { file: def.file, line: 0, col: 1 },
        `layer '${name}' writes '${top}', which layer '${writer.producer}' already wrote; a layer may rewrite ` +
          'a blob only in place (top i equal to bottom i)',
        top,
        'a new top name',
      );
    }
  });
  return tops.map((top, i) => {
    const record: TensorRecord = { caffeName: top, shape: shapes[i], producer: name, consumers: [], name: '', rows: rows[i], region };
    const list = versions.get(top) ?? [];
    list.push(record);
    versions.set(top, list);
    current.set(top, record);
    return record;
  });
}

/** 3. Final names: the last version of each Caffe name keeps it; earlier ones get '#k'. */
function nameVersions(versions: ReadonlyMap<string, TensorRecord[]>): void {
  const taken = new Set(versions.keys());
  for (const [caffeName, list] of versions) {
    list.forEach((record, k) => {
      if (k === list.length - 1) {
        record.name = caffeName;
        return;
      }
      let candidate = `${caffeName}#${k}`;
      while (taken.has(candidate)) candidate += '#';
      taken.add(candidate);
      record.name = candidate;
    });
  }
}

/** 4. The IR: tensors by final name, layers, the network's inputs and outputs. */
function assembleGraph(def: CaffeNetDefinition, walk: Walk, notes: string[]): Graph {
  const tensors = new Map<string, Tensor>();
  for (const list of walk.versions.values()) {
    for (const r of list) {
      tensors.set(r.name, {
        name: r.name,
        caffeName: r.caffeName,
        shape: r.shape,
        producer: r.producer,
        consumers: r.consumers,
        rows: r.rows,
      });
    }
  }
  const irLayers = walk.built.map(
    ({ layer, type, inputs, outputs, result }) =>
      ({
        name: layer.str('name'),
        type,
        inputs: inputs.map((t) => t.name),
        outputs: outputs.map((t) => t.name),
        attrs: result.attrs,
        blobs: result.blobs ?? [],
        macs: result.macs ?? 0,
        loc: layer.loc,
      }) as AnyLayer,
  );
  const inputLayers = new Set(irLayers.filter((l) => l.type === 'Input').map((l) => l.name));
  const inputs: TensorInfo[] = [...tensors.values()]
    .filter((t) => inputLayers.has(t.producer))
    .map((t) => ({ name: t.name, shape: t.shape }));
  const outputs: TensorInfo[] = [...tensors.values()]
    .filter((t) => t.consumers.length === 0 && !inputLayers.has(t.producer))
    .map((t) => ({ name: t.name, shape: t.shape }));
  checkNotEmpty(def, irLayers, inputs, notes);
  return { name: def.net.str('name'), layers: irLayers, tensors, inputs, outputs, notes, params: walk.params, fileBlobs: walk.fileBlobs };
}

/**
 * A network needs an input and a layer that computes: without them no command has anything to
 * do, so an empty file (or one the deploy view empties) is refused here, where the file is named.
 */
function checkNotEmpty(
  def: CaffeNetDefinition,
  layers: readonly AnyLayer[],
  inputs: readonly TensorInfo[],
  notes: readonly string[],
): void {
  const computing = layers.filter((l) => l.type !== 'Input').length;
  if (inputs.length > 0 && computing > 0) return;
  const problem =
    inputs.length === 0 && computing === 0
      ? 'the network has no inputs and no layers'
      : inputs.length === 0
        ? 'the network has no inputs'
        : `the network has no layers besides its input(s) (${inputs.map((i) => `'${i.name}'`).join(', ')})`;
  throw new ParseError(
    { file: def.file, line: 1, col: 1 },
    `${problem}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`,
    undefined,
    'an Input layer (or input / input_shape fields) and layers that compute on it',
  );
}

function range([lo, hi]: readonly [number, number]): string {
  if (lo === hi) return String(lo);
  return hi === Infinity ? `${lo} or more` : `${lo} to ${hi}`;
}
