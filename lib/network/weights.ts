/**
 * Weights of a network: from a .caffemodel (checked blob by blob against the IR's expected
 * shapes) or random, deterministic from a seed. docs/weights.md documents the distributions.
 *
 * Random blobs are generated per layer on first use from a generator seeded by
 * (seed, layer name, blob index), so a layer's weights do not depend on which other layers exist
 * or in what order they are asked for.
 */
import { Message, type CaffeModelFile } from '../caffe';
import { OutOfMemoryError, TensorRTNodeError, WeightsError } from '../errors';
import type { WeightNeed } from '../host_memory';
import { forkOf, matchLayout, type FileBlobs } from './layers/forks';
import type { AnyLayer, Shape } from './types';
import { volume } from './types';

/** How random weights are drawn: 'he' (default: scaled to keep activations in range) or 'filler'. */
export type WeightInit = 'he' | 'filler';

/** xoshiro128** seeded through splitmix32: small, fast, and the same on every platform. */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare: number | undefined;

  constructor(seed: number) {
    let x = seed >>> 0;
    const next = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** Uniform 32-bit integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.nextU32() / 4294967296;
  }

  /** Standard normal (Box-Muller, both values used). */
  normal(): number {
    if (this.spare !== undefined) {
      const v = this.spare;
      this.spare = undefined;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** FNV-1a over a string, mixed with the seed: the per-blob generator seed. */
export function blobSeed(seed: number, layerName: string, blobIndex: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  const text = `${layerName}\u0000${blobIndex}`;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

function fillUniform(out: Float32Array, rng: Rng, lo: number, hi: number): void {
  for (let i = 0; i < out.length; i++) out[i] = lo + (hi - lo) * rng.uniform();
}

function fillNormal(out: Float32Array, rng: Rng, mean: number, std: number): void {
  for (let i = 0; i < out.length; i++) out[i] = mean + std * rng.normal();
}

/** Fan-in and fan-out as Caffe's Xavier / MSRA fillers count them: count / shape[0], count / shape[1] (count for 1-D). */
function fans(shape: Shape): { fanIn: number; fanOut: number } {
  const count = volume(shape);
  return { fanIn: shape.length > 0 ? count / shape[0] : 1, fanOut: shape.length > 1 ? count / shape[1] : count };
}

/** A FillerParameter with Caffe's defaults applied: plain data, so it can cross to a worker thread. */
export interface FillerSpec {
  readonly type: string;
  readonly value: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly std: number;
  readonly varianceNorm: string;
}

/** The FillerSpec of a FillerParameter message. */
export function fillerSpec(m: Message): FillerSpec {
  return {
    type: m.str('type'),
    value: m.num('value'),
    min: m.num('min'),
    max: m.num('max'),
    mean: m.num('mean'),
    std: m.num('std'),
    varianceNorm: m.str('variance_norm'),
  };
}

/** Fills `out` as Caffe's FillerParameter says (constant, uniform, gaussian, xavier, msra, positive_unitball, bilinear). */
export function applyFiller(out: Float32Array, shape: Shape, filler: Message | FillerSpec, rng: Rng): void {
  const f = filler instanceof Message ? fillerSpec(filler) : filler;
  const type = f.type;
  const { fanIn, fanOut } = fans(shape);
  const norm = f.varianceNorm;
  const n = norm === 'FAN_OUT' ? fanOut : norm === 'AVERAGE' ? (fanIn + fanOut) / 2 : fanIn;
  switch (type) {
    case 'constant':
      out.fill(f.value);
      return;
    case 'uniform':
      fillUniform(out, rng, f.min, f.max);
      return;
    case 'gaussian':
      fillNormal(out, rng, f.mean, f.std);
      return;
    case 'xavier': {
      const a = Math.sqrt(3 / n);
      fillUniform(out, rng, -a, a);
      return;
    }
    case 'msra':
      fillNormal(out, rng, 0, Math.sqrt(2 / n));
      return;
    case 'positive_unitball': {
      fillUniform(out, rng, 0, 1);
      const per = shape.length > 0 ? volume(shape) / shape[0] : out.length;
      for (let i = 0; i < out.length; i += per) {
        let sum = 0;
        for (let j = i; j < i + per; j++) sum += out[j];
        for (let j = i; j < i + per; j++) out[j] /= sum;
      }
      return;
    }
    case 'bilinear': {
      // Upsampling kernel for deconvolution, Caffe's BilinearFiller: f = ceil(w / 2),
      // c = (w - 1) / (2 f), value (1 - |x / f - c|) (1 - |y / f - c|).
      const width = shape[shape.length - 1];
      const height = shape[shape.length - 2];
      const f = Math.ceil(width / 2);
      const c = (width - 1) / (2 * f);
      for (let i = 0; i < out.length; i++) {
        const x = i % width;
        const y = Math.floor(i / width) % height;
        out[i] = (1 - Math.abs(x / f - c)) * (1 - Math.abs(y / f - c));
      }
      return;
    }
    default:
      throw new WeightsError(`unknown filler type '${type}'`);
  }
}

/** The LayerParameter sub-message and fields that hold a layer type's fillers (blob 0, blob 1). */
const FILLER_FIELDS: Readonly<Record<string, readonly [string, readonly string[]]>> = {
  Convolution: ['convolution_param', ['weight_filler', 'bias_filler']],
  Deconvolution: ['convolution_param', ['weight_filler', 'bias_filler']],
  InnerProduct: ['inner_product_param', ['weight_filler', 'bias_filler']],
  Embed: ['embed_param', ['weight_filler', 'bias_filler']],
  PReLU: ['prelu_param', ['filler']],
  Scale: ['scale_param', ['filler', 'bias_filler']],
  Bias: ['bias_param', ['filler']],
  Normalize: ['norm_param', ['scale_filler']],
};

/** Caffe's defaults where a layer gives no filler. */
function defaultFiller(param: Message, layer: AnyLayer, blob: number): Message {
  const msg = new Message(param.schema, param.schema.message('FillerParameter'));
  if (layer.type === 'PReLU') msg.set('value', 0.25);
  if (layer.type === 'Normalize') msg.set('value', 1);
  if (layer.type === 'Scale' && blob === 0 && !layer.attrs.fromInput) msg.set('value', 1);
  return msg;
}

/**
 * Random blob `index` of `layer` in 'he' mode:
 * - weights of Convolution / Deconvolution / InnerProduct: normal(0, sqrt(2 / fan_in)),
 *   fan_in = blob elements / blob dim 0 (He et al. 2015); Embed: normal(0, 1);
 * - biases (blob 1 of those, Bias blobs, Scale's bias): uniform(-0.1, 0.1);
 * - BatchNorm: mean uniform(-0.1, 0.1), variance uniform(0.5, 1.5), factor 1;
 * - Scale: gamma uniform(0.8, 1.2); Normalize's scale likewise; PReLU slopes uniform(0.1, 0.3).
 */
function heBlob(spec: BlobSpec, rng: Rng): Float32Array {
  const { index, shape } = spec;
  const out = new Float32Array(volume(shape));
  switch (spec.type) {
    case 'Convolution':
    case 'Deconvolution':
    case 'InnerProduct':
      if (index === 0) fillNormal(out, rng, 0, Math.sqrt(2 / fans(shape).fanIn));
      else fillUniform(out, rng, -0.1, 0.1);
      break;
    case 'Embed':
      if (index === 0) fillNormal(out, rng, 0, 1);
      else fillUniform(out, rng, -0.1, 0.1);
      break;
    case 'BatchNorm':
      if (index === 0) fillUniform(out, rng, -0.1, 0.1);
      else if (index === 1) fillUniform(out, rng, 0.5, 1.5);
      else out.fill(1);
      break;
    case 'Scale':
      if (index === 0 && !spec.fromInput) fillUniform(out, rng, 0.8, 1.2);
      else fillUniform(out, rng, -0.1, 0.1);
      break;
    case 'Normalize':
      fillUniform(out, rng, 0.8, 1.2);
      break;
    case 'PReLU':
      fillUniform(out, rng, 0.1, 0.3);
      break;
    default:
      fillUniform(out, rng, -0.1, 0.1);
  }
  return out;
}

/**
 * What it takes to generate one random blob: plain data (a worker thread generates large
 * networks' weights), resolved from the layer and its parameters on the main thread.
 */
export interface BlobSpec {
  readonly layer: string;
  readonly type: string;
  readonly index: number;
  readonly shape: readonly number[];
  /** Scale layers whose scale is their second input. */
  readonly fromInput: boolean;
  /** 'filler' mode: the filler of this blob (Caffe's default where the layer gives none). */
  readonly filler?: FillerSpec;
}

/** The BlobSpecs of `layer`'s blobs. */
export function blobSpecs(layer: AnyLayer, param: Message, init: WeightInit): BlobSpec[] {
  const fromInput = layer.type === 'Scale' && layer.attrs.fromInput;
  return layer.blobs.map((shape, index) => {
    const base = { layer: layer.name, type: layer.type, index, shape: [...shape], fromInput };
    if (init === 'he' || layer.type === 'BatchNorm') return base;
    const spec = forkOf(param)?.fillers?.(param) ?? FILLER_FIELDS[layer.type];
    const holder = spec === undefined ? undefined : param.sub(spec[0]);
    // A Scale whose scale is its second input has only the bias blob: blob 0 takes bias_filler.
    const slot = fromInput ? index + 1 : index;
    const field = spec?.[1][slot];
    const filler =
      holder !== undefined && field !== undefined && holder.has(field) ? (holder.msg(field) as Message) : defaultFiller(param, layer, slot);
    return { ...base, filler: fillerSpec(filler) };
  });
}

/** Generates one random blob, deterministic from `seed`; the same on any thread. */
export function generateBlob(spec: BlobSpec, seed: number, init: WeightInit): Float32Array {
  const rng = new Rng(blobSeed(seed, spec.layer, spec.index));
  if (init === 'he') return heBlob(spec, rng);
  const out = new Float32Array(volume(spec.shape));
  if (spec.type === 'BatchNorm') {
    // Caffe starts BatchNorm's statistics at zero; a zero factor would divide by zero, so 1.
    if (spec.index >= 1) out.fill(1);
    return out;
  }
  try {
    applyFiller(out, spec.shape, spec.filler as FillerSpec, rng);
  } catch (err) {
    if (!(err instanceof WeightsError)) throw err;
    throw new WeightsError(`layer '${spec.layer}' (${spec.type}) blob ${spec.index}: ${err.message}`, spec.layer, spec.index);
  }
  return out;
}

/**
 * What the weights worker posts back: each blob's ArrayBuffer, transferred. Not the Float32Arrays:
 * structured clone writes a view's byte offset and length as 32-bit numbers, so a 6.4 GB blob
 * arrived as 526,258,176 values; a transferred ArrayBuffer keeps its whole length (any size, no
 * copy), and the views are made again on arrival from the lengths the specs give.
 */
export interface WorkerBlobs {
  readonly buffers: readonly ArrayBuffer[];
}

/** The message that carries `blobs` (each the whole of its buffer, as generateBlob makes them) from the worker, and what it transfers. */
export function workerBlobsMessage(blobs: readonly Float32Array[]): { message: WorkerBlobs; transfer: ArrayBuffer[] } {
  const buffers = blobs.map((b) => {
    if (b.byteOffset !== 0 || b.byteLength !== b.buffer.byteLength) {
      throw new TensorRTNodeError(
        'E_INTERNAL',
        'a random blob is a view into a larger buffer, which the weights worker cannot send ' +
          '(a bug in tensorrt-node: please report it)',
      );
    }
    return b.buffer as ArrayBuffer;
  });
  return { message: { buffers }, transfer: [...buffers] };
}

/**
 * The blobs of `specs` out of the worker's message, each checked to hold exactly the values its
 * shape needs. A mismatch is the package's fault, never the caller's: E_INTERNAL naming the blob.
 */
export function blobsFromWorker(specs: readonly BlobSpec[], message: WorkerBlobs): Float32Array[] {
  const { buffers } = message;
  if (buffers.length !== specs.length) {
    throw new TensorRTNodeError(
      'E_INTERNAL',
      `the weights worker sent ${buffers.length} blob(s), expected ${specs.length} ` + '(a bug in tensorrt-node: please report it)',
    );
  }
  return specs.map((s, i) => {
    const want = volume(s.shape);
    const got = buffers[i].byteLength / 4;
    if (got !== want) {
      throw new TensorRTNodeError(
        'E_INTERNAL',
        `random weights '${s.layer}/${s.index}' came back from the weights worker with ` +
          `${got} values, expected ${want} (shape [${s.shape.join(', ')}]): a bug in tensorrt-node, please report it`,
      );
    }
    return new Float32Array(buffers[i], 0, want);
  });
}

/** What the weights worker posts when generating a blob failed. */
export interface WorkerFailure {
  readonly error: {
    /** weights: a filler the package cannot apply; memory: the blob could not be allocated; internal: anything else. */
    readonly kind: 'weights' | 'memory' | 'internal';
    readonly message: string;
    /** The blob being generated, when there was one. */
    readonly layer?: string;
    readonly index?: number;
  };
}

/** The worker's report of `err`, thrown while generating `spec`. */
export function workerFailure(err: unknown, spec: BlobSpec | undefined): WorkerFailure {
  const message = err instanceof Error ? err.message : String(err);
  const kind =
    err instanceof WeightsError ? 'weights' : err instanceof RangeError && /allocation failed/i.test(message) ? 'memory' : 'internal';
  return { error: { kind, message, layer: spec?.layer, index: spec?.index } };
}

/** The error to give the caller for a worker's failure report. */
export function errorFromWorker(failure: WorkerFailure, specs: readonly BlobSpec[]): TensorRTNodeError {
  const { kind, message, layer, index } = failure.error;
  const spec = specs.find((s) => s.layer === layer && s.index === index);
  if (kind === 'weights') return new WeightsError(message, layer, index);
  const blob = spec === undefined ? 'random weights' : `random weights '${spec.layer}/${spec.index}'`;
  if (kind === 'memory' && spec !== undefined) {
    const bytes = 4 * volume(spec.shape);
    return new OutOfMemoryError(`cannot allocate ${bytes} bytes of host memory for ${blob} (${message})`, spec.layer, bytes);
  }
  return new TensorRTNodeError('E_INTERNAL', `the weights worker failed while generating ${blob}: ${message}`);
}

/** What blobs need, layer by layer in the order of their first blob (for checkWeightsFit). */
export function weightNeeds(blobs: ReadonlyArray<Pick<BlobSpec, 'layer' | 'type' | 'shape'>>): WeightNeed[] {
  const byLayer = new Map<string, { layer: string; type: string; bytes: number; largestBlob: number }>();
  for (const b of blobs) {
    const values = volume(b.shape);
    const need = byLayer.get(b.layer) ?? { layer: b.layer, type: b.type, bytes: 0, largestBlob: 0 };
    need.bytes += 4 * values;
    need.largestBlob = Math.max(need.largestBlob, values);
    byLayer.set(b.layer, need);
  }
  return [...byLayer.values()];
}

/** The blobs of `layers` as weightNeeds() takes them: name, type and shape. */
export function layerBlobs(layers: readonly AnyLayer[]): Array<Pick<BlobSpec, 'layer' | 'type' | 'shape'>> {
  return layers.flatMap((l) => l.blobs.map((shape) => ({ layer: l.name, type: l.type, shape })));
}

/** Random blobs of `layer`, deterministic from `seed`. */
export function randomBlobs(layer: AnyLayer, param: Message, seed: number, init: WeightInit): Float32Array[] {
  return blobSpecs(layer, param, init).map((spec) => generateBlob(spec, seed, init));
}

/** True when a legacy (num, channels, height, width) blob shape matches `expected` as Caffe's Blob::ShapeEquals does. */
function shapeMatches(expected: Shape, actual: readonly number[], legacy: boolean): boolean {
  if (legacy) {
    if (expected.length > 4) return false;
    const padded = [...new Array<number>(4 - expected.length).fill(1), ...expected];
    return padded.every((d, i) => d === actual[i]);
  }
  return expected.length === actual.length && expected.every((d, i) => d === actual[i]);
}

/** The blobs of fork layer `layer` (folded into a Scale) from the file's, which must match one of its layouts. */
function foldedBlobs(layer: AnyLayer, fork: FileBlobs, source: CaffeModelFile['layers'][number], path: string): Float32Array[] {
  const shapes = source.blobs.map((b) => b.shape);
  const layout = matchLayout(fork, shapes);
  if (layout < 0) {
    const wanted = fork.layouts.map((l) => l.map((s) => `[${s.join(', ')}]`).join(' ')).join(' or ');
    throw new WeightsError(
      `layer '${layer.name}' needs ${fork.names.length} blobs (${fork.names.join(', ')}) shaped ${wanted} ` +
        `but ${path} has ${source.blobs.length}: ${shapes.map((s) => `[${s.join(', ')}]`).join(' ') || 'none'}`,
      layer.name,
    );
  }
  return fork.convert(
    source.blobs.map((b) => b.data),
    layout,
  );
}

/**
 * Takes each IR layer's blobs from a read .caffemodel, by layer name, checking count and shapes
 * (fork layers folded into a Scale: the fork's blobs, converted). Returns the blobs by layer name
 * and how many layers of the file the network does not use.
 */
export function matchCaffemodel(
  layers: readonly AnyLayer[],
  file: CaffeModelFile,
  forks: ReadonlyMap<string, FileBlobs> = new Map(),
): { blobs: Map<string, Float32Array[]>; unused: number } {
  const byName = new Map(file.layers.map((l) => [l.name, l]));
  const blobs = new Map<string, Float32Array[]>();
  const used = new Set<string>();
  for (const layer of layers) {
    if (layer.blobs.length === 0) continue;
    const source = byName.get(layer.name);
    if (source === undefined || source.blobs.length === 0) {
      throw new WeightsError(
        `${file.path} has no weights for layer '${layer.name}' (${layer.type}); ` +
          'the prototxt and the caffemodel do not belong together (omit the weights file to use random weights)',
        layer.name,
      );
    }
    used.add(layer.name);
    const fork = forks.get(layer.name);
    if (fork !== undefined) {
      blobs.set(layer.name, foldedBlobs(layer, fork, source, file.path));
      continue;
    }
    if (source.blobs.length !== layer.blobs.length) {
      throw new WeightsError(
        `layer '${layer.name}' (${layer.type}) needs ${layer.blobs.length} blob(s) but ` + `${file.path} has ${source.blobs.length}`,
        layer.name,
      );
    }
    layer.blobs.forEach((expected, i) => {
      const blob = source.blobs[i];
      if (!shapeMatches(expected, blob.shape, blob.legacyShape)) {
        throw new WeightsError(
          `layer '${layer.name}' (${layer.type}) blob ${i}: expected shape [${expected.join(', ')}] ` +
            `but ${file.path} has [${blob.shape.join(', ')}]${blob.legacyShape ? ' (legacy num/channels/height/width)' : ''}`,
          layer.name,
          i,
          expected,
          blob.shape,
        );
      }
    });
    blobs.set(
      layer.name,
      source.blobs.map((b) => b.data),
    );
  }
  return { blobs, unused: file.layers.filter((l) => !used.has(l.name) && l.blobs.length > 0).length };
}
