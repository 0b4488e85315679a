/** `tensorrt-node serve`: help, usage errors, and a real process on examples/model-repository stopped by SIGTERM. */
import { strict as assert } from 'assert';
import { spawn } from 'child_process';
import * as net from 'net';
import * as path from 'path';
import { main } from '../../lib/cli/main';
import { ROOT } from '../support/serve_repo';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(
    argv,
    (s) => {
      out += `${s}\n`;
    },
    (s) => {
      err += `${s}\n`;
    },
  );
  return { code, out, err };
}

/** Spawns `tensorrt-node serve <args>` and resolves once its log holds `ready`. */
async function startServe(args: string[], ready: string): Promise<{ exited: Promise<number | null>; log: () => string; kill(): void }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'lib', 'cli', 'main.js'), 'serve', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      log += d.toString();
      if (log.includes(ready)) resolve();
    });
    void exited.then(() => reject(new Error(`serve exited early:\n${log}`)));
  });
  return { exited, log: () => log, kill: () => child.kill('SIGTERM') };
}

describe('serve: the CLI command', function () {
  this.timeout(60000);

  it('--help teaches the repository layout and the endpoints', async () => {
    const r = await run(['serve', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.out, /<repo>\/<model>\/config\.pbtxt/);
    assert.match(r.out, /--modelControlMode <none\|explicit>/);
    assert.match(r.out, /SIGTERM/);
  });

  it('usage mistakes exit 2 with the reason', async () => {
    assert.match((await run(['serve'])).err, /give one model repository folder/);
    assert.match((await run(['serve', ROOT, '--model-control-mode', 'poll'])).err, /none or explicit, got 'poll'/);
    assert.match((await run(['serve', ROOT, '--load-model', 'x'])).err, /--loadModel goes with --modelControlMode explicit/);
    assert.match((await run(['serve', ROOT, '--max-body', 'lots'])).err, /--maxBody is a byte count/);
    assert.equal((await run(['serve', path.join(ROOT, 'nope')])).code, 2);
  });

  it('serves examples/model-repository and drains on SIGTERM', async () => {
    const server = await startServe(
      [
        path.join(ROOT, 'examples', 'model-repository'),
        '--backend',
        'cpu',
        '--model-control-mode',
        'explicit',
        '--load-model',
        'lenet',
        '--host',
        '127.0.0.1',
        '--http-port',
        '0',
        '--grpc-port',
        'off',
        '--metrics-port',
        'off',
      ],
      'all models ready',
    );
    const log = server.log();
    // Node's own process warnings (e.g. the stale-prebuild notice in CI) are not the server's log.
    const lines = log
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('(node:') && !l.startsWith('(Use `node'))
      .map((l) => JSON.parse(l) as { level: string; msg: string });
    assert.ok(lines.every((l) => typeof l.level === 'string' && typeof l.msg === 'string'));
    const port = Number(/HTTP \(KServe v2 REST\) on 127\.0\.0\.1:(\d+)/.exec(log)?.[1]);
    const r = await fetch(`http://127.0.0.1:${port}/v2/models/lenet/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [{ name: 'data', shape: [1, 1, 28, 28], datatype: 'FP32', data: new Array(784).fill(0) }],
        outputs: [{ name: 'prob', parameters: { classification: 1 } }],
      }),
    });
    assert.equal(r.status, 200);
    const body = (await r.json()) as { outputs: Array<{ data: string[] }> };
    assert.match(body.outputs[0].data[0], /^[\d.e-]+:\d:(zero|one|two|three|four|five|six|seven|eight|nine)$/);
    server.kill();
    assert.equal(await server.exited, 0);
    assert.match(server.log(), /SIGTERM: stopping/);
    assert.match(server.log(), /"stopped"/);
  });

  it('--workers 2: two processes on one port, models loaded before binding, metrics summed, control refused, SIGTERM drains both', async () => {
    const free = await new Promise<number[]>((resolve) => {
      const a = net.createServer().listen(0, '127.0.0.1', () => {
        const b = net.createServer().listen(0, '127.0.0.1', () => {
          const ports = [(a.address() as { port: number }).port, (b.address() as { port: number }).port];
          a.close();
          b.close(() => resolve(ports));
        });
      });
    });
    const [httpPort, metricsPort] = free;
    const server = await startServe(
      [
        path.join(ROOT, 'examples', 'model-repository'),
        '--backend',
        'cpu',
        '--modelControlMode',
        'explicit',
        '--loadModel',
        'lenet',
        '--host',
        '127.0.0.1',
        '--httpPort',
        String(httpPort),
        '--grpcPort',
        'off',
        '--metricsPort',
        String(metricsPort),
        '--workers',
        '2',
      ],
      'all 2 workers ready',
    );
    const log = server.log();
    for (const w of [0, 1]) {
      const bound = log.indexOf(`"msg":"HTTP (KServe v2 REST) on 127.0.0.1:${httpPort}","worker":${w}`);
      const ready = log.search(new RegExp(`"msg":"model 'lenet': ready in [^"]*","worker":${w}`));
      assert.ok(ready >= 0 && bound > ready, `worker ${w} loaded its model before it bound the port`);
    }
    const infer = () =>
      fetch(`http://127.0.0.1:${httpPort}/v2/models/lenet/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', connection: 'close' },
        body: JSON.stringify({ inputs: [{ name: 'data', shape: [1, 1, 28, 28], datatype: 'FP32', data: new Array(784).fill(0) }] }),
      });
    const replies = await Promise.all(Array.from({ length: 6 }, infer));
    assert.ok(replies.every((r) => r.status === 200));
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(metrics, /^nv_inference_count\{model="lenet",version="1"\} 6$/m, 'the primary sums both workers');
    assert.match(metrics, /^nv_gpu_memory_total_bytes|^tensorrt_node_event_loop_utilization [\d.e-]+$/m);
    const control = await fetch(`http://127.0.0.1:${httpPort}/v2/repository/models/lenet/unload`, { method: 'POST' });
    assert.equal(control.status, 400);
    assert.match(String(((await control.json()) as { error: string }).error), /refused with --workers 2/);
    server.kill();
    assert.equal(await server.exited, 0);
    assert.match(server.log(), /SIGTERM: stopping 2 workers/);
    assert.equal((server.log().match(/"msg":"stopped","worker"/g) ?? []).length, 2);
  });

  it('--workers with explicit mode and no --loadModel is a usage error', async () => {
    const r = await run(['serve', ROOT, '--modelControlMode', 'explicit', '--workers', '2']);
    assert.equal(r.code, 2);
    assert.match(r.err, /--workers > 1 loads models at start only: name them with --loadModel/);
  });
});
