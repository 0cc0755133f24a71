// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/lab/repo_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace veeamha::lab {

namespace {
constexpr size_t kMaxLine = 512;
}

bool RepoConnection::fail(const std::string& what) {
    error_ = what;
    close();
    return false;
}

void RepoConnection::close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    buffer_.clear();
}

bool RepoConnection::wait(short events, Deadline deadline) {
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd_, events, 0};
        int r = ::poll(&p, 1, static_cast<int>(left.count()));
        if (r > 0) return true;
        if (r < 0 && errno != EINTR) return false;
    }
}

bool RepoConnection::connect(const std::string& address, uint16_t port, Deadline deadline) {
    close();
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    if (::inet_pton(AF_INET, address.c_str(), &a.sin_addr) != 1) return fail("bad address " + address);
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return fail(std::string("socket: ") + std::strerror(errno));
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        if (errno != EINPROGRESS) return fail(std::string("connect: ") + std::strerror(errno));
        if (!wait(POLLOUT, deadline)) return fail("connect: timed out");
        int e = 0;
        socklen_t len = sizeof e;
        ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &e, &len);
        if (e != 0) return fail(std::string("connect: ") + std::strerror(e));
    }
    return true;
}

bool RepoConnection::send_all(const std::string& data, Deadline deadline) {
    size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (n > 0) {
            done += static_cast<size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!wait(POLLOUT, deadline)) return fail("send: timed out");
            continue;
        }
        return fail(std::string("send: ") + std::strerror(errno));
    }
    return true;
}

bool RepoConnection::read_line(std::string& line, Deadline deadline) {
    for (;;) {
        size_t nl = buffer_.find('\n');
        if (nl != std::string::npos) {
            line = buffer_.substr(0, nl);
            buffer_.erase(0, nl + 1);
            return true;
        }
        if (buffer_.size() > kMaxLine) return fail("reply line too long");
        char buf[4096];
        ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n > 0) {
            buffer_.append(buf, static_cast<size_t>(n));
            continue;
        }
        if (n == 0) return fail("connection closed by the server");
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (!wait(POLLIN, deadline)) return fail("no reply in time");
            continue;
        }
        return fail(std::string("recv: ") + std::strerror(errno));
    }
}

bool RepoConnection::read_exact(size_t n, std::string& out, Deadline deadline) {
    out = buffer_.substr(0, std::min(n, buffer_.size()));
    buffer_.erase(0, out.size());
    while (out.size() < n) {
        char buf[65536];
        ssize_t r = ::recv(fd_, buf, std::min(sizeof buf, n - out.size()), 0);
        if (r > 0) {
            out.append(buf, static_cast<size_t>(r));
            continue;
        }
        if (r == 0) return fail("connection closed in the middle of the data");
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (!wait(POLLIN, deadline)) return fail("data did not arrive in time");
            continue;
        }
        return fail(std::string("recv: ") + std::strerror(errno));
    }
    return true;
}

bool RepoConnection::ping(Deadline deadline) {
    std::string line;
    if (!send_all("PING\n", deadline) || !read_line(line, deadline)) return false;
    return line == "PONG" || fail("unexpected reply to PING: " + line);
}

std::optional<uint64_t> RepoConnection::append(const std::string& name, const std::string& data, Deadline deadline) {
    if (data.size() > kMaxAppend) {
        fail("append larger than 1 MiB");
        return std::nullopt;
    }
    std::string line;
    if (!send_all("APPEND " + name + " " + std::to_string(data.size()) + "\n" + data, deadline) ||
        !read_line(line, deadline))
        return std::nullopt;
    if (line.rfind("OK ", 0) != 0) {
        fail("server: " + line);
        return std::nullopt;
    }
    return std::strtoull(line.c_str() + 3, nullptr, 10);
}

std::optional<std::string> RepoConnection::get(const std::string& name, Deadline deadline) {
    std::string line;
    if (!send_all("GET " + name + "\n", deadline) || !read_line(line, deadline)) return std::nullopt;
    if (line.rfind("OK ", 0) != 0) {
        fail("server: " + line);
        return std::nullopt;
    }
    uint64_t size = std::strtoull(line.c_str() + 3, nullptr, 10);
    if (size > kMaxGet) {
        fail("file larger than the limit");
        return std::nullopt;
    }
    std::string data;
    if (!read_exact(static_cast<size_t>(size), data, deadline)) return std::nullopt;
    return data;
}

}  // namespace veeamha::lab
