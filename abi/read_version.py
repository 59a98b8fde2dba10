#!/usr/bin/env python3
"""Prints the release version written in abi/nt5.h, or with --library the
shared library's file version <soname major>.<NT5_ABI_VERSION>.<patch>
(meson reads both)."""
import re
import sys

text = open(sys.argv[-1], encoding="utf-8").read()


def define(name):
    return re.search(r"#define %s (\d+)" % name, text).group(1)


if "--library" in sys.argv:
    print("1.%s.%s" % (define("NT5_ABI_VERSION"), define("NT5_VERSION_PATCH")))
else:
    print(".".join(define("NT5_VERSION_" + p) for p in ("MAJOR", "MINOR", "PATCH")))
