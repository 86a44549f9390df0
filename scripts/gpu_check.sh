#!/usr/bin/env bash
# What only a GPU can check, in one run (about 4 minutes on one H200):
#
#   bash scripts/gpu_check.sh [OUTDIR]        # default artifacts/gpu
#
#   1. the device and the PyTorch build;
#   2. benchmarks/bench.py --only speed on the CPU and on CUDA (the README's GPU row),
#      then the ablation and the accuracy on CUDA;
#   3. every source notebook (answers and hidden tests) headless on the GPU, with the
#      executed notebooks kept in OUTDIR/notebooks: a hidden test that fails on CUDA
#      tensors shows there as an error.
#
# It needs the course's environment, activated (make setup, with PyTorch's CUDA build of the pinned
# version installed first; see README "On a GPU"). It keeps going when a step fails and
# exits non-zero at the end if any did.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-artifacts/gpu}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
status=0
step() {  # step NAME COMMAND...: run it, log it to OUTDIR/NAME.log, remember a failure
    local name=$1
    shift
    echo "== $name: $*"
    "$@" 2>&1 | tee "$out/$name.log"
    local rc=${PIPESTATUS[0]}
    [ "$rc" = 0 ] || { echo "== $name FAILED (exit $rc)"; status=1; }
}
step device python3 -c "import sys, torch; print(sys.version.split()[0], 'torch', torch.__version__, 'CUDA', torch.version.cuda, torch.cuda.get_device_name() if torch.cuda.is_available() else 'NO GPU'); sys.exit(0 if torch.cuda.is_available() else 1)"
step speed python3 benchmarks/bench.py --device all --only speed --json "$out/speed.json"
step cuda python3 benchmarks/bench.py --device cuda --only ablation accuracy notebooks \
    --keep-notebooks "$out/notebooks" --json "$out/cuda.json"
python3 - "$out/cuda.json" <<'EOF' || status=1
import json, sys
problems = json.load(open(sys.argv[1])).get("notebooks", {}).get("problems", {})
for name, found in problems.items():
    print(f"{name}: {found}")
print("notebooks on the GPU:", "problems above" if problems else "no error and no stderr output")
sys.exit(1 if problems else 0)
EOF
exit $status
