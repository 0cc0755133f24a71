// SPDX-License-Identifier: GPL-2.0-or-later
// Who this process is on the wire: (generation, incarnation).
//
// - incarnation: 64 random bits drawn at every start. It keys the sender's frame key (crypto.h)
//   and is the value the peer must echo ("receiver incarnation") to prove a frame was made
//   after this process started: an old frame replayed after a restart cannot carry it.
// - generation: strictly increasing across restarts of this node, persisted in
//   STATE_DIR/net-generation (fsync + rename) before the first frame is sent:
//   max(previous + 1, wall-clock microseconds). The peer accepts frames of a new process only
//   with a higher generation, so a captured frame of an older process is recognised as stale
//   even while the peer still remembers nothing newer. The wall-clock floor keeps this working
//   if the state directory is lost (reinstall); the persisted counter keeps it working if the
//   clock steps back.
#pragma once

#include <cstdint>
#include <string>

namespace veeamha::net {

struct Identity {
    uint64_t generation = 0;
    uint64_t incarnation = 0;
};

// Throws std::runtime_error naming the file on any I/O error (startup only).
Identity start_identity(const std::string& state_dir);

// Non-zero random 64-bit value from the OpenSSL CSPRNG.
uint64_t random_u64();

}  // namespace veeamha::net
