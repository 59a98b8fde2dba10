#!/usr/bin/env python3
"""Runs the Python binding's pytest suite (bindings/python/tests) against the library just
built, under the Python in NT5_PYTHON (a venv with numpy and pytest; ml_dtypes optional; for
MODE ray also ray[data]), with the package from the source tree (PYTHONPATH).
  binding  everything but the Ray test
  ray      tests/test_ray.py: examples/ray_encode.py on a local 2-CPU Ray cluster
Skipped (77) when NT5_PYTHON is unset or lacks those modules, and in sanitized builds: the
library needs the ASan runtime loaded first, which a plain Python process does not have.
usage: test_python_binding.py MODE LIBNT5 NT5_TOOL SOURCE_DIR SANITIZE"""
import os
import subprocess
import sys

mode, sanitize = sys.argv[1], sys.argv[5]
libnt5, tool, src = (os.path.abspath(p) for p in sys.argv[2:5])  # pytest runs in bindings/python


def skip(reason):
    print("SKIP: " + reason)
    sys.exit(77)


if sanitize != "none":
    skip("a -Db_sanitize=%s libnt5 cannot be loaded by a plain Python process (its runtime must come first)"
         % sanitize)
py = os.environ.get("NT5_PYTHON")
if not py:
    skip("NT5_PYTHON is not set (a Python with numpy and pytest%s)" % (" and ray[data]" if mode == "ray" else ""))
modules = ["numpy", "pytest"] + (["ray", "pyarrow"] if mode == "ray" else [])
try:
    r = subprocess.run([py, "-c", "import " + ", ".join(modules)], capture_output=True, text=True, timeout=120)
except OSError as e:
    skip("cannot run NT5_PYTHON=%s (%s)" % (py, e))
if r.returncode != 0:
    skip("NT5_PYTHON=%s lacks one of %s: %s" % (py, ", ".join(modules), (r.stderr.strip().splitlines() or ["?"])[-1]))

package = os.path.join(src, "bindings", "python")
env = dict(os.environ, NT5_LIB=libnt5, NT5_TOOL=tool, NT5_TEST_DATA=os.path.join(src, "tests", "data"),
           PYTHONPATH=package, PYTHONDONTWRITEBYTECODE="1")
tests = ["tests/test_ray.py"] if mode == "ray" else ["tests", "--ignore=tests/test_ray.py"]
# -s: the Ray test prints its timings; -p no:cacheprovider: nothing written into the source tree
sys.exit(subprocess.run([py, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", "-s", *tests], cwd=package,
                        env=env).returncode)
