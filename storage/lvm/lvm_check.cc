// SPDX-License-Identifier: GPL-2.0-or-later
#include "storage/lvm/lvm_check.h"

#include <algorithm>
#include <map>
#include <optional>

#include "storage/lvm/lvm_report.h"

namespace veeamha::storage::lvm {
namespace {

struct LvmConf {
    std::string system_id_source;  // "none" when unset
    std::optional<std::vector<std::string>> volume_list;
    std::optional<std::vector<std::string>> auto_activation_volume_list;
};

std::string read_failure(const Argv& argv, const base::ProcessResult& r) {
    return "cannot run `" + base::format_command(argv) + "` (" + r.describe() +
           "): LVM settings not checked";
}

}  // namespace

bool activation_list_matches(const std::vector<std::string>& list, const std::string& vg,
                             const std::vector<std::string>& tags) {
    for (const auto& entry : list) {
        if (entry == vg || entry.rfind(vg + "/", 0) == 0) return true;
        if (entry.size() > 1 && entry[0] == '@') {
            // "@*" matches a VG with a tag that is also one of the host's tags; any tag on the VG
            // is treated as a match here, which errs on the side of warning.
            if (entry == "@*" ? !tags.empty()
                              : std::find(tags.begin(), tags.end(), entry.substr(1)) != tags.end())
                return true;
        }
    }
    return false;
}

std::vector<std::string> lvm_config_warnings(const std::vector<config::LvmSpec>& vgs,
                                             const std::string& local_node,
                                             const LvmCommandOptions& options,
                                             std::chrono::milliseconds timeout) {
    std::vector<std::string> warnings;
    if (vgs.empty()) return warnings;
    LvmCommands commands(options);

    // lvm.conf as lvm itself sees it (defaults included; unset lists are not printed).
    LvmConf conf;
    {
        Argv argv = commands.config_values({"global/system_id_source", "activation/volume_list",
                                            "activation/auto_activation_volume_list"});
        base::ProcessResult r = run_lvm(argv, base::Clock::now() + timeout);
        if (!r.success()) {
            warnings.push_back(read_failure(argv, r));
            return warnings;
        }
        auto parsed = parse_lvm_config(r.out);
        if (!parsed.ok()) warnings.push_back("cannot fully read `" + base::format_command(argv) + "`: " + parsed.error);
        for (const auto& v : parsed.rows) {
            if (v.key == "system_id_source" && !v.values.empty()) conf.system_id_source = v.values[0];
            if (v.key == "volume_list") conf.volume_list = v.values;
            if (v.key == "auto_activation_volume_list") conf.auto_activation_volume_list = v.values;
        }
    }
    std::string local_id;
    {
        Argv argv = commands.systemid();
        base::ProcessResult r = run_lvm(argv, base::Clock::now() + timeout);
        if (!r.success()) {
            warnings.push_back(read_failure(argv, r));
            return warnings;
        }
        local_id = parse_systemid(r.out).value_or("");
    }
    std::map<std::string, VgReport> seen;
    {
        Argv argv = commands.vgs_all();
        base::ProcessResult r = run_lvm(argv, base::Clock::now() + timeout);
        if (!r.success()) {
            warnings.push_back(read_failure(argv, r));
            return warnings;
        }
        auto parsed = parse_vgs(options.report_format, r.out);
        if (!parsed.ok()) {
            warnings.push_back("cannot read `" + base::format_command(argv) + "`: " + parsed.error);
            return warnings;
        }
        for (auto& v : parsed.rows) seen.emplace(v.name, std::move(v));
    }

    bool any_system_id_mode = std::any_of(vgs.begin(), vgs.end(), [](const config::LvmSpec& s) {
        return s.mode == config::LvmSpec::Mode::SystemId;
    });
    if (any_system_id_mode) {
        if (local_id.empty()) {
            warnings.push_back(
                "this host has no LVM system ID (global/system_id_source = \"" +
                (conf.system_id_source.empty() ? std::string("none") : conf.system_id_source) +
                "\"): every host activates the shared VGs at boot and `vgchange -ay` anywhere "
                "activates them. Fix: in /etc/lvm/lvm.conf set `global { system_id_source = "
                "\"uname\" }` (the host name must be the node name \"" + local_node +
                "\") or `system_id_source = \"lvmlocal\"` with `local { system_id = \"" + local_node +
                "\" }` in /etc/lvm/lvmlocal.conf, on both nodes; then `update-initramfs -u`");
        } else if (local_id != local_node) {
            warnings.push_back("this host's LVM system ID is \"" + local_id + "\" but its node name is \"" +
                               local_node + "\": they must be equal. Fix: `global { system_id_source = "
                               "\"lvmlocal\" }` in /etc/lvm/lvm.conf and `local { system_id = \"" +
                               local_node + "\" }` in /etc/lvm/lvmlocal.conf");
        }
    }

    for (const auto& spec : vgs) {
        auto it = seen.find(spec.vg);
        if (it == seen.end()) {
            warnings.push_back("VG " + spec.vg + " is not visible on this host (`vgs --foreign " + spec.vg +
                               "`): check the paths to the shared disks (lsblk, multipath -ll, pvs)");
            continue;
        }
        const VgReport& vg = it->second;
        if (vg.partial())
            warnings.push_back("VG " + spec.vg + " is partial (" + std::to_string(vg.missing_pv_count) +
                               " PV(s) missing): it will not start" +
                               (spec.partial_allow ? " normally (partial: allow is set)" : "") +
                               "; check `pvs -o+pv_missing`");
        if (spec.mode == config::LvmSpec::Mode::SystemId) {
            if (vg.system_id.empty())
                warnings.push_back("VG " + spec.vg + " has no LVM system ID: any host may activate it, "
                                   "also at boot. Fix, on the node that has it active now: `vgchange "
                                   "--systemid <that node's name> " + spec.vg + "`");
            bool boot_activates = vg.autoactivation &&
                                  (!conf.auto_activation_volume_list ||
                                   activation_list_matches(*conf.auto_activation_volume_list, spec.vg, vg.tags));
            if (boot_activates && !vg.system_id.empty())
                warnings.push_back("VG " + spec.vg + " is auto-activated at boot by the host that holds its "
                                   "system ID, before veeam-had decides who runs the group. Fix, once on "
                                   "the owner: `vgchange --setautoactivation n " + spec.vg + "`");
            if (conf.volume_list && !activation_list_matches(*conf.volume_list, spec.vg, vg.tags))
                warnings.push_back("activation/volume_list in lvm.conf does not include VG " + spec.vg +
                                   ", so `vgchange -aey` skips it. In system_id mode volume_list is not "
                                   "needed: remove it (or add \"" + spec.vg + "\"), then `update-initramfs -u`");
        } else {
            if (!conf.volume_list)
                warnings.push_back("tag mode: activation/volume_list is not set in lvm.conf, so every host "
                                   "activates VG " + spec.vg + " at boot. Fix: `volume_list = [ \"<root VG>\" ]` "
                                   "in the activation section (the shared VGs not listed), then "
                                   "`update-initramfs -u`; or use mode system_id");
            else if (activation_list_matches(*conf.volume_list, spec.vg, vg.tags))
                warnings.push_back("tag mode: activation/volume_list in lvm.conf selects VG " + spec.vg +
                                   " (by name or tag), so it is activated at boot. Fix: list only the "
                                   "root VG, then `update-initramfs -u`");
            if (!vg.system_id.empty())
                warnings.push_back("tag mode: VG " + spec.vg + " has system ID \"" + vg.system_id +
                                   "\"; tag mode needs VGs without one (`vgchange -y --systemid '' " +
                                   spec.vg + "` on its owner) and system_id_source = \"none\"");
        }
    }
    return warnings;
}

}  // namespace veeamha::storage::lvm
