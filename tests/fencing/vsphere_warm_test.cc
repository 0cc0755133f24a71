// SPDX-License-Identifier: GPL-2.0-or-later
// The warm vCenter session and the task wait, against the simulator made realistic where it
// matters (tests/fencing/vcsim/realistic.go): logins that take time, power tasks that run for
// a while, sessions that end on vCenter's side, a vCenter that restarts. Every case starts its
// own simulator; the simulator counts the calls it receives, which is how these tests see what
// the fencer did (logins, property-collector calls), not by trusting the fencer's word.
#include <catch2/catch.hpp>
#include <future>
#include <set>
#include <thread>

#include "base/log.h"
#include "fencing/vsphere/vim_session.h"
#include "fencing/vsphere/vsphere_fencer.h"
#include "tests/fencing/vcsim_fixture.h"

using namespace veeamha;
using namespace veeamha::fencing;
using namespace veeamha::test;
using namespace std::chrono_literals;

namespace {

std::vector<std::pair<std::string, std::string>> node_uuids() { return {{kNode1, kUuid1}, {kNode2, kUuid2}}; }

base::Deadline in(std::chrono::milliseconds d) { return base::Clock::now() + d; }

std::chrono::milliseconds since(base::Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(base::Clock::now() - t);
}

// Calls to the property collector: what a polling loop would multiply.
int collector_calls(const Vcsim::Counts& c) {
    return c.of("RetrievePropertiesEx") + c.of("ContinueRetrievePropertiesEx") + c.of("WaitForUpdatesEx") +
           c.of("CreateFilter") + c.of("DestroyPropertyFilter");
}

}  // namespace

TEST_CASE("a warm fence logs in 0 times and finds the VM 0 times") {
    Vcsim sim;
    VSphereFencer f(sim.vsphere(), node_uuids());
    FenceResult check = f.status(kNode2, in(10s));  // what the daemon does at start
    INFO(check.detail);
    REQUIRE(check.confirmed);
    auto before = sim.counts();
    CHECK(before.logins == 1);
    CHECK(before.sessions == 1);  // left logged in

    FenceResult r = f.off(kNode2, in(10s));
    INFO(r.detail);
    CHECK(r.confirmed);
    auto after = sim.counts();
    CHECK(after.of("Login") == before.of("Login"));
    CHECK(after.of("RetrieveServiceContent") == before.of("RetrieveServiceContent"));  // no new connection
    CHECK(after.of("FindByUuid") == before.of("FindByUuid"));  // the reference was cached

    // The next checks keep using it.
    CHECK(f.status(kNode2, in(10s)).state == PowerState::Off);
    CHECK(f.on(kNode2, in(10s)).confirmed);
    CHECK(sim.counts().logins == 1);
}

TEST_CASE("a session ended on vCenter's side: the next fence logs in again and is confirmed in time") {
    Vcsim sim;
    VSphereFencer f(sim.vsphere(), node_uuids());
    REQUIRE(f.status(kNode2, in(10s)).confirmed);
    REQUIRE(sim.terminate_sessions() == 1);

    auto start = base::Clock::now();
    FenceResult r = f.off(kNode2, in(5s));
    INFO(r.detail);
    CHECK(r.confirmed);
    CHECK(since(start) < 5s);
    CHECK(sim.counts().logins == 2);
    CHECK(f.status(kNode2, in(10s)).confirmed);
    CHECK(sim.counts().logins == 2);  // the new session is the warm one now
}

TEST_CASE("vCenter restarted between two checks: the next fence connects, logs in, is confirmed in time") {
    Vcsim sim;
    VSphereFencer f(sim.vsphere(), node_uuids());
    REQUIRE(f.status(kNode2, in(10s)).confirmed);
    sim.restart();  // same port, certificate and inventory; the kept connection and session are gone
    REQUIRE(sim.counts().logins == 0);

    auto start = base::Clock::now();
    FenceResult r = f.off(kNode2, in(5s));
    INFO(r.detail);
    CHECK(r.confirmed);
    CHECK(since(start) < 5s);
    CHECK(sim.counts().logins == 1);
}

