/**
 * Other spellings of the CLI's options, in one table for every command: trtexec's and giexec's
 * flags (--fp16, --saveEngine, --model ...), the kebab-case form of every camelCase name
 * (--warm-up for --warmUp), and the flags refused with a reason (--onnx). parseCommand rewrites
 * argv through it before parsing; an unknown option gets the nearest known spelling as a hint.
 */
import { UsageError } from './usage_error';

/** Whose spelling an alias is. */
export type AliasSource = 'trtexec' | 'giexec' | 'tensorrt-node';

/** One spelling of the table. */
export interface Alias {
  /** What the user types, without the dashes. */
  readonly name: string;
  readonly from: AliasSource;
  /** The option it stands for (absent for a refusal). */
  readonly option?: string;
  /** A flag that stands for option=value (--fp16: --precision fp16). */
  readonly value?: string;
  /** Several flags of one option (trtexec's --fp16 --int8): the highest rank wins. */
  readonly rank?: number;
  /** Only these commands read it (elsewhere the option it names means something else). */
  readonly commands?: readonly string[];
  /** Refused with this reason: something tensorrt-node does not do. */
  readonly refuse?: string;
}

/** The message of --onnx (and of a file argument ending .onnx). */
export const NOT_ONNX =
  'ONNX models are not read yet. tensorrt-node reads Caffe networks (a deploy.prototxt, with trained ' +
  'weights from --weights / --model file.caffemodel, or random ones) and the plans it writes itself ' +
  '(`tensorrt-node build -o file.plan`, then the plan as the file argument or --loadEngine)';

/** Every alias of every command. */
export const ALIASES: readonly Alias[] = [
  { name: 'fp16', from: 'trtexec', option: 'precision', value: 'fp16', rank: 1 },
  { name: 'half2', from: 'giexec', option: 'precision', value: 'fp16', rank: 1 },
  { name: 'int8', from: 'trtexec', option: 'precision', value: 'int8', rank: 2 },
  { name: 'best', from: 'trtexec', option: 'precision', value: 'best', rank: 3 },
  { name: 'model', from: 'giexec', option: 'weights' },
  { name: 'saveEngine', from: 'trtexec', option: 'output', commands: ['build'] },
  { name: 'timingCacheFile', from: 'trtexec', option: 'timingCache' },
  { name: 'infStreams', from: 'trtexec', option: 'streams' },
  { name: 'maxBatch', from: 'trtexec', option: 'batch' },
  { name: 'out', from: 'tensorrt-node', option: 'output', commands: ['sweep'] },
  { name: 'onnx', from: 'trtexec', refuse: NOT_ONNX },
  { name: 'uff', from: 'trtexec', refuse: `UFF models are not read. ${NOT_ONNX.replace(/^ONNX models are not read yet\. /, '')}` },
];

/** What the table needs to know of a command's option. */
export interface OptionName {
  readonly name: string;
  readonly type: 'string' | 'boolean';
  readonly short?: string;
}

