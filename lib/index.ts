/**
 * tensorrt-node: TensorRT-class inference engines for Node.js (the package root, `tensorrt-node`).
 *
 *   const net = await Network.fromCaffe('models/googlenet.prototxt')
 *   const engine = await new Builder({ backend: 'auto' }).build(net, { precision: 'fp16', maxBatchSize: 8 })
 *   const ctx = engine.createContext()
 *   const { prob } = await ctx.infer({ data })
 *
 * The root is the library: networks, the builder, engines and contexts, calibrators, errors and
 * device queries, with the types they take. Caffe file parsing is `tensorrt-node/caffe`, trtexec-style
 * timing `tensorrt-node/bench`, the study's reports and its 2017 reference numbers `tensorrt-node/report`.
 */
export {
  Network,
  knownLayerTypes,
  loadPlugin,
  loadedPlugins,
  registerLayer,
  type JsLayerDefinition,
  type LayerParamValue,
  type LayerTensor,
  type PluginLayerInfo,
  type PluginLibrary,
} from './network';
export type {
  AnyLayer,
  InputTransform,
  LayerCost,
  LayerType,
  NetworkOptions,
  NetworkSummary,
  Shape,
  Tensor as NetworkTensor,
  TensorInfo,
  WeightInit,
} from './network';
export { Builder, type BuilderOptions, type BuildConfig, type LogSeverity } from './builder/builder';
export type { ChannelOrder, InputFormat, InputOptions } from './builder/input_format';
export type { IoDType, Precision } from './types';
export { Tensor } from './runtime/tensor';
export { detections, type Detection } from './runtime/detections';
export {
  Engine,
  ExecutionContext,
  Runtime,
  type ContextOptions,
  type DeserializeOptions,
  type EngineDetails,
  type EngineMeta,
  type HostArray,
  type InferInputs,
  type InferOptions,
  type LayerProfile,
  type LayerTime,
  type RunResult,
  type RunTiming,
  type TensorDesc,
} from './runtime/engine';
export {
  Calibrator,
  Int8EntropyCalibrator2,
  Int8EntropyCalibrator,
  Int8MinMaxCalibrator,
  Int8LegacyCalibrator,
  Int8PercentileCalibrator,
  asCalibrator,
  type BatchSource,
  type CalibrationAlgorithm,
  type CalibrationBatch,
  type CalibratorOptions,
  type LegacyCalibratorOptions,
  type PercentileCalibratorOptions,
  type TensorRTStyleCalibrator,
} from './calibration/calibrator';
export type { Histogram } from './calibration/thresholds';
export {
  parseCalibrationCache,
  formatCalibrationCache,
  readCalibrationCacheFile,
  writeCalibrationCacheFile,
  type CalibrationCache,
  type CacheAlgorithm,
} from './calibration/cache';
export { npyBatches, randomBatchSource } from './calibration/data';
export { backendStatus, resolveBackend, type BackendChoice, type BackendName, type BackendStatus } from './backends';
export {
  buildInfo,
  devices,
  gpuStats,
  type BuildInfo,
  type DeviceInfo,
  type DeviceList,
  type DevicesOptions,
  type GpuStats,
} from './device';
export { toFloat16, fromFloat16 } from './float16';
export {
  TensorRTNodeError,
  ParseError,
  UnsupportedLayerError,
  ShapeError,
  WeightsError,
  IOError,
  NativeError,
  PlanError,
  DisposedError,
  OutOfMemoryError,
  type ErrorCode,
  type ParsePosition,
  type PlanProblem,
} from './errors';
