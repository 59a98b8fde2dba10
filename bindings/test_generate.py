#!/usr/bin/env python3
"""Tests of the binding generator: the header model is complete, the
generated files are up to date, the Julia layer (which cannot run on
Debian 12: no Julia package) wraps every function with the right types, and
the Python ctypes layer declares every function with the right types and
every struct with the C compiler's layout."""
import ctypes
import glob
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import generate  # noqa: E402
    import header_model  # noqa: E402
except ImportError as e:  # pycparser missing
    print("SKIP: %s (install python3-pycparser)" % e)
    sys.exit(77)

JULIA_SCALARS = {"int32_t": "Int32", "uint32_t": "UInt32", "int64_t": "Int64", "uint64_t": "UInt64",
                 "size_t": "Csize_t", "float": "Cfloat", "char": "Cchar", "void": "Cvoid", "uint16_t": "UInt16"}


class HeaderModel(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = header_model.read()
        with open(header_model.HEADER, encoding="utf-8") as f:
            cls.header = f.read()

    def test_every_exported_function_is_parsed(self):
        declared = set(re.findall(r"^NT5_API [^;(]*?\b(nt5_[a-z0-9_]+)\(", self.header, re.M))
        self.assertEqual(declared, {f.name for f in self.model.functions})
        with open(os.path.join(header_model.ROOT, "abi", "nt5.map"), encoding="utf-8") as f:
            mapped = set(re.findall(r"^\s+(nt5_[a-z0-9_]+);", f.read(), re.M))
        self.assertTrue({f.name for f in self.model.functions} <= mapped, "a function missing from nt5.map")

    def test_structs_and_constants(self):
        names = {s[0] for s in self.model.structs}
        self.assertEqual(names, {"nt5_model_options", "nt5_model_info", "nt5_encode_options", "nt5_token_event",
                                 "nt5_generate_options", "nt5_convert_options"})
        for name, fields, _ in self.model.structs:
            self.assertEqual(fields[0].name, "struct_size", name)
        self.assertEqual(set(self.model.opaque), {"nt5_model", "nt5_embeddings", "nt5_generation"})
        consts = dict((n, v) for n, v, _ in self.model.constants)
        self.assertEqual(consts["NT5_ERR_CANCELLED"], -7)
        self.assertEqual(consts["NT5_ABI_VERSION"], int(re.search(r"#define NT5_ABI_VERSION (\d+)", self.header).group(1)))

    def test_generated_files_are_current(self):
        for rel, emit in generate.OUTPUTS.items():
            with open(os.path.join(generate.HERE, rel), encoding="utf-8") as f:
                self.assertEqual(f.read(), emit(self.model), rel + " is stale: run bindings/generate.py")


class JuliaLayer(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = header_model.read()
        cls.text = generate.julia(cls.model)

    def expected(self, t):
        if t.base == "char" and t.const and len(t.pointers) == 1:
            return "Cstring"
        s = JULIA_SCALARS.get(t.base, t.base)
        for _ in t.pointers:
            s = "Ptr{%s}" % s
        return s

    def test_every_function_wrapped_with_its_types(self):
        for f in self.model.functions:
            m = re.search(r"function %s\((.*?)\)\n    @ccall libnt5\.%s\((.*?)\)::(\S+)\nend" % (f.name, f.name), self.text)
            self.assertIsNotNone(m, f.name)
            self.assertEqual(m.group(1), ", ".join(p.name for p in f.params), f.name)
            want = ", ".join("%s::%s" % (p.name, self.expected(p.type)) for p in f.params)
            self.assertEqual(m.group(2), want, f.name)
            self.assertEqual(m.group(3), self.expected(f.ret), f.name)

    def test_structs_mirror_the_header(self):
        for name, fields, _ in self.model.structs:
            body = re.search(r"^struct %s\n(.*?)^end" % name, self.text, re.M | re.S)
            self.assertIsNotNone(body, name)
            got = re.findall(r"^    (\w+)::(\S+)$", body.group(1), re.M)
            self.assertEqual(got, [(f.name, self.expected(f.type)) for f in fields], name)

    def test_scalar_mapping(self):
        self.assertEqual(self.expected(header_model.Type("size_t")), "Csize_t")
        self.assertIn("const nt5_status = Int32", self.text)
        self.assertIn("mutable struct nt5_model end", self.text)

    def test_idiomatic_layer_sets_struct_fields_by_name(self):
        with open(os.path.join(generate.HERE, "julia", "src", "NT5.jl"), encoding="utf-8") as f:
            nt5_jl = f.read()
        fields = {s[0]: {x.name for x in s[1]} for s in self.model.structs}
        self.assertNotRegex(nt5_jl, r"LibNT5\.nt5_\w+_options\(", "build option structs with with_fields, not positionally")
        for call in re.findall(r"with_fields\(opts\[\];(.*?)\)\n", nt5_jl, re.S):
            for name in re.findall(r"(\w+)=", call):
                self.assertTrue(any(name in f for f in fields.values()), name)

    def test_idiomatic_layer_uses_only_generated_names(self):
        with open(os.path.join(generate.HERE, "julia", "src", "NT5.jl"), encoding="utf-8") as f:
            nt5_jl = f.read()
        known = {f.name for f in self.model.functions} | {s[0] for s in self.model.structs} | \
            set(self.model.opaque) | {n for n, _, _ in self.model.constants}
        used = set(re.findall(r"LibNT5\.((?:nt5|NT5)_\w+)", nt5_jl))
        self.assertTrue(used and used <= known, "unknown: %s" % (used - known))

    def test_readme_example_calls_only_what_nt5_defines(self):
        """bindings/julia/README.md's example, which no test can run here."""
        with open(os.path.join(generate.HERE, "julia", "src", "NT5.jl"), encoding="utf-8") as f:
            nt5_jl = f.read()
        with open(os.path.join(generate.HERE, "julia", "README.md"), encoding="utf-8") as f:
            example = re.search(r"```julia\n(.*?)```", f.read(), re.S).group(1)
        exported = set(re.search(r"^export (.*)$", nt5_jl, re.M).group(1).replace(",", " ").split())
        self.assertIn("using NT5", example)
        self.assertIn("Base.close(m::Model)", nt5_jl)
        for name in re.findall(r"\b([A-Za-z_]\w*)\(", example):
            self.assertIn(name, exported | {"println", "size", "close"}, "not exported by NT5.jl")
        for call, args in re.findall(r"\b(\w+)\(([^()]*)\)", example):
            for kw in re.findall(r"(\w+)=", args.partition(";")[2]):
                self.assertTrue(re.search(r"function %s\(.*\b%s::" % (call, kw), nt5_jl),
                                "%s has no keyword %s" % (call, kw))


class PythonLayer(unittest.TestCase):
    SCALARS = {"int32_t": ctypes.c_int32, "uint32_t": ctypes.c_uint32, "int64_t": ctypes.c_int64,
               "uint64_t": ctypes.c_uint64, "size_t": ctypes.c_size_t, "float": ctypes.c_float, "char": ctypes.c_char}

    @classmethod
    def setUpClass(cls):
        cls.model = header_model.read()
        spec = importlib.util.spec_from_file_location("nt5_lib", os.path.join(generate.HERE, "python", "nt5", "_lib.py"))
        cls.lib = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(cls.lib)

    def expected(self, t):
        """The ctypes type of t, as the binding's docs promise it."""
        levels = len(t.pointers)
        if levels and t.base == "void":
            s, levels = ctypes.c_void_p, levels - 1
        elif levels and t.base == "char" and t.const:
            s, levels = ctypes.c_char_p, levels - 1
        elif t.base == "void":
            return None
        else:
            s = self.SCALARS.get(t.base) or getattr(self.lib, t.base)
        for _ in range(levels):
            s = ctypes.POINTER(s)
        return s

    def test_every_function_bound_with_its_types(self):
        class Recorder:
            def __init__(self):
                self.functions = {}

            def __getattr__(self, name):
                return self.functions.setdefault(name, type("F", (), {})())

        lib = self.lib.bind(Recorder())
        self.assertEqual(set(lib.functions), {f.name for f in self.model.functions})
        for f in self.model.functions:
            got = lib.functions[f.name]
            self.assertEqual(got.argtypes, [self.expected(p.type) for p in f.params], f.name)
            self.assertEqual(got.restype, self.expected(f.ret), f.name)

    def test_callbacks_and_constants(self):
        for name, ret, params, _ in self.model.callbacks:
            cb = getattr(self.lib, name)
            self.assertEqual(cb._restype_, self.expected(ret), name)
            self.assertEqual(list(cb._argtypes_), [self.expected(p.type) for p in params], name)
        for name, value, _ in self.model.constants:
            self.assertEqual(getattr(self.lib, name), value, name)

    def test_structs_have_the_c_layout(self):
        """sizeof and every offsetof as the C compiler lays the structs out."""
        cc = shutil.which("cc") or shutil.which("gcc")
        if not cc:
            self.skipTest("no C compiler")
        lines = ['#include <stddef.h>', '#include <stdio.h>', '#include "nt5.h"', "int main(void) {"]
        for name, fields, _ in self.model.structs:
            lines.append('    printf("%s %%zu\\n", sizeof(%s));' % (name, name))
            lines += ['    printf("%s.%s %%zu\\n", offsetof(%s, %s));' % (name, f.name, name, f.name) for f in fields]
        lines += ["    return 0;", "}", ""]
        with tempfile.TemporaryDirectory() as tmp:
            with open(os.path.join(tmp, "layout.c"), "w") as f:
                f.write("\n".join(lines))
            subprocess.run([cc, "-I", os.path.dirname(header_model.HEADER), "-o", os.path.join(tmp, "layout"),
                            os.path.join(tmp, "layout.c")], check=True)
            c = dict(line.split() for line in subprocess.run([os.path.join(tmp, "layout")], capture_output=True,
                                                             text=True, check=True).stdout.splitlines())
        for name, fields, _ in self.model.structs:
            struct = getattr(self.lib, name)
            self.assertEqual(ctypes.sizeof(struct), int(c[name]), name)
            self.assertEqual([f[0] for f in struct._fields_], [f.name for f in fields], name)
            for f in fields:
                self.assertEqual(getattr(struct, f.name).offset, int(c[name + "." + f.name]), name + "." + f.name)

    def test_struct_docstrings_carry_the_field_comments(self):
        self.assertIn('device: "auto" (default, also NULL)', self.lib.nt5_model_options.__doc__)
        self.assertIn("truncation: 1 (default): cut longer inputs to max_length", self.lib.nt5_encode_options.__doc__)

    def test_idiomatic_layer_uses_only_generated_names(self):
        known = {f.name for f in self.model.functions} | {s[0] for s in self.model.structs} | \
            set(self.model.opaque) | {n for n, _, _ in self.model.constants} | {c[0] for c in self.model.callbacks}
        used = set()
        for path in glob.glob(os.path.join(generate.HERE, "python", "nt5", "*.py")):
            if not path.endswith("_lib.py"):
                with open(path, encoding="utf-8") as f:
                    used |= set(re.findall(r"(?:_lib|lib\(\))\.((?:nt5|NT5)_\w+)", f.read()))
        self.assertTrue(used and used <= known, "unknown: %s" % (used - known))


if __name__ == "__main__":
    unittest.main()
