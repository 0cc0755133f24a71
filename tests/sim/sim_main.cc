// SPDX-License-Identifier: GPL-2.0-or-later
// veeam-ha-sim: runs the deterministic cluster simulator over many seeds.
//   veeam-ha-sim --seeds N [--start S] [--threads T]   many seeds from S (default: fresh), a summary
//   veeam-ha-sim --seed X --trace                      one seed, its whole timeline
//   veeam-ha-sim --mutant NAME --expect-violation ...  a planted bug must be caught
// Exit 0 when every seed passed (or, with --expect-violation, when one failed).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/sim/random_run.h"
#include "tests/sim/scenarios.h"

using namespace veeamha::sim;
using veeamha::engine::Mutant;

namespace {

void usage() {
    std::puts(
        "usage: veeam-ha-sim [--seeds N] [--start S] [--threads T] [--seed X] [--trace]\n"
        "                    [--mutant NAME] [--no-protocol-checks] [--expect-violation]\n"
        "                    [--fault-phase MS]\n"
        "       veeam-ha-sim --scenarios [--rewrite]      every named scenario vs its golden\n"
        "       veeam-ha-sim --scenario NAME [--trace]    one named scenario\n"
        "       veeam-ha-sim --list-mutants\n"
        "  --seeds N        run N seeds from S (default 1000)\n"
        "  --start S        the first seed (default: fresh, from the clock; printed first)\n"
        "  --seed X         run exactly seed X (add --trace for its timeline)\n"
        "  --mutant NAME    run the engine with a planted bug (daemon/engine/mutants.h)\n"
        "  --expect-violation  succeed only if some seed fails (proves the checkers bite); with\n"
        "                   --mutant the named scenarios are tried first (--seeds-only: not)\n"
        "A failure prints its seed and the command that replays it exactly.");
}

std::string replay_command(uint64_t seed, const std::string& mutant, bool protocol) {
    return "veeam-ha-sim --seed " + std::to_string(seed) + " --trace" +
           (mutant.empty() ? "" : " --mutant " + mutant) + (protocol ? "" : " --no-protocol-checks");
}

}  // namespace

