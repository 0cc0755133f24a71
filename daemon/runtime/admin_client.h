// SPDX-License-Identifier: GPL-2.0-or-later
// veeam-hactl's side of the admin socket (see admin_server.h): one request, one response, with
// a deadline for the whole exchange.
#pragma once

#include <chrono>
#include <string>

#include "proto/veeamha.pb.h"

namespace veeamha::runtime {

// Returns false with `error` in plain words (daemon not running, permission, timeout, ...);
// `not_running` (if given) is set when no daemon listens on the socket at all.
bool admin_call(const std::string& socket_path, const wire::AdminRequest& request,
                wire::AdminResponse& response, std::chrono::milliseconds timeout,
                std::string& error, bool* not_running = nullptr);

}  // namespace veeamha::runtime
