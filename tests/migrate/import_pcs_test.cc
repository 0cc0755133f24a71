// SPDX-License-Identifier: GPL-2.0-or-later
// The import's own rules on small hand-written CIBs: Pacemaker's value languages, the errors for
// input it cannot use, and what becomes a comment. The CIBs pcs writes are in pcs_import_test.cc.
#include <catch2/catch.hpp>

#include <fstream>
#include <regex>
#include <sstream>

#include "config/config.h"
#include "migrate/cib.h"
#include "migrate/corosync_conf.h"
#include "migrate/import_pcs.h"
#include "migrate/input_error.h"
#include "migrate/pacemaker_values.h"
#include "tests/common/read_file.h"

using namespace veeamha;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

std::string read(const std::string& relative) {
    return veeamha::test::slurp(std::string(VEEAMHA_SOURCE_DIR) + "/" + relative);
}

// A CIB whose <resources> and <constraints> are the given text.
std::string cib(const std::string& resources, const std::string& constraints = "",
                const std::string& properties = "") {
    return "<cib validate-with=\"pacemaker-3.9\"><configuration><crm_config><cluster_property_set id=\"o\">" +
           properties + "</cluster_property_set></crm_config><nodes/><resources>" + resources +
           "</resources><constraints>" + constraints + "</constraints></configuration><status/></cib>";
}

std::string nv(const std::string& name, const std::string& value) {
    return "<nvpair id=\"" + name + "\" name=\"" + name + "\" value=\"" + value + "\"/>";
}

std::string primitive(const std::string& id, const std::string& cls, const std::string& provider,
                      const std::string& type, const std::string& params, const std::string& ops = "") {
    return "<primitive id=\"" + id + "\" class=\"" + cls + "\"" +
           (provider.empty() ? "" : " provider=\"" + provider + "\"") + " type=\"" + type +
           "\"><instance_attributes id=\"" + id + "-ia\">" + params + "</instance_attributes><operations>" + ops +
           "</operations></primitive>";
}

const std::string kFence =
    primitive("fence_vms", "stonith", "", "fence_vmware_soap",
              nv("ip", "vc.example") + nv("username", "fence@vsphere.local") + nv("password", "s3cret-Pw") +
                  nv("ssl_insecure", "1") +
                  nv("pcmk_host_map", "a.example:11111111-2222-3333-4444-555555555555;"
                                      "b.example:66666666-7777-8888-9999-aaaaaaaaaaaa"));
const std::string kIp = primitive("ip", "ocf", "heartbeat", "IPaddr2",
                                  nv("ip", "192.0.2.100") + nv("cidr_netmask", "255.255.255.0") + nv("nic", "eth0"),
                                  "<op id=\"m\" name=\"monitor\" interval=\"15\" timeout=\"25s\"/>");
const std::string kCorosync =
    "totem {\n cluster_name: t\n}\nnodelist {\n node {\n  ring0_addr: 192.0.2.1\n  ring1_addr: 198.51.100.1\n"
    "  name: a.example\n  nodeid: 1\n }\n node {\n  ring0_addr: 192.0.2.2\n  ring1_addr: 198.51.100.2\n"
    "  name: b.example\n  nodeid: 2\n }\n}\n";

// The output with its wrapped comments joined again ("#   " starts a continuation line), so a
// test can look for a whole sentence.
std::string unwrapped(const std::string& yaml) { return std::regex_replace(yaml, std::regex("\n *#   "), " "); }

std::string error_of(const std::string& xml) {
    try {
        migrate::read_cib(xml, "in.xml");
    } catch (const migrate::InputError& e) {
        return e.what();
    }
    return "(no error)";
}

migrate::ImportResult import(const std::string& xml, const std::string& corosync = kCorosync) {
    return migrate::import_pcs(migrate::read_cib(xml, "in.xml"), migrate::read_corosync_conf(corosync, "c.conf"));
}

