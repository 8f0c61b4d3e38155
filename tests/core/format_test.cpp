// The position suffix of every reader's output (evt-replay, evt-consume,
// evt-append --echo): the fast path must write exactly what SPEC.md section 3
// says, whatever the topic, the numbers, the time and the extras.
#include <catch2/catch.hpp>

#include "core/event/format.hpp"

using namespace evt;

namespace {
log::RecordView record(std::string_view json, std::uint32_t partition, std::uint64_t offset, Micros time) {
    log::RecordView r;
    r.json = json;
    r.partition = partition;
    r.offset = offset;
    r.time = time;
    return r;
}
}  // namespace

TEST_CASE("positions: an empty object gets no comma before the first attribute") {
    std::string out;
    event::append_with_position(out, "t", record("{}", 0, 0, 0), {});
    CHECK(out == R"({"evttopic":"t","evtpartition":0,"evtoffset":0,"evttime":"1970-01-01T00:00:00.000Z"})");
}

TEST_CASE("positions: the largest numbers, both extras, and text already in the buffer") {
    std::string out = "before\n";
    event::append_with_position(out, "orders.dlq", record(R"({"a":1})", 255, 18446744073709551615ull, 1764221400999999),
                                {18446744073709551615ull, 7});
    CHECK(out == "before\n"
                 R"({"a":1,"evttopic":"orders.dlq","evtpartition":255,"evtoffset":18446744073709551615,)"
                 R"("evttime":"2025-11-27T05:30:00.999Z","evtversion":18446744073709551615,"evtdelivery":7})");
}

TEST_CASE("positions: the cached topic head and time follow each call's own values") {
    std::string out;
    // Alternate topics and times so neither cached piece can leak into the next event.
    event::append_with_position(out, "a", record(R"({"x":1})", 1, 10, 1000), {});
    out += '\n';
    event::append_with_position(out, "bb", record(R"({"x":2})", 2, 11, 1000), {0, 3});
    out += '\n';
    event::append_with_position(out, "a", record(R"({"x":3})", 1, 12, 2000), {4, 0});
    CHECK(out == R"({"x":1,"evttopic":"a","evtpartition":1,"evtoffset":10,"evttime":"1970-01-01T00:00:00.001Z"})"
                 "\n"
                 R"({"x":2,"evttopic":"bb","evtpartition":2,"evtoffset":11,"evttime":"1970-01-01T00:00:00.001Z","evtdelivery":3})"
                 "\n"
                 R"({"x":3,"evttopic":"a","evtpartition":1,"evtoffset":12,"evttime":"1970-01-01T00:00:00.002Z","evtversion":4})");
}

TEST_CASE("positions: a JSON text shorter than an object is copied as it is") {
    std::string out;
    event::append_with_position(out, "t", record("1", 0, 0, 0), {});
    CHECK(out == "1");
}
