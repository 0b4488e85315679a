/**
 * Draws vega-lite specifications: vega-lite compiles them to vega, vega's headless View renders
 * SVG, resvg turns the SVG into PNG. The three libraries are optional dependencies (npm installs
 * them unless told --omit=optional, or when resvg has no binary for the platform), loaded on first
 * use, so the rest of the package works without them; when one is missing the error says how to
 * install them. vega and vega-lite are ES modules, loaded with import() from this CommonJS build.
 */
import * as fs from 'fs';
import { pathToFileURL } from 'url';
import { IOError, TensorRTNodeError } from '../errors';
import { packageInstallHint } from '../install_hints';
import type { VegaLiteSpec } from './figures';

/** The parts of vega, vega-lite and resvg-js the report uses. */
export interface ChartLibraries {
  vega: {
    parse(spec: unknown, config?: unknown, options?: unknown): unknown;
    View: new (
      runtime: unknown,
      options: { renderer: 'none'; logger?: unknown },
    ) => { toSVG(scale?: number): Promise<string>; finalize(): void };
  };
  vegaLite: { compile(spec: unknown, options?: { logger?: unknown }): { spec: unknown } };
  Resvg: new (
    svg: string,
    options?: ResvgOptions,
  ) => { render(): { asPng(): Uint8Array; pixels: Uint8Array; width: number; height: number } };
}

/** The options of resvg-js that the report sets. */
export interface ResvgOptions {
  font?: { fontFiles?: string[]; loadSystemFonts?: boolean; sansSerifFamily?: string; defaultFontFamily?: string };
  fitTo?: { mode: 'zoom'; value: number };
  background?: string;
  logLevel?: 'off' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
}

/** Finds a package's entry file; the default is Node's own resolution from this module. */
export type ModuleResolver = (name: string) => string;

/** The npm packages the charts need. */
export const CHART_PACKAGES = ['vega', 'vega-lite', '@resvg/resvg-js'] as const;

// Code made by the Function constructor is not rewritten by tsc, so import() stays a real dynamic
// import (tsc's CommonJS output would turn a literal import() into require(), which cannot load
// ES modules on every Node version this package supports).
const dynamicImport = new Function('url', 'return import(url)') as (url: string) => Promise<Record<string, unknown>>;

let loaded: Promise<ChartLibraries> | undefined;

function unavailable(pkg: string, err: unknown): TensorRTNodeError {
  const reason = (err as Error).message.split('\n')[0];
  return new TensorRTNodeError(
    'E_BACKEND_UNAVAILABLE',
    `the report's charts need ${CHART_PACKAGES.join(', ')} (optional dependencies of tensorrt-node), and ${pkg} cannot be ` +
      `loaded: ${reason}. Install them: ${packageInstallHint(CHART_PACKAGES)}`,
    { cause: err },
  );
}

async function load(resolve: ModuleResolver): Promise<ChartLibraries> {
  const modules: Record<string, unknown> = {};
  for (const pkg of CHART_PACKAGES) {
    let entry: string;
    try {
      entry = resolve(pkg);
    } catch (err) {
      throw unavailable(pkg, err);
    }
    try {
      // resvg-js is CommonJS with a native binding per platform; vega and vega-lite are ES modules.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      modules[pkg] = pkg === '@resvg/resvg-js' ? require(entry) : await dynamicImport(pathToFileURL(entry).href);
    } catch (err) {
      throw unavailable(pkg, err);
    }
  }
  const vega = modules.vega as ChartLibraries['vega'];
  const vegaLite = modules['vega-lite'] as ChartLibraries['vegaLite'];
  const Resvg = (modules['@resvg/resvg-js'] as { Resvg?: ChartLibraries['Resvg'] }).Resvg;
  if (typeof vega?.View !== 'function' || typeof vega.parse !== 'function')
    throw unavailable('vega', new Error('it has no View or parse export'));
  if (typeof vegaLite?.compile !== 'function') throw unavailable('vega-lite', new Error('it has no compile export'));
  if (typeof Resvg !== 'function') throw unavailable('@resvg/resvg-js', new Error('it has no Resvg export'));
  return { vega, vegaLite, Resvg };
}

/**
 * Loads vega, vega-lite and resvg-js once (E_BACKEND_UNAVAILABLE naming the missing package and
 * the install command when one cannot be loaded). A custom `resolve` (tests) bypasses the cache.
 */
export function loadChartLibraries(resolve?: ModuleResolver): Promise<ChartLibraries> {
  if (resolve !== undefined) return load(resolve);
  loaded ??= load((name) => require.resolve(name)).catch((err: unknown) => {
    loaded = undefined;
    throw err;
  });
  return loaded;
}

/**
 * Collects vega's and vega-lite's warnings instead of printing them. The methods are bound
 * functions: vega copies them onto its View and calls them with the View as `this`.
 */
