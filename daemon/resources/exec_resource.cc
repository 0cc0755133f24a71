// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/resources/exec_resource.h"

#include <sstream>

#include "daemon/common/log.h"

namespace veeamha::resources {
namespace {

// SIGTERM at (deadline - grace), SIGKILL at the deadline: the command is gone by the time the
// caller's deadline passes, not half a second after it.
constexpr std::chrono::milliseconds kKillGrace{300};

std::string outcome_text(const char* op, const std::vector<std::string>& argv, const ProcessResult& r) {
    return std::string(op) + " command `" + format_command(argv) + "`: " + r.describe();
}

}  // namespace

ExecResource::ExecResource(std::string name, config::ExecSpec spec)
    : name_(std::move(name)), spec_(std::move(spec)) {}

ProcessResult ExecResource::run(const char* op, const std::vector<std::string>& argv, Deadline deadline) const {
    ProcessSpec ps;
    ps.argv = argv;
    auto grace = std::min(kKillGrace, remaining(deadline) / 4);
    ps.deadline = deadline - grace;
    ps.kill_grace = grace;
    ProcessResult r = run_process(ps);
    if (!r.err.empty()) {
        // Every stderr line into the log (bounded by run_process's capture limit), so that what
        // the script said is there even when only its last line fits in the reason.
        std::istringstream lines(r.err);
        std::string line;
        int n = 0;
        while (std::getline(lines, line) && n++ < 50) {
            if (!line.empty()) log::info(name_ + " " + op + ": " + line);
        }
    }
    return r;
}

OpResult ExecResource::start(const OpContext& ctx) {
    if (spec_.start.empty()) return OpResult::failed("no start command configured");
    ProcessResult r = run("start", spec_.start, ctx.deadline);
    if (r.success()) return OpResult::ok();
    if (r.ended == ProcessResult::Ended::TimedOut) {
        return OpResult::timed_out(outcome_text("start", spec_.start, r) + " (its process group was killed)");
    }
    return OpResult::failed(outcome_text("start", spec_.start, r));
}

OpResult ExecResource::stop(const OpContext& ctx) {
    if (spec_.stop.empty()) return OpResult::failed("no stop command configured");
    ProcessResult r = run("stop", spec_.stop, ctx.deadline);
    if (r.success()) return OpResult::ok();
    if (r.ended == ProcessResult::Ended::Exited && r.exit_code == kOcfNotRunning) {
        return OpResult::ok("stop command says not running (exit 7)");
    }
    if (r.ended == ProcessResult::Ended::TimedOut) {
        return OpResult::timed_out(outcome_text("stop", spec_.stop, r) + " (its process group was killed)");
    }
    return OpResult::failed(outcome_text("stop", spec_.stop, r));
}

OpResult ExecResource::monitor(const OpContext& ctx) {
    if (spec_.monitor.empty()) return OpResult::failed("no monitor command configured");
    ProcessResult r = run("monitor", spec_.monitor, ctx.deadline);
    if (r.ended == ProcessResult::Ended::Exited) {
        if (r.exit_code == kOcfSuccess) return OpResult::ok();
        if (r.exit_code == kOcfNotRunning) return OpResult::not_running(outcome_text("monitor", spec_.monitor, r));
    }
    if (r.ended == ProcessResult::Ended::TimedOut) {
        return OpResult::timed_out(outcome_text("monitor", spec_.monitor, r) + " (its process group was killed)");
    }
    return OpResult::failed(outcome_text("monitor", spec_.monitor, r));
}

}  // namespace veeamha::resources
