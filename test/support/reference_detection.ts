/**
 * Float64 references of the layers from Caffe's forks, written from their published semantics:
 * SSD's Permute, Normalize, PriorBox, DetectionOutput (weiliu89/caffe, branch ssd), Upsample
 * (YOLOv3's nearest form, SegNet's max unpooling) and Interp (DeepLab / PSPNet). Same conventions
 * as reference.ts (row-major Float64Array, batch first).
 */
import { strides, type LayerArgs } from './reference';

/** Permute: output index (i_0, ..., i_k) reads input index j with j[order[a]] = i[a]. */
export function permute(a: LayerArgs<'Permute'>): Float64Array[] {
  const { order } = a.layer.attrs;
  const inDims = a.inShapes[0];
  const outDims = a.outShapes[0];
  const inStrides = strides(inDims);
  const x = a.inputs[0];
  const y = new Float64Array(x.length);
  const idx = new Array<number>(outDims.length).fill(0);
  for (let o = 0; o < y.length; o++) {
    let from = 0;
    for (let d = 0; d < outDims.length; d++) from += idx[d] * inStrides[order[d]];
    y[o] = x[from];
    for (let d = outDims.length - 1; d >= 0; d--) {
      if (++idx[d] < outDims[d]) break;
      idx[d] = 0;
    }
  }
  return [y];
}

/** Normalize: x / sqrt(sum x^2 + eps) over each image (acrossSpatial) or each pixel's channels, times scale[c]. */
export function normalize(a: LayerArgs<'Normalize'>): Float64Array[] {
  const { acrossSpatial, channelShared, eps } = a.layer.attrs;
  const s = a.inShapes[0];
  const [n, c] = [s[0], s[1]];
  const plane = s.slice(2).reduce((p, v) => p * v, 1);
  const x = a.inputs[0];
  const scale = a.blobs[0];
  const y = new Float64Array(x.length);
  const scaleOf = (ch: number) => (channelShared ? scale[0] : scale[ch]);
  for (let i = 0; i < n; i++) {
    const base = i * c * plane;
    if (acrossSpatial) {
      let sum = 0;
      for (let k = 0; k < c * plane; k++) sum += x[base + k] * x[base + k];
      const norm = Math.sqrt(sum + eps);
      for (let k = 0; k < c * plane; k++) y[base + k] = (x[base + k] / norm) * scaleOf(Math.floor(k / plane));
    } else {
      for (let q = 0; q < plane; q++) {
        let sum = 0;
        for (let ch = 0; ch < c; ch++) sum += x[base + ch * plane + q] ** 2;
        const norm = Math.sqrt(sum + eps);
        for (let ch = 0; ch < c; ch++) y[base + ch * plane + q] = (x[base + ch * plane + q] / norm) * scaleOf(ch);
      }
    }
  }
  return [y];
}

/** The boxes (and variances) of one image: [xmin, ymin, xmax, ymax] per prior, cells row by row. */
export function priorBoxes(attrs: LayerArgs<'PriorBox'>['layer']['attrs']): { boxes: Float64Array; variances: Float64Array } {
  const t = attrs;
  const boxes: number[] = [];
  const push = (cx: number, cy: number, bw: number, bh: number) => {
    for (const v of [
      (cx - bw / 2) / t.imageWidth,
      (cy - bh / 2) / t.imageHeight,
      (cx + bw / 2) / t.imageWidth,
      (cy + bh / 2) / t.imageHeight,
    ]) {
      boxes.push(t.clip ? Math.min(Math.max(v, 0), 1) : v);
    }
  };
  for (let h = 0; h < t.layerHeight; h++) {
    for (let w = 0; w < t.layerWidth; w++) {
      const cx = (w + t.offset) * t.stepW;
      const cy = (h + t.offset) * t.stepH;
      t.minSizes.forEach((given, s) => {
        // SSD's Caffe takes the sizes as integers (truncated).
        const min = Math.trunc(given);
        push(cx, cy, min, min);
        if (t.maxSizes.length > 0) {
          const side = Math.sqrt(min * Math.trunc(t.maxSizes[s]));
          push(cx, cy, side, side);
        }
        for (const ar of t.aspectRatios) {
          if (Math.abs(ar - 1) < 1e-6) continue;
          push(cx, cy, min * Math.sqrt(ar), min / Math.sqrt(ar));
        }
      });
    }
  }
  const variances = new Float64Array(boxes.length);
  for (let i = 0; i < boxes.length; i++) variances[i] = t.variances[i % 4];
  return { boxes: Float64Array.from(boxes), variances };
}

