/** InnerProduct (fully connected) and Embed. */
import type { Shape } from '../types';
import { volume } from '../types';
import { canonicalAxis, check, fmt, type LayerDef } from './common';

/** InnerProduct: flattens the dims from `axis` on into K inputs; output = dims before axis + [num_output]. */
export const innerProduct: LayerDef<'InnerProduct'> = {
  type: 'InnerProduct',
  bottoms: [1, 1],
  tops: [1, 1],
  build(p, inputs) {
    const ip = p.sub('inner_product_param');
    const input = inputs[0];
    const numOutput = ip.num('num_output');
    check(numOutput > 0, 'num_output must be > 0');
    const axis = canonicalAxis(ip.num('axis'), input.length, 'inner product axis');
    const inputSize = volume(input, axis);
    const transpose = ip.bool('transpose');
    const biasTerm = ip.bool('bias_term');
    const weights: Shape = transpose ? [inputSize, numOutput] : [numOutput, inputSize];
    return {
      attrs: { numOutput, biasTerm, axis, transpose, inputSize },
      outputs: [[...input.slice(0, axis), numOutput]],
      blobs: biasTerm ? [weights, [numOutput]] : [weights],
      macs: volume(input, 0, axis) * inputSize * numOutput,
    };
  },
};

/** Embed: a lookup of integer indices; output = input shape + [num_output]. No MACs. */
export const embed: LayerDef<'Embed'> = {
  type: 'Embed',
  bottoms: [1, 1],
  tops: [1, 1],
  build(p, inputs) {
    const ep = p.sub('embed_param');
    const numOutput = ep.num('num_output');
    const inputDim = ep.num('input_dim');
    check(numOutput > 0, 'num_output must be > 0');
    check(inputDim > 0, `input_dim must be > 0 (the vocabulary size), got ${inputDim}`);
    const biasTerm = ep.bool('bias_term');
    check(inputs[0].length >= 1, `embed needs a non-scalar input, got ${fmt(inputs[0])}`);
    return {
      attrs: { numOutput, inputDim, biasTerm },
      outputs: [[...inputs[0], numOutput]],
      blobs: biasTerm ? [[inputDim, numOutput], [numOutput]] : [[inputDim, numOutput]],
    };
  },
};
