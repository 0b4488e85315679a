// scripts/kernel-times.js (gpu-session.sh's kerneltimes step): the last inference out of an Nsight
// Compute CSV of gpu__time_duration, and its errors for a file it cannot read that way.
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../../..');
const SCRIPT = path.join(ROOT, 'scripts', 'kernel-times.js');
const HEADER =
  '"ID","Process ID","Process Name","Host Name","Kernel Name","Context","Stream","Block Size","Grid Size","Device","CC","Section Name","Metric Name","Metric Unit","Metric Value"';

/** One CSV row: a launch of `kernel` on `grid` blocks taking `ns`. */
function row(id: number, kernel: string, grid: number, ns: string): string {
  return `"${id}","1","node","h","${kernel}","1","7","(256, 1, 1)","(${grid}, 1, 1)","0","9.0","Command line profiler metrics","gpu__time_duration.sum","ns","${ns}"`;
}

describe('scripts/kernel-times.js', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-kt-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const run = (text: string, ...flags: string[]) => {
    const file = path.join(dir, `kt-${Math.random().toString(36).slice(2)}.csv`);
    fs.writeFileSync(file, text);
    return spawnSync(process.execPath, [SCRIPT, file, ...flags], { encoding: 'utf8' });
  };

  it('takes the last of three alike inferences (a kernel launched twice in a row inside one is not one inference)', () => {
    const q = 'void trtn::cuda::(anonymous namespace)::quantize_kernel<float, signed char>(trtn::cuda::View4)';
    const c = 'void trtn::cuda::conv::mma_conv_kernel<(int)1>(trtn::cuda::conv::GemmParams)';
    const lines = ['==PROF== Connected', HEADER, row(0, 'void tune<float>(int)', 9, '99,000')];
    let id = 1;
    for (let i = 0; i < 3; i++) {
      lines.push(row(id++, q, 10, '2,500'), row(id++, c, 36, '9,000'), row(id++, c, 36, '9,000'), row(id++, c, 12, `${1000 + i}`));
    }
    const r = run(lines.join('\n') + '\n', '--json');
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(
      out.kernels.map((k: { kernel: string; grid: string }) => `${k.kernel} ${k.grid}`),
      ['quantize_kernel (10, 1, 1)', 'mma_conv_kernel (36, 1, 1)', 'mma_conv_kernel (36, 1, 1)', 'mma_conv_kernel (12, 1, 1)'],
    );
    assert.equal(out.kernels[3].us, 1.002);
    assert.ok(Math.abs(out.totalUs - (2.5 + 9 + 9 + 1.002)) < 1e-9);
  });

  it('fails, saying why, without a CSV header, without a repeating tail, and without a file', () => {
    let r = run('==PROF== nothing profiled\n');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no Nsight Compute CSV header/);
    r = run([HEADER, row(0, 'a', 1, '1'), row(1, 'b', 1, '1')].join('\n'));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no repeating inference at the end/);
    r = spawnSync(process.execPath, [SCRIPT], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /usage: node scripts\/kernel-times.js/);
  });
});
