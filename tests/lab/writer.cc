// SPDX-License-Identifier: GPL-2.0-or-later
#include "tests/lab/writer.h"

#include <openssl/sha.h>

#include <algorithm>
#include <map>
#include <sstream>

#include "tests/lab/host_proc.h"
#include "tests/lab/repo_client.h"

namespace veeamha::lab {

using Clock = std::chrono::steady_clock;

namespace {

std::string hex(const unsigned char* p, size_t n) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < n; ++i) {
        out += digits[p[i] >> 4];
        out += digits[p[i] & 15];
    }
    return out;
}

std::string checksum(uint64_t seq, const std::string& payload) {
    std::string text = std::to_string(seq) + ":" + payload;
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
    return hex(digest, 8);  // 64 bits: plenty to tell a torn or wrong record
}

std::string payload_for(uint64_t seq) {
    static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    uint64_t x = seq * 0x9E3779B97F4A7C15ull;
    auto next = [&x] {  // splitmix64
        x += 0x9E3779B97F4A7C15ull;
        uint64_t z = x;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    };
    size_t len = 64 + next() % 192;
    std::string p(len, ' ');
    for (auto& c : p) c = alphabet[next() % 62];
    return p;
}

}  // namespace

std::string make_record(uint64_t seq) {
    std::string payload = payload_for(seq);
    return "REC " + std::to_string(seq) + " " + std::to_string(payload.size()) + " " + checksum(seq, payload) + " " +
           payload + "\n";
}

std::string VerifyResult::summary() const {
    std::ostringstream out;
    out << acked << " acknowledged: " << intact << " intact, " << missing << " missing, " << moved
        << " moved; file: " << records_in_file << " records, " << torn << " torn, " << duplicates
        << " duplicates";
    for (const auto& p : problems) out << "\n  " << p;
    return out.str();
}

VerifyResult verify_records(const std::string& file, const std::vector<Ack>& acked) {
    VerifyResult v;
    auto problem = [&](const std::string& p) {
        if (v.problems.size() < 20) v.problems.push_back(p);
    };
    // Every record in the file. "REC " only ever starts a record (payloads have no spaces), so
    // a record after a torn one (a write cut short, never acknowledged) is still found.
    std::map<uint64_t, int> seen;
    size_t pos = 0;
    while ((pos = file.find("REC ", pos)) != std::string::npos) {
        std::istringstream f(file.substr(pos + 4, 64));
        uint64_t seq = 0;
        size_t len = 0;
        std::string sum;
        bool good = false;
        size_t total = 0;
        if (f >> seq >> len >> sum && len <= 4096) {
            std::string head = "REC " + std::to_string(seq) + " " + std::to_string(len) + " " + sum + " ";
            total = head.size() + len + 1;
            good = file.compare(pos, head.size(), head) == 0 && pos + total <= file.size() &&
                   file[pos + total - 1] == '\n' && checksum(seq, file.substr(pos + head.size(), len)) == sum;
        }
        if (good) {
            ++v.records_in_file;
            if (++seen[seq] == 2) ++v.duplicates;
            pos += total;
        } else {
            ++v.torn;
            problem("damaged unacknowledged record at offset " + std::to_string(pos) + ": " +
                    file.substr(pos, std::min<size_t>(60, file.size() - pos)));
            pos += 4;
        }
    }
    for (const auto& a : acked) {
        ++v.acked;
        std::string expected = make_record(a.seq);
        if (a.offset <= file.size() && file.compare(a.offset, expected.size(), expected) == 0) {
            ++v.intact;
        } else if (file.find(expected) != std::string::npos) {
            ++v.moved;
            problem("record " + std::to_string(a.seq) + " acknowledged at offset " + std::to_string(a.offset) +
                    " is elsewhere in the file");
        } else {
            ++v.missing;
            problem("record " + std::to_string(a.seq) + " acknowledged at offset " + std::to_string(a.offset) +
                    " is missing or damaged");
        }
    }
    return v;
}

RepoWriter::RepoWriter(WriterOptions options) : options_(std::move(options)) {
    thread_ = std::thread([this] { loop(); });
}

RepoWriter::~RepoWriter() { stop(); }

void RepoWriter::stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
}

void RepoWriter::loop() {
    std::string error;
    if (!enter_netns(options_.netns, &error)) {
        std::lock_guard<std::mutex> lock(mu_);
        stats_.last_error = error;
        return;
    }
    RepoConnection conn;
    uint64_t seq = 1;
    Clock::time_point last_ack = Clock::now();
    auto sleep = [this](std::chrono::milliseconds d) {
        auto until = Clock::now() + d;
        while (!stop_ && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    };
    while (!stop_ && (options_.max_records == 0 || seq <= options_.max_records)) {
        if (!conn.connected()) {
            {
                std::lock_guard<std::mutex> lock(mu_);
                ++stats_.connects;
            }
            if (!conn.connect(options_.address, options_.port, Clock::now() + options_.connect_timeout)) {
                std::lock_guard<std::mutex> lock(mu_);
                ++stats_.failures;
                stats_.last_error = conn.error();
                sleep(options_.retry);
                continue;
            }
        }
        {
            std::lock_guard<std::mutex> lock(mu_);
            ++stats_.attempts;
        }
        // The same record until it is acknowledged: an unacknowledged attempt may or may not
        // be in the file (a duplicate then), never counted as written.
        auto offset = conn.append(options_.file, make_record(seq), Clock::now() + options_.io_timeout);
        if (!offset) {
            std::lock_guard<std::mutex> lock(mu_);
            ++stats_.failures;
            stats_.last_error = conn.error();
            conn.close();
            sleep(options_.retry);
            continue;
        }
        auto now = Clock::now();
        {
            std::lock_guard<std::mutex> lock(mu_);
            acked_.push_back({seq, *offset, now});
            ++stats_.acked;
            auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(now - last_ack);
            if (gap > stats_.longest_gap) stats_.longest_gap = gap;
        }
        last_ack = now;
        ++seq;
        sleep(options_.pause);
    }
}

std::vector<Ack> RepoWriter::acked() const {
    std::lock_guard<std::mutex> lock(mu_);
    return acked_;
}

WriterStats RepoWriter::stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
}

bool RepoWriter::wait_acked(uint64_t count, Clock::time_point deadline) const {
    for (;;) {
        {
            std::lock_guard<std::mutex> lock(mu_);
            if (stats_.acked >= count) return true;
        }
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

std::optional<std::string> fetch_through_service(const std::string& netns, const std::string& address, uint16_t port,
                                                 const std::string& file, std::string* error) {
    try {
        return in_netns(netns, [&]() -> std::optional<std::string> {
            RepoConnection conn;
            auto deadline = Clock::now() + std::chrono::seconds(20);
            std::optional<std::string> data;
            if (conn.connect(address, port, deadline)) data = conn.get(file, deadline);
            if (!data && error) *error = conn.error();
            return data;
        });
    } catch (const std::exception& e) {
        if (error) *error = e.what();
        return std::nullopt;
    }
}

}  // namespace veeamha::lab
