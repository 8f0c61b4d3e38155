#include <catch2/catch.hpp>

#include "core/event/codec.hpp"
#include "core/group/admin.hpp"
#include "core/group/consumer.hpp"
#include "temp_dir.hpp"

using namespace evt;
using namespace evt::group;

namespace {

std::unique_ptr<log::Log> log_with_events(const TempDir& d, int n, std::uint32_t partitions) {
    auto lg = log::Log::open(d.str(), log::Log::Access::write);
    REQUIRE(lg.ok());
    log::TopicOptions to;
    to.partitions = partitions;
    auto t = (*lg)->create_topic("orders", to);
    REQUIRE(t.ok());
    log::Appender a(**lg, *t, {});
    log::Batch b({});
    event::Codec c(event::FillOptions{});
    for (int i = 0; i < n; ++i) {
        auto e = c.prepare(R"({"type":"T","subject":"s)" + std::to_string(i % 7) + R"(","id":"e)" + std::to_string(i) + R"("})");
        REQUIRE(e.ok());
        REQUIRE(b.add(*e).ok());
    }
    REQUIRE(a.commit(b).ok());
    return std::move(lg).value();
}

}  // namespace

TEST_CASE("range and roundrobin assignment have Kafka's shapes") {
    auto r = assign(Strategy::range, 2, 5);
    CHECK(r[0] == std::vector<std::uint32_t>{0, 1, 2});
    CHECK(r[1] == std::vector<std::uint32_t>{3, 4});
    auto rr = assign(Strategy::roundrobin, 2, 5);
    CHECK(rr[0] == std::vector<std::uint32_t>{0, 2, 4});
    CHECK(rr[1] == std::vector<std::uint32_t>{1, 3});
    auto more = assign(Strategy::range, 4, 3);
    CHECK(more[3].empty());
    CHECK(assign(Strategy::range, 0, 3).empty());
}

TEST_CASE("a log-mode member delivers every event once and commits; a rerun gets nothing") {
    TempDir d;
    auto lg = log_with_events(d, 50, 3);
    ConsumerOptions o;
    o.group = "g";
    o.topic = "orders";
    std::vector<std::pair<std::uint32_t, std::uint64_t>> seen;
    auto h = [&](const log::RecordView& r, std::uint32_t) -> Result<bool> {
        seen.emplace_back(r.partition, r.offset);
        return true;
    };
    Consumer c(*lg, o);
    REQUIRE(c.run(h, {}).ok());
    CHECK(seen.size() == 50);
    std::sort(seen.begin(), seen.end());
    CHECK(std::adjacent_find(seen.begin(), seen.end()) == seen.end());
    auto v = describe_group(*lg, "g");
    REQUIRE(v.ok());
    for (const auto& p : v->partitions) CHECK(p.lag == 0);
    CHECK(v->members.empty());  // it left
    seen.clear();
    Consumer again(*lg, o);
    REQUIRE(again.run(h, {}).ok());
    CHECK(seen.empty());
}

TEST_CASE("reset moves offsets as stated and a dry run changes nothing") {
    TempDir d;
    auto lg = log_with_events(d, 30, 1);
    ConsumerOptions o;
    o.group = "g";
    o.topic = "orders";
    Consumer c(*lg, o);
    REQUIRE(c.run([](const log::RecordView&, std::uint32_t) -> Result<bool> { return true; }, {}).ok());
    auto dry = reset_group(*lg, "g", "orders", "shift:-5", false);
    REQUIRE(dry.ok());
    CHECK((*dry)[0].target == 25);
    CHECK(describe_group(*lg, "g")->partitions[0].committed == std::optional<std::uint64_t>(30));
    REQUIRE(reset_group(*lg, "g", "orders", "earliest", true).ok());
    CHECK(describe_group(*lg, "g")->partitions[0].committed == std::optional<std::uint64_t>(0));
    REQUIRE(reset_group(*lg, "g", "orders", "7", true).ok());
    CHECK(describe_group(*lg, "g")->partitions[0].lag == 23);
    CHECK(reset_group(*lg, "g", "orders", "shift:x", true).error().kind == ErrorKind::usage);
    CHECK(reset_group(*lg, "nope", "orders", "earliest", true).error().kind == ErrorKind::not_found);
}

TEST_CASE("queue mode redelivers failures and dead-letters them after max deliveries") {
    TempDir d;
    auto lg = log_with_events(d, 20, 2);
    ConsumerOptions o;
    o.group = "q";
    o.topic = "orders";
    o.mode = Mode::queue;
    o.max_deliveries = 3;
    std::map<std::pair<std::uint32_t, std::uint64_t>, std::vector<std::uint32_t>> deliveries;
    auto h = [&](const log::RecordView& r, std::uint32_t delivery) -> Result<bool> {
        deliveries[{r.partition, r.offset}].push_back(delivery);
        return r.offset != 3;  // offset 3 of each partition always fails
    };
    Consumer c(*lg, o);
    REQUIRE(c.run(h, {}).ok());
    auto failing = deliveries[{0, 3}];
    CHECK(failing == std::vector<std::uint32_t>{1, 2, 3});
    CHECK(deliveries[{0, 4}] == std::vector<std::uint32_t>{1});
    auto v = describe_group(*lg, "q");
    REQUIRE(v.ok());
    CHECK(v->counts.dead_lettered == 2);
    CHECK(v->counts.acked == 18);
    std::uint64_t dlq = 0;
    REQUIRE(log::read_topic(*lg, "orders.dlq", {}, [&](const log::RecordView& r) -> Result<bool> {
                CHECK(std::string(r.json).find("\"evtdlqreason\":\"not acknowledged after 3 deliveries") != std::string::npos);
                ++dlq;
                return true;
            }).ok());
    CHECK(dlq == 2);
}

TEST_CASE("evt-commit's engine commits contiguous progress only") {
    TempDir d;
    auto lg = log_with_events(d, 10, 1);
    ConsumerOptions o;
    o.group = "p";
    o.topic = "orders";
    o.auto_commit = false;
    o.count = 1;
    Consumer c(*lg, o);  // creates the group, commits nothing
    REQUIRE(c.run([](const log::RecordView&, std::uint32_t) -> Result<bool> { return true; }, {}).ok());
    TempDir in;
    std::string file = (in.path / "in.ndjson").string();
    {
        std::FILE* f = std::fopen(file.c_str(), "w");
        for (int off : {0, 1, 3, 4})
            std::fprintf(f, "{\"type\":\"T\",\"evttopic\":\"orders\",\"evtpartition\":0,\"evtoffset\":%d}\n", off);
        std::fclose(f);
    }
    cli::LineReader r({file}, 1 << 20);
    auto rep = commit_events(*lg, "p", r);
    REQUIRE(rep.ok());
    CHECK(rep->advanced == 2);  // 0 and 1; 3 and 4 wait for 2
    CHECK(describe_group(*lg, "p")->partitions[0].committed == std::optional<std::uint64_t>(2));
}
