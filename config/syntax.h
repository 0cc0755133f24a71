// SPDX-License-Identifier: GPL-2.0-or-later
// Syntax of the configuration's small languages: addresses, prefixes, host and interface names,
// UUIDs, certificate thumbprints, systemd unit names, LVM names and device paths. Each check
// returns the normalised form, or nullopt and says why in `why` (a phrase that completes
// "expected ..., found X" or follows it).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"

namespace veeamha::config::detail {

struct IpAddress {
    int family = 0;    // AF_INET or AF_INET6
    std::string text;  // canonical (inet_ntop)
};

std::optional<IpAddress> parse_ip(std::string_view text);
bool is_loopback(const IpAddress& ip);
bool is_unspecified(const IpAddress& ip);
bool is_multicast(const IpAddress& ip);

// "192.168.22.208/24": a host address (not the network or broadcast address) with a prefix.
std::optional<Cidr> parse_cidr(std::string_view text, std::string& why);

// "127.0.0.1:9668" or "[::1]:9668".
std::optional<Endpoint> parse_endpoint(std::string_view text);

// Linux's rules for a network interface name (dev_valid_name): 1-15 characters, not "." or
// "..", no '/', ':' or whitespace. Returns what is wrong, or nullopt.
std::optional<std::string> interface_name_problem(std::string_view name);

bool valid_host_name(std::string_view name);
// Letters, digits, '_', '-', '.'; 1-64 characters; not starting with '-' or '.'.
bool valid_object_name(std::string_view name);
// LVM volume group name rules (lvm(8) "VALID NAMES").
bool valid_vg_name(std::string_view name);

// 8-4-4-4-12 hex digits, returned lower-case.
std::optional<std::string> normalize_uuid(std::string_view text);
// "SHA256:AB:CD:..." (32 pairs), the same without "SHA256:", or 64 bare hex digits; returned
// as "SHA256:AB:CD:..." in upper case.
std::optional<std::string> normalize_thumbprint(std::string_view text, std::string& why);
// A systemd unit name; without a type suffix ".service" is added, as systemctl does.
std::optional<std::string> normalize_unit(std::string_view text, std::string& why);
// An absolute directory path other than "/", without "." or ".." parts or empty parts; a
// trailing '/' is dropped.
std::optional<std::string> normalize_mountpoint(std::string_view text, std::string& why);

// The volume group and logical volume of /dev/VG/LV or /dev/mapper/VG-LV ("--" stands for '-'
// in device-mapper names), or nullopt for any other device path.
struct LvmDevice {
    std::string vg;
    std::string lv;
};
std::optional<LvmDevice> lvm_device(std::string_view device);

// "a/b" is inside "a" (path-wise, not by prefix: /veeam/repo2 is not inside /veeam/repo).
bool path_inside(std::string_view inner, std::string_view outer);

}  // namespace veeamha::config::detail
