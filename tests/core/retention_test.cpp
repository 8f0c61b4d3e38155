// Retention and compaction (core/log/retention.hpp), against models.
#include <catch2/catch.hpp>

#include <map>
#include <random>

#include "core/log/appender.hpp"
#include "core/log/reader.hpp"
#include "core/log/retention.hpp"
#include "core/log/verify.hpp"
#include "core/route/partitioner.hpp"
#include "temp_dir.hpp"

using namespace evt;
using namespace evt::log;

namespace {

constexpr Micros kMinute = 60LL * 1000000;
constexpr Micros kT0 = 1'800'000'000LL * 1000000;  // 2027-01-15

std::unique_ptr<Log> open_log(const TempDir& d) {
    auto r = Log::open(d.str(), Log::Access::write);
    REQUIRE(r.ok());
    return std::move(r).value();
}

// Appends the lines in one transaction with the clock at `now`.
void append_at(Log& lg, const TopicConfig& t, const std::vector<std::string>& lines, Micros now) {
    AppendOptions o;
    Appender a(lg, t, o);
    Batch b(o);
    event::Codec c(event::FillOptions{});
    for (const auto& l : lines) {
        auto p = c.prepare(l);
        REQUIRE(p.ok());
        REQUIRE(b.add(*p).ok());
    }
    REQUIRE(lg.write([&](store::WriteTxn& txn) { return a.write(txn, b, now); }).ok());
    a.committed(b);
}

std::string ev(const std::string& id, const std::string& key, bool tombstone = false) {
    std::string s = R"({"specversion":"1.0","id":")" + id + R"(","source":"/t","type":"Price","partitionkey":")" + key +
                    R"(","subject":")" + key + "\"";
    if (tombstone) return s + R"(,"evttombstone":true,"data":null})";
    return s + R"(,"data":{"v":")" + id + R"("}})";
}

std::string id_of(std::string_view json) {
    auto at = json.find("\"id\":\"");
    REQUIRE(at != std::string_view::npos);
    auto end = json.find('"', at + 6);
    return std::string(json.substr(at + 6, end - at - 6));
}

// The ids a replay returns, per partition, in offset order.
std::map<std::uint32_t, std::vector<std::string>> replay(Log& lg, const std::string& topic) {
    std::map<std::uint32_t, std::vector<std::string>> out;
    ReadOptions o;
    o.by_partition = true;
    auto s = read_topic(lg, topic, o, [&](const RecordView& r) -> Result<bool> {
        out[r.partition].push_back(id_of(r.json));
        return true;
    });
    REQUIRE(s.ok());
    return out;
}

void require_clean(Log& lg) {
    auto r = verify(lg, {});
    REQUIRE(r.ok());
    for (const auto& p : r->problems) INFO(p.topic << "/" << p.partition << "/" << p.offset << ": " << p.what);
    CHECK(r->problems.empty());
}

}  // namespace

TEST_CASE("tombstones are recognised by data null and the marker") {
    CHECK(is_tombstone_json(R"({"id":"1","evttombstone":true,"data":null})"));
    CHECK_FALSE(is_tombstone_json(R"({"id":"1","evttombstone":true,"data":{"a":1}})"));
    CHECK_FALSE(is_tombstone_json(R"({"id":"1","data":null})"));
    CHECK_FALSE(is_tombstone_json(R"({"id":"1","evttombstone":false,"data":null})"));
    CHECK_FALSE(is_tombstone_json(R"({"id":"1","evttombstone":true})"));
    // the marker inside data is not the marker
    CHECK_FALSE(is_tombstone_json(R"({"id":"1","data":{"evttombstone":true}})"));
}

