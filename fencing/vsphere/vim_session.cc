// SPDX-License-Identifier: GPL-2.0-or-later
// Transport half of VimSession: the gSOAP context, TLS verification, the per-call time bound,
// the session cookie (what failures were is in vim_errors.cc).
#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "base/log.h"
#include "fencing/vsphere/reach.h"
#include "fencing/vsphere/vim_session_impl.h"

namespace veeamha::fencing::vsphere {

namespace {

using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::milliseconds;

// gSOAP measures its timeouts itself; a wait it ends counts as ours when it ended this close to
// the bound.
constexpr milliseconds kTimeoutSlack{25};
constexpr milliseconds kLogoutBudget{1000};

// gSOAP wants negative microseconds for sub-second timeouts; 0 would mean "no timeout".
int soap_usec(base::Deadline until) {
    auto left = duration_cast<microseconds>(until - base::Clock::now()).count();
    left = std::clamp<long long>(left, 1000, 2'000'000'000LL);
    return -static_cast<int>(left);
}

// SSL_write may raise SIGPIPE on a connection the peer reset. Block it around socket work on
// this thread and swallow one raised meanwhile, so the daemon's disposition stays untouched.
class SigpipeGuard {
public:
    SigpipeGuard() {
        sigemptyset(&pipe_);
        sigaddset(&pipe_, SIGPIPE);
        sigset_t pending;
        sigpending(&pending);
        was_pending_ = sigismember(&pending, SIGPIPE) == 1;
        pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
    }
    ~SigpipeGuard() {
        if (!was_pending_) {
            sigset_t pending;
            sigpending(&pending);
            if (sigismember(&pending, SIGPIPE) == 1) {
                timespec zero{0, 0};
                while (sigtimedwait(&pipe_, nullptr, &zero) < 0 && errno == EINTR) {}
            }
        }
        pthread_sigmask(SIG_SETMASK, &old_, nullptr);
    }
    SigpipeGuard(const SigpipeGuard&) = delete;
    SigpipeGuard& operator=(const SigpipeGuard&) = delete;

private:
    sigset_t pipe_{}, old_{};
    bool was_pending_ = false;
};

VimSession::Impl* impl_of(struct soap* soap) { return static_cast<VimSession::Impl*>(soap->user); }

SOAP_SOCKET hook_open(struct soap* soap, const char* endpoint, const char* host, int port) {
    auto* im = impl_of(soap);
    if (base::expired(im->call_end)) {
        im->call_timed_out = true;
        soap->error = SOAP_TCP_ERROR;
        return SOAP_INVALID_SOCKET;
    }
    // Nobody answering (packets dropped): try afresh every second rather than wait for the
    // kernel's SYN backoff (reach.h).
    if (!wait_until_answering(host, port, im->call_end)) {
        im->call_timed_out = true;
        soap->error = SOAP_TCP_ERROR;
        return SOAP_INVALID_SOCKET;
    }
    soap->connect_timeout = soap_usec(im->call_end);  // covers the TLS handshake too
    SigpipeGuard guard;
    SOAP_SOCKET s = im->orig_fopen(soap, endpoint, host, port);
    if (!soap_valid_socket(s) && near_or_past(im->call_end)) im->call_timed_out = true;
    return s;
}

int hook_send(struct soap* soap, const char* data, size_t n) {
    auto* im = impl_of(soap);
    if (base::expired(im->call_end)) {
        im->call_timed_out = true;
        return SOAP_EOF;
    }
    soap->send_timeout = soap_usec(im->call_end);
    SigpipeGuard guard;
    int rc = im->orig_fsend(soap, data, n);
    if (rc != SOAP_OK && near_or_past(im->call_end)) im->call_timed_out = true;
    return rc;
}

size_t hook_recv(struct soap* soap, char* buf, size_t n) {
    auto* im = impl_of(soap);
    if (base::expired(im->call_end)) {  // also ends a server that trickles a byte at a time
        im->call_timed_out = true;
        return 0;
    }
    soap->recv_timeout = soap_usec(im->call_end);
    SigpipeGuard guard;
    size_t got = im->orig_frecv(soap, buf, n);
    if (got == 0 && near_or_past(im->call_end)) im->call_timed_out = true;
    return got;
}

// vCenter keys the session on the vmware_soap_session cookie. gSOAP's own cookie jar is off;
// the cookie is captured here and sent back on every request.
int hook_parsehdr(struct soap* soap, const char* key, const char* val) {
    auto* im = impl_of(soap);
    if (key && val && strcasecmp(key, "Set-Cookie") == 0) {
        std::string v(val);
        size_t start = v.find_first_not_of(' ');
        if (start != std::string::npos && v.compare(start, 20, "vmware_soap_session=") == 0) {
            size_t end = v.find(';', start);
            im->cookie = v.substr(start, end == std::string::npos ? std::string::npos : end - start);
        }
        return SOAP_OK;
    }
    return im->orig_fparsehdr(soap, key, val);
}

int hook_posthdr(struct soap* soap, const char* key, const char* val) {
    auto* im = impl_of(soap);
    if (!key && !val && !im->cookie.empty()) {  // (NULL, NULL) ends the header block
        if (int rc = im->orig_fposthdr(soap, "Cookie", im->cookie.c_str())) return rc;
    }
    return im->orig_fposthdr(soap, key, val);
}

std::once_flag g_ssl_once;

bool is_ip_literal(const std::string& host, bool* v6) {
    unsigned char buf[sizeof(in6_addr)];
    if (inet_pton(AF_INET, host.c_str(), buf) == 1) {
        *v6 = false;
        return true;
    }
    if (inet_pton(AF_INET6, host.c_str(), buf) == 1) {
        *v6 = true;
        return true;
    }
    return false;
}

// getaddrinfo has no timeout: run it on a helper thread and stop waiting at `until`. A resolver
// that hangs costs one parked thread until the C library gives up, never the caller's time.
struct Address {
    std::string text;
    bool v6 = false;
};

struct Resolution {
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    std::vector<Address> addresses;
    std::string error;
};

constexpr size_t kMaxAddresses = 8;

bool resolve(const std::string& host, base::Deadline until, std::vector<Address>* addresses, std::string* error) {
    auto state = std::make_shared<Resolution>();
    std::thread([state, host] {
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        addrinfo* res = nullptr;
        int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
        std::vector<Address> found;
        std::string err;
        if (rc != 0) {
            err = gai_strerror(rc);
        } else {
            char buf[INET6_ADDRSTRLEN] = {};
            for (addrinfo* a = res; a && found.size() < kMaxAddresses; a = a->ai_next) {
                const void* src = a->ai_family == AF_INET
                    ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr)
                    : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr);
                if ((a->ai_family == AF_INET || a->ai_family == AF_INET6) &&
                    inet_ntop(a->ai_family, src, buf, sizeof buf))
                    found.push_back(Address{buf, a->ai_family == AF_INET6});
            }
            freeaddrinfo(res);
            if (found.empty()) err = "no address";
        }
        std::lock_guard lock(state->m);
        state->addresses = std::move(found);
        state->error = err;
        state->done = true;
        state->cv.notify_all();
    }).detach();
    std::unique_lock lock(state->m);
    if (!state->cv.wait_until(lock, until, [&] { return state->done; })) return false;
    *addresses = state->addresses;
    *error = state->error;
    return true;
}

}  // namespace

