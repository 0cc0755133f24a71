// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/common/read_file.h"
#include "tests/fencing/vcsim_fixture.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "base/process.h"

extern char** environ;

namespace veeamha::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string cache_dir() {
    const char* env = std::getenv("VEEAMHA_TEST_CACHE");
    return env && *env ? env : VEEAMHA_TEST_CACHE;
}

using veeamha::test::slurp;

std::string tail(const std::string& text, size_t n = 2000) {
    return text.size() > n ? text.substr(text.size() - n) : text;
}

// Holds an exclusive flock: tests running in parallel build the simulator once.
class FileLock {
public:
    explicit FileLock(const std::string& path) {
        fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd_ < 0) throw std::runtime_error("open " + path + ": " + std::strerror(errno));
        while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {}
    }
    ~FileLock() { ::close(fd_); }

private:
    int fd_ = -1;
};

}  // namespace

TempDir::TempDir(const std::string& parent) {
    std::string tmpl = ((parent.empty() ? fs::temp_directory_path() : fs::path(parent)) / "veeamha-fencing-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
    path_ = tmpl;
}

TempDir::~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& content, mode_t mode) const {
    std::string p = path_ + "/" + name;
    {
        std::ofstream out(p, std::ios::trunc);
        out << content;
    }
    ::chmod(p.c_str(), mode);
    return p;
}

StderrCapture::StderrCapture(const TempDir& dir) : path_(dir.path() + "/stderr.txt") {
    saved_ = ::dup(2);
    int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ::dup2(fd, 2);
    ::close(fd);
}

StderrCapture::~StderrCapture() { restore(); }

std::string StderrCapture::text() {
    restore();
    return slurp(path_);
}

void StderrCapture::restore() {
    if (saved_ < 0) return;
    ::dup2(saved_, 2);
    ::close(saved_);
    saved_ = -1;
}

Certificate make_certificate(const std::string& dir, const std::string& name, const std::string& alt_names) {
    Certificate c;
    c.cert = dir + "/" + name + ".pem";
    c.key = dir + "/" + name + ".key";
    base::ProcessSpec req;
    req.argv = {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", c.key, "-out", c.cert,
                "-days", "2", "-subj", "/CN=127.0.0.1",
                "-addext", "subjectAltName=" + alt_names};
    req.deadline = base::Clock::now() + 60s;
    auto r = base::run_process(req);
    if (!r.success()) throw std::runtime_error("openssl req: " + r.describe());
    base::ProcessSpec fp;
    fp.argv = {"openssl", "x509", "-in", c.cert, "-noout", "-fingerprint", "-sha256"};
    fp.deadline = base::Clock::now() + 30s;
    r = base::run_process(fp);
    size_t eq = r.out.find('=');
    if (!r.success() || eq == std::string::npos) throw std::runtime_error("openssl x509: " + r.describe());
    std::string hex = r.out.substr(eq + 1);
    while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r')) hex.pop_back();
    c.thumbprint = "SHA256:" + hex;
    return c;
}

std::string vcsim_binary() {
    std::string dir = cache_dir() + "/vcsim";
    fs::create_directories(dir);
    // Every .go file of the simulator, in a fixed order.
    std::vector<std::string> sources;
    for (const auto& e : fs::directory_iterator(std::string(VEEAMHA_SOURCE_DIR) + "/tests/fencing/vcsim"))
        if (e.path().extension() == ".go") sources.push_back(e.path().string());
    std::sort(sources.begin(), sources.end());
    // Named after the sources' content: worktrees with different versions of the simulator
    // share the cache without rebuilding (or running) each other's binary.
    std::string all;
    for (const auto& s : sources) all += s.substr(s.rfind('/')) + "\n" + slurp(s);
    char key[32];
    std::snprintf(key, sizeof key, "%016zx", std::hash<std::string>{}(all));
    std::string binary = dir + "/vcsim-" + key;
    FileLock lock(dir + "/.build-lock");
    std::error_code ec;
    if (fs::exists(binary, ec)) return binary;
    std::string partial = binary + ".partial";
    base::ProcessSpec go;
    go.argv = {"go", "build", "-o", partial};
    go.argv.insert(go.argv.end(), sources.begin(), sources.end());
    // GOPATH mode against Debian's packaged sources: nothing is downloaded, ever.
    go.extra_env = {"GOPATH=/usr/share/gocode", "GO111MODULE=off", "GOPROXY=off", "GOFLAGS=",
                    "GOTOOLCHAIN=local", "CGO_ENABLED=0", "GOCACHE=" + dir + "/gocache"};
    go.deadline = base::Clock::now() + 600s;
    auto r = base::run_process(go);
    if (!r.success())
        throw std::runtime_error("building the vCenter simulator failed (" + r.describe() + "):\n" + tail(r.err) +
                                 "\nneeds golang-go and golang-github-vmware-govmomi-dev (scripts/install-deps)");
    fs::rename(partial, binary);
    return binary;
}

