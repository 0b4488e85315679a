/**
 * The model repository in Triton's layout: `<repo>/<model>/config.pbtxt` and numbered version
 * folders `<repo>/<model>/<version>/` holding a built `.plan`, or a deploy.prototxt (with an
 * optional .caffemodel). Parameters `prototxt` / `caffemodel` may name files instead (relative to
 * the model folder). `labels.txt` in the model folder (or an output's label_filename) gives
 * classification labels.
 */
import { promises as fsp } from 'fs';
import * as path from 'path';
import { IOError, TensorRTNodeError } from '../errors';
import { parseModelConfig, type ModelConfig } from './config';

/** Where a model version's engine comes from. */
export type EngineFiles =
  { readonly kind: 'plan'; readonly plan: string } | { readonly kind: 'caffe'; readonly prototxt: string; readonly caffemodel?: string };

/** One model of the repository, resolved to the files of its newest version. */
export interface ModelSource {
  readonly name: string;
  readonly dir: string;
  readonly config: ModelConfig;
  readonly version: string;
  readonly files: EngineFiles;
  /** Class labels, one per line, when the model has a labels file. */
  readonly labels?: readonly string[];
}

/** A repository entry as GET /v2/repository/index lists it. */
export interface RepositoryEntry {
  readonly name: string;
  readonly dir: string;
}

/** The model folders of a repository (those with a config.pbtxt), sorted by name. */
export async function listModels(repo: string): Promise<RepositoryEntry[]> {
  let names: string[];
  try {
    names = await fsp.readdir(repo);
  } catch (err) {
    throw new IOError(`cannot read the model repository ${repo}: ${(err as Error).message}`, repo, { cause: err });
  }
  const out: RepositoryEntry[] = [];
  for (const name of names.sort()) {
    const dir = path.join(repo, name);
    if (await exists(path.join(dir, 'config.pbtxt'))) out.push({ name, dir });
  }
  return out;
}

async function exists(p: string): Promise<boolean> {
  return fsp.stat(p).then(
    () => true,
    () => false,
  );
}

/** Reads and checks a model folder: its config, its newest version and the files of that version. */
export async function readModel(repo: string, name: string): Promise<ModelSource> {
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name === '.' || name === '..') {
    throw new TensorRTNodeError('E_INVALID_ARGUMENT', `'${name}' is not a model name (letters, digits, '_', '.', '-')`);
  }
  const dir = path.join(repo, name);
  const configFile = path.join(dir, 'config.pbtxt');
  let text: string;
  try {
    text = await fsp.readFile(configFile, 'utf8');
  } catch (err) {
    throw new IOError(`model '${name}': cannot read ${configFile}: ${(err as Error).message}`, configFile, { cause: err });
  }
  const config = parseModelConfig(text, configFile, name);
  const version = await newestVersion(dir);
  const files = await engineFiles(dir, version, config);
  const labels = await readLabels(dir, config);
  return { name, dir, config, version: version ?? '1', files, ...(labels !== undefined ? { labels } : {}) };
}

/** The highest numbered version folder, or undefined when there is none. */
async function newestVersion(dir: string): Promise<string | undefined> {
  const entries = await fsp.readdir(dir, { withFileTypes: true });
  const versions = entries.filter((e) => e.isDirectory() && /^\d+$/.test(e.name)).map((e) => e.name);
  versions.sort((a, b) => Number(b) - Number(a));
  return versions[0];
}

async function filesIn(dir: string | undefined): Promise<string[]> {
  if (dir === undefined) return [];
  return (await fsp.readdir(dir)).sort().map((f) => path.join(dir, f));
}

/** The plan or Caffe files of a version (parameters name files relative to the model folder). */
async function engineFiles(dir: string, version: string | undefined, config: ModelConfig): Promise<EngineFiles> {
  const versionDir = version === undefined ? undefined : path.join(dir, version);
  const files = await filesIn(versionDir);
  const p = config.parameters;
  const resolve = (f: string) => path.resolve(dir, f);
  const caffemodel = p.caffemodel !== undefined ? resolve(p.caffemodel) : files.find((f) => f.endsWith('.caffemodel'));
  if (p.prototxt !== undefined)
    return { kind: 'caffe', prototxt: resolve(p.prototxt), ...(caffemodel !== undefined ? { caffemodel } : {}) };
  const plan = files.find((f) => /\.(plan|engine)$/.test(f));
  if (plan !== undefined) return { kind: 'plan', plan };
  const prototxt = files.find((f) => f.endsWith('.prototxt'));
  if (prototxt !== undefined) return { kind: 'caffe', prototxt, ...(caffemodel !== undefined ? { caffemodel } : {}) };
  throw new TensorRTNodeError(
    'E_INVALID_ARGUMENT',
    `model '${config.name}': no engine: ${versionDir ?? `${dir} has no version folder`} ` +
      'holds no .plan and no .prototxt, and parameters name no prototxt',
  );
}

async function readLabels(dir: string, config: ModelConfig): Promise<string[] | undefined> {
  const named = config.outputs.find((o) => o.labelFilename !== undefined)?.labelFilename;
  const file = path.join(dir, named ?? 'labels.txt');
  if (named === undefined && !(await exists(file))) return undefined;
  try {
    return (await fsp.readFile(file, 'utf8')).split(/\r?\n/).filter((l, i, all) => l !== '' || i < all.length - 1);
  } catch (err) {
    throw new IOError(`model '${config.name}': cannot read labels ${file}: ${(err as Error).message}`, file, { cause: err });
  }
}
