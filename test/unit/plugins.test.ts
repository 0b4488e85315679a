// Layer plugins (lib/network/plugins.ts, native/core/plugins.cc): the example library of
// examples/plugins/ built here with g++ (its cpu functions), its layer types imported with their
// parameter message, shaped by the library and run on the cpu backend against values computed
// here; plans that need it; and every way a library or a layer can be wrong.
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import { once } from 'events';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { Builder, Engine, knownLayerTypes, loadedPlugins, loadPlugin, Network, registerLayer } from '../../lib';
import { runCli } from '../support/cli';
import { fails } from '../support/helpers';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const INPUTS =
  'layer { name: "in" type: "Input" top: "a" top: "x" top: "y" input_param { ' +
  'shape { dim: 2 dim: 3 dim: 1 dim: 1 } shape { dim: 2 dim: 3 dim: 2 dim: 2 } shape { dim: 2 dim: 3 dim: 2 dim: 2 } } }\n';
const AXPY = 'layer { name: "ax" type: "Axpy" bottom: "a" bottom: "x" bottom: "y" top: "z" }\n';

/** Compiles `source` (a file) into a shared library with the package's native/ on the include path. */
function compile(source: string, out: string, defines: string[] = []): void {
  const r = spawnSync(
    'g++',
    ['-std=c++17', '-O1', '-shared', '-fPIC', '-fvisibility=hidden', `-I${path.join(ROOT, 'native')}`, ...defines, '-o', out, source],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, `g++ failed: ${r.stderr}`);
}

/** A minimal library describing layer types `TYPE` (and `TYPE2` when defined) with ABI version `ABI`. */
const TINY = `#include "include/tensorrt_node_plugin.h"
static int32_t dims(const char*, int32_t, const trtn_dims* in, int32_t, trtn_dims* out, char*, size_t) { out[0] = in[0]; return 0; }
#include <stdio.h>
static int32_t fails(const char*, int32_t, int32_t, const trtn_dims*, const float* const*, int32_t, const trtn_dims*, float* const*, char* error, size_t size) {
  snprintf(error, size, "no luck today");
  return 1;
}
#ifdef FAILING
static const trtn_plugin_layer layers[] = {{TYPE, 0, 0, 0, 1, 1, 1, dims, fails, 0}};
static const trtn_plugin plugin = {ABI, "failing", 1, 1, layers};
#elif defined(TYPE2)
static const trtn_plugin_layer layers[] = {{TYPE, 0, 0, 0, 1, 1, 1, dims, 0, 0}, {TYPE2, 0, 0, 0, 1, 1, 1, dims, 0, 0}};
static const trtn_plugin plugin = {ABI, "tiny2", 1, 2, layers};
#else
static const trtn_plugin_layer layers[] = {{TYPE, 0, 0, 0, 1, 1, 1, dims, 0, 0}};
static const trtn_plugin plugin = {ABI, "tiny", 1, 1, layers};
#endif
extern "C" __attribute__((visibility("default"))) const trtn_plugin* trtn_plugin_v1(void) { return &plugin; }
`;

/** A library as ABI version 1 laid its layer descriptions out (without the ABI 2 fields): two types. */
const V1 = `#include "include/tensorrt_node_plugin.h"
typedef struct {
  const char* type; const char* param_field; int32_t param_number; const char* param_fields;
  int32_t min_inputs, max_inputs, outputs; void* output_dims; void* forward_cpu; void* forward_cuda;
} v1_layer;
static int32_t dims(const char*, int32_t, const trtn_dims* in, int32_t, trtn_dims* out, char*, size_t) { out[0] = in[0]; return 0; }
static int32_t scale(int32_t batch, const trtn_dims* d, const float* in, float* out, float by) {
  int64_t n = batch; for (int i = 0; i < d->rank; ++i) n *= d->d[i];
  for (int64_t i = 0; i < n; ++i) out[i] = by * in[i];
  return 0;
}
static int32_t twice(const char*, int32_t b, int32_t, const trtn_dims* d, const float* const* in, int32_t, const trtn_dims*, float* const* out, char*, size_t) { return scale(b, d, in[0], out[0], 2); }
static int32_t thrice(const char*, int32_t b, int32_t, const trtn_dims* d, const float* const* in, int32_t, const trtn_dims*, float* const* out, char*, size_t) { return scale(b, d, in[0], out[0], 3); }
static const v1_layer layers[] = {{"V1Twice", 0, 0, 0, 1, 1, 1, (void*)dims, (void*)twice, 0}, {"V1Thrice", 0, 0, 0, 1, 1, 1, (void*)dims, (void*)thrice, 0}};
static const trtn_plugin plugin = {1, "v1-library", 1, 2, (const trtn_plugin_layer*)layers};
extern "C" __attribute__((visibility("default"))) const trtn_plugin* trtn_plugin_v1(void) { return &plugin; }
`;

