// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/resources/service/nspawn_container.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "base/process.h"

extern char** environ;

namespace veeamha::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kSystemd = "org.freedesktop.systemd1";
constexpr const char* kPath = "/org/freedesktop/systemd1";
constexpr const char* kManager = "org.freedesktop.systemd1.Manager";

// The program's full path from PATH (then /usr/sbin, /sbin), or "" when it is not there.
std::string find_in_path(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/bin:/bin";
    dirs += ":/usr/sbin:/sbin";
    std::stringstream ss(dirs);
    std::string dir;
    while (std::getline(ss, dir, ':'))
        if (!dir.empty() && ::access((dir + "/" + name).c_str(), X_OK) == 0) return dir + "/" + name;
    return {};
}

bool executable_in_path(const std::string& name) { return !find_in_path(name).empty(); }

// fork + exec with PR_SET_PDEATHSIG = SIGTERM (posix_spawn cannot set it): when the test
// process dies (a CTest timeout kills it), nspawn halts the container instead of leaving it
// running. Output goes to `log_file`.
pid_t spawn_with_parent_death_signal(const std::vector<char*>& argv, const std::string& log_file) {
    const std::string program = find_in_path(argv[0]);
    if (program.empty()) throw std::runtime_error("cannot start systemd-nspawn: not found in PATH");
    const pid_t parent = ::getpid();
    int log_fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log_fd < 0) throw std::runtime_error("cannot open " + log_file + ": " + std::strerror(errno));
    pid_t pid = ::fork();
    if (pid < 0) {
        int e = errno;
        ::close(log_fd);
        throw std::runtime_error(std::string("cannot start systemd-nspawn: fork: ") + std::strerror(e));
    }
    if (pid == 0) {
        // Only async-signal-safe calls from here on.
        if (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || ::getppid() != parent) ::_exit(127);
        int null_fd = ::open("/dev/null", O_RDONLY);
        if (null_fd < 0 || ::dup2(null_fd, 0) < 0 || ::dup2(log_fd, 1) < 0 || ::dup2(log_fd, 2) < 0) ::_exit(127);
        ::execve(program.c_str(), argv.data(), environ);
        ::_exit(127);
    }
    ::close(log_fd);
    return pid;
}

std::string pid_namespace(const std::string& pid) {
    char buf[64];
    ssize_t n = ::readlink(("/proc/" + pid + "/ns/pid").c_str(), buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

// The container's PID 1: a child of nspawn in another PID namespace. (nspawn's short-lived
// "outer child" is a child of nspawn too, but in our namespace.)
pid_t container_leader(pid_t nspawn) {
    DIR* proc = ::opendir("/proc");
    if (!proc) return -1;
    const std::string own_ns = pid_namespace("self");
    pid_t found = -1;
    while (dirent* e = ::readdir(proc)) {
        char* end = nullptr;
        long pid = std::strtol(e->d_name, &end, 10);
        if (!end || *end || pid <= 0) continue;
        std::ifstream stat("/proc/" + std::string(e->d_name) + "/stat");
        std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
        size_t close = content.rfind(')');
        if (close == std::string::npos || close + 2 >= content.size()) continue;
        std::istringstream rest(content.substr(close + 2));
        char state;
        long ppid = 0;
        if (!(rest >> state >> ppid) || ppid != nspawn) continue;
        std::string ns = pid_namespace(e->d_name);
        if (!ns.empty() && ns != own_ns) {
            found = static_cast<pid_t>(pid);
            break;
        }
    }
    ::closedir(proc);
    return found;
}

bool alive(pid_t pid) { return ::kill(pid, 0) == 0; }

// Waits for our child `pid` to exit, at most `timeout`. True when reaped.
bool wait_child(pid_t pid, std::chrono::milliseconds timeout) {
    auto until = Clock::now() + timeout;
    for (;;) {
        int status = 0;
        pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD)) return true;
        if (Clock::now() >= until) return false;
        std::this_thread::sleep_for(20ms);
    }
}

struct BusCloser {
    void operator()(sd_bus* b) const { sd_bus_close_unref(b); }
};

void check(int r, const sd_bus_error& e, const std::string& what) {
    if (r >= 0) return;
    std::string msg = what + ": " + (e.message ? e.message : std::strerror(-r));
    throw std::runtime_error(msg);
}