uint16_t unused_port() {
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (s < 0 || ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0)
        throw std::runtime_error(std::string("unused_port: ") + std::strerror(errno));
    ::close(s);
    return ntohs(a.sin_port);
}

Vcsim::Vcsim(VcsimOptions options) : options_(std::move(options)), dir_(options_.work_parent) {
    cert_ = make_certificate(dir_.path(), "vcsim", options_.alt_names);
    password_file_ = dir_.write("vcenter.pass", std::string(kPassword) + "\n", 0600);
    log_ = dir_.path() + "/vcsim.log";
    start(options_.listen);
}

void Vcsim::start(const std::string& listen) {
    std::string binary = vcsim_binary();
    std::string workdir = dir_.path() + "/tmp";  // the simulator's datastore folders
    fs::create_directories(workdir);
    const VcsimOptions& o = options_;

    std::vector<std::string> args = {binary};
    args.insert(args.end(), {"-listen", listen});
    if (o.hang) {
        args.push_back("-hang");
    } else {
        args.insert(args.end(), {"-cert", cert_.cert, "-key", cert_.key, "-username", kUser, "-password-file",
                                 password_file_});
        if (!o.vms.empty()) {
            for (const auto& [name, uuid] : o.vms) args.insert(args.end(), {"-vm", name + "=" + uuid});
        } else if (o.two_vms) {
            args.insert(args.end(), {"-vm", std::string(kNode1) + "=" + kUuid1 + "=" + kInstance1, "-vm",
                                     std::string(kNode2) + "=" + kUuid2 + "=" + kInstance2});
        }
        if (o.extra_vms > 0) args.insert(args.end(), {"-extra-vms", std::to_string(o.extra_vms)});
        if (!o.on_power_off.empty()) args.insert(args.end(), {"-on-power-off", o.on_power_off});
        if (!o.on_power_on.empty()) args.insert(args.end(), {"-on-power-on", o.on_power_on});
        for (const auto& d : o.method_delays) args.insert(args.end(), {"-method-delay", d});
        if (o.login_delay_ms > 0) args.insert(args.end(), {"-login-delay-ms", std::to_string(o.login_delay_ms)});
        if (o.call_delay_ms > 0) args.insert(args.end(), {"-call-delay-ms", std::to_string(o.call_delay_ms)});
        if (o.task_ms > 0) args.insert(args.end(), {"-task-ms", std::to_string(o.task_ms)});
    }

    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0)
        throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    std::vector<std::string> env_store;
    for (char** e = environ; e && *e; ++e)
        if (std::strncmp(*e, "TMPDIR=", 7) != 0) env_store.emplace_back(*e);
    env_store.push_back("TMPDIR=" + workdir);
    std::vector<char*> envp, argv;
    for (auto& e : env_store) envp.push_back(e.data());
    envp.push_back(nullptr);
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int rc = ::posix_spawn(&pid_, binary.c_str(), &fa, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    ::close(in[0]);
    ::close(out[1]);
    stdin_fd_ = in[1];
    stdout_fd_ = out[0];
    pending_.clear();
    if (rc != 0) {
        pid_ = -1;
        stop();
        throw std::runtime_error("spawn " + binary + ": " + std::strerror(rc));
    }

    // Wait for READY: 2,000 VMs take a few seconds to create on a loaded machine.
    std::string text;
    auto until = base::Clock::now() + 180s;
    for (;;) {
        std::string line = read_line(until);
        if (line.empty()) break;  // closed or timed out
        text += line;
        if (line == "READY\n") break;
    }
    // "URL https://HOST:PORT/sdk": the port follows the last ':' before the path.
    size_t url = text.find("URL https://");
    size_t path = url == std::string::npos ? url : text.find('/', url + 12);
    size_t colon = path == std::string::npos ? path : text.rfind(':', path);
    if (text.find("READY\n") == std::string::npos || colon == std::string::npos || colon < url) {
        stop();
        throw std::runtime_error("vCenter simulator did not start; its output: " + text + "\nits log: " +
                                 tail(slurp(log_)));
    }
    port_ = static_cast<uint16_t>(std::stoi(text.substr(colon + 1)));
}

Vcsim::~Vcsim() { stop(); }