TEST_CASE("a session ended while the fence waits for its task: a new login reads the state, confirmed") {
    VcsimOptions o;
    o.task_ms = 1500;
    Vcsim sim(o);
    VSphereFencer f(sim.vsphere(), node_uuids());
    REQUIRE(f.status(kNode2, in(10s)).confirmed);
    auto fence = std::async(std::launch::async, [&] { return f.off(kNode2, in(10s)); });
    std::this_thread::sleep_for(500ms);  // the power-off was asked for, its task runs
    REQUIRE(sim.terminate_sessions() == 1);
    FenceResult r = fence.get();
    INFO(r.detail);
    CHECK(r.confirmed);
    CHECK(r.failure == FailureClass::None);
    CHECK(r.detail.find("a new connection then read poweredOff") != std::string::npos);
    CHECK(sim.counts().logins == 2);
}

TEST_CASE("vCenter restarting in the middle of a fence: a clean transient failure, then a fence works") {
    VcsimOptions o;
    o.task_ms = 3000;
    Vcsim sim(o);
    VSphereFencer f(sim.vsphere(), node_uuids());
    REQUIRE(f.status(kNode2, in(10s)).confirmed);
    auto start = base::Clock::now();
    auto fence = std::async(std::launch::async, [&] { return f.off(kNode2, in(10s)); });
    std::this_thread::sleep_for(500ms);  // the fence waits for its task
    sim.restart();                       // the task and the connection end with the process
    FenceResult r = fence.get();
    INFO(r.detail);
    CHECK_FALSE(r.confirmed);  // the new vCenter has the VM on (or is not up yet)
    CHECK(r.failure == FailureClass::Transient);
    CHECK(r.detail.find("at step 'wait for task'") != std::string::npos);
    CHECK(since(start) < 10s);
    FenceResult next = f.off(kNode2, in(10s));
    INFO(next.detail);
    CHECK(next.confirmed);
}

TEST_CASE("a login that hangs past call_timeout: a transient failure within the deadline, then a fence works") {
    VcsimOptions o;
    o.login_delay_ms = 3000;
    Vcsim sim(o);
    config::VSphere v = sim.vsphere();
    v.call_timeout = 1000ms;
    VSphereFencer f(v, node_uuids());

    auto start = base::Clock::now();
    FenceResult r = f.off(kNode2, in(2500ms));
    INFO(r.detail);
    CHECK_FALSE(r.confirmed);
    CHECK(r.failure == FailureClass::Transient);
    CHECK(r.detail.find("vCenter 127.0.0.1 did not answer at step 'login' within call_timeout 1s") !=
          std::string::npos);
    CHECK(since(start) < 2500ms);

    sim.set("login-delay-ms", 0);
    FenceResult later = f.off(kNode2, in(5s));
    INFO(later.detail);
    CHECK(later.confirmed);

    SECTION("also when the kept session ended and the new login hangs") {
        REQUIRE(f.status(kNode1, in(5s)).confirmed);
        sim.terminate_sessions();
        sim.set("login-delay-ms", 3000);
        start = base::Clock::now();
        FenceResult again = f.off(kNode1, in(2500ms));
        INFO(again.detail);
        CHECK_FALSE(again.confirmed);
        CHECK(again.failure == FailureClass::Transient);
        CHECK(since(start) < 2500ms);
    }
}

