#include <catch2/catch.hpp>

#include <cstdlib>

#include "core/log/appender.hpp"
#include "core/log/reader.hpp"
#include "core/util/crc32c.hpp"
#include "temp_dir.hpp"

using namespace evt;
using namespace evt::log;

namespace {

std::unique_ptr<Log> open_log(const TempDir& d) {
    auto r = Log::open(d.str(), Log::Access::write);
    REQUIRE(r.ok());
    return std::move(r).value();
}

Result<CommitResult> append(Log& lg, const TopicConfig& t, const std::vector<std::string>& lines,
                            AppendOptions o = {}) {
    Appender a(lg, t, o);
    Batch b(o);
    event::Codec c(event::FillOptions{});
    for (const auto& l : lines) {
        auto p = c.prepare(l);
        REQUIRE(p.ok());
        REQUIRE(b.add(*p).ok());
    }
    return a.commit(b);
}

std::vector<std::string> read_all(Log& lg, const std::string& topic, ReadOptions o = {}) {
    std::vector<std::string> out;
    auto s = read_topic(lg, topic, o, [&](const RecordView& r) -> Result<bool> {
        out.emplace_back(r.json);
        return true;
    });
    REQUIRE(s.ok());
    return out;
}

std::string ev(const std::string& id, const std::string& subject, const std::string& type = "T") {
    return R"({"specversion":"1.0","id":")" + id + R"(","source":"/t","type":")" + type +
           R"(","time":"2026-11-01T12:00:00.000Z","subject":")" + subject + R"("})";
}

}  // namespace

TEST_CASE("records round-trip and a flipped byte fails the CRC") {
    std::string v;
    StreamLink link{3, 1, 41};
    encode_record(v, 1234567, true, "key", "Type", R"({"a":1})", link);
    auto r = verify_record(v);
    REQUIRE(r.ok());
    CHECK(r->time == 1234567);
    CHECK(r->key == "key");
    CHECK(r->type == "Type");
    CHECK(r->json == R"({"a":1})");
    CHECK(r->link.version == 3);
    CHECK(r->link.prev_offset == 41);
    v[v.size() - 2] ^= 1;
    CHECK(verify_record(v).error().kind == ErrorKind::corrupt);
}

TEST_CASE("appends get dense offsets, keyed partitions and merged replay") {
    TempDir d;
    auto lg = open_log(d);
    TopicOptions to;
    to.partitions = 3;
    auto t = lg->create_topic("orders", to);
    REQUIRE(t.ok());
    std::vector<std::string> in;
    for (int i = 0; i < 30; ++i) in.push_back(ev("e" + std::to_string(i), "order-" + std::to_string(i % 5)));
    auto c = append(*lg, *t, in);
    REQUIRE(c.ok());
    CHECK(c->stored == 30);
    auto txn = lg->env().read();
    REQUIRE(txn.ok());
    std::uint64_t total = 0;
    for (std::uint32_t p = 0; p < 3; ++p) {
        auto info = lg->partition_info(*txn, *t, p);
        REQUIRE(info.ok());
        CHECK(info->start == 0);
        total += info->count();
        for (std::uint64_t o = 0; o < info->end; ++o) {
            RecordView r;
            REQUIRE(*lg->record_at(*txn, *t, p, o, r));
            CHECK(partition_for_key(r.key, 3) == p);
        }
    }
    CHECK(total == 30);
    CHECK(read_all(*lg, "orders").size() == 30);
    ReadOptions last;
    last.from = *parse_offset_spec("-4", 0);
    CHECK(read_all(*lg, "orders", last).size() == 4);
    ReadOptions typed;
    typed.types = {"X*"};
    CHECK(read_all(*lg, "orders", typed).empty());
}

TEST_CASE("streams are chains: versions in order across batches") {
    TempDir d;
    auto lg = open_log(d);
    auto t = lg->ensure_topic("s", TopicOptions{2});
    REQUIRE(t.ok());
    REQUIRE(append(*lg, *t, {ev("a1", "A"), ev("b1", "B"), ev("a2", "A")}).ok());
    REQUIRE(append(*lg, *t, {ev("a3", "A", "Shipped")}).ok());
    std::vector<std::pair<std::uint64_t, std::string>> seen;
    auto s = read_stream(*lg, "s", "A", ReadOptions{}, [&](const RecordView& r, std::uint64_t v) -> Result<bool> {
        seen.emplace_back(v, std::string(r.json).substr(27, 2));  // the id
        return true;
    });
    REQUIRE(s.ok());
    REQUIRE(seen.size() == 3);
    CHECK(seen[0] == std::make_pair(std::uint64_t{1}, std::string("a1")));
    CHECK(seen[1] == std::make_pair(std::uint64_t{2}, std::string("a2")));
    CHECK(seen[2] == std::make_pair(std::uint64_t{3}, std::string("a3")));
}

