#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <random>

#include "core/log/appender.hpp"
#include "core/log/reader.hpp"
#include "core/log/verify.hpp"
#include "core/stream/stream_index.hpp"
#include "temp_dir.hpp"

using namespace evt;
using namespace evt::stream;

namespace {

std::unique_ptr<log::Log> open_log(const TempDir& d) {
    auto r = log::Log::open(d.str(), log::Log::Access::write);
    REQUIRE(r.ok());
    return std::move(r).value();
}

// Runs fn in one write transaction of a new log, on the stream index and
// runs of a topic id no topic has (99); fn's Status must be ok.
void in_index_txn(const std::function<Status(store::WriteTxn&, MDB_dbi index, MDB_dbi runs)>& fn) {
    TempDir d;
    auto lg = open_log(d);
    auto st = lg->write([&](store::WriteTxn& txn) -> Status {
        EVT_ASSIGN(MDB_dbi index, log::streams_dbi(txn, 99, true));
        EVT_ASSIGN(MDB_dbi runs, log::runs_dbi(txn, 99, true));
        return fn(txn, index, runs);
    });
    REQUIRE(st.ok());
}

// The effective heads, as "slot subject version" lines.
std::string heads_text(store::Txn& txn, MDB_dbi index, std::optional<MDB_dbi> runs) {
    std::string out;
    auto s = each_head(txn, index, runs, [&](const Head& h, std::string_view subject) {
        out += fmt::format("{} {} {}\n", h.slot, subject, h.version);
    });
    REQUIRE(s.ok());
    return out;
}

// One "commit" of head updates for (subject, forced hash) pairs, the way the
// appender makes them: find in slot order, claim new slots, add one run.
void commit(store::WriteTxn& txn, MDB_dbi index, MDB_dbi runs,
            const std::vector<std::pair<std::string, std::uint64_t>>& subjects) {
    auto heads = Heads::open(txn, index, runs);
    REQUIRE(heads.ok());
    std::vector<std::pair<Head, std::string_view>> changed;
    for (const auto& [s, hash] : subjects) {
        auto h = heads->find(s, hash);
        REQUIRE(h.ok());
        if (!h->exists) heads->claim(h->slot, s);
        Head n = *h;
        n.version++;
        n.exists = true;
        changed.emplace_back(n, s);
    }
    std::sort(changed.begin(), changed.end(), [](auto& a, auto& b) { return a.first.slot < b.first.slot; });
    REQUIRE(add_run(txn, index, runs, changed).ok());
}

std::uint64_t run_count(store::Txn& txn, MDB_dbi runs) {
    MDB_stat st;
    REQUIRE(mdb_stat(txn.raw(), runs, &st) == 0);
    return st.ms_entries;
}

}  // namespace

TEST_CASE("stream heads in runs: colliding subjects keep their slots across runs and the merge") {
    in_index_txn([&](store::WriteTxn& txn, MDB_dbi index, MDB_dbi runs) -> Status {
        // x and y collide at 100; z's home (101) is where y's probe ended.
        commit(txn, index, runs, {{"x", 100}, {"y", 100}});
        CHECK(heads_text(txn, index, runs) == "100 x 1\n101 y 1\n");
        commit(txn, index, runs, {{"y", 100}, {"z", 101}});
        CHECK(heads_text(txn, index, runs) == "100 x 1\n101 y 2\n102 z 1\n");
        CHECK(run_count(txn, runs) == 2);
        // Up to kMaxRuns - 1 runs; the next commit folds them in, then adds its own.
        for (std::size_t i = 2; i + 1 < kMaxRuns; ++i) commit(txn, index, runs, {{"z", 101}});
        CHECK(run_count(txn, runs) == kMaxRuns - 1);
        CHECK(heads_text(txn, index, std::nullopt).empty());  // nothing in the index yet
        commit(txn, index, runs, {{"x", 100}});
        CHECK(run_count(txn, runs) == 1);
        CHECK(heads_text(txn, index, std::nullopt) == fmt::format("100 x 1\n101 y 2\n102 z {}\n", kMaxRuns - 2));
        CHECK(heads_text(txn, index, runs) == fmt::format("100 x 2\n101 y 2\n102 z {}\n", kMaxRuns - 2));
        // Lookups after the merge probe the index and the new run together.
        commit(txn, index, runs, {{"z", 101}, {"w", 100}});
        CHECK(heads_text(txn, index, runs) ==
              fmt::format("100 x 2\n101 y 2\n102 z {}\n103 w 1\n", kMaxRuns - 1));
        return {};
    });
}

