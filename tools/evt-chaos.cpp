// evt-chaos: duplicate, reorder, drop and delay the lines of a stream, reproducibly.
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <random>
#include <thread>

#include "core/chaos/chaos.hpp"
#include "core/cli/lines.hpp"
#include "core/cli/output.hpp"
#include "core/util/units.hpp"
#include "tools/common/runner.hpp"

namespace {

struct Options {
    std::vector<std::string> files;
    evt::chaos::Options chaos;
    std::string delay, jitter;
    bool report = false;
    std::string report_file;
};

evt::Result<int> run(const Options& o) {
    using namespace evt;
    Micros delay = 0, jitter = 0;
    if (!o.delay.empty()) {
        EVT_ASSIGN(delay, parse_duration(o.delay));
    }
    if (!o.jitter.empty()) {
        EVT_ASSIGN(jitter, parse_duration(o.jitter));
    }
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> report_file(nullptr, &std::fclose);
    std::FILE* report = nullptr;
    if (o.report || !o.report_file.empty()) {
        report = stderr;
        if (!o.report_file.empty()) {
            report_file.reset(std::fopen(o.report_file.c_str(), "w"));
            if (!report_file) return make_error(ErrorKind::io, "cannot write --report-file '{}'", o.report_file);
            report = report_file.get();
        }
    }
    cli::Output out;
    std::mt19937_64 jitter_rng(o.chaos.seed ^ 0x5DEECE66Dull);
    Status write_error;
    chaos::Chaos c(
        o.chaos,
        [&](std::string_view line) {
            if (delay || jitter) {
                Micros d = delay;
                if (jitter) d += static_cast<Micros>(jitter_rng() % static_cast<std::uint64_t>(2 * jitter + 1)) - jitter;
                if (d > 0) std::this_thread::sleep_for(std::chrono::microseconds(d));
            }
            out.write(line);
            out.write("\n");
            if (delay || jitter) {
                Status s = out.flush();
                if (!s.ok() && write_error.ok()) write_error = s;
            }
        },
        [&](const chaos::Action& a) {
            if (!report) return;
            const char* kind = a.kind == chaos::Action::Kind::drop ? "drop"
                               : a.kind == chaos::Action::Kind::dup ? "dup"
                                                                    : "reorder";
            if (a.kind == chaos::Action::Kind::drop)
                std::fprintf(report, "{\"action\":\"drop\",\"line\":%llu}\n", static_cast<unsigned long long>(a.line));
            else
                std::fprintf(report, "{\"action\":\"%s\",\"line\":%llu,\"%s\":%llu}\n", kind,
                             static_cast<unsigned long long>(a.line), a.kind == chaos::Action::Kind::dup ? "after" : "by",
                             static_cast<unsigned long long>(a.by));
        });
    cli::LineReader in(o.files, std::size_t{1} << 30);
    cli::Line line;
    for (;;) {
        EVT_ASSIGN(auto n, in.next(line, false));
        if (n == cli::LineReader::Next::would_block) {  // pass on what is due before waiting
            EVT_TRY(out.flush());
            EVT_ASSIGN(n, in.next(line, true));
        }
        if (n == cli::LineReader::Next::eof) break;
        c.push(line.text);
        EVT_TRY(write_error);
        if (out.failed()) return out.flush().error();
    }
    c.finish();
    EVT_TRY(out.flush());
    if (report) {
        const auto& k = c.counts();
        std::fprintf(report, "{\"summary\":{\"in\":%llu,\"out\":%llu,\"dropped\":%llu,\"duplicated\":%llu,\"reordered\":%llu,\"seed\":%llu}}\n",
                     static_cast<unsigned long long>(k.in), static_cast<unsigned long long>(k.out),
                     static_cast<unsigned long long>(k.dropped), static_cast<unsigned long long>(k.duplicated),
                     static_cast<unsigned long long>(k.reordered), static_cast<unsigned long long>(o.chaos.seed));
    }
    return 0;
}

}  // namespace

// Probabilities: numbers in [0, 1] (NaN refused).
const CLI::Validator Probability(
    [](std::string& s) -> std::string {
        char* end = nullptr;
        double d = std::strtod(s.c_str(), &end);
        if (s.empty() || *end || !(d >= 0.0 && d <= 1.0)) return "'" + s + "' is not a probability between 0 and 1";
        return {};
    },
    "P", "Probability");
// Unsigned numbers written as digits only ("-1" is not 2^64-1).
const CLI::Validator Digits(
    [](std::string& s) -> std::string {
        if (s.empty() || s.size() > 20 || s.find_first_not_of("0123456789") != std::string::npos ||
            (s.size() == 20 && s > "18446744073709551615"))
            return "'" + s + "' is not a number from 0 to 18446744073709551615";
        return {};
    },
    "N", "Digits");

int main(int argc, char** argv) {
    evt::tool::Spec spec{"evt-chaos", "Duplicate, reorder, drop and delay the lines of a stream, reproducibly.",
                         {"evt-chaos [--dup P] [--reorder P --window K] [--drop P] [--delay DUR] [--seed S] [OPTIONS] [FILE...]"}};
    return evt::tool::main(argc, argv, spec, [](CLI::App& app, evt::tool::Context&) -> evt::tool::RunFn {
        auto o = std::make_shared<Options>();
        auto& c = o->chaos;
        app.add_option("FILE", o->files, "input files ('-' is stdin; default stdin)");
        app.add_option("--dup", c.dup_p, "probability that a line is delivered twice")->check(Probability);
        app.add_option("--dup-delay", c.dup_delay, "the copy comes K lines after the original (default 0: right after)")
            ->check(Digits);
        app.add_option("--reorder", c.reorder_p, "probability that a line is held back")->check(Probability);
        app.add_option("--window", c.window, "a held-back line comes 1..K lines later (default 1)")
            ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 20));
        app.add_option("--drop", c.drop_p, "probability that a line is lost")->check(Probability);
        app.add_option("--delay", o->delay, "wait DUR before each output line")->check(evt::tool::Duration);
        app.add_option("--jitter", o->jitter, "vary each delay by up to +-DUR")->check(evt::tool::Duration);
        app.add_option("--seed", c.seed, "the random seed: the same seed gives the same output (default 0)")->check(Digits);
        app.add_flag("--report", o->report, "describe every action as NDJSON on stderr, then a summary");
        app.add_option("--report-file", o->report_file, "write the report to FILE instead of stderr");
        return [o] { return run(*o); };
    });
}
