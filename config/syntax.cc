// SPDX-License-Identifier: GPL-2.0-or-later
#include "config/syntax.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <vector>

namespace veeamha::config::detail {

namespace {

bool is_hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

// The bytes of an address, for the checks below.
std::vector<unsigned char> address_bytes(const IpAddress& ip) {
    std::vector<unsigned char> out(ip.family == AF_INET ? 4 : 16);
    inet_pton(ip.family, ip.text.c_str(), out.data());
    return out;
}

}  // namespace

std::optional<IpAddress> parse_ip(std::string_view text) {
    if (text.empty() || text.size() > INET6_ADDRSTRLEN) return std::nullopt;
    std::string s(text);
    unsigned char buf[16];
    char out[INET6_ADDRSTRLEN];
    for (int family : {AF_INET, AF_INET6}) {
        if (inet_pton(family, s.c_str(), buf) == 1 && inet_ntop(family, buf, out, sizeof out))
            return IpAddress{family, out};
    }
    return std::nullopt;
}

bool is_loopback(const IpAddress& ip) {
    auto b = address_bytes(ip);
    if (ip.family == AF_INET) return b[0] == 127;
    static const unsigned char one[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    return std::memcmp(b.data(), one, 16) == 0;
}

bool is_unspecified(const IpAddress& ip) {
    auto b = address_bytes(ip);
    return std::all_of(b.begin(), b.end(), [](unsigned char c) { return c == 0; });
}

bool is_multicast(const IpAddress& ip) {
    auto b = address_bytes(ip);
    if (ip.family == AF_INET) return b[0] >= 224;  // multicast, reserved and broadcast
    return b[0] == 0xff;
}

std::optional<Cidr> parse_cidr(std::string_view text, std::string& why) {
    size_t slash = text.find('/');
    auto ip = parse_ip(text.substr(0, slash));
    if (!ip) {
        why = "an IPv4 or IPv6 address with a prefix length, e.g. 192.168.22.208/24";
        return std::nullopt;
    }
    if (slash == std::string_view::npos) {
        why = "a prefix length after the address, e.g. " + ip->text + "/24";
        return std::nullopt;
    }
    std::string_view p = text.substr(slash + 1);
    const int max = ip->family == AF_INET ? 32 : 128;
    int prefix = -1;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (p.empty() || ec != std::errc() || end != p.data() + p.size() || prefix < 1 ||
        prefix > max || p[0] == '+') {
        why = "a prefix length from 1 to " + std::to_string(max);
        return std::nullopt;
    }
    if (is_unspecified(*ip) || is_loopback(*ip) || is_multicast(*ip)) {
        why = "a unicast address that hosts can be reached at (not loopback, multicast or "
              "unspecified)";
        return std::nullopt;
    }
    if (ip->family == AF_INET && prefix <= 30) {
        auto b = address_bytes(*ip);
        uint32_t a = (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
        uint32_t host_mask = prefix == 32 ? 0 : (0xffffffffu >> prefix);
        if ((a & host_mask) == 0) {
            why = "a host address, not the network address of the /" + std::to_string(prefix);
            return std::nullopt;
        }
        if ((a & host_mask) == host_mask) {
            why = "a host address, not the broadcast address of the /" + std::to_string(prefix);
            return std::nullopt;
        }
    }
    Cidr c;
    c.family = ip->family;
    c.address = ip->text;
    c.prefix = prefix;
    return c;
}

std::optional<Endpoint> parse_endpoint(std::string_view text) {
    std::string_view host, port;
    if (!text.empty() && text[0] == '[') {
        size_t close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return std::nullopt;
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        size_t colon = text.rfind(':');
        if (colon == std::string_view::npos) return std::nullopt;
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) return std::nullopt;  // IPv6 needs [ ]
    }
    auto ip = parse_ip(host);
    if (!ip || (text[0] == '[') != (ip->family == AF_INET6)) return std::nullopt;
    int n = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || n < 1 || n > 65535)
        return std::nullopt;
    return Endpoint{ip->text, static_cast<uint16_t>(n)};
}

std::optional<std::string> interface_name_problem(std::string_view name) {
    if (name.empty()) return "an interface name, e.g. ens192";
    if (name.size() > 15) return "an interface name of at most 15 characters (IFNAMSIZ)";
    if (name == "." || name == "..") return "an interface name other than . or ..";
    for (char c : name) {
        if (c == '/' || c == ':' || std::isspace(static_cast<unsigned char>(c)) ||
            static_cast<unsigned char>(c) < 0x20)
            return "an interface name without '/', ':' or whitespace";
    }
    return std::nullopt;
}

bool valid_host_name(std::string_view name) {
    if (name.empty() || name.size() > 253) return false;
    size_t start = 0;
    while (start <= name.size()) {
        size_t dot = name.find('.', start);
        std::string_view label = name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
            return false;
        for (char c : label)
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    return true;
}

bool valid_object_name(std::string_view name) {
    if (name.empty() || name.size() > 64 || name[0] == '-' || name[0] == '.') return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
    });
}

bool valid_vg_name(std::string_view name) {
    if (name.empty() || name.size() > 127 || name[0] == '-' || name == "." || name == "..")
        return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '_' || c == '.' ||
               c == '-';
    });
}

std::optional<std::string> normalize_uuid(std::string_view text) {
    if (text.size() != 36) return std::nullopt;
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        bool dash_place = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash_place ? c != '-' : !is_hex(c)) return std::nullopt;
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