void Vcsim::stop() {
    if (stdin_fd_ >= 0) {
        ::close(stdin_fd_);  // the simulator exits when its stdin closes
        stdin_fd_ = -1;
    }
    if (pid_ > 0) {
        int status = 0;
        auto until = base::Clock::now() + 10s;
        while (::waitpid(pid_, &status, WNOHANG) == 0) {
            if (base::Clock::now() >= until) {
                ::kill(pid_, SIGKILL);  // our own child, by its PID
                ::waitpid(pid_, &status, 0);
                break;
            }
            std::this_thread::sleep_for(5ms);
        }
        pid_ = -1;
    }
    if (stdout_fd_ >= 0) {
        ::close(stdout_fd_);
        stdout_fd_ = -1;
    }
}

std::string Vcsim::read_line(base::Deadline until) {
    for (;;) {
        size_t nl = pending_.find('\n');
        if (nl != std::string::npos) {
            std::string line = pending_.substr(0, nl + 1);
            pending_.erase(0, nl + 1);
            return line;
        }
        auto left = base::remaining(until).count();
        if (left <= 0 || stdout_fd_ < 0) return {};
        pollfd p{stdout_fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(std::min<long long>(left, 200))) <= 0) continue;
        char buf[512];
        ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
        if (n <= 0) return {};
        pending_.append(buf, static_cast<size_t>(n));
    }
}

namespace {
// Writes to a pipe whose reader may have died: EPIPE instead of a SIGPIPE that kills the test.
bool write_all_no_sigpipe(int fd, const std::string& data) {
    sigset_t pipe, old, pending;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipe, &old);
    bool ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE) == 1) {
        timespec zero{0, 0};
        while (::sigtimedwait(&pipe, nullptr, &zero) < 0 && errno == EINTR) {}
    }
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return ok;
}
}  // namespace

std::string Vcsim::command(const std::string& line) {
    std::lock_guard lock(command_mutex_);
    if (stdin_fd_ < 0 || !write_all_no_sigpipe(stdin_fd_, line + "\n"))
        throw std::runtime_error("vCenter simulator: cannot send '" + line + "'");
    std::string answer = read_line(base::Clock::now() + 10s);
    if (answer.empty()) throw std::runtime_error("vCenter simulator did not answer '" + line + "'");
    answer.pop_back();  // '\n'
    if (answer.rfind("ERR", 0) == 0) throw std::runtime_error("vCenter simulator: " + answer);
    return answer;
}

Vcsim::Counts Vcsim::counts() {
    std::istringstream in(command("counts"));
    Counts c;
    std::string word;
    in >> word;  // COUNTS
    while (in >> word) {
        size_t eq = word.find('=');
        if (eq == std::string::npos) continue;
        std::string key = word.substr(0, eq);
        int n = std::stoi(word.substr(eq + 1));
        if (key == "logins")
            c.logins = n;
        else if (key == "sessions")
            c.sessions = n;
        else if (key == "connections")
            c.connections = n;
        else
            c.calls[key] = n;
    }
    return c;
}

std::vector<std::string> Vcsim::session_keys() {
    std::istringstream in(command("sessions"));
    std::vector<std::string> keys;
    std::string word;
    in >> word;  // SESSIONS
    while (in >> word) keys.push_back(word);
    return keys;
}

int Vcsim::terminate_sessions() { return std::stoi(command("terminate-sessions").substr(3)); }

void Vcsim::set(const std::string& knob, int ms) { command("set " + knob + " " + std::to_string(ms)); }

void Vcsim::restart() {
    uint16_t port = port_;
    std::string host = options_.listen.substr(0, options_.listen.rfind(':'));
    stop();
    start(host + ":" + std::to_string(port));
    if (port_ != port) throw std::runtime_error("vCenter simulator restarted on another port");
}

config::VSphere Vcsim::vsphere() const {
    config::VSphere v;
    v.host = "127.0.0.1";
    v.port = port_;
    v.username = kUser;
    v.password_file = password_file_;
    v.ca_file = cert_.cert;
    v.call_timeout = 5000ms;
    return v;
}

config::Config Vcsim::cluster_config() const {
    config::Config c;
    c.cluster.name = "vbr-repo";
    config::Node n1, n2;
    n1.name = kNode1;
    n1.addresses = {"127.0.0.1"};
    n1.vm_uuid = kUuid1;
    n2.name = kNode2;
    n2.addresses = {"127.0.0.2"};
    n2.vm_uuid = kUuid2;
    c.nodes = {n1, n2};
    c.fencing.vsphere = vsphere();
    c.fencing.timeout = 30000ms;
    return c;
}

}  // namespace veeamha::test
