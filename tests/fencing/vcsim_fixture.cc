// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/fencing/vcsim_fixture.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

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
    std::string source = std::string(VEEAMHA_SOURCE_DIR) + "/tests/fencing/vcsim/vcsim.go";
    // Named after the source's content: worktrees with different versions of vcsim.go share
    // the cache without rebuilding (or running) each other's binary.
    char key[32];
    std::snprintf(key, sizeof key, "%016zx", std::hash<std::string>{}(slurp(source)));
    std::string binary = dir + "/vcsim-" + key;
    FileLock lock(dir + "/.build-lock");
    std::error_code ec;
    if (fs::exists(binary, ec)) return binary;
    std::string partial = binary + ".partial";
    base::ProcessSpec go;
    go.argv = {"go", "build", "-o", partial, source};
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

Vcsim::Vcsim(VcsimOptions options) : dir_(options.work_parent) {
    std::string binary = vcsim_binary();
    cert_ = make_certificate(dir_.path(), "vcsim", options.alt_names);
    password_file_ = dir_.write("vcenter.pass", std::string(kPassword) + "\n", 0600);
    std::string workdir = dir_.path() + "/tmp";  // the simulator's datastore folders
    fs::create_directories(workdir);

    std::vector<std::string> args = {binary};
    args.insert(args.end(), {"-listen", options.listen});
    if (options.hang) {
        args.push_back("-hang");
    } else {
        args.insert(args.end(), {"-cert", cert_.cert, "-key", cert_.key, "-username", kUser, "-password-file",
                                 password_file_});
        if (!options.vms.empty()) {
            for (const auto& [name, uuid] : options.vms) args.insert(args.end(), {"-vm", name + "=" + uuid});
        } else if (options.two_vms) {
            args.insert(args.end(), {"-vm", std::string(kNode1) + "=" + kUuid1 + "=" + kInstance1, "-vm",
                                     std::string(kNode2) + "=" + kUuid2 + "=" + kInstance2});
        }
        if (options.extra_vms > 0) args.insert(args.end(), {"-extra-vms", std::to_string(options.extra_vms)});
        if (!options.on_power_off.empty()) args.insert(args.end(), {"-on-power-off", options.on_power_off});
        if (!options.on_power_on.empty()) args.insert(args.end(), {"-on-power-on", options.on_power_on});
        for (const auto& d : options.method_delays) args.insert(args.end(), {"-method-delay", d});
    }

    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0)
        throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    std::string log = dir_.path() + "/vcsim.log";
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
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
    if (rc != 0) {
        ::close(out[0]);
        throw std::runtime_error("spawn " + binary + ": " + std::strerror(rc));
    }

    // Wait for READY: 2,000 VMs take a few seconds to create on a loaded machine.
    std::string text;
    auto until = base::Clock::now() + 180s;
    bool ready = false;
    while (!ready && base::Clock::now() < until) {
        pollfd p{out[0], POLLIN, 0};
        if (::poll(&p, 1, 200) <= 0) continue;
        char buf[512];
        ssize_t n = ::read(out[0], buf, sizeof buf);
        if (n <= 0) break;
        text.append(buf, static_cast<size_t>(n));
        ready = text.find("READY\n") != std::string::npos;
    }
    ::close(out[0]);
    // "URL https://HOST:PORT/sdk": the port follows the last ':' before the path.
    size_t url = text.find("URL https://");
    size_t path = url == std::string::npos ? url : text.find('/', url + 12);
    size_t colon = path == std::string::npos ? path : text.rfind(':', path);
    if (!ready || colon == std::string::npos || colon < url) {
        stop();
        throw std::runtime_error("vCenter simulator did not start; its output: " + text + "\nits log: " +
                                 tail(slurp(log)));
    }
    port_ = static_cast<uint16_t>(std::stoi(text.substr(colon + 1)));
}

Vcsim::~Vcsim() { stop(); }

void Vcsim::stop() {
    if (stdin_fd_ >= 0) {
        ::close(stdin_fd_);  // the simulator exits when its stdin closes
        stdin_fd_ = -1;
    }
    if (pid_ <= 0) return;
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
