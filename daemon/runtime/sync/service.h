// SPDX-License-Identifier: GPL-2.0-or-later
// The `sync:` protocol (README, Configuration reference; proto/veeamha.proto `Sync`), on the
// event loop; reading, hashing and changing folders run off it, one job at a time.
//
// The node that runs the group (the holder) scans its entries when something changed (inotify,
// a periodic full compare, a reconnect) and sends the manifest of each entry that differs from
// what it last sent. The peer compares it with its own files off the loop: it removes what the
// holder does not have, makes folders and fixes owner and mode in place, and answers with the
// files it needs and those it has. The holder sends each needed file in chunks (kChunk, at most
// kWindow unacknowledged), read by jobs off the loop (open, pread, fstat: a slow disk on the
// active node must not hold its heartbeats either); the loop only sends what a job read. The
// peer writes them to a temp file and renames it once size and sha256 match, off the loop too,
// and acknowledges a chunk once it is written. Every file has a state on both nodes (status,
// /metrics): in sync, pending since, failed and why, refused and why. A failure is reported
// once per change, never retried in a loop: the next change or full compare tries again.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "daemon/runtime/sync/entry.h"
#include "daemon/runtime/sync/file_ops.h"
#include "daemon/runtime/sync/scan.h"
#include "proto/veeamha.pb.h"

namespace veeamha::runtime::sync {

inline constexpr size_t kChunk = 256 * 1024;  // well under net/frame.h kMaxChannelFrame
inline constexpr size_t kWindow = 4;           // chunks in flight: 1 MiB, under the channel's queue

enum class FileState { InSync, Pending, Failed, Refused };
const char* to_string(FileState state);

struct FileStatus {
    FileState state = FileState::Pending;
    int64_t since_ms = 0;  // wall clock
    std::string error;     // Failed, Refused
    uint64_t size = 0;
};

// What must be told after files changed here.
enum class Reload { Sshd, Systemd };

class SyncService {
public:
    struct Hooks {
        // Sends to the peer; false if it could not be queued.
        std::function<bool(const wire::Sync&)> send;
        // Runs `job` off the loop, then what it returns on the loop (tests: both at once).
        std::function<void(std::function<std::function<void()>()> job)> off_loop;
        // A warning or error for the log; `kind` ("sync-failed", "sync-overwritten") also for
        // alerts and /metrics, or "" for a log line only. Level: 0 info, 1 warning, 2 error.
        std::function<void(int level, const std::string& kind, const std::string& text)> report;
        std::function<void(Reload)> reload;
        // The folders to watch changed (after each scan).
        std::function<void(const std::vector<std::string>&)> watch;
        std::function<int64_t()> now_ms;  // wall clock
    };

    SyncService(std::vector<SyncEntry> entries, Limits limits, Hooks hooks);
    ~SyncService();

    // The node runs the group (holder) or not, and whether the peer channel is up. A change
    // starts over: the holder sends every manifest again.
    void set_role(bool holder, bool connected);
    // Something in a watched folder changed, or the periodic full compare is due.
    void changed();
    // From the peer; `from_holder`: the peer runs the group (the runtime knows).
    void on_message(const wire::Sync& message, bool from_holder);

    // What comparing one entry with the holder's manifest did and found (off the loop).
    struct Reconciled {
        std::string manifest;  // the holder's manifest this compared with (serialized)
        std::string error;     // the entry could not be compared
        std::vector<std::string> need, have, fixed, removed;  // relative paths
        std::vector<std::pair<std::string, std::string>> failed;
        std::map<std::string, std::string> found;  // need, fixed: what this node had (identity_of, "" none)
    };

    const std::map<std::string, FileStatus>& files() const { return files_; }
    const std::vector<SyncEntry>& entries() const { return entries_; }
    bool holder() const { return holder_; }

private:
    // What off-loop jobs use (one job at a time): the entries, limits and the digest cache.
    struct Shared {
        std::vector<SyncEntry> entries;
        Limits limits;
        HashCache cache;
    };
    struct Transfer {
        uint64_t id = 0;  // a read job's result for a transfer ended meanwhile is dropped
        size_t entry = 0;
        wire::SyncItem item;
    };
    // What a read job did for the file being sent.
    struct Read {
        std::string error;     // it could not be opened
        bool changed = false;  // its size or content went away since the scan
        std::vector<std::pair<uint64_t, std::string>> chunks;  // offset, bytes
    };
    // Peer: the file arriving. Its chunks are written by jobs (run_job: one at a time, in
    // order), so the Receiver is used off the loop only; the loop keeps what it needs here.
    struct Incoming {
        uint64_t id = 0;  // a job's result for an abandoned file is dropped
        size_t entry = 0;
        std::string path;  // absolute
        wire::SyncItem item;
        std::shared_ptr<Receiver> receiver;
        // Set on the loop when the file is given up; a running job stops at the next chunk and
        // never renames.
        std::shared_ptr<std::atomic<bool>> abandoned;
        std::vector<std::pair<uint64_t, std::string>> queued;  // arrived, not yet given to a job
        bool began = false;   // a job has been given the file's start (Receiver::begin)
        bool writing = false; // a job with its chunks is queued or running
    };
    // What a write job did.
    struct Written {
        std::string error;
        uint64_t received = 0;
        size_t chunks = 0;  // the job's chunks, written or not
        bool in_place = false;
    };

