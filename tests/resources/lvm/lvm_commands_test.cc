// SPDX-License-Identifier: GPL-2.0-or-later
// Unit tests: the exact lvm2 command lines the lvm resource runs.
#include <catch2/catch.hpp>

#include "storage/lvm/lvm_commands.h"
#include "storage/lvm/lvm_resource.h"

using namespace veeamha::storage::lvm;
using veeamha::base::ProcessResult;

TEST_CASE("plain commands, no test overrides") {
    LvmCommands c({});
    CHECK(c.systemid() == Argv{"lvm", "systemid"});
    CHECK(c.activate("vg_repo", false) == Argv{"lvm", "vgchange", "-aey", "vg_repo"});
    CHECK(c.activate("vg_repo", true) ==
          Argv{"lvm", "vgchange", "-aey", "--activationmode", "partial", "vg_repo"});
    CHECK(c.deactivate("vg_repo") == Argv{"lvm", "vgchange", "-an", "vg_repo"});
    CHECK(c.vgs("vg_repo") == Argv{"lvm", "vgs", "--foreign", "--reportformat", "json", "-o",
                                   vgs_fields(), "vg_repo"});
    CHECK(c.lvs("vg_repo") == Argv{"lvm", "lvs", "--foreign", "--reportformat", "json", "-o",
                                   lvs_fields(), "vg_repo"});
    CHECK(c.config_values({"global/system_id_source"}) ==
          Argv{"lvm", "config", "--typeconfig", "full", "global/system_id_source"});
}

TEST_CASE("system ID changes: claim, forced takeover, hand-over") {
    LvmCommands c({});
    CHECK(c.set_system_id("vg", "nodeA") == Argv{"lvm", "vgchange", "-y", "--systemid", "nodeA", "vg"});
    CHECK(c.set_system_id("vg", "nodeA", "nodeB") ==
          Argv{"lvm", "vgchange", "--config", "local/extra_system_ids=[\"nodeB\"]", "-y", "--systemid",
               "nodeA", "vg"});
}

TEST_CASE("tag mode commands") {
    LvmCommands c({});
    CHECK(c.change_tags("vg", {"nodeA"}, {"nodeB"}) ==
          Argv{"lvm", "vgchange", "--deltag", "nodeB", "--addtag", "nodeA", "vg"});
    CHECK(c.change_tags("vg", {}, {"nodeA"}) == Argv{"lvm", "vgchange", "--deltag", "nodeA", "vg"});
    CHECK(c.activate("vg", false, "nodeA") ==
          Argv{"lvm", "vgchange", "--config", "activation/volume_list=[\"@nodeA\"]", "-aey", "vg"});
}

TEST_CASE("test overrides: --devices for each device, one merged --config") {
    LvmCommandOptions o;
    o.lvm_binary = "/sbin/lvm";
    o.devices = {"/dev/loop7", "/dev/loop8"};
    o.config = "global/activation=0 local/system_id=\"nodeA\"";
    LvmCommands c(o);
    CHECK(c.deactivate("vg") == Argv{"/sbin/lvm", "vgchange", "--devices", "/dev/loop7", "--devices",
                                     "/dev/loop8", "--config", o.config, "-an", "vg"});
    // lvm refuses a repeated --config: the per-command part is appended to the fixed one.
    CHECK(c.set_system_id("vg", "nodeA", "nodeB") ==
          Argv{"/sbin/lvm", "vgchange", "--devices", "/dev/loop7", "--devices", "/dev/loop8", "--config",
               o.config + " local/extra_system_ids=[\"nodeB\"]", "-y", "--systemid", "nodeA", "vg"});
}

TEST_CASE("column report form") {
    LvmCommandOptions o;
    o.report_format = ReportFormat::Columns;
    LvmCommands c(o);
    CHECK(c.vgs("vg") == Argv{"lvm", "vgs", "--foreign", "--noheadings", "--nameprefixes", "-o",
                              vgs_fields(), "vg"});
}

TEST_CASE("identifiers that may go into --config and --systemid") {
    CHECK(valid_lvm_identifier("nodeA"));
    CHECK(valid_lvm_identifier("vbr-repo-1.vmik.lab"));
    CHECK(valid_lvm_identifier("a_b+c:d"));
    CHECK_FALSE(valid_lvm_identifier(""));
    CHECK_FALSE(valid_lvm_identifier("-x"));
    CHECK_FALSE(valid_lvm_identifier("a\"]"));
    CHECK_FALSE(valid_lvm_identifier("a b"));
    CHECK_FALSE(valid_lvm_identifier(std::string(129, 'a')));
}

TEST_CASE("lvm error text drops lvm's noise and keeps every real line") {
    veeamha::base::ProcessResult r;
    r.ended = veeamha::base::ProcessResult::Ended::Exited;
    r.exit_code = 5;
    r.err =
        "File descriptor 9 (/dev/null) leaked on lvm invocation. Parent PID 1: x\n"
        "  WARNING: Activation disabled. No device-mapper interaction will be attempted.\n"
        "  Cannot change VG vg while PVs are missing.\n"
        "  See vgreduce --removemissing and vgextend --restoremissing.\n"
        "  Cannot process volume group vg\n";
    CHECK(lvm_error_text(r) ==
          "exit 5: Cannot change VG vg while PVs are missing. / See vgreduce --removemissing and "
          "vgextend --restoremissing. / Cannot process volume group vg");
    r.err.clear();
    CHECK(lvm_error_text(r) == "exit 5");
    r.ended = veeamha::base::ProcessResult::Ended::CouldNotStart;
    r.error = "lvm: No such file or directory";
    CHECK(lvm_error_text(r) == "could not start: lvm: No such file or directory");
}
