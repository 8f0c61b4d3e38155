// The saga state machine, shared by `simulate` and `run` so that what the
// simulation prints is what the orchestrator does.
//
// An instance's state is event-sourced: apply() folds one state event
// (SagaStarted, CommandSent, StepCompleted, StepFailed, CompensationSent,
// SagaCompleted, SagaAborted) into an Instance, and it is the only function
// that changes one. The decisions (start, reply, tick) build the next state
// events and the commands that go with them, apply the events, and hand both
// to the caller, who writes them (run: in one LMDB transaction with the
// consumed offsets).
//
// Semantics:
//   - start: SagaStarted, then the first step's command (attempt 1).
//   - a success reply of the awaited step: StepCompleted, then the next
//     step's command, or SagaCompleted after the last.
//   - a failure reply: final for compensatable and pivot steps; a retriable
//     step is tried again after its retry interval.
//   - a timeout (no reply within the step's timeout): the step is tried
//     again after the retry interval while attempts remain.
//   - a final failure: the compensations of the completed compensatable
//     steps are sent in reverse order, then the start's compensation, then
//     SagaAborted {status: compensated}; a retriable step out of attempts
//     ends with SagaAborted {status: stuck} (nothing can be undone after the
//     pivot).
//   - a reply that the instance does not await (a duplicate, a late reply
//     of a step already decided) changes nothing.
//
// Ids are deterministic: commands `SAGA/ID/STEP/ATTEMPT`, compensations
// `SAGA/ID/STEP/compensation`, state events `SAGA/ID/N` (N: the version in
// the instance's stream). Pure; no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/saga/definition.hpp"

namespace evt::saga {

enum class Phase { awaiting, retry_wait, completed, compensated, stuck };
std::string_view phase_name(Phase p);
inline bool finished(Phase p) { return p == Phase::completed || p == Phase::compensated || p == Phase::stuck; }

struct Instance {
    std::string id;
    std::uint64_t version = 0;  // state events so far
    Phase phase = Phase::awaiting;
    int step = 0;               // the step being worked on (awaiting, retry_wait) or that failed
    std::uint32_t attempt = 0;
    Micros due = 0;             // awaiting: the deadline (0: none); retry_wait: when to send again
    std::vector<int> done;      // completed steps, in order
    nlohmann::json data;        // the start event's data
    nlohmann::json replies = nlohmann::json::object();  // step id -> its success reply's data
    Micros started = 0, updated = 0;
    std::string last;           // the type of the last state event
};

// One event to write: a state event (to the state topic) or a command.
struct Emitted {
    enum class Flow { state, command, compensation } flow;
    std::string topic;
    std::string type;
    std::string subject;
    std::string id;
    std::string json;  // the CloudEvent, one line
    int step = -1;     // -1: the start
};

class Machine {
public:
    explicit Machine(const Definition& d) : d_(d) {}
    const Definition& definition() const { return d_; }

    // Folds one state event; ErrorKind::corrupt for an event that does not fit.
    Status apply(Instance& in, std::string_view type, const nlohmann::json& data, Micros time) const;

    // A new instance for a start event; its id comes from the event (correlate_by).
    Instance start(const std::string& id, const nlohmann::json& start_event, Micros now,
                   std::vector<Emitted>& out) const;
    // A reply on `topic`; false when the instance does not await it.
    bool reply(Instance& in, std::string_view topic, std::string_view type, const nlohmann::json& data, Micros now,
               std::vector<Emitted>& out) const;
    // Timeouts and retries that are due at `now`; false when nothing was due.
    bool tick(Instance& in, Micros now, std::vector<Emitted>& out) const;

    // The instance id of a start event (correlate_by), "" when absent.
    std::string correlation_of_start(const nlohmann::json& event) const;

private:
    void state(Instance& in, std::string_view type, nlohmann::json data, Micros now, std::vector<Emitted>& out) const;
    void send(Instance& in, int step, std::uint32_t attempt, Micros now, std::vector<Emitted>& out) const;
    void fail(Instance& in, bool timeout, std::string_view reply, Micros now, std::vector<Emitted>& out) const;
    void command(Instance& in, const Command& c, Emitted::Flow flow, int step, const std::string& id, Micros now,
                 std::vector<Emitted>& out) const;
    nlohmann::json lookup(const Instance& in, std::string_view path) const;
    std::string envelope(const Emitted& e, Micros now, bool correlate, const nlohmann::json* data) const;

    const Definition& d_;
};

// RFC 3339 UTC with milliseconds.
std::string rfc3339(Micros t);

}  // namespace evt::saga
