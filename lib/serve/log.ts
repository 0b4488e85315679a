/**
 * Structured logs: one JSON object a line (`{"time":..., "level":"info", "msg":..., ...fields}`),
 * filtered by a level, written to a sink (stderr by default).
 */

/** Log levels, least to most severe. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
/** One of LOG_LEVELS. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Extra fields of a log line. */
export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

/** A leveled JSON logger. */
export interface Logger {
  readonly level: LogLevel;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

/** A logger writing lines at or above `level` to `sink`, each with the `base` fields (a worker's index). */
export function createLogger(
  level: LogLevel = 'info',
  sink: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
  base: LogFields = {},
): Logger {
  const min = LOG_LEVELS.indexOf(level);
  const at =
    (lvl: Exclude<LogLevel, 'silent'>) =>
    (msg: string, fields: LogFields = {}) => {
      if (LOG_LEVELS.indexOf(lvl) < min) return;
      sink(JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...base, ...fields }));
    };
  return { level, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
