/**
 * Errors of the inference server: a TensorRTNodeError with the HTTP status and gRPC status code it
 * is answered with. Every protocol front end turns errors into responses through `statusOf`.
 */
import { TensorRTNodeError, type ErrorCode } from '../errors';

/** gRPC status codes used here (grpc/status.proto's numbers). */
export const GRPC_STATUS = {
  OK: 0,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  RESOURCE_EXHAUSTED: 8,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/** A request the server refuses or cannot answer, with its HTTP status. */
export class ServeError extends TensorRTNodeError {
  constructor(
    readonly status: number,
    code: ErrorCode,
    message: string,
  ) {
    super(code, message);
  }
}

/** 400: a malformed or mismatched request. */
export function badRequest(message: string): ServeError {
  return new ServeError(400, 'E_INVALID_ARGUMENT', message);
}

/** 404: an unknown model or version. */
export function notFound(message: string): ServeError {
  return new ServeError(404, 'E_INVALID_ARGUMENT', message);
}

/** 429: the model's queue is full (RESOURCE_EXHAUSTED). */
export function busy(message: string): ServeError {
  return new ServeError(429, 'E_BUSY', message);
}

/** 503: a model that is not ready, a request whose timeout passed, a server that is stopping. */
export function unavailable(message: string, code: ErrorCode = 'E_INVALID_ARGUMENT'): ServeError {
  return new ServeError(503, code, message);
}

/** The HTTP status an error is answered with (argument errors of the engine are the client's: 400). */
export function statusOf(err: unknown): number {
  if (err instanceof ServeError) return err.status;
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 600) return status; // fastify's own (413 ...)
  if (err instanceof TensorRTNodeError && err.code === 'E_BUSY') return 429;
  return err instanceof TensorRTNodeError && err.code === 'E_INVALID_ARGUMENT' ? 400 : 500;
}

/** The gRPC status code of an HTTP status. */
export function grpcStatusOf(status: number): number {
  if (status === 404) return GRPC_STATUS.NOT_FOUND;
  if (status === 429 || status === 413) return GRPC_STATUS.RESOURCE_EXHAUSTED;
  if (status === 503) return GRPC_STATUS.UNAVAILABLE;
  if (status >= 400 && status < 500) return GRPC_STATUS.INVALID_ARGUMENT;
  return GRPC_STATUS.INTERNAL;
}
