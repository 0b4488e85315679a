// INT8 calibrators (lib/calibration/calibrator.ts) through Builder.build on the cpu backend:
// batch sources, TensorRT-style objects, cache files, calibrationCache, the histograms collected
// in the backend (native/core/histogram.cc), the scale rules of the INT8 planner
// (lib/builder/exec_graph.ts), and every error of bad calibration input.
//
// Expected values come from this file: max |x| from a float64 forward pass
// (test/support/reference.ts), percentiles from a histogram built here by the rules of
// docs/calibration.md, and engine scales read back from the plan's graph.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Builder, Network, Runtime, type Engine } from '../../lib';
import { readPlan } from '../../lib/runtime/plan_file';
import { type ExecGraph } from '../../lib/builder/exec_graph';
import { formatCalibrationCache, parseCalibrationCache, type CalibrationCache } from '../../lib/calibration/cache';
import {
  Int8EntropyCalibrator,
  Int8EntropyCalibrator2,
  Int8LegacyCalibrator,
  Int8MinMaxCalibrator,
  Int8PercentileCalibrator,
  type CalibrationBatch,
  type Calibrator,
  type CalibratorOptions,
} from '../../lib/calibration/calibrator';
import { BUILD } from '../../lib/cli/build';
import { CALIBRATE } from '../../lib/cli/calibrate';
import { fails, seededFloats } from '../support/helpers';
import { referenceForward } from '../support/reference';

// ---------------------------------------------------------------------------------------------
// Networks

/** conv -> BatchNorm -> Scale -> ReLU (in place) -> MAX pool -> InnerProduct; batch 4. */
const BN_NET = `
name: "bn_net"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 4 dim: 3 dim: 6 dim: 6 } } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1" convolution_param { num_output: 4 kernel_size: 3 pad: 1 } }
layer { name: "bn1" type: "BatchNorm" bottom: "conv1" top: "bn1" }
layer { name: "sc1" type: "Scale" bottom: "bn1" top: "sc1" scale_param { bias_term: true } }
layer { name: "relu1" type: "ReLU" bottom: "sc1" top: "sc1" }
layer { name: "pool1" type: "Pooling" bottom: "sc1" top: "pool1" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "ip1" type: "InnerProduct" bottom: "pool1" top: "ip1" inner_product_param { num_output: 5 } }
`;
const BN_UNFUSED = ['data', 'conv1', 'bn1', 'sc1', 'pool1', 'ip1'];
/** After folding BatchNorm and Scale into conv1 and fusing the ReLU, conv1 writes 'sc1' directly. */
const BN_FUSED = ['data', 'sc1', 'pool1', 'ip1'];
const BN_IMAGE = 3 * 6 * 6;

/** Two convolutions (one through a MAX pool) into a Concat, then MAX pool and InnerProduct; batch 2. */
const CONCAT_NET = `
name: "concat_net"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 3 dim: 8 dim: 8 } } }
layer { name: "ca" type: "Convolution" bottom: "data" top: "ca" convolution_param { num_output: 4 kernel_size: 3 pad: 1 } }
layer { name: "pa" type: "Pooling" bottom: "ca" top: "pa" pooling_param { pool: MAX kernel_size: 3 stride: 1 pad: 1 } }
layer { name: "cb" type: "Convolution" bottom: "data" top: "cb" convolution_param { num_output: 6 kernel_size: 1 } }
layer { name: "cat" type: "Concat" bottom: "pa" bottom: "cb" top: "cat" }
layer { name: "pool" type: "Pooling" bottom: "cat" top: "pool" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "ip" type: "InnerProduct" bottom: "pool" top: "ip" inner_product_param { num_output: 3 } }
`;

/** 1000 values per image through a ReLU: the histogram of 'data' is the histogram of the values fed. */
const WIDE_NET = `
name: "wide"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 1000 } } }
layer { name: "relu" type: "ReLU" bottom: "data" top: "r" }
`;

/** Small nets whose activations stop calibration. */
const EXP_NET = `
name: "exp_net"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 4 } } }
layer { name: "boom" type: "Exp" bottom: "data" top: "boom" exp_param { scale: 1000 } }
layer { name: "ip" type: "InnerProduct" bottom: "boom" top: "ip" inner_product_param { num_output: 2 } }
`;
const POWER_NET = `
name: "power_net"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 4 } } }
layer { name: "square" type: "Power" bottom: "data" top: "square" power_param { power: 2 scale: 1e30 } }
layer { name: "ip" type: "InnerProduct" bottom: "square" top: "ip" inner_product_param { num_output: 2 } }
`;
const LOG_NET = `
name: "log_net"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 4 } } }
layer { name: "lg" type: "Log" bottom: "data" top: "lg" }
layer { name: "ip" type: "InnerProduct" bottom: "lg" top: "ip" inner_product_param { num_output: 2 } }
`;

// ---------------------------------------------------------------------------------------------
// Helpers

type CalibratorClass = new (o: CalibratorOptions) => Calibrator;
const CLASSES: Array<{ ctor: CalibratorClass; algorithm: string; header: string; afterFusion: boolean }> = [
  { ctor: Int8EntropyCalibrator2, algorithm: 'entropy2', header: 'EntropyCalibration2', afterFusion: false },
  { ctor: Int8EntropyCalibrator, algorithm: 'entropy', header: 'EntropyCalibration', afterFusion: true },
  { ctor: Int8MinMaxCalibrator, algorithm: 'minmax', header: 'MinMaxCalibration', afterFusion: false },
  { ctor: Int8LegacyCalibrator, algorithm: 'legacy', header: 'LegacyCalibration', afterFusion: true },
  { ctor: Int8PercentileCalibrator, algorithm: 'percentile', header: 'PercentileCalibration', afterFusion: false },
];

/** `count` batches of `images` seeded images of `per` values in [-1, 1). */
function batchesOf(count: number, images: number, per: number, seed: number, input = 'data'): CalibrationBatch[] {
  return Array.from({ length: count }, (_, b) => ({ [input]: seededFloats(images * per, seed + 7919 * b, 2) }));
}

/** Sources over `batches` that count how many batches were taken from them. */
function counting(batches: readonly CalibrationBatch[]) {
  const state = { taken: 0 };
  return {
    state,
    generator: function* (): Generator<CalibrationBatch> {
      for (const b of batches) {
        state.taken++;
        yield b;
      }
    },
    asyncGenerator: async function* (): AsyncGenerator<CalibrationBatch> {
      for (const b of batches) {
        await new Promise((r) => setImmediate(r));
        state.taken++;
        yield b;
      }
    },
  };
}

type GraphJson = ExecGraph;

function graphOf(engine: Engine): GraphJson {
  return JSON.parse(readPlan(engine.serialize()).graphJson) as GraphJson;
}

/** The scale of the engine tensor `name` (int8 tensors only). */
function engineScale(g: GraphJson, name: string): number | undefined {
  const t = g.tensors.find((x) => x.name === name);
  assert.ok(t !== undefined, `no tensor '${name}' in the engine graph`);
  return t.dtype === 'int8' ? t.scale : undefined;
}

/** The builder with a logger that keeps every message. */
function cpuBuilder(): { builder: Builder; logs: Array<[string, string]> } {
  const logs: Array<[string, string]> = [];
  return { builder: new Builder({ backend: 'cpu', logger: (s, m) => logs.push([s, m]) }), logs };
}

