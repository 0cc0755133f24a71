// SPDX-License-Identifier: GPL-2.0-or-later
// Every file under bad/ must give exactly the messages in its .expected file (errors as
// ConfigError::to_string, then warnings prefixed "warning: "); every file under good/ must load
// with no error and, if it has a .expected file, exactly those warnings.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>

#include "config/config.h"
#include "test_files.h"

namespace fs = std::filesystem;
using namespace veeamha;

namespace {

std::vector<std::string> rendered(const config::LoadResult& r) {
    std::vector<std::string> lines;
    for (const auto& e : r.errors) lines.push_back(e.to_string());
    for (const auto& w : r.warnings) lines.push_back("warning: " + w.to_string());
    return lines;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

std::vector<fs::path> yaml_files(const std::string& dir) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(test::source_path(dir)))
        if (entry.path().extension() == ".yaml") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    return files;
}

config::LoadResult load(const fs::path& file) {
    config::LoadOptions options;
    options.check_files = false;  // the files they name do not exist here
    return config::load_string(test::read_file(file.string()), file.filename().string(), options);
}

}  // namespace

TEST_CASE("every bad configuration gives exactly its expected messages") {
    auto files = yaml_files("tests/config/bad");
    REQUIRE(files.size() >= 40);
    for (const auto& file : files) {
        fs::path expected_file = file;
        expected_file.replace_extension(".expected");
        INFO("file: " << file.filename().string());
        REQUIRE(fs::exists(expected_file));
        auto result = load(file);
        CHECK_FALSE(result.config.has_value());
        CHECK_FALSE(result.errors.empty());
        CHECK(rendered(result) == lines_of(test::read_file(expected_file.string())));
    }
}

TEST_CASE("every good configuration loads, with exactly its expected warnings") {
    auto files = yaml_files("tests/config/good");
    REQUIRE(files.size() >= 5);
    for (const auto& file : files) {
        INFO("file: " << file.filename().string());
        auto result = load(file);
        for (const auto& e : result.errors) UNSCOPED_INFO(e.to_string());
        CHECK(result.errors.empty());
        CHECK(result.config.has_value());
        fs::path expected_file = file;
        expected_file.replace_extension(".expected");
        if (fs::exists(expected_file))
            CHECK(rendered(result) == lines_of(test::read_file(expected_file.string())));
    }
}

TEST_CASE("the example configuration loads without errors or warnings") {
    config::LoadOptions options;
    options.check_files = false;
    auto result = config::load_file(test::source_path("systemd/veeam-ha.yaml.example"), options);
    for (const auto& e : result.errors) UNSCOPED_INFO(e.to_string());
    for (const auto& w : result.warnings) UNSCOPED_INFO(w.to_string());
    REQUIRE(result.errors.empty());
    CHECK(result.warnings.empty());
    REQUIRE(result.config);
    const auto& c = *result.config;
    // The article's lab (docs/design.md §9).
    CHECK(c.cluster.name == "vbr-repo");
    REQUIRE(c.nodes.size() == 2);
    CHECK(c.nodes[0].name == "vbr-repo-1.vmik.lab");
    CHECK(c.nodes[0].addresses == std::vector<std::string>{"192.168.22.201", "10.10.10.1"});
    CHECK(c.nodes[0].vm_uuid == "42356049-6020-2ea0-0bd9-11362ef785e7");
    CHECK(c.nodes[1].name == "vbr-repo-2.vmik.lab");
    CHECK(c.nodes[1].vm_uuid == "423576b3-f216-b7e7-aba6-9419bcb72a24");
    REQUIRE(c.fencing.vsphere);
    CHECK(c.fencing.vsphere->host == "vcsa67.vmik.lab");
    CHECK(c.fencing.vsphere->username == "admin@vmik.lab");
    REQUIRE(c.resources.size() == 6);
    const char* names[] = {"vg_vbr", "vg_repo", "fs_vbr", "fs_repo", "ip_vbr", "svc_veeamtransport"};
    for (size_t i = 0; i < 6; ++i) CHECK(c.resources[i].name == names[i]);
    CHECK(std::get<config::LvmSpec>(c.resources[0].spec).vg == "vg_vbr");
    CHECK(std::get<config::LvmSpec>(c.resources[1].spec).vg == "vg_repo");
    CHECK(std::get<config::FilesystemSpec>(c.resources[2].spec).mountpoint == "/opt/veeam");
    CHECK(std::get<config::FilesystemSpec>(c.resources[3].spec).mountpoint == "/veeam/repo");
    CHECK(std::get<config::FilesystemSpec>(c.resources[3].spec).fstype == "xfs");
    const auto& ip = std::get<config::IpSpec>(c.resources[4].spec);
    CHECK(ip.address.text() == "192.168.22.208/24");
    CHECK(ip.interface == "ens192");
    CHECK(std::get<config::ServiceSpec>(c.resources[5].spec).unit == "veeamtransport.service");
    CHECK(c.sync.paths == std::vector<std::string>{"/etc/systemd/system/veeamtransport.service", "/etc/VeeamNetConfig"});
    CHECK(c.sync.ssh_host_keys);
}

