// A CLI trtexec and giexec users know (issue 17): their spellings through the one alias table
// (lib/cli/aliases.ts), kebab-case for camelCase, both --opt=value and --opt value, "did you mean"
// for unknown options, `help <command>`, the settings echo, and bench / build / infer's
// --fp16 / --int8 / --best, --saveEngine / --loadEngine, --shapes, --export*, --deploy / --model /
// --output / --batch, and --onnx refused with what is read instead. All on the cpu backend.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { BenchResult } from '../../lib/bench/result';
import { ALIASES, aliasesOf, nearest, respell } from '../../lib/cli/aliases';
import { bestPrecision, parseShapes } from '../../lib/cli/model_options';
import { BENCH } from '../../lib/cli/bench';
import { BUILD } from '../../lib/cli/build';
import { UsageError } from '../../lib/cli/options';
import { runCli as run } from '../support/cli';

const ROOT = path.resolve(__dirname, '../../..');
const LENET = path.join(ROOT, 'models', 'lenet.prototxt');
const LENET_WEIGHTS = path.join(ROOT, 'models', 'lenet_mnist.caffemodel');
const QUICK = ['--backend', 'cpu', '--duration', '0', '--iterations', '3', '--warmUp', '0'];

/** respell() for bench's options. */
const benchArgs = (...argv: string[]) => respell('bench', [{ name: 'help', type: 'boolean', short: 'h' }, ...BENCH.options], argv);

