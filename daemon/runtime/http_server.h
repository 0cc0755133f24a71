// SPDX-License-Identifier: GPL-2.0-or-later
// The optional local HTTP endpoint (cluster.http_listen): GET /status (the JSON of
// `veeam-hactl status --json`), GET /metrics (Prometheus text) and GET /healthz (the event loop
// turns), HEAD on each; the query string is ignored. Boost.Beast on the daemon's io_context; a
// bounded number of connections, each with a deadline; requests over the limits below get their
// status (400 malformed, 413 body, 414 URI, 431 headers) before the connection closes.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <string>

namespace veeamha::runtime {

class HttpServer {
public:
    // Limits of one request. The request line counts in the header limit too: a target over
    // kTargetLimit gets 414 whether the line fits in the header limit or not.
    static constexpr size_t kTargetLimit = 2048;
    static constexpr size_t kHeaderLimit = 8192;
    static constexpr size_t kBodyLimit = 1024;  // nothing served takes a body

    struct Handlers {
        std::function<std::string()> status_json;
        std::function<std::string()> metrics_text;
        // "" when the daemon is alive (200), else why not (503: it is shutting down).
        std::function<std::string()> health;
    };

    HttpServer(boost::asio::io_context& io, std::string host, uint16_t port, Handlers handlers);
    ~HttpServer();
    // Throws std::runtime_error naming the address when it cannot listen (startup only).
    void start();
    void stop();
    uint16_t port() const;

private:
    void accept();

    std::string host_;
    uint16_t port_;
    std::shared_ptr<Handlers> handlers_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::shared_ptr<size_t> open_ = std::make_shared<size_t>(0);
};

}  // namespace veeamha::runtime
