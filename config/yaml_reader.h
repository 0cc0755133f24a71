// SPDX-License-Identifier: GPL-2.0-or-later
// Typed, error-reporting access to the YAML tree. Every accessor reports what it expected and
// what it found, at the value's own line and column, and never throws; the parsers above it
// only describe the schema.
//
// The walk is driven by the schema, never by the document's shape, so anchors/aliases (even
// cyclic ones) cannot make it recurse or loop; list lengths are bounded by each caller.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/diagnostics.h"

namespace veeamha::config::detail {

inline constexpr size_t kMaxString = 4096;

// One node of the document and its key path.
class Value {
public:
    Value(YAML::Node node, std::string path, Location where, Diagnostics& diag);

    const YAML::Node& node() const { return node_; }
    const std::string& path() const { return path_; }
    const Location& where() const { return where_; }
    Diagnostics& diag() const { return *diag_; }

    bool is_null() const { return !node_.IsDefined() || node_.IsNull(); }
    bool is_scalar() const { return node_.IsScalar(); }
    bool is_list() const { return node_.IsSequence(); }
    bool is_map() const { return node_.IsMap(); }
    const std::string& text() const;  // a scalar's text; empty for anything else

    // How the value reads in a message: 200ms, "fs repo", an empty value, a list, a mapping.
    std::string found() const;
    // Reports "expected WHAT, found FOUND" here; always returns false.
    bool expected(std::string_view what) const;
    void error(std::string message) const;
    void warning(std::string message) const;

    // The items of a list (an empty value is an empty list). Reports and returns nullopt if
    // this is not a list or has more than `max` items.
    std::optional<std::vector<Value>> items(std::string_view what, size_t max) const;

private:
    YAML::Node node_;
    std::string path_;
    Location where_;
    Diagnostics* diag_;
};

// A mapping whose keys are checked against the schema section `section` (see schema.h):
// unknown keys get a "did you mean", duplicates and non-text keys are errors. An empty value
// counts as an empty mapping (a section whose keys are all commented out).
class Mapping {
public:
    Mapping(const Value& value, std::string_view section);

    bool ok() const { return ok_; }
    const Value& value() const { return value_; }
    std::optional<Value> get(std::string_view key) const;
    // Like get, but reports "required key is missing; expected WHAT" when absent (unless an
    // unknown key here already got "did you mean" this one).
    std::optional<Value> require(std::string_view key, std::string_view what) const;
    bool has(std::string_view key) const { return get(key).has_value(); }
    bool had_unknown_keys() const { return unknown_keys_; }

private:
    struct Entry {
        std::string name;
        Location key_at;
        Value value;
    };
    Value value_;
    std::vector<Entry> entries_;
    std::vector<std::string> suggested_;
    bool ok_ = false;
    bool unknown_keys_ = false;
};

// Scalar readers: each reports its own error and returns false (out is left unchanged).
bool read_text(const Value& v, std::string& out, std::string_view what);  // may be empty
bool read_string(const Value& v, std::string& out, std::string_view what);  // not empty
bool read_bool(const Value& v, bool& out);
bool read_integer(const Value& v, long long min, long long max, long long& out);
bool read_int(const Value& v, int min, int max, int& out);
bool read_port(const Value& v, uint16_t& out);
bool read_duration(const Value& v, Duration min, Duration max, Duration& out);
// An absolute path without control characters (not normalised).
bool read_path(const Value& v, std::string& out, std::string_view what);

// One of a fixed set of words, with a "did you mean" on a near miss.
template <typename E>
bool read_choice(const Value& v, const std::vector<std::pair<std::string, E>>& choices, E& out);
bool read_choice_index(const Value& v, const std::vector<std::string>& words, size_t& index);

template <typename E>
bool read_choice(const Value& v, const std::vector<std::pair<std::string, E>>& choices, E& out) {
    std::vector<std::string> words;
    for (const auto& c : choices) words.push_back(c.first);
    size_t index = 0;
    if (!read_choice_index(v, words, index)) return false;
    out = choices[index].second;
    return true;
}

// "a, b or c"
std::string one_of(const std::vector<std::string>& words, std::string_view last_joiner = " or ");
// How a key or word reads in a message: bare if simple, else quoted and escaped.
std::string quote(std::string_view text);

}  // namespace veeamha::config::detail
