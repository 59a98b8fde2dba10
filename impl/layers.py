#!/usr/bin/env python3
"""The layers of nt5 and what each may include: the one table that the build
and the include check read (docs/ARCHITECTURE.md explains it).

A unit is a folder (or, for the backend contract, a few files); a file
belongs to the unit with the longest path that holds it. Includes name their
layer: "base/error.h" for impl/base/error.h, "hub/hub_cache.h",
"kernels/device/launch.h"; nt5.h and nt5_experimental.h are the ABI. Only
tools, tests and bindings include their own folder's headers by bare name.

  python3 impl/layers.py trees DIR       makes DIR/UNIT, for every unit, an
                                         include tree holding only what UNIT
                                         may include (symlinks), for the
                                         build's -I
  python3 impl/layers.py check [ROOT]    checks every include of the tracked C,
                                         C++ and CUDA sources against the table,
                                         that no file include cycle exists, and
                                         that nothing below impl/api calls a
                                         public nt5_* function; prints each
                                         fault, exits 1 on any
"""
import os
import re
import subprocess
import sys

# unit: (paths; folders end with "/", units whose headers it may include)
UNITS = {
    "abi": (["abi/"], []),
    "base": (["impl/base/"], ["abi"]),
    # what libnt5 and the CUDA module share: the ops table and its types, the
    # module handshake, and the relative-position buckets both backends compute
    "contract": (["impl/backend/backend.h", "impl/backend/cuda_module.h", "impl/backend/position_bias.h",
                  "impl/backend/position_bias.c"], ["abi"]),
    # ggml's weight blocks: layouts, quantizers, dequantizers
    "quant": (["impl/quant/"], ["abi", "base"]),
    "backend": (["impl/backend/"], ["abi", "base", "contract"]),
    "cpu": (["impl/backend/cpu/"], ["abi", "base", "contract", "backend", "quant"]),
    "format": (["impl/format/"], ["abi", "base", "quant"]),
    "tokenizer": (["impl/tokenizer/"], ["abi", "base"]),
    "model": (["impl/model/"], ["abi", "base", "contract", "backend", "cpu", "format", "quant", "tokenizer"]),
    "forward": (["impl/forward/"], ["abi", "base", "contract", "backend", "format", "quant", "tokenizer", "model"]),
    "generate": (["impl/generate/"], ["abi", "base", "contract", "backend", "format", "quant", "tokenizer", "model",
                                      "forward"]),
    "calibrate": (["impl/calibrate/"], ["abi", "base", "contract", "backend", "format", "quant", "tokenizer", "model",
                                        "forward", "generate"]),
    "api": (["impl/api/"], ["abi", "base", "contract", "backend", "format", "quant", "tokenizer", "model", "forward",
                            "generate", "calibrate", "hub"]),
    "hub": (["hub/"], ["abi", "base", "format"]),
    "kernels": (["kernels/"], ["abi", "contract"]),
    "tools": (["tools/"], ["abi"]),
    "bindings": (["bindings/"], ["abi"]),
    # benchmark drivers: programs of their own over other engines' headers
    "bench": (["bench/"], ["abi"]),
    # tests of internals see every layer; the ABI tests and their harness only the header
    "tests": (["tests/"], ["abi", "base", "contract", "backend", "cpu", "format", "quant", "tokenizer", "model", "forward",
                           "generate", "calibrate", "api", "hub", "tests-abi"]),
    "tests-abi": (["tests/harness.c", "tests/harness.h", "tests/install_app.c", "tests/test_abi.c",
                   "tests/test_bad_input.c", "tests/test_behaviour.c", "tests/test_cuda.c", "tests/test_cuda_module.c",
                   "tests/test_nt5_file.c"], ["abi"]),
}
# units whose files include each other by their layer's name, never by a bare name
QUALIFIED = {"base", "quant", "contract", "backend", "cpu", "format", "tokenizer", "model", "forward", "generate",
             "calibrate", "api", "hub", "kernels"}
# units where no public nt5_* function is defined or called
BELOW_API = QUALIFIED - {"api"}
SOURCE_EXTENSIONS = (".c", ".h", ".cc", ".cu", ".cuh")
ABI_HEADERS = {"nt5.h": "abi/nt5.h", "nt5_experimental.h": "abi/nt5_experimental.h"}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def unit_of(path):
    """The unit of a repository-relative path, or None."""
    best, best_len = None, -1
    for name, (paths, _) in UNITS.items():
        for p in paths:
            if (path == p or (p.endswith("/") and path.startswith(p))) and len(p) > best_len:
                best, best_len = name, len(p)
    return best


