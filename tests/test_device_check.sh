#!/bin/sh
# bench/device_check.sh, the one-call GPU check, planned without a GPU
# (DRY_RUN=1): every phase in order with its command, the benchmarks it
# names exist, a phase that would end past the budget is skipped and said
# so, an unknown phase is named; bench/gpu_bundle.sh packs every program
# the check runs. usage: test_device_check.sh SOURCE_ROOT
set -u
root=$1
failed=0
fail() { echo "FAIL $*"; failed=1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cd "$root" || exit 1
sh -n bench/device_check.sh || fail "device_check.sh does not parse"
plan=$(DRY_RUN=1 OUT="$out" sh bench/device_check.sh) || fail "the dry run exits $?"
echo "$plan"
for expect in "nvidia-smi" "test_backend_ops" "test_cuda" "memcheck" "bench/cuda_vs_hf.py" "bench/half_vs_hf.py" \
    "racecheck" "done in"; do
    echo "$plan" | grep -q -- "$expect" || fail "the plan lacks $expect"
done
for script in $(echo "$plan" | grep -oE 'bench/[a-z_]+\.py' | sort -u); do
    [ -f "$script" ] || fail "the plan runs $script, which does not exist"
done
[ "$(wc -l <"$out/summary.txt")" -eq "$(echo "$plan" | wc -l)" ] || fail "summary.txt differs from the output"
tight=$(DRY_RUN=1 BUDGET=100 OUT="$out" sh bench/device_check.sh conformance bench nonsense)
echo "$tight" | grep -q "would run (180 s.*test_backend_ops" && fail "a 180 s phase runs under a 100 s budget"
echo "$tight" | grep -q "skipped (budget): .*bench/cuda_vs_hf.py" || fail "the benchmark is not said skipped"
echo "$tight" | grep -q "unknown phase nonsense" || fail "an unknown phase is not named"
for program in test_cuda test_backend_ops tools/nt5 libnt5-cuda.so; do
    grep -q "$program" bench/gpu_bundle.sh || fail "gpu_bundle.sh does not pack $program"
done
exit $failed
