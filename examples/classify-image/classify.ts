/**
 * Image classification from a JPEG (or PNG, WebP ...): sharp decodes and resizes the image, its
 * raw interleaved pixels go to an engine whose input is uint8 (BuildConfig.input), and the engine
 * preprocesses them on the device (crop, channel swap, mean, scale) before the network runs. No
 * float conversion on the host; a quarter of the bytes of a float32 input cross to the GPU.
 *
 *   npm run build
 *   node dist/examples/classify-image/classify.js digit.jpg                      # trained LeNet (MNIST)
 *   node dist/examples/classify-image/classify.js cat.jpg --model googlenet \
 *        --weights bvlc_googlenet.caffemodel --labels synset_words.txt
 *
 * Options: --model lenet|googlenet|<deploy.prototxt> (default lenet), --weights, --labels (one
 * class name per line, Caffe's synset_words.txt form), --backend auto|cpu|cuda|tensorrt,
 * --precision fp32|fp16|int8, --top N (default 5). README.md beside this file says more.
 */
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { Builder, Network, type BackendChoice, type Engine, type InputOptions, type Precision } from '../../lib';

const ROOT = path.resolve(__dirname, '../../..');

/** A model the example knows: its files and how its images are prepared. */
interface ModelSpec {
  readonly prototxt: string;
  readonly weights?: string;
  /** The engine's input format and transform (Caffe's transform_param for the model). */
  readonly input: InputOptions;
  /** Resize images to this [height, width] before the engine (its imageSize); default the network input's. */
  readonly resize?: readonly [number, number];
  /** Built-in class names. */
  readonly labels?: readonly string[];
}

/** The models the example names; any other --model is a deploy.prototxt taken as a BGR ImageNet-style network. */
const MODELS: Readonly<Record<string, ModelSpec>> = {
  // Caffe's MNIST LeNet, trained (scripts/README-mnist.md): white digits on black, pixels / 256.
  lenet: {
    prototxt: path.join(ROOT, 'models', 'lenet.prototxt'),
    weights: path.join(ROOT, 'models', 'lenet_mnist.caffemodel'),
    input: { format: 'uint8-nhwc', scale: 0.00390625 },
    labels: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  },
  // BVLC GoogLeNet: BGR, mean 104,117,123, images resized to 256x256 and centre-cropped to 224x224.
  googlenet: {
    prototxt: path.join(ROOT, 'models', 'googlenet.prototxt'),
    input: { format: 'uint8-nhwc-rgb', networkOrder: 'bgr', mean: [104, 117, 123], imageSize: [256, 256] },
    resize: [256, 256],
  },
};

/** What classify() takes. */
export interface ClassifyOptions {
  /** 'lenet' (default), 'googlenet', or a deploy.prototxt path. */
  readonly model?: string;
  /** A .caffemodel (default: the model's own; random weights when it has none). */
  readonly weights?: string;
  /** A label file: one class per line ("n01440764 tench, Tinca tinca" or just a name). */
  readonly labels?: string;
  readonly backend?: BackendChoice;
  readonly precision?: Precision;
  /** How many classes to report (default 5). */
  readonly top?: number;
}

/** One reported class. */
export interface Prediction {
  readonly index: number;
  /** Its name, when a label list is known. */
  readonly label?: string;
  readonly probability: number;
}

/** The result of classify(): the top classes and what the run said about itself. */
export interface Classification {
  readonly predictions: readonly Prediction[];
  readonly notes: readonly string[];
}

function modelSpec(model: string): ModelSpec {
  const known = MODELS[model];
  if (known !== undefined) return known;
  return { prototxt: model, input: { format: 'uint8-nhwc-rgb', networkOrder: 'bgr' } };
}

/** The image as raw interleaved pixels of the engine's input size and channel count. */
async function pixels(file: string, height: number, width: number, channels: number): Promise<Uint8Array> {
  let image = sharp(file).resize(width, height, { fit: 'fill' });
  image = channels === 1 ? image.greyscale() : image.removeAlpha().toColourspace('srgb');
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== channels) throw new Error(`${file}: decoded ${info.channels} channels, the network takes ${channels}`);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Class names from a label file: the text after a leading WordNet id (n01440764), else the line. */
function readLabels(file: string): string[] {
  return fs
    .readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '')
    .map((l) => l.replace(/^n\d{8}\s+/, '').trim());
}

/** Builds the model's uint8-input engine, classifies one image file, and returns the top classes. */
export async function classify(image: string, options: ClassifyOptions = {}): Promise<Classification> {
  const spec = modelSpec(options.model ?? 'lenet');
  const notes: string[] = [];
  const weights = options.weights ?? spec.weights;
  if (weights === undefined) notes.push('no --weights: the network has random weights, so its classes mean nothing');
  const net = await Network.fromCaffe(spec.prototxt, { ...(weights !== undefined ? { weights } : {}), batchSize: 1 });
  const [channels, h, w] = net.inputs[0].shape.slice(1);
  const [height, width] = spec.resize ?? [h, w];
  const builder = new Builder({ backend: options.backend ?? 'auto', logger: () => undefined });
  const engine: Engine = await builder.build(net, { precision: options.precision ?? 'fp32', maxBatchSize: 1, input: spec.input });
  notes.push(
    `${engine.backend} backend, ${engine.precision}; input '${engine.inputs[0].name}' takes uint8 [${engine.inputs[0].dims.join(', ')}]`,
  );
  const ctx = engine.createContext();
  try {
    const outputs = await ctx.infer({ [engine.inputs[0].name]: await pixels(image, height, width, channels) });
    const scores = outputs[engine.outputs[0].name] as Float32Array;
    const labels = options.labels !== undefined ? readLabels(options.labels) : spec.labels;
    if (labels === undefined) notes.push('no label list (--labels synset_words.txt): classes are printed as indices');
    const order = [...scores.keys()].sort((a, b) => scores[b] - scores[a]).slice(0, options.top ?? 5);
    return {
      predictions: order.map((index) => ({
        index,
        probability: scores[index],
        ...(labels?.[index] !== undefined ? { label: labels[index] } : {}),
      })),
      notes,
    };
  } finally {
    ctx.dispose();
    engine.dispose();
  }
}

/** The value of --name in argv, or undefined. */
function option(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : undefined;
}

/** Command line: classify an image and print the top classes. */
export async function main(argv: readonly string[], out: (s: string) => void = (s) => console.log(s)): Promise<number> {
  const image = argv[0];
  if (image === undefined || image.startsWith('--')) {
    out(
      'usage: node dist/examples/classify-image/classify.js <image> [--model lenet|googlenet|deploy.prototxt] ' +
        '[--weights file.caffemodel] [--labels synset_words.txt] [--backend auto|cpu|cuda|tensorrt] [--precision fp32|fp16|int8] [--top N]',
    );
    return 2;
  }
  const top = option(argv, 'top');
  const result = await classify(image, {
    model: option(argv, 'model'),
    weights: option(argv, 'weights'),
    labels: option(argv, 'labels'),
    backend: option(argv, 'backend') as BackendChoice | undefined,
    precision: option(argv, 'precision') as Precision | undefined,
    ...(top !== undefined ? { top: Number(top) } : {}),
  });
  for (const note of result.notes) out(`# ${note}`);
  for (const p of result.predictions) out(`${(100 * p.probability).toFixed(2).padStart(6)}%  ${p.label ?? `class ${p.index}`}`);
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
