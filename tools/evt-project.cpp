// evt-project: fold a topic into a read model described by a YAML spec.
#include "core/cli/progress.hpp"
#include "core/log/reader.hpp"
#include "core/project/fold.hpp"
#include "core/project/model.hpp"
#include "tools/common/runner.hpp"

#include <csignal>

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

struct Options {
    evt::tool::LogFlags log;
    std::string spec;
    bool rebuild = false;
    bool follow = false;
    std::string until;
    std::string to;
    std::string snapshot;
    std::string drop;
    std::uint64_t batch = 1000000;
    bool progress = false;
    bool no_progress = false;
    bool quiet = false;
};

evt::Result<int> run(const Options& o) {
    using namespace evt;
    if (!o.drop.empty()) {
        if (!o.spec.empty() || o.rebuild || o.follow || !o.until.empty() || !o.to.empty())
            return Error{ErrorKind::usage, "--drop NAME takes no spec and no other flag"};
        EVT_ASSIGN(auto be, tool::open_log(o.log, backend::Access::write));
        EVT_ASSIGN(log::Log * lg, backend::require_embedded(*be, "evt-project"));
        EVT_TRY(project::drop_model(*lg, o.drop));
        if (!o.quiet) tool::note(fmt::format("dropped read model '{}'", o.drop));
        return 0;
    }
    if (o.spec.empty()) return Error{ErrorKind::usage, "a projection spec (SPEC.yaml) is required"};
    if (!o.until.empty() && !o.to.empty()) return Error{ErrorKind::usage, "--until and --to exclude each other"};
    if (o.batch == 0) return Error{ErrorKind::usage, "--batch must be at least 1"};
    EVT_ASSIGN(project::Spec spec, project::load_spec(o.spec));
    project::FoldOptions fo;
    fo.rebuild = o.rebuild;
    fo.follow = o.follow;
    fo.snapshot = o.snapshot;
    fo.batch = o.batch;
    if (!o.until.empty()) {
        std::string t = o.until;
        if (t.empty() || t[0] != '@') t = "@" + t;
        EVT_ASSIGN(log::OffsetSpec s, log::parse_offset_spec(t, now_micros()));
        fo.until = s;
        fo.until_text = t;
    } else if (!o.to.empty()) {
        EVT_ASSIGN(log::OffsetSpec s, log::parse_offset_spec(o.to, now_micros()));
        if (s.kind != log::OffsetSpec::Kind::offset && s.kind != log::OffsetSpec::Kind::time)
            return Error{ErrorKind::usage, "--to takes an offset N or @TIME"};
        fo.until = s;
        fo.until_text = o.to;
    }
    cli::Progress progress("evt-project", o.progress      ? cli::Progress::Mode::always
                                          : o.no_progress ? cli::Progress::Mode::never
                                                          : cli::Progress::Mode::automatic);
    fo.progress = [&](std::uint64_t done, std::uint64_t total) {
        progress.set_total(total);
        progress.update(done);
    };
    fo.idle = [&] { progress.finish(); };
    if (o.follow) {
        std::signal(SIGINT, on_signal);
        std::signal(SIGTERM, on_signal);
        fo.stop = [] { return g_stop != 0; };
    }
    EVT_ASSIGN(auto be, tool::open_log(o.log, backend::Access::write));
    EVT_ASSIGN(log::Log * lg, backend::require_embedded(*be, "evt-project"));
    auto r = project::fold(*lg, spec, fo);
    progress.finish();
    EVT_TRY(r);
    if (!o.quiet)
        tool::note(fmt::format("{}: {} events read, {} applied, {} batch{} (generation {}{})", r->model, r->events,
                               r->applied, r->batches, r->batches == 1 ? "" : "es", r->gen,
                               r->rebuilt ? ", rebuilt and swapped in" : r->resumed ? ", rebuild resumed" : ""));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    evt::tool::Spec spec{"evt-project", "Fold topics into a read model described by a YAML projection spec.",
                         {"evt-project SPEC.yaml [--rebuild] [--follow] [OPTIONS]",
                          "evt-project SPEC.yaml (--until @TIME | --to OFFSET) [--snapshot LABEL] [OPTIONS]",
                          "evt-project --drop NAME [OPTIONS]"}};
    return evt::tool::main(argc, argv, spec, [](CLI::App& app, evt::tool::Context&) -> evt::tool::RunFn {
        auto o = std::make_shared<Options>();
        evt::tool::add_log_option(app, o->log);
        app.add_option("spec", o->spec, "the projection spec (YAML; schemas/projection.schema.json)");
        app.add_flag("--rebuild", o->rebuild,
                     "fold from the beginning into a fresh copy and swap it in when complete");
        app.add_flag("-f,--follow", o->follow, "after the end, keep folding new events until interrupted");
        app.add_option("--until", o->until, "snapshot: fold only events appended before @TIME");
        app.add_option("--to", o->to, "snapshot: fold only offsets below N in each partition (or @TIME)");
        app.add_option("--snapshot", o->snapshot, "the snapshot's label: the model is NAME@LABEL");
        app.add_option("--drop", o->drop, "delete a read model (all its rows) and exit");
        app.add_option("--batch", o->batch, "events per transaction, at most (default 1000000)");
        app.add_flag("--progress", o->progress, "draw a progress line on stderr even when it is not a terminal");
        app.add_flag("--no-progress", o->no_progress, "never draw a progress line");
        app.add_flag("-q,--quiet", o->quiet, "no summary line on stderr");
        return [o] { return run(*o); };
    });
}
