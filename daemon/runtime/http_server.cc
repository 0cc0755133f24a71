// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/runtime/http_server.h"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <array>
#include <stdexcept>
#include <string_view>

namespace veeamha::runtime {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr size_t kMaxConnections = 16;
constexpr auto kRequestTimeout = std::chrono::seconds(5);
// After an error answer, what the client still sends (the rest of a body, of a header) is read
// and dropped for at most this long before the socket closes: closing with unread data makes
// the kernel send a reset, which may make the client's stack drop the answer before the client
// has read it (RFC 9112 §9.6, "lingering close"). Linux and curl on loopback happen to keep it.
constexpr auto kDrainTime = std::chrono::seconds(1);

std::string too_long(const char* what, size_t limit) {
    return std::string(what) + " is longer than the limit of " + std::to_string(limit) + " bytes\n";
}

class HttpSession : public std::enable_shared_from_this<HttpSession> {
public:
    HttpSession(tcp::socket socket, std::shared_ptr<HttpServer::Handlers> handlers,
                std::shared_ptr<size_t> open)
        : stream_(std::move(socket)), handlers_(std::move(handlers)), open_(std::move(open)) {
        ++*open_;
    }
    ~HttpSession() { --*open_; }

    void start() {
        parser_.header_limit(HttpServer::kHeaderLimit);
        parser_.body_limit(HttpServer::kBodyLimit);
        stream_.expires_after(kRequestTimeout);
        http::async_read(stream_, buffer_, parser_,
                         [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
    }

private:
    void on_read(beast::error_code ec) {
        if (!ec) {
            answer_request();
            return;
        }
        // A client that closed or went silent gets nothing (a timeout has closed the socket).
        if (ec == http::error::end_of_stream || ec.category() != http::make_error_code(http::error::body_limit).category())
            return;
        const auto& req = parser_.get();
        if (req.target().size() > HttpServer::kTargetLimit) {
            error(http::status::uri_too_long, too_long("the URI", HttpServer::kTargetLimit));
        } else if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
            // Over the header limit: 414 if that was still the request line (the parser sets
            // the method and target once it has read the line whole), 431 if the fields after it.
            if (req.target().empty())
                error(http::status::uri_too_long, too_long("the request line", HttpServer::kHeaderLimit));
            else
                error(http::status::request_header_fields_too_large, too_long("the header", HttpServer::kHeaderLimit));
        } else if (ec == http::error::body_limit) {
            error(http::status::payload_too_large, too_long("the body", HttpServer::kBodyLimit));
        } else {
            error(http::status::bad_request, "malformed request: " + ec.message() + "\n");
        }
    }

    void answer_request() {
        const auto& req = parser_.get();
        std::string_view target(req.target().data(), req.target().size());
        if (target.size() > HttpServer::kTargetLimit) {
            error(http::status::uri_too_long, too_long("the URI", HttpServer::kTargetLimit));
            return;
        }
        std::string_view path = target.substr(0, target.find('?'));  // the query is ignored
        const bool head = req.method() == http::verb::head;
        res_.version(req.version());
        res_.result(http::status::ok);
        if (req.method() != http::verb::get && !head) {
            res_.result(http::status::method_not_allowed);
            res_.set(http::field::allow, "GET, HEAD");
            res_.body() = "only GET and HEAD\n";
        } else if (path == "/status") {
            res_.set(http::field::content_type, "application/json");
            res_.body() = handlers_->status_json();
        } else if (path == "/metrics") {
            res_.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
            res_.body() = handlers_->metrics_text();
        } else if (path == "/healthz") {
            // This handler runs on the daemon's one event loop, the thread the engine runs on
            // (docs/design.md §2): that it answers at all proves the loop turns. A loop stuck in
            // a handler answers nothing, and the client's timeout says so.
            std::string problem = handlers_->health();
            if (!problem.empty()) res_.result(http::status::service_unavailable);
            res_.body() = problem.empty() ? "ok\n" : problem + "\n";
        } else {
            res_.result(http::status::not_found);
            res_.body() = "not found: try /status, /metrics or /healthz\n";
        }
        if (!res_.count(http::field::content_type)) res_.set(http::field::content_type, "text/plain; charset=utf-8");
        write(head, false);
    }

    void error(http::status status, std::string text) {
        res_.version(11);
        res_.result(status);
        res_.set(http::field::content_type, "text/plain; charset=utf-8");
        res_.body() = std::move(text);
        write(false, true);
    }

    // HEAD gets the header GET would (its Content-Length too) and no body.
    void write(bool header_only, bool then_drain) {
        res_.set(http::field::server, "veeam-had");
        res_.keep_alive(false);
        res_.prepare_payload();
        stream_.expires_after(kRequestTimeout);
        auto done = [self = shared_from_this(), then_drain](beast::error_code ec, size_t) {
            beast::error_code ignored;
            self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
            if (!ec && then_drain) {
                self->stream_.expires_after(kDrainTime);
                self->drain();
            }
        };
        if (header_only) http::async_write_header(stream_, serializer_, std::move(done));
        else http::async_write(stream_, serializer_, std::move(done));
    }

    void drain() {
        stream_.async_read_some(asio::buffer(scratch_), [self = shared_from_this()](beast::error_code ec, size_t) {
            if (!ec) self->drain();  // until the client closes or kDrainTime is over
        });
    }

    beast::tcp_stream stream_;
    // Room for a whole header at its limit, so that the parser says header_limit (answered
    // with 414 or 431) rather than the buffer overflowing.
    beast::flat_buffer buffer_{HttpServer::kHeaderLimit + 1024};
    http::request_parser<http::string_body> parser_;
    http::response<http::string_body> res_;
    http::response_serializer<http::string_body> serializer_{res_};
    std::array<char, 4096> scratch_{};
    std::shared_ptr<HttpServer::Handlers> handlers_;
    std::shared_ptr<size_t> open_;
};

}  // namespace

HttpServer::HttpServer(asio::io_context& io, std::string host, uint16_t port, Handlers handlers)
    : host_(std::move(host)), port_(port),
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
