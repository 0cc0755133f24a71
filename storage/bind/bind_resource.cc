// SPDX-License-Identifier: GPL-2.0-or-later
#include "storage/bind/bind_resource.h"

#include <dirent.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "base/log.h"
#include "storage/filesystem/mount_paths.h"

namespace veeamha::storage::bind {

using filesystem::MountEntry;

namespace {

std::string errno_text(int err) { return std::strerror(err); }

struct SysResult {
    int rc = 0;
    int err = 0;
};

// What start finds at the source: it must exist as a directory under its own name (no symbolic
// link on the way: the monitor compares mountinfo with the configured path, without touching
// the group's filesystem, which may hang).
struct SourceCheck {
    std::string error;  // empty = fine
};

SourceCheck check_source(const std::string& source) {
    char resolved[PATH_MAX];
    if (!::realpath(source.c_str(), resolved)) {
        int err = errno;
        if (err == ENOENT)
            return {"source " + source + " does not exist: create it on the group's filesystem first (the "
                    "first time, move the folder's contents there, e.g. cp -a /etc/veeam/. " + source +
                    "); veeam-had never creates it, so that a filesystem that is not mounted is never "
                    "taken for an empty state folder"};
        return {"source " + source + ": " + errno_text(err)};
    }
    if (source != resolved)
        return {"source " + source + " is " + resolved +
                " through a symbolic link; give the real path in resources[].bind.source"};
    struct stat st {};
    if (::stat(resolved, &st) != 0) return {"source " + source + ": " + errno_text(errno)};
    if (!S_ISDIR(st.st_mode)) return {"source " + source + " is not a directory"};
    return {};
}

// The target made if missing, and what is in it (up to a few names).
struct TargetCheck {
    std::string error;
    size_t entries = 0;
    std::vector<std::string> names;  // the first few, for the message
};

TargetCheck prepare_target(const std::string& target) {
    TargetCheck out;
    out.error = filesystem::make_directories(target);
    if (!out.error.empty()) return out;
    DIR* d = ::opendir(target.c_str());
    if (!d) {
        out.error = "cannot read target " + target + ": " + errno_text(errno);
        return out;
    }
    while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        if (out.names.size() < 3) out.names.push_back(name);
        ++out.entries;
    }
    ::closedir(d);
    return out;
}

std::string dev_text(dev_t dev) {
    return std::to_string(major(dev)) + ":" + std::to_string(minor(dev));
}

// "/etc-veeam of /dev/loop3 (xfs, 7:3)": what a mount shows, in the words of mountinfo.
std::string describe_view(const MountEntry& m, const std::string& root) {
    return root + " of " + m.source + " (" + m.fstype + ", " + dev_text(m.dev()) + ")";
}

}  // namespace

std::optional<BindOrigin> bind_origin(const std::vector<MountEntry>& mounts, const std::string& path) {
    // The longest mount point that is `path` or one of its parents.
    std::string prefix = path;
    for (;;) {
        if (const MountEntry* m = filesystem::top_mount_at(mounts, prefix)) {
            std::string rel = prefix == "/" ? path : path.substr(prefix.size());  // "" or "/a/b"
            BindOrigin o;
            o.mount = m;
            o.root = m->root == "/" ? rel : m->root + rel;
            if (o.root.empty()) o.root = "/";
            return o;
        }
        if (prefix == "/") return std::nullopt;
        size_t slash = prefix.rfind('/');
        prefix = slash == 0 ? "/" : prefix.substr(0, slash);
    }
}

bool is_bind_of(const MountEntry& m, const BindOrigin& origin) {
    return origin.mount && m.dev() == origin.mount->dev() && m.root == origin.root;
}

BindResource::BindResource(config::BindSpec spec, filesystem::FilesystemTuning tuning)
    : spec_(std::move(spec)), tuning_(tuning) {}

base::OpResult BindResource::start(const base::OpContext& ctx) {
    const std::string& src = spec_.source;
    if (*hung_ops_ > 0)
        return base::OpResult::timed_out("an earlier bind, unbind or look at " + src + " is still blocked in the kernel");
    filesystem::MountPoint where = filesystem::canonical_mount_point(spec_.target);
    if (!where.error.empty()) return base::OpResult::failed(where.error);
    const std::string target = where.path;

    auto checked = filesystem::call_with_deadline([src] { return check_source(src); }, ctx.deadline, hung_ops_);
    if (!checked) return base::OpResult::timed_out("looking at source " + src + " did not finish by the deadline (hung filesystem?)");
    if (!checked->error.empty()) return base::OpResult::failed(checked->error);

    std::string error;
    auto mounts = filesystem::read_mountinfo(&error);
    if (!mounts) return base::OpResult::failed(error);
    auto origin = bind_origin(*mounts, src);
    if (!origin) return base::OpResult::failed("no mount holds " + src + " in /proc/self/mountinfo");
    if (const MountEntry* top = filesystem::top_mount_at(*mounts, target)) {
        if (is_bind_of(*top, *origin)) return base::OpResult::ok(src + " already bound at " + target);
        return base::OpResult::failed("target " + target + " is busy: " + describe_view(*top, top->root) +
                                      " is mounted there; refusing to bind " + src + " over it");
    }

    auto prepared = filesystem::call_with_deadline([target] { return prepare_target(target); }, ctx.deadline, hung_ops_);
    if (!prepared) return base::OpResult::timed_out("creating or reading target " + target + " did not finish by the deadline");
    if (!prepared->error.empty()) return base::OpResult::failed(prepared->error);
    if (prepared->entries > 0 && !spec_.allow_nonempty_target) {
        std::string names;
        for (const auto& n : prepared->names) names += (names.empty() ? "" : ", ") + n;
        if (prepared->entries > prepared->names.size()) names += ", ...";
        return base::OpResult::failed(
            "target " + target + " is not empty (" + std::to_string(prepared->entries) +
            (prepared->entries == 1 ? " entry: " : " entries: ") + names + "): binding " + src +
            " over it would hide them; move what belongs to the group into the source, empty the "
            "target on both nodes, or set allow_nonempty_target: true");
    }
    if (base::expired(ctx.deadline)) return base::OpResult::timed_out("deadline passed before binding " + src + " at " + target);

    auto done = filesystem::call_with_deadline(
        [src, target]() {
            int rc = ::mount(src.c_str(), target.c_str(), nullptr, MS_BIND, nullptr);
            return SysResult{rc, rc == 0 ? 0 : errno};
        },
        ctx.deadline, hung_ops_, ctx.left_running_returned);
    if (!done)
        return base::OpResult::left_running("bind mount of " + src + " at " + target +
                                            " did not finish by the deadline; it may still complete");
    if (done->rc != 0)
        return base::OpResult::failed("bind mount of " + src + " at " + target + ": " + errno_text(done->err));
    std::string hidden = prepared->entries > 0
                             ? " (over " + std::to_string(prepared->entries) + " entries of the target, hidden while bound)"
                             : "";
    base::log::info("bound " + src + " at " + target + hidden);
    return base::OpResult::ok("bound " + src + " at " + target + hidden);
}

