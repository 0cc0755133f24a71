// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/resources/service/unit_order.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <systemd/sd-login.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "base/fd_io.h"

namespace veeamha::resources::service {
namespace {

constexpr size_t kMaxDropinBytes = 4096;  // ours is a few lines; anything longer differs anyway

// The file's text when it exists ("" when missing); false on a read error.
bool read_small(const std::string& path, std::string& text, std::string& error) {
    text.clear();
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT) return true;
        error = "cannot read " + path + ": " + std::strerror(errno);
        return false;
    }
    int err = base::read_bounded(fd, kMaxDropinBytes, text);
    ::close(fd);
    if (err != 0) error = "cannot read " + path + ": " + std::strerror(err);
    return err == 0;
}

}  // namespace

std::string order_dropin_text(const std::string& daemon_unit) {
    return "# Written by veeam-had, which starts and stops this unit. At shutdown systemd stops\n"
           "# this unit only after " + daemon_unit + " (the daemon stops it itself, in the group's order,\n"
           "# while it hands the group over). Gone at reboot; the daemon writes it again.\n"
           "[Unit]\n"
           "Before=" + daemon_unit + "\n";
}

std::string order_dropin_path(const std::string& unit_dir, const std::string& unit) {
    return unit_dir + "/" + unit + ".d/" + kOrderDropinName;
}

DropinWrite ensure_order_dropin(const std::string& unit_dir, const std::string& unit,
                                const std::string& daemon_unit, std::string& error) {
    const std::string path = order_dropin_path(unit_dir, unit);
    const std::string want = order_dropin_text(daemon_unit);
    std::string have;
    if (!read_small(path, have, error)) return DropinWrite::Failed;
    if (have == want) return DropinWrite::Unchanged;

    const std::string dir = unit_dir + "/" + unit + ".d";
    // The daemon runs with UMask=0077; systemd reads unit files as root, but `systemctl cat` by
    // other users and admins' tools expect the usual 0755 folders and 0644 files.
    if (::mkdir(dir.c_str(), 0755) == 0) {
        ::chmod(dir.c_str(), 0755);
    } else if (errno != EEXIST) {
        error = "cannot create " + dir + ": " + std::strerror(errno);
        return DropinWrite::Failed;
    }
    const std::string tmp = path + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        error = "cannot write " + tmp + ": " + std::strerror(errno);
        return DropinWrite::Failed;
    }
    bool ok = ::fchmod(fd, 0644) == 0 && base::write_all(fd, want);
    int saved = ok ? 0 : errno;
    if (::close(fd) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (ok && ::rename(tmp.c_str(), path.c_str()) != 0) {
        ok = false;
        saved = errno;
    }
    if (!ok) {
        error = "cannot write " + path + ": " + std::strerror(saved);
        ::unlink(tmp.c_str());
        return DropinWrite::Failed;
    }
    return DropinWrite::Written;
}

std::string own_service_unit() {
    char* unit = nullptr;
    if (sd_pid_get_unit(0, &unit) < 0 || !unit) return {};
    std::string name = unit;
    std::free(unit);
    constexpr std::string_view suffix = ".service";
    if (name.size() <= suffix.size() || !name.ends_with(suffix)) return {};
    return name;
}

}  // namespace veeamha::resources::service
