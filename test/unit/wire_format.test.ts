/**
 * lib/caffe/wire_format.ts: protobuf binary decoding and encoding driven by a Schema.
 *
 * A schema of our own covers every scalar kind (Caffe's messages do not use them all); bytes are
 * checked against the protobuf encoding spec, not only round-tripped, so a symmetric bug in the
 * writer and the reader cannot hide.
 */
import { strict as assert } from 'assert';
import { ParseError, TensorRTNodeError } from '../../lib/errors';
import { Message, type FieldValue } from '../../lib/caffe/message';
import { Schema } from '../../lib/caffe/schema';
import { decodeMessage, encodeMessage, WireReader, WireType, WireWriter } from '../../lib/caffe/wire_format';

const schema = new Schema({
  enums: {
    'T.Color': { RED: 0, GREEN: 1, BLUE: 2, INFRARED: 150, NEGATIVE: -3 },
  },
  messages: {
    T: [
      ['i32', 1, 'int32'],
      ['u32', 2, 'uint32'],
      ['i64', 3, 'int64'],
      ['u64', 4, 'uint64'],
      ['s32', 5, 'sint32'],
      ['s64', 6, 'sint64'],
      ['f32', 7, 'fixed32'],
      ['sf32', 8, 'sfixed32'],
      ['f64', 9, 'fixed64'],
      ['sf64', 10, 'sfixed64'],
      ['flt', 11, 'float'],
      ['dbl', 12, 'double'],
      ['b', 13, 'bool'],
      ['str', 14, 'string'],
      ['byt', 15, 'bytes'],
      ['color', 16, 'T.Color'],
      ['child', 17, 'T'],
      ['inner', 18, 'Inner'],
      ['kids', 19, 'Inner', { repeated: true }],
      ['packed_i32', 20, 'int32', { repeated: true, packed: true }],
      ['loose_i32', 21, 'int32', { repeated: true }],
      ['packed_flt', 22, 'float', { repeated: true, packed: true }],
      ['packed_dbl', 23, 'double', { repeated: true, packed: true }],
      ['packed_colors', 24, 'T.Color', { repeated: true, packed: true }],
      ['packed_s64', 25, 'sint64', { repeated: true, packed: true }],
      ['strs', 26, 'string', { repeated: true }],
      ['big_field', 536870911, 'int32'],
    ],
    Inner: [
      ['name', 1, 'string'],
      ['value', 2, 'float'],
      ['deeper', 3, 'Inner'],
    ],
  },
});

function msg(type = 'T'): Message {
  return new Message(schema, schema.message(type));
}

function decode(
  bytes: ArrayLike<number>,
  options: { file?: string; base?: number; onUnknown?: (t: string, n: number) => void; mismatchAsUnknown?: boolean } = {},
  type = 'T',
): Message {
  const buf = Uint8Array.from(bytes);
  return decodeMessage(schema, type, buf, 0, buf.length, { file: 'test.bin', ...options });
}

/** Encodes `value` into field `name` alone, returns the bytes and the value decoded back. */
function roundTrip(name: string, value: FieldValue): { bytes: number[]; back: unknown } {
  const m = msg();
  m.set(name, value);
  const bytes = Array.from(encodeMessage(m));
  return { bytes, back: decode(bytes).raw(name) };
}

/** Runs `fn`, which must throw a ParseError; returns it. */
function parseErrorOf(fn: () => unknown): ParseError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ParseError, `expected a ParseError, got ${String(err)}`);
    assert.ok(err instanceof TensorRTNodeError);
    assert.equal(err.code, 'E_PARSE');
    assert.equal(err.name, 'ParseError');
    assert.equal(err.position.line, 0, 'binary positions have line 0');
    return err;
  }
  assert.fail('expected a ParseError, but nothing was thrown');
}

/** Byte offset (0-based) a binary ParseError reports. */
function offsetOf(err: ParseError): number {
  return err.position.col - 1;
}

function hex(bytes: ArrayLike<number>): string {
  return Buffer.from(Uint8Array.from(bytes)).toString('hex');
}

function f32bits(x: number): number {
  const dv = new DataView(new ArrayBuffer(4));
  dv.setFloat32(0, x, true);
  return dv.getUint32(0, true);
}

