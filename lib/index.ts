/**
 * tensorrt-node: TensorRT-class inference engines for Node.js.
 *
 *   const net = await Network.fromCaffe('models/googlenet.prototxt')
 *   const engine = await new Builder({ backend: 'auto' }).build(net, { precision: 'fp16', maxBatchSize: 8 })
 *   const ctx = engine.createContext()
 *   const { prob } = await ctx.infer({ data })
 */
export { Network, knownLayerTypes, LAYER_TYPES, volume } from './network';
export type {
  AnyLayer, InputTransform, LayerCost, LayerType, NetworkOptions, NetworkSummary, Shape, Tensor as NetworkTensor, TensorInfo, WeightInit,
} from './network';
export { Builder, type BuilderOptions, type BuildConfig, type LogSeverity } from './builder/builder';
export {
  isPlannerNode, nodePrecisions, planExecGraph, planInt8Graph,
  type ExecGraph, type ExecNode, type ExecTensor, type Int8Plan, type Precision, type PreprocessSpec, type UnscaledTensor,
} from './builder/exec_graph';
export {
  INPUT_FORMATS, preprocessOnHost, resolveInput, type ChannelOrder, type InputFormat, type InputOptions, type ResolvedInput,
} from './builder/input_format';
export { checkPlanGraph, PLAN_FORMAT_VERSION, readPlan, type PlanHeader } from './runtime/plan_file';
export { Tensor } from './runtime/tensor';
export { Engine, ExecutionContext, Runtime, type ContextOptions, type DeserializeOptions, type RunResult, type HostArray, type InferInputs, type InferOptions, type LayerProfile, type LayerTime, type RunTiming, type TensorDesc } from './runtime/engine';
export {
  Calibrator, Int8EntropyCalibrator2, Int8EntropyCalibrator, Int8MinMaxCalibrator, Int8LegacyCalibrator, Int8PercentileCalibrator,
  asCalibrator, type BatchSource, type CalibrationAlgorithm, type CalibrationBatch, type CalibratorOptions,
  type LegacyCalibratorOptions, type PercentileCalibratorOptions, type TensorRTStyleCalibrator,
} from './calibration/calibrator';
export {
  parseCalibrationCache, formatCalibrationCache, readCalibrationCacheFile, writeCalibrationCacheFile, DEFAULT_TRT_VERSION,
  type CalibrationCache, type CacheAlgorithm,
} from './calibration/cache';
export { entropyThreshold, minmaxThreshold, percentileThreshold, legacyThreshold, type Histogram } from './calibration/thresholds';
export { mnistSplit, npyBatches, randomBatchSource, type DigitSet } from './calibration/data';
export { backendStatus, resolveBackend, type BackendChoice, type BackendName, type BackendStatus } from './backends';
export { parsePrototxt, readPrototxt, readCaffemodel, writeCaffemodel, caffeSchema, Message, formatMeanFile, parseMeanFile, readMeanFile } from './caffe';
export type { CaffeBlob, CaffeModelFile, CaffeModelLayer, CaffeNetDefinition, MeanImage, PrototxtOptions } from './caffe';
export { buildInfo, devices, type BuildInfo, type DeviceInfo, type DeviceList, type DevicesOptions } from './device';
export { readNpy, writeNpy, type NpyArray } from './npy';
export { toFloat16, fromFloat16 } from './float16';
export {
  TensorRTNodeError, ParseError, UnsupportedLayerError, ShapeError, WeightsError, IOError, NativeError, PlanError,
  DisposedError, OutOfMemoryError, type ErrorCode, type ParsePosition, type PlanProblem,
} from './errors';
export {
  mergeResults, writeReport, readResultFile, readPeerFile, DELL_2017, SCALING_TARGET,
  type MergeOptions, type ReportOptions, type ReportOutput, type ReferenceNumbers, type ReferenceRow, type PeerDoc, type PeerNetwork, type PeerRow,
} from './report';
export type { BenchResult, BenchSettings, DeviceRecord, SweepDoc, SweepPoint, TimeStats } from './bench/result';
export {
  createServer, v2Routes, parseModelConfig, createLogger, ServeError, MODEL_PARAMETERS, LOG_LEVELS,
  type ServerOptions, type ServerHandle, type ServerAddresses, type RouteContext, type ModelConfig, type ModelParameterKey, type TensorConfig,
  type WireDType, type Logger, type LogLevel, type ModelMetadata, type TensorMetadata, type IndexEntry, type ModelState,
} from './serve';
