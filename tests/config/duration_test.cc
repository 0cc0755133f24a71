// SPDX-License-Identifier: GPL-2.0-or-later
#include <catch2/catch.hpp>

#include "config/config.h"

using veeamha::config::Duration;
using veeamha::config::format_duration;
using veeamha::config::parse_duration;

TEST_CASE("durations need a unit and parse exactly") {
    CHECK(parse_duration("200ms") == Duration(200));
    CHECK(parse_duration("2s") == Duration(2000));
    CHECK(parse_duration("1m") == Duration(60000));
    CHECK(parse_duration("1h") == Duration(3600000));
    CHECK(parse_duration("1.5s") == Duration(1500));
    CHECK(parse_duration("0.25s") == Duration(250));
    CHECK(parse_duration("1m30s") == Duration(90000));
    CHECK(parse_duration("2h15m") == Duration(8100000));
    CHECK(parse_duration("1s500ms") == Duration(1500));
    CHECK(parse_duration("0") == Duration(0));
    CHECK(parse_duration("0s") == Duration(0));
    CHECK(parse_duration("0ms") == Duration(0));
}

TEST_CASE("durations without a unit or with junk are refused") {
    for (const char* bad : {"", "200", "1.5", "s", "ms", "-1s", "+1s", "1 s", " 1s", "1s ",
                            "1sec", "1S", "1MS", "1d", "1us", "1.s", ".5s", "1.0005s", "1s1s",
                            "1s1m", "1ms1s", "1m1m", "1e3ms", "0x10s", "1,5s",
                            "9999999999s", "2401h"}) {
        INFO(bad);
        CHECK_FALSE(parse_duration(bad).has_value());
    }
}

TEST_CASE("durations are bounded to 100 days") {
    CHECK(parse_duration("2400h") == Duration(2400LL * 3600000));
    CHECK_FALSE(parse_duration("2400h1ms").has_value());
}

TEST_CASE("format_duration gives the shortest exact form and round-trips") {
    CHECK(format_duration(Duration(0)) == "0s");
    CHECK(format_duration(Duration(200)) == "200ms");
    CHECK(format_duration(Duration(1000)) == "1s");
    CHECK(format_duration(Duration(1500)) == "1.5s");
    CHECK(format_duration(Duration(1250)) == "1.25s");
    CHECK(format_duration(Duration(1001)) == "1.001s");
    CHECK(format_duration(Duration(60000)) == "1m");
    CHECK(format_duration(Duration(90000)) == "90s");
    CHECK(format_duration(Duration(600000)) == "10m");
    CHECK(format_duration(Duration(7200000)) == "2h");
    for (long long ms : {0LL, 1LL, 999LL, 1000LL, 1001LL, 59999LL, 60000LL, 61000LL, 3600000LL,
                         3600001LL, 86400000LL}) {
        INFO(ms);
        CHECK(parse_duration(format_duration(Duration(ms))) == Duration(ms));
    }
}
