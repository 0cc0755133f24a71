// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target: the frame decoder (header checks, replay state, AES-GCM open) and the
// protobuf parse and field checks behind it, for heartbeats and channel frames.
//
// The key is fixed, so the fuzzer can also reach the code after a valid tag. Input byte 0
// picks the mode:
//   0  raw heartbeat datagrams: the rest is split into frames by 2-byte big-endian lengths,
//      opened in order (replay state carries over between them), alternating links 0/1
//   1  raw channel frames, same split
//   2  sealed heartbeat: byte 1 = seq, byte 2 = mutation count (0..3), then per mutation a
//      2-byte position and an xor byte, then the plaintext. The plaintext is sealed as the
//      peer would (valid tag), mutated, then opened; with no mutation the plaintext reaches
//      the protobuf parser behind a valid tag.
//   3  sealed channel frame, same layout; bit 0 of byte 1 picks control or data.
// Writing the seed corpus: VEEAMHA_WRITE_SEEDS=DIR ./veeamha_frame_decoder_fuzzer
#include <google/protobuf/stubs/logging.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "net/crypto.h"
#include "net/frame.h"
#include "net/peer_codec.h"
#include "proto/version.h"

using namespace veeamha::net;

namespace {

constexpr uint64_t kSenderGen = 100, kSenderInc = 0xA1, kReceiverGen = 200, kReceiverInc = 0xB1;
const char* const kCluster = "vbr-repo";

SecretKey fixed_key() {
    std::array<uint8_t, kKeySize> b{};
    b.fill(0x5A);
    return SecretKey(b);
}

Topology topo(int self) {
    Topology t;
    t.cluster = kCluster;
    t.self = uint8_t(self);
    t.peer = uint8_t(1 - self);
    t.self_name = self == 0 ? "node-a" : "node-b";
    t.peer_name = self == 0 ? "node-b" : "node-a";
    t.self_addresses = {"10.0.0.1", "10.0.1.1"};
    t.peer_addresses = {"10.0.0.2", "10.0.1.2"};
    return t;
}

std::vector<uint8_t> seal_as_peer(FrameKind kind, uint8_t link, uint64_t seq,
                                  const uint8_t* plain, size_t n) {
    static SecretKey key = derive_frame_key(fixed_key(), kCluster, 0, kSenderGen, kSenderInc);
    static FrameAead aead;
    FrameHeader h;
    h.kind = kind;
    h.sender = 0;
    h.link = link;
    h.cluster_id = cluster_id(kCluster);
    h.generation = kSenderGen;
    h.incarnation = kSenderInc;
    h.receiver_incarnation = kReceiverInc;
    h.seq = seq;
    std::vector<uint8_t> out;
    aead.seal(key, h, kCluster, std::span<const uint8_t>(plain, n), out);
    return out;
}

void open_one(PeerCodec& codec, FrameKind kind, std::span<const uint8_t> frame, uint8_t link) {
    if (kind == FrameKind::Heartbeat) {
        HeartbeatIn in;
        codec.open_heartbeat(frame, link, in);
    } else {
        ChannelIn in;
        codec.open_channel(frame, in);
    }
}

void write_seeds(const std::string& dir) {
    auto put = [&](const std::string& name, const std::vector<uint8_t>& bytes) {
        std::ofstream(dir + "/" + name, std::ios::binary)
            .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    };
    auto framed = [](uint8_t mode, const std::vector<std::vector<uint8_t>>& frames) {
        std::vector<uint8_t> v{mode};
        for (auto& f : frames) {
            v.push_back(uint8_t(f.size() >> 8));
            v.push_back(uint8_t(f.size()));
            v.insert(v.end(), f.begin(), f.end());
        }
        return v;
    };
    veeamha::wire::Heartbeat hb;
    hb.set_version_major(veeamha::wire::kProtocolMajor);
    hb.set_cluster(kCluster);
    hb.set_node("node-a");
    hb.set_incarnation(kSenderInc);
    hb.set_link(0);
    hb.set_seq(1);
    hb.set_echo_seq(3);
    hb.mutable_state()->set_epoch(9);
    hb.mutable_state()->set_owner("node-a");
    hb.mutable_state()->add_resources(veeamha::wire::RESOURCE_STARTED);
    std::string hb_plain = hb.SerializeAsString();
    auto hb1 = seal_as_peer(FrameKind::Heartbeat, 0, 1, reinterpret_cast<const uint8_t*>(hb_plain.data()), hb_plain.size());
    hb.set_link(1);
    hb.set_seq(2);
    std::string hb2_plain = hb.SerializeAsString();
    auto hb2 = seal_as_peer(FrameKind::Heartbeat, 1, 2, reinterpret_cast<const uint8_t*>(hb2_plain.data()), hb2_plain.size());
    put("raw-heartbeats", framed(0, {hb1, hb2, hb1}));
    put("raw-garbage", framed(0, {std::vector<uint8_t>(60, 0x41), std::vector<uint8_t>(3, 0)}));

    veeamha::wire::PeerMessage hello;
    auto* h = hello.mutable_hello();
    h->set_version_major(veeamha::wire::kProtocolMajor);
    h->set_cluster(kCluster);
    h->set_node("node-a");
    h->set_incarnation(kSenderInc);
    h->set_data_base(1);
    std::string hello_plain = hello.SerializeAsString();
    auto hello_f = seal_as_peer(FrameKind::ChannelControl, 0, 1, reinterpret_cast<const uint8_t*>(hello_plain.data()), hello_plain.size());
    veeamha::wire::PeerMessage data;
    data.mutable_file_sync()->set_path("/etc/systemd/system/veeamtransport.service");
    data.mutable_file_sync()->set_content("[Unit]\n");
    data.set_ack(1);
    std::string data_plain = data.SerializeAsString();
    auto data_f = seal_as_peer(FrameKind::ChannelData, 0, 1, reinterpret_cast<const uint8_t*>(data_plain.data()), data_plain.size());
    put("raw-channel", framed(1, {hello_f, data_f, data_f}));

    auto sealed = [](uint8_t mode, uint8_t opt, const std::string& plain) {
        std::vector<uint8_t> v{mode, opt, 0};
        v.insert(v.end(), plain.begin(), plain.end());
        return v;
    };
    hb.set_link(0);
    hb.set_seq(1);
    put("sealed-heartbeat", sealed(2, 0, hb.SerializeAsString()));
    put("sealed-hello", sealed(3, 0, hello_plain));
    put("sealed-data", sealed(3, 1, data_plain));
    veeamha::wire::PeerMessage admin;
    admin.mutable_admin_response()->mutable_status()->set_cluster(kCluster);
    admin.mutable_admin_response()->mutable_status()->add_nodes()->add_links()->set_rtt_ms(0.3);
    admin.set_request_id(7);
    put("sealed-admin", sealed(3, 1, admin.SerializeAsString()));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    // Authentic-but-odd protobufs (bad UTF-8) make protobuf log; keep the fuzzer's output clean.
    google::protobuf::SetLogHandler(+[](google::protobuf::LogLevel, const char*, int, const std::string&) {});
    if (const char* dir = std::getenv("VEEAMHA_WRITE_SEEDS")) {
        write_seeds(dir);
        std::exit(0);
    }
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    static const SecretKey key = fixed_key();
    PeerCodec codec(key, topo(1), Identity{kReceiverGen, kReceiverInc});
    codec.begin_data_session(1);
    const uint8_t mode = data[0] & 3;
    const uint8_t* p = data + 1;
    size_t n = size - 1;
    if (mode <= 1) {
        FrameKind kind = mode == 0 ? FrameKind::Heartbeat : FrameKind::ChannelControl;
        uint8_t link = 0;
        while (n >= 2) {
            size_t len = std::min<size_t>(size_t(p[0]) << 8 | p[1], n - 2);
            open_one(codec, kind, std::span<const uint8_t>(p + 2, len), link);
            link ^= 1;
            p += 2 + len;
            n -= 2 + len;
        }
        return 0;
    }
    if (n < 2) return 0;
    uint8_t opt = p[0];
    size_t mutations = std::min<size_t>(p[1] & 3, (n - 2) / 3);
    const uint8_t* muts = p + 2;
    const uint8_t* plain = muts + 3 * mutations;
    size_t plain_n = n - 2 - 3 * mutations;
    FrameKind kind = mode == 2 ? FrameKind::Heartbeat
                               : (opt & 1 ? FrameKind::ChannelData : FrameKind::ChannelControl);
    uint8_t link = mode == 2 ? (opt >> 1) & 1 : 0;
    uint64_t seq = kind == FrameKind::ChannelData ? 1 : 1 + (opt >> 2);
    auto frame = seal_as_peer(kind, link, seq, plain, plain_n);
    for (size_t i = 0; i < mutations; ++i) {
        size_t pos = (size_t(muts[3 * i]) << 8 | muts[3 * i + 1]) % frame.size();
        frame[pos] ^= muts[3 * i + 2];
    }
    open_one(codec, kind, frame, link);
    return 0;
}
