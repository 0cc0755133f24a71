// SPDX-License-Identifier: GPL-2.0-or-later
// The end-to-end tests' Catch2 listener: names each run after its test (the daemons' logs are
// kept under that name), and on the first failed assertion of a test prints what the cluster
// looked like and the tail of both daemons' logs (in CI, the test's output is all one has).
#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include <catch2/catch.hpp>

#include <iostream>

#include "tests/lab/e2e_cluster.h"

namespace veeamha::lab::e2e {
namespace {

struct E2eListener : Catch::TestEventListenerBase {
    using TestEventListenerBase::TestEventListenerBase;
    bool printed = false;

    void testCaseStarting(Catch::TestCaseInfo const& info) override {
        TestEventListenerBase::testCaseStarting(info);
        set_run_name(info.name);
        printed = false;
    }

    bool assertionEnded(Catch::AssertionStats const& stats) override {
        Cluster* c = current_cluster();
        if (!stats.assertionResult.isOk() && !printed && c) {
            printed = true;
            try {
                std::cerr << "\n==== e2e diagnostics at the first failure ====\n"
                          << c->diagnostics() << "(every log of this run is kept under " << kept_logs_root()
                          << ")\n==== end of e2e diagnostics ====\n";
            } catch (const std::exception& e) {
                std::cerr << "e2e diagnostics failed: " << e.what() << "\n";
            }
        }
        return TestEventListenerBase::assertionEnded(stats);
    }
};

}  // namespace

CATCH_REGISTER_LISTENER(E2eListener)

}  // namespace veeamha::lab::e2e
