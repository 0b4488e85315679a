#!/usr/bin/env bash
# Every GPU step of a session in one run on the device machine (no Node there; no registry):
#   here:  npm run build && bash ../shared/device/pack.sh
#   there: run with carry [".device", "build", "dist"] and the command
#          source .device/env.sh && TRTN_COMMIT=<sha> bash scripts/gpu-session.sh
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
# The device copy of the tree has no git history: pass the commit in, e.g. TRTN_COMMIT=$(git rev-parse HEAD).
commit=${TRTN_COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
export TRTN_COMMIT=$commit
echo "commit $commit, $(date -u +%Y-%m-%dT%H:%M:%SZ)"

echo "== addon: build info and devices (probe kernel on every GPU)"
node -e '
const t = require("./dist/lib");
const fs = require("fs");
const info = t.buildInfo();
const list = t.devices({ checkImages: true });
const smi = require("child_process").execSync("nvidia-smi --query-gpu=name,driver_version --format=csv,noheader").toString().trim().split("\n")[0].split(", ");
const commit = process.env.TRTN_COMMIT;
const record = { what: "addon device check on the GPU machine", date: new Date().toISOString(), commit,
  gpu: smi[0], driver: smi[1], buildInfo: info, devices: list };
console.log(JSON.stringify(record, null, 2));
fs.writeFileSync(process.env.OUT + "/devices.json", JSON.stringify(record, null, 2) + "\n");
if (list.devices.length === 0 || !list.devices.every((d) => d.supported)) process.exit(1);
'
echo "device check exit: $?"

echo "== GPU tests"
npx mocha --no-config --timeout 600000 --reporter spec 'dist/test/gpu/**/*.test.js'
echo "gpu tests exit: $?"

echo "== the whole suite on the GPU machine"
npx mocha --reporter dot
echo "suite exit: $?"
