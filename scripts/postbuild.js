#!/usr/bin/env node
// After tsc: make the CLI entry point executable (npm links it as the `tensorrt-node` bin).
'use strict'
const fs = require('fs')
const path = require('path')
const cli = path.join(__dirname, '..', 'dist', 'lib', 'cli', 'main.js')
if (fs.existsSync(cli)) fs.chmodSync(cli, 0o755)
