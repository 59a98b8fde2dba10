#!/usr/bin/env python3
"""The GGUF reader (impl/format/gguf.c, gguf_quants.c) against gguf-py: files
written by GGUFWriter (tests/gguf_writer.py) read back through
test_gguf_reader, the metadata compared value by value with GGUFReader's and
every tensor's dequantized floats bit for bit with gguf.quants.dequantize;
hostile files refused with the expected message. Runs itself again under the
Python in NT5_GGUF_PYTHON (a venv with gguf 0.19.0 and numpy); skipped (77)
when that is unset or lacks them.
usage: test_gguf.py TEST_GGUF_READER"""
import os
import struct
import subprocess
import sys

PY = os.environ.get("NT5_GGUF_PYTHON")
if not PY:
    print("NT5_GGUF_PYTHON is not set (a Python with gguf and numpy): skipped")
    sys.exit(77)
if not os.environ.get("NT5_GGUF_IN_VENV"):
    os.environ["NT5_GGUF_IN_VENV"] = "1"
    try:
        os.execv(PY, [PY, os.path.abspath(__file__), *sys.argv[1:]])
    except OSError as e:
        print("cannot run NT5_GGUF_PYTHON=%s (%s): skipped" % (PY, e))
        sys.exit(77)
try:
    import numpy as np
    import gguf
except ImportError as e:
    print("%s lacks gguf or numpy (%s): skipped" % (PY, e))
    sys.exit(77)

import shutil  # noqa: E402
import tempfile  # noqa: E402
import unittest  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_writer as gw  # noqa: E402
from gguf import GGMLQuantizationType as Q  # noqa: E402
from gguf import GGUFValueType as V  # noqa: E402

READER = sys.argv[1]
INTS = {V.UINT8, V.INT8, V.UINT16, V.INT16, V.UINT32, V.INT32, V.UINT64, V.INT64}


def element(vtype, part):
    """An element as test_gguf_reader prints it."""
    raw = part.tobytes()
    if vtype in INTS:
        n = int(part[0])
        return str(n) if n < 2**63 else "-"
    if vtype == V.FLOAT32:
        return "%08x" % struct.unpack("<I", raw)[0]
    if vtype == V.FLOAT64:
        return "%016x" % struct.unpack("<Q", raw)[0]
    if vtype == V.BOOL:
        return "1" if raw[0] else "0"
    return "s" + raw.hex()


def getters(vtype, part):
    """What the typed getters return for a scalar."""
    n = int(part[0]) if vtype in INTS else -1
    u32 = str(n) if 0 <= n < 2**32 else "-"
    f32 = "-"
    if vtype in (V.FLOAT32, V.FLOAT64):
        f32 = "%08x" % np.array(part[0], dtype=np.float64).astype(np.float32).view(np.uint32)
    b = element(vtype, part) if vtype == V.BOOL else "-"
    s = part.tobytes().hex() if vtype == V.STRING else "-"
    return "u32=%s f32=%s bool=%s str=%s arr=-" % (u32, f32, b, s)


def expected(path):
    """GGUFReader's view of the file, in test_gguf_reader's lines, and its tensors."""
    r = gguf.GGUFReader(path)
    lines = ["version %d" % r.fields["GGUF.version"].parts[0][0]]
    for key, field in r.fields.items():
        if key.startswith("GGUF."):
            continue
        vtype = field.types[0]
        # an array's element type is its fourth part (key length, key, type, element type, count, ...):
        # GGUFReader lists it in `types` only when the array has elements
        elem = V(int(field.parts[3][0])) if vtype == V.ARRAY else vtype
        parts = [field.parts[i] for i in field.data]
        lines.append(" ".join(["kv", key, str(int(vtype)), str(int(elem)), str(len(parts))] +
                              [element(elem, p) for p in parts]))
        lines.append("get %s %s" % (key, "u32=- f32=- bool=- str=- arr=%d,%d" % (elem, len(parts))
                                    if vtype == V.ARRAY else getters(vtype, parts[0])))
    for t in r.tensors:
        ne = [int(d) for d in t.shape] + [1] * (4 - len(t.shape))
        status = ("ok" if t.tensor_type in gw.DEQUANTIZED else
                  "error NT5_ERR_UNSUPPORTED nt5 cannot dequantize %s tensors" % t.tensor_type.name)
        lines.append(" ".join(["tensor", t.name, str(int(t.tensor_type)), t.tensor_type.name, str(len(t.shape))] +
                              [str(d) for d in ne] + [str(t.n_elements), str(t.n_bytes), status]))
    return lines, r.tensors


