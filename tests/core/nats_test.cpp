// The NATS backend's pure parts: subject tokens, the reply metadata, the
// decoder's key, and the producer's flat containers. (What needs a server
// is in tests/cli/nats.bats, on a real cluster.)
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <unordered_map>

#include "core/nats/client.hpp"
#include "core/nats/flat.hpp"

using namespace evt::nats;

TEST_CASE("subject tokens round-trip any bytes and stay one NATS token", "[nats]") {
    CHECK(subject_token("") == "_");
    CHECK(subject_of_token("_").empty());
    CHECK(subject_token("order-1") == "order-1");
    CHECK(subject_token("a.b c") == "a_2Eb_20c");
    CHECK(subject_of_token("a_2Eb_20c") == "a.b c");
    std::mt19937 rng(7);
    for (int round = 0; round < 2000; ++round) {
        std::string s(1 + rng() % 40, '\0');
        for (char& c : s) c = static_cast<char>(rng() % 256);
        std::string t = subject_token(s);
        INFO(t);
        CHECK(t.find_first_of(".*> \t") == std::string::npos);
        CHECK(t != "_");
        CHECK(subject_of_token(t) == s);
    }
}

TEST_CASE("the JetStream reply subject gives sequence, delivery count and time", "[nats]") {
    MsgMeta m;
    REQUIRE(parse_meta("$JS.ACK.EVT_orders_0.evtq_g.3.42.17.1700000000123456789.5", m));
    CHECK(m.delivered == 3);
    CHECK(m.stream_seq == 42);
    CHECK(m.consumer_seq == 17);
    CHECK(m.ns == 1700000000123456789LL);
    CHECK(m.pending == 5);
    // The newer form with a domain and an account hash.
    REQUIRE(parse_meta("$JS.ACK.dom.acchash.EVT_o_1.c.1.9.9.1700000000000000000.0.tok", m));
    CHECK(m.stream_seq == 9);
    CHECK_FALSE(parse_meta("_INBOX.abc", m));
    CHECK_FALSE(parse_meta("$JS.ACK.S.C.x.9.9.1.0", m));
}

namespace {
natsMsg* message(const std::string& subject, const char* key_header) {
    natsMsg* m = nullptr;
    const std::string json = R"({"id":"1"})";
    REQUIRE(natsMsg_Create(&m, subject.c_str(), "$JS.ACK.EVT_t_2.c.1.8.8.1700000000000000000.0", json.data(),
                           static_cast<int>(json.size())) == NATS_OK);
    if (key_header) REQUIRE(natsMsgHeader_Set(m, "Evt-Key", key_header) == NATS_OK);
    return m;
}
}  // namespace

TEST_CASE("the decoder's key: the header when present, else the subject token", "[nats]") {
    REQUIRE(nats_Open(-1) == NATS_OK);  // messages are freed through the library's collector
    Decoder d;
    evt::log::RecordView rec;
    natsMsg* m = message(event_subject("t", 2, "order 7"), nullptr);
    REQUIRE(d.decode(m, 2, rec, false));
    CHECK(rec.offset == 7);
    CHECK(rec.partition == 2);
    CHECK(rec.time == 1700000000000000);
    CHECK(rec.has_key);
    CHECK(rec.key == "order 7");
    natsMsg_Destroy(m);

    m = message(event_subject("t", 2, "order-7"), "customer-3");
    REQUIRE(d.decode(m, 2, rec, false));
    CHECK(rec.key == "customer-3");
    natsMsg_Destroy(m);

    m = message(event_subject("t", 2, ""), nullptr);
    REQUIRE(d.decode(m, 2, rec, false));
    CHECK_FALSE(rec.has_key);
    natsMsg_Destroy(m);
}

TEST_CASE("Ring keeps input order across growth", "[nats]") {
    Ring<int> r;
    std::uint64_t next_out = 0;
    std::mt19937 rng(3);
    for (int i = 0; i < 20000; ++i) {
        std::uint64_t at = r.push_back();
        r[at] = i;
        if (rng() % 3 == 0 && !r.empty()) {
            CHECK(r.front() == static_cast<int>(next_out));
            r.pop_front();
            ++next_out;
        }
    }
    CHECK(r.end() - r.begin() == 20000 - next_out);  // grew past its first 1024
    for (std::uint64_t i = r.begin(); i < r.end(); ++i) CHECK(r[i] == static_cast<int>(i));
    std::uint64_t last = r.end() - 1;
    r.pop_back();
    CHECK(r.end() == last);
}

TEST_CASE("PtrIndex agrees with a hash map under random insert and take", "[nats]") {
    PtrIndex<int> idx;
    std::unordered_map<int*, std::uint64_t> ref;
    std::vector<int> storage(50000);
    std::mt19937 rng(11);
    std::uint64_t n = 0;
    for (int step = 0; step < 200000; ++step) {
        int* p = &storage[rng() % storage.size()];
        if (ref.count(p)) {
            auto got = idx.take(p);
            REQUIRE(got);
            CHECK(*got == ref[p]);
            ref.erase(p);
            CHECK_FALSE(idx.take(p));
        } else {
            idx.insert(p, n);
            ref[p] = n++;
        }
        REQUIRE(idx.size() == ref.size());
    }
    for (auto& [p, slot] : ref) {
        auto got = idx.take(p);
        REQUIRE(got);
        CHECK(*got == slot);
    }
    CHECK(idx.size() == 0);
}
