#!/usr/bin/env python3
"""Accuracy of each GGUF weight type for nt5 and for llama.cpp reading the same
file, against Hugging Face transformers in fp32 on the weights the files were
made from, for each model of --models: the random shapes of cpu_vs_hf.py
(t5-v1_1-small, t5-v1_1-base; umt5-small's layers on the T5 vocabulary, as
the genuine 256k-piece umt5 tokenizer is not at hand offline) and the
fixtures of ../shared/fixtures by name (t5-v1_1-tiny, umt5-tiny, ...), each
converted by cpu_vs_llamacpp.py into every type of TYPES (also
llama-quantize's Q5_K_M and Q4_K_M mixes; rows that are not whole blocks of
a type take llama-quantize's fallback, and nt5's, on the tiny fixtures):
  enc   relative L2 error of the encoder hidden states, all prompts together
  logits relative L2 error of the teacher-forced logits ([start] + fp32's
        greedy tokens), all prompts together (nt5 through its experimental
        nt5_teacher_forced_logits)
  exact prompts whose NEW greedy tokens all equal fp32's (</s> forbidden, so
        every sequence has NEW tokens)
  prefix mean share of the leading tokens equal to fp32's
The prompts are texts tokenized with the model's spiece.model (the genuine T5
one for the random shapes), </s> last.
nt5 runs through its Python binding (NT5_LIB), with --weight-dtype taken from
cpu_vs_llamacpp.NT5_WEIGHT_DTYPE and the same fallback to `auto`; llama.cpp
through bench/llama_driver.c's dumps. One table, also written as JSON to
bench/results/quant-accuracy-<date>-<commit>.json.

usage: /usr/bin/python3 bench/quant_accuracy.py [--nt5-lib build/libnt5.so] [--threads 2] [--new-tokens 16]
                                               [--models t5-v1_1-small,t5-v1_1-base,umt5-small,t5-v1_1-tiny,umt5-tiny]
"""
import ctypes
import datetime
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import sentencepiece
import torch
import transformers

import common
import cpu_vs_llamacpp as bench

TYPES = ["f32", "f16", "bf16", "q8_0", "q6_k", "q5_k", "q4_k", "q5_k_m", "q4_k_m"]
FIXTURES = os.path.join(common.ROOT, "..", "shared", "fixtures")
PROMPTS = [
    "translate English to German: The house is wonderful.",
    "summarize: The tower is 324 metres tall, about the same height as an 81-storey building, and the tallest "
    "structure in Paris. Its base is square, measuring 125 metres on each side.",
    "question: What is the capital of France? context: Paris is the capital and most populous city of France.",
    "cola sentence: The course is jumping well.",
    "translate English to French: A photo of a cat sitting on a red chair in the garden.",
    "stsb sentence1: A man is playing the flute. sentence2: A man is playing a flute.",
    "a watercolor painting of a lighthouse on a cliff at sunset, with seagulls and crashing waves",
    "Write a short story about a robot who learns to paint.",
]


def rel_l2(a, b):
    a, b = np.concatenate([x.ravel() for x in a]), np.concatenate([x.ravel() for x in b])
    return float(np.linalg.norm(a.astype(np.float64) - b) / np.linalg.norm(b.astype(np.float64)))


def agreement(got, want):
    exact = sum(list(g) == list(w) for g, w in zip(got, want)) / len(want)
    prefix = []
    for g, w in zip(got, want):
        n = next((i for i, (x, y) in enumerate(zip(g, w)) if x != y), len(w))
        prefix.append(n / len(w))
    return exact, float(np.mean(prefix))


def reference(hf_dir, prompts, new_tokens):
    """HF fp32: hidden states, greedy tokens, teacher-forced logits per prompt."""
    model = transformers.AutoModelForSeq2SeqLM.from_pretrained(hf_dir).eval()
    enc, greedy, logits = [], [], []
    with torch.inference_mode():
        for ids in prompts:
            x = torch.tensor([ids])
            enc.append(model.encoder(input_ids=x).last_hidden_state[0].numpy())
            out = model.generate(input_ids=x, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                                 num_beams=1)[0, 1:].tolist()
            greedy.append(out)
            dec = torch.tensor([[model.config.decoder_start_token_id] + out[:-1]])
            logits.append(model(input_ids=x, decoder_input_ids=dec).logits[0].numpy())
    return enc, greedy, logits


