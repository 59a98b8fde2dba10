#!/usr/bin/env python3
"""nt5 encode --input FILE --output DIR, the corpus encoder, through the tool:

- COUNT generated captions (repeats among them) encode, shard by shard, to
  exactly what one nt5_encode_texts call per caption gives (corpus_check, bit
  for bit at f32), and the summary counts them;
- a run killed with SIGKILL at three random points and restarted ends with
  the same shards and index as the uninterrupted run, and no temporaries;
- Ctrl-C (SIGINT) stops with 130 and says how to resume;
- standard input, JSON lines (--field), fixed-length presets (f16, bf16, no
  mask) give the same guarantees, and so do batches encoded two at once
  (--parallel-batches), whose output is that of one at a time with the same
  threads per batch; bad lines fail the run with their line
  number, or are indexed as skipped with --on-error skip;
- a resumed run with other options or another input is refused, a complete
  run is left alone.

usage: test_corpus.py NT5 DATA_DIR CORPUS_CHECK COUNT"""
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

nt5, data, checker, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
model = os.path.join(data, "t5-v1_1-tiny")
failures = []


def expect(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


WORDS = ("a the photo of cat dog red blue green house tree under over painting with light shadow "
         "portrait landscape café naïve straße 東京 夜 río über").split()


def captions(n, seed):
    """n captions of 1 to 30 words; about one in twenty repeats an earlier one."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        if out and rng.random() < 0.05:
            out.append(rng.choice(out))
        else:
            out.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 30))))
    return out


def write_lines(path, lines):
    with open(path, "wb") as f:
        for line in lines:
            f.write((line if isinstance(line, bytes) else line.encode()) + b"\n")


def encode(*args, **kw):
    return subprocess.run([nt5, "encode", model, *args], capture_output=True, **kw)


def start(*args):
    return subprocess.Popen([nt5, "encode", model, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def outputs(d):
    """What a run wrote: every shard's and the index's bytes, the manifest without its timing."""
    files = {}
    for name in sorted(os.listdir(d)):
        with open(os.path.join(d, name), "rb") as f:
            files[name] = f.read()
    manifest = json.loads(files.pop("manifest.json"))
    manifest.get("totals", {}).pop("seconds", None)
    return files, manifest


def check(inp, d):
    r = subprocess.run([checker, model, inp, d], capture_output=True, text=True)
    return r.returncode == 0, (r.stdout + r.stderr).strip().splitlines()[-1:]


def temporaries(d):
    return [n for n in os.listdir(d) if ".tmp." in n]


def shards(d):
    return len([n for n in os.listdir(d) if n.endswith(".safetensors")]) if os.path.isdir(d) else 0


def wait_for(ready, proc, seconds=120):
    """waits until ready() or proc ends or seconds pass; ready()"""
    end = time.time() + seconds
    while not ready() and proc.poll() is None and time.time() < end:
        time.sleep(0.01)
    return ready()


with tempfile.TemporaryDirectory() as tmp:
    caps = captions(count, 1)
    inp = os.path.join(tmp, "captions.txt")
    write_lines(inp, caps)
    opts = ["--input", inp, "--shard-size", str(max(count // 7, 50)), "--sort-window", "400", "--batch-size", "16"]

    # 1. the whole corpus against single calls
    ref = os.path.join(tmp, "ref")
    t0 = time.time()
    r = encode(*opts, "--output", ref, "--json")
    seconds = time.time() - t0
    summary = json.loads(r.stdout or b"{}")
    distinct = len(set(caps))
    expect(r.returncode == 0, "a corpus of %d captions encodes (%.1f s): %s" % (count, seconds, r.stderr.decode()[-300:]))
    expect(summary.get("lines") == count and summary.get("encoded") == distinct and
           summary.get("duplicates") == count - distinct and summary.get("skipped") == 0,
           "the summary counts %d lines, %d distinct, %d repeats: %s" % (count, distinct, count - distinct, summary))
    ok, said = check(inp, ref)
    expect(ok, "every row equals a single nt5_encode_texts call, bit for bit; every caption has one row: %s" % said)
    ref_files, ref_manifest = outputs(ref)
    expect(ref_manifest.get("complete") is True and len([n for n in ref_files if n.startswith("shard-")]) >= 7,
           "the manifest says complete; %d shards" % len([n for n in ref_files if n.startswith("shard-")]))

    # 2. killed three times at random points, resumed: each run is killed at a
    # random time within the shard after the first it completes, so that the
    # kills land whatever the machine's load
    killed_dir = os.path.join(tmp, "killed")
    rng, kills = random.Random(7), []
    per_shard = seconds / shards(ref)
    for _ in range(3):
        before = shards(killed_dir)
        p = start(*opts, "--output", killed_dir)
        wait_for(lambda: shards(killed_dir) > before, p)
        time.sleep(rng.uniform(0.0, 0.9) * per_shard)
        if p.poll() is None:
            p.kill()
            kills.append(shards(killed_dir))
        p.communicate()
    r = encode(*opts, "--output", killed_dir)
    expect(len(kills) == 3, "SIGKILL landed during %d of 3 runs (complete shards then: %s)" % (len(kills), kills))
    expect(r.returncode == 0 and (b"resuming" in r.stderr or b"complete already" in r.stdout),
           "the run after the kills resumes and completes (or finds the last one completed)")
    expect(outputs(killed_dir) == (ref_files, ref_manifest), "after SIGKILLs: the same shards, index and manifest")
    expect(not temporaries(killed_dir), "no temporary left")

    # 3. a complete run is left alone; other options or another input are refused
    r = encode(*opts, "--output", ref)
    expect(r.returncode == 0 and b"complete already" in r.stdout, "running a complete run again does nothing")
    r = encode(*opts[:-1], "8", "--output", ref)
    expect(r.returncode == 1 and b"another options" in r.stderr, "other options on a run's directory are refused: %s"
           % r.stderr.decode().strip())
    small = os.path.join(tmp, "small.txt")
    write_lines(small, caps[:2000])
    small_opts = ["--shard-size", "200", "--sort-window", "100"]
    partial = os.path.join(tmp, "partial")
    p = start("--input", small, "--output", partial, *small_opts)
    reached = wait_for(lambda: os.path.exists(os.path.join(partial, "shard-00001.safetensors")), p)
    p.kill()
    p.communicate()
    changed = os.path.join(tmp, "changed.txt")
    write_lines(changed, ["something else"] + caps[1:2000])
    r = encode("--input", changed, "--output", partial, *small_opts)
    expect(reached and r.returncode == 1 and b"is it the same input" in r.stderr,
           "resuming with another input is refused: %s" % r.stderr.decode().strip())

    # 4. Ctrl-C, then standard input
    interrupted = os.path.join(tmp, "interrupted")
    p = start("--input", small, "--output", interrupted, *small_opts)
    wait_for(lambda: os.path.exists(os.path.join(interrupted, "shard-00000.safetensors")), p)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate()
    expect(p.returncode == 130 and b"resumes" in err and not temporaries(interrupted),
           "Ctrl-C: exit 130, no temporary, says how to resume (%s)" % p.returncode)
    r = encode("--input", small, "--output", interrupted, *small_opts)
    whole = os.path.join(tmp, "whole")
    encode("--input", small, "--output", whole, *small_opts)
    expect(r.returncode == 0 and outputs(interrupted) == outputs(whole), "resumed after Ctrl-C: the same output")
    piped = os.path.join(tmp, "piped")
    with open(small, "rb") as f:
        r = encode("--input", "-", "--output", piped, *small_opts, stdin=f)
    piped_files, piped_manifest = outputs(piped)
    expect(r.returncode == 0 and piped_files == outputs(whole)[0], "standard input: the same shards and index")

    # 5. batches encoded at once, each on its share of the threads
    runs = {}
    for threads, parallel in (("1", "1"), ("2", "2"), ("2", "1")):
        d = os.path.join(tmp, "threads-%s-parallel-%s" % (threads, parallel))
        r = encode("--input", small, "--output", d, *small_opts, "--threads", threads, "--parallel-batches", parallel)
        runs[threads, parallel] = outputs(d) if r.returncode == 0 else None
    one, two = runs["1", "1"], runs["2", "2"]
    expect(one is not None and one == two and one[1]["options"]["threads_per_batch"] == 1,
           "two batches at once on a thread each: the output of one at a time on one thread")
    wide = os.path.join(tmp, "threads-2-parallel-1")
    ok, said = check(small, wide)
    expect(runs["2", "1"] is not None and runs["2", "1"][1]["options"]["threads_per_batch"] == 2 and ok,
           "one batch at a time on 2 threads: threads_per_batch 2, every row equals a single call on 2: %s" % said)

    # 6. JSON lines and bad lines
    jsonl = os.path.join(tmp, "captions.jsonl")
    lines = [json.dumps({"id": i, "caption": c}, ensure_ascii=False).encode() for i, c in enumerate(caps[:500])]
    bad = {10: b'{"id": 10}', 20: b"not json", 30: b'{"caption": 5}',
           40: b'{"caption": "bad \xff\xfe utf-8"}', 50: b'["caption"]'}
    for n, line in bad.items():
        lines[n - 1] = line
    write_lines(jsonl, lines)
    r = encode("--input", jsonl, "--field", "caption", "--output", os.path.join(tmp, "jfail"))
    expect(r.returncode == 1 and b"line 10:" in r.stderr, "a bad line fails the run with its number: %s"
           % r.stderr.decode().strip().splitlines()[-1:])
    jdir = os.path.join(tmp, "jskip")
    r = encode("--input", jsonl, "--field", "caption", "--output", jdir, "--on-error", "skip", "--json")
    index = [json.loads(l) for l in open(os.path.join(jdir, "index.jsonl"))]
    skipped = {e["line"]: e["error"] for e in index if "error" in e}
    expect(r.returncode == 0 and sorted(skipped) == sorted(bad), "--on-error skip indexes the bad lines: %s" % skipped)
    expect(json.loads(r.stdout).get("skipped") == len(bad), "the summary counts them")
    ok, said = check(jsonl, jdir)
    expect(ok, "JSON lines: every row equals a single call: %s" % said)
    text_bad = os.path.join(tmp, "bad.txt")
    write_lines(text_bad, [b"fine", b"bad \xc3\x28 utf-8", b"nul \x00 byte", b"also fine"])
    r = encode("--input", text_bad, "--output", os.path.join(tmp, "tbad"), "--on-error", "skip")
    index = [json.loads(l) for l in open(os.path.join(tmp, "tbad", "index.jsonl"))]
    expect(r.returncode == 0 and [("error" in e) for e in index] == [False, True, True, False],
           "text lines with invalid UTF-8 or a NUL byte are skipped: %s" % [e.get("error") for e in index])

    # 7. fixed lengths, 16-bit output, no mask
    fixed_in = os.path.join(tmp, "fixed.txt")
    write_lines(fixed_in, caps[:300])
    for preset, dtype in (("pixart", "bf16"), ("flux", "f16"), ("wan", "f32")):
        d = os.path.join(tmp, preset)
        r = encode("--input", fixed_in, "--output", d, "--preset", preset, "--dtype", dtype, "--shard-size", "100")
        ok, said = check(fixed_in, d)
        expect(r.returncode == 0 and ok, "--preset %s --dtype %s: every row equals a single call: %s"
               % (preset, dtype, said))
    r = encode("--input", fixed_in, "--output", os.path.join(tmp, "nomask"), "--no-mask")
    expect(r.returncode == 2 and b"--pad-to-max" in r.stderr, "--no-mask without fixed padding is refused")

print("%d failed" % len(failures))
sys.exit(1 if failures else 0)
