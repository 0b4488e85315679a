#!/usr/bin/env bash
# Every GPU step of a session in one run on the device machine (no Node there; no registry):
#   here:  npm run build && EXCLUDE="typescript @types" bash ../shared/device/pack.sh
#   there: run with carry [".device", "build/Release", "dist"] and the command
#          source .device/env.sh && TRTN_COMMIT=<sha> bash scripts/gpu-session.sh [steps]
# Steps (default: all, in this order):
#   facts     GPU and driver, the addon's device check (probe kernel on every GPU)
#   selftest  the standalone kernel self-tests under scripts/cuda-selftest (when present)
#   gpu       the GPU tests (test/gpu), spec reporter (GPU_TESTS: which files; default all)
#   sanitize  compute-sanitizer memcheck over the op tests of a few layer types
#   bench     scripts/bench-gpu.ts: our engine, every precision, AlexNet and GoogLeNet
#   jspath    scripts/bench-js-path.ts: infer() from JavaScript against GPU compute, batch 1
#             host overhead, fs.readFile under load (JSPATH_ARGS, default GoogLeNet INT8 batch 128)
#   profile   bench --dumpProfile --roofline: per-layer GPU times against each layer's roofline, AlexNet and GoogLeNet, batch 128
#             (PROFILE_PRECISIONS, default fp16 int8), to profile.log
#   batch1    bench --batch 1 --noDataTransfers --dumpProfile --verbose, AlexNet and GoogLeNet
#             (BATCH1_PRECISIONS, default fp32 int8), to batch1.log (issue 18's batch-1 bars: GPU compute
#             without the copies, as trtexec and the PyTorch peer count it; a lone batch-1 call runs in
#             place and its input's PCIe copy would count as compute; the peer step with PEER_BATCH=1
#             gives PyTorch's batch 1 in the same run); every run's bench result in batch1.json;
#             BATCH1_ENV runs each network once per setting (A/B: "none TRTN_CUDA_GEMV_U4=1 A=1,B=1")
#   ncu       Nsight Compute over the non-convolution kernels of one network (NCU_NET, default alexnet;
#             NCU_PREC, default int8; NCU_KERNELS, a regex, default lrn|planes_to|pool|reformat|quantize),
#             batch 128, no CUDA graph: speed of light, instruction mix and issue stalls, to ncu.log
#   kerneltimes  every kernel's own GPU time (Nsight Compute's gpu__time_duration, one pass, no CUDA
#             graph) over a few inferences of each network (KT_NETS, default alexnet googlenet), precision
#             (KT_PRECISIONS, default int8) and batch (KT_BATCHES, default 1): the engine built once to
#             fill a timing cache, then run under ncu with that cache (no tactic timing launches), to
#             kt-<net>-<prec>-b<batch>.csv; scripts/kernel-times.js lists the last inference's kernels and their total
#   streams   independent branches on auxiliary streams against one stream: bench --maxAuxStreams 0 and 3
#             (STREAMS_NETS, default googlenet resnet50; STREAMS_PRECISIONS, default fp16 int8;
#             STREAMS_BATCHES, default 128 1), one timing cache, to streams.log and streams.json
#   fusion    LRN + MAX pooling as one kernel against apart: bench with TRTN_CUDA_FUSION=1 and =0
#             (FUSION_NETS, default alexnet googlenet; FUSION_PRECISIONS, default fp16 int8; FUSION_BATCH,
#             default 128), --dumpProfile, one timing cache, to fusion.log and fusion.json
#   merge     sibling convolutions as one GEMM against apart: bench with TRTN_CUDA_MERGE=1 and =0
#             (MERGE_NETS, default googlenet; MERGE_PRECISIONS, default fp16 int8; MERGE_BATCHES, default
#             128 1), --dumpProfile, one timing cache, to merge.log and merge.json
#   ab        each switch of AB_VARS (default: TRTN_CUDA_LRN_Q TRTN_CUDA_MERGE TRTN_CUDA_POOL_CONV
#             TRTN_CUDA_SOFTMAX_BLOCK TRTN_CUDA_GEMV_U4 TRTN_CUDA_MMA_SPLIT_K, the ones not yet GPU-run) at 1
#             against 0, as merge
#             does (AB_NETS, default alexnet googlenet; AB_PRECISIONS, default int8 fp16; AB_BATCHES,
#             default 128 1), to ab-<var>.log and ab-<var>.json
#   peer      scripts/peers/torch_peer.py: PyTorch (cuDNN, channels_last, CUDA graphs) in the same run
#   sweep     tensorrt-node sweep (SWEEP_ARGS, default --preset dell2017) to sweep.json; split a long
#             sweep over calls with e.g. SWEEP_ARGS="--preset dell2017 --networks alexnet"
#   mpi       mpirun -np <GPUs> bench (one rank per GPU, file barrier), rank files merged (skipped without mpirun)
#   unit      the unit suite on the GPU machine
#   cuda12    the GPU tests again with the CUDA 12 variant (CUDA12_ADDON: its .node file, e.g. the
#             prebuild tensorrt-node.cuda12.glibc.node; CUDA12_TIMEOUT seconds, default 300;
#             CUDA12_MOCHA_ARGS, e.g. --grep/--invert to leave out tests newer than that binary)
# Logs and JSON go to $OUT (the device tool brings back at most 8 files).
set -uo pipefail
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
steps=${*:-facts selftest gpu sanitize bench profile peer unit}
log="$OUT/gpu-session.log"
exec > >(tee -a "$log") 2>&1
has() { [[ " $steps " == *" $1 "* ]]; }
# merge_runs <dir> <file> <what>: every bench --resultFile in <dir> into $OUT/<file>, with the GPU,
# driver, commit and date.
merge_runs() {
  node -e '
  const fs = require("fs"), path = require("path");
  const [dir, file, what] = process.argv.slice(1);
  const smi = require("child_process").execSync("nvidia-smi --query-gpu=name,driver_version --format=csv,noheader").toString().trim().split("\n")[0].split(", ");
  const runs = fs.readdirSync(dir).map((f) => ({ file: f, result: JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) }));
  fs.writeFileSync(path.join(process.env.OUT, file), JSON.stringify({ what, date: new Date().toISOString(),
    commit: process.env.TRTN_COMMIT, gpu: smi[0], driver: smi[1], runs }, null, 1) + "\n");
  ' "$@"
}
commit=${TRTN_COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
export TRTN_COMMIT=$commit
echo "commit $commit, $(date -u +%Y-%m-%dT%H:%M:%SZ), steps: $steps"

if has facts; then
  echo "== machine"
  nvidia-smi --query-gpu=index,name,driver_version,memory.total,clocks.max.sm,power.limit --format=csv
  nvcc --version 2>/dev/null | tail -1
  echo "== addon: build info and devices (probe kernel on every GPU)"
  node -e '
  const t = require("./dist/lib");
  const fs = require("fs");
  const list = t.devices({ checkImages: true });
  const smi = require("child_process").execSync("nvidia-smi --query-gpu=name,driver_version --format=csv,noheader").toString().trim().split("\n")[0].split(", ");
  const record = { what: "addon device check on the GPU machine", date: new Date().toISOString(), commit: process.env.TRTN_COMMIT,
    gpu: smi[0], driver: smi[1], buildInfo: t.buildInfo(), devices: list, backends: t.backendStatus() };
  console.log(JSON.stringify(record));
  fs.writeFileSync(process.env.OUT + "/devices.json", JSON.stringify(record, null, 2) + "\n");
  '
  echo "device check exit: $?"
fi

if has selftest && [ -f scripts/cuda-selftest/conv_selftest.cu ]; then
  echo "== convolution kernel self-test (every tactic against a host reference)"
  arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d .)
  if scripts/cuda-selftest/build.sh "$arch" /tmp/conv_selftest > /tmp/selftest-build.log 2>&1; then
    timeout 240 /tmp/conv_selftest --quiet > "$OUT/selftest.log" 2>&1
    echo "selftest exit: $?"
    grep -c PASS "$OUT/selftest.log"; grep FAIL "$OUT/selftest.log" | head -40; tail -5 "$OUT/selftest.log"
    timeout 120 /tmp/conv_selftest --bench --batch 128 2>&1 | tail -60
  else
    tail -30 /tmp/selftest-build.log; echo "selftest: build failed"
  fi
