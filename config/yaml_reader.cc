// SPDX-License-Identifier: GPL-2.0-or-later
#include "config/yaml_reader.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "config/schema.h"
#include "config/suggest.h"

namespace veeamha::config::detail {

namespace {

constexpr size_t kMaxQuoted = 60;

Location mark_location(const Diagnostics& diag, const YAML::Node& node) {
    if (!node.IsDefined()) return diag.nowhere();
    YAML::Mark m = node.Mark();
    if (m.is_null()) return diag.nowhere();
    return diag.at(m.line, m.column);
}

bool simple_word(std::string_view text) {
    if (text.empty() || text.size() > kMaxQuoted) return false;
    for (char c : text) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '/' || c == ':' || c == '@' || c == '+' ||
                  c == '%' || c == '-';
        if (!ok) return false;
    }
    return true;
}

// Keys are quoted in a path only when they would make it ambiguous or unreadable.
bool plain_key(std::string_view key) {
    if (key.empty() || key.size() > kMaxQuoted) return false;
    return std::none_of(key.begin(), key.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u <= 0x20 || u == 0x7f || c == '.' || c == '[' || c == ']' || c == '"';
    });
}

std::string child_path(const std::string& parent, std::string_view key) {
    std::string k = plain_key(key) ? std::string(key) : quote(key);
    return parent.empty() ? k : parent + "." + k;
}

std::string describe_section(const std::string& pattern) {
    return pattern.empty() ? std::string("at the top level") : "in " + pattern;
}

bool has_control_character(std::string_view text) {
    return std::any_of(text.begin(), text.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f;
    });
}

}  // namespace

