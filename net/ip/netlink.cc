// SPDX-License-Identifier: GPL-2.0-or-later
#include "net/ip/netlink.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace veeamha::net::ip {
namespace {

// libmnl's mnl_attr_for_each macros assign void* and do not compile as C++.
template <typename Fn>
void for_each_attr(const void* start, size_t size, Fn fn) {
    int len = static_cast<int>(size);
    const auto* attr = static_cast<const nlattr*>(start);
    while (len > 0 && mnl_attr_ok(attr, len)) {
        fn(attr);
        len -= static_cast<int>(MNL_ALIGN(attr->nla_len));
        attr = mnl_attr_next(attr);
    }
}

template <typename Fn>
void for_each_message_attr(const nlmsghdr* nlh, size_t header, Fn fn) {
    const char* start = static_cast<const char*>(mnl_nlmsg_get_payload_offset(nlh, header));
    const char* end = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
    if (end > start) for_each_attr(start, static_cast<size_t>(end - start), fn);
}

}  // namespace

std::string IpAddress::text() const {
    char buf[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(family, bytes.data(), buf, sizeof buf);
    return buf;
}

std::optional<IpAddress> IpAddress::parse(int family, const std::string& text) {
    IpAddress a;
    a.family = family;
    if ((family != AF_INET && family != AF_INET6) || ::inet_pton(family, text.c_str(), a.bytes.data()) != 1) {
        return std::nullopt;
    }
    return a;
}

std::string mac_text(const Mac& mac) {
    char buf[18];
    std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
                  mac[4], mac[5]);
    return buf;
}

std::optional<IpAddress> ipv4_broadcast(const IpAddress& address, int prefix) {
    if (address.family != AF_INET || prefix >= 31 || prefix < 0) return std::nullopt;
    uint32_t host;
    std::memcpy(&host, address.bytes.data(), 4);
    host = ntohl(host);
    uint32_t mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
    uint32_t bcast = htonl(host | ~mask);
    IpAddress b;
    b.family = AF_INET;
    std::memcpy(b.bytes.data(), &bcast, 4);
    return b;
}

nlmsghdr* compose_address_request(char* buf, uint16_t type, uint16_t flags, uint32_t seq,
                                  const AddressRequest& req) {
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = flags;
    nlh->nlmsg_seq = seq;
    auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
    ifa->ifa_family = static_cast<uint8_t>(req.address.family);
    ifa->ifa_prefixlen = static_cast<uint8_t>(req.prefix);
    ifa->ifa_flags = static_cast<uint8_t>(req.flags & 0xff);
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = static_cast<unsigned>(req.ifindex);
    const auto len = static_cast<uint16_t>(req.address.size());
    mnl_attr_put(nlh, IFA_LOCAL, len, req.address.bytes.data());
    mnl_attr_put(nlh, IFA_ADDRESS, len, req.address.bytes.data());
    if (type == RTM_NEWADDR) {
        if (req.address.family == AF_INET && !req.label.empty()) mnl_attr_put_strz(nlh, IFA_LABEL, req.label.c_str());
        if (req.address.family == AF_INET && req.broadcast) {
            mnl_attr_put(nlh, IFA_BROADCAST, 4, req.broadcast->bytes.data());
        }
        if (req.flags) mnl_attr_put_u32(nlh, IFA_FLAGS, req.flags);
    }
    return nlh;
}

std::optional<AddressInfo> parse_address_message(const nlmsghdr* nlh) {
    if (nlh->nlmsg_type != RTM_NEWADDR || nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(ifaddrmsg)) return std::nullopt;
    const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
    if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6) return std::nullopt;
    AddressInfo info;
    info.ifindex = static_cast<int>(ifa->ifa_index);
    info.prefix = ifa->ifa_prefixlen;
    info.flags = ifa->ifa_flags;
    const size_t want = ifa->ifa_family == AF_INET ? 4 : 16;
    std::optional<IpAddress> local, address;
    for_each_message_attr(nlh, sizeof(ifaddrmsg), [&](const nlattr* attr) {
        uint16_t t = mnl_attr_get_type(attr);
        size_t len = mnl_attr_get_payload_len(attr);
        auto as_ip = [&]() {
            IpAddress a;
            a.family = ifa->ifa_family;
            std::memcpy(a.bytes.data(), mnl_attr_get_payload(attr), want);
            return a;
        };
        if ((t == IFA_LOCAL || t == IFA_ADDRESS || t == IFA_BROADCAST) && len != want) return;
        if (t == IFA_LOCAL) local = as_ip();
        if (t == IFA_ADDRESS) address = as_ip();
        if (t == IFA_BROADCAST) info.broadcast = as_ip();
        if (t == IFA_LABEL && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0) info.label = mnl_attr_get_str(attr);
        if (t == IFA_FLAGS && len == 4) info.flags = mnl_attr_get_u32(attr);
    });
    if (local) {
        info.address = *local;
    } else if (address) {
        info.address = *address;
    } else {
        return std::nullopt;
    }
    return info;
}

