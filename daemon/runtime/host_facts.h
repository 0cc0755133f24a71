// SPDX-License-Identifier: GPL-2.0-or-later
// What `veeam-hactl check --peer` compares (README "The two hosts are one"): the facts one node
// reads about itself. Each gatherer blocks (files, systemctl, lvmconfig) and runs off the loop
// (BlockingRunner); commands have a deadline, and every list and text is bounded. Every path is
// read under `root` ("/" on a real host; a directory standing for it in the tests).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "daemon/runtime/sync/entry.h"
#include "proto/veeamha.pb.h"

namespace veeamha::runtime {

inline constexpr size_t kMaxFactText = 256;       // a name, version, fingerprint
inline constexpr size_t kMaxFactList = 256;       // accounts, packages, keys
inline constexpr size_t kMaxConfigLines = 4096;   // canonical lines carried (the digest covers all)
inline constexpr size_t kMaxConfigBytes = 256 * 1024;

struct FactsSpec {
    std::string root = "/";
    std::string node;
    bool holding = false;
    std::string config_path;
    uint64_t config_digest = 0;
    std::vector<std::string> config_lines;
    std::vector<std::string> sync_paths;
    sync::Limits sync_limits;
    std::optional<std::vector<std::string>> users, groups;  // unset: every veeam* name
    std::vector<std::string> units;                          // the group's service units
    std::vector<std::string> xfs_mountpoints;                // the group's XFS filesystems
    std::string dpkg_admindir;                               // tests: dpkg's database under root
    std::chrono::milliseconds command_timeout{5000};         // each command run
};

// The paths the `sync:` section lists (one place to adapt when its shape changes).
std::vector<std::string> sync_paths(const config::Config& config);
// Everything a check needs from the configuration (the part read on the loop).
FactsSpec facts_spec(const config::Config& loaded, const std::string& node, bool holding,
                     const std::string& config_path);

// All facts of this host. Blocking.
wire::HostFacts gather_host_facts(const FactsSpec& spec);

// The gatherers, one per item. A gatherer that cannot read its item sets `problem`.
// The files the sync: section's paths hold, as the sync reads them (daemon/runtime/sync/scan.h):
// a folder as its files, a link or a file over the limits with the reason, a missing path as
// "missing".
std::vector<wire::FileFact> file_hashes(const std::string& root, const std::vector<std::string>& paths,
                                        const sync::Limits& limits = {});
// "SHA256:..." of one line of an OpenSSH .pub file, as ssh-keygen -lf prints it; "" if the
// line is not a public key.
std::string ssh_fingerprint(const std::string& pub_line);
std::vector<wire::KeyFingerprint> ssh_host_keys(const std::string& root, std::string& problem);
// /etc/passwd and /etc/group under root (fgetpwent/fgetgrent): the listed names, or every name
// starting with "veeam" when `names` is unset.
std::vector<wire::AccountFact> users(const std::string& root, const std::optional<std::vector<std::string>>& names,
                                     std::string& problem);
std::vector<wire::AccountFact> groups(const std::string& root, const std::optional<std::vector<std::string>>& names,
                                      std::string& problem);
// Whether systemd runs this host (what sd_booted(3) checks: /run/systemd/system).
bool systemd_runs(const std::string& root);
// The unit's file and drop-ins (searched in systemd's unit path, `systemd-analyze unit-paths`)
// and `systemctl --root is-enabled`.
wire::UnitFact unit_fact(const std::string& root, const std::string& unit, std::chrono::milliseconds timeout);
// Installed veeam* packages, as `dpkg-query -W 'veeam*'` lists them from the dpkg database in
// `admindir` ("" = dpkg's own); false if there is no dpkg-query (not a Debian host).
bool veeam_packages(const std::string& admindir, std::vector<wire::PackageFact>& out, std::string& problem);
// `lvmconfig --typeconfig full global/system_id_source` with LVM_SYSTEM_DIR=root/etc/lvm.
std::optional<std::string> lvm_system_id_source(const std::string& root, std::chrono::milliseconds timeout,
                                                std::string& problem);
// adjtimex(2): false when the kernel says the clock is not synchronised (STA_UNSYNC).
std::optional<bool> time_synchronised(std::string& problem);
// XFS_IOC_FSGEOMETRY on the mountpoint, if an XFS filesystem is mounted there.
wire::XfsFact xfs_fact(const std::string& root, const std::string& mountpoint);

}  // namespace veeamha::runtime
