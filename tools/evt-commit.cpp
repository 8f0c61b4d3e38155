// evt-commit: commit for a consumer group the events a pipeline finished.
#include "core/group/admin.hpp"
#include "tools/common/runner.hpp"

namespace {

struct Options {
    evt::tool::LogFlags log;
    std::string group;
    std::vector<std::string> files;
    bool quiet = false;
};

evt::Result<int> run(const Options& o) {
    using namespace evt;
    EVT_ASSIGN(auto lg, tool::open_log(o.log, backend::Access::write));
    cli::LineReader in(o.files, std::size_t{64} << 20);
    EVT_ASSIGN(group::CommitReport r, lg->commit_events(o.group, in));
    if (!o.quiet)
        tool::note(fmt::format("{} events read; offsets advanced by {}, {} acked, {} already settled", r.lines,
                               r.advanced, r.acked, r.ignored));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    evt::tool::Spec spec{"evt-commit", "Commit (log mode) or ack (queue mode) the events a pipeline finished.",
                         {"evt-commit -g GROUP [OPTIONS] [FILE...]"}};
    return evt::tool::main(argc, argv, spec, [](CLI::App& app, evt::tool::Context&) -> evt::tool::RunFn {
        auto o = std::make_shared<Options>();
        evt::tool::add_log_option(app, o->log);
        app.add_option("-g,--group", o->group, "the consumer group")->required();
        app.add_option("FILE", o->files, "events with positions ('-' is stdin; default stdin)");
        app.add_flag("-q,--quiet", o->quiet, "no summary on stderr");
        return [o] { return run(*o); };
    });
}
