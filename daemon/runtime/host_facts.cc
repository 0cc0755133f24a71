// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/runtime/host_facts.h"

#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/timex.h>
#include <unistd.h>
#include <linux/magic.h>
#include <xfs/xfs.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <type_traits>

#include "base/process.h"
#include "daemon/resources/service/unit_order.h"
#include "daemon/runtime/sync/scan.h"
#include "proto/version.h"

namespace veeamha::runtime {
namespace {

std::string under(const std::string& root, const std::string& path) {
    if (root.empty() || root == "/") return path;
    return (root.back() == '/' ? root.substr(0, root.size() - 1) : root) + path;
}

std::string clip(std::string s) {
    if (s.size() > kMaxFactText) s.resize(kMaxFactText);
    return s;
}

std::string errno_text(int e) { return std::strerror(e); }

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// SHA-256 of a file, streamed; "" with `error` set when it cannot be read.
std::string file_sha256(const std::string& path, std::string& error) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = errno == ENOENT ? "missing" : errno_text(errno);
        return {};
    }
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
    char buf[65536];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) EVP_DigestUpdate(ctx.get(), buf, static_cast<size_t>(in.gcount()));
    if (in.bad()) {
        error = "read error";
        return {};
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx.get(), md, &len);
    return std::string(reinterpret_cast<char*>(md), len);
}

std::string text_sha256(const std::string& text) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_Digest(text.data(), text.size(), md, &len, EVP_sha256(), nullptr);
    return std::string(reinterpret_cast<char*>(md), len);
}

// A path found under `root`, as the host itself names it.
std::string strip_root(const std::string& root, const std::string& path) {
    std::string prefix = under(root, "");
    return prefix.empty() || path.rfind(prefix, 0) != 0 ? path : path.substr(prefix.size());
}

base::ProcessResult run(std::vector<std::string> argv, std::vector<std::string> env, std::chrono::milliseconds timeout) {
    base::ProcessSpec spec;
    spec.argv = std::move(argv);
    spec.extra_env = std::move(env);
    spec.deadline = base::Clock::now() + timeout;
    return base::run_process(spec);
}

std::string first_line(const std::string& s) {
    std::string line = s.substr(0, s.find('\n'));
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    return clip(line);
}

}  // namespace

std::vector<std::string> sync_paths(const config::Config& config) { return config.sync.paths; }

FactsSpec facts_spec(const config::Config& c, const std::string& node, bool holding, const std::string& config_path) {
    FactsSpec s;
    s.node = node;
    s.holding = holding;
    s.config_path = config_path;
    s.config_digest = config::digest(c);
    // The lines only name what differs (the digest compares everything): bounded so that the
    // facts fit one channel frame (1 MiB) whatever the file holds.
    size_t bytes = 0;
    for (auto& line : config::canonical_lines(c)) {
        if (s.config_lines.size() >= kMaxConfigLines || (bytes += line.size()) > kMaxConfigBytes) break;
        s.config_lines.push_back(std::move(line));
    }
    s.sync_paths = sync_paths(c);
    s.sync_limits = sync::limits_of(c.sync);
    s.users = c.peer_check.users;
    s.groups = c.peer_check.groups;
    for (const auto& r : c.resources) {
        if (const auto* svc = std::get_if<config::ServiceSpec>(&r.spec)) s.units.push_back(svc->unit);
        if (const auto* fs = std::get_if<config::FilesystemSpec>(&r.spec); fs && fs->fstype == "xfs")
            s.xfs_mountpoints.push_back(fs->mountpoint);
    }
    return s;
}

