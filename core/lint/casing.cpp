#include "core/lint/casing.hpp"

#include <array>
#include <cctype>

namespace evt::lint {

namespace {

bool is_sep(char c) { return c == '.' || c == '_' || c == '-' || c == '/' || c == ' ' || c == ':'; }
bool up(char c) { return std::isupper(static_cast<unsigned char>(c)) != 0; }
bool low(char c) { return std::islower(static_cast<unsigned char>(c)) != 0; }
bool digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }
char lower_of(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }
char upper_of(char c) { return static_cast<char>(std::toupper(static_cast<unsigned char>(c))); }

constexpr std::array<std::string_view, 22> kTlds = {
    "com", "org", "net", "io", "dev", "co", "app", "cloud", "biz", "info", "de", "uk",
    "fr", "nl", "ch", "eu", "us", "ai", "sh", "tech", "gov", "edu"};

}  // namespace

std::vector<Token> tokenize(std::string_view s) {
    std::vector<Token> out;
    std::size_t i = 0, n = s.size();
    while (i < n) {
        while (i < n && is_sep(s[i])) ++i;
        if (i >= n) break;
        std::size_t b = i;
        ++i;
        while (i < n && !is_sep(s[i])) {
            char prev = s[i - 1], c = s[i];
            if (up(c) && (low(prev) || digit(prev))) break;
            if (up(c) && up(prev) && i + 1 < n && low(s[i + 1])) break;
            ++i;
        }
        Token t{std::string(), static_cast<std::uint32_t>(b), static_cast<std::uint32_t>(i)};
        t.word.reserve(i - b);
        for (std::size_t k = b; k < i; ++k) t.word += lower_of(s[k]);
        out.push_back(std::move(t));
    }
    return out;
}

bool has_reverse_dns_prefix(std::string_view name) {
    auto dot = name.find('.');
    if (dot == std::string_view::npos) return false;
    std::string_view first = name.substr(0, dot);
    for (auto t : kTlds)
        if (first == t) return name.find('.', dot + 1) != std::string_view::npos;
    return false;
}

Style detect_style(std::string_view s) {
    if (s.empty()) return Style::unknown;
    bool has_up = false, has_low = false, dot = false, dash = false, under = false, slash = false, space = false;
    for (char c : s) {
        has_up |= up(c);
        has_low |= low(c);
        dot |= c == '.';
        dash |= c == '-';
        under |= c == '_';
        slash |= c == '/';
        space |= c == ' ';
    }
    if (space) return Style::words;
    if (slash) return has_up ? Style::unknown : Style::slash;
    if (dot) {
        if (has_up) return Style::unknown;
        return has_reverse_dns_prefix(s) ? Style::reverse_dns : Style::dot;
    }
    if (dash && under) return Style::unknown;
    if (dash) return has_up ? Style::unknown : Style::kebab;
    if (under) return has_up ? Style::unknown : Style::snake;
    if (!has_up) return Style::lower;
    if (up(s[0])) return Style::pascal;
    return Style::camel;
}

bool style_fits(Style actual, Style wanted) {
    if (actual == wanted) return true;
    if (actual == Style::lower)
        return wanted == Style::camel || wanted == Style::dot || wanted == Style::kebab || wanted == Style::snake ||
               wanted == Style::slash;
    if (wanted == Style::dot && actual == Style::reverse_dns) return true;
    return false;
}

std::string_view style_name(Style s) {
    switch (s) {
    case Style::unknown: return "mixed";
    case Style::lower: return "lowercase";
    case Style::pascal: return "PascalCase";
    case Style::camel: return "camelCase";
    case Style::dot: return "dot.case";
    case Style::kebab: return "kebab-case";
    case Style::snake: return "snake_case";
    case Style::slash: return "slash/case";
    case Style::words: return "Title Words";
    case Style::reverse_dns: return "reverse-dns";
    }
    return "mixed";
}

std::optional<Style> parse_style(std::string_view t) {
    if (t == "PascalCase" || t == "pascal" || t == "UpperCamelCase") return Style::pascal;
    if (t == "camelCase" || t == "camel") return Style::camel;
    if (t == "dot.case" || t == "dot") return Style::dot;
    if (t == "kebab-case" || t == "kebab") return Style::kebab;
    if (t == "snake_case" || t == "snake") return Style::snake;
    if (t == "slash/case" || t == "slash") return Style::slash;
    if (t == "reverse-dns" || t == "cloudevents") return Style::reverse_dns;
    if (t == "Title Words" || t == "words") return Style::words;
    return std::nullopt;
}

std::string render(const std::vector<std::string>& words, Style style) {
    std::string out;
    auto cap = [](const std::string& w) {
        std::string c = w;
        if (!c.empty()) c[0] = upper_of(c[0]);
        return c;
    };
    char sep = 0;
    switch (style) {
    case Style::pascal:
    case Style::unknown:
        for (const auto& w : words) out += cap(w);
        return out;
    case Style::camel:
        for (std::size_t i = 0; i < words.size(); ++i) out += i ? cap(words[i]) : words[i];
        return out;
    case Style::words:
        for (std::size_t i = 0; i < words.size(); ++i) {
            if (i) out += ' ';
            out += cap(words[i]);
        }
        return out;
    case Style::kebab: sep = '-'; break;
    case Style::snake: sep = '_'; break;
    case Style::slash: sep = '/'; break;
    case Style::dot:
    case Style::lower:
    case Style::reverse_dns: sep = '.'; break;
    }
    for (std::size_t i = 0; i < words.size(); ++i) {
        if (i) out += sep;
        out += words[i];
    }
    return out;
}

std::string match_case(std::string_view model, std::string_view word) {
    std::string out(word);
    if (model.empty()) return out;
    bool all_up = model.size() > 1;
    for (char c : model) all_up &= !low(c);
    if (all_up) {
        for (auto& c : out) c = upper_of(c);
    } else if (up(model[0]) && !out.empty()) {
        out[0] = upper_of(out[0]);
    }
    return out;
}

}  // namespace evt::lint
