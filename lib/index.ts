/**
 * tensorrt-node: TensorRT-class inference engines for Node.js.
 *
 * Today: the Caffe importer (prototxt in every format, caffemodel weights), the network IR with
 * Caffe's shape rules and per-layer costs, and the native addon's build and device facts.
 */
export { Network, knownLayerTypes, LAYER_TYPES, volume } from './network';
export type {
  AnyLayer, LayerCost, LayerType, NetworkOptions, NetworkSummary, Shape, Tensor, TensorInfo, WeightInit,
} from './network';
export { parsePrototxt, readPrototxt, readCaffemodel, writeCaffemodel, caffeSchema, Message } from './caffe';
export type { CaffeBlob, CaffeModelFile, CaffeModelLayer, CaffeNetDefinition, PrototxtOptions } from './caffe';
export { buildInfo, devices, type BuildInfo, type DeviceInfo, type DeviceList, type DevicesOptions } from './device';
export {
  TensorRTNodeError, ParseError, UnsupportedLayerError, ShapeError, WeightsError, IOError, NativeError,
  type ErrorCode, type ParsePosition,
} from './errors';
