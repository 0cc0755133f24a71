// SPDX-License-Identifier: GPL-2.0-or-later
// The lab's backup job: a client in the client namespace that keeps appending numbered,
// checksummed records to one file through the repo service on the floating IP, reconnecting
// whenever the service moves, and remembers which records the service acknowledged (after
// fsync) and where. The verifier then checks that every acknowledged record is in the file,
// intact, at the offset the service gave: what a failover must never lose.
//
// A record is one line:  REC <seq> <len> <sha256/64 hex> <payload>\n
// The payload is derived from the sequence number, so the verifier can rebuild it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace veeamha::lab {

std::string make_record(uint64_t seq);

struct Ack {
    uint64_t seq = 0;
    uint64_t offset = 0;
    std::chrono::steady_clock::time_point at;
};

struct VerifyResult {
    size_t acked = 0;            // acknowledged records checked
    size_t intact = 0;           // found intact at their acknowledged offset
    size_t missing = 0;          // not found intact anywhere
    size_t moved = 0;            // intact, but not at the acknowledged offset
    size_t records_in_file = 0;  // well-formed records in the file (acknowledged or not)
    // Record starts whose record is damaged: a write cut short by a crash (never
    // acknowledged, so not a loss; an acknowledged record damaged counts as missing).
    size_t torn = 0;
    size_t duplicates = 0;       // a sequence number more than once (a retried, unacknowledged write)
    std::vector<std::string> problems;  // the first few, in words
    bool ok() const { return missing == 0 && moved == 0; }
    std::string summary() const;
};

// Checks `file` (the whole file's bytes) against the acknowledgements.
VerifyResult verify_records(const std::string& file, const std::vector<Ack>& acked);

struct WriterOptions {
    std::string netns;          // the client's network namespace
    std::string address;        // the floating IP
    uint16_t port = 6162;
    std::string file = "records.log";
    std::chrono::milliseconds connect_timeout{300};
    std::chrono::milliseconds io_timeout{2000};
    std::chrono::milliseconds pause{10};   // between acknowledged records
    std::chrono::milliseconds retry{50};   // after a failure
    uint64_t max_records = 0;              // 0 = until stop()
};

struct WriterStats {
    uint64_t acked = 0;
    uint64_t attempts = 0;
    uint64_t failures = 0;
    uint64_t connects = 0;
    std::chrono::milliseconds longest_gap{0};  // between two acknowledgements: the outage seen
    std::string last_error;
};

class RepoWriter {
public:
    explicit RepoWriter(WriterOptions options);  // starts writing at once
    ~RepoWriter();
    RepoWriter(const RepoWriter&) = delete;
    RepoWriter& operator=(const RepoWriter&) = delete;

    void stop();
    std::vector<Ack> acked() const;
    WriterStats stats() const;
    // True once at least `count` records are acknowledged (polls, bounded by the deadline).
    bool wait_acked(uint64_t count, std::chrono::steady_clock::time_point deadline) const;

private:
    void loop();

    WriterOptions options_;
    std::atomic<bool> stop_{false};
    mutable std::mutex mu_;
    std::vector<Ack> acked_;
    WriterStats stats_;
    std::string setup_error_;
    std::thread thread_;
};

// Reads the file back through the service (from the given namespace).
std::optional<std::string> fetch_through_service(const std::string& netns, const std::string& address, uint16_t port,
                                                 const std::string& file, std::string* error);

}  // namespace veeamha::lab
