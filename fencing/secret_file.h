// SPDX-License-Identifier: GPL-2.0-or-later
// Passwords for vCenter and fence agents live in files only root can read (mode 0600). They are
// read at the moment of use (so a changed password needs no restart), never cached, never logged.
#pragma once

#include <string>

namespace veeamha::fencing {

struct SecretRead {
    bool ok = false;
    std::string secret;  // the first line, without its line ending
    std::string error;   // names the file and what is wrong with it; never its content
};

// Refuses a file that is not a regular file or that group or others may read or write
// (any of mode 0077), and an empty secret. At most 4 KiB are read.
SecretRead read_secret_file(const std::string& path);

// Overwrites a secret in memory before it is released.
void wipe(std::string& secret);

}  // namespace veeamha::fencing
