#!/usr/bin/env node
/**
 * The `tensorrt-node` command. Exit codes: 0 success, 1 runtime error (printed with its code),
 * 2 usage error.
 */
import { TensorRTNodeError } from '../errors';
import { BENCH, runBench } from './bench';
import { BUILD, runBuild } from './build';
import { CALIBRATE, runCalibrate } from './calibrate';
import { INFER, runInfer } from './infer';
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
    "Run `tensorrt-node <command> --help` for a command's options. `tensorrt-node --version` prints the version.",
  ].join('\n');
}

function writeErr(s: string): void {
  process.stderr.write(s.endsWith('\n') || s.startsWith('\r') ? s : `${s}\n`);
}

/** Runs the CLI with argv (without node and script); resolves to the exit code. */
export async function main(
  argv: readonly string[],
  out: (s: string) => void = (s) => console.log(s),
  err: (s: string) => void = writeErr,
): Promise<number> {
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
    if (entry === undefined)
      throw new UsageError(`tensorrt-node: unknown command '${command}' (commands: ${Object.keys(COMMANDS).join(', ')})`);
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
