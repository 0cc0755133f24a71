// SPDX-License-Identifier: GPL-2.0-or-later
// The .deb under a real systemd: installed with dpkg in a systemd-nspawn container booted from
// this machine's root (tests/resources/service/nspawn_container.h), the unit as that systemd
// loads it rated by `systemd-analyze security`, enabled with systemctl, removed, then purged.
// A purge must leave no enable link, no mask and no state; a removal keeps the state.
//
// The container's /usr is a writable overlay with a throwaway upper layer and its dpkg database
// a copy of this machine's (so the package's dependencies, lvm2 and xfsprogs from
// scripts/install-deps, are installed there too): nothing reaches the machine itself.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "base/process.h"
#include "tests/common/skip.h"
#include "tests/resources/service/nspawn_container.h"

using namespace veeamha;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// The highest `systemd-analyze security` exposure the unit may have (the unit file says why it
// cannot go lower; tests/package/check_deb.sh holds the offline rating to the same number).
constexpr double kMaxExposure = 6.8;
constexpr const char* kWantsLink = "/etc/systemd/system/multi-user.target.wants/veeam-had.service";
constexpr const char* kMaskLink = "/etc/systemd/system/veeam-had.service";
constexpr const char* kStateDir = "/var/lib/veeam-ha";
constexpr const char* kOrderDir = "/run/systemd/system/vhtest-app.service.d";

base::ProcessResult run(const std::vector<std::string>& argv, std::chrono::seconds timeout = 60s) {
    base::ProcessSpec spec;
    spec.argv = argv;
    spec.deadline = base::Clock::now() + timeout;
    return base::run_process(spec);
}

std::string the_deb() {
    std::vector<fs::path> debs;
    if (fs::is_directory(VEEAMHA_DEB_DIR))
        for (const auto& e : fs::directory_iterator(VEEAMHA_DEB_DIR))
            if (e.path().extension() == ".deb") debs.push_back(e.path());
    INFO("the package-build test makes it in " VEEAMHA_DEB_DIR);
    REQUIRE(debs.size() == 1);
    return debs[0].string();
}

// A scratch folder on the machine, removed at the end.
struct ScratchDir {
    std::string path;
    ScratchDir() {
        char tmpl[] = "/tmp/vhpkg-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        path = tmpl;
    }
    ~ScratchDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

class Host {
public:
    Host(test::NspawnContainer& c) : c_(c) {}
    // Runs argv inside the container (all its namespaces), no shell.
    base::ProcessResult exec(const std::vector<std::string>& argv) {
        std::vector<std::string> full = {"nsenter", "-t", std::to_string(c_.leader()), "-a"};
        full.insert(full.end(), argv.begin(), argv.end());
        return run(full, 120s);
    }
    void must(const std::vector<std::string>& argv) {
        base::ProcessResult r = exec(argv);
        INFO(base::format_command(argv) << " in the container: " << r.describe() << "\nstdout:\n"
                                        << r.out << "\nstderr:\n" << r.err);
        REQUIRE(r.success());
    }
    bool exists(const std::string& path) const {
        std::error_code ec;
        return fs::symlink_status(c_.host_path(path), ec).type() != fs::file_type::not_found;
    }
    bool is_symlink(const std::string& path) const { return fs::is_symlink(fs::symlink_status(c_.host_path(path))); }
    // Every path under /etc/systemd and /run/systemd/system that names veeam-had.
    std::string unit_leftovers() {
        base::ProcessResult r = exec({"find", "/etc/systemd", "/run/systemd/system", "-name", "veeam-had*"});
        return r.out;
    }

private:
    test::NspawnContainer& c_;
};

}  // namespace