TEST_CASE("errors come in file order and name file, line and column") {
    const std::string text =
        "cluster: {name: x}\n"
        "nodes: []\n"
        "heartbeat: {interval: 5}\n"
        "fencing: {}\n"
        "resources: [{bogus: 1}]\n";
    auto r = config::load_string(text, "t.yaml", {false});
    REQUIRE(r.errors.size() == 4);
    CHECK(r.errors[0].to_string() == "t.yaml:2:8: nodes: expected exactly two nodes, found none");
    CHECK(r.errors[1].where.line == 3);
    CHECK(r.errors[1].key_path == "heartbeat.interval");
    CHECK(r.errors[2].to_string() ==
          "t.yaml:4:10: fencing: expected fencing.vsphere or fencing.levels (a way to power off "
          "a lost peer), found neither");
    CHECK(r.errors[3].to_string() ==
          "t.yaml:5:14: resources[0].bogus: unknown key; expected one of name, lvm, filesystem, "
          "bind, ip, service, exec, start_timeout, stop_timeout, monitor_interval or monitor_timeout");
}

TEST_CASE("load_file reports a missing file, a directory and an oversized file") {
    test::TempDir dir;
    auto missing = config::load_file(dir.file("nope.yaml"));
    REQUIRE(missing.errors.size() == 1);
    CHECK(missing.errors[0].to_string() ==
          dir.file("nope.yaml") +
              ": cannot read the configuration: No such file or directory (start from "
              "/etc/veeam-ha.yaml.example)");
    auto folder = config::load_file(dir.path().string());
    REQUIRE(folder.errors.size() == 1);
    CHECK(folder.errors[0].message == "expected a YAML file, found a directory");
    test::write_file(dir.file("big.yaml"), std::string(1024 * 1024 + 1, '#'));
    auto big = config::load_file(dir.file("big.yaml"));
    REQUIRE(big.errors.size() == 1);
    CHECK(big.errors[0].message ==
          "expected at most 1 MiB of YAML, found 1048577 bytes; this is not a veeam-had "
          "configuration");
}

TEST_CASE("hostile YAML: deep nesting, cyclic aliases and alias fan-out are bounded") {
    config::LoadOptions options{false};
    // Deep flow nesting: yaml-cpp's depth guard, reported as a syntax error.
    auto deep = config::load_string(std::string(100000, '['), "deep.yaml", options);
    REQUIRE(deep.errors.size() == 1);
    CHECK(deep.errors[0].message.find("nesting too deep") != std::string::npos);
    // A cyclic alias where a list of strings is expected: one error, no endless walk.
    auto cyclic = config::load_string("sync: &s [*s]\n", "cyclic.yaml", options);
    CHECK_FALSE(cyclic.config);
    // Aliases multiplying a list far beyond its limit: refused by the limit, not walked.
    std::string fan = "a: &a [/x, /x, /x, /x, /x, /x, /x, /x]\nsync: [";
    for (int i = 0; i < 300; ++i) fan += std::string(i ? ", " : "") + "*a";
    fan += "]\n";
    auto fanned = config::load_string(fan, "fan.yaml", options);
    bool limited = false;
    for (const auto& e : fanned.errors)
        if (e.to_string().find("sync: expected at most 256 items, found 300") != std::string::npos)
            limited = true;
    CHECK(limited);
}

TEST_CASE("the number of errors is capped") {
    std::string text = "sync:\n";
    for (int i = 0; i < 250; ++i) text += "  - relative" + std::to_string(i) + "\n";
    auto r = config::load_string(text, "many.yaml", {false});
    REQUIRE(r.errors.size() == 201);
    CHECK(r.errors.back().to_string() == "many.yaml: too many errors; stopped after the first 200");
}