config::Config load(const std::string& yaml) {
    config::LoadOptions options;
    options.check_files = false;
    auto r = config::load_string(yaml, "out.yaml", options);
    std::string errors;
    for (const auto& e : r.errors) errors += e.to_string() + "\n";
    INFO(yaml);
    INFO(errors);
    REQUIRE(r.config);
    return *r.config;
}

}  // namespace

TEST_CASE("Pacemaker durations, scores, booleans and host maps read as Pacemaker reads them") {
    using migrate::parse_pcmk_duration;
    CHECK(parse_pcmk_duration("30") == 30s);  // bare numbers are seconds
    CHECK(parse_pcmk_duration("20s") == 20s);
    CHECK(parse_pcmk_duration("10min") == 10min);
    CHECK(parse_pcmk_duration("2m") == 2min);
    CHECK(parse_pcmk_duration("1h") == 1h);
    CHECK(parse_pcmk_duration("2hr") == 2h);
    CHECK(parse_pcmk_duration("500ms") == 500ms);
    CHECK(parse_pcmk_duration("1500us") == 2ms);
    CHECK(parse_pcmk_duration(" 45 sec ") == 45s);
    CHECK_FALSE(parse_pcmk_duration("PT30S"));
    CHECK_FALSE(parse_pcmk_duration("5 fortnights"));
    CHECK_FALSE(parse_pcmk_duration(""));

    CHECK(migrate::parse_score("100") == 100);
    CHECK(migrate::parse_score("-INFINITY") == -migrate::kScoreInfinity);
    CHECK(migrate::parse_score("+INFINITY") == migrate::kScoreInfinity);
    CHECK(migrate::parse_score("99999999") == migrate::kScoreInfinity);
    CHECK_FALSE(migrate::parse_score("lots"));
    CHECK(migrate::parse_pcmk_bool("yes") == true);
    CHECK(migrate::parse_pcmk_bool("0") == false);
    CHECK_FALSE(migrate::parse_pcmk_bool("maybe"));

    auto map = migrate::parse_host_map("n1:1;n2=2,3 n3:uuid\tbroken");
    REQUIRE(map.entries.size() == 3);
    CHECK(map.entries[1] == std::pair<std::string, std::string>{"n2", "2,3"});
    CHECK(map.entries[2].second == "uuid");
    CHECK(map.malformed == std::vector<std::string>{"broken"});
}

TEST_CASE("input that is not a usable CIB is refused with the element, the attribute and what was expected") {
    CHECK_THAT(error_of("<cib><configuration"), Contains("in.xml:1: not XML:") && Contains("expected the CIB"));
    CHECK_THAT(error_of("hello"), Contains("in.xml:1: not XML:"));
    CHECK_THAT(error_of("<crm_mon/>"), Contains("in.xml: <crm_mon>: expected the root element <cib>") &&
                                           Contains("found <crm_mon>"));
    CHECK_THAT(error_of("<cib validate-with=\"pacemaker-3.9\"><status/></cib>"),
               Contains("in.xml: <cib>: element <configuration> is missing"));
    CHECK_THAT(error_of("<cib><configuration><crm_config/></configuration></cib>"),
               Contains("in.xml: <configuration>: element <resources> is missing"));
    CHECK_THAT(error_of(cib(kFence)),
               Contains("in.xml: <configuration> <resources>: expected one <group>") && Contains("found none"));
    CHECK_THAT(error_of(cib("<group id=\"g1\">" + kIp + "</group><group id=\"g2\">" +
                            primitive("ip2", "ocf", "heartbeat", "IPaddr2", nv("ip", "192.0.2.7")) + "</group>")),
               Contains("expected one <group>, found 2 (g1, g2)"));
    CHECK_THAT(error_of(cib("<group id=\"g\"/>")),
               Contains("<group id=\"g\">: expected at least one <primitive> in the group, found none"));
    CHECK_THAT(error_of(cib("<group id=\"g\"><primitive id=\"x\" class=\"ocf\" provider=\"heartbeat\"/></group>")),
               Contains("<primitive id=\"x\">: attribute 'type' is missing; expected the agent's name"));
    CHECK_THAT(error_of(cib("<group id=\"g\"><primitive id=\"x\" class=\"ocf\" type=\"IPaddr2\"/></group>")),
               Contains("<primitive id=\"x\">: attribute 'provider' is missing"));
    CHECK_THAT(error_of(cib("<group id=\"g\"><primitive class=\"ocf\" type=\"IPaddr2\"/></group>")),
               Contains("<primitive>: attribute 'id' is missing"));
    CHECK_THAT(error_of(cib("<group id=\"g\"><primitive id=\"x\" class=\"ocf\" provider=\"heartbeat\" "
                            "type=\"IPaddr2\"><instance_attributes id=\"s\"><nvpair id=\"n\" value=\"1\"/>"
                            "</instance_attributes></primitive></group>")),
               Contains("primitive 'x' instance_attributes 's' nvpair: attribute 'name' is missing"));
}

