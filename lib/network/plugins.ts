/**
 * Layer plugins: shared libraries implementing Caffe layer types this package does not have
 * (native/include/tensorrt_node_plugin.h, docs/plugins.md). `loadPlugin(path)` loads one into the
 * process: its layer types import from then on (their parameter messages added to the Caffe
 * schema, so the fork's prototxt files parse as they are), shape through the library's
 * output_dims, and run as IR `Plugin` layers on the backends the library implements.
 * `registerLayer(type, definition)` does the same from JavaScript: a shape function and an
 * optional reference implementation the cpu backend calls (library "javascript", version 0).
 */
import * as fs from 'fs';
import * as path from 'path';
import { caffeSchema, type Message } from '../caffe';
import type { FieldDecl } from '../caffe/schema';
import { argumentError, fromNative, ShapeError, TensorRTNodeError } from '../errors';
import { native } from '../native';
import { arrayOf, func, integer, nonEmptyString, object, optional, plainObject, type FieldCheckers } from '../validate';
import { BUILT_IN_LAYER_TYPES } from './layers/forks';
import type { LayerAttrsMap, Shape } from './types';

/** One layer type of a loaded plugin library. */
export interface PluginLayerInfo {
  /** The Caffe layer type ("Axpy"). */
  readonly type: string;
  /** The library (its own name and version, recorded in plans) and the file it came from. */
  readonly library: string;
  readonly version: number;
  readonly path: string;
  /** Its parameter message's LayerParameter field, or null. */
  readonly paramField: string | null;
  readonly paramNumber: number;
  /** The parameter fields: name, protobuf type, number, default. */
  readonly params: ReadonlyArray<{
    readonly name: string;
    readonly type: string;
    readonly number: number;
    readonly default?: number | string | boolean;
  }>;
  readonly minInputs: number;
  readonly maxInputs: number;
  readonly outputs: number;
  /** Which backends it runs on. */
  readonly cpu: boolean;
  readonly cuda: boolean;
  /**
   * The element types its cuda forward takes (an FP16 engine hands float16 tensors to a layer that
   * takes them; otherwise the engine converts to and from float32 around it). Empty without one.
   */
  readonly cudaTypes: ReadonlyArray<'float32' | 'float16'>;
}

/** A loaded plugin library. */
export interface PluginLibrary {
  readonly name: string;
  readonly version: number;
  readonly path: string;
  readonly layers: readonly PluginLayerInfo[];
}

const loaded = new Map<string, PluginLayerInfo>();
/** The shape functions of JavaScript layers, by type. */
const jsShapes = new Map<string, JsLayerDefinition['outputShapes']>();
const libraries = new Map<string, PluginLibrary>();

const PARAM_TYPES: ReadonlySet<string> = new Set(['float', 'double', 'int32', 'int64', 'uint32', 'bool', 'string']);

function pluginError(message: string): TensorRTNodeError {
  return new TensorRTNodeError('E_PLUGIN', message);
}

type ParamField = PluginLayerInfo['params'][number];

/** One parameter field, checked (a name, a protobuf type of PARAM_TYPES, a number >= 1, a default of that type); E_PLUGIN naming `where`. */
function checkParamField(f: ParamField, where: string): ParamField {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(f.name) || !PARAM_TYPES.has(f.type) || !Number.isInteger(f.number) || f.number < 1) {
    throw pluginError(
      `${where}: the parameter field '${f.name}:${f.type}:${f.number}' is not name:type:number[:default] with a type of ${[...PARAM_TYPES].join(', ')}`,
    );
  }
  const want = f.type === 'string' ? 'string' : f.type === 'bool' ? 'boolean' : 'number';
  if (f.default !== undefined && (typeof f.default !== want || (want === 'number' && !Number.isFinite(f.default)))) {
    throw pluginError(`${where}: the default of '${f.name}' is not a ${f.type}: '${String(f.default)}'`);
  }
  return f.default === undefined ? { name: f.name, type: f.type, number: f.number } : f;
}

