// `tensorrt-node calibrate` (lib/cli/calibrate.ts) and `build --calib` (lib/cli/engine_source.ts):
// caches from random data, .npy folders and the mnist digits, every algorithm, --show, usage
// errors (exit 2) and data errors (exit 1 with the code).
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readPlan } from '../../lib/runtime/plan_file';
import { writeNpy } from '../../lib/npy';
import { type ExecGraph } from '../../lib/builder/exec_graph';
import { DEFAULT_TRT_VERSION, parseCalibrationCache, type CalibrationCache } from '../../lib/calibration/cache';
import { seededFloats } from '../support/helpers';
import { runCli as run } from '../support/cli';

const ROOT = path.resolve(__dirname, '../../..');
const LENET = path.join(ROOT, 'models', 'lenet.prototxt');

/** conv -> ReLU (its own top) -> MAX pool -> InnerProduct: entropy2 sees 'conv1', entropy does not. */
const TINY = `
name: "tiny"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 8 dim: 8 } } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1" convolution_param { num_output: 4 kernel_size: 3 pad: 1 } }
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "relu1" }
layer { name: "pool1" type: "Pooling" bottom: "relu1" top: "pool1" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "ip1" type: "InnerProduct" bottom: "pool1" top: "ip1" inner_product_param { num_output: 5 } }
`;
const UNFUSED = ['data', 'conv1', 'relu1', 'pool1', 'ip1'];
const FUSED = ['data', 'relu1', 'pool1', 'ip1'];
const IMAGE = 3 * 8 * 8;

function readCache(file: string): CalibrationCache {
  return parseCalibrationCache(fs.readFileSync(file, 'utf8'), file);
}

function maxAbs(a: Float32Array): number {
  return a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
}