const char* operstate_text(uint8_t operstate) {
    switch (operstate) {
        case IF_OPER_UNKNOWN: return "unknown";
        case IF_OPER_NOTPRESENT: return "not present";
        case IF_OPER_DOWN: return "down";
        case IF_OPER_LOWERLAYERDOWN: return "lower layer down";
        case IF_OPER_TESTING: return "testing";
        case IF_OPER_DORMANT: return "dormant";
        case IF_OPER_UP: return "up";
        default: return "?";
    }
}

std::string NetlinkStatus::describe() const {
    std::string out = error ? std::strerror(error) : "ok";
    if (!message.empty()) out += " (" + message + ")";
    return out;
}

NetlinkSocket::NetlinkSocket() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    seq_ = static_cast<uint32_t>(ts.tv_nsec ^ ts.tv_sec);
}

NetlinkSocket::~NetlinkSocket() {
    if (sock_) mnl_socket_close(sock_);
}

NetlinkStatus NetlinkSocket::open() {
    if (sock_) return {};
    sock_ = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
    if (!sock_) return {errno, "netlink socket"};
    int one = 1;
    // Ask for the kernel's error text, and only the header of our request back with errors.
    mnl_socket_setsockopt(sock_, NETLINK_EXT_ACK, &one, sizeof one);
    mnl_socket_setsockopt(sock_, NETLINK_CAP_ACK, &one, sizeof one);
    if (mnl_socket_bind(sock_, 0, MNL_SOCKET_AUTOPID) < 0) {
        int err = errno;
        mnl_socket_close(sock_);
        sock_ = nullptr;
        return {err, "netlink bind"};
    }
    portid_ = mnl_socket_get_portid(sock_);
    return {};
}

namespace {

struct RunState {
    const std::function<void(const nlmsghdr*)>* on_message;
    std::string ext_message;
    size_t messages = 0;
};

int data_cb(const nlmsghdr* nlh, void* data) {
    auto* st = static_cast<RunState*>(data);
    if (++st->messages > NetlinkSocket::kMaxReplyMessages) {
        errno = E2BIG;
        return MNL_CB_ERROR;
    }
    if (*st->on_message) (*st->on_message)(nlh);
    return MNL_CB_OK;
}

// NLMSG_ERROR: errno from the error code (0 = the ack), plus NLMSGERR_ATTR_MSG if present.
int error_cb(const nlmsghdr* nlh, void* data) {
    auto* st = static_cast<RunState*>(data);
    if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(nlmsgerr)) {
        errno = EBADMSG;
        return MNL_CB_ERROR;
    }
    const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
    if (err->error == 0) return MNL_CB_STOP;
    if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
        size_t offset = sizeof(nlmsgerr);
        if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) offset += err->msg.nlmsg_len - NLMSG_HDRLEN;
        size_t total = nlh->nlmsg_len - NLMSG_HDRLEN;
        if (offset < total) {
            const char* base = static_cast<const char*>(mnl_nlmsg_get_payload(nlh)) + offset;
            for_each_attr(base, total - offset, [&](const nlattr* attr) {
                if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
                    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0) {
                    st->ext_message = mnl_attr_get_str(attr);
                }
            });
        }
    }
    errno = -err->error;
    return MNL_CB_ERROR;
}

int done_cb(const nlmsghdr*, void*) { return MNL_CB_STOP; }
int noop_cb(const nlmsghdr*, void*) { return MNL_CB_OK; }

}  // namespace

