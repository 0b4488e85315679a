/**
 * Imports every *.prototxt under a folder of real Caffe files written by others (kept outside
 * git: third-party text is never committed) and reports what happened to each: imported with
 * complete shapes, or the coded error. Any error that is not a TensorRTNodeError is a bug and
 * makes the exit code 1.
 *   node dist/scripts/check-corpus.js <folder> [--json out.json] [--verbose]
 * Files that fail on fields Caffe does not define are retried with allowUnknownFields; data
 * layers whose shapes the file does not give get a guessed [1, 3, crop, crop]. Pairs
 * `X.prototxt` / `X.expected.prototxt` (Caffe's own upgrade tests) are checked step by step: the
 * upgrade of X must equal the expected text exactly.
 */
import * as fs from 'fs';
import * as path from 'path';
import { caffeSchema, parsePrototxt, type Message } from '../lib/caffe';
import { parseTextFormat } from '../lib/caffe/text_format';
import { detectFormat, upgradeDataTransform, upgradeV0PaddingLayers, upgradeV0ToV1, upgradeV1ToCurrent } from '../lib/caffe/upgrade';
import { TensorRTNodeError } from '../lib/errors';
import { buildGraph } from '../lib/network';

interface Outcome {
  readonly file: string;
  readonly result: string;
  readonly detail: string;
  readonly layers?: number;
  readonly format?: string;
  readonly unknownFieldsSkipped?: number;
}

/** Prototxt files under dir: the inputs, or with `expected` the `.expected.prototxt` files. */
function walk(dir: string, expected = false): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(p, expected));
    else if (/\.prototxt$/i.test(entry.name) && /\.expected\.prototxt$/.test(entry.name) === expected) out.push(p);
  }
  return out.sort();
}

/** A stand-in shape for each data-layer input the file gives none for: [1, 3, crop or 224, crop or 224]. */
function guessInputShapes(text: string, message: string): Record<string, number[]> | undefined {
  const m = /input '([^']+)' has no shape/.exec(message);
  if (m === null) return undefined;
  const crop = /crop_size:\s*(\d+)/.exec(text);
  const side = crop === null ? 224 : Number(crop[1]);
  return { [m[1]]: [1, 3, side, side] };
}

function tryImport(file: string, text: string, allowUnknownFields: boolean, inputShapes: Record<string, number[]> = {}): Outcome {
  const rel = file;
  try {
    const def = parsePrototxt(text, { file: rel, allowUnknownFields });
    const graph = buildGraph(def, { inputShapes });
    return {
      file: rel,
      result: 'ok',
      detail: `${graph.layers.length} layers, outputs ${graph.outputs.map((o) => `${o.name} [${o.shape.join(',')}]`).join(' ')}`,
      layers: graph.layers.length,
      format: def.format,
      unknownFieldsSkipped: def.warnings.length,
    };
  } catch (err) {
    if (err instanceof TensorRTNodeError) {
      // Data layers do not say their shapes: guess one and go on, up to a few inputs.
      const guess = guessInputShapes(text, err.message);
      if (guess !== undefined && Object.keys(inputShapes).length < 4 && !(Object.keys(guess)[0] in inputShapes)) {
        const retry = tryImport(file, text, allowUnknownFields, { ...inputShapes, ...guess });
        return retry.result === 'ok' ? { ...retry, result: 'ok (data input shapes guessed)' } : retry;
      }
      return { file: rel, result: err.code, detail: err.message.split('\n')[0] };
    }
    return { file: rel, result: 'CRASH', detail: (err as Error).stack ?? String(err) };
  }
}

function canonical(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(canonical);
  if (x !== null && typeof x === 'object') {
    return Object.fromEntries(
      Object.keys(x)
        .sort()
        .map((k) => [k, canonical((x as Record<string, unknown>)[k])]),
    );
  }
  return x;
}

