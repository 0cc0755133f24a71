// SPDX-License-Identifier: GPL-2.0-or-later
// `sync:` in the daemon (daemon/runtime/sync/service.h): the service's messages over the peer
// channel, its folder work off the loop, inotify and the periodic full compare, and the reloads
// a changed file asks for (sshd, systemd), run through base/process with a deadline.
#include <utility>  // before Boost.Asio (Boost 1.74 + C++20)

#include <sys/stat.h>

#include <boost/asio/post.hpp>

#include "base/log.h"
#include "base/process.h"
#include "daemon/runtime/runtime.h"
#include "daemon/runtime/sync/service.h"
#include "daemon/runtime/sync/watch.h"
#include "net/peer_channel.h"

namespace veeamha::runtime {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr auto kFullCompare = 10s;       // the backstop behind inotify
constexpr auto kSettle = 20ms;           // events of one save come together
constexpr auto kReloadTimeout = 60s;

bool under_systemd() {
    struct stat st{};
    return ::stat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

void Runtime::start_sync() {
    sync::SyncService::Hooks h;
    h.send = [this](const wire::Sync& s) {
        if (!channel_ || !channel_->connected()) return false;
        wire::PeerMessage m;
        *m.mutable_sync() = s;
        return !channel_->send(m);
    };
    h.off_loop = [this](std::function<std::function<void()>()> job) {
        // One job at a time (the service queues the rest); a full runner is tried again soon.
        // The attempt knows itself weakly (a job holds a file's chunks: it must not live on);
        // only a waiting timer keeps it.
        auto attempt = std::make_shared<std::function<void()>>();
        *attempt = [this, job, self = std::weak_ptr<std::function<void()>>(attempt)] {
            if (blocking_.run<std::function<void()>>(job, [](std::function<void()> then) { then(); })) return;
            auto timer = std::make_shared<asio::steady_timer>(io_, 1s);
            timer->async_wait([timer, again = self.lock()](const boost::system::error_code& ec) {
                if (!ec && again) (*again)();
            });
        };
        (*attempt)();
    };
    h.report = [this](int level, const std::string& kind, const std::string& text) {
        base::Level l = level >= 2 ? base::Level::Error : level == 1 ? base::Level::Warning : base::Level::Info;
        if (kind.empty()) base::log::write(l, text);
        else log_event(engine::Event{l, kind, text});
    };
    h.reload = [this](sync::Reload what) { run_sync_reload(what); };
    h.watch = [this](const std::vector<std::string>& folders) {
        if (sync_watch_) sync_watch_->set(folders);
    };
    h.now_ms = [this] { return now().wall; };
    sync_ = std::make_unique<sync::SyncService>(sync::entries_of(config_.sync), sync::limits_of(config_.sync), h);
    sync_watch_ = std::make_unique<sync::FolderWatch>(io_, kSettle, [this] { sync_->changed(); });
    std::string error;
    if (!sync_watch_->start(error))
        base::log::warning("sync: " + error + ": changes are found by the full compare every " +
                           std::to_string(kFullCompare.count()) + "s only");
    update_sync_role();
    sync_->changed();  // the first scan: what to watch (a role change may have queued it already)
    sync_backstop();
}

void Runtime::update_sync_role() {
    if (sync_ && engine_) sync_->set_role(engine_->holding(), channel_ && channel_->connected());
}

void Runtime::sync_backstop() {
    sync_timer_.expires_after(kFullCompare);
    sync_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || exiting_) return;
        sync_->changed();
        sync_backstop();
    });
}

void Runtime::run_sync_reload(sync::Reload what) {
    std::vector<std::string> argv;
    std::string why;
    if (what == sync::Reload::Sshd) {
        why = "the SSH host keys changed";
        argv = config_.sync.ssh_reload;
        if (argv.empty() && under_systemd()) argv = {"systemctl", "try-reload-or-restart", "ssh"};
        // Without systemd: what Debian's /etc/init.d/ssh reload does.
        if (argv.empty())
            argv = {"start-stop-daemon", "--stop", "--signal", "HUP", "--quiet", "--oknodo",
                    "--pidfile", "/run/sshd.pid", "--exec", "/usr/sbin/sshd"};
    } else {
        why = "a unit file changed";
        if (!under_systemd()) {
            base::log::info("sync: " + why + "; no systemd here to reload");
            return;
        }
        argv = {"systemctl", "daemon-reload"};
    }
    const int key = static_cast<int>(what);
    if (sync_reloads_.count(key)) {  // running: once more when it ends
        sync_reloads_[key] = true;
        return;
    }
    sync_reloads_[key] = false;
    base::ProcessSpec spec;
    spec.argv = argv;
    bool started = blocking_.run<base::ProcessResult>(
        [spec]() mutable {
            spec.deadline = base::Clock::now() + kReloadTimeout;
            return base::run_process(spec);
        },
        [this, what, key, why, argv](base::ProcessResult r) {
            bool again = sync_reloads_[key];
            sync_reloads_.erase(key);
            if (r.success())
                base::log::notice("sync: " + why + ": ran " + base::format_command(argv));
            else
                log_event(engine::Event{base::Level::Error, "sync-failed",
                                        "sync: " + why + " but " + base::format_command(argv) + " failed: " + r.describe()});
            if (again) run_sync_reload(what);
        });
    if (!started) {
        sync_reloads_.erase(key);
        log_event(engine::Event{base::Level::Error, "sync-failed",
                                "sync: " + why + " but " + base::format_command(argv) +
                                    " could not be started: too many operations in flight"});
    }
}

}  // namespace veeamha::runtime
