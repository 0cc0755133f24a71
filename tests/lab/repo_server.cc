// SPDX-License-Identifier: GPL-2.0-or-later
// veeam-ha-lab-repo-server: the lab's stand-in for the Veeam transport. Listens on ADDRESS
// (the floating IP) port 6162 and serves files from ROOT (the shared XFS mount):
//   PING\n                      -> PONG\n
//   APPEND NAME LEN\n<LEN bytes> -> OK OFFSET\n  after write + fsync (so OK means durable)
//   GET NAME\n                  -> OK LEN\n<LEN bytes>
//   anything wrong              -> ERR TEXT\n (and the connection is closed)
// NAME: 1-64 of [A-Za-z0-9._-], not starting with '.'; APPEND <= 1 MiB; GET <= 256 MiB.
// With --require-mount it refuses to start unless ROOT is a mount point, and refuses to write
// once ROOT is no longer the filesystem it started on: data never lands on the host's own
// disk under an unmounted mountpoint.
//
//   veeam-ha-lab-repo-server --listen ADDRESS [--port 6162] --root DIR [--require-mount]
//                            [--pid-file FILE] [--log FILE] [--daemonize]
//   veeam-ha-lab-repo-server --probe ADDRESS PORT [--timeout-ms 1000]   (exit 0 = answers)
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <string>
#include <thread>

#include "tests/lab/repo_client.h"

namespace {

constexpr int kMaxClients = 64;
constexpr size_t kMaxLine = 512;
using veeamha::lab::kMaxAppend;
using veeamha::lab::kMaxGet;

struct Settings {
    std::string listen, root, pid_file, log;
    uint16_t port = 6162;
    bool require_mount = false;
    bool daemonize = false;
};

Settings g;
dev_t g_root_dev = 0;
std::mutex g_write_mu;  // one append at a time: the offset we report is where it went
std::atomic<int> g_clients{0};

void log_line(const std::string& text) {
    char stamp[32];
    std::time_t t = std::time(nullptr);
    std::strftime(stamp, sizeof stamp, "%F %T", std::localtime(&t));
    std::fprintf(stderr, "%s repo-server[%d]: %s\n", stamp, ::getpid(), text.c_str());
}

bool valid_name(const std::string& n) {
    if (n.empty() || n.size() > 64 || n[0] == '.') return false;
    for (char c : n)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) return false;
    return true;
}

bool send_all(int fd, const char* data, size_t n) {
    while (n > 0) {
        ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        data += w;
        n -= static_cast<size_t>(w);
    }
    return true;
}
bool send_all(int fd, const std::string& s) { return send_all(fd, s.data(), s.size()); }

// Reads up to '\n' (not included) with `pending` holding bytes read past it. False on EOF,
// error, timeout (SO_RCVTIMEO) or a line longer than kMaxLine.
bool read_line(int fd, std::string& pending, std::string& line) {
    for (;;) {
        size_t nl = pending.find('\n');
        if (nl != std::string::npos) {
            line = pending.substr(0, nl);
            pending.erase(0, nl + 1);
            return true;
        }
        if (pending.size() > kMaxLine) return false;
        char buf[1024];
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        pending.append(buf, static_cast<size_t>(n));
    }
}

