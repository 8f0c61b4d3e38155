// The SQLite outbox: one connection, WAL mode, a busy timeout; the relay lock
// is flock(2) on a file beside the database.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <thread>

#include "core/outbox/source.hpp"

namespace evt::outbox {

namespace {

constexpr int kBusyTimeoutMs = 10000;

class Stmt {
public:
    Stmt() = default;
    explicit Stmt(sqlite3_stmt* s) : s_(s) {}
    Stmt(Stmt&& o) noexcept : s_(o.s_) { o.s_ = nullptr; }
    Stmt& operator=(Stmt&& o) noexcept {
        std::swap(s_, o.s_);
        return *this;
    }
    ~Stmt() { sqlite3_finalize(s_); }
    sqlite3_stmt* get() const { return s_; }

private:
    sqlite3_stmt* s_ = nullptr;
};

class SqliteSource final : public Source {
public:
    SqliteSource(std::string path, TableSpec table) : path_(std::move(path)), table_(std::move(table)) {}
    ~SqliteSource() override {
        (void)settle();
        marker_.reset();
        select_ = Stmt();
        mark_ = Stmt();
        remove_ = Stmt();
        version_ = Stmt();
        sqlite3_close(db_);
        if (lock_fd_ >= 0) ::close(lock_fd_);
    }

    Status open(bool create) {
        int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
        if (!create && ::access(path_.c_str(), F_OK) != 0)
            return make_error(ErrorKind::not_found, "{}: no such SQLite database (create it with evt-outbox init)",
                              path_);
        int rc = sqlite3_open_v2(path_.c_str(), &db_, flags, nullptr);
        if (rc != SQLITE_OK) return fail(rc, "cannot open");
        sqlite3_busy_timeout(db_, kBusyTimeoutMs);
        // The published marks need not survive a power loss: a lost mark only
        // makes the relay send the row again, which the idempotent append skips.
        EVT_TRY(exec("PRAGMA synchronous = NORMAL"));
        return {};
    }

    Dialect dialect() const override { return Dialect::sqlite; }

    Status lock(const std::function<void()>& on_wait) override {
        if (lock_fd_ >= 0) return {};
        std::string p = path_ + ".evt-outbox-" + table_.table + ".lock";
        lock_fd_ = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (lock_fd_ < 0) return make_error(ErrorKind::io, "{}: {}", p, std::strerror(errno));
        bool told = false;
        while (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
            if (errno != EWOULDBLOCK && errno != EINTR)
                return make_error(ErrorKind::io, "{}: flock: {}", p, std::strerror(errno));
            if (!told && on_wait) on_wait();
            told = true;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return {};
    }

    Status fetch(std::size_t limit, std::vector<Row>& out) override {
        if (!select_.get()) {
            std::string cols;
            for (const auto& c : table_.extra) cols += ", " + c;
            EVT_ASSIGN(select_, prepare(fmt::format(
                                    "SELECT seq, id, aggregatetype, aggregateid, type, payload, occurred_at{} FROM {} "
                                    "WHERE published_at IS NULL ORDER BY seq LIMIT ?1",
                                    cols, table_.table)));
        }
        sqlite3_stmt* s = select_.get();
        sqlite3_reset(s);
        sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(limit));
        // The rows are assigned in place, so their strings keep their capacity
        // from one batch to the next.
        auto text = [s](int i, std::string& to) {
            const unsigned char* t = sqlite3_column_text(s, i);
            if (t)
                to.assign(reinterpret_cast<const char*>(t), static_cast<std::size_t>(sqlite3_column_bytes(s, i)));
            else
                to.clear();
        };
        std::size_t n = 0;
        int rc;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            if (n == out.size()) out.emplace_back();
            Row& r = out[n++];
            r.seq = sqlite3_column_int64(s, 0);
            text(1, r.id);
            text(2, r.aggregatetype);
            text(3, r.aggregateid);
            text(4, r.type);
            r.has_payload = sqlite3_column_type(s, 5) != SQLITE_NULL;
            text(5, r.payload);
            text(6, r.occurred_at);
            r.extra.resize(table_.extra.size());
            r.extra_null.resize(table_.extra.size());
            for (std::size_t i = 0; i < table_.extra.size(); ++i) {
                int col = static_cast<int>(7 + i);
                r.extra_null[i] = sqlite3_column_type(s, col) == SQLITE_NULL;
                text(col, r.extra[i]);
            }
        }
        out.resize(n);
        sqlite3_reset(s);
        if (rc != SQLITE_DONE) return fail(rc, "reading the outbox");
        return {};
    }

