// SPDX-License-Identifier: GPL-2.0-or-later
// load_file / load_string: YAML text -> validated Config, or every error found.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "config/sections.h"

namespace veeamha::config {

namespace {

using detail::Diagnostics;

// A configuration is a few KiB; anything near this is not one.
constexpr size_t kMaxConfigBytes = 1024 * 1024;

// yaml-cpp's parser messages, with a hint of the usual cause.
std::string explain_syntax_error(const std::string& msg) {
    struct Hint {
        const char* message;
        const char* hint;
    };
    static const Hint hints[] = {
        {"illegal map value", "a ':' followed by a space inside a value needs quotes"},
        {"end of map not found", "check the indentation of this line"},
        {"end of sequence not found", "check the indentation of this line"},
        {"end of map flow not found", "a '{' without its '}'"},
        {"end of sequence flow not found", "a '[' without its ']'"},
        {"illegal block entry", "a '- ' list item where a key was expected; check the indentation"},
        {"bad file", "nesting too deep; this is not a veeam-had configuration"},
    };
    for (const auto& h : hints)
        if (msg == h.message) return "YAML syntax error: " + msg + " (" + h.hint + ")";
    return "YAML syntax error: " + msg;
}

// YAML forbids tabs in indentation and yaml-cpp's message for it is obscure: point at the
// first tab used to indent, at or before the line where the parser gave up.
bool report_indent_tab(const std::string& text, int error_line0, Diagnostics& diag) {
    int line = 0;
    size_t start = 0;
    while (start < text.size() && line <= error_line0) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        for (size_t i = start; i < end && (text[i] == ' ' || text[i] == '\t'); ++i) {
            if (text[i] == '\t') {
                size_t first = text.find_first_not_of(" \t", start);
                if (first != std::string::npos && first < end && text[first] != '#') {
                    diag.error(diag.at(line, static_cast<int>(i - start)), "",
                               "tab character in indentation; YAML indents with spaces only");
                    return true;
                }
                break;
            }
        }
        start = end + 1;
        ++line;
    }
    return false;
}

}  // namespace

LoadResult load_string(const std::string& text, const std::string& file_name,
                       const LoadOptions& options) {
    Diagnostics diag(file_name);
    if (text.size() > kMaxConfigBytes) {
        diag.error(diag.nowhere(), "",
                   "expected at most 1 MiB of YAML, found " + std::to_string(text.size()) +
                       " bytes; this is not a veeam-had configuration");
        return diag.finish(std::nullopt);
    }
    std::vector<YAML::Node> documents;
    try {
        documents = YAML::LoadAll(text);
    } catch (const YAML::Exception& e) {
        if (!report_indent_tab(text, e.mark.line, diag))
            diag.error(e.mark.is_null() ? diag.nowhere() : diag.at(e.mark.line, e.mark.column), "",
                       explain_syntax_error(e.msg));
        return diag.finish(std::nullopt);
    }
    if (documents.empty() || documents[0].IsNull()) {
        diag.error(diag.nowhere(), "",
                   "expected a mapping with the keys cluster, nodes, fencing and resources, "
                   "found an empty file");
        return diag.finish(std::nullopt);
    }
    Config config;
    config.source_file = file_name;
    try {
        if (documents.size() > 1) {
            YAML::Mark m = documents[1].Mark();
            diag.error(m.is_null() ? diag.nowhere() : diag.at(m.line, m.column), "",
                       "expected one YAML document, found a second one starting here (check "
                       "the indentation of this line)");
        }
        YAML::Mark m = documents[0].Mark();
        detail::Value root(documents[0], "", m.is_null() ? diag.nowhere() : diag.at(m.line, m.column),
                           diag);
        if (detail::parse_root(root, config)) {
            detail::validate(config, diag);
            detail::add_warnings(config, diag);
            if (options.check_files) detail::check_files(config, diag);
        }
    } catch (const YAML::Exception& e) {
        // The walk above only reads what it has checked; this is a safety net, not a path.
        diag.error(diag.at(e.mark.line, e.mark.column), "", "could not read the YAML: " + e.msg);
    }
    return diag.finish(std::move(config));
}

LoadResult load_file(const std::string& path, const LoadOptions& options) {
    Diagnostics diag(path);
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int err = errno;
        diag.error(diag.nowhere(), "",
                   std::string("cannot read the configuration: ") + std::strerror(err) +
                       (err == ENOENT ? " (start from /etc/veeam-ha.yaml.example)" : ""));
        return diag.finish(std::nullopt);
    }
    struct stat st {};
    std::string text;
    bool too_big = false, is_dir = false;
    int read_errno = 0;
    if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
        is_dir = S_ISDIR(st.st_mode);
    }
    if (!is_dir) {
        char buf[65536];
        for (;;) {
            ssize_t n = read(fd, buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) {
                read_errno = errno;
                break;
            }
            if (n == 0) break;
            text.append(buf, static_cast<size_t>(n));
            if (text.size() > kMaxConfigBytes) {
                too_big = true;
                break;
            }
        }
    }
    close(fd);
    if (is_dir) {
        diag.error(diag.nowhere(), "", "expected a YAML file, found a directory");
        return diag.finish(std::nullopt);
    }
    if (read_errno != 0) {
        diag.error(diag.nowhere(), "",
                   std::string("cannot read the configuration: ") + std::strerror(read_errno));
        return diag.finish(std::nullopt);
    }
    (void)too_big;  // load_string reports the size
    return load_string(text, path, options);
}

}  // namespace veeamha::config
