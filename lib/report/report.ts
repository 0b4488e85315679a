/** `writeReport`: a SweepDoc to REPORT.md plus every figure as SVG and PNG. */
import { promises as fsp } from 'fs';
import * as path from 'path';
import type { SweepDoc } from '../bench/result';
import { argumentError, IOError } from '../errors';
import { gpuModel, isCpuSweep, reportNetworks, reportPoints } from './data';
import { planFigures, type FigurePlan } from './figures';
import { deviceWords } from './names';
import { reportMarkdown } from './markdown';
import { checkReference, DELL_2017, type ReferenceNumbers } from './reference';
import { ChartLog, chooseFont, fontDrawsText, loadChartLibraries, renderSvg, svgToPng, type ModuleResolver } from './render';
import { checkPeerDoc, checkSweepDoc, type PeerDoc } from './schema';

/** Options of writeReport. */
export interface ReportOptions {
  /** Folder of REPORT.md and the figures; created when missing. */
  outDir: string;
  /** The PyTorch peer's results (a peer file's JSON) for Fig. 7 and its table. */
  peer?: PeerDoc;
  /** The published numbers to compare with; default DELL_2017; null leaves the comparison out. */
  reference?: ReferenceNumbers | null;
  /** The batch of the precision, scaling, reference and peer figures (default 128, the study's). */
  batch?: number;
  /** A .ttf/.otf file for the text of the PNGs; default: a sans-serif font found on the system. */
  fontFile?: string;
  /** The input files, listed in the report (default: none listed). */
  sources?: readonly string[];
  /** Things the caller knows the reader should (e.g. merged points that replaced others), listed with the warnings. */
  notes?: readonly string[];
  /** Where to load the chart libraries from (tests); default: Node's resolution from this package. */
  resolveModule?: ModuleResolver;
}

/** What writeReport wrote. */
export interface ReportOutput {
  /** Every file written, REPORT.md last. */
  files: string[];
  /** Every figure, drawn or skipped (with why). */
  figures: Array<{ number: number; id: string; title: string; skipped?: string }>;
  /** Things the reader should know (also listed in REPORT.md): no font for the PNGs, a peer on another GPU ... */
  warnings: string[];
}

function checkOptions(options: unknown): ReportOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    throw argumentError('an options object', 'options', options);
  const o = options as Record<string, unknown>;
  if (typeof o.outDir !== 'string' || o.outDir === '') throw argumentError('a folder path string', 'options.outDir', o.outDir);
  if (o.peer !== undefined) checkPeerDoc(o.peer, 'options.peer');
  if (o.reference !== undefined && o.reference !== null) checkReference(o.reference, 'options.reference');
  if (o.batch !== undefined && (typeof o.batch !== 'number' || !Number.isInteger(o.batch) || o.batch < 1)) {
    throw argumentError('a positive integer', 'options.batch', o.batch);
  }
  if (o.fontFile !== undefined && (typeof o.fontFile !== 'string' || o.fontFile === ''))
    throw argumentError('a font file path string', 'options.fontFile', o.fontFile);
  if (o.sources !== undefined && (!Array.isArray(o.sources) || o.sources.some((s) => typeof s !== 'string'))) {
    throw argumentError('an array of strings', 'options.sources', o.sources);
  }
  if (o.notes !== undefined && (!Array.isArray(o.notes) || o.notes.some((s) => typeof s !== 'string'))) {
    throw argumentError('an array of strings', 'options.notes', o.notes);
  }
  if (o.resolveModule !== undefined && typeof o.resolveModule !== 'function')
    throw argumentError('a function', 'options.resolveModule', o.resolveModule);
  return options as ReportOptions;
}

async function write(file: string, data: string | Buffer): Promise<void> {
  try {
    await fsp.writeFile(file, data);
  } catch (err) {
    throw new IOError(`cannot write ${file}: ${(err as Error).message}`, file, { cause: err });
  }
}

