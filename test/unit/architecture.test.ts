// The module map holds (docs: ARCHITECTURE.md): lib/ folders import each other in one direction
// only, without cycles, and native/core includes nothing from the backends (issue 15, item 4).
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../../..');

function files(dir: string, ext: RegExp): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? files(p, ext) : ext.test(e.name) ? [p] : [];
  });
}

/** lib/'s modules (a folder, or a file at the top) and the modules each imports, type imports included. */
function moduleGraph(): Map<string, Set<string>> {
  const lib = path.join(ROOT, 'lib');
  const moduleOf = (file: string): string => {
    const rel = path.relative(lib, file);
    return rel.includes(path.sep) ? rel.split(path.sep)[0] : rel.replace(/\.ts$/, '');
  };
  const graph = new Map<string, Set<string>>();
  for (const file of files(lib, /\.ts$/)) {
    const from = moduleOf(file);
    if (!graph.has(from)) graph.set(from, new Set());
    for (const m of fs.readFileSync(file, 'utf8').matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/gm)) {
      const target = path.resolve(path.dirname(file), m[1]);
      const to = moduleOf(fs.existsSync(`${target}.ts`) ? `${target}.ts` : path.join(target, 'index.ts'));
      if (to !== from) graph.get(from)?.add(to);
    }
  }
  return graph;
}

/** A cycle through `graph`, or undefined. */
function findCycle(graph: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (m: string): string[] | undefined => {
    if (state.get(m) === 'done') return undefined;
    if (state.get(m) === 'open') return [...stack.slice(stack.indexOf(m)), m];
    state.set(m, 'open');
    stack.push(m);
    for (const next of graph.get(m) ?? []) {
      const c = visit(next);
      if (c !== undefined) return c;
    }
    stack.pop();
    state.set(m, 'done');
    return undefined;
  };
  for (const m of graph.keys()) {
    const c = visit(m);
    if (c !== undefined) return c;
  }
  return undefined;
}

describe('architecture', () => {
  it('lib/ modules import each other without a cycle', () => {
    const cycle = findCycle(moduleGraph());
    assert.equal(cycle, undefined, `import cycle: ${cycle?.join(' -> ')}`);
  });

  it('the layers point one way: caffe, network, runtime, calibration and builder know nothing of what sits above them', () => {
    const graph = moduleGraph();
    const above: Record<string, readonly string[]> = {
      caffe: ['network', 'builder', 'calibration', 'runtime', 'bench', 'report', 'cli'],
      network: ['builder', 'calibration', 'runtime', 'bench', 'report', 'cli'],
      runtime: ['builder', 'calibration', 'bench', 'report', 'cli'],
      calibration: ['builder', 'runtime', 'native', 'bench', 'report', 'cli'],
      builder: ['bench', 'report', 'cli'],
      types: [...graph.keys()].filter((m) => m !== 'types'),
    };
    for (const [module, forbidden] of Object.entries(above)) {
      const bad = [...(graph.get(module) ?? [])].filter((m) => forbidden.includes(m));
      assert.deepEqual(bad, [], `lib/${module} imports ${bad.join(', ')}`);
    }
  });

  it('native/core includes nothing from native/backends (the composition root lives above both)', () => {
    const core = path.join(ROOT, 'native', 'core');
    const offending = files(core, /\.(cc|h)$/).filter((f) => /#include "backends\//.test(fs.readFileSync(f, 'utf8')));
    assert.deepEqual(
      offending.map((f) => path.relative(ROOT, f)),
      [],
    );
    const gpu = path.join(ROOT, 'native', 'gpu');
    const fromCuda = files(gpu, /\.(cc|h)$/).filter((f) => /#include "backends\//.test(fs.readFileSync(f, 'utf8')));
    assert.deepEqual(
      fromCuda.map((f) => path.relative(ROOT, f)),
      [],
      'native/gpu is neutral: both GPU backends use it',
    );
  });
});
