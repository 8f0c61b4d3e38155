// core/saga: definitions (positions, templates, retry intervals), the state
// machine, the orchestrator with an injected clock (timeouts, retries), a
// round that fails before its commit (nothing of it is written), and the
// lint-backed check.
#include <catch2/catch.hpp>

#include <set>

#include "core/event/codec.hpp"
#include "core/lint/saga_check.hpp"
#include "core/log/appender.hpp"
#include "core/log/reader.hpp"
#include "core/saga/check.hpp"
#include "core/saga/machine.hpp"
#include "core/saga/orchestrator.hpp"
#include "tests/core/temp_dir.hpp"

using namespace evt;

namespace {

const char* kSaga = R"(saga: t
start: {topic: orders, type: OrderPlaced}
defaults:
  timeout: 10s
  retry: {initial: 2s, backoff: 3, max_interval: 5s, max_attempts: 3}
steps:
  - id: reserve
    command: {topic: commands, type: ReserveInventory, data: {order: $.id, qty: $.data.qty, fixed: 7}}
    reply: {topic: replies, ok: InventoryReserved, fail: InventoryUnavailable}
    compensation: {topic: commands, type: ReleaseInventory, data: {res: $.steps.reserve.res}}
  - id: charge
    kind: pivot
    command: {topic: commands, type: ChargeCard}
    reply: {topic: replies, ok: CardCharged, fail: [CardDeclined]}
)";

saga::Definition parse(const char* text) {
    auto p = saga::parse_definition(text, "t.yaml");
    REQUIRE(p.ok());
    REQUIRE(p->problems.empty());
    return p->def;
}

void append(log::Log& lg, const std::string& topic, const std::vector<std::string>& lines) {
    log::TopicOptions to;
    auto t = lg.ensure_topic(topic, to);
    REQUIRE(t.ok());
    log::Appender app(lg, *t, log::AppendOptions{});
    log::Batch b(log::AppendOptions{});
    event::Codec codec(event::FillOptions{});
    for (const auto& l : lines) {
        auto e = codec.prepare(l);
        REQUIRE(e.ok());
        REQUIRE(b.add(*e).ok());
    }
    REQUIRE(app.commit(b).ok());
}

std::vector<std::string> ids(log::Log& lg, const std::string& topic) {
    std::vector<std::string> out;
    auto s = log::read_topic(lg, topic, log::ReadOptions{}, [&](const log::RecordView& r) -> Result<bool> {
        out.push_back(nlohmann::json::parse(r.json)["id"].get<std::string>());
        return true;
    });
    if (!s.ok()) REQUIRE(s.error().kind == ErrorKind::not_found);
    return out;
}

}  // namespace

TEST_CASE("saga definitions keep positions, defaults and templates") {
    auto d = parse(kSaga);
    CHECK(d.name.value == "t");
    CHECK(d.state_topic == "saga.t");
    REQUIRE(d.steps.size() == 2);
    CHECK(d.steps[1].kind == saga::Kind::pivot);
    CHECK(d.steps[1].kind_at.line == 12);
    CHECK(d.steps[1].kind_at.column == 11);
    CHECK(d.steps[0].timeout == Micros{10'000'000});
    CHECK(d.steps[1].fail.size() == 1);
    CHECK(saga::retry_interval(d.steps[0].retry, 2) == 2'000'000);
    CHECK(saga::retry_interval(d.steps[0].retry, 3) == 5'000'000);  // 6s capped by max_interval
    nlohmann::json ctx = {{"id", "o-1"}, {"data", {{"qty", 3}}}, {"steps", nlohmann::json::object()}};
    auto v = saga::resolve_template(d.steps[0].command.data, ctx);
    CHECK(v == nlohmann::json({{"order", "o-1"}, {"qty", 3}, {"fixed", 7}}));
    CHECK(d.input_topics() == std::vector<std::string>{"orders", "replies"});

    auto bad = saga::parse_definition("saga: x\nsteps:\n  - id: a\n    timeout: soon\n", "b.yaml");
    REQUIRE(bad.ok());
    CHECK(bad->problems.size() >= 3);  // no start, no command, no reply, bad timeout
    CHECK_FALSE(saga::parse_definition("saga: [\n", "c.yaml").ok());
}

