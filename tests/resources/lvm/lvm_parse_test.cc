// SPDX-License-Identifier: GPL-2.0-or-later
// Unit tests: parsing of vgs/lvs/lvm systemid/lvm config output, in both report forms. The
// samples are what lvm2 2.03.16 (Debian 12) prints.
#include <catch2/catch.hpp>

#include "storage/lvm/device_mapper.h"
#include "storage/lvm/lvm_check.h"
#include "storage/lvm/lvm_report.h"

using namespace veeamha::storage::lvm;

namespace {

const char* kVgsJson = R"({
      "report": [
          {
              "vg": [
                  {"vg_name":"vg_repo", "vg_uuid":"gkhxlq-iOVN-gwnK-nmFL-drKG-Pend-zDrAc9", "vg_systemid":"nodeA", "vg_attr":"wz--n-", "vg_tags":"", "pv_count":"1", "vg_missing_pv_count":"0", "lv_count":"2", "vg_autoactivation":"enabled"},
                  {"vg_name":"vg_foreign", "vg_uuid":"aaaaaa-iOVN-gwnK-nmFL-drKG-Pend-zDrAc9", "vg_systemid":"otherhost", "vg_attr":"wz--n-", "vg_tags":"nodeA,backup", "pv_count":"1", "vg_missing_pv_count":"0", "lv_count":"1", "vg_autoactivation":""},
                  {"vg_name":"vg_nosysid", "vg_uuid":"bbbbbb-iOVN-gwnK-nmFL-drKG-Pend-zDrAc9", "vg_systemid":"", "vg_attr":"wz--n-", "vg_tags":"", "pv_count":"2", "vg_missing_pv_count":"0", "lv_count":"0", "vg_autoactivation":"enabled"},
                  {"vg_name":"vg_partial", "vg_uuid":"cccccc-iOVN-gwnK-nmFL-drKG-Pend-zDrAc9", "vg_systemid":"nodeA", "vg_attr":"wz-pn-", "vg_tags":"", "pv_count":"2", "vg_missing_pv_count":"1", "lv_count":"3", "vg_autoactivation":"enabled"}
              ]
          }
      ]
  }
)";

}  // namespace

TEST_CASE("vgs JSON: system IDs, foreign, no ID, partial, tags") {
    auto p = parse_vgs(ReportFormat::Json, kVgsJson);
    REQUIRE(p.ok());
    REQUIRE(p.rows.size() == 4);
    const auto& own = p.rows[0];
    CHECK(own.name == "vg_repo");
    CHECK(own.uuid == "gkhxlq-iOVN-gwnK-nmFL-drKG-Pend-zDrAc9");
    CHECK(own.system_id == "nodeA");
    CHECK(own.tags.empty());
    CHECK(own.lv_count == 2);
    CHECK(own.autoactivation);
    CHECK_FALSE(own.partial());
    CHECK_FALSE(own.exported());
    CHECK_FALSE(own.clustered_or_shared());

    const auto& foreign = p.rows[1];
    CHECK(foreign.system_id == "otherhost");
    CHECK(foreign.tags == std::vector<std::string>{"nodeA", "backup"});
    CHECK(foreign.has_tag("backup"));
    CHECK_FALSE(foreign.has_tag("back"));
    CHECK_FALSE(foreign.autoactivation);

    CHECK(p.rows[2].system_id.empty());
    CHECK(p.rows[2].pv_count == 2);

    const auto& partial = p.rows[3];
    CHECK(partial.partial());
    CHECK(partial.missing_pv_count == 1);
}

TEST_CASE("vgs JSON: partial is seen from vg_attr alone") {
    auto p = parse_vgs(ReportFormat::Json, R"({"report":[{"vg":[{"vg_name":"v","vg_uuid":"u",
        "vg_systemid":"a","vg_attr":"wz-pn-","vg_tags":"","pv_count":"2","vg_missing_pv_count":"0",
        "lv_count":"1","vg_autoactivation":"enabled"}]}]})");
    REQUIRE(p.ok());
    CHECK(p.rows[0].partial());
}

