#!/usr/bin/env node
// `npm install` hook. For users: load the prebuilt addon from prebuilds/ or, when none matches
// this platform, build the host-only addon (cpu backend) with node-gyp, as node-gyp-build does.
// In a development checkout (a .git folder beside package.json) nothing is compiled here:
// `npm run build` builds the full addon with cmake-js (CUDA included when nvcc is found).
'use strict'
const fs = require('fs')
const path = require('path')
const { spawnSync } = require('child_process')

const root = path.join(__dirname, '..')
if (fs.existsSync(path.join(root, '.git')) && !process.env.npm_config_build_from_source) {
  console.log('tensorrt-node: development checkout; build the addon with `npm run build`.')
  process.exit(0)
}
const bin = require.resolve('node-gyp-build/bin.js')
const result = spawnSync(process.execPath, [bin], { cwd: root, stdio: 'inherit' })
process.exit(result.status === null ? 1 : result.status)
