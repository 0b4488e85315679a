/**
 * Faster R-CNN's region layers: Proposal (py-faster-rcnn's RPN proposal step, a `Python` layer in
 * Caffe), ROIPooling (Fast R-CNN) and PSROIPooling (R-FCN). Region tensors have a row per region:
 * dimension 0 is batch x R (R = the proposal count per image), which the IR records as the
 * tensor's `rows` (docs/network.md, "Region layers").
 */
import type { Message } from '../../caffe/message';
import { TensorRTNodeError } from '../../errors';
import type { LayerAttrsMap, Shape } from '../types';
import { check, fmt, type BuildContext, type LayerDef } from './common';

/**
 * The region input of a pooling layer: [N x R, 5] (or Caffe's legacy [N x R, 5, 1, 1]) from a
 * Proposal layer, pooled from a feature map at `spatialScale` (> 0); its rows per image.
 */
function regions(features: Shape, rois: Shape, context: BuildContext, what: string, spatialScale: number): number {
  check(spatialScale > 0 && Number.isFinite(spatialScale), `${what} spatial_scale must be > 0, got ${spatialScale}`);
  check(features.length === 4, `${what} needs a 4-D feature map (N, C, H, W), got ${fmt(features)}`);
  const rows = context.inputRows?.[1] ?? 1;
  check(context.inputRegions?.[0] !== true, `${what} pools an image tensor, not a region tensor`);
  check(
    rois.length >= 2 && rois[1] === 5 && rois.slice(2).every((d) => d === 1),
    `${what} takes regions as [R, 5] (image, x1, y1, x2, y2), got ${fmt(rois)}`,
  );
  check(
    context.inputRegions?.[1] === true && rois[0] === features[0] * rows,
    `${what} reads regions ${context.inputRegions?.[1] === true ? `with ${rows} rows per image ` : 'with a batch of their own '}(${fmt(rois)}) for ${features[0]} image(s): ` +
      'the regions must come from a Proposal layer (regions given as a network input are not supported)',
  );
  return rows;
}

/** ROIPooling: [N, C, H, W] and regions [N x R, 5] -> [N x R, C, pooled_h, pooled_w]. */
export const roiPooling: LayerDef<'ROIPooling'> = {
  type: 'ROIPooling',
  bottoms: [2, 2],
  tops: [1, 1],
  build(p, inputs, _tops, context) {
    const rp = p.sub('roi_pooling_param');
    const pooledH = rp.num('pooled_h');
    const pooledW = rp.num('pooled_w');
    const spatialScale = rp.num('spatial_scale');
    check(pooledH > 0 && pooledW > 0, `ROIPooling pooled_h and pooled_w must be > 0, got ${pooledH} x ${pooledW}`);
    const [features, rois] = inputs;
    const rows = regions(features, rois, context, 'ROIPooling', spatialScale);
    return {
      attrs: { pooledH, pooledW, spatialScale },
      outputs: [[rois[0], features[1], pooledH, pooledW]],
      rows: [rows],
    };
  },
};

/** PSROIPooling: [N, D g g, H, W] and regions [N x R, 5] -> [N x R, D, g, g]. */
export const psroiPooling: LayerDef<'PSROIPooling'> = {
  type: 'PSROIPooling',
  bottoms: [2, 2],
  tops: [1, 1],
  build(p, inputs, _tops, context) {
    const pp = p.sub('psroi_pooling_param');
    const outputDim = pp.num('output_dim');
    const groupSize = pp.num('group_size');
    const spatialScale = pp.num('spatial_scale');
    check(outputDim > 0 && groupSize > 0, `PSROIPooling output_dim and group_size must be > 0, got ${outputDim} and ${groupSize}`);
    const [features, rois] = inputs;
    const rows = regions(features, rois, context, 'PSROIPooling', spatialScale);
    check(
      features[1] === outputDim * groupSize * groupSize,
      `PSROIPooling needs output_dim x group_size^2 = ${outputDim * groupSize * groupSize} input channels, got ${features[1]}`,
    );
    return {
      attrs: { outputDim, groupSize, spatialScale },
      outputs: [[rois[0], outputDim, groupSize, groupSize]],
      rows: [rows],
    };
  },
};

/** py-faster-rcnn's TEST configuration (fast_rcnn/config.py). */
const PROPOSAL_DEFAULTS = { preNmsTopN: 6000, postNmsTopN: 300, nmsThresh: 0.7, minSize: 16 };

/** The numbers of a param_str value: `16`, `[8, 16, 32]`, `(0.5, 1, 2)`, `!!python/tuple [8, 16]`. */
function numbers(text: string): number[] {
  return (text.match(/-?\d+(\.\d+)?(e-?\d+)?/gi) ?? []).map(Number);
}

