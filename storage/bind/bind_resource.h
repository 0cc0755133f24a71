// SPDX-License-Identifier: GPL-2.0-or-later
// The `bind` resource kind (docs/design.md §5): state that travels with the group. A folder on a
// filesystem of the group (the repository's) is bind-mounted onto a host path, such as
// /etc/veeam with the hardened repository's clock-tamper state, on whichever node holds the
// group, so that a passive host's stale copy is never what the service reads after a failover.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/resource.h"
#include "config/config.h"
#include "storage/filesystem/bounded_call.h"
#include "storage/filesystem/busy_unmount.h"
#include "storage/filesystem/mountinfo.h"

namespace veeamha::storage::bind {

// What a bind mount of a path shows in mountinfo: the mount that holds the path (the deepest
// mount point containing it, the topmost mount there) and the path's place inside that
// mount's filesystem (its `root` field).
struct BindOrigin {
    const filesystem::MountEntry* mount = nullptr;
    std::string root;
};
// `path` must be absolute and canonical. nullopt when no mount holds it (no "/" in `mounts`).
std::optional<BindOrigin> bind_origin(const std::vector<filesystem::MountEntry>& mounts, const std::string& path);
// True when `m` shows the folder `origin` names: same device, same root.
bool is_bind_of(const filesystem::MountEntry& m, const BindOrigin& origin);

class BindResource : public base::Resource {
public:
    explicit BindResource(config::BindSpec spec, filesystem::FilesystemTuning tuning = {});
    base::OpResult start(const base::OpContext& ctx) override;
    base::OpResult stop(const base::OpContext& ctx) override;
    base::OpResult monitor(const base::OpContext& ctx) override;

    const config::BindSpec& spec() const { return spec_; }

private:
    config::BindSpec spec_;
    filesystem::FilesystemTuning tuning_;
    // mount/umount, and looks at the source (on the group's filesystem, which may hang)
    filesystem::HungCalls hung_ops_ = filesystem::make_hung_calls();
};

}  // namespace veeamha::storage::bind
