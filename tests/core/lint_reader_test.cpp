#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/lint/catalog.hpp"
#include "core/lint/catalog_index.hpp"
#include "core/lint/document.hpp"
#include "core/lint/refs.hpp"

using namespace evt::lint;
namespace fs = std::filesystem;

namespace {
std::string fixture(const std::string& rel) { return std::string(EVT_SOURCE_DIR) + "/tests/fixtures/lint/" + rel; }
std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}
const Message* find(const Catalog& c, std::string_view name) {
    for (const auto& m : c.messages)
        if (m.name == name) return &m;
    return nullptr;
}
std::string dump(Node n) {
    std::ostringstream o;
    o << n.line() << ":" << n.column() << " ";
    switch (n.kind()) {
    case NodeKind::null: o << "~"; break;
    case NodeKind::scalar: o << "'" << n.str() << "'"; break;
    case NodeKind::sequence:
        o << "[";
        for (std::size_t i = 0; i < n.size(); ++i) o << dump(n.item(i)) << ",";
        o << "]";
        break;
    case NodeKind::mapping:
        o << "{";
        for (std::size_t i = 0; i < n.size(); ++i) o << dump(n.key(i)) << "=" << dump(n.value(i)) << ",";
        o << "}";
        break;
    }
    return o.str();
}
}  // namespace

TEST_CASE("lint: documents keep 1-based positions and answer JSON pointers") {
    ParseFailure pf;
    auto doc = Document::parse("a:\n  b: [x, {c: 'y'}]\n  d: |\n    text\n", pf);
    REQUIRE(doc);
    Node c = doc->at_pointer("/a/b/1/c");
    CHECK(c.str() == "y");
    CHECK(c.line() == 2);
    CHECK(c.column() == 14);
    CHECK(doc->at_pointer("/a/d").str() == "text\n");
    CHECK_FALSE(doc->at_pointer("/a/zzz"));
}

TEST_CASE("lint: malformed YAML fails with its position") {
    ParseFailure pf;
    CHECK_FALSE(Document::parse("a: [1, 2\nb: c\n", pf));
    CHECK(pf.line == 2);
    CHECK_FALSE(pf.message.empty());
}

TEST_CASE("lint: the fast reader builds the same tree as yaml-cpp") {
    for (const char* f : {"good.yaml", "bad.yaml", "ignore-inline.yaml", "asyncapi/streetlights-mqtt-2.6.yml",
                          "asyncapi/streetlights-kafka-3.yml", "asyncapi/orders-2.4.json", "schemas/payment-sent.json"}) {
        INFO(f);
        std::string text = slurp(fixture(f));
        ParseFailure a, b;
        auto fast = Document::parse(text, a);
        auto ref = Document::parse_reference(text, b);
        REQUIRE(fast);
        REQUIRE(ref);
        CHECK(dump(fast->root()) == dump(ref->root()));
    }
}

TEST_CASE("lint: $ref resolution: inside the document, to a relative file, and broken") {
    std::string file = fixture("asyncapi/orders-2.4.json");
    ParseFailure pf;
    auto doc = Document::parse(slurp(file), pf);
    REQUIRE(doc);
    RefResolver refs(*doc, file);
    auto inside = refs.resolve(doc->at_pointer("/channels/orders.placed/subscribe/message"), "");
    REQUIRE(inside.ok());
    CHECK(inside->pointer == "/components/messages/OrderPlaced");
    CHECK(inside->node["messageId"].str() == "OrderPlaced");
    auto outside = refs.resolve(doc->at_pointer("/channels/orders.ship/subscribe/message"), "");
    REQUIRE(outside.ok());
    CHECK(outside->external);
    CHECK(outside->node["summary"].str() == "Ask the warehouse to ship.");

    auto broken = Document::parse("x: {$ref: '#/nowhere'}\n", pf);
    REQUIRE(broken);
    RefResolver r2(*broken, "mem.yaml");
    auto bad = r2.resolve(broken->at_pointer("/x"), "/x");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message == "cannot resolve $ref '#/nowhere': no such node");
}

