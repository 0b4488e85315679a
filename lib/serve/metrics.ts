/**
 * Prometheus metrics with Triton's names (prom-client, on a registry of the server's own):
 * request and inference counters, cumulative durations in microseconds, latency summaries, the
 * GPUs' memory, utilisation and power (NVML, read at each scrape), and the event loop's busy share.
 */
import { Counter, Gauge, Registry, Summary } from 'prom-client';
import { gpuStats } from '../device';
import type { GpuStat } from '../native';
import type { RequestTiming } from './batcher';

const LABELS = ['model', 'version'] as const;
type Label = (typeof LABELS)[number];
const QUANTILES = [0.5, 0.9, 0.95, 0.99];

/** The server's metrics. */
export class ServeMetrics {
  /** The registry /metrics exposes. */
  readonly registry = new Registry();
  private readonly success = this.counter('nv_inference_request_success', 'Number of successful inference requests, all batch sizes');
  private readonly failure = this.counter('nv_inference_request_failure', 'Number of failed inference requests, all batch sizes');
  private readonly count = this.counter('nv_inference_count', 'Number of inferences performed (a batch of n counts n)');
  private readonly execCount = this.counter('nv_inference_exec_count', 'Number of model executions performed (a merged batch counts once)');
  private readonly requestUs = this.counter('nv_inference_request_duration_us', 'Cumulative inference request duration in microseconds');
  private readonly queueUs = this.counter('nv_inference_queue_duration_us', 'Cumulative inference queuing duration in microseconds');
  private readonly inputUs = this.counter('nv_inference_compute_input_duration_us', 'Cumulative compute input duration in microseconds');
  private readonly inferUs = this.counter(
    'nv_inference_compute_infer_duration_us',
    'Cumulative compute inference duration in microseconds',
  );
  private readonly outputUs = this.counter('nv_inference_compute_output_duration_us', 'Cumulative compute output duration in microseconds');
  private readonly requestSummary = this.summary(
    'nv_inference_request_summary_us',
    'Summary of inference request duration in microseconds',
  );
  private readonly queueSummary = this.summary('nv_inference_queue_summary_us', 'Summary of inference queuing duration in microseconds');
  private readonly inferSummary = this.summary(
    'nv_inference_compute_infer_summary_us',
    'Summary of compute inference duration in microseconds',
  );

  constructor() {
    this.gpuGauges();
    this.eventLoopGauge();
  }

  /**
   * The share of time the server's JavaScript thread was busy since the last scrape (0..1): near 1,
   * the thread (HTTP parsing, body copies, GC) limits throughput rather than the engine.
   */
  private eventLoopGauge(): void {
    let last = performance.eventLoopUtilization();
    new Gauge({
      name: 'tensorrt_node_event_loop_utilization',
      help: 'Share of time the JavaScript thread was busy since the previous scrape (0..1)',
      registers: [this.registry],
      aggregator: 'max', // serve --workers: the busiest worker's
      collect() {
        const now = performance.eventLoopUtilization();
        this.set(performance.eventLoopUtilization(now, last).utilization);
        last = now;
      },
    });
  }

  private counter(name: string, help: string): Counter<Label> {
    return new Counter({ name, help, labelNames: LABELS, registers: [this.registry] });
  }

  private summary(name: string, help: string): Summary<Label> {
    return new Summary({
      name,
      help,
      labelNames: LABELS,
      percentiles: QUANTILES,
      aggregator: 'average', // serve --workers: the workers' quantiles averaged (an approximation)
      maxAgeSeconds: 60,
      ageBuckets: 5,
      registers: [this.registry],
    });
  }

  /**
   * Triton's GPU gauges, per GPU uuid, read from the driver (NVML, gpuStats()) at each scrape:
   * total and used memory, utilisation (0..1), power and its limit (watts). Without a driver there
   * are no GPU gauges (and no error).
   */
  private gpuGauges(): void {
    let any: boolean;
    try {
      any = gpuStats().gpus.length > 0;
    } catch {
      any = false; // no addon: a server of its own errors says so elsewhere
    }
    if (!any) return;
    // One NVML read per scrape, not one per gauge: the gauges collect within the same moment.
    let last = { at: -Infinity, gpus: [] as ReturnType<typeof gpuStats>['gpus'] };
    const now = () => {
      if (performance.now() - last.at > 100) last = { at: performance.now(), gpus: gpuStats().gpus };
      return last.gpus;
    };
    const gauge = (name: string, help: string, read: (g: GpuStat) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['gpu_uuid'],
        registers: [this.registry],
        aggregator: 'first', // serve --workers: every worker sees the same GPUs
        collect() {
          for (const g of now()) {
            const v = read(g);
            if (v >= 0) this.set({ gpu_uuid: g.uuid }, v);
          }
        },
      });
    gauge('nv_gpu_memory_total_bytes', 'GPU total memory, in bytes', (g) => g.memoryTotal);
    gauge('nv_gpu_memory_used_bytes', 'GPU used memory, in bytes', (g) => g.memoryUsed);
    gauge('nv_gpu_utilization', 'GPU utilization rate [0.0 - 1.0)', (g) => g.utilization);
    gauge('nv_gpu_power_usage', 'GPU power usage in watts', (g) => g.powerW);
    gauge('nv_gpu_power_limit', 'GPU power management limit in watts', (g) => g.powerLimitW);
  }

  /** The metrics of one model version, its label values bound once (no label hashing per request). */
  forModel(model: string, version: string): ModelMetrics {
    const l = { model, version };
    const c = (m: Counter<Label>) => m.labels(l);
    const q = (m: Summary<Label>) => m.labels(l);
    return new ModelMetrics(
      { success: c(this.success), failure: c(this.failure), count: c(this.count), execCount: c(this.execCount) },
      { request: c(this.requestUs), queue: c(this.queueUs), input: c(this.inputUs), infer: c(this.inferUs), output: c(this.outputUs) },
      { request: q(this.requestSummary), queue: q(this.queueSummary), infer: q(this.inferSummary) },
    );
  }

  /** The Prometheus text. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}

type Inc = { inc(v?: number): void };
type Observe = { observe(v: number): void };

/** One model version's counters and summaries (ServeMetrics.forModel). */
export class ModelMetrics {
  constructor(
    private readonly counts: { success: Inc; failure: Inc; count: Inc; execCount: Inc },
    private readonly us: { request: Inc; queue: Inc; input: Inc; infer: Inc; output: Inc },
    private readonly summaries: { request: Observe; queue: Observe; infer: Observe },
  ) {}

  /** One engine execution of `batch` images. */
  execution(batch: number): void {
    this.counts.execCount.inc();
    this.counts.count.inc(batch);
  }

  /** A request that succeeded, with its total duration and the batcher's timing. */
  succeeded(totalUs: number, t: RequestTiming): void {
    this.counts.success.inc();
    this.us.request.inc(totalUs);
    this.us.queue.inc(t.queueUs);
    this.us.input.inc(t.inputUs);
    this.us.infer.inc(t.inferUs);
    this.us.output.inc(t.outputUs);
    this.summaries.request.observe(totalUs);
    this.summaries.queue.observe(t.queueUs);
    this.summaries.infer.observe(t.inferUs);
  }

  /** A request that failed (refused, timed out, or the engine failed). */
  failed(totalUs: number): void {
    this.counts.failure.inc();
    this.us.request.inc(totalUs);
  }
}