TEST_CASE("corosync.conf that cannot give two nodes is refused with its line") {
    auto error = [](const std::string& text) -> std::string {
        try {
            migrate::read_corosync_conf(text, "c.conf");
        } catch (const migrate::InputError& e) {
            return e.what();
        }
        return "(no error)";
    };
    CHECK_THAT(error("totem {\n  cluster_name t\n}\n"),
               Contains("c.conf:2: expected 'key: value', 'section {' or '}', found 'cluster_name t'"));
    CHECK_THAT(error("totem {\n"), Contains("c.conf: section 'totem' is not closed"));
    CHECK_THAT(error("}\n"), Contains("c.conf:1: expected 'key: value' or 'section {', found a '}'"));
    CHECK_THAT(error("totem {\n cluster_name: t\n}\n"), Contains("c.conf: expected a nodelist"));
    CHECK_THAT(error("nodelist {\n node {\n  nodeid: 1\n }\n}\n"),
               Contains("c.conf:2: nodelist node: expected ring0_addr"));
    CHECK_THAT(error(""), Contains("c.conf: expected a corosync.conf"));

    const std::string three = "nodelist {\n node {\n ring0_addr: 10.0.0.1\n }\n node {\n ring0_addr: 10.0.0.2\n }\n"
                              " node {\n ring0_addr: 10.0.0.3\n }\n}\n";
    std::string xml = cib("<group id=\"g\">" + kIp + "</group>" + kFence);
    CHECK_THROWS_WITH(import(xml, three),
                      Contains("c.conf: nodelist: expected two nodes (veeam-had is a two-node cluster), found 3"));
}

TEST_CASE("a CIB naming three nodes is refused: veeam-had is a two-node cluster") {
    std::string xml = cib("<group id=\"g\">" + kIp + "</group>" + kFence,
                          "<rsc_location id=\"l\" rsc=\"g\" node=\"c.example\" score=\"50\"/>");
    try {
        migrate::import_pcs(migrate::read_cib(xml, "in.xml"), std::nullopt);
        FAIL("no error");
    } catch (const migrate::InputError& e) {
        CHECK_THAT(e.what(), Contains("in.xml: expected two nodes") && Contains("found 3") &&
                                 Contains("a.example, b.example, c.example"));
    }
}

