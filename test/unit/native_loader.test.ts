// Which addon binary the loader takes (lib/native.ts, issue 17): in a git checkout the newest of the
// local builds and prebuilds/, so a prebuilds/ left by `npm run prebuilds` never shadows a fresher
// `npm run build`; in an installed package the prebuilt binary, a local build only when it does not
// load. The TensorRT module is looked for next to the binary loaded and in build/Release. A missing
// addon is E_BACKEND_UNAVAILABLE naming the command that builds it where the package is.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { addonCandidates, chooseCudaVariant, cudaVariantOf, cudaVariants, type LoadedCuda, tensorrtModuleSearch } from '../../lib/native';
import { BUILT_ADDON, fakePackage, type FakePackage } from '../support/fake_package';

/** This machine's prebuilds/ folder, as the loader looks for it. */
const PRE = `prebuilds/${process.platform}-${process.arch}/tensorrt-node.node`;
const PRE_MODULE = `prebuilds/${process.platform}-${process.arch}/tensorrt_node_trt.so`;

const LOADED = `const n = require('./dist/lib/native');
  try { n.native(); const r = n.nativeLoadReport();
    const trt = require('./dist/lib').backendStatus().find((s) => s.name === 'tensorrt');
    console.log(JSON.stringify({ file: n.nativePath(), why: r.why, skipped: r.skipped, replaced: r.replaced, module: process.env.TRTN_TENSORRT_MODULE, trt }));
  } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`;

interface Loaded {
  file?: string;
  why?: string;
  skipped?: string[];
  replaced?: string;
  module?: string;
  trt?: { available: boolean; reason: string };
  code?: string;
  message?: string;
}

function load(pkg: FakePackage, env: NodeJS.ProcessEnv = {}): { out: Loaded; stderr: string } {
  const r = pkg.run(LOADED, env);
  assert.equal(r.status, 0, r.stderr);
  return { out: JSON.parse(r.stdout) as Loaded, stderr: r.stderr };
}

