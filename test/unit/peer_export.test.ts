// scripts/peers: the IR export for the PyTorch peer, and (where a Python with torch is found) the
// peer itself against the cpu backend on LeNet and the layer zoo. scripts/peers/check-peer.js runs
// the whole model list.
import { strict as assert } from 'assert';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Network } from '../../lib';
import { exportIR, formatIR, PEER_IR_FORMAT } from '../../scripts/peers/export-ir';
import { checkVariant, findPython, modelFile, withoutFinalSoftmax } from '../../scripts/peers/check-peer';

const ROOT = path.resolve(__dirname, '../../..');

describe('peers: export-ir', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-peer-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes every layer in execution order with the IR attributes, shapes and the weights, blob by blob', async () => {
    const net = await Network.fromCaffe(path.join(ROOT, 'models', 'googlenet.prototxt'), { seed: 5, batchSize: 3 });
    const file = path.join(dir, 'googlenet.bin');
    const ir = await exportIR(net, { weightsFile: file, seed: 5 });
    assert.equal(ir.format, PEER_IR_FORMAT);
    assert.deepEqual(ir.inputs, [{ name: 'data', caffeName: 'data', shape: [3, 3, 224, 224] }]);
    assert.deepEqual(
      ir.layers.map((l) => l.name),
      net.layers.map((l) => l.name),
    );
    const conv = ir.layers[1];
    assert.deepEqual(conv.attrs, net.layers[1].attrs);
    assert.deepEqual(conv.outputShapes, [[3, 64, 112, 112]]);
    // Formatting keeps the values.
    assert.deepEqual(JSON.parse(formatIR(ir)), JSON.parse(JSON.stringify(ir)));
    const bytes = fs.readFileSync(file);
    const weights = ir.weights as NonNullable<typeof ir.weights>;
    assert.equal(bytes.length, weights.bytes);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), weights.sha256);
    assert.equal(weights.source, 'random');
    assert.equal(
      weights.blobs.length,
      net.layers.reduce((n, l) => n + l.blobs.length, 0),
    );
    for (const b of weights.blobs.filter((_, i) => i % 17 === 0)) {
      const want = net.weights(b.layer)[b.index];
      const got = new Float32Array(bytes.buffer.slice(bytes.byteOffset + b.offset, bytes.byteOffset + b.offset + want.length * 4));
      assert.deepEqual(got, want, `${b.layer}/${b.index}`);
    }
  });

  it('names in-place values as the IR does, so the peer can fold BatchNorm / Scale chains', async () => {
    const ir = await exportIR(await Network.fromCaffe(path.join(ROOT, 'models', 'resnet50.prototxt')));
    const [conv, bn, scale, relu] = ir.layers.slice(1, 5);
    assert.deepEqual(
      [conv.outputs, bn.inputs, bn.outputs, scale.outputs, relu.outputs],
      [['conv1#0'], ['conv1#0'], ['conv1#1'], ['conv1#2'], ['conv1']],
    );
    assert.equal(withoutFinalSoftmax(fs.readFileSync(path.join(ROOT, 'models', 'resnet50.prototxt'), 'utf8'))?.includes('"prob"'), false);
  });
});

describe('peers: torch_peer.py against the cpu backend', function () {
  this.timeout(180000);
  let python: string | undefined;
  let dir: string;
  before(function () {
    python = findPython([process.env.PYTHON, 'python3', '/usr/bin/python3']);
    if (python === undefined) {
      console.log('      peer tests skipped: no Python with torch ($PYTHON, python3, /usr/bin/python3)');
      this.skip();
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-peer-check-'));
  });
  after(() => {
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const model of ['lenet', 'layer-zoo']) {
    it(`${model}: the peer computes our network (max relative error below 1e-4, top-1 equal, folded or not)`, async () => {
      const rows = await checkVariant(model, 'whole', fs.readFileSync(modelFile(model), 'utf8'), {
        python: python as string,
        batch: 2,
        seed: 11,
        device: 'cpu',
        dir,
      });
      assert.ok(rows.length >= 2);
      for (const r of rows) assert.ok(r.pass, `${model} ${r.output} (fold ${r.fold}): ${JSON.stringify(r)}`);
    });
  }
});
