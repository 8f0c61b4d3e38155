#include "tools/common/runner.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <new>

#include "core/cli/output.hpp"
#include "core/util/units.hpp"

namespace evt::tool {

namespace {

std::string g_program = "evt";  // set once by main(); read by warn()/error_line()
evt::cli::Output* g_out = nullptr;  // the tool's stdout while main() runs

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

// Flush stdout and turn a failed write into exit 74.
int finish(int status) {
    Status s = g_out->flush();
    std::cout.flush();
    if (!s.ok()) return report(s.error());
    if (!std::cout.good() || std::fflush(stdout) != 0 || std::ferror(stdout)) {
        std::fprintf(stderr, "%s: error: write error\n", g_program.c_str());
        return 74;
    }
    return status;
}

bool has_option(const CLI::App& app, const std::string& name) {
    if (app.get_option_no_throw(name)) return true;
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
        if (has_option(*sub, name)) return true;
    return false;
}

// CLI11 checks required options before unknown ones; name the unknown one.
std::string parse_error_text(const CLI::App& app, int argc, char** argv, const CLI::ParseError& e) {
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--") break;
        if (a.size() < 2 || a[0] != '-' || (a[1] >= '0' && a[1] <= '9')) continue;
        std::string name = a.substr(0, a.find('='));
        if (name.rfind("--", 0) != 0) name = name.substr(0, 2);  // -x, -xVALUE
        if (name == "-h" || name == "--help" || name == "--version") continue;
        if (!has_option(app, name)) return fmt::format("unknown option '{}'", name);
    }
    std::string what = e.what();
    while (!what.empty() && what.back() == '\n') what.pop_back();
    if (!what.empty() && what[0] >= 'A' && what[0] <= 'Z' && (what.size() < 2 || what[1] > 'Z'))
        what[0] = static_cast<char>(what[0] - 'A' + 'a');
    return what;
}

}  // namespace

const std::string& program() { return g_program; }

void note(std::string_view message) {
    std::fprintf(stderr, "%s: %.*s\n", g_program.c_str(), static_cast<int>(message.size()), message.data());
}

void warn(std::string_view message) {
    std::fprintf(stderr, "%s: warning: %.*s\n", g_program.c_str(), static_cast<int>(message.size()),
                 message.data());
}

void error_line(std::string_view message) {
    std::fprintf(stderr, "%s: error: %.*s\n", g_program.c_str(), static_cast<int>(message.size()),
                 message.data());
}

void write_out(std::string_view text) { g_out->write(text); }

int main(int argc, char** argv, const Spec& spec, const SetupFn& setup) {
    g_program = spec.name;
    evt::cli::Output out;
    g_out = &out;
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
        // The help of the subcommand that asked for it, if any.
        const CLI::App* target = &app;
        for (const CLI::App* sub : app.get_subcommands()) target = sub;
        write_out(target == &app ? app.help() : target->help());
        return finish(0);
    } catch (const CLI::CallForAllHelp&) {
        write_out(app.help("", CLI::AppFormatMode::All));
        return finish(0);
    } catch (const CLI::CallForVersion&) {
        write_out(fmt::format("{} {}\n", spec.name, EVT_VERSION));
        return finish(0);
    } catch (const CLI::ParseError& e) {
        // CLI11's own codes (100-127) never reach the shell: every parse error is 64.
        std::string what = parse_error_text(app, argc, argv, e);
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

void add_log_option(CLI::App& app, LogFlags& log) {
    app.add_option("-L,--log", log.location,
                   "the log: a directory, kafka://host:port[,...] or nats://host:port[,...] (default: $EVT_LOG or ./.evt)")
        ->type_name("PATH|URL");
    app.add_option("-X", log.settings, "a Kafka or NATS client setting name=value (repeatable; see KAFKA and NATS in the man page)")
        ->type_name("NAME=VALUE")
        ->allow_extra_args(false);
    app.add_option("--kafka-config", log.config_file, "Kafka client settings from a properties file")
        ->type_name("FILE");
}

std::string resolve_log(const LogFlags& flags) {
    if (!flags.location.empty()) return flags.location;
    if (const char* env = std::getenv("EVT_LOG"); env && *env) return env;
    return ".evt";
}

evt::Result<std::unique_ptr<evt::backend::Backend>> open_log(const LogFlags& flags, evt::backend::OpenOptions o) {
    for (const std::string& kv : flags.settings) {
        auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0)
            return evt::Error{evt::ErrorKind::usage, fmt::format("-X {}: expected NAME=VALUE", kv.substr(0, kv.find('=')))};
        o.settings.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    }
    o.config_file = flags.config_file;
    std::string where = resolve_log(flags);
    if ((!o.settings.empty() || !o.config_file.empty()) && !evt::backend::is_remote(where))
        return evt::Error{evt::ErrorKind::usage, "-X and --kafka-config are settings of a Kafka log (-L kafka://...)"};
    return evt::backend::open(where, o);
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
