// SPDX-License-Identifier: GPL-2.0-or-later
// Builds the Resource for one configured resource, whatever its kind. Where the kinds live:
//   lvm         storage/lvm/          storage::lvm::LvmResource
//   filesystem  storage/filesystem/   storage::filesystem::FilesystemResource
//   bind        storage/bind/         storage::bind::BindResource
//   ip          net/ip/               net::ip::IpResource
//   service     daemon/resources/service/  resources::service::ServiceResource
//   exec        daemon/resources/exec/     resources::exec::ExecResource
#pragma once

#include <memory>
#include <string>

#include "base/resource.h"
#include "config/config.h"
#include "net/ip/ip_resource.h"
#include "storage/filesystem/filesystem_resource.h"

namespace veeamha::resources {

// What the resources need to know beyond their own config section.
struct ResourceEnvironment {
    // This node's name from the configuration (LVM system-ID / tag ownership).
    std::string local_node;
    // Empty: the system bus; else a D-Bus address (tests drive a container's systemd).
    std::string systemd_bus_address;
    // The daemon's own systemd unit; service resources are ordered Before= it at shutdown
    // (service/unit_order.h). Empty: no order.
    std::string daemon_unit;
    storage::filesystem::FilesystemTuning filesystem;  // also the bind kind's busy unmount
    net::ip::IpTuning ip;
};

std::unique_ptr<base::Resource> make_resource(const config::Resource& resource,
                                              const ResourceEnvironment& env = {});

}  // namespace veeamha::resources
