// SPDX-License-Identifier: GPL-2.0-or-later
#include "net/identity.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>

namespace veeamha::net {
namespace {

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

}  // namespace

uint64_t random_u64() {
    uint64_t v = 0;
    while (v == 0) {
        if (RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v) != 1)
            throw std::runtime_error("cannot draw random bytes (OpenSSL RAND_bytes)");
    }
    return v;
}

Identity start_identity(const std::string& state_dir) {
    const std::string path = state_dir + "/net-generation";
    uint64_t previous = 0;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        char buf[32] = {};
        ssize_t r = ::read(fd, buf, sizeof buf - 1);
        ::close(fd);
        if (r > 0) previous = std::strtoull(buf, nullptr, 10);  // garbage reads as 0: clock floor
    } else if (errno != ENOENT) {
        fail("cannot read " + path);
    }
    auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    Identity id;
    id.generation = std::max<uint64_t>(previous + 1, static_cast<uint64_t>(now_us > 0 ? now_us : 0));
    id.incarnation = random_u64();

    const std::string tmp = path + ".tmp";
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) fail("cannot write " + tmp);
    std::string text = std::to_string(id.generation) + "\n";
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
              ::fsync(fd) == 0;
    int e = errno;
    ::close(fd);
    errno = e;
    if (!ok) fail("cannot write " + tmp);
    if (::rename(tmp.c_str(), path.c_str()) != 0) fail("cannot rename " + tmp + " to " + path);
    int dfd = ::open(state_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) fail("cannot open " + state_dir);
    bool synced = ::fsync(dfd) == 0;
    e = errno;
    ::close(dfd);
    errno = e;
    if (!synced) fail("cannot fsync " + state_dir);
    return id;
}

}  // namespace veeamha::net
