// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/runtime/sync/file_ops.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <vector>

namespace veeamha::runtime::sync {
namespace {

std::string why(const std::string& what) { return what + ": " + std::strerror(errno); }

// Removes everything in the open folder `fd` (depth-bounded), then nothing else.
bool empty_folder(int fd, int depth, std::string& error) {
    if (depth > 32) {
        error = "nested too deep to remove";
        return false;
    }
    int copy = ::dup(fd);
    DIR* d = copy < 0 ? nullptr : ::fdopendir(copy);
    if (!d) {
        if (copy >= 0) ::close(copy);
        error = why("cannot list it");
        return false;
    }
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(d))
        if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) names.push_back(e->d_name);
    ::closedir(d);
    for (const auto& n : names) {
        struct stat st{};
        if (::fstatat(fd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            Fd sub(::openat(fd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!sub || !empty_folder(sub.get(), depth + 1, error)) return false;
        }
        if (::unlinkat(fd, n.c_str(), S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) != 0 && errno != ENOENT) {
            error = why("cannot remove " + n);
            return false;
        }
    }
    return true;
}

// The last part of the entry's `rel`: its name in the folder open_parent opens.
std::string name_in(const SyncEntry& entry, const std::string& rel) {
    return rel.empty() ? base_name(entry.root) : base_name(rel);
}

}  // namespace

Fd::~Fd() {
    if (fd_ >= 0) ::close(fd_);
}

Fd& Fd::operator=(Fd&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = o.fd_;
        o.fd_ = -1;
    }
    return *this;
}

