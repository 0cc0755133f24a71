// SPDX-License-Identifier: GPL-2.0-or-later
// Whole reads and writes on a descriptor, retried on EINTR and short counts: the loops every
// small file of the daemon (state, keys, drop-ins) needs.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstddef>
#include <string>

namespace veeamha::base {

// Writes all `size` bytes; false on an error (errno says which).
inline bool write_all(int fd, const void* data, size_t size) {
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
        ssize_t n = ::write(fd, p, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        size -= static_cast<size_t>(n);
    }
    return true;
}

inline bool write_all(int fd, const std::string& data) { return write_all(fd, data.data(), data.size()); }

// Appends what the descriptor holds to `out`, at most `limit` + 1 bytes (so that the caller can
// tell a file over its limit). 0, or the errno of a failed read.
inline int read_bounded(int fd, size_t limit, std::string& out) {
    char buf[65536];
    size_t got = 0;
    while (got <= limit) {
        size_t want = std::min(sizeof buf, limit + 1 - got);
        ssize_t n = ::read(fd, buf, want);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno;
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
        got += static_cast<size_t>(n);
    }
    return 0;
}

}  // namespace veeamha::base
