#include "core/saga/definition.hpp"

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "core/event/codec.hpp"

namespace evt::saga {

std::string_view kind_name(Kind k) {
    switch (k) {
        case Kind::compensatable: return "compensatable";
        case Kind::pivot: return "pivot";
        case Kind::retriable: return "retriable";
    }
    return "?";
}

int Definition::step_index(std::string_view id) const {
    for (std::size_t i = 0; i < steps.size(); ++i)
        if (steps[i].id.value == id) return static_cast<int>(i);
    return -1;
}

namespace {

void add_unique(std::vector<std::string>& v, const std::string& s) {
    if (s.empty()) return;
    for (const auto& x : v)
        if (x == s) return;
    v.push_back(s);
}

}  // namespace

std::vector<std::string> Definition::input_topics() const {
    std::vector<std::string> v;
    add_unique(v, start_topic.value);
    for (const auto& s : steps) add_unique(v, s.reply_topic.value);
    return v;
}

std::vector<std::string> Definition::output_topics() const {
    std::vector<std::string> v;
    add_unique(v, start_compensation.topic.value);
    for (const auto& s : steps) {
        add_unique(v, s.command.topic.value);
        add_unique(v, s.compensation.topic.value);
    }
    return v;
}

namespace {

Where where(const YAML::Node& n) {
    auto m = n.Mark();
    if (m.line < 0) return {};
    return {static_cast<std::uint32_t>(m.line + 1), static_cast<std::uint32_t>(m.column + 1)};
}

// Reads one document, collecting shape problems.
class Reader {
public:
    std::vector<Problem> problems;

    void problem(const YAML::Node& n, std::string message) { problems.push_back({where(n), "saga/schema", std::move(message)}); }
    void problem(Where at, std::string message) { problems.push_back({at, "saga/schema", std::move(message)}); }

    // Flags keys not in `known`.
    void keys(const YAML::Node& map, std::initializer_list<std::string_view> known, std::string_view what) {
        for (auto it = map.begin(); it != map.end(); ++it) {
            std::string k = it->first.Scalar();
            bool ok = false;
            for (auto kk : known) ok = ok || kk == k;
            if (!ok) problem(it->first, fmt::format("unknown key '{}' in {}", k, what));
        }
    }

    bool string(const YAML::Node& map, const char* key, Named& out, bool required, std::string_view what) {
        YAML::Node n = map[key];
        if (!n) {
            if (required) problem(map, fmt::format("{} has no '{}'", what, key));
            return false;
        }
        if (!n.IsScalar() || n.Scalar().empty()) {
            problem(n, fmt::format("'{}' of {} must be a non-empty string", key, what));
            return false;
        }
        out = {n.Scalar(), where(n)};
        return true;
    }

    std::optional<Micros> duration(const YAML::Node& n, std::string_view what) {
        if (!n.IsScalar()) {
            problem(n, fmt::format("{} must be a duration such as 30s", what));
            return std::nullopt;
        }
        auto d = parse_duration(n.Scalar());
        if (!d.ok() || *d <= 0) {
            problem(n, fmt::format("{} '{}' is not a positive duration (500ms, 30s, 5m)", what, n.Scalar()));
            return std::nullopt;
        }
        return *d;
    }

    nlohmann::json to_json(const YAML::Node& n) {
        if (n.IsMap()) {
            nlohmann::json o = nlohmann::json::object();
            for (auto it = n.begin(); it != n.end(); ++it) o[it->first.Scalar()] = to_json(it->second);
            return o;
        }
        if (n.IsSequence()) {
            nlohmann::json a = nlohmann::json::array();
            for (const auto& e : n) a.push_back(to_json(e));
            return a;
        }
        if (!n.IsScalar()) return nullptr;
        const std::string& s = n.Scalar();
        if (n.Tag() == "!") return s;  // quoted: a string
        if (s == "null" || s == "~") return nullptr;
        if (s == "true") return true;
        if (s == "false") return false;
        char* end = nullptr;
        errno = 0;
        long long i = std::strtoll(s.c_str(), &end, 10);
        if (!s.empty() && *end == '\0' && errno == 0) return i;
        double d = std::strtod(s.c_str(), &end);
        if (!s.empty() && *end == '\0' && std::isfinite(d)) return d;
        return s;
    }

    Command command(const YAML::Node& n, std::string_view what) {
        Command c;
        c.at = where(n);
        if (!n.IsMap()) {
            problem(n, fmt::format("{} must be a mapping with topic, type and data", what));
            return c;
        }
        keys(n, {"topic", "type", "data"}, what);
        c.present = true;
        string(n, "topic", c.topic, true, what);
        string(n, "type", c.type, true, what);
        if (n["data"]) c.data = to_json(n["data"]);
        return c;
    }

