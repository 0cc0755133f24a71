// SPDX-License-Identifier: GPL-2.0-or-later
// README.md ("Configuration reference") documents every key the loader accepts, and the example config uses only keys
// the loader knows (it loads in corpus_test). Keeps the reference complete as the schema grows.
#include <catch2/catch.hpp>

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
