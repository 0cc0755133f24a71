// SPDX-License-Identifier: GPL-2.0-or-later
// The status for people and programs: protobuf's JSON mapping with one fact per field, the
// text that says where the group runs, the failures and the fencing history, and the one-line
// check with its monitoring-plugin exit codes.
#include <catch2/catch.hpp>

#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <sstream>

#include "daemon/runtime/status_check.h"
#include "daemon/runtime/status_json.h"

using namespace veeamha;
using runtime::Health;

namespace {

constexpr int64_t kAt = 1780000000123;  // 2026-05-28T20:26:40.123Z

// n1 active and running both resources, n2 passive and up, fencing checked ok: all is well.
wire::Status healthy(bool from_passive = false) {
    wire::Status st;
    st.set_cluster("vbr-repo");
    st.set_local_node(from_passive ? "n2" : "n1");
    st.set_owner("n1");
    st.set_epoch(7);
    for (const char* name : {"n1", "n2"}) {
        auto* n = st.add_nodes();
        n->set_name(name);
        n->set_local(st.local_node() == name);
        n->set_state("up");
        n->set_role(std::string(name) == "n1" ? "active" : "passive");
        n->set_epoch(7);
        n->set_group(std::string(name) == "n1" ? "started" : "stopped");
        auto* l = n->add_links();
        l->set_address(std::string(name) == "n1" ? "10.0.0.1" : "10.0.0.2");
        l->set_up(true);
        l->set_rtt_ms(0.25);
        l->set_last_heard_ms(12);
    }
    for (const char* name : {"fs_repo", "svc_repo"}) {
        auto* r = st.add_resources();
        r->set_name(name);
        r->set_kind(std::string(name) == "fs_repo" ? "filesystem" : "service");
        r->set_state(from_passive ? "stopped" : "started");
        r->add_running_on("n1");
    }
    st.mutable_fencing()->set_ok(true);
    st.mutable_fencing()->set_detail("vsphere 10.0.0.9: n2 is poweredOn");
    *st.mutable_fencing()->mutable_at() = runtime::timestamp_of(kAt);
    return st;
}

boost::property_tree::ptree parse(const std::string& json) {
    boost::property_tree::ptree t;
    std::istringstream in(json);
    boost::property_tree::read_json(in, t);
    return t;
}

}  // namespace

TEST_CASE("status JSON is protobuf's mapping: one fact per field, absent where nothing applies") {
    wire::Status st = healthy();
    std::string json = runtime::status_to_json(st);
    INFO(json);
    // Field names as in the proto, primitives printed even when false or 0, 64-bit as strings,
    // times as RFC 3339.
    CHECK(json.find("\"local_node\":\"n1\"") != std::string::npos);
    CHECK(json.find("\"maintenance\":false") != std::string::npos);
    CHECK(json.find("\"epoch\":\"7\"") != std::string::npos);
    CHECK(json.find("\"state\":\"up\",\"links\"") != std::string::npos);
    CHECK(json.find("\"role\":\"passive\"") != std::string::npos);
    CHECK(json.find("\"fail_count\":0") != std::string::npos);
    CHECK(json.find("\"at\":\"2026-05-28T20:26:40.123Z\"") != std::string::npos);
    CHECK(json.find("(passive)") == std::string::npos);
    CHECK(json.find("last_error") == std::string::npos);     // none: absent
    CHECK(json.find("last_failover") == std::string::npos);  // none: absent
    CHECK(json.find("\"failed_actions\":[]") != std::string::npos);
    auto t = parse(json);
    CHECK(t.get<std::string>("owner") == "n1");
    CHECK(t.get<uint64_t>("epoch") == 7);

    st.clear_owner();
    st.mutable_nodes(1)->clear_role();  // the peer not heard: its role is not known
    st.mutable_nodes(1)->set_state("lost");
    st.mutable_nodes(1)->mutable_links(0)->set_up(false);
    st.mutable_nodes(1)->mutable_links(0)->clear_rtt_ms();
    json = runtime::status_to_json(st);
    INFO(json);
    t = parse(json);
    CHECK_FALSE(t.get_optional<std::string>("owner"));
    int roles = 0;
    for (const auto& [_, n] : t.get_child("nodes")) roles += n.get_optional<std::string>("role") ? 1 : 0;
    CHECK(roles == 1);
    CHECK(json.find("{\"address\":\"10.0.0.2\",\"up\":false,\"loss\":0,\"last_heard_ms\":\"12\"}") !=
          std::string::npos);  // no rtt_ms on a link that is down
}

