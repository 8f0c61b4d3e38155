// A consumer-group member: pub-sub (log mode) or work queue (queue mode).
//
// Log mode: every group gets every event; inside a group each partition is
// owned by one live member at a time. Members are processes registered in the
// group's records (group_store.hpp) with a heartbeat; the assignment is a pure
// function of the sorted live members (assign.hpp) and a generation number that
// grows with every join, leave and death. A member hands a partition over by
// committing its position and deleting its claim in one transaction, and takes
// one only when no live member claims it, so a clean rebalance neither loses
// nor repeats an event. A member that dies (kill -9) is noticed at once on this
// host (its pid is gone) or when its heartbeat is older than the session
// timeout; its partitions continue from their last commit (at least once).
// Commits of a partition the member no longer claims are refused.
//
// Queue mode: members share every partition; each event is leased to one
// member for the visibility timeout; an event not acked in time is delivered
// again with a higher delivery count; past max_deliveries it is appended to the
// dead-letter topic with the reason and counted. The committed offset of a
// partition is the first event not yet done.
//
// Committing: with auto_commit, positions (log) or acks (queue) are written
// after the handler's output was flushed (hooks.flush); a failed flush (a
// broken pipe) commits nothing more. In log mode a streaming member commits
// at most every 50 ms (and whenever it catches up, hands over or leaves), so
// a crash repeats at most that much. Without it, evt-commit does it
// (commit.hpp).
//
// Errors: usage (a group of another mode or topic), not_found (topic), io,
// busy, and whatever the handler or hooks return.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/group/group_store.hpp"
#include "core/log/appender.hpp"
#include "core/log/log.hpp"
#include "core/log/reader.hpp"

namespace evt::group {

struct ConsumerOptions {
    std::string group;
    std::string topic;
    Mode mode = Mode::log;
    Strategy strategy = Strategy::range;
    Micros session_timeout = 10'000'000;
    bool follow = false;
    std::uint64_t count = 0;   // 0: no limit
    bool from_latest = false;  // where a partition with no commit starts
    bool auto_commit = true;
    Micros visibility = 30'000'000;
    std::uint32_t max_deliveries = 5;
    std::string dlq;           // default TOPIC.dlq
    std::size_t batch = 4096;  // events per round
    // A committed offset that retention passed (the events are gone): warn
    // and go on at the log start offset, or fail (ErrorKind::not_found).
    bool fail_on_lost = false;
    // A remote group's assignor by name (Kafka: range, roundrobin,
    // cooperative-sticky); empty: the one strategy names.
    std::string assignor;
};

// Handles one event; delivery is 1 for a first delivery (queue mode counts
// up). Returns true when handled, false when it failed (log mode: retried
// with back-off; queue mode: released for redelivery).
using Handler = std::function<Result<bool>(const log::RecordView& rec, std::uint32_t delivery)>;

struct ConsumerHooks {
    std::function<Status()> flush;           // make delivered output durable downstream
    std::function<bool()> stop;              // true: leave the group and return
    std::function<void(const std::string&)> note;  // membership changes, refused commits
    std::function<void(const std::string&)> warn;  // events lost to retention (else note)
};

// The event as it goes to the dead-letter topic: the original with where it
// came from (evtdlqgroup, evtdlqtopic, evtdlqpartition, evtdlqoffset) and why
// (evtdlqreason); deliveries counts the one that would come next.
std::string dead_letter(const log::RecordView& r, const ConsumerOptions& o, std::uint32_t deliveries);

class Consumer {
public:
    Consumer(log::Log& lg, ConsumerOptions o);
    Status run(const Handler& handler, const ConsumerHooks& hooks);
    const std::string& member_id() const { return me_.id; }

private:
    Status join();
    Status leave();
    Result<bool> maintain(bool force);  // heartbeat, remove the dead; true if membership changed
    Status rebalance();
    Result<std::size_t> deliver_log(const Handler& h);
    Status commit_log();
    Result<std::size_t> deliver_queue(const Handler& h);
    // Queue mode: the offsets of partition p that may be leased now (free, or
    // leased and expired), in order, up to `limit`; `drained` is cleared when
    // the partition still has events that are not done.
    Status scan_queue(store::Txn& txn, GroupStore& gs, std::uint32_t p, Micros now, std::size_t limit, bool& drained,
                      const std::function<Status(std::uint64_t off, const Lease* lease)>& fn);
    bool done() const;
    Status lost(std::uint32_t p, std::uint64_t from, std::uint64_t start) const;
    void note(const std::string& m) const {
        if (hooks_ && hooks_->note) hooks_->note(m);
    }

    log::Log& log_;
    ConsumerOptions o_;
    Member me_;
    log::TopicConfig topic_;
    std::uint64_t generation_ = ~0ull;
    std::map<std::uint32_t, std::uint64_t> owned_;      // partition -> next offset to deliver
    std::map<std::uint32_t, std::uint64_t> committed_;  // partition -> committed offset
    std::vector<std::uint32_t> pending_;                // assigned but still claimed by a live member
    std::map<std::uint32_t, std::uint64_t> stop_at_;    // end offsets at start (without follow)
    std::uint64_t delivered_ = 0;
    static constexpr Micros kCommitInterval = 50'000;  // log mode --commit auto, while streaming
    Micros last_commit_ = 0;
    Micros next_heartbeat_ = 0;
    bool queue_idle_ = false;
    std::uint32_t next_partition_ = 0;           // queue mode: where the next lease scan starts
    std::unique_ptr<log::Appender> dlq_;         // queue mode: the dead-letter topic
    std::unique_ptr<log::Batch> dlq_batch_;
    const ConsumerHooks* hooks_ = nullptr;
};

}  // namespace evt::group
