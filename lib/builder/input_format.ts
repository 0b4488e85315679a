/**
 * Input formats (docs/engine.md, "Input formats"): an engine can take an image input as the
 * pixels an image decoder gives (uint8, interleaved channels: sharp's `.raw()`, OpenCV's Mat)
 * instead of the network's float32 NCHW input, and preprocess them on the device with Caffe's
 * test-phase DataTransformer semantics: centre crop to the network's H x W, channel swap
 * (RGB <-> BGR), then (x - mean) * scale with a mean per channel or a mean image (.binaryproto).
 * A quarter of the bytes cross to the GPU, and nothing is converted on the host.
 *
 * Each value comes from the build options when given, else from the transform_param of the layer
 * that produces the input (mean_value or mean_file; scale), else the default (no mean, scale 1);
 * the image size is the network input's unless given (a larger one is centre-cropped).
 */
import * as fs from 'fs';
import * as path from 'path';
import { readMeanFile } from '../caffe';
import { argumentError, IOError, ShapeError, TensorRTNodeError } from '../errors';
import { arrayOf, finiteNumber, integer, nonEmptyString, object, oneOf, optional, string, type Checker } from '../validate';
import type { InputTransform, Network } from '../network';
import type { PreprocessSpec } from './exec_graph';

/**
 * How an engine takes its image input: 'float32' (the network's own NCHW input, the default), or
 * uint8 pixels [N, H, W, C]: 'uint8-nhwc-bgr' (B, G, R: OpenCV's order), 'uint8-nhwc-rgb'
 * (R, G, B: sharp, browsers, PIL) or 'uint8-nhwc' (channels already in the network's order, any
 * count from 1 to 4: grayscale for LeNet).
 */
export type InputFormat = 'float32' | 'uint8-nhwc' | 'uint8-nhwc-bgr' | 'uint8-nhwc-rgb';

/** Every input format. */
export const INPUT_FORMATS: readonly InputFormat[] = ['float32', 'uint8-nhwc', 'uint8-nhwc-bgr', 'uint8-nhwc-rgb'];

/** The channel orders of colour networks. */
export type ChannelOrder = 'bgr' | 'rgb';

/** BuildConfig.input: the form of the network's image input. */
export interface InputOptions {
  /** 'float32' (default) or a uint8 format. */
  readonly format?: InputFormat;
  /** The input (default: the network's first). */
  readonly name?: string;
  /**
   * Per-channel means, in the network's channel order (one value: every channel). Default: the
   * input layer's transform_param (mean_value, or mean_file), else none.
   */
  readonly mean?: readonly number[];
  /** A Caffe mean image (.binaryproto, [C, H, W] in the network's channel order, the image's size). */
  readonly meanFile?: string;
  /** (x - mean) is multiplied by it. Default: transform_param.scale, else 1. */
  readonly scale?: number;
  /**
   * [height, width] of the images the engine takes (default: the network input's H x W); a larger
   * size is centre-cropped to the network's input, as Caffe's test-phase crop_size.
   */
  readonly imageSize?: readonly [number, number];
  /**
   * The channel order the network was trained on: 'bgr' (default: Caffe reads images with OpenCV,
   * so BVLC models expect B, G, R) or 'rgb'. With a -bgr / -rgb format, channels are swapped when
   * the two differ.
   */
  readonly networkOrder?: ChannelOrder;
}

/** A resolved uint8 input: the Preprocess node's spec, its mean image, and where each value came from. */
export interface ResolvedInput {
  readonly spec: PreprocessSpec;
  /** The per-pixel mean [C, H_in, W_in] when spec.meanImage. */
  readonly meanImage?: Float32Array;
  /** One line per decision, for the build log. */
  readonly notes: readonly string[];
}

/** The network input [C, H, W] a uint8 format can feed, or a RangeError naming why not. */
function imageInput(net: Network, name: string | undefined, format: InputFormat): { name: string; dims: [number, number, number] } {
  const input = name === undefined ? net.inputs[0] : net.inputs.find((t) => t.name === name);
  if (input === undefined) {
    throw argumentError(
      `an input of ${net.name || 'the network'} (${net.inputs.map((t) => `'${t.name}'`).join(', ')})`,
      'config.input.name',
      name,
      'range',
    );
  }
  const dims = input.shape.slice(1);
  if (dims.length !== 3 || dims[0] < 1 || dims[0] > 4) {
    throw argumentError(
      `an image input [N, C, H, W] with 1 to 4 channels for a uint8 format (input '${input.name}' is ` + `[${input.shape.join(', ')}])`,
      'config.input.format',
      format,
      'range',
    );
  }
  return { name: input.name, dims: dims as [number, number, number] };
}

