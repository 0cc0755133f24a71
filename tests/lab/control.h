// SPDX-License-Identifier: GPL-2.0-or-later
// The lab's control socket (a Unix socket in the run folder, mode 0600): the vCenter
// simulator's power hooks and the `veeam-ha-lab` CLI send one request each (control_codec.h).
// Every connection gets its own thread: a CLI `power-on` goes through the simulator, whose
// power-on hook comes back here while the first request is still being served.
#pragma once

#include <atomic>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace veeamha::lab {

class ControlServer {
public:
    using Handler = std::function<std::string(const std::vector<std::string>& words, bool* ok)>;
    ControlServer(std::string path, Handler handler);  // throws if it cannot listen
    ~ControlServer();                                   // stops accepting, waits for requests
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

private:
    void accept_loop();
    void serve(int fd);

    std::string path_;
    Handler handler_;
    int listen_fd_ = -1;
    int wake_[2] = {-1, -1};
    std::atomic<bool> stop_{false};
    std::thread acceptor_;
    struct Connection {
        std::thread thread;
        std::shared_ptr<std::atomic<bool>> done;
    };
    std::mutex mu_;
    std::list<Connection> connections_;  // finished ones are joined at the next accept
    std::atomic<int> active_{0};
};

// Sends one request and returns (ok, reply text without the status line). `error` is set when
// the lab could not be reached.
struct ControlReply {
    bool reached = false;
    bool ok = false;
    std::string text;
};
ControlReply control_request(const std::string& socket_path, const std::vector<std::string>& words,
                             int timeout_seconds = 120);

}  // namespace veeamha::lab
