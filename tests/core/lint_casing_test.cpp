#include <catch2/catch.hpp>

#include "core/lint/casing.hpp"

using namespace evt::lint;

namespace {
std::vector<std::string> words(std::string_view name) {
    std::vector<std::string> out;
    for (const auto& t : tokenize(name)) out.push_back(t.word);
    return out;
}
using W = std::vector<std::string>;
}  // namespace

TEST_CASE("lint: tokenize splits every casing into lower-case words") {
    CHECK(words("OrderPlaced") == W{"order", "placed"});
    CHECK(words("orderPlaced") == W{"order", "placed"});
    CHECK(words("order.placed") == W{"order", "placed"});
    CHECK(words("order-placed") == W{"order", "placed"});
    CHECK(words("order_placed") == W{"order", "placed"});
    CHECK(words("orders/create") == W{"orders", "create"});
    CHECK(words("Object Created") == W{"object", "created"});
    CHECK(words("com.github.pull_request.opened") == W{"com", "github", "pull", "request", "opened"});
    CHECK(words("com.example.object.deleted.v2") == W{"com", "example", "object", "deleted", "v2"});
    CHECK(words("HTTPRequestSent") == W{"http", "request", "sent"});
    CHECK(words("Order0Placed") == W{"order0", "placed"});
    CHECK(words("OrderPlacedV1") == W{"order", "placed", "v1"});
}

TEST_CASE("lint: tokens keep their byte range in the name") {
    auto t = tokenize("pull_request.synchronize");
    REQUIRE(t.size() == 3);
    CHECK(t[2].begin == 13);
    CHECK(t[2].end == 24);
}

TEST_CASE("lint: detect_style names each casing") {
    CHECK(detect_style("OrderPlaced") == Style::pascal);
    CHECK(detect_style("orderPlaced") == Style::camel);
    CHECK(detect_style("order.placed") == Style::dot);
    CHECK(detect_style("pull_request.opened") == Style::dot);
    CHECK(detect_style("order-placed") == Style::kebab);
    CHECK(detect_style("order_placed") == Style::snake);
    CHECK(detect_style("orders/create") == Style::slash);
    CHECK(detect_style("Object Created") == Style::words);
    CHECK(detect_style("com.acme.orders.order.placed.v1") == Style::reverse_dns);
    CHECK(detect_style("push") == Style::lower);
    CHECK(detect_style("Order_placed") == Style::unknown);
}

TEST_CASE("lint: a lower-case word fits every lower-case style, reverse-dns fits dot.case") {
    CHECK(style_fits(Style::lower, Style::snake));
    CHECK(style_fits(Style::lower, Style::camel));
    CHECK_FALSE(style_fits(Style::lower, Style::pascal));
    CHECK(style_fits(Style::reverse_dns, Style::dot));
    CHECK_FALSE(style_fits(Style::kebab, Style::pascal));
}

TEST_CASE("lint: render writes words back in each style; parse_style reads config names") {
    W w{"card", "charged"};
    CHECK(render(w, Style::pascal) == "CardCharged");
    CHECK(render(w, Style::camel) == "cardCharged");
    CHECK(render(w, Style::dot) == "card.charged");
    CHECK(render(w, Style::kebab) == "card-charged");
    CHECK(render(w, Style::snake) == "card_charged");
    CHECK(render(w, Style::slash) == "card/charged");
    CHECK(render(w, Style::words) == "Card Charged");
    CHECK(parse_style("kebab-case") == Style::kebab);
    CHECK(parse_style("reverse-dns") == Style::reverse_dns);
    CHECK_FALSE(parse_style("Shouting").has_value());
    CHECK(match_case("Charge", "charged") == "Charged");
    CHECK(match_case("HTTP", "https") == "HTTPS");
}
