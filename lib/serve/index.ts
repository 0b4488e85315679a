/** lib/serve: the KServe v2 / Triton-compatible inference server (docs/serve.md). */
export { createServer, type ServerAddresses, type ServerHandle, type ServerOptions } from './server';
export { v2Routes, type RouteContext } from './http';
export { parseModelConfig, MODEL_PARAMETERS, type ModelConfig, type ModelParameterKey, type TensorConfig, type WireDType } from './config';
export { createLogger, LOG_LEVELS, type Logger, type LogLevel } from './log';
export { ServeError } from './errors';
export type { ModelMetadata, TensorMetadata } from './model';
export type { IndexEntry, ModelState } from './registry';
