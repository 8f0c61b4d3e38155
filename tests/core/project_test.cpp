#include <catch2/catch.hpp>

#include "core/event/codec.hpp"
#include "core/log/appender.hpp"
#include "core/project/fold.hpp"
#include "core/project/model.hpp"
#include "core/project/spec.hpp"
#include "temp_dir.hpp"

using namespace evt;
using namespace evt::project;

namespace {

std::unique_ptr<log::Log> open_log(const TempDir& d) {
    auto r = log::Log::open(d.str(), log::Log::Access::write);
    REQUIRE(r.ok());
    return std::move(r).value();
}

void append(log::Log& lg, const std::string& topic, const std::vector<std::string>& lines) {
    auto t = lg.ensure_topic(topic, {});
    REQUIRE(t.ok());
    log::AppendOptions o;
    log::Appender a(lg, *t, o);
    log::Batch b(o);
    event::Codec c(event::FillOptions{});
    for (const auto& l : lines) {
        auto p = c.prepare(l);
        REQUIRE(p.ok());
        REQUIRE(b.add(*p).ok());
    }
    REQUIRE(a.commit(b).ok());
}

std::string rows_text(log::Log& lg, const std::string& name) {
    auto ref = parse_table_ref(name);
    REQUIRE(ref.ok());
    auto rows = read_rows(lg, *ref, std::nullopt);
    REQUIRE(rows.ok());
    std::string out;
    for (const auto& r : *rows) out += r.key + " " + r.json + "\n";
    return out;
}

const char* kSpec = R"(name: acct
source: {topic: t}
key: subject
on:
  Deposited:
    - inc: {balance: $data.n, deposits: 1}
    - max: {largest: $data.n}
    - add: {tags: $data.tag}
  Withdrawn:
    - when: {data.n: {gt: 100}}
      set: {flagged: true}
    - dec: {balance: $data.n}
  Closed:
    - delete: true
aggregates:
  by_tag:
    key: data.tag
    on:
      "*": [{inc: {count: 1}}]
)";

}  // namespace

TEST_CASE("spec errors name the file, line and column") {
    auto r = parse_spec("name: x\nsource: t\nkey: subject\non:\n  A:\n    - incr: {n: 1}\n", "s.yaml");
    REQUIRE(!r.ok());
    CHECK(r.error().kind == ErrorKind::invalid);
    CHECK(r.error().message.find("s.yaml:6:7: unknown operation 'incr'") == 0);

    auto p = parse_spec("name: x\nsource: t\nkey: data..id\non: {}\n", "s.yaml");
    REQUIRE(!p.ok());
    CHECK(p.error().message.find("s.yaml:3:6: bad path 'data..id'") == 0);

    auto n = parse_spec("name: x\nsource: t\nkey: subject\non:\n  A: [{inc: {n: abc}}]\n", "s.yaml");
    REQUIRE(!n.ok());
    CHECK(n.error().message.find("s.yaml:5:17: 'inc' takes a number") == 0);

    auto y = parse_spec("name: x\nsource: [t\n", "s.yaml");
    REQUIRE(!y.ok());
    CHECK(y.error().message.find("s.yaml:") == 0);
}

TEST_CASE("paths: names, indexes, prefixes, row fields, positions") {
    auto p = parse_path("data.items[1].sku", false);
    REQUIRE(p.ok());
    REQUIRE(p->segs.size() == 4);
    CHECK(p->segs[2].index == 1);
    auto t = parse_path("time[:10]", false);
    REQUIRE(t.ok());
    CHECK(t->prefix == 10);
    CHECK(!parse_path("row.status", false).ok());
    CHECK(parse_path("row.status", true)->row);
    CHECK(parse_path("evtversion", false)->virt == Path::Virtual::version);
    CHECK(!parse_path("a[x]", false).ok());
    CHECK(!parse_path("a[:3].b", false).ok());
}

TEST_CASE("the spec hash ignores comments and layout, not content") {
    auto a = parse_spec(kSpec, "a.yaml");
    auto b = parse_spec(std::string("# a comment\n") + kSpec, "b.yaml");
    std::string changed = kSpec;
    changed.replace(changed.find("deposits: 1"), 11, "deposits: 2");
    auto c = parse_spec(changed, "c.yaml");
    REQUIRE((a.ok() && b.ok() && c.ok()));
    CHECK(a->hash == b->hash);
    CHECK(a->hash != c->hash);
}

TEST_CASE("a fold applies every operation, resumes from its position, and needs --rebuild for a new spec") {
    TempDir d;
    auto lg = open_log(d);
    append(*lg, "t", {R"({"type":"Deposited","subject":"a","data":{"n":50,"tag":"x"}})",
                      R"({"type":"Deposited","subject":"a","data":{"n":200,"tag":"y"}})",
                      R"({"type":"Deposited","subject":"b","data":{"n":5,"tag":"x"}})",
                      R"({"type":"Withdrawn","subject":"a","data":{"n":120}})"});
    auto spec = parse_spec(kSpec, "acct.yaml");
    REQUIRE(spec.ok());
    FoldOptions o;
    auto r = fold(*lg, *spec, o);
    REQUIRE(r.ok());
    CHECK(r->events == 4);
    CHECK(rows_text(*lg, "acct") ==
          "a {\"balance\":130,\"deposits\":2,\"flagged\":true,\"largest\":200,\"tags\":[\"x\",\"y\"]}\n"
          "b {\"balance\":5,\"deposits\":1,\"largest\":5,\"tags\":[\"x\"]}\n");
    CHECK(rows_text(*lg, "acct.by_tag") == "x {\"count\":2}\ny {\"count\":1}\n");

    append(*lg, "t", {R"({"type":"Closed","subject":"b"})"});
    auto again = fold(*lg, *spec, o);
    REQUIRE(again.ok());
    CHECK(again->events == 1);  // only the new event
    CHECK(rows_text(*lg, "acct").find("b ") == std::string::npos);

    std::string changed = kSpec;
    changed.replace(changed.find("deposits: 1"), 11, "deposits: 2");
    auto spec2 = parse_spec(changed, "acct.yaml");
    REQUIRE(spec2.ok());
    auto refused = fold(*lg, *spec2, o);
    REQUIRE(!refused.ok());
    CHECK(refused.error().kind == ErrorKind::usage);
    CHECK(refused.error().message.find("--rebuild") != std::string::npos);
    o.rebuild = true;
    auto rebuilt = fold(*lg, *spec2, o);
    REQUIRE(rebuilt.ok());
    CHECK(rebuilt->rebuilt);
    CHECK(rows_text(*lg, "acct").find("\"deposits\":4") != std::string::npos);
}

