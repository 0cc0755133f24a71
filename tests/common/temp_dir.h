// SPDX-License-Identifier: GPL-2.0-or-later
// A fresh, private directory for one test (mkdtemp under $TMPDIR or /tmp), removed with all it
// holds when the test ends, also after a failed REQUIRE.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include <stdlib.h>

namespace veeamha::test {

struct TempDir {
    std::string path;

    explicit TempDir(std::string_view prefix = "veeamha") {
        std::error_code ec;
        std::filesystem::path base = std::filesystem::temp_directory_path(ec);
        if (ec) base = "/tmp";
        std::string tmpl = (base / (std::string(prefix) + "-XXXXXX")).string();
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp " + tmpl + " failed");
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    std::string operator/(std::string_view name) const { return path + "/" + std::string(name); }
};

}  // namespace veeamha::test
