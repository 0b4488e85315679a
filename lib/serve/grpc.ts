/**
 * The v2 GRPCInferenceService on @grpc/grpc-js (ServerLive, ServerReady, ModelReady,
 * ServerMetadata, ModelMetadata, ModelInfer), from lib/serve/grpc_service.proto. Inputs come raw
 * (raw_input_contents) or typed (contents); outputs go back raw, as Triton answers.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as path from 'path';
import type { WireDType } from './config';
import { badRequest, grpcStatusOf, statusOf, unavailable } from './errors';
import { EXTENSIONS } from './http';
import type { TensorMetadata } from './model';
import type { ModelRegistry } from './registry';
import { fromBytes, fromJsonData, toBytes, type InferRequest, type RequestTensor, type RequestedOutput } from './tensors';

/** The .proto file (shipped beside lib/serve's sources). */
export const PROTO_FILE = path.resolve(__dirname, '../../../lib/serve/grpc_service.proto');

/** proto-loader options: field names as in the .proto, 64-bit numbers as JavaScript numbers. */
export const PROTO_OPTIONS: protoLoader.Options = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };

/** An InferParameter as proto-loader gives it. */
interface Param {
  bool_param?: boolean;
  int64_param?: number;
  string_param?: string;
  double_param?: number;
  uint64_param?: number;
  parameter_choice?: string;
}
interface Contents {
  fp32_contents?: number[];
  uint_contents?: number[];
  int_contents?: number[];
}
interface InputMsg {
  name: string;
  datatype: string;
  shape: number[];
  parameters?: Record<string, Param>;
  contents?: Contents;
}
interface OutputMsg {
  name: string;
  parameters?: Record<string, Param>;
}
interface InferMsg {
  model_name: string;
  model_version: string;
  id: string;
  parameters?: Record<string, Param>;
  inputs: InputMsg[];
  outputs: OutputMsg[];
  raw_input_contents: Buffer[];
}

/** What the service needs from the server. */
export interface GrpcOptions {
  readonly registry: ModelRegistry;
  readonly host: string;
  readonly port: number;
  readonly serverVersion: string;
  readonly stopping: () => boolean;
}

/** The service definition, loaded from the .proto. */
export function loadService(): grpc.GrpcObject {
  return grpc.loadPackageDefinition(protoLoader.loadSync(PROTO_FILE, PROTO_OPTIONS));
}

function paramValue(p: Param | undefined): boolean | number | string | undefined {
  if (p === undefined) return undefined;
  const key = p.parameter_choice as keyof Param | undefined;
  return key !== undefined ? p[key] : undefined;
}

function inputTensor(t: InputMsg, raw: Buffer | undefined, meta: TensorMetadata | undefined): RequestTensor {
  if (meta === undefined) throw badRequest(`unexpected input '${t.name}'`);
  if (t.datatype !== meta.datatype) throw badRequest(`input '${t.name}': datatype ${t.datatype}, the model takes ${meta.datatype}`);
  const count = t.shape.reduce((a, b) => a * b, 1);
  if (t.shape.some((d) => !Number.isInteger(d) || d < 0) || count > 1 << 30)
    throw badRequest(`input '${t.name}': bad shape [${t.shape.join(', ')}]`);
  const dtype = meta.datatype as WireDType;
  if (raw !== undefined) return { name: t.name, datatype: dtype, shape: t.shape, data: fromBytes(raw, dtype, count, t.name) };
  const c = t.contents ?? {};
  const values = dtype === 'UINT8' ? c.uint_contents : c.fp32_contents;
  if (values === undefined || values.length === 0) throw badRequest(`input '${t.name}' has no contents and no raw_input_contents`);
  return { name: t.name, datatype: dtype, shape: t.shape, data: fromJsonData(values, dtype, count, t.name) };
}

/** A ModelInferRequest as an InferRequest (outputs always raw). */
function readRequest(m: InferMsg, expected: readonly TensorMetadata[]): InferRequest {
  if (m.raw_input_contents.length > 0 && m.raw_input_contents.length !== m.inputs.length) {
    throw badRequest(`raw_input_contents has ${m.raw_input_contents.length} entries for ${m.inputs.length} inputs`);
  }
  const inputs = m.inputs.map((t, i) =>
    inputTensor(
      t,
      m.raw_input_contents[i],
      expected.find((e) => e.name === t.name),
    ),
  );
  const outputs: RequestedOutput[] = m.outputs.map((o) => {
    const k = paramValue(o.parameters?.classification) ?? 0;
    if (typeof k !== 'number' || !Number.isInteger(k) || k < 0)
      throw badRequest(`output '${o.name}': classification must be a non-negative integer`);
    return { name: o.name, binary: true, classification: k };
  });
  const timeout = paramValue(m.parameters?.timeout) ?? 0;
  if (typeof timeout !== 'number') throw badRequest('parameter timeout must be a number of microseconds');
  return { ...(m.id !== '' ? { id: m.id } : {}), inputs, outputs, binaryOutputs: true, timeoutUs: timeout };
}

type Handler = (call: grpc.ServerUnaryCall<unknown, unknown>) => Promise<unknown>;

/** A unary handler answering errors with the gRPC status of their HTTP status. */
function unary(handler: Handler): grpc.handleUnaryCall<unknown, unknown> {
  return (call, callback) => {
    handler(call).then(
      (r) => callback(null, r),
      (err: unknown) => {
        callback({ code: grpcStatusOf(statusOf(err)), details: (err as Error).message ?? String(err) } as grpc.ServiceError, null);
      },
    );
  };
}

function handlers(o: GrpcOptions): grpc.UntypedServiceImplementation {
  const req = <T>(call: grpc.ServerUnaryCall<unknown, unknown>) => call.request as T;
  return {
    ServerLive: unary(async () => ({ live: true })),
    ServerReady: unary(async () => ({ ready: !o.stopping() && o.registry.allReady() })),
    ModelReady: unary(async (call) => {
      const r = req<{ name: string; version: string }>(call);
      return { ready: o.registry.isReady(r.name, r.version) };
    }),
    ServerMetadata: unary(async () => ({ name: 'tensorrt-node', version: o.serverVersion, extensions: EXTENSIONS })),
    ModelMetadata: unary(async (call) => {
      const r = req<{ name: string; version: string }>(call);
      return o.registry.get(r.name, r.version).metadata();
    }),
    ModelInfer: unary(async (call) => {
      if (o.stopping()) throw unavailable('the server is shutting down');
      const m = req<InferMsg>(call);
      const model = o.registry.get(m.model_name, m.model_version);
      const response = await model.infer(readRequest(m, model.metadata().inputs));
      return {
        model_name: response.modelName,
        model_version: response.modelVersion,
        id: response.id ?? '',
        outputs: response.outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })),
        raw_output_contents: response.outputs.map((t) => toBytes(t)),
      };
    }),
  };
}

/** Starts the gRPC service; resolves to its port and a close that lets calls in flight finish. */
export async function startGrpc(o: GrpcOptions): Promise<{ port: number; close(): Promise<void> }> {
  const pkg = loadService().inference as grpc.GrpcObject;
  const service = (pkg.GRPCInferenceService as grpc.ServiceClientConstructor).service;
  const server = new grpc.Server({
    'grpc.max_receive_message_length': 256 * 1024 * 1024,
    'grpc.max_send_message_length': 256 * 1024 * 1024,
  });
  server.addService(service, handlers(o));
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${o.host.includes(':') ? `[${o.host}]` : o.host}:${o.port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    );
  });
  const close = () => new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  return { port, close };
}
