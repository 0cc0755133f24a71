// SPDX-License-Identifier: GPL-2.0-or-later
#include "storage/lvm/lvm_report.h"

#include <algorithm>
#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <cctype>
#include <charconv>
#include <map>
#include <sstream>

namespace veeamha::storage::lvm {
namespace {

using Row = std::map<std::string, std::string>;

struct Rows {
    std::vector<Row> rows;
    std::string error;
};

// {"report": [ {"vg": [ {"vg_name": "x", ...}, ... ]} ]}. lvm prints one report object per
// command; every object of the `section` array is one row.
Rows rows_from_json(std::string_view text, const std::string& section) {
    Rows out;
    namespace pt = boost::property_tree;
    pt::ptree root;
    try {
        std::istringstream in{std::string(text)};
        pt::read_json(in, root);
    } catch (const pt::json_parser_error& e) {
        out.error = "not valid JSON (line " + std::to_string(e.line()) + ": " + e.message() + ")";
        return out;
    }
    auto report = root.get_child_optional("report");
    if (!report) {
        out.error = "JSON has no \"report\" array";
        return out;
    }
    bool seen_section = false;
    for (const auto& [unused_key, part] : *report) {
        (void)unused_key;
        auto rows = part.get_child_optional(section);
        if (!rows) continue;
        seen_section = true;
        for (const auto& [row_key, row_tree] : *rows) {
            (void)row_key;
            Row row;
            for (const auto& [field, value] : row_tree) {
                if (!value.empty()) {
                    out.error = "field \"" + field + "\" is not a plain value";
                    return out;
                }
                row[field] = value.data();
            }
            out.rows.push_back(std::move(row));
        }
    }
    if (!seen_section) out.error = "JSON report has no \"" + section + "\" section";
    return out;
}

// `--noheadings --nameprefixes`: one row per line, LVM2_FIELD='value' pairs separated by
// blanks. Values are single-quoted (lvm names, IDs and tags cannot contain a quote) or, with
// --unquoted, run to the next blank.
Rows rows_from_columns(std::string_view text) {
    Rows out;
    size_t line_no = 0;
    size_t pos = 0;
    while (pos <= text.size()) {
        size_t eol = text.find('\n', pos);
        if (eol == std::string_view::npos) eol = text.size();
        std::string_view line = text.substr(pos, eol - pos);
        pos = eol + 1;
        ++line_no;
        size_t i = 0;
        auto skip_blanks = [&] {
            while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
        };
        skip_blanks();
        if (i == line.size()) continue;
        Row row;
        while (i < line.size()) {
            size_t key_start = i;
            while (i < line.size() && (std::isupper(static_cast<unsigned char>(line[i])) ||
                                       std::isdigit(static_cast<unsigned char>(line[i])) ||
                                       line[i] == '_'))
                ++i;
            std::string key(line.substr(key_start, i - key_start));
            if (key.rfind("LVM2_", 0) != 0 || i >= line.size() || line[i] != '=') {
                out.error = "line " + std::to_string(line_no) +
                            ": expected LVM2_FIELD='value' (run with --nameprefixes), found \"" +
                            std::string(line.substr(key_start, 40)) + "\"";
                return out;
            }
            ++i;  // '='
            std::string value;
            if (i < line.size() && line[i] == '\'') {
                size_t close = line.find('\'', i + 1);
                if (close == std::string_view::npos) {
                    out.error = "line " + std::to_string(line_no) + ": unterminated quote in " + key;
                    return out;
                }
                value = std::string(line.substr(i + 1, close - i - 1));
                i = close + 1;
            } else {
                size_t end = i;
                while (end < line.size() && !std::isspace(static_cast<unsigned char>(line[end])))
                    ++end;
                value = std::string(line.substr(i, end - i));
                i = end;
            }
            std::string field = key.substr(5);
            std::transform(field.begin(), field.end(), field.begin(),
                           [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
            row[field] = std::move(value);
            skip_blanks();
        }
        out.rows.push_back(std::move(row));
    }
    return out;
}

Rows rows_from(ReportFormat format, std::string_view text, const std::string& section) {
    return format == ReportFormat::Json ? rows_from_json(text, section) : rows_from_columns(text);
}

// Field access that turns absence into an error naming the row and field.
class RowReader {
public:
    RowReader(const Row& row, size_t index, std::string& error)
        : row_(row), index_(index), error_(error) {}

    std::string text(const std::string& field) {
        auto it = row_.find(field);
        if (it == row_.end()) {
            fail(field, "missing");
            return {};
        }
        return it->second;
    }
    int number(const std::string& field) {
        std::string value = text(field);
        if (!error_.empty()) return 0;
        int n = 0;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
        if (ec != std::errc() || end != value.data() + value.size() || value.empty() || n < 0) {
            fail(field, "expected a non-negative number, found \"" + value + "\"");
            return 0;
        }
        return n;
    }

private:
    void fail(const std::string& field, const std::string& what) {
        if (error_.empty())
            error_ = "row " + std::to_string(index_ + 1) + ": field " + field + " " + what;
    }
    const Row& row_;
    size_t index_;
    std::string& error_;
};

}  // namespace

bool VgReport::has_tag(std::string_view tag) const {
    return std::find(tags.begin(), tags.end(), tag) != tags.end();
}

const char* vgs_fields() {
    return "vg_name,vg_uuid,vg_systemid,vg_attr,vg_tags,pv_count,vg_missing_pv_count,lv_count,"
           "vg_autoactivation";
}

const char* lvs_fields() { return "lv_name,lv_uuid,lv_attr,vg_name,vg_systemid,vg_tags"; }

std::vector<std::string> split_list_field(std::string_view text) {
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t comma = text.find(',', pos);
        if (comma == std::string_view::npos) comma = text.size();
        if (comma > pos) out.emplace_back(text.substr(pos, comma - pos));
        pos = comma + 1;
    }
    return out;
}

Parsed<VgReport> parse_vgs(ReportFormat format, std::string_view text) {
    Parsed<VgReport> out;
    Rows rows = rows_from(format, text, "vg");
    if (!rows.error.empty()) {
        out.error = "vgs output: " + rows.error;
        return out;
    }
    for (size_t i = 0; i < rows.rows.size(); ++i) {
        std::string error;
        RowReader r(rows.rows[i], i, error);
        VgReport vg;
        vg.name = r.text("vg_name");
        vg.uuid = r.text("vg_uuid");
        vg.system_id = r.text("vg_systemid");
        vg.attr = r.text("vg_attr");
        vg.tags = split_list_field(r.text("vg_tags"));
        vg.pv_count = r.number("pv_count");
        vg.missing_pv_count = r.number("vg_missing_pv_count");
        vg.lv_count = r.number("lv_count");
        std::string autoactivation = r.text("vg_autoactivation");
        vg.autoactivation = autoactivation == "enabled";
        if (error.empty() && vg.name.empty()) error = "row " + std::to_string(i + 1) + ": empty vg_name";
        if (error.empty() && vg.attr.size() < 6)
            error = "row " + std::to_string(i + 1) + ": vg_attr \"" + vg.attr +
                    "\" is shorter than 6 characters";
        if (!error.empty()) {
            out.error = "vgs output: " + error;
            out.rows.clear();
            return out;
        }
        out.rows.push_back(std::move(vg));
    }
    return out;
}

Parsed<LvReport> parse_lvs(ReportFormat format, std::string_view text) {
    Parsed<LvReport> out;
    Rows rows = rows_from(format, text, "lv");
    if (!rows.error.empty()) {
        out.error = "lvs output: " + rows.error;
        return out;
    }
    for (size_t i = 0; i < rows.rows.size(); ++i) {
        std::string error;
        RowReader r(rows.rows[i], i, error);
        LvReport lv;
        lv.name = r.text("lv_name");
        lv.uuid = r.text("lv_uuid");
        lv.attr = r.text("lv_attr");
        lv.vg_name = r.text("vg_name");
        lv.vg_system_id = r.text("vg_systemid");
        lv.vg_tags = split_list_field(r.text("vg_tags"));
        if (error.empty() && lv.name.empty()) error = "row " + std::to_string(i + 1) + ": empty lv_name";
        if (error.empty() && lv.attr.size() < 10)
            error = "row " + std::to_string(i + 1) + ": lv_attr \"" + lv.attr +
                    "\" is shorter than 10 characters";
        if (!error.empty()) {
            out.error = "lvs output: " + error;
            out.rows.clear();
            return out;
        }
        out.rows.push_back(std::move(lv));
    }
    return out;
}

std::optional<std::string> parse_systemid(std::string_view text) {
    static constexpr std::string_view kLabel = "system ID:";
    size_t pos = 0;
    while (pos < text.size()) {
        size_t eol = text.find('\n', pos);
        if (eol == std::string_view::npos) eol = text.size();
        std::string_view line = text.substr(pos, eol - pos);
        pos = eol + 1;
        size_t at = line.find(kLabel);
        if (at == std::string_view::npos) continue;
        std::string_view id = line.substr(at + kLabel.size());
        size_t b = id.find_first_not_of(" \t\r");
        if (b == std::string_view::npos) return std::string();
        size_t e = id.find_last_not_of(" \t\r");
        return std::string(id.substr(b, e - b + 1));
    }
    return std::nullopt;
}

Parsed<LvmConfigValue> parse_lvm_config(std::string_view text) {
    Parsed<LvmConfigValue> out;
    size_t pos = 0;
    size_t line_no = 0;
    auto note = [&](const std::string& what) {
        if (out.error.empty()) out.error = "lvm config output line " + std::to_string(line_no) + ": " + what;
    };
    while (pos < text.size()) {
        size_t eol = text.find('\n', pos);
        if (eol == std::string_view::npos) eol = text.size();
        std::string_view line = text.substr(pos, eol - pos);
        pos = eol + 1;
        ++line_no;
        size_t b = line.find_first_not_of(" \t\r");
        if (b == std::string_view::npos || line[b] == '#') continue;
        line = line.substr(b);
        size_t eq = line.find('=');
        if (eq == std::string_view::npos || eq == 0) {
            note("expected key=value, found \"" + std::string(line) + "\"");
            continue;
        }
        LvmConfigValue v;
        v.key = std::string(line.substr(0, eq));
        while (!v.key.empty() && std::isspace(static_cast<unsigned char>(v.key.back()))) v.key.pop_back();
        std::string_view value = line.substr(eq + 1);
        size_t vb = value.find_first_not_of(" \t");
        value = vb == std::string_view::npos ? std::string_view() : value.substr(vb);
        while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back())))
            value.remove_suffix(1);
        bool ok = true;
        auto read_scalar = [&](std::string_view& s) -> std::string {
            if (!s.empty() && s.front() == '"') {
                std::string result;
                size_t i = 1;
                for (; i < s.size() && s[i] != '"'; ++i) {
                    if (s[i] == '\\' && i + 1 < s.size()) ++i;
                    result += s[i];
                }
                if (i >= s.size()) ok = false;
                s.remove_prefix(std::min(s.size(), i + 1));
                return result;
            }
            size_t end = s.find_first_of(",]");
            if (end == std::string_view::npos) end = s.size();
            std::string result(s.substr(0, end));
            while (!result.empty() && std::isspace(static_cast<unsigned char>(result.back()))) result.pop_back();
            s.remove_prefix(end);
            if (result.empty()) ok = false;
            return result;
        };
        if (!value.empty() && value.front() == '[') {
            v.is_list = true;
            value.remove_prefix(1);
            for (;;) {
                size_t nb = value.find_first_not_of(" \t");
                value = nb == std::string_view::npos ? std::string_view() : value.substr(nb);
                if (value.empty()) { ok = false; break; }
                if (value.front() == ']') break;
                v.values.push_back(read_scalar(value));
                nb = value.find_first_not_of(" \t");
                value = nb == std::string_view::npos ? std::string_view() : value.substr(nb);
                if (!value.empty() && value.front() == ',') value.remove_prefix(1);
                if (!ok) break;
            }
        } else {
            v.values.push_back(read_scalar(value));
        }
        if (!ok) {
            note("cannot read the value of " + v.key);
            continue;
        }
        out.rows.push_back(std::move(v));
    }
    return out;
}

}  // namespace veeamha::storage::lvm
