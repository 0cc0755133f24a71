// SPDX-License-Identifier: GPL-2.0-or-later
// README.md ("Configuration reference") documents every key the loader accepts, and the example config uses only keys
// the loader knows (it loads in corpus_test). Keeps the reference complete as the schema grows.
#include <catch2/catch.hpp>

#include <algorithm>

#include "config/config.h"
#include "config/schema.h"
#include "test_files.h"

using namespace veeamha;

TEST_CASE("the README's configuration reference has a row for every key of every section") {
    const std::string doc = test::read_file(test::source_path("README.md"));
    for (const auto& section : config::detail::all_sections()) {
        for (const auto& key : config::detail::keys_of(section)) {
            std::string path = section.empty() ? key : section + "." + key;
            INFO("key " << path);
            CHECK(doc.find("`" + path + "`") != std::string::npos);
        }
    }
}

TEST_CASE("the example's commented bind of /etc/veeam is valid once uncommented, after fs_repo") {
    std::string text = test::read_file(test::source_path("systemd/veeam-ha.yaml.example"));
    const std::string first = "  # - name: etc_veeam\n";
    size_t at = text.find(first);
    REQUIRE(at != std::string::npos);
    text.replace(at, first.size(), "  - name: etc_veeam\n");
    const std::string second = "  #   bind: ";
    size_t bind = text.find(second, at);
    REQUIRE(bind != std::string::npos);
    text.replace(bind, second.size(), "    bind: ");
    config::LoadOptions options;
    options.check_files = false;
    auto r = config::load_string(text, "veeam-ha.yaml.example", options);
    for (const auto& e : r.errors) UNSCOPED_INFO(e.to_string());
    REQUIRE(r.config);
    const auto& resources = r.config->resources;
    auto named = [&](const std::string& name) {
        return std::find_if(resources.begin(), resources.end(), [&](const auto& x) { return x.name == name; }) -
               resources.begin();
    };
    REQUIRE(named("etc_veeam") < static_cast<long>(resources.size()));
    CHECK(named("etc_veeam") == named("fs_repo") + 1);
    const auto& spec = std::get<config::BindSpec>(resources[named("etc_veeam")].spec);
    CHECK(spec.source == "/veeam/repo/.ha/etc-veeam");
    CHECK(spec.target == "/etc/veeam");
    CHECK(spec.allow_nonempty_target);
}
