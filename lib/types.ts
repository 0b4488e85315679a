/**
 * The shared vocabulary every module may import: precisions, tensor types and backend names.
 * Nothing here imports anything.
 */

/** Engine precisions. `fp32` is strict float32; `tf32` rounds GEMM operands to TF32. */
export type Precision = 'fp32' | 'tf32' | 'fp16' | 'int8';

/** Storage types of execution tensors. */
export type DType = 'float32' | 'int8' | 'uint8';

/**
 * The form an engine input or output crosses between host and device in: float32, float16 (a
 * float32 tensor converted on the device; a Uint16Array of float16 bits on the host) or uint8 (raw
 * image bytes, turned into floats by a Preprocess node on the device).
 */
export type IoDType = 'float32' | 'float16' | 'uint8';

/** The backends. */
export type BackendName = 'cpu' | 'cuda' | 'tensorrt';

/** A backend, or 'auto': tensorrt, then cuda, then cpu, whichever can run here first. */
export type BackendChoice = BackendName | 'auto';
