/**
 * The dynamic batcher: requests of one model wait in one queue and are merged into engine batches
 * of up to max_batch_size images, waiting at most max_queue_delay_microseconds for more, preferring
 * the preferred batch sizes, and run on whichever instance (execution context) has a free staging
 * slot. Each slot owns pinned arrays from engine.createInputs / createOutputs: every request's
 * tensors are copied into their slice, the batch runs in place, and each request gets a copy of
 * its slice of the outputs. A request that runs alone and whose inputs already lie in the engine's
 * host memory (a body read into the model's pool, body.ts) is not copied: the batch reads it.
 */
import type { Engine, ExecutionContext, HostArray } from '../runtime/engine';
import { busy, unavailable } from './errors';

/** How one request was served, in microseconds (Triton's per-request durations). */
export interface RequestTiming {
  readonly queueUs: number;
  readonly inputUs: number;
  readonly inferUs: number;
  readonly outputUs: number;
  /** Images in the execution the request ran in. */
  readonly execBatch: number;
}

/** What a request resolves to: outputs in the engine's order, and its timing. */
export interface BatchResult {
  readonly outputs: readonly HostArray[];
  readonly timing: RequestTiming;
}

/** A request waiting in the queue: its inputs in the engine's input order. */
interface Pending {
  readonly batch: number;
  readonly inputs: readonly HostArray[];
  readonly enqueuedAt: number;
  /** The inputs are in the engine's host memory: run alone, the batch reads them in place. */
  readonly inPlace: boolean;
  readonly resolve: (r: BatchResult) => void;
  readonly reject: (e: unknown) => void;
  timer?: NodeJS.Timeout;
}

/** The batcher's settings (from config.pbtxt, with the server's defaults). */
export interface BatcherOptions {
  readonly maxBatchSize: number;
  /** False: every request runs alone (no dynamic_batching in the config). */
  readonly batching: boolean;
  readonly preferredBatchSizes: readonly number[];
  readonly maxQueueDelayUs: number;
  /** Requests waiting at most; more are refused with 429. */
  readonly maxQueueSize: number;
  /** Timeout of requests that give none (0: none). */
  readonly defaultTimeoutUs: number;
  readonly allowTimeoutOverride: boolean;
  /** Called once per engine execution with its batch. */
  readonly onExecution?: (batch: number) => void;
}

/** Staging arrays of one batch in flight: pinned inputs and outputs of maxBatchSize images. */
interface Slot {
  readonly inputs: readonly HostArray[];
  readonly outputs: readonly HostArray[];
  readonly names: { readonly inputs: readonly string[]; readonly outputs: readonly string[] };
}

/** One instance: an execution context on an engine, with its staging slots. */
export class Instance {
  private readonly free: Slot[] = [];
  private readonly perImage: { inputs: number[]; outputs: number[] };

  /** @param slots batches in flight at once on this context (two lets a GPU lane overlap copies and compute) */
  constructor(
    readonly engine: Engine,
    readonly context: ExecutionContext,
    readonly device: number,
    slots = 2,
  ) {
    const vol = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);
    this.perImage = { inputs: engine.inputs.map((t) => vol(t.dims)), outputs: engine.outputs.map((t) => vol(t.dims)) };
    const names = { inputs: engine.inputs.map((t) => t.name), outputs: engine.outputs.map((t) => t.name) };
    for (let i = 0; i < slots; i++) {
      const ins = engine.createInputs(engine.maxBatchSize);
      const outs = engine.createOutputs(engine.maxBatchSize);
      this.free.push({ inputs: names.inputs.map((n) => ins[n]), outputs: names.outputs.map((n) => outs[n]), names });
    }
  }

  /** Slots free now. */
  get freeSlots(): number {
    return this.free.length;
  }

  /** Runs the requests as one batch on a free slot (the caller checked there is one). */
  async execute(requests: readonly Pending[], onExecution?: (batch: number) => void): Promise<void> {
    const slot = this.free.pop() as Slot;
    try {
      await this.runOn(slot, requests, onExecution);
    } catch (err) {
      // Staging or unstaging threw (a size the checks missed): those requests fail, the server goes on.
      for (const r of requests) r.reject(err);
    } finally {
      this.free.push(slot);
    }
  }

  private async runOn(slot: Slot, requests: readonly Pending[], onExecution?: (batch: number) => void): Promise<void> {
    const start = performance.now();
    const lone = requests.length === 1 && requests[0].inPlace ? requests[0] : undefined;
    const batch = lone !== undefined ? lone.batch : this.stage(slot, requests);
    const staged = performance.now();
    const feeds: Record<string, HostArray> = {};
    slot.names.inputs.forEach((n, i) => {
      feeds[n] = lone !== undefined ? lone.inputs[i] : (slot.inputs[i].subarray(0, batch * this.perImage.inputs[i]) as HostArray);
    });
    const outs: Record<string, HostArray> = {};
    slot.names.outputs.forEach((n, i) => {
      outs[n] = slot.outputs[i].subarray(0, batch * this.perImage.outputs[i]) as HostArray;
    });
    try {
      await this.context.run(feeds, { batchSize: batch, outputs: outs });
    } catch (err) {
      for (const r of requests) r.reject(err);
      return;
    }
    onExecution?.(batch);
    const ran = performance.now();
    this.unstage(slot, requests, { start, staged, ran, batch });
  }

  /** Copies each request's inputs into its slice of the slot; returns the batch. */
  private stage(slot: Slot, requests: readonly Pending[]): number {
    let offset = 0;
    for (const r of requests) {
      r.inputs.forEach((a, i) => {
        slot.inputs[i].set(a as never, offset * this.perImage.inputs[i]);
      });
      offset += r.batch;
    }
    return offset;
  }

  /** Gives each request a copy of its slice of the outputs, with its timing. */
  private unstage(slot: Slot, requests: readonly Pending[], t: { start: number; staged: number; ran: number; batch: number }): void {
    let offset = 0;
    const copies = requests.map((r) => {
      const outputs = slot.outputs.map(
        (a, i) => a.slice(offset * this.perImage.outputs[i], (offset + r.batch) * this.perImage.outputs[i]) as HostArray,
      );
      offset += r.batch;
      return outputs;
    });
    const end = performance.now();
    requests.forEach((r, i) =>
      r.resolve({
        outputs: copies[i],
        timing: {
          queueUs: (t.start - r.enqueuedAt) * 1000,
          inputUs: (t.staged - t.start) * 1000,
          inferUs: (t.ran - t.staged) * 1000,
          outputUs: (end - t.ran) * 1000,
          execBatch: t.batch,
        },
      }),
    );
  }
}

