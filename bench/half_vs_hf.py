#!/usr/bin/env python3
"""Half-precision accuracy against Hugging Face transformers, on one GPU
(issue "CUDA backend": nt5's half-precision hidden states closer to the
fp32 reference than HF's at every quantile of the absolute error, and never
non-finite).

For each model (the fixtures in tests/data, and random-weight models of real
shapes that HF builds and saves, with t5-v1_1-tiny's tokenizer beside them):
the encoder's hidden states of the same token ids from HF in fp32 (the
reference), HF bf16 and f16 (model.to(dtype), as users run it), nt5 bf16
(weight_dtype bf16) and nt5 f16 (an f16 file converted with calibrated
scales, `nt5 convert --dtype f16 --encoder-only`, which a GPU runs in f16;
the CPU widens it, so --device cpu only tries the script). Prints the quantiles of
|x - reference| over the real tokens and writes JSON under bench/results/.

usage: python3 bench/half_vs_hf.py [--nt5 build/tools/nt5] [--out DIR] [--shapes base,xl] [--device cpu]
"""
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy
import torch
import transformers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import ROOT  # noqa: E402
from cuda_vs_hf import machine, nt5_env  # noqa: E402

FIXTURES = ["t5-v1_0-tiny", "t5-v1_1-tiny", "mt5-tiny", "umt5-tiny"]
SHAPES = {
    "base": dict(d_model=768, d_kv=64, d_ff=2048, num_heads=12, num_layers=12, num_decoder_layers=1),
    "xl": dict(d_model=2048, d_kv=64, d_ff=5120, num_heads=32, num_layers=24, num_decoder_layers=1),
}
TOKENIZER_FILES = ["spiece.model", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"]
TEXTS = [
    "Translate English to German: The house is wonderful.",
    "A watercolor painting of a lighthouse on a cliff at dawn, waves crashing below, soft pastel colors.",
    "summarize: The committee met on Tuesday to discuss the budget for the coming year and agreed to postpone "
    "the vote until more information about the costs of the new building is available.",
    "Q: What is the boiling point of water at sea level? A:",
    "A cat.",
    "An isometric render of a tiny city on a floating island, with waterfalls spilling into the clouds, "
    "trees, bridges and windmills, highly detailed, 8k, trending on artstation, volumetric light.",
]
QUANTILES = [0.5, 0.9, 0.99, 0.999, 1.0]


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True, env=nt5_env())
    if r.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(cmd[:2]), r.stderr.strip()))
    return r.stdout


def read_safetensors(path):
    """The F32 tensors of a safetensors file as numpy arrays."""
    raw = open(path, "rb").read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        begin, end = t["data_offsets"]
        dtype = {"F32": numpy.float32, "I64": numpy.int64}[t["dtype"]]
        out[name] = numpy.frombuffer(raw[8 + n + begin:8 + n + end], dtype=dtype).reshape(t["shape"])
    return out


def token_ids(nt5, model):
    return [json.loads(run([nt5, "tokenize", model, text, "--json"]))["ids"] for text in TEXTS]


def nt5_states(nt5, model, weight_dtype, work, device):
    """[text] -> [tokens, d_model] from `nt5 encode` (one call, padded to the longest, masked)."""
    out = os.path.join(work, "nt5.safetensors")
    run([nt5, "encode", model, *TEXTS, "--device", device, "--weight-dtype", weight_dtype, "-o", out])
    t = read_safetensors(out)
    return [t["hidden_states"][b, :t["lengths"][b]].astype(numpy.float64) for b in range(len(TEXTS))]


def hf_states(model_dir, ids, dtype, device):
    model = transformers.AutoModelForSeq2SeqLM.from_pretrained(model_dir).get_encoder()
    model = model.to(device=device, dtype=dtype).eval()
    out = []
    with torch.inference_mode():
        for row in ids:
            x = torch.tensor([row], device=device)
            h = model(input_ids=x, attention_mask=torch.ones_like(x)).last_hidden_state
            out.append(h[0].float().cpu().numpy().astype(numpy.float64))
    del model
    return out


