#!/usr/bin/env bash
# Builds the standalone kernel harness (kernels/bench) and runs it on a CUDA machine:
#   scripts/kernel-bench.sh [steps...]    steps: check perf ab sanitize ncu hopper (default: check perf)
#   scripts/kernel-bench.sh export <commit> <folder>
# hopper: builds kernels/bench/hopper_bench.cu for sm_90a and times the Hopper mainloop beside the
# mma.sync kernels and cuBLAS over M = 1 … 4096 (K = N = 4096), writing $OUT/hopper.csv;
# HOPPER_SHAPES (MxNxK,...) and HOPPER_DENSITIES (d joint, bd b-only, ...) replace those, and
# HOPPER_KERNELS (names as in the CSV: sgemm,warp-t,splitk-t,gemv,...) times only those.
# ab: the same perf run by this tree's harness (a) and by one built from AB_TREE (b), in turn,
# AB_ROUNDS times (default 2), so that a change is timed against what it replaces on one card in one
# call; AB_TREE is a folder holding kernels/ and native/ of another commit, written where git is by
# `export` (the GPU machine's copy has no .git); AB_HARNESS=this builds it with this tree's harness.cu
# (for flags newer than that commit, such as --points). PERF_ARGS and PERF_VARIANTS apply as to perf;
# $OUT/ab-{a,b}-<round>.csv hold the rows and the step prints each point's medians and b / a.
# Logs go to $OUT (or /tmp/kernel-bench); the timing table is printed last, and perf also writes
# every timed row to $OUT/perf.csv (kernel,variant,M,N,K,density,median_ms,tflops,max_rel_err, …).
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = export ]; then
  commit="${2:?usage: kernel-bench.sh export <commit> <folder>}"
  dest="${3:?usage: kernel-bench.sh export <commit> <folder>}"
  mkdir -p "$dest" && git archive "$commit" kernels native | tar -x -C "$dest" && echo "$commit → $dest"
  exit $?
