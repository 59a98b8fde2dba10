#!/usr/bin/env python3
"""CPU benchmark: nt5 against Hugging Face transformers (PyTorch, fp32) and,
when installed, CTranslate2 (fp32), on the same random-weight models, inputs
and thread count, in one run.

Shapes (issue "Core engine"):
  encoder  t5-v1_1-base shape, batch 1 x 512 tokens and batch 8 x 128 tokens
  decoding t5-v1_1-small shape, 32-token input, 64 new tokens, greedy and 4 beams

Decoding is reported in ms per generated token as (T(64 new) - T(1 new)) / 63,
so the encoder and set-up drop out alike for every engine; every run is forced
to its full length (min new tokens = max new tokens).

Needs torch and transformers (Debian's python3-torch and transformers 4.36.x
from PyPI are enough); ctranslate2 is optional. Not part of CI.

With --compare OTHER_NT5 a second nt5 binary (another commit's build, say)
is measured in the same run: each case runs --rounds times as --nt5, then
OTHER_NT5, in turn, and the row holds both medians and the median of the
per-round ratios, so a refactoring's speed is compared on the same machine
state.

usage: python3 bench/cpu_vs_hf.py [--nt5 build/tools/nt5] [--compare OTHER_NT5 [--rounds 5]] [--threads 2]
                                  [--out bench/results]
"""
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import torch
import transformers

import common  # noqa: E402
from common import ROOT  # noqa: E402

SHAPES = {
    "t5-v1_1-small": dict(d_model=512, d_kv=64, d_ff=1024, num_heads=6, num_layers=8),
    "t5-v1_1-base": dict(d_model=768, d_kv=64, d_ff=2048, num_heads=12, num_layers=12),
    # umt5-small's layers (a position-bias table in every block) on the T5 vocabulary
    "umt5-small": dict(d_model=512, d_kv=64, d_ff=1024, num_heads=6, num_layers=8),
}
# Floors on this kind of machine, from the issue: OpenBLAS sgemm ~200 GFLOP/s on
# 2 cores; memory reads ~17-25 GB/s (the faster end is used for the floor).
GEMM_FLOPS = 200e9
MEM_BYTES_PER_S = 25e9


def make_model(name, directory, spiece):
    """A seeded random model of shape `name` (SHAPES), saved in `directory` with the tokenizer `spiece`."""
    umt5 = name.startswith("umt5")
    config = transformers.UMT5Config if umt5 else transformers.T5Config
    cfg = config(vocab_size=32128, feed_forward_proj="gated-gelu", tie_word_embeddings=False,
                 decoder_start_token_id=0, **SHAPES[name])
    torch.manual_seed(0)
    model = (transformers.UMT5ForConditionalGeneration if umt5 else transformers.T5ForConditionalGeneration)(cfg).eval()
    model.save_pretrained(directory, safe_serialization=True)
    if spiece:
        transformers.T5Tokenizer(spiece, legacy=True).save_pretrained(directory)
    return model


def bench_ids(batch, seq, eos=1):
    """The ids nt5 bench uses: 3 + (i * 7919) % 30000 % (vocab - 3), </s> last."""
    ids = [3 + (i * 7919) % 30000 % (32128 - 3) for i in range(batch * seq)]
    rows = [ids[b * seq:(b + 1) * seq] for b in range(batch)]
    for r in rows:
        r[-1] = eos
    return rows


def median_ms(fn, repeat, warmup=1):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def hf_encoder_ms(model, batch, seq, repeat):
    ids = torch.tensor(bench_ids(batch, seq))
    mask = torch.ones_like(ids)
    with torch.inference_mode():
        return median_ms(lambda: model.encoder(input_ids=ids, attention_mask=mask), repeat)


def hf_generate_ms(model, new_tokens, beams, repeat):
    ids = torch.tensor(bench_ids(1, 32))
    with torch.inference_mode():
        return median_ms(lambda: model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                                                max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                                                num_beams=beams, do_sample=False, early_stopping=False), repeat)


