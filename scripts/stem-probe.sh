#!/usr/bin/env bash
# The stem family against the others on the networks' first convolutions (device machine): the
# builder's choice with every tactic timed (--verbose), then each stem tactic forced
# (TRTN_CUDA_FORCE_TACTIC), per-layer profile at batch 128. Writes $OUT/stem-probe.log.
set -uo pipefail
OUT=${OUT:-$(mktemp -d)}
log="$OUT/stem-probe.log"
bench() {
  timeout 120 node dist/lib/cli/main.js bench "models/$1.prototxt" --backend cuda --precision "$2" --batch 128 \
    --duration 0.5 --warmUp 100 --dumpProfile --profileRuns 10 "${@:3}" 2>&1
}
for net in ${STEM_NETS:-alexnet googlenet}; do
  for prec in fp16 int8; do
    echo "=== $net $prec: builder's choice" >> "$log"
    bench $net $prec --verbose | grep -E "conv1|GPU Compute Time|Quantize|reformat" >> "$log"
    lab=$([ $prec = fp16 ] && echo f16 || echo i8)
    for t in ${STEM_TACTICS:-256x64x16_q16 256x96x16_q16 256x96x16_q32 256x128x16_q16}; do
      [ $prec = int8 ] && t=${t/x16_/x32_}
      echo "--- forced stem_${lab}_$t" >> "$log"
      TRTN_CUDA_FORCE_TACTIC="stem_${lab}_$t" bench $net $prec | grep -E "^conv1|GPU Compute Time" >> "$log"
    done
  done
done
cat "$log"

# STEM_MEMCHECK=1: compute-sanitizer memcheck over a stem tactic on each network (forced, no tactic
# timing; batches large enough that the persistent CTAs walk several tiles).
if [ "${STEM_MEMCHECK:-0}" = 1 ]; then
  for run in "alexnet int8 32 stem_i8_256x96x32_q32" "googlenet fp16 8 stem_f16_256x64x16_q16"; do
    set -- $run
    echo "=== memcheck $1 $2 batch $3 $4" | tee -a "$log"
    TRTN_CUDA_FORCE_TACTIC=$4 TRTN_CUDA_NO_TUNING=1 timeout 150 compute-sanitizer --tool memcheck --print-limit 10 \
      --error-exitcode 9 node dist/lib/cli/main.js bench "models/$1.prototxt" --backend cuda --precision "$2" \
      --batch "$3" --duration 0.01 --warmUp 1 --iterations 2 --noCudaGraph 2>&1 | grep -E "ERROR SUMMARY|Invalid|GPU Compute Time" | tee -a "$log"
    echo "memcheck exit: ${PIPESTATUS[0]}" | tee -a "$log"
  done
fi
