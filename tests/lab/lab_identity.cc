// SPDX-License-Identifier: GPL-2.0-or-later
// Each host's own copy of the files `veeam-hactl check --peer` reads (lab.h host_identity):
// made alike at `up`, bound over the machine's paths inside the host at every boot.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "base/process.h"
#include "tests/common/read_file.h"
#include "tests/lab/lab.h"

namespace veeamha::lab {
namespace fs = std::filesystem;

namespace {

using veeamha::test::slurp;

void put(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::trunc);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + path);
}

// The targets, on the machine (they must exist to be bound over; nothing is written to them).
constexpr const char* kSsh = "/etc/ssh";
constexpr const char* kPasswd = "/etc/passwd";
constexpr const char* kGroup = "/etc/group";
constexpr const char* kDpkgStatus = "/var/lib/dpkg/status";

}  // namespace

void Lab::make_host_identity() {
    fs::create_directories(kSsh);
    const std::string keys = run_dir_ + "/host-key";
    fs::create_directories(keys);
    base::ProcessSpec spec;
    spec.argv = {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "lab", "-f", keys + "/ssh_host_ed25519_key"};
    spec.deadline = base::Clock::now() + std::chrono::seconds(30);
    auto r = base::run_process(spec);
    if (!r.success()) throw std::runtime_error("ssh-keygen (Debian package openssh-client): " + r.describe());
    std::string passwd = slurp(kPasswd), group = slurp(kGroup), status = slurp(kDpkgStatus);
    if (!passwd.empty() && passwd.back() != '\n') passwd += '\n';
    if (!group.empty() && group.back() != '\n') group += '\n';
    passwd += "veeam-usr-1:x:990:990:Veeam repository user:/nonexistent:/usr/sbin/nologin\n";
    group += "veeam:x:990:\n";
    status += std::string(status.empty() || status.back() == '\n' ? "" : "\n") + "\nPackage: veeamtransport\n"
              "Status: install ok installed\nVersion: " + kVeeamTransportVersion + "\nArchitecture: amd64\n"
              "Maintainer: veeam-had lab <lab@example.invalid>\n"
              "Description: Veeam transport service (lab stand-in)\n";
    for (auto& h : hosts_) {
        if (h->name == kClient) continue;
        const std::string dir = host_identity(h->name);
        fs::create_directories(dir + "/ssh");
        for (const char* f : {"/ssh_host_ed25519_key", "/ssh_host_ed25519_key.pub"})
            fs::copy_file(keys + f, dir + "/ssh" + f, fs::copy_options::overwrite_existing);
        put(dir + "/passwd", passwd);
        put(dir + "/group", group);
        put(dir + "/dpkg-status", status);
    }
}

std::vector<std::pair<std::string, std::string>> Lab::identity_binds(const std::string& host) const {
    if (host == kClient) return {};
    const std::string dir = host_identity(host);
    std::vector<std::pair<std::string, std::string>> binds = {
        {dir + "/passwd", kPasswd}, {dir + "/group", kGroup}, {dir + "/dpkg-status", kDpkgStatus}};
    // With private_ssh the host's /etc/ssh is the sync tests' own (host_ssh), with its own keys.
    if (!options_.private_ssh) binds.insert(binds.begin(), {dir + "/ssh", kSsh});
    return binds;
}

}  // namespace veeamha::lab
