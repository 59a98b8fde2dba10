#!/bin/sh
# Runs a binding's own tests against the library just built.
# usage: test_bindings.sh rust|go BUILD_DIR SOURCE_DIR
set -u
lang=$1
build=$2
src=$3
export NT5_TEST_DATA="$src/tests/data"
case $lang in
rust)
    command -v cargo >/dev/null || { echo "SKIP: cargo not installed"; exit 77; }
    target=$(mktemp -d)
    trap 'rm -rf "$target"' EXIT
    # the library in the build directory, no pkg-config needed
    NT5_LIB_DIR="$build" LD_LIBRARY_PATH="$build" CARGO_TARGET_DIR="$target" \
        cargo test --offline --quiet --manifest-path "$src/bindings/rust/Cargo.toml"
    status=$?
    rm -f "$src/bindings/rust/Cargo.lock"
    exit $status
    ;;
go)
    command -v go >/dev/null || { echo "SKIP: go not installed"; exit 77; }
    root=$(mktemp -d)
    trap 'rm -rf "$root"' EXIT
    # cgo finds nt5 through pkg-config: install into a private root first
    meson install -C "$build" --destdir "$root" --no-rebuild --quiet >/dev/null || { echo "FAIL meson install"; exit 1; }
    pc=$(dirname "$(find "$root" -name nt5.pc | head -n 1)")
    lib=$(dirname "$(find "$root" -name libnt5.so.1 | head -n 1)")
    cd "$src/bindings/go" && PKG_CONFIG_PATH="$pc" PKG_CONFIG_SYSROOT_DIR="$root" LD_LIBRARY_PATH="$lib" \
        GOCACHE="$root/gocache" GOFLAGS=-mod=mod go test -count=1 ./...
    ;;
*)
    echo "unknown binding $lang"
    exit 2
    ;;
esac
