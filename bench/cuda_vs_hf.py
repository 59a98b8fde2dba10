#!/usr/bin/env python3
"""GPU benchmark: nt5's CUDA backend against Hugging Face transformers
(eager, and torch.compile where asked) on models of the same shapes with
random weights, in one run, on one GPU (issue "CUDA backend").

  1. T5 v1.1 XXL encoder, bf16, batch 1 x 512 tokens      (target <= 7.0 ms, >= 1.35x HF compiled)
  2. the same encoder, batch 32 x 256 tokens              (target >= 75% of the measured cuBLAS bf16 peak)
  3. flan-t5-xl, bf16, batch 1, greedy, 128 new tokens    (target <= 1.5 ms/token, >= 10x HF generate)
  4. flan-t5-xl, bf16, batch 16, 4 beams                  (tokens per second against HF)

nt5 is timed by `nt5 bench` (median wall time of whole API calls, output
copied to the host); HF with CUDA events around the same work on the same
token ids. Decoding is (T(N new) - T(1 new)) / (N - 1) per token for both,
every run forced to its full length. Prints a table and writes JSON with
the device, driver, commit and date under bench/results/.

usage: python3 bench/cuda_vs_hf.py [--nt5 build/tools/nt5] [--only 1,2,3,4] [--no-compile]
On the `device` machine, from the repo root with .gpu-bundle.tar.xz carried
(bench/gpu_bundle.sh): tar xJf .gpu-bundle.tar.xz && . .gpu-bundle/env.sh &&
python3 bench/cuda_vs_hf.py
"""
import datetime
import json
import os
import statistics
import subprocess
import sys

import torch
import transformers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import ROOT, git_commit  # noqa: E402

XXL = dict(d_model=4096, d_kv=64, d_ff=10240, num_heads=64, num_layers=24, num_decoder_layers=24)
XL = dict(d_model=2048, d_kv=64, d_ff=5120, num_heads=32, num_layers=24, num_decoder_layers=24)


def bench_ids(batch, seq, vocab=32128):
    """The ids `nt5 bench` uses: 3 + (i * 7919) % 30000 % (vocab - 3), </s> last."""
    ids = [3 + (i * 7919) % 30000 % (vocab - 3) for i in range(batch * seq)]
    rows = [ids[b * seq:(b + 1) * seq] for b in range(batch)]
    for r in rows:
        r[-1] = 1
    return torch.tensor(rows, device="cuda")


def cuda_ms(fn, repeat=10, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def nt5_env():
    """nt5's own library path (bench/gpu_bundle.sh's NT5_LD_LIBRARY_PATH), for nt5 alone."""
    env = dict(os.environ)
    if env.get("NT5_LD_LIBRARY_PATH"):
        env["LD_LIBRARY_PATH"] = env["NT5_LD_LIBRARY_PATH"]
    return env


def nt5_bench(nt5, preset, *args):
    cmd = [nt5, "bench", "--preset", preset, "--device", "cuda", "--weight-dtype", "bf16", "--json", *args]
    r = subprocess.run(cmd, capture_output=True, text=True, env=nt5_env())
    if r.returncode != 0:
        raise RuntimeError("nt5 bench failed: " + r.stderr.strip())
    return json.loads(r.stdout)


def encoder_tflop(shape, batch, seq):
    inner = shape["num_heads"] * shape["d_kv"]
    per_token = 2 * (4 * shape["d_model"] * inner + 3 * shape["d_model"] * shape["d_ff"])
    attention = 4 * seq * seq * inner
    return shape["num_layers"] * (batch * seq * per_token + batch * attention) / 1e12


def hf_model(shape, encoder_only):
    cfg = transformers.T5Config(vocab_size=32128, feed_forward_proj="gated-gelu", tie_word_embeddings=False,
                                decoder_start_token_id=0, **shape)
    cls = transformers.T5EncoderModel if encoder_only else transformers.T5ForConditionalGeneration
    with torch.device("cuda"):
        model = cls(cfg)
    return model.to(torch.bfloat16).eval()


def cublas_peak_tflops():
    n = 8192
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    ms = cuda_ms(lambda: a @ b, repeat=20, warmup=5)
    return 2 * n ** 3 / ms / 1e9


def hf_encoder_ms(model, batch, seq, compiled):
    ids = bench_ids(batch, seq)
    mask = torch.ones_like(ids)
    fn = torch.compile(model) if compiled else model
    with torch.inference_mode():
        return cuda_ms(lambda: fn(input_ids=ids, attention_mask=mask))


def hf_generate_ms(model, batch, new_tokens, beams):
    ids = bench_ids(batch, 32)
    with torch.inference_mode():
        return cuda_ms(lambda: model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                                              max_new_tokens=new_tokens, min_new_tokens=new_tokens, num_beams=beams,
                                              do_sample=False, early_stopping=False), repeat=3, warmup=1)


