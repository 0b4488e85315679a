// The engine commands of the CLI: build, infer, bench.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Builder, Network } from '../../lib';
import { readNpy, writeNpy } from '../../lib/npy';
import { runCli as run } from '../support/cli';

const ROOT = path.resolve(__dirname, '../../..');
const LENET = path.join(ROOT, 'models', 'lenet.prototxt');

describe('cli: build, infer, bench', function () {
  this.timeout(60000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-cli-engine-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('build writes a plan that infer and bench run', async () => {
    const plan = path.join(dir, 'lenet.plan');
    const built = await run('build', LENET, '--backend', 'cpu', '--batch', '4', '-o', plan);
    assert.equal(built.code, 0, built.err);
    assert.match(built.out, /wrote .*lenet\.plan: cpu backend, fp32, max batch 4, weights 1\.7 MB, activations .* per image/);
    assert.match(built.err, /built LeNet for the cpu backend, fp32, max batch 4/);
    assert.equal(fs.readFileSync(plan).subarray(0, 8).toString('latin1'), 'TRTNPLAN');

    const outFile = path.join(dir, 'prob.npy');
    const inferred = await run('infer', plan, '--random', '--batch', '3', '--output', outFile);
    assert.equal(inferred.code, 0, inferred.err);
    assert.match(inferred.out, /prob \[3, 10\] -> .*prob\.npy/);
    const prob = await readNpy(outFile);
    assert.deepEqual(prob.shape, [3, 10]);
    for (let i = 0; i < 3; i++) {
      const sum = prob.data.subarray(i * 10, i * 10 + 10).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 1) < 1e-5, `softmax row ${i} sums to ${sum}`);
    }

    const bench = await run('bench', plan, '--batch', '2', '--duration', '0', '--iterations', '5', '--warmUp', '0', '--json');
    assert.equal(bench.code, 0, bench.err);
    const r = JSON.parse(bench.out) as {
      backend: string;
      batch: number;
      iterations: number;
      throughput: { imagesPerSecond: number };
      latencyMs: { min: number; median: number; max: number; percentiles: Record<string, number> };
      note: string;
    };
    assert.equal(r.backend, 'cpu');
    assert.equal(r.batch, 2);
    assert.equal(r.iterations, 5);
    assert.ok(r.throughput.imagesPerSecond > 0);
    const p99 = r.latencyMs.percentiles['99'];
    assert.ok(r.latencyMs.min <= r.latencyMs.median && r.latencyMs.median <= p99 && p99 <= r.latencyMs.max);
    assert.match(r.note, /ran on the cpu backend/);
  });

  it('infer reads .npy inputs and gives what the API gives', async () => {
    const net = await Network.fromCaffe(LENET, { seed: 5 });
    const data = Float32Array.from({ length: 2 * 784 }, (_, i) => Math.cos(i * 0.05));
    const input = path.join(dir, 'digits.npy');
    await writeNpy(input, [2, 1, 28, 28], data);
    const outDir = path.join(dir, 'out') + path.sep;
    const r = await run('infer', LENET, '--seed', '5', '--backend', 'cpu', '--input', input, '--output', outDir);
    assert.equal(r.code, 0, r.err);
    const got = await readNpy(path.join(outDir, 'prob.npy'));
    const engine = await new Builder({ backend: 'cpu' }).build(net, { maxBatchSize: 2 });
    const want = (await engine.createContext().infer({ data })).prob;
    assert.ok(got.data.every((v, i) => Object.is(v, want[i])));
    engine.dispose();
    const named = await run('infer', LENET, '--seed', '5', '--input', `data=${input}`, '--output', path.join(dir, 'p.npy'));
    assert.equal(named.code, 0, named.err);
  });

  it('bench prints a trtexec-style summary and explains its metrics', async () => {
    const r = await run('bench', LENET, '--backend', 'cpu', '--duration', '0', '--iterations', '3', '--warmUp', '0');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /=== Performance summary ===/);
    assert.match(r.out, /Throughput: .* images\/s \(.* inferences\/s\)/);
    assert.match(
      r.out,
      /Latency: min = .* ms, max = .* ms, mean = .* ms, median = .* ms, percentile\(90%\) = .* ms, percentile\(95%\) = .* ms, percentile\(99%\) = .* ms/,
    );
    assert.match(r.out, /Total host walltime: .* s over 3 inferences/);
    assert.match(r.out, /Throughput is images per second/);
    assert.doesNotMatch(r.out, /=== Profile/);
  });

  it('bench --dumpProfile prints every layer with its share, and --json carries the profile', async () => {
    const text = await run(
      'bench',
      LENET,
      '--backend',
      'cpu',
      '--duration',
      '0',
      '--iterations',
      '2',
      '--warmUp',
      '0',
      '--dumpProfile',
      '--profileRuns',
      '3',
    );
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /=== Profile \(mean of 3 runs\) ===/);
    assert.match(text.out, /conv1 +Convolution +\d+\.\d{4} +\d+\.\d%/);
    assert.match(text.out, /Total +\d+\.\d{4} +100\.0%/);
    const r = await run(
      'bench',
      LENET,
      '--backend',
      'cpu',
      '--duration',
      '0',
      '--iterations',
      '2',
      '--warmUp',
      '0',
      '--dumpProfile',
      '--profileRuns',
      '2',
      '--json',
    );
    assert.equal(r.code, 0, r.err);
    const p = (
      JSON.parse(r.out) as {
        profile: { runs: number; totalMs: number; layers: Array<{ name: string; op: string; meanMs: number; percent: number }> };
      }
    ).profile;
    assert.equal(p.runs, 2);
    assert.deepEqual(p.layers.map((l) => l.name).slice(0, 2), ['conv1', 'pool1']);
    assert.ok(p.layers.some((l) => l.op === 'InnerProduct'));
    const share = p.layers.reduce((a, l) => a + l.percent, 0);
    assert.ok(Math.abs(share - 100) < 1e-6, `shares sum to ${share}`);
    assert.ok(p.totalMs > 0);
    const plain = await run('bench', LENET, '--backend', 'cpu', '--duration', '0', '--iterations', '1', '--warmUp', '0', '--json');
    assert.equal((JSON.parse(plain.out) as { profile?: unknown }).profile, undefined);
  });

  it('--help lists the options of each command', async () => {
    for (const [cmd, options] of [
      ['build', ['--output', '--batch', '--precision', '--backend', '--weights', '--seed', '--noOptimize']],
      ['infer', ['--input', '--random', '--output', '--batch']],
      ['bench', ['--batch', '--warmUp', '--duration', '--iterations', '--json', '--dumpProfile', '--profileRuns']],
    ] as Array<[string, string[]]>) {
      const r = await run(cmd, '--help');
      assert.equal(r.code, 0);
      for (const o of options) assert.ok(r.out.includes(o), `${cmd} --help lacks ${o}`);
    }
  });

  it('usage errors exit 2 with a message', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['build', LENET], /give the plan file to write with -o/],
      [['build', LENET, '-o', 'x.plan', '--precision', 'fp64'], /--precision is one of fp32, tf32, fp16, int8, best, got 'fp64'/],
      [['build', LENET, '-o', 'x.plan', '--backend', 'gpu'], /--backend is one of auto, cpu, cuda, tensorrt, got 'gpu'/],
      [['bench', 'some.plan', '--backend', 'gpu'], /--backend is one of auto, cpu, cuda, tensorrt, got 'gpu'/],
      [['infer', 'some.plan', '--random', '-o', 'y.npy', '--backend', 'gpu'], /--backend is one of auto, cpu, cuda, tensorrt, got 'gpu'/],
      [['infer', LENET, '--output', 'y.npy'], /give --input files or --random/],
      [['infer', LENET, '--random', '--input', 'x.npy', '--output', 'y.npy'], /give --input files or --random/],
      [['infer', LENET, '--random'], /give --output/],
      [['infer', LENET, '--random', '--output', ''], /give --output/],
      [['bench', LENET, '--duration', 'soon'], /--duration is seconds/],
      [['bench', LENET, '--iterations', '0'], /--iterations must be an integer in \[1, 1000000000\]/],
    ];
    for (const [argv, message] of cases) {
      const r = await run(...argv);
      assert.equal(r.code, 2, `${argv.join(' ')}: ${r.err}`);
      assert.match(r.err, message);
    }
  });

  it('runtime errors exit 1 with their code', async () => {
    const bad = path.join(dir, 'bad.npy');
    fs.writeFileSync(bad, 'nope');
    const r = await run('infer', LENET, '--input', bad, '--output', path.join(dir, 'y.npy'));
    assert.equal(r.code, 1);
    assert.match(r.err, /error E_PARSE: .*bad\.npy.*not a NumPy \.npy file/);
    const plan = path.join(dir, 'broken.plan');
    fs.writeFileSync(plan, Buffer.concat([Buffer.from('TRTNPLAN'), Buffer.alloc(40)]));
    const p = await run('bench', plan);
    assert.equal(p.code, 1);
    assert.match(p.err, /error E_PLAN_CORRUPT/);
  });

  it('infer checks --output before building: a file name with several outputs, an unwritable path', async () => {
    const twoHeads = path.join(dir, 'two_heads.prototxt');
    fs.writeFileSync(
      twoHeads,
      `name: "TwoHeads"
      layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 4 } } }
      layer { name: "score" type: "InnerProduct" bottom: "data" top: "score" inner_product_param { num_output: 3 } }
      layer { name: "box" type: "InnerProduct" bottom: "data" top: "box" inner_product_param { num_output: 2 } }`,
    );
    const plan = path.join(dir, 'two_heads.plan');
    assert.equal((await run('build', twoHeads, '--backend', 'cpu', '-o', plan)).code, 0);
    for (const source of [twoHeads, plan]) {
      const target = path.join(dir, `result-${path.extname(source).slice(1)}.npy`);
      const r = await run('infer', source, '--backend', 'cpu', '--random', '--output', target);
      assert.equal(r.code, 2, `${source}: ${r.err}`);
      assert.match(r.err, /--output .*result-\w+\.npy is one file, but the network has 2 outputs \(score, box\): give a folder/);
      assert.doesNotMatch(r.err, /built /, 'refused before the build');
      assert.equal(fs.existsSync(target), false, 'no directory named like a file was made');
    }
    // The folder form writes one file per output.
    const folder = await run('infer', plan, '--random', '--output', path.join(dir, 'heads') + path.sep);
    assert.equal(folder.code, 0, folder.err);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'heads')).sort(), ['box.npy', 'score.npy']);
    // Paths that cannot be written are E_IO before any work.
    const blocker = path.join(dir, 'a-file');
    fs.writeFileSync(blocker, 'x');
    for (const target of [
      path.join(dir, 'no', 'such', 'dir', 'y.npy'),
      path.join(blocker, 'y.npy'),
      path.join(blocker, 'sub') + path.sep,
    ]) {
      const r = await run('infer', LENET, '--backend', 'cpu', '--random', '--output', target);
      assert.equal(r.code, 1, `${target}: ${r.err}`);
      assert.match(r.err, /^error E_IO: cannot write --output /, target);
      assert.doesNotMatch(r.err, /built /, `${target}: refused before the build`);
    }
  });

  it('says "1 image" and "N images": the plan\'s batch limit in bench and infer', async () => {
    const plan = path.join(dir, 'one.plan');
    assert.equal((await run('build', LENET, '--backend', 'cpu', '-o', plan)).code, 0);
    const b = await run('bench', plan, '--batch', '2', '--duration', '0', '--iterations', '1', '--warmUp', '0');
    assert.equal(b.code, 2);
    assert.match(b.err, /the plan runs at most 1 image per inference, not 2/);
    const input = path.join(dir, 'two.npy');
    await writeNpy(input, [2, 1, 28, 28], new Float32Array(2 * 784));
    const i = await run('infer', plan, '--input', input, '--output', path.join(dir, 'p2.npy'));
    assert.equal(i.code, 2);
    assert.match(i.err, /the plan runs at most 1 image, the input has 2/);
    const four = path.join(dir, 'four.plan');
    assert.equal((await run('build', LENET, '--backend', 'cpu', '--batch', '4', '-o', four)).code, 0);
    assert.match((await run('bench', four, '--batch', '5')).err, /at most 4 images per inference, not 5/);
    const one = await run('bench', four, '--duration', '0', '--iterations', '1', '--warmUp', '0');
    assert.match(one.out, /Total host walltime: [\d.]+ s over 1 inference\n/);
    assert.match(one.out, /only 1 inference was timed: percentiles mean little/);
  });

  it('bench says once why the cpu backend ran (the build log and the summary do not both list the reasons)', async () => {
    const { backendStatus } = await import('../../lib/backends');
    const reasons = backendStatus()
      .filter((b) => !b.available)
      .map((b) => b.reason);
    const r = await run('bench', LENET, '--duration', '0', '--iterations', '1', '--warmUp', '0');
    assert.equal(r.code, 0, r.err);
    const all = `${r.err}\n${r.out}`;
    for (const reason of reasons) {
      const times = all.split(reason).length - 1;
      assert.equal(times, 1, `"${reason}" is printed ${times} times:\n${all}`);
    }
  });

  it("a damaged plan gets the plan reader's E_PLAN_CORRUPT reason, not a prototxt parse error", async () => {
    const good = path.join(dir, 'good.plan');
    assert.equal((await run('build', LENET, '--backend', 'cpu', '-o', good)).code, 0);
    const bytes = fs.readFileSync(good);
    const write = (name: string, data: Buffer): string => {
      const file = path.join(dir, name);
      fs.writeFileSync(file, data);
      return file;
    };
    const flipped = Buffer.from(bytes);
    flipped[5] ^= 0x20; // "TRTNPlAN": one byte of the magic differs
    const cases: Array<[string, RegExp]> = [
      [write('noise.plan', Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37) & 0xff))), /does not start with "TRTNPLAN"/],
      [
        write('text.plan', Buffer.from('name: "LeNet"\ninput: "data"\ninput_shape { dim: 1 dim: 1 dim: 28 dim: 28 }\n')),
        /does not start with "TRTNPLAN"/,
      ],
      [write('tiny.plan', Buffer.from([0x00, 0x01, 0xff])), /3 bytes, .*truncated/],
      [write('flipped.bin', flipped), /does not start with "TRTNPLAN"/],
      [write('short.bin', Buffer.from('TRTNP')), /5 bytes, .*truncated/],
      [write('shifted.bin', Buffer.concat([Buffer.from([0]), bytes])), /does not start with "TRTNPLAN"/],
      [write('damaged.bin', Buffer.concat([bytes.subarray(0, 100), Buffer.alloc(50, 0xee)])), /truncated/],
    ];
    for (const [file, reason] of cases) {
      const r = await run('bench', file, '--backend', 'cpu');
      assert.equal(r.code, 1, `${path.basename(file)}: ${r.err}`);
      // bench echoes its settings first; the error is the line that follows them.
      assert.match(r.err, /^error E_PLAN_CORRUPT: /m, path.basename(file));
      assert.match(r.err, reason, path.basename(file));
      assert.doesNotMatch(r.err, /text prototxt/, path.basename(file));
    }
    // A binary file under another name is still read as a prototxt, which says what it looks like.
    const binary = await run(
      'bench',
      write('weights.prototxt', Buffer.from([0x0a, 0x05, 0x00, 0xff, 0xfe, 0x00, 0x12])),
      '--backend',
      'cpu',
    );
    assert.equal(binary.code, 1);
    assert.match(binary.err, /error E_PARSE: .*binary file, not a text prototxt/);
  });
});
