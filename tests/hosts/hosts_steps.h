// SPDX-License-Identifier: GPL-2.0-or-later
// The hosts tier's steps (docs/hosts.md): commands in the VMs whose exit code is checked, shell
// conditions polled inside a VM, the same step on both VMs at once, files sent through the
// command channel, and the package's metadata. Checks are Catch2 REQUIREs on the caller's
// thread, each with the command and its output as context.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "tests/common/read_file.h"
#include "tests/hosts/hosts_cluster.h"

namespace veeamha::test::hosts {

bool have(const std::string& program);
using veeamha::test::slurp;  // tests/common/read_file.h

// `command` must exit with `rc`; its output, for further checks.
VmReply expect(HostsCluster& c, HostVm& h, const std::string& command, int rc = 0,
               std::chrono::seconds timeout = std::chrono::seconds(180));

// `text` as one single-quoted shell word.
std::string quoted(const std::string& text);

// The command that polls a shell condition inside the VM (every 500 ms) until it holds or
// `seconds` pass; then it prints the node's status and the daemon's last lines and fails.
std::string poll_command(const std::string& condition, int seconds);
void wait_in(HostsCluster& c, HostVm& h, const std::string& condition, int seconds);

// The same step on both hosts at once (each VM is its own emulated CPU): `command(host)` runs in
// each, then each must exit with `rc`. The checks run here, on the test's thread.
std::vector<VmReply> expect_both(HostsCluster& c, const std::function<std::string(HostVm&)>& command, int rc = 0,
                                 std::chrono::seconds timeout = std::chrono::seconds(300));

// The .deb's Depends, first alternative of each, without versions: the image must hold them
// (the VMs have no way to a mirror), so the image recipe includes them.
std::vector<std::string> deb_depends(const std::string& deb);
// A copy of `deb` whose control file says `version` (dpkg-deb -R, then -b): a "newer build"
// of the same programs, in `out_dir`. Returns its path.
std::string repack_deb(const std::string& deb, const std::string& version, const std::string& out_dir);

// Replaces `from` (which must occur exactly once: an example that changed is noticed) by `to`.
void edit(std::string& text, const std::string& from, const std::string& to);

std::string base64(const std::string& data);
std::string unbase64(const std::string& encoded);

// Writes a file in the VM through the command channel (files the run folder gets after a VM
// mounted it are not reliably seen through 9p). Only the path and size are logged: some of these
// files are secrets.
void put_file(HostsCluster& c, HostVm& h, const std::string& path, const std::string& content, const char* mode);
// The same file on both hosts at once.
void put_file_both(HostsCluster& c, const std::string& path, const std::string& content, const char* mode);

// The systemd-networkd files of the host's two links, then a restart of networkd.
std::string network_files(const HostVm& h);

// The journal cursor of the unit now: what `journal_since` reads from.
std::string journal_cursor(HostsCluster& c, HostVm& h, const std::string& unit);
// The unit's journal after `cursor` (monotonic timestamps: one clock per boot, milliseconds).
std::string journal_since(HostsCluster& c, HostVm& h, const std::string& unit, const std::string& cursor);

// A unit's property (`systemctl show -p NAME --value`), e.g. MainPID.
std::string unit_property(HostsCluster& c, HostVm& h, const std::string& unit, const std::string& property);

}  // namespace veeamha::test::hosts
