// SPDX-License-Identifier: GPL-2.0-or-later
// Parsing of the lvm2 report commands (vgs, lvs, `lvm systemid`, `lvm config`). Two report forms
// are understood: `--reportformat json` (the default the resource uses) and the column form
// `--noheadings --nameprefixes` (LVM2_VG_NAME='x' ...), for hosts whose lvm2 predates JSON.
// Every field the resource relies on must be present; a missing or malformed one is an error
// that names it, never a silently empty value.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace veeamha::storage::lvm {

enum class ReportFormat { Json, Columns };

struct VgReport {
    std::string name;
    std::string uuid;
    std::string system_id;  // empty = the VG has no system ID (any host may use it)
    std::string attr;       // vg_attr, 6 characters: wz--n- ; see vgs(8)
    std::vector<std::string> tags;
    int pv_count = 0;
    int missing_pv_count = 0;
    int lv_count = 0;
    bool autoactivation = true;  // vg_autoactivation ("enabled" or empty)

    bool partial() const { return missing_pv_count > 0 || (attr.size() > 3 && attr[3] == 'p'); }
    bool exported() const { return attr.size() > 2 && attr[2] == 'x'; }
    // Clustered (clvmd) or shared (lvmlockd): not a local VG that system IDs or tags can guard.
    bool clustered_or_shared() const {
        return attr.size() > 5 && (attr[5] == 'c' || attr[5] == 's');
    }
    bool has_tag(std::string_view tag) const;
};

struct LvReport {
    std::string name;
    std::string uuid;
    std::string attr;  // lv_attr, 10 characters: -wi-a----- ; see lvs(8)
    std::string vg_name;
    std::string vg_system_id;
    std::vector<std::string> vg_tags;

    // 'k' in the 10th column: skipped by a plain `vgchange -ay`, so not expected to be active.
    bool activation_skipped() const { return attr.size() > 9 && attr[9] == 'k'; }
    bool partial() const { return attr.size() > 8 && attr[8] == 'p'; }
};

template <typename Row>
struct Parsed {
    std::vector<Row> rows;
    std::string error;  // empty = parsed; otherwise what was wrong and where
    bool ok() const { return error.empty(); }
};

// The -o field lists the parsers below expect (comma-separated, for `vgs -o` / `lvs -o`).
const char* vgs_fields();
const char* lvs_fields();

Parsed<VgReport> parse_vgs(ReportFormat format, std::string_view text);
Parsed<LvReport> parse_lvs(ReportFormat format, std::string_view text);

// `lvm systemid` prints "  system ID: nodeA" (or "  system ID: " when the host has none).
// Returns the ID ("" for none) or nullopt when the output has no such line.
std::optional<std::string> parse_systemid(std::string_view text);

// One value printed by `lvm config --typeconfig full KEY...` ("system_id_source=\"uname\"",
// "event_activation=1", "volume_list=[\"vg0\",\"@tag\"]"). Keys are given without their section.
struct LvmConfigValue {
    std::string key;
    std::vector<std::string> values;  // a string or number gives one value; a list gives many
    bool is_list = false;
};
// Unparsable lines are reported in `error` (the first one), the rest are still returned.
Parsed<LvmConfigValue> parse_lvm_config(std::string_view text);

// Splits lvm's comma-separated list fields (vg_tags): "a,b" -> {a, b}; "" -> {}.
std::vector<std::string> split_list_field(std::string_view text);

}  // namespace veeamha::storage::lvm
