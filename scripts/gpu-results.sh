#!/usr/bin/env bash
# Produces the GPU results of docs/performance.md on a machine with an NVIDIA GPU, from the
# repository root, with node_modules installed and dist/ compiled:
#
#   bash scripts/gpu-results.sh <card tag, e.g. h200> <real-weights-tree> <logdir> [steps...]
#
# Steps (default: all, in this order, most important first): build (the addon, and what it
# sees), sweep (4096³, joint and b-only, d = 1 … 0.125), decode (K = N = 4096, M = 1 … 4096,
# b-only, d = 1, .5, .25), odd (4096×65536×256 and 333×1000×3000, M×K×N, d = 1 and .5), real (`run` over the real pruned tree at M = 1, 16, 4096), llm (`run`
# over a generated 42-tensor Llama-2-7B-shaped tree, with its host-side share), check (the GPU
# test suite and compute-sanitizer); and, only when named, act (real activations: tinystories-656k, and a random Llama around
# a 14-tensor LLM-shaped tree's linears, each captured on the GPU, sparsified, run with random
# controls, and the break-even report; ESMM_ACT_MODEL names the tinystories folder). Every result CSV goes to docs/results/<name>-<tag>.csv with
# its run record and samples beside it; logs and reports go to <logdir>. Each `run`/`sweep`
# measures ESMM beside both float32-accurate dense baselines (cuBLAS SGEMM at its best cublasLt
# algorithm, and dense-tf32x3) and the TF32 reference, in the same call.
set -uo pipefail
cd "$(dirname "$0")/.."
usage="usage: gpu-results.sh <card tag> <real-weights-tree> <logdir> [build sweep decode odd real llm check act]"
tag="${1:?$usage}"
real="${2:?$usage}"
logs="${3:?$usage}"
shift 3
steps="${*:-build sweep decode odd real llm check}"
mkdir -p "$logs" docs/results
cli="node dist/src/cli.js"
kernels=esmm,cublas,dense-tf32x3,cublas-tf32
status=0
step() { printf '\n== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }
fresh() { rm -f "docs/results/$1.csv" "docs/results/$1.csv".*; }

for s in $steps; do
  case $s in
  build)
    step "build"
    # The copy on a GPU machine has no .git: the commit comes from the compiled TypeScript's record.
    ESMM_BUILD_COMMIT="${ESMM_BUILD_COMMIT:-$(node -p 'require("./dist/build-info.json").commit' 2>/dev/null)}" \
      node_modules/.bin/cmake-js compile > "$logs/build.log" 2>&1 || { tail -n 30 "$logs/build.log"; exit 1; }
    $cli doctor 2>&1 | tee "docs/results/doctor-$tag.txt"
    nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,power.limit --format=csv > "$logs/nvidia-smi.csv" 2>&1
    ;;
  sweep)
    step "synthetic sweep, 4096³"
    fresh "sweep-$tag"
    $cli sweep --sizes 4096 --densities 1,0.5,0.25,0.125 --modes joint,b-only --kernels "$kernels" \
      --runs 30 --warmup 5 --l2 cold --out "docs/results/sweep-$tag.csv" 2>&1 | tee "$logs/sweep.txt" || status=1
    ;;
  decode)
    step "decode and middle sizes, K = N = 4096, b-only"
    fresh "sweep-$tag-decode"
    sizes=$(for m in 1 2 4 8 16 17 32 48 64 96 128 256 512 1024 2048 4096; do printf '%sx4096x4096,' "$m"; done)
    $cli sweep --sizes "${sizes%,}" --densities 1,0.5,0.25 --modes b-only --kernels "$kernels" \
      --runs 30 --warmup 5 --l2 cold --out "docs/results/sweep-$tag-decode.csv" 2>&1 | tee "$logs/decode.txt" || status=1
    ;;
  odd)
    step "odd shapes: K huge with N small, and sizes off every tile"
    fresh "sweep-$tag-odd"
    $cli sweep --sizes 4096x65536x256,333x1000x3000 --densities 1,0.5 --modes b-only --kernels "$kernels" \
      --runs 30 --warmup 5 --l2 cold --out "docs/results/sweep-$tag-odd.csv" 2>&1 | tee "$logs/odd.txt" || status=1
    ;;
  real)
    step "run: real pruned tree"
    fresh "real-$tag"
    $cli run "$real" --m 1,16,4096 --kernels "$kernels" --out "docs/results/real-$tag.csv" --no-progress 2>&1 |
      tail -n 4 | tee "$logs/real.txt"
    $cli report "docs/results/real-$tag.csv" --out-dir "docs/results/real-$tag-report" > "$logs/real-report.txt" 2>&1 || status=1
    ;;
  llm)
    step "run: generated LLM-shaped tree (42 tensors)"
    fresh "llm-$tag"
    gen=/tmp/esmm-llm-tree
    for sp in 0.5 0.75 0.9; do
      node dist/scripts/generate-sample-tree.js --out "$gen/s$sp" --layers 2 --sparsities "$sp" > "$logs/gen-$sp.txt" 2>&1 &
    done
    wait
    $cli run "$gen" --m 16,4096 --kernels "$kernels" --out "docs/results/llm-$tag.csv" --no-progress 2>&1 |
      tail -n 4 | tee "$logs/llm.txt"
    node -e '
