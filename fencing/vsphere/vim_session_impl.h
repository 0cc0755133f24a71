// SPDX-License-Identifier: GPL-2.0-or-later
// Private to vim_session*.cc: the gSOAP context and what the hooks installed on it need.
#pragma once

#include <openssl/ssl.h>

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
    std::string cookie;    // vmware_soap_session="..."
    bool broken = false;   // a transport error happened: the connection is not reused
    bool logged_in = false;

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
    // Arms the per-call bound for `s`; an error when the deadline already passed.
    std::optional<VimError> begin(Step s);
    // Classifies a failed call (soap->error) into a VimError.
    VimError failure(Step s);
    // Frees what the last call deserialized (results must be copied before).
    void release();

    std::string where() const;  // "vCenter HOST"
    VimError error(ErrorKind kind, Step s, std::string message, std::string fault = {}) const;
};

// Calls a soap_call___vim25__* function inside begin()/failure().
template <class Fn>
std::optional<VimError> invoke(VimSession::Impl& im, Step step, Fn&& fn) {
    if (auto e = im.begin(step)) return e;
    if (fn(im.soap, im.endpoint.c_str()) != SOAP_OK) return im.failure(step);
    return std::nullopt;
}

// tls.cc: the SHA-256 thumbprint of a certificate, and the chain check installed with
// SSL_CTX_set_cert_verify_callback (arg = the Impl).
std::string thumbprint_of(X509* cert);
int verify_certificate(X509_STORE_CTX* store, void* arg);

// DOM helpers for property values and fault details.
const char* xsi_type(const soap_dom_element* elt);  // local part, without prefix; "" if none
const soap_dom_element* child(const soap_dom_element* elt, const char* local_name);
std::string text_of(const soap_dom_element* elt);

vim25__ManagedObjectReference to_soap(const Moref& m);
Moref from_soap(const vim25__ManagedObjectReference& m);

}  // namespace veeamha::fencing::vsphere
