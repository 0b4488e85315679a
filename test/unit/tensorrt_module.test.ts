/**
 * Loading the separately built TensorRT module (native/backends/tensorrt/trt_backend.cc): the
 * addon dlopen()s tensorrt_node_trt.so on first use, so every way that can fail must leave the
 * tensorrt backend unavailable with the reason, `backend: 'tensorrt'` an E_BACKEND_UNAVAILABLE
 * carrying that reason, `auto` moving on, and the process working. No TensorRT exists here, so
 * the modules are fakes built by this test with g++ (test/native/fake_trt_module.cc) and named
 * through TRTN_TENSORRT_MODULE; each case runs in a child process because the module is loaded
 * once per process. On a CUDA build with a GPU, a fake that "works" (it never touches the
 * buffers) also carries an engine through build, infer, bench timing, plan save and load, and a
 * load under another TensorRT version; a fake that runs its one-node "engine" through the addon's
 * host ops (trtn_trt_host_ops: the cuda backend's op of the node, as TensorRT's TRTN_Node plugin
 * will) gives the cpu backend's results.
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
  /** With NODE_NET: that network's output on the cpu backend and, where it builds, on tensorrt. */
  node?: { cpu: number[]; tensorrt?: number[]; code?: string; message?: string };
}

/** A network for the child (NODE_NET, as JSON): one input, one output, `data` batch-major. */
interface NodeNet {
  prototxt: string;
  input: string;
  output: string;
  data: number[];
  batch: number;
}