NetlinkStatus NetlinkSocket::transact(nlmsghdr* nlh, const std::function<void(const nlmsghdr*)>& on_message,
                                      base::Deadline deadline) {
    if (NetlinkStatus s = open(); !s.ok()) return s;
    nlh->nlmsg_seq = ++seq_;
    nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    if (mnl_socket_sendto(sock_, nlh, nlh->nlmsg_len) < 0) return {errno, "netlink send"};

    RunState st{&on_message, {}, 0};
    mnl_cb_t ctl[NLMSG_MIN_TYPE] = {};
    ctl[NLMSG_NOOP] = noop_cb;
    ctl[NLMSG_ERROR] = error_cb;
    ctl[NLMSG_DONE] = done_cb;
    std::vector<char> buf(32768);  // the kernel's dump chunk size
    const int fd = mnl_socket_get_fd(sock_);
    for (;;) {
        auto left = base::remaining(deadline);
        if (left.count() == 0) return {ETIMEDOUT, "no netlink answer by the deadline"};
        pollfd p{fd, POLLIN, 0};
        int pr = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
        if (pr < 0 && errno == EINTR) continue;
        if (pr < 0) return {errno, "netlink poll"};
        if (pr == 0) continue;
        ssize_t n = mnl_socket_recvfrom(sock_, buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            return {errno, "netlink receive"};
        }
        // Checks every message's sequence number and port ID against ours (ESRCH otherwise).
        int r = mnl_cb_run2(buf.data(), static_cast<size_t>(n), nlh->nlmsg_seq, portid_, data_cb, &st,
                            ctl, NLMSG_MIN_TYPE);
        if (r == MNL_CB_STOP) return {};
        if (r == MNL_CB_ERROR) return {errno, st.ext_message};
    }
}

NetlinkStatus NetlinkSocket::add_address(const AddressRequest& req, base::Deadline deadline) {
    char buf[kRequestBufferSize];
    nlmsghdr* nlh = compose_address_request(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, 0, req);
    return transact(nlh, {}, deadline);
}

NetlinkStatus NetlinkSocket::delete_address(const AddressRequest& req, base::Deadline deadline) {
    char buf[kRequestBufferSize];
    nlmsghdr* nlh = compose_address_request(buf, RTM_DELADDR, 0, 0, req);
    return transact(nlh, {}, deadline);
}

NetlinkStatus NetlinkSocket::list_addresses(int family, int ifindex, std::vector<AddressInfo>& out,
                                            base::Deadline deadline) {
    char buf[kRequestBufferSize];
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_GETADDR;
    nlh->nlmsg_flags = NLM_F_DUMP;
    auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
    ifa->ifa_family = static_cast<uint8_t>(family);
    out.clear();
    return transact(
        nlh,
        [&](const nlmsghdr* m) {
            auto info = parse_address_message(m);
            if (info && (ifindex == 0 || info->ifindex == ifindex)) out.push_back(*info);
        },
        deadline);
}

NetlinkStatus NetlinkSocket::get_link(int ifindex, LinkInfo& out, base::Deadline deadline) {
    char buf[kRequestBufferSize];
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_GETLINK;
    auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = ifindex;
    bool seen = false;
    NetlinkStatus s = transact(
        nlh,
        [&](const nlmsghdr* m) {
            if (m->nlmsg_type != RTM_NEWLINK || m->nlmsg_len < NLMSG_HDRLEN + sizeof(ifinfomsg)) return;
            const auto* info = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(m));
            if (info->ifi_index != ifindex) return;
            seen = true;
            out = {};
            out.ifindex = info->ifi_index;
            out.flags = info->ifi_flags;
            for_each_message_attr(m, sizeof(ifinfomsg), [&](const nlattr* attr) {
                switch (mnl_attr_get_type(attr)) {
                    case IFLA_IFNAME:
                        if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0) out.name = mnl_attr_get_str(attr);
                        break;
                    case IFLA_OPERSTATE:
                        if (mnl_attr_validate(attr, MNL_TYPE_U8) == 0) out.operstate = mnl_attr_get_u8(attr);
                        break;
                    case IFLA_ADDRESS:
                        if (mnl_attr_get_payload_len(attr) == 6) {
                            Mac mac;
                            std::memcpy(mac.data(), mnl_attr_get_payload(attr), 6);
                            out.mac = mac;
                        }
                        break;
                    default: break;
                }
            });
        },
        deadline);
    if (s.ok() && !seen) return {ENODEV, "no RTM_NEWLINK in the answer"};
    return s;
}

}  // namespace veeamha::net::ip