    void retry(const YAML::Node& n, Retry& r) {
        r.at = where(n);
        if (!n.IsMap()) {
            problem(n, "retry must be a mapping (initial, backoff, max_interval, max_attempts)");
            return;
        }
        keys(n, {"initial", "backoff", "max_interval", "max_attempts"}, "retry");
        if (n["initial"])
            if (auto d = duration(n["initial"], "retry.initial")) r.initial = *d;
        if (n["max_interval"])
            if (auto d = duration(n["max_interval"], "retry.max_interval")) r.max_interval = *d;
        if (auto b = n["backoff"]) {
            char* end = nullptr;
            double v = b.IsScalar() ? std::strtod(b.Scalar().c_str(), &end) : 0;
            if (!b.IsScalar() || *end != '\0' || !(v >= 1.0) || v > 100)
                problem(b, "retry.backoff must be a number from 1 to 100");
            else
                r.backoff = v;
        }
        if (auto m = n["max_attempts"]) {
            char* end = nullptr;
            long v = m.IsScalar() ? std::strtol(m.Scalar().c_str(), &end, 10) : -1;
            if (!m.IsScalar() || *end != '\0' || v < 0 || v > 1000000)
                problem(m, "retry.max_attempts must be a whole number (0: unlimited)");
            else
                r.max_attempts = static_cast<std::uint32_t>(v);
        }
    }

    Step step(const YAML::Node& n, const Definition& d) {
        Step s;
        s.at = where(n);
        s.retry = d.default_retry;
        if (!n.IsMap()) {
            problem(n, "a step must be a mapping");
            return s;
        }
        keys(n, {"id", "kind", "command", "reply", "compensation", "timeout", "retry", "description"}, "a step");
        std::string what = "a step";
        if (string(n, "id", s.id, true, "a step")) what = fmt::format("step '{}'", s.id.value);
        if (auto k = n["kind"]) {
            s.kind_at = where(k);
            std::string v = k.IsScalar() ? k.Scalar() : "";
            if (v == "compensatable") s.kind = Kind::compensatable;
            else if (v == "pivot") s.kind = Kind::pivot;
            else if (v == "retriable") s.kind = Kind::retriable;
            else problem(k, fmt::format("kind of {} must be compensatable, pivot or retriable", what));
        } else {
            s.kind_at = s.id.at;
        }
        if (n["command"]) s.command = command(n["command"], fmt::format("the command of {}", what));
        else problem(n, fmt::format("{} has no 'command'", what));
        if (auto r = n["reply"]) {
            if (!r.IsMap()) {
                problem(r, fmt::format("the reply of {} must be a mapping with topic, ok and fail", what));
            } else {
                keys(r, {"topic", "ok", "fail"}, fmt::format("the reply of {}", what));
                string(r, "topic", s.reply_topic, true, fmt::format("the reply of {}", what));
                string(r, "ok", s.ok, false, fmt::format("the reply of {}", what));
                if (auto f = r["fail"]) {
                    if (f.IsScalar()) {
                        s.fail.push_back({f.Scalar(), where(f)});
                    } else if (f.IsSequence()) {
                        for (const auto& e : f) {
                            if (e.IsScalar() && !e.Scalar().empty()) s.fail.push_back({e.Scalar(), where(e)});
                            else problem(e, "a failure reply must be an event type");
                        }
                    } else {
                        problem(f, "'fail' must be an event type or a list of them");
                    }
                }
            }
        } else {
            problem(n, fmt::format("{} has no 'reply'", what));
        }
        if (n["compensation"]) s.compensation = command(n["compensation"], fmt::format("the compensation of {}", what));
        if (auto t = n["timeout"]) {
            s.timeout_at = where(t);
            s.timeout = duration(t, "timeout");
        }
        if (auto r = n["retry"]) {
            s.retry_given = true;
            retry(r, s.retry);
        }
        if (!s.timeout && d.default_timeout) s.timeout = d.default_timeout;
        return s;
    }

