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
#include "net/ip/duplicate_watch.h"
#include "net/ip/netlink.h"

namespace veeamha::net::ip {

struct IpTuning {
    // How many duplicate-address probes go out in the resource's dad_window, and how long a
    // watch started by prepare() waits for its start before it ends by itself.
    int duplicate_probes = 3;
    std::chrono::milliseconds prepared_watch_life{60000};
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
    // Starts the duplicate-address watch ahead of the start (DuplicateWatch): by the address's
    // turn its window has usually passed.
    void prepare(const base::OpContext& ctx) override;

    // Announcement rounds sent since the last start (for tests and status).
    int announcements_sent() const;
    const config::IpSpec& spec() const { return spec_; }

private:
    struct Target;  // the parsed address, interface index, link facts
    base::OpResult resolve(Target& t, NetlinkSocket& nl, base::Deadline deadline) const;
    // Why the address must not be added now (who answered, or why nobody could tell), or
    // empty. Uses the prepared watch if it can.
    base::OpResult check_duplicate(const Target& t, std::unique_ptr<DuplicateWatch> prepared,
                                   base::Clock::time_point from, base::Deadline deadline);
    std::unique_ptr<DuplicateWatch> take_watch();
    WatchSettings watch_settings() const;
    base::OpResult announce(const Target& t, const std::string& done_text);
    void stop_announcer();

    config::IpSpec spec_;
    IpTuning tuning_;
    mutable std::mutex announcer_mutex_;
    std::unique_ptr<Announcer> announcer_;
    // The watch prepare() started, for the next start. `operations_` counts starts and stops:
    // a prepare() that finds it changed while it set up lost the race and keeps nothing.
    std::mutex watch_mutex_;
    std::unique_ptr<DuplicateWatch> watch_;
    uint64_t operations_ = 0;
};

}  // namespace veeamha::net::ip
