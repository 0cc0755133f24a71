// SPDX-License-Identifier: GPL-2.0-or-later
#include "log.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>

namespace veeamha::log {
namespace {
std::atomic<int> g_max_level{static_cast<int>(Level::Info)};
}

void set_max_level(Level level) { g_max_level = static_cast<int>(level); }

// Under systemd (JOURNAL_STREAM set) the "<N>" prefix becomes the journal priority; on a
// terminal a word is easier to read.
bool to_journal() {
    static const bool journal = std::getenv("JOURNAL_STREAM") != nullptr;
    return journal;
}

const char* word(Level level) {
    switch (level) {
        case Level::Error: return "error: ";
        case Level::Warning: return "warning: ";
        case Level::Notice: return "notice: ";
        case Level::Info: return "";
        case Level::Debug: return "debug: ";
    }
    return "";
}

void write(Level level, std::string_view text) {
    if (static_cast<int>(level) > g_max_level) return;
    // One write(2) per line so lines from worker threads never interleave.
    std::string line = to_journal() ? "<" + std::to_string(static_cast<int>(level)) + ">"
                                    : std::string(word(level));
    line.append(text);
    if (line.empty() || line.back() != '\n') line += '\n';
    ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
    (void)ignored;
}

}  // namespace veeamha::log
