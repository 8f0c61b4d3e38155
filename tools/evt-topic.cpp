// evt-topic: create, list, describe, alter and delete topics; partition-of KEY.

#include <nlohmann/json.hpp>

#include "core/cli/table.hpp"
#include "core/backend/backend.hpp"
#include "core/route/partitioner.hpp"
#include "tools/common/runner.hpp"

namespace {

using evt::Result;
namespace log = evt::log;

struct Options {
    evt::tool::LogFlags log;
    std::string name;
    std::uint32_t partitions = 1;
    std::uint32_t replicas = 0;
    std::string retention;
    std::string retention_bytes;
    std::string tombstone_retention;
    bool compact = false;
    std::string format = "table";
    bool if_not_exists = false;
};

Result<std::unique_ptr<evt::backend::Backend>> open(const Options& o, evt::backend::Access a) {
    return evt::tool::open_log(o.log, a);
}

std::string time_or_dash(evt::Micros t, std::uint64_t count) { return count && t ? evt::format_time_ms(t) : "-"; }

Result<int> create(const Options& o) {
    log::TopicOptions to;
    to.partitions = o.partitions;
    to.replicas = o.replicas;
    to.compact = o.compact;
    if (!o.retention.empty()) {
        EVT_ASSIGN(to.retention, evt::parse_duration(o.retention));
    }
    if (!o.retention_bytes.empty()) {
        EVT_ASSIGN(to.retention_bytes, evt::parse_size(o.retention_bytes));
    }
    if (!o.tombstone_retention.empty()) {
        if (!o.compact) return evt::Error{evt::ErrorKind::usage, "--tombstone-retention needs --compact"};
        EVT_ASSIGN(to.tombstone_retention, evt::parse_duration(o.tombstone_retention));
    }
    EVT_ASSIGN(auto lg, open(o, evt::backend::Access::write));
    auto t = lg->create_topic(o.name, to);
    if (!t.ok() && t.error().kind == evt::ErrorKind::conflict && o.if_not_exists) return 0;
    if (!t.ok()) return t.error();
    std::cerr << "created topic '" << t->name << "' with " << t->partitions << " partition"
              << (t->partitions == 1 ? "" : "s") << "\n";
    return 0;
}

Result<int> list(const Options& o) {
    auto lg = open(o, evt::backend::Access::read);
    if (!lg.ok() && lg.error().kind == evt::ErrorKind::not_found) {  // no log yet: no topics
        if (o.format == "json") evt::tool::write_out("[]\n");
        return 0;
    }
    if (!lg.ok()) return lg.error();
    EVT_ASSIGN(auto topics, (*lg)->topics());
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& t : topics) {
        if (o.format != "json") {
            evt::tool::write_out(t.name + "\n");
            continue;
        }
        std::uint64_t events = 0;
        log::TopicConfig config;
        EVT_ASSIGN(auto infos, (*lg)->describe(t.name, config));
        for (const auto& info : infos) events += info.count();
        arr.push_back({{"name", t.name}, {"partitions", t.partitions}, {"events", events}});
    }
    if (o.format == "json") evt::tool::write_out(arr.dump() + "\n");
    return 0;
}

Result<int> describe(const Options& o) {
    EVT_ASSIGN(auto lg, open(o, evt::backend::Access::read));
    log::TopicConfig t;
    EVT_ASSIGN(auto infos, lg->describe(o.name, t));
    evt::cli::Table table({"PARTITION", "START", "END", "EVENTS", "DISK BYTES", "FIRST APPEND", "LAST APPEND"},
                          {true, true, true, true, true, false, false});
    nlohmann::json parts = nlohmann::json::array();
    std::uint64_t total = 0, bytes = 0;
    for (const log::PartitionInfo& i : infos) {
        std::uint32_t p = i.partition;
        // A compacted topic has gaps: count what is there.
        std::uint64_t events = t.compact ? i.records : i.count();
        total += events;
        bytes += i.bytes;
        table.add({std::to_string(p), std::to_string(i.start), std::to_string(i.end), std::to_string(events),
                   std::to_string(i.bytes), time_or_dash(i.first_time, i.count()), time_or_dash(i.last_time, i.count())});
        nlohmann::json pj = {{"partition", p}, {"start", i.start}, {"end", i.end}, {"events", events}};
        pj["disk_bytes"] = i.bytes;
        pj["first_append"] = i.count() ? nlohmann::json(evt::format_time_ms(i.first_time)) : nlohmann::json();
        pj["last_append"] = i.count() ? nlohmann::json(evt::format_time_ms(i.last_time)) : nlohmann::json();
        parts.push_back(pj);
    }
    if (o.format == "json") {
        nlohmann::json j = {{"topic", t.name}, {"partitions", t.partitions}, {"events", total}, {"disk_bytes", bytes},
                            {"created", evt::format_time_ms(t.created)}, {"compact", t.compact},
                            {"retention_ms", t.retention / 1000}, {"retention_bytes", t.retention_bytes},
                            {"partition_detail", parts}};
        if (t.compact) j["tombstone_retention_ms"] = t.tombstone_retention / 1000;
        evt::tool::write_out(j.dump() + "\n");
        return 0;
    }
    evt::tool::write_out(fmt::format(
        "Topic: {}  partitions: {}  events: {}  on disk: {}  created: {}\nRetention: {}{}{}\n\n{}", t.name,
        t.partitions, total, evt::format_size(bytes), evt::format_time_ms(t.created),
        t.retention ? evt::format_duration(t.retention) : "forever",
        t.retention_bytes ? "  max " + evt::format_size(t.retention_bytes) + " per partition" : "",
        t.compact ? "  compacted (tombstones kept " + evt::format_duration(t.tombstone_retention) + ")" : "",
        table.render()));
    return 0;
}

