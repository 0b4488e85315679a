/**
 * SSD's detection layers (weiliu89/caffe, branch `ssd`): PriorBox and DetectionOutput. Their
 * parameters are resolved here once (defaults, image size, steps, the aspect ratio list), so the
 * backends compute from plain attributes. Shapes follow SSD's Caffe with the batch leading every
 * tensor: PriorBox gives each image the same [2, 4 * priors] (Caffe: one [1, 2, 4 * priors] for the
 * batch) and DetectionOutput a fixed [1, maxDetections, 7] per image (Caffe: one [1, 1, kept, 7]
 * for the batch); docs/network.md, "Detection layers".
 */
import type { Message } from '../../caffe/message';
import type { DetectionOutputAttrs, PriorBoxAttrs, Shape } from '../types';
import { volume } from '../types';
import { check, fmt, type LayerDef } from './common';

/** -FLT_MAX: DetectionOutput's confidence threshold when the file gives none. */
export const NO_CONFIDENCE_THRESHOLD = -3.4028234663852886e38;

/** SSD's ratio list: 1, then each given ratio not already present (within 1e-6), and its inverse with flip. */
function aspectRatios(given: readonly number[], flip: boolean): number[] {
  const out = [1];
  for (const ar of given) {
    check(Number.isFinite(ar) && ar > 0, `aspect_ratio must be > 0, got ${ar}`);
    if (out.some((x) => Math.abs(ar - x) < 1e-6)) continue;
    out.push(ar);
    if (flip) out.push(1 / ar);
  }
  return out;
}

/** A pair of sizes from `<both>` or `<h>` / `<w>` (not both forms), 0 when absent. */
function sizePair(p: Message, both: string, h: string, w: string): [number, number] {
  if (p.has(h) || p.has(w)) {
    check(!p.has(both), `give either ${both} or ${h} / ${w}, not both`);
    check(p.num(h) > 0 && p.num(w) > 0, `${h} and ${w} must both be given and > 0, got ${p.num(h)} and ${p.num(w)}`);
    return [p.num(h), p.num(w)];
  }
  if (!p.has(both)) return [0, 0];
  check(p.num(both) > 0, `${both} must be > 0, got ${p.num(both)}`);
  return [p.num(both), p.num(both)];
}

/**
 * PriorBox: default boxes for each cell of feature map input 0 ([N, C, H, W]) over image input 1
 * ([N, C, H_img, W_img], which lends only its size): output [N, 2, H * W * priorsPerCell * 4], the
 * boxes (xmin, ymin, xmax, ymax, normalised by the image size) in channel 0, their variances in 1.
 */
export const priorBox: LayerDef<'PriorBox'> = {
  type: 'PriorBox',
  bottoms: [2, 2],
  tops: [1, 1],
  inPlace: false,
  build(p, inputs) {
    const pp = p.sub('prior_box_param');
    const [feature, image] = inputs;
    check(feature.length === 4, `PriorBox input 0 must be a feature map [N, C, H, W], got ${fmt(feature)}`);
    check(image.length === 4, `PriorBox input 1 must be the image [N, C, H, W], got ${fmt(image)}`);
    const minSizes = pp.nums('min_size');
    const maxSizes = pp.nums('max_size');
    check(minSizes.length > 0, 'PriorBox needs at least one min_size');
    for (const m of minSizes) check(m > 0, `min_size must be > 0, got ${m}`);
    if (maxSizes.length > 0) {
      check(
        maxSizes.length === minSizes.length,
        `PriorBox has ${minSizes.length} min_size and ${maxSizes.length} max_size values; give one max per min`,
      );
      maxSizes.forEach((m, i) => check(m > minSizes[i], `max_size ${m} must be above its min_size ${minSizes[i]}`));
    }
    const ratios = aspectRatios(pp.nums('aspect_ratio'), pp.bool('flip'));
    const given = pp.nums('variance');
    check(given.length <= 1 || given.length === 4, `PriorBox takes 1 or 4 variance values, got ${given.length}`);
    for (const v of given) check(v > 0, `variance must be > 0, got ${v}`);
    const variances = given.length === 4 ? given : new Array<number>(4).fill(given.length === 1 ? given[0] : 0.1);
    const [imgH, imgW] = sizePair(pp, 'img_size', 'img_h', 'img_w');
    const [stepH, stepW] = sizePair(pp, 'step', 'step_h', 'step_w');
    const imageHeight = imgH > 0 ? imgH : image[2];
    const imageWidth = imgW > 0 ? imgW : image[3];
    const [layerHeight, layerWidth] = [feature[2], feature[3]];
    const priorsPerCell = ratios.length * minSizes.length + maxSizes.length;
    const attrs: PriorBoxAttrs = {
      minSizes,
      maxSizes,
      aspectRatios: ratios,
      clip: pp.bool('clip'),
      variances,
      imageHeight,
      imageWidth,
      // Caffe: a float division when no step is given.
      stepH: stepH > 0 ? stepH : Math.fround(imageHeight / layerHeight),
      stepW: stepW > 0 ? stepW : Math.fround(imageWidth / layerWidth),
      offset: pp.num('offset'),
      layerHeight,
      layerWidth,
      priorsPerCell,
    };
    return { attrs, outputs: [[feature[0], 2, layerHeight * layerWidth * priorsPerCell * 4]] };
  },
};

