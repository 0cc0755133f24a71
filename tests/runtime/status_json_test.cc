// SPDX-License-Identifier: GPL-2.0-or-later
#include <catch2/catch.hpp>

#include "daemon/runtime/status_json.h"

using namespace veeamha;

TEST_CASE("status JSON has the fields the design promises, with null where nothing is set") {
    wire::Status st;
    st.set_cluster("vbr-repo");
    st.set_local_node("n1");
    st.set_epoch(3);
    auto* n = st.add_nodes();
    n->set_name("n1");
    n->set_state("active");
    auto* l = n->add_links();
    l->set_address("10.0.0.1");
    l->set_up(true);
    l->set_rtt_ms(0.25);
    l->set_last_heard_ms(12);
    auto* r = st.add_resources();
    r->set_name("fs \"repo\"");
    r->set_kind("filesystem");
    r->set_state(wire::RESOURCE_STARTED);
    CHECK(runtime::status_to_json(st) ==
          "{\"cluster\":\"vbr-repo\",\"local_node\":\"n1\",\"owner\":null,\"epoch\":3,"
          "\"maintenance\":false,\"nodes\":[{\"name\":\"n1\",\"state\":\"active\",\"standby\":false,"
          "\"epoch\":0,\"group\":\"unknown\",\"links\":[{\"address\":\"10.0.0.1\",\"up\":true,"
          "\"rtt_ms\":0.25,\"loss\":0,\"last_heard_ms\":12}]}],\"resources\":[{\"name\":"
          "\"fs \\\"repo\\\"\",\"kind\":\"filesystem\",\"state\":\"started\",\"fail_count\":0,"
          "\"last_error\":null}],\"fencing\":null,\"last_failover\":null}\n");
    st.set_owner("n1");
    st.mutable_last_failover()->set_at_unix_ms(1780000000123);
    st.mutable_last_failover()->set_reason("n2 lost");
    st.mutable_last_failover()->set_duration_ms(812);
    st.mutable_fencing()->set_ok(false);
    st.mutable_fencing()->set_detail("vCenter 10.0.0.9 rejected login for fence@vsphere.local");
    st.mutable_fencing()->set_at_unix_ms(1780000000000);
    std::string json = runtime::status_to_json(st);
    CHECK(json.find("\"fencing\":{\"ok\":false,\"detail\":\"vCenter 10.0.0.9 rejected login for "
                    "fence@vsphere.local\",\"at\":\"2026-05-28T20:26:40.000Z\"}") != std::string::npos);
    CHECK(json.find("\"owner\":\"n1\"") != std::string::npos);
    CHECK(json.find("\"last_failover\":{\"at\":\"2026-05-28T20:26:40.123Z\",\"reason\":\"n2 lost\","
                    "\"duration_ms\":812}") != std::string::npos);
}
