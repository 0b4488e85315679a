// Plan files: bit-exact round trips, and every way a plan can be refused before anything is read.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { crc32 } from 'zlib';
import { Builder, Engine, Network, PlanError, Runtime } from '../../lib';
import { readPlan } from '../../lib/runtime/plan_file';
import { checkPlanGraph } from '../../lib/runtime/plan_file';
import { checkDeviceArch } from '../../lib/runtime/engine';

const NET = `
name: "tiny"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 6 dim: 6 } } }
layer { name: "prelu" type: "PReLU" bottom: "data" top: "prelu" }
layer { name: "pool" type: "Pooling" bottom: "prelu" top: "pool" pooling_param { pool: MAX kernel_size: 3 stride: 2 } }
layer { name: "prob" type: "Softmax" bottom: "pool" top: "prob" }`;

async function tinyEngine(): Promise<Engine> {
  const net = await Network.parse(NET, { seed: 7 });
  return new Builder({ backend: 'cpu' }).build(net, { maxBatchSize: 4 });
}

function input(n: number): Float32Array {
  return Float32Array.from({ length: n * 108 }, (_, i) => Math.sin(i * 0.37) * 3);
}

/** Rewrites the JSON header in place (into the room before the first section) and fixes the checksum. */
function withHeader(plan: Uint8Array, edit: (h: Record<string, unknown>) => void): Uint8Array {
  const buf = Buffer.from(plan);
  const len = buf.readUInt32LE(12);
  const h = JSON.parse(buf.toString('utf8', 32, 32 + len)) as Record<string, unknown>;
  const room = (h.sections as Array<{ offset: number }>)[0].offset - 32;
  edit(h);
  const text = JSON.stringify(h);
  assert.ok(text.length <= room, 'the edited header must fit before the first section');
  buf.fill(0, 32, 32 + room);
  buf.write(text, 32, 'utf8');
  buf.writeUInt32LE(text.length, 12);
  buf.writeUInt32LE(crc32(buf.subarray(32)), 24);
  return new Uint8Array(buf);
}

/** Replaces a section's bytes (same length) and fixes the checksum. */
function withSection(plan: Uint8Array, name: string, edit: (bytes: Buffer) => void): Uint8Array {
  const buf = Buffer.from(plan);
  const len = buf.readUInt32LE(12);
  const h = JSON.parse(buf.toString('utf8', 32, 32 + len)) as { sections: Array<{ name: string; offset: number; length: number }> };
  const s = h.sections.find((x) => x.name === name) as { offset: number; length: number };
  edit(buf.subarray(s.offset, s.offset + s.length));
  buf.writeUInt32LE(crc32(buf.subarray(32)), 24);
  return new Uint8Array(buf);
}

/**
 * Checks that a plan is refused with this code, problem and message both from memory
 * (Runtime.deserialize) and from a file (Engine.load, which streams the weights and checks the
 * checksum natively after reading them).
 */
