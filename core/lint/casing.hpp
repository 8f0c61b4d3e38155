// Casing: splitting event names into words and telling their style apart.
//
// Every casing in use for event names is understood: PascalCase, camelCase,
// dot.case, kebab-case, snake_case, slash/paths (`orders/create`), words
// with spaces (EventBridge `Object Created`) and reverse-DNS CloudEvents
// types (`com.github.pull_request.opened`, `com.example.object.deleted.v2`).
// tokenize() keeps each word's byte range in the original name so that a fix
// can replace one word and leave the rest untouched; render() writes a list
// of words back in a given style. Pure functions; no errors (unknown style
// names give nullopt).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace evt::lint {

enum class Style : std::uint8_t {
    unknown,      // mixed or empty
    lower,        // one lower-case word: fits any lower-case style
    pascal,       // OrderPlaced
    camel,        // orderPlaced
    dot,          // order.placed (segments may be snake_case: pull_request.opened)
    kebab,        // order-placed
    snake,        // order_placed
    slash,        // orders/create
    words,        // Object Created
    reverse_dns,  // com.acme.order.placed.v1
};

struct Token {
    std::string word;           // lower case
    std::uint32_t begin, end;   // byte range in the original name
};

// Split on `._-/ :` and on case changes (HTTPRequestSent -> http request sent;
// Order0Placed -> order0 placed). Digits stay with the word before them.
std::vector<Token> tokenize(std::string_view name);

Style detect_style(std::string_view name);
// Does a name written in `actual` satisfy the wanted style?
bool style_fits(Style actual, Style wanted);
std::string_view style_name(Style s);
// "PascalCase", "camelCase", "dot.case", "kebab-case", "snake_case",
// "slash/case", "reverse-dns" (and a few spellings of each).
std::optional<Style> parse_style(std::string_view text);
// Write lower-case words in a style (reverse-dns and lower join with '.').
std::string render(const std::vector<std::string>& words, Style style);
// Is the first dot segment of a name a top-level domain (com, org, io...)?
bool has_reverse_dns_prefix(std::string_view name);
// Copy the capitalisation of `model` ("Charge", "CHARGE", "charge") onto `word`.
std::string match_case(std::string_view model, std::string_view word);

}  // namespace evt::lint
