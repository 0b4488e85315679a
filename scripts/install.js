#!/usr/bin/env node
// `npm install` hook (and what `npm rebuild tensorrt-node` runs). It never fails the install:
//   1. load the addon as the package will (dist/lib/native.js, in a child process): the prebuilt
//      binary for this platform, or a local build;
//   2. when none loads (or --build-from-source), compile the host-only addon (binding.gyp, cpu
//      backend) with node-gyp, and load it again;
//   3. when that fails too (no compiler, no python3, no headers), print one message saying what the
//      cpu backend needs and the command that builds it, and exit 0: the importer and `inspect`
//      work without the addon, and the runtime error of everything else names the same fix;
//   4. with TENSORRT_ROOT (or npm's --tensorrt_root) set, build the TensorRT module with cmake-js
//      into build/Release, where the loader looks for it next to whichever addon it loads.
// In a git checkout (a .git beside package.json) nothing is compiled: `npm run build` builds the
// full addon with cmake-js (CUDA included when nvcc is found).
// npm shows a dependency's install output only when it fails; --foreground-scripts shows it always.
'use strict'
const fs = require('fs')
const path = require('path')
const { spawnSync } = require('child_process')

const root = path.join(__dirname, '..')
const env = process.env

// npm passes `--build-from-source` to scripts as npm_config_build_from_source=true.
const buildFromSource = env.npm_config_build_from_source === 'true'
const tensorrtRoot = env.npm_config_tensorrt_root || env.TENSORRT_ROOT || ''

function say(line) {
  console.log(`tensorrt-node: ${line}`)
}

/** The package's hint texts (lib/install_hints.ts); undefined when dist/ is missing. */
function hints() {
  try {
    return require(path.join(root, 'dist', 'lib', 'install_hints.js'))
  } catch {
    return undefined
  }
}

/** Loads the addon in a child process, as the package will: { ok, file, backends } or { ok: false, error }. */
function probe() {
  const code = `
    const n = require(${JSON.stringify(path.join(root, 'dist', 'lib', 'native.js'))});
    try {
      const b = n.native().buildInfo();
      process.stdout.write(JSON.stringify({ ok: true, file: n.nativePath(), backends: b.backends, note: b.note }));
    } catch (e) {
      const reasons = n.nativeLoadErrors && n.nativeLoadErrors();
      process.stdout.write(JSON.stringify({ ok: false, error: reasons ? reasons.join('; ') : String(e && e.message || e) }));
    }`
  const r = spawnSync(process.execPath, ['-e', code], { cwd: root, encoding: 'utf8', timeout: 120000 })
  try {
    return JSON.parse(r.stdout)
  } catch {
    const why = r.error ? r.error.message : `exit ${r.status === null ? r.signal : r.status}: ${(r.stderr || '').trim().split('\n')[0]}`
    return { ok: false, error: `the load check failed (${why})` }
  }
}

/** node-gyp as npm hands it to scripts (npm_config_node_gyp), else a resolvable node-gyp, else the one on PATH. */
function nodeGyp() {
  const given = env.npm_config_node_gyp
  if (given) return /\.[cm]?js$/.test(given) ? [process.execPath, given] : [given]
  try {
    return [process.execPath, require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] })]
  } catch {
    return ['node-gyp']
  }
}

/** Compiles binding.gyp; returns '' on success, else why not. */
function compileHostOnly() {
  const [command, ...args] = nodeGyp()
  say(`compiling the host-only addon (cpu backend) with ${[command, ...args].join(' ')} rebuild`)
  const r = spawnSync(command, [...args, 'rebuild'], { cwd: root, stdio: 'inherit' })
  if (r.error) return `${command} could not be run: ${r.error.message}`
  if (r.status !== 0) return `node-gyp exited with ${r.status === null ? r.signal : `code ${r.status}`}`
  return ''
}

