// SPDX-License-Identifier: GPL-2.0-or-later
#include "storage/filesystem/filesystem_resource.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "base/log.h"
#include "storage/filesystem/holders.h"
#include "storage/filesystem/mount_options.h"
#include "storage/filesystem/mount_paths.h"
#include "storage/filesystem/mountinfo.h"

namespace veeamha::storage::filesystem {
namespace {

constexpr const char* kProbeName = ".veeam-ha-probe";

std::string errno_text(int err) { return std::strerror(err); }

// What the configured device is, for comparing with mountinfo entries.
struct DeviceId {
    bool block = false;
    dev_t rdev = 0;
    std::string path;  // as configured
};

// stat() follows symlinks, so /dev/vg/lv and /dev/mapper/vg-lv give the same rdev.
std::variant<DeviceId, std::string> resolve_device(const std::string& device) {
    DeviceId id;
    id.path = device;
    if (device.empty() || device[0] != '/') return id;  // "tmpfs" and the like: match by source
    struct stat st {};
    if (::stat(device.c_str(), &st) != 0) {
        int err = errno;
        return "device " + device + ": " + errno_text(err) +
               (err == ENOENT ? " (is its volume group active on this node?)" : "");
    }
    if (!S_ISBLK(st.st_mode)) return "device " + device + " is not a block device";
    id.block = true;
    id.rdev = st.st_rdev;
    return id;
}

bool mount_is_device(const MountEntry& m, const DeviceId& dev) {
    if (!dev.block) return m.source == dev.path;
    if (m.dev() == dev.rdev) return true;
    // Filesystems with anonymous device numbers (btrfs) still name the device as the source.
    struct stat st {};
    return !m.source.empty() && m.source[0] == '/' && ::stat(m.source.c_str(), &st) == 0 &&
           S_ISBLK(st.st_mode) && st.st_rdev == dev.rdev;
}

// Polls until no one holds the block device open exclusively (a mounted filesystem does, also
// after a lazy detach while it still has users), or the deadline passes.
bool wait_device_free(const DeviceId& dev, base::Deadline deadline) {
    for (;;) {
        int fd = ::open(dev.path.c_str(), O_RDONLY | O_EXCL | O_CLOEXEC | O_NONBLOCK);
        if (fd >= 0) {
            ::close(fd);
            return true;
        }
        if (errno != EBUSY || base::expired(deadline)) return false;
        std::this_thread::sleep_for(std::min<base::Clock::duration>(std::chrono::milliseconds(50), base::remaining(deadline)));
    }
}

// Where else the device is mounted (block devices only; "tmpfs" sources repeat legitimately).
const MountEntry* mounted_elsewhere(const std::vector<MountEntry>& mounts, const DeviceId& dev,
                                    const std::string& mount_point) {
    if (!dev.block) return nullptr;
    for (const auto& m : mounts) {
        if (m.mount_point != mount_point && mount_is_device(m, dev)) return &m;
    }
    return nullptr;
}

std::string mount_errno_hint(int err, const config::FilesystemSpec& spec) {
    switch (err) {
        case EINVAL: return " (bad mount options, or the device holds no " + spec.fstype + " filesystem)";
        case ENODEV: return " (the kernel does not support filesystem type '" + spec.fstype + "')";
        case EUCLEAN: return " (the filesystem is corrupted: run xfs_repair/fsck before mounting)";
        case EBUSY: return " (the device is in use or already mounted)";
        case EROFS: return " (the device is read-only: mount with option 'ro' or check the LUN)";
        case ENOTBLK: return " (not a block device)";
        default: return {};
    }
}

std::string describe_mount(const MountEntry& m) {
    return m.source + " (" + m.fstype + ")";
}

struct SysResult {
    int rc = 0;
    int err = 0;
};

}  // namespace

FilesystemResource::FilesystemResource(config::FilesystemSpec spec, FilesystemTuning tuning)
    : spec_(std::move(spec)), tuning_(tuning) {}

base::OpResult FilesystemResource::start(const base::OpContext& ctx) {
    auto options = parse_mount_options(spec_.options);
    if (auto* err = std::get_if<std::string>(&options)) return base::OpResult::failed("options: " + *err);
    const MountOptions& opts = std::get<MountOptions>(options);
    auto dev_or = resolve_device(spec_.device);
    if (auto* err = std::get_if<std::string>(&dev_or)) return base::OpResult::failed(*err);
    const DeviceId& dev = std::get<DeviceId>(dev_or);
    MountPoint first = canonical_mount_point(spec_.mountpoint);
    if (!first.error.empty()) return base::OpResult::failed(first.error);
    // Create the mount point first, so the canonical path below is fully resolved. On a worker
    // thread: a parent directory on a hung filesystem must not block us past the deadline.
    auto mk = call_with_deadline([path = first.path] { return make_directories(path); }, ctx.deadline, hung_ops_);
    if (!mk) return base::OpResult::timed_out("creating mountpoint " + first.path + " did not finish by the deadline");
    if (!mk->empty()) return base::OpResult::failed(*mk);
    const std::string mp = canonical_mount_point(spec_.mountpoint).path;

    std::string error;
    auto mounts = read_mountinfo(&error);
    if (!mounts) return base::OpResult::failed(error);
    if (const MountEntry* top = top_mount_at(*mounts, mp)) {
        if (mount_is_device(*top, dev)) {
            if (top->read_only() && !opts.read_only()) {
                return base::OpResult::failed(spec_.device + " is already mounted at " + mp +
                                        " but read-only (" + top->super_options +
                                        "): unmount it and check the device and the kernel log");
            }
            return base::OpResult::ok(spec_.device + " already mounted at " + mp);
        }
        return base::OpResult::failed("mountpoint " + mp + " is busy: " + describe_mount(*top) +
                                " is mounted there; refusing to mount " + spec_.device + " over it");
    }
    if (const MountEntry* other = mounted_elsewhere(*mounts, dev, mp)) {
        return base::OpResult::failed(spec_.device + " is already mounted at " + other->mount_point +
                                "; refusing to mount it a second time at " + mp);
    }
    if (base::expired(ctx.deadline)) return base::OpResult::timed_out("deadline passed before mount(2) of " + mp);
    if (*hung_ops_ > 0) {
        return base::OpResult::timed_out("an earlier mount/unmount of " + mp + " is still blocked in the kernel");
    }

    auto done = call_with_deadline(
        [device = spec_.device, mp, fstype = spec_.fstype, opts]() {
            int rc = ::mount(device.c_str(), mp.c_str(), fstype.c_str(), opts.flags,
                             opts.data.empty() ? nullptr : opts.data.c_str());
            return SysResult{rc, rc == 0 ? 0 : errno};
        },
        ctx.deadline, hung_ops_, ctx.left_running_returned);
    if (!done) {
        return base::OpResult::left_running("mount(2) of " + spec_.device + " at " + mp +
                                   " did not finish by the deadline (log recovery of a large journal, "
                                   "or a hung device); it may still complete");
    }
    if (done->rc != 0) {
        return base::OpResult::failed("mount " + spec_.device + " at " + mp + " (" + spec_.fstype + ", " +
                                describe(opts) + "): " + errno_text(done->err) +
                                mount_errno_hint(done->err, spec_));
    }
    base::log::info("mounted " + spec_.device + " at " + mp + " (" + spec_.fstype + ", " + describe(opts) + ")");
    return base::OpResult::ok("mounted " + spec_.device + " at " + mp);
}

base::OpResult FilesystemResource::stop(const base::OpContext& ctx) {
    auto dev_or = resolve_device(spec_.device);
    MountPoint where = canonical_mount_point(spec_.mountpoint);
    if (!where.error.empty()) return base::OpResult::failed(where.error);
    const std::string mp = where.path;
    std::string error;
    auto mounts = read_mountinfo(&error);
    if (!mounts) return base::OpResult::failed(error);

    // A mount or unmount left running at an earlier deadline may still land: whatever the
    // mount table says now, this is not "stopped" until it has returned.
    if (*hung_ops_ > 0) {
        return base::OpResult::timed_out("an earlier mount/unmount of " + mp +
                                   " is still blocked in the kernel and may still complete");
    }
    const MountEntry* top = top_mount_at(*mounts, mp);
    const DeviceId* known = std::get_if<DeviceId>(&dev_or);
    DeviceId dev = known ? *known : DeviceId{};
    // The device node cannot be resolved (its link is gone, or the VG was deactivated under
    // us): whatever is mounted at the mount point is ours to unmount, since start() never
    // mounts over another mount. Never "not mounted" while it may be.
    const bool ours_on_top = top && (!known || mount_is_device(*top, dev));
    if (!ours_on_top) {
        for (const auto& m : *mounts) {
            if (known && m.mount_point == mp && mount_is_device(m, dev))
                return base::OpResult::failed(spec_.device + " is mounted at " + mp + " but covered by " +
                                        top->source + " (" + top->fstype + ") mounted over it: "
                                        "unmount that first, then stop this resource again");
        }
        if (const MountEntry* other = mounted_elsewhere(*mounts, dev, mp)) {
            return base::OpResult::failed(spec_.device + " is not mounted at " + mp + " but at " +
                                    other->mount_point + " (mounted outside this resource): "
                                    "unmount it there before the peer may take it over");
        }
        return base::OpResult::ok(spec_.device + " not mounted at " + mp);
    }
    const int mount_id = top->mount_id;
    const dev_t mount_dev = top->dev();
    std::string stacked;
    for (const MountEntry* s : submounts(*mounts, mp)) {
        stacked += (stacked.empty() ? "" : ", ") + s->mount_point;
    }

    // Flush first: the unmount then has little left to write, and a hung device shows up here
    // with a clear name rather than inside umount2.
    auto synced = call_with_deadline(
        [mp]() {
            int fd = ::open(mp.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (fd < 0) return SysResult{-1, errno};
            int rc = ::syncfs(fd);
            int err = rc == 0 ? 0 : errno;
            ::close(fd);
            return SysResult{rc, err};
        },
        ctx.deadline, hung_ops_);
    if (!synced) return base::OpResult::timed_out("syncfs of " + mp + " did not finish by the deadline (hung device?)");
    if (synced->rc != 0) {
        base::log::warning("syncfs " + mp + ": " + errno_text(synced->err) + "; unmounting anyway");
    }

    auto unmount = [&](int flags) -> std::optional<SysResult> {
        return call_with_deadline(
            [mp, flags]() {
                int rc = ::umount2(mp.c_str(), flags | UMOUNT_NOFOLLOW);
                return SysResult{rc, rc == 0 ? 0 : errno};
            },
            ctx.deadline, hung_ops_);
    };

    BusyUnmount u = unmount_stopping_holders(mp, mount_id, mount_dev, !stacked.empty(), tuning_,
                                             ctx.deadline, hung_ops_);
    switch (u.end) {
        case BusyUnmount::End::Unmounted:
            base::log::info("unmounted " + mp + u.stopped_text());
            return base::OpResult::ok("unmounted " + mp + u.stopped_text());
        case BusyUnmount::End::TimedOut:
            return base::OpResult::timed_out("umount " + mp + " did not finish by the deadline" + u.stopped_text());
        case BusyUnmount::End::Failed:
            return base::OpResult::failed("umount " + mp + ": " + errno_text(u.err) + u.stopped_text());
        case BusyUnmount::End::Busy:
            break;
    }
    std::string why = mp + " is still busy";
    if (!u.held.empty()) why += "; held by " + u.held;
    if (!stacked.empty()) why += "; other filesystems are mounted below it: " + stacked;
    why += u.stopped_text();

    using OnBusy = config::FilesystemSpec::OnBusy;
    if (spec_.on_busy == OnBusy::KillThenLazy && !base::expired(ctx.deadline)) {
        auto r = unmount(MNT_DETACH);
        if (r && r->rc == 0) {
            // Detached, but the filesystem lives on (and may write to the shared device) until
            // its last user lets go. The stop succeeds only once the device is free; until
            // then the peer must not mount it, so running out of time is a failed stop.
            base::log::warning("lazily detached " + mp + ": " + why);
            if (!dev.block)
                return base::OpResult::ok("lazily detached " + mp + " (not a block device: nothing shared to protect): " + why);
            if (wait_device_free(dev, ctx.deadline))
                return base::OpResult::ok("lazily detached " + mp + ", and " + spec_.device + " was then released: " + why);
            return base::OpResult::timed_out("lazily detached " + mp + ", but " + spec_.device +
                                       " was still in use at the deadline (the filesystem lives on): " + why);
        }
    } else if (spec_.on_busy == OnBusy::KillThenForce && !base::expired(ctx.deadline)) {
        auto r = unmount(MNT_FORCE);
        if (r && r->rc == 0) {
            base::log::warning("force-unmounted " + mp + ": " + why);
            return base::OpResult::ok("force-unmounted " + mp + ": " + why);
        }
        if (r) why += "; forced unmount: " + errno_text(r->err);
    }
    if (base::expired(ctx.deadline)) return base::OpResult::timed_out(why);
    return base::OpResult::failed(why);
}

base::OpResult FilesystemResource::monitor(const base::OpContext& ctx) {
    MountPoint where = canonical_mount_point(spec_.mountpoint);
    if (!where.error.empty()) return base::OpResult::failed(where.error);
    const std::string mp = where.path;
    auto dev_or = resolve_device(spec_.device);
    DeviceId dev;
    if (auto* d = std::get_if<DeviceId>(&dev_or)) {
        dev = *d;
    } else {
        dev.path = spec_.device;
    }
    std::string error;
    auto mounts = read_mountinfo(&error);
    if (!mounts) return base::OpResult::failed(error);
    const MountEntry* top = top_mount_at(*mounts, mp);
    if (!top || !mount_is_device(*top, dev)) {
        if (top) {
            return base::OpResult::failed(describe_mount(*top) + " is mounted at " + mp + " instead of " +
                                    spec_.device);
        }
        if (const MountEntry* other = mounted_elsewhere(*mounts, dev, mp)) {
            return base::OpResult::failed(spec_.device + " is mounted at " + other->mount_point +
                                    " instead of " + mp);
        }
        if (auto* err = std::get_if<std::string>(&dev_or)) {
            return base::OpResult::not_running(spec_.device + " not mounted at " + mp + " (" + *err + ")");
        }
        return base::OpResult::not_running(spec_.device + " not mounted at " + mp);
    }
    auto options = parse_mount_options(spec_.options);
    bool want_ro = std::holds_alternative<MountOptions>(options) &&
                   std::get<MountOptions>(options).read_only();
    if (top->read_only() && !want_ro) {
        return base::OpResult::failed(mp + " is mounted read-only (mount: " + top->mount_options +
                                "; superblock: " + top->super_options +
                                "): the filesystem was remounted read-only, usually after I/O errors "
                                "(check the kernel log)");
    }
    if (spec_.deep_check) return probe(mp, ctx.deadline);
    return base::OpResult::ok();
}

base::OpResult FilesystemResource::probe(const std::string& mp, base::Deadline deadline) {
    if (int hung = *hung_probes_; hung > 0) {
        return base::OpResult::timed_out("an earlier probe of " + mp + " is still blocked (" + std::to_string(hung) +
                                   " thread(s)): the filesystem is hung");
    }
    auto options = parse_mount_options(spec_.options);
    bool read_only = std::holds_alternative<MountOptions>(options) &&
                     std::get<MountOptions>(options).read_only();
    struct ProbeOutcome {
        std::string step;  // empty = success
        int err = 0;
    };
    static std::atomic<unsigned> counter{0};
    std::string content = "veeam-ha probe " + std::to_string(::getpid()) + " " +
                          std::to_string(++counter) + "\n";
    auto outcome = call_with_deadline(
        [path = mp + "/" + kProbeName, dir = mp, content, read_only]() -> ProbeOutcome {
            if (read_only) {  // mounted ro on purpose: a metadata read must still answer
                struct statfs sfs {};
                if (::statfs(dir.c_str(), &sfs) != 0) return {"statfs", errno};
                return {};
            }
            int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
            if (fd < 0) return {"create", errno};
            ssize_t w = ::write(fd, content.data(), content.size());
            int err = w < 0 ? errno : 0;
            if (w >= 0 && static_cast<size_t>(w) != content.size()) err = EIO;
            if (err == 0 && ::fsync(fd) != 0) err = errno;
            ::close(fd);
            if (err != 0) {
                ::unlink(path.c_str());
                return {w < 0 ? "write" : "fsync", err};
            }
            fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
            if (fd < 0) return {"reopen", errno};
            std::string back(content.size() + 16, '\0');
            ssize_t r = ::read(fd, back.data(), back.size());
            err = r < 0 ? errno : 0;
            ::close(fd);
            if (r < 0) return {"read back", err};
            back.resize(static_cast<size_t>(r));
            if (back != content) return {"compare (read back other data than written)", EIO};
            if (::unlink(path.c_str()) != 0) return {"unlink", errno};
            return {};
        },
        deadline, hung_probes_);
    if (!outcome) {
        return base::OpResult::timed_out("probe write+fsync of " + mp + "/" + kProbeName +
                                   " did not finish by the deadline: the filesystem or its device hangs");
    }
    if (outcome->step.empty()) return base::OpResult::ok();
    int err = outcome->err;
    std::string what = "probe " + outcome->step + " " + mp + "/" + kProbeName + ": " + errno_text(err);
    if (err == ENOSPC || err == EDQUOT) {
        // A full filesystem is not cured by moving it to the other node.
        base::log::warning(what + " (filesystem full; not treated as a failure)");
        return base::OpResult::ok(what + " (filesystem full)");
    }
    if (err == EROFS) what += " (the filesystem is read-only, usually after I/O errors)";
    if (err == EIO) what += " (I/O error: the filesystem may have shut down; check the kernel log)";
    return base::OpResult::failed(what);
}

}  // namespace veeamha::storage::filesystem
