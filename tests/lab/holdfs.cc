// SPDX-License-Identifier: GPL-2.0-or-later
// veeam-ha-lab-holdfs: a SAN whose I/O a test can stop. A FUSE file system with one file,
// disk.img, whose bytes are those of a backing image; the lab puts its loop device (the shared
// disk) on that file. While I/O is held, every read, write and fsync of disk.img waits in this
// server, so a mount(2) of the loop device blocks in the kernel waiting for its superblock
// (uninterruptible, as on a SAN path that stopped answering) until the test releases it.
//
//   veeam-ha-lab-holdfs BACKING MOUNTPOINT
//
// Control on stdin, one word a line, each answered on stdout once in effect:
//   hold     -> "held"          requests from now on wait
//   release  -> "released"      waiting requests go on, new ones are served at once
//   waiting  -> "waiting N"     requests waiting right now
// It says "ready" once mounted. At the end of stdin (the lab is done, or died) it releases
// everything and unmounts, which ends the FUSE connection and so the server. If a loop device
// is still on disk.img (the lab died before it detached it), the unmount fails (busy) and the
// server goes on serving it, mounted where the next lab's cleanup finds both: it detaches the
// loop device and unmounts, and the server ends then.
//
// disk.img is opened with direct_io: no page cache in between, so every block the loop device
// reads really comes from here and can be held.
#define FUSE_USE_VERSION 31
#include <fuse.h>

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>

namespace {

constexpr const char* kImage = "/disk.img";

int g_backing = -1;
off_t g_size = 0;
std::string g_mountpoint;

std::mutex g_mu;
std::condition_variable g_cv;
bool g_held = false;
int g_waiting = 0;

// Every I/O request passes here: while held, it waits (the kernel's caller with it).
void gate() {
    std::unique_lock<std::mutex> lock(g_mu);
    if (!g_held) return;
    ++g_waiting;
    g_cv.wait(lock, [] { return !g_held; });
    --g_waiting;
}

void set_held(bool held) {
    {
        std::lock_guard<std::mutex> lock(g_mu);
        g_held = held;
    }
    g_cv.notify_all();
}

void* on_init(fuse_conn_info*, fuse_config* cfg) {
    cfg->direct_io = 1;
    cfg->kernel_cache = 0;
    return nullptr;
}

int on_getattr(const char* path, struct stat* st, fuse_file_info*) {
    std::memset(st, 0, sizeof *st);
    if (std::strcmp(path, "/") == 0) {
        st->st_mode = S_IFDIR | 0755;
        st->st_nlink = 2;
        return 0;
    }
    if (std::strcmp(path, kImage) != 0) return -ENOENT;
    st->st_mode = S_IFREG | 0600;
    st->st_nlink = 1;
    st->st_size = g_size;
    return 0;
}

int on_readdir(const char* path, void* buf, fuse_fill_dir_t fill, off_t, fuse_file_info*, fuse_readdir_flags) {
    if (std::strcmp(path, "/") != 0) return -ENOENT;
    fill(buf, ".", nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
    fill(buf, "..", nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
    fill(buf, kImage + 1, nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
    return 0;
}

int on_open(const char* path, fuse_file_info* fi) {
    if (std::strcmp(path, kImage) != 0) return -ENOENT;
    fi->direct_io = 1;
    return 0;
}

int on_read(const char*, char* buf, size_t size, off_t offset, fuse_file_info*) {
    gate();
    size_t done = 0;
    while (done < size) {
        ssize_t n = ::pread(g_backing, buf + done, size - done, offset + static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -errno;
        if (n == 0) break;
        done += static_cast<size_t>(n);
    }
    return static_cast<int>(done);
}

int on_write(const char*, const char* buf, size_t size, off_t offset, fuse_file_info*) {
    gate();
    if (offset < 0 || offset + static_cast<off_t>(size) > g_size) return -ENOSPC;  // a disk does not grow
    size_t done = 0;
    while (done < size) {
        ssize_t n = ::pwrite(g_backing, buf + done, size - done, offset + static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -errno;
        done += static_cast<size_t>(n);
    }
    return static_cast<int>(done);
}

int on_fsync(const char*, int, fuse_file_info*) {
    gate();
    return ::fdatasync(g_backing) == 0 ? 0 : -errno;
}

void say(const std::string& line) {
    std::cout << line << std::endl;  // flushed: the lab waits for it
}

// The lab's commands. At the end of stdin: release and unmount; the FUSE loop then ends.
void control() {
    std::string word;
    while (std::getline(std::cin, word)) {
        if (word == "hold") {
            set_held(true);
            say("held");
        } else if (word == "release") {
            set_held(false);
            say("released");
        } else if (word == "waiting") {
            std::lock_guard<std::mutex> lock(g_mu);
            say("waiting " + std::to_string(g_waiting));
        } else {
            say("error unknown command '" + word + "'");
        }
    }
    set_held(false);
    // Not lazily: a lazy unmount under a loop device still attached would hide both (its
    // backing file would no longer have a path under the run's folder).
    if (::umount2(g_mountpoint.c_str(), 0) != 0)
        std::fprintf(stderr, "veeam-ha-lab-holdfs: unmount %s: %s; serving it until it is unmounted\n",
                     g_mountpoint.c_str(), std::strerror(errno));
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: veeam-ha-lab-holdfs BACKING MOUNTPOINT (started by the lab)\n");
        return 2;
    }
    g_mountpoint = argv[2];
    g_backing = ::open(argv[1], O_RDWR | O_CLOEXEC);
    struct stat st{};
    if (g_backing < 0 || ::fstat(g_backing, &st) != 0) {
        std::fprintf(stderr, "veeam-ha-lab-holdfs: %s: %s\n", argv[1], std::strerror(errno));
        return 1;
    }
    g_size = st.st_size;

    fuse_operations ops{};
    ops.init = on_init;
    ops.getattr = on_getattr;
    ops.readdir = on_readdir;
    ops.open = on_open;
    ops.read = on_read;
    ops.write = on_write;
    ops.fsync = on_fsync;
    // The subtype names these mounts in mountinfo (fuse.veeam-ha-lab-disk): lab hosts drop
    // their copies at boot, and a crashed run's leftovers can be found.
    char arg0[] = "veeam-ha-lab-holdfs", o[] = "-o", opts[] = "fsname=veeam-ha-lab-disk,subtype=veeam-ha-lab-disk";
    char* args_v[] = {arg0, o, opts, nullptr};
    fuse_args args = FUSE_ARGS_INIT(3, args_v);
    fuse* fs = fuse_new(&args, &ops, sizeof ops, nullptr);
    if (!fs) return 1;
    if (fuse_mount(fs, g_mountpoint.c_str()) != 0) {
        fuse_destroy(fs);
        return 1;
    }
    say("ready");
    std::thread(control).detach();
    // One thread: a held request holds the loop too, and later requests queue in the kernel,
    // as they do behind a SAN path that stopped answering.
    int rc = fuse_loop(fs);
    fuse_unmount(fs);
    fuse_destroy(fs);
    ::close(g_backing);
    return rc == 0 ? 0 : 1;
}
