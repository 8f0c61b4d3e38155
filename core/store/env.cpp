#include "core/store/env.hpp"

#include "core/util/units.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <vector>

namespace evt::store {

namespace {
// Handles opened inside the running transaction: LMDB closes them if that
// transaction ends without a commit, so the cache must forget them then.
void forget_fresh(Env& env) {
    for (const auto& n : env.fresh_dbis()) env.dbi_cache().erase(n);
    env.fresh_dbis().clear();
}

constexpr std::uint64_t kDefaultMapSize = 1ull << 30;
constexpr unsigned kMaxDbs = 2048;
}  // namespace

Error lmdb_error(int rc, std::string_view what) {
    ErrorKind kind = ErrorKind::internal;
    switch (rc) {
    case MDB_MAP_FULL:
    case ENOSPC:
    case EIO:
    case EFBIG:
    case ENOMEM:
    case EDQUOT: kind = ErrorKind::io; break;
    case MDB_READERS_FULL:
    case EAGAIN:
    case EBUSY: kind = ErrorKind::busy; break;
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND: kind = ErrorKind::corrupt; break;
    case ENOENT: kind = ErrorKind::not_found; break;
    case EACCES:
    case EROFS:
    case EPERM: kind = ErrorKind::io; break;
    default: break;
    }
    const char* name = rc == MDB_MAP_FULL ? " (MDB_MAP_FULL)" : "";
    return Error{kind, fmt::format("{}: {}{}", what, mdb_strerror(rc), name)};
}

Txn& Txn::operator=(Txn&& o) noexcept {
    if (this != &o) {
        abort();
        env_ = o.env_;
        txn_ = o.txn_;
        o.txn_ = nullptr;
    }
    return *this;
}

void Txn::abort() noexcept {
    if (!txn_) return;
    mdb_txn_abort(txn_);
    txn_ = nullptr;
    if (env_) forget_fresh(*env_);
}

Result<MDB_dbi> Txn::dbi(const std::string& name, bool create, unsigned flags) {
    auto& cache = env_->dbi_cache();
    if (auto it = cache.find(name); it != cache.end()) return it->second;
    MDB_dbi d;
    int rc = mdb_dbi_open(txn_, name.c_str(), flags | (create ? MDB_CREATE : 0), &d);
    if (rc == MDB_NOTFOUND) return Error{ErrorKind::not_found, name};
    if (rc) return lmdb_error(rc, fmt::format("opening database '{}'", name));
    cache.emplace(name, d);
    env_->fresh_dbis().push_back(name);
    return d;
}

Result<bool> Txn::get(MDB_dbi dbi, std::string_view key, std::string_view& out) {
    MDB_val k = val(key), v;
    int rc = mdb_get(txn_, dbi, &k, &v);
    if (rc == MDB_NOTFOUND) return false;
    if (rc) return lmdb_error(rc, "reading");
    out = view(v);
    return true;
}

Status ReadTxn::renew() {
    forget_fresh(*env_);
    int rc = mdb_txn_renew(txn_);
    if (rc == MDB_MAP_RESIZED) {
        mdb_env_set_mapsize(env_->raw(), 0);
        rc = mdb_txn_renew(txn_);
    }
    if (rc) return lmdb_error(rc, "renewing a read transaction");
    return {};
}

Status WriteTxn::put(MDB_dbi dbi, std::string_view key, std::string_view value, unsigned flags) {
    MDB_val k = val(key), v = val(value);
    int rc = mdb_put(txn_, dbi, &k, &v, flags);
    if (rc) return lmdb_error(rc, "writing");
    return {};
}

Status WriteTxn::del(MDB_dbi dbi, std::string_view key) {
    MDB_val k = val(key);
    int rc = mdb_del(txn_, dbi, &k, nullptr);
    if (rc && rc != MDB_NOTFOUND) return lmdb_error(rc, "deleting");
    return {};
}

Status WriteTxn::drop(MDB_dbi dbi, bool delete_db) {
    int rc = mdb_drop(txn_, dbi, delete_db ? 1 : 0);
    if (rc) return lmdb_error(rc, "dropping a database");
    return {};
}

Status WriteTxn::commit() {
    int rc = mdb_txn_commit(txn_);
    txn_ = nullptr;
    if (rc) {
        forget_fresh(*env_);
        return lmdb_error(rc, "committing");
    }
    env_->fresh_dbis().clear();
    return {};
}

Result<Cursor> Cursor::open(const Txn& txn, MDB_dbi dbi) {
    Cursor c;
    int rc = mdb_cursor_open(txn.raw(), dbi, &c.c_);
    if (rc) return lmdb_error(rc, "opening a cursor");
    return c;
}

Result<bool> Cursor::get(MDB_val& key, MDB_val& value, MDB_cursor_op op) {
    int rc = mdb_cursor_get(c_, &key, &value, op);
    if (rc == MDB_NOTFOUND) return false;
    if (rc) return lmdb_error(rc, "reading");
    return true;
}

Status Cursor::put(MDB_val key, MDB_val& value, unsigned flags) {
    int rc = mdb_cursor_put(c_, &key, &value, flags);
    if (rc) return lmdb_error(rc, "writing");
    return {};
}

Status Cursor::del() {
    int rc = mdb_cursor_del(c_, 0);
    if (rc) return lmdb_error(rc, "deleting");
    return {};
}

Status Cursor::renew(const Txn& txn) {
    int rc = mdb_cursor_renew(txn.raw(), c_);
    if (rc) return lmdb_error(rc, "renewing a cursor");
    return {};
}

Result<Env*> Env::open_new(const std::string& dir, Mode mode) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::exists(fs::path(dir) / "data.mdb", ec)) {
        if (mode == Mode::read) return Error{ErrorKind::not_found, fmt::format("no log at '{}'", dir)};
        fs::create_directories(dir, ec);
        if (ec) return Error{ErrorKind::io, fmt::format("creating the log '{}': {}", dir, ec.message())};
        ::chmod(dir.c_str(), 0700);
    }
    std::unique_ptr<Env> env(new Env());
    env->dir_ = dir;
    int rc = mdb_env_create(&env->env_);
    if (rc) return lmdb_error(rc, "creating the LMDB environment");
    std::uint64_t map = kDefaultMapSize;
    if (const char* s = std::getenv("EVT_MAP_SIZE"); s && *s) {
        auto size = parse_size(s);
        if (!size.ok()) return make_error(ErrorKind::usage, "EVT_MAP_SIZE: {}", size.error().message);
        map = std::max<std::uint64_t>(*size, 1u << 20);
    }
    mdb_env_set_mapsize(env->env_, map);
    mdb_env_set_maxdbs(env->env_, kMaxDbs);
    mdb_env_set_maxreaders(env->env_, 510);
    rc = mdb_env_open(env->env_, dir.c_str(), MDB_NOTLS | MDB_NORDAHEAD, 0600);
    if (rc) {
        mdb_env_close(env->env_);
        env->env_ = nullptr;
        return lmdb_error(rc, fmt::format("opening the log '{}'", dir));
    }
    // Another process may have grown the map: adopt the size in the file.
    MDB_envinfo info;
    mdb_env_info(env->env_, &info);
    if (info.me_mapsize < map) mdb_env_set_mapsize(env->env_, map);
    return env.release();
}

