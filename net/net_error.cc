// SPDX-License-Identifier: GPL-2.0-or-later
#include "net/net_error.h"

namespace veeamha::net {
namespace {

class Category : public std::error_category {
public:
    const char* name() const noexcept override { return "veeamha.net"; }
    std::string message(int v) const override {
        switch (static_cast<NetErrc>(v)) {
            case NetErrc::not_connected: return "no channel session with the peer";
            case NetErrc::queue_full: return "peer channel send queue full (peer not keeping up)";
            case NetErrc::too_large: return "message too large for one frame";
            case NetErrc::stopped: return "network service stopped";
        }
        return "unknown net error";
    }
};

}  // namespace

const std::error_category& net_category() {
    static Category c;
    return c;
}

}  // namespace veeamha::net
