// SPDX-License-Identifier: GPL-2.0-or-later
// What a crashed run leaves (its process died without unwinding: SIGKILL, a CTest timeout, a
// sanitizer abort): namespaces, a loop device, cgroup folders, run and disk folders. Its host
// processes are already dead (PR_SET_PDEATHSIG on their inits) or die here (cgroup.kill).
// A run is stale only if its owner process is gone: the PID and its start time recorded in
// the run folder, or, with no run folder, a PID that no longer exists. Nothing that another
// live run (another engineer's test) owns is ever touched.
#include <dirent.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "tests/lab/lab.h"

namespace veeamha::lab {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// "vhl<PID><letters>" -> PID, or 0 if the name is not a run id.
pid_t run_owner_pid(const std::string& id) {
    if (id.size() < 5 || id.compare(0, 3, "vhl") != 0) return 0;
    size_t i = 3;
    while (i < id.size() && std::isdigit(static_cast<unsigned char>(id[i]))) ++i;
    if (i == 3 || i == id.size()) return 0;
    for (size_t j = i; j < id.size(); ++j)
        if (id[j] < 'a' || id[j] > 'z') return 0;
    return static_cast<pid_t>(std::stol(id.substr(3, i - 3)));
}

std::vector<std::string> entries(const std::string& dir) {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(dir.c_str())) {
        while (dirent* e = ::readdir(d))
            if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) out.push_back(e->d_name);
        ::closedir(d);
    }
    return out;
}

bool run_alive(const std::string& id, const std::string& run_root) {
    pid_t pid = run_owner_pid(id);
    if (pid <= 0) return true;  // not ours to judge
    std::ifstream owner(run_root + "/" + id + "/owner");
    pid_t recorded = 0;
    unsigned long long start = 0;
    if (owner >> recorded >> start && recorded == pid) return process_start_time(pid) == start;
    return ::kill(pid, 0) == 0 || errno != ESRCH;
}

}  // namespace

std::vector<std::string> Lab::cleanup_run(const std::string& id, const std::string& run_root,
                                          const std::string& disk_root) {
    std::vector<std::string> did;
    if (run_owner_pid(id) <= 0) return did;
    std::string cg = cgroup_v2_root() + "/veeam-ha-lab/" + id;
    if (::access(cg.c_str(), F_OK) == 0) {
        did.push_back(cgroup_remove_tree(cg) ? "killed and removed cgroup " + cg : "could not remove cgroup " + cg);
    }
    for (const auto& ns : entries("/run/netns")) {
        if (ns.rfind(id + "-", 0) != 0) continue;
        auto r = run_cmd({"ip", "netns", "del", ns});
        did.push_back((r.success() ? "deleted netns " : "could not delete netns ") + ns);
    }
    std::string disk_dir = disk_root + "/" + id + "/";
    for (const auto& dev : entries("/sys/block")) {
        if (dev.rfind("loop", 0) != 0) continue;
        std::ifstream in("/sys/block/" + dev + "/loop/backing_file");
        std::string backing;
        if (!std::getline(in, backing) || backing.rfind(disk_dir, 0) != 0) continue;
        auto r = run_cmd({"losetup", "-d", "/dev/" + dev}, 30s);
        did.push_back((r.success() ? "detached /dev/" : "could not detach /dev/") + dev + " (" + backing + ")");
    }
    // The disk's FUSE server (disk_over_fuse) unmounts when its lab dies; a mount left under
    // the run's disk folder all the same is detached here (lazily: it may be busy).
    {
        std::ifstream in("/proc/self/mountinfo");
        std::string line;
        while (std::getline(in, line)) {
            std::istringstream f(line);
            std::string mount_id, parent, dev, root, mp;
            f >> mount_id >> parent >> dev >> root >> mp;
            if (mp.rfind(disk_dir, 0) != 0) continue;
            bool ok = ::umount2(mp.c_str(), MNT_DETACH) == 0;
            did.push_back((ok ? "unmounted " : "could not unmount ") + mp);
        }
    }
    std::error_code ec;
    for (const auto& dir : {disk_root + "/" + id, run_root + "/" + id}) {
        if (!fs::exists(dir, ec)) continue;
        fs::remove_all(dir, ec);
        did.push_back((ec ? "could not remove " : "removed ") + dir);
    }
    ::rmdir((cgroup_v2_root() + "/veeam-ha-lab").c_str());  // only if empty
    return did;
}

std::vector<std::string> Lab::cleanup_stale(const std::string& run_root, const std::string& disk_root) {
    std::set<std::string> ids;
    for (const auto& e : entries(run_root))
        if (run_owner_pid(e) > 0) ids.insert(e);
    for (const auto& e : entries(disk_root))
        if (run_owner_pid(e) > 0) ids.insert(e);
    for (const auto& e : entries(cgroup_v2_root() + "/veeam-ha-lab"))
        if (run_owner_pid(e) > 0) ids.insert(e);
    for (const auto& ns : entries("/run/netns")) {
        size_t dash = ns.find('-');
        if (dash != std::string::npos && run_owner_pid(ns.substr(0, dash)) > 0) ids.insert(ns.substr(0, dash));
    }
    std::vector<std::string> did;
    for (const auto& id : ids) {
        if (run_alive(id, run_root)) continue;
        auto d = cleanup_run(id, run_root, disk_root);
        did.insert(did.end(), d.begin(), d.end());
    }
    return did;
}

}  // namespace veeamha::lab
