/**
 * How to get what is missing: the texts that name a command, in one place, so the install script
 * (scripts/install.js), the loader's errors and the optional-package errors give the same fix.
 * Each command works where it is printed: in an installed package (node_modules/tensorrt-node, or a
 * global install) nothing that needs this package's devDependencies or `npm run` scripts is named;
 * in a git checkout the package's own scripts are.
 */
import * as fs from 'fs';
import * as path from 'path';

/** A git checkout of the package (a `.git` folder or worktree file beside package.json), not an installed copy. */
export function isCheckout(root: string): boolean {
  return fs.existsSync(path.join(root, '.git'));
}

/** What a host-only (cpu backend) build of binding.gyp needs, per distribution family. */
export const HOST_BUILD_TOOLS =
  'a C++17 compiler, make and python3 (Debian/Ubuntu: sudo apt-get install build-essential python3; ' +
  'Fedora/RHEL: sudo dnf install gcc-c++ make python3; Alpine: apk add build-base python3)';

/** The command that builds the addon again where the package is installed (npm runs scripts/install.js). */
export const REBUILD_COMMAND = 'npm rebuild tensorrt-node --foreground-scripts';

/**
 * How to get a loadable addon: in a checkout, the package's build scripts; in an installed package,
 * the host-only build (cpu backend) that `npm rebuild` compiles with node-gyp when no prebuilt
 * binary loads.
 */
export function addonBuildHint(checkout: boolean): string {
  if (checkout) return 'build it in this checkout: npm run build (or npm run build:debug, for the GPU of this machine only)';
  return (
    'where no prebuilt binary of the package loads, the cpu backend needs the host-only build (binding.gyp), which npm ' +
    `compiles at install time; it needs ${HOST_BUILD_TOOLS}: install them, then run ${REBUILD_COMMAND} ` +
    '(npm rebuild -g tensorrt-node for a global install)'
  );
}

/** How to build the TensorRT module (tensorrt_node_trt.so) where TensorRT is installed. */
export function tensorrtModuleHint(checkout: boolean): string {
  // An explicit configure: `npm run build` keeps an existing configuration, and with it an older TENSORRT_ROOT.
  if (checkout) return 'build it where TensorRT is installed: npx cmake-js configure --CDTENSORRT_ROOT=<TensorRT folder> && npm run build';
  return `build it where TensorRT is installed: TENSORRT_ROOT=<TensorRT folder> ${REBUILD_COMMAND}, which needs cmake and nvcc`;
}

/**
 * How to install npm packages that this package loads only when a feature asks for them: in the
 * project that uses tensorrt-node (a package is found from node_modules/tensorrt-node by walking up).
 */
export function packageInstallHint(packages: readonly string[]): string {
  const names = packages.join(' ');
  return `npm install ${names} (in the project that uses tensorrt-node; npm install -g ${names} beside a global install)`;
}
