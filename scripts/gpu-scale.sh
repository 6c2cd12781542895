#!/usr/bin/env bash
# Scale-out on one node: the whole Llama-2-7B-shaped pruned tree (32 layers × q/k/v/o/gate/up/down
# at their real shapes, 224 BF16 tensors, 13 GB, magnitude-pruned at sparsity 0.5 in groups of 16,
# column-permuted) run at M = 1, 16, 4096 with esmm, cublas and dense-tf32x3 on one GPU and on two,
# from the repository root with node_modules installed and dist/ compiled:
#
#   bash scripts/gpu-scale.sh <card tag, e.g. h200> <logdir> [steps...]
#
# Steps (default: all, in this order): build (the addon, and what it sees), gen (the tree, on
# every core, skipped when its TREE.json says it is complete; ESMM_SCALE_TREE names its folder,
# default /tmp/esmm-llm7b; ESMM_SCALE_LAYERS fewer layers for a trial), one (`run --devices 0` → docs/results/llm7b-<tag>-1gpu.csv), two
# (`run --devices 0,1` → …-2gpu.csv), same (the two CSVs hold the same rows apart from timing and
# device columns). Each run starts from an empty pattern cache of its own, so both do the same
# host work. After each run: wall time, points, points/s, host-side share and peak resident
# size from its run record; after two (or same), the ratio of points/s. Samples are gzipped.
set -uo pipefail
cd "$(dirname "$0")/.."
usage="usage: gpu-scale.sh <card tag> <logdir> [build gen one two same]"
tag="${1:?$usage}"
logs="${2:?$usage}"
shift 2
steps="${*:-build gen one two same}"
mkdir -p "$logs" docs/results
cli="node dist/src/cli.js"
tree="${ESMM_SCALE_TREE:-/tmp/esmm-llm7b}"
kernels=esmm,cublas,dense-tf32x3
one="docs/results/llm7b-$tag-1gpu"
two="docs/results/llm7b-$tag-2gpu"
status=0
step() { printf '\n== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

# One line (and <logdir>/<name>.json) from a run record: wall, points, points/s, host share, peak RSS.
summary() {
  node -e '
const fs = require("fs");
const [csv, name, out] = process.argv.slice(1);
const r = JSON.parse(fs.readFileSync(csv + ".json", "utf8"));
const points = r.summary.rows;
const s = {
  name, devices: r.params.devices, wallS: r.wallMs / 1000, points, ok: r.summary.ok, failed: r.summary.failed,
  pointsPerS: points / (r.wallMs / 1000), hostOverheadFraction: r.hostOverheadFraction, peakRssGiB: r.peakRssBytes / 2 ** 30,
  deviceNativeS: Object.fromEntries(Object.entries(r.deviceNativeMs ?? {}).map(([d, ms]) => [d, ms / 1000])), stageMs: r.stageMs,
};
fs.writeFileSync(out, JSON.stringify(s, null, 1) + "\n");
console.log(`${name}: ${s.wallS.toFixed(1)} s wall, ${points} points (${s.ok} ok, ${s.failed} failed), ${s.pointsPerS.toFixed(3)} points/s, host-side share ${(100 * s.hostOverheadFraction).toFixed(1)} %, peak RSS ${s.peakRssGiB.toFixed(2)} GiB`);
' "$1.csv" "$2" "$logs/$2.json"
}

# points/s of two over one, from the summaries (or the run records) of both.
ratio() {
  node -e '
const fs = require("fs");
const rate = (csv) => { const r = JSON.parse(fs.readFileSync(csv + ".json", "utf8")); return r.summary.rows / (r.wallMs / 1000); };
const [a, b] = process.argv.slice(1).map(rate);
console.log(`points/s, two GPUs over one: ${(b / a).toFixed(3)}× (${a.toFixed(3)} → ${b.toFixed(3)})`);
' "$one.csv" "$two.csv"
}

run_on() {
  local devices="$1" name="$2" out="$3"
  rm -f "$out.csv" "$out.csv".*
  rm -rf "$tree.cache-$name"
  $cli run "$tree" --m 1,16,4096 --kernels "$kernels" --devices "$devices" --cache-dir "$tree.cache-$name" \
    --out "$out.csv" --no-progress > "$logs/$name.log" 2>&1 || status=1
  tail -n 3 "$logs/$name.log"
  [ -f "$out.csv.samples.jsonl" ] && gzip -f "$out.csv.samples.jsonl"
  summary "$out" "$name" || status=1
}

for s in $steps; do
  case $s in
  build)
    step "build"
    ESMM_BUILD_COMMIT="${ESMM_BUILD_COMMIT:-$(node -p 'require("./dist/build-info.json").commit' 2>/dev/null)}" \
      node_modules/.bin/cmake-js compile > "$logs/build.log" 2>&1 || { tail -n 30 "$logs/build.log"; exit 1; }
    $cli doctor 2>&1 | tail -n 8
    nvidia-smi --query-gpu=index,name,driver_version,clocks.sm,clocks.mem,power.limit --format=csv > "$logs/nvidia-smi.csv" 2>&1
    ;;
  gen)
    step "generate the 7B-shaped tree in $tree"
    node dist/scripts/generate-sample-tree.js --out "$tree" --layers "${ESMM_SCALE_LAYERS:-32}" --sparsities 0.5 --groups 16 \
      --perms col 2> "$logs/gen.log" || { tail -n 5 "$logs/gen.log"; exit 1; }
    echo "$(find "$tree" -name '*.safetensors' | wc -l) files, $(du -sh "$tree" | cut -f1)"
    ;;
  one)
    step "run: one GPU (--devices 0)"
    run_on 0 1gpu "$one"
    ;;
  two)
    step "run: two GPUs (--devices 0,1)"
    run_on 0,1 2gpu "$two"
    [ -f "$one.csv.json" ] && ratio
    ;;
  same)
    step "same rows on one GPU and on two"
    node dist/scripts/same-rows.js "$one.csv" "$two.csv" || status=1
    ratio || status=1
    ;;
  *)
    echo "$usage" >&2
    exit 2
    ;;
  esac
done
step "done"
exit $status
