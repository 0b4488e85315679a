import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildInfo, devices, gpuStats } from '../../lib';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const pkg = require('../../../package.json') as { version: string; binary: { napi_versions: number[] } };

describe('native addon: buildInfo()', () => {
  it('reports the package version, backends and Node-API version', () => {
    const info = buildInfo();
    assert.equal(info.version, pkg.version);
    assert.ok(info.backends.includes('cpu'));
    assert.equal(info.napiVersion, pkg.binary.napi_versions[0]);
    assert.match(info.compiler, /\S/);
    assert.ok(info.buildSystem === 'cmake-js' || info.buildSystem === 'node-gyp');
  });

  it('lists the CUDA architectures when CUDA is compiled in, and says why when it is not', () => {
    const info = buildInfo();
    if (info.cuda) {
      assert.ok(info.backends.includes('cuda'));
      assert.match(info.cudaVersion, /^\d+\.\d+$/);
      for (const arch of ['sm_75', 'sm_80', 'sm_89', 'sm_90', 'compute_90']) assert.ok(info.cudaArchs.includes(arch), arch);
      assert.equal(info.note, '');
    } else {
      assert.ok(!info.backends.includes('cuda'));
      assert.deepEqual(info.cudaArchs, []);
      assert.match(info.note, /without CUDA/);
    }
  });
});

describe('native addon: devices()', () => {
  it('never throws; an empty list comes with a reason', () => {
    const list = devices();
    assert.ok(Array.isArray(list.devices));
    assert.equal(typeof list.driverVersion, 'number');
    if (list.devices.length === 0) assert.match(list.reason, /\S/);
    else assert.equal(list.reason, '');
  });

  it('gpuStats() never throws: the GPUs NVML sees, or an empty list with the reason (no driver library)', () => {
    const stats = gpuStats();
    assert.ok(Array.isArray(stats.gpus));
    if (devices().devices.length === 0) {
      assert.deepEqual(stats.gpus, []);
      assert.match(stats.reason, /libnvidia-ml\.so\.1|NVML/);
    } else {
      assert.equal(stats.gpus.length >= devices().devices.length, true);
    }
  });

  it('describes each GPU with name, compute capability and memory', () => {
    for (const d of devices().devices) {
      assert.match(d.name, /\S/);
      assert.equal(d.computeCapability, `${d.major}.${d.minor}`);
      assert.ok(d.totalMemory > 0);
      assert.ok(d.multiprocessors > 0);
      assert.equal(typeof d.supported, 'boolean');
    }
  });

  it('checks its options in the package message form', () => {
    assert.throws(() => devices('x' as never), {
      name: 'TypeError',
      message: 'Expected an options object for options but received type string ("x")',
    });
    assert.throws(() => devices({ checkImages: 1 as never }), {
      name: 'TypeError',
      message: 'Expected a boolean for options.checkImages but received type number (1)',
    });
  });

  it('checkImages on a machine without GPUs still returns an empty list with a reason', function () {
    if (devices().devices.length > 0) this.skip();
    const list = devices({ checkImages: true });
    assert.deepEqual(list.devices, []);
    assert.match(list.reason, /\S/);
  });
});

describe('native addon: loading', () => {
  const ROOT = path.resolve(__dirname, '../../..');
  let dir: string;
  before(() => {
    // A package without any build: dist/lib and node_modules only.
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-load-'));
    fs.cpSync(path.join(ROOT, 'dist', 'lib'), path.join(dir, 'dist', 'lib'), { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const run = (code: string, env: Record<string, string> = {}) =>
    spawnSync(process.execPath, ['-e', code], { cwd: dir, encoding: 'utf8', env: { ...process.env, ...env } });

  it('without a build, buildInfo() throws E_BACKEND_UNAVAILABLE naming every place it looked', () => {
    const r = run(`
      const t = require('./dist/lib');
      try { t.buildInfo(); console.log('loaded'); } catch (e) { console.log(e.code + ' ' + e.message); }
      try { t.devices(); } catch (e) { console.log('again ' + e.code); }
      const net = require('./dist/lib/caffe').parsePrototxt('name: "x"');
      console.log('importer works: ' + net.net.str('name'));`);
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stdout,
      /^E_BACKEND_UNAVAILABLE the tensorrt-node native addon could not be loaded \(node-gyp-build: No native build was found/m,
    );
    // An installed layout (no .git): the fix is the host-only build through npm rebuild.
    assert.match(r.stdout, /the cpu backend needs the host-only build .* then run npm rebuild tensorrt-node --foreground-scripts/);
    assert.match(r.stdout, /^again E_BACKEND_UNAVAILABLE$/m);
    assert.match(r.stdout, /^importer works: x$/m);
  });

  it('TENSORRT_NODE_ADDON names the file to load first; a bad one is skipped with its reason', () => {
    const built = path.join(ROOT, 'build', 'Release', 'tensorrt_node.node');
    const ok = run(`const n = require('./dist/lib/native'); n.native(); console.log(n.nativePath())`, { TENSORRT_NODE_ADDON: built });
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), built);
    const bad = run(`try { require('./dist/lib').buildInfo() } catch (e) { console.log(e.message) }`, {
      TENSORRT_NODE_ADDON: path.join(dir, 'nope.node'),
    });
    assert.match(bad.stdout, /nope\.node: Cannot find module/);
  });

  it('prefers a prebuilt binary in prebuilds/<platform>-<arch>/ over build/', () => {
    const pre = path.join(dir, 'prebuilds', `${process.platform}-${process.arch}`);
    fs.mkdirSync(pre, { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'build', 'Release', 'tensorrt_node.node'), path.join(pre, 'tensorrt-node.node'));
    fs.mkdirSync(path.join(dir, 'build', 'Release'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'build', 'Release', 'tensorrt_node.node'), 'not a shared object');
    const r = run(`const n = require('./dist/lib/native'); n.native(); console.log(n.nativePath())`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), path.join(pre, 'tensorrt-node.node'));
  });
});
