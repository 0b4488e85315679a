/** Layers that create, join, split and rearrange tensors: Input, Concat, Eltwise, Flatten, Reshape, Split, Slice, Crop, Tile, ShuffleChannel. */
import type { Shape } from '../types';
import { volume } from '../types';
import { canonicalAxis, check, fmt, type LayerDef } from './common';

/**
 * Input: one shape for every top, or one shape per top; `inputShapes` replaces a top's shape and
 * `batchSize` replaces dimension 0 of each.
 */
export const input: LayerDef<'Input'> = {
  type: 'Input',
  bottoms: [0, 0],
  tops: [1, Infinity],
  build(p, _inputs, topCount, context) {
    const shapes = p
      .sub('input_param')
      .msgs('shape')
      .map((s) => s.nums('dim'));
    check(
      shapes.length <= 1 || shapes.length === topCount,
      `the Input layer has ${topCount} tops but ${shapes.length} shapes; give one shape, or one per top`,
    );
    const outputs = context.tops.map((top, i) => {
      const given = context.inputShapes?.[top] ?? shapes[shapes.length === 1 ? 0 : i];
      check(
        given !== undefined,
        `input '${top}' has no shape: add input_param { shape { dim: ... } } or pass inputShapes { ${top}: [N, C, H, W] }`,
      );
      check(given.length > 0 && given.every((d) => Number.isInteger(d) && d > 0), `input dimensions must be > 0, got ${fmt(given)}`);
      return context.batchSize === undefined ? [...given] : [context.batchSize, ...given.slice(1)];
    });
    return { attrs: { shapes: outputs }, outputs };
  },
};

/** Concat along `axis` (or the legacy concat_dim); every other dim must match. */
export const concat: LayerDef<'Concat'> = {
  type: 'Concat',
  bottoms: [1, Infinity],
  tops: [1, 1],
  build(p, inputs) {
    const cp = p.sub('concat_param');
    const first = inputs[0];
    check(!(cp.has('axis') && cp.has('concat_dim')), 'give either axis or concat_dim, not both');
    let axis: number;
    if (cp.has('concat_dim')) {
      axis = cp.num('concat_dim');
      check(axis < first.length, `concat_dim ${axis} is out of range for a ${first.length}-D input`);
    } else {
      axis = canonicalAxis(cp.num('axis'), first.length, 'concat axis');
    }
    const out = [...first];
    for (const s of inputs.slice(1)) {
      check(s.length === first.length, `all Concat inputs need ${first.length} axes; got ${fmt(first)} and ${fmt(s)}`);
      s.forEach((d, i) =>
        check(i === axis || d === first[i], `Concat inputs must match outside axis ${axis}; got ${fmt(first)} and ${fmt(s)}`),
      );
      out[axis] += s[axis];
    }
    return { attrs: { axis }, outputs: [out] };
  },
};

/** Eltwise PROD / SUM (with coefficients) / MAX over inputs of one shape. */
export const eltwise: LayerDef<'Eltwise'> = {
  type: 'Eltwise',
  bottoms: [2, Infinity],
  tops: [1, 1],
  build(p, inputs) {
    const ep = p.sub('eltwise_param');
    const operation = ep.str('operation') as 'PROD' | 'SUM' | 'MAX';
    const coeff = ep.nums('coeff');
    check(
      coeff.length === 0 || coeff.length === inputs.length,
      `Eltwise takes one coefficient per input: ${inputs.length} inputs, ${coeff.length} coefficients`,
    );
    // Caffe refuses coefficients for PROD only; MAX ignores them.
    check(coeff.length === 0 || operation !== 'PROD', 'Eltwise PROD takes no coefficients');
    for (const s of inputs) {
      check(
        s.length === inputs[0].length && s.every((d, i) => d === inputs[0][i]),
        `Eltwise inputs must have one shape; got ${fmt(inputs[0])} and ${fmt(s)}`,
      );
    }
    return { attrs: { operation, coeff: coeff.length > 0 ? coeff : inputs.map(() => 1) }, outputs: [inputs[0]] };
  },
};

