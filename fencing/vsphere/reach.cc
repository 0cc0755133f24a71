// SPDX-License-Identifier: GPL-2.0-or-later
#include "fencing/vsphere/reach.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <memory>
#include <string>

namespace veeamha::fencing::vsphere {

namespace {

constexpr auto kAttempt = std::chrono::seconds(1);

enum class Probe { Answered, Silent, Broken };

Probe probe_once(const addrinfo& a, base::Deadline attempt_end) {
    int fd = ::socket(a.ai_family, a.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a.ai_protocol);
    if (fd < 0) return Probe::Broken;
    std::unique_ptr<int, void (*)(int*)> closer(&fd, [](int* f) { ::close(*f); });
    if (::connect(fd, a.ai_addr, a.ai_addrlen) == 0) return Probe::Answered;
    if (errno != EINPROGRESS) return errno == ECONNREFUSED ? Probe::Answered : Probe::Broken;
    for (;;) {
        pollfd p{fd, POLLOUT, 0};
        int left = static_cast<int>(base::remaining(attempt_end).count());
        int pr = ::poll(&p, 1, left);
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) return pr == 0 ? Probe::Silent : Probe::Broken;
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        // Connected or refused: the host answers. Unreachable (an ICMP error) is an answer too:
        // the real connect reports it.
        return Probe::Answered;
    }
}

}  // namespace

bool wait_until_answering(const char* host, int port, base::Deadline until) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* list = nullptr;
    std::string service = std::to_string(port);
    if (::getaddrinfo(host, service.c_str(), &hints, &list) != 0 || !list) return true;
    std::unique_ptr<addrinfo, void (*)(addrinfo*)> owner(list, ::freeaddrinfo);
    // Bounded by `until`: one attempt a second.
    while (!base::expired(until)) {
        switch (probe_once(*list, std::min(until, base::Clock::now() + kAttempt))) {
            case Probe::Answered:
            case Probe::Broken: return true;
            case Probe::Silent: break;
        }
    }
    return false;
}

}  // namespace veeamha::fencing::vsphere
