#!/bin/sh
# One call on the `device` machine that says what the CUDA backend does on
# a real GPU (issue "The CUDA backend on a real GPU"): the device, the
# backend conformance test, the CUDA suite (on a failure, the failing suite
# again with each NT5_CUDA_DISABLE path off, to name the faulty one),
# compute-sanitizer memcheck on the quick suite, the benchmark against
# Hugging Face, the half-precision accuracy comparison, and racecheck.
#
# Phases run in that order, each under its own time limit; a phase that
# would end past BUDGET seconds (default 540, inside the device's 10-minute
# command limit) is skipped and said so, so one call always comes back with
# its logs. Name phases to run only those. Everything goes under $OUT in at
# most 8 files (the device's limit): summary.txt (one line a phase),
# device.log, tests.log, sanitizers.log, bench.log, half.log and the two
# benchmarks' JSON results.
#
# usage, on the device machine from the repo root, with the bundle carried
# (bench/gpu_bundle.sh builds it here; name .gpu-bundle.tar.xz in `carry`):
#   sh bench/device_check.sh [device conformance cuda memcheck bench half racecheck]
# BUDGET=N: seconds for the whole script; DRY_RUN=1: print the plan only.
set -u
out=${OUT:-device-check}
budget=${BUDGET:-540}
mkdir -p "$out"
summary=$out/summary.txt
: >"$summary"
started=$(date +%s)

if [ -z "${DRY_RUN:-}" ]; then
    [ -d .gpu-bundle ] || tar xJf .gpu-bundle.tar.xz || {
        echo "no .gpu-bundle.tar.xz: run bench/gpu_bundle.sh and carry it" | tee -a "$summary"
        exit 1
    }
    # shellcheck source=/dev/null
    . ./.gpu-bundle/env.sh
fi
NT5_TEST_DATA=$(pwd)/tests/data
export NT5_TEST_DATA PYTHONUNBUFFERED=1
bin=${NT5_BIN:-build/tools}
libs=LD_LIBRARY_PATH=${NT5_LD_LIBRARY_PATH:-} # for nt5's programs only: PyTorch keeps its own
sanitizer=$(command -v compute-sanitizer || find /usr/local -path '*/bin/compute-sanitizer' 2>/dev/null | head -n 1)

# say LINE: into the summary and onto the output
say() { echo "$*" | tee -a "$summary"; }

# run LOG LIMIT COMMAND...: the command's output appended to $out/LOG,
# under LIMIT seconds unless the budget ends first; its exit status (124:
# past its limit, 125: skipped)
run() {
    log=$1 limit=$2
    shift 2
    left=$((budget - ($(date +%s) - started)))
    if [ "$left" -lt "$limit" ]; then
        say "skipped (budget): $*"
        return 125
    fi
    if [ -n "${DRY_RUN:-}" ]; then
        say "would run ($limit s, >> $log): $*"
        return 0
    fi
    echo "== $* (limit $limit s)" >>"$out/$log"
    t0=$(date +%s)
    timeout -k 5 "$limit" "$@" >>"$out/$log" 2>&1
    rc=$?
    say "exit $rc after $(($(date +%s) - t0)) s: $*"
    return $rc
}

phase_device() {
    run device.log 30 nvidia-smi
    run device.log 30 nvidia-smi -q -d CLOCK,MEMORY,COMPUTE,ECC
    run device.log 60 python3 -c 'import torch; print(torch.__version__, torch.version.cuda, torch.cuda.get_device_properties(0))'
}

# every op; the attention again with the 32-key steps that sm_86/89 take
phase_conformance() {
    run tests.log 180 env "$libs" "$bin/test_backend_ops"
    run tests.log 60 env "$libs" NT5_CUDA_DISABLE=tc-long-steps "$bin/test_backend_ops" attention
}

phase_cuda() {
    run tests.log 300 env "$libs" "$bin/test_cuda" && return 0
    [ -n "${DRY_RUN:-}" ] && return 0
    for path in graphs tc-attention tc-long-steps split-attention relu-epilogue; do
        run tests.log 120 env "$libs" NT5_CUDA_DISABLE=$path "$bin/test_cuda" quick &&
            say "the quick suite passes with NT5_CUDA_DISABLE=$path: look there first"
    done
}

# sanitize TOOL: compute-sanitizer's TOOL on the quick suite
sanitize() {
    if [ -z "$sanitizer" ]; then
        say "skipped $1: no compute-sanitizer"
        return 0
    fi
    run sanitizers.log 300 env "$libs" "$sanitizer" --tool "$1" --error-exitcode 1 "$bin/test_cuda" quick
}
phase_memcheck() { sanitize memcheck; }
phase_racecheck() { sanitize racecheck; }

phase_bench() { run bench.log 420 python3 bench/cuda_vs_hf.py --nt5 "$bin/nt5" --out "$out"; }

phase_half() { run half.log 180 python3 bench/half_vs_hf.py --nt5 "$bin/nt5" --out "$out"; }

phases=${*:-device conformance cuda memcheck bench half racecheck}
say "device check at $(git rev-parse --short HEAD 2>/dev/null || echo '?'), phases: $phases, budget $budget s"
for p in $phases; do
    case $p in
    device | conformance | cuda | memcheck | bench | half | racecheck) "phase_$p" ;;
    *) say "unknown phase $p (device conformance cuda memcheck bench half racecheck)" ;;
    esac
done
say "done in $(($(date +%s) - started)) s"
