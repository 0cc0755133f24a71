// SPDX-License-Identifier: GPL-2.0-or-later
// Builds the Resource for one configured resource, whatever its kind. Kinds whose code is not
// linked into this binary (a build without libdevmapper or sd-bus support) still get an object:
// one whose every operation fails with a reason saying so, so the daemon reports the problem
// instead of crashing or silently skipping a resource of the group.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "daemon/common/resource.h"
#include "net/ip/ip_resource.h"
#include "storage/filesystem/filesystem_resource.h"

namespace veeamha::resources {

// What the resources need to know beyond their own config section.
struct ResourceEnvironment {
    // This node's name from the configuration (LVM system-ID / tag ownership).
    std::string local_node;
    // Empty: the system bus; else a D-Bus address (tests drive a container's systemd).
    std::string systemd_bus_address;
    storage::FilesystemTuning filesystem;
    ip::IpTuning ip;
};

std::unique_ptr<Resource> make_resource(const config::Resource& resource, const ResourceEnvironment& env = {});

// Which kinds this binary can run (lvm and service depend on optional libraries).
bool kind_built_in(config::ResourceKind kind);

// "lvm", "filesystem", "ip", "service", "exec".
const char* kind_name(config::ResourceKind kind);

// The stand-in for a kind that is not built in.
class UnavailableResource final : public Resource {
public:
    explicit UnavailableResource(std::string why) : why_(std::move(why)) {}
    OpResult start(const OpContext&) override { return OpResult::failed(why_); }
    OpResult stop(const OpContext&) override { return OpResult::failed(why_); }
    OpResult monitor(const OpContext&) override { return OpResult::failed(why_); }

private:
    std::string why_;
};

}  // namespace veeamha::resources
