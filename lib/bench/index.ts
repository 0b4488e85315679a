/**
 * tensorrt-node/bench: trtexec-style timing of an engine (warm-up, timed inferences, H2D / GPU
 * compute / D2H, latency percentiles) and the result records sweeps and reports are made of.
 */
export {
  benchEngine,
  deviceRecord,
  timeInferences,
  timeStats,
  timingWarnings,
  traceAverages,
  type InferenceTime,
  type TimingOptions,
} from './timing';
export type { BenchResult, BenchSettings, DeviceRecord, SweepDoc, SweepPoint, TimeStats } from './result';
