// SPDX-License-Identifier: GPL-2.0-or-later
// Collects the errors and warnings of one load, remembers where every visited key path is in the
// file (so cross-section checks can point at the right line), and knows which paths already
// failed (so a broken section does not cause a cascade of follow-on errors elsewhere).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"

namespace veeamha::config::detail {

// A hostile file must not make the loader collect unbounded errors.
inline constexpr size_t kMaxErrors = 200;

class Diagnostics {
public:
    explicit Diagnostics(std::string file) : file_(std::move(file)) {}

    const std::string& file() const { return file_; }
    Location at(int line0, int column0) const;  // from yaml-cpp's 0-based marks
    Location nowhere() const { return Location{file_, 0, 0}; }

    // Where the value of `path` is; falls back to the nearest remembered parent, then to
    // "no line" (whole-file).
    void remember(const std::string& path, const Location& where);
    Location where(const std::string& path) const;
    bool present(const std::string& path) const { return places_.count(path) != 0; }

    void error(const Location& where, std::string path, std::string message);
    void error(const std::string& path, std::string message) { error(where(path), path, message); }
    void warning(const Location& where, std::string path, std::string message);
    void warning(const std::string& path, std::string message) {
        warning(where(path), path, message);
    }

    size_t error_count() const { return errors_.size(); }
    // True if an error was reported for `path` or anything under it.
    bool failed(const std::string& path) const;

    // Errors and warnings in file order; `config` is kept only if there is no error.
    LoadResult finish(std::optional<Config> config);

private:
    std::string file_;
    std::map<std::string, Location> places_;
    std::vector<ConfigError> errors_;
    std::vector<ConfigError> warnings_;
    bool truncated_ = false;
};

// "nodes[1].addresses[0]" -> "nodes[1].addresses" -> "nodes[1]" -> "nodes" -> "".
std::string parent_path(const std::string& path);

}  // namespace veeamha::config::detail