fi

if has gpu; then
  echo "== GPU tests"
  # GPU_TESTS picks files (default: all), e.g. GPU_TESTS='dist/test/gpu/cuda_engine.test.js'.
  npx mocha --no-config --timeout 600000 --reporter spec ${GPU_TESTS:-'dist/test/gpu/**/*.test.js'} > "$OUT/gpu-tests.log" 2>&1
  echo "gpu tests exit: $?"
  grep -E "passing|failing|pending" "$OUT/gpu-tests.log"
  # The failures in full are in gpu-tests.log; the first ones here.
  awk '/failing/{f=1} f' "$OUT/gpu-tests.log" | head -150
  grep -A12 "largest relative L2\|top-1 agreement with\|LeNet INT8" "$OUT/gpu-tests.log" | head -80
fi

if has cuda12; then
  echo "== GPU tests with the CUDA 12 variant (${CUDA12_ADDON:-unset})"
  if [ -f "${CUDA12_ADDON:-}" ]; then
    TENSORRT_NODE_ADDON="$CUDA12_ADDON" node -e 'const t = require("./dist/lib"); console.log(JSON.stringify({ buildInfo: t.buildInfo(), devices: t.devices() }))'
    TENSORRT_NODE_ADDON="$CUDA12_ADDON" timeout "${CUDA12_TIMEOUT:-300}" npx mocha --no-config --timeout 600000 --reporter spec \
      ${CUDA12_MOCHA_ARGS:-} ${GPU_TESTS:-'dist/test/gpu/**/*.test.js'} > "$OUT/gpu-tests-cuda12.log" 2>&1
    echo "cuda12 gpu tests exit: $?"
    grep -E "passing|failing|pending" "$OUT/gpu-tests-cuda12.log"
    awk '/failing/{f=1} f' "$OUT/gpu-tests-cuda12.log" | head -60
  else
    echo "cuda12: CUDA12_ADDON is not a file; skipped"
  fi
