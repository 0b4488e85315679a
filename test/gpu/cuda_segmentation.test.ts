/**
 * The segmentation networks of models/ on the cuda backend against the cpu backend: ENet (ENet's
 * BN folded into scales, PReLU, MAX pooling masks, max unpooling, deconvolutions) at batch 2 of
 * 64 x 128 images, and PSPNet50 (PSPNet's BN, dilated convolutions, the pyramid pooling module's
 * Interp, the final zoom by 8) at 473 x 473, in fp32 and fp16.
 */
import { strict as assert } from 'assert';
import * as path from 'path';
import { Builder, Network } from '../../lib';
import type { Precision } from '../../lib';
import { requireCuda } from '../support/cuda';
import { randomInput, relError } from '../support/reference';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const TOLERANCE: Partial<Record<Precision, number>> = { fp32: 1e-4, fp16: 2e-2 };

describe('gpu: segmentation networks, cuda vs cpu', function () {
  this.timeout(600000);
  before(function () {
    requireCuda(this);
  });

  for (const [model, shape, output] of [
    ['enet', [2, 3, 64, 128], 'deconv6_0_0'],
    ['pspnet50_ade20k', [1, 3, 473, 473], 'conv6_interp'],
  ] as Array<[string, number[], string]>) {
    describe(model, () => {
      let net: Network;
      let data: Float32Array;
      let reference: Float32Array;
      before(async function () {
        requireCuda(this);
        net = await Network.fromCaffe(path.join(ROOT, 'models', `${model}.prototxt`), { seed: 5, inputShapes: { data: shape } });
        data = randomInput(
          shape.reduce((a, b) => a * b, 1),
          17,
        );
        const cpu = await new Builder({ backend: 'cpu' }).build(net, { maxBatchSize: shape[0] });
        reference = (await cpu.createContext().infer({ data }))[output];
        cpu.dispose();
      });
      for (const precision of ['fp32', 'fp16'] as Precision[]) {
        it(`${precision}: relative L2 error within ${TOLERANCE[precision]}`, async () => {
          const engine = await new Builder({ backend: 'cuda' }).build(net, { precision, maxBatchSize: shape[0] });
          const got = (await engine.createContext().infer({ data }))[output];
          engine.dispose();
          assert.ok(got.every(Number.isFinite), 'finite');
          const err = relError(got, reference);
          console.log(`      ${model} ${precision}: relative L2 error ${err.toExponential(2)}`);
          assert.ok(err < (TOLERANCE[precision] as number), `relative L2 error ${err.toExponential(3)}`);
        });
      }
    });
  }
});
