#!/bin/sh
# libnt5.so against the committed ABI baseline (abi/libnt5.abi, libabigail's
# abidw output; abi/libnt5.abi.version is the NT5_ABI_VERSION it was taken
# at). Any change fails unless NT5_ABI_VERSION was bumped; an incompatible
# one (a removal) fails unless the soname changed. The NT5_EXPERIMENTAL
# node's symbols are left out (abi/experimental.abignore). See abi/ABI.md.
# usage: test_abi_baseline.sh LIBNT5_SO SOURCE_DIR
set -u
lib=$1
src=$2
command -v abidiff >/dev/null || { echo "SKIP: abidiff not installed (abigail-tools)"; exit 77; }
abidiff --suppressions "$src/abi/experimental.abignore" --headers-dir2 "$src/abi" "$src/abi/libnt5.abi" "$lib"
rc=$?
if [ $((rc & 3)) -ne 0 ]; then
    echo "FAIL abidiff could not compare (exit $rc)"
    exit 1
fi
if [ "$rc" -eq 0 ]; then
    echo "abi: identical to the baseline"
    exit 0
fi
header=$(sed -n 's/^#define NT5_ABI_VERSION \([0-9]*\).*/\1/p' "$src/abi/nt5.h")
base=$(cat "$src/abi/libnt5.abi.version")
old=$(grep -o "soname='[^']*'" "$src/abi/libnt5.abi" | head -n 1)
new="soname='$(objdump -p "$lib" | awk '$1 == "SONAME" {print $2}')'"
if [ $((rc & 8)) -ne 0 ] && [ "$old" = "$new" ]; then
    echo "FAIL incompatible ABI change without a new soname ($new)"
    exit 1
fi
if [ "$header" = "$base" ]; then
    echo "FAIL the ABI changed (above) but NT5_ABI_VERSION is still $header: bump it for an allowed addition"
    echo "     and regenerate the baseline (abi/ABI.md)"
    exit 1
fi
echo "abi: changed with NT5_ABI_VERSION $base -> $header (abidiff exit $rc); regenerate abi/libnt5.abi at release"
