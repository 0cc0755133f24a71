// SPDX-License-Identifier: GPL-2.0-or-later
// The `lvm` resource kind (docs/design.md §5): exclusive activation of one volume group on shared
// storage. Two ownership modes:
//
// system_id (default): the VG's LVM system ID names the host that may use it. This node's ID
//   (`lvm systemid`) must equal its node name. start = take the ID if the VG is ours already, or
//   it has the peer's ID (only when the peer released the group or was fenced), or it has none
//   (same condition); then `vgchange -aey`. stop = `vgchange -an`, check with libdevmapper that
//   nothing of the VG is left, then on a clean hand-over give the VG the peer's ID.
// tag: the article's HA-LVM tagging: the VG carries the owner's node name as a tag;
//   activation is restricted to VGs with this node's tag (activation/volume_list=["@NODE"] on
//   the command line). start = drop the peer's tag (only when it released or was fenced), add
//   ours, activate; stop = deactivate, check, drop our tag.
//
// A VG that is missing, partial (a PV missing) without `partial: allow`, exported, clustered,
// owned by a third system ID or tagged by the peer without a release/fence is refused with a
// reason that says what to run. monitor = every visible LV has a live, unsuspended dm device.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "base/resource.h"
#include "storage/lvm/lvm_commands.h"
#include "storage/lvm/lvm_report.h"

namespace veeamha::storage::lvm {

enum class ReportStatus { Ok, Missing, Error };

class LvmResource final : public base::Resource {
public:
    // `local_node`: this node's name from the configuration; in system_id mode it must also be
    // this host's LVM system ID. `options` restrict LVM to given devices / add lvm.conf
    // overrides (tests).
    LvmResource(config::LvmSpec spec, std::string local_node, LvmCommandOptions options = {});

    base::OpResult start(const base::OpContext& ctx) override;
    base::OpResult stop(const base::OpContext& ctx) override;
    base::OpResult monitor(const base::OpContext& ctx) override;

    // The metadata-only steps of start and stop, public so that they can be tested where no
    // device-mapper exists. claim: make this node the VG's owner (system ID or tag) if that is
    // allowed, read back. release: after deactivation, hand the VG to ctx.hand_over_to (system
    // ID mode) or drop this node's tag (tag mode); refused while any LV is active here.
    base::OpResult claim(const base::OpContext& ctx);
    base::OpResult release(const base::OpContext& ctx);

    const config::LvmSpec& spec() const { return spec_; }

private:
    template <typename Row>
    struct Report {
        ReportStatus status = ReportStatus::Error;
        std::vector<Row> rows;
        base::OpResult error;  // Missing or Error: the reason
    };

    Report<VgReport> read_vg(base::Deadline deadline) const;
    Report<LvReport> read_lvs(base::Deadline deadline) const;
    base::OpResult claim_impl(const base::OpContext& ctx, VgReport& vg);
    base::OpResult claim_system_id(const base::OpContext& ctx, const VgReport& vg);
    base::OpResult claim_tag(const base::OpContext& ctx, const VgReport& vg);
    // Every expected LV has a live, unsuspended dm device; `step` prefixes the reason.
    base::OpResult check_lvs_mapped(const std::vector<LvReport>& lvs, const std::string& step) const;
    // Runs a state-changing lvm command; nullopt on success, the failure otherwise.
    std::optional<base::OpResult> run_step(const Argv& argv, base::Deadline deadline,
                                     const std::string& step) const;
    bool is_system_id_mode() const { return spec_.mode == config::LvmSpec::Mode::SystemId; }

    config::LvmSpec spec_;
    std::string local_node_;
    LvmCommands commands_;
};

// lvm's stderr without its noise (leaked-fd and "activation disabled" warnings), one line,
// bounded, for reasons.
std::string lvm_error_text(const base::ProcessResult& result);

}  // namespace veeamha::storage::lvm
