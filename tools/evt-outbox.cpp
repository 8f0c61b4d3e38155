// evt-outbox: relay the rows of an outbox table (SQLite or PostgreSQL) to a
// topic, exactly once in the log; `init` creates the table.
#include <csignal>
#include <thread>

#include "core/backend/backend.hpp"
#include "core/outbox/relay.hpp"
#include "tools/common/runner.hpp"

namespace {

using evt::Result;
namespace outbox = evt::outbox;

struct Options {
    evt::tool::LogFlags log;
    std::string db;
    std::string table = "outbox";
    std::string topic;
    std::uint32_t partitions = 1;
    std::size_t batch = 1000;
    bool follow = false;
    bool once = false;
    bool remove = false;
    std::string poll = "1s";
    std::string window = "7d";
    std::string source = "/outbox";
    std::vector<std::string> map;
    bool print = false;
};

volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_signal(int) { g_stop = 1; }

Result<outbox::TableSpec> table_spec(const Options& o, outbox::EventOptions* ev) {
    outbox::TableSpec t;
    t.table = o.table;
    for (const std::string& m : o.map) {
        auto eq = m.find('=');
        std::string col = m.substr(0, eq);
        std::string attr = eq == std::string::npos ? col : m.substr(eq + 1);
        bool attr_ok = !attr.empty() && attr.size() <= 20;
        for (char c : attr) attr_ok = attr_ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
        if (!attr_ok)
            return evt::make_error(evt::ErrorKind::usage,
                                   "--map '{}': the attribute must be 1-20 lowercase letters or digits", m);
        t.extra.push_back(col);
        if (ev) ev->map.emplace_back(col, attr);
    }
    return t;
}

Result<int> init(const Options& o) {
    EVT_ASSIGN(outbox::Location where, outbox::parse_location(o.db));
    EVT_TRY(outbox::check_identifier(o.table, where.dialect == outbox::Dialect::postgresql));
    if (o.print) {
        evt::tool::write_out(outbox::ddl(where.dialect, o.table));
        return 0;
    }
    EVT_ASSIGN(outbox::TableSpec t, table_spec(o, nullptr));
    outbox::OpenOptions oo;
    oo.create = true;
    EVT_ASSIGN(auto src, outbox::open_source(where, t, oo));
    EVT_TRY(src->apply_ddl());
    evt::tool::note(fmt::format("table {} is ready in {}", o.table, outbox::redact(o.db)));
    return 0;
}

Result<int> relay(const Options& o) {
    if (o.topic.empty())
        return evt::make_error(evt::ErrorKind::usage, "-t/--topic is required (the topic the rows go to)");
    if (o.batch < 1 || o.batch > 100000)
        return evt::make_error(evt::ErrorKind::usage, "--batch {}: must be 1..100000", o.batch);
    outbox::RelayOptions ro;
    ro.batch = o.batch;
    ro.follow = o.follow;
    ro.once = o.once;
    ro.remove = o.remove;
    ro.event.source = o.source;
    EVT_ASSIGN(ro.poll_max, evt::parse_duration(o.poll));
    EVT_ASSIGN(outbox::TableSpec t, table_spec(o, &ro.event));
    EVT_ASSIGN(outbox::Location where, outbox::parse_location(o.db));

    evt::log::AppendOptions ao;
    ao.idempotent = true;
    EVT_ASSIGN(ao.idempotency_window, evt::parse_duration(o.window));
    evt::log::TopicOptions to;
    to.partitions = o.partitions;
    ao.create = to;
    EVT_ASSIGN(auto lg, evt::tool::open_log(o.log, evt::backend::Access::write));
    EVT_ASSIGN(auto producer, lg->producer(o.topic, ao, evt::backend::Sync::batch));

    outbox::OpenOptions oo;
    oo.listen = o.follow;
    std::string db = outbox::redact(o.db);
    auto src = outbox::open_source(where, t, oo);
    // --follow outlives an unreachable database: say so, wait, try again.
    evt::Micros retry = 100000;
    while (!src.ok() && o.follow && src.error().kind == evt::ErrorKind::unavailable && !g_stop) {
        evt::tool::warn(fmt::format("{}; retrying in {}", src.error().message, evt::format_duration(retry)));
        std::this_thread::sleep_for(std::chrono::microseconds(retry));
        retry = std::min<evt::Micros>(retry * 2, 10000000);
        src = outbox::open_source(where, t, oo);
    }
    if (!src.ok()) return src.error();

    outbox::Relay relay(**src, *producer, ro);
    outbox::RelayHooks hooks;
    hooks.on_lock_wait = [&] {
        evt::tool::note(fmt::format("another relay holds the lock of {} in {}; waiting for it", o.table, db));
    };
    hooks.on_retry = [&](const evt::Error& e, evt::Micros pause) {
        evt::tool::warn(fmt::format("{}; retrying in {}", e.message, evt::format_duration(pause)));
    };
    hooks.on_reconnected = [&] { evt::tool::note(fmt::format("connected again to {}", db)); };
    hooks.stop = [] { return g_stop != 0; };
    auto stats = relay.run(hooks);
    if (!stats.ok()) return stats.error();
    evt::tool::note(fmt::format("relayed {} row{} to {} ({} new, {} already in the log)", stats->rows,
                                stats->rows == 1 ? "" : "s", o.topic, stats->stored, stats->duplicates));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    evt::tool::Spec spec{
        "evt-outbox", "Relay the rows of an outbox table (SQLite or PostgreSQL) to a topic, exactly once.",
        {"evt-outbox --db sqlite:PATH|postgresql://... -t TOPIC [--table NAME] [--follow|--once] [--batch N] [--delete] [OPTIONS]",
         "evt-outbox init --db sqlite:PATH|postgresql://... [--table NAME] [--print]"}};
    return evt::tool::main(argc, argv, spec, [](CLI::App& app, evt::tool::Context& ctx) -> evt::tool::RunFn {
        auto o = std::make_shared<Options>();
        evt::tool::add_log_option(app, o->log);
        app.fallthrough();
        app.add_option("--db", o->db, "the database: sqlite:PATH or postgresql://user@host:port/dbname")
            ->required();
        app.add_option("--table", o->table, "the outbox table (default outbox)");
        app.add_option("-t,--topic", o->topic, "the topic the events go to (created on first use)");
        app.add_option("-P,--partitions", o->partitions, "partitions when the topic is created (default 1)")
            ->check(CLI::Range(1, 256));
        app.add_option("--batch", o->batch, "rows per batch (default 1000)");
        auto follow = app.add_flag("-f,--follow", o->follow, "keep relaying new rows (LISTEN/NOTIFY on PostgreSQL)");
        app.add_flag("--once", o->once, "relay one batch and stop")->excludes(follow);
        app.add_flag("--delete", o->remove, "delete relayed rows instead of setting published_at");
        app.add_option("--poll", o->poll, "--follow: longest pause between polls (default 1s)")
            ->check(evt::tool::Duration);
        app.add_option("--window", o->window, "how long the log remembers relayed ids (default 7d)")
            ->check(evt::tool::Duration);
        app.add_option("--source", o->source, "the CloudEvents source of the events (default /outbox)");
        app.add_option("--map", o->map, "COLUMN=ATTRIBUTE: also send a column as an extension attribute");
        CLI::App* in = app.add_subcommand("init", "create the outbox table, its index and NOTIFY trigger");
        ctx.usage(in, {"evt-outbox init --db sqlite:PATH|postgresql://... [--table NAME] [--print]"});
        in->add_flag("--print", o->print, "print the DDL instead of running it");
        return [o, in]() -> Result<int> {
            if (in->parsed()) return init(*o);
            std::signal(SIGINT, on_signal);
            std::signal(SIGTERM, on_signal);
            return relay(*o);
        };
    });
}
