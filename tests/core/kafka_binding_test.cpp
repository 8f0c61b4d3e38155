// The CloudEvents Kafka protocol binding (core/kafka/binding.hpp).
#include <catch2/catch.hpp>

#include "core/kafka/binding.hpp"

using namespace evt::kafka;

namespace {
std::vector<HeaderView> views(const Encoded& e) {
    std::vector<HeaderView> v;
    for (const auto& h : e.headers) v.emplace_back(h.name, h.value);
    return v;
}
std::string round_trip(Encoder& enc, const std::string& json) {
    Encoded e;
    REQUIRE(enc.encode(json, e).ok());
    std::string back;
    std::string_view value = e.binary ? std::string_view(e.value) : std::string_view(json);
    REQUIRE(decode(value, e.null_value, views(e), back).ok());
    return back;
}
}  // namespace

TEST_CASE("structured mode: the value is the event, with the structured content type") {
    Encoder enc(Mode::structured);
    Encoded e;
    std::string json = R"({"specversion":"1.0","id":"1","source":"/s","type":"A","data":{"n":1}})";
    REQUIRE(enc.encode(json, e).ok());
    CHECK_FALSE(e.binary);
    REQUIRE(e.headers.size() == 1);
    CHECK(e.headers[0].name == "content-type");
    CHECK(e.headers[0].value == kStructuredType);
    CHECK(round_trip(enc, json) == json);
}

TEST_CASE("binary mode: data is the value, attributes ce_ headers in order, datacontenttype content-type") {
    Encoder enc(Mode::binary);
    Encoded e;
    std::string json =
        R"({"specversion":"1.0","id":"a\"b","source":"/s","type":"OrderPlaced","subject":"order-1","time":"2026-11-01T12:00:00Z","datacontenttype":"application/json","data":{"n":[1,2],"s":"x"}})";
    REQUIRE(enc.encode(json, e).ok());
    REQUIRE(e.binary);
    CHECK(e.value == R"({"n":[1,2],"s":"x"})");
    std::vector<std::string> names;
    for (const auto& h : e.headers) names.push_back(h.name);
    CHECK(names == std::vector<std::string>{"ce_specversion", "ce_id", "ce_source", "ce_type", "ce_subject", "ce_time",
                                            "content-type"});
    CHECK(e.headers[1].value == "a\"b");  // the header carries the string, unescaped
    CHECK(round_trip(enc, json) == json);
    CHECK(enc.fallbacks() == 0);
}

TEST_CASE("binary mode: text data under a text content type is the value's bytes; no data is a null value") {
    Encoder enc(Mode::binary);
    Encoded e;
    std::string text = R"({"specversion":"1.0","id":"1","source":"/s","type":"A","datacontenttype":"text/plain","data":"hi\nthere"})";
    REQUIRE(enc.encode(text, e).ok());
    REQUIRE(e.binary);
    CHECK(e.value == "hi\nthere");
    CHECK(round_trip(enc, text) == text);
    std::string none = R"({"specversion":"1.0","id":"1","source":"/s","type":"A"})";
    REQUIRE(enc.encode(none, e).ok());
    CHECK(e.binary);
    CHECK(e.null_value);
    CHECK(round_trip(enc, none) == none);
}

TEST_CASE("binary mode falls back to structured for what it cannot carry byte for byte, and counts it") {
    Encoder enc(Mode::binary);
    for (std::string json : {
             std::string(R"({"specversion":"1.0","id":"1","source":"/s","type":"A","seq":5})"),           // a number
             std::string(R"({"specversion":"1.0","id":"1","source":"/s","data":{},"type":"A"})"),         // data not last
             std::string(R"({"specversion":"1.0","id":"\u0031","source":"/s","type":"A"})"),              // an escape
             std::string(R"({"specversion":"1.0","id":"1","source":"/s","type":"A","data":null})"),       // data null
             std::string(R"({"specversion":"1.0","id":"1","source":"/s","type":"A","data_base64":"AA=="})"),
         }) {
        Encoded e;
        REQUIRE(enc.encode(json, e).ok());
        CHECK_FALSE(e.binary);
        CHECK(round_trip(enc, json) == json);
    }
    CHECK(enc.fallbacks() == 10);  // each event encoded twice: above and in round_trip
}

