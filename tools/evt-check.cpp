// evt-check: verify a log's integrity (CRC, offsets, append times, indexes,
// group offsets); --gc, --repair, --backup DIR, --compact-file.
#include "core/cli/progress.hpp"
#include "core/group/admin.hpp"
#include "core/log/backup.hpp"
#include "core/log/retention.hpp"
#include "core/log/verify.hpp"
#include "tools/common/runner.hpp"

#include <nlohmann/json.hpp>

namespace {

using evt::Result;
namespace log = evt::log;

struct Options {
    evt::tool::LogFlags log;
    std::vector<std::string> topics;
    std::string format = "text";
    std::size_t max_problems = 1000;
    bool gc = false;
    bool repair = false;
    bool compact_file = false;
    std::string backup;
};

// Committed offsets past the log end of their partition.
Result<std::vector<log::Problem>> group_problems(log::Log& lg, const std::vector<std::string>& topics) {
    std::vector<log::Problem> out;
    EVT_ASSIGN(auto groups, evt::group::list_groups(lg));
    for (const auto& g : groups) {
        if (!topics.empty() && std::find(topics.begin(), topics.end(), g.state.topic) == topics.end()) continue;
        for (const auto& r : g.partitions)
            if (r.committed && *r.committed > r.log_end)
                out.push_back(log::Problem{g.state.topic, r.partition, *r.committed, true,
                                           fmt::format("group '{}' committed offset {} is past the log end {}",
                                                       g.state.name, *r.committed, r.log_end)});
    }
    return out;
}

Result<int> report(log::Log& lg, const Options& o, const std::string& what) {
    evt::cli::Progress progress("evt-check", evt::cli::Progress::Mode::automatic);
    EVT_ASSIGN(log::VerifyReport r, log::verify(lg, o.topics, o.max_problems,
                                                [&](std::uint64_t n) { progress.update(n & ~1023ull); }));
    progress.finish();
    EVT_ASSIGN(auto gp, group_problems(lg, o.topics));
    for (auto& p : gp)
        if (r.problems.size() < o.max_problems) r.problems.push_back(std::move(p));
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
        nlohmann::json out = {{"format", r.format}, {"topics", r.topics}, {"records", r.records},
                              {"streams", r.streams}, {"ids", r.ids}, {"keys", r.keys},
                              {"ok", r.problems.empty()}, {"problems", problems}};
        if (!what.empty()) out["checked"] = what;
        evt::tool::write_out(out.dump() + "\n");
    } else {
        for (const auto& p : r.problems) {
            if (p.has_position)
                evt::tool::write_out(fmt::format("{}/{}/{}: {}\n", p.topic, p.partition, p.offset, p.what));
            else
                evt::tool::write_out(fmt::format("{}: {}\n", p.topic, p.what));
        }
        evt::tool::write_out(fmt::format("{}checked {} topic{}, {} records, {} streams (format {}): {}\n",
                                         what.empty() ? "" : what + ": ", r.topics, r.topics == 1 ? "" : "s",
                                         r.records, r.streams, r.format,
                                         r.problems.empty() ? "ok" : fmt::format("{} problems", r.problems.size())));
    }
    return r.problems.empty() ? 0 : 1;
}

Result<int> backup(const Options& o) {
    EVT_ASSIGN(auto be, evt::tool::open_log(o.log, evt::backend::Access::read));
    EVT_ASSIGN(log::Log * lg, evt::backend::require_embedded(*be, "evt-check --backup", "it copies the embedded log's files"));
    EVT_TRY(log::backup(*lg, o.backup));
    evt::tool::note(fmt::format("copied the log into '{}'; verifying the copy", o.backup));
    EVT_ASSIGN(auto copy_be, evt::backend::open(o.backup, evt::backend::Access::read));
    EVT_ASSIGN(log::Log * copy, evt::backend::require_embedded(*copy_be, "evt-check --backup", "a backup is a directory"));
    return report(*copy, o, "backup " + o.backup);
}

Result<int> run(const Options& o) {
    if (!o.backup.empty()) return backup(o);
    std::string path = evt::tool::resolve_log(o.log);
    auto access = o.gc || o.repair ? evt::backend::Access::write : evt::backend::Access::read;
    EVT_ASSIGN(auto be, evt::tool::open_log(o.log, access));
    EVT_ASSIGN(log::Log * lg, evt::backend::require_embedded(*be, "evt-check", "it verifies the embedded log's files"));
    if (o.compact_file) {
        be.reset();  // compaction needs the log to itself
        EVT_ASSIGN(auto r, log::compact_file(path));
        evt::tool::note(fmt::format("compacted '{}': {} -> {}", path, evt::format_size(r.before), evt::format_size(r.after)));
        EVT_ASSIGN(be, evt::tool::open_log(o.log, access));
        lg = be->embedded();
    }
    if (o.repair) {
        EVT_ASSIGN(log::RepairReport r, log::repair(*lg, o.topics));
        evt::tool::note(fmt::format("repaired: {} stream heads, {} keys, {} tombstones rebuilt; {} id entries dropped",
                                    r.heads, r.keys, r.tombstones, r.ids_dropped));
    }
    if (o.gc) {
        EVT_ASSIGN(log::CleanStats s, log::collect_garbage(*lg, o.topics, log::clock_now()));
        evt::tool::note(fmt::format("gc: removed {} expired, {} over size, {} superseded, {} tombstones; {} stale id entries",
                                    s.expired, s.trimmed, s.compacted, s.tombstones, s.stale_ids));
    }
    return report(*lg, o, "");
}

}  // namespace

int main(int argc, char** argv) {
    evt::tool::Spec spec{"evt-check",
                         "Verify a log (checksums, offsets, append times, indexes, group offsets); gc, repair, backup.",
                         {"evt-check [-t TOPIC]... [--gc] [--repair] [--compact-file] [--format text|json] [OPTIONS]",
                          "evt-check --backup DIR [--format text|json]"}};
    return evt::tool::main(argc, argv, spec, [](CLI::App& app, evt::tool::Context&) -> evt::tool::RunFn {
        auto o = std::make_shared<Options>();
        evt::tool::add_log_option(app, o->log);
        app.add_option("-t,--topic", o->topics, "check only these topics (repeatable; default all)")
            ->allow_extra_args(false);
        app.add_option("--format", o->format, "text (default) or json")->check(CLI::IsMember({"text", "json"}));
        app.add_option("--max-problems", o->max_problems, "stop listing after N problems (default 1000)");
        app.add_flag("--gc", o->gc, "first remove everything retention and compaction say is due");
        app.add_flag("--repair", o->repair, "first rebuild the indexes from the records (records are never touched)");
        app.add_flag("--compact-file", o->compact_file,
                     "first give free pages back to the file system (a compacting copy swapped in; "
                     "needs the log to itself)");
        auto* b = app.add_option("--backup", o->backup, "copy the log, consistently, into the new directory DIR "
                                                        "while writers go on, and verify the copy");
        b->excludes(app.get_option("--gc"))->excludes(app.get_option("--repair"))
            ->excludes(app.get_option("--compact-file"));
        return [o] { return run(*o); };
    });
}
