#!/usr/bin/env node
// A node-gyp stand-in for prebuildify (`prebuildify --node-gyp scripts/prebuild-cmake.js`):
// prebuildify calls it as `<node-gyp> rebuild --target=.. --devdir=.. --arch=.. --release` and then
// collects build/Release/*.node. We build with cmake-js instead, against the Node-API headers of
// the node-api-headers package, so nothing is downloaded and the CUDA code is included.
'use strict'
const path = require('path')
const { spawnSync } = require('child_process')

const args = process.argv.slice(2)
const option = (name) => {
  const hit = args.find((a) => a.startsWith(`--${name}=`))
  return hit ? hit.slice(name.length + 3) : undefined
}
const cmakeJs = require.resolve('cmake-js/bin/cmake-js')
const command = [cmakeJs, 'rebuild', '--config', args.includes('--debug') ? 'Debug' : 'Release']
const arch = option('arch')
if (arch) command.push('--arch', arch)
console.log(`prebuild-cmake: cmake-js ${command.slice(1).join(' ')}`)
const result = spawnSync(process.execPath, command, { cwd: path.join(__dirname, '..'), stdio: 'inherit' })
process.exit(result.status === null ? 1 : result.status)
