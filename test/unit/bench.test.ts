// The trtexec-style bench (options, summary, JSON, --exportTimes, --gpus workers, MPI ranks) and
// the sweep, on the cpu backend: every option's meaning, not the speed.
import { strict as assert } from 'assert';
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';
import { gpuList, mpiRank, rankDevice } from '../../lib/bench/multi';
import { devices } from '../../lib/device';
import type { BenchResult, SweepDoc, TimeStats } from '../../lib/bench/result';
import { benchEngine, timeStats, timingWarnings, traceAverages } from '../../lib/bench/timing';
import type { Engine } from '../../lib/runtime/engine';
import { parseBatches, parseGpuCounts } from '../../lib/cli/sweep';
import { estimateSeconds, formatDuration } from '../../lib/cli/sweep_time';
import { runCli as run } from '../support/cli';

const ROOT = path.resolve(__dirname, '../../..');
const LENET = path.join(ROOT, 'models', 'lenet.prototxt');
const CLI = path.join(ROOT, 'dist', 'lib', 'cli', 'main.js');
const QUICK = ['--backend', 'cpu', '--duration', '0.2', '--warmUp', '20'];

describe('bench: statistics and warnings', () => {
  it('timeStats: min, max, mean, median, the asked percentiles and the coefficient of variation', () => {
    const s = timeStats([4, 1, 3, 2, 10], [50, 90, 99]);
    assert.deepEqual([s.min, s.max, s.mean, s.median], [1, 10, 4, 3]);
    assert.deepEqual(s.percentiles, { 50: 3, 90: 10, 99: 10 });
    // Nearest rank without floating-point drift: p99.9 of 1000 values is the 999th, p7 of 100 the 7th.
    const thousand = Array.from({ length: 1000 }, (_, i) => i + 1);
    assert.equal(timeStats(thousand, [99.9]).percentiles['99.9'], 999);
    assert.deepEqual(timeStats(thousand.slice(0, 100), [7, 14, 28, 55, 56]).percentiles, { 7: 7, 14: 14, 28: 28, 55: 55, 56: 56 });
    assert.ok(Math.abs(s.cv - Math.sqrt(10) / 4) < 1e-12);
    assert.equal(timeStats([2, 2, 2], [90]).cv, 0);
  });

  it('benchEngine: min / max / median / percentiles are over every inference, not over --avgRuns means (trtexec)', async () => {
    // A fake engine whose GPU times follow a script: nine inferences of 1 ms, then one of 10 ms.
    // Means of 10 would report a max of 1.9 ms; trtexec reports the 10 ms inference.
    const series = [...Array(9).fill(1), 10, ...Array(9).fill(1), 10];
    let n = 0;
    const context = {
      lastTiming: undefined as { h2dMs: number; computeMs: number; d2hMs: number; enqueueMs: number } | undefined,
      benchInfer(): Promise<Record<string, Float32Array>> {
        const ms = series[n++ % series.length];
        this.lastTiming = { h2dMs: ms / 10, computeMs: ms, d2hMs: ms / 10, enqueueMs: ms / 100 };
        return Promise.resolve({});
      },
      dispose: () => undefined,
    };
    const engine = { backend: 'cpu', precision: 'fp32', inputs: [], outputs: [], createContext: () => context } as unknown as Engine;
    n = series.length - 1; // the warm-up's one inference takes the last entry: the timed ones start at the first
    const { result, times } = await benchEngine(
      engine,
      { file: 'fake.plan', name: 'fake' },
      {
        batch: 1,
        seed: 1,
        warmUpMs: 0,
        durationS: 0,
        iterations: 20,
        avgRuns: 10,
        percentiles: [50, 90, 95],
        dataTransfers: true,
        useCudaGraph: false,
        streams: 1,
      },
      { deviceIndex: 0 },
    );
    assert.deepEqual(
      times.map((t) => t.computeMs),
      series,
    );
    const compute = result.gpuComputeMs as TimeStats;
    assert.deepEqual([compute.min, compute.max, compute.median], [1, 10, 1]);
    assert.deepEqual(compute.percentiles, { 50: 1, 90: 1, 95: 10 });
    assert.ok(Math.abs(compute.mean - 1.9) < 1e-12);
    assert.equal((result.h2dMs as TimeStats).max, 1);
    assert.equal(result.enqueueMs.max, 0.1);
    assert.equal(result.settings.avgRuns, 10, 'the setting is kept: it groups the trace lines');
  });

  it('traceAverages: trtexec\'s "Average on N runs" lines, over consecutive inferences', () => {
    const t = (latencyMs: number, computeMs?: number) => ({
      stream: 0,
      latencyMs,
      startMs: 0,
      endMs: 0,
      enqueueMs: latencyMs / 10,
      ...(computeMs !== undefined ? { computeMs } : {}),
    });
    const lines = traceAverages([t(1, 0.5), t(3, 1.5), t(5, 2.5), t(7, 3.5), t(100, 50)], 2);
    assert.deepEqual(
      lines,
      [
        'Average on 2 runs - GPU latency: 1.000 ms - Host latency: 2.000 ms (enqueue 0.200 ms)',
        'Average on 2 runs - GPU latency: 3.000 ms - Host latency: 6.000 ms (enqueue 0.600 ms)',
      ],
      'the incomplete last group is left out, as trtexec does',
    );
    assert.deepEqual(traceAverages([t(1), t(3)], 2), ['Average on 2 runs - Host latency: 2.000 ms (enqueue 0.200 ms)']);
  });

  it('warns when the numbers vary (cv > 2.5%), when enqueue reaches compute, and when the host dominates', () => {
    const steady = timeStats([1, 1, 1, 1], [90]);
    const shaky = timeStats([1, 2, 1, 2], [90]);
    const base = { latencyMs: steady, enqueueMs: timeStats([0.01], [90]), iterations: 100 };
    assert.deepEqual(timingWarnings(base), []);
    assert.match(timingWarnings({ ...base, latencyMs: shaky }).join('\n'), /latency varies \(coefficient of variation 33\.3% > 2\.5%\)/);
    const gpu = { ...base, gpuComputeMs: timeStats([0.5, 0.5], [90]) };
    assert.match(timingWarnings({ ...gpu, enqueueMs: timeStats([0.6], [90]) }).join('\n'), /bound by enqueue time/);
    assert.match(timingWarnings({ ...gpu, latencyMs: timeStats([2, 2], [90]) }).join('\n'), /host-side overhead dominates/);
    assert.match(timingWarnings({ ...base, iterations: 3 }).join('\n'), /only 3 inferences/);
  });
});

