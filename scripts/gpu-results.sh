#!/usr/bin/env bash
# Produces the GPU results of docs/performance.md on a machine with an NVIDIA GPU, from the
# repository root, with node_modules installed and dist/ compiled:
#
#   bash scripts/gpu-results.sh <real-weights-tree> <logdir> [pack.tgz]
#
# Steps, most important first: build the addon and print what it sees; the synthetic sweep at
# 4096³ (joint and b-only, d = 1 … 0.125) and decode sizes, written to docs/results/; `run`
# over the real pruned tree and over a 42-tensor LLM-shaped generated tree (host-side overhead
# from its run record), each with its report; ncu kernel durations of the sweep points, to
# compare with the event timing; the GPU test suite and compute-sanitizer (gpu-check.sh).
# With a third argument the log folder is packed into that file after every step, so a run cut
# short keeps what it finished.
set -uo pipefail
cd "$(dirname "$0")/.."
usage="usage: gpu-results.sh <real-weights-tree> <logdir> [pack.tgz]"
real="${1:?$usage}"
logs="${2:?$usage}"
pack="${3:-}"
mkdir -p "$logs" docs/results
cli="node dist/src/cli.js"
step() {
  [ -z "$pack" ] || tar -czf "$pack" -C "$logs" .
  printf '\n== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"
}

step "build"
node_modules/.bin/cmake-js compile > "$logs/build.log" 2>&1 || { tail -n 30 "$logs/build.log"; exit 1; }
$cli doctor 2>&1 | tee "$logs/doctor.txt"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,power.limit --format=csv > "$logs/nvidia-smi.csv" 2>&1

step "synthetic sweep, 4096³"
rm -f docs/results/sweep-h100.csv*
$cli sweep --sizes 4096 --densities 1,0.5,0.25,0.125 --modes joint,b-only \
  --kernels cublas,esmm,cublas-tf32,cublas-bf16 --runs 30 --warmup 5 --l2 cold \
  --out docs/results/sweep-h100.csv 2>&1 | tee "$logs/sweep.txt"

step "run: real pruned tree"
$cli run "$real" --m 1,16,4096 --out "$logs/real.csv" --overwrite --no-progress 2>&1 | tail -n 4 | tee "$logs/real.txt"
$cli report "$logs/real.csv" --out-dir "$logs/real-report" > "$logs/real-report.txt" 2>&1

step "decode sizes, b-only"
rm -f docs/results/sweep-h100-decode.csv*
$cli sweep --sizes 1x4096x4096,16x4096x4096,32x4096x4096,64x4096x4096,128x4096x4096,256x4096x4096 \
  --densities 1,0.5 --modes b-only \
  --kernels cublas,esmm --runs 50 --warmup 10 --l2 cold \
  --out docs/results/sweep-h100-decode.csv 2>&1 | tee "$logs/decode.txt"
cp docs/results/sweep-h100* "$logs/"

step "run: generated LLM-shaped tree (42 tensors)"
gen=/tmp/esmm-llm-tree
for s in 0.5 0.75 0.9; do
  node dist/scripts/generate-sample-tree.js --out "$gen/s$s" --layers 2 --sparsities "$s" > "$logs/gen-$s.txt" 2>&1 &
done
wait
$cli run "$gen" --m 4096 --out "$logs/llm.csv" --overwrite --no-progress 2>&1 | tail -n 4 | tee "$logs/llm.txt"
node -e '
const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
console.log(JSON.stringify({ wallMs: s.wallMs, stageMs: s.stageMs, hostOverheadFraction: s.hostOverheadFraction }));
' "$logs/llm.csv.json" 2>&1 | tee "$logs/llm-overhead.json"
$cli report "$logs/llm.csv" --out-dir "$logs/llm-report" > "$logs/llm-report.txt" 2>&1

step "ncu kernel durations of the sweep points"
if command -v ncu > /dev/null; then
  ncu --clock-control none --metrics gpu__time_duration.sum --csv \
    --kernel-name regex:'countListedK|transposeA|klistKernel|decodeKernel|decodeWideKernel|sumSplitsKernel|aPatternKernel|sgemm|gemm_f32|xmma' \
    $cli sweep --sizes 4096 --densities 1,0.5,0.25,0.125 --modes joint,b-only --kernels cublas,esmm \
    --runs 3 --warmup 1 --l2 cold --out "$logs/sweep-ncu.csv" > "$logs/ncu.csv" 2> "$logs/ncu.err"
  echo "ncu rows: $(grep -c gpu__time_duration "$logs/ncu.csv")"
fi

step "GPU tests and compute-sanitizer"
bash scripts/gpu-check.sh "$logs/check" 2>&1 | tail -n 12
step "done"
