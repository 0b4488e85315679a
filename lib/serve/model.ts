/**
 * A model the server holds: its engines (one per GPU), its instances (execution contexts with
 * staging slots), its dynamic batcher, and the checks that turn a protocol-neutral InferRequest
 * into engine inputs and the engine's outputs into an InferResponse.
 */
import type { Engine, HostArray, TensorDesc } from '../runtime/engine';
import { DynamicBatcher, Instance } from './batcher';
import { HostBlockPool, type LentBlock } from './body';
import type { WireDType } from './config';
import { WIRE_OF_DTYPE } from './engines';
import { badRequest } from './errors';
import type { ModelMetrics, ServeMetrics } from './metrics';
import type { ModelSource } from './repository';
import { bytesPerElement, classify, type InferRequest, type InferResponse, type ResponseTensor } from './tensors';

/** A tensor in model metadata (KServe's metadata_tensor). */
export interface TensorMetadata {
  readonly name: string;
  readonly datatype: WireDType;
  readonly shape: readonly number[];
}

/** KServe's model metadata response. */
export interface ModelMetadata {
  readonly name: string;
  readonly versions: readonly string[];
  readonly platform: string;
  readonly inputs: readonly TensorMetadata[];
  readonly outputs: readonly TensorMetadata[];
}

/** What the server gives each model. */
export interface ModelRuntime {
  readonly metrics: ServeMetrics;
  /** Requests a model's queue holds when its config sets no max_queue_size. */
  readonly maxQueueSize: number;
}

function metaOf(t: TensorDesc): TensorMetadata {
  return { name: t.name, datatype: WIRE_OF_DTYPE[t.dtype], shape: [-1, ...t.dims] };
}

/** A loaded, ready model. */
export class ServedModel {
  readonly name: string;
  readonly version: string;
  private readonly batcher: DynamicBatcher;
  private readonly instances: Instance[];
  private readonly outputs: readonly TensorDesc[];
  /** Host memory request bodies are read into (single-input models: a lone request runs on it in place). */
  private readonly bodies: HostBlockPool;
  private readonly metrics: ModelMetrics;

  /** @param engines one per device, from loadEngines; `devices` the device of each */
  constructor(
    readonly source: ModelSource,
    private readonly engines: readonly Engine[],
    devices: readonly number[],
    runtime: ModelRuntime,
  ) {
    this.name = source.name;
    this.version = source.version;
    const first = engines[0];
    const listed = source.config.outputs.map((o) => o.name);
    this.outputs = listed.length > 0 ? first.outputs.filter((t) => listed.includes(t.name)) : first.outputs;
    this.instances = instancesOf(source, engines, devices);
    this.metrics = runtime.metrics.forModel(this.name, this.version);
    this.bodies = new HostBlockPool((n) => first.allocateHostBytes(n), bodyPoolBytes(first, source.config.maxBatchSize));
    const db = source.config.dynamicBatching;
    this.batcher = new DynamicBatcher(this.instances, {
      maxBatchSize: source.config.maxBatchSize,
      batching: db !== undefined,
      preferredBatchSizes: db?.preferredBatchSizes ?? [],
      maxQueueDelayUs: db?.maxQueueDelayUs ?? 0,
      maxQueueSize: db !== undefined && db.maxQueueSize > 0 ? db.maxQueueSize : runtime.maxQueueSize,
      defaultTimeoutUs: db?.defaultTimeoutUs ?? 0,
      allowTimeoutOverride: db?.allowTimeoutOverride ?? true,
      onExecution: (batch) => this.metrics.execution(batch),
    });
  }

  /** The engine every instance runs (the first device's). */
  get engine(): Engine {
    return this.engines[0];
  }

  /** Instances (execution contexts) serving the model. */
  get instanceCount(): number {
    return this.instances.length;
  }

  /** KServe model metadata (made once: every request's decoding reads it). */
  metadata(): ModelMetadata {
    this.meta ??= {
      name: this.name,
      versions: [this.version],
      platform: 'tensorrt_plan',
      inputs: this.engine.inputs.map(metaOf),
      outputs: this.outputs.map(metaOf),
    };
    return this.meta;
  }
  private meta: ModelMetadata | undefined;

  /** A block of the model's host memory for `bytes` of request data, when the pool has room. */
  bodyBlock(bytes: number): LentBlock | undefined {
    return this.bodies.take(bytes);
  }

  /** Runs one request through the batcher. */
  async infer(request: InferRequest): Promise<InferResponse> {
    const start = performance.now();
    try {
      const { batch, inputs } = this.checkInputs(request);
      const wanted = this.wantedOutputs(request);
      // Pooled memory is portable (every GPU's engine reads it in place).
      const inPlace = inputs.every((a) => this.bodies.owns(a));
      const result = await this.batcher.submit(batch, inputs, request.timeoutUs, inPlace);
      const outputs = wanted.map((w) =>
        this.responseTensor(w, result.outputs[this.engine.outputs.findIndex((t) => t.name === w.desc.name)], batch),
      );
      this.metrics.succeeded((performance.now() - start) * 1000, result.timing);
      return { modelName: this.name, modelVersion: this.version, ...(request.id !== undefined ? { id: request.id } : {}), outputs };
    } catch (err) {
      this.metrics.failed((performance.now() - start) * 1000);
      throw err;
    }
  }

