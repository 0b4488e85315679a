import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main } from '../../lib/cli/main';

const ROOT = path.resolve(__dirname, '../../..');
const model = (name: string) => path.join(ROOT, 'models', name);

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    argv,
    (s) => out.push(s),
    (s) => err.push(s),
  );
  return { code, out: out.join('\n'), err: err.join('') };
}

describe('cli: tensorrt-node', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-cli-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('prints the command list with --help and exits 0; with no command exits 2', async () => {
    const help = await run('--help');
    assert.equal(help.code, 0);
    assert.match(help.out, /Usage: tensorrt-node <command>/);
    assert.match(help.out, /inspect/);
    assert.equal((await run()).code, 2);
  });

  it('prints the package version', async () => {
    const { code, out } = await run('--version');
    assert.equal(code, 0);
    assert.equal(out, (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
  });

  it('rejects an unknown command with exit code 2 and the list of commands', async () => {
    const { code, err } = await run('frobnicate');
    assert.equal(code, 2);
    assert.match(err, /unknown command 'frobnicate' \(commands: info, inspect/);
  });

  describe('inspect', () => {
    it('prints layers, shapes, MACs and totals of GoogLeNet', async () => {
      const { code, out } = await run('inspect', model('googlenet.prototxt'));
      assert.equal(code, 0);
      assert.match(out, /GoogleNet \(current format\), batch 1, 143 layers, random weights/);
      assert.match(out, /Inputs: {2}data \[1, 3, 224, 224\]/);
      assert.match(out, /Outputs: prob \[1, 1000\]/);
      assert.match(out, /conv1\/7x7_s2 +Convolution +\[1, 64, 112, 112\] +118\.0 M +9\.47 k/);
      assert.match(out, /Total: 1\.58 GMAC \(1\.58 GMAC per image\), 7\.00 M parameters/);
    });

    it('--batch scales shapes and MACs; --json gives exact numbers', async () => {
      const { code, out } = await run('inspect', model('alexnet.prototxt'), '--batch', '128', '--json');
      assert.equal(code, 0);
      const s = JSON.parse(out) as {
        batchSize: number;
        totals: { macs: number };
        inputs: Array<{ shape: number[] }>;
        format: string;
        weights: string;
      };
      assert.equal(s.batchSize, 128);
      assert.deepEqual(s.inputs[0].shape, [128, 3, 227, 227]);
      assert.equal(s.totals.macs, 128 * 724406816);
      assert.equal(s.format, 'current');
      assert.equal(s.weights, 'random');
    });

    it('--input-shape gives a Data layer its shape', async () => {
      const file = path.join(dir, 'train_val.prototxt');
      fs.writeFileSync(
        file,
        [
          'layer { name: "mnist" type: "Data" top: "data" top: "label" data_param { source: "x" batch_size: 64 } }',
          'layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" inner_product_param { num_output: 10 } }',
          'layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "loss" }',
        ].join('\n'),
      );
      const { code, out } = await run('inspect', file, '--input-shape', 'data:64x1x28x28', '--json');
      assert.equal(code, 0);
      const s = JSON.parse(out) as { outputs: Array<{ name: string; shape: number[] }>; notes: string[] };
      assert.deepEqual(s.outputs, [{ name: 'ip', shape: [64, 10] }]);
      assert.ok(s.notes.some((n) => /data layer 'mnist' \(Data\) became input 'data'/.test(n)));
      assert.ok(s.notes.some((n) => /dropped training-only layer\(s\): loss \(SoftmaxWithLoss\)/.test(n)));
      const missing = await run('inspect', file);
      assert.equal(missing.code, 1);
      assert.match(missing.err, /error E_SHAPE: .*input 'data' has no shape.*inputShapes/);
    });

    it('prints --help with every option', async () => {
      const { code, out } = await run('inspect', '--help');
      assert.equal(code, 0);
      for (const o of ['--weights', '--batch', '--inputShape', '--phase', '--allowUnknownFields', '--json']) assert.ok(out.includes(o), o);
    });

    it('usage errors exit 2 and point at --help', async () => {
      const cases: Array<[string[], RegExp]> = [
        [['inspect', '--bogus'], /Unknown option '--bogus'/],
        [['inspect'], /give one deploy\.prototxt, got 0/],
        [['inspect', 'a', 'b'], /got 2 file arguments/],
        [['inspect', model('lenet.prototxt'), '--batch', '0'], /--batch must be an integer in \[1, 1048576\], got '0'/],
        [['inspect', model('lenet.prototxt'), '--batch', 'x'], /--batch must be an integer/],
        [['inspect', model('lenet.prototxt'), '--input-shape', 'data'], /--inputShape takes name:NxCxHxW, got 'data'/],
        [['inspect', model('lenet.prototxt'), '--phase', 'DEPLOY'], /--phase is TEST or TRAIN, got 'DEPLOY'/],
      ];
      for (const [argv, message] of cases) {
        const { code, err } = await run(...argv);
        assert.equal(code, 2, argv.join(' '));
        assert.match(err, message);
        assert.match(err, /Run `tensorrt-node inspect --help` for usage/);
      }
    });

    it('runtime errors exit 1 with their code', async () => {
      const missing = await run('inspect', path.join(dir, 'nope.prototxt'));
      assert.equal(missing.code, 1);
      assert.match(missing.err, /^error E_IO: cannot read network definition .*nope\.prototxt/);
      const bad = path.join(dir, 'bad.prototxt');
      fs.writeFileSync(bad, 'layer { name: "p" type: "Reorg" bottom: "x" top: "y" }\n');
      const unsupported = await run('inspect', bad);
      assert.equal(unsupported.code, 1);
      // It names the layer, says how to add the type (a plugin) and lists the known types.
      assert.match(unsupported.err, /error E_UNSUPPORTED_LAYER: .*layer 'p' has type 'Reorg'.*loadPlugin, CLI --plugin.*Known types: /);
      fs.writeFileSync(bad, 'layer {\n  name: "x"\n  kernal: 3\n}\n');
      const parse = await run('inspect', bad);
      assert.equal(parse.code, 1);
      assert.match(parse.err, /error E_PARSE: .*bad\.prototxt:3:3: unknown field 'kernal' in LayerParameter/);
      fs.writeFileSync(bad, '');
      const empty = await run('inspect', bad);
      assert.equal(empty.code, 1);
      assert.match(empty.err, /error E_PARSE: .*bad\.prototxt:1:1: the network has no inputs and no layers/);
    });

    it('reads weights and says so', async () => {
      const { Network } = await import('../../lib');
      const { writeCaffemodel, caffeSchema, Message } = await import('../../lib/caffe');
      const net = await Network.fromCaffe(model('lenet.prototxt'));
      const layers = net.layers
        .filter((l) => l.blobs.length > 0)
        .map((l) => {
          const param = new Message(caffeSchema, caffeSchema.message('LayerParameter'));
          param.set('name', l.name);
          param.set('type', l.type);
          return { param, blobs: net.weights(l.name).map((data, i) => ({ shape: l.blobs[i], data })) };
        });
      const file = path.join(dir, 'lenet.caffemodel');
      await writeCaffemodel(file, new Message(caffeSchema, caffeSchema.message('NetParameter')), layers);
      const { code, out } = await run('inspect', model('lenet.prototxt'), '--weights', file);
      assert.equal(code, 0);
      assert.match(out, /caffemodel weights/);
      assert.match(out, /weights from .*lenet\.caffemodel \(4 layers/);
    });

    it('runs as an executable: `node dist/lib/cli/main.js inspect` exits with the right codes', () => {
      const cli = path.join(ROOT, 'dist', 'lib', 'cli', 'main.js');
      const ok = spawnSync(process.execPath, [cli, 'inspect', model('lenet.prototxt')], { encoding: 'utf8' });
      assert.equal(ok.status, 0, ok.stderr);
      assert.match(ok.stdout, /LeNet|lenet/i);
      const bad = spawnSync(process.execPath, [cli, 'inspect', '--nope'], { encoding: 'utf8' });
      assert.equal(bad.status, 2);
    });
  });
});
