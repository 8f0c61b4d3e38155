// evt-append: read CloudEvents (NDJSON) and append them to a topic.
#include <cstdio>
#include <fstream>

#include "core/cli/output.hpp"
#include "core/event/format.hpp"
#include "core/backend/ingest.hpp"
#include "core/lint/catalog_index.hpp"
#include "core/store/env.hpp"
#include "tools/common/runner.hpp"

namespace {

struct Options {
    evt::tool::LogFlags log;
    std::string topic;
    std::vector<std::string> files;
    std::uint32_t partitions = 1;
    std::optional<std::uint32_t> partition;
    std::string key;
    bool atomic = false;
    bool skip_bad = false;
    std::string rejects;
    std::string sync = "batch";
    std::string idempotent;  // the window; empty: not idempotent
    std::optional<std::string> expect_version;
    bool echo = false;
    std::string max_bytes = "1MiB";
    std::string source = "/evt";
    bool require_id = false;
    bool keep_position = false;
    std::string catalog;
    std::string max_size;
    std::string binding;
};

evt::Result<int> run(const Options& o) {
    using namespace evt;
    log::AppendOptions ao;
    ao.partition = o.partition;
    if (!o.idempotent.empty()) {
        ao.idempotent = true;
        EVT_ASSIGN(ao.idempotency_window, parse_duration(o.idempotent));
    }
    if (o.expect_version) {
        EVT_ASSIGN(ao.expect, log::parse_expect_version(*o.expect_version));
    }
    event::FillOptions fo;
    fo.source = o.source;
    fo.require_id = o.require_id;
    fo.keep_position = o.keep_position;
    EVT_ASSIGN(fo.max_bytes, parse_size(o.max_bytes));
    if (!o.key.empty()) {
        EVT_ASSIGN(fo.key_pointer, event::to_json_pointer(o.key));
    }
    if (!o.catalog.empty()) {
        // Loaded before the log is opened: a broken catalog stores nothing.
        EVT_ASSIGN(auto index, lint::CatalogIndex::load(o.catalog));
        if (index.size() == 0) return make_error(ErrorKind::invalid, "{}: the catalog defines no events", o.catalog);
        auto shared = std::make_shared<const lint::CatalogIndex>(std::move(index));
        fo.check_event = [shared](std::string_view type, const std::vector<std::string_view>& keys) {
            return shared->check(type, keys);
        };
    }
    using backend::BadLines;
    backend::Sync sync = o.sync == "each"   ? backend::Sync::each
                         : o.sync == "none" ? backend::Sync::none
                                            : backend::Sync::batch;
    // --rejects FILE asks for the good lines to be kept too: it implies --skip-bad.
    BadLines mode = o.atomic || ao.expect ? BadLines::atomic
                    : o.skip_bad || !o.rejects.empty() ? BadLines::skip_bad
                                                       : BadLines::prefix;

    backend::OpenOptions open;
    open.access = backend::Access::write;
    if (!o.max_size.empty()) {
        EVT_ASSIGN(open.max_size, parse_size(o.max_size));
    }
    open.binding = o.binding;
    ao.atomic = o.atomic;
    EVT_ASSIGN(auto lg, tool::open_log(o.log, open));
    log::TopicOptions to;
    to.partitions = o.partitions;
    ao.create = to;
    EVT_ASSIGN(auto producer, lg->producer(o.topic, ao, sync));
    event::Codec codec(fo);
    cli::LineReader in(o.files, fo.max_bytes);
    cli::Output out;
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> rejects(nullptr, &std::fclose);
    if (!o.rejects.empty()) {
        rejects.reset(std::fopen(o.rejects.c_str(), "w"));
        if (!rejects) return make_error(ErrorKind::io, "cannot write --rejects file '{}'", o.rejects);
    }
    std::string topic_json = event::json_escape_string(o.topic);

    backend::IngestHooks hooks;
    hooks.on_reject = [&](const cli::Line& line, const std::string& why) -> Status {
        if (!rejects) {
            tool::error_line(fmt::format("{}: {}", backend::where(line), why));
            return {};
        }
        std::string text = line.oversize ? std::string() : std::string(line.text);
        std::fprintf(rejects.get(), "{\"line\":%llu,\"input\":\"%s\",\"reason\":\"%s\",\"text\":\"%s\"}\n",
                     static_cast<unsigned long long>(line.number), event::json_escape_string(line.input).c_str(),
                     event::json_escape_string(why).c_str(), event::json_escape_string(event::to_valid_utf8(text)).c_str());
        return {};
    };
    if (o.echo) {
        hooks.on_stored = [&](std::string_view json, const log::Position& p) {
            log::RecordView r;
            r.json = json;
            r.partition = p.partition;
            r.offset = p.offset;
            r.time = p.time;
            event::append_with_position(out.buffer(), topic_json, r);
            out.buffer() += '\n';
            (void)out.maybe_flush();
        };
        hooks.on_commit = [&] { return out.flush(); };
    }
    auto report = backend::ingest(in, codec, *producer, sync, mode, hooks);
    EVT_TRY(out.flush());
    if (!report.ok()) return std::move(report).error();
    for (const std::string& n : producer->notes()) tool::warn(n);
    if (report->duplicates)
        tool::warn(fmt::format("skipped {} duplicate event{} (--idempotent)", report->duplicates,
                               report->duplicates == 1 ? "" : "s"));
    if (report->rejected) {
        tool::warn(fmt::format("rejected {} bad line{} (--skip-bad); stored {}", report->rejected,
                               report->rejected == 1 ? "" : "s", report->stored));
        return 65;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    evt::tool::Spec spec{"evt-append", "Append CloudEvents (one JSON object per line) to a topic.",
                         {"evt-append -t TOPIC [OPTIONS] [FILE...]"}};
    return evt::tool::main(argc, argv, spec, [](CLI::App& app, evt::tool::Context&) -> evt::tool::RunFn {
        auto o = std::make_shared<Options>();
        evt::tool::add_log_option(app, o->log);
        app.add_option("-t,--topic", o->topic, "the topic to append to (created on first use)")->required();
        app.add_option("FILE", o->files, "input files ('-' is stdin; default stdin)");
        app.add_option("-P,--partitions", o->partitions, "partitions when the topic is created (default 1)")
            ->check(CLI::Range(1, 256));
        app.add_option("-p,--partition", o->partition, "write every event to this partition");
        app.add_option("-k,--key", o->key, "JSON path of the routing key (default: partitionkey, then subject)");
        auto atomic = app.add_flag("--atomic", o->atomic, "all or nothing: the whole input is one transaction");
        app.add_flag("--skip-bad", o->skip_bad, "store the good lines, report each bad one")->excludes(atomic);
        app.add_option("--rejects", o->rejects, "write rejected lines as NDJSON to FILE (implies --skip-bad)")
            ->excludes(atomic);
        app.add_option("--sync", o->sync, "fsync each event, each batch (default) or none")
            ->check(CLI::IsMember({"each", "batch", "none"}));
        app.add_flag("--idempotent{24h}", o->idempotent, "skip events whose id was appended within WINDOW (24h)")
            ->type_name("[=WINDOW]")->check(evt::tool::Duration);
        app.add_option("--expect-version", o->expect_version, "any, no-stream, exists or N for the events' subject");
        app.add_flag("--echo", o->echo, "also print each stored event with its position");
        app.add_option("--max-bytes", o->max_bytes, "largest event accepted (default 1MiB)")->check(evt::tool::Size);
        app.add_option("--source", o->source, "source of events that have none (default /evt)");
        app.add_flag("--require-id", o->require_id, "reject events without an id instead of filling one");
        app.add_flag("--keep-position", o->keep_position, "keep evttopic/evtpartition/... attributes on input");
        app.add_option("--max-size", o->max_size, "let the log's map grow to SIZE at most (default: the free disk)")
            ->check(evt::tool::Size);
        app.add_option("--binding", o->binding,
                       "Kafka: the CloudEvents binding mode, structured (default) or binary (ce_* headers)")
            ->check(CLI::IsMember({"structured", "binary"}));
        app.add_option("--catalog", o->catalog,
                       "reject events whose type is not in this catalog or whose data lacks its required fields");
        return [o] { return run(*o); };
    });
}