fi

if has sanitize; then
  echo "== compute-sanitizer memcheck (op tests: Convolution, InnerProduct, Pooling, Concat, LRN, Quantize, fusion, larger shapes)"
  timeout 420 compute-sanitizer --tool memcheck --print-limit 20 --error-exitcode 9 \
    node node_modules/.bin/mocha --no-config --timeout 600000 --reporter dot dist/test/gpu/cuda_ops.test.js \
    --grep 'Convolution|InnerProduct|Pooling|Concat|LRN|Quantize|folding|larger shapes' > "$OUT/sanitizer.log" 2>&1
  echo "sanitizer exit: $?"
  grep -E "ERROR SUMMARY|Invalid|passing|failing" "$OUT/sanitizer.log" | head -30
fi

if has bench; then
  echo "== benchmark: our cuda engine"
  timeout 540 node dist/scripts/bench-gpu.js --out "$OUT/bench.json" ${BENCH_ARGS:-}
  echo "bench exit: $?"
fi

if has jspath; then
  echo "== the path from JavaScript to the GPU: ${JSPATH_ARGS:---model googlenet --precision int8 --batch 128}"
  timeout 400 node dist/scripts/bench-js-path.js ${JSPATH_ARGS:---model googlenet --precision int8 --batch 128} --out "$OUT/js-path.json"
  echo "jspath exit: $?"
fi

