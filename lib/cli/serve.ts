/** `tensorrt-node serve`: a KServe v2 / Triton-compatible inference server over a model repository. */
import { promises as fsp } from 'fs';
import type { BackendChoice } from '../backends';
import { createServer, LOG_LEVELS, type LogLevel, type ServerOptions } from '../serve';
import { reportReady, runPrimary, workerIndex } from '../serve/cluster';
import { createLogger } from '../serve/log';
import { formatHelp, intOption, parseCommand, UsageError, type CommandSpec, type ParsedArgs } from './options';

/** The serve command's options. */
export const SERVE: CommandSpec = {
  name: 'serve',
  summary: 'Serve a Triton-layout model repository over KServe v2 HTTP and gRPC, with dynamic batching and Prometheus metrics.',
  usage: 'tensorrt-node serve <model-repository> [options]',
  options: [
    { name: 'httpPort', type: 'string', value: 'N', help: 'KServe v2 REST port', default: '8000' },
    { name: 'grpcPort', type: 'string', value: 'N|off', help: 'gRPC (GRPCInferenceService) port', default: '8001' },
    { name: 'metricsPort', type: 'string', value: 'N|off', help: 'Prometheus /metrics port', default: '8002' },
    { name: 'host', type: 'string', value: 'address', help: 'Address to bind (127.0.0.1: this machine only)', default: '0.0.0.0' },
    {
      name: 'modelControlMode',
      type: 'string',
      value: 'none|explicit',
      help: 'none: load every model at start; explicit: load and unload through /v2/repository',
      default: 'none',
    },
    {
      name: 'loadModel',
      type: 'string',
      multiple: true,
      value: 'name|*',
      help: 'explicit mode: a model to load at start (repeat; * for all)',
    },
    {
      name: 'backend',
      type: 'string',
      value: 'auto|cpu|cuda|tensorrt',
      help: 'Backend of models whose config names none',
      default: 'auto',
    },
    { name: 'gpus', type: 'string', value: '0,1,...', help: 'GPUs to place instances on when an instance_group names none', default: '0' },
    {
      name: 'maxQueueSize',
      type: 'string',
      value: 'N',
      help: 'Requests a model queues when its config sets no max_queue_size; more get 429',
      default: '1024',
    },
    { name: 'maxBody', type: 'string', value: 'bytes', help: 'Largest request body (k, M suffixes); more get 413', default: '64M' },
    {
      name: 'workers',
      type: 'string',
      value: 'N',
      help: 'Server processes on the same ports (each loads its own engines; /metrics sums them): for large requests, where one JS thread limits throughput',
      default: '1',
    },
    {
      name: 'logLevel',
      type: 'string',
      value: LOG_LEVELS.join('|'),
      help: 'JSON log lines on stderr at or above this level',
      default: 'info',
    },
  ],
  notes: [
    "A model repository holds one folder per model, as Triton's does:\n" +
      '  <repo>/<model>/config.pbtxt     name, max_batch_size, input/output, dynamic_batching, instance_group, parameters\n' +
      '  <repo>/<model>/<version>/        model.plan, or deploy.prototxt (+ .caffemodel); the highest version is served\n' +
      '  <repo>/<model>/labels.txt        optional: class labels for the classification output parameter\n' +
      'parameters (our own keys): prototxt, caffemodel, precision, calibration_cache, backend, seed, input_format, mean,\n' +
      'scale, image_size, network_order. docs/serve.md has the whole schema and examples/model-repository a ready one.',
    'Endpoints: GET /v2, /v2/health/live|ready, /v2/models/<m>[/versions/<v>][/ready], POST .../infer (JSON or binary\n' +
      'tensor data), GET /v2/repository/index, POST /v2/repository/models/<m>/load|unload; metrics on :<metricsPort>/metrics.\n' +
      'SIGTERM or SIGINT stops accepting, lets requests in flight finish, unloads the models and exits 0.',
  ],
  examples: [
    'tensorrt-node serve examples/model-repository --backend cpu',
    'tensorrt-node serve /models --gpus 0,1 --modelControlMode explicit --loadModel googlenet',
    'tensorrt-node serve /models --workers 2        # two processes: for batch-32 requests of 224x224 images',
    'curl -s localhost:8000/v2/models/lenet',
  ],
};