/** Flatten dims [axis, end_axis] into one. */
export const flatten: LayerDef<'Flatten'> = {
  type: 'Flatten',
  bottoms: [1, 1],
  tops: [1, 1],
  inPlace: false,
  build(p, inputs) {
    const fp = p.sub('flatten_param');
    const s = inputs[0];
    const axis = canonicalAxis(fp.num('axis'), s.length, 'flatten axis');
    const endAxis = canonicalAxis(fp.num('end_axis'), s.length, 'flatten end_axis');
    check(endAxis >= axis, `flatten end_axis ${endAxis} is before axis ${axis}`);
    return { attrs: { axis, endAxis }, outputs: [[...s.slice(0, axis), volume(s, axis, endAxis + 1), ...s.slice(endAxis + 1)]] };
  },
};

/** Reshape: dims [axis, axis + num_axes) replaced by `shape`, where 0 copies an input dim and -1 is inferred. */
export const reshape: LayerDef<'Reshape'> = {
  type: 'Reshape',
  bottoms: [1, 1],
  tops: [1, 1],
  inPlace: false,
  build(p, inputs) {
    const rp = p.sub('reshape_param');
    const s = inputs[0];
    const shape = rp.sub('shape').nums('dim');
    const axisParam = rp.num('axis');
    const start = axisParam >= 0 ? axisParam : s.length + axisParam + 1;
    check(start >= 0 && start <= s.length, `reshape axis ${axisParam} is out of range for a ${s.length}-D input`);
    const numAxes = rp.num('num_axes');
    check(numAxes >= -1, `reshape num_axes must be >= -1, got ${numAxes}`);
    const end = numAxes === -1 ? s.length : start + numAxes;
    check(end <= s.length, `reshape axis ${start} with num_axes ${numAxes} runs past input ${fmt(s)}`);
    check(shape.filter((d) => d === -1).length <= 1, `reshape shape ${fmt(shape)} has more than one -1`);
    check(
      shape.every((d) => d >= -1),
      `reshape dims must be >= -1, got ${fmt(shape)}`,
    );
    const middle = shape.map((d, i) => {
      if (d !== 0) return d;
      check(start + i < s.length, `reshape dim ${i} is 0 but the input has no axis ${start + i} to copy`);
      return s[start + i];
    });
    const out = [...s.slice(0, start), ...middle, ...s.slice(end)];
    const inferred = out.indexOf(-1);
    if (inferred >= 0) {
      const known = out.reduce((a, d, i) => (i === inferred ? a : a * d), 1);
      check(known > 0 && volume(s) % known === 0, `cannot infer the -1 dim of ${fmt(shape)} from input ${fmt(s)}`);
      out[inferred] = volume(s) / known;
    }
    check(volume(out) === volume(s), `reshape of ${fmt(s)} (${volume(s)} values) to ${fmt(out)} (${volume(out)}) changes the count`);
    return { attrs: { shape, axis: start, numAxes }, outputs: [out] };
  },
};

/** Split: every top is a copy of the bottom (Caffe's explicit fan-out; the IR has fan-out anyway). */
export const split: LayerDef<'Split'> = {
  type: 'Split',
  bottoms: [1, 1],
  tops: [1, Infinity],
  build: (_p, inputs, topCount) => ({ attrs: {}, outputs: Array.from({ length: topCount }, () => inputs[0]) }),
};

/** Slice along `axis` (or slice_dim) at slice_point, or into equal parts. */
export const slice: LayerDef<'Slice'> = {
  type: 'Slice',
  bottoms: [1, 1],
  tops: [1, Infinity],
  build(p, inputs, topCount) {
    const sp = p.sub('slice_param');
    const s = inputs[0];
    check(!(sp.has('axis') && sp.has('slice_dim')), 'give either axis or slice_dim, not both');
    let axis: number;
    if (sp.has('slice_dim')) {
      axis = sp.num('slice_dim');
      check(axis < s.length, `slice_dim ${axis} is out of range for a ${s.length}-D input`);
    } else {
      axis = canonicalAxis(sp.num('axis'), s.length, 'slice axis');
    }
    const dim = s[axis];
    let points = sp.nums('slice_point');
    if (points.length > 0) {
      check(points.length === topCount - 1, `${topCount} tops need ${topCount - 1} slice points, got ${points.length}`);
      let prev = 0;
      for (const q of points) {
        check(q > prev && q < dim, `slice points must increase within (0, ${dim}); got ${fmt(points)}`);
        prev = q;
      }
    } else {
      check(dim % topCount === 0, `axis ${axis} of size ${dim} does not split evenly into ${topCount} tops`);
      points = Array.from({ length: topCount - 1 }, (_, i) => ((i + 1) * dim) / topCount);
    }
    const bounds = [0, ...points, dim];
    const outputs = bounds.slice(1).map((b, i) => s.map((d, j) => (j === axis ? b - bounds[i] : d)));
    return { attrs: { axis, points }, outputs };
  },
};

