/**
 * Benchmark: importing a deploy prototxt (text parse + upgrades + IR with shapes) on the CPU.
 * Target (issue 2): GoogLeNet's deploy file well under 20 ms.
 *   node dist/scripts/bench-parse.js [--json out.json] [files...]
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parsePrototxt } from '../lib/caffe';
import { buildGraph } from '../lib/network';

const ROOT = path.resolve(__dirname, '../..');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time(fn: () => void, iterations: number): { first: number; median: number; p90: number; min: number } {
  const t0 = process.hrtime.bigint();
  fn();
  const first = Number(process.hrtime.bigint() - t0) / 1e6;
  for (let i = 0; i < 20; i++) fn();
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t = process.hrtime.bigint();
    fn();
    samples.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const sorted = [...samples].sort((a, b) => a - b);
  return { first, median: median(samples), p90: sorted[Math.floor(sorted.length * 0.9)], min: sorted[0] };
}

const args = process.argv.slice(2);
const jsonAt = args.indexOf('--json');
const jsonOut = jsonAt >= 0 ? args.splice(jsonAt, 2)[1] : undefined;
const files = args.length > 0 ? args : ['googlenet', 'resnet50', 'vgg16', 'alexnet'].map((m) => path.join(ROOT, 'models', `${m}.prototxt`));
const rows = files.map((file) => {
  const text = fs.readFileSync(file, 'utf8');
  const parse = time(() => parsePrototxt(text, { file }), 200);
  const full = time(() => buildGraph(parsePrototxt(text, { file })), 200);
  return { file: path.relative(ROOT, file), bytes: text.length, parseMs: parse, importMs: full };
});
console.log('file                           bytes   parse median   import median (p90)   first import (cold)');
for (const r of rows) {
  console.log(
    `${r.file.padEnd(30)} ${String(r.bytes).padStart(6)}   ${r.parseMs.median.toFixed(2).padStart(9)} ms` +
      `   ${r.importMs.median.toFixed(2).padStart(9)} ms (${r.importMs.p90.toFixed(2)})   ${r.importMs.first.toFixed(2)} ms`,
  );
}
const result = {
  benchmark: 'prototxt import (parse + upgrade + IR with shapes)',
  date: new Date().toISOString(),
  node: process.version,
  cpu: os.cpus()[0]?.model,
  cores: os.cpus().length,
  rows,
};
if (jsonOut) fs.writeFileSync(jsonOut, `${JSON.stringify(result, null, 2)}\n`);
