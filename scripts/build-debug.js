#!/usr/bin/env node
// `npm run build:debug`: a quick build of the addon for the GPU of this machine only, into
// build-dev/Release (the loader of a checkout takes the newest of build/Release, build-dev/Release
// and prebuilds/). One CUDA architecture instead of the release's five: the CMake option
// TRTN_CUDA_ARCHS gets the compute capability nvidia-smi reports (every distinct one, when the GPUs
// differ), as machine code only. Without nvidia-smi it builds for sm_90 (the H100 / H200 of the GPU
// machine). TRTN_CUDA_ARCHS in the environment overrides both: `TRTN_CUDA_ARCHS=86 npm run build:debug`
// (a CMake list is passed through as given: "80-real;90-virtual"). Incremental, like `npm run build`.
'use strict'
const os = require('os')
const path = require('path')
const { spawnSync } = require('child_process')

/** The architecture built when no GPU can be asked. */
const DEFAULT_ARCHS = '90-real'

/**
 * CMake CUDA architectures for compute capabilities as nvidia-smi prints them ("8.6", "9.0"), or
 * as a user writes them ("86", "sm_86", "86-real"): every distinct one, machine code only.
 */
function cudaArchs(capabilities) {
  const archs = []
  for (const raw of capabilities) {
    const text = raw.trim()
    if (text === '') continue
    if (/^\d+-(real|virtual)$/.test(text)) {
      if (!archs.includes(text)) archs.push(text)
      continue
    }
    const m = /^(?:sm_|compute_)?(\d+)(?:\.(\d+))?$/.exec(text)
    if (!m) throw new Error(`build-debug: '${text}' is not a compute capability (8.6, 86, sm_86 or 86-real)`)
    const arch = `${m[2] === undefined ? m[1] : m[1] + m[2]}-real`
    if (!archs.includes(arch)) archs.push(arch)
  }
  return archs.join(';')
}

/** The compute capabilities of this machine's GPUs, from nvidia-smi; [] when it is absent or fails. */
function gpuCapabilities() {
  const r = spawnSync('nvidia-smi', ['--query-gpu=compute_cap', '--format=csv,noheader'], { encoding: 'utf8', timeout: 30000 })
  if (r.error || r.status !== 0) return []
  return r.stdout.split('\n').filter((l) => /^\s*\d+\.\d+\s*$/.test(l))
}

/** The architectures to build and where they came from. */
function chooseArchs(environment = process.env, query = gpuCapabilities) {
  const given = environment.TRTN_CUDA_ARCHS
  if (given) return { archs: given.includes(';') ? given : cudaArchs(given.split(',')), from: 'TRTN_CUDA_ARCHS' }
  const caps = query()
  if (caps.length > 0) return { archs: cudaArchs(caps), from: `nvidia-smi (compute capability ${caps.map((c) => c.trim()).join(', ')})` }
  return { archs: DEFAULT_ARCHS, from: 'the default: no nvidia-smi answered' }
}

function main() {
  const { archs, from } = chooseArchs()
  const parallel = Math.max(1, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length)
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js')
  const args = [cmakeJs, 'compile', '--out', 'build-dev', `--CDTRTN_CUDA_ARCHS=${archs}`, '--parallel', String(parallel)]
  console.log(`build:debug: CUDA architectures ${archs} from ${from}`)
  if (archs.split(';').some((a) => parseInt(a, 10) < 75)) {
    console.log(
      'build:debug: note: CUDA 13 compiles nothing below sm_75; for older GPUs (sm_52, sm_61, sm_70) build with a CUDA 12 ' +
        'toolkit: --CDCMAKE_CUDA_COMPILER=<cuda-12>/bin/nvcc, or npm run prebuilds:cuda12 (docs/build.md)',
    )
  }
  console.log(`build:debug: cmake-js ${args.slice(1).join(' ')}`)
  const r = spawnSync(process.execPath, args, { cwd: path.join(__dirname, '..'), stdio: 'inherit' })
  process.exit(r.status === null ? 1 : r.status)
}

if (require.main === module) main()
module.exports = { cudaArchs, chooseArchs, DEFAULT_ARCHS }