std::vector<wire::FileFact> file_hashes(const std::string& root, const std::vector<std::string>& listed,
                                        const sync::Limits& limits) {
    // What the sync itself reads (sync::scan): a folder counts as its files, a link is never
    // followed, and the sync's limits apply, so both nodes say what their sync would send.
    std::vector<sync::SyncEntry> entries;
    for (const auto& path : listed) entries.push_back({path, under(root, path), sync::EntryKind::Path});
    sync::HashCache cache;
    const sync::Scan scanned = sync::scan(entries, limits, cache, false);
    std::vector<wire::FileFact> out;
    auto fact = [&](const std::string& path, const std::string& sha256, const std::string& error) {
        wire::FileFact& f = out.emplace_back();
        f.set_path(path);
        if (error.empty()) f.set_sha256(sha256);
        else f.set_error(clip(error));
    };
    for (size_t i = 0; i < entries.size() && i < scanned.manifests.size(); ++i) {
        const wire::SyncManifest& m = scanned.manifests[i];
        const std::string& path = listed[i];
        if (!m.refused().empty()) fact(path, "", m.refused());
        else if (m.items().empty()) fact(path, "", "missing");
        for (const auto& item : m.items())
            if (!item.folder() || !item.refused().empty())
                fact(item.path().empty() ? path : path + "/" + item.path(), item.sha256(), item.refused());
    }
    return out;
}

std::string ssh_fingerprint(const std::string& line) {
    // "TYPE BASE64 [COMMENT]": the fingerprint is over the decoded key blob.
    std::istringstream in(line);
    std::string type, b64;
    if (!(in >> type >> b64) || b64.size() > 16384 || b64.size() % 4 != 0) return {};
    std::string blob(b64.size() / 4 * 3, '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(blob.data()),
                            reinterpret_cast<const unsigned char*>(b64.data()), static_cast<int>(b64.size()));
    if (n < 0) return {};
    size_t pad = b64.size() >= 2 && b64[b64.size() - 2] == '=' ? 2 : (b64.back() == '=' ? 1 : 0);
    blob.resize(static_cast<size_t>(n) - pad);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_Digest(blob.data(), blob.size(), md, &len, EVP_sha256(), nullptr);
    std::string enc(4 * ((len + 2) / 3) + 1, '\0');
    int m = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(enc.data()), md, static_cast<int>(len));
    enc.resize(static_cast<size_t>(m));
    while (!enc.empty() && enc.back() == '=') enc.pop_back();  // ssh-keygen prints it unpadded
    return "SHA256:" + enc;
}

std::vector<wire::KeyFingerprint> ssh_host_keys(const std::string& root, std::string& problem) {
    std::vector<wire::KeyFingerprint> out;
    std::string pattern = under(root, "/etc/ssh/ssh_host_*_key.pub");
    glob_t g{};
    int rc = ::glob(pattern.c_str(), 0, nullptr, &g);
    if (rc == GLOB_NOMATCH) problem = "no /etc/ssh/ssh_host_*_key.pub";
    for (size_t i = 0; rc == 0 && i < g.gl_pathc && out.size() < 16; ++i) {
        std::string path = g.gl_pathv[i];
        std::string name = path.substr(path.rfind('/') + 1);  // ssh_host_TYPE_key.pub
        std::string type = name.substr(9, name.size() - 9 - 8);
        std::ifstream in(path);
        std::string line(20000, '\0');  // an RSA-16384 key's line is about 2.8 KB
        in.read(line.data(), static_cast<std::streamsize>(line.size()));
        line.resize(static_cast<size_t>(in.gcount()));
        line = line.substr(0, line.find('\n'));
        wire::KeyFingerprint k;
        k.set_type(clip(type));
        std::string fp = ssh_fingerprint(line);
        k.set_fingerprint(fp.empty() ? "unreadable" : fp);
        out.push_back(std::move(k));
    }
    globfree(&g);
    return out;
}

