// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/runtime/sync/scan.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <set>

namespace veeamha::runtime::sync {
namespace {

constexpr int kMaxDepth = 32;

std::string errno_text(const std::string& path) { return path + ": " + std::strerror(errno); }

HashCache::Key key_of(const struct stat& st) {
    return HashCache::Key{st.st_dev, st.st_ino, st.st_size,
                          int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
                          int64_t(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec};
}

struct Walk {
    const SyncEntry& entry;
    const Limits& limits;
    HashCache& cache;
    uint64_t& total;  // bytes of the files listed so far, all entries
    wire::SyncManifest& manifest;
    std::vector<std::string>& folders;
    std::vector<std::string>& seen;

    bool full() const { return manifest.items_size() > int(limits.max_files); }

    wire::SyncItem* add(const std::string& rel, const struct stat& st) {
        auto* item = manifest.add_items();
        item->set_path(rel);
        item->set_folder(S_ISDIR(st.st_mode));
        item->set_mode(st.st_mode & 07777);
        item->set_uid(st.st_uid);
        item->set_gid(st.st_gid);
        return item;
    }

    // The object `name` in the open folder `dirfd`, known as `rel` in the entry.
    void visit(int dirfd, const std::string& name, const std::string& rel, int depth) {
        const std::string& path = rel;
        if (full()) return;
        struct stat st{};
        if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno != ENOENT) add(path, st)->set_refused("cannot read it: " + std::string(std::strerror(errno)));
            return;  // gone meanwhile: absent
        }
        if (S_ISLNK(st.st_mode)) {
            add(path, st)->set_refused("a symbolic link (never followed or copied)");
            return;
        }
        if (S_ISDIR(st.st_mode)) {
            if (entry.kind == EntryKind::SshHostKeys) return;
            folder(dirfd, name, path, st, depth);
            return;
        }
        if (!S_ISREG(st.st_mode)) {
            add(path, st)->set_refused("not a regular file, folder or link");
            return;
        }
        file(dirfd, name, path);
    }

    void folder(int dirfd, const std::string& name, const std::string& path, const struct stat& st, int depth) {
        wire::SyncItem* item = add(path, st);
        if (depth >= kMaxDepth) {
            item->set_refused("nested deeper than " + std::to_string(kMaxDepth) + " folders");
            return;
        }
        int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            item->set_refused("cannot open it: " + std::string(std::strerror(errno)));
            return;
        }
        folders.push_back(entry.path_of(path));
        std::vector<std::string> names;
        if (!list(fd, names, item)) return;
        for (const auto& n : names) {
            visit(fd, n, path.empty() ? n : path + "/" + n, depth + 1);
            if (full()) break;
        }
        ::close(fd);
    }

    // The names in the folder (closes fd only on failure; sorted: a stable manifest).
    bool list(int fd, std::vector<std::string>& names, wire::SyncItem* item) {
        int copy = ::dup(fd);
        DIR* d = copy < 0 ? nullptr : ::fdopendir(copy);
        if (!d) {
            item->set_refused("cannot list it: " + std::string(std::strerror(errno)));
            if (copy >= 0) ::close(copy);
            ::close(fd);
            return false;
        }
        while (struct dirent* e = ::readdir(d)) {
            std::string n = e->d_name;
            if (n == "." || n == ".." || n.rfind(kTempPrefix, 0) == 0) continue;
            if (entry.kind == EntryKind::SshHostKeys && !entry.accepts(n)) continue;
            names.push_back(n);
            if (names.size() > limits.max_files) break;
        }
        ::closedir(d);
        std::sort(names.begin(), names.end());
        return true;
    }

