// evt-check's verifier: every planted corruption is found, at its place;
// repair rebuilds the derived indexes.
#include <catch2/catch.hpp>

#include <algorithm>

#include "core/log/appender.hpp"
#include "core/log/retention.hpp"
#include "core/log/verify.hpp"
#include "core/stream/stream_index.hpp"
#include "temp_dir.hpp"

using namespace evt;
using namespace evt::log;

namespace {

struct Fixture {
    TempDir d;
    std::unique_ptr<Log> lg;
    TopicConfig t;
    Fixture(TopicOptions to = TopicOptions{3}, bool idempotent = false) {
        auto r = Log::open(d.str(), Log::Access::write);
        REQUIRE(r.ok());
        lg = std::move(r).value();
        auto c = lg->create_topic("orders", to);
        REQUIRE(c.ok());
        t = *c;
        AppendOptions o;
        o.idempotent = idempotent;
        Appender a(*lg, t, o);
        Batch b(o);
        event::Codec codec(event::FillOptions{});
        for (int i = 0; i < 60; ++i) {
            std::string line = R"({"specversion":"1.0","id":"e)" + std::to_string(i) +
                               R"(","source":"/t","type":"Placed","subject":"order-)" + std::to_string(i % 6) +
                               R"(","data":{"n":)" + std::to_string(i) + "}}";
            auto p = codec.prepare(line);
            REQUIRE(p.ok());
            REQUIRE(b.add(*p).ok());
        }
        REQUIRE(a.commit(b).ok());
    }
    std::vector<Problem> problems() {
        auto r = verify(*lg, {});
        REQUIRE(r.ok());
        return r->problems;
    }
    // Folds the runs of the commits into the index (the stream heads' s:, or
    // with ids the id heads' e:), so that a test can edit the heads there.
    void fold_heads(bool ids = false) {
        REQUIRE(lg->write([&](store::WriteTxn& txn) -> Status {
                      EVT_ASSIGN(MDB_dbi index, ids ? id_heads_dbi(txn, t.id, false) : streams_dbi(txn, t.id, false));
                      EVT_ASSIGN(MDB_dbi runs, ids ? id_runs_dbi(txn, t.id, false) : runs_dbi(txn, t.id, false));
                      return stream::merge_runs(txn, index, runs);
                  }).ok());
    }
    // Folds the runs, then rewrites the index segment of the fixture's heads
    // (few: all in the first segment, key 0) with what fn makes of them.
    void edit_heads(const std::function<void(stream::HeadList&)>& fn, bool ids = false) {
        fold_heads(ids);
        edit(ids ? id_heads_db(t.id) : streams_db(t.id), MDB_INTEGERKEY, [&](MDB_txn* txn, MDB_dbi dbi) {
            std::uint64_t key = 0;
            MDB_val k{8, &key}, v;
            REQUIRE(mdb_get(txn, dbi, &k, &v) == 0);
            std::string old(static_cast<const char*>(v.mv_data), v.mv_size);
            auto b = stream::Block::parse(old);
            REQUIRE(b.ok());
            stream::HeadList heads;
            for (std::size_t i = 0; i < b->n; ++i) {
                std::string_view s;
                REQUIRE(b->subject(i, s));
                heads.emplace_back(b->head(i), s);
            }
            fn(heads);
            std::string block(stream::block_size(heads, 0, heads.size()), '\0');
            stream::fill_block(block.data(), heads, 0, heads.size());
            MDB_val nv{block.size(), block.data()};
            REQUIRE(mdb_put(txn, dbi, &k, &nv, 0) == 0);
        });
    }
    // Runs fn on the raw database of a name in a write transaction.
    void edit(const std::string& db, unsigned flags, const std::function<void(MDB_txn*, MDB_dbi)>& fn) {
        REQUIRE(lg->write([&](store::WriteTxn& txn) -> Status {
                      auto dbi = txn.dbi(db, false, flags);
                      REQUIRE(dbi.ok());
                      fn(txn.raw(), *dbi);
                      return {};
                  }).ok());
    }
};

bool found_at(const std::vector<Problem>& ps, std::uint32_t p, std::uint64_t off, const std::string& what) {
    for (const auto& x : ps)
        if (x.topic == "orders" && x.has_position && x.partition == p && x.offset == off &&
            x.what.find(what) != std::string::npos)
            return true;
    return false;
}

}  // namespace

TEST_CASE("a clean log verifies clean") {
    Fixture f;
    CHECK(f.problems().empty());
}

TEST_CASE("a flipped byte in a record is found at its offset") {
    Fixture f;
    f.edit(records_db(f.t.id, 1), MDB_INTEGERKEY, [](MDB_txn* txn, MDB_dbi dbi) {
        std::uint64_t off = 5;
        MDB_val k{8, &off}, v;
        REQUIRE(mdb_get(txn, dbi, &k, &v) == 0);
        std::string copy(static_cast<const char*>(v.mv_data), v.mv_size);
        copy[copy.size() - 3] ^= 0x20;
        MDB_val nv{copy.size(), copy.data()};
        REQUIRE(mdb_put(txn, dbi, &k, &nv, 0) == 0);
    });
    auto ps = f.problems();
    CHECK(found_at(ps, 1, 5, "CRC mismatch"));
}