/** PriorBox: every image gets [boxes, variances]. */
export function priorBox(a: LayerArgs<'PriorBox'>): Float64Array[] {
  const { boxes, variances } = priorBoxes(a.layer.attrs);
  const n = a.outShapes[0][0];
  const y = new Float64Array(n * 2 * boxes.length);
  for (let i = 0; i < n; i++) {
    y.set(boxes, i * 2 * boxes.length);
    y.set(variances, (i * 2 + 1) * boxes.length);
  }
  return [y];
}

type Box = readonly [number, number, number, number];

/** Area of a normalised box; 0 when it is inverted. */
function area(b: Box): number {
  return b[2] < b[0] || b[3] < b[1] ? 0 : (b[2] - b[0]) * (b[3] - b[1]);
}

/** Intersection over union of normalised boxes (no +1). */
function jaccard(p: Box, q: Box): number {
  if (q[0] > p[2] || q[2] < p[0] || q[1] > p[3] || q[3] < p[1]) return 0;
  const inter = area([Math.max(p[0], q[0]), Math.max(p[1], q[1]), Math.min(p[2], q[2]), Math.min(p[3], q[3])]);
  return inter / (area(p) + area(q) - inter);
}

/** One prediction decoded against its prior with the layer's code type. */
function decode(code: string, encodedInTarget: boolean, prior: Box, v: readonly number[], l: readonly number[]): Box {
  const pw = prior[2] - prior[0];
  const ph = prior[3] - prior[1];
  const k = encodedInTarget ? [1, 1, 1, 1] : v;
  if (code === 'CORNER') return [prior[0] + k[0] * l[0], prior[1] + k[1] * l[1], prior[2] + k[2] * l[2], prior[3] + k[3] * l[3]];
  if (code === 'CORNER_SIZE') {
    return [prior[0] + k[0] * l[0] * pw, prior[1] + k[1] * l[1] * ph, prior[2] + k[2] * l[2] * pw, prior[3] + k[3] * l[3] * ph];
  }
  const cx = k[0] * l[0] * pw + (prior[0] + prior[2]) / 2;
  const cy = k[1] * l[1] * ph + (prior[1] + prior[3]) / 2;
  const w = Math.exp(k[2] * l[2]) * pw;
  const h = Math.exp(k[3] * l[3]) * ph;
  return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2];
}

/**
 * DetectionOutput per image: boxes decoded (and clipped to [0, 1] with OpenCV's `clip`), then per class (not the background) the scores above
 * the threshold in descending order (ties: lower prior first), top_k of them, greedy NMS (keep a
 * box whose IoU with every kept one is <= the threshold, which eta lowers after each keep while
 * above 0.5); then keep_top_k over all classes by score (ties: lower class, then earlier in its
 * NMS order); rows by class, each class in its NMS order, padded with [n, -1, ...].
 */