/** The fields of BuildConfig.input checked on their own (the rest depend on the network's input). */
const checkInputFields = object<InputOptions>(
  {
    format: optional(oneOf(INPUT_FORMATS)),
    name: optional(string('an input name string')),
    mean: optional(arrayOf(finiteNumber(), { what: 'an array of finite numbers', reportWhole: true })),
    meanFile: optional(nonEmptyString('a file path')),
    scale: optional(finiteNumber({ typeWhat: 'a finite number' })),
    imageSize: optional(
      arrayOf(integer({ min: 1 }), {
        what: '[height, width] (positive integers)',
        minLength: 2,
        maxLength: 2,
        reportWhole: true,
      }) as Checker<[number, number]>,
    ),
    networkOrder: optional(oneOf(['bgr', 'rgb'] as const)),
  },
  { what: 'an input options object' },
);

/**
 * Checks BuildConfig.input against `net`: TypeError / RangeError in the package's message form.
 * Returns undefined for the float32 format (nothing to do).
 */
export function checkInputOptions(value: unknown, net: Network): InputOptions | undefined {
  if (value === undefined) return undefined;
  const o = checkInputFields(value, 'config.input');
  const format = o.format ?? 'float32';
  if (format === 'float32') {
    const set = (['name', 'mean', 'meanFile', 'scale', 'imageSize', 'networkOrder'] as const).find((k) => o[k] !== undefined);
    if (set !== undefined) throw argumentError(`a uint8 format (${set} describes uint8 images)`, 'config.input.format', o.format, 'range');
    return undefined;
  }
  const { dims } = imageInput(net, o.name, format);
  const channels = dims[0];
  if (format !== 'uint8-nhwc' && channels !== 3) {
    throw argumentError(
      `'uint8-nhwc' (${format} is for 3-channel images; the input has ${channels} channel${channels === 1 ? '' : 's'})`,
      'config.input.format',
      format,
      'range',
    );
  }
  if (o.mean !== undefined && o.mean.length !== 1 && o.mean.length !== channels) {
    throw argumentError(`1 or ${channels} mean values (one per channel)`, 'config.input.mean', o.mean, 'range');
  }
  if (o.mean !== undefined && o.meanFile !== undefined) throw argumentError('one of mean and meanFile', 'config.input', value, 'range');
  const s = o.imageSize;
  if (s !== undefined && (s[0] < dims[1] || s[1] < dims[2])) {
    throw argumentError(
      `an image size of at least ${dims[1]}x${dims[2]} (the network's input, which is cropped from the image)`,
      'config.input.imageSize',
      s,
      'range',
    );
  }
  return { ...o, format };
}

/** A transform_param mean_file: absolute, else beside the prototxt, else from the working directory (where Caffe ran). */
function meanFilePath(net: Network, file: string): string {
  if (path.isAbsolute(file)) return file;
  const candidates = [path.resolve(path.dirname(net.file), file), path.resolve(file)];
  const found = candidates.find((p) => fs.existsSync(p));
  if (found === undefined) {
    throw new IOError(
      `the transform_param of ${net.file} names mean_file ${file}, found neither at ${candidates.join(' nor at ')}: ` +
        'give the file (meanFile; CLI --meanFile) or per-channel means (mean; CLI --mean)',
      candidates[0],
    );
  }
  return found;
}

interface MeanChoice {
  readonly values?: number[];
  readonly image?: Float32Array;
  readonly note: string;
}

/** The mean: the options', else the transform_param's, else none. */
async function chooseMean(
  net: Network,
  o: InputOptions,
  t: InputTransform | undefined,
  dims: readonly number[],
  imageSize: readonly [number, number],
): Promise<MeanChoice> {
  const channels = dims[0];
  const perChannel = (v: readonly number[]) => (v.length === 1 ? new Array<number>(channels).fill(v[0]) : [...v]);
  if (o.mean !== undefined) return { values: perChannel(o.mean), note: `mean ${o.mean.join(',')}` };
  const fromLayer = t === undefined ? '' : ` (transform_param of layer '${t.layer}')`;
  if (o.meanFile === undefined && t !== undefined && t.meanValue.length > 0) {
    if (t.meanFile !== undefined) {
      throw new TensorRTNodeError(
        'E_INVALID_ARGUMENT',
        `layer '${t.layer}' of ${net.file}: transform_param sets both mean_file and ` +
          'mean_value (Caffe refuses that too): give the mean to use (mean or meanFile; CLI --mean or --meanFile)',
      );
    }
    if (t.meanValue.length !== 1 && t.meanValue.length !== channels) {
      throw new ShapeError(
        `layer '${t.layer}' of ${net.file}: transform_param has ${t.meanValue.length} mean_value entries for ` +
          `${channels} channels (Caffe takes 1 or one per channel)`,
        t.layer,
      );
    }
    return { values: perChannel(t.meanValue), note: `mean ${t.meanValue.join(',')}${fromLayer}` };
  }
  const file = o.meanFile ?? (t?.meanFile === undefined ? undefined : meanFilePath(net, t.meanFile));
  if (file === undefined) return { values: new Array<number>(channels).fill(0), note: 'no mean' };
  const mean = await readMeanFile(file);
  const want = [channels, imageSize[0], imageSize[1]];
  if (mean.shape.some((d, i) => d !== want[i])) {
    const [, mh, mw] = mean.shape;
    const hint =
      mean.shape[0] === channels && mh >= dims[1] && mw >= dims[2]
        ? `take ${mh}x${mw} images (imageSize [${mh}, ${mw}]; CLI --imageSize ${mh}x${mw}), centre-cropped to the network's ` +
          `${dims[1]}x${dims[2]} as Caffe's crop_size does, or give per-channel means instead`
        : 'give per-channel means instead (mean; CLI --mean)';
    throw new ShapeError(
      `mean file ${file} is [${mean.shape.join(', ')}] but the engine takes [${want.join(', ')}] images ` +
        `(channels, height, width): ${hint}`,
    );
  }
  return { image: mean.data, note: `mean image ${file}${o.meanFile === undefined ? fromLayer : ''}` };
}