Fd open_parent(const SyncEntry& entry, const std::string& rel, std::string& error) {
    const std::string top = parent_of(entry.root);
    if (!entry.accepts(rel)) {
        error = entry.path_of(rel) + ": not part of " + entry.name;
        return Fd();
    }
    Fd fd(::open(top.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) {
        error = why(top);
        return Fd();
    }
    if (rel.empty()) return fd;
    // The root, then each folder of `rel` but its last part: a folder, never a link.
    std::vector<std::string> parts{base_name(entry.root)};
    for (size_t at = 0;;) {
        size_t end = rel.find('/', at);
        if (end == std::string::npos) break;
        parts.push_back(rel.substr(at, end - at));
        at = end + 1;
    }
    std::string walked = top == "/" ? "" : top;
    for (const auto& part : parts) {
        walked += "/" + part;
        Fd next(::openat(fd.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!next) {
            error = errno == ELOOP || errno == ENOTDIR ? walked + ": not a folder (a link is never followed)" : why(walked);
            return Fd();
        }
        fd = std::move(next);
    }
    return fd;
}

std::string apply_folder(const SyncEntry& entry, const wire::SyncItem& item) {
    std::string error;
    const std::string path = entry.path_of(item.path());
    Fd parent = open_parent(entry, item.path(), error);
    if (!parent) return error;
    const std::string name = name_in(entry, item.path());
    bool made = ::mkdirat(parent.get(), name.c_str(), 0700) == 0;
    if (!made && errno != EEXIST) return why(path);
    Fd fd(::openat(parent.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return path + ": a file or link here where the holder has a folder";
    if (::fchown(fd.get(), item.uid(), item.gid()) != 0 || ::fchmod(fd.get(), item.mode() & 07777) != 0)
        return why(path + ": cannot set owner and mode");
    if (made && ::fsync(parent.get()) != 0) return why(parent_of(path) + ": fsync");
    return {};
}

std::string apply_attributes(const SyncEntry& entry, const wire::SyncItem& item) {
    std::string error;
    const std::string path = entry.path_of(item.path());
    Fd parent = open_parent(entry, item.path(), error);
    if (!parent) return error;
    Fd fd(::openat(parent.get(), name_in(entry, item.path()).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    if (!fd) return why(path);
    if (::fchown(fd.get(), item.uid(), item.gid()) != 0 || ::fchmod(fd.get(), item.mode() & 07777) != 0 ||
        ::fsync(fd.get()) != 0)
        return why(path + ": cannot set owner and mode");
    return {};
}

std::string remove_path(const SyncEntry& entry, const std::string& rel) {
    std::string error;
    const std::string path = entry.path_of(rel);
    Fd parent = open_parent(entry, rel, error);
    if (!parent) return error;
    const std::string name = name_in(entry, rel);
    struct stat st{};
    if (::fstatat(parent.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return errno == ENOENT ? "" : why(path);
    if (S_ISDIR(st.st_mode)) {
        Fd fd(::openat(parent.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!fd) return why(path);
        if (!empty_folder(fd.get(), 0, error)) return path + ": " + error;
    }
    if (::unlinkat(parent.get(), name.c_str(), S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) != 0 && errno != ENOENT)
        return why(path + ": cannot remove it");
    if (::fsync(parent.get()) != 0) return why(parent_of(path) + ": fsync");
    return {};
}

Receiver::~Receiver() { abandon(); }

void Receiver::abandon() {
    if (folder_ && !temp_name_.empty()) ::unlinkat(folder_.get(), temp_name_.c_str(), 0);
    temp_name_.clear();
    file_ = Fd();
}

std::string Receiver::begin(const SyncEntry& entry, const wire::SyncItem& item) {
    abandon();
    item_ = item;
    received_ = 0;
    path_ = entry.path_of(item.path());
    if (!entry.accepts(item.path()) || item.folder() || item.sha256().size() != 32)
        return path_ + ": not a file of " + entry.name;
    std::string error;
    folder_ = open_parent(entry, item.path(), error);
    if (!folder_) return error;
    name_ = name_in(entry, item.path());
    std::random_device rd;
    temp_name_ = kTempPrefix + name_ + "." + std::to_string(rd());
    file_ = Fd(::openat(folder_.get(), temp_name_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!file_) {
        std::string e = why(parent_of(path_) + "/" + temp_name_);
        temp_name_.clear();
        return e;
    }
    hash_.reset(EVP_MD_CTX_new());
    EVP_DigestInit_ex(hash_.get(), EVP_sha256(), nullptr);
    return {};
}

std::string Receiver::append(uint64_t offset, const std::string& data) {
    if (!file_) return path_ + ": no transfer in progress";
    if (offset != received_) return path_ + ": chunk at " + std::to_string(offset) + ", expected " + std::to_string(received_);
    if (received_ + data.size() > item_.size()) return path_ + ": more data than its size";
    for (size_t done = 0; done < data.size();) {
        ssize_t n = ::write(file_.get(), data.data() + done, data.size() - done);
        if (n <= 0) return why(path_ + ": cannot write the temp file");
        done += size_t(n);
    }
    EVP_DigestUpdate(hash_.get(), data.data(), data.size());
    received_ += data.size();
    return {};
}

std::string Receiver::finish() {
    if (!file_ || !complete()) return path_ + ": incomplete";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(hash_.get(), md, &len);
    std::string problem;
    if (std::string(reinterpret_cast<char*>(md), len) != item_.sha256())
        problem = path_ + ": sha256 of what arrived differs from the holder's: damaged in transit, not used";
    else if (::fchown(file_.get(), item_.uid(), item_.gid()) != 0 || ::fchmod(file_.get(), item_.mode() & 07777) != 0)
        problem = why(path_ + ": cannot set owner and mode");
    else if (::fsync(file_.get()) != 0)
        problem = why(path_ + ": fsync");
    else if (::renameat(folder_.get(), temp_name_.c_str(), folder_.get(), name_.c_str()) != 0)
        problem = why(path_ + ": cannot rename the temp file over it");
    if (!problem.empty()) {
        abandon();
        return problem;
    }
    temp_name_.clear();
    file_ = Fd();
    if (::fsync(folder_.get()) != 0) return why(parent_of(path_) + ": fsync of the folder");
    return {};
}

}  // namespace veeamha::runtime::sync