export function detectionOutput(a: LayerArgs<'DetectionOutput'>): Float64Array[] {
  const t = a.layer.attrs;
  const [loc, conf, prior] = a.inputs;
  const n = a.inShapes[0][0];
  const P = t.numPriors;
  const locClasses = t.shareLocation ? 1 : t.numClasses;
  const y = new Float64Array(n * t.maxDetections * 7).fill(-1);
  for (let i = 0; i < n; i++) {
    const priorBase = i * 2 * P * 4;
    const boxOf = (p: number, lc: number): Box => {
      const pb = Array.from(prior.subarray(priorBase + p * 4, priorBase + p * 4 + 4)) as unknown as Box;
      const v = Array.from(prior.subarray(priorBase + (P + p) * 4, priorBase + (P + p) * 4 + 4));
      const o = ((i * P + p) * locClasses + lc) * 4;
      const box = decode(t.codeType, t.varianceEncodedInTarget, pb, v, Array.from(loc.subarray(o, o + 4)));
      return t.clip ? (box.map((c) => Math.min(Math.max(c, 0), 1)) as unknown as Box) : box;
    };
    const kept: Array<{ label: number; score: number; prior: number; box: Box; pos: number }> = [];
    for (let c = 0; c < t.numClasses; c++) {
      if (c === t.backgroundLabelId) continue;
      const lc = t.shareLocation ? 0 : c;
      const cand: Array<{ score: number; prior: number }> = [];
      for (let p = 0; p < P; p++) {
        const score = conf[(i * P + p) * t.numClasses + c];
        if (score > t.confidenceThreshold) cand.push({ score, prior: p });
      }
      cand.sort((u, v) => v.score - u.score || u.prior - v.prior);
      if (t.topK > -1) cand.length = Math.min(cand.length, t.topK);
      let threshold = t.nmsThreshold;
      const mine: Array<{ prior: number; box: Box; score: number }> = [];
      for (const cnd of cand) {
        const box = boxOf(cnd.prior, lc);
        if (mine.every((m) => jaccard(box, m.box) <= threshold)) {
          mine.push({ prior: cnd.prior, box, score: cnd.score });
          if (t.eta < 1 && threshold > 0.5) threshold *= t.eta;
        }
      }
      mine.forEach((m, pos) => kept.push({ label: c, score: m.score, prior: m.prior, box: m.box, pos }));
    }
    let rows = kept;
    if (t.keepTopK > -1 && kept.length > t.keepTopK) {
      const best = [...kept].sort((u, v) => v.score - u.score || u.label - v.label || u.pos - v.pos).slice(0, t.keepTopK);
      const chosen = new Set(best);
      rows = kept.filter((k) => chosen.has(k));
    }
    rows.forEach((r, k) => {
      y.set([i, r.label, r.score, ...r.box], (i * t.maxDetections + k) * 7);
    });
    for (let k = rows.length; k < t.maxDetections; k++) y[(i * t.maxDetections + k) * 7] = i;
  }
  return [y];
}

/** Upsample: nearest (output (y, x) reads (floor(y H / H_out), floor(x W / W_out))) or max unpooling by the mask. */
export function upsample(a: LayerArgs<'Upsample'>): Float64Array[] {
  const [n, c, h, w] = a.inShapes[0];
  const [, , ho, wo] = a.outShapes[0];
  const x = a.inputs[0];
  const y = new Float64Array(n * c * ho * wo);
  for (let p = 0; p < n * c; p++) {
    if (a.layer.attrs.mode === 'unpool') {
      const mask = a.inputs[1];
      for (let i = 0; i < h * w; i++) {
        const at = mask[p * h * w + i];
        if (!(Number.isInteger(at) && at >= 0 && at < ho * wo))
          throw new Error(`reference Upsample: mask value ${at} is outside the output plane`);
        y[p * ho * wo + at] = x[p * h * w + i];
      }
      continue;
    }
    for (let yy = 0; yy < ho; yy++) {
      for (let xx = 0; xx < wo; xx++) {
        y[(p * ho + yy) * wo + xx] = x[(p * h + Math.floor((yy * h) / ho)) * w + Math.floor((xx * w) / wo)];
      }
    }
  }
  return [y];
}

/** Interp: bilinear with aligned corners over the input cropped by -padBeg (top-left) and -padEnd. */
export function interp(a: LayerArgs<'Interp'>): Float64Array[] {
  const { padBeg, padEnd } = a.layer.attrs;
  const [n, c, h, w] = a.inShapes[0];
  const [, , ho, wo] = a.outShapes[0];
  const he = h + padBeg + padEnd;
  const we = w + padBeg + padEnd;
  const x = a.inputs[0];
  const y = new Float64Array(n * c * ho * wo);
  const ry = ho > 1 ? (he - 1) / (ho - 1) : 0;
  const rx = wo > 1 ? (we - 1) / (wo - 1) : 0;
  for (let p = 0; p < n * c; p++) {
    const at = (yy: number, xx: number) => x[(p * h + yy - padBeg) * w + xx - padBeg];
    for (let i = 0; i < ho; i++) {
      const fy = ry * i;
      const y0 = Math.floor(fy);
      const y1 = Math.min(y0 + 1, he - 1);
      const ly = fy - y0;
      for (let j = 0; j < wo; j++) {
        const fx = rx * j;
        const x0 = Math.floor(fx);
        const x1 = Math.min(x0 + 1, we - 1);
        const lx = fx - x0;
        y[(p * ho + i) * wo + j] = (1 - ly) * ((1 - lx) * at(y0, x0) + lx * at(y0, x1)) + ly * ((1 - lx) * at(y1, x0) + lx * at(y1, x1));
      }
    }
  }
  return [y];
}