TEST_CASE("decode: the mode per record, as the binding says") {
    std::string out;
    // structured, any case of the content type
    REQUIRE(decode(R"({"type":"A"})", false, {{"content-type", "Application/CloudEvents+JSON"}}, out).ok());
    CHECK(out == R"({"type":"A"})");
    // binary from another producer: binary data becomes data_base64
    std::string bin("\x00\xff\x10", 3);
    REQUIRE(decode(bin, false,
                   {{"ce_specversion", "1.0"}, {"ce_id", "x"}, {"ce_source", "/k"}, {"ce_type", "B"},
                    {"content-type", "application/octet-stream"}},
                   out)
                .ok());
    CHECK(out == R"({"specversion":"1.0","id":"x","source":"/k","type":"B","datacontenttype":"application/octet-stream","data_base64":"AP8Q"})");
    // a plain JSON event without binding headers
    REQUIRE(decode(R"({"specversion":"1.0","type":"A"})", false, {}, out).ok());
    // anything else is not a CloudEvent
    auto bad = decode("hello", false, {}, out);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().kind == evt::ErrorKind::invalid);
    CHECK_FALSE(decode("", true, {{"content-type", "application/cloudevents+json"}}, out).ok());
}

TEST_CASE("base64 and the JSON content types") {
    CHECK(base64("") == "");
    CHECK(base64("f") == "Zg==");
    CHECK(base64("fo") == "Zm8=");
    CHECK(base64("foo") == "Zm9v");
    CHECK(base64("foobar") == "Zm9vYmFy");
    CHECK(is_json_content_type("application/json; charset=utf-8"));
    CHECK(is_json_content_type("application/vnd.x+json"));
    CHECK_FALSE(is_json_content_type("text/plain"));
}

TEST_CASE("a tombstone is a null value in both modes, and reads back byte for byte") {
    std::string t = R"({"specversion":"1.0","id":"1","source":"/s","type":"Deleted","subject":"k","evttombstone":true,"data":null})";
    for (Mode m : {Mode::structured, Mode::binary}) {
        Encoder enc(m);
        Encoded e;
        REQUIRE(enc.encode(t, e).ok());
        CHECK(e.binary);
        CHECK(e.null_value);
        CHECK(round_trip(enc, t) == t);
        CHECK(enc.fallbacks() == 0);
    }
    // data:null without the marker is no tombstone: structured in structured mode, a fallback in binary
    std::string plain = R"({"specversion":"1.0","id":"1","source":"/s","type":"A","data":null})";
    Encoder s(Mode::structured);
    Encoded e;
    REQUIRE(s.encode(plain, e).ok());
    CHECK_FALSE(e.binary);
}

TEST_CASE("one Encoded reused across modes and events carries each event's own headers") {
    // The producer reuses one Encoded for a whole run: headers left from the
    // previous event must never leak into the next.
    const std::string bin = R"({"specversion":"1.0","id":"a","source":"/s","type":"T","data":{"n":1}})";
    const std::string plain = R"({"specversion":"1.0","id":"b","source":"/s","type":"T","sequence":5,"data":1})";
    const std::string tomb = R"({"specversion":"1.0","id":"c","source":"/s","type":"Gone","evttombstone":true,"data":null})";
    Encoder binary(Mode::binary), structured(Mode::structured);
    Encoded e;
    REQUIRE(binary.encode(bin, e).ok());
    CHECK(e.binary);
    CHECK(e.headers.size() == 4);
    REQUIRE(binary.encode(plain, e).ok());  // falls back: a non-string attribute
    CHECK_FALSE(e.binary);
    REQUIRE(e.headers.size() == 1);
    CHECK(e.headers[0].name == "content-type");
    CHECK(e.headers[0].value == kStructuredType);
    REQUIRE(structured.encode(tomb, e).ok());
    CHECK(e.binary);
    CHECK(e.null_value);
    CHECK(e.headers.size() == 5);  // ce_specversion, ce_id, ce_source, ce_type, ce_evttombstone
    REQUIRE(structured.encode(bin, e).ok());
    CHECK_FALSE(e.binary);
    REQUIRE(e.headers.size() == 1);
    CHECK(e.headers[0].value == kStructuredType);
    REQUIRE(binary.encode(bin, e).ok());
    CHECK(e.headers.size() == 4);
    CHECK(e.headers[0].name == "ce_specversion");
    CHECK(e.headers[1].value == "a");
}