TEST_CASE("an offset gap is found where it starts") {
    Fixture f;
    f.edit(records_db(f.t.id, 0), MDB_INTEGERKEY, [](MDB_txn* txn, MDB_dbi dbi) {
        std::uint64_t off = 7;
        MDB_val k{8, &off};
        REQUIRE(mdb_del(txn, dbi, &k, nullptr) == 0);
    });
    auto ps = f.problems();
    CHECK(found_at(ps, 0, 8, "offsets are not dense"));
}

TEST_CASE("a removed stream-head entry is found at the stream's last record; repair rebuilds it") {
    Fixture f;
    std::uint32_t head_p = 0;
    std::uint64_t head_off = 0;
    f.edit_heads([&](stream::HeadList& heads) {
        auto it = std::find_if(heads.begin(), heads.end(), [](const auto& h) { return h.second == "order-2"; });
        REQUIRE(it != heads.end());
        head_p = it->first.last_partition;
        head_off = it->first.last_offset;
        heads.erase(it);
    });
    auto ps = f.problems();
    CHECK(found_at(ps, head_p, head_off, "has no stream head"));
    auto r = repair(*f.lg, {});
    REQUIRE(r.ok());
    CHECK(r->heads == 6);
    CHECK(f.problems().empty());
}

TEST_CASE("a wrong stream head is found") {
    Fixture f;
    f.edit_heads([&](stream::HeadList& heads) {
        auto it = std::find_if(heads.begin(), heads.end(), [](const auto& h) { return h.second == "order-3"; });
        REQUIRE(it != heads.end());
        REQUIRE(it->first.version == 10);
        it->first.version = 3;
    });
    bool any = false;
    for (const auto& p : f.problems()) any |= p.what.find("head of stream 'order-3'") != std::string::npos;
    CHECK(any);
}

TEST_CASE("an id-index entry that names another record is found; repair drops it") {
    Fixture f(TopicOptions{3}, true);
    CHECK(f.problems().empty());
    // e1's head now names the record at 0/0 (another event's) with another time
    f.edit_heads(
        [&](stream::HeadList& heads) {
            auto it = std::find_if(heads.begin(), heads.end(), [](const auto& h) { return h.second == "e1"; });
            REQUIRE(it != heads.end());
            it->first.version = 1;
            it->first.last_partition = 0;
            it->first.last_offset = 0;
        },
        true);
    auto ps = f.problems();
    CHECK(found_at(ps, 0, 0, "id-index entry does not match"));
    auto r = repair(*f.lg, {});
    REQUIRE(r.ok());
    CHECK(r->ids_dropped == 1);
    CHECK(f.problems().empty());
}

TEST_CASE("a corrupt id index stops verify; repair rebuilds it from the records' ids") {
    Fixture f(TopicOptions{3}, true);
    f.fold_heads(true);
    f.edit(id_heads_db(f.t.id), MDB_INTEGERKEY, [&](MDB_txn* txn, MDB_dbi dbi) {
        std::uint64_t key = 0;
        char value[8] = {};
        put_le<std::uint32_t>(value, 1000);  // 1000 heads claimed, none there
        MDB_val k{8, &key}, v{8, value};
        REQUIRE(mdb_put(txn, dbi, &k, &v, 0) == 0);
    });
    auto bad = verify(*f.lg, {});
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().kind == ErrorKind::corrupt);
    auto r = repair(*f.lg, {});
    REQUIRE(r.ok());
    auto v = verify(*f.lg, {});
    REQUIRE(v.ok());
    CHECK(v->problems.empty());
    CHECK(v->ids == 60);
}

TEST_CASE("compacted topics: gaps are fine, a lost key-index entry is not") {
    TopicOptions to{1};
    to.compact = true;
    Fixture f(to);  // 60 events over 6 subjects (the keys): 6 records stay
    auto ps = f.problems();
    CHECK(ps.empty());
    std::uint64_t kept = 0;
    {
        auto txn = f.lg->env().read();
        REQUIRE(txn.ok());
        auto info = f.lg->partition_info(*txn, f.t, 0);
        REQUIRE(info.ok());
        CHECK(info->start == 54);
        CHECK(info->end == 60);
        kept = 6;
    }
    f.edit(keys_db(f.t.id), MDB_INTEGERKEY, [&](MDB_txn* txn, MDB_dbi dbi) {
        MDB_cursor* c;
        REQUIRE(mdb_cursor_open(txn, dbi, &c) == 0);
        MDB_val k, v;
        REQUIRE(mdb_cursor_get(c, &k, &v, MDB_FIRST) == 0);
        // an entry that is not the partition's last record
        while (get_le<std::uint64_t>(static_cast<const char*>(v.mv_data) + 4) == 59)
            REQUIRE(mdb_cursor_get(c, &k, &v, MDB_NEXT) == 0);
        REQUIRE(mdb_cursor_del(c, 0) == 0);
        mdb_cursor_close(c);
    });
    ps = f.problems();
    REQUIRE(ps.size() == 1);
    CHECK(ps[0].what.find("not its key's latest") != std::string::npos);
    auto r = repair(*f.lg, {});
    REQUIRE(r.ok());
    CHECK(r->keys == kept);
    CHECK(f.problems().empty());
}