    void file(int dirfd, const std::string& name, const std::string& path) {
        int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        struct stat st{};
        if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            if (fd < 0 && errno == ENOENT) return;
            add(path, st)->set_refused(fd < 0 ? "cannot open it: " + std::string(std::strerror(errno))
                                              : "changed into something else while read");
            if (fd >= 0) ::close(fd);
            return;
        }
        std::unique_ptr<int, void (*)(int*)> closer(&fd, [](int* f) { ::close(*f); });
        wire::SyncItem* item = add(path, st);
        item->set_size(uint64_t(st.st_size));
        if (uint64_t(st.st_size) > limits.max_file_size) {
            item->set_refused("larger than sync.max_file_size (" + std::to_string(st.st_size) + " > " +
                              std::to_string(limits.max_file_size) + " bytes)");
            return;
        }
        if (total + uint64_t(st.st_size) > limits.max_total_size) {
            item->set_refused("past sync.max_total_size (" + std::to_string(limits.max_total_size) +
                              " bytes for all synced files together)");
            return;
        }
        std::string error;
        std::string digest = cache.digest(entry.path_of(path), fd, error);
        if (digest.empty()) {
            item->set_refused(error);
            return;
        }
        total += uint64_t(st.st_size);
        item->set_sha256(digest);
        seen.push_back(entry.path_of(path));
    }
};

}  // namespace

std::string HashCache::digest(const std::string& path, int fd, std::string& error) {
    struct stat st{};
    if (::fstat(fd, &st) != 0) {
        error = errno_text(path);
        return {};
    }
    auto it = known_.find(path);
    if (it != known_.end() && it->second.first == key_of(st)) return it->second.second;
    std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
    char buf[65536];
    off_t done = 0;
    ssize_t n;
    while ((n = ::pread(fd, buf, sizeof buf, done)) > 0) {
        EVP_DigestUpdate(ctx.get(), buf, size_t(n));
        done += n;
    }
    struct stat after{};
    if (n < 0 || ::fstat(fd, &after) != 0 || done != st.st_size || !(key_of(after) == key_of(st))) {
        error = n < 0 ? "cannot read it: " + std::string(std::strerror(errno)) : "changed while read (next scan)";
        return {};
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx.get(), md, &len);
    std::string digest(reinterpret_cast<char*>(md), len);
    known_[path] = {key_of(st), digest};
    return digest;
}

void HashCache::forget_missing(const std::vector<std::string>& present) {
    std::set<std::string> keep(present.begin(), present.end());
    for (auto it = known_.begin(); it != known_.end();) it = keep.count(it->first) ? std::next(it) : known_.erase(it);
}

Scan scan(const std::vector<SyncEntry>& entries, const Limits& limits, HashCache& cache, bool all) {
    Scan out;
    uint64_t total = 0;
    std::vector<std::string> seen;
    for (const auto& entry : entries) {
        wire::SyncManifest& m = *out.manifests.insert(out.manifests.end(), wire::SyncManifest{});
        m.set_entry(entry.name);
        out.folders.push_back(parent_of(entry.root));
        const std::string parent = parent_of(entry.root);
        int dirfd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0) {
            if (errno != ENOENT) m.set_refused("cannot open " + errno_text(parent));
            continue;  // no parent: nothing there
        }
        Walk walk{entry, limits, cache, total, m, out.folders, seen};
        if (entry.kind == EntryKind::SshHostKeys) {
            int fd = ::openat(dirfd, base_name(entry.root).c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (fd >= 0) {
                out.folders.push_back(entry.root);
                std::vector<std::string> names;
                wire::SyncItem scratch;
                if (walk.list(fd, names, &scratch)) {
                    for (const auto& n : names) walk.visit(fd, n, n, 1);
                    ::close(fd);
                }
            } else if (errno != ENOENT) {
                m.set_refused("cannot open " + errno_text(entry.root));
            }
        } else {
            walk.visit(dirfd, base_name(entry.root), "", 0);
        }
        ::close(dirfd);
        if (walk.full()) {
            m.clear_items();
            m.set_refused("holds more than sync.max_files (" + std::to_string(limits.max_files) + ") files and folders");
        }
    }
    if (all) cache.forget_missing(seen);
    return out;
}

std::string sha256(const std::string& data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
    return std::string(reinterpret_cast<char*>(md), len);
}

std::string short_hex(const std::string& digest) {
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < digest.size() && i < 6; ++i) {
        out += hex[(unsigned char)digest[i] >> 4];
        out += hex[(unsigned char)digest[i] & 15];
    }
    return out;
}

}  // namespace veeamha::runtime::sync
