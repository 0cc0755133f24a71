// SPDX-License-Identifier: GPL-2.0-or-later
// Fencing levels: order, first confirmed wins, every reason when all fail, time shared between
// levels, and the chain built from a configuration.
#include <catch2/catch.hpp>
#include <thread>

#include "fencing/agent/fence_agent.h"
#include "fencing/factory.h"
#include "fencing/levels.h"
#include "fencing/vsphere/vsphere_fencer.h"

using namespace veeamha;
using namespace veeamha::fencing;
using namespace std::chrono_literals;

namespace {

// A fencer with a scripted answer that records how it was called.
class ScriptedFencer : public Fencer {
public:
    ScriptedFencer(std::string name, bool confirms, std::string reason, bool hangs = false,
                   FailureClass failure = FailureClass::Other)
        : name_(std::move(name)), confirms_(confirms), reason_(std::move(reason)), hangs_(hangs), failure_(failure) {}

    FenceResult off(const std::string& node, base::Deadline d) override { return act("off", node, d, PowerState::Off); }
    FenceResult on(const std::string& node, base::Deadline d) override { return act("on", node, d, PowerState::On); }
    FenceResult reboot(const std::string& node, base::Deadline d) override {
        return act("reboot", node, d, PowerState::On);
    }
    FenceResult status(const std::string& node, base::Deadline d) override {
        return act("status", node, d, PowerState::On);
    }
    ListResult list(base::Deadline) override {
        ListResult r;
        r.ok = confirms_;
        r.error = reason_;
        if (confirms_) r.vms.push_back(VmInfo{name_ + "-vm", "", "", PowerState::On});
        return r;
    }
    std::string describe() const override { return name_; }

    std::vector<std::string> calls;
    base::Deadline last_deadline{};

private:
    FenceResult act(const std::string& op, const std::string& node, base::Deadline d, PowerState good) {
        calls.push_back(op + " " + node);
        last_deadline = d;
        if (hangs_) std::this_thread::sleep_until(d);
        FenceResult r;
        r.fencer = name_;
        r.confirmed = confirms_;
        r.state = confirms_ ? good : PowerState::Unknown;
        r.detail = confirms_ ? name_ + " did it" : reason_;
        r.failure = confirms_ ? FailureClass::None : failure_;
        return r;
    }
    std::string name_;
    bool confirms_;
    std::string reason_;
    bool hangs_;
    FailureClass failure_;
};

base::Deadline in(std::chrono::milliseconds d) { return base::Clock::now() + d; }

}  // namespace

TEST_CASE("levels: the first fails, the second confirms") {
    FenceLevels levels;
    auto first = std::make_unique<ScriptedFencer>("vsphere vcsa", false, "vCenter vcsa did not answer");
    auto second = std::make_unique<ScriptedFencer>("fence_ipmilan 10.0.0.11", true, "");
    auto* a = first.get();
    auto* b = second.get();
    levels.add(std::move(first), {});
    levels.add(std::move(second), {"node-b"});
    FenceResult r = levels.off("node-b", in(10s));
    CHECK(r.confirmed);
    CHECK(r.fencer == "fence_ipmilan 10.0.0.11");
    CHECK(a->calls == std::vector<std::string>{"off node-b"});
    CHECK(b->calls == std::vector<std::string>{"off node-b"});
}

TEST_CASE("levels: the first that confirms wins, later ones are not tried") {
    FenceLevels levels;
    auto first = std::make_unique<ScriptedFencer>("vsphere", true, "");
    auto second = std::make_unique<ScriptedFencer>("ipmi", true, "");
    auto* b = second.get();
    levels.add(std::move(first), {});
    levels.add(std::move(second), {});
    CHECK(levels.reboot("node-b", in(10s)).fencer == "vsphere");
    CHECK(b->calls.empty());
}

TEST_CASE("levels: all failing is a failed fence with every level's reason") {
    FenceLevels levels;
    levels.add(std::make_unique<ScriptedFencer>("vsphere vcsa", false, "vCenter vcsa rejected login for x"), {});
    levels.add(std::make_unique<ScriptedFencer>("fence_ipmilan", false, "status then reported on"), {});
    FenceResult r = levels.off("node-b", in(10s));
    CHECK_FALSE(r.confirmed);
    CHECK(r.detail.find("fence off of node-b failed at every level") == 0);
    CHECK(r.detail.find("[1] vsphere vcsa: vCenter vcsa rejected login for x") != std::string::npos);
    CHECK(r.detail.find("[2] fence_ipmilan: status then reported on") != std::string::npos);
}

