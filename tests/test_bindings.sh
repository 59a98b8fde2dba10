#!/bin/sh
# Runs a binding's own tests against the library just built, and what the
# bindings' READMEs tell a user to do.
# usage: test_bindings.sh MODE BUILD_DIR SOURCE_DIR
#   rust            the crates' tests, libnt5 from NT5_LIB_DIR=BUILD_DIR
#   rust-readme     bindings/rust/README.md and README.md: their commands as written (run from
#                   the repository root, its `build` replaced by BUILD_DIR),
#                   a relative NT5_LIB_DIR, its example verbatim in examples/
#   rust-pkgconfig  the crates' tests with libnt5 found only through
#                   pkg-config in a staged `meson install --destdir` (no
#                   NT5_LIB_DIR), and the warning when nothing is found
#   go              the package's tests and examples through cgo and pkg-config
#   go-module       bindings/go/README.md's program in a module of its own that
#                   requires the binding's module path with no replace line
#                   (served by a local file proxy)
set -u
lang=$1
build=$(realpath "$2")
src=$(realpath "$3")
export NT5_TEST_DATA="$src/tests/data"
tmp=$(mktemp -d)
# the Go module cache is read-only
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() {
    echo "FAIL: $*"
    exit 1
}

# stage: meson install into $tmp/root; sets pc (the nt5.pc folder) and lib
stage() {
    meson install -C "$build" --destdir "$tmp/root" --no-rebuild --quiet >/dev/null || fail "meson install"
    pc=$(dirname "$(find "$tmp/root" -name nt5.pc | head -n 1)")
    lib=$(dirname "$(find "$tmp/root" -name libnt5.so.1 | head -n 1)")
}

# readme_block FILE LANG: the first ```LANG block of FILE
readme_block() {
    awk -v lang="$2" '$0 == "```" lang { on = 1; next } on && $0 == "```" { exit } on { print }' "$1"
}

case $lang in
rust | rust-readme | rust-pkgconfig)
    command -v cargo >/dev/null || { echo "SKIP: cargo not installed"; exit 77; }
    export CARGO_TARGET_DIR="$tmp/target"
    trap 'rm -f "$src/bindings/rust/Cargo.lock"; chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
    ;;
go | go-module)
    command -v go >/dev/null || { echo "SKIP: go not installed"; exit 77; }
    export GOCACHE="$tmp/gocache" GOMODCACHE="$tmp/gomodcache"
    ;;
esac

case $lang in
rust)
    # the library in the build directory, no pkg-config needed
    NT5_LIB_DIR="$build" LD_LIBRARY_PATH="$build" \
        cargo test --offline --quiet --manifest-path "$src/bindings/rust/Cargo.toml"
    exit $?
    ;;
rust-readme)
    readme="$src/bindings/rust/README.md"
    rel=$(realpath -m --relative-to="$src" "$build")
    # the example file is the README's example, word for word
    readme_block "$readme" rust >"$tmp/example.rs"
    cmp -s "$tmp/example.rs" "$src/bindings/rust/nt5/examples/encode.rs" ||
        fail "bindings/rust/README.md's example differs from bindings/rust/nt5/examples/encode.rs"
    # every `NT5_LIB_DIR=... cargo ...` command of these files (a line, or
    # inline code on one line), from the repository root
    (cd "$src" && grep -oh 'NT5_LIB_DIR=[^`]*cargo [^`]*' bindings/rust/README.md README.md) >"$tmp/commands"
    [ "$(grep -c 'cargo test' "$tmp/commands")" -ge 1 ] && [ "$(grep -c 'cargo run' "$tmp/commands")" -ge 1 ] ||
        fail "no cargo test and cargo run commands in bindings/rust/README.md"
    while IFS= read -r command; do
        command=$(printf '%s\n' "$command" | sed -E "s#(=|\\\$PWD/)build( |:|\$)#\\1$rel\\2#g")
        echo "+ $command"
        (cd "$src" && env -u NT5_LIB_DIR -u PKG_CONFIG_PATH sh -c "$command") >"$tmp/out" 2>&1 || {
            cat "$tmp/out"
            fail "$command"
        }
        case $command in
        *--example\ encode*) grep -q '^shape \[1, 11, 64\] lengths \[11\]$' "$tmp/out" || { cat "$tmp/out"; fail "example output"; } ;;
        esac
    done <"$tmp/commands"
    # a relative NT5_LIB_DIR is taken from the repository root, whatever
    # folder cargo runs the build script and the linker in
    command="NT5_LIB_DIR=$rel LD_LIBRARY_PATH=\$PWD/$rel cargo test --offline --manifest-path bindings/rust/Cargo.toml"
    echo "+ $command"
    (cd "$src" && env -u NT5_LIB_DIR sh -c "$command") >"$tmp/out" 2>&1 || { cat "$tmp/out"; fail "$command"; }
    echo "ok"
    ;;
