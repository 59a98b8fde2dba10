"""Fixtures of the binding's tests: the tiny random-weight models of tests/data (NT5_TEST_DATA),
the library (NT5_LIB, as the package finds it), and the nt5 tool when NT5_TOOL names it."""
import ctypes
import os

import pytest

import nt5
from nt5 import _lib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
DATA = os.environ.get("NT5_TEST_DATA") or os.path.join(ROOT, "tests", "data")
TINY = os.path.join(DATA, "t5-v1_1-tiny")
THREADS = 2  # the bits of a result depend on the threads a call uses: the same everywhere here


@pytest.fixture(scope="session")
def model():
    with nt5.Model(TINY, threads=THREADS) as m:
        yield m


@pytest.fixture(scope="session")
def raw():
    """The library through the raw ctypes layer alone, loaded on its own."""
    return _lib.bind(ctypes.CDLL(nt5._native.lib()._name))


@pytest.fixture(scope="session")
def tool():
    path = os.environ.get("NT5_TOOL")
    if not path:
        pytest.skip("NT5_TOOL (the nt5 tool) is not set")
    return path