Env::~Env() {
    if (env_) mdb_env_close(env_);
}

Result<ReadTxn> Env::read() {
    MDB_txn* t = nullptr;
    int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &t);
    if (rc == MDB_MAP_RESIZED) {
        mdb_env_set_mapsize(env_, 0);
        rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &t);
    }
    if (rc) return lmdb_error(rc, "starting a read transaction");
    return ReadTxn(this, t);
}

Result<WriteTxn> Env::write() {
    MDB_txn* t = nullptr;
    int rc = mdb_txn_begin(env_, nullptr, 0, &t);
    if (rc == MDB_MAP_RESIZED) {
        mdb_env_set_mapsize(env_, 0);
        rc = mdb_txn_begin(env_, nullptr, 0, &t);
    }
    if (rc) return lmdb_error(rc, "starting a write transaction");
    return WriteTxn(this, t);
}

std::uint64_t Env::map_size() const {
    MDB_envinfo info;
    mdb_env_info(env_, &info);
    return info.me_mapsize;
}

Status Env::grow() {
    std::uint64_t now = map_size();
    std::uint64_t limit = max_size_;
    const char* why = " (--max-size)";
    if (limit == 0) {
        if (const char* s = std::getenv("EVT_MAX_SIZE"); s && *s) {
            auto size = parse_size(s);
            if (!size.ok()) return make_error(ErrorKind::usage, "EVT_MAX_SIZE: {}", size.error().message);
            limit = *size;
            why = " (EVT_MAX_SIZE)";
        } else {
            // The map may not outgrow what the disk can hold: the file's size
            // plus the free space of its file system.
            struct statvfs fs;
            struct stat st;
            std::string data = dir_ + "/data.mdb";
            if (::statvfs(dir_.c_str(), &fs) == 0 && ::stat(data.c_str(), &st) == 0)
                limit = static_cast<std::uint64_t>(st.st_size) +
                        static_cast<std::uint64_t>(fs.f_bavail) * static_cast<std::uint64_t>(fs.f_frsize);
            why = " (the free disk)";
        }
    }
    std::uint64_t next = now * 2;
    if (limit) {
        if (now >= limit)
            return make_error(ErrorKind::io, "the log '{}' is full: its map is {} and may not grow past {}{}", dir_,
                              format_size(now), format_size(limit), why);
        next = std::min(next, std::max(limit, now + 1));
    }
    int rc = mdb_env_set_mapsize(env_, next);
    if (rc) return lmdb_error(rc, "growing the map");
    return {};
}

