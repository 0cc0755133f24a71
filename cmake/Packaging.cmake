# SPDX-License-Identifier: GPL-2.0-or-later
# `cpack -G DEB` in the build folder makes veeam-had_<version>_<arch>.deb: both
# programs in /usr/sbin, the unit in /lib/systemd/system, /etc/veeam-ha.yaml.example (a
# conffile), the man pages, bash completion, and README, copyright and changelog in
# /usr/share/doc/veeam-had (packaging/ makes them). tests/package checks the result, with
# lintian among others.
set(VEEAMHA_MAINTAINER "veeam-had maintainers <veeam-had@example.org>" CACHE STRING
    "The Maintainer of the .deb (and of its changelog entry): set your team's name and address")
# A native package (the version has no Debian revision): this source tree is its own upstream
# and its own packaging, and the package is built here, not uploaded to Debian. A -1 revision
# would make lintian ask the first changelog entry to close an ITP bug that does not exist.
add_subdirectory(packaging)

set(CPACK_PACKAGE_NAME veeam-had)
set(CPACK_PACKAGE_VENDOR "veeam-had developers")
set(CPACK_PACKAGE_CONTACT "${VEEAMHA_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${VEEAMHA_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "two-node active/passive HA daemon for a Veeam Linux repository")
# CPack indents these lines itself; each stays under 80 columns with that indent.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "veeam-had replaces Pacemaker/Corosync for a two-node Veeam Backup &
Replication Linux repository on shared SAN LUNs: one daemon that moves LVM
volume groups, XFS mounts, a floating IP and the veeamtransport service
between the nodes, and fences a lost peer through vCenter (VM power-off
confirmed by read-back) before taking anything over.")
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "lvm2, xfsprogs")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "fence-agents")
# conffiles: dpkg keeps a user's edits of /etc/veeam-ha.yaml.example. postinst reloads systemd
# and never starts, enables or restarts the daemon; postrm forgets the unit (and its enable
# links and state on purge), see systemd/postinst and systemd/postrm.
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${PROJECT_SOURCE_DIR}/systemd/conffiles;${PROJECT_SOURCE_DIR}/systemd/postinst;${PROJECT_SOURCE_DIR}/systemd/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)  # debug info stays in the build folder
# Files outside the prefix (/lib/systemd/system, /etc) are expected: do not warn about them.
set(CPACK_WARN_ON_ABSOLUTE_INSTALL_DESTINATION OFF)
include(CPack)
