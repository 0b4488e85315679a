/**
 * Request bodies of the server (lib/serve/body.ts): split as they arrive into a pooled block
 * whatever the chunking, the checks of length and limit, the pool's reuse and bounds; and the
 * batcher running a lone request whose inputs lie in the engine's host memory without staging it.
 */
import { strict as assert } from 'assert';
import { Readable } from 'stream';
import { DynamicBatcher, Instance } from '../../lib/serve/batcher';
import { HostBlockPool, receiveBody, sizeClass, type ReceivedBody } from '../../lib/serve/body';
import type { Engine, ExecutionContext, HostArray } from '../../lib/runtime/engine';

/** `bytes` cut into chunks of the given sizes (the last takes the rest). */
function chunked(bytes: Uint8Array, sizes: number[]): Readable {
  const parts: Buffer[] = [];
  let at = 0;
  for (const n of sizes) {
    if (at >= bytes.length) break;
    parts.push(Buffer.from(bytes.subarray(at, Math.min(bytes.length, at + n))));
    at += n;
  }
  if (at < bytes.length) parts.push(Buffer.from(bytes.subarray(at)));
  return Readable.from(parts, { objectMode: false });
}

function bodyOf(header: string, dataBytes: number): { all: Uint8Array; data: Uint8Array; headerBytes: number } {
  const head = Buffer.from(header);
  const data = Uint8Array.from({ length: dataBytes }, (_, i) => (i * 7 + 3) & 0xff);
  return { all: Buffer.concat([head, data]), data, headerBytes: head.length };
}

function poolOf(maxBytes: number): { pool: HostBlockPool; made: Uint8Array[] } {
  const made: Uint8Array[] = [];
  const pool = new HostBlockPool((n) => {
    const b = new Uint8Array(n);
    made.push(b);
    return b;
  }, maxBytes);
  return { pool, made };
}

async function rejects(p: Promise<unknown>, status: number, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: Error & { status?: number }) => {
    assert.equal(err.status, status, err.message);
    assert.match(err.message, message);
    return true;
  });
}

describe('serve: request bodies', () => {
  it('splits header and binary data at any chunking, the data straight into a pooled block', async () => {
    const { all, data, headerBytes } = bodyOf('{"inputs":[]}', 10000);
    for (const sizes of [[1, 1, 1, 5000], [headerBytes], [headerBytes + 1], [headerBytes - 1, 2], [3, 4096, 4096], [all.length]]) {
      const { pool, made } = poolOf(1 << 20);
      const body = await receiveBody(chunked(all, sizes), {
        contentLength: all.length,
        headerLength: String(headerBytes),
        limit: 1 << 20,
        blocks: (n) => pool.take(n),
      });
      assert.equal(Buffer.from(body.json).toString(), '{"inputs":[]}', `chunks ${sizes.join(',')}`);
      assert.deepEqual(body.binary, data, `chunks ${sizes.join(',')}`);
      assert.equal(made.length, 1);
      assert.equal(body.binary.buffer, made[0].buffer, 'the data is a view of the pooled block');
      assert.ok(pool.owns(body.binary));
    }
  });

  it('gives the block back on release (once) and when the body fails', async () => {
    const { all, headerBytes } = bodyOf('{}', 6000);
    const { pool, made } = poolOf(1 << 20);
    const r = { contentLength: all.length, headerLength: String(headerBytes), limit: 1 << 20, blocks: (n: number) => pool.take(n) };
    const a = await receiveBody(chunked(all, [100]), r);
    a.release();
    a.release(); // twice: still one block in the free list
    const b = await receiveBody(chunked(all, [100]), r);
    const c = await receiveBody(chunked(all, [100]), r);
    assert.equal(made.length, 2, 'the released block was reused; a second one made while the first is lent');
    assert.equal(b.binary.buffer, made[0].buffer);
    assert.notEqual(c.binary.buffer, made[0].buffer);
    b.release();
    c.release();
    await rejects(receiveBody(chunked(all.subarray(0, all.length - 1), [50]), r), 400, /ended after 6001 of its 6002 bytes/);
    const d = await receiveBody(chunked(all, [7]), r);
    assert.equal(made.length, 2, 'the block of the truncated body came back');
    d.release();
  });

  it('refuses a header length past the body, a body longer than its Content-Length, and bodies over the limit', async () => {
    const { all } = bodyOf('{}', 100);
    const r = { contentLength: all.length, limit: 1000 };
    await rejects(
      receiveBody(chunked(all, [10]), { ...r, headerLength: '200' }),
      400,
      /Inference-Header-Content-Length is 200, but the body has 102/,
    );
    await rejects(receiveBody(chunked(all, [10]), { ...r, headerLength: 'x1' }), 400, /Inference-Header-Content-Length is x1/);
    await rejects(
      receiveBody(chunked(all, [10]), { ...r, contentLength: 50, headerLength: '2' }),
      400,
      /longer than its Content-Length of 50/,
    );
    await rejects(
      receiveBody(chunked(all, [10]), { ...r, contentLength: 5000, headerLength: '2' }),
      413,
      /over the server's body limit of 1000/,
    );
    await rejects(
      receiveBody(chunked(Buffer.alloc(3000), [100]), { contentLength: undefined, headerLength: undefined, limit: 1000 }),
      413,
      /more than 1000/,
    );
  });

  it('collects a chunked body (no Content-Length) or a JSON one whole, and splits it after', async () => {
    const { all, data, headerBytes } = bodyOf('{"a":1}', 300);
    const b: ReceivedBody = await receiveBody(chunked(all, [5, 5]), {
      contentLength: undefined,
      headerLength: String(headerBytes),
      limit: 1000,
    });
    assert.equal(Buffer.from(b.json).toString(), '{"a":1}');
    assert.deepEqual(new Uint8Array(b.binary), data);
    const j = await receiveBody(chunked(Buffer.from('{"b":2}'), [3]), { contentLength: 7, headerLength: undefined, limit: 1000 });
    assert.equal(Buffer.from(j.json).toString(), '{"b":2}');
    assert.equal(j.binary.length, 0);
  });

  it('pools by size class up to its bound, and answers undefined past it or when allocation fails', () => {
    assert.equal(sizeClass(1), 4096);
    assert.equal(sizeClass(4096), 4096);
    assert.equal(sizeClass(4097), 5120);
    assert.equal(sizeClass(6000), 6144);
    const big = 32 * 224 * 224 * 3;
    assert.ok(sizeClass(big) >= big && sizeClass(big) <= big * 1.25);
    const { pool, made } = poolOf(3 * 8192);
    const x = pool.take(8000);
    const y = pool.take(7900);
    const z = pool.take(8192);
    assert.ok(x && y && z);
    assert.equal(pool.take(100), undefined, 'the bound is reached');
    assert.equal(pool.bytes, 3 * 8192);
    x.release();
    assert.equal(pool.take(8000)?.bytes, made[0], 'the same class comes back');
    const failing = new HostBlockPool(() => {
      throw new Error('no pinned memory');
    }, 1 << 20);
    assert.equal(failing.take(10), undefined);
    pool.close();
    assert.equal(pool.take(10), undefined, 'closed');
  });
});

