// SPDX-License-Identifier: GPL-2.0-or-later
// LoadOptions::check_files against real files with real modes in a private temp folder.
#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "config/config.h"
#include "test_files.h"
#include "tests/common/skip.h"

using namespace veeamha;

namespace {

// A throw-away self-signed certificate, PEM.
std::string make_certificate() {
    EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    REQUIRE(key);
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("vcsa.test"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    REQUIRE(X509_sign(cert, key, EVP_sha256()) > 0);
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, cert);
    char* data = nullptr;
    long size = BIO_get_mem_data(bio, &data);
    std::string pem(data, static_cast<size_t>(size));
    BIO_free(bio);
    X509_free(cert);
    EVP_PKEY_free(key);
    return pem;
}

struct Site {
    test::TempDir dir;
    std::string key = dir.file("authkey");
    std::string pass = dir.file("vcenter.pass");
    std::string ca = dir.file("ca.pem");
    std::string ipmi = dir.file("ipmi.pass");
    std::string agent = dir.file("fence_test");
    std::string alert = dir.file("alert");

    Site() {
        test::write_file(key, std::string(32, 'k'), 0600);
        test::write_file(pass, "secret\n", 0600);
        test::write_file(ca, make_certificate(), 0644);
        test::write_file(ipmi, "ipmi-secret", 0400);
        test::write_file(agent, "#!/bin/sh\nexit 0\n", 0755);
        test::write_file(alert, "#!/bin/sh\nexit 0\n", 0755);
    }

    std::string yaml(const std::string& agent_name = "") const {
        return "cluster: {name: c, key_file: " + key + "}\n"
               "nodes:\n"
               "  - {name: a, addresses: [10.0.0.1, 10.1.0.1], vm_uuid: 42356049-6020-2ea0-0bd9-11362ef785e7}\n"
               "  - {name: b, addresses: [10.0.0.2, 10.1.0.2], vm_uuid: 423576b3-f216-b7e7-aba6-9419bcb72a24}\n"
               "fencing:\n"
               "  vsphere: {host: vcsa.test, username: u, password_file: " + pass + ", ca_file: " + ca + "}\n"
               "  levels:\n"
               "    - {agent: " + (agent_name.empty() ? agent : agent_name) +
               ", args: {ip: 10.9.0.1, password_file: " + ipmi + "}}\n"
               "policy: {ping_targets: [10.0.0.254]}\n"
               "resources: [{service: {unit: x}}]\n"
               "alerts: [{exec: " + alert + "}]\n";
    }

    std::vector<std::string> errors(const std::string& agent_name = "") const {
        auto r = config::load_string(yaml(agent_name), "site.yaml", {true});
        std::vector<std::string> out;
        for (const auto& e : r.errors) out.push_back(e.key_path + ": " + e.message);
        return out;
    }
};

using Lines = std::vector<std::string>;

}  // namespace

TEST_CASE("private files with the right modes pass") {
    Site site;
    CHECK(site.errors() == Lines{});
}

TEST_CASE("a missing key says how to make one") {
    Site site;
    std::filesystem::remove(site.key);
    CHECK(site.errors() ==
          Lines{"cluster.key_file: expected the cluster key at " + site.key +
                ", found no such file; create it with: veeam-hactl keygen (then copy it to the peer)"});
}

TEST_CASE("a key readable by others is refused with the chmod to run") {
    Site site;
    chmod(site.key.c_str(), 0644);
    CHECK(site.errors() == Lines{"cluster.key_file: expected mode 0600 (no access for group and "
                                 "others), found 0644; run: chmod 600 " + site.key});
    chmod(site.key.c_str(), 0610);  // group execute only: still refused
    CHECK(site.errors().size() == 1);
    chmod(site.key.c_str(), 0400);  // stricter than 0600 is fine
    CHECK(site.errors() == Lines{});
}

TEST_CASE("a key of the wrong size or kind is refused") {
    Site site;
    test::write_file(site.key, std::string(31, 'k'), 0600);
    CHECK(site.errors() ==
          Lines{"cluster.key_file: expected 32 bytes in " + site.key +
                ", found 31; make a new key with: veeam-hactl keygen --force (then copy it to the peer)"});
    std::filesystem::remove(site.key);
    std::filesystem::create_directory(site.key);
    CHECK(site.errors() ==
          Lines{"cluster.key_file: expected a regular file at " + site.key + ", found a directory"});
}

TEST_CASE("a key owned by another user is refused") {
    if (geteuid() != 0) VEEAMHA_SKIP_TEST("needs root to give the key to another user");
    Site site;
    REQUIRE(chown(site.key.c_str(), 12345, 12345) == 0);
    CHECK(site.errors() == Lines{"cluster.key_file: expected " + site.key +
                                 " to be owned by root, found uid 12345; run: chown root: " + site.key});
}

TEST_CASE("password files must be private and not empty") {
    Site site;
    chmod(site.pass.c_str(), 0640);
    test::write_file(site.ipmi, "", 0600);
    CHECK(site.errors() ==
          Lines{"fencing.vsphere.password_file: expected mode 0600 (no access for group and "
                "others), found 0640; run: chmod 600 " + site.pass,
                "fencing.levels[0].args.password_file: expected the fence_test password in " +
                    site.ipmi + ", found an empty file"});
    std::filesystem::remove(site.pass);
    CHECK(site.errors().front() ==
          "fencing.vsphere.password_file: expected the vCenter password in " + site.pass +
              ", found no such file; create it with mode 0600: install -m 600 /dev/null " +
              site.pass + ", then write the password into it");
}

TEST_CASE("the CA file must hold a certificate") {
    Site site;
    test::write_file(site.ca, "not a certificate\n", 0644);
    CHECK(site.errors() == Lines{"fencing.vsphere.ca_file: expected a PEM certificate "
                                 "(-----BEGIN CERTIFICATE-----) in " + site.ca + ", found none"});
}

TEST_CASE("fence agents and alert programs must be there and executable") {
    Site site;
    chmod(site.agent.c_str(), 0644);
    std::filesystem::remove(site.alert);
    CHECK(site.errors() ==
          Lines{"fencing.levels[0].agent: expected an executable program at " + site.agent +
                    ", found a file without execute permission; run: chmod +x " + site.agent,
                "alerts[0].exec: expected a program at " + site.alert + ", found no such file"});
    CHECK(site.errors("fence_surely_not_installed_here") ==
          Lines{"fencing.levels[0].agent: expected the fence agent fence_surely_not_installed_here "
                "in PATH or /usr/sbin, found nothing; install it (Debian: apt install fence-agents)",
                "alerts[0].exec: expected a program at " + site.alert + ", found no such file"});
}

TEST_CASE("without check_files nothing on disk is looked at") {
    Site site;
    std::filesystem::remove_all(site.dir.path());
    auto r = config::load_string(site.yaml(), "site.yaml", {false});
    CHECK(r.errors.empty());
}
