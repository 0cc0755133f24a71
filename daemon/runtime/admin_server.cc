// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/runtime/admin_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <stdexcept>

#include "base/log.h"

namespace veeamha::runtime {

namespace asio = boost::asio;
using local = asio::local::stream_protocol;

namespace {

// One admin connection; it owns itself through the handlers it has pending.
class AdminSession : public std::enable_shared_from_this<AdminSession> {
public:
    AdminSession(local::socket socket, AdminServer::Handler handler)
        : socket_(std::move(socket)), timer_(socket_.get_executor()), handler_(handler) {}

    void start() {
        ucred cred{};
        socklen_t len = sizeof cred;
        if (::getsockopt(socket_.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
            cred.uid != 0) {
            base::log::warning("admin socket: refused a connection from uid " + std::to_string(cred.uid) +
                         " (root only)");
            wire::AdminResponse r;
            r.set_ok(false);
            r.set_error("veeam-hactl must run as root");
            respond(r);
            return;
        }
        // A client that does not send its request promptly is dropped.
        timer_.expires_after(std::chrono::seconds(10));
        timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
            if (!ec) self->socket_.close();
        });
        auto self = shared_from_this();
        asio::async_read(socket_, asio::buffer(header_),
                         [self](const boost::system::error_code& ec, size_t) { self->on_header(ec); });
    }

private:
    void on_header(const boost::system::error_code& ec) {
        if (ec) return;
        uint32_t n = (uint32_t(header_[0]) << 24) | (uint32_t(header_[1]) << 16) |
                     (uint32_t(header_[2]) << 8) | uint32_t(header_[3]);
        if (n == 0 || n > kMaxAdminFrame) {
            wire::AdminResponse r;
            r.set_ok(false);
            r.set_error("request length " + std::to_string(n) + " outside 1.." +
                        std::to_string(kMaxAdminFrame));
            respond(r);
            return;
        }
        body_.resize(n);
        auto self = shared_from_this();
        asio::async_read(socket_, asio::buffer(body_),
                         [self](const boost::system::error_code& e, size_t) { self->on_body(e); });
    }

    void on_body(const boost::system::error_code& ec) {
        if (ec) return;
        timer_.cancel();
        wire::AdminRequest request;
        if (!request.ParseFromString(body_)) {
            wire::AdminResponse r;
            r.set_ok(false);
            r.set_error("the request is not an AdminRequest (veeam-hactl and veeam-had versions differ?)");
            respond(r);
            return;
        }
        auto self = shared_from_this();
        handler_(request, [self](const wire::AdminResponse& r) { self->respond(r); });
    }

    void respond(const wire::AdminResponse& response) {
        if (responded_) return;
        responded_ = true;
        std::string body = response.SerializeAsString();
        out_.resize(4 + body.size());
        uint32_t n = static_cast<uint32_t>(body.size());
        out_[0] = char(n >> 24);
        out_[1] = char(n >> 16);
        out_[2] = char(n >> 8);
        out_[3] = char(n);
        std::copy(body.begin(), body.end(), out_.begin() + 4);
        timer_.expires_after(std::chrono::seconds(10));
        auto self = shared_from_this();
        timer_.async_wait([self](const boost::system::error_code& e) {
            if (!e) self->socket_.close();
        });
        asio::async_write(socket_, asio::buffer(out_),
                          [self](const boost::system::error_code&, size_t) {
                              self->timer_.cancel();
                              boost::system::error_code ignored;
                              self->socket_.shutdown(local::socket::shutdown_both, ignored);
                              self->socket_.close(ignored);
                          });
    }

    local::socket socket_;
    asio::steady_timer timer_;
    AdminServer::Handler handler_;  // a copy: the session may outlive the server
    std::array<unsigned char, 4> header_{};
    std::string body_;
    std::string out_;
    bool responded_ = false;
};

}  // namespace

AdminServer::AdminServer(asio::io_context& io, std::string path, Handler handler)
    : io_(io), path_(std::move(path)), handler_(std::move(handler)), acceptor_(io) {}

AdminServer::~AdminServer() { stop(); }

void AdminServer::start() {
    std::string dir = path_.substr(0, path_.rfind('/'));
    if (!dir.empty()) {
        // Missing folders are created (the socket's own 0700); an existing folder keeps its
        // mode: it may be a shared one like /run. The socket itself is 0600 and every peer's
        // credentials are checked, so nothing rests on the folder's mode.
        for (size_t pos = 1; pos <= dir.size(); ++pos) {
            if (pos != dir.size() && dir[pos] != '/') continue;
            ::mkdir(dir.substr(0, pos).c_str(), pos == dir.size() ? 0700 : 0755);
        }
    }
    ::unlink(path_.c_str());  // a stale socket of a previous process
    boost::system::error_code ec;
    acceptor_.open(local(), ec);
    if (!ec) acceptor_.bind(local::endpoint(path_), ec);
    if (!ec && ::chmod(path_.c_str(), 0600) != 0) ec.assign(errno, boost::system::system_category());
    if (!ec) acceptor_.listen(16, ec);
    if (ec) throw std::runtime_error("admin socket " + path_ + ": " + ec.message());
    accept();
}

void AdminServer::stop() {
    boost::system::error_code ec;
    if (acceptor_.is_open()) {
        acceptor_.close(ec);
        ::unlink(path_.c_str());
    }
    *alive_ = false;
}

void AdminServer::accept() {
    acceptor_.async_accept([this, alive = alive_](const boost::system::error_code& ec, local::socket s) {
        if (!*alive) return;
        if (!ec) std::make_shared<AdminSession>(std::move(s), handler_)->start();
        if (acceptor_.is_open()) accept();
    });
}

}  // namespace veeamha::runtime
