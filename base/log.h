// SPDX-License-Identifier: GPL-2.0-or-later
// Logging: one line per event to stderr with an sd-daemon priority prefix ("<4>"), which journald
// turns into the line's priority. Secrets never reach this API: callers log names of files and
// users, never their contents.
#pragma once

#include <string_view>

#include "base/level.h"

namespace veeamha::base::log {

void set_max_level(Level level);
void write(Level level, std::string_view text);

inline void error(std::string_view t) { write(Level::Error, t); }
inline void warning(std::string_view t) { write(Level::Warning, t); }
inline void notice(std::string_view t) { write(Level::Notice, t); }
inline void info(std::string_view t) { write(Level::Info, t); }
inline void debug(std::string_view t) { write(Level::Debug, t); }

}  // namespace veeamha::base::log