const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
console.log(JSON.stringify({ wallMs: s.wallMs, stageMs: s.stageMs, hostOverheadFraction: s.hostOverheadFraction }));
' "docs/results/llm-$tag.csv.json" 2>&1 | tee "$logs/llm-overhead.json"
    $cli report "docs/results/llm-$tag.csv" --out-dir "docs/results/llm-$tag-report" > "$logs/llm-report.txt" 2>&1 || status=1
    ;;
  act)
    step "real activations: capture on the GPU, sparsify, run --activations --control random, break-even"
    tokens=$(node -e 'console.log(Array.from({ length: 256 }, (_, i) => (17 + 389 * i) % 2048).join(","))')
    tiny="${ESMM_ACT_MODEL:-../shared/weights/tinystories-656k}"
    # The LLM-shaped part: one 2-layer tree at sparsity 0.5 (14 linears at 4096 and 11008) and a
    # random Llama around it. Each (tensor, M) pair takes about 13 s here (six variants, each in
    # its own call), so the tree is the 14-tensor one and only the block-sparse dump runs.
    gen=/tmp/esmm-llm-tree/s0.5
    mkdir -p out/act
    node dist/scripts/generate-sample-tree.js --out "$gen" --layers 2 --sparsities 0.5 > "$logs/gen-llm.txt" 2>&1 || status=1
    node dist/scripts/make-llm-model.js --out /tmp/esmm-llm-model --tree "$gen" --sparsity 0.5 > "$logs/make-llm-model.txt" 2>&1 || status=1
    # name, model folder, weights to run, the Ms, the kernels, the sparsifiers, the dumps to run
    for spec in "tiny256|$tiny|$tiny/model.safetensors|256,1024,4096|$kernels|teal:0.5 block:0.5|tiny256 tiny256.teal-0.5 tiny256.block-0.5" \
      "llm256|/tmp/esmm-llm-model|$gen|256,4096|esmm,cublas,dense-tf32x3|block:0.5|llm256.block-0.5"; do
      IFS='|' read -r name model weights ms ks methods dumps <<< "$spec"
      $cli capture "$model" --tokens "$tokens" --out "out/act/$name.safetensors" --backend cuda > "$logs/capture-$name.txt" 2>&1 || status=1
      head -n 1 "$logs/capture-$name.txt"
      for method in $methods; do
        $cli sparsify "out/act/$name.safetensors" --method "$method" --model "$model" --backend cuda 2>&1 | head -n 1
      done
      for v in $dumps; do
        out="act-${v//./-}-$tag"
        fresh "$out"
        $cli run "$weights" --activations "out/act/$v.safetensors" --control random --m "$ms" --kernels "$ks" \
          --out "docs/results/$out.csv" --no-progress 2>&1 | tail -n 2
        [ -f "docs/results/$out.csv.samples.jsonl" ] && gzip -f "docs/results/$out.csv.samples.jsonl"
      done
      $cli report "docs/results/act-$name-block-0-5-$tag.csv" --break-even --out-dir "docs/results/act-$name-block-0-5-$tag-report" \
        > "$logs/break-even-$name.txt" 2>&1 || status=1
    done
    ;;
  check)
    step "GPU tests and compute-sanitizer"
    bash scripts/gpu-check.sh "$logs/check" 2>&1 | tail -n 12 | tee "docs/results/gpu-check-$tag.txt"
    ;;
  *)
    echo "$usage" >&2
    exit 2
    ;;
  esac
done
step "done"
exit $status
