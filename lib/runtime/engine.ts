/**
 * Engines and execution contexts, as TensorRT shapes them and as Node expects: builds and runs go
 * to other threads and come back as Promises; engine.dispose() / context.dispose() (or `using`)
 * free native memory early, finalizers free it otherwise.
 */
import { argumentError, callSite, DisposedError, fromNative, fromNativeAt, IOError, PlanError, TensorRTNodeError } from '../errors';
import {
  anyObject,
  boolean,
  instanceOf,
  integer,
  knownKeys,
  nonEmptyString,
  object,
  optional,
  plainObject,
  type Checker,
} from '../validate';
import { backendOption, checkThreads, isBackendName, resolveBackend, type BackendChoice, type BackendName } from '../backends';
import { nodePrecisions, type ExecGraph, type IoDType, type Precision } from './graph_format';
import { layoutPlan, readPlan, readPlanFileHead, writePlan, type PlanHeader, type PlanTensor } from './plan_file';
import { Tensor, type HostArray } from './tensor';
import { native, type NativeHandle, type NativePlanLayout, type NativeRunTiming, type QueuedRuns } from '../native';

/** An engine input or output. */
export interface TensorDesc {
  readonly name: string;
  /** Dimensions of one image. */
  readonly dims: readonly number[];
  /** [maxBatchSize, ...dims]. */
  readonly shape: readonly number[];
  /**
   * The form infer() takes or gives it in: 'float32' (a Float32Array), 'float16' (a Uint16Array of
   * float16 bits, converted on the device) or 'uint8' (a Uint8Array of image bytes).
   */
  readonly dtype: IoDType;
}

export type { HostArray };

/** infer()'s inputs: a typed array per input name, of the input's TensorDesc.dtype, batch-major. */
export type InferInputs = Readonly<Record<string, HostArray>>;

const ARRAY_OF: Readonly<Record<IoDType, { readonly type: new (n: number) => HostArray; readonly name: string; readonly bytes: number }>> =
  {
    float32: { type: Float32Array, name: 'Float32Array', bytes: 4 },
    float16: { type: Uint16Array, name: 'Uint16Array (float16 bits)', bytes: 2 },
    uint8: { type: Uint8Array, name: 'Uint8Array', bytes: 1 },
  };

/** True when `a` is the typed array of host form `dtype` (a Uint8ClampedArray or a Buffer counts as uint8). */
function isArrayOf(a: unknown, dtype: IoDType): a is HostArray {
  return a instanceof ARRAY_OF[dtype].type || (dtype === 'uint8' && a instanceof Uint8ClampedArray);
}

/** Options of ExecutionContext.infer() and run(). */
export interface InferOptions {
  /**
   * Cancels the call if it has not started when the signal aborts: it then rejects with E_ABORTED
   * at once. A call already running finishes as it would have.
   */
  readonly signal?: AbortSignal;
  /** Images in this call; by default the input length divided by one image's size. */
  readonly batchSize?: number;
  /**
   * Arrays to write the outputs into (at least batchSize x image size long, of the output's
   * TensorDesc.dtype), by output name. They are written when the promise settles.
   */
  readonly outputs?: Readonly<Record<string, HostArray>>;
  /**
   * Time every layer of this call on its own (trtexec's --dumpProfile): run() gives the times with
   * the call's result (infer() leaves them in the context's lastProfile). Slower than a plain call
   * (no CUDA graph, an event per layer): for profiling, not for serving.
   */
  readonly profile?: boolean;
}

/**
 * @internal Benchmark-only knobs (tensorrt-node bench / sweep): ExecutionContext.benchInfer and
 * inferMany take them; infer() and run() refuse them.
 */
export interface BenchOptions extends InferOptions {
  /**
   * False skips copying the inputs in and the outputs out (trtexec's --noDataTransfers): the
   * device reuses whatever its buffers hold and the outputs are not written. Inputs may then be
   * left out (give batchSize), and outputs not passed in come back as empty arrays, so a benchmark
   * of a huge batch needs no host memory for it. Default true.
   */
  readonly transfers?: boolean;
  /** GPU backends: replay the batch size's CUDA graph (default true); false launches kernel by kernel. */
  readonly cudaGraph?: boolean;
}

/** What an engine is, independent of how it was made. */
export interface EngineMeta {
  readonly name: string;
  readonly backend: BackendName;
  readonly precision: Precision;
  readonly maxBatchSize: number;
  readonly deviceArch: string | null;
  readonly inputs: readonly PlanTensor[];
  readonly outputs: readonly PlanTensor[];
  /** When the engine was built (kept through plans, so a plan round-trips bit for bit). */
  readonly createdAt: string;
}

