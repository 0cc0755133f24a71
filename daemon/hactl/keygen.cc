// SPDX-License-Identifier: GPL-2.0-or-later
// `veeam-hactl keygen [--force]`: a new cluster key (docs/design.md §4) at cluster.key_file.
// 32 bytes from OpenSSL's CSPRNG, written atomically (temporary file in the same folder, fsync,
// rename, fsync of the folder), mode 0600; missing folders are created 0700. An existing key is
// kept unless --force: replacing it cuts the nodes off from each other until the peer has the
// new one too.
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "base/fd_io.h"
#include "daemon/cli/cli.h"
#include "daemon/hactl/verbs.h"

namespace veeamha::hactl {

namespace {

constexpr size_t kKeyBytes = 32;

std::string errno_text(int err) { return std::strerror(err); }

std::string parent_of(const std::string& path) {
    size_t slash = path.rfind('/');
    if (slash == std::string::npos) return ".";  // not reached: key_file is absolute
    return slash == 0 ? "/" : path.substr(0, slash);
}

// mkdir -p with mode 0700 for every folder it creates (existing ones are left as they are).
bool make_folders(const std::string& dir, std::string& error) {
    struct stat st {};
    if (stat(dir.c_str(), &st) == 0) {
        if (S_ISDIR(st.st_mode)) return true;
        error = dir + " exists and is not a folder";
        return false;
    }
    if (errno != ENOENT) {
        error = "cannot check " + dir + ": " + errno_text(errno);
        return false;
    }
    if (!make_folders(parent_of(dir), error)) return false;
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
        error = "cannot create " + dir + ": " + errno_text(errno);
        return false;
    }
    return true;
}

// Writes the key to `path` atomically. Returns "" or what went wrong.
std::string write_key(const std::string& path) {
    unsigned char key[kKeyBytes];
    if (RAND_bytes(key, sizeof key) != 1) return "OpenSSL could not produce random bytes";
    const std::string dir = parent_of(path);
    std::string temp = dir + "/.authkey.XXXXXX";
    int fd = mkostemp(temp.data(), O_CLOEXEC);  // created with mode 0600
    if (fd < 0) {
        OPENSSL_cleanse(key, sizeof key);
        return "cannot create a file in " + dir + ": " + errno_text(errno);
    }
    std::string error;
    if (fchmod(fd, 0600) != 0)
        error = "cannot set mode 0600: " + errno_text(errno);
    else if (!base::write_all(fd, key, sizeof key))
        error = "cannot write " + temp + ": " + errno_text(errno);
    else if (fsync(fd) != 0)
        error = "cannot flush " + temp + ": " + errno_text(errno);
    OPENSSL_cleanse(key, sizeof key);
    if (close(fd) != 0 && error.empty()) error = "cannot close " + temp + ": " + errno_text(errno);
    if (error.empty() && rename(temp.c_str(), path.c_str()) != 0)
        error = "cannot rename " + temp + " to " + path + ": " + errno_text(errno);
    if (!error.empty()) {
        unlink(temp.c_str());
        return error;
    }
    int dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0 || fsync(dir_fd) != 0) error = "cannot flush " + dir + ": " + errno_text(errno);
    if (dir_fd >= 0) close(dir_fd);
    return error;
}

}  // namespace

int hactl_keygen(const Invocation& invocation) {
    std::vector<std::string> args = invocation.args;
    const bool force = cli::take_flag(args, "--force");
    if (!args.empty()) {
        std::cerr << invocation.program << ": keygen: unexpected argument " << args[0]
                  << "\nusage: " << invocation.program << " keygen [--force]\n";
        return cli::kExitUsage;
    }
    // The key file itself may not exist yet, nor the password files: only the syntax matters.
    auto config = cli::load_config(invocation.config_path, false, std::cerr);
    if (!config) return cli::kExitFailure;
    const std::string& path = config->cluster.key_file;

    struct stat st {};
    bool exists = lstat(path.c_str(), &st) == 0;
    if (exists && S_ISDIR(st.st_mode)) {
        std::cerr << invocation.program << ": keygen: " << path << " is a folder, not a key file\n";
        return cli::kExitFailure;
    }
    if (exists && !force) {
        std::cerr << invocation.program << ": keygen: " << path
                  << " already exists; keep it (the peer must have the same key) or replace it "
                     "with keygen --force, then copy the new key to the peer\n";
        return cli::kExitFailure;
    }
    std::string error;
    if (!make_folders(parent_of(path), error)) {
        std::cerr << invocation.program << ": keygen: " << error << "\n";
        return cli::kExitFailure;
    }
    error = write_key(path);
    if (!error.empty()) {
        std::cerr << invocation.program << ": keygen: " << error << "\n";
        return cli::kExitFailure;
    }

    std::string peer = "PEER";
    auto local = config::resolve_local_node(*config, invocation.node_override);
    if (std::holds_alternative<int>(local) && config->nodes.size() == 2)
        peer = config->nodes[1 - static_cast<size_t>(std::get<int>(local))].name;
    const std::string dir = parent_of(path);
    std::cout << (exists ? "Replaced" : "Wrote") << " the cluster key " << path << " ("
              << kKeyBytes << " random bytes, mode 0600).\n"
              << "Copy it to the other node, keeping its mode, and check it there:\n"
              << "  ssh root@" << peer << " install -d -m 700 " << dir << "\n"
              << "  scp -p " << path << " root@" << peer << ":" << path << "\n"
              << "  ssh root@" << peer << " stat -c '%a %s' " << path << "    # expect: 600 "
              << kKeyBytes << "\n";
    if (exists)
        std::cout << "Until the peer has the new key, the nodes cannot talk to each other.\n";
    return cli::kExitOk;
}

}  // namespace veeamha::hactl
