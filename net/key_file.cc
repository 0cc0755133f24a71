// SPDX-License-Identifier: GPL-2.0-or-later
#include "net/key_file.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace veeamha::net {
namespace {

struct Fd {
    int fd = -1;
    ~Fd() { if (fd >= 0) ::close(fd); }
};

std::string errno_text(int e) { return std::strerror(e); }

std::string mode_text(mode_t m) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
    return buf;
}

}  // namespace

SecretKey load_key_file(const std::string& path) {
    Fd f;
    // O_NOFOLLOW: a symlink could point the daemon at a file someone else controls.
    f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    if (f.fd < 0) {
        int e = errno;
        if (e == ENOENT)
            throw KeyFileError("cluster key " + path +
                               " does not exist: create it with `veeam-hactl keygen` and copy it "
                               "to the peer (mode 0600)");
        if (e == ELOOP)
            throw KeyFileError("cluster key " + path + " is a symbolic link: use a regular file");
        throw KeyFileError("cluster key " + path + ": cannot open: " + errno_text(e));
    }
    struct stat st{};
    if (::fstat(f.fd, &st) != 0)
        throw KeyFileError("cluster key " + path + ": cannot stat: " + errno_text(errno));
    if (!S_ISREG(st.st_mode))
        throw KeyFileError("cluster key " + path + " is not a regular file");
    if (st.st_uid != ::geteuid())
        throw KeyFileError("cluster key " + path + " is owned by uid " + std::to_string(st.st_uid) +
                           ", not by the daemon's uid " + std::to_string(::geteuid()) +
                           ": run `chown " + std::to_string(::geteuid()) + " " + path + "`");
    if ((st.st_mode & 077) != 0)
        throw KeyFileError("cluster key " + path + " has mode " + mode_text(st.st_mode) +
                           " (readable by others): run `chmod 600 " + path + "`");
    if (st.st_size != static_cast<off_t>(kKeySize))
        throw KeyFileError("cluster key " + path + " has " + std::to_string(st.st_size) +
                           " bytes, expected exactly " + std::to_string(kKeySize) +
                           " (create one with `veeam-hactl keygen`)");
    std::array<uint8_t, kKeySize> buf{};
    size_t got = 0;
    while (got < kKeySize) {
        ssize_t r = ::read(f.fd, buf.data() + got, kKeySize - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            OPENSSL_cleanse(buf.data(), buf.size());
            throw KeyFileError("cluster key " + path + ": short read");
        }
        got += static_cast<size_t>(r);
    }
    SecretKey key(buf);
    OPENSSL_cleanse(buf.data(), buf.size());
    return key;
}


}  // namespace veeamha::net
