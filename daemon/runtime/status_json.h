// SPDX-License-Identifier: GPL-2.0-or-later
// `veeam-hactl status` for people (like `pcs status`) and `--json` / HTTP /status for programs:
// the wire::Status printed by protobuf's JSON mapping (field names as in proto/veeamha.proto,
// documented field by field in the README's "Status fields").
#pragma once

#include <cstdint>
#include <string>

#include "proto/veeamha.pb.h"

namespace veeamha::runtime {

std::string status_to_json(const wire::Status& status);
std::string status_to_text(const wire::Status& status);
// "2026-11-24T21:53:04.123Z"
std::string iso8601_utc(int64_t unix_ms);
std::string iso8601_utc(const google::protobuf::Timestamp& at);
google::protobuf::Timestamp timestamp_of(int64_t unix_ms);

}  // namespace veeamha::runtime
