// Ingest: NDJSON lines in, events appended, with the atomicity of SPEC.md 4.
//
// Two threads share the work: a reader thread reads lines, prepares each
// event (event::Codec) and fills batches; the calling thread commits them in
// order through the Producer (so parsing the next batch overlaps writing and
// syncing the last). A batch is handed over when it is large (kBatchEvents or
// kBatchBytes), when it holds kEagerEvents and the writer has nothing to do
// (so the writer starts early and the last batch is small), when the input
// has nothing more to read right now (so a slow
// producer's events are visible within milliseconds), for every event with
// Sync::each, and at the end of input. At most two batches wait.
//
// Bad lines, by mode:
//   prefix (default)  commit what came before, then fail: "line N: <why>
//                     (M events before it were stored)" — exactly the lines
//                     before it are stored.
//   atomic            the whole input is one batch; a bad line fails with
//                     nothing stored.
//   skip_bad          the bad line goes to on_reject and the rest goes on.
//
// Errors: invalid (a bad line; message starts with its position), conflict
// (expected version), and the Appender's and LineReader's errors.
#pragma once

#include <cstdint>
#include <functional>

#include "core/backend/backend.hpp"
#include "core/cli/lines.hpp"
#include "core/event/codec.hpp"

namespace evt::backend {

enum class BadLines { prefix, atomic, skip_bad };

struct IngestReport {
    std::uint64_t lines = 0;
    std::uint64_t stored = 0;
    std::uint64_t duplicates = 0;
    std::uint64_t rejected = 0;
};

struct IngestHooks {
    // A rejected line under skip_bad: where, why, and the line's text. Runs
    // on the reader thread.
    std::function<Status(const cli::Line&, const std::string& why)> on_reject;
    // Each stored event with its position, after its batch committed (--echo);
    // runs on the calling thread, as does on_commit.
    log::Appender::StoredFn on_stored;
    // After each commit that stored events (flush --echo output here).
    std::function<Status()> on_commit;
};

Result<IngestReport> ingest(cli::LineReader& in, event::Codec& codec, Producer& producer, Sync sync,
                            BadLines mode, const IngestHooks& hooks);

// "line 17" for stdin, "orders.ndjson: line 17" for a named file.
std::string where(const cli::Line& line);

}  // namespace evt::backend
