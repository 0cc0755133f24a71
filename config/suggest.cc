// SPDX-License-Identifier: GPL-2.0-or-later
#include "config/suggest.h"

#include <algorithm>
#include <cctype>

namespace veeamha::config::detail {

namespace {
char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
    if (prefix.size() > text.size()) return false;
    for (size_t i = 0; i < prefix.size(); ++i)
        if (lower(text[i]) != lower(prefix[i])) return false;
    return true;
}
}  // namespace

size_t edit_distance(std::string_view a, std::string_view b) {
    // Both strings are key names or short values; the caller bounds them, but stay safe.
    if (a.size() > 256 || b.size() > 256) return std::max(a.size(), b.size());
    const size_t n = a.size(), m = b.size();
    std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
    for (size_t i = 0; i <= n; ++i) d[i][0] = i;
    for (size_t j = 0; j <= m; ++j) d[0][j] = j;
    for (size_t i = 1; i <= n; ++i) {
        for (size_t j = 1; j <= m; ++j) {
            size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
                lower(a[i - 2]) == lower(b[j - 1]))
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    }
    return d[n][m];
}

std::optional<std::string> closest(std::string_view word, const std::vector<std::string>& candidates) {
    if (word.empty()) return std::nullopt;
    // Allow about one mistake per three letters, at least one.
    const size_t limit = std::max<size_t>(1, word.size() / 3);
    std::optional<std::string> best;
    size_t best_distance = limit + 1;
    for (const auto& candidate : candidates) {
        size_t distance = edit_distance(word, candidate);
        if (distance < best_distance) {
            best_distance = distance;
            best = candidate;
        }
    }
    if (best) return best;
    // A shortened key ("addr" for "addresses"), only when unambiguous.
    if (word.size() >= 3) {
        std::vector<std::string> prefixed;
        for (const auto& candidate : candidates)
            if (starts_with_nocase(candidate, word)) prefixed.push_back(candidate);
        if (prefixed.size() == 1) return prefixed.front();
    }
    return std::nullopt;
}

}  // namespace veeamha::config::detail
