// SPDX-License-Identifier: GPL-2.0-or-later
// Lab tests of LvmResource against real lvm2 metadata on loop devices. The CI kernel has no
// device-mapper, so lvm runs with global/activation=0: ownership (system IDs, tags), takeover,
// refusals and hand-over are real; activation itself is tested in the VM tier (lvm_vm_test.cc).
#include <catch2/catch.hpp>

#include <filesystem>

#include "storage/lvm/device_mapper.h"
#include "storage/lvm/lvm_check.h"
#include "storage/lvm/lvm_resource.h"
#include "tests/common/skip.h"
#include "tests/resources/lvm/loop_vg_fixture.h"

using namespace veeamha;
using namespace veeamha::storage::lvm;
using veeamha::test::LoopDisks;
using veeamha::test::node_options;
using veeamha::test::TestVg;

namespace {

config::LvmSpec spec_for(const std::string& vg, config::LvmSpec::Mode mode = config::LvmSpec::Mode::SystemId) {
    config::LvmSpec s;
    s.vg = vg;
    s.mode = mode;
    return s;
}

base::OpContext ctx_for(const std::string& local, const std::string& peer, bool peer_gone = false,
                  const std::string& hand_over_to = {}) {
    base::OpContext c;
    c.deadline = base::Clock::now() + std::chrono::seconds(30);
    c.local_node = local;
    c.peer_node = peer;
    c.peer_released_or_fenced = peer_gone;
    c.hand_over_to = hand_over_to;
    return c;
}

}  // namespace

TEST_CASE("system ID: the owner claims its own VG without changing it") {
    LoopDisks disks;
    TestVg vg(disks, "nodeA");
    LvmResource a(spec_for(vg.name()), "nodeA", node_options(disks.devices(), "nodeA"));
    base::OpResult r = a.claim(ctx_for("nodeA", "nodeB"));
    INFO(r.reason);
    REQUIRE(r.is_ok());
    CHECK_THAT(r.reason, Catch::Contains("owned by this node"));
    CHECK(vg.system_id() == "nodeA");
}

TEST_CASE("system ID: the peer's VG is taken over only after release or fence") {
    LoopDisks disks;
    TestVg vg(disks, "nodeA");
    LvmResource b(spec_for(vg.name()), "nodeB", node_options(disks.devices(), "nodeB"));

    base::OpResult refused = b.claim(ctx_for("nodeB", "nodeA", /*peer_gone=*/false));
    INFO(refused.reason);
    CHECK(refused.outcome == base::Outcome::Failed);
    CHECK_THAT(refused.reason, Catch::Contains("owned by the peer nodeA") &&
                                   Catch::Contains("neither released it nor been fenced"));
    CHECK(vg.system_id() == "nodeA");

    // start() goes through the same rule before anything else.
    base::OpResult start_refused = b.start(ctx_for("nodeB", "nodeA", false));
    CHECK(start_refused.outcome == base::Outcome::Failed);
    CHECK(vg.system_id() == "nodeA");

    base::OpResult taken = b.claim(ctx_for("nodeB", "nodeA", /*peer_gone=*/true));
    INFO(taken.reason);
    REQUIRE(taken.is_ok());
    CHECK_THAT(taken.reason, Catch::Contains("taken over from nodeA"));
    CHECK(vg.system_id() == "nodeB");

    // The old owner, back from the dead, can no longer claim it without a release/fence.
    LvmResource a(spec_for(vg.name()), "nodeA", node_options(disks.devices(), "nodeA"));
    base::OpResult back = a.claim(ctx_for("nodeA", "nodeB", false));
    CHECK(back.outcome == base::Outcome::Failed);
    CHECK(vg.system_id() == "nodeB");
}

TEST_CASE("system ID: a third system's VG is refused even when the peer is fenced") {
    LoopDisks disks;
    TestVg vg(disks, "nodeC");
    LvmResource b(spec_for(vg.name()), "nodeB", node_options(disks.devices(), "nodeB"));
    base::OpResult r = b.start(ctx_for("nodeB", "nodeA", /*peer_gone=*/true));
    INFO(r.reason);
    CHECK(r.outcome == base::Outcome::Failed);
    CHECK_THAT(r.reason, Catch::Contains("'nodeC'") && Catch::Contains("neither this node") &&
                             Catch::Contains("extra_system_ids"));
    CHECK(vg.system_id() == "nodeC");
}