/** The per-image volume of a shape. */
const perImage = (s: Shape): number => volume(s, 1);

/**
 * DetectionOutput: inputs loc [N, priors * locClasses * 4], conf [N, priors * classes] (scores
 * after softmax), priors [N, 2, priors * 4] (PriorBox's); output [N, 1, maxDetections, 7].
 */
export const detectionOutput: LayerDef<'DetectionOutput'> = {
  type: 'DetectionOutput',
  bottoms: [3, 3],
  tops: [1, 1],
  inPlace: false,
  build(p, inputs) {
    const dp = p.sub('detection_output_param');
    check(dp.has('num_classes'), 'DetectionOutput needs num_classes');
    const numClasses = dp.num('num_classes');
    check(numClasses >= 1, `num_classes must be >= 1, got ${numClasses}`);
    const nms = dp.sub('nms_param');
    const nmsThreshold = nms.num('nms_threshold');
    check(nmsThreshold >= 0, `nms_threshold must be >= 0, got ${nmsThreshold}`);
    const eta = nms.num('eta');
    check(eta > 0 && eta <= 1, `eta must be in (0, 1], got ${eta}`);
    const topK = nms.has('top_k') ? nms.num('top_k') : -1;
    check(topK >= -1, `top_k must be >= -1, got ${topK}`);
    const keepTopK = dp.num('keep_top_k');
    check(keepTopK >= -1, `keep_top_k must be >= -1, got ${keepTopK}`);
    const shareLocation = dp.bool('share_location');
    const [loc, conf, prior] = inputs;
    check(
      prior.length >= 3 && prior[1] === 2 && prior[2] % 4 === 0 && volume(prior, 3) === 1,
      `DetectionOutput input 2 must be PriorBox's [N, 2, 4 * priors], got ${fmt(prior)}`,
    );
    const numPriors = prior[2] / 4;
    const locClasses = shareLocation ? 1 : numClasses;
    check(loc[0] === conf[0], `loc ${fmt(loc)} and conf ${fmt(conf)} must have the same batch`);
    check(
      perImage(loc) === numPriors * locClasses * 4,
      `loc ${fmt(loc)} must hold ${numPriors} priors x ${locClasses} location class(es) x 4 = ${numPriors * locClasses * 4} values per image`,
    );
    check(
      perImage(conf) === numPriors * numClasses,
      `conf ${fmt(conf)} must hold ${numPriors} priors x ${numClasses} classes = ${numPriors * numClasses} values per image`,
    );
    const backgroundLabelId = dp.num('background_label_id');
    const foreground = numClasses - (backgroundLabelId >= 0 && backgroundLabelId < numClasses ? 1 : 0);
    const perClass = topK === -1 ? numPriors : Math.min(topK, numPriors);
    const possible = foreground * perClass;
    const maxDetections = Math.max(1, keepTopK === -1 ? possible : Math.min(keepTopK, possible));
    const attrs: DetectionOutputAttrs = {
      numClasses,
      shareLocation,
      backgroundLabelId,
      nmsThreshold,
      topK,
      eta,
      codeType: dp.str('code_type') as DetectionOutputAttrs['codeType'],
      varianceEncodedInTarget: dp.bool('variance_encoded_in_target'),
      clip: dp.bool('clip'),
      keepTopK,
      confidenceThreshold: dp.has('confidence_threshold') ? dp.num('confidence_threshold') : NO_CONFIDENCE_THRESHOLD,
      numPriors,
      maxDetections,
    };
    return { attrs, outputs: [[loc[0], 1, maxDetections, 7]] };
  },
};
