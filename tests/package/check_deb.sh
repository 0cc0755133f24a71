#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# usage: check_deb.sh DEB_DIR
# Checks what a user would get from the .deb that build_deb.sh made in DEB_DIR: control data,
# maintainer scripts, file list, the unpacked programs, their hardening, the unit.
set -eu
set -- "$1"/veeam-had_*.deb
[ $# -eq 1 ] && [ -f "$1" ] || { echo "FAIL: expected one veeam-had_*.deb, found: $*" >&2; exit 1; }
deb=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/veeamha-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

# --- control data
dpkg-deb -I "$deb" >"$work/info"
grep -q '^ Package: veeam-had$' "$work/info" || fail "package name"
grep -q '^ Depends: .*lvm2' "$work/info" || fail "Depends lacks lvm2"
grep -q '^ Depends: .*libyaml-cpp' "$work/info" || fail "Depends lacks the shared libraries (shlibdeps)"
[ "$(dpkg-deb -f "$deb" Section)" = admin ] || fail "section"
dpkg-deb -e "$deb" "$work/control"
[ "$(cat "$work/control/conffiles")" = /etc/veeam-ha.yaml.example ] ||
    fail "conffiles must list exactly /etc/veeam-ha.yaml.example, found: $(cat "$work/control/conffiles")"
for script in postinst postrm; do
    [ -x "$work/control/$script" ] || fail "$script missing or not executable"
    sh -n "$work/control/$script" || fail "$script: syntax error"
    # An upgrade must never restart the daemon behind the admin's back (maintenance first).
    if grep -v '^[[:space:]]*#' "$work/control/$script" |
        grep -Eq 'systemctl +(re)?start|try-restart|reload-or-restart|enable|deb-systemd-invoke'; then
        fail "$script starts, restarts or enables veeam-had"
    fi
done
ok "control: conffiles, Depends, maintainer scripts"

# --- file list
dpkg-deb -c "$deb" | awk '{print $1, $NF}' >"$work/list"
need() {
    grep -q "^$1 \./$2\$" "$work/list" || fail "missing $2 with mode $1 (list: $(awk '{print $2}' "$work/list" | tr '\n' ' '))"
}
need -rwxr-xr-x usr/sbin/veeam-had
need -rwxr-xr-x usr/sbin/veeam-hactl
need -rw-r--r-- lib/systemd/system/veeam-had.service
need -rw-r--r-- etc/veeam-ha.yaml.example
need -rw-r--r-- usr/share/veeam-had/veeam-had.rules.yml
need -rw-r--r-- usr/share/veeam-had/veeam-had.rules.test.yml
need -rw-r--r-- usr/share/veeam-had/veeam-had-dashboard.json
need -rw-r--r-- usr/share/doc/veeam-had/copyright
need -rw-r--r-- usr/share/doc/veeam-had/changelog.gz
need -rw-r--r-- usr/share/man/man8/veeam-had.8.gz
need -rw-r--r-- usr/share/man/man8/veeam-hactl.8.gz
need -rw-r--r-- usr/share/man/man5/veeam-ha.yaml.5.gz
need -rw-r--r-- usr/share/bash-completion/completions/veeam-hactl
if grep -q '\./etc/veeam-ha\.yaml$' "$work/list"; then fail "the package ships /etc/veeam-ha.yaml (the user's file)"; fi
others=$(awk '$2 ~ /^\.\/etc\/./ && $2 != "./etc/veeam-ha.yaml.example" {print $2}' "$work/list")
[ -z "$others" ] || fail "unexpected files in /etc: $others"
if grep -q '\./usr/local/' "$work/list"; then fail "files under /usr/local"; fi
ok "file list"

# --- unpacked into a scratch root: the programs run
dpkg -x "$deb" "$work/root"
[ ! -e "$work/root/etc/veeam-ha.yaml" ] || fail "/etc/veeam-ha.yaml unpacked"
"$work/root/usr/sbin/veeam-had" --version | grep -q '^veeam-had ' || fail "veeam-had --version"
"$work/root/usr/sbin/veeam-hactl" --help | grep -q 'keygen \[--force\]' || fail "veeam-hactl --help"
"$work/root/usr/sbin/veeam-had" --check-config "$work/root/etc/veeam-ha.yaml.example" --no-file-checks \
    >"$work/check.out" 2>&1 || { cat "$work/check.out" >&2; fail "the packaged example config does not pass --check-config"; }
ok "unpacked programs run; the example config checks"

# --- hardening of the shipped programs (Debian's hardening-check, from devscripts): PIE,
# stack protector, fortified functions, read-only relocations, immediate binding; stripped.
# Control-flow protection is checked by its instructions instead: hardening-check looks for the
# ELF note that says every linked object has it, and Debian 12's own C start files (Scrt1.o,
# crti.o) do not, so even `int main(){}` built with -fcf-protection fails its check there.
for program in veeam-had veeam-hactl; do
    out=$(hardening-check --nocfprotection "$work/root/usr/sbin/$program" 2>&1) ||
        fail "hardening-check $program:
$out"
    objdump -d --no-show-raw-insn "$work/root/usr/sbin/$program" | grep -q endbr64 ||
        fail "$program has no endbr64 instructions: not built with -fcf-protection"
    file "$work/root/usr/sbin/$program" | grep -q ', stripped' || fail "$program is not stripped"
done
ok "hardening-check: both programs hardened and stripped"

# --- the man pages render without errors and have a NAME line (what whatis and apropos read)
for page in man8/veeam-had.8 man8/veeam-hactl.8 man5/veeam-ha.yaml.5; do
    name=$(basename "$page" | sed 's/\.[0-9]$//')
    zcat "$work/root/usr/share/man/$page.gz" >"$work/page"
    lexgrog "$work/page" | grep -q "\"$name - " || fail "$page: no NAME line for $name: $(lexgrog "$work/page")"
    warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$work/page" 2>&1 >/dev/null |
        grep -v -e 'cannot adjust line' -e "can't break line" || true)
    [ -z "$warnings" ] || fail "$page: groff warnings: $warnings"
