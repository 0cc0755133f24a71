// SPDX-License-Identifier: GPL-2.0-or-later
// What `veeam-hactl import-pcs` cannot read: the message names the file, the element or line,
// and what was expected (README "Migrating from Pacemaker").
#pragma once

#include <stdexcept>
#include <string>

namespace veeamha::migrate {

class InputError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace veeamha::migrate
