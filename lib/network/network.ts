/**
 * Network: a Caffe network imported into the IR, with its weights, its cost per layer, and
 * re-shaping for another batch size. The entry point is `Network.fromCaffe(prototxt, options)`.
 */
import { parsePrototxt, readCaffemodel, readPrototxt, type CaffeNetDefinition, type Message, type NetFormat } from '../caffe';
import { argumentError, TensorRTNodeError, WeightsError } from '../errors';
import { arrayOf, boolean, func, integer, nonEmptyString, object, oneOf, optional, recordOf, string } from '../validate';
import { buildGraph, type Graph } from './graph';
import type { AnyLayer, InputTransform, Shape, Tensor, TensorInfo } from './types';
import { DATA_LAYER_TYPES, volume } from './types';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { checkWeightsFit } from '../host_memory';
import {
  blobSpecs,
  blobsFromWorker,
  errorFromWorker,
  generateBlob,
  layerBlobs,
  matchCaffemodel,
  weightNeeds,
  type BlobSpec,
  type WeightInit,
  type WorkerBlobs,
  type WorkerFailure,
} from './weights';

/** Random weights above this many values are generated on a worker thread. */
const WORKER_THRESHOLD = 1 << 20;

/** Generates blobs on a worker thread (the same function, so the same values as on this thread). */
function generateInWorker(specs: BlobSpec[], seed: number, init: WeightInit): Promise<Float32Array[]> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => Float32Array[]): void => {
      if (settled) return;
      settled = true;
      try {
        resolve(fn());
      } catch (err) {
        reject(err);
      }
    };
    const worker = new Worker(path.join(__dirname, 'weights_worker.js'), { workerData: { specs, seed, init } });
    worker.once('message', (m: WorkerBlobs | WorkerFailure) => {
      void worker.terminate();
      settle(() => {
        if ('error' in m) throw errorFromWorker(m, specs);
        return blobsFromWorker(specs, m);
      });
    });
    worker.once('error', (err) =>
      settle(() => {
        throw new TensorRTNodeError('E_INTERNAL', `the weights worker failed: ${err.message}`, { cause: err });
      }),
    );
    worker.once('exit', (code) =>
      settle(() => {
        throw new TensorRTNodeError('E_INTERNAL', `the weights worker exited (code ${code}) without sending the weights`);
      }),
    );
  });
}

/** Options of Network.fromCaffe / Network.parse. */
export interface NetworkOptions {
  /** A .caffemodel with trained weights; without one, weights are random (see `seed`). */
  readonly weights?: string;
  /** Seed of the random weights (an integer in [0, 2^32)); 1 by default. */
  readonly seed?: number;
  /** 'he' (default): random weights scaled to keep activations in range; 'filler': the prototxt's fillers, as Caffe would. */
  readonly weightInit?: WeightInit;
  /** Replaces dimension 0 of every input. */
  readonly batchSize?: number;
  /** Input shapes by name: replace the file's, or give them where the file has none (Data layers). */
  readonly inputShapes?: Readonly<Record<string, readonly number[]>>;
  /** Phase for include / exclude rules: 'TEST' (default, the deploy view) or 'TRAIN'. */
  readonly phase?: 'TRAIN' | 'TEST';
  /** NetState level and stages for include / exclude rules. */
  readonly level?: number;
  readonly stages?: readonly string[];
  /** Skip fields Caffe does not define (forks add fields) with a warning instead of failing. */
  readonly allowUnknownFields?: boolean;
  /** Progress of reading the weights file: bytes read so far and the file size. */
  readonly onProgress?: (bytesRead: number, totalBytes: number) => void;
}

/** Cost of one layer at the network's batch size. */
export interface LayerCost {
  readonly name: string;
  readonly type: string;
  /** Output tensors (IR names) with shapes. */
  readonly outputs: readonly TensorInfo[];
  /** Multiply-accumulates for the batch. */
  readonly macs: number;
  /** Learned parameters (elements of all blobs). */
  readonly params: number;
  /** Elements of the layer's outputs for the batch. */
  readonly activations: number;
}

/** A network's cost table and totals at its batch size. */
export interface NetworkSummary {
  readonly name: string;
  readonly batchSize: number;
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  readonly layers: readonly LayerCost[];
  readonly totals: {
    readonly macs: number;
    readonly params: number;
    /** Output elements of every layer except inputs. */
    readonly activations: number;
    /** activations x 4 (float32). */
    readonly activationBytes: number;
    /** params x 4 (float32). */
    readonly weightBytes: number;
  };
  /** Totals divided by the batch size. */
  readonly perImage: { readonly macs: number; readonly activations: number };
}