int run_scenarios(const std::string& only, bool trace, bool rewrite, Mutant mutant) {
    int failed = 0;
    for (const auto& name : scenario_names()) {
        if (!only.empty() && name != only) continue;
        ScenarioResult r = run_scenario(name, mutant == Mutant::None ? VEEAMHA_GOLDEN_DIR : "", rewrite, mutant);
        if (trace) std::fputs(r.timeline.c_str(), stdout);
        std::printf("%-40s %s\n", name.c_str(), r.passed() ? (rewrite ? "rewritten" : "passed") : "FAILED");
        for (const auto& f : r.failures) std::printf("    %s\n", f.c_str());
        if (!r.golden_diff.empty()) std::printf("    %s\n", r.golden_diff.c_str());
        failed += r.passed() ? 0 : 1;
    }
    return failed == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
    uint64_t seeds = 1000;
    // Fresh seeds in every run, so that CI explores new schedules each time; printed first, and
    // every failure prints its own replay command.
    uint64_t start = std::random_device{}() ^ static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
    start %= 4'000'000'000ULL;
    unsigned threads = std::max(1u, std::thread::hardware_concurrency());
    bool single = false, trace = false, expect_violation = false, seeds_only = false;
    RunOptions base;
    std::string mutant_name;
    bool scenarios = false, rewrite = false;
    std::string only;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--scenarios") { scenarios = true; continue; }
        if (a == "--rewrite") { rewrite = true; continue; }
        if (a == "--scenario" && i + 1 < argc) { scenarios = true; only = argv[++i]; continue; }
        if (a == "--list-mutants") {
            for (const auto& m : veeamha::engine::mutants()) std::puts(m.name);
            return 0;
        }
        if (a == "--mutant" && i + 1 < argc) {
            mutant_name = argv[++i];
            auto it = std::find_if(veeamha::engine::mutants().begin(), veeamha::engine::mutants().end(),
                                   [&](const auto& m) { return mutant_name == m.name; });
            if (it == veeamha::engine::mutants().end()) {
                std::fprintf(stderr, "unknown mutant %s (see --list-mutants)\n", mutant_name.c_str());
                return 2;
            }
            base.mutant = it->mutant;
            continue;
        }
        auto value = [&]() -> uint64_t {
            if (i + 1 >= argc) { std::fprintf(stderr, "%s needs a value\n", a.c_str()); std::exit(2); }
            return std::strtoull(argv[++i], nullptr, 10);
        };
        if (a == "--seeds") seeds = value();
        else if (a == "--start") start = value();
        else if (a == "--threads") threads = static_cast<unsigned>(std::max<uint64_t>(1, value()));
        else if (a == "--seed") { start = value(); seeds = 1; single = true; }
        else if (a == "--trace") trace = true;
        else if (a == "--no-protocol-checks") base.check_protocol = false;
        else if (a == "--seeds-only") seeds_only = true;
        else if (a == "--expect-violation") expect_violation = true;
        else if (a == "--fault-phase") base.fault_phase = static_cast<int64_t>(value());
        else if (a == "--help" || a == "-h") { usage(); return 0; }
        else { std::fprintf(stderr, "unknown argument %s\n", a.c_str()); usage(); return 2; }
    }

    if (scenarios) return run_scenarios(only, trace, rewrite, base.mutant);

    if (!single)
        std::printf("seeds %llu..%llu%s (replay all: veeam-ha-sim --start %llu --seeds %llu%s)\n",
                    static_cast<unsigned long long>(start), static_cast<unsigned long long>(start + seeds - 1),
                    mutant_name.empty() ? "" : (" with mutant " + mutant_name).c_str(),
                    static_cast<unsigned long long>(start), static_cast<unsigned long long>(seeds),
                    mutant_name.empty() ? "" : (" --mutant " + mutant_name).c_str());
    std::fflush(stdout);
    auto began = std::chrono::steady_clock::now();
    // A planted bug may be caught by a named scenario (an invariant broken, not merely another
    // timeline) before any random seed.
    if (expect_violation && base.mutant != Mutant::None && base.check_protocol && !seeds_only) {
        for (const auto& name : scenario_names()) {
            ScenarioResult r = run_scenario(name, "", false, base.mutant);
            if (r.violation.empty()) continue;
            std::printf("CAUGHT by scenario %s: %s\nreplay: veeam-ha-sim --scenario %s --trace --mutant %s\n",
                        name.c_str(), r.violation.c_str(), name.c_str(), mutant_name.c_str());
            return 0;
        }
    }

    std::atomic<uint64_t> next{start};
    std::atomic<uint64_t> failed{0};
    std::atomic<bool> stop{false};
    std::mutex mu;
    std::map<std::string, int> faults, events, profiles;
    std::vector<uint64_t> failing;
    veeamha::engine::Millis worst_recovery = 0;
    std::string first_report;

    auto worker = [&] {
        for (;;) {
            uint64_t seed = next++;
            if (seed >= start + seeds || stop) return;
            RunOptions ro = base;
            ro.seed = seed;
            ro.trace = trace;
            RunResult r = run_seed(ro);
            if (!r.passed && !trace && first_report.empty() && !expect_violation) {
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
                                   r.violation + (r.timeline.empty() ? "" : "\ntimeline:\n" + r.timeline);
                if (expect_violation) stop = true;  // the planted bug was caught: enough
            }
        }
    };
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < (single ? 1 : threads); ++t) pool.emplace_back(worker);
    for (auto& t : pool) t.join();
    double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();

    if (!single && !expect_violation) {
        std::puts("faults injected (all seeds):");
        for (const auto& [k, v] : faults) std::printf("  %-32s %d\n", k.c_str(), v);
        std::puts("engine decisions seen:");
        for (const auto& [k, v] : events) std::printf("  %-32s %d\n", k.c_str(), v);
        std::puts("configuration variants:");
        for (const auto& [k, v] : profiles) std::printf("  %-48s %d\n", k.c_str(), v);
        std::printf("slowest recovery after healing: %s\n",
                    veeamha::engine::format_ms(worst_recovery).c_str());
    }
    if (!first_report.empty()) std::printf("%s: %s\n", expect_violation ? "CAUGHT" : "FIRST FAILURE", first_report.c_str());
    if (!failing.empty()) {
        std::sort(failing.begin(), failing.end());
        std::printf("failing seeds:");
        for (size_t i = 0; i < failing.size() && i < 20; ++i)
            std::printf(" %llu", static_cast<unsigned long long>(failing[i]));
        std::puts(failing.size() > 20 ? " ..." : "");
        std::printf("replay one with: %s\n", replay_command(failing.front(), mutant_name, base.check_protocol).c_str());
    }
    uint64_t ran = std::min<uint64_t>(next.load() - start, seeds);
    std::printf("%llu seeds in %.1f s: %llu passed, %llu failed\n", static_cast<unsigned long long>(ran), took,
                static_cast<unsigned long long>(ran - failed), static_cast<unsigned long long>(failed.load()));
    if (expect_violation) {
        if (failed == 0)
            std::printf("NOT CAUGHT: %s survived %llu seeds: the simulator cannot see this bug\n",
                        mutant_name.empty() ? "the planted bug" : mutant_name.c_str(), static_cast<unsigned long long>(ran));
        return failed > 0 ? 0 : 1;
    }
    return failed == 0 ? 0 : 1;
}