def errors(states, reference):
    err = numpy.concatenate([numpy.abs(s - r).ravel() for s, r in zip(states, reference)])
    finite = numpy.isfinite(err)
    q = numpy.quantile(err[finite], QUANTILES).tolist() if finite.any() else [float("nan")] * len(QUANTILES)
    return {"quantiles": q, "non_finite": int((~finite).sum())}


def random_model(shape, seed, work):
    """A random T5 v1.1 model of `shape` saved by HF, with a tokenizer beside it."""
    torch.manual_seed(seed)
    cfg = transformers.T5Config(vocab_size=32128, feed_forward_proj="gated-gelu", tie_word_embeddings=False,
                                decoder_start_token_id=0, **SHAPES[shape])
    path = os.path.join(work, "random-" + shape)
    transformers.T5ForConditionalGeneration(cfg).save_pretrained(path, safe_serialization=True)
    for f in TOKENIZER_FILES:
        shutil.copy(os.path.join(ROOT, "tests", "data", "t5-v1_1-tiny", f), path)
    return path


def compare(nt5, name, model_dir, work, device):
    ids = token_ids(nt5, model_dir)
    f16_file = os.path.join(work, name + "-f16.nt5")
    run([nt5, "convert", model_dir, "--dtype", "f16", "--encoder-only", "-o", f16_file])
    reference = hf_states(model_dir, ids, torch.float32, device)
    rows = {"nt5 fp32": errors(nt5_states(nt5, model_dir, "f32", work, device), reference)}
    for label, dtype, states in [("bf16", torch.bfloat16, lambda: nt5_states(nt5, model_dir, "bf16", work, device)),
                                 ("f16", torch.float16, lambda: nt5_states(nt5, f16_file, "auto", work, device))]:
        rows["nt5 " + label] = errors(states(), reference)
        try:
            rows["HF " + label] = errors(hf_states(model_dir, ids, dtype, device), reference)
        except RuntimeError as e:  # e.g. f16 kernels missing on a CPU
            rows["HF " + label] = {"error": str(e).splitlines()[0]}
    for label in ("bf16", "f16"):
        ours, theirs = rows["nt5 " + label], rows["HF " + label]
        rows[label + " verdict"] = {
            "nt5 closer at every quantile": "quantiles" in theirs and all(
                a <= b or numpy.isnan(b) for a, b in zip(ours["quantiles"], theirs["quantiles"])),
            "nt5 never non-finite": ours["non_finite"] == 0,
        }
    return rows


def main():
    ap = common.parser(__doc__)
    ap.add_argument("--shapes", default="base", help="random models of these shapes (%s)" % ",".join(SHAPES))
    ap.add_argument("--device", default="cuda", help="cuda (the point), or cpu to try the script")
    args = ap.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as work:
        models = [(f, os.path.join(ROOT, "tests", "data", f)) for f in FIXTURES]
        models += [("random t5-v1_1-" + s, random_model(s, 7, work)) for s in args.shapes.split(",") if s]
        for name, path in models:
            results[name] = compare(args.nt5, name.replace(" ", "-"), path, work, args.device)
            print("\n%s: |x - HF fp32| at quantiles %s" % (name, " ".join("%g" % q for q in QUANTILES)))
            for label, row in results[name].items():
                if "quantiles" in row:
                    print("  %-9s %s  non-finite %d" % (label, " ".join("%9.3g" % v for v in row["quantiles"]),
                                                        row["non_finite"]))
                else:
                    print("  %-9s %s" % (label, row))
    info = machine()
    info["date"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    path = common.result_path(args.out, "half-vs-hf-%s-%s" % (info["date"][:10], info["commit"]))
    with open(path, "w") as f:
        json.dump({"machine": info, "device": args.device, "results": results}, f, indent=1)
    print("\nwrote", path)


if __name__ == "__main__":
    main()
