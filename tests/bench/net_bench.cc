// SPDX-License-Identifier: GPL-2.0-or-later
// Benchmark of net/ (root; network namespaces, see tests/net/lab_fixture.h). Prints a table:
//   1. failure detection: SIGSTOP the peer's process, time until the other node reports it
//      silent on all links; --runs times (default 20): median and max next to the timeout
//   2. false alarms: both cores saturated by stress-ng and --loss random loss (default 5%,
//      iptables statistic in each node's namespace: netem is not available here) on each
//      link, for --minutes (default 10; --seconds for a shorter run): spurious "peer lost"
//      and link-down reports
//   3. idle cost of one node with heartbeats running: CPU seconds per minute and RSS
// Options: --runs N --minutes M --seconds S --idle-seconds S --interval MS --timeout MS
//          --loss P --only detect|false|idle
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include "config/config.h"
#include "lab_fixture.h"

using namespace veeamha::net::lab;

namespace {

struct Options {
    int runs = 20;
    long false_seconds = 600;
    long idle_seconds = 60;
    // The product's defaults.
    int interval = static_cast<int>(veeamha::config::HeartbeatSection{}.interval.count());
    int timeout = static_cast<int>(veeamha::config::HeartbeatSection{}.timeout.count());
    double loss = 0.05;
    std::string only;
};

std::vector<std::string> timings(const Options& o) {
    return {"--interval", std::to_string(o.interval), "--timeout", std::to_string(o.timeout)};
}

void wait_links_up(Child& c) {
    if (!wait_all({&c}, [&] {
            Event s = stats_of(c);
            return s.get("link0.up") == "1" && s.get("link1.up") == "1";
        }, 20s))
        throw std::runtime_error("links did not come up");
}

bool peer_event(const Event& e, bool up) { return e.is("peer") && e.get("up") == (up ? "1" : "0"); }

// utime + stime in seconds, and VmRSS in KiB, of a process.
std::pair<double, long> cpu_and_rss(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string all((std::istreambuf_iterator<char>(stat)), {});
    std::istringstream rest(all.substr(all.rfind(')') + 2));
    std::string f;
    std::vector<std::string> fields;
    while (rest >> f) fields.push_back(f);
    // after ")": state(0) ... utime is field 14 overall => index 11 here, stime index 12
    double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    double cpu = (std::stod(fields.at(11)) + std::stod(fields.at(12))) / ticks;
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    long rss = -1;
    while (std::getline(status, line))
        if (line.rfind("VmRSS:", 0) == 0) rss = std::stol(line.substr(6));
    return {cpu, rss};
}

struct Row {
    std::string what, value, note;
};

Row detection(const Options& o) {
    NetLab lab;
    auto a = lab.start_node(0, timings(o));
    auto b = lab.start_node(1, timings(o));
    std::vector<long long> ms;
    std::mt19937 rng(1);
    for (int r = 0; r < o.runs; ++r) {
        wait_links_up(*a);
        wait_links_up(*b);
        // The harness is phase-locked to the peer's heartbeats (it just saw one); a real failure
        // hits at a random point of the interval.
        wait_all({a.get(), b.get()}, [] { return false; },
                 std::chrono::milliseconds(std::uniform_int_distribution<int>(0, o.interval)(rng)));
        size_t from = a->events.size();
        long long t0 = mono_ms();
        b->signal(SIGSTOP);
        auto i = wait_event(*a, from, [](const Event& e) { return peer_event(e, false); },
                            std::chrono::milliseconds(10 * o.timeout + 5000));
        b->signal(SIGCONT);
        if (!i) throw std::runtime_error("peer never reported lost after SIGSTOP");
        ms.push_back(a->events[*i].num("mono_ms") - t0);
        std::fprintf(stderr, "detection run %d: %lld ms\n", r + 1, ms.back());
        if (!wait_event(*a, *i, [](const Event& e) { return peer_event(e, true); }, 20s))
            throw std::runtime_error("peer did not come back after SIGCONT");
    }
    std::sort(ms.begin(), ms.end());
    long long median = ms[ms.size() / 2];
    char v[128], n[128];
    std::snprintf(v, sizeof v, "median %lld ms, min %lld, max %lld", median, ms.front(), ms.back());
    std::snprintf(n, sizeof n, "timeout %d ms, interval %d ms, %d runs", o.timeout, o.interval, o.runs);
    return {"failure detection (SIGSTOP -> silent on all links)", v, n};
}

Row false_alarms(const Options& o) {
    NetLab lab;
    auto a = lab.start_node(0, timings(o));
    auto b = lab.start_node(1, timings(o));
    wait_links_up(*a);
    wait_links_up(*b);
    lab.loss('a', o.loss);
    lab.loss('b', o.loss);
    size_t fa = a->events.size(), fb = b->events.size();
    long cores = ::sysconf(_SC_NPROCESSORS_ONLN);
    Child stress({"stress-ng", "--cpu", std::to_string(cores), "--timeout",
                  std::to_string(o.false_seconds) + "s", "--quiet"});
    auto end = Clock::now() + std::chrono::seconds(o.false_seconds);
    while (Clock::now() < end) {
        a->pump(100ms);
        b->pump(100ms);
    }
    stress.kill_now();
    Event sa = stats_of(*a), sb = stats_of(*b);
    long long lost = 0, link_down = 0, channel_drops = 0;
    for (auto* c : {a.get(), b.get()}) {
        size_t from = c == a.get() ? fa : fb;
        for (size_t i = from; i < c->events.size(); ++i) {
            if (peer_event(c->events[i], false)) ++lost;
            if (c->events[i].is("link") && c->events[i].get("up") == "0") ++link_down;
            if (c->events[i].is("channel") && c->events[i].get("up") == "0") ++channel_drops;
        }
    }
    char v[160], n[200];
    std::snprintf(v, sizeof v, "%lld spurious peer lost, %lld link-down, %lld peer-channel drops (both nodes)", lost,
                  link_down, channel_drops);
    std::snprintf(n, sizeof n, "%ld s, %ld cores busy (stress-ng), %.0f%% loss per link each way, measured loss %.1f%%/%.1f%%",
                  o.false_seconds, cores, o.loss * 100, 100 * sb.real("link0.loss"), 100 * sb.real("link1.loss"));
    return {"false alarms", v, n};
}

Row idle(const Options& o) {
    NetLab lab;
    auto a = lab.start_node(0, timings(o));
    auto b = lab.start_node(1, timings(o));
    wait_links_up(*a);
    wait_links_up(*b);
    wait_all({a.get(), b.get()}, [] { return false; }, 2s);  // past start-up work
    auto [cpu0, rss0] = cpu_and_rss(a->pid());
    auto end = Clock::now() + std::chrono::seconds(o.idle_seconds);
    while (Clock::now() < end) {
        a->pump(200ms);
        b->pump(10ms);
    }
    auto [cpu1, rss1] = cpu_and_rss(a->pid());
    double per_min = (cpu1 - cpu0) * 60.0 / static_cast<double>(o.idle_seconds);
    char v[128], n[128];
    std::snprintf(v, sizeof v, "%.3f CPU s/min, RSS %.1f MiB", per_min, static_cast<double>(rss1) / 1024.0);
    std::snprintf(n, sizeof n, "one netnode, 2 links, heartbeats + channel, over %ld s", o.idle_seconds);
    return {"idle cost per node", v, n};
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) throw std::runtime_error("missing value for " + a);
            return argv[++i];
        };
        if (a == "--runs") o.runs = std::stoi(next());
        else if (a == "--minutes") o.false_seconds = 60 * std::stol(next());
        else if (a == "--seconds") o.false_seconds = std::stol(next());
        else if (a == "--idle-seconds") o.idle_seconds = std::stol(next());
        else if (a == "--interval") o.interval = std::stoi(next());
        else if (a == "--timeout") o.timeout = std::stoi(next());
        else if (a == "--loss") o.loss = std::stod(next());
        else if (a == "--only") o.only = next();
        else {
            std::fprintf(stderr, "usage: %s [--runs N] [--minutes M | --seconds S] [--idle-seconds S] "
                                 "[--interval MS] [--timeout MS] [--loss P] [--only detect|false|idle]\n", argv[0]);
            return 2;
        }
    }
    std::vector<Row> rows;
    try {
        if (o.only.empty() || o.only == "detect") rows.push_back(detection(o));
        if (o.only.empty() || o.only == "idle") rows.push_back(idle(o));
        if (o.only.empty() || o.only == "false") rows.push_back(false_alarms(o));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "net bench: %s\n", e.what());
        return 1;
    }
    std::printf("\nveeam-had net benchmark (heartbeat interval %d ms, timeout %d ms, 2 links)\n\n", o.interval, o.timeout);
    size_t w0 = 0, w1 = 0;
    for (auto& r : rows) {
        w0 = std::max(w0, r.what.size());
        w1 = std::max(w1, r.value.size());
    }
    for (auto& r : rows)
        std::printf("| %-*s | %-*s | %s |\n", int(w0), r.what.c_str(), int(w1), r.value.c_str(), r.note.c_str());
    return 0;
}
