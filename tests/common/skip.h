// SPDX-License-Identifier: GPL-2.0-or-later
// A test that cannot run on this machine (no root, no systemd-nspawn, no qemu). On a developer's
// machine that is a warning and the test ends; where every tier must run (scripts/test, that
// is CI, exports VEEAMHA_REQUIRE_ALL_TESTS=1) it is a failure: a skipped tier is no coverage.
#pragma once

#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>

namespace veeamha::test {

inline bool every_test_must_run() {
    const char* v = std::getenv("VEEAMHA_REQUIRE_ALL_TESTS");
    return v && std::strcmp(v, "1") == 0;
}

}  // namespace veeamha::test

// Ends the test case: use it in the TEST_CASE body itself.
#define VEEAMHA_SKIP_TEST(why)                                                                  \
    do {                                                                                        \
        if (::veeamha::test::every_test_must_run())                                             \
            FAIL("cannot run here, and VEEAMHA_REQUIRE_ALL_TESTS=1: " << why);                  \
        WARN("skipped: " << why);                                                               \
        return;                                                                                 \
    } while (0)
