/** `tensorrt-node perf`: throughput and latency percentiles of a v2 server per concurrency (perf_analyzer's idea). */
import { parseConcurrency, runPerf, type PerfLevel } from '../serve/perf';
import { formatHelp, intOption, parseCommand, UsageError, type CommandSpec } from './options';

/** The perf command's options. */
export const PERF: CommandSpec = {
  name: 'perf',
  summary: 'Load a KServe v2 server on this machine: throughput and p50/p90/p95/p99 latency per concurrency.',
  usage: 'tensorrt-node perf <url> --model <name> [options]',
  options: [
    { name: 'model', short: 'm', type: 'string', value: 'name', help: 'The model to infer (required)' },
    {
      name: 'concurrency',
      type: 'string',
      value: 'start:end:step',
      help: 'Clients with one request outstanding each; step xN multiplies (1:64:x2 is 1, 2, 4 ... 64)',
      default: '1',
    },
    { name: 'batch', type: 'string', value: 'N', help: 'Images per request', default: '1' },
    { name: 'binary', type: 'boolean', help: 'Send inputs and receive outputs as binary tensor data (default: JSON tensors)' },
    { name: 'duration', type: 'string', value: 's', help: 'Seconds measured per concurrency level (at most 600)', default: '5' },
    { name: 'warmup', type: 'string', value: 's', help: 'Seconds of requests per level before measuring (not counted)', default: '1' },
    { name: 'maxRequests', type: 'string', value: 'N', help: 'Requests per level at most', default: '1000000' },
    { name: 'json', type: 'boolean', help: 'Print the results as JSON' },
  ],
  notes: [
    "Inputs are seeded random data in the model's datatypes (FP32 or UINT8) and shapes, the same request for every\n" +
      "client. Latency is the client's: from sending a request to the last byte of its answer over keep-alive HTTP.\n" +
      'Only loopback URLs (127.0.0.1, localhost, ::1) are accepted: perf is a bench, not a load test of other machines.',
  ],
  examples: [
    'tensorrt-node perf http://127.0.0.1:8000 -m googlenet --concurrency 1:64:x2 --binary',
    'tensorrt-node perf http://127.0.0.1:8000 -m googlenet --concurrency 64 --batch 32 --binary --duration 10 --json',
  ],
};

function row(l: PerfLevel): string {
  const ms = (v: number) => v.toFixed(2).padStart(9);
  return (
    `${String(l.concurrency).padStart(11)} ${l.throughput.toFixed(1).padStart(12)} ${ms(l.latencyMs.avg)} ${ms(l.latencyMs.p50)} ${ms(l.latencyMs.p90)} ` +
    `${ms(l.latencyMs.p95)} ${ms(l.latencyMs.p99)} ${String(l.requests).padStart(9)} ${String(l.errors).padStart(6)} ${l.clientBusy.toFixed(2).padStart(11)}`
  );
}

/** Runs `perf`; resolves to the exit code (1 when any request failed). */
export async function runPerfCommand(argv: readonly string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const { values, positionals } = parseCommand(PERF, argv);
  if (values.help === true) {
    out(formatHelp(PERF));
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`tensorrt-node perf: give one server URL, got ${positionals.length} arguments`);
  const model = values.model as string | undefined;
  if (model === undefined || model === '') throw new UsageError('tensorrt-node perf: give --model');
  let concurrency: number[];
  try {
    concurrency = parseConcurrency((values.concurrency as string | undefined) ?? '1');
  } catch (e) {
    throw new UsageError(`tensorrt-node perf: --concurrency: ${(e as Error).message}`);
  }
  const json = values.json === true;
  const options = {
    url: positionals[0],
    model,
    concurrency,
    binary: values.binary === true,
    batch: intOption(PERF, 'batch', values.batch as string | undefined, 1, 1 << 16) ?? 1,
    durationS: intOption(PERF, 'duration', values.duration as string | undefined, 1, 600) ?? 5,
    warmupS: intOption(PERF, 'warmup', values.warmup as string | undefined, 0, 60) ?? 1,
    maxRequests: intOption(PERF, 'maxRequests', values.maxRequests as string | undefined, 1, 1e8) ?? 1_000_000,
  };
  if (!json) {
    out(
      `perf: ${options.url} model ${model}, batch ${options.batch}, ${options.binary ? 'binary' : 'JSON'} tensors, ${options.durationS} s per level`,
    );
    out(' concurrency   images/s    avg ms    p50 ms    p90 ms    p95 ms    p99 ms  requests errors client busy');
  }
  const result = await runPerf(options, (l) => {
    if (!json) out(row(l));
  });
  if (json)
    out(
      JSON.stringify(
        { url: options.url, model, batch: options.batch, binary: options.binary, durationS: options.durationS, levels: result.levels },
        null,
        2,
      ),
    );
  const failed = result.levels.find((l) => l.errors > 0);
  if (failed !== undefined) err(`perf: ${failed.errors} failed requests at concurrency ${failed.concurrency}; first: ${failed.firstError}`);
  return failed !== undefined ? 1 : 0;
}
