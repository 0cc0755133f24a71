// SPDX-License-Identifier: GPL-2.0-or-later
// The `ip` resource kind (docs/design.md §5): a floating IPv4/IPv6 address on an interface, added
// and removed over rtnetlink, checked for duplicates before it is added (ARP probe / DAD
// solicitation) and announced after (gratuitous ARP / unsolicited NA), so that clients switch
// to this host's MAC within milliseconds instead of the 20-40 s their caches would keep the old
// one. Operations act in the network namespace of the thread that calls them.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "config/config.h"
#include "base/resource.h"
#include "net/ip/announcer.h"
#include "net/ip/netlink.h"

namespace veeamha::net::ip {

struct IpTuning {
    // How long start() listens for an answer to its duplicate-address probes, and how many
    // probes it sends in that time. A host on the same LAN answers in well under a millisecond;
    // RFC 5227's seconds-long timings are for hosts that pick an address, not for failover.
    std::chrono::milliseconds duplicate_probe_window{200};
    int duplicate_probes = 3;
    // IPv4: each announcement round sends a gratuitous ARP request and a gratuitous ARP reply
    // (some hosts and switches heed only one of the two).
    bool announce_arp_reply_too = true;
};

class IpResource : public base::Resource {
public:
    explicit IpResource(config::IpSpec spec, IpTuning tuning = {});
    ~IpResource() override;
    base::OpResult start(const base::OpContext& ctx) override;
    base::OpResult stop(const base::OpContext& ctx) override;
    base::OpResult monitor(const base::OpContext& ctx) override;

    // Announcement rounds sent since the last start (for tests and status).
    int announcements_sent() const;
    const config::IpSpec& spec() const { return spec_; }

private:
    struct Target;  // the parsed address, interface index, link facts
    base::OpResult resolve(Target& t, NetlinkSocket& nl, base::Deadline deadline) const;
    // Empty = nobody answered; else who did.
    std::string find_duplicate(const Target& t, base::Deadline deadline) const;
    base::OpResult announce(const Target& t, const std::string& done_text);
    void stop_announcer();

    config::IpSpec spec_;
    IpTuning tuning_;
    mutable std::mutex announcer_mutex_;
    std::unique_ptr<Announcer> announcer_;
};

}  // namespace veeamha::net::ip