/** "name:type:number[:default];..." as checked field declarations. */
function parseParamFields(text: string, where: string): PluginLayerInfo['params'] {
  return text
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((entry) => {
      const [name = '', type = '', number, ...rest] = entry.split(':');
      const raw = rest.join(':');
      const value = rest.length === 0 ? undefined : type === 'string' ? raw : type === 'bool' ? raw === 'true' : Number(raw);
      return checkParamField({ name, type, number: Number(number), default: value }, where);
    });
}

/**
 * Loads a plugin library into this process (once per file; loading it again returns the same
 * description). Its layer types must be new to the package; their parameter fields are added to
 * the Caffe schema. Throws E_PLUGIN (cannot load, wrong ABI, a clash) or E_IO (no such file).
 */
export function loadPlugin(file: string): PluginLibrary {
  nonEmptyString('a path string')(file, 'path');
  const abs = path.resolve(file);
  const known = libraries.get(abs);
  if (known !== undefined) return known;
  if (!fs.existsSync(abs)) throw new TensorRTNodeError('E_IO', `no plugin library at ${abs}`);
  // Described first, registered only once every type passes the checks below.
  let lib;
  try {
    lib = native().loadPlugin(abs, false);
  } catch (err) {
    throw fromNative(err);
  }
  const layers = lib.layers.map((l): PluginLayerInfo => {
    const where = `plugin library ${abs} (${lib.name}), layer type '${l.type}'`;
    if (BUILT_IN_LAYER_TYPES.has(l.type)) throw pluginError(`${where}: '${l.type}' is a layer type tensorrt-node has built in`);
    return {
      type: l.type,
      library: lib.name,
      version: lib.version,
      path: abs,
      paramField: l.paramField,
      paramNumber: l.paramNumber,
      params: l.paramFields === null ? [] : parseParamFields(l.paramFields, where),
      minInputs: l.minInputs,
      maxInputs: l.maxInputs,
      outputs: l.outputs,
      cpu: l.cpu,
      cuda: l.cuda,
      cudaTypes: l.cudaTypes,
    };
  });
  // A type another library (or registerLayer) provides was refused by the describing call above.
  for (const l of layers) {
    if (l.paramField !== null) extendSchema(l, true);
  }
  try {
    native().loadPlugin(abs, true);
  } catch (err) {
    throw fromNative(err);
  }
  for (const l of layers) {
    if (l.paramField !== null) extendSchema(l, false);
    loaded.set(l.type, l);
  }
  const result: PluginLibrary = { name: lib.name, version: lib.version, path: abs, layers };
  libraries.set(abs, result);
  return result;
}

/** Adds the layer's parameter message to LayerParameter (`check`: only checks that it can). */
function extendSchema(l: PluginLayerInfo, check: boolean): void {
  const fields: FieldDecl[] = l.params.map((p) => [p.name, p.number, p.type, p.default === undefined ? {} : { default: p.default }]);
  try {
    caffeSchema.extend(
      'LayerParameter',
      [l.paramField as string, l.paramNumber, `plugin.${l.type}`],
      { name: `plugin.${l.type}`, fields },
      check,
    );
  } catch (err) {
    throw pluginError(`plugin layer type '${l.type}' (${l.path}): its parameter field cannot be added: ${(err as Error).message}`);
  }
}

/** A parameter value of a layer's parameter message. */
export type LayerParamValue = number | string | boolean;