TEST_CASE("system ID: a VG without system ID is claimed only after release or fence") {
    LoopDisks disks;
    TestVg vg(disks, "");
    REQUIRE(vg.system_id().empty());
    LvmResource a(spec_for(vg.name()), "nodeA", node_options(disks.devices(), "nodeA"));
    base::OpResult refused = a.claim(ctx_for("nodeA", "nodeB", false));
    INFO(refused.reason);
    CHECK(refused.outcome == base::Outcome::Failed);
    CHECK_THAT(refused.reason, Catch::Contains("has no system ID"));
    CHECK(vg.system_id().empty());

    base::OpResult claimed = a.claim(ctx_for("nodeA", "nodeB", true));
    INFO(claimed.reason);
    REQUIRE(claimed.is_ok());
    CHECK(vg.system_id() == "nodeA");
}

TEST_CASE("system ID: a missing VG is refused with what to check") {
    LoopDisks disks;
    LvmResource a(spec_for("vhlab_missing_" + std::to_string(::getpid())), "nodeA",
                  node_options(disks.devices(), "nodeA"));
    for (auto* op : {"claim", "start"}) {
        base::OpResult r = std::string(op) == "claim" ? a.claim(ctx_for("nodeA", "nodeB", true))
                                                : a.start(ctx_for("nodeA", "nodeB", true));
        INFO(op << ": " << r.reason);
        CHECK(r.outcome == base::Outcome::Failed);
        CHECK_THAT(r.reason, Catch::Contains("not found") && Catch::Contains("shared disks"));
    }
}

TEST_CASE("system ID: a host without system ID, or with one that is not its node name, refuses") {
    LoopDisks disks;
    TestVg vg(disks, "");
    LvmResource none(spec_for(vg.name()), "nodeA", node_options(disks.devices(), ""));
    base::OpResult r = none.start(ctx_for("nodeA", "nodeB", true));
    INFO(r.reason);
    CHECK(r.outcome == base::Outcome::Failed);
    CHECK_THAT(r.reason, Catch::Contains("no LVM system ID") && Catch::Contains("system_id_source"));

    LvmResource wrong(spec_for(vg.name()), "nodeA", node_options(disks.devices(), "nodeA.example"));
    base::OpResult w = wrong.start(ctx_for("nodeA", "nodeB", true));
    INFO(w.reason);
    CHECK(w.outcome == base::Outcome::Failed);
    CHECK_THAT(w.reason, Catch::Contains("'nodeA.example'") && Catch::Contains("must be equal"));
    CHECK(vg.system_id().empty());
}

TEST_CASE("system ID: start claims, then stops at the device-mapper check on a kernel without it") {
    // With device-mapper loaded the start goes further than this test can follow (the VM tier,
    // lvm_vm_test.cc, tests real activation): this test is for kernels without it.
    if (list_dm_devices().available)
        VEEAMHA_SKIP_TEST("device-mapper is loaded on this host; this test needs a kernel without it");
    LoopDisks disks;
    TestVg vg(disks, "nodeA");
    LvmResource b(spec_for(vg.name()), "nodeB", node_options(disks.devices(), "nodeB"));
    base::OpResult r = b.start(ctx_for("nodeB", "nodeA", true));
    INFO(r.reason);
    CHECK(r.outcome == base::Outcome::Failed);
    CHECK_THAT(r.reason, Catch::Contains("no device-mapper driver"));
    CHECK(vg.system_id() == "nodeB");
    // Nothing can be mapped here, so monitor reports not running rather than failed.
    base::OpResult m = b.monitor(ctx_for("nodeB", "nodeA"));
    CHECK(m.outcome == base::Outcome::NotRunning);
}

