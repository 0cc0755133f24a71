// SPDX-License-Identifier: GPL-2.0-or-later
// rtnetlink through libmnl for the floating-IP resource: add/delete one address, list the
// addresses of an interface, read an interface's state. Every request carries its own sequence
// number and is acknowledged (NLM_F_ACK); replies are matched by sequence number and port ID
// (mnl_cb_run), read only until a deadline and only up to a message budget; errors come back as
// errno plus the kernel's extended-ack text when it gives one.
#pragma once

#include <linux/netlink.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/deadline.h"

struct mnl_socket;

namespace veeamha::net::ip {

// An IPv4 or IPv6 address in network byte order.
struct IpAddress {
    int family = 0;  // AF_INET or AF_INET6
    std::array<uint8_t, 16> bytes{};
    size_t size() const { return family == AF_INET ? 4 : 16; }
    std::string text() const;
    bool operator==(const IpAddress& o) const {
        return family == o.family && std::equal(bytes.begin(), bytes.begin() + size(), o.bytes.begin());
    }
    static std::optional<IpAddress> parse(int family, const std::string& text);
};

using Mac = std::array<uint8_t, 6>;
std::string mac_text(const Mac& mac);

// What to put in an RTM_NEWADDR / RTM_DELADDR.
struct AddressRequest {
    int ifindex = 0;
    IpAddress address;
    int prefix = 0;
    std::string label;                 // IPv4 only; empty = none
    std::optional<IpAddress> broadcast;  // IPv4 only
    uint32_t flags = 0;                // IFA_F_NODAD, ...
};

// The IPv4 broadcast address of address/prefix, none for /31 and /32 (RFC 3021 point-to-point).
std::optional<IpAddress> ipv4_broadcast(const IpAddress& address, int prefix);

// Composes the request into `buf` (at least kRequestBufferSize bytes); returns its header.
inline constexpr size_t kRequestBufferSize = 512;
nlmsghdr* compose_address_request(char* buf, uint16_t type, uint16_t flags, uint32_t seq,
                                  const AddressRequest& req);

struct AddressInfo {
    int ifindex = 0;
    IpAddress address;  // IFA_LOCAL if present (IPv4), else IFA_ADDRESS
    int prefix = 0;
    std::string label;
    std::optional<IpAddress> broadcast;
    uint32_t flags = 0;  // IFA_FLAGS if present, else ifa_flags
};
// Parses one RTM_NEWADDR message; nullopt if it is not one.
std::optional<AddressInfo> parse_address_message(const nlmsghdr* nlh);

struct LinkInfo {
    int ifindex = 0;
    std::string name;
    unsigned flags = 0;        // IFF_UP, IFF_LOWER_UP, ...
    uint8_t operstate = 0;     // IF_OPER_*
    std::optional<Mac> mac;
};
const char* operstate_text(uint8_t operstate);

// The outcome of a request: errno 0 = success; `message` has the kernel's extended-ack text
// (e.g. "Label must begin with interface name") or a description of a local failure.
struct NetlinkStatus {
    int error = 0;
    std::string message;
    bool ok() const { return error == 0; }
    std::string describe() const;  // "File exists (kernel: ...)"
};

class NetlinkSocket {
public:
    NetlinkSocket();
    ~NetlinkSocket();
    NetlinkSocket(const NetlinkSocket&) = delete;
    NetlinkSocket& operator=(const NetlinkSocket&) = delete;

    // Opens and binds a NETLINK_ROUTE socket in the calling thread's network namespace.
    NetlinkStatus open();

    NetlinkStatus add_address(const AddressRequest& req, base::Deadline deadline);
    NetlinkStatus delete_address(const AddressRequest& req, base::Deadline deadline);
    NetlinkStatus list_addresses(int family, int ifindex, std::vector<AddressInfo>& out, base::Deadline deadline);
    NetlinkStatus get_link(int ifindex, LinkInfo& out, base::Deadline deadline);

    // Sends `nlh` (its sequence number is set here) and runs `on_message` for every reply
    // until the ack / NLMSG_DONE, an error, the deadline, or kMaxReplyMessages.
    NetlinkStatus transact(nlmsghdr* nlh, const std::function<void(const nlmsghdr*)>& on_message,
                           base::Deadline deadline);

    static constexpr size_t kMaxReplyMessages = 65536;

private:
    mnl_socket* sock_ = nullptr;
    uint32_t portid_ = 0;
    uint32_t seq_ = 0;
};

}  // namespace veeamha::net::ip