TEST_CASE("a wrong password is a credentials failure, tried once per call") {
    Vcsim sim;
    TempDir dir;
    config::VSphere v = sim.vsphere();
    v.password_file = dir.write("wrong.pass", "not-the-password\n", 0600);
    VSphereFencer f(v, node_uuids());
    FenceResult r = f.off(kNode2, in(10s));
    INFO(r.detail);
    CHECK_FALSE(r.confirmed);
    CHECK(r.failure == FailureClass::Credentials);
    CHECK(sim.counts().of("Login") == 1);  // SSO locks accounts: never a second try in one call
    FenceResult s = f.status(kNode2, in(10s));
    CHECK(s.failure == FailureClass::Credentials);
    CHECK(sim.counts().of("Login") == 2);
}

TEST_CASE("the realistic simulator: a power task runs, and the power state changes when it completes") {
    VcsimOptions o;
    o.task_ms = 1000;
    Vcsim sim(o);
    vsphere::VimSession s(sim.vsphere(), in(20s));
    REQUIRE_FALSE(s.connect());
    REQUIRE_FALSE(s.login(kPassword));
    auto vm = s.find_vm(kUuid2, config::UuidKind::Bios);
    REQUIRE(vm.ok());
    auto start = base::Clock::now();
    auto task = s.start_power_op(vm.value(), vsphere::PowerOp::Off);
    REQUIRE(task.ok());
    CHECK(since(start) < 1000ms);  // the call returns the task at once
    auto during = s.power_state(vm.value());
    REQUIRE(during.ok());
    CHECK(during.value() == PowerState::On);
    auto outcome = s.wait_task(task.value(), vsphere::Step::WaitTask);
    REQUIRE(outcome.ok());
    CHECK(outcome.value().success);
    CHECK(since(start) >= 1000ms);
    auto after = s.power_state(vm.value());
    REQUIRE(after.ok());
    CHECK(after.value() == PowerState::Off);
    s.destroy_old_filters();
    CHECK(sim.counts().of("DestroyPropertyFilter") == 1);
    s.logout();
}

TEST_CASE("a connection idle too long is replaced, the login kept") {
    Vcsim sim;
    vsphere::VimSession s(sim.vsphere(), in(20s));
    REQUIRE_FALSE(s.connect());
    REQUIRE_FALSE(s.login(kPassword));
    auto vm = s.find_vm(kUuid2, config::UuidKind::Bios);
    REQUIRE(vm.ok());
    CHECK(sim.counts().connections == 1);
    CHECK(s.idle_for() < 5s);
    s.reconnect_later();
    auto check = s.check_vm(vm.value(), config::UuidKind::Bios, 2000ms);
    REQUIRE(check.ok());
    CHECK(check.value().state == PowerState::On);
    CHECK(check.value().uuid == kUuid2);
    auto c = sim.counts();
    CHECK(c.connections == 2);  // a new TLS connection...
    CHECK(c.logins == 1);       // ...with the same session
    CHECK(s.usable());
    s.logout();
}

TEST_CASE("a power-off task running 2 s: the fence returns after its end, without polling") {
    VcsimOptions o;
    o.task_ms = 2000;
    Vcsim sim(o);
    VSphereFencer f(sim.vsphere(), node_uuids());
    REQUIRE(f.status(kNode2, in(10s)).confirmed);
    auto before = sim.counts();

    auto start = base::Clock::now();
    FenceResult r = f.off(kNode2, in(20s));
    auto took = since(start);
    INFO(r.detail);
    REQUIRE(r.confirmed);
    CHECK(took >= 2000ms);  // not before the task ended (the state is read back after it)
    CHECK(took < 20s);
    // The check, CreateFilter, two WaitForUpdatesEx and the read-back: a polling loop with a
    // 20-500 ms backoff makes about 8 reads over 2 s.
    auto after = sim.counts();
    CHECK(collector_calls(after) - collector_calls(before) <= 6);
    CHECK(after.of("WaitForUpdatesEx") - before.of("WaitForUpdatesEx") <= 3);
}