describe('wire_format', () => {
  describe('WireWriter', () => {
    it('writes varints as in the protobuf spec (150 -> 96 01, 300 -> ac 02)', () => {
      const w = new WireWriter();
      w.uvarint(0);
      w.uvarint(1);
      w.uvarint(127);
      w.uvarint(128);
      w.uvarint(150);
      w.uvarint(300);
      assert.equal(hex(w.finish()), '00' + '01' + '7f' + '8001' + '9601' + 'ac02');
    });

    it("writes 2^53 - 1 in 8 bytes and negative numbers in 10 (two's complement)", () => {
      const w = new WireWriter();
      w.uvarint(Number.MAX_SAFE_INTEGER);
      assert.equal(hex(w.finish()), 'ffffffffffffff0f');
      const n = new WireWriter();
      n.svarint(-1);
      assert.equal(hex(n.finish()), 'ffffffffffffffffff01');
      const m = new WireWriter();
      m.svarint(-2147483648);
      assert.equal(hex(m.finish()), '80808080f8ffffffff01');
    });

    it('grows past its initial buffer without losing bytes', () => {
      const w = new WireWriter();
      const chunk = new Uint8Array(1000).map((_, i) => i & 0xff);
      for (let i = 0; i < 5; i++) w.bytes(chunk);
      w.fixed32(0xdeadbeef);
      w.float64(Math.PI);
      const out = w.finish();
      assert.equal(out.length, 5000 + 4 + 8);
      for (let i = 0; i < 5000; i++) assert.equal(out[i], (i % 1000) & 0xff, `byte ${i}`);
      assert.equal(hex(out.subarray(5000, 5004)), 'efbeadde');
      assert.equal(Buffer.from(out).readDoubleLE(5004), Math.PI);
    });

    it('writes tags as field number << 3 | wire type', () => {
      const w = new WireWriter();
      w.tag(1, WireType.Varint);
      w.tag(2, WireType.Len);
      w.tag(16, WireType.Fixed32);
      w.tag(536870911, WireType.Fixed64);
      assert.equal(hex(w.finish()), '08' + '12' + '8501' + 'f9ffffff0f');
    });
  });

  describe('WireReader', () => {
    it('reads a 10-byte varint as two unsigned 32-bit halves', () => {
      const bytes = Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
      const r = new WireReader(bytes, 0, bytes.length, 'x');
      assert.deepEqual(r.varint(), { lo: 0xffffffff, hi: 0xffffffff });
      assert.equal(r.pos, 10);
      assert.ok(r.atEnd());
    });

    it('splits bits 28..34 between the halves correctly', () => {
      // 0x7_f000_0000 | 0x5: bits 28..34 set, crossing the 32-bit boundary in the 5th byte.
      const w = new WireWriter();
      w.uvarint(0x7f0000005);
      const bytes = w.finish();
      const r = new WireReader(bytes, 0, bytes.length, 'x');
      assert.deepEqual(r.varint(), { lo: 0xf0000005, hi: 0x7 });
    });

    it('uvarint accepts 2^53 - 1 and rejects 2^53 with E_PARSE', () => {
      const ok = new WireWriter();
      ok.uvarint(Number.MAX_SAFE_INTEGER);
      const okBytes = ok.finish().slice();
      assert.equal(new WireReader(okBytes, 0, okBytes.length, 'x').uvarint(), Number.MAX_SAFE_INTEGER);
      const big = Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10]); // 2^53
      const err = parseErrorOf(() => new WireReader(big, 0, big.length, 'x').uvarint());
      assert.match(err.message, /varint too large/);
    });

    it('reads only within [start, end) and reports offsets from `base`', () => {
      // A varint that would be complete if the reader looked past `end`.
      const bytes = Uint8Array.from([0x01, 0x02, 0x80, 0x01]);
      const r = new WireReader(bytes, 2, 3, 'f.bin', 100);
      const err = parseErrorOf(() => r.varint());
      assert.match(err.message, /truncated varint/);
      assert.equal(offsetOf(err), 103);
      assert.equal(err.position.file, 'f.bin');
      assert.equal(err.token, '', 'end of the range reads as end of file');
    });

    it('fixed32 / fixed64 / float32 / float64 are little-endian and bounds-checked', () => {
      const bytes = Uint8Array.from([0x78, 0x56, 0x34, 0x12, 0x00, 0x00, 0xc0, 0x3f, 1, 2, 3]);
      const r = new WireReader(bytes, 0, bytes.length, 'x');
      assert.equal(r.fixed32(), 0x12345678);
      assert.equal(r.float32(), 1.5);
      const err = parseErrorOf(() => r.fixed32());
      assert.match(err.message, /truncated fixed32/);
      assert.equal(offsetOf(err), 8);
      const r2 = new WireReader(bytes, 4, 11, 'x');
      const err2 = parseErrorOf(() => r2.float64());
      assert.match(err2.message, /truncated double/);
      assert.equal(offsetOf(err2), 4);
    });
  });

  describe('round trip of every scalar kind', () => {
    it('int32: negative values take a 10-byte varint and come back', () => {
      const { bytes, back } = roundTrip('i32', -1);
      assert.equal(hex(bytes), '08' + 'ffffffffffffffffff01');
      assert.equal(back, -1);
      for (const v of [0, 1, 127, 128, 2147483647, -2147483648, -300]) {
        const rt = roundTrip('i32', v);
        assert.equal(rt.back, v, `int32 ${v}`);
        assert.equal(rt.bytes.length, 1 + (v < 0 ? 10 : Math.max(1, Math.ceil(Math.log2(v + 1) / 7))), `size of ${v}`);
      }
    });

    it('int32 decodes a 5-byte (sign-truncated) negative varint as protobuf does', () => {
      // Some writers emit int32 -1 as 5 bytes; the low 32 bits decide.
      assert.equal(decode([0x08, 0xff, 0xff, 0xff, 0xff, 0x0f]).num('i32'), -1);
    });

    it('uint32: max value 4294967295 in 5 bytes', () => {
      const { bytes, back } = roundTrip('u32', 4294967295);
      assert.equal(hex(bytes), '10' + 'ffffffff0f');
      assert.equal(back, 4294967295);
      assert.equal(roundTrip('u32', 2147483648).back, 2147483648);
    });

    it('int64 / uint64: values up to 2^53 - 1, and negative int64', () => {
      for (const v of [0, 1, 2 ** 32, 2 ** 32 + 1, 2 ** 40 + 12345, Number.MAX_SAFE_INTEGER]) {
        assert.equal(roundTrip('i64', v).back, v, `int64 ${v}`);
        assert.equal(roundTrip('u64', v).back, v, `uint64 ${v}`);
      }
      const max = roundTrip('i64', Number.MAX_SAFE_INTEGER);
      assert.equal(hex(max.bytes), '18' + 'ffffffffffffff0f');
      for (const v of [-1, -(2 ** 32), -(2 ** 32) - 1, -Number.MAX_SAFE_INTEGER]) {
        const rt = roundTrip('i64', v);
        assert.equal(rt.back, v, `int64 ${v}`);
        assert.equal(rt.bytes.length, 11, `int64 ${v} is a 10-byte varint`);
      }
    });

    it('sint32: zigzag encoding (0->0, -1->1, 1->2, -2->3) and extremes', () => {
      const expected: Array<[number, string]> = [
        [0, '00'],
        [-1, '01'],
        [1, '02'],
        [-2, '03'],
        [63, '7e'],
        [-64, '7f'],
        [64, '8001'],
        [2147483647, 'feffffff0f'],
        [-2147483648, 'ffffffff0f'],
      ];
      for (const [v, enc] of expected) {
        const rt = roundTrip('s32', v);
        assert.equal(hex(rt.bytes), '28' + enc, `sint32 ${v}`);
        assert.equal(rt.back, v, `sint32 ${v}`);
      }
    });

    it('sint64: zigzag for values with |v| <= 2^52 and for 2^53 - 1', () => {
      const expected: Array<[number, string]> = [
        [0, '00'],
        [-1, '01'],
        [1, '02'],
        [-2, '03'],
        [-(2 ** 32), 'ffffffff1f'],
        [2 ** 32, '8080808020'],
      ];
      for (const [v, enc] of expected) {
        const rt = roundTrip('s64', v);
        assert.equal(hex(rt.bytes), '30' + enc, `sint64 ${v}`);
        assert.equal(rt.back, v, `sint64 ${v}`);
      }
      for (const v of [2 ** 52, -(2 ** 52), Number.MAX_SAFE_INTEGER, 123456789012345, -123456789012345]) {
        assert.equal(roundTrip('s64', v).back, v, `sint64 ${v}`);
      }
      // Decoding the largest zigzag values, hand-encoded: 2^54 - 2 -> 2^53 - 1, 2^54 - 3 -> -(2^53 - 1).
      assert.equal(decode([0x30, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f]).num('s64'), Number.MAX_SAFE_INTEGER);
      assert.equal(decode([0x30, 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f]).num('s64'), -Number.MAX_SAFE_INTEGER);
    });

    it('sint64: negative values below -2^52 round-trip', () => {
      for (const v of [-(2 ** 52) - 1, -(2 ** 53) + 3, -Number.MAX_SAFE_INTEGER]) {
        assert.equal(roundTrip('s64', v).back, v, `sint64 ${v}`);
      }
    });

    it('fixed32 / sfixed32: 4 little-endian bytes', () => {
      let rt = roundTrip('f32', 0x12345678);
      assert.equal(hex(rt.bytes), '3d' + '78563412');
      assert.equal(rt.back, 0x12345678);
      rt = roundTrip('f32', 0xffffffff);
      assert.equal(hex(rt.bytes), '3d' + 'ffffffff');
      assert.equal(rt.back, 0xffffffff);
      rt = roundTrip('sf32', -2);
      assert.equal(hex(rt.bytes), '45' + 'feffffff');
      assert.equal(rt.back, -2);
      assert.equal(roundTrip('sf32', -2147483648).back, -2147483648);
      assert.equal(roundTrip('sf32', 2147483647).back, 2147483647);
    });

    it('fixed64 / sfixed64: 8 little-endian bytes, up to 2^53 - 1', () => {
      let rt = roundTrip('f64', Number.MAX_SAFE_INTEGER);
      assert.equal(hex(rt.bytes), '49' + 'ffffffffffff1f00');
      assert.equal(rt.back, Number.MAX_SAFE_INTEGER);
      rt = roundTrip('sf64', -1);
      assert.equal(hex(rt.bytes), '51' + 'ffffffffffffffff');
      assert.equal(rt.back, -1);
      for (const v of [0, 2 ** 32, -(2 ** 32), -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER]) {
        assert.equal(roundTrip('sf64', v).back, v, `sfixed64 ${v}`);
      }
    });

    it('float: bit patterns survive, including NaN, +-Infinity, -0 and denormals', () => {
      const rt = roundTrip('flt', 1.5);
      assert.equal(hex(rt.bytes), '5d' + '0000c03f');
      assert.equal(rt.back, 1.5);
      for (const v of [Infinity, -Infinity, 3.4028234663852886e38, 1.401298464324817e-45, -2.5, Math.fround(0.1)]) {
        assert.equal(roundTrip('flt', v).back, v, `float ${v}`);
      }
      assert.ok(Object.is(roundTrip('flt', -0).back, -0), 'float -0 keeps its sign');
      assert.ok(Number.isNaN(roundTrip('flt', NaN).back as number));
      // 0.1 is stored as its float32 rounding.
      assert.equal(roundTrip('flt', 0.1).back, Math.fround(0.1));
      // Decoding keeps the exact bits of what was on the wire.
      assert.equal(f32bits(decode([0x5d, 0x01, 0x00, 0x80, 0x00]).num('flt')), 0x00800001);
    });

    it('double: exact, including NaN, +-Infinity, -0 and the extremes', () => {
      const rt = roundTrip('dbl', 0.1);
      assert.equal(hex(rt.bytes), '61' + '9a9999999999b93f');
      assert.equal(rt.back, 0.1);
      for (const v of [Infinity, -Infinity, Number.MAX_VALUE, Number.MIN_VALUE, -1e-300, Math.PI]) {
        assert.equal(roundTrip('dbl', v).back, v, `double ${v}`);
      }
      assert.ok(Object.is(roundTrip('dbl', -0).back, -0));
      assert.ok(Number.isNaN(roundTrip('dbl', NaN).back as number));
    });

    it('bool: 0 / 1, and any non-zero varint (even beyond 32 bits) is true', () => {
      const t = roundTrip('b', true);
      assert.equal(hex(t.bytes), '68' + '01');
      assert.equal(t.back, true);
      const f = roundTrip('b', false);
      assert.equal(hex(f.bytes), '68' + '00');
      assert.equal(f.back, false);
      assert.equal(decode([0x68, 0x80, 0x80, 0x80, 0x80, 0x10]).raw('b'), true);
    });

    it('string: UTF-8 with multi-byte characters and astral code points', () => {
      const s = 'héllo ✓ 𝄞 中文';
      const rt = roundTrip('str', s);
      const utf8 = Buffer.from(s, 'utf8');
      assert.equal(utf8.length, 22);
      assert.equal(hex(rt.bytes), '72' + '16' + utf8.toString('hex'));
      assert.equal(rt.back, s);
      assert.equal(roundTrip('str', '').back, '');
    });

    it('bytes: arbitrary octets, returned as a copy', () => {
      const data = Uint8Array.from([0, 255, 128, 10, 13, 0]);
      const rt = roundTrip('byt', data);
      assert.equal(hex(rt.bytes), '7a' + '06' + '00ff800a0d00');
      assert.ok(rt.back instanceof Uint8Array);
      assert.deepEqual(Array.from(rt.back as Uint8Array), Array.from(data));
      // The decoded value must not alias the input buffer.
      const input = Uint8Array.from([0x7a, 0x02, 0x11, 0x22]);
      const m = decodeMessage(schema, 'T', input);
      input[2] = 0;
      assert.deepEqual(Array.from(m.raw('byt') as Uint8Array), [0x11, 0x22]);
    });

    it('enum: written by number, read back by name (negative and multi-byte numbers too)', () => {
      const rt = roundTrip('color', 'BLUE');
      assert.equal(hex(rt.bytes), '8001' + '02');
      assert.equal(rt.back, 'BLUE');
      assert.equal(roundTrip('color', 'INFRARED').back, 'INFRARED');
      const neg = roundTrip('color', 'NEGATIVE');
      assert.equal(hex(neg.bytes), '8001' + 'fdffffffffffffffff01');
      assert.equal(neg.back, 'NEGATIVE');
      assert.equal(decode([0x80, 0x01, 0x01]).str('color'), 'GREEN');
    });

    it('enum: encoding a name the enum does not have throws', () => {
      const m = msg();
      m.set('color', 'PURPLE');
      assert.throws(() => encodeMessage(m), /PURPLE is not a value of T\.Color/);
    });

    it('the largest field number (2^29 - 1) round-trips', () => {
      const rt = roundTrip('big_field', 7);
      assert.equal(hex(rt.bytes), 'f8ffffff0f' + '07');
      assert.equal(rt.back, 7);
    });

    it('a message with every kind set round-trips field by field', () => {
      const m = msg();
      const values: Record<string, FieldValue> = {
        i32: -7,
        u32: 4000000000,
        i64: -(2 ** 40),
        u64: 2 ** 50,
        s32: -99,
        s64: -(2 ** 45),
        f32: 77,
        sf32: -77,
        f64: 2 ** 33,
        sf64: -(2 ** 33),
        flt: 2.5,
        dbl: -1e-10,
        b: true,
        str: 'ok',
        color: 'RED',
      };
      for (const [k, v] of Object.entries(values)) m.set(k, v);
      const back = decode(encodeMessage(m));
      for (const [k, v] of Object.entries(values)) assert.equal(back.raw(k), v, k);
      assert.deepEqual(back.presentFields().sort(), Object.keys(values).sort());
    });
  });

  describe('repeated fields', () => {
    it('encodes [packed] fields as one length-delimited run and others one tag per value', () => {
      const m = msg();
      for (const v of [1, -1, 300]) {
        m.push('packed_i32', v);
        m.push('loose_i32', v);
      }
      const bytes = encodeMessage(m);
      // packed_i32 (20): tag a2 01, length 13 = 1 + 10 + 2
      // loose_i32 (21): three times tag a8 01 and a varint
      assert.equal(
        hex(bytes),
        'a201' + '0d' + '01' + 'ffffffffffffffffff01' + 'ac02' + 'a801' + '01' + 'a801' + 'ffffffffffffffffff01' + 'a801' + 'ac02',
      );
      const back = decode(bytes);
      assert.deepEqual(back.nums('packed_i32'), [1, -1, 300]);
      assert.deepEqual(back.nums('loose_i32'), [1, -1, 300]);
    });

    it('decodes a packed field sent unpacked and an unpacked field sent packed', () => {
      const w = new WireWriter();
      // packed_i32 as separate varints
      for (const v of [5, 6]) {
        w.tag(20, WireType.Varint);
        w.uvarint(v);
      }
      // loose_i32 as one packed run
      w.tag(21, WireType.Len);
      w.uvarint(3);
      w.bytes(Uint8Array.from([7, 8, 9]));
      // packed floats sent as separate fixed32 fields, then a packed run: values append in order
      w.tag(22, WireType.Fixed32);
      w.float32(0.5);
      w.tag(22, WireType.Len);
      w.uvarint(8);
      w.float32(1.5);
      w.float32(-2.5);
      w.tag(22, WireType.Fixed32);
      w.float32(3.5);
      const back = decode(w.finish());
      assert.deepEqual(back.nums('packed_i32'), [5, 6]);
      assert.deepEqual(back.nums('loose_i32'), [7, 8, 9]);
      assert.deepEqual(back.nums('packed_flt'), [0.5, 1.5, -2.5, 3.5]);
    });

    it('round-trips packed floats, doubles, enums and sint64', () => {
      const m = msg();
      const floats = [0, -0, 1.5, Infinity, Math.fround(1e-40)];
      const doubles = [0.1, -0.2, Number.MAX_VALUE, -Infinity];
      floats.forEach((v) => m.push('packed_flt', v));
      doubles.forEach((v) => m.push('packed_dbl', v));
      ['BLUE', 'RED', 'NEGATIVE', 'INFRARED'].forEach((v) => m.push('packed_colors', v));
      [-1, 1, -(2 ** 40), 2 ** 40].forEach((v) => m.push('packed_s64', v));
      const back = decode(encodeMessage(m));
      assert.deepEqual(back.nums('packed_flt'), floats);
      assert.ok(Object.is(back.nums('packed_flt')[1], -0));
      assert.deepEqual(back.nums('packed_dbl'), doubles);
      assert.deepEqual(back.strs('packed_colors'), ['BLUE', 'RED', 'NEGATIVE', 'INFRARED']);
      assert.deepEqual(back.nums('packed_s64'), [-1, 1, -(2 ** 40), 2 ** 40]);
    });

    it('an empty packed run adds no values', () => {
      const back = decode([0xa2, 0x01, 0x00, 0x08, 0x05]);
      assert.equal(back.has('packed_i32'), false);
      assert.deepEqual(back.nums('packed_i32'), []);
      assert.equal(back.num('i32'), 5);
    });

    it('repeated strings keep order; a repeated singular field keeps the last value', () => {
      const back = decode([0xd2, 0x01, 0x01, 0x61, 0xd2, 0x01, 0x00, 0xd2, 0x01, 0x01, 0x63, 0x08, 0x01, 0x08, 0x02]);
      assert.deepEqual(back.strs('strs'), ['a', '', 'c']);
      assert.equal(back.num('i32'), 2);
    });
  });

  describe('nested messages', () => {
    it('round-trips singular and repeated sub-messages three levels deep', () => {
      const m = msg();
      const child = msg();
      child.set('i32', -5);
      const grandchild = msg();
      grandchild.set('str', 'deep');
      grandchild.push('packed_i32', 42);
      child.set('child', grandchild);
      m.set('child', child);
      for (const name of ['a', 'b']) {
        const k = msg('Inner');
        k.set('name', name);
        k.set('value', 0.25);
        const d = msg('Inner');
        d.set('name', `${name}-deeper`);
        k.set('deeper', d);
        m.push('kids', k);
      }
      const back = decode(encodeMessage(m));
      assert.deepEqual(back.toJSON(), {
        child: { i32: -5, child: { str: 'deep', packed_i32: [42] } },
        kids: [
          { name: 'a', value: 0.25, deeper: { name: 'a-deeper' } },
          { name: 'b', value: 0.25, deeper: { name: 'b-deeper' } },
        ],
      });
      assert.equal(back.msg('child')?.typeName, 'T');
      assert.equal(back.msgs('kids')[1].typeName, 'Inner');
    });

    it('an empty sub-message is present and has only defaults', () => {
      const back = decode([0x8a, 0x01, 0x00]);
      assert.equal(back.has('child'), true);
      assert.deepEqual(back.msg('child')?.presentFields(), []);
    });

    it('a sub-message cannot read past its own length (even when the parent has more bytes)', () => {
      // child (17) of length 2 holds a string field (14) whose length 5 would fit the whole buffer.
      const bytes = [0x8a, 0x01, 0x02, 0x72, 0x05, 0x61, 0x62, 0x63, 0x64, 0x65];
      const err = parseErrorOf(() => decode(bytes));
      assert.match(err.message, /length 5 runs past the end of its message \(1 bytes left\)/);
      assert.equal(offsetOf(err), 4, 'the offending length byte');
    });

    it('messages nested deeper than the limit give E_PARSE, not a stack overflow', () => {
      // `levels` levels of child { child { ... } }, built from the inside out.
      const nest = (levels: number, innermost: number[]): number[] => {
        let inner = innermost;
        for (let i = 0; i < levels; i++) {
          const w = new WireWriter();
          w.tag(17, WireType.Len);
          w.uvarint(inner.length);
          w.bytes(Uint8Array.from(inner));
          inner = Array.from(w.finish());
        }
        return inner;
      };
      const err = parseErrorOf(() => decode(nest(200, [])));
      assert.match(err.message, /nested too deeply/);
      // 60 levels are fine.
      let m: Message | undefined = decode(nest(60, [0x08, 0x07]));
      for (let i = 0; i < 60; i++) m = m?.msg('child');
      assert.equal(m?.num('i32'), 7);
    });
  });

  describe('unknown fields', () => {
    /** i32 = 5, then unknown fields of every wire type, then str = 'x'. */
    function withUnknowns(): Uint8Array {
      const w = new WireWriter();
      w.tag(1, WireType.Varint);
      w.uvarint(5);
      w.tag(100, WireType.Varint);
      w.svarint(-1);
      w.tag(101, WireType.Fixed64);
      w.float64(1.25);
      w.tag(102, WireType.Len);
      w.uvarint(3);
      w.bytes(Uint8Array.from([0x08, 0x08, 0x08])); // looks like fields, must not be parsed
      // A group with a varint, a length-delimited field, a nested group and a fixed32 inside.
      w.tag(103, WireType.StartGroup);
      w.tag(1, WireType.Varint);
      w.uvarint(300);
      w.tag(2, WireType.Len);
      w.uvarint(2);
      w.bytes(Uint8Array.from([0x1c, 0x1c])); // bytes of an end-group tag, inside a string: data, not structure
      w.tag(3, WireType.StartGroup);
      w.tag(4, WireType.Fixed64);
      w.float64(2);
      w.tag(3, WireType.EndGroup);
      w.tag(5, WireType.Fixed32);
      w.fixed32(7);
      w.tag(103, WireType.EndGroup);
      w.tag(104, WireType.Fixed32);
      w.fixed32(0xffffffff);
      // An empty group.
      w.tag(105, WireType.StartGroup);
      w.tag(105, WireType.EndGroup);
      w.tag(14, WireType.Len);
      w.uvarint(1);
      w.bytes(Uint8Array.from([0x78]));
      return w.finish().slice();
    }

    it('skips every wire type, including nested groups, and calls onUnknown for each', () => {
      const seen: Array<[string, number]> = [];
      const back = decode(withUnknowns(), { onUnknown: (t, n) => seen.push([t, n]) });
      assert.equal(back.num('i32'), 5);
      assert.equal(back.str('str'), 'x');
      assert.deepEqual(back.presentFields(), ['i32', 'str']);
      assert.deepEqual(seen, [
        ['T', 100],
        ['T', 101],
        ['T', 102],
        ['T', 103],
        ['T', 104],
        ['T', 105],
      ]);
    });

    it('reports unknown fields of sub-messages with the sub-message type', () => {
      const w = new WireWriter();
      w.tag(18, WireType.Len);
      w.uvarint(5);
      w.tag(9, WireType.Varint);
      w.uvarint(1);
      w.tag(1, WireType.Len);
      w.uvarint(1);
      w.bytes(Uint8Array.from([0x41]));
      const seen: Array<[string, number]> = [];
      const back = decode(w.finish(), { onUnknown: (t, n) => seen.push([t, n]) });
      assert.equal(back.msg('inner')?.str('name'), 'A');
      assert.deepEqual(seen, [['Inner', 9]]);
    });

    it('decodes without onUnknown', () => {
      const back = decode(withUnknowns());
      assert.deepEqual(back.toJSON(), { i32: 5, str: 'x' });
    });

    it('a group whose end tag names another field is E_PARSE', () => {
      const bytes = [0x08, 0x01, 0xbb, 0x06 /* start 103 */, 0x08, 0x01, 0xc4, 0x06 /* end 104 */];
      const err = parseErrorOf(() => decode(bytes));
      assert.match(err.message, /mismatched end of group/);
    });

    it('a group that never ends is E_PARSE at the end of the bytes', () => {
      const bytes = [0x08, 0x01, 0xbb, 0x06, 0x08, 0x01];
      const err = parseErrorOf(() => decode(bytes));
      assert.match(err.message, /truncated varint/);
      assert.equal(offsetOf(err), 6);
    });

    it('an unknown length-delimited field whose length runs past the end is E_PARSE at the length', () => {
      const err = parseErrorOf(() => decode([0x08, 0x01, 0xb2, 0x06, 0x09, 0x01, 0x02]));
      assert.match(err.message, /length 9 runs past the end of its message \(3 bytes left\)/);
      assert.equal(offsetOf(err), 4);
    });

    it('unknown fixed64 / fixed32 fields cut short are E_PARSE', () => {
      let err = parseErrorOf(() => decode([0xa9, 0x06, 1, 2, 3, 4, 5, 6, 7]));
      assert.match(err.message, /truncated field \(expected 8 bytes/);
      assert.equal(offsetOf(err), 2);
      err = parseErrorOf(() => decode([0xc5, 0x06, 1, 2, 3]));
      assert.match(err.message, /truncated field \(expected 4 bytes/);
      assert.equal(offsetOf(err), 2);
    });
  });

  describe('errors', () => {
    it('truncated varint: E_PARSE at the end of the bytes, "found end of file"', () => {
      const err = parseErrorOf(() => decode([0x08, 0x01, 0x08, 0x80, 0x80]));
      assert.match(err.message, /^test\.bin: byte 5: truncated varint \(expected more bytes, found end of file\)$/);
      assert.equal(offsetOf(err), 5);
      assert.equal(err.position.file, 'test.bin');
      assert.equal(err.token, '');
      // A tag cut short too.
      const tagErr = parseErrorOf(() => decode([0x08, 0x01, 0x80]));
      assert.match(tagErr.message, /truncated varint/);
      assert.equal(offsetOf(tagErr), 3);
    });

    it('varint longer than 10 bytes: E_PARSE', () => {
      const bytes = [0x08, 0x01, 0x08, ...new Array<number>(10).fill(0xff), 0x01];
      const err = parseErrorOf(() => decode(bytes));
      assert.match(err.message, /varint longer than 10 bytes/);
      assert.equal(err.expected, 'a valid varint');
    });

    it('length past the end: E_PARSE at the length prefix, nothing allocated', () => {
      const err = parseErrorOf(() => decode([0x08, 0x01, 0x72, 0x05, 0x61]));
      assert.match(err.message, /^test\.bin: byte 3: length 5 runs past the end of its message \(2 bytes left\)/);
      assert.equal(offsetOf(err), 3);
      assert.equal(err.token, '0x05');
      // 2^40: rejected by the same check, before any buffer of that size could be asked for.
      const w = new WireWriter();
      w.tag(15, WireType.Len);
      w.uvarint(2 ** 40);
      w.bytes(Uint8Array.from([1, 2, 3]));
      const huge = parseErrorOf(() => decode(w.finish()));
      assert.match(huge.message, /length 1099511627776 runs past the end/);
      assert.equal(offsetOf(huge), 1);
    });

    it('length past the end of a packed run: E_PARSE', () => {
      const err = parseErrorOf(() => decode([0xa2, 0x01, 0x04, 0x01, 0x02]));
      assert.match(err.message, /length 4 runs past the end of its message \(3 bytes left\)/);
      assert.equal(offsetOf(err), 2);
    });

    it('a packed run that ends inside a value: E_PARSE at the end of the run', () => {
      // packed floats (22), run of 6 bytes: one float and 2 stray bytes.
      const err = parseErrorOf(() => decode([0xb2, 0x01, 0x06, 0, 0, 0x80, 0x3f, 1, 2, 0x08, 0x01]));
      assert.match(err.message, /truncated float/);
      assert.equal(offsetOf(err), 7);
    });

    it('wrong wire type for a known field: E_PARSE naming field, message and both wire types', () => {
      // i32 (varint) sent as fixed32
      const err = parseErrorOf(() => decode([0x08, 0x01, 0x0d, 1, 2, 3, 4]));
      assert.match(err.message, /field 'i32' of T has wire type 5 \(expected wire type 0/);
      // str (length-delimited) sent as a varint
      const err2 = parseErrorOf(() => decode([0x70, 0x01]));
      assert.match(err2.message, /field 'str' of T has wire type 0 \(expected wire type 2/);
      // flt (fixed32) sent as fixed64
      const err3 = parseErrorOf(() => decode([0x59, 0, 0, 0, 0, 0, 0, 0, 0]));
      assert.match(err3.message, /field 'flt' of T has wire type 1 \(expected wire type 5/);
      // a non-repeated int sent as a packed run
      const err4 = parseErrorOf(() => decode([0x0a, 0x01, 0x01]));
      assert.match(err4.message, /field 'i32' of T has wire type 2 \(expected wire type 0/);
    });

    it('mismatchAsUnknown: a known field with another wire type is skipped and reported as unknown', () => {
      const unknown: Array<[string, number]> = [];
      // i32 (field 1, varint) sent as fixed32, str (field 14, length-delimited) sent as a varint, then i32 = 5.
      const m = decode([0x0d, 1, 2, 3, 4, 0x70, 0x01, 0x08, 0x05], { mismatchAsUnknown: true, onUnknown: (t, n) => unknown.push([t, n]) });
      assert.equal(m.num('i32'), 5);
      assert.equal(m.has('str'), false);
      assert.deepEqual(unknown, [
        ['T', 1],
        ['T', 14],
      ]);
    });

    it('field number 0: E_PARSE', () => {
      const err = parseErrorOf(() => decode([0x08, 0x01, 0x00, 0x08]));
      assert.match(err.message, /field number 0 \(expected a field number >= 1/);
      const err2 = parseErrorOf(() => decode([0x02, 0x00]));
      assert.match(err2.message, /field number 0/);
    });

    it('invalid wire types 6 and 7: E_PARSE, for unknown and known fields', () => {
      for (const wt of [6, 7]) {
        const unknown = parseErrorOf(() => decode([0x08, 0x01, 0xa0 | wt, 0x06, 0x01]));
        assert.match(unknown.message, new RegExp(`invalid wire type ${wt} \\(expected wire type 0, 1, 2, 3 or 5`));
        const known = parseErrorOf(() => decode([0x08, 0x01, 0x08 | wt, 0x01]));
        assert.match(known.message, new RegExp(`field 'i32' of T has wire type ${wt}`));
      }
    });

    it('a stray end-group tag: E_PARSE', () => {
      const err = parseErrorOf(() => decode([0x08, 0x01, 0xa4, 0x06]));
      assert.match(err.message, /invalid wire type 4/);
    });

    it('unknown enum number: E_PARSE naming the number, enum and field', () => {
      const err = parseErrorOf(() => decode([0x08, 0x01, 0x80, 0x01, 0x05]));
      assert.match(err.message, /5 is not a value of T\.Color \(field 'color'\)/);
      const packed = parseErrorOf(() => decode([0xc2, 0x01, 0x02, 0x01, 0x09]));
      assert.match(packed.message, /9 is not a value of T\.Color \(field 'packed_colors'\)/);
    });

    it('64-bit integers beyond 2^53 - 1: E_PARSE for every 64-bit kind', () => {
      const cases: Array<[string, number[]]> = [
        ['int64', [0x18, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10]], // 2^53
        ['int64', [0x18, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0xf0, 0xff, 0x01]], // -2^53
        ['uint64', [0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]], // 2^64 - 1
        ['sint64', [0x30, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20]], // 2^54 -> 2^53
        ['fixed64', [0x49, 0, 0, 0, 0, 0, 0, 0x20, 0]], // 2^53
        ['sfixed64', [0x51, 0, 0, 0, 0, 0, 0, 0xe0, 0xff]], // -2^53
      ];
      for (const [kind, bytes] of cases) {
        const err = parseErrorOf(() => decode(bytes));
        assert.match(err.message, new RegExp(`${kind} value of '\\w+' is too large to hold exactly`), kind);
      }
      // The boundary values themselves are fine.
      assert.equal(decode([0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]).num('i64'), Number.MAX_SAFE_INTEGER);
      assert.equal(decode([0x49, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0]).num('f64'), Number.MAX_SAFE_INTEGER);
    });

    it('file and base options place offsets in the file; start/end select a slice', () => {
      // Garbage around the message; the message (bytes 3..7) has an error at its offset 2.
      const bytes = Uint8Array.from([0xff, 0xff, 0xff, 0x08, 0x01, 0x72, 0x09, 0x61, 0xff]);
      const err = parseErrorOf(() => decodeMessage(schema, 'T', bytes, 3, 8, { file: 'model.bin', base: 4096 }));
      assert.equal(err.position.file, 'model.bin');
      // base is the file offset of bytes[0]: 4096 + index 6 of the length byte.
      assert.equal(offsetOf(err), 4096 + 6);
      assert.match(err.message, /^model\.bin: byte 4102: length 9 runs past the end of its message \(2 bytes left\)/);
      // The same slice without the error decodes, ignoring the garbage around it.
      const ok = Uint8Array.from([0xff, 0x08, 0x2a, 0xff]);
      assert.equal(decodeMessage(schema, 'T', ok, 1, 3).num('i32'), 42);
    });

    it('reports tag and value errors at the offset where the bad tag or value starts', () => {
      const cases: Array<[string, number[], number]> = [
        ['field number 0', [0x08, 0x01, 0x00, 0x08], 2],
        ['wrong wire type', [0x08, 0x01, 0x0d, 1, 2, 3, 4], 2],
        ['invalid wire type 6 (unknown field)', [0x08, 0x01, 0xa6, 0x06, 0x01], 2],
        ['invalid wire type 7 (known field)', [0x08, 0x01, 0x0f, 0x01], 2],
        ['unknown enum number', [0x08, 0x01, 0x80, 0x01, 0x05, 0x08, 0x01], 4],
        ['int64 too large', [0x08, 0x01, 0x18, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10, 0x08, 0x01], 3],
        ['varint longer than 10 bytes', [0x08, 0x01, 0x08, ...new Array<number>(10).fill(0xff), 0x01], 3],
      ];
      for (const [what, bytes, at] of cases) {
        const err = parseErrorOf(() => decode(bytes));
        assert.equal(offsetOf(err), at, what);
        assert.equal(err.token, `0x${bytes[at].toString(16).padStart(2, '0')}`, what);
      }
    });
  });
});
