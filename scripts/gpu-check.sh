#!/usr/bin/env bash
# On a machine with an NVIDIA GPU and the CUDA toolkit: builds the addon with the CUDA backend,
# prints what it sees, runs the GPU test suite, and runs compute-sanitizer (memcheck) over a few
# shapes. Logs go to the folder given as $1 (default out/gpu-check). Uses the compiled
# TypeScript in dist/ (compiled first when TypeScript is installed).
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

if command -v compute-sanitizer > /dev/null; then
  compute-sanitizer --tool memcheck --error-exitcode 9 node dist/scripts/gpu-sanitize.js > "$logs/memcheck.log" 2>&1 ||
    { echo "gpu-check: compute-sanitizer memcheck failed"; status=1; }
  tail -n 20 "$logs/memcheck.log"
else
  echo "gpu-check: compute-sanitizer not found; memcheck not run" | tee "$logs/memcheck.log"
  status=1
fi
exit $status
