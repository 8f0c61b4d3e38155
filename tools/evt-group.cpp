// evt-group: list, describe, reset and delete consumer groups.
#include <nlohmann/json.hpp>

#include "core/cli/table.hpp"
#include "core/group/admin.hpp"
#include "tools/common/runner.hpp"

namespace {

using evt::Result;
namespace group = evt::group;

struct Options {
    evt::tool::LogFlags log;
    std::string name;
    std::string topic;
    std::string to;
    std::string format = "table";
    bool execute = false;
};

Result<std::unique_ptr<evt::backend::Backend>> open(const Options& o, bool write) {
    return evt::tool::open_log(o.log, write ? evt::backend::Access::write : evt::backend::Access::read);
}

std::string opt(const std::optional<std::uint64_t>& v) { return v ? std::to_string(*v) : "-"; }

nlohmann::json to_json(const group::GroupView& v) {
    nlohmann::json parts = nlohmann::json::array(), members = nlohmann::json::array();
    for (const auto& m : v.members) members.push_back({{"id", m.id}, {"host", m.host}, {"pid", m.pid}});
    for (const auto& r : v.partitions) {
        nlohmann::json j = {{"topic", r.topic.empty() ? v.state.topic : r.topic}, {"partition", r.partition}, {"log_end", r.log_end}, {"lag", r.lag}};
        j["committed"] = r.committed ? nlohmann::json(*r.committed) : nlohmann::json();
        j["member"] = r.member.empty() ? nlohmann::json() : nlohmann::json(r.member);
        if (v.state.mode == group::Mode::queue) j["in_flight"] = r.in_flight;
        if (v.retention) {  // topics with retention or compaction: where the log starts now
            j["log_start"] = r.log_start;
            j["lost"] = r.lost;
        }
        parts.push_back(j);
    }
    nlohmann::json out = {{"group", v.state.name}, {"mode", group::mode_name(v.state.mode)},
                          {"topic", v.state.topic}, {"strategy", group::strategy_name(v.state.strategy)},
                          {"generation", v.state.generation}, {"members", members}, {"partitions", parts}};
    if (v.state.mode == group::Mode::queue)
        out["queue"] = {{"acked", v.counts.acked}, {"redelivered", v.counts.redelivered},
                        {"dead_lettered", v.counts.dead_lettered}};
    return out;
}

Result<int> list(const Options& o) {
    auto lg = open(o, false);
    if (!lg.ok() && lg.error().kind == evt::ErrorKind::not_found) return 0;  // no log: no groups
    if (!lg.ok()) return lg.error();
    EVT_ASSIGN(auto groups, (*lg)->list_groups());
    if (o.format == "json") {
        nlohmann::json arr = nlohmann::json::array();
        for (const auto& g : groups) arr.push_back(to_json(g));
        evt::tool::write_out(arr.dump() + "\n");
        return 0;
    }
    evt::cli::Table t({"GROUP", "MODE", "TOPIC", "MEMBERS", "LAG"}, {false, false, false, true, true});
    for (const auto& g : groups) {
        std::uint64_t lag = 0;
        for (const auto& r : g.partitions) lag += r.lag;
        t.add({g.state.name, group::mode_name(g.state.mode), g.state.topic, std::to_string(g.members.size()),
               std::to_string(lag)});
    }
    if (!groups.empty()) evt::tool::write_out(t.render());
    return 0;
}

Result<int> describe(const Options& o) {
    EVT_ASSIGN(auto lg, open(o, false));
    EVT_ASSIGN(group::GroupView v, lg->describe_group(o.name));
    if (!v.note.empty()) evt::tool::note(v.note);
    if (o.format == "json") {
        evt::tool::write_out(to_json(v).dump() + "\n");
        return 0;
    }
    if (o.format == "mermaid") {
        std::string m = "flowchart LR\n";
        m += fmt::format("  subgraph topic[\"topic {}\"]\n", v.state.topic);
        for (const auto& r : v.partitions) m += fmt::format("    p{}[\"partition {}\"]\n", r.partition, r.partition);
        m += fmt::format("  end\n  subgraph group[\"group {} ({} mode)\"]\n", v.state.name, group::mode_name(v.state.mode));
        for (std::size_t i = 0; i < v.members.size(); ++i)
            m += fmt::format("    m{}[\"{} pid {}\"]\n", i, v.members[i].host, v.members[i].pid);
        m += "  end\n";
        for (const auto& r : v.partitions)
            for (std::size_t i = 0; i < v.members.size(); ++i)
                if (v.state.mode == group::Mode::queue || v.members[i].id == r.member)
                    m += fmt::format("  p{} --> m{}\n", r.partition, i);
        evt::tool::write_out(m);
        return 0;
    }
    bool queue = v.state.mode == group::Mode::queue;
    std::vector<std::string> head = {"TOPIC", "PARTITION", "MEMBER", "HOST/PID", "COMMITTED", "LOG END", "LAG"};
    if (queue) head.push_back("IN FLIGHT");
    if (v.retention) {
        head.insert(head.begin() + 5, "LOG START");
        head.push_back("LOST");
    }
    evt::cli::Table t(head, {false, true, false, false, true, true, true, true, true, true});
    for (const auto& r : v.partitions) {
        std::vector<std::string> row = {r.topic.empty() ? v.state.topic : r.topic, std::to_string(r.partition),
                                        r.member.empty() ? "-" : r.member,
                                        r.pid ? fmt::format("{}/{}", r.host, r.pid) : r.host.empty() ? "-" : r.host,
                                        opt(r.committed),
                                        std::to_string(r.log_end), std::to_string(r.lag)};
        if (queue) row.push_back(std::to_string(r.in_flight));
        if (v.retention) {
            row.insert(row.begin() + 5, std::to_string(r.log_start));
            row.push_back(std::to_string(r.lost));
        }
        t.add(row);
    }
    std::string head_line = fmt::format("Group: {}  mode: {}  topic: {}  members: {}  generation: {}  assign: {}\n",
                                        v.state.name, group::mode_name(v.state.mode), v.state.topic, v.members.size(),
                                        v.state.generation, group::strategy_name(v.state.strategy));
    if (queue)
        head_line += fmt::format("Acked: {}  redelivered: {}  dead-lettered: {}\n", v.counts.acked,
                                 v.counts.redelivered, v.counts.dead_lettered);
    evt::tool::write_out(head_line + "\n" + t.render());
    return 0;
}

Result<int> reset(const Options& o) {
    EVT_ASSIGN(auto lg, open(o, true));
    EVT_ASSIGN(auto rows, lg->reset_group(o.name, o.topic, o.to, o.execute));
    evt::cli::Table t({"TOPIC", "PARTITION", "CURRENT", "NEW"}, {false, true, true, true});
    for (const auto& r : rows) t.add({o.topic, std::to_string(r.partition), opt(r.current), std::to_string(r.target)});
    evt::tool::write_out(t.render());
    if (!o.execute) evt::tool::note("dry run: nothing changed (add --execute to apply)");
    return 0;
}

Result<int> remove(const Options& o) {
    EVT_ASSIGN(auto lg, open(o, true));
    EVT_TRY(lg->delete_group(o.name));
    evt::tool::note(fmt::format("deleted group '{}'", o.name));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    evt::tool::Spec spec{"evt-group", "List, describe, reset and delete consumer groups.",
                         {"evt-group list [--format table|json]",
                          "evt-group describe GROUP [--format table|json|mermaid]",
                          "evt-group reset GROUP -t TOPIC --to earliest|latest|N|@TIME|shift:-N [--execute]",
                          "evt-group delete GROUP"}};
    return evt::tool::main(argc, argv, spec, [](CLI::App& app, evt::tool::Context& ctx) -> evt::tool::RunFn {
        auto o = std::make_shared<Options>();
        evt::tool::add_log_option(app, o->log);
        app.require_subcommand(1);
        app.fallthrough();
        auto sub = [&](const char* name, const char* help, std::string usage) {
            CLI::App* s = app.add_subcommand(name, help);
            ctx.usage(s, {std::move(usage)});
            return s;
        };
        auto* l = sub("list", "the groups with mode, topic, live members and total lag", "evt-group list [--format table|json]");
        l->add_option("--format", o->format, "table or json")->check(CLI::IsMember({"table", "json"}));
        auto* d = sub("describe", "per partition: owner, committed offset, log end, lag", "evt-group describe GROUP [--format table|json|mermaid]");
        d->add_option("GROUP", o->name, "the group")->required();
        d->add_option("--format", o->format, "table, json or mermaid")->check(CLI::IsMember({"table", "json", "mermaid"}));
        auto* r = sub("reset", "move committed offsets (dry run unless --execute)",
                      "evt-group reset GROUP -t TOPIC --to earliest|latest|N|@TIME|shift:-N [--execute]");
        r->add_option("GROUP", o->name, "the group")->required();
        r->add_option("-t,--topic", o->topic, "the topic")->required();
        r->add_option("--to", o->to, "earliest, latest, N, @TIME or shift:-N")->required();
        r->add_flag("--execute", o->execute, "apply the change (default: show it)");
        auto* x = sub("delete", "delete a group with no live members", "evt-group delete GROUP");
        x->add_option("GROUP", o->name, "the group")->required();
        return [o, l, d, r]() -> Result<int> {
            if (l->parsed()) return list(*o);
            if (d->parsed()) return describe(*o);
            if (r->parsed()) return reset(*o);
            return remove(*o);
        };
    });
}
