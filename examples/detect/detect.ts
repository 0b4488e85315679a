/**
 * Object detection with an SSD: sharp decodes and resizes the image, the engine takes its raw
 * uint8 pixels (mean, scale and the RGB -> BGR swap on the device), DetectionOutput gives rows
 * [image, label, score, xmin, ymin, xmax, ymax] in [0, 1] of the image, and sharp draws the boxes
 * over the original image (an SVG overlay, composited) into a PNG.
 *
 *   npm run build
 *   node dist/examples/detect/detect.js street.jpg --model mobilenet_ssd \
 *        --weights MobileNetSSD_deploy.caffemodel -o street-boxes.png
 *   node dist/examples/detect/detect.js people.jpg --model face --weights res10_300x300_ssd_iter_140000.caffemodel
 *
 * Options: --model mobilenet_ssd|ssd300|face|<deploy.prototxt> (default mobilenet_ssd), --weights,
 * --threshold (score to keep, default 0.5), -o out.png (default <image>-detections.png),
 * --backend, --precision. README.md beside this file says more.
 */
import * as path from 'path';
import sharp from 'sharp';
import { Builder, detections, Network, type BackendChoice, type InputOptions, type Precision } from '../../lib';

const ROOT = path.resolve(__dirname, '../../..');

/** PASCAL VOC's classes, as the VOC-trained SSDs number them (0 is the background). */
const VOC = [
  'background',
  'aeroplane',
  'bicycle',
  'bird',
  'boat',
  'bottle',
  'bus',
  'car',
  'cat',
  'chair',
  'cow',
  'diningtable',
  'dog',
  'horse',
  'motorbike',
  'person',
  'pottedplant',
  'sheep',
  'sofa',
  'train',
  'tvmonitor',
];

/** A model the example knows: its file, its input transform and its class names. */
interface ModelSpec {
  readonly prototxt: string;
  readonly input: InputOptions;
  readonly labels: readonly string[];
}

const MODELS: Readonly<Record<string, ModelSpec>> = {
  // MobileNet-SSD (chuanqi305): BGR, (x - 127.5) / 127.5.
  mobilenet_ssd: {
    prototxt: path.join(ROOT, 'models', 'mobilenet_ssd.prototxt'),
    input: { format: 'uint8-nhwc-rgb', networkOrder: 'bgr', mean: [127.5, 127.5, 127.5], scale: 1 / 127.5 },
    labels: VOC,
  },
  // SSD300 (VGG16, VOC): BGR, mean 104, 117, 123.
  ssd300: {
    prototxt: path.join(ROOT, 'models', 'ssd300_vgg16.prototxt'),
    input: { format: 'uint8-nhwc-rgb', networkOrder: 'bgr', mean: [104, 117, 123] },
    labels: VOC,
  },
  // OpenCV's res10 face detector: BGR, mean 104, 177, 123.
  face: {
    prototxt: path.join(ROOT, 'models', 'res10_300x300_ssd.prototxt'),
    input: { format: 'uint8-nhwc-rgb', networkOrder: 'bgr', mean: [104, 177, 123] },
    labels: ['background', 'face'],
  },
};

/** What detect() takes. */
export interface DetectOptions {
  /** 'mobilenet_ssd' (default), 'ssd300', 'face', or a deploy.prototxt path (BGR, mean 127.5, VOC labels). */
  readonly model?: string;
  readonly weights?: string;
  /** Keep detections scoring at least this (default 0.5). */
  readonly threshold?: number;
  /** Where to write the image with the boxes drawn; none when absent. */
  readonly output?: string;
  readonly backend?: BackendChoice;
  readonly precision?: Precision;
}

/** One detection, in pixels of the original image. */
export interface Detection {
  readonly label: string;
  readonly score: number;
  readonly box: { readonly left: number; readonly top: number; readonly right: number; readonly bottom: number };
}

function modelSpec(model: string): ModelSpec {
  return MODELS[model] ?? { ...MODELS.mobilenet_ssd, prototxt: model };
}

