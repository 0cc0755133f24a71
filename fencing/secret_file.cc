// SPDX-License-Identifier: GPL-2.0-or-later
#include "fencing/secret_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace veeamha::fencing {

namespace {
constexpr size_t kMaxSecret = 4096;

std::string octal_mode(mode_t mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
    return buf;
}
}  // namespace

void wipe(std::string& secret) {
    if (!secret.empty()) OPENSSL_cleanse(secret.data(), secret.size());
    secret.clear();
}

SecretRead read_secret_file(const std::string& path) {
    SecretRead r;
    if (path.empty()) {
        r.error = "no password file configured";
        return r;
    }
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        r.error = "cannot read password file " + path + ": " + std::strerror(errno);
        return r;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        r.error = "cannot stat password file " + path + ": " + std::strerror(errno);
        ::close(fd);
        return r;
    }
    if (!S_ISREG(st.st_mode)) {
        r.error = "password file " + path + " is not a regular file";
        ::close(fd);
        return r;
    }
    if (st.st_mode & 077) {
        r.error = "password file " + path + " is accessible by group or others (mode " +
                  octal_mode(st.st_mode) + "); run: chmod 600 " + path;
        ::close(fd);
        return r;
    }
    std::string data(kMaxSecret + 1, '\0');
    size_t got = 0;
    while (got < data.size()) {
        ssize_t n = ::read(fd, data.data() + got, data.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            r.error = "cannot read password file " + path + ": " + std::strerror(errno);
            ::close(fd);
            wipe(data);
            return r;
        }
        if (n == 0) break;
        got += static_cast<size_t>(n);
    }
    ::close(fd);
    if (got > kMaxSecret) {
        wipe(data);
        r.error = "password file " + path + " is larger than 4 KiB";
        return r;
    }
    size_t end = 0;
    while (end < got && data[end] != '\n' && data[end] != '\r') ++end;
    r.secret.assign(data.data(), end);
    wipe(data);
    if (r.secret.empty()) {
        r.error = "password file " + path + " is empty";
        return r;
    }
    r.ok = true;
    return r;
}

}  // namespace veeamha::fencing