interface WeightStore {
  readonly source: 'caffemodel' | 'random';
  readonly path?: string;
  /** Blobs kept for the network's life: the weights file's, and random ones weights() returned. */
  readonly blobs: Map<string, Float32Array[]>;
  /**
   * Random blobs loadWeights() generated, held only as long as someone else holds them: a build
   * hands them to the addon, which copies what it needs, so keeping them here would hold a second
   * copy of every weight for as long as the network lives. Asked for again after they were
   * collected, they are generated again, with the same values.
   */
  readonly recent: Map<string, Array<WeakRef<Float32Array>>>;
  readonly seed: number;
  readonly init: WeightInit;
}

const POSITIVE_INTEGER = integer({ min: 1 });

/** NetworkOptions, checked field by field in the package's message form. */
const checkNetworkOptions = object<NetworkOptions>({
  weights: optional(nonEmptyString('a path string')),
  seed: optional(integer({ min: 0, max: 0xffffffff, typeWhat: 'an integer' })),
  weightInit: optional(oneOf(['he', 'filler'] as const)),
  batchSize: optional(integer({ min: 1, max: 1 << 20, typeWhat: 'a positive integer' })),
  inputShapes: optional(
    recordOf(
      arrayOf(POSITIVE_INTEGER, { what: 'an array of positive integers', minLength: 1, reportWhole: true }),
      'an object of shapes by input name',
    ),
  ),
  phase: optional(oneOf(['TRAIN', 'TEST'] as const)),
  level: optional(integer({ what: 'an integer' })),
  stages: optional(arrayOf(string(), { what: 'an array of strings', reportWhole: true })),
  allowUnknownFields: optional(boolean),
  onProgress: optional(func<(bytesRead: number, totalBytes: number) => void>()),
});

/** Checks NetworkOptions, throwing TypeError / RangeError in the package's message form. */
function checkOptions(options: unknown): NetworkOptions {
  return options === undefined ? {} : checkNetworkOptions(options, 'options');
}

/** An imported network: IR, weights and costs. */
export class Network {
  private constructor(
    private readonly definition: CaffeNetDefinition,
    private readonly graph: Graph,
    private readonly store: WeightStore,
    private readonly options: NetworkOptions,
    private readonly weightNotes: readonly string[],
  ) {}

  /**
   * Imports a Caffe network: reads `prototxt` (any format: current, V1, V0), builds the IR for the
   * TEST phase, and reads `options.weights` when given (else random weights from `options.seed`).
   */
  static async fromCaffe(prototxt: string, options?: NetworkOptions): Promise<Network> {
    nonEmptyString('a path string')(prototxt, 'prototxt');
    const opts = checkOptions(options);
    const definition = await readPrototxt(prototxt, opts);
    return Network.withWeights(definition, opts);
  }

  /** Imports a network from prototxt text (`file` names it in messages). */
  static async parse(text: string, options?: NetworkOptions & { file?: string }): Promise<Network> {
    string()(text, 'text');
    const opts = checkOptions(options);
    const definition = parsePrototxt(text, { ...opts, file: options?.file });
    return Network.withWeights(definition, opts);
  }

  private static async withWeights(definition: CaffeNetDefinition, opts: NetworkOptions): Promise<Network> {
    const graph = buildGraph(definition, opts);
    const seed = opts.seed ?? 1;
    const init = opts.weightInit ?? 'he';
    if (opts.weights === undefined) {
      return new Network(definition, graph, { source: 'random', blobs: new Map(), recent: new Map(), seed, init }, opts, []);
    }
    // Refused before the file is read, as random weights are refused before they are generated.
    checkWeightsFit(weightNeeds(layerBlobs(graph.layers)), weightsWhat(graph.name));
    const file = await readCaffemodel(opts.weights, { onProgress: opts.onProgress });
    const { blobs, unused } = matchCaffemodel(graph.layers, file, graph.fileBlobs);
    const notes = [`weights from ${opts.weights} (${file.layers.length} layers, ${file.bytes} bytes)`];
    if (unused > 0) notes.push(`${unused} layer(s) of the weights file are not in the network (training-only or renamed)`);
    return new Network(definition, graph, { source: 'caffemodel', path: opts.weights, blobs, recent: new Map(), seed, init }, opts, notes);
  }

  /** NetParameter.name. */
  get name(): string {
    return this.graph.name;
  }

  /** The file's format before upgrading. */
  get format(): NetFormat {
    return this.definition.format;
  }

