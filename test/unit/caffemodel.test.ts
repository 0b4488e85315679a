/**
 * lib/caffe/caffemodel.ts: the streaming .caffemodel reader and the writer.
 *
 * Models are written with writeCaffemodel (or byte by byte with WireWriter where the writer cannot
 * produce the case) into a temporary directory and read back.
 */
import { strict as assert } from 'assert';
import { seededFloats } from '../support/helpers';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { caffeSchema, Message, readCaffemodel, writeCaffemodel, type CaffeModelFile } from '../../lib/caffe';
import { IOError, ParseError, TensorRTNodeError, WeightsError } from '../../lib/errors';
import type { FieldValue } from '../../lib/caffe/message';
import { WireReader, WireType, WireWriter } from '../../lib/caffe/wire_format';

type Fields = Record<string, FieldValue | FieldValue[]>;

/** A Caffe message with the given fields (arrays go to repeated fields). */
function message(type: string, fields: Fields = {}): Message {
  const m = new Message(caffeSchema, caffeSchema.message(type));
  for (const [k, v] of Object.entries(fields)) {
    if (Array.isArray(v)) v.forEach((x) => m.push(k, x));
    else m.set(k, v);
  }
  return m;
}

function header(name: string, fields: Fields = {}): Message {
  return message('NetParameter', { name, ...fields });
}

/** Deterministic float data with special values mixed in (bit-exactness must hold for all of them). */
function floats(n: number, seed: number): Float32Array {
  const out = seededFloats(n, seed, 4);
  const specials = [NaN, -0, Infinity, -Infinity, 1.401298464324817e-45, -3.4028234663852886e38];
  for (let i = 0; i < specials.length && i * 7 < n; i++) out[i * 7] = specials[i];
  return out;
}

/** Asserts two Float32Arrays hold the same bits (NaN and -0 included). */
function assertSameBits(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.ok(actual instanceof Float32Array, `${what}: a Float32Array`);
  assert.equal(actual.length, expected.length, `${what}: length`);
  const a = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength);
  const b = Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength);
  assert.ok(a.equals(b), `${what}: bits differ`);
}

/** Awaits `p`, which must reject; returns the error. Fails after `ms` (a hang is a failure). */
async function rejection(p: Promise<unknown>, ms = 5000): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    const outcome = await Promise.race([
      p.then(
        () => 'resolved' as const,
        (err: unknown) => ({ err }),
      ),
      timeout,
    ]);
    if (outcome === 'timeout') assert.fail(`no answer within ${ms} ms`);
    if (outcome === 'resolved') assert.fail('expected a rejection, but it resolved');
    return outcome.err;
  } finally {
    clearTimeout(timer);
  }
}

/** Settles `p` within `ms`: either the value or the error. */
async function settle<T>(p: Promise<T>, ms = 5000): Promise<{ value?: T; err?: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    const outcome = await Promise.race([
      p.then(
        (value) => ({ value }),
        (err: unknown) => ({ err }),
      ),
      timeout,
    ]);
    if (outcome === 'timeout') assert.fail(`no answer within ${ms} ms`);
    return outcome;
  } finally {
    clearTimeout(timer);
  }
}

function offsetOf(err: ParseError): number {
  return err.position.col - 1;
}

/** A length-delimited field. */
function lenField(w: WireWriter, field: number, body: Uint8Array | string): void {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  w.tag(field, WireType.Len);
  w.uvarint(bytes.length);
  w.bytes(bytes);
}

/** A BlobProto with a BlobShape and a packed float payload, encoded by hand. */
function blobBytes(shape: readonly number[], data: readonly number[]): Uint8Array {
  const dims = new WireWriter();
  for (const d of shape) dims.uvarint(d);
  const shapeMsg = new WireWriter();
  lenField(shapeMsg, 1, dims.finish().slice());
  const payload = new WireWriter();
  for (const v of data) payload.float32(v);
  const blob = new WireWriter();
  lenField(blob, 7, shapeMsg.finish().slice());
  lenField(blob, 5, payload.finish().slice());
  return blob.finish().slice();
}

/** The fields of a message in bytes[start, end): field number, wire type and, for Len, the body range. */
function fieldsOf(bytes: Uint8Array, start = 0, end = bytes.length): Array<{ field: number; wire: number; body: [number, number] }> {
  const r = new WireReader(bytes, start, end, 'x');
  const out: Array<{ field: number; wire: number; body: [number, number] }> = [];
  while (!r.atEnd()) {
    const tag = r.uvarint();
    const wire = tag & 7;
    const field = Math.floor(tag / 8);
    if (wire === WireType.Len) {
      const len = r.length();
      out.push({ field, wire, body: [r.pos, r.pos + len] });
      r.pos += len;
    } else {
      const at = r.pos;
      r.skip(wire, field);
      out.push({ field, wire, body: [at, r.pos] });
    }
  }
  return out;
}

/** Field numbers of the first blob of the first layer of a caffemodel's bytes. */
function firstBlobFields(bytes: Uint8Array): number[] {
  const layer = fieldsOf(bytes).find((f) => f.field === 100 || f.field === 2);
  assert.ok(layer);
  const layerFields = fieldsOf(bytes, ...layer.body);
  const blob = layerFields.find((f) => f.field === (layer.field === 100 ? 7 : 6));
  assert.ok(blob);
  return fieldsOf(bytes, ...blob.body).map((f) => f.field);
}

function bytesOf(w: WireWriter): Uint8Array {
  return w.finish().slice();
}

