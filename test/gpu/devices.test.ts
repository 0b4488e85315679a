// GPU tests: run on the device machine (scripts/gpu-session.sh). Without a GPU they are skipped
// with a printed reason, never silently.
import { strict as assert } from 'assert';
import { buildInfo, devices } from '../../lib';

describe('gpu: devices and the CUDA build', function () {
  before(function () {
    const list = devices();
    if (list.devices.length === 0) {
      console.log(`      GPU tests skipped: ${list.reason}`);
      this.skip();
    }
  });

  it('was built with CUDA', () => {
    assert.equal(buildInfo().cuda, true);
  });

  it('runs our probe kernel on every visible GPU (the fatbinary has code for it)', () => {
    const list = devices({ checkImages: true });
    assert.ok(list.devices.length > 0);
    assert.ok(list.driverVersion >= 13000, `driver API version ${list.driverVersion}`);
    for (const d of list.devices) {
      assert.equal(d.supported, true, `${d.name}: ${d.unsupportedReason}`);
      assert.ok(d.major * 10 + d.minor >= 75);
      assert.ok(d.totalMemory > 8e9, `${d.name} reports ${d.totalMemory} bytes`);
      assert.match(d.uuid, /^GPU-[0-9a-f]{8}-/);
      assert.match(d.pciBusId, /^[0-9a-fA-F]{4,8}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.\d$/);
    }
  });
});
