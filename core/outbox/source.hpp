// Outbox tables: where the relay reads rows from (SQLite or PostgreSQL).
//
// The table layout, per database, is documented in schemas/outbox.md; ddl()
// returns it. The columns the relay reads are Debezium's outbox-event-router
// columns (id, aggregatetype, aggregateid, type, payload) plus seq (the order
// rows are relayed in), occurred_at and published_at (NULL while unpublished).
//
// A Source is one connection to one table. The relay calls, per batch:
// fetch() the first `limit` unpublished rows in seq order (never "seq above the
// last one seen": on PostgreSQL a lower seq can become visible later, so the
// next fetch simply finds it), then — only after their events are durable in
// the log — finish() them (published_at set, or the rows deleted).
//
// lock() takes the relay lock of the table (PostgreSQL: a session advisory
// lock, released by the server when the connection ends, kill -9 included;
// SQLite: flock(2) on PATH.evt-outbox-TABLE.lock, released by the kernel), so
// one relay works at a time and the others stand by.
//
// Errors: unavailable (PostgreSQL unreachable or the connection lost),
// not_found (no SQLite file, no table: run `evt-outbox init`), busy (SQLite
// locked beyond the busy timeout), invalid (a column of the wrong type),
// usage (a bad URL or table name), io.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/util/result.hpp"
#include "core/util/units.hpp"

namespace evt::outbox {

enum class Dialect { sqlite, postgresql };

struct Row {
    std::int64_t seq = 0;
    std::string id;
    std::string aggregatetype;
    std::string aggregateid;
    std::string type;
    std::string payload;  // JSON text
    bool has_payload = false;
    std::string occurred_at;  // RFC 3339; empty if NULL
    std::vector<std::string> extra;      // the mapped columns, in TableSpec::extra order
    std::vector<bool> extra_null;
};

struct TableSpec {
    std::string table = "outbox";      // NAME or SCHEMA.NAME (PostgreSQL)
    std::vector<std::string> extra;    // more columns to read (--map COLUMN=ATTRIBUTE)
};

struct Location {
    Dialect dialect = Dialect::sqlite;
    std::string target;  // the SQLite path, or the PostgreSQL connection URL
};

// "sqlite:PATH" (also sqlite://PATH), "postgresql://..." or "postgres://...".
Result<Location> parse_location(const std::string& url);
// The URL without a password, for messages.
std::string redact(const std::string& url);
// NAME or SCHEMA.NAME, each [A-Za-z_][A-Za-z0-9_]* (at most 63 bytes).
Status check_identifier(const std::string& name, bool allow_schema);

// The DDL of the outbox table, its partial index of unpublished rows and (on
// PostgreSQL) the NOTIFY trigger; every statement is idempotent (IF NOT EXISTS).
std::string ddl(Dialect d, const std::string& table);
// The LISTEN/NOTIFY channel of a table on PostgreSQL.
std::string notify_channel(const std::string& table);

class Source {
public:
    virtual ~Source() = default;
    virtual Dialect dialect() const = 0;
    // Take the relay lock, waiting while another relay holds it; on_wait runs
    // once, when the first attempt finds it taken.
    virtual Status lock(const std::function<void()>& on_wait) = 0;
    // Appends up to `limit` unpublished rows, in seq order, to out (cleared first).
    virtual Status fetch(std::size_t limit, std::vector<Row>& out) = 0;
    // Marks the rows published (remove=false) or deletes them. PostgreSQL does
    // it on two more connections (half the rows each) and returns at once (the marks of one batch
    // are written while the next is fetched and appended); settle() waits for
    // it. A second finish() settles the first. Marks need no durability of
    // their own (synchronous_commit off): a lost mark only sends the row again.
    virtual Status finish(const std::vector<Row>& rows, bool remove) = 0;
    virtual Status settle() { return {}; }
    // Sleeps until rows may have been added or `timeout` passed (PostgreSQL:
    // NOTIFY from the trigger; SQLite: the database's data_version changed).
    virtual Status wait(Micros timeout) = 0;
    // After an unavailable error: connect again, re-take the lock (waiting),
    // LISTEN again.
    virtual Status reconnect(const std::function<void()>& on_wait) = 0;
    // Runs the DDL of ddl() (evt-outbox init).
    virtual Status apply_ddl() = 0;
};

struct OpenOptions {
    bool create = false;   // SQLite: create the file (init)
    bool listen = false;   // PostgreSQL: LISTEN on the table's channel
};

Result<std::unique_ptr<Source>> open_source(const Location& where, const TableSpec& table, const OpenOptions& o);

// Implementations (sqlite_source.cpp, pg_source.cpp).
Result<std::unique_ptr<Source>> open_sqlite(const std::string& path, const TableSpec& table, const OpenOptions& o);
Result<std::unique_ptr<Source>> open_postgresql(const std::string& url, const TableSpec& table, const OpenOptions& o);

}  // namespace evt::outbox
