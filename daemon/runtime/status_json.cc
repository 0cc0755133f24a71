// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/runtime/status_json.h"

#include <cmath>
#include <cstdio>
#include <ctime>
#include <sstream>

namespace veeamha::runtime {
namespace {

std::string quote(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    return out + "\"";
}

std::string number(double v) {
    if (!std::isfinite(v)) return "null";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", v);
    std::string s = buf;
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
}

const char* b(bool v) { return v ? "true" : "false"; }

}  // namespace

const char* state_name(wire::ResourceState s) {
    switch (s) {
        case wire::RESOURCE_STOPPED: return "stopped";
        case wire::RESOURCE_STARTING: return "starting";
        case wire::RESOURCE_STARTED: return "started";
        case wire::RESOURCE_STOPPING: return "stopping";
        case wire::RESOURCE_FAILED: return "failed";
        case wire::RESOURCE_STOP_FAILED: return "stop-failed";
        default: return "unknown";
    }
}

const char* state_name(wire::GroupState s) {
    switch (s) {
        case wire::GROUP_STOPPED: return "stopped";
        case wire::GROUP_STARTING: return "starting";
        case wire::GROUP_STARTED: return "started";
        case wire::GROUP_STOPPING: return "stopping";
        case wire::GROUP_FAILED: return "failed";
        case wire::GROUP_UNCLEAN: return "unclean";
        default: return "unknown";
    }
}

std::string iso8601_utc(int64_t unix_ms) {
    std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(unix_ms % 1000));
    return buf;
}

std::string status_to_json(const wire::Status& st) {
    std::ostringstream o;
    o << "{\"cluster\":" << quote(st.cluster()) << ",\"local_node\":" << quote(st.local_node())
      << ",\"owner\":" << (st.owner().empty() ? "null" : quote(st.owner()))
      << ",\"epoch\":" << st.epoch() << ",\"maintenance\":" << b(st.maintenance())
      << ",\"nodes\":[";
    for (int i = 0; i < st.nodes_size(); ++i) {
        const auto& n = st.nodes(i);
        o << (i ? "," : "") << "{\"name\":" << quote(n.name()) << ",\"state\":" << quote(n.state())
          << ",\"standby\":" << b(n.standby()) << ",\"epoch\":" << n.epoch()
          << ",\"group\":" << quote(state_name(n.group())) << ",\"links\":[";
        for (int l = 0; l < n.links_size(); ++l) {
            const auto& k = n.links(l);
            o << (l ? "," : "") << "{\"address\":" << quote(k.address()) << ",\"up\":" << b(k.up())
              << ",\"rtt_ms\":" << (k.up() ? number(k.rtt_ms()) : "null")
              << ",\"loss\":" << number(k.loss()) << ",\"last_heard_ms\":"
              << (k.last_heard_ms() < 0 ? "null" : std::to_string(k.last_heard_ms())) << "}";
        }
        o << "]}";
    }
    o << "],\"resources\":[";
    for (int i = 0; i < st.resources_size(); ++i) {
        const auto& r = st.resources(i);
        o << (i ? "," : "") << "{\"name\":" << quote(r.name()) << ",\"kind\":" << quote(r.kind())
          << ",\"state\":" << quote(state_name(r.state())) << ",\"fail_count\":" << r.fail_count()
          << ",\"last_error\":" << (r.last_error().empty() ? "null" : quote(r.last_error())) << "}";
    }
    o << "],\"fencing\":";
    if (st.has_fencing())
        o << "{\"ok\":" << b(st.fencing().ok()) << ",\"detail\":" << quote(st.fencing().detail())
          << ",\"at\":" << quote(iso8601_utc(st.fencing().at_unix_ms())) << "}";
    else
        o << "null";
    o << ",\"last_failover\":";
    if (st.has_last_failover())
        o << "{\"at\":" << quote(iso8601_utc(st.last_failover().at_unix_ms()))
          << ",\"reason\":" << quote(st.last_failover().reason())
          << ",\"duration_ms\":" << st.last_failover().duration_ms() << "}";
    else
        o << "null";
    o << "}\n";
    return o.str();
}

std::string status_to_text(const wire::Status& st) {
    std::ostringstream o;
    o << "Cluster " << st.cluster() << " (this node: " << st.local_node() << ")\n";
    o << "  group owner: " << (st.owner().empty() ? "none (the group is not running)" : st.owner())
      << ", epoch " << st.epoch() << (st.maintenance() ? ", MAINTENANCE MODE" : "") << "\n\n";
    o << "Nodes:\n";
    for (const auto& n : st.nodes()) {
        o << "  " << n.name() << ": " << n.state() << (n.standby() ? " (standby)" : "")
          << ", group " << state_name(n.group()) << "\n";
        for (int l = 0; l < n.links_size(); ++l) {
            const auto& k = n.links(l);
            o << "    link " << l << " " << k.address() << ": " << (k.up() ? "up" : "DOWN");
            if (k.up()) o << ", rtt " << number(k.rtt_ms()) << " ms";
            if (k.loss() > 0) o << ", loss " << number(k.loss() * 100) << "%";
            o << "\n";
        }
    }
    o << "\nResources (on " << st.local_node() << "):\n";
    for (const auto& r : st.resources()) {
        o << "  " << r.name() << " (" << r.kind() << "): " << state_name(r.state());
        if (r.fail_count()) o << ", fail count " << r.fail_count();
        if (!r.last_error().empty()) o << "\n      last error: " << r.last_error();
        o << "\n";
    }
    o << "\nFencing: ";
    if (st.has_fencing())
        o << (st.fencing().ok() ? "ok" : "FAILING") << " (checked " << iso8601_utc(st.fencing().at_unix_ms())
          << "): " << st.fencing().detail() << "\n";
    else
        o << "not checked yet\n";
    o << "Last failover: ";
    if (st.has_last_failover())
        o << iso8601_utc(st.last_failover().at_unix_ms()) << ", took "
          << st.last_failover().duration_ms() << " ms: " << st.last_failover().reason() << "\n";
    else
        o << "none\n";
    return o.str();
}

}  // namespace veeamha::runtime