base::OpResult BindResource::monitor(const base::OpContext& /*ctx*/) {
    filesystem::MountPoint where = filesystem::canonical_mount_point(spec_.target);
    if (!where.error.empty()) return base::OpResult::failed(where.error);
    const std::string target = where.path;
    std::string error;
    auto mounts = filesystem::read_mountinfo(&error);
    if (!mounts) return base::OpResult::failed(error);
    const MountEntry* top = filesystem::top_mount_at(*mounts, target);
    if (!top) return base::OpResult::not_running("nothing is mounted at " + target);
    auto origin = bind_origin(*mounts, spec_.source);
    if (!origin) return base::OpResult::failed("no mount holds " + spec_.source + " in /proc/self/mountinfo");
    if (!is_bind_of(*top, *origin))
        return base::OpResult::failed(target + " shows " + describe_view(*top, top->root) + " instead of " +
                                      spec_.source + ", which is " + describe_view(*origin->mount, origin->root));
    return base::OpResult::ok();
}

base::OpResult BindResource::stop(const base::OpContext& ctx) {
    filesystem::MountPoint where = filesystem::canonical_mount_point(spec_.target);
    if (!where.error.empty()) return base::OpResult::failed(where.error);
    const std::string target = where.path;
    // A bind or unbind left running at an earlier deadline may still land.
    if (*hung_ops_ > 0)
        return base::OpResult::timed_out("an earlier bind or unbind at " + target +
                                         " is still blocked in the kernel and may still complete");
    std::string error;
    auto mounts = filesystem::read_mountinfo(&error);
    if (!mounts) return base::OpResult::failed(error);
    const MountEntry* top = filesystem::top_mount_at(*mounts, target);
    if (!top) return base::OpResult::ok("nothing bound at " + target);
    auto origin = bind_origin(*mounts, spec_.source);
    if (!origin || !is_bind_of(*top, *origin)) {
        for (const auto& m : *mounts) {
            if (origin && m.mount_point == target && is_bind_of(m, *origin))
                return base::OpResult::failed(spec_.source + " is bound at " + target + " but covered by " +
                                              describe_view(*top, top->root) +
                                              " mounted over it: unmount that first, then stop this resource again");
        }
        // start() never binds over another mount: what is there is not ours (the monitor says so).
        return base::OpResult::ok(spec_.source + " not bound at " + target + " (" + describe_view(*top, top->root) +
                                  " is, and is left alone)");
    }
    std::string stacked;
    for (const MountEntry* s : filesystem::submounts(*mounts, target))
        stacked += (stacked.empty() ? "" : ", ") + s->mount_point;

    using End = filesystem::BusyUnmount::End;
    filesystem::BusyUnmount u = filesystem::unmount_stopping_holders(target, top->mount_id, top->dev(), !stacked.empty(),
                                                                     tuning_, ctx.deadline, hung_ops_);
    switch (u.end) {
        case End::Unmounted:
            base::log::info("unbound " + target + u.stopped_text());
            return base::OpResult::ok("unbound " + target + u.stopped_text());
        case End::TimedOut:
            return base::OpResult::timed_out("umount " + target + " did not finish by the deadline" + u.stopped_text());
        case End::Failed:
            return base::OpResult::failed("umount " + target + ": " + errno_text(u.err) + u.stopped_text());
        case End::Busy:
            break;
    }
    // Never detached lazily: the group's filesystem would live on under a detached bind after
    // its own stop, invisible to it, while the peer mounts the same disk.
    std::string why = target + " is still busy";
    if (!u.held.empty()) why += "; held by " + u.held;
    if (!stacked.empty()) why += "; other filesystems are mounted below it: " + stacked;
    why += u.stopped_text();
    if (base::expired(ctx.deadline)) return base::OpResult::timed_out(why);
    return base::OpResult::failed(why);
}

}  // namespace veeamha::storage::bind
