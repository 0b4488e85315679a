/** Convolution and Deconvolution (Caffe's BaseConvolutionLayer rules, N-D spatial). */
import type { Message } from '../../caffe/message';
import type { ConvAttrs, Shape } from '../types';
import { volume } from '../types';
import { canonicalAxis, check, fmt, spatialParam, type LayerDef } from './common';

function convAttrs(p: Message, input: Shape, depthwise: boolean): ConvAttrs {
  const cp = p.sub('convolution_param');
  const axis = canonicalAxis(cp.num('axis'), input.length, 'convolution axis');
  const spatial = input.length - axis - 1;
  check(spatial >= 1, `convolution needs at least one spatial axis after channel axis ${axis}; input is ${fmt(input)}`);
  // A lone kernel_h or stride_h would leave the other 0, which Caffe refuses; a lone pad_h pads
  // one axis only, which Caffe allows.
  const kernelList = spatialParam(cp, 'kernel_size', 'kernel_h', 'kernel_w', spatial, undefined, true);
  const stride = spatialParam(cp, 'stride', 'stride_h', 'stride_w', spatial, 1, true);
  const pad = spatialParam(cp, 'pad', 'pad_h', 'pad_w', spatial, 0);
  const dilation = spatialParam(cp, 'dilation', undefined, undefined, spatial, 1);
  const numOutput = cp.num('num_output');
  const group = depthwise ? input[axis] : cp.num('group');
  check(numOutput > 0, 'num_output must be > 0');
  check(group > 0, 'group must be > 0');
  check(
    kernelList.every((k) => k > 0),
    `kernel sizes must be > 0, got ${fmt(kernelList)}`,
  );
  check(
    stride.every((s) => s > 0),
    `strides must be > 0, got ${fmt(stride)}`,
  );
  check(
    dilation.every((d) => d > 0),
    `dilations must be > 0, got ${fmt(dilation)}`,
  );
  const channels = input[axis];
  check(channels % group === 0, `input channels (${channels}) must be divisible by group (${group})`);
  check(
    numOutput % group === 0,
    depthwise
      ? `a depthwise convolution needs num_output (${numOutput}) to be a multiple of the input channels (${channels})`
      : `num_output (${numOutput}) must be divisible by group (${group})`,
  );
  return { numOutput, kernel: kernelList, stride, pad, dilation, group, biasTerm: cp.bool('bias_term'), axis };
}

function checkSameInputs(inputs: readonly Shape[]): void {
  for (const s of inputs) {
    check(
      s.length === inputs[0].length && s.every((d, i) => d === inputs[0][i]),
      `all bottoms of a convolution must have one shape; got ${fmt(inputs[0])} and ${fmt(s)}`,
    );
  }
}

function buildConv(
  p: Message,
  inputs: readonly Shape[],
  deconv: boolean,
  depthwise = false,
): { attrs: ConvAttrs; outputs: Shape[]; blobs: Shape[]; macs: number } {
  checkSameInputs(inputs);
  const input = inputs[0];
  const a = convAttrs(p, input, depthwise);
  const out: number[] = [...input.slice(0, a.axis), a.numOutput];
  for (let i = 0; i < a.kernel.length; i++) {
    const extent = a.dilation[i] * (a.kernel[i] - 1) + 1;
    const size = input[a.axis + 1 + i];
    const o = deconv ? a.stride[i] * (size - 1) + extent - 2 * a.pad[i] : Math.floor((size + 2 * a.pad[i] - extent) / a.stride[i]) + 1;
    check(
      o >= 1,
      `spatial axis ${i}: input ${size} with kernel ${a.kernel[i]}, dilation ${a.dilation[i]}, ` +
        `pad ${a.pad[i]}, stride ${a.stride[i]} gives output size ${o}`,
    );
    out.push(o);
  }
  const channels = input[a.axis];
  const k = volume(a.kernel);
  const weights = deconv ? [channels, a.numOutput / a.group, ...a.kernel] : [a.numOutput, channels / a.group, ...a.kernel];
  const blobs: Shape[] = a.biasTerm ? [weights, [a.numOutput]] : [weights];
  // MACs: convolution = output elements x (C_in / group) x kernel volume;
  // deconvolution = input elements x (C_out / group) x kernel volume.
  const macs = deconv ? volume(input) * (a.numOutput / a.group) * k : volume(out) * (channels / a.group) * k;
  return { attrs: a, outputs: inputs.map(() => out), blobs, macs: macs * inputs.length };
}

/** Convolution: output = floor((in + 2 pad - (dilation (k - 1) + 1)) / stride) + 1 per spatial axis. */
export const convolution: LayerDef<'Convolution'> = {
  type: 'Convolution',
  bottoms: [1, Infinity],
  tops: [1, Infinity],
  build: (p, inputs, _tops, context) => buildConv(p, inputs, false, context.depthwise === true),
};

/** Deconvolution: output = stride (in - 1) + dilation (k - 1) + 1 - 2 pad per spatial axis. */
export const deconvolution: LayerDef<'Deconvolution'> = {
  type: 'Deconvolution',
  bottoms: [1, Infinity],
  tops: [1, Infinity],
  build: (p, inputs) => buildConv(p, inputs, true),
};
