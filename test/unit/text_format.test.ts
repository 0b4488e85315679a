/**
 * Tests of lib/caffe/text_format.ts (the protobuf text-format reader) and of the text entry points
 * of lib/caffe/index.ts (parsePrototxt / readPrototxt) for what they reject before any upgrade.
 * Every error case asserts the code, the 1-based line and column, and a fragment of the message.
 */
import { strict as assert } from 'assert';
import { locate } from '../support/helpers';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { caffeSchema, parsePrototxt, readPrototxt } from '../../lib/caffe';
import { Message } from '../../lib/caffe/message';
import { Schema } from '../../lib/caffe/schema';
import { parseTextFormat, type TextParseOptions, type TextParseResult } from '../../lib/caffe/text_format';
import { IOError, ParseError, TensorRTNodeError } from '../../lib/errors';

const FILE = 'test.prototxt';
const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'prototxt');

/** Parses `src` with Caffe's schema as `rootType` (NetParameter by default), file name FILE. */
function parse(src: string, rootType = 'NetParameter', options: TextParseOptions = {}): TextParseResult {
  return parseTextFormat(caffeSchema, rootType, src, { file: FILE, ...options });
}

/** The parsed NetParameter of `src`. */
function net(src: string): Message {
  return parse(src).message;
}

/** The first `layer` of the NetParameter in `src`. */
function firstLayer(src: string): Message {
  const layers = net(src).msgs('layer');
  assert.ok(layers.length > 0, 'expected at least one layer');
  return layers[0];
}

/** Runs `fn`, which must throw a ParseError (E_PARSE); returns it. */
function parseError(fn: () => unknown): ParseError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ParseError, `expected a ParseError, got ${String(err)}`);
    assert.ok(err instanceof TensorRTNodeError, 'ParseError must be a TensorRTNodeError');
    assert.equal(err.code, 'E_PARSE');
    assert.equal(err.name, 'ParseError');
    return err;
  }
  return assert.fail('expected a ParseError, but nothing was thrown');
}

/**
 * Asserts that `fn` throws E_PARSE at `at` (file defaults to FILE), that the message starts with
 * `file:line:col: ` and contains every fragment, and (when given) that `.token` is `token`.
 */
function expectParseError(
  fn: () => unknown,
  at: { line: number; col: number; file?: string },
  fragments: readonly string[],
  token?: string,
): ParseError {
  const err = parseError(fn);
  const file = at.file ?? FILE;
  assert.deepEqual({ ...err.position }, { file, line: at.line, col: at.col }, `position of: ${err.message}`);
  assert.ok(err.message.startsWith(`${file}:${at.line}:${at.col}: `), `message lacks its location: ${err.message}`);
  for (const f of fragments) {
    assert.ok(err.message.includes(f), `message ${JSON.stringify(err.message)} lacks ${JSON.stringify(f)}`);
  }
  if (token !== undefined) assert.equal(err.token, token);
  return err;
}