// The unit's object path (Manager.LoadUnit).
std::string unit_object(sd_bus* bus, const std::string& unit) {
    sd_bus_error e = SD_BUS_ERROR_NULL;
    sd_bus_message* reply = nullptr;
    int r = sd_bus_call_method(bus, kSystemd, kPath, kManager, "LoadUnit", &e, &reply, "s", unit.c_str());
    if (r < 0) {
        std::string msg = e.message ? e.message : "";
        sd_bus_error_free(&e);
        throw std::runtime_error("LoadUnit " + unit + ": " + msg);
    }
    const char* path = nullptr;
    sd_bus_message_read(reply, "o", &path);
    std::string unit_path = path ? path : "";
    sd_bus_message_unref(reply);
    return unit_path;
}

// A string property of a unit.
std::string unit_string(sd_bus* bus, const std::string& unit, const std::string& iface, const std::string& name) {
    const std::string unit_path = unit_object(bus, unit);
    sd_bus_error e = SD_BUS_ERROR_NULL;
    char* value = nullptr;
    int r = sd_bus_get_property_string(bus, kSystemd, unit_path.c_str(), iface.c_str(), name.c_str(), &e, &value);
    std::string msg = e.message ? e.message : "";
    sd_bus_error_free(&e);
    if (r < 0) throw std::runtime_error("property " + name + " of " + unit + ": " + msg);
    std::string out = value;
    std::free(value);
    return out;
}

// The manager's SystemState ("starting", "running", ...).
std::string manager_state(sd_bus* bus) {
    sd_bus_error e = SD_BUS_ERROR_NULL;
    char* s = nullptr;
    int r = sd_bus_get_property_string(bus, kSystemd, kPath, kManager, "SystemState", &e, &s);
    std::string msg = e.message ? e.message : "";
    sd_bus_error_free(&e);
    if (r < 0) throw std::runtime_error("SystemState: " + (msg.empty() ? std::string(std::strerror(-r)) : msg));
    std::string out = s;
    std::free(s);
    return out;
}

