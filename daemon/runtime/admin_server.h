// SPDX-License-Identifier: GPL-2.0-or-later
// The local admin API: a Unix stream socket (cluster.admin_socket, mode 0600 in a 0700 folder)
// that only root may use (checked with SO_PEERCRED on every connection). One request per
// connection: a 4-byte big-endian length and a protobuf AdminRequest; the answer is framed the
// same way with an AdminResponse. veeam-hactl is the client (admin_client.h).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <functional>
#include <memory>
#include <string>

#include "proto/veeamha.pb.h"

namespace veeamha::runtime {

inline constexpr size_t kMaxAdminFrame = 1u << 20;

class AdminServer {
public:
    using Reply = std::function<void(const wire::AdminResponse&)>;
    // Called on the io thread; answer through `reply` (now or later, at most once).
    using Handler = std::function<void(const wire::AdminRequest&, Reply reply)>;

    AdminServer(boost::asio::io_context& io, std::string path, Handler handler);
    ~AdminServer();

    // Creates the folder (0700), replaces a stale socket file, binds, listens. Throws
    // std::runtime_error naming the path on failure (startup only).
    void start();
    void stop();

private:
    void accept();

    boost::asio::io_context& io_;
    std::string path_;
    Handler handler_;
    boost::asio::local::stream_protocol::acceptor acceptor_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace veeamha::runtime