TEST_CASE("vgs JSON: exported and shared VGs are recognised") {
    auto p = parse_vgs(ReportFormat::Json, R"({"report":[{"vg":[
        {"vg_name":"x","vg_uuid":"u","vg_systemid":"","vg_attr":"wzx-n-","vg_tags":"","pv_count":"1","vg_missing_pv_count":"0","lv_count":"1","vg_autoactivation":""},
        {"vg_name":"s","vg_uuid":"u","vg_systemid":"","vg_attr":"wz--ns","vg_tags":"","pv_count":"1","vg_missing_pv_count":"0","lv_count":"1","vg_autoactivation":""}]}]})");
    REQUIRE(p.ok());
    CHECK(p.rows[0].exported());
    CHECK(p.rows[1].clustered_or_shared());
}

TEST_CASE("vgs JSON: VG not found gives an empty report, not an error") {
    auto p = parse_vgs(ReportFormat::Json, R"(  {
      "report": [
          {
              "vg": [
              ]
          }
      ]
  }
)");
    REQUIRE(p.ok());
    CHECK(p.rows.empty());
}

TEST_CASE("vgs JSON: malformed input and missing fields are errors that say what") {
    auto broken = parse_vgs(ReportFormat::Json, R"({"report": [ {"vg": [ {"vg_name": "x", )");
    CHECK_FALSE(broken.ok());
    CHECK_THAT(broken.error, Catch::Contains("not valid JSON"));

    auto empty = parse_vgs(ReportFormat::Json, "");
    CHECK_FALSE(empty.ok());

    auto no_report = parse_vgs(ReportFormat::Json, R"({"something": []})");
    CHECK_THAT(no_report.error, Catch::Contains("\"report\""));

    auto lvs_instead = parse_vgs(ReportFormat::Json, R"({"report":[{"lv":[]}]})");
    CHECK_THAT(lvs_instead.error, Catch::Contains("\"vg\""));

    auto missing = parse_vgs(ReportFormat::Json, R"({"report":[{"vg":[{"vg_name":"x","vg_uuid":"u",
        "vg_attr":"wz--n-","vg_tags":"","pv_count":"1","vg_missing_pv_count":"0","lv_count":"1",
        "vg_autoactivation":""}]}]})");
    CHECK_FALSE(missing.ok());
    CHECK_THAT(missing.error, Catch::Contains("vg_systemid") && Catch::Contains("missing"));

    auto not_number = parse_vgs(ReportFormat::Json, R"({"report":[{"vg":[{"vg_name":"x","vg_uuid":"u",
        "vg_systemid":"","vg_attr":"wz--n-","vg_tags":"","pv_count":"one","vg_missing_pv_count":"0",
        "lv_count":"1","vg_autoactivation":""}]}]})");
    CHECK_THAT(not_number.error, Catch::Contains("pv_count") && Catch::Contains("\"one\""));

    auto short_attr = parse_vgs(ReportFormat::Json, R"({"report":[{"vg":[{"vg_name":"x","vg_uuid":"u",
        "vg_systemid":"","vg_attr":"wz","vg_tags":"","pv_count":"1","vg_missing_pv_count":"0",
        "lv_count":"1","vg_autoactivation":""}]}]})");
    CHECK_THAT(short_attr.error, Catch::Contains("vg_attr"));

    auto nested = parse_vgs(ReportFormat::Json, R"({"report":[{"vg":[{"vg_name":{"a":"b"}}]}]})");
    CHECK_THAT(nested.error, Catch::Contains("vg_name"));
}

