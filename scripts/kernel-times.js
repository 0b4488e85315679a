#!/usr/bin/env node
// Reads an Nsight Compute CSV of gpu__time_duration (gpu-session.sh's kerneltimes step) and prints
// the kernels of the last inference with their own GPU times: the run ends with a few identical
// inferences, so the last one is the shortest tail that the two before it repeat.
//   node scripts/kernel-times.js kt-alexnet-int8-b1.csv [--json]
'use strict';
const fs = require('fs');

/** Splits one CSV line (quoted fields, no embedded newlines). */
function fields(line) {
  const out = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** The kernel's function name without namespaces, template arguments or parameters. */
function shortName(name) {
  let depth = 0;
  let base = '';
  for (const ch of name) {
    if (ch === '<' || ch === '(') depth++;
    else if (ch === '>' || ch === ')') depth--;
    else if (depth === 0) base += ch;
  }
  const parts = base.trim().split('::');
  return parts[parts.length - 1].replace(/^void /, '');
}

function main() {
  const [file, ...flags] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node scripts/kernel-times.js <ncu csv> [--json]');
    process.exit(2);
  }
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const head = lines.findIndex((l) => l.startsWith('"ID"'));
  if (head < 0) {
    console.error(`${file}: no Nsight Compute CSV header ("ID", ...)`);
    process.exit(1);
  }
  const cols = fields(lines[head]);
  const at = (n) => cols.indexOf(n);
  const [iName, iMetric, iValue, iGrid, iBlock] = ['Kernel Name', 'Metric Name', 'Metric Value', 'Grid Size', 'Block Size'].map(at);
  const launches = [];
  for (const line of lines.slice(head + 1)) {
    if (!line.startsWith('"')) continue;
    const f = fields(line);
    if (f[iMetric] !== 'gpu__time_duration.sum') continue;
    launches.push({ kernel: shortName(f[iName]), grid: f[iGrid], block: f[iBlock], us: Number(f[iValue].replace(/,/g, '')) / 1000 });
  }
  const names = launches.map((l) => `${l.kernel} ${l.grid}`);
  let period = 0;
  // Three alike in a row, so that a kernel launched twice in a row inside one inference is not taken
  // for a whole inference.
  const n = names.length;
  for (let p = 1; 3 * p <= n && !period; p++) {
    if (names.slice(n - p).every((v, i) => v === names[n - 2 * p + i] && v === names[n - 3 * p + i])) period = p;
  }
  if (!period) {
    console.error(`${file}: ${launches.length} launches, no repeating inference at the end`);
    process.exit(1);
  }
  const last = launches.slice(launches.length - period);
  const total = last.reduce((s, l) => s + l.us, 0);
  if (flags.includes('--json')) {
    console.log(JSON.stringify({ file, kernels: last, totalUs: total }, null, 1));
    return;
  }
  console.log(`${file}: ${launches.length} launches; the last inference is ${period} kernel(s), ${total.toFixed(1)} us`);
  for (const l of last) console.log(`${l.us.toFixed(2).padStart(9)} us  ${l.kernel}  grid ${l.grid} block ${l.block}`);
}

main();
