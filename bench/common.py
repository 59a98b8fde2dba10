"""What the benchmark scripts share: the checkout's root, the commit, a
command line with the nt5 program and the results folder, and a results
file's name."""
import argparse
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NT5 = os.path.join(os.environ.get("NT5_BIN", os.path.join(ROOT, "build", "tools")), "nt5")


def git_commit(tree):
    """The short commit of a git tree ("" when it is none)."""
    return subprocess.run(["git", "-C", tree, "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip()


def parser(doc, nt5=True):
    """A command line described by a script's docstring, with --out (the results folder) and,
    unless nt5 is False, --nt5 (the tool: $NT5_BIN/nt5, else build/tools/nt5)."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    if nt5:
        ap.add_argument("--nt5", default=NT5)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    return ap


def result_path(out, stem):
    """out/stem.json, or stem-2.json, -3, ... when a run of the same day and commit wrote that."""
    os.makedirs(out, exist_ok=True)
    path, n = os.path.join(out, stem + ".json"), 1
    while os.path.exists(path):
        n += 1
        path = os.path.join(out, f"{stem}-{n}.json")
    return path