Status Env::copy_to(const std::string& dir) {
    int rc = mdb_env_copy2(env_, dir.c_str(), MDB_CP_COMPACT);
    if (rc) return lmdb_error(rc, fmt::format("copying the log to '{}'", dir));
    return {};
}

void Env::set_sync(bool on) { mdb_env_set_flags(env_, MDB_NOSYNC, on ? 0 : 1); }

Status Env::sync() {
    int rc = mdb_env_sync(env_, 1);
    if (rc) return lmdb_error(rc, "syncing the log");
    return {};
}

namespace {
// LMDB's own protocol: every process with the environment open holds a
// shared POSIX lock on byte 0 of lock.mdb; the first opener holds it
// exclusively while it sets the lock file up. Holding it exclusively here
// means no other process has the log open, and openers wait.
bool lock_exclusive(int fd) {
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 1;
    return ::fcntl(fd, F_SETLK, &fl) == 0;
}
std::uint64_t file_size(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}
}  // namespace

Result<CompactResult> compact_in_place(const std::string& dir, const std::function<Status(const std::string&)>& check) {
    namespace fs = std::filesystem;
    const std::string data = dir + "/data.mdb", lock = dir + "/lock.mdb", tmp = dir + "/compact.tmp";
    if (!fs::exists(data)) return Error{ErrorKind::not_found, fmt::format("no log at '{}'", dir)};
    int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return make_error(ErrorKind::io, "opening '{}': {}", lock, std::strerror(errno));
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    auto busy = [&] {
        return make_error(ErrorKind::busy,
                          "another process has the log '{}' open; --compact-file needs it to itself (stop its readers "
                          "and writers, or take a --backup instead); nothing was changed",
                          dir);
    };
    if (!lock_exclusive(fd)) return busy();
    EVT_ASSIGN(Env * raw, Env::open_new(dir, Env::Mode::write));
    std::unique_ptr<Env> old(raw);
    // Opening downgraded this process's lock to shared: take it back.
    if (!lock_exclusive(fd)) return busy();
    std::error_code ec;
    fs::remove_all(tmp, ec);
    fs::create_directory(tmp, ec);
    if (ec) return make_error(ErrorKind::io, "creating '{}': {}", tmp, ec.message());
    Status s = old->copy_to(tmp);
    if (s.ok()) s = check(tmp);
    if (!s.ok()) {
        fs::remove_all(tmp, ec);
        return s.error();
    }
    CompactResult r{file_size(data), file_size(tmp + "/data.mdb")};
    if (::rename((tmp + "/data.mdb").c_str(), data.c_str()) != 0) {
        int e = errno;
        fs::remove_all(tmp, ec);
        return make_error(ErrorKind::io, "replacing '{}': {}", data, std::strerror(e));
    }
    // While openers still wait, an environment opened now is the lock file's
    // first user: LMDB starts the lock file afresh for the new data file
    // (transaction id, reader table). Then both are closed.
    auto fresh = Env::open_new(dir, Env::Mode::write);
    old.reset();
    if (fresh.ok()) delete *fresh;
    fs::remove_all(tmp, ec);
    if (!fresh.ok()) return fresh.error();
    return r;
}

}  // namespace evt::store
