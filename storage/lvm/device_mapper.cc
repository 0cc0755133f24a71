// SPDX-License-Identifier: GPL-2.0-or-later
#include "storage/lvm/device_mapper.h"

#include <libdevmapper.h>

#include <cstdarg>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>

namespace veeamha::storage::lvm {
namespace {

// libdevmapper is not thread-safe and logs through one global hook: every use goes through this
// mutex, and the hook keeps the last error for the message instead of printing it to stderr.
std::mutex g_dm_mutex;
std::string g_last_error;  // guarded by g_dm_mutex

extern "C" void capture_dm_log(int level, const char* /*file*/, int /*line*/, int /*dm_errno*/,
                               const char* format, ...) __attribute__((format(printf, 5, 6)));
extern "C" void capture_dm_log(int level, const char* /*file*/, int /*line*/, int /*dm_errno*/,
                               const char* format, ...) {
    if ((level & 7) > 3) return;  // keep errors (_LOG_ERR and worse) only
    char buf[512];
    va_list ap;
    va_start(ap, format);
    std::vsnprintf(buf, sizeof buf, format, ap);
    va_end(ap);
    g_last_error = buf;
}

struct TaskDeleter {
    void operator()(dm_task* t) const { dm_task_destroy(t); }
};
using Task = std::unique_ptr<dm_task, TaskDeleter>;

struct PoolDeleter {
    void operator()(dm_pool* p) const { dm_pool_destroy(p); }
};

bool driver_loaded() {
    std::ifstream misc("/proc/misc");
    std::string line;
    while (std::getline(misc, line)) {
        if (line.find(" device-mapper") != std::string::npos) return true;
    }
    return false;
}

std::string dm_error(const std::string& what) {
    std::string text = "libdevmapper: " + what;
    if (!g_last_error.empty()) text += ": " + g_last_error;
    return text;
}

}  // namespace

DmListing list_dm_devices() {
    DmListing out;
    // Without the driver nothing is mapped; asking libdevmapper would only fail on
    // /dev/mapper/control (and might autoload dm_mod, which a monitor must not do).
    if (!driver_loaded()) {
        out.available = false;
        return out;
    }
    std::lock_guard lock(g_dm_mutex);
    static std::once_flag hook_once;
    std::call_once(hook_once, [] { dm_log_with_errno_init(capture_dm_log); });
    g_last_error.clear();

    Task list(dm_task_create(DM_DEVICE_LIST));
    if (!list) {
        out.error = dm_error("cannot create a DM_DEVICE_LIST task");
        return out;
    }
    if (!dm_task_run(list.get())) {
        out.error = dm_error("DM_DEVICE_LIST failed");
        dm_lib_release();
        return out;
    }
    std::vector<std::string> names;
    if (dm_names* n = dm_task_get_names(list.get()); n && n->dev) {
        for (;;) {
            names.emplace_back(n->name);
            if (!n->next) break;
            n = reinterpret_cast<dm_names*>(reinterpret_cast<char*>(n) + n->next);
        }
    }
    for (const auto& name : names) {
        Task info_task(dm_task_create(DM_DEVICE_INFO));
        if (!info_task || !dm_task_set_name(info_task.get(), name.c_str()) ||
            !dm_task_run(info_task.get())) {
            out.error = dm_error("DM_DEVICE_INFO " + name + " failed");
            break;
        }
        dm_info info{};
        if (!dm_task_get_info(info_task.get(), &info)) {
            out.error = dm_error("cannot read the info of " + name);
            break;
        }
        if (!info.exists) continue;  // removed between LIST and INFO
        DmDevice d;
        d.name = name;
        const char* uuid = dm_task_get_uuid(info_task.get());
        d.uuid = uuid ? uuid : "";
        d.major = info.major;
        d.minor = info.minor;
        d.open_count = info.open_count;
        d.suspended = info.suspended != 0;
        d.live_table = info.live_table != 0;
        d.read_only = info.read_only != 0;
        out.devices.push_back(std::move(d));
    }
    if (!out.ok()) out.devices.clear();
    dm_lib_release();
    return out;
}

std::optional<LvmDmName> split_lvm_dm_name(const std::string& dm_name) {
    std::unique_ptr<dm_pool, PoolDeleter> pool(dm_pool_create("veeamha-dm-name", 256));
    if (!pool) return std::nullopt;
    char* vg = nullptr;
    char* lv = nullptr;
    char* layer = nullptr;
    if (!dm_split_lvm_name(pool.get(), dm_name.c_str(), &vg, &lv, &layer) || !vg || !*vg)
        return std::nullopt;
    return LvmDmName{vg, lv ? lv : "", layer ? layer : ""};
}

std::vector<DmDevice> devices_of_vg(const std::vector<DmDevice>& all, const std::string& vg) {
    std::vector<DmDevice> out;
    for (const auto& d : all) {
        if (d.uuid.rfind("LVM-", 0) != 0) continue;  // multipath, crypt, ... are not ours
        auto split = split_lvm_dm_name(d.name);
        if (split && split->vg == vg) out.push_back(d);
    }
    return out;
}

std::string kernel_name(const DmDevice& device) { return "dm-" + std::to_string(device.minor); }

}  // namespace veeamha::storage::lvm
