// SPDX-License-Identifier: GPL-2.0-or-later
// The lab cannot show corruption: a loop device mounted in two mount namespaces is ONE kernel
// superblock, so a double mount neither fails nor corrupts anything. A test must therefore
// detect double activation itself: this thread reads /proc/<init>/mountinfo of both hosts
// every few milliseconds and records every instant the shared disk is mounted on both.
//
// An instant counts when host A's mount is seen before AND after a read that sees host B's
// (the reads are microseconds apart; no real handover fits between them). A host that is off
// has nothing mounted (its mount table died with its processes).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace veeamha::lab {

class Lab;

class DoubleMountWatcher {
public:
    // Starts watching at once. `lab` must outlive the watcher (declare the watcher after it).
    DoubleMountWatcher(const Lab& lab, dev_t device, std::chrono::microseconds period = std::chrono::milliseconds(2));
    ~DoubleMountWatcher();
    DoubleMountWatcher(const DoubleMountWatcher&) = delete;
    DoubleMountWatcher& operator=(const DoubleMountWatcher&) = delete;

    void stop();

    struct Overlap {
        std::chrono::steady_clock::time_point at;
        std::string n1;  // the mountinfo lines seen
        std::string n2;
    };
    std::vector<Overlap> overlaps() const;  // the first 100
    uint64_t overlap_count() const { return overlaps_total_; }
    // When the first and the last overlap were seen (nullopt: none). With overlaps() capped,
    // these bound every overlap in time: for a test that causes a double mount on purpose.
    std::optional<std::chrono::steady_clock::time_point> first_overlap_at() const;
    std::optional<std::chrono::steady_clock::time_point> last_overlap_at() const;
    // Both seen in one sample but not confirmed by the re-read (a handover between two reads).
    uint64_t unconfirmed_count() const { return unconfirmed_; }
    uint64_t samples() const { return samples_; }
    // Samples in which host 0 (n1) / 1 (n2) had the disk mounted: proof the watcher saw it.
    uint64_t mounted_samples(int host) const { return mounted_[host]; }
    std::string report() const;  // one paragraph for a failed REQUIRE

    // The mountinfo line of `device` in the mount table of process `pid`, or "" (none, or the
    // process is gone). For one-off checks.
    static std::string mount_line(pid_t pid, dev_t device);

private:
    struct Probe {
        pid_t pid = 0;
        int dirfd = -1;  // /proc/<pid>: stays bound to that process even if the PID is reused
    };
    void loop();
    std::string read_host(int index);

    const Lab& lab_;
    std::string devno_;  // "major:minor" as mountinfo writes it
    std::chrono::microseconds period_;
    Probe probes_[2];
    std::atomic<bool> stop_{false};
    std::atomic<uint64_t> samples_{0}, overlaps_total_{0}, unconfirmed_{0};
    std::atomic<uint64_t> mounted_[2] = {0, 0};
    mutable std::mutex mu_;
    std::vector<Overlap> overlaps_;
    std::optional<std::chrono::steady_clock::time_point> last_overlap_;
    std::thread thread_;
};

}  // namespace veeamha::lab
