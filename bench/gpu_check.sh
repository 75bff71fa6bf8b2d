#!/usr/bin/env bash
# GPU check, sized for one H100 within 10 minutes: tinyvgg's epoch time and time to 93% test accuracy,
# the resnet presets' time to 95% (and resnet-wide's test accuracy), the transfer presets' accuracy and
# time, then the training-speed ratios against the tutorial loop (plain and with torch.compile).
# The transfer preset needs ResNet-18's ImageNet weights in $TORCH_HOME/hub/checkpoints (the GPU
# machine may have no network): its section fails with a message saying so when they are absent.
#
#   bench/gpu_check.sh DATA_DIR            # DATA_DIR holds FashionMNIST/raw/ (.gz archives are unpacked)
#   DEVICE=cpu QUICK=1 bench/gpu_check.sh DATA_DIR   # a smoke test of the script itself on a CPU
set -uo pipefail
cd "$(dirname "$0")/.."
data=${1:?usage: bench/gpu_check.sh DATA_DIR}
device=${DEVICE:-cuda}
python=${PYTHON:-python3}
export PYTHONUNBUFFERED=1

for gz in "$data"/FashionMNIST/raw/*.gz; do
  [ -e "$gz" ] && [ ! -e "${gz%.gz}" ] && gunzip -k "$gz"
done
if [ "$device" = cuda ]; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
fi
"$python" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available())'

if [ "${QUICK:-0}" = 1 ]; then
  tta=(--epochs 2 --train-subset 512 --val-size 100 --target 0.5)
  train=(--epochs 1 --set train_subset=512 --set val_size=100)
  speed=(--quick)
else
  tta=()
  train=()
  speed=()
fi

failed=0
section() {  # a failing section is reported and the others still run: device time is scarce
  echo "== $1 =="
  shift
  "$@" || { echo "!! failed (exit $?): $*"; failed=1; }
}
section "tinyvgg: epoch time and time to 93% test accuracy" \
  "$python" bench/time_to_accuracy.py --data-dir "$data" --preset tinyvgg --target 0.93 --device "$device" "${tta[@]}"
for preset in resnet resnet-wide; do
  section "$preset: epoch time and time to 95% test accuracy" \
    "$python" bench/time_to_accuracy.py --data-dir "$data" --preset "$preset" --target 0.95 --device "$device" "${tta[@]}"
done
for preset in transfer transfer-scratch; do
  section "$preset: test accuracy and time" \
    "$python" -m fmtui train --preset "$preset" --data-dir "$data" --device "$device" --runs-dir /tmp/fmtui-gpu-check \
      "${train[@]}"
done
section "training speed against the tutorial loop" \
  "$python" bench/train_speed.py --data-dir "$data" --device "$device" "${speed[@]}"
if [ "$device" = cuda ]; then
  # Fewer slices: every engine slice is a new model, and so a new compilation.
  section "the same with torch.compile" \
    "$python" bench/train_speed.py --data-dir "$data" --device "$device" --compile --presets tinyvgg --slices 3 "${speed[@]}"
fi
exit $failed