done
rendered() { LC_ALL=C.UTF-8 MANWIDTH=200 man -l "$work/root/usr/share/man/$1.gz" 2>/dev/null; }
rendered man5/veeam-ha.yaml.5 | grep -q 'fencing.vsphere.password_file (path; default: required)' ||
    fail "veeam-ha.yaml(5) lacks the configuration reference"
rendered man8/veeam-hactl.8 | grep -q 'confirm-fenced NODE --yes' || fail "veeam-hactl(8) lacks the verbs"
rendered man8/veeam-had.8 | grep -q -- '--check-config' || fail "veeam-had(8) lacks the options"
ok "man pages"

# --- the unit's exposure as systemd rates it (systemd-analyze security, offline: the unit file
# alone). veeam-had.service says why it cannot go lower; this keeps it from going higher.
# Checked under the real systemd of a container too (package_nspawn_test.cc).
threshold=6.8
command -v systemd-analyze >/dev/null 2>&1 || fail "systemd-analyze is not installed"
cp "$work/root/lib/systemd/system/veeam-had.service" "$work/veeam-had.service"
report=$(cd "$work" && systemd-analyze security --offline=yes --no-pager veeam-had.service 2>&1) ||
    fail "systemd-analyze security: $report"
score=$(printf '%s\n' "$report" | sed -n 's/.*Overall exposure level for veeam-had.service: \([0-9.]*\) .*/\1/p')
[ -n "$score" ] || fail "no exposure level in: $report"
echo "systemd-analyze security veeam-had.service: $score (threshold $threshold)"
awk -v s="$score" -v t="$threshold" 'BEGIN { exit !(s + 0 <= t + 0) }' ||
    fail "the unit's exposure level $score is above $threshold:
$(printf '%s\n' "$report" | grep '✗')"
ok "unit exposure $score <= $threshold"

# --- the unit, with systemd's own checker (works without systemd as PID 1 as long as the unit
# files of the host's systemd package are there; if even a trivial unit does not verify, the
# environment cannot do it and that part is skipped with the reason)
if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "SKIPPED systemd-analyze verify: systemd-analyze is not installed"
    exit 0
fi
mkdir "$work/units"
printf '[Unit]\nDescription=probe\n[Service]\nExecStart=/bin/true\n' >"$work/units/veeamha-probe.service"
if ! probe=$(systemd-analyze verify "$work/units/veeamha-probe.service" 2>&1) || [ -n "$probe" ]; then
    echo "SKIPPED systemd-analyze verify: it cannot verify even a trivial unit here: $probe"
    exit 0
fi
# Point ExecStart at the unpacked binary (the host has none in /usr/sbin); the rest as shipped.
sed "s|/usr/sbin/veeam-had|$work/root/usr/sbin/veeam-had|g" \
    "$work/root/lib/systemd/system/veeam-had.service" >"$work/units/veeam-had.service"
# systemd-analyze exits 0 on unknown keys and bad values (it only warns): any output is a failure.
if ! out=$(systemd-analyze verify "$work/units/veeam-had.service" 2>&1) || [ -n "$out" ]; then
    fail "systemd-analyze verify veeam-had.service: $out"
fi
ok "systemd-analyze verify veeam-had.service"
