// Reporters: write a run's findings in the format a reader expects.
//
//   text    FILE:LINE:COL: severity: message [rule-id], then a summary line
//   json    Spectral's array of {code, path, message, severity (0 error,
//           1 warn, 2 info), range (zero-based), source}
//   sarif   SARIF 2.1.0 for GitHub code scanning (1-based regions)
//   github  GitHub Actions workflow commands (::error file=...,line=...::msg)
//   junit   one <testsuite> per file, one <testcase> per finding at or above
//           the fail severity (as Spectral does)
//
// Reporters only format: the stream's state tells the caller whether the
// write worked (the tool turns a failed write into exit status 74).
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "core/lint/finding.hpp"

namespace evt::lint {

enum class OutputFormat { text, json, sarif, github, junit };
std::optional<OutputFormat> parse_output_format(std::string_view name);

struct Report {
    std::vector<Finding> findings;    // sorted
    std::vector<std::string> files;   // every file linted, in order
    Severity fail = Severity::error;  // --fail-severity
    bool quiet = false;               // only findings at or above `fail`, no summary
    std::string version;              // of the tool, for SARIF
    std::uint64_t events = 0;         // --events: lines read
    std::uint64_t types = 0;          // --events: distinct types
};

struct Counts {
    std::size_t errors = 0, warnings = 0, infos = 0;
};
Counts count(const std::vector<Finding>& findings);

void write_report(std::ostream& out, OutputFormat format, const Report& report);

// Pieces exposed for tests.
std::string github_escape_data(std::string_view s);
std::string github_escape_property(std::string_view s);
std::string xml_escape(std::string_view s);

}  // namespace evt::lint