bool read_exact(int fd, std::string& pending, size_t n, std::string& out) {
    out = pending.substr(0, std::min(n, pending.size()));
    pending.erase(0, out.size());
    while (out.size() < n) {
        char buf[65536];
        ssize_t r = ::recv(fd, buf, std::min(sizeof buf, n - out.size()), 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        out.append(buf, static_cast<size_t>(r));
    }
    return true;
}

std::string root_problem() {
    if (!g.require_mount) return {};
    struct stat st{};
    if (::stat(g.root.c_str(), &st) != 0) return "root " + g.root + " is gone";
    if (st.st_dev != g_root_dev) return "root " + g.root + " is no longer the filesystem the server started on";
    return {};
}

// write + fsync under the lock; the reply says where the bytes went.
std::string do_append(const std::string& name, const std::string& data) {
    std::lock_guard<std::mutex> lock(g_write_mu);
    if (auto p = root_problem(); !p.empty()) return "ERR " + p;
    std::string path = g.root + "/" + name;
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return "ERR open " + name + ": " + std::strerror(errno);
    struct stat st{};
    ::fstat(fd, &st);
    off_t offset = st.st_size;
    size_t done = 0;
    while (done < data.size()) {
        ssize_t w = ::write(fd, data.data() + done, data.size() - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            std::string e = std::strerror(errno);
            ::close(fd);
            return "ERR write " + name + ": " + e;
        }
        done += static_cast<size_t>(w);
    }
    if (::fsync(fd) != 0) {
        std::string e = std::strerror(errno);
        ::close(fd);
        return "ERR fsync " + name + ": " + e;
    }
    ::close(fd);
    return "OK " + std::to_string(offset);
}

void serve(int fd) {
    timeval tv{60, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    std::string pending, line;
    while (read_line(fd, pending, line)) {
        char name[80] = {0};
        unsigned long long len = 0;
        if (line == "PING") {
            if (!send_all(fd, "PONG\n")) break;
        } else if (std::sscanf(line.c_str(), "APPEND %79s %llu", name, &len) == 2 &&
                   line.rfind("APPEND ", 0) == 0) {
            if (!valid_name(name) || len > kMaxAppend) {
                send_all(fd, "ERR bad name or length\n");
                break;
            }
            std::string data;
            if (!read_exact(fd, pending, static_cast<size_t>(len), data)) break;  // client gone: nothing written
            if (!send_all(fd, do_append(name, data) + "\n")) break;
        } else if (std::sscanf(line.c_str(), "GET %79s", name) == 1 && line.rfind("GET ", 0) == 0) {
            if (!valid_name(name)) {
                send_all(fd, "ERR bad name\n");
                break;
            }
            int f = ::open((g.root + "/" + name).c_str(), O_RDONLY | O_CLOEXEC);
            struct stat st{};
            if (f < 0 || ::fstat(f, &st) != 0 || static_cast<unsigned long long>(st.st_size) > kMaxGet) {
                send_all(fd, std::string("ERR ") + (f < 0 ? std::strerror(errno) : "file too large") + "\n");
                if (f >= 0) ::close(f);
                break;
            }
            std::string data(static_cast<size_t>(st.st_size), '\0');
            size_t got = 0;
            while (got < data.size()) {
                ssize_t r = ::read(f, data.data() + got, data.size() - got);
                if (r <= 0) break;
                got += static_cast<size_t>(r);
            }
            ::close(f);
            data.resize(got);
            if (!send_all(fd, "OK " + std::to_string(got) + "\n") || !send_all(fd, data)) break;
        } else {
            send_all(fd, "ERR unknown command\n");
            break;
        }
    }
    ::close(fd);
}

int probe(const std::string& address, uint16_t port, int timeout_ms) {
    veeamha::lab::RepoConnection c;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    if (c.connect(address, port, deadline) && c.ping(deadline)) return 0;
    std::fprintf(stderr, "repo-server at %s:%u does not answer: %s\n", address.c_str(), port, c.error().c_str());
    return 1;
}

int listen_socket(std::string* error) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(g.port);
    if (::inet_pton(AF_INET, g.listen.c_str(), &a.sin_addr) != 1) {
        *error = "bad --listen address " + g.listen;
        return -1;
    }
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 64) != 0) {
        *error = "listen on " + g.listen + ":" + std::to_string(g.port) + ": " + std::strerror(errno);
        if (fd >= 0) ::close(fd);
        return -1;
    }
    return fd;
}

bool write_pid_file(std::string* error) {
    if (g.pid_file.empty()) return true;
    std::string tmp = g.pid_file + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "w");
    if (!f || std::fprintf(f, "%d\n", ::getpid()) < 0 || std::fclose(f) != 0 || ::rename(tmp.c_str(), g.pid_file.c_str()) != 0) {
        *error = "pid file " + g.pid_file + ": " + std::strerror(errno);
        return false;
    }
    return true;
}