describe('bench: the command', function () {
  this.timeout(60000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-bench-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('prints the performance summary with the asked percentiles and explains the metrics', async () => {
    const r = await run('bench', LENET, ...QUICK, '--percentile', '50,99.9', '--batch', '2');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /=== Performance summary ===/);
    assert.match(r.out, /Throughput: .* images\/s \(.* inferences\/s\)/);
    assert.match(
      r.out,
      /Latency: min = [\d.]+ ms, max = [\d.]+ ms, mean = [\d.]+ ms, median = [\d.]+ ms, percentile\(50%\) = [\d.]+ ms, percentile\(99\.9%\) = [\d.]+ ms/,
    );
    assert.match(r.out, /Enqueue Time: min = /);
    assert.match(r.out, /Total host walltime: [\d.]+ s over \d+ inferences/);
    assert.doesNotMatch(r.out, /GPU Compute Time/, 'the cpu backend has no GPU times');
    assert.doesNotMatch(r.out, /Average on/, 'the trace comes with --verbose only');
    // --verbose adds trtexec's trace: one line per --avgRuns inferences, before the summary.
    const v = await run('bench', LENET, ...QUICK, '--avgRuns', '5', '--iterations', '20', '--verbose');
    assert.equal(v.code, 0, v.err);
    assert.match(
      v.out,
      /Timing trace has \d+ inferences over [\d.]+ s\n=== Trace details ===\nTrace averages of 5 runs:\n(Average on 5 runs - Host latency: [\d.]+ ms \(enqueue [\d.]+ ms\)\n){4,}/,
    );
    assert.ok(v.out.indexOf('Average on 5 runs') < v.out.indexOf('=== Performance summary ==='));
    const help = await run('bench', '--help');
    for (const o of [
      '--avgRuns',
      '--percentile',
      '--noDataTransfers',
      '--useCudaGraph',
      '--streams',
      '--exportTimes',
      '--dumpProfile',
      '--gpus',
      '--resultFile',
    ]) {
      assert.ok(help.out.includes(o), `--help lacks ${o}`);
    }
    assert.match(help.out, /Explanations of the performance metrics/);
    assert.match(help.out, /Enqueue Time: host time/);
    assert.match(help.out, /percentiles of every metric are over every timed inference/);
  });

  it('--json is a BenchResult: settings echoed, throughput = batch x inferences / wall time', async () => {
    const r = await run('bench', LENET, ...QUICK, '--batch', '3', '--avgRuns', '4', '--iterations', '20', '--noDataTransfers', '--json');
    assert.equal(r.code, 0, r.err);
    const b = JSON.parse(r.out) as BenchResult;
    assert.equal(b.kind, 'tensorrt-node-bench');
    assert.equal(b.networkName, 'LeNet');
    assert.deepEqual(b.settings, {
      warmUpMs: 20,
      durationS: 0.2,
      iterations: 20,
      avgRuns: 4,
      percentiles: [90, 95, 99],
      dataTransfers: false,
      useCudaGraph: false,
      streams: 1,
    });
    assert.ok(b.iterations >= 20);
    assert.ok(Math.abs(b.throughput.imagesPerSecond - (3 * b.iterations) / b.walltimeSeconds) < 1e-6 * b.throughput.imagesPerSecond);
    assert.deepEqual(Object.keys(b.latencyMs.percentiles), ['90', '95', '99']);
    assert.ok(b.enqueueMs.median < b.latencyMs.median, 'handing over is quicker than the whole inference');
    assert.ok(b.timedWindow !== undefined && b.timedWindow.endEpochMs > b.timedWindow.startEpochMs);
  });

  it('--exportTimes writes every timed inference; --streams runs contexts side by side', async () => {
    const file = path.join(dir, 'times.json');
    const r = await run('bench', LENET, ...QUICK, '--streams', '2', '--exportTimes', file, '--json');
    assert.equal(r.code, 0, r.err);
    const b = JSON.parse(r.out) as BenchResult;
    const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as {
      kind: string;
      times: Array<{ stream: number; startMs: number; endMs: number; latencyMs: number; enqueueMs: number }>;
    };
    assert.equal(doc.kind, 'tensorrt-node-times');
    assert.equal(doc.times.length, b.iterations);
    assert.deepEqual([...new Set(doc.times.map((t) => t.stream))].sort(), [0, 1]);
    for (const t of doc.times) {
      assert.ok(Math.abs(t.endMs - t.startMs - t.latencyMs) < 1e-6 && t.enqueueMs <= t.latencyMs);
    }
    // Two streams overlap in time: some inference starts before another stream's previous one ends.
    const s0 = doc.times.filter((t) => t.stream === 0);
    const s1 = doc.times.filter((t) => t.stream === 1);
    assert.ok(
      s0.some((a) => s1.some((c) => c.startMs < a.endMs && a.startMs < c.endMs)),
      'the streams ran side by side',
    );
  });

  it("--inflight 2 times with inferences queued (trtexec's loop): every inference recorded, the setting kept", async () => {
    const file = path.join(dir, 'inflight-times.json');
    const r = await run('bench', LENET, ...QUICK, '--inflight', '2', '--exportTimes', file, '--json');
    assert.equal(r.code, 0, r.err);
    const b = JSON.parse(r.out) as BenchResult;
    assert.equal(b.settings.inflight, 2);
    assert.ok(b.iterations >= 10);
    const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as { times: Array<{ startMs: number; endMs: number; latencyMs: number }> };
    assert.equal(doc.times.length, b.iterations);
    for (let i = 1; i < doc.times.length; i++) assert.ok(doc.times[i].endMs >= doc.times[i - 1].endMs, 'in order');
    assert.ok(doc.times.every((t) => t.startMs >= 0 && t.endMs <= b.walltimeSeconds * 1000 + 1));
    const plain = JSON.parse((await run('bench', LENET, ...QUICK, '--json')).out) as BenchResult;
    assert.equal(plain.settings.inflight, undefined, 'one at a time is the default and is not written');
    // --tuneBatch belongs to builds: a plan already holds its tactics.
    const plan = path.join(dir, 'tune.plan');
    assert.equal((await run('build', LENET, '--backend', 'cpu', '-o', plan)).code, 0);
    const tuned = await run('bench', plan, ...QUICK, '--tuneBatch', '1');
    assert.equal(tuned.code, 2);
    assert.match(tuned.err, /--tuneBatch applies to prototxt files, not plans/);
    const bad = await run('bench', LENET, ...QUICK, '--inflight', '9');
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--inflight must be an integer in \[1, 8\]/);
  });

  it('--gpus runs one worker per GPU behind a start barrier and sums their images/s', async () => {
    // Worker 1 reaches the barrier 700 ms late: the timed windows must still start together.
    process.env.TRTN_BENCH_DELAY_RANK = '1:700';
    let r: { code: number; out: string; err: string };
    try {
      r = await run('bench', LENET, ...QUICK, '--gpus', '0,1', '--json');
    } finally {
      delete process.env.TRTN_BENCH_DELAY_RANK;
    }
    assert.equal(r.code, 0, r.err);
    const doc = JSON.parse(r.out) as { gpus: string[]; imagesPerSecond: number; perGpu: BenchResult[] };
    assert.deepEqual(doc.gpus, ['0', '1']);
    assert.equal(doc.perGpu.length, 2);
    assert.deepEqual(
      doc.perGpu.map((p) => p.device.visibleDevice),
      ['0', '1'],
      'each worker saw CUDA_VISIBLE_DEVICES=<its gpu>',
    );
    assert.deepEqual(
      doc.perGpu.map((p) => p.rank),
      [
        { rank: 0, size: 2, localRank: 0 },
        { rank: 1, size: 2, localRank: 1 },
      ],
    );
    assert.ok(Math.abs(doc.imagesPerSecond - doc.perGpu.reduce((a, p) => a + p.throughput.imagesPerSecond, 0)) < 1e-9);
    const [a, b] = doc.perGpu.map((p) => p.timedWindow as { startEpochMs: number });
    assert.ok(Math.abs(a.startEpochMs - b.startEpochMs) < 150, `the timed windows start together (${a.startEpochMs} vs ${b.startEpochMs})`);
    const text = await run('bench', LENET, ...QUICK, '--gpus', '0,1');
    assert.match(text.out, /device 2 x /);
    assert.match(text.out, /\[GPU 0\] Latency: /);
    assert.match(text.out, /\[GPU 1\] Throughput: /);
  });

  it('a --gpus worker that fails stops the others, and its error is the one reported', async () => {
    process.env.TRTN_BENCH_FAIL_RANK = '1';
    const t0 = performance.now();
    let r: { code: number; out: string; err: string };
    try {
      r = await run('bench', LENET, '--backend', 'cpu', '--duration', '30', '--warmUp', '20', '--gpus', '0,1');
    } finally {
      delete process.env.TRTN_BENCH_FAIL_RANK;
    }
    assert.equal(r.code, 1);
    assert.match(r.err, /error E_WORKER: the bench worker for GPU 1 exited with code 1: .*rank 1 failed on purpose/);
    assert.ok(performance.now() - t0 < 15000, 'worker 0 was stopped instead of timing its 30 s');
  });

  it('under mpirun each rank times its device behind a file barrier and writes its result file', async () => {
    assert.equal(mpiRank({}), undefined);
    assert.equal(mpiRank({ OMPI_COMM_WORLD_RANK: '0', OMPI_COMM_WORLD_SIZE: '1' }), undefined, 'one rank is not a multi-GPU run');
    assert.deepEqual(mpiRank({ OMPI_COMM_WORLD_RANK: '3', OMPI_COMM_WORLD_SIZE: '4', OMPI_COMM_WORLD_LOCAL_RANK: '1' })?.rank, {
      rank: 3,
      size: 4,
      localRank: 1,
    });
    assert.deepEqual(mpiRank({ PMI_RANK: '1', PMI_SIZE: '2' })?.rank, { rank: 1, size: 2, localRank: 1 });
    assert.equal(mpiRank({ OMPI_COMM_WORLD_RANK: '0', OMPI_COMM_WORLD_SIZE: '2', OMPI_MCA_ess_base_jobid: '42' })?.job, '42');
    // The device of a rank: its local rank among the visible GPUs; a one-GPU list is its own.
    assert.deepEqual([rankDevice(3, undefined), rankDevice(3, '0,1,2,3'), rankDevice(5, '4,5,6,7'), rankDevice(2, '7')], [3, 3, 1, 0]);
    const barrier = path.join(dir, 'barrier');
    // Files of an earlier job must not open this job's barrier.
    fs.mkdirSync(path.join(barrier, 'earlier'), { recursive: true });
    for (const f of ['ready.0', 'ready.1']) fs.writeFileSync(path.join(barrier, 'earlier', f), '1');
    const exec = promisify(execFile);
    const env = (rank: number) => {
      const e: NodeJS.ProcessEnv = {
        ...process.env,
        OMPI_COMM_WORLD_RANK: String(rank),
        OMPI_COMM_WORLD_SIZE: '2',
        OMPI_COMM_WORLD_LOCAL_RANK: String(rank),
        TRTN_BARRIER_ID: `job-${process.pid}`,
        TRTN_BENCH_DELAY_RANK: '1:700',
      };
      for (const k of ['OMPI_MCA_ess_base_jobid', 'PMIX_NAMESPACE', 'PMI_JOBID', 'SLURM_JOB_ID']) delete e[k];
      return e;
    };
    const ranks = [0, 1].map((rank) =>
      exec(process.execPath, [CLI, 'bench', LENET, ...QUICK, '--barrierDir', barrier, '--resultFile', path.join(dir, 'rank%r.json')], {
        env: env(rank),
      }),
    );
    await Promise.all(ranks);
    const results = [0, 1].map((rank) => JSON.parse(fs.readFileSync(path.join(dir, `rank${rank}.json`), 'utf8')) as BenchResult);
    assert.deepEqual(
      results.map((x) => x.rank?.rank),
      [0, 1],
    );
    assert.ok(results.every((x) => x.warnings.every((w) => !/barrierDir/.test(w))));
    const [a, b] = results.map((x) => (x.timedWindow as { startEpochMs: number }).startEpochMs);
    assert.ok(Math.abs(a - b) < 300, `the ranks started timing together (${a} vs ${b})`);
    // An MPI that names no job, without TRTN_BARRIER_ID: refused, not a barrier that may be stale.
    const lone = env(0);
    delete lone.TRTN_BARRIER_ID;
    await assert.rejects(
      exec(process.execPath, [CLI, 'bench', LENET, ...QUICK, '--barrierDir', barrier], { env: lone }),
      (e: { code: number; stderr: string }) =>
        e.code === 1 && /error E_WORKER: --barrierDir: this MPI does not name its job/.test(e.stderr),
    );
  });

  it('refuses bad options with exit code 2 and a message', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--percentile', '0'], /--percentile is a list of numbers in \(0, 100\]/],
      [['--percentile', '90,x'], /--percentile/],
      [['--avgRuns', '0'], /--avgRuns must be an integer/],
      [['--streams', '65'], /--streams must be an integer in \[1, 64\]/],
      [['--batch', '4', '--tuneBatch', '8'], /--tuneBatch must be an integer in \[1, 4\]/],
      [['--maxAuxStreams', '8'], /--maxAuxStreams must be an integer in \[0, 7\]/],
      [['--useCudaGraph', '--noCudaGraph'], /contradict/],
      [['--gpus', '0,0'], /--gpus is 'all' or distinct GPU indices/],
      [['--gpus', '0,1', '--exportTimes', 'x.json'], /--gpus runs workers/],
      [['--gpus', '0,1', '--resultFile', 'x.json'], /--resultFile needs %r/],
    ];
    for (const [extra, message] of cases) {
      const r = await run('bench', LENET, '--backend', 'cpu', ...extra);
      assert.equal(r.code, 2, `${extra.join(' ')}: ${r.err}`);
      assert.match(r.err, message);
    }
    assert.throws(() => gpuList('1,b'), RangeError);
  });

  it('--gpus all without a GPU, and a sweep asking for more GPUs than are visible, are E_NO_DEVICE', async function () {
    if (devices().devices.length > 0) this.skip(); // only meaningful where no GPU is visible
    const r = await run('bench', LENET, '--backend', 'cpu', '--gpus', 'all');
    assert.equal(r.code, 1);
    assert.match(r.err, /error E_NO_DEVICE: --gpus all: no GPU is visible/);
    const s = await run('sweep', '--networks', 'lenet', '--gpus', '1,2', '--batches', '1');
    assert.equal(s.code, 1);
    assert.match(s.err, /error E_NO_DEVICE: --gpus asks for 2 GPUs; 0 are visible/);
  });
});

