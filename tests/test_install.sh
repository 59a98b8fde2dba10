#!/bin/sh
# meson install into a DESTDIR places the library with its soname links, the
# header, nt5.pc and the CLI; a program built with only pkg-config runs.
# usage: test_install.sh BUILD_DIR SOURCE_DIR
set -u
build=$1
src=$2
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
meson install -C "$build" --destdir "$dest" --no-rebuild --quiet >/dev/null || { echo "FAIL meson install"; exit 1; }
failed=0
pc=$(find "$dest" -name nt5.pc | head -n 1)
lib=$(find "$dest" -name 'libnt5.so.1' | head -n 1)
for f in "$pc" "$lib" "$(find "$dest" -path '*/include/nt5/nt5.h')" "$(find "$dest" -path '*/bin/nt5')"; do
    [ -n "$f" ] && [ -e "$f" ] || { echo "FAIL an installed file is missing (pc=$pc lib=$lib)"; failed=1; }
done
[ -L "$(dirname "$lib")/libnt5.so" ] || { echo "FAIL no libnt5.so development link"; failed=1; }
flags=$(PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$dest pkg-config --cflags --libs nt5) ||
    { echo "FAIL pkg-config nt5"; exit 1; }
cc "$src/tests/install_app.c" $flags -o "$dest/app" || { echo "FAIL building with pkg-config flags: $flags"; exit 1; }
out=$(LD_LIBRARY_PATH=$(dirname "$lib") "$dest/app" "$src/tests/data/t5-v1_1-tiny") || failed=1
[ "$out" = "76 8 459 24 415 29 274 1" ] || { echo "FAIL the installed program printed: $out"; failed=1; }
[ "$failed" -eq 0 ] && echo "install: library, header, nt5.pc and CLI installed; pkg-config program ran"
exit $failed
