// SPDX-License-Identifier: GPL-2.0-or-later
// Test fixture: a real vSphere API (govmomi's simulator, tests/fencing/vcsim/*.go) on
// loopback, with a certificate made for the run, a fixed username and password, and two VMs
// with known names and BIOS UUIDs. Every instance listens on its own ephemeral port, so tests
// may run in parallel. The simulator process is this fixture's child and ends with it (its stdin
// is closed; if the test dies, the closed pipe ends it too). Through the same pipe the test
// reads the simulator's counts, ends its sessions and changes its delays; restart() replaces
// the process on the same port.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "base/deadline.h"
#include "config/config.h"

namespace veeamha::test {

// The two VMs every simulator has, as a two-node cluster would configure them.
inline constexpr const char* kNode1 = "vbr-repo-1.vmik.lab";
inline constexpr const char* kUuid1 = "42356049-6020-2ea0-0bd9-11362ef785e7";
inline constexpr const char* kInstance1 = "50356049-6020-2ea0-0bd9-11362ef785e7";
inline constexpr const char* kNode2 = "vbr-repo-2.vmik.lab";
inline constexpr const char* kUuid2 = "423576b3-f216-b7e7-aba6-9419bcb72a24";
inline constexpr const char* kInstance2 = "503576b3-f216-b7e7-aba6-9419bcb72a24";
inline constexpr const char* kUser = "fence@vsphere.local";
// A non-ASCII password: gSOAP must send it as UTF-8, once.
inline constexpr const char* kPassword = "s3cret-Pässword!";

// A temporary directory, removed with everything in it.
class TempDir {
public:
    // Under `parent`, or the system's temporary folder when empty.
    explicit TempDir(const std::string& parent = {});
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }
    // Writes a file (mode as given) and returns its path.
    std::string write(const std::string& name, const std::string& content, mode_t mode = 0600) const;

private:
    std::string path_;
};

// Everything written to stderr (where log lines go) while it lives.
class StderrCapture {
public:
    explicit StderrCapture(const TempDir& dir);
    ~StderrCapture();
    StderrCapture(const StderrCapture&) = delete;
    StderrCapture& operator=(const StderrCapture&) = delete;
    // Stops capturing; what was written.
    std::string text();

private:
    void restore();
    std::string path_;
    int saved_ = -1;
};

struct Certificate {
    std::string cert;        // PEM, self-signed: also its own CA file
    std::string key;
    std::string thumbprint;  // "SHA256:AB:..." of the certificate
};
// A 2048-bit RSA certificate, made with openssl, for the given subjectAltName.
inline constexpr const char* kLoopbackNames = "IP:127.0.0.1,DNS:localhost";
Certificate make_certificate(const std::string& dir, const std::string& name,
                             const std::string& alt_names = kLoopbackNames);

// Builds the simulator if it is missing or older than its source; returns its path.
std::string vcsim_binary();

struct VcsimOptions {
    bool two_vms = true;                  // kNode1/kUuid1 and kNode2/kUuid2
    int extra_vms = 0;                    // more, with generated names and UUIDs
    bool hang = false;                    // accept connections, never answer
    std::string on_power_off;             // command run inside every power-off
    std::string on_power_on;              // command run inside every power-on
    std::vector<std::string> method_delays;  // "PowerOffVM_Task=3000"
    // A realistic vCenter: Login takes this long (SSO), every call this long, and power tasks
    // stay running this long before they complete (and the power state changes).
    int login_delay_ms = 0;
    int call_delay_ms = 0;
    int task_ms = 0;
    std::string alt_names = kLoopbackNames;  // of the simulator's certificate
    // Address to listen on; another than loopback only from a thread inside a network
    // namespace the test created (the lab's switch), e.g. "10.10.0.1:443".
    std::string listen = "127.0.0.1:0";
    // Named VMs (name, BIOS UUID) instead of the two kNode VMs, when not empty.
    std::vector<std::pair<std::string, std::string>> vms;
    // Where the simulator's folder (certificate, key, password, log) goes; default the system's
    // temporary folder. The lab puts it in its run folder, which crash cleanup removes.
    std::string work_parent;
};

class Vcsim {
public:
    explicit Vcsim(VcsimOptions options = {});  // throws std::runtime_error if it does not start
    ~Vcsim();
    Vcsim(const Vcsim&) = delete;
    Vcsim& operator=(const Vcsim&) = delete;

    uint16_t port() const { return port_; }

    // What the simulator saw since it started: successful logins, live sessions, the client
    // connections that sent calls, and the number of requests of each SOAP method.
    struct Counts {
        int logins = 0;
        int sessions = 0;
        int connections = 0;
        std::map<std::string, int> calls;
        int of(const std::string& method) const {
            auto it = calls.find(method);
            return it == calls.end() ? 0 : it->second;
        }
    };
    Counts counts();
    // The cookies of the live sessions (to prove they never reach a log).
    std::vector<std::string> session_keys();
    // Ends every session on the vCenter side; their cookies are refused from now on.
    int terminate_sessions();
    // "login-delay-ms", "call-delay-ms" or "task-ms", from now on.
    void set(const std::string& knob, int ms);
    // Stops the simulator and starts a new one on the same port with the same inventory,
    // certificate and password (as a vCenter restart: sessions, counts and power states start
    // over; delays are the options' again). For one listening in a test's network namespace,
    // call it from a thread inside that namespace.
    void restart();
    // One command line on the simulator's stdin, its one-line answer.
    std::string command(const std::string& line);
    const Certificate& certificate() const { return cert_; }
    const std::string& password_file() const { return password_file_; }
    const TempDir& dir() const { return dir_; }
    // Settings that verify the simulator's certificate against itself as CA file.
    config::VSphere vsphere() const;
    // A config with the two nodes, fencing through this simulator.
    config::Config cluster_config() const;

private:
    void start(const std::string& listen);
    void stop();
    std::string read_line(base::Deadline until);

    VcsimOptions options_;
    TempDir dir_;
    Certificate cert_;
    std::string password_file_;
    std::string log_;
    pid_t pid_ = -1;
    int stdin_fd_ = -1;
    int stdout_fd_ = -1;
    std::string pending_;  // read from stdout, not yet a whole line
    uint16_t port_ = 0;
    std::mutex command_mutex_;
};

// A loopback port nothing listens on (bound, then closed).
uint16_t unused_port();

}  // namespace veeamha::test
