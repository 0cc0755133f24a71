#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Boot image of the hosts tier: a Debian 12 root with systemd, udev, lvm2, xfsprogs, iproute2
# and Debian's own kernel (linux-image-amd64), made once with debootstrap from the mirror apt
# already uses, plus the test's command agent on the second serial port
# (veeamha-test-agent.service), and a busybox initramfs (image/init) with the image's modules.
# Cached under CACHE_DIR/hosts/image-HASH, HASH covering this script, init, the agent and the
# package list, so a changed recipe or a missing image builds a new one (older ones are
# removed). A VM never writes the base: each gets a qcow2 overlay.
#
#   build-image.sh CACHE_DIR [PACKAGE...]     extra packages: the .deb's dependencies
# prints IMAGE=<base.qcow2>, KERNEL=<vmlinuz> and INITRD=<initrd.img>; progress on stderr.
set -euo pipefail
CACHE=$1/hosts; shift
HERE=$(cd "$(dirname "$0")" && pwd)
say() { echo "hosts-image: $*" >&2; }
PACKAGES="systemd,systemd-sysv,udev,dbus,kmod,lvm2,xfsprogs,iproute2,iputils-ping,procps,psmisc"
PACKAGES+=",apt,linux-image-amd64,initramfs-tools,zstd,openssl,ca-certificates"   # (the kernel needs an initramfs tool)
PACKAGES+=",strace"   # to see where a step spends its time (docs/hosts.md)
for p in "$@"; do PACKAGES+=",$p"; done
HASH=$( (cat "$0" "$HERE/init" "$HERE/agent" "$HERE/veeamha-test-agent.service"; echo "$PACKAGES"; ls -lL /bin/busybox) |
       sha256sum | cut -c1-16)
IMG=$CACHE/image-$HASH
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock -w 1200 9 || { say "cannot lock $CACHE/.lock"; exit 1; }
TMPS=()
trap 'rm -rf "${TMPS[@]}"' EXIT   # half-built folders never stay in the cache

