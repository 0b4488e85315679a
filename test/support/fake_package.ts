/**
 * Package folders laid out as a user's install or a developer's checkout, for the tests of the
 * addon loader and the install script: dist/lib, package.json and node_modules (a link to this
 * checkout's), plus whatever binaries a test puts in prebuilds/ and build/.
 */
import { spawnSync, type SpawnSyncReturns } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** This checkout. */
export const ROOT = path.resolve(__dirname, '../../..');

/** The addon this checkout loads in the tests (a real one, to copy into fake layouts). */
export const BUILT_ADDON = path.join(ROOT, 'build', 'Release', 'tensorrt_node.node');

/** A fake package folder. */
export interface FakePackage {
  readonly root: string;
  /** prebuilds/<platform>-<arch>/ of this machine. */
  readonly prebuildDir: string;
  /** Writes `file` (relative to root) as a copy of the real addon, or with `text`, last modified `ageSeconds` ago. */
  put(file: string, what: { copyOf: string } | { text: string }, ageSeconds?: number): string;
  /** Runs `node -e code` in the folder. */
  run(code: string, env?: NodeJS.ProcessEnv): SpawnSyncReturns<string>;
  remove(): void;
}

/**
 * Makes a package folder: `checkout` adds a `.git` file (as a git worktree has), which is what
 * tells the loader and the install script that they are in a development checkout.
 */
export function fakePackage(options: { checkout: boolean; nodeModules?: boolean; scripts?: boolean }): FakePackage {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'trtn-pkg-'));
  fs.cpSync(path.join(ROOT, 'dist', 'lib'), path.join(root, 'dist', 'lib'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(root, 'package.json'));
  if (options.nodeModules !== false) fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(root, 'node_modules'));
  if (options.scripts) {
    fs.mkdirSync(path.join(root, 'scripts'));
    for (const f of ['install.js', 'gyp-sources.js']) fs.copyFileSync(path.join(ROOT, 'scripts', f), path.join(root, 'scripts', f));
  }
  if (options.checkout) fs.writeFileSync(path.join(root, '.git'), 'gitdir: /nowhere\n');
  const prebuildDir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  return {
    root,
    prebuildDir,
    put(file, what, ageSeconds = 0) {
      const full = path.resolve(root, file);
      fs.mkdirSync(path.dirname(full), { recursive: true });
      if ('copyOf' in what) fs.copyFileSync(what.copyOf, full);
      else fs.writeFileSync(full, what.text);
      const when = new Date(Date.now() - ageSeconds * 1000);
      fs.utimesSync(full, when, when);
      return full;
    },
    run(code, env = {}) {
      const clean: NodeJS.ProcessEnv = { ...process.env };
      for (const name of [
        'TENSORRT_NODE_ADDON',
        'TRTN_TENSORRT_MODULE',
        'TENSORRT_ROOT',
        'npm_config_tensorrt_root',
        'npm_config_node_gyp',
        'npm_config_build_from_source',
      ]) {
        delete clean[name];
      }
      return spawnSync(process.execPath, ['-e', code], { cwd: root, encoding: 'utf8', env: { ...clean, ...env }, timeout: 120000 });
    },
    remove() {
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