// Runs in the child: report status, try the tensorrt backend explicitly, then show that auto and
// the cpu backend still work in the same process. With NODE_NET (a NodeNet), that network also
// runs on the cpu backend and, when tensorrt is usable, on tensorrt.
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
  if (process.env.NODE_NET) {
    const spec = JSON.parse(process.env.NODE_NET);
    const n = await lib.Network.parse(spec.prototxt);
    const infer = async (backend) => {
      const e = await new lib.Builder({ backend }).build(n, { maxBatchSize: spec.batch });
      const c = e.createContext();
      try { return Array.from((await c.infer({ [spec.input]: Float32Array.from(spec.data) }))[spec.output]); }
      finally { c.dispose(); e.dispose(); }
    };
    out.node = { cpu: await infer('cpu') };
    if (out.explicit === undefined) {
      try { out.node.tensorrt = await infer('tensorrt'); } catch (err) { out.node.code = err.code; out.node.message = err.message; }
    }
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

/**
 * For a module that would work: false with the reason checked when the tensorrt backend is
 * unavailable only for want of CUDA in this build or of a GPU; true when it is available.
 */
function availableOrNoGpu(report: ChildReport): boolean {
  const trt = report.status.find((s) => s.name === 'tensorrt');
  assert.ok(trt !== undefined);
  if (trt.available) return true;
  const reason = assertUnavailable(report, /^TensorRT 10\.3\.0 was found/);
  if (!buildInfo().cuda) assert.match(reason, /but this addon was built without CUDA.*, and the tensorrt backend needs the CUDA runtime$/);
  else assert.match(reason, /GPU|driver/);
  return false;
}

/** A one-layer network over `dims` (one image) with a deterministic batch of `batch` images. */
function nodeNet(layer: string, dims: number[], batch: number): NodeNet {
  const shape = [1, ...dims].map((d) => `dim: ${d}`).join(' ');
  const count = batch * dims.reduce((a, b) => a * b, 1);
  return {
    prototxt: `name: "n" layer { name: "data" type: "Input" top: "data" input_param { shape { ${shape} } } } ${layer}`,
    input: 'data',
    output: 'out',
    data: Array.from({ length: count }, (_, i) => Math.sin(i * 1.7) * 3),
    batch,
  };
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
    assertUnavailable(runChild(mod), /has interface version 99 but this addon needs version 2: rebuild both together$/);
  });

  it('a module without trtn_trt_set_host_ops (of before the host ops): not our module, the missing symbol', function () {
    if (!haveGxx) this.skip();
    const mod = fake('no_host_ops.so', ['FAKE_NO_HOST_OPS']);
    assertUnavailable(runChild(mod), /is not a tensorrt-node TensorRT module: .*undefined symbol: trtn_trt_set_host_ops/);
  });

  it("a module that refuses the addon's host ops: unusable, with the module's reason", function () {
    if (!haveGxx) this.skip();
    const mod = fake('wants_more.so', ['FAKE_HOST_OPS_EXTRA=8']);
    assertUnavailable(
      runChild(mod),
      /^the TensorRT module .*wants_more\.so did not take the addon's node ops: fake module: the addon's host ops table has (\d+) bytes; this module needs \d+$/,
    );
  });

  it("the addon's node ops refuse a graph that is not one float32 node between the graph's inputs and outputs", function () {
    if (!haveGxx) this.skip();
    const mod = fake('probe.so', []);
    const t = (name: string, extra = '') => `{"name":"${name}","dims":[3]${extra}}`;
    const node = (name: string, op: string, inputs: number[], outputs: number[]) =>
      `{"name":"${name}","op":"${op}","inputs":[${inputs.join(',')}],"outputs":[${outputs.join(',')}],"weights":[],"precision":"fp32"}`;
    const graph = (tensors: string[], inputs: number[], outputs: number[], nodes: string[]) =>
      `{"format":1,"name":"g","precision":"fp32","maxBatchSize":2,"tensors":[${tensors.join(',')}],"weights":[],` +
      `"inputs":[${inputs.join(',')}],"outputs":[${outputs.join(',')}],"nodes":[${nodes.join(',')}]}`;
    const cases: Array<[string, string, RegExp]> = [
      [
        'two nodes',
        graph([t('x'), t('y'), t('z')], [0], [2], [node('r1', 'ReLU', [0], [1]), node('r2', 'ReLU', [1], [2])]),
        /the graph 'g' has 2 nodes; exactly one is run/,
      ],
      [
        'inputs in another order',
        graph([t('a'), t('b'), t('s')], [0, 1], [2], [node('e', 'Eltwise', [1, 0], [2])]),
        /node 'e' \(Eltwise\): its inputs are not the graph's inputs in order/,
      ],
      [
        'outputs that are not the graph outputs',
        graph([t('x'), t('y'), t('z')], [0], [2, 1], [node('p', 'Slice', [0], [1, 2])]),
        /node 'p' \(Slice\): its outputs are not the graph's outputs in order/,
      ],
      [
        'a uint8 (image) tensor',
        graph([t('x', ',"dtype":"uint8"'), t('y')], [0], [1], [node('pre', 'Preprocess', [0], [1])]),
        /node 'pre' \(Preprocess\): tensor 'x' is uint8; only float32 tensors are run/,
      ],
      ['text that is not JSON', '{"format":', /execution graph|JSON|parse/i],
    ];
    for (const [what, json, reason] of cases) {
      const r = assertUnavailable(
        runChild(mod, { FAKE_PROBE_GRAPH: json }),
        /did not take the addon's node ops: fake module: node_create refused the probe graph: /,
      );
      if (buildInfo().cuda) assert.match(r, reason, what);
      else assert.match(r, /built without CUDA/, what);
    }
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
    if (!availableOrNoGpu(report)) return;
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

  it("a node run through the addon's host ops (the cuda backend's op) gives the cpu backend's result", function () {
    if (!haveGxx) this.skip();
    const mod = fake('runs_node.so', ['FAKE_RUNS_NODE']);
    // SSD's conv4_3_norm: a scale blob per channel crosses as the node's weights.
    const net = nodeNet(
      'layer { name: "out" type: "Normalize" bottom: "data" top: "out" norm_param { across_spatial: false channel_shared: false } }',
      [5, 4, 3],
      2,
    );
    const report = runChild(mod, { NODE_NET: JSON.stringify(net) });
    assert.ok(report.node !== undefined);
    assert.equal(report.node.cpu.length, net.data.length, 'the cpu backend ran the network');
    if (!availableOrNoGpu(report)) {
      assert.equal(report.node.tensorrt, undefined);
      return;
    }
    // CUDA and a GPU: the fake's engine_create made the op through node_create, its enqueue ran it.
    assert.deepEqual(report.built?.output, [0, 2, 0, 4], 'the ReLU network through the cuda ReLU op');
    const { cpu, tensorrt, code, message } = report.node;
    assert.ok(tensorrt !== undefined, `tensorrt failed: ${code}: ${message}`);
    assert.equal(tensorrt.length, cpu.length);
    tensorrt.forEach((v, i) =>
      assert.ok(Math.abs(v - cpu[i]) <= 1e-5 * Math.max(Math.abs(cpu[i]), 1e-3), `element ${i}: tensorrt ${v}, cpu ${cpu[i]}`),
    );
    // A graph of two nodes is not one the host ops run: node_create's code and message come back.
    const two = nodeNet(
      'layer { name: "n" type: "Normalize" bottom: "data" top: "n" } layer { name: "out" type: "Permute" bottom: "n" top: "out" permute_param { order: 0 order: 2 order: 1 order: 3 } }',
      [5, 4, 3],
      1,
    );
    const refused = runChild(mod, { NODE_NET: JSON.stringify(two) }).node;
    assert.equal(refused?.code, 'E_INVALID_ARGUMENT', JSON.stringify(refused));
    assert.match(refused?.message ?? '', /cuda node op: the graph '.*' has 2 nodes; exactly one is run/);
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