TEST_CASE("expected version: a mismatch writes nothing and says the actual version") {
    TempDir d;
    auto lg = open_log(d);
    auto t = lg->ensure_topic("s", TopicOptions{});
    REQUIRE(t.ok());
    AppendOptions o;
    o.expect = *parse_expect_version("no-stream");
    REQUIRE(append(*lg, *t, {ev("a1", "A"), ev("a2", "A")}, o).ok());
    auto again = append(*lg, *t, {ev("a3", "A")}, o);
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().kind == ErrorKind::conflict);
    CHECK(again.error().message == "stream 'A' is at version 2, expected no stream; nothing was written");
    o.expect = *parse_expect_version("2");
    REQUIRE(append(*lg, *t, {ev("a3", "A")}, o).ok());
    CHECK(read_all(*lg, "s").size() == 3);
    CHECK_FALSE(parse_expect_version("two").ok());
}

TEST_CASE("idempotent appends skip ids already stored and repeats within a batch") {
    TempDir d;
    auto lg = open_log(d);
    auto t = lg->ensure_topic("i", TopicOptions{});
    REQUIRE(t.ok());
    AppendOptions o;
    o.idempotent = true;
    auto first = append(*lg, *t, {ev("x1", "A"), ev("x2", "A"), ev("x1", "A")}, o);
    REQUIRE(first.ok());
    CHECK(first->stored == 2);
    CHECK(first->skipped == 1);
    auto second = append(*lg, *t, {ev("x2", "A"), ev("x3", "A")}, o);
    REQUIRE(second.ok());
    CHECK(second->stored == 1);
    CHECK(read_all(*lg, "i").size() == 3);
}

TEST_CASE("the map grows when full and the batch is retried whole") {
    TempDir d;
    setenv("EVT_MAP_SIZE", "1048576", 1);  // 1 MiB: full after a few hundred KiB
    auto lg = open_log(d);
    unsetenv("EVT_MAP_SIZE");
    auto t = lg->ensure_topic("g", TopicOptions{});
    REQUIRE(t.ok());
    std::vector<std::string> in;
    std::string pad(900, 'x');
    for (int i = 0; i < 3000; ++i)
        in.push_back(R"({"type":"T","subject":"s)" + std::to_string(i % 50) + R"(","data":")" + pad + R"("})");
    auto c = append(*lg, *t, in);
    REQUIRE(c.ok());
    CHECK(c->stored == 3000);
    CHECK(lg->env().map_size() > 1048576);
    CHECK(read_all(*lg, "g").size() == 3000);
}

TEST_CASE("time seek finds the first event at or after a time") {
    TempDir d;
    auto lg = open_log(d);
    auto t = lg->ensure_topic("t", TopicOptions{});
    REQUIRE(t.ok());
    REQUIRE(append(*lg, *t, {ev("1", "A"), ev("2", "A")}).ok());
    Micros mid = now_micros() + 1000;
    while (now_micros() <= mid) {
    }
    REQUIRE(append(*lg, *t, {ev("3", "A")}).ok());
    auto txn = lg->env().read();
    REQUIRE(txn.ok());
    CHECK(*lg->seek_time(*txn, *t, 0, mid) == 2);
    CHECK(*lg->seek_time(*txn, *t, 0, 0) == 0);
    CHECK(*lg->seek_time(*txn, *t, 0, mid + 3600000000LL) == 3);
}

TEST_CASE("topics: names are checked, partitions only grow, delete removes events") {
    TempDir d;
    auto lg = open_log(d);
    CHECK(lg->create_topic("bad name", TopicOptions{}).error().kind == ErrorKind::usage);
    REQUIRE(lg->create_topic("a", TopicOptions{2}).ok());
    CHECK(lg->create_topic("a", TopicOptions{}).error().kind == ErrorKind::conflict);
    CHECK(lg->alter_partitions("a", 1).error().kind == ErrorKind::usage);
    REQUIRE(lg->alter_partitions("a", 4).ok());
    auto txn = lg->env().read();
    REQUIRE(txn.ok());
    CHECK(lg->topic(*txn, "a")->partitions == 4);
    txn->abort();
    REQUIRE(lg->delete_topic("a").ok());
    auto txn2 = lg->env().read();
    CHECK(lg->topic(*txn2, "a").error().kind == ErrorKind::not_found);
}

TEST_CASE("a log with another format version is refused") {
    TempDir d;
    {
        auto lg = open_log(d);
        REQUIRE(lg->write([&](store::WriteTxn& txn) -> Status {
                      EVT_ASSIGN(MDB_dbi meta, txn.dbi("meta", true));
                      return txn.put(meta, "format", std::string_view("\x09\0\0\0", 4));
                  }).ok());
    }
    auto r = Log::open(d.str(), Log::Access::read);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::corrupt);
    CHECK(r.error().message.find("unknown log format version 9 (this evt reads versions 2 to 4)") != std::string::npos);
}
