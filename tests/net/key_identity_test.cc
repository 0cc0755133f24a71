// SPDX-License-Identifier: GPL-2.0-or-later
// The cluster key file and the persisted generation.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "net/identity.h"
#include "net/key_file.h"
#include "tests/common/temp_dir.h"

using namespace veeamha::net;
namespace fs = std::filesystem;

using veeamha::test::TempDir;

namespace {

std::string message_of(const std::string& path) {
    try {
        load_key_file(path);
    } catch (const KeyFileError& e) {
        return e.what();
    }
    return "";
}

// A key as `veeam-hactl keygen` writes it: 32 random bytes, mode 0600.
void write_key(const std::string& path) {
    std::string bytes(32, '\0');
    std::ifstream("/dev/urandom", std::ios::binary).read(bytes.data(), 32);
    { std::ofstream(path, std::ios::binary) << bytes; }
    ::chmod(path.c_str(), 0600);
}

}  // namespace

TEST_CASE("key file: a 0600 key of 32 bytes loads, the same bytes every time") {
    TempDir d{"veeamha-net"};
    auto p = d / "authkey";
    write_key(p);
    SecretKey k = load_key_file(p);
    SecretKey k2 = load_key_file(p);
    CHECK(std::equal(k.bytes().begin(), k.bytes().end(), k2.bytes().begin()));
}

TEST_CASE("key file: unsafe mode, wrong size, symlink and missing file are refused clearly") {
    TempDir d{"veeamha-net"};
    auto p = d / "authkey";
    write_key(p);
    ::chmod(p.c_str(), 0644);
    auto msg = message_of(p);
    CHECK_THAT(msg, Catch::Contains("mode 0644") && Catch::Contains("chmod 600 " + p));
    ::chmod(p.c_str(), 0600);
    { std::ofstream(p, std::ios::app) << "x"; }
    CHECK_THAT(message_of(p), Catch::Contains("33 bytes") && Catch::Contains("exactly 32"));
    auto link = d / "link";
    fs::create_symlink(p, link);
    CHECK_THAT(message_of(link), Catch::Contains("symbolic link"));
    CHECK_THAT(message_of(d / "none"), Catch::Contains("veeam-hactl keygen"));
}

TEST_CASE("generation increases across starts and is persisted - incarnation is random") {
    TempDir d{"veeamha-net"};
    Identity a = start_identity(d.path);
    Identity b = start_identity(d.path);
    CHECK(b.generation > a.generation);
    CHECK(a.incarnation != b.incarnation);
    CHECK(a.incarnation != 0);
    // A persisted value ahead of the clock (clock stepped back) still moves forward.
    { std::ofstream(d / "net-generation") << "18446744073709551000\n"; }
    Identity c = start_identity(d.path);
    CHECK(c.generation == 18446744073709551001ull);
    CHECK_THROWS_WITH(start_identity(d / "missing"), Catch::Contains("missing"));
}
