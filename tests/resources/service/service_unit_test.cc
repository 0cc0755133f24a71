// SPDX-License-Identifier: GPL-2.0-or-later
// ServiceResource without systemd: an address where nothing listens fails at once with the
// address named; a bus that accepts the connection and never answers is abandoned at the
// deadline (every sd-bus step is bounded), and the next operation tries again. The shutdown
// order drop-in's file handling (unit_order.h); its effect is tested against systemd in
// service_nspawn_test.cc.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>

#include "daemon/resources/service/service_resource.h"
#include "daemon/resources/service/unit_order.h"
#include "tests/common/read_file.h"

using namespace veeamha;
using namespace veeamha::resources::service;
using namespace std::chrono_literals;

namespace {

base::OpContext ctx(std::chrono::milliseconds budget) {
    base::OpContext c;
    c.deadline = base::Clock::now() + budget;
    return c;
}

// A unix socket that is listening but never accepts or speaks: a hung dbus-daemon.
struct SilentBus {
    std::string path = "/tmp/veeamha-silent-bus-" + std::to_string(::getpid()) + ".sock";
    int fd = -1;
    SilentBus() {
        ::unlink(path.c_str());
        fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(::listen(fd, 8) == 0);
    }
    ~SilentBus() {
        ::close(fd);
        ::unlink(path.c_str());
    }
};

}  // namespace

TEST_CASE("no bus at the address: failed at once, the address named") {
    std::string address = "unix:path=/tmp/veeamha-no-bus-" + std::to_string(::getpid());
    ServiceResource svc(config::ServiceSpec{"x.service"}, ServiceOptions::on_bus(address));
    auto t0 = base::Clock::now();
    base::OpResult r = svc.monitor(ctx(5s));
    INFO(r.reason);
    CHECK(r.outcome == base::Outcome::Failed);
    CHECK_THAT(r.reason, Catch::Contains("cannot connect to " + address));
    CHECK(base::Clock::now() - t0 < 3s);
}

TEST_CASE("a bus that never answers: each operation ends at its deadline") {
    SilentBus bus;
    ServiceResource svc(config::ServiceSpec{"x.service"},
                            ServiceOptions::on_bus("unix:path=" + bus.path));
    for (auto op : {"start", "stop", "monitor"}) {
        auto t0 = base::Clock::now();
        base::OpContext c = ctx(700ms);
        base::OpResult r = std::string(op) == "start"  ? svc.start(c)
                     : std::string(op) == "stop" ? svc.stop(c)
                                                 : svc.monitor(c);
        auto took = base::Clock::now() - t0;
        INFO(op << ": " << r.reason);
        CHECK(r.outcome == base::Outcome::TimedOut);
        CHECK(took >= 650ms);
        CHECK(took < 5s);  // generous upper bound on a 0.7 s deadline
    }
}

TEST_CASE("an operation with no time left does not touch the bus") {
    SilentBus bus;
    ServiceResource svc(config::ServiceSpec{"x.service"},
                            ServiceOptions::on_bus("unix:path=" + bus.path));
    base::OpResult r = svc.start(ctx(0ms));
    INFO(r.reason);
    CHECK(r.outcome == base::Outcome::TimedOut);
}

TEST_CASE("order drop-in: written once, rewritten when it differs, a clear error where it cannot be") {
    char tmpl[] = "/tmp/veeamha-unit-dir-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    const std::string dir = tmpl;
    const std::string path = order_dropin_path(dir, "vt.service");
    CHECK(path == dir + "/vt.service.d/50-veeam-had-order.conf");
    std::string error;

    const mode_t old_umask = ::umask(077);  // the daemon's (the unit's UMask=0077)
    CHECK(ensure_order_dropin(dir, "vt.service", "veeam-had.service", error) == DropinWrite::Written);
    ::umask(old_umask);
    std::string text = test::slurp(path);
    CHECK_THAT(text, Catch::Contains("[Unit]\nBefore=veeam-had.service\n"));
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0644);
    REQUIRE(::stat((dir + "/vt.service.d").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0755);
    CHECK(ensure_order_dropin(dir, "vt.service", "veeam-had.service", error) == DropinWrite::Unchanged);

    // Another unit name for the daemon, or an admin's edit: made right again.
    CHECK(ensure_order_dropin(dir, "vt.service", "had2.service", error) == DropinWrite::Written);
    CHECK_THAT(test::slurp(path), Catch::Contains("Before=had2.service\n") && !Catch::Contains("veeam-had.service"));
    CHECK(::access((path + ".tmp").c_str(), F_OK) != 0);

    // Nowhere to write: failed, the path and the reason named.
    const std::string missing = dir + "/no/such/dir";
    CHECK(ensure_order_dropin(missing, "vt.service", "veeam-had.service", error) == DropinWrite::Failed);
    CHECK_THAT(error, Catch::Contains(missing + "/vt.service.d") && Catch::Contains("No such file"));

    ::unlink(path.c_str());
    ::rmdir((dir + "/vt.service.d").c_str());
    ::rmdir(dir.c_str());
}
