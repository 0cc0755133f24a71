// SPDX-License-Identifier: GPL-2.0-or-later
// The engine speaks plain structs; the wire speaks protobuf. These convert at the edge.
#pragma once

#include "daemon/engine/types.h"
#include "proto/veeamha.pb.h"

namespace veeamha::runtime {

wire::NodeState to_wire(const engine::NodeState& s);
engine::NodeState from_wire(const wire::NodeState& s);
wire::GroupState to_wire(engine::GroupState s);
wire::ResourceState to_wire(engine::ResourceState s);

}  // namespace veeamha::runtime
