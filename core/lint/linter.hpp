// Linter: one evt-lint run from options to a Report — find and load the
// config, read every input (catalogs, or NDJSON event streams), run the rules,
// collect the findings — and the exit status that the findings call for.
//
// Errors: run_lint() returns ErrorKind::not_found when an input file or the
// `--config` file does not exist (before anything is linted), ErrorKind::io
// when one cannot be read, ErrorKind::usage for a directory given as input,
// and ErrorKind::invalid for a malformed config. Problems inside inputs are
// findings, not errors; LintRun::unreadable reports that some input could
// not be read at all (exit status 65).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/lint/config.hpp"
#include "core/lint/report.hpp"
#include "core/util/result.hpp"

namespace evt::lint {

struct LintOptions {
    std::vector<std::string> files;  // empty or "-": stdin
    bool events = false;             // inputs are NDJSON event streams
    bool flip_direction = false;     // AsyncAPI 2.x publish/subscribe read the other way
    std::string config;              // --config; "" = discover from `start_dir`
    bool no_config = false;
    std::string start_dir = ".";
    Severity fail = Severity::error;
    bool quiet = false;
    std::optional<std::size_t> max_warnings;
};

struct LintRun {
    Report report;
    bool unreadable = false;
    std::string config_path;            // the config used, "" for defaults
    std::vector<std::string> warnings;  // config warnings (unknown rules...)
};

Result<LintRun> run_lint(const LintOptions& opts);

// 65 when an input was unreadable, 1 when a finding reaches the fail
// severity or warnings exceed the maximum, else 0.
int exit_status(const LintRun& run, const LintOptions& opts);

}  // namespace evt::lint
