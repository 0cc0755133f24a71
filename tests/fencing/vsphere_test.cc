// SPDX-License-Identifier: GPL-2.0-or-later
// The vSphere fencer against a real vim25 implementation: govmomi's vCenter simulator on
// loopback (tests/fencing/vcsim). Every case starts its own simulator on its own port.
#include <atomic>
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <thread>

#include "fencing/vsphere/vim_session.h"
#include "fencing/vsphere/vsphere_fencer.h"
#include "tests/common/read_file.h"
#include "tests/fencing/vcsim_fixture.h"

using namespace veeamha;
using namespace veeamha::fencing;
using namespace veeamha::test;
using namespace std::chrono_literals;

namespace {

std::vector<std::pair<std::string, std::string>> node_uuids() {
    return {{kNode1, kUuid1}, {kNode2, kUuid2}};
}

base::Deadline in(std::chrono::milliseconds d) { return base::Clock::now() + d; }

std::chrono::milliseconds since(base::Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(base::Clock::now() - t);
}

using veeamha::test::slurp;

// The power state as the simulator's own inventory has it, through a separate list.
PowerState listed_state(const Vcsim& sim, const std::string& name) {
    VSphereFencer f(sim.vsphere(), node_uuids());
    auto l = f.list(in(10s));
    REQUIRE(l.ok);
    for (const auto& vm : l.vms)
        if (vm.name == name) return vm.state;
    FAIL("VM " << name << " not listed");
    return PowerState::Unknown;
}

// A power-off hook script that appends "NAME UUID" to a file, as the lab's watcher will.
std::string hook_script(const TempDir& dir, std::string* log) {
    *log = dir.path() + "/poweroffs.log";
    return dir.write("on-power-off.sh", "#!/bin/sh\necho \"$1 $2\" >> " + *log + "\n", 0700);
}

}  // namespace

TEST_CASE("list shows every VM with name, BIOS UUID, instance UUID and power state") {
    Vcsim sim;
    VSphereFencer f(sim.vsphere(), node_uuids());
    ListResult l = f.list(in(10s));
    INFO(l.error);
    REQUIRE(l.ok);
    REQUIRE(l.vms.size() == 2);
    bool seen1 = false, seen2 = false;
    for (const auto& vm : l.vms) {
        if (vm.name == kNode1) {
            seen1 = true;
            CHECK(vm.bios_uuid == kUuid1);
            CHECK(vm.instance_uuid == kInstance1);
        }
        if (vm.name == kNode2) {
            seen2 = true;
            CHECK(vm.bios_uuid == kUuid2);
            CHECK(vm.instance_uuid == kInstance2);
        }
        CHECK(vm.state == PowerState::On);  // the simulator starts VMs powered on
    }
    CHECK(seen1);
    CHECK(seen2);
}

TEST_CASE("status reads the VM's power state") {
    Vcsim sim;
    VSphereFencer f(sim.vsphere(), node_uuids());
    FenceResult r = f.status(kNode1, in(10s));
    INFO(r.detail);
    CHECK(r.confirmed);
    CHECK(r.state == PowerState::On);
    CHECK(r.fencer == "vsphere 127.0.0.1");
}

TEST_CASE("off powers the VM off and is confirmed by poweredOff read back") {
    TempDir dir;
    std::string log;
    VcsimOptions o;
    o.on_power_off = hook_script(dir, &log);
    Vcsim sim(o);
    VSphereFencer f(sim.vsphere(), node_uuids());
    FenceResult r = f.off(kNode2, in(10s));
    INFO(r.detail);
    CHECK(r.confirmed);
    CHECK(r.failure == FailureClass::None);
    CHECK(r.state == PowerState::Off);
    CHECK(r.detail.find("read back poweredOff") != std::string::npos);
    // The simulator itself powered off that VM, and only that one.
    CHECK(slurp(log) == std::string(kNode2) + " " + kUuid2 + "\n");
    CHECK(listed_state(sim, kNode2) == PowerState::Off);
    CHECK(listed_state(sim, kNode1) == PowerState::On);
}

