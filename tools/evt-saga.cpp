// evt-saga: check, diagram, simulate, run and inspect saga definitions.
#include <csignal>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/cli/table.hpp"
#include "core/lint/report.hpp"
#include "core/lint/saga_check.hpp"
#include "core/saga/diagram.hpp"
#include "core/saga/orchestrator.hpp"
#include "core/saga/simulate.hpp"
#include "tools/common/runner.hpp"

namespace {

using evt::Result;
namespace saga = evt::saga;

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

struct Options {
    evt::tool::LogFlags log;
    std::vector<std::string> files;
    std::string file;
    std::string format;
    std::vector<std::string> fail, timeout;
    std::string id = "sim-1";
    std::string data;
    std::string group;
    bool follow = false, until_done = false, quiet = false;
    std::size_t batch = 4096;
};

// A definition for diagram/simulate/run/status: shape problems refuse it (65),
// and with `structure` so do the structural errors of `check`.
Result<saga::Parsed> definition(const std::string& file, bool structure) {
    EVT_ASSIGN(saga::Parsed p, saga::load_definition(file));
    std::vector<evt::lint::Finding> findings = evt::lint::check_saga(p);
    for (const auto& f : findings) {
        bool shape = f.rule == "saga/schema";
        bool structural = f.rule.rfind("saga/", 0) == 0 && f.severity == evt::lint::Severity::error &&
                          f.rule.find("named-like") == std::string::npos;
        if (shape || (structure && structural))
            return evt::make_error(evt::ErrorKind::invalid, "{}:{}:{}: {} [{}] (see evt-saga check)", f.file, f.pos.line,
                                   f.pos.column, f.message, f.rule);
    }
    return p;
}

Result<int> check(const Options& o) {
    evt::lint::Report report;
    report.version = EVT_VERSION;
    for (const auto& f : o.files) {
        EVT_ASSIGN(saga::Parsed p, saga::load_definition(f));
        auto found = evt::lint::check_saga(p);
        report.findings.insert(report.findings.end(), found.begin(), found.end());
        report.files.push_back(f);
    }
    std::sort(report.findings.begin(), report.findings.end(), evt::lint::finding_less);
    std::ostringstream out;
    evt::lint::write_report(out, o.format == "json" ? evt::lint::OutputFormat::json : evt::lint::OutputFormat::text,
                            report);
    evt::tool::write_out(out.str());
    return evt::lint::count(report.findings).errors > 0 ? 1 : 0;
}

Result<int> diagram(const Options& o) {
    EVT_ASSIGN(saga::Parsed p, definition(o.file, false));
    evt::tool::write_out(o.format == "dot" ? saga::diagram_dot(p.def) : saga::diagram_mermaid(p.def));
    return 0;
}

std::string offset_text(evt::Micros us) {
    if (us % 1000000 == 0) return fmt::format("+{}s", us / 1000000);
    return fmt::format("+{:.3f}s", static_cast<double>(us) / 1e6);
}

std::string detail(const saga::SimEvent& e) {
    const auto& data = e.event.contains("data") ? e.event["data"] : nlohmann::json::object();
    std::string s;
    auto add = [&](const std::string& t) { s += (s.empty() ? "" : ", ") + t; };
    if (e.flow == "state") {
        if (data.contains("attempt")) add(fmt::format("attempt {}", data["attempt"].get<long long>()));
        if (data.contains("reason")) add(data["reason"].get<std::string>());
        if (data.contains("retry_at")) add("retry " + offset_text(data["retry_at"].get<evt::Micros>() - saga::kSimEpoch));
        if (data.contains("status")) add(data["status"].get<std::string>());
    } else if (e.flow == "command" || e.flow == "compensation") {
        add(e.event["id"].get<std::string>());
    }
    return s.empty() ? "-" : s;
}

Result<int> simulate(const Options& o) {
    EVT_ASSIGN(saga::Parsed p, definition(o.file, false));
    saga::SimOptions so;
    so.fail = o.fail;
    so.timeout = o.timeout;
    so.id = o.id;
    if (!o.data.empty()) {
        so.data = nlohmann::json::parse(o.data, nullptr, false);
        if (so.data.is_discarded() || !so.data.is_object())
            return evt::make_error(evt::ErrorKind::usage, "--data must be a JSON object");
    }
    EVT_ASSIGN(auto events, saga::simulate(p.def, so));
    if (o.format == "ndjson") {
        std::string out;
        for (const auto& e : events) {
            nlohmann::json j = e.event;
            j["sagaflow"] = e.flow;
            j["sagatopic"] = e.topic;
            out += j.dump() + "\n";
        }
        evt::tool::write_out(out);
        return 0;
    }
    evt::cli::Table t({"#", "TIME", "FLOW", "TOPIC", "EVENT", "STEP", "DETAIL"}, {true, false, false, false, false, false, false});
    std::size_t n = 0;
    for (const auto& e : events)
        t.add({std::to_string(++n), offset_text(e.offset), e.flow, e.topic, e.type, e.step.empty() ? "-" : e.step,
               detail(e)});
    evt::tool::write_out(t.render());
    return 0;
}

Result<int> run(const Options& o) {
    EVT_ASSIGN(saga::Parsed p, definition(o.file, true));
    EVT_ASSIGN(auto be, evt::tool::open_log(o.log, evt::backend::Access::write));
    EVT_ASSIGN(evt::log::Log * lg, evt::backend::require_embedded(*be, "evt-saga run"));
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    saga::RunOptions ro;
    ro.group = o.group;
    ro.follow = o.follow;
    ro.until_done = o.until_done;
    ro.batch = o.batch;
    ro.stop = [] { return g_stop != 0; };
    ro.warn = [](const std::string& m) { evt::tool::warn(m); };
    saga::RunStats st;
    EVT_TRY(saga::run_saga(*lg, p.def, ro, st));
    if (!o.quiet)
        evt::tool::note(fmt::format("saga {}: {} events read; {} started, {} replies taken, {} ignored (duplicates, late "
                                    "or unknown); {} commands and {} compensations sent; {} completed, {} compensated, "
                                    "{} stuck, {} running; {} transactions",
                                    p.def.name.value, st.read, st.started, st.replies, st.ignored, st.commands,
                                    st.compensations, st.completed, st.compensated, st.stuck, st.running, st.rounds));
    return 0;
}

std::string step_of(const saga::Definition& d, const saga::Instance& in) {
    if (in.phase == saga::Phase::completed) return "-";
    if (in.step >= 0 && static_cast<std::size_t>(in.step) < d.steps.size()) return d.steps[in.step].id.value;
    return "-";
}

Result<int> status(const Options& o) {
    EVT_ASSIGN(saga::Parsed p, definition(o.file, false));
    EVT_ASSIGN(auto be, evt::tool::open_log(o.log, evt::backend::Access::read));
    EVT_ASSIGN(evt::log::Log * lg, evt::backend::require_embedded(*be, "evt-saga status"));
    const saga::Definition& d = p.def;
    if (!o.id.empty()) {
        EVT_ASSIGN(auto h, saga::instance_history(*lg, d, o.id));
        if (o.format == "json") {
            nlohmann::json arr = nlohmann::json::array();
            for (const auto& e : h)
                arr.push_back({{"version", e.version}, {"time", saga::rfc3339(e.time)}, {"type", e.type}, {"data", e.data}});
            evt::tool::write_out(arr.dump() + "\n");
            return 0;
        }
        evt::cli::Table t({"VERSION", "TIME", "EVENT", "STEP", "DETAIL"}, {true, false, false, false, false});
        for (const auto& e : h) {
            std::string step = e.data.contains("step") && e.data["step"].is_string() ? e.data["step"].get<std::string>() : "-";
            std::string det;
            for (const char* k : {"attempt", "reply", "reason", "type", "status"})
                if (e.data.contains(k)) det += fmt::format("{}{}={}", det.empty() ? "" : " ", k,
                                                           e.data[k].is_string() ? e.data[k].get<std::string>() : e.data[k].dump());
            t.add({std::to_string(e.version), saga::rfc3339(e.time), e.type, step, det});
        }
        evt::tool::write_out(t.render());
        return 0;
    }
    auto all = saga::load_instances(*lg, d);
    if (!all.ok()) return all.error();
    if (o.format == "json") {
        nlohmann::json arr = nlohmann::json::array();
        for (const auto& in : *all)
            arr.push_back({{"id", in.id}, {"status", std::string(saga::phase_name(in.phase))}, {"step", step_of(d, in)},
                           {"attempt", in.attempt}, {"events", in.version}, {"last", in.last},
                           {"updated", saga::rfc3339(in.updated)}});
        evt::tool::write_out(arr.dump() + "\n");
        return 0;
    }
    evt::cli::Table t({"ID", "STATUS", "STEP", "ATTEMPT", "EVENTS", "LAST EVENT", "UPDATED"},
                      {false, false, false, true, true, false, false});
    for (const auto& in : *all)
        t.add({in.id, std::string(saga::phase_name(in.phase)), step_of(d, in), std::to_string(in.attempt),
               std::to_string(in.version), in.last, saga::rfc3339(in.updated)});
    if (!all->empty()) evt::tool::write_out(t.render());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    evt::tool::Spec spec{"evt-saga", "Check, draw, simulate and run saga definitions over the log.",
                         {"evt-saga check DEF.yaml... [--format text|json]",
                          "evt-saga diagram DEF.yaml [--format mermaid|dot]",
                          "evt-saga simulate DEF.yaml [--fail STEP]... [--timeout STEP]... [--format table|ndjson]",
                          "evt-saga run DEF.yaml [--follow|--until-done] [--group GROUP] [--batch N]",
                          "evt-saga status DEF.yaml [ID] [--format table|json]"}};
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
        auto* c = sub("check", "find structural and naming mistakes (FILE:LINE:COL; exit 1 on errors)",
                      "evt-saga check DEF.yaml... [--format text|json]");
        c->add_option("DEF", o->files, "saga definitions (YAML)")->required();
        c->add_option("--format", o->format, "text (default) or json")->check(CLI::IsMember({"text", "json"}));
        auto* d = sub("diagram", "the happy path, failure paths and compensations in one picture",
                      "evt-saga diagram DEF.yaml [--format mermaid|dot]");
        d->add_option("DEF", o->file, "the saga definition")->required();
        d->add_option("--format", o->format, "mermaid (default) or dot")->check(CLI::IsMember({"mermaid", "dot"}));
        auto* s = sub("simulate", "the exact sequence of commands, replies and compensations",
                      "evt-saga simulate DEF.yaml [--fail STEP]... [--timeout STEP]... [--format table|ndjson]");
        s->add_option("DEF", o->file, "the saga definition")->required();
        s->add_option("--fail", o->fail, "STEP answers with its failure reply (repeatable)");
        s->add_option("--timeout", o->timeout, "STEP never answers (repeatable)");
        s->add_option("--format", o->format, "table (default) or ndjson")->check(CLI::IsMember({"table", "ndjson"}));
        s->add_option("--id", o->id, "the instance id (default sim-1)");
        s->add_option("--data", o->data, "the start event's data, a JSON object");
        auto* r = sub("run", "the orchestrator: consume replies, send commands, keep state in the log",
                      "evt-saga run DEF.yaml [--follow|--until-done] [--group GROUP] [--batch N]");
        r->add_option("DEF", o->file, "the saga definition")->required();
        auto* f = r->add_flag("-f,--follow", o->follow, "keep running: wait for events and timers until interrupted");
        r->add_flag("--until-done", o->until_done, "wait like --follow, exit once no instance is running")->excludes(f);
        r->add_option("-g,--group", o->group, "the consumer group (default saga.NAME)");
        r->add_option("--batch", o->batch, "input events per transaction (default 4096)")->check(CLI::Range(1, 1 << 20));
        r->add_flag("-q,--quiet", o->quiet, "no summary on stderr");
        auto* st = sub("status", "the instances (a table), or one instance's history",
                       "evt-saga status DEF.yaml [ID] [--format table|json]");
        st->add_option("DEF", o->file, "the saga definition")->required();
        st->add_option("ID", o->id, "an instance: its state events");
        st->add_option("--format", o->format, "table (default) or json")->check(CLI::IsMember({"table", "json"}));
        return [o, c, d, s, r, st]() -> Result<int> {
            if (c->parsed()) return check(*o);
            if (d->parsed()) return diagram(*o);
            if (s->parsed()) return simulate(*o);
            if (r->parsed()) return run(*o);
            if (!st->count("ID")) o->id.clear();
            return status(*o);
        };
    });
}
