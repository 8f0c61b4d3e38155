// A saga definition (schemas/saga.schema.json): the event that starts an
// instance and how instances are keyed, then ordered steps, each with a kind
// (compensatable, pivot, retriable), the command it sends (topic, type, data
// template), the reply events meaning success and failure, its compensation
// command, a timeout and a retry policy.
//
// parse_definition() reads the YAML and keeps the line and column of every
// node it takes a value from, so that check (check.hpp) and the naming rules
// (core/lint/saga_names.hpp) can report FILE:LINE:COL. Shape problems (a
// missing key, a value of the wrong kind, a bad duration) are collected as
// Problems with rule "saga/schema" rather than stopping at the first;
// a document that is not YAML at all is ErrorKind::invalid.
//
// Data templates: a string value "$.PATH" is replaced, when a command is
// built, by the value at PATH in the instance's context
// {"id": instance id, "data": the start event's data,
//  "steps": {STEP: the data of its success reply}}; other values are kept.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/util/result.hpp"
#include "core/util/units.hpp"

namespace evt::saga {

struct Where {
    std::uint32_t line = 1, column = 1;  // 1-based
};

struct Named {
    std::string value;
    Where at;
};

struct Command {
    Named topic;
    Named type;
    nlohmann::json data;  // the template (null: no data)
    Where at;
    bool present = false;
};

struct Retry {
    Micros initial = 1'000'000;    // before the second attempt
    double backoff = 2.0;          // each later interval is this many times the one before
    Micros max_interval = 60'000'000;
    std::uint32_t max_attempts = 3;  // 0: unlimited
    Where at;
};

enum class Kind { compensatable, pivot, retriable };
std::string_view kind_name(Kind k);

struct Step {
    Named id;
    Kind kind = Kind::compensatable;
    Where kind_at;
    Command command;
    Named reply_topic;
    Named ok;                 // the success reply type
    std::vector<Named> fail;  // failure reply types
    Command compensation;     // present=false: none
    std::optional<Micros> timeout;  // per attempt
    Where timeout_at;
    Retry retry;
    bool retry_given = false;
    Where at;
};

struct Definition {
    std::string file;  // as given
    Named name;
    std::uint32_t version = 1;
    Named start_topic;
    Named start_type;
    Command start_compensation;  // undoes what the start event did (e.g. cancel the order)
    std::string correlate_by = "subject";  // JSON path into the start event
    std::string correlate_pointer = "/subject";
    Where correlate_at;
    std::string state_topic;  // default saga.NAME
    std::optional<Micros> default_timeout;
    Retry default_retry;
    std::vector<Step> steps;
    Where steps_at;

    // The index of a step by id, or -1.
    int step_index(std::string_view id) const;
    // Every topic the orchestrator reads (start, replies) and writes (commands).
    std::vector<std::string> input_topics() const;
    std::vector<std::string> output_topics() const;
};

struct Problem {
    Where at;
    std::string rule;  // "saga/schema", "saga/compensatable-after-pivot", ...
    std::string message;
};

struct Parsed {
    Definition def;
    std::vector<Problem> problems;  // shape problems (rule saga/schema)
};

// Parse YAML text; `file` names it in messages. ErrorKind::invalid for text
// that is not YAML (with line and column).
Result<Parsed> parse_definition(std::string_view text, std::string file);
// Read and parse a file: not_found when it does not exist, io when it cannot be read.
Result<Parsed> load_definition(const std::string& path);

// Resolve a data template against a context (see the header comment).
nlohmann::json resolve_template(const nlohmann::json& tmpl, const nlohmann::json& context);
// The same with a lookup of "$.PATH" strings, for callers that do not build the context.
nlohmann::json resolve_template(const nlohmann::json& tmpl,
                                const std::function<nlohmann::json(std::string_view path)>& lookup);
// The value at a JSON path "$.a.b" / "a.b" / "/a/b" in doc; null when absent.
nlohmann::json value_at(const nlohmann::json& doc, std::string_view path);
// The interval before attempt `next` (2, 3, ...) under a retry policy.
Micros retry_interval(const Retry& r, std::uint32_t next);

}  // namespace evt::saga