describe('sweep', function () {
  this.timeout(120000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-sweep-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('parses batch lists, power-of-two ranges and GPU counts', () => {
    assert.deepEqual(parseBatches('1..16'), [1, 2, 4, 8, 16]);
    assert.deepEqual(parseBatches('128,1,8,8'), [1, 8, 128]);
    assert.deepEqual(parseGpuCounts('all', 4), [1, 2, 4]);
    assert.deepEqual(parseGpuCounts('all', 3), [1, 2, 3]);
    assert.deepEqual(parseGpuCounts('2,1', 0), [1, 2]);
    assert.throws(() => parseBatches('0..4'), /--batches range/);
    assert.throws(() => parseBatches('1,x'), /--batches is a list/);
  });

  it('runs networks x precisions x batches x GPU counts into one SweepDoc, with progress lines', async () => {
    const out = path.join(dir, 'sweep.json');
    const progress: string[] = [];
    const lines: string[] = [];
    const { runSweep } = await import('../../lib/cli/sweep');
    // What the file holds while the sweep runs: every finished point (a stopped sweep keeps them).
    const seen: number[] = [];
    const onDisk = () => (fs.existsSync(out) ? (JSON.parse(fs.readFileSync(out, 'utf8')) as SweepDoc).points.length : 0);
    const errors: string[] = [];
    const code = await runSweep(
      [
        '--backend',
        'cpu',
        '--networks',
        'lenet',
        '--precisions',
        'fp32,int8',
        '--batches',
        '1,2',
        '--gpus',
        '1,2',
        '--scalingBatch',
        '2',
        '--duration',
        '0.1',
        '--warmUp',
        '10',
        '-o',
        out,
      ],
      (s) => lines.push(s),
      (s) => errors.push(s),
      {
        progress: {
          write: (s) => {
            progress.push(s);
            seen.push(onDisk());
          },
          tty: false,
        },
      },
    );
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 5], 'the file is rewritten after every point');
    assert.equal(code, 0, lines.join('\n'));
    const doc = JSON.parse(fs.readFileSync(out, 'utf8')) as SweepDoc;
    assert.equal(doc.kind, 'tensorrt-node-sweep');
    assert.deepEqual(
      doc.points.map((p) => `${p.network} ${p.precision} ${p.batch} x${p.gpus} ${p.status}`),
      ['LeNet fp32 1 x1 ok', 'LeNet fp32 2 x1 ok', 'LeNet fp32 2 x2 ok', 'LeNet int8 1 x1 ok', 'LeNet int8 2 x1 ok', 'LeNet int8 2 x2 ok'],
    );
    for (const p of doc.points) {
      assert.equal(p.perGpu?.length, p.gpus);
      // The GPUs of a multi-GPU point run the 1-GPU points' engine, as a plan.
      if (p.gpus > 1) for (const r of p.perGpu ?? []) assert.match(r.network, /trtn-sweep-\d+-lenet-(fp32|int8)\.plan$/);
      assert.ok(Math.abs((p.imagesPerSecond ?? 0) - (p.perGpu ?? []).reduce((a, r) => a + r.throughput.imagesPerSecond, 0)) < 1e-6);
    }
    assert.equal(progress.length, 6);
    // A cpu sweep says CPU, not GPU; the time left comes from the points measured, not a guess.
    assert.match(
      errors[0],
      /^sweep: 6 points \(lenet; fp32, int8; batch 1\.\.2; cpu backend, 1, 2 worker process\(es\)\); the time left is estimated from the first point on$/,
    );
    assert.doesNotMatch(errors.join('\n'), /GPU|about \d+ min/);
    assert.match(progress[0], /^\[1\/6\] LeNet fp32 batch 1 on CPU: .* images\/s; about \d+ s left\n$/);
    assert.match(progress[2], /^\[3\/6\] LeNet fp32 batch 2 x2 CPU workers: .* images\/s; about \d+ s left\n$/);
    assert.match(progress[5], /^\[6\/6\] LeNet int8 batch 2 x2 CPU workers: .* images\/s\n$/, 'nothing left after the last point');
    assert.equal(doc.settings.useCudaGraph, false, 'no CUDA graphs on the cpu backend');
    // No batch ran out of memory: the sweep's list ended, so no "largest batch that fit" is claimed.
    assert.match(lines.join('\n'), /LeNet fp32: ran up to batch 2 \(no batch ran out of memory\); best .* images\/s at batch \d/);
    assert.doesNotMatch(lines.join('\n'), /largest batch that fit/);
  });

  it('estimates the time left from the measured points: inference time scaled by batch, one build per network and precision', () => {
    const t = { durationS: 2, warmUpMs: 200, iterations: 10 };
    const planned = (network: string, batch: number, gpus = 1) => ({ network, precision: 'fp32', batch, gpus });
    assert.equal(estimateSeconds([], [planned('alexnet', 1)], t), undefined, 'no guess before a point ran');
    // The first point: a 10 s build, 1 ms inferences (2.2 s of warm-up and window), 0.3 s of overhead.
    const first = { ...planned('alexnet', 1), seconds: 12.5, buildSeconds: 10, inferenceSeconds: 0.001 };
    // Batch 2 and 4: still duration-bound (2.2 s + 0.3 s each).
    assert.ok(Math.abs((estimateSeconds([first], [planned('alexnet', 2), planned('alexnet', 4)], t) as number) - 5) < 1e-9);
    // Batch 4096: 4.096 s per inference: 10 of them, the warm-up one, and the overhead.
    assert.ok(Math.abs((estimateSeconds([first], [planned('alexnet', 4096)], t) as number) - (11 * 4.096 + 0.3)) < 1e-9);
    // Another network needs its engine built: the mean measured build time.
    assert.ok(Math.abs((estimateSeconds([first], [planned('googlenet', 1)], t) as number) - (2.5 + 10)) < 1e-9);
    // A multi-GPU point is like the last multi-GPU point measured (worker processes cost more).
    const scaled = { ...planned('alexnet', 1, 2), seconds: 6.2, buildSeconds: 0, inferenceSeconds: 0.001 };
    assert.ok(Math.abs((estimateSeconds([first, scaled], [planned('alexnet', 1, 4)], t) as number) - 6.2) < 1e-9);
    assert.deepEqual([formatDuration(3.2), formatDuration(61), formatDuration(5400)], ['3 s', '1 min', '1.5 h']);
  });

  it('a scaling batch outside --batches: the one engine is built for it too, and the workers run its plan', async () => {
    const out = path.join(dir, 'outside.json');
    const { runSweep } = await import('../../lib/cli/sweep');
    const code = await runSweep(
      [
        '--backend',
        'cpu',
        '--networks',
        'lenet',
        '--precisions',
        'fp32',
        '--batches',
        '1,2',
        '--gpus',
        '1,2',
        '--scalingBatch',
        '4',
        '--duration',
        '0',
        '--warmUp',
        '0',
        '--iterations',
        '2',
        '-o',
        out,
      ],
      () => undefined,
      () => undefined,
      { progress: { write: () => undefined, tty: false } },
    );
    assert.equal(code, 0);
    const doc = JSON.parse(fs.readFileSync(out, 'utf8')) as SweepDoc;
    assert.deepEqual(
      doc.points.map((p) => `${p.batch} x${p.gpus} ${p.status}`),
      ['1 x1 ok', '2 x1 ok', '4 x2 ok'],
    );
    assert.ok((doc.points[2].perGpu ?? []).every((r) => /\.plan$/.test(r.network)));
  });

  it("scales over 4 workers (the 2017 study's GPU count): one plan, one start barrier, images/s summed", async () => {
    const out = path.join(dir, 'four.json');
    const { runSweep } = await import('../../lib/cli/sweep');
    // Worker 3 reaches the barrier 700 ms late: the four timed windows must still start together.
    process.env.TRTN_BENCH_DELAY_RANK = '3:700';
    let code: number;
    try {
      code = await runSweep(
        [
          '--backend',
          'cpu',
          '--networks',
          'lenet',
          '--precisions',
          'int8',
          '--batches',
          '2',
          '--gpus',
          '1,2,4',
          '--duration',
          '0.3',
          '--warmUp',
          '10',
          '--noDataTransfers',
          '-o',
          out,
        ],
        () => undefined,
        () => undefined,
        { progress: { write: () => undefined, tty: false } },
      );
    } finally {
      delete process.env.TRTN_BENCH_DELAY_RANK;
    }
    assert.equal(code, 0);
    const doc = JSON.parse(fs.readFileSync(out, 'utf8')) as SweepDoc;
    assert.deepEqual(
      doc.points.map((p) => `${p.batch} x${p.gpus} ${p.status}`),
      ['2 x1 ok', '2 x2 ok', '2 x4 ok'],
    );
    const four = doc.points[2];
    assert.deepEqual(
      four.perGpu?.map((r) => r.rank),
      [0, 1, 2, 3].map((rank) => ({ rank, size: 4, localRank: rank })),
    );
    assert.deepEqual(
      four.perGpu?.map((r) => r.device.visibleDevice),
      ['0', '1', '2', '3'],
    );
    assert.ok(Math.abs((four.imagesPerSecond ?? 0) - (four.perGpu ?? []).reduce((a, r) => a + r.throughput.imagesPerSecond, 0)) < 1e-6);
    const starts = (four.perGpu ?? []).map((r) => (r.timedWindow as { startEpochMs: number }).startEpochMs);
    assert.ok(Math.max(...starts) - Math.min(...starts) < 400, `the 4 timed windows start together: ${starts.join(', ')}`);
    assert.ok((four.perGpu ?? []).every((r) => r.settings.dataTransfers === false && /\.plan$/.test(r.network)));
  });

  it('records running out of memory and goes on; larger batches are not run', async () => {
    const big = path.join(dir, 'big.prototxt');
    fs.writeFileSync(
      big,
      `name: "Big"
      layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 1 } } }
      layer { name: "big" type: "Tile" bottom: "data" top: "big" tile_param { axis: 1 tiles: 67108864 } }
      layer { name: "sum" type: "Reduction" bottom: "big" top: "sum" reduction_param { operation: SUM axis: 1 } }`,
    );
    const out = path.join(dir, 'oom.json');
    const lines: string[] = [];
    const { runSweep } = await import('../../lib/cli/sweep');
    const code = await runSweep(
      [
        '--backend',
        'cpu',
        '--networks',
        big,
        '--precisions',
        'fp32',
        '--batches',
        '1,4096,8192',
        '--duration',
        '0',
        '--warmUp',
        '0',
        '--iterations',
        '1',
        '-o',
        out,
      ],
      (s) => lines.push(s),
      () => undefined,
      { progress: { write: () => undefined, tty: false } },
    );
    assert.equal(code, 0, lines.join('\n'));
    const doc = JSON.parse(fs.readFileSync(out, 'utf8')) as SweepDoc;
    assert.deepEqual(
      doc.points.map((p) => `${p.batch} ${p.status}`),
      ['1 ok', '4096 oom', '8192 oom'],
    );
    assert.match(doc.points[1].message ?? '', /cannot allocate/);
    assert.match(doc.points[2].message ?? '', /not run: batch 4096 already ran out of memory/);
    assert.match(lines.join('\n'), /Big fp32: largest batch that fit 1, out of memory from batch 4096/);
  });

  it('--findMaxBatch doubles the batch past the list until it runs out of memory (no copies, no host arrays)', async () => {
    const { runSweep } = await import('../../lib/cli/sweep');
    const { Builder, Network } = await import('../../lib');
    const net = await Network.fromCaffe(LENET, { seed: 1 });
    const engine = await new Builder({ backend: 'cpu' }).build(net, { maxBatchSize: 1 });
    const perImage = engine.memory().activationBytesPerImage;
    engine.dispose();
    const out = path.join(dir, 'fit.json');
    const lines: string[] = [];
    const errors: string[] = [];
    const progress: string[] = [];
    // A memory that holds 5 images: batch 4 runs, 8 does not.
    process.env.TRTN_CPU_ARENA_LIMIT = String(perImage * 5);
    let code: number;
    try {
      code = await runSweep(
        [
          '--backend',
          'cpu',
          '--networks',
          'lenet',
          '--precisions',
          'fp32',
          '--batches',
          '1,2',
          '--findMaxBatch',
          '64',
          '--noDataTransfers',
          '--duration',
          '0',
          '--warmUp',
          '0',
          '--iterations',
          '1',
          '-o',
          out,
        ],
        (s) => lines.push(s),
        (s) => errors.push(s),
        { progress: { write: (s) => progress.push(s), tty: false } },
      );
    } finally {
      delete process.env.TRTN_CPU_ARENA_LIMIT;
    }
    assert.equal(code, 0, lines.join('\n'));
    const doc = JSON.parse(fs.readFileSync(out, 'utf8')) as SweepDoc;
    assert.deepEqual(
      doc.points.map((p) => `${p.batch} ${p.status}`),
      ['1 ok', '2 ok', '4 ok', '8 oom'],
    );
    assert.match(doc.points[2].message ?? '', /found by --findMaxBatch: no copies/);
    assert.equal(doc.points[2].perGpu?.[0].settings.dataTransfers, false);
    assert.equal(doc.points[2].perGpu?.[0].iterations, 2);
    assert.equal(doc.settings.dataTransfers, false);
    assert.match(doc.points[3].message ?? '', /found by --findMaxBatch.*cannot allocate/);
    assert.match(lines.join('\n'), /LeNet fp32: largest batch that fit 4, out of memory from batch 8/);
    assert.match(progress[3], /^\[4\/4\] LeNet fp32 batch 8 on CPU \(--findMaxBatch\): out of memory/);
    assert.match(errors.join('\n'), /warning: these points run on the cpu backend.*--findMaxBatch fills host memory/);

    // Without a memory limit it stops at N and says why.
    const code2 = await runSweep(
      [
        '--backend',
        'cpu',
        '--networks',
        'lenet',
        '--precisions',
        'fp32',
        '--batches',
        '2',
        '--findMaxBatch',
        '12',
        '--noDataTransfers',
        '--duration',
        '0',
        '--warmUp',
        '0',
        '--iterations',
        '1',
        '-o',
        out,
      ],
      () => undefined,
      () => undefined,
      { progress: { write: () => undefined, tty: false } },
    );
    assert.equal(code2, 0);
    const doc2 = JSON.parse(fs.readFileSync(out, 'utf8')) as SweepDoc;
    assert.deepEqual(
      doc2.points.map((p) => `${p.batch} ${p.status}`),
      ['2 ok', '4 ok', '8 ok'],
    );
    assert.match(doc2.points[2].message ?? '', /the next doubling passes --findMaxBatch 12/);
  });

  it('the dell2017 preset times without copies (as giexec did) unless --dataTransfers; both flags are refused', async () => {
    const { runSweep } = await import('../../lib/cli/sweep');
    const out = path.join(dir, 'preset.json');
    const args = [
      '--preset',
      'dell2017',
      '--backend',
      'cpu',
      '--networks',
      'lenet',
      '--precisions',
      'fp32',
      '--batches',
      '1',
      '--findMaxBatch',
      '1',
      '--gpus',
      '1,2',
      '--scalingBatch',
      '1',
      '--duration',
      '0',
      '--warmUp',
      '0',
      '--iterations',
      '1',
      '-o',
      out,
    ];
    const quiet = { progress: { write: () => undefined, tty: false } };
    assert.equal(
      await runSweep(
        args,
        () => undefined,
        () => undefined,
        quiet,
      ),
      0,
    );
    let doc = JSON.parse(fs.readFileSync(out, 'utf8')) as SweepDoc;
    assert.equal(doc.preset, 'dell2017');
    assert.equal(doc.settings.dataTransfers, false);
    assert.deepEqual(
      doc.points.map((p) => `${p.batch} x${p.gpus}`),
      ['1 x1', '1 x2'],
    );
    for (const p of doc.points) for (const r of p.perGpu ?? []) assert.equal(r.settings.dataTransfers, false, 'every GPU worker too');
    assert.equal(
      await runSweep(
        [...args, '--dataTransfers', '--gpus', '1', '--findMaxBatch', '0'],
        () => undefined,
        () => undefined,
        quiet,
      ),
      0,
    );
    doc = JSON.parse(fs.readFileSync(out, 'utf8')) as SweepDoc;
    assert.equal(doc.settings.dataTransfers, true);
    const r = await run('sweep', '--backend', 'cpu', '--dataTransfers', '--noDataTransfers');
    assert.equal(r.code, 2);
    assert.match(r.err, /--dataTransfers and --noDataTransfers contradict each other/);
    for (const [extra, message] of [
      [['--findMaxBatch', 'x'], /--findMaxBatch must be an integer in \[0, 1048576\]/],
      [['--findMaxBatch', '2097152', '--noDataTransfers'], /--findMaxBatch must be an integer in \[0, 1048576\]/],
      [['--findMaxBatch', '64'], /--findMaxBatch times without copies .* add --noDataTransfers, or --findMaxBatch 0/],
      [['--preset', 'dell2017', '--dataTransfers'], /--findMaxBatch times without copies/],
    ] as Array<[string[], RegExp]>) {
      const bad = await run('sweep', '--backend', 'cpu', ...extra);
      assert.equal(bad.code, 2, extra.join(' '));
      assert.match(bad.err, message);
    }
  });

  it('refuses unknown presets, networks and bad lists', async () => {
    for (const [args, message] of [
      [['--preset', 'dell2099'], /unknown --preset 'dell2099' \(presets: dell2017\)/],
      [['--networks', 'nonet', '--backend', 'cpu'], /no network 'nonet'/],
      [['--precisions', 'fp8', '--backend', 'cpu'], /--precision is one of/],
      [['--gpus', 'x', '--backend', 'cpu'], /--gpus is GPU counts/],
      [['models/alexnet.prototxt'], /takes no file arguments/],
    ] as Array<[string[], RegExp]>) {
      const r = await run('sweep', ...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, message);
    }
    const help = await run('sweep', '--help');
    assert.match(help.out, /--preset <name>/);
    assert.match(help.out, /dell2017/);
  });
});
