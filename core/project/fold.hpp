// Folding a log into a read model (evt-project).
//
// fold() reads the spec's topics from the model's stored positions, merged by
// append time (ties by topic, then partition), applies each event's handlers
// to the rows in memory, and writes a batch of rows together with the new
// positions in one LMDB write transaction: a crash at any instant leaves the
// model at the end of some batch, never between. Reading and folding happen
// under a read snapshot; only the short write of a batch holds the writer lock.
//
// A model whose stored spec hash differs from the spec's needs rebuild
// (ErrorKind::usage naming --rebuild). With rebuild, a new generation is
// folded from the beginning beside the active one (an interrupted rebuild of
// the same spec is resumed) and made active in the transaction of its last
// batch; readers see the old model until then.
//
// A snapshot (until set) is the model `NAME@LABEL`, folded up to a bound
// fixed when it is first built: the first offset appended at or after a
// time, or an offset, in each partition.
//
// Errors: usage (spec changed, topic recreated), not_found (topic), invalid
// (a fold error: "orders/0/17: spec.yaml:9:11: ..."; that batch is not
// committed), busy (another evt-project advanced the model meanwhile), io.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "core/log/log.hpp"
#include "core/log/reader.hpp"
#include "core/project/spec.hpp"

namespace evt::project {

struct FoldOptions {
    bool rebuild = false;
    bool follow = false;
    std::optional<log::OffsetSpec> until;  // a snapshot's bound (time or offset)
    std::string until_text;                // as the user wrote it
    std::string snapshot;                  // the snapshot's label
    std::uint64_t batch = 1000000;         // events per transaction, at most
    std::uint64_t max_rows = 200000;       // rows held in memory before a batch is written
    Micros max_batch_time = 5000000;       // a batch is written after this long, too
    std::function<void(std::uint64_t done, std::uint64_t total)> progress;
    std::function<void()> idle;   // before waiting for new events (follow)
    std::function<bool()> stop;   // polled: true ends the fold after the current batch
};

struct FoldReport {
    std::string model;
    std::uint64_t gen = 0;
    std::uint64_t events = 0;   // read in this run
    std::uint64_t applied = 0;  // that changed some row
    std::uint64_t batches = 0;
    bool rebuilt = false;       // a rebuild was completed and made active
    bool resumed = false;       // an interrupted rebuild was resumed
};

Result<FoldReport> fold(log::Log& log, const Spec& spec, const FoldOptions& options);

// The snapshot label for a bound: the text with characters other than
// letters, digits, '_' and '-' replaced by '-'.
std::string default_label(std::string_view bound);

}  // namespace evt::project