describe('cli: other spellings (lib/cli/aliases.ts)', () => {
  it("rewrites trtexec's precision flags, giexec's --model, and kebab-case, keeping what was typed", () => {
    const r = benchArgs('x.prototxt', '--fp16', '--model', 'w.caffemodel', '--warm-up', '0', '--no-data-transfers');
    assert.deepEqual(r.args, ['x.prototxt', '--precision=fp16', '--weights=w.caffemodel', '--warmUp=0', '--noDataTransfers']);
    assert.deepEqual(r.spelled, { precision: '--fp16', weights: '--model', warmUp: '--warm-up', noDataTransfers: '--no-data-transfers' });
  });

  it('reads --opt=value and --opt value alike, and leaves -o values and everything after -- alone', () => {
    assert.deepEqual(benchArgs('--batch=2').args, benchArgs('--batch', '2').args);
    assert.deepEqual(respell('build', BUILD.options, ['-o', 'a.plan', '--fp16', 'x', '--', '--int8']).args, [
      '-o',
      'a.plan',
      '--precision=fp16',
      'x',
      '--',
      '--int8',
    ]);
    // A missing value is not taken from the next option: the parser reports it as missing.
    assert.deepEqual(benchArgs('--batch', '--json').args, ['--batch', '--json']);
  });

  it('--fp16 --int8 together is int8 (the strongest flag); an explicit --precision that disagrees is refused', () => {
    const r = benchArgs('--int8', '--fp16');
    assert.deepEqual(r.args, ['--precision=int8']);
    assert.equal(r.spelled.precision, '--int8 --fp16');
    assert.deepEqual(benchArgs('--best', '--int8').args, ['--precision=best']);
    assert.deepEqual(benchArgs('--precision', 'int8', '--int8').args, ['--precision=int8', '--precision=int8']);
    assert.throws(
      () => benchArgs('--precision', 'fp32', '--int8'),
      (e: Error) => e instanceof UsageError && /--int8 and --precision fp32 disagree/.test(e.message),
    );
    assert.throws(() => benchArgs('--fp16=yes'), /--fp16 takes no value \(it means --precision fp16\)/);
  });

  it('two spellings of one option with different values are refused, not silently resolved', () => {
    assert.throws(
      () => benchArgs('--weights', 'a.caffemodel', '--model', 'b.caffemodel'),
      /--weights and --model both set --weights: give one/,
    );
    assert.deepEqual(
      benchArgs('--warmUp', '0', '--warm-up', '0').args,
      ['--warmUp=0', '--warmUp=0'],
      'the same value twice is no conflict',
    );
  });

  it('an alias maps only where its option means the same: --saveEngine is build -o, bench has its own; --fp16 needs --precision', () => {
    assert.deepEqual(respell('build', BUILD.options, ['--saveEngine=a.plan']).args, ['--output=a.plan']);
    assert.deepEqual(benchArgs('--saveEngine=a.plan').args, ['--saveEngine=a.plan']);
    const calibrate = [
      { name: 'output', type: 'string' as const, short: 'o' },
      { name: 'batchSize', type: 'string' as const },
    ];
    assert.throws(() => respell('calibrate', calibrate, ['--saveEngine', 'x']), /calibrate: Unknown option '--saveEngine'/);
    assert.throws(() => respell('sweep', [{ name: 'precisions', type: 'string' }], ['--fp16']), /Unknown option '--fp16'/);
    assert.ok(aliasesOf('bench', BENCH.options).every((a) => a.name !== 'saveEngine'));
  });

  it('unknown options keep failing, with the nearest known spelling when one is close', () => {
    const message = (argv: string[]) => {
      try {
        benchArgs(...argv);
      } catch (e) {
        assert.ok(e instanceof UsageError);
        return e.message;
      }
      assert.fail(`${argv.join(' ')} was accepted`);
    };
    assert.match(message(['--fp61']), /bench: Unknown option '--fp61'\. Did you mean --fp16 \(trtexec's --precision fp16\)\?$/);
    assert.match(message(['--iteratons', '3']), /Did you mean --iterations\?$/);
    assert.match(message(['--warmup', '0']), /Did you mean --warmUp\?$/);
    assert.match(message(['--exportProfle=x']), /Did you mean --exportProfile\?$/);
    assert.equal(message(['--frobnicate']), "tensorrt-node bench: Unknown option '--frobnicate'");
    assert.deepEqual(nearest('bnech', ['bench', 'build', 'infer']), ['bench']);
  });

  it('docs/cli.md lists every alias of the table', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs', 'cli.md'), 'utf8');
    for (const a of ALIASES) assert.ok(doc.includes(`\`--${a.name}`), `docs/cli.md lacks --${a.name}`);
  });

  it('--onnx (and --uff) say plainly what is read instead', () => {
    assert.throws(
      () => benchArgs('--onnx=model.onnx'),
      /--onnx: ONNX models are not read yet\. tensorrt-node reads Caffe networks \(a deploy\.prototxt.*\.caffemodel.*plans it writes itself/,
    );
    assert.throws(() => benchArgs('--uff', 'model.uff'), /--uff: UFF models are not read\. tensorrt-node reads Caffe networks/);
  });
});

describe('cli: help and the settings echo', () => {
  it("`help <command>` prints that command's help; `help <unknown>` is a usage error; a near command name gets a hint", async () => {
    const viaHelp = await run('help', 'bench');
    assert.equal(viaHelp.code, 0);
    assert.equal(viaHelp.out, (await run('bench', '--help')).out);
    assert.match((await run('help', 'report', 'merge')).out, /Usage: tensorrt-node report merge/);
    const bad = await run('help', 'frob');
    assert.equal(bad.code, 2);
    assert.match(bad.err, /unknown command 'frob'/);
    assert.match((await run('bnech')).err, /unknown command 'bnech' .*; did you mean 'bench'\?/);
    assert.match((await run('--help')).out, /tensorrt-node help <command>/);
  });

  it('--help lists the trtexec / giexec spellings the command reads and says kebab-case reads too', async () => {
    const { out } = await run('bench', '--help');
    assert.match(out, /--fp16, --half2 +=  ?--precision fp16/);
    assert.match(out, /--best +=  ?--precision best/);
    assert.match(out, /--model <\.\.> += --weights/);
    assert.match(out, /--shapes <name:NxCxHxW,\.\.>/);
    assert.match(out, /--loadEngine <file\.plan>/);
    assert.match(out, /kebab-case: --load-engine reads as --loadEngine; --name=value and --name value are the same/);
    assert.match((await run('build', '--help')).out, /--saveEngine <\.\.> += --output/);
  });

  it('bench echoes its settings before the run (stderr), with how each was spelled; --json does not', async () => {
    const r = await run('bench', LENET, ...QUICK, '--fp16', '--shapes=data:2x1x28x28', '--warm-up', '0');
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /^Settings of tensorrt-node bench:\n {2}Model\n {4}file +\S*lenet\.prototxt\n/);
    assert.match(r.err, /\n {4}precision +fp16 \(as --fp16\)\n/);
    assert.match(r.err, /\n {4}batch +2 \(from --shapes\)\n/);
    assert.match(r.err, /\n {4}warmUp +0 \(as --warm-up\)\n/);
    assert.match(r.err, /\n {4}iterations +3\n/);
    assert.match(r.err, /\n {4}percentile +90,95,99 \(default\)\n/);
    assert.ok(r.err.indexOf('Settings of') < r.err.indexOf('built LeNet'), 'the settings come before the build');
    const json = await run('bench', LENET, ...QUICK, '--json');
    assert.doesNotMatch(json.err, /Settings of/);
  });
});

describe('cli: trtexec and giexec options of bench, build and infer', function () {
  this.timeout(60000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-trtexec-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const bench = async (...argv: string[]): Promise<BenchResult> => {
    const r = await run('bench', ...argv, '--json');
    assert.equal(r.code, 0, r.err);
    return JSON.parse(r.out) as BenchResult;
  };

  it('--fp16 / --int8 / --half2 set the precision; --best is the fastest the backend has (fp32 on cpu)', async () => {
    assert.equal((await bench(LENET, ...QUICK, '--fp16')).precision, 'fp16');
    assert.equal((await bench(LENET, ...QUICK, '--half2')).precision, 'fp16');
    assert.equal((await bench(LENET, ...QUICK, '--int8')).precision, 'int8');
    assert.equal((await bench(LENET, ...QUICK, '--best')).precision, 'fp32');
    const said = await run('bench', LENET, ...QUICK, '--best');
    assert.match(said.err, /--best: fp32 \(the cpu backend emulates fp16 and int8, more slowly than its fp32\)/);
    assert.deepEqual(bestPrecision('cuda', 90).precision, 'int8');
    assert.deepEqual(bestPrecision('cuda', 52).precision, 'fp32');
    assert.deepEqual(bestPrecision('tensorrt').precision, 'int8');
  });

  it('--saveEngine keeps the built engine; --loadEngine runs it and refuses a prototxt; a plan refuses --best', async () => {
    const plan = path.join(dir, 'lenet-fp16.plan');
    const built = await bench(LENET, ...QUICK, '--fp16', '--batch', '2', `--saveEngine=${plan}`);
    assert.equal(built.precision, 'fp16');
    assert.ok(fs.statSync(plan).size > 0);
    const loaded = await bench('--loadEngine', plan, ...QUICK, '--batch', '2');
    assert.equal(loaded.precision, 'fp16');
    const notPlan = await run('bench', '--loadEngine', LENET, ...QUICK);
    assert.equal(notPlan.code, 2);
    assert.match(notPlan.err, /--loadEngine takes a plan; \S*lenet\.prototxt reads as a prototxt/);
    const best = await run('bench', plan, ...QUICK, '--best');
    assert.equal(best.code, 2);
    assert.match(best.err, /--precision \(given as --best\) applies to prototxt files, not plans/);
    const both = await run('bench', plan, '--loadEngine', plan, ...QUICK);
    assert.match(both.err, /give one prototxt or plan \(a file argument, --deploy, --loadEngine\), got 2/);
    const saveAgain = await run('bench', plan, ...QUICK, '--saveEngine', path.join(dir, 'again.plan'));
    assert.match(saveAgain.err, /--saveEngine applies to prototxt files, not plans/);
  });

  it('build: --saveEngine is -o, --deploy the prototxt, --int8 the precision; infer: --loadEngine and --saveEngine', async () => {
    const plan = path.join(dir, 'lenet-int8.plan');
    const b = await run('build', `--deploy=${LENET}`, '--int8', `--saveEngine=${plan}`, '--backend', 'cpu', '--batch=2');
    assert.equal(b.code, 0, b.err);
    assert.match(b.out, /wrote .*lenet-int8\.plan: cpu backend, int8, max batch 2/);
    const out = path.join(dir, 'prob.npy');
    const again = path.join(dir, 'infer-built.plan');
    const i = await run('infer', '--loadEngine', plan, '--random', '--shapes', 'data:2x1x28x28', '-o', out);
    assert.equal(i.code, 0, i.err);
    assert.match(i.out, /prob \[2, 10\] ->/);
    const s = await run('infer', LENET, '--backend', 'cpu', '--random', '-o', out, '--saveEngine', again);
    assert.equal(s.code, 0, s.err);
    assert.ok(fs.existsSync(again));
    const loadBuild = await run('build', '--loadEngine', plan, '-o', path.join(dir, 'x.plan'));
    assert.equal(loadBuild.code, 2);
    assert.match(loadBuild.err, /Unknown option '--loadEngine'/);
  });

  it("--shapes sets the batch from its first dimension and refuses shapes that are not the network's", async () => {
    assert.equal((await bench(LENET, ...QUICK, '--shapes=data:4x1x28x28')).batch, 4);
    const cases: Array<[string[], RegExp]> = [
      [
        ['--shapes=data:4x3x28x28'],
        /--shapes data:4x3x28x28 does not fit the network: input 'data' is \[N, 1, 28, 28\] \(Nx1x28x28\); only the batch N can change/,
      ],
      [['--shapes=data:4x1x28'], /input 'data' is \[N, 1, 28, 28\]/],
      [['--shapes=image:4x1x28x28'], /--shapes names 'image', which is not an input \(inputs: data\)/],
      [['--shapes=data:4x1x28x28', '--batch', '2'], /--batch says 2 but --shapes says a batch of 4: give one/],
      [['--shapes=data:4xAx28x28'], /--shapes takes name:NxCxHxW\[,name:\.\.\.\] \(for example data:128x3x224x224\), got 'data:4xAx28x28'/],
      [['--shapes=a:1x2,b:2x2'], /--shapes gives different batches \(1, 2\)/],
    ];
    for (const [extra, message] of cases) {
      const r = await run('bench', LENET, ...QUICK, ...extra);
      assert.equal(r.code, 2, `${extra.join(' ')}: ${r.err}`);
      assert.match(r.err, message);
    }
    assert.deepEqual([...parseShapes(BENCH, 'conv1/7x7_s2:8x3x224x224').entries()], [['conv1/7x7_s2', [8, 3, 224, 224]]]);
    const plan = path.join(dir, 'lenet-b2.plan');
    assert.equal((await run('build', LENET, '--backend', 'cpu', '--batch', '2', '-o', plan)).code, 0);
    const tooBig = await run('bench', plan, ...QUICK, '--shapes=data:4x1x28x28');
    assert.match(tooBig.err, /the plan runs at most 2 images per inference, not 4/);
    const wrongPlan = await run('bench', plan, ...QUICK, '--shapes=data:2x1x28x29');
    assert.match(wrongPlan.err, /input 'data' is \[N, 1, 28, 28\]/);
  });

  it('--exportProfile and --exportOutput write JSON; --separateProfileRun is accepted (profiles never share the timed window)', async () => {
    const profile = path.join(dir, 'profile.json');
    const output = path.join(dir, 'output.json');
    const r = await bench(
      LENET,
      ...QUICK,
      '--batch',
      '3',
      `--exportProfile=${profile}`,
      '--exportOutput',
      output,
      '--separateProfileRun',
      '--profileRuns',
      '2',
    );
    const p = JSON.parse(fs.readFileSync(profile, 'utf8')) as {
      kind: string;
      runs: number;
      layers: Array<{ name: string; meanMs: number }>;
    };
    assert.equal(p.kind, 'tensorrt-node-profile');
    assert.equal(p.runs, 2);
    assert.ok(p.layers.some((l) => l.name === 'conv1'));
    assert.deepEqual((r.profile as { runs: number }).runs, 2);
    const o = JSON.parse(fs.readFileSync(output, 'utf8')) as {
      kind: string;
      batch: number;
      outputs: Array<{ name: string; dims: number[]; values: number[] }>;
    };
    assert.equal(o.kind, 'tensorrt-node-output');
    assert.deepEqual(
      o.outputs.map((x) => [x.name, x.dims, x.values.length]),
      [['prob', [3, 10], 30]],
    );
    // Softmax rows sum to 1: real outputs of the engine, not placeholders.
    assert.ok(Math.abs(o.outputs[0].values.slice(0, 10).reduce((a, b) => a + b, 0) - 1) < 1e-4);
    const text = await run('bench', LENET, ...QUICK, `--exportProfile=${profile}`);
    assert.doesNotMatch(text.out, /=== Profile/, 'the table is printed with --dumpProfile only');
    const gpus = await run('bench', LENET, ...QUICK, '--gpus', '0,1', '--exportOutput', output);
    assert.match(gpus.err, /--gpus runs workers; --exportOutput go with one GPU/);
  });

  it("giexec's command line: --deploy, --model, --output, --batch (and --output must be an output)", async () => {
    const r = await bench(`--deploy=${LENET}`, `--model=${LENET_WEIGHTS}`, '--output=prob', '--batch=2', ...QUICK);
    assert.equal(r.batch, 2);
    const inner = await run('bench', `--deploy=${LENET}`, '--output=conv1', ...QUICK);
    assert.equal(inner.code, 2);
    assert.match(inner.err, /--output conv1: the network's outputs are prob; tensorrt-node runs the whole network/);
  });

  it('--onnx, and an .onnx file argument, are refused with what is read instead', async () => {
    for (const argv of [['--onnx=model.onnx'], ['model.onnx']]) {
      const r = await run('bench', ...argv, ...QUICK);
      assert.equal(r.code, 2, argv.join(' '));
      assert.match(r.err, /ONNX models are not read yet\. tensorrt-node reads Caffe networks/);
    }
  });

  it('kebab-case reaches every command: inspect --input-shape, calibrate --batch-size; camelCase is the name in errors', async () => {
    const r = await run('inspect', LENET, '--allow-unknown-fields', '--json');
    assert.equal(r.code, 0, r.err);
    const bad = await run('inspect', LENET, '--input-shape', 'data');
    assert.match(bad.err, /--inputShape takes name:NxCxHxW/);
    const sweep = await run('sweep', '--help');
    assert.match(sweep.out, /-o, --output <file\.json>/);
  });
});
