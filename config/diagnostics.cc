// SPDX-License-Identifier: GPL-2.0-or-later
#include "config/diagnostics.h"

#include <algorithm>
#include <tuple>

namespace veeamha::config::detail {

std::string parent_path(const std::string& path) {
    size_t cut = path.find_last_of(".[");
    return cut == std::string::npos ? std::string() : path.substr(0, cut);
}

Location Diagnostics::at(int line0, int column0) const {
    if (line0 < 0 || column0 < 0) return nowhere();
    return Location{file_, line0 + 1, column0 + 1};
}

void Diagnostics::remember(const std::string& path, const Location& where) {
    places_.emplace(path, where);  // the first visit wins (duplicates are errors anyway)
}

Location Diagnostics::where(const std::string& path) const {
    for (std::string p = path;; p = parent_path(p)) {
        auto it = places_.find(p);
        if (it != places_.end()) return it->second;
        if (p.empty()) return nowhere();
    }
}

void Diagnostics::error(const Location& where, std::string path, std::string message) {
    if (errors_.size() >= kMaxErrors) {
        truncated_ = true;
        return;
    }
    errors_.push_back(ConfigError{where, std::move(path), std::move(message)});
}

void Diagnostics::warning(const Location& where, std::string path, std::string message) {
    if (warnings_.size() >= kMaxErrors) return;
    warnings_.push_back(ConfigError{where, std::move(path), std::move(message)});
}

bool Diagnostics::failed(const std::string& path) const {
    for (const auto& e : errors_) {
        const std::string& p = e.key_path;
        if (p == path) return true;
        if (p.size() > path.size() && p.compare(0, path.size(), path) == 0 &&
            (path.empty() || p[path.size()] == '.' || p[path.size()] == '['))
            return true;
    }
    return false;
}

namespace {
void sort_by_place(std::vector<ConfigError>& list) {
    std::stable_sort(list.begin(), list.end(), [](const ConfigError& a, const ConfigError& b) {
        return std::tie(a.where.line, a.where.column) < std::tie(b.where.line, b.where.column);
    });
}
}  // namespace

LoadResult Diagnostics::finish(std::optional<Config> config) {
    LoadResult result;
    sort_by_place(errors_);
    sort_by_place(warnings_);
    if (truncated_) {
        errors_.push_back(ConfigError{nowhere(), "",
                                      "too many errors; stopped after the first " +
                                          std::to_string(kMaxErrors)});
    }
    result.errors = std::move(errors_);
    result.warnings = std::move(warnings_);
    if (result.errors.empty()) result.config = std::move(config);
    return result;
}

}  // namespace veeamha::config::detail
