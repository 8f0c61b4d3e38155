// The orchestrator: a saga definition driven over the log.
//
// run_saga() consumes the start topic and the reply topics as the consumer
// group `saga.NAME` (offsets in the group records, schemas/STORAGE.md
// section 11), feeds each event to the state machine (machine.hpp), and
// writes in ONE LMDB transaction per round: the instances' state events
// (topic `saga.NAME`, subject = instance id, so each instance is a stream),
// the commands and compensations (appended to their topics) and the consumed
// offsets. A crash at any instant therefore either keeps a round whole or
// loses it whole: after a restart the state is folded again from the state
// topic, reading resumes at the committed offsets, and no command is sent
// twice for one step attempt. Duplicate replies and start events are ignored
// by instance state. Timeouts and retries are due times kept in the state
// events and fire from the clock given (injectable for tests).
//
// One orchestrator per saga at a time: run_saga() registers as the group's
// member and refuses (ErrorKind::busy) while another live process is one.
//
// Errors: usage (bad group name), busy, corrupt (a state event that does not
// fit the definition), io.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/log/log.hpp"
#include "core/saga/machine.hpp"

namespace evt::saga {

struct RunOptions {
    std::string group;         // default saga.NAME
    bool follow = false;       // keep waiting for events and timers until stop()
    bool until_done = false;   // like follow, but return once no instance is running and input is drained
    std::size_t batch = 4096;  // input events per transaction
    std::function<Micros()> clock = [] { return now_micros(); };
    std::function<bool()> stop;                           // polled; true ends the run
    std::function<void(const std::string&)> warn;         // a skipped input event
    // Test hook: called inside each round's write transaction before it commits.
    std::function<void()> before_commit;
};

struct RunStats {
    std::uint64_t read = 0, started = 0, replies = 0, ignored = 0, commands = 0, compensations = 0;
    std::uint64_t completed = 0, compensated = 0, stuck = 0, running = 0, rounds = 0;
};

Status run_saga(log::Log& lg, const Definition& d, const RunOptions& o, RunStats& stats);

// Every instance, folded from the state topic (ordered by id).
Result<std::vector<Instance>> load_instances(log::Log& lg, const Definition& d);

struct HistoryEntry {
    std::uint64_t version = 0;
    Micros time = 0;
    std::string type;
    nlohmann::json data;
};
// One instance's state events; not_found when it has none.
Result<std::vector<HistoryEntry>> instance_history(log::Log& lg, const Definition& d, const std::string& id);

}  // namespace evt::saga
