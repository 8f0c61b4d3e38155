// Finding: one problem the linter reports, with where it is and how bad.
//
// A Finding names a rule id ("naming/past-tense"), a severity, a message in
// the one voice of the project (lower case, no final period), a 1-based
// start and end position in a file, and the JSON pointer of the offending
// node ("/components/messages/ChargeCard"), which reporters and config
// overrides use. Severities order error > warn > info; `off` disables a rule.
// Plain data: no errors, no shared state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace evt::lint {

enum class Severity : std::uint8_t { off = 0, info = 1, warn = 2, error = 3 };

// "error", "warn"/"warning", "info"/"information"/"hint", "off" -> Severity.
std::optional<Severity> parse_severity(std::string_view text);
// "error", "warning", "info" (the word used in text output); "off" for off.
std::string_view severity_word(Severity s);

struct Position {
    std::uint32_t line = 1, column = 1;          // 1-based start
    std::uint32_t end_line = 1, end_column = 1;  // 1-based, exclusive end column
};

struct Finding {
    std::string file;     // as given on the command line ("-" reads as <stdin>)
    Position pos;
    Severity severity = Severity::error;
    std::string rule;     // "naming/past-tense"
    std::string message;  // "'ChargeCard' starts with the command verb 'Charge'; did you mean 'CardCharged'?"
    std::string pointer;  // JSON pointer of the node ("" = document root)
};

// Orders findings by file, line, column, rule.
bool finding_less(const Finding& a, const Finding& b);

}  // namespace evt::lint
