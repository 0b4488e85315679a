// The roofline of each layer (issue 18's `bench --dumpProfile --roofline`): MACs and bytes from the
// IR, the GPU's data-sheet peaks by name, the least time per layer, and the CLI columns.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { layerWork, parsePeaks, peaksFor, rooflineMs, type GpuPeaks } from '../../lib/bench/roofline';
import { addRoofline, formatProfile, type BenchProfile } from '../../lib/cli/bench';
import { Network } from '../../lib';
import { runCli as run } from '../support/cli';

const ROOT = path.resolve(__dirname, '../../..');
const ALEXNET = path.join(ROOT, 'models', 'alexnet.prototxt');
const LENET = path.join(ROOT, 'models', 'lenet.prototxt');

/** The H100 SXM's peaks from the built-in table. */
function h100Peaks(): GpuPeaks {
  const h100 = peaksFor('NVIDIA H100 80GB HBM3');
  assert.ok(h100 !== undefined);
  return h100;
}

/** --roofline's columns over a made-up INT8 profile of `layers` of `net` at `batch`, on the H100. */
function withRooflineOf(net: Network, batch: number, layers: BenchProfile['layers']): BenchProfile {
  const totalMs = layers.reduce((t, l) => t + l.meanMs, 0);
  return addRoofline({ runs: 1, totalMs, reformatMs: 0, layers }, net, batch, 'int8', h100Peaks());
}