TEST_CASE("off of a VM already off is confirmed (idempotent)") {
    Vcsim sim;
    VSphereFencer f(sim.vsphere(), node_uuids());
    REQUIRE(f.off(kNode2, in(10s)).confirmed);
    FenceResult again = f.off(kNode2, in(10s));
    INFO(again.detail);
    CHECK(again.confirmed);
    CHECK(again.state == PowerState::Off);
    CHECK(again.detail.find("already off") != std::string::npos);
}

TEST_CASE("on powers the VM on and reads poweredOn back") {
    Vcsim sim;
    VSphereFencer f(sim.vsphere(), node_uuids());
    REQUIRE(f.off(kNode1, in(10s)).confirmed);
    REQUIRE(listed_state(sim, kNode1) == PowerState::Off);
    FenceResult r = f.on(kNode1, in(10s));
    INFO(r.detail);
    CHECK(r.confirmed);
    CHECK(r.state == PowerState::On);
    CHECK(listed_state(sim, kNode1) == PowerState::On);
    FenceResult again = f.on(kNode1, in(10s));
    CHECK(again.confirmed);
    CHECK(again.detail.find("already on") != std::string::npos);
}

TEST_CASE("reboot: off confirmed, then on") {
    TempDir dir;
    std::string log;
    VcsimOptions o;
    o.on_power_off = hook_script(dir, &log);
    Vcsim sim(o);
    VSphereFencer f(sim.vsphere(), node_uuids());
    FenceResult r = f.reboot(kNode2, in(10s));
    INFO(r.detail);
    CHECK(r.confirmed);
    CHECK(r.detail.find("read back poweredOff") != std::string::npos);
    CHECK(r.detail.find("then powered on again") != std::string::npos);
    CHECK(r.state == PowerState::On);
    CHECK(slurp(log) == std::string(kNode2) + " " + kUuid2 + "\n");  // it really went off
    CHECK(listed_state(sim, kNode2) == PowerState::On);
}

TEST_CASE("the power-off hook runs inside the task, before it reports success") {
    // What the lab (issue 7) relies on: when off() returns, the hook has finished.
    TempDir dir;
    std::string marker = dir.path() + "/killed";
    std::string script = dir.write("hook.sh", "#!/bin/sh\nsleep 0.3\necho \"$1\" > " + marker + "\n", 0700);
    VcsimOptions o;
    o.on_power_off = script;
    Vcsim sim(o);
    VSphereFencer f(sim.vsphere(), node_uuids());
    FenceResult r = f.off(kNode1, in(10s));
    REQUIRE(r.confirmed);
    CHECK(slurp(marker) == std::string(kNode1) + "\n");
}

TEST_CASE("wrong password: vCenter rejected login for USER") {
    Vcsim sim;
    TempDir dir;
    config::VSphere v = sim.vsphere();
    v.password_file = dir.write("wrong.pass", "not-the-password\n", 0600);
    VSphereFencer f(v, node_uuids());
    FenceResult r = f.off(kNode2, in(10s));
    CHECK_FALSE(r.confirmed);
    CHECK(r.detail.find("vCenter 127.0.0.1 rejected login for " + std::string(kUser)) != std::string::npos);
    CHECK(r.failure == FailureClass::Credentials);
    CHECK(r.detail.find("not-the-password") == std::string::npos);
    CHECK(listed_state(sim, kNode2) == PowerState::On);
}

TEST_CASE("a password file others can read is refused before connecting") {
    Vcsim sim;
    TempDir dir;
    config::VSphere v = sim.vsphere();
    v.password_file = dir.write("open.pass", std::string(kPassword) + "\n", 0644);
    VSphereFencer f(v, node_uuids());
    FenceResult r = f.off(kNode2, in(10s));
    CHECK_FALSE(r.confirmed);
    CHECK(r.detail.find("accessible by group or others") != std::string::npos);
    CHECK(r.failure == FailureClass::Other);
    CHECK(r.detail.find(v.password_file) != std::string::npos);
    CHECK(listed_state(sim, kNode2) == PowerState::On);
}

