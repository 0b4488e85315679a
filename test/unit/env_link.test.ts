// The link that brings native completions back to JavaScript (native/addon/env_link.h), exercised
// through the addon's test probe (linkProbe): with wake_ahead (spinWait 'auto' on GPU contexts) the
// JS thread is woken before a completion and watches for it, bounded. No completion may be lost
// whether it arrives before the watch starts, during it or after it ends, alone or among many
// (more than the 8 settled per turn of the event loop), and timers keep running.
import { strict as assert } from 'assert';
import { native } from '../../lib/native';

/** A deterministic spread of values (no Math.random: failures must reproduce). */
function spread(i: number, max: number): number {
  return (i * 2654435761) % (max + 1);
}

describe('completion link: wake-ahead holds lose no completion (linkProbe)', function () {
  this.timeout(60000);

  it('one at a time: completions before, during and after the watch all settle', async () => {
    let settled = 0;
    for (let i = 0; i < 300; i++) {
      const delay = spread(i, 400); // 0..400 us: often longer than the watch below
      const hold = spread(i + 7, 150);
      const wake = i % 3 !== 0;
      const us = await native().linkProbe(delay, hold, wake);
      assert.ok(Number.isFinite(us) && us >= 0, `probe ${i}: ${us}`);
      settled++;
    }
    assert.equal(settled, 300);
  });

  it('many at once, woken ahead or not: all settle, and a 1 ms timer keeps running', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      for (let round = 0; round < 20; round++) {
        const probes = Array.from({ length: 25 }, (_, i) => native().linkProbe(spread(round * 25 + i, 2000), spread(i, 200), i % 2 === 0));
        const results = await Promise.all(probes);
        assert.equal(results.length, 25);
        assert.ok(results.every((us) => Number.isFinite(us) && us >= 0));
      }
      await new Promise((r) => setTimeout(r, 20));
      assert.ok(ticks > 0, 'the timer ran');
    } finally {
      clearInterval(timer);
    }
  });

  it('a watch that ends before its completion leaves it to the ordinary wake-up', async () => {
    // The completion comes 20 ms after a 50 us watch: the JS thread must be woken again for it.
    const us = await native().linkProbe(20000, 50, true);
    assert.ok(us >= 0);
  });

  it('refuses wrong arguments', () => {
    assert.throws(() => (native().linkProbe as unknown as (...a: unknown[]) => unknown)('x', 1, true), {
      name: 'TypeError',
      message: /linkProbe/,
    });
  });
});
