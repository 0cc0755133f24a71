// SPDX-License-Identifier: GPL-2.0-or-later
#include "daemon/runtime/state_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/fd_io.h"
#include "proto/state.pb.h"

namespace veeamha::runtime {
namespace {

constexpr uint32_t kFormat = 1;

std::string errno_text(const std::string& what, const std::string& path) {
    return what + " " + path + ": " + std::strerror(errno);
}

bool make_dirs(const std::string& dir, std::string& error) {
    std::string partial;
    for (size_t pos = 1; pos <= dir.size(); ++pos) {
        if (pos != dir.size() && dir[pos] != '/') continue;
        partial = dir.substr(0, pos);
        if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
            error = errno_text("cannot create", partial);
            return false;
        }
    }
    return true;
}

}  // namespace

StateStore::StateStore(const config::Config& config, int local_node)
    : config_(config),
      node_(config.nodes[static_cast<size_t>(local_node)].name),
      dir_(config.cluster.state_dir),
      path_(config.cluster.state_dir + "/state.pb") {}

bool StateStore::load(engine::PersistedState& state, std::string& error) {
    if (!make_dirs(dir_, error)) return false;
    return read(state, error);
}

bool StateStore::read(engine::PersistedState& state, std::string& error) const {
    state = engine::PersistedState{};
    state.failures.resize(config_.resources.size());
    int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return true;  // first start of this node
        error = errno_text("cannot open", path_);
        return false;
    }
    std::string data;
    if (int err = base::read_bounded(fd, 16u << 20, data); err != 0) {
        errno = err;
        error = errno_text("cannot read", path_);
        ::close(fd);
        return false;
    }
    if (data.size() > (16u << 20)) {
        error = path_ + " is larger than 16 MiB: not a veeam-had state file";
        ::close(fd);
        return false;
    }
    ::close(fd);

    state::PersistedState pb;
    if (!pb.ParseFromString(data) || pb.format() != kFormat) {
        error = path_ + " is damaged or of an unknown format; move it away to start this node "
                        "fresh (it will then not run the group before it sees or fences its peer)";
        return false;
    }
    if (pb.cluster() != config_.cluster.name || pb.node() != node_) {
        error = path_ + " belongs to cluster '" + pb.cluster() + "' node '" + pb.node() +
                "', not '" + config_.cluster.name + "' node '" + node_ +
                "'; check cluster.state_dir and --node";
        return false;
    }
    state.epoch = pb.epoch();
    state.owner = pb.owner();
    state.standby = pb.standby();
    state.maintenance = pb.maintenance();
    state.maintenance_version = pb.maintenance_version();
    state.boot_id = pb.boot_id();
    state.unclean = pb.unclean();
    state.owner_boot_id = pb.owner_boot_id();
    for (size_t i = 0; i < config_.resources.size(); ++i) {
        auto it = pb.failures().find(config_.resources[i].name);
        if (it != pb.failures().end())
            state.failures[i].assign(it->second.at_unix_ms().begin(), it->second.at_unix_ms().end());
    }
    for (const auto& h : pb.history())
        state.history.push_back({h.at_unix_ms(), h.kind(), h.text()});
    while (state.history.size() > engine::kHistoryLimit) state.history.pop_front();
    if (pb.has_last_failover())
        state.last_failover = engine::FailoverRecord{pb.last_failover().at_unix_ms(),
                                                     pb.last_failover().reason(),
                                                     pb.last_failover().duration_ms()};
    return true;
}

bool StateStore::save(const engine::PersistedState& state, std::string& error) {
    state::PersistedState pb;
    pb.set_format(kFormat);
    pb.set_cluster(config_.cluster.name);
    pb.set_node(node_);
    pb.set_epoch(state.epoch);
    pb.set_owner(state.owner);
    pb.set_standby(state.standby);
    pb.set_maintenance(state.maintenance);
    pb.set_maintenance_version(state.maintenance_version);
    pb.set_boot_id(state.boot_id);
    pb.set_unclean(state.unclean);
    pb.set_owner_boot_id(state.owner_boot_id);
    for (size_t i = 0; i < state.failures.size() && i < config_.resources.size(); ++i) {
        if (state.failures[i].empty()) continue;
        auto& f = (*pb.mutable_failures())[config_.resources[i].name];
        for (int64_t t : state.failures[i]) f.add_at_unix_ms(t);
    }
    for (const auto& h : state.history) {
        auto* e = pb.add_history();
        e->set_at_unix_ms(h.wall);
        e->set_kind(h.kind);
        e->set_text(h.text);
    }
    if (state.last_failover) {
        pb.mutable_last_failover()->set_at_unix_ms(state.last_failover->wall);
        pb.mutable_last_failover()->set_reason(state.last_failover->reason);
        pb.mutable_last_failover()->set_duration_ms(state.last_failover->duration_ms);
    }
    std::string data;
    if (!pb.SerializeToString(&data)) {
        error = "cannot serialize the state";
        return false;
    }
    if (!make_dirs(dir_, error)) return false;

    std::string tmp = path_ + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        error = errno_text("cannot create", tmp);
        return false;
    }
    bool ok = base::write_all(fd, data) && ::fsync(fd) == 0;
    if (!ok) error = errno_text("cannot write", tmp);
    if (::close(fd) != 0 && ok) {
        ok = false;
        error = errno_text("cannot close", tmp);
    }
    if (ok && ::rename(tmp.c_str(), path_.c_str()) != 0) {
        ok = false;
        error = errno_text("cannot rename onto", path_);
    }
    if (!ok) {
        ::unlink(tmp.c_str());
        return false;
    }
    int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || ::fsync(dfd) != 0) {
        error = errno_text("cannot fsync the folder", dir_);
        if (dfd >= 0) ::close(dfd);
        return false;
    }
    ::close(dfd);
    return true;
}

}  // namespace veeamha::runtime
