/** Helpers shared by the unit tests. */
import { strict as assert } from 'assert';
import { TensorRTNodeError } from '../../lib/errors';

/** Awaits a rejection with a TensorRTNodeError of `code` whose message contains every part; returns it. */
export async function fails(p: Promise<unknown>, code: string, ...parts: Array<string | RegExp>): Promise<TensorRTNodeError> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught !== undefined, `expected a ${code} rejection, but it resolved`);
  assert.ok(caught instanceof TensorRTNodeError, `expected a TensorRTNodeError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  for (const part of parts) {
    if (typeof part === 'string') {
      assert.ok(caught.message.includes(part), `message ${JSON.stringify(caught.message)} lacks ${JSON.stringify(part)}`);
    } else {
      assert.match(caught.message, part);
    }
  }
  return caught;
}

/** `n` seeded pseudo-random floats in [-span / 2, span / 2) (xorshift32): test data that is never zeros. */
export function seededFloats(n: number, seed: number, span: number): Float32Array {
  const out = new Float32Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = (x / 4294967296 - 0.5) * span;
  }
  return out;
}

/** 1-based line and column of the first occurrence of `needle` in `src`. */
export function locate(src: string, needle: string): { line: number; col: number } {
  const lines = src.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const c = lines[i].indexOf(needle);
    if (c >= 0) return { line: i + 1, col: c + 1 };
  }
  throw new Error(`test bug: ${JSON.stringify(needle)} is not in the source`);
}
