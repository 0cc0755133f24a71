// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/hosts/hosts_steps.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include "base/process.h"

namespace veeamha::test::hosts {

using namespace std::chrono_literals;

namespace {

base::ProcessResult run_here(std::vector<std::string> argv, const std::string& input = "",
                             std::chrono::seconds timeout = 60s) {
    base::ProcessSpec p;
    p.argv = std::move(argv);
    p.stdin_data = input;
    p.deadline = base::Clock::now() + timeout;
    return base::run_process(p);
}

}  // namespace

bool have(const std::string& program) {
    base::ProcessSpec p;
    p.argv = {"sh", "-c", "command -v " + program};
    p.deadline = base::Clock::now() + 10s;
    return base::run_process(p).success();
}

VmReply expect(HostsCluster& c, HostVm& h, const std::string& command, int rc, std::chrono::seconds timeout) {
    progress(h.short_name + "$ " + command);
    VmReply r = c.run(h, command, timeout);
    INFO(h.name << "$ " << command << "\n" << r.output);
    REQUIRE(r.exit_code == rc);
    return r;
}

std::string quoted(const std::string& text) {
    std::string out = "'";
    for (char ch : text) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
    return out + "'";
}

std::string poll_command(const std::string& condition, int seconds) {
    // Every 0.5 s: each try starts programs (veeam-hactl, journalctl) on the VM's one emulated
    // CPU, which at 0.2 s took about half of it from the daemon whose progress is awaited.
    return "timeout " + std::to_string(seconds) + " bash -c " + quoted("until " + condition + "; do sleep 0.5; done") +
           " || { echo " + quoted("not within " + std::to_string(seconds) + " s: " + condition) +
           "; veeam-hactl status; journalctl -u veeam-had --no-pager | tail -40; exit 1; }";
}

void wait_in(HostsCluster& c, HostVm& h, const std::string& condition, int seconds) {
    expect(c, h, poll_command(condition, seconds), 0, std::chrono::seconds(seconds + 30));
}

std::vector<VmReply> expect_both(HostsCluster& c, const std::function<std::string(HostVm&)>& command, int rc,
                                 std::chrono::seconds timeout) {
    std::vector<std::future<VmReply>> running;
    std::vector<std::string> commands;
    for (size_t i = 0; i < 2; ++i) {
        HostVm& h = c.host(i);
        commands.push_back(command(h));
        progress(h.short_name + "$ " + commands.back());
        running.push_back(std::async(std::launch::async, [&c, &h, cmd = commands.back(), timeout] {
            return c.run(h, cmd, timeout);
        }));
    }
    std::vector<VmReply> replies;
    for (auto& r : running) replies.push_back(r.get());
    for (size_t i = 0; i < 2; ++i) {
        INFO(c.host(i).name << "$ " << commands[i] << "\n" << replies[i].output);
        REQUIRE(replies[i].exit_code == rc);
    }
    return replies;
}

std::vector<std::string> deb_depends(const std::string& deb) {
    base::ProcessSpec p;
    p.argv = {"dpkg-deb", "-f", deb, "Depends"};
    p.deadline = base::Clock::now() + 30s;
    auto r = base::run_process(p);
    if (!r.success()) throw std::runtime_error("dpkg-deb -f " + deb + ": " + r.describe());
    std::vector<std::string> out;
    std::stringstream s(r.out);
    for (std::string item; std::getline(s, item, ',');) {
        item = item.substr(0, item.find('|'));
        item = item.substr(0, item.find('('));
        item.erase(0, item.find_first_not_of(" \n\t"));
        item.erase(item.find_last_not_of(" \n\t") + 1);
        if (!item.empty()) out.push_back(item);
    }
    return out;
}

void edit(std::string& text, const std::string& from, const std::string& to) {
    size_t at = text.find(from);
    INFO("the example no longer has: " << from);
    REQUIRE(at != std::string::npos);
    REQUIRE(text.find(from, at + 1) == std::string::npos);
    text.replace(at, from.size(), to);
}

std::string base64(const std::string& data) {
    base::ProcessSpec p;
    p.argv = {"base64", "-w0"};
    p.stdin_data = data;
    p.deadline = base::Clock::now() + 10s;
    auto r = base::run_process(p);
    if (!r.success()) throw std::runtime_error("base64: " + r.describe());
    return r.out;
}

std::string unbase64(const std::string& encoded) {
    base::ProcessSpec p;
    p.argv = {"base64", "-d"};
    p.stdin_data = encoded;
    p.deadline = base::Clock::now() + 10s;
    auto r = base::run_process(p);
    if (!r.success()) throw std::runtime_error("base64 -d: " + r.describe());
    return r.out;
}

namespace {

// One command that writes the file: the content base64-encoded on its command line (the
// agent reads lines of any length; one round trip instead of one per 3000 bytes).
std::string put_file_command(const std::string& path, const std::string& content, const char* mode) {
    return "install -D -m " + std::string(mode) + " /dev/null " + path + " && printf %s " + base64(content) +
           " | base64 -d > " + path;
}

}  // namespace

void put_file(HostsCluster& c, HostVm& h, const std::string& path, const std::string& content, const char* mode) {
    progress(h.short_name + ": writing " + path + " (" + std::to_string(content.size()) + " bytes, mode " + mode + ")");
    VmReply r = c.run(h, put_file_command(path, content, mode));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
}

void put_file_both(HostsCluster& c, const std::string& path, const std::string& content, const char* mode) {
    progress("both: writing " + path + " (" + std::to_string(content.size()) + " bytes, mode " + mode + ")");
    const std::string command = put_file_command(path, content, mode);
    std::vector<std::future<VmReply>> running;
    for (size_t i = 0; i < 2; ++i)
        running.push_back(std::async(std::launch::async, [&c, &command, i] { return c.run(c.host(i), command); }));
    std::vector<VmReply> replies;
    for (auto& r : running) replies.push_back(r.get());
    for (size_t i = 0; i < 2; ++i) {
        INFO(c.host(i).name << ": writing " << path << "\n" << replies[i].output);  // never the content
        REQUIRE(replies[i].exit_code == 0);
    }
}

std::string network_files(const HostVm& h) {
    std::string cmd;
    for (size_t link = 0; link < 2; ++link) {
        const std::string eth = "eth" + std::to_string(link);
        cmd += "printf '[Match]\\nName=" + eth + "\\n[Network]\\nAddress=" + h.addresses[link] +
               "/24\\nLinkLocalAddressing=no\\n' > /etc/systemd/network/10-" + eth + ".network && ";
    }
    return cmd + "systemctl restart systemd-networkd";
}


std::string repack_deb(const std::string& deb, const std::string& version, const std::string& out_dir) {
    const std::string tree = out_dir + "/repack";
    std::filesystem::remove_all(tree);
    std::filesystem::create_directories(out_dir);
    auto r = run_here({"dpkg-deb", "-R", deb, tree});
    if (!r.success()) throw std::runtime_error("dpkg-deb -R " + deb + ": " + r.describe() + "\n" + r.err);
    const std::string control = tree + "/DEBIAN/control";
    std::string text = slurp(control);
    const size_t at = text.find("\nVersion: ");
    if (at == std::string::npos) throw std::runtime_error(control + ": no Version field");
    const size_t end = text.find('\n', at + 1);
    text.replace(at + 1, end - at - 1, "Version: " + version);
    std::ofstream(control, std::ios::trunc) << text;
    const std::string out = out_dir + "/veeam-had_" + version + "_" +
                            std::filesystem::path(deb).filename().string().substr(
                                std::filesystem::path(deb).filename().string().rfind('_') + 1);
    r = run_here({"dpkg-deb", "--root-owner-group", "-Zgzip", "-b", tree, out});
    if (!r.success()) throw std::runtime_error("dpkg-deb -b " + tree + ": " + r.describe() + "\n" + r.err);
    std::filesystem::remove_all(tree);
    return out;
}

std::string journal_cursor(HostsCluster& c, HostVm& h, const std::string& unit) {
    VmReply r = c.run(h, "journalctl -q -u " + unit + " -n 0 --show-cursor");
    const std::string mark = "-- cursor: ";
    const size_t at = r.output.find(mark);
    INFO(r.output);
    REQUIRE(at != std::string::npos);
    std::string cursor = r.output.substr(at + mark.size());
    return cursor.substr(0, cursor.find_first_of("\r\n"));
}

std::string journal_since(HostsCluster& c, HostVm& h, const std::string& unit, const std::string& cursor) {
    return c.run(h, "journalctl -q --no-pager -o short-monotonic -u " + unit + " --after-cursor=" + quoted(cursor))
        .output;
}

std::string unit_property(HostsCluster& c, HostVm& h, const std::string& unit, const std::string& property) {
    VmReply r = expect(c, h, "systemctl show -p " + property + " --value " + unit);
    std::string v = r.output;
    v.erase(v.find_last_not_of("\r\n ") + 1);
    return v;
}

}  // namespace veeamha::test::hosts
