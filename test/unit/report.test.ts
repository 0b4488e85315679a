// The report of issue 6: merging rank files and sweeps, REPORT.md with its tables, the figures as
// SVG and PNG, skipped figures, and every error of the public entry points and the CLI.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Precision } from '../../lib/builder/exec_graph';
import type { BenchResult, BenchSettings, SweepDoc, SweepPoint } from '../../lib/bench/result';
import { TensorRTNodeError } from '../../lib/errors';
import { DELL_2017, mergeResults, readPeerFile, readResultFile, writeReport, type PeerDoc } from '../../lib/report';
import { gpuFolderName, networkKey } from '../../lib/report/names';
import { chooseFont, fontDrawsText, loadChartLibraries } from '../../lib/report/render';
import { fails } from '../support/helpers';
import { runCli as run } from '../support/cli';

const ROOT = path.resolve(__dirname, '../../..');
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const SETTINGS: BenchSettings = {
  warmUpMs: 200,
  durationS: 3,
  iterations: 10,
  avgRuns: 10,
  percentiles: [90, 99],
  dataTransfers: true,
  useCudaGraph: true,
  streams: 1,
};

function bench(o: {
  network?: string;
  precision?: Precision;
  batch?: number;
  ips: number;
  computeIps?: number;
  computeMs?: number;
  rank?: number;
  size?: number;
  gpu?: string;
  date?: string;
  commit?: string;
  backend?: string;
}): BenchResult {
  const r: BenchResult = {
    kind: 'tensorrt-node-bench',
    version: 1,
    date: o.date ?? '2026-11-28T10:00:00Z',
    packageVersion: '0.1.0',
    commit: o.commit ?? 'abc1234',
    network: `models/${(o.network ?? 'AlexNet').toLowerCase()}.prototxt`,
    networkName: o.network ?? 'AlexNet',
    backend: o.backend ?? 'cuda',
    precision: o.precision ?? 'int8',
    batch: o.batch ?? 128,
    device: { name: o.gpu ?? 'NVIDIA H200', index: 0, visibleDevice: String(o.rank ?? 0) },
    settings: SETTINGS,
    iterations: 100,
    walltimeSeconds: 3,
    throughput: { imagesPerSecond: o.ips, inferencesPerSecond: o.ips / (o.batch ?? 128) },
    latencyMs: { min: 1, max: 2, mean: 1.5, median: 1.5, percentiles: { 90: 1.8 }, cv: 0.01 },
    enqueueMs: { min: 0.01, max: 0.02, mean: 0.015, median: 0.015, percentiles: { 90: 0.018 }, cv: 0.1 },
    warnings: [],
  };
  if (o.computeIps !== undefined) r.gpuComputeImagesPerSecond = o.computeIps;
  if (o.computeMs !== undefined)
    r.gpuComputeMs = { min: o.computeMs, max: o.computeMs, mean: o.computeMs, median: o.computeMs, percentiles: {}, cv: 0 };
  if (o.size !== undefined) r.rank = { rank: o.rank ?? 0, size: o.size, localRank: o.rank ?? 0 };
  return r;
}

function sweepDoc(points: SweepPoint[], o: { gpus?: number; gpu?: string; commit?: string; date?: string } = {}): SweepDoc {
  return {
    kind: 'tensorrt-node-sweep',
    version: 1,
    date: o.date ?? '2026-11-28T12:00:00Z',
    packageVersion: '0.1.0',
    commit: o.commit ?? 'abc1234',
    machine: {
      gpus: Array.from({ length: o.gpus ?? 2 }, (_, i) => ({
        name: o.gpu ?? 'NVIDIA H200',
        index: i,
        memoryBytes: 150e9,
        computeCapability: '9.0',
      })),
      driverVersion: 13000,
      cpu: 'Test CPU x16',
      hostname: 'testhost',
    },
    settings: SETTINGS,
    points,
  };
}

const ok = (
  network: string,
  precision: Precision,
  batch: number,
  gpus: number,
  ips: number,
  extra: Partial<SweepPoint> = {},
): SweepPoint => ({ network, precision, batch, gpus, status: 'ok', imagesPerSecond: ips, ...extra });

/** A sweep of AlexNet and GoogleNet: 4 precisions at batch 128 on 1 and 2 GPUs, a batch sweep with OOM, an error point. */
function fullSweep(): SweepDoc {
  const points: SweepPoint[] = [];
  const base: Record<string, Record<Precision, number>> = {
    AlexNet: { fp32: 17408, tf32: 49849, fp16: 83949, int8: 95743 },
    GoogleNet: { fp32: 8305, tf32: 19134, fp16: 32407, int8: 40768 },
  };
  for (const [net, byPrecision] of Object.entries(base)) {
    for (const [p, ips] of Object.entries(byPrecision) as Array<[Precision, number]>) {
      points.push(
        ok(net, p, 128, 1, ips, {
          gpuComputeImagesPerSecond: ips * 1.05,
          perGpu: [bench({ network: net, precision: p, ips, computeIps: ips * 1.05, computeMs: 128000 / (ips * 1.05) })],
        }),
      );
      // GoogleNet FP32 scales below the target, everything else above it.
      points.push(ok(net, p, 128, 2, ips * (net === 'GoogleNet' && p === 'fp32' ? 1.9 : 1.99)));
      for (const b of [1, 32]) points.push(ok(net, p, b, 1, ips * (b / 160)));
    }
  }
  points.push(ok('AlexNet', 'int8', 256, 1, 99000));
  points.push({
    network: 'AlexNet',
    precision: 'int8',
    batch: 512,
    gpus: 1,
    status: 'oom',
    message: 'E_OUT_OF_MEMORY: 90.1 GB asked, 80.0 GB free',
  });
  points.push({ network: 'AlexNet', precision: 'int8', batch: 1024, gpus: 1, status: 'oom', message: 'E_OUT_OF_MEMORY: 180 GB asked' });
  points.push({ network: 'GoogleNet', precision: 'fp16', batch: 64, gpus: 1, status: 'error', message: 'E_CUDA: launch failed | odd' });
  return sweepDoc(points);
}

function peerDoc(gpu = 'NVIDIA H200'): PeerDoc {
  const rows = (ms: number) => [
    { batch: 32, graph: { ms: ms / 4 } },
    { batch: 128, graph: { ms } },
    { batch: 4096, oom: true },
  ];
  return {
    alexnet: {
      network: { name: 'AlexNet' },
      environment: { gpu: { name: gpu }, torch: '2.11.0' },
      precisions: { fp32: { rows: rows(7.1187) }, tf32: { rows: rows(5.0974) }, fp16: { rows: rows(4.2604) } },
    },
    googlenet: {
      network: { name: 'GoogleNet' },
      environment: { gpu: { name: gpu }, torch: '2.11.0' },
      precisions: { fp32: { rows: rows(21.8457) }, fp16: { rows: rows(9.7656) } },
    },
  };
}

