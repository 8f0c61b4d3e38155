// evt-consume: a consumer-group member, pub-sub (log mode) or work queue (queue mode).
#include <csignal>

#include "core/cli/exec.hpp"
#include "core/cli/output.hpp"
#include "core/event/format.hpp"
#include "core/group/consumer.hpp"
#include "core/backend/backend.hpp"
#include "tools/common/runner.hpp"

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

struct Options {
    evt::tool::LogFlags log;
    evt::group::ConsumerOptions c;
    std::string mode = "log", assign = "range", from = "earliest", commit = "auto";
    std::string session_timeout = "10s", visibility = "30s";
    std::string exec;
    std::string on_lost = "warn";
    bool shell = false;
};

evt::Result<int> run(Options& o) {
    using namespace evt;
    group::ConsumerOptions& c = o.c;
    c.mode = o.mode == "queue" ? group::Mode::queue : group::Mode::log;
    c.strategy = o.assign == "roundrobin" ? group::Strategy::roundrobin : group::Strategy::range;
    c.from_latest = o.from == "latest";
    c.auto_commit = o.commit == "auto";
    c.fail_on_lost = o.on_lost == "fail";
    EVT_ASSIGN(c.session_timeout, parse_duration(o.session_timeout));
    EVT_ASSIGN(c.visibility, parse_duration(o.visibility));
    std::optional<cli::Command> cmd;
    if (!o.exec.empty()) {
        EVT_ASSIGN(cmd, cli::Command::parse(o.exec, o.shell));
        if (!c.auto_commit) return Error{ErrorKind::usage, "--exec commits what it handled: it takes no --commit none"};
    }
    if (c.assignor == "cooperative-sticky" || o.assign == "cooperative-sticky") c.assignor = "cooperative-sticky";
    EVT_ASSIGN(auto lg, tool::open_log(o.log, backend::Access::write));
    if (!c.assignor.empty() && lg->embedded())
        return Error{ErrorKind::usage, "--assign cooperative-sticky is Kafka's assignor; the embedded log has range and roundrobin"};
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    cli::Output out;
    std::string topic_json = event::json_escape_string(c.topic), line;
    group::Handler handler = [&](const log::RecordView& r, std::uint32_t delivery) -> Result<bool> {
        event::PositionExtras extras{0, c.mode == group::Mode::queue ? delivery : 0u};
        if (!cmd) {
            event::append_with_position(out.buffer(), topic_json, r, extras);
            out.buffer() += '\n';
            EVT_TRY(out.maybe_flush());
            return true;
        }
        line.clear();
        event::append_with_position(line, topic_json, r, extras);
        line += '\n';
        EVT_ASSIGN(int status, cmd->run(line));
        if (status != 0)
            tool::warn(fmt::format("--exec exited {} on {}/{}/{} (delivery {}); {}", status, c.topic, r.partition,
                                   r.offset, delivery, c.mode == group::Mode::queue ? "released for redelivery" : "retrying"));
        return status == 0;
    };
    group::ConsumerHooks hooks;
    hooks.flush = [&] { return out.flush(); };
    hooks.stop = [] { return g_stop != 0; };
    hooks.note = [](const std::string& m) { tool::note(m); };
    hooks.warn = [](const std::string& m) { tool::warn(m); };
    EVT_TRY(lg->consume(c, handler, hooks));
    EVT_TRY(out.flush());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    evt::tool::Spec spec{"evt-consume", "Consume a topic as a member of a consumer group (pub-sub or work queue).",
                         {"evt-consume -t TOPIC -g GROUP [--mode log|queue] [--follow] [--exec CMD] [OPTIONS]"}};
    return evt::tool::main(argc, argv, spec, [](CLI::App& app, evt::tool::Context&) -> evt::tool::RunFn {
        auto o = std::make_shared<Options>();
        auto& c = o->c;
        evt::tool::add_log_option(app, o->log);
        app.add_option("-t,--topic", c.topic, "the topic to consume")->required();
        app.add_option("-g,--group", c.group, "the consumer group")->required();
        app.add_option("--mode", o->mode, "log (pub-sub, default) or queue (work queue)")
            ->check(CLI::IsMember({"log", "queue"}));
        app.add_option("--assign", o->assign, "log mode: range (default), roundrobin, or (Kafka) cooperative-sticky")
            ->check(CLI::IsMember({"range", "roundrobin", "cooperative-sticky"}));
        app.add_option("--session-timeout", o->session_timeout, "a member silent this long is dead (default 10s)")
            ->check(evt::tool::Duration);
        app.add_option("--from", o->from, "earliest (default) or latest, for partitions with no commit")
            ->check(CLI::IsMember({"earliest", "latest"}));
        app.add_flag("-f,--follow", c.follow, "keep consuming new events until interrupted");
        app.add_option("-n,--count", c.count, "stop after COUNT events");
        app.add_option("--commit", o->commit, "auto (default: after the output is flushed) or none (see evt-commit)")
            ->check(CLI::IsMember({"auto", "none"}));
        app.add_option("--visibility", o->visibility, "queue mode: lease time before redelivery (default 30s)")
            ->check(evt::tool::Duration);
        app.add_option("--max-deliveries", c.max_deliveries, "queue mode: deliveries before the dead-letter topic (default 5)")
            ->check(CLI::Range(1, 1000000));
        app.add_option("--dlq", c.dlq, "queue mode: the dead-letter topic (default TOPIC.dlq)");
        app.add_option("--exec", o->exec, "run CMD once per event (event on stdin); commit on exit 0");
        app.add_flag("--shell", o->shell, "run --exec's CMD with /bin/sh -c");
        app.add_option("--on-lost", o->on_lost,
                       "warn (default: go on at the log start) or fail (exit 66) when retention removed events "
                       "the group had not read")
            ->check(CLI::IsMember({"warn", "fail"}));
        app.add_option("--batch", c.batch, "events per round (default 4096)")->check(CLI::Range(1, 1 << 20));
        return [o] { return run(*o); };
    });
}
