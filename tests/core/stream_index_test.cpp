#include <catch2/catch.hpp>

#include <map>

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
    TempDir d;
    auto lg = open_log(d);
    auto st = lg->write([&](store::WriteTxn& txn) -> Status {
        EVT_ASSIGN(MDB_dbi index, log::streams_dbi(txn, 99, true));
        EVT_ASSIGN(MDB_dbi runs, log::runs_dbi(txn, 99, true));
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
    REQUIRE(st.ok());
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
    TempDir d;
    auto lg = open_log(d);
    auto st = lg->write([&](store::WriteTxn& txn) -> Status {
        EVT_ASSIGN(MDB_dbi index, log::streams_dbi(txn, 99, true));
        EVT_ASSIGN(MDB_dbi runs, log::runs_dbi(txn, 99, true));
        std::uint64_t key = 1;
        // count 5, but no entries follow
        EVT_TRY(txn.put(runs, std::string_view(reinterpret_cast<const char*>(&key), 8),
                        std::string_view("\x05\0\0\0", 4)));
        auto heads = Heads::open(txn, index, runs);
        REQUIRE_FALSE(heads.ok());
        CHECK(heads.error().kind == ErrorKind::corrupt);
        CHECK(heads.error().message == "stream index: a run is too short");
        auto walk = each_head(txn, index, runs, [](const Head&, std::string_view) {});
        REQUIRE_FALSE(walk.ok());
        CHECK(walk.error().kind == ErrorKind::corrupt);
        return {};
    });
    REQUIRE(st.ok());
}
