// SPDX-License-Identifier: GPL-2.0-or-later
// The optional local HTTP endpoint (cluster.http_listen): GET /status (the JSON of
// `veeam-hactl status --json`) and GET /metrics (Prometheus text). Boost.Beast on the daemon's
// io_context; a bounded number of connections, each with a deadline; nothing else is served.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <string>

namespace veeamha::runtime {

class HttpServer {
public:
    struct Handlers {
        std::function<std::string()> status_json;
        std::function<std::string()> metrics_text;
    };

    HttpServer(boost::asio::io_context& io, std::string host, uint16_t port, Handlers handlers);
    ~HttpServer();
    // Throws std::runtime_error naming the address when it cannot listen (startup only).
    void start();
    void stop();
    uint16_t port() const;

private:
    void accept();

    boost::asio::io_context& io_;
    std::string host_;
    uint16_t port_;
    std::shared_ptr<Handlers> handlers_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::shared_ptr<size_t> open_ = std::make_shared<size_t>(0);
};

}  // namespace veeamha::runtime
