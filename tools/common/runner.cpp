#include "tools/common/runner.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <new>

#include "core/util/units.hpp"

namespace evt::tool {

namespace {

std::string g_program = "evt";  // set once by main(); read by warn()/error_line()

class UsageFormatter : public CLI::Formatter {
public:
    UsageFormatter(const Spec& spec, const Context& ctx) : spec_(spec), ctx_(ctx) {}

    std::string make_usage(const CLI::App* app, std::string) const override {
        const std::vector<std::string>* lines = ctx_.usage_of(app);
        if (!lines && app->get_parent() == nullptr) lines = &spec_.synopsis;
        if (!lines) return CLI::Formatter::make_usage(app, app->get_name());
        std::string out = "Usage: ";
        for (std::size_t i = 0; i < lines->size(); ++i) {
            if (i) out += "\n       ";
            out += (*lines)[i];
        }
        return out + "\n";
    }

    std::string make_footer(const CLI::App* app) const override {
        std::string f = CLI::Formatter::make_footer(app);
        if (app->get_parent() == nullptr)
            f += "\nExit status: 0 ok, 1 problems found, 2 version conflict, 64 usage, 65 bad input,\n"
                 "66 not found, 69 backend unavailable, 70 internal, 74 I/O, 75 busy.\n"
                 "See man " + spec_.name + " for details.\n";
        return f;
    }

private:
    const Spec& spec_;
    const Context& ctx_;
};

int report(const Error& e) {
    std::fprintf(stderr, "%s: error: %s\n", g_program.c_str(), e.message.c_str());
    if (e.kind == ErrorKind::usage)
        std::fprintf(stderr, "Try '%s --help' for more information.\n", g_program.c_str());
    return exit_code(e.kind);
}

// Flush stdout and turn a failed write (EPIPE aside) into exit 74.
int finish(int status) {
    std::cout.flush();
    bool cout_bad = !std::cout.good();
    errno = 0;
    bool c_bad = std::fflush(stdout) != 0 || std::ferror(stdout);
    if (cout_bad || c_bad) {
        int err = errno ? errno : EIO;
        std::fprintf(stderr, "%s: error: write error: %s\n", g_program.c_str(), std::strerror(err));
        return 74;
    }
    return status;
}

}  // namespace

const std::string& program() { return g_program; }

void warn(std::string_view message) {
    std::fprintf(stderr, "%s: warning: %.*s\n", g_program.c_str(), static_cast<int>(message.size()),
                 message.data());
}

void error_line(std::string_view message) {
    std::fprintf(stderr, "%s: error: %.*s\n", g_program.c_str(), static_cast<int>(message.size()),
                 message.data());
}

int main(int argc, char** argv, const Spec& spec, const SetupFn& setup) {
    g_program = spec.name;
    CLI::App app{spec.summary, spec.name};
    Context ctx;
    auto formatter = std::make_shared<UsageFormatter>(spec, ctx);
    app.formatter(formatter);
    app.set_version_flag("--version", std::string(spec.name) + " " + EVT_VERSION);
    app.option_defaults()->always_capture_default(false);
    RunFn run;
    try {
        run = setup(app, ctx);
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        std::cout << app.help();
        return finish(0);
    } catch (const CLI::CallForAllHelp&) {
        std::cout << app.help("", CLI::AppFormatMode::All);
        return finish(0);
    } catch (const CLI::CallForVersion&) {
        std::cout << spec.name << " " << EVT_VERSION << "\n";
        return finish(0);
    } catch (const CLI::ParseError& e) {
        // CLI11's own codes (100-127) never reach the shell: every parse error is 64.
        std::string what = e.what();
        if (!what.empty() && what.back() == '\n') what.pop_back();
        std::fprintf(stderr, "%s: error: %s\nTry '%s --help' for more information.\n", g_program.c_str(),
                     what.c_str(), g_program.c_str());
        return 64;
    }
    try {
        Result<int> r = run();
        if (!r.ok()) {
            std::cout.flush();
            std::fflush(stdout);
            return report(r.error());
        }
        return finish(*r);
    } catch (const std::bad_alloc&) {
        return report(Error{ErrorKind::io, "out of memory"});
    } catch (const std::exception& e) {
        return report(Error{ErrorKind::internal, fmt::format("internal error: {}", e.what())});
    }
}

void add_log_option(CLI::App& app, std::string& log) {
    app.add_option("-L,--log", log, "the log: a directory, or kafka://host:port (default: $EVT_LOG or ./.evt)")
        ->type_name("PATH");
}

std::string resolve_log(const std::string& flag_value) {
    if (!flag_value.empty()) return flag_value;
    if (const char* env = std::getenv("EVT_LOG"); env && *env) return env;
    return ".evt";
}

const CLI::Validator Duration(
    [](std::string& s) -> std::string {
        auto r = parse_duration(s);
        return r.ok() ? std::string() : r.error().message;
    },
    "DURATION", "Duration");

const CLI::Validator Size(
    [](std::string& s) -> std::string {
        auto r = parse_size(s);
        return r.ok() ? std::string() : r.error().message;
    },
    "SIZE", "Size");

}  // namespace evt::tool
