#!/usr/bin/env node
/**
 * The `tensorrt-node` command. Exit codes: 0 success, 1 runtime error (printed with its code),
 * 2 usage error.
 */
import { TensorRTNodeError } from '../errors';
import { BENCH, runBench } from './bench';
import { nearest } from './aliases';
import { BUILD, runBuild } from './build';
import { CALIBRATE, runCalibrate } from './calibrate';
import { INFER, runInfer } from './infer';
import { INFO, runInfo } from './info';
import { INSPECT, runInspect } from './inspect';
import { runSweep, SWEEP } from './sweep';
import { UsageError } from './options';
import { REPORT, runReport } from './report';
import { runServe, SERVE } from './serve';
import { PERF, runPerfCommand } from './perf';

const COMMANDS: Record<
  string,
  { summary: string; run: (argv: readonly string[], out: (s: string) => void, err: (s: string) => void) => Promise<number> }
> = {
  info: { summary: INFO.summary, run: runInfo },
  inspect: { summary: INSPECT.summary, run: runInspect },
  build: { summary: BUILD.summary, run: runBuild },
  calibrate: { summary: CALIBRATE.summary, run: runCalibrate },
  infer: { summary: INFER.summary, run: runInfer },
  bench: { summary: BENCH.summary, run: runBench },
  sweep: { summary: SWEEP.summary, run: runSweep },
  report: { summary: REPORT.summary, run: runReport },
  serve: { summary: SERVE.summary, run: runServe },
  perf: { summary: PERF.summary, run: runPerfCommand },
};

function version(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('../../../package.json') as { version: string }).version;
}

function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length)) + 2;
  return [
    'Usage: tensorrt-node <command> [options]',
    '',
    'TensorRT-class inference engines for Node.js: import Caffe networks, build and time engines.',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}${c.summary}`),
    '',
    "Run `tensorrt-node help <command>` (or `<command> --help`) for a command's options and examples.",
    "Options use trtexec's camelCase names (--warmUp); kebab-case (--warm-up), --name=value and --name value",
    "read too, as do trtexec's and giexec's spellings (--fp16, --saveEngine, --deploy, --model ...).",
    '`tensorrt-node --version` prints the version; `tensorrt-node info` what this installation can run.',
  ].join('\n');
}

function writeErr(s: string): void {
  process.stderr.write(s.endsWith('\n') || s.startsWith('\r') ? s : `${s}\n`);
}

/** An unknown command, with the nearest one when it is close. */
function unknownCommand(command: string): UsageError {
  const near = nearest(command, Object.keys(COMMANDS));
  const hint = near.length > 0 ? `; did you mean '${near.join("' or '")}'?` : '';
  return new UsageError(`tensorrt-node: unknown command '${command}' (commands: ${Object.keys(COMMANDS).join(', ')})${hint}`);
}

/** Runs the CLI with argv (without node and script); resolves to the exit code. */
export async function main(
  argv: readonly string[],
  out: (s: string) => void = (s) => console.log(s),
  err: (s: string) => void = writeErr,
): Promise<number> {
  // `help <command> [sub]` is `<command> [sub] --help`.
  if (argv[0] === 'help' && argv.length > 1) return main([...argv.slice(1), '--help'], out, err);
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    out(mainHelp());
    return command === undefined ? 2 : 0;
  }
  if (command === '--version' || command === '-v') {
    out(version());
    return 0;
  }
  const entry = COMMANDS[command];
  try {
    if (entry === undefined) throw unknownCommand(command);
    return await entry.run(rest, out, err);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`${e.message}\nRun \`tensorrt-node ${entry !== undefined ? `${command} ` : ''}--help\` for usage.`);
      return 2;
    }
    if (e instanceof TensorRTNodeError) {
      err(`error ${e.code}: ${e.message}`);
      return 1;
    }
    if (e instanceof TypeError || e instanceof RangeError) {
      err(`error: ${e.message}`);
      return 2;
    }
    throw e;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`internal error: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 70;
    },
  );
}
