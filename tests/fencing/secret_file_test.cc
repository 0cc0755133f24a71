// SPDX-License-Identifier: GPL-2.0-or-later
#include <catch2/catch.hpp>

#include "fencing/secret_file.h"
#include "tests/fencing/vcsim_fixture.h"

using namespace veeamha::fencing;
using veeamha::test::TempDir;

TEST_CASE("secret file: the first line, without its line ending") {
    TempDir dir;
    CHECK(read_secret_file(dir.write("a", "pässword\n")).secret == "pässword");
    CHECK(read_secret_file(dir.write("b", "crlf\r\nsecond line\n")).secret == "crlf");
    CHECK(read_secret_file(dir.write("c", "no newline")).secret == "no newline");
    CHECK(read_secret_file(dir.write("d", " spaces kept \n")).secret == " spaces kept ");
}

TEST_CASE("secret file: unsafe or unusable files are refused, naming the file, never the content") {
    TempDir dir;
    for (mode_t mode : {0640, 0604, 0660, 0602}) {
        std::string p = dir.write("open", "topsecret\n", mode);
        SecretRead r = read_secret_file(p);
        CHECK_FALSE(r.ok);
        CHECK(r.error.find(p) != std::string::npos);
        CHECK(r.error.find("chmod 600") != std::string::npos);
        CHECK(r.error.find("topsecret") == std::string::npos);
        CHECK(r.secret.empty());
    }
    CHECK(read_secret_file(dir.write("empty", "\n")).error.find("is empty") != std::string::npos);
    CHECK(read_secret_file(dir.path() + "/missing").error.find("No such file") != std::string::npos);
    CHECK(read_secret_file(dir.path()).error.find("not a regular file") != std::string::npos);
    CHECK(read_secret_file(dir.write("big", std::string(5000, 'x'))).error.find("larger than 4 KiB") !=
          std::string::npos);
    CHECK(read_secret_file("").error == "no password file configured");
}
