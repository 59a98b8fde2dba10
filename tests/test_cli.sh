#!/bin/sh
# The nt5 command-line tool: every command, its --help, JSON output, files
# it writes and its errors. usage: test_cli.sh NT5_BINARY DATA_DIR
set -u
nt5=$1
data=$2
model=$data/t5-v1_1-tiny
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

check() { # check NAME EXPECTED_TEXT COMMAND...: the output contains the text and the exit code is 0
    name=$1 want=$2
    shift 2
    if out=$("$@" 2>&1) && { [ -z "$want" ] || printf '%s' "$out" | grep -qF -- "$want"; }; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL $name: wanted \"$want\" and exit 0, got:"
        printf '%s\n' "$out" | head -5
    fi
}

check_fails() { # check_fails NAME EXPECTED_TEXT COMMAND...: a non-zero exit with the text on stderr
    name=$1 want=$2
    shift 2
    if out=$("$@" 2>&1); then
        failed=$((failed + 1))
        echo "FAIL $name: succeeded"
    elif printf '%s' "$out" | grep -qF -- "$want"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL $name: wanted \"$want\", got: $out"
    fi
}

check usage "commands:" "$nt5" --help
check version "ABI" "$nt5" --version
for cmd in info tokenize encode generate convert bench diagnose logits download; do
    check "$cmd --help" "usage: nt5 $cmd" "$nt5" "$cmd" --help
done
check_fails unknown-command "unknown command" "$nt5" frobnicate

check info "gelu_new" "$nt5" info "$model"
check info-json '"d_model": 64' "$nt5" info "$model" --json
check info-tf32 "compute_dtype                    f32" "$nt5" info "$model" --device cpu --tf32
check_fails info-missing "NT5_ERR_NOT_FOUND" "$nt5" info "$data/no-such-model"
check_fails info-extra-arg "unexpected argument" "$nt5" info "$model" --bogus

check tokenize "76 8 459 24 415 29 274 1" "$nt5" tokenize "$model" "Hello world!"
check tokenize-json '{"ids": [76, 8, 459, 24, 415, 29, 274, 1]}' "$nt5" tokenize "$model" "Hello world!" --json
check detokenize "Hello world!</s>" "$nt5" tokenize "$model" --decode 76 8 459 24 415 29 274 1
check_fails tokenize-utf8 "UTF-8" "$nt5" tokenize "$model" "$(printf 'bad \377')"

check encode-summary "hidden states [2, 21, 64]" "$nt5" encode "$model" "Hello world!" \
    "translate English to German: The house is wonderful."
check encode-preset '"shape": [1, 256, 64]' "$nt5" encode "$model" "Hello" --preset sd3 --json
check encode-npy "" "$nt5" encode "$model" "Hello world!" -o "$tmp/h.npy"
if [ -f "$tmp/h.npy" ] && head -c 6 "$tmp/h.npy" | grep -q NUMPY && [ "$(wc -c <"$tmp/h.npy")" -eq $((128 + 8 * 64 * 4)) ]; then
    passed=$((passed + 1))
else
    failed=$((failed + 1)); echo "FAIL encode-npy: bad file"
fi
check encode-safetensors "" "$nt5" encode "$model" "Hello world!" --dtype bf16 -o "$tmp/h.safetensors"
if [ -s "$tmp/h.safetensors" ] && ! ls "$tmp" | grep -q tmp; then
    passed=$((passed + 1))
else
    failed=$((failed + 1)); echo "FAIL encode-safetensors: missing file or temporary left behind"
fi
check_fails encode-bf16-npy "no bfloat16" "$nt5" encode "$model" "Hello" --dtype bf16 -o "$tmp/x.npy"
check_fails encode-extension "must end in" "$nt5" encode "$model" "Hello" -o "$tmp/x.bin"
check_fails encode-too-long "NT5_ERR_TOO_LONG" "$nt5" encode "$model" "Hello world, this is long" --max-length 3 \
    --no-truncation

# greedy output of prompt 0 in the fixture's reference.json
check generate "ry infoingφ please infoingφberд info co pleasegerд" "$nt5" generate "$model" "Hello world!" \
    --max-new-tokens 20
check generate-beam '"ids": [224, 538, 35, 597, 0, 351, 899, 538, 35, 597, 724, 351, 899, 218, 360, 218, 360, 351, 899, 724]' \
    "$nt5" generate "$model" "Hello world!" --max-new-tokens 20 --num-beams 4 --json
check generate-sample '"index": 1' "$nt5" generate "$model" "a" "b" --sample --top-k 5 --seed 3 --json
check_fails generate-bad-beams "num-beams" "$nt5" generate "$model" "a" --num-beams 0
check_fails generate-beam-sample "beam sampling" "$nt5" generate "$model" "a" --num-beams 2 --sample