std::optional<std::string> normalize_thumbprint(std::string_view text, std::string& why) {
    std::string_view t = text;
    if (t.size() >= 7) {
        std::string head(t.substr(0, 7));
        std::transform(head.begin(), head.end(), head.begin(), ::toupper);
        if (head == "SHA256:") t.remove_prefix(7);
    }
    std::string hex;
    bool all_hex = !t.empty();
    if (t.find(':') != std::string_view::npos) {
        // "AB:CD:...": hex pairs separated by single colons.
        all_hex = t.size() % 3 == 2;
        for (size_t i = 0; all_hex && i < t.size(); ++i) {
            if (i % 3 == 2)
                all_hex = t[i] == ':';
            else if ((all_hex = is_hex(t[i])))
                hex += t[i];
        }
    } else {
        all_hex = all_hex && std::all_of(t.begin(), t.end(), is_hex);
        hex = std::string(t);
    }
    if (all_hex && hex.size() == 40) {
        why = "a SHA-256 thumbprint (32 bytes), not SHA-1 (20 bytes): openssl x509 -noout "
              "-fingerprint -sha256 -in CERT";
        return std::nullopt;
    }
    if (!all_hex || hex.size() != 64) {
        why = "a SHA-256 thumbprint: SHA256: and 32 hex pairs separated by ':', or 64 hex digits";
        return std::nullopt;
    }
    std::string out = "SHA256";
    for (size_t i = 0; i < hex.size(); i += 2) {
        out += ':';
        out += static_cast<char>(std::toupper(static_cast<unsigned char>(hex[i])));
        out += static_cast<char>(std::toupper(static_cast<unsigned char>(hex[i + 1])));
    }
    return out;
}

std::optional<std::string> normalize_unit(std::string_view text, std::string& why) {
    static const char* const kTypes[] = {"service", "socket", "target", "mount", "automount",
                                         "swap", "timer", "path", "slice", "scope", "device"};
    why = "a systemd unit name, e.g. veeamtransport.service";
    if (text.empty() || text.size() > 255) return std::nullopt;
    for (char c : text) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && !std::strchr(":-_.\\@", c))
            return std::nullopt;
    }
    std::string unit(text);
    size_t dot = unit.rfind('.');
    bool typed = false;
    if (dot != std::string::npos)
        for (const char* type : kTypes)
            if (unit.compare(dot + 1, std::string::npos, type) == 0) typed = true;
    if (!typed) unit += ".service";
    size_t at = unit.find('@');
    if (at != std::string::npos && unit[at + 1] == '.') {
        why = "an instance of the template unit, e.g. " + unit.substr(0, at + 1) + "NAME" +
              unit.substr(at + 1);
        return std::nullopt;
    }
    if (unit[0] == '.' || unit[0] == '@' || unit[0] == '-') return std::nullopt;
    return unit;
}

std::optional<std::string> normalize_mountpoint(std::string_view text, std::string& why) {
    why = "an absolute directory path, e.g. /veeam/repo";
    if (text.empty() || text[0] != '/') return std::nullopt;
    std::string path(text);
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    if (path == "/") {
        why = "a directory other than / (the root filesystem cannot move between nodes)";
        return std::nullopt;
    }
    size_t start = 1;
    while (start <= path.size()) {
        size_t slash = path.find('/', start);
        std::string_view part(path.data() + start,
                              (slash == std::string::npos ? path.size() : slash) - start);
        if (part.empty() || part == "." || part == "..") {
            why = "an absolute path without empty, . or .. parts";
            return std::nullopt;
        }
        if (slash == std::string::npos) break;
        start = slash + 1;
    }
    return path;
}

std::optional<LvmDevice> lvm_device(std::string_view device) {
    constexpr std::string_view mapper = "/dev/mapper/";
    if (device.substr(0, mapper.size()) == mapper) {
        std::string_view name = device.substr(mapper.size());
        std::string vg, lv;
        std::string* part = &vg;
        for (size_t i = 0; i < name.size(); ++i) {
            if (name[i] == '/') return std::nullopt;
            if (name[i] == '-') {
                if (i + 1 < name.size() && name[i + 1] == '-') {
                    *part += '-';
                    ++i;
                    continue;
                }
                if (part == &lv) return std::nullopt;  // a third part: not VG-LV
                part = &lv;
                continue;
            }
            *part += name[i];
        }
        if (vg.empty() || lv.empty()) return std::nullopt;
        return LvmDevice{vg, lv};
    }
    constexpr std::string_view dev = "/dev/";
    if (device.substr(0, dev.size()) != dev) return std::nullopt;
    std::string_view rest = device.substr(dev.size());
    size_t slash = rest.find('/');
    if (slash == std::string_view::npos || slash == 0) return std::nullopt;
    std::string_view vg = rest.substr(0, slash), lv = rest.substr(slash + 1);
    if (lv.empty() || lv.find('/') != std::string_view::npos) return std::nullopt;
    // Folders udev and the kernel create under /dev that are not volume groups.
    static const char* const kNotVgs[] = {"disk", "md", "block", "char", "bus", "cciss",
                                          "input", "net", "pts", "shm", "snd", "vfio", "dri",
                                          "hugepages", "mqueue", "usb", "zvol", "dm", "fd",
                                          "cpu", "mapper", "serial", "v4l", "raw"};
    for (const char* name : kNotVgs)
        if (vg == name) return std::nullopt;
    if (!valid_vg_name(vg)) return std::nullopt;
    return LvmDevice{std::string(vg), std::string(lv)};
}

bool path_inside(std::string_view inner, std::string_view outer) {
    if (outer == "/") return inner.size() > 1 && inner[0] == '/';
    return inner.size() > outer.size() && inner.substr(0, outer.size()) == outer &&
           inner[outer.size()] == '/';
}

}  // namespace veeamha::config::detail
