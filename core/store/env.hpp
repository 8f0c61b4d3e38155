// The LMDB environment behind one log directory, and move-only RAII types for
// its transactions and cursors.
//
// One Env per process per log directory. LMDB allows one write transaction at a
// time across all processes and any number of readers that never block it.
// A WriteTxn aborts unless commit() is called; a ReadTxn can be reset and
// renewed cheaply to keep read snapshots short. Views returned by get() point
// into the memory map and are valid only until their transaction ends.
//
// The map starts at EVT_MAP_SIZE (default 1 GiB) and grows: a write that hits
// MDB_MAP_FULL returns ErrorKind::io with `map_full` set, and the caller aborts,
// calls grow() and retries (see Log::write). Readers pick up a map grown by
// another process on their next begin (MDB_MAP_RESIZED is handled here).
//
// Errors: ErrorKind::io (disk, map full), not_found (opening a missing log for
// reading), busy (reader table full), corrupt (not an LMDB file), internal.
// Not thread-safe: one thread uses an Env and its transactions.
#pragma once

#include <lmdb.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/util/result.hpp"

namespace evt::store {

inline MDB_val val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
inline MDB_val val(const void* p, std::size_t n) { return MDB_val{n, const_cast<void*>(p)}; }
inline std::string_view view(const MDB_val& v) { return {static_cast<const char*>(v.mv_data), v.mv_size}; }

// Turn an LMDB return code into an Error with context ("opening the log").
Error lmdb_error(int rc, std::string_view what);
inline bool is_map_full(const Error& e) { return e.message.find("MDB_MAP_FULL") != std::string::npos; }

class Env;

class Txn {
public:
    Txn() = default;
    Txn(Txn&& o) noexcept : env_(o.env_), txn_(o.txn_) { o.txn_ = nullptr; }
    Txn& operator=(Txn&& o) noexcept;
    Txn(const Txn&) = delete;
    Txn& operator=(const Txn&) = delete;
    ~Txn() { abort(); }

    MDB_txn* raw() const { return txn_; }
    Env& env() const { return *env_; }
    void abort() noexcept;

    // A named database (cached per process); ErrorKind::not_found when it does
    // not exist and create is false.
    Result<MDB_dbi> dbi(const std::string& name, bool create, unsigned flags = 0);
    // The value at key, or an empty optional-like (ok with data == nullptr).
    Result<bool> get(MDB_dbi dbi, std::string_view key, std::string_view& out);

protected:
    Txn(Env* env, MDB_txn* txn) : env_(env), txn_(txn) {}
    Env* env_ = nullptr;
    MDB_txn* txn_ = nullptr;
    friend class Env;
};

class ReadTxn : public Txn {
public:
    ReadTxn() = default;
    // Release the snapshot but keep the reader slot (cheap renew()).
    void reset() noexcept { mdb_txn_reset(txn_); }
    Status renew();

private:
    using Txn::Txn;
    friend class Env;
};

class WriteTxn : public Txn {
public:
    WriteTxn() = default;
    Status put(MDB_dbi dbi, std::string_view key, std::string_view value, unsigned flags = 0);
    Status del(MDB_dbi dbi, std::string_view key);
    Status drop(MDB_dbi dbi, bool delete_db);
    Status commit();

private:
    using Txn::Txn;
    friend class Env;
};

class Cursor {
public:
    Cursor() = default;
    static Result<Cursor> open(const Txn& txn, MDB_dbi dbi);
    Cursor(Cursor&& o) noexcept : c_(o.c_) { o.c_ = nullptr; }
    Cursor& operator=(Cursor&& o) noexcept {
        std::swap(c_, o.c_);
        return *this;
    }
    Cursor(const Cursor&) = delete;
    Cursor& operator=(const Cursor&) = delete;
    ~Cursor() {
        if (c_) mdb_cursor_close(c_);
    }
    // Positions the cursor; returns false at MDB_NOTFOUND.
    Result<bool> get(MDB_val& key, MDB_val& value, MDB_cursor_op op);
    // With MDB_RESERVE, value.mv_data points at the space to fill on return.
    Status put(MDB_val key, MDB_val& value, unsigned flags);
    // Deletes the record the cursor is on (write transactions).
    Status del();
    Status renew(const Txn& txn);
    MDB_cursor* raw() const { return c_; }

private:
    MDB_cursor* c_ = nullptr;
};

class Env {
public:
    enum class Mode { read, write };
    static Result<Env*> open_new(const std::string& dir, Mode mode);  // caller owns (use unique_ptr)
    ~Env();
    Env(const Env&) = delete;
    Env& operator=(const Env&) = delete;

    Result<ReadTxn> read();
    Result<WriteTxn> write();
    // Double the map size, up to the limit (set_max_size, else EVT_MAX_SIZE,
    // else the free disk plus what the file holds): past it, ErrorKind::io
    // "the log is full". Call only with no transaction open in this process.
    Status grow();
    // The largest this environment's map may grow to (a tool's --max-size,
    // an open option); 0 leaves it to EVT_MAX_SIZE or the free disk.
    void set_max_size(std::uint64_t bytes) { max_size_ = bytes; }
    // A consistent copy of the environment into an empty directory, while
    // readers and writers go on (mdb_env_copy2 with MDB_CP_COMPACT: free pages
    // are left out).
    Status copy_to(const std::string& dir);
    // Durability: false makes commits skip fsync (--sync none).
    void set_sync(bool on);
    Status sync();
    const std::string& dir() const { return dir_; }
    MDB_env* raw() const { return env_; }
    std::uint64_t map_size() const;

    // Opened named databases are cached per process (LMDB keeps the handle).
    std::unordered_map<std::string, MDB_dbi>& dbi_cache() { return dbis_; }
    std::vector<std::string>& fresh_dbis() { return fresh_; }

private:
    Env() = default;
    MDB_env* env_ = nullptr;
    std::string dir_;
    std::uint64_t max_size_ = 0;
    std::unordered_map<std::string, MDB_dbi> dbis_;
    std::vector<std::string> fresh_;
};

// Gives a log's free pages back to the file system: a compacting copy of the
// environment, checked by `check` (given the copy's directory), replaces
// data.mdb. It needs the log to itself: while another process has it open it
// fails with ErrorKind::busy and changes nothing; processes that open the log
// meanwhile wait (on LMDB's lock-file lock) and then see the new file.
struct CompactResult {
    std::uint64_t before = 0, after = 0;  // bytes of data.mdb
};
Result<CompactResult> compact_in_place(const std::string& dir, const std::function<Status(const std::string&)>& check);

}  // namespace evt::store
