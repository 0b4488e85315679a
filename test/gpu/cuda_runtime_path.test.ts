/**
 * The runtime path on the GPU (issue 14): calls pipelined on one context (the copies of one overlap
 * the compute of the next) give exactly what one call at a time gives; host arrays from
 * createInputs / createOutputs are used in place; float16 inputs and outputs match the cpu backend;
 * a worker terminated mid-inference ends alone.
 */
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as path from 'path';
import { Builder, fromFloat16, Network, toFloat16, type Engine, type Precision } from '../../lib';
import { requireCuda } from '../support/cuda';
import { randomInput } from '../support/reference';

const ROOT = path.resolve(__dirname, '../../..');
const quiet = { logger: () => undefined };

function images(engine: Engine, batch: number, seed: number): Record<string, Float32Array> {
  return Object.fromEntries(engine.inputs.map((t, i) => [t.name, randomInput(batch * t.dims.reduce((a, b) => a * b, 1), seed + i, -1, 1)]));
}

describe('gpu: the runtime path (pipelining, host arrays in place, float16 inputs and outputs)', function () {
  this.timeout(600000);
  before(function () {
    requireCuda(this);
  });

  for (const precision of ['fp32', 'fp16', 'int8'] as Precision[]) {
    it(`GoogLeNet ${precision}: 12 calls queued on one context equal each call alone, bit for bit`, async () => {
      const net = await Network.fromCaffe(path.join(ROOT, 'models', 'googlenet.prototxt'), { seed: 3 });
      const engine = await new Builder({ backend: 'cuda', ...quiet }).build(net, { precision, maxBatchSize: 16 });
      const ctx = engine.createContext();
      const batches = [16, 16, 8, 16, 1, 16, 16, 4, 16, 16, 16, 2];
      const inputs = batches.map((b, i) => images(engine, b, 100 + i));
      const alone: Float32Array[] = [];
      for (const x of inputs) alone.push((await ctx.infer(x)).prob);
      const queued = await Promise.all(inputs.map((x) => ctx.infer(x)));
      queued.forEach((r, i) => assert.deepEqual(Buffer.from(r.prob.buffer), Buffer.from(alone[i].buffer), `call ${i} (batch ${batches[i]})`));
      // Host arrays in place, two sets alternating as a service would use them.
      const sets = [0, 1].map(() => ({ inputs: engine.createInputs(16), outputs: engine.createOutputs(16) }));
      sets.forEach((s, k) => s.inputs.data.set(inputs[k].data));
      const inPlace = await Promise.all(sets.map((s) => ctx.infer(s.inputs, { outputs: s.outputs })));
      inPlace.forEach((r, k) => {
        assert.equal(r.prob, sets[k].outputs.prob);
        assert.deepEqual(Buffer.from(r.prob.buffer, r.prob.byteOffset, r.prob.byteLength), Buffer.from(alone[k].buffer));
      });
      ctx.dispose();
      engine.dispose();
    });
  }

  it('float16 inputs and outputs: cuda equals the cpu backend within one float16 step', async () => {
    const net = await Network.fromCaffe(path.join(ROOT, 'models', 'alexnet.prototxt'), { seed: 4 });
    const config = { maxBatchSize: 4, ioFormats: { inputs: 'float16', outputs: 'float16' } } as const;
    const gpu = await new Builder({ backend: 'cuda', ...quiet }).build(net, config);
    const cpu = await new Builder({ backend: 'cpu', ...quiet }).build(net, config);
    const x = toFloat16(images(gpu, 4, 7).data);
    const a = fromFloat16((await gpu.createContext().infer<Uint16Array>({ data: x })).prob);
    const b = fromFloat16((await cpu.createContext().infer<Uint16Array>({ data: x })).prob);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), 2 ** -14));
    assert.ok(worst <= 2 ** -10, `largest relative difference ${worst}`);
    gpu.dispose();
    cpu.dispose();
  });

  it('a worker terminated while its cuda inference runs ends alone', () => {
    const child = spawnSync(process.execPath, [path.join(__dirname, '..', 'support', 'terminate_child.js'), ROOT, '10', 'cuda'],
      { encoding: 'utf8', timeout: 300000 });
    assert.equal(child.signal, null, child.stderr.slice(-2000));
    assert.equal(child.status, 0, child.stderr.slice(-2000));
    const r = JSON.parse(child.stdout.trim().split('\n').pop() as string) as { callsSeen: number; agree: boolean };
    assert.equal(r.callsSeen, 10);
    assert.equal(r.agree, true);
  });
});