/** An SVG the size of the image with one labelled rectangle per detection. */
function overlay(width: number, height: number, found: readonly Detection[]): Buffer {
  const escape = (s: string) => s.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const shapes = found.map(({ label, score, box }) => {
    const w = Math.max(1, box.right - box.left);
    const h = Math.max(1, box.bottom - box.top);
    return (
      `<rect x="${box.left}" y="${box.top}" width="${w}" height="${h}" fill="none" stroke="#ff2d55" stroke-width="3"/>` +
      `<text x="${box.left + 4}" y="${Math.max(14, box.top - 4)}" font-family="sans-serif" font-size="14" fill="#ff2d55">` +
      `${escape(label)} ${score.toFixed(2)}</text>`
    );
  });
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${shapes.join('')}</svg>`);
}

/** Builds the model's uint8-input engine, detects objects in one image file, optionally draws them. */
export async function detect(image: string, options: DetectOptions = {}): Promise<{ detections: Detection[]; notes: string[] }> {
  const spec = modelSpec(options.model ?? 'mobilenet_ssd');
  const notes: string[] = [];
  if (options.weights === undefined) notes.push('no --weights: the network has random weights, so its boxes mean nothing');
  const net = await Network.fromCaffe(spec.prototxt, {
    ...(options.weights !== undefined ? { weights: options.weights } : {}),
    batchSize: 1,
  });
  const [, height, width] = net.inputs[0].shape.slice(1);
  const builder = new Builder({ backend: options.backend ?? 'auto', logger: () => undefined });
  const engine = await builder.build(net, { precision: options.precision ?? 'fp32', maxBatchSize: 1, input: spec.input });
  notes.push(`${engine.backend} backend, ${engine.precision}; ${net.name || path.basename(spec.prototxt)}`);
  const original = sharp(image);
  const meta = await original.metadata();
  const [iw, ih] = [meta.width ?? 0, meta.height ?? 0];
  const { data } = await sharp(image)
    .resize(width, height, { fit: 'fill' })
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  const ctx = engine.createContext();
  try {
    const out = (await ctx.infer({ [engine.inputs[0].name]: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) }))[
      engine.outputs[0].name
    ] as Float32Array;
    const clamp = (v: number, size: number) => Math.round(Math.min(Math.max(v, 0), 1) * size);
    // The library's reading of DetectionOutput rows (padding left out), those above the threshold.
    const found: Detection[] = detections(out, options.threshold ?? 0.5).map(({ label, score, box: [x0, y0, x1, y1] }) => ({
      label: spec.labels[label] ?? `class ${label}`,
      score,
      box: { left: clamp(x0, iw), top: clamp(y0, ih), right: clamp(x1, iw), bottom: clamp(y1, ih) },
    }));
    if (options.output !== undefined) {
      await sharp(image)
        .composite([{ input: overlay(iw, ih, found), top: 0, left: 0 }])
        .png()
        .toFile(options.output);
      notes.push(`boxes drawn into ${options.output}`);
    }
    return { detections: found, notes };
  } finally {
    ctx.dispose();
    engine.dispose();
  }
}

/** The value of --name in argv, or undefined. */
function option(argv: readonly string[], ...names: string[]): string | undefined {
  for (const name of names) {
    const i = argv.indexOf(name);
    if (i >= 0 && i + 1 < argv.length) return argv[i + 1];
  }
  return undefined;
}

/** Command line: detect, print the boxes, draw them. */
export async function main(argv: readonly string[], out: (s: string) => void = (s) => console.log(s)): Promise<number> {
  const image = argv[0];
  if (image === undefined || image.startsWith('-')) {
    out(
      'usage: node dist/examples/detect/detect.js <image> [--model mobilenet_ssd|ssd300|face|deploy.prototxt] ' +
        '[--weights file.caffemodel] [--threshold 0.5] [-o out.png] [--backend auto|cpu|cuda] [--precision fp32|fp16]',
    );
    return 2;
  }
  const threshold = option(argv, '--threshold');
  const parsed = path.parse(image);
  const result = await detect(image, {
    model: option(argv, '--model'),
    weights: option(argv, '--weights'),
    output: option(argv, '-o', '--output') ?? path.join(parsed.dir, `${parsed.name}-detections.png`),
    backend: option(argv, '--backend') as BackendChoice | undefined,
    precision: option(argv, '--precision') as Precision | undefined,
    ...(threshold !== undefined ? { threshold: Number(threshold) } : {}),
  });
  for (const note of result.notes) out(`# ${note}`);
  out(`${result.detections.length} detection(s)`);
  for (const d of result.detections) {
    out(`${d.label.padEnd(12)} ${d.score.toFixed(3)}  [${d.box.left}, ${d.box.top}, ${d.box.right}, ${d.box.bottom}]`);
  }
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${(err as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
