#!/usr/bin/env python3
"""Encodes a file of captions with nt5 on a Ray cluster (nt5.ray.Encoder, one model per actor).

Input: Parquet with a text column, or JSON lines ({"text": ...} per line). Output, -o OUT:
  --format parquet  Ray's Parquet files: the input columns, `line` (1-based), hidden_states,
                    lengths, token_ids (nt5.ray.Encoder's columns)
  --format shards   the nt5 tool's shard layout: shard-00000.safetensors ... each holding
                    hidden_states [n, seq, d_model] (F32/F16/BF16), lengths I64 [n] and
                    token_ids I32 [n, seq] (positions past a caption's length zero unless the
                    padding is fixed); index.jsonl, one object per input line in order,
                    {"line", "sha256" (of the UTF-8 text), "shard", "row", "length"}; and
                    manifest.json. Each shard is one batch of --batch-size captions, written by
                    the actor that encoded it (the hidden states never travel to this driver;
                    on a cluster of several machines OUT must be a shared file system).

Batches are --batch-size consecutive captions, whatever the cluster: with the same threads
per actor the output has the bits of nt5.Model.encode over the same batches in one process.
Actors that die are restarted and their batches retried (--max-restarts); a retried batch
rewrites its own shard, so nothing is lost or written twice.

  python examples/ray_encode.py captions.jsonl -o out --model google/t5-v1_1-xxl --preset flux \\
      --dtype bf16 --actors 8 --gpus-per-actor 1          # one actor per GPU
"""
import argparse
import hashlib
import json
import os
import struct
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import ray

import nt5.ray

SAFETENSORS_DTYPES = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16", np.dtype(np.uint16): "BF16",
                      np.dtype(np.int64): "I64", np.dtype(np.int32): "I32"}  # uint16: bf16 bits (nt5.ray)
BLOCK_BATCHES = 16  # batches per Ray block: blocks hold whole batches, so batches never straddle two


