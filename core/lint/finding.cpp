#include "core/lint/finding.hpp"

#include <tuple>

namespace evt::lint {

std::optional<Severity> parse_severity(std::string_view t) {
    if (t == "error") return Severity::error;
    if (t == "warn" || t == "warning") return Severity::warn;
    if (t == "info" || t == "information" || t == "hint") return Severity::info;
    if (t == "off") return Severity::off;
    return std::nullopt;
}

std::string_view severity_word(Severity s) {
    switch (s) {
    case Severity::error: return "error";
    case Severity::warn: return "warning";
    case Severity::info: return "info";
    case Severity::off: return "off";
    }
    return "off";
}

bool finding_less(const Finding& a, const Finding& b) {
    return std::tie(a.file, a.pos.line, a.pos.column, a.rule, a.message) <
           std::tie(b.file, b.pos.line, b.pos.column, b.rule, b.message);
}

}  // namespace evt::lint
