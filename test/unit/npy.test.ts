// NumPy .npy reading and writing.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readNpy, writeNpy } from '../../lib/npy';
import { formatNpy, parseNpy } from '../../lib/npy';

/** A .npy file as NumPy writes one: header padded so the data starts at a multiple of 64. */
function npy(descr: string, shape: string, payload: Buffer, major = 1, fortran = 'False'): Buffer {
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;
  const fixed = major === 1 ? 10 : 12;
  const total = Math.ceil((fixed + header.length + 1) / 64) * 64;
  header = header.padEnd(total - fixed - 1, ' ') + '\n';
  const head = Buffer.alloc(fixed);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]).copy(head);
  if (major === 1) head.writeUInt16LE(header.length, 8);
  else head.writeUInt32LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), payload]);
}

describe('npy', () => {
  it('round-trips float32 arrays of any rank bit for bit', () => {
    for (const shape of [[5], [2, 3], [1, 3, 4, 5], [0, 7]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = Float32Array.from({ length: n }, (_, i) => (i % 2 ? -1 : 1) * i * 1.25e-3 + (i === 3 ? NaN : 0));
      const back = parseNpy(formatNpy(shape, data));
      assert.deepEqual(back.shape, shape);
      assert.ok(back.data.every((v, i) => Object.is(v, data[i])));
    }
  });

  it('uint8 images: written as |u1, read back as their bytes (and as float32 values) with the descr', () => {
    const bytes = Uint8Array.from({ length: 24 }, (_, i) => (i * 53) % 256);
    const file = Buffer.from(formatNpy([2, 2, 2, 3], bytes));
    assert.match(
      file.toString('latin1', 10, 10 + file.readUInt16LE(8)),
      /^\{'descr': '\|u1', 'fortran_order': False, 'shape': \(2, 2, 2, 3\), \}/,
    );
    const back = parseNpy(file);
    assert.deepEqual([back.descr, back.shape], ['|u1', [2, 2, 2, 3]]);
    assert.deepEqual([...(back.uint8 ?? [])], [...bytes]);
    assert.deepEqual([...back.data], [...bytes]);
    const floats = parseNpy(formatNpy([3], Float32Array.of(1, 2, 3)));
    assert.deepEqual([floats.descr, floats.uint8], ['<f4', undefined]);
  });

  it('writes what NumPy writes: magic, version 1.0, 64-byte aligned data, the shape tuple', () => {
    const bytes = Buffer.from(formatNpy([3], Float32Array.of(1, 2, 3)));
    assert.equal(bytes.subarray(0, 8).toString('latin1'), '\x93NUMPY\x01\x00');
    const len = bytes.readUInt16LE(8);
    assert.equal((10 + len) % 64, 0);
    assert.match(bytes.toString('latin1', 10, 10 + len), /^\{'descr': '<f4', 'fortran_order': False, 'shape': \(3,\), \} *\n$/);
  });

  it('reads float64 and integer arrays as float32, and format versions 2 and 3', () => {
    const f8 = Buffer.alloc(16);
    f8.writeDoubleLE(0.1, 0);
    f8.writeDoubleLE(-2.5, 8);
    assert.deepEqual(Array.from(parseNpy(npy('<f8', '(2,)', f8)).data), [Math.fround(0.1), -2.5]);
    assert.deepEqual(Array.from(parseNpy(npy('|u1', '(3,)', Buffer.from([0, 128, 255]))).data), [0, 128, 255]);
    const i4 = Buffer.alloc(8);
    i4.writeInt32LE(-7, 0);
    i4.writeInt32LE(70000, 4);
    assert.deepEqual(Array.from(parseNpy(npy('<i4', '(1, 2)', i4, 2)).data), [-7, 70000]);
    assert.deepEqual(parseNpy(npy('<i4', '(2,)', i4, 3)).shape, [2]);
  });

  it('reads float16 and big-endian arrays (<f2, >f2, >f4, >f8, >i4) as float32', () => {
    // float16 bit patterns: 1, -2, 65504 (the largest), 2^-24 (the smallest subnormal), 0.333 (0x3555), -0, Inf, NaN.
    const halves = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x3555, 0x8000, 0x7c00, 0x7e00];
    const want = [1, -2, 65504, 2 ** -24, 0.333251953125, -0, Infinity, NaN];
    const le = Buffer.alloc(16);
    const be = Buffer.alloc(16);
    halves.forEach((h, i) => {
      le.writeUInt16LE(h, 2 * i);
      be.writeUInt16BE(h, 2 * i);
    });
    for (const [descr, bytes] of [
      ['<f2', le],
      ['>f2', be],
    ] as const) {
      const got = parseNpy(npy(descr, '(2, 4)', bytes)).data;
      assert.ok(
        want.every((w, i) => Object.is(got[i], w)),
        `${descr}: ${Array.from(got).join(', ')}`,
      );
    }
    const f4 = Buffer.alloc(12);
    [1.5, -0.1, 3e38].forEach((v, i) => f4.writeFloatBE(v, 4 * i));
    assert.deepEqual(Array.from(parseNpy(npy('>f4', '(3,)', f4)).data), [1.5, Math.fround(-0.1), Math.fround(3e38)]);
    const f8 = Buffer.alloc(8);
    f8.writeDoubleBE(0.1, 0);
    assert.deepEqual(Array.from(parseNpy(npy('>f8', '(1,)', f8)).data), [Math.fround(0.1)]);
    const i4 = Buffer.alloc(4);
    i4.writeInt32BE(-70000, 0);
    assert.deepEqual(Array.from(parseNpy(npy('>i4', '(1,)', i4)).data), [-70000]);
  });

  it('refuses what it cannot read, with E_PARSE naming the problem', () => {
    const cases: Array<[Buffer, RegExp]> = [
      [Buffer.from('not numpy at all'), /not a NumPy \.npy file/],
      [npy('|O', '(1,)', Buffer.alloc(8)), /dtype '\|O' is not supported/],
      [npy('<f4', '(2, 2)', Buffer.alloc(16), 1, 'True'), /Fortran-order arrays are not supported/],
      [npy('<f4', '(3,)', Buffer.alloc(8)), /needs 12 data bytes but the file has 8/],
      [npy('<c8', '(1,)', Buffer.alloc(8)), /dtype '<c8' is not supported/],
      [Buffer.concat([npy('<f4', '(1,)', Buffer.alloc(4)).subarray(0, 8), Buffer.from([0xff, 0xff])]), /header runs past the end/],
    ];
    const bad = Buffer.from(npy('<f4', '(1,)', Buffer.alloc(4)));
    bad[6] = 9;
    cases.push([bad, /format version 9\.0/]);
    for (const [bytes, message] of cases) assert.throws(() => parseNpy(bytes, 'x.npy'), { code: 'E_PARSE', message }, String(message));
  });

  it('reads and writes files; a missing file is E_IO; a wrong count is a RangeError', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-npy-'));
    try {
      const file = path.join(dir, 'a.npy');
      await writeNpy(file, [2, 2], Float32Array.of(1, 2, 3, 4));
      assert.deepEqual(Array.from((await readNpy(file)).data), [1, 2, 3, 4]);
      await assert.rejects(readNpy(path.join(dir, 'missing.npy')), { code: 'E_IO' });
      await assert.rejects(writeNpy(file, [3], Float32Array.of(1)), { name: 'RangeError' });
      await assert.rejects(writeNpy(path.join(dir, 'no', 'dir.npy'), [1], Float32Array.of(1)), { code: 'E_IO' });
      await assert.rejects(readNpy(5 as never), { name: 'TypeError' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
