// One op vocabulary (issue 15): the ops the TypeScript side writes into execution graphs
// (lib/runtime/graph_format.ts EXEC_OPS) are exactly the ops the native graph reader knows
// (native/core/op_kind.h, buildInfo().ops), and every backend compiled in has each of them.
import { strict as assert } from 'assert';
import { buildInfo } from '../../lib';
import { EXEC_OPS } from '../../lib/runtime/graph_format';

/** The names in `a` that `b` lacks. */
function missing(a: readonly string[], b: readonly string[]): string[] {
  const have = new Set(b);
  return a.filter((x) => !have.has(x));
}

describe('op vocabulary: TypeScript and native agree', () => {
  it('every op the TypeScript side writes is a native op, and the other way round', () => {
    const native = buildInfo().ops;
    assert.ok(native.length > 0, 'buildInfo().ops is empty');
    const notNative = missing(EXEC_OPS, native);
    const notTs = missing(native, EXEC_OPS);
    assert.deepEqual(
      notNative,
      [],
      `ops in lib/runtime/graph_format.ts EXEC_OPS but not in native/core/op_kind.h: ${notNative.join(', ')}`,
    );
    assert.deepEqual(notTs, [], `ops in native/core/op_kind.h but not in lib/runtime/graph_format.ts EXEC_OPS: ${notTs.join(', ')}`);
  });

  it('lists each op once', () => {
    assert.equal(new Set(EXEC_OPS).size, EXEC_OPS.length);
    assert.equal(new Set(buildInfo().ops).size, buildInfo().ops.length);
  });

  it('reports the ops of every backend compiled in, and each has every op', () => {
    const info = buildInfo();
    for (const b of info.backends) assert.ok(info.backendOps[b] !== undefined, `no op list for the ${b} backend`);
    for (const [backend, ops] of Object.entries(info.backendOps)) {
      const lacking = missing(info.ops, ops);
      assert.deepEqual(lacking, [], `the ${backend} backend lacks: ${lacking.join(', ')}`);
      assert.deepEqual(missing(ops, info.ops), [], `the ${backend} backend lists ops the graph cannot hold`);
    }
  });
});
