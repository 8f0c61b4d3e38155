// The PostgreSQL outbox through libpq: prepared statements, a session
// advisory lock as the relay lock, LISTEN on the table's NOTIFY channel.
#include <libpq-fe.h>
#include <poll.h>

#include <array>
#include <thread>

#include "core/outbox/source.hpp"

namespace evt::outbox {

namespace {

struct ResultDeleter {
    void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

std::string first_line(const char* msg) {
    std::string m = msg ? msg : "";
    while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
    auto nl = m.find('\n');
    return nl == std::string::npos ? m : m.substr(0, nl);
}

class PgSource final : public Source {
public:
    PgSource(std::string url, TableSpec table, OpenOptions o)
        : url_(std::move(url)), table_(std::move(table)), opt_(o) {}
    ~PgSource() override {
        PQfinish(conn_);
        for (PGconn* m : marks_) PQfinish(m);
    }

    Dialect dialect() const override { return Dialect::postgresql; }

    Status connect() {
        PQfinish(conn_);
        for (PGconn*& m : marks_) {
            PQfinish(m);
            m = nullptr;
        }
        conn_ = nullptr;
        prepared_ = false;
        pending_ = {};
        EVT_TRY(open_conn(conn_));
        EVT_TRY(exec(conn_, "SET client_min_messages = warning"));
        if (opt_.listen) EVT_TRY(exec(conn_, "LISTEN " + notify_channel(table_.table)));
        return {};
    }

    Status open_conn(PGconn*& c) {
        const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
        const char* vals[] = {"5", "evt-outbox", url_.c_str(), nullptr};
        c = PQconnectdbParams(keys, vals, 1);
        if (!c || PQstatus(c) != CONNECTION_OK)
            return make_error(ErrorKind::unavailable, "PostgreSQL at {} is unreachable: {}", redact(url_),
                              first_line(c ? PQerrorMessage(c) : "out of memory"));
        return {};
    }