namespace {

bool wanted(const std::string& name, const std::optional<std::vector<std::string>>& names) {
    if (!names) return starts_with(name, "veeam");
    return std::find(names->begin(), names->end(), name) != names->end();
}

// Reads a passwd- or group-format file with the C library's own parser (fgetpwent/fgetgrent).
// fgetpwent_r/fgetgrent_r: the peer's request and our own check may read at the same time.
passwd* next_user(FILE* f, passwd& entry, std::vector<char>& buf) {
    passwd* out = nullptr;
    while (fgetpwent_r(f, &entry, buf.data(), buf.size(), &out) == ERANGE && buf.size() < (1u << 20)) buf.resize(buf.size() * 2);
    return out;
}
group* next_group(FILE* f, group& entry, std::vector<char>& buf) {
    group* out = nullptr;
    while (fgetgrent_r(f, &entry, buf.data(), buf.size(), &out) == ERANGE && buf.size() < (1u << 20)) buf.resize(buf.size() * 2);
    return out;
}

template <class Entry>
std::vector<wire::AccountFact> accounts(const std::string& file, const std::optional<std::vector<std::string>>& names,
                                        Entry* (*next)(FILE*, Entry&, std::vector<char>&), std::string& problem) {
    std::map<std::string, wire::AccountFact> found;
    FILE* f = std::fopen(file.c_str(), "re");
    if (!f) {
        problem = file + ": " + errno_text(errno);
        return {};
    }
    Entry entry{};
    std::vector<char> buf(4096);
    while (Entry* e = next(f, entry, buf)) {
        std::string name;
        wire::AccountFact a;
        if constexpr (std::is_same_v<Entry, passwd>) {
            name = e->pw_name;
            a.set_id(e->pw_uid);
            a.set_gid(e->pw_gid);
        } else {
            name = e->gr_name;
            a.set_id(e->gr_gid);
        }
        if (!wanted(name, names) || found.count(name) || found.size() >= kMaxFactList) continue;
        a.set_name(clip(name));
        a.set_exists(true);
        found[name] = a;
    }
    std::fclose(f);
    if (names)
        for (const auto& n : *names)
            if (!found.count(n)) {
                wire::AccountFact a;
                a.set_name(n);
                found[n] = a;
            }
    std::vector<wire::AccountFact> out;
    for (auto& [n, a] : found) out.push_back(std::move(a));
    return out;
}

}  // namespace

std::vector<wire::AccountFact> users(const std::string& root, const std::optional<std::vector<std::string>>& names,
                                     std::string& problem) {
    return accounts<passwd>(under(root, "/etc/passwd"), names, &next_user, problem);
}

std::vector<wire::AccountFact> groups(const std::string& root, const std::optional<std::vector<std::string>>& names,
                                      std::string& problem) {
    return accounts<group>(under(root, "/etc/group"), names, &next_group, problem);
}