if [ ! -f "$IMG/done" ]; then
  # The Debian mirror apt uses on this machine (deb822 or one-line sources).
  MIRROR=$(apt-get indextargets --format '$(REPO_URI)' 'Created-By: Packages' 2>/dev/null |
           grep -m1 -E '/debian/?$' || true)
  MIRROR=${MIRROR:-http://deb.debian.org/debian/}
  say "debootstrap bookworm from $MIRROR (once; cached in $IMG)"
  T=$(mktemp -d "$CACHE/build.XXXXXX"); TMPS+=("$T")
  R=$T/root
  # The downloaded packages stay in the cache too: a changed recipe reinstalls, not downloads.
  mkdir -p "$CACHE/debs"
  # With fence_ipmilan, as a site with physical hosts installs it for fencing.levels (the
  # physical-host run, tests/hosts/bmc_phase.h). python3-cffi-backend by name: debootstrap does
  # not resolve the virtual python3-cffi-backend-api-* that python3-cryptography depends on.
  debootstrap --variant=minbase --cache-dir="$CACHE/debs" --include="$PACKAGES,fence-agents,python3-cffi-backend,ipmitool" bookworm "$R" "$MIRROR" \
    > "$T/debootstrap.log" 2>&1 ||
    { tail -30 "$T/debootstrap.log" >&2; say "debootstrap failed"; exit 1; }
  # The kernel is Debian's; the initramfs a busybox one (image/init) with the image's own
  # virtio and ext4 modules: Debian's, with udev inside, took ~30 s of a boot under emulation.
  KV=$(ls "$R/lib/modules" | head -1)
  cp "$R/boot/vmlinuz-$KV" "$T/vmlinuz"
  I=$T/initramfs
  mkdir -p "$I"/{bin,proc,sys,dev,newroot,lib/modules/$KV}
  cp /bin/busybox "$I/bin/busybox"
  for m in virtio_pci virtio_blk crc32c_generic ext4; do modprobe -d "$R" -S "$KV" --show-depends "$m"; done |
    awk '$1=="insmod" {print $2}' | sort -u | while read -r f; do
      rel=${f#"$R"/}; mkdir -p "$I/$(dirname "$rel")"; cp "$f" "$I/$rel"; done
  cp "$R"/lib/modules/"$KV"/modules.{order,builtin,builtin.modinfo} "$I/lib/modules/$KV/"
  depmod -b "$I" "$KV"
  install -m 755 "$HERE/init" "$I/init"
  (cd "$I" && find . | busybox cpio -o -H newc -R 0:0 2>/dev/null | gzip -1) > "$T/initrd.img"
  rm -rf "$I"

  echo "/dev/vda / ext4 defaults,errors=remount-ro 0 1" > "$R/etc/fstab"
  echo "localhost" > "$R/etc/hostname"     # each VM gets its name from systemd.hostname=
  # The console is the test's log: no login prompt on it (its vhangup would cut the log).
  ln -sf /dev/null "$R/etc/systemd/system/serial-getty@ttyS0.service"
  ln -sf /dev/null "$R/etc/systemd/system/getty@tty1.service"
  # Boot-time chores that cost ~20 s each under emulation and do nothing for a test host.
  ln -sf /dev/null "$R/etc/systemd/system/e2scrub_reap.service"
  # Nothing in the tier logs in (no getty, commands come through the agent) or uses these
  # pseudo filesystems and modules; under emulation each boot spent ~10 s of its one CPU on them
  # (systemd-logind alone 6-16 s in systemd-analyze blame). dbus, udev, journald, networkd and
  # lvm2's units stay: the product or the scenarios use them.
  for u in systemd-logind.service systemd-user-sessions.service modprobe@drm.service modprobe@efi_pstore.service \
           sys-kernel-debug.mount sys-kernel-tracing.mount sys-kernel-config.mount sys-fs-fuse-connections.mount \
           dev-hugepages.mount proc-sys-fs-binfmt_misc.automount systemd-binfmt.service systemd-network-generator.service; do
    ln -sf /dev/null "$R/etc/systemd/system/$u"
  done
  # Generators the tier has nothing for (no encrypted, verity or GPT-discovered disks, no
  # SysV scripts, no rc.local, no getty): each costs ~0.2 s under emulation at every boot and
  # every `systemctl daemon-reload` (which package installs, enables and purges run). fstab's
  # generator stays.
  mkdir -p "$R/etc/systemd/system-generators"
  for g in cryptsetup debug getty gpt-auto hibernate-resume integritysetup rc-local run system-update sysv veritysetup; do
    ln -sf /dev/null "$R/etc/systemd/system-generators/systemd-$g-generator"
  done
  # Timers that could run apt, dpkg or a filesystem scan in the middle of a step (apt's lock
  # taken while the test installs the package): a test host runs only what the test does.
  for t in apt-daily apt-daily-upgrade dpkg-db-backup e2scrub_all fstrim; do
    ln -sf /dev/null "$R/etc/systemd/system/$t.timer"
  done
  # Names eth0/eth1 in PCI order (net.ifnames=0 on the command line); the test writes the
  # systemd-networkd files of each host.
  chroot "$R" systemctl enable systemd-networkd.service > /dev/null 2>&1
  install -m 755 "$HERE/agent" "$R/usr/local/sbin/veeamha-test-agent"
  install -m 644 "$HERE/veeamha-test-agent.service" "$R/etc/systemd/system/"
  chroot "$R" systemctl enable veeamha-test-agent.service > /dev/null 2>&1
  mkdir -p "$R/host"
  # Nothing in the image may depend on this machine: no apt lists, no downloaded packages.
  rm -rf "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/archives/*.deb "$R/boot"/*
  truncate -s 3G "$T/root.raw"
  mkfs.ext4 -q -F -L root -d "$R" "$T/root.raw"
  qemu-img convert -q -f raw -O qcow2 "$T/root.raw" "$T/base.qcow2"
  rm -rf "$R" "$T/root.raw"
  echo "$KV" > "$T/kernel-version"
  touch "$T/done"
  rm -rf "$IMG"; mv "$T" "$IMG"
  for old in "$CACHE"/image-*; do [ "$old" = "$IMG" ] || rm -rf "$old"; done   # older recipes
  # Packages no longer in the recipe's versions (a point release replaced them).
  find "$CACHE/debs" -name '*.deb' -mtime +60 -delete
fi
echo "IMAGE=$IMG/base.qcow2"
echo "KERNEL=$IMG/vmlinuz"
echo "INITRD=$IMG/initrd.img"
