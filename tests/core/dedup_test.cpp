#include <catch2/catch.hpp>

#include <set>

#include "core/chaos/chaos.hpp"
#include "core/dedup/dedup.hpp"
#include "core/dedup/key.hpp"
#include "core/dedup/seen_set.hpp"
#include "core/dedup/store.hpp"
#include "core/util/hash.hpp"
#include "temp_dir.hpp"

using namespace evt;

TEST_CASE("keys: default id, several paths joined, missing paths reported") {
    auto k = dedup::KeyExtractor::make({});
    REQUIRE(k.ok());
    std::string_view key;
    REQUIRE(*k->extract(R"({"id":"a1","source":"/s"})", key));
    CHECK(key == "a1");
    auto both = dedup::KeyExtractor::make({"source,id"});
    REQUIRE(*both->extract(R"({"id":"a1","source":"/s"})", key));
    CHECK(key == "2:/s2:a1");
    auto nested = dedup::KeyExtractor::make({".data.n"});
    REQUIRE(*nested->extract(R"({"data":{"n":12}})", key));
    CHECK(key == "12");
    CHECK_FALSE(*k->extract(R"({"x":1})", key));
    CHECK(k->extract("[1]", key).error().kind == ErrorKind::invalid);
    CHECK(k->extract("{", key).error().kind == ErrorKind::invalid);
}

TEST_CASE("the seen-set is exact and forgets keys older than its window") {
    dedup::SeenSet s(1000);  // 1 ms
    CHECK_FALSE(s.check_and_insert("a", hash64("a"), 0));
    CHECK(s.check_and_insert("a", hash64("a"), 500));
    CHECK_FALSE(s.check_and_insert("b", hash64("a"), 600));  // same hash, other key: not confused
    CHECK(s.check_and_insert("b", hash64("a"), 700));
    CHECK_FALSE(s.check_and_insert("a", hash64("a"), 2001));  // expired
    CHECK(s.size() <= 2);
}

TEST_CASE("the seen-set's memory follows the window, not the input") {
    dedup::SeenSet s(100);
    for (int i = 0; i < 200000; ++i) {
        std::string k = "key-" + std::to_string(i);
        CHECK_FALSE(s.check_and_insert(k, hash64(k), i));
    }
    CHECK(s.size() <= 101);
    dedup::SeenSet forever(0);
    for (int i = 0; i < 50000; ++i) {
        std::string k = "k" + std::to_string(i % 1000);
        forever.check_and_insert(k, hash64(k), i);
    }
    CHECK(forever.size() == 1000);
}

TEST_CASE("the persistent store survives reopening and honours the window") {
    TempDir d;
    auto run_batch = [&](std::vector<std::string> keys, Micros now, Micros window) {
        auto lg = log::Log::open(d.str(), log::Log::Access::write);
        REQUIRE(lg.ok());
        std::vector<bool> seen;
        std::vector<dedup::KeyRef> refs;
        for (auto& k : keys) refs.push_back({k, hash64(k)});
        REQUIRE((*lg)->write([&](store::WriteTxn& txn) -> Status {
                        EVT_ASSIGN(MDB_dbi dbi, txn.dbi(dedup::store_db("s"), true, MDB_INTEGERKEY));
                        return dedup::check_and_record(txn, dbi, refs, now, window, seen);
                    }).ok());
        return seen;
    };
    CHECK(run_batch({"a", "b", "a"}, 0, 0) == std::vector<bool>{false, false, true});
    CHECK(run_batch({"b", "c"}, 10, 0) == std::vector<bool>{true, false});
    // at 600 with a 595 µs window: a (recorded at 0) has expired, c (at 10) has not
    CHECK(run_batch({"a", "c"}, 600, 595) == std::vector<bool>{false, true});
}

TEST_CASE("chaos is reproducible, reports what it did, and is the identity at zero") {
    auto run = [](chaos::Options o, int n, std::vector<chaos::Action>* actions = nullptr) {
        std::vector<std::string> out;
        chaos::Chaos c(o, [&](std::string_view l) { out.emplace_back(l); },
                       [&](const chaos::Action& a) {
                           if (actions) actions->push_back(a);
                       });
        for (int i = 1; i <= n; ++i) c.push(std::to_string(i));
        c.finish();
        return out;
    };
    std::vector<std::string> ids;
    for (int i = 1; i <= 500; ++i) ids.push_back(std::to_string(i));
    CHECK(run(chaos::Options{}, 500) == ids);
    chaos::Options o;
    o.dup_p = 0.1;
    o.reorder_p = 0.2;
    o.window = 5;
    o.drop_p = 0.05;
    o.seed = 7;
    std::vector<chaos::Action> acts;
    auto a = run(o, 500, &acts);
    CHECK(a == run(o, 500));
    std::size_t drops = 0, dups = 0;
    for (const auto& x : acts) {
        if (x.kind == chaos::Action::Kind::drop) ++drops;
        if (x.kind == chaos::Action::Kind::dup) ++dups;
    }
    CHECK(a.size() == 500 - drops + dups);
    CHECK(drops > 0);
    CHECK(dups > 0);
    // every reordered line appears after the line it was held back to (when
    // that one went out on time)
    std::set<std::uint64_t> moved;
    for (const auto& x : acts)
        if (x.kind != chaos::Action::Kind::dup) moved.insert(x.line);
    std::size_t checked = 0;
    for (const auto& x : acts) {
        if (x.kind != chaos::Action::Kind::reorder || x.line + x.by > 500 || moved.count(x.line + x.by)) continue;
        ++checked;
        std::string me = std::to_string(x.line), after = std::to_string(std::min<std::uint64_t>(x.line + x.by, 500));
        auto pm = std::find(a.begin(), a.end(), me), pa = std::find(a.begin(), a.end(), after);
        REQUIRE(pm != a.end());
        REQUIRE(pa != a.end());
        CHECK(pm > pa);
    }
    CHECK(checked > 10);
}