rust-pkgconfig)
    command -v pkg-config >/dev/null || { echo "SKIP: pkg-config not installed"; exit 77; }
    stage
    pkg() { env -u NT5_LIB_DIR PKG_CONFIG_PATH="$pc" PKG_CONFIG_SYSROOT_DIR="$tmp/root" "$@"; }
    pkg pkg-config --libs-only-L nt5 | grep -q -- "-L$tmp/root/" || fail "pkg-config ignores PKG_CONFIG_SYSROOT_DIR"
    pkg env LD_LIBRARY_PATH="$lib" cargo test --offline --manifest-path "$src/bindings/rust/Cargo.toml" \
        >"$tmp/out" 2>&1 || { cat "$tmp/out"; fail "cargo test through pkg-config"; }
    grep -q "test result: ok" "$tmp/out" || { cat "$tmp/out"; fail "no tests ran"; }
    ! grep -q "libnt5 not found" "$tmp/out" || { cat "$tmp/out"; fail "build script warned"; }
    # linked from the staged root, not from a system copy
    grep -qx "cargo:rustc-link-search=native=$lib" "$CARGO_TARGET_DIR"/debug/build/nt5-sys-*/output ||
        { cat "$CARGO_TARGET_DIR"/debug/build/nt5-sys-*/output; fail "no link search path from pkg-config"; }
    # nothing found: a warning that says what to set
    env -u NT5_LIB_DIR -u PKG_CONFIG_PATH -u PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_LIBDIR="$tmp/none" \
        cargo build --offline -p nt5-sys --manifest-path "$src/bindings/rust/Cargo.toml" >"$tmp/out" 2>&1
    grep -q "warning: .*libnt5 not found" "$tmp/out" && grep -q "warning: .*set NT5_LIB_DIR" "$tmp/out" ||
        { cat "$tmp/out"; fail "no warning when pkg-config does not find nt5"; }
    echo "ok"
    ;;
go)
    # cgo finds nt5 through pkg-config: install into a private root first
    stage
    cd "$src/bindings/go" && PKG_CONFIG_PATH="$pc" PKG_CONFIG_SYSROOT_DIR="$tmp/root" LD_LIBRARY_PATH="$lib" \
        GOFLAGS=-mod=mod go test -count=1 ./...
    exit $?
    ;;
go-module)
    stage
    cd "$src/bindings/go" || exit 1
    module=$(sed -n 's/^module[[:space:]]*//p' go.mod)
    case ${module%%/*} in
    *.*) ;;
    *) fail "module path '$module' cannot be required: its first element has no dot" ;;
    esac
    # a file proxy serving the working tree as version v0.1.0
    at="$tmp/proxy/$module/@v"
    mkdir -p "$at" "$tmp/app"
    echo v0.1.0 >"$at/list"
    echo '{"Version":"v0.1.0","Time":"2024-01-01T00:00:00Z"}' >"$at/v0.1.0.info"
    cp go.mod "$at/v0.1.0.mod"
    python3 - "$module@v0.1.0" "$at/v0.1.0.zip" <<'EOF' || fail "module zip"
import os, sys, zipfile
prefix, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out, "w") as z:
    for name in sorted(os.listdir(".")):
        if os.path.isfile(name) and not name.startswith("."):
            z.write(name, prefix + "/" + name)
EOF
    printf 'module example.com/app\n\ngo 1.19\n\nrequire %s v0.1.0\n' "$module" >"$tmp/app/go.mod"
    readme_block README.md go >"$tmp/app/main.go"
    grep -q "\"$module\"" "$tmp/app/main.go" || fail "bindings/go/README.md's program does not import $module"
    cd "$tmp/app" && GOPROXY="file://$tmp/proxy" GOSUMDB=off GOFLAGS=-mod=mod \
        PKG_CONFIG_PATH="$pc" PKG_CONFIG_SYSROOT_DIR="$tmp/root" LD_LIBRARY_PATH="$lib" \
        go run . "$NT5_TEST_DATA/t5-v1_1-tiny" >"$tmp/out" 2>&1 || { cat "$tmp/out"; fail "go run"; }
    cat "$tmp/out"
    grep -q '^shape \[1 11 64\] lengths \[11\]$' "$tmp/out" || fail "output"
    ;;
*)
    echo "unknown mode $lang"
    exit 2
    ;;
esac