/** An ABI 2 library of one type `TYPE` with cuda_types `TYPES`, workspace_size `WS` and forward_cuda_ex `EX` (0 or the stubs). */
const V2 = `#include "include/tensorrt_node_plugin.h"
static int32_t dims(const char*, int32_t, const trtn_dims* in, int32_t, trtn_dims* out, char*, size_t) { out[0] = in[0]; return 0; }
static size_t ws(const char*, int32_t, int32_t, int32_t, const trtn_dims*, int32_t, const trtn_dims*) { return 0; }
static int32_t ex(const char*, int32_t, int32_t, int32_t, const trtn_dims*, const void* const*, int32_t, const trtn_dims*, void* const*, void*, void*, char*, size_t) { return 0; }
static const trtn_plugin_layer layers[] = {{TYPE, 0, 0, 0, 1, 1, 1, dims, 0, 0, TYPES, WS, EX}};
#ifndef LIBNAME
#define LIBNAME TYPE
#endif
static const trtn_plugin plugin = {TRTN_PLUGIN_ABI_VERSION, LIBNAME, 1, 1, layers};
extern "C" __attribute__((visibility("default"))) const trtn_plugin* trtn_plugin_v1(void) { return &plugin; }
`;

describe('layer plugins (examples/plugins, cpu backend)', function () {
  this.timeout(120000);
  let dir = '';
  let lib = '';
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-plugins-'));
    lib = path.join(dir, 'libexample_plugin.so');
    compile(path.join(ROOT, 'examples', 'plugins', 'example_plugin.cc'), lib);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function runCpu(net: Network, feeds: Record<string, Float32Array>, batch: number): Promise<Record<string, Float32Array>> {
    const engine = await new Builder({ backend: 'cpu' }).build(net, { maxBatchSize: 2 });
    try {
      return await engine.createContext().infer(feeds, { batchSize: batch });
    } finally {
      engine.dispose();
    }
  }

  it('loadPlugin describes the library; loading it again gives the same; its types become known', () => {
    const d = loadPlugin(lib);
    assert.equal(d.name, 'tensorrt-node-example');
    assert.equal(d.version, 1);
    assert.deepEqual(
      d.layers.map((l) => [l.type, l.minInputs, l.maxInputs, l.outputs, l.cpu, l.cuda]),
      [
        ['Axpy', 3, 3, 1, true, false],
        ['HardSigmoid', 1, 1, 1, true, false],
      ],
    );
    assert.deepEqual(d.layers[1].params, [
      { name: 'alpha', type: 'float', number: 1, default: 0.2 },
      { name: 'beta', type: 'float', number: 2, default: 0.5 },
    ]);
    assert.equal(loadPlugin(lib), d);
    assert.ok(loadedPlugins().includes(d));
    assert.ok(knownLayerTypes().includes('Axpy') && knownLayerTypes().includes('HardSigmoid'));
  });

  it("imports the layers as Plugin layers with the library's shapes and parameters (defaults applied)", async () => {
    loadPlugin(lib);
    const net = await Network.parse(
      INPUTS + AXPY + 'layer { name: "hs" type: "HardSigmoid" bottom: "z" top: "o" hard_sigmoid_param { alpha: 0.25 } }\n',
    );
    const ax = net.layer('ax');
    assert.equal(ax?.type, 'Plugin');
    assert.deepEqual(ax?.attrs, { pluginType: 'Axpy', pluginLibrary: 'tensorrt-node-example', pluginVersion: 1, params: '{}' });
    assert.equal(JSON.parse((net.layer('hs')?.attrs as { params: string }).params).beta, 0.5);
    assert.equal(JSON.parse((net.layer('hs')?.attrs as { params: string }).params).alpha, 0.25);
    assert.deepEqual(net.tensors.get('o')?.shape, [2, 3, 2, 2]);
  });

  for (const batch of [2, 1]) {
    it(`runs on the cpu backend at batch ${batch} of 2: a x + y, then the hard sigmoid, as computed here`, async () => {
      loadPlugin(lib);
      const net = await Network.parse(INPUTS + AXPY + 'layer { name: "hs" type: "HardSigmoid" bottom: "z" top: "o" }\n');
      const a = Float32Array.from({ length: 3 * batch }, (_, i) => i - 2.5);
      const x = Float32Array.from({ length: 12 * batch }, (_, i) => Math.sin(i));
      const y = Float32Array.from({ length: 12 * batch }, (_, i) => Math.cos(i) / 2);
      const out = await runCpu(net, { a, x, y }, batch);
      assert.equal(out.o.length, 12 * batch);
      out.o.forEach((v, i) => {
        const z = Math.fround(a[Math.floor(i / 4)] * x[i]) + y[i];
        const want = Math.min(Math.max(Math.fround(0.2) * Math.fround(z) + 0.5, 0), 1);
        assert.ok(Math.abs(v - want) <= 1e-6, `o[${i}] = ${v}, expected ${want}`);
      });
    });
  }

  it('INT8 engines run the convolutions around a plugin layer in INT8 and the plugin in FP32', async () => {
    loadPlugin(lib);
    const net = await Network.parse(
      'layer { name: "in" type: "Input" top: "data" input_param { shape { dim: 2 dim: 4 dim: 6 dim: 6 } } }\n' +
        'layer { name: "c1" type: "Convolution" bottom: "data" top: "c1" convolution_param { num_output: 8 kernel_size: 3 pad: 1 } }\n' +
        'layer { name: "hs" type: "HardSigmoid" bottom: "c1" top: "hs" }\n' +
        'layer { name: "c2" type: "Convolution" bottom: "hs" top: "c2" convolution_param { num_output: 4 kernel_size: 3 pad: 1 } }\n',
      { seed: 2 },
    );
    const x = Float32Array.from({ length: 2 * 4 * 36 }, (_, i) => Math.sin(i));
    const out: Record<string, Float32Array> = {};
    for (const precision of ['fp32', 'int8'] as const) {
      const engine = await new Builder({ backend: 'cpu', logger: () => undefined }).build(net, { precision, maxBatchSize: 2 });
      if (precision === 'int8') assert.deepEqual(engine.details().precisions, { int8: 2, fp32: 1 });
      out[precision] = (await engine.createContext().infer({ data: x })).c2;
      engine.dispose();
    }
    const err = Math.hypot(...out.fp32.map((v, i) => v - out.int8[i])) / Math.hypot(...out.fp32);
    assert.ok(err < 0.05, `INT8 against FP32: ${err}`);
  });

  it('the CLI loads libraries with --plugin (inspect, calibrate, bench)', async () => {
    const file = path.join(dir, 'hs.prototxt');
    fs.writeFileSync(
      file,
      'layer { name: "in" type: "Input" top: "data" input_param { shape { dim: 1 dim: 2 dim: 4 dim: 4 } } }\n' +
        'layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 3 kernel_size: 3 } }\n' +
        'layer { name: "hs" type: "HardSigmoid" bottom: "c" top: "hs" hard_sigmoid_param { beta: 0.25 } }\n',
    );
    const inspect = await runCli('inspect', file, '--plugin', lib, '--json');
    assert.equal(inspect.code, 0, inspect.err);
    assert.ok(inspect.out.includes('"Plugin"'), inspect.out.slice(0, 400));
    const calib = path.join(dir, 'hs.calib');
    const c = await runCli(
      'calibrate',
      file,
      '--plugin',
      lib,
      '--data',
      'random',
      '--batches',
      '2',
      '--batchSize',
      '2',
      '-o',
      calib,
      '--backend',
      'cpu',
    );
    assert.equal(c.code, 0, c.err);
    assert.ok(fs.existsSync(calib));
    const b = await runCli('bench', file, '--plugin', lib, '--backend', 'cpu', '--duration', '0.1', '--warmUp', '0');
    assert.equal(b.code, 0, b.err);
    assert.match(b.out, /Throughput: /);
  });

  it('a plan records the library: it loads where the library is loaded, and elsewhere says which to load (E_PLUGIN)', async () => {
    loadPlugin(lib);
    const net = await Network.parse(INPUTS + AXPY);
    const engine = await new Builder({ backend: 'cpu' }).build(net, { maxBatchSize: 2 });
    const planPath = path.join(dir, 'axpy.plan');
    await engine.save(planPath);
    engine.dispose();
    const again = await Engine.load(planPath);
    const a = Float32Array.of(1, 2, 3, 4, 5, 6);
    const x = new Float32Array(24).fill(1);
    const y = new Float32Array(24).fill(0.5);
    const out = await again.createContext().infer({ a, x, y }, { batchSize: 2 });
    assert.deepEqual(Array.from(out.z.subarray(0, 5)), [1.5, 1.5, 1.5, 1.5, 2.5]);
    again.dispose();
    // A fresh process that has not loaded the library.
    const script =
      `const t = require(${JSON.stringify(path.join(ROOT, 'dist', 'lib'))});` +
      `t.Engine.load(${JSON.stringify(planPath)}).then(() => console.log('loaded'), (e) => console.log(e.code + ': ' + e.message));`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    assert.match(r.stdout, /^E_PLUGIN: .*'ax'.*'Axpy'.*tensorrt-node-example \(version 1\).*loadPlugin/s, r.stdout + r.stderr);
    // With the library given to the Builder (or loaded) first, it loads.
    const withLib =
      `const t = require(${JSON.stringify(path.join(ROOT, 'dist', 'lib'))});` +
      `new t.Builder({ backend: 'cpu', plugins: [${JSON.stringify(lib)}] });` +
      `t.Engine.load(${JSON.stringify(planPath)}).then(() => console.log('loaded'), (e) => console.log(e.code + ': ' + e.message));`;
    assert.equal(spawnSync(process.execPath, ['-e', withLib], { encoding: 'utf8' }).stdout.trim(), 'loaded');
  });

  describe('errors', () => {
    it('shapes the library refuses: E_SHAPE naming the layer and the reason', async () => {
      loadPlugin(lib);
      const bad = INPUTS.replace('shape { dim: 2 dim: 3 dim: 1 dim: 1 }', 'shape { dim: 2 dim: 4 dim: 1 dim: 1 }');
      await fails(Network.parse(bad + AXPY), 'E_SHAPE', "layer 'ax' (Axpy)", 'a must be N x C x 1 x 1');
    });

    it('a wrong number of bottoms: E_SHAPE before the library is asked', async () => {
      loadPlugin(lib);
      await fails(
        Network.parse(INPUTS + 'layer { name: "ax" type: "Axpy" bottom: "a" bottom: "x" top: "z" }\n'),
        'E_SHAPE',
        "layer 'ax' (Axpy) takes 3 bottom(s), got 2",
      );
    });

    it('a parameter field the message does not have: E_PARSE', async () => {
      loadPlugin(lib);
      await fails(
        Network.parse(INPUTS + AXPY + 'layer { name: "hs" type: "HardSigmoid" bottom: "z" top: "o" hard_sigmoid_param { gamma: 1 } }\n'),
        'E_PARSE',
        'gamma',
      );
    });

    it('the cpu backend refuses a layer type whose library has no forward_cpu, naming it', async () => {
      const src = path.join(dir, 'nocpu.cc');
      fs.writeFileSync(src, TINY);
      const so = path.join(dir, 'libnocpu.so');
      compile(src, so, ['-DTYPE="NoCpu"', '-DABI=TRTN_PLUGIN_ABI_VERSION']);
      loadPlugin(so);
      const net = await Network.parse(INPUTS + 'layer { name: "n" type: "NoCpu" bottom: "x" top: "z" }\n');
      await fails(new Builder({ backend: 'cpu' }).build(net), 'E_UNSUPPORTED_LAYER', "'n'", 'forward_cpu');
    });

    it('loadPlugin: no file is E_IO; a library without trtn_plugin_v1, another ABI or a built-in type is E_PLUGIN', () => {
      assert.throws(() => loadPlugin(path.join(dir, 'missing.so')), { code: 'E_IO' });
      assert.throws(() => loadPlugin(''), TypeError);
      assert.throws(() => loadPlugin(42 as unknown as string), TypeError);
      const src = path.join(dir, 'tiny.cc');
      fs.writeFileSync(src, TINY);
      const noEntry = path.join(dir, 'libnoentry.so');
      fs.writeFileSync(path.join(dir, 'empty.cc'), 'extern "C" int nothing_here(void) { return 0; }\n');
      compile(path.join(dir, 'empty.cc'), noEntry);
      assert.throws(
        () => loadPlugin(noEntry),
        (e: Error & { code?: string }) => e.code === 'E_PLUGIN' && /exports no trtn_plugin_v1/.test(e.message),
      );
      const abi = path.join(dir, 'libabi.so');
      compile(src, abi, ['-DTYPE="Other"', '-DABI=99']);
      assert.throws(
        () => loadPlugin(abi),
        (e: Error & { code?: string }) => e.code === 'E_PLUGIN' && /ABI version 99/.test(e.message),
      );
      const builtIn = path.join(dir, 'libbuiltin.so');
      compile(src, builtIn, ['-DTYPE="Convolution"', '-DABI=TRTN_PLUGIN_ABI_VERSION']);
      assert.throws(
        () => loadPlugin(builtIn),
        (e: Error & { code?: string }) => e.code === 'E_PLUGIN' && /built in/.test(e.message),
      );
      assert.throws(() => new Builder({ backend: 'cpu', plugins: 'x.so' as unknown as string[] }), TypeError);
    });

    it("a library's forward_cpu that fails rejects the call with E_PLUGIN naming the node and its message", async () => {
      const src = path.join(dir, 'failing.cc');
      fs.writeFileSync(src, TINY);
      const so = path.join(dir, 'libfailing.so');
      compile(src, so, ['-DTYPE="FailsAlways"', '-DFAILING', '-DABI=TRTN_PLUGIN_ABI_VERSION']);
      loadPlugin(so);
      const net = await Network.parse(INPUTS + 'layer { name: "f" type: "FailsAlways" bottom: "x" top: "z" }\n');
      const engine = await new Builder({ backend: 'cpu' }).build(net, { maxBatchSize: 2 });
      const feeds = { a: new Float32Array(6), x: new Float32Array(24), y: new Float32Array(24) };
      await fails(engine.createContext().infer(feeds), 'E_PLUGIN', "node 'f'", 'forward_cpu failed: no luck today');
      engine.dispose();
    });

    it('a refused library registers none of its types (a later registerLayer of one of them works)', () => {
      const src = path.join(dir, 'tiny2.cc');
      fs.writeFileSync(src, TINY);
      const so = path.join(dir, 'libtiny2.so');
      compile(src, so, ['-DTYPE="GoodTiny"', '-DTYPE2="Convolution"', '-DABI=TRTN_PLUGIN_ABI_VERSION']);
      assert.throws(
        () => loadPlugin(so),
        (e: Error & { code?: string }) => e.code === 'E_PLUGIN' && /built in/.test(e.message),
      );
      assert.ok(!knownLayerTypes().includes('GoodTiny'));
      registerLayer('GoodTiny', { outputShapes: (s) => s });
      assert.ok(knownLayerTypes().includes('GoodTiny'));
    });

    it('a library built for ABI version 1 loads and runs (its shorter layer descriptions read as such)', async () => {
      const src = path.join(dir, 'v1.cc');
      fs.writeFileSync(src, V1);
      const so = path.join(dir, 'libv1.so');
      compile(src, so);
      const lib = loadPlugin(so);
      assert.deepEqual(
        lib.layers.map((l) => [l.type, l.cpu, l.cuda, l.cudaTypes]),
        [
          ['V1Twice', true, false, []],
          ['V1Thrice', true, false, []],
        ],
      );
      const net = await Network.parse(
        INPUTS +
          'layer { name: "t2" type: "V1Twice" bottom: "x" top: "x2" }\n' +
          'layer { name: "t3" type: "V1Thrice" bottom: "x2" top: "x6" }\n',
      );
      const engine = await new Builder({ backend: 'cpu' }).build(net, { maxBatchSize: 2 });
      const x = Float32Array.from({ length: 24 }, (_, i) => i - 5);
      const out = await engine.createContext().infer({ a: new Float32Array(6), x, y: new Float32Array(24) });
      assert.deepEqual(
        Array.from(out.x6),
        Array.from(x, (v) => 6 * v),
      );
      engine.dispose();
    });

    it('ABI 2 descriptions: cuda_types name the forward_cuda_ex element types; inconsistent ones are E_PLUGIN', () => {
      const src = path.join(dir, 'v2.cc');
      fs.writeFileSync(src, V2);
      const build = (name: string, types: string, ws: string, ex: string) => {
        const so = path.join(dir, `lib${name}.so`);
        compile(src, so, [`-DTYPE="${name}"`, `-DTYPES=${types}`, `-DWS=${ws}`, `-DEX=${ex}`]);
        return so;
      };
      const good = loadPlugin(build('V2Both', 'TRTN_PLUGIN_FLOAT32|TRTN_PLUGIN_FLOAT16', 'ws', 'ex'));
      assert.deepEqual([good.layers[0].cuda, good.layers[0].cudaTypes], [true, ['float32', 'float16']]);
      const half = loadPlugin(build('V2Half', 'TRTN_PLUGIN_FLOAT16', '0', 'ex'));
      assert.deepEqual(half.layers[0].cudaTypes, ['float16']);
      const bad: [string, string, string, string, RegExp][] = [
        ['V2Unknown', '4', '0', 'ex', /unknown element types in cuda_types \(4;/],
        ['V2NoEx', 'TRTN_PLUGIN_FLOAT32', '0', '0', /lists cuda_types but has no forward_cuda_ex/],
        ['V2NoTypes', '0', '0', 'ex', /has forward_cuda_ex but lists no cuda_types/],
        ['V2WsOnly', '0', 'ws', '0', /has workspace_size but no forward_cuda_ex/],
      ];
      for (const [name, types, ws, ex, why] of bad) {
        assert.throws(
          () => loadPlugin(build(name, types, ws, ex)),
          (e: Error & { code?: string }) => e.code === 'E_PLUGIN' && why.test(e.message) && e.message.includes(`'${name}'`),
          name,
        );
        assert.ok(!knownLayerTypes().includes(name), `${name} is not registered`);
      }
      // A type another library or registerLayer already provides (the addon's registry says so).
      const clash = path.join(dir, 'libclash.so');
      compile(src, clash, ['-DTYPE="V2Both"', '-DLIBNAME="another-library"', '-DTYPES=1', '-DWS=0', '-DEX=ex']);
      assert.throws(
        () => loadPlugin(clash),
        (e: Error & { code?: string }) =>
          e.code === 'E_PLUGIN' &&
          /\(another-library\) implements layer type 'V2Both', which V2Both \(.*libV2Both\.so\) already provides/.test(e.message),
      );
      registerLayer('JsFirst', { outputShapes: (s) => s });
      const js = path.join(dir, 'libjsclash.so');
      compile(src, js, ['-DTYPE="JsFirst"', '-DTYPES=1', '-DWS=0', '-DEX=ex']);
      assert.throws(
        () => loadPlugin(js),
        (e: Error & { code?: string }) => e.code === 'E_PLUGIN' && /layer type 'JsFirst', which javascript/.test(e.message),
      );
    });

    it("a prototxt naming the IR type 'Plugin' itself is E_UNSUPPORTED_LAYER", async () => {
      await fails(Network.parse(INPUTS + 'layer { name: "p" type: "Plugin" bottom: "x" top: "z" }\n'), 'E_UNSUPPORTED_LAYER', "'Plugin'");
    });
  });
});

describe('layer types written in JavaScript (registerLayer)', function () {
  this.timeout(60000);
  const text =
    'layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 2 dim: 3 dim: 2 dim: 2 } } }\n' +
    'layer { name: "c" type: "Conv1x1Js" bottom: "x" top: "c" }\n' +
    'layer { name: "p" type: "ScaleShiftJs" bottom: "c" top: "y" scale_shift_js_param { scale: 3 } }\n' +
    'layer { name: "r" type: "ReLU" bottom: "y" top: "y" }\n';

  before(() => {
    // Sums the channels into one: [N, C, H, W] -> [N, 1, H, W].
    registerLayer('Conv1x1Js', {
      outputShapes: ([x]) => [[x[0], 1, ...x.slice(2)]],
      cpu([x], [y]) {
        const [n, c, h, w] = x.dims;
        for (let i = 0; i < n; i++)
          for (let p = 0; p < h * w; p++) {
            let s = 0;
            for (let k = 0; k < c; k++) s += x.data[(i * c + k) * h * w + p];
            y.data[i * h * w + p] = s;
          }
      },
    });
    registerLayer('ScaleShiftJs', {
      params: {
        field: 'scale_shift_js_param',
        number: 40001,
        fields: { scale: { type: 'float', number: 1, default: 1 }, shift: { type: 'float', number: 2, default: -1 } },
      },
      outputShapes: (inputs, params) => {
        if (params.scale === 0) throw new Error('scale must not be 0');
        return [inputs[0]];
      },
      cpu([x], [y], params) {
        for (let i = 0; i < x.data.length; i++) y.data[i] = (params.scale as number) * x.data[i] + (params.shift as number);
      },
    });
  });

  it('import with their shape functions and parameters, and run on the cpu backend between built-in layers', async () => {
    const net = await Network.parse(text);
    assert.deepEqual(net.tensors.get('c')?.shape, [2, 1, 2, 2]);
    assert.equal(net.layer('p')?.type, 'Plugin');
    assert.deepEqual(JSON.parse((net.layer('p')?.attrs as { params: string }).params), { scale: 3, shift: -1 });
    const engine = await new Builder({ backend: 'cpu' }).build(net, { maxBatchSize: 2 });
    const x = Float32Array.from({ length: 24 }, (_, i) => (i % 7) / 10 - 0.2);
    for (const batch of [2, 1]) {
      const out = await engine.createContext().infer({ x: x.subarray(0, 12 * batch) }, { batchSize: batch });
      assert.equal(out.y.length, 4 * batch);
      out.y.forEach((v, k) => {
        const i = Math.floor(k / 4);
        const p = k % 4;
        const s = Math.fround(Math.fround(x[i * 12 + p] + x[i * 12 + 4 + p]) + x[i * 12 + 8 + p]);
        assert.ok(Math.abs(v - Math.max(3 * s - 1, 0)) <= 1e-6, `y[${k}] = ${v}`);
      });
    }
    engine.dispose();
  });

  it('a throwing cpu function rejects the call with E_PLUGIN naming the node; the process and later calls go on', async () => {
    let fail = true;
    registerLayer('MaybeThrowsJs', {
      outputShapes: (inputs) => [inputs[0]],
      cpu([x], [y]) {
        if (fail) throw new Error('deliberate');
        y.data.set(x.data);
      },
    });
    const net = await Network.parse(
      'layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 1 dim: 4 } } }\n' +
        'layer { name: "m" type: "MaybeThrowsJs" bottom: "x" top: "y" }\n',
    );
    const engine = await new Builder({ backend: 'cpu' }).build(net);
    const ctx = engine.createContext();
    await fails(ctx.infer({ x: Float32Array.of(1, 2, 3, 4) }), 'E_PLUGIN', "'m'", 'MaybeThrowsJs', 'deliberate');
    fail = false;
    assert.deepEqual(Array.from((await ctx.infer({ x: Float32Array.of(1, 2, 3, 4) })).y), [1, 2, 3, 4]);
    engine.dispose();
  });

  it('a shape function that throws or returns nonsense is E_SHAPE naming the layer', async () => {
    await fails(Network.parse(text.replace('scale: 3', 'scale: 0')), 'E_SHAPE', "layer 'p' (ScaleShiftJs)", 'scale must not be 0');
    registerLayer('BadShapeJs', { outputShapes: () => [[2, 'x' as unknown as number]] });
    await fails(
      Network.parse(
        'layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 2 dim: 4 } } }\nlayer { name: "b" type: "BadShapeJs" bottom: "x" top: "y" }\n',
      ),
      'E_SHAPE',
      "layer 'b' (BadShapeJs)",
      'arrays of numbers',
    );
    registerLayer('NoBatchJs', { outputShapes: () => [[3, 4]] });
    await fails(
      Network.parse(
        'layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 2 dim: 4 } } }\nlayer { name: "b" type: "NoBatchJs" bottom: "x" top: "y" }\n',
      ),
      'E_SHAPE',
      "layer 'b' (NoBatchJs)",
      'every output needs positive dims and the batch (2) first',
    );
  });

  it('without a cpu function the type imports and shapes, and no backend builds it (saying why)', async () => {
    registerLayer('ShapesOnlyJs', { outputShapes: (inputs) => [inputs[0]] });
    const net = await Network.parse(
      'layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 1 dim: 4 } } }\nlayer { name: "s" type: "ShapesOnlyJs" bottom: "x" top: "y" }\n',
    );
    assert.deepEqual(net.tensors.get('y')?.shape, [1, 4]);
    await fails(new Builder({ backend: 'cpu' }).build(net), 'E_UNSUPPORTED_LAYER', "'s'", 'cpu function');
  });

  it('registering a type again with other parameter fields is E_PLUGIN (a process keeps a parameter message once defined)', () => {
    const def = (fields: Record<string, { type: string; number: number }>) => ({
      params: { field: 'again_js_param', number: 40009, fields },
      outputShapes: (s: number[][]) => s,
    });
    registerLayer('AgainJs', def({ a: { type: 'float', number: 1 } }));
    registerLayer('AgainJs', def({ a: { type: 'float', number: 1 } }));
    assert.throws(
      () => registerLayer('AgainJs', def({ a: { type: 'float', number: 1 }, b: { type: 'float', number: 2 } })),
      (e: Error & { code?: string }) => e.code === 'E_PLUGIN' && /other fields/.test(e.message),
    );
  });

  it('a layer registered in a worker that has ended: its calls reject with E_PLUGIN and the process goes on', async () => {
    const planPath = path.join(os.tmpdir(), `trtn-worker-layer-${process.pid}.plan`);
    const lib = JSON.stringify(path.join(ROOT, 'dist', 'lib'));
    const code =
      `const t = require(${lib});` +
      "t.registerLayer('WorkerDouble', { outputShapes: (s) => [s[0]], cpu([x], [y]) { for (let i = 0; i < x.data.length; i++) y.data[i] = 2 * x.data[i]; } });" +
      '(async () => {' +
      '  const net = await t.Network.parse(\'layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 1 dim: 4 } } }\\nlayer { name: "d" type: "WorkerDouble" bottom: "x" top: "y" }\\n\');' +
      "  const e = await new t.Builder({ backend: 'cpu' }).build(net);" +
      '  const out = await e.createContext().infer({ x: Float32Array.of(1, 2, 3, 4) });' +
      `  await e.save(${JSON.stringify(planPath)});` +
      '  e.dispose();' +
      "  require('worker_threads').parentPort.postMessage(Array.from(out.y));" +
      '})();';
    const worker = new Worker(code, { eval: true });
    const [y] = (await once(worker, 'message')) as [number[]];
    assert.deepEqual(y, [2, 4, 6, 8]);
    await worker.terminate();
    const engine = await Engine.load(planPath);
    await fails(engine.createContext().infer({ x: Float32Array.of(1, 2, 3, 4) }), 'E_PLUGIN', "'d'", 'has ended');
    engine.dispose();
    fs.rmSync(planPath, { force: true });
  });

  it('refuses built-in types, a type a library provides and malformed definitions', () => {
    assert.throws(() => registerLayer('Convolution', { outputShapes: (s) => s }), { code: 'E_PLUGIN' });
    assert.throws(() => registerLayer('', { outputShapes: (s) => s }), TypeError);
    assert.throws(() => registerLayer('NoShapes', {} as never), TypeError);
    assert.throws(() => registerLayer('BadCount', { inputs: [2, 1], outputShapes: (s) => s }), RangeError);
    assert.throws(() => registerLayer('TooMany', { inputs: 65, outputShapes: (s) => s }), /counts in \[0, 64\] for def\.inputs/);
    assert.throws(() => registerLayer('BadCpu', { outputShapes: (s) => s, cpu: 3 as never }), /def\.cpu/);
    assert.throws(() => registerLayer('NoOutputs', { outputs: 0, outputShapes: (s) => s }), {
      name: 'RangeError',
      message: /counts in \[1, 64\] for def\.outputs/,
    });
    assert.throws(
      () => registerLayer('ThreeInputs', { inputs: [1, 2, 3] as never, outputShapes: (s) => s }),
      /a count or \[min, max\] for def\.inputs/,
    );
    assert.throws(() => registerLayer('BadParams', { params: 3 as never, outputShapes: (s) => s }), {
      name: 'TypeError',
      message: /def\.params/,
    });
    // The example library (loaded by the describe above, for this process) provides Axpy.
    assert.throws(() => registerLayer('Axpy', { outputShapes: (s) => s }), {
      code: 'E_PLUGIN',
      message: /layer type 'Axpy' is provided by plugin library tensorrt-node-example/,
    });
    assert.throws(
      () =>
        registerLayer('BadDefault', {
          params: { field: 'bad_default_param', number: 40003, fields: { k: { type: 'float', number: 1, default: 'x' as never } } },
          outputShapes: (s) => s,
        }),
      { code: 'E_PLUGIN', message: /the default of 'k' is not a float: 'x'/ },
    );
    assert.throws(
      () =>
        registerLayer('BadParam', {
          params: { field: 'bad_param', number: 40002, fields: { k: { type: 'matrix', number: 1 } } },
          outputShapes: (s) => s,
        }),
      {
        code: 'E_PLUGIN',
      },
    );
  });
});