def teacher_forced(lib, model, ids, teacher, vocab):
    """nt5's teacher-forced logits [len(teacher), vocab] (nt5_experimental.h: not in the binding)."""
    f = lib.nt5_teacher_forced_logits
    i32 = ctypes.POINTER(ctypes.c_int32)
    f.restype = ctypes.c_int
    f.argtypes = [ctypes.c_void_p, i32, ctypes.c_size_t, i32, ctypes.c_size_t, ctypes.POINTER(ctypes.c_float),
                  ctypes.c_size_t]
    a, t = np.array(ids, np.int32), np.array(teacher, np.int32)
    out = np.empty((len(t), vocab), np.float32)
    import nt5
    nt5._native.check(f(ctypes.cast(model, ctypes.c_void_p), a.ctypes.data_as(i32), len(a), t.ctypes.data_as(i32),
                        len(t), out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), out.size))
    return out


def nt5_run(path, dtype, prompts, teachers, new_tokens, threads):
    """nt5's hidden states, greedy tokens and teacher-forced logits, and the dtype it was opened with."""
    import nt5
    from nt5 import _lib, _model
    try:
        m, used = nt5.Model(path, weight_dtype=dtype, threads=threads), dtype
    except nt5.Error:  # a weight dtype this nt5 does not know yet
        m, used = nt5.Model(path, weight_dtype=bench.FALLBACK_DTYPE, threads=threads), bench.FALLBACK_DTYPE
    lib = nt5._native.lib()
    g = _lib.nt5_generate_options()
    lib.nt5_generate_options_init(ctypes.byref(g), ctypes.sizeof(g))
    g.max_new_tokens = g.min_new_tokens = new_tokens
    info = _lib.nt5_model_info()
    info.struct_size = ctypes.sizeof(info)
    nt5._native.check(lib.nt5_model_get_info(m._model, ctypes.byref(info)))
    enc, greedy, logits = [], [], []
    for ids, teacher in zip(prompts, teachers):
        a, n = np.array(ids, np.int32), (ctypes.c_size_t * 1)(len(ids))
        e = ctypes.POINTER(_lib.nt5_embeddings)()
        nt5._native.check(lib.nt5_encode_ids(m._model, _model._int32s(a), n, 1, None, ctypes.byref(e)))
        enc.append(np.array(_model._embeddings(e).hidden_states[0]))
        out = ctypes.POINTER(_lib.nt5_generation)()
        nt5._native.check(lib.nt5_generate_ids(m._model, _model._int32s(a), n, 1, ctypes.byref(g), ctypes.byref(out)))
        greedy.append(_model._sequence(out, 0).ids.tolist())
        lib.nt5_generation_free(out)
        logits.append(teacher_forced(lib, m._model, ids, teacher, info.vocab_size))
    m.close()
    return enc, greedy, logits, used


def llama_run(driver, path, prompts, teacher, new_tokens, threads, tmp):
    """llama.cpp's hidden states, greedy tokens and teacher-forced logits."""
    files = {k: os.path.join(tmp, k) for k in ("ids.txt", "teacher.txt", "enc.bin", "logits.bin")}
    for name, rows in (("ids.txt", prompts), ("teacher.txt", [t[:-1] for t in teacher])):
        with open(files[name], "w") as f:
            f.writelines(" ".join(map(str, r)) + "\n" for r in rows)
    for k in ("enc.bin", "logits.bin"):
        if os.path.exists(files[k]):
            os.remove(files[k])
    out = subprocess.run([driver, "--model", path, "--ids", files["ids.txt"], "--threads", str(threads),
                          "--new-tokens", str(new_tokens), "--repeat", "1", "--warmup", "0",
                          "--dump-encoder", files["enc.bin"], "--teacher", files["teacher.txt"],
                          "--dump-logits", files["logits.bin"]], check=True, capture_output=True, text=True).stdout
    r = json.loads(out)
    enc_all, logits_all = np.fromfile(files["enc.bin"], np.float32), np.fromfile(files["logits.bin"], np.float32)
    enc, logits, e, l = [], [], 0, 0
    for ids, t in zip(prompts, teacher):
        enc.append(enc_all[e:e + len(ids) * r["n_embd"]].reshape(len(ids), -1))
        logits.append(logits_all[l:l + len(t) * r["n_vocab"]].reshape(len(t), -1))
        e, l = e + enc[-1].size, l + logits[-1].size
    return enc, [x["tokens"] for x in r["inputs"]], logits