TEST_CASE("a compacted topic replays exactly the latest event per key, as a model says") {
    TempDir d;
    auto lg = open_log(d);
    TopicOptions to;
    to.partitions = 3;
    to.compact = true;
    to.tombstone_retention = 30 * kMinute;
    auto t = lg->create_topic("prices", to);
    REQUIRE(t.ok());

    struct Latest {
        std::string id;
        bool tombstone;
        Micros time;
        std::uint64_t seq;
    };
    std::map<std::string, Latest> model;                 // key -> its latest event
    std::map<std::uint32_t, std::uint64_t> last_in_part;  // partition -> seq of its last event
    std::mt19937 rng(42);
    std::uint64_t seq = 0;
    Micros now = kT0;
    auto add = [&](std::vector<std::string>& lines, const std::string& key, bool tomb) {
        std::string id = "e" + std::to_string(seq);
        lines.push_back(ev(id, key, tomb));
        model[key] = Latest{id, tomb, now, seq};
        last_in_part[partition_for_key(key, 3)] = seq;
        ++seq;
    };
    for (int batch = 0; batch < 160; ++batch) {
        std::vector<std::string> lines;
        int n = 1 + static_cast<int>(rng() % 40);
        // the last 40 minutes leave sku-0..9 alone: their tombstones age
        int keys = batch < 120 ? 25 : 15;
        int base = batch < 120 ? 0 : 10;
        for (int i = 0; i < n; ++i) add(lines, "sku-" + std::to_string(base + rng() % keys), rng() % 8 == 0);
        if (batch == 119)
            for (int k = 0; k < 10; k += 2) add(lines, "sku-" + std::to_string(k), true);
        append_at(*lg, *t, lines, now);
        now += kMinute;
    }
    // Everything due at `now` (tombstones older than 30 minutes) is removed.
    auto gc = collect_garbage(*lg, {}, now);
    REQUIRE(gc.ok());

    std::map<std::uint32_t, std::vector<std::pair<std::uint64_t, std::string>>> want;
    int expired_keys = 0;
    for (const auto& [key, l] : model) {
        std::uint32_t p = partition_for_key(key, 3);
        bool expired = l.tombstone && l.time <= now - 30 * kMinute && last_in_part[p] != l.seq;
        if (!expired) want[p].emplace_back(l.seq, l.id);
        expired_keys += expired;
    }
    CHECK(expired_keys > 0);  // the run exercises tombstone expiry
    std::map<std::uint32_t, std::vector<std::string>> want_ids;
    for (auto& [p, v] : want) {
        std::sort(v.begin(), v.end());
        for (auto& [s, id] : v) want_ids[p].push_back(id);
    }
    auto got = replay(*lg, "prices");
    CHECK(got == want_ids);
    CHECK(gc->compacted == 0);  // compaction already happened as events were appended
    require_clean(*lg);
}

TEST_CASE("time retention moves the start offset; streams stop at the first removed event") {
    TempDir d;
    auto lg = open_log(d);
    TopicOptions to;
    to.retention = 60 * kMinute;
    auto t = lg->create_topic("clicks", to);
    REQUIRE(t.ok());
    Micros now = kT0;
    // 180 minutes, 50 events a minute, one subject
    for (int m = 0; m < 180; ++m) {
        std::vector<std::string> lines;
        for (int i = 0; i < 50; ++i) lines.push_back(ev("c" + std::to_string(m * 50 + i), "user-1"));
        append_at(*lg, *t, lines, now);
        now += kMinute;
    }
    auto txn = lg->env().read();
    REQUIRE(txn.ok());
    auto info = lg->partition_info(*txn, *t, 0);
    REQUIRE(info.ok());
    CHECK(info->end == 9000);
    // Appends removed what was older than an hour at each commit (the budget keeps up).
    CHECK(info->first_time >= now - kMinute - 60 * kMinute);
    CHECK(info->start >= 9000 - 61 * 50);
    txn->reset();
    std::uint64_t versions = 0, first_version = 0;
    auto s = read_stream(*lg, "clicks", "user-1", ReadOptions{}, [&](const RecordView&, std::uint64_t v) -> Result<bool> {
        if (!versions) first_version = v;
        ++versions;
        return true;
    });
    REQUIRE(s.ok());
    CHECK(versions == info->count());
    CHECK(first_version == info->start + 1);
    require_clean(*lg);
}

