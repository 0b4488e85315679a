/**
 * Proves that the PyTorch peer computes the same network as our engine: for each model, the same
 * random weights (seeded) and the same random batch go through our cpu backend (fp32, with layer
 * fusion, as engines are built by default) and through scripts/peers/torch_peer.py `check`
 * (PyTorch on the CPU, with and without folding BatchNorm / Scale / Bias into the convolutions, as
 * `bench` runs it), and every output is compared. Each model is checked twice: whole (its Softmax
 * output, with top-1 agreement) and without its final Softmax (the logits, where differences are
 * not squashed). scripts/peers/layer-zoo.prototxt covers every other layer type the peer runs.
 *
 *   node dist/scripts/peers/check-peer.js [--python /usr/bin/python3] [--models lenet,alexnet,...|all]
 *        [--batch 2] [--seed 7] [--device cpu|cuda] [--json results/peers/check-<date>.json] [--keep dir]
 *
 * Exit code 0 when every comparison is within its bound (max |ours - peer| / max |ours| below
 * 1e-4, and every top-1 class equal), 1 otherwise.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Builder, Network } from '../../lib';
import { readNpy, writeNpy } from '../../lib/npy';
import { uniformData } from '../../lib/random_data';
import { exportIR, formatIR } from './export-ir';

const ROOT = path.resolve(__dirname, '../../..');
/** The peer script, in the source tree. */
export const PEER = path.join(ROOT, 'scripts', 'peers', 'torch_peer.py');
const DEFAULT_MODELS = ['lenet', 'alexnet', 'googlenet', 'squeezenet1.1', 'resnet50', 'layer-zoo'];
const ALL_MODELS = [...DEFAULT_MODELS, 'caffenet', 'vgg16'];
/** Bound on max |ours - peer| / max |ours| per output (float32, different summation orders). */
export const BOUND = 1e-4;

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

/** The prototxt of a model name (models/<name>.prototxt, or the layer zoo). */
export function modelFile(model: string): string {
  return model === 'layer-zoo' ? path.join(ROOT, 'scripts', 'peers', 'layer-zoo.prototxt') : path.join(ROOT, 'models', `${model}.prototxt`);
}

/** The prototxt without its last layer when that is a Softmax (so its input, the logits, is the output). */
export function withoutFinalSoftmax(text: string): string | undefined {
  const at = text.lastIndexOf('layer {');
  return at >= 0 && /type:\s*"Softmax"/.test(text.slice(at)) ? text.slice(0, at) : undefined;
}

/** How one output of the peer compares with ours. */
export interface Comparison {
  readonly model: string;
  readonly variant: 'whole' | 'logits';
  readonly fold: boolean;
  readonly output: string;
  readonly shape: readonly number[];
  readonly maxAbsError: number;
  /** max |ours - peer| / max |ours|. */
  readonly maxRelError: number;
  /** ||ours - peer|| / ||ours||. */
  readonly relL2Error: number;
  /** Images whose top-1 class agrees (outputs of [N, K]), or null. */
  readonly top1Agree: number | null;
  readonly images: number;
  readonly pass: boolean;
}

function compare(
  ours: Float32Array,
  peer: Float32Array,
  shape: readonly number[],
): Omit<Comparison, 'model' | 'variant' | 'fold' | 'output' | 'pass'> {
  if (ours.length !== peer.length) throw new Error(`sizes differ: ours ${ours.length}, peer ${peer.length}`);
  let maxAbs = 0;
  let maxRef = 0;
  let num = 0;
  let den = 0;
  for (let i = 0; i < ours.length; i++) {
    const a = ours[i];
    const b = peer[i];
    // Identical values (infinities, Caffe's -FLT_MAX of an empty MAX window) count as equal.
    const d = a === b ? 0 : Math.abs(a - b);
    maxAbs = Math.max(maxAbs, Number.isNaN(d) ? Infinity : d);
    if (Number.isFinite(a)) maxRef = Math.max(maxRef, Math.abs(a));
    num += a === b ? 0 : (a - b) * (a - b);
    den += Number.isFinite(a) ? a * a : 0;
  }
  // Top-1 for class scores: [N, K] or [N, K, 1, 1].
  let top1: number | null = null;
  if (shape.length >= 2 && shape.slice(2).every((d) => d === 1)) {
    const [n, k] = shape;
    top1 = 0;
    for (let i = 0; i < n; i++) {
      let ia = 0;
      let ib = 0;
      for (let j = 1; j < k; j++) {
        if (ours[i * k + j] > ours[i * k + ia]) ia = j;
        if (peer[i * k + j] > peer[i * k + ib]) ib = j;
      }
      if (ia === ib) top1++;
    }
  }
  return {
    shape,
    maxAbsError: maxAbs,
    maxRelError: maxAbs / Math.max(maxRef, 1e-30),
    relL2Error: Math.sqrt(num / Math.max(den, 1e-300)),
    top1Agree: top1,
    images: shape[0],
  };
}