TEST_CASE("a fencing check that overlaps a fence waits for the kept session instead of logging in") {
    VcsimOptions o;
    o.task_ms = 1500;
    Vcsim sim(o);
    VSphereFencer f(sim.vsphere(), node_uuids());
    REQUIRE(f.status(kNode2, in(10s)).confirmed);
    auto fence = std::async(std::launch::async, [&] { return f.off(kNode2, in(20s)); });
    std::this_thread::sleep_for(300ms);  // the fence has the session, its task runs
    FenceResult check = f.status(kNode1, in(20s));
    FenceResult fenced = fence.get();
    INFO(fenced.detail);
    INFO(check.detail);
    CHECK(fenced.confirmed);
    CHECK(check.confirmed);
    CHECK(check.state == PowerState::On);
    CHECK(sim.counts().logins == 1);
}

TEST_CASE("one-shot sessions (veeam-hactl) log out after each call") {
    Vcsim sim;
    VSphereFencer f(sim.vsphere(), node_uuids(), VimSessions::OneShot);
    REQUIRE(f.status(kNode1, in(10s)).confirmed);
    REQUIRE(f.off(kNode1, in(10s)).confirmed);
    auto c = sim.counts();
    CHECK(c.logins == 2);
    CHECK(c.sessions == 0);
    CHECK(c.of("Logout") == 2);
}

TEST_CASE("a retired fencer (replaced by a reload) logs its kept session out") {
    Vcsim sim;
    VSphereFencer f(sim.vsphere(), node_uuids());
    REQUIRE(f.status(kNode1, in(10s)).confirmed);
    REQUIRE(sim.counts().sessions == 1);
    f.retire(in(5s));
    auto c = sim.counts();
    CHECK(c.sessions == 0);
    CHECK(c.of("Logout") == 1);
    // Nothing kept: a later call logs in afresh and still works.
    CHECK(f.status(kNode1, in(10s)).confirmed);
    CHECK(sim.counts().logins == 2);
}

TEST_CASE("the password and the session cookie never reach a log line or an error") {
    VcsimOptions o;
    o.task_ms = 200;
    Vcsim sim(o);
    TempDir dir;
    config::VSphere v = sim.vsphere();
    v.call_timeout = 1000ms;
    std::vector<std::string> texts;
    std::set<std::string> cookies;
    auto keep = [&](const FenceResult& r) { texts.push_back(r.detail); };
    auto note_cookies = [&] {
        for (const auto& k : sim.session_keys()) cookies.insert(k);
    };
    std::string log;
    {
        base::log::set_max_level(base::Level::Debug);
        StderrCapture capture(dir);
        VSphereFencer f(v, node_uuids());
        keep(f.status(kNode2, in(10s)));  // cold: login
        note_cookies();
        keep(f.off(kNode2, in(10s)));  // warm
        sim.terminate_sessions();
        keep(f.on(kNode2, in(10s)));  // dead session: a new login
        note_cookies();
        sim.restart();
        keep(f.off(kNode2, in(10s)));  // dead connection and session
        note_cookies();
        sim.set("login-delay-ms", 2000);
        sim.terminate_sessions();
        keep(f.status(kNode2, in(5s)));  // a login that times out
        sim.set("login-delay-ms", 0);
        config::VSphere wrong = v;
        wrong.password_file = dir.write("wrong.pass", std::string(kPassword) + "x\n", 0600);
        keep(VSphereFencer(wrong, node_uuids()).off(kNode2, in(10s)));  // rejected
        auto l = f.list(in(10s));
        texts.push_back(l.error);
        log = capture.text();
        base::log::set_max_level(base::Level::Info);
    }
    REQUIRE(cookies.size() >= 3);
    REQUIRE(log.find("logging in again") != std::string::npos);  // the capture saw the fencer's lines
    texts.push_back(log);
    for (const auto& t : texts) {
        INFO(t);
        CHECK(t.find(kPassword) == std::string::npos);
        for (const auto& cookie : cookies) CHECK(t.find(cookie) == std::string::npos);
    }
}
