// SPDX-License-Identifier: GPL-2.0-or-later
// Benchmark: wall time of a vSphere fence (power-off confirmed by reading poweredOff back),
// side by side against govmomi's simulator as it is (instant login, a power-off task that ends
// inside its call) and against a realistic vCenter (the same simulator with a 500 ms login and
// a PowerOff task that runs for 2 s, tests/fencing/vcsim/realistic.go):
//
//   cold fence: a fencer with nothing kept: connect, TLS, login, FindByUuid, PowerOffVM_Task,
//               wait for the task, read the power state back;
//   warm fence: after a status() (what the daemon runs at start and every 5 minutes) left the
//               session logged in and the VM found: check, power off, wait, read back.
//
// "over task" is the median minus the task's own time: what the fencer adds to the power-off
// itself. Then the inventory: a cold fence with 2,000 VMs (the VM is found through the search
// index, so it must not grow with the inventory), the PowerOff call alone on an open session
// (the floor), and a full listing (what a list-based agent such as fence_vmware_soap pays).
//
//   fencing_bench [--runs N] [--realistic-runs N]   (20 and 10; prints tables, asserts nothing)
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "base/log.h"
#include "fencing/vsphere/vim_session.h"
#include "fencing/vsphere/vsphere_fencer.h"
#include "tests/fencing/vcsim_fixture.h"

using namespace veeamha;
using namespace veeamha::fencing;
using namespace veeamha::test;
using namespace std::chrono_literals;

namespace {

struct Stats {
    double median = 0, min = 0, max = 0;
};

Stats stats(std::vector<double> ms) {
    std::sort(ms.begin(), ms.end());
    Stats s;
    if (ms.empty()) return s;
    s.min = ms.front();
    s.max = ms.back();
    size_t n = ms.size();
    s.median = n % 2 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2;
    return s;
}

double ms_since(base::Clock::time_point t) {
    return std::chrono::duration<double, std::milli>(base::Clock::now() - t).count();
}

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "fencing_bench: %s\n", what.c_str());
    std::exit(1);
}

base::Deadline in(std::chrono::seconds s) { return base::Clock::now() + s; }

struct Kind {
    const char* name;
    int login_ms;
    int task_ms;
};

struct Column {
    Stats cold, warm;
    int task_ms;
};

// The VM on again between runs, not timed: without the task time, so runs do not wait for it.
void power_on(Vcsim& sim, const config::VSphere& v, int task_ms) {
    if (task_ms > 0) sim.set("task-ms", 0);
    if (!VSphereFencer(v, {{kNode2, kUuid2}}, VimSessions::OneShot).on(kNode2, in(30s)).confirmed)
        die("could not power the VM on");
    if (task_ms > 0) sim.set("task-ms", task_ms);
}

Column measure(const Kind& kind, int runs) {
    VcsimOptions o;
    o.login_delay_ms = kind.login_ms;
    o.task_ms = kind.task_ms;
    Vcsim sim(o);
    config::VSphere v = sim.vsphere();
    Column c;
    c.task_ms = kind.task_ms;

    std::vector<double> cold;
    for (int i = 0; i < runs; ++i) {
        power_on(sim, v, kind.task_ms);
        VSphereFencer fencer(v, {{kNode2, kUuid2}});  // nothing kept yet
        auto t = base::Clock::now();
        FenceResult r = fencer.off(kNode2, in(30s));
        cold.push_back(ms_since(t));
        if (!r.confirmed) die("cold fence not confirmed: " + r.detail);
    }
    c.cold = stats(cold);

    std::vector<double> warm;
    VSphereFencer fencer(v, {{kNode2, kUuid2}});
    for (int i = 0; i < runs; ++i) {
        power_on(sim, v, kind.task_ms);
        if (!fencer.status(kNode2, in(30s)).confirmed) die("status failed");
        auto t = base::Clock::now();
        FenceResult r = fencer.off(kNode2, in(30s));
        warm.push_back(ms_since(t));
        if (!r.confirmed) die("warm fence not confirmed: " + r.detail);
    }
    c.warm = stats(warm);
    return c;
}

struct Row {
    std::string what;
    Stats s;
};