/**
 * The Preprocess node of a uint8 input format (undefined for float32): the options checked
 * (checkInputOptions), completed from the network's transform_param, the mean file read.
 */
export async function resolveInput(net: Network, given: InputOptions | undefined): Promise<ResolvedInput | undefined> {
  const options = checkInputOptions(given, net);
  if (options === undefined || options.format === undefined || options.format === 'float32') return undefined;
  const { name, dims } = imageInput(net, options.name, options.format);
  const t = net.inputTransform(name);
  const imageSize: [number, number] = options.imageSize === undefined ? [dims[1], dims[2]] : [options.imageSize[0], options.imageSize[1]];
  const mean = await chooseMean(net, options, t, dims, imageSize);
  const scale = options.scale ?? t?.scale ?? 1;
  const order = options.format === 'uint8-nhwc-bgr' ? 'bgr' : options.format === 'uint8-nhwc-rgb' ? 'rgb' : undefined;
  const networkOrder = options.networkOrder ?? 'bgr';
  const swapChannels = order !== undefined && order !== networkOrder;
  const offset: [number, number] = [Math.floor((imageSize[0] - dims[1]) / 2), Math.floor((imageSize[1] - dims[2]) / 2)];
  const notes = [
    `input '${name}': ${options.format} images ${imageSize[0]}x${imageSize[1]}` +
      (offset[0] > 0 || offset[1] > 0 || imageSize[0] !== dims[1] || imageSize[1] !== dims[2]
        ? `, centre crop to ${dims[1]}x${dims[2]}`
        : '') +
      (swapChannels ? `, channels swapped (the network takes ${networkOrder.toUpperCase()})` : '') +
      `, ${mean.note}, scale ${scale}${options.scale === undefined && t?.scale !== undefined ? ` (transform_param of layer '${t.layer}')` : ''}`,
  ];
  if (t?.mirror === true)
    notes.push(`transform_param.mirror of layer '${t.layer}' is ignored: random mirroring is a training-time augmentation`);
  if (t?.forceColor === true || t?.forceGray === true) {
    notes.push(
      `transform_param.force_color / force_gray of layer '${t.layer}' are ignored: they choose how Caffe decodes images, which is the caller's part`,
    );
  }
  const spec: PreprocessSpec = {
    input: name,
    imageSize,
    offset,
    swapChannels,
    scale: Math.fround(scale),
    ...(mean.image !== undefined ? { meanImage: true } : { mean: (mean.values as number[]).map(Math.fround) }),
  };
  return { spec, ...(mean.image !== undefined ? { meanImage: mean.image } : {}), notes };
}

/**
 * What the engine's Preprocess node computes, on the host, in the same float32 arithmetic: uint8
 * images [batch, H_in, W_in, C] to the network's input [batch, C, H, W]. For feeding a float32
 * engine (or a calibrator) the same values a uint8 engine computes.
 */
export function preprocessOnHost(
  input: ResolvedInput,
  dims: readonly [number, number, number],
  images: Uint8Array,
  batch: number,
): Float32Array {
  const [c, h, w] = dims;
  const {
    imageSize: [ih, iw],
    offset: [top, left],
    swapChannels,
    scale,
    mean,
  } = input.spec;
  const out = new Float32Array(batch * c * h * w);
  let k = 0;
  for (let n = 0; n < batch; n++) {
    for (let ch = 0; ch < c; ch++) {
      const src = swapChannels ? c - 1 - ch : ch;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const v = images[((n * ih + y + top) * iw + x + left) * c + src];
          const m = input.meanImage !== undefined ? input.meanImage[(ch * ih + y + top) * iw + x + left] : (mean as readonly number[])[ch];
          out[k++] = Math.fround(Math.fround(v - m) * scale);
        }
      }
    }
  }
  return out;
}
