/** How the report names networks, precisions and devices, and how it matches them across files. */
import type { Precision } from '../builder/exec_graph';

/**
 * The key two names of one network share: the file's base name without extension, lower case,
 * letters and digits only. 'GoogleNet', 'googlenet' and 'models/googlenet.prototxt' all give
 * 'googlenet', so a sweep, a peer file and the 2017 numbers find each other.
 */
export function networkKey(name: string): string {
  return networkLabel(name)
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');
}

/** A network as the report shows it: its name, or a file's base name without extension. */
export function networkLabel(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? name;
  return /\.(prototxt|plan|engine|caffemodel)$/i.test(base) ? base.replace(/\.[^.]+$/, '') : base;
}

/** FP32, TF32, FP16, INT8. */
export function precisionLabel(p: Precision | string): string {
  return p.toUpperCase();
}

/** A GPU model without the vendor: 'NVIDIA H200' -> 'H200'. */
export function gpuShortName(name: string): string {
  return (
    name
      .replace(/^\s*NVIDIA\s+/i, '')
      .replace(/^Tesla\s+/i, '')
      .trim() || name
  );
}

/** The folder of a GPU model's results: 'NVIDIA H100 80GB HBM3' -> 'H100-80GB-HBM3'. */
export function gpuFolderName(name: string): string {
  return (
    gpuShortName(name)
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'unknown-gpu'
  );
}

/** A file-name-safe slug of a network: 'ResNet-50' -> 'resnet-50'. */
export function slug(name: string): string {
  return (
    networkLabel(name)
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'network'
  );
}

/**
 * The words for what a point's count counts: GPUs, or on the cpu backend CPU workers (the worker
 * processes of `--gpus N`, sharing one CPU). A report of cpu results never says GPU of itself.
 */
export interface DeviceWords {
  /** The device the points ran on: 'GPU' or 'CPU'. */
  readonly device: 'GPU' | 'CPU';
  /** One of what the count counts: 'GPU', 'CPU worker'. */
  readonly unit: string;
  /** Its plural: 'GPUs', 'CPU workers'. */
  readonly units: string;
  /** As a modifier: '1-GPU', '1-worker'. */
  readonly single: string;
  /** 'multi-GPU', 'multi-worker'. */
  readonly multi: string;
  /** 'per-GPU', 'per-worker'. */
  readonly per: string;
  /** What runs out of memory: 'GPU memory', 'memory'. */
  readonly memory: string;
  /** n of them: '1 GPU', '2 GPUs'; '1 CPU', '2 CPU workers'. */
  count(n: number): string;
}

/** The words of a report on GPUs, or on the cpu backend (`cpu`). */
export function deviceWords(cpu: boolean): DeviceWords {
  if (cpu) {
    return {
      device: 'CPU',
      unit: 'CPU worker',
      units: 'CPU workers',
      single: '1-worker',
      multi: 'multi-worker',
      per: 'per-worker',
      memory: 'memory',
      count: (n) => (n === 1 ? '1 CPU' : `${n} CPU workers`),
    };
  }
  return {
    device: 'GPU',
    unit: 'GPU',
    units: 'GPUs',
    single: '1-GPU',
    multi: 'multi-GPU',
    per: 'per-GPU',
    memory: 'GPU memory',
    count: (n) => `${n} GPU${n === 1 ? '' : 's'}`,
  };
}