TEST_CASE("size retention keeps a partition's pages under the limit; the last record always stays") {
    TempDir d;
    auto lg = open_log(d);
    TopicOptions to;
    to.retention_bytes = 256 * 1024;
    auto t = lg->create_topic("logs", to);
    REQUIRE(t.ok());
    for (int b = 0; b < 100; ++b) {
        std::vector<std::string> lines;
        for (int i = 0; i < 100; ++i) lines.push_back(ev("l" + std::to_string(b * 100 + i), "k" + std::to_string(i)));
        append_at(*lg, *t, lines, kT0 + b);
    }
    {
        auto txn = lg->env().read();
        REQUIRE(txn.ok());
        auto info = lg->partition_info(*txn, *t, 0, true);
        REQUIRE(info.ok());
        CHECK(info->end == 10000);
        CHECK(info->start > 0);
        CHECK(info->bytes <= 256 * 1024 + 64 * 1024);  // within a batch's worth of the limit
    }
    require_clean(*lg);

    // With time retention, an idle partition keeps its last record (its end offset).
    TopicOptions once;
    once.retention = kMinute;
    auto u = lg->create_topic("once", once);
    REQUIRE(u.ok());
    append_at(*lg, *u, {ev("a", "k"), ev("b", "k")}, kT0);
    REQUIRE(collect_garbage(*lg, {"once"}, kT0 + 10 * kMinute).ok());
    auto txn = lg->env().read();
    REQUIRE(txn.ok());
    auto info = lg->partition_info(*txn, *u, 0);
    REQUIRE(info.ok());
    CHECK(info->start == 1);
    CHECK(info->end == 2);
}

TEST_CASE("time seeks work across a compacted topic's gaps") {
    TempDir d;
    auto lg = open_log(d);
    TopicOptions to;
    to.compact = true;
    auto t = lg->create_topic("c", to);
    REQUIRE(t.ok());
    for (int i = 0; i < 100; ++i) append_at(*lg, *t, {ev("x" + std::to_string(i), "k" + std::to_string(i % 7))}, kT0 + i * kMinute);
    auto txn = lg->env().read();
    REQUIRE(txn.ok());
    auto at = lg->seek_time(*txn, *t, 0, kT0 + 95 * kMinute);
    REQUIRE(at.ok());
    CHECK(*at == 95);
    auto before = lg->seek_time(*txn, *t, 0, kT0);
    REQUIRE(before.ok());
    CHECK(*before == 93);  // offsets 0..92 were compacted away: the first record is at 93
}

TEST_CASE("idempotent ids whose records retention removed are free again; --gc drops their heads") {
    TempDir d;
    auto lg = open_log(d);
    TopicOptions to;
    to.retention = 60 * kMinute;
    auto t = lg->create_topic("pay", to);
    REQUIRE(t.ok());
    auto append = [&](const std::vector<std::string>& ids, Micros now) {
        AppendOptions o;
        o.idempotent = true;
        Appender a(*lg, *t, o);
        Batch b(o);
        event::Codec c(event::FillOptions{});
        for (const auto& id : ids) {
            auto p = c.prepare(ev(id, "k-" + id));
            REQUIRE(p.ok());
            REQUIRE(b.add(*p).ok());
        }
        REQUIRE(lg->write([&](store::WriteTxn& txn) { return a.write(txn, b, now); }).ok());
        return a.committed(b);
    };
    CHECK(append({"a1", "a2", "a3", "a4", "a5"}, kT0).stored == 5);
    auto r = append({"a1", "a6", "a6"}, kT0 + 10 * kMinute);  // a1 known; a6 twice in one batch
    CHECK(r.stored == 1);
    CHECK(r.skipped == 2);
    // two hours on, nothing of the first appends is left
    auto gc = collect_garbage(*lg, {}, kT0 + 130 * kMinute);
    REQUIRE(gc.ok());
    CHECK(gc->removed() == 5);  // the last record of a partition stays (a6)
    CHECK(gc->stale_ids == 5);
    require_clean(*lg);
    auto v = verify(*lg, {});
    REQUIRE(v.ok());
    CHECK(v->ids == 1);
    // a1's record is gone: the id is free; a6's is still there: a duplicate
    r = append({"a1", "a6"}, kT0 + 131 * kMinute);
    CHECK(r.stored == 1);
    CHECK(r.skipped == 1);
    require_clean(*lg);
}
