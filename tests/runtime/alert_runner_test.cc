// SPDX-License-Identifier: GPL-2.0-or-later
// Alert programs: real processes on their own threads, Pacemaker's own sample agent, a program
// that hangs, a queue that overflows.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "daemon/runtime/alert_runner.h"
#include "tests/common/read_file.h"
#include "tests/common/skip.h"
#include "tests/common/temp_dir.h"

using namespace veeamha;
using namespace veeamha::runtime;
using namespace std::chrono_literals;
using veeamha::test::TempDir;

namespace {

using veeamha::test::slurp;

std::string script(const TempDir& dir, const std::string& name, const std::string& body) {
    std::string path = dir / name;
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    ::chmod(path.c_str(), 0755);
    return path;
}

AlertEvent event(const std::string& kind, const std::string& text, const std::string& node,
                 engine::Level level = engine::Level::Notice, const std::string& resource = "") {
    AlertEvent e;
    e.level = level;
    e.kind = kind;
    e.text = text;
    e.node = node;
    e.node_id = node == "n1" ? 1 : 2;
    e.resource = resource;
    e.wall_us = 1'796'190'000'123'456;
    return e;
}

// Runs the loop until `done` or the budget is spent.
bool run_until(boost::asio::io_context& io, const std::function<bool()>& done, std::chrono::milliseconds budget) {
    auto until = std::chrono::steady_clock::now() + budget;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= until) return false;
        io.restart();
        io.run_for(20ms);
    }
    return true;
}

}  // namespace

TEST_CASE("an alert without events gets warnings, errors and the failover's milestones, with events just those") {
    config::Alert all;
    CHECK(alert_selects(all, event("peer-lost", "", "n1", engine::Level::Warning)));
    CHECK(alert_selects(all, event("fenced", "", "n1", engine::Level::Notice)));
    CHECK(alert_selects(all, event("takeover", "", "n2", engine::Level::Notice)));
    CHECK_FALSE(alert_selects(all, event("resource-started", "", "n2", engine::Level::Info)));
    config::Alert some;
    some.events = {"resource", "peer-lost"};
    CHECK(alert_selects(some, event("resource-started", "", "n2", engine::Level::Info)));
    CHECK(alert_selects(some, event("monitor-failed", "", "n2", engine::Level::Warning)));
    CHECK(alert_selects(some, event("peer-lost", "", "n1", engine::Level::Warning)));
    CHECK_FALSE(alert_selects(some, event("fenced", "", "n1", engine::Level::Notice)));
    config::Alert fencing;
    fencing.events = {"fencing"};
    CHECK(alert_selects(fencing, event("fence-failed", "", "n1", engine::Level::Error)));
    CHECK_FALSE(alert_selects(fencing, event("peer-lost", "", "n1", engine::Level::Warning)));
}

TEST_CASE("Pacemaker's own alert_file.sh sample runs unmodified and writes each event, in order") {
    const std::string sample = "/usr/share/pacemaker/alerts/alert_file.sh.sample";
    if (!std::filesystem::exists(sample)) VEEAMHA_SKIP_TEST("no " + sample + " (Debian's pacemaker package)");
    TempDir dir("veeamha-alert");
    const std::string agent = dir / "alert_file.sh";
    std::filesystem::copy_file(sample, agent);
    ::chmod(agent.c_str(), 0755);
    config::Alert a;
    a.exec = agent;
    a.recipient = dir / "alerts.log";
    a.events = {"node", "fencing", "resource"};
    boost::asio::io_context io;
    AlertRunner runner(io, "lab", "n2");
    runner.configure({a});
    runner.submit(event("peer-lost", "n1 lost: silent on all 2 links for 1s", "n1", engine::Level::Warning));
    runner.submit(event("fenced", "fence of n1 confirmed (vsphere: powered off; read back poweredOff)", "n1"));
    runner.submit(event("resource-started", "fs_repo started", "n2", engine::Level::Info, "fs_repo"));
    // The engine says which operation failed; the text need not begin with it.
    AlertEvent failed = event("resource-failed", "svc_repo could not start: exit 3", "n2", engine::Level::Warning,
                              "svc_repo");
    failed.op = "start";
    runner.submit(failed);
    auto lines = [&] {
        std::string log = slurp(a.recipient);
        return static_cast<size_t>(std::count(log.begin(), log.end(), '\n'));
    };
    REQUIRE(run_until(io, [&] { return lines() == 4 && runner.runs() == 4; }, 20s));
    const std::string log = slurp(a.recipient);
    INFO(log);
    std::istringstream in(log);
    std::string l1, l2, l3, l4;
    std::getline(in, l1);
    std::getline(in, l2);
    std::getline(in, l3);
    std::getline(in, l4);
    // Pacemaker's default timestamp (%H:%M:%S.%06N), then the agent's own sentences.
    CHECK(l1.find(".123456: Node 'n1' is now 'lost'") != std::string::npos);
    CHECK(l2.find(": Fencing fence of n1 confirmed (vsphere: powered off; read back poweredOff)") != std::string::npos);
    CHECK(l3.find(": Resource operation 'start' for 'fs_repo' on 'n2': fs_repo started") != std::string::npos);
    CHECK(l4.find(": Resource operation 'start' for 'svc_repo' on 'n2': svc_repo could not start") !=
          std::string::npos);
    CHECK(runner.dropped() == 0);
}

TEST_CASE("a hanging alert program delays nobody: the others run, it is killed at its timeout, its queue overflows") {
    TempDir dir("veeamha-alert");
    config::Alert hangs;
    hangs.exec = script(dir, "hangs", "echo \"$VEEAMHA_EVENT\" >> " + (dir / "hangs.log") + "\nexec sleep 1000");
    hangs.timeout = 1000ms;
    hangs.events = {"node"};
    config::Alert works;
    works.exec = script(dir, "works", "echo \"$CRM_alert_node_sequence $VEEAMHA_EVENT $CRM_alert_node\" >> " +
                                          (dir / "works.log"));
    works.events = {"peer-lost", "takeover", "group-started"};
    boost::asio::io_context io;
    AlertRunner runner(io, "lab", "n2");
    runner.configure({hangs, works});
    for (const char* kind : {"peer-lost", "takeover", "group-started"}) runner.submit(event(kind, "text", "n1"));
    // The working one gets all three, in order, while the first run of the other still hangs.
    REQUIRE(run_until(io, [&] { return slurp(dir / "works.log") == "1 peer-lost n1\n2 takeover n1\n3 group-started n1\n"; }, 10s));
    CHECK(slurp(dir / "hangs.log") == "peer-lost\n");
    // Its timeout (1 s) kills it, and the next event runs.
    REQUIRE(run_until(io, [&] { return slurp(dir / "hangs.log") == "peer-lost\ntakeover\n"; }, 5s));
    // Its queue holds 64: one running, 64 waiting; the rest drop the oldest, counted.
    const uint64_t before = runner.dropped();
    for (int i = 0; i < 70; ++i) runner.submit(event("peer-back", "text", "n1"));
    CHECK(runner.dropped() - before == 70 + 1 - AlertRunner::kQueueLimit);
    runner.close();
}