  /** The file the network came from (or the name given to parse()). */
  get file(): string {
    return this.definition.file;
  }

  /** Layers in execution order. */
  get layers(): readonly AnyLayer[] {
    return this.graph.layers;
  }

  /** Tensors by IR name. */
  get tensors(): ReadonlyMap<string, Tensor> {
    return this.graph.tensors;
  }

  get inputs(): readonly TensorInfo[] {
    return this.graph.inputs;
  }

  get outputs(): readonly TensorInfo[] {
    return this.graph.outputs;
  }

  /** Dimension 0 of the first input. */
  get batchSize(): number {
    return this.graph.inputs[0]?.shape[0] ?? 1;
  }

  /** Where the weights come from. */
  get weightsSource(): 'caffemodel' | 'random' {
    return this.store.source;
  }

  /** What the import changed: format upgrades, phase filtering, the deploy view, the weights. */
  get notes(): readonly string[] {
    const phase = this.definition.removedByPhase;
    return [
      ...this.definition.notes,
      ...(phase.length > 0 ? [`removed for phase ${this.options.phase ?? 'TEST'}: ${phase.join(', ')}`] : []),
      ...this.graph.notes,
      ...this.weightNotes,
    ];
  }

  /** Warnings (skipped unknown fields). */
  get warnings(): readonly string[] {
    return this.definition.warnings;
  }

  /** The same network with every input's dimension 0 set to `batchSize`; weights are shared. */
  withBatchSize(batchSize: number): Network {
    integer({ min: 1, max: 1 << 20, typeWhat: 'a positive integer' })(batchSize, 'batchSize');
    const options = { ...this.options, batchSize };
    const graph = buildGraph(this.definition, options);
    graph.layers.forEach((l, i) => {
      if (this.store.source === 'caffemodel' && !sameShapes(l.blobs, this.graph.layers[i].blobs)) {
        throw new WeightsError(`layer '${l.name}' needs other weight shapes at batch ${batchSize}`, l.name);
      }
    });
    return new Network(this.definition, graph, this.store, options, this.weightNotes);
  }

  /**
   * The transform_param of the layer that produces input `inputName` (its Input layer, or the data
   * layer it stands for), or undefined when that layer has none.
   */
  inputTransform(inputName: string): InputTransform | undefined {
    string('an input name string')(inputName, 'inputName');
    const input = this.inputs.find((t) => t.name === inputName);
    if (input === undefined) {
      throw argumentError(
        `an input of ${this.name || 'the network'} (${this.inputs.map((t) => t.name).join(', ')})`,
        'inputName',
        inputName,
        'range',
      );
    }
    const caffeName = this.tensors.get(inputName)?.caffeName ?? inputName;
    const producers = this.definition.net.msgs('layer').filter((l) => l.str('type') === 'Input' || DATA_LAYER_TYPES.has(l.str('type')));
    const layer = producers.find((l) => l.strs('top').includes(caffeName) && l.has('transform_param'));
    const t = layer?.msg('transform_param');
    if (layer === undefined || t === undefined) return undefined;
    return {
      layer: layer.str('name'),
      ...(t.has('scale') ? { scale: t.num('scale') } : {}),
      meanValue: t.nums('mean_value'),
      ...(t.has('mean_file') ? { meanFile: t.str('mean_file') } : {}),
      ...(t.has('crop_size') ? { cropSize: t.num('crop_size') } : {}),
      mirror: t.bool('mirror'),
      forceColor: t.bool('force_color'),
      forceGray: t.bool('force_gray'),
    };
  }

  /** The layer of that name, or undefined. */
  layer(name: string): AnyLayer | undefined {
    return this.graph.layers.find((l) => l.name === name);
  }

  /**
   * The learned blobs of a layer (empty for layers without weights): from the weights file, or
   * random (generated on first use and kept).
   */
  weights(layerName: string): readonly Float32Array[] {
    string('a layer name string')(layerName, 'layerName');
    const layer = this.layer(layerName);
    if (layer === undefined) throw argumentError(`the name of a layer of ${this.name || 'the network'}`, 'layerName', layerName, 'range');
    const cached = this.store.blobs.get(layerName);
    if (cached !== undefined) return cached;
    const param = this.graph.params.get(layerName);
    const specs = param === undefined ? [] : blobSpecs(layer, param, this.store.init);
    const recent = specs.map((s) => this.recentBlob(s.layer, s.index));
    checkWeightsFit(weightNeeds(specs.filter((_, i) => recent[i] === undefined)), weightsWhat(this.name));
    const blobs = specs.map((s, i) => recent[i] ?? generateBlob(s, this.store.seed, this.store.init));
    this.store.blobs.set(layerName, blobs);
    this.store.recent.delete(layerName);
    return blobs;
  }

