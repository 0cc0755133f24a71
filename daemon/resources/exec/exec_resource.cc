// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/resources/exec/exec_resource.h"

#include <sstream>

#include "base/log.h"

namespace veeamha::resources::exec {
namespace {

// SIGTERM at (deadline - grace), SIGKILL at the deadline: the command is gone by the time the
// caller's deadline passes, not half a second after it.
constexpr std::chrono::milliseconds kKillGrace{300};

std::string outcome_text(const char* op, const std::vector<std::string>& argv, const base::ProcessResult& r) {
    return std::string(op) + " command `" + base::format_command(argv) + "`: " + r.describe();
}

}  // namespace

ExecResource::ExecResource(std::string name, config::ExecSpec spec)
    : name_(std::move(name)), spec_(std::move(spec)) {}

base::ProcessResult ExecResource::run(const char* op, const std::vector<std::string>& argv, base::Deadline deadline) const {
    base::ProcessSpec ps;
    ps.argv = argv;
    auto grace = std::min(kKillGrace, base::remaining(deadline) / 4);
    ps.deadline = deadline - grace;
    ps.kill_grace = grace;
    base::ProcessResult r = base::run_process(ps);
    if (!r.err.empty()) {
        // Every stderr line into the log (bounded by run_process's capture limit), so that what
        // the script said is there even when only its last line fits in the reason.
        std::istringstream lines(r.err);
        std::string line;
        int n = 0;
        while (std::getline(lines, line) && n++ < 50) {
            if (!line.empty()) base::log::info(name_ + " " + op + ": " + line);
        }
    }
    return r;
}

base::OpResult ExecResource::start(const base::OpContext& ctx) {
    if (spec_.start.empty()) return base::OpResult::failed("no start command configured");
    base::ProcessResult r = run("start", spec_.start, ctx.deadline);
    if (r.success()) return base::OpResult::ok();
    if (r.ended == base::ProcessResult::Ended::TimedOut) {
        return base::OpResult::timed_out(outcome_text("start", spec_.start, r) + " (its process group was killed)");
    }
    return base::OpResult::failed(outcome_text("start", spec_.start, r));
}

base::OpResult ExecResource::stop(const base::OpContext& ctx) {
    if (spec_.stop.empty()) return base::OpResult::failed("no stop command configured");
    base::ProcessResult r = run("stop", spec_.stop, ctx.deadline);
    if (r.success()) return base::OpResult::ok();
    if (r.ended == base::ProcessResult::Ended::Exited && r.exit_code == kOcfNotRunning) {
        return base::OpResult::ok("stop command says not running (exit 7)");
    }
    if (r.ended == base::ProcessResult::Ended::TimedOut) {
        return base::OpResult::timed_out(outcome_text("stop", spec_.stop, r) + " (its process group was killed)");
    }
    return base::OpResult::failed(outcome_text("stop", spec_.stop, r));
}

base::OpResult ExecResource::monitor(const base::OpContext& ctx) {
    if (spec_.monitor.empty()) return base::OpResult::failed("no monitor command configured");
    base::ProcessResult r = run("monitor", spec_.monitor, ctx.deadline);
    if (r.ended == base::ProcessResult::Ended::Exited) {
        if (r.exit_code == kOcfSuccess) return base::OpResult::ok();
        if (r.exit_code == kOcfNotRunning) return base::OpResult::not_running(outcome_text("monitor", spec_.monitor, r));
    }
    if (r.ended == base::ProcessResult::Ended::TimedOut) {
        return base::OpResult::timed_out(outcome_text("monitor", spec_.monitor, r) + " (its process group was killed)");
    }
    return base::OpResult::failed(outcome_text("monitor", spec_.monitor, r));
}

}  // namespace veeamha::resources::exec
