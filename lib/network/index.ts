/** lib/network: the IR (typed layers over named tensors), shape inference, costs and weights. */
export { Network, type LayerCost, type NetworkOptions, type NetworkSummary } from './network';
export { buildGraph, knownLayerTypes, type Graph, type GraphOptions } from './graph';
export {
  loadPlugin,
  loadedPlugins,
  registerLayer,
  type JsLayerDefinition,
  type LayerParamValue,
  type LayerTensor,
  type PluginLayerInfo,
  type PluginLibrary,
} from './plugins';
export { LAYER_TYPES, TRAINING_ONLY_TYPES, volume } from './types';
export type {
  AnyLayer,
  ConvAttrs,
  InnerProductAttrs,
  InputTransform,
  Layer,
  LayerAttrsMap,
  LayerType,
  LRNAttrs,
  PoolAttrs,
  Shape,
  Tensor,
  TensorInfo,
} from './types';
export { applyFiller, blobSeed, matchCaffemodel, randomBlobs, Rng, type WeightInit } from './weights';
