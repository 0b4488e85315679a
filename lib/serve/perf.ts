/**
 * A load generator for v2 servers, as Triton's perf_analyzer: `concurrency` clients each keep one
 * infer request outstanding over keep-alive HTTP for a duration, per concurrency level; throughput
 * and latency percentiles of the requests that finished after a warm-up. Loopback only, bounded in
 * time and in requests.
 */
import * as http from 'http';
import { TensorRTNodeError } from '../errors';
import type { ModelMetadata, TensorMetadata } from './model';

/** What to measure. */
export interface PerfOptions {
  /** The server's base URL (http://127.0.0.1:8000). */
  readonly url: string;
  readonly model: string;
  readonly concurrency: readonly number[];
  /** Images per request (default 1). */
  readonly batch: number;
  /** Binary tensor data extension for inputs and outputs (default: JSON tensors). */
  readonly binary: boolean;
  /** Seconds measured per level, after the warm-up. */
  readonly durationS: number;
  /** Seconds of warm-up per level (not counted). */
  readonly warmupS: number;
  /** Requests per level at most. */
  readonly maxRequests: number;
}

/** One concurrency level's result. */
export interface PerfLevel {
  readonly concurrency: number;
  readonly requests: number;
  readonly errors: number;
  /** Images per second. */
  readonly throughput: number;
  readonly latencyMs: { readonly avg: number; readonly p50: number; readonly p90: number; readonly p95: number; readonly p99: number };
  /** The first error's message, when there were errors. */
  readonly firstError?: string;
  /** Share of the level's time this client's JavaScript thread was busy (near 1: the client limits it). */
  readonly clientBusy: number;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** Parses `start:end:step` (`xN` multiplies) or a single number into the levels, at most 64 of them. */
export function parseConcurrency(spec: string): number[] {
  const m = /^(\d+)(?::(\d+)(?::(x?)(\d+))?)?$/.exec(spec.trim());
  if (m === null)
    throw new RangeError(`Expected start[:end[:step]] (step xN multiplies) for concurrency but received ${JSON.stringify(spec)}`);
  const start = Number(m[1]);
  const end = m[2] !== undefined ? Number(m[2]) : start;
  const times = m[3] === 'x';
  const step = m[4] !== undefined ? Number(m[4]) : times ? 2 : 1;
  if (start < 1 || end < start || end > 4096 || step < 1 || (times && step < 2)) {
    throw new RangeError(`Expected 1 <= start <= end <= 4096 and a step that grows for concurrency but received ${JSON.stringify(spec)}`);
  }
  const out: number[] = [];
  for (let c = start; c <= end && out.length < 64; c = times ? c * step : c + step) out.push(c);
  if (out[out.length - 1] !== end && out.length < 64) out.push(end);
  return out;
}

/** Refuses URLs that leave the machine. */
export function checkLoopback(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TypeError(`Expected an http:// URL for url but received ${JSON.stringify(url)}`);
  }
  if (u.protocol !== 'http:') throw new TypeError(`Expected an http:// URL for url but received ${JSON.stringify(url)}`);
  if (!LOOPBACK.has(u.hostname))
    throw new RangeError(`perf measures loopback servers only (127.0.0.1, localhost, ::1), got host ${u.hostname}`);
  return u;
}

interface Reply {
  status: number;
  body: Buffer;
}

