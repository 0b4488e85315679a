/**
 * tensorrt-node serve over HTTP (KServe v2 REST), cpu backend, loopback: every endpoint, JSON and
 * binary infer equal to a direct engine run, bad requests answered 4xx while the server keeps
 * serving, model control, the queue bound and timeouts, dynamic batching seen in the metrics.
 */
import { strict as assert } from 'assert';
import { createServer, type ServerHandle } from '../../lib/serve';
import type { Engine } from '../../lib/runtime/engine';
import { seededFloats } from '../support/helpers';
import { addModel, directLenet, lenetConfig, tempRepo } from '../support/serve_repo';

const LABELS = Array.from({ length: 10 }, (_, i) => `digit-${i}`);

interface Reply {
  status: number;
  json: Record<string, unknown>;
  body: Buffer;
  headers: Headers;
}

describe('serve: KServe v2 REST', function () {
  this.timeout(120000);
  let server: ServerHandle;
  let base = '';
  let repo = '';
  let metricsUrl = '';
  let engine: Engine;
  let engineU8: Engine;

  before(async () => {
    repo = await tempRepo();
    await addModel(
      repo,
      'lenet',
      lenetConfig('lenet', 'dynamic_batching { max_queue_delay_microseconds: 2000 }\ninstance_group [ { count: 2 kind: KIND_CPU } ]'),
      LABELS,
    );
    await addModel(
      repo,
      'lenet_u8',
      lenetConfig(
        'lenet_u8',
        [
          'parameters { key: "input_format" value { string_value: "uint8-nhwc" } }',
          'parameters { key: "scale" value { string_value: "0.00390625" } }',
        ].join('\n'),
      ).replace(
        'data_type: TYPE_FP32 format: FORMAT_NCHW dims: [ 1, 28, 28 ]',
        'data_type: TYPE_UINT8 format: FORMAT_NHWC dims: [ 28, 28, 1 ]',
      ),
    );
    await addModel(
      repo,
      'slow',
      lenetConfig('slow', 'dynamic_batching { max_queue_delay_microseconds: 300000 default_queue_policy { max_queue_size: 1 } }'),
    );
    await addModel(repo, 'broken', lenetConfig('broken', 'optimization { }'));
    server = createServer({
      repository: repo,
      host: '127.0.0.1',
      httpPort: 0,
      grpcPort: false,
      metricsPort: 0,
      backend: 'cpu',
      logLevel: 'silent',
      modelControl: 'explicit',
      loadModels: ['*'],
      bodyLimit: 1 << 20,
    });
    const addr = await server.listen();
    base = `http://127.0.0.1:${addr.http.port}`;
    metricsUrl = `http://127.0.0.1:${addr.metrics?.port}/metrics`;
    engine = await directLenet();
    engineU8 = await directLenet(8, { format: 'uint8-nhwc', scale: 0.00390625 });
  });

  after(async () => {
    await server?.close();
    engine?.dispose();
    engineU8?.dispose();
  });

  async function call(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    const raw = body === undefined ? undefined : Buffer.isBuffer(body) ? body : typeof body === 'string' ? body : JSON.stringify(body);
    const res = await fetch(base + url, {
      method,
      body: raw,
      headers: { 'content-type': Buffer.isBuffer(body) ? 'application/octet-stream' : 'application/json', ...headers },
    });
    const buf = Buffer.from(await res.arrayBuffer());
    const len = res.headers.get('inference-header-content-length');
    const text = buf.subarray(0, len !== null ? Number(len) : buf.length).toString('utf8');
    return { status: res.status, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>), body: buf, headers: res.headers };
  }

  async function direct(e: Engine, data: Float32Array | Uint8Array, batch: number): Promise<Float32Array> {
    const ctx = e.createContext();
    try {
      return (await ctx.infer({ data }, { batchSize: batch })).prob as Float32Array;
    } finally {
      ctx.dispose();
    }
  }

  function close(actual: ArrayLike<number>, expected: Float32Array): void {
    assert.equal(actual.length, expected.length);
    for (let i = 0; i < expected.length; i++)
      assert.ok(Math.abs(actual[i] - expected[i]) <= 1e-6, `element ${i}: ${actual[i]} vs ${expected[i]}`);
  }

  function binaryBody(header: unknown, ...data: ArrayBufferView[]): { body: Buffer; length: string } {
    const head = Buffer.from(JSON.stringify(header));
    return {
      body: Buffer.concat([head, ...data.map((d) => Buffer.from(d.buffer, d.byteOffset, d.byteLength))]),
      length: String(head.length),
    };
  }

  it('GET /v2, health, model metadata and readiness', async () => {
    const meta = await call('GET', '/v2');
    assert.equal(meta.status, 200);
    assert.equal(meta.json.name, 'tensorrt-node');
    assert.deepEqual(meta.json.extensions, ['classification', 'binary_tensor_data', 'model_repository']);
    assert.equal((await call('GET', '/v2/health/live')).status, 200);
    const model = await call('GET', '/v2/models/lenet');
    assert.deepEqual(model.json, {
      name: 'lenet',
      versions: ['1'],
      platform: 'tensorrt_plan',
      inputs: [{ name: 'data', datatype: 'FP32', shape: [-1, 1, 28, 28] }],
      outputs: [{ name: 'prob', datatype: 'FP32', shape: [-1, 10] }],
    });
    assert.deepEqual((await call('GET', '/v2/models/lenet/versions/1')).json, model.json);
    assert.equal((await call('GET', '/v2/models/lenet/ready')).status, 200);
    assert.equal((await call('GET', '/v2/models/lenet/versions/1/ready')).status, 200);
    const v2 = await call('GET', '/v2/models/lenet/versions/2');
    assert.equal(v2.status, 404);
    assert.match(String(v2.json.error), /no version '2'/);
    const broken = await call('GET', '/v2/models/broken/ready');
    assert.equal(broken.status, 503);
    assert.match(String(broken.json.error), /field 'optimization' of ModelConfig is not supported/);
    // A model that failed to load keeps the server from being ready, not from serving.
    assert.equal((await call('GET', '/v2/health/ready')).status, 503);
  });

  it('JSON infer equals a direct engine run', async () => {
    const x = seededFloats(2 * 784, 11, 2);
    const r = await call('POST', '/v2/models/lenet/infer', {
      id: 'q1',
      inputs: [{ name: 'data', shape: [2, 1, 28, 28], datatype: 'FP32', data: Array.from(x) }],
    });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.id, 'q1');
    assert.equal(r.json.model_name, 'lenet');
    const [out] = r.json.outputs as Array<{ name: string; datatype: string; shape: number[]; data: number[] }>;
    assert.deepEqual([out.name, out.datatype, out.shape], ['prob', 'FP32', [2, 10]]);
    close(out.data, await direct(engine, x, 2));
  });

  it('binary tensor data in and out equals a direct engine run (FP32 and UINT8)', async () => {
    const x = seededFloats(3 * 784, 12, 2);
    const req = binaryBody(
      {
        inputs: [{ name: 'data', shape: [3, 1, 28, 28], datatype: 'FP32', parameters: { binary_data_size: x.byteLength } }],
        outputs: [{ name: 'prob', parameters: { binary_data: true } }],
      },
      x,
    );
    const r = await call('POST', '/v2/models/lenet/infer', req.body, { 'inference-header-content-length': req.length });
    assert.equal(r.status, 200, r.body.toString());
    const headLen = Number(r.headers.get('inference-header-content-length'));
    const [out] = r.json.outputs as Array<{ parameters: { binary_data_size: number }; shape: number[] }>;
    assert.equal(out.parameters.binary_data_size, 3 * 10 * 4);
    const bytes = r.body.subarray(headLen);
    close(new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)), await direct(engine, x, 3));

    const px = Uint8Array.from(seededFloats(784, 13, 2), (v) => Math.floor((v + 1) * 127));
    const u8 = binaryBody(
      { inputs: [{ name: 'data', shape: [1, 28, 28, 1], datatype: 'UINT8', parameters: { binary_data_size: 784 } }] },
      px,
    );
    const r8 = await call('POST', '/v2/models/lenet_u8/infer', u8.body, { 'inference-header-content-length': u8.length });
    assert.equal(r8.status, 200, r8.body.toString());
    close((r8.json.outputs as Array<{ data: number[] }>)[0].data, await direct(engineU8, px, 1));
  });

  it('classification: top-k as value:index:label strings', async () => {
    const x = seededFloats(784, 14, 2);
    const r = await call('POST', '/v2/models/lenet/infer', {
      inputs: [{ name: 'data', shape: [1, 1, 28, 28], datatype: 'FP32', data: Array.from(x) }],
      outputs: [{ name: 'prob', parameters: { classification: 3 } }],
    });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const [out] = r.json.outputs as Array<{ datatype: string; shape: number[]; data: string[] }>;
    const p = await direct(engine, x, 1);
    const top = Array.from(p.keys())
      .sort((a, b) => p[b] - p[a])
      .slice(0, 3);
    assert.equal(out.datatype, 'BYTES');
    assert.deepEqual(out.shape, [1, 3]);
    assert.deepEqual(
      out.data,
      top.map((i) => `${p[i]}:${i}:digit-${i}`),
    );
  });

  it('bad requests get a 4xx with a message, and the server keeps serving', async () => {
    const input = (over: Record<string, unknown>) => ({
      inputs: [{ name: 'data', shape: [1, 1, 28, 28], datatype: 'FP32', data: Array.from(seededFloats(784, 1, 2)), ...over }],
    });
    const cases: Array<[string, Promise<Reply>, number, RegExp]> = [
      [
        'wrong shape',
        call('POST', '/v2/models/lenet/infer', input({ shape: [1, 28, 28, 1] })),
        400,
        /shape \[1, 28, 28, 1\], the model takes \[N, 1, 28, 28\]/,
      ],
      ['wrong datatype', call('POST', '/v2/models/lenet/infer', input({ datatype: 'FP64' })), 400, /datatype FP64, the model takes FP32/],
      ['wrong count', call('POST', '/v2/models/lenet/infer', input({ data: [1, 2, 3] })), 400, /data has 3 values, its shape needs 784/],
      ['unknown input', call('POST', '/v2/models/lenet/infer', input({ name: 'pixels' })), 400, /unexpected input 'pixels'/],
      ['batch over max', call('POST', '/v2/models/lenet/infer', input({ shape: [9, 1, 28, 28] })), 400, /./],
      ['unknown model', call('POST', '/v2/models/nope/infer', input({})), 404, /unknown model 'nope'/],
      ['malformed JSON', call('POST', '/v2/models/lenet/infer', '{"inputs": [}'), 400, /malformed JSON/],
      [
        'truncated binary',
        call(
          'POST',
          '/v2/models/lenet/infer',
          binaryBody(
            { inputs: [{ name: 'data', shape: [1, 1, 28, 28], datatype: 'FP32', parameters: { binary_data_size: 3136 } }] },
            new Uint8Array(100),
          ).body,
          {
            'inference-header-content-length': String(
              JSON.stringify({
                inputs: [{ name: 'data', shape: [1, 1, 28, 28], datatype: 'FP32', parameters: { binary_data_size: 3136 } }],
              }).length,
            ),
          },
        ),
        400,
        /runs past the end of the body/,
      ],
      [
        'header length past the body',
        call('POST', '/v2/models/lenet/infer', Buffer.from('{}'), { 'inference-header-content-length': '999' }),
        400,
        /Inference-Header-Content-Length is 999/,
      ],
      [
        'huge body',
        call('POST', '/v2/models/lenet/infer', Buffer.alloc(2 << 20)),
        413,
        /over the server's body limit of 1048576 bytes \(serve --maxBody/,
      ],
      ['unknown route', call('GET', '/v2/nothing'), 404, /no route GET \/v2\/nothing/],
    ];
    for (const [what, p, status, message] of cases) {
      const r = await p;
      assert.equal(r.status, status, `${what}: ${JSON.stringify(r.json)}`);
      assert.match(String(r.json.error), message, what);
    }
    const ok = await call('POST', '/v2/models/lenet/infer', input({}));
    assert.equal(ok.status, 200);
  });

  it('model control: index, unload, load; a bad model answers 400 and the rest keep serving', async () => {
    const index = await call('GET', '/v2/repository/index');
    const rows = index.json as unknown as Array<{ name: string; state: string; reason: string }>;
    assert.deepEqual(
      rows.map((r) => [r.name, r.state]),
      [
        ['broken', 'UNAVAILABLE'],
        ['lenet', 'READY'],
        ['lenet_u8', 'READY'],
        ['slow', 'READY'],
      ],
    );
    assert.equal((await call('POST', '/v2/repository/models/lenet_u8/unload')).status, 200);
    assert.equal((await call('GET', '/v2/models/lenet_u8/ready')).status, 503);
    assert.equal((await call('POST', '/v2/repository/models/lenet_u8/load')).status, 200);
    assert.equal((await call('GET', '/v2/models/lenet_u8/ready')).status, 200);
    const bad = await call('POST', '/v2/repository/models/broken/load');
    assert.equal(bad.status, 400);
    assert.match(String(bad.json.error), /optimization/);
    assert.equal((await call('POST', '/v2/repository/models/nope/unload')).status, 404);
    // A name the repository lacks is a 404 and leaves no entry behind; a model whose config was
    // mended loads after a failed load (the failure does not stick).
    const nope = await call('POST', '/v2/repository/models/nope/load');
    assert.equal(nope.status, 404);
    assert.match(String(nope.json.error), /unknown model 'nope'/);
    await addModel(repo, 'broken', lenetConfig('broken'));
    assert.equal((await call('POST', '/v2/repository/models/broken/load')).status, 200);
    assert.equal((await call('GET', '/v2/health/ready')).status, 200, 'every model ready: no stale entry for nope');
    assert.equal((await call('GET', '/v2/models/lenet/ready')).status, 200);
  });

  it('a full queue answers 429 and a request past its timeout 503', async () => {
    const body = { inputs: [{ name: 'data', shape: [1, 1, 28, 28], datatype: 'FP32', data: Array.from(seededFloats(784, 2, 2)) }] };
    const replies = await Promise.all([
      call('POST', '/v2/models/slow/infer', body),
      call('POST', '/v2/models/slow/infer', body),
      call('POST', '/v2/models/slow/infer', body),
    ]);
    const statuses = replies.map((r) => r.status).sort();
    assert.ok(statuses.includes(429), `statuses ${statuses.join(', ')}`);
    assert.match(String(replies.find((r) => r.status === 429)?.json.error), /queue is full/);
    const timed = await call('POST', '/v2/models/slow/infer', { ...body, parameters: { timeout: 20000 } });
    assert.equal(timed.status, 503);
    assert.match(String(timed.json.error), /timeout of 20000 us passed/);
  });

  it('32 concurrent batch-1 clients run in merged batches (exec_count < inference count)', async () => {
    const bodies = Array.from({ length: 32 }, (_, i) => ({
      inputs: [{ name: 'data', shape: [1, 1, 28, 28], datatype: 'FP32', data: Array.from(seededFloats(784, 100 + i, 2)) }],
    }));
    const metric = (text: string, name: string) =>
      Number(new RegExp(`^${name}\\{model="lenet",version="1"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
    const before = await (await fetch(metricsUrl)).text();
    const replies = await Promise.all(bodies.map((b) => call('POST', '/v2/models/lenet/infer', b)));
    assert.ok(replies.every((r) => r.status === 200));
    const text = await (await fetch(metricsUrl)).text();
    const count = metric(text, 'nv_inference_count') - metric(before, 'nv_inference_count');
    const execs = metric(text, 'nv_inference_exec_count') - metric(before, 'nv_inference_exec_count');
    assert.equal(count, 32);
    assert.ok(execs < count, `exec_count ${execs}, count ${count}`);
    for (const name of [
      'nv_inference_request_success',
      'nv_inference_request_failure',
      'nv_inference_request_duration_us',
      'nv_inference_queue_duration_us',
      'nv_inference_compute_input_duration_us',
      'nv_inference_compute_infer_duration_us',
      'nv_inference_compute_output_duration_us',
      'nv_inference_request_summary_us',
    ]) {
      assert.match(text, new RegExp(`^${name}`, 'm'), name);
    }
    const elu = Number(/^tensorrt_node_event_loop_utilization (\S+)$/m.exec(text)?.[1]);
    assert.ok(elu > 0 && elu <= 1, `event loop utilization ${elu}`);
  });
});
