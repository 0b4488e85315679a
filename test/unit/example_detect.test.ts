// examples/detect: the example end to end on the cpu backend with random weights (the face
// detector's two classes give random scores near 0.5, so boxes come out), on a PNG written here:
// detections parsed from the engine's rows, boxes inside the image, a PNG of the image's size with
// the boxes drawn (pixels changed), and the command line's output.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { detect, main } from '../../examples/detect/detect';

describe('examples/detect', function () {
  this.timeout(120000);
  let dir: string;
  let image: string;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-detect-'));
    image = path.join(dir, 'scene.png');
    const pixels = Buffer.alloc(320 * 240 * 3);
    for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7919) % 251;
    await sharp(pixels, { raw: { width: 320, height: 240, channels: 3 } })
      .png()
      .toFile(image);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('detects with the face model (random weights), keeps boxes inside the image and draws them', async () => {
    const output = path.join(dir, 'boxes.png');
    const { detections, notes } = await detect(image, { model: 'face', threshold: 0, output, backend: 'cpu' });
    assert.ok(detections.length > 0 && detections.length <= 200, `${detections.length} detections`);
    for (const d of detections) {
      assert.equal(d.label, 'face');
      assert.ok(d.box.left >= 0 && d.box.right <= 320 && d.box.top >= 0 && d.box.bottom <= 240, JSON.stringify(d));
      assert.ok(d.box.left <= d.box.right && d.box.top <= d.box.bottom);
    }
    assert.match(notes.join('\n'), /random weights/);
    const drawn = await sharp(output).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([drawn.info.width, drawn.info.height], [320, 240]);
    const before = await sharp(image).raw().toBuffer();
    let changed = 0;
    for (let i = 0; i < before.length; i++) if (before[i] !== drawn.data[i]) changed++;
    assert.ok(changed > 100, `${changed} bytes changed by the boxes`);
  });

  it('a threshold above every score keeps nothing; the command line prints the count and usage', async () => {
    const { detections } = await detect(image, { model: 'face', threshold: 1.01, backend: 'cpu' });
    assert.equal(detections.length, 0);
    const lines: string[] = [];
    assert.equal(
      await main([image, '--model', 'face', '--threshold', '0.3', '--backend', 'cpu', '-o', path.join(dir, 'cli.png')], (s) =>
        lines.push(s),
      ),
      0,
    );
    assert.match(lines.join('\n'), /cpu backend, fp32/);
    assert.match(lines.join('\n'), /\d+ detection\(s\)/);
    assert.ok(fs.existsSync(path.join(dir, 'cli.png')));
    const usage: string[] = [];
    assert.equal(await main([], (s) => usage.push(s)), 2);
    assert.match(usage[0], /usage: node dist\/examples\/detect\/detect.js <image>/);
  });
});
