/**
 * The models the server knows: each repository model's state (READY, LOADING, UNAVAILABLE with the
 * reason, UNLOADING), loading and unloading on request (model control), and lookup by name and
 * version. A model that fails to load is UNAVAILABLE with its reason; the server keeps serving.
 */
import type { BackendChoice } from '../backends';
import { TensorRTNodeError } from '../errors';
import { loadEngines } from './engines';
import { badRequest, notFound, unavailable } from './errors';
import type { Logger } from './log';
import { ServedModel, type ModelRuntime } from './model';
import { listModels, readModel, type ModelSource } from './repository';

/** A model's state, in Triton's words. */
export type ModelState = 'READY' | 'LOADING' | 'UNLOADING' | 'UNAVAILABLE';

/** A row of GET /v2/repository/index. */
export interface IndexEntry {
  readonly name: string;
  readonly version?: string;
  readonly state: ModelState;
  readonly reason: string;
}

interface Entry {
  state: ModelState;
  reason: string;
  model?: ServedModel;
  pending?: Promise<void>;
}

/** What the registry needs from the server. */
export interface RegistryOptions extends ModelRuntime {
  readonly repository: string;
  readonly backend: BackendChoice;
  /** GPUs instances go on when a group names none (default [0]). */
  readonly gpus: readonly number[];
  readonly log: Logger;
  /** Seconds between progress lines while a model builds. */
  readonly progressSeconds: number;
}

/** The repository's models and their states. */
export class ModelRegistry {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: RegistryOptions) {}

  /** Loads every model of the repository (model control mode none, or explicit with `--loadModel *`). */
  async loadAll(): Promise<void> {
    const models = await listModels(this.options.repository);
    await Promise.all(models.map((m) => this.load(m.name).catch(() => undefined)));
  }

  /** The repository index: every model folder, with the state of those the server has seen. */
  async index(): Promise<IndexEntry[]> {
    const models = await listModels(this.options.repository);
    const names = new Set([...models.map((m) => m.name), ...this.entries.keys()]);
    return [...names].sort().map((name) => {
      const e = this.entries.get(name);
      return {
        name,
        ...(e?.model !== undefined ? { version: e.model.version } : {}),
        state: e?.state ?? 'UNAVAILABLE',
        reason: e?.reason ?? 'unloaded',
      };
    });
  }

  /** True when every model the server was asked to load is READY. */
  allReady(): boolean {
    return [...this.entries.values()].every((e) => e.state === 'READY' || (e.state === 'UNAVAILABLE' && e.reason === 'unloaded'));
  }

  /** The READY model of that name (and version, when given): 404 for an unknown one, 503 for one not ready. */
  get(name: string, version?: string): ServedModel {
    const e = this.entries.get(name);
    if (e === undefined) throw notFound(`unknown model '${name}'`);
    if (e.state !== 'READY' || e.model === undefined)
      throw unavailable(`model '${name}' is not ready (${e.state}${e.reason ? `: ${e.reason}` : ''})`);
    if (version !== undefined && version !== '' && version !== e.model.version) {
      throw notFound(`model '${name}' has no version '${version}' (served: ${e.model.version})`);
    }
    return e.model;
  }

  /** True when the model (and version) is READY. */
  isReady(name: string, version?: string): boolean {
    const e = this.entries.get(name);
    return e?.state === 'READY' && (version === undefined || version === '' || e.model?.version === version);
  }

  /** Loads (or reloads) a model; rejects with the reason when it cannot be loaded, leaving it UNAVAILABLE. */
  async load(name: string): Promise<void> {
    const previous = this.entries.get(name);
    // A name the repository does not hold is a 404 and leaves no entry (it would hold readiness down).
    if (previous === undefined && !(await listModels(this.options.repository)).some((m) => m.name === name)) {
      throw notFound(`unknown model '${name}'`);
    }
    await previous?.pending?.catch(() => undefined); // a failed earlier load does not block this one
    const entry: Entry = { state: 'LOADING', reason: '' };
    this.entries.set(name, entry);
    entry.pending = this.loadInto(name, entry, previous?.model);
    return entry.pending;
  }

  private async loadInto(name: string, entry: Entry, old: ServedModel | undefined): Promise<void> {
    const started = performance.now();
    const log = this.options.log;
    const progress = setInterval(
      () => log.info(`model '${name}': building, ${((performance.now() - started) / 1000).toFixed(0)} s`, { model: name }),
      this.options.progressSeconds * 1000,
    );
    try {
      const source = await readModel(this.options.repository, name);
      log.info(
        `model '${name}': loading version ${source.version} from ${source.files.kind === 'plan' ? source.files.plan : source.files.prototxt}`,
        { model: name },
      );
      const devices = devicesOf(source, this.options.gpus);
      const engines = await loadEngines(source, { backend: this.options.backend, devices, log: (m) => log.warn(m, { model: name }) });
      entry.model = new ServedModel(source, engines, devices, this.options);
      entry.state = 'READY';
      const e = engines[0];
      log.info(
        `model '${name}': ready in ${((performance.now() - started) / 1000).toFixed(2)} s (${e.backend}, ${e.precision}, ` +
          `max batch ${e.maxBatchSize}, ${entry.model.instanceCount} instance${entry.model.instanceCount === 1 ? '' : 's'})`,
        { model: name },
      );
    } catch (err) {
      entry.state = 'UNAVAILABLE';
      entry.reason = (err as Error).message;
      log.error(`model '${name}': failed to load: ${entry.reason}`, { model: name, code: (err as TensorRTNodeError).code });
      throw err instanceof TensorRTNodeError && !(err.code === 'E_IO' || err.code === 'E_PARSE' || err.code === 'E_INVALID_ARGUMENT')
        ? err
        : badRequest(entry.reason);
    } finally {
      clearInterval(progress);
      await old?.unload();
    }
  }

  /** Unloads a model: new requests are refused, queued ones finish, then its memory is freed. */
  async unload(name: string): Promise<void> {
    const e = this.entries.get(name);
    if (e === undefined) {
      if (!(await listModels(this.options.repository)).some((m) => m.name === name)) throw notFound(`unknown model '${name}'`);
      return;
    }
    await e.pending?.catch(() => undefined);
    const model = e.model;
    e.state = 'UNLOADING';
    e.model = undefined;
    await model?.unload();
    e.state = 'UNAVAILABLE';
    e.reason = 'unloaded';
  }

  /** Unloads every model (shutdown: drains their queues). */
  async close(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((n) => this.unload(n).catch(() => undefined)));
  }
}

/** The devices a model's engines go on: the GPUs its groups name, else the server's. */
function devicesOf(source: ModelSource, serverGpus: readonly number[]): number[] {
  const fallback = serverGpus.length > 0 ? serverGpus : [0];
  const set = new Set<number>();
  const groups = source.config.instanceGroups;
  if (groups.length === 0) fallback.forEach((g) => set.add(g));
  for (const g of groups) (g.gpus.length > 0 ? g.gpus : fallback).forEach((d) => set.add(d));
  return [...set].sort((a, b) => a - b);
}
