/**
 * References of Faster R-CNN's region layers, written from rbgirshick/caffe-fast-rcnn's ROIPooling,
 * R-FCN's PSROIPooling and py-faster-rcnn's proposal layer (generate_anchors, bbox_transform_inv,
 * clip_boxes, nms). Coordinates are worked in float32 (Math.fround) where those implementations
 * compute in float, so that bin edges and kept boxes match exactly; pooled values are exact.
 */
import type { LayerArgs } from './reference';

const f = Math.fround;
/** C's round(): halves away from zero. */
const cRound = (x: number) => Math.sign(x) * Math.round(Math.abs(x));

/** ROIPooling: per region and bin, the maximum of the bin's window (0 for an empty one or a region of image -1). */
export function roiPooling(a: LayerArgs<'ROIPooling'>): Float64Array[] {
  const { pooledH: ph, pooledW: pw, spatialScale } = a.layer.attrs;
  const [n, c, h, w] = a.inShapes[0];
  const rois = a.inputs[1];
  const r = a.inShapes[1][0];
  const out = new Float64Array(r * c * ph * pw);
  const s = f(spatialScale);
  for (let k = 0; k < r; k++) {
    const b = rois[k * 5];
    if (!(b >= 0 && b < n) || Math.trunc(b) !== b) continue;
    const [sw, sh, ew, eh] = [1, 2, 3, 4].map((i) => cRound(f(f(rois[k * 5 + i]) * s)));
    const rh = Math.max(eh - sh + 1, 1);
    const rw = Math.max(ew - sw + 1, 1);
    const bh = f(rh / ph);
    const bw = f(rw / pw);
    for (let ch = 0; ch < c; ch++) {
      const plane = (b * c + ch) * h * w;
      for (let i = 0; i < ph; i++) {
        const hs = Math.min(Math.max(Math.floor(f(i * bh)) + sh, 0), h);
        const he = Math.min(Math.max(Math.ceil(f((i + 1) * bh)) + sh, 0), h);
        for (let j = 0; j < pw; j++) {
          const ws = Math.min(Math.max(Math.floor(f(j * bw)) + sw, 0), w);
          const we = Math.min(Math.max(Math.ceil(f((j + 1) * bw)) + sw, 0), w);
          let m = -Infinity;
          for (let y = hs; y < he; y++) for (let x = ws; x < we; x++) m = Math.max(m, a.inputs[0][plane + y * w + x]);
          out[((k * c + ch) * ph + i) * pw + j] = he <= hs || we <= ws ? 0 : m;
        }
      }
    }
  }
  return [out];
}

/** PSROIPooling: per region, output channel and bin, the mean of its position-sensitive input channel over the bin. */
export function psroiPooling(a: LayerArgs<'PSROIPooling'>): Float64Array[] {
  const { outputDim, groupSize: g, spatialScale } = a.layer.attrs;
  const [n, c, h, w] = a.inShapes[0];
  const rois = a.inputs[1];
  const r = a.inShapes[1][0];
  const out = new Float64Array(r * outputDim * g * g);
  const s = f(spatialScale);
  for (let k = 0; k < r; k++) {
    const b = rois[k * 5];
    if (!(b >= 0 && b < n) || Math.trunc(b) !== b) continue;
    const sw = f(cRound(rois[k * 5 + 1]) * s);
    const sh = f(cRound(rois[k * 5 + 2]) * s);
    const ew = f((cRound(rois[k * 5 + 3]) + 1) * s);
    const eh = f((cRound(rois[k * 5 + 4]) + 1) * s);
    const rw = Math.max(f(ew - sw), f(0.1));
    const rh = Math.max(f(eh - sh), f(0.1));
    const bh = f(rh / g);
    const bw = f(rw / g);
    for (let ct = 0; ct < outputDim; ct++) {
      for (let i = 0; i < g; i++) {
        const hs = Math.min(Math.max(Math.floor(f(f(i * bh) + sh)), 0), h);
        const he = Math.min(Math.max(Math.ceil(f(f((i + 1) * bh) + sh)), 0), h);
        for (let j = 0; j < g; j++) {
          const ws = Math.min(Math.max(Math.floor(f(f(j * bw) + sw)), 0), w);
          const we = Math.min(Math.max(Math.ceil(f(f((j + 1) * bw) + sw)), 0), w);
          const plane = (b * c + (ct * g + i) * g + j) * h * w;
          let sum = 0;
          for (let y = hs; y < he; y++) for (let x = ws; x < we; x++) sum += a.inputs[0][plane + y * w + x];
          const area = (he - hs) * (we - ws);
          out[((k * outputDim + ct) * g + i) * g + j] = area > 0 ? sum / area : 0;
        }
      }
    }
  }
  void c;
  return [out];
}

