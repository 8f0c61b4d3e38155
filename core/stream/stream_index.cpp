#include "core/stream/stream_index.hpp"

#include <algorithm>
#include <cstring>

#include "core/log/record.hpp"
#include "core/util/hash.hpp"

namespace evt::stream {

using log::get_le;
using log::put_le;

std::uint64_t subject_hash(std::string_view s) noexcept { return hash64(s); }

namespace {

constexpr std::size_t kBlockHeader = 8;
constexpr std::size_t kBlockIndex = 12;  // per head: u64 slot, u32 position of its record
constexpr std::size_t kHeadRecord = 22;  // u64 version, u64 offset, u32 partition, u16 subject length; the subject follows
// A fold or a rebuild writes segments this full, so that later folds can add
// heads to a segment before it must split.
constexpr std::size_t kSegmentFill = kSegmentMax * 3 / 4;

Error corrupt_block() {
    return Error{ErrorKind::corrupt,
                 "stream index: a block of stream heads is corrupt (evt-check --repair rebuilds it from the records)"};
}

// The first i in [lo, hi) with r.slot(i) >= target (hi if none), by binary search.
template <class Sorted>
std::size_t bisect(const Sorted& r, std::size_t lo, std::size_t hi, std::uint64_t target) {
    while (lo < hi) {
        std::size_t mid = lo + (hi - lo) / 2;
        if (r.slot(mid) < target) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

std::uint64_t key_of(const MDB_val& k) {
    std::uint64_t v;
    std::memcpy(&v, k.mv_data, 8);
    return v;
}

// The index segment covering slot: its key (lo), the last slot it covers (hi)
// and its value. found is false when the index is empty (lo 0, hi ~0).
Status segment_at(store::Cursor& c, std::uint64_t slot, std::uint64_t& lo, std::uint64_t& hi, std::string_view& value,
                  bool& found) {
    std::uint64_t key = slot;
    MDB_val k{8, &key}, v;
    EVT_ASSIGN(bool at_or_after, c.get(k, v, MDB_SET_RANGE));
    if (at_or_after && key_of(k) == slot) {
        lo = slot;
        value = store::view(v);
        MDB_val k2, v2;
        EVT_ASSIGN(bool next, c.get(k2, v2, MDB_NEXT));
        hi = next ? key_of(k2) - 1 : ~0ull;
        found = true;
        return {};
    }
    if (at_or_after) {
        hi = key_of(k) - 1;
        EVT_ASSIGN(bool prev, c.get(k, v, MDB_PREV));
        if (!prev) return Error{ErrorKind::corrupt, "stream index: the first segment does not start at slot 0"};
    } else {
        hi = ~0ull;
        EVT_ASSIGN(bool last, c.get(k, v, MDB_LAST));
        if (!last) {
            lo = 0;
            value = {};
            found = false;
            return {};
        }
    }
    lo = key_of(k);
    value = store::view(v);
    found = true;
    return {};
}

Result<std::vector<Block>> load_runs(store::Txn& txn, MDB_dbi runs) {
    std::vector<Block> out;
    EVT_ASSIGN(store::Cursor c, store::Cursor::open(txn, runs));
    MDB_val k, v;
    for (MDB_cursor_op op = MDB_FIRST;; op = MDB_NEXT) {
        EVT_ASSIGN(bool more, c.get(k, v, op));
        if (!more) break;
        EVT_ASSIGN(Block b, Block::parse(store::view(v)));
        out.push_back(b);
    }
    return out;
}

// The effective entries of runs (oldest first) in slot order: (run, entry),
// the newest run's per slot. Run: Block or Heads::LegacyRun.
template <class Run>
std::vector<std::pair<std::uint32_t, std::uint32_t>> newest_per_slot(const std::vector<Run>& runs) {
    std::vector<std::pair<std::uint32_t, std::uint32_t>> out;
    std::size_t total = 0;
    for (const Run& r : runs) total += r.n;
    out.reserve(total);
    // each run's next slot, ~0 when it is done (a real slot ~0 is told apart by pos)
    std::vector<std::uint64_t> next(runs.size());
    std::vector<std::uint32_t> pos(runs.size(), 0);
    for (std::size_t r = 0; r < runs.size(); ++r) next[r] = runs[r].n ? runs[r].slot(0) : ~0ull;
    auto done = [&](std::size_t r) { return pos[r] >= runs[r].n; };
    for (;;) {
        std::uint64_t best = ~0ull;
        bool any = false;
        for (std::size_t r = 0; r < runs.size(); ++r)
            if (!done(r) && (!any || next[r] < best)) {
                best = next[r];
                any = true;
            }
        if (!any) break;
        std::uint32_t from = 0;
        for (std::size_t r = 0; r < runs.size(); ++r)
            if (!done(r) && next[r] == best) {
                from = static_cast<std::uint32_t>(r);  // runs are oldest first: the last one wins
                ++pos[r];
                next[r] = done(r) ? ~0ull : runs[r].slot(pos[r]);
            }
        out.emplace_back(from, pos[from] - 1);
    }
    return out;
}

// The effective heads of the runs in slot order; the subjects point into the runs.
Result<HeadList> effective_runs(const std::vector<Block>& runs) {
    auto eff = newest_per_slot(runs);
    HeadList out;
    out.reserve(eff.size());
    for (auto [r, i] : eff) {
        std::string_view subject;
        if (!runs[r].subject(i, subject)) return corrupt_block();
        out.emplace_back(runs[r].head(i), subject);
    }
    return out;
}

// Sorted heads as index segments: one block if they are at most
// max_per_piece, else pieces of at most kSegmentFill heads (of about equal
// size), each keyed by its first slot but the first, keyed `first_key`. Built
// before anything is written, as the subjects may point into the segment
// being replaced.
std::vector<std::pair<std::uint64_t, std::string>> segments_of(const HeadList& heads, std::uint64_t first_key,
                                                               std::size_t max_per_piece) {
    std::vector<std::pair<std::uint64_t, std::string>> out;
    std::size_t total = heads.size();
    if (total == 0) return out;
    std::size_t pieces = total <= max_per_piece ? 1 : (total + kSegmentFill - 1) / kSegmentFill;
    for (std::size_t p = 0; p < pieces; ++p) {
        std::size_t a = total * p / pieces, b = total * (p + 1) / pieces;
        std::string block(block_size(heads, a, b), '\0');
        fill_block(block.data(), heads, a, b);
        out.emplace_back(p == 0 ? first_key : heads[a].first.slot, std::move(block));
    }
    return out;
}

Status put_segments(store::Cursor& c, const std::vector<std::pair<std::uint64_t, std::string>>& segments) {
    for (const auto& [key, block] : segments) {
        std::uint64_t k = key;
        MDB_val kv{8, &k}, v{block.size(), nullptr};
        EVT_TRY(c.put(kv, v, MDB_RESERVE));
        std::memcpy(v.mv_data, block.data(), block.size());
    }
    return {};
}

}  // namespace

// ---- blocks ----

Result<Block> Block::parse(std::string_view value) {
    if (value.size() < kBlockHeader) return corrupt_block();
    Block b;
    b.base = value.data();
    b.size = value.size();
    b.n = get_le<std::uint32_t>(b.base);
    if (kBlockHeader + static_cast<std::uint64_t>(b.n) * kBlockIndex > b.size) return corrupt_block();
    return b;
}

std::uint64_t Block::slot(std::size_t i) const { return get_le<std::uint64_t>(base + kBlockHeader + 8 * i); }

// The record of entry i, or nullptr when it (or its subject) leaves the block.
const char* Block::record(std::size_t i) const {
    std::size_t at = get_le<std::uint32_t>(base + kBlockHeader + 8 * static_cast<std::size_t>(n) + 4 * i);
    if (at + kHeadRecord > size) return nullptr;
    if (at + kHeadRecord + get_le<std::uint16_t>(base + at + 20) > size) return nullptr;
    return base + at;
}

Head Block::head(std::size_t i) const {
    Head h;
    h.slot = slot(i);
    if (const char* r = record(i)) {
        h.version = get_le<std::uint64_t>(r);
        h.last_offset = get_le<std::uint64_t>(r + 8);
        h.last_partition = get_le<std::uint32_t>(r + 16);
        h.exists = true;
    }
    return h;
}

bool Block::subject(std::size_t i, std::string_view& out) const {
    const char* r = record(i);
    if (!r) return false;
    out = {r + kHeadRecord, get_le<std::uint16_t>(r + 20)};
    return true;
}

std::size_t Block::lower_bound(std::uint64_t target) {
    std::size_t lo, hi;
    if (hint > n) hint = n;
    if (hint < n && slot(hint) < target) {
        // gallop forward: lookups come in slot order, the answer is near
        lo = hint + 1;
        for (std::size_t step = 1;; step *= 2) {
            std::size_t probe = lo + step - 1;
            if (probe >= n) {
                hi = n;
                break;
            }
            if (slot(probe) >= target) {
                hi = probe;
                break;
            }
            lo = probe + 1;
        }
    } else if (hint == 0 || slot(hint - 1) < target) {
        return hint;  // the hint is the answer
    } else {
        lo = 0;
        hi = hint - 1;
    }
    hint = bisect(*this, lo, hi, target);
    return hint;
}

std::size_t block_size(const HeadList& heads, std::size_t from, std::size_t to) {
    std::size_t bytes = kBlockHeader + (to - from) * kBlockIndex;
    for (std::size_t i = from; i < to; ++i) bytes += kHeadRecord + heads[i].second.size();
    return bytes;
}

void fill_block(char* out, const HeadList& heads, std::size_t from, std::size_t to) {
    std::size_t n = to - from;
    put_le<std::uint32_t>(out, static_cast<std::uint32_t>(n));
    put_le<std::uint32_t>(out + 4, 0);
    char* slots = out + kBlockHeader;
    char* positions = slots + 8 * n;
    std::size_t at = kBlockHeader + n * kBlockIndex;
    for (std::size_t i = 0; i < n; ++i) {
        const auto& [h, s] = heads[from + i];
        put_le<std::uint64_t>(slots + 8 * i, h.slot);
        put_le<std::uint32_t>(positions + 4 * i, static_cast<std::uint32_t>(at));
        char* r = out + at;
        put_le<std::uint64_t>(r, h.version);
        put_le<std::uint64_t>(r + 8, h.last_offset);
        put_le<std::uint32_t>(r + 16, h.last_partition);
        put_le<std::uint16_t>(r + 20, static_cast<std::uint16_t>(s.size()));
        std::memcpy(r + kHeadRecord, s.data(), s.size());
        at += kHeadRecord + s.size();
    }
}

// ---- the legacy layout (format versions 2 and 3) ----
//
// s: maps the u64 slot to a head value: u64 version, u32 partition, u64
// offset, the subject's bytes. h: (version 3) holds runs: u32 count; count
// 32-byte entries sorted by slot (u64 slot, u64 version, u32 partition, u64
// offset, u32 subject position); at each subject position, u16 length and
// the subject's bytes.

namespace {
constexpr std::size_t kLegacyHeadFixed = 20;
constexpr std::size_t kLegacyRunEntry = 32;

Head decode_legacy_head(std::uint64_t slot, std::string_view value) {
    Head h;
    h.slot = slot;
    h.exists = true;
    h.version = get_le<std::uint64_t>(value.data());
    h.last_partition = get_le<std::uint32_t>(value.data() + 8);
    h.last_offset = get_le<std::uint64_t>(value.data() + 12);
    return h;
}

Result<std::vector<Heads::LegacyRun>> load_legacy_runs(store::Txn& txn, MDB_dbi runs) {
    std::vector<Heads::LegacyRun> out;
    EVT_ASSIGN(store::Cursor c, store::Cursor::open(txn, runs));
    MDB_val k, v;
    for (MDB_cursor_op op = MDB_FIRST;; op = MDB_NEXT) {
        EVT_ASSIGN(bool more, c.get(k, v, op));
        if (!more) break;
        Heads::LegacyRun r;
        r.base = static_cast<const char*>(v.mv_data);
        if (v.mv_size < 4) return Error{ErrorKind::corrupt, "stream index: a run is too short"};
        r.n = get_le<std::uint32_t>(r.base);
        if (v.mv_size < 4 + static_cast<std::size_t>(r.n) * kLegacyRunEntry)
            return Error{ErrorKind::corrupt, "stream index: a run is too short"};
        out.push_back(r);
    }
    return out;
}
}  // namespace

std::uint64_t Heads::LegacyRun::slot(std::size_t i) const { return get_le<std::uint64_t>(base + 4 + i * kLegacyRunEntry); }

Head Heads::LegacyRun::head(std::size_t i) const {
    const char* e = base + 4 + i * kLegacyRunEntry;
    Head h;
    h.slot = get_le<std::uint64_t>(e);
    h.version = get_le<std::uint64_t>(e + 8);
    h.last_partition = get_le<std::uint32_t>(e + 16);
    h.last_offset = get_le<std::uint64_t>(e + 20);
    h.exists = true;
    return h;
}

std::string_view Heads::LegacyRun::subject(std::size_t i) const {
    const char* at = base + get_le<std::uint32_t>(base + 4 + i * kLegacyRunEntry + 28);
    return {at + 2, get_le<std::uint16_t>(at)};
}

std::size_t Heads::LegacyRun::lower_bound(std::uint64_t target) {
    std::size_t lo = 0, hi = n;
    if (hint < n && slot(hint) < target) lo = hint + 1;
    else if (hint <= n && (hint == 0 || slot(hint - 1) < target)) lo = hi = hint;
    hint = bisect(*this, lo, hi, target);
    return hint;
}

Result<Head> Heads::find_legacy(std::string_view subject, std::uint64_t hash) {
    for (std::uint64_t slot = hash;; ++slot) {
        if (slot - hash > 1024) return Error{ErrorKind::corrupt, "stream index: too many colliding subjects"};
        bool other = false;
        for (auto r = legacy_runs_.rbegin(); r != legacy_runs_.rend(); ++r) {
            std::size_t i = r->lower_bound(slot);
            if (i < r->n && r->slot(i) == slot) {
                if (r->subject(i) == subject) return r->head(i);
                other = true;
                break;
            }
        }
        if (other) continue;
        std::uint64_t key = slot;
        MDB_val k{8, &key}, v;
        EVT_ASSIGN(bool found, index_.get(k, v, MDB_SET_KEY));
        Head h;
        h.slot = slot;
        if (!found) return h;
        std::string_view value = store::view(v);
        if (value.size() < kLegacyHeadFixed) return Error{ErrorKind::corrupt, "stream index head is too short"};
        if (value.substr(kLegacyHeadFixed) == subject) return decode_legacy_head(slot, value);
    }
}

namespace {
Status each_legacy_head(store::Txn& txn, MDB_dbi index, std::optional<MDB_dbi> runs,
                        const std::function<void(const Head&, std::string_view subject)>& fn) {
    std::vector<Heads::LegacyRun> all;
    if (runs) {
        EVT_ASSIGN(all, load_legacy_runs(txn, *runs));
    }
    auto eff = newest_per_slot(all);
    std::size_t j = 0;
    auto emit = [&] {
        fn(all[eff[j].first].head(eff[j].second), all[eff[j].first].subject(eff[j].second));
        ++j;
    };
    EVT_ASSIGN(store::Cursor c, store::Cursor::open(txn, index));
    MDB_val k, v;
    for (MDB_cursor_op op = MDB_FIRST;; op = MDB_NEXT) {
        EVT_ASSIGN(bool more, c.get(k, v, op));
        if (!more) break;
        std::uint64_t slot = key_of(k);
        while (j < eff.size() && all[eff[j].first].slot(eff[j].second) < slot) emit();
        if (j < eff.size() && all[eff[j].first].slot(eff[j].second) == slot) {
            emit();
            continue;
        }
        std::string_view value = store::view(v);
        if (value.size() < kLegacyHeadFixed) {
            Head h;  // exists = false: reported by the caller as too short
            h.slot = slot;
            fn(h, {});
            continue;
        }
        fn(decode_legacy_head(slot, value), value.substr(kLegacyHeadFixed));
    }
    while (j < eff.size()) emit();
    return {};
}
}  // namespace

// ---- lookups ----

Result<Heads> Heads::open(store::Txn& txn, MDB_dbi index, std::optional<MDB_dbi> runs, Layout layout) {
    Heads h;
    h.layout_ = layout;
    EVT_ASSIGN(h.index_, store::Cursor::open(txn, index));
    if (runs && layout == Layout::blocks) {
        EVT_ASSIGN(h.runs_, load_runs(txn, *runs));
    } else if (runs) {
        EVT_ASSIGN(h.legacy_runs_, load_legacy_runs(txn, *runs));
    }
    return h;
}

Status Heads::locate(std::uint64_t slot) {
    if (slot >= seg_lo_ && slot <= seg_hi_) return {};
    std::string_view value;
    bool found = false;
    EVT_TRY(segment_at(index_, slot, seg_lo_, seg_hi_, value, found));
    if (!found) {
        seg_ = Block{};
        return {};
    }
    EVT_ASSIGN(seg_, Block::parse(value));
    return {};
}

Result<Head> Heads::find(std::string_view subject, std::uint64_t hash) {
    if (layout_ == Layout::legacy) return find_legacy(subject, hash);
    for (std::uint64_t slot = hash;; ++slot) {
        if (slot - hash > 1024) return Error{ErrorKind::corrupt, "stream index: too many colliding subjects"};
        if (!claimed_.empty() && slot <= max_claimed_) {
            auto by_slot = [](const std::pair<std::uint64_t, std::string_view>& c, std::uint64_t v) { return c.first < v; };
            auto c = claims_sorted_ ? std::lower_bound(claimed_.begin(), claimed_.end(), slot, by_slot)
                                    : std::find_if(claimed_.begin(), claimed_.end(), [&](const auto& e) { return e.first == slot; });
            if (c != claimed_.end() && c->first == slot) {
                if (c->second == subject) return Error{ErrorKind::internal, "stream index: a subject claimed twice"};
                continue;
            }
        }
        bool other = false;
        std::string_view s;
        for (auto r = runs_.rbegin(); r != runs_.rend(); ++r) {
            std::size_t i = r->lower_bound(slot);
            if (i < r->n && r->slot(i) == slot) {
                if (!r->subject(i, s)) return corrupt_block();
                if (s == subject) return r->head(i);
                other = true;  // the slot is another subject's (in every run and in the index)
                break;
            }
        }
        if (other) continue;
        EVT_TRY(locate(slot));
        std::size_t i = seg_.lower_bound(slot);
        if (i < seg_.n && seg_.slot(i) == slot) {
            if (!seg_.subject(i, s)) return corrupt_block();
            if (s == subject) return seg_.head(i);
            continue;
        }
        Head h;
        h.slot = slot;
        return h;
    }
}

// ---- writes ----

Status add_run(store::WriteTxn& txn, MDB_dbi index, MDB_dbi runs, const HeadList& heads) {
    if (heads.empty()) return {};
    for (const auto& [h, s] : heads)
        if (s.size() > 0xffff) return Error{ErrorKind::invalid, "'subject' is longer than 65535 bytes"};
    std::size_t bytes = block_size(heads, 0, heads.size());
    if (bytes > 0xffffffffu) return Error{ErrorKind::invalid, "stream index: a run over 4 GiB"};
    MDB_stat st;
    if (int rc = mdb_stat(txn.raw(), runs, &st)) return store::lmdb_error(rc, "counting stream-head runs");
    std::uint64_t last = 0;
    if (st.ms_entries > 0) {
        EVT_ASSIGN(store::Cursor c, store::Cursor::open(txn, runs));
        MDB_val k, v;
        EVT_ASSIGN(bool any, c.get(k, v, MDB_LAST));
        if (any) last = key_of(k);
    }
    if (st.ms_entries + 1 >= kMaxRuns) {
        // Fold the runs of earlier commits (clean pages of the map) before
        // this one is written: the run being written stays out of the merge.
        EVT_TRY(merge_runs(txn, index, runs));
        last = 0;
    }
    std::uint64_t key = last + 1;
    MDB_val k{8, &key}, v{bytes, nullptr};
    EVT_ASSIGN(store::Cursor c, store::Cursor::open(txn, runs));
    EVT_TRY(c.put(k, v, MDB_RESERVE | MDB_APPEND));
    fill_block(static_cast<char*>(v.mv_data), heads, 0, heads.size());
    return {};
}

Status merge_runs(store::WriteTxn& txn, MDB_dbi index, MDB_dbi runs) {
    EVT_ASSIGN(auto all, load_runs(txn, runs));
    if (all.empty()) return {};
    // The runs' pages stay readable until the drop at the end.
    EVT_ASSIGN(HeadList changes, effective_runs(all));
    EVT_ASSIGN(store::Cursor c, store::Cursor::open(txn, index));
    HeadList merged;
    std::size_t j = 0;
    while (j < changes.size()) {
        std::uint64_t lo = 0, hi = ~0ull;
        std::string_view value;
        bool found = false;
        EVT_TRY(segment_at(c, changes[j].first.slot, lo, hi, value, found));
        std::size_t end = j;
        while (end < changes.size() && changes[end].first.slot <= hi) ++end;
        Block seg;
        if (found) {
            EVT_ASSIGN(seg, Block::parse(value));
        }
        // The segment's heads with the changes in its range, in slot order.
        merged.clear();
        merged.reserve(seg.n + (end - j));
        std::size_t i = 0;
        std::string_view s;
        while (i < seg.n || j < end) {
            if (j == end || (i < seg.n && seg.slot(i) < changes[j].first.slot)) {
                if (!seg.subject(i, s)) return corrupt_block();
                merged.emplace_back(seg.head(i), s);
                ++i;
                continue;
            }
            if (i < seg.n && seg.slot(i) == changes[j].first.slot) ++i;  // the run's head replaces it
            merged.push_back(changes[j]);
            ++j;
        }
        EVT_TRY(put_segments(c, segments_of(merged, lo, kSegmentMax)));
    }
    return txn.drop(runs, false);
}

Status rebuild_index(store::WriteTxn& txn, MDB_dbi index, std::optional<MDB_dbi> runs, std::vector<NewHead> heads) {
    struct Item {
        std::uint64_t hash;
        std::size_t i;
    };
    std::vector<Item> order;
    order.reserve(heads.size());
    for (std::size_t i = 0; i < heads.size(); ++i) {
        if (heads[i].subject.size() > 0xffff) return Error{ErrorKind::invalid, "'subject' is longer than 65535 bytes"};
        order.push_back({subject_hash(heads[i].subject), i});
    }
    std::sort(order.begin(), order.end(), [&](const Item& a, const Item& b) {
        return a.hash != b.hash ? a.hash < b.hash : heads[a.i].subject < heads[b.i].subject;
    });
    // Slots by linear probing: in hash order, every slot from a subject's
    // hash up to the last one given out is taken.
    HeadList list;
    list.reserve(order.size());
    for (const Item& it : order) {
        std::uint64_t slot = it.hash;
        if (!list.empty() && list.back().first.slot >= slot) slot = list.back().first.slot + 1;
        if (slot - it.hash > 1024) return Error{ErrorKind::corrupt, "stream index: too many colliding subjects"};
        const NewHead& n = heads[it.i];
        Head h;
        h.slot = slot;
        h.version = n.version;
        h.last_partition = n.partition;
        h.last_offset = n.offset;
        h.exists = true;
        list.emplace_back(h, n.subject);
    }
    EVT_TRY(txn.drop(index, false));
    if (runs) EVT_TRY(txn.drop(*runs, false));
    EVT_ASSIGN(store::Cursor c, store::Cursor::open(txn, index));
    return put_segments(c, segments_of(list, 0, kSegmentFill));
}

Status upgrade_index(store::WriteTxn& txn, MDB_dbi index, std::optional<MDB_dbi> runs) {
    std::vector<NewHead> heads;
    EVT_TRY(each_legacy_head(txn, index, runs, [&](const Head& h, std::string_view subject) {
        // (a head too short to read is left out; evt-check --repair restores it from the records)
        if (h.exists) heads.push_back(NewHead{std::string(subject), h.version, h.last_partition, h.last_offset});
    }));
    return rebuild_index(txn, index, runs, std::move(heads));
}

// ---- walks ----

Status each_head(store::Txn& txn, MDB_dbi index, std::optional<MDB_dbi> runs, Layout layout,
                 const std::function<void(const Head&, std::string_view subject)>& fn) {
    if (layout == Layout::legacy) return each_legacy_head(txn, index, runs, fn);
    std::vector<Block> all;
    HeadList changes;
    if (runs) {
        EVT_ASSIGN(all, load_runs(txn, *runs));
        EVT_ASSIGN(changes, effective_runs(all));
    }
    std::size_t j = 0;
    EVT_ASSIGN(store::Cursor c, store::Cursor::open(txn, index));
    MDB_val k, v;
    bool first = true;
    std::uint64_t prev = 0;  // the last slot seen in the index (segments are never empty)
    for (MDB_cursor_op op = MDB_FIRST;; op = MDB_NEXT) {
        EVT_ASSIGN(bool more, c.get(k, v, op));
        if (!more) break;
        std::uint64_t lo = key_of(k);
        if (first ? lo != 0 : lo <= prev)
            return Error{ErrorKind::corrupt, "stream index: segments out of order"};
        EVT_ASSIGN(Block b, Block::parse(store::view(v)));
        if (b.n == 0) return corrupt_block();
        for (std::size_t i = 0; i < b.n; ++i) {
            std::uint64_t slot = b.slot(i);
            if (slot < lo || (!first && slot <= prev))
                return Error{ErrorKind::corrupt, "stream index: heads out of slot order"};
            while (j < changes.size() && changes[j].first.slot < slot) fn(changes[j].first, changes[j].second), ++j;
            if (j < changes.size() && changes[j].first.slot == slot) {
                fn(changes[j].first, changes[j].second);
                ++j;
            } else {
                std::string_view s;
                if (!b.subject(i, s)) return corrupt_block();
                fn(b.head(i), s);
            }
            prev = slot;
            first = false;
        }
    }
    for (; j < changes.size(); ++j) fn(changes[j].first, changes[j].second);
    return {};
}

}  // namespace evt::stream