/** Crop the first bottom to the second's dims from `axis` on, at `offset`. */
export const crop: LayerDef<'Crop'> = {
  type: 'Crop',
  bottoms: [2, 2],
  tops: [1, 1],
  build(p, inputs) {
    const cp = p.sub('crop_param');
    const [a, b] = inputs;
    check(a.length === b.length, `Crop inputs need the same number of axes; got ${fmt(a)} and ${fmt(b)}`);
    const axis = canonicalAxis(cp.num('axis'), a.length, 'crop axis');
    const given = cp.nums('offset');
    check(
      given.length <= 1 || given.length === a.length - axis,
      `crop offsets: give 0, 1 or ${a.length - axis} values (one per axis from ${axis}); got ${given.length}`,
    );
    const offsets: number[] = [];
    const out = a.map((d, i) => {
      if (i < axis) return d;
      const off = given.length === 0 ? 0 : given.length === 1 ? given[0] : given[i - axis];
      check(d - off >= b[i], `cannot crop axis ${i} of ${fmt(a)} to ${b[i]} at offset ${off}`);
      offsets.push(off);
      return b[i];
    });
    return { attrs: { axis, offsets }, outputs: [out] };
  },
};

/** Tile: repeat along `axis`. */
export const tile: LayerDef<'Tile'> = {
  type: 'Tile',
  bottoms: [1, 1],
  tops: [1, 1],
  build(p, inputs) {
    const tp = p.sub('tile_param');
    const s = inputs[0];
    const axis = canonicalAxis(tp.num('axis'), s.length, 'tile axis');
    const tiles = tp.num('tiles');
    check(tiles > 0, `tiles must be > 0, got ${tiles}`);
    const out: Shape = s.map((d, i) => (i === axis ? d * tiles : d));
    return { attrs: { axis, tiles }, outputs: [out] };
  },
};

/**
 * ShuffleChannel (ShuffleNet's Caffe layer, `shuffle_channel_param { group }`): the channels, seen
 * as `group` rows of C / group, are transposed, so output channel i * group + j is input channel
 * j * (C / group) + i. The shape is unchanged; C must be a multiple of group.
 */
export const shuffleChannel: LayerDef<'ShuffleChannel'> = {
  type: 'ShuffleChannel',
  bottoms: [1, 1],
  tops: [1, 1],
  build(p, inputs) {
    const group = p.sub('shuffle_channel_param').num('group');
    const s = inputs[0];
    check(s.length >= 2, `ShuffleChannel needs an input with channels (N x C x ...), got ${fmt(s)}`);
    check(Number.isInteger(group) && group >= 1, `group must be a positive integer, got ${group}`);
    check(s[1] % group === 0, `the ${s[1]} channels of ${fmt(s)} do not split into ${group} groups`);
    return { attrs: { group }, outputs: [s] };
  },
};

/**
 * Permute (SSD's Caffe): output axis i is input axis order[i]. Axes the order leaves out follow in
 * their own order (Caffe's rule); each axis at most once. The batch must stay first (every tensor of
 * an engine leads with the batch), which is what SSD's orders (0, 2, 3, 1) do.
 */
export const permute: LayerDef<'Permute'> = {
  type: 'Permute',
  bottoms: [1, 1],
  tops: [1, 1],
  inPlace: false,
  build(p, inputs) {
    const s = inputs[0];
    const given = p.sub('permute_param').nums('order');
    check(given.length <= s.length, `Permute order has ${given.length} axes; the input ${fmt(s)} has ${s.length}`);
    for (const a of given) {
      check(
        Number.isInteger(a) && a >= 0 && a < s.length,
        `Permute order names axis ${a}; the input ${fmt(s)} has axes 0..${s.length - 1}`,
      );
    }
    check(new Set(given).size === given.length, `Permute order [${given.join(', ')}] names an axis twice`);
    const order = [...given, ...s.map((_, i) => i).filter((i) => !given.includes(i))];
    check(order[0] === 0, `Permute order [${order.join(', ')}] moves the batch axis; engines keep the batch first (order starting with 0)`);
    return { attrs: { order }, outputs: [order.map((a) => s[a])] };
  },
};