TEST_CASE("stream versions stay dense over many commits, merges, verify and repair") {
    TempDir d;
    auto lg = open_log(d);
    log::TopicOptions to;
    to.partitions = 3;
    auto t = lg->ensure_topic("t", to);
    REQUIRE(t.ok());
    std::map<std::string, int> count;
    event::Codec c(event::FillOptions{});
    for (int commit_no = 0; commit_no < 3 * static_cast<int>(kMaxRuns) + 2; ++commit_no) {
        log::AppendOptions o;
        log::Appender a(*lg, *t, o);
        log::Batch b(o);
        for (int i = 0; i < 7; ++i) {
            std::string subject = fmt::format("s{}", (commit_no * 7 + i) % 11);
            ++count[subject];
            auto p = c.prepare(fmt::format(R"({{"type":"E","subject":"{}"}})", subject));
            REQUIRE(p.ok());
            REQUIRE(b.add(*p).ok());
        }
        REQUIRE(a.commit(b).ok());
    }
    auto check_streams = [&] {
        for (const auto& [subject, n] : count) {
            std::vector<std::uint64_t> versions;
            auto s = log::read_stream(*lg, "t", subject, {},
                                      [&](const log::RecordView&, std::uint64_t v) -> Result<bool> {
                                          versions.push_back(v);
                                          return true;
                                      });
            REQUIRE(s.ok());
            REQUIRE(versions.size() == static_cast<std::size_t>(n));
            for (std::size_t i = 0; i < versions.size(); ++i) CHECK(versions[i] == i + 1);
        }
        auto v = log::verify(*lg, {});
        REQUIRE(v.ok());
        CHECK(v->problems.empty());
        CHECK(v->streams == count.size());
    };
    check_streams();
    // Runs are pending now (26 commits: merges at commits 8, 15, 22; 5 runs left); repair folds them.
    auto r = log::repair(*lg, {});
    REQUIRE(r.ok());
    CHECK(r->heads == count.size());
    check_streams();
    // --expect-version sees the version in the runs
    log::AppendOptions o;
    o.expect = log::ExpectVersion{log::ExpectVersion::Kind::exact, static_cast<std::uint64_t>(count["s3"])};
    log::Appender a(*lg, *t, o);
    log::Batch b(o);
    auto p = c.prepare(R"({"type":"E","subject":"s3"})");
    REQUIRE(p.ok());
    REQUIRE(b.add(*p).ok());
    REQUIRE(a.commit(b).ok());
}

TEST_CASE("a run shorter than its count says is corrupt, to lookups and to a walk of the heads") {
    in_index_txn([&](store::WriteTxn& txn, MDB_dbi index, MDB_dbi runs) -> Status {
        std::uint64_t key = 1;
        // count 5, but no entries follow
        EVT_TRY(txn.put(runs, std::string_view(reinterpret_cast<const char*>(&key), 8),
                        std::string_view("\x05\0\0\0\0\0\0\0", 8)));
        auto heads = Heads::open(txn, index, runs);
        REQUIRE_FALSE(heads.ok());
        CHECK(heads.error().kind == ErrorKind::corrupt);
        CHECK(heads.error().message.rfind("stream index: a block of stream heads is corrupt", 0) == 0);
        auto walk = each_head(txn, index, runs, [](const Head&, std::string_view) {});
        REQUIRE_FALSE(walk.ok());
        CHECK(walk.error().kind == ErrorKind::corrupt);
        return {};
    });
}

TEST_CASE("a block's lower_bound, galloping from its hint, agrees with std::lower_bound") {
    std::mt19937_64 rng(7);
    for (std::size_t n : {0u, 1u, 2u, 5u, 64u, 1000u}) {
        std::vector<std::uint64_t> slots;
        for (std::size_t i = 0; i < n; ++i) slots.push_back(rng() % 5000);
        std::sort(slots.begin(), slots.end());
        slots.erase(std::unique(slots.begin(), slots.end()), slots.end());
        HeadList heads;
        for (std::uint64_t s : slots) {
            Head h;
            h.slot = s;
            heads.emplace_back(h, "x");
        }
        std::string value(block_size(heads, 0, heads.size()), '\0');
        fill_block(value.data(), heads, 0, heads.size());
        auto b = Block::parse(value);
        REQUIRE(b.ok());
        REQUIRE(b->n == slots.size());
        // targets mostly ascending (as a commit's lookups are), with jumps back
        std::uint64_t t = 0;
        for (int k = 0; k < 3000; ++k) {
            t = rng() % 10 == 0 ? rng() % 5100 : t + rng() % 40;
            auto want = static_cast<std::size_t>(std::lower_bound(slots.begin(), slots.end(), t) - slots.begin());
            REQUIRE(b->lower_bound(t) == want);
        }
    }
}