/** Figure files in outDir from an earlier report that this one does not write. */
async function staleFigures(outDir: string, figures: readonly FigurePlan[]): Promise<string[]> {
  const current = new Set(figures.filter((f) => f.spec !== undefined).flatMap((f) => [`${f.id}.svg`, `${f.id}.png`]));
  const names = await fsp.readdir(outDir).catch(() => [] as string[]);
  return names.filter((n) => /^fig-\d+-.*\.(svg|png)$/.test(n) && !current.has(n)).sort();
}

/**
 * Writes REPORT.md and every figure (fig-<n>-<what>.svg and .png) of a sweep into `options.outDir`:
 * images/s by precision, scaling over GPUs per network, the 2017 reference per network, images/s
 * by batch size, and the PyTorch peer; a figure whose data is missing is skipped and REPORT.md
 * says why. Tables give every number. Output depends only on the inputs (no clock, no host).
 *
 * Throws TypeError for arguments of the wrong shape, E_IO when a file cannot be written or the
 * font cannot be read, E_BACKEND_UNAVAILABLE when vega, vega-lite or @resvg/resvg-js is not installed.
 */
export async function writeReport(sweep: SweepDoc, options: ReportOptions): Promise<ReportOutput> {
  checkSweepDoc(sweep, 'sweep');
  checkOptions(options);
  const reference = options.reference === null ? undefined : (options.reference ?? DELL_2017);
  const batch = options.batch ?? 128;
  const points = reportPoints(sweep);
  const networks = reportNetworks(points);
  const gpu = gpuModel(sweep);
  const words = deviceWords(isCpuSweep(sweep));
  const figures = planFigures({ points, networks, gpu, words, batch, peer: options.peer, reference });
  const warnings: string[] = [...(options.notes ?? [])];

  const theirGpu =
    options.peer === undefined
      ? undefined
      : Object.values(options.peer)
          .map((n) => n.environment?.gpu?.name)
          .find((g) => g);
  if (theirGpu !== undefined && theirGpu !== gpu) {
    warnings.push(`the PyTorch peer ran on ${theirGpu}, this sweep on ${gpu}: their ratio is not a same-GPU comparison`);
  }
  if (sweep.commit?.includes(',')) warnings.push(`the results come from several commits (${sweep.commit})`);

  const outDir = options.outDir;
  try {
    await fsp.mkdir(outDir, { recursive: true });
  } catch (err) {
    throw new IOError(`cannot create the report folder ${outDir}: ${(err as Error).message}`, outDir, { cause: err });
  }

  const files: string[] = [];
  const drawn = figures.filter((f) => f.spec !== undefined);
  if (drawn.length > 0) {
    const libs = await loadChartLibraries(options.resolveModule);
    const font = chooseFont(options.fontFile);
    if (!fontDrawsText(libs, font)) {
      warnings.push(
        `no font found that resvg can draw text with (tried ${font.description}): the PNG figures have no text ` +
          '(the SVGs do). Give a .ttf file: `report build --font <file>` (options.fontFile)',
      );
    }
    const log = new ChartLog();
    for (const f of drawn) {
      const svg = await renderSvg(libs, f.spec as Record<string, unknown>, log);
      const svgFile = path.join(outDir, `${f.id}.svg`);
      const pngFile = path.join(outDir, `${f.id}.png`);
      await write(svgFile, svg);
      await write(pngFile, svgToPng(libs, svg, font));
      files.push(svgFile, pngFile);
    }
    for (const w of new Set(log.warnings)) warnings.push(`charts: ${w}`);
  }
  const stale = await staleFigures(outDir, figures);
  if (stale.length > 0) warnings.push(`figure files of an earlier report are still in ${outDir}: ${stale.join(', ')}`);

  const markdown = reportMarkdown({
    sweep,
    points,
    networks,
    gpu,
    words,
    batch,
    figures,
    peer: options.peer,
    reference,
    sources: options.sources ?? [],
    warnings,
  });
  const reportFile = path.join(outDir, 'REPORT.md');
  await write(reportFile, markdown);
  files.push(reportFile);
  return {
    files,
    figures: figures.map((f) => ({
      number: f.number,
      id: f.id,
      title: f.title,
      ...(f.skipped !== undefined ? { skipped: f.skipped } : {}),
    })),
    warnings,
  };
}