def main():
    ap = common.parser(__doc__, nt5=False)
    ap.add_argument("--nt5-lib", default=os.path.join(common.ROOT, "build", "libnt5.so"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--new-tokens", type=int, default=16)
    ap.add_argument("--models", default="t5-v1_1-small", help="comma-separated: random shapes and fixture names")
    args = ap.parse_args()
    os.environ["NT5_LIB"] = args.nt5_lib
    sys.path.insert(0, os.path.join(common.ROOT, "bindings", "python"))
    tree, build = bench.llama_cpp()
    sys.path.insert(0, os.path.join(tree, "gguf-py"))
    rows = []
    with tempfile.TemporaryDirectory(prefix="nt5-accuracy-") as tmp:
        for name in args.models.split(","):
            fixture = os.path.join(FIXTURES, name)
            if os.path.isdir(fixture):
                files, hf_dir = bench.gguf_models(name, TYPES, tree, build, fixture), fixture
                spiece = os.path.join(fixture, "spiece.model")
            else:
                files, spiece = bench.gguf_models(name, TYPES, tree, build), bench.SPIECE
                hf_dir = os.path.join(os.path.dirname(files["f32"]), "hf")
            rows += measure(args, tree, build, name, files, hf_dir, spiece, tmp)
    commit = common.git_commit(common.ROOT)
    result = dict(date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), commit=commit,
                  machine=bench.cpu_vs_hf.machine(), threads=args.threads, new_tokens=args.new_tokens,
                  models=args.models.split(","), prompts=PROMPTS, reference=f"transformers {transformers.__version__} fp32, torch {torch.__version__}",
                  llama_cpp=dict(llama_cpp_python=bench.LLAMA_CPP_PYTHON, commit=common.git_commit(tree)), rows=rows)
    path = common.result_path(args.out, f"quant-accuracy-{datetime.date.today().isoformat()}-{commit}")
    with open(path, "w") as f:
        json.dump(result, f, indent=2)
    print("wrote", path)


def measure(args, tree, build, name, files, hf_dir, spiece, tmp):
    """Model `name`'s rows of the table, printed as they come."""
    driver, _ = bench.compile_tools(tree, build, tmp)
    sp = sentencepiece.SentencePieceProcessor(model_file=spiece)
    prompts = [sp.encode(p) + [1] for p in PROMPTS]
    torch.set_num_threads(args.threads)
    ref_enc, ref_greedy, ref_logits = reference(hf_dir, prompts, args.new_tokens)
    start = transformers.AutoConfig.from_pretrained(hf_dir).decoder_start_token_id
    teachers = [[start] + g[:-1] for g in ref_greedy]  # the reference's decoder_input_ids
    rows = []
    print(f"{'model':14s} {'file':7s} {'engine':9s} {'opened as':10s} {'enc rel L2':>11s} {'logits rel L2':>14s} "
          f"{'greedy exact':>13s} {'prefix':>7s}")
    for t in TYPES:
        enc, greedy, logits, used = nt5_run(files[t], bench.NT5_WEIGHT_DTYPE[t], prompts, teachers, args.new_tokens,
                                            args.threads)
        l_enc, l_greedy, l_logits = llama_run(driver, files[t], prompts, ref_greedy, args.new_tokens, args.threads,
                                              tmp)
        for engine, e, g, lg, opened in (("nt5", enc, greedy, logits, used), ("llama.cpp", l_enc, l_greedy, l_logits, t)):
            exact, prefix = agreement(g, ref_greedy)
            r = dict(model=name, file=t, engine=engine, opened_as=opened, fallback=engine == "nt5" and used != bench.NT5_WEIGHT_DTYPE[t],
                     enc_rel_l2=rel_l2(e, ref_enc), logits_rel_l2=rel_l2(lg, ref_logits) if lg else None,
                     greedy_exact=exact, greedy_prefix=prefix)
            rows.append(r)
            print(f"{name:14s} {t:7s} {engine:9s} {opened + (' (fb)' if r['fallback'] else ''):10s} {r['enc_rel_l2']:11.2e} "
                  f"{r['logits_rel_l2'] if lg else float('nan'):14.2e} {exact:13.2f} {prefix:7.2f}", flush=True)
    return rows


if __name__ == "__main__":
    sys.exit(main())
