// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/resources/factory.h"

#include "daemon/resources/exec_resource.h"

// CMake defines these when the other kinds' libraries exist in this build.
#ifdef VEEAMHA_HAVE_LVM
#if !__has_include("storage/lvm/lvm_resource.h")
#error "veeamha_storage_lvm is linked but storage/lvm/lvm_resource.h is missing: update the factory"
#endif
#include "storage/lvm/lvm_resource.h"
#endif
#ifdef VEEAMHA_HAVE_SERVICE
#if !__has_include("daemon/systemd_unit/systemd_unit_resource.h")
#error "veeamha_service_resource is linked but daemon/systemd_unit/systemd_unit_resource.h is missing"
#endif
#include "daemon/systemd_unit/systemd_unit_resource.h"
#endif

namespace veeamha::resources {

const char* kind_name(config::ResourceKind kind) {
    switch (kind) {
        case config::ResourceKind::Lvm: return "lvm";
        case config::ResourceKind::Filesystem: return "filesystem";
        case config::ResourceKind::Ip: return "ip";
        case config::ResourceKind::Service: return "service";
        case config::ResourceKind::Exec: return "exec";
    }
    return "?";
}

bool kind_built_in(config::ResourceKind kind) {
    switch (kind) {
        case config::ResourceKind::Lvm:
#ifdef VEEAMHA_HAVE_LVM
            return true;
#else
            return false;
#endif
        case config::ResourceKind::Service:
#ifdef VEEAMHA_HAVE_SERVICE
            return true;
#else
            return false;
#endif
        default: return true;
    }
}

namespace {

std::unique_ptr<Resource> not_built(config::ResourceKind kind) {
    return std::make_unique<UnavailableResource>(std::string("resource kind ") + kind_name(kind) +
                                                 " not built in this binary");
}

}  // namespace

std::unique_ptr<Resource> make_resource(const config::Resource& r, const ResourceEnvironment& env) {
    // The variant decides; `kind` is what the loader set from the same YAML key.
    if (const auto* fs = std::get_if<config::FilesystemSpec>(&r.spec)) {
        return std::make_unique<storage::FilesystemResource>(*fs, env.filesystem);
    }
    if (const auto* ip = std::get_if<config::IpSpec>(&r.spec)) {
        return std::make_unique<ip::IpResource>(*ip, env.ip);
    }
    if (const auto* ex = std::get_if<config::ExecSpec>(&r.spec)) {
        return std::make_unique<ExecResource>(r.name, *ex);
    }
    if (const auto* lvm = std::get_if<config::LvmSpec>(&r.spec)) {
#ifdef VEEAMHA_HAVE_LVM
        return std::make_unique<lvm::LvmResource>(*lvm, env.local_node);
#else
        (void)lvm;
        return not_built(config::ResourceKind::Lvm);
#endif
    }
    if (const auto* svc = std::get_if<config::ServiceSpec>(&r.spec)) {
#ifdef VEEAMHA_HAVE_SERVICE
        SystemdUnitOptions options;
        options.bus_address = env.systemd_bus_address;
        return std::make_unique<SystemdUnitResource>(*svc, options);
#else
        (void)svc;
        return not_built(config::ResourceKind::Service);
#endif
    }
    return not_built(r.kind);
}

}  // namespace veeamha::resources
