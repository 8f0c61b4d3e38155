#include "core/saga/simulate.hpp"

#include <algorithm>
#include <map>

#include "core/saga/machine.hpp"

namespace evt::saga {

namespace {

bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

const char* flow_name(Emitted::Flow f) {
    switch (f) {
        case Emitted::Flow::state: return "state";
        case Emitted::Flow::command: return "command";
        case Emitted::Flow::compensation: return "compensation";
    }
    return "?";
}

}  // namespace

Result<std::vector<SimEvent>> simulate(const Definition& d, const SimOptions& o) {
    for (const auto& s : o.fail) {
        int i = d.step_index(s);
        if (i < 0) return make_error(ErrorKind::usage, "--fail: no step '{}' in saga '{}'", s, d.name.value);
        if (d.steps[i].fail.empty())
            return make_error(ErrorKind::usage, "--fail: step '{}' has no failure reply (reply.fail); try --timeout {}", s, s);
    }
    for (const auto& s : o.timeout)
        if (d.step_index(s) < 0) return make_error(ErrorKind::usage, "--timeout: no step '{}' in saga '{}'", s, d.name.value);
    for (const auto& s : o.timeout)
        if (!d.steps[d.step_index(s)].timeout)
            return make_error(ErrorKind::usage, "--timeout: step '{}' has no timeout, so the saga would wait forever", s);

    Machine m(d);
    std::vector<SimEvent> out;
    Micros now = kSimEpoch;
    auto record = [&](std::vector<Emitted>& em) {
        for (auto& e : em) {
            SimEvent s;
            s.offset = now - kSimEpoch;
            s.flow = flow_name(e.flow);
            s.topic = e.topic;
            s.type = e.type;
            s.event = nlohmann::json::parse(e.json);
            if (e.flow == Emitted::Flow::state) {
                if (s.event["data"].contains("step")) s.step = s.event["data"]["step"].get<std::string>();
            } else {
                s.step = e.step < 0 ? "start" : d.steps[e.step].id.value;
            }
            out.push_back(std::move(s));
        }
        em.clear();
    };

    nlohmann::json start = {{"specversion", "1.0"}, {"id", "sim-start"}, {"source", "/simulate"},
                            {"type", d.start_type.value}, {"subject", o.id}};
    start["data"] = o.data;
    try {
        start[nlohmann::json::json_pointer(d.correlate_pointer)] = o.id;
    } catch (const nlohmann::json::exception&) {
        return make_error(ErrorKind::usage, "cannot place the instance id at correlate_by '{}'", d.correlate_by);
    }
    out.push_back({0, "start", d.start_topic.value, d.start_type.value, "", start});
    std::vector<Emitted> em;
    Instance in = m.start(o.id, start, now, em);
    record(em);

    std::map<int, std::uint32_t> failures;  // per step: failure replies given
    for (int guard = 0; guard < 100000 && !finished(in.phase); ++guard) {
        if (in.phase == Phase::retry_wait) {
            now = in.due;
            m.tick(in, now, em);
            record(em);
            continue;
        }
        const Step& s = d.steps[in.step];
        if (has(o.timeout, s.id.value)) {
            now = in.due;
            m.tick(in, now, em);
            record(em);
            continue;
        }
        std::string type = s.ok.value;
        if (has(o.fail, s.id.value)) {
            bool unlimited = s.kind == Kind::retriable && s.retry.max_attempts == 0;
            if (!unlimited || failures[in.step] < 2) type = s.fail.front().value;
            ++failures[in.step];
        }
        if (type.empty())
            return make_error(ErrorKind::usage, "step '{}' has no success reply (reply.ok), so the simulation cannot go on",
                              s.id.value);
        std::string cmd_id = fmt::format("{}/{}/{}/{}", d.name.value, in.id, s.id.value, in.attempt);
        nlohmann::json reply = {{"specversion", "1.0"},
                                {"id", fmt::format("{}/reply", cmd_id)},
                                {"source", "/simulate/" + s.id.value},
                                {"type", type},
                                {"subject", in.id},
                                {"correlationid", in.id},
                                {"causationid", cmd_id}};
        reply["data"] = nlohmann::json::object();
        out.push_back({now - kSimEpoch, "reply", s.reply_topic.value, type, s.id.value, reply});
        if (!m.reply(in, s.reply_topic.value, type, reply["data"], now, em))
            return make_error(ErrorKind::internal, "the simulated reply {} was not taken", type);
        record(em);
    }
    return out;
}

}  // namespace evt::saga