function volume(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function describe(t: PlanTensor, maxBatch: number): TensorDesc {
  return { name: t.name, dims: [...t.dims], shape: [maxBatch, ...t.dims], dtype: t.dtype ?? 'float32' };
}

/** A built engine: immutable; make contexts to run it. */
export class Engine {
  private handle: NativeHandle | undefined;
  private readonly contexts = new Set<ExecutionContext>();
  /** @internal The input and output names in graph order (checked on every call). */
  readonly inputNames: readonly string[];
  /** @internal */
  readonly outputNames: readonly string[];

  /** @internal Builder.build and Runtime.deserialize make engines. */
  constructor(
    handle: NativeHandle,
    readonly meta: EngineMeta,
    private readonly graphJson: string,
  ) {
    this.handle = handle;
    this.inputNames = meta.inputs.map((t) => t.name);
    this.outputNames = meta.outputs.map((t) => t.name);
  }

  get name(): string {
    return this.meta.name;
  }

  get backend(): BackendName {
    return this.meta.backend;
  }

  get precision(): Precision {
    return this.meta.precision;
  }

  get maxBatchSize(): number {
    return this.meta.maxBatchSize;
  }

  /** Inputs, in the order the network declares them. */
  get inputs(): readonly TensorDesc[] {
    return this.meta.inputs.map((t) => describe(t, this.meta.maxBatchSize));
  }

  /** Outputs (tensors no layer reads). */
  get outputs(): readonly TensorDesc[] {
    return this.meta.outputs.map((t) => describe(t, this.meta.maxBatchSize));
  }

  /** True after dispose(). */
  get disposed(): boolean {
    return this.handle === undefined;
  }

  /** @internal */
  nativeHandle(): NativeHandle {
    if (this.handle === undefined) throw new DisposedError('engine');
    return this.handle;
  }

  /** Bytes of activation memory one context needs per image, and of the prepared weights. */
  memory(): { activationBytesPerImage: number; weightBytes: number } {
    const info = native().engineInfo(this.nativeHandle());
    return { activationBytesPerImage: info.activationBytesPerImage, weightBytes: info.weightBytes };
  }

  /**
   * The largest batch every kernel launch of this engine indexes correctly (the cuda backend counts
   * GEMM rows, batch x output pixels, in 32 bits); 2147483647 where nothing below the batch's int
   * range bounds it. Never below maxBatchSize: the builder refuses an engine beyond its limit.
   */
  get maxRunnableBatch(): number {
    return native().engineInfo(this.nativeHandle()).maxRunnableBatch;
  }

  /**
   * What the backend made of the network: for cuda the GPU, the tactic chosen for every layer
   * (with its time when it was timed), the layout of every tensor and the timing cache; on every
   * backend, `precisions`: the layers by the precision they run in.
   */
  details(): EngineDetails {
    const details = JSON.parse(native().engineInfo(this.nativeHandle()).details) as EngineDetails;
    return { ...details, precisions: nodePrecisions(JSON.parse(this.graphJson) as ExecGraph) };
  }

  /**
   * The engine as a plan in memory (see lib/runtime/plan_file.ts). Blocks the JS thread while it
   * copies the weights (about half a second for AlexNet's 244 MB); save() writes a file without
   * blocking and without a copy of the plan in memory.
   */
  serialize(): Uint8Array {
    let sections: { weights: Uint8Array; backend: Uint8Array };
    try {
      sections = native().serializeEngine(this.nativeHandle());
    } catch (err) {
      throw fromNative(err);
    }
    return writePlan(this.planHeader(), this.graphJson, sections.weights, sections.backend);
  }

  /**
   * Writes the plan to a file, off the JS thread: the weights stream from the engine into the file
   * (no plan-sized buffer), written beside it and renamed over it, so a failure leaves no partial
   * plan. The same bytes as serialize().
   */
  async save(path: string): Promise<void> {
    PATH(path, 'path');
    const handle = this.nativeHandle();
    let sizes: { weights: number; backend: number };
    try {
      sizes = native().planSectionSizes(handle);
    } catch (err) {
      throw fromNative(err);
    }
    const layout = layoutPlan(this.planHeader(), Buffer.byteLength(this.graphJson, 'utf8'), sizes.weights, sizes.backend);
    const site = callSite();
    try {
      await native().savePlan(handle, path, layout.head, nativeLayout(layout), this.graphJson);
    } catch (err) {
      const e = fromNativeAt(err, site);
      throw e instanceof TensorRTNodeError && e.code === 'E_IO' ? new IOError(e.message, path, { cause: err }) : e;
    }
  }

  /**
   * Loads a plan file: its head and graph are read and checked first, then the weights stream from
   * the file into the engine off the JS thread (about one copy of the weights in memory at the
   * peak, not three); the checksum is checked before the engine is made.
   */
  static async load(path: string, options: DeserializeOptions = {}): Promise<Engine> {
    PATH(path, 'path');
    const { device, threads } = checkLoadOptions(options);
    const head = await readPlanFileHead(path);
    const h = head.header;
    checkPlanHere(h, options);
    let handle: NativeHandle;
    const site = callSite();
    try {
      handle = await native().loadPlanFile(h.backend, head.graphJson, path, nativeLayout(h), head.crc, device, threads);
    } catch (err) {
      throw fromNativeAt(err, site);
    }
    return engineFromPlan(handle, h, head.graphJson);
  }

  private planHeader(): Omit<PlanHeader, 'sections' | 'formatVersion'> {
    return {
      packageVersion: packageVersion(),
      backend: this.meta.backend,
      precision: this.meta.precision,
      deviceArch: this.meta.deviceArch,
      maxBatchSize: this.meta.maxBatchSize,
      name: this.meta.name,
      createdAt: this.meta.createdAt,
      inputs: this.meta.inputs,
      outputs: this.meta.outputs,
    };
  }

  /**
   * Input arrays for `batchSize` images (default maxBatchSize), one per input in its TensorDesc.dtype,
   * over host memory the engine's device reads directly (pinned, page-locked memory on GPU
   * backends). infer() uses them in place: nothing is copied on the host, and the copy to the GPU
   * overlaps other work. Unlike ordinary arrays, they are read when the inference runs, not when
   * infer() is called: fill them, call infer(), and change them again once its promise settles
   * (keep two sets to fill one while the other runs). The memory is freed when the arrays are
   * collected.
   */
  createInputs(batchSize: number = this.maxBatchSize): Record<string, HostArray> {
    return this.hostArrays(this.meta.inputs, batchSize, 'batchSize');
  }

  /**
   * Output arrays for `batchSize` images (default maxBatchSize), like createInputs(): passed as
   * infer()'s `options.outputs`, the GPU writes the results straight into them when the inference
   * runs; read them once the promise settles.
   */
  createOutputs(batchSize: number = this.maxBatchSize): Record<string, HostArray> {
    return this.hostArrays(this.meta.outputs, batchSize, 'batchSize');
  }

  private hostArrays(tensors: readonly PlanTensor[], batchSize: number, name: string): Record<string, HostArray> {
    integer({ min: 1, max: this.maxBatchSize, what: `an integer in [1, ${this.maxBatchSize}] (the engine's maxBatchSize)` })(
      batchSize,
      name,
    );
    const handle = this.nativeHandle();
    const out: Record<string, HostArray> = {};
    for (const t of tensors) {
      const { type, bytes } = ARRAY_OF[t.dtype ?? 'float32'];
      const n = batchSize * volume(t.dims);
      let buffer: ArrayBuffer;
      try {
        buffer = native().allocateHost(handle, n * bytes);
      } catch (err) {
        throw fromNative(err);
      }
      out[t.name] = new (type as unknown as new (b: ArrayBuffer) => HostArray)(buffer);
    }
    return out;
  }

  /**
   * @internal `bytes` of the host memory createInputs() hands out (pinned on GPU backends), as
   * bytes: the server reads request bodies straight into it, and infer() uses any typed-array view
   * inside it in place.
   */
  allocateHostBytes(bytes: number): Uint8Array {
    try {
      return new Uint8Array(native().allocateHost(this.nativeHandle(), bytes));
    } catch (err) {
      throw fromNative(err);
    }
  }

  /** A new execution context (its own activation memory; contexts run in parallel). */
  createContext(options: ContextOptions = {}): ExecutionContext {
    checkContextOptions(options, 'options');
    let handle: NativeHandle;
    try {
      handle = native().createContext(this.nativeHandle(), { wakeAhead: (options.spinWait ?? 'auto') === 'auto' });
    } catch (err) {
      throw fromNative(err);
    }
    const ctx = new ExecutionContext(this, handle, options);
    this.contexts.add(ctx);
    return ctx;
  }

  /** Frees the engine. Contexts made from it keep working until they are disposed. */
  dispose(): void {
    if (this.handle === undefined) return;
    native().disposeEngine(this.handle);
    this.handle = undefined;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** Options of Engine.createContext(). */
export interface ContextOptions {
  /**
   * The most calls accepted and not yet settled; more reject at once with E_BUSY instead of
   * waiting in a queue that grows without limit (a server under overload). Default: no limit.
   */
  readonly maxQueue?: number;
  /**
   * How the JavaScript thread waits for this context's answers (GPU backends; batch-1 latency).
   * A thread asleep takes tens of microseconds to wake when an answer arrives:
   * - `'auto'` (default): the context's thread wakes the event loop shortly before a lone call is
   *   expected to end (from the calls of its batch before it), and the loop watches for the answer
   *   instead of sleeping: at most about twice its usual wake-up time (~15-100 us) per call, only
   *   when nothing else is in flight on the context;
   * - `true` (trtexec's --useSpinWait): the loop turns over with setImmediate while calls are
   *   outstanding, a CPU core busy meanwhile (nothing while none are);
   * - `false`: the loop sleeps until the answer wakes it.
   */
  readonly spinWait?: boolean | 'auto';
}

/** What run() resolves to. */
export interface RunResult {
  /** Each output as a Tensor: dims [batch, ...the output's dims] ([0, ...] when nothing was copied out). */
  readonly outputs: Readonly<Record<string, Tensor>>;
  /** This call's GPU times (GPU backends). */
  readonly timing?: RunTiming;
  /** This call's per-layer times (with `profile: true`). */
  readonly profile?: LayerProfile;
}

/** Backend details of an engine (Engine.details()); the cuda backend fills every field. */
export interface EngineDetails {
  readonly device?: number;
  readonly deviceName?: string;
  readonly sm?: number;
  readonly tuneBatch?: number;
  readonly tuneSeconds?: number;
  readonly elidedConcats?: number;
  readonly aliasedReshapes?: number;
  readonly nhwcTensors?: number;
  /** LRN + MAX pooling pairs that run as one kernel (the pooling's layer has tactic "fused into '<lrn>'"). */
  readonly fusions?: number;
  /** Groups of sibling convolutions run as one GEMM (the others' layers have tactic "merged into '<layer>'"; TRTN_CUDA_MERGE=1). */
  readonly merges?: number;
  /** 3x3 MAX poolings run in the loader of the 1x1 convolution reading them (the pooling's layer has tactic "fused into '<convolution>'"; TRTN_CUDA_POOL_CONV=1). */
  readonly pooledConvs?: number;
  /** The auxiliary streams the build allowed (BuildConfig.maxAuxStreams). */
  readonly maxAuxStreams?: number;
  /** Streams the engine runs its layers on (1: every layer in order on one). */
  readonly streams?: number;
  readonly layers?: ReadonlyArray<{
    readonly name: string;
    readonly op: string;
    readonly precision: string;
    readonly tactic: string;
    readonly candidates: number;
    readonly fromCache: boolean;
    readonly ms?: number;
    /** The stream (0 .. streams - 1) the layer runs on; -1 when it runs nothing (an elided Concat or Reshape). */
    readonly stream?: number;
  }>;
  readonly timingCache?: Readonly<Record<string, string>>;
  readonly tensors?: string;
  /** Layers by the precision they run in, e.g. { int8: 52, fp32: 3 } (every backend; Quantize nodes not counted). */
  readonly precisions?: Readonly<Partial<Record<Precision, number>>>;
}

/** GPU times of the last infer() on a context: copies in, compute, copies out (ms, CUDA events). */
export interface RunTiming {
  readonly h2dMs: number;
  readonly computeMs: number;
  readonly d2hMs: number;
  /** Host time to submit the inference (staging, copies and launches enqueued) before waiting for the GPU. */
  readonly enqueueMs: number;
  /**
   * Host time the call waited on its context before it was submitted: behind earlier calls, or for
   * the context's thread to wake (ms; 0 from the benchmark loops).
   */
  readonly queueMs: number;
  /**
   * When the context's thread saw the inference finish, in ms after the call: the call's latency
   * minus this is the hand-back to JavaScript (waking the JS thread, settling the promise); 0 from
   * the benchmark loops.
   */
  readonly doneMs: number;
}

/** One layer's time in a profiled infer(). */
export interface LayerTime {
  /** The layer's name in the network (after the builder's fusions: a ReLU folded into its convolution has no entry of its own). */
  readonly name: string;
  /** Its IR op (Convolution, Pooling, ...). */
  readonly op: string;
  /** Milliseconds: GPU time between events on either side (cuda), host wall time (cpu). */
  readonly ms: number;
}

/** Every layer's time in the last profiled infer(). */
export interface LayerProfile {
  readonly batch: number;
  readonly layers: readonly LayerTime[];
  /** Layout and type conversions of the inputs and outputs that no layer owns (cuda). */
  readonly reformatMs: number;
}

/**
 * Runs an engine: infer() calls on one context run one after another, in call order, on a native
 * thread of the context's own (never on Node's libuv pool).
 */
export class ExecutionContext {
  private handle: NativeHandle | undefined;
  /** The latest call (asyncDispose waits for it: calls settle in order). */
  private last: Promise<unknown> = Promise.resolve();
  /** Calls accepted and not settled. */
  private pending = 0;
  /** spinWait: whether a chain of event-loop ticks is running. */
  private spinning = false;
  /** The most calls accepted and not settled before more reject with E_BUSY. */
  readonly maxQueue: number;
  /** How the event loop waits for this context's answers (ContextOptions.spinWait). */
  readonly spinWait: boolean | 'auto';
  /** GPU times of the last infer() that finished (cuda backend); undefined on the cpu backend. */
  lastTiming: RunTiming | undefined;
  /** Per-layer times of the last infer() called with `profile: true` that finished. */
  lastProfile: LayerProfile | undefined;

  /** @internal Engine.createContext makes contexts. */
  constructor(
    readonly engine: Engine,
    handle: NativeHandle,
    options: ContextOptions = {},
  ) {
    this.handle = handle;
    this.maxQueue = options.maxQueue ?? Infinity;
    this.spinWait = options.spinWait ?? 'auto';
  }

  get disposed(): boolean {
    return this.handle === undefined;
  }

  /**
   * Runs the engine on `inputs` (a Float32Array per input name, batch-major NCHW) and resolves to
   * the outputs by name. The inputs are copied when infer() is called: the arrays may be reused or
   * changed as soon as it returns. Arrays passed as `options.outputs` are written when the promise
   * settles; leave them alone until then. Argument mistakes reject with TypeError / RangeError,
   * failures while running with a TensorRTNodeError; infer() itself never throws.
   */
  infer<T extends HostArray = Float32Array>(inputs: InferInputs, options: InferOptions = {}): Promise<Record<string, T>> {
    return this.flat(inputs, options, undefined, true) as Promise<Record<string, T>>;
  }

  /** @internal infer() with the benchmark-only knobs (BenchOptions): tensorrt-node bench. */
  benchInfer(inputs: InferInputs, options: BenchOptions = {}): Promise<Record<string, HostArray>> {
    return this.flat(inputs, options, undefined);
  }

  /**
   * @internal Like infer, adding the statistics of every float tensor to `histograms` (made by
   * native().createHistograms for this engine's graph): calibration.
   */
  inferObserved(inputs: InferInputs, histograms: NativeHandle, options: InferOptions = {}): Promise<Record<string, HostArray>> {
    return this.flat(inputs, options, histograms);
  }

  /**
   * @internal Benchmarks (trtexec's timing loop): `count` inferences back to back with up to
   * `depth` queued on the device, so it never waits for the host between them (cuda; elsewhere
   * one after another). Inputs as for infer(); the outputs are the last inference's. Resolves to
   * the per-inference times and whether they include GPU times.
   */
  inferMany(inputs: InferInputs, options: BenchOptions, count: number, depth: number): Promise<{ runs: QueuedRuns; gpu: boolean }> {
    return this.submit(undefined, () => {
      integer({ min: 1, max: 1 << 20 })(count, 'count');
      integer({ min: 1, max: 8 })(depth, 'depth');
      if (options.profile === true) throw argumentError('false (per-layer profiles time one inference at a time)', 'options.profile', true);
      const { batch, inputArrays, outputs } = this.check(inputs, options);
      return [
        native().execute(this.handle as NativeHandle, batch, inputArrays, Object.values(outputs), undefined, {
          transfers: options.transfers !== false,
          graphs: options.cudaGraph !== false,
          count,
          depth,
        }),
        (t) => {
          if (t?.runs === undefined) throw new TensorRTNodeError('E_INTERNAL', 'the addon returned no benchmark runs');
          const n = t.runs.computeMs.length;
          if (t.gpu === true && n > 0) {
            this.lastTiming = {
              h2dMs: t.runs.h2dMs[n - 1],
              computeMs: t.runs.computeMs[n - 1],
              d2hMs: t.runs.d2hMs[n - 1],
              enqueueMs: t.runs.enqueueMs[n - 1],
              queueMs: 0,
              doneMs: 0,
            };
          }
          return { runs: t.runs, gpu: t.gpu === true };
        },
      ];
    });
  }

  /**
   * Hands a call to the native context at once (`start` checks the arguments and calls the addon,
   * which copies the inputs and queues the run behind the calls before it), then maps its result
   * with the function `start` returns. Never throws: argument mistakes and a disposed context
   * reject, native failures reject as TensorRTNodeErrors.
   */
  private submit<T>(
    signalOption: unknown,
    start: (cancel?: NativeHandle) => [Promise<NativeRunTiming | undefined>, (t: NativeRunTiming | undefined) => T],
  ): Promise<T> {
    let result: Promise<T>;
    // The caller's stack for a call's native errors: awaited calls get it from V8's async stack
    // traces for free; a call with a signal settles through a promise of its own (no await chain
    // to follow), so its stack is taken now (3-4 us, one batch-1 call's largest JS cost otherwise).
    const site = signalOption === undefined ? undefined : callSite();
    try {
      if (this.handle === undefined) throw new DisposedError('execution context');
      const signal = SIGNAL(signalOption, 'options.signal');
      if (signal?.aborted === true) throw abortedError(signal);
      if (this.pending >= this.maxQueue) {
        throw new TensorRTNodeError(
          'E_BUSY',
          `the context already has ${this.pending} call(s) waiting (maxQueue ${this.maxQueue}): ` +
            'retry later, or spread the load over more contexts',
        );
      }
      const cancel = signal === undefined ? undefined : native().createCancelToken();
      const [pending, finish] = start(cancel);
      result = this.track(
        pending.then(finish, (err: unknown) => {
          throw fromNativeAt(err, site);
        }),
        signal,
        cancel,
      );
    } catch (err) {
      result = Promise.reject(fromNative(err));
    }
    this.last = result;
    return result;
  }

  /**
   * spinWait: turns the event loop over until no call is outstanding (the last tick stops it). One
   * chain of ticks at a time: a call made before the previous chain saw the queue empty keeps that
   * chain going (a chain per call would pile up in the immediate queue).
   */
  private spin(): void {
    if (this.spinning) return;
    this.spinning = true;
    const tick = (): void => {
      if (this.pending > 0) setImmediate(tick);
      else this.spinning = false;
    };
    setImmediate(tick);
  }

  /** Counts a call until it settles; an abort while it still waits rejects it at once (E_ABORTED). */
  private track<T>(call: Promise<T>, signal: AbortSignal | undefined, cancel: NativeHandle | undefined): Promise<T> {
    this.pending++;
    if (this.spinWait === true) this.spin();
    if (signal === undefined) {
      // The common case, kept short (batch-1 latency): no wrapper promise, no listener.
      return call.then(
        (v) => {
          this.pending--;
          return v;
        },
        (err: unknown) => {
          this.pending--;
          throw err;
        },
      );
    }
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        if (cancel !== undefined && native().cancel(cancel)) reject(abortedError(signal as AbortSignal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      call.then(resolve, reject).finally(() => {
        this.pending--;
        signal?.removeEventListener('abort', onAbort);
      });
    });
  }

  private flat(
    inputs: InferInputs,
    options: BenchOptions,
    histograms: NativeHandle | undefined,
    serving = false,
  ): Promise<Record<string, HostArray>> {
    return this.execute(inputs, options, histograms, serving).then((r) => r.outputs);
  }

  /**
   * Runs the engine like infer(), and resolves to the outputs as Tensors with their dims
   * ([batch, ...dims]) and type, with this call's own GPU times (GPU backends) and, with
   * `profile: true`, its per-layer times: nothing is left in fields shared by queued calls.
   * Inputs may be typed arrays (as for infer()) or Tensors whose dims say the batch.
   */
  run(feeds: Readonly<Record<string, HostArray | Tensor>>, options: InferOptions = {}): Promise<RunResult> {
    let inputs: InferInputs;
    try {
      inputs = this.feedArrays(feeds);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.execute(inputs, options, undefined, true).then(({ batch, outputs, timing, profile }) => ({
      outputs: Object.fromEntries(
        this.engine.meta.outputs.map((t) => [
          t.name,
          new Tensor(t.dtype ?? 'float32', outputs[t.name], outputs[t.name].length === 0 ? [0, ...t.dims] : [batch, ...t.dims]),
        ]),
      ),
      ...(timing !== undefined ? { timing } : {}),
      ...(profile !== undefined ? { profile } : {}),
    }));
  }

  /** run()'s feeds as infer()'s inputs: a Tensor's dims must be [batch, ...the input's dims]. */
  private feedArrays(feeds: unknown): InferInputs {
    const out: Record<string, HostArray> = {};
    for (const [name, value] of Object.entries(FEEDS(feeds, 'feeds'))) {
      if (!(value instanceof Tensor)) {
        out[name] = value as HostArray;
        continue;
      }
      const t = this.engine.meta.inputs.find((x) => x.name === name);
      if (t !== undefined && (value.dims.length !== t.dims.length + 1 || t.dims.some((d, k) => value.dims[k + 1] !== d))) {
        throw argumentError(`a Tensor of dims [batch, ${t.dims.join(', ')}]`, `feeds.${name}`, value, 'range');
      }
      if (t !== undefined && value.type !== (t.dtype ?? 'float32')) {
        throw argumentError(`a ${t.dtype ?? 'float32'} Tensor`, `feeds.${name}`, value);
      }
      out[name] = value.data;
    }
    return out;
  }

  /** One call: its outputs by name, batch, GPU times and profile (each call its own). */
  private execute(
    inputs: InferInputs,
    options: BenchOptions,
    histograms: NativeHandle | undefined,
    serving = false,
  ): Promise<{ batch: number; outputs: Record<string, HostArray>; timing?: RunTiming; profile?: LayerProfile }> {
    return this.submit((options as { signal?: unknown } | null)?.signal, (cancel) => {
      if (serving) refuseBenchKnobs(options);
      const { batch, inputArrays, outputs } = this.check(inputs, options);
      const profile = options.profile === true;
      return [
        native().execute(this.handle as NativeHandle, batch, inputArrays, Object.values(outputs), histograms, {
          profile,
          transfers: options.transfers !== false,
          graphs: options.cudaGraph !== false,
          cancel,
        }),
        (t) => {
          const timing =
            t?.computeMs === undefined
              ? undefined
              : {
                  h2dMs: t.h2dMs ?? 0,
                  computeMs: t.computeMs,
                  d2hMs: t.d2hMs ?? 0,
                  enqueueMs: t.enqueueMs ?? 0,
                  queueMs: t.queueMs ?? 0,
                  doneMs: t.doneMs ?? 0,
                };
          const layers = profile && t?.layers !== undefined ? { batch, layers: t.layers, reformatMs: t.reformatMs ?? 0 } : undefined;
          this.lastTiming = timing;
          if (layers !== undefined) this.lastProfile = layers;
          return { batch, outputs, timing, profile: layers };
        },
      ];
    });
  }

  /** Checks infer()'s arguments: the batch, the input arrays in graph order, the output arrays by name. */
  private check(inputs: unknown, options: unknown): { batch: number; inputArrays: HostArray[]; outputs: Record<string, HostArray> } {
    const given = INPUTS(inputs, 'inputs');
    const opts = checkInferOptions(options, 'options');
    const inputArrays = this.inputArrays(given, opts);
    const batch = this.batchOf(inputArrays, opts);
    this.engine.meta.inputs.forEach((t, i) => {
      const want = batch * volume(t.dims);
      if (opts.transfers === false && given[t.name] === undefined) return;
      if (inputArrays[i].length !== want) {
        throw argumentError(
          `a ${ARRAY_OF[t.dtype ?? 'float32'].name} of ${want} values (batch ${batch} x [${t.dims.join(', ')}])`,
          `inputs.${t.name}`,
          inputArrays[i],
          'range',
        );
      }
    });
    return { batch, inputArrays, outputs: this.outputArrays(batch, opts) };
  }

  /** The input arrays in graph order (empty ones for inputs left out of a run without copies). */
  private inputArrays(given: Record<string, unknown>, opts: BenchOptions): HostArray[] {
    const meta = this.engine.meta;
    knownKeys(given, this.engine.inputNames, 'inputs', () => `an input name (${this.engine.inputNames.join(', ')})`);
    // Without transfers nothing is read: inputs may be left out (then batchSize says the batch).
    // (The messages are built only when they are thrown: this runs on every call.)
    const noCopies = opts.transfers === false;
    return meta.inputs.map((t) => {
      const dtype = t.dtype ?? 'float32';
      const a = given[t.name];
      if (a === undefined && noCopies && opts.batchSize !== undefined) return new ARRAY_OF[dtype].type(0);
      if (a !== undefined && isArrayOf(a, dtype)) return a;
      const what = `a ${ARRAY_OF[dtype].name}`;
      throw argumentError(
        a === undefined && noCopies ? `${what} (or options.batchSize, with transfers: false)` : what,
        `inputs.${t.name}`,
        a,
      );
    });
  }

  /** options.batchSize, or the first input's length over one image's. */
  private batchOf(arrays: readonly HostArray[], opts: BenchOptions): number {
    const meta = this.engine.meta;
    const batch = opts.batchSize;
    if (batch !== undefined) {
      const what = `an integer in [1, ${meta.maxBatchSize}] (the engine's maxBatchSize)`;
      return integer({ min: 1, max: meta.maxBatchSize, what, typeWhat: 'a positive integer' })(batch, 'options.batchSize');
    }
    const per = volume(meta.inputs[0].dims);
    const n = arrays[0].length / per;
    if (!Number.isInteger(n) || n < 1) {
      throw argumentError(
        `a length that is a multiple of ${per} (one image of '${meta.inputs[0].name}')`,
        `inputs.${meta.inputs[0].name}`,
        arrays[0],
        'range',
      );
    }
    if (n > meta.maxBatchSize) {
      throw argumentError(
        `at most ${meta.maxBatchSize} image${meta.maxBatchSize === 1 ? '' : 's'} (the engine's maxBatchSize) of ${per} values`,
        `inputs.${meta.inputs[0].name}`,
        arrays[0],
        'range',
      );
    }
    return n;
  }

  /** The arrays the outputs are written to: the caller's (options.outputs) or new ones. */
  private outputArrays(batch: number, opts: BenchOptions): Record<string, HostArray> {
    const meta = this.engine.meta;
    const provided = OUTPUTS(opts.outputs, 'options.outputs') as BenchOptions['outputs'];
    if (provided !== undefined) {
      knownKeys(provided, this.engine.outputNames, 'options.outputs', () => `an output name (${this.engine.outputNames.join(', ')})`);
    }
    const outputs: Record<string, HostArray> = {};
    for (const t of meta.outputs) {
      const dtype = t.dtype ?? 'float32';
      const { type, name, bytes } = ARRAY_OF[dtype];
      const want = batch * volume(t.dims);
      const p = provided?.[t.name];
      if (p === undefined && opts.transfers === false) {
        outputs[t.name] = new type(0); // nothing is written without transfers
      } else if (p === undefined) {
        try {
          outputs[t.name] = new type(want);
        } catch (err) {
          throw new TensorRTNodeError(
            'E_OUT_OF_MEMORY',
            `cannot allocate ${want * bytes} bytes for output '${t.name}' ` + `(batch ${batch}): ${(err as Error).message}`,
            { cause: err },
          );
        }
      } else if (!isArrayOf(p, dtype)) {
        throw argumentError(`a ${name}`, `options.outputs.${t.name}`, p);
      } else if (p.length < want) {
        throw argumentError(`a ${name} of at least ${want} values`, `options.outputs.${t.name}`, p, 'range');
      } else {
        outputs[t.name] = p.length === want ? p : p.subarray(0, want);
      }
    }
    return outputs;
  }

  /** Frees the context once the calls already queued have run; later calls reject with E_DISPOSED. */
  dispose(): void {
    if (this.handle === undefined) return;
    const handle = this.handle;
    this.handle = undefined;
    native().disposeContext(handle);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Waits for queued calls, then frees the context (`await using`). */
  async [Symbol.asyncDispose](): Promise<void> {
    const pending = this.last;
    this.dispose();
    await pending.catch(() => undefined);
  }
}

/** Options of Runtime.deserialize / Engine.load. */
export interface DeserializeOptions {
  /** Require this backend: a plan of another backend is E_PLAN_BACKEND ('auto': any). */
  readonly backend?: BackendChoice;
  /** cuda: the GPU to load the engine on (default 0). */
  readonly device?: number;
  /** cpu: the threads the engine computes on (a pool of its own); by default the process-wide pool. */
  readonly threads?: number;
}

let cachedVersion: string | undefined;
function packageVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  cachedVersion ??= (require('../../../package.json') as { version: string }).version;
  return cachedVersion;
}

/**
 * GPU plans hold code and tactics for one architecture: refuse a plan whose deviceArch (e.g.
 * 'sm_90') is not the architecture of the GPU this process would run it on. Portable plans
 * (cpu) have none.
 * @internal
 */
export function checkDeviceArch(h: Pick<PlanHeader, 'backend' | 'deviceArch'>, deviceArchs: () => string[] = visibleArchs): void {
  if (h.deviceArch === null) return;
  if (h.backend === 'cpu') {
    throw new PlanError(
      'E_PLAN_ARCH',
      'arch',
      `a cpu plan names device architecture '${h.deviceArch}'; cpu plans are portable and name none`,
    );
  }
  const archs = deviceArchs();
  if (!archs.includes(h.deviceArch)) {
    throw new PlanError(
      'E_PLAN_ARCH',
      'arch',
      `the plan was built for ${h.deviceArch} but this machine's GPUs are ` +
        `${archs.length > 0 ? archs.join(', ') : 'none'}: rebuild the engine here`,
    );
  }
}

function visibleArchs(): string[] {
  return native()
    .devices(false)
    .devices.map((d) => `sm_${d.major}${d.minor}`);
}

/** Loads engines from plans. */
export class Runtime {
  /** Checks a plan completely, then loads its engine off the JS thread. */
  static async deserialize(plan: Uint8Array, options: DeserializeOptions = {}): Promise<Engine> {
    instanceOf(Uint8Array, 'a Uint8Array (a plan)')(plan, 'plan');
    const { device, threads } = checkLoadOptions(options);
    const contents = readPlan(plan);
    const h: PlanHeader = contents.header;
    checkPlanHere(h, options);
    let handle: NativeHandle;
    const site = callSite();
    try {
      handle = await native().loadEngine(h.backend, contents.graphJson, contents.weights, contents.backend, device, threads);
    } catch (err) {
      throw fromNativeAt(err, site);
    }
    return engineFromPlan(handle, h, contents.graphJson);
  }
}

/** Checks the options of Runtime.deserialize / Engine.load; returns the GPU index and cpu threads. */
function checkLoadOptions(options: DeserializeOptions): { device: number; threads: number } {
  anyObject()(options, 'options');
  const device = GPU_INDEX(options.device ?? 0, 'options.device');
  backendOption(options.backend, 'options.backend');
  return { device, threads: checkThreads(options.threads, 'options.threads') };
}

/** Refuses a plan this machine cannot run, or of another backend than the caller asked for. */
function checkPlanHere(h: PlanHeader, options: DeserializeOptions): void {
  const wanted = backendOption(options.backend, 'options.backend');
  checkDeviceArch(h);
  if (wanted !== undefined && wanted !== h.backend) {
    throw new PlanError('E_PLAN_BACKEND', 'backend', `the plan was built for backend '${h.backend}', not '${wanted}'`);
  }
  try {
    resolveBackend(h.backend);
  } catch (err) {
    const why = isBackendName(h.backend)
      ? (err as Error).message
      : `tensorrt-node has no backend '${h.backend}' (it has tensorrt, cuda and cpu)`;
    throw new PlanError('E_PLAN_BACKEND', 'backend', `the plan was built for backend '${h.backend}', which cannot run here: ${why}`);
  }
}

function engineFromPlan(handle: NativeHandle, h: PlanHeader, graphJson: string): Engine {
  return new Engine(
    handle,
    {
      name: h.name,
      backend: h.backend as BackendName,
      precision: h.precision,
      maxBatchSize: h.maxBatchSize,
      deviceArch: h.deviceArch,
      inputs: h.inputs,
      outputs: h.outputs,
      createdAt: typeof h.createdAt === 'string' ? h.createdAt : '',
    },
    graphJson,
  );
}

/** A plan's section table as the addon's plan writer and reader take it. */
function nativeLayout(p: Pick<PlanHeader, 'sections'> & { total?: number }): NativePlanLayout {
  const at = (name: string) => p.sections.find((x) => x.name === name) as { offset: number; length: number };
  const backend = at('backend');
  return {
    graphOffset: at('graph').offset,
    weightsOffset: at('weights').offset,
    weightsLength: at('weights').length,
    backendOffset: backend.offset,
    backendLength: backend.length,
    total: p.total ?? backend.offset + backend.length,
  };
}

/** Checks infer()'s options object (the fields every call reads). */
const checkInferOptions = object<Pick<BenchOptions, 'profile' | 'transfers' | 'cudaGraph'>>({
  profile: optional(boolean),
  transfers: optional(boolean),
  cudaGraph: optional(boolean),
}) as Checker<BenchOptions>;
const SIGNAL = optional(instanceOf(AbortSignal, 'an AbortSignal'));
const INPUTS = plainObject('an object of typed arrays by input name');
const FEEDS = plainObject('an object of typed arrays or Tensors by input name');
const OUTPUTS = optional(plainObject('an object of typed arrays by output name'));
const PATH = nonEmptyString('a path string');
const GPU_INDEX = integer({ min: 0, what: 'a GPU index (an integer >= 0)' });

/** createContext()'s options: maxQueue a positive integer or Infinity; spinWait a boolean or 'auto'. */
const checkContextOptions = object<ContextOptions>(
  {
    maxQueue: optional((value, name) =>
      value === Infinity ? Infinity : integer({ min: 1, what: 'a positive integer (or Infinity)' })(value, name),
    ),
    spinWait: optional((value, name) => {
      if (value !== 'auto' && typeof value !== 'boolean') throw argumentError("a boolean or 'auto'", name, value);
      return value;
    }),
  },
  { allowArray: true },
);

function abortedError(signal: AbortSignal): TensorRTNodeError {
  return new TensorRTNodeError('E_ABORTED', 'the call was aborted before it ran', { cause: signal.reason });
}

/**
 * infer() and run() refuse the benchmark-only knobs: a server has no use for them, and a stray
 * `transfers: false` would return empty outputs.
 */
function refuseBenchKnobs(options: unknown): void {
  if (options === null || typeof options !== 'object') return;
  for (const key of ['transfers', 'cudaGraph'] as const) {
    const value = (options as BenchOptions)[key];
    if (value !== undefined) {
      throw argumentError(
        `no options.${key} (a benchmark knob: tensorrt-node bench --noDataTransfers / --noCudaGraph)`,
        `options.${key}`,
        value,
      );
    }
  }
}