TEST_CASE("vgs column form (--nameprefixes), quoted and unquoted") {
    const char* text =
        "  LVM2_VG_NAME='vg_repo' LVM2_VG_UUID='gkhxlq-iOVN' LVM2_VG_SYSTEMID='' LVM2_VG_ATTR='wz--n-' "
        "LVM2_VG_TAGS='nodeA,nodeB' LVM2_PV_COUNT='1' LVM2_VG_MISSING_PV_COUNT='0' LVM2_LV_COUNT='3' "
        "LVM2_VG_AUTOACTIVATION='enabled'\n"
        "  LVM2_VG_NAME=vg_b LVM2_VG_UUID=x LVM2_VG_SYSTEMID=nodeB LVM2_VG_ATTR=wz-pn- LVM2_VG_TAGS= "
        "LVM2_PV_COUNT=2 LVM2_VG_MISSING_PV_COUNT=1 LVM2_LV_COUNT=1 LVM2_VG_AUTOACTIVATION=\n\n";
    auto p = parse_vgs(ReportFormat::Columns, text);
    REQUIRE(p.ok());
    REQUIRE(p.rows.size() == 2);
    CHECK(p.rows[0].name == "vg_repo");
    CHECK(p.rows[0].system_id.empty());
    CHECK(p.rows[0].tags == std::vector<std::string>{"nodeA", "nodeB"});
    CHECK(p.rows[0].lv_count == 3);
    CHECK(p.rows[1].system_id == "nodeB");
    CHECK(p.rows[1].tags.empty());
    CHECK(p.rows[1].partial());
    CHECK_FALSE(p.rows[1].autoactivation);

    CHECK(parse_vgs(ReportFormat::Columns, "").rows.empty());
    auto headings = parse_vgs(ReportFormat::Columns, "  VG     #PV #LV #SN Attr   VSize\n");
    CHECK_THAT(headings.error, Catch::Contains("--nameprefixes"));
    auto unterminated = parse_vgs(ReportFormat::Columns, "LVM2_VG_NAME='abc\n");
    CHECK_THAT(unterminated.error, Catch::Contains("unterminated"));
    auto missing = parse_vgs(ReportFormat::Columns, "LVM2_VG_NAME='abc'\n");
    CHECK_THAT(missing.error, Catch::Contains("vg_uuid"));
}

TEST_CASE("lvs JSON and columns: attributes, activation skip, partial LV") {
    const char* json = R"(  {
      "report": [
          {
              "lv": [
                  {"lv_name":"lv-1", "lv_uuid":"Cno9Ll-Zf2Q", "lv_attr":"-wi-a-----", "vg_name":"vg", "vg_systemid":"nodeA", "vg_tags":""},
                  {"lv_name":"snap", "lv_uuid":"ZD8lKe-KpxH", "lv_attr":"swi---s--k", "vg_name":"vg", "vg_systemid":"nodeA", "vg_tags":"t1"},
                  {"lv_name":"big", "lv_uuid":"ZD8lKe-KpxX", "lv_attr":"-wi-XX--p-", "vg_name":"vg", "vg_systemid":"nodeA", "vg_tags":"t1,t2"}
              ]
          }
      ]
  }
)";
    auto p = parse_lvs(ReportFormat::Json, json);
    REQUIRE(p.ok());
    REQUIRE(p.rows.size() == 3);
    CHECK(p.rows[0].name == "lv-1");
    CHECK_FALSE(p.rows[0].activation_skipped());
    CHECK(p.rows[1].activation_skipped());
    CHECK(p.rows[2].partial());
    CHECK(p.rows[2].vg_tags == std::vector<std::string>{"t1", "t2"});
    CHECK(p.rows[2].vg_system_id == "nodeA");

    auto c = parse_lvs(ReportFormat::Columns,
                       "  LVM2_LV_NAME='lv0' LVM2_LV_UUID='u' LVM2_LV_ATTR='-wi-a-----' "
                       "LVM2_VG_NAME='vg' LVM2_VG_SYSTEMID='nodeB' LVM2_VG_TAGS=''\n");
    REQUIRE(c.ok());
    CHECK(c.rows[0].vg_system_id == "nodeB");

    auto bad = parse_lvs(ReportFormat::Json, R"({"report":[{"lv":[{"lv_name":"a","lv_uuid":"u",
        "lv_attr":"-wi","vg_name":"vg","vg_systemid":"","vg_tags":""}]}]})");
    CHECK_THAT(bad.error, Catch::Contains("lv_attr"));
}

TEST_CASE("lvm systemid output") {
    CHECK(parse_systemid("  system ID: nodeA\n") == std::optional<std::string>("nodeA"));
    CHECK(parse_systemid("  system ID: \n") == std::optional<std::string>(""));
    CHECK(parse_systemid("  system ID:\n") == std::optional<std::string>(""));
    CHECK(parse_systemid("  WARNING: x\n  system ID: vbr-repo-1.vmik.lab  \n") ==
          std::optional<std::string>("vbr-repo-1.vmik.lab"));
    CHECK_FALSE(parse_systemid("").has_value());
    CHECK_FALSE(parse_systemid("garbage\n").has_value());
}

