// TensorRT's calibration cache text format (lib/calibration/cache.ts): files in the layouts that
// TensorRT 5-10 and common tools write, bit-exact scales, round trips, and every parse error.
// Every fixture is written here; expected scales are decoded from their bit patterns with a
// DataView in this file, never by the code under test.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  DEFAULT_TRT_VERSION,
  bitsOfFloat,
  formatCalibrationCache,
  parseCalibrationCache,
  readCalibrationCacheFile,
  writeCalibrationCacheFile,
  type CalibrationCache,
} from '../../lib/calibration/cache';
import { ParseError } from '../../lib/errors';
import { fails } from '../support/helpers';

/** The float32 whose IEEE bit pattern is `hex` (empty means 0), decoded independently. */
function floatOfHex(hex: string): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, hex === '' ? 0 : Number.parseInt(hex, 16) >>> 0, false);
  return view.getFloat32(0, false);
}

/** The bit pattern of a float32 value as an unsigned integer. */
function bitsOf(value: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, value, false);
  return view.getUint32(0, false);
}

/** Asserts that `actual` is the float32 of bit pattern `hex`, bit for bit. */
function assertBits(actual: number | undefined, hex: string, what: string): void {
  assert.ok(actual !== undefined, `${what}: no scale`);
  const expected = floatOfHex(hex);
  assert.ok(Object.is(actual, expected), `${what}: got ${actual}, expected ${expected} (0x${hex})`);
  assert.equal(bitsOf(actual), Number.parseInt(hex === '' ? '0' : hex, 16) >>> 0, `${what}: bit pattern`);
}

/** Expects parseCalibrationCache to throw E_PARSE at `line` with every part in its message. */
function parseFails(text: string, line: number, ...parts: string[]): ParseError {
  let caught: unknown;
  try {
    parseCalibrationCache(text, 'model.calib');
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ParseError, `expected a ParseError, got ${String(caught)}`);
  assert.equal(caught.code, 'E_PARSE');
  assert.equal(caught.position.line, line, caught.message);
  assert.equal(caught.position.file, 'model.calib');
  assert.ok(caught.message.startsWith(`model.calib:${line}:`), caught.message);
  for (const p of parts) assert.ok(caught.message.includes(p), `message ${JSON.stringify(caught.message)} lacks ${JSON.stringify(p)}`);
  return caught;
}