describe('text format: syntax that parses', () => {
  it('skips full-line # comments', () => {
    const src = '# a comment at the top\nname: "n"\n   # an indented comment with "quotes" and { braces\ninput: "data"\n#last';
    const m = net(src);
    assert.equal(m.str('name'), 'n');
    assert.deepEqual(m.strs('input'), ['data']);
    assert.deepEqual(m.presentFields(), ['name', 'input']);
  });

  it('skips trailing # comments, but not a # inside a quoted string', () => {
    const src = 'name: "a#b"  # the name\nlayer { # open\n  type: "ReLU" # type\n} # close';
    const m = net(src);
    assert.equal(m.str('name'), 'a#b');
    assert.equal(m.msgs('layer').length, 1);
    assert.equal(m.msgs('layer')[0].str('type'), 'ReLU');
  });

  it('reads field: value', () => {
    const m = net('name: "lenet"\nforce_backward: true\ninput_dim: 4');
    assert.equal(m.str('name'), 'lenet');
    assert.equal(m.bool('force_backward'), true);
    assert.deepEqual(m.nums('input_dim'), [4]);
    assert.equal(m.locOf('force_backward')?.line, 2);
  });

  it('reads a message field as field { }, including an empty block', () => {
    const m = net('layer { name: "a" type: "ReLU" }\nlayer { }\nstate {}');
    const layers = m.msgs('layer');
    assert.equal(layers.length, 2);
    assert.equal(layers[0].str('name'), 'a');
    assert.equal(layers[0].str('type'), 'ReLU');
    assert.deepEqual(layers[1].presentFields(), []);
    assert.equal(m.has('state'), true, 'an empty block still sets the field');
  });

  it('reads a message field as field: { }', () => {
    const l = firstLayer('layer: { name: "c" convolution_param: { num_output: 8 } }');
    assert.equal(l.str('name'), 'c');
    assert.equal(l.sub('convolution_param').num('num_output'), 8);
  });

  it('reads a message field as field < > and field: < >', () => {
    const m = net('state < phase: TRAIN >\nlayer: < name: "x" pooling_param < pool: AVE > >');
    assert.equal(m.sub('state').str('phase'), 'TRAIN');
    assert.equal(m.msgs('layer')[0].str('name'), 'x');
    assert.equal(m.msgs('layer')[0].sub('pooling_param').str('pool'), 'AVE');
  });

  it('decodes every simple escape in double-quoted strings', () => {
    const m = net(String.raw`name: "[\n][\t][\r][\\][\'][\"][\?][\a][\b][\f][\v] it's"`);
    assert.equal(m.str('name'), "[\n][\t][\r][\\]['][\"][?][\x07][\x08][\x0c][\x0b] it's");
  });

  it('decodes every simple escape in single-quoted strings', () => {
    const m = net(String.raw`name: '[\n][\t][\r][\\][\'][\"][\?][\a][\b][\f][\v] say "hi"'`);
    assert.equal(m.str('name'), '[\n][\t][\r][\\][\']["][?][\x07][\x08][\x0c][\x0b] say "hi"');
  });

  it('decodes octal (\\101), hex (\\x41) and unicode (\\u00e9) escapes to bytes and UTF-8', () => {
    // Datum.data is a bytes field: the decoded bytes are visible as they are.
    const datum = parse(String.raw`data: "\101\x41\u00e9\0\377\x7\1012"`, 'Datum').message;
    const bytes = datum.raw('data');
    assert.ok(bytes instanceof Uint8Array);
    // \1012 is octal 101 ('A') followed by the plain character '2'.
    assert.deepEqual([...bytes], [0x41, 0x41, 0xc3, 0xa9, 0x00, 0xff, 0x07, 0x41, 0x32]);
    // A string field holds the UTF-8 decoding.
    assert.equal(net(String.raw`name: 'x\101\x42\u00e9\U0001F600'`).str('name'), 'xABé\u{1F600}');
    // Raw (unescaped) UTF-8 passes through.
    assert.equal(net('name: "日本 é"').str('name'), '日本 é');
  });

  it('concatenates adjacent strings, across quote styles and lines', () => {
    const m = net('name: "ab" \'cd\'\n   "ef" # more\n  "g"\ninput: ["x" "y", \'z\']');
    assert.equal(m.str('name'), 'abcdefg');
    assert.deepEqual(m.strs('input'), ['xy', 'z']);
  });

  it('reads decimal, hex (0x1F) and octal (017) integers', () => {
    const m = net('input_dim: 42\ninput_dim: 0x1F\ninput_dim: 0X1f\ninput_dim: 017\ninput_dim: 0\ninput_dim: 00');
    assert.deepEqual(m.nums('input_dim'), [42, 31, 31, 15, 0, 0]);
    const shape = parse('dim: 0x10 dim: 010 dim: 10', 'BlobShape').message;
    assert.deepEqual(shape.nums('dim'), [16, 8, 10]);
  });

  it('reads floats with exponents, leading or trailing dots and an f suffix', () => {
    // double_data is a double field: exact values.
    const blob = firstLayer(
      'layer { blobs { double_data: 1e-4 double_data: 1.5E+3 double_data: .5 double_data: 5. ' +
        'double_data: 1.0f double_data: 2.5F double_data: 3 double_data: 7E2 double_data: 1e+0 } }',
    ).msgs('blobs')[0];
    assert.deepEqual(blob.nums('double_data'), [1e-4, 1500, 0.5, 5, 1, 2.5, 3, 700, 1]);
    // loss_weight is a float field: the same literals, rounded to float32.
    const l = firstLayer('layer { loss_weight: 1e-4 loss_weight: 1.5E+3 loss_weight: .5 loss_weight: 5. loss_weight: 1.0f }');
    assert.deepEqual(l.nums('loss_weight'), [Math.fround(1e-4), 1500, 0.5, 5, 1]);
  });

  it('reads negative integers and floats', () => {
    const m = net('input_dim: -5\ninput_dim: -0x10\ninput_dim: +7\nlayer { loss_weight: -0.25 loss_weight: -1e3 loss_weight: -.5 }');
    assert.deepEqual(m.nums('input_dim'), [-5, -16, 7]);
    assert.deepEqual(m.msgs('layer')[0].nums('loss_weight'), [-0.25, -1000, -0.5]);
    assert.equal(parse('sparse: -1', 'FillerParameter').message.num('sparse'), -1);
  });

  it('reads infinity, -infinity and nan (any case) for float and double fields', () => {
    const l = firstLayer(
      'layer { loss_weight: infinity loss_weight: -infinity loss_weight: Infinity ' +
        'loss_weight: nan loss_weight: -nan loss_weight: NaN blobs { double_data: -Infinity double_data: nan } }',
    );
    const w = l.nums('loss_weight');
    assert.deepEqual(w.slice(0, 3), [Infinity, -Infinity, Infinity]);
    assert.ok(
      w.slice(3).every((v) => Number.isNaN(v)),
      `expected NaNs, got ${w.slice(3)}`,
    );
    const d = l.msgs('blobs')[0].nums('double_data');
    assert.equal(d[0], -Infinity);
    assert.ok(Number.isNaN(d[1]));
  });

  // Regression: inf / -inf / +inf / INF once failed because the f suffix was stripped first.
  it('reads inf, -inf, +inf and INF for float fields', () => {
    const l = firstLayer('layer { loss_weight: inf loss_weight: -inf loss_weight: +inf loss_weight: INF }');
    assert.deepEqual(l.nums('loss_weight'), [Infinity, -Infinity, Infinity, Infinity]);
    const d = firstLayer('layer { blobs { double_data: -inf } }').msgs('blobs')[0].nums('double_data');
    assert.deepEqual(d, [-Infinity]);
  });

  it('rounds float fields to float32 (Math.fround) and keeps double fields exact', () => {
    const l = firstLayer('layer { loss_weight: 0.1 loss_weight: 16777217 blobs { double_data: 0.1 } }');
    const [tenth, big] = l.nums('loss_weight');
    assert.equal(tenth, Math.fround(0.1));
    assert.notEqual(tenth, 0.1);
    assert.equal(big, 16777216, '2^24 + 1 is not a float32');
    assert.deepEqual(l.msgs('blobs')[0].nums('double_data'), [0.1]);
    assert.equal(parse('std: 0.01', 'FillerParameter').message.num('std'), Math.fround(0.01));
  });

  // Regression: octal (and hex) literals in float fields follow the integer rules (017 is 15), as in protobuf.
  it('reads an octal literal in a float field as octal, like in an integer field', () => {
    const l = firstLayer('layer { loss_weight: 017 loss_weight: -010 }');
    assert.deepEqual(l.nums('loss_weight'), [15, -8]);
  });

  it('reads enum values by name and by number', () => {
    const m = net(
      'state { phase: TRAIN }\nlayer { pooling_param { pool: AVE round_mode: 1 } phase: 1 }\n' + 'layer { pooling_param { pool: 2 } }',
    );
    assert.equal(m.sub('state').str('phase'), 'TRAIN');
    const [a, b] = m.msgs('layer');
    assert.equal(a.sub('pooling_param').str('pool'), 'AVE');
    assert.equal(a.sub('pooling_param').str('round_mode'), 'FLOOR');
    assert.equal(a.str('phase'), 'TEST');
    assert.equal(b.sub('pooling_param').str('pool'), 'STOCHASTIC');
    // Enums without a declared zero value, by number.
    assert.equal(parse('norm: 2', 'HingeLossParameter').message.str('norm'), 'L2');
  });

  it('reads booleans true/false/True/False/t/f/1/0', () => {
    const l = firstLayer(
      'layer { propagate_down: true propagate_down: false propagate_down: True propagate_down: False ' +
        'propagate_down: t propagate_down: f propagate_down: 1 propagate_down: 0 }',
    );
    assert.deepEqual(l.raw('propagate_down'), [true, false, true, false, true, false, true, false]);
    assert.equal(net('force_backward: False').bool('force_backward'), false);
    assert.equal(net('force_backward: 1').bool('force_backward'), true);
  });

  it('reads a repeated field given line by line, in order', () => {
    const l = firstLayer('layer {\n  bottom: "a"\n  top: "c"\n  bottom: "b"\n  bottom: "a"\n}');
    assert.deepEqual(l.strs('bottom'), ['a', 'b', 'a']);
    assert.deepEqual(l.strs('top'), ['c']);
  });

  it('reads a repeated field given as [a, b, c], and appends lists and lines in order', () => {
    const m = net(
      'input_dim: [1, 3, 0x10, 224]\ninput: ["a", \'b\', "c"]\n' +
        'layer { loss_weight: [0.5, 1, -2] propagate_down: [true, f, 1] }\n' +
        'layers { blob_share_mode: [STRICT, 1] }\n' +
        'input_dim: 9\ninput_dim: [8]',
    );
    assert.deepEqual(m.nums('input_dim'), [1, 3, 16, 224, 9, 8]);
    assert.deepEqual(m.strs('input'), ['a', 'b', 'c']);
    assert.deepEqual(m.msgs('layer')[0].nums('loss_weight'), [0.5, 1, -2]);
    assert.deepEqual(m.msgs('layer')[0].raw('propagate_down'), [true, false, true]);
    assert.deepEqual(m.msgs('layers')[0].strs('blob_share_mode'), ['STRICT', 'PERMISSIVE']);
  });

  it('reads an empty list [] as no values', () => {
    const m = net('input_dim: []\ninput: [ ]\ninput: "x"');
    assert.equal(m.has('input_dim'), false);
    assert.deepEqual(m.nums('input_dim'), []);
    assert.deepEqual(m.strs('input'), ['x']);
  });

  // Regression: the list form of a repeated message field (`layer: [{ ... }, { ... }]`), as protobuf accepts.
  it('reads a repeated message field given as a list of blocks', () => {
    const m = net('layer: [{ name: "a" }, { name: "b" }]\nlayer [ < name: "c" > ]');
    assert.deepEqual(
      m.msgs('layer').map((l) => l.str('name')),
      ['a', 'b', 'c'],
    );
  });

  it('accepts optional , and ; separators after fields and blocks', () => {
    const m = net(
      'name: "n", input: "a"; input: "b"\nlayer { name: "x"; type: "ReLU", bottom: "a", }, layer { };\n' +
        'state { phase: TRAIN; level: 2, };',
    );
    assert.equal(m.str('name'), 'n');
    assert.deepEqual(m.strs('input'), ['a', 'b']);
    const layers = m.msgs('layer');
    assert.equal(layers.length, 2);
    assert.equal(layers[0].str('type'), 'ReLU');
    assert.deepEqual(layers[0].strs('bottom'), ['a']);
    assert.equal(m.sub('state').num('level'), 2);
  });

  it('reads CRLF line ends and still reports the right line and column', () => {
    const lines = ['# crlf file', 'name: "n"', 'layer {', '  name: "a" # comment', '  bottom: "x"', '}'];
    const m = net(lines.join('\r\n') + '\r\n');
    assert.equal(m.str('name'), 'n');
    assert.equal(m.msgs('layer')[0].str('name'), 'a', 'no \\r in values');
    assert.deepEqual(m.msgs('layer')[0].strs('bottom'), ['x']);
    assert.equal(m.msgs('layer')[0].loc?.line, 3);
    const bad = ['name: "n"', 'layer {', '  name: "a"', '  kernel_size: 3', '}'].join('\r\n');
    expectParseError(() => net(bad), { line: 4, col: 3 }, ["unknown field 'kernel_size' in LayerParameter"], 'kernel_size');
  });

  it('treats tabs as spaces, one column each', () => {
    const m = net('\tname:\t"t"\nlayer\t{\n\t\ttype:\t"ReLU"\t# c\n\t}\n');
    assert.equal(m.str('name'), 't');
    assert.equal(m.msgs('layer')[0].str('type'), 'ReLU');
    const bad = 'layer {\n\t\tname\t"x"\n}';
    expectParseError(() => net(bad), { line: 2, col: 8 }, ["field 'name' needs ':'"], '"x"');
  });

  it('reads input without a trailing newline (ending in a number, a string, a block or a comment)', () => {
    assert.deepEqual(net('input_dim: 5').nums('input_dim'), [5]);
    assert.equal(net('name: "a"').str('name'), 'a');
    assert.equal(net('layer { name: "b" }').msgs('layer')[0].str('name'), 'b');
    assert.equal(net('name: "c" # end').str('name'), 'c');
    assert.equal(net('layer { loss_weight: 1.5 }').msgs('layer')[0].nums('loss_weight')[0], 1.5);
  });

  it('reads a field name, its : and its { on separate lines', () => {
    const src = 'layer\n{\n  name: "a"\n  convolution_param\n  {\n    num_output\n    :\n    3\n  }\n}\nname\n:\n"n"\n';
    const m = net(src);
    const l = m.msgs('layer')[0];
    assert.equal(l.str('name'), 'a');
    assert.equal(l.sub('convolution_param').num('num_output'), 3);
    assert.equal(m.str('name'), 'n');
    assert.deepEqual({ line: l.loc?.line, col: l.loc?.col }, { line: 1, col: 1 });
  });

  it('ignores a UTF-8 byte-order mark at the start (not part of the first token or column)', () => {
    assert.equal(net('\uFEFFname: "a"').str('name'), 'a');
    assert.equal(net('\uFEFF# comment\nname: "b"').str('name'), 'b');
    expectParseError(() => net('\uFEFFbogus: 1'), { line: 1, col: 1 }, ["unknown field 'bogus'"], 'bogus');
    assert.equal(parsePrototxt('\uFEFFname: "c"\nlayer { name: "x" type: "ReLU" }').net.str('name'), 'c');
  });

  it('reads nested messages up to 100 levels (Caffe nesting, a recursive schema) and rejects deeper ones', () => {
    const l = firstLayer(
      'layer { blobs { shape { dim: 1 dim: 2 } data: [0.5, 1] } ' +
        'convolution_param { weight_filler { type: "gaussian" std: 0.01 variance_norm: AVERAGE } } }',
    );
    assert.deepEqual(l.msgs('blobs')[0].sub('shape').nums('dim'), [1, 2]);
    assert.equal(l.sub('convolution_param').sub('weight_filler').str('variance_norm'), 'AVERAGE');
    const v0 = net('layers { layer { name: "c" weight_filler { type: "xavier" } blobs { shape { dim: 3 } } } }');
    assert.deepEqual(v0.msgs('layers')[0].sub('layer').msgs('blobs')[0].sub('shape').nums('dim'), [3]);

    const schema = new Schema({
      enums: {},
      messages: {
        Node: [
          ['child', 1, 'Node'],
          ['value', 2, 'int32'],
        ],
      },
    });
    const depth = 100;
    const src = 'child {\n'.repeat(depth) + 'value: 7\n' + '}\n'.repeat(depth);
    let m = parseTextFormat(schema, 'Node', src, { file: FILE }).message;
    let levels = 0;
    while (m.has('child')) {
      m = m.sub('child');
      levels++;
    }
    assert.equal(levels, depth);
    assert.equal(m.num('value'), 7);
    assert.equal(m.loc?.line, depth, 'the innermost block starts on its own line');
    // An error deep inside is still placed exactly.
    const bad = 'child {\n'.repeat(depth) + 'value: x\n' + '}\n'.repeat(depth);
    expectParseError(
      () => parseTextFormat(schema, 'Node', bad, { file: FILE }),
      { line: depth + 1, col: 8 },
      ["field 'value' takes an integer"],
      'x',
    );
    // One level more is refused with a coded error, not a stack overflow.
    const deep = 'child {\n'.repeat(depth + 1) + '}\n'.repeat(depth + 1);
    expectParseError(
      () => parseTextFormat(schema, 'Node', deep, { file: FILE }),
      { line: depth + 1, col: 1 },
      ['messages nested more than 100 deep'],
      'child',
    );
    // Far deeper input fails the same way, never with RangeError.
    const hostile = 'child {'.repeat(100000);
    assert.throws(() => parseTextFormat(schema, 'Node', hostile, { file: FILE }), { code: 'E_PARSE' });
  });

  it('gives schema defaults for fields that are absent, and only present fields in toJSON', () => {
    const l = firstLayer('layer { convolution_param { num_output: 4 } pooling_param { } }');
    const cp = l.sub('convolution_param');
    assert.equal(cp.bool('bias_term'), true);
    assert.equal(cp.num('group'), 1);
    assert.equal(cp.str('engine'), 'DEFAULT');
    assert.equal(cp.has('bias_term'), false);
    assert.equal(l.sub('pooling_param').str('pool'), 'MAX');
    assert.equal(l.has('lrn_param'), false);
    assert.equal(l.msg('lrn_param'), undefined);
    assert.equal(l.sub('lrn_param').num('beta'), 0.75);
    assert.deepEqual(l.toJSON(), { convolution_param: { num_output: 4 }, pooling_param: {} });
  });
});