TEST_CASE("what has no equivalent becomes a comment saying what and why, and the rest still loads") {
    const std::string group =
        "<group id=\"g\">" +
        primitive("vg", "ocf", "heartbeat", "LVM-activate", nv("vgname", "vg0") + nv("vg_access_mode", "system_id")) +
        primitive("web", "ocf", "heartbeat", "apache",
                  nv("configfile", "/etc/apache2/apache2.conf") + nv("admin_password", "web-Secret")) +
        kIp +
        primitive("svc", "systemd", "", "app", "",
                  "<op id=\"s1\" name=\"start\" timeout=\"5min\"/><op id=\"s2\" name=\"monitor\" interval=\"0\"/>"
                  "<op id=\"s3\" name=\"monitor\" interval=\"30s\" timeout=\"500ms\"/>"
                  "<op id=\"s4\" name=\"promote\" timeout=\"10\"/>") +
        "</group>";
    const std::string others =
        "<clone id=\"stateful-clone\">" + primitive("stateful", "ocf", "pacemaker", "Stateful", "") + "</clone>" +
        "<clone id=\"ping-clone\">" + primitive("ping", "ocf", "pacemaker", "ping", nv("host_list", "192.0.2.254")) +
        "</clone>" + primitive("lonely", "ocf", "heartbeat", "Dummy", "") + kFence +
        primitive("ipmi", "stonith", "", "fence_ipmilan",
                  nv("ip", "10.9.9.9") + nv("username", "admin") + nv("passwd", "ipmi-Secret") + nv("lanplus", "1") +
                      nv("pcmk_host_map", "a.example:bmc-a;b.example:bmc-b") + nv("pcmk_delay_max", "10s") +
                      nv("pcmk_monitor_timeout", "60s"));
    const std::string constraints =
        "<rsc_colocation id=\"c\" rsc=\"g\" with-rsc=\"ping-clone\" score=\"INFINITY\"/>"
        "<rsc_location id=\"cli-prefer-g\" rsc=\"g\" node=\"b.example\" score=\"INFINITY\"/>"
        "<rsc_location id=\"pref\" rsc=\"g\" node=\"a.example\" score=\"200\"/>"
        "<rsc_location id=\"avoid\" rsc=\"ipmi\" node=\"a.example\" score=\"-INFINITY\"/>"
        "<rsc_location id=\"rule\" rsc=\"g\"><rule id=\"r\" score=\"-INFINITY\"><expression id=\"e\" "
        "attribute=\"pingd\" operation=\"not_defined\"/></rule></rsc_location>";
    const std::string properties = nv("symmetric-cluster", "false") + nv("stonith-timeout", "2min") +
                                   nv("stonith-action", "reboot") + nv("maintenance-mode", "true");
    auto r = import(cib(group + others, constraints, properties));
    const std::string y = unwrapped(r.yaml);

    CHECK_THAT(y, Contains("# Not migrated: primitive 'web' (ocf:heartbeat:apache): ocf:heartbeat:apache has no "
                           "equivalent resource kind"));
    CHECK_THAT(y, Contains("configfile=/etc/apache2/apache2.conf"));
    CHECK_THAT(y, Contains("# Not migrated: clone 'stateful-clone' of stateful (ocf:pacemaker:Stateful): veeam-had runs "
                           "neither clones"));
    CHECK_THAT(y, Contains("# Not migrated: primitive 'lonely' (ocf:heartbeat:Dummy): outside the group g"));
    CHECK_THAT(y, Contains("location cli-prefer-g: left by pcs resource move/ban; dropped"));
    CHECK_THAT(y, Contains("location avoid (ipmi): not about the group; not needed"));
    CHECK_THAT(y, Contains("location rule: a rule, not migrated"));
    CHECK_THAT(y, Contains("property symmetric-cluster=false: no equivalent in veeam-had"));
    CHECK_THAT(y, Contains("maintenance-mode=true: the cluster is in maintenance"));
    CHECK_THAT(y, Contains("operations with no equivalent: monitor interval=0, promote"));
    CHECK_THAT(y, Contains("op monitor timeout=500ms is outside veeam-had's range (1s-24h): 1s"));
    CHECK_THAT(y, Contains("ipmi: pcmk_delay_max=10s: fencing.delay"));
    CHECK_THAT(y, Contains("ipmi: not migrated, Pacemaker's own device settings: pcmk_monitor_timeout"));
    // Constraints other than locations are named, not silently dropped.
    CHECK_THAT(y, Contains("rsc_colocation c (g with ping-clone (score INFINITY))"));

    // Passwords never leave the CIB, not even in comments or the steps.
    CHECK_THAT(y, Contains("admin_password=(not copied)"));
    CHECK_THAT(y, !Contains("s3cret-Pw") && !Contains("ipmi-Secret") && !Contains("web-Secret"));
    for (const auto& step : r.steps) CHECK_THAT(step, !Contains("s3cret-Pw") && !Contains("ipmi-Secret"));

    config::Config c = load(y);
    CHECK(c.fencing.action == config::FenceAction::Reboot);
    CHECK(c.fencing.timeout == 2min);
    REQUIRE(c.fencing.vsphere);
    CHECK(c.fencing.vsphere->insecure);
    CHECK(c.nodes[0].vm_uuid == "11111111-2222-3333-4444-555555555555");
    CHECK(c.nodes[1].vm_uuid == "66666666-7777-8888-9999-aaaaaaaaaaaa");
    // The IPMI device fenced each node by its own plug: one level per node.
    REQUIRE(c.fencing.levels.size() == 2);
    CHECK(c.fencing.levels[0].nodes == std::vector<std::string>{"a.example"});
    CHECK(c.fencing.levels[1].nodes == std::vector<std::string>{"b.example"});
    using Args = std::vector<std::pair<std::string, std::string>>;
    CHECK(c.fencing.levels[1].args == Args{{"ip", "10.9.9.9"}, {"username", "admin"}, {"lanplus", "1"},
                                            {"password_file", "/etc/veeam-ha/ipmi.pass"}, {"plug", "bmc-b"}});
    // The ping clone's hosts are the ping targets.
    CHECK(c.policy.ping_targets == std::vector<std::string>{"192.0.2.254"});
    // 200 for a.example against no stickiness: Pacemaker moved the group back.
    CHECK(c.policy.failback);
    CHECK(c.nodes[0].priority == 200);
    CHECK(c.nodes[1].priority == 100);
    REQUIRE(c.resources.size() == 3);  // vg, ip, svc: apache is left out
    CHECK(c.resources[0].name == "vg");
    CHECK(std::get<config::LvmSpec>(c.resources[0].spec).mode == config::LvmSpec::Mode::SystemId);
    CHECK(c.resources[1].name == "ip");
    CHECK(std::get<config::IpSpec>(c.resources[1].spec).address.text() == "192.0.2.100/24");
    CHECK(c.resources[1].monitor_interval == 15s);
    CHECK(c.resources[1].monitor_timeout == 25s);
    CHECK(c.resources[2].start_timeout == 5min);
    CHECK(c.resources[2].monitor_interval == 30s);  // the interval=0 probe is not the monitor
    CHECK(c.resources[2].monitor_timeout == 1s);
    REQUIRE(r.steps.size() >= 2);
    CHECK_THAT(r.steps[1], Contains("/etc/veeam-ha/ipmi.pass") && Contains("umask 077"));
}

