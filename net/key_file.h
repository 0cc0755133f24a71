// SPDX-License-Identifier: GPL-2.0-or-later
// The cluster key file (cluster.key_file, default /etc/veeam-ha/authkey): exactly 32 random
// bytes, a regular file owned by the user the daemon runs as, mode 0600 or stricter. Read once
// at startup. The key's bytes never reach a log line or an error message.
#pragma once

#include <stdexcept>
#include <string>

#include "net/crypto.h"

namespace veeamha::net {

struct KeyFileError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Throws KeyFileError naming the file and what to do (e.g. the chmod command to run).
SecretKey load_key_file(const std::string& path);

// New keys are written by `veeam-hactl keygen` (daemon/hactl/keygen.cc).

}  // namespace veeamha::net
