// SPDX-License-Identifier: GPL-2.0-or-later
// The /metrics renderer in the states an admin meets, each checked by the real promtool and by
// the grouping rule promtool does not check; and the engine's event kinds all known in advance.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "config/event_kinds.h"
#include "daemon/runtime/metrics.h"
#include "tests/common/read_file.h"
#include "tests/common/skip.h"
#include "tests/runtime/exposition.h"

using namespace veeamha;
using runtime::MetricsSnapshot;

namespace {

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

bool promtool_available() {
    base::ProcessSpec spec;
    spec.argv = {"promtool", "--version"};
    spec.deadline = base::Clock::now() + std::chrono::seconds(30);
    return base::run_process(spec).success();
}

// A node just started: passive, the peer not heard yet, nothing checked or counted.
MetricsSnapshot fresh() {
    MetricsSnapshot s;
    s.cluster = "vbr-repo";
    s.node = "vbr-repo-1";
    s.version = "0.1.0";
    s.process_start_seconds = 1780000000.25;
    s.role = runtime::NodeRole::Passive;
    s.group = engine::GroupState::Stopped;
    s.peer = runtime::PeerState::Unknown;
    s.links = {{false, std::nullopt, 0}, {false, std::nullopt, 0}};
    s.resources = {{"vg_repo", engine::ResourceState::Stopped, 0},
                   {"fs_repo", engine::ResourceState::Stopped, 0},
                   {"ip_repo", engine::ResourceState::Stopped, 0}};
    s.frames_dropped = {{"bad_tag", 0}, {"replayed", 0}};
    s.last_reload = {1780000000.25, true, 0};
    s.sync_files = {};
    s.now_seconds = 1780000000.5;
    return s;
}

// The same node after it fenced its lost peer and took the group over.
MetricsSnapshot after_failover() {
    MetricsSnapshot s = fresh();
    s.role = runtime::NodeRole::Active;
    s.holding = true;
    s.epoch = 7;
    s.group = engine::GroupState::Started;
    s.peer = runtime::PeerState::Fenced;
    s.links = {{false, 0.0004, 1}, {false, 0.0005, 1}};
    for (auto& r : s.resources) r.state = engine::ResourceState::Started;
    s.events = {{"peer-lost", 1}, {"fence-request", 1}, {"fenced", 1}, {"takeover", 1}, {"group-started", 1}};
    s.fencing_check = MetricsSnapshot::Stamped{1780000100.5, true, 0};
    s.last_fence = MetricsSnapshot::Stamped{1780000100.5, true, 0.007};
    s.last_failover = MetricsSnapshot::Stamped{1780000100.9, true, 0.982};
    s.sync_files = {{"/etc/systemd/system/veeamtransport.service", "in-sync", 1780000090}};
    s.now_seconds = 1780000101;
    return s;
}

// Every check a rendered text must pass.
void require_valid(const std::string& text) {
    INFO(text);
    CHECK(test::check_grouping(text) == "");
    if (!promtool_available()) {
        WARN("promtool not found (scripts/install-deps installs Debian's prometheus package)");
        CHECK(!test::every_test_must_run());
        return;
    }
    CHECK(test::promtool_check_metrics(text) == "");
}

}  // namespace

TEST_CASE("metrics before any event: every family, counters at 0, no sample for what never happened") {
    std::string text = runtime::render_metrics(fresh());
    require_valid(text);
    const std::string id = "cluster=\"vbr-repo\",node=\"vbr-repo-1\"";
    CHECK(has(text, "veeamha_build_info{" + id + ",version=\"0.1.0\"} 1\n"));
    CHECK(has(text, "process_start_time_seconds{" + id + "} 1780000000.25\n"));
    CHECK(has(text, "veeamha_node_state{" + id + ",state=\"passive\"} 1\n"));
    CHECK(has(text, "veeamha_node_state{" + id + ",state=\"active\"} 0\n"));
    CHECK(has(text, "veeamha_peer_state{" + id + ",state=\"unknown\"} 1\n"));
    CHECK(has(text, "veeamha_resource_failures{" + id + ",resource=\"fs_repo\"} 0\n"));
    CHECK(has(text, "veeamha_resource_state{" + id + ",resource=\"fs_repo\",state=\"stopped\"} 1\n"));
    CHECK(has(text, "veeamha_last_reload_success{" + id + "} 1\n"));
    // Counters exist at 0 before their first event, for every kind the engine and runtime know.
    for (const char* kind : config::kEventKinds)
        CHECK(has(text, "veeamha_events_total{" + id + ",kind=\"" + kind + "\"} 0\n"));
    CHECK(has(text, "veeamha_events_total{" + id + ",kind=\"fencing-check\"} 0\n"));
    CHECK(has(text, "veeamha_frames_dropped_total{" + id + ",reason=\"bad_tag\"} 0\n"));
    CHECK(has(text, "veeamha_alerts_dropped_total{" + id + "} 0\n"));
    // Nothing checked, failed over, fenced or synced yet: the family is described, no sample.
    for (const char* name : {"veeamha_fencing_check_ok", "veeamha_last_failover_timestamp_seconds",
                             "veeamha_last_fence_duration_seconds", "veeamha_link_rtt_seconds",
                             "veeamha_sync_file_ok"}) {
        CHECK(has(text, std::string("# TYPE ") + name + " gauge\n"));
        CHECK_FALSE(has(text, std::string(name) + "{"));
    }
    // The name promtool refused (`_count` is for histograms and summaries) is gone.
    CHECK_FALSE(has(text, "_count"));
}

