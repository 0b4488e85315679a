/**
 * `tensorrt-node report merge|build`: result JSON (bench rank files, sweeps) merged into one
 * sweep, and a sweep turned into REPORT.md with figures as SVG and PNG (docs/report.md).
 */
import { promises as fsp } from 'fs';
import * as path from 'path';
import type { BenchResult, SweepDoc } from '../bench/result';
import { IOError } from '../errors';
import { gpuModel, isCpuSweep } from '../report/data';
import { mergeResults } from '../report/merge';
import { gpuFolderName } from '../report/names';
import { writeReport } from '../report/report';
import { readPeerFile, readResultFile, type PeerDoc } from '../report/schema';
import { formatHelp, intOption, parseCommand, UsageError, type CommandSpec, type ParsedArgs } from './options';

const INPUTS_NOTE =
  'Inputs are JSON result files: `tensorrt-node bench --json` results (kind tensorrt-node-bench; one per GPU\n' +
  'for a multi-GPU run, each with its rank) and sweeps (kind tensorrt-node-sweep). Rank files of one run\n' +
  '(same network, precision, batch and rank.size) become one point whose images/s is the sum over its GPUs;\n' +
  'every rank 0..size-1 must be there exactly once. All inputs must be from one GPU model and agree on\n' +
  'whether transfers are timed and CUDA graphs used; no point may appear twice, unless --duplicates last:\n' +
  "then the later file's point wins (list a multi-GPU machine's sweep last, so its 1-GPU points are the\n" +
  'base of its scaling: ratios within one run), and each replacement is printed.';

/** `tensorrt-node report merge`. */
export const REPORT_MERGE: CommandSpec = {
  name: 'report merge',
  summary: 'Merge bench rank files and sweeps into one sweep JSON (kind tensorrt-node-sweep).',
  usage: 'tensorrt-node report merge <result.json...> [-o merged.json]',
  options: [
    { name: 'output', short: 'o', type: 'string', value: 'file', help: 'Write the merged sweep here (default: print it on stdout)' },
    {
      name: 'duplicates',
      type: 'string',
      value: 'error|last',
      help: "A point given twice: refuse (error) or keep the later file's (last)",
      default: 'error',
    },
  ],
  notes: [INPUTS_NOTE],
  examples: [
    'tensorrt-node report merge rank0.json rank1.json -o alexnet-int8-2gpu.json',
    'tensorrt-node report merge sweep-1gpu.json rank*.json -o results/H200/sweep.json',
  ],
};

/** `tensorrt-node report build`. */
export const REPORT_BUILD: CommandSpec = {
  name: 'report build',
  summary: 'Write REPORT.md and the figures (SVG and PNG) of one GPU model from result JSON.',
  usage: 'tensorrt-node report build <sweep.json...> [--peer peer.json] [-o dir]',
  options: [
    {
      name: 'output',
      short: 'o',
      type: 'string',
      value: 'dir',
      help: 'Folder of REPORT.md and the figures (created if missing)',
      default: 'results/<gpu-model>',
    },
    { name: 'peer', type: 'string', value: 'peer.json', help: 'PyTorch peer results (scripts/peers) for Fig. 7 and its table' },
    { name: 'batch', type: 'string', value: 'N', help: 'Batch of the precision, scaling, 2017 and peer figures', default: '128' },
    {
      name: 'font',
      type: 'string',
      value: 'file.ttf',
      help: 'Font for the text of the PNGs',
      default: 'a sans-serif font found on the system',
    },
    { name: 'noReference', type: 'boolean', help: 'Leave out the comparison with the 2017 numbers' },
    {
      name: 'duplicates',
      type: 'string',
      value: 'error|last',
      help: "A point given twice: refuse (error) or keep the later file's (last)",
      default: 'error',
    },
  ],
  notes: [
    `${INPUTS_NOTE}\nSeveral files are merged first, as \`report merge\` does.`,
    'Figures: 1 images/s by precision (1 GPU); 2.. scaling over GPUs per network with the ideal line;\n' +
      'then each network next to the 2017 study (Dell, P40/M40, batch 128, log scale); images/s by batch size\n' +
      '(log2 axis, out-of-memory batches marked); tensorrt-node next to PyTorch (with --peer). A figure whose\n' +
      'data is missing (one GPU only, no peer file) is skipped, and REPORT.md says why. Tables give every\n' +
      'point, the batch limits (the largest batch that ran; the smallest out of memory), scaling efficiency\n' +
      'against the 0.97 target, and the ratios. A report of cpu results says CPU (and CPU workers) instead of GPU.',
    'Charts are vega-lite specifications drawn by vega (SVG) and resvg (PNG): vega, vega-lite and @resvg/resvg-js,\n' +
      'optional dependencies npm installs with tensorrt-node (else: npm install vega vega-lite @resvg/resvg-js).',
  ],
  examples: [
    'tensorrt-node report build results/H200/sweep.json --peer results/H200/torch-peer.json',
    'tensorrt-node report build sweep.json rank0.json rank1.json -o /tmp/report --batch 64',
  ],
};