    Definition definition(const YAML::Node& root, std::string file) {
        Definition d;
        d.file = std::move(file);
        if (!root.IsMap()) {
            problem(root, "a saga definition is a mapping (saga, start, steps)");
            return d;
        }
        keys(root, {"saga", "version", "description", "start", "correlate_by", "state_topic", "defaults", "steps"},
             "the saga");
        if (string(root, "saga", d.name, true, "the saga") && !valid_name(d.name.value))
            problem(d.name.at, fmt::format("saga name '{}' may use letters, digits, '.', '_' and '-'", d.name.value));
        if (auto v = root["version"]) {
            char* end = nullptr;
            long x = v.IsScalar() ? std::strtol(v.Scalar().c_str(), &end, 10) : 0;
            if (!v.IsScalar() || *end != '\0' || x < 1) problem(v, "version must be a whole number from 1");
            else d.version = static_cast<std::uint32_t>(x);
        }
        if (auto s = root["start"]) {
            if (!s.IsMap()) {
                problem(s, "start must be a mapping with topic and type");
            } else {
                keys(s, {"topic", "type", "compensation"}, "start");
                string(s, "topic", d.start_topic, true, "start");
                string(s, "type", d.start_type, true, "start");
                if (s["compensation"]) d.start_compensation = command(s["compensation"], "the compensation of start");
            }
        } else {
            problem(root, "the saga has no 'start' (the topic and type of the event that starts an instance)");
        }
        if (auto c = root["correlate_by"]) {
            d.correlate_at = where(c);
            auto p = c.IsScalar() ? event::to_json_pointer(c.Scalar()) : Result<std::string>(Error{ErrorKind::usage, ""});
            if (!p.ok() || *p == "" || *p == "/") problem(c, "correlate_by must be a path into the start event such as data.orderId");
            else {
                d.correlate_by = c.Scalar();
                d.correlate_pointer = *p;
            }
        }
        d.state_topic = "saga." + d.name.value;
        if (auto t = root["state_topic"]) {
            if (t.IsScalar() && valid_name(t.Scalar())) d.state_topic = t.Scalar();
            else problem(t, "state_topic must be a topic name");
        }
        if (auto df = root["defaults"]) {
            if (!df.IsMap()) {
                problem(df, "defaults must be a mapping (timeout, retry)");
            } else {
                keys(df, {"timeout", "retry"}, "defaults");
                if (df["timeout"]) d.default_timeout = duration(df["timeout"], "defaults.timeout");
                if (df["retry"]) retry(df["retry"], d.default_retry);
            }
        }
        auto steps = root["steps"];
        d.steps_at = steps ? where(steps) : where(root);
        if (!steps || !steps.IsSequence() || steps.size() == 0) {
            problem(steps ? steps : root, "the saga needs 'steps': a non-empty list");
        } else {
            for (const auto& s : steps) d.steps.push_back(step(s, d));
        }
        std::set<std::string> ids;
        for (const auto& s : d.steps) {
            if (s.id.value.empty()) continue;
            if (!ids.insert(s.id.value).second) problem(s.id.at, fmt::format("step id '{}' is used twice", s.id.value));
            else if (!valid_name(s.id.value) || s.id.value == "start")
                problem(s.id.at, fmt::format("step id '{}' may use letters, digits, '_' and '-' (and is not 'start')",
                                             s.id.value));
        }
        for (const auto& t : d.input_topics())
            if (!valid_name(t)) problem(root, fmt::format("'{}' is not a topic name", t));
        for (const auto& t : d.output_topics())
            if (!valid_name(t)) problem(root, fmt::format("'{}' is not a topic name", t));
        return d;
    }

    static bool valid_name(std::string_view s) {
        if (s.empty() || s.size() > 200) return false;
        for (char c : s)
            if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) return false;
        return true;
    }
};

}  // namespace

Result<Parsed> parse_definition(std::string_view text, std::string file) {
    YAML::Node root;
    try {
        root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
        return make_error(ErrorKind::invalid, "{}:{}:{}: not YAML: {}", file, e.mark.line + 1, e.mark.column + 1, e.msg);
    }
    Reader r;
    Parsed p;
    try {
        p.def = r.definition(root, std::move(file));
    } catch (const YAML::Exception& e) {
        return make_error(ErrorKind::invalid, "{}:{}:{}: {}", p.def.file, e.mark.line + 1, e.mark.column + 1, e.msg);
    }
    p.problems = std::move(r.problems);
    return p;
}

Result<Parsed> load_definition(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        if (errno == ENOENT) return make_error(ErrorKind::not_found, "{}: no such file", path);
        return make_error(ErrorKind::io, "{}: cannot read: {}", path, std::strerror(errno));
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) return make_error(ErrorKind::io, "{}: read error", path);
    return parse_definition(ss.str(), path);
}

nlohmann::json value_at(const nlohmann::json& doc, std::string_view path) {
    std::string p(path);
    if (p.rfind("$.", 0) == 0) p = p.substr(2);
    else if (p == "$") return doc;
    auto ptr = event::to_json_pointer(p);
    if (!ptr.ok()) return nullptr;
    try {
        nlohmann::json::json_pointer jp(*ptr);
        if (!doc.contains(jp)) return nullptr;
        return doc.at(jp);
    } catch (const nlohmann::json::exception&) {
        return nullptr;
    }
}

nlohmann::json resolve_template(const nlohmann::json& tmpl,
                                const std::function<nlohmann::json(std::string_view path)>& lookup) {
    if (tmpl.is_string()) {
        const auto& s = tmpl.get_ref<const std::string&>();
        if (s.rfind("$.", 0) == 0) return lookup(s);
        return tmpl;
    }
    if (tmpl.is_object()) {
        nlohmann::json o = nlohmann::json::object();
        for (auto it = tmpl.begin(); it != tmpl.end(); ++it) o[it.key()] = resolve_template(it.value(), lookup);
        return o;
    }
    if (tmpl.is_array()) {
        nlohmann::json a = nlohmann::json::array();
        for (const auto& e : tmpl) a.push_back(resolve_template(e, lookup));
        return a;
    }
    return tmpl;
}

nlohmann::json resolve_template(const nlohmann::json& tmpl, const nlohmann::json& context) {
    return resolve_template(tmpl, [&](std::string_view path) { return value_at(context, path); });
}

Micros retry_interval(const Retry& r, std::uint32_t next) {
    if (next < 2) return 0;
    double v = static_cast<double>(r.initial) * std::pow(r.backoff, static_cast<double>(next - 2));
    if (v > static_cast<double>(r.max_interval)) return r.max_interval;
    return static_cast<Micros>(v);
}

}  // namespace evt::saga