/** The queue of one model and the scheduler that feeds its instances. */
export class DynamicBatcher {
  private readonly queue: Pending[] = [];
  private queuedImages = 0;
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private closed = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly instances: readonly Instance[],
    private readonly options: BatcherOptions,
  ) {}

  /** Requests waiting, not yet running. */
  get queued(): number {
    return this.queue.length;
  }

  /**
   * Queues a request of `batch` images (inputs in the engine's order); resolves when it has run.
   * `inPlace`: the inputs are views of the engine's host memory (createInputs / pooled bodies),
   * which a batch of this request alone reads in place instead of staging a copy.
   */
  submit(batch: number, inputs: readonly HostArray[], timeoutUs = 0, inPlace = false): Promise<BatchResult> {
    if (this.closed) return Promise.reject(unavailable('the model is being unloaded'));
    if (this.queue.length >= this.options.maxQueueSize) {
      return Promise.reject(busy(`the model's queue is full (${this.options.maxQueueSize} requests waiting): retry later`));
    }
    const timeout = timeoutUs > 0 && this.options.allowTimeoutOverride ? timeoutUs : this.options.defaultTimeoutUs;
    return new Promise<BatchResult>((resolve, reject) => {
      const p: Pending = { batch, inputs, enqueuedAt: performance.now(), inPlace, resolve, reject };
      if (timeout > 0) p.timer = setTimeout(() => this.expire(p, timeout), Math.max(1, timeout / 1000));
      this.queue.push(p);
      this.queuedImages += batch;
      this.schedule();
    });
  }

  /** Refuses new requests and resolves once every queued and running one has settled. */
  drain(): Promise<void> {
    this.closed = true;
    if (this.queue.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private expire(p: Pending, timeoutUs: number): void {
    const i = this.queue.indexOf(p);
    if (i < 0) return;
    this.remove(i, 1);
    p.reject(unavailable(`the request's timeout of ${timeoutUs} us passed while it waited in the queue`, 'E_ABORTED'));
    this.settleIdle();
  }

  private remove(start: number, count: number): Pending[] {
    const taken = this.queue.splice(start, count);
    for (const p of taken) {
      this.queuedImages -= p.batch;
      if (p.timer !== undefined) clearTimeout(p.timer);
    }
    return taken;
  }

  /** Dispatches batches while an instance has a free slot and a batch is due. */
  private schedule(): void {
    while (this.queue.length > 0) {
      const instance = this.freeInstance();
      if (instance === undefined) return;
      const count = this.dueCount(performance.now());
      if (count === 0) return;
      const requests = this.remove(0, count);
      this.inFlight++;
      instance.execute(requests, this.options.onExecution).finally(() => {
        this.inFlight--;
        this.schedule();
        this.settleIdle();
      });
    }
  }

  private settleIdle(): void {
    if (!this.closed || this.queue.length > 0 || this.inFlight > 0) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  /** The instance with the most free slots (spreads batches over instances), if any has one. */
  private freeInstance(): Instance | undefined {
    let best: Instance | undefined;
    for (const i of this.instances) if (i.freeSlots > 0 && (best === undefined || i.freeSlots > best.freeSlots)) best = i;
    return best;
  }

  /**
   * How many requests from the head of the queue to run now (0: wait). A full batch goes at once;
   * so does one of a preferred size; after the delay, the largest preferred prefix, else all that fit.
   */
  private dueCount(now: number): number {
    const o = this.options;
    if (!o.batching) return 1;
    let images = 0;
    let count = 0;
    let preferredCount = 0;
    for (const p of this.queue) {
      if (images + p.batch > o.maxBatchSize) break;
      images += p.batch;
      count++;
      if (o.preferredBatchSizes.includes(images)) preferredCount = count;
    }
    if (count === 0) return 1; // a request larger than the batch cannot be queued (checked before); run it alone
    const full = count < this.queue.length || images === o.maxBatchSize;
    if (full || (preferredCount === count && preferredCount > 0)) return count;
    const waited = (now - this.queue[0].enqueuedAt) * 1000;
    if (waited >= o.maxQueueDelayUs) return preferredCount > 0 ? preferredCount : count;
    this.armTimer(o.maxQueueDelayUs - waited);
    return 0;
  }

  private armTimer(us: number): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.schedule();
      },
      Math.max(1, Math.ceil(us / 1000)),
    );
  }
}
