// Faster R-CNN's region layers (lib/network/layers/roi.ts, native/backends/cpu/ops/roi.cc):
// py-faster-rcnn's anchors against its published values, a Proposal case worked by hand, then
// Proposal, ROIPooling and PSROIPooling on random inputs against the float64 references
// (test/support/reference_roi.ts) at batch 2 and 1, region rows in the IR and the engine's I/O.
import { strict as assert } from 'assert';
import * as path from 'path';
import { Builder, Network } from '../../lib';
import { fails } from '../support/helpers';
import { randomInput, referenceForward, relError } from '../support/reference';
import { generateAnchors } from '../support/reference_roi';

const ROOT = path.resolve(__dirname, '..', '..', '..');

const PROPOSAL = (post = 12, extra = '') =>
  'layer { name: "proposal" type: "Python" bottom: "scores" bottom: "deltas" bottom: "im_info" top: "rois" top: "roi_scores" ' +
  `python_param { module: "rpn.proposal_layer" layer: "ProposalLayer" param_str: "'feat_stride': 16\\n'post_nms_topN': ${post}${extra}" } }\n`;

const inputs = (n: number, h: number, w: number, c: number) =>
  'layer { name: "in" type: "Input" top: "scores" top: "deltas" top: "im_info" top: "feat" input_param { ' +
  `shape { dim: ${n} dim: 18 dim: ${h} dim: ${w} } shape { dim: ${n} dim: 36 dim: ${h} dim: ${w} } shape { dim: ${n} dim: 3 } ` +
  `shape { dim: ${n} dim: ${c} dim: ${h} dim: ${w} } } }\n`;

async function runCpu(net: Network, feeds: Record<string, Float32Array>, batch: number): Promise<Record<string, Float32Array>> {
  const engine = await new Builder({ backend: 'cpu' }).build(net, { maxBatchSize: batch });
  try {
    return await engine.createContext().infer(feeds, { batchSize: batch });
  } finally {
    engine.dispose();
  }
}

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i];
    assert.ok(Math.abs(actual[i] - e) <= tol * Math.max(1, Math.abs(e)), `${what}[${i}]: got ${actual[i]}, expected ${e}`);
  }
}

