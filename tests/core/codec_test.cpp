#include <catch2/catch.hpp>

#include "core/event/codec.hpp"
#include "core/event/format.hpp"

using namespace evt;
using event::Codec;
using event::FillOptions;

namespace {
std::string prep_error(Codec& c, std::string_view line) {
    auto r = c.prepare(line, 1000);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::invalid);
    return r.error().message;
}
}  // namespace

TEST_CASE("codec fills missing attributes in front and keeps the rest byte for byte") {
    Codec c(FillOptions{});
    auto r = c.prepare(R"({"type":"OrderPlaced", "data": {"amount": 1.50, "s":"a b"}})", 1764221400123000);
    REQUIRE(r.ok());
    std::string json(r->json);
    CHECK(json.rfind(R"({"specversion":"1.0","id":")", 0) == 0);
    CHECK(json.find(R"("source":"/evt","time":"2025-11-27T05:30:00.123Z","type":"OrderPlaced","data":{"amount":1.50,"s":"a b"}})") !=
          std::string::npos);
    CHECK(r->type == "OrderPlaced");
    CHECK(r->id.size() == 36);
    CHECK_FALSE(r->has_key);
}

TEST_CASE("codec leaves a complete compact event untouched") {
    Codec c(FillOptions{});
    std::string in = R"({"specversion":"1.0","id":"e1","source":"/s","type":"T","time":"2026-11-01T12:00:00.000Z","subject":"order-1"})";
    auto r = c.prepare(in, 1);
    REQUIRE(r.ok());
    CHECK(r->json == in);
    CHECK(r->subject == "order-1");
    CHECK(r->key == "order-1");
}

TEST_CASE("codec strips position attributes unless asked to keep them") {
    std::string in =
        R"({"specversion":"1.0","id":"e1","source":"/s","type":"T","time":"2026-11-01T12:00:00.000Z","evttopic":"o","evtpartition":2,"evtoffset":7,"evttime":"2026-11-01T12:00:00.000Z","evtversion":3})";
    Codec c(FillOptions{});
    auto r = c.prepare(in, 1);
    REQUIRE(r.ok());
    CHECK(r->json == R"({"specversion":"1.0","id":"e1","source":"/s","type":"T","time":"2026-11-01T12:00:00.000Z"})");
    FillOptions keep;
    keep.keep_position = true;
    Codec k(keep);
    CHECK(k.prepare(in, 1)->json == in);
}

TEST_CASE("codec routes by --key, then partitionkey, then subject") {
    FillOptions o;
    o.key_pointer = *event::to_json_pointer("data.customer");
    Codec c(o);
    auto r = c.prepare(R"({"type":"T","subject":"s","partitionkey":"pk","data":{"customer":"c-9"}})", 1);
    REQUIRE(r.ok());
    CHECK(r->key == "c-9");
    Codec d(FillOptions{});
    CHECK(d.prepare(R"({"type":"T","subject":"s","partitionkey":"pk"})", 1)->key == "pk");
    CHECK(*event::to_json_pointer(".data.a") == "/data/a");
    CHECK(*event::to_json_pointer("/x/y") == "/x/y");
}

TEST_CASE("codec rejects bad input with a precise reason") {
    Codec c(FillOptions{});
    CHECK(prep_error(c, "") == "empty line");
    CHECK(prep_error(c, "[1,2]") == "not a JSON object (got an array)");
    CHECK(prep_error(c, R"({"type":)").rfind("malformed JSON", 0) == 0);
    CHECK(prep_error(c, R"({"data":1})") == "'type' is missing");
    CHECK(prep_error(c, R"({"type":""})") == "'type' must be a non-empty string");
    CHECK(prep_error(c, R"({"type":"T","specversion":"0.3"})") == R"('specversion' is "0.3", only "1.0" is supported)");
    CHECK(prep_error(c, std::string("{\"type\":\"T\",\"x\":\"\xff\"}")) == "invalid UTF-8 at column 18");
    CHECK(prep_error(c, std::string("{\"type\":\"T\"\0}", 13)) == "NUL byte at column 12");
    CHECK(prep_error(c, R"({"type":"T","x":"\ud800"})") ==
          "malformed JSON: a string has a bad escape or a lone surrogate");
    CHECK(prep_error(c, R"({"type":"T","time":"yesterday"})") == "'time' is not an RFC 3339 timestamp");
    FillOptions small;
    small.max_bytes = 10;
    Codec s(small);
    CHECK(prep_error(s, R"({"type":"Tlong"})") == "event of 16 bytes is over --max-bytes (10)");
    FillOptions req;
    req.require_id = true;
    Codec q(req);
    CHECK(prep_error(q, R"({"type":"T"})") == "'id' is missing (--require-id)");
}

TEST_CASE("positions are appended before the closing brace") {
    log::RecordView r;
    r.json = R"({"type":"T"})";
    r.partition = 2;
    r.offset = 1234;
    r.time = 1764221400123000;
    std::string out;
    event::append_with_position(out, "orders", r, {3, 0});
    CHECK(out == R"({"type":"T","evttopic":"orders","evtpartition":2,"evtoffset":1234,"evttime":"2025-11-27T05:30:00.123Z","evtversion":3})");
}

TEST_CASE("kcat-style format tokens render and unknown ones are refused") {
    auto f = event::TextFormat::compile("%t/%p/%o %k %T %S\\t%s\\n%%");
    REQUIRE(f.ok());
    log::RecordView r;
    r.json = "{}";
    r.key = "k1";
    r.partition = 1;
    r.offset = 9;
    r.time = 5000;
    std::string out;
    f->render(out, "orders", r);
    CHECK(out == "orders/1/9 k1 5 2\t{}\n%");
    CHECK(event::TextFormat::compile("%q").error().message ==
          "unknown format token '%q' (known: %t %p %o %k %s %T %S %%)");
}

TEST_CASE("codec hands the type and data's top-level keys to check_event and rejects on its reason") {
    FillOptions fo;
    std::vector<std::string> seen;
    fo.check_event = [&](std::string_view type, const std::vector<std::string_view>& keys) -> std::optional<std::string> {
        std::string line(type);
        for (auto k : keys) line += " " + std::string(k);
        seen.push_back(line);
        if (type == "Bad") return std::string("no Bad here");
        return std::nullopt;
    };
    Codec c(fo);
    REQUIRE(c.prepare(R"({"type":"A","data":{"x":1,"y":{"z":2}}})", 1000).ok());
    REQUIRE(c.prepare(R"({"type":"B","data":[1,2]})", 1000).ok());
    REQUIRE(c.prepare(R"({"type":"C"})", 1000).ok());
    CHECK(prep_error(c, R"({"type":"Bad","data":{}})") == "no Bad here");
    CHECK(seen == std::vector<std::string>{"A x y", "B", "C", "Bad"});
}
