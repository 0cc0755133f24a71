// SPDX-License-Identifier: GPL-2.0-or-later
#include "log.h"

#include <unistd.h>

#include <atomic>
#include <string>

namespace veeamha::log {
namespace {
std::atomic<int> g_max_level{static_cast<int>(Level::Info)};
}

void set_max_level(Level level) { g_max_level = static_cast<int>(level); }

void write(Level level, std::string_view text) {
    if (static_cast<int>(level) > g_max_level) return;
    // One write(2) per line so lines from worker threads never interleave.
    std::string line = "<" + std::to_string(static_cast<int>(level)) + ">";
    line.append(text);
    if (line.empty() || line.back() != '\n') line += '\n';
    ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
    (void)ignored;
}

}  // namespace veeamha::log