/** Runs torch_peer.py check; throws with its stderr on failure. */
/** The first of `candidates` that runs Python with torch importable, or undefined. */
export function findPython(candidates: readonly (string | undefined)[]): string | undefined {
  for (const c of candidates) {
    if (c === undefined || c === '') continue;
    const r = spawnSync(c, ['-c', 'import torch'], { encoding: 'utf8' });
    if (r.status === 0) return c;
  }
  return undefined;
}

function runPeer(python: string, args: string[]): void {
  const r = spawnSync(python, [PEER, 'check', ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.error !== undefined) throw new Error(`cannot run ${python}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`torch_peer.py check failed (exit ${r.status}):\n${r.stderr}`);
}

/**
 * Runs one network text on our cpu backend and on the peer (plain and folded) with the same
 * seeded weights and inputs; files go to `opts.dir`.
 */
export async function checkVariant(
  model: string,
  variant: 'whole' | 'logits',
  text: string,
  opts: {
    python: string;
    batch: number;
    seed: number;
    device: string;
    dir: string;
  },
): Promise<Comparison[]> {
  const tag = `${model}-${variant}`;
  const net = await Network.parse(text, { seed: opts.seed, batchSize: opts.batch, file: path.relative(ROOT, modelFile(model)) });
  const ir = await exportIR(net, { weightsFile: path.join(opts.dir, `${tag}.bin`), seed: opts.seed });
  const irFile = path.join(opts.dir, `${tag}.json`);
  await fs.promises.writeFile(irFile, formatIR(ir));
  const inputs: Record<string, Float32Array> = {};
  const inputArgs: string[] = [];
  for (const [k, t] of net.inputs.entries()) {
    inputs[t.name] = uniformData(
      t.shape.reduce((a, b) => a * b, 1),
      opts.seed * 1000 + k,
    );
    const file = path.join(opts.dir, `${tag}-input-${k}.npy`);
    await writeNpy(file, t.shape, inputs[t.name]);
    inputArgs.push('--input', `${t.name}=${file}`);
  }
  const engine = await new Builder({ backend: 'cpu' }).build(net, { precision: 'fp32', maxBatchSize: opts.batch });
  const ctx = engine.createContext();
  const ours = await ctx.infer(inputs);
  ctx.dispose();
  engine.dispose();
  const rows: Comparison[] = [];
  for (const fold of [false, true]) {
    const outDir = path.join(opts.dir, `${tag}-peer${fold ? '-fold' : ''}`);
    runPeer(opts.python, [
      irFile,
      '--weights',
      path.join(opts.dir, `${tag}.bin`),
      ...inputArgs,
      '--output',
      `${outDir}/`,
      '--device',
      opts.device,
      ...(fold ? ['--fold'] : []),
    ]);
    for (const o of net.outputs) {
      const peer = await readNpy(path.join(outDir, `${o.name.replace(/[/\\]/g, '_')}.npy`));
      if (peer.shape.join(',') !== o.shape.join(',')) {
        throw new Error(`${tag} ${o.name}: the peer's shape [${peer.shape.join(', ')}] is not ours [${o.shape.join(', ')}]`);
      }
      const c = compare(ours[o.name], peer.data, o.shape);
      const pass = c.maxRelError <= BOUND && (c.top1Agree === null || c.top1Agree === c.images);
      rows.push({ model, variant, fold, output: o.name, ...c, pass });
    }
  }
  return rows;
}

