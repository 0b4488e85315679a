/**
 * Layers that resize feature maps, from Caffe's forks: Upsample (YOLOv3's nearest-neighbour form
 * and SegNet / ENet's max-unpooling form with a mask input) and Interp (DeepLab / PSPNet's bilinear
 * resize). Shapes follow those forks' rules; docs/network.md, "Resize layers".
 */
import type { Message } from '../../caffe/message';
import { check, fmt, type LayerDef } from './common';

/** Upsample's output size on one axis: upsample_<h|w>, else in x scale (minus 1 with pad_out). */
function upsampleSize(up: Message, axis: 'h' | 'w', size: number): number {
  if (up.has(`upsample_${axis}`)) return up.num(`upsample_${axis}`);
  const scale = up.has(`scale_${axis}`) ? up.num(`scale_${axis}`) : up.num('scale');
  check(Number.isInteger(scale) && scale >= 1, `Upsample scale must be a positive integer, got ${scale}`);
  return size * scale - (up.bool(`pad_out_${axis}`) ? 1 : 0);
}

/**
 * Upsample: one input [N, C, H, W] (nearest neighbour) or two, the values and MAX pooling's mask of
 * the same shape (max unpooling); output [N, C, H_out, W_out].
 */
export const upsample: LayerDef<'Upsample'> = {
  type: 'Upsample',
  bottoms: [1, 2],
  tops: [1, 1],
  inPlace: false,
  build(p, inputs) {
    const up = p.sub('upsample_param');
    const s = inputs[0];
    check(s.length === 4, `Upsample takes [N, C, H, W], got ${fmt(s)}`);
    const unpool = inputs.length === 2;
    if (unpool)
      check(
        inputs[1].length === 4 && inputs[1].every((d, i) => d === s[i]),
        `the mask ${fmt(inputs[1])} must have the values' shape ${fmt(s)}`,
      );
    const h = upsampleSize(up, 'h', s[2]);
    const w = upsampleSize(up, 'w', s[3]);
    check(h >= 1 && w >= 1, `Upsample output ${h} x ${w} is empty`);
    if (unpool) check(h >= s[2] && w >= s[3], `max unpooling needs an output at least the input's size, got ${h} x ${w} from ${fmt(s)}`);
    return { attrs: { mode: unpool ? 'unpool' : 'nearest' }, outputs: [[s[0], s[1], h, w]] };
  },
};

/** Interp's output size on one axis from DeepLab's rules (`given`: the file's height or width, 0 when absent). */
function interpSize(ip: Message, effective: number, given: number, axis: string): number {
  const shrink = ip.has('shrink_factor');
  const zoom = ip.has('zoom_factor');
  if (shrink || zoom) {
    const s = ip.num('shrink_factor');
    const z = ip.num('zoom_factor');
    check(s >= 1 && z >= 1, `shrink_factor and zoom_factor must be >= 1, got ${s} and ${z}`);
    const shrunk = shrink ? Math.floor((effective - 1) / s) + 1 : effective;
    return zoom ? shrunk + (shrunk - 1) * (z - 1) : shrunk;
  }
  check(given > 0, `Interp needs height and width, zoom_factor or shrink_factor (got ${axis} ${given})`);
  return given;
}

/**
 * Interp: input [N, C, H, W], optionally cropped by pad_beg / pad_end (<= 0), resized bilinearly
 * (corners aligned) to the size the parameters give: height / width, or zoom_factor / shrink_factor
 * of the cropped size (shrink first), or a second input's H and W.
 */
export const interp: LayerDef<'Interp'> = {
  type: 'Interp',
  bottoms: [1, 2],
  tops: [1, 1],
  inPlace: false,
  build(p, inputs) {
    const ip = p.sub('interp_param');
    const s = inputs[0];
    check(s.length === 4, `Interp takes [N, C, H, W], got ${fmt(s)}`);
    const padBeg = ip.num('pad_beg');
    const padEnd = ip.num('pad_end');
    check(padBeg <= 0 && padEnd <= 0, `Interp pads must be <= 0 (a crop), got pad_beg ${padBeg} and pad_end ${padEnd}`);
    const effH = s[2] + padBeg + padEnd;
    const effW = s[3] + padBeg + padEnd;
    check(effH >= 1 && effW >= 1, `the pads leave nothing of ${fmt(s)}`);
    let h: number;
    let w: number;
    if (inputs.length === 2) {
      check(inputs[1].length === 4, `Interp's second input gives the size: [N, C, H, W], got ${fmt(inputs[1])}`);
      [h, w] = [inputs[1][2], inputs[1][3]];
    } else {
      h = interpSize(ip, effH, ip.num('height'), 'height');
      w = interpSize(ip, effW, ip.num('width'), 'width');
    }
    check(h >= 1 && w >= 1, `Interp output ${h} x ${w} is empty`);
    return { attrs: { padBeg, padEnd }, outputs: [[s[0], s[1], h, w]] };
  },
};