  /** The request's inputs in the engine's order, checked; and its batch. */
  private checkInputs(request: InferRequest): { batch: number; inputs: HostArray[] } {
    const engineInputs = this.engine.inputs;
    for (const t of request.inputs) {
      if (!engineInputs.some((e) => e.name === t.name)) {
        throw badRequest(`unexpected input '${t.name}' for model '${this.name}' (inputs: ${engineInputs.map((e) => e.name).join(', ')})`);
      }
    }
    let batch = -1;
    const inputs = engineInputs.map((e) => {
      const t = request.inputs.find((x) => x.name === e.name);
      if (t === undefined) throw badRequest(`input '${e.name}' is missing for model '${this.name}'`);
      const want = WIRE_OF_DTYPE[e.dtype];
      if (t.datatype !== want) throw badRequest(`input '${e.name}': datatype ${t.datatype}, the model takes ${want}`);
      const n = t.shape[0];
      const shapeOk = t.shape.length === e.dims.length + 1 && e.dims.every((d, i) => t.shape[i + 1] === d) && Number.isInteger(n) && n >= 1;
      if (!shapeOk) throw badRequest(`input '${e.name}': shape [${t.shape.join(', ')}], the model takes [N, ${e.dims.join(', ')}]`);
      if (n > this.source.config.maxBatchSize)
        throw badRequest(`input '${e.name}': batch ${n} is over the model's max_batch_size ${this.source.config.maxBatchSize}`);
      if (batch !== -1 && n !== batch) throw badRequest(`inputs disagree on the batch (${batch} and ${n})`);
      batch = n;
      return t.data;
    });
    return { batch, inputs };
  }

  private wantedOutputs(request: InferRequest): Array<{ desc: TensorDesc; binary: boolean; classification: number }> {
    if (request.outputs === undefined || request.outputs.length === 0) {
      return this.outputs.map((desc) => ({ desc, binary: request.binaryOutputs, classification: 0 }));
    }
    return request.outputs.map((o) => {
      const desc = this.outputs.find((t) => t.name === o.name);
      if (desc === undefined)
        throw badRequest(`unknown output '${o.name}' for model '${this.name}' (outputs: ${this.outputs.map((t) => t.name).join(', ')})`);
      if (o.classification > 0 && desc.dtype === 'float16') throw badRequest(`output '${o.name}': classification needs an FP32 output`);
      return { desc, binary: o.binary, classification: o.classification };
    });
  }

  private responseTensor(w: { desc: TensorDesc; binary: boolean; classification: number }, data: HostArray, batch: number): ResponseTensor {
    if (w.classification > 0) {
      const k = Math.min(
        w.classification,
        w.desc.dims.reduce((a, b) => a * b, 1),
      );
      return {
        name: w.desc.name,
        datatype: 'BYTES',
        shape: [batch, k],
        data: classify(data as Float32Array, batch, k, this.source.labels),
        binary: w.binary,
      };
    }
    return {
      name: w.desc.name,
      datatype: WIRE_OF_DTYPE[w.desc.dtype],
      shape: [batch, ...w.desc.dims],
      data: data as Float32Array,
      binary: w.binary,
    };
  }

  /** Stops taking requests, lets queued and running ones finish, then frees contexts and engines. */
  async unload(): Promise<void> {
    await this.batcher.drain();
    for (const i of this.instances) i.context.dispose();
    for (const e of this.engines) e.dispose();
    this.bodies.close();
  }
}

/** Instances per instance_group: `count` on each of the group's GPUs (cpu: `count` in all). */
function instancesOf(source: ModelSource, engines: readonly Engine[], devices: readonly number[]): Instance[] {
  const groups =
    source.config.instanceGroups.length > 0 ? source.config.instanceGroups : [{ count: 1, kind: 'KIND_AUTO' as const, gpus: [] }];
  const out: Instance[] = [];
  for (const g of groups) {
    const on = engines[0].backend === 'cpu' || g.kind === 'KIND_CPU' ? [devices[0]] : g.gpus.length > 0 ? g.gpus : devices;
    for (const device of on) {
      const engine = engines[Math.max(0, devices.indexOf(device))];
      for (let i = 0; i < g.count; i++) out.push(new Instance(engine, engine.createContext(), device));
    }
  }
  return out;
}

/**
 * Pooled body memory of a model: room for eight requests of max_batch_size images, at least 16 MiB
 * (requests past that read into ordinary memory).
 */
function bodyPoolBytes(engine: Engine, maxBatch: number): number {
  const perImage = engine.inputs.reduce((sum, t) => sum + t.dims.reduce((a, b) => a * b, 1) * bytesPerElement(WIRE_OF_DTYPE[t.dtype]), 0);
  return Math.max(16 << 20, 8 * maxBatch * perImage);
}
