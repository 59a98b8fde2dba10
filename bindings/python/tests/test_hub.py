"""hub_download and Model from the mock Hub of tests/mock_hub.py (on 127.0.0.1), with progress
and cancellation; convert into an nt5 file and a Hugging Face directory."""
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import nt5
from nt5 import _lib
from conftest import DATA, ROOT, THREADS, TINY

REPO = "nt5-test/t5-v1_1-tiny"


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """The mock Hub's endpoint, with every cache under tmp_path."""
    port_file = tmp_path / "port"
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "mock_hub.py"), DATA,
                             "--port-file", str(port_file), "--lifetime", "120"])
    try:
        for _ in range(200):
            if port_file.exists() and port_file.read_text().strip():
                break
            time.sleep(0.05)
        for name in ("HF_TOKEN", "HF_HUB_OFFLINE", "HF_HUB_CACHE"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:%s" % port_file.read_text().strip())
        monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
        monkeypatch.setenv("NT5_CACHE", str(tmp_path / "nt5"))
        monkeypatch.setenv("NT5_HUB_RETRY_BASE_MS", "10")
        yield str(tmp_path / "hub")
    finally:
        proc.terminate()
        proc.wait(10)


def test_download_then_open_offline(hub, model):
    seen = []
    snapshot = nt5.hub_download(REPO, cache_dir=hub, on_progress=lambda f, done, total: seen.append((f, done, total)))
    assert os.path.isfile(os.path.join(snapshot, "model.safetensors")) and snapshot.startswith(hub)
    assert any(f.endswith("model.safetensors") and done == total > 0 for f, done, total in seen)
    with nt5.Model(REPO, cache_dir=hub, offline=True, threads=THREADS) as m:
        assert np.array_equal(m.encode("Hello").hidden_states, model.encode("Hello").hidden_states)


def test_progress_cancels(hub):
    with pytest.raises(nt5.Error) as e:
        nt5.hub_download(REPO, cache_dir=hub, on_progress=lambda f, done, total: True)
    assert e.value.status == _lib.NT5_ERR_CANCELLED


def test_progress_exception_is_raised(hub):
    with pytest.raises(KeyError):
        nt5.Model(REPO, cache_dir=hub, on_progress=lambda f, done, total: {}["stop"])


def test_hub_errors(hub):
    with pytest.raises(nt5.Error) as e:
        nt5.hub_download("nt5-test/no-such-model", cache_dir=hub)
    assert e.value.status == _lib.NT5_ERR_NOT_FOUND
    with pytest.raises(nt5.Error) as e:
        nt5.Model(REPO, cache_dir=hub, offline=True)
    assert e.value.status != _lib.NT5_OK and "offline" in e.value.message.lower()


def test_convert(tmp_path, model):
    events = []
    path = nt5.convert(TINY, tmp_path / "tiny.nt5", dtype="bf16", threads=THREADS,
                       on_progress=lambda f, done, total: events.append(f))
    assert path == str(tmp_path / "tiny.nt5") and any(e.startswith("writing") for e in events)
    with nt5.Model(path, threads=THREADS) as m:
        assert m.info.format == "nt5 file" and m.info.weight_dtype == _lib.NT5_DTYPE_BF16
        a, b = m.encode("Hello world!").hidden_states, model.encode("Hello world!").hidden_states
        assert np.linalg.norm(a - b) <= 1e-2 * np.linalg.norm(b)
    hf = nt5.convert(TINY, tmp_path / "hf", format="hf", encoder_only=True)
    assert os.path.isfile(os.path.join(hf, "model.safetensors"))
    with pytest.raises(nt5.Error) as e:
        nt5.convert(TINY, tmp_path / "cancelled.nt5", on_progress=lambda f, done, total: f.startswith("writing"))
    assert e.value.status == _lib.NT5_ERR_CANCELLED and not os.path.exists(tmp_path / "cancelled.nt5")


def test_convert_f16_calibration_texts(tmp_path):
    path = nt5.convert(TINY, tmp_path / "f16.nt5", dtype="f16", calibration_texts=["a cat", "ein Hund"])
    with nt5.Model(path) as m:  # widened to f32 on the CPU
        assert m.info.weight_dtype == _lib.NT5_DTYPE_F32