std::string quote(std::string_view text) {
    if (simple_word(text)) return std::string(text);
    std::string out = "\"";
    size_t shown = 0;
    for (char c : text) {
        if (shown++ == kMaxQuoted) {
            out += "...";
            break;
        }
        auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (u < 0x20 || u == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", u);
            out += buf;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::string one_of(const std::vector<std::string>& words, std::string_view last_joiner) {
    std::string out;
    for (size_t i = 0; i < words.size(); ++i) {
        if (i > 0) out += (i + 1 == words.size()) ? std::string(last_joiner) : std::string(", ");
        out += words[i];
    }
    return out;
}

// ---- Value ----

Value::Value(YAML::Node node, std::string path, Location where, Diagnostics& diag)
    : node_(std::move(node)), path_(std::move(path)), where_(std::move(where)), diag_(&diag) {
    diag_->remember(path_, where_);
}

const std::string& Value::text() const {
    static const std::string empty;
    return is_scalar() ? node_.Scalar() : empty;
}

std::string Value::found() const {
    if (is_null()) return "an empty value";
    if (is_list()) return node_.size() == 0 ? "an empty list" : "a list";
    if (is_map()) return "a mapping";
    return quote(text());
}

bool Value::expected(std::string_view what) const {
    error("expected " + std::string(what) + ", found " + found());
    return false;
}

void Value::error(std::string message) const { diag_->error(where_, path_, std::move(message)); }
void Value::warning(std::string message) const {
    diag_->warning(where_, path_, std::move(message));
}

std::optional<std::vector<Value>> Value::items(std::string_view what, size_t max) const {
    std::vector<Value> out;
    if (is_null()) return out;
    if (!is_list()) {
        expected(what);
        return std::nullopt;
    }
    if (node_.size() > max) {
        error("expected at most " + std::to_string(max) + " items, found " +
              std::to_string(node_.size()));
        return std::nullopt;
    }
    size_t index = 0;
    for (const auto& item : node_) {
        Location at = mark_location(*diag_, item);
        if (at.line == 0) at = where_;
        out.emplace_back(item, path_ + "[" + std::to_string(index++) + "]", at, *diag_);
    }
    return out;
}

// ---- Mapping ----

Mapping::Mapping(const Value& value, std::string_view section) : value_(value) {
    const auto& allowed = keys_of(section);
    if (value.is_null()) {
        ok_ = true;
        return;
    }
    if (!value.is_map()) {
        value.expected("a mapping with the keys " + one_of(allowed, " and "));
        return;
    }
    ok_ = true;
    Diagnostics& diag = value.diag();
    for (const auto& pair : value.node()) {
        const YAML::Node key = pair.first;  // copies: yaml-cpp's iterator yields temporaries
        Location key_at = mark_location(diag, key);
        if (!key.IsScalar()) {
            Value k(key, value.path(), key_at, diag);
            k.expected("a key name");
            unknown_keys_ = true;
            continue;
        }
        const std::string& name = key.Scalar();
        std::string path = child_path(value.path(), name);
        if (name == "<<") {
            diag.error(key_at, path, "YAML merge keys (<<) are not supported; write the keys out");
            unknown_keys_ = true;
            continue;
        }
        if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
            unknown_keys_ = true;
            std::string message;
            bool takes_password_file =
                std::find(allowed.begin(), allowed.end(), "password_file") != allowed.end();
            if (is_password_key(name) && takes_password_file) {
                message = kPasswordInConfig;
                suggested_.push_back("password_file");  // no "required key is missing" too
            } else if (auto guess = closest(name, allowed)) {
                message = "unknown key; did you mean '" + *guess + "'?";
                suggested_.push_back(*guess);
            } else {
                auto places = sections_with(name);
                if (places.size() == 1)
                    message = "unknown key here; " + name + " belongs " + describe_section(places[0]);
                else
                    message = "unknown key; expected one of " + one_of(allowed);
            }
            diag.error(key_at, path, message);
            continue;
        }
        auto dup = std::find_if(entries_.begin(), entries_.end(),
                                [&](const Entry& e) { return e.name == name; });
        if (dup != entries_.end()) {
            diag.error(key_at, path,
                       "duplicate key; the first is at line " + std::to_string(dup->key_at.line) +
                           ", column " + std::to_string(dup->key_at.column));
            continue;
        }
        const YAML::Node val = pair.second;
        Location val_at = mark_location(diag, val);
        // An empty value's mark points at the next token, often on a later line: use the key.
        if (!val.IsDefined() || val.IsNull() || val_at.line == 0) val_at = key_at;
        entries_.push_back(Entry{name, key_at, Value(val, path, val_at, diag)});
    }
}

std::optional<Value> Mapping::get(std::string_view key) const {
    for (const auto& e : entries_)
        if (e.name == key) return e.value;
    return std::nullopt;
}

std::optional<Value> Mapping::require(std::string_view key, std::string_view what) const {
    auto v = get(key);
    bool suggested = std::find(suggested_.begin(), suggested_.end(), key) != suggested_.end();
    if (!v && ok_ && !suggested) {
        value_.diag().error(value_.where(), child_path(value_.path(), key),
                            "required key is missing; expected " + std::string(what));
    }
    return v;
}

// ---- scalar readers ----

bool read_text(const Value& v, std::string& out, std::string_view what) {
    if (!v.is_scalar()) return v.expected(what);
    const std::string& t = v.text();
    if (t.size() > kMaxString) {
        v.error("expected at most " + std::to_string(kMaxString) + " characters, found " +
                std::to_string(t.size()));
        return false;
    }
    if (has_control_character(t))
        return v.expected(std::string(what) + " without control characters");
    out = t;
    return true;
}

bool read_string(const Value& v, std::string& out, std::string_view what) {
    std::string t;
    if (!read_text(v, t, what)) return false;
    if (t.empty()) return v.expected(what);
    out = std::move(t);
    return true;
}

bool read_bool(const Value& v, bool& out) {
    const std::string& t = v.text();
    if (v.is_scalar() && (t == "true" || t == "True" || t == "TRUE")) {
        out = true;
        return true;
    }
    if (v.is_scalar() && (t == "false" || t == "False" || t == "FALSE")) {
        out = false;
        return true;
    }
    return v.expected("true or false");
}

bool read_integer(const Value& v, long long min, long long max, long long& out) {
    std::string range = "an integer from " + std::to_string(min) + " to " + std::to_string(max);
    if (!v.is_scalar()) return v.expected(range);
    const std::string& t = v.text();
    long long n = 0;
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
    bool digits = !t.empty() && (t[0] != '-' || t.size() > 1) && (t[0] != '+');
    if (!digits || end != t.data() + t.size() || (ec != std::errc() && ec != std::errc::result_out_of_range))
        return v.expected(range);
    if (ec == std::errc::result_out_of_range || n < min || n > max) return v.expected(range);
    out = n;
    return true;
}

bool read_int(const Value& v, int min, int max, int& out) {
    long long n = 0;
    if (!read_integer(v, min, max, n)) return false;
    out = static_cast<int>(n);
    return true;
}

bool read_port(const Value& v, uint16_t& out) {
    long long n = 0;
    if (!read_integer(v, 1, 65535, n)) return false;
    out = static_cast<uint16_t>(n);
    return true;
}

bool read_duration(const Value& v, Duration min, Duration max, Duration& out) {
    static const std::string with_unit = "a duration with a unit (ms, s, m or h), e.g. 200ms, 2s or 1m";
    if (!v.is_scalar()) return v.expected(with_unit);
    auto d = parse_duration(v.text());
    if (!d) {
        const std::string& t = v.text();
        bool bare_number = !t.empty() && std::all_of(t.begin(), t.end(), [](char c) {
            return (c >= '0' && c <= '9') || c == '.';
        });
        if (bare_number) {
            v.error("expected " + with_unit + ", found " + v.found() + " (no unit)");
            return false;
        }
        return v.expected(with_unit);
    }
    if (*d < min || *d > max)
        return v.expected("a duration from " + format_duration(min) + " to " + format_duration(max));
    out = *d;
    return true;
}

bool read_path(const Value& v, std::string& out, std::string_view what) {
    std::string t;
    if (!read_string(v, t, what)) return false;
    if (t[0] != '/') return v.expected(what);
    out = std::move(t);
    return true;
}

bool read_choice_index(const Value& v, const std::vector<std::string>& words, size_t& index) {
    if (v.is_scalar()) {
        for (size_t i = 0; i < words.size(); ++i) {
            if (v.text() == words[i]) {
                index = i;
                return true;
            }
        }
        if (auto guess = closest(v.text(), words)) {
            v.error("expected " + one_of(words) + ", found " + v.found() + "; did you mean '" +
                    *guess + "'?");
            return false;
        }
    }
    return v.expected(one_of(words));
}

}  // namespace veeamha::config::detail
