// evt-dedup's engine: drop events whose key was already seen.
//
// Three ways to remember keys:
//   memory     a SeenSet in this process (lost when it exits);
//   store      the persistent store `d:NAME` in the log; a batch's keys are
//              looked up (read transaction), its lines written and flushed,
//              and only then its keys recorded: a crash in between re-emits
//              those lines on the next run (at least once; an idempotent
//              downstream such as `evt-append --idempotent` absorbs them).
//              The writer lock is never held while writing output, so the
//              downstream may append to the same log;
//   to_topic   the store, and the unique events appended to a topic in the
//              SAME transaction as their keys: a crash at any instant leaves
//              both or neither, so the topic gets each event exactly once.
//
// Lines are read with cli::LineReader; store modes batch them (committing
// when the input would block, so a live pipeline is not held up). A line
// that is not a JSON object fails the run (ErrorKind::invalid, "line N: ...")
// after everything before it was handled; a missing key is passed, dropped
// or fails, as chosen. The clock is injectable (for window tests).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/cli/lines.hpp"
#include "core/cli/output.hpp"
#include "core/log/log.hpp"
#include "core/util/units.hpp"

namespace evt::dedup {

enum class OnMissing { pass, drop, fail };

struct Options {
    std::vector<std::string> paths;  // default: id
    Micros window = 0;               // 0: keys never expire
    bool only_dups = false;
    OnMissing on_missing = OnMissing::fail;
    std::string store;     // empty: in memory
    std::string to_topic;  // with store: append the unique events here
    std::function<Micros()> clock = now_micros;
};

struct Stats {
    std::uint64_t lines = 0, unique = 0, duplicates = 0, missing = 0, emitted = 0;
};

// `log` may be null for the in-memory mode. warn() receives notes about
// missing keys (with their line numbers). `stats` tells what was done, also
// when the run stops at bad input.
Status run(const Options& o, cli::LineReader& in, cli::Output& out, log::Log* log,
           const std::function<void(const std::string&)>& warn, Stats& stats);

}  // namespace evt::dedup
