/** Helpers of the GPU tests (test/gpu). */
import { backendStatus } from '../../lib';

/** Skips the suite (printing why, never silently) when the cuda backend cannot run here. */
export function requireCuda(ctx: Mocha.Context): void {
  const cuda = backendStatus().find((b) => b.name === 'cuda');
  if (cuda === undefined || !cuda.available) {
    console.log(`      cuda tests skipped: ${cuda === undefined ? 'unknown backend' : cuda.reason}`);
    ctx.skip();
  }
}
