// SPDX-License-Identifier: GPL-2.0-or-later
// load_file / load_string: YAML text -> validated Config, or every error found.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string_view>
#include <vector>

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

// The text of each line, without its line break.
std::vector<std::string_view> split_lines(const std::string& text) {
    std::vector<std::string_view> lines;
    size_t start = 0;
    while (start <= text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        lines.emplace_back(text.data() + start, end - start);
        start = end + 1;
    }
    return lines;
}

// A key indented deeper than the key above it continues that key's plain value ("name: lab"
// then "    key_file: ..." reads as the value "lab key_file: ..."), and yaml-cpp then says
// "illegal map value" at the second ':' -- the message of an unquoted ': ' inside a value. When
// the line is such a key below a key with a plain value, say so, pointing at the key.
bool report_over_indented_key(const std::string& text, const YAML::Mark& mark, Diagnostics& diag) {
    auto lines = split_lines(text);
    if (mark.is_null() || mark.line <= 0 || static_cast<size_t>(mark.line) >= lines.size()) return false;
    std::string_view line = lines[static_cast<size_t>(mark.line)];
    size_t indent = line.find_first_not_of(' ');
    size_t colon = static_cast<size_t>(mark.column);
    if (indent == std::string_view::npos || colon <= indent || colon >= line.size() || line[colon] != ':')
        return false;
    std::string_view key = line.substr(indent, colon - indent);
    auto key_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'; };
    if (!std::all_of(key.begin(), key.end(), key_char)) return false;
    // The line above with content: its key (after any "- " list markers) and its value.
    int above = mark.line - 1;
    while (above >= 0 && lines[static_cast<size_t>(above)].find_first_not_of(' ') == std::string_view::npos)
        --above;
    if (above < 0) return false;
    std::string_view prev = lines[static_cast<size_t>(above)];
    size_t prev_key = prev.find_first_not_of(' ');
    while (prev_key != std::string_view::npos && prev.compare(prev_key, 2, "- ") == 0)
        prev_key = prev.find_first_not_of(' ', prev_key + 2);
    if (prev_key == std::string_view::npos || indent <= prev_key) return false;
    size_t sep = prev.find(": ", prev_key);
    if (sep == std::string_view::npos) return false;
    std::string_view prev_name = prev.substr(prev_key, sep - prev_key);
    size_t value = prev.find_first_not_of(' ', sep + 1);
    if (value == std::string_view::npos || std::string_view("#[{\"'|>&*!").find(prev[value]) != std::string_view::npos ||
        !std::all_of(prev_name.begin(), prev_name.end(), key_char))
        return false;
    diag.error(diag.at(mark.line, static_cast<int>(indent)), "",
               "YAML syntax error: " + std::string(key) + " is indented deeper than " +
                   std::string(prev_name) + " on line " + std::to_string(above + 1) +
                   ", so it reads as part of " + std::string(prev_name) +
                   "'s value; indent it as far as the key it belongs beside");
    return true;
}

// YAML allows only printable Unicode plus tab and line breaks (YAML 1.2 §5.1), and yaml-cpp
// can loop forever on a NUL byte or malformed UTF-8: refuse such input before parsing.
bool report_bad_text(const std::string& text, Diagnostics& diag) {
    int line = 0, column = 0;
    size_t i = 0;
    auto bad = [&](const std::string& what) {
        diag.error(diag.at(line, column), "",
                   "expected UTF-8 text without control characters (YAML allows none but tab "
                   "and line breaks), found " + what);
        return true;
    };
    auto hex = [](unsigned v) {
        char buf[16];
        std::snprintf(buf, sizeof buf, v > 0xff ? "U+%04X" : "byte 0x%02x", v);
        return std::string(buf);
    };
    while (i < text.size()) {
        auto c = static_cast<unsigned char>(text[i]);
        uint32_t cp = 0;
        size_t len = 1;
        if (c < 0x80) {
            cp = c;
        } else if ((c & 0xe0) == 0xc0) {
            cp = c & 0x1f, len = 2;
        } else if ((c & 0xf0) == 0xe0) {
            cp = c & 0x0f, len = 3;
        } else if ((c & 0xf8) == 0xf0) {
            cp = c & 0x07, len = 4;
        } else {
            return bad("invalid UTF-8 (" + hex(c) + ")");
        }
        if (i + len > text.size()) return bad("invalid UTF-8 (" + hex(c) + ")");
        for (size_t k = 1; k < len; ++k) {
            auto cc = static_cast<unsigned char>(text[i + k]);
            if ((cc & 0xc0) != 0x80) return bad("invalid UTF-8 (" + hex(c) + ")");
            cp = (cp << 6) | (cc & 0x3f);
        }
        static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return bad("invalid UTF-8 (" + hex(c) + ")");
        bool printable = cp == '\t' || cp == '\n' || cp == '\r' || (cp >= 0x20 && cp < 0x7f) ||
                         cp == 0x85 || (cp >= 0xa0 && cp != 0xfffe && cp != 0xffff);
        if (!printable) return bad(hex(cp));
        if (cp == '\n') {
            ++line;
            column = 0;
        } else {
            ++column;
        }
        i += len;
    }
    return false;
}