TEST_CASE("levels: the failure class of a failed fence combines the levels'") {
    auto chain = [](FailureClass a, FailureClass b) {
        FenceLevels levels;
        levels.add(std::make_unique<ScriptedFencer>("vsphere", false, "a", false, a), {});
        levels.add(std::make_unique<ScriptedFencer>("ipmi", false, "b", false, b), {});
        return levels.off("n", base::Clock::now() + 5s).failure;
    };
    using F = FailureClass;
    CHECK(chain(F::Transient, F::Transient) == F::Transient);  // all unreachable: retry soon
    CHECK(chain(F::Transient, F::Other) == F::Other);
    CHECK(chain(F::Transient, F::Credentials) == F::Credentials);  // any credentials fault: back off
    CHECK(chain(F::Credentials, F::Transient) == F::Credentials);
    CHECK(chain(F::Other, F::Other) == F::Other);
    CHECK(chain(F::None, F::Transient) == F::Other);  // a level that did not classify

    FenceLevels confirming;
    confirming.add(std::make_unique<ScriptedFencer>("vsphere", false, "a", false, FailureClass::Credentials), {});
    confirming.add(std::make_unique<ScriptedFencer>("ipmi", true, ""), {});
    CHECK(confirming.off("n", base::Clock::now() + 5s).failure == FailureClass::None);

    FenceLevels none;
    CHECK(none.off("n", base::Clock::now() + 5s).failure == FailureClass::Other);

    // Out of time before the last level: that level counts as timed out.
    FenceLevels slow;
    slow.add(std::make_unique<ScriptedFencer>("vsphere", false, "a", true, FailureClass::Transient), {});
    slow.add(std::make_unique<ScriptedFencer>("ipmi", false, "b", true, FailureClass::Transient), {});
    CHECK(slow.off("n", base::Clock::now() + 200ms).failure == FailureClass::Transient);
}

TEST_CASE("levels: only levels listing the node are used, and none is a clear error") {
    FenceLevels levels;
    auto ipmi_a = std::make_unique<ScriptedFencer>("ipmi-a", true, "");
    auto* a = ipmi_a.get();
    levels.add(std::move(ipmi_a), {"node-a"});
    CHECK(levels.levels_for("node-a").size() == 1);
    CHECK(levels.levels_for("node-b").empty());
    FenceResult r = levels.off("node-b", in(1s));
    CHECK_FALSE(r.confirmed);
    CHECK(r.detail.find("no fencing level can fence node-b") == 0);
    CHECK(a->calls.empty());
}

TEST_CASE("levels: a hanging first level leaves the next one its share of the time") {
    FenceLevels levels;
    auto hung = std::make_unique<ScriptedFencer>("vsphere", false, "timed out", true);
    auto ipmi = std::make_unique<ScriptedFencer>("ipmi", true, "");
    auto* h = hung.get();
    auto* i = ipmi.get();
    levels.add(std::move(hung), {});
    levels.add(std::move(ipmi), {});
    base::Deadline deadline = in(1000ms);
    auto start = base::Clock::now();
    FenceResult r = levels.off("node-b", deadline);
    CHECK(r.confirmed);
    CHECK(h->last_deadline < deadline - 300ms);  // about half
    CHECK(h->last_deadline > start + 300ms);
    CHECK(i->last_deadline == deadline);          // the last level gets all that is left
}

TEST_CASE("levels: status and list come from the first level that answers") {
    FenceLevels levels;
    levels.add(std::make_unique<ScriptedFencer>("vsphere", false, "no route"), {});
    levels.add(std::make_unique<ScriptedFencer>("ipmi", true, ""), {});
    CHECK(levels.status("n", in(5s)).fencer == "ipmi");
    ListResult l = levels.list(in(5s));
    REQUIRE(l.ok);
    CHECK(l.vms.at(0).name == "ipmi-vm");
    FenceLevels none;
    CHECK_FALSE(none.list(in(1s)).ok);
}

TEST_CASE("factory: vSphere first, then the levels, each for its nodes") {
    config::Config c;
    config::Node a, b;
    a.name = "node-a";
    a.vm_uuid = "42356049-6020-2ea0-0bd9-11362ef785e7";
    b.name = "node-b";  // physical: no VM
    c.nodes = {a, b};
    config::VSphere v;
    v.host = "vcsa.example";
    c.fencing.vsphere = v;
    config::FenceLevel ipmi;
    ipmi.agent = "fence_ipmilan";
    ipmi.args = {{"ip", "10.0.0.12"}};
    ipmi.nodes = {"node-b"};
    c.fencing.levels = {ipmi};
    auto chain = make_fence_levels(c);
    REQUIRE(chain->size() == 2);
    auto for_a = chain->levels_for("node-a");
    REQUIRE(for_a.size() == 1);
    CHECK(for_a[0]->describe() == "vsphere vcsa.example");
    auto for_b = chain->levels_for("node-b");
    REQUIRE(for_b.size() == 1);
    CHECK(for_b[0]->describe() == "fence_ipmilan 10.0.0.12");
    CHECK(chain->describe() == "vsphere vcsa.example, fence_ipmilan 10.0.0.12");
}
