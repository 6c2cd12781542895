#!/usr/bin/env bash
# On a CUDA machine, in one go: builds the addon, links the kernel harness against the addon's kernel
# library (and the comparison-only variants of kernels/experimental/, which only the harness has), then (each step under a time limit) times cuBLAS SGEMM against dense-tf32x3 on dense data,
# checks dense-tf32x3 strictly on random shapes, runs the GPU test suite, and runs compute-sanitizer
# memcheck over the small harness checks. Logs go to $OUT (or /tmp/dense-check); a short table last.
#   scripts/dense-check.sh [steps...]   steps: build time check tests sanitize (default: all)
set -uo pipefail
cd "$(dirname "$0")/.."
LOG=${OUT:-/tmp/dense-check}
mkdir -p "$LOG"
BIN=/tmp/esmm-harness
STEPS=${*:-build time check tests sanitize}
status=0
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,power.limit,temperature.gpu --format=csv >"$LOG/gpu.txt" 2>&1
for step in $STEPS; do
  start=$SECONDS
  case $step in
  build)
    node_modules/.bin/cmake-js compile >"$LOG/build.log" 2>&1 || { echo "build failed"; grep -E "error" "$LOG/build.log" | head -20; exit 1; }
    nvcc -std=c++17 -O3 -arch=sm_90 -lineinfo -Ikernels -DESMM_WITH_CUBLAS -DESMM_CUDA_ARCHS='"90"' kernels/bench/harness.cu \
      kernels/experimental/*.cu build/libesmm_kernels.a -lcublas -o "$BIN" >"$LOG/harness-build.log" 2>&1 ||
      { echo "harness build failed"; head -20 "$LOG/harness-build.log"; exit 1; }
    ;;
  time)
    timeout 120 "$BIN" --dense-only --perf-only --reps ${REPS:-30} >"$LOG/dense.log" 2>&1 || status=1
    ;;
  check)
    timeout 120 "$BIN" --dense-only --check-only --quick >"$LOG/check.log" 2>&1 || status=1
    grep -E "^FAIL" "$LOG/check.log" | head -10
    ;;
  tests)
    timeout ${TESTS_TIMEOUT:-240} node --test --test-concurrency=1 dist/test/gpu/ >"$LOG/gpu-tests.log" 2>&1 || status=1
    grep -E "^not ok|^# (tests|pass|fail|skipped)" "$LOG/gpu-tests.log" | head -20
    ;;
  sanitize)
    timeout 120 compute-sanitizer --tool memcheck --error-exitcode 3 "$BIN" --small --dense-only >"$LOG/sanitize.log" 2>&1 || status=1
    grep -E "ERROR SUMMARY|checks:" "$LOG/sanitize.log" | tail -2
    ;;
  esac
  echo "step $step: $((SECONDS - start)) s"
done
grep -E "^checks|FAIL" "$LOG/check.log" 2>/dev/null | tail -3
[ -f "$LOG/dense.log" ] && tail -12 "$LOG/dense.log"
exit $status
