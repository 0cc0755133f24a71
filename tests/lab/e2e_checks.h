// SPDX-License-Identifier: GPL-2.0-or-later
// Checks every end-to-end test ends with: every acknowledged record of the writer is on the
// disk intact (and served back through the service), and the shared XFS was never mounted on
// both hosts at once during the whole test.
#pragma once

#include <catch2/catch.hpp>

#include "tests/lab/e2e_cluster.h"

namespace veeamha::lab::e2e {

inline void check_records(Cluster& c) {
    const auto stats = c.writer() ? c.writer()->stats() : WriterStats{};
    INFO("writer: " << stats.acked << " acknowledged, " << stats.failures << " failed attempts, "
                    << stats.connects << " connections, longest wait " << stats.longest_gap.count() << " ms");
    std::string problems = c.stop_writer_and_verify();
    CHECK(problems == "");
}

inline void check_records_and_mounts(Cluster& c) {
    check_records(c);
    c.watcher().stop();
    INFO(c.watcher().report());
    CHECK(c.watcher().overlap_count() == 0);
    CHECK(c.watcher().samples() > 100);
    CHECK(c.watcher().mounted_samples(0) + c.watcher().mounted_samples(1) > 0);
}

// The same for a test that itself mounts the disk on the host that does not run the group
// (it plays the OS at boot): that double mount is the test's doing, so the watcher must have
// seen it (else it proves nothing), and every sample of it must lie inside [from, to] (from the
// test's mount to the moment it saw the daemon's unmount); not one outside.
inline void check_records_and_mounts_within(Cluster& c, Clock::time_point from, Clock::time_point to) {
    check_records(c);
    c.watcher().stop();
    INFO(c.watcher().report());
    auto first = c.watcher().first_overlap_at(), last = c.watcher().last_overlap_at();
    REQUIRE(c.watcher().overlap_count() > 0);
    REQUIRE(first);
    REQUIRE(last);
    INFO("double mount from " << std::chrono::duration_cast<std::chrono::milliseconds>(*first - from).count()
                              << " ms to " << std::chrono::duration_cast<std::chrono::milliseconds>(*last - from).count()
                              << " ms after the test's mount; the test saw it unmounted at "
                              << std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count() << " ms");
    CHECK(*first >= from);
    CHECK(*last <= to);
    CHECK(c.watcher().samples() > 100);
}

// No fence was requested in this log text.
inline bool no_fencing(const std::string& log) { return log.find("fence-request") == std::string::npos; }

// Each of `lines` appears in `text`, each after the one before.
inline bool in_order(const std::string& text, const std::vector<std::string>& lines) {
    size_t pos = 0;
    for (const auto& l : lines) {
        pos = text.find(l, pos);
        if (pos == std::string::npos) return false;
        pos += l.size();
    }
    return true;
}

}  // namespace veeamha::lab::e2e
