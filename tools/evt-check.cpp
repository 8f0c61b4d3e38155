// evt-check: verify a log's integrity (CRC, dense offsets, append times, streams).
#include "core/cli/progress.hpp"
#include "core/log/verify.hpp"
#include "tools/common/runner.hpp"

#include <nlohmann/json.hpp>

namespace {

struct Options {
    std::string log;
    std::vector<std::string> topics;
    std::string format = "text";
    std::size_t max_problems = 1000;
};

evt::Result<int> run(const Options& o) {
    using namespace evt;
    EVT_ASSIGN(auto lg, log::Log::open(tool::resolve_log(o.log), log::Log::Access::read));
    cli::Progress progress("evt-check", cli::Progress::Mode::automatic);
    EVT_ASSIGN(log::VerifyReport r, log::verify(*lg, o.topics, o.max_problems,
                                                [&](std::uint64_t n) { progress.update(n & ~1023ull); }));
    progress.finish();
    if (o.format == "json") {
        nlohmann::json problems = nlohmann::json::array();
        for (const auto& p : r.problems) {
            nlohmann::json j = {{"topic", p.topic}, {"problem", p.what}};
            if (p.has_position) {
                j["partition"] = p.partition;
                j["offset"] = p.offset;
            }
            problems.push_back(j);
        }
        nlohmann::json out = {{"topics", r.topics}, {"records", r.records}, {"streams", r.streams},
                              {"ok", r.problems.empty()}, {"problems", problems}};
        tool::write_out(out.dump() + "\n");
    } else {
        for (const auto& p : r.problems) {
            if (p.has_position)
                tool::write_out(fmt::format("{}/{}/{}: {}\n", p.topic, p.partition, p.offset, p.what));
            else
                tool::write_out(fmt::format("{}: {}\n", p.topic, p.what));
        }
        tool::write_out(fmt::format("checked {} topic{}, {} records, {} streams: {}\n", r.topics,
                                    r.topics == 1 ? "" : "s", r.records, r.streams,
                                    r.problems.empty() ? "ok" : fmt::format("{} problems", r.problems.size())));
    }
    return r.problems.empty() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    evt::tool::Spec spec{"evt-check", "Verify a log: record checksums, dense offsets, append times, streams.",
                         {"evt-check [-t TOPIC]... [--format text|json] [OPTIONS]"}};
    return evt::tool::main(argc, argv, spec, [](CLI::App& app, evt::tool::Context&) -> evt::tool::RunFn {
        auto o = std::make_shared<Options>();
        evt::tool::add_log_option(app, o->log);
        app.add_option("-t,--topic", o->topics, "check only these topics (repeatable; default all)")
            ->allow_extra_args(false);
        app.add_option("--format", o->format, "text (default) or json")->check(CLI::IsMember({"text", "json"}));
        app.add_option("--max-problems", o->max_problems, "stop listing after N problems (default 1000)");
        return [o] { return run(*o); };
    });
}
