/**
 * SSD networks split for testing: the heads (everything before DetectionOutput, whose outputs are
 * the loc, conf and prior tensors) and a detector network (three inputs of those shapes and the
 * DetectionOutput layer alone). A whole network's detections can then be checked against
 * DetectionOutput computed on exactly the values the engine's own heads produced, so nearly tied
 * scores (equal in float32, apart in float64) cannot reorder the comparison.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Network } from '../../lib';

export const ROOT = path.resolve(__dirname, '../../..');

/** The text of models/<name>.prototxt, with `replace` pairs applied. */
export function modelText(name: string, replace: ReadonlyArray<readonly [string | RegExp, string]> = []): string {
  let text = fs.readFileSync(path.join(ROOT, 'models', `${name}.prototxt`), 'utf8');
  for (const [from, to] of replace) text = text.replace(from, to);
  return text;
}

/** The network without its last layer (DetectionOutput), and that layer's text and bottoms. */
export function splitDetection(text: string): { heads: string; layer: string; bottoms: string[] } {
  const at = text.lastIndexOf('layer {');
  const layer = text.slice(at);
  if (!/type: "DetectionOutput"/.test(layer)) throw new Error('the last layer is not a DetectionOutput');
  return { heads: text.slice(0, at), layer, bottoms: [...layer.matchAll(/bottom: "([^"]+)"/g)].map((m) => m[1]) };
}

/** A network of one Input layer (the bottoms, with the shapes the heads give them) and the DetectionOutput layer. */
export async function detectorOf(heads: Network, layer: string, bottoms: readonly string[]): Promise<Network> {
  const shapes = bottoms.map((b) => heads.tensors.get(b)?.shape);
  if (shapes.some((s) => s === undefined)) throw new Error(`the heads lack one of ${bottoms.join(', ')}`);
  const tops = bottoms.map((b) => `top: "${b}"`).join(' ');
  const dims = shapes.map((s) => `shape { ${(s as readonly number[]).map((d) => `dim: ${d}`).join(' ')} }`).join(' ');
  return Network.parse(`layer { name: "in" type: "Input" ${tops} input_param { ${dims} } }\n${layer}`, { file: 'detector.prototxt' });
}

/** Rows of a detection output whose label is not -1, per image: [image, label, score, xmin, ymin, xmax, ymax]. */
export function detections(out: ArrayLike<number>, images: number): number[][][] {
  const rows = out.length / images / 7;
  return Array.from({ length: images }, (_, n) => {
    const kept: number[][] = [];
    for (let r = 0; r < rows; r++) {
      const at = (n * rows + r) * 7;
      if (out[at + 1] !== -1) kept.push(Array.from({ length: 7 }, (_, k) => out[at + k]));
    }
    return kept;
  });
}
