// SPDX-License-Identifier: GPL-2.0-or-later
// No test of the project returns early without the skip helper (tests/common/skip.h): a test
// that returns instead of checking passes by doing nothing. And the scan itself is tested: it
// must find a planted early return, also the one that once hid in lvm_metadata_lab_test.cc.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/common/read_file.h"
#include "tests/layers/early_returns.h"

using veeamha::test::find_early_returns;

namespace {

std::string read(const std::filesystem::path& p) { return veeamha::test::slurp(p.string()); }

}  // namespace

TEST_CASE("no test case returns early without the skip helper") {
    const std::filesystem::path tests = std::filesystem::path(VEEAMHA_SOURCE_DIR) / "tests";
    std::string report;
    int files = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(tests)) {
        if (e.path().extension() != ".cc") continue;
        ++files;
        for (const auto& r : find_early_returns(read(e.path())))
            report += e.path().string() + ":" + std::to_string(r.line) + ": test " + r.test +
                      " returns early; use VEEAMHA_SKIP_TEST(why) (tests/common/skip.h)\n";
    }
    INFO(report);
    CHECK(files > 40);
    CHECK(report.empty());
}

TEST_CASE("the scan finds early returns and only those") {
    CHECK(find_early_returns(R"(TEST_CASE("a") { if (x) return; CHECK(1); })").size() == 1);
    CHECK(find_early_returns("TEST_CASE(\"a\", \"[tag]\") {\n SECTION(\"s\") {\n  return;\n }\n}").at(0).line == 3);
    CHECK(find_early_returns(R"(TEST_CASE_METHOD(F, "a") { for (;;) { return; } })").size() == 1);
    // Not early returns: a lambda's, a local class's function, the skip helper, text.
    CHECK(find_early_returns(R"(TEST_CASE("a") { auto f = [&](int v) -> bool { return v > 1; }; CHECK(f(2)); })").empty());
    CHECK(find_early_returns(R"(TEST_CASE("a") { auto f = [] { return 1; }; CHECK(f()); })").empty());
    CHECK(find_early_returns(R"(TEST_CASE("a") { struct S { int f() const { return 1; } }; CHECK(S{}.f()); })").empty());
    CHECK(find_early_returns(R"(TEST_CASE("a") { if (x) VEEAMHA_SKIP_TEST("no qemu"); CHECK(1); })").empty());
    CHECK(find_early_returns("TEST_CASE(\"a\") { CHECK(s == \"return;\"); // return;\n /* return; */ }").empty());
    CHECK(find_early_returns("TEST_CASE(\"a\") { CHECK(s == R\"x(return; })x\"); }").empty());
    CHECK(find_early_returns("int helper() { return 1; }").empty());
}

TEST_CASE("the scan catches the early return that hid in the LVM lab test") {
    const auto file = std::filesystem::path(VEEAMHA_SOURCE_DIR) / "tests/resources/lvm/lvm_metadata_lab_test.cc";
    std::string text = read(file);
    REQUIRE(find_early_returns(text).empty());
    const std::string test = "TEST_CASE(\"system ID: start claims, then stops at the device-mapper check";
    size_t at = text.find(test);
    REQUIRE(at != std::string::npos);
    size_t body = text.find("{\n", at);
    REQUIRE(body != std::string::npos);
    text.insert(body + 2, "    if (list_dm_devices().available) return;  // covered by the VM tier then\n");
    auto found = find_early_returns(text);
    REQUIRE(found.size() == 1);
    CHECK(found[0].test.find("device-mapper check") != std::string::npos);
}
