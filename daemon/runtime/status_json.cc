// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/runtime/status_json.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <sstream>

namespace veeamha::runtime {
namespace {

std::string number(double v) {
    if (!std::isfinite(v)) return "?";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", v);
    std::string s = buf;
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
}

void print_node(std::ostream& o, const wire::NodeStatus& n) {
    o << "  " << n.name() << (n.local() ? " (this node)" : "") << ": " << n.state();
    if (n.has_role()) o << ", " << n.role();
    if (n.unclean()) o << ", UNCLEAN";
    if (n.standby()) o << ", standby";
    if (n.has_group()) o << ", group " << n.group();
    o << "\n";
    for (int l = 0; l < n.links_size(); ++l) {
        const auto& k = n.links(l);
        o << "    link " << l << " " << k.address() << ": " << (k.up() ? "up" : "DOWN");
        if (k.has_rtt_ms()) o << ", rtt " << number(k.rtt_ms()) << " ms";
        if (k.loss() > 0) o << ", loss " << number(k.loss() * 100) << "%";
        o << "\n";
    }
}

void print_resource(std::ostream& o, const wire::Status& st, const wire::ResourceStatus& r) {
    o << "  " << r.name() << " (" << r.kind() << "): " << r.state() << " here";
    std::string elsewhere;
    for (const auto& n : r.running_on())
        if (n != st.local_node()) elsewhere += (elsewhere.empty() ? "" : " and ") + n;
    if (!elsewhere.empty()) o << ", running on " << elsewhere;
    if (r.fail_count()) o << ", fail count " << r.fail_count();
    o << "\n";
    if (r.has_last_error())
        o << "      last error (" << iso8601_utc(r.last_error_at()) << "): " << r.last_error() << "\n";
}

}  // namespace

google::protobuf::Timestamp timestamp_of(int64_t unix_ms) {
    return google::protobuf::util::TimeUtil::MillisecondsToTimestamp(unix_ms);
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

std::string iso8601_utc(const google::protobuf::Timestamp& at) {
    return iso8601_utc(google::protobuf::util::TimeUtil::TimestampToMilliseconds(at));
}

std::string status_to_json(const wire::Status& st) {
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;    // local_node, not localNode
    options.always_print_primitive_fields = true; // "maintenance": false, "fail_count": 0
    std::string out;
    auto done = google::protobuf::util::MessageToJsonString(st, &out, options);
    if (!done.ok()) return "{\"error\":\"status cannot be printed as JSON\"}\n";  // not for a valid message
    return out + "\n";
}

std::string status_to_text(const wire::Status& st) {
    std::ostringstream o;
    o << "Cluster " << st.cluster() << " (this node: " << st.local_node() << ")\n";
    o << "  group " << (st.has_owner() ? "running on " + st.owner() : std::string("not running"))
      << ", epoch " << st.epoch() << (st.maintenance() ? ", MAINTENANCE MODE" : "") << "\n\n";
    o << "Nodes:\n";
    for (const auto& n : st.nodes()) print_node(o, n);
    o << "\nResources:\n";
    for (const auto& r : st.resources()) print_resource(o, st, r);
    if (!st.failed_actions().empty()) {
        o << "\nFailed actions (until `veeam-hactl cleanup`):\n";
        for (const auto& a : st.failed_actions()) {
            o << "  " << a.resource() << " " << a.operation() << " on " << a.node() << ": " << a.result()
              << " at " << iso8601_utc(a.at());
            if (a.count() > 1) o << " (" << a.count() << " times)";
            if (!a.reason().empty()) o << ": " << a.reason();
            o << "\n";
        }
    }
    o << "\nFencing: ";
    if (st.has_fencing())
        o << (st.fencing().ok() ? "ok" : "FAILING") << " (checked " << iso8601_utc(st.fencing().at())
          << "): " << st.fencing().detail() << "\n";
    else
        o << "not checked yet\n";
    if (st.has_last_fence()) {
        const auto& f = st.last_fence();
        o << "  last fence: " << f.action() << " " << f.node() << (f.confirmed() ? " confirmed" : " NOT confirmed")
          << " at " << iso8601_utc(f.at()) << ": " << f.detail() << "\n";
    }
    if (!st.sync().empty()) {
        // A summary, then every file that is not in sync (a folder may hold hundreds that are).
        std::map<std::string, int> counts;
        for (const auto& f : st.sync()) counts[f.state()]++;
        o << "Sync: " << counts["in-sync"] << " of " << st.sync_size() << " in sync";
        for (const char* state : {"pending", "failed", "refused"})
            if (counts[state]) o << ", " << counts[state] << " " << state;
        o << "\n";
        for (const auto& f : st.sync()) {
            if (f.state() == "in-sync") continue;
            o << "  " << f.path() << ": " << (f.state() == "pending" ? "pending" : f.state() == "failed" ? "FAILED" : "refused")
              << " since " << iso8601_utc(f.since());
            if (f.has_error()) o << ": " << f.error();
            o << "\n";
        }
    }
    o << "Last failover: ";
    if (st.has_last_failover()) {
        const auto& f = st.last_failover();
        o << iso8601_utc(f.at()) << (f.node().empty() ? "" : " to " + f.node()) << ", took " << f.duration_ms()
          << " ms: " << f.reason() << "\n";
    } else {
        o << "none\n";
    }
    if (st.has_peer_check()) {  // only the items that differ; `veeam-hactl check --peer` lists all
        const auto& c = st.peer_check();
        int differ = 0;
        for (const auto& i : c.items()) differ += i.state() == "different";
        o << "Peer check (" << iso8601_utc(c.at()) << "): "
          << (c.has_error() ? c.error() : differ ? std::to_string(differ) + " item(s) differ" : "the two hosts are alike") << "\n";
        for (const auto& i : c.items())
            if (i.state() == "different") o << "  " << i.item() << ": " << i.detail() << "; fix: " << i.fix() << "\n";
    }
    return o.str();
}

}  // namespace veeamha::runtime
