// evt-lint: lint event catalogs (native YAML, AsyncAPI 2.x/3.0) and NDJSON
// event streams: names that state facts, producers, payloads, docs.
// The work is in core/lint/; this file binds flags, calls it and prints.
#include <iostream>
#include <sstream>

#include "core/lint/linter.hpp"
#include "core/lint/report.hpp"
#include "core/lint/rules.hpp"
#include "tools/common/runner.hpp"

namespace {

struct Options {
    evt::lint::LintOptions lint;
    std::string format = "text";
    std::string fail = "error";
    int max_warnings = -1;
    bool list_rules = false;
};

const std::vector<std::string> kSynopsis = {
    "evt-lint [-f FORMAT] [-c FILE] [-F SEVERITY] [--max-warnings N] [-q] [FILE...]",
    "evt-lint --events [-f FORMAT] [-c FILE] [FILE...]",
    "evt-lint --list-rules",
};

void bind(CLI::App& app, Options& o) {
    app.add_option("FILE", o.lint.files, "catalogs to lint: native YAML, AsyncAPI 2.x/3.0 YAML or JSON ('-' = stdin)");
    app.add_option("-f,--format", o.format, "output: text, json (Spectral's shape), sarif, github, junit (default text)")
        ->check(CLI::IsMember({"text", "json", "sarif", "github", "github-actions", "junit"}))
        ->type_name("FORMAT");
    app.add_option("-c,--config", o.lint.config, "config file (default: the nearest .evtlint.yaml upwards)")->type_name("FILE");
    app.add_flag("--no-config", o.lint.no_config, "use the built-in defaults, read no config file");
    app.add_option("-F,--fail-severity", o.fail, "lowest severity that fails the run: error, warn, info (default error)")
        ->check(CLI::IsMember({"error", "warn", "warning", "info"}))
        ->type_name("SEVERITY");
    app.add_option("--max-warnings", o.max_warnings, "fail when there are more than N warnings")
        ->check(CLI::NonNegativeNumber)
        ->type_name("N");
    app.add_flag("-q,--quiet", o.lint.quiet, "print only findings at or above the fail severity, no summary");
    app.add_flag("--events", o.lint.events, "inputs are NDJSON CloudEvents: lint the types seen, with counts");
    app.add_flag("--flip-direction", o.lint.flip_direction,
                 "AsyncAPI 2.x: read 'publish' as produced by the application (default: 'subscribe')");
    app.add_flag("--list-rules", o.list_rules, "list the rules with their default severities and exit");
}

evt::Result<int> list_rules() {
    for (const auto& r : evt::lint::all_rules())
        std::cout << r.id << "\t" << evt::lint::severity_word(r.severity) << "\t" << r.description << "\n";
    return 0;
}

evt::Result<int> run(Options& o) {
    if (o.list_rules) return list_rules();
    o.lint.fail = *evt::lint::parse_severity(o.fail);
    if (o.max_warnings >= 0) o.lint.max_warnings = static_cast<std::size_t>(o.max_warnings);
    auto format = evt::lint::parse_output_format(o.format);
    EVT_ASSIGN(evt::lint::LintRun result, evt::lint::run_lint(o.lint));
    for (const auto& w : result.warnings) evt::tool::warn(w);
    std::ostringstream out;
    evt::lint::write_report(out, *format, result.report);
    std::cout << out.str();
    int status = evt::lint::exit_status(result, o.lint);
    if (status == 65) {
        std::cout.flush();
        evt::tool::error_line("some input could not be read (see the parse/invalid-document findings)");
    } else if (status == 1 && o.max_warnings >= 0 && !o.lint.quiet) {
        auto c = evt::lint::count(result.report.findings);
        if (c.warnings > static_cast<std::size_t>(o.max_warnings))
            evt::tool::error_line(fmt::format("{} warnings exceed --max-warnings {}", c.warnings, o.max_warnings));
    }
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    evt::tool::Spec spec{"evt-lint", "Lint event catalogs and event streams: names as facts, producers, payloads.",
                         kSynopsis};
    return evt::tool::main(argc, argv, spec, [](CLI::App& app, evt::tool::Context&) -> evt::tool::RunFn {
        auto o = std::make_shared<Options>();
        bind(app, *o);
        return [o]() { return run(*o); };
    });
}
