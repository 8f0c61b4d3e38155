// Read models in the log: their state record and their rows
// (schemas/STORAGE.md section 12).
//
// Database `projections`: key = the model's name (`order_summary`, or
// `order_summary@LABEL` for a snapshot); value = JSON, the ModelState below.
// A model has generations: `active` is the one readers use; `building` (if
// not 0) is a --rebuild in progress, invisible to readers. Each generation's
// rows live in databases `p:<name>:<gen>` (the rows) and
// `p:<name>:<gen>:<aggregate>`, key = the row key's bytes, value = the row as
// a compact JSON object. A generation's positions are written in the same
// transaction as its rows, and a rebuild is made active (and the old
// generation dropped) in one transaction, so a reader that reads the state
// and the rows in one read transaction sees a complete model.
//
// Errors: not_found (no such model or table), corrupt (a bad state record),
// io/busy from the store.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/log/log.hpp"
#include "core/store/env.hpp"
#include "core/util/result.hpp"

namespace evt::project {

struct TopicPos {
    std::string name;
    std::uint32_t id = 0;
    std::vector<std::uint64_t> pos;  // per partition: the next offset to fold
    std::vector<std::uint64_t> end;  // per partition: a snapshot's bound (exclusive); empty: none
};

struct GenState {
    std::uint64_t gen = 0;
    std::string hash;  // the spec's hash when this generation was begun
    std::string file;  // the spec file it was built from
    std::vector<std::string> tables;  // "" (the rows) and the aggregates
    std::vector<TopicPos> topics;
    std::uint64_t events = 0;  // events read (all types)
    std::uint64_t applied = 0; // events that changed a table
    Micros updated = 0;
    std::string bound;  // a snapshot's --until/--to text; empty: follows the log
};

struct ModelState {
    std::string name;
    std::uint64_t active = 0;    // 0: none yet
    std::uint64_t building = 0;  // 0: no rebuild in progress
    std::uint64_t next = 1;      // the next generation number
    std::map<std::uint64_t, GenState> gens;
};

nlohmann::json to_json(const ModelState& s);
Result<ModelState> model_from_json(std::string_view name, std::string_view text);

std::string rows_db(std::string_view model, std::uint64_t gen, std::string_view table);

Result<std::optional<ModelState>> read_state(store::Txn& txn, std::string_view model);
Status write_state(store::WriteTxn& txn, const ModelState& s);
Status delete_state(store::WriteTxn& txn, std::string_view model);
Result<std::vector<ModelState>> list_states(store::Txn& txn);
// Drops a generation's row databases.
Status drop_gen(store::WriteTxn& txn, std::string_view model, const GenState& g);
// Drops a model: all its generations and its state.
Status drop_model(log::Log& log, std::string_view model);

struct Row {
    std::string key;
    std::string json;  // the row as stored: a compact JSON object
};

// "NAME", "NAME@LABEL", "NAME.AGG": the model and the table.
struct TableRef {
    std::string model;
    std::string table;
};
Result<TableRef> parse_table_ref(std::string_view text);

// The rows of a model's active generation, in key order (or the one row at
// `key`: not_found when it is absent). One read transaction.
Result<std::vector<Row>> read_rows(log::Log& log, const TableRef& ref, const std::optional<std::string>& key);

// What `evt-query --list` shows.
struct ModelInfo {
    std::string name;
    std::uint64_t gen = 0;
    bool rebuilding = false;
    std::vector<std::string> tables;
    std::vector<std::string> topics;
    std::uint64_t position = 0;  // events folded (sum of offsets past the start)
    std::uint64_t lag = 0;       // events in the log (or to the snapshot's bound) not yet folded
    std::uint64_t rows = 0;
    std::uint64_t events = 0;
    Micros updated = 0;
    std::string hash;
    std::string bound;
};
Result<std::vector<ModelInfo>> list_models(log::Log& log);

}  // namespace evt::project