TEST_CASE("system ID: stop hands the VG over to the peer, which then owns it without a fence") {
    LoopDisks disks;
    TestVg vg(disks, "nodeA");
    LvmResource a(spec_for(vg.name()), "nodeA", node_options(disks.devices(), "nodeA"));

    base::OpResult kept = a.stop(ctx_for("nodeA", "nodeB"));
    INFO(kept.reason);
    REQUIRE(kept.is_ok());
    CHECK(vg.system_id() == "nodeA");  // no hand-over asked: the VG keeps this node's ID

    base::OpResult handed = a.stop(ctx_for("nodeA", "nodeB", false, /*hand_over_to=*/"nodeB"));
    INFO(handed.reason);
    REQUIRE(handed.is_ok());
    CHECK_THAT(handed.reason, Catch::Contains("handed over to nodeB"));
    CHECK(vg.system_id() == "nodeB");

    LvmResource b(spec_for(vg.name()), "nodeB", node_options(disks.devices(), "nodeB"));
    base::OpResult mine = b.claim(ctx_for("nodeB", "nodeA", /*peer_gone=*/false));
    INFO(mine.reason);
    CHECK(mine.is_ok());
    CHECK(vg.system_id() == "nodeB");

    // A node cannot hand over what it does not own.
    base::OpResult not_mine = a.release(ctx_for("nodeA", "nodeB", false, "nodeC"));
    CHECK(not_mine.outcome == base::Outcome::Failed);
    CHECK(vg.system_id() == "nodeB");
}

TEST_CASE("system ID: a partial VG is refused unless partial: allow") {
    LoopDisks disks(2);
    TestVg vg(disks, "nodeA");
    // LVM sees only the first of the VG's two disks: one PV missing.
    std::vector<std::string> first_only{disks.devices()[0]};
    auto spec = spec_for(vg.name());
    LvmResource a(spec, "nodeA", node_options(first_only, "nodeA"));
    base::OpResult r = a.claim(ctx_for("nodeA", "nodeB", true));
    INFO(r.reason);
    CHECK(r.outcome == base::Outcome::Failed);
    CHECK_THAT(r.reason, Catch::Contains("partial") && Catch::Contains("1 of 2 PVs missing") &&
                             Catch::Contains("partial: allow"));

    spec.partial_allow = true;
    LvmResource allowed(spec, "nodeA", node_options(first_only, "nodeA"));
    base::OpResult ok = allowed.claim(ctx_for("nodeA", "nodeB", true));
    INFO(ok.reason);
    CHECK(ok.is_ok());

    // Taking over a partial VG changes its metadata, which lvm refuses: the reason says why.
    LvmResource b(spec, "nodeB", node_options(first_only, "nodeB"));
    base::OpResult take = b.claim(ctx_for("nodeB", "nodeA", true));
    INFO(take.reason);
    CHECK(take.outcome == base::Outcome::Failed);
    CHECK_THAT(take.reason, Catch::Contains("PVs are missing"));
    CHECK(vg.system_id() == "nodeA");
}

TEST_CASE("system ID: the column report form gives the same decisions") {
    LoopDisks disks;
    TestVg vg(disks, "nodeA");
    auto options = node_options(disks.devices(), "nodeB");
    options.report_format = ReportFormat::Columns;
    LvmResource b(spec_for(vg.name()), "nodeB", options);
    CHECK(b.claim(ctx_for("nodeB", "nodeA", false)).outcome == base::Outcome::Failed);
    base::OpResult r = b.claim(ctx_for("nodeB", "nodeA", true));
    INFO(r.reason);
    CHECK(r.is_ok());
    CHECK(vg.system_id() == "nodeB");
}

TEST_CASE("tag mode: the peer's tag is replaced only after release or fence and stop drops ours") {
    LoopDisks disks;
    TestVg vg(disks, "");
    auto spec = spec_for(vg.name(), config::LvmSpec::Mode::Tag);
    LvmResource a(spec, "nodeA", node_options(disks.devices(), ""));
    LvmResource b(spec, "nodeB", node_options(disks.devices(), ""));

    base::OpResult first = a.claim(ctx_for("nodeA", "nodeB", false));
    INFO(first.reason);
    REQUIRE(first.is_ok());
    CHECK(vg.tags() == "nodeA");

    base::OpResult refused = b.claim(ctx_for("nodeB", "nodeA", false));
    INFO(refused.reason);
    CHECK(refused.outcome == base::Outcome::Failed);
    CHECK_THAT(refused.reason, Catch::Contains("@nodeA"));
    CHECK(vg.tags() == "nodeA");

    base::OpResult taken = b.claim(ctx_for("nodeB", "nodeA", true));
    INFO(taken.reason);
    REQUIRE(taken.is_ok());
    CHECK(vg.tags() == "nodeB");

    base::OpResult stopped = b.stop(ctx_for("nodeB", "nodeA"));
    INFO(stopped.reason);
    REQUIRE(stopped.is_ok());
    CHECK(vg.tags().empty());

    // Untagged: the next owner needs no release or fence.
    base::OpResult again = a.claim(ctx_for("nodeA", "nodeB", false));
    CHECK(again.is_ok());
    CHECK(vg.tags() == "nodeA");
}