Result<int> alter(const Options& o) {
    EVT_ASSIGN(auto lg, open(o, evt::backend::Access::write));
    EVT_ASSIGN(log::TopicConfig t, lg->alter_partitions(o.name, o.partitions));
    std::cerr << "topic '" << t.name << "' now has " << t.partitions << " partitions "
              << "(keys may now map to other partitions)\n";
    return 0;
}

Result<int> remove(const Options& o) {
    EVT_ASSIGN(auto lg, open(o, evt::backend::Access::write));
    EVT_TRY(lg->delete_topic(o.name));
    std::cerr << "deleted topic '" << o.name << "'\n";
    return 0;
}

Result<int> partition_of(const Options& o) {
    evt::tool::write_out(fmt::format("{}\n", evt::partition_for_key(o.name, o.partitions)));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    evt::tool::Spec spec{"evt-topic", "Create, list, describe, alter and delete topics.",
                         {"evt-topic create NAME [--partitions N] [--replicas N] [--retention DUR] [--retention-bytes SIZE] [--compact [--tombstone-retention DUR]]",
                          "evt-topic list [--format text|json]",
                          "evt-topic describe NAME [--format table|json]",
                          "evt-topic alter NAME --partitions N",
                          "evt-topic delete NAME",
                          "evt-topic partition-of KEY --partitions N"}};
    return evt::tool::main(argc, argv, spec, [](CLI::App& app, evt::tool::Context& ctx) -> evt::tool::RunFn {
        auto o = std::make_shared<Options>();
        evt::tool::add_log_option(app, o->log);
        app.require_subcommand(1);
        app.fallthrough();  // -L may follow the subcommand
        auto sub = [&](const char* name, const char* help, std::string usage) {
            CLI::App* s = app.add_subcommand(name, help);
            ctx.usage(s, {std::move(usage)});
            return s;
        };
        auto* c = sub("create", "create a topic", "evt-topic create NAME [--partitions N] [--replicas N] [--retention DUR] [--retention-bytes SIZE] [--compact [--tombstone-retention DUR]]");
        c->add_option("NAME", o->name, "the topic")->required();
        c->add_option("-P,--partitions", o->partitions, "number of partitions (default 1)")->check(CLI::Range(1, 256));
        c->add_option("--replicas", o->replicas,
                      "copies of each partition on a replicated backend (NATS: default 3, or fewer on a smaller cluster; Kafka: the broker's default)")
            ->check(CLI::Range(1, 5));
        c->add_option("--retention", o->retention, "keep events this long, e.g. 7d")->check(evt::tool::Duration);
        c->add_option("--retention-bytes", o->retention_bytes, "keep at most this much per partition")->check(evt::tool::Size);
        c->add_flag("--compact", o->compact, "keep only the latest event per key");
        c->add_option("--tombstone-retention", o->tombstone_retention,
                      "with --compact: keep a tombstone (\"data\":null, \"evttombstone\":true) this long (default 1d)")
            ->check(evt::tool::Duration);
        c->add_flag("--if-not-exists", o->if_not_exists, "succeed if the topic already exists");
        auto* l = sub("list", "name the topics", "evt-topic list [--format text|json]");
        l->add_option("--format", o->format, "text (names) or json")->check(CLI::IsMember({"text", "table", "json"}));
        auto* d = sub("describe", "partitions with offsets, counts, bytes and append times", "evt-topic describe NAME [--format table|json]");
        d->add_option("NAME", o->name, "the topic")->required();
        d->add_option("--format", o->format, "table or json")->check(CLI::IsMember({"table", "json"}));
        auto* a = sub("alter", "add partitions", "evt-topic alter NAME --partitions N");
        a->add_option("NAME", o->name, "the topic")->required();
        a->add_option("-P,--partitions", o->partitions, "the new number of partitions")->required()->check(CLI::Range(1, 256));
        auto* x = sub("delete", "delete a topic and its events", "evt-topic delete NAME");
        x->add_option("NAME", o->name, "the topic")->required();
        auto* p = sub("partition-of", "the partition KEY lands on (Kafka's murmur2)", "evt-topic partition-of KEY --partitions N");
        p->add_option("KEY", o->name, "the key")->required();
        p->add_option("-P,--partitions", o->partitions, "number of partitions")->required()->check(CLI::Range(1, 1 << 20));
        return [o, c, l, d, a, x, p]() -> Result<int> {
            if (c->parsed()) return create(*o);
            if (l->parsed()) return list(*o);
            if (d->parsed()) return describe(*o);
            if (a->parsed()) return alter(*o);
            if (x->parsed()) return remove(*o);
            return partition_of(*o);
        };
    });
}
