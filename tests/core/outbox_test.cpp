#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <nlohmann/json.hpp>

#include "core/backend/backend.hpp"
#include "core/outbox/relay.hpp"
#include "core/outbox/source.hpp"
#include "temp_dir.hpp"

using namespace evt;

namespace {

void sql(const std::string& path, const std::string& text) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    char* err = nullptr;
    int rc = sqlite3_exec(db, text.c_str(), nullptr, nullptr, &err);
    INFO((err ? err : ""));
    sqlite3_free(err);
    sqlite3_close(db);
    REQUIRE(rc == SQLITE_OK);
}

std::int64_t count(const std::string& path, const std::string& query) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, query.c_str(), -1, &s, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(s) == SQLITE_ROW);
    std::int64_t n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}

std::vector<nlohmann::json> events(const std::string& log_dir, const std::string& topic) {
    std::vector<nlohmann::json> out;
    auto b = backend::open(log_dir, backend::Access::read);
    REQUIRE(b.ok());
    log::ReadOptions ro;
    auto st = (*b)->read(topic, ro, [&](const log::RecordView& r) -> Result<bool> {
        out.push_back(nlohmann::json::parse(r.json));
        return true;
    }, {});
    REQUIRE(st.ok());
    return out;
}

// A source whose finish() fails, as if the relay died after the append.
class DiesBeforeMark final : public outbox::Source {
public:
    explicit DiesBeforeMark(outbox::Source& inner) : in_(inner) {}
    outbox::Dialect dialect() const override { return in_.dialect(); }
    Status lock(const std::function<void()>& w) override { return in_.lock(w); }
    Status fetch(std::size_t limit, std::vector<outbox::Row>& out) override { return in_.fetch(limit, out); }
    Status finish(const std::vector<outbox::Row>&, bool) override {
        return make_error(ErrorKind::io, "killed between the append and the mark");
    }
    Status wait(Micros t) override { return in_.wait(t); }
    Status reconnect(const std::function<void()>& w) override { return in_.reconnect(w); }
    Status apply_ddl() override { return in_.apply_ddl(); }

private:
    outbox::Source& in_;
};

struct Fixture {
    TempDir dir;
    std::string db = dir.str("app.db");
    std::string log_dir = dir.str("log");
    std::unique_ptr<outbox::Source> src;
    std::unique_ptr<backend::Backend> lg;
    std::unique_ptr<backend::Producer> producer;

    Fixture() {
        outbox::OpenOptions oo;
        oo.create = true;
        auto s = outbox::open_sqlite(db, {}, oo);
        REQUIRE(s.ok());
        src = std::move(*s);
        REQUIRE(src->apply_ddl().ok());
        auto b = backend::open(log_dir, backend::Access::write);
        REQUIRE(b.ok());
        lg = std::move(*b);
        log::AppendOptions ao;
        ao.idempotent = true;
        ao.create = log::TopicOptions{};
        ao.create->partitions = 3;
        auto p = lg->producer("orders", ao, backend::Sync::batch);
        REQUIRE(p.ok());
        producer = std::move(*p);
    }
    void insert(const std::string& agg, const std::string& type, const std::string& payload) {
        sql(db, "INSERT INTO outbox (aggregatetype, aggregateid, type, payload) VALUES ('order', '" + agg + "', '" +
                    type + "', " + payload + ")");
    }
    Result<outbox::RelayStats> relay(outbox::Source& s, outbox::RelayOptions o = {}) {
        outbox::Relay r(s, *producer, o);
        return r.run({});
    }
};

}  // namespace

TEST_CASE("outbox: --db locations, redacted URLs, identifiers") {
    auto s = outbox::parse_location("sqlite:/tmp/a.db");
    REQUIRE(s.ok());
    CHECK(s->dialect == outbox::Dialect::sqlite);
    CHECK(s->target == "/tmp/a.db");
    CHECK(outbox::parse_location("sqlite:///tmp/a.db")->target == "/tmp/a.db");
    auto p = outbox::parse_location("postgresql://u@h:5432/db");
    REQUIRE(p.ok());
    CHECK(p->dialect == outbox::Dialect::postgresql);
    CHECK(outbox::parse_location("mysql://x").error().kind == ErrorKind::usage);
    CHECK(outbox::parse_location("sqlite:").error().kind == ErrorKind::usage);
    CHECK(outbox::redact("postgresql://u:secret@h/db") == "postgresql://u:***@h/db");
    CHECK(outbox::redact("postgresql://u@h:5432/db") == "postgresql://u@h:5432/db");
    CHECK(outbox::check_identifier("outbox", false).ok());
    CHECK(outbox::check_identifier("app.outbox", true).ok());
    CHECK_FALSE(outbox::check_identifier("app.outbox", false).ok());
    CHECK_FALSE(outbox::check_identifier("outbox; DROP TABLE x", true).ok());
    CHECK_FALSE(outbox::check_identifier("1x", true).ok());
    CHECK(outbox::notify_channel("app.outbox") == "evt_outbox_app_outbox");
    CHECK(outbox::ddl(outbox::Dialect::postgresql, "outbox").find("WHERE published_at IS NULL") != std::string::npos);
    CHECK(outbox::ddl(outbox::Dialect::postgresql, "outbox").find("pg_notify('evt_outbox_outbox'") !=
          std::string::npos);
    CHECK(outbox::ddl(outbox::Dialect::sqlite, "outbox").find("AUTOINCREMENT") != std::string::npos);
}

