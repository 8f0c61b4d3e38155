#include "core/lint/linter.hpp"

#include <sys/stat.h>

#include "core/lint/catalog.hpp"
#include "core/lint/rules.hpp"

namespace evt::lint {

Result<LintRun> run_lint(const LintOptions& opts) {
    LintRun run;
    std::vector<std::string> files = opts.files;
    if (files.empty()) files.push_back("-");
    for (const auto& f : files) {
        struct stat st {};
        if (f != "-" && ::stat(f.c_str(), &st) != 0)
            return make_error(ErrorKind::not_found, "{}: no such file", f);
    }
    Config cfg = default_config();
    if (!opts.no_config) {
        std::string path = opts.config.empty() ? find_config(opts.start_dir) : opts.config;
        if (!path.empty()) {
            auto loaded = load_config(path);
            if (!loaded.ok()) {
                Error e = std::move(loaded).error();
                if (e.kind == ErrorKind::not_found) e.message = fmt::format("{}: no such config file", path);
                return e;
            }
            cfg = std::move(*loaded);
            run.config_path = path;
        }
    }
    run.warnings = cfg.warnings;
    ReadOptions ro{opts.events, opts.flip_direction};
    for (const auto& f : files) {
        std::string shown = f == "-" ? "<stdin>" : f;
        if (f != "-" && cfg.ignored(f)) continue;
        EVT_ASSIGN(Catalog cat, load_catalog(f, ro));
        run.unreadable = run.unreadable || cat.unreadable;
        run.report.events += cat.events_total;
        if (cat.format == Format::events) run.report.types += cat.messages.size();
        auto found = check_catalog(cat, cfg);
        run.report.findings.insert(run.report.findings.end(), std::make_move_iterator(found.begin()),
                                   std::make_move_iterator(found.end()));
        run.report.files.push_back(shown);
    }
    run.report.fail = opts.fail;
    run.report.quiet = opts.quiet;
    run.report.version = EVT_VERSION;
    return run;
}

int exit_status(const LintRun& run, const LintOptions& opts) {
    if (run.unreadable) return 65;
    Counts c = count(run.report.findings);
    bool failing = false;
    for (const auto& f : run.report.findings) failing = failing || f.severity >= opts.fail;
    if (failing) return 1;
    if (opts.max_warnings && c.warnings > *opts.max_warnings) return 1;
    return 0;
}

}  // namespace evt::lint