TEST_CASE("the .deb installs under systemd, its unit is rated, and a purge leaves nothing behind") {
    if (auto why = test::NspawnContainer::cannot_run_reason(); !why.empty()) VEEAMHA_SKIP_TEST(why);
    const std::string deb = the_deb();
    ScratchDir scratch;
    // The package, seen inside at /opt/veeamha-test; the dpkg database copy, writable.
    fs::copy_file(deb, scratch.path + "/veeam-had.deb");
    REQUIRE(run({"cp", "-a", "/var/lib/dpkg", scratch.path + "/dpkg"}).success());
    // The container's /etc is fresh (--volatile=yes): this machine's system users are not in
    // its passwd, and dpkg refuses to run with an owner override naming one it cannot find.
    std::ofstream(scratch.path + "/dpkg/statoverride", std::ios::trunc).flush();

    test::NspawnOptions o;
    o.bind_ro_dir = scratch.path;
    o.name_prefix = "vhpkg";
    o.stop_with_parent = true;
    o.extra_args = {"--overlay=/usr::/usr", "--bind=" + scratch.path + "/dpkg:/var/lib/dpkg"};
    test::NspawnContainer container(o);
    Host host(container);

    // Installed: the unit is there, nothing is enabled or started by the package.
    host.must({"dpkg", "-i", "/opt/veeamha-test/veeam-had.deb"});
    REQUIRE(host.exists("/usr/lib/systemd/system/veeam-had.service"));
    CHECK_FALSE(host.exists(kWantsLink));
    base::ProcessResult active = host.exec({"systemctl", "is-active", "veeam-had.service"});
    CHECK(active.out == "inactive\n");
    base::ProcessResult loaded = host.exec({"systemctl", "show", "-p", "LoadState", "veeam-had.service"});
    CHECK(loaded.out == "LoadState=loaded\n");

    // The unit as this systemd loads it: rated, printed, held to the threshold.
    base::ProcessResult security = host.exec({"systemd-analyze", "security", "--no-pager", "veeam-had.service"});
    INFO("systemd-analyze security:\n" << security.out << security.err);
    REQUIRE(security.ended == base::ProcessResult::Ended::Exited);
    const std::string marker = "Overall exposure level for veeam-had.service: ";
    size_t at = security.out.find(marker);
    REQUIRE(at != std::string::npos);
    double exposure = std::stod(security.out.substr(at + marker.size()));
    WARN("systemd-analyze security veeam-had.service (systemd in the container): " << exposure
                                                                                   << " (threshold " << kMaxExposure << ")");
    CHECK(exposure <= kMaxExposure);

    // The admin turns it on; the daemon would have made its state.
    host.must({"systemctl", "enable", "veeam-had.service"});
    REQUIRE(host.is_symlink(kWantsLink));
    host.must({"mkdir", "-p", kStateDir});
    host.must({"touch", std::string(kStateDir) + "/epoch"});
    // ... and the shutdown-order drop-in of a group unit (docs/resources-lvm-service.md), next
    // to an admin's own drop-in for the same unit, which must stay.
    host.must({"mkdir", "-p", kOrderDir});
    host.must({"sh", "-c", std::string("printf '[Unit]\\nBefore=veeam-had.service\\n' > ") + kOrderDir +
                               "/50-veeam-had-order.conf && printf '[Unit]\\n' > " + kOrderDir + "/10-admin.conf"});

    // Removed: programs and unit gone, the unit masked while the package is away, the state and
    // the conffile kept (a reinstall carries on).
    host.must({"dpkg", "-r", "veeam-had"});
    CHECK_FALSE(host.exists("/usr/sbin/veeam-had"));
    CHECK_FALSE(host.exists("/usr/lib/systemd/system/veeam-had.service"));
    CHECK(host.exists(std::string(kStateDir) + "/epoch"));
    CHECK(host.exists("/etc/veeam-ha.yaml.example"));

    // Purged: no enable link, no mask, no state, no conffile; systemd knows no such unit.
    host.must({"dpkg", "--purge", "veeam-had"});
    CHECK_FALSE(host.exists(kWantsLink));
    CHECK_FALSE(host.exists(kMaskLink));
    CHECK(host.unit_leftovers() == "");
    CHECK_FALSE(host.exists(kStateDir));
    CHECK_FALSE(host.exists("/etc/veeam-ha.yaml.example"));
    CHECK_FALSE(host.exists(std::string(kOrderDir) + "/50-veeam-had-order.conf"));
    CHECK(host.exists(std::string(kOrderDir) + "/10-admin.conf"));
    base::ProcessResult state = host.exec({"systemctl", "show", "-p", "LoadState", "veeam-had.service"});
    CHECK(state.out == "LoadState=not-found\n");
    base::ProcessResult dpkg_state = host.exec({"dpkg-query", "-W", "-f=${db:Status-Status}", "veeam-had"});
    CHECK(dpkg_state.out != "installed");
}
