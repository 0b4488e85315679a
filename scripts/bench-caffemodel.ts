/**
 * Benchmark: reading a large .caffemodel. Writes VGG16's weights (random, 553 MB) with our writer,
 * then reads them back with readCaffemodel and reports MB/s and the memory the weights occupy
 * (the reader keeps one copy: each blob read from disk straight into its Float32Array).
 *   node --expose-gc dist/scripts/bench-caffemodel.js [--model models/vgg16.prototxt] [--keep file] [--json out.json]
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { caffeSchema, Message, readCaffemodel, writeCaffemodel } from '../lib/caffe';
import { Network } from '../lib/network';

const ROOT = path.resolve(__dirname, '../..');

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function main(): Promise<void> {
  const model = option('model') ?? path.join(ROOT, 'models', 'vgg16.prototxt');
  const keep = option('keep');
  const file = keep ?? path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-bench-')), 'model.caffemodel');
  if (!fs.existsSync(file)) {
    const net = await Network.fromCaffe(model);
    const layers = net.layers
      .filter((l) => l.blobs.length > 0)
      .map((l) => {
        const param = new Message(caffeSchema, caffeSchema.message('LayerParameter'));
        param.set('name', l.name);
        param.set('type', l.type);
        return { param, blobs: net.weights(l.name).map((data, i) => ({ shape: l.blobs[i], data })) };
      });
    const t = Date.now();
    await writeCaffemodel(file, new Message(caffeSchema, caffeSchema.message('NetParameter')), layers);
    console.log(`wrote ${file} (${(fs.statSync(file).size / 1e6).toFixed(1)} MB) in ${Date.now() - t} ms`);
  }
  const size = fs.statSync(file).size;
  const runs: Array<{ ms: number; mbPerS: number; arrayBuffersMB: number; rssMB: number }> = [];
  for (let i = 0; i < 3; i++) {
    gc();
    const before = process.memoryUsage();
    const t0 = process.hrtime.bigint();
    const contents = await readCaffemodel(file);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const after = process.memoryUsage();
    const floats = contents.layers.reduce((n, l) => n + l.blobs.reduce((m, b) => m + b.data.length, 0), 0);
    runs.push({
      ms,
      mbPerS: size / 1e6 / (ms / 1e3),
      arrayBuffersMB: (after.arrayBuffers - before.arrayBuffers) / 1e6,
      rssMB: after.rss / 1e6,
    });
    console.log(
      `read ${contents.layers.length} layers, ${floats} floats (${((floats * 4) / 1e6).toFixed(1)} MB) in ${ms.toFixed(0)} ms: ` +
        `${runs[i].mbPerS.toFixed(0)} MB/s; typed-array memory +${runs[i].arrayBuffersMB.toFixed(1)} MB, rss ${runs[i].rssMB.toFixed(0)} MB`,
    );
  }
  const jsonOut = option('json');
  if (jsonOut) {
    fs.writeFileSync(
      jsonOut,
      `${JSON.stringify(
        {
          benchmark: 'caffemodel read',
          model: path.relative(ROOT, model),
          bytes: size,
          date: new Date().toISOString(),
          node: process.version,
          cpu: os.cpus()[0]?.model,
          cores: os.cpus().length,
          runs,
          note: 'runs 2 and 3 read from the page cache; run 1 may too when the file was just written',
        },
        null,
        2,
      )}\n`,
    );
  }
  if (keep === undefined) fs.rmSync(path.dirname(file), { recursive: true, force: true });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
