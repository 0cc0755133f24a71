#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# VM fixture for the lvm resource's vm tier: a Debian kernel (linux-image-*-amd64 fetched with
# `apt-get download` and unpacked with dpkg-deb -x, never installed) and a busybox initramfs
# with dm_mod/xfs modules and this host's lvm, dmsetup and mkfs.xfs (with their libraries).
# Both are cached under CACHE_DIR and rebuilt when missing (the initramfs also when this
# script, init or agent change). Then a per-run initramfs = cached base + an overlay archive
# with the given tool binaries and their libraries (the kernel unpacks concatenated archives).
#
#   build-vm-fixture.sh CACHE_DIR RUN_DIR TOOL...
# prints KERNEL=<path> and INITRD=<path> (RUN_DIR/initrd.img) on stdout; progress on stderr.
# VEEAMHA_VM_KERNEL_PACKAGE overrides the kernel package (default: what linux-image-amd64
# depends on).
set -euo pipefail
CACHE=$1/lvm-vm; RUN=$2; shift 2
HERE=$(cd "$(dirname "$0")" && pwd)
say() { echo "vm-fixture: $*" >&2; }
mkdir -p "$CACHE" "$RUN"
exec 9>"$CACHE/.lock"
flock -w 600 9 || { say "cannot lock $CACHE/.lock"; exit 1; }
TMPS=()
trap 'rm -rf "${TMPS[@]}"' EXIT   # half-built folders never stay in the cache

# ---- kernel ----
KDIR=$(ls -d "$CACHE"/kernel-* 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$KDIR" ] || [ ! -f "$KDIR/done" ]; then
  PKG=${VEEAMHA_VM_KERNEL_PACKAGE:-$(apt-cache depends linux-image-amd64 2>/dev/null |
        awk '/Depends: linux-image-[0-9]/ {print $2; exit}')}
  [ -n "$PKG" ] || { say "cannot find the kernel package (apt-cache depends linux-image-amd64); run apt-get update"; exit 1; }
  say "downloading $PKG (once; cached in $CACHE)"
  T=$(mktemp -d "$CACHE/dl.XXXXXX"); TMPS+=("$T"); chmod 755 "$T"   # apt's _apt user writes there
  (cd "$T" && apt-get download -q "$PKG" >&2)
  dpkg-deb -x "$T"/*.deb "$T/x"
  KV=$(ls "$T/x/lib/modules" | head -1)
  [ -n "$KV" ] && [ -f "$T/x/boot/vmlinuz-$KV" ] || { say "unexpected package layout in $PKG"; exit 1; }
  rm -f "$T"/*.deb
  rm -rf "$CACHE/kernel-$KV"; mv "$T/x" "$CACHE/kernel-$KV"; rmdir "$T"
  touch "$CACHE/kernel-$KV/done"
  KDIR=$CACHE/kernel-$KV
fi
KV=$(ls "$KDIR/lib/modules" | head -1)
KERNEL=$KDIR/boot/vmlinuz-$KV
# The package ships no modules.dep (it is made at install time).
[ -f "$KDIR/lib/modules/$KV/modules.dep" ] || depmod -b "$KDIR" "$KV"

# ---- base initramfs ----
BINS="/sbin/lvm /sbin/dmsetup /sbin/mkfs.xfs"
MODS="virtio_pci virtio_blk dm_mod crc32c_generic xfs"
HASH=$( (cat "$0" "$HERE/init" "$HERE/agent"; echo "$KV"; ls -lL $BINS /bin/busybox) | sha256sum | cut -c1-16)
BASE=$CACHE/base-$KV-$HASH.img
copy_with_libs() { # root binary dest-dir
  cp -L "$2" "$1/$3/"
  for l in $(ldd "$2" | grep -o '/[^ ]*'); do mkdir -p "$1$(dirname "$l")"; cp -L "$l" "$1$l"; done
}
if [ ! -f "$BASE" ]; then
  say "building the base initramfs for $KV"
  R=$(mktemp -d "$CACHE/root.XXXXXX"); TMPS+=("$R")
  mkdir -p "$R"/{bin,sbin,etc/lvm,proc,sys,dev,run,tmp,mnt,lib64,lib/modules/$KV}
  cp /bin/busybox "$R/bin/busybox"
  for m in $MODS; do modprobe -d "$KDIR" -S "$KV" --show-depends "$m"; done |
    awk '$1=="insmod" {print $2}' | sort -u | while read -r f; do
      rel=${f#"$KDIR"/}; mkdir -p "$R/$(dirname "$rel")"; cp "$f" "$R/$rel"; done
  cp "$KDIR"/lib/modules/"$KV"/modules.{order,builtin,builtin.modinfo} "$R/lib/modules/$KV/"
  depmod -b "$R" "$KV"
  for b in $BINS; do copy_with_libs "$R" "$b" sbin; done
  cp -L /lib64/ld-linux-x86-64.so.2 "$R/lib64/"
  for c in pvcreate pvs vgcreate vgchange vgs lvcreate lvs vgremove; do ln -sf lvm "$R/sbin/$c"; done
  # No udev in the VM: libdevmapper creates the /dev/mapper nodes itself.
  cat > "$R/etc/lvm/lvm.conf" <<'C'
devices { obtain_device_list_from_udev = 0 }
activation { udev_sync = 0 udev_rules = 0 }
global { system_id_source = "lvmlocal" }
C
  cp "$HERE/init" "$R/init"; cp "$HERE/agent" "$R/agent"; chmod 755 "$R/init" "$R/agent"
  (cd "$R" && find . | busybox cpio -o -H newc -R 0:0 2>/dev/null | gzip -1) > "$BASE.tmp"
  mv "$BASE.tmp" "$BASE"; rm -rf "$R"
  for old in "$CACHE"/base-*.img; do [ "$old" = "$BASE" ] || rm -f "$old"; done   # older builds
fi

# ---- per-run overlay: the tools under test ----
O=$(mktemp -d "$RUN/overlay.XXXXXX"); TMPS+=("$O")
mkdir -p "$O/sbin"
for t in "$@"; do copy_with_libs "$O" "$t" sbin; done
(cd "$O" && find . | busybox cpio -o -H newc -R 0:0 2>/dev/null | gzip -1) > "$RUN/overlay.img"
rm -rf "$O"
cat "$BASE" "$RUN/overlay.img" > "$RUN/initrd.img"
rm -f "$RUN/overlay.img"
echo "KERNEL=$KERNEL"
echo "INITRD=$RUN/initrd.img"
