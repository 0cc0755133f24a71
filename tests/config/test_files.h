// SPDX-License-Identifier: GPL-2.0-or-later
// Helpers for the config tests: a private temporary folder removed at scope exit, file I/O.
#pragma once

#include <filesystem>
#include <string>
#include <sys/types.h>

namespace veeamha::test {

class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::string file(const std::string& name) const { return (path_ / name).string(); }

private:
    std::filesystem::path path_;
};

std::string read_file(const std::string& path);
// Writes `text` to `path` and sets `mode` exactly (umask does not apply).
void write_file(const std::string& path, const std::string& text, mode_t mode = 0600);
mode_t file_mode(const std::string& path);

// The project's source tree, for the corpus and the example config.
std::string source_path(const std::string& relative);

}  // namespace veeamha::test
