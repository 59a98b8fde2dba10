#!/usr/bin/env python3
"""The man page against the tool: every command `nt5 --help` lists and every
option each command's --help names appear in it, and its version is the
tool's. usage: test_man_page.py NT5_BINARY MAN_PAGE"""
import re
import subprocess
import sys

nt5, page = sys.argv[1], sys.argv[2]
with open(page) as f:
    man = f.read().replace("\\-", "-").replace("\\fB", "").replace("\\fI", "").replace("\\fR", "")


def run(*args):
    return subprocess.run([nt5, *args], capture_output=True, text=True).stdout


failures = []
version = run("--version").split()[1]
if '"nt5 %s"' % version not in man:
    failures.append("the man page's version is not %s" % version)
commands = re.findall(r"^  (\w+) ", run("--help").split("commands:")[1], re.M)
for command in commands:
    if not re.search(r"^\.B %s$" % command, man, re.M):
        failures.append("command %s is not described" % command)
    for option in sorted(set(re.findall(r"(?<![\w-])--[a-z0-9][a-z0-9-]*", run(command, "--help")))):
        if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(option), man):
            failures.append("%s %s is not in the man page" % (command, option))
for f in failures:
    print("FAIL", f)
print("%d commands, %d problems" % (len(commands), len(failures)))
sys.exit(1 if failures else 0)