describe("Faster R-CNN's region layers (cpu)", function () {
  this.timeout(120000);

  it("py-faster-rcnn's nine anchors (base 16, ratios 0.5 1 2, scales 8 16 32), as its generate_anchors prints them", () => {
    assert.deepEqual(generateAnchors([0.5, 1, 2], [8, 16, 32]), [
      [-84, -40, 99, 55],
      [-176, -88, 191, 103],
      [-360, -184, 375, 199],
      [-56, -56, 71, 71],
      [-120, -120, 135, 135],
      [-248, -248, 263, 263],
      [-36, -80, 51, 95],
      [-80, -168, 95, 183],
      [-168, -344, 183, 359],
    ]);
  });

  it('Proposal worked by hand: one cell, zero deltas, the best anchor clipped to the image first', async () => {
    const net = await Network.parse(inputs(1, 1, 1, 1) + PROPOSAL(3));
    const scores = new Float32Array(18);
    for (let k = 0; k < 9; k++) scores[9 + k] = k / 10; // object scores: anchor 8 best
    const out = await runCpu(
      net,
      { scores, deltas: new Float32Array(36), im_info: Float32Array.of(100, 200, 1), feat: new Float32Array(1) },
      1,
    );
    // Zero deltas give [x1, y1, x2 + 1, y2 + 1]: anchor 8 [-168, -344, 183, 359] -> [-168, -344, 184, 360],
    // clipped to x in [0, 199], y in [0, 99].
    assert.deepEqual(Array.from(out.rois.subarray(0, 5)), [0, 0, 0, 184, 99]);
    assert.equal(out.roi_scores[0], Math.fround(0.8));
    assert.deepEqual(net.tensors.get('rois')?.shape, [3, 5]);
    assert.equal(net.tensors.get('rois')?.rows, 3);
  });

  for (const batch of [2, 1]) {
    it(`Proposal, ROIPooling and PSROIPooling at batch ${batch} equal the references (random scores, deltas and features)`, async () => {
      const [h, w] = [5, 7];
      const text =
        inputs(2, h, w, 2 * 3 * 3) +
        PROPOSAL(12, "\\n'nms_thresh': 0.6\\n'min_size': 8") +
        // Splits keep the regions and the pooled rows as outputs beside what reads them (the engine
        // names them after the split tensors: rois, pooled).
        'layer { name: "split" type: "Split" bottom: "rois" top: "r1" top: "r2" top: "r3" }\n' +
        'layer { name: "pool" type: "ROIPooling" bottom: "feat" bottom: "r1" top: "pooled" roi_pooling_param { pooled_h: 3 pooled_w: 2 spatial_scale: 0.0625 } }\n' +
        'layer { name: "ps" type: "PSROIPooling" bottom: "feat" bottom: "r2" top: "ps" psroi_pooling_param { spatial_scale: 0.0625 output_dim: 2 group_size: 3 } }\n' +
        'layer { name: "split2" type: "Split" bottom: "pooled" top: "p1" top: "p2" }\n' +
        'layer { name: "fc" type: "InnerProduct" bottom: "p1" top: "fc" inner_product_param { num_output: 4 } }\n';
      const net = (await Network.parse(text, { seed: 2 })).withBatchSize(batch);
      assert.deepEqual(net.tensors.get('pooled')?.shape, [batch * 12, 18, 3, 2]);
      assert.deepEqual(net.tensors.get('fc')?.shape, [batch * 12, 4]);
      assert.equal(net.tensors.get('fc')?.rows, 12);
      const feeds = {
        scores: randomInput(batch * 18 * h * w, 1, 0, 1),
        deltas: randomInput(batch * 36 * h * w, 2, -0.3, 0.3),
        im_info: Float32Array.from({ length: 3 * batch }, (_, i) => [80, 112, 1.5][i % 3]),
        feat: randomInput(batch * 18 * h * w, 3),
      };
      const got = await runCpu(net, feeds, batch);
      const ref = referenceForward(net, feeds);
      close(got.rois, ref.get('r3') as Float64Array, 1e-5, 'rois');
      close(got.roi_scores, ref.get('roi_scores') as Float64Array, 0, 'roi scores');
      assert.ok(
        got.rois.some((v, i) => i % 5 === 0 && v === -1),
        'an image has fewer proposals than rows',
      );
      close(got.pooled, ref.get('p2') as Float64Array, 0, 'ROIPooling');
      close(got.ps, ref.get('ps') as Float64Array, 1e-6, 'PSROIPooling');
      close(got.fc, ref.get('fc') as Float64Array, 1e-5, 'the InnerProduct over the rows');
      assert.equal(got.fc.length, batch * 12 * 4);
    });
  }

  it('models/faster_rcnn_vgg16 runs on the cpu backend: regions inside the image or padding rows, class scores summing to 1', async () => {
    const net = await Network.fromCaffe(path.join(ROOT, 'models', 'faster_rcnn_vgg16.prototxt'), { seed: 4 });
    const out = await runCpu(
      net,
      {
        data: Float32Array.from({ length: 3 * 224 * 224 }, (_, i) => 60 * Math.sin(i / 97) * Math.cos(i / 1301)),
        im_info: Float32Array.of(224, 224, 1),
      },
      1,
    );
    assert.equal(out.rois_out.length, 300 * 5);
    assert.equal(out.cls_prob.length, 300 * 21);
    assert.equal(out.bbox_pred.length, 300 * 84);
    let regions = 0;
    for (let r = 0; r < 300; r++) {
      const [b, x1, y1, x2, y2] = out.rois_out.subarray(r * 5, r * 5 + 5);
      if (b === -1) {
        assert.deepEqual([x1, y1, x2, y2], [0, 0, 0, 0], `padding row ${r}`);
        continue;
      }
      regions++;
      assert.equal(b, 0);
      assert.ok(x1 >= 0 && y1 >= 0 && x2 <= 223 && y2 <= 223 && x1 <= x2 && y1 <= y2, `region ${r}: ${[x1, y1, x2, y2].join(', ')}`);
      const sum = out.cls_prob.subarray(r * 21, r * 21 + 21).reduce((a, v) => a + v, 0);
      assert.ok(Math.abs(sum - 1) < 1e-4, `region ${r}: class scores sum to ${sum}`);
    }
    assert.ok(regions >= 1, 'at least one region');
  });

  it('INT8: the InnerProduct over the region rows runs in INT8 (its Quantize node on the rows), the regions as in FP32', async () => {
    const text =
      inputs(2, 4, 6, 8) +
      PROPOSAL(10) +
      'layer { name: "pool" type: "ROIPooling" bottom: "feat" bottom: "rois" top: "pooled" roi_pooling_param { pooled_h: 2 pooled_w: 2 spatial_scale: 0.0625 } }\n' +
      'layer { name: "fc" type: "InnerProduct" bottom: "pooled" top: "fc" inner_product_param { num_output: 6 } }\n' +
      'layer { name: "relu" type: "ReLU" bottom: "fc" top: "fc" }\n';
    const net = await Network.parse(text, { seed: 5 });
    const feeds = {
      scores: randomInput(2 * 18 * 24, 7, 0, 1),
      deltas: randomInput(2 * 36 * 24, 8, -0.2, 0.2),
      im_info: Float32Array.of(64, 96, 1, 64, 96, 1),
      feat: randomInput(2 * 8 * 24, 9),
    };
    const outs: Record<string, Float32Array>[] = [];
    for (const precision of ['fp32', 'int8'] as const) {
      const engine = await new Builder({ backend: 'cpu', logger: () => undefined }).build(net, { precision, maxBatchSize: 2 });
      if (precision === 'int8') assert.ok((engine.details().precisions?.int8 ?? 0) >= 1, JSON.stringify(engine.details().precisions));
      outs.push(await engine.createContext().infer(feeds, { batchSize: 2 }));
      engine.dispose();
    }
    assert.deepEqual(outs[1].roi_scores, outs[0].roi_scores);
    assert.equal(outs[1].fc.length, 2 * 10 * 6);
    assert.ok(outs[1].fc.every(Number.isFinite));
    assert.ok(relError(outs[1].fc, outs[0].fc) < 0.1, `INT8 against FP32: ${relError(outs[1].fc, outs[0].fc)}`);
  });

  it('one region per image (post_nms_topN 1) is still a region tensor ROIPooling takes', async () => {
    const net = await Network.parse(
      inputs(2, 2, 3, 4) +
        PROPOSAL(1) +
        'layer { name: "pool" type: "ROIPooling" bottom: "feat" bottom: "rois" top: "pooled" roi_pooling_param { pooled_h: 1 pooled_w: 1 spatial_scale: 0.0625 } }\n',
    );
    assert.deepEqual(net.tensors.get('pooled')?.shape, [2, 4, 1, 1]);
    const feeds = {
      scores: randomInput(2 * 18 * 6, 1, 0, 1),
      deltas: new Float32Array(2 * 36 * 6),
      im_info: Float32Array.of(32, 48, 1, 32, 48, 1),
      feat: randomInput(2 * 4 * 6, 2),
    };
    const got = await runCpu(net, feeds, 2);
    close(got.pooled, referenceForward(net, feeds).get('pooled') as Float64Array, 0, 'pooled');
  });

  describe('errors', () => {
    it('a Python layer other than the proposal layer: E_UNSUPPORTED_LAYER naming module and layer and the plugin way', async () => {
      await fails(
        Network.parse(
          inputs(1, 2, 2, 1) +
            'layer { name: "py" type: "Python" bottom: "feat" top: "x" python_param { module: "my.mod" layer: "Odd" } }\n',
        ),
        'E_UNSUPPORTED_LAYER',
        "'py'",
        "module 'my.mod'",
        'registerLayer',
      );
    });

    it('bad region-layer parameters and arity: E_SHAPE naming the layer', async () => {
      const pool = (param: string) =>
        Network.parse(
          inputs(1, 2, 2, 1) +
            PROPOSAL(4) +
            `layer { name: "pool" type: "ROIPooling" bottom: "feat" bottom: "rois" top: "p" roi_pooling_param { ${param} } }\n`,
        );
      await fails(pool('pooled_h: 2 pooled_w: 2 spatial_scale: 0'), 'E_SHAPE', "'pool'", 'spatial_scale must be > 0');
      await fails(
        Network.parse(inputs(1, 2, 2, 1) + PROPOSAL(4, "\\n'nms_thresh': 1.5")),
        'E_SHAPE',
        "'proposal'",
        'nms_thresh must be in (0, 1]',
      );
      await fails(
        Network.parse(
          inputs(1, 2, 2, 1) +
            'layer { name: "p" type: "Python" bottom: "scores" bottom: "deltas" top: "rois" python_param { module: "rpn.proposal_layer" layer: "ProposalLayer" param_str: "\'feat_stride\': 16" } }\n',
        ),
        'E_SHAPE',
        "'p'",
        'takes 3 bottoms',
      );
    });

    it('every other shape rule of the region layers: E_SHAPE naming the layer and the rule', async () => {
      const prop = (bottoms: string, param = "'feat_stride': 16\\n'post_nms_topN': 4", tops = 'top: "rois"') =>
        `layer { name: "proposal" type: "Python" ${bottoms} ${tops} python_param { module: "rpn.proposal_layer" layer: "ProposalLayer" param_str: "${param}" } }\n`;
      const three = 'bottom: "scores" bottom: "deltas" bottom: "im_info"';
      const pool = (bottoms: string, param = 'pooled_h: 2 pooled_w: 2') =>
        `layer { name: "pool" type: "ROIPooling" ${bottoms} top: "p" roi_pooling_param { ${param} } }\n`;
      const ps = (param: string) =>
        `layer { name: "ps" type: "PSROIPooling" bottom: "feat" bottom: "rois" top: "q" psroi_pooling_param { ${param} } }\n`;
      const cases: Array<[string, string, string]> = [
        [prop(three, undefined, 'top: "rois" top: "s" top: "t"'), "'proposal'", 'gives 1 or 2 tops'],
        [prop(three, "'feat_stride': 16\\n'post_nms_topN': 0"), "'proposal'", 'must be > 0'],
        [prop('bottom: "feat" bottom: "deltas" bottom: "im_info"'), "'proposal'", 'scores must be [N, 18, H, W]'],
        [prop('bottom: "scores" bottom: "scores" bottom: "im_info"'), "'proposal'", 'box deltas must be [N, 36, H, W]'],
        [prop('bottom: "scores" bottom: "deltas" bottom: "feat"'), "'proposal'", 'im_info must be [N, 3]'],
        [
          prop(three) +
            prop('bottom: "rois" bottom: "deltas" bottom: "im_info"').replace('"proposal"', '"p2"').replace('top: "rois"', 'top: "r2"'),
          "'p2'",
          'reads image tensors',
        ],
        [prop(three) + pool('bottom: "im_info" bottom: "rois"'), "'pool'", 'needs a 4-D feature map'],
        [
          // ps's output [R, 1, 1, 1] is a 4-D region tensor
          prop(three) + ps('spatial_scale: 0.0625 output_dim: 1 group_size: 1') + pool('bottom: "q" bottom: "rois"'),
          "'pool'",
          'pools an image tensor',
        ],
        [
          prop(three) + 'layer { name: "f" type: "Flatten" bottom: "feat" top: "f" }\n' + pool('bottom: "feat" bottom: "f"'),
          "'pool'",
          'takes regions as [R, 5]',
        ],
        [prop(three) + ps('spatial_scale: 0.0625 output_dim: 0 group_size: 2'), "'ps'", 'output_dim and group_size must be > 0'],
        [
          prop(three) + ps('spatial_scale: 0.0625 output_dim: 2 group_size: 2'),
          "'ps'",
          'needs output_dim x group_size^2 = 8 input channels',
        ],
      ];
      for (const [layers, layer, rule] of cases) {
        await fails(Network.parse(inputs(1, 2, 2, 1) + layers), 'E_SHAPE', layer, rule);
      }
    });

    it('a proposal layer without feat_stride: E_PARSE saying what to write', async () => {
      await fails(
        Network.parse(
          inputs(1, 2, 2, 1) +
            'layer { name: "p" type: "Python" bottom: "scores" bottom: "deltas" bottom: "im_info" top: "rois" python_param { module: "rpn.proposal_layer" layer: "ProposalLayer" param_str: "" } }\n',
        ),
        'E_PARSE',
        'feat_stride',
      );
    });

    it('ROIPooling over regions given as an input, or over a region tensor; a layer mixing rows: E_SHAPE', async () => {
      await fails(
        Network.parse(
          'layer { name: "in" type: "Input" top: "feat" top: "r" input_param { shape { dim: 1 dim: 2 dim: 4 dim: 4 } shape { dim: 8 dim: 5 } } }\n' +
            'layer { name: "pool" type: "ROIPooling" bottom: "feat" bottom: "r" top: "p" roi_pooling_param { pooled_h: 2 pooled_w: 2 } }\n',
        ),
        'E_SHAPE',
        "'pool'",
        'Proposal',
      );
      await fails(
        Network.parse(
          inputs(1, 2, 2, 1) +
            PROPOSAL(4) +
            'layer { name: "e" type: "Eltwise" bottom: "rois" bottom: "rois" top: "e" }\n' +
            'layer { name: "c" type: "Concat" bottom: "feat" bottom: "e" top: "c" concat_param { axis: 0 } }\n',
        ),
        'E_SHAPE',
        "'c'",
        'mixes region tensors',
      );
      await fails(
        Network.parse(
          inputs(1, 2, 2, 1) +
            PROPOSAL(4) +
            'layer { name: "pool" type: "ROIPooling" bottom: "feat" bottom: "rois" top: "p" roi_pooling_param { pooled_h: 0 pooled_w: 2 } }\n',
        ),
        'E_SHAPE',
        'pooled_h',
      );
    });

    it("'auto' builds a network with region layers on the cuda backend where one runs (else the cpu)", async function () {
      const net = await Network.parse(inputs(1, 2, 2, 1) + PROPOSAL(4));
      const { backendStatus } = await import('../../lib');
      const cuda = backendStatus().some((b) => b.name === 'cuda' && b.available);
      const engine = await new Builder({ backend: 'auto' }).build(net);
      try {
        assert.equal(engine.backend, cuda ? 'cuda' : 'cpu');
      } finally {
        engine.dispose();
      }
    });
  });
});
