// examples/classify-image: the example run on images generated here (sharp writes them), on the
// cpu backend: held-back MNIST digits as JPEGs through the trained LeNet with a uint8 input, and
// an RGB JPEG through GoogLeNet (random weights, no label list: indices, and it says so).
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { Builder, Network } from '../../lib';
import { mnistSplit } from '../../lib/calibration/data';
import { classify, main } from '../../examples/classify-image/classify';

const ROOT = path.resolve(__dirname, '../../..');

describe('examples/classify-image', function () {
  this.timeout(120000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-classify-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads the digit of MNIST JPEGs (white on black, 56x56) with the trained LeNet', async () => {
    const { test } = mnistSplit();
    // Of each digit, the first held-back sample LeNet reads with confidence (p > 0.99) from its
    // exact pixels: JPEG and resizing blur the image, so a doubtful one could go either way.
    const net = await Network.fromCaffe(path.join(ROOT, 'models', 'lenet.prototxt'), {
      weights: path.join(ROOT, 'models', 'lenet_mnist.caffemodel'),
    });
    const engine = await new Builder({ backend: 'cpu' }).build(net, { maxBatchSize: test.count });
    const ctx = engine.createContext();
    const prob = (await ctx.infer({ data: test.images })).prob as Float32Array;
    ctx.dispose();
    engine.dispose();
    const sure = (s: number) => prob[s * 10 + test.labels[s]] > 0.99;
    const firsts = [...Array(10).keys()].map((d) => test.labels.findIndex((l, s) => l === d && sure(s)));
    assert.ok(firsts.every((s) => s >= 0));
    for (const s of firsts) {
      const bytes = Buffer.from(Uint8Array.from(test.images.subarray(s * 784, (s + 1) * 784), (v) => v * 256));
      const file = path.join(dir, `digit-${s}.jpg`);
      await sharp(bytes, { raw: { width: 28, height: 28, channels: 1 } })
        .resize(56, 56)
        .jpeg({ quality: 95 })
        .toFile(file);
      const { predictions, notes } = await classify(file, { backend: 'cpu' });
      assert.equal(predictions.length, 5);
      assert.equal(predictions[0].label, String(test.labels[s]), `${file}: ${JSON.stringify(predictions)}`);
      assert.match(notes.join('\n'), /cpu backend, fp32; input 'data' takes uint8 \[28, 28, 1\]/);
    }
  });

  it('GoogLeNet on an RGB JPEG: 256x256 images cropped to 224 on the device; without labels it prints indices and says so', async () => {
    const rgb = Buffer.alloc(300 * 200 * 3);
    for (let i = 0; i < 300 * 200; i++) rgb.set([i % 256, (i >> 8) % 256, 128], i * 3);
    const file = path.join(dir, 'gradient.jpg');
    await sharp(rgb, { raw: { width: 300, height: 200, channels: 3 } })
      .jpeg()
      .toFile(file);
    const lines: string[] = [];
    assert.equal(await main([file, '--model', 'googlenet', '--backend', 'cpu', '--top', '3'], (s) => lines.push(s)), 0);
    assert.match(lines.join('\n'), /# no --weights: the network has random weights/);
    assert.match(lines.join('\n'), /# no label list \(--labels synset_words\.txt\): classes are printed as indices/);
    assert.match(lines.join('\n'), /input 'data' takes uint8 \[256, 256, 3\]/);
    const rows = lines.filter((l) => !l.startsWith('#'));
    assert.equal(rows.length, 3);
    for (const r of rows) assert.match(r, /^ *\d+\.\d\d% {2}class \d+$/);
    const labels = path.join(dir, 'labels.txt');
    fs.writeFileSync(labels, Array.from({ length: 1000 }, (_, i) => `n${String(i).padStart(8, '0')} thing ${i}, other name`).join('\n'));
    const named = await classify(file, { model: 'googlenet', backend: 'cpu', labels, top: 1 });
    assert.equal(named.predictions[0].label, `thing ${named.predictions[0].index}, other name`);
  });

  it('prints its usage without an image', async () => {
    const lines: string[] = [];
    assert.equal(await main([], (s) => lines.push(s)), 2);
    assert.match(lines[0], /^usage: node dist\/examples\/classify-image\/classify\.js <image>/);
  });
});
