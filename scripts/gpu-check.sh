#!/usr/bin/env bash
# On a machine with an NVIDIA GPU and the CUDA toolkit: builds the addon with the CUDA backend,
# prints what it sees, runs the GPU test suite, and runs compute-sanitizer (memcheck, racecheck,
# initcheck) over a few shapes. Logs go to the folder given as $1 (default out/gpu-check). Uses
# the compiled TypeScript in dist/ (compiled first when TypeScript is installed).
set -uo pipefail
cd "$(dirname "$0")/.."
logs="${1:-out/gpu-check}"
mkdir -p "$logs"
status=0

node_modules/.bin/cmake-js compile > "$logs/build.log" 2>&1
build=$?
grep -E "esmm:|error|warning" "$logs/build.log" | head -n 40
[ $build -eq 0 ] || { echo "gpu-check: build failed (see $logs/build.log)"; exit 1; }
if [ -x node_modules/.bin/tsc ]; then node_modules/.bin/tsc -p tsconfig.json || echo "gpu-check: tsc reported errors"; fi

node dist/src/cli.js doctor 2>&1 | tee "$logs/doctor.txt"

node --test --test-concurrency=1 dist/test/gpu/ > "$logs/gpu-tests.log" 2>&1 || { echo "gpu-check: GPU tests failed"; status=1; }
grep -E "^# (tests|pass|fail|skipped)|not ok|SKIP" "$logs/gpu-tests.log"

# memcheck over every kernel, capture's device forward pass included; racecheck (shared-memory
# hazards) and initcheck (reads of uninitialised device memory) over ESMM, the pattern kernels
# and the forward-pass kernels only, as cuBLAS is not ours.
sanitize() {
  local tool=$1
  shift
  if compute-sanitizer --tool "$tool" --error-exitcode 9 node dist/scripts/gpu-sanitize.js "$@" > "$logs/$tool.log" 2>&1; then
    echo "gpu-check: $tool clean: $(grep -h 'ERROR SUMMARY\|RACECHECK SUMMARY' "$logs/$tool.log" | tail -n 1)"
  else
    echo "gpu-check: $tool FAILED (see $logs/$tool.log)"
    grep -m 20 -E "=========|FAILED|DIFFER" "$logs/$tool.log"
    status=1
  fi
}
if command -v compute-sanitizer > /dev/null; then
  sanitize memcheck
  sanitize racecheck esmm forward-ops
  sanitize initcheck esmm forward-ops
else
  echo "gpu-check: compute-sanitizer not found; sanitizers not run"
  status=1
fi
exit $status
