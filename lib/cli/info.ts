/**
 * `tensorrt-node info`: what this installation is and what it can run, in the manner of
 * `node-llama-cpp inspect gpu`. The package and addon versions, the addon binary loaded and why
 * the loader came to it, what it was built with, the driver and every GPU (with the code the addon
 * has for it), each backend with its reason, glibc, the TensorRT module, the thread settings, and
 * every binary the package holds, read without loading them. A missing addon, driver or GPU is
 * reported, never an error: finding those out is what the command is for.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { backendStatus, type BackendStatus } from '../backends';
import { devices, type DeviceInfo } from '../device';
import { cudaVersionText, native, nativeLoadReport, nativePath, nodeFilesIn, PACKAGE_ROOT, type NativeBuildInfo } from '../native';
import { scanBinaryFile, type BinaryFacts } from './binary_scan';
import { bytes, table } from './format';
import { formatHelp, parseCommand, UsageError, type CommandSpec } from './options';

/** The info command's options. */
export const INFO: CommandSpec = {
  name: 'info',
  summary: 'Show this installation: versions, the addon binary loaded and why, CUDA, driver, GPUs, backends, glibc, threads, binaries.',
  usage: 'tensorrt-node info [--json]',
  options: [
    { name: 'json', type: 'boolean', help: 'Print the report as JSON (InfoReport in lib/cli/info.ts) for scripts and bug reports' },
  ],
  notes: [
    'The addon is looked for in this order: the file TENSORRT_NODE_ADDON names, then prebuilds/<platform>-<arch>/*.node\n' +
      '(the binaries shipped in the package), then build/Release (a local build); the first that loads is used.\n' +
      'A binary tagged cudaNN (tensorrt-node.cuda12.glibc.node) replaces it when the driver is older than its CUDA needs\n' +
      'or a GPU is older than its GPU code (CUDA 13 builds nothing below sm_75: Tesla P40 / M40 take the CUDA 12 build);\n' +
      'TENSORRT_NODE_CUDA=12 (or 13) asks for one.\n' +
      '"Binaries" lists every *.node file of prebuilds/ and build/, read without loading: the CUDA release and GPU code\n' +
      '(sm_XY: machine code for that GPU generation; compute_XY: PTX the driver compiles for newer GPUs on first use)\n' +
      'and the newest glibc it needs (a binary needing a newer glibc than this machine has cannot load).',
    'A GPU is usable when the addon has machine code for its generation or PTX it can compile, and the cuda backend\n' +
      'says why it is not otherwise. Threads: the cpu backend computes on a pool of TRTN_CPU_THREADS threads (one per\n' +
      "core by default; Builder({ threads }) gives an engine its own); builds and inferences run on the addon's threads,\n" +
      "never on Node's libuv pool (UV_THREADPOOL_SIZE), which fs, dns and crypto share.",
  ],
  examples: ['tensorrt-node info', 'tensorrt-node info --json > info.json'],
};

/** One GPU, with the code the loaded addon has for it. */
export interface GpuReport {
  index: number;
  name: string;
  sm: string;
  memoryBytes: number;
  multiprocessors: number;
  pciBusId: string;
  supported: boolean;
  reason: string;
  /** 'sm_90' (machine code), 'compute_90 (PTX, compiled on first use)', or 'none'. */
  code: string;
}

/** One *.node file of the package. */
export interface BinaryReport extends BinaryFacts {
  path: string;
  /** The folder it was found in, relative to the package: prebuilds/linux-x64, build/Release. */
  folder: string;
  /** node-gyp-build's name tags: tensorrt-node.glibc.cuda12.node -> ['glibc', 'cuda12']. */
  tags: string[];
  bytes: number;
  loaded: boolean;
  /** False when it needs a newer glibc than this machine's. */
  glibcOk?: boolean;
}

/** Everything `info` reports. */
export interface InfoReport {
  kind: 'tensorrt-node-info';
  version: 1;
  package: { name: string; version: string; root: string };
  node: { version: string; napi: string; platform: string; arch: string; glibc: string | null };
  addon: {
    loaded: boolean;
    path: string | null;
    /** How the loader came to this file (or why nothing loaded). */
    why: string;
    build: Omit<NativeBuildInfo, 'ops' | 'backendOps'> | null;
    error: { code: string; message: string } | null;
  };
  driver: { cudaVersion: string | null; driverApiVersion: number; kernelModule: string | null; reason: string };
  gpus: GpuReport[];
  backends: BackendStatus[];
  tensorrtModule: { path: string | null; from: string; exists: boolean; available: boolean; reason: string };
  threads: {
    cores: number;
    cpuBackend: { threads: number; TRTN_CPU_THREADS: string | null };
    uvThreadpool: { size: number; UV_THREADPOOL_SIZE: string | null };
  };
  binaries: BinaryReport[];
}