TEST_CASE("unknown UUID: names the UUID and `veeam-hactl fence list`") {
    Vcsim sim;
    const std::string missing = "4235ffff-0000-1111-2222-333344445555";
    VSphereFencer f(sim.vsphere(), {{kNode1, kUuid1}, {kNode2, missing}});
    FenceResult r = f.off(kNode2, in(10s));
    CHECK_FALSE(r.confirmed);
    CHECK(r.detail == "no VM with BIOS UUID " + missing +
                          " on 127.0.0.1; `veeam-hactl fence list` shows them");
    CHECK(r.failure == FailureClass::Other);
}

TEST_CASE("instance UUIDs are used when uuid_kind is instance") {
    Vcsim sim;
    config::VSphere v = sim.vsphere();
    v.uuid_kind = config::UuidKind::Instance;
    VSphereFencer f(v, {{kNode1, kInstance1}, {kNode2, kInstance2}});
    FenceResult r = f.off(kNode2, in(10s));
    INFO(r.detail);
    CHECK(r.confirmed);
    CHECK(listed_state(sim, kNode2) == PowerState::Off);
    VSphereFencer bios_as_instance(v, {{kNode1, kUuid1}});
    CHECK(bios_as_instance.status(kNode1, in(10s)).detail.find("no VM with instance UUID") != std::string::npos);
}

TEST_CASE("a node without vm_uuid, or not configured, is a clear error") {
    VSphereFencer f(config::VSphere{}, {{kNode1, ""}});
    CHECK(f.off(kNode1, in(1s)).detail == std::string("node ") + kNode1 + " has no vm_uuid in the configuration");
    CHECK(f.off("other", in(1s)).detail == "node other is not in the configuration");
}

TEST_CASE("vCenter not listening: a clear error well within the deadline") {
    config::VSphere v;
    v.host = "127.0.0.1";
    v.port = unused_port();
    v.username = kUser;
    TempDir dir;
    v.password_file = dir.write("p", "x\n");
    v.insecure = true;
    VSphereFencer f(v, node_uuids());
    auto start = base::Clock::now();
    FenceResult r = f.off(kNode2, in(3s));
    CHECK(since(start) < 3s);
    CHECK_FALSE(r.confirmed);
    CHECK(r.detail.find("cannot connect to vCenter 127.0.0.1 port " + std::to_string(v.port)) != std::string::npos);
    CHECK(r.failure == FailureClass::Transient);
}

TEST_CASE("a vCenter that accepts and never answers: error at the deadline, the loop keeps running") {
    VcsimOptions o;
    o.hang = true;
    Vcsim sim(o);
    config::VSphere v = sim.vsphere();
    v.call_timeout = 10000ms;  // longer than the deadline: the deadline must cut it
    VSphereFencer f(v, node_uuids());

    // The daemon's shape: an Asio loop with a timer, the fence on a worker thread.
    boost::asio::io_context io;
    boost::asio::steady_timer timer(io);
    int ticks = 0;
    auto worst_gap = 0ms;
    auto last = base::Clock::now();
    bool done = false;  // set with the result: a tick already queued when cancel() ran must not re-arm
    std::function<void()> arm = [&] {
        timer.expires_after(20ms);
        timer.async_wait([&](const boost::system::error_code& ec) {
            if (ec || done) return;
            auto now = base::Clock::now();
            worst_gap = std::max(worst_gap, std::chrono::duration_cast<std::chrono::milliseconds>(now - last));
            last = now;
            ++ticks;
            arm();
        });
    };
    arm();
    std::optional<FenceResult> result;
    auto start = base::Clock::now();
    const auto deadline_after = 2000ms;
    std::thread worker([&, d = in(deadline_after)] {
        FenceResult r = f.off(kNode2, d);
        boost::asio::post(io, [&, r] {
            result = r;
            done = true;
            timer.cancel();
        });
    });
    io.run();
    worker.join();
    auto took = since(start);

    REQUIRE(result);
    CHECK_FALSE(result->confirmed);
    CHECK(result->detail.find("did not answer at step 'connect'") != std::string::npos);
    CHECK(result->failure == FailureClass::Transient);
    CHECK(took >= deadline_after - 100ms);
    CHECK(took < deadline_after + 1500ms);  // generous: the machine is shared
    CHECK(ticks >= 20);                      // the loop ran all along...
    CHECK(worst_gap < 1000ms);               // ...and was never blocked for long
}

