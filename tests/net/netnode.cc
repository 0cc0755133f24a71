// SPDX-License-Identifier: GPL-2.0-or-later
// netnode: one cluster node's networking (HeartbeatService + PeerChannel) as a process, for
// the lab tests and the benchmark. Prints one event per line on stdout, as space-separated
// key=value pairs (values never contain spaces), every line starting with "event=":
//   event=ready pid=.. incarnation=.. generation=..
//   event=link link=0 up=1 mono_ms=..          (mono_ms: CLOCK_MONOTONIC, comparable across
//   event=peer up=0 mono_ms=..                  processes; peer up=0 = silent on all links)
//   event=channel up=1 link=0 local=.. remote=.. by_us=1 mono_ms=..
//   event=msg text=..                           (a channel message arrived)
//   event=sent ok=1 error=..                    (answer to `send`)
//   event=stats ...                             (answer to `stats`, or every --stats-ms)
//   event=incompatible major=.. minor=..
// Commands on stdin, one per line: `send TEXT`, `stats`, `dial`, `state EPOCH`, `quit`.
#include <sys/resource.h>
#include <unistd.h>

#include <utility>  // before Boost 1.74 Asio: awaitable.hpp uses std::exchange

#include <boost/asio.hpp>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>

#include "config/config.h"
#include "base/log.h"
#include "net/heartbeat_service.h"
#include "net/identity.h"
#include "net/key_file.h"
#include "net/peer_channel.h"
#include "net/topology.h"

using namespace veeamha;
using namespace veeamha::net;
namespace asio = boost::asio;

namespace {

long long mono_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

void emit(const std::string& line) {
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, sep))
        if (!item.empty()) out.push_back(item);
    return out;
}

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "netnode: %s\nusage: netnode --self 0|1 --addr0 A[,A2..] --addr1 B[,B2..] --key FILE "
                 "--state-dir DIR [--cluster NAME] [--port N] [--interval MS] [--timeout MS] "
                 "[--no-dial] [--stats-ms MS]\n",
                 why);
    std::exit(2);
}

std::string fmt(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.3f", v);
    return b;
}

}  // namespace