fi
LOG=${OUT:-/tmp/kernel-bench}
mkdir -p "$LOG"
BIN=/tmp/esmm-harness
STEPS=${*:-check perf}
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,power.limit,temperature.gpu --format=csv >"$LOG/gpu.txt" 2>&1
# The addon's kernels (kernels/*.cu) and the comparison-only ones (kernels/experimental/), which
# only this harness builds; it shares the addon's CUDA helpers and timing loop (native/cuda_*.h).
# One nvcc a source file, as many at a time as there are cores, then one link: a rebuild takes
# about as long as the slowest file rather than the sum of them. NVFLAGS: the target and defines.
compileOne() {  # <kernel tree root> <source> <object folder>
  local name=${2#"$1"/kernels/}
  nvcc -std=c++17 -O3 $NVFLAGS -lineinfo -Xptxas -v -I"$1/kernels" -DESMM_WITH_CUBLAS -c "$2" -o "$3/${name//\//_}.o"
}
export -f compileOne
buildWith() {  # <nvcc flags> <kernel tree root> <binary> <log> <sources...>
  local flags=$1 root=$2 bin=$3 log=$4
  shift 4
  rm -rf "$bin.objs" && mkdir -p "$bin.objs"
  printf '%s\n' "$@" | NVFLAGS="$flags" xargs -P "$(nproc)" -I{} bash -c 'compileOne "$@"' _ "$root" {} "$bin.objs" >"$log" 2>&1 &&
    nvcc $flags "$bin.objs"/*.o -lcublas -o "$bin" >>"$log" 2>&1
}
buildHarness() {  # <kernel tree root> <binary> <log>
  buildWith '-arch=sm_90 -DESMM_CUDA_ARCHS="90"' "$1" "$2" "$3" \
    "$1"/kernels/*.cu "$1"/kernels/experimental/*.cu "$1"/kernels/bench/harness.cu
}
if ! buildHarness . "$BIN" "$LOG/build.log"; then
  grep -E "error" "$LOG/build.log" | head -20
  exit 1
fi
grep -E "registers|spill" "$LOG/build.log" | paste - - | grep -v " 0 bytes spill stores" | head -5
# perf and ab: PERF_VARIANTS, variant ids to time (default: all); PERF_ARGS, more harness flags
# (--decode-sizes).
pargs=(${PERF_ARGS:-})
for v in ${PERF_VARIANTS:-}; do pargs+=(--variant "$v"); done
status=0
for step in $STEPS; do
  case $step in
  check)
    "$BIN" --check-only >"$LOG/check.log" 2>&1 || status=1
    grep -E "^FAIL|^checks|error" "$LOG/check.log" | head -20
    ;;
  perf)
    "$BIN" --perf-only --reps 30 --csv "$LOG/perf.csv" "${pargs[@]}" >"$LOG/perf.log" 2>&1 || status=1
    ;;
  ab)
    tree="${AB_TREE:?ab: set AB_TREE to a folder written by kernel-bench.sh export}"
    [ "${AB_HARNESS:-}" = this ] && cp kernels/bench/harness.cu "$tree/kernels/bench/harness.cu"
    buildHarness "$tree" "$BIN-b" "$LOG/build-b.log" || { grep -E "error" "$LOG/build-b.log" | head -20; status=1; continue; }
    for round in $(seq 1 "${AB_ROUNDS:-2}"); do
      for side in a b; do
        bin=$BIN; [ $side = b ] && bin=$BIN-b
        "$bin" --perf-only --reps 30 --csv "$LOG/ab-$side-$round.csv" "${pargs[@]}" >"$LOG/ab-$side-$round.log" 2>&1 || status=1
      done
    done
    # Per point and kernel variant: the medians of every round, a then b, and b / a of the fastest.
    python3 - "$LOG" "${AB_ROUNDS:-2}" <<'PY' | tee "$LOG/ab.txt"
import csv, sys
log, rounds = sys.argv[1], int(sys.argv[2])
times = {}
for side in "ab":
    for r in range(1, rounds + 1):
        with open(f"{log}/ab-{side}-{r}.csv") as f:
            for row in csv.DictReader(f):
                key = (row["section"], row["label"], row["kernel"], row["variant"], row["M"], row["N"], row["K"],
                       row["mode"], row["density"])
                times.setdefault(key, {"a": [], "b": []})[side].append(float(row["median_ms"]))
for key, t in times.items():
    if t["a"] and t["b"]:
        a = " ".join(f"{x:.4f}" for x in t["a"])
        b = " ".join(f"{x:.4f}" for x in t["b"])
        print(" ".join(key[1:]), "| a", a, "| b", b, f"| b/a {min(t['b']) / min(t['a']):.3f}")
PY
    ;;
  hopper)
    if buildWith '-gencode=arch=compute_90a,code=sm_90a -DESMM_WITH_SM90A -DESMM_CUDA_ARCHS="90a"' . \
      /tmp/esmm-hopper-bench "$LOG/hopper-build.log" ./kernels/*.cu ./kernels/experimental/wgmma_compact.cu \
      ./kernels/cpu/cpu_kernels.cc ./kernels/bench/hopper_bench.cu; then
      sizes=$(for m in 1 8 16 17 32 48 64 96 128 256 512 1024 2048 4096; do printf '%sx4096x4096,' "$m"; done)
      /tmp/esmm-hopper-bench "${HOPPER_SHAPES:-${sizes%,}}" "${HOPPER_DENSITIES:-1,0.5}" 15 ${HOPPER_KERNELS:+"$HOPPER_KERNELS"} \
        >"$LOG/hopper.csv" 2>&1 ||
        status=1
    else
      grep -E "error" "$LOG/hopper-build.log" | head -20
      status=1
    fi
    ;;
  sanitize)
    compute-sanitizer --tool memcheck --error-exitcode 3 "$BIN" --small >"$LOG/sanitize.log" 2>&1 || status=1
    tail -3 "$LOG/sanitize.log"
    ;;
  ncu)
    # NCU_VARIANTS: variant ids to profile beside cuBLAS (default: the dispatcher's picks).
    vargs=()
    for v in ${NCU_VARIANTS:-}; do vargs+=(--variant "$v"); done
    ncu --clock-control none -k 'regex:tf32x3|klist|warpKernel|transposeA|countListedK|countWalkedSlices|tiledFfma|decode|sumSplits|aPattern|gemm' \
      --section SpeedOfLight --section Occupancy --section WarpStateStats --section LaunchStats \
      --metrics gpu__time_duration.sum,dram__bytes_read.sum,lts__t_bytes.sum,sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_active,sm__pipe_fma_cycles_active.avg.pct_of_peak_sustained_active,sm__inst_executed.sum \
      "$BIN" --ncu "${vargs[@]}" >"$LOG/ncu.txt" 2>"$LOG/ncu.err" || status=1
    tail -2 "$LOG/ncu.err"
    grep -E "^  [a-zA-Z_].*\(|gpu__time_duration" "$LOG/ncu.txt" | sed -E 's/<.*>//' | paste - - | awk '{print $1, $(NF)}' | head -60
    ;;
  esac
done
[ -f "$LOG/perf.log" ] && grep -vE "^ok" "$LOG/perf.log" | tail -40
exit $status