/** cmake-js from the package's dependencies, else through npm exec (downloads it once into npm's cache). */
function cmakeJs() {
  try {
    return [process.execPath, require.resolve('cmake-js/bin/cmake-js', { paths: [root] })]
  } catch {
    const npm = env.npm_execpath
    const exec = ['exec', '--yes', '--package=cmake-js@^8', '--', 'cmake-js']
    return npm ? [process.execPath, npm, ...exec] : ['npm', ...exec]
  }
}

/**
 * Builds the TensorRT module (and the full addon too when the loaded one has no CUDA); returns why
 * not, or ''. Configured explicitly first: `cmake-js compile` keeps an existing configuration, and
 * with it an older TENSORRT_ROOT.
 */
function buildTensorRTModule(onlyModule) {
  const [command, ...args] = cmakeJs()
  const steps = [
    [...args, 'configure', `--CDTENSORRT_ROOT=${tensorrtRoot}`],
    [...args, 'build', ...(onlyModule ? ['--target', 'tensorrt_node_trt'] : [])],
  ]
  say(`building the TensorRT module against ${tensorrtRoot} with cmake-js (${command} ${args.join(' ')})`)
  for (const step of steps) {
    const r = spawnSync(command, step, { cwd: root, stdio: 'inherit' })
    if (r.error) return `${command} could not be run: ${r.error.message}`
    const code = r.status === null ? r.signal : `code ${r.status}`
    if (r.status !== 0) return `cmake-js ${step[args.length]} exited with ${code} (the CMake output above says why)`
  }
  if (!fs.existsSync(path.join(root, 'build', 'Release', 'tensorrt_node_trt.so'))) return 'CMake built no tensorrt_node_trt.so'
  return ''
}

function main() {
  if (fs.existsSync(path.join(root, '.git')) && !buildFromSource) {
    say('development checkout; build the addon with `npm run build` (or `npm run build:debug`).')
    return
  }
  let loaded = buildFromSource ? { ok: false, error: 'not tried: --build-from-source' } : probe()
  const prebuildError = loaded.ok ? '' : loaded.error
  let compileError = ''
  if (!loaded.ok) {
    compileError = compileHostOnly()
    if (!compileError) {
      loaded = probe()
      if (!loaded.ok) compileError = `node-gyp built it, but it does not load: ${loaded.error}`
    }
  }
  if (loaded.ok) {
    say(`addon ${path.relative(root, loaded.file)} loads (backends: ${loaded.backends.join(', ')})`)
  } else {
    // The same tools and command as the runtime error (lib/install_hints.ts).
    const h = hints() || {
      HOST_BUILD_TOOLS: 'a C++17 compiler, make and python3',
      REBUILD_COMMAND: 'npm rebuild tensorrt-node --foreground-scripts',
    }
    console.error(
      [
        '',
        'tensorrt-node: installed WITHOUT its native addon.',
        `  No prebuilt binary loads here (${prebuildError}),`,
        `  and the host-only addon (cpu backend) could not be compiled (${compileError}).`,
        '  The Caffe importer and `tensorrt-node inspect` work; building and running engines need the addon.',
        `  The host-only build needs ${h.HOST_BUILD_TOOLS}.`,
        `  Install them, then run: ${h.REBUILD_COMMAND}   (npm rebuild -g tensorrt-node for a global install)`,
        '',
      ].join('\n'),
    )
  }
  if (tensorrtRoot) {
    // With an addon that has CUDA, only the module is compiled; otherwise the full addon too.
    const why = buildTensorRTModule(loaded.ok && loaded.backends.includes('cuda'))
    if (why) say(`the TensorRT module was not built: ${why}. The cuda and cpu backends are unaffected.`)
    else say('TensorRT module built: build/Release/tensorrt_node_trt.so')
  }
}

try {
  main()
} catch (err) {
  // Whatever went wrong here, the package is installed; the runtime errors say what is missing.
  console.error(`tensorrt-node: the install check failed (${err && err.stack ? err.stack : err}); the package is installed anyway.`)
}
process.exitCode = 0