// "ActiveState/SubState", and "(result ...)" for a service or socket, of a unit: boot diagnostics.
std::string unit_summary(sd_bus* bus, const std::string& unit) {
    const char* kUnitIface = "org.freedesktop.systemd1.Unit";
    std::string out = unit + " " + unit_string(bus, unit, kUnitIface, "ActiveState") + "/" +
                      unit_string(bus, unit, kUnitIface, "SubState");
    auto ends_with = [&](const std::string& suffix) {
        return unit.size() > suffix.size() && unit.compare(unit.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    const char* kind = ends_with(".socket")    ? "org.freedesktop.systemd1.Socket"
                       : ends_with(".service") ? "org.freedesktop.systemd1.Service"
                                               : nullptr;  // a target has no Result
    return kind ? out + " (result " + unit_string(bus, unit, kind, "Result") + ")" : out;
}

}  // namespace

std::string NspawnContainer::cannot_run_reason() {
    if (::geteuid() != 0) return "not root: systemd-nspawn needs root";
    if (!executable_in_path("systemd-nspawn"))
        return "systemd-nspawn is not installed (apt-get install systemd-container)";
    if (::access("/usr/lib/systemd/systemd", X_OK) != 0 && ::access("/lib/systemd/systemd", X_OK) != 0)
        return "systemd is not installed on this host, so its root cannot boot as a container";
    return {};
}

NspawnContainer::NspawnContainer(const std::string& bind_ro_dir, std::chrono::seconds boot_timeout) {
    NspawnOptions options;
    options.bind_ro_dir = bind_ro_dir;
    options.boot_timeout = boot_timeout;
    boot(options);
}

NspawnContainer::NspawnContainer(const NspawnOptions& options) { boot(options); }

void NspawnContainer::boot(const NspawnOptions& options) {
    static int seq = 0;
    name_ = options.name_prefix + std::to_string(::getpid()) + "x" + std::to_string(seq++);
    log_file_ = "/tmp/" + name_ + ".log";
    const std::chrono::seconds boot_timeout = options.boot_timeout;

    // The user database comes from the host, read-only: with only /usr from the host, the
    // container's /etc starts empty and its users are made by systemd-sysusers at boot, and
    // twice in CI the container's dbus-daemon started without them (root and messagebus
    // unknown, in the container's journal), failed five times and left the bus down for good.
    std::vector<std::string> args = {"systemd-nspawn", "-q", "-D", "/", "--volatile=yes", "-M", name_,
                                     "-b", "--register=no", "--keep-unit", "--console=pipe",
                                     "--bind-ro=/etc/passwd", "--bind-ro=/etc/group"};
    if (options.network_namespace_path.empty())
        args.push_back("--private-network");
    else
        args.push_back("--network-namespace-path=" + options.network_namespace_path);
    if (!options.hostname.empty()) args.push_back("--hostname=" + options.hostname);
    if (!options.bind_ro_dir.empty()) args.push_back("--bind-ro=" + options.bind_ro_dir + ":/opt/veeamha-test");
    args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    if (options.stop_with_parent) {
        nspawn_pid_ = spawn_with_parent_death_signal(argv, log_file_);
    } else {
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&actions, 1, log_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
        int rc = ::posix_spawnp(&nspawn_pid_, "systemd-nspawn", &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        if (rc != 0) throw std::runtime_error(std::string("cannot start systemd-nspawn: ") + std::strerror(rc));
    }

    // One connection to the system bus, kept while the boot goes on: every new connection
    // while dbus.service is not up triggers its start again, and reconnecting many times a
    // second can trip dbus.socket's trigger limit on a loaded machine (it then fails and refuses
    // every connection). The first call on the connection waits for dbus-daemon to answer.
    auto until = Clock::now() + boot_timeout;
    std::string state;
    std::unique_ptr<sd_bus, BusCloser> bus;
    auto next_connect = Clock::now();
    while (Clock::now() < until) {
        int status = 0;
        if (::waitpid(nspawn_pid_, &status, WNOHANG) == nspawn_pid_) {
            nspawn_pid_ = -1;
            throw std::runtime_error("systemd-nspawn exited during boot: " + log_tail());
        }
        if (leader_ <= 0 || !alive(leader_)) leader_ = container_leader(nspawn_pid_);
        struct stat st {};
        if (!bus && leader_ > 0 && Clock::now() >= next_connect &&
            ::stat(host_path("/run/dbus/system_bus_socket").c_str(), &st) == 0) {
            try {
                bus.reset(connect(10s));
            } catch (const std::exception&) {
                next_connect = Clock::now() + 500ms;
            }
        }
        if (bus) {
            try {
                state = manager_state(bus.get());
                if (state == "running" || state == "degraded") return;
                // Units with default dependencies only wait for basic.target: a late boot job
                // (a device wait of some host unit) must not hold the tests up.
                if (state == "starting" &&
                    unit_string(bus.get(), "basic.target", "org.freedesktop.systemd1.Unit", "ActiveState") == "active")
                    return;
            } catch (const std::exception&) {
                bus.reset();
                next_connect = Clock::now() + 500ms;
            }
        }
        std::this_thread::sleep_for(100ms);
    }
    bus.reset();
    std::string why = boot_report();
    shutdown();
    throw std::runtime_error("container " + name_ + " not running after " + std::to_string(boot_timeout.count()) +
                             " s (state '" + state + "'): " + why);
}

NspawnContainer::~NspawnContainer() { shutdown(); }

void NspawnContainer::shutdown() {
    if (nspawn_pid_ > 0) {
        // SIGTERM: nspawn asks the container's systemd to halt, then exits.
        ::kill(nspawn_pid_, SIGTERM);
        if (!wait_child(nspawn_pid_, 20s)) {
            // The container's PID 1 takes its whole PID namespace with it.
            if (leader_ > 0 && alive(leader_)) ::kill(leader_, SIGKILL);
            ::kill(nspawn_pid_, SIGKILL);
            wait_child(nspawn_pid_, 10s);
        }
        nspawn_pid_ = -1;
    }
    // nspawn leaves its (empty) propagation folder behind when it boots the host's root.
    std::string propagate = "/run/systemd/nspawn/propagate/" + name_;
    if (DIR* d = ::opendir(propagate.c_str())) {
        while (dirent* e = ::readdir(d))
            if (e->d_name[0] != '.') ::unlink((propagate + "/" + e->d_name).c_str());
        ::closedir(d);
        ::rmdir(propagate.c_str());
    }
    ::unlink(log_file_.c_str());
}

bool NspawnContainer::running() {
    if (nspawn_pid_ <= 0) return false;
    int status = 0;
    pid_t r = ::waitpid(nspawn_pid_, &status, WNOHANG);
    if (r == nspawn_pid_ || (r < 0 && errno == ECHILD)) {
        nspawn_pid_ = -1;
        return false;
    }
    return true;
}

bool NspawnContainer::wait_stopped(std::chrono::milliseconds limit) {
    if (nspawn_pid_ <= 0) return true;
    if (!wait_child(nspawn_pid_, limit)) return false;
    nspawn_pid_ = -1;
    return true;
}

std::string NspawnContainer::pending_jobs() const {
    try {
        std::unique_ptr<sd_bus, BusCloser> bus(connect(2s));
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message* reply = nullptr;
        int r = sd_bus_call_method(bus.get(), kSystemd, kPath, kManager, "ListJobs", &e, &reply, "");
        sd_bus_error_free(&e);
        if (r < 0) return "(ListJobs failed)";
        std::string out;
        if (sd_bus_message_enter_container(reply, 'a', "(usssoo)") > 0) {
            uint32_t id;
            const char *unit, *type, *state, *job, *unit_path;
            while (sd_bus_message_read(reply, "(usssoo)", &id, &unit, &type, &state, &job, &unit_path) > 0)
                out += std::string(unit) + " " + type + " " + state + "; ";
        }
        sd_bus_message_unref(reply);
        return out.empty() ? "none" : out;
    } catch (const std::exception& e) {
        return std::string("(bus not reachable: ") + e.what() + ")";
    }
}

std::string NspawnContainer::boot_report() const {
    std::string out = "log: " + log_tail() + "\npending jobs: " + pending_jobs();
    if (leader_ <= 0) return out + "\n(no container leader found)";
    try {
        std::unique_ptr<sd_bus, BusCloser> manager(connect(2s));
        out += "\nstate " + manager_state(manager.get());
        for (const char* unit : {"basic.target", "dbus.socket", "dbus.service"})
            out += "; " + unit_summary(manager.get(), unit);
    } catch (const std::exception& e) {
        out += std::string("\n(") + e.what() + ")";
    }
    // The container's journal (volatile: its /run/log/journal): the system bus's units, then the
    // last lines of all.
    for (std::vector<std::string> filter : {std::vector<std::string>{"-u", "dbus.socket", "-u", "dbus.service"},
                                            std::vector<std::string>{}}) {
        base::ProcessSpec p;
        p.argv = {"journalctl", "--root=" + host_path(""), "--no-pager", "-q", "-n", "25", "-o", "short-monotonic"};
        p.argv.insert(p.argv.end(), filter.begin(), filter.end());
        p.deadline = base::Clock::now() + 10s;
        const base::ProcessResult r = base::run_process(p);
        out += "\njournal" + (filter.empty() ? std::string() : " of the bus units") + " (" + r.describe() + "):\n" +
               r.out + r.err;
    }
    return out;
}

std::string NspawnContainer::bus_address() const {
    return "unix:path=" + host_path("/run/dbus/system_bus_socket");
}

std::string NspawnContainer::host_path(const std::string& inside) const {
    return "/proc/" + std::to_string(leader_) + "/root" + inside;
}

std::string NspawnContainer::log_tail() const {
    std::ifstream f(log_file_);
    std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    return all.size() > 2000 ? all.substr(all.size() - 2000) : all;
}

sd_bus* NspawnContainer::connect(std::chrono::milliseconds call_timeout) const {
    sd_bus* bus = nullptr;
    sd_bus_error none = SD_BUS_ERROR_NULL;
    check(sd_bus_new(&bus), none, "sd_bus_new");
    std::string address = bus_address();
    int r = sd_bus_set_address(bus, address.c_str());
    if (r >= 0) r = sd_bus_set_bus_client(bus, 1);
    if (r >= 0) r = sd_bus_start(bus);
    if (r >= 0) r = sd_bus_set_method_call_timeout(bus, static_cast<uint64_t>(call_timeout.count()) * 1000);
    if (r < 0) {
        sd_bus_unref(bus);
        check(r, none, "connecting to " + address);
    }
    return bus;
}

void NspawnContainer::install_unit(const std::string& unit, const std::string& text) {
    std::string dir = host_path("/run/systemd/system");
    ::mkdir(dir.c_str(), 0755);
    std::string path = dir + "/" + unit;
    {
        std::ofstream f(path);
        f << text;
        if (!f) throw std::runtime_error("cannot write " + path);
    }
    daemon_reload();
}

void NspawnContainer::daemon_reload() {
    std::unique_ptr<sd_bus, BusCloser> bus(connect(30s));
    sd_bus_error e = SD_BUS_ERROR_NULL;
    int r = sd_bus_call_method(bus.get(), kSystemd, kPath, kManager, "Reload", &e, nullptr, "");
    std::string msg = e.message ? e.message : "";
    sd_bus_error_free(&e);
    if (r < 0) throw std::runtime_error("Reload: " + (msg.empty() ? std::string(std::strerror(-r)) : msg));
}

void NspawnContainer::kill_unit(const std::string& unit, int signal, const std::string& who) {
    std::unique_ptr<sd_bus, BusCloser> bus(connect(10s));
    sd_bus_error e = SD_BUS_ERROR_NULL;
    int r = sd_bus_call_method(bus.get(), kSystemd, kPath, kManager, "KillUnit", &e, nullptr, "ssi",
                               unit.c_str(), who.c_str(), signal);
    std::string msg = e.message ? e.message : "";
    sd_bus_error_free(&e);
    if (r < 0) throw std::runtime_error("KillUnit " + unit + ": " + msg);
}

void NspawnContainer::queue_job(const std::string& method, const std::string& unit) {
    std::unique_ptr<sd_bus, BusCloser> bus(connect(10s));
    sd_bus_error e = SD_BUS_ERROR_NULL;
    int r = sd_bus_call_method(bus.get(), kSystemd, kPath, kManager, method.c_str(), &e, nullptr, "ss",
                               unit.c_str(), "replace");
    std::string msg = e.message ? e.message : "";
    sd_bus_error_free(&e);
    if (r < 0) throw std::runtime_error(method + " " + unit + ": " + msg);
}

uint32_t NspawnContainer::main_pid(const std::string& unit) {
    std::unique_ptr<sd_bus, BusCloser> bus(connect(10s));
    const std::string unit_path = unit_object(bus.get(), unit);
    sd_bus_error e = SD_BUS_ERROR_NULL;
    uint32_t pid = 0;
    int r = sd_bus_get_property_trivial(bus.get(), kSystemd, unit_path.c_str(), "org.freedesktop.systemd1.Service",
                                        "MainPID", &e, 'u', &pid);
    std::string msg = e.message ? e.message : "";
    sd_bus_error_free(&e);
    if (r < 0) throw std::runtime_error("MainPID of " + unit + ": " + msg);
    return pid;
}

std::string NspawnContainer::unit_property(const std::string& unit, const std::string& iface,
                                           const std::string& name) {
    std::unique_ptr<sd_bus, BusCloser> bus(connect(10s));
    return unit_string(bus.get(), unit, iface, name);
}

std::vector<std::string> NspawnContainer::unit_list_property(const std::string& unit, const std::string& name) {
    std::unique_ptr<sd_bus, BusCloser> bus(connect(10s));
    const std::string unit_path = unit_object(bus.get(), unit);
    sd_bus_error e = SD_BUS_ERROR_NULL;
    char** values = nullptr;
    int r = sd_bus_get_property_strv(bus.get(), kSystemd, unit_path.c_str(), "org.freedesktop.systemd1.Unit",
                                     name.c_str(), &e, &values);
    std::string msg = e.message ? e.message : "";
    sd_bus_error_free(&e);
    if (r < 0) throw std::runtime_error("property " + name + " of " + unit + ": " + msg);
    std::vector<std::string> out;
    for (char** v = values; v && *v; ++v) {
        out.emplace_back(*v);
        std::free(*v);
    }
    std::free(values);
    return out;
}

}  // namespace veeamha::test