class Reader(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="nt5-gguf-")
        cls.exact = set()  # the types compared bit for bit

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)
        missing = set(gw.DEQUANTIZED) - cls.exact
        print("types compared bit-exactly with gguf-py: %d of %d %s" %
              (len(cls.exact & set(gw.DEQUANTIZED)), len(gw.DEQUANTIZED),
               "" if not missing else "(missing %s)" % sorted(t.name for t in missing)), file=sys.stderr)

    def run_reader(self, path, buffer=False):
        out = tempfile.mkdtemp(dir=self.tmp)
        r = subprocess.run([READER] + (["--buffer"] if buffer else []) + [path, out], capture_output=True,
                           timeout=120)
        return r, out

    def check_file(self, path):
        """Reads path with test_gguf_reader (mapped, then from a buffer): the
        same lines as GGUFReader's, every dequantized tensor bit-identical."""
        lines, tensors = expected(path)
        r, out = self.run_reader(path)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        got = r.stdout.decode().splitlines()
        for want, have in zip(lines, got):
            self.assertEqual(have, want)
        self.assertEqual(len(got), len(lines))
        for i, t in enumerate(tensors):
            if t.tensor_type not in gw.DEQUANTIZED:
                continue
            ref = np.ascontiguousarray(gguf.quants.dequantize(t.data, t.tensor_type), dtype=np.float32).reshape(-1)
            mine = np.fromfile(os.path.join(out, "%d.f32" % i), dtype=np.float32)
            diff = np.flatnonzero(ref.view(np.uint32) != mine.view(np.uint32))
            self.assertEqual(len(diff), 0, "%s (%s): %d of %d floats differ, first at %s: %r, gguf-py %r" % (
                t.name, t.tensor_type.name, len(diff), ref.size, diff[:1], mine[diff[:1]], ref[diff[:1]]))
            self.exact.add(t.tensor_type)
        b, out_b = self.run_reader(path, buffer=True)
        self.assertEqual(b.returncode, 0, b.stderr.decode(errors="replace"))
        self.assertEqual(b.stdout, r.stdout)
        for name in os.listdir(out):
            with open(os.path.join(out, name), "rb") as x, open(os.path.join(out_b, name), "rb") as y:
                self.assertEqual(x.read(), y.read(), name)

    def write(self, name, data):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def test_every_type_and_value(self):
        path = os.path.join(self.tmp, "all.gguf")
        gw.write_file(path, seed=1)
        self.check_file(path)

    def test_alignment_64(self):
        path = os.path.join(self.tmp, "aligned.gguf")
        gw.write_file(path, seed=2, n_tokens=10, alignment=64)
        self.check_file(path)

    def test_version_2_empty_arrays_gaps(self):
        self.check_file(self.write("edge.gguf", gw.edge_file()))

    def test_truncated_files_are_refused(self):
        data = gw.edge_file()
        for n in range(0, len(data), 3):
            r, _ = self.run_reader(self.write("cut.gguf", data[:n]))
            self.assertEqual(r.returncode, 2, "%d bytes: %s" % (n, r.stderr.decode(errors="replace")))
            self.assertIn("error: NT5_ERR_FORMAT", r.stderr.decode())

    def test_not_a_file(self):
        r, _ = self.run_reader(self.tmp)
        self.assertEqual(r.returncode, 2)
        self.assertIn("NT5_ERR_IO", r.stderr.decode())
        r, _ = self.run_reader(os.path.join(self.tmp, "absent.gguf"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("NT5_ERR_NOT_FOUND", r.stderr.decode())


def f32_tensor(name="a", n=8, offset=0):
    return gw.tensor_info(name, [n], Q.F32, offset)


ARCH = gw.kv("general.architecture", V.STRING, gw.string("t5"))
BIG = 2**62


def hostile_cases():
    """(name, file bytes, a part of the message) for each refusal."""
    a = gw.assemble
    return [
        ("data past the end", a([ARCH], [f32_tensor(n=8)], bytes(16)),
         'tensor "a" (8 elements at offset 0 of the data section) runs past the end of the file'),
        ("overlapping tensors", a([ARCH], [f32_tensor("a", 16, 0), f32_tensor("b", 8, 32)], bytes(64)),
         'tensors "a" and "b" overlap'),
        ("unknown type id", a([ARCH], [gw.tensor_info("a", [8], 99, 0)], bytes(32)), 'has unknown ggml type 99'),
        ("retired type id", a([ARCH], [gw.tensor_info("a", [8], 4, 0)], bytes(32)), 'has unknown ggml type 4'),
        ("wrong magic", a([ARCH], magic=b"GGML"), 'not a GGUF file (it begins with bytes 47 47 4d 4c'),
        ("version 1", a([ARCH], version=1), 'GGUF version 1 is not supported'),
        ("version 4", a([ARCH], version=4), 'GGUF version 4 is not supported'),
        ("big-endian", a([ARCH], version=3 << 24), 'a big-endian GGUF file'),
        ("string of 2^62 bytes", a([gw.kv("k", V.STRING, gw.string("abc", claimed=BIG))]),
         'metadata "k" (a string of 4611686018427387904 bytes) runs past the end of the file'),
        ("array of 2^62 elements", a([gw.kv("k", V.ARRAY, gw.array(V.UINT32, BIG, bytes(8)))]),
         'metadata "k" (an array of 4611686018427387904 uint32 values) runs past the end of the file'),
        ("array of 2^62 strings", a([gw.kv("k", V.ARRAY, gw.array(V.STRING, BIG, gw.string("x")))]),
         'metadata "k" (an array of 4611686018427387904 strings) runs past the end of the file'),
        ("dims product overflowing", a([ARCH], [gw.tensor_info("a", [2**32, 2**32], Q.F32, 0)], bytes(32)),
         'the element count of tensor "a" overflows (dimension 1 is 4294967296)'),
        ("byte size overflowing", a([ARCH], [gw.tensor_info("a", [2**62], Q.F64, 0)], bytes(32)),
         'tensor "a" (4611686018427387904 elements at offset 0 of the data section) runs past the end'),
        ("misaligned offset", a([ARCH], [f32_tensor(offset=8)], bytes(64)),
         'tensor "a" has offset 8, not a multiple of the alignment 32'),
        ("duplicate tensor name", a([ARCH], [f32_tensor("a", 8, 0), f32_tensor("a", 8, 32)], bytes(64)),
         'tensor "a" appears twice'),
        ("duplicate key", a([ARCH, ARCH]), 'metadata key "general.architecture" appears twice'),
        ("n_dims 0", a([ARCH], [gw.tensor_info("a", [], Q.F32, 0)], bytes(32)),
         'tensor "a" has 0 dimensions (GGUF allows 1 to 4)'),
        ("n_dims 5", a([ARCH], [gw.tensor_info("a", [1, 1, 1, 1, 8], Q.F32, 0)], bytes(32)),
         'tensor "a" has 5 dimensions (GGUF allows 1 to 4)'),
        ("row not whole blocks", a([ARCH], [gw.tensor_info("a", [128, 2], Q.Q4_K, 0)], bytes(288)),
         'tensor "a" (Q4_K) has rows of 128 elements, not a multiple of its 256-element blocks'),
        ("dimension of size 0", a([ARCH], [gw.tensor_info("a", [8, 0], Q.F32, 0)], bytes(32)),
         'tensor "a" has a dimension of size 0'),
        ("alignment not a power of two",
         a([gw.kv("general.alignment", V.UINT32, struct.pack("<I", 48))], alignment=48),
         'general.alignment 48 is not a power of two'),
        ("alignment a string", a([gw.kv("general.alignment", V.STRING, gw.string("32"))]),
         'general.alignment is not a 32-bit unsigned integer'),
        ("nested array", a([gw.kv("k", V.ARRAY, gw.array(V.ARRAY, 1, gw.array(V.UINT8, 1, b"\0")))]),
         'metadata "k" is an array of arrays'),
        ("unknown value type", a([gw.kv("k", 13, bytes(8))]), 'metadata "k" has unknown value type 13'),
        ("key with a NUL byte", a([gw.kv("a\0b", V.UINT8, b"\1")]), 'metadata key "a" holds a NUL byte'),
        ("2^62 metadata entries", a([ARCH], n_kv=BIG), 'claims 4611686018427387904 metadata entries'),
        ("2^62 tensors", a([ARCH], n_tensors=BIG), 'claims 4611686018427387904 tensors'),
        ("truncated header", b"GGUF\3\0\0\0\0", 'the GGUF header runs past the end of the file'),
        ("three bytes", b"GGU", '3 bytes is too short for a GGUF file'),
    ]


class QuantizeQ8_0(unittest.TestCase):
    """nt5's Q8_0 quantizer (weights kept as Q8_0) against gguf.quants.quantize, block for block."""

    def test_blocks_equal_gguf_py(self):
        rng = np.random.default_rng(5)
        rows = [rng.standard_normal(4096) * 0.05,                        # weights
                rng.standard_normal(4096) * 1e-6,                        # subnormal f16 scales
                rng.standard_normal(4096) * 3e4,                         # large
                np.zeros(64),                                            # all-zero blocks
                np.repeat(np.arange(-64, 64) * 0.5, 4) / 127 * 3.0,      # halves after scaling
                np.concatenate([np.full(31, 1.0), [-127.0]] * 4)]        # ties at .5 of a step
        x = np.concatenate(rows).astype(np.float32)
        with tempfile.TemporaryDirectory() as tmp:
            src, out = os.path.join(tmp, "x.f32"), os.path.join(tmp, "x.q8_0")
            x.tofile(src)
            r = subprocess.run([READER, "--quantize-q8_0", src, out], capture_output=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(out, "rb") as f:
                got = f.read()
        want = gguf.quants.quantize(x.reshape(-1, 32), Q.Q8_0).tobytes()
        self.assertEqual(len(got), len(want))
        bad = [i // 34 for i in range(len(got)) if got[i] != want[i]]
        self.assertEqual(bad[:5], [], "blocks differ from gguf-py's")


class Hostile(unittest.TestCase):
    def test_baseline_is_accepted(self):
        """The file the cases below break, unbroken."""
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "good.gguf")
            with open(path, "wb") as f:
                f.write(gw.assemble([ARCH], [f32_tensor("a", 16, 0), f32_tensor("b", 8, 64)], bytes(96)))
            r = subprocess.run([READER, path, tmp], capture_output=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)

    def test_refused_with_message(self):
        cases = hostile_cases()
        with tempfile.TemporaryDirectory() as tmp:
            for name, data, message in cases:
                with self.subTest(name):
                    path = os.path.join(tmp, "hostile.gguf")
                    with open(path, "wb") as f:
                        f.write(data)
                    r = subprocess.run([READER, path, tmp], capture_output=True, timeout=60)
                    err = r.stderr.decode(errors="replace")
                    self.assertEqual(r.returncode, 2, err)
                    self.assertIn("error: NT5_ERR_FORMAT: %s: " % path, err)
                    self.assertIn(message, err)
        print("hostile files refused with their messages: %d" % len(cases), file=sys.stderr)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
