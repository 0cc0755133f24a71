// SPDX-License-Identifier: GPL-2.0-or-later
// The network lab of the net/ lab tests and benchmark (root only): namespaces A and B (the two
// nodes), X (an attacker) and S (the switch: one bridge per link), every host joined to every
// bridge by a veth pair; addresses 10.77.<link>.{1=A,2=B,3=X}/24. Bridges flood every frame
// (ageing_time 0) so X sees the nodes' traffic. Names carry the PID (unique per run); the
// destructor kills the processes it started (by PID) and deletes the namespaces it made, also
// when a test fails. netem is not available on these machines: loss comes from iptables'
// statistic match inside a namespace.
#pragma once

#include <sys/stat.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/process.h"
#include "net/key_file.h"

namespace veeamha::net::lab {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

inline long long mono_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
}

// One "event=... k=v ..." line.
struct Event {
    std::string raw;
    std::map<std::string, std::string> kv;
    std::string get(const std::string& k) const {
        auto it = kv.find(k);
        return it == kv.end() ? "" : it->second;
    }
    long long num(const std::string& k) const {
        auto v = get(k);
        return v.empty() || v == "-" ? -1 : std::stoll(v);
    }
    double real(const std::string& k) const {
        auto v = get(k);
        return v.empty() ? -1.0 : std::stod(v);
    }
    bool is(const std::string& name) const { return get("event") == name; }
    static Event parse(const std::string& line) {
        Event e;
        e.raw = line;
        size_t pos = 0;
        while (pos < line.size()) {
            size_t end = line.find(' ', pos);
            if (end == std::string::npos) end = line.size();
            std::string tok = line.substr(pos, end - pos);
            size_t eq = tok.find('=');
            if (eq != std::string::npos) e.kv[tok.substr(0, eq)] = tok.substr(eq + 1);
            pos = end + 1;
        }
        return e;
    }
};

// A child process with stdin/stdout pipes; SIGKILLed and reaped on destruction, and killed by
// the kernel if the test process dies (PR_SET_PDEATHSIG).
class Child {
public:
    explicit Child(const std::vector<std::string>& argv) {
        int in[2], out[2];
        if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0)
            throw std::runtime_error("pipe failed");
        pid_t parent = ::getpid();
        pid_ = ::fork();
        if (pid_ < 0) throw std::runtime_error("fork failed");
        if (pid_ == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent) ::_exit(127);
            ::dup2(in[0], 0);
            ::dup2(out[1], 1);
            std::vector<char*> args;
            for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
            args.push_back(nullptr);
            ::execvp(args[0], args.data());
            ::_exit(127);
        }
        ::close(in[0]);
        ::close(out[1]);
        in_ = in[1];
        out_ = out[0];
        ::fcntl(out_, F_SETFL, O_NONBLOCK);
    }
    ~Child() {
        kill_now();
        if (in_ >= 0) ::close(in_);
        if (out_ >= 0) ::close(out_);
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    pid_t pid() const { return pid_; }
    void kill_now() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        int st;
        ::waitpid(pid_, &st, 0);
        pid_ = -1;
    }
    bool exited() {
        if (pid_ <= 0) return true;
        int st;
        if (::waitpid(pid_, &st, WNOHANG) == pid_) {
            pid_ = -1;
            return true;
        }
        return false;
    }
    void signal(int sig) {
        if (pid_ > 0) ::kill(pid_, sig);
    }
    void command(const std::string& line) {
        std::string l = line + "\n";
        if (::write(in_, l.data(), l.size()) < 0) {}
    }
    // Reads what is available, waiting at most `wait`.
    void pump(std::chrono::milliseconds wait) {
        pollfd p{out_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(wait.count())) <= 0) return;
        char buf[65536];
        for (;;) {
            ssize_t n = ::read(out_, buf, sizeof buf);
            if (n <= 0) break;
            partial_.append(buf, static_cast<size_t>(n));
        }
        size_t nl;
        while ((nl = partial_.find('\n')) != std::string::npos) {
            std::string line = partial_.substr(0, nl);
            partial_.erase(0, nl + 1);
            if (line.rfind("event=", 0) == 0) events.push_back(Event::parse(line));
        }
    }
    std::vector<Event> events;

