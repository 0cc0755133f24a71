// SPDX-License-Identifier: GPL-2.0-or-later
// veeamha-lvm-tool: a command-line wrapper around LvmResource, copied into the test VMs so that
// the resource code itself (not a script imitating it) activates, monitors and stops VGs on a
// real device-mapper.
//
//   veeamha-lvm-tool start|stop|monitor VG LOCAL_NODE PEER_NODE
//                    [--peer-gone] [--hand-over-to NODE] [--tag-mode] [--timeout-ms N]
//
// Prints "RESULT <status>: <reason>". Exit: 0 ok, 7 not running, 1 failed, 2 timed out, 64 usage.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "storage/lvm/lvm_resource.h"

using namespace veeamha;

int main(int argc, char** argv) {
    if (argc < 5) {
        std::fprintf(stderr,
                     "usage: %s start|stop|monitor VG LOCAL PEER [--peer-gone] [--hand-over-to NODE] "
                     "[--tag-mode] [--timeout-ms N]\n",
                     argv[0]);
        return 64;
    }
    std::string op = argv[1];
    config::LvmSpec spec;
    spec.vg = argv[2];
    base::OpContext ctx;
    ctx.local_node = argv[3];
    ctx.peer_node = argv[4];
    long timeout_ms = 60000;
    for (int i = 5; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--peer-gone") {
            ctx.peer_released_or_fenced = true;
        } else if (a == "--hand-over-to" && i + 1 < argc) {
            ctx.hand_over_to = argv[++i];
        } else if (a == "--tag-mode") {
            spec.mode = config::LvmSpec::Mode::Tag;
        } else if (a == "--partial-allow") {
            spec.partial_allow = true;
        } else if (a == "--timeout-ms" && i + 1 < argc) {
            timeout_ms = std::atol(argv[++i]);
        } else {
            std::fprintf(stderr, "unknown argument %s\n", a.c_str());
            return 64;
        }
    }
    ctx.deadline = base::Clock::now() + std::chrono::milliseconds(timeout_ms);
    storage::lvm::LvmResource resource(spec, ctx.local_node);
    base::OpResult r;
    if (op == "start") r = resource.start(ctx);
    else if (op == "stop") r = resource.stop(ctx);
    else if (op == "monitor") r = resource.monitor(ctx);
    else {
        std::fprintf(stderr, "unknown operation %s\n", op.c_str());
        return 64;
    }
    std::printf("RESULT %s: %s\n", base::to_string(r.outcome), r.reason.c_str());
    switch (r.outcome) {
        case base::Outcome::Ok: return 0;
        case base::Outcome::NotRunning: return 7;
        case base::Outcome::TimedOut: return 2;
        case base::Outcome::Failed: return 1;
    }
    return 1;
}
