// SPDX-License-Identifier: GPL-2.0-or-later
#include "test_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace veeamha::test {

TempDir::TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "veeamha-config-XXXXXX").string();
    if (!mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
    path_ = templ;
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write_file(const std::string& path, const std::string& text, mode_t mode) {
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        if (!out) throw std::runtime_error("cannot write " + path);
        out << text;
    }
    if (chmod(path.c_str(), mode) != 0) throw std::runtime_error("cannot chmod " + path);
}

mode_t file_mode(const std::string& path) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) throw std::runtime_error("cannot stat " + path);
    return st.st_mode & 07777;
}

std::string source_path(const std::string& relative) {
    return std::string(VEEAMHA_SOURCE_DIR) + "/" + relative;
}

}  // namespace veeamha::test