    // service.cc: both roles
    void run_job(std::function<std::function<void()>()> job);
    void job_done();
    void set_state(const std::string& path, FileState state, const std::string& error = "", uint64_t size = 0);
    void fail(const std::string& path, const std::string& error, uint64_t size = 0);
    std::optional<size_t> entry_named(const std::string& name) const;
    void schedule_reloads(const std::set<Reload>& reloads);
    // service_holder.cc
    void scan_and_send();
    void on_scanned(Scan scan);
    void on_request(size_t entry, const wire::SyncRequest& request);
    void on_ack(size_t entry, const wire::SyncAck& ack);
    void pump();
    void on_read(uint64_t id, Read r);
    static Read read_chunks(const SyncEntry& e, const wire::SyncItem& item,
                            const std::vector<std::pair<uint64_t, size_t>>& wanted, Fd& file);
    void end_transfer();
    // service_peer.cc
    void on_manifest(size_t entry, const wire::SyncManifest& manifest);
    void reconcile(size_t entry);
    void on_reconciled(size_t entry, const Reconciled& r);
    // service_receive.cc
    void on_chunk(size_t entry, const wire::SyncChunk& chunk);
    void write_queued();
    void on_written(uint64_t id, const Written& w);
    void receive_failed(size_t entry, const std::string& path, const wire::SyncItem& item, const std::string& error);
    void drop_incoming();
    void send_ack(size_t entry, const std::string& rel, uint64_t received, bool done, const std::string& error);

    std::vector<SyncEntry> entries_;
    Limits limits_;
    Hooks hooks_;
    std::shared_ptr<Shared> shared_;
    bool holder_ = false;
    bool connected_ = false;
    bool job_running_ = false;
    // Waiting behind the running job. Bounded without a limit of its own, also behind a job stuck on a
    // hung disk: one scan (scan_queued_), one reconcile per entry, one read and one close (read_running_),
    // and on the peer per held chunk (kMaxHeldChunks) at most a write and a removal.
    std::deque<std::function<std::function<void()>()>> jobs_;
    bool scan_queued_ = false;
    std::map<std::string, FileStatus> files_;  // absolute path (or an entry's name) -> state

    // Holder: the last scan, what was sent, what the peer confirmed, files to send.
    std::vector<wire::SyncManifest> scanned_;
    std::map<std::string, std::string> sent_;        // entry name -> serialized manifest
    std::set<std::string> unanswered_;               // entries whose manifest the peer has not answered
    std::map<std::string, std::string> peer_has_;    // absolute path -> item serialized
    std::deque<Transfer> transfers_;
    uint64_t transfer_ids_ = 0;
    // The file of transfers_.front() once a read job was given it. Opened, read and closed by
    // jobs only (a close on the loop could wait for a disk too); the loop only passes it on.
    std::shared_ptr<Fd> source_;
    bool read_running_ = false;  // one read job at a time, also one of a transfer ended meanwhile
    uint64_t next_offset_ = 0, acked_ = 0;           // of the front transfer: read and sent, acknowledged
    bool chunk_sent_ = false;                        // the first (maybe empty) chunk is out

    // Peer: the holder's manifests, what was asked for, the file arriving.
    std::map<size_t, wire::SyncManifest> holder_manifests_;
    std::set<size_t> reconcile_queued_;
    std::map<std::string, std::string> requested_;   // absolute path -> item serialized
    // Absolute path -> identity of the holder's copy this node last had in place: a copy that
    // differs from it was changed here (reported), one that still matches is only outdated.
    std::map<std::string, std::string> had_;
    std::unique_ptr<Incoming> incoming_;
    uint64_t incoming_ids_ = 0;
    size_t held_chunks_ = 0;  // queued, or in a write job not done yet (also of a file given up)
};

// Owner, group, mode, size and sha256: what makes two copies the same.
std::string identity_of(const wire::SyncItem& item);

}  // namespace veeamha::runtime::sync
