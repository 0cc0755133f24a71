// SPDX-License-Identifier: GPL-2.0-or-later
// std::error_code values of net/ (sending side; receive-side problems are DropReasons).
#pragma once

#include <system_error>

namespace veeamha::net {

enum class NetErrc {
    not_connected = 1,  // no channel session with the peer (never connected since it started)
    queue_full,         // the bounded send queue is full: the peer does not keep up
    too_large,          // message larger than a frame may be
    stopped,            // the service was stopped
};

const std::error_category& net_category();
inline std::error_code make_error_code(NetErrc e) { return {static_cast<int>(e), net_category()}; }

}  // namespace veeamha::net

template <>
struct std::is_error_code_enum<veeamha::net::NetErrc> : std::true_type {};
