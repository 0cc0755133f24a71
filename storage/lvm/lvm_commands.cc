// SPDX-License-Identifier: GPL-2.0-or-later
#include "storage/lvm/lvm_commands.h"

#include <cctype>

#include "base/log.h"

namespace veeamha::storage::lvm {

bool valid_lvm_identifier(const std::string& text) {
    if (text.empty() || text.size() > 128 || text[0] == '-') return false;
    for (unsigned char c : text) {
        if (!std::isalnum(c) && c != '.' && c != '_' && c != '+' && c != '-' && c != ':')
            return false;
    }
    return true;
}

Argv LvmCommands::base(const std::string& subcommand, const std::string& extra_config) const {
    Argv argv{options_.lvm_binary, subcommand};
    for (const auto& dev : options_.devices) {
        argv.push_back("--devices");
        argv.push_back(dev);
    }
    // lvm accepts --config only once: merge the fixed overrides and this command's own.
    std::string config = options_.config;
    if (!extra_config.empty()) config += (config.empty() ? "" : " ") + extra_config;
    if (!config.empty()) {
        argv.push_back("--config");
        argv.push_back(config);
    }
    return argv;
}

Argv LvmCommands::systemid() const { return base("systemid"); }

Argv LvmCommands::config_values(const std::vector<std::string>& keys) const {
    Argv argv = base("config");
    argv.push_back("--typeconfig");
    argv.push_back("full");
    argv.insert(argv.end(), keys.begin(), keys.end());
    return argv;
}

Argv LvmCommands::report(const std::string& subcommand, const char* fields) const {
    Argv argv = base(subcommand);
    // --foreign: a VG owned by another host's system ID is reported too (it is hidden otherwise).
    argv.push_back("--foreign");
    if (options_.report_format == ReportFormat::Json) {
        argv.push_back("--reportformat");
        argv.push_back("json");
    } else {
        argv.push_back("--noheadings");
        argv.push_back("--nameprefixes");
    }
    argv.push_back("-o");
    argv.push_back(fields);
    return argv;
}

Argv LvmCommands::vgs(const std::string& vg) const {
    Argv argv = vgs_all();
    argv.push_back(vg);
    return argv;
}

Argv LvmCommands::vgs_all() const { return report("vgs", vgs_fields()); }

Argv LvmCommands::lvs(const std::string& vg) const {
    Argv argv = report("lvs", lvs_fields());
    argv.push_back(vg);
    return argv;
}

Argv LvmCommands::activate(const std::string& vg, bool partial, const std::string& only_tag) const {
    Argv argv = base("vgchange",
                     only_tag.empty() ? std::string() : "activation/volume_list=[\"@" + only_tag + "\"]");
    argv.push_back("-aey");
    if (partial) {
        argv.push_back("--activationmode");
        argv.push_back("partial");
    }
    argv.push_back(vg);
    return argv;
}

Argv LvmCommands::deactivate(const std::string& vg) const {
    Argv argv = base("vgchange");
    argv.push_back("-an");
    argv.push_back(vg);
    return argv;
}

Argv LvmCommands::set_system_id(const std::string& vg, const std::string& id,
                                const std::string& foreign_owner) const {
    Argv argv = base("vgchange", foreign_owner.empty()
                                     ? std::string()
                                     : "local/extra_system_ids=[\"" + foreign_owner + "\"]");
    // -y: lvm asks before giving a VG a system ID other than the local one (hand-over).
    argv.push_back("-y");
    argv.push_back("--systemid");
    argv.push_back(id);
    argv.push_back(vg);
    return argv;
}

Argv LvmCommands::change_tags(const std::string& vg, const std::vector<std::string>& add,
                              const std::vector<std::string>& remove) const {
    Argv argv = base("vgchange");
    for (const auto& t : remove) {
        argv.push_back("--deltag");
        argv.push_back(t);
    }
    for (const auto& t : add) {
        argv.push_back("--addtag");
        argv.push_back(t);
    }
    argv.push_back(vg);
    return argv;
}

base::ProcessResult run_lvm(const Argv& argv, base::Deadline deadline) {
    base::ProcessSpec spec;
    spec.argv = argv;
    spec.deadline = deadline;
    spec.extra_env = {"LVM_SUPPRESS_FD_WARNINGS=1", "LC_ALL=C"};
    base::ProcessResult r = base::run_process(spec);
    if (!r.success()) base::log::debug("lvm: " + base::format_command(argv) + ": " + r.describe());
    return r;
}

}  // namespace veeamha::storage::lvm
