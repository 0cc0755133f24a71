// SPDX-License-Identifier: GPL-2.0-or-later
// A tiny Type=notify service for the nspawn tests:
//   veeamha_test_notify DELAY_MS            sleep, then READY=1 + STATUS=, run until SIGTERM
//   veeamha_test_notify DELAY_MS EXIT_CODE  sleep, then exit with EXIT_CODE before READY
// It pings the watchdog when the unit sets WatchdogSec.
#include <systemd/sd-daemon.h>

#include <csignal>
#include <cstdlib>
#include <ctime>

namespace {
volatile std::sig_atomic_t g_stop = 0;
void on_term(int) { g_stop = 1; }

void sleep_ms(long ms) {
    timespec ts{ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && !g_stop) {
    }
}
}  // namespace

int main(int argc, char** argv) {
    std::signal(SIGTERM, on_term);
    long delay_ms = argc > 1 ? std::atol(argv[1]) : 0;
    sleep_ms(delay_ms);
    if (argc > 2) return std::atoi(argv[2]);
    uint64_t watchdog_usec = 0;
    bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0;
    sd_notify(0, "READY=1\nSTATUS=veeamha-test ready");
    while (!g_stop) {
        if (watchdog) sd_notify(0, "WATCHDOG=1");
        sleep_ms(watchdog ? static_cast<long>(watchdog_usec / 2000) : 200);
    }
    sd_notify(0, "STOPPING=1");
    return 0;
}
