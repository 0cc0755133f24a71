// SPDX-License-Identifier: GPL-2.0-or-later
// Waits until vCenter's TCP port answers at all, trying a fresh connect every second. A connect
// to a host behind a route or firewall that drops packets gets no answer, and the kernel repeats
// its SYN only 1, 3, 7 ... s apart: a vCenter reachable again would be reached seconds late, and
// a takeover waits for that. With a fresh SYN every second it is reached within a second of its
// return; the real connection (TCP and TLS, by gSOAP) follows at once.
#pragma once

#include "base/deadline.h"

namespace veeamha::fencing::vsphere {

// True once the port accepted a connection or refused it (an answer either way: the real
// connect then fails or succeeds at once), or when the host cannot be resolved or probed (the
// real connect reports it); false only when `until` passed with no answer.
bool wait_until_answering(const char* host, int port, base::Deadline until);

}  // namespace veeamha::fencing::vsphere