TEST_CASE("a hung vCenter with a short call_timeout fails after call_timeout, naming the step") {
    VcsimOptions o;
    o.hang = true;
    Vcsim sim(o);
    config::VSphere v = sim.vsphere();
    v.call_timeout = 500ms;
    VSphereFencer f(v, node_uuids());
    auto start = base::Clock::now();
    FenceResult r = f.status(kNode1, in(20s));
    CHECK(since(start) < 2500ms);
    CHECK(r.detail.find("did not answer at step 'connect' within call_timeout 500ms") != std::string::npos);
    CHECK(r.failure == FailureClass::Transient);
}

TEST_CASE("a power-off that hangs: timeout names the step, a new connection reads the state") {
    VcsimOptions o;
    o.method_delays = {"PowerOffVM_Task=3000"};
    Vcsim sim(o);
    config::VSphere v = sim.vsphere();
    v.call_timeout = 700ms;
    VSphereFencer f(v, node_uuids());
    auto start = base::Clock::now();
    FenceResult r = f.off(kNode2, in(20s));
    INFO(r.detail);
    CHECK(since(start) < 3000ms);
    // The delayed PowerOff has not run yet: still on, so not confirmed.
    CHECK_FALSE(r.confirmed);
    CHECK(r.state == PowerState::On);
    CHECK(r.detail.find("did not answer at step 'power off'") != std::string::npos);
    CHECK(r.detail.find("a new connection then read poweredOn") != std::string::npos);
    CHECK(r.failure == FailureClass::Transient);
}

TEST_CASE("a task wait that hangs: timeout names the step, a new connection reads the state") {
    VcsimOptions o;
    o.method_delays = {"WaitForUpdatesEx=3000"};
    Vcsim sim(o);
    config::VSphere v = sim.vsphere();
    v.call_timeout = 500ms;
    VSphereFencer f(v, node_uuids());
    FenceResult r = f.off(kNode2, in(3s));
    INFO(r.detail);
    // The power-off itself went through (the simulator ends it inside the call): read back.
    CHECK(r.confirmed);
    CHECK(r.failure == FailureClass::None);
    // vCenter may hold the wait open for 1 s (whole seconds), then call_timeout to answer.
    CHECK(r.detail.find("did not answer at step 'wait for task' within 1500ms") != std::string::npos);
    CHECK(r.detail.find("a new connection then read poweredOff") != std::string::npos);
}

TEST_CASE("wrong thumbprint is refused, naming the presented one") {
    Vcsim sim;
    config::VSphere v = sim.vsphere();
    v.ca_file.clear();
    v.thumbprint = sim.certificate().thumbprint;
    v.thumbprint.back() = v.thumbprint.back() == '0' ? '1' : '0';  // one bit off
    VSphereFencer f(v, node_uuids());
    FenceResult r = f.off(kNode2, in(10s));
    INFO(r.detail);
    CHECK_FALSE(r.confirmed);
    CHECK(r.detail.find("does not match the configured") != std::string::npos);
    CHECK(r.detail.find(sim.certificate().thumbprint) != std::string::npos);
    CHECK(r.failure == FailureClass::Other);  // a configuration to fix, not a host to wait for
    CHECK(listed_state(sim, kNode2) == PowerState::On);
}

