/** A model repository for the serve tests: LeNet (random weights, seed 7) on the cpu backend, in a temp folder. */
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Builder } from '../../lib/builder/builder';
import { Network } from '../../lib/network';
import type { Engine } from '../../lib/runtime/engine';

/** The package root (dist/test/support -> root). */
export const ROOT = path.resolve(__dirname, '..', '..', '..');
/** LeNet's deploy prototxt. */
export const LENET = path.join(ROOT, 'models', 'lenet.prototxt');
/** The seed of the random weights every served LeNet uses. */
export const SEED = 7;

/** config.pbtxt of a LeNet model: `extra` is added inside. */
export function lenetConfig(name: string, extra = ''): string {
  return [
    `name: "${name}"`,
    'max_batch_size: 8',
    'input [ { name: "data" data_type: TYPE_FP32 format: FORMAT_NCHW dims: [ 1, 28, 28 ] } ]',
    'output [ { name: "prob" data_type: TYPE_FP32 dims: [ 10 ] } ]',
    `parameters { key: "prototxt" value { string_value: "${LENET}" } }`,
    `parameters { key: "seed" value { string_value: "${SEED}" } }`,
    'parameters { key: "backend" value { string_value: "cpu" } }',
    extra,
  ].join('\n');
}

/** Writes `<repo>/<name>/config.pbtxt` (and labels.txt when given). */
export async function addModel(repo: string, name: string, config: string, labels?: readonly string[]): Promise<void> {
  await fsp.mkdir(path.join(repo, name, '1'), { recursive: true });
  await fsp.writeFile(path.join(repo, name, 'config.pbtxt'), config);
  if (labels !== undefined) await fsp.writeFile(path.join(repo, name, 'labels.txt'), `${labels.join('\n')}\n`);
}

/** A fresh temp folder. */
export function tempRepo(): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), 'trtn-serve-'));
}

/** The engine a served LeNet runs, built directly (the oracle of the serve tests). */
export async function directLenet(maxBatchSize = 8, input?: { format: 'uint8-nhwc'; scale: number }): Promise<Engine> {
  const net = await Network.fromCaffe(LENET, { seed: SEED });
  return new Builder({ backend: 'cpu' }).build(net, { maxBatchSize, ...(input !== undefined ? { input } : {}) });
}
