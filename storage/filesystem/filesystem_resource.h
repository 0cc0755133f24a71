// SPDX-License-Identifier: GPL-2.0-or-later
// The `filesystem` resource kind (docs/design.md §5): mount(2) a block device at a mount point,
// unmount it even when processes hold it, and check that it is mounted and writable.
#pragma once

#include <chrono>
#include <string>

#include "config/config.h"
#include "base/resource.h"
#include "storage/filesystem/bounded_call.h"
#include "storage/filesystem/busy_unmount.h"

namespace veeamha::storage::filesystem {

class FilesystemResource : public base::Resource {
public:
    explicit FilesystemResource(config::FilesystemSpec spec, FilesystemTuning tuning = {});
    base::OpResult start(const base::OpContext& ctx) override;
    base::OpResult stop(const base::OpContext& ctx) override;
    base::OpResult monitor(const base::OpContext& ctx) override;

    const config::FilesystemSpec& spec() const { return spec_; }

private:
    base::OpResult probe(const std::string& mount_point, base::Deadline deadline);

    config::FilesystemSpec spec_;
    FilesystemTuning tuning_;
    HungCalls hung_probes_ = make_hung_calls();  // deep checks blocked in the filesystem
    HungCalls hung_ops_ = make_hung_calls();     // mount/syncfs/umount blocked in the kernel
};

}  // namespace veeamha::storage::filesystem
