#!/bin/sh
# Packs what a GPU machine (the `device` tool's: a CUDA image without
# nt5's Debian libraries, and no network) needs to run nt5's CUDA tests and
# benchmarks from this build: the nt5 tool, libnt5, the CUDA module, the
# CUDA test program and the backend conformance test (what
# bench/device_check.sh runs), and every shared library they use except glibc's, the
# C++ runtime's and CUDA's own (the machine has newer ones), as one
# .gpu-bundle.tar.xz (xz: OpenBLAS alone is 36 MB, and a device call
# carries 64 MiB in all; .gitignore has it). Name it in the call's `carry`
# and start the command with
#   tar xJf .gpu-bundle.tar.xz && . .gpu-bundle/env.sh
# which sets LD_LIBRARY_PATH, NT5_CUDA_MODULE and PATH for nt5 only
# (NT5_LD_LIBRARY_PATH; the bench passes it to nt5 alone, so PyTorch keeps
# its own libraries). usage: bench/gpu_bundle.sh [BUILD_DIR]
set -eu
build=${1:-build}
out=.gpu-bundle
rm -rf "$out" "$out.tar.xz"
mkdir -p "$out/bin" "$out/lib"
[ -f "$build/kernels/libnt5-cuda.so" ] || { echo "no $build/kernels/libnt5-cuda.so: build with nvcc on the PATH" >&2; exit 1; }
cp "$build/tools/nt5" "$build/tests/test_cuda" "$build/tests/test_backend_ops" "$out/bin/"
cp -L "$build/libnt5.so.1" "$build/kernels/libnt5-cuda.so" "$out/lib/"
ldd "$build/tools/nt5" "$build/tests/test_cuda" "$build/tests/test_backend_ops" "$build/kernels/libnt5-cuda.so" | awk '$2 == "=>" && $3 ~ /^\// {print $3}' |
    sort -u | while read -r lib; do
        case $(basename "$lib") in
        libc.so* | libm.so* | libpthread.so* | libdl.so* | librt.so* | libresolv.so* | ld-linux* | libstdc++* | \
            libgcc_s* | libcud* | libcublas* | libnt5*) ;;
        *) cp -L "$lib" "$out/lib/" ;;
        esac
    done
cat >"$out/env.sh" <<'ENV'
# sourced on the GPU machine from the repo root
here=$(pwd)/.gpu-bundle
cuda_libs=$(dirname "$(find /usr/local /usr/lib /opt -name 'libcublasLt.so.13' 2>/dev/null | head -n 1)")
export NT5_LD_LIBRARY_PATH="$here/lib:$cuda_libs"
export NT5_CUDA_MODULE="$here/lib/libnt5-cuda.so"
export NT5_BIN="$here/bin"
ENV
tar cJf "$out.tar.xz" "$out"
rm -rf "$out"
ls -la "$out.tar.xz"
