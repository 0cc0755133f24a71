#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# usage: lintian_deb.sh DEB_DIR
# Debian's own checker on the .deb that build_deb.sh made: any error (E:) or warning (W:) fails.
# Informational tags (I:, N:, P:, X:) are printed, not counted.
set -eu
set -- "$1"/veeam-had_*.deb
[ $# -eq 1 ] && [ -f "$1" ] || { echo "FAIL: expected one veeam-had_*.deb, found: $*" >&2; exit 1; }
command -v lintian >/dev/null 2>&1 || { echo "FAIL: lintian is not installed (scripts/install-deps)" >&2; exit 1; }
# --fail-on none: the tags below decide; a non-zero exit means lintian could not check at all.
rc=0
out=$(lintian --no-cfg --fail-on none --display-level '>=pedantic' "$1" 2>&1) || rc=$?
printf '%s\n' "$out"
[ "$rc" -le 1 ] || { echo "FAIL: lintian did not run (exit $rc)" >&2; exit 1; }
if printf '%s\n' "$out" | grep -q '^[EW]: '; then
    echo "FAIL: lintian reports errors or warnings on $(basename "$1")" >&2
    exit 1
fi
echo "ok: lintian: no errors or warnings on $(basename "$1")"