check convert "" "$nt5" convert "$model" -o "$tmp/m.nt5" --dtype bf16
check convert-open '"weight_dtype": "bf16"' "$nt5" bench --model "$tmp/m.nt5" --seq-len 8 --new-tokens 2 --repeat 1 --json
check convert-info "tokenizer_size                   900" "$nt5" info "$tmp/m.nt5"
check_fails convert-to-what "must be nt5 or hf" "$nt5" convert "$model" -o "$tmp/x" --to onnx
printf 'Hello world!\n\ntranslate English to German: good morning\n' >"$tmp/prompts.txt"
check convert-f16 "" "$nt5" convert "$model" -o "$tmp/h.nt5" --dtype f16 --fold-norms --calibration "$tmp/prompts.txt" \
    --headroom 4
check convert-f16-open '"text"' "$nt5" generate "$tmp/h.nt5" "good morning" --max-new-tokens 4 --json
check_fails convert-f16-hf "only the nt5 format" "$nt5" convert "$model" -o "$tmp/hf16" --to hf --dtype f16
check_fails convert-bad-dtype "--dtype must be one of auto, f32, f16, bf16, q8_0, q6_k, q5_k or q4_k, not \"f8\"" "$nt5" convert "$model" -o "$tmp/y" --dtype f8
printf '\n  \n' >"$tmp/blank.txt"
check_fails convert-no-prompts "no prompts" "$nt5" convert "$model" -o "$tmp/y" --dtype f16 --calibration "$tmp/blank.txt"
check_fails convert-empty-prompts "has no prompts" "$nt5" convert "$model" -o "$tmp/y" --dtype f16 --calibration /dev/null
check_fails convert-local-to-cache "give -o OUT" "$nt5" convert "$model"
# the CUDA module's loader: a missing module, or a library that is not one, is a clear NO_DEVICE
check_fails cuda-module-missing "could not be loaded" env NT5_CUDA_MODULE=/nonexistent/libnt5-cuda.so \
    "$nt5" info "$model" --device cuda
libm=$(find /lib /usr/lib -name 'libm.so.6' 2>/dev/null | head -n 1)
check_fails cuda-module-foreign "has no nt5_cuda_module_api: not an nt5 CUDA module" env NT5_CUDA_MODULE="$libm" "$nt5" info "$model" \
    --device cuda
check cuda-module-auto "device                           cpu" env NT5_CUDA_MODULE=/nonexistent/libnt5-cuda.so \
    "$nt5" info "$model"
check diagnose "no non-finite values" "$nt5" diagnose "$model" "Hello world!"
check diagnose-f16 "no non-finite values" "$nt5" diagnose "$tmp/h.nt5" "Hello world!" --emulate-f16
check diagnose-json '"first_non_finite":null' "$nt5" diagnose "$model" "Hello world!" --json
check_fails diagnose-not-f16 "f16 nt5 file" "$nt5" diagnose "$model" "Hello" --emulate-f16
check logits "argmax" "$nt5" logits "$model" "Hello world!" --decoder-ids 0,5,7
check logits-npy "" "$nt5" logits "$model" "Hello world!" --decoder-ids 0,5 -o "$tmp/logits.npy"
check_fails logits-bad-id "decoder_ids[1] = 99999" "$nt5" logits "$model" "Hello" --decoder-ids 0,99999
check_fails logits-no-ids "--decoder-ids is required" "$nt5" logits "$model" "Hello"
check_fails logits-two-texts "give one TEXT" "$nt5" logits "$model" "Hello" "world" --decoder-ids 0

printf '{"model_type": "t5", "d_model": 32, "d_kv": 8, "d_ff": 64, "num_heads": 4, "num_layers": 2, "vocab_size": 128, "feed_forward_proj": "gated-gelu"}' >"$tmp/config.json"
check bench '"decode_ms_per_token"' "$nt5" bench --config "$tmp/config.json" --seq-len 16 --new-tokens 4 \
    --repeat 2 --warmup 0 --json
check_fails bench-preset "unknown preset" "$nt5" bench --preset t5-huge

# every argument is checked before anything is opened or downloaded: a typo beside a Hub id fails at
# once (exit 2), naming the nearest option, and nothing reaches the (unreachable) Hub or the cache
status_is() { # status_is NAME CODE COMMAND...: the exit code is CODE
    name=$1 want=$2
    shift 2
    "$@" >/dev/null 2>&1
    got=$?
    if [ "$got" -eq "$want" ]; then passed=$((passed + 1)); else
        failed=$((failed + 1))
        echo "FAIL $name: exit $got, wanted $want"
    fi
}
hubless="env HF_ENDPOINT=http://127.0.0.1:9 HF_HUB_CACHE=$tmp/hub-cache"
check_fails typo-suggests "did you mean --max-new-tokens?" $hubless "$nt5" generate nt5-test/nothing "hi" --max-new-token 3
status_is typo-exit-2 2 $hubless "$nt5" generate nt5-test/nothing "hi" --max-new-token 3
check_fails typo-before-download "did you mean --json?" $hubless "$nt5" encode nt5-test/nothing "hi" --jsn
if [ -e "$tmp/hub-cache" ]; then failed=$((failed + 1)); echo "FAIL typo-before-download: the cache was touched"
else passed=$((passed + 1)); fi
check_fails tokenize-typo "did you mean --skip-special?" "$nt5" tokenize "$model" --decode 76 --skip-specal
# an option's value is never taken for a text or the model
check option-value-not-a-text '"shape": [1, 2, 64]' "$nt5" encode "$model" "hi" --threads 1 --json
check info-option-first "gelu_new" "$nt5" info --threads 1 "$model"
# generate takes the input length options of encode; errors name the tool's flags
check generate-max-length '"ids"' "$nt5" generate "$model" "Hello world and more" --max-length 3 --json --max-new-tokens 2
check_fails generate-no-truncation "raise --max-length" "$nt5" generate "$model" "Hello world and more" \
    --max-length 3 --no-truncation