/** The keys of a param_str (a YAML mapping: `'feat_stride': 16`, one per line or comma-separated). */
function paramStr(text: string, layer: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const re = /['"]?([A-Za-z_]+)['"]?\s*:\s*((?:!!python\/tuple\s*)?(?:\[[^\]]*\]|\([^)]*\)|[-\d.eE]+))/g;
  for (const m of text.matchAll(re)) out.set(m[1], numbers(m[2]));
  if (!out.has('feat_stride')) {
    throw new TensorRTNodeError(
      'E_PARSE',
      `layer '${layer}' (py-faster-rcnn's proposal layer): its param_str gives no feat_stride (got "${text}"); write param_str: "'feat_stride': 16"`,
    );
  }
  return out;
}

/** A `Python` layer: py-faster-rcnn's rpn.proposal_layer.ProposalLayer becomes Proposal; any other is refused. */
function proposalOf(p: Message): { attrs: LayerAttrsMap['Proposal'] } {
  const py = p.sub('python_param');
  const module = py.str('module');
  const layer = py.str('layer');
  if (!/(^|\.)proposal_layer$/.test(module) || layer !== 'ProposalLayer') {
    throw new TensorRTNodeError(
      'E_UNSUPPORTED_LAYER',
      `layer '${p.str('name')}' is a Python layer (module '${module}', layer '${layer}'), which runs Python code; the one ` +
        "tensorrt-node runs is py-faster-rcnn's rpn.proposal_layer.ProposalLayer (as its own Proposal). A layer plugin can " +
        'implement others (registerLayer or loadPlugin: docs/plugins.md)',
    );
  }
  const values = paramStr(py.str('param_str'), p.str('name'));
  const one = (key: string, fallback: number) => values.get(key)?.[0] ?? fallback;
  const attrs = {
    featStride: one('feat_stride', 16),
    scales: values.get('scales') ?? [8, 16, 32],
    ratios: values.get('ratios') ?? [0.5, 1, 2],
    preNmsTopN: one('pre_nms_topN', PROPOSAL_DEFAULTS.preNmsTopN),
    postNmsTopN: one('post_nms_topN', PROPOSAL_DEFAULTS.postNmsTopN),
    nmsThresh: one('nms_thresh', PROPOSAL_DEFAULTS.nmsThresh),
    minSize: one('min_size', PROPOSAL_DEFAULTS.minSize),
  };
  return { attrs };
}

/**
 * Proposal: scores [N, 2A, H, W] (background then object, per anchor), box deltas [N, 4A, H, W]
 * and im_info [N, 3] (height, width, scale) -> regions [N x R, 5] (and scores [N x R, 1]) with
 * R = post_nms_topN rows per image; rows past an image's proposals are [-1, 0, 0, 0, 0].
 */
export const proposal: LayerDef<'Proposal'> = {
  type: 'Proposal',
  // Any count: a Python layer is checked as the proposal layer first, then its arity.
  bottoms: [0, Infinity],
  tops: [1, Infinity],
  inPlace: false,
  build(p, inputs, topCount, context) {
    const { attrs } = proposalOf(p);
    check(inputs.length === 3, `the proposal layer takes 3 bottoms (scores, box deltas, im_info), got ${inputs.length}`);
    check(topCount <= 2, `the proposal layer gives 1 or 2 tops (regions, scores), got ${topCount}`);
    const [scores, deltas, info] = inputs;
    const anchors = attrs.ratios.length * attrs.scales.length;
    check(!(context.inputRegions ?? []).some((r) => r), 'Proposal reads image tensors, not region tensors');
    check(
      scores.length === 4 && scores[1] === 2 * anchors,
      `Proposal's scores must be [N, ${2 * anchors}, H, W] (2 per anchor), got ${fmt(scores)}`,
    );
    check(
      deltas.length === 4 && deltas[1] === 4 * anchors && deltas[0] === scores[0] && deltas[2] === scores[2] && deltas[3] === scores[3],
      `Proposal's box deltas must be [N, ${4 * anchors}, H, W] like the scores ${fmt(scores)}, got ${fmt(deltas)}`,
    );
    check(
      info.length >= 2 && info[0] === scores[0] && info[1] === 3,
      `Proposal's im_info must be [N, 3] (height, width, scale), got ${fmt(info)}`,
    );
    check(
      attrs.featStride > 0 && attrs.postNmsTopN > 0 && attrs.preNmsTopN > 0,
      'Proposal feat_stride, pre_nms_topN and post_nms_topN must be > 0',
    );
    check(attrs.nmsThresh > 0 && attrs.nmsThresh <= 1, `Proposal nms_thresh must be in (0, 1], got ${attrs.nmsThresh}`);
    const n = scores[0];
    const r = attrs.postNmsTopN;
    const outputs: Shape[] = [[n * r, 5]];
    if (topCount === 2) outputs.push([n * r, 1]);
    return { attrs, outputs, rows: outputs.map(() => r) };
  },
};
