// SPDX-License-Identifier: GPL-2.0-or-later
// The lvm2 command lines veeam-had runs, composed in one place so they can be unit-tested and
// so every command gets the same device restriction and lvm.conf overrides. Commands go through
// the `lvm` multi-call binary (`lvm vgchange ...`), never a shell.
#pragma once

#include <string>
#include <vector>

#include "base/deadline.h"
#include "base/process.h"
#include "storage/lvm/lvm_report.h"

namespace veeamha::storage::lvm {

struct LvmCommandOptions {
    std::string lvm_binary = "lvm";
    // `--devices DEV` for each entry: LVM sees only these block devices. Tests restrict LVM to
    // their own loop device so other tests' VGs on the same machine are never touched.
    std::vector<std::string> devices;
    // lvm.conf overrides in `--config` syntax (section/key=value ...), given to every command,
    // e.g. `global/system_id_source="lvmlocal" local/system_id="nodeA" global/activation=0`.
    std::string config;
    ReportFormat report_format = ReportFormat::Json;
};

using Argv = std::vector<std::string>;

// True when `text` may be used as an LVM system ID or tag and inside a --config string:
// 1-128 characters of [A-Za-z0-9._+-:], not starting with '-'. Node names (host names) pass.
bool valid_lvm_identifier(const std::string& text);

class LvmCommands {
public:
    explicit LvmCommands(LvmCommandOptions options) : options_(std::move(options)) {}
    const LvmCommandOptions& options() const { return options_; }

    Argv systemid() const;                              // lvm systemid
    Argv config_values(const std::vector<std::string>& keys) const;  // lvm config --typeconfig full
    Argv vgs(const std::string& vg) const;              // report of one VG, foreign ones too
    Argv vgs_all() const;                               // report of every visible VG
    Argv lvs(const std::string& vg) const;              // report of the VG's visible LVs
    // vgchange -aey VG; `partial` adds --activationmode partial; `only_tag` restricts activation
    // to a VG carrying that tag (activation/volume_list=["@TAG"], tag mode).
    Argv activate(const std::string& vg, bool partial, const std::string& only_tag = {}) const;
    Argv deactivate(const std::string& vg) const;       // vgchange -an VG
    // vgchange -y --systemid ID VG; `foreign_owner` non-empty adds
    // local/extra_system_ids=["OWNER"] so a VG owned by that (fenced) host can be taken.
    Argv set_system_id(const std::string& vg, const std::string& id,
                       const std::string& foreign_owner = {}) const;
    Argv change_tags(const std::string& vg, const std::vector<std::string>& add,
                     const std::vector<std::string>& remove) const;

private:
    // `lvm SUBCOMMAND` + --devices + the merged --config (options_.config and `extra`).
    Argv base(const std::string& subcommand, const std::string& extra_config = {}) const;
    Argv report(const std::string& subcommand, const char* fields) const;
    LvmCommandOptions options_;
};

// Runs an lvm command with the deadline, English messages and without lvm's leaked-fd warnings.
base::ProcessResult run_lvm(const Argv& argv, base::Deadline deadline);

}  // namespace veeamha::storage::lvm
