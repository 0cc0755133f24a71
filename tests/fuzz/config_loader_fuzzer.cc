// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target for the configuration loader: any bytes must give either a Config or at
// least one error, never a crash, hang or sanitizer report; a Config that loads must satisfy
// the rules the loader promises (checked here as properties) and must summarise.
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>

#include "config/config.h"

using namespace veeamha::config;

namespace {

void require(bool ok) {
    if (!ok) __builtin_trap();
}

void check_properties(const Config& c) {
    require(c.nodes.size() == 2);
    require(c.nodes[0].addresses.size() == c.nodes[1].addresses.size());
    require(!c.nodes[0].addresses.empty());
    require(c.nodes[0].name != c.nodes[1].name);
    require(c.heartbeat.timeout >= 3 * c.heartbeat.interval);
    require(c.fencing.vsphere.has_value() || !c.fencing.levels.empty());
    if (c.fencing.vsphere) {
        const auto& v = *c.fencing.vsphere;
        int trusts = !v.ca_file.empty() + !v.thumbprint.empty() + v.insecure;
        require(trusts == 1);
        require(v.call_timeout < c.fencing.timeout);
    }
    require(!c.resources.empty());
    std::set<std::string> names;
    for (const auto& r : c.resources) {
        require(!r.name.empty());
        require(names.insert(r.name).second);
        if (const auto* e = std::get_if<ExecSpec>(&r.spec)) {
            for (const auto* argv : {&e->start, &e->stop, &e->monitor})
                require(!argv->empty() && !(*argv)[0].empty() && (*argv)[0][0] == '/');
        }
        if (const auto* ip = std::get_if<IpSpec>(&r.spec)) require(ip->interface.size() <= 15);
    }
    std::string summary = summarize(c, 0);
    require(!summary.empty());
    summarize(c, -1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    LoadOptions options;
    options.check_files = false;  // never touch the fuzzing machine's files
    LoadResult result = load_string(text, "fuzz.yaml", options);
    require(result.config.has_value() == result.errors.empty());
    for (const auto& e : result.errors) require(!e.message.empty() && !e.to_string().empty());
    for (const auto& w : result.warnings) require(!w.to_string().empty());
    if (result.config) check_properties(*result.config);

    // The duration parser on its own, and its round trip.
    if (auto d = parse_duration(text.substr(0, 64))) require(parse_duration(format_duration(*d)) == d);
    return 0;
}