/** 'batch-size' -> 'batchSize'. */
export function kebabToCamel(s: string): string {
  return s.replace(/-([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** The aliases `command` reads: its own names win, and a mapped alias needs its option there. */
export function aliasesOf(command: string, options: readonly OptionName[]): Alias[] {
  const names = new Set(options.map((o) => o.name));
  return ALIASES.filter(
    (a) =>
      !names.has(a.name) &&
      (a.commands === undefined || a.commands.includes(command)) &&
      (a.refuse !== undefined || names.has(a.option as string)),
  );
}

/** What an alias stands for, as the user would type it: '--precision fp16'. */
export function aliasMeaning(a: Alias): string {
  return a.refuse !== undefined ? 'refused' : `--${a.option}${a.value !== undefined ? ` ${a.value}` : ''}`;
}

/** Optimal string alignment distance: edits, a swap of neighbours counting as one. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The candidates nearest to `typed` (case and dashes ignored), or none when nothing is close. */
export function nearest(typed: string, candidates: readonly string[]): string[] {
  const norm = (s: string) => s.toLowerCase().replace(/-/g, '');
  const t = norm(typed);
  const limit = t.length <= 4 ? 1 : t.length <= 9 ? 2 : 3;
  const scored = candidates.map((c) => ({ c, d: distance(t, norm(c)) })).filter((s) => s.d <= limit);
  if (scored.length > 0) {
    const best = Math.min(...scored.map((s) => s.d));
    return scored.filter((s) => s.d === best).map((s) => s.c);
  }
  const prefixed = t.length >= 3 ? candidates.filter((c) => norm(c).startsWith(t)) : [];
  return prefixed.length === 1 ? prefixed : [];
}

/** "Unknown option '--x'", with the nearest spellings the command reads. */
function unknownOption(command: string, typed: string, options: readonly OptionName[], aliases: readonly Alias[]): UsageError {
  const hints = nearest(typed, [...options.map((o) => o.name), ...aliases.map((a) => a.name)]).map((name) => {
    const a = aliases.find((x) => x.name === name);
    return a === undefined || a.refuse !== undefined ? `--${name}` : `--${name} (${a.from}'s ${aliasMeaning(a)})`;
  });
  const hint = hints.length > 0 ? `. Did you mean ${hints.join(' or ')}?` : '';
  return new UsageError(`tensorrt-node ${command}: Unknown option '--${typed}'${hint}`);
}

/** How one typed name resolves: the option, and the value when the name is a flag standing for one. */
interface Resolved {
  option: string;
  value?: string;
  rank?: number;
}

function resolveName(command: string, typed: string, options: readonly OptionName[], aliases: readonly Alias[]): Resolved {
  const has = (n: string) => options.some((o) => o.name === n);
  if (has(typed)) return { option: typed };
  const camel = kebabToCamel(typed);
  if (has(camel)) return { option: camel };
  const a = aliases.find((x) => x.name === typed || x.name === camel);
  if (a === undefined) throw unknownOption(command, typed, options, aliases);
  if (a.refuse !== undefined) throw new UsageError(`tensorrt-node ${command}: --${typed}: ${a.refuse}`);
  return { option: a.option as string, ...(a.value !== undefined ? { value: a.value, rank: a.rank ?? 0 } : {}) };
}

/** argv with every option in its canonical spelling, and the spelling each renamed option was given in. */
export interface Respelled {
  readonly args: string[];
  /** Canonical name -> what the user typed ('--best'; '--fp16 --int8' when flags combined). */
  readonly spelled: Record<string, string>;
}

/** One option occurrence seen in argv. */
interface Seen {
  option: string;
  typed: string;
  value: string | undefined;
  flag?: { value: string; rank: number };
}

/** Splits argv into option occurrences (in canonical names) and the rest, kept in order. */
function scan(command: string, argv: readonly string[], options: readonly OptionName[], aliases: readonly Alias[]) {
  const items: Array<string | Seen> = [];
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i];
    if (tok === '--') {
      items.push(...argv.slice(i));
      break;
    }
    const short = /^-([a-zA-Z])$/.exec(tok);
    if (short !== null) {
      const o = options.find((x) => x.short === short[1]);
      items.push(tok);
      if (o?.type === 'string' && i + 1 < argv.length && !/^-[-a-zA-Z]/.test(argv[i + 1])) items.push(argv[++i]);
      continue;
    }
    if (!tok.startsWith('--')) {
      items.push(tok);
      continue;
    }
    const eq = tok.indexOf('=');
    const typed = eq < 0 ? tok.slice(2) : tok.slice(2, eq);
    const r = resolveName(command, typed, options, aliases);
    let value = eq < 0 ? undefined : tok.slice(eq + 1);
    if (r.value !== undefined) {
      if (value !== undefined)
        throw new UsageError(`tensorrt-node ${command}: --${typed} takes no value (it means --${r.option} ${r.value})`);
      items.push({ option: r.option, typed, value: r.value, flag: { value: r.value, rank: r.rank ?? 0 } });
      continue;
    }
    const type = options.find((o) => o.name === r.option)?.type;
    // A value that looks like an option is left for the parser to call missing.
    if (value === undefined && type === 'string' && i + 1 < argv.length && !/^-[-a-zA-Z]/.test(argv[i + 1])) value = argv[++i];
    items.push({ option: r.option, typed, value });
  }
  return items;
}

/** Flags of one option combine (highest rank); an explicit value that disagrees with them is a mistake. */
function combineFlags(command: string, seen: readonly Seen[]): Map<string, Seen> {
  const chosen = new Map<string, Seen>();
  for (const s of seen.filter((x) => x.flag !== undefined)) {
    const prev = chosen.get(s.option);
    if (prev === undefined || (s.flag?.rank ?? 0) > (prev.flag?.rank ?? 0)) chosen.set(s.option, s);
  }
  for (const [option, flag] of chosen) {
    const explicit = seen.find((s) => s.option === option && s.flag === undefined && s.value !== flag.value);
    if (explicit !== undefined) {
      throw new UsageError(
        `tensorrt-node ${command}: --${flag.typed} and --${explicit.typed} ${explicit.value ?? ''} disagree (--${flag.typed} means --${option} ${flag.value}): give one`,
      );
    }
  }
  return chosen;
}

/** Two spellings of one option with different values (--weights a --model b): refused, neither silently wins. */
function checkSpellings(command: string, seen: readonly Seen[]): void {
  for (const s of seen) {
    const other = seen.find((x) => x.option === s.option && x.typed !== s.typed && x.flag === undefined && s.flag === undefined);
    if (other !== undefined && other.value !== s.value) {
      throw new UsageError(`tensorrt-node ${command}: --${s.typed} and --${other.typed} both set --${s.option}: give one`);
    }
  }
}

/**
 * Rewrites argv into the command's own spellings. Refused flags and unknown options throw
 * UsageErrors (the latter with the nearest spelling); `options` lists the command's options.
 */
export function respell(command: string, options: readonly OptionName[], argv: readonly string[]): Respelled {
  const aliases = aliasesOf(command, options);
  const items = scan(command, argv, options, aliases);
  const seen = items.filter((x): x is Seen => typeof x !== 'string');
  const flags = combineFlags(command, seen);
  checkSpellings(command, seen);
  const spelled: Record<string, string> = {};
  const args: string[] = [];
  for (const item of items) {
    if (typeof item === 'string') {
      args.push(item);
      continue;
    }
    if (item.typed !== item.option)
      spelled[item.option] = spelled[item.option] ? `${spelled[item.option]} --${item.typed}` : `--${item.typed}`;
    if (item.flag !== undefined && flags.get(item.option) !== item) continue;
    args.push(item.value === undefined ? `--${item.option}` : `--${item.option}=${item.value}`);
  }
  return { args, spelled };
}