bool near_or_past(base::Deadline until) { return base::Clock::now() + kTimeoutSlack >= until; }

// ---- Impl ----------------------------------------------------------------------------------

VimSession::Impl::~Impl() {
    OPENSSL_cleanse(cookie.data(), cookie.size());
    if (!soap) return;
    SigpipeGuard guard;
    soap_destroy(soap);
    soap_end(soap);
    soap_free(soap);  // closes the socket; quiet shutdown: no close_notify wait
}

std::optional<VimError> VimSession::Impl::begin(Step s, milliseconds budget) {
    call_timed_out = false;
    if (base::expired(deadline))
        return error(ErrorKind::Timeout, s,
                     "no time left for step '" + std::string(to_string(s)) + "' with " + where());
    call_budget = budget.count() > 0 ? budget : settings.call_timeout;
    call_end = std::min(deadline, base::Clock::now() + call_budget);
    // All four before the connection opens: gSOAP makes the socket non-blocking only when a
    // timeout is set by then, and otherwise a TLS read blocks for ever. The hooks below shrink
    // them to what is left of the call before every socket operation.
    soap->transfer_timeout = soap_usec(call_end);
    soap->connect_timeout = soap_usec(call_end);
    soap->recv_timeout = soap_usec(call_end);
    soap->send_timeout = soap_usec(call_end);
    return std::nullopt;
}

void VimSession::Impl::release() {
    soap_destroy(soap);
    soap_end(soap);
}

