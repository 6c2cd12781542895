#!/usr/bin/env bash
# Produces the GPU results of docs/performance.md on a machine with an NVIDIA GPU, from the
# repository root, after the addon's build prerequisites are in node_modules and dist/ is
# compiled:
#
#   bash scripts/gpu-results.sh <real-weights-tree> <logdir>
#
# 1. builds the addon, runs the GPU test suite and compute-sanitizer (scripts/gpu-check.sh);
# 2. the synthetic sweep at 4096³ (joint and b-only, d = 1 … 0.125) and the decode point,
#    written to docs/results/;
# 3. ncu kernel durations of the same sweep points, to compare with the event timing;
# 4. `run` over the real pruned tree, and over a 42-tensor LLM-shaped generated tree
#    (host-side overhead from the run's sidecar), each with its report.
set -uo pipefail
cd "$(dirname "$0")/.."
real="${1:?usage: gpu-results.sh <real-weights-tree> <logdir>}"
logs="${2:?usage: gpu-results.sh <real-weights-tree> <logdir>}"
mkdir -p "$logs" docs/results
cli="node dist/src/cli.js"
step() { printf '\n== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

step "build, GPU tests, sanitizers"
bash scripts/gpu-check.sh "$logs/check" || echo "gpu-results: gpu-check reported failures"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,power.limit --format=csv > "$logs/nvidia-smi.csv" 2>&1

step "synthetic sweep, 4096³"
rm -f docs/results/sweep-h100.csv docs/results/sweep-h100.csv.*
$cli sweep --sizes 4096 --densities 1,0.5,0.25,0.125 --modes joint,b-only \
  --kernels cublas,esmm,cublas-tf32,cublas-bf16 --runs 30 --warmup 5 --l2 cold \
  --out docs/results/sweep-h100.csv 2>&1 | tee "$logs/sweep.txt"

step "decode sizes, b-only"
$cli sweep --sizes 1x4096x4096,16x4096x4096,64x4096x4096,128x4096x4096 --densities 1,0.5 --modes b-only \
  --kernels cublas,esmm --runs 50 --warmup 10 --l2 cold \
  --out docs/results/sweep-h100-decode.csv 2>&1 | tee "$logs/decode.txt"

step "ncu kernel durations of the sweep points"
if command -v ncu > /dev/null; then
  ncu --clock-control none --metrics gpu__time_duration.sum --csv \
    --kernel-name regex:'esmm|gemm|Gemm|tf32x3|decode|pattern' \
    $cli sweep --sizes 4096 --densities 1,0.5,0.25,0.125 --modes joint,b-only --kernels cublas,esmm \
    --runs 3 --warmup 1 --l2 cold --out "$logs/sweep-ncu.csv" > "$logs/ncu.csv" 2> "$logs/ncu.err"
  echo "ncu rows: $(grep -c gpu__time_duration "$logs/ncu.csv")"
fi

step "run: real pruned tree"
$cli run "$real" --m 4096 --out "$logs/real.csv" --overwrite --no-progress 2>&1 | tail -n 25 | tee "$logs/real.txt"
$cli report "$logs/real.csv" --out-dir "$logs/real-report" > /dev/null 2>&1

step "run: generated LLM-shaped tree (42 tensors)"
gen=/tmp/esmm-llm-tree
for s in 0.5 0.75 0.9; do
  node dist/scripts/generate-sample-tree.js --out "$gen/s$s" --layers 2 --sparsities "$s" > "$logs/gen-$s.txt" 2>&1 &
done
wait
$cli run "$gen" --m 4096 --out "$logs/llm.csv" --overwrite --no-progress 2>&1 | tail -n 5 | tee "$logs/llm.txt"
node -e '
const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const r = Array.isArray(s.runs) ? s.runs[s.runs.length - 1] : s;
console.log(JSON.stringify({ wallMs: r.wallMs, stageMs: r.stageMs, hostOverheadFraction: r.hostOverheadFraction }, null, 1));
' "$logs/llm.csv.json" 2>&1 | tee "$logs/llm-overhead.json"
$cli report "$logs/llm.csv" --out-dir "$logs/llm-report" > /dev/null 2>&1
cp docs/results/sweep-h100* "$logs/"
step "done"
