// SPDX-License-Identifier: GPL-2.0-or-later
// veeam-ha-sim: runs the deterministic cluster simulator over many seeds.
//   veeam-ha-sim --seeds N [--start S] [--threads T]   many seeds, a summary
//   veeam-ha-sim --seed X --trace                      one seed, its whole timeline
//   veeam-ha-sim --unsafe ...                          engine with the test-only unsafe rule
// Exit 0 when every seed passed (or, with --expect-violation, when one failed).
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/sim/random_run.h"
#include "tests/sim/scenarios.h"

using namespace veeamha::sim;

namespace {

void usage() {
    std::puts(
        "usage: veeam-ha-sim [--seeds N] [--start S] [--threads T] [--seed X] [--trace]\n"
        "                    [--unsafe] [--no-protocol-checks] [--expect-violation]\n"
        "                    [--fault-phase MS]\n"
        "       veeam-ha-sim --scenarios [--rewrite]      every named scenario vs its golden\n"
        "       veeam-ha-sim --scenario NAME [--trace]    one named scenario\n"
        "  --seeds N        run seeds S..S+N-1 (default 1000)\n"
        "  --seed X         run exactly seed X (add --trace for its timeline)\n"
        "  --unsafe         test-only engine rule: take over on timeout without fencing\n"
        "  --expect-violation  succeed only if some seed fails (proves the checkers bite)\n"
        "A failure prints its seed; `veeam-ha-sim --seed X --trace` replays it exactly.");
}

}  // namespace

int run_scenarios(const std::string& only, bool trace, bool rewrite) {
    int failed = 0;
    for (const auto& name : scenario_names()) {
        if (!only.empty() && name != only) continue;
        ScenarioResult r = run_scenario(name, VEEAMHA_GOLDEN_DIR, rewrite);
        if (trace) std::fputs(r.timeline.c_str(), stdout);
        std::printf("%-32s %s\n", name.c_str(), r.passed() ? (rewrite ? "rewritten" : "passed") : "FAILED");
        for (const auto& f : r.failures) std::printf("    %s\n", f.c_str());
        if (!r.golden_diff.empty()) std::printf("    %s\n", r.golden_diff.c_str());
        failed += r.passed() ? 0 : 1;
    }
    return failed == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
    uint64_t seeds = 1000, start = 1;
    unsigned threads = std::max(1u, std::thread::hardware_concurrency());
    bool single = false, trace = false, expect_violation = false;
    RunOptions base;
    bool scenarios = false, rewrite = false;
    std::string only;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--scenarios") { scenarios = true; continue; }
        if (a == "--rewrite") { rewrite = true; continue; }
        if (a == "--scenario" && i + 1 < argc) { scenarios = true; only = argv[++i]; continue; }
        auto value = [&]() -> uint64_t {
            if (i + 1 >= argc) { std::fprintf(stderr, "%s needs a value\n", a.c_str()); std::exit(2); }
            return std::strtoull(argv[++i], nullptr, 10);
        };
        if (a == "--seeds") seeds = value();
        else if (a == "--start") start = value();
        else if (a == "--threads") threads = static_cast<unsigned>(std::max<uint64_t>(1, value()));
        else if (a == "--seed") { start = value(); seeds = 1; single = true; }
        else if (a == "--trace") trace = true;
        else if (a == "--unsafe") base.unsafe = true;
        else if (a == "--no-protocol-checks") base.check_protocol = false;
        else if (a == "--expect-violation") expect_violation = true;
        else if (a == "--fault-phase") base.fault_phase = static_cast<int64_t>(value());
        else if (a == "--help" || a == "-h") { usage(); return 0; }
        else { std::fprintf(stderr, "unknown argument %s\n", a.c_str()); usage(); return 2; }
    }

    if (scenarios) return run_scenarios(only, trace, rewrite);

    std::atomic<uint64_t> next{start};
    std::atomic<uint64_t> failed{0};
    std::mutex mu;
    std::map<std::string, int> faults, events, profiles;
    std::vector<uint64_t> failing;
    veeamha::engine::Millis worst_recovery = 0;
    std::string first_report;

    auto worker = [&] {
        for (;;) {
            uint64_t seed = next++;
            if (seed >= start + seeds) return;
            RunOptions ro = base;
            ro.seed = seed;
            ro.trace = trace;
            RunResult r = run_seed(ro);
            if (!r.passed && !trace && failing.size() < 1) {
                ro.trace = true;  // replay with the timeline for the report
                r = run_seed(ro);
            }
            std::lock_guard<std::mutex> lock(mu);
            for (const auto& [k, v] : r.faults) faults[k] += v;
            for (const auto& [k, v] : r.events) events[k] += v;
            profiles[r.profile]++;
            worst_recovery = std::max(worst_recovery, r.recovered_after);
            if (single) {
                if (trace) std::fputs(r.timeline.c_str(), stdout);
                std::printf("seed %llu (%s): %s\n", static_cast<unsigned long long>(seed),
                            r.profile.c_str(), r.passed ? "passed" : r.violation.c_str());
            }
            if (!r.passed) {
                failed++;
                failing.push_back(seed);
                if (first_report.empty() && !single)
                    first_report = "seed " + std::to_string(seed) + " (" + r.profile + "): " +
                                   r.violation + "\ntimeline:\n" + r.timeline;
            }
        }
    };
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < (single ? 1 : threads); ++t) pool.emplace_back(worker);
    for (auto& t : pool) t.join();

    if (!single) {
        std::puts("faults injected (all seeds):");
        for (const auto& [k, v] : faults) std::printf("  %-22s %d\n", k.c_str(), v);
        std::puts("engine decisions seen:");
        for (const auto& [k, v] : events) std::printf("  %-22s %d\n", k.c_str(), v);
        std::puts("configuration variants:");
        for (const auto& [k, v] : profiles) std::printf("  %-22s %d\n", k.c_str(), v);
        std::printf("slowest recovery after healing: %s\n",
                    veeamha::engine::format_ms(worst_recovery).c_str());
        if (!first_report.empty()) std::printf("FIRST FAILURE: %s\n", first_report.c_str());
        if (!failing.empty()) {
            std::printf("failing seeds:");
            for (size_t i = 0; i < failing.size() && i < 20; ++i)
                std::printf(" %llu", static_cast<unsigned long long>(failing[i]));
            std::puts(failing.size() > 20 ? " ..." : "");
            std::printf("replay one with: veeam-ha-sim --seed %llu --trace%s\n",
                        static_cast<unsigned long long>(failing.front()), base.unsafe ? " --unsafe" : "");
        }
    }
    std::printf("%llu passed, %llu failed\n", static_cast<unsigned long long>(seeds - failed),
                static_cast<unsigned long long>(failed.load()));
    if (expect_violation) return failed > 0 ? 0 : 1;
    return failed == 0 ? 0 : 1;
}
