#!/usr/bin/env python3
"""Prints the release version written in abi/nt5.h (meson reads it)."""
import re
import sys

text = open(sys.argv[1], encoding="utf-8").read()
parts = [re.search(r"#define NT5_VERSION_%s (\d+)" % p, text).group(1) for p in ("MAJOR", "MINOR", "PATCH")]
print(".".join(parts))
