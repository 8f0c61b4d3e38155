#include "core/outbox/source.hpp"

#include <cctype>

#include <fmt/format.h>

namespace evt::outbox {

namespace {

bool starts_with(const std::string& s, std::string_view p) { return s.rfind(p, 0) == 0; }

std::string base_name(const std::string& table) {
    auto dot = table.find('.');
    return dot == std::string::npos ? table : table.substr(dot + 1);
}

}  // namespace

Result<Location> parse_location(const std::string& url) {
    Location l;
    if (starts_with(url, "postgresql://") || starts_with(url, "postgres://")) {
        l.dialect = Dialect::postgresql;
        l.target = url;
        return l;
    }
    if (starts_with(url, "sqlite://")) {
        l.target = url.substr(9);
    } else if (starts_with(url, "sqlite:")) {
        l.target = url.substr(7);
    } else {
        return make_error(ErrorKind::usage, "--db '{}': expected sqlite:PATH or postgresql://...", redact(url));
    }
    if (l.target.empty()) return make_error(ErrorKind::usage, "--db '{}': the SQLite path is empty", url);
    return l;
}

std::string redact(const std::string& url) {
    // postgresql://user:secret@host -> postgresql://user:***@host
    auto scheme = url.find("://");
    if (scheme == std::string::npos) return url;
    auto at = url.find('@', scheme + 3);
    if (at == std::string::npos) return url;
    auto colon = url.find(':', scheme + 3);
    if (colon == std::string::npos || colon > at) return url;
    return url.substr(0, colon + 1) + "***" + url.substr(at);
}

Status check_identifier(const std::string& name, bool allow_schema) {
    auto part_ok = [](std::string_view p) {
        if (p.empty() || p.size() > 63) return false;
        if (!(std::isalpha(static_cast<unsigned char>(p[0])) || p[0] == '_')) return false;
        for (char c : p)
            if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
        return true;
    };
    auto dot = name.find('.');
    bool ok = dot == std::string::npos ? part_ok(name)
                                       : allow_schema && part_ok(std::string_view(name).substr(0, dot)) &&
                                             part_ok(std::string_view(name).substr(dot + 1));
    if (!ok)
        return make_error(ErrorKind::usage, "bad table or column name '{}' (letters, digits and _{})", name,
                          allow_schema ? ", optionally SCHEMA.NAME" : "");
    return {};
}

std::string notify_channel(const std::string& table) {
    std::string c = "evt_outbox_" + table;
    for (char& ch : c)
        if (ch == '.') ch = '_';
    return c;
}

std::string ddl(Dialect d, const std::string& table) {
    std::string base = base_name(table);
    if (d == Dialect::sqlite)
        return fmt::format(
            "PRAGMA journal_mode = WAL;\n"
            "CREATE TABLE IF NOT EXISTS {0} (\n"
            "  seq           INTEGER PRIMARY KEY AUTOINCREMENT,\n"
            "  id            TEXT NOT NULL UNIQUE DEFAULT (lower(hex(randomblob(16)))),\n"
            "  aggregatetype TEXT NOT NULL,\n"
            "  aggregateid   TEXT NOT NULL,\n"
            "  type          TEXT NOT NULL,\n"
            "  payload       TEXT,\n"
            "  occurred_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),\n"
            "  published_at  TEXT\n"
            ");\n"
            "CREATE INDEX IF NOT EXISTS {1}_unpublished ON {0} (seq) WHERE published_at IS NULL;\n",
            table, base);
    std::string schema_prefix = table.size() > base.size() ? table.substr(0, table.size() - base.size()) : "";
    return fmt::format(
        "CREATE TABLE IF NOT EXISTS {0} (\n"
        "  seq           bigserial PRIMARY KEY,\n"
        "  id            uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),\n"
        "  aggregatetype text NOT NULL,\n"
        "  aggregateid   text NOT NULL,\n"
        "  type          text NOT NULL,\n"
        "  payload       jsonb,\n"
        "  occurred_at   timestamptz NOT NULL DEFAULT now(),\n"
        "  published_at  timestamptz\n"
        ");\n"
        "CREATE INDEX IF NOT EXISTS {1}_unpublished ON {0} (seq) WHERE published_at IS NULL;\n"
        "CREATE OR REPLACE FUNCTION {3}{1}_notify() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        "  PERFORM pg_notify('{2}', '');\n"
        "  RETURN NULL;\n"
        "END $$;\n"
        "CREATE OR REPLACE TRIGGER {1}_notify AFTER INSERT ON {0}\n"
        "  FOR EACH STATEMENT EXECUTE FUNCTION {3}{1}_notify();\n",
        table, base, notify_channel(table), schema_prefix);
}

Result<std::unique_ptr<Source>> open_source(const Location& where, const TableSpec& table, const OpenOptions& o) {
    EVT_TRY(check_identifier(table.table, where.dialect == Dialect::postgresql));
    for (const auto& c : table.extra) EVT_TRY(check_identifier(c, false));
    if (where.dialect == Dialect::sqlite) return open_sqlite(where.target, table, o);
    return open_postgresql(where.target, table, o);
}

}  // namespace evt::outbox
