// SPDX-License-Identifier: GPL-2.0-or-later
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "daemon/runtime/file_sync.h"
#include "tests/common/temp_dir.h"

using namespace veeamha;

using veeamha::test::TempDir;

namespace {

std::string slurp(const std::string& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

TEST_CASE("sync: the active sends a file once per change, the passive writes it with its mode") {
    TempDir a{"veeamha-sync"}, b{"veeamha-sync"};
    // Both nodes list the same path (one config); here two folders stand for two machines.
    std::string src = a.path + "/unit.service";
    std::ofstream(src) << "[Service]\nExecStart=/bin/true\n";
    ::chmod(src.c_str(), 0640);
    runtime::FileSync active({src});
    std::vector<std::string> problems;
    auto first = active.changed(problems);
    REQUIRE(first.size() == 1);
    CHECK(problems.empty());
    CHECK(active.changed(problems).empty());  // unchanged: nothing to send

    // The passive's copy lives at the same path on its machine: emulate by renaming the source.
    std::string dst = b.path + "/unit.service";
    first[0].set_path(dst);
    runtime::FileSync passive({dst});
    CHECK(passive.results().empty());  // /metrics: no sample before the first attempt
    CHECK(passive.apply(first[0]).empty());
    CHECK(passive.results() == std::map<std::string, bool>{{dst, true}});
    CHECK(active.results() == std::map<std::string, bool>{{src, true}});
    CHECK(slurp(dst) == "[Service]\nExecStart=/bin/true\n");
    struct stat st{};
    REQUIRE(::stat(dst.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0640);

    std::ofstream(src, std::ios::app) << "Restart=always\n";
    auto second = active.changed(problems);
    REQUIRE(second.size() == 1);
    CHECK(second[0].content().find("Restart=always") != std::string::npos);
}

TEST_CASE("sync: the passive refuses paths it does not list and damaged content") {
    TempDir b{"veeamha-sync"};
    runtime::FileSync passive({b.path + "/allowed"});
    wire::FileSync f;
    f.set_path("/etc/shadow");
    f.set_content("x");
    CHECK(passive.apply(f) == "/etc/shadow is not in this node's sync list: ignored");
    CHECK(::access("/etc/shadow.veeam-ha-sync", F_OK) != 0);
    f.set_path(b.path + "/allowed");
    f.set_sha256("wrong");
    CHECK(passive.apply(f).find("damaged or too large") != std::string::npos);
    CHECK(::access((b.path + "/allowed").c_str(), F_OK) != 0);
    // Only listed paths get a result (a peer cannot add series by sending names).
    CHECK(passive.results() == std::map<std::string, bool>{{b.path + "/allowed", false}});
}

TEST_CASE("sync: a missing file is reported once, not every round") {
    TempDir a{"veeamha-sync"};
    runtime::FileSync active({a.path + "/missing"});
    std::vector<std::string> problems;
    CHECK(active.changed(problems).empty());
    CHECK(problems.size() == 1);
    CHECK(active.changed(problems).empty());
    CHECK(problems.size() == 1);
    CHECK(active.results() == std::map<std::string, bool>{{a.path + "/missing", false}});
}
