// SPDX-License-Identifier: GPL-2.0-or-later
// Private to vim_session*.cc: the gSOAP context and what the hooks installed on it need.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "fencing/vsphere/vim25gen/soapH.h"
#include "fencing/vsphere/vim_session.h"

namespace veeamha::fencing::vsphere {

enum class TlsMode { CaFile, SystemCa, Pin, Insecure };

struct VimSession::Impl {
    config::VSphere settings;
    base::Deadline deadline;

    struct soap* soap = nullptr;
    std::string endpoint;  // https://ADDRESS:PORT/sdk, ADDRESS resolved once
    std::string cookie;    // vmware_soap_session="...": as secret as the password, never logged
    bool broken = false;   // a transport error happened: the connection is not reused
    bool logged_in = false;
    base::Clock::time_point last_used = base::Clock::now();  // when the last call ended
    std::vector<Moref> old_filters;  // property filters wait_task left in the session

    // From the service content.
    Moref root_folder, property_collector, view_manager, session_manager, search_index;
    std::string product;

    // TLS verification state, filled by the certificate callback during the handshake.
    TlsMode tls_mode = TlsMode::SystemCa;
    std::vector<unsigned char> pin;  // 32 bytes in Pin mode
    std::string presented;           // thumbprint of the leaf the server presented
    std::string verify_error;        // why the chain or the host name was refused
    bool pin_mismatch = false;

    // The current call.
    base::Deadline call_end{};
    std::chrono::milliseconds call_budget{};  // what it was allowed, for the error message
    bool call_timed_out = false;

    // gSOAP's own callbacks, called from ours.
    SOAP_SOCKET (*orig_fopen)(struct soap*, const char*, const char*, int) = nullptr;
    int (*orig_fsend)(struct soap*, const char*, size_t) = nullptr;
    size_t (*orig_frecv)(struct soap*, char*, size_t) = nullptr;
    int (*orig_fposthdr)(struct soap*, const char*, const char*) = nullptr;
    int (*orig_fparsehdr)(struct soap*, const char*, const char*) = nullptr;

    Impl(const config::VSphere& s, base::Deadline d) : settings(s), deadline(d) {}
    ~Impl();

    std::optional<VimError> create_context();
    // Arms the per-call bound for `s`: `budget`, or call_timeout when zero, and never past the
    // deadline; an error when the deadline already passed.
    std::optional<VimError> begin(Step s, std::chrono::milliseconds budget = {});
    // Classifies a failed call (soap->error) into a VimError.
    VimError failure(Step s);
    // Frees what the last call deserialized (results must be copied before).
    void release();

    std::string where() const;  // "vCenter HOST"
    VimError error(ErrorKind kind, Step s, std::string message, std::string fault = {}) const;
};

// Calls a soap_call___vim25__* function inside begin()/failure(); `budget` as for begin().
template <class Fn>
std::optional<VimError> invoke(VimSession::Impl& im, Step step, Fn&& fn, std::chrono::milliseconds budget = {}) {
    if (auto e = im.begin(step, budget)) return e;
    int rc = fn(im.soap, im.endpoint.c_str());
    im.last_used = base::Clock::now();
    if (rc != SOAP_OK) return im.failure(step);
    return std::nullopt;
}

// Whether `until` is (nearly) reached: gSOAP measures its timeouts itself, so a wait it ended
// counts as ours when it ended this close to the bound.
bool near_or_past(base::Deadline until);

// tls.cc: the SHA-256 thumbprint of a certificate, and the chain check installed with
// SSL_CTX_set_cert_verify_callback (arg = the Impl).
std::string thumbprint_of(X509* cert);
int verify_certificate(X509_STORE_CTX* store, void* arg);

// vim_calls.cc: reading properties, for vim_task_wait.cc.
// A property value copied out of the DOM.
struct PropValue {
    std::string text;        // simple content ("poweredOff", "success", a UUID)
    std::string fault_type;  // for a LocalizedMethodFault: its fault's xsi:type
    std::string message;     // for a LocalizedMethodFault: localizedMessage
};
PropValue copy_value(const soap_dom_element* val);
// Reads properties of one object; a property missing for lack of permission is an error.
struct ObjectProps {
    Moref obj;
    std::map<std::string, PropValue> props;
    std::map<std::string, std::string> missing;  // path -> fault type
};
Result<ObjectProps> retrieve_one(VimSession::Impl& im, Step step, const Moref& obj,
                                 std::vector<std::string> paths, std::chrono::milliseconds budget = {});

// DOM helpers for property values and fault details.
const char* xsi_type(const soap_dom_element* elt);  // local part, without prefix; "" if none
const soap_dom_element* child(const soap_dom_element* elt, const char* local_name);
std::string text_of(const soap_dom_element* elt);

vim25__ManagedObjectReference to_soap(const Moref& m);
Moref from_soap(const vim25__ManagedObjectReference& m);

}  // namespace veeamha::fencing::vsphere