/** generate_anchors(base 16, ratios, scales): [x1, y1, x2, y2] per (ratio, scale), numpy's rounding (halves to even). */
export function generateAnchors(ratios: readonly number[], scales: readonly number[]): number[][] {
  const even = (x: number) => {
    const r = Math.round(x);
    return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  };
  const out: number[][] = [];
  const [cx, cy, size] = [7.5, 7.5, 256];
  for (const ratio of ratios) {
    const ws = even(Math.sqrt(size / ratio));
    const hs = even(ws * ratio);
    for (const scale of scales) {
      const w = ws * scale;
      const h = hs * scale;
      out.push([cx - 0.5 * (w - 1), cy - 0.5 * (h - 1), cx + 0.5 * (w - 1), cy + 0.5 * (h - 1)]);
    }
  }
  return out;
}

/**
 * py-faster-rcnn's proposal layer per image: anchors over the feature cells (cell-major, anchor
 * fastest), decoded in float32, clipped, filtered by min_size x scale, the best pre_nms_topN by
 * score (ties: the lower anchor index first), greedy NMS (suppressed when IoU > thresh, areas with
 * +1), the first post_nms_topN as [image, x1, y1, x2, y2]; the rest [-1, 0, 0, 0, 0] (scores 0).
 */
export function proposal(a: LayerArgs<'Proposal'>): Float64Array[] {
  const p = a.layer.attrs;
  const [n, twoA, hgt, wid] = a.inShapes[0];
  const A = twoA / 2;
  const anchors = generateAnchors(p.ratios, p.scales);
  const R = p.postNmsTopN;
  const rois = new Float64Array(n * R * 5);
  const scoresOut = new Float64Array(n * R);
  for (let img = 0; img < n; img++) {
    for (let k = 0; k < R; k++) rois[(img * R + k) * 5] = -1;
    const [imH, imW, imScale] = [0, 1, 2].map((i) => a.inputs[2][img * 3 + i]);
    const boxes: Array<{ box: number[]; score: number; index: number }> = [];
    const minSize = f(p.minSize * imScale);
    for (let y = 0; y < hgt; y++) {
      for (let x = 0; x < wid; x++) {
        for (let k = 0; k < A; k++) {
          const at = (c: number) => ((img * a.inShapes[1][1] + c) * hgt + y) * wid + x;
          const anchor = anchors[k];
          const sx = x * p.featStride;
          const sy = y * p.featStride;
          const [x1, y1, x2, y2] = [f(anchor[0] + sx), f(anchor[1] + sy), f(anchor[2] + sx), f(anchor[3] + sy)];
          const bw = f(f(x2 - x1) + 1);
          const bh = f(f(y2 - y1) + 1);
          const cx = f(x1 + f(0.5 * bw));
          const cy = f(y1 + f(0.5 * bh));
          const [dx, dy, dw, dh] = [0, 1, 2, 3].map((i) => f(a.inputs[1][at(4 * k + i)]));
          const pcx = f(f(dx * bw) + cx);
          const pcy = f(f(dy * bh) + cy);
          const pw = f(f(Math.exp(dw)) * bw);
          const phh = f(f(Math.exp(dh)) * bh);
          const clipX = (v: number) => Math.max(Math.min(v, f(imW - 1)), 0);
          const clipY = (v: number) => Math.max(Math.min(v, f(imH - 1)), 0);
          const box = [
            clipX(f(pcx - f(0.5 * pw))),
            clipY(f(pcy - f(0.5 * phh))),
            clipX(f(pcx + f(0.5 * pw))),
            clipY(f(pcy + f(0.5 * phh))),
          ];
          if (f(f(box[2] - box[0]) + 1) < minSize || f(f(box[3] - box[1]) + 1) < minSize) continue;
          const score = a.inputs[0][((img * twoA + A + k) * hgt + y) * wid + x];
          boxes.push({ box, score, index: (y * wid + x) * A + k });
        }
      }
    }
    boxes.sort((u, v) => v.score - u.score || u.index - v.index);
    const candidates = boxes.slice(0, p.preNmsTopN);
    const kept: typeof candidates = [];
    const area = (b: number[]) => f(f(f(b[2] - b[0]) + 1) * f(f(b[3] - b[1]) + 1));
    for (const c of candidates) {
      if (kept.length >= R) break;
      const ok = kept.every((k) => {
        const iw = Math.max(0, f(f(Math.min(c.box[2], k.box[2]) - Math.max(c.box[0], k.box[0])) + 1));
        const ih = Math.max(0, f(f(Math.min(c.box[3], k.box[3]) - Math.max(c.box[1], k.box[1])) + 1));
        const inter = f(iw * ih);
        return f(inter / f(f(area(c.box) + area(k.box)) - inter)) <= p.nmsThresh;
      });
      if (ok) kept.push(c);
    }
    kept.forEach((k, i) => {
      rois.set([img, ...k.box], (img * R + i) * 5);
      scoresOut[img * R + i] = k.score;
    });
  }
  return a.layer.outputs.length === 2 ? [rois, scoresOut] : [rois];
}
