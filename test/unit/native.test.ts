import { strict as assert } from 'assert';
import { buildInfo, devices } from '../../lib';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const pkg = require('../../../package.json') as { version: string; binary: { napi_versions: number[] } };

describe('native addon: buildInfo()', () => {
  it('reports the package version, backends and Node-API version', () => {
    const info = buildInfo();
    assert.equal(info.version, pkg.version);
    assert.ok(info.backends.includes('cpu'));
    assert.equal(info.napiVersion, pkg.binary.napi_versions[0]);
    assert.match(info.compiler, /\S/);
    assert.ok(info.buildSystem === 'cmake-js' || info.buildSystem === 'node-gyp');
  });

  it('lists the CUDA architectures when CUDA is compiled in, and says why when it is not', () => {
    const info = buildInfo();
    if (info.cuda) {
      assert.ok(info.backends.includes('cuda'));
      assert.match(info.cudaVersion, /^\d+\.\d+$/);
      for (const arch of ['sm_75', 'sm_80', 'sm_89', 'sm_90', 'compute_90']) assert.ok(info.cudaArchs.includes(arch), arch);
      assert.equal(info.note, '');
    } else {
      assert.ok(!info.backends.includes('cuda'));
      assert.deepEqual(info.cudaArchs, []);
      assert.match(info.note, /without CUDA/);
    }
  });
});

describe('native addon: devices()', () => {
  it('never throws; an empty list comes with a reason', () => {
    const list = devices();
    assert.ok(Array.isArray(list.devices));
    assert.equal(typeof list.driverVersion, 'number');
    if (list.devices.length === 0) assert.match(list.reason, /\S/);
    else assert.equal(list.reason, '');
  });

  it('describes each GPU with name, compute capability and memory', () => {
    for (const d of devices().devices) {
      assert.match(d.name, /\S/);
      assert.equal(d.computeCapability, `${d.major}.${d.minor}`);
      assert.ok(d.totalMemory > 0);
      assert.ok(d.multiprocessors > 0);
      assert.equal(typeof d.supported, 'boolean');
    }
  });

  it('checks its options in the package message form', () => {
    assert.throws(() => devices('x' as never), {
      name: 'TypeError', message: 'Expected an options object for options but received type string ("x")',
    });
    assert.throws(() => devices({ checkImages: 1 as never }), {
      name: 'TypeError', message: 'Expected a boolean for options.checkImages but received type number (1)',
    });
  });

  it('checkImages on a machine without GPUs still returns an empty list with a reason', function () {
    if (devices().devices.length > 0) this.skip();
    const list = devices({ checkImages: true });
    assert.deepEqual(list.devices, []);
    assert.match(list.reason, /\S/);
  });
});