/** `tensorrt-node report`: the two subcommands. */
export const REPORT: CommandSpec = {
  name: 'report',
  summary: 'Merge result JSON and write REPORT.md with figures (SVG, PNG): `report merge`, `report build`.',
  usage: 'tensorrt-node report <merge|build> [files...] [options]',
  options: [],
  notes: [
    'Subcommands:\n' +
      `  merge  ${REPORT_MERGE.summary}\n` +
      `  build  ${REPORT_BUILD.summary}\n` +
      'Run `tensorrt-node report <subcommand> --help` for its options.',
    INPUTS_NOTE,
  ],
  examples: [...(REPORT_MERGE.examples ?? []).slice(0, 1), ...(REPORT_BUILD.examples ?? []).slice(0, 1)],
};

function duplicatesOption(
  spec: CommandSpec,
  values: ParsedArgs['values'],
  replaced: string[],
): { duplicates: 'error' | 'last'; onReplaced: (m: string) => void } {
  const d = (values.duplicates as string | undefined) ?? 'error';
  if (d !== 'error' && d !== 'last') throw new UsageError(`tensorrt-node ${spec.name}: --duplicates is 'error' or 'last', got '${d}'`);
  return { duplicates: d, onReplaced: (m) => replaced.push(m) };
}

async function readInputs(files: readonly string[]): Promise<Array<BenchResult | SweepDoc>> {
  const docs: Array<BenchResult | SweepDoc> = [];
  for (const f of files) docs.push(await readResultFile(f));
  return docs;
}

async function runMerge(argv: readonly string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const { values, positionals } = parseCommand(REPORT_MERGE, argv);
  if (values.help === true) {
    out(formatHelp(REPORT_MERGE));
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('tensorrt-node report merge: give at least one result JSON file');
  const output = values.output as string | undefined;
  if (output === '') throw new UsageError('tensorrt-node report merge: -o needs a file name');
  const replaced: string[] = [];
  const duplicates = duplicatesOption(REPORT_MERGE, values, replaced);
  const merged = mergeResults(await readInputs(positionals), { sources: positionals, ...duplicates });
  for (const r of replaced) err(`replaced: ${r}`);
  const text = `${JSON.stringify(merged, null, 1)}\n`;
  if (output === undefined) {
    out(text.trimEnd());
    return 0;
  }
  try {
    await fsp.writeFile(output, text);
  } catch (err) {
    throw new IOError(`cannot write ${output}: ${(err as Error).message}`, output, { cause: err });
  }
  const gpus = new Set(merged.points.map((p) => p.gpus));
  out(
    `wrote ${output}: ${merged.points.length} point(s) from ${positionals.length} file(s), ` +
      `${[...gpus].sort((a, b) => a - b).join('/')} ${isCpuSweep(merged) ? 'CPU worker(s)' : 'GPU(s)'}, ${gpuModel(merged)}`,
  );
  return 0;
}

async function runBuild(argv: readonly string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const { values, positionals } = parseCommand(REPORT_BUILD, argv);
  if (values.help === true) {
    out(formatHelp(REPORT_BUILD));
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('tensorrt-node report build: give at least one sweep or result JSON file');
  for (const name of ['output', 'peer', 'font'] as const) {
    if (values[name] === '') throw new UsageError(`tensorrt-node report build: --${name} needs a value`);
  }
  const batch = intOption(REPORT_BUILD, 'batch', values.batch as string | undefined, 1, 1 << 20);
  const replaced: string[] = [];
  const duplicates = duplicatesOption(REPORT_BUILD, values, replaced);
  const peerFile = values.peer as string | undefined;
  const docs = await readInputs(positionals);
  const peer: PeerDoc | undefined = peerFile === undefined ? undefined : await readPeerFile(peerFile);
  const sweep = mergeResults(docs, { sources: positionals, ...duplicates });
  const outDir = (values.output as string | undefined) ?? path.join('results', gpuFolderName(gpuModel(sweep)));
  const result = await writeReport(sweep, {
    outDir,
    peer,
    batch,
    fontFile: values.font as string | undefined,
    reference: values.noReference === true ? null : undefined,
    sources: [...positionals, ...(peerFile !== undefined ? [`${peerFile} (--peer)`] : [])],
    notes: replaced.length > 0 ? [`--duplicates last: ${replaced.length} point(s) replaced by a later file's: ${replaced.join('; ')}`] : [],
  });
  const drawn = result.figures.filter((f) => f.skipped === undefined);
  out(
    `wrote ${path.join(outDir, 'REPORT.md')} and ${drawn.length} figure(s) as SVG and PNG (${sweep.points.length} point(s), ${gpuModel(sweep)})`,
  );
  for (const f of result.figures) {
    out(f.skipped === undefined ? `  Fig. ${f.number}  ${f.id}.svg/.png  ${f.title}` : `  Fig. ${f.number}  skipped: ${f.skipped}`);
  }
  for (const w of result.warnings) err(`warning: ${w}`);
  return 0;
}

/** Runs `report`; resolves to the exit code. */
export async function runReport(argv: readonly string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    out(formatHelp(REPORT));
    return 0;
  }
  if (sub === undefined) throw new UsageError('tensorrt-node report: give a subcommand: merge or build');
  if (sub === 'merge') return runMerge(rest, out, err);
  if (sub === 'build') return runBuild(rest, out, err);
  throw new UsageError(`tensorrt-node report: unknown subcommand '${sub}' (subcommands: merge, build)`);
}
