/** tensorrt-node serve over gRPC (GRPCInferenceService), cpu backend, loopback: every call, ModelInfer equal to a direct engine run. */
import { strict as assert } from 'assert';
import * as grpc from '@grpc/grpc-js';
import { createServer, type ServerHandle } from '../../lib/serve';
import { loadService } from '../../lib/serve/grpc';
import type { Engine } from '../../lib/runtime/engine';
import { seededFloats } from '../support/helpers';
import { addModel, directLenet, lenetConfig, tempRepo } from '../support/serve_repo';

type Unary = (req: unknown, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

describe('serve: gRPC GRPCInferenceService', function () {
  this.timeout(120000);
  let server: ServerHandle;
  let client: grpc.Client;
  let engine: Engine;

  before(async () => {
    const repo = await tempRepo();
    await addModel(
      repo,
      'lenet',
      lenetConfig('lenet', 'dynamic_batching { }'),
      Array.from({ length: 10 }, (_, i) => `d${i}`),
    );
    server = createServer({
      repository: repo,
      host: '127.0.0.1',
      httpPort: 0,
      grpcPort: 0,
      metricsPort: false,
      backend: 'cpu',
      logLevel: 'silent',
    });
    const addr = await server.listen();
    const Service = (loadService().inference as grpc.GrpcObject).GRPCInferenceService as grpc.ServiceClientConstructor;
    client = new Service(`127.0.0.1:${addr.grpc?.port}`, grpc.credentials.createInsecure());
    engine = await directLenet();
  });

  after(async () => {
    client?.close();
    await server?.close();
    engine?.dispose();
  });

  function rpc<T>(method: string, req: unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      (client as unknown as Record<string, Unary>)[method].call(client, req, (err, res) => (err ? reject(err) : resolve(res as T)));
    });
  }

  async function direct(x: Float32Array, batch: number): Promise<Float32Array> {
    const ctx = engine.createContext();
    try {
      return (await ctx.infer({ data: x }, { batchSize: batch })).prob as Float32Array;
    } finally {
      ctx.dispose();
    }
  }

  it('ServerLive, ServerReady, ModelReady, ServerMetadata, ModelMetadata', async () => {
    assert.deepEqual(await rpc('ServerLive', {}), { live: true });
    assert.deepEqual(await rpc('ServerReady', {}), { ready: true });
    assert.deepEqual(await rpc('ModelReady', { name: 'lenet', version: '' }), { ready: true });
    assert.deepEqual(await rpc('ModelReady', { name: 'nope', version: '' }), { ready: false });
    const meta = await rpc<{ name: string; extensions: string[] }>('ServerMetadata', {});
    assert.equal(meta.name, 'tensorrt-node');
    assert.ok(meta.extensions.includes('binary_tensor_data'));
    const model = await rpc<{ name: string; inputs: Array<{ name: string; datatype: string; shape: number[] }> }>('ModelMetadata', {
      name: 'lenet',
    });
    assert.deepEqual(model.inputs, [{ name: 'data', datatype: 'FP32', shape: [-1, 1, 28, 28] }]);
  });

  it('ModelInfer with raw_input_contents and with fp32_contents equals a direct engine run', async () => {
    const x = seededFloats(2 * 784, 21, 2);
    const expected = await direct(x, 2);
    const input = { name: 'data', datatype: 'FP32', shape: [2, 1, 28, 28] };
    const raw = await rpc<{ outputs: Array<{ name: string; shape: number[] }>; raw_output_contents: Buffer[] }>('ModelInfer', {
      model_name: 'lenet',
      id: 'g1',
      inputs: [input],
      raw_input_contents: [Buffer.from(x.buffer)],
    });
    assert.deepEqual(
      raw.outputs.map((o) => [o.name, o.shape]),
      [['prob', [2, 10]]],
    );
    const b = raw.raw_output_contents[0];
    assert.deepEqual(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)), expected);
    const typed = await rpc<{ raw_output_contents: Buffer[] }>('ModelInfer', {
      model_name: 'lenet',
      inputs: [{ ...input, contents: { fp32_contents: Array.from(x) } }],
    });
    const t = typed.raw_output_contents[0];
    assert.deepEqual(new Float32Array(t.buffer.slice(t.byteOffset, t.byteOffset + t.length)), expected);
  });

  it('errors carry gRPC status codes, and the service keeps answering', async () => {
    const x = Buffer.from(seededFloats(784, 22, 2).buffer);
    const call = (req: Record<string, unknown>) =>
      rpc('ModelInfer', {
        model_name: 'lenet',
        inputs: [{ name: 'data', datatype: 'FP32', shape: [1, 1, 28, 28] }],
        raw_input_contents: [x],
        ...req,
      });
    await assert.rejects(
      call({ model_name: 'nope' }),
      (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND && /unknown model 'nope'/.test(e.details),
    );
    await assert.rejects(
      call({ inputs: [{ name: 'data', datatype: 'FP32', shape: [1, 28, 28, 1] }] }),
      (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT && /shape/.test(e.details),
    );
    await assert.rejects(
      call({ inputs: [{ name: 'data', datatype: 'INT32', shape: [1, 1, 28, 28] }] }),
      (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT && /datatype INT32/.test(e.details),
    );
    await assert.rejects(
      call({ raw_input_contents: [x.subarray(0, 100)] }),
      (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT && /100 bytes/.test(e.details),
    );
    const ok = (await call({ outputs: [{ name: 'prob', parameters: { classification: { int64_param: 2 } } }] })) as {
      outputs: Array<{ datatype: string; shape: number[] }>;
    };
    assert.deepEqual(
      ok.outputs.map((o) => [o.datatype, o.shape]),
      [['BYTES', [1, 2]]],
    );
  });
});
