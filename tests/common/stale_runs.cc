// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/common/stale_runs.h"

#include <signal.h>

#include <cctype>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "base/process.h"

namespace veeamha::test {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// Whether `text` names `path`: contains it, and what follows cannot continue a file name (the
// folder of PID 12 is not named by a path of PID 123).
bool names(const std::string& text, const std::string& path) {
    for (size_t at = text.find(path); at != std::string::npos; at = text.find(path, at + 1)) {
        const size_t end = at + path.size();
        if (end == text.size()) return true;
        const unsigned char next = static_cast<unsigned char>(text[end]);
        if (!std::isalnum(next) && next != '-' && next != '_' && next != '.') return true;
    }
    return false;
}

bool names_any(const std::string& text, const std::vector<std::string>& paths) {
    for (const auto& p : paths)
        if (names(text, p)) return true;
    return false;
}

}  // namespace

pid_t run_owner(const std::string& name, const std::string& prefix) {
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) return 0;
    const std::string rest = name.substr(prefix.size());
    const size_t digits = rest.find_first_not_of("0123456789");
    if (digits == 0 || (digits != std::string::npos && rest[digits] != '-')) return 0;
    const std::string number = rest.substr(0, digits);
    if (number.size() > 9) return 0;
    return static_cast<pid_t>(std::stol(number));
}

bool pid_gone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

std::vector<storage::filesystem::Holder> find_processes(const std::function<bool(pid_t)>& matches,
                                                        const std::string& how) {
    std::vector<storage::filesystem::Holder> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/proc", ec)) {
        const pid_t pid = run_owner(e.path().filename().string(), "");
        if (pid <= 1 || pid == ::getpid()) continue;
        auto h = storage::filesystem::holder_of(pid, how);
        if (h && matches(pid)) out.push_back(std::move(*h));
    }
    return out;
}

std::vector<std::string> sweep_stale_runs(const std::string& prefix) {
    std::vector<std::string> did;
    const fs::path p(prefix);
    const std::string stem = p.filename().string();
    std::vector<std::string> stale;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(p.parent_path(), ec)) {
        const pid_t owner = run_owner(e.path().filename().string(), stem);
        if (owner > 0 && pid_gone(owner)) stale.push_back(e.path().string());
    }
    if (stale.empty()) return did;

    const auto procs = find_processes(
        [&](pid_t pid) {
            std::string cmdline = read_all("/proc/" + std::to_string(pid) + "/cmdline");
            for (char& c : cmdline)
                if (c == '\0') c = ' ';
            return names_any(cmdline, stale);
        },
        "command line");
    if (!procs.empty()) {
        const auto r = storage::filesystem::stop_holders(procs, 2s, base::Clock::now() + 10s);
        did.push_back("stopped " + storage::filesystem::describe(procs));
        if (!r.survivors.empty()) did.push_back("did not die: " + storage::filesystem::describe(r.survivors));
    }

    for (const auto& e : fs::directory_iterator("/sys/block", ec)) {
        const std::string dev = e.path().filename().string();
        if (dev.rfind("loop", 0) != 0) continue;
        std::string backing = read_all(e.path().string() + "/loop/backing_file");
        while (!backing.empty() && backing.back() == '\n') backing.pop_back();
        if (backing.empty() || !names_any(backing, stale)) continue;
        base::ProcessSpec detach;
        detach.argv = {"losetup", "-d", "/dev/" + dev};
        detach.deadline = base::Clock::now() + 10s;
        const base::ProcessResult r = base::run_process(detach);
        const std::string what = r.success() ? "detached" : "could not detach (" + r.describe() + ")";
        did.push_back(what + " /dev/" + dev + " (" + backing + ")");
    }

    for (const auto& path : stale) {
        std::error_code rm;
        fs::remove_all(path, rm);
        did.push_back((rm ? "could not remove (" + rm.message() + ") " : "removed ") + path);
    }
    return did;
}

}  // namespace veeamha::test
