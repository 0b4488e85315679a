/**
 * Prometheus metrics with Triton's names (prom-client, on a registry of the server's own):
 * request and inference counters, cumulative durations in microseconds, latency summaries, and
 * the GPUs devices() reports.
 */
import { Counter, Gauge, Registry, Summary } from 'prom-client';
import { devices } from '../device';
import type { RequestTiming } from './batcher';

const LABELS = ['model', 'version'] as const;
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
  }

  private counter(name: string, help: string): Counter<(typeof LABELS)[number]> {
    return new Counter({ name, help, labelNames: LABELS, registers: [this.registry] });
  }

  private summary(name: string, help: string): Summary<(typeof LABELS)[number]> {
    return new Summary({
      name,
      help,
      labelNames: LABELS,
      percentiles: QUANTILES,
      maxAgeSeconds: 60,
      ageBuckets: 5,
      registers: [this.registry],
    });
  }

  /** Total memory of each GPU devices() lists (used memory and utilisation are not reported by the addon). */
  private gpuGauges(): void {
    let list: ReturnType<typeof devices>['devices'];
    try {
      list = devices().devices;
    } catch {
      list = [];
    }
    if (list.length === 0) return;
    const total = new Gauge({
      name: 'nv_gpu_memory_total_bytes',
      help: 'GPU total memory, in bytes',
      labelNames: ['gpu_uuid'],
      registers: [this.registry],
    });
    for (const d of list) total.set({ gpu_uuid: d.uuid }, d.totalMemory);
  }

  /** One engine execution of `batch` images. */
  execution(model: string, version: string, batch: number): void {
    this.execCount.inc({ model, version });
    this.count.inc({ model, version }, batch);
  }

  /** A request that succeeded, with its total duration and the batcher's timing. */
  succeeded(model: string, version: string, totalUs: number, t: RequestTiming): void {
    const l = { model, version };
    this.success.inc(l);
    this.requestUs.inc(l, totalUs);
    this.queueUs.inc(l, t.queueUs);
    this.inputUs.inc(l, t.inputUs);
    this.inferUs.inc(l, t.inferUs);
    this.outputUs.inc(l, t.outputUs);
    this.requestSummary.observe(l, totalUs);
    this.queueSummary.observe(l, t.queueUs);
    this.inferSummary.observe(l, t.inferUs);
  }

  /** A request that failed (refused, timed out, or the engine failed). */
  failed(model: string, version: string, totalUs: number): void {
    this.failure.inc({ model, version });
    this.requestUs.inc({ model, version }, totalUs);
  }

  /** The Prometheus text. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
