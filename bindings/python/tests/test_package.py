"""pyproject.toml: pip installs the package (pure Python, no compiler) and the installed copy
works; its version is the library's; the README's example runs as written."""
import os
import re
import shutil
import subprocess
import sys

import pytest

import nt5
from nt5 import _lib
from conftest import ROOT

PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(nt5.__file__)))


def test_versions():
    """The package's version is the header's it was generated from, and the library's."""
    assert nt5.__version__ == "%d.%d.%d" % (_lib.NT5_VERSION_MAJOR, _lib.NT5_VERSION_MINOR, _lib.NT5_VERSION_PATCH)
    assert nt5.version() == nt5.__version__


def test_pip_install(tmp_path):
    setuptools = pytest.importorskip("setuptools")  # offline: the build backend must be here already
    if int(setuptools.__version__.split(".")[0]) < 71:  # earlier ones build wheels with the wheel package
        pytest.importorskip("wheel")
    src = tmp_path / "src"
    shutil.copytree(PACKAGE, src, ignore=shutil.ignore_patterns("__pycache__", "tests", "build", "*.egg-info"))
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-index",
                        "--no-build-isolation", "--no-deps", "--target", str(tmp_path / "site"), str(src)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert {"__init__.py", "_lib.py", "_model.py", "_native.py", "_stream.py", "ray.py"} <= set(
        os.listdir(tmp_path / "site" / "nt5"))
    assert os.path.isdir(tmp_path / "site" / ("nt5-%s.dist-info" % nt5.__version__))
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "site"))
    code = "import sys, nt5, nt5.ray; print(nt5.__file__, nt5.version(), 'ray' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=str(tmp_path),
                       timeout=120)
    assert r.returncode == 0, r.stderr
    # nt5.ray imports no Ray itself: Ray's workers have it
    assert r.stdout.split() == [str(tmp_path / "site" / "nt5" / "__init__.py"), nt5.version(), "False"]


def test_readme_example(tmp_path):
    with open(os.path.join(PACKAGE, "README.md"), encoding="utf-8") as f:
        example = re.search(r"```python\n(.*?)```", f.read(), re.S).group(1)
    (tmp_path / "example.py").write_text(example)
    env = dict(os.environ, NT5_LIB=nt5._native.lib()._name, PYTHONPATH=PACKAGE)
    r = subprocess.run([sys.executable, str(tmp_path / "example.py")], capture_output=True, text=True, env=env,
                       cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "shape (1, 11, 64) lengths [11]" and len(lines) == 2 and lines[1]