/** Every element of an XML document closed in order (comments, CDATA and declarations aside). */
function assertWellFormed(xml: string, name: string): void {
  const stack: string[] = [];
  const body = xml.replace(/<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<\?[\s\S]*?\?>|<!DOCTYPE[^>]*>/g, '');
  for (const m of body.matchAll(/<(\/?)([A-Za-z][\w:.-]*)\b[^>]*?(\/?)>/g)) {
    const [, closing, tag, selfClosing] = m;
    if (selfClosing) continue;
    if (!closing) stack.push(tag);
    else assert.equal(stack.pop(), tag, `${name}: </${tag}> closes the wrong element`);
  }
  assert.deepEqual(stack, [], `${name}: unclosed elements`);
  assert.ok(!/<(?![A-Za-z/!?])/.test(body), `${name}: a stray '<'`);
}

function rejectsSync(fn: () => unknown, code: string, ...parts: string[]): TensorRTNodeError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof TensorRTNodeError, `expected a TensorRTNodeError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    for (const p of parts) assert.ok(e.message.includes(p), `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(p)}`);
    return e;
  }
  assert.fail(`expected ${code}, but it returned`);
}

describe('report', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-report-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('names', () => {
    it('matches a network across spellings and names the GPU folder', () => {
      assert.equal(networkKey('GoogleNet'), 'googlenet');
      assert.equal(networkKey('models/googlenet.prototxt'), 'googlenet');
      assert.equal(networkKey('ResNet-50'), 'resnet50');
      assert.equal(gpuFolderName('NVIDIA H200'), 'H200');
      assert.equal(gpuFolderName('NVIDIA H100 80GB HBM3'), 'H100-80GB-HBM3');
    });
  });

  describe('mergeResults', () => {
    it('sums the rank files of a 2-GPU run into one point, sorted by rank, and keeps a 1-GPU result', () => {
      const merged = mergeResults([
        bench({ ips: 1000, computeIps: 1100, rank: 1, size: 2, date: '2026-11-28T10:05:00Z' }),
        bench({ ips: 900, computeIps: 1000, rank: 0, size: 2 }),
        bench({ ips: 950, computeIps: 1050 }),
      ]);
      assert.equal(merged.kind, 'tensorrt-node-sweep');
      assert.equal(merged.version, 1);
      assert.equal(merged.points.length, 2);
      const two = merged.points.find((p) => p.gpus === 2) as SweepPoint;
      assert.deepEqual([two.network, two.precision, two.batch, two.status], ['AlexNet', 'int8', 128, 'ok']);
      assert.equal(two.imagesPerSecond, 1900);
      assert.equal(two.gpuComputeImagesPerSecond, 2100);
      assert.deepEqual(
        two.perGpu?.map((r) => r.rank?.rank),
        [0, 1],
      );
      const one = merged.points.find((p) => p.gpus === 1) as SweepPoint;
      assert.equal(one.imagesPerSecond, 950);
      assert.equal(merged.date, '2026-11-28T10:05:00Z', 'the latest date');
      assert.equal(merged.commit, 'abc1234');
      assert.equal(merged.machine.gpus.length, 2, 'the devices of the largest run');
    });

    it('leaves GPU compute images/s out when a rank has none', () => {
      const merged = mergeResults([bench({ ips: 1, computeIps: 2, rank: 0, size: 2 }), bench({ ips: 1, rank: 1, size: 2 })]);
      assert.equal(merged.points[0].gpuComputeImagesPerSecond, undefined);
      assert.equal(merged.points[0].imagesPerSecond, 2);
    });

    it('concatenates sweeps with rank runs under one spelling of each network', () => {
      const merged = mergeResults([
        sweepDoc([ok('AlexNet', 'fp16', 128, 1, 80000), ok('models/googlenet.prototxt', 'fp16', 128, 1, 30000)], { commit: 'abc1234' }),
        bench({ network: 'alexnet', precision: 'fp16', ips: 79000, rank: 0, size: 2, commit: 'def5678' }),
        bench({ network: 'alexnet', precision: 'fp16', ips: 79500, rank: 1, size: 2, commit: 'def5678' }),
      ]);
      assert.deepEqual(
        merged.points.map((p) => [p.network, p.gpus, p.imagesPerSecond]),
        [
          ['AlexNet', 1, 80000],
          ['googlenet', 1, 30000],
          ['AlexNet', 2, 158500],
        ],
      );
      assert.equal(merged.commit, 'abc1234, def5678');
      assert.equal(merged.machine.driverVersion, 13000);
      assert.equal(merged.machine.hostname, 'testhost');
    });

    it('names the missing rank and how many rank.size expects (E_INVALID_ARGUMENT)', () => {
      rejectsSync(
        () => mergeResults([bench({ ips: 1, rank: 0, size: 4 }), bench({ ips: 1, rank: 2, size: 4 })], { sources: ['r0.json', 'r2.json'] }),
        'E_INVALID_ARGUMENT',
        'AlexNet int8 batch 128 on 4 GPUs: ranks 1, 3 missing (rank.size is 4',
        'rank 0: AlexNet int8 batch 128 (r0.json)',
      );
    });

    it('refuses rank files of one run that time different configurations', () => {
      rejectsSync(
        () =>
          mergeResults([bench({ ips: 1, rank: 0, size: 2 }), bench({ ips: 1, rank: 1, size: 2, batch: 64 })], {
            sources: ['a.json', 'b.json'],
          }),
        'E_INVALID_ARGUMENT',
        'do not add up',
        'rank 0: AlexNet int8 batch 128 (a.json)',
        'rank 1: AlexNet int8 batch 64 (b.json)',
      );
      rejectsSync(
        () => mergeResults([bench({ ips: 1, rank: 0, size: 2 }), bench({ ips: 1, rank: 1, size: 2, network: 'GoogleNet' })]),
        'E_INVALID_ARGUMENT',
        'rank 1: GoogleNet int8 batch 128 (docs[1])',
      );
      rejectsSync(
        () => mergeResults([bench({ ips: 1, rank: 0, size: 2 }), bench({ ips: 1, rank: 1, size: 2, backend: 'tensorrt' })]),
        'E_INVALID_ARGUMENT',
        "the ranks disagree on the backend: 'cuda' (docs[0]) but 'tensorrt' (docs[1])",
      );
    });

    it('refuses a rank given twice, a point given twice, two GPU models and incomparable settings', () => {
      rejectsSync(
        () =>
          mergeResults([bench({ ips: 1, rank: 0, size: 2 }), bench({ ips: 1, rank: 0, size: 2 }), bench({ ips: 1, rank: 1, size: 2 })], {
            sources: ['a.json', 'b.json', 'c.json'],
          }),
        'E_INVALID_ARGUMENT',
        'rank 0 appears twice (a.json and b.json)',
      );
      rejectsSync(
        () => mergeResults([sweepDoc([ok('AlexNet', 'int8', 128, 1, 5)]), bench({ ips: 1 })], { sources: ['s.json', 'b.json'] }),
        'E_INVALID_ARGUMENT',
        'AlexNet int8 batch 128 on 1 GPU(s) appears twice: in s.json points[0] and in b.json',
      );
      rejectsSync(
        () => mergeResults([bench({ ips: 1 }), bench({ ips: 1, precision: 'fp16', gpu: 'NVIDIA H100 80GB HBM3' })]),
        'E_INVALID_ARGUMENT',
        'a report covers one GPU model',
        'NVIDIA H200 (docs[0])',
        'NVIDIA H100 80GB HBM3 (docs[1])',
      );
      const noCopies = { ...bench({ ips: 1, precision: 'fp16' }), settings: { ...SETTINGS, dataTransfers: false } };
      rejectsSync(
        () => mergeResults([bench({ ips: 1 }), noCopies]),
        'E_INVALID_ARGUMENT',
        'disagree on settings.dataTransfers: true in docs[0] but false in docs[1]',
      );
      const queued = { ...bench({ ips: 1, precision: 'fp16' }), settings: { ...SETTINGS, inflight: 2 } };
      rejectsSync(
        () => mergeResults([bench({ ips: 1 }), queued]),
        'E_INVALID_ARGUMENT',
        'disagree on settings.inflight: 1 in docs[0] but 2 in docs[1]',
      );
      const one = { ...bench({ ips: 1, precision: 'fp16' }), settings: { ...SETTINGS, inflight: 1 } };
      assert.equal(mergeResults([bench({ ips: 1 }), one]).points.length, 2, 'an absent inflight is 1');
    });

    it("--duplicates last: a later file's point replaces the earlier one, and each replacement is told", () => {
      const replaced: string[] = [];
      const merged = mergeResults(
        [
          sweepDoc([ok('AlexNet', 'int8', 64, 1, 4), ok('AlexNet', 'int8', 128, 1, 5)]),
          sweepDoc([ok('AlexNet', 'int8', 128, 1, 6), ok('AlexNet', 'int8', 128, 2, 12)]),
        ],
        { sources: ['one.json', 'two.json'], duplicates: 'last', onReplaced: (m) => replaced.push(m) },
      );
      assert.deepEqual(
        merged.points.map((p) => `${p.batch} x${p.gpus} ${p.imagesPerSecond}`),
        ['64 x1 4', '128 x1 6', '128 x2 12'],
      );
      assert.deepEqual(replaced, ['AlexNet int8 batch 128 on 1 GPU(s): two.json points[0] replaces one.json points[1]']);
      assert.throws(() => mergeResults([bench({ ips: 1 })], { duplicates: 'first' as never }), {
        name: 'TypeError',
        message: /'error' or 'last' for options.duplicates/,
      });
      assert.throws(() => mergeResults([bench({ ips: 1 })], { duplicates: 'last', onReplaced: 'log' as never }), {
        name: 'TypeError',
        message: /a function for options.onReplaced/,
      });
    });

    it('rejects arguments of the wrong shape with TypeError / RangeError naming the field', () => {
      assert.throws(() => mergeResults('a.json' as never), {
        name: 'TypeError',
        message: 'Expected an array of BenchResult or SweepDoc objects for docs but received type string ("a.json")',
      });
      assert.throws(() => mergeResults([]), {
        name: 'RangeError',
        message: 'Expected at least one result document for docs but received an Array of length 0',
      });
      assert.throws(() => mergeResults([42 as never]), {
        name: 'TypeError',
        message: 'Expected a BenchResult or SweepDoc object for docs[0] but received type number (42)',
      });
      assert.throws(() => mergeResults([{ kind: 'trtexec' } as never]), {
        name: 'TypeError',
        message: /for docs\[0\]\.kind but received type string \("trtexec"\)/,
      });
      assert.throws(() => mergeResults([{ ...bench({ ips: 1 }), batch: 0 }]), {
        name: 'TypeError',
        message: 'Expected a positive integer for docs[0].batch but received type number (0)',
      });
      assert.throws(() => mergeResults([{ ...bench({ ips: 1 }), precision: 'bf16' as never }]), {
        name: 'TypeError',
        message: /one of 'fp32', 'tf32', 'fp16', 'int8' for docs\[0\]\.precision/,
      });
      assert.throws(() => mergeResults([{ ...bench({ ips: 1 }), version: 2 as never }]), {
        name: 'TypeError',
        message: /this reader is older than the document/,
      });
      assert.throws(() => mergeResults([bench({ ips: 1, rank: 2, size: 2 })]), {
        name: 'RangeError',
        message: /integer in \[0, 1\] \(rank.size is 2\) for docs\[0\]\.rank\.rank/,
      });
      assert.throws(() => mergeResults([sweepDoc([{ ...ok('AlexNet', 'fp32', 1, 1, 1), imagesPerSecond: undefined }])]), {
        name: 'TypeError',
        message: 'Expected a finite number >= 0 for docs[0].points[0].imagesPerSecond but received undefined',
      });
      assert.throws(() => mergeResults([sweepDoc([{ ...ok('AlexNet', 'fp32', 1, 1, 1), status: 'failed' as never }])]), {
        name: 'TypeError',
        message: /'ok', 'oom' or 'error' for docs\[0\]\.points\[0\]\.status/,
      });
      assert.throws(() => mergeResults([bench({ ips: 1 })], { sources: 'a' as never }), { name: 'TypeError', message: /options\.sources/ });
    });
  });

  describe('result files', () => {
    it('reads a sweep and a bench result; E_IO for a missing file', async () => {
      const file = path.join(dir, 'sweep.json');
      fs.writeFileSync(file, JSON.stringify(fullSweep()));
      assert.equal((await readResultFile(file)).kind, 'tensorrt-node-sweep');
      await fails(readResultFile(path.join(dir, 'nope.json')), 'E_IO', 'cannot read result file', 'nope.json');
    });

    it('E_PARSE with line and column for text that is not JSON, and naming the file and field for a wrong shape', async () => {
      const bad = path.join(dir, 'bad.json');
      fs.writeFileSync(bad, '{\n  "kind": "tensorrt-node-sweep",\n  "version": 1,,\n}');
      await fails(readResultFile(bad), 'E_PARSE', `${bad}:3:`, 'is not JSON');
      const shape = path.join(dir, 'shape.json');
      fs.writeFileSync(shape, JSON.stringify({ ...fullSweep(), points: [{ network: 'AlexNet' }] }));
      await fails(
        readResultFile(shape),
        'E_PARSE',
        `${shape}: Expected one of 'fp32', 'tf32', 'fp16', 'int8' for document.points[0].precision`,
      );
      const other = path.join(dir, 'other.json');
      fs.writeFileSync(other, '[1, 2]');
      await fails(
        readResultFile(other),
        'E_PARSE',
        'Expected a BenchResult or SweepDoc object for document but received an Array of length 2',
      );
    });

    it('reads the PyTorch peer file committed for the H200 and refuses a malformed one', async () => {
      const peer = await readPeerFile(path.join(ROOT, 'results/H200/torch-peer-2026-11-28-3915d23.json'));
      assert.ok(peer.alexnet.precisions.fp16.rows.some((r) => r.batch === 128));
      const bad = path.join(dir, 'peer.json');
      fs.writeFileSync(bad, JSON.stringify({ alexnet: { precisions: { fp16: { rows: [{ batch: 128, graph: { ms: 0 } }] } } } }));
      await fails(readPeerFile(bad), 'E_PARSE', 'Expected a time in ms > 0 for document.alexnet.precisions.fp16.rows[0].graph.ms');
      fs.writeFileSync(bad, '{}');
      await fails(readPeerFile(bad), 'E_PARSE', 'at least one network');
    });
  });

  describe('writeReport', function () {
    this.timeout(120000);
    let out: string;
    let result: Awaited<ReturnType<typeof writeReport>>;
    let md: string;

    before(async () => {
      out = path.join(dir, 'full');
      result = await writeReport(fullSweep(), { outDir: out, peer: peerDoc(), sources: ['sweep.json'] });
      md = fs.readFileSync(path.join(out, 'REPORT.md'), 'utf8');
    });

    it('writes REPORT.md last and an SVG and a PNG for each of the 7 figures', () => {
      const names = result.files.map((f) => path.basename(f));
      assert.equal(names[names.length - 1], 'REPORT.md');
      assert.deepEqual(
        names.filter((n) => n.endsWith('.svg')),
        [
          'fig-1-precision.svg',
          'fig-2-scaling-alexnet.svg',
          'fig-3-scaling-googlenet.svg',
          'fig-4-reference-alexnet.svg',
          'fig-5-reference-googlenet.svg',
          'fig-6-batch.svg',
          'fig-7-peer.svg',
        ],
      );
      assert.equal(names.filter((n) => n.endsWith('.png')).length, 7);
      assert.deepEqual(
        result.figures.filter((f) => f.skipped !== undefined),
        [],
      );
      for (const f of result.files) assert.ok(fs.statSync(f).size > 0, f);
      // On a machine without any known font file the only warning is that the PNGs may lack text.
      const expected = chooseFont().fontFiles.length > 0 ? [] : result.warnings.filter((w) => w.startsWith('no font found'));
      assert.deepEqual(result.warnings, expected, 'no chart warnings, the peer on the same GPU');
    });

    it('SVGs are SVG documents that resvg parses, with the expected labels', async () => {
      const libs = await loadChartLibraries();
      const expected: Record<string, string[]> = {
        'fig-1-precision.svg': ['AlexNet', 'GoogleNet', 'FP32', 'TF32', 'FP16', 'INT8', 'images/s', 'batch 128, 1 GPU', '95,743'],
        'fig-2-scaling-alexnet.svg': ['AlexNet on H200', 'GPUs', 'measured', 'ideal (N x 1 GPU)'],
        'fig-3-scaling-googlenet.svg': ['GoogleNet on H200'],
        'fig-4-reference-alexnet.svg': ['P40 INT8 (2017)', 'P40 FP32 (2017)', 'M40 FP32 (2017)', 'H200 INT8', '4 GPUs', 'log scale'],
        'fig-5-reference-googlenet.svg': ['GoogleNet: H200 vs the 2017 study'],
        'fig-6-batch.svg': ['batch size (log2)', 'AlexNet', 'GoogleNet', '256'],
        'fig-7-peer.svg': ['tensorrt-node', 'PyTorch', 'FP16'],
      };
      for (const [name, labels] of Object.entries(expected)) {
        const svg = fs.readFileSync(path.join(out, name), 'utf8');
        assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/, name);
        assert.match(svg, /<\/svg>\s*$/, name);
        assertWellFormed(svg, name);
        const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1].replace(/&amp;/g, '&'));
        for (const label of labels)
          assert.ok(
            texts.some((t) => t.includes(label)),
            `${name} lacks the label ${JSON.stringify(label)}`,
          );
        const png = new libs.Resvg(svg).render();
        assert.ok(png.width > 100 && png.height > 100, `${name} renders`);
      }
    });

    it('the batch figure marks out-of-memory batches and omits error points', () => {
      const svg = fs.readFileSync(path.join(out, 'fig-6-batch.svg'), 'utf8');
      assert.ok(svg.includes('role-mark'), 'has marks');
      const labels = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
      assert.ok(labels.includes('512') && labels.includes('1024'), 'OOM batches on the axis');
      assert.ok(!labels.includes('64'), 'the error point (batch 64) is not drawn');
    });

    it('PNGs start with the PNG signature, are larger than 1 KB and carry drawn text', async () => {
      for (const f of result.files.filter((n) => n.endsWith('.png'))) {
        const png = fs.readFileSync(f);
        assert.ok(png.subarray(0, 8).equals(PNG_SIGNATURE), `${f}: PNG signature`);
        assert.ok(png.length > 1024, `${f}: ${png.length} bytes`);
      }
      const libs = await loadChartLibraries();
      const none = { fontFiles: [], loadSystemFonts: false, description: 'none' };
      assert.equal(fontDrawsText(libs, none), false, 'the probe sees that text vanishes without fonts');
      const font = chooseFont();
      if (font.fontFiles.length === 0) return; // no known font file on this machine: the warning test below covers it
      assert.ok(fontDrawsText(libs, font), `text drawn with ${font.description}`);
    });

    it('REPORT.md gives the setup: GPU, driver, commit, date, backend, timing', () => {
      assert.match(md, /^# Inference throughput on NVIDIA H200\n/);
      assert.ok(md.includes('| GPU | 2 x NVIDIA H200 (150.0 GB, compute capability 9.0) |'));
      assert.ok(md.includes('| Driver | 13000 (CUDA 13.0) |'));
      assert.ok(md.includes('| Commit | abc1234 |'));
      assert.ok(md.includes('| Date | 2026-11-28T12:00:00Z |'));
      assert.ok(md.includes('| Backend | cuda |'));
      assert.ok(md.includes('host-device transfers included; CUDA graph; 1 stream'));
    });

    it('REPORT.md embeds every figure with its SVG and PNG', () => {
      assert.ok(md.includes('![Fig. 1: Images/s by precision, batch 128, 1 GPU](fig-1-precision.svg)'));
      for (const f of result.figures) assert.ok(md.includes(`[PNG](${f.id}.png)`), f.id);
      assert.ok(!md.includes('Skipped'));
    });

    it('the table of every point has images/s, per-GPU images/s, GPU compute ms and status with messages', () => {
      assert.ok(
        md.includes(
          '| network | precision | batch | GPUs | images/s | per-GPU images/s | GPU compute images/s | GPU compute ms (median) | status |',
        ),
      );
      assert.ok(md.includes('| AlexNet | INT8 | 128 | 1 | 95,743 | 95,743 | 100,530 | 1.273 | ok |'), 'a 1-GPU point');
      assert.ok(md.includes('| AlexNet | INT8 | 128 | 2 | 190,529 | 95,264 | - | - | ok |'), 'a 2-GPU point');
      assert.ok(md.includes('| AlexNet | INT8 | 512 | 1 | - | - | - | - | oom: E_OUT_OF_MEMORY: 90.1 GB asked, 80.0 GB free |'));
      assert.ok(
        md.includes('| GoogleNet | FP16 | 64 | 1 | - | - | - | - | error: E_CUDA: launch failed \\| odd |'),
        'a | in a message is escaped',
      );
      const section = md.slice(md.indexOf('## Every point'), md.indexOf('## Batch limits'));
      const rows = section.split('\n').filter((l) => /^\| (AlexNet|GoogleNet) \| /.test(l));
      assert.equal(rows.length, fullSweep().points.length, 'one row per point');
    });

    it('gives the largest batch that ran and the smallest out of memory per network and precision', () => {
      assert.ok(md.includes('## Batch limits\n\nPer network, precision and GPU count: the largest batch per GPU that ran'));
      assert.ok(md.includes('The largest batch that fits is known only where a larger one ran out of memory'));
      assert.ok(!md.includes('## Largest batch that fits'), 'no heading claims a limit the sweep did not reach');
      assert.ok(md.includes('| AlexNet | INT8 | 1 | 256 | 512 | - |'));
      assert.ok(md.includes('| GoogleNet | FP16 | 1 | 128 | none measured | batch 64 |'));
      assert.ok(!/\| AlexNet \| INT8 \| 2 \| 128 \|/.test(md), 'a 2-GPU run at one batch says nothing about the limit');
    });

    it('gives the scaling efficiency against the 0.97 target', () => {
      assert.ok(md.includes('| AlexNet | INT8 | 128 | 2 | 190,529 | 95,743 | 0.995 | meets |'));
      assert.ok(md.includes('| GoogleNet | FP32 | 128 | 2 | 15,780 | 8,305 | 0.950 | **below** |'));
      assert.ok(md.includes('Target: 0.97 or better.'));
    });

    it('puts the numbers next to the 2017 study and the PyTorch peer with their ratios', () => {
      assert.ok(md.includes('| AlexNet | P40 INT8 | multi-GPU runs | 2 | 32,386 | H200 INT8 | 190,529 | 5.88x |'));
      assert.ok(md.includes('| GoogleNet | M40 FP32 | 1-GPU comparison | 1 | 1,446 | H200 FP32 | 8,305 | 5.74x |'));
      assert.ok(md.includes('| AlexNet | P40 INT8 | multi-GPU runs | 4 | 64,691 | H200 INT8 | - | - |'), 'not measured on 4 GPUs');
      // ours: GPU compute images/s (1.05 x); PyTorch: 128 / 4.2604 ms.
      assert.ok(md.includes('| AlexNet | FP16 | 128 | 88,146 | 30,044 | 2.93x |'));
      assert.ok(md.includes('| AlexNet | INT8 | 128 | 100,530 | no INT8 path | - |'));
      assert.ok(md.includes('| GoogleNet | TF32 | 128 | 20,091 | not measured | - |'));
      assert.ok(md.includes('PyTorch 2.11.0 on NVIDIA H200'));
    });

    it('is the same for the same input (no clock, no host in the output)', async () => {
      const again = path.join(dir, 'again');
      await writeReport(fullSweep(), { outDir: again, peer: peerDoc(), sources: ['sweep.json'] });
      assert.equal(fs.readFileSync(path.join(again, 'REPORT.md'), 'utf8'), md);
      assert.equal(
        fs.readFileSync(path.join(again, 'fig-1-precision.svg'), 'utf8'),
        fs.readFileSync(path.join(out, 'fig-1-precision.svg'), 'utf8'),
      );
    });

    it('skips the figures without data and says why: 1 GPU only, no peer, no 2017 numbers for the network', async () => {
      const sweep = sweepDoc([ok('AlexNet', 'fp32', 128, 1, 100), ok('AlexNet', 'int8', 128, 1, 300), ok('LeNet', 'fp32', 128, 1, 9000)], {
        gpus: 1,
      });
      const oneDir = path.join(dir, 'one');
      const r = await writeReport(sweep, { outDir: oneDir });
      const text = fs.readFileSync(path.join(oneDir, 'REPORT.md'), 'utf8');
      assert.ok(
        text.includes(
          '### Fig. 2. AlexNet: scaling over GPUs, batch 128\n\n*Skipped: AlexNet was measured on 1 GPU only at batch 128: no scaling to draw.*',
        ),
      );
      assert.ok(text.includes('*Skipped: LeNet was measured on 1 GPU only at batch 128: no scaling to draw.*'));
      assert.ok(text.includes('*Skipped: the 2017 study has no numbers for LeNet.*'));
      assert.ok(text.includes('*Skipped: no network and precision was measured at two or more batch sizes on 1 GPU.*'));
      assert.ok(text.includes('*Skipped: no PyTorch peer file was given (`--peer`).*'));
      assert.ok(text.includes('*No multi-GPU points were measured.*'));
      assert.deepEqual(
        r.figures.filter((f) => f.skipped === undefined).map((f) => f.id),
        ['fig-1-precision', 'fig-4-reference-alexnet'],
      );
      assert.deepEqual(fs.readdirSync(oneDir).sort(), [
        'REPORT.md',
        'fig-1-precision.png',
        'fig-1-precision.svg',
        'fig-4-reference-alexnet.png',
        'fig-4-reference-alexnet.svg',
      ]);
      const none = await writeReport(sweep, { outDir: path.join(dir, 'none'), batch: 64, reference: null });
      assert.ok(none.figures.every((f) => f.skipped !== undefined));
      const noneText = fs.readFileSync(path.join(dir, 'none', 'REPORT.md'), 'utf8');
      assert.ok(noneText.includes('*Skipped: no network was measured on 1 GPU at batch 64 (status ok).*'));
      assert.ok(noneText.includes('*Skipped: no reference numbers were given.*'));
    });

    it('a cpu sweep says CPU: no GPU row, driver, CUDA graph or GPU compute columns; CPU workers for several', async () => {
      // As `sweep --backend cpu` wrote it before it recorded useCudaGraph: false.
      const cpuResult = (batch: number, ips: number): BenchResult => ({
        ...bench({ network: 'LeNet', precision: 'fp32', batch, ips, backend: 'cpu', gpu: 'Test CPU x16' }),
        settings: { ...SETTINGS, useCudaGraph: false },
      });
      const sweep: SweepDoc = {
        ...sweepDoc([
          ok('LeNet', 'fp32', 1, 1, 3000, { perGpu: [cpuResult(1, 3000)] }),
          ok('LeNet', 'fp32', 2, 1, 4000, { perGpu: [cpuResult(2, 4000)] }),
          ok('LeNet', 'fp32', 2, 2, 7000, { perGpu: [cpuResult(2, 3500), cpuResult(2, 3500)] }),
        ]),
        machine: { gpus: [], cpu: 'Test CPU x16', hostname: 'testhost' },
      };
      const cpuDir = path.join(dir, 'cpu');
      const r = await writeReport(sweep, { outDir: cpuDir, batch: 2, reference: null });
      const text = fs.readFileSync(path.join(cpuDir, 'REPORT.md'), 'utf8');
      assert.ok(text.includes('on this CPU.'), 'the introduction');
      assert.ok(text.includes('| CPU | Test CPU x16 |'));
      assert.ok(!/\| (GPU|Driver) \|/.test(text));
      assert.ok(
        text.includes(
          '| Timing | warm-up 200 ms; at least 3 s and 10 inferences; averages of 10 inferences; host-device transfers included; 1 stream;',
        ),
      );
      assert.ok(!text.includes('CUDA graph'));
      assert.ok(text.includes('| network | precision | batch | CPU workers | images/s | per-worker images/s | status |'));
      assert.ok(text.includes('| LeNet | FP32 | 2 | 2 | 7,000 | 3,500 | ok |'));
      assert.ok(text.includes('### Fig. 1. Images/s by precision, batch 2, 1 CPU'));
      assert.ok(text.includes('### Fig. 2. LeNet: scaling over CPU workers, batch 2'));
      assert.ok(text.includes('## Multi-worker scaling'));
      assert.ok(text.includes('| network | precision | batch | CPU workers | images/s | 1-worker images/s | efficiency |'));
      assert.ok(text.includes('that ran out of memory.'));
      // Past the 2017 study's own description, nothing in the report says GPU.
      const ours = text.replace(/^tensorrt-node's rerun of Dell's 2017 TensorRT study .*$/m, '');
      assert.doesNotMatch(ours, /GPU/);
      const svg = fs.readFileSync(path.join(cpuDir, 'fig-2-scaling-lenet.svg'), 'utf8');
      assert.ok(svg.includes('CPU workers') && svg.includes('ideal (N x 1 CPU)') && !svg.includes('GPU'));
      assert.deepEqual(
        r.figures.filter((f) => f.skipped === undefined).map((f) => f.id),
        ['fig-1-precision', 'fig-2-scaling-lenet', 'fig-4-batch'],
      );
    });

    it('warns when the peer ran on another GPU and when figure files of an earlier report remain', async () => {
      const target = path.join(dir, 'warn');
      fs.mkdirSync(target);
      fs.writeFileSync(path.join(target, 'fig-9-old.svg'), '<svg/>');
      const r = await writeReport(fullSweep(), { outDir: target, peer: peerDoc('NVIDIA H100 80GB HBM3') });
      assert.ok(r.warnings.some((w) => w.includes('the PyTorch peer ran on NVIDIA H100 80GB HBM3, this sweep on NVIDIA H200')));
      assert.ok(r.warnings.some((w) => w.includes('fig-9-old.svg')));
      assert.ok(fs.readFileSync(path.join(target, 'REPORT.md'), 'utf8').includes('## Warnings'));
    });

    it('draws text with a given font file; E_IO when it cannot be read; a warning when it is no font', async () => {
      const font = chooseFont();
      if (font.fontFiles.length > 0) {
        const r = await writeReport(fullSweep(), { outDir: path.join(dir, 'font'), fontFile: font.fontFiles[0] });
        assert.deepEqual(r.warnings, []);
      }
      await fails(
        writeReport(fullSweep(), { outDir: path.join(dir, 'font2'), fontFile: path.join(dir, 'missing.ttf') }),
        'E_IO',
        'cannot read font',
      );
      // A file that is no font: the PNGs are written without text, and the report says so.
      const notFont = path.join(dir, 'not-a-font.ttf');
      fs.writeFileSync(notFont, 'not a font');
      const r = await writeReport(fullSweep(), { outDir: path.join(dir, 'font3'), fontFile: notFont });
      assert.ok(
        r.warnings.some((w) => w.startsWith(`no font found that resvg can draw text with (tried the given font ${notFont})`)),
        r.warnings.join('; '),
      );
      assert.ok(fs.readFileSync(path.join(dir, 'font3', 'REPORT.md'), 'utf8').includes('the PNG figures have no text (the SVGs do)'));
      assert.ok(fs.statSync(path.join(dir, 'font3', 'fig-1-precision.png')).size > 1024);
    });

    it('E_BACKEND_UNAVAILABLE with the install command when a chart library is missing', async () => {
      const resolveModule = (name: string): string => {
        if (name === 'vega-lite') throw Object.assign(new Error(`Cannot find module '${name}'`), { code: 'MODULE_NOT_FOUND' });
        return require.resolve(name);
      };
      await fails(
        writeReport(fullSweep(), { outDir: path.join(dir, 'nolib'), resolveModule }),
        'E_BACKEND_UNAVAILABLE',
        "vega-lite cannot be loaded: Cannot find module 'vega-lite'",
        'Install them: npm install vega vega-lite @resvg/resvg-js (in the project that uses tensorrt-node',
      );
    });

    it('rejects arguments of the wrong shape (TypeError) and an output folder that cannot be made (E_IO)', async () => {
      await assert.rejects(writeReport(null as never, { outDir: dir }), {
        name: 'TypeError',
        message: "Expected a SweepDoc (kind 'tensorrt-node-sweep') for sweep but received null",
      });
      await assert.rejects(writeReport(bench({ ips: 1 }) as never, { outDir: dir }), {
        name: 'TypeError',
        message: /'tensorrt-node-sweep' for sweep\.kind/,
      });
      await assert.rejects(writeReport(fullSweep(), undefined as never), {
        name: 'TypeError',
        message: 'Expected an options object for options but received undefined',
      });
      await assert.rejects(writeReport(fullSweep(), { outDir: '' }), {
        name: 'TypeError',
        message: 'Expected a folder path string for options.outDir but received type string ("")',
      });
      await assert.rejects(writeReport(fullSweep(), { outDir: dir, batch: 1.5 }), {
        name: 'TypeError',
        message: /positive integer for options\.batch/,
      });
      await assert.rejects(writeReport(fullSweep(), { outDir: dir, peer: { alexnet: {} } as never }), {
        name: 'TypeError',
        message: /for options\.peer\.alexnet\.precisions/,
      });
      await assert.rejects(writeReport(fullSweep(), { outDir: dir, reference: { ...DELL_2017, batch: 0 } }), {
        name: 'TypeError',
        message: /options\.reference\.batch/,
      });
      await assert.rejects(writeReport(fullSweep(), { outDir: dir, notes: [3] as never }), {
        name: 'TypeError',
        message: /an array of strings for options\.notes/,
      });
      const file = path.join(dir, 'a-file');
      fs.writeFileSync(file, 'x');
      await fails(writeReport(fullSweep(), { outDir: path.join(file, 'sub') }), 'E_IO', 'cannot create the report folder');
    });
  });

  describe('CLI: tensorrt-node report', function () {
    this.timeout(120000);

    it('teaches with --help: subcommands, options, notes and examples', async () => {
      const top = await run('report', '--help');
      assert.equal(top.code, 0);
      assert.match(top.out, /Usage: tensorrt-node report <merge\|build>/);
      assert.match(top.out, /merge {2}Merge bench rank files/);
      const build = await run('report', 'build', '--help');
      assert.equal(build.code, 0);
      for (const part of [
        '--peer <peer.json>',
        '-o, --output <dir>',
        '--batch <N>',
        '--font <file.ttf>',
        '--noReference',
        'Figures:',
        'Examples:',
      ]) {
        assert.ok(build.out.includes(part), part);
      }
      const merge = await run('report', 'merge', '-h');
      assert.equal(merge.code, 0);
      assert.match(merge.out, /rank\.size/);
      assert.match((await run('--help')).out, /report {5}Merge result JSON/);
    });

    it('usage errors exit 2 with a message and a pointer to --help', async () => {
      const cases: Array<[string[], RegExp]> = [
        [['report'], /give a subcommand: merge or build/],
        [['report', 'draw'], /unknown subcommand 'draw' \(subcommands: merge, build\)/],
        [['report', 'merge'], /report merge: give at least one result JSON file/],
        [['report', 'build'], /report build: give at least one sweep or result JSON file/],
        [['report', 'build', 'x.json', '--batch', '0'], /--batch must be an integer in \[1, 1048576\], got '0'/],
        [['report', 'build', 'x.json', '--colour'], /report build: Unknown option '--colour'/],
        [['report', 'build', 'x.json', '--peer'], /report build: Option '--peer <value>' argument missing/],
        [['report', 'build', 'x.json', '-o', ''], /--output needs a value/],
        [['report', 'merge', 'x.json', '--duplicates', 'first'], /report merge: --duplicates is 'error' or 'last', got 'first'/],
      ];
      for (const [argv, message] of cases) {
        const r = await run(...argv);
        assert.equal(r.code, 2, argv.join(' '));
        assert.match(r.err, message, argv.join(' '));
        assert.match(r.err, /Run `tensorrt-node report --help` for usage\./);
      }
    });

    it('unreadable, non-JSON and wrong-shape files exit 1 with their code', async () => {
      const missing = await run('report', 'merge', path.join(dir, 'missing.json'));
      assert.equal(missing.code, 1);
      assert.match(missing.err, /^error E_IO: cannot read result file .*missing\.json/);
      const notJson = path.join(dir, 'cli-bad.json');
      fs.writeFileSync(notJson, 'not json');
      const parse = await run('report', 'build', notJson, '-o', path.join(dir, 'cli-x'));
      assert.equal(parse.code, 1);
      // V8 gives a position for most syntax errors (then file:line:col), not for an unexpected first token.
      assert.match(parse.err, /^error E_PARSE: .*cli-bad\.json(:1:\d+)?: result file is not JSON: /);
      const sweepFile = path.join(dir, 'cli-sweep.json');
      fs.writeFileSync(sweepFile, JSON.stringify(fullSweep()));
      const badPeer = path.join(dir, 'cli-peer.json');
      fs.writeFileSync(badPeer, JSON.stringify({ alexnet: { precisions: 3 } }));
      const peer = await run('report', 'build', sweepFile, '--peer', badPeer, '-o', path.join(dir, 'cli-x'));
      assert.equal(peer.code, 1);
      assert.match(peer.err, /^error E_PARSE: .*cli-peer\.json: Expected an object for document\.alexnet\.precisions/);
    });

    it('a binary file given as result JSON is E_PARSE saying so, without its bytes', async () => {
      const elf = path.join(dir, 'cli-binary.json');
      fs.writeFileSync(elf, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00, 0x1b, 0x5b, 0x32, 0x4a, 0xff, 0xfe]));
      const plan = path.join(dir, 'cli-engine.plan');
      fs.writeFileSync(plan, Buffer.concat([Buffer.from('TRTNPLAN'), Buffer.from([1, 0, 0, 0, 0x80, 0, 0, 0]), Buffer.alloc(48)]));
      for (const [argv, file, what] of [
        [['report', 'build', elf, '-o', path.join(dir, 'cli-x')], elf, /binary data, not JSON/],
        [['report', 'merge', plan], plan, /binary data, not JSON \(a tensorrt-node plan\)/],
      ] as Array<[string[], string, RegExp]>) {
        const r = await run(...argv);
        assert.equal(r.code, 1, r.err);
        assert.ok(r.err.startsWith(`error E_PARSE: ${file}: not a result file: `), r.err);
        assert.match(r.err, what);
        assert.match(r.err, /bench --json, sweep or report merge/);
        assert.ok(/^[\x20-\x7e\n]*$/.test(r.err), `printable text only: ${JSON.stringify(r.err)}`);
        assert.ok(!r.err.includes('ELF') && !r.err.includes('TRTNPLAN\u0001'), 'no plan or ELF bytes');
      }
      const sweepFile = path.join(dir, 'cli-binary-sweep.json');
      fs.writeFileSync(sweepFile, JSON.stringify(fullSweep()));
      const peer = await run('report', 'build', sweepFile, '--peer', elf, '-o', path.join(dir, 'cli-x'));
      assert.equal(peer.code, 1);
      assert.match(peer.err, /^error E_PARSE: .*cli-binary\.json: not a peer file: binary data, not JSON/);
    });

    it('--duplicates last: the later file wins, each replacement on stderr and in REPORT.md', async () => {
      const a = path.join(dir, 'cli-dup-a.json');
      const b = path.join(dir, 'cli-dup-b.json');
      fs.writeFileSync(a, JSON.stringify(sweepDoc([ok('AlexNet', 'int8', 128, 1, 1000)])));
      fs.writeFileSync(b, JSON.stringify(sweepDoc([ok('AlexNet', 'int8', 128, 1, 2000)])));
      const refused = await run('report', 'merge', a, b);
      assert.equal(refused.code, 1);
      assert.match(
        refused.err,
        /appears twice: in .*cli-dup-a\.json points\[0\] and in .*cli-dup-b\.json points\[0\]; keep one of them \(or --duplicates last\)/,
      );
      const merged = await run('report', 'merge', a, b, '--duplicates', 'last');
      assert.equal(merged.code, 0, merged.err);
      assert.equal((JSON.parse(merged.out) as SweepDoc).points[0].imagesPerSecond, 2000);
      assert.match(
        merged.err,
        /^replaced: AlexNet int8 batch 128 on 1 GPU\(s\): .*cli-dup-b\.json points\[0\] replaces .*cli-dup-a\.json points\[0\]$/,
      );
      const outDir = path.join(dir, 'cli-dup-report');
      const built = await run('report', 'build', a, b, '--duplicates', 'last', '-o', outDir);
      assert.equal(built.code, 0, built.err);
      assert.match(fs.readFileSync(path.join(outDir, 'REPORT.md'), 'utf8'), /--duplicates last: 1 point\(s\) replaced by a later file's/);
    });

    it('a missing rank exits 1 with E_INVALID_ARGUMENT naming the file', async () => {
      const r0 = path.join(dir, 'cli-r0.json');
      fs.writeFileSync(r0, JSON.stringify(bench({ ips: 1000, rank: 0, size: 2 })));
      const r = await run('report', 'merge', r0);
      assert.equal(r.code, 1);
      assert.match(
        r.err,
        /error E_INVALID_ARGUMENT: AlexNet int8 batch 128 on 2 GPUs: rank 1 missing \(rank\.size is 2; got rank 0: .*cli-r0\.json\)/,
      );
    });

    it('merges rank files to a sweep file, then builds the report from it', async () => {
      const files = [0, 1].map((rank) => {
        const f = path.join(dir, `cli-rank${rank}.json`);
        fs.writeFileSync(f, JSON.stringify(bench({ ips: 95000 + rank * 100, computeIps: 99000, rank, size: 2 })));
        return f;
      });
      const one = path.join(dir, 'cli-one.json');
      fs.writeFileSync(one, JSON.stringify(bench({ ips: 95743, computeIps: 99000 })));
      const merged = path.join(dir, 'cli-merged.json');
      const m = await run('report', 'merge', ...files, one, '-o', merged);
      assert.equal(m.code, 0, m.err);
      assert.match(m.out, /wrote .*cli-merged\.json: 2 point\(s\) from 3 file\(s\), 1\/2 GPU\(s\), NVIDIA H200/);
      const doc = JSON.parse(fs.readFileSync(merged, 'utf8')) as SweepDoc;
      assert.deepEqual(
        doc.points.map((p) => [p.gpus, p.imagesPerSecond]),
        [
          [2, 190100],
          [1, 95743],
        ],
      );

      const printed = await run('report', 'merge', ...files);
      assert.equal((JSON.parse(printed.out) as SweepDoc).points[0].imagesPerSecond, 190100, 'without -o the sweep goes to stdout');

      const peerFile = path.join(dir, 'cli-peer-ok.json');
      fs.writeFileSync(peerFile, JSON.stringify(peerDoc()));
      const outDir = path.join(dir, 'cli-report');
      const b = await run('report', 'build', merged, '--peer', peerFile, '-o', outDir);
      assert.equal(b.code, 0, b.err);
      assert.match(b.out, /wrote .*cli-report\/REPORT\.md and \d figure\(s\) as SVG and PNG \(2 point\(s\), NVIDIA H200\)/);
      assert.match(b.out, /Fig\. 2 {2}fig-2-scaling-alexnet\.svg\/\.png/);
      assert.match(b.out, /Fig\. 3 {2}fig-3-reference-alexnet\.svg\/\.png/);
      assert.match(b.out, /Fig\. 4 {2}skipped: no network and precision was measured at two or more batch sizes on 1 GPU/);
      const text = fs.readFileSync(path.join(outDir, 'REPORT.md'), 'utf8');
      assert.ok(text.includes('| AlexNet | INT8 | 128 | 2 | 190,100 | 95,743 | 0.993 | meets |'));
      assert.ok(text.includes(`- \`${merged}\``) && text.includes(`- \`${peerFile} (--peer)\``), 'inputs listed');
      assert.ok(fs.readFileSync(path.join(outDir, 'fig-2-scaling-alexnet.png')).subarray(0, 8).equals(PNG_SIGNATURE));
    });
  });
});