describe('addon loader: which binary', () => {
  const made: FakePackage[] = [];
  const make = (checkout: boolean): FakePackage => {
    const p = fakePackage({ checkout });
    made.push(p);
    return p;
  };
  after(() => made.forEach((p) => p.remove()));
  const relative = (pkg: FakePackage, env: NodeJS.ProcessEnv = {}) =>
    addonCandidates(pkg.root, env, 'linux', 'x64').map((c) => [path.relative(pkg.root, c.file), c.kind]);

  describe('the order of the candidates (addonCandidates)', () => {
    it('checkout: a build/Release newer than the prebuild comes first', () => {
      const pkg = make(true);
      pkg.put('prebuilds/linux-x64/tensorrt-node.node', { text: 'old' }, 3600);
      pkg.put('build/Release/tensorrt_node.node', { text: 'new' }, 10);
      assert.deepEqual(relative(pkg, {}), [
        ['build/Release/tensorrt_node.node', 'local'],
        ['prebuilds/linux-x64/tensorrt-node.node', 'prebuild'],
      ]);
      const first = addonCandidates(pkg.root, {}, 'linux', 'x64')[0];
      assert.equal(first.why, 'the newest local build of this git checkout');
    });

    it('checkout: a prebuild newer than build/Release comes first (it was made from newer sources)', () => {
      const pkg = make(true);
      pkg.put('prebuilds/linux-x64/tensorrt-node.node', { text: 'new' }, 10);
      pkg.put('build/Release/tensorrt_node.node', { text: 'old' }, 3600);
      assert.deepEqual(relative(pkg), [
        ['prebuilds/linux-x64/tensorrt-node.node', 'prebuild'],
        ['build/Release/tensorrt_node.node', 'local'],
      ]);
    });

    it('checkout: build-dev/Release (npm run build:debug) and build/Debug take part, newest first', () => {
      const pkg = make(true);
      pkg.put('build/Release/tensorrt_node.node', { text: 'a' }, 300);
      pkg.put('build-dev/Release/tensorrt_node.node', { text: 'b' }, 5);
      pkg.put('build/Debug/tensorrt_node.node', { text: 'c' }, 900);
      pkg.put('prebuilds/linux-x64/tensorrt-node.node', { text: 'd' }, 600);
      assert.deepEqual(
        relative(pkg).map(([f]) => f),
        [
          'build-dev/Release/tensorrt_node.node',
          'build/Release/tensorrt_node.node',
          'prebuilds/linux-x64/tensorrt-node.node',
          'build/Debug/tensorrt_node.node',
        ],
      );
    });

    it('installed: the prebuild first even when build/Release is newer; build/Release after it', () => {
      const pkg = make(false);
      pkg.put('prebuilds/linux-x64/tensorrt-node.node', { text: 'old' }, 3600);
      pkg.put('build/Release/tensorrt_node.node', { text: 'new' }, 10);
      assert.deepEqual(relative(pkg), [
        ['prebuilds/linux-x64/tensorrt-node.node', 'prebuild'],
        ['build/Release/tensorrt_node.node', 'local'],
      ]);
    });

    it('the glibc-baseline prebuild (tensorrt-node.glibc.node, prebuildify --tag-libc naming) is a prebuild, before an untagged one', () => {
      const installed = make(false);
      installed.put('prebuilds/linux-x64/tensorrt-node.node', { text: 'host glibc' }, 10);
      installed.put('prebuilds/linux-x64/tensorrt-node.glibc.node', { text: 'glibc 2.31' }, 3600);
      installed.put('build/Release/tensorrt_node.node', { text: 'local' }, 5);
      assert.deepEqual(relative(installed), [
        ['prebuilds/linux-x64/tensorrt-node.glibc.node', 'prebuild'],
        ['prebuilds/linux-x64/tensorrt-node.node', 'prebuild'],
        ['build/Release/tensorrt_node.node', 'local'],
      ]);
      const checkout = make(true);
      checkout.put('prebuilds/linux-x64/tensorrt-node.glibc.node', { text: 'new' }, 10);
      checkout.put('build/Release/tensorrt_node.node', { text: 'old' }, 3600);
      assert.deepEqual(relative(checkout), [
        ['prebuilds/linux-x64/tensorrt-node.glibc.node', 'prebuild'],
        ['build/Release/tensorrt_node.node', 'local'],
      ]);
    });

    it('TENSORRT_NODE_ADDON comes before everything; other platforms’ prebuilds are not candidates', () => {
      const pkg = make(true);
      pkg.put('build/Release/tensorrt_node.node', { text: 'x' });
      pkg.put('prebuilds/win32-x64/tensorrt-node.node', { text: 'y' });
      const list = addonCandidates(pkg.root, { TENSORRT_NODE_ADDON: 'mine.node' }, 'linux', 'x64');
      assert.deepEqual(
        list.map((c) => [c.file, c.kind]),
        [
          [path.resolve('mine.node'), 'env'],
          [path.join(pkg.root, 'build/Release/tensorrt_node.node'), 'local'],
        ],
      );
    });

    it('CUDA variants (tensorrt-node.cuda12.glibc.node) are not candidates of their own; cudaVariants lists them', () => {
      assert.equal(cudaVariantOf('/p/prebuilds/linux-x64/tensorrt-node.cuda12.glibc.node'), 12);
      assert.equal(cudaVariantOf('tensorrt-node.glibc.node'), undefined);
      assert.equal(cudaVariantOf('tensorrt-node.node'), undefined);
      const pkg = make(false);
      pkg.put('prebuilds/linux-x64/tensorrt-node.glibc.node', { text: 'cuda 13' });
      pkg.put('prebuilds/linux-x64/tensorrt-node.cuda12.glibc.node', { text: 'cuda 12' });
      assert.deepEqual(relative(pkg), [['prebuilds/linux-x64/tensorrt-node.glibc.node', 'prebuild']]);
      assert.deepEqual(
        cudaVariants(pkg.root, 'linux', 'x64').map((v) => [path.relative(pkg.root, v.file), v.cuda]),
        [['prebuilds/linux-x64/tensorrt-node.cuda12.glibc.node', 12]],
      );
    });

    it('chooseCudaVariant: an old driver or a GPU below the build takes the variant; otherwise the default stays', () => {
      const v12 = { file: '/p/tensorrt-node.cuda12.glibc.node', cuda: 12 };
      const h100 = { index: 0, name: 'NVIDIA H100 80GB HBM3', major: 9, minor: 0 };
      const p40 = { index: 1, name: 'Tesla P40', major: 6, minor: 1 };
      const cuda13: LoadedCuda = {
        cuda: true,
        cudaVersion: '13.0',
        cudaArchs: ['sm_75', 'sm_80', 'sm_90', 'compute_90'],
        driverVersion: 13000,
        gpus: [h100],
      };
      assert.equal(chooseCudaVariant(cuda13, [v12], {}), undefined, 'a new driver and GPU keep the default');
      assert.equal(chooseCudaVariant({ ...cuda13, driverVersion: 0, gpus: [] }, [v12], {}), undefined, 'no driver: nothing to gain');
      assert.equal(chooseCudaVariant({ ...cuda13, cuda: false, cudaVersion: '' }, [v12], {}), undefined, 'a host-only binary stays');
      assert.equal(chooseCudaVariant(cuda13, [], {}), undefined, 'no variant in the package');
      const old = chooseCudaVariant({ ...cuda13, driverVersion: 12040, gpus: [] }, [v12], {});
      assert.equal(old?.variant, v12);
      assert.equal(old?.why, "the CUDA 12 build: the driver runs CUDA up to 12.4, older than this package's CUDA 13.0 build needs");
      assert.equal(chooseCudaVariant({ ...cuda13, driverVersion: 11080, gpus: [] }, [v12], {}), undefined, 'a driver too old for either');
      const pascal = chooseCudaVariant({ ...cuda13, gpus: [h100, p40] }, [v12], {});
      assert.equal(pascal?.variant, v12);
      assert.equal(pascal?.why, "the CUDA 12 build: GPU 1 (Tesla P40, sm_61) is older than the CUDA 13.0 build's sm_75");
      assert.equal(
        chooseCudaVariant(cuda13, [v12], { TENSORRT_NODE_CUDA: '12' })?.why,
        'the CUDA 12 build, named by TENSORRT_NODE_CUDA=12',
      );
      assert.equal(
        chooseCudaVariant({ ...cuda13, driverVersion: 12040 }, [v12], { TENSORRT_NODE_CUDA: '13' }),
        undefined,
        'the default asked for',
      );
    });

    it('the TensorRT module is looked for next to the binary and in build/Release (once when they are the same)', () => {
      const pre = path.join('/p', 'prebuilds', 'linux-x64', 'tensorrt-node.node');
      assert.deepEqual(tensorrtModuleSearch(pre, '/p'), [
        '/p/prebuilds/linux-x64/tensorrt_node_trt.so',
        '/p/build/Release/tensorrt_node_trt.so',
      ]);
      assert.deepEqual(tensorrtModuleSearch('/p/build/Release/tensorrt_node.node', '/p'), ['/p/build/Release/tensorrt_node_trt.so']);
    });
  });

  describe('loading (a child process, the real addon copied into each layout)', function () {
    this.timeout(120000);
    before(function () {
      if (!fs.existsSync(BUILT_ADDON)) this.skip();
    });

    it('checkout: a fresher build/Release wins over a stale prebuilds/ copy, with no warning', () => {
      const pkg = make(true);
      pkg.put(PRE, { copyOf: BUILT_ADDON }, 7200);
      const local = pkg.put('build/Release/tensorrt_node.node', { copyOf: BUILT_ADDON }, 60);
      const { out, stderr } = load(pkg);
      assert.equal(out.file, local);
      assert.equal(out.why, 'the newest local build of this git checkout');
      assert.doesNotMatch(stderr, /TENSORRT_NODE_STALE_PREBUILD/);
    });

    it('checkout: when the newer build/Release does not load, the older prebuild does, with a warning that says why', () => {
      const pkg = make(true);
      const pre = pkg.put(PRE, { copyOf: BUILT_ADDON }, 7200);
      pkg.put('build/Release/tensorrt_node.node', { text: 'not a shared object' }, 60);
      const { out, stderr } = load(pkg);
      assert.equal(out.file, pre);
      assert.equal(out.skipped?.length, 1);
      assert.match(stderr, /\[TENSORRT_NODE_STALE_PREBUILD\] Warning: tensorrt-node loaded the prebuilt .*older than the local build/);
      assert.match(stderr, /build\/Release\/tensorrt_node\.node: .*(invalid ELF header|file too short)/);
    });

    it('installed: the prebuild is used although build/Release is newer; the TensorRT module is found in build/Release', () => {
      const pkg = make(false);
      const pre = pkg.put(PRE, { copyOf: BUILT_ADDON }, 7200);
      pkg.put('build/Release/tensorrt_node.node', { copyOf: BUILT_ADDON }, 60);
      // Not a real module: the dlopen error proves the addon was sent to this file.
      const mod = pkg.put('build/Release/tensorrt_node_trt.so', { text: 'not a shared object' });
      const { out, stderr } = load(pkg);
      assert.equal(out.file, pre);
      assert.equal(out.why, `the prebuilt binary of the package for ${process.platform}-${process.arch}`);
      assert.doesNotMatch(stderr, /TENSORRT_NODE_STALE_PREBUILD/);
      assert.equal(out.module, mod);
      assert.equal(out.trt?.available, false);
      assert.ok(out.trt?.reason.startsWith(`the TensorRT module ${mod} could not be loaded`), out.trt?.reason);
    });

    it('installed with a CUDA variant: the default binary stays on this machine; TENSORRT_NODE_CUDA=12 loads the variant, saying which it replaced', () => {
      const pkg = make(false);
      const pre = pkg.put(PRE, { copyOf: BUILT_ADDON });
      const variant = pkg.put(`prebuilds/${process.platform}-${process.arch}/tensorrt-node.cuda12.glibc.node`, { copyOf: BUILT_ADDON });
      const plain = load(pkg).out;
      assert.equal(plain.file, pre);
      assert.equal(plain.replaced, undefined);
      const asked = load(pkg, { TENSORRT_NODE_CUDA: '12' }).out;
      assert.equal(asked.file, variant);
      assert.equal(asked.why, 'the CUDA 12 build, named by TENSORRT_NODE_CUDA=12');
      assert.equal(asked.replaced, pre);
    });

    it('TENSORRT_NODE_CUDA naming a build the package lacks: a warning saying what it holds; its own CUDA: none', () => {
      const pkg = make(false);
      const pre = pkg.put(PRE, { copyOf: BUILT_ADDON });
      const missing = load(pkg, { TENSORRT_NODE_CUDA: '11' });
      assert.equal(missing.out.file, pre);
      assert.match(
        missing.stderr,
        /\[TENSORRT_NODE_NO_CUDA_BUILD\] Warning: TENSORRT_NODE_CUDA=11: this package holds no such build \(it has (CUDA \d+\.\d+|the default binary)\); the first binary is used/,
      );
      const cuda = JSON.parse(pkg.run("console.log(JSON.stringify(require('./dist/lib').buildInfo()))").stdout) as {
        cuda: boolean;
        cudaVersion: string;
      };
      if (cuda.cuda) {
        const own = load(pkg, { TENSORRT_NODE_CUDA: String(Number.parseInt(cuda.cudaVersion, 10)) });
        assert.doesNotMatch(own.stderr, /TENSORRT_NODE_NO_CUDA_BUILD/);
      }
    });

    it('a CUDA variant that does not load leaves the first binary in place, its error listed', () => {
      const pkg = make(false);
      const pre = pkg.put(PRE, { copyOf: BUILT_ADDON });
      const variant = pkg.put(`prebuilds/${process.platform}-${process.arch}/tensorrt-node.cuda12.glibc.node`, { text: 'broken' });
      const { out } = load(pkg, { TENSORRT_NODE_CUDA: '12' });
      assert.equal(out.file, pre);
      assert.ok(
        out.skipped?.some((e) => e.startsWith(`${variant}: `)),
        JSON.stringify(out.skipped),
      );
    });

    it('installed: a module next to the prebuild is the addon’s own choice (TRTN_TENSORRT_MODULE stays unset)', () => {
      const pkg = make(false);
      pkg.put(PRE, { copyOf: BUILT_ADDON });
      const beside = pkg.put(PRE_MODULE, { text: 'x' });
      pkg.put('build/Release/tensorrt_node_trt.so', { text: 'y' });
      const { out } = load(pkg);
      assert.equal(out.module, undefined);
      assert.ok(out.trt?.reason.startsWith(`the TensorRT module ${beside} could not be loaded`), out.trt?.reason);
    });

    it('installed, no module anywhere: the reason names both places and the npm rebuild command', () => {
      const pkg = make(false);
      pkg.put(PRE, { copyOf: BUILT_ADDON });
      const { out } = load(pkg);
      assert.equal(out.trt?.available, false);
      const reason = out.trt?.reason ?? '';
      if (/module is not built/.test(reason)) {
        assert.equal(
          reason,
          `the TensorRT module is not built: neither ${path.join(pkg.prebuildDir, 'tensorrt_node_trt.so')} nor ` +
            `${path.join(pkg.root, 'build/Release/tensorrt_node_trt.so')} exists (build it where TensorRT is installed: ` +
            'TENSORRT_ROOT=<TensorRT folder> npm rebuild tensorrt-node --foreground-scripts, which needs cmake and nvcc)',
        );
      } else {
        // An addon without CUDA says so before it looks for the module.
        assert.match(reason, /CUDA/);
      }
    });

    it('no addon: E_BACKEND_UNAVAILABLE; installed, it names the host-only build and npm rebuild', () => {
      const pkg = make(false);
      const { out } = load(pkg);
      assert.equal(out.code, 'E_BACKEND_UNAVAILABLE');
      assert.match(out.message ?? '', /^the tensorrt-node native addon could not be loaded \(node-gyp-build: No native build was found/);
      assert.match(out.message ?? '', /the cpu backend needs the host-only build \(binding\.gyp\)/);
      assert.match(out.message ?? '', /sudo apt-get install build-essential python3/);
      assert.match(out.message ?? '', /then run npm rebuild tensorrt-node --foreground-scripts/);
      assert.doesNotMatch(out.message ?? '', /npm run/);
    });

    it('no addon in a checkout: it names npm run build; a broken prebuild is listed with its error', () => {
      const pkg = make(true);
      const bad = pkg.put(PRE, { text: 'garbage' });
      const { out } = load(pkg);
      assert.equal(out.code, 'E_BACKEND_UNAVAILABLE');
      assert.ok(out.message?.includes(`(${bad}: `), out.message);
      assert.match(out.message ?? '', /; build it in this checkout: npm run build \(or npm run build:debug/);
    });
  });
});
