// SPDX-License-Identifier: GPL-2.0-or-later
// Changes a sync entry on the receiving node, never through a symbolic link: every folder below
// the entry's parent is opened with O_NOFOLLOW, one part at a time. A file is replaced
// atomically: written to a temp file in the same folder, checked (size, sha256), given the
// holder's owner, group and mode, fsync'ed, renamed over the old one, and the folder fsync'ed.
#pragma once

#include <openssl/evp.h>

#include <memory>
#include <string>

#include "daemon/runtime/sync/entry.h"
#include "proto/veeamha.pb.h"

namespace veeamha::runtime::sync {

// An open descriptor, closed at the end of its scope.
class Fd {
public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    ~Fd();
    Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    Fd& operator=(Fd&& o) noexcept;
    Fd(const Fd&) = delete;
    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }

private:
    int fd_;
};

// The folder that holds the entry's `rel` (the root's parent for "", else a folder of the
// entry's tree), or an invalid Fd and `error`.
Fd open_parent(const SyncEntry& entry, const std::string& rel, std::string& error);

// Makes the folder `item` exist with its owner, group and mode. "" or what went wrong.
std::string apply_folder(const SyncEntry& entry, const wire::SyncItem& item);
// Gives an existing file the item's owner, group and mode (its content is already the same).
std::string apply_attributes(const SyncEntry& entry, const wire::SyncItem& item);
// Removes the file, link or folder tree at `rel` and fsyncs its folder.
std::string remove_path(const SyncEntry& entry, const std::string& rel);

// One file arriving in chunks. Every call blocks on the disk: the service makes them off the
// event loop, one at a time.
class Receiver {
public:
    Receiver() = default;
    ~Receiver();
    Receiver(const Receiver&) = delete;
    Receiver& operator=(const Receiver&) = delete;

    // Creates the temp file next to the item. "" or what went wrong.
    std::string begin(const SyncEntry& entry, const wire::SyncItem& item);
    // The chunk at `offset` (must be where the previous one ended).
    std::string append(uint64_t offset, const std::string& data);
    uint64_t received() const { return received_; }
    bool complete() const { return received_ == item_.size(); }
    // Checks size and sha256, sets owner, group and mode, fsync, rename, fsync the folder. On a
    // mismatch the temp file is removed and nothing replaced.
    std::string finish();
    const wire::SyncItem& item() const { return item_; }
    const std::string& path() const { return path_; }
    // Removes the temp file, if any (the destructor does too).
    void abandon();

private:

    wire::SyncItem item_;
    Fd folder_;
    Fd file_;
    std::string path_, name_, temp_name_;
    uint64_t received_ = 0;
    std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> hash_{nullptr, EVP_MD_CTX_free};
};

}  // namespace veeamha::runtime::sync