describe('text format: errors', () => {
  it('rejects an unknown field, naming it and its message type and suggesting a close name', () => {
    const src = 'layer {\n  name: "c"\n  convolution_param { kernal_size: 3 }\n}';
    const err = expectParseError(
      () => net(src),
      locate(src, 'kernal_size'),
      ["unknown field 'kernal_size' in ConvolutionParameter", "did you mean 'kernel_size'?", 'allowUnknownFields'],
      'kernal_size',
    );
    assert.equal(err.expected, 'a field of ConvolutionParameter');
    // Nothing close: no suggestion.
    const far = expectParseError(
      () => net('name: "n"\nzzzzzzzz: 1'),
      { line: 2, col: 1 },
      ["unknown field 'zzzzzzzz' in NetParameter"],
      'zzzzzzzz',
    );
    assert.ok(!far.message.includes('did you mean'), far.message);
  });

  it('skips unknown fields with allowUnknownFields: scalars, strings, lists and nested blocks, with file:line:col warnings', () => {
    const src = [
      'name: "n"', // 1
      'my_scalar: 3', // 2
      'layer {', // 3
      '  name: "a"', // 4
      '  my_block { deep { deeper: [1, 2, { x: 1 }] } list: ["p", "q"] more < z: "}" > }', // 5
      '  type: "ReLU"', // 6
      '  my_list: [1, "two", THREE, [4]]', // 7
      '  my_colon_block: { a: 1 b { } }', // 8
      '  my_angle < b: ">" >', // 9
      '  my_str: "x" \'y\'', // 10
      '  my_enum: FOO', // 11
      '  my_neg: -inf', // 12
      '  my_float: -1.5e3', // 13
      '  bottom: "in"', // 14
      '  convolution_param { my_inner: 1 num_output: 2 }', // 15
      '}', // 16
      'input: "in"', // 17
    ].join('\n');
    const { message, warnings } = parse(src, 'NetParameter', { allowUnknownFields: true });
    assert.deepEqual(message.toJSON(), {
      name: 'n',
      layer: [{ name: 'a', type: 'ReLU', bottom: ['in'], convolution_param: { num_output: 2 } }],
      input: ['in'],
    });
    const w = (line: number, col: number, field: string, type: string) =>
      `${FILE}:${line}:${col}: skipped unknown field '${field}' in ${type}`;
    assert.deepEqual(warnings, [
      w(2, 1, 'my_scalar', 'NetParameter'),
      w(5, 3, 'my_block', 'LayerParameter'),
      w(7, 3, 'my_list', 'LayerParameter'),
      w(8, 3, 'my_colon_block', 'LayerParameter'),
      w(9, 3, 'my_angle', 'LayerParameter'),
      w(10, 3, 'my_str', 'LayerParameter'),
      w(11, 3, 'my_enum', 'LayerParameter'),
      w(12, 3, 'my_neg', 'LayerParameter'),
      w(13, 3, 'my_float', 'LayerParameter'),
      w(15, 23, 'my_inner', 'ConvolutionParameter'),
    ]);
    // The same through parsePrototxt, which passes the option and returns the warnings.
    const def = parsePrototxt('name: "n"\nfork_field: 1\n', { file: FILE, allowUnknownFields: true });
    assert.deepEqual(def.warnings, [w(2, 1, 'fork_field', 'NetParameter')]);
  });

  it('still rejects a malformed value of an unknown field with allowUnknownFields', () => {
    const opts = { allowUnknownFields: true };
    expectParseError(() => parse('name: "n"\nfoo { a: 1', 'NetParameter', opts), { line: 2, col: 11 }, ["missing '}'"], '');
    expectParseError(() => parse('foo { a: [1 } ]', 'NetParameter', opts), { line: 1, col: 15 }, ['mismatched bracket'], ']');
    expectParseError(() => parse('foo 1', 'NetParameter', opts), { line: 1, col: 5 }, ['bad value for an unknown field'], '1');
  });

  // Regression: an unknown field followed by ',' or ';' is skipped like a known one.
  it('skips an unknown field followed by a , or ; separator', () => {
    const src = 'unknown_a: 1, name: "n"; unknown_b: "s";\nlayer { unknown_c { x: 1 }, type: "ReLU", unknown_d: [1]; }';
    const { message, warnings } = parse(src, 'NetParameter', { allowUnknownFields: true });
    assert.deepEqual(message.toJSON(), { name: 'n', layer: [{ type: 'ReLU' }] });
    assert.equal(warnings.length, 4);
  });

  it('rejects a non-repeated field given twice, saying where it first was', () => {
    const src = 'name: "a"\nlayer { name: "x" }\nname: "b"';
    expectParseError(
      () => net(src),
      { line: 3, col: 1 },
      ["field 'name' of NetParameter is not repeated but appears twice", '(first at line 1)'],
      'name',
    );
    const src2 = 'layer {\n  convolution_param { num_output: 1 }\n  convolution_param { num_output: 2 }\n}';
    expectParseError(
      () => net(src2),
      { line: 3, col: 3 },
      ["field 'convolution_param' of LayerParameter is not repeated but appears twice", '(first at line 2)'],
      'convolution_param',
    );
  });

  it('rejects a string for an int field', () => {
    const src = 'name: "n"\ninput_dim: "3"';
    const err = expectParseError(() => net(src), { line: 2, col: 12 }, ["field 'input_dim' takes an integer (int32)"], '"3"');
    assert.equal(err.expected, 'an integer');
  });

  it('rejects a float for an int field', () => {
    const src = 'layer { convolution_param { num_output: 9.5 } }';
    expectParseError(() => net(src), locate(src, '9.5'), ["field 'num_output' takes an integer (uint32)"], '9.5');
    expectParseError(() => net('input_dim: 1e3'), { line: 1, col: 12 }, ["field 'input_dim' takes an integer"], '1e3');
  });

  it('rejects a negative value for a uint32 field (and accepts 0 and 2^32-1)', () => {
    const src = 'layer { convolution_param { num_output: -1 } }';
    expectParseError(() => net(src), locate(src, '-1'), ["-1 is out of range for field 'num_output' (uint32)", '[0, 4294967295]'], '-1');
    assert.equal(
      firstLayer('layer { convolution_param { num_output: 4294967295 } }').sub('convolution_param').num('num_output'),
      4294967295,
    );
    assert.equal(firstLayer('layer { convolution_param { num_output: 0 } }').sub('convolution_param').num('num_output'), 0);
    expectParseError(
      () => net('layer { convolution_param { num_output: 4294967296 } }'),
      { line: 1, col: 41 },
      ['out of range', '(uint32)'],
      '4294967296',
    );
  });

  it('rejects int32 overflow (2147483648) and underflow, and accepts the limits', () => {
    expectParseError(
      () => net('input_dim: 2147483648'),
      { line: 1, col: 12 },
      ["2147483648 is out of range for field 'input_dim' (int32)", '[-2147483648, 2147483647]'],
      '2147483648',
    );
    expectParseError(() => net('input_dim: -2147483649'), { line: 1, col: 12 }, ['out of range'], '-2147483649');
    expectParseError(() => net('input_dim: 0x80000000'), { line: 1, col: 12 }, ['out of range'], '0x80000000');
    assert.deepEqual(net('input_dim: 2147483647 input_dim: -2147483648').nums('input_dim'), [2147483647, -2147483648]);
  });

  it('rejects int64 values beyond 2^53 (not exact as JS numbers) and accepts 2^53-1', () => {
    const src = 'input_shape {\n  dim: 9007199254740992\n}';
    expectParseError(() => net(src), { line: 2, col: 8 }, ["9007199254740992 is out of range for field 'dim' (int64)"], '9007199254740992');
    expectParseError(() => net('input_shape { dim: -9007199254740992 }'), { line: 1, col: 20 }, ['out of range'], '-9007199254740992');
    assert.deepEqual(
      net('input_shape { dim: 9007199254740991 dim: -9007199254740991 }').msgs('input_shape')[0].nums('dim'),
      [9007199254740991, -9007199254740991],
    );
  });

  it('rejects an enum value name that does not exist, listing the valid values', () => {
    const src = 'layer {\n  pooling_param { pool: MAXX }\n}';
    const err = expectParseError(
      () => net(src),
      locate(src, 'MAXX'),
      ["'MAXX' is not a value of PoolingParameter.PoolMethod", "did you mean 'MAX'?", 'one of MAX, AVE, STOCHASTIC'],
      'MAXX',
    );
    assert.equal(err.expected, 'one of MAX, AVE, STOCHASTIC');
    // A number that is no value of the enum, and a quoted name.
    expectParseError(
      () => net('state { phase: 7 }'),
      { line: 1, col: 16 },
      ["field 'phase' takes a value of Phase", 'one of TRAIN, TEST'],
      '7',
    );
    expectParseError(() => net('state { phase: "TRAIN" }'), { line: 1, col: 16 }, ["field 'phase' takes a value of Phase"], '"TRAIN"');
  });

  it('rejects a boolean typo', () => {
    const src = 'name: "n"\nforce_backward: ture';
    expectParseError(() => net(src), { line: 2, col: 17 }, ["field 'force_backward' takes a boolean", 'expected true or false'], 'ture');
    expectParseError(() => net('force_backward: 2'), { line: 1, col: 17 }, ['takes a boolean'], '2');
    expectParseError(() => net('force_backward: "true"'), { line: 1, col: 17 }, ['takes a boolean'], '"true"');
  });

  it('rejects an unterminated string at end of file, pointing at its opening quote', () => {
    expectParseError(() => net('name: "abc'), { line: 1, col: 7 }, ['unterminated string', 'a closing "'], '"abc');
    // A double quote does not close a single-quoted string.
    expectParseError(() => net('input: "a"\ninput: \'abc"'), { line: 2, col: 8 }, ['unterminated string', "a closing '"], '\'abc"');
  });

  it('rejects a newline inside a string', () => {
    const src = 'layer {\n  name: "ab\ncd"\n}';
    expectParseError(() => net(src), { line: 2, col: 9 }, ['unterminated string'], '"ab');
    expectParseError(() => net('name: "ab\r\ncd"'), { line: 1, col: 7 }, ['unterminated string']);
  });

  it('rejects a bad escape, pointing at its backslash', () => {
    const src = 'name: "n"\ninput: "ab\\qc"';
    const err = expectParseError(() => net(src), { line: 2, col: 11 }, ['unknown escape in string'], '\\q');
    assert.ok(err.expected.includes('\\n') && err.expected.includes('\\xHH'), err.expected);
    expectParseError(() => net('name: "a\\xzz"'), { line: 1, col: 9 }, ['bad \\x escape in string', 'one or two hex digits'], '\\xzz');
    expectParseError(() => net('name: "a\\u12"'), { line: 1, col: 9 }, ['bad \\u escape in string', '4 hex digits'], '\\u12"');
    expectParseError(() => net('name: "a\\U00110000"'), { line: 1, col: 9 }, ['bad \\U escape in string']);
    expectParseError(() => net('name: "a\\8"'), { line: 1, col: 9 }, ['unknown escape in string'], '\\8');
  });

  it("rejects a missing '}' at end of file, pointing at the end", () => {
    const err = expectParseError(
      () => net('layer {\n  name: "a"\n'),
      { line: 3, col: 1 },
      ["missing '}' to close LayerParameter", 'found end of file'],
      '',
    );
    assert.equal(err.expected, "'}'");
    expectParseError(() => net('layer {\n  name: "a"'), { line: 2, col: 12 }, ["missing '}' to close LayerParameter"], '');
    expectParseError(
      () => net('layer { convolution_param { num_output: 1 }'),
      { line: 1, col: 44 },
      ["missing '}' to close LayerParameter"],
      '',
    );
    expectParseError(() => net('state < phase: TRAIN'), { line: 1, col: 21 }, ["missing '>' to close NetState"], '');
  });

  it("rejects a stray '}' (and a '}' closing a '<' block)", () => {
    expectParseError(() => net('name: "a"\n}\n'), { line: 2, col: 1 }, ['unexpected token in NetParameter', 'a field name'], '}');
    expectParseError(() => net('layer { name: "a" } }'), { line: 1, col: 21 }, ['unexpected token in NetParameter'], '}');
    expectParseError(
      () => net('state < phase: TRAIN }'),
      { line: 1, col: 22 },
      ['unexpected token in NetState', "a field name or '>'"],
      '}',
    );
  });

  it("rejects a missing ':' before a scalar value", () => {
    const src = 'layer {\n  name "a"\n}';
    const err = expectParseError(() => net(src), { line: 2, col: 8 }, ["field 'name' needs ':' before its value"], '"a"');
    assert.equal(err.expected, "':'");
    expectParseError(() => net('input_dim 3'), { line: 1, col: 11 }, ["field 'input_dim' needs ':'"], '3');
    expectParseError(() => net('name'), { line: 1, col: 5 }, ["field 'name' needs ':'", 'found end of file'], '');
  });

  it('rejects a scalar given to a message field', () => {
    const src = 'layer { convolution_param: 5 }';
    expectParseError(
      () => net(src),
      locate(src, '5'),
      ["field 'convolution_param' is a message (ConvolutionParameter), so its value is a block"],
      '5',
    );
    expectParseError(() => net('layer: "conv1"'), { line: 1, col: 8 }, ["field 'layer' is a message (LayerParameter)"], '"conv1"');
  });

  it("rejects a '[' list on a non-repeated field", () => {
    expectParseError(() => net('name: ["a", "b"]'), { line: 1, col: 7 }, ["field 'name' is not repeated, so it takes one value"], '[');
    const src = 'layer { pooling_param { kernel_size: [3, 3] } }';
    expectParseError(() => net(src), locate(src, '['), ["field 'kernel_size' is not repeated"], '[');
  });

  it('rejects a bad list', () => {
    expectParseError(() => net('input_dim: [1 2]'), { line: 1, col: 15 }, ['bad list', "',' or ']'"], '2');
    expectParseError(() => net('input_dim: [1, 2,]'), { line: 1, col: 18 }, ["field 'input_dim' takes an integer"], ']');
    expectParseError(() => net('input_dim: [1, 2'), { line: 1, col: 17 }, ['bad list'], '');
  });

  it('rejects a malformed number such as 12abc', () => {
    const src = 'name: "n"\ninput_dim: 12abc';
    const err = expectParseError(() => net(src), { line: 2, col: 12 }, ['malformed number'], '12abc');
    assert.equal(err.expected, 'a number');
    expectParseError(() => net('input_dim: 1.2.3'), { line: 1, col: 12 }, ['malformed number'], '1.2.3');
    expectParseError(() => net('input_dim: 0x'), { line: 1, col: 12 }, ['malformed number'], '0x');
    expectParseError(() => net('input_dim: -'), { line: 1, col: 12 }, ['malformed number'], '-');
    expectParseError(() => net('layer { loss_weight: -info }'), { line: 1, col: 22 }, ['malformed number']);
  });

  it("rejects an unexpected character such as '@'", () => {
    const src = 'layer {\n  name: "a" @\n}';
    const err = expectParseError(() => net(src), { line: 2, col: 13 }, ['unexpected character'], '@');
    assert.ok(err.expected.includes('a field name'), err.expected);
    expectParseError(() => net('name: "a"\n\t= 3'), { line: 2, col: 2 }, ['unexpected character'], '=');
    // A character outside the BMP is shown whole.
    expectParseError(() => net('\u{1F600}'), { line: 1, col: 1 }, ['unexpected character'], '\u{1F600}');
  });

  it('rejects a solver file given as a network, saying it is a solver file', () => {
    const err = expectParseError(
      () => parsePrototxt('# solver\nbase_lr: 0.01\nnet: "x"', { file: 'solver.prototxt' }),
      { line: 2, col: 1, file: 'solver.prototxt' },
      ['this is a Caffe solver file', "'base_lr'", 'not a network definition', 'deploy.prototxt'],
      'base_lr',
    );
    assert.equal(err.expected, '');
    expectParseError(
      () => parsePrototxt('net: "x"\nbase_lr: 0.01', { file: 's.prototxt' }),
      { line: 1, col: 1, file: 's.prototxt' },
      ['this is a Caffe solver file', "'net'"],
      'net',
    );
    // Not skipped as an unknown field, even when those are allowed.
    expectParseError(
      () => parsePrototxt('base_lr: 0.01', { file: 's.prototxt', allowUnknownFields: true }),
      { line: 1, col: 1, file: 's.prototxt' },
      ['this is a Caffe solver file'],
    );
  });

  it('rejects a label map given as a network, saying it is a label map', () => {
    expectParseError(
      () => parsePrototxt('item { name: "a" label: 1 display_name: "A" }', { file: 'labels.prototxt' }),
      { line: 1, col: 1, file: 'labels.prototxt' },
      ['this is a label map', "'item'", 'not a network definition'],
      'item',
    );
  });

  it('rejects a binary file (bytes with NULs) given as a prototxt', () => {
    // The start of a .caffemodel read as UTF-8 text: field 1 "CaffeNet", then layer bytes with NULs.
    const bytes = Buffer.from([0x0a, 0x08, ...Buffer.from('CaffeNet'), 0xa2, 0x06, 0x00, 0x00, 0x80, 0x3f, 0xff, 0xfe]);
    expectParseError(
      () => parsePrototxt(bytes.toString('utf8'), { file: 'bvlc.caffemodel' }),
      { line: 1, col: 1, file: 'bvlc.caffemodel' },
      ['this is a binary file, not a text prototxt', '.caffemodel'],
    );
    // Invalid UTF-8 without NULs is binary too.
    const noNul = Buffer.from([0x0a, 0x03, 0xff, 0xfe, 0xfd, 0xfc, 0x80, 0x81]);
    expectParseError(() => parsePrototxt(noNul.toString('utf8'), { file: 'x.bin' }), { line: 1, col: 1, file: 'x.bin' }, [
      'this is a binary file',
    ]);
  });

  it('uses <text> as the file name when none is given', () => {
    const err = parseError(() => parseTextFormat(caffeSchema, 'NetParameter', 'name: 3'));
    assert.deepEqual({ ...err.position }, { file: '<text>', line: 1, col: 7 });
    assert.ok(err.message.startsWith('<text>:1:7: '), err.message);
    const err2 = parseError(() => parsePrototxt('name: 3'));
    assert.equal(err2.position.file, '<prototxt>');
  });
});