TEST_CASE("outbox: a row becomes a CloudEvent keyed and streamed by its aggregate") {
    outbox::Row r;
    r.seq = 7;
    r.id = "0f3c\"x";
    r.aggregatetype = "order";
    r.aggregateid = "o-1";
    r.type = "OrderPlaced";
    r.payload = R"({"total": 5})";
    r.has_payload = true;
    r.occurred_at = "2026-11-27T10:00:00.123Z";
    r.extra = {"trace-1"};
    r.extra_null = {false};
    outbox::EventOptions o;
    o.map = {{"traceparent", "traceparent"}};
    std::string out;
    outbox::to_event(out, r, o);
    auto j = nlohmann::json::parse(out);
    CHECK(j["specversion"] == "1.0");
    CHECK(j["id"] == "0f3c\"x");
    CHECK(j["source"] == "/outbox");
    CHECK(j["type"] == "OrderPlaced");
    CHECK(j["subject"] == "o-1");
    CHECK(j["partitionkey"] == "o-1");
    CHECK(j["time"] == "2026-11-27T10:00:00.123Z");
    CHECK(j["aggregatetype"] == "order");
    CHECK(j["traceparent"] == "trace-1");
    CHECK(j["datacontenttype"] == "application/json");
    CHECK(j["data"]["total"] == 5);
    r.has_payload = false;
    r.extra_null = {true};
    out.clear();
    outbox::to_event(out, r, o);
    j = nlohmann::json::parse(out);
    CHECK_FALSE(j.contains("data"));
    CHECK_FALSE(j.contains("traceparent"));
}

TEST_CASE("outbox: SQLite rows are relayed in seq order, then marked published") {
    Fixture f;
    f.insert("o-1", "OrderPlaced", "'{\"n\":1}'");
    f.insert("o-2", "OrderPlaced", "NULL");
    f.insert("o-1", "OrderPaid", "'{\"n\":2}'");
    outbox::RelayOptions o;
    o.batch = 2;
    auto st = f.relay(*f.src, o);
    REQUIRE(st.ok());
    CHECK(st->rows == 3);
    CHECK(st->stored == 3);
    CHECK(st->batches == 2);
    CHECK(count(f.db, "SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0);
    auto ev = events(f.log_dir, "orders");
    REQUIRE(ev.size() == 3);
    std::vector<std::string> o1;
    for (const auto& e : ev)
        if (e["subject"] == "o-1") o1.push_back(e["type"]);
    CHECK(o1 == std::vector<std::string>{"OrderPlaced", "OrderPaid"});
    // nothing new: a second run relays nothing
    auto again = f.relay(*f.src);
    REQUIRE(again.ok());
    CHECK(again->rows == 0);
}

TEST_CASE("outbox: a relay that dies after the append and before the mark duplicates nothing") {
    Fixture f;
    for (int i = 1; i <= 5; ++i) f.insert("o-" + std::to_string(i % 2), "Step", "'{\"i\":" + std::to_string(i) + "}'");
    DiesBeforeMark dying(*f.src);
    auto st = f.relay(dying);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().kind == ErrorKind::io);
    CHECK(events(f.log_dir, "orders").size() == 5);  // appended, durable
    CHECK(count(f.db, "SELECT count(*) FROM outbox WHERE published_at IS NULL") == 5);  // not marked
    f.insert("o-1", "Step", "'{\"i\":6}'");
    auto st2 = f.relay(*f.src);
    REQUIRE(st2.ok());
    CHECK(st2->rows == 6);
    CHECK(st2->duplicates == 5);
    CHECK(st2->stored == 1);
    CHECK(events(f.log_dir, "orders").size() == 6);
    CHECK(count(f.db, "SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0);
}

TEST_CASE("outbox: --delete removes relayed rows; a bad payload stops after the rows before it") {
    Fixture f;
    f.insert("o-1", "A", "'{}'");
    f.insert("o-1", "B", "'{not json'");
    f.insert("o-1", "C", "'{}'");
    outbox::RelayOptions o;
    o.remove = true;
    auto st = f.relay(*f.src, o);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().kind == ErrorKind::invalid);
    CHECK(st.error().message.find("row seq=2") != std::string::npos);
    CHECK(count(f.db, "SELECT count(*) FROM outbox") == 2);  // A deleted, B and C kept
    auto ev = events(f.log_dir, "orders");
    REQUIRE(ev.size() == 1);
    CHECK(ev[0]["type"] == "A");
}

TEST_CASE("outbox: a missing table is not_found; a missing database file too") {
    TempDir dir;
    outbox::OpenOptions oo;
    auto none = outbox::open_sqlite(dir.str("none.db"), {}, oo);
    REQUIRE_FALSE(none.ok());
    CHECK(none.error().kind == ErrorKind::not_found);
    sql(dir.str("empty.db"), "CREATE TABLE other (x INTEGER)");
    auto s = outbox::open_sqlite(dir.str("empty.db"), {}, oo);
    REQUIRE(s.ok());
    std::vector<outbox::Row> rows;
    auto st = (*s)->fetch(10, rows);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().kind == ErrorKind::not_found);
    CHECK(st.error().message.find("evt-outbox init") != std::string::npos);
}

TEST_CASE("outbox: PostgreSQL unreachable is ErrorKind::unavailable") {
    auto s = outbox::open_postgresql("postgresql://nobody@127.0.0.1:1/none", {}, {});
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind == ErrorKind::unavailable);
    CHECK(s.error().message.find("unreachable") != std::string::npos);
}
