// SPDX-License-Identifier: GPL-2.0-or-later
#include <catch2/catch.hpp>

#include <unistd.h>

#include <climits>

#include "config/local_node.h"

using namespace veeamha::config;

namespace {

Config two(const std::string& a, const std::string& b) {
    Config c;
    c.nodes.resize(2);
    c.nodes[0].name = a;
    c.nodes[1].name = b;
    return c;
}

}  // namespace

TEST_CASE("the local node is found by full name, then by short name") {
    auto c = two("vbr-repo-1.vmik.lab", "vbr-repo-2.vmik.lab");
    using detail::resolve_local_node_for;
    CHECK(std::get<int>(resolve_local_node_for(c, "", "vbr-repo-2.vmik.lab")) == 1);
    CHECK(std::get<int>(resolve_local_node_for(c, "", "VBR-REPO-1.vmik.lab")) == 0);
    CHECK(std::get<int>(resolve_local_node_for(c, "", "vbr-repo-2")) == 1);
    CHECK(std::get<int>(resolve_local_node_for(c, "", "vbr-repo-1.other.domain")) == 0);
    CHECK(std::get<int>(resolve_local_node_for(c, "vbr-repo-2", "vbr-repo-1")) == 1);  // --node wins
    CHECK(std::get<std::string>(resolve_local_node_for(c, "", "backup-server")) ==
          "this host is named backup-server, which matches no configured node "
          "(vbr-repo-1.vmik.lab or vbr-repo-2.vmik.lab); give --node NAME or fix nodes[].name");
    CHECK(std::get<std::string>(resolve_local_node_for(c, "vbr-repo-3", "x")) ==
          "--node vbr-repo-3 matches no configured node; expected vbr-repo-1.vmik.lab or "
          "vbr-repo-2.vmik.lab");
    auto same_short = two("node.a.lab", "node.b.lab");
    CHECK(std::get<std::string>(resolve_local_node_for(same_short, "", "node")) ==
          "this host is named node, which matches both nodes (node.a.lab or node.b.lab); give "
          "--node NAME or fix nodes[].name");
    CHECK(std::get<int>(resolve_local_node_for(same_short, "", "node.b.lab")) == 1);
}

TEST_CASE("resolve_local_node uses this machine's host name") {
    char host[HOST_NAME_MAX + 1] = {};
    REQUIRE(gethostname(host, sizeof host - 1) == 0);
    auto c = two("someone-else", host);
    CHECK(std::get<int>(resolve_local_node(c, "")) == 1);
    CHECK(std::get<int>(resolve_local_node(c, "someone-else")) == 0);
}