TEST_CASE("a fold error names the event's position and commits nothing of its batch") {
    TempDir d;
    auto lg = open_log(d);
    append(*lg, "t", {R"({"type":"Deposited","subject":"a","data":{"n":1}})",
                      R"({"type":"Deposited","subject":"a","data":{"n":"lots"}})"});
    auto spec = parse_spec(kSpec, "acct.yaml");
    REQUIRE(spec.ok());
    auto r = fold(*lg, *spec, {});
    REQUIRE(!r.ok());
    CHECK(r.error().kind == ErrorKind::invalid);
    CHECK(r.error().message.find("event t/0/1: acct.yaml:6:7: inc 'balance'") == 0);
    CHECK(rows_text(*lg, "acct").empty());
    auto txn = lg->env().read();
    REQUIRE(txn.ok());
    auto st = read_state(*txn, "acct");
    REQUIRE(st.ok());
    REQUIRE(*st);
    CHECK((*st)->gens.at((*st)->active).topics[0].pos[0] == 0);
}

TEST_CASE("a fold error is raised in event order, though later events are read ahead") {
    TempDir d;
    auto lg = open_log(d);
    // Event 0 fails when applied; event 1's row key (an object) fails when it
    // is read, which happens before event 0 is applied.
    append(*lg, "t", {R"({"type":"Deposited","subject":"a","data":{"n":"lots","tag":"x"}})",
                      R"({"type":"Deposited","subject":"b","data":{"n":1,"tag":{"o":1}}})"});
    auto spec = parse_spec(kSpec, "acct.yaml");
    REQUIRE(spec.ok());
    auto r = fold(*lg, *spec, {});
    REQUIRE(!r.ok());
    CHECK(r.error().message.find("event t/0/0: acct.yaml:6:7: inc 'balance'") == 0);
    CHECK(rows_text(*lg, "acct").empty());
}

TEST_CASE("batches of any size fold to the same rows (events read ahead are read again)") {
    std::vector<std::string> lines;
    for (int i = 0; i < 300; ++i)
        lines.push_back(fmt::format(R"({{"type":"{}","subject":"s{}","data":{{"n":{},"tag":"g{}"}}}})",
                                    i % 5 == 4 ? "Withdrawn" : "Deposited", i % 37, i, i % 7));
    auto spec = parse_spec(kSpec, "acct.yaml");
    REQUIRE(spec.ok());
    auto folded = [&](std::uint64_t batch, std::uint64_t max_rows) {
        TempDir d;
        auto lg = open_log(d);
        log::TopicOptions to;
        to.partitions = 3;
        REQUIRE(lg->ensure_topic("t", to).ok());
        append(*lg, "t", lines);
        FoldOptions o;
        o.batch = batch;
        o.max_rows = max_rows;
        auto r = fold(*lg, *spec, o);
        REQUIRE(r.ok());
        CHECK(r->events == lines.size());
        return std::make_pair(rows_text(*lg, "acct") + rows_text(*lg, "acct.by_tag"), r->batches);
    };
    auto [whole, one] = folded(1000000, 200000);
    CHECK(one == 1);
    CHECK(whole.find("s36 {\"balance\":") != std::string::npos);
    for (std::uint64_t b : {1, 3, 7, 15, 16, 17, 100}) {
        auto [text, batches] = folded(b, 200000);
        CHECK(batches == (lines.size() + b - 1) / b);
        CHECK(text == whole);
    }
    auto [few_rows, batches] = folded(1000000, 5);
    CHECK(batches > 10);
    CHECK(few_rows == whole);
}

TEST_CASE("a snapshot folds up to its bound and stays there") {
    TempDir d;
    auto lg = open_log(d);
    append(*lg, "t", {R"({"type":"Deposited","subject":"a","data":{"n":1}})",
                      R"({"type":"Deposited","subject":"a","data":{"n":2}})",
                      R"({"type":"Deposited","subject":"a","data":{"n":4}})"});
    auto spec = parse_spec(kSpec, "acct.yaml");
    REQUIRE(spec.ok());
    FoldOptions o;
    o.until = log::OffsetSpec{log::OffsetSpec::Kind::offset, 2, 0};
    o.until_text = "2";
    o.snapshot = "first2";
    auto r = fold(*lg, *spec, o);
    REQUIRE(r.ok());
    CHECK(r->model == "acct@first2");
    CHECK(rows_text(*lg, "acct@first2").find("\"balance\":3,") != std::string::npos);
    append(*lg, "t", {R"({"type":"Deposited","subject":"a","data":{"n":8}})"});
    auto again = fold(*lg, *spec, o);
    REQUIRE(again.ok());
    CHECK(again->events == 0);
    CHECK(default_label("@2026-11-01T10:00:00Z") == "2026-11-01T10-00-00Z");
}
