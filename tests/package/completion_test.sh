#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# usage: completion_test.sh COMPLETION_FILE VEEAM_HACTL
# Sources the generated bash completion for veeam-hactl under bash with the bash-completion
# package, as an interactive shell does, and completes command lines with it: every verb of
# `veeam-hactl --help` is offered, a verb's literal arguments are, options are skipped.
set -eu
completion=$1
hactl=$2
fail() { echo "FAIL: $*" >&2; exit 1; }
[ -r /usr/share/bash-completion/bash_completion ] ||
    fail "bash-completion is not installed (scripts/install-deps)"
# bash_completion expects an interactive shell's settings; it reads unset variables.
set +u
# shellcheck disable=SC1091
. /usr/share/bash-completion/bash_completion
# shellcheck disable=SC1090
. "$completion"
complete -p veeam-hactl | grep -q -- '-F _veeam_hactl' || fail "no completion registered for veeam-hactl"

# complete WORDS...: what completing the last word of `veeam-hactl WORDS...` offers, sorted.
complete_line() {
    COMP_WORDS=(veeam-hactl "$@")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE="${COMP_WORDS[*]}"
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    _veeam_hactl veeam-hactl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}
expect() {
    local want=$1
    shift
    local got
    got=$(complete_line "$@")
    [ "$got" = "$want" ] || fail "veeam-hactl $* <TAB>: expected '$want', got '$got'"
    echo "ok: veeam-hactl $* <TAB> -> $got"
}

verbs=$("$hactl" --help | awk '/^Verbs:/ { v = 1; next } v && /^$/ { exit } v { print $1 }' | sort | tr '\n' ' ' | sed 's/ $//')
[ -n "$verbs" ] || fail "no verbs in veeam-hactl --help"
expect "$verbs" ""
expect "maintenance" mai
expect "confirm-fenced" --config /etc/veeam-ha.yaml con
expect "off on" maintenance ""
expect "list off on reboot status" fence ""
expect "--check --interval --json --watch" status -
expect "--force" keygen -
expect "--no-file-checks --peer --quiet" check --
expect "--config --help --node --version" --
