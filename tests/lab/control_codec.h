// SPDX-License-Identifier: GPL-2.0-or-later
// The lab's control socket speaks one request line per connection: words separated by spaces,
// each word percent-encoded (so an argument may hold spaces or newlines). The reply is a first
// line "OK" or "ERR <text>", then free text, then the server closes the connection.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace veeamha::lab {

inline constexpr size_t kMaxControlLine = 64 * 1024;

inline std::string encode_word(const std::string& word) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    if (word.empty()) return "%";  // a lone '%' is the empty word
    for (unsigned char c : word) {
        if (c <= ' ' || c == '%' || c >= 0x7f) {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

inline std::string encode_line(const std::vector<std::string>& words) {
    std::string line;
    for (const auto& w : words) {
        if (!line.empty()) line += ' ';
        line += encode_word(w);
    }
    return line + "\n";
}

// False on a malformed escape.
inline bool decode_line(const std::string& line, std::vector<std::string>& words) {
    words.clear();
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\n' || line[i] == '\r')) ++i;
        if (i >= line.size()) break;
        std::string w;
        if (line[i] == '%' && (i + 1 >= line.size() || line[i + 1] == ' ' || line[i + 1] == '\n')) {
            words.push_back({});
            ++i;
            continue;
        }
        while (i < line.size() && line[i] != ' ' && line[i] != '\n' && line[i] != '\r') {
            if (line[i] == '%') {
                if (i + 2 >= line.size()) return false;
                int hi = nibble(line[i + 1]), lo = nibble(line[i + 2]);
                if (hi < 0 || lo < 0) return false;
                w += static_cast<char>(hi * 16 + lo);
                i += 3;
            } else {
                w += line[i++];
            }
        }
        words.push_back(std::move(w));
    }
    return true;
}

}  // namespace veeamha::lab
