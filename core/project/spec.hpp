// Projection specs: the YAML that says how a topic folds into a read model
// (schemas/projection.schema.json, SPEC.md section 8).
//
//     name: order_summary
//     source: {topic: orders, types: ["Order*"]}
//     key: subject
//     on:
//       OrderPlaced:
//         - set: {status: placed, customer: $data.customer_id}
//         - inc: {total_cents: $data.amount_cents}
//       OrderCancelled:
//         - when: {data.reason: fraud}
//           delete: true
//     aggregates:
//       per_day:
//         key: time[:10]
//         on: {OrderPaid: [{inc: {orders: 1, revenue: $data.amount_cents}}]}
//
// A value is a literal, or `$path` for a value of the event. A path is dotted
// names with optional [N] array indexes, ending optionally in [:N] (the first
// N characters of a string): `data.items[0].sku`, `time[:10]`. The position
// of the event is available as evttopic, evtpartition, evtoffset, evttime
// and evtversion (its version in its subject's stream).
//
// Every error names the spec's file, line and column ("spec.yaml:7:9: ...")
// and is ErrorKind::invalid. Pure: no I/O except load_spec reading the file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/util/result.hpp"

namespace evt::project {

// Where something is in the spec file (1-based), for messages.
struct Mark {
    std::string file;
    int line = 0;
    int col = 0;
    std::string str() const { return fmt::format("{}:{}:{}", file, line, col); }
};

struct Path {
    struct Seg {
        std::string name;        // object member (empty when this is an index)
        std::int64_t index = -1; // array index
    };
    enum class Virtual { none, topic, partition, offset, time, version, type };  // type: from the record header
    std::vector<Seg> segs;
    int prefix = -1;             // [:N] on the last value (a string)
    bool row = false;            // row.field: the current row (conditions only)
    Virtual virt = Virtual::none;
    std::string text;
};
// Parses "data.items[0].sku", "time[:10]", "row.status" (allow_row).
Result<Path> parse_path(std::string_view text, bool allow_row);

struct Expr {
    bool is_path = false;
    Path path;
    nlohmann::json literal;
};

enum class OpKind { set, unset, inc, dec, push, add, pull, min, max, del };
std::string_view op_name(OpKind k);

struct Cond {
    enum class Cmp { eq, ne, gt, ge, lt, le, in, exists };
    Path path;
    Cmp cmp = Cmp::eq;
    nlohmann::json value;
    Mark mark;
};

struct Op {
    OpKind kind = OpKind::set;
    std::vector<std::pair<std::string, Expr>> fields;  // set/inc/...: field -> value
    std::vector<std::string> names;                    // unset
    std::vector<Cond> when;
    Mark mark;
};

struct Handler {
    std::string pattern;  // an event type or a shell glob ("*", "Payment*")
    bool glob = false;
    std::vector<Op> ops;
};

struct Table {
    std::string name;  // "" for the model's rows, else the aggregate's name
    Path key;
    Mark key_mark;
    std::vector<Handler> on;
};

struct Spec {
    std::string file;
    std::string name;
    std::vector<std::string> topics;
    std::vector<std::string> types;  // source filter (globs); empty: all
    std::vector<Table> tables;       // [0]: the rows; then the aggregates
    std::uint64_t hash = 0;          // of the canonical form (comments and layout ignored)
    std::string hash_hex() const { return fmt::format("{:016x}", hash); }
};

Status check_model_name(std::string_view name);
Result<Spec> parse_spec(std::string_view text, const std::string& file);
Result<Spec> load_spec(const std::string& file);

}  // namespace evt::project