TEST_CASE("the state machine: success, duplicates ignored, failure compensates in reverse") {
    auto d = parse(kSaga);
    saga::Machine m(d);
    std::vector<saga::Emitted> out;
    auto in = m.start("o-1", nlohmann::json::parse(R"({"subject":"o-1","data":{"qty":2}})"), 100, out);
    REQUIRE(out.size() == 3);  // SagaStarted, CommandSent, the command
    CHECK(out[2].id == "t/o-1/reserve/1");
    CHECK(nlohmann::json::parse(out[2].json)["data"]["qty"] == 2);
    out.clear();
    CHECK(m.reply(in, "replies", "InventoryReserved", {{"res", "r-9"}}, 200, out));
    CHECK_FALSE(m.reply(in, "replies", "InventoryReserved", {{"res", "r-9"}}, 201, out));  // a duplicate
    CHECK_FALSE(m.reply(in, "orders", "CardCharged", {}, 202, out));                       // wrong topic
    out.clear();
    CHECK(m.reply(in, "replies", "CardDeclined", {}, 300, out));
    std::vector<std::string> types;
    for (const auto& e : out) types.push_back(e.type);
    CHECK(types == std::vector<std::string>{"StepFailed", "CompensationSent", "ReleaseInventory", "SagaAborted"});
    CHECK(nlohmann::json::parse(out[2].json)["data"]["res"] == "r-9");
    CHECK(in.phase == saga::Phase::compensated);
    CHECK(in.version == 7);
}

TEST_CASE("the orchestrator: timeouts and retries fire from the injected clock") {
    TempDir dir;
    auto lg = log::Log::open(dir.str(), log::Log::Access::write);
    REQUIRE(lg.ok());
    auto d = parse(kSaga);
    append(**lg, "orders", {R"({"type":"OrderPlaced","subject":"o-1","data":{"qty":1}})"});
    Micros now = 1'000'000'000;
    saga::RunOptions o;
    o.clock = [&] { return now; };
    auto run = [&] {
        saga::RunStats st;
        REQUIRE(saga::run_saga(**lg, d, o, st).ok());
        return st;
    };
    CHECK(run().commands == 1);
    now += 9'000'000;  // before the deadline: nothing
    CHECK(run().commands == 0);
    now += 2'000'000;  // past it: StepFailed with a retry in 2s
    run();
    CHECK(ids(**lg, "commands").size() == 1);
    now += 2'000'001;
    CHECK(run().commands == 1);
    CHECK(ids(**lg, "commands") == std::vector<std::string>{"t/o-1/reserve/1", "t/o-1/reserve/2"});
    now += 10'000'001;  // attempt 2 times out; the retry waits min(2s * 3, 5s)
    run();
    now += 5'000'001;
    CHECK(run().commands == 1);
    now += 10'000'001;  // attempt 3 times out: no attempt left, the saga compensates
    CHECK(run().compensated == 1);
    auto all = saga::load_instances(**lg, d);
    REQUIRE(all.ok());
    REQUIRE(all->size() == 1);
    CHECK((*all)[0].phase == saga::Phase::compensated);
    CHECK(ids(**lg, "commands").back() == "t/o-1/reserve/3");
}

TEST_CASE("a round that fails before its commit writes nothing; the rerun sends each command once") {
    TempDir dir;
    auto lg = log::Log::open(dir.str(), log::Log::Access::write);
    REQUIRE(lg.ok());
    auto d = parse(kSaga);
    append(**lg, "orders", {R"({"type":"OrderPlaced","subject":"o-1"})", R"({"type":"OrderPlaced","subject":"o-2"})"});
    saga::RunOptions o;
    o.before_commit = [] { throw std::runtime_error("crash inside the transaction"); };
    saga::RunStats st;
    CHECK_THROWS(saga::run_saga(**lg, d, o, st));
    CHECK(ids(**lg, "commands").empty());
    CHECK(ids(**lg, "saga.t").empty());
    o.before_commit = nullptr;
    REQUIRE(saga::run_saga(**lg, d, o, st).ok());
    REQUIRE(saga::run_saga(**lg, d, o, st).ok());  // nothing new: nothing sent again
    CHECK(ids(**lg, "commands") == std::vector<std::string>{"t/o-1/reserve/1", "t/o-2/reserve/1"});
}

TEST_CASE("check: structural rules and the lint naming rules") {
    auto p = saga::parse_definition(R"(saga: t
start: {topic: orders, type: OrderPlaced}
steps:
  - id: pay
    kind: pivot
    command: {topic: c, type: PaymentCaptured}
    reply: {topic: r, ok: CapturePayment}
  - id: reserve
    command: {topic: c, type: ReserveInventory}
    reply: {topic: r, ok: InventoryReserved}
    timeout: 1s
)",
                                   "t.yaml");
    REQUIRE(p.ok());
    auto found = lint::check_saga(*p);
    std::set<std::string> rules;
    for (const auto& f : found) rules.insert(f.rule);
    CHECK(rules == std::set<std::string>{"saga/compensatable-after-pivot", "saga/missing-compensation",
                                         "saga/missing-timeout", "saga/command-named-like-fact",
                                         "saga/reply-named-like-command"});
    CHECK(lint::check_saga(*saga::parse_definition(kSaga, "t.yaml")).empty());
}