function portOption(values: ParsedArgs['values'], name: string, fallback: number): number | false {
  const raw = values[name] as string | undefined;
  if (raw === 'off') return false;
  return intOption(SERVE, name, raw, 0, 65535) ?? fallback;
}

function bytesOption(raw: string): number {
  const m = /^(\d+)([kKmMgG]?)$/.exec(raw.trim());
  if (m === null) throw new UsageError(`tensorrt-node serve: --maxBody is a byte count with an optional k, M or G suffix, got '${raw}'`);
  const scale = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Number(m[1]) * scale;
}

/** The command line as ServerOptions. */
export function serveOptions(values: ParsedArgs['values'], repository: string): ServerOptions {
  const mode = (values.modelControlMode as string | undefined) ?? 'none';
  if (mode !== 'none' && mode !== 'explicit')
    throw new UsageError(`tensorrt-node serve: --modelControlMode is none or explicit, got '${mode}'`);
  const loads = (values.loadModel as string[] | undefined) ?? [];
  if (loads.length > 0 && mode !== 'explicit')
    throw new UsageError('tensorrt-node serve: --loadModel goes with --modelControlMode explicit (mode none loads every model)');
  const backend = (values.backend as string | undefined) ?? 'auto';
  if (!['auto', 'cpu', 'cuda', 'tensorrt'].includes(backend))
    throw new UsageError(`tensorrt-node serve: --backend is auto, cpu, cuda or tensorrt, got '${backend}'`);
  const gpus = ((values.gpus as string | undefined) ?? '0').split(',').map((g) => intOption(SERVE, 'gpus', g.trim(), 0, 1024) as number);
  const level = (values.logLevel as string | undefined) ?? 'info';
  if (!LOG_LEVELS.includes(level as LogLevel))
    throw new UsageError(`tensorrt-node serve: --logLevel is one of ${LOG_LEVELS.join(', ')}, got '${level}'`);
  return {
    repository,
    host: (values.host as string | undefined) ?? '0.0.0.0',
    httpPort: intOption(SERVE, 'httpPort', values.httpPort as string | undefined, 0, 65535) ?? 8000,
    grpcPort: portOption(values, 'grpcPort', 8001),
    metricsPort: portOption(values, 'metricsPort', 8002),
    modelControl: mode,
    loadModels: loads,
    backend: backend as BackendChoice,
    gpus,
    maxQueueSize: intOption(SERVE, 'maxQueueSize', values.maxQueueSize as string | undefined, 1, 1 << 24) ?? 1024,
    bodyLimit: bytesOption((values.maxBody as string | undefined) ?? '64M'),
    logLevel: level as LogLevel,
  };
}

/** Runs `serve` until SIGTERM / SIGINT; resolves to the exit code. */
export async function runServe(argv: readonly string[], out: (s: string) => void): Promise<number> {
  const { values, positionals } = parseCommand(SERVE, argv);
  if (values.help === true) {
    out(formatHelp(SERVE));
    return 0;
  }
  if (positionals.length !== 1)
    throw new UsageError(`tensorrt-node serve: give one model repository folder, got ${positionals.length} arguments`);
  const repository = positionals[0];
  if (
    !(await fsp.stat(repository).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  )
    throw new UsageError(`tensorrt-node serve: ${repository} is not a folder`);
  const options = serveOptions(values, repository);
  const workers = intOption(SERVE, 'workers', values.workers as string | undefined, 1, 64) ?? 1;
  const index = workerIndex();
  if (workers > 1 && index === undefined) {
    if (options.modelControl === 'explicit' && (options.loadModels ?? []).length === 0) {
      throw new UsageError('tensorrt-node serve: --workers > 1 loads models at start only: name them with --loadModel (or use mode none)');
    }
    const log = createLogger(options.logLevel);
    log.info(`starting ${workers} workers`);
    return runPrimary({ workers, host: options.host ?? '0.0.0.0', metricsPort: options.metricsPort ?? 8002, log });
  }
  const server = createServer(index !== undefined ? { ...options, worker: { index, count: workers } } : options);
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      server.log.info(`${signal}: stopping`);
      server.close().then(resolve, resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await server.listen();
  server.log.info(
    server.registry.allReady() ? 'all models ready' : 'serving; some models failed to load (GET /v2/repository/index says why)',
  );
  if (index !== undefined) reportReady(server.registry.allReady());
  await stopped;
  if (index !== undefined) process.disconnect?.(); // a worker's channel to the primary would keep it alive
  return 0;
}
