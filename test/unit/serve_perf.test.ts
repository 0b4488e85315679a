/** `tensorrt-node perf` against a loopback server (cpu LeNet): levels, percentiles, JSON, and its limits. */
import { strict as assert } from 'assert';
import { main } from '../../lib/cli/main';
import { createServer, type ServerHandle } from '../../lib/serve';
import { checkLoopback, parseConcurrency } from '../../lib/serve/perf';
import { addModel, lenetConfig, tempRepo } from '../support/serve_repo';

describe('serve: tensorrt-node perf', function () {
  this.timeout(60000);
  let server: ServerHandle;
  let url = '';

  before(async () => {
    const repo = await tempRepo();
    await addModel(repo, 'lenet', lenetConfig('lenet', 'dynamic_batching { }'));
    server = createServer({
      repository: repo,
      host: '127.0.0.1',
      httpPort: 0,
      grpcPort: false,
      metricsPort: false,
      backend: 'cpu',
      logLevel: 'silent',
    });
    url = `http://127.0.0.1:${(await server.listen()).http.port}`;
  });

  after(async () => server?.close());

  it('parses concurrency ranges and refuses other hosts', () => {
    assert.deepEqual(parseConcurrency('1:64:x2'), [1, 2, 4, 8, 16, 32, 64]);
    assert.deepEqual(parseConcurrency('2:7:2'), [2, 4, 6, 7]);
    assert.deepEqual(parseConcurrency('16'), [16]);
    assert.throws(() => parseConcurrency('8:1'), RangeError);
    assert.throws(() => checkLoopback('http://10.0.0.1:8000'), /loopback servers only/);
    assert.equal(checkLoopback('http://localhost:8000').port, '8000');
  });

  it('measures each level (binary, JSON out) and the table form (JSON tensors)', async () => {
    let out = '';
    const code = await main(
      ['perf', url, '-m', 'lenet', '--concurrency', '1:4:x2', '--binary', '--duration', '1', '--warmup', '0', '--json'],
      (s) => {
        out += s;
      },
      () => undefined,
    );
    assert.equal(code, 0);
    const r = JSON.parse(out) as {
      levels: Array<{
        concurrency: number;
        requests: number;
        errors: number;
        throughput: number;
        latencyMs: Record<string, number>;
        clientBusy: number;
      }>;
    };
    assert.deepEqual(
      r.levels.map((l) => l.concurrency),
      [1, 2, 4],
    );
    for (const l of r.levels) {
      assert.ok(l.requests > 0 && l.errors === 0 && l.throughput > 0);
      assert.ok(l.clientBusy > 0 && l.clientBusy <= 1, `client busy ${l.clientBusy}`);
      assert.ok(l.latencyMs.p50 <= l.latencyMs.p90 && l.latencyMs.p90 <= l.latencyMs.p95 && l.latencyMs.p95 <= l.latencyMs.p99);
    }
    let table = '';
    assert.equal(
      await main(
        ['perf', url, '-m', 'lenet', '--batch', '2', '--duration', '1', '--warmup', '0', '--max-requests', '20'],
        (s) => {
          table += `${s}\n`;
        },
        () => undefined,
      ),
      0,
    );
    assert.match(table, /concurrency {3}images\/s/);
    assert.match(table, /^ {10}1 .* {7}20 {6}0 +[01]\.\d\d$/m);
  });

  it('exits 1 for an unknown model and 2 for usage mistakes', async () => {
    let err = '';
    assert.equal(
      await main(
        ['perf', url, '-m', 'nope', '--duration', '1'],
        () => undefined,
        (s) => {
          err += s;
        },
      ),
      1,
    );
    assert.match(err, /model 'nope'.*404/);
    assert.equal(
      await main(
        ['perf', url],
        () => undefined,
        () => undefined,
      ),
      2,
    );
    assert.equal(
      await main(
        ['perf', 'http://192.0.2.1:8000', '-m', 'x'],
        () => undefined,
        () => undefined,
      ),
      2,
    );
  });
});