TEST_CASE("right thumbprint is accepted, in any case and with or without colons") {
    Vcsim sim;
    config::VSphere v = sim.vsphere();
    v.ca_file.clear();
    v.thumbprint = sim.certificate().thumbprint;
    CHECK(VSphereFencer(v, node_uuids()).status(kNode1, in(10s)).confirmed);
    std::string bare;
    for (char c : sim.certificate().thumbprint.substr(7))
        if (c != ':') bare += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    v.thumbprint = bare;
    FenceResult r = VSphereFencer(v, node_uuids()).off(kNode1, in(10s));
    INFO(r.detail);
    CHECK(r.confirmed);
}

TEST_CASE("a SHA-1 thumbprint in the config is refused with the reason") {
    config::VSphere v;
    v.host = "127.0.0.1";
    v.port = unused_port();
    TempDir dir;
    v.password_file = dir.write("p", "x\n");
    v.thumbprint = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01";
    FenceResult r = VSphereFencer(v, node_uuids()).off(kNode1, in(3s));
    CHECK(r.detail.find("SHA-1") != std::string::npos);
}

TEST_CASE("CA verification: the right CA is accepted, a wrong CA refused with the thumbprint") {
    Vcsim sim;
    CHECK(VSphereFencer(sim.vsphere(), node_uuids()).status(kNode1, in(10s)).confirmed);

    TempDir dir;
    Certificate other = make_certificate(dir.path(), "other-ca");
    config::VSphere v = sim.vsphere();
    v.ca_file = other.cert;
    FenceResult r = VSphereFencer(v, node_uuids()).off(kNode2, in(10s));
    INFO(r.detail);
    CHECK_FALSE(r.confirmed);
    CHECK(r.detail.find("certificate not trusted") != std::string::npos);
    CHECK(r.detail.find("ca_file " + other.cert) != std::string::npos);
    CHECK(r.detail.find("it presented " + sim.certificate().thumbprint) != std::string::npos);
    CHECK(listed_state(sim, kNode2) == PowerState::On);
}

TEST_CASE("CA verification checks the configured host name against the certificate") {
    VcsimOptions o;
    o.alt_names = "DNS:localhost";  // not the address 127.0.0.1
    Vcsim sim(o);
    config::VSphere v = sim.vsphere();
    v.host = "localhost";
    FenceResult named = VSphereFencer(v, node_uuids()).status(kNode1, in(10s));
    INFO(named.detail);
    CHECK(named.confirmed);
    v.host = "127.0.0.1";  // the same server, but the certificate does not name this address
    FenceResult r = VSphereFencer(v, node_uuids()).status(kNode1, in(10s));
    INFO(r.detail);
    CHECK_FALSE(r.confirmed);
    CHECK(r.detail.find("certificate not trusted (IP address mismatch") != std::string::npos);
}

TEST_CASE("insecure works and logs a warning at every use") {
    Vcsim sim;
    TempDir dir;
    config::VSphere v = sim.vsphere();
    v.ca_file.clear();
    v.insecure = true;
    VSphereFencer f(v, node_uuids());
    std::string log;
    bool off_confirmed = false, on_confirmed = false;
    {
        StderrCapture capture(dir);
        off_confirmed = f.off(kNode2, in(10s)).confirmed;
        on_confirmed = f.on(kNode2, in(10s)).confirmed;
        log = capture.text();
    }
    CHECK(off_confirmed);
    CHECK(on_confirmed);
    size_t warnings = 0;
    for (size_t p = log.find("is NOT verified"); p != std::string::npos; p = log.find("is NOT verified", p + 1))
        ++warnings;
    CHECK(warnings == 2);
    CHECK(log.find("warning: ") != std::string::npos);  // the warning level ("<4>" under journald)
    CHECK(log.find(kPassword) == std::string::npos);
}