describe('serve: a lone request in the engine host memory runs in place', () => {
  /** An engine of one uint8 input of 4 values per image and one float output of 1 per image; runs sum. */
  function fakeEngine(seen: HostArray[]): { engine: Engine; context: ExecutionContext } {
    const engine = {
      inputs: [{ name: 'x', dims: [4], dtype: 'uint8' }],
      outputs: [{ name: 'y', dims: [1], dtype: 'float32' }],
      maxBatchSize: 8,
      createInputs: (n: number) => ({ x: new Uint8Array(n * 4) }),
      createOutputs: (n: number) => ({ y: new Float32Array(n) }),
    } as unknown as Engine;
    const context = {
      run: async (feeds: Record<string, Uint8Array>, o: { batchSize: number; outputs: Record<string, Float32Array> }) => {
        seen.push(feeds.x);
        for (let b = 0; b < o.batchSize; b++) o.outputs.y[b] = feeds.x.subarray(b * 4, b * 4 + 4).reduce((s, v) => s + v, 0);
      },
    } as unknown as ExecutionContext;
    return { engine, context };
  }

  it('feeds the request array itself when it runs alone in place; stages a copy when merged or not in place', async () => {
    const seen: HostArray[] = [];
    const { engine, context } = fakeEngine(seen);
    const batcher = new DynamicBatcher([new Instance(engine, context, 0, 1)], {
      maxBatchSize: 8,
      batching: true,
      preferredBatchSizes: [],
      maxQueueDelayUs: 0,
      maxQueueSize: 16,
      defaultTimeoutUs: 0,
      allowTimeoutOverride: true,
    });
    const a = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const r1 = await batcher.submit(2, [a], 0, true);
    assert.equal(seen[0], a, 'in place: the batch read the request array');
    assert.deepEqual(Array.from(r1.outputs[0] as Float32Array), [10, 26]);
    const r2 = await batcher.submit(2, [a], 0, false);
    assert.notEqual(seen[1], a, 'not in place: staged');
    assert.deepEqual(Array.from(seen[1]), Array.from(a));
    assert.deepEqual(Array.from(r2.outputs[0] as Float32Array), [10, 26]);
    // In-place requests queued behind a running one are merged into one batch: staged, all answered right.
    const b = Uint8Array.from([1, 1, 1, 1]);
    const before = seen.length;
    const [m0, m1, m2] = await Promise.all([
      batcher.submit(1, [b], 0, false),
      batcher.submit(2, [a], 0, true),
      batcher.submit(1, [b], 0, true),
    ]);
    const later = seen.slice(before);
    assert.ok(later.length < 3, `merged (${later.map((x) => x.length / 4).join(' + ')} images)`);
    assert.ok(
      later.every((x) => x !== a && x !== b),
      'a merged batch is staged',
    );
    assert.deepEqual(Array.from(m0.outputs[0] as Float32Array), [4]);
    assert.deepEqual(Array.from(m1.outputs[0] as Float32Array), [10, 26]);
    assert.deepEqual(Array.from(m2.outputs[0] as Float32Array), [4]);
  });
});