std::optional<VimError> VimSession::Impl::create_context() {
    std::call_once(g_ssl_once, [] { soap_ssl_init(); });

    // Which TLS check, decided before anything touches the network.
    unsigned short flags = SOAP_SSL_SKIP_HOST_CHECK | SOAP_TLSv1_2 | SOAP_TLSv1_3;
    const char* cafile = nullptr;
    // The config allows exactly one; should several be set, the safest one wins.
    if (!settings.thumbprint.empty()) {
        std::string why;
        auto parsed = parse_thumbprint(settings.thumbprint, &why);
        if (!parsed)
            return error(ErrorKind::Setup, Step::Connect, "fencing.vsphere.thumbprint: " + why);
        pin = *parsed;
        tls_mode = TlsMode::Pin;
        flags |= SOAP_SSL_REQUIRE_SERVER_AUTHENTICATION | SOAP_SSL_NO_DEFAULT_CA_PATH;
    } else if (!settings.ca_file.empty()) {
        tls_mode = TlsMode::CaFile;
        cafile = settings.ca_file.c_str();
        flags |= SOAP_SSL_REQUIRE_SERVER_AUTHENTICATION | SOAP_SSL_NO_DEFAULT_CA_PATH;
        if (access(cafile, R_OK) != 0)
            return error(ErrorKind::Setup, Step::Connect,
                         "cannot read fencing.vsphere.ca_file " + settings.ca_file + ": " +
                             std::strerror(errno));
    } else if (settings.insecure) {
        tls_mode = TlsMode::Insecure;
        flags |= SOAP_SSL_NO_AUTHENTICATION | SOAP_SSL_NO_DEFAULT_CA_PATH;
    } else {
        tls_mode = TlsMode::SystemCa;  // neither given: the system's CA store
        flags |= SOAP_SSL_REQUIRE_SERVER_AUTHENTICATION;
    }

    soap = soap_new2(SOAP_C_UTFSTRING | SOAP_XML_TREE | SOAP_IO_KEEPALIVE | SOAP_DOM_TREE,
                     SOAP_C_UTFSTRING | SOAP_XML_TREE | SOAP_IO_KEEPALIVE);
    if (!soap) return error(ErrorKind::Setup, Step::Connect, "out of memory creating a SOAP context");
    soap->user = this;
    soap_set_namespaces(soap, namespaces);  // vim25_nsmap.cc
    soap->cookie_max = 0;
    soap->socket_flags = MSG_NOSIGNAL;
    soap->connect_flags = 0;
    orig_fopen = soap->fopen;
    orig_fsend = soap->fsend;
    orig_frecv = soap->frecv;
    orig_fposthdr = soap->fposthdr;
    orig_fparsehdr = soap->fparsehdr;
    soap->fopen = hook_open;
    soap->fsend = hook_send;
    soap->frecv = hook_recv;
    soap->fposthdr = hook_posthdr;
    soap->fparsehdr = hook_parsehdr;

    if (soap_ssl_client_context(soap, flags, nullptr, nullptr, cafile, nullptr, nullptr) != SOAP_OK ||
        !soap->ctx) {
        const char* detail = soap_fault_detail(soap);
        return error(ErrorKind::Tls, Step::Connect,
                     "cannot set up TLS for " + where() +
                         (cafile ? " with ca_file " + settings.ca_file : std::string()) + ": " +
                         (soap_fault_string(soap) ? soap_fault_string(soap) : "?") +
                         (detail ? std::string(" (") + detail + ")" : std::string()));
    }
    SSL_CTX_set_quiet_shutdown(soap->ctx, 1);
    SSL_CTX_set_cert_verify_callback(soap->ctx, verify_certificate, this);
    if (tls_mode == TlsMode::CaFile || tls_mode == TlsMode::SystemCa) {
        // The name the user configured, not the address it resolved to.
        X509_VERIFY_PARAM* param = SSL_CTX_get0_param(soap->ctx);
        bool v6 = false;
        int ok = is_ip_literal(settings.host, &v6)
                     ? X509_VERIFY_PARAM_set1_ip_asc(param, settings.host.c_str())
                     : X509_VERIFY_PARAM_set1_host(param, settings.host.c_str(), 0);
        if (ok != 1)
            return error(ErrorKind::Setup, Step::Connect, "cannot check TLS host name " + settings.host);
    }
    return std::nullopt;
}

// ---- VimSession: connection and session --------------------------------------------------

VimSession::VimSession(const config::VSphere& settings, base::Deadline deadline)
    : impl_(std::make_unique<Impl>(settings, deadline)) {}

VimSession::~VimSession() = default;

const std::string& VimSession::presented_thumbprint() const { return impl_->presented; }
const std::string& VimSession::product() const { return impl_->product; }

