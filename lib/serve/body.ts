/**
 * Request bodies read off the socket once. An infer body with the binary tensor data extension is
 * split as it arrives: its JSON header into a small buffer, its tensor data straight into a block
 * of the model's host memory (pinned on GPU backends) from a pool that reuses blocks, so a batch-32
 * request of 224x224 images (4.8 MB) costs one copy from the socket's chunks and no new memory:
 * no Buffer.concat, no garbage for the collector, and the batcher can run a lone request on the
 * block in place. Other bodies are collected whole. Both are bounded by the server's body limit.
 */
import type { Readable } from 'stream';
import { badRequest, ServeError } from './errors';

/** A body as the infer route reads it: the JSON part and the binary part after it. */
export interface ReceivedBody {
  readonly json: Uint8Array;
  readonly binary: Uint8Array;
  /** Gives a pooled block back (idempotent); call once the request's data is no longer read. */
  release(): void;
}

/** A block of pooled host memory lent to one request. */
export interface LentBlock {
  readonly bytes: Uint8Array;
  release(): void;
}

/** Where the binary part of an infer body may go (undefined: no pooled block, allocate). */
export type BlockSource = (bytes: number) => LentBlock | undefined;

/** 413: a body over the server's limit. */
export function tooLarge(bytes: number | string, limit: number): ServeError {
  return new ServeError(
    413,
    'E_INVALID_ARGUMENT',
    `the request body (${bytes} bytes) is over the server's body limit of ${limit} bytes (serve --maxBody, or the bodyLimit option)`,
  );
}

/** Inference-Header-Content-Length as a byte count within `total`, or a 400 naming both. */
export function headerLengthOf(value: string, total: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > total) {
    throw badRequest(`Inference-Header-Content-Length is ${value}, but the body has ${total} bytes`);
  }
  return n;
}

/** Splits a whole body at the header length (undefined: all JSON). */
export function splitWhole(body: Uint8Array, headerLength: string | undefined): ReceivedBody {
  const n = headerLength === undefined ? body.length : headerLengthOf(headerLength, body.length);
  return { json: body.subarray(0, n), binary: body.subarray(n), release: () => undefined };
}

/** What receiveBody needs to know about the request. */
export interface BodyRequest {
  /** Content-Length (undefined: chunked, size unknown until the end). */
  readonly contentLength: number | undefined;
  /** Inference-Header-Content-Length as sent (undefined: a JSON body). */
  readonly headerLength: string | undefined;
  /** The server's body limit in bytes. */
  readonly limit: number;
  /** Pooled blocks for the binary part (infer routes of a ready model only). */
  readonly blocks?: BlockSource;
}

/** Reads the body of `stream`: split as it arrives when its sizes are known, else whole. */
export function receiveBody(stream: Readable, r: BodyRequest): Promise<ReceivedBody> {
  if (r.contentLength !== undefined && r.contentLength > r.limit) return Promise.reject(tooLarge(r.contentLength, r.limit));
  if (r.contentLength === undefined || r.headerLength === undefined) return receiveWhole(stream, r);
  let headerBytes: number;
  try {
    headerBytes = headerLengthOf(r.headerLength, r.contentLength);
  } catch (err) {
    return Promise.reject(err);
  }
  const dataBytes = r.contentLength - headerBytes;
  const block = dataBytes > 0 ? r.blocks?.(dataBytes) : undefined;
  const json = Buffer.allocUnsafe(headerBytes);
  const binary = block !== undefined ? block.bytes.subarray(0, dataBytes) : Buffer.allocUnsafe(dataBytes);
  return fill(stream, r.contentLength, json, binary).then(
    () => ({ json, binary, release: once(() => block?.release()) }),
    (err: unknown) => {
      block?.release();
      throw err;
    },
  );
}

/** Copies the stream's chunks into `json`, then `binary`, checking the total. */
function fill(stream: Readable, total: number, json: Uint8Array, binary: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    let received = 0;
    stream.on('data', (chunk: Buffer) => {
      if (received + chunk.length > total) {
        stream.destroy();
        reject(badRequest(`the body is longer than its Content-Length of ${total} bytes`));
        return;
      }
      let from = 0;
      if (received < json.length) {
        from = Math.min(chunk.length, json.length - received);
        json.set(chunk.subarray(0, from), received);
      }
      if (from < chunk.length) binary.set(from === 0 ? chunk : chunk.subarray(from), received + from - json.length);
      received += chunk.length;
    });
    stream.on('end', () =>
      received === total
        ? resolve()
        : reject(badRequest(`the body ended after ${received} of its ${total} bytes (Content-Length): truncated request?`)),
    );
    stream.on('error', reject);
  });
}

/** Collects a body of unknown size (chunked) or a JSON one, up to the limit. */
function receiveWhole(stream: Readable, r: BodyRequest): Promise<ReceivedBody> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    stream.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > r.limit) {
        stream.destroy();
        reject(tooLarge(`more than ${r.limit}`, r.limit));
        return;
      }
      chunks.push(chunk);
    });
    stream.on('end', () => {
      try {
        resolve(splitWhole(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, received), r.headerLength));
      } catch (err) {
        reject(err);
      }
    });
    stream.on('error', reject);
  });
}

function once(f: () => void): () => void {
  let done = false;
  return () => {
    if (!done) {
      done = true;
      f();
    }
  };
}

/** Size classes of the pool: four per doubling (a block wastes at most a fifth), at least 4 KiB. */
export function sizeClass(bytes: number): number {
  const floor = 4096;
  if (bytes <= floor) return floor;
  const pow = 2 ** Math.floor(Math.log2(bytes - 1));
  const step = pow / 4;
  return Math.ceil(bytes / step) * step;
}

/**
 * Blocks of one engine's host memory, reused across requests by size class, up to `maxBytes` in all;
 * past that, take() answers undefined and the body goes to ordinary memory. Blocks are never freed
 * while the pool lives (freeing pinned memory can wait on the GPU); close() lets them go.
 */
export class HostBlockPool {
  private readonly free = new Map<number, Uint8Array[]>();
  private readonly mine = new WeakSet<ArrayBufferLike>();
  private allocated = 0;
  private closed = false;

  constructor(
    private readonly allocate: (bytes: number) => Uint8Array,
    readonly maxBytes: number,
  ) {}

  /** Bytes of host memory the pool holds (lent and free). */
  get bytes(): number {
    return this.allocated;
  }

  /** True when `a` is a view of one of the pool's blocks. */
  owns(a: ArrayBufferView): boolean {
    return this.mine.has(a.buffer);
  }

  /** A block of at least `bytes`, or undefined when the pool is full or closed. */
  take(bytes: number): LentBlock | undefined {
    if (this.closed) return undefined;
    const size = sizeClass(bytes);
    let block = this.free.get(size)?.pop();
    if (block === undefined) {
      if (this.allocated + size > this.maxBytes) return undefined;
      try {
        block = this.allocate(size);
      } catch {
        return undefined; // no pinned memory left: the request goes on in ordinary memory
      }
      this.allocated += size;
      this.mine.add(block.buffer);
    }
    const lent = block;
    return { bytes: lent, release: once(() => this.give(size, lent)) };
  }

  private give(size: number, block: Uint8Array): void {
    if (this.closed) return;
    const list = this.free.get(size);
    if (list === undefined) this.free.set(size, [block]);
    else list.push(block);
  }

  /** Lets every free block go, and blocks lent now as they come back. */
  close(): void {
    this.closed = true;
    this.free.clear();
  }
}
