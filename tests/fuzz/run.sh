#!/bin/sh
# Builds the fuzzers with clang (ASan+UBSan) and runs each (or the HARNESSes
# named) for SECONDS (default 20: the CI smoke run; the full runs use 480),
# seeded from tests/data (GGUF seeds from tests/gguf_writer.py and
# tests/gguf_model_writer.py when NT5_GGUF_PYTHON has gguf and numpy).
# usage: tests/fuzz/run.sh [SECONDS [HARNESS ...]]
set -eu
seconds=${1:-20}
max_len=1048576
[ $# -gt 0 ] && shift
harnesses=${*:-safetensors config unpickle torch_zip model_open gguf}
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$src/build-fuzz
if [ ! -d "$build" ]; then
    # the library too is built with coverage for libFuzzer (fuzzer-no-link)
    CC=clang CXX=clang++ meson setup "$build" "$src" -Dfuzz=true -Dtests=false -Dcuda=disabled \
        -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized \
        -Dc_args=-fsanitize=fuzzer-no-link -Dcpp_args=-fsanitize=fuzzer-no-link >/dev/null
else
    meson setup --reconfigure "$build" >/dev/null # harnesses added since it was set up
fi
meson compile -C "$build" fuzz_safetensors fuzz_config fuzz_unpickle fuzz_torch_zip fuzz_model_open fuzz_gguf >/dev/null
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
mkdir -p "$seeds/safetensors" "$seeds/config" "$seeds/unpickle" "$seeds/torch_zip" "$seeds/model_open" "$seeds/gguf"
for d in "$src"/tests/data/*/; do
    n=$(basename "$d")
    [ -f "$d/model.safetensors" ] && cp "$d/model.safetensors" "$seeds/safetensors/$n"
    [ -f "$d/config.json" ] && cp "$d/config.json" "$seeds/config/$n"
    # model_open: the checkpoint as a single safetensors file (config inferred, no tokenizer) where
    # it is under max_len (mt5-tiny, t5-v1_0-tiny), and nt5 files under 1 MB made by the main
    # build's tool: f16 (with scales) and bf16 encoder-only
    if [ -f "$d/model.safetensors" ] && [ "$(wc -c <"$d/model.safetensors")" -le "$max_len" ]; then
        cp "$d/model.safetensors" "$seeds/model_open/$n-single.safetensors"
    fi
    if [ -x "$src/build/tools/nt5" ] && [ -f "$d/model.safetensors" ] && [ -f "$d/spiece.model" ]; then
        "$src/build/tools/nt5" convert "$d" -o "$seeds/model_open/$n-f16.nt5" --dtype f16 >/dev/null 2>&1 || true
        "$src/build/tools/nt5" convert "$d" -o "$seeds/model_open/$n-bf16-enc.nt5" --dtype bf16 --encoder-only \
            >/dev/null 2>&1 || true
    fi
    if [ -f "$d/pytorch_model.bin" ]; then
        cp "$d/pytorch_model.bin" "$seeds/torch_zip/$n"
        python3 -c "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); \
sys.stdout.buffer.write(z.read([n for n in z.namelist() if n.endswith('data.pkl')][0]))" \
            "$d/pytorch_model.bin" >"$seeds/unpickle/$n"
    fi
done
if [ -n "${NT5_GGUF_PYTHON:-}" ]; then
    "$NT5_GGUF_PYTHON" "$src/tests/gguf_writer.py" "$seeds/gguf" >/dev/null 2>&1 || true
    # GGUF model files (F16, Q8_0 t5 and t5encoder, UMT5 Q8_0, Q4_K and a Q4_K_M-style mix; see
    # gguf_model_writer.seeds for why the k-quant ones are encoder-only), and the mix as an nt5 file
    # (format 3: a 'blocks' entry, a fused q, k, v of Q4_K and Q6_K parts)
    "$NT5_GGUF_PYTHON" "$src/tests/gguf_model_writer.py" --seeds "$src/tests/data" "$seeds/model_open" \
        >/dev/null 2>&1 || true
    mix=$seeds/model_open/synthetic-Q4_K_M-t5encoder.gguf
    if [ -x "$src/build/tools/nt5" ] && [ -f "$mix" ]; then
        "$src/build/tools/nt5" convert "$mix" -o "$seeds/model_open/synthetic-Q4_K_M-t5encoder.nt5" \
            >/dev/null 2>&1 || true
    fi
fi
# libFuzzer would cut a seed over max_len short: none is today (the largest, the f16 nt5 files,
# the single files and the GGUF F16 file, are 0.9 MB; enc-dec k-quant GGUF files, 1.5 MB and more,
# are not made), but one grown past it is dropped rather than fuzzed truncated
find "$seeds/model_open" -type f -size +"$max_len"c -exec rm -f {} + 2>/dev/null || true
failed=0
# first the inputs earlier runs crashed on (fixed since), then new fuzzing
for f in "$src"/tests/fuzz/regressions/*; do
    [ -f "$f" ] || continue
    name=$(basename "$f" | sed 's/-.*//')
    "$build/tests/fuzz/fuzz_$name" "$f" >/dev/null 2>&1 || { echo "fuzz_$name: regression $(basename "$f") FAILED"; failed=1; }
done
for name in $harnesses; do
    if "$build/tests/fuzz/fuzz_$name" -max_total_time="$seconds" -max_len="$max_len" -rss_limit_mb=4096 \
        "$seeds/$name" >"$seeds/$name.log" 2>&1; then
        echo "fuzz_$name: $(grep -o 'Done [0-9]* runs' "$seeds/$name.log" | tail -n 1) in ${seconds}s, no crash"
    else
        echo "fuzz_$name: FAILED"; tail -30 "$seeds/$name.log"; failed=1
    fi
done
exit $failed