TEST_CASE("metrics after a failover: the times and durations, the counters, the new states") {
    std::string text = runtime::render_metrics(after_failover());
    require_valid(text);
    const std::string id = "cluster=\"vbr-repo\",node=\"vbr-repo-1\"";
    CHECK(has(text, "veeamha_node_state{" + id + ",state=\"active\"} 1\n"));
    CHECK(has(text, "veeamha_node_state{" + id + ",state=\"passive\"} 0\n"));
    CHECK(has(text, "veeamha_holding{" + id + "} 1\n"));
    CHECK(has(text, "veeamha_epoch{" + id + "} 7\n"));
    CHECK(has(text, "veeamha_group_state{" + id + ",state=\"started\"} 1\n"));
    CHECK(has(text, "veeamha_peer_state{" + id + ",state=\"fenced\"} 1\n"));
    CHECK(has(text, "veeamha_peer_up{" + id + "} 0\n"));
    CHECK(has(text, "veeamha_link_loss_ratio{" + id + ",link=\"1\"} 1\n"));
    CHECK(has(text, "veeamha_link_rtt_seconds{" + id + ",link=\"0\"} 0.0004\n"));
    CHECK(has(text, "veeamha_last_failover_timestamp_seconds{" + id + "} 1780000100.9\n"));
    CHECK(has(text, "veeamha_last_failover_duration_seconds{" + id + "} 0.982\n"));
    CHECK(has(text, "veeamha_last_fence_duration_seconds{" + id + "} 0.007\n"));
    CHECK(has(text, "veeamha_last_fence_timestamp_seconds{" + id + "} 1780000100.5\n"));
    CHECK(has(text, "veeamha_fencing_check_ok{" + id + "} 1\n"));
    CHECK(has(text, "veeamha_events_total{" + id + ",kind=\"takeover\"} 1\n"));
    CHECK(has(text, "veeamha_events_total{" + id + ",kind=\"split-brain\"} 0\n"));
    CHECK(has(text, "veeamha_resource_started{" + id + ",resource=\"ip_repo\"} 1\n"));
    CHECK(has(text, "veeamha_sync_file_ok{" + id + ",path=\"/etc/systemd/system/veeamtransport.service\"} 1\n"));
    // The same families in the same order in every state: a dashboard never loses a panel.
    CHECK(test::family_names(text) == test::family_names(runtime::render_metrics(fresh())));
}

TEST_CASE("metrics with the fencing check failing, a failed resource, a config mismatch and a failed reload") {
    MetricsSnapshot s = after_failover();
    s.fencing_check = MetricsSnapshot::Stamped{1780000400, false, 0};
    s.resources[2].state = engine::ResourceState::Failed;
    s.resources[2].failures = 2;
    s.config_mismatch = true;
    s.peer = runtime::PeerState::Fencing;
    s.last_reload = {1780000500, false, 0};
    s.sync_files = {{"/etc/a", "failed", 1780000450}, {"/etc/b", "in-sync", 1780000100},
                    {"/etc/c", "pending", 1780000460}, {"/etc/d", "pending", 1780000490}};
    s.now_seconds = 1780000500;
    s.events["fencing-check"] = 1;
    std::string text = runtime::render_metrics(s);
    require_valid(text);
    const std::string id = "cluster=\"vbr-repo\",node=\"vbr-repo-1\"";
    CHECK(has(text, "veeamha_fencing_check_ok{" + id + "} 0\n"));
    CHECK(has(text, "veeamha_fencing_check_timestamp_seconds{" + id + "} 1780000400\n"));
    CHECK(has(text, "veeamha_resource_state{" + id + ",resource=\"ip_repo\",state=\"failed\"} 1\n"));
    CHECK(has(text, "veeamha_resource_failures{" + id + ",resource=\"ip_repo\"} 2\n"));
    CHECK(has(text, "veeamha_config_mismatch{" + id + "} 1\n"));
    CHECK(has(text, "veeamha_peer_state{" + id + ",state=\"fencing\"} 1\n"));
    CHECK(has(text, "veeamha_last_reload_success{" + id + "} 0\n"));
    CHECK(has(text, "veeamha_sync_file_ok{" + id + ",path=\"/etc/a\"} 0\n"));
    CHECK(has(text, "veeamha_sync_file_ok{" + id + ",path=\"/etc/b\"} 1\n"));
    CHECK(has(text, "veeamha_sync_file_ok{" + id + ",path=\"/etc/c\"} 0\n"));
    CHECK(has(text, "veeamha_sync_files{" + id + ",state=\"pending\"} 2\n"));
    CHECK(has(text, "veeamha_sync_files{" + id + ",state=\"failed\"} 1\n"));
    CHECK(has(text, "veeamha_sync_files{" + id + ",state=\"refused\"} 0\n"));
    CHECK(has(text, "veeamha_sync_oldest_pending_seconds{" + id + "} 40\n"));  // /etc/c, since 460
    CHECK(has(text, "veeamha_events_total{" + id + ",kind=\"fencing-check\"} 1\n"));
    CHECK(has(text, "veeamha_events_total{" + id + ",kind=\"sync-failed\"} 0\n"));
}

