// SPDX-License-Identifier: GPL-2.0-or-later
// Durations in the configuration: "200ms", "2s", "1.5s", "1m30s", "10m", "1h"; a bare "0".
#include <cstdint>
#include <string>

#include "config/config.h"

namespace veeamha::config {

namespace {

// Anything longer is certainly a mistake, and the bound keeps the arithmetic far from overflow.
constexpr int64_t kMaxMs = int64_t{100} * 24 * 3600 * 1000;  // 100 days
constexpr int kMaxDigits = 9;

struct Unit {
    const char* name;
    int64_t ms;
};
// Longest names first so "ms" is not read as "m" followed by garbage.
constexpr Unit kUnits[] = {{"ms", 1}, {"h", 3600000}, {"m", 60000}, {"s", 1000}};

}  // namespace

std::optional<Duration> parse_duration(const std::string& text) {
    if (text == "0") return Duration(0);
    if (text.empty()) return std::nullopt;
    int64_t total = 0;
    int64_t last_unit = INT64_MAX;  // components must go from larger to smaller units
    size_t i = 0;
    while (i < text.size()) {
        int64_t whole = 0, frac = 0, frac_scale = 1;
        int whole_digits = 0, frac_digits = 0;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
            if (++whole_digits > kMaxDigits) return std::nullopt;
            whole = whole * 10 + (text[i++] - '0');
        }
        if (i < text.size() && text[i] == '.') {
            ++i;
            while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
                if (++frac_digits > kMaxDigits) return std::nullopt;
                frac = frac * 10 + (text[i++] - '0');
                frac_scale *= 10;
            }
            if (frac_digits == 0) return std::nullopt;
        }
        if (whole_digits == 0) return std::nullopt;
        const Unit* unit = nullptr;
        for (const auto& u : kUnits) {
            std::string_view name(u.name);
            if (text.compare(i, name.size(), name) == 0) {
                unit = &u;
                break;
            }
        }
        if (!unit || unit->ms >= last_unit) return std::nullopt;
        i += std::string_view(unit->name).size();
        last_unit = unit->ms;
        // The fraction must come out as whole milliseconds: 1.5s yes, 1.0005s no.
        if ((frac * unit->ms) % frac_scale != 0) return std::nullopt;
        int64_t part = whole * unit->ms + frac * unit->ms / frac_scale;
        if (part > kMaxMs || total + part > kMaxMs) return std::nullopt;
        total += part;
    }
    return Duration(total);
}

std::string format_duration(Duration d) {
    const int64_t ms = d.count();
    if (ms == 0) return "0s";
    if (ms < 0) return "-" + format_duration(Duration(-ms));
    if (ms % 3600000 == 0) return std::to_string(ms / 3600000) + "h";
    if (ms % 60000 == 0) return std::to_string(ms / 60000) + "m";
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    if (ms < 1000) return std::to_string(ms) + "ms";
    std::string frac = std::to_string(ms % 1000);
    frac.insert(0, 3 - frac.size(), '0');
    while (frac.back() == '0') frac.pop_back();
    return std::to_string(ms / 1000) + "." + frac + "s";
}

}  // namespace veeamha::config