function packageJson(root: string): { name: string; version: string } {
  return JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: string; version: string };
}

/** The glibc this process runs on (null on musl and other systems). */
function glibcVersion(): string | null {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime ?? null;
}

const same = (a: string, b: string) => {
  try {
    return fs.realpathSync(a) === fs.realpathSync(b);
  } catch {
    return path.resolve(a) === path.resolve(b);
  }
};

/** The addon section: loads it (which may fail: that is reported). */
function addonReport(): InfoReport['addon'] {
  try {
    const { ops: _ops, backendOps: _backendOps, ...build } = native().buildInfo();
    const report = nativeLoadReport();
    const skipped = report !== undefined && report.skipped.length > 0 ? `; before it, ${report.skipped.join('; ')}` : '';
    const replaced = report?.replaced !== undefined ? `, instead of ${report.replaced}` : '';
    const why = report !== undefined ? `${report.why} (${report.layout} layout)${replaced}${skipped}` : 'loaded';
    return { loaded: true, path: nativePath() ?? report?.file ?? '', why, build, error: null };
  } catch (err) {
    const e = err as Error & { code?: string };
    return {
      loaded: false,
      path: null,
      why: 'no candidate loaded (see error)',
      build: null,
      error: { code: e.code ?? 'E_INTERNAL', message: e.message },
    };
  }
}

/** The code the addon has for a GPU: machine code of its generation (same major, minor at most its own), else PTX at most its sm. */
export function codeFor(major: number, minor: number, archs: readonly string[]): string {
  const num = (a: string) => Number(a.replace(/\D/g, ''));
  const sm = major * 10 + minor;
  const sass = archs.filter((a) => a.startsWith('sm_') && Math.floor(num(a) / 10) === major && num(a) <= sm);
  if (sass.length > 0) return sass.sort((a, b) => num(b) - num(a))[0];
  const ptx = archs.filter((a) => a.startsWith('compute_') && num(a) <= sm);
  if (ptx.length > 0) return `${ptx.sort((a, b) => num(b) - num(a))[0]} (PTX, compiled by the driver on first use)`;
  return 'none';
}

function gpuReport(d: DeviceInfo, archs: readonly string[]): GpuReport {
  return {
    index: d.index,
    name: d.name,
    sm: `sm_${d.major}${d.minor}`,
    memoryBytes: d.totalMemory,
    multiprocessors: d.multiprocessors,
    pciBusId: d.pciBusId,
    supported: d.supported,
    reason: d.supported ? '' : d.unsupportedReason,
    code: codeFor(d.major, d.minor, archs),
  };
}

/** The version in /proc/driver/nvidia/version's text ('... Kernel Module  535.104.05 ...', '... Open Kernel Module for x86_64  580.95.05 ...'). */
export function kernelModuleVersion(text: string): string | null {
  return /Kernel Module\s+(?:for\s+\S+\s+)?(\d+(?:\.\d+)+)/.exec(text)?.[1] ?? null;
}

/** The NVIDIA kernel module's version, from /proc; null where there is none. */
function kernelModule(): string | null {
  try {
    return kernelModuleVersion(fs.readFileSync('/proc/driver/nvidia/version', 'utf8'));
  } catch {
    return null;
  }
}

/** Driver and GPUs (empty when the addon did not load). */
function gpuSection(addon: InfoReport['addon']): Pick<InfoReport, 'driver' | 'gpus'> {
  const module = kernelModule();
  if (!addon.loaded)
    return { driver: { cudaVersion: null, driverApiVersion: 0, kernelModule: module, reason: 'the addon did not load' }, gpus: [] };
  const list = devices();
  const v = list.driverVersion;
  const cudaVersion = v > 0 ? cudaVersionText(v) : null;
  return {
    driver: { cudaVersion, driverApiVersion: v, kernelModule: module, reason: list.reason },
    gpus: list.devices.map((d) => gpuReport(d, addon.build?.cudaArchs ?? [])),
  };
}

/** Where the TensorRT module is looked for (native/backends/tensorrt: TRTN_TENSORRT_MODULE, else next to the addon's own file). */
function tensorrtModule(
  addon: InfoReport['addon'],
  backends: readonly BackendStatus[],
  env: NodeJS.ProcessEnv,
): InfoReport['tensorrtModule'] {
  const trt = backends.find((b) => b.name === 'tensorrt');
  const own = env.TRTN_TENSORRT_MODULE;
  let file: string | null = own ?? null;
  if (file === null && addon.path !== null) file = path.join(path.dirname(fs.realpathSync(addon.path)), 'tensorrt_node_trt.so');
  return {
    path: file,
    from: own ? 'TRTN_TENSORRT_MODULE' : 'next to the addon',
    exists: file !== null && fs.existsSync(file),
    available: trt?.available ?? false,
    reason: trt === undefined ? 'the addon did not load' : trt.reason,
  };
}

