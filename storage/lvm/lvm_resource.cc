// SPDX-License-Identifier: GPL-2.0-or-later
#include "storage/lvm/lvm_resource.h"

#include <algorithm>

#include "base/log.h"
#include "storage/lvm/block_holders.h"
#include "storage/lvm/device_mapper.h"

namespace veeamha::storage::lvm {
namespace {

bool contains(const std::string& text, const char* needle) {
    return text.find(needle) != std::string::npos;
}

std::string quoted(const std::string& s) { return "'" + s + "'"; }

// "LV a, LV b" from a list of names.
std::string join(const std::vector<std::string>& items, const char* sep = ", ") {
    std::string out;
    for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
    return out;
}

}  // namespace

std::string lvm_error_text(const base::ProcessResult& result) {
    std::string lines;
    size_t pos = 0;
    const std::string& err = result.err;
    while (pos < err.size()) {
        size_t eol = err.find('\n', pos);
        if (eol == std::string::npos) eol = err.size();
        std::string line = err.substr(pos, eol - pos);
        pos = eol + 1;
        size_t b = line.find_first_not_of(" \t\r");
        if (b == std::string::npos) continue;
        line = line.substr(b);
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
        if (contains(line, "Activation disabled") || contains(line, "leaked on lvm invocation"))
            continue;
        lines += (lines.empty() ? "" : " / ") + line;
    }
    std::string head;
    switch (result.ended) {
        case base::ProcessResult::Ended::Exited: head = "exit " + std::to_string(result.exit_code); break;
        case base::ProcessResult::Ended::Signaled: head = "killed by signal " + std::to_string(result.signal); break;
        case base::ProcessResult::Ended::TimedOut: head = "timed out"; break;
        case base::ProcessResult::Ended::CouldNotStart: return "could not start: " + result.error;
    }
    if (lines.size() > 600) lines = lines.substr(0, 600) + "...";
    return lines.empty() ? head : head + ": " + lines;
}

LvmResource::LvmResource(config::LvmSpec spec, std::string local_node, LvmCommandOptions options)
    : spec_(std::move(spec)), local_node_(std::move(local_node)), commands_(std::move(options)) {}

std::optional<base::OpResult> LvmResource::run_step(const Argv& argv, base::Deadline deadline,
                                              const std::string& step) const {
    base::log::info("lvm " + spec_.vg + ": " + step + ": " + base::format_command(argv));
    base::ProcessResult r = run_lvm(argv, deadline);
    if (r.success()) return std::nullopt;
    if (r.ended == base::ProcessResult::Ended::TimedOut)
        return base::OpResult::timed_out("VG " + spec_.vg + ": " + step + ": `" + base::format_command(argv) +
                                   "` did not finish before the deadline");
    return base::OpResult::failed("VG " + spec_.vg + ": " + step + " failed: `" + base::format_command(argv) +
                            "`: " + lvm_error_text(r));
}

template <typename Row, typename Parse>
static void fill_report(const Argv& argv, base::Deadline deadline, const std::string& vg, Parse parse,
                        std::vector<Row>& rows, ReportStatus& status, base::OpResult& error) {
    base::ProcessResult r = run_lvm(argv, deadline);
    if (r.ended == base::ProcessResult::Ended::TimedOut) {
        error = base::OpResult::timed_out("`" + base::format_command(argv) + "` did not finish before the deadline");
        return;
    }
    if (!r.success()) {
        // vgs/lvs exit 5 and say "Volume group "x" not found" for a VG they cannot see.
        if (r.ended == base::ProcessResult::Ended::Exited && contains(r.err, "not found")) {
            status = ReportStatus::Missing;
            error = base::OpResult::failed(
                "volume group " + vg + " not found (`" + base::format_command(argv) +
                "`: " + lvm_error_text(r) +
                "): check that this host sees the shared disks (lsblk, multipath -ll, pvs)");
            return;
        }
        error = base::OpResult::failed("`" + base::format_command(argv) + "` failed: " + lvm_error_text(r));
        return;
    }
    auto parsed = parse(r.out);
    if (!parsed.ok()) {
        error = base::OpResult::failed("cannot read `" + base::format_command(argv) + "`: " + parsed.error);
        return;
    }
    rows = std::move(parsed.rows);
    status = ReportStatus::Ok;
}

LvmResource::Report<VgReport> LvmResource::read_vg(base::Deadline deadline) const {
    Report<VgReport> out;
    auto format = commands_.options().report_format;
    fill_report<VgReport>(commands_.vgs(spec_.vg), deadline, spec_.vg,
                          [format](const std::string& t) { return parse_vgs(format, t); },
                          out.rows, out.status, out.error);
    out.rows.erase(std::remove_if(out.rows.begin(), out.rows.end(),
                                  [&](const VgReport& v) { return v.name != spec_.vg; }),
                   out.rows.end());
    if (out.status == ReportStatus::Ok && out.rows.empty()) {
        out.status = ReportStatus::Missing;
        out.error = base::OpResult::failed("volume group " + spec_.vg +
                                     " not found: check that this host sees the shared disks "
                                     "(lsblk, multipath -ll, pvs)");
    }
    return out;
}

LvmResource::Report<LvReport> LvmResource::read_lvs(base::Deadline deadline) const {
    Report<LvReport> out;
    auto format = commands_.options().report_format;
    fill_report<LvReport>(commands_.lvs(spec_.vg), deadline, spec_.vg,
                          [format](const std::string& t) { return parse_lvs(format, t); },
                          out.rows, out.status, out.error);
    out.rows.erase(std::remove_if(out.rows.begin(), out.rows.end(),
                                  [&](const LvReport& l) { return l.vg_name != spec_.vg; }),
                   out.rows.end());
    return out;
}

// ---- claim ----

base::OpResult LvmResource::claim(const base::OpContext& ctx) {
    VgReport vg;
    return claim_impl(ctx, vg);
}

base::OpResult LvmResource::claim_impl(const base::OpContext& ctx, VgReport& vg) {
    if (!valid_lvm_identifier(local_node_))
        return base::OpResult::failed("node name " + quoted(local_node_) +
                                " cannot be an LVM system ID or tag (allowed: letters, digits, . _ + - :)");
    auto report = read_vg(ctx.deadline);
    if (report.status != ReportStatus::Ok) return report.error;
    vg = report.rows.front();
    if (vg.exported())
        return base::OpResult::failed("VG " + spec_.vg + " is exported: run `vgimport " + spec_.vg +
                                "` once, then start again");
    if (vg.clustered_or_shared())
        return base::OpResult::failed("VG " + spec_.vg + " is clustered or shared (vg_attr " + vg.attr +
                                "): veeam-had manages local VGs; convert it with `vgchange --locktype none " +
                                spec_.vg + "`");
    if (vg.partial() && !spec_.partial_allow)
        return base::OpResult::failed("VG " + spec_.vg + " is partial: " + std::to_string(vg.missing_pv_count) +
                                " of " + std::to_string(vg.pv_count) +
                                " PVs missing (see `pvs -o+pv_missing`); fix the paths to the "
                                "disks, or set `partial: allow` to activate it anyway");
    return is_system_id_mode() ? claim_system_id(ctx, vg) : claim_tag(ctx, vg);
}

base::OpResult LvmResource::claim_system_id(const base::OpContext& ctx, const VgReport& vg) {
    // The host's own system ID, as lvm computes it from lvm.conf.
    Argv argv = commands_.systemid();
    base::ProcessResult r = run_lvm(argv, ctx.deadline);
    if (r.ended == base::ProcessResult::Ended::TimedOut)
        return base::OpResult::timed_out("`" + base::format_command(argv) + "` did not finish before the deadline");
    if (!r.success())
        return base::OpResult::failed("`" + base::format_command(argv) + "` failed: " + lvm_error_text(r));
    auto local_id = parse_systemid(r.out);
    if (!local_id)
        return base::OpResult::failed("cannot read `" + base::format_command(argv) + "`: no \"system ID:\" line in \"" +
                                r.out.substr(0, 200) + "\"");
    if (local_id->empty())
        return base::OpResult::failed(
            "this host has no LVM system ID, so system_id mode cannot protect VG " + spec_.vg +
            ": set `global { system_id_source = \"uname\" }` in /etc/lvm/lvm.conf (the host name "
            "must be the node name " + quoted(local_node_) + ") or `system_id_source = \"lvmlocal\"` "
            "with `local { system_id = \"" + local_node_ + "\" }` in /etc/lvm/lvmlocal.conf; "
            "check with `lvm systemid`");
    if (*local_id != local_node_)
        return base::OpResult::failed("this host's LVM system ID is " + quoted(*local_id) +
                                " but its node name is " + quoted(local_node_) +
                                ": they must be equal so that the peer can hand VGs over; set "
                                "`local { system_id = \"" + local_node_ + "\" }` in /etc/lvm/lvmlocal.conf "
                                "with `global { system_id_source = \"lvmlocal\" }`");

    const std::string& owner = vg.system_id;
    std::string take_from;  // empty: the VG has no system ID
    if (owner == local_node_) return base::OpResult::ok("VG " + spec_.vg + " is owned by this node");
    if (!owner.empty() && owner != ctx.peer_node)
        return base::OpResult::failed(
            "VG " + spec_.vg + " belongs to system ID " + quoted(owner) + ", which is neither this node (" +
            local_node_ + ") nor the peer" + (ctx.peer_node.empty() ? "" : " (" + ctx.peer_node + ")") +
            ": refusing. If that host is retired and powered off, take the VG by hand: "
            "`vgchange --config 'local/extra_system_ids=[\"" + owner + "\"]' --systemid " + local_node_ +
            " " + spec_.vg + "`");
    if (!ctx.peer_released_or_fenced) {
        if (owner.empty())
            return base::OpResult::failed("VG " + spec_.vg +
                                    " has no system ID (any host may activate it) and the peer has "
                                    "neither released the group nor been fenced: not claiming it. "
                                    "Give it this node's ID on the node that uses it: `vgchange "
                                    "--systemid " + local_node_ + " " + spec_.vg + "`");
        return base::OpResult::failed("VG " + spec_.vg + " is owned by the peer " + owner +
                                " (system ID), which has neither released it nor been fenced: "
                                "not taking it over");
    }
    take_from = owner;
    if (!take_from.empty() && !valid_lvm_identifier(take_from))
        return base::OpResult::failed("VG " + spec_.vg + " has system ID " + quoted(take_from) +
                                " which cannot be named in --config");
    if (auto failure = run_step(commands_.set_system_id(spec_.vg, local_node_, take_from), ctx.deadline,
                                take_from.empty() ? "claim (set system ID)"
                                                  : "take over from " + take_from))
        return *failure;
    auto after = read_vg(ctx.deadline);
    if (after.status != ReportStatus::Ok) return after.error;
    if (after.rows.front().system_id != local_node_)
        return base::OpResult::failed("VG " + spec_.vg + ": system ID reads back as " +
                                quoted(after.rows.front().system_id) + " after setting it to " +
                                quoted(local_node_));
    std::string what = take_from.empty() ? "claimed (it had no system ID)"
                                         : "taken over from " + take_from;
    base::log::notice("lvm " + spec_.vg + ": " + what);
    return base::OpResult::ok("VG " + spec_.vg + " " + what);
}

base::OpResult LvmResource::claim_tag(const base::OpContext& ctx, const VgReport& vg) {
    if (!vg.system_id.empty() && vg.system_id != local_node_)
        return base::OpResult::failed("VG " + spec_.vg + " has system ID " + quoted(vg.system_id) +
                                ": tag mode needs VGs without one (on the host that owns it: "
                                "`vgchange -y --systemid '' " + spec_.vg + "`), or use mode system_id");
    std::vector<std::string> add, remove;
    if (!ctx.peer_node.empty() && vg.has_tag(ctx.peer_node)) {
        if (!ctx.peer_released_or_fenced)
            return base::OpResult::failed("VG " + spec_.vg + " carries the peer's tag @" + ctx.peer_node +
                                    " and the peer has neither released it nor been fenced: not "
                                    "taking it over");
        if (!valid_lvm_identifier(ctx.peer_node))
            return base::OpResult::failed("peer name " + quoted(ctx.peer_node) + " is not a valid LVM tag");
        remove.push_back(ctx.peer_node);
    }
    if (!vg.has_tag(local_node_)) add.push_back(local_node_);
    if (add.empty() && remove.empty()) return base::OpResult::ok("VG " + spec_.vg + " carries this node's tag");
    if (auto failure = run_step(commands_.change_tags(spec_.vg, add, remove), ctx.deadline,
                                remove.empty() ? "claim (add tag)" : "take over from " + ctx.peer_node))
        return *failure;
    auto after = read_vg(ctx.deadline);
    if (after.status != ReportStatus::Ok) return after.error;
    const VgReport& now = after.rows.front();
    if (!now.has_tag(local_node_) || (!ctx.peer_node.empty() && now.has_tag(ctx.peer_node)))
        return base::OpResult::failed("VG " + spec_.vg + ": tags read back as [" + join(now.tags) +
                                "] after tagging it @" + local_node_);
    std::string what = remove.empty() ? "tagged @" + local_node_
                                      : "taken over from @" + ctx.peer_node + ", tagged @" + local_node_;
    base::log::notice("lvm " + spec_.vg + ": " + what);
    return base::OpResult::ok("VG " + spec_.vg + " " + what);
}

// ---- device-mapper checks ----

base::OpResult LvmResource::check_lvs_mapped(const std::vector<LvReport>& lvs, const std::string& step) const {
    DmListing dm = list_dm_devices();
    if (!dm.ok()) return base::OpResult::failed("VG " + spec_.vg + ": " + step + ": " + dm.error);
    if (!dm.available)
        return base::OpResult::failed("VG " + spec_.vg + ": " + step +
                                ": the kernel has no device-mapper driver loaded (modprobe dm_mod)");
    auto devices = devices_of_vg(dm.devices, spec_.vg);
    std::vector<std::string> problems;
    size_t expected = 0;
    for (const auto& lv : lvs) {
        if (lv.activation_skipped()) continue;
        ++expected;
        bool found = false, suspended = false, live = false;
        for (const auto& d : devices) {
            auto split = split_lvm_dm_name(d.name);
            if (!split || split->lv != lv.name) continue;
            found = true;
            suspended = suspended || d.suspended;
            live = live || d.live_table;
        }
        if (!found) problems.push_back("LV " + lv.name + " has no device-mapper device");
        else if (suspended) problems.push_back("LV " + lv.name + " is suspended (dmsetup info " +
                                               spec_.vg + "/" + lv.name + ")");
        else if (!live) problems.push_back("LV " + lv.name + " has no live table");
    }
    if (!problems.empty()) {
        std::string hint;
        for (const auto& p : problems)
            if (contains(p, "no device-mapper device")) {
                hint = " (if lvm.conf sets activation/volume_list, it must not exclude this VG: "
                       "`lvm config activation/volume_list`)";
                break;
            }
        return base::OpResult::failed("VG " + spec_.vg + ": " + step + ": " + join(problems, "; ") + hint);
    }
    return base::OpResult::ok("VG " + spec_.vg + ": " + std::to_string(expected) + " LV(s) active");
}

// ---- Resource ----

base::OpResult LvmResource::start(const base::OpContext& ctx) {
    VgReport vg;
    base::OpResult claimed = claim_impl(ctx, vg);
    if (!claimed.is_ok()) return claimed;
    if (vg.lv_count == 0)
        return base::OpResult::failed("VG " + spec_.vg + " has no logical volumes: nothing to activate");
    const bool partial = vg.partial() && spec_.partial_allow;
    if (partial)
        base::log::warning("lvm " + spec_.vg + ": activating with " + std::to_string(vg.missing_pv_count) +
                     " PV(s) missing (partial: allow)");
    if (auto failure = run_step(commands_.activate(spec_.vg, partial,
                                                   is_system_id_mode() ? std::string() : local_node_),
                                ctx.deadline, "activate"))
        return *failure;
    auto lvs = read_lvs(ctx.deadline);
    if (lvs.status != ReportStatus::Ok) return lvs.error;
    base::OpResult mapped = check_lvs_mapped(lvs.rows, "after activation");
    if (!mapped.is_ok()) return mapped;
    return base::OpResult::ok(claimed.reason + "; " + mapped.reason);
}

base::OpResult LvmResource::stop(const base::OpContext& ctx) {
    Argv argv = commands_.deactivate(spec_.vg);
    base::log::info("lvm " + spec_.vg + ": deactivate: " + base::format_command(argv));
    base::ProcessResult deactivated = run_lvm(argv, ctx.deadline);

    // The kernel decides whether the VG is still active, whatever vgchange said.
    DmListing dm = list_dm_devices();
    if (!dm.ok()) return base::OpResult::failed("VG " + spec_.vg + ": after deactivation: " + dm.error);
    auto left = devices_of_vg(dm.devices, spec_.vg);
    if (!left.empty()) {
        std::vector<std::string> parts;
        for (const auto& d : left) {
            auto holders = find_block_holders(d.major, d.minor);
            parts.push_back(d.name + " (" + kernel_name(d) + ", open count " +
                            std::to_string(d.open_count) + ": " + describe(holders) + ")");
        }
        std::string why = deactivated.success() ? std::string()
                                                : " (`" + base::format_command(argv) + "`: " +
                                                      lvm_error_text(deactivated) + ")";
        auto make = deactivated.ended == base::ProcessResult::Ended::TimedOut ? base::OpResult::timed_out
                                                                        : base::OpResult::failed;
        return make("VG " + spec_.vg + " still has active LVs after deactivation" + why + ": " +
                    join(parts, "; ") + ". Stop what uses them (unmount, stop the processes) first");
    }
    if (!deactivated.success())
        base::log::warning("lvm " + spec_.vg + ": `" + base::format_command(argv) + "`: " +
                     lvm_error_text(deactivated) + "; no device of the VG is active, going on");

    std::string done = "VG " + spec_.vg + " deactivated";
    if (is_system_id_mode() && ctx.hand_over_to.empty()) return base::OpResult::ok(done);
    if (base::expired(ctx.deadline))
        return base::OpResult::ok(done + "; no time left to " +
                            (is_system_id_mode() ? "hand it over" : "drop the tag"));
    base::OpResult released = release(ctx);
    if (!released.is_ok()) {
        // Not a failed stop: nothing is active here any more. The peer takes the VG over with
        // its own release/fence rule (extra_system_ids, or dropping our tag).
        base::log::warning("lvm " + spec_.vg + ": " + released.reason);
        return base::OpResult::ok(done + "; " + released.reason);
    }
    return base::OpResult::ok(done + "; " + released.reason);
}

base::OpResult LvmResource::release(const base::OpContext& ctx) {
    if (is_system_id_mode() && ctx.hand_over_to.empty())
        return base::OpResult::ok("VG " + spec_.vg + " keeps system ID " + local_node_);
    DmListing dm = list_dm_devices();
    if (!dm.ok()) return base::OpResult::failed("VG " + spec_.vg + ": " + dm.error);
    if (!devices_of_vg(dm.devices, spec_.vg).empty())
        return base::OpResult::failed("VG " + spec_.vg + " is still active here: not releasing it");
    auto report = read_vg(ctx.deadline);
    if (report.status != ReportStatus::Ok) return report.error;
    const VgReport& vg = report.rows.front();

    if (!is_system_id_mode()) {
        if (!vg.has_tag(local_node_)) return base::OpResult::ok("VG " + spec_.vg + " has no tag of this node");
        if (auto failure = run_step(commands_.change_tags(spec_.vg, {}, {local_node_}), ctx.deadline,
                                    "drop tag @" + local_node_))
            return *failure;
        return base::OpResult::ok("tag @" + local_node_ + " dropped");
    }

    const std::string& to = ctx.hand_over_to;
    if (!valid_lvm_identifier(to))
        return base::OpResult::failed("cannot hand VG " + spec_.vg + " to " + quoted(to) +
                                ": not a valid LVM system ID");
    if (vg.system_id == to) return base::OpResult::ok("VG " + spec_.vg + " already has system ID " + to);
    if (vg.system_id != local_node_)
        return base::OpResult::failed("VG " + spec_.vg + " has system ID " + quoted(vg.system_id) +
                                ", not this node's: not handing it over");
    if (auto failure = run_step(commands_.set_system_id(spec_.vg, to), ctx.deadline,
                                "hand over to " + to))
        return *failure;
    auto after = read_vg(ctx.deadline);
    if (after.status != ReportStatus::Ok) return after.error;
    if (after.rows.front().system_id != to)
        return base::OpResult::failed("VG " + spec_.vg + ": system ID reads back as " +
                                quoted(after.rows.front().system_id) + " after handing it to " + to);
    base::log::notice("lvm " + spec_.vg + ": handed over to " + to);
    return base::OpResult::ok("handed over to " + to);
}

base::OpResult LvmResource::monitor(const base::OpContext& ctx) {
    DmListing dm = list_dm_devices();
    if (!dm.ok()) return base::OpResult::failed("VG " + spec_.vg + ": " + dm.error);
    if (devices_of_vg(dm.devices, spec_.vg).empty())
        return base::OpResult::not_running("no device-mapper device of VG " + spec_.vg + " is active here");
    auto lvs = read_lvs(ctx.deadline);
    if (lvs.status == ReportStatus::Missing)
        return base::OpResult::failed("VG " + spec_.vg +
                                " has active devices here but lvm cannot see it any more: " + lvs.error.reason);
    if (lvs.status != ReportStatus::Ok) return lvs.error;
    if (!lvs.rows.empty()) {
        const LvReport& any = lvs.rows.front();
        if (is_system_id_mode() && any.vg_system_id != local_node_)
            return base::OpResult::failed("VG " + spec_.vg + " is active here but its system ID is now " +
                                    quoted(any.vg_system_id) +
                                    ": another host took it over; it must be stopped here");
        if (!is_system_id_mode() &&
            std::find(any.vg_tags.begin(), any.vg_tags.end(), local_node_) == any.vg_tags.end())
            return base::OpResult::failed("VG " + spec_.vg + " is active here but no longer carries the tag @" +
                                    local_node_ + " (tags: [" + join(any.vg_tags) +
                                    "]): another host took it over; it must be stopped here");
    }
    return check_lvs_mapped(lvs.rows, "monitor");
}

}  // namespace veeamha::storage::lvm