TEST_CASE("the article's Pacemaker 1.1 CIB (hand-written fixture) maps to the same cluster") {
    const std::string xml = read("tests/testdata/pacemaker/article-1.1.cib.xml");
    const std::string corosync2 = read("tests/testdata/pacemaker/corosync-2.conf");
    migrate::Cib parsed = migrate::read_cib(xml, "article-1.1.cib.xml");
    CHECK(parsed.validate_with == "pacemaker-2.10");

    // corosync 2 named the nodes by host name: their addresses are left to fill in.
    auto with_names = migrate::import_pcs(parsed, migrate::read_corosync_conf(corosync2, "corosync.conf"));
    CHECK(with_names.placeholders == 2);
    CHECK_THAT(unwrapped(with_names.yaml), Contains("ring0_addr is the host name vbr-repo-1.vmik.lab; veeam-had needs literal "
                                         "addresses (getent hosts vbr-repo-1.vmik.lab)"));
    config::LoadOptions options;
    options.check_files = false;
    auto refused = config::load_string(with_names.yaml, "out.yaml", options);
    REQUIRE(refused.errors.size() == 2);
    CHECK_THAT(refused.errors[0].to_string(),
               Contains("nodes[0].addresses[0]: expected an IPv4 or IPv6 address, found \"FILL IN: the address of "
                        "vbr-repo-1.vmik.lab on link 0\""));

    auto r = import(xml, "totem {\n cluster_name: vbr-repo\n}\nnodelist {\n node {\n ring0_addr: 192.168.22.201\n"
                         " nodeid: 1\n }\n node {\n ring0_addr: 192.168.22.202\n nodeid: 2\n }\n}\n");
    CHECK(r.placeholders == 0);
    CHECK_THAT(r.yaml, !Contains("my_password"));
    config::Config c = load(r.yaml);
    CHECK(c.cluster.name == "vbr-repo");
    CHECK(c.nodes[0].name == "vbr-repo-1.vmik.lab");  // from the CIB's <node id="1">, by nodeid
    CHECK(c.nodes[1].addresses == std::vector<std::string>{"192.168.22.202"});
    CHECK(c.nodes[1].vm_uuid == "423576b3-f216-b7e7-aba6-9419bcb72a24");
    REQUIRE(c.fencing.vsphere);
    CHECK(c.fencing.vsphere->host == "vcsa67.vmik.lab");
    CHECK(c.fencing.vsphere->username == "admin@vmik.lab");
    CHECK(c.fencing.vsphere->password_file == "/etc/veeam-ha/vcenter.pass");
    CHECK(c.fencing.action == config::FenceAction::Off);
    CHECK_THAT(unwrapped(r.yaml), Contains("pcmk_reboot_action=on: Pacemaker then only powered the VM on"));
    REQUIRE(c.resources.size() == 6);
    const char* names[] = {"vg_vbr", "vg_repo", "fs_vbr", "fs_repo", "ip_vbr", "svc_veeamtransport"};
    for (size_t i = 0; i < 6; ++i) CHECK(c.resources[i].name == names[i]);
    auto& vg = std::get<config::LvmSpec>(c.resources[0].spec);
    CHECK(vg.vg == "vg_vbr");
    CHECK(vg.mode == config::LvmSpec::Mode::Tag);  // exclusive=true: HA-LVM by tags, as it runs today
    CHECK(c.resources[0].monitor_interval == 10s);  // bare seconds, as pcs 0.9 wrote them
    CHECK(c.resources[0].start_timeout == 30s);
    auto& fs = std::get<config::FilesystemSpec>(c.resources[3].spec);
    CHECK(fs.device == "/dev/mapper/vg_repo-lv_repo");
    CHECK(fs.mountpoint == "/veeam/repo");
    CHECK(c.resources[5].stop_timeout == 100s);
    CHECK(std::get<config::ServiceSpec>(c.resources[5].spec).unit == "veeamtransport.service");
    CHECK_FALSE(c.policy.failback);  // the article's two equal location constraints
    CHECK(c.nodes[0].priority == 100);
    CHECK(c.nodes[1].priority == 100);
}