describe('roofline (bench --roofline)', () => {
  it('peaks by the name the driver reports; unknown GPUs have none', () => {
    assert.equal(peaksFor('NVIDIA H100 80GB HBM3')?.gbps, 3350);
    assert.equal(peaksFor('NVIDIA H100 80GB HBM3')?.tops.int8, 1979);
    assert.equal(peaksFor('NVIDIA H100 PCIe')?.gbps, 2000);
    assert.equal(peaksFor('NVIDIA H200')?.gbps, 4800);
    assert.equal(peaksFor('NVIDIA H200')?.tops.fp16, 989);
    assert.equal(peaksFor('Tesla P40')?.tops.int8, 47, 'DP4A: 4x FP32');
    assert.equal(peaksFor('NVIDIA A100-SXM4-80GB')?.gbps, 2039);
    assert.equal(peaksFor('Intel Xeon (16 threads)'), undefined);
    assert.deepEqual(parsePeaks(' 989 , 3350 ', 'fp16')?.tops.fp16, 989);
    assert.equal(parsePeaks('989,3350', 'fp16')?.gbps, 3350);
    for (const bad of ['989', 'x,1', '0,3350', '989,-1', '']) assert.equal(parsePeaks(bad, 'fp16'), undefined, bad);
  });

  it("AlexNet's MACs and bytes at batch 128 (shared/PERFORMANCE.md: 0.724 G MAC an image; conv1 17 us on an H100 in INT8)", async () => {
    const net = await Network.fromCaffe(ALEXNET, { seed: 1 });
    const work = layerWork(net, 128, 'int8');
    const macs = [...work.values()].reduce((a, w) => a + w.macs, 0) / 128;
    assert.ok(Math.abs(macs / 0.724e9 - 1) < 0.01, `${macs} MAC an image`);
    const conv1 = work.get('conv1') as { macs: number; bytes: number };
    // int8: input 3x227x227 and output 96x55x55 per image, weights 96x3x11x11 and 96 biases, one byte each.
    assert.equal(conv1.bytes, (3 * 227 * 227 + 96 * 55 * 55) * 128 + 96 * 3 * 11 * 11 + 96);
    const h100 = peaksFor('NVIDIA H100 80GB HBM3');
    assert.ok(h100 !== undefined);
    const us = rooflineMs(conv1, h100, 'int8') * 1000;
    assert.ok(Math.abs(us - 17) < 0.5, `conv1 ${us} us: memory-bound at 3.35 TB/s`);
    // fp32 on CUDA cores: compute-bound, 2 x MACs / 67 TFLOPS.
    const fp32 = layerWork(net, 128, 'fp32').get('conv1') as { macs: number; bytes: number };
    assert.ok(Math.abs(rooflineMs(fp32, h100, 'fp32') - ((2 * fp32.macs) / 67e12) * 1e3) < 1e-12);
    assert.equal(work.has('data'), false, 'input layers have no work');
  });

  it("a layer the engine runs inside the one before it: that one's roofline covers both, without the tensor between them", async () => {
    const net = await Network.fromCaffe(ALEXNET, { seed: 1 });
    const apart = layerWork(net, 128, 'int8');
    const fused = layerWork(net, 128, 'int8', new Map([['pool1', 'norm1']]));
    const norm1 = 96 * 55 * 55 * 128;
    // LRN: conv1's output in, norm1 out; pooling: norm1 in, 96x27x27 out. Fused: conv1's output in, the pooled out.
    assert.equal(fused.get('norm1')?.bytes, 2 * norm1 + norm1 + 96 * 27 * 27 * 128 - 2 * norm1);
    assert.equal(fused.get('norm1')?.bytes, (apart.get('norm1')?.bytes ?? 0) + (apart.get('pool1')?.bytes ?? 0) - 2 * norm1);
    assert.equal(fused.has('pool1'), false);
    assert.deepEqual(fused.get('conv2'), apart.get('conv2'));
    const h100 = h100Peaks();
    const withRoof = withRooflineOf(net, 128, [
      { name: 'norm1', op: 'LRN', meanMs: 0.05, percent: 50 },
      { name: 'pool1', op: 'Pooling', meanMs: 0.001, percent: 1, fusedInto: 'norm1' },
    ]);
    assert.ok(Math.abs((withRoof.layers[0].rooflineMs ?? 0) - rooflineMs(fused.get('norm1')!, h100, 'int8')) < 1e-12);
    assert.equal(withRoof.layers[1].rooflineMs, undefined);
    const table = formatProfile(withRoof);
    assert.match(table, /pool1 +Pooling +0\.0010 +1\.0% +- +- +\(runs inside norm1\)/);
    assert.match(table, /covers both without the tensor between them/);
  });

  it("sibling convolutions run as one GEMM, a pooling in a convolution's loader: the layer running them covers all", async () => {
    const net = await Network.fromCaffe(path.join(ROOT, 'models', 'googlenet.prototxt'), { seed: 1 });
    const apart = layerWork(net, 8, 'int8');
    const merged = layerWork(
      net,
      8,
      'int8',
      new Map(),
      new Map([
        ['inception_3a/3x3_reduce', 'inception_3a/1x1'],
        ['inception_3a/5x5_reduce', 'inception_3a/1x1'],
      ]),
    );
    const input = 192 * 28 * 28 * 8; // pool2/3x3_s2's output, int8
    const sum = (k: 'macs' | 'bytes') =>
      ['1x1', '3x3_reduce', '5x5_reduce'].reduce((s, n) => s + (apart.get(`inception_3a/${n}`)?.[k] ?? 0), 0);
    assert.deepEqual(merged.get('inception_3a/1x1'), { macs: sum('macs'), bytes: sum('bytes') - 2 * input });
    assert.equal(merged.has('inception_3a/3x3_reduce'), false);
    assert.equal(merged.has('inception_3a/5x5_reduce'), false);
    assert.deepEqual(merged.get('inception_3a/3x3'), apart.get('inception_3a/3x3'));
    // A pooling run in the loader of the convolution reading it: that convolution covers both, without the pooled tensor.
    const pooled = layerWork(net, 8, 'int8', new Map([['inception_3a/pool', 'inception_3a/pool_proj']]));
    const between = 192 * 28 * 28 * 8;
    assert.equal(
      pooled.get('inception_3a/pool_proj')?.bytes,
      (apart.get('inception_3a/pool_proj')?.bytes ?? 0) + (apart.get('inception_3a/pool')?.bytes ?? 0) - 2 * between,
    );
    assert.equal(pooled.has('inception_3a/pool'), false);
    const withRoof = withRooflineOf(net, 8, [
      { name: 'inception_3a/1x1', op: 'Convolution', meanMs: 0.02, percent: 20 },
      { name: 'inception_3a/3x3_reduce', op: 'Convolution', meanMs: 0.001, percent: 1, mergedInto: 'inception_3a/1x1' },
    ]);
    assert.equal(withRoof.layers[1].rooflineMs, undefined);
    assert.match(formatProfile(withRoof), /inception_3a\/3x3_reduce +Convolution +0\.0010 +1\.0% +- +- +\(runs inside inception_3a\/1x1\)/);
  });

  it('bench --dumpProfile --roofline: two more columns and the peaks used; refusals and warnings say what to do', async () => {
    const common = [
      'bench',
      LENET,
      '--backend',
      'cpu',
      '--duration',
      '0',
      '--iterations',
      '1',
      '--warmUp',
      '0',
      '--dumpProfile',
      '--profileRuns',
      '1',
    ];
    const r = await run(...common, '--roofline', '--peaks', '2,50');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /Layer +Op +Time \(ms\) +Share +Roofline \(ms\) +Of roofline/);
    assert.match(r.out, /conv1 +Convolution +\d+\.\d{4} +\d+\.\d% +\d+\.\d{4} +\d+\.\d%/);
    assert.match(r.out, /Roofline: max\(2 x MACs \/ 2 TOPS, bytes \/ 50 GB\/s\) per layer \(--peaks \(fp32\)\)/);
    const json = await run(...common, '--roofline', '--peaks', '2,50', '--json');
    const p = (
      JSON.parse(json.out) as {
        profile: { layers: Array<{ name: string; rooflineMs?: number; ofRoofline?: number }>; roofline: { tops: number } };
      }
    ).profile;
    const conv1 = p.layers.find((l) => l.name === 'conv1');
    assert.ok(conv1?.rooflineMs !== undefined && conv1.rooflineMs > 0 && (conv1.ofRoofline ?? 0) > 0);
    assert.equal(p.roofline.tops, 2);
    const unknown = await run(...common, '--roofline');
    assert.equal(unknown.code, 0, unknown.err);
    assert.match(unknown.out + unknown.err, /--roofline: no peaks known for '.*': give them with --peaks <TOPS>,<GB\/s>/);
    assert.doesNotMatch(unknown.out, /Of roofline/);
    // A plan holds no network: the profile stays, with a warning saying what to bench instead.
    const plan = path.join(os.tmpdir(), `trtn-roofline-${process.pid}.plan`);
    try {
      const saved = await run(
        ...common.slice(0, 2),
        '--backend',
        'cpu',
        '--duration',
        '0',
        '--iterations',
        '1',
        '--warmUp',
        '0',
        '--saveEngine',
        plan,
      );
      assert.equal(saved.code, 0, saved.err);
      const fromPlan = await run('bench', '--loadEngine', plan, ...common.slice(2), '--roofline', '--peaks', '2,50', '--json');
      assert.equal(fromPlan.code, 0, fromPlan.err);
      const r = JSON.parse(fromPlan.out) as { warnings: string[]; profile: { roofline?: unknown; layers: unknown[] } };
      assert.ok(
        r.warnings.some((w) => /--roofline: a plan holds no network to count MACs and bytes in: bench the prototxt/.test(w)),
        JSON.stringify(r.warnings),
      );
      assert.equal(r.profile.roofline, undefined);
      assert.ok(r.profile.layers.length > 0);
    } finally {
      fs.rmSync(plan, { force: true });
    }
    const alone = await run(...common.filter((a) => a !== '--dumpProfile'), '--roofline');
    assert.notEqual(alone.code, 0);
    assert.match(alone.err, /--roofline adds columns to the per-layer profile: give --dumpProfile or --exportProfile too/);
    const peaksAlone = await run(...common, '--peaks', '2,50');
    assert.notEqual(peaksAlone.code, 0);
    assert.match(peaksAlone.err, /--peaks gives --roofline its GPU peaks: give --roofline too/);
    const bad = await run(...common, '--roofline', '--peaks', 'fast');
    assert.notEqual(bad.code, 0);
    assert.match(bad.err, /--peaks is '<TOPS>,<GB\/s>' \(two positive numbers, e\.g\. 989,3350\), got 'fast'/);
  });
});
