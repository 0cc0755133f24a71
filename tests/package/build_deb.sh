#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# usage: build_deb.sh BUILD_DIR OUT_DIR
# The CTest fixture of the package tests: `cpack -G DEB` of the build into OUT_DIR (emptied
# first), which then holds exactly one veeam-had_*.deb.
set -eu
build=$1
out=$2
rm -rf "$out"
mkdir -p "$out"
if ! cpack --config "$build/CPackConfig.cmake" -G DEB -B "$out/cpack" >"$out/cpack.log" 2>&1; then
    cat "$out/cpack.log" >&2
    echo "FAIL: cpack -G DEB failed" >&2
    exit 1
fi
set -- "$out"/cpack/veeam-had_*.deb
if [ $# -ne 1 ] || [ ! -f "$1" ]; then
    echo "FAIL: expected one veeam-had_*.deb, found: $*" >&2
    exit 1
fi
mv "$1" "$out/"
rm -rf "$out/cpack"
echo "ok: built $(basename "$1")"
