# SPDX-License-Identifier: GPL-2.0-or-later
# `cpack -G DEB` in the build folder makes veeam-had_<version>_<arch>.deb: both programs in
# /usr/sbin, the unit in /lib/systemd/system, /etc/veeam-ha.yaml.example (a conffile), the
# README and licence in /usr/share/doc/veeam-had. tests/package checks the result.
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/LICENSE
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_PACKAGE_NAME veeam-had)
set(CPACK_PACKAGE_VENDOR "veeam-had developers")
set(CPACK_PACKAGE_CONTACT "veeam-had developers <veeam-had@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
# The synopsis is CPACK_PACKAGE_DESCRIPTION_SUMMARY; CPack indents these lines itself.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "veeam-had replaces Pacemaker/Corosync for a two-node Veeam Backup & Replication Linux
repository on shared SAN LUNs: one daemon that moves LVM volume groups, XFS mounts, a
floating IP and the veeamtransport service between the nodes, and fences a lost peer
through vCenter (VM power-off confirmed by read-back) before taking anything over.")
set(CPACK_RESOURCE_FILE_LICENSE "${PROJECT_SOURCE_DIR}/LICENSE")
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "lvm2, xfsprogs")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "fence-agents")
# conffiles: dpkg keeps a user's edits of /etc/veeam-ha.yaml.example; postinst/postrm only
# reload systemd (they never start or restart the daemon, see systemd/postinst).
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${PROJECT_SOURCE_DIR}/systemd/conffiles;${PROJECT_SOURCE_DIR}/systemd/postinst;${PROJECT_SOURCE_DIR}/systemd/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)  # debug info stays in the build folder
# Files outside the prefix (/lib/systemd/system, /etc) are expected: do not warn about them.
set(CPACK_WARN_ON_ABSOLUTE_INSTALL_DESTINATION OFF)
include(CPack)
