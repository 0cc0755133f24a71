// SPDX-License-Identifier: GPL-2.0-or-later
// Client side of the repo server's line protocol (repo_server.cc), the lab's stand-in for the
// Veeam transport:
//   PING\n                      -> PONG\n
//   APPEND NAME LEN\n<LEN bytes> -> OK OFFSET\n   (written at OFFSET, then fsync'ed)
//   GET NAME\n                  -> OK LEN\n<LEN bytes>
//   errors                      -> ERR TEXT\n
// NAME: 1-64 of [A-Za-z0-9._-], not starting with '.'; LEN <= 1 MiB for APPEND.
// Every call takes a deadline; sockets are non-blocking underneath, so a host that vanished
// mid-request costs at most the deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace veeamha::lab {

inline constexpr size_t kMaxAppend = 1 << 20;
inline constexpr size_t kMaxGet = 256u << 20;

class RepoConnection {
public:
    using Deadline = std::chrono::steady_clock::time_point;
    RepoConnection() = default;
    ~RepoConnection() { close(); }
    RepoConnection(const RepoConnection&) = delete;
    RepoConnection& operator=(const RepoConnection&) = delete;

    // Connects from the calling thread's network namespace.
    bool connect(const std::string& address, uint16_t port, Deadline deadline);
    bool connected() const { return fd_ >= 0; }
    void close();

    bool ping(Deadline deadline);
    std::optional<uint64_t> append(const std::string& name, const std::string& data, Deadline deadline);
    std::optional<std::string> get(const std::string& name, Deadline deadline);

    const std::string& error() const { return error_; }

private:
    bool send_all(const std::string& data, Deadline deadline);
    bool read_line(std::string& line, Deadline deadline);
    bool read_exact(size_t n, std::string& out, Deadline deadline);
    bool wait(short events, Deadline deadline);
    bool fail(const std::string& what);

    int fd_ = -1;
    std::string buffer_;  // bytes read past the last line
    std::string error_;
};

}  // namespace veeamha::lab
