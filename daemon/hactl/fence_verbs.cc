// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/hactl/fence_verbs.h"

#include <algorithm>
#include <iomanip>
#include <iostream>

#include "daemon/cli/cli.h"
#include "fencing/factory.h"

namespace veeamha::hactl {

namespace {

constexpr const char* kUsage =
    "usage: veeam-hactl fence list\n"
    "       veeam-hactl fence status NODE\n"
    "       veeam-hactl fence off|on|reboot NODE --yes\n";

std::string node_names(const config::Config& config) {
    std::string out;
    for (const auto& n : config.nodes) out += (out.empty() ? "" : ", ") + n.name;
    return out;
}

int print_list(const config::Config& config, fencing::Fencer& fencer, base::Deadline deadline, std::ostream& out,
               std::ostream& err) {
    fencing::ListResult list = fencer.list(deadline);
    if (!list.ok) {
        err << "fence list failed: " << list.error << "\n";
        return cli::kExitFailure;
    }
    std::sort(list.vms.begin(), list.vms.end(),
              [](const fencing::VmInfo& a, const fencing::VmInfo& b) { return a.name < b.name; });
    struct Row {
        std::string name, bios, instance, power, node;
    };
    std::vector<Row> rows{{"NAME", "BIOS UUID", "INSTANCE UUID", "POWER", "NODE"}};
    for (const auto& vm : list.vms) {
        std::string node;
        for (const auto& n : config.nodes)
            if (!n.vm_uuid.empty() && (n.vm_uuid == vm.bios_uuid || n.vm_uuid == vm.instance_uuid)) node = n.name;
        rows.push_back({vm.name, vm.bios_uuid.empty() ? "-" : vm.bios_uuid,
                        vm.instance_uuid.empty() ? "-" : vm.instance_uuid, fencing::to_string(vm.state),
                        node.empty() ? "-" : node});
    }
    size_t w[4] = {0, 0, 0, 0};
    for (const auto& r : rows) {
        w[0] = std::max(w[0], r.name.size());
        w[1] = std::max(w[1], r.bios.size());
        w[2] = std::max(w[2], r.instance.size());
        w[3] = std::max(w[3], r.power.size());
    }
    for (const auto& r : rows) {
        out << std::left << std::setw(static_cast<int>(w[0])) << r.name << "  " << std::setw(static_cast<int>(w[1]))
            << r.bios << "  " << std::setw(static_cast<int>(w[2])) << r.instance << "  "
            << std::setw(static_cast<int>(w[3])) << r.power << "  " << r.node << "\n";
    }
    out << list.vms.size() << " VM" << (list.vms.size() == 1 ? "" : "s") << "\n";
    return cli::kExitOk;
}

}  // namespace

int fence_command(const config::Config& config, int local_node_index, const std::vector<std::string>& args) {
    return fence_command(config, local_node_index, args, std::cout, std::cerr);
}

int fence_command(const config::Config& config, int local_node_index, const std::vector<std::string>& args,
                std::ostream& out, std::ostream& err) {
    if (args.empty()) {
        err << kUsage;
        return cli::kExitRefused;
    }
    const std::string& action = args[0];
    // One call and the process ends: a session kept warm would only linger on vCenter.
    auto chain = fencing::make_fence_levels(config, fencing::VimSessions::OneShot);
    base::Deadline deadline = base::Clock::now() + config.fencing.timeout;

    if (action == "list") {
        if (args.size() != 1) {
            err << kUsage;
            return cli::kExitRefused;
        }
        return print_list(config, *chain, deadline, out, err);
    }
    if (action != "status" && action != "off" && action != "on" && action != "reboot") {
        err << "unknown fence action '" << action << "'\n" << kUsage;
        return cli::kExitRefused;
    }
    bool yes = false;
    std::vector<std::string> words;
    for (size_t i = 1; i < args.size(); ++i) {
        if (args[i] == "--yes")
            yes = true;
        else
            words.push_back(args[i]);
    }
    if (words.size() != 1) {
        err << kUsage;
        return cli::kExitRefused;
    }
    const std::string& node = words[0];
    auto it = std::find_if(config.nodes.begin(), config.nodes.end(),
                           [&](const config::Node& n) { return n.name == node; });
    if (it == config.nodes.end()) {
        err << "unknown node '" << node << "'; the configured nodes are: " << node_names(config) << "\n";
        return cli::kExitRefused;
    }
    if (chain->levels_for(node).empty()) {
        err << "no fencing is configured for " << node << " (fencing.vsphere with its vm_uuid, or fencing.levels)\n";
        return cli::kExitRefused;
    }

    if (action == "status") {
        fencing::FenceResult r = chain->status(node, deadline);
        if (!r.confirmed) {
            err << "cannot read the power state of " << node << ": " << r.detail << "\n";
            return cli::kExitFailure;
        }
        out << node << ": " << fencing::to_string(r.state) << " (" << r.fencer << ": " << r.detail << ")\n";
        return cli::kExitOk;
    }

    int index = static_cast<int>(it - config.nodes.begin());
    if (index == local_node_index) {
        err << "refusing to " << action << " " << node << ": it is this node; run it on the peer\n";
        return cli::kExitRefused;
    }
    if (local_node_index < 0) {
        err << "refusing to " << action << " " << node
            << ": cannot tell which node this host is (give --node NAME)\n";
        return cli::kExitRefused;
    }
    if (!yes) {
        err << "this powers " << (action == "on" ? "on " : "off ") << node
            << (action == "reboot" ? " and on again" : "") << "; add --yes to do it\n";
        return cli::kExitRefused;
    }
    fencing::FenceResult r = action == "off"  ? chain->off(node, deadline)
                             : action == "on" ? chain->on(node, deadline)
                                              : chain->reboot(node, deadline);
    if (!r.confirmed) {
        err << "fence " << action << " of " << node << " NOT confirmed: " << r.detail << "\n";
        return cli::kExitFailure;
    }
    if (action == "reboot" && r.state != fencing::PowerState::On) {
        // The off was confirmed (the peer may be taken over), but the node did not come back.
        err << "fence reboot of " << node << ": powered off, but NOT on again (" << r.fencer << ": " << r.detail
            << "); power it on by hand (`veeam-hactl fence on " << node << " --yes` or vCenter)\n";
        return cli::kExitFailure;
    }
    out << "fence " << action << " of " << node << " confirmed by " << r.fencer << ": " << r.detail << "\n";
    return cli::kExitOk;
}

}  // namespace veeamha::hactl
