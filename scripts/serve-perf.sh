#!/usr/bin/env bash
# Serve measurement on a GPU machine (loopback only, no network needed): starts
# `tensorrt-node serve` on examples/model-repository with GoogLeNet INT8 (uint8 input), runs
# `tensorrt-node perf` for batch-1 requests at concurrency 64 and batch-32 requests, both with
# the binary tensor data extension, times the same engine in-process with `tensorrt-node bench`,
# and writes everything under results/serve-<date>/ with the commit. Stops the server with SIGTERM.
#   [SERVE_WORKERS=N] scripts/serve-perf.sh [duration-seconds]   (needs `npx tsc -p tsconfig.json` done: dist/)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-10}"
# SERVE_WORKERS=N: serve --workers N (N server processes on the same ports).
WORKERS="${SERVE_WORKERS:-1}"
OUT="results/serve-$(date -u +%Y%m%d-%H%M%S)$([ "$WORKERS" -gt 1 ] && echo "-w$WORKERS")"
CLI="node dist/lib/cli/main.js"
mkdir -p "$OUT"
git rev-parse HEAD > "$OUT/commit.txt" 2>/dev/null || true
nvidia-smi -L > "$OUT/gpu.txt" 2>/dev/null || true

$CLI serve examples/model-repository --host 127.0.0.1 --modelControlMode explicit --loadModel googlenet \
  --grpcPort off --logLevel info --workers "$WORKERS" 2> "$OUT/server.log" &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null || true' EXIT
# Ready when /v2/models/googlenet/ready answers 200 (the build and INT8 calibration take a while).
for _ in $(seq 1 600); do
  if node -e "fetch('http://127.0.0.1:8000/v2/models/googlenet/ready').then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))"; then break; fi
  kill -0 $SERVER 2>/dev/null || { echo "serve exited:"; cat "$OUT/server.log"; exit 1; }
  sleep 1
done

$CLI perf http://127.0.0.1:8000 -m googlenet --concurrency 64 --batch 1 --binary --duration "$DURATION" --json | tee "$OUT/perf-b1-c64.json"
$CLI perf http://127.0.0.1:8000 -m googlenet --concurrency 1:64:x2 --batch 1 --binary --duration 3 --json > "$OUT/perf-b1-sweep.json"
$CLI perf http://127.0.0.1:8000 -m googlenet --concurrency 4 --batch 32 --binary --duration "$DURATION" --json | tee "$OUT/perf-b32-c4.json"
# Batch 32 over concurrency, with the server's event loop utilization per level (near 1: the
# JavaScript thread, not the engine, limits throughput).
for C in 1 2 4 8 16; do
  node -e "fetch('http://127.0.0.1:8002/metrics').then(r=>r.text())" > /dev/null
  $CLI perf http://127.0.0.1:8000 -m googlenet --concurrency $C --batch 32 --binary --duration 3 --json > "$OUT/b32-c$C.json"
  elu=$(node -e "fetch('http://127.0.0.1:8002/metrics').then(r=>r.text()).then(t=>console.log(/^tensorrt_node_event_loop_utilization (\\S+)/m.exec(t)[1]))")
  node -e "const l=require('./$OUT/b32-c$C.json').levels[0]; console.log('batch 32, concurrency', l.concurrency, Math.round(l.throughput), 'images/s, p99', l.latencyMs.p99.toFixed(1), 'ms, server event loop busy', Number(process.argv[1]).toFixed(2))" "$elu" | tee -a "$OUT/perf-b32-sweep.txt"
done
node -e "fetch('http://127.0.0.1:8002/metrics').then(r=>r.text()).then(t=>process.stdout.write(t))" > "$OUT/metrics.txt"
kill -TERM $SERVER && wait $SERVER || true
trap - EXIT

# The in-process bench of the same engine (same prototxt, precision and input format).
for B in 1 32; do
  $CLI bench models/googlenet.prototxt --precision int8 --inputFormat uint8-nhwc-bgr --mean 104,117,123 \
    --batch $B --streams 2 --inflight 2 --duration "$DURATION" --json > "$OUT/bench-b$B.json"
done
echo "results in $OUT"