    Status lock(const std::function<void()>& on_wait) override {
        std::string key = "evt-outbox:" + table_.table;
        const char* params[] = {key.c_str()};
        bool told = false;
        for (;;) {
            PgResult r(PQexecParams(conn_, "SELECT pg_try_advisory_lock(hashtext($1))", 1, nullptr, params, nullptr,
                                    nullptr, 0));
            EVT_TRY(check(conn_, r.get(), PGRES_TUPLES_OK, "taking the relay lock"));
            if (PQgetvalue(r.get(), 0, 0)[0] == 't') return {};
            if (!told && on_wait) on_wait();
            told = true;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }

    Status fetch(std::size_t limit, std::vector<Row>& out) override {
        out.clear();
        EVT_TRY(prepare());
        std::string lim = std::to_string(limit);
        const char* params[] = {lim.c_str()};
        PgResult r(PQexecPrepared(conn_, "evt_fetch", 1, params, nullptr, nullptr, 0));
        EVT_TRY(check(conn_, r.get(), PGRES_TUPLES_OK, "reading the outbox"));
        int n = PQntuples(r.get());
        out.reserve(static_cast<std::size_t>(n));
        PGresult* res = r.get();
        auto text = [res](int row, int col) {
            return std::string(PQgetvalue(res, row, col), static_cast<std::size_t>(PQgetlength(res, row, col)));
        };
        for (int i = 0; i < n; ++i) {
            Row& row = out.emplace_back();
            row.seq = std::strtoll(PQgetvalue(res, i, 0), nullptr, 10);
            row.id = text(i, 1);
            row.aggregatetype = text(i, 2);
            row.aggregateid = text(i, 3);
            row.type = text(i, 4);
            row.has_payload = !PQgetisnull(res, i, 5);
            row.payload = text(i, 5);
            row.occurred_at = text(i, 6);
            for (std::size_t c = 0; c < table_.extra.size(); ++c) {
                int col = static_cast<int>(7 + c);
                row.extra_null.push_back(PQgetisnull(res, i, col));
                row.extra.push_back(text(i, col));
            }
        }
        return {};
    }

    Status finish(const std::vector<Row>& rows, bool remove) override {
        EVT_TRY(settle());
        if (rows.empty()) return {};
        EVT_TRY(prepare());
        // The rows are split between the mark connections, which the server
        // runs in parallel; each part is independent (a part lost in a crash
        // only comes again).
        remove_ = remove;
        std::size_t parts = rows.size() < 1000 ? 1 : marks_.size();
        for (std::size_t p = 0; p < parts; ++p) {
            std::size_t lo = rows.size() * p / parts, hi = rows.size() * (p + 1) / parts;
            std::string arr = "{";
            arr.reserve((hi - lo) * 8);
            for (std::size_t i = lo; i < hi; ++i) {
                if (i > lo) arr += ',';
                arr += std::to_string(rows[i].seq);
            }
            arr += '}';
            const char* params[] = {arr.c_str()};
            if (!PQsendQueryPrepared(marks_[p], remove ? "evt_delete" : "evt_mark", 1, params, nullptr, nullptr, 0))
                return lost(marks_[p], "marking rows published");
            pending_[p] = true;
        }
        return {};
    }

    Status settle() override {
        Status st;
        for (std::size_t p = 0; p < marks_.size(); ++p) {
            if (!pending_[p]) continue;
            pending_[p] = false;
            while (PGresult* raw = PQgetResult(marks_[p])) {
                PgResult r(raw);
                if (st.ok())
                    st = check(marks_[p], r.get(), PGRES_COMMAND_OK,
                               remove_ ? "deleting relayed rows" : "marking rows published");
            }
        }
        return st;
    }

    Status wait(Micros timeout) override {
        if (!opt_.listen) {
            std::this_thread::sleep_for(std::chrono::microseconds(timeout));
            return {};
        }
        EVT_TRY(settle());
        EVT_TRY(drain_notifies());
        if (notified_) {
            notified_ = false;
            return {};
        }
        pollfd p{PQsocket(conn_), POLLIN, 0};
        if (p.fd < 0) return lost(conn_, "waiting for NOTIFY");
        int ms = static_cast<int>((timeout + 999) / 1000);
        int rc = ::poll(&p, 1, ms);
        if (rc > 0) EVT_TRY(drain_notifies());
        notified_ = false;
        return {};
    }

    Status reconnect(const std::function<void()>& on_wait) override {
        EVT_TRY(connect());
        return lock(on_wait);
    }

    Status apply_ddl() override { return exec(conn_, ddl(Dialect::postgresql, table_.table)); }

private:
    Status drain_notifies() {
        if (!PQconsumeInput(conn_)) return lost(conn_, "waiting for NOTIFY");
        while (PGnotify* n = PQnotifies(conn_)) {
            notified_ = true;
            PQfreemem(n);
        }
        return {};
    }

    Status prepare() {
        if (prepared_) return {};
        // the marks: more connections, so they run while the next batch is
        // fetched and appended
        for (PGconn*& m : marks_) {
            EVT_TRY(open_conn(m));
            EVT_TRY(exec(m, "SET synchronous_commit = off"));
        }
        std::string cols;
        for (const auto& c : table_.extra) cols += ", " + c + "::text";
        const std::string& t = table_.table;
        EVT_TRY(prepare_one(conn_, "evt_fetch",
                            fmt::format("SELECT seq, id::text, aggregatetype, aggregateid, type, payload::text, "
                                        "to_char(occurred_at AT TIME ZONE 'UTC', "
                                        "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'){} FROM {} "
                                        "WHERE published_at IS NULL ORDER BY seq LIMIT $1::bigint",
                                        cols, t)));
        for (PGconn* m : marks_) {
            EVT_TRY(prepare_one(m, "evt_mark",
                                fmt::format("UPDATE {} SET published_at = now() WHERE seq = ANY($1::bigint[])", t)));
            EVT_TRY(prepare_one(m, "evt_delete", fmt::format("DELETE FROM {} WHERE seq = ANY($1::bigint[])", t)));
        }
        prepared_ = true;
        return {};
    }

    Status prepare_one(PGconn* c, const char* name, const std::string& sql) {
        PgResult r(PQprepare(c, name, sql.c_str(), 0, nullptr));
        return check(c, r.get(), PGRES_COMMAND_OK, "preparing a statement");
    }

    Status exec(PGconn* c, const std::string& sql) {
        PgResult r(PQexec(c, sql.c_str()));
        return check(c, r.get(), PGRES_COMMAND_OK, "running SQL");
    }

    Status lost(PGconn* c, const char* what) {
        return make_error(ErrorKind::unavailable, "PostgreSQL at {}: lost the connection while {}: {}", redact(url_),
                          what, first_line(PQerrorMessage(c)));
    }

    Status check(PGconn* c, PGresult* r, ExecStatusType want, const char* what) {
        if (r && PQresultStatus(r) == want) return {};
        if (r && want == PGRES_COMMAND_OK && PQresultStatus(r) == PGRES_TUPLES_OK) return {};
        if (!r || PQstatus(c) == CONNECTION_BAD) return lost(c, what);
        const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        std::string s = state ? state : "";
        std::string msg = first_line(PQresultErrorMessage(r));
        ErrorKind kind = ErrorKind::invalid;
        if (s.rfind("08", 0) == 0 || s.rfind("57P", 0) == 0) {
            kind = ErrorKind::unavailable;
        } else if (s == "42P01" || s == "42703" || s == "3F000") {
            kind = ErrorKind::not_found;
            msg += " (create the table with: evt-outbox init --db " + redact(url_) + ")";
        } else if (s.rfind("40", 0) == 0 || s == "55P03") {
            kind = ErrorKind::busy;
        } else if (s.rfind("53", 0) == 0) {
            kind = ErrorKind::io;
        }
        return make_error(kind, "PostgreSQL at {}: {}: {}", redact(url_), what, msg);
    }

    std::string url_;
    TableSpec table_;
    OpenOptions opt_;
    PGconn* conn_ = nullptr;  // fetch, lock, LISTEN
    std::array<PGconn*, 2> marks_{};  // finish(): each marks a part of the batch
    bool prepared_ = false;
    std::array<bool, 2> pending_{};  // a part of a finish() not yet settled
    bool remove_ = false;
    bool notified_ = false;
};

}  // namespace

Result<std::unique_ptr<Source>> open_postgresql(const std::string& url, const TableSpec& table, const OpenOptions& o) {
    auto s = std::make_unique<PgSource>(url, table, o);
    EVT_TRY(s->connect());
    return std::unique_ptr<Source>(std::move(s));
}

}  // namespace evt::outbox
