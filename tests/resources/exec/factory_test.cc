// SPDX-License-Identifier: GPL-2.0-or-later
#include <catch2/catch.hpp>

#include "daemon/resources/exec/exec_resource.h"
#include "daemon/resources/factory.h"
#include "daemon/resources/service/service_resource.h"
#include "storage/bind/bind_resource.h"
#include "storage/lvm/lvm_resource.h"

using namespace veeamha;
using namespace veeamha::resources;

namespace {

config::Resource with(config::ResourceKind kind, decltype(config::Resource::spec) spec) {
    config::Resource r;
    r.name = "r";
    r.kind = kind;
    r.spec = std::move(spec);
    return r;
}

}  // namespace

TEST_CASE("the factory builds bind resources from their specs") {
    config::BindSpec b;
    b.source = "/veeam/repo/.ha/etc-veeam";
    b.target = "/etc/veeam";
    auto r = make_resource(with(config::ResourceKind::Bind, b));
    auto* br = dynamic_cast<storage::bind::BindResource*>(r.get());
    REQUIRE(br);
    CHECK(br->spec().target == "/etc/veeam");
}

TEST_CASE("the factory builds filesystem, ip and exec resources from their specs") {
    config::FilesystemSpec fs;
    fs.device = "/dev/vg/lv";
    fs.mountpoint = "/srv";
    auto f = make_resource(with(config::ResourceKind::Filesystem, fs));
    auto* fsr = dynamic_cast<storage::filesystem::FilesystemResource*>(f.get());
    REQUIRE(fsr);
    CHECK(fsr->spec().mountpoint == "/srv");

    config::IpSpec ip;
    ip.address = {AF_INET, "192.0.2.8", 24};
    ip.interface = "eth0";
    auto i = make_resource(with(config::ResourceKind::Ip, ip));
    auto* ipr = dynamic_cast<net::ip::IpResource*>(i.get());
    REQUIRE(ipr);
    CHECK(ipr->spec().interface == "eth0");

    config::ExecSpec ex;
    ex.start = {"/bin/true"};
    auto e = make_resource(with(config::ResourceKind::Exec, ex));
    auto* exr = dynamic_cast<exec::ExecResource*>(e.get());
    REQUIRE(exr);
    CHECK(exr->spec().start == std::vector<std::string>{"/bin/true"});
}

TEST_CASE("the factory builds lvm and service resources from their specs") {
    config::LvmSpec lvm;
    lvm.vg = "vg_repo";
    auto l = make_resource(with(config::ResourceKind::Lvm, lvm));
    REQUIRE(dynamic_cast<storage::lvm::LvmResource*>(l.get()));

    config::ServiceSpec svc;
    svc.unit = "veeamtransport.service";
    auto s = make_resource(with(config::ResourceKind::Service, svc));
    auto* sr = dynamic_cast<service::ServiceResource*>(s.get());
    REQUIRE(sr);
    CHECK(sr->spec().unit == "veeamtransport.service");
}