void inventory(int runs, std::vector<Row>& rows) {
    VcsimOptions o;
    o.extra_vms = 1998;
    Vcsim sim(o);
    config::VSphere v = sim.vsphere();
    std::vector<double> full;
    for (int i = 0; i < runs; ++i) {
        power_on(sim, v, 0);
        VSphereFencer fencer(v, {{kNode2, kUuid2}});
        auto t = base::Clock::now();
        FenceResult r = fencer.off(kNode2, in(30s));
        full.push_back(ms_since(t));
        if (!r.confirmed) die("fence not confirmed: " + r.detail);
    }
    rows.push_back({"cold fence, 2,000 VMs", stats(full)});

    // Floor: PowerOffVM_Task alone on one open session.
    std::vector<double> floor;
    vsphere::VimSession s(v, base::Clock::now() + 600s);
    if (auto e = s.connect()) die(e->message);
    if (auto e = s.login(kPassword)) die(e->message);
    auto vm = s.find_vm(kUuid2, config::UuidKind::Bios);
    if (!vm.ok()) die(vm.error().message);
    for (int i = 0; i < runs; ++i) {
        auto on = s.start_power_op(vm.value(), vsphere::PowerOp::On);
        if (!on.ok() || !s.wait_task(on.value(), vsphere::Step::WaitTask).ok()) die("power on failed");
        auto t = base::Clock::now();
        auto off = s.start_power_op(vm.value(), vsphere::PowerOp::Off);
        floor.push_back(ms_since(t));
        if (!off.ok()) die(off.error().message);
    }
    rows.push_back({"PowerOffVM_Task call alone, 2,000 VMs (floor)", stats(floor)});

    std::vector<double> list;
    for (int i = 0; i < std::min(runs, 5); ++i) {
        auto t = base::Clock::now();
        auto l = s.list_vms();
        list.push_back(ms_since(t));
        if (!l.ok() || l.value().size() != 2000) die("list failed");
    }
    rows.push_back({"list all 2,000 VMs (a list-based agent, per poll)", stats(list)});
    s.logout();
}

void print_cell(const Stats& s, int task_ms) {
    std::printf(" %8.1f %7.1f %7.1f %9.1f |", s.median, s.min, s.max, s.median - task_ms);
}

}  // namespace

int main(int argc, char** argv) {
    int runs = 20, realistic_runs = 10;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            runs = std::max(1, std::atoi(argv[++i]));
        } else if (std::strcmp(argv[i], "--realistic-runs") == 0 && i + 1 < argc) {
            realistic_runs = std::max(1, std::atoi(argv[++i]));
        } else {
            std::printf("usage: %s [--runs N] [--realistic-runs N]\n"
                        "Cold and warm vSphere fences against the vCenter simulator as it is and\n"
                        "as a realistic vCenter (500 ms login, 2 s PowerOff task), side by side.\n",
                        argv[0]);
            return std::strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }
    base::log::set_max_level(base::Level::Warning);
    const Kind plain{"simulator as is", 0, 0};
    const Kind realistic{"realistic vCenter", 500, 2000};
    Column a = measure(plain, runs);
    Column b = measure(realistic, realistic_runs);
    std::vector<Row> rows;
    inventory(runs, rows);

    std::printf("\nvSphere fence, power-off confirmed by poweredOff read back (ms); %d and %d runs\n\n", runs,
                realistic_runs);
    std::printf("%-12s| %-43s| %-43s|\n", "", "simulator as is (instant login and task)",
                "realistic vCenter (login 500 ms, task 2 s)");
    std::printf("%-12s|", "fence");
    for (int k = 0; k < 2; ++k) std::printf(" %8s %7s %7s %9s |", "median", "min", "max", "over task");
    std::printf("\n%-12s|", "cold");
    print_cell(a.cold, a.task_ms);
    print_cell(b.cold, b.task_ms);
    std::printf("\n%-12s|", "warm");
    print_cell(a.warm, a.task_ms);
    print_cell(b.warm, b.task_ms);
    std::printf("\n\nInventory, simulator as is (ms), %d runs\n\n", runs);
    std::printf("%-50s %9s %9s %9s\n", "what", "median", "min", "max");
    for (const auto& r : rows) std::printf("%-50s %9.2f %9.2f %9.2f\n", r.what.c_str(), r.s.median, r.s.min, r.s.max);
    return 0;
}
