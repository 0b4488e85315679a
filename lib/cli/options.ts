/**
 * Command-line option groups in trtexec's manner: each command declares its options once, and the
 * same declaration parses argv, prints --help and echoes the settings in use. Other spellings
 * (trtexec's, giexec's, kebab-case) are rewritten first, through the one table in aliases.ts.
 */
import { parseArgs } from 'util';
import { aliasesOf, aliasMeaning, respell } from './aliases';
import { UsageError } from './usage_error';

export { UsageError };

/** One option of a command. */
export interface OptionSpec {
  readonly name: string;
  readonly type: 'string' | 'boolean';
  /** Placeholder shown in help: `--batch <N>`. */
  readonly value?: string;
  readonly help: string;
  /** Default shown in help (the command applies it). */
  readonly default?: string;
  /** May be given several times. */
  readonly multiple?: boolean;
  readonly short?: string;
}

/** A command: name, positional arguments, options and a few lines of explanation. */
export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly options: readonly OptionSpec[];
  /** Paragraphs printed after the options. */
  readonly notes?: readonly string[];
  readonly examples?: readonly string[];
  /** The settings echoed before a run, group by group (formatSettings). */
  readonly settings?: ReadonlyArray<{ readonly title: string; readonly options: readonly string[] }>;
}

/** Parsed arguments. */
export interface ParsedArgs {
  readonly values: Record<string, string | boolean | string[] | undefined>;
  readonly positionals: string[];
  /** Options given in another spelling: canonical name -> what was typed ('--best'). */
  readonly spelled: Readonly<Record<string, string>>;
}

/** The spellings behind each parsed `values` object, for messages far from the parser. */
const SPELLINGS = new WeakMap<object, Readonly<Record<string, string>>>();

/** '--precision', or '--precision (given as --best)' when another spelling set it. */
export function optionLabel(values: ParsedArgs['values'], name: string): string {
  const typed = SPELLINGS.get(values)?.[name];
  return typed === undefined ? `--${name}` : `--${name} (given as ${typed})`;
}

/** Parses argv for a command; unknown options and missing values are UsageErrors. */
export function parseCommand(spec: CommandSpec, argv: readonly string[]): ParsedArgs {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const o of spec.options) {
    options[o.name] = { type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) };
  }
  const { args, spelled } = respell(spec.name, [{ name: 'help', type: 'boolean', short: 'h' }, ...spec.options], argv);
  try {
    const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true });
    SPELLINGS.set(values, spelled);
    return { values: values as ParsedArgs['values'], positionals, spelled };
  } catch (err) {
    const message = (err as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new UsageError(`tensorrt-node ${spec.name}: ${message}`);
  }
}

/** Help lines for the other spellings a command reads. */
function aliasHelp(spec: CommandSpec): string[] {
  const aliases = aliasesOf(spec.name, spec.options).filter((a) => a.refuse === undefined);
  const byMeaning = new Map<string, string[]>();
  for (const a of aliases) {
    const typed = `--${a.name}${a.value === undefined ? ' <..>' : ''}`;
    byMeaning.set(aliasMeaning(a), [...(byMeaning.get(aliasMeaning(a)) ?? []), typed]);
  }
  const lines: string[] = [];
  if (byMeaning.size > 0) {
    lines.push('', "Also read (trtexec's and giexec's spellings):");
    const rows = [...byMeaning].map(([meaning, names]) => [`  ${names.join(', ')}`, `= ${meaning}`]);
    const width = Math.max(...rows.map((r) => r[0].length)) + 2;
    for (const [left, right] of rows) lines.push(left.padEnd(width) + right);
  }
  const camel = spec.options.find((o) => /[A-Z]/.test(o.name));
  const kebab = camel?.name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  const same = '--name=value and --name value are the same.';
  lines.push('', camel === undefined ? same : `Option names also read in kebab-case: --${kebab} reads as --${camel.name}; ${same}`);
  return lines;
}

/** The --help text of a command. */
export function formatHelp(spec: CommandSpec): string {
  const lines = [`Usage: ${spec.usage}`, '', spec.summary, '', 'Options:'];
  const rows = spec.options.map((o) => [
    `  ${o.short ? `-${o.short}, ` : ''}--${o.name}${o.value ? ` <${o.value}>` : ''}`,
    `${o.help}${o.default !== undefined ? ` (default: ${o.default})` : ''}`,
  ]);
  rows.push(['  -h, --help', 'Show this help']);
  const width = Math.max(...rows.map((r) => r[0].length)) + 2;
  for (const [left, right] of rows) lines.push(left.padEnd(width) + right);
  lines.push(...aliasHelp(spec));
  for (const note of spec.notes ?? []) lines.push('', note);
  if (spec.examples?.length) {
    lines.push('', 'Examples:');
    for (const e of spec.examples) lines.push(`  ${e}`);
  }
  return lines.join('\n');
}

/** Reads an integer option, checking its range. */
export function intOption(spec: CommandSpec, name: string, raw: string | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isInteger(v) || v < min || v > max) {
    throw new UsageError(`tensorrt-node ${spec.name}: --${name} must be an integer in [${min}, ${max}], got '${raw}'`);
  }
  return v;
}

/** One value of the settings echo: as given (and how it was spelled), else the default. */
function settingValue(spec: CommandSpec, parsed: ParsedArgs, name: string): string | undefined {
  const o = spec.options.find((x) => x.name === name);
  const v = parsed.values[name];
  const spelled = parsed.spelled[name] !== undefined ? ` (as ${parsed.spelled[name]})` : '';
  if (v === undefined) return o?.type === 'boolean' ? 'off' : o?.default !== undefined ? `${o.default} (default)` : undefined;
  if (v === true) return `on${spelled}`;
  return `${Array.isArray(v) ? v.join(', ') : String(v)}${spelled}`;
}

/**
 * The settings block printed before a run (trtexec prints its own the same way): each group of
 * spec.settings with every option's value, given or default; `facts` come first in their group and
 * replace an option's line of the same name ({ Model: { file: 'lenet.prototxt' } }). Options with
 * neither a value nor a default are left out.
 */
export function formatSettings(spec: CommandSpec, parsed: ParsedArgs, facts: Record<string, Record<string, string>> = {}): string {
  const groups = (spec.settings ?? []).map((g) => {
    const rows = new Map<string, string>(Object.entries(facts[g.title] ?? {}));
    for (const name of g.options) {
      const v = settingValue(spec, parsed, name);
      if (v !== undefined && !rows.has(name)) rows.set(name, v);
    }
    return { title: g.title, rows };
  });
  const width = Math.max(0, ...groups.flatMap((g) => [...g.rows.keys()].map((k) => k.length))) + 2;
  const lines = [`Settings of tensorrt-node ${spec.name}:`];
  for (const g of groups) {
    if (g.rows.size === 0) continue;
    lines.push(`  ${g.title}`);
    for (const [k, v] of g.rows) lines.push(`    ${k.padEnd(width)}${v}`);
  }
  return lines.join('\n');
}
