// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/runtime/http_server.h"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <stdexcept>

namespace veeamha::runtime {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr size_t kMaxConnections = 16;

class HttpSession : public std::enable_shared_from_this<HttpSession> {
public:
    HttpSession(tcp::socket socket, std::shared_ptr<HttpServer::Handlers> handlers,
                std::shared_ptr<size_t> open)
        : stream_(std::move(socket)), handlers_(std::move(handlers)), open_(std::move(open)) {
        ++*open_;
    }
    ~HttpSession() { --*open_; }

    void start() {
        parser_.body_limit(4096);
        stream_.expires_after(std::chrono::seconds(5));
        http::async_read(stream_, buffer_, parser_,
                         [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
    }

private:
    void on_read(beast::error_code ec) {
        if (ec) return;
        const auto& req = parser_.get();
        auto res = std::make_shared<http::response<http::string_body>>();
        res->version(req.version());
        res->set(http::field::server, "veeam-had");
        res->keep_alive(false);
        std::string target(req.target());
        if (req.method() != http::verb::get) {
            res->result(http::status::method_not_allowed);
            res->set(http::field::allow, "GET");
            res->body() = "only GET\n";
        } else if (target == "/status") {
            res->result(http::status::ok);
            res->set(http::field::content_type, "application/json");
            res->body() = handlers_->status_json();
        } else if (target == "/metrics") {
            res->result(http::status::ok);
            res->set(http::field::content_type, "text/plain; version=0.0.4");
            res->body() = handlers_->metrics_text();
        } else {
            res->result(http::status::not_found);
            res->body() = "not found: try /status or /metrics\n";
        }
        res->prepare_payload();
        stream_.expires_after(std::chrono::seconds(5));
        http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code, size_t) {
            beast::error_code ignored;
            self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        });
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_{8192};
    http::request_parser<http::string_body> parser_;
    std::shared_ptr<HttpServer::Handlers> handlers_;
    std::shared_ptr<size_t> open_;
};

}  // namespace

HttpServer::HttpServer(asio::io_context& io, std::string host, uint16_t port, Handlers handlers)
    : io_(io), host_(std::move(host)), port_(port),
      handlers_(std::make_shared<Handlers>(std::move(handlers))), acceptor_(io) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start() {
    beast::error_code ec;
    auto address = asio::ip::make_address(host_, ec);
    tcp::endpoint ep(address, port_);
    if (!ec) acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
        throw std::runtime_error("cluster.http_listen " + host_ + ":" + std::to_string(port_) +
                                 ": " + ec.message());
    port_ = acceptor_.local_endpoint().port();
    accept();
}

void HttpServer::stop() {
    beast::error_code ec;
    if (acceptor_.is_open()) acceptor_.close(ec);
}

uint16_t HttpServer::port() const { return port_; }

void HttpServer::accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted) return;
        if (!ec) {
            if (*open_ < kMaxConnections)
                std::make_shared<HttpSession>(std::move(socket), handlers_, open_)->start();
            // else: dropped; a scraper retries
        }
        if (acceptor_.is_open()) accept();
    });
}

}  // namespace veeamha::runtime
