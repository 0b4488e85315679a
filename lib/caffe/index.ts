/**
 * lib/caffe: reading Caffe network definitions (text prototxt) and weights (binary caffemodel).
 * `parsePrototxt` / `readPrototxt` parse, upgrade old formats (V0, V1, legacy inputs) and apply
 * the phase rules, giving a current-format NetParameter.
 */
import { promises as fsp } from 'fs';
import { IOError, ParseError } from '../errors';
import { caffeSchema, LABEL_MAP_FIELD_NAMES, SOLVER_FIELD_NAMES } from './caffe_schema';
import type { Message } from './message';
import { parseTextFormat } from './text_format';
import { filterByPhase, upgradeNet, type NetFormat, type NetStateOptions } from './upgrade';

export { caffeSchema } from './caffe_schema';
export { Message, formatLoc, type SourceLoc } from './message';
export { readCaffemodel, writeCaffemodel, type CaffeBlob, type CaffeModelFile, type CaffeModelLayer } from './caffemodel';
export { formatMeanFile, parseMeanFile, readMeanFile, type MeanImage } from './mean_file';
export { V1_TYPES, type NetFormat, type NetStateOptions } from './upgrade';

/** Options for reading a network definition. */
export interface PrototxtOptions extends NetStateOptions {
  /** Skip fields Caffe does not define (forks add fields), with a warning, instead of failing. */
  readonly allowUnknownFields?: boolean;
}

/** A network definition read from text: current-format NetParameter plus what happened to it. */
export interface CaffeNetDefinition {
  /** NetParameter with `layer` entries only (upgraded), filtered for the phase. */
  readonly net: Message;
  /** The format the file was written in. */
  readonly format: NetFormat;
  /** One line per upgrade step that changed something. */
  readonly notes: string[];
  /** Skipped unknown fields (with allowUnknownFields). */
  readonly warnings: string[];
  /** Names of the layers removed by include / exclude rules for the phase. */
  readonly removedByPhase: string[];
  /** Those layers themselves (their tops explain a later "no earlier layer writes" error). */
  readonly excluded: readonly Message[];
  /** File name used in messages. */
  readonly file: string;
}

function explainTopLevel(field: string): string | undefined {
  if (caffeSchema.message('NetParameter').byName.has(field)) return undefined;
  if (SOLVER_FIELD_NAMES.has(field)) {
    return (
      `this is a Caffe solver file (it sets '${field}', a SolverParameter field), not a network definition: ` +
      "pass the network's deploy.prototxt (the solver's `net:` field names it)"
    );
  }
  if (LABEL_MAP_FIELD_NAMES.has(field)) {
    return `this is a label map (it has '${field}' entries), not a network definition: pass the deploy.prototxt`;
  }
  return undefined;
}

/** True when text looks binary (NUL bytes or replacement characters from invalid UTF-8). */
function looksBinary(text: string): boolean {
  const head = text.slice(0, 4096);
  return head.includes('\u0000') || (head.match(/\uFFFD/g) ?? []).length > 2;
}

/** Parses a network definition from prototxt text. */
export function parsePrototxt(text: string, options: PrototxtOptions & { file?: string } = {}): CaffeNetDefinition {
  const file = options.file ?? '<prototxt>';
  if (looksBinary(text)) {
    throw new ParseError(
      { file, line: 1, col: 1 },
      'this is a binary file, not a text prototxt (a .caffemodel? pass it as the weights file)',
      '',
      '',
    );
  }
  const { message: net, warnings } = parseTextFormat(caffeSchema, 'NetParameter', text, {
    file,
    allowUnknownFields: options.allowUnknownFields,
    explainUnknownTopLevel: explainTopLevel,
  });
  const { format, notes } = upgradeNet(net);
  const excluded = filterByPhase(net, options);
  return { net, format, notes, warnings, removedByPhase: excluded.map((l) => l.str('name')), excluded, file };
}

/** Reads and parses a network definition file (async: the read happens off the JS thread). */
export async function readPrototxt(path: string, options: PrototxtOptions = {}): Promise<CaffeNetDefinition> {
  let text: string;
  try {
    text = await fsp.readFile(path, 'utf8');
  } catch (err) {
    throw new IOError(`cannot read network definition ${path}: ${(err as Error).message}`, path, { cause: err });
  }
  return parsePrototxt(text, { ...options, file: path });
}
