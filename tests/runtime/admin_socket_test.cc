// SPDX-License-Identifier: GPL-2.0-or-later
// The admin socket for real: a Unix socket, the server on an io_context thread, the client as
// veeam-hactl uses it.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <thread>

#include "daemon/runtime/admin_client.h"
#include "daemon/runtime/admin_server.h"
#include "tests/common/temp_dir.h"

using namespace veeamha;

namespace {

struct Loop {
    test::TempDir tmp{"veeamha-admin"};
    const std::string dir = tmp.path;
    boost::asio::io_context io;
    std::unique_ptr<runtime::AdminServer> server;
    std::thread thread;
    Loop(runtime::AdminServer::Handler h) {
        server = std::make_unique<runtime::AdminServer>(io, dir + "/run/admin.sock", std::move(h));
        server->start();
        thread = std::thread([this] {
            auto guard = boost::asio::make_work_guard(io);
            io.run();
        });
    }
    ~Loop() {
        boost::asio::post(io, [this] { server->stop(); io.stop(); });
        thread.join();
    }
    std::string path() const { return dir + "/run/admin.sock"; }
};

}  // namespace

TEST_CASE("admin socket: a request reaches the handler and its answer comes back") {
    Loop loop([](const wire::AdminRequest& req, runtime::AdminServer::Reply reply) {
        wire::AdminResponse r;
        r.set_ok(req.has_move());
        r.set_message("move to " + req.move().node());
        reply(r);
    });
    wire::AdminRequest req;
    req.mutable_move()->set_node("b");
    wire::AdminResponse resp;
    std::string error;
    REQUIRE(runtime::admin_call(loop.path(), req, resp, std::chrono::seconds(2), error));
    CHECK(resp.ok());
    CHECK(resp.message() == "move to b");
    struct stat st{};
    REQUIRE(::stat(loop.path().c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    REQUIRE(::stat((loop.dir + "/run").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);  // the folder it created
}

TEST_CASE("admin socket: an existing folder (like /run) keeps its mode") {
    test::TempDir shared{"veeamha-admin-shared"};
    REQUIRE(::chmod(shared.path.c_str(), 0755) == 0);
    boost::asio::io_context io;
    runtime::AdminServer server(io, shared / "admin.sock",
                                [](const wire::AdminRequest&, runtime::AdminServer::Reply) {});
    server.start();
    struct stat st{};
    REQUIRE(::stat(shared.path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0755);
    server.stop();
}

TEST_CASE("admin socket: an answer given later (forwarded to the peer) still arrives") {
    boost::asio::io_context* io = nullptr;
    Loop loop([&io](const wire::AdminRequest&, runtime::AdminServer::Reply reply) {
        auto t = std::make_shared<boost::asio::steady_timer>(*io, std::chrono::milliseconds(100));
        t->async_wait([t, reply](const boost::system::error_code&) {
            wire::AdminResponse r;
            r.set_ok(true);
            r.set_message("answered by the peer");
            reply(r);
        });
    });
    io = &loop.io;
    wire::AdminRequest req;
    req.mutable_standby()->set_node("b");
    wire::AdminResponse resp;
    std::string error;
    REQUIRE(runtime::admin_call(loop.path(), req, resp, std::chrono::seconds(2), error));
    CHECK(resp.message() == "answered by the peer");
}

TEST_CASE("admin socket: a daemon that is not running is explained") {
    wire::AdminRequest req;
    req.mutable_status();
    wire::AdminResponse resp;
    std::string error;
    CHECK_FALSE(runtime::admin_call("/tmp/veeamha-no-such/admin.sock", req, resp,
                                    std::chrono::seconds(1), error));
    CHECK(error.find("veeam-had is not running on this node") == 0);
}

TEST_CASE("admin socket: a handler that never answers makes the client time out, not hang") {
    std::vector<runtime::AdminServer::Reply> kept;  // held, never called
    Loop loop([&kept](const wire::AdminRequest&, runtime::AdminServer::Reply r) { kept.push_back(r); });
    wire::AdminRequest req;
    req.mutable_status();
    wire::AdminResponse resp;
    std::string error;
    auto t0 = std::chrono::steady_clock::now();
    CHECK_FALSE(runtime::admin_call(loop.path(), req, resp, std::chrono::milliseconds(300), error));
    CHECK(error == "the daemon did not answer in time");
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(3));
    boost::asio::post(loop.io, [&kept] { kept.clear(); });  // sessions die on their own thread
}