def per_token(t_n, t_1, n):
    return (t_n - t_1) / (n - 1)


def machine():
    gpu = torch.cuda.get_device_properties(0).name if torch.cuda.is_available() else "none"
    try:
        smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True).stdout.strip()
    except FileNotFoundError:
        smi = "no nvidia-smi"
    commit = git_commit(ROOT)
    return {"gpu": gpu, "nvidia-smi": smi, "torch": torch.__version__, "transformers": transformers.__version__,
            "cuda": torch.version.cuda, "commit": commit or os.environ.get("NT5_COMMIT", "?")}


def main():
    ap = common.parser(__doc__)
    ap.add_argument("--only", default="1,2,3,4")
    ap.add_argument("--no-compile", action="store_true", help="skip HF torch.compile (it takes minutes)")
    args = ap.parse_args()
    only = {int(x) for x in args.only.split(",")}
    rows, info = [], machine()
    peak = cublas_peak_tflops()
    print("device: %s; cuBLAS bf16 8192^3 peak %.0f TFLOP/s" % (info["nvidia-smi"], peak), flush=True)

    def row(name, nt5_ms, hf, unit="ms", work=None, target=""):
        entry = {"case": name, "nt5": nt5_ms, "unit": unit, "target": target, "hf": hf}
        if work:
            entry["nt5_tflops"] = work / nt5_ms * 1e3
        rows.append(entry)
        # how many times faster nt5 is
        speedup = {k: (v / nt5_ms if unit.startswith("ms") else nt5_ms / v) for k, v in hf.items()}
        entry["speedup"] = speedup
        cols = " ".join("%s %.2f (nt5 x%.2f)" % (k, v, speedup[k]) for k, v in hf.items())
        extra = " %.0f TFLOP/s" % entry["nt5_tflops"] if work else ""
        print("%-44s nt5 %8.2f %s%s | %s | target %s" % (name, nt5_ms, unit, extra, cols, target), flush=True)

    if only & {1, 2}:
        model = hf_model(XXL, encoder_only=True)
        for case, (batch, seq) in ((1, (1, 512)), (2, (32, 256))):
            if case not in only:
                continue
            nt5 = nt5_bench(args.nt5, "t5-v1_1-xxl", "--encode-only", "--batch", str(batch), "--seq-len", str(seq),
                            "--repeat", "10")["encode_ms"]
            hf = {"hf_eager": hf_encoder_ms(model, batch, seq, False)}
            if not args.no_compile:
                hf["hf_compiled"] = hf_encoder_ms(model, batch, seq, True)
            work = encoder_tflop(XXL, batch, seq)
            target = "<= 7.0 ms, >= 1.35x HF compiled" if case == 1 else ">= %.0f TFLOP/s (75%% of peak)" % (0.75 * peak)
            row("%d. XXL encoder bf16 %d x %d" % (case, batch, seq), nt5, hf, work=work, target=target)
        del model
        torch.cuda.empty_cache()
    if only & {3, 4}:
        model = hf_model(XL, encoder_only=False)
        for case, (batch, beams) in ((3, (1, 1)), (4, (16, 4))):
            if case not in only:
                continue
            n = 128 if case == 3 else 64
            t = {k: nt5_bench(args.nt5, "flan-t5-xl", "--batch", str(batch), "--seq-len", "32", "--new-tokens", str(k),
                              "--num-beams", str(beams), "--repeat", "3")["generate_ms"] for k in (1, n)}
            nt5 = per_token(t[n], t[1], n)
            hf = per_token(hf_generate_ms(model, batch, n, beams), hf_generate_ms(model, batch, 1, beams), n)
            if case == 3:
                row("3. flan-t5-xl bf16 greedy, 128 new", nt5, {"hf_generate": hf}, unit="ms/token",
                    target="<= 1.5 ms/token, >= 10x HF")
            else:
                tokens = batch  # one new token per input per step
                row("4. flan-t5-xl bf16 16 x beam 4", tokens / nt5 * 1e3, {"hf_generate": tokens / hf * 1e3},
                    unit="tokens/s", target="more than HF")
    stamp = datetime.date.today().isoformat()
    path = common.result_path(args.out, "cuda-%s-%s" % (stamp, info["commit"]))
    with open(path, "w") as f:
        json.dump({"date": stamp, "machine": info, "cublas_bf16_peak_tflops": peak, "rows": rows}, f, indent=2)
    print("wrote", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
