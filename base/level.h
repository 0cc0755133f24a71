// SPDX-License-Identifier: GPL-2.0-or-later
// How serious a log line or an engine event is. The numbers are syslog's, which journald reads
// from the "<N>" prefix of a line. Pure vocabulary: the engine names its events' levels with it.
#pragma once

namespace veeamha::base {

enum class Level { Error = 3, Warning = 4, Notice = 5, Info = 6, Debug = 7 };

}  // namespace veeamha::base
