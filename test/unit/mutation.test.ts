// A bounded mutation test over models/: thousands of damaged prototxt files, each of which must
// either import or fail with a coded TensorRTNodeError, never crash or hang. Seeded, so a failure
// names a mutation that reproduces.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { parsePrototxt } from '../../lib/caffe';
import { TensorRTNodeError } from '../../lib/errors';
import { buildGraph } from '../../lib/network';
import { Rng } from '../../lib/network/weights';

const ROOT = path.resolve(__dirname, '../../..');
const MODELS = fs
  .readdirSync(path.join(ROOT, 'models'))
  .filter((f) => f.endsWith('.prototxt'))
  .sort();
const PER_MODEL = 300;
const TOKENS = [
  '{',
  '}',
  ':',
  '"',
  "'",
  '#',
  '\n',
  '-',
  '0',
  '1e99',
  '-1',
  '99999999999',
  'inf',
  'nan',
  ' ',
  '[',
  ']',
  ',',
  'layer',
  'bottom',
  'top',
  'type',
  'name',
  'Convolution',
  'Pooling',
  'num_output',
  'kernel_size',
  '\\',
  '\u0000',
  'é',
];

/** One random edit of `text`: delete, insert, replace, truncate, duplicate or swap lines, change a number. */
function mutate(text: string, rng: Rng): { text: string; what: string } {
  const pick = (n: number) => Math.floor(rng.uniform() * n);
  const at = pick(text.length);
  const lines = text.split('\n');
  switch (pick(7)) {
    case 0: {
      const n = 1 + pick(8);
      return { text: text.slice(0, at) + text.slice(at + n), what: `delete ${n} at ${at}` };
    }
    case 1: {
      const t = TOKENS[pick(TOKENS.length)];
      return { text: text.slice(0, at) + t + text.slice(at), what: `insert ${JSON.stringify(t)} at ${at}` };
    }
    case 2: {
      const t = TOKENS[pick(TOKENS.length)];
      return { text: text.slice(0, at) + t + text.slice(at + 1), what: `replace at ${at} by ${JSON.stringify(t)}` };
    }
    case 3:
      return { text: text.slice(0, at), what: `truncate at ${at}` };
    case 4: {
      const i = pick(lines.length);
      lines.splice(i, 0, lines[i]);
      return { text: lines.join('\n'), what: `duplicate line ${i + 1}` };
    }
    case 5: {
      const i = pick(lines.length);
      const j = pick(lines.length);
      [lines[i], lines[j]] = [lines[j], lines[i]];
      return { text: lines.join('\n'), what: `swap lines ${i + 1} and ${j + 1}` };
    }
    default: {
      const numbers = [...text.matchAll(/\b\d+\b/g)];
      if (numbers.length === 0) return { text, what: 'nothing' };
      const m = numbers[pick(numbers.length)];
      const v = ['0', '1', '-1', '3', '100000', '4294967296', '7'][pick(7)];
      const i = m.index ?? 0;
      return { text: text.slice(0, i) + v + text.slice(i + m[0].length), what: `number at ${i} -> ${v}` };
    }
  }
}

describe('mutation: damaged prototxt files import or fail with a code', () => {
  for (const [index, file] of MODELS.entries()) {
    it(`${file}: ${PER_MODEL} mutations`, () => {
      const original = fs.readFileSync(path.join(ROOT, 'models', file), 'utf8');
      const rng = new Rng(1000 + index);
      const codes = new Map<string, number>();
      for (let i = 0; i < PER_MODEL; i++) {
        const { text, what } = mutate(original, rng);
        const t0 = Date.now();
        try {
          buildGraph(parsePrototxt(text, { file }));
          codes.set('ok', (codes.get('ok') ?? 0) + 1);
        } catch (err) {
          if (!(err instanceof TensorRTNodeError)) {
            assert.fail(`${file} mutation #${i} (${what}) threw ${(err as Error).name}: ${(err as Error).stack}`);
          }
          assert.match(err.code, /^E_[A-Z_]+$/);
          codes.set(err.code, (codes.get(err.code) ?? 0) + 1);
        }
        assert.ok(Date.now() - t0 < 2000, `${file} mutation #${i} (${what}) took ${Date.now() - t0} ms`);
      }
      // The mutations must actually exercise the error paths, not only succeed.
      assert.ok((codes.get('E_PARSE') ?? 0) > PER_MODEL / 10, `too few parse errors: ${JSON.stringify([...codes])}`);
    });
  }
});
