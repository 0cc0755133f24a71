// SPDX-License-Identifier: GPL-2.0-or-later
#include <catch2/catch.hpp>

#include "daemon/resources/exec_resource.h"
#include "daemon/resources/factory.h"

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

TEST_CASE("the factory builds filesystem, ip and exec resources from their specs") {
    config::FilesystemSpec fs;
    fs.device = "/dev/vg/lv";
    fs.mountpoint = "/srv";
    auto f = make_resource(with(config::ResourceKind::Filesystem, fs));
    auto* fsr = dynamic_cast<storage::FilesystemResource*>(f.get());
    REQUIRE(fsr);
    CHECK(fsr->spec().mountpoint == "/srv");

    config::IpSpec ip;
    ip.address = {AF_INET, "192.0.2.8", 24};
    ip.interface = "eth0";
    auto i = make_resource(with(config::ResourceKind::Ip, ip));
    auto* ipr = dynamic_cast<ip::IpResource*>(i.get());
    REQUIRE(ipr);
    CHECK(ipr->spec().interface == "eth0");

    config::ExecSpec ex;
    ex.start = {"/bin/true"};
    auto e = make_resource(with(config::ResourceKind::Exec, ex));
    auto* exr = dynamic_cast<ExecResource*>(e.get());
    REQUIRE(exr);
    CHECK(exr->spec().start == std::vector<std::string>{"/bin/true"});
}

TEST_CASE("kinds not built into this binary fail every operation, saying so") {
    OpContext ctx;
    ctx.deadline = Clock::now() + std::chrono::seconds(1);
    config::LvmSpec lvm;
    lvm.vg = "vg_repo";
    config::ServiceSpec svc;
    svc.unit = "veeamtransport.service";
    for (auto& [kind, spec] : std::vector<std::pair<config::ResourceKind, decltype(config::Resource::spec)>>{
             {config::ResourceKind::Lvm, lvm}, {config::ResourceKind::Service, svc}}) {
        auto r = make_resource(with(kind, spec));
        REQUIRE(r);
        if (kind_built_in(kind)) {
            CHECK(dynamic_cast<UnavailableResource*>(r.get()) == nullptr);
            continue;
        }
        REQUIRE(dynamic_cast<UnavailableResource*>(r.get()));
        std::string expected = std::string("resource kind ") + kind_name(kind) + " not built in this binary";
        for (const OpResult& res : {r->start(ctx), r->stop(ctx), r->monitor(ctx)}) {
            CHECK(res.status == OpStatus::Failed);
            CHECK(res.reason == expected);
        }
    }
}
