/**
 * Errors of tensorrt-node. Runtime failures are TensorRTNodeError subclasses with a stable `code`;
 * argument mistakes are TypeError / RangeError built by `argumentError` in one message form:
 * `Expected <what> for <name> but received <value>`.
 */

/** Stable error codes. Append only: the strings are public API (native/core/status.h mirrors them). */
export type ErrorCode =
  | 'E_INVALID_ARGUMENT'
  | 'E_PARSE'
  | 'E_UNSUPPORTED_LAYER'
  | 'E_SHAPE'
  | 'E_WEIGHTS'
  | 'E_IO'
  | 'E_PLAN_CORRUPT'
  | 'E_PLAN_VERSION'
  | 'E_PLAN_BACKEND'
  | 'E_PLAN_ARCH'
  | 'E_CALIBRATION'
  | 'E_OUT_OF_MEMORY'
  | 'E_CUDA'
  | 'E_NO_DEVICE'
  | 'E_BACKEND_UNAVAILABLE'
  | 'E_DISPOSED'
  | 'E_WORKER' // TypeScript only: a bench worker process (--gpus) failed
  | 'E_INTERNAL'
  | 'E_ABORTED' // a call cancelled through its AbortSignal before it ran
  | 'E_PLUGIN' // a layer plugin library cannot be loaded, or one of its functions failed
  | 'E_BUSY'; // TypeScript only: a context's queue is full (maxQueue)

/** Base class of every runtime error this package throws. */
export class TensorRTNodeError extends Error {
  /** Stable machine-readable code (`E_PARSE`, `E_SHAPE` ...). */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Where a parse error happened, 1-based. */
export interface ParsePosition {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

/** A text or binary file that cannot be read as what it should be (E_PARSE). */
export class ParseError extends TensorRTNodeError {
  /** File, line and column (binary files: line 0 and col = byte offset + 1). */
  readonly position: ParsePosition;
  /** The token seen (text) or a description of the bytes seen (binary); '' at end of file; undefined when no one token is to blame. */
  readonly token: string | undefined;
  /** What the reader expected there. */
  readonly expected: string;
  /** The problem alone, without position and expectation. */
  readonly problem: string;