/** Builds an INT8 engine of `net` with `calibrator`, returns its graph, disposes the engine. */
async function buildGraph(builder: Builder, net: Network, calibrator: unknown, maxBatchSize = net.batchSize): Promise<GraphJson> {
  const engine = await builder.build(net, { precision: 'int8', calibrator: calibrator as Calibrator, maxBatchSize });
  try {
    assert.equal(engine.precision, 'int8');
    return graphOf(engine);
  } finally {
    engine.dispose();
  }
}

/** A float32 scale equals amax / 127 computed in float64, to within float32 rounding of the activations. */
function assertScaleNear(actual: number | undefined, amax: number, what: string, rel = 2e-6): void {
  assert.ok(actual !== undefined, `${what}: no scale`);
  const expected = amax / 127;
  assert.ok(Math.abs(actual - expected) <= rel * expected, `${what}: scale ${actual}, expected ${expected} (amax ${amax})`);
}

/** The histogram of docs/calibration.md, built here from the values of each batch. */
function documentedHistogram(batches: readonly Float32Array[]): { counts: Float64Array; range: number; amax: number } {
  const counts = new Float64Array(2048);
  let range = 0;
  let amax = 0;
  for (const values of batches) {
    const batchMax = values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    amax = Math.max(amax, batchMax);
    if (batchMax > 0) {
      if (range === 0) range = batchMax;
      while (range < batchMax) {
        for (let i = 0; i < 1024; i++) counts[i] = counts[2 * i] + counts[2 * i + 1];
        counts.fill(0, 1024);
        range *= 2;
      }
    }
    for (const v of values) counts[range === 0 ? 0 : Math.min(2047, Math.floor((Math.abs(v) * 2048) / range))]++;
  }
  return { counts, range, amax };
}

/** The documented percentile: with S the samples below bin k and S < n p / 100 <= S + c_k, (k + (n p / 100 - S) / c_k) * w, capped at amax. */
function documentedPercentile(h: { counts: Float64Array; range: number; amax: number }, p: number): number {
  const n = h.counts.reduce((a, b) => a + b, 0);
  const target = (n * p) / 100;
  let below = 0;
  for (let k = 0; k < 2048; k++) {
    const c = h.counts[k];
    if (c === 0) continue;
    if (below + c >= target) return Math.min((k + (target - below) / c) * (h.range / 2048), h.amax);
    below += c;
  }
  return h.amax;
}