function fmtRow(c: Comparison): string {
  const top1 = c.top1Agree === null ? '-' : `${c.top1Agree}/${c.images}`;
  return (
    `${c.model.padEnd(14)} ${c.variant.padEnd(7)} ${(c.fold ? 'fold' : 'plain').padEnd(6)} ${c.output.slice(0, 16).padEnd(16)} ` +
    `${c.maxAbsError.toExponential(2).padStart(9)} ${c.maxRelError.toExponential(2).padStart(9)} ${c.relL2Error.toExponential(2).padStart(9)} ` +
    `${top1.padStart(5)}  ${c.pass ? 'ok' : 'FAIL'}`
  );
}

async function main(): Promise<number> {
  const python = option('python', '') || findPython([process.env.PYTHON, 'python3', '/usr/bin/python3']);
  if (python === undefined) {
    console.error('check-peer: no Python with torch found (tried $PYTHON, python3, /usr/bin/python3); give --python');
    return 1;
  }
  const modelsArg = option('models', DEFAULT_MODELS.join(','));
  const models = modelsArg === 'all' ? ALL_MODELS : modelsArg.split(',').filter((m) => m !== '');
  const batch = Number(option('batch', '2'));
  const seed = Number(option('seed', '7'));
  const device = option('device', 'cpu');
  const jsonOut = option('json', '');
  const keep = option('keep', '');
  const dir = keep !== '' ? keep : fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-peer-check-'));
  fs.mkdirSync(dir, { recursive: true });

  const selftest = spawnSync(python, [PEER, 'selftest', '--device', device], { encoding: 'utf8' });
  if (selftest.status !== 0) {
    console.error(`torch_peer.py selftest failed:\n${selftest.stdout}${selftest.stderr}`);
    return 1;
  }
  console.log(selftest.stdout.trim());
  const version = spawnSync(python, ['-c', 'import torch, platform; print(torch.__version__, platform.python_version())'], {
    encoding: 'utf8',
  });
  const [torchVersion, pythonVersion] = version.stdout.trim().split(' ');
  console.log(
    `peer: ${python} (Python ${pythonVersion}, torch ${torchVersion}, ${device}); ours: cpu backend fp32; batch ${batch}, seed ${seed}`,
  );
  console.log(
    `${'model'.padEnd(14)} ${'variant'.padEnd(7)} ${'peer'.padEnd(6)} ${'output'.padEnd(16)} ${'max abs'.padStart(9)} ${'max rel'.padStart(9)} ${'rel L2'.padStart(9)} ${'top-1'.padStart(5)}`,
  );
  const rows: Comparison[] = [];
  for (const model of models) {
    const text = await fs.promises.readFile(modelFile(model), 'utf8');
    const variants: Array<['whole' | 'logits', string]> = [['whole', text]];
    const logits = withoutFinalSoftmax(text);
    if (logits !== undefined) variants.push(['logits', logits]);
    for (const [variant, t] of variants) {
      const t0 = Date.now();
      const got = await checkVariant(model, variant, t, { python, batch, seed, device, dir });
      for (const c of got) console.log(fmtRow(c));
      if (process.env.CHECK_PEER_VERBOSE) console.log(`  (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      rows.push(...got);
    }
  }
  const failed = rows.filter((r) => !r.pass);
  console.log(
    failed.length === 0
      ? `all ${rows.length} comparisons within ${BOUND} (max |ours - peer| / max |ours|) with every top-1 equal`
      : `${failed.length} of ${rows.length} comparisons FAILED`,
  );
  if (jsonOut !== '') {
    const record = {
      what: 'PyTorch peer (scripts/peers/torch_peer.py check) against our cpu backend, same weights and inputs',
      date: new Date().toISOString(),
      commit: spawnSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim() || null,
      peer: { python: pythonVersion, torch: torchVersion, device },
      ours: 'cpu backend, fp32, optimize (BatchNorm / Scale folding, ReLU fusion)',
      batch,
      seed,
      bound: BOUND,
      selftest: selftest.stdout.trim(),
      rows,
    };
    await fs.promises.mkdir(path.dirname(jsonOut), { recursive: true });
    await fs.promises.writeFile(jsonOut, `${JSON.stringify(record, null, 1)}\n`);
    console.log(`wrote ${jsonOut}`);
  }
  if (keep === '') fs.rmSync(dir, { recursive: true, force: true });
  return failed.length === 0 ? 0 : 1;
}

if (require.main === module) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: Error) => {
      console.error(err.stack ?? err.message);
      process.exitCode = 1;
    },
  );
}
