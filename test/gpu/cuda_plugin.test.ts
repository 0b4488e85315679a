/**
 * Layer plugins on the cuda backend: the example library (examples/plugins) built with nvcc here,
 * its Axpy and HardSigmoid run between convolutions (so the engine hands them tensors it keeps in
 * other forms: NHWC, FP16) in fp32 and fp16, against the cpu backend running the library's cpu
 * functions on the same weights. ABI 2: the FP16 engine calls forward_cuda_ex in float16 (the
 * tensors as it keeps them), the FP32 one in float32; Axpy's scales go through its workspace.
 */
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Builder, loadPlugin, Network } from '../../lib';
import type { Precision } from '../../lib';
import { requireCuda } from '../support/cuda';
import { randomInput, relError } from '../support/reference';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const NET = `
layer { name: "in" type: "Input" top: "data" input_param { shape { dim: 4 dim: 8 dim: 12 dim: 12 } } }
layer { name: "c1" type: "Convolution" bottom: "data" top: "c1" convolution_param { num_output: 16 kernel_size: 3 pad: 1 } }
layer { name: "hs" type: "HardSigmoid" bottom: "c1" top: "hs" hard_sigmoid_param { alpha: 0.3 } }
layer { name: "pool" type: "Pooling" bottom: "hs" top: "se" pooling_param { pool: AVE global_pooling: true } }
layer { name: "ax" type: "Axpy" bottom: "se" bottom: "c1" bottom: "hs" top: "ax" }
layer { name: "c2" type: "Convolution" bottom: "ax" top: "c2" convolution_param { num_output: 8 kernel_size: 3 pad: 1 } }
`;

describe('gpu: layer plugins (examples/plugins built with nvcc)', function () {
  this.timeout(300000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-gpu-plugins-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  let net: Network;
  let reference: Float32Array;
  const x = randomInput(4 * 8 * 12 * 12, 21, -1, 1);

  before(async function () {
    requireCuda(this);
    const so = path.join(dir, 'libexample_plugin.so');
    const r = spawnSync('bash', [path.join(ROOT, 'examples', 'plugins', 'build.sh'), '--cuda', so], { encoding: 'utf8' });
    assert.equal(r.status, 0, `build.sh --cuda failed: ${r.stdout}${r.stderr}`);
    const lib = loadPlugin(so);
    assert.ok(
      lib.layers.every((l) => l.cuda && l.cpu && l.cudaTypes.join() === 'float32,float16'),
      'built with nvcc, the library has both forwards, its cuda one in float32 and float16',
    );
    net = await Network.parse(NET, { seed: 4 });
    const cpu = await new Builder({ backend: 'cpu' }).build(net, { maxBatchSize: 4 });
    reference = (await cpu.createContext().infer({ data: x })).c2;
    cpu.dispose();
  });

  for (const [precision, tol] of [
    ['fp32', 1e-5],
    ['fp16', 5e-3],
  ] as Array<[Precision, number]>) {
    it(`${precision}: the same output as the cpu backend (relative L2 within ${tol}), at batch 4 and 3`, async () => {
      const engine = await new Builder({ backend: 'cuda' }).build(net, { precision, maxBatchSize: 4 });
      const tactic = (name: string) => engine.details().layers?.find((l) => l.name === name)?.tactic;
      const type = precision === 'fp16' ? 'float16' : 'float32';
      assert.deepEqual([tactic('hs'), tactic('ax')], [`forward_cuda_ex (${type})`, `forward_cuda_ex (${type})`]);
      const ctx = engine.createContext();
      const full = (await ctx.infer({ data: x })).c2;
      assert.ok(relError(full, reference) < tol, `batch 4: ${relError(full, reference)}`);
      const three = (await ctx.infer({ data: x.subarray(0, 3 * 8 * 144) }, { batchSize: 3 })).c2;
      assert.ok(
        relError(three, reference.subarray(0, three.length)) < tol,
        `batch 3: ${relError(three, reference.subarray(0, three.length))}`,
      );
      engine.dispose();
    });
  }
});