async function refused(plan: Uint8Array, code: string, problem: string, message: RegExp): Promise<void> {
  const check = (err: unknown): boolean => {
    assert.ok(err instanceof PlanError, String(err));
    assert.equal(err.code, code);
    assert.equal(err.problem, problem);
    assert.match(err.message, message);
    return true;
  };
  await assert.rejects(Runtime.deserialize(plan), check);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-refused-'));
  try {
    const file = path.join(dir, 'bad.plan');
    fs.writeFileSync(file, plan);
    await assert.rejects(Engine.load(file), check);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('plan files', () => {
  let plan: Uint8Array;
  let expected: Float32Array;
  before(async () => {
    const engine = await tinyEngine();
    plan = engine.serialize();
    expected = (await engine.createContext().infer({ data: input(3) })).prob;
    engine.dispose();
  });

  it('round-trip bit for bit: plan -> engine -> plan, with the same results', async () => {
    const engine = await Runtime.deserialize(plan);
    assert.deepEqual(Buffer.from(engine.serialize()), Buffer.from(plan));
    const again = (await engine.createContext().infer({ data: input(3) })).prob;
    assert.ok(again.every((v, i) => Object.is(v, expected[i])));
    assert.equal(engine.backend, 'cpu');
    assert.equal(engine.maxBatchSize, 4);
    assert.deepEqual(
      engine.inputs.map((t) => [t.name, t.shape]),
      [['data', [4, 3, 6, 6]]],
    );
    engine.dispose();
  });

  it('save streams the plan from a native thread; load streams the weights back and checks the checksum', async () => {
    // Issue 13, items 4 and 7: save() used to serialize on the JS thread and hold the plan in
    // memory twice; load() read the whole file into memory first.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-plan-'));
    try {
      const file = path.join(dir, 'tiny.plan');
      const engine = await Runtime.deserialize(plan);
      let settled = false;
      const saving = engine.save(file).then(() => {
        settled = true;
      });
      assert.equal(settled, false);
      // The file appears only once it is whole (written beside it, then renamed): whenever it is
      // seen, even while the save may still be running, it holds the whole plan.
      if (fs.existsSync(file)) assert.deepEqual(fs.readFileSync(file), Buffer.from(plan), 'a partly written plan was visible');
      await saving;
      assert.deepEqual(fs.readFileSync(file), Buffer.from(plan));
      assert.deepEqual(fs.readdirSync(dir), ['tiny.plan'], 'no temporary file is left');
      const loaded = await Engine.load(file);
      const out = (await loaded.createContext().infer({ data: input(3) })).prob;
      assert.ok(out.every((v, i) => Object.is(v, expected[i])));
      // A file changed after its head was checked: the weights bytes are damaged.
      const bad = Buffer.from(plan);
      bad[readPlan(plan).header.sections[1].offset + 40] ^= 1;
      fs.writeFileSync(file, bad);
      await assert.rejects(Engine.load(file), { code: 'E_PLAN_CORRUPT', problem: 'checksum' });
      engine.dispose();
      loaded.dispose();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('save and load a file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-plan-'));
    try {
      const file = path.join(dir, 'tiny.plan');
      const engine = await Runtime.deserialize(plan);
      await engine.save(file);
      assert.deepEqual(fs.readFileSync(file), Buffer.from(plan));
      const loaded = await Engine.load(file);
      assert.equal(loaded.name, 'tiny');
      await assert.rejects(Engine.load(path.join(dir, 'nope.plan')), { code: 'E_IO' });
      await assert.rejects(engine.save(path.join(dir, 'no', 'dir', 'x.plan')), { code: 'E_IO' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('describes itself in a JSON header', () => {
    const { header } = readPlan(plan);
    assert.equal(header.formatVersion, 1);
    assert.equal(header.backend, 'cpu');
    assert.equal(header.precision, 'fp32');
    assert.equal(header.deviceArch, null);
    assert.match(header.packageVersion, /^\d+\.\d+\.\d+/);
    assert.deepEqual(
      header.sections.map((s) => s.name),
      ['graph', 'weights', 'backend'],
    );
    for (const s of header.sections) assert.equal(s.offset % 64, 0);
  });

  describe('is refused, with its own code and message, when', () => {
    it('empty or shorter than the fixed header', async () => {
      await refused(new Uint8Array(0), 'E_PLAN_CORRUPT', 'truncated', /0 bytes, but a plan starts with a 32-byte header/);
      await refused(plan.subarray(0, 31), 'E_PLAN_CORRUPT', 'truncated', /31 bytes/);
    });

    it('the magic is not TRTNPLAN', async () => {
      const bad = Uint8Array.from(plan);
      bad[0] = 0x54;
      bad[3] = 0x00;
      await refused(bad, 'E_PLAN_CORRUPT', 'magic', /does not start with "TRTNPLAN"/);
      await refused(Buffer.from('layer { name: "x" }                             '), 'E_PLAN_CORRUPT', 'magic', /TRTNPLAN/);
    });

    it('the format is newer than this package reads', async () => {
      const bad = Buffer.from(plan);
      bad.writeUInt32LE(2, 8);
      await refused(bad, 'E_PLAN_VERSION', 'version', /format version 2; this tensorrt-node reads up to 1/);
    });

    it('truncated anywhere', async () => {
      for (const cut of [32, 100, plan.length >> 1, plan.length - 1]) {
        await refused(
          plan.subarray(0, cut),
          'E_PLAN_CORRUPT',
          'truncated',
          new RegExp(`header says ${plan.length} bytes but there are ${cut}`),
        );
      }
    });

    it('bytes follow its end', async () => {
      await refused(Buffer.concat([plan, Buffer.from([1, 2, 3])]), 'E_PLAN_CORRUPT', 'layout', /3 bytes follow the end/);
    });

    it('any byte after the fixed header changed', async () => {
      for (const at of [40, readPlan(plan).header.sections[1].offset + 5, plan.length - 1]) {
        const bad = Uint8Array.from(plan);
        bad[at] ^= 0x10;
        await refused(bad, 'E_PLAN_CORRUPT', 'checksum', /checksum mismatch/);
      }
    });

    it('reserved bytes are set', async () => {
      const bad = Buffer.from(plan);
      bad.writeUInt32LE(1, 28);
      await refused(bad, 'E_PLAN_CORRUPT', 'layout', /reserved header bytes/);
    });

    it('the header is not JSON, or lacks fields', async () => {
      const notJson = Buffer.from(plan);
      notJson.write('x', 32);
      notJson.writeUInt32LE(crc32(notJson.subarray(32)), 24);
      await refused(notJson, 'E_PLAN_CORRUPT', 'layout', /the header is not JSON/);
      await refused(
        withHeader(plan, (h) => {
          delete h.backend;
        }),
        'E_PLAN_CORRUPT',
        'layout',
        /lacks fields/,
      );
      await refused(
        withHeader(plan, (h) => {
          h.maxBatchSize = 0;
        }),
        'E_PLAN_CORRUPT',
        'layout',
        /lacks fields/,
      );
    });

    it('a section lies outside the file, overlaps, repeats or is missing', async () => {
      const edit = (f: (s: Array<{ name: string; offset: number; length: number }>) => void) =>
        withHeader(plan, (h) => f(h.sections as Array<{ name: string; offset: number; length: number }>));
      await refused(
        edit((s) => {
          s[1].length = 1e9;
        }),
        'E_PLAN_CORRUPT',
        'layout',
        /bad section table entry/,
      );
      await refused(
        edit((s) => {
          s[1].offset = 0;
        }),
        'E_PLAN_CORRUPT',
        'layout',
        /bad section table entry/,
      );
      await refused(
        edit((s) => {
          s[2].name = 'graph';
        }),
        'E_PLAN_CORRUPT',
        'layout',
        /bad section table entry/,
      );
      await refused(
        edit((s) => {
          s.pop();
        }),
        'E_PLAN_CORRUPT',
        'layout',
        /no 'backend' section/,
      );
      await refused(
        edit((s) => {
          s[0].name = 'extra';
        }),
        'E_PLAN_CORRUPT',
        'layout',
        /bad section table entry/,
      );
    });

    it('its sections are damaged behind a valid checksum', async () => {
      await refused(
        withSection(plan, 'graph', (b) => b.write('!', 0)),
        'E_PLAN_CORRUPT',
        'layout',
        /graph section: JSON/,
      );
      await refused(
        withSection(plan, 'weights', (b) => b.write('XXXX', 0)),
        'E_PLAN_CORRUPT',
        'layout',
        /weights section: bad magic/,
      );
      await refused(
        withSection(plan, 'weights', (b) => b.writeUInt32LE(99, 4)),
        'E_PLAN_CORRUPT',
        'layout',
        /weights section/,
      );
    });

    // The header is what callers read (engine.inputs, precision, maxBatchSize); the graph is what
    // runs. An edited header must not describe an engine other than the one that loads.
    it('the header disagrees with the graph: inputs, outputs (names, dims, order, count), precision, batch, name', async () => {
      type T = { name: string; dims: number[] };
      const cases: Array<[(h: Record<string, unknown>) => void, RegExp]> = [
        [
          (h) => {
            (h.inputs as T[])[0].dims = [3, 7, 6];
          },
          /header input 0 \('data'\) has dims \[3, 7, 6\] but the graph's has \[3, 6, 6\]/,
        ],
        [
          (h) => {
            (h.outputs as T[])[0].dims = [3, 3, 2];
          },
          /header output 0 \('prob'\) has dims \[3, 3, 2\] but the graph's has \[3, 3, 3\]/,
        ],
        [
          (h) => {
            (h.outputs as T[])[0].name = 'logits';
          },
          /header output 0 is named 'logits' but the graph's is 'prob'/,
        ],
        [
          (h) => {
            (h.outputs as T[]).push({ name: 'pool', dims: [3, 3, 3] });
          },
          /header lists 2 output\(s\) \(prob, pool\) but the graph 1 \(prob\)/,
        ],
        [
          (h) => {
            h.inputs = [];
          },
          /header lists 0 input\(s\) \(\) but the graph 1 \(data\)/,
        ],
        [
          (h) => {
            h.precision = 'int8';
          },
          /header precision is 'int8' but the graph's is 'fp32'/,
        ],
        [
          (h) => {
            h.maxBatchSize = 8;
          },
          /header maxBatchSize is 8 but the graph's is 4/,
        ],
        [
          (h) => {
            h.name = 'other';
          },
          /header name is 'other' but the graph's is 'tiny'/,
        ],
      ];
      for (const [edit, message] of cases) await refused(withHeader(plan, edit), 'E_PLAN_CORRUPT', 'mismatch', message);
    });

    it('the graph section is not an execution graph (not JSON, or lacking fields)', async () => {
      await refused(
        withSection(plan, 'graph', (b) => b.write('!', 0)),
        'E_PLAN_CORRUPT',
        'layout',
        /graph section: JSON/,
      );
      for (const [field, twin] of [
        ['precision', 'precisioX'],
        ['maxBatchSize', 'maxBatchSizX'],
        ['tensors', 'tensorX'],
        ['outputs', 'outputX'],
      ]) {
        const edited = withSection(plan, 'graph', (b) => {
          const text = b.toString('utf8').replace(`"${field}":`, `"${twin}":`);
          assert.equal(Buffer.byteLength(text), b.length, 'test bug: the edit must keep the length');
          b.write(text, 0, 'utf8');
        });
        await refused(edited, 'E_PLAN_CORRUPT', 'layout', /the graph section is not an execution graph/);
      }
    });

    it('checkPlanGraph(header, graphJson) checks a header against a graph outside readPlan too', () => {
      const { header, graphJson } = readPlan(plan);
      assert.equal(checkPlanGraph(header, graphJson).name, 'tiny');
      assert.throws(() => checkPlanGraph({ ...header, precision: 'fp16' }, graphJson), { code: 'E_PLAN_CORRUPT', problem: 'mismatch' });
      assert.throws(() => checkPlanGraph(header, '[]'), { code: 'E_PLAN_CORRUPT', problem: 'layout' });
    });

    it('it was built for another backend than the one asked for, or one that is not here', async () => {
      await assert.rejects(Runtime.deserialize(plan, { backend: 'cuda' }), {
        code: 'E_PLAN_BACKEND',
        message: "the plan was built for backend 'cpu', not 'cuda'",
      });
      await refused(
        withHeader(plan, (h) => {
          h.backend = 'tensorrt';
        }),
        'E_PLAN_BACKEND',
        'backend',
        /built for backend 'tensorrt', which cannot run here: backend 'tensorrt' is not available/,
      );
    });

    it('an unknown backend name asked for is a TypeError, not E_PLAN_BACKEND; a plan naming one is E_PLAN_BACKEND in plain words', async () => {
      const expected = {
        name: 'TypeError',
        message: "Expected 'auto', 'cpu', 'cuda' or 'tensorrt' for options.backend but received type string (\"gpu\")",
      };
      await assert.rejects(Runtime.deserialize(plan, { backend: 'gpu' as never }), expected);
      const file = path.join(os.tmpdir(), `trtn-plan-backend-${process.pid}.plan`);
      fs.writeFileSync(file, plan);
      try {
        await assert.rejects(Engine.load(file, { backend: 'gpu' as never }), expected);
      } finally {
        fs.rmSync(file, { force: true });
      }
      // 'auto' asks for nothing in particular, as it does of a Builder.
      (await Runtime.deserialize(plan, { backend: 'auto' })).dispose();
      await refused(
        withHeader(plan, (h) => {
          h.backend = 'gpu';
        }),
        'E_PLAN_BACKEND',
        'backend',
        /^the plan was built for backend 'gpu', which cannot run here: tensorrt-node has no backend 'gpu' \(it has tensorrt, cuda and cpu\)$/,
      );
    });

    it('it was built for another GPU architecture', async () => {
      await refused(
        withHeader(plan, (h) => {
          h.deviceArch = 'sm_90';
        }),
        'E_PLAN_ARCH',
        'arch',
        /a cpu plan names device architecture 'sm_90'/,
      );
      assert.throws(() => checkDeviceArch({ backend: 'cuda', deviceArch: 'sm_90' }, () => ['sm_80']), {
        code: 'E_PLAN_ARCH',
        message: "the plan was built for sm_90 but this machine's GPUs are sm_80: rebuild the engine here",
      });
      assert.throws(() => checkDeviceArch({ backend: 'cuda', deviceArch: 'sm_90' }, () => []), /GPUs are none/);
      checkDeviceArch({ backend: 'cuda', deviceArch: 'sm_90' }, () => ['sm_80', 'sm_90']);
    });

    // The native checks behind the layer rules: a graph edited behind a valid checksum reaches them.
    /** Each edit (same length, in the plan's graph section) makes loading the plan E_INVALID_ARGUMENT with its message. */
    async function refusesEdits(good: Uint8Array, edits: Array<[string, string, RegExp]>): Promise<void> {
      for (const [from, to, message] of edits) {
        const bad = withSection(good, 'graph', (b) => {
          const at = b.indexOf(from);
          assert.ok(at >= 0, `the graph holds ${from}`);
          b.write(to, at, 'latin1');
        });
        await assert.rejects(Runtime.deserialize(bad), (err: Error & { code?: string }) => {
          assert.equal(err.code, 'E_INVALID_ARGUMENT', err.message);
          assert.match(err.message, message);
          return true;
        });
      }
    }

    it("its graph gives the layers of Caffe's forks attributes their rules refuse (E_INVALID_ARGUMENT naming the node)", async () => {
      const net = await Network.parse(
        'layer { name: "in" type: "Input" top: "data" top: "loc" top: "conf" ' +
          'input_param { shape { dim: 1 dim: 6 dim: 4 dim: 4 } shape { dim: 1 dim: 256 } shape { dim: 1 dim: 128 } } }\n' +
          'layer { name: "perm" type: "Permute" bottom: "data" top: "perm" permute_param { order: 0 order: 2 order: 3 order: 1 } }\n' +
          'layer { name: "shuf" type: "ShuffleChannel" bottom: "data" top: "shuf" shuffle_channel_param { group: 3 } }\n' +
          'layer { name: "up" type: "Upsample" bottom: "data" top: "up" upsample_param { scale: 2 } }\n' +
          'layer { name: "ip" type: "Interp" bottom: "data" top: "ip" interp_param { zoom_factor: 2 } }\n' +
          'layer { name: "pb" type: "PriorBox" bottom: "data" bottom: "data" top: "pb" prior_box_param { min_size: 2 max_size: 3 aspect_ratio: 2 } }\n' +
          'layer { name: "det" type: "DetectionOutput" bottom: "loc" bottom: "conf" bottom: "pb" top: "det" ' +
          'detection_output_param { num_classes: 2 code_type: CENTER_SIZE keep_top_k: 5 } }\n',
      );
      const good = (await new Builder({ backend: 'cpu' }).build(net, { maxBatchSize: 1 })).serialize();
      const edits: Array<[string, string, RegExp]> = [
        ['"order":[0,2,3,1]', '"order":[1,2,3,0]', /node 'perm' \(Permute\): order must keep the batch first/],
        ['"order":[0,2,3,1]', '"order":[0,2,2,1]', /node 'perm' \(Permute\): order \[0, 2, 2, 1\] is not a permutation/],
        ['"group":3', '"group":0', /node 'shuf' \(ShuffleChannel\): group must be >= 1/],
        ['"mode":"nearest"', '"mode":"nearesx"', /node 'up' \(Upsample\): unknown mode 'nearesx'/],
        ['"padBeg":0', '"padBeg":1', /node 'ip' \(Interp\): pads must be <= 0/],
        ['"priorsPerCell":4', '"priorsPerCell":5', /node 'pb' \(PriorBox\): priorsPerCell does not match/],
        ['"codeType":"CENTER_SIZE"', '"codeType":"CENTER_SIZX"', /node 'det' \(DetectionOutput\): unknown codeType 'CENTER_SIZX'/],
      ];
      await refusesEdits(good, edits);
    });

    it('its graph gives the region layers attributes their native readers refuse (core/roi_params.cc, E_INVALID_ARGUMENT)', async () => {
      const net = await Network.parse(
        'layer { name: "in" type: "Input" top: "s" top: "d" top: "info" top: "f" input_param { ' +
          'shape { dim: 1 dim: 18 dim: 2 dim: 2 } shape { dim: 1 dim: 36 dim: 2 dim: 2 } shape { dim: 1 dim: 3 } shape { dim: 1 dim: 4 dim: 2 dim: 2 } } }\n' +
          'layer { name: "p" type: "Python" bottom: "s" bottom: "d" bottom: "info" top: "rois" ' +
          'python_param { module: "rpn.proposal_layer" layer: "ProposalLayer" param_str: "\'feat_stride\': 16\\n\'post_nms_topN\': 12" } }\n' +
          'layer { name: "sp" type: "Split" bottom: "rois" top: "r1" top: "r2" }\n' +
          'layer { name: "pool" type: "ROIPooling" bottom: "f" bottom: "r1" top: "pool" roi_pooling_param { pooled_h: 2 pooled_w: 2 } }\n' +
          'layer { name: "ps" type: "PSROIPooling" bottom: "f" bottom: "r2" top: "ps" psroi_pooling_param { spatial_scale: 1 output_dim: 1 group_size: 2 } }\n',
      );
      const good = (await new Builder({ backend: 'cpu' }).build(net, { maxBatchSize: 1 })).serialize();
      const edits: Array<[string, string, RegExp]> = [
        ['"pooledH":2', '"pooledH":0', /node 'pool' \(ROIPooling\): needs pooledH, pooledW >= 1 and spatialScale > 0/],
        ['"outputDim":1', '"outputDim":2', /node 'ps' \(PSROIPooling\): needs outputDim x groupSize\^2 input channels/],
        [
          '"nmsThresh":0.7',
          '"nmsThresh":1.7',
          /node 'p' \(Proposal\): needs featStride > 0, pre \/ postNmsTopN >= 1, nmsThresh in \(0, 1\]/,
        ],
      ];
      await refusesEdits(good, edits);
    });

    it('its graph gives a node tensors of different rows (region tensors): E_PLAN_CORRUPT before any memory is planned', async () => {
      const net = await Network.parse(
        'layer { name: "in" type: "Input" top: "s" top: "d" top: "info" top: "f" input_param { ' +
          'shape { dim: 1 dim: 18 dim: 2 dim: 2 } shape { dim: 1 dim: 36 dim: 2 dim: 2 } shape { dim: 1 dim: 3 } shape { dim: 1 dim: 4 dim: 2 dim: 2 } } }\n' +
          'layer { name: "p" type: "Python" bottom: "s" bottom: "d" bottom: "info" top: "rois" ' +
          'python_param { module: "rpn.proposal_layer" layer: "ProposalLayer" param_str: "\'feat_stride\': 16\\n\'post_nms_topN\': 12" } }\n' +
          'layer { name: "pool" type: "ROIPooling" bottom: "f" bottom: "rois" top: "pool" roi_pooling_param { pooled_h: 2 pooled_w: 2 } }\n' +
          'layer { name: "fc" type: "InnerProduct" bottom: "pool" top: "fc" inner_product_param { num_output: 3 } }\n' +
          'layer { name: "relu" type: "ReLU" bottom: "fc" top: "out" }\n',
      );
      const good = (await new Builder({ backend: 'cpu' }).build(net, { maxBatchSize: 1 })).serialize();
      // The plan round-trips (its header gives region outputs as [rows, ...]).
      const again = await Runtime.deserialize(good);
      assert.deepEqual(again.outputs[0].dims, [12, 3]);
      again.dispose();
      const bad = withSection(good, 'graph', (b) => {
        // The pooled tensor's rows (not a graph output, so only the native reader sees it).
        const at = b.indexOf('"rows":12', b.indexOf('"name":"pool"'));
        assert.ok(at >= 0 && b.indexOf('"name":"pool"') >= 0, 'the graph holds the pooled tensor with rows');
        b.write('"rows":99', at, 'latin1');
      });
      await assert.rejects(Runtime.deserialize(bad), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'E_PLAN_CORRUPT', err.message);
        assert.match(err.message, /node 'fc': its tensors have different rows per image/);
        return true;
      });
    });

    it('it is not a Uint8Array', async () => {
      await assert.rejects(Runtime.deserialize('plan' as never), {
        name: 'TypeError',
        message: 'Expected a Uint8Array (a plan) for plan but received type string ("plan")',
      });
    });
  });
});
