/**
 * The serve module's binary tensor decoding (lib/serve/tensors.ts fromBytes): a request body's bytes
 * become the engine's host array without a copy where the offset suits the element size (UINT8
 * always, FP32 / FP16 when aligned), with a copy where it does not, and with the right values
 * either way; a wrong byte count is a 400 naming the input.
 */
import { strict as assert } from 'assert';
import { fromBytes } from '../../lib/serve/tensors';

describe('serve: binary tensor data as host arrays', () => {
  const floats = Float32Array.from([1.5, -2, 3.25, 1e-7]);

  function bodyWith(payload: Uint8Array, offset: number): Uint8Array {
    const body = new Uint8Array(offset + payload.byteLength + 3);
    body.set(payload, offset);
    return body.subarray(offset, offset + payload.byteLength);
  }

  it('UINT8 is a view of the body, whatever its offset', () => {
    const bytes = bodyWith(Uint8Array.from([0, 7, 255, 128, 9]), 3);
    const a = fromBytes(bytes, 'UINT8', 5, 'data');
    assert.ok(a instanceof Uint8Array && a.constructor === Uint8Array);
    assert.equal(a.buffer, bytes.buffer);
    assert.deepEqual(Array.from(a), [0, 7, 255, 128, 9]);
  });

  it('FP32 at an aligned offset is a view; at an odd offset a copy; the values are the same', () => {
    const raw = new Uint8Array(floats.buffer);
    const aligned = bodyWith(raw, 8);
    const odd = bodyWith(raw, 5);
    const a = fromBytes(aligned, 'FP32', 4, 'data');
    const b = fromBytes(odd, 'FP32', 4, 'data');
    assert.ok(a instanceof Float32Array && b instanceof Float32Array);
    assert.equal(a.buffer, aligned.buffer, 'aligned: no copy');
    assert.notEqual(b.buffer, odd.buffer, 'odd offset: copied');
    assert.deepEqual(Array.from(a), Array.from(floats));
    assert.deepEqual(Array.from(b), Array.from(floats));
  });

  it('FP16 at an odd offset is copied into a Uint16Array of the same bits', () => {
    const bits = Uint16Array.from([0x3c00, 0xc000, 0x7bff]);
    const a = fromBytes(bodyWith(new Uint8Array(bits.buffer), 1), 'FP16', 3, 'x');
    assert.ok(a instanceof Uint16Array);
    assert.deepEqual(Array.from(a), Array.from(bits));
  });

  it('a byte count that does not match the shape is a 400 naming the input', () => {
    assert.throws(
      () => fromBytes(new Uint8Array(15), 'FP32', 4, 'data'),
      (err: Error & { statusCode?: number; status?: number }) => {
        assert.match(err.message, /input 'data': binary data has 15 bytes/);
        return true;
      },
    );
  });
});
