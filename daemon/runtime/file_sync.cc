// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/runtime/file_sync.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace veeamha::runtime {
namespace {

std::string sha256(const std::string& data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
    return std::string(reinterpret_cast<char*>(md), len);
}

bool read_file(const std::string& path, std::string& out, mode_t& mode, std::string& error) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        error = path + ": " + std::strerror(errno);
        return false;
    }
    struct stat st{};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > static_cast<off_t>(kMaxSyncFile)) {
        error = path + ": not a regular file of at most 1 MiB";
        ::close(fd);
        return false;
    }
    mode = st.st_mode & 07777;
    out.clear();
    char buf[65536];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0 && out.size() <= kMaxSyncFile) out.append(buf, size_t(n));
    ::close(fd);
    if (n < 0 || out.size() > kMaxSyncFile) {
        error = path + ": cannot read it whole";
        return false;
    }
    return true;
}

}  // namespace

std::vector<wire::FileSync> FileSync::changed(std::vector<std::string>& problems) {
    std::vector<wire::FileSync> out;
    for (const auto& path : paths_) {
        std::string data, error;
        mode_t mode = 0;
        if (!read_file(path, data, mode, error)) {
            if (sent_[path] != error) problems.push_back("sync: " + error);
            sent_[path] = error;
            results_[path] = false;
            continue;
        }
        results_[path] = true;
        std::string digest = sha256(data) + std::to_string(mode);
        if (sent_[path] == digest) continue;
        sent_[path] = digest;
        wire::FileSync f;
        f.set_path(path);
        f.set_content(data);
        f.set_mode(mode);
        f.set_sha256(sha256(data));
        out.push_back(std::move(f));
    }
    return out;
}

std::string FileSync::apply(const wire::FileSync& f) {
    if (std::find(paths_.begin(), paths_.end(), f.path()) == paths_.end())
        return f.path() + " is not in this node's sync list: ignored";
    std::string problem = write(f);
    results_[f.path()] = problem.empty();
    return problem;
}

std::string FileSync::write(const wire::FileSync& f) const {
    if (f.content().size() > kMaxSyncFile || sha256(f.content()) != f.sha256())
        return f.path() + ": damaged or too large: ignored";
    std::string current, error;
    mode_t mode = 0;
    if (read_file(f.path(), current, mode, error) && current == f.content() && mode == (f.mode() & 07777))
        return {};  // already the same
    std::string tmp = f.path() + ".veeam-ha-sync";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return tmp + ": " + std::strerror(errno);
    size_t done = 0;
    bool ok = true;
    while (ok && done < f.content().size()) {
        ssize_t n = ::write(fd, f.content().data() + done, f.content().size() - done);
        ok = n > 0;
        if (ok) done += size_t(n);
    }
    ok = ok && ::fchmod(fd, f.mode() & 07777) == 0 && ::fsync(fd) == 0;
    ok = (::close(fd) == 0) && ok;
    if (!ok || ::rename(tmp.c_str(), f.path().c_str()) != 0) {
        std::string why = std::strerror(errno);
        ::unlink(tmp.c_str());
        return f.path() + ": cannot write: " + why;
    }
    return {};
}

}  // namespace veeamha::runtime
