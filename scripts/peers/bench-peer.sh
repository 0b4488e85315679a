#!/usr/bin/env bash
# The PyTorch peer on the GPU machine, in one command (after `npm run build` and
# `bash ../shared/device/pack.sh` here; device run with carry [".device", "build", "dist"]):
#
#   source .device/env.sh && bash scripts/peers/bench-peer.sh [model ...]
#
# Models are names under models/ (default: alexnet googlenet; "all" for every model). For each:
# export the IR with our importer (node), then time it with torch_peer.py bench. Before that,
# torch_peer.py selftest --device cuda checks PyTorch's GPU pooling / LRN kernels against Caffe's
# rules. Results go to $OUT/peer/ (<model>.json, <model>.ir.json, summary.md, the log).
# Environment:
#   BATCH      batch sizes (default 1,8,32,128,512)
#   PRECISION  precisions (default fp32,tf32,fp16)
#   PYTHON     the Python with torch (default python3)
#   PEER_ARGS  more torch_peer.py bench options, e.g. "--eager --windows 11"
#   CHECK=1    also run check-peer.js with the peer on CUDA against our cpu backend
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
out=${OUT:-$(mktemp -d)}/peer
mkdir -p "$out"
exec > >(tee -a "$out/bench-peer.log") 2>&1
py=${PYTHON:-python3}
batch=${BATCH:-1,8,32,128,512}
precision=${PRECISION:-fp32,tf32,fp16}
models=("$@")
[ ${#models[@]} -eq 0 ] && models=(alexnet googlenet)
[ "${models[0]}" = all ] && models=(lenet alexnet caffenet googlenet vgg16 resnet50 squeezenet1.1)
commit=${TRTN_COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
export TRTN_COMMIT=$commit

echo "== PyTorch peer: ${models[*]}; batch $batch; $precision; commit $commit; $(date -u +%Y-%m-%dT%H:%M:%SZ)"
"$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(), torch.cuda.get_device_name(0))'
"$py" scripts/peers/torch_peer.py selftest --device cuda || echo "selftest FAILED: the peer's pooling / LRN differ from Caffe on this GPU"

status=0
results=()
for m in "${models[@]}"; do
  ir="$out/$m.ir.json"
  if ! node dist/scripts/peers/export-ir.js "models/$m.prototxt" -o "$ir"; then status=1; continue; fi
  # shellcheck disable=SC2086 # PEER_ARGS is a list of options
  if "$py" scripts/peers/torch_peer.py bench "$ir" --batch "$batch" --precision "$precision" --out "$out/$m.json" ${PEER_ARGS:-}; then
    results+=("$out/$m.json")
  else
    status=1
  fi
done
if [ ${#results[@]} -gt 0 ]; then
  "$py" scripts/peers/torch_peer.py summary "${results[@]}" | tee "$out/summary.md"
fi
if [ "${CHECK:-0}" = 1 ]; then
  node dist/scripts/peers/check-peer.js --python "$py" --device cuda --json "$out/check-cuda.json" || status=1
fi
echo "bench-peer exit: $status"
exit $status
