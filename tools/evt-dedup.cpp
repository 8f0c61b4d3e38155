// evt-dedup: drop events whose key was seen before, in memory or in a persistent store.
#include "core/dedup/dedup.hpp"
#include "tools/common/runner.hpp"

namespace {

struct Options {
    evt::tool::LogFlags log;
    std::vector<std::string> files;
    std::vector<std::string> keys;
    std::string store;
    std::string to_topic;
    std::string window;
    bool only_dups = false;
    bool stats = false;
    std::string on_missing = "fail";
};

evt::Result<int> run(const Options& o) {
    using namespace evt;
    dedup::Options d;
    d.paths = o.keys;
    d.store = o.store;
    d.to_topic = o.to_topic;
    d.only_dups = o.only_dups;
    d.on_missing = o.on_missing == "pass" ? dedup::OnMissing::pass
                   : o.on_missing == "drop" ? dedup::OnMissing::drop
                                            : dedup::OnMissing::fail;
    if (!o.window.empty()) {
        EVT_ASSIGN(d.window, parse_duration(o.window));
    }
    std::unique_ptr<backend::Backend> be;
    log::Log* lg = nullptr;
    if (!o.store.empty()) {
        EVT_ASSIGN(be, tool::open_log(o.log, backend::Access::write));
        EVT_ASSIGN(lg, backend::require_embedded(*be, "evt-dedup --store"));
    }
    cli::LineReader in(o.files, std::size_t{64} << 20);
    cli::Output out;
    dedup::Stats st;
    Status s = dedup::run(d, in, out, lg, [](const std::string& m) { tool::warn(m); }, st);
    if (o.stats)  // also when the run stopped early: what it did
        tool::note(fmt::format("stats: {} lines, {} unique, {} duplicates, {} without a key, {} written", st.lines,
                               st.unique, st.duplicates, st.missing, st.emitted));
    if (!s.ok()) return s.error();
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    evt::tool::Spec spec{"evt-dedup", "Drop events whose key was already seen (in memory, or in a store in the log).",
                         {"evt-dedup [--key JSONPATH]... [--store NAME [--to-topic TOPIC]] [--window DUR] [OPTIONS] [FILE...]"}};
    return evt::tool::main(argc, argv, spec, [](CLI::App& app, evt::tool::Context&) -> evt::tool::RunFn {
        auto o = std::make_shared<Options>();
        evt::tool::add_log_option(app, o->log);
        app.add_option("FILE", o->files, "input files ('-' is stdin; default stdin)");
        app.add_option("-k,--key", o->keys, "JSON path of the key (default id); several, or 'source,id', are joined")
            ->allow_extra_args(false);
        app.add_option("--store", o->store, "remember keys in the log under NAME (survives restarts)");
        app.add_option("--to-topic", o->to_topic,
                       "append unique events to TOPIC in the same transaction as their keys (exactly once)");
        app.add_option("--window", o->window, "forget keys older than DUR (default: never)")->check(evt::tool::Duration);
        app.add_flag("--only-dups", o->only_dups, "print the duplicates instead of the unique events");
        app.add_flag("--stats", o->stats, "print counts on stderr at the end");
        app.add_option("--on-missing-key", o->on_missing, "pass, drop or fail (default) on a line without the key")
            ->check(CLI::IsMember({"pass", "drop", "fail"}));
        return [o] { return run(*o); };
    });
}
