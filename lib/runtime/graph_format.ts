/**
 * The execution graph's format: the one seam between the TypeScript side and every backend (the
 * builder writes it, plan files store it, the addon parses it: native/core/graph.h). Types, and
 * the few facts the runtime reads off a graph; lib/builder/exec_graph.ts makes graphs.
 */
import { LAYER_TYPES, type AnyLayer } from '../network';
import type { DType, IoDType, Precision } from '../types';

export type { DType, IoDType, Precision };

/** One tensor of the execution graph. */
export interface ExecTensor {
  /** IR tensor name (unique), or a generated name for tensors the planner adds (`<name>/int8`). */
  readonly name: string;
  /** Dimensions of one image (the batch dimension is left out). */
  readonly dims: readonly number[];
  readonly dtype: DType;
  /** Quantization step of an int8 tensor: real value = q * scale. */
  readonly scale?: number;
  /** Inputs and outputs of dtype float32 that cross as float16 (converted on the device). */
  readonly hostDtype?: 'float16';
  /** Region tensors (Faster R-CNN): rows per image; `dims` are one row's. Absent: 1. */
  readonly rows?: number;
}

/** The host form of a graph input or output. */
export function ioDtype(t: ExecTensor): IoDType {
  return t.hostDtype === 'float16' ? 'float16' : t.dtype === 'uint8' ? 'uint8' : 'float32';
}

/** An activation fused into a node's epilogue. */
export interface FusedActivation {
  readonly type: 'ReLU';
  readonly negativeSlope: number;
}

/** A per-channel affine layer folded into a Convolution / Deconvolution / InnerProduct's weights. */
export type FoldedAffine =
  | { readonly type: 'BatchNorm'; readonly layer: string; readonly eps: number; readonly weights: readonly number[] }
  | { readonly type: 'Scale'; readonly layer: string; readonly weights: readonly number[]; readonly biasTerm: boolean }
  | { readonly type: 'Bias'; readonly layer: string; readonly weights: readonly number[] };

/**
 * Operations of the execution graph: the IR layer types that execute, plus the planner's own:
 * Quantize (float to int8) and Preprocess (uint8 image pixels to the network's input).
 */
export type ExecOp = Exclude<AnyLayer['type'], 'Input' | 'Dropout' | 'Split'> | 'Quantize' | 'Preprocess';

/** Ops the planner adds (not from the network's layers). */
const PLANNER_OPS: ReadonlySet<ExecOp> = new Set<ExecOp>(['Quantize', 'Preprocess']);

/** IR layer types that never become nodes: inputs, and layers the planner removes. */
const NON_EXEC_LAYERS: ReadonlySet<string> = new Set(['Input', 'Dropout', 'Split']);

/**
 * Every op an execution graph may hold: the executing IR layer types, then the planner's own. The
 * native side has the same list (native/core/op_kind.h, `buildInfo().ops`); test/unit/op_vocabulary
 * checks the two agree.
 */
export const EXEC_OPS: readonly ExecOp[] = [
  ...LAYER_TYPES.filter((t): t is Exclude<(typeof LAYER_TYPES)[number], 'Input' | 'Dropout' | 'Split'> => !NON_EXEC_LAYERS.has(t)),
  ...PLANNER_OPS,
];

/** One node. */
export interface ExecNode {
  readonly name: string;
  readonly op: ExecOp;
  /** Tensor ids. */
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
  /** The IR layer's attributes (axes count the batch as dimension 0, as in the IR). */
  readonly attrs: Readonly<Record<string, unknown>>;
  /** Weight ids (indexes into ExecGraph.weights), in the layer's blob order. */
  readonly weights: readonly number[];
  readonly precision: Precision;
  readonly fold?: readonly FoldedAffine[];
  readonly activation?: FusedActivation;
}

/** A weight blob the nodes refer to. */
export interface ExecWeight {
  /** `<layer>/<blob index>` (a Preprocess node's mean image: `<input>/preprocess/0`). */
  readonly name: string;
  readonly dims: readonly number[];
}

/** The whole graph. */
export interface ExecGraph {
  readonly format: 1;
  readonly name: string;
  readonly precision: Precision;
  readonly maxBatchSize: number;
  readonly tensors: readonly ExecTensor[];
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
  readonly nodes: readonly ExecNode[];
  readonly weights: readonly ExecWeight[];
}

/**
 * Per-precision node counts of an execution graph (a plan's or engine's graph JSON included):
 * the nodes that come from the network's layers, so the Quantize and Preprocess nodes the planner
 * adds are left out.
 */
export function nodePrecisions(graph: Pick<ExecGraph, 'nodes'>): Partial<Record<Precision, number>> {
  const counts: Partial<Record<Precision, number>> = {};
  for (const n of graph.nodes) if (!isPlannerNode(n)) counts[n.precision] = (counts[n.precision] ?? 0) + 1;
  return counts;
}

/** True for the nodes the planner adds (Quantize, Preprocess), which no network layer stands for. */
export function isPlannerNode(node: Pick<ExecNode, 'op'>): boolean {
  return PLANNER_OPS.has(node.op);
}
