/**
 * Measurement: host memory (peak RSS) of building a network's engine, saving its plan and loading
 * it, on the cpu backend with random weights. Each phase runs in its own child process so that one
 * phase's peak does not hide another's; the save phase has to build first, so it resets the
 * process's peak (Linux /proc/self/clear_refs) between the build and the save.
 *   node dist/scripts/measure-build-memory.js [--model models/alexnet.prototxt] [--precision fp32] [--json out.json]
 * Phases: node (the package loaded, nothing else), parse, weights (parse + every random blob),
 * build, save, load. "end" is the RSS after the phase, garbage collected, with what the phase made
 * (network, weights, engine) still held.
 */
import { execFileSync, fork } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Builder, Engine, Network, type Precision } from '../lib';

const ROOT = path.resolve(__dirname, '../..');
const PHASES = ['node', 'parse', 'weights', 'build', 'save', 'load'] as const;
type Phase = (typeof PHASES)[number];

/** What a child reports. */
interface PhaseResult {
  readonly phase: Phase;
  /** Peak RSS of the phase, bytes. */
  readonly peakBytes: number;
  /** RSS when the phase began (the save phase: after the build, before the save), bytes. */
  readonly startBytes: number;
  /** RSS after the phase and a full GC, bytes. */
  readonly endBytes: number;
  readonly seconds: number;
}

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Peak RSS of this process so far: VmHWM on Linux (resettable), else getrusage's maxRSS. */
function peakRss(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m !== null) return Number(m[1]) * 1024;
  } catch {
    // Not Linux: fall through.
  }
  return process.resourceUsage().maxRSS * 1024;
}

/** Makes the peak start again from the current RSS; false where the system cannot (then peaks include the build). */
function resetPeak(): boolean {
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

/** RSS once garbage is collected: V8 frees dropped ArrayBuffers' memory on a background task, so wait for RSS to stop falling. */
async function settle(): Promise<number> {
  let rss = Infinity;
  for (let i = 0; i < 20; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 100));
    const now = process.memoryUsage().rss;
    if (rss - now < 1e6) return now;
    rss = now;
  }
  return rss;
}

/** What a phase made (network, engine): kept alive until the phase's end RSS is read. */
let retained: unknown[] = [];

async function runPhase(phase: Phase, model: string, precision: Precision, plan: string): Promise<PhaseResult> {
  const t0 = Date.now();
  const startBytes = process.memoryUsage().rss;
  const done = async (start = startBytes): Promise<PhaseResult> => {
    const peakBytes = peakRss();
    const seconds = (Date.now() - t0) / 1000;
    return { phase, peakBytes, startBytes: start, endBytes: await settle(), seconds };
  };
  if (phase === 'node') return done();
  if (phase === 'load') {
    retained = [await Engine.load(plan)];
    return done();
  }
  if (phase === 'save') {
    // The save starts from the engine alone, as after `tensorrt-node build` has dropped the network.
    retained = [await buildOnly(model, precision)];
    const before = await settle();
    if (!resetPeak()) console.error("cannot reset the peak RSS here: the save phase's peak includes the build");
    await (retained[0] as Engine).save(plan);
    return done(before);
  }
  const net = await Network.fromCaffe(model, { batchSize: 1 });
  retained = [net];
  if (phase === 'parse') return done();
  if (phase === 'weights') {
    retained.push(await net.loadWeights(net.layers.flatMap((l) => l.blobs.map((_, i) => `${l.name}/${i}`))));
    return done();
  }
  retained.push(await new Builder({ backend: 'cpu' }).build(net, { precision }));
  return done();
}

/** An engine of `model`, the network already unreachable. */
async function buildOnly(model: string, precision: Precision): Promise<Engine> {
  return new Builder({ backend: 'cpu' }).build(await Network.fromCaffe(model, { batchSize: 1 }), { precision });
}

function child(): void {
  const [phase, model, precision, plan] = process.argv.slice(3);
  runPhase(phase as Phase, model, precision as Precision, plan)
    .then((r) => {
      (process.send as (m: unknown) => boolean)(r);
    })
    .catch((e: unknown) => {
      console.error(e);
      process.exitCode = 1;
    });
}

function inChild(phase: Phase, model: string, precision: string, plan: string): Promise<PhaseResult> {
  return new Promise((resolve, reject) => {
    const p = fork(__filename, ['--child', phase, model, precision, plan], { execArgv: ['--expose-gc'] });
    let result: PhaseResult | undefined;
    p.on('message', (m) => {
      result = m as PhaseResult;
    });
    p.on('exit', (code) => (result !== undefined ? resolve(result) : reject(new Error(`phase ${phase} failed (exit ${code})`))));
  });
}

function commit(): string {
  if (process.env.TRTN_COMMIT) return process.env.TRTN_COMMIT;
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

const mb = (b: number): string => (b / 1e6).toFixed(0).padStart(6);

async function main(): Promise<void> {
  const model = path.resolve(option('model') ?? path.join(ROOT, 'models', 'alexnet.prototxt'));
  const precision = (option('precision') ?? 'fp32') as Precision;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-mem-'));
  const plan = path.join(dir, 'model.plan');
  try {
    const weightBytes = (await Network.fromCaffe(model, { batchSize: 1 })).summary().totals.weightBytes;
    const phases: PhaseResult[] = [];
    for (const phase of PHASES) phases.push(await inChild(phase, model, precision, plan));
    const base = phases[0].peakBytes;
    console.log(
      `${path.relative(ROOT, model)} ${precision}: ${mb(weightBytes).trim()} MB of float32 weights; ` +
        `plan ${mb(fs.statSync(plan).size).trim()} MB`,
    );
    console.log('phase      peak MB   start MB   end MB   (peak - node) / weights   seconds');
    for (const r of phases) {
      console.log(
        `${r.phase.padEnd(8)} ${mb(r.peakBytes)}     ${mb(r.startBytes)}   ${mb(r.endBytes)}   ` +
          `${((r.peakBytes - base) / weightBytes).toFixed(2).padStart(8)}x                ${r.seconds.toFixed(1)}`,
      );
    }
    const jsonOut = option('json');
    if (jsonOut !== undefined) {
      fs.writeFileSync(
        jsonOut,
        `${JSON.stringify(
          {
            measurement: 'peak RSS of build / save / load, cpu backend, random weights, one child process per phase',
            model: path.relative(ROOT, model),
            precision,
            weightBytes,
            planBytes: fs.statSync(plan).size,
            date: new Date().toISOString(),
            commit: commit(),
            node: process.version,
            machine: {
              cpu: os.cpus()[0]?.model,
              cores: os.cpus().length,
              memoryBytes: os.totalmem(),
              platform: `${os.platform()} ${os.release()}`,
            },
            notes:
              "peak = VmHWM (Linux) of the phase's process; save: the peak is reset after the build (clear_refs), so it is the " +
              'save alone on top of the engine; node: the package loaded and nothing else',
            phases,
          },
          null,
          2,
        )}\n`,
      );
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') child();
else
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
