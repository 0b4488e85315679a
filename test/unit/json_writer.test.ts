/**
 * The native JSON writer (native/core/json.h, json::Writer) that plan sections, engine details and
 * the tensorrt call plan are written with: a g++-built harness (test/native/json_writer_main.cc)
 * writes a document with every kind of value, and JSON.parse must read back exactly what was
 * written: escaped quotes, backslashes and control characters, UTF-8 text, integers at the int64
 * and uint64 limits, doubles in their shortest round-trip form. Non-finite numbers and misuse are
 * refused with E_INTERNAL, never an abort. No GPU or addon is needed.
 */
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const SOURCES = ['test/native/json_writer_main.cc', 'native/core/json.cc', 'native/core/build_info.cc', 'native/core/op_kind.cc'];

interface Doc {
  strings: string[];
  ints: number[];
  doubles: number[];
  float: number;
  bools: boolean[];
  null: null;
  emptyObject: Record<string, never>;
  emptyArray: never[];
  nested: unknown[];
  [key: string]: unknown;
}
interface Refusal {
  code: string;
  message: string;
  text: string;
}
interface Output {
  status: string;
  docText: string;
  doc: Doc;
  doubleTexts: string[];
  refused: Refusal[];
  reparsed: boolean;
}

describe('native JSON writer (g++ harness)', function () {
  let out: Output;
  let stdout = '';

  before(function () {
    this.timeout(120000);
    const gxx = spawnSync('g++', ['--version']);
    if (gxx.error !== undefined || gxx.status !== 0) {
      console.log('    (skipped: g++ is not installed, so the JSON writer harness cannot be built)');
      this.skip();
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-json-writer-'));
    try {
      const harness = path.join(dir, 'json_writer');
      const built = spawnSync(
        'g++',
        ['-std=c++17', '-O1', '-Wall', '-Wextra', '-Werror', '-Inative', '-DNAPI_VERSION=8', '-o', harness, ...SOURCES],
        { cwd: ROOT, encoding: 'utf8' },
      );
      assert.equal(built.status, 0, `g++ failed:\n${built.stderr}`);
      const r = spawnSync(harness, [], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      stdout = r.stdout;
      out = JSON.parse(stdout) as Output;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes a complete document that JSON.parse and json::parse both read back', () => {
    assert.equal(out.status, 'OK');
    assert.deepEqual(JSON.parse(out.docText), out.doc);
    assert.equal(out.reparsed, true);
    assert.doesNotMatch(out.docText.replace(/"(?:[^"\\]|\\.)*"/g, '""'), /\s/, 'compact: no whitespace outside strings');
  });

  it('escapes quotes, backslashes and control characters, and passes UTF-8 through', () => {
    assert.deepEqual(out.doc.strings, [
      'plain',
      'a "quoted" word',
      'back\\slash and /slash',
      'newline\n return\r tab\t',
      'nul\u0000byte',
      '\u0001\u0008\u000c\u001b\u001f',
      '\u007f delete stays',
      'unicode: é 日本 😀',
    ]);
    assert.ok(out.docText.includes('"a \\"quoted\\" word"'));
    assert.ok(out.docText.includes('"back\\\\slash and /slash"'));
    assert.ok(out.docText.includes('"newline\\n return\\r tab\\t"'));
    assert.ok(out.docText.includes('"nul\\u0000byte"'));
    assert.ok(out.docText.includes('"\\u0001\\u0008\\u000c\\u001b\\u001f"'));
    assert.ok(out.docText.includes('unicode: é 日本 😀'), 'UTF-8 is written as it is, not escaped');
    assert.equal(out.doc['key "with" \\ escapes\n'], 'value', 'keys are escaped like strings');
  });

  it('writes integers exactly, int64 and uint64 limits included', () => {
    assert.ok(out.docText.includes('"ints":[0,-1,9223372036854775807,-9223372036854775808,18446744073709551615,4096,-128]'));
  });

  it('writes doubles in the shortest form that reads back as the same double', () => {
    assert.deepEqual(out.doubleTexts, [
      '0.1',
      '0.3333333333333333',
      '0.30000000000000004',
      '-0',
      '1e-300',
      '5e-324',
      '1.7976931348623157e+308',
      '1e+21',
      '1e-07',
      '123456789.125',
      '9007199254740994',
      '-2.5',
      '3',
    ]);
    const expected = [0.1, 1 / 3, 0.1 + 0.2, -0, 1e-300, 5e-324, Number.MAX_VALUE, 1e21, 1e-7, 123456789.125, 2 ** 53 + 2, -2.5, 3];
    assert.equal(out.doc.doubles.length, expected.length);
    out.doc.doubles.forEach((d, i) => assert.ok(Object.is(d, expected[i]), `double ${i}: ${d} is not ${expected[i]}`));
    assert.equal(out.doc.float, Math.fround(0.1), 'a float is written as the double it widens to');
  });

  it('writes booleans, null, empty and nested containers', () => {
    assert.deepEqual(out.doc.bools, [true, false]);
    assert.equal(out.doc.null, null);
    assert.deepEqual(out.doc.emptyObject, {});
    assert.deepEqual(out.doc.emptyArray, []);
    assert.deepEqual(out.doc.nested, [{ a: [1, [2]] }, []]);
  });

  it('refuses NaN and infinities: null in their place and E_INTERNAL naming them', () => {
    const [nan, inf, negInf] = out.refused;
    for (const [r, name] of [
      [nan, 'NaN'],
      [inf, 'Infinity'],
      [negInf, '-Infinity'],
    ] as const) {
      assert.equal(r.code, 'E_INTERNAL');
      assert.match(r.message, new RegExp(`non-finite number ${name} `));
    }
    assert.equal(nan.text, '[null]');
    assert.equal(inf.text, '[null]');
    assert.equal(negInf.text, '{"v":null}');
  });

  it('reports misuse as E_INTERNAL instead of writing broken JSON or aborting', () => {
    const misuse = out.refused.slice(3);
    assert.deepEqual(
      misuse.map((r) => r.code),
      misuse.map(() => 'E_INTERNAL'),
    );
    assert.match(misuse[0].message, /key 'k' outside an object/);
    assert.match(misuse[1].message, /a value in an object without a key/);
    assert.match(misuse[2].message, /end_array without an open array/);
    assert.match(misuse[3].message, /not one complete value/);
    assert.match(misuse[4].message, /a second top-level value/);
    assert.match(misuse[5].message, /end_object without an open object/);
    assert.ok(stdout.endsWith('\n'));
  });
});