describe('readPrototxt', () => {
  it('reads and upgrades a file, naming it in the result', async () => {
    const file = path.join(FIXTURES, 'v1_small.prototxt');
    const def = await readPrototxt(file);
    assert.equal(def.file, file);
    assert.equal(def.format, 'V1');
    assert.deepEqual(
      def.net.msgs('layer').map((l) => l.str('name')),
      ['conv1', 'pool1', 'ip1', 'prob'],
    );
  });

  it('names the file path in parse errors', async () => {
    const file = path.join(FIXTURES, 'solver.prototxt');
    await assert.rejects(readPrototxt(file), (err: unknown) => {
      assert.ok(err instanceof ParseError);
      assert.equal(err.code, 'E_PARSE');
      assert.deepEqual({ ...err.position }, { file, line: 2, col: 1 });
      assert.ok(err.message.startsWith(`${file}:2:1: this is a Caffe solver file`), err.message);
      return true;
    });
    const labels = path.join(FIXTURES, 'labelmap.prototxt');
    await assert.rejects(readPrototxt(labels), (err: unknown) => {
      assert.ok(err instanceof ParseError);
      assert.ok(err.message.startsWith(`${labels}:1:1: this is a label map`), err.message);
      return true;
    });
  });

  it('rejects a binary file on disk as binary', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtnode-textformat-'));
    try {
      const file = path.join(dir, 'weights.caffemodel');
      fs.writeFileSync(file, Buffer.from([0x0a, 0x05, 0x4c, 0x65, 0x4e, 0x65, 0x74, 0x00, 0x00, 0x00, 0x3f]));
      await assert.rejects(readPrototxt(file), (err: unknown) => {
        assert.ok(err instanceof ParseError);
        assert.equal(err.code, 'E_PARSE');
        assert.deepEqual({ ...err.position }, { file, line: 1, col: 1 });
        assert.ok(err.message.includes('this is a binary file'), err.message);
        return true;
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects a missing file with IOError E_IO naming the path', async () => {
    const file = path.join(FIXTURES, 'no-such-file.prototxt');
    await assert.rejects(readPrototxt(file), (err: unknown) => {
      assert.ok(err instanceof IOError, `expected IOError, got ${String(err)}`);
      assert.ok(err instanceof TensorRTNodeError);
      assert.equal(err.code, 'E_IO');
      assert.equal(err.path, file);
      assert.ok(err.message.includes(file), err.message);
      assert.equal((err.cause as NodeJS.ErrnoException).code, 'ENOENT');
      return true;
    });
  });
});
