// GPU tests: run on the device machine (scripts/gpu-session.sh). Without a GPU they are skipped
// with a printed reason, never silently.
import { strict as assert } from 'assert';
import { buildInfo, devices, gpuStats } from '../../lib';
import { ServeMetrics } from '../../lib/serve/metrics';

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

  it("gpuStats(): every visible GPU's memory, utilisation and power from NVML, matched by uuid; the server's nv_gpu_* gauges", async () => {
    const stats = gpuStats();
    assert.equal(stats.reason, '');
    for (const d of devices().devices) {
      const g = stats.gpus.find((x) => x.uuid === d.uuid);
      assert.ok(g !== undefined, `NVML lists ${d.uuid} (${d.name})`);
      assert.ok(g.memoryTotal > 8e9 && g.memoryUsed > 0 && g.memoryUsed <= g.memoryTotal, JSON.stringify(g));
      assert.ok(g.utilization >= 0 && g.utilization <= 1, `utilization ${g.utilization}`);
      assert.ok(g.powerW > 0 && g.powerLimitW >= g.powerW * 0.5, `power ${g.powerW} W of ${g.powerLimitW} W`);
    }
    const text = await new ServeMetrics().text();
    for (const name of [
      'nv_gpu_memory_total_bytes',
      'nv_gpu_memory_used_bytes',
      'nv_gpu_utilization',
      'nv_gpu_power_usage',
      'nv_gpu_power_limit',
    ]) {
      assert.match(text, new RegExp(`^${name}\\{gpu_uuid="GPU-[0-9a-f-]+"\\} [\\d.e+]+$`, 'm'), name);
    }
  });
});
