#include "core/stream/stream_index.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "core/log/record.hpp"
#include "core/util/hash.hpp"

namespace evt::stream {

using log::get_le;
using log::put_le;

namespace {
constexpr std::size_t kHeadFixed = 20;

struct Key {  // native u64: the database is MDB_INTEGERKEY
    std::uint64_t slot;
    explicit Key(std::uint64_t s) : slot(s) {}
    std::string_view view() const { return {reinterpret_cast<const char*>(&slot), 8}; }
};
}  // namespace

std::uint64_t subject_hash(std::string_view s) noexcept { return hash64(s); }

namespace {
// A head value of the index (at least kHeadFixed bytes) at a slot.
Head decode_head(std::uint64_t slot, std::string_view value) {
    Head h;
    h.slot = slot;
    h.exists = true;
    h.version = get_le<std::uint64_t>(value.data());
    h.last_partition = get_le<std::uint32_t>(value.data() + 8);
    h.last_offset = get_le<std::uint64_t>(value.data() + 12);
    return h;
}

// The index at exactly `slot`: nothing there (h.exists false: the slot is
// free), the subject's head (h), or another subject's (other = true).
Result<Head> index_slot(store::Cursor& cursor, std::uint64_t slot, std::string_view subject, bool& other) {
    other = false;
    Key key(slot);
    MDB_val k = store::val(key.view()), v;
    EVT_ASSIGN(bool found, cursor.get(k, v, MDB_SET_KEY));
    Head h;
    h.slot = slot;
    if (!found) return h;
    std::string_view value = store::view(v);
    if (value.size() < kHeadFixed) return Error{ErrorKind::corrupt, "stream index head is too short"};
    if (value.substr(kHeadFixed) == subject) return decode_head(slot, value);
    other = true;
    return h;
}
}  // namespace

Result<Head> find_head(store::Cursor& cursor, std::string_view subject, std::uint64_t hash) {
    for (std::uint64_t slot = hash;; ++slot) {
        bool other = false;
        EVT_ASSIGN(Head h, index_slot(cursor, slot, subject, other));
        if (!other) return h;
        if (slot - hash > 1024) return Error{ErrorKind::corrupt, "stream index: too many colliding subjects"};
    }
}

Result<Head> find_head(store::Txn& txn, MDB_dbi dbi, std::string_view subject, std::uint64_t hash) {
    EVT_ASSIGN(store::Cursor c, store::Cursor::open(txn, dbi));
    return find_head(c, subject, hash);
}

Status put_head(store::Cursor& cursor, std::string_view subject, const Head& head) {
    Key key(head.slot);
    MDB_val k = store::val(key.view());
    MDB_val v{kHeadFixed + subject.size(), nullptr};
    EVT_TRY(cursor.put(k, v, MDB_RESERVE));
    char* d = static_cast<char*>(v.mv_data);
    put_le<std::uint64_t>(d, head.version);
    put_le<std::uint32_t>(d + 8, head.last_partition);
    put_le<std::uint64_t>(d + 12, head.last_offset);
    std::memcpy(d + kHeadFixed, subject.data(), subject.size());
    return {};
}

// Run layout: u32 count; count entries of kRunEntry bytes sorted by slot
// (u64 slot, u64 version, u32 partition, u64 offset, u32 subject position);
// at each subject position, u16 length and the subject's bytes.
namespace {
constexpr std::size_t kRunEntry = 32;
Result<std::vector<Heads::Run>> load_runs(store::Txn& txn, MDB_dbi runs);
}

std::uint64_t Heads::Run::slot(std::size_t i) const { return get_le<std::uint64_t>(base + 4 + i * kRunEntry); }

Head Heads::Run::head(std::size_t i) const {
    const char* e = base + 4 + i * kRunEntry;
    Head h;
    h.slot = get_le<std::uint64_t>(e);
    h.version = get_le<std::uint64_t>(e + 8);
    h.last_partition = get_le<std::uint32_t>(e + 16);
    h.last_offset = get_le<std::uint64_t>(e + 20);
    h.exists = true;
    return h;
}

std::string_view Heads::Run::subject(std::size_t i) const {
    const char* at = base + get_le<std::uint32_t>(base + 4 + i * kRunEntry + 28);
    return {at + 2, get_le<std::uint16_t>(at)};
}

std::size_t Heads::Run::lower_bound(std::uint64_t target) {
    std::size_t lo = 0, hi = n;
    if (hint < n && slot(hint) < target) {
        // forward from the hint: a few steps, then a binary search of the rest
        lo = hint + 1;
        for (int k = 0; k < 4 && lo < n && slot(lo) < target; ++k) ++lo;
    } else if (hint <= n && (hint == 0 || slot(hint - 1) < target)) {
        lo = hi = hint;  // the hint is the answer
    }
    while (lo < hi) {
        std::size_t mid = lo + (hi - lo) / 2;
        if (slot(mid) < target) lo = mid + 1;
        else hi = mid;
    }
    hint = lo;
    return lo;
}

Result<Heads> Heads::open(store::Txn& txn, MDB_dbi index, std::optional<MDB_dbi> runs) {
    Heads h;
    EVT_ASSIGN(h.index_, store::Cursor::open(txn, index));
    if (runs) {
        EVT_ASSIGN(h.runs_, load_runs(txn, *runs));
    }
    return h;
}

Result<Head> Heads::find(std::string_view subject, std::uint64_t hash) {
    for (std::uint64_t slot = hash;; ++slot) {
        if (slot - hash > 1024) return Error{ErrorKind::corrupt, "stream index: too many colliding subjects"};
        if (auto c = claimed_.find(slot); c != claimed_.end()) {
            if (c->second == subject) return Error{ErrorKind::internal, "stream index: a subject claimed twice"};
            continue;
        }
        bool other = false;
        for (auto r = runs_.rbegin(); r != runs_.rend(); ++r) {
            std::size_t i = r->lower_bound(slot);
            if (i < r->n && r->slot(i) == slot) {
                if (r->subject(i) == subject) return r->head(i);
                other = true;  // the slot is another subject's (in every run and in the index)
                break;
            }
        }
        if (other) continue;
        EVT_ASSIGN(Head h, index_slot(index_, slot, subject, other));
        if (!other) return h;
    }
}

Status add_run(store::WriteTxn& txn, MDB_dbi index, MDB_dbi runs,
               const std::vector<std::pair<Head, std::string_view>>& heads) {
    if (heads.empty()) return {};
    std::size_t bytes = 4 + heads.size() * kRunEntry;
    for (const auto& [h, s] : heads) {
        if (s.size() > 0xffff) return Error{ErrorKind::invalid, "'subject' is longer than 65535 bytes"};
        bytes += 2 + s.size();
    }
    if (bytes > 0xffffffffu) return Error{ErrorKind::invalid, "stream index: a run over 4 GiB"};
    MDB_stat st;
    if (int rc = mdb_stat(txn.raw(), runs, &st)) return store::lmdb_error(rc, "counting stream-head runs");
    std::uint64_t last = 0;
    if (st.ms_entries > 0) {
        EVT_ASSIGN(store::Cursor c, store::Cursor::open(txn, runs));
        MDB_val k, v;
        EVT_ASSIGN(bool any, c.get(k, v, MDB_LAST));
        if (any) std::memcpy(&last, k.mv_data, 8);
    }
    if (st.ms_entries + 1 >= kMaxRuns) {
        // Fold the runs of earlier commits (clean pages of the map) before
        // this one is written: the run being written stays out of the merge,
        // whose index writes could otherwise spill its dirty pages.
        EVT_TRY(merge_runs(txn, index, runs));
        last = 0;
    }
    Key key(last + 1);
    MDB_val v{bytes, nullptr};
    EVT_ASSIGN(store::Cursor c, store::Cursor::open(txn, runs));
    EVT_TRY(c.put(store::val(key.view()), v, MDB_RESERVE | MDB_APPEND));
    char* out = static_cast<char*>(v.mv_data);
    put_le<std::uint32_t>(out, static_cast<std::uint32_t>(heads.size()));
    std::size_t at = 4 + heads.size() * kRunEntry;
    for (std::size_t i = 0; i < heads.size(); ++i) {
        const auto& [h, s] = heads[i];
        char* e = out + 4 + i * kRunEntry;
        put_le<std::uint64_t>(e, h.slot);
        put_le<std::uint64_t>(e + 8, h.version);
        put_le<std::uint32_t>(e + 16, h.last_partition);
        put_le<std::uint64_t>(e + 20, h.last_offset);
        put_le<std::uint32_t>(e + 28, static_cast<std::uint32_t>(at));
        put_le<std::uint16_t>(out + at, static_cast<std::uint16_t>(s.size()));
        std::memcpy(out + at + 2, s.data(), s.size());
        at += 2 + s.size();
    }
    return {};
}

namespace {
// The effective run entries in slot order: (run, entry), newest run per slot.
std::vector<std::pair<std::uint32_t, std::uint32_t>> effective_run_entries(const std::vector<Heads::Run>& runs) {
    std::vector<std::pair<std::uint32_t, std::uint32_t>> out;
    std::vector<std::uint32_t> pos(runs.size(), 0);
    for (;;) {
        std::uint64_t best = ~0ull;
        bool any = false;
        for (std::size_t r = 0; r < runs.size(); ++r)
            if (pos[r] < runs[r].n && (!any || runs[r].slot(pos[r]) < best)) {
                best = runs[r].slot(pos[r]);
                any = true;
            }
        if (!any) break;
        std::uint32_t from = 0;
        for (std::size_t r = 0; r < runs.size(); ++r)
            if (pos[r] < runs[r].n && runs[r].slot(pos[r]) == best) {
                from = static_cast<std::uint32_t>(r);  // runs are oldest first: the last one wins
                ++pos[r];
            }
        out.emplace_back(from, pos[from] - 1);
    }
    return out;
}

Result<std::vector<Heads::Run>> load_runs(store::Txn& txn, MDB_dbi runs) {
    std::vector<Heads::Run> out;
    EVT_ASSIGN(store::Cursor c, store::Cursor::open(txn, runs));
    MDB_val k, v;
    for (MDB_cursor_op op = MDB_FIRST;; op = MDB_NEXT) {
        EVT_ASSIGN(bool more, c.get(k, v, op));
        if (!more) break;
        Heads::Run r;
        r.base = static_cast<const char*>(v.mv_data);
        if (v.mv_size < 4) return Error{ErrorKind::corrupt, "stream index: a run is too short"};
        r.n = get_le<std::uint32_t>(r.base);
        if (v.mv_size < 4 + static_cast<std::size_t>(r.n) * kRunEntry)
            return Error{ErrorKind::corrupt, "stream index: a run is too short"};
        out.push_back(r);
    }
    return out;
}
}  // namespace

Status merge_runs(store::WriteTxn& txn, MDB_dbi index, MDB_dbi runs) {
    EVT_ASSIGN(auto all, load_runs(txn, runs));
    if (all.empty()) return {};
    auto eff = effective_run_entries(all);
    EVT_ASSIGN(store::Cursor c, store::Cursor::open(txn, index));
    for (auto [r, i] : eff) {
        // copy out: the run's pages are freed by the drop below, not before
        Head h = all[r].head(i);
        std::string subject(all[r].subject(i));
        EVT_TRY(put_head(c, subject, h));
    }
    return txn.drop(runs, false);
}

Status each_head(store::Txn& txn, MDB_dbi index, std::optional<MDB_dbi> runs,
                 const std::function<void(const Head&, std::string_view subject)>& fn) {
    std::vector<Heads::Run> all;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> eff;
    if (runs) {
        EVT_ASSIGN(all, load_runs(txn, *runs));
        eff = effective_run_entries(all);
    }
    std::size_t j = 0;
    EVT_ASSIGN(store::Cursor c, store::Cursor::open(txn, index));
    MDB_val k, v;
    auto emit_runs_below = [&](std::uint64_t slot) {
        while (j < eff.size() && all[eff[j].first].slot(eff[j].second) < slot) {
            fn(all[eff[j].first].head(eff[j].second), all[eff[j].first].subject(eff[j].second));
            ++j;
        }
    };
    for (MDB_cursor_op op = MDB_FIRST;; op = MDB_NEXT) {
        EVT_ASSIGN(bool more, c.get(k, v, op));
        if (!more) break;
        std::uint64_t slot;
        std::memcpy(&slot, k.mv_data, 8);
        emit_runs_below(slot);
        if (j < eff.size() && all[eff[j].first].slot(eff[j].second) == slot) {
            fn(all[eff[j].first].head(eff[j].second), all[eff[j].first].subject(eff[j].second));
            ++j;
            continue;
        }
        std::string_view value = store::view(v);
        if (value.size() < kHeadFixed) {
            Head h;  // exists = false: reported by the caller as too short
            h.slot = slot;
            fn(h, {});
            continue;
        }
        fn(decode_head(slot, value), value.substr(kHeadFixed));
    }
    emit_runs_below(~0ull);
    if (j < eff.size()) fn(all[eff[j].first].head(eff[j].second), all[eff[j].first].subject(eff[j].second));
    return {};
}

}  // namespace evt::stream
