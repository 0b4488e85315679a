/**
 * Command-line option groups in trtexec's manner: each command declares its options once, and the
 * same declaration parses argv, prints --help and echoes the settings in use.
 */
import { parseArgs } from 'util';

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
}

/** A usage mistake: printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {}

/** Parsed arguments. */
export interface ParsedArgs {
  readonly values: Record<string, string | boolean | string[] | undefined>;
  readonly positionals: string[];
}

/** Parses argv for a command; unknown options and missing values are UsageErrors. */
export function parseCommand(spec: CommandSpec, argv: readonly string[]): ParsedArgs {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const o of spec.options) {
    options[o.name] = { type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) };
  }
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    return { values: values as ParsedArgs['values'], positionals };
  } catch (err) {
    const message = (err as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new UsageError(`tensorrt-node ${spec.name}: ${message}`);
  }
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