TEST_CASE("the store's record() reuses check()'s slots only when they still hold") {
    TempDir d;
    auto lg = log::Log::open(d.str(), log::Log::Access::write);
    REQUIRE(lg.ok());
    // Forced hashes: x and y collide at 100; z's home (101) is where y's probe
    // ends; w sits far away. A first batch stores x at 100.
    std::vector<std::string> names{"x", "y", "z", "w"};
    auto refs = [&](std::vector<std::pair<int, std::uint64_t>> ks) {
        std::vector<dedup::KeyRef> r;
        for (auto [i, h] : ks) r.push_back({names[static_cast<std::size_t>(i)], h});
        return r;
    };
    auto put = [&](const std::vector<dedup::KeyRef>& keys, std::vector<bool>& seen) {
        REQUIRE((*lg)->write([&](store::WriteTxn& txn) -> Status {
                        EVT_ASSIGN(MDB_dbi dbi, txn.dbi(dedup::store_db("s"), true, MDB_INTEGERKEY));
                        return dedup::check_and_record(txn, dbi, keys, 0, 0, seen);
                    }).ok());
    };
    std::vector<bool> seen;
    put(refs({{0, 100}}), seen);
    // check() in a read snapshot, then record() right after it: y and z both
    // found slot 101 free; the second must be probed again, not overwrite.
    auto batch = refs({{1, 100}, {2, 101}, {3, 5000}});
    dedup::Probed probed;
    {
        auto txn = (*lg)->env().read();
        REQUIRE(txn.ok());
        auto dbi = txn->dbi(dedup::store_db("s"), false, MDB_INTEGERKEY);
        REQUIRE(dbi.ok());
        REQUIRE(dedup::check(*txn, *dbi, batch, 0, 0, seen, &probed).ok());
    }
    CHECK(seen == std::vector<bool>{false, false, false});
    CHECK(probed.slot == std::vector<std::uint64_t>{101, 101, 5000});
    REQUIRE((*lg)->write([&](store::WriteTxn& txn) -> Status {
                    EVT_ASSIGN(MDB_dbi dbi, txn.dbi(dedup::store_db("s"), true, MDB_INTEGERKEY));
                    return dedup::record(txn, dbi, batch, seen, 0, 0, &probed);
                }).ok());
    // All four are there, each found again.
    put(refs({{0, 100}, {1, 100}, {2, 101}, {3, 5000}}), seen);
    CHECK(seen == std::vector<bool>{true, true, true, true});

    // A commit between check() and record() (another writer): the cached
    // slots are not trusted, so a key recorded meanwhile is not written twice.
    TempDir d2;
    auto lg2 = log::Log::open(d2.str(), log::Log::Access::write);
    REQUIRE(lg2.ok());
    auto one = refs({{3, 7}});
    REQUIRE((*lg2)->write([&](store::WriteTxn& txn) -> Status {
                    return txn.dbi(dedup::store_db("s"), true, MDB_INTEGERKEY).ok() ? Status() : Error{ErrorKind::io, "dbi"};
                }).ok());
    {
        auto txn = (*lg2)->env().read();
        REQUIRE(txn.ok());
        auto dbi = txn->dbi(dedup::store_db("s"), false, MDB_INTEGERKEY);
        REQUIRE(dbi.ok());
        REQUIRE(dedup::check(*txn, *dbi, one, 0, 0, seen, &probed).ok());
    }
    auto other = refs({{2, 7}});  // z takes slot 7 meanwhile
    std::vector<bool> s2;
    REQUIRE((*lg2)->write([&](store::WriteTxn& txn) -> Status {
                    EVT_ASSIGN(MDB_dbi dbi, txn.dbi(dedup::store_db("s"), true, MDB_INTEGERKEY));
                    return dedup::check_and_record(txn, dbi, other, 0, 0, s2);
                }).ok());
    REQUIRE((*lg2)->write([&](store::WriteTxn& txn) -> Status {
                    EVT_ASSIGN(MDB_dbi dbi, txn.dbi(dedup::store_db("s"), true, MDB_INTEGERKEY));
                    return dedup::record(txn, dbi, one, seen, 0, 0, &probed);
                }).ok());
    REQUIRE((*lg2)->write([&](store::WriteTxn& txn) -> Status {
                    EVT_ASSIGN(MDB_dbi dbi, txn.dbi(dedup::store_db("s"), true, MDB_INTEGERKEY));
                    return dedup::check_and_record(txn, dbi, refs({{2, 7}, {3, 7}}), 0, 0, s2);
                }).ok());
    CHECK(s2 == std::vector<bool>{true, true});  // z kept its slot, w went to the next one
}