def ct2_translator(model_dir, threads):
    try:
        import ctranslate2
    except ImportError:
        return None, None
    out = os.path.join(os.path.dirname(model_dir), "ct2-" + os.path.basename(model_dir))
    # CTranslate2 4.8's converter passes from_pretrained(dtype=...), which
    # transformers 4.36 calls torch_dtype
    base = transformers.modeling_utils.PreTrainedModel
    original = base.from_pretrained.__func__

    def from_pretrained(cls, *a, **kw):
        if "dtype" in kw:
            kw["torch_dtype"] = kw.pop("dtype")
        return original(cls, *a, **kw)

    base.from_pretrained = classmethod(from_pretrained)
    try:
        ctranslate2.converters.TransformersConverter(model_dir).convert(out, force=True)
    finally:
        base.from_pretrained = classmethod(original)
    translator = ctranslate2.Translator(out, device="cpu", inter_threads=1, intra_threads=threads,
                                        compute_type="float32")
    tok = transformers.T5Tokenizer.from_pretrained(model_dir, legacy=True)
    return translator, tok.convert_ids_to_tokens(bench_ids(1, 32)[0])


def ct2_generate_ms(translator, tokens, new_tokens, beams, repeat):
    return median_ms(lambda: translator.translate_batch([tokens], beam_size=beams, max_decoding_length=new_tokens,
                                                        min_decoding_length=new_tokens), repeat)


def nt5_bench(nt5, model_dir, threads, *args):
    cmd = [nt5, "bench", "--model", model_dir, "--threads", str(threads), "--json", *args]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def nt5_generate_ms(nt5, model_dir, threads, new_tokens, beams, repeat, weight_dtype="f32"):
    r = nt5_bench(nt5, model_dir, threads, "--seq-len", "32", "--new-tokens", str(new_tokens), "--num-beams",
                  str(beams), "--repeat", str(repeat), "--weight-dtype", weight_dtype)
    return r["generate_ms"]


def encoder_gflop(shape, batch, seq):
    s = SHAPES[shape]
    inner = s["num_heads"] * s["d_kv"]
    per_token = 2 * (4 * s["d_model"] * inner + 3 * s["d_model"] * s["d_ff"])
    attention = 4 * seq * seq * inner
    return s["num_layers"] * (batch * seq * per_token + batch * attention) / 1e9


def decoder_step_bytes(shape, bytes_per_weight=4):
    s = SHAPES[shape]
    inner = s["num_heads"] * s["d_kv"]
    per_layer = 3 * s["d_model"] * inner + inner * s["d_model"] + 2 * s["d_model"] * inner + 3 * s["d_model"] * s["d_ff"]
    # cross K/V are computed once per call, so only q and o of cross-attention are read per step
    per_layer -= 2 * s["d_model"] * inner
    return (s["num_layers"] * per_layer + 32128 * s["d_model"]) * bytes_per_weight


def machine():
    info = {"platform": platform.platform(), "cpus": os.cpu_count()}
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info["OPENBLAS_CORETYPE"] = os.environ.get("OPENBLAS_CORETYPE")
    return info