// A first pass over the YAML events that only notes where documents start and whether they
// hold anything. yaml-cpp's LoadAll loops forever on a document that starts with a stray ','
// (it yields empty documents without consuming the token): this pass stops after three
// documents and notices when one makes no progress.
class DocumentScan : public YAML::EventHandler {
public:
    struct Document {
        YAML::Mark start;
        bool content = false;
    };
    std::vector<Document> documents;

    void OnDocumentStart(const YAML::Mark& mark) override { documents.push_back({mark, false}); }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override { saw_content(); }
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {
        saw_content();
    }
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {
        saw_content();
    }
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {
        saw_content();
    }
    void OnMapEnd() override {}

private:
    void saw_content() {
        if (!documents.empty()) documents.back().content = true;
    }
};

// Reports what the scan found wrong with the document structure; false if nothing.
bool report_document_problems(const std::string& text, const DocumentScan& scan, Diagnostics& diag) {
    const auto& docs = scan.documents;
    for (size_t i = 1; i < docs.size(); ++i) {
        if (docs[i].start.pos == docs[i - 1].start.pos) {
            const YAML::Mark& m = docs[i].start;
            char c = m.pos >= 0 && static_cast<size_t>(m.pos) < text.size() ? text[static_cast<size_t>(m.pos)] : '?';
            diag.error(diag.at(m.line, m.column), "",
                       std::string("YAML syntax error: unexpected '") + c + "'" +
                           (c == ',' ? " (a ',' separates items only inside [ ] or { })" : ""));
            return true;
        }
    }
    if (docs.empty() || !docs[0].content) {
        diag.error(diag.nowhere(), "",
                   "expected a mapping with the keys cluster, nodes, fencing and resources, "
                   "found an empty file");
        return true;
    }
    for (size_t i = 1; i < docs.size(); ++i) {
        if (docs[i].content) {
            diag.error(diag.at(docs[i].start.line, docs[i].start.column), "",
                       "expected one YAML document, found a second one starting here (check "
                       "the indentation of this line)");
            break;  // the first document is still checked below
        }
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
    if (report_bad_text(text, diag)) return diag.finish(std::nullopt);
    YAML::Node document;
    DocumentScan scan;
    try {
        std::istringstream in(text);
        YAML::Parser parser(in);
        while (scan.documents.size() < 3 && parser.HandleNextDocument(scan)) {
        }
        if (report_document_problems(text, scan, diag)) return diag.finish(std::nullopt);
        document = YAML::Load(text);  // the first document only
    } catch (const YAML::Exception& e) {
        if (!report_indent_tab(text, e.mark.line, diag) &&
            !(e.msg == "illegal map value" && report_over_indented_key(text, e.mark, diag)))
            diag.error(e.mark.is_null() ? diag.nowhere() : diag.at(e.mark.line, e.mark.column), "",
                       explain_syntax_error(e.msg));
        return diag.finish(std::nullopt);
    }
    Config config;
    config.source_file = file_name;
    try {
        YAML::Mark m = document.Mark();
        detail::Value root(document, "", m.is_null() ? diag.nowhere() : diag.at(m.line, m.column),
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
    if (too_big) {
        diag.error(diag.nowhere(), "",
                   "expected at most 1 MiB of YAML, found " +
                       std::to_string(std::max<long long>(st.st_size, static_cast<long long>(text.size()))) +
                       " bytes; this is not a veeam-had configuration");
        return diag.finish(std::nullopt);
    }
    return load_string(text, path, options);
}

}  // namespace veeamha::config