int main(int argc, char** argv) {
    config::Config cfg;
    cfg.cluster.name = "lab";
    cfg.nodes.resize(2);
    cfg.nodes[0].name = "node-0";
    cfg.nodes[1].name = "node-1";
    int self = -1;
    bool dial_on_start = true;
    long stats_ms = 0;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) usage(("missing value for " + a).c_str());
            return argv[++i];
        };
        if (a == "--self") self = std::stoi(next());
        else if (a == "--addr0") cfg.nodes[0].addresses = split(next(), ',');
        else if (a == "--addr1") cfg.nodes[1].addresses = split(next(), ',');
        else if (a == "--key") cfg.cluster.key_file = next();
        else if (a == "--state-dir") cfg.cluster.state_dir = next();
        else if (a == "--cluster") cfg.cluster.name = next();
        else if (a == "--port") cfg.heartbeat.port = static_cast<uint16_t>(std::stoi(next()));
        else if (a == "--interval") cfg.heartbeat.interval = std::chrono::milliseconds(std::stol(next()));
        else if (a == "--timeout") cfg.heartbeat.timeout = std::chrono::milliseconds(std::stol(next()));
        else if (a == "--no-dial") dial_on_start = false;
        else if (a == "--stats-ms") stats_ms = std::stol(next());
        else usage(("unknown option " + a).c_str());
    }
    if (self != 0 && self != 1) usage("--self must be 0 or 1");

    std::unique_ptr<PeerCodec> codec;
    Identity id;
    try {
        Topology topo = Topology::from_config(cfg, self);
        SecretKey key = load_key_file(cfg.cluster.key_file);
        id = start_identity(cfg.cluster.state_dir);
        codec = std::make_unique<PeerCodec>(key, topo, id);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "netnode: %s\n", e.what());
        return 1;
    }
    const size_t links = codec->topology().links();

    asio::io_context io;
    std::unique_ptr<PeerChannel> channel;
    std::unique_ptr<HeartbeatService> heartbeats;
    bool peer_up = false;

    HeartbeatService::Callbacks hcb;
    hcb.on_link_change = [&](size_t link, bool up) {
        emit("event=link link=" + std::to_string(link) + " up=" + (up ? "1" : "0") +
             " mono_ms=" + std::to_string(mono_ms()));
        if (channel) channel->set_link_usable(link, up);
        // What the engine would compute: lost only when silent on all links.
        bool now_up = heartbeats->any_link_up();
        if (now_up != peer_up) {
            peer_up = now_up;
            emit(std::string("event=peer up=") + (now_up ? "1" : "0") + " mono_ms=" + std::to_string(mono_ms()));
        }
    };
    hcb.on_incompatible_peer = [&](uint32_t major, uint32_t minor) {
        emit("event=incompatible major=" + std::to_string(major) + " minor=" + std::to_string(minor));
    };
    heartbeats = std::make_unique<HeartbeatService>(io, *codec, hcb);

    ChannelOptions copt = ChannelOptions::for_topology(codec->topology());
    copt.dial_on_start = dial_on_start;
    PeerChannel::Callbacks ccb;
    ccb.on_message = [&](size_t link, const wire::PeerMessage& m) {
        emit("event=msg text=" + m.file_sync().path() + " link=" + std::to_string(link));
    };
    ccb.on_connected = [&](size_t link, uint64_t inc) {
        auto s = channel->stats();
        emit("event=channel up=1 link=" + std::to_string(link) + " local=" + s.local + " remote=" +
             s.remote + " by_us=" + (s.initiated_by_us ? "1" : "0") + " peer_incarnation=" +
             std::to_string(inc) + " mono_ms=" + std::to_string(mono_ms()));
    };
    ccb.on_disconnected = [&] { emit("event=channel up=0 mono_ms=" + std::to_string(mono_ms())); };
    channel = std::make_unique<PeerChannel>(io, *codec, copt, ccb);

    auto stats_line = [&] {
        std::string s = "event=stats mono_ms=" + std::to_string(mono_ms());
        auto ls = heartbeats->link_stats();
        auto now = net::Clock::now();
        for (size_t l = 0; l < ls.size(); ++l) {
            std::string p = " link" + std::to_string(l) + ".";
            s += p + "up=" + (ls[l].up ? "1" : "0");
            s += p + "rtt_ms=" + (ls[l].rtt_ms ? fmt(*ls[l].rtt_ms) : std::string("-1"));
            s += p + "loss=" + fmt(ls[l].loss);
            s += p + "sent=" + std::to_string(ls[l].sent);
            s += p + "received=" + std::to_string(ls[l].received);
            s += p + "dropped=" + std::to_string(ls[l].dropped);
            s += p + "send_errors=" + std::to_string(ls[l].send_errors);
            s += p + "went_down=" + std::to_string(ls[l].went_down);
            s += p + "last_heard_ms=" +
                 (ls[l].last_heard ? std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                        now - *ls[l].last_heard).count())
                                   : std::string("-1"));
        }
        const auto& d = codec->drops();
        for (size_t r = 0; r < static_cast<size_t>(DropReason::kCount); ++r)
            s += std::string(" drop.") + to_string(static_cast<DropReason>(r)) + "=" +
                 std::to_string(d.get(static_cast<DropReason>(r)));
        s += " drop.total=" + std::to_string(d.total());
        auto c = channel->stats();
        s += " channel.connected=" + std::string(c.connected ? "1" : "0");
        s += " channel.link=" + std::to_string(c.link);
        s += " channel.by_us=" + std::string(c.initiated_by_us ? "1" : "0");
        s += " channel.local=" + (c.local.empty() ? "-" : c.local);
        s += " channel.remote=" + (c.remote.empty() ? "-" : c.remote);
        s += " channel.dials=" + std::to_string(c.dials);
        s += " channel.connects=" + std::to_string(c.connects);
        s += " channel.tiebreaks=" + std::to_string(c.tiebreaks);
        s += " channel.delivered=" + std::to_string(c.delivered);
        s += " channel.sent=" + std::to_string(c.sent);
        s += " channel.resent=" + std::to_string(c.resent);
        s += " channel.unacked=" + std::to_string(c.unacked);
        s += " channel.pending=" + std::to_string(c.pending);
        s += " peer_restarts=" + std::to_string(codec->peer_restarts());
        emit(s);
    };

    try {
        heartbeats->start();
        channel->start();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "netnode: %s\n", e.what());
        return 1;
    }
    emit("event=ready pid=" + std::to_string(::getpid()) + " incarnation=" + std::to_string(id.incarnation) +
         " generation=" + std::to_string(id.generation) + " links=" + std::to_string(links));

    asio::steady_timer stats_timer(io);
    std::function<void()> arm_stats = [&] {
        if (stats_ms <= 0) return;
        stats_timer.expires_after(std::chrono::milliseconds(stats_ms));
        stats_timer.async_wait([&](const boost::system::error_code& ec) {
            if (ec) return;
            stats_line();
            arm_stats();
        });
    };
    arm_stats();

    asio::posix::stream_descriptor in(io, ::dup(STDIN_FILENO));
    asio::streambuf buf(64 * 1024);
    std::function<void()> read_command = [&] {
        asio::async_read_until(in, buf, '\n', [&](const boost::system::error_code& ec, size_t) {
            if (ec) {  // stdin closed: the harness is gone
                io.stop();
                return;
            }
            std::istream is(&buf);
            std::string line;
            std::getline(is, line);
            std::string cmd = line.substr(0, line.find(' '));
            std::string arg = line.find(' ') == std::string::npos ? "" : line.substr(line.find(' ') + 1);
            if (cmd == "send") {
                wire::PeerMessage m;
                m.mutable_file_sync()->set_path(arg);
                auto e = channel->send(m);
                emit(std::string("event=sent ok=") + (e ? "0" : "1") + " text=" + arg + " error=" +
                     (e ? std::to_string(e.value()) : "0"));
            } else if (cmd == "stats") {
                stats_line();
            } else if (cmd == "dial") {
                channel->dial_now();
            } else if (cmd == "state") {
                wire::NodeState st;
                st.set_epoch(std::stoull(arg.empty() ? "0" : arg));
                heartbeats->set_state(st);
                heartbeats->send_now();
            } else if (cmd == "quit") {
                io.stop();
                return;
            }
            read_command();
        });
    };
    read_command();
    io.run();
    channel->stop();
    heartbeats->stop();
    return 0;
}