/** The thread settings this process runs with. */
function threads(env: NodeJS.ProcessEnv): InfoReport['threads'] {
  const cores = os.availableParallelism();
  const cpu = env.TRTN_CPU_THREADS ?? null;
  const uv = env.UV_THREADPOOL_SIZE ?? null;
  const positive = (s: string | null) => (s !== null && /^\s*\d+\s*$/.test(s) && Number(s) > 0 ? Number(s) : undefined);
  return {
    cores,
    cpuBackend: { threads: positive(cpu) ?? cores, TRTN_CPU_THREADS: cpu },
    uvThreadpool: { size: Math.min(1024, positive(uv) ?? 4), UV_THREADPOOL_SIZE: uv },
  };
}

/** The folders in `dir`, sorted; none when it does not exist. */
function subfolders(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => path.join(dir, d.name))
      .sort();
  } catch {
    return [];
  }
}

/** Every *.node of prebuilds/* and build/{Release,Debug}, and TENSORRT_NODE_ADDON's file, read without loading. */
export async function listBinaries(
  root: string,
  loaded: string | null,
  env: NodeJS.ProcessEnv,
  glibc: string | null,
): Promise<BinaryReport[]> {
  const folders = [...subfolders(path.join(root, 'prebuilds')), path.join(root, 'build', 'Release'), path.join(root, 'build', 'Debug')];
  const files = folders.flatMap((f) => nodeFilesIn(f));
  const own = env.TENSORRT_NODE_ADDON;
  if (own && fs.existsSync(own) && !files.some((f) => same(f, own))) files.push(path.resolve(own));
  const out: BinaryReport[] = [];
  for (const file of files) out.push(await binaryReport(root, file, loaded, glibc));
  return out;
}

/** One binary: where, its name tags, its size, and what it was built for. */
async function binaryReport(root: string, file: string, loaded: string | null, glibc: string | null): Promise<BinaryReport> {
  const facts = await scanBinaryFile(file);
  const folder = path.relative(root, path.dirname(file)).split(path.sep).join('/');
  const [, ...tags] = path.basename(file, '.node').split('.');
  const older = (a: string, b: string) => a.localeCompare(b, undefined, { numeric: true }) <= 0;
  return {
    ...facts,
    path: file,
    folder: folder.startsWith('..') ? path.dirname(file) : folder,
    tags,
    bytes: fs.statSync(file).size,
    loaded: loaded !== null && same(file, loaded),
    ...(facts.glibc !== undefined && glibc !== null ? { glibcOk: older(facts.glibc, glibc) } : {}),
  };
}

/** Gathers the report (the addon is loaded if it can be). */
export async function gatherInfo(root: string = PACKAGE_ROOT, env: NodeJS.ProcessEnv = process.env): Promise<InfoReport> {
  const pkg = packageJson(root);
  const glibc = glibcVersion();
  const addon = addonReport();
  const backends = addon.loaded ? backendStatus() : [];
  return {
    kind: 'tensorrt-node-info',
    version: 1,
    package: { name: pkg.name, version: pkg.version, root },
    node: { version: process.versions.node, napi: process.versions.napi ?? '', platform: process.platform, arch: process.arch, glibc },
    addon,
    ...gpuSection(addon),
    backends,
    tensorrtModule: tensorrtModule(addon, backends, env),
    threads: threads(env),
    binaries: await listBinaries(root, addon.path, env, glibc),
  };
}

/** '- ' for empty text. */
const dash = (s: string | null | undefined) => (s === null || s === undefined || s === '' ? '-' : s);

const indent = (text: string) => text.replace(/^/gm, '  ');

/** Label / value lines under a heading. */
function block(title: string, rows: Array<[string, string]>): string[] {
  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  return [title, ...rows.map(([k, v]) => `  ${k.padEnd(width)}${v}`)];
}

function addonLines(r: InfoReport): string[] {
  const a = r.addon;
  if (!a.loaded || a.build === null)
    return block('Addon', [
      ['loaded', 'no'],
      ['error', `${a.error?.code}: ${a.error?.message}`],
    ]);
  const b = a.build;
  return block('Addon', [
    ['file', dash(a.path)],
    ['chosen', a.why],
    ['version', `${b.version} (${b.buildSystem}, ${b.compiler}, N-API ${b.napiVersion})`],
    ['backends', b.backends.join(', ')],
    ['CUDA', b.cuda ? `${b.cudaVersion}: ${b.cudaArchs.join(' ')}` : `none: ${dash(b.note)}`],
  ]);
}

