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
#include <fstream>
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

std::string sample(const std::vector<std::string>& words) {
    std::set<std::string> dm, mounts;
    if (DIR* d = ::opendir("/sys/block")) {
        while (dirent* e = ::readdir(d)) {
            std::string n = e->d_name;
            if (n.rfind("dm-", 0) != 0) continue;
            std::ifstream f("/sys/block/" + n + "/dm/name");
            std::string name;
            if (std::getline(f, name) && wanted(name, words)) dm.insert(name);
        }
        ::closedir(d);
    }
    std::ifstream mi("/proc/self/mountinfo");
    for (std::string line; std::getline(mi, line);) {
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
    std::string out = "dm:";
    for (const auto& n : dm) out += n + ",";
    out += " mnt:";
    for (const auto& m : mounts) out += m + ",";
    return out;
}

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
    std::vector<std::string> words(argv + 2, argv + argc);
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    std::string last = "(none)";
    long long last_alive = 0;
    for (;;) {
        std::string now = sample(words);
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
