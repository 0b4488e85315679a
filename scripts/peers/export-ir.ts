/**
 * Exports a network, as our importer sees it, for the PyTorch peer (scripts/peers/torch_peer.py):
 * a JSON file with the inputs, the outputs and every layer of the IR in execution order (type,
 * input and output tensor names, attributes exactly as lib/network has them, blob shapes, input
 * and output shapes), and optionally the weights in a flat binary file, so that the peer computes
 * the same function as our engines (the same random weights, or those of a .caffemodel).
 *
 *   node dist/scripts/peers/export-ir.js <deploy.prototxt> [-o net.json] [--batch N]
 *        [--weights net.bin] [--caffemodel trained.caffemodel] [--seed N] [--weight-init he|filler]
 *
 * `--weights` names the binary file to WRITE: every blob of every layer, little-endian float32,
 * one after the other in the order of the JSON's `weights.blobs` (each with its byte offset and
 * shape), with the file's size and SHA-256 in the JSON. The values are the network's weights: from
 * `--caffemodel` when given, else our seeded random weights (`--seed`, default 1; docs/weights.md).
 * Without `-o` the JSON goes to stdout.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Network, volume, type AnyLayer, type Shape } from '../../lib/network';
import type { WeightInit } from '../../lib/network/weights';

/** Format tag and version of the exported JSON; the peer refuses others. */
export const PEER_IR_FORMAT = 'tensorrt-node-peer-ir';
export const PEER_IR_VERSION = 1;

/** One layer of the exported IR. */
export interface PeerLayer {
  readonly name: string;
  readonly type: AnyLayer['type'];
  /** IR tensor names read (unique names: see docs/network.md, "Tensor names"). */
  readonly inputs: readonly string[];
  /** IR tensor names written. */
  readonly outputs: readonly string[];
  /** The IR's attributes, unchanged (lib/network/types.ts, LayerAttrsMap). */
  readonly attrs: AnyLayer['attrs'];
  /** Shapes of the learned blobs, in Caffe's order. */
  readonly blobs: readonly Shape[];
  readonly inputShapes: readonly Shape[];
  readonly outputShapes: readonly Shape[];
  /** MACs for the exported batch. */
  readonly macs: number;
}

/** Where one blob lies in the weights file. */
export interface PeerBlob {
  readonly layer: string;
  readonly index: number;
  readonly shape: Shape;
  /** Byte offset in the file. */
  readonly offset: number;
}

/** The exported network. */
export interface PeerIR {
  readonly format: typeof PEER_IR_FORMAT;
  readonly version: number;
  readonly name: string;
  readonly file: string;
  readonly batchSize: number;
  readonly inputs: ReadonlyArray<{ name: string; caffeName: string; shape: Shape }>;
  readonly outputs: ReadonlyArray<{ name: string; caffeName: string; shape: Shape }>;
  readonly layers: readonly PeerLayer[];
  readonly totals: { readonly macs: number; readonly params: number };
  readonly notes: readonly string[];
  readonly weights?: {
    readonly file: string;
    readonly source: 'caffemodel' | 'random';
    readonly caffemodel?: string;
    readonly seed?: number;
    readonly init?: WeightInit;
    readonly bytes: number;
    readonly sha256: string;
    readonly blobs: readonly PeerBlob[];
  };
}

/** Options of exportIR. */
export interface ExportOptions {
  /** Write the weights to this file and describe them in the JSON. */
  readonly weightsFile?: string;
  /** Seed and scheme of the random weights (recorded in the JSON; the network already has them). */
  readonly seed?: number;
  readonly weightInit?: WeightInit;
  /** The caffemodel the network's weights came from (recorded in the JSON). */
  readonly caffemodel?: string;
}

function shapeOf(net: Network, tensor: string): Shape {
  const t = net.tensors.get(tensor);
  if (t === undefined) throw new Error(`export-ir: tensor '${tensor}' is not in the network`);
  return [...t.shape];
}

/** The JSON description of `net` (and, with `weightsFile`, its weights written to that file). */
export async function exportIR(net: Network, options: ExportOptions = {}): Promise<PeerIR> {
  const layers: PeerLayer[] = net.layers.map((l) => ({
    name: l.name,
    type: l.type,
    inputs: [...l.inputs],
    outputs: [...l.outputs],
    attrs: l.attrs,
    blobs: l.blobs.map((s) => [...s]),
    inputShapes: l.inputs.map((t) => shapeOf(net, t)),
    outputShapes: l.outputs.map((t) => shapeOf(net, t)),
    macs: l.macs,
  }));
  const info = (t: { name: string; shape: Shape }) => ({
    name: t.name,
    caffeName: net.tensors.get(t.name)?.caffeName ?? t.name,
    shape: [...t.shape],
  });
  const summary = net.summary();
  const ir: PeerIR = {
    format: PEER_IR_FORMAT,
    version: PEER_IR_VERSION,
    name: net.name,
    file: net.file,
    batchSize: net.batchSize,
    inputs: net.inputs.map(info),
    outputs: net.outputs.map(info),
    layers,
    totals: { macs: summary.totals.macs, params: summary.totals.params },
    notes: [...net.notes],
  };
  if (options.weightsFile === undefined) return ir;
  return { ...ir, weights: await writeWeights(net, options.weightsFile, options) };
}