TEST_CASE("folds split full segments; lookups and the walk find every head across the segments") {
    std::map<std::string, std::uint64_t> version;  // the model
    in_index_txn([&](store::WriteTxn& txn, MDB_dbi index, MDB_dbi runs) -> Status {
        // Subjects in pairs that share a hash (the second probes to +1); pairs 4 apart.
        auto hash_of = [](int i) { return static_cast<std::uint64_t>(i / 2) * 4 + 1000; };
        auto batch = [&](int from, int to) {
            std::vector<std::pair<std::string, std::uint64_t>> subjects;
            for (int i = from; i < to; ++i) {
                subjects.emplace_back(fmt::format("s{}", i), hash_of(i));
                ++version[subjects.back().first];
            }
            commit(txn, index, runs, subjects);
        };
        for (int c = 0; c < 5; ++c) batch(c * 1000, c * 1000 + 1000);  // 5000 subjects
        for (int c = 0; c < 4; ++c) batch(c * 700, c * 700 + 1500);    // updates; the 8th commit folds
        MDB_stat s;
        REQUIRE(mdb_stat(txn.raw(), index, &s) == 0);
        CHECK(s.ms_entries >= 3);  // 5000+ heads do not fit one segment
        // 3000 new subjects inside one segment's range: the next fold must split it
        for (int c = 0; c < 3; ++c) batch(5000 + c * 1000, 6000 + c * 1000);
        for (int c = 0; c < 4; ++c) batch(0, 10);
        REQUIRE(mdb_stat(txn.raw(), index, &s) == 0);
        std::size_t segments = s.ms_entries;
        CHECK(segments >= 5);
        // every segment within bounds
        EVT_ASSIGN(store::Cursor cur, store::Cursor::open(txn, index));
        MDB_val k, v;
        std::size_t in_index = 0;
        for (MDB_cursor_op op = MDB_FIRST;; op = MDB_NEXT) {
            EVT_ASSIGN(bool more, cur.get(k, v, op));
            if (!more) break;
            auto b = Block::parse(store::view(v));
            REQUIRE(b.ok());
            CHECK(b->n >= 1);
            CHECK(b->n <= kSegmentMax);
            in_index += b->n;
        }
        CHECK(in_index <= version.size());
        // the walk: every subject once, in slot order, with the model's version
        std::map<std::string, std::uint64_t> seen, slot_of;
        std::uint64_t last = 0;
        bool first = true;
        EVT_TRY(each_head(txn, index, runs, [&](const Head& h, std::string_view subject) {
            CHECK((first || h.slot > last));
            first = false;
            last = h.slot;
            seen[std::string(subject)] = h.version;
            slot_of[std::string(subject)] = h.slot;
        }));
        CHECK(seen == version);
        // lookups in any order agree with the walk
        EVT_ASSIGN(Heads heads, Heads::open(txn, index, runs));
        for (int i = 7999; i >= 0; i -= 7) {
            std::string subject = fmt::format("s{}", i);
            EVT_ASSIGN(Head h, heads.find(subject, hash_of(i)));
            REQUIRE(h.exists);
            CHECK(h.version == version[subject]);
            CHECK(h.slot == slot_of[subject]);
        }
        // a new subject sharing a full pair's hash gets the first free slot after it
        EVT_ASSIGN(Head free, heads.find("new", hash_of(4000)));
        CHECK_FALSE(free.exists);
        CHECK(free.slot == hash_of(4000) + 2);
        return {};
    });
}

TEST_CASE("segments out of order, or heads out of slot order, are corrupt to a walk and to lookups") {
    // Puts segments (key, slots) as blocks, in place of the index.
    auto put = [](store::WriteTxn& txn, MDB_dbi index,
                  const std::vector<std::pair<std::uint64_t, std::vector<std::uint64_t>>>& segments) -> Status {
        EVT_TRY(txn.drop(index, false));
        for (const auto& [key, slots] : segments) {
            HeadList heads;
            for (std::uint64_t slot : slots) {
                Head h;
                h.slot = slot;
                heads.emplace_back(h, "s");
            }
            std::string value(block_size(heads, 0, heads.size()), '\0');
            fill_block(value.data(), heads, 0, heads.size());
            EVT_TRY(txn.put(index, std::string_view(reinterpret_cast<const char*>(&key), 8), value));
        }
        return {};
    };
    auto walk_error = [](store::WriteTxn& txn, MDB_dbi index) {
        auto s = each_head(txn, index, std::nullopt, [](const Head&, std::string_view) {});
        REQUIRE_FALSE(s.ok());
        CHECK(s.error().kind == ErrorKind::corrupt);
        return s.error().message;
    };
    in_index_txn([&](store::WriteTxn& txn, MDB_dbi index, MDB_dbi) -> Status {
        EVT_TRY(put(txn, index, {{0, {10}}, {40, {50, 60}}}));  // well formed
        CHECK(each_head(txn, index, std::nullopt, [](const Head&, std::string_view) {}).ok());
        EVT_TRY(put(txn, index, {{5, {10}}}));  // the first segment must start at slot 0
        CHECK(walk_error(txn, index) == "stream index: segments out of order");
        EVT_ASSIGN(Heads heads, Heads::open(txn, index, std::nullopt));
        auto h = heads.find("s", 1);
        REQUIRE_FALSE(h.ok());
        CHECK(h.error().message == "stream index: the first segment does not start at slot 0");
        EVT_TRY(put(txn, index, {{0, {10, 3}}}));  // slots must ascend within a block
        CHECK(walk_error(txn, index) == "stream index: heads out of slot order");
        EVT_TRY(put(txn, index, {{0, {10, 30}}, {20, {40}}}));  // and stay below the next segment's key
        CHECK(walk_error(txn, index) == "stream index: segments out of order");
        EVT_TRY(put(txn, index, {{0, {}}}));  // a segment is never empty
        CHECK(walk_error(txn, index).rfind("stream index: a block of stream heads is corrupt", 0) == 0);
        return {};
    });
}
