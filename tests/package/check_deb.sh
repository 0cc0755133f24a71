#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# usage: check_deb.sh BUILD_DIR
# Builds the .deb with cpack into a private scratch folder and checks what a user would get.
set -eu
build=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/veeamha-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

if ! cpack --config "$build/CPackConfig.cmake" -G DEB -B "$work/out" >"$work/cpack.log" 2>&1; then
    cat "$work/cpack.log" >&2
    fail "cpack -G DEB failed"
fi
set -- "$work"/out/veeam-had_*.deb
[ $# -eq 1 ] && [ -f "$1" ] || fail "expected one veeam-had_*.deb, found: $*"
deb=$1
ok "built $(basename "$deb")"

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
need -rw-r--r-- usr/share/doc/veeam-had/LICENSE
need -rw-r--r-- usr/share/veeam-had/veeam-had.rules.yml
need -rw-r--r-- usr/share/veeam-had/veeam-had.rules.test.yml
need -rw-r--r-- usr/share/veeam-had/veeam-had-dashboard.json
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
