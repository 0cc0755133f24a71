// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/runtime/admin_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/deadline.h"
#include "daemon/runtime/admin_server.h"

namespace veeamha::runtime {
namespace {

struct Fd {
    int fd = -1;
    ~Fd() { if (fd >= 0) ::close(fd); }
};

bool wait_for(int fd, short events, base::Deadline deadline) {
    for (;;) {
        auto left = base::remaining(deadline);
        if (left.count() == 0) return false;
        pollfd p{fd, events, 0};
        int r = ::poll(&p, 1, static_cast<int>(left.count()));
        if (r > 0) return true;
        if (r < 0 && errno != EINTR) return false;
    }
}

bool io_all(int fd, char* data, size_t size, bool writing, base::Deadline deadline, std::string& error) {
    size_t done = 0;
    while (done < size) {
        if (!wait_for(fd, writing ? POLLOUT : POLLIN, deadline)) {
            error = "the daemon did not answer in time";
            return false;
        }
        ssize_t n = writing ? ::send(fd, data + done, size - done, MSG_NOSIGNAL)
                            : ::recv(fd, data + done, size - done, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) {
            error = n == 0 ? "the daemon closed the connection" : std::string(std::strerror(errno));
            return false;
        }
        done += static_cast<size_t>(n);
    }
    return true;
}

}  // namespace

bool admin_call(const std::string& path, const wire::AdminRequest& request,
                wire::AdminResponse& response, std::chrono::milliseconds timeout, std::string& error,
                bool* not_running) {
    if (not_running) *not_running = false;
    base::Deadline deadline = base::Clock::now() + timeout;
    Fd s;
    s.fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s.fd < 0) {
        error = std::strerror(errno);
        return false;
    }
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) {
        error = "admin socket path too long: " + path;
        return false;
    }
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (::connect(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        if ((errno == ENOENT || errno == ECONNREFUSED) && not_running) *not_running = true;
        if (errno == ENOENT || errno == ECONNREFUSED)
            error = "veeam-had is not running on this node (no daemon at " + path +
                    "); start it with `systemctl start veeam-had`";
        else if (errno == EACCES || errno == EPERM)
            error = "permission denied on " + path + ": run veeam-hactl as root";
        else
            error = "cannot connect to " + path + ": " + std::strerror(errno);
        return false;
    }
    std::string body = request.SerializeAsString();
    std::string frame(4, '\0');
    uint32_t n = static_cast<uint32_t>(body.size());
    frame[0] = char(n >> 24); frame[1] = char(n >> 16); frame[2] = char(n >> 8); frame[3] = char(n);
    frame += body;
    if (!io_all(s.fd, frame.data(), frame.size(), true, deadline, error)) return false;
    unsigned char header[4];
    if (!io_all(s.fd, reinterpret_cast<char*>(header), 4, false, deadline, error)) return false;
    uint32_t len = (uint32_t(header[0]) << 24) | (uint32_t(header[1]) << 16) |
                   (uint32_t(header[2]) << 8) | uint32_t(header[3]);
    if (len > kMaxAdminFrame) {
        error = "the daemon's answer is too large (" + std::to_string(len) + " bytes)";
        return false;
    }
    std::string answer(len, '\0');
    if (!io_all(s.fd, answer.data(), len, false, deadline, error)) return false;
    if (!response.ParseFromString(answer)) {
        error = "the daemon's answer is not an AdminResponse (versions differ?)";
        return false;
    }
    return true;
}

}  // namespace veeamha::runtime
