// SPDX-License-Identifier: GPL-2.0-or-later
// `veeam-hactl import-pcs`: a Pacemaker CIB (and optionally corosync.conf) -> the equivalent
// /etc/veeam-ha.yaml, with a comment for everything that has no equivalent and placeholders
// ("FILL IN: ...", which `veeam-hactl check` refuses) for what the input does not say.
// README "Migrating from Pacemaker" lists what maps to what.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "migrate/cib.h"
#include "migrate/corosync_conf.h"

namespace veeamha::migrate {

struct ImportResult {
    std::string yaml;                // the configuration, commented
    std::vector<std::string> steps;  // what the admin must do before starting (password files)
    int placeholders = 0;            // FILL IN values left in `yaml`
};

// Where the password files are written (one per fence device).
inline constexpr const char* kSecretsDir = "/etc/veeam-ha";

// Throws InputError when the CIB cannot be mapped at all (more than two nodes).
ImportResult import_pcs(const Cib& cib, const std::optional<CorosyncConf>& corosync);

}  // namespace veeamha::migrate