/** A tensor as a JavaScript layer's cpu function sees it: float32 values, batch first. */
export interface LayerTensor {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

/** A layer type written in JavaScript (registerLayer). */
export interface JsLayerDefinition {
  /** Bottoms it takes: a count, or [min, max] (default 1). */
  readonly inputs?: number | readonly [number, number];
  /** Tops it gives (default 1). */
  readonly outputs?: number;
  /**
   * Its parameter message: the LayerParameter field that holds it, that field's number, and the
   * message's fields (type float, double, int32, int64, uint32, bool or string).
   */
  readonly params?: {
    readonly field: string;
    readonly number: number;
    readonly fields: Readonly<Record<string, { readonly type: string; readonly number: number; readonly default?: LayerParamValue }>>;
  };
  /** Output shapes (batch first, which every output keeps) from the input shapes and the parameters; throw to refuse. */
  outputShapes(inputShapes: number[][], params: Record<string, LayerParamValue>): number[][];
  /**
   * The layer on the cpu backend: read `inputs`, fill `outputs` (copies: a slow reference,
   * called on the JavaScript thread while the backend's thread waits). Without it the type
   * imports and shapes but runs on no backend. `params` is the node's, frozen: the same object at
   * every inference.
   */
  cpu?(inputs: LayerTensor[], outputs: LayerTensor[], params: Readonly<Record<string, LayerParamValue>>): void;
}

/** A bottom or top count of a JavaScript layer. */
const layerCount = integer({ min: 0, max: 64, what: 'counts in [0, 64]' });

/** registerLayer's definition: the functions and counts (its params are checked as plugin parameters). */
const checkJsLayerDefinition = object<JsLayerDefinition>(
  {
    outputShapes: func('a function (the output shapes from the input shapes)'),
    cpu: optional(func('a function or undefined')),
    inputs: optional((value: unknown, name: string) =>
      typeof value === 'number'
        ? layerCount(value, name)
        : arrayOf(layerCount, { minLength: 2, maxLength: 2, what: 'a count or [min, max]' })(value, name),
    ),
    outputs: optional(integer({ min: 1, max: 64, what: 'counts in [1, 64]' })),
    params: optional(plainObject('an object { field, number, fields }')),
  } as FieldCheckers<JsLayerDefinition>,
  { what: 'an object with an outputShapes function' },
);

/**
 * Registers a layer type written in JavaScript, for this process: prototxt layers of `type`
 * import as Plugin layers shaped by `outputShapes`, and run on the cpu backend through `cpu`.
 * Registering a type again replaces it (engines built before keep the function they were built with). Plans record
 * library "javascript": load them after registering the type. Throws E_PLUGIN for a built-in type
 * or one a plugin library provides, TypeError / RangeError for a malformed definition.
 */
export function registerLayer(type: string, def: JsLayerDefinition): PluginLayerInfo {
  nonEmptyString('a layer type name')(type, 'type');
  checkJsLayerDefinition(def, 'def');
  const [minInputs, maxInputs] = typeof def.inputs === 'number' ? [def.inputs, def.inputs] : (def.inputs ?? [1, 1]);
  const outputs = def.outputs ?? 1;
  if (maxInputs < minInputs) throw argumentError('[min, max] with min <= max', 'def.inputs', def.inputs, 'range');
  if (BUILT_IN_LAYER_TYPES.has(type)) throw pluginError(`layer type '${type}' is built in; a JavaScript layer needs a type of its own`);
  const other = loaded.get(type);
  if (other !== undefined && other.library !== 'javascript') {
    throw pluginError(`layer type '${type}' is provided by plugin library ${other.library} (${other.path})`);
  }
  const info: PluginLayerInfo = {
    type,
    library: 'javascript',
    version: 0,
    path: '',
    paramField: def.params?.field ?? null,
    paramNumber: def.params?.number ?? 0,
    params: Object.entries(def.params?.fields ?? {}).map(([name, f]) =>
      checkParamField({ name, type: f.type, number: f.number, default: f.default }, `JavaScript layer type '${type}'`),
    ),
    minInputs,
    maxInputs,
    outputs,
    cpu: def.cpu !== undefined,
    cuda: false,
    cudaTypes: [],
  };
  if (info.paramField !== null) extendSchema(info, true);
  const cpu = def.cpu;
  const parsed = new Map<string, Record<string, LayerParamValue>>();
  const forward =
    cpu === undefined
      ? undefined
      : (ins: Float32Array[], inDims: number[][], outs: Float32Array[], outDims: number[][], paramsJson: string) => {
          // A node's parameters are the same at every inference: parsed once per text.
          let values = parsed.get(paramsJson);
          if (values === undefined) {
            values = Object.freeze(JSON.parse(paramsJson) as Record<string, LayerParamValue>);
            parsed.set(paramsJson, values);
          }
          cpu(
            ins.map((data, i) => ({ data, dims: inDims[i] })),
            outs.map((data, i) => ({ data, dims: outDims[i] })),
            values,
          );
        };
  try {
    native().registerHostedLayer(type, minInputs, maxInputs, outputs, forward);
  } catch (err) {
    throw fromNative(err);
  }
  if (info.paramField !== null) extendSchema(info, false);
  loaded.set(type, info);
  jsShapes.set(type, def.outputShapes.bind(def));
  return info;
}

/** The loaded plugin layer of that Caffe type, or undefined. */
export function pluginLayer(type: string): PluginLayerInfo | undefined {
  return loaded.get(type);
}

/** Every layer type loaded libraries and registerLayer added. */
export function pluginTypes(): string[] {
  return [...loaded.keys()];
}

/** Every loaded plugin library. */
export function loadedPlugins(): PluginLibrary[] {
  return [...libraries.values()];
}

/** The layer's parameters as the JSON object the library's functions get: every declared field, defaults applied. */
export function pluginParams(info: PluginLayerInfo, layer: Message): string {
  const values: Record<string, number | string | boolean> = {};
  if (info.paramField !== null) {
    const m = layer.sub(info.paramField);
    for (const p of info.params) {
      if (!m.has(p.name) && p.default === undefined) continue;
      values[p.name] = p.type === 'string' ? m.str(p.name) : p.type === 'bool' ? m.bool(p.name) : m.num(p.name);
    }
  }
  return JSON.stringify(values);
}

/** What a JavaScript outputShapes returned, checked to be `outputs` arrays of integers. */
function checkShapeList(value: unknown, info: PluginLayerInfo): number[][] {
  if (
    !Array.isArray(value) ||
    value.length !== info.outputs ||
    !value.every((s) => Array.isArray(s) && s.every((d) => typeof d === 'number'))
  ) {
    throw new ShapeError(`JavaScript layer type '${info.type}': outputShapes must return ${info.outputs} shape(s) (arrays of numbers)`);
  }
  return value as number[][];
}

/** The IR attributes and output shapes of a plugin layer on `inputs` (batch first, which every output keeps). */
export function pluginShapes(
  info: PluginLayerInfo,
  layer: Message,
  inputs: readonly Shape[],
): { attrs: LayerAttrsMap['Plugin']; outputs: Shape[] } {
  const params = pluginParams(info, layer);
  let outputs: number[][];
  const js = jsShapes.get(info.type);
  try {
    outputs =
      js !== undefined
        ? checkShapeList(
            js(
              inputs.map((s) => [...s]),
              JSON.parse(params) as Record<string, LayerParamValue>,
            ),
            info,
          )
        : native().pluginOutputDims(
            info.type,
            params,
            inputs.map((s) => [...s]),
          );
  } catch (err) {
    if (js !== undefined && !(err instanceof TensorRTNodeError)) {
      throw new ShapeError(`JavaScript layer type '${info.type}': outputShapes: ${err instanceof Error ? err.message : String(err)}`);
    }
    const e = fromNative(err);
    if (e instanceof TensorRTNodeError && e.code === 'E_SHAPE') throw new ShapeError(e.message);
    throw e;
  }
  const batch = inputs[0]?.[0];
  outputs.forEach((o, i) => {
    if (o.length === 0 || o[0] !== batch || o.some((d) => !Number.isSafeInteger(d) || d < 1)) {
      throw new ShapeError(
        `plugin layer type '${info.type}' (${info.library}) gave output ${i} the shape [${o.join(', ')}]: ` +
          `every output needs positive dims and the batch (${batch}) first`,
      );
    }
  });
  return { attrs: { pluginType: info.type, pluginLibrary: info.library, pluginVersion: info.version, params }, outputs };
}
