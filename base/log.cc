// SPDX-License-Identifier: GPL-2.0-or-later
#include "base/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <cstdlib>
#include <string>

namespace veeamha::base::log {
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
    std::string line;
    if (to_journal()) {
        line = "<" + std::to_string(static_cast<int>(level)) + ">";  // journald adds the time
    } else {
        // Wall-clock time with milliseconds, so that a log file is a timeline on its own.
        timespec ts{};
        clock_gettime(CLOCK_REALTIME, &ts);
        tm t{};
        gmtime_r(&ts.tv_sec, &t);
        char stamp[96];
        snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ ", t.tm_year + 1900,
                 t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec / 1000000);
        line = std::string(stamp) + word(level);
    }
    line.append(text);
    if (line.empty() || line.back() != '\n') line += '\n';
    ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
    (void)ignored;
}

}  // namespace veeamha::base::log