TEST_CASE("tag mode: a VG with a system ID is refused") {
    LoopDisks disks;
    TestVg vg(disks, "nodeC");
    LvmResource a(spec_for(vg.name(), config::LvmSpec::Mode::Tag), "nodeA",
                  node_options(disks.devices(), "nodeA"));
    base::OpResult r = a.claim(ctx_for("nodeA", "nodeB", true));
    INFO(r.reason);
    CHECK(r.outcome == base::Outcome::Failed);
    CHECK_THAT(r.reason, Catch::Contains("tag mode needs VGs without one"));
}

TEST_CASE("check: warnings about host system ID, VG system ID, boot activation, volume_list") {
    LoopDisks disks;
    TestVg owned(disks, "nodeA", "o");
    auto specs = std::vector<config::LvmSpec>{spec_for(owned.name())};

    auto none = lvm_config_warnings(specs, "nodeA", node_options(disks.devices(), ""));
    std::string all_none;
    for (auto& w : none) all_none += w + "\n";
    INFO(all_none);
    CHECK_THAT(all_none, Catch::Contains("no LVM system ID") && Catch::Contains("system_id_source"));

    auto good = node_options(disks.devices(), "nodeA");
    auto warnings = lvm_config_warnings(specs, "nodeA", good);
    std::string text;
    for (auto& w : warnings) text += w + "\n";
    INFO(text);
    CHECK_THAT(text, !Catch::Contains("no LVM system ID"));
    CHECK_THAT(text, Catch::Contains("--setautoactivation n " + owned.name()));

    auto r = test::lvm_as(disks.devices(), "nodeA", "vgchange", {"--setautoactivation", "n", owned.name()});
    REQUIRE(r.success());
    CHECK(lvm_config_warnings(specs, "nodeA", good).empty());

    auto wrong_name = lvm_config_warnings(specs, "nodeX", good);
    REQUIRE_FALSE(wrong_name.empty());
    CHECK_THAT(wrong_name[0], Catch::Contains("must be equal"));

    auto missing = lvm_config_warnings({spec_for("vhlab_nosuch")}, "nodeA", good);
    REQUIRE(missing.size() == 1);
    CHECK_THAT(missing[0], Catch::Contains("not visible"));

    auto tag_specs = std::vector<config::LvmSpec>{spec_for(owned.name(), config::LvmSpec::Mode::Tag)};
    auto tag_opts = node_options(disks.devices(), "nodeA");
    auto tag_warn = lvm_config_warnings(tag_specs, "nodeA", tag_opts);
    std::string tag_text;
    for (auto& w : tag_warn) tag_text += w + "\n";
    INFO(tag_text);
    CHECK_THAT(tag_text, Catch::Contains("volume_list is not set") &&
                             Catch::Contains("tag mode needs VGs without one"));
    tag_opts.config += " activation/volume_list=[\"rootvg\"]";
    auto listed = lvm_config_warnings(tag_specs, "nodeA", tag_opts);
    for (auto& w : listed) CHECK_THAT(w, !Catch::Contains("volume_list"));
}

TEST_CASE("lab fixture: a test VG leaves no metadata backup or archive in the machine's /etc/lvm") {
    // lvm copies a VG's metadata to /etc/lvm/backup and /etc/lvm/archive at every change unless
    // told not to; those of a test VG would stay on the machine after the test.
    auto copies_of = [](const std::string& vg) {
        std::vector<std::string> found;
        std::error_code ec;
        for (const char* dir : {"/etc/lvm/backup", "/etc/lvm/archive"})
            for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
                const std::string name = e.path().filename().string();
                if (name == vg || name.rfind(vg + "_", 0) == 0) found.push_back(e.path().string());
            }
        return found;
    };
    std::string name;
    {
        LoopDisks disks;
        TestVg vg(disks, "nodeA");
        name = vg.name();
        LvmResource b(spec_for(vg.name()), "nodeB", node_options(disks.devices(), "nodeB"));
        REQUIRE(b.claim(ctx_for("nodeB", "nodeA", /*peer_gone=*/true)).is_ok());  // a change by the product's commands
        CHECK(copies_of(name).empty());
    }
    CHECK(copies_of(name).empty());
}
