/**
 * Loading the separately built TensorRT module (native/backends/tensorrt/trt_backend.cc): the
 * addon dlopen()s tensorrt_node_trt.so on first use, so every way that can fail must leave the
 * tensorrt backend unavailable with the reason, `backend: 'tensorrt'` an E_BACKEND_UNAVAILABLE
 * carrying that reason, `auto` moving on, and the process working. No TensorRT exists here, so
 * the modules are fakes built by this test with g++ (test/native/fake_trt_module.cc) and named
 * through TRTN_TENSORRT_MODULE; each case runs in a child process because the module is loaded
 * once per process. On a CUDA build with a GPU, a fake that "works" (it never touches the
 * buffers) also carries an engine through build, infer, bench timing, plan save and load, and a
 * load under another TensorRT version.
 */
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { backendStatus, buildInfo } from '../../lib';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const FAKE = path.join(ROOT, 'test/native/fake_trt_module.cc');

/** What the child reports. */
interface ChildReport {
  status: Array<{ name: string; available: boolean; reason: string }>;
  explicit?: { code: string; message: string };
  auto: string;
  autoSkipped: Array<{ name: string; reason: string }>;
  cpuOutput: number[];
  built?: { code?: string; message?: string; output?: number[]; reloaded?: string };
  loaded?: 'ok' | { code: string; message: string };
}

// Runs in the child: report status, try the tensorrt backend explicitly, then show that auto and
// the cpu backend still work in the same process.
const CHILD = `
const lib = require(process.argv[1]);
(async () => {
  const out = { status: lib.backendStatus() };
  const net = await lib.Network.parse('name: "t" layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 1 dim: 2 dim: 2 } } } layer { name: "r" type: "ReLU" bottom: "data" top: "r" }');
  try { new lib.Builder({ backend: 'tensorrt' }); } catch (e) { out.explicit = { code: e.code, message: e.message }; }
  const b = new lib.Builder({ backend: 'auto' });
  out.auto = b.backend; out.autoSkipped = b.skipped;
  const cpu = await new lib.Builder({ backend: 'cpu' }).build(net, { maxBatchSize: 2 });
  const ctx = cpu.createContext();
  out.cpuOutput = Array.from((await ctx.infer({ data: Float32Array.from([-1, 2, -3, 4]) })).r);
  ctx.dispose(); cpu.dispose();
  if (out.explicit === undefined) {
    out.built = {};
    try {
      const e = await new lib.Builder({ backend: 'tensorrt' }).build(net, { maxBatchSize: 2 });
      const c = e.createContext();
      const r = await c.infer({ data: Float32Array.from([-1, 2, -3, 4]) });
      out.built.output = Array.from(r.r);
      const plan = e.serialize();
      const again = await lib.Runtime.deserialize(plan);
      out.built.reloaded = again.backend;
      if (process.env.PLAN_OUT) require('fs').writeFileSync(process.env.PLAN_OUT, plan);
      c.dispose(); e.dispose(); again.dispose();
    } catch (err) { out.built.code = err.code; out.built.message = err.message; }
  }
  if (process.env.PLAN_IN) {
    try { await lib.Runtime.deserialize(new Uint8Array(require('fs').readFileSync(process.env.PLAN_IN))); out.loaded = 'ok'; }
    catch (err) { out.loaded = { code: err.code, message: err.message }; }
  }
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
`;

