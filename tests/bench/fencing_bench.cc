// SPDX-License-Identifier: GPL-2.0-or-later
// Benchmark: wall time of a full vSphere fence against govmomi's vCenter simulator, with 2 VMs
// and with 2,000 VMs in the inventory. A full fence is what the daemon does: new TLS
// connection, login, FindByUuid, PowerOffVM_Task, wait for the task, read runtime.powerState
// back, logout. Our fence finds the VM through the search index, so its time must not grow
// with the inventory (fence_vmware_soap lists every VM, so its time does). The floor is the
// simulator's PowerOff call alone on an open, logged-in connection; "list all VMs" shows what
// a list-based agent pays on every poll.
//
//   fencing_bench [--runs N]      (default 20; prints a table, asserts nothing)
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

struct Row {
    std::string what;
    int vms;
    Stats s;
};

void measure(int extra_vms, int runs, std::vector<Row>& rows) {
    VcsimOptions o;
    o.extra_vms = extra_vms;
    Vcsim sim(o);
    const int total = 2 + extra_vms;
    config::VSphere v = sim.vsphere();
    VSphereFencer fencer(v, {{kNode2, kUuid2}});

    // Full fence: each run starts with the VM on (not timed).
    std::vector<double> full;
    for (int i = 0; i < runs; ++i) {
        if (!fencer.on(kNode2, base::Clock::now() + 30s).confirmed) die("could not power the VM on");
        auto t = base::Clock::now();
        FenceResult r = fencer.off(kNode2, base::Clock::now() + 30s);
        full.push_back(ms_since(t));
        if (!r.confirmed) die("fence not confirmed: " + r.detail);
    }
    rows.push_back({"full fence (connect, login, find, power off, read back)", total, stats(full)});

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
    rows.push_back({"PowerOffVM_Task call alone (floor)", total, stats(floor)});

    std::vector<double> list;
    for (int i = 0; i < std::min(runs, 5); ++i) {
        auto t = base::Clock::now();
        auto l = s.list_vms();
        list.push_back(ms_since(t));
        if (!l.ok() || static_cast<int>(l.value().size()) != total) die("list failed");
    }
    rows.push_back({"list all VMs (what a list-based agent pays per poll)", total, stats(list)});
    s.logout();
}

}  // namespace

int main(int argc, char** argv) {
    int runs = 20;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            runs = std::max(1, std::atoi(argv[++i]));
        } else {
            std::printf("usage: %s [--runs N]\n"
                        "Median wall time of a full vSphere fence against the vCenter simulator\n"
                        "with 2 and with 2,000 VMs, and the PowerOff call alone as the floor.\n",
                        argv[0]);
            return std::strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }
    base::log::set_max_level(base::Level::Warning);
    std::vector<Row> rows;
    measure(0, runs, rows);
    measure(1998, runs, rows);

    std::printf("\nvSphere fencing against govmomi's simulator, %d runs each (ms)\n\n", runs);
    std::printf("%-55s %6s %9s %9s %9s\n", "what", "VMs", "median", "min", "max");
    for (const auto& r : rows)
        std::printf("%-55s %6d %9.2f %9.2f %9.2f\n", r.what.c_str(), r.vms, r.s.median, r.s.min, r.s.max);
    std::printf("\nfull fence, 2,000 VMs / 2 VMs: %.2f\n", rows[3].s.median / rows[0].s.median);
    return 0;
}
