// SPDX-License-Identifier: GPL-2.0-or-later
// Checks of the files the configuration names (LoadOptions::check_files): keys and passwords
// exist, are private and plausible; the CA file holds a certificate; programs are executable.
// File contents are never copied into messages.
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "config/sections.h"

namespace veeamha::config::detail {

namespace {

constexpr off_t kClusterKeyBytes = 32;
constexpr off_t kMaxPasswordBytes = 4096;

std::string octal_mode(mode_t mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
    return buf;
}

std::string kind_of(const struct stat& st) {
    if (S_ISDIR(st.st_mode)) return "a directory";
    if (S_ISLNK(st.st_mode)) return "a symbolic link";
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) return "a device";
    if (S_ISFIFO(st.st_mode)) return "a pipe";
    if (S_ISSOCK(st.st_mode)) return "a socket";
    return "something else";
}

// stat + open for reading; reports and returns false on anything but a readable regular file.
bool readable_file(Diagnostics& d, const std::string& key, const std::string& file,
                   const std::string& missing, struct stat& st) {
    if (stat(file.c_str(), &st) != 0) {
        int err = errno;
        if (err == ENOENT)
            d.error(key, missing);
        else
            d.error(key, "cannot check " + file + ": " + std::strerror(err));
        return false;
    }
    if (!S_ISREG(st.st_mode)) {
        d.error(key, "expected a regular file at " + file + ", found " + kind_of(st));
        return false;
    }
    int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        d.error(key, "cannot read " + file + ": " + std::strerror(errno) +
                         (errno == EACCES ? " (run the check as root)" : ""));
        return false;
    }
    close(fd);
    return true;
}

// Secrets: private to the owner, and the owner is root or whoever runs the daemon.
bool private_file(Diagnostics& d, const std::string& key, const std::string& file,
                  const struct stat& st) {
    bool ok = true;
    if (st.st_uid != 0 && st.st_uid != geteuid()) {
        d.error(key, "expected " + file + " to be owned by root, found uid " +
                         std::to_string(st.st_uid) + "; run: chown root: " + file);
        ok = false;
    }
    if ((st.st_mode & 077) != 0) {
        d.error(key, "expected mode 0600 (no access for group and others), found " +
                         octal_mode(st.st_mode) + "; run: chmod 600 " + file);
        ok = false;
    }
    return ok;
}

void check_key_file(const std::string& file, Diagnostics& d) {
    const std::string key = "cluster.key_file";
    struct stat st {};
    if (!readable_file(d, key, file,
                       "expected the cluster key at " + file +
                           ", found no such file; create it with: veeam-hactl keygen (then copy "
                           "it to the peer)",
                       st))
        return;
    private_file(d, key, file, st);
    if (st.st_size != kClusterKeyBytes)
        d.error(key, "expected " + std::to_string(kClusterKeyBytes) + " bytes in " + file +
                         ", found " + std::to_string(st.st_size) +
                         "; make a new key with: veeam-hactl keygen --force (then copy it to "
                         "the peer)");
}

void check_password_file(const std::string& key, const std::string& file, const std::string& whose,
                         Diagnostics& d) {
    struct stat st {};
    if (!readable_file(d, key, file,
                       "expected the " + whose + " password in " + file +
                           ", found no such file; create it with mode 0600: install -m 600 "
                           "/dev/null " + file + ", then write the password into it",
                       st))
        return;
    private_file(d, key, file, st);
    if (st.st_size == 0)
        d.error(key, "expected the " + whose + " password in " + file + ", found an empty file");
    else if (st.st_size > kMaxPasswordBytes)
        d.error(key, "expected a password file of at most " + std::to_string(kMaxPasswordBytes) +
                         " bytes, found " + std::to_string(st.st_size));
}

void check_ca_file(const std::string& file, Diagnostics& d) {
    const std::string key = "fencing.vsphere.ca_file";
    struct stat st {};
    if (!readable_file(d, key, file,
                       "expected vCenter's CA certificate at " + file + ", found no such file",
                       st))
        return;
    BIO* bio = BIO_new_file(file.c_str(), "r");
    X509* cert = bio ? PEM_read_bio_X509(bio, nullptr, nullptr, nullptr) : nullptr;
    if (!cert)
        d.error(key, "expected a PEM certificate (-----BEGIN CERTIFICATE-----) in " + file +
                         ", found none");
    X509_free(cert);
    BIO_free(bio);
}

bool executable(const std::string& file) {
    struct stat st {};
    return stat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(file.c_str(), X_OK) == 0;
}

void check_program(const std::string& key, const std::string& file, Diagnostics& d) {
    struct stat st {};
    if (stat(file.c_str(), &st) != 0) {
        d.error(key, "expected a program at " + file + ", found no such file");
    } else if (!S_ISREG(st.st_mode)) {
        d.error(key, "expected a program at " + file + ", found " + kind_of(st));
    } else if (access(file.c_str(), X_OK) != 0) {
        d.error(key, "expected an executable program at " + file +
                         ", found a file without execute permission; run: chmod +x " + file);
    }
}

void check_agent(const std::string& key, const std::string& agent, Diagnostics& d) {
    if (agent[0] == '/') {
        check_program(key, agent, d);
        return;
    }
    std::vector<std::string> dirs;
    if (const char* path = std::getenv("PATH")) {
        std::stringstream in(path);
        for (std::string dir; std::getline(in, dir, ':');)
            if (!dir.empty() && dir[0] == '/') dirs.push_back(dir);
    }
    for (const char* dir : {"/usr/sbin", "/usr/local/sbin", "/sbin"}) dirs.push_back(dir);
    for (const auto& dir : dirs)
        if (executable(dir + "/" + agent)) return;
    d.error(key, "expected the fence agent " + agent +
                     " in PATH or /usr/sbin, found nothing; install it (Debian: apt install "
                     "fence-agents)");
}

}  // namespace

void check_files(const Config& c, Diagnostics& d) {
    if (!d.failed("cluster.key_file")) check_key_file(c.cluster.key_file, d);
    if (c.fencing.vsphere) {
        const auto& vs = *c.fencing.vsphere;
        if (!vs.password_file.empty() && !d.failed("fencing.vsphere.password_file"))
            check_password_file("fencing.vsphere.password_file", vs.password_file, "vCenter", d);
        if (!vs.ca_file.empty() && !d.failed("fencing.vsphere.ca_file")) check_ca_file(vs.ca_file, d);
    }
    for (size_t i = 0; i < c.fencing.levels.size(); ++i) {
        const auto& level = c.fencing.levels[i];
        const std::string base = "fencing.levels[" + std::to_string(i) + "]";
        if (!level.agent.empty()) check_agent(base + ".agent", level.agent, d);
        for (const auto& [name, value] : level.args)
            if (name == "password_file")
                check_password_file(base + ".args.password_file", value,
                                    level.agent.empty() ? std::string("fence agent")
                                                        : level.agent.substr(level.agent.rfind('/') + 1),
                                    d);
    }
    if (d.failed("alerts")) return;  // indexes would not match the file
    for (size_t i = 0; i < c.alerts.size(); ++i)
        check_program("alerts[" + std::to_string(i) + "].exec", c.alerts[i].exec, d);
}

}  // namespace veeamha::config::detail