if has profile; then
  echo "== per-layer profile (bench --dumpProfile), batch ${PROFILE_BATCH:-128}"
  cache=$(mktemp -u).json
  for net in alexnet googlenet; do
    for prec in ${PROFILE_PRECISIONS:-fp16 int8}; do
      echo "--- $net $prec" >> "$OUT/profile.log"
      timeout 240 node dist/lib/cli/main.js bench models/$net.prototxt --backend cuda --precision $prec \
        --batch ${PROFILE_BATCH:-128} --timingCache "$cache" --duration 1 --warmUp 200 --dumpProfile --roofline --profileRuns 20 \
        >> "$OUT/profile.log" 2>&1
      echo "$net $prec profile exit: $?"
    done
  done
  grep -E "^---|GPU Compute Time|^Total" "$OUT/profile.log"
fi

if has ncu; then
  echo "== Nsight Compute: ${NCU_NET:-alexnet} ${NCU_PREC:-int8}, kernels ~ ${NCU_KERNELS:-lrn|planes_to|pool|reformat|quantize}"
  TRTN_CUDA_NO_TUNING=${NCU_NO_TUNING:-0} timeout 300 ncu --kernel-name "regex:${NCU_KERNELS:-lrn|planes_to|pool|reformat|quantize}" \
    --launch-skip ${NCU_SKIP:-40} --launch-count ${NCU_COUNT:-12} --section SpeedOfLight --section ComputeWorkloadAnalysis \
    --section InstructionStats --section WarpStateStats --section Occupancy \
    node dist/lib/cli/main.js bench models/${NCU_NET:-alexnet}.prototxt --backend cuda --precision ${NCU_PREC:-int8} \
    --batch 128 --duration 0.01 --warmUp 1 --iterations 8 --noCudaGraph > "$OUT/ncu.log" 2>&1
  echo "ncu exit: $?"
  grep -E "^  [a-z_].*\(|Duration|Memory Throughput|Compute \(SM\) Throughput|Executed Ipc A|Achieved Occupancy|Issue Slots Busy" "$OUT/ncu.log" | head -120
fi

if has kerneltimes; then
  echo "== kernel times (ncu gpu__time_duration): ${KT_NETS:-alexnet googlenet}, ${KT_PRECISIONS:-int8}, batch ${KT_BATCHES:-1}"
  for net in ${KT_NETS:-alexnet googlenet}; do
    for prec in ${KT_PRECISIONS:-int8}; do
      for batch in ${KT_BATCHES:-1}; do
        cache=$(mktemp -u).json
        timeout 120 node dist/lib/cli/main.js bench models/$net.prototxt --backend cuda --precision $prec --batch $batch \
          --timingCache "$cache" --duration 0.2 --warmUp 50 > /dev/null 2>&1
        timeout 240 ncu --metrics gpu__time_duration.sum --csv --print-units base --log-file "$OUT/kt-$net-$prec-b$batch.csv" \
          node dist/lib/cli/main.js bench models/$net.prototxt --backend cuda --precision $prec --batch $batch \
          --timingCache "$cache" --duration 0.001 --warmUp 0 --iterations 3 --noCudaGraph > /dev/null 2>&1
        echo "$net $prec batch $batch exit: $?"
        node scripts/kernel-times.js "$OUT/kt-$net-$prec-b$batch.csv" | tail -40
      done
    done
  done
fi

if has batch1; then
  echo "== batch 1 (bench --dumpProfile)"
  runs=$(mktemp -d)
  # BATCH1_ENV: A/B settings, one run each (e.g. "none TRTN_CUDA_GEMV_U4=1 A=1,B=1": none is as set,
  # a comma joins settings of one run).
  for variant in ${BATCH1_ENV:-none}; do
    setting=()
    [ "$variant" != none ] && IFS=, read -r -a setting <<< "$variant"
    for net in alexnet googlenet; do
      for prec in ${BATCH1_PRECISIONS:-fp32 int8}; do
        echo "--- $net $prec $variant" >> "$OUT/batch1.log"
        env "${setting[@]}" timeout 120 node dist/lib/cli/main.js bench models/$net.prototxt --backend cuda \
          --precision $prec --batch 1 --noDataTransfers --duration 1 --warmUp 200 --dumpProfile --profileRuns 20 \
          --verbose --resultFile "$runs/$net-$prec-$(echo "$variant" | tr '=,' '-_').json" >> "$OUT/batch1.log" 2>&1
        echo "$net $prec $variant exit: $?"
      done
    done
  done
  merge_runs "$runs" batch1.json "bench --batch 1 --noDataTransfers (settings: ${BATCH1_ENV:-as set}; TRTN_CUDA_SPLIT_K=${TRTN_CUDA_SPLIT_K:-default})"
  grep -E "^---|GPU Compute Time|gemv_|_k[48] |_u4 " "$OUT/batch1.log"