std::optional<VimError> VimSession::connect() {
    Impl& im = *impl_;
    if (auto e = im.create_context()) return e;

    std::vector<Address> addresses;
    bool v6 = false;
    if (is_ip_literal(im.settings.host, &v6)) {
        addresses.push_back(Address{im.settings.host, v6});
    } else {
        std::string err;
        base::Deadline until = std::min(im.deadline, base::Clock::now() + im.settings.call_timeout);
        if (!resolve(im.settings.host, until, &addresses, &err))
            return im.error(ErrorKind::Timeout, Step::Resolve,
                            "resolving vCenter host name " + im.settings.host + " timed out");
        if (!err.empty())
            return im.error(ErrorKind::Unreachable, Step::Resolve,
                            "cannot resolve vCenter host name " + im.settings.host + ": " + err);
    }

    _vim25__RetrieveServiceContent req;
    req._USCOREthis.type = "ServiceInstance";
    req._USCOREthis.__item = "ServiceInstance";
    _vim25__RetrieveServiceContentResponse resp;
    // A name with several addresses (IPv6 and IPv4): the next one when one refuses.
    for (size_t i = 0; i < addresses.size(); ++i) {
        const Address& a = addresses[i];
        im.endpoint = "https://" + (a.v6 ? "[" + a.text + "]" : a.text) + ":" +
                      std::to_string(im.settings.port) + "/sdk";
        auto e = invoke(im, Step::Connect, [&](struct soap* s, const char* ep) {
            return soap_call___vim25__RetrieveServiceContent(s, ep, nullptr, &req, resp);
        });
        if (!e) break;
        im.release();
        if (e->kind != ErrorKind::Unreachable || i + 1 == addresses.size()) return e;
        soap_closesock(im.soap);
        im.broken = false;
    }
    const vim25__ServiceContent* sc = resp.returnval;
    if (!sc || !sc->rootFolder || !sc->propertyCollector || !sc->sessionManager ||
        !sc->searchIndex || !sc->viewManager) {
        im.release();
        return im.error(ErrorKind::Protocol, Step::Connect,
                        im.where() + " is not a vCenter/ESXi vim25 endpoint (service content incomplete)");
    }
    im.root_folder = from_soap(*sc->rootFolder);
    im.property_collector = from_soap(*sc->propertyCollector);
    im.view_manager = from_soap(*sc->viewManager);
    im.session_manager = from_soap(*sc->sessionManager);
    im.search_index = from_soap(*sc->searchIndex);
    if (sc->about && sc->about->fullName) im.product = *sc->about->fullName;
    im.release();
    return std::nullopt;
}

std::optional<VimError> VimSession::login(const std::string& password) {
    Impl& im = *impl_;
    _vim25__Login req;
    req._USCOREthis = to_soap(im.session_manager);
    req.userName = im.settings.username;
    req.password = password;
    _vim25__LoginResponse resp;
    auto e = invoke(im, Step::Login, [&](struct soap* s, const char* ep) {
        return soap_call___vim25__Login(s, ep, nullptr, &req, resp);
    });
    OPENSSL_cleanse(req.password.data(), req.password.size());
    // The serialized request (password included) was built in gSOAP's I/O buffer; the answer
    // need not have overwritten all of it.
    OPENSSL_cleanse(im.soap->buf, sizeof im.soap->buf);
    im.release();
    if (e) return e;
    if (im.cookie.empty())
        return im.error(ErrorKind::Protocol, Step::Login,
                        im.where() + " accepted the login but sent no vmware_soap_session cookie");
    im.logged_in = true;
    return std::nullopt;
}

void VimSession::logout() {
    Impl& im = *impl_;
    if (!im.soap || !im.logged_in || im.broken || base::expired(im.deadline)) return;
    // A short, separate budget: logging out must never eat the caller's time.
    base::Deadline saved = im.deadline;
    im.deadline = std::min(saved, base::Clock::now() + kLogoutBudget);
    _vim25__Logout req;
    req._USCOREthis = to_soap(im.session_manager);
    _vim25__LogoutResponse resp;
    auto e = invoke(im, Step::Logout, [&](struct soap* s, const char* ep) {
        return soap_call___vim25__Logout(s, ep, nullptr, &req, resp);
    });
    im.release();
    im.deadline = saved;
    im.logged_in = false;
    if (e) base::log::debug("fencing: logout from " + im.where() + " failed: " + e->message);
}

void VimSession::set_deadline(base::Deadline deadline) { impl_->deadline = deadline; }

bool VimSession::usable() const { return impl_->soap && impl_->logged_in && !impl_->broken; }

base::Clock::duration VimSession::idle_for() const { return base::Clock::now() - impl_->last_used; }

void VimSession::reconnect_later() {
    if (!impl_->soap) return;
    SigpipeGuard guard;
    soap_force_closesock(impl_->soap);  // soap_closesock leaves a kept-alive connection open
}

}  // namespace veeamha::fencing::vsphere
