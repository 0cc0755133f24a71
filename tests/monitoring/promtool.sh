#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# usage: promtool.sh ARGS...: the real promtool (Debian's prometheus package, scripts/install-deps).
# Missing: skipped (exit 77) in a plain ctest run, a failure under VEEAMHA_REQUIRE_ALL_TESTS=1.
if ! command -v promtool >/dev/null 2>&1; then
    if [ "${VEEAMHA_REQUIRE_ALL_TESTS:-}" = 1 ]; then
        echo "promtool is not installed and VEEAMHA_REQUIRE_ALL_TESTS=1 (scripts/install-deps installs it)" >&2
        exit 1
    fi
    echo "skipped: promtool is not installed (scripts/install-deps installs it)"
    exit 77
fi
exec promtool "$@"
