// SPDX-License-Identifier: GPL-2.0-or-later
// The kernel's view of LVM: device-mapper devices read through libdevmapper (DM_DEVICE_LIST, then
// DM_DEVICE_INFO per device). This is the ground truth for "is the VG active here": lvm2's own
// reports describe metadata, not what the kernel has mapped.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace veeamha::storage::lvm {

struct DmDevice {
    std::string name;  // e.g. "vg_repo-lv_repo" (dashes inside VG/LV names are doubled)
    std::string uuid;  // LVM devices: "LVM-<vg uuid><lv uuid>[-layer]"
    uint32_t major = 0;
    uint32_t minor = 0;
    int open_count = 0;
    bool suspended = false;
    bool live_table = false;
    bool read_only = false;
};

struct DmListing {
    // False when the kernel has no device-mapper driver loaded (not in /proc/misc): then no dm
    // device can exist, and `devices` is empty without that being an error.
    bool available = true;
    std::vector<DmDevice> devices;
    std::string error;  // libdevmapper failed; empty on success
    bool ok() const { return error.empty(); }
};

// Every dm device with its info. Thread-safe (libdevmapper calls are serialised).
DmListing list_dm_devices();

// The VG/LV/layer an LVM dm name encodes (dm_split_lvm_name): "vg--a-lv-tpool" ->
// {"vg-a", "lv", "tpool"}. nullopt when the name does not split.
struct LvmDmName {
    std::string vg;
    std::string lv;
    std::string layer;
};
std::optional<LvmDmName> split_lvm_dm_name(const std::string& dm_name);

// The dm devices that belong to VG `vg` (LVM-owned uuid and a name that splits to that VG),
// layered sub-devices (_tdata, -real, _rimage_0, ...) included.
std::vector<DmDevice> devices_of_vg(const std::vector<DmDevice>& all, const std::string& vg);

// "/dev/dm-3" style kernel name of a device, for messages.
std::string kernel_name(const DmDevice& device);

}  // namespace veeamha::storage::lvm
