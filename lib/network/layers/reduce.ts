/** Softmax, ArgMax and Reduction. */
import { canonicalAxis, check, fmt, sameShape, type LayerDef } from './common';
import { volume } from '../types';

/** Softmax along `axis` (default 1). */
export const softmax: LayerDef<'Softmax'> = {
  type: 'Softmax',
  bottoms: [1, 1],
  tops: [1, 1],
  build(p, inputs) {
    const axis = canonicalAxis(p.sub('softmax_param').num('axis'), inputs[0].length, 'softmax axis');
    return { attrs: { axis }, outputs: sameShape(inputs) };
  },
};

/**
 * ArgMax: with `axis`, that dim becomes top_k; without, the output is (N, 1 or 2, top_k, 1) over
 * each image's values (2 when out_max_val adds the values).
 */
export const argMax: LayerDef<'ArgMax'> = {
  type: 'ArgMax',
  bottoms: [1, 1],
  tops: [1, 1],
  build(p, inputs) {
    const ap = p.sub('argmax_param');
    const s = inputs[0];
    const topK = ap.num('top_k');
    const outMaxVal = ap.bool('out_max_val');
    check(topK >= 1, `top_k must be >= 1, got ${topK}`);
    if (ap.has('axis')) {
      const axis = canonicalAxis(ap.num('axis'), s.length, 'argmax axis');
      check(topK <= s[axis], `top_k ${topK} is larger than axis ${axis} of ${fmt(s)}`);
      return { attrs: { outMaxVal, topK, axis }, outputs: [s.map((d, i) => (i === axis ? topK : d))] };
    }
    check(topK <= volume(s, 1), `top_k ${topK} is larger than the ${volume(s, 1)} values per image`);
    const out = new Array<number>(Math.max(s.length, 3)).fill(1);
    out[0] = s[0];
    out[2] = topK;
    if (outMaxVal) out[1] = 2;
    return { attrs: { outMaxVal, topK }, outputs: [out] };
  },
};

/** Reduction over all dims from `axis` on; output keeps the dims before it. */
export const reduction: LayerDef<'Reduction'> = {
  type: 'Reduction',
  bottoms: [1, 1],
  tops: [1, 1],
  build(p, inputs) {
    const rp = p.sub('reduction_param');
    const s = inputs[0];
    const axis = canonicalAxis(rp.num('axis'), s.length, 'reduction axis');
    return {
      attrs: { operation: rp.str('operation') as 'SUM' | 'ASUM' | 'SUMSQ' | 'MEAN', axis, coeff: rp.num('coeff') },
      outputs: [s.slice(0, axis)],
    };
  },
};
