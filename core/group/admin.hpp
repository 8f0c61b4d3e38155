// Looking at and changing consumer groups from outside: describe (the
// columns of kafka-consumer-groups --describe plus queue counts), reset of
// committed offsets, delete, and evt-commit's committing of events that a
// pipeline finished.
//
// Errors: not_found (no such group or topic), busy (reset or delete while
// the group has live members), usage (bad reset spec, an event of another
// topic), invalid (a line without positions), io.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/cli/lines.hpp"
#include "core/group/group_store.hpp"
#include "core/log/log.hpp"

namespace evt::group {

struct PartitionRow {
    std::uint32_t partition = 0;
    std::string member;  // owner (log mode) or empty
    std::string host;
    int pid = 0;
    std::optional<std::uint64_t> committed;
    std::uint64_t log_start = 0;  // the first offset present (retention moves it)
    std::uint64_t log_end = 0;
    std::uint64_t lag = 0;
    std::uint64_t lost = 0;  // events retention removed before the group read them
    std::uint64_t in_flight = 0;  // queue mode: leased now
    std::string topic;            // when it differs from the group's topic (a remote group of several topics)
};

struct GroupView {
    GroupState state;
    std::vector<Member> members;  // live ones
    std::vector<PartitionRow> partitions;
    QueueCounts counts;
    bool retention = false;  // the topic removes records (retention or compaction)
    std::string note;        // what a remote backend could not tell (e.g. members, when it cannot describe groups)
};

Result<std::vector<GroupView>> list_groups(log::Log& lg);
Result<GroupView> describe_group(log::Log& lg, std::string_view group);

struct ResetRow {
    std::uint32_t partition;
    std::optional<std::uint64_t> current;
    std::uint64_t target;
};
// spec: earliest | latest | N | @TIME | shift:-N (or shift:+N). Dry run
// unless execute.
Result<std::vector<ResetRow>> reset_group(log::Log& lg, std::string_view group, std::string_view topic,
                                          std::string_view spec, bool execute);
Status delete_group(log::Log& lg, std::string_view group);

// Where a reset spec puts a partition that holds [start, end) and has the
// committed offset current; seek_time finds the first offset at or after a
// time. Errors: usage (a bad spec).
Result<std::uint64_t> reset_target(std::string_view spec, std::uint64_t start, std::uint64_t end,
                                   std::optional<std::uint64_t> current,
                                   const std::function<Result<std::uint64_t>(Micros)>& seek_time);

struct CommitReport {
    std::uint64_t lines = 0, advanced = 0, acked = 0, ignored = 0;
};
// Reads events carrying positions and commits them for the group: in log mode
// only contiguous progress per partition; in queue mode acks.
Result<CommitReport> commit_events(log::Log& lg, std::string_view group, cli::LineReader& in);

// For a remote log's evt-commit: reads every event and hands its position
// (evttopic, evtpartition, evtoffset) to fn, counting rep.lines. Errors:
// invalid "line N: ..." for a line that is not JSON or has no position.
Status read_positions(cli::LineReader& in, CommitReport& rep,
                      const std::function<Status(std::string_view topic, std::uint32_t p, std::uint64_t off)>& fn);

}  // namespace evt::group