TEST_CASE("lint: AsyncAPI 2.x: producers from subscribe, traits merged, files followed") {
    auto cat = load_catalog(fixture("asyncapi/orders-2.4.json"), {});
    REQUIRE(cat.ok());
    CHECK(cat->format == Format::asyncapi2);
    const Message* placed = find(*cat, "OrderPlaced");
    REQUIRE(placed);
    CHECK(placed->producers == std::vector<std::string>{"orders-service"});
    CHECK(placed->documented);  // summary from the trait
    CHECK(placed->version == "1.3.0");
    const Message* ship = find(*cat, "ShipOrder");
    REQUIRE(ship);
    CHECK(ship->producers == std::vector<std::string>{"orders-service"});
    const Message* captured = find(*cat, "PaymentCaptured");
    REQUIRE(captured);
    CHECK(captured->producers.empty());
    CHECK(captured->consumers == std::vector<std::string>{"orders-service"});

    auto flipped = load_catalog(fixture("asyncapi/orders-2.4.json"), {false, true});
    REQUIRE(flipped.ok());
    CHECK(find(*flipped, "PaymentCaptured")->producers == std::vector<std::string>{"orders-service"});
}

TEST_CASE("lint: AsyncAPI 3.0: send produces, receive consumes, payload fields read through $refs") {
    auto cat = load_catalog(fixture("asyncapi/streetlights-kafka-3.yml"), {});
    REQUIRE(cat.ok());
    CHECK(cat->format == Format::asyncapi3);
    REQUIRE(cat->messages.size() == 3);
    const Message* dim = find(*cat, "dimLight");
    REQUIRE(dim);
    CHECK(dim->producers == std::vector<std::string>{"Streetlights Kafka API"});
    CHECK(dim->pointer == "/components/messages/dimLight");
    CHECK(dim->pos.line == 131);
    REQUIRE(dim->fields.size() == 2);
    CHECK(dim->fields[0].name == "percentage");
    CHECK(dim->fields[0].type == "integer");
    const Message* measured = find(*cat, "lightMeasured");
    CHECK(measured->producers.empty());
    CHECK(measured->consumers == std::vector<std::string>{"Streetlights Kafka API"});
}

TEST_CASE("lint: native catalogs, unknown formats and NDJSON streams") {
    auto good = load_catalog(fixture("good.yaml"), {});
    REQUIRE(good.ok());
    CHECK(good->ns == "com.acme.shop");
    CHECK(good->style == Style::pascal);
    const Message* sent = find(*good, "PaymentSent");
    REQUIRE(sent);
    CHECK(sent->fields.size() == 2);  // from schemas/payment-sent.json
    CHECK(sent->fields[1].required);

    Catalog unknown = read_catalog("x.yaml", "openapi: 3.0.0\n", {});
    CHECK(unknown.unreadable);
    REQUIRE(unknown.problems.size() == 1);
    CHECK(unknown.problems[0].rule == "parse/invalid-document");

    Catalog ev = read_catalog("e.ndjson", "{\"type\":\"A\"}\n\n{\"type\":\"B\"}\n{\"type\":\"A\"}\n", {true, false});
    REQUIRE(ev.messages.size() == 2);
    CHECK(ev.messages[0].count == 2);
    CHECK(ev.messages[1].pos.line == 3);
    CHECK(ev.events_total == 3);

    auto missing = load_catalog(fixture("nope.yaml"), {});
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().kind == evt::ErrorKind::not_found);
}

TEST_CASE("lint: CatalogIndex answers evt-append --catalog: known types and required data fields") {
    auto idx = CatalogIndex::load(fixture("good.yaml"));
    REQUIRE(idx.ok());
    CHECK(idx->size() == 3);
    CHECK(idx->contains("OrderPlaced"));
    CHECK_FALSE(idx->check("OrderPlaced", {"orderId", "placedAt", "extra"}).has_value());
    CHECK(idx->check("OrderPlaced", {"orderId"}) == std::optional<std::string>("data lacks the required field 'placedAt' of 'OrderPlaced'"));
    CHECK(idx->check("PaymentSent", {"orderId"}) == std::optional<std::string>("data lacks the required field 'amount' of 'PaymentSent'"));
    CHECK(idx->check("ChargeCard", {}) == std::optional<std::string>("type 'ChargeCard' is not in the catalog"));
    auto broken = CatalogIndex::load(fixture("broken.yaml"));
    REQUIRE_FALSE(broken.ok());
    CHECK(broken.error().kind == evt::ErrorKind::invalid);
    CHECK(broken.error().message.find("/broken.yaml:5:") != std::string::npos);
}
