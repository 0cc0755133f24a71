// SPDX-License-Identifier: GPL-2.0-or-later
// The `exec` resource kind (docs/design.md §5): anything else, driven by three commands with the
// OCF exit-code convention. Commands run without a shell, in their own process group, killed
// (group-wide) at the operation's deadline; their stderr goes to the log and its last line into
// the reason.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "base/process.h"
#include "base/resource.h"

namespace veeamha::resources::exec {

inline constexpr int kOcfSuccess = 0;
inline constexpr int kOcfNotRunning = 7;

class ExecResource final : public base::Resource {
public:
    ExecResource(std::string name, config::ExecSpec spec);
    // start: exit 0 = started. stop: exit 0 (or 7, "not running") = stopped.
    // monitor: exit 0 = running, 7 = cleanly stopped, anything else = failed.
    base::OpResult start(const base::OpContext& ctx) override;
    base::OpResult stop(const base::OpContext& ctx) override;
    base::OpResult monitor(const base::OpContext& ctx) override;

    const config::ExecSpec& spec() const { return spec_; }

private:
    base::ProcessResult run(const char* op, const std::vector<std::string>& argv, base::Deadline deadline) const;

    std::string name_;
    config::ExecSpec spec_;
};

}  // namespace veeamha::resources::exec