bool systemd_runs(const std::string& root) {
    struct stat st{};
    return ::lstat(under(root, "/run/systemd/system").c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

wire::UnitFact unit_fact(const std::string& root, const std::string& unit, std::chrono::milliseconds timeout) {
    wire::UnitFact u;
    u.set_unit(unit);
    base::ProcessResult paths = run({"systemd-analyze", "unit-paths"}, {}, timeout);
    if (!paths.success()) {
        u.set_error(clip("systemd-analyze unit-paths: " + paths.describe()));
        return u;
    }
    // The unit file is the first one found in the search path; drop-ins (UNIT.d/*.conf) come from
    // every directory, a name in an earlier directory hiding the same name in later ones, and
    // apply in the order of their names (systemd.unit(5)).
    std::istringstream dirs(paths.out);
    std::string dir, fragment;
    std::map<std::string, std::string> dropins;  // file name -> path
    while (std::getline(dirs, dir)) {
        if (dir.empty() || dir[0] != '/') continue;
        struct stat st{};
        std::string candidate = under(root, dir + "/" + unit);
        if (fragment.empty() && ::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)) fragment = candidate;
        glob_t g{};
        if (::glob(under(root, dir + "/" + unit + ".d/*.conf").c_str(), 0, nullptr, &g) == 0)
            for (size_t i = 0; i < g.gl_pathc && dropins.size() < 64; ++i) {
                std::string p = g.gl_pathv[i];
                // The daemon's own shutdown-order drop-in is not the admin's unit: each daemon
                // writes it at its first probe, so comparing it would only report timing.
                if (p == under(root, resources::service::order_dropin_path(resources::service::kRuntimeUnitDir, unit))) continue;
                dropins.emplace(p.substr(p.rfind('/') + 1), p);
            }
        globfree(&g);
    }
    u.set_exists(!fragment.empty());
    if (u.exists()) {
        std::string all, files, error;
        std::vector<std::string> list{fragment};
        for (const auto& [name, p] : dropins) list.push_back(p);
        for (const auto& p : list) {
            std::string shown = strip_root(root, p);
            std::string h = file_sha256(p, error);
            all += shown + "\n" + h;
            files += (files.empty() ? "" : " ") + shown;
        }
        if (!error.empty()) u.set_error(clip("reading " + files + ": " + error));
        u.set_sha256(text_sha256(all));
        u.set_files(files.size() > 4 * kMaxFactText ? files.substr(0, 4 * kMaxFactText) : files);
    }
    std::vector<std::string> argv{"systemctl"};
    if (!(root.empty() || root == "/")) argv.push_back("--root=" + root);
    argv.insert(argv.end(), {"is-enabled", "--", unit});
    base::ProcessResult en = run(argv, {}, timeout);
    // is-enabled prints the state and exits 1 for disabled ones; nothing printed is an error.
    std::string state = first_line(en.out);
    if (en.ended == base::ProcessResult::Ended::Exited && !state.empty())
        u.set_enabled(state);
    else if (u.exists())
        u.set_error(clip("systemctl is-enabled: " + en.describe()));
    return u;
}

bool veeam_packages(const std::string& admindir, std::vector<wire::PackageFact>& out, std::string& problem) {
    std::vector<std::string> argv{"dpkg-query"};
    if (!admindir.empty()) argv.push_back("--admindir=" + admindir);
    argv.insert(argv.end(), {"-W", "-f=${db:Status-Abbrev}\t${Package}\t${Version}\n", "veeam*"});
    base::ProcessResult r = run(argv, {}, std::chrono::seconds(5));
    if (r.ended == base::ProcessResult::Ended::CouldNotStart) return false;  // not a dpkg system
    // No package matching is exit 1 too.
    if (!r.success() && !(r.ended == base::ProcessResult::Ended::Exited && r.exit_code == 1 &&
                          r.err.find("no packages found") != std::string::npos)) {
        problem = clip("dpkg-query: " + r.describe());
        return true;
    }
    // "ii \tveeamtransport\t12.1.0.2131": the second letter is the state; not-installed (n) and
    // config-files (c) have no version on disk.
    std::istringstream lines(r.out);
    std::string line;
    while (std::getline(lines, line) && out.size() < kMaxFactList) {
        auto t1 = line.find('\t'), t2 = line.find('\t', t1 == std::string::npos ? t1 : t1 + 1);
        if (t1 < 2 || t2 == std::string::npos || line[1] == 'n' || line[1] == 'c') continue;
        wire::PackageFact f;
        f.set_name(clip(line.substr(t1 + 1, t2 - t1 - 1)));
        f.set_version(clip(line.substr(t2 + 1)));
        out.push_back(std::move(f));
    }
    return true;
}

std::optional<std::string> lvm_system_id_source(const std::string& root, std::chrono::milliseconds timeout,
                                                std::string& problem) {
    // Without its file lvmconfig says only "Failed to clone current config tree".
    struct stat st{};
    if (::stat(under(root, "/etc/lvm/lvm.conf").c_str(), &st) != 0) {
        problem = "no /etc/lvm/lvm.conf";
        return std::nullopt;
    }
    base::ProcessResult r = run({"lvmconfig", "--typeconfig", "full", "global/system_id_source"},
                                {"LVM_SYSTEM_DIR=" + under(root, "/etc/lvm"), "LVM_SUPPRESS_FD_WARNINGS=1"}, timeout);
    if (!r.success()) {
        problem = clip("lvmconfig: " + r.describe());
        return std::nullopt;
    }
    // system_id_source="uname"
    std::string line = first_line(r.out);
    auto eq = line.find('=');
    if (eq == std::string::npos) {
        problem = clip("lvmconfig printed " + line);
        return std::nullopt;
    }
    std::string value = line.substr(eq + 1);
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    return value;
}

std::optional<bool> time_synchronised(std::string& problem) {
    // What timedatectl's NTPSynchronized reads: the kernel's STA_UNSYNC, cleared by the NTP
    // daemon (chrony, systemd-timesyncd, ntpd) once it disciplines the clock.
    struct timex tx{};
    int state = ::adjtimex(&tx);
    if (state >= 0) return state != TIME_ERROR && !(tx.status & STA_UNSYNC);
    if (errno != EPERM) {
        problem = "adjtimex: " + errno_text(errno);
        return std::nullopt;
    }
    // veeam-had.service denies the @clock system calls, adjtimex(2) with them: ask timedated,
    // which reads the same flag.
    base::ProcessResult r = run({"timedatectl", "show", "--property=NTPSynchronized", "--value"}, {},
                                std::chrono::seconds(5));
    std::string value = first_line(r.out);
    if (r.success() && (value == "yes" || value == "no")) return value == "yes";
    problem = clip("adjtimex: not permitted; timedatectl: " + (r.success() ? "printed " + value : r.describe()));
    return std::nullopt;
}

wire::XfsFact xfs_fact(const std::string& root, const std::string& mountpoint) {
    wire::XfsFact x;
    x.set_mountpoint(mountpoint);
    std::string path = under(root, mountpoint);
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno != ENOENT) x.set_error(clip(mountpoint + ": " + errno_text(errno)));
        return x;
    }
    // Mounted: the directory is on another device than its parent.
    struct stat here{}, parent{};
    struct statfs fs{};
    bool mounted = ::fstat(fd, &here) == 0 && ::stat((path + "/..").c_str(), &parent) == 0 &&
                   here.st_dev != parent.st_dev && ::fstatfs(fd, &fs) == 0 && fs.f_type == XFS_SUPER_MAGIC;
    if (mounted) {
        xfs_fsop_geom geo{};
        if (::ioctl(fd, XFS_IOC_FSGEOMETRY, &geo) == 0) {
            x.set_mounted(true);
            x.set_reflink((geo.flags & XFS_FSOP_GEOM_FLAGS_REFLINK) != 0);
            x.set_crc((geo.flags & XFS_FSOP_GEOM_FLAGS_V5SB) != 0);
        } else {
            x.set_error(clip(mountpoint + ": XFS_IOC_FSGEOMETRY: " + errno_text(errno)));
        }
    }
    ::close(fd);
    return x;
}

