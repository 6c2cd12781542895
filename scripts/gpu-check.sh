#!/usr/bin/env bash
# On a machine with an NVIDIA GPU and the CUDA toolkit: builds the addon with the CUDA backend,
# prints what it sees, runs the GPU test suite, and runs compute-sanitizer (memcheck) over a few
# shapes. Logs go to the folder given as $1 (default out/gpu-check).
set -uo pipefail
cd "$(dirname "$0")/.."
logs="${1:-out/gpu-check}"
mkdir -p "$logs"
status=0

node_modules/.bin/cmake-js compile 2>&1 | tee "$logs/build.log" | tail -n 5
[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "gpu-check: build failed (see $logs/build.log)"; exit 1; }

node --import tsx src/cli.ts doctor 2>&1 | tee "$logs/doctor.txt"

node --import tsx --test --test-concurrency=1 test/gpu/*.test.ts 2>&1 | tee "$logs/gpu-tests.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "gpu-check: GPU tests failed"; status=1; }

if command -v compute-sanitizer > /dev/null; then
  compute-sanitizer --tool memcheck --error-exitcode 9 node --import tsx scripts/gpu-sanitize.ts 2>&1 |
    tee "$logs/memcheck.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "gpu-check: compute-sanitizer memcheck failed"; status=1; }
else
  echo "gpu-check: compute-sanitizer not found; memcheck not run" | tee "$logs/memcheck.log"
  status=1
fi
exit $status