private:
    pid_t pid_ = -1;
    int in_ = -1, out_ = -1;
    std::string partial_;
};

// Waits (bounded) until `pred` holds for an event of `c` at index >= from; returns its index.
inline std::optional<size_t> wait_event(Child& c, size_t from, const std::function<bool(const Event&)>& pred,
                                        std::chrono::milliseconds bound) {
    auto end = Clock::now() + bound;
    for (;;) {
        for (size_t i = from; i < c.events.size(); ++i)
            if (pred(c.events[i])) return i;
        if (Clock::now() >= end) return std::nullopt;
        c.pump(20ms);
    }
}

// Pumps every child until `done` or the bound; true if done.
inline bool wait_all(std::vector<Child*> children, const std::function<bool()>& done,
                     std::chrono::milliseconds bound) {
    auto end = Clock::now() + bound;
    while (!done()) {
        if (Clock::now() >= end) return false;
        for (auto* c : children) c->pump(5ms);
    }
    return true;
}

// Asks for a stats line and returns it.
inline Event stats_of(Child& c) {
    size_t from = c.events.size();
    c.command("stats");
    auto i = wait_event(c, from, [](const Event& e) { return e.is("stats"); }, 5s);
    if (!i) throw std::runtime_error("no stats answer from netnode");
    return c.events[*i];
}

class NetLab {
public:
    static constexpr int kLinks = 2;

    NetLab() {
        if (::geteuid() != 0) throw std::runtime_error("the net lab needs root (network namespaces)");
        tag_ = std::to_string(::getpid());
        char tmpl[] = "/tmp/veeamha-netlab-XXXXXX";
        if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
        dir_ = tmpl;
        try {
            for (char h : {'s', 'a', 'b', 'x'}) {
                run({"ip", "netns", "add", ns(h)});
                made_.push_back(ns(h));
                run({"ip", "-n", ns(h), "link", "set", "lo", "up"});
            }
            for (int l = 0; l < kLinks; ++l) {
                std::string br = "br" + std::to_string(l);
                run({"ip", "-n", ns('s'), "link", "add", br, "type", "bridge", "ageing_time", "0"});
                run({"ip", "-n", ns('s'), "link", "set", br, "up"});
                for (char h : {'a', 'b', 'x'}) {
                    run({"ip", "link", "add", host_if(h, l), "netns", ns(h), "type", "veth", "peer",
                         "name", switch_if(h, l), "netns", ns('s')});
                    run({"ip", "-n", ns('s'), "link", "set", switch_if(h, l), "master", br, "up"});
                    run({"ip", "-n", ns(h), "addr", "add", addr(h, l) + "/24", "dev", host_if(h, l)});
                    run({"ip", "-n", ns(h), "link", "set", host_if(h, l), "up"});
                }
            }
            {  // a key as `veeam-hactl keygen` writes it: 32 random bytes, mode 0600
                std::string key(32, '\0');
                std::ifstream("/dev/urandom", std::ios::binary).read(key.data(), 32);
                std::ofstream(dir_ + "/authkey", std::ios::binary) << key;
                ::chmod((dir_ + "/authkey").c_str(), 0600);
            }
            for (char h : {'a', 'b'}) std::filesystem::create_directories(state_dir(h));
        } catch (...) {
            teardown();
            throw;
        }
    }
    ~NetLab() { teardown(); }
    NetLab(const NetLab&) = delete;
    NetLab& operator=(const NetLab&) = delete;

