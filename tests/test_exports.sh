#!/bin/sh
# libnt5.so exports only nt5_* symbols, every one in a version node, and has
# the soname libnt5.so.1. usage: test_exports.sh LIBNT5_SO NT5_MAP
set -u
lib=$1
map=$2
failed=0
syms=$(objdump -T "$lib" | awk '$2 == "g" && $0 !~ /\*UND\*/ {print $(NF-1), $NF}')
bad=$(printf '%s\n' "$syms" | awk '$2 !~ /^NT5_/ && $2 !~ /^nt5_/ {print}')
if [ -n "$bad" ]; then echo "FAIL exported symbols outside nt5_: $bad"; failed=1; fi
unversioned=$(printf '%s\n' "$syms" | awk '$2 ~ /^nt5_/ && $1 !~ /^NT5_/ {print}')
if [ -n "$unversioned" ]; then echo "FAIL unversioned: $unversioned"; failed=1; fi
for s in $(printf '%s\n' "$syms" | awk '$2 ~ /^nt5_/ {print $2}'); do
    grep -q "^ *$s;" "$map" || { echo "FAIL $s is exported but not listed in $map"; failed=1; }
done
for s in $(grep -oE '^ *nt5_[a-z0-9_]+;' "$map" | tr -d ' ;'); do
    printf '%s\n' "$syms" | grep -q " $s\$" || { echo "FAIL $s is in $map but not exported"; failed=1; }
done
soname=$(objdump -p "$lib" | awk '$1 == "SONAME" {print $2}')
[ "$soname" = libnt5.so.1 ] || { echo "FAIL soname is $soname"; failed=1; }
count=$(printf '%s\n' "$syms" | grep -c ' nt5_')
echo "exports: $count nt5_ symbols, soname $soname"
exit $failed