def include_name(path):
    """How others include a repository-relative header: impl/ is an include root, so is the repository."""
    if path in ABI_HEADERS.values():
        return os.path.basename(path)
    return path[len("impl/"):] if path.startswith("impl/") else path


def tracked_sources(root):
    """The C, C++ and CUDA files git tracks (or would), else every one under the units' folders."""
    try:
        out = subprocess.run(["git", "-C", root, "ls-files", "--cached", "--others", "--exclude-standard"],
                             capture_output=True, text=True, check=True).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        out = [os.path.relpath(os.path.join(d, f), root) for top in ("abi", "impl", "hub", "kernels", "tools",
                                                                     "tests", "bindings")
               for d, _, files in os.walk(os.path.join(root, top)) for f in files]
    return sorted(p for p in out if p.endswith(SOURCE_EXTENSIONS) and os.path.exists(os.path.join(root, p)))


def make_tree(unit, directory, sources, root=ROOT):
    """DIR/<include name> -> the header, for every header of the unit and of what it may include."""
    allowed = set(UNITS[unit][1]) | {unit}
    os.makedirs(directory, exist_ok=True)
    wanted = set()
    for path in sources:
        if path.endswith((".h", ".cuh")) and unit_of(path) in allowed:
            link = os.path.join(directory, include_name(path))
            wanted.add(os.path.normpath(link))
            os.makedirs(os.path.dirname(link), exist_ok=True)
            target = os.path.join(root, path)
            if os.path.islink(link) and os.readlink(link) == target:
                continue
            if os.path.lexists(link):
                os.unlink(link)
            os.symlink(target, link)
    for d, _, files in os.walk(directory):  # headers moved or removed since the last tree
        for f in files:
            if os.path.normpath(os.path.join(d, f)) not in wanted:
                os.unlink(os.path.join(d, f))


INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
COMMENTS = re.compile(r"/\*.*?\*/|//[^\n]*|\"(?:\\.|[^\"\\\n])*\"", re.S)


def resolve(path, name, root):
    """The repository path a quoted include names, or None."""
    if name in ABI_HEADERS:
        return ABI_HEADERS[name]
    if "/" not in name:
        local = os.path.join(os.path.dirname(path), name)
        return local if os.path.exists(os.path.join(root, local)) else None
    for candidate in ("impl/" + name, name):
        if os.path.exists(os.path.join(root, candidate)):
            return candidate
    return None


def module_of(path):
    """A .c/.cc/.cu and its header are one node of the cycle check."""
    return os.path.splitext(path)[0]


def find_cycles(edges):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def public_functions(root):
    """The functions abi/nt5.h and abi/nt5_experimental.h declare."""
    text = "".join(open(os.path.join(root, p)).read() for p in ABI_HEADERS.values())
    return set(re.findall(r"\b(nt5_[a-z0-9_]+)\s*\(", COMMENTS.sub("", text)))


def check(root=ROOT):
    faults = []
    edges = {}
    public = public_functions(root)
    for path in tracked_sources(root):
        unit = unit_of(path)
        if unit is None:
            faults.append(f"{path}: in no unit of impl/layers.py")
            continue
        text = open(os.path.join(root, path), encoding="utf-8", errors="replace").read()
        allowed = set(UNITS[unit][1]) | {unit}
        for name in INCLUDE.findall(text):
            target = resolve(path, name, root)
            if target is None:
                faults.append(f'{path}: #include "{name}" names no file of the tree')
                continue
            if "/" not in name and name not in ABI_HEADERS and unit in QUALIFIED:
                faults.append(f'{path}: #include "{name}": name its layer ("{include_name(target)}")')
            to = unit_of(target)
            if to not in allowed:
                faults.append(f'{path}: #include "{name}": {unit} may not include {to} (impl/layers.py)')
            if module_of(target) != module_of(path):
                edges.setdefault(module_of(path), set()).add(module_of(target))
        if unit in BELOW_API:
            code = COMMENTS.sub("", text)
            for call in sorted(set(re.findall(r"\b(nt5_[a-z0-9_]+)\s*\(", code)) & public):
                faults.append(f"{path}: calls the public {call}() below impl/api")
    for cycle in find_cycles(edges):
        faults.append("include cycle: " + " -> ".join(cycle))
    return faults


def main(argv):
    if len(argv) == 3 and argv[1] == "trees":
        sources = tracked_sources(ROOT)
        for unit in UNITS:
            make_tree(unit, os.path.join(argv[2], unit), sources)
        return 0
    if len(argv) in (2, 3) and argv[1] == "check":
        faults = check(argv[2] if len(argv) == 3 else ROOT)
        for f in faults:
            print(f)
        print(f"{len(faults)} fault(s)" if faults else "includes follow impl/layers.py")
        return 1 if faults else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
