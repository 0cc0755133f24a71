// SPDX-License-Identifier: GPL-2.0-or-later
// veeamha-hosts-watch: the hosts tier's double-activation watcher, run inside each VM from boot
// (a unit the test installs). Every 10 ms it reads which device-mapper devices exist
// (/sys/block/dm-*/dm/name) and what is mounted (/proc/self/mountinfo), keeps the ones whose
// name contains one of the given words (the shared VGs), and writes a line whenever that set
// changes, to OUTPUT (a serial port the host logs to a file, so the lines survive a power-off):
//   W <CLOCK_REALTIME ns> <host> dm:<name>,... mnt:<mountpoint>=<source>,...
// and "W ... alive" once a second, so the test sees it sampled the whole time. No forks: a
// sample costs a few system calls, also under emulation.
//
//   veeamha-hosts-watch OUTPUT WORD...
#include <dirent.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

bool wanted(const std::string& s, const std::vector<std::string>& words) {
    for (const auto& w : words)
        if (s.find(w) != std::string::npos) return true;
    return false;
}

// The whole of an open /proc or /sys file, read again from its start (kept open: an open and a
// close per file and sample cost more than the read under emulation).
bool read_again(int fd, std::string& out) {
    out.clear();
    char buf[8192];
    for (off_t at = 0;;) {
        ssize_t n = ::pread(fd, buf, sizeof buf, at);
        if (n < 0) return false;
        if (n == 0) return true;
        out.append(buf, static_cast<size_t>(n));
        at += n;
    }
}

// What one sample reads, opened once. It used to open, parse with streams and close everything
// every 10 ms: about 16 % of the VM's one emulated CPU, taken from the daemon and every step
// (docs/hosts.md, Time). The same sets, the same lines.
struct Sampler {
    std::vector<std::string> words;
    DIR* blocks = ::opendir("/sys/block");
    int mountinfo = ::open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
    std::string text;

    std::string sample() {
        std::set<std::string> dm, mounts;
        if (blocks) {
            ::rewinddir(blocks);
            while (dirent* e = ::readdir(blocks)) {
                if (std::strncmp(e->d_name, "dm-", 3) != 0) continue;
                // A dm device's name file is read afresh: the minor may belong to another LV now.
                const std::string path = std::string("/sys/block/") + e->d_name + "/dm/name";
                int f = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
                if (f < 0) continue;
                std::string name;
                if (read_again(f, name)) {
                    name = name.substr(0, name.find('\n'));
                    if (wanted(name, words)) dm.insert(name);
                }
                ::close(f);
            }
        }
        if (mountinfo >= 0 && read_again(mountinfo, text)) {
            for (size_t at = 0; at < text.size();) {
                size_t eol = text.find('\n', at);
                if (eol == std::string::npos) eol = text.size();
                const std::string line = text.substr(at, eol - at);
                at = eol + 1;
                if (!wanted(line, words)) continue;  // most lines: nothing of the shared VGs
                // id parent major:minor root mountpoint options ... - fstype source superopts
                std::istringstream s(line);
                std::string id, parent, devno, root, mountpoint;
                s >> id >> parent >> devno >> root >> mountpoint;
                size_t dash = line.find(" - ");
                if (dash == std::string::npos) continue;
                std::istringstream rest(line.substr(dash + 3));
                std::string fstype, source;
                rest >> fstype >> source;
                if (wanted(source, words) || wanted(mountpoint, words)) mounts.insert(mountpoint + "=" + source);
            }
        }
        std::string out = "dm:";
        for (const auto& n : dm) out += n + ",";
        out += " mnt:";
        for (const auto& m : mounts) out += m + ",";
        return out;
    }
};

long long now_ns(clockid_t clock) {
    timespec ts{};
    ::clock_gettime(clock, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s OUTPUT WORD...\n", argv[0]);
        return 2;
    }
    int fd = ::open(argv[1], O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        std::perror(argv[1]);
        return 1;
    }
    Sampler sampler;
    sampler.words.assign(argv + 2, argv + argc);
    if (!sampler.blocks || sampler.mountinfo < 0) {
        std::perror("/sys/block or /proc/self/mountinfo");
        return 1;
    }
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    std::string last = "(none)";
    long long last_alive = 0;
    for (;;) {
        std::string now = sampler.sample();
        long long mono = now_ns(CLOCK_MONOTONIC);
        std::string line;
        if (now != last) {
            line = "W " + std::to_string(now_ns(CLOCK_REALTIME)) + " " + host + " " + now + "\n";
            last = now;
        } else if (mono - last_alive >= 1000000000LL) {
            line = "W " + std::to_string(now_ns(CLOCK_REALTIME)) + " " + host + " alive\n";
        }
        if (!line.empty()) {
            last_alive = mono;
            if (::write(fd, line.data(), line.size()) < 0) return 1;
        }
        timespec tick{0, 10 * 1000 * 1000};
        ::nanosleep(&tick, nullptr);
    }
}
