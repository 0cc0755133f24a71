// SPDX-License-Identifier: GPL-2.0-or-later
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "daemon/runtime/state_store.h"
#include "tests/common/temp_dir.h"

using namespace veeamha;

using veeamha::test::TempDir;

namespace {

config::Config two_nodes(const std::string& state_dir) {
    config::Config c;
    c.cluster.name = "c1";
    c.cluster.state_dir = state_dir;
    for (const char* n : {"a", "b"}) {
        config::Node node;
        node.name = n;
        c.nodes.push_back(node);
    }
    for (const char* r : {"vg", "fs"}) {
        config::Resource res;
        res.name = r;
        c.resources.push_back(res);
    }
    return c;
}

}  // namespace

TEST_CASE("state store: a fresh node starts empty and creates its folder 0700") {
    TempDir t{"veeamha-state"};
    auto cfg = two_nodes(t.path + "/sub/state");
    runtime::StateStore store(cfg, 0);
    engine::PersistedState s;
    std::string error;
    REQUIRE(store.load(s, error));
    CHECK(s.epoch == 0);
    CHECK(s.failures.size() == 2);
    struct stat st{};
    REQUIRE(::stat((t.path + "/sub/state").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
}

TEST_CASE("state store: what is saved is loaded back, file mode 0600, no temp file left") {
    TempDir t{"veeamha-state"};
    auto cfg = two_nodes(t.path);
    runtime::StateStore store(cfg, 1);
    engine::PersistedState s;
    s.epoch = 42;
    s.owner = "b";
    s.standby = true;
    s.maintenance = true;
    s.maintenance_version = 7;
    s.failures = {{}, {1000, 2000}};
    s.history.push_back({5, "takeover", "taking over: a fenced"});
    s.last_failover = engine::FailoverRecord{9, "a lost", 1234};
    std::string error;
    REQUIRE(store.save(s, error));
    engine::PersistedState back;
    REQUIRE(store.load(back, error));
    CHECK(back == s);
    struct stat st{};
    REQUIRE(::stat(store.path().c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(::access((store.path() + ".tmp").c_str(), F_OK) != 0);
}

TEST_CASE("state store: fail counts follow resources by name when the order changes") {
    TempDir t{"veeamha-state"};
    auto cfg = two_nodes(t.path);
    engine::PersistedState s;
    s.failures = {{111}, {}};
    std::string error;
    REQUIRE(runtime::StateStore(cfg, 0).save(s, error));
    std::swap(cfg.resources[0], cfg.resources[1]);
    engine::PersistedState back;
    REQUIRE(runtime::StateStore(cfg, 0).load(back, error));
    CHECK(back.failures[0].empty());
    CHECK(back.failures[1] == std::vector<int64_t>{111});
}

TEST_CASE("state store: another node's or cluster's file, or garbage, is refused with the path") {
    TempDir t{"veeamha-state"};
    auto cfg = two_nodes(t.path);
    std::string error;
    REQUIRE(runtime::StateStore(cfg, 0).save(engine::PersistedState{}, error));
    engine::PersistedState s;
    CHECK_FALSE(runtime::StateStore(cfg, 1).load(s, error));
    CHECK(error.find("belongs to cluster 'c1' node 'a'") != std::string::npos);
    std::ofstream(t.path + "/state.pb") << "not a protobuf \xff\xff\xff";
    CHECK_FALSE(runtime::StateStore(cfg, 0).load(s, error));
    CHECK(error.find(t.path + "/state.pb is damaged") == 0);
}
