/** Pooling (Caffe's PoolingLayer rules: 4-D input, ceil rounding by default, global pooling). */
import type { PoolAttrs } from '../types';
import { check, fmt, spatialParam, type LayerDef } from './common';

/**
 * Output size per spatial axis: ceil((in + 2 pad - kernel) / stride) + 1 (floor with
 * round_mode FLOOR); with padding (on either axis), a last window that would start in the padding is dropped.
 */
export const pooling: LayerDef<'Pooling'> = {
  type: 'Pooling',
  bottoms: [1, 1],
  tops: [1, 2],
  build(p, inputs, topCount) {
    const pp = p.sub('pooling_param');
    const input = inputs[0];
    check(input.length === 4, `pooling needs a 4-D input (N, C, H, W); got ${fmt(input)}`);
    const [, , height, width] = input;
    const global = pp.bool('global_pooling');
    const method = pp.str('pool') as PoolAttrs['method'];
    let kernel: number[];
    if (global) {
      check(
        !pp.has('kernel_size') && !pp.has('kernel_h') && !pp.has('kernel_w'),
        'global_pooling takes the whole input: do not give a kernel size',
      );
      kernel = [height, width];
    } else {
      check(
        pp.has('kernel_size') || pp.has('kernel_h') || pp.has('kernel_w'),
        'pooling needs kernel_size (or kernel_h and kernel_w), or global_pooling: true',
      );
      kernel = spatialParam(pp, 'kernel_size', 'kernel_h', 'kernel_w', 2, undefined, true);
    }
    const pad = spatialParam(pp, 'pad', 'pad_h', 'pad_w', 2, 0, true);
    const stride = spatialParam(pp, 'stride', 'stride_h', 'stride_w', 2, 1, true);
    check(kernel[0] > 0 && kernel[1] > 0, `kernel size must be > 0, got ${fmt(kernel)}`);
    check(stride[0] > 0 && stride[1] > 0, `stride must be > 0, got ${fmt(stride)}`);
    if (global) {
      check(pad[0] === 0 && pad[1] === 0 && stride[0] === 1 && stride[1] === 1, 'with global_pooling, pad must be 0 and stride 1');
    }
    check(pad[0] < kernel[0] && pad[1] < kernel[1], `pad ${fmt(pad)} must be smaller than the kernel ${fmt(kernel)}`);
    check(method !== 'STOCHASTIC' || (pad[0] === 0 && pad[1] === 0), 'padding applies to MAX and AVE pooling only, not STOCHASTIC');
    check(topCount === 1 || method === 'MAX', 'only MAX pooling has a second top (the argmax mask)');
    check(!(pp.has('ceil_mode') && pp.has('round_mode')), 'give either round_mode or ceil_mode (a fork field), not both');
    const roundMode: PoolAttrs['roundMode'] = pp.has('ceil_mode')
      ? pp.bool('ceil_mode')
        ? 'CEIL'
        : 'FLOOR'
      : (pp.str('round_mode') as PoolAttrs['roundMode']);
    const out = [0, 1].map((i) => {
      const size = i === 0 ? height : width;
      const span = (size + 2 * pad[i] - kernel[i]) / stride[i];
      let o = (roundMode === 'FLOOR' ? Math.floor(span) : Math.ceil(span)) + 1;
      // Caffe clips both axes whenever either is padded.
      if ((pad[0] > 0 || pad[1] > 0) && (o - 1) * stride[i] >= size + pad[i]) o--;
      check(o >= 1, `input ${size} is smaller than the kernel ${kernel[i]} (with pad ${pad[i]})`);
      return o;
    });
    const output = [input[0], input[1], out[0], out[1]];
    const attrs: PoolAttrs = {
      method,
      global,
      roundMode,
      kernel: [kernel[0], kernel[1]],
      stride: [stride[0], stride[1]],
      pad: [pad[0], pad[1]],
    };
    return { attrs, outputs: topCount === 2 ? [output, output] : [output] };
  },
};