def main():
    ap = common.parser(__doc__)
    ap.add_argument("--compare", help="a second nt5 binary measured in the same run, case by case")
    ap.add_argument("--rounds", type=int, default=5, help="with --compare: turns of each binary per case")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--spiece", default=os.path.join(ROOT, "..", "shared", "fixtures", "tokenizer-t5", "spiece.model"),
                    help="T5 sentencepiece model, needed for CTranslate2's vocabulary")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    spiece = args.spiece if os.path.exists(args.spiece) else None
    tmp = tempfile.mkdtemp(prefix="nt5-bench-")
    rows = []

    def row(name, floor_ms, floor_what, hf, nt5, ct2=None, target=None, compare=None):
        r = dict(case=name, floor_ms=floor_ms, floor=floor_what, hf_ms=hf, nt5_ms=nt5, ct2_ms=ct2, target_ms=target,
                 speedup_vs_hf=hf / nt5, nt5_over_floor=nt5 / floor_ms)
        if ct2:
            r["speedup_vs_ct2"] = ct2 / nt5
        if compare:
            r.update(compare)
        rows.append(r)
        print(f"{name:44s} floor {floor_ms:8.2f}  HF {hf:9.2f}  CT2 {ct2 if ct2 else float('nan'):8.2f}  "
              f"nt5 {nt5:8.2f}  x{hf / nt5:5.2f} vs HF  {nt5 / floor_ms:4.2f} of floor"
              + (f"  compare {compare['compare_ms']:8.2f}  nt5/compare {compare['nt5_over_compare']:5.3f} "
                 f"({compare['ratio_min']:5.3f}..{compare['ratio_max']:5.3f})" if compare else ""), flush=True)

    # The median of one nt5 measurement, and without --compare None; with it
    # `rounds` of --nt5's then --compare's in turn, and what they compare as.
    def both(measure):
        if not args.compare:
            return measure(args.nt5), None
        mine, theirs = [], []
        for _ in range(args.rounds):
            mine.append(measure(args.nt5))
            theirs.append(measure(args.compare))
        ratios = [a / b for a, b in zip(mine, theirs)]
        return statistics.median(mine), dict(compare_ms=statistics.median(theirs),
                                              nt5_over_compare=statistics.median(ratios), ratio_min=min(ratios),
                                              ratio_max=max(ratios), rounds_nt5_ms=mine, rounds_compare_ms=theirs)

    try:
        base_dir = os.path.join(tmp, "t5-v1_1-base")
        base = make_model("t5-v1_1-base", base_dir, spiece)
        for batch, seq in ((1, 512), (8, 128)):
            hf = hf_encoder_ms(base, batch, seq, args.repeat)
            nt5, other = both(lambda binary: nt5_bench(binary, base_dir, args.threads, "--encode-only", "--batch",
                                                       str(batch), "--seq-len", str(seq), "--repeat",
                                                       str(args.repeat))["encode_ms"])
            gf = encoder_gflop("t5-v1_1-base", batch, seq)
            row(f"encoder base {batch}x{seq} (ms)", gf * 1e9 / GEMM_FLOPS * 1e3, f"{gf:.1f} GFLOP at 200 GFLOP/s",
                hf, nt5, target=650 if batch == 1 else None, compare=other)
        del base

        small_dir = os.path.join(tmp, "t5-v1_1-small")
        small = make_model("t5-v1_1-small", small_dir, spiece)
        translator, tokens = ct2_translator(small_dir, args.threads) if spiece else (None, None)
        for beams, target in ((1, 8.0), (4, 12.0)):
            rep = args.repeat if beams == 1 else max(3, args.repeat // 2)
            hf = (hf_generate_ms(small, 64, beams, rep) - hf_generate_ms(small, 1, beams, rep)) / 63
            nt5, other = both(lambda binary: (nt5_generate_ms(binary, small_dir, args.threads, 64, beams, rep) -
                                              nt5_generate_ms(binary, small_dir, args.threads, 1, beams, rep)) / 63)
            ct2 = None
            if translator:
                ct2 = (ct2_generate_ms(translator, tokens, 64, beams, rep) -
                       ct2_generate_ms(translator, tokens, 1, beams, rep)) / 63
            floor = decoder_step_bytes("t5-v1_1-small") / MEM_BYTES_PER_S * 1e3
            row(f"decode small, {beams} beam(s), f32 (ms/token)", floor,
                f"{decoder_step_bytes('t5-v1_1-small') / 1e6:.0f} MB/token at 25 GB/s", hf, nt5, ct2, target, other)
        hf1 = rows[-2]["hf_ms"]
        def bf16_step_ms(binary):
            return (nt5_generate_ms(binary, small_dir, args.threads, 64, 1, args.repeat, "bf16") -
                    nt5_generate_ms(binary, small_dir, args.threads, 1, 1, args.repeat, "bf16")) / 63

        nt5_bf16, other = both(bf16_step_ms)
        floor = decoder_step_bytes("t5-v1_1-small", 2) / MEM_BYTES_PER_S * 1e3
        row("decode small, greedy, bf16 weights (ms/token)", floor,
            f"{decoder_step_bytes('t5-v1_1-small', 2) / 1e6:.0f} MB/token at 25 GB/s", hf1, nt5_bf16,
            rows[-2].get("ct2_ms"), 5.5, other)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    result = dict(date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), commit=commit,
                  machine=machine(), threads=args.threads, torch=torch.__version__,
                  transformers=transformers.__version__, rows=rows)
    if args.compare:
        result["compare"] = args.compare
    try:
        import ctranslate2
        result["ctranslate2"] = ctranslate2.__version__
    except ImportError:
        pass
    path = common.result_path(args.out, f"cpu-{datetime.date.today().isoformat()}-{commit}")
    with open(path, "w") as f:
        json.dump(result, f, indent=2)
    print("wrote", path)


if __name__ == "__main__":
    sys.exit(main())
