// SPDX-License-Identifier: GPL-2.0-or-later
// Checks every end-to-end test ends with: every acknowledged record of the writer is on the
// disk intact (and served back through the service), and the shared XFS was never mounted on
// both hosts at once during the whole test.
#pragma once

#include <catch2/catch.hpp>

#include "tests/lab/e2e_cluster.h"

namespace veeamha::lab::e2e {

inline void check_records_and_mounts(Cluster& c) {
    const auto stats = c.writer() ? c.writer()->stats() : WriterStats{};
    INFO("writer: " << stats.acked << " acknowledged, " << stats.failures << " failed attempts, "
                    << stats.connects << " connections, longest wait " << stats.longest_gap.count() << " ms");
    std::string problems = c.stop_writer_and_verify();
    CHECK(problems == "");
    c.watcher().stop();
    INFO(c.watcher().report());
    CHECK(c.watcher().overlap_count() == 0);
    CHECK(c.watcher().samples() > 100);
    CHECK(c.watcher().mounted_samples(0) + c.watcher().mounted_samples(1) > 0);
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
