/**
 * Faster R-CNN's region layers on the cuda backend (native/backends/cuda/kernels/region.cu) against
 * the cpu backend: Proposal (decode, sort, NMS on the GPU), ROIPooling and PSROIPooling over its
 * regions, an InnerProduct over the batch x R rows, at batch 2 and 1 in fp32 / fp16 and with the
 * InnerProduct in INT8; then models/faster_rcnn_vgg16 end to end. The regions must be the cpu's
 * (the same count of real rows, the same boxes), the pooled features and scores within tolerance.
 */
import { strict as assert } from 'assert';
import * as path from 'path';
import { Builder, Network } from '../../lib';
import type { Precision } from '../../lib';
import { CUDA_TOLERANCE, checkOutput, int8Setup, requireCuda } from '../support/cuda';
import { MAX_BATCH } from '../support/op_cases';
import { randomInput, relError } from '../support/reference';

const ROOT = path.resolve(__dirname, '..', '..', '..');

const NET =
  'layer { name: "in" type: "Input" top: "scores" top: "deltas" top: "im_info" top: "feat" input_param { ' +
  'shape { dim: 2 dim: 18 dim: 5 dim: 7 } shape { dim: 2 dim: 36 dim: 5 dim: 7 } shape { dim: 2 dim: 3 } ' +
  'shape { dim: 2 dim: 18 dim: 5 dim: 7 } } }\n' +
  'layer { name: "proposal" type: "Python" bottom: "scores" bottom: "deltas" bottom: "im_info" top: "rois" top: "roi_scores" ' +
  `python_param { module: "rpn.proposal_layer" layer: "ProposalLayer" param_str: "'feat_stride': 16\\n'post_nms_topN': 12\\n'nms_thresh': 0.6\\n'min_size': 8" } }\n` +
  'layer { name: "split" type: "Split" bottom: "rois" top: "r1" top: "r2" top: "r3" }\n' +
  'layer { name: "pool" type: "ROIPooling" bottom: "feat" bottom: "r1" top: "pooled" roi_pooling_param { pooled_h: 3 pooled_w: 2 spatial_scale: 0.0625 } }\n' +
  'layer { name: "ps" type: "PSROIPooling" bottom: "feat" bottom: "r2" top: "ps" psroi_pooling_param { spatial_scale: 0.0625 output_dim: 2 group_size: 3 } }\n' +
  'layer { name: "split2" type: "Split" bottom: "pooled" top: "p1" top: "p2" }\n' +
  'layer { name: "fc" type: "InnerProduct" bottom: "p1" top: "fc" inner_product_param { num_output: 4 } }\n' +
  'layer { name: "relu" type: "ReLU" bottom: "fc" top: "fc" }\n';

type Outputs = Record<string, Float32Array>;

async function run(net: Network, backend: 'cpu' | 'cuda', config: object, feeds: Outputs, batch: number): Promise<Outputs> {
  const engine = await new Builder({ backend, logger: () => undefined }).build(net, { maxBatchSize: 2, ...config });
  try {
    return await engine.createContext().infer(feeds, { batchSize: batch });
  } finally {
    engine.dispose();
  }
}

/** Real (non-padding) region rows: those whose image index is not -1. */
const realRows = (rois: Float32Array) => rois.filter((v, i) => i % 5 === 0 && v !== -1).length;

function feedsFor(batch: number): Outputs {
  return {
    scores: randomInput(batch * 18 * 35, 1, 0, 1),
    deltas: randomInput(batch * 36 * 35, 2, -0.3, 0.3),
    im_info: Float32Array.from({ length: 3 * batch }, (_, i) => [80, 112, 1.5][i % 3]),
    feat: randomInput(batch * 18 * 35, 3),
  };
}

describe("gpu: Faster R-CNN's region layers, cuda vs cpu", function () {
  this.timeout(600000);
  before(function () {
    requireCuda(this);
  });

  for (const precision of ['fp32', 'fp16', 'int8'] as Precision[]) {
    for (const batch of [2, 1]) {
      it(`${precision}, batch ${batch}: the same regions, pooled features and the InnerProduct over the rows`, async () => {
        const net = await Network.parse(NET, { seed: 2 });
        const feeds = feedsFor(batch);
        // INT8: both backends get the same scales (the float64 reference's, on a batch of
        // MAX_BATCH images), so the InnerProduct over the rows must be bit exact.
        const { int8Scales, int8 } = await int8Setup(net, precision, () => feedsFor(MAX_BATCH));
        const config = { precision, int8Scales };
        const want = await run(net, 'cpu', config, feeds, batch);
        const got = await run(net, 'cuda', config, feeds, batch);
        assert.equal(got.rois.length, batch * 12 * 5);
        assert.equal(realRows(got.rois), realRows(want.rois), 'real region rows');
        assert.ok(realRows(want.rois) < batch * 12, 'an image has fewer proposals than rows (padding rows checked)');
        const tol = CUDA_TOLERANCE[precision === 'int8' ? 'fp32' : precision];
        for (const name of ['rois', 'roi_scores', 'pooled', 'ps']) {
          const err = relError(got[name], want[name]);
          assert.ok(err <= tol, `${name}: relative L2 error ${err} > ${tol}`);
        }
        checkOutput('fc', got.fc, want.fc, precision, `fc at batch ${batch}`, int8);
      });
    }
  }

  it('models/faster_rcnn_vgg16 (224 x 224, fp32): the same regions and class scores as the cpu backend', async () => {
    const net = await Network.fromCaffe(path.join(ROOT, 'models', 'faster_rcnn_vgg16.prototxt'), { seed: 4 });
    const feeds = {
      data: Float32Array.from({ length: 3 * 224 * 224 }, (_, i) => 60 * Math.sin(i / 97) * Math.cos(i / 1301)),
      im_info: Float32Array.of(224, 224, 1),
    };
    const want = await run(net, 'cpu', { precision: 'fp32' }, feeds, 1);
    const got = await run(net, 'cuda', { precision: 'fp32' }, feeds, 1);
    // Thirteen VGG convolutions leave the RPN's scores equal to ~1e-6, so a near tie may order or
    // suppress one box differently: the rows must agree box for box but for a few.
    const rows = want.rois_out.length / 5;
    let same = 0;
    const probs: number[][] = [[], []];
    for (let r = 0; r < rows; r++) {
      const a = got.rois_out.subarray(r * 5, r * 5 + 5);
      const b = want.rois_out.subarray(r * 5, r * 5 + 5);
      if (a.every((v, i) => Math.abs(v - b[i]) <= 1e-3 * Math.max(1, Math.abs(b[i])))) {
        same++;
        probs[0].push(...got.cls_prob.subarray(r * 21, r * 21 + 21));
        probs[1].push(...want.cls_prob.subarray(r * 21, r * 21 + 21));
      }
    }
    const err = relError(Float32Array.from(probs[0]), Float32Array.from(probs[1]));
    console.log(
      `        ${realRows(want.rois_out)} regions on cpu, ${realRows(got.rois_out)} on cuda; ${same} of ${rows} rows the same; class scores of those: relative L2 error ${err.toExponential(2)}`,
    );
    assert.ok(same >= 0.95 * rows, `${same} of ${rows} region rows equal the cpu's`);
    assert.ok(err <= 1e-3, `class scores: relative L2 error ${err}`);
  });
});
