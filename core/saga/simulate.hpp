// Simulation: one instance of a saga driven through the state machine
// (machine.hpp) with made-up replies, to show the exact sequence of
// commands, replies, state events and compensations the orchestrator would
// produce. Participants answer every command at once with the step's success
// reply, except:
//   --fail STEP     STEP answers with its first failure reply, on every
//                   attempt (a retriable step with unlimited attempts fails
//                   twice, then succeeds);
//   --timeout STEP  STEP never answers; the clock moves to each deadline and
//                   on through the retry intervals.
// The clock starts at 2026-01-01T00:00:00Z so the output is the same every run.
//
// Errors: usage (an unknown step; --fail on a step with no failure reply).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/saga/definition.hpp"

namespace evt::saga {

struct SimOptions {
    std::vector<std::string> fail;
    std::vector<std::string> timeout;
    std::string id = "sim-1";
    nlohmann::json data = nlohmann::json::object();  // the start event's data
};

struct SimEvent {
    Micros offset = 0;  // since the start
    std::string flow;   // start, command, reply, state, compensation
    std::string topic;
    std::string type;
    std::string step;   // "" when none
    nlohmann::json event;
};

constexpr Micros kSimEpoch = 1767225600LL * 1000000;  // 2026-01-01T00:00:00Z

Result<std::vector<SimEvent>> simulate(const Definition& d, const SimOptions& o);

}  // namespace evt::saga