/** Upgrades X one format step towards the expected file's format and compares them. */
function checkUpgradePair(file: string, expectedFile: string): Outcome {
  const read = (f: string): Message => parseTextFormat(caffeSchema, 'NetParameter', fs.readFileSync(f, 'utf8'), { file: f }).message;
  try {
    const net = read(file);
    const expected = read(expectedFile);
    const from = detectFormat(net);
    const to = detectFormat(expected);
    upgradeV0PaddingLayers(net);
    if (from === 'V0' && to !== 'V0') {
      upgradeV0ToV1(net);
      upgradeDataTransform(net);
    }
    if (to === 'current') upgradeV1ToCurrent(net);
    const same = JSON.stringify(canonical(net.toJSON())) === JSON.stringify(canonical(expected.toJSON()));
    return { file, result: same ? 'upgrade matches Caffe' : 'UPGRADE DIFFERS', detail: `${from} -> ${to}` };
  } catch (err) {
    return { file, result: 'CRASH', detail: (err as Error).stack ?? String(err) };
  }
}

function main(): void {
  const args = process.argv.slice(2);
  const jsonAt = args.indexOf('--json');
  const jsonOut = jsonAt >= 0 ? args.splice(jsonAt, 2)[1] : undefined;
  const verbose = args.includes('--verbose');
  const root = args.find((a) => !a.startsWith('--'));
  if (root === undefined) {
    console.error('usage: node dist/scripts/check-corpus.js <folder> [--json out.json] [--verbose]');
    process.exitCode = 2;
    return;
  }
  const outcomes: Outcome[] = [];
  for (const expectedFile of walk(root, true)) {
    const file = expectedFile.replace(/\.expected\.prototxt$/, '.prototxt');
    if (!fs.existsSync(file) || !/^\s*(layers?|input|name)\b/m.test(fs.readFileSync(file, 'utf8'))) continue;
    const outcome = checkUpgradePair(file, expectedFile);
    outcomes.push({ ...outcome, file: path.relative(root, file) });
    if (verbose || outcome.result !== 'upgrade matches Caffe')
      console.log(`${outcome.result.padEnd(28)} ${outcome.file}: ${outcome.detail}`);
  }
  for (const file of walk(root)) {
    const text = fs.readFileSync(file, 'utf8');
    let outcome = tryImport(path.relative(root, file), text, false);
    if (outcome.result === 'E_PARSE' && /unknown field/.test(outcome.detail)) {
      const retry = tryImport(path.relative(root, file), text, true);
      outcome = { ...retry, result: retry.result === 'ok' ? 'ok (unknown fields skipped)' : retry.result };
    }
    outcomes.push(outcome);
    if (verbose || outcome.result === 'CRASH') console.log(`${outcome.result.padEnd(28)} ${outcome.file}: ${outcome.detail}`);
  }
  const counts = new Map<string, number>();
  for (const o of outcomes) counts.set(o.result, (counts.get(o.result) ?? 0) + 1);
  console.log(`\n${outcomes.length} files under ${root}`);
  for (const [k, v] of [...counts].sort((a, b) => b[1] - a[1])) console.log(`  ${k.padEnd(28)} ${v}`);
  const unsupported = new Map<string, number>();
  for (const o of outcomes) {
    const m = /has type '([^']+)'/.exec(o.detail);
    if (o.result === 'E_UNSUPPORTED_LAYER' && m) unsupported.set(m[1], (unsupported.get(m[1]) ?? 0) + 1);
  }
  if (unsupported.size > 0) {
    console.log(`  unsupported layer types: ${[...unsupported].map(([t, n]) => `${t} (${n})`).join(', ')}`);
  }
  if (jsonOut) fs.writeFileSync(jsonOut, `${JSON.stringify({ root, counts: Object.fromEntries(counts), outcomes }, null, 2)}\n`);
  if (counts.has('CRASH') || counts.has('UPGRADE DIFFERS')) process.exitCode = 1;
}

main();
