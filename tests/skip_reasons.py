#!/usr/bin/env python3
"""Prints why each skipped test was skipped (meson test --print-errorlogs
shows failures only): the first line of its output, from the JSON test log.
usage: skip_reasons.py BUILD_DIR [LOGBASE]   (LOGBASE: testlog by default)"""
import glob
import json
import os
import sys

build = sys.argv[1]
base = sys.argv[2] if len(sys.argv) > 2 else "testlog"
logs = sorted(glob.glob(os.path.join(build, "meson-logs", base + "*.json")))
for line in open(logs[0]) if logs else ():
    r = json.loads(line)
    if r.get("result") == "SKIP":
        out = (r.get("stdout") or "").strip().splitlines() or ["(no reason printed)"]
        print("skipped %s: %s" % (r["name"], out[-1][:200]))
