#!/usr/bin/env node
// Prints the native sources of the named groups of native/sources.json, one per line, for
// binding.gyp's command expansion. CMakeLists.txt reads the same file, so the lists stay one.
'use strict'
const path = require('path')
const groups = require(path.join(__dirname, '..', 'native', 'sources.json'))
for (const name of process.argv.slice(2)) {
  if (!Array.isArray(groups[name])) {
    console.error(`gyp-sources: no source group "${name}" in native/sources.json`)
    process.exit(1)
  }
  for (const file of groups[name]) console.log(file)
}
