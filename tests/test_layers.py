#!/usr/bin/env python3
"""The layer rules (impl/layers.py): the tree follows them, and the check
bites: a copy of the tree with an include against the table, an include
cycle, a bare-name include and a public call below impl/api is refused,
each named. usage: test_layers.py SOURCE_ROOT"""
import os
import shutil
import subprocess
import sys
import tempfile

root = sys.argv[1]
layers = os.path.join(root, "impl", "layers.py")
failures = 0


def run(tree):
    p = subprocess.run([sys.executable, layers, "check", tree], capture_output=True, text=True)
    return p.returncode, p.stdout


def expect(cond, what):
    global failures
    print(("ok   " if cond else "FAIL ") + what)
    failures += 0 if cond else 1


code, out = run(root)
print(out, end="")
expect(code == 0, "the tree follows impl/layers.py")

# the same check on a copy (its sources and the ABI headers) with four faults added
sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.dirname(layers))
import layers as table  # noqa: E402

with tempfile.TemporaryDirectory() as tmp:
    for f in table.tracked_sources(root):
        os.makedirs(os.path.join(tmp, os.path.dirname(f)), exist_ok=True)
        shutil.copy(os.path.join(root, f), os.path.join(tmp, f))

    def append(path, text):
        with open(os.path.join(tmp, path), "a") as out:
            out.write(text)

    append("impl/model/config.c", '\n#include "generate/generate.h"\n')        # model -> generate: against the table
    append("impl/format/weight_names.h", '\n#include "format/checkpoint.h"\n')  # checkpoint.c includes weight_names.h
    append("impl/base/utf8.c", '\n#include "error.h"\n')                        # a bare name inside impl
    append("impl/forward/encode.c", "\nconst char *version_of_forward(void) { return nt5_version(); }\n")
    code, out = run(tmp)
    print(out, end="")
    expect(code == 1, "a tree with faults fails the check")
    expect('impl/model/config.c: #include "generate/generate.h": model may not include generate' in out,
           "an include against the table is named")
    expect("include cycle: impl/format/checkpoint -> impl/format/weight_names" in out, "an include cycle is named")
    expect('impl/base/utf8.c: #include "error.h": name its layer ("base/error.h")' in out,
           "a bare-name include is named")
    expect("impl/forward/encode.c: calls the public nt5_version() below impl/api" in out,
           "a public call below impl/api is named")
print(f"layers: {failures} failed")
sys.exit(1 if failures else 0)
