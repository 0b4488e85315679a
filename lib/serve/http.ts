/**
 * KServe v2 REST routes on fastify: health, server and model metadata, readiness, infer (JSON and
 * the binary tensor data extension), and the repository (model control) extension. Registered as
 * a fastify plugin, so an application can mount them in its own fastify instance.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'http';
import { receiveBody, splitWhole, type BlockSource, type ReceivedBody } from './body';
import { badRequest, statusOf, unavailable } from './errors';
import type { Logger } from './log';
import type { ModelRegistry } from './registry';
import { readRestRequest, writeRestResponse } from './wire_json';

/** The protocol extensions the server implements (GET /v2 lists them). */
export const EXTENSIONS = ['classification', 'binary_tensor_data', 'model_repository'];

/** What the routes need. */
export interface RouteContext {
  readonly registry: ModelRegistry;
  readonly log: Logger;
  readonly serverName: string;
  readonly serverVersion: string;
  /** 'explicit' allows load / unload requests. */
  readonly modelControl: 'none' | 'explicit';
  /** Why load / unload requests are refused, when not for the mode (a cluster worker). */
  readonly controlRefusal?: string;
  /** True once shutdown began: readiness fails and new inferences are refused. */
  readonly stopping: () => boolean;
}

type ModelParams = { model: string; version?: string };

/** Answers an error as `{"error": "..."}` with its status. */
export function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  const status = statusOf(err);
  return reply
    .code(status)
    .type('application/json')
    .send({ error: (err as Error).message ?? String(err) });
}

/** Registers the v2 routes on `app` (a fastify plugin: `app.register(v2Routes, ctx)`). */
export async function v2Routes(app: FastifyInstance, ctx: RouteContext): Promise<void> {
  // Bodies are read raw (body.ts): infer's binary data straight into the model's pooled host
  // memory, malformed JSON gets our 400, and the body limit is checked here (fastify checks it only
  // for its own parsers).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (req, payload, done) => {
    receiveBody(payload as IncomingMessage, {
      contentLength: lengthOf(req.headers['content-length']),
      headerLength: headerOf(req.headers['inference-header-content-length']),
      limit: req.routeOptions.bodyLimit ?? Number.MAX_SAFE_INTEGER,
      blocks: blocksFor(ctx, req as FastifyRequest<{ Params: Partial<ModelParams> }>),
    }).then(
      (body) => done(null, body),
      (err: Error) => done(err, undefined),
    );
  });
  app.setErrorHandler((err, _req, reply) => sendError(reply, err));
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: `no route ${req.method} ${req.url}` }));
  healthRoutes(app, ctx);
  modelRoutes(app, ctx);
  repositoryRoutes(app, ctx);
}

function healthRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get('/v2', async () => ({ name: ctx.serverName, version: ctx.serverVersion, extensions: EXTENSIONS }));
  app.get('/v2/health/live', async (_req, reply) => reply.code(200).send());
  app.get('/v2/health/ready', async (_req, reply) => {
    const ready = !ctx.stopping() && ctx.registry.allReady();
    return ready
      ? reply.code(200).send()
      : reply.code(503).send({ error: ctx.stopping() ? 'the server is shutting down' : 'models are not ready' });
  });
}

function modelRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const metadata = async (req: FastifyRequest<{ Params: ModelParams }>) =>
    ctx.registry.get(req.params.model, req.params.version).metadata();
  app.get('/v2/models/:model', metadata);
  app.get('/v2/models/:model/versions/:version', metadata);
  const ready = async (req: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    ctx.registry.get(req.params.model, req.params.version); // 404 / 503 with the reason
    return reply.code(200).send();
  };
  app.get('/v2/models/:model/ready', ready);
  app.get('/v2/models/:model/versions/:version/ready', ready);
  const infer = (req: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => inferRoute(ctx, req, reply);
  app.post('/v2/models/:model/infer', infer);
  app.post('/v2/models/:model/versions/:version/infer', infer);
}

async function inferRoute(ctx: RouteContext, req: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply): Promise<FastifyReply> {
  if (ctx.stopping()) return sendError(reply, unavailable('the server is shutting down'));
  const model = ctx.registry.get(req.params.model, req.params.version);
  const body =
    (req.body as ReceivedBody | undefined) ?? splitWhole(new Uint8Array(0), headerOf(req.headers['inference-header-content-length']));
  let out: Buffer | string;
  let headerLength: number | undefined;
  try {
    const response = await model.infer(readRestRequest(body, model.metadata().inputs));
    ({ body: out, headerLength } = writeRestResponse(response));
  } finally {
    body.release(); // the inputs were read (staged or run in place): the block goes back to the pool
  }
  if (headerLength === undefined) return reply.type('application/json').send(out);
  return reply.type('application/octet-stream').header('Inference-Header-Content-Length', String(headerLength)).send(out);
}

function lengthOf(v: string | undefined): number | undefined {
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

function headerOf(v: string | string[] | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** Pooled host memory of the model an infer request names, when it is ready (else none). */
function blocksFor(ctx: RouteContext, req: FastifyRequest<{ Params: Partial<ModelParams> }>): BlockSource | undefined {
  const { model, version } = req.params ?? {};
  if (model === undefined || req.routeOptions.url?.endsWith('/infer') !== true || !ctx.registry.isReady(model, version)) return undefined;
  const served = ctx.registry.get(model, version);
  return (bytes) => served.bodyBlock(bytes);
}

function repositoryRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const index = async () => ctx.registry.index();
  app.get('/v2/repository/index', index);
  app.post('/v2/repository/index', index);
  const control = (action: 'load' | 'unload') => async (req: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    if (ctx.controlRefusal !== undefined) throw badRequest(ctx.controlRefusal);
    if (ctx.modelControl !== 'explicit') throw badRequest(`model control is off: ${action} needs --modelControlMode explicit`);
    if (action === 'load') await ctx.registry.load(req.params.model);
    else await ctx.registry.unload(req.params.model);
    ctx.log.info(`model '${req.params.model}': ${action}ed on request`, { model: req.params.model });
    return reply.code(200).send();
  };
  app.post('/v2/repository/models/:model/load', control('load'));
  app.post('/v2/repository/models/:model/unload', control('unload'));
}