fi

if has streams; then
  echo "== auxiliary streams: bench --maxAuxStreams 0 vs 3 (same tactics: one timing cache)"
  cache=$(mktemp -u).json
  runs=$(mktemp -d)
  for net in ${STREAMS_NETS:-googlenet resnet50}; do
    for prec in ${STREAMS_PRECISIONS:-fp16 int8}; do
      for batch in ${STREAMS_BATCHES:-128 1}; do
        for aux in 0 3; do
          echo "--- $net $prec batch $batch maxAuxStreams $aux" >> "$OUT/streams.log"
          timeout 120 node dist/lib/cli/main.js bench models/$net.prototxt --backend cuda --precision $prec \
            --batch $batch --maxAuxStreams $aux --timingCache "$cache" --duration 1 --warmUp 200 \
            --resultFile "$runs/$net-$prec-$batch-$aux.json" >> "$OUT/streams.log" 2>&1
          echo "$net $prec batch $batch aux $aux exit: $?"
        done
      done
    done
  done
  grep -E "^---|GPU Compute Time" "$OUT/streams.log"
  merge_runs "$runs" streams.json "bench --maxAuxStreams 0 vs 3, one timing cache"
fi

# ab_bench <step> <variable> <nets> <precisions> <batches> <grep of profile rows>: bench of each network,
# precision and batch with <variable>=0 ("apart") and =1, one timing cache, --dumpProfile, to
# <step>.log and <step>.json (batch 1 without the transfers, as the batch1 step).
ab_bench() {
  local step=$1 var=$2 nets=$3 precs=$4 batches=$5 rows=$6
  local cache runs
  cache=$(mktemp -u).json
  runs=$(mktemp -d)
  for net in $nets; do
    for prec in $precs; do
      for batch in $batches; do
        for flag in 0 1; do
          echo "--- $net $prec batch $batch $var=$flag" >> "$OUT/$step.log"
          extra=""
          [ "$batch" = 1 ] && extra="--noDataTransfers"
          env "$var=$flag" timeout 120 node dist/lib/cli/main.js bench models/$net.prototxt --backend cuda \
            --precision $prec --batch $batch --timingCache "$cache" --duration 1 --warmUp 200 $extra \
            --dumpProfile --resultFile "$runs/$net-$prec-b$batch-$flag.json" >> "$OUT/$step.log" 2>&1
          echo "$net $prec batch $batch $var=$flag exit: $?"
        done
      done
    done
  done
  grep -E "^---|GPU Compute Time|$rows" "$OUT/$step.log"
  merge_runs "$runs" $step.json "bench with $var=0 and =1, one timing cache"
}

if has fusion; then
  echo "== LRN + MAX pooling fused against apart: bench with TRTN_CUDA_FUSION=1 and =0 (one timing cache)"
  ab_bench fusion TRTN_CUDA_FUSION "${FUSION_NETS:-alexnet googlenet}" "${FUSION_PRECISIONS:-fp16 int8}" \
    "${FUSION_BATCH:-128}" "^(norm[12]|pool[12]|conv2/norm2|pool2/3x3_s2) "
fi