function runChild(modulePath: string | undefined, extraEnv: Record<string, string> = {}): ChildReport {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extraEnv };
  delete env.TRTN_TENSORRT_MODULE;
  if (modulePath !== undefined) env.TRTN_TENSORRT_MODULE = modulePath;
  const r = spawnSync(process.execPath, ['-e', CHILD, path.join(ROOT, 'dist', 'lib')], { env, encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 0, `child failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as ChildReport;
}

/** The tensorrt backend is unavailable with `reason`, an explicit choice says so, auto moves on. */
function assertUnavailable(report: ChildReport, reason: RegExp): string {
  const trt = report.status.find((s) => s.name === 'tensorrt');
  assert.ok(trt !== undefined, 'tensorrt is listed');
  assert.equal(trt.available, false);
  assert.match(trt.reason, reason);
  assert.ok(report.explicit !== undefined, "backend: 'tensorrt' was refused");
  assert.equal(report.explicit.code, 'E_BACKEND_UNAVAILABLE');
  assert.ok(report.explicit.message.includes(trt.reason), report.explicit.message);
  assert.notEqual(report.auto, 'tensorrt');
  assert.deepEqual(report.autoSkipped[0], { name: 'tensorrt', reason: trt.reason });
  assert.deepEqual(report.cpuOutput, [0, 2, 0, 4], 'the process still works');
  return trt.reason;
}

describe('tensorrt backend: loading the TensorRT module', function () {
  this.timeout(120000);
  let dir = '';
  let haveGxx = true;

  before(function () {
    if (spawnSync('g++', ['--version']).status !== 0) {
      haveGxx = false;
      return;
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-fake-trt-'));
  });
  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Builds the fake module with these -D flags (and extra linker arguments). */
  function fake(name: string, defines: string[], link: string[] = []): string {
    const out = path.join(dir, name);
    const r = spawnSync(
      'g++',
      [
        '-std=c++17',
        '-shared',
        '-fPIC',
        '-Wall',
        '-Wextra',
        '-Wno-unused-parameter',
        '-Werror',
        '-Inative',
        ...defines.map((d) => `-D${d}`),
        '-o',
        out,
        FAKE,
        ...link,
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    assert.equal(r.status, 0, `g++ failed:\n${r.stderr}`);
    return out;
  }

  it('lists tensorrt always; without the module it says the module is not built, and where it looked', () => {
    const trt = backendStatus().find((s) => s.name === 'tensorrt');
    assert.ok(trt !== undefined);
    if (trt.available) return; // a machine with TensorRT and the module
    if (process.env.TRTN_TENSORRT_MODULE === undefined && !/was found/.test(trt.reason)) {
      assert.match(
        trt.reason,
        // This checkout loads build/Release (or, when it holds a newer prebuild, prebuilds/ first):
        // those are the places, and the command is the checkout's.
        /^the TensorRT module is not built: (neither .*prebuilds\/linux-x64\/tensorrt_node_trt\.so nor )?.*build\/Release\/tensorrt_node_trt\.so (does not exist|exists) \(build it where TensorRT is installed: npx cmake-js configure --CDTENSORRT_ROOT=<TensorRT folder> && npm run build\)$/,
      );
    }
    const report = runChild(undefined);
    assertUnavailable(report, /TensorRT/);
  });

  it('a module file that does not exist: the dlopen error', function () {
    if (!haveGxx) this.skip();
    const missing = path.join(dir, 'absent', 'tensorrt_node_trt.so');
    assertUnavailable(
      runChild(missing),
      new RegExp(`^the TensorRT module ${missing.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} could not be loaded: .*No such file`),
    );
  });

  it('libnvinfer missing: the module cannot load and dlerror names the library', function () {
    if (!haveGxx) this.skip();
    // A stand-in libnvinfer.so.10 to link against, then taken away, as on a machine where the
    // module was copied without TensorRT.
    const libdir = path.join(dir, 'nvinfer');
    fs.mkdirSync(libdir);
    const stub = path.join(libdir, 'libnvinfer.so.10');
    const r = spawnSync('g++', ['-shared', '-fPIC', '-Wl,-soname,libnvinfer.so.10', '-o', stub, '-x', 'c++', '-'], {
      input: 'extern "C" int getInferLibVersion() { return 100300; }\n',
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const mod = fake('needs_nvinfer.so', ['FAKE_LIBRARY_VERSION=getInferLibVersion()', 'FAKE_LINKS_NVINFER'], [stub]);
    fs.rmSync(stub);
    assertUnavailable(runChild(mod), /could not be loaded: libnvinfer\.so\.10: cannot open shared object file/);
  });

  it('TensorRT older than 10.0: too old, with the version', function () {
    if (!haveGxx) this.skip();
    const mod = fake('old.so', ['FAKE_LIBRARY_VERSION=8601']);
    assertUnavailable(
      runChild(mod),
      /^TensorRT 8\.6\.1 \(the libnvinfer that .*old\.so loaded\) is too old: the tensorrt backend needs TensorRT 10\.0 or newer$/,
    );
  });

  it('a module of another interface version: rebuild both together', function () {
    if (!haveGxx) this.skip();
    const mod = fake('abi.so', ['FAKE_ABI_VERSION=99']);
    assertUnavailable(runChild(mod), /has interface version 99 but this addon needs version 1: rebuild both together$/);
  });

  it('a shared library that is not our module: the missing symbol', function () {
    if (!haveGxx) this.skip();
    const mod = fake('foreign.so', ['FAKE_FOREIGN']);
    assertUnavailable(runChild(mod), /is not a tensorrt-node TensorRT module: .*undefined symbol: trtn_trt_abi_version/);
  });

  it('a usable module: unavailable only for want of CUDA or a GPU, or else it builds, runs and reloads', function () {
    if (!haveGxx) this.skip();
    const mod = fake('ok.so', []);
    const plan = path.join(dir, 'fake.plan');
    const report = runChild(mod, { PLAN_OUT: plan });
    const trt = report.status.find((s) => s.name === 'tensorrt');
    assert.ok(trt !== undefined);
    if (!trt.available) {
      const reason = assertUnavailable(report, /^TensorRT 10\.3\.0 was found/);
      if (!buildInfo().cuda)
        assert.match(reason, /but this addon was built without CUDA.*, and the tensorrt backend needs the CUDA runtime$/);
      else assert.match(reason, /GPU|driver/);
      return;
    }
    // CUDA and a GPU: the whole adapter runs around the fake engine (which leaves outputs as the
    // device buffers had them, so only their length is checked).
    assert.equal(report.auto, 'tensorrt');
    const built = report.built;
    assert.ok(built !== undefined && built.code === undefined && built.message === undefined, JSON.stringify(built));
    assert.equal(built.output?.length, 4);
    assert.equal(built.reloaded, 'tensorrt');
    // The same plan where another TensorRT is installed: E_PLAN_VERSION, naming both versions.
    const other = runChild(fake('other.so', ['FAKE_LIBRARY_VERSION=100400']), { PLAN_IN: plan });
    assert.ok(typeof other.loaded === 'object', JSON.stringify(other.loaded));
    assert.equal(other.loaded.code, 'E_PLAN_VERSION');
    assert.match(other.loaded.message, /built with TensorRT 10\.3\.0 but this machine has TensorRT 10\.4\.0: .*rebuild the plan here/);
  });

  it('a build failure inside the module keeps its code and message', function () {
    if (!haveGxx) this.skip();
    const report = runChild(fake('fails.so', ['FAKE_BUILD_FAILS']));
    const trt = report.status.find((s) => s.name === 'tensorrt');
    if (!trt?.available) this.skip(); // needs CUDA and a GPU to get as far as the build
    assert.equal(report.built?.code, 'E_UNSUPPORTED_LAYER');
    assert.match(report.built?.message ?? '', /fake module: TensorRT refused layer 'r'/);
  });
});