function send(
  agent: http.Agent,
  base: URL,
  method: string,
  path: string,
  body?: Buffer,
  headers: http.OutgoingHttpHeaders = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: base.hostname.replace(/^\[|\]$/g, ''),
        port: base.port || 80,
        method,
        path,
        headers: { ...(body !== undefined ? { 'content-length': body.length } : {}), ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Seeded bytes (xorshift32), the same for every run. */
function randomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

function tensorValues(t: TensorMetadata, count: number, seed: number): ArrayBufferView & ArrayLike<number> {
  const bytes = randomBytes(count, seed);
  if (t.datatype === 'UINT8') return bytes;
  const f = Float32Array.from(bytes, (b) => b / 127.5 - 1);
  if (t.datatype === 'FP32') return f;
  throw new TensorRTNodeError('E_INVALID_ARGUMENT', `perf sends FP32 and UINT8 inputs; '${t.name}' is ${t.datatype}`);
}

/** The request every client sends: JSON, or the JSON header and binary data with its length. */
function requestOf(meta: ModelMetadata, o: PerfOptions): { body: Buffer; headers: http.OutgoingHttpHeaders } {
  const datas: Buffer[] = [];
  const inputs = meta.inputs.map((t, i) => {
    const shape = [o.batch, ...t.shape.slice(1)];
    const values = tensorValues(
      t,
      shape.reduce((a, b) => a * b, 1),
      i + 1,
    );
    if (!o.binary) return { name: t.name, datatype: t.datatype, shape, data: Array.from(values) };
    datas.push(Buffer.from(values.buffer, values.byteOffset, values.byteLength));
    return { name: t.name, datatype: t.datatype, shape, parameters: { binary_data_size: values.byteLength } };
  });
  const outputs = meta.outputs.map((t) => ({ name: t.name, parameters: { binary_data: o.binary } }));
  const head = Buffer.from(JSON.stringify({ inputs, outputs }));
  if (!o.binary) return { body: head, headers: { 'content-type': 'application/json' } };
  return {
    body: Buffer.concat([head, ...datas]),
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': head.length },
  };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

/** Measures one concurrency level. */
async function level(
  base: URL,
  path: string,
  req: { body: Buffer; headers: http.OutgoingHttpHeaders },
  c: number,
  o: PerfOptions,
): Promise<PerfLevel> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: c });
  const elu = performance.eventLoopUtilization();
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let sent = 0;
  const t0 = performance.now();
  const measureFrom = t0 + o.warmupS * 1000;
  const end = measureFrom + o.durationS * 1000;
  let measuredEnd = measureFrom;
  const client = async () => {
    while (performance.now() < end && sent < o.maxRequests) {
      sent++;
      const start = performance.now();
      const r = await send(agent, base, 'POST', path, req.body, req.headers).catch((e: Error) => ({
        status: 0,
        body: Buffer.from(e.message),
      }));
      const done = performance.now();
      if (start < measureFrom) continue;
      measuredEnd = Math.max(measuredEnd, done);
      if (r.status === 200) latencies.push(done - start);
      else {
        errors++;
        firstError ??= `${r.status}: ${r.body.toString('utf8', 0, 300)}`;
      }
    }
  };
  await Promise.all(Array.from({ length: c }, client));
  const clientBusy = performance.eventLoopUtilization(elu).utilization;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const seconds = Math.max(1e-9, (measuredEnd - measureFrom) / 1000);
  const avg = latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length);
  return {
    concurrency: c,
    requests: latencies.length,
    errors,
    throughput: (latencies.length * o.batch) / seconds,
    latencyMs: {
      avg,
      p50: percentile(latencies, 0.5),
      p90: percentile(latencies, 0.9),
      p95: percentile(latencies, 0.95),
      p99: percentile(latencies, 0.99),
    },
    ...(firstError !== undefined ? { firstError } : {}),
    clientBusy,
  };
}

/** Runs every concurrency level in turn; `progress` sees each level's result as it finishes. */
export async function runPerf(
  o: PerfOptions,
  progress: (l: PerfLevel) => void = () => undefined,
): Promise<{ model: ModelMetadata; levels: PerfLevel[] }> {
  const base = checkLoopback(o.url);
  const probe = new http.Agent({ keepAlive: false });
  const m = await send(probe, base, 'GET', `/v2/models/${encodeURIComponent(o.model)}`).catch((e: Error) => {
    throw new TensorRTNodeError('E_IO', `cannot reach ${o.url}: ${e.message}`);
  });
  if (m.status !== 200)
    throw new TensorRTNodeError('E_INVALID_ARGUMENT', `model '${o.model}' at ${o.url}: ${m.status} ${m.body.toString('utf8', 0, 300)}`);
  const meta = JSON.parse(m.body.toString('utf8')) as ModelMetadata;
  const req = requestOf(meta, o);
  const levels: PerfLevel[] = [];
  for (const c of o.concurrency) {
    const l = await level(base, `/v2/models/${encodeURIComponent(o.model)}/infer`, req, c, o);
    levels.push(l);
    progress(l);
  }
  return { model: meta, levels };
}