    std::string ns(char h) const { return std::string("vhnet") + tag_ + h; }
    std::string host_if(char h, int l) const { return "vn" + tag_ + h + std::to_string(l); }
    std::string switch_if(char h, int l) const { return "vs" + tag_ + h + std::to_string(l); }
    static std::string addr(char h, int l) {
        return "10.77." + std::to_string(l) + "." + (h == 'a' ? "1" : h == 'b' ? "2" : "3");
    }
    std::string key_file() const { return dir_ + "/authkey"; }
    std::string state_dir(char h) const { return dir_ + "/state-" + h; }

    // Pull the cable of host h on link l (its switch port goes down), and put it back.
    void cut(char h, int l) { run({"ip", "-n", ns('s'), "link", "set", switch_if(h, l), "down"}); }
    void restore(char h, int l) { run({"ip", "-n", ns('s'), "link", "set", switch_if(h, l), "up"}); }
    // Random loss of incoming packets in host h's namespace (iptables statistic; no netem here).
    void loss(char h, double probability) {
        run({"iptables", "-w", "5", "-A", "INPUT", "-m", "statistic", "--mode", "random",
             "--probability", std::to_string(probability), "-j", "DROP"}, h);
    }
    void clear_loss(char h) { run({"iptables", "-w", "5", "-F", "INPUT"}, h); }

    std::vector<std::string> netnode_argv(int self, const std::vector<std::string>& extra = {}) const {
        char h = self == 0 ? 'a' : 'b';
        std::vector<std::string> argv = {"ip", "netns", "exec", ns(h), VEEAMHA_NETNODE,
                                         "--self", std::to_string(self),
                                         "--addr0", addr('a', 0) + "," + addr('a', 1),
                                         "--addr1", addr('b', 0) + "," + addr('b', 1),
                                         "--key", key_file(), "--state-dir", state_dir(h)};
        argv.insert(argv.end(), extra.begin(), extra.end());
        return argv;
    }
    std::unique_ptr<Child> start_node(int self, const std::vector<std::string>& extra = {}) {
        auto c = std::make_unique<Child>(netnode_argv(self, extra));
        if (!wait_event(*c, 0, [](const Event& e) { return e.is("ready"); }, 10s))
            throw std::runtime_error("netnode " + std::to_string(self) + " did not start");
        return c;
    }
    std::unique_ptr<Child> start_attacker(int victim, int seconds, uint16_t port = 5409) {
        char v = victim == 0 ? 'a' : 'b', p = victim == 0 ? 'b' : 'a';
        std::vector<std::string> argv = {
            "ip", "netns", "exec", ns('x'), VEEAMHA_NETATTACK,
            "--ifaces", host_if('x', 0) + "," + host_if('x', 1),
            "--victim", addr(v, 0) + "," + addr(v, 1),
            "--spoof", addr(p, 0) + "," + addr(p, 1),
            "--port", std::to_string(port), "--seconds", std::to_string(seconds)};
        return std::make_unique<Child>(argv);
    }

    // Runs a command (optionally inside host h's namespace); throws with its stderr on failure.
    void run(std::vector<std::string> argv, char h = 0) const {
        if (h) argv.insert(argv.begin(), {"ip", "netns", "exec", ns(h)});
        base::ProcessSpec spec;
        spec.argv = argv;
        spec.deadline = Clock::now() + 20s;
        auto r = base::run_process(spec);
        if (!r.success())
            throw std::runtime_error(base::format_command(argv) + ": " + r.describe());
    }

private:
    void teardown() {
        for (auto it = made_.rbegin(); it != made_.rend(); ++it) {
            base::ProcessSpec spec;
            spec.argv = {"ip", "netns", "del", *it};
            spec.deadline = Clock::now() + 20s;
            base::run_process(spec);
        }
        made_.clear();
        std::error_code ec;
        if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
    }

    std::string tag_;
    std::string dir_;
    std::vector<std::string> made_;
};

}  // namespace veeamha::net::lab
