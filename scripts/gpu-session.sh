#!/usr/bin/env bash
# Every GPU step of a session in one run on the device machine (no Node there; no registry):
#   here:  npm run build && bash ../shared/device/pack.sh
#   there: run with carry [".device", "build", "dist"] and the command
#          source .device/env.sh && bash scripts/gpu-session.sh
# Steps: GPU and driver facts, the addon's device check (probe kernel on every GPU), the GPU
# tests, the whole test suite. Logs and JSON go to $OUT (the device tool brings them back).
set -uo pipefail
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
log="$OUT/gpu-session.log"
exec > >(tee "$log") 2>&1

echo "== machine"
nvidia-smi --query-gpu=index,name,driver_version,memory.total,clocks.max.sm,power.limit --format=csv
nvcc --version 2>/dev/null | tail -1
echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), $(date -u +%Y-%m-%dT%H:%M:%SZ)"

echo "== addon: build info and devices (probe kernel on every GPU)"
node -e '
const t = require("./dist/lib");
const fs = require("fs");
const info = t.buildInfo();
const list = t.devices({ checkImages: true });
const smi = require("child_process").execSync("nvidia-smi --query-gpu=name,driver_version --format=csv,noheader").toString().trim().split("\n")[0].split(", ");
let commit = "unknown";
try { commit = require("child_process").execSync("git rev-parse HEAD").toString().trim(); } catch {}
const record = { what: "addon device check on the GPU machine", date: new Date().toISOString(), commit,
  gpu: smi[0], driver: smi[1], buildInfo: info, devices: list };
console.log(JSON.stringify(record, null, 2));
fs.writeFileSync(process.env.OUT + "/devices.json", JSON.stringify(record, null, 2) + "\n");
if (list.devices.length === 0 || !list.devices.every((d) => d.supported)) process.exit(1);
'
echo "device check exit: $?"

echo "== GPU tests"
npx mocha --spec 'dist/test/gpu/**/*.test.js' --reporter spec
echo "gpu tests exit: $?"

echo "== the whole suite on the GPU machine"
npx mocha --reporter dot
echo "suite exit: $?"
