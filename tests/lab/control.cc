// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/lab/control.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include "tests/lab/control_codec.h"
#include "tests/lab/lab.h"

namespace veeamha::lab {

namespace {

constexpr int kMaxConnections = 16;

sockaddr_un unix_address(const std::string& path) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path.size() >= sizeof a.sun_path) throw std::runtime_error("socket path too long: " + path);
    std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
    return a;
}

bool send_all(int fd, const std::string& data) {
    size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        done += static_cast<size_t>(n);
    }
    return true;
}

int parse_link(const std::string& word) {
    if (word == "0" || word == "lan" || word == "LAN") return kLan;
    if (word == "1" || word == "heartbeat" || word == "hb") return kHeartbeat;
    throw std::runtime_error("unknown link '" + word + "' (0|lan, 1|heartbeat)");
}

}  // namespace

ControlServer::ControlServer(std::string path, Handler handler) : path_(std::move(path)), handler_(std::move(handler)) {
    ::unlink(path_.c_str());
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a = unix_address(path_);
    mode_t old = ::umask(0077);
    int rc = ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::umask(old);
    if (listen_fd_ < 0 || rc != 0 || ::listen(listen_fd_, 16) != 0) {
        std::string why = std::strerror(errno);
        if (listen_fd_ >= 0) ::close(listen_fd_);
        throw std::runtime_error("control socket " + path_ + ": " + why);
    }
    if (::pipe2(wake_, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    acceptor_ = std::thread([this] { accept_loop(); });
}

ControlServer::~ControlServer() {
    stop_ = true;
    (void)!::write(wake_[1], "x", 1);
    acceptor_.join();
    std::list<Connection> left;
    {
        std::lock_guard<std::mutex> lock(mu_);
        left.swap(connections_);
    }
    for (auto& c : left) c.thread.join();
    ::close(listen_fd_);
    ::close(wake_[0]);
    ::close(wake_[1]);
    ::unlink(path_.c_str());
}

void ControlServer::accept_loop() {
    while (!stop_) {
        pollfd p[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
        if (::poll(p, 2, 1000) <= 0 || !(p[0].revents & POLLIN)) continue;
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        if (active_ >= kMaxConnections) {
            send_all(fd, "ERR the lab is busy (too many requests)\n");
            ::close(fd);
            continue;
        }
        ++active_;
        std::lock_guard<std::mutex> lock(mu_);
        for (auto it = connections_.begin(); it != connections_.end();) {
            if (*it->done) {
                it->thread.join();
                it = connections_.erase(it);
            } else {
                ++it;
            }
        }
        auto done = std::make_shared<std::atomic<bool>>(false);
        connections_.push_back({std::thread([this, fd, done] {
                                    serve(fd);
                                    --active_;
                                    *done = true;
                                }),
                                done});
    }
}

void ControlServer::serve(int fd) {
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string line;
    char buf[4096];
    while (line.find('\n') == std::string::npos && line.size() < kMaxControlLine) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        line.append(buf, static_cast<size_t>(n));
    }
    std::vector<std::string> words;
    std::string reply;
    if (line.find('\n') == std::string::npos || !decode_line(line.substr(0, line.find('\n')), words) || words.empty()) {
        reply = "ERR malformed request\n";
    } else {
        bool ok = true;
        std::string text;
        try {
            text = handler_(words, &ok);
        } catch (const std::exception& e) {
            ok = false;
            text = e.what();
        }
        reply = ok ? "OK\n" + text : "ERR " + text + "\n";
    }
    send_all(fd, reply);
    ::close(fd);
}

ControlReply control_request(const std::string& socket_path, const std::vector<std::string>& words,
                             int timeout_seconds) {
    ControlReply r;
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a = unix_address(socket_path);
    timeval tv{timeout_seconds, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        r.text = "cannot reach the lab at " + socket_path + ": " + std::strerror(errno);
        if (fd >= 0) ::close(fd);
        return r;
    }
    if (!send_all(fd, encode_line(words))) {
        r.text = std::string("send: ") + std::strerror(errno);
        ::close(fd);
        return r;
    }
    std::string reply;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0 && reply.size() < (1u << 20)) reply.append(buf, static_cast<size_t>(n));
    ::close(fd);
    if (reply.empty()) {
        r.text = "the lab closed the connection without an answer";
        return r;
    }
    r.reached = true;
    size_t nl = reply.find('\n');
    std::string status = reply.substr(0, nl);
    r.ok = status == "OK";
    r.text = r.ok ? (nl == std::string::npos ? "" : reply.substr(nl + 1)) : status.substr(status.rfind("ERR", 0) == 0 ? 4 : 0);
    return r;
}

// ---- the lab's commands ----------------------------------------------------------------------

std::string Lab::handle_command(const std::vector<std::string>& w, bool* ok) {
    *ok = true;
    const std::string& verb = w[0];
    auto arg = [&](size_t i) -> const std::string& {
        if (w.size() <= i) throw std::runtime_error(verb + ": missing argument");
        return w[i];
    };
    // The simulator's hooks: the VM's power state changed inside a vCenter task.
    if (verb == "vm-powered-off") {
        std::lock_guard<std::recursive_mutex> lock(mu_);
        Host& h = host(arg(1));
        h.vm_off = true;
        if (!h.powered) event("vCenter power-off " + h.name + " (the host was already off)");
        power_off_locked(h, "vCenter powered the VM off");
        return "";
    }
    if (verb == "vm-powered-on") {
        {
            std::lock_guard<std::recursive_mutex> lock(mu_);
            Host& h = host(arg(1));
            h.vm_off = false;
            if (h.powered) return "";
            boot(h, "vCenter powered the VM on");
        }
        if (options_.on_power_on && arg(1) != kClient) options_.on_power_on(arg(1));
        return "";
    }
    if (verb == "kill") { kill(arg(1)); return ""; }
    if (verb == "power-on") { power_on(arg(1)); return ""; }
    if (verb == "cut") { cut(parse_link(arg(1))); return ""; }
    if (verb == "heal") {
        if (w.size() > 1) heal(parse_link(w[1]));
        else heal_all();
        return "";
    }
    if (verb == "isolate") { isolate(arg(1)); return ""; }
    if (verb == "reconnect") { reconnect(arg(1)); return ""; }
    if (verb == "cut-heartbeat") { cut_heartbeat(); return ""; }
    if (verb == "heal-heartbeat") { heal_heartbeat(); return ""; }
    if (verb == "loss") { loss(parse_link(arg(1)), std::stoi(arg(2))); return ""; }
    if (verb == "block-vcenter") { block_vcenter(arg(1) == "on"); return ""; }
    if (verb == "status") return status_text();
    if (verb == "events") {
        std::ostringstream out;
        auto all = events();
        auto t0 = all.empty() ? base::Clock::now() : all.front().at;
        for (const auto& e : all)
            out << std::chrono::duration_cast<std::chrono::milliseconds>(e.at - t0).count() << " ms  " << e.text << "\n";
        return out.str();
    }
    CommandHandler extra;
    {
        std::lock_guard<std::recursive_mutex> lock(mu_);
        extra = extra_commands_;
    }
    if (extra)
        if (auto r = extra(w, ok)) return *r;
    *ok = false;
    return "unknown command '" + verb + "'";
}

}  // namespace veeamha::lab
