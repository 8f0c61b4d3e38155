// evt-replay: print a topic's events (a range, a stream, from a time) as NDJSON.
#include "core/cli/output.hpp"
#include "core/cli/pace.hpp"
#include "core/cli/progress.hpp"
#include "core/event/format.hpp"
#include "core/backend/backend.hpp"
#include "tools/common/runner.hpp"

namespace {

struct Options {
    evt::tool::LogFlags log;
    std::string topic;
    std::string from = "beginning";
    std::string to;
    std::vector<std::uint32_t> partitions;
    std::string stream;
    std::vector<std::string> types;
    std::uint64_t count = 0;
    bool by_partition = false;
    bool follow = false;
    std::string rate;
    std::string format;
    bool no_position = false;
    bool progress = false;
    bool no_progress = false;
};

evt::Result<int> run(const Options& o) {
    using namespace evt;
    log::ReadOptions ro;
    Micros now = now_micros();
    EVT_ASSIGN(ro.from, log::parse_offset_spec(o.from, now));
    if (!o.to.empty()) {
        EVT_ASSIGN(ro.to, log::parse_offset_spec(o.to, now));
    }
    ro.partitions = o.partitions;
    ro.types = o.types;
    ro.limit = o.count;
    ro.by_partition = o.by_partition;
    ro.follow = o.follow;
    std::optional<event::TextFormat> text;
    if (!o.format.empty()) {
        EVT_ASSIGN(text, event::TextFormat::compile(o.format));
        ro.headers = text->uses_headers();
    }
    double rate = 0;
    if (!o.rate.empty()) {
        EVT_ASSIGN(rate, cli::parse_rate(o.rate));
    }
    cli::Pacer pacer(rate);
    if (!o.stream.empty() && (o.from != "beginning" || !o.to.empty() || !o.partitions.empty() || o.by_partition))
        return Error{ErrorKind::usage, "--stream reads a whole stream: it takes no --from, --to, --partition or --by-partition"};

    EVT_ASSIGN(auto lg, tool::open_log(o.log, backend::Access::read));
    cli::Output out;
    out.stream_to_pipe();  // nothing is committed after a flush here
    std::string topic_json = event::json_escape_string(o.topic);
    cli::Progress progress("evt-replay", o.progress      ? cli::Progress::Mode::always
                                         : o.no_progress ? cli::Progress::Mode::never
                                                         : cli::Progress::Mode::automatic);
    std::uint64_t total = 0, done = 0;
    if (!o.follow) ro.total = &total;
    auto print = [&](const log::RecordView& r, std::uint64_t version) -> Result<bool> {
        progress.set_total(o.count && o.count < total ? o.count : total);
        progress.update(++done);
        if (pacer.wait()) EVT_TRY(out.flush());
        std::string& b = out.buffer();
        if (text) {
            text->render(b, o.topic, r);
        } else {
            if (o.no_position) b.append(r.json);
            else event::append_with_position(b, topic_json, r, {version, 0});
            b += '\n';
        }
        if (rate > 0) EVT_TRY(out.flush());
        EVT_TRY(out.maybe_flush());
        return true;
    };
    log::FollowHooks hooks;
    hooks.idle = [&] {
        progress.finish();
        return out.flush();
    };
    if (!o.stream.empty()) {
        EVT_TRY(lg->read_stream(o.topic, o.stream, ro,
                                 [&](const log::RecordView& r, std::uint64_t v) { return print(r, v); }, hooks));
    } else {
        EVT_TRY(lg->read(o.topic, ro, [&](const log::RecordView& r) { return print(r, 0); }, hooks));
    }
    progress.finish();
    EVT_TRY(out.flush());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    evt::tool::Spec spec{"evt-replay", "Print a topic's events as NDJSON, with their positions.",
                         {"evt-replay -t TOPIC [--from SPEC] [--to SPEC] [--partition P]... [--stream SUBJECT] "
                          "[--type GLOB]... [-n COUNT] [--follow] [OPTIONS]"}};
    return evt::tool::main(argc, argv, spec, [](CLI::App& app, evt::tool::Context&) -> evt::tool::RunFn {
        auto o = std::make_shared<Options>();
        evt::tool::add_log_option(app, o->log);
        app.add_option("-t,--topic", o->topic, "the topic to read")->required();
        app.add_option("--from", o->from, "start: beginning (default), end, N, -N (the last N) or @TIME");
        app.add_option("--to", o->to, "stop before: end (as at start), N, -N or @TIME");
        app.add_option("-p,--partition", o->partitions, "read only these partitions (repeatable)")
            ->allow_extra_args(false);
        app.add_option("--stream", o->stream, "the events of one subject, in order, with evtversion");
        app.add_option("--type", o->types, "only events whose type matches the shell glob (repeatable)")
            ->allow_extra_args(false);  // a glob such as [I]nvoice* is one value
        app.add_option("-n,--count", o->count, "stop after COUNT events");
        app.add_flag("--by-partition", o->by_partition, "partition by partition instead of merged by append time");
        app.add_flag("-f,--follow", o->follow, "after the end, wait for new events until interrupted");
        app.add_option("--rate", o->rate, "pace the output, e.g. 10/s");
        app.add_option("--format", o->format, "print text with kcat tokens: %t %p %o %k %s %T %S, \\n \\t");
        app.add_flag("--no-position", o->no_position, "leave out evttopic, evtpartition, evtoffset, evttime");
        auto pr = app.add_flag("--progress", o->progress, "draw a progress line on stderr (default: on a terminal)");
        app.add_flag("--no-progress", o->no_progress, "never draw a progress line")->excludes(pr);
        return [o] { return run(*o); };
    });
}