if has ab; then
  # Each switch of AB_VARS (default: the ones written but not yet GPU-run) on against off, alexnet and
  # googlenet, int8 and fp16, batch 128 and 1: whether it is faster, before it is made the default.
  for var in ${AB_VARS:-TRTN_CUDA_LRN_Q TRTN_CUDA_MERGE TRTN_CUDA_POOL_CONV TRTN_CUDA_SOFTMAX_BLOCK TRTN_CUDA_GEMV_U4 TRTN_CUDA_MMA_SPLIT_K}; do
    echo "== $var=1 against =0"
    ab_bench "ab-$var" "$var" "${AB_NETS:-alexnet googlenet}" "${AB_PRECISIONS:-int8 fp16}" "${AB_BATCHES:-128 1}" "^$"
  done
fi

if has merge; then
  echo "== sibling convolutions as one GEMM against apart: bench with TRTN_CUDA_MERGE=1 and =0 (one timing cache)"
  ab_bench merge TRTN_CUDA_MERGE "${MERGE_NETS:-googlenet}" "${MERGE_PRECISIONS:-fp16 int8}" \
    "${MERGE_BATCHES:-128 1}" "^inception_(3a|4a|5b)/(1x1|3x3_reduce|5x5_reduce) "
fi

if has sweep; then
  echo "== sweep: ${SWEEP_ARGS:---preset dell2017}"
  timeout ${SWEEP_TIMEOUT:-560} node dist/lib/cli/main.js sweep ${SWEEP_ARGS:---preset dell2017} \
    --timingCache /tmp/trtn-sweep-timing.json -o "$OUT/sweep.json" 2>&1 | tail -40
  echo "sweep exit: ${PIPESTATUS[0]}"
fi

if has mpi; then
  echo "== mpirun: one rank per GPU, a file barrier, rank files merged by report merge"
  mpirun_bin=$(command -v mpirun || command -v mpiexec || true)
  if [ -z "$mpirun_bin" ]; then
    echo "mpi: SKIPPED: no mpirun or mpiexec on this machine"
  else
    ngpu=$(nvidia-smi -L | wc -l)
    rm -rf /tmp/trtn-mpi && mkdir -p /tmp/trtn-mpi/ranks
    extra=$("$mpirun_bin" --version 2>&1 | grep -qi "open mpi" && echo "--allow-run-as-root --oversubscribe" || true)
    TRTN_BARRIER_ID=gpu-session timeout 300 "$mpirun_bin" $extra -np "$ngpu" node dist/lib/cli/main.js bench models/googlenet.prototxt \
      --batch 128 --precision int8 --noDataTransfers --duration 2 --timingCache /tmp/trtn-sweep-timing.json \
      --barrierDir /tmp/trtn-mpi --resultFile /tmp/trtn-mpi/ranks/r%r.json 2>&1 | tail -30
    echo "mpirun exit: ${PIPESTATUS[0]}"
    node dist/lib/cli/main.js report merge /tmp/trtn-mpi/ranks/r*.json -o "$OUT/mpi-merged.json" && \
      node -e 'const d=require(process.argv[1]); for (const p of d.points) console.log(p.network, p.precision, "batch", p.batch, "x" + p.gpus, Math.round(p.imagesPerSecond), "images/s")' "$OUT/mpi-merged.json"
  fi
fi

if has peer; then
  echo "== peer: PyTorch (cuDNN, channels_last, CUDA graphs) on the same GPU"
  peer_out=$(mktemp -d)
  OUT=$peer_out BATCH=${PEER_BATCH:-1,8,32,128} PRECISION=fp32,tf32,fp16 timeout 540 bash scripts/peers/bench-peer.sh alexnet googlenet
  echo "peer exit: $?"
  # One file back: the models' results together.
  python3 - "$peer_out/peer" "$OUT/peer.json" <<'PY'
import json, os, sys
src, dst = sys.argv[1], sys.argv[2]
doc = {m[:-5]: json.load(open(os.path.join(src, m))) for m in sorted(os.listdir(src)) if m.endswith('.json') and not m.endswith('.ir.json')}
json.dump(doc, open(dst, 'w'), indent=1)
PY
fi

if has unit; then
  echo "== the unit suite on the GPU machine"
  npx mocha --reporter dot 2>&1 | tail -40
  echo "unit exit: $?"
fi