TEST_CASE("NotAuthenticated: a call without a live session says the session is gone") {
    Vcsim sim;
    vsphere::VimSession s(sim.vsphere(), in(10s));
    REQUIRE_FALSE(s.connect());
    // Without a login vCenter answers FindByUuid (and RetrievePropertiesEx) with NotAuthenticated.
    auto vm = s.find_vm(kUuid1, config::UuidKind::Bios);
    REQUIRE_FALSE(vm.ok());
    CHECK(vm.error().kind == vsphere::ErrorKind::NotAuthenticated);
    CHECK(vm.error().fault_type == "NotAuthenticated");
    CHECK(vm.error().message ==
          "vCenter 127.0.0.1 no longer knows the session of " + std::string(kUser) +
              " at step 'find VM' (NotAuthenticated: logged out, expired, ended by an administrator, or vCenter "
              "restarted)");
    CHECK(vm.error().step == vsphere::Step::FindVm);
    CHECK(vsphere::session_gone(vm.error()));
    auto state = s.check_vm({"VirtualMachine", "vm-1"}, config::UuidKind::Bios, 1000ms);
    REQUIRE_FALSE(state.ok());
    CHECK(state.error().kind == vsphere::ErrorKind::NotAuthenticated);
}

TEST_CASE("VimSession: reset powers the VM off and on through ResetVM_Task") {
    TempDir dir;
    std::string log;
    VcsimOptions o;
    o.on_power_off = hook_script(dir, &log);
    Vcsim sim(o);
    vsphere::VimSession s(sim.vsphere(), in(10s));
    REQUIRE_FALSE(s.connect());
    auto secret = std::string(kPassword);
    REQUIRE_FALSE(s.login(secret));
    CHECK(s.product().find("VMware vCenter Server") != std::string::npos);
    CHECK(s.presented_thumbprint() == sim.certificate().thumbprint);
    auto vm = s.find_vm(kUuid1, config::UuidKind::Bios);
    REQUIRE(vm.ok());
    auto task = s.start_power_op(vm.value(), vsphere::PowerOp::Reset);
    REQUIRE(task.ok());
    CHECK(task.value().type == "Task");
    auto outcome = s.wait_task(task.value(), vsphere::Step::WaitTask);
    REQUIRE(outcome.ok());
    CHECK(outcome.value().success);
    auto state = s.power_state(vm.value());
    REQUIRE(state.ok());
    CHECK(state.value() == PowerState::On);
    s.logout();
    CHECK(slurp(log) == std::string(kNode1) + " " + kUuid1 + "\n");
}

TEST_CASE("VimSession: a failed power-on task reports its fault type") {
    Vcsim sim;
    vsphere::VimSession s(sim.vsphere(), in(10s));
    REQUIRE_FALSE(s.connect());
    REQUIRE_FALSE(s.login(kPassword));
    auto vm = s.find_vm(kUuid2, config::UuidKind::Bios);
    REQUIRE(vm.ok());
    auto task = s.start_power_op(vm.value(), vsphere::PowerOp::On);  // already on
    REQUIRE(task.ok());
    auto outcome = s.wait_task(task.value(), vsphere::Step::WaitTask);
    REQUIRE(outcome.ok());
    CHECK_FALSE(outcome.value().success);
    CHECK(outcome.value().fault_type == "InvalidPowerState");
}

TEST_CASE("thumbprint parsing") {
    std::string why;
    auto t = vsphere::parse_thumbprint("sha256:" + std::string(64, 'a'), &why);
    REQUIRE(t);
    CHECK(vsphere::format_thumbprint(t->data(), t->size()).substr(0, 12) == "SHA256:AA:AA");
    CHECK_FALSE(vsphere::parse_thumbprint(std::string(64, 'g'), &why));
    CHECK(why.find("not hex") != std::string::npos);
    CHECK_FALSE(vsphere::parse_thumbprint(std::string(62, 'a'), &why));
    CHECK(why.find("32 bytes") != std::string::npos);
}