TEST_CASE("lvm config output: strings, numbers, lists, unset keys") {
    auto p = parse_lvm_config(
        "system_id_source=\"uname\"\nevent_activation=1\nvolume_list=[\"vg0\",\"@node-1\"]\n"
        "auto_activation_volume_list=[]\nspaced = [ \"a\" , \"b\" ]\n");
    REQUIRE(p.ok());
    REQUIRE(p.rows.size() == 5);
    CHECK(p.rows[0].key == "system_id_source");
    CHECK(p.rows[0].values == std::vector<std::string>{"uname"});
    CHECK_FALSE(p.rows[0].is_list);
    CHECK(p.rows[1].values == std::vector<std::string>{"1"});
    CHECK(p.rows[2].is_list);
    CHECK(p.rows[2].values == std::vector<std::string>{"vg0", "@node-1"});
    CHECK(p.rows[3].is_list);
    CHECK(p.rows[3].values.empty());
    CHECK(p.rows[4].values == std::vector<std::string>{"a", "b"});

    auto bad = parse_lvm_config("volume_list=[\"vg0\"\nnonsense\n");
    CHECK_FALSE(bad.ok());
    CHECK_THAT(bad.error, Catch::Contains("line 1"));
}

TEST_CASE("list fields split on commas") {
    CHECK(split_list_field("").empty());
    CHECK(split_list_field("a") == std::vector<std::string>{"a"});
    CHECK(split_list_field("a,b,,c") == std::vector<std::string>{"a", "b", "c"});
}

TEST_CASE("activation list matching (volume_list, auto_activation_volume_list)") {
    CHECK(activation_list_matches({"vg_repo"}, "vg_repo", {}));
    CHECK(activation_list_matches({"vg_repo/lv_repo"}, "vg_repo", {}));
    CHECK_FALSE(activation_list_matches({"vg_rep"}, "vg_repo", {}));
    CHECK_FALSE(activation_list_matches({"centos"}, "vg_repo", {}));
    CHECK(activation_list_matches({"centos", "@node1"}, "vg_repo", {"node1"}));
    CHECK_FALSE(activation_list_matches({"centos", "@node1"}, "vg_repo", {"node2"}));
    CHECK(activation_list_matches({"@*"}, "vg_repo", {"x"}));
    CHECK_FALSE(activation_list_matches({"@*"}, "vg_repo", {}));
    CHECK_FALSE(activation_list_matches({}, "vg_repo", {}));
}

TEST_CASE("device-mapper names split into VG, LV and layer") {
    auto plain = split_lvm_dm_name("vg_repo-lv_repo");
    REQUIRE(plain);
    CHECK(plain->vg == "vg_repo");
    CHECK(plain->lv == "lv_repo");
    CHECK(plain->layer.empty());

    auto dashes = split_lvm_dm_name("my--vg-my--lv-tpool");
    REQUIRE(dashes);
    CHECK(dashes->vg == "my-vg");
    CHECK(dashes->lv == "my-lv");
    CHECK(dashes->layer == "tpool");

    using veeamha::storage::lvm::DmDevice;
    std::vector<DmDevice> all = {
        {"vg-lv", "LVM-aaaa", 253, 0, 0, false, true, false},
        {"vg-lv-real", "LVM-aaaa-real", 253, 1, 1, false, true, false},
        {"vg--x-lv", "LVM-bbbb", 253, 2, 0, false, true, false},
        {"vg-notlvm", "CRYPT-LUKS2-xx", 253, 3, 0, false, true, false},
        {"mpatha", "mpath-3600", 253, 4, 0, false, true, false},
    };
    auto mine = devices_of_vg(all, "vg");
    REQUIRE(mine.size() == 2);
    CHECK(mine[0].name == "vg-lv");
    CHECK(mine[1].name == "vg-lv-real");
    CHECK(devices_of_vg(all, "vg-x").size() == 1);
    CHECK(kernel_name(all[2]) == "dm-2");
}