export class ChartLog {
  readonly warnings: string[] = [];
  private current = 2;

  readonly level = (value?: number): number | this => {
    if (value === undefined) return this.current;
    this.current = value;
    return this;
  };

  readonly error = (...args: unknown[]): this => {
    this.warnings.push(`error: ${args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ')}`);
    return this;
  };

  readonly warn = (...args: unknown[]): this => {
    this.warnings.push(args.map(String).join(' '));
    return this;
  };

  readonly info = (): this => this;

  readonly debug = (): this => this;
}

/** The SVG of a vega-lite specification, drawn by vega's headless View. */
export async function renderSvg(libs: ChartLibraries, spec: VegaLiteSpec, log = new ChartLog()): Promise<string> {
  const compiled = libs.vegaLite.compile(spec, { logger: log }).spec;
  const view = new libs.vega.View(libs.vega.parse(compiled), { renderer: 'none', logger: log });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Which font resvg draws text with, and how it was found. */
export interface FontChoice {
  fontFiles: string[];
  loadSystemFonts: boolean;
  sansSerifFamily?: string;
  /** 'DejaVu Sans (/usr/share/fonts/...)', 'the given font ...', 'system fonts'. */
  description: string;
}

/**
 * Common places of a sans-serif font, with its family name. Loading one known file (instead of
 * every system font) makes the PNGs the same on every machine that has it, and quick to draw.
 */
const FONT_CANDIDATES: ReadonlyArray<readonly [string, string]> = [
  ['/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', 'DejaVu Sans'], // Debian, Ubuntu (fonts-dejavu-core)
  ['/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf', 'DejaVu Sans'], // Fedora
  ['/usr/share/fonts/dejavu/DejaVuSans.ttf', 'DejaVu Sans'], // RHEL, older Fedora
  ['/usr/share/fonts/TTF/DejaVuSans.ttf', 'DejaVu Sans'], // Arch
  ['/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf', 'Liberation Sans'],
  ['/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf', 'Liberation Sans'],
  ['/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf', 'Noto Sans'],
  ['/usr/share/fonts/noto/NotoSans-Regular.ttf', 'Noto Sans'],
  ['/System/Library/Fonts/Supplemental/Arial.ttf', 'Arial'], // macOS
  ['/Library/Fonts/Arial.ttf', 'Arial'],
  ['C:\\Windows\\Fonts\\arial.ttf', 'Arial'],
];

function readable(path: string): boolean {
  try {
    fs.accessSync(path, fs.constants.R_OK);
    return fs.statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * The font for the PNGs: `fontFile` when given (E_IO when it cannot be read), else the first
 * known sans-serif font file found, else whatever fonts resvg finds on the system.
 */
export function chooseFont(fontFile?: string, candidates: ReadonlyArray<readonly [string, string]> = FONT_CANDIDATES): FontChoice {
  if (fontFile !== undefined) {
    try {
      fs.accessSync(fontFile, fs.constants.R_OK);
    } catch (err) {
      throw new IOError(`cannot read font ${fontFile}: ${(err as Error).message}`, fontFile, { cause: err });
    }
    return { fontFiles: [fontFile], loadSystemFonts: false, description: `the given font ${fontFile}` };
  }
  const found = candidates.find(([path]) => readable(path));
  if (found !== undefined) {
    return { fontFiles: [found[0]], loadSystemFonts: false, sansSerifFamily: found[1], description: `${found[1]} (${found[0]})` };
  }
  return { fontFiles: [], loadSystemFonts: true, description: 'the system fonts resvg finds' };
}

function resvgOptions(font: FontChoice, zoom: number): ResvgOptions {
  return {
    font: {
      fontFiles: font.fontFiles,
      loadSystemFonts: font.loadSystemFonts,
      ...(font.sansSerifFamily !== undefined ? { sansSerifFamily: font.sansSerifFamily, defaultFontFamily: font.sansSerifFamily } : {}),
    },
    fitTo: { mode: 'zoom', value: zoom },
    logLevel: 'off',
  };
}

/**
 * Whether resvg draws text with this font choice: renders a word on a transparent canvas and
 * looks for ink. Without a usable font resvg silently leaves text out.
 */
export function fontDrawsText(libs: ChartLibraries, font: FontChoice): boolean {
  const probe =
    '<svg xmlns="http://www.w3.org/2000/svg" width="60" height="24">' +
    '<text x="2" y="18" font-family="sans-serif" font-size="16">Ag 128</text></svg>';
  const { pixels } = new libs.Resvg(probe, resvgOptions(font, 1)).render();
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) return true;
  return false;
}

/** A PNG of an SVG at `zoom` times its size. */
export function svgToPng(libs: ChartLibraries, svg: string, font: FontChoice, zoom = 2): Buffer {
  return Buffer.from(new libs.Resvg(svg, resvgOptions(font, zoom)).render().asPng());
}