def write_safetensors(path, tensors, metadata=None):
    """A safetensors file with NumPy alone: an 8-byte little-endian header length, the JSON
    header (tensor name -> dtype, shape, byte range; padded to 8 bytes), then the bytes.
    Written under a temporary name and renamed: a file there is always whole."""
    header, offset = {"__metadata__": metadata or {}}, 0
    arrays = {name: np.ascontiguousarray(a) for name, a in tensors.items()}
    for name, a in arrays.items():
        header[name] = {"dtype": SAFETENSORS_DTYPES[a.dtype], "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for a in arrays.values():
            f.write(a.reshape(-1).view(np.uint8).data)
    os.replace(path + ".tmp", path)


def read_captions(path, text_column):
    """[line, text] table: Parquet rows are lines 1..n; JSON lines keep their line numbers."""
    if path.endswith(".parquet"):
        texts = pq.read_table(path, columns=[text_column]).column(text_column).to_pylist()
        return pa.table({"line": np.arange(1, len(texts) + 1), text_column: texts})
    lines, texts = [], []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                lines.append(n)
                texts.append(json.loads(line)[text_column])
    return pa.table({"line": np.array(lines, dtype=np.int64), text_column: texts})


def dataset(table, batch_size):
    """The captions as Ray blocks of whole batches (BLOCK_BATCHES of batch_size rows each)."""
    block = batch_size * BLOCK_BATCHES
    return ray.data.from_arrow([table.slice(i, block) for i in range(0, table.num_rows, block)])


class ShardEncoder(nt5.ray.Encoder):
    """nt5.ray.Encoder that writes each batch as a part file named by its first line, and
    returns only the index columns."""

    def __init__(self, out_dir, **kwargs):
        super().__init__(**kwargs)
        self.out_dir = out_dir

    def __call__(self, batch):
        out = super().__call__(batch)
        if not (self.encode_options.get("preset") or self.encode_options.get("padding") == "max_length"):
            # padded to the batch's longest: positions past a caption's length are zero, as the tool writes them
            out["hidden_states"] = np.array(out["hidden_states"])
            for r, length in enumerate(out["lengths"]):
                out["hidden_states"][r, length:] = 0
        part = "part-%012d.safetensors" % out["line"][0]
        write_safetensors(os.path.join(self.out_dir, part),
                          {k: out[k] for k in ("hidden_states", "lengths", "token_ids")})
        n = len(out["line"])
        return {"line": out["line"], "length": out["lengths"], "part": np.array([part] * n), "row": np.arange(n),
                "sha256": np.array([hashlib.sha256(t.encode()).hexdigest() for t in batch[self.text_column]])}


def finish_shards(out_dir, index, expected_lines, manifest):
    """Names the parts shard-00000... in line order, writes index.jsonl and manifest.json, and
    removes what failed attempts left. Fails unless every line is there exactly once."""
    order = np.argsort(index["line"], kind="stable")
    index = {k: v[order] for k, v in index.items()}
    if not np.array_equal(index["line"], expected_lines):
        raise RuntimeError("the index does not hold every input line once (%d rows for %d lines)"
                           % (len(index["line"]), len(expected_lines)))
    parts = sorted(set(index["part"].tolist()))  # zero-padded first lines: in line order
    shard_of = {p: k for k, p in enumerate(parts)}
    for part, k in shard_of.items():
        os.replace(os.path.join(out_dir, part), os.path.join(out_dir, "shard-%05d.safetensors" % k))
    for name in os.listdir(out_dir):
        if name.startswith("part-"):
            os.remove(os.path.join(out_dir, name))
    with open(os.path.join(out_dir, "index.jsonl"), "w", encoding="utf-8") as f:
        for line, sha, part, row, length in zip(index["line"], index["sha256"], index["part"], index["row"],
                                                index["length"]):
            f.write(json.dumps({"line": int(line), "sha256": str(sha), "shard": shard_of[part], "row": int(row),
                                "length": int(length)}) + "\n")
    with open(os.path.join(out_dir, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(dict(manifest, shards=len(parts), rows=len(index["line"]), complete=True), f, indent=2)


def run(args, encoder=None):
    """Encodes args.captions into args.output on the Ray cluster this process is connected to,
    with `encoder` (ShardEncoder or nt5.ray.Encoder by default) in the actors; returns the number
    of captions."""
    table = read_captions(args.captions, args.text_column)
    options = {k: getattr(args, k) for k in ("preset", "dtype", "max_length", "zero_padding", "device", "threads")
               if getattr(args, k) is not None}
    kwargs = dict(options, model=args.model, text_column=args.text_column)
    if args.format == "shards":
        kwargs["out_dir"] = os.path.abspath(args.output)
    resources = {"num_gpus": args.gpus_per_actor} if args.gpus_per_actor else {"num_cpus": args.cpus_per_actor}
    os.makedirs(args.output, exist_ok=True)
    ds = dataset(table, args.batch_size).map_batches(
        encoder or (ShardEncoder if args.format == "shards" else nt5.ray.Encoder), fn_constructor_kwargs=kwargs,
        batch_size=args.batch_size, compute=ray.data.ActorPoolStrategy(size=args.actors), **resources,
        max_restarts=args.max_restarts, max_task_retries=-1)  # remote args: a dead actor's batch goes again
    if args.format == "parquet":
        ds.write_parquet(args.output)
        return table.num_rows
    columns = {}
    for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):  # the small index columns only
        for k, v in batch.items():
            columns.setdefault(k, []).append(v)
    finish_shards(args.output, {k: np.concatenate(v) for k, v in columns.items()}, table.column("line").to_numpy(),
                  {"format": "nt5-shards", "model": args.model, "source": os.path.abspath(args.captions),
                   "options": dict(options, text_column=args.text_column), "batch_size": args.batch_size,
                   "nt5": nt5.version()})
    return table.num_rows


def parser():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("captions", help="a .parquet file, or JSON lines")
    ap.add_argument("-o", "--output", required=True, help="output directory")
    ap.add_argument("--model", required=True, help="directory, file or Hub reference")
    ap.add_argument("--format", choices=["parquet", "shards"], default="shards")
    ap.add_argument("--text-column", default="text")
    ap.add_argument("--preset", choices=["flux", "sd3", "pixart", "wan"])
    ap.add_argument("--dtype", choices=["f32", "f16", "bf16"])
    ap.add_argument("--max-length", type=int)
    ap.add_argument("--zero-padding", action="store_true", default=None,
                    help="zero the hidden states past each caption's length (as nt5 encode --input does)")
    ap.add_argument("--device", help="auto (default), cpu, cuda")
    ap.add_argument("--threads", type=int, help="CPU threads per actor (default: its --cpus-per-actor)")
    ap.add_argument("--batch-size", type=int, default=64, help="captions per nt5 call (and per shard)")
    ap.add_argument("--actors", type=int, default=1, help="model copies: one per GPU, or per CPU group")
    ap.add_argument("--gpus-per-actor", type=float, default=0, help="1: one actor per GPU")
    ap.add_argument("--cpus-per-actor", type=float, default=1)
    ap.add_argument("--max-restarts", type=int, default=3, help="restarts of an actor that dies")
    ap.add_argument("--address", help="the Ray cluster (default: RAY_ADDRESS, else a local one)")
    return ap


def main(argv=None):
    args = parser().parse_args(argv)
    ray.init(address=args.address)
    start = time.perf_counter()
    n = run(args)
    seconds = time.perf_counter() - start
    print("%d captions in %.1f s: %.1f captions/s" % (n, seconds, n / seconds), file=sys.stderr)


if __name__ == "__main__":
    main()
