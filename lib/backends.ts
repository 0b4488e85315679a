/** Which backends exist here, and 'auto' selection: tensorrt, then cuda, then cpu. */
import { TensorRTNodeError } from './errors';
import { explainTensorRTReason, native } from './native';
import type { BackendChoice, BackendName } from './types';
import { integer, oneOf } from './validate';

export type { BackendChoice, BackendName };

/** Whether a backend can run here, and why not. */
export interface BackendStatus {
  readonly name: BackendName;
  readonly available: boolean;
  readonly reason: string;
}

const ORDER: readonly BackendName[] = ['tensorrt', 'cuda', 'cpu'];
const NOT_BUILT: Readonly<Record<BackendName, string>> = {
  // Every current build registers tensorrt (unavailable with its reason); only older addons lack it.
  tensorrt: 'not built: this addon predates the tensorrt backend (rebuild it)',
  cuda: 'not built: this addon was compiled without CUDA (no nvcc at build time)',
  cpu: 'not built',
};

/** Every backend, available or not, with the reason when not. */
export function backendStatus(): BackendStatus[] {
  const compiled = new Map(
    native()
      .backends()
      .map((b) => [b.name, b]),
  );
  return ORDER.map((name) => {
    const b = compiled.get(name);
    if (b === undefined) return { name, available: false, reason: NOT_BUILT[name] };
    if (b.available) return { name, available: true, reason: '' };
    return { name, available: false, reason: name === 'tensorrt' ? explainTensorRTReason(b.reason) : b.reason };
  });
}

const BACKEND_CHOICE = oneOf<BackendChoice>(['auto', 'cpu', 'cuda', 'tensorrt']);

/**
 * True for the name of a backend this package has (available here or not).
 * @internal
 */
export function isBackendName(name: unknown): name is BackendName {
  return ORDER.includes(name as BackendName);
}

/**
 * Checks a caller's backend option where it is read: a name, 'auto' or absent (both undefined:
 * no backend asked for); anything else ('gpu') is a TypeError naming `name` and the choices.
 * @internal
 */
export function backendOption(choice: unknown, name: string): BackendName | undefined {
  if (choice === undefined) return undefined;
  const backend = BACKEND_CHOICE(choice, name);
  return backend === 'auto' ? undefined : backend;
}

/** Resolves a choice to an available backend; for 'auto' also says why it skipped the others. */
export function resolveBackend(choice: unknown): { backend: BackendName; skipped: Array<{ name: BackendName; reason: string }> } {
  BACKEND_CHOICE(choice, 'backend');
  const status = backendStatus();
  if (choice !== 'auto') {
    const s = status.find((b) => b.name === choice) as BackendStatus;
    if (!s.available) {
      throw new TensorRTNodeError(
        s.name === 'cuda' && /GPU|driver/i.test(s.reason) ? 'E_NO_DEVICE' : 'E_BACKEND_UNAVAILABLE',
        `backend '${s.name}' is not available: ${s.reason}`,
      );
    }
    return { backend: s.name, skipped: [] };
  }
  const skipped: Array<{ name: BackendName; reason: string }> = [];
  for (const s of status) {
    if (s.available) return { backend: s.name, skipped };
    skipped.push({ name: s.name, reason: s.reason });
  }
  throw new TensorRTNodeError(
    'E_BACKEND_UNAVAILABLE',
    `no backend is available: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`,
  );
}

/** A layer a backend cannot run, and why (the backend's own words). */
export interface UnsupportedLayer {
  readonly layer: string;
  readonly op: string;
  readonly reason: string;
}

/**
 * 'auto' for one network: the first backend, in the order of backendStatus() (tensorrt, cuda, cpu),
 * that is available and runs every layer of it (`unsupported` asks a backend which layers it
 * cannot run). The others are skipped with the reason: unavailable, or the first layer it lacks.
 * @internal
 */
export function chooseForGraph(
  statuses: readonly BackendStatus[],
  unsupported: (backend: BackendName) => readonly UnsupportedLayer[],
): { backend: BackendName; skipped: Array<{ name: BackendName; reason: string }> } {
  const skipped: Array<{ name: BackendName; reason: string }> = [];
  for (const s of statuses) {
    if (!s.available) {
      skipped.push({ name: s.name, reason: s.reason });
      continue;
    }
    const lacks = unsupported(s.name);
    if (lacks.length === 0) return { backend: s.name, skipped };
    const more = lacks.length > 1 ? ` (and ${lacks.length - 1} more layer(s))` : '';
    skipped.push({ name: s.name, reason: `layer '${lacks[0].layer}' (${lacks[0].op}): ${lacks[0].reason}${more}` });
  }
  throw new TensorRTNodeError(
    'E_UNSUPPORTED_LAYER',
    `no available backend runs every layer: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`,
  );
}

/**
 * Where INT8 calibration of a tensorrt build runs: TensorRT's engines cannot collect our
 * histograms, so the cuda backend when it is available, else cpu.
 * @internal
 */
export function calibrationBackend(): BackendName {
  return backendStatus().find((s) => s.name === 'cuda')?.available ? 'cuda' : 'cpu';
}

/**
 * Checks a cpu thread-count option: undefined (the process-wide pool: TRTN_CPU_THREADS, or one
 * thread per core) or an integer in [1, 1024]. Returns 0 for the process-wide pool.
 * @internal
 */
export function checkThreads(threads: unknown, name: string): number {
  return threads === undefined ? 0 : integer({ min: 1, max: 1024 })(threads, name);
}