TEST_CASE("metrics escape label values: quotes, backslashes and newlines stay inside their label") {
    MetricsSnapshot s = fresh();
    s.resources[0].name = "odd \"name\" \\ with\nnewline";
    std::string text = runtime::render_metrics(s);
    require_valid(text);
    CHECK(has(text, "resource=\"odd \\\"name\\\" \\\\ with\\nnewline\"} 0\n"));
}

TEST_CASE("the checks used on /metrics catch an interleaved family and a _count name (planted)") {
    // What the daemon served before: two families' samples interleaved, a `_count` gauge.
    const std::string interleaved =
        "# HELP a_started x\n# TYPE a_started gauge\n# HELP a_failures x\n# TYPE a_failures gauge\n"
        "a_started{r=\"1\"} 1\na_failures{r=\"1\"} 0\na_started{r=\"2\"} 1\na_failures{r=\"2\"} 0\n";
    CHECK(test::check_grouping(interleaved) != "");
    const std::string back = "# HELP a x\n# TYPE a gauge\na 1\n# HELP b x\n# TYPE b gauge\nb 1\na{x=\"2\"} 1\n";
    CHECK(has(test::check_grouping(back), "outside its family's group"));
    CHECK(test::check_grouping("a 1\n") != "");  // no HELP and TYPE
    if (!promtool_available()) VEEAMHA_SKIP_TEST("promtool not installed");
    CHECK(has(test::promtool_check_metrics("# HELP a_fail_count x\n# TYPE a_fail_count gauge\na_fail_count 1\n"),
              "_count"));
}

TEST_CASE("every event kind the engine's sources emit is in kEventKinds (so its counter starts at 0)") {
    // Each event(level, kind, text) call: the string literals of its second argument (a
    // ternary names two kinds). The one call whose kind is a variable is event() itself.
    std::set<std::string> emitted;
    size_t calls = 0;
    for (const auto& entry : std::filesystem::directory_iterator(std::string(VEEAMHA_SOURCE_DIR) + "/daemon/engine")) {
        if (entry.path().extension() != ".cc") continue;
        const std::string src = test::slurp(entry.path().string());
        static const std::regex call(R"(\bevent\()");
        for (auto it = std::sregex_iterator(src.begin(), src.end(), call); it != std::sregex_iterator(); ++it) {
            // The second top-level argument, up to the matching parenthesis.
            size_t i = static_cast<size_t>(it->position() + it->length());
            int depth = 1, arg = 0;
            std::string second;
            while (i < src.size() && depth > 0) {
                char c = src[i];
                if (c == '"') {
                    size_t j = i + 1;
                    while (j < src.size() && src[j] != '"') j += src[j] == '\\' ? 2 : 1;
                    if (arg == 1) second += src.substr(i, j + 1 - i);
                    i = j + 1;
                    continue;
                }
                if (c == '(' || c == '{' || c == '[') ++depth;
                if (c == ')' || c == '}' || c == ']') --depth;
                if (depth == 1 && c == ',') ++arg;
                ++i;
            }
            static const std::regex literal(R"lit("([^"]*)")lit");
            size_t before = emitted.size();
            for (auto l = std::sregex_iterator(second.begin(), second.end(), literal); l != std::sregex_iterator(); ++l)
                emitted.insert((*l)[1].str());
            if (emitted.size() > before || second.find('"') != std::string::npos) ++calls;
        }
    }
    CHECK(calls > 40);  // the scan found the calls (it reads the sources, not a copy of the list)
    std::set<std::string> known(config::kEventKinds.begin(), config::kEventKinds.end());
    for (const auto& kind : emitted) {
        INFO("the engine emits \"" << kind << "\": add it to config/event_kinds.h");
        CHECK(known.count(kind) == 1);
    }
    for (const auto& kind : known) {
        INFO("config/event_kinds.h lists \"" << kind << "\", which no event() call emits");
        CHECK(emitted.count(kind) == 1);
    }
}
