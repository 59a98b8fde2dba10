"""Failures raise nt5.Error with the library's status and this thread's message; libnt5 is
found through NT5_LIB, then pkg-config, and its absence is said clearly."""
import os
import pickle
import shutil
import subprocess
import sys
import threading

import pytest

import nt5
from nt5 import _lib
from conftest import THREADS, TINY

PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(nt5.__file__)))


def status_of(call, *args, **kwargs):
    with pytest.raises(nt5.Error) as e:
        call(*args, **kwargs)
    assert e.value.message and e.value.status_name in str(e.value)
    return e.value.status


def test_bad_paths(tmp_path):
    with pytest.raises(nt5.Error) as e:
        nt5.Model(str(tmp_path / "missing"))
    assert e.value.status == _lib.NT5_ERR_NOT_FOUND and e.value.status_name == "NT5_ERR_NOT_FOUND"
    assert "missing" in e.value.message
    (tmp_path / "config.json").write_text("{not json")
    assert status_of(nt5.Model, tmp_path) == _lib.NT5_ERR_FORMAT  # os.PathLike is taken
    assert status_of(nt5.Model, TINY, tokenizer=str(tmp_path / "none")) in (_lib.NT5_ERR_NOT_FOUND, _lib.NT5_ERR_IO)


@pytest.mark.parametrize("text", [b"bad \xff", b"\xc3", "lone \udcff surrogate", "\ud800"])
def test_invalid_utf8(model, text):
    assert status_of(model.encode, ["fine", text]) == _lib.NT5_ERR_INVALID_ARG
    assert status_of(model.generate, text) == _lib.NT5_ERR_INVALID_ARG
    assert status_of(model.tokenize, text) == _lib.NT5_ERR_INVALID_ARG


def test_nul_byte(model):
    assert status_of(model.encode, "a\0b") == _lib.NT5_ERR_INVALID_ARG
    assert status_of(nt5.Model, TINY + "\0x") == _lib.NT5_ERR_INVALID_ARG


@pytest.mark.parametrize("call,kwargs,status", [
    ("generate", {"num_beams": 0}, _lib.NT5_ERR_INVALID_ARG),
    ("generate", {"top_p": 2.0}, _lib.NT5_ERR_INVALID_ARG),
    ("generate", {"num_beams": 2, "num_return_sequences": 3}, _lib.NT5_ERR_INVALID_ARG),
    ("generate", {"do_sample": True, "num_beams": 2}, _lib.NT5_ERR_UNSUPPORTED),
    ("encode", {"max_length": -1}, _lib.NT5_ERR_INVALID_ARG),
    ("encode", {"max_length": 3, "truncation": False}, _lib.NT5_ERR_TOO_LONG),
    ("encode", {"dtype": "auto"}, _lib.NT5_ERR_INVALID_ARG),
    ("encode", {"dtype": "f8"}, _lib.NT5_ERR_INVALID_ARG),
    ("encode", {"preset": "midjourney"}, _lib.NT5_ERR_INVALID_ARG),
    ("encode", {"padding": "wide"}, _lib.NT5_ERR_INVALID_ARG),
    ("encode", {"threads": -1}, _lib.NT5_ERR_INVALID_ARG),
    ("generate", {"threads": -1}, _lib.NT5_ERR_INVALID_ARG),
])
def test_bad_options(model, call, kwargs, status):
    assert status_of(getattr(model, call), "a photo of a cat", **kwargs) == status


def test_bad_model_options():
    assert status_of(nt5.Model, TINY, device="tpu") == _lib.NT5_ERR_INVALID_ARG
    assert status_of(nt5.Model, TINY, threads=-1) == _lib.NT5_ERR_INVALID_ARG
    assert status_of(nt5.Model, TINY, weight_dtype="f8") == _lib.NT5_ERR_INVALID_ARG
    with pytest.raises(TypeError):
        nt5.Model(TINY, colour="red")
    with nt5.Model(TINY, encoder_only=True, threads=THREADS) as m:
        assert status_of(m.generate, "Hello") == _lib.NT5_ERR_UNSUPPORTED


def test_empty_batch(model):
    assert status_of(model.encode, []) == _lib.NT5_ERR_INVALID_ARG


def test_error_pickles():  # as Ray sends it from a worker to the driver
    e = pickle.loads(pickle.dumps(nt5.Error(_lib.NT5_ERR_IO, "disk on fire")))
    assert (e.status, e.message, str(e)) == (_lib.NT5_ERR_IO, "disk on fire", "disk on fire (NT5_ERR_IO)")


def test_messages_are_per_thread(model):
    """Each thread reads its own failure's message (nt5_last_error is thread-local), while the
    others fail differently or succeed at the same time."""
    problems = []

    def work(i):
        for _ in range(30):
            if i % 3 == 2:
                model.encode("fine %d" % i)
                continue
            bad = b"x" * i + b"\xff"  # "not valid UTF-8 (byte i)"
            try:
                model.tokenize(bad)
                problems.append("thread %d: no error" % i)
            except nt5.Error as e:
                if "(byte %d)" % i not in e.message:
                    problems.append("thread %d got %r" % (i, e.message))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert problems == []


def python(code, **env):
    """Runs code in a fresh interpreter that imports this package, with env changed (None unsets)."""
    e = dict(os.environ, PYTHONPATH=PACKAGE)
    for k, v in env.items():
        e.pop(k, None) if v is None else e.__setitem__(k, v)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=e, timeout=120)


def test_library_not_found_is_clear():
    r = python("import nt5\ntry:\n    nt5.version()\nexcept nt5.LibraryError as e:\n    print(e)",
               NT5_LIB="/nonexistent/libnt5.so.1")
    assert r.returncode == 0, r.stderr
    assert "libnt5 not found" in r.stdout and "/nonexistent/libnt5.so.1" in r.stdout and "NT5_LIB" in r.stdout


def test_found_through_pkg_config(tmp_path):
    """Through a .pc file alone (no NT5_LIB, no LD_LIBRARY_PATH), also in a staged root."""
    if not shutil.which("pkg-config"):
        pytest.skip("pkg-config not installed")
    lib = os.path.realpath(nt5._native.lib()._name)
    stage = tmp_path / "stage"
    (stage / "opt" / "nt5" / "lib").mkdir(parents=True)
    os.symlink(lib, stage / "opt" / "nt5" / "lib" / "libnt5.so.1")
    for sysroot, libdir in ((None, stage / "opt" / "nt5" / "lib"), (stage, "/opt/nt5/lib")):
        (tmp_path / "nt5.pc").write_text("libdir=%s\n\nName: nt5\nDescription: t\nVersion: 0.4.0\n"
                                         "Libs: -L${libdir} -lnt5\n" % libdir)
        r = python("import nt5; nt5.version(); print(nt5._native.lib()._name)", NT5_LIB=None,
                   PKG_CONFIG_PATH=str(tmp_path), PKG_CONFIG_LIBDIR=str(tmp_path),
                   PKG_CONFIG_SYSROOT_DIR=sysroot and str(sysroot), LD_LIBRARY_PATH=None)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == str(stage / "opt" / "nt5" / "lib" / "libnt5.so.1")