function gpuLines(r: InfoReport): string[] {
  const d = r.driver;
  const driver =
    d.cudaVersion === null
      ? `none: ${dash(d.reason)}`
      : `CUDA ${d.cudaVersion} (driver API ${d.driverApiVersion})${d.kernelModule ? `, kernel module ${d.kernelModule}` : ''}`;
  const lines = block('Driver', [['version', driver]]);
  if (r.gpus.length === 0) return [...lines, '', 'GPUs: none'];
  const rows = r.gpus.map((g) => [
    String(g.index),
    g.name,
    g.sm,
    bytes(g.memoryBytes),
    String(g.multiprocessors),
    g.code,
    g.supported ? 'yes' : `no: ${g.reason}`,
  ]);
  return [
    ...lines,
    '',
    'GPUs',
    indent(
      table(['#', 'name', 'sm', 'memory', 'SMs', 'code in the addon', 'supported'], rows, [true, false, false, true, true, false, false]),
    ),
  ];
}

function backendLines(r: InfoReport): string[] {
  const rows: Array<[string, string]> = r.backends.map((b) => [b.name, b.available ? 'available' : `unavailable: ${b.reason}`]);
  const t = r.tensorrtModule;
  return [
    ...block('Backends', rows.length > 0 ? rows : [['-', 'the addon did not load']]),
    '',
    ...block('TensorRT module', [
      ['file', `${dash(t.path)} (${t.from}; ${t.exists ? 'present' : 'absent'})`],
      ['status', t.available ? 'loaded' : 'not usable (the tensorrt backend above says why)'],
    ]),
  ];
}

function threadLines(r: InfoReport): string[] {
  const t = r.threads;
  const cpu =
    t.cpuBackend.TRTN_CPU_THREADS === null ? 'TRTN_CPU_THREADS unset: one per core' : `TRTN_CPU_THREADS=${t.cpuBackend.TRTN_CPU_THREADS}`;
  const uv =
    t.uvThreadpool.UV_THREADPOOL_SIZE === null ? "unset: Node's default" : `UV_THREADPOOL_SIZE=${t.uvThreadpool.UV_THREADPOOL_SIZE}`;
  return block('Threads', [
    ['cores', String(t.cores)],
    ['cpu backend', `${t.cpuBackend.threads} (${cpu}; Builder({ threads }) gives an engine its own pool)`],
    ['libuv pool', `${t.uvThreadpool.size} (${uv}; fs, dns and crypto use it, the addon does not)`],
  ]);
}

function binaryLines(r: InfoReport): string[] {
  if (r.binaries.length === 0) return ['Binaries in the package: none (no prebuilds/ or build/ *.node files)'];
  const rows = r.binaries.map((b) => [
    `${b.folder}/${path.basename(b.path)}`,
    b.tags.length > 0 ? b.tags.join(',') : '-',
    dash(b.cudaVersion),
    b.cudaArchs.length > 0 ? b.cudaArchs.join(' ') : b.format === 'ELF64' ? 'no GPU code' : b.format,
    `${dash(b.glibc)}${b.glibcOk === false ? ' (too new here)' : ''}`,
    bytes(b.bytes),
    b.loaded ? 'loaded' : '',
  ]);
  return [
    'Binaries in the package',
    indent(table(['file', 'tags', 'CUDA', 'GPU code', 'needs glibc', 'size', ''], rows, [false, false, false, false, false, true, false])),
  ];
}

/** The report as text. */
export function formatInfo(r: InfoReport): string {
  const head = `${r.package.name} ${r.package.version} (Node.js ${r.node.version}, N-API ${r.node.napi}, ${r.node.platform}-${r.node.arch}, glibc ${dash(r.node.glibc)})`;
  return [head, '', ...addonLines(r), '', ...gpuLines(r), '', ...backendLines(r), '', ...threadLines(r), '', ...binaryLines(r)].join('\n');
}

/** Runs `info`; resolves to the exit code (0 even when the addon or a GPU is missing: the report says so). */
export async function runInfo(argv: readonly string[], out: (s: string) => void): Promise<number> {
  const { values, positionals } = parseCommand(INFO, argv);
  if (values.help === true) {
    out(formatHelp(INFO));
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`tensorrt-node info: takes no file arguments, got ${positionals.join(' ')}`);
  const report = await gatherInfo();
  out(values.json === true ? JSON.stringify(report, null, 2) : formatInfo(report));
  return 0;
}