describe('INT8 calibrators', function () {
  this.timeout(60000);
  let dir: string;
  let bnNet: Network;
  let file = 0;
  /** A fresh path in the test folder. */
  const tmp = (name: string) => path.join(dir, `${file++}-${name}`);
  const readCache = (p: string): CalibrationCache => parseCalibrationCache(fs.readFileSync(p, 'utf8'), p);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-calib-'));
    bnNet = await Network.parse(BN_NET, { file: 'bn_net.prototxt' });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('batch sources: arrays, generators, async generators', () => {
    for (const c of CLASSES) {
      it(`${c.ctor.name} (${c.algorithm}) calibrates from an array, a generator and an async generator`, async () => {
        const { builder } = cpuBuilder();
        const data = batchesOf(3, 4, BN_IMAGE, 11);
        const src = counting(data);
        const forms: Array<[string, () => Iterable<CalibrationBatch> | AsyncIterable<CalibrationBatch>, number | undefined]> = [
          ['array', () => data, undefined],
          ['generator', src.generator, 3],
          ['async generator', src.asyncGenerator, 3],
        ];
        const caches: CalibrationCache[] = [];
        for (const [form, make, taken] of forms) {
          src.state.taken = 0;
          const cacheFile = tmp(`${c.algorithm}.calib`);
          const calibrator = new c.ctor({ batches: make(), batchSize: 4, cacheFile });
          assert.equal(calibrator.algorithm, c.algorithm);
          assert.equal(calibrator.cacheAlgorithm, c.header);
          assert.equal(calibrator.afterFusion, c.afterFusion);
          const g = await buildGraph(builder, bnNet, calibrator);
          assert.ok(
            g.nodes.some((n) => n.op === 'Convolution' && n.precision === 'int8'),
            `${form}: no INT8 convolution`,
          );
          if (taken !== undefined) assert.equal(src.state.taken, taken, `${form}: batches taken`);
          const cache = readCache(cacheFile);
          assert.equal(cache.algorithm, c.header, form);
          // Percentile caches carry our own header, without a TensorRT version.
          assert.equal(cache.version, c.algorithm === 'percentile' ? 0 : 100900);
          assert.deepEqual([...cache.scales.keys()].sort(), (c.afterFusion ? BN_FUSED : BN_UNFUSED).slice().sort(), form);
          caches.push(cache);
        }
        // The same data gives the same table whatever the source's form.
        assert.deepEqual([...caches[1].scales], [...caches[0].scales]);
        assert.deepEqual([...caches[2].scales], [...caches[0].scales]);
      });
    }

    it('maxBatches stops the source after that many batches (generator and async generator)', async () => {
      const { builder } = cpuBuilder();
      const src = counting(batchesOf(5, 4, BN_IMAGE, 3));
      await buildGraph(builder, bnNet, new Int8EntropyCalibrator2({ batches: src.generator(), batchSize: 4, maxBatches: 2 }));
      assert.equal(src.state.taken, 2);
      src.state.taken = 0;
      await buildGraph(builder, bnNet, new Int8MinMaxCalibrator({ batches: src.asyncGenerator(), batchSize: 4, maxBatches: 1 }));
      assert.equal(src.state.taken, 1);
    });

    it('maxBatches on an array: a batch beyond it never reaches the histograms', async () => {
      const { builder } = cpuBuilder();
      const data = batchesOf(3, 4, BN_IMAGE, 5);
      const big = new Float32Array(4 * BN_IMAGE).fill(0.25);
      big[7] = -50;
      const cacheFile = tmp('max.calib');
      await buildGraph(
        builder,
        bnNet,
        new Int8MinMaxCalibrator({ batches: [...data, { data: big }], batchSize: 4, maxBatches: 3, cacheFile }),
      );
      const amax = Math.max(...data.map((b) => b.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0)));
      assert.equal(readCache(cacheFile).scales.get('data'), Math.fround(amax / 127));
    });

    it('the batch size is honoured: the last batch may be partial and counts; more images than batchSize is a RangeError', async () => {
      const { builder } = cpuBuilder();
      const full = batchesOf(2, 4, BN_IMAGE, 21);
      const partial = seededFloats(2 * BN_IMAGE, 99, 2);
      partial[BN_IMAGE + 5] = 7.5; // the largest value is in the partial batch's second image
      const cacheFile = tmp('partial.calib');
      await buildGraph(builder, bnNet, new Int8MinMaxCalibrator({ batches: [...full, { data: partial }], batchSize: 4, cacheFile }));
      assert.equal(readCache(cacheFile).scales.get('data'), Math.fround(7.5 / 127));
      const five = new Float32Array(5 * BN_IMAGE);
      await assert.rejects(
        buildGraph(builder, bnNet, new Int8MinMaxCalibrator({ batches: [{ data: five }], batchSize: 4 })),
        (e: Error) => e instanceof RangeError && /1 to 4 images of 108 values.* for batches\[0\]\.data/.test(e.message),
      );
    });
  });

  describe('what is calibrated', () => {
    it('minmax scales are max |x| / 127 of each tensor over all batches (float64 reference), partial batch included', async () => {
      const { builder } = cpuBuilder();
      const data = batchesOf(3, 4, BN_IMAGE, 1234);
      const partial = seededFloats(2 * BN_IMAGE, 777, 3);
      const cacheFile = tmp('minmax-ref.calib');
      await buildGraph(builder, bnNet, new Int8MinMaxCalibrator({ batches: [...data, { data: partial }], batchSize: 4, cacheFile }));
      const cache = readCache(cacheFile);
      const amax = new Map<string, number>();
      const runs: Array<[Network, Float32Array]> = [
        ...data.map((b): [Network, Float32Array] => [bnNet, b.data]),
        [bnNet.withBatchSize(2), partial],
      ];
      for (const [net, input] of runs) {
        for (const [name, values] of referenceForward(net, { data: input })) {
          amax.set(
            name,
            Math.max(
              amax.get(name) ?? 0,
              values.reduce((m, v) => Math.max(m, Math.abs(v)), 0),
            ),
          );
        }
      }
      assert.deepEqual([...cache.scales.keys()].sort(), BN_UNFUSED.slice().sort());
      // The input is exact: its values are float32 already.
      assert.equal(cache.scales.get('data'), Math.fround((amax.get('data') as number) / 127));
      for (const name of BN_UNFUSED) {
        // An in-place chain is named by its final value: 'sc1' is the ReLU's output, not the Scale's.
        assertScaleNear(cache.scales.get(name), amax.get(name) as number, name);
      }
    });

    it('entropy2 calibrates the unfused network (conv, BatchNorm and Scale outputs); entropy only the fused one', async () => {
      const { builder } = cpuBuilder();
      const data = batchesOf(2, 4, BN_IMAGE, 42);
      const f2 = tmp('e2.calib');
      const f1 = tmp('e1.calib');
      await buildGraph(builder, bnNet, new Int8EntropyCalibrator2({ batches: data, batchSize: 4, cacheFile: f2 }));
      await buildGraph(builder, bnNet, new Int8EntropyCalibrator({ batches: data, batchSize: 4, cacheFile: f1 }));
      const e2 = readCache(f2);
      const e1 = readCache(f1);
      assert.deepEqual([...e2.scales.keys()], ['data', 'conv1', 'bn1', 'sc1', 'pool1', 'ip1']);
      assert.deepEqual([...e1.scales.keys()], ['data', 'sc1', 'pool1', 'ip1']);
      // The conv output before BatchNorm has its own range.
      assert.notEqual(e2.scales.get('conv1'), e2.scales.get('sc1'));
      // Same math: the tensors both calibrate agree to float32 rounding of the fused arithmetic.
      for (const name of ['data', 'sc1', 'pool1', 'ip1']) {
        const a = e2.scales.get(name) as number;
        const b = e1.scales.get(name) as number;
        assert.ok(Math.abs(a - b) <= 1e-5 * a, `${name}: ${a} vs ${b}`);
      }
    });

    it('histograms: a growing max doubles the range and keeps earlier counts (zeros first, then max 1, 3, 10)', async () => {
      const net = await Network.parse(WIDE_NET, { file: 'wide.prototxt' });
      const { builder } = cpuBuilder();
      const batches = [
        new Float32Array(1000), // only zeros: all in bin 0, before any range exists
        Float32Array.from({ length: 1000 }, (_, k) => (k + 1) / 1000), // max 1: sets the range
        Float32Array.from({ length: 1000 }, (_, k) => -(1 + (2 * (k + 1)) / 1000)), // max 3 (negative: |x| counts)
        Float32Array.from({ length: 1000 }, (_, k) => 3 + (7 * (k + 1)) / 1000), // max 10: range 4 -> 16
      ];
      const h = documentedHistogram(batches);
      assert.equal(h.range, 16);
      const sorted = batches.flatMap((b) => [...b].map(Math.abs)).sort((a, b) => a - b);
      const scaleOf = async (calibrator: Calibrator, file: string) => {
        await buildGraph(builder, net, calibrator, 1);
        return readCache(file).scales.get('data') as number;
      };
      const minmaxFile = tmp('grow-minmax.calib');
      assert.equal(
        await scaleOf(
          new Int8MinMaxCalibrator({ batches: batches.map((d) => ({ data: d })), batchSize: 1, cacheFile: minmaxFile }),
          minmaxFile,
        ),
        Math.fround(10 / 127),
      );
      for (const p of [10, 40, 60, 90, 99.5]) {
        const f = tmp(`grow-p${p}.calib`);
        const got = await scaleOf(
          new Int8PercentileCalibrator({ batches: batches.map((d) => ({ data: d })), batchSize: 1, percentile: p, cacheFile: f }),
          f,
        );
        const documented = documentedPercentile(h, p);
        assert.ok(Math.abs(got - documented / 127) <= 1e-6 * (documented / 127), `p${p}: scale ${got}, documented ${documented / 127}`);
        // And the sample percentile itself, within one bin (16 / 2048): the early batches still count.
        const sample = sorted[Math.ceil((p / 100) * sorted.length) - 1];
        assert.ok(Math.abs(got * 127 - sample) <= 16 / 2048 + 1e-6, `p${p}: threshold ${got * 127}, sample percentile ${sample}`);
      }
      // legacy: the quantile, limited to a fraction of amax.
      const lf = tmp('grow-legacy.calib');
      const legacy = await scaleOf(
        new Int8LegacyCalibrator({
          batches: batches.map((d) => ({ data: d })),
          batchSize: 1,
          quantile: 0.6,
          regressionCutoff: 0.1,
          cacheFile: lf,
        }),
        lf,
      );
      assert.equal(legacy, Math.fround(1 / 127));
    });
  });

  // Bins are closed above ((i w, (i + 1) w]), so the value that set a range stays in the last bin
  // of that range when the range doubles: pairwise merging keeps every count where it belongs.
  it('histograms: after a doubling, values equal to the old range stay in the bin whose upper edge they are', async () => {
    const net = await Network.parse(WIDE_NET, { file: 'wide.prototxt' });
    const { builder } = cpuBuilder();
    const second = new Float32Array(1000).fill(1);
    second[0] = 3; // range 1 -> 4
    const file = tmp('edge.calib');
    await buildGraph(
      builder,
      net,
      new Int8PercentileCalibrator({
        batches: [{ data: new Float32Array(1000).fill(1) }, { data: second }],
        batchSize: 1,
        percentile: 25,
        cacheFile: file,
      }),
      1,
    );
    const threshold = (readCache(file).scales.get('data') as number) * 127;
    // 1999 samples equal 1 and one equals 3, range 4, w = 4 / 2048: every 1 is in bin 511, whose
    // upper edge is 1; the percentile interpolates linearly inside it.
    const w = 4 / 2048;
    const documented = (511 + 500 / 1999) * w;
    assert.ok(threshold > 1 - w && threshold <= 1, `the 25th percentile ${threshold} is not in the bin (1 - w, 1]`);
    assert.ok(Math.abs(threshold - documented) <= 1e-6 * documented, `${threshold} vs ${documented}`);
  });

  describe('TensorRT-style calibrator objects', () => {
    /** A port of a TensorRT IInt8Calibrator: batches, then null; a cache kept in memory. */
    class PortedCalibrator {
      getBatchCalls = 0;
      readCalls = 0;
      namesSeen: string[][] = [];
      written: Uint8Array[] = [];
      private next = 0;
      constructor(
        private readonly data: Float32Array[],
        private readonly algorithm?: string,
        private readonly asyncBatches = false,
        public stored: string | Uint8Array | null = null,
      ) {}
      getBatchSize(): number {
        return 4;
      }
      getBatch(names: string[]): CalibrationBatch | null | Promise<CalibrationBatch | null> {
        this.getBatchCalls++;
        this.namesSeen.push(names);
        const d = this.data[this.next++];
        const b = d === undefined ? null : { [names[0]]: d };
        return this.asyncBatches ? Promise.resolve(b) : b;
      }
      readCalibrationCache(): string | Uint8Array | null {
        this.readCalls++;
        return this.stored;
      }
      writeCalibrationCache(cache: Uint8Array): void {
        this.written.push(cache);
        this.stored = cache;
      }
      getAlgorithm(): string | undefined {
        return this.algorithm;
      }
    }
    const data = () => batchesOf(3, 4, BN_IMAGE, 555).map((b) => b.data);

    const enums: Array<[string | undefined, string]> = [
      [undefined, 'EntropyCalibration2'],
      ['kENTROPY_CALIBRATION_2', 'EntropyCalibration2'],
      ['kENTROPY_CALIBRATION', 'EntropyCalibration'],
      ['kMINMAX_CALIBRATION', 'MinMaxCalibration'],
      ['kLEGACY_CALIBRATION', 'LegacyCalibration'],
      ['percentile', 'PercentileCalibration'],
    ];
    for (const [algorithm, header] of enums) {
      it(`getAlgorithm ${algorithm ?? '(absent)'}: batches until null, cache written as ${header}, then read instead of recalibrating`, async () => {
        const { builder } = cpuBuilder();
        const ported = new PortedCalibrator(data(), algorithm);
        if (algorithm === undefined) (ported as { getAlgorithm?: unknown }).getAlgorithm = undefined;
        const first = await buildGraph(builder, bnNet, ported);
        assert.equal(ported.getBatchCalls, 4, 'three batches and the null that ends them');
        assert.deepEqual(ported.namesSeen[0], ['data']);
        assert.equal(ported.readCalls, 1);
        assert.equal(ported.written.length, 1);
        assert.ok(ported.written[0] instanceof Uint8Array);
        const cache = parseCalibrationCache(Buffer.from(ported.written[0]).toString('utf8'));
        assert.equal(cache.algorithm, header);
        const fused = header === 'EntropyCalibration' || header === 'LegacyCalibration';
        assert.deepEqual([...cache.scales.keys()].sort(), (fused ? BN_FUSED : BN_UNFUSED).slice().sort());
        // Second build: the cache is read, getBatch is not called again, nothing is rewritten.
        const second = await buildGraph(builder, bnNet, ported);
        assert.equal(ported.getBatchCalls, 4);
        assert.equal(ported.readCalls, 2);
        assert.equal(ported.written.length, 1);
        assert.deepEqual(second.tensors, first.tensors);
      });
    }

    it('getBatch may return promises; readCalibrationCache may return the cache as a string', async () => {
      const { builder } = cpuBuilder();
      const ported = new PortedCalibrator(data(), 'kMINMAX_CALIBRATION', true);
      const g = await buildGraph(builder, bnNet, ported);
      assert.equal(ported.getBatchCalls, 4);
      const text = Buffer.from(ported.written[0]).toString('utf8');
      const fromString = new PortedCalibrator([], 'kMINMAX_CALIBRATION', false, text);
      const g2 = await buildGraph(builder, bnNet, fromString);
      assert.equal(fromString.getBatchCalls, 0);
      assert.deepEqual(g2.tensors, g.tensors);
      // The least a port needs: getBatchSize and getBatch (no cache methods, no getAlgorithm).
      const left = data();
      const g3 = await buildGraph(builder, bnNet, {
        getBatchSize: () => 4,
        getBatch: (names: string[]) => (left.length > 0 ? { [names[0]]: left.shift() } : null),
      });
      assert.equal(left.length, 0);
      assert.ok(g3.nodes.some((n) => n.op === 'Convolution' && n.precision === 'int8'));
    });

    it('a cache of another algorithm is refused with E_CALIBRATION naming both', async () => {
      const { builder } = cpuBuilder();
      const other = 'TRT-8601-MinMaxCalibration\ndata: 3c010a14\nsc1: 3d021498\n';
      const ported = new PortedCalibrator(data(), 'kENTROPY_CALIBRATION_2', false, other);
      await fails(buildGraph(builder, bnNet, ported), 'E_CALIBRATION', 'MinMaxCalibration', 'EntropyCalibration2');
      assert.equal(ported.getBatchCalls, 0);
    });

    it('objects that are not calibrators, and unknown algorithms, are TypeErrors', async () => {
      const { builder } = cpuBuilder();
      for (const bad of [{}, { getBatchSize: () => 4 }, { getBatch: () => null }, 42]) {
        await assert.rejects(
          builder.build(bnNet, { precision: 'int8', calibrator: bad as Calibrator }),
          (e: Error) =>
            e instanceof TypeError &&
            /^Expected a Calibrator or an object with getBatchSize\(\) and getBatch\(names\) for calibrator/.test(e.message),
        );
      }
      const odd = new PortedCalibrator([], 'kPERCENTILE_SOMETHING');
      await assert.rejects(
        buildGraph(builder, bnNet, odd),
        (e: Error) =>
          e instanceof TypeError &&
          e.message.includes('calibrator.getAlgorithm()') &&
          e.message.includes('kMINMAX_CALIBRATION') &&
          e.message.includes('kPERCENTILE_SOMETHING'),
      );
      const zero = new PortedCalibrator([], 'kMINMAX_CALIBRATION');
      zero.getBatchSize = () => 0;
      await assert.rejects(buildGraph(builder, bnNet, zero), RangeError);
    });
  });

  describe('cache files', () => {
    it('the cache file is written after calibrating and read (not recalibrated) the second time', async () => {
      const { builder, logs } = cpuBuilder();
      const cacheFile = tmp('model.calib');
      const src = counting(batchesOf(3, 4, BN_IMAGE, 8));
      assert.ok(!fs.existsSync(cacheFile));
      const first = await buildGraph(builder, bnNet, new Int8EntropyCalibrator2({ batches: src.generator(), batchSize: 4, cacheFile }));
      assert.equal(src.state.taken, 3);
      const cache = readCache(cacheFile);
      assert.equal(cache.algorithm, 'EntropyCalibration2');
      assert.equal(formatCalibrationCache(cache), fs.readFileSync(cacheFile, 'utf8'));
      src.state.taken = 0;
      const second = await buildGraph(
        builder,
        bnNet,
        new Int8EntropyCalibrator2({ batches: src.asyncGenerator(), batchSize: 4, cacheFile }),
      );
      assert.equal(src.state.taken, 0, 'the second build read the cache');
      assert.deepEqual(second.tensors, first.tensors);
      assert.ok(
        logs.some(([, m]) => m.includes(cacheFile)),
        'the builder says where the scales came from',
      );
      // A cache file without batches works once the cache exists.
      await buildGraph(builder, bnNet, new Int8EntropyCalibrator2({ batchSize: 4, cacheFile }));
      // Every engine tensor with a scale got it from the cache (or, by the scale rules, from its input's).
      assert.equal(engineScale(second, 'sc1'), cache.scales.get('sc1'));
    });

    it('a cache of another algorithm is refused with E_CALIBRATION naming both, unless force: true', async () => {
      const { builder } = cpuBuilder();
      const cacheFile = tmp('minmax.calib');
      await buildGraph(builder, bnNet, new Int8MinMaxCalibrator({ batches: batchesOf(2, 4, BN_IMAGE, 1), batchSize: 4, cacheFile }));
      const src = counting(batchesOf(2, 4, BN_IMAGE, 2));
      await fails(
        buildGraph(builder, bnNet, new Int8EntropyCalibrator2({ batches: src.generator(), batchSize: 4, cacheFile })),
        'E_CALIBRATION',
        'MinMaxCalibration',
        'EntropyCalibration2',
        cacheFile,
      );
      await fails(
        buildGraph(builder, bnNet, new Int8LegacyCalibrator({ batches: src.generator(), batchSize: 4, cacheFile })),
        'E_CALIBRATION',
        'MinMaxCalibration',
        'LegacyCalibration',
      );
      const g = await buildGraph(
        builder,
        bnNet,
        new Int8EntropyCalibrator2({ batches: src.generator(), batchSize: 4, cacheFile, force: true }),
      );
      assert.equal(src.state.taken, 0);
      assert.equal(readCache(cacheFile).algorithm, 'MinMaxCalibration', 'a forced cache is used, not rewritten');
      assert.equal(engineScale(g, 'sc1'), readCache(cacheFile).scales.get('sc1'));
    });

    it('no cache and no batches is E_CALIBRATION; a corrupt cache is E_PARSE; an unreadable one E_IO', async () => {
      const { builder } = cpuBuilder();
      const missing = tmp('missing.calib');
      await fails(
        buildGraph(builder, bnNet, new Int8EntropyCalibrator2({ batchSize: 4, cacheFile: missing })),
        'E_CALIBRATION',
        'does not exist',
      );
      const corrupt = tmp('corrupt.calib');
      fs.writeFileSync(corrupt, 'TRT-8601-EntropyCalibration2\ndata: 3c010a14\nsc1: nothex\n');
      await fails(
        buildGraph(builder, bnNet, new Int8EntropyCalibrator2({ batches: batchesOf(1, 4, BN_IMAGE, 1), batchSize: 4, cacheFile: corrupt })),
        'E_PARSE',
        `${corrupt}:3:`,
      );
      assert.equal(
        fs.readFileSync(corrupt, 'utf8'),
        'TRT-8601-EntropyCalibration2\ndata: 3c010a14\nsc1: nothex\n',
        'the corrupt file is left alone',
      );
      const folder = tmp('folder.calib');
      fs.mkdirSync(folder);
      await fails(
        buildGraph(builder, bnNet, new Int8EntropyCalibrator2({ batches: batchesOf(1, 4, BN_IMAGE, 1), batchSize: 4, cacheFile: folder })),
        'E_IO',
        folder,
      );
    });

    // A refused cache says how to go on, with options that exist.
    it('the refusal of another algorithm names only CLI options that exist', async () => {
      const { builder } = cpuBuilder();
      const cacheFile = tmp('hint.calib');
      fs.writeFileSync(cacheFile, 'TRT-8601-MinMaxCalibration\ndata: 3c010a14\n');
      const err = await fails(buildGraph(builder, bnNet, new Int8EntropyCalibrator2({ batchSize: 4, cacheFile })), 'E_CALIBRATION');
      const known = new Set([...BUILD.options, ...CALIBRATE.options].map((o) => o.name));
      for (const [, flag] of err.message.matchAll(/--([a-z][a-z-]*)/g))
        assert.ok(known.has(flag), `--${flag} is no CLI option: ${err.message}`);
    });

    // A calibrator's own cache file must belong to the network, as a calibrationCache must.
    it('a cacheFile made for another network is refused like calibrationCache is (E_CALIBRATION)', async () => {
      const { builder } = cpuBuilder();
      const cacheFile = tmp('other-net.calib');
      fs.writeFileSync(cacheFile, 'TRT-8601-EntropyCalibration2\nimage: 3c010a14\nfc7: 3d021498\n');
      await fails(
        buildGraph(builder, bnNet, new Int8EntropyCalibrator2({ batches: batchesOf(1, 4, BN_IMAGE, 1), batchSize: 4, cacheFile })),
        'E_CALIBRATION',
        'image',
      );
    });
  });

  describe('calibrationCache and builds without calibration data', () => {
    let table: CalibrationCache;
    before(async () => {
      const { builder } = cpuBuilder();
      const f = tmp('table.calib');
      await buildGraph(builder, bnNet, new Int8MinMaxCalibrator({ batches: batchesOf(2, 4, BN_IMAGE, 17), batchSize: 4, cacheFile: f }));
      table = readCache(f);
    });

    it('a cache path or a parsed cache builds without a calibrator; tensors not in the network are logged', async () => {
      const withGhost = tmp('ghost.calib');
      fs.writeFileSync(withGhost, `${formatCalibrationCache(table)}ghost_tensor: 3c010a14\n`);
      for (const calibrationCache of [withGhost, parseCalibrationCache(fs.readFileSync(withGhost, 'utf8'))]) {
        const { builder, logs } = cpuBuilder();
        const engine = await builder.build(bnNet, { precision: 'int8', calibrationCache });
        const g = graphOf(engine);
        engine.dispose();
        assert.ok(g.nodes.filter((n) => n.precision === 'int8' && n.op !== 'Quantize').length >= 3, 'INT8 nodes');
        assert.equal(engineScale(g, 'sc1'), table.scales.get('sc1'));
        assert.equal(g.tensors.find((t) => t.name === 'data/int8')?.scale, table.scales.get('data'));
        assert.ok(
          logs.some(([, m]) => m.includes('ghost_tensor') && /not in the network/.test(m)),
          JSON.stringify(logs),
        );
      }
    });

    // Cache tensors the network lacks are reported as a warning (the default logger shows those).
    it('tensors of the cache that are not in the network are a warning', async () => {
      const { builder, logs } = cpuBuilder();
      const cache: CalibrationCache = { ...table, scales: new Map([...table.scales, ['ghost_tensor', 0.5]]) };
      (await builder.build(bnNet, { precision: 'int8', calibrationCache: cache })).dispose();
      assert.ok(
        logs.some(([s, m]) => s === 'warning' && m.includes('ghost_tensor')),
        JSON.stringify(logs),
      );
    });

    it('a cache none of whose tensors is in the network is E_CALIBRATION; a missing path E_IO; a corrupt one E_PARSE', async () => {
      const { builder } = cpuBuilder();
      const foreign: CalibrationCache = {
        version: 8601,
        algorithm: 'EntropyCalibration2',
        scales: new Map([
          ['conv1/7x7_s2', 0.1],
          ['pool5', 0.2],
        ]),
      };
      await fails(builder.build(bnNet, { precision: 'int8', calibrationCache: foreign }), 'E_CALIBRATION', 'bn_net', 'conv1/7x7_s2');
      await fails(builder.build(bnNet, { precision: 'int8', calibrationCache: tmp('none.calib') }), 'E_IO', 'none.calib');
      const corrupt = tmp('corrupt2.calib');
      fs.writeFileSync(corrupt, 'TRT-8601-EntropyCalibration2\ndata: 7fc00000\n');
      await fails(builder.build(bnNet, { precision: 'int8', calibrationCache: corrupt }), 'E_PARSE', `${corrupt}:2:`, 'NaN');
      await assert.rejects(
        builder.build(bnNet, { precision: 'int8', calibrationCache: { scales: {} } as unknown as CalibrationCache }),
        TypeError,
      );
    });

    // A cache that lists no tensors would build an INT8 engine without INT8 nodes: refused.
    it('an empty cache (header only) is E_CALIBRATION, as no tensor matches', async () => {
      const { builder } = cpuBuilder();
      const empty = parseCalibrationCache('TRT-8601-EntropyCalibration2\n');
      await fails(builder.build(bnNet, { precision: 'int8', calibrationCache: empty }), 'E_CALIBRATION');
    });

    // Calibration inputs (calibrator, calibrationCache, int8Scales) only serve INT8 builds.
    it('calibrationCache without precision int8 is a RangeError, as a calibrator is', async () => {
      const { builder } = cpuBuilder();
      await assert.rejects(
        builder.build(bnNet, { precision: 'fp32', calibrationCache: table }),
        (e: Error) => e instanceof RangeError && /config\.precision/.test(e.message),
      );
    });

    it('a calibrator without precision int8 is a RangeError', async () => {
      const { builder } = cpuBuilder();
      const calibrator = new Int8MinMaxCalibrator({ batches: batchesOf(1, 4, BN_IMAGE, 1), batchSize: 4 });
      for (const precision of [undefined, 'fp32', 'fp16'] as const) {
        await assert.rejects(
          builder.build(bnNet, { precision, calibrator }),
          (e: Error) => e instanceof RangeError && /precision 'int8'.*config\.precision/.test(e.message),
        );
      }
    });

    it('int8 without any calibration data warns through the logger and still builds an INT8 engine', async () => {
      const { builder, logs } = cpuBuilder();
      const engine = await builder.build(bnNet, { precision: 'int8' });
      const g = graphOf(engine);
      engine.dispose();
      assert.equal(g.precision, 'int8');
      assert.ok(g.nodes.some((n) => n.op === 'Convolution' && n.precision === 'int8'));
      const warnings = logs.filter(([s]) => s === 'warning');
      assert.equal(warnings.length, 1, JSON.stringify(logs));
      assert.match(warnings[0][1], /INT8 without calibration data/);
      // With explicit int8Scales there is nothing to warn about.
      const quiet = cpuBuilder();
      (await quiet.builder.build(bnNet, { precision: 'int8', int8Scales: Object.fromEntries(table.scales) })).dispose();
      assert.equal(quiet.logs.filter(([s]) => s === 'warning').length, 0);
    });
  });

  // A cache made for another network used to build with every layer it did not cover in FP32,
  // silently (AlexNet with LeNet's cache: an "int8" plan of FP32 size).
  describe('the scales must cover every layer that would run in INT8', () => {
    let table: CalibrationCache;
    before(async () => {
      const { builder } = cpuBuilder();
      const f = tmp('cover.calib');
      await buildGraph(builder, bnNet, new Int8MinMaxCalibrator({ batches: batchesOf(2, 4, BN_IMAGE, 17), batchSize: 4, cacheFile: f }));
      table = readCache(f);
    });
    const without = (...names: string[]): CalibrationCache => ({
      ...table,
      scales: new Map([...table.scales].filter(([n]) => !names.includes(n))),
    });
    const precisionOf = (g: GraphJson) => Object.fromEntries(g.nodes.filter((n) => n.op !== 'Quantize').map((n) => [n.name, n.precision]));
    const models = path.resolve(__dirname, '../../../models');
    const LENET_CACHE =
      'TRT-8601-EntropyCalibration2\n' +
      ['data', 'conv1', 'pool1', 'conv2', 'pool2', 'ip1', 'ip2', 'prob'].map((n) => `${n}: 3c010a14\n`).join('');

    it('a cache that lacks tensors of INT8 layers is E_CALIBRATION naming each tensor, its layers, and the opt-in', async () => {
      const { builder } = cpuBuilder();
      // conv1 writes sc1, pool1 reads sc1 and writes pool1, ip1 reads pool1: all three stay FP32.
      const err = await fails(
        builder.build(bnNet, { precision: 'int8', calibrationCache: without('sc1', 'pool1') }),
        'E_CALIBRATION',
        "2 tensor(s) that INT8 layers read or write have no scale in the calibration cache: 'sc1' (conv1, pool1), 'pool1' (pool1, ip1)",
        '3 layer(s) would run in FP32',
        'allowMixedPrecision',
      );
      const known = new Set(BUILD.options.map((o) => o.name));
      for (const [, flag] of err.message.matchAll(/--([a-zA-Z][a-zA-Z-]*)/g))
        assert.ok(known.has(flag), `--${flag} is no build option: ${err.message}`);
    });

    it('int8Scales that leave out a tensor of an INT8 layer are refused the same way', async () => {
      const { builder } = cpuBuilder();
      await fails(
        builder.build(bnNet, { precision: 'int8', int8Scales: { data: 0.01, sc1: 0.02, pool1: 0.02 } }),
        'E_CALIBRATION',
        "1 tensor(s) that INT8 layers read or write have no scale in int8Scales: 'ip1' (ip1)",
      );
    });

    it("AlexNet with LeNet's cache is refused, naming what LeNet lacks; GoogLeNet's list is cut with a count", async () => {
      const { builder } = cpuBuilder();
      const lenetCache = parseCalibrationCache(LENET_CACHE);
      const alexnet = await Network.fromCaffe(path.join(models, 'alexnet.prototxt'));
      await fails(
        builder.build(alexnet, { precision: 'int8', calibrationCache: lenetCache }),
        'E_CALIBRATION',
        "'norm1' (norm1, pool1)",
        "'conv3' (conv3, conv4)",
        "'fc8' (fc8)",
        '9 tensor(s)',
      );
      const googlenet = await Network.fromCaffe(path.join(models, 'googlenet.prototxt'));
      const logs = cpuBuilder();
      const err = await fails(
        logs.builder.build(googlenet, { precision: 'int8', calibrationCache: lenetCache }),
        'E_CALIBRATION',
        /\), and \d+ more \(the verbose log lists them all\);/,
      );
      const count = Number(/^(\d+) tensor/.exec(err.message)?.[1]);
      assert.ok(count > 10, err.message);
      assert.equal(logs.logs.filter(([s, m]) => s === 'verbose' && m.startsWith('  no INT8 scale: ')).length, count);
    });

    it('allowMixedPrecision: true builds with those layers in FP32, warning with their names', async () => {
      const { builder, logs } = cpuBuilder();
      const engine = await builder.build(bnNet, { precision: 'int8', calibrationCache: without('ip1'), allowMixedPrecision: true });
      const g = graphOf(engine);
      const details = engine.details();
      engine.dispose();
      assert.deepEqual(precisionOf(g), { conv1: 'int8', pool1: 'int8', ip1: 'fp32' });
      const warnings = logs.filter(([s]) => s === 'warning').map(([, m]) => m);
      assert.ok(
        warnings.some((m) => m.includes("have no scale in the calibration cache: 'ip1' (ip1)") && m.includes('run in FP32')),
        JSON.stringify(logs),
      );
      assert.deepEqual(details.precisions, { int8: 2, fp32: 1 });
    });

    it('a tensor the cache lists with scale 0 (measured, no range) is no error: its layers run in FP32', async () => {
      const { builder } = cpuBuilder();
      const zero: CalibrationCache = { ...table, scales: new Map([...table.scales].map(([n, v]) => [n, n === 'ip1' ? 0 : v])) };
      const engine = await builder.build(bnNet, { precision: 'int8', calibrationCache: zero });
      const g = graphOf(engine);
      engine.dispose();
      assert.deepEqual(precisionOf(g), { conv1: 'int8', pool1: 'int8', ip1: 'fp32' });
    });

    it('after every INT8 build the builder says how many layers run in INT8 (info) and how the others run (verbose)', async () => {
      const { builder, logs } = cpuBuilder();
      (await builder.build(bnNet, { precision: 'int8', calibrationCache: table })).dispose();
      assert.ok(
        logs.some(([s, m]) => s === 'info' && m === 'INT8: 3 of 3 layers run in INT8'),
        JSON.stringify(logs),
      );
      const mixed = cpuBuilder();
      (await mixed.builder.build(bnNet, { precision: 'int8', calibrationCache: without('ip1'), allowMixedPrecision: true })).dispose();
      assert.ok(
        mixed.logs.some(([s, m]) => s === 'info' && m === 'INT8: 2 of 3 layers run in INT8, 1 in FP32'),
        JSON.stringify(mixed.logs),
      );
      assert.ok(
        mixed.logs.some(([s, m]) => s === 'verbose' && m === '  ip1 (InnerProduct): fp32'),
        JSON.stringify(mixed.logs),
      );
      const fp32 = cpuBuilder();
      (await fp32.builder.build(bnNet, { precision: 'fp32' })).dispose();
      assert.ok(!fp32.logs.some(([, m]) => /run in INT8/.test(m)), 'only INT8 builds say it');
    });

    it('engine.details().precisions counts the layers (not the Quantize nodes) by precision', async () => {
      const { builder } = cpuBuilder();
      const int8 = await builder.build(bnNet, { precision: 'int8', calibrationCache: table });
      const fp16 = await builder.build(bnNet, { precision: 'fp16' });
      try {
        assert.deepEqual(int8.details().precisions, { int8: 3 });
        assert.deepEqual(fp16.details().precisions, { fp16: 3 });
        const loaded = await Runtime.deserialize(int8.serialize());
        assert.deepEqual(loaded.details().precisions, { int8: 3 }, 'a loaded plan counts the same');
        loaded.dispose();
      } finally {
        int8.dispose();
        fp16.dispose();
      }
    });

    it('allowMixedPrecision must be a boolean, and only serves INT8 builds', async () => {
      const { builder } = cpuBuilder();
      await assert.rejects(
        builder.build(bnNet, { precision: 'int8', allowMixedPrecision: 'yes' as never }),
        (e: Error) => e instanceof TypeError && e.message.startsWith('Expected a boolean for config.allowMixedPrecision'),
      );
      await assert.rejects(
        builder.build(bnNet, { precision: 'fp32', allowMixedPrecision: true }),
        (e: Error) => e instanceof RangeError && /allowMixedPrecision only serves INT8 builds/.test(e.message),
      );
    });
  });

  describe('scale rules of INT8 engines', () => {
    let concatNet: Network;
    before(async () => {
      concatNet = await Network.parse(CONCAT_NET, { file: 'concat_net.prototxt' });
    });

    it('Concat inputs from two convolutions share the Concat scale (through a MAX pool); the pool after it keeps it', async () => {
      const { builder } = cpuBuilder();
      const int8Scales = { data: 0.01, ca: 0.02, pa: 0.03, cb: 0.04, cat: 0.05, pool: 0.06, ip: 0.07 };
      const engine = await builder.build(concatNet, { precision: 'int8', int8Scales });
      const g = graphOf(engine);
      engine.dispose();
      const s = Math.fround(0.05);
      for (const name of ['ca', 'pa', 'cb', 'cat', 'pool']) {
        assert.equal(g.tensors.find((t) => t.name === name)?.dtype, 'int8', name);
        assert.equal(engineScale(g, name), s, name);
      }
      const node = (name: string) => g.nodes.find((n) => n.name === name);
      assert.equal(node('cat')?.op, 'Concat');
      assert.equal(node('cat')?.precision, 'int8');
      for (const n of ['ca', 'pa', 'cb', 'pool', 'ip']) assert.equal(node(n)?.precision, 'int8', n);
      assert.equal(g.tensors.find((t) => t.name === 'data/int8')?.scale, Math.fround(0.01));
      // The network output stays float.
      assert.equal(g.tensors.find((t) => t.name === 'ip')?.dtype, 'float32');
    });

    it('the same rules hold for calibrated scales: one scale for both Concat inputs, MAX pooling keeps its input scale', async () => {
      const { builder } = cpuBuilder();
      const cacheFile = tmp('concat.calib');
      const g = await buildGraph(
        builder,
        concatNet,
        new Int8MinMaxCalibrator({ batches: batchesOf(3, 2, 3 * 64, 31), batchSize: 2, cacheFile }),
      );
      const cache = readCache(cacheFile);
      assert.deepEqual([...cache.scales.keys()].sort(), ['ca', 'cat', 'cb', 'data', 'ip', 'pa', 'pool']);
      assert.notEqual(cache.scales.get('ca'), cache.scales.get('cb'), 'the two convolutions have different ranges');
      const s = cache.scales.get('cat');
      for (const name of ['ca', 'pa', 'cb', 'cat', 'pool']) assert.equal(engineScale(g, name), s, name);
      assert.equal(g.nodes.find((n) => n.name === 'cat')?.precision, 'int8');
    });

    it('a MAX pooling output carries its input scale, not its own', async () => {
      const net = await Network.parse(`
name: "pool_net"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 2 dim: 4 dim: 4 } } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" convolution_param { num_output: 3 kernel_size: 1 } }
layer { name: "pool" type: "Pooling" bottom: "conv" top: "pool" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "ip" type: "InnerProduct" bottom: "pool" top: "ip" inner_product_param { num_output: 2 } }
`);
      const { builder } = cpuBuilder();
      const engine = await builder.build(net, { precision: 'int8', int8Scales: { data: 0.01, conv: 0.02, pool: 0.5, ip: 0.1 } });
      const g = graphOf(engine);
      engine.dispose();
      assert.equal(engineScale(g, 'conv'), Math.fround(0.02));
      assert.equal(engineScale(g, 'pool'), Math.fround(0.02));
      assert.equal(g.nodes.find((n) => n.name === 'pool')?.precision, 'int8');
    });
  });

  describe('bad calibration input', () => {
    const build = (batches: unknown, batchSize = 4, net?: Network) => {
      const { builder } = cpuBuilder();
      return buildGraph(builder, net ?? bnNet, new Int8EntropyCalibrator2({ batches: batches as CalibrationBatch[], batchSize }));
    };

    it('a wrong input name is a RangeError naming batches[i].<name> and the valid names', async () => {
      const good = batchesOf(1, 4, BN_IMAGE, 1)[0];
      await assert.rejects(
        build([good, { ...good, image: good.data }]),
        (e: Error) => e instanceof RangeError && e.message.startsWith('Expected an input name (data) for batches[1].image but received'),
      );
      await assert.rejects(build([{ image: good.data }]), (e: Error) => e instanceof RangeError && e.message.includes('batches[0].image'));
    });

    it('a wrong length is a RangeError; a missing input or a Float64Array a TypeError; a batch that is not an object a TypeError', async () => {
      await assert.rejects(
        build([{ data: new Float32Array(BN_IMAGE * 2 + 1) }]),
        (e: Error) => e instanceof RangeError && /^Expected 1 to 4 images of 108 values .* for batches\[0\]\.data/.test(e.message),
      );
      await assert.rejects(build([{ data: new Float32Array(0) }]), RangeError);
      await assert.rejects(
        build([{ data: new Float64Array(4 * BN_IMAGE) }]),
        (e: Error) =>
          e instanceof TypeError && e.message === 'Expected a Float32Array for batches[0].data but received an instance of Float64Array',
      );
      await assert.rejects(build([{}]), (e: Error) => e instanceof TypeError && e.message.includes('batches[0].data'));
      await assert.rejects(build([null]), (e: Error) => e instanceof TypeError && e.message.includes('batches[0]'));
    });

    it('inputs of one batch with different image counts are a RangeError', async () => {
      const net = await Network.parse(`
name: "two_inputs"
layer { name: "a" type: "Input" top: "a" input_param { shape { dim: 2 dim: 3 } } }
layer { name: "b" type: "Input" top: "b" input_param { shape { dim: 2 dim: 3 } } }
layer { name: "sum" type: "Eltwise" bottom: "a" bottom: "b" top: "sum" }
`);
      const { builder } = cpuBuilder();
      await assert.rejects(
        buildGraph(builder, net, new Int8MinMaxCalibrator({ batches: [{ a: new Float32Array(6), b: new Float32Array(3) }], batchSize: 2 })),
        (e: Error) => e instanceof RangeError && /^Expected 2 images, as the other inputs for batches\[0\]\.b/.test(e.message),
      );
      const cacheFile = tmp('two.calib');
      await buildGraph(
        builder,
        net,
        new Int8MinMaxCalibrator({
          batches: [{ a: Float32Array.from([1, 2, 3]), b: Float32Array.from([-4, 0, 0]) }],
          batchSize: 2,
          cacheFile,
        }),
      );
      const cache = readCache(cacheFile);
      assert.equal(cache.scales.get('a'), Math.fround(3 / 127));
      assert.equal(cache.scales.get('b'), Math.fround(4 / 127));
      assert.equal(cache.scales.get('sum'), Math.fround(3 / 127));
    });

    it('an empty source is E_CALIBRATION "no batches" (array, generator, TensorRT-style object)', async () => {
      await fails(build([]), 'E_CALIBRATION', 'no batches');
      await fails(
        build(
          (function* () {
            /* nothing */
          })(),
        ),
        'E_CALIBRATION',
        'no batches',
      );
      const { builder } = cpuBuilder();
      await fails(buildGraph(builder, bnNet, { getBatchSize: () => 4, getBatch: () => null }), 'E_CALIBRATION', 'no batches');
    });

    it('NaN and Infinity in the data are RangeErrors naming the index; no cache is written', async () => {
      const cacheFile = tmp('nan.calib');
      const nan = seededFloats(4 * BN_IMAGE, 3, 2);
      nan[37] = NaN;
      const { builder } = cpuBuilder();
      await assert.rejects(
        buildGraph(
          builder,
          bnNet,
          new Int8MinMaxCalibrator({ batches: [...batchesOf(1, 4, BN_IMAGE, 2), { data: nan }], batchSize: 4, cacheFile }),
        ),
        (e: Error) => e instanceof RangeError && e.message === 'Expected finite values for batches[1].data but received NaN at index 37',
      );
      assert.ok(!fs.existsSync(cacheFile), 'no cache after a failed calibration');
      for (const v of [Infinity, -Infinity]) {
        const inf = seededFloats(4 * BN_IMAGE, 4, 2);
        inf[101] = v;
        await assert.rejects(
          build([{ data: inf }]),
          (e: Error) => e instanceof RangeError && e.message.includes(`received ${v} at index 101`),
        );
      }
    });

    it('an activation that overflows inside the network is E_CALIBRATION naming the tensor (Exp, Power); NaN too (Log)', async () => {
      const ones = { data: new Float32Array(8).fill(1) };
      for (const [text, tensor, kind] of [
        [EXP_NET, 'boom', 'infinite'],
        [POWER_NET, 'square', 'infinite'],
      ] as const) {
        const net = await Network.parse(text);
        for (const ctor of [Int8EntropyCalibrator2, Int8EntropyCalibrator]) {
          const { builder } = cpuBuilder();
          await fails(buildGraph(builder, net, new ctor({ batches: [ones], batchSize: 2 })), 'E_CALIBRATION', `'${tensor}'`, kind);
        }
      }
      const logNet = await Network.parse(LOG_NET);
      const { builder } = cpuBuilder();
      await fails(
        buildGraph(
          builder,
          logNet,
          new Int8MinMaxCalibrator({ batches: [{ data: Float32Array.from([1, 2, -1, 3, 1, 1, 1, 1]) }], batchSize: 2 }),
        ),
        'E_CALIBRATION',
        "'lg'",
        'NaN',
      );
    });

    it('constructor option mistakes are TypeError / RangeError in the package form', () => {
      const batches = batchesOf(1, 4, BN_IMAGE, 1);
      const cases: Array<[() => unknown, ErrorConstructor, RegExp]> = [
        [() => new Int8EntropyCalibrator2({ batches, batchSize: 0 }), RangeError, /for options\.batchSize but received type number \(0\)/],
        [() => new Int8EntropyCalibrator2({ batches, batchSize: 2.5 }), RangeError, /options\.batchSize/],
        [
          () => new Int8EntropyCalibrator2({ batches } as unknown as CalibratorOptions),
          TypeError,
          /options\.batchSize but received undefined/,
        ],
        [
          () => new Int8EntropyCalibrator2({ batches: 5 as unknown as CalibrationBatch[], batchSize: 4 }),
          TypeError,
          /iterable .* for options\.batches/,
        ],
        [() => new Int8EntropyCalibrator2({ batches: {} as unknown as CalibrationBatch[], batchSize: 4 }), TypeError, /options\.batches/],
        [() => new Int8EntropyCalibrator2({ batchSize: 4 }), TypeError, /^Expected batches or a cacheFile for options/],
        [() => new Int8EntropyCalibrator2({ batches, batchSize: 4, cacheFile: '' }), TypeError, /options\.cacheFile/],
        [() => new Int8EntropyCalibrator2({ batches, batchSize: 4, maxBatches: 0 }), RangeError, /options\.maxBatches/],
        [() => new Int8EntropyCalibrator2({ batches, batchSize: 4, force: 1 as unknown as boolean }), TypeError, /options\.force/],
        [
          () => new Int8PercentileCalibrator({ batches, batchSize: 4, percentile: 0 }),
          RangeError,
          /^Expected a number in \(0, 100\] for options\.percentile but received type number \(0\)/,
        ],
        [() => new Int8PercentileCalibrator({ batches, batchSize: 4, percentile: 100.5 }), RangeError, /options\.percentile/],
        [
          () => new Int8LegacyCalibrator({ batches, batchSize: 4, quantile: 1.5 }),
          RangeError,
          /^Expected a number in \(0, 1\] for options\.quantile but received type number \(1\.5\)/,
        ],
        [() => new Int8LegacyCalibrator({ batches, batchSize: 4, regressionCutoff: 0 }), RangeError, /options\.regressionCutoff/],
        [() => new Int8MinMaxCalibrator(null as unknown as CalibratorOptions), TypeError, /for options/],
      ];
      for (const [make, type, message] of cases) {
        assert.throws(
          make,
          (e: Error) => e instanceof type && message.test(e.message) && e.message.startsWith('Expected '),
          String(message),
        );
      }
      // Percentile 100 and quantile 1 are allowed (the edges of the intervals).
      new Int8PercentileCalibrator({ batches, batchSize: 4, percentile: 100 });
      new Int8LegacyCalibrator({ batches, batchSize: 4, quantile: 1, regressionCutoff: 1 });
    });
  });
});
