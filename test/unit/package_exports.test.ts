// The package's public surface (issue 15, item 4): package.json `exports` resolves `tensorrt-node`
// and its subpaths `/caffe`, `/bench`, `/report`, `/serve` to the built dist (by the package's own name, as
// a user's require would), each with its declarations; the root keeps the library and no longer
// exports the study (reports, reference numbers) or the bench, planner and parser internals; the
// emitted declarations (stripInternal) type-check in a consumer under node16 and node10 resolution.
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import { createRequire } from 'module';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../../..');
/** A require that resolves like a file inside the package: `tensorrt-node` is the package itself. */
const packageRequire = createRequire(path.join(ROOT, 'package.json'));

const SUBPATHS: Readonly<Record<string, string>> = {
  'tensorrt-node': 'dist/lib/index',
  'tensorrt-node/caffe': 'dist/lib/caffe/index',
  'tensorrt-node/bench': 'dist/lib/bench/index',
  'tensorrt-node/report': 'dist/lib/report/index',
  'tensorrt-node/serve': 'dist/lib/serve/index',
};

/** The root's runtime exports, in full: adding one is a decision, so this list changes with it. */
const ROOT_EXPORTS = [
  'Builder',
  'detections',
  'Calibrator',
  'DisposedError',
  'Engine',
  'ExecutionContext',
  'IOError',
  'Int8EntropyCalibrator',
  'Int8EntropyCalibrator2',
  'Int8LegacyCalibrator',
  'Int8MinMaxCalibrator',
  'Int8PercentileCalibrator',
  'NativeError',
  'Network',
  'OutOfMemoryError',
  'ParseError',
  'PlanError',
  'Runtime',
  'ShapeError',
  'Tensor',
  'TensorRTNodeError',
  'UnsupportedLayerError',
  'WeightsError',
  'asCalibrator',
  'backendStatus',
  'buildInfo',
  'devices',
  'formatCalibrationCache',
  'fromFloat16',
  'gpuStats',
  'knownLayerTypes',
  'loadPlugin',
  'loadedPlugins',
  'registerLayer',
  'npyBatches',
  'parseCalibrationCache',
  'randomBatchSource',
  'readCalibrationCacheFile',
  'resolveBackend',
  'toFloat16',
  'writeCalibrationCacheFile',
];

function load(specifier: string): Record<string, unknown> {
  return packageRequire(specifier) as Record<string, unknown>;
}

describe('package exports', () => {
  for (const [specifier, file] of Object.entries(SUBPATHS)) {
    it(`${specifier} resolves to ${file}.js, with ${file}.d.ts beside it`, () => {
      assert.equal(packageRequire.resolve(specifier), path.join(ROOT, `${file}.js`));
      assert.ok(fs.existsSync(path.join(ROOT, `${file}.d.ts`)), `${file}.d.ts is missing: build with tsc`);
    });
  }

  it('the root exports the library and nothing else', () => {
    assert.deepEqual(Object.keys(load('tensorrt-node')).sort(), [...ROOT_EXPORTS].sort());
  });

  it('the study and the internals live in the subpaths, not the root', () => {
    const root = load('tensorrt-node');
    const moved: Readonly<Record<string, readonly string[]>> = {
      'tensorrt-node/report': ['DELL_2017', 'SCALING_TARGET', 'mergeResults', 'writeReport', 'readResultFile', 'readPeerFile'],
      'tensorrt-node/bench': ['benchEngine', 'timeInferences', 'timeStats'],
      'tensorrt-node/serve': ['createServer', 'parseModelConfig'],
      'tensorrt-node/caffe': [
        'parsePrototxt',
        'readPrototxt',
        'readCaffemodel',
        'writeCaffemodel',
        'caffeSchema',
        'Message',
        'readMeanFile',
      ],
    };
    for (const [specifier, names] of Object.entries(moved)) {
      const sub = load(specifier);
      for (const name of names) {
        assert.ok(name in sub, `${specifier} exports ${name}`);
        assert.ok(!(name in root), `the root no longer exports ${name} (it is in ${specifier})`);
      }
    }
    for (const name of ['planExecGraph', 'planInt8Graph', 'readPlan', 'entropyThreshold', 'LAYER_TYPES', 'readNpy']) {
      assert.ok(!(name in root), `the root does not export the internal ${name}`);
    }
  });

  it('paths outside the exports map are refused (ERR_PACKAGE_PATH_NOT_EXPORTED)', () => {
    assert.throws(() => packageRequire.resolve('tensorrt-node/dist/lib/runtime/plan_file'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
  });

  it('the declarations type-check in a consumer (node16 and node10 resolution, skipLibCheck off)', function () {
    this.timeout(120000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-consumer-'));
    try {
      fs.mkdirSync(path.join(dir, 'node_modules'));
      fs.symlinkSync(ROOT, path.join(dir, 'node_modules', 'tensorrt-node'), 'dir');
      fs.writeFileSync(
        path.join(dir, 'consumer.ts'),
        [
          "import { Builder, Engine, Network, Runtime, Tensor, TensorRTNodeError, type BuildConfig, type InferOptions } from 'tensorrt-node';",
          "import { parsePrototxt, type CaffeNetDefinition } from 'tensorrt-node/caffe';",
          "import { benchEngine, type BenchResult } from 'tensorrt-node/bench';",
          "import { DELL_2017, writeReport } from 'tensorrt-node/report';",
          "const config: BuildConfig = { precision: 'fp16', maxBatchSize: 8 };",
          'const options: InferOptions = { batchSize: 1 };',
          'export const used = [Builder, Engine, Network, Runtime, Tensor, TensorRTNodeError, config, options, parsePrototxt, benchEngine, DELL_2017, writeReport];',
          'export type Used = [CaffeNetDefinition, BenchResult];',
          '',
        ].join('\n'),
      );
      const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
      for (const [module, resolution] of [
        ['node16', 'node16'],
        ['commonjs', 'node10'],
      ]) {
        const r = spawnSync(
          process.execPath,
          [
            tsc,
            '--noEmit',
            '--strict',
            '--skipLibCheck',
            'false',
            '--module',
            module,
            '--moduleResolution',
            resolution,
            '--target',
            'es2022',
            '--lib',
            'es2022,esnext.disposable',
            '--types',
            'node',
            '--typeRoots',
            path.join(ROOT, 'node_modules', '@types'),
            'consumer.ts',
          ],
          { cwd: dir, encoding: 'utf8' },
        );
        assert.equal(r.status, 0, `tsc (${resolution}) failed:\n${r.stdout}${r.stderr}`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