# sampling draws a fresh seed each run and reports it; --seed (all 64 bits) repeats a run
seed1=$("$nt5" generate "$model" "Hello" --sample --max-new-tokens 4 --json | sed 's/.*"seed": \([0-9]*\).*/\1/')
seed2=$("$nt5" generate "$model" "Hello" --sample --max-new-tokens 4 --json | sed 's/.*"seed": \([0-9]*\).*/\1/')
if [ -n "$seed1" ] && [ "$seed1" != "$seed2" ]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL fresh-seed: $seed1 then $seed2"; fi
a=$("$nt5" generate "$model" "Hello" --sample --max-new-tokens 6 --json --seed 18446744073709551615)
b=$("$nt5" generate "$model" "Hello" --sample --max-new-tokens 6 --json --seed 18446744073709551615)
if [ "$a" = "$b" ] && printf '%s' "$a" | grep -q '"seed": 18446744073709551615'; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL seed-repeats: $a / $b"; fi
check seed-verbose "seed 7" "$nt5" generate "$model" "Hello" --sample --max-new-tokens 2 --seed 7 --verbose
check_fails seed-range "--seed must be an integer" "$nt5" generate "$model" "Hello" --sample --seed -1
# encode and convert say what they wrote, unless --quiet
check encode-says "wrote $tmp/said.npy: hidden states [1, 2, 64] f32" "$nt5" encode "$model" "hi" -o "$tmp/said.npy"
if [ -z "$("$nt5" encode "$model" "hi" -o "$tmp/quiet.npy" --quiet)" ]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL encode-quiet: printed something"; fi
check_fails encode-output-checked-first "must end in .npy or .safetensors" $hubless "$nt5" encode nt5-test/x "hi" -o out.txt
# convert: -o for a local model; an existing output is refused unless --force (an nt5 file)
check_fails convert-needs-o "give -o OUT" "$nt5" convert "$model"
check convert-says "wrote $tmp/c.nt5" "$nt5" convert "$model" -o "$tmp/c.nt5"
check_fails convert-exists "give --force to replace it" "$nt5" convert "$model" -o "$tmp/c.nt5"
check convert-force "wrote $tmp/c.nt5" "$nt5" convert "$model" -o "$tmp/c.nt5" --force
check_fails convert-hf-exists "give a new directory" "$nt5" convert "$model" -o "$tmp" --to hf --force
# a write that fails names the file asked for, never a temporary
out=$("$nt5" encode "$model" "hi" -o "$tmp/missing/x.npy" 2>&1)
if printf '%s' "$out" | grep -qF "cannot write $tmp/missing/x.npy" && ! printf '%s' "$out" | grep -q '\.tmp\.'; then
    passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL no-temporary-names: $out"; fi
out=$("$nt5" convert "$model" -o "$tmp/missing/x.nt5" 2>&1)
if ! printf '%s' "$out" | grep -q '\.tmp\.'; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL convert-no-temporary-names: $out"; fi
# tokenize takes a directory that holds only a tokenizer
mkdir "$tmp/tokenizer-only"
cp "$model/spiece.model" "$model/tokenizer_config.json" "$tmp/tokenizer-only/"
check tokenize-tokenizer-only "76 8 459 24 415 29 274 1" "$nt5" tokenize "$tmp/tokenizer-only" "Hello world!"
check detokenize-tokenizer-only "Hello world!</s>" "$nt5" tokenize "$tmp/tokenizer-only" --decode 76 8 459 24 415 29 274 1
# a file of a model given as the model asks for its directory; a model's path is said once
check_fails config-json-as-model "give the model's directory" "$nt5" info "$model/config.json"
out=$("$nt5" info "$data/t5-v1_1-tiny/config.json" 2>&1)
if [ "$(printf '%s' "$out" | grep -o "t5-v1_1-tiny/config.json" | wc -l)" -eq 1 ]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL path-said-once: $out"; fi
# --device cuda on a machine without the NVIDIA driver says so (where the CUDA module was built)
if ! [ -e /dev/nvidiactl ] && ! [ -e /proc/driver/nvidia/version ]; then
    out=$("$nt5" info "$model" --device cuda 2>&1)
    if printf '%s' "$out" | grep -qE "no NVIDIA driver found|could not be loaded"; then passed=$((passed + 1)); else
        failed=$((failed + 1)); echo "FAIL cuda-without-driver: $out"; fi
fi
# info says none for a missing tokenizer; more threads than cores is said
check info-no-tokenizer "tokenizer_source                 none" "$nt5" info "$model/model.safetensors"
check threads-over-cores "cores online" "$nt5" info "$model" --threads 4096

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