  constructor(position: ParsePosition, problem: string, token: string | undefined, expected: string) {
    const where = position.line > 0 ? `${position.file}:${position.line}:${position.col}` : `${position.file}: byte ${position.col - 1}`;
    const seen = token === undefined ? '' : token === '' ? ', found end of file' : `, found '${token}'`;
    super('E_PARSE', `${where}: ${problem}${expected ? ` (expected ${expected}${seen})` : ''}`);
    this.position = position;
    this.token = token;
    this.expected = expected;
    this.problem = problem;
  }
}

/** A layer type no backend knows (E_UNSUPPORTED_LAYER). */
export class UnsupportedLayerError extends TensorRTNodeError {
  constructor(
    readonly layerName: string,
    readonly layerType: string,
    readonly knownTypes: readonly string[],
    where = '',
  ) {
    super(
      'E_UNSUPPORTED_LAYER',
      `${where ? `${where}: ` : ''}layer '${layerName}' has type '${layerType}', which tensorrt-node does not support. ` +
        `A layer plugin library can add it (loadPlugin, CLI --plugin: docs/plugins.md). Known types: ${knownTypes.join(', ')}`,
    );
  }
}

/** Shapes that do not fit together, or a missing input shape (E_SHAPE). */
export class ShapeError extends TensorRTNodeError {
  /** @param layerName the layer whose shapes failed, when there is one (the message names it too) */
  constructor(
    message: string,
    readonly layerName?: string,
  ) {
    super('E_SHAPE', message);
  }
}

/** Weights that are missing or do not match their layer (E_WEIGHTS). */
export class WeightsError extends TensorRTNodeError {
  constructor(
    message: string,
    readonly layerName?: string,
    readonly blobIndex?: number,
    readonly expectedShape?: readonly number[],
    readonly actualShape?: readonly number[],
  ) {
    super('E_WEIGHTS', message);
  }
}

/** A file that cannot be opened or read (E_IO); `cause` holds the system error. */
export class IOError extends TensorRTNodeError {
  constructor(
    message: string,
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super('E_IO', message, options);
  }
}

/**
 * Host memory that cannot hold what is asked (E_OUT_OF_MEMORY), found before anything is
 * allocated: `layerName` names the layer, `bytesNeeded` what was asked, `bytesAvailable` what the
 * host has (undefined when the limit is not the host's memory but a size no typed array can hold).
 */
export class OutOfMemoryError extends TensorRTNodeError {
  constructor(
    message: string,
    readonly layerName: string,
    readonly bytesNeeded: number,
    readonly bytesAvailable?: number,
  ) {
    super('E_OUT_OF_MEMORY', message);
  }
}

/** A native failure of the given code, from the addon. */
export class NativeError extends TensorRTNodeError {}

/** Why a plan file was refused. */
export type PlanProblem = 'truncated' | 'magic' | 'checksum' | 'layout' | 'mismatch' | 'version' | 'backend' | 'arch';

/**
 * A plan that cannot be loaded: E_PLAN_CORRUPT (truncated, bad magic, checksum mismatch, bad
 * layout, a header that does not describe the graph section: 'mismatch'), E_PLAN_VERSION (a newer format), E_PLAN_BACKEND (built for a backend that is not here
 * or not the one asked for), E_PLAN_ARCH (built for another GPU architecture). `problem` says which.
 */
export class PlanError extends TensorRTNodeError {
  constructor(
    code: 'E_PLAN_CORRUPT' | 'E_PLAN_VERSION' | 'E_PLAN_BACKEND' | 'E_PLAN_ARCH',
    readonly problem: PlanProblem,
    message: string,
  ) {
    super(code, message);
  }
}

/** Use of an engine or context after dispose() (E_DISPOSED). */
export class DisposedError extends TensorRTNodeError {
  constructor(what: string) {
    super('E_DISPOSED', `this ${what} was disposed`);
  }
}

/** Turns an error from the addon (an Error with a `code`) into the matching TensorRTNodeError. */
export function fromNative(err: unknown): Error {
  if (err instanceof TensorRTNodeError) return err;
  const e = err as Error & { code?: string };
  if (e !== null && typeof e === 'object' && typeof e.code === 'string' && e.code.startsWith('E_')) {
    if (e.code === 'E_DISPOSED') return new DisposedError(/context/.test(e.message) ? 'execution context' : 'engine');
    if (e.code === 'E_PLAN_CORRUPT') {
      // The plan file reader (native/core/plan_io.cc) says which problem it found in its words.
      const problem = e.message.startsWith('checksum mismatch') ? 'checksum' : / ended early /.test(e.message) ? 'truncated' : 'layout';
      return new PlanError('E_PLAN_CORRUPT', problem, `not a usable plan: ${e.message}`);
    }
    return new NativeError(e.code as ErrorCode, e.message, { cause: err });
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** Where an asynchronous call was made: captured when it is called, given to its error later. */
export interface CallSite {
  stack?: string;
}

/**
 * The caller's stack (sharp's way): errors of native work would otherwise show no JavaScript frame.
 * It costs a stack walk (3-4 us): the inference path skips it for calls the caller awaits, whose
 * errors get the awaiting frames from V8's async stack traces (fromNativeAt without a site).
 */
export function callSite(): CallSite {
  const site: CallSite = {};
  Error.captureStackTrace(site, callSite);
  return site;
}

/**
 * fromNative(err), with the stack of the call that started the work (`site`): the frames of the
 * caller's code follow the error's own first line. Without a site, the stack is taken where this
 * is called (a promise handler): V8 adds the async frames of the functions awaiting the call.
 */
export function fromNativeAt(err: unknown, site?: CallSite): Error {
  const e = fromNative(err);
  if (site === undefined) {
    if (e !== err) Error.captureStackTrace(e, fromNativeAt); // no frames of fromNative's
    return e;
  }
  if (site.stack !== undefined) {
    const frames = site.stack.split('\n').slice(1).join('\n');
    e.stack = `${e.name}: ${e.message}\n${frames}`;
  }
  return e;
}

/** Describes a received value for an argument error: `'abc'`, `42`, `an Array`, `an instance of Foo`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  switch (typeof value) {
    case 'string': {
      const s = value.length > 40 ? `${value.slice(0, 37)}...` : value;
      return `type string (${JSON.stringify(s)})`;
    }
    case 'number':
    case 'bigint':
    case 'boolean':
      return `type ${typeof value} (${String(value)})`;
    case 'function':
      return 'a function';
    case 'symbol':
      return `type symbol (${String(value)})`;
    default: {
      if (Array.isArray(value)) return `an Array of length ${value.length}`;
      const ctor = (value as { constructor?: { name?: string } }).constructor?.name;
      return ctor && ctor !== 'Object' ? `an instance of ${ctor}` : 'an object';
    }
  }
}

/**
 * Builds the argument error in the package's one form. `kind` 'range' gives a RangeError (a value of
 * the right type outside its range), otherwise a TypeError.
 */
export function argumentError(what: string, name: string, value: unknown, kind: 'type' | 'range' = 'type'): TypeError | RangeError {
  const message = `Expected ${what} for ${name} but received ${describeValue(value)}`;
  return kind === 'range' ? new RangeError(message) : new TypeError(message);
}
