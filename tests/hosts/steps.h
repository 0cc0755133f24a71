// SPDX-License-Identifier: GPL-2.0-or-later
// The hosts tier's steps, for the physical-host run (bmc_phase.cc, hosts_bmc_test.cc): commands
// in a VM whose exit code is checked (Catch2 REQUIREs, so only on a test case's thread), polls
// inside a VM, the same step on both VMs at once, files written through the command channel.
// The same functions as hosts_test.cc's, with the same names and signatures in the same
// namespace as the shared hosts_steps.h being made from them on the tier's branch: once that is
// merged, this file goes and its users include that one.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "tests/hosts/hosts_cluster.h"

namespace veeamha::test::hosts {

// Whether `program` is in PATH here.
bool have(const std::string& program);
std::string slurp(const std::string& path);

// `command` must exit with `rc`; its output, for further checks.
VmReply expect(HostsCluster& c, HostVm& h, const std::string& command, int rc = 0,
               std::chrono::seconds timeout = std::chrono::seconds(180));

// `text` as one single-quoted shell word.
std::string quoted(const std::string& text);

// The command that polls a shell condition inside the VM (every 200 ms) until it holds or
// `seconds` pass; then it prints the node's status and the daemon's last lines and fails.
std::string poll_command(const std::string& condition, int seconds);
void wait_in(HostsCluster& c, HostVm& h, const std::string& condition, int seconds);

// The same step on both hosts at once (each VM is its own emulated CPU): `command(host)` runs in
// each, then each must exit with `rc`. The checks run on the calling thread.
std::vector<VmReply> expect_both(HostsCluster& c, const std::function<std::string(HostVm&)>& command, int rc = 0,
                                 std::chrono::seconds timeout = std::chrono::seconds(300));

// The .deb's Depends, first alternative of each, without versions (the image must hold them).
std::vector<std::string> deb_depends(const std::string& deb);

// Replaces `from` (which must occur exactly once: an example that changed is noticed) by `to`.
void edit(std::string& text, const std::string& from, const std::string& to);

std::string base64(const std::string& data);
std::string unbase64(const std::string& encoded);

// Writes a file in the VM through the command channel (files the run folder gets after a VM
// mounted it are not reliably seen through 9p). Only the path and size are logged.
void put_file(HostsCluster& c, HostVm& h, const std::string& path, const std::string& content, const char* mode);

// The systemd-networkd files of the host's two links, then a restart of networkd.
std::string network_files(const HostVm& h);

}  // namespace veeamha::test::hosts
