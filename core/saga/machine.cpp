#include "core/saga/machine.hpp"

#include "core/event/format.hpp"

#include <algorithm>
#include <optional>

namespace evt::saga {

std::string_view phase_name(Phase p) {
    switch (p) {
        case Phase::awaiting: return "running";
        case Phase::retry_wait: return "retrying";
        case Phase::completed: return "completed";
        case Phase::compensated: return "compensated";
        case Phase::stuck: return "stuck";
    }
    return "?";
}

std::string rfc3339(Micros t) { return format_time_ms(t); }

namespace {

std::string dump(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

Micros num(const nlohmann::json& data, const char* key) {
    auto it = data.find(key);
    if (it == data.end() || !it->is_number_integer()) return 0;
    return it->get<Micros>();
}

std::string str(const nlohmann::json& data, const char* key) {
    auto it = data.find(key);
    if (it == data.end() || !it->is_string()) return {};
    return it->get<std::string>();
}

}  // namespace

Status Machine::apply(Instance& in, std::string_view type, const nlohmann::json& data, Micros time) const {
    if (!data.is_object()) return make_error(ErrorKind::corrupt, "saga '{}': {} of '{}' has no data", d_.name.value, type, in.id);
    auto step_of = [&](int& out) -> Status {
        std::string id = str(data, "step");
        int i = d_.step_index(id);
        if (i < 0) return make_error(ErrorKind::corrupt, "saga '{}': {} of '{}' names unknown step '{}'", d_.name.value, type, in.id, id);
        out = i;
        return {};
    };
    ++in.version;
    in.updated = time;
    in.last = std::string(type);
    if (type == "SagaStarted") {
        in.data = data.contains("data") ? data["data"] : nlohmann::json();
        in.started = time;
        in.phase = Phase::awaiting;
    } else if (type == "CommandSent") {
        EVT_TRY(step_of(in.step));
        in.attempt = static_cast<std::uint32_t>(num(data, "attempt"));
        in.phase = Phase::awaiting;
        in.due = num(data, "deadline");
    } else if (type == "StepCompleted") {
        int s = 0;
        EVT_TRY(step_of(s));
        in.done.push_back(s);
        in.replies[d_.steps[s].id.value] = data.contains("data") ? data["data"] : nlohmann::json();
        in.due = 0;
    } else if (type == "StepFailed") {
        EVT_TRY(step_of(in.step));
        Micros retry = num(data, "retry_at");
        if (retry) {
            in.phase = Phase::retry_wait;
            in.due = retry;
        } else {
            in.due = 0;
        }
    } else if (type == "CompensationSent") {
        // recorded for the audit trail; the abort that follows settles the phase
    } else if (type == "SagaCompleted") {
        in.phase = Phase::completed;
        in.due = 0;
    } else if (type == "SagaAborted") {
        in.phase = str(data, "status") == "stuck" ? Phase::stuck : Phase::compensated;
        in.due = 0;
    } else {
        --in.version;
        return make_error(ErrorKind::corrupt, "saga '{}': unknown state event '{}' for '{}'", d_.name.value, type, in.id);
    }
    return {};
}

// The CloudEvent of an emitted event, written directly (attributes in a fixed
// order: the orchestrator writes many of them).
std::string Machine::envelope(const Emitted& e, Micros now, bool correlate, const nlohmann::json* data) const {
    auto quoted = [](std::string_view v) { return "\"" + event::json_escape_string(v) + "\""; };
    std::string subject = quoted(e.subject);
    std::string j;
    j.reserve(256);
    j += "{\"specversion\":\"1.0\",\"id\":";
    j += quoted(e.id);
    j += ",\"source\":";
    j += quoted("/saga/" + d_.name.value);
    j += ",\"type\":";
    j += quoted(e.type);
    j += ",\"time\":\"";
    j += rfc3339(now);
    j += "\",\"subject\":";
    j += subject;
    if (correlate) {
        j += ",\"correlationid\":";
        j += subject;
    }
    if (data) {
        j += ",\"data\":";
        j += dump(*data);
    }
    j += '}';
    return j;
}

void Machine::state(Instance& in, std::string_view type, nlohmann::json data, Micros now,
                    std::vector<Emitted>& out) const {
    data["at"] = now;
    std::string id = fmt::format("{}/{}/{}", d_.name.value, in.id, in.version + 1);
    auto s = apply(in, type, data, now);
    (void)s;  // the events built here always fit
    Emitted e;
    e.flow = Emitted::Flow::state;
    e.topic = d_.state_topic;
    e.type = std::string(type);
    e.subject = in.id;
    e.id = std::move(id);
    e.json = envelope(e, now, false, &data);
    out.push_back(std::move(e));
}

nlohmann::json Machine::lookup(const Instance& in, std::string_view path) const {
    // "$.id", "$.data...", "$.steps..." without copying the instance into a context document
    std::string_view p = path.substr(2);
    auto under = [&](std::string_view root, const nlohmann::json& doc) -> std::optional<nlohmann::json> {
        if (p == root) return doc;
        if (p.size() > root.size() && p.substr(0, root.size()) == root && (p[root.size()] == '.' || p[root.size()] == '/'))
            return value_at(doc, p.substr(root.size() + 1));
        return std::nullopt;
    };
    if (p == "id") return in.id;
    if (auto v = under("data", in.data)) return *v;
    if (auto v = under("steps", in.replies)) return *v;
    return nullptr;
}

void Machine::command(Instance& in, const Command& c, Emitted::Flow flow, int step, const std::string& id, Micros now,
                      std::vector<Emitted>& out) const {
    Emitted e;
    e.flow = flow;
    e.topic = c.topic.value;
    e.type = c.type.value;
    e.subject = in.id;
    e.id = id;
    e.step = step;
    nlohmann::json data;
    if (!c.data.is_null()) data = resolve_template(c.data, [&](std::string_view path) { return lookup(in, path); });
    e.json = envelope(e, now, true, c.data.is_null() ? nullptr : &data);
    out.push_back(std::move(e));
}

void Machine::send(Instance& in, int step, std::uint32_t attempt, Micros now, std::vector<Emitted>& out) const {
    const Step& s = d_.steps[step];
    std::string id = fmt::format("{}/{}/{}/{}", d_.name.value, in.id, s.id.value, attempt);
    nlohmann::json data = {{"step", s.id.value}, {"attempt", attempt}, {"type", s.command.type.value}, {"command", id}};
    data["deadline"] = s.timeout ? now + *s.timeout : 0;
    state(in, "CommandSent", data, now, out);
    command(in, s.command, Emitted::Flow::command, step, id, now, out);
}

Instance Machine::start(const std::string& id, const nlohmann::json& start_event, Micros now,
                        std::vector<Emitted>& out) const {
    Instance in;
    in.id = id;
    nlohmann::json data = {{"saga", d_.name.value}, {"version", d_.version}};
    data["data"] = start_event.contains("data") ? start_event["data"] : nlohmann::json();
    if (start_event.contains("id")) data["cause"] = start_event["id"];
    state(in, "SagaStarted", data, now, out);
    if (!d_.steps.empty()) send(in, 0, 1, now, out);
    return in;
}

bool Machine::reply(Instance& in, std::string_view topic, std::string_view type, const nlohmann::json& data, Micros now,
                    std::vector<Emitted>& out) const {
    if (in.phase != Phase::awaiting && in.phase != Phase::retry_wait) return false;
    const Step& s = d_.steps[in.step];
    if (topic != s.reply_topic.value) return false;
    if (type == s.ok.value) {
        nlohmann::json ev = {{"step", s.id.value}, {"attempt", in.attempt}, {"reply", std::string(type)}};
        ev["data"] = data;
        state(in, "StepCompleted", ev, now, out);
        if (static_cast<std::size_t>(in.step) + 1 < d_.steps.size())
            send(in, in.step + 1, 1, now, out);
        else
            state(in, "SagaCompleted", nlohmann::json::object(), now, out);
        return true;
    }
    bool failure = std::any_of(s.fail.begin(), s.fail.end(), [&](const Named& f) { return f.value == type; });
    if (!failure) return false;
    // a failure reply while waiting to retry is a late answer to an attempt already given up on
    if (in.phase == Phase::retry_wait) return false;
    fail(in, false, type, now, out);
    return true;
}

void Machine::fail(Instance& in, bool timeout, std::string_view reply, Micros now, std::vector<Emitted>& out) const {
    const Step& s = d_.steps[in.step];
    nlohmann::json ev = {{"step", s.id.value}, {"attempt", in.attempt}, {"reason", timeout ? "timeout" : "reply"}};
    if (!reply.empty()) ev["reply"] = std::string(reply);
    bool retry = timeout || s.kind == Kind::retriable;
    if (retry && (s.retry.max_attempts == 0 || in.attempt < s.retry.max_attempts)) {
        Micros at = now + std::max<Micros>(1, retry_interval(s.retry, in.attempt + 1));
        ev["retry_at"] = at;
        state(in, "StepFailed", ev, now, out);
        return;
    }
    state(in, "StepFailed", ev, now, out);
    if (s.kind == Kind::retriable) {
        state(in, "SagaAborted", {{"status", "stuck"}, {"step", s.id.value}, {"compensated", nlohmann::json::array()}},
              now, out);
        return;
    }
    nlohmann::json compensated = nlohmann::json::array();
    std::vector<int> done = in.done;
    for (auto it = done.rbegin(); it != done.rend(); ++it) {
        const Step& c = d_.steps[*it];
        if (c.kind != Kind::compensatable || !c.compensation.present) continue;
        std::string id = fmt::format("{}/{}/{}/compensation", d_.name.value, in.id, c.id.value);
        state(in, "CompensationSent", {{"step", c.id.value}, {"type", c.compensation.type.value}, {"command", id}}, now,
              out);
        command(in, c.compensation, Emitted::Flow::compensation, *it, id, now, out);
        compensated.push_back(c.id.value);
    }
    if (d_.start_compensation.present) {
        std::string id = fmt::format("{}/{}/start/compensation", d_.name.value, in.id);
        state(in, "CompensationSent", {{"step", "start"}, {"type", d_.start_compensation.type.value}, {"command", id}},
              now, out);
        command(in, d_.start_compensation, Emitted::Flow::compensation, -1, id, now, out);
        compensated.push_back("start");
    }
    state(in, "SagaAborted", {{"status", "compensated"}, {"step", s.id.value}, {"compensated", compensated}}, now, out);
}

bool Machine::tick(Instance& in, Micros now, std::vector<Emitted>& out) const {
    if (in.due == 0 || now < in.due) return false;
    if (in.phase == Phase::awaiting) {
        fail(in, true, {}, now, out);
        // a retry with no interval left to wait goes out at once
        if (in.phase == Phase::retry_wait && in.due <= now) send(in, in.step, in.attempt + 1, now, out);
        return true;
    }
    if (in.phase == Phase::retry_wait) {
        send(in, in.step, in.attempt + 1, now, out);
        return true;
    }
    return false;
}

std::string Machine::correlation_of_start(const nlohmann::json& event) const {
    try {
        nlohmann::json::json_pointer p(d_.correlate_pointer);
        if (!event.contains(p)) return {};
        const auto& v = event.at(p);
        if (v.is_string()) return v.get<std::string>();
        if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
        return {};
    } catch (const nlohmann::json::exception&) {
        return {};
    }
}

}  // namespace evt::saga
