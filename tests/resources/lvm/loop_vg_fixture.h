// SPDX-License-Identifier: GPL-2.0-or-later
// Lab fixture: LVM metadata on loop devices created by this test process, with
// global/activation=0 (the CI kernel has no device-mapper) and one LVM system ID per simulated
// node (local/system_id). Every lvm command is restricted with --devices to this fixture's loop
// devices, so VGs of other tests on the machine are never seen or touched. VG names carry the
// PID. Everything is removed in the destructor, also when the test failed.
#pragma once

#include <unistd.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/process.h"
#include "storage/lvm/lvm_commands.h"
#include "tests/common/stale_runs.h"

namespace veeamha::test {

inline base::ProcessResult run_cmd(std::vector<std::string> argv, int seconds = 30) {
    base::ProcessSpec spec;
    spec.argv = std::move(argv);
    spec.deadline = base::Clock::now() + std::chrono::seconds(seconds);
    spec.extra_env = {"LVM_SUPPRESS_FD_WARNINGS=1", "LC_ALL=C"};
    return base::run_process(spec);
}

class LoopDisks {
public:
    // `count` sparse files of `mib` MiB, each attached to a free loop device.
    explicit LoopDisks(int count = 1, int mib = 64) {
        static std::atomic<int> seq{0};
        // A killed earlier run's files and the loop devices still attached to them.
        sweep_stale_runs(kPrefix);
        std::string stem = kPrefix + std::to_string(::getpid()) + "-" + std::to_string(seq++);
        for (int i = 0; i < count; ++i) {
            std::string file = stem + "-" + std::to_string(i) + ".img";
            auto t = run_cmd({"truncate", "-s", std::to_string(mib) + "M", file});
            if (!t.success()) throw std::runtime_error("truncate " + file + ": " + t.describe());
            files_.push_back(file);
            auto l = run_cmd({"losetup", "--find", "--show", file});
            if (!l.success()) throw std::runtime_error("losetup " + file + ": " + l.describe());
            std::string dev = l.out.substr(0, l.out.find('\n'));
            devices_.push_back(dev);
        }
    }
    ~LoopDisks() {
        for (const auto& d : devices_) run_cmd({"losetup", "-d", d});
        for (const auto& f : files_) ::unlink(f.c_str());
    }
    LoopDisks(const LoopDisks&) = delete;
    LoopDisks& operator=(const LoopDisks&) = delete;

    const std::vector<std::string>& devices() const { return devices_; }

    static constexpr const char* kPrefix = "/var/tmp/veeamha-lvmlab-";

private:
    std::vector<std::string> files_;
    std::vector<std::string> devices_;
};

// lvm.conf overrides for a simulated node (empty id = a host without system ID). No metadata
// backup or archive: those go to the machine's /etc/lvm, and a test VG's copies would stay there
// after it (about a thousand files from a day of CI runs were found, 2026-12-03).
inline std::string node_config(const std::string& system_id) {
    std::string c = "global/activation=0 backup/backup=0 backup/archive=0";
    if (system_id.empty()) return c + " global/system_id_source=\"none\"";
    return c + " global/system_id_source=\"lvmlocal\" local/system_id=\"" + system_id + "\"";
}

inline storage::lvm::LvmCommandOptions node_options(const std::vector<std::string>& devices,
                                           const std::string& system_id) {
    storage::lvm::LvmCommandOptions o;
    o.devices = devices;
    o.config = node_config(system_id);
    return o;
}

// `lvm SUB --devices ... --config CONFIG ARGS...` as node `system_id`.
inline base::ProcessResult lvm_as(const std::vector<std::string>& devices, const std::string& system_id,
                            const std::string& sub, std::vector<std::string> args,
                            const std::string& extra_config = {}) {
    std::vector<std::string> argv{"lvm", sub};
    for (const auto& d : devices) {
        argv.push_back("--devices");
        argv.push_back(d);
    }
    argv.push_back("--config");
    argv.push_back(node_config(system_id) + (extra_config.empty() ? "" : " " + extra_config));
    argv.insert(argv.end(), args.begin(), args.end());
    return run_cmd(argv);
}

// A VG with two small LVs, created by node `owner` (so it carries that system ID; "" = none).
class TestVg {
public:
    TestVg(const LoopDisks& disks, const std::string& owner, const std::string& suffix = "")
        : devices_(disks.devices()),
          name_("vhlab" + std::to_string(::getpid()) + suffix) {
        auto p = lvm_as(devices_, owner, "pvcreate", with_devices({"-y"}));
        if (!p.success()) throw std::runtime_error("pvcreate: " + p.describe());
        std::vector<std::string> args{"-y", name_};
        args.insert(args.end(), devices_.begin(), devices_.end());
        auto v = lvm_as(devices_, owner, "vgcreate", args);
        if (!v.success()) throw std::runtime_error("vgcreate: " + v.describe());
        for (const char* lv : {"lv_a", "lv-b"}) {
            auto l = lvm_as(devices_, owner, "lvcreate", {"-y", "-an", "-Zn", "-L", "8M", "-n", lv, name_});
            if (!l.success()) throw std::runtime_error(std::string("lvcreate ") + lv + ": " + l.describe());
        }
    }
    ~TestVg() {
        // Whoever owns it now: allow every ID the tests use.
        lvm_as(devices_, "cleanup", "vgremove", {"-ff", "-y", name_},
               "local/extra_system_ids=[\"nodeA\",\"nodeB\",\"nodeC\"]");
    }
    TestVg(const TestVg&) = delete;
    TestVg& operator=(const TestVg&) = delete;

    const std::string& name() const { return name_; }

    // The VG's system ID and tags as seen from the metadata (foreign VGs included).
    std::string system_id() const { return field("vg_systemid"); }
    std::string tags() const { return field("vg_tags"); }

private:
    std::vector<std::string> with_devices(std::vector<std::string> args) const {
        args.insert(args.end(), devices_.begin(), devices_.end());
        return args;
    }
    std::string field(const std::string& name) const {
        auto r = lvm_as(devices_, "reader", "vgs",
                        {"--foreign", "--noheadings", "--unquoted", "-o", name, name_});
        if (!r.success()) throw std::runtime_error("vgs: " + r.describe());
        std::string v = r.out;
        size_t b = v.find_first_not_of(" \t\n");
        size_t e = v.find_last_not_of(" \t\n");
        return b == std::string::npos ? std::string() : v.substr(b, e - b + 1);
    }
    std::vector<std::string> devices_;
    std::string name_;
};

}  // namespace veeamha::test