TEST_CASE("failback follows Pacemaker: a location preference against the group's summed stickiness") {
    // Two members with stickiness 60 each: the group holds its place with 120, and a preference
    // of 100 for a.example does not move it back; 150 does.
    const std::string group = "<group id=\"g\">" + kIp +
                              primitive("svc", "systemd", "", "app", "") + "</group>" + kFence;
    auto with = [&](const std::string& score) {
        std::string xml = cib(group, "<rsc_location id=\"p\" rsc=\"g\" node=\"a.example\" score=\"" + score + "\"/>");
        xml.replace(xml.find("</configuration>"), 0,
                    "<rsc_defaults><meta_attributes id=\"d\">" + nv("resource-stickiness", "60") +
                        nv("migration-threshold", "INFINITY") + nv("failure-timeout", "0") +
                        "</meta_attributes></rsc_defaults>");
        return load(import(xml).yaml);
    };
    config::Config stays = with("100");
    CHECK_FALSE(stays.policy.failback);
    CHECK(stays.nodes[0].priority == 200);  // still the preferred node for cold starts and fence races
    CHECK(with("150").policy.failback);
    CHECK(with("INFINITY").policy.failback);
    CHECK(stays.policy.migration_threshold == 0);               // INFINITY: never hands over
    CHECK(stays.policy.failure_timeout == std::chrono::hours(24 * 30));  // 0: never expires
}
