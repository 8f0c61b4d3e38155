// The outbox relay: unpublished rows -> CloudEvents -> the log, then marked.
//
// Per batch: fetch the first N unpublished rows in seq order, turn each into
// a CloudEvent (to_event), append the batch with the idempotent append in one
// durable LMDB transaction, and only then mark the rows published (or delete
// them). A crash between the append and the mark sends the batch again; the
// append skips the ids it already holds, so each row is in the log exactly
// once (within the idempotency window) — at least once by construction,
// exactly once in effect.
//
// Order: every event's subject and partitionkey is the row's aggregateid, so
// one aggregate's events share a partition and a stream. Each fetch is a
// prefix, in seq order, of the rows unpublished at that moment, so an
// aggregate whose rows are committed one after another (the application
// serialises writes per aggregate, as an aggregate must) reaches the log in
// seq order: a row not yet visible to a fetch cannot precede, in its
// aggregate, a row that is. That holds across crashes and even across two
// relays racing (what one appends first the other skips); the relay lock
// (Source::lock) keeps the others standing by so work is not done twice.
//
// Errors: those of Source and of the log's append; invalid for a row that
// cannot be an event ("row seq=N id=X: ..."), after the rows before it were
// relayed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/backend/backend.hpp"
#include "core/event/codec.hpp"
#include "core/outbox/source.hpp"

namespace evt::outbox {

struct EventOptions {
    std::string source = "/outbox";  // the CloudEvents source of every event
    // (column, attribute) pairs: extra columns as extension attributes
    std::vector<std::pair<std::string, std::string>> map;
};

// Appends the CloudEvent of a row (one JSON object, no newline) to out:
// specversion, id (the row's id), source, type, subject and partitionkey (the
// aggregateid), time (occurred_at), aggregatetype, the mapped columns, and data
// (the payload, JSON) with datacontenttype application/json.
void to_event(std::string& out, const Row& row, const EventOptions& o);

struct RelayOptions {
    std::size_t batch = 1000;
    bool follow = false;
    bool once = false;     // one batch, then stop
    bool remove = false;   // delete relayed rows instead of marking them
    Micros poll_max = 1000000;  // --follow: the longest wait between polls
    EventOptions event;
};

struct RelayStats {
    std::uint64_t rows = 0;        // rows fetched and appended (or found already appended)
    std::uint64_t stored = 0;      // new events in the log
    std::uint64_t duplicates = 0;  // rows whose id was already in the log
    std::uint64_t batches = 0;
};

struct RelayHooks {
    std::function<void()> on_lock_wait;                  // another relay holds the lock
    std::function<void(const Error&, Micros)> on_retry;  // --follow: unavailable, retrying after a pause
    std::function<void()> on_reconnected;
    std::function<bool()> stop;                          // polled between batches
};

class Relay {
public:
    Relay(Source& source, backend::Producer& producer, RelayOptions options);
    Result<RelayStats> run(const RelayHooks& hooks);

private:
    Result<RelayStats> loop(const RelayHooks& hooks);
    Result<std::size_t> step();  // one batch; returns the rows it handled
    Status settle();             // the marks of the last batch are written

    Source& src_;
    backend::Producer& producer_;
    RelayOptions opt_;
    event::Codec codec_;
    std::unique_ptr<log::Batch> batch_;
    std::vector<Row> rows_;
    std::unordered_set<std::int64_t> inflight_;  // seqs finish()ed, not yet settled
    std::string line_;
    RelayStats stats_;
};

}  // namespace evt::outbox