int usage() {
    std::fprintf(stderr,
                 "usage: veeam-ha-lab-repo-server --listen ADDRESS [--port 6162] --root DIR [--require-mount]\n"
                 "                                [--pid-file FILE] [--log FILE] [--daemonize]\n"
                 "       veeam-ha-lab-repo-server --probe ADDRESS PORT [--timeout-ms 1000]\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    ::signal(SIGPIPE, SIG_IGN);
    int timeout_ms = 1000;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) std::exit(usage());
            return argv[++i];
        };
        if (a == "--probe") {
            std::string address = next();
            int port = std::atoi(next().c_str());
            if (i + 1 < argc && std::string(argv[i + 1]) == "--timeout-ms") {
                ++i;
                timeout_ms = std::atoi(next().c_str());
            }
            return probe(address, static_cast<uint16_t>(port), timeout_ms);
        }
        if (a == "--listen") g.listen = next();
        else if (a == "--port") g.port = static_cast<uint16_t>(std::atoi(next().c_str()));
        else if (a == "--root") g.root = next();
        else if (a == "--pid-file") g.pid_file = next();
        else if (a == "--log") g.log = next();
        else if (a == "--require-mount") g.require_mount = true;
        else if (a == "--daemonize") g.daemonize = true;
        else return usage();
    }
    if (g.listen.empty() || g.root.empty()) return usage();

    struct stat root{}, parent{};
    if (::stat(g.root.c_str(), &root) != 0 || !S_ISDIR(root.st_mode)) {
        std::fprintf(stderr, "repo-server: root %s is not a directory\n", g.root.c_str());
        return 1;
    }
    if (g.require_mount && (::stat((g.root + "/..").c_str(), &parent) != 0 || parent.st_dev == root.st_dev)) {
        std::fprintf(stderr, "repo-server: root %s is not a mount point (is the filesystem mounted?)\n", g.root.c_str());
        return 1;
    }
    g_root_dev = root.st_dev;

    // Daemonized: the parent returns only when the child listens (or says why it cannot).
    int ready[2] = {-1, -1};
    if (g.daemonize) {
        if (::pipe2(ready, O_CLOEXEC) != 0) return 1;
        pid_t child = ::fork();
        if (child < 0) return 1;
        if (child > 0) {
            ::close(ready[1]);
            std::string said;
            char buf[512];
            pollfd p{ready[0], POLLIN, 0};
            while (said.find('\n') == std::string::npos && ::poll(&p, 1, 10000) > 0) {
                ssize_t n = ::read(ready[0], buf, sizeof buf);
                if (n <= 0) break;
                said.append(buf, static_cast<size_t>(n));
            }
            if (said.rfind("OK", 0) == 0) return 0;
            std::fprintf(stderr, "repo-server: %s\n", said.empty() ? "did not start" : said.c_str());
            return 1;
        }
        ::close(ready[0]);
        ::setsid();
    }
    auto report = [&](const std::string& text) {
        if (ready[1] >= 0) {
            std::string line = text + "\n";
            (void)!::write(ready[1], line.data(), line.size());
            ::close(ready[1]);
            ready[1] = -1;
        } else if (text != "OK") {
            std::fprintf(stderr, "repo-server: %s\n", text.c_str());
        }
    };
    std::string error;
    int lfd = listen_socket(&error);
    if (lfd < 0 || !write_pid_file(&error)) {
        report(error);
        return 1;
    }
    if (g.daemonize) {
        int null = ::open("/dev/null", O_RDWR);
        int log = g.log.empty() ? null : ::open(g.log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        ::dup2(null, 0);
        ::dup2(null, 1);
        ::dup2(log >= 0 ? log : null, 2);
    }
    log_line("serving " + g.root + " on " + g.listen + ":" + std::to_string(g.port));
    report("OK");
    for (;;) {
        int fd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        if (g_clients >= kMaxClients) {
            send_all(fd, "ERR busy\n");
            ::close(fd);
            continue;
        }
        ++g_clients;
        std::thread([fd] {
            serve(fd);
            --g_clients;
        }).detach();
    }
}