/** Writes every blob of `net` to `file` (float32, little-endian, in layer order) and describes it. */
async function writeWeights(net: Network, file: string, options: ExportOptions): Promise<NonNullable<PeerIR['weights']>> {
  if (new Uint8Array(new Float32Array([1]).buffer)[3] !== 0x3f) throw new Error('export-ir: needs a little-endian machine');
  const blobs: PeerBlob[] = [];
  const names: string[] = [];
  let offset = 0;
  for (const l of net.layers) {
    l.blobs.forEach((shape, index) => {
      blobs.push({ layer: l.name, index, shape: [...shape], offset });
      names.push(`${l.name}/${index}`);
      offset += volume(shape) * 4;
    });
  }
  const hash = createHash('sha256');
  const fd = await fs.promises.open(file, 'w');
  try {
    // A layer at a time, so that huge random networks are not all generated at once.
    let at = 0;
    while (at < names.length) {
      const layer = blobs[at].layer;
      let end = at;
      while (end < names.length && blobs[end].layer === layer) end++;
      const data = await net.loadWeights(names.slice(at, end));
      data.forEach((d, i) => {
        if (d.length !== volume(blobs[at + i].shape)) {
          throw new Error(
            `export-ir: blob ${names[at + i]} has ${d.length} values, its shape [${blobs[at + i].shape.join(', ')}] needs ${volume(blobs[at + i].shape)}`,
          );
        }
      });
      for (const d of data) {
        const bytes = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
        hash.update(bytes);
        await fd.write(bytes);
      }
      at = end;
    }
  } finally {
    await fd.close();
  }
  return {
    file: path.basename(file),
    source: net.weightsSource,
    ...(net.weightsSource === 'caffemodel'
      ? { caffemodel: options.caffemodel }
      : { seed: options.seed ?? 1, init: options.weightInit ?? 'he' }),
    bytes: offset,
    sha256: hash.digest('hex'),
    blobs,
  };
}

/** The JSON with one line per field, layer and blob: readable, and diffs stay small. */
export function formatIR(ir: PeerIR): string {
  const { layers, weights, ...head } = ir;
  const field = (indent: string, key: string, value: unknown) => `${indent}${JSON.stringify(key)}: ${JSON.stringify(value)}`;
  const list = (indent: string, key: string, items: readonly unknown[]) =>
    `${indent}${JSON.stringify(key)}: [\n${items.map((x) => `${indent} ${JSON.stringify(x)}`).join(',\n')}\n${indent}]`;
  const parts = Object.entries(head).map(([k, v]) => field(' ', k, v));
  parts.push(list(' ', 'layers', layers));
  if (weights !== undefined) {
    const { blobs, ...rest } = weights;
    const inner = [...Object.entries(rest).map(([k, v]) => field('  ', k, v)), list('  ', 'blobs', blobs)];
    parts.push(` "weights": {\n${inner.join(',\n')}\n }`);
  }
  return `{\n${parts.join(',\n')}\n}\n`;
}

function usage(): string {
  return (
    'usage: node dist/scripts/peers/export-ir.js <deploy.prototxt> [-o net.json] [--batch N] ' +
    '[--weights net.bin] [--caffemodel trained.caffemodel] [--seed N] [--weight-init he|filler]'
  );
}

/** Parses the command line: flags with one value each, one positional prototxt. */
function parseArgs(argv: readonly string[]): { prototxt: string; values: Map<string, string> } {
  const known = new Set(['-o', '--out', '--batch', '--weights', '--caffemodel', '--seed', '--weight-init']);
  const values = new Map<string, string>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') {
      console.log(usage());
      process.exit(0);
    }
    if (a.startsWith('-')) {
      if (!known.has(a)) throw new Error(`export-ir: unknown option ${a}\n${usage()}`);
      if (i + 1 >= argv.length) throw new Error(`export-ir: ${a} needs a value\n${usage()}`);
      values.set(a === '--out' ? '-o' : a, argv[++i]);
    } else {
      positionals.push(a);
    }
  }
  if (positionals.length !== 1) throw new Error(`export-ir: give one deploy.prototxt\n${usage()}`);
  return { prototxt: positionals[0], values };
}

function intValue(values: Map<string, string>, flag: string, lo: number, hi: number): number | undefined {
  const v = values.get(flag);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < lo || n > hi) throw new Error(`export-ir: ${flag} takes an integer in [${lo}, ${hi}], got '${v}'`);
  return n;
}

async function main(argv: readonly string[]): Promise<void> {
  const { prototxt, values } = parseArgs(argv);
  const seed = intValue(values, '--seed', 0, 0xffffffff) ?? 1;
  const batchSize = intValue(values, '--batch', 1, 1 << 20);
  const weightInit = (values.get('--weight-init') ?? 'he') as WeightInit;
  if (weightInit !== 'he' && weightInit !== 'filler') throw new Error(`export-ir: --weight-init is he or filler, got '${weightInit}'`);
  const caffemodel = values.get('--caffemodel');
  const net = await Network.fromCaffe(prototxt, { weights: caffemodel, seed, weightInit, batchSize });
  const ir = await exportIR(net, { weightsFile: values.get('--weights'), seed, weightInit, caffemodel });
  const text = formatIR(ir);
  const out = values.get('-o');
  if (out === undefined) {
    process.stdout.write(text);
  } else {
    await fs.promises.writeFile(out, text);
    const w =
      ir.weights === undefined
        ? ''
        : `, weights ${values.get('--weights')} (${(ir.weights.bytes / 1e6).toFixed(1)} MB, ${ir.weights.source})`;
    console.error(`export-ir: ${ir.name || prototxt}: ${ir.layers.length} layers -> ${out}${w}`);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: Error) => {
    console.error(err.message);
    process.exitCode = 1;
  });
}