wire::HostFacts gather_host_facts(const FactsSpec& s) {
    wire::HostFacts f;
    auto& problems = *f.mutable_problems();
    auto note = [&](const char* item, const std::string& problem) {
        if (!problem.empty()) problems[item] = clip(problem);
    };
    f.set_node(s.node);
    f.set_holding(s.holding);
    f.set_version(VEEAMHA_VERSION);
    f.set_protocol_major(wire::kProtocolMajor);
    f.set_protocol_minor(wire::kProtocolMinor);
    f.set_config_digest(s.config_digest);
    f.set_config_path(s.config_path);
    for (const auto& l : s.config_lines) f.add_config_lines(l);
    for (auto& h : file_hashes(s.root, s.sync_paths, s.sync_limits)) *f.add_sync_files() = std::move(h);
    std::string problem;
    for (auto& k : ssh_host_keys(s.root, problem)) *f.add_ssh_host_keys() = std::move(k);
    note("ssh-host-key", problem);
    problem.clear();
    for (auto& a : users(s.root, s.users, problem)) *f.add_users() = std::move(a);
    note("user", problem);
    problem.clear();
    for (auto& a : groups(s.root, s.groups, problem)) *f.add_groups() = std::move(a);
    note("group", problem);
    f.set_systemd(systemd_runs(s.root));
    if (f.systemd())
        for (const auto& unit : s.units) *f.add_units() = unit_fact(s.root, unit, s.command_timeout);
    problem.clear();
    std::vector<wire::PackageFact> packages;
    f.set_dpkg(veeam_packages(s.dpkg_admindir, packages, problem));
    for (auto& p : packages) *f.add_packages() = std::move(p);
    note("package", problem);
    problem.clear();
    if (auto source = lvm_system_id_source(s.root, s.command_timeout, problem)) f.set_lvm_system_id_source(clip(*source));
    note("lvm", problem);
    problem.clear();
    if (auto synced = time_synchronised(problem)) f.set_time_synchronised(*synced);
    note("time-sync", problem);
    for (const auto& m : s.xfs_mountpoints) *f.add_xfs() = xfs_fact(s.root, m);
    return f;
}

}  // namespace veeamha::runtime
