/**
 * What an addon binary was built for, read from the file without loading it: the GPU code in its
 * CUDA fatbinary (one entry per kernel image: SASS for sm_XY, PTX for compute_XY), the CUDA
 * release nvcc recorded in it, and the newest glibc and libstdc++ symbol versions it asks the
 * dynamic loader for. `tensorrt-node info` lists every binary the package holds with these facts,
 * including the ones that were not (or could not be) loaded.
 */
import { promises as fsp } from 'fs';

/** What a binary says about itself. */
export interface BinaryFacts {
  /** 'ELF64' when the file could be read; otherwise why not ('not an ELF file'). */
  readonly format: string;
  /** The CUDA toolkit release nvcc recorded ('13.0'); absent in a host-only build. */
  readonly cudaVersion?: string;
  /** GPU code, sorted: 'sm_75' (SASS), 'compute_90' (PTX); empty without a fatbinary. */
  readonly cudaArchs: string[];
  /** The newest GLIBC_ symbol version it needs ('2.34'): the oldest glibc that can load it. */
  readonly glibc?: string;
  /** The newest GLIBCXX_ version it needs, when it links libstdc++ dynamically. */
  readonly glibcxx?: string;
}

interface Section {
  name: string;
  offset: number;
  size: number;
}

/** The section table of a 64-bit little-endian ELF file, or undefined for anything else. */
function elfSections(b: Buffer): Section[] | undefined {
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2 || b[5] !== 1) return undefined;
  const shoff = Number(b.readBigUInt64LE(0x28));
  const entsize = b.readUInt16LE(0x3a);
  const count = b.readUInt16LE(0x3c);
  const strndx = b.readUInt16LE(0x3e);
  if (entsize < 0x40 || shoff + count * entsize > b.length || strndx >= count) return undefined;
  const raw = Array.from({ length: count }, (_, i) => {
    const o = shoff + i * entsize;
    return { nameAt: b.readUInt32LE(o), offset: Number(b.readBigUInt64LE(o + 0x18)), size: Number(b.readBigUInt64LE(o + 0x20)) };
  });
  const names = raw[strndx];
  return raw.map((s) => {
    const start = names.offset + s.nameAt;
    const end = b.indexOf(0, start);
    return { name: b.toString('latin1', start, end < 0 ? start : end), offset: s.offset, size: s.size };
  });
}

const FATBIN_MAGIC = 0xba55ed50;

/** The kernel images of a .nv_fatbin section: each container's entries (kind 1 PTX, 2 ELF; the arch at byte 28). */
function fatbinArchs(b: Buffer, s: Section): string[] {
  const archs = new Set<string>();
  const end = Math.min(b.length, s.offset + s.size);
  let p = s.offset;
  while (p + 16 <= end) {
    if (b.readUInt32LE(p) !== FATBIN_MAGIC) {
      p += 8; // containers are 8-byte aligned
      continue;
    }
    const body = p + b.readUInt16LE(p + 6);
    const bodyEnd = Math.min(end, body + Number(b.readBigUInt64LE(p + 8)));
    for (let q = body; q + 32 <= bodyEnd;) {
      const kind = b.readUInt16LE(q);
      if (kind !== 1 && kind !== 2) break;
      const headerSize = b.readUInt32LE(q + 4);
      if (headerSize < 32) break; // not an entry: stop rather than loop
      archs.add(`${kind === 1 ? 'compute' : 'sm'}_${b.readUInt32LE(q + 28)}`);
      q += headerSize + Number(b.readBigUInt64LE(q + 8));
    }
    p = Math.max(bodyEnd, p + 8);
  }
  return [...archs].sort(archOrder);
}

/** sm_75 < sm_80 < ... < compute_90: SASS by number, then PTX. */
function archOrder(a: string, b: string): number {
  const key = (s: string) => (s.startsWith('compute') ? 10000 : 0) + Number(s.replace(/\D/g, ''));
  return key(a) - key(b);
}

/** The newest version of `prefix`x.y[.z] among the dynamic strings ('2.34' for GLIBC_2.34). */
function newestVersion(text: string, prefix: string): string | undefined {
  const found = [...text.matchAll(new RegExp(`(?:^|\\0)${prefix}(\\d+(?:\\.\\d+)+)(?=\\0)`, 'g'))].map((m) => m[1]);
  const cmp = (x: string, y: string) => {
    const a = x.split('.').map(Number);
    const c = y.split('.').map(Number);
    for (let i = 0; i < Math.max(a.length, c.length); i++) if ((a[i] ?? 0) !== (c[i] ?? 0)) return (a[i] ?? 0) - (c[i] ?? 0);
    return 0;
  };
  return found.sort(cmp).pop();
}

/**
 * The CUDA release of the binary: the addon's own marker (native/core/build_info.cc), else what
 * NVIDIA's nvcc writes ('Cuda compilation tools, release 13.0, V13.0.88'; Debian's nvcc does not).
 * @internal
 */
export function cudaRelease(b: Buffer): string | undefined {
  for (const marker of ['tensorrt-node built with CUDA release ', 'Cuda compilation tools, release ']) {
    const at = b.indexOf(marker, 0, 'latin1');
    if (at >= 0) return /^\d+\.\d+/.exec(b.toString('latin1', at + marker.length, at + marker.length + 16))?.[0];
  }
  return undefined;
}

/** Reads the facts of one binary; a file that is not ELF64 gets `format` saying so and no facts. */
export function scanBinary(b: Buffer): BinaryFacts {
  const sections = elfSections(b);
  if (sections === undefined) return { format: 'not a 64-bit little-endian ELF file', cudaArchs: [] };
  const fatbin = sections.find((s) => s.name === '.nv_fatbin');
  const dynstr = sections.find((s) => s.name === '.dynstr');
  const dyn = dynstr === undefined ? '' : `\0${b.toString('latin1', dynstr.offset, Math.min(b.length, dynstr.offset + dynstr.size))}`;
  const glibc = newestVersion(dyn, 'GLIBC_');
  const glibcxx = newestVersion(dyn, 'GLIBCXX_');
  const cudaVersion = fatbin === undefined ? undefined : cudaRelease(b);
  return {
    format: 'ELF64',
    cudaArchs: fatbin === undefined ? [] : fatbinArchs(b, fatbin),
    ...(cudaVersion !== undefined ? { cudaVersion } : {}),
    ...(glibc !== undefined ? { glibc } : {}),
    ...(glibcxx !== undefined ? { glibcxx } : {}),
  };
}

/** scanBinary of a file. */
export async function scanBinaryFile(file: string): Promise<BinaryFacts> {
  return scanBinary(await fsp.readFile(file));
}
