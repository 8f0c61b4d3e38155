// The one shape every evt tool has.
//
// A tool file defines an options struct, binds its flags to a CLI::App in a
// setup function, and returns the function that does the work. `evt::tool::main`
// parses the command line, runs that function, and turns what comes back into
// the process exit status and the single voice of diagnostics:
//
//     evt-append: error: line 17: 'type' is missing
//
// Parse errors exit 64 with "Try 'evt-x --help' for more information.";
// `--help` prints to stdout and exits 0; errors from core exit with the code of
// their kind (SPEC.md section 2); a failed write to stdout exits 74. Nothing here
// is global, so a test could run a tool twice in one process.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/backend/backend.hpp"
#include "core/util/result.hpp"

namespace evt::tool {

// The work of a tool: returns the exit status for success paths (0, or 1 for
// "ran fine and found problems") or an Error.
using RunFn = std::function<evt::Result<int>()>;

struct Spec {
    std::string name;                   // "evt-append"
    std::string summary;                // one line: what the tool does
    std::vector<std::string> synopsis;  // usage lines, as in the man page SYNOPSIS
};

class Context {
public:
    // The usage lines shown for a subcommand's --help.
    void usage(const CLI::App* app, std::vector<std::string> lines) { usage_[app] = std::move(lines); }
    const std::vector<std::string>* usage_of(const CLI::App* app) const {
        auto it = usage_.find(app);
        return it == usage_.end() ? nullptr : &it->second;
    }

private:
    std::map<const CLI::App*, std::vector<std::string>> usage_;
};

using SetupFn = std::function<RunFn(CLI::App&, Context&)>;

// Parse argv, run the tool, return the exit status.
int main(int argc, char** argv, const Spec& spec, const SetupFn& setup);

// Text for stdout, written through the runner's buffer; a failed write is
// reported once at the end (exit 74).
void write_out(std::string_view text);

// A note in the tool's voice ("evt-x: message") on stderr: counts, summaries.
void note(std::string_view message);

// Report a warning in the tool's voice ("evt-x: warning: ...") on stderr.
void warn(std::string_view message);
// Report an error in the tool's voice without exiting (for --skip-bad reports).
void error_line(std::string_view message);
// The program name of the running tool ("evt-append").
const std::string& program();

// -L/--log PATH|URL with EVT_LOG and ./.evt as fallbacks (SPEC.md section 2),
// and the remote settings beside it: -X name=value (repeatable, as kcat) and
// --kafka-config FILE (else $EVT_KAFKA_CONFIG).
struct LogFlags {
    std::string location;
    std::vector<std::string> settings;
    std::string config_file;
};
void add_log_option(CLI::App& app, LogFlags& log);
std::string resolve_log(const LogFlags& flags);
// The one way a tool opens its log (core/backend).
evt::Result<std::unique_ptr<evt::backend::Backend>> open_log(const LogFlags& flags, evt::backend::OpenOptions o);
inline evt::Result<std::unique_ptr<evt::backend::Backend>> open_log(const LogFlags& flags, evt::backend::Access a) {
    evt::backend::OpenOptions o;
    o.access = a;
    return open_log(flags, o);
}

// Validators for the shared value syntaxes of SPEC.md section 2.
extern const CLI::Validator Duration;  // 500ms, 30s, 5m, 7d
extern const CLI::Validator Size;      // 64KiB, 10MB

}  // namespace evt::tool
