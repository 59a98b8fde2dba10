#!/usr/bin/env python3
"""Caption corpus throughput: `nt5 encode --input` against a Hugging Face
transformers loop done the way training tools (SimpleTuner, kohya's
sd-scripts) embed captions, on the same random-weight t5-v1_1-base encoder,
the same captions, batch size, sorting and thread count, in one run.

Captions: COUNT of a spread of 5 to 120 words (uniform), of English words
from the genuine T5 tokenizer's vocabulary, all distinct (nt5 would encode a
repeat once; the loop would not). Both pad each batch to its longest caption
with an attention mask, both sort captions by token count within windows of
--sort-window captions into batches of --batch-size.

Timed: nt5's encoding loop as its --json summary reports it (reading,
tokenizing, encoding and writing the shards, not opening the model); the
loop's tokenizing, encoding and copying each caption's hidden states out of
torch (nothing written). Rounds alternate between the two; the row holds
each engine's median captions/s and the median of the per-round ratios.

usage: python3 bench/corpus_vs_hf.py [--nt5 build/tools/nt5] [--count 2000] [--rounds 2]
                                     [--batch-size 16] [--threads 2] [--out bench/results]
"""
import datetime
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

import torch
import transformers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import ROOT  # noqa: E402
from cpu_vs_hf import machine, make_model  # noqa: E402


def caption_words(tokenizer):
    """Whole English-looking words of the tokenizer's vocabulary (pieces that start a word)."""
    pieces = tokenizer.convert_ids_to_tokens(list(range(tokenizer.sp_model.get_piece_size())))
    return sorted({p[1:] for p in pieces if p.startswith("\u2581") and p[1:].isalpha() and p[1:].isascii()
                   and len(p) > 3})


def make_captions(words, count, seed=0):
    rng = random.Random(seed)
    caps = set()
    while len(caps) < count:
        caps.add(" ".join(rng.choice(words) for _ in range(rng.randint(5, 120))))
    return sorted(caps, key=lambda c: rng.random())


def hf_loop(model, tokenizer, captions, batch, window):
    """The training tools' loop: tokenize, sort within windows, encode batches, keep each caption's rows."""
    t0 = time.perf_counter()
    ids = tokenizer(captions, truncation=True, max_length=512)["input_ids"]
    order = []
    for w0 in range(0, len(ids), window):
        order += sorted(range(w0, min(w0 + window, len(ids))), key=lambda i: (len(ids[i]), i))
    kept = [None] * len(ids)
    with torch.inference_mode():
        for b0 in range(0, len(order), batch):
            rows = order[b0:b0 + batch]
            enc = tokenizer.pad({"input_ids": [ids[i] for i in rows]}, return_tensors="pt")
            hidden = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
            for r, i in enumerate(rows):
                kept[i] = hidden[r, :len(ids[i])].numpy().copy()
    return time.perf_counter() - t0, kept, sum(len(i) for i in ids)


def nt5_rows(out, line):
    """The hidden states nt5 wrote for input line `line` (1-based): [length, d_model] float32."""
    import numpy
    entry = [json.loads(l) for l in open(os.path.join(out, "index.jsonl"))][line - 1]
    with open(os.path.join(out, "shard-%05d.safetensors" % entry["shard"]), "rb") as f:
        size = int.from_bytes(f.read(8), "little")
        meta = json.loads(f.read(size))["hidden_states"]
        n, seq, d = meta["shape"]
        f.seek(8 + size + meta["data_offsets"][0] + entry["row"] * seq * d * 4)
        return numpy.frombuffer(f.read(entry["length"] * d * 4), dtype=numpy.float32).reshape(-1, d)


def nt5_run(nt5, model_dir, inp, out, batch, window, threads):
    cmd = [nt5, "encode", model_dir, "--input", inp, "--output", out, "--batch-size", str(batch), "--sort-window",
           str(window), "--threads", str(threads), "--json", "--quiet"]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def main():
    ap = common.parser(__doc__)
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--sort-window", type=int, default=1024)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--spiece", default=os.path.join(ROOT, "..", "shared", "fixtures", "tokenizer-t5", "spiece.model"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = os.path.join(tmp, "t5-v1_1-base")
        model = make_model("t5-v1_1-base", model_dir, args.spiece).encoder
        tokenizer = transformers.T5TokenizerFast.from_pretrained(model_dir)
        captions = make_captions(caption_words(transformers.T5Tokenizer.from_pretrained(model_dir)), args.count)
        inp = os.path.join(tmp, "captions.txt")
        with open(inp, "w") as f:
            f.write("\n".join(captions) + "\n")
        nt5_rates, hf_rates, ratios = [], [], []
        for r in range(args.rounds):
            out = os.path.join(tmp, "shards-%d" % r)
            s = nt5_run(args.nt5, model_dir, inp, out, args.batch_size, args.sort_window, args.threads)
            seconds, kept, tokens = hf_loop(model, tokenizer, captions, args.batch_size, args.sort_window)
            nt5_rates.append(args.count / s["seconds"])
            hf_rates.append(args.count / seconds)
            ratios.append(nt5_rates[-1] / hf_rates[-1])
            same = nt5_rows(out, 1)
            err = float(((same - kept[0]) ** 2).sum() ** 0.5 / (kept[0] ** 2).sum() ** 0.5)
            print("round %d: nt5 %.1f captions/s (%.0f tokens/s), transformers %.1f captions/s (%d tokens); "
                  "first caption's relative L2 difference %.2g" % (r, nt5_rates[-1], s["tokens_per_s"], hf_rates[-1],
                                                                   tokens, err), flush=True)
        row = {"captions": args.count, "tokens": tokens, "batch_size": args.batch_size,
               "sort_window": args.sort_window, "threads": args.threads,
               "nt5_captions_per_s": statistics.median(nt5_rates), "hf_captions_per_s": statistics.median(hf_rates),
               "nt5_over_hf": statistics.median(ratios), "rounds": args.rounds, "relative_l2_first_caption": err}
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    result = {"date": datetime.date.today().isoformat(), "commit": commit, "machine": machine(),
              "torch": torch.__version__, "transformers": transformers.__version__, "corpus": row}
    path = common.result_path(args.out, "corpus-%s-%s" % (result["date"], commit))
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps(row, indent=1))
    print("wrote", path)


if __name__ == "__main__":
    main()
