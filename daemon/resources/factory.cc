// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/resources/factory.h"

#include <variant>

#include "daemon/resources/exec/exec_resource.h"
#include "daemon/resources/service/service_resource.h"
#include "storage/bind/bind_resource.h"
#include "storage/lvm/lvm_resource.h"

namespace veeamha::resources {

std::unique_ptr<base::Resource> make_resource(const config::Resource& r, const ResourceEnvironment& env) {
    // The variant decides; `kind` is what the loader set from the same YAML key.
    struct Make {
        const config::Resource& r;
        const ResourceEnvironment& env;
        std::unique_ptr<base::Resource> operator()(const config::LvmSpec& s) const {
            return std::make_unique<storage::lvm::LvmResource>(s, env.local_node);
        }
        std::unique_ptr<base::Resource> operator()(const config::FilesystemSpec& s) const {
            return std::make_unique<storage::filesystem::FilesystemResource>(s, env.filesystem);
        }
        std::unique_ptr<base::Resource> operator()(const config::BindSpec& s) const {
            return std::make_unique<storage::bind::BindResource>(s, env.filesystem);
        }
        std::unique_ptr<base::Resource> operator()(const config::IpSpec& s) const {
            return std::make_unique<net::ip::IpResource>(s, env.ip);
        }
        std::unique_ptr<base::Resource> operator()(const config::ServiceSpec& s) const {
            service::ServiceOptions options;
            options.bus_address = env.systemd_bus_address;
            options.order_before = env.daemon_unit;
            return std::make_unique<service::ServiceResource>(s, options);
        }
        std::unique_ptr<base::Resource> operator()(const config::ExecSpec& s) const {
            return std::make_unique<exec::ExecResource>(r.name, s);
        }
    };
    return std::visit(Make{r, env}, r.spec);
}

}  // namespace veeamha::resources