describe('cli: calibrate and build --calib', function () {
  this.timeout(60000);
  let dir: string;
  let tiny: string;
  let n = 0;
  const tmp = (name: string) => path.join(dir, `${n++}-${name}`);
  /** `calibrate` of the tiny net on the cpu backend. */
  const calibrate = (...args: string[]) => run('calibrate', tiny, '--backend', 'cpu', ...args);

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-cli-calib-'));
    tiny = path.join(dir, 'tiny.prototxt');
    fs.writeFileSync(tiny, TINY);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('calibrate', () => {
    it('--data random --batches 2 --batch-size 4 -o x.calib writes a TensorRT cache', async () => {
      const out = tmp('x.calib');
      const r = await calibrate('--data', 'random', '--batches', '2', '--batch-size', '4', '-o', out);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, new RegExp(`^wrote ${out.replace(/[.\\]/g, '\\$&')}: EntropyCalibration2, 5 tensors`));
      assert.match(r.err, /calibrated 5 tensors with entropy2 over 2 batches/);
      const text = fs.readFileSync(out, 'utf8');
      assert.match(text, /^TRT-100900-EntropyCalibration2\n(\S+: [0-9a-f]{8}\n){5}$/);
      const cache = readCache(out);
      assert.deepEqual([...cache.scales.keys()], UNFUSED);
      for (const [name, s] of cache.scales) assert.ok(s > 0 && Number.isFinite(s), `${name}: ${s}`);
      // Random data lie in [-1, 1): the input's threshold cannot exceed 1.
      assert.ok((cache.scales.get('data') as number) * 127 <= 1);
    });

    it('is deterministic for a seed; another seed gives other data; --trt-version sets the header', async () => {
      const a = tmp('a.calib');
      const b = tmp('b.calib');
      const c = tmp('c.calib');
      assert.equal((await calibrate('--data', 'random', '--batches', '2', '--batch-size', '2', '-o', a)).code, 0);
      assert.equal((await calibrate('--data', 'random', '--batches', '2', '--batch-size', '2', '-o', b)).code, 0);
      assert.equal(fs.readFileSync(a, 'utf8'), fs.readFileSync(b, 'utf8'));
      const r = await calibrate('--data', 'random', '--batches', '2', '--batch-size', '2', '--seed', '7', '--trt-version', '8601', '-o', c);
      assert.equal(r.code, 0, r.err);
      assert.notDeepEqual([...readCache(c).scales.values()], [...readCache(a).scales.values()]);
      assert.equal(readCache(c).version, 8601);
      assert.ok(fs.readFileSync(c, 'utf8').startsWith('TRT-8601-EntropyCalibration2\n'));
    });

    const algorithms: Array<[string, string, string[], string[]]> = [
      ['entropy2', 'EntropyCalibration2', UNFUSED, []],
      ['entropy', 'EntropyCalibration', FUSED, []],
      ['minmax', 'MinMaxCalibration', UNFUSED, []],
      ['legacy', 'LegacyCalibration', FUSED, ['--quantile', '0.5', '--regression-cutoff', '0.9']],
      ['percentile', 'PercentileCalibration', UNFUSED, ['--percentile', '99.9']],
    ];
    for (const [algorithm, header, tensors, extra] of algorithms) {
      it(`--algorithm ${algorithm} writes a ${header} cache of the ${tensors === FUSED ? 'fused' : 'unfused'} network`, async () => {
        const out = tmp(`${algorithm}.calib`);
        const r = await calibrate('--data', 'random', '--batches', '2', '--batch-size', '2', '--algorithm', algorithm, ...extra, '-o', out);
        assert.equal(r.code, 0, r.err);
        const cache = readCache(out);
        assert.equal(cache.algorithm, header);
        assert.deepEqual([...cache.scales.keys()], tensors);
        // Only TensorRT's own algorithms get TensorRT's header (docs/calibration.md).
        const first = fs.readFileSync(out, 'utf8').split('\n')[0];
        assert.equal(first, algorithm === 'percentile' ? 'TRTN-PercentileCalibration' : `TRT-${DEFAULT_TRT_VERSION}-${header}`);
        const shown = await run('calibrate', '--show', out);
        assert.match(
          shown.out.split('\n')[0],
          algorithm === 'percentile'
            ? /: tensorrt-node's own header \(TensorRT does not read it\), PercentileCalibration,/
            : new RegExp(`: TensorRT ${DEFAULT_TRT_VERSION}, ${header},`),
        );
      });
    }

    it('the legacy options change the thresholds: --quantile and --regression-cutoff', async () => {
      const full = tmp('legacy-full.calib');
      const cut = tmp('legacy-cut.calib');
      assert.equal(
        (await calibrate('--data', 'random', '--batches', '2', '--batch-size', '2', '--algorithm', 'legacy', '--quantile', '1', '-o', full))
          .code,
        0,
      );
      assert.equal(
        (
          await calibrate(
            '--data',
            'random',
            '--batches',
            '2',
            '--batch-size',
            '2',
            '--algorithm',
            'legacy',
            '--quantile',
            '1',
            '--regression-cutoff',
            '0.5',
            '-o',
            cut,
          )
        ).code,
        0,
      );
      for (const [name, s] of readCache(full).scales) {
        const ratio = (readCache(cut).scales.get(name) as number) / s;
        assert.ok(Math.abs(ratio - 0.5) < 1e-6, `${name}: cutoff 0.5 gives ratio ${ratio}`);
      }
    });

    it('--show lists the tensors with scale and amax; --json gives them as JSON', async () => {
      const out = tmp('show.calib');
      fs.writeFileSync(
        out,
        'TRT-8601-EntropyCalibration2\r\ndata: 3c010a14\r\n(Unnamed Layer* 12) [Activation]_output: 3d5c9a0e\r\nzero: 0\r\n',
      );
      const r = await run('calibrate', '--show', out);
      assert.equal(r.code, 0, r.err);
      const lines = r.out.split('\n');
      assert.equal(lines[0], `${out}: TensorRT 8601, EntropyCalibration2, 3 tensors`);
      assert.match(lines[1], /^tensor\s+scale\s+amax$/);
      const cache = readCache(out);
      const rows = lines.slice(2);
      assert.equal(rows.length, 3);
      [...cache.scales].forEach(([name, s], i) => {
        assert.ok(rows[i].startsWith(name), rows[i]);
        assert.ok(rows[i].includes(s.toExponential(6)), `${rows[i]} lacks ${s.toExponential(6)}`);
      });
      const j = await run('calibrate', '--show', out, '--json');
      assert.equal(j.code, 0, j.err);
      const json = JSON.parse(j.out) as { version: number; algorithm: string; scales: Record<string, { scale: number; amax: number }> };
      assert.equal(json.version, 8601);
      assert.equal(json.algorithm, 'EntropyCalibration2');
      assert.deepEqual(Object.keys(json.scales), [...cache.scales.keys()]);
      for (const [name, s] of cache.scales) {
        assert.ok(Object.is(json.scales[name].scale, s), name);
        assert.ok(Math.abs(json.scales[name].amax - s * 127) <= 1e-12 * Math.max(1, s * 127), name);
      }
    });

    it('--show of a missing file is E_IO, of a corrupt one E_PARSE (exit 1)', async () => {
      const missing = await run('calibrate', '--show', tmp('none.calib'));
      assert.equal(missing.code, 1);
      assert.match(missing.err, /error E_IO: .*none\.calib/);
      const bad = tmp('bad.calib');
      fs.writeFileSync(bad, 'TRT-8601-EntropyCalibration2\ndata: 7f800000\n');
      const corrupt = await run('calibrate', '--show', bad);
      assert.equal(corrupt.code, 1);
      assert.ok(corrupt.err.includes(`error E_PARSE: ${bad}:2:`), corrupt.err);
    });

    describe('--data <dir of .npy>', () => {
      it('reads every .npy file in name order, [N, C, H, W] or [C, H, W]; a partial last batch counts; --batches stops it', async () => {
        const data = tmp('npy');
        fs.mkdirSync(data);
        const a = seededFloats(3 * IMAGE, 5, 2);
        const b = seededFloats(IMAGE, 6, 2);
        b[10] = -3.5; // the largest value: in the last, partial batch
        await writeNpy(path.join(data, 'a.npy'), [3, 3, 8, 8], a);
        await writeNpy(path.join(data, 'b.npy'), [3, 8, 8], b);
        fs.writeFileSync(path.join(data, 'notes.txt'), 'not data');
        const all = tmp('npy-all.calib');
        const r = await calibrate('--data', data, '--batch-size', '3', '--algorithm', 'minmax', '-o', all);
        assert.equal(r.code, 0, r.err);
        assert.match(r.err, /over 2 batches/);
        assert.equal(readCache(all).scales.get('data'), Math.fround(3.5 / 127));
        const one = tmp('npy-one.calib');
        const r1 = await calibrate('--data', data, '--batch-size', '3', '--batches', '1', '--algorithm', 'minmax', '-o', one);
        assert.equal(r1.code, 0, r1.err);
        assert.match(r1.err, /over 1 batch in/);
        assert.equal(readCache(one).scales.get('data'), Math.fround(maxAbs(a) / 127));
      });

      it('a file of the wrong shape is exit 1 with E_CALIBRATION naming it; no cache is written', async () => {
        const data = tmp('npy-bad');
        fs.mkdirSync(data);
        await writeNpy(path.join(data, 'a.npy'), [2, 3, 8, 8], seededFloats(2 * IMAGE, 1, 2));
        await writeNpy(path.join(data, 'b.npy'), [2, 3, 4, 4], seededFloats(2 * 48, 1, 2));
        const out = tmp('never.calib');
        const r = await calibrate('--data', data, '--batch-size', '2', '-o', out);
        assert.equal(r.code, 1);
        assert.match(r.err, /error E_CALIBRATION: .*b\.npy has shape \[2, 3, 4, 4\]; input 'data' takes \[N, 3, 8, 8\]/);
        assert.ok(!fs.existsSync(out));
      });

      it('an empty folder is E_CALIBRATION; a missing one E_IO (exit 1)', async () => {
        const empty = tmp('npy-empty');
        fs.mkdirSync(empty);
        const r = await calibrate('--data', empty, '-o', tmp('e.calib'));
        assert.equal(r.code, 1);
        assert.match(r.err, /error E_CALIBRATION: .*holds no \.npy files/);
        const m = await calibrate('--data', path.join(dir, 'no-such-dir'), '-o', tmp('m.calib'));
        assert.equal(m.code, 1);
        assert.match(m.err, /error E_IO: .*no-such-dir/);
      });
    });

    it('--data mnist calibrates LeNet on the digits (pixels x / 256: max 255/256)', async () => {
      const out = tmp('lenet.calib');
      const r = await run(
        'calibrate',
        LENET,
        '--backend',
        'cpu',
        '--data',
        'mnist',
        '--batches',
        '2',
        '--batch-size',
        '16',
        '--algorithm',
        'minmax',
        '-o',
        out,
      );
      assert.equal(r.code, 0, r.err);
      const cache = readCache(out);
      assert.deepEqual([...cache.scales.keys()], ['data', 'conv1', 'pool1', 'conv2', 'pool2', 'ip1', 'ip2', 'prob']);
      assert.equal(cache.scales.get('data'), Math.fround(255 / 256 / 127));
      // Softmax outputs lie in (0, 1].
      assert.ok((cache.scales.get('prob') as number) * 127 <= 1);
      // Digits do not fit a network with another input shape.
      const bad = await calibrate('--data', 'mnist', '-o', tmp('tiny-mnist.calib'));
      assert.equal(bad.code, 1);
      assert.match(bad.err, /error E_CALIBRATION: --data mnist gives 1 x 28 x 28 digits; input 'data' takes \[3, 8, 8\]/);
    });

    it('usage errors exit 2', async () => {
      const o = tmp('u.calib');
      const cases: Array<[string[], RegExp]> = [
        [['--batches', '2', '-o', o], /give --data/],
        [['--data', 'random'], /give the cache to write with -o/],
        [
          ['--data', 'random', '-o', o, '--algorithm', 'kl'],
          /--algorithm is one of entropy2, entropy, minmax, legacy, percentile, got 'kl'/,
        ],
        [['--data', 'random', '-o', o, '--algorithm', 'percentile', '--percentile', '0'], /--percentile must be in \(0, 100\], got '0'/],
        [['--data', 'random', '-o', o, '--algorithm', 'percentile', '--percentile', '101'], /--percentile/],
        [['--data', 'random', '-o', o, '--algorithm', 'legacy', '--quantile', '1.5'], /--quantile must be in \(0, 1\]/],
        [['--data', 'random', '-o', o, '--algorithm', 'legacy', '--regression-cutoff', '0'], /--regressionCutoff/],
        [['--data', 'random', '-o', o, '--batches', '0'], /--batches must be an integer/],
        [['--data', 'random', '-o', o, '--batch-size', 'four'], /--batchSize must be an integer/],
        [['--data', 'random', '-o', o, '--backend', 'gpu'], /--backend is one of/],
      ];
      for (const [args, message] of cases) {
        const r = await calibrate(...args);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
        assert.match(r.err, message, args.join(' '));
        assert.match(r.err, /tensorrt-node calibrate --help/);
      }
      assert.equal((await run('calibrate', '--data', 'random', '-o', o)).code, 2, 'no prototxt');
      assert.equal((await run('calibrate', tiny, tiny, '--data', 'random', '-o', o)).code, 2, 'two prototxts');
      assert.equal((await run('calibrate', tiny, '--show', o)).code, 2, '--show with a prototxt');
      assert.ok(!fs.existsSync(o));
      const help = await run('calibrate', '--help');
      assert.equal(help.code, 0);
      for (const option of ['--data', '--algorithm', '--percentile', '--quantile', '--show', '--trtVersion'])
        assert.ok(help.out.includes(option), option);
    });

    // Options of one algorithm are usage errors with another (never silently ignored).
    it('--percentile 0 (or any --percentile) without --algorithm percentile is a usage error', async () => {
      const r = await calibrate('--data', 'random', '--batches', '1', '--batch-size', '1', '--percentile', '0', '-o', tmp('p0.calib'));
      assert.equal(r.code, 2, r.err);
      const q = await calibrate('--data', 'random', '--batches', '1', '--batch-size', '1', '--quantile', '0.5', '-o', tmp('q.calib'));
      assert.equal(q.code, 2, q.err);
    });

    // The summary gives the batches calibrated, not the number asked for.
    it('the summary line gives the number of batches calibrated, not the number asked for', async () => {
      const data = tmp('npy-count');
      fs.mkdirSync(data);
      await writeNpy(path.join(data, 'a.npy'), [4, 3, 8, 8], seededFloats(4 * IMAGE, 9, 2));
      const r = await calibrate('--data', data, '--batch-size', '3', '-o', tmp('count.calib'));
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /from 2 batch\(es\) of up to 3 images/);
    });
  });

  describe('build --calib', () => {
    let cacheFile: string;
    before(async () => {
      cacheFile = tmp('build.calib');
      const r = await calibrate('--data', 'random', '--batches', '2', '--batch-size', '2', '--algorithm', 'minmax', '-o', cacheFile);
      assert.equal(r.code, 0, r.err);
    });

    it('build --precision int8 --calib x.calib -o y.plan builds with the cache scales', async () => {
      const plan = tmp('y.plan');
      const r = await run('build', tiny, '--backend', 'cpu', '--precision', 'int8', '--calib', cacheFile, '-o', plan);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /int8/);
      const g = JSON.parse(readPlan(fs.readFileSync(plan)).graphJson) as ExecGraph;
      assert.equal(g.precision, 'int8');
      const cache = readCache(cacheFile);
      const scale = (name: string) => g.tensors.find((t) => t.name === name)?.scale;
      // conv1 + relu1 fuse: the conv node writes 'relu1' with relu1's scale; the pool keeps it.
      assert.equal(scale('relu1'), cache.scales.get('relu1'));
      assert.equal(scale('pool1'), cache.scales.get('relu1'));
      assert.equal(scale('data/int8'), cache.scales.get('data'));
      for (const op of ['Convolution', 'Pooling', 'InnerProduct']) {
        assert.equal(g.nodes.find((x) => x.op === op)?.precision, 'int8', op);
      }
      assert.ok(!/INT8 without calibration data/.test(r.err), 'no random-data warning with a cache');
    });

    it('says after an INT8 build how many layers run in INT8 (and, with --verbose, how the others run)', async () => {
      const r = await run('build', tiny, '--backend', 'cpu', '--precision', 'int8', '--calib', cacheFile, '-o', tmp('i.plan'));
      assert.equal(r.code, 0, r.err);
      assert.match(r.err, /^info: INT8: 3 of 3 layers run in INT8$/m);
      const zero = tmp('zero.calib');
      fs.writeFileSync(zero, fs.readFileSync(cacheFile, 'utf8').replace(/^ip1: .*$/m, 'ip1: 0'));
      const v = await run('build', tiny, '--backend', 'cpu', '--precision', 'int8', '--calib', zero, '--verbose', '-o', tmp('j.plan'));
      assert.equal(v.code, 0, v.err);
      assert.match(v.err, /^info: INT8: 2 of 3 layers run in INT8, 1 in FP32$/m);
      assert.match(v.err, /^ {2}ip1 \(InnerProduct\): fp32$/m);
    });

    it('a cache lacking tensors of INT8 layers is exit 1 (E_CALIBRATION) unless --allowMixedPrecision, which warns', async () => {
      const partial = tmp('partial.calib');
      fs.writeFileSync(partial, fs.readFileSync(cacheFile, 'utf8').replace(/^ip1: .*\n/m, ''));
      const plan = tmp('m.plan');
      const refused = await run('build', tiny, '--backend', 'cpu', '--precision', 'int8', '--calib', partial, '-o', plan);
      assert.equal(refused.code, 1, refused.err);
      assert.match(
        refused.err,
        /error E_CALIBRATION: 1 tensor\(s\) that INT8 layers read or write have no scale in the calibration cache: 'ip1' \(ip1\);.*--allowMixedPrecision/,
      );
      assert.ok(!fs.existsSync(plan));
      const mixed = await run(
        'build',
        tiny,
        '--backend',
        'cpu',
        '--precision',
        'int8',
        '--calib',
        partial,
        '--allowMixedPrecision',
        '-o',
        plan,
      );
      assert.equal(mixed.code, 0, mixed.err);
      assert.match(
        mixed.err,
        /^warning: 1 tensor\(s\) .*'ip1' \(ip1\); 1 layer\(s\) run in FP32 instead of INT8 \(allowMixedPrecision\)$/m,
      );
      assert.match(mixed.err, /^info: INT8: 2 of 3 layers run in INT8, 1 in FP32$/m);
      const g = JSON.parse(readPlan(fs.readFileSync(plan)).graphJson) as ExecGraph;
      assert.equal(g.nodes.find((x) => x.name === 'ip1')?.precision, 'fp32');
      // The option is a build option: it needs --precision int8 and a prototxt, and --help shows it.
      const usage = await run('build', tiny, '--backend', 'cpu', '--allowMixedPrecision', '-o', tmp('n.plan'));
      assert.equal(usage.code, 2);
      assert.match(usage.err, /--allowMixedPrecision goes with --precision int8/);
      const onPlan = await run('bench', plan, '--allowMixedPrecision', '--duration', '0');
      assert.equal(onPlan.code, 2);
      assert.match(onPlan.err, /--allowMixedPrecision applies to prototxt files, not plans/);
      for (const command of ['build', 'bench', 'infer']) assert.match((await run(command, '--help')).out, /--allowMixedPrecision/, command);
    });

    it('--calib without --precision int8 is a usage error (exit 2)', async () => {
      for (const precision of [[], ['--precision', 'fp32'], ['--precision', 'fp16']]) {
        const r = await run('build', tiny, '--backend', 'cpu', ...precision, '--calib', cacheFile, '-o', tmp('z.plan'));
        assert.equal(r.code, 2, r.err);
        assert.match(r.err, /--calib goes with --precision int8/);
      }
    });

    it('--calib of a missing, corrupt or foreign cache is exit 1 with E_IO, E_PARSE, E_CALIBRATION', async () => {
      const plan = tmp('w.plan');
      const missing = await run('build', tiny, '--backend', 'cpu', '--precision', 'int8', '--calib', tmp('gone.calib'), '-o', plan);
      assert.equal(missing.code, 1);
      assert.match(missing.err, /error E_IO: .*gone\.calib/);
      const bad = tmp('corrupt.calib');
      fs.writeFileSync(bad, 'TRT-8601-EntropyCalibration2\ndata 3c010a14\n');
      const corrupt = await run('build', tiny, '--backend', 'cpu', '--precision', 'int8', '--calib', bad, '-o', plan);
      assert.equal(corrupt.code, 1);
      assert.ok(corrupt.err.includes(`error E_PARSE: ${bad}:2:`), corrupt.err);
      const foreign = tmp('foreign.calib');
      fs.writeFileSync(foreign, 'TRT-8601-EntropyCalibration2\nconv1/7x7_s2: 3d021498\ninception_3a/output: 3d5c9a0e\n');
      const other = await run('build', tiny, '--backend', 'cpu', '--precision', 'int8', '--calib', foreign, '-o', plan);
      assert.equal(other.code, 1);
      assert.match(other.err, /error E_CALIBRATION: none of the 2 tensors of the calibration cache is in tiny/);
      assert.ok(!fs.existsSync(plan));
    });

    it('a cache from TensorRT with extra tensors builds, and says which tensors it skipped', async () => {
      const extra = tmp('extra.calib');
      fs.writeFileSync(
        extra,
        `${fs.readFileSync(cacheFile, 'utf8').replace(/^TRT-100900-MinMaxCalibration/, 'TRT-8601-EntropyCalibration2')}(Unnamed Layer* 12) [Activation]_output: 3d5c9a0e\n`,
      );
      const r = await run('build', tiny, '--backend', 'cpu', '--precision', 'int8', '--calib', extra, '-o', tmp('v.plan'));
      assert.equal(r.code, 0, r.err);
      assert.match(r.err, /\(Unnamed Layer\* 12\) \[Activation\]_output/);
    });
  });
});