  /**
   * The blobs named `<layer>/<blob index>`, in order, without holding up the JS thread: random
   * weights of large networks are generated on a worker thread. Unlike weights(), the network does
   * not keep the random blobs it generates here: once the caller drops them (a build, once the
   * addon has copied them) they are garbage, and asked for again they come back with the same values.
   */
  async loadWeights(names: readonly string[]): Promise<Float32Array[]> {
    const parsed = names.map((n) => {
      const at = n.lastIndexOf('/');
      const layer = n.slice(0, at);
      const index = Number(n.slice(at + 1));
      if (at <= 0 || !Number.isInteger(index) || this.layer(layer) === undefined) {
        throw argumentError('names of the form <layer>/<blob index>', 'names', n, 'range');
      }
      if (index < 0 || index >= (this.layer(layer) as AnyLayer).blobs.length) {
        throw argumentError(`a blob index of layer '${layer}'`, 'names', n, 'range');
      }
      return { layer, index, name: `${layer}/${index}` };
    });
    const found = new Map<string, Float32Array>();
    for (const p of parsed) {
      const have = this.store.blobs.get(p.layer)?.[p.index] ?? this.recentBlob(p.layer, p.index);
      if (have !== undefined) found.set(p.name, have);
    }
    const wanted = new Set(parsed.filter((p) => !found.has(p.name)).map((p) => p.name));
    const specs = [...new Set(parsed.filter((p) => wanted.has(p.name)).map((p) => p.layer))].flatMap((l) =>
      blobSpecs(this.layer(l) as AnyLayer, this.graph.params.get(l) as Message, this.store.init).filter((s) =>
        wanted.has(`${s.layer}/${s.index}`),
      ),
    );
    if (specs.length > 0) {
      checkWeightsFit(weightNeeds(specs), weightsWhat(this.name));
      const total = specs.reduce((n, s) => n + volume(s.shape), 0);
      const blobs =
        total > WORKER_THRESHOLD
          ? await generateInWorker(specs, this.store.seed, this.store.init)
          : specs.map((s) => generateBlob(s, this.store.seed, this.store.init));
      specs.forEach((s, i) => {
        found.set(`${s.layer}/${s.index}`, blobs[i]);
        const refs = this.store.recent.get(s.layer) ?? [];
        refs[s.index] = new WeakRef(blobs[i]);
        this.store.recent.set(s.layer, refs);
      });
    }
    return parsed.map((p) => found.get(p.name) as Float32Array);
  }

  /** Blob `index` of `layer` as loadWeights() generated it, while it is still held somewhere. */
  private recentBlob(layer: string, index: number): Float32Array | undefined {
    return this.store.recent.get(layer)?.[index]?.deref();
  }

  /** Per-layer MACs, parameters and activations, and the totals (docs/network.md says what counts). */
  summary(): NetworkSummary {
    const layers: LayerCost[] = this.graph.layers.map((l) => {
      const outputs = l.outputs.map((name) => ({ name, shape: (this.graph.tensors.get(name) as Tensor).shape }));
      return {
        name: l.name,
        type: l.type,
        outputs,
        macs: l.macs,
        params: l.blobs.reduce((n, s) => n + volume(s), 0),
        activations: l.type === 'Input' ? 0 : outputs.reduce((n, t) => n + volume(t.shape), 0),
      };
    });
    const sum = (f: (c: LayerCost) => number) => layers.reduce((n, c) => n + f(c), 0);
    const macs = sum((c) => c.macs);
    const params = sum((c) => c.params);
    const activations = sum((c) => c.activations);
    const batch = this.batchSize;
    return {
      name: this.name,
      batchSize: batch,
      inputs: this.inputs,
      outputs: this.outputs,
      layers,
      totals: { macs, params, activations, activationBytes: activations * 4, weightBytes: params * 4 },
      perImage: { macs: macs / batch, activations: activations / batch },
    };
  }
}

/** How messages name a network's weights. */
function weightsWhat(name: string): string {
  return name === '' ? 'the weights of the network' : `the weights of network '${name}'`;
}

function sameShapes(a: readonly Shape[], b: readonly Shape[]): boolean {
  return a.length === b.length && a.every((s, i) => s.length === b[i].length && s.every((d, j) => d === b[i][j]));
}