describe('caffemodel', () => {
  let dir: string;
  let n = 0;
  const tmp = (name = 'model'): string => path.join(dir, `${n++}-${name}.caffemodel`);

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtnode-caffemodel-'));
  });
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Three layers: conv (2 blobs), relu (none), ip (2 blobs); current format. */
  function smallModel() {
    const conv = { shape: [2, 1, 2, 2], data: floats(8, 11) };
    const convBias = { shape: [2], data: floats(2, 12) };
    const ipW = { shape: [3, 4], data: floats(12, 13) };
    const ipB = { shape: [3], data: floats(3, 14) };
    return {
      header: header('small'),
      layers: [
        {
          param: message('LayerParameter', { name: 'conv', type: 'Convolution', bottom: ['data'], top: ['conv'] }),
          blobs: [conv, convBias],
        },
        { param: message('LayerParameter', { name: 'relu', type: 'ReLU', bottom: ['conv'], top: ['conv'] }), blobs: [] },
        { param: message('LayerParameter', { name: 'ip', type: 'InnerProduct', bottom: ['conv'], top: ['ip'] }), blobs: [ipW, ipB] },
      ],
    };
  }

  async function writeSmall(): Promise<string> {
    const p = tmp('small');
    const m = smallModel();
    await writeCaffemodel(p, m.header, m.layers);
    return p;
  }

  describe('round trip', () => {
    it('current format: names, types, params, shapes and bit-exact data', async () => {
      const p = tmp();
      const conv = floats(4 * 3 * 5 * 5, 1);
      const bias = floats(4, 2);
      const ip = floats(10 * 100, 3);
      const convParam = message('ConvolutionParameter', { num_output: 4, kernel_size: [5] });
      await writeCaffemodel(p, header('net', { input: ['data'] }), [
        {
          param: message('LayerParameter', {
            name: 'conv1',
            type: 'Convolution',
            bottom: ['data'],
            top: ['conv1'],
            convolution_param: convParam,
          }),
          blobs: [
            { shape: [4, 3, 5, 5], data: conv },
            { shape: [4], data: bias },
          ],
        },
        {
          param: message('LayerParameter', { name: 'fc', type: 'InnerProduct', bottom: ['conv1'], top: ['fc'] }),
          blobs: [{ shape: [10, 100], data: ip }],
        },
      ]);
      const file = await readCaffemodel(p);
      assert.equal(file.path, p);
      assert.equal(file.name, 'net');
      assert.equal(file.bytes, fs.statSync(p).size);
      assert.equal(file.unknownFields, 0);
      assert.deepEqual(file.header.strs('input'), ['data']);
      assert.equal(file.header.has('layer'), false, 'layers are not kept in the header');
      assert.deepEqual(
        file.layers.map((l) => [l.name, l.type, l.format]),
        [
          ['conv1', 'Convolution', 'layer'],
          ['fc', 'InnerProduct', 'layer'],
        ],
      );
      const [c, f] = file.layers;
      assert.deepEqual(
        c.blobs.map((b) => [b.shape, b.legacyShape]),
        [
          [[4, 3, 5, 5], false],
          [[4], false],
        ],
      );
      assertSameBits(c.blobs[0].data, conv, 'conv1 weights');
      assertSameBits(c.blobs[1].data, bias, 'conv1 bias');
      assert.deepEqual(
        f.blobs.map((b) => b.shape),
        [[10, 100]],
      );
      assertSameBits(f.blobs[0].data, ip, 'fc weights');
      // The layer's other fields come back decoded; blobs are not duplicated into param.
      assert.equal(c.param.typeName, 'LayerParameter');
      assert.deepEqual(c.param.strs('bottom'), ['data']);
      assert.deepEqual(c.param.strs('top'), ['conv1']);
      assert.equal(c.param.sub('convolution_param').num('num_output'), 4);
      assert.deepEqual(c.param.sub('convolution_param').nums('kernel_size'), [5]);
      assert.equal(c.param.has('blobs'), false);
    });

    it('writes the layout Caffe writes: header, then layer (100) entries with packed payloads', async () => {
      const p = tmp();
      await writeCaffemodel(p, header('x'), [
        { param: message('LayerParameter', { name: 'a', type: 'Bias' }), blobs: [{ shape: [2], data: Float32Array.from([1, -2]) }] },
      ]);
      const bytes = fs.readFileSync(p);
      // name: 0a 01 'x' | layer: a2 06 <len> | name 0a 01 'a' | type 12 04 'Bias' | blobs 3a <len>
      //   | shape 3a 03 (dim 0a 01 02) | data 2a 08 <8 bytes>
      const expected = Buffer.concat([
        Buffer.from('0a0178', 'hex'),
        Buffer.from('a2061a', 'hex'),
        Buffer.from('0a0161', 'hex'),
        Buffer.from('120442696173', 'hex'),
        Buffer.from('3a0f', 'hex'),
        Buffer.from('3a030a0102', 'hex'),
        Buffer.from('2a08', 'hex'),
        Buffer.from(Float32Array.from([1, -2]).buffer),
      ]);
      assert.equal(bytes.toString('hex'), expected.toString('hex'));
    });

    it('V1 format: V1LayerParameter layers with enum types', async () => {
      const p = tmp('v1');
      const w = floats(6 * 3 * 3 * 3, 4);
      const b = floats(6, 5);
      const fc = floats(2 * 6, 6);
      await writeCaffemodel(p, header('v1net'), [
        {
          param: message('V1LayerParameter', { name: 'conv1', type: 'CONVOLUTION', bottom: ['data'], top: ['conv1'], blobs_lr: [1, 2] }),
          blobs: [
            { shape: [6, 3, 3, 3], data: w },
            { shape: [6], data: b },
          ],
        },
        { param: message('V1LayerParameter', { name: 'relu1', type: 'RELU', bottom: ['conv1'], top: ['conv1'] }), blobs: [] },
        { param: message('V1LayerParameter', { name: 'fc', type: 'INNER_PRODUCT' }), blobs: [{ shape: [2, 6], data: fc }] },
      ]);
      // The first layer goes to NetParameter.layers (field 2: tag 0x12), right after the name.
      const bytes = fs.readFileSync(p);
      assert.equal(bytes[7], 0x12, 'V1 layers are field 2');
      assert.deepEqual(
        fieldsOf(bytes).map((f) => f.field),
        [1, 2, 2, 2],
      );
      assert.deepEqual(firstBlobFields(bytes), [7, 5], 'blobs are V1LayerParameter field 6');
      const file = await readCaffemodel(p);
      assert.equal(file.name, 'v1net');
      assert.deepEqual(
        file.layers.map((l) => [l.name, l.type, l.format, l.blobs.length]),
        [
          ['conv1', 'CONVOLUTION', 'V1', 2],
          ['relu1', 'RELU', 'V1', 0],
          ['fc', 'INNER_PRODUCT', 'V1', 1],
        ],
      );
      assert.equal(file.layers[0].param.typeName, 'V1LayerParameter');
      assert.deepEqual(file.layers[0].param.nums('blobs_lr'), [1, 2]);
      assert.deepEqual(file.layers[0].blobs[0].shape, [6, 3, 3, 3]);
      assertSameBits(file.layers[0].blobs[0].data, w, 'conv1 weights');
      assertSameBits(file.layers[0].blobs[1].data, b, 'conv1 bias');
      assertSameBits(file.layers[2].blobs[0].data, fc, 'fc weights');
    });

    it('legacy shapes: num/channels/height/width, padded with 1 in front', async () => {
      const p = tmp('legacy');
      const w = floats(4 * 3 * 2 * 2, 7);
      const fc = floats(5 * 8, 8);
      const bias = floats(5, 9);
      await writeCaffemodel(
        p,
        header('legacy'),
        [
          { param: message('LayerParameter', { name: 'conv', type: 'Convolution' }), blobs: [{ shape: [4, 3, 2, 2], data: w }] },
          {
            param: message('LayerParameter', { name: 'fc', type: 'InnerProduct' }),
            blobs: [
              { shape: [5, 8], data: fc },
              { shape: [5], data: bias },
            ],
          },
        ],
        { legacyShapes: true },
      );
      const file = await readCaffemodel(p);
      const shapes = file.layers.map((l) => l.blobs.map((b) => [b.shape, b.legacyShape]));
      assert.deepEqual(shapes, [
        [[[4, 3, 2, 2], true]],
        [
          [[1, 1, 5, 8], true],
          [[1, 1, 1, 5], true],
        ],
      ]);
      assertSameBits(file.layers[0].blobs[0].data, w, 'conv');
      assertSameBits(file.layers[1].blobs[0].data, fc, 'fc');
      assertSameBits(file.layers[1].blobs[1].data, bias, 'bias');
      // No BlobShape (7) in the file: legacy num, channels, height, width (1..4), then data (5).
      assert.deepEqual(firstBlobFields(fs.readFileSync(p)), [1, 2, 3, 4, 5]);
    });

    it('legacy shapes: a shape of more than 4 dimensions is refused', async () => {
      const p = tmp('legacy5');
      await assert.rejects(
        writeCaffemodel(
          p,
          header('x'),
          [
            {
              param: message('LayerParameter', { name: 'c', type: 'Convolution' }),
              blobs: [{ shape: [1, 2, 3, 4, 5], data: new Float32Array(120) }],
            },
          ],
          { legacyShapes: true },
        ),
        (err: unknown) => err instanceof RangeError && /at most 4 dimensions/.test(err.message),
      );
    });

    it('legacy shapes: > 4 dimensions is a RangeError in the package form, before anything is written', async () => {
      const p = tmp('legacy5b');
      await assert.rejects(
        writeCaffemodel(
          p,
          header('x'),
          [
            {
              param: message('LayerParameter', { name: 'c', type: 'Convolution' }),
              blobs: [{ shape: [1, 2, 3, 4, 5], data: new Float32Array(120) }],
            },
          ],
          { legacyShapes: true },
        ),
        (err: unknown) => err instanceof RangeError && /^Expected .+ for .+ but received /.test(err.message),
      );
      assert.equal(fs.existsSync(p), false, 'no partial file');
    });

    it('double payloads (double_data) are read and narrowed to float32 exactly', async () => {
      const m = smallModel();
      const pf = tmp('float');
      const pd = tmp('double');
      await writeCaffemodel(pf, m.header, m.layers);
      await writeCaffemodel(pd, m.header, m.layers, { doubleData: true });
      // The payload goes to double_data (8) instead of data (5).
      assert.deepEqual(firstBlobFields(fs.readFileSync(pf)), [7, 5]);
      assert.deepEqual(firstBlobFields(fs.readFileSync(pd)), [7, 8]);
      const values = m.layers.reduce((k, l) => k + l.blobs.reduce((j, b) => j + b.data.length, 0), 0);
      assert.equal(values, 25);
      // 4 more bytes per value, plus at most one byte per layer where a length varint grows.
      const grown = fs.statSync(pd).size - fs.statSync(pf).size - 4 * values;
      assert.ok(grown >= 0 && grown <= 2, `framing grew by ${grown}`);
      const file = await readCaffemodel(pd);
      assert.deepEqual(
        file.layers.map((l) => l.name),
        ['conv', 'relu', 'ip'],
      );
      m.layers.forEach((l, i) =>
        l.blobs.forEach((b, j) => {
          assert.deepEqual(file.layers[i].blobs[j].shape, b.shape);
          assertSameBits(file.layers[i].blobs[j].data, b.data, `${l.param.str('name')} blob ${j}`);
        }),
      );
      // Legacy shapes and doubles together.
      const pl = tmp('double-legacy');
      await writeCaffemodel(pl, m.header, m.layers, { doubleData: true, legacyShapes: true });
      const legacy = await readCaffemodel(pl);
      assert.deepEqual(legacy.layers[2].blobs[0].shape, [1, 1, 3, 4]);
      assertSameBits(legacy.layers[2].blobs[0].data, m.layers[2].blobs[0].data, 'ip weights');
    });

    it('double_data wins over data when a blob has both (as in Caffe)', async () => {
      const blob = new WireWriter();
      const dims = new WireWriter();
      dims.uvarint(2);
      const shape = new WireWriter();
      lenField(shape, 1, bytesOf(dims));
      lenField(blob, 7, bytesOf(shape));
      const f = new WireWriter();
      f.float32(9);
      f.float32(9);
      lenField(blob, 5, bytesOf(f));
      const d = new WireWriter();
      d.float64(0.5);
      d.float64(-1.25);
      lenField(blob, 8, bytesOf(d));
      const layer = new WireWriter();
      lenField(layer, 1, 'both');
      lenField(layer, 7, bytesOf(blob));
      const net = new WireWriter();
      lenField(net, 100, bytesOf(layer));
      const p = tmp('both');
      fs.writeFileSync(p, net.finish());
      const file = await readCaffemodel(p);
      assert.deepEqual(Array.from(file.layers[0].blobs[0].data), [0.5, -1.25]);
    });

    it('double_data written unpacked or in several runs is read whole', async () => {
      const make = (write: (blob: WireWriter) => void): Uint8Array => {
        const blob = new WireWriter();
        const dims = new WireWriter();
        dims.uvarint(3);
        const shape = new WireWriter();
        lenField(shape, 1, bytesOf(dims));
        lenField(blob, 7, bytesOf(shape));
        write(blob);
        const layer = new WireWriter();
        lenField(layer, 1, 'd');
        lenField(layer, 7, bytesOf(blob));
        const net = new WireWriter();
        lenField(net, 100, bytesOf(layer));
        return bytesOf(net);
      };
      const unpacked = make((blob) => {
        for (const v of [1.5, 2.5, 3.5]) {
          blob.tag(8, WireType.Fixed64);
          blob.float64(v);
        }
      });
      const split = make((blob) => {
        const a = new WireWriter();
        a.float64(1.5);
        lenField(blob, 8, bytesOf(a));
        const b = new WireWriter();
        b.float64(2.5);
        b.float64(3.5);
        lenField(blob, 8, bytesOf(b));
      });
      for (const [name, bytes] of [
        ['unpacked', unpacked],
        ['split', split],
      ] as const) {
        const p = tmp(name);
        fs.writeFileSync(p, bytes);
        const file = await readCaffemodel(p);
        assert.deepEqual(Array.from(file.layers[0].blobs[0].data), [1.5, 2.5, 3.5], name);
      }
    });

    it('float data written unpacked (one fixed32 field per value) is read', async () => {
      const blob = new WireWriter();
      // legacy shape 1 x 1 x 1 x 3
      for (const [field, v] of [
        [1, 1],
        [2, 1],
        [3, 1],
        [4, 3],
      ]) {
        blob.tag(field, WireType.Varint);
        blob.uvarint(v);
      }
      for (const v of [0.25, -8, 1e-3]) {
        blob.tag(5, WireType.Fixed32);
        blob.float32(v);
      }
      const layer = new WireWriter();
      lenField(layer, 1, 'loose');
      lenField(layer, 7, bytesOf(blob));
      const net = new WireWriter();
      lenField(net, 100, bytesOf(layer));
      const p = tmp('loose');
      fs.writeFileSync(p, net.finish());
      const file = await readCaffemodel(p);
      const b = file.layers[0].blobs[0];
      assert.deepEqual(b.shape, [1, 1, 1, 3]);
      assert.equal(b.legacyShape, true);
      assert.deepEqual(Array.from(b.data), [0.25, -8, Math.fround(1e-3)]);
    });

    it('float data in several packed runs is concatenated in order', async () => {
      const blob = new WireWriter();
      const a = new WireWriter();
      a.float32(1);
      a.float32(2);
      lenField(blob, 5, bytesOf(a));
      const b = new WireWriter();
      b.float32(3);
      lenField(blob, 5, bytesOf(b));
      const layer = new WireWriter();
      lenField(layer, 1, 'runs');
      lenField(layer, 7, bytesOf(blob));
      const net = new WireWriter();
      lenField(net, 100, bytesOf(layer));
      const p = tmp('runs');
      fs.writeFileSync(p, net.finish());
      // No shape at all is a 0-axis blob (count 1) as Caffe reads it, so 3 values disagree with it...
      await assert.rejects(readCaffemodel(p), { code: 'E_WEIGHTS' });
      // ...and with a shape of 3 the runs are joined in order.
      const shaped = new WireWriter();
      const dims = new WireWriter();
      dims.uvarint(3);
      const shapeMsg = new WireWriter();
      lenField(shapeMsg, 1, bytesOf(dims));
      lenField(shaped, 7, bytesOf(shapeMsg));
      shaped.bytes(bytesOf(blob));
      const layer2 = new WireWriter();
      lenField(layer2, 1, 'runs');
      lenField(layer2, 7, bytesOf(shaped));
      const net2 = new WireWriter();
      lenField(net2, 100, bytesOf(layer2));
      fs.writeFileSync(p, net2.finish());
      const file = await readCaffemodel(p);
      assert.deepEqual(file.layers[0].blobs[0].shape, [3]);
      assert.deepEqual(Array.from(file.layers[0].blobs[0].data), [1, 2, 3]);
    });

    it('a 0-blob layer and an empty blob list round-trip', async () => {
      const p = tmp('noblobs');
      await writeCaffemodel(p, header('empty-layers'), [
        {
          param: message('LayerParameter', {
            name: 'pool',
            type: 'Pooling',
            pooling_param: message('PoolingParameter', { pool: 'AVE', kernel_size: 3 }),
          }),
          blobs: [],
        },
        { param: message('LayerParameter', { name: 'sm', type: 'Softmax' }), blobs: [] },
      ]);
      const file = await readCaffemodel(p);
      assert.deepEqual(
        file.layers.map((l) => [l.name, l.type, l.blobs.length]),
        [
          ['pool', 'Pooling', 0],
          ['sm', 'Softmax', 0],
        ],
      );
      assert.equal(file.layers[0].param.sub('pooling_param').str('pool'), 'AVE');
      assert.equal(file.layers[0].param.sub('pooling_param').num('kernel_size'), 3);
    });

    it('a scalar blob (shape []) and a zero-sized blob (shape [0]) round-trip', async () => {
      const p = tmp('scalar');
      await writeCaffemodel(p, header('s'), [
        {
          param: message('LayerParameter', { name: 'bn', type: 'BatchNorm' }),
          blobs: [
            { shape: [], data: Float32Array.from([42]) },
            { shape: [0], data: new Float32Array(0) },
          ],
        },
      ]);
      const file = await readCaffemodel(p);
      assert.deepEqual(
        file.layers[0].blobs.map((b) => b.shape),
        [[], [0]],
      );
      assert.deepEqual(Array.from(file.layers[0].blobs[0].data), [42]);
      assert.equal(file.layers[0].blobs[1].data.length, 0);
    });

    it('counts unknown fields (top level and in layers) and still reads the weights', async () => {
      const net = new WireWriter();
      lenField(net, 1, 'u');
      net.tag(77, WireType.Varint); // unknown top-level
      net.uvarint(1);
      const layer = new WireWriter();
      lenField(layer, 1, 'L');
      lenField(layer, 2, 'Convolution');
      layer.tag(9999, WireType.Fixed32); // unknown in LayerParameter
      layer.fixed32(5);
      lenField(layer, 7, blobBytes([2], [1, 2]));
      lenField(net, 100, bytesOf(layer));
      const p = tmp('unknown');
      fs.writeFileSync(p, net.finish());
      const file = await readCaffemodel(p);
      assert.equal(file.unknownFields, 2);
      assert.equal(file.name, 'u');
      assert.equal(file.layers[0].type, 'Convolution');
      assert.deepEqual(Array.from(file.layers[0].blobs[0].data), [1, 2]);
    });

    it('big blob: 20M floats read bit-exact; onProgress counts rise to the file size', async function () {
      this.timeout(30000);
      const count = 20_000_000;
      const big = new Float32Array(count);
      for (let i = 0; i < count; i++) big[i] = (i % 1000003) * 0.001 - 500;
      big[count - 1] = -0;
      const small = floats(1000, 21);
      const p = tmp('big');
      await writeCaffemodel(p, header('big'), [
        {
          param: message('LayerParameter', { name: 'fc6', type: 'InnerProduct' }),
          blobs: [
            { shape: [5000, 4000], data: big },
            { shape: [1000], data: small },
          ],
        },
        { param: message('LayerParameter', { name: 'relu', type: 'ReLU' }), blobs: [] },
        {
          param: message('LayerParameter', { name: 'fc7', type: 'InnerProduct' }),
          blobs: [
            { shape: [10, 100], data: floats(1000, 22) },
            { shape: [10], data: floats(10, 23) },
          ],
        },
      ]);
      const size = fs.statSync(p).size;
      assert.ok(size > count * 4);
      const calls: Array<[number, number]> = [];
      const file = await readCaffemodel(p, { onProgress: (done, total) => calls.push([done, total]) });
      assert.deepEqual(file.layers[0].blobs[0].shape, [5000, 4000]);
      assertSameBits(file.layers[0].blobs[0].data, big, 'fc6 weights');
      assertSameBits(file.layers[0].blobs[1].data, small, 'fc6 bias');
      assert.equal(calls.length, 4, 'one call per blob payload (the last payload ends the file)');
      for (const [, total] of calls) assert.equal(total, size);
      for (let i = 1; i < calls.length; i++) assert.ok(calls[i][0] > calls[i - 1][0], `call ${i} increases`);
      assert.ok(calls[0][0] > count * 4, 'the first call comes after the big payload');
      assert.equal(calls[calls.length - 1][0], size, 'the last call is at the file size');
    });

    it('onProgress ends at the file size when the last layer has no blobs', async () => {
      const m = smallModel();
      const q = tmp('ends-without-blobs');
      await writeCaffemodel(q, m.header, [...m.layers, { param: message('LayerParameter', { name: 'prob', type: 'Softmax' }), blobs: [] }]);
      const calls: number[] = [];
      await readCaffemodel(q, { onProgress: (done) => calls.push(done) });
      assert.equal(calls[calls.length - 1], fs.statSync(q).size);
    });

    it('a hand-built V1 layer wrapping a V0 layer (name 1, type 2, blobs 50)', async () => {
      const w = [0.5, -1, 2, -4, 8, -16];
      const b = [0.125, 0.25];
      const v0 = new WireWriter();
      lenField(v0, 1, 'conv1');
      lenField(v0, 2, 'conv');
      v0.tag(3, WireType.Varint); // num_output
      v0.uvarint(2);
      lenField(v0, 50, blobBytes([2, 3, 1, 1], w));
      lenField(v0, 50, blobBytes([2], b));
      const v1 = new WireWriter();
      lenField(v1, 2, 'data'); // bottom
      lenField(v1, 1, bytesOf(v0)); // layer (V0)
      lenField(v1, 3, 'conv1'); // top
      const net = new WireWriter();
      lenField(net, 1, 'v0net');
      lenField(net, 2, bytesOf(v1));
      const p = tmp('v0');
      fs.writeFileSync(p, net.finish());
      const file = await readCaffemodel(p);
      assert.equal(file.name, 'v0net');
      assert.equal(file.layers.length, 1);
      const l = file.layers[0];
      assert.equal(l.name, 'conv1');
      assert.equal(l.type, 'conv');
      assert.equal(l.format, 'V0');
      assert.deepEqual(
        l.blobs.map((x) => x.shape),
        [[2, 3, 1, 1], [2]],
      );
      assert.deepEqual(Array.from(l.blobs[0].data), w);
      assert.deepEqual(Array.from(l.blobs[1].data), b);
      // The wrapper's own fields (bottom / top) are kept in param.
      assert.equal(l.param.typeName, 'V1LayerParameter');
      assert.deepEqual(l.param.strs('bottom'), ['data']);
      assert.deepEqual(l.param.strs('top'), ['conv1']);
    });

    it('a V0 blob whose shape does not match its payload is E_WEIGHTS', async () => {
      const v0 = new WireWriter();
      lenField(v0, 1, 'conv1');
      lenField(v0, 2, 'conv');
      lenField(v0, 50, blobBytes([2, 2], [1, 2, 3]));
      const v1 = new WireWriter();
      lenField(v1, 1, bytesOf(v0));
      const net = new WireWriter();
      lenField(net, 2, bytesOf(v1));
      const p = tmp('v0bad');
      fs.writeFileSync(p, net.finish());
      const err = await rejection(readCaffemodel(p));
      assert.ok(err instanceof WeightsError);
      assert.equal(err.code, 'E_WEIGHTS');
      assert.equal(err.layerName, 'conv1');
      assert.equal(err.blobIndex, 0);
    });

    it("a V1 wrapper's own blobs are count-checked too", async () => {
      const v0 = new WireWriter();
      lenField(v0, 1, 'conv1');
      lenField(v0, 2, 'conv');
      const v1 = new WireWriter();
      lenField(v1, 1, bytesOf(v0));
      lenField(v1, 6, blobBytes([5], [1, 2, 3]));
      const net = new WireWriter();
      lenField(net, 2, bytesOf(v1));
      const p = tmp('v1wrapbad');
      fs.writeFileSync(p, net.finish());
      const err = await rejection(readCaffemodel(p));
      assert.ok(err instanceof WeightsError);
      assert.equal(err.layerName, 'conv1');
      assert.equal(err.blobIndex, 0);
    });
  });

  describe('errors', () => {
    it('missing file: IOError E_IO naming the path', async () => {
      const p = path.join(dir, 'does-not-exist.caffemodel');
      const err = await rejection(readCaffemodel(p));
      assert.ok(err instanceof IOError);
      assert.ok(err instanceof TensorRTNodeError);
      assert.equal(err.code, 'E_IO');
      assert.equal(err.path, p);
      assert.ok(err.message.includes(p), err.message);
      assert.match(err.message, /ENOENT/);
      assert.equal((err.cause as NodeJS.ErrnoException).code, 'ENOENT');
    });

    it('a directory: IOError E_IO', async () => {
      const err = await rejection(readCaffemodel(dir));
      assert.ok(err instanceof IOError);
      assert.equal(err.code, 'E_IO');
      assert.equal(err.path, dir);
    });

    it('an empty file is E_PARSE', async () => {
      const p = tmp('empty');
      fs.writeFileSync(p, Buffer.alloc(0));
      const err = await rejection(readCaffemodel(p));
      assert.ok(err instanceof ParseError);
      assert.equal(err.code, 'E_PARSE');
      assert.equal(err.position.file, p);
      assert.equal(offsetOf(err), 0);
    });

    it('a file with fields but no layers and no name is E_PARSE "no layers found"', async () => {
      const p = tmp('nolayers');
      fs.writeFileSync(p, Uint8Array.from([0x28, 0x01])); // force_backward: true
      const err = await rejection(readCaffemodel(p));
      assert.ok(err instanceof ParseError);
      assert.match(err.message, /no layers found: this is not a \.caffemodel/);
      assert.equal(offsetOf(err), 0);
    });

    it('a text prototxt given as a caffemodel is E_PARSE naming the file', async () => {
      for (const text of [
        fs.readFileSync(path.join(__dirname, '../../../models/lenet.prototxt'), 'utf8'),
        'name: "x"\nlayer { name: "a" type: "ReLU" }\n',
        'layer {\n  name: "a"\n}\n',
      ]) {
        const p = tmp('text');
        fs.writeFileSync(p, text);
        const err = await rejection(readCaffemodel(p));
        assert.ok(err instanceof ParseError, `${JSON.stringify(text.slice(0, 20))}: ${String(err)}`);
        assert.equal(err.code, 'E_PARSE');
        assert.equal(err.position.file, p);
        assert.equal(err.position.line, 0);
        assert.ok(offsetOf(err) >= 0 && offsetOf(err) < text.length);
      }
    });

    it('truncated at every byte offset: E_PARSE at the right offset, or (at a field boundary) the layers before the cut', async function () {
      this.timeout(20000);
      const full = fs.readFileSync(await writeSmall());
      // Top-level fields of the file: [start, tag end, length end, end].
      const fields: Array<{ start: number; tagEnd: number; lenEnd: number; end: number; layer?: string }> = [];
      const r = new WireReader(full, 0, full.length, 'x');
      while (!r.atEnd()) {
        const start = r.pos;
        const tag = r.uvarint();
        assert.equal(tag & 7, WireType.Len);
        const tagEnd = r.pos;
        const len = r.length();
        fields.push({ start, tagEnd, lenEnd: r.pos, end: r.pos + len });
        r.pos += len;
      }
      assert.equal(fields.length, 4, 'name + 3 layers');
      const names = ['conv', 'relu', 'ip'];
      const p = tmp('cut');
      let resolved = 0;
      for (let cut = 1; cut < full.length; cut++) {
        fs.writeFileSync(p, full.subarray(0, cut));
        const boundary = fields.findIndex((f) => f.end === cut);
        const outcome = await settle(readCaffemodel(p));
        if (boundary >= 0) {
          assert.equal(outcome.err, undefined, `cut ${cut} (a field boundary) reads`);
          const file = outcome.value as CaffeModelFile;
          assert.deepEqual(
            file.layers.map((l) => l.name),
            names.slice(0, boundary),
            `cut ${cut}`,
          );
          assert.equal(file.name, 'small');
          resolved++;
          continue;
        }
        const err = outcome.err;
        assert.ok(err instanceof ParseError, `cut ${cut}: expected a ParseError, got ${String(err)}`);
        assert.equal(err.code, 'E_PARSE');
        assert.equal(err.position.file, p);
        const field = fields.find((f) => f.start < cut && cut < f.end);
        assert.ok(field !== undefined);
        if (cut < field.lenEnd) {
          assert.match(err.message, /truncated varint/, `cut ${cut}`);
          assert.equal(offsetOf(err), cut, `cut ${cut}`);
        } else {
          assert.match(err.message, /runs past the end of its message/, `cut ${cut}`);
          assert.equal(offsetOf(err), field.tagEnd, `cut ${cut}: at the length of the cut field`);
        }
      }
      assert.equal(resolved, 3);
    });

    it('random single-byte corruptions: a successful read or a TensorRTNodeError (E_PARSE / E_WEIGHTS), never anything else', async function () {
      this.timeout(20000);
      const full = fs.readFileSync(await writeSmall());
      const p = tmp('corrupt');
      // xorshift32, seeded: the same corruptions every run.
      let x = 0x2545f491;
      const next = (): number => {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        return (x >>>= 0);
      };
      const counts = { ok: 0, E_PARSE: 0, E_WEIGHTS: 0 };
      for (let i = 0; i < 400; i++) {
        const bytes = Buffer.from(full);
        const at = next() % bytes.length;
        const flip = (next() % 255) + 1;
        bytes[at] ^= flip;
        fs.writeFileSync(p, bytes);
        const outcome = await settle(readCaffemodel(p));
        const what = `corruption ${i}: byte ${at} ^= 0x${flip.toString(16)}`;
        if (outcome.err === undefined) {
          counts.ok++;
          // A successful read still holds together: every blob's payload matches its shape.
          for (const l of (outcome.value as CaffeModelFile).layers) {
            for (const b of l.blobs)
              assert.equal(
                b.data.length,
                b.shape.reduce((a, d) => a * d, 1),
                what,
              );
          }
          continue;
        }
        const err = outcome.err;
        assert.ok(err instanceof TensorRTNodeError, `${what}: ${String(err)}`);
        // E_IO would mean an internal error (a thrown TypeError ...) wrapped as an I/O failure.
        assert.ok(err.code === 'E_PARSE' || err.code === 'E_WEIGHTS', `${what}: ${err.code} ${err.message}`);
        counts[err.code]++;
        if (err instanceof ParseError) assert.ok(offsetOf(err) >= 0 && offsetOf(err) <= bytes.length, `${what}: offset`);
      }
      // The mix shows the corruptions reached every outcome (payload bytes flip silently).
      assert.ok(counts.ok > 0 && counts.E_PARSE > 0 && counts.E_WEIGHTS > 0, JSON.stringify(counts));
    });

    it('a length claiming 2^40 bytes: E_PARSE at the length, before any allocation', async () => {
      const net = new WireWriter();
      lenField(net, 1, 'huge');
      net.tag(100, WireType.Len);
      net.uvarint(2 ** 40);
      net.bytes(new Uint8Array(16));
      const p = tmp('huge');
      fs.writeFileSync(p, net.finish());
      const err = await rejection(readCaffemodel(p));
      // Allocation of 2^40 bytes would have thrown a RangeError, surfacing as E_IO.
      assert.ok(err instanceof ParseError, String(err));
      assert.match(err.message, /length 1099511627776 runs past the end of its message \(16 bytes left\)/);
      assert.equal(offsetOf(err), 8, 'name field (6 bytes) + 2-byte tag');

      // The same inside a blob: a float payload of 2^40 bytes in a layer of normal length.
      const blob = new WireWriter();
      blob.tag(5, WireType.Len);
      blob.uvarint(2 ** 40);
      blob.bytes(new Uint8Array(8));
      const layer = new WireWriter();
      lenField(layer, 7, bytesOf(blob));
      const net2 = new WireWriter();
      lenField(net2, 100, bytesOf(layer));
      const p2 = tmp('huge-blob');
      fs.writeFileSync(p2, net2.finish());
      const err2 = await rejection(readCaffemodel(p2));
      assert.ok(err2 instanceof ParseError, String(err2));
      assert.match(err2.message, /length 1099511627776 runs past the end/);
      assert.equal(offsetOf(err2), 3 + 2 + 1, 'layer tag+len (3), blob tag+len (2), payload tag (1)');
    });

    it('a length varint beyond 2^53: E_PARSE', async () => {
      const p = tmp('varint');
      fs.writeFileSync(p, Uint8Array.from([0xa2, 0x06, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]));
      const err = await rejection(readCaffemodel(p));
      assert.ok(err instanceof ParseError);
      assert.match(err.message, /varint too large/);
    });

    it('writeCaffemodel refuses a blob whose data does not fill its shape (RangeError, nothing written)', async () => {
      const p = tmp('count-write');
      await assert.rejects(
        writeCaffemodel(p, header('c'), [
          { param: message('LayerParameter', { name: 'ip', type: 'InnerProduct' }), blobs: [{ shape: [2, 3], data: floats(5, 3) }] },
        ]),
        {
          name: 'RangeError',
          message: 'Expected 6 values for shape [2, 3] for layers[0].blobs[0].data but received an instance of Float32Array',
        },
      );
      assert.equal(fs.existsSync(p), false);
    });

    it('blob shape count vs payload count: E_WEIGHTS naming the layer and blob index', async () => {
      const p = tmp('count');
      // Written by hand: our writer refuses such blobs.
      const conv = new WireWriter();
      lenField(conv, 1, 'conv');
      lenField(conv, 7, blobBytes([2, 2], Array.from(floats(4, 1))));
      const ip = new WireWriter();
      lenField(ip, 1, 'ip');
      lenField(ip, 7, blobBytes([3], Array.from(floats(3, 2))));
      lenField(ip, 7, blobBytes([2, 3], Array.from(floats(5, 3))));
      const net = new WireWriter();
      lenField(net, 100, bytesOf(conv));
      lenField(net, 100, bytesOf(ip));
      fs.writeFileSync(p, net.finish());
      const err = await rejection(readCaffemodel(p));
      assert.ok(err instanceof WeightsError, String(err));
      assert.equal(err.code, 'E_WEIGHTS');
      assert.equal(err.layerName, 'ip');
      assert.equal(err.blobIndex, 1);
      assert.deepEqual(err.expectedShape, [2, 3]);
      assert.deepEqual(err.actualShape, [5]);
      assert.equal(err.message, "weights of layer 'ip', blob 1: shape [2, 3] holds 6 values but the file gives 5");
    });

    it('legacy shape count vs payload count: E_WEIGHTS', async () => {
      const p = tmp('legacy-count');
      // Written by hand: legacy num/channels/height/width = 1, 1, 4, 5 and 19 floats.
      const blob = new WireWriter();
      [1, 1, 4, 5].forEach((d, i) => {
        blob.tag(1 + i, WireType.Varint);
        blob.uvarint(d);
      });
      const payload = new WireWriter();
      for (const v of floats(19, 1)) payload.float32(v);
      lenField(blob, 5, bytesOf(payload));
      const fc = new WireWriter();
      lenField(fc, 1, 'fc');
      lenField(fc, 7, bytesOf(blob));
      const net = new WireWriter();
      lenField(net, 100, bytesOf(fc));
      fs.writeFileSync(p, net.finish());
      const err = await rejection(readCaffemodel(p));
      assert.ok(err instanceof WeightsError);
      assert.equal(err.layerName, 'fc');
      assert.equal(err.blobIndex, 0);
      assert.deepEqual(err.expectedShape, [1, 1, 4, 5]);
      assert.match(err.message, /shape \[1, 1, 4, 5\] holds 20 values but the file gives 19/);
    });

    it('float payload of 7 bytes: E_PARSE at the payload length', async () => {
      const blob = new WireWriter();
      blob.tag(5, WireType.Len);
      blob.uvarint(7);
      blob.bytes(new Uint8Array(7));
      const layer = new WireWriter();
      lenField(layer, 1, 'odd');
      lenField(layer, 7, bytesOf(blob));
      const net = new WireWriter();
      lenField(net, 100, bytesOf(layer));
      const p = tmp('seven');
      fs.writeFileSync(p, net.finish());
      const err = await rejection(readCaffemodel(p));
      assert.ok(err instanceof ParseError, String(err));
      assert.match(err.message, /float payload of 7 bytes is not a whole number of floats/);
      // net tag (2) + len (1) + name (5) + blob tag (1) + len (1) + payload tag (1) = 11
      assert.equal(offsetOf(err), 11);
    });

    it('double payload of 12 bytes: E_PARSE', async () => {
      const blob = new WireWriter();
      blob.tag(8, WireType.Len);
      blob.uvarint(12);
      blob.bytes(new Uint8Array(12));
      const layer = new WireWriter();
      lenField(layer, 7, bytesOf(blob));
      const net = new WireWriter();
      lenField(net, 100, bytesOf(layer));
      const p = tmp('twelve');
      fs.writeFileSync(p, net.finish());
      const err = await rejection(readCaffemodel(p));
      assert.ok(err instanceof ParseError, String(err));
      assert.match(err.message, /double payload of 12 bytes is not a whole number of doubles/);
      assert.equal(offsetOf(err), 6);
    });

    it('negative dimensions (BlobShape or legacy): E_PARSE', async () => {
      const shapeBlob = new WireWriter();
      const dims = new WireWriter();
      dims.svarint(-2);
      const shape = new WireWriter();
      lenField(shape, 1, bytesOf(dims));
      lenField(shapeBlob, 7, bytesOf(shape));
      const legacyBlob = new WireWriter();
      legacyBlob.tag(2, WireType.Varint);
      legacyBlob.svarint(-3);
      for (const [name, blob, pattern] of [
        ['shape', shapeBlob, /negative blob dimension -2/],
        ['legacy', legacyBlob, /negative legacy blob dimension -3/],
      ] as const) {
        const layer = new WireWriter();
        lenField(layer, 7, bytesOf(blob));
        const net = new WireWriter();
        lenField(net, 100, bytesOf(layer));
        const p = tmp(name);
        fs.writeFileSync(p, net.finish());
        const err = await rejection(readCaffemodel(p));
        assert.ok(err instanceof ParseError, `${name}: ${String(err)}`);
        assert.match(err.message, pattern);
      }
    });

    it('a bad field inside a layer parameter: E_PARSE at its offset', async () => {
      // LayerParameter.phase (10, enum Phase) = 7, which Phase does not have, before any blob.
      const layer = new WireWriter();
      lenField(layer, 1, 'L');
      layer.tag(10, WireType.Varint);
      layer.uvarint(7);
      const net = new WireWriter();
      lenField(net, 100, bytesOf(layer));
      const p = tmp('badfield');
      fs.writeFileSync(p, net.finish());
      const err = await rejection(readCaffemodel(p));
      assert.ok(err instanceof ParseError);
      assert.match(err.message, /7 is not a value of Phase \(field 'phase'\)/);
      assert.equal(err.position.file, p);
      // The bad value is at byte 7 (3 bytes of framing, 3 of name, 1 of tag).
      assert.equal(offsetOf(err), 7);
    });

    it('a bad field after a blob is reported at its own offset', async () => {
      const layer = new WireWriter();
      lenField(layer, 1, 'L');
      lenField(layer, 7, blobBytes([1], [1]));
      layer.tag(10, WireType.Varint);
      layer.uvarint(7);
      const net = new WireWriter();
      lenField(net, 100, bytesOf(layer));
      const p = tmp('badfield2');
      fs.writeFileSync(p, net.finish());
      const err = await rejection(readCaffemodel(p));
      assert.ok(err instanceof ParseError);
      // net tag (2) + len (1) + name (3) + blob field (2 + 11) + tag (1) = 20: the bad value.
      assert.equal(offsetOf(err), 20);
    });

    it("a layer parameter field of a Caffe fork that reuses a number with another type is skipped (NVCaffe's forward_type at 145)", async () => {
      // LayerParameter 145 is BVLC's parameter_param (a message); NVCaffe writes forward_type (an enum) there.
      const layer = new WireWriter();
      lenField(layer, 1, 'L');
      lenField(layer, 2, 'ReLU');
      layer.tag(145, WireType.Varint);
      layer.uvarint(1);
      const net = new WireWriter();
      lenField(net, 100, bytesOf(layer));
      const p = tmp('nvcaffe');
      fs.writeFileSync(p, net.finish());
      const model = await readCaffemodel(p);
      assert.deepEqual(
        model.layers.map((l) => [l.name, l.type]),
        [['L', 'ReLU']],
      );
      assert.equal(model.unknownFields, 1);
    });

    it("DeepLab's interp_param (143, BVLC's input_param number) is read as an input_param whose fields are skipped", async () => {
      const interp = new WireWriter();
      for (const [field, value] of [
        [1, 60],
        [2, 60],
        [3, 8],
      ]) {
        interp.tag(field, WireType.Varint);
        interp.uvarint(value);
      }
      const layer = new WireWriter();
      lenField(layer, 1, 'ip');
      lenField(layer, 2, 'Interp');
      lenField(layer, 143, bytesOf(interp));
      const net = new WireWriter();
      lenField(net, 100, bytesOf(layer));
      const p = tmp('deeplab');
      fs.writeFileSync(p, net.finish());
      const model = await readCaffemodel(p);
      assert.deepEqual(
        model.layers.map((l) => [l.name, l.type]),
        [['ip', 'Interp']],
      );
      assert.equal(model.unknownFields, 3);
    });

    it('writeCaffemodel into a missing directory rejects (nothing written)', async () => {
      const p = path.join(dir, 'no', 'such', 'dir', 'm.caffemodel');
      await assert.rejects(writeCaffemodel(p, header('x'), []));
      assert.equal(fs.existsSync(p), false);
    });

    it('writeCaffemodel into a missing directory is IOError E_IO naming the path', async () => {
      const p = path.join(dir, 'no', 'such', 'dir', 'm.caffemodel');
      await assert.rejects(
        writeCaffemodel(p, header('x'), []),
        (err: unknown) => err instanceof IOError && err.code === 'E_IO' && err.path === p,
      );
    });
  });
});