TEST_CASE("status text: where the group runs from the passive, errors with their time, failed actions, last fence") {
    wire::Status st = healthy(true);
    auto* svc = st.mutable_resources(1);
    svc->set_fail_count(1);
    svc->set_last_error("monitor failed: veeamtransport.service is failed");
    *svc->mutable_last_error_at() = runtime::timestamp_of(kAt);
    auto* a = st.add_failed_actions();
    a->set_resource("svc_repo");
    a->set_node("n2");
    a->set_operation("monitor");
    a->set_result("failed");
    a->set_reason("veeamtransport.service is failed");
    *a->mutable_at() = runtime::timestamp_of(kAt);
    a->set_count(2);
    auto* f = st.mutable_last_fence();
    f->set_node("n1");
    f->set_action("off");
    f->set_confirmed(true);
    f->set_detail("vsphere 10.0.0.9: n1 poweredOff");
    *f->mutable_at() = runtime::timestamp_of(kAt - 60000);
    auto* lf = st.mutable_last_failover();
    *lf->mutable_at() = runtime::timestamp_of(kAt - 59000);
    lf->set_node("n1");
    lf->set_reason("n2 lost");
    lf->set_duration_ms(812);
    std::string text = runtime::status_to_text(st);
    INFO(text);
    CHECK(text.find("group running on n1, epoch 7") != std::string::npos);
    CHECK(text.find("  n1: up, active, group started\n") != std::string::npos);
    CHECK(text.find("  n2 (this node): up, passive, group stopped\n") != std::string::npos);
    CHECK(text.find("  fs_repo (filesystem): stopped here, running on n1\n") != std::string::npos);
    CHECK(text.find("  svc_repo (service): stopped here, running on n1, fail count 1\n"
                    "      last error (2026-05-28T20:26:40.123Z): monitor failed: veeamtransport.service is failed\n") !=
          std::string::npos);
    CHECK(text.find("Failed actions (until `veeam-hactl cleanup`):\n"
                    "  svc_repo monitor on n2: failed at 2026-05-28T20:26:40.123Z (2 times): "
                    "veeamtransport.service is failed\n") != std::string::npos);
    CHECK(text.find("Fencing: ok (checked 2026-05-28T20:26:40.123Z): vsphere 10.0.0.9: n2 is poweredOn\n"
                    "  last fence: off n1 confirmed at 2026-05-28T20:25:40.123Z: vsphere 10.0.0.9: n1 poweredOff\n") !=
          std::string::npos);
    CHECK(text.find("Last failover: 2026-05-28T20:25:41.123Z to n1, took 812 ms: n2 lost\n") != std::string::npos);
}

TEST_CASE("status --check: one line, the worst state in the exit code (OK, WARNING, CRITICAL, UNKNOWN)") {
    wire::Status st = healthy();
    auto h = runtime::check_health(st);
    CHECK(h.health == Health::Ok);
    CHECK(h.line == "VEEAMHA OK - group running on n1, peer n2 up, fencing ok");

    SECTION("peer lost: running without redundancy") {
        st.mutable_nodes(1)->set_state("lost");
        h = runtime::check_health(st);
        CHECK(h.health == Health::Warning);
        CHECK(h.line == "VEEAMHA WARNING - peer n2 lost, group running on n1");
    }
    SECTION("one link down, fencing failing, a fail count, maintenance") {
        st.mutable_nodes(1)->mutable_links(0)->set_up(false);
        st.mutable_fencing()->set_ok(false);
        st.mutable_fencing()->set_detail("vCenter refused the login");
        st.mutable_resources(1)->set_fail_count(1);
        st.set_maintenance(true);
        h = runtime::check_health(st);
        CHECK(h.health == Health::Warning);
        CHECK(h.line == "VEEAMHA WARNING - 1 of 1 links down, maintenance mode, fencing FAILING: vCenter refused "
                        "the login, svc_repo fail count 1, group running on n1");
    }
    SECTION("the group runs nowhere") {
        st.clear_owner();
        st.mutable_nodes(0)->set_group("stopped");
        h = runtime::check_health(st);
        CHECK(h.health == Health::Critical);
        CHECK(h.line == "VEEAMHA CRITICAL - group not running");
    }
    SECTION("the group failed on its owner, a node unclean") {
        st.mutable_nodes(0)->set_group("failed");
        st.mutable_nodes(0)->set_unclean(true);
        h = runtime::check_health(st);
        CHECK(h.health == Health::Critical);
        CHECK(h.line == "VEEAMHA CRITICAL - group failed on n1, n1 unclean (a stop failed)");
    }
    SECTION("no status at all") {
        h = runtime::health_unknown("veeam-had is not running on this node");
        CHECK(h.health == Health::Unknown);
        CHECK(h.line == "VEEAMHA UNKNOWN - veeam-had is not running on this node");
        CHECK(static_cast<int>(h.health) == 3);
    }
}