describe('calibration cache: TensorRT text format', () => {
  describe('parsing the layouts TensorRT writes', () => {
    const headers: Array<[string, number, string]> = [
      ['TRT-8601-EntropyCalibration2', 8601, 'EntropyCalibration2'],
      ['TRT-7000-EntropyCalibration', 7000, 'EntropyCalibration'],
      ['TRT-5105-EntropyCalibration', 5105, 'EntropyCalibration'],
      ['TRT-100900-MinMaxCalibration', 100900, 'MinMaxCalibration'],
      ['TRT-8400-LegacyCalibration', 8400, 'LegacyCalibration'],
    ];
    for (const [header, version, algorithm] of headers) {
      it(`reads the header ${header}`, () => {
        const cache = parseCalibrationCache(`${header}\ndata: 3c010a14\nconv1/7x7_s2: 3d021498\n`);
        assert.equal(cache.version, version);
        assert.equal(cache.algorithm, algorithm);
        assert.deepEqual([...cache.scales.keys()], ['data', 'conv1/7x7_s2']);
        assertBits(cache.scales.get('data'), '3c010a14', 'data');
        assertBits(cache.scales.get('conv1/7x7_s2'), '3d021498', 'conv1/7x7_s2');
      });
    }

    it('reads every line form bit-exactly, in file order: brackets and spaces, 0, empty hex, short hex', () => {
      const text = [
        'TRT-8601-EntropyCalibration2',
        'data: 3c010a14',
        '(Unnamed Layer* 12) [Activation]_output: 3d5c9a0e',
        'conv1/7x7_s2: 3d021498',
        'inception_3a/output: 3E8A3D71',
        'zero: 0',
        // Python's hex(0).lstrip('0x') is '': TensorRT-adjacent tools write "name: " for 0.
        'empty: ',
        'short: 1a2b',
        'one: 3f800000',
        'input:0: 3c23d70a',
        '',
      ].join('\n');
      const cache = parseCalibrationCache(text);
      assert.deepEqual(
        [...cache.scales.keys()],
        [
          'data',
          '(Unnamed Layer* 12) [Activation]_output',
          'conv1/7x7_s2',
          'inception_3a/output',
          'zero',
          'empty',
          'short',
          'one',
          'input:0',
        ],
      );
      // A name holding ':' (TensorFlow-style "input:0"): the hex follows the last ':'.
      assertBits(cache.scales.get('input:0'), '3c23d70a', 'input:0');
      assertBits(cache.scales.get('data'), '3c010a14', 'data');
      assertBits(cache.scales.get('(Unnamed Layer* 12) [Activation]_output'), '3d5c9a0e', 'unnamed layer');
      assertBits(cache.scales.get('conv1/7x7_s2'), '3d021498', 'conv1/7x7_s2');
      assertBits(cache.scales.get('inception_3a/output'), '3e8a3d71', 'upper-case hex');
      assertBits(cache.scales.get('zero'), '00000000', 'zero');
      assertBits(cache.scales.get('empty'), '', 'empty hex');
      // 0x00001a2b without leading zeros: a denormal, not 0x1a2b0000.
      assertBits(cache.scales.get('short'), '00001a2b', 'short hex');
      assert.equal(cache.scales.get('short'), 0x1a2b * 2 ** -149);
      assert.equal(cache.scales.get('one'), 1);
      // A spot check of the decoding against a value worked out by hand: 0x3c010a14 = 1.00811... * 2^-7.
      assert.equal(cache.scales.get('data'), (1 + 0x010a14 / 2 ** 23) * 2 ** -7);
    });

    it('reads CRLF line ends, a BOM and trailing blank lines (as text and as bytes)', () => {
      const lf = 'TRT-7000-EntropyCalibration\ndata: 3c010a14\n(Unnamed Layer* 3) [Activation]_output: 3d5c9a0e\n';
      const crlf = `\uFEFF${lf.replace(/\n/g, '\r\n')}\r\n\r\n`;
      const expected = parseCalibrationCache(lf);
      for (const input of [crlf, new Uint8Array(Buffer.from(crlf, 'utf8'))]) {
        const cache = parseCalibrationCache(input);
        assert.equal(cache.version, 7000);
        assert.equal(cache.algorithm, 'EntropyCalibration');
        assert.deepEqual([...cache.scales.entries()], [...expected.scales.entries()]);
        assertBits(cache.scales.get('(Unnamed Layer* 3) [Activation]_output'), '3d5c9a0e', 'CRLF line');
      }
      // The BOM is really there in the bytes form: EF BB BF.
      assert.deepEqual([...Buffer.from(crlf, 'utf8').subarray(0, 3)], [0xef, 0xbb, 0xbf]);
    });

    it('reads a file without a final newline and a header-only file', () => {
      assertBits(parseCalibrationCache('TRT-8601-EntropyCalibration2\ndata: 3c010a14').scales.get('data'), '3c010a14', 'no final newline');
      const empty = parseCalibrationCache('TRT-8601-MinMaxCalibration\n');
      assert.equal(empty.scales.size, 0);
      assert.equal(empty.algorithm, 'MinMaxCalibration');
    });
  });

  describe('writing and round trips', () => {
    it('formatCalibrationCache(parse(x)) === x for a file in our layout', () => {
      const x = [
        `TRT-${DEFAULT_TRT_VERSION}-EntropyCalibration2`,
        'data: 3c010a14',
        '(Unnamed Layer* 12) [Activation]_output: 3d5c9a0e',
        'conv1/7x7_s2: 3d021498',
        'zero: 00000000',
        'tiny: 00000001',
        '',
      ].join('\n');
      assert.equal(formatCalibrationCache(parseCalibrationCache(x)), x);
      assert.equal(DEFAULT_TRT_VERSION, 100900);
    });

    it('writes lower-case 8-digit hex, one "name: hex" line per tensor, LF, a final newline', () => {
      const text = formatCalibrationCache({
        version: 8601,
        algorithm: 'MinMaxCalibration',
        scales: new Map([
          ['a b', 1],
          ['c', 2 ** -149],
        ]),
      });
      assert.equal(text, 'TRT-8601-MinMaxCalibration\na b: 3f800000\nc: 00000001\n');
      assert.equal(bitsOfFloat(floatOfHex('3d5c9a0e')), '3d5c9a0e');
    });

    // TensorRT reads only its own algorithms' caches; ours carry a header TensorRT cannot mistake
    // for one of them, and old files with the TRT- header still read.
    it('a cache of an algorithm TensorRT lacks (percentile) gets our header TRTN-<Algorithm>, which reads back', () => {
      const scales = new Map([['data', Math.fround(1 / 127)]]);
      const text = formatCalibrationCache({ version: 8601, algorithm: 'PercentileCalibration', scales });
      assert.equal(text, 'TRTN-PercentileCalibration\ndata: 3c010204\n');
      const back = parseCalibrationCache(text);
      assert.equal(back.algorithm, 'PercentileCalibration');
      assert.equal(back.version, 0, 'no TensorRT version: TensorRT does not read this cache');
      assert.deepEqual([...back.scales], [...scales]);
      const old = parseCalibrationCache('TRT-100900-PercentileCalibration\ndata: 3c010204\n');
      assert.equal(old.algorithm, 'PercentileCalibration');
      assert.equal(old.version, 100900);
      for (const algorithm of ['EntropyCalibration2', 'EntropyCalibration', 'MinMaxCalibration', 'LegacyCalibration']) {
        assert.ok(formatCalibrationCache({ version: 8601, algorithm, scales }).startsWith(`TRT-8601-${algorithm}\n`), algorithm);
      }
    });

    it('parse(format(c)) keeps every scale bit-exact: denormals, 1/127, extremes and 2000 random patterns', () => {
      const values = [
        0,
        2 ** -149,
        0x007fffff * 2 ** -149,
        2 ** -126,
        Math.fround(1 / 127),
        Math.fround(0.1),
        1,
        Math.fround(Math.PI),
        floatOfHex('7f7fffff'),
        floatOfHex('3c010a14'),
      ];
      let x = 0x9e3779b9;
      for (let i = 0; i < 2000; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        x >>>= 0;
        values.push(floatOfHex(((x % 0x7f800000) >>> 0).toString(16))); // every finite non-negative pattern is fair
      }
      const scales = new Map(values.map((v, i) => [`t${i}`, v]));
      const back = parseCalibrationCache(formatCalibrationCache({ version: 8601, algorithm: 'EntropyCalibration2', scales }));
      assert.equal(back.scales.size, scales.size);
      for (const [name, v] of scales) {
        const got = back.scales.get(name) as number;
        assert.ok(Object.is(got, v), `${name}: ${v} came back as ${got}`);
      }
      assert.equal(back.version, 8601);
      assert.equal(back.algorithm, 'EntropyCalibration2');
    });

    it('a double that is not a float32 (1/127 itself) is written as its nearest float32', () => {
      const back = parseCalibrationCache(
        formatCalibrationCache({ version: 1, algorithm: 'MinMaxCalibration', scales: new Map([['s', 1 / 127]]) }),
      );
      assert.ok(Object.is(back.scales.get('s'), Math.fround(1 / 127)));
    });

    it('refuses to write what it could not read back (RangeError in the package form)', () => {
      const bad: Array<[string, number]> = [
        ['x', NaN],
        ['x', Infinity],
        ['x', -1],
        ['a\nb', 1],
        ['', 1],
        [' x', 1],
      ];
      for (const [name, scale] of bad) {
        assert.throws(
          () => formatCalibrationCache({ version: 1, algorithm: 'MinMaxCalibration', scales: new Map([[name, scale]]) }),
          (e: Error) => e instanceof RangeError && /^Expected .+ for cache\.scales/.test(e.message),
          `${JSON.stringify(name)}: ${scale}`,
        );
      }
    });

    it('writeCalibrationCacheFile and readCalibrationCacheFile round-trip; a missing file is E_IO', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-cache-'));
      try {
        const file = path.join(dir, 'model.calib');
        const cache: CalibrationCache = {
          version: 8601,
          algorithm: 'EntropyCalibration2',
          scales: new Map([
            ['data', Math.fround(1 / 127)],
            ['conv1', 0.5],
          ]),
        };
        await writeCalibrationCacheFile(file, cache);
        assert.equal(fs.readFileSync(file, 'utf8'), formatCalibrationCache(cache));
        const back = await readCalibrationCacheFile(file);
        assert.deepEqual([...back.scales], [...cache.scales]);
        await fails(readCalibrationCacheFile(path.join(dir, 'missing.calib')), 'E_IO', 'missing.calib');
        await fails(writeCalibrationCacheFile(path.join(dir, 'no', 'such', 'dir.calib'), cache), 'E_IO', 'dir.calib');
        fs.writeFileSync(path.join(dir, 'bad.calib'), 'TRT-8601-EntropyCalibration2\ndata 3c010a14\n');
        const err = await fails(readCalibrationCacheFile(path.join(dir, 'bad.calib')), 'E_PARSE', `${path.join(dir, 'bad.calib')}:2:`);
        assert.ok(err instanceof ParseError);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('parse errors: E_PARSE with the line', () => {
    it('no header: an empty file, a file starting with a tensor line', () => {
      parseFails('', 1, 'not a TensorRT calibration cache');
      parseFails('data: 3c010a14\n', 1, 'not a TensorRT calibration cache', "found 'data: 3c010a14'");
      parseFails('\nTRT-8601-EntropyCalibration2\ndata: 3c010a14\n', 1, 'not a TensorRT calibration cache');
    });

    it('bad headers', () => {
      for (const h of [
        'TRT-8601',
        'TRT-8601-',
        'TRT--EntropyCalibration2',
        'TRT-x86-EntropyCalibration2',
        'trt-8601-EntropyCalibration2',
        'TRT-8601-Entropy Calibration2',
        'TRT8601EntropyCalibration2',
        'TRTN-',
        'TRTN-8601-',
        'TRTN-Percentile Calibration',
      ]) {
        parseFails(`${h}\ndata: 3c010a14\n`, 1, 'TRT-8601-EntropyCalibration2');
      }
    });

    it('a line without ":" (line counted across CRLF and blank lines)', () => {
      parseFails('TRT-8601-EntropyCalibration2\ndata: 3c010a14\nconv1 3d021498\n', 3, "found 'conv1 3d021498'");
      parseFails('TRT-8601-EntropyCalibration2\r\ndata: 3c010a14\r\n\r\nconv1 3d021498\r\n', 4, 'conv1 3d021498');
      parseFails('TRT-8601-EntropyCalibration2\n: 3c010a14\n', 2);
    });

    it('hex longer than 8 digits, or not hex', () => {
      parseFails('TRT-8601-EntropyCalibration2\ndata: 3c010a140\n', 2, "'data'", '3c010a140');
      parseFails('TRT-8601-EntropyCalibration2\ndata: 3c010a14\nconv1: 3d02zz98\n', 3, "'conv1'", '3d02zz98');
      parseFails('TRT-8601-EntropyCalibration2\ndata: -3c010a14\n', 2, "'data'");
      parseFails('TRT-8601-EntropyCalibration2\ndata: 1.5\n', 2, "'data'");
    });

    it('NaN, infinite and negative scale bit patterns', () => {
      parseFails('TRT-8601-EntropyCalibration2\ndata: 7fc00000\n', 2, "'data'", 'NaN', '7fc00000');
      parseFails('TRT-8601-EntropyCalibration2\ndata: 3c010a14\nconv1: 7f800000\n', 3, "'conv1'", 'Infinity', '7f800000');
      parseFails('TRT-8601-EntropyCalibration2\ndata: bf800000\n', 2, "'data'", '-1', 'bf800000');
      parseFails('TRT-8601-EntropyCalibration2\ndata: ff800000\n', 2, "'data'");
      parseFails('TRT-8601-EntropyCalibration2\ndata: 7f800001\n', 2, "'data'", 'NaN');
    });

    it('a tensor twice names both lines', () => {
      parseFails(
        'TRT-8601-EntropyCalibration2\ndata: 3c010a14\nconv1: 3d021498\ndata: 3c010a14\n',
        4,
        "'data' appears twice (first on line 2)",
      );
    });

    it('the file name given appears in the message; the default is <calibration cache>', () => {
      assert.throws(
        () => parseCalibrationCache('nonsense'),
        (e: Error) => e instanceof ParseError && e.message.startsWith('<calibration cache>:1:1:'),
      );
    });
  });
});