    // The marks are written by a second connection on a worker thread, while
    // the relay fetches and appends the next batch (WAL: its reads do not
    // wait for this write).
    Status finish(const std::vector<Row>& rows, bool remove) override {
        EVT_TRY(settle());
        if (rows.empty()) return {};
        if (!marker_) {
            marker_ = std::make_unique<SqliteSource>(path_, table_);
            EVT_TRY(marker_->open(false));
        }
        std::vector<std::int64_t> seqs;
        seqs.reserve(rows.size());
        for (const Row& r : rows) seqs.push_back(r.seq);
        SqliteSource* m = marker_.get();
        pending_ = std::async(std::launch::async, [m, seqs = std::move(seqs), remove] { return m->mark(seqs, remove); });
        return {};
    }

    Status settle() override {
        if (!pending_.valid()) return {};
        return pending_.get();
    }

    // One statement per batch: the seqs go in as a JSON array.
    Status mark(const std::vector<std::int64_t>& seqs, bool remove) {
        Stmt& st = remove ? remove_ : mark_;
        if (!st.get()) {
            std::string in = "seq IN (SELECT value FROM json_each(?1))";
            EVT_ASSIGN(st, prepare(remove ? fmt::format("DELETE FROM {} WHERE {}", table_.table, in)
                                          : fmt::format("UPDATE {} SET published_at = ?2 WHERE {}", table_.table, in)));
        }
        std::string arr = "[";
        arr.reserve(seqs.size() * 8);
        for (std::size_t i = 0; i < seqs.size(); ++i) {
            if (i) arr += ',';
            arr += std::to_string(seqs[i]);
        }
        arr += ']';
        std::string now = format_time_ms(now_micros());
        sqlite3_stmt* s = st.get();
        sqlite3_reset(s);
        sqlite3_bind_text(s, 1, arr.data(), static_cast<int>(arr.size()), SQLITE_STATIC);
        if (!remove) sqlite3_bind_text(s, 2, now.data(), static_cast<int>(now.size()), SQLITE_STATIC);
        int rc = sqlite3_step(s);
        sqlite3_reset(s);
        if (rc != SQLITE_DONE) return fail(rc, remove ? "deleting relayed rows" : "marking rows published");
        return {};
    }

    Status wait(Micros timeout) override {
        if (!version_.get()) {
            EVT_ASSIGN(version_, prepare("PRAGMA data_version"));
        }
        EVT_TRY(settle());
        EVT_ASSIGN(std::int64_t start, data_version());
        Micros until = now_micros() + timeout;
        while (now_micros() < until) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            EVT_ASSIGN(std::int64_t v, data_version());
            if (v != start) return {};
        }
        return {};
    }

    Status reconnect(const std::function<void()>&) override { return {}; }

    Status apply_ddl() override { return exec(ddl(Dialect::sqlite, table_.table)); }

private:
    Result<std::int64_t> data_version() {
        sqlite3_stmt* s = version_.get();
        sqlite3_reset(s);
        int rc = sqlite3_step(s);
        if (rc != SQLITE_ROW) return fail(rc, "PRAGMA data_version").error();
        std::int64_t v = sqlite3_column_int64(s, 0);
        sqlite3_reset(s);
        return v;
    }

    Result<Stmt> prepare(const std::string& sql) {
        sqlite3_stmt* s = nullptr;
        int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr);
        if (rc != SQLITE_OK) return fail(rc, "preparing a statement").error();
        return Stmt(s);
    }

    Status exec(const std::string& sql) {
        char* msg = nullptr;
        int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg);
        if (msg) sqlite3_free(msg);
        if (rc != SQLITE_OK) return fail(rc, "running SQL");
        return {};
    }

    Status fail(int rc, const char* what) {
        const char* msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
        std::string m = msg ? msg : sqlite3_errstr(rc);
        int primary = rc & 0xff;
        ErrorKind kind = primary == SQLITE_BUSY || primary == SQLITE_LOCKED ? ErrorKind::busy
                         : primary == SQLITE_FULL || primary == SQLITE_IOERR ? ErrorKind::io
                         : primary == SQLITE_CANTOPEN                        ? ErrorKind::not_found
                         : primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT ? ErrorKind::invalid
                                                                                 : ErrorKind::invalid;
        if (m.rfind("no such table", 0) == 0 || m.rfind("no such column", 0) == 0) {
            kind = ErrorKind::not_found;
            m += " (create the table with: evt-outbox init --db sqlite:" + path_ + ")";
        }
        return make_error(kind, "sqlite:{}: {}: {}", path_, what, m);
    }

    std::string path_;
    TableSpec table_;
    sqlite3* db_ = nullptr;
    int lock_fd_ = -1;
    Stmt select_, mark_, remove_, version_;
    std::unique_ptr<SqliteSource> marker_;  // the connection finish() marks with
    std::future<Status> pending_;
};

}  // namespace

Result<std::unique_ptr<Source>> open_sqlite(const std::string& path, const TableSpec& table, const OpenOptions& o) {
    auto s = std::make_unique<SqliteSource>(path, table);
    EVT_TRY(s->open(o.create));
    return std::unique_ptr<Source>(std::move(s));
}

}  // namespace evt::outbox
