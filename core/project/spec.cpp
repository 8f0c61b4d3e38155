#include "core/project/spec.hpp"

#include "core/util/hash.hpp"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <fstream>
#include <sstream>

namespace evt::project {

namespace {

constexpr std::string_view kOps[] = {"set", "unset", "inc", "dec", "push", "add", "pull", "min", "max", "delete"};

struct Ctx {
    std::string file;
    Mark at(const YAML::Node& n) const {
        auto m = n.Mark();
        return Mark{file, m.line + 1, m.column + 1};
    }
    template <class... Args>
    Error err(const YAML::Node& n, fmt::format_string<Args...> f, Args&&... args) const {
        return Error{ErrorKind::invalid, at(n).str() + ": " + fmt::format(f, std::forward<Args>(args)...)};
    }
};

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

// A plain YAML scalar as JSON: numbers, booleans and null by YAML 1.2 core
// rules; quoted scalars are always strings.
nlohmann::json scalar_json(const YAML::Node& n) {
    const std::string& s = n.Scalar();
    if (n.Tag() == "!") return s;
    if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
    std::int64_t i;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
    if (ec == std::errc() && p == s.data() + s.size()) return i;
    double d;
    auto [p2, ec2] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (ec2 == std::errc() && p2 == s.data() + s.size() && s.find_first_of("0123456789") != std::string::npos) return d;
    return s;
}

Result<nlohmann::json> node_json(const Ctx& c, const YAML::Node& n) {
    if (n.IsScalar()) return scalar_json(n);
    if (n.IsNull()) return nlohmann::json(nullptr);
    if (n.IsSequence()) {
        nlohmann::json a = nlohmann::json::array();
        for (const auto& e : n) {
            EVT_ASSIGN(auto v, node_json(c, e));
            a.push_back(std::move(v));
        }
        return a;
    }
    if (n.IsMap()) {
        nlohmann::json o = nlohmann::json::object();
        for (const auto& kv : n) {
            EVT_ASSIGN(auto v, node_json(c, kv.second));
            o[kv.first.Scalar()] = std::move(v);
        }
        return o;
    }
    return c.err(n, "unsupported YAML value");
}

Result<Path> path_at(const Ctx& c, const YAML::Node& n, bool allow_row) {
    if (!n.IsScalar()) return c.err(n, "a path must be a string such as 'subject' or 'data.customer_id'");
    auto p = parse_path(n.Scalar(), allow_row);
    if (!p.ok()) return c.err(n, "{}", p.error().message);
    return std::move(p).value();
}

Result<Expr> expr_at(const Ctx& c, const YAML::Node& n) {
    Expr e;
    if (n.IsScalar() && !n.Scalar().empty() && n.Scalar()[0] == '$') {
        std::string_view s = n.Scalar();
        if (s.size() > 1 && s[1] == '$') {  // "$$x": the literal "$x"
            e.literal = std::string(s.substr(1));
            return e;
        }
        auto p = parse_path(s.substr(1), false);
        if (!p.ok()) return c.err(n, "{}", p.error().message);
        e.is_path = true;
        e.path = std::move(p).value();
        return e;
    }
    EVT_ASSIGN(e.literal, node_json(c, n));
    return e;
}

Result<std::vector<Cond>> conds_at(const Ctx& c, const YAML::Node& n) {
    if (!n.IsMap()) return c.err(n, "'when' must be a map of path: value (e.g. when: {{data.reason: fraud}})");
    std::vector<Cond> out;
    for (const auto& kv : n) {
        Cond cond;
        cond.mark = c.at(kv.first);
        std::string key = kv.first.Scalar();
        if (!key.empty() && key[0] == '$') key.erase(0, 1);
        auto p = parse_path(key, true);
        if (!p.ok()) return c.err(kv.first, "{}", p.error().message);
        cond.path = std::move(p).value();
        const YAML::Node& v = kv.second;
        if (v.IsMap()) {
            if (v.size() != 1)
                return c.err(v, "a condition takes one comparison: eq, ne, gt, ge, lt, le, in or exists");
            auto it = v.begin();
            std::string cmp = it->first.Scalar();
            static const std::pair<std::string_view, Cond::Cmp> cmps[] = {
                {"eq", Cond::Cmp::eq}, {"ne", Cond::Cmp::ne}, {"gt", Cond::Cmp::gt}, {"ge", Cond::Cmp::ge},
                {"lt", Cond::Cmp::lt}, {"le", Cond::Cmp::le}, {"in", Cond::Cmp::in}, {"exists", Cond::Cmp::exists}};
            bool known = false;
            for (auto& [name, k] : cmps)
                if (cmp == name) {
                    cond.cmp = k;
                    known = true;
                }
            if (!known)
                return c.err(it->first, "unknown comparison '{}' (expected eq, ne, gt, ge, lt, le, in or exists)",
                             cmp);
            EVT_ASSIGN(cond.value, node_json(c, it->second));
            if (cond.cmp == Cond::Cmp::in && !cond.value.is_array())
                return c.err(it->second, "'in' takes a list of values");
            if (cond.cmp == Cond::Cmp::exists && !cond.value.is_boolean())
                return c.err(it->second, "'exists' takes true or false");
        } else {
            EVT_ASSIGN(cond.value, node_json(c, v));
        }
        out.push_back(std::move(cond));
    }
    return out;
}

Result<Op> op_at(const Ctx& c, OpKind kind, const YAML::Node& key, const YAML::Node& v) {
    Op op;
    op.kind = kind;
    op.mark = c.at(key);
    if (kind == OpKind::del) {
        if (!v.IsScalar() || scalar_json(v) != nlohmann::json(true))
            return c.err(v, "'delete' takes true (it deletes the row)");
        return op;
    }
    if (kind == OpKind::unset) {
        if (v.IsScalar()) op.names.push_back(v.Scalar());
        else if (v.IsSequence())
            for (const auto& e : v) {
                if (!e.IsScalar()) return c.err(e, "'unset' takes field names");
                op.names.push_back(e.Scalar());
            }
        else return c.err(v, "'unset' takes a field name or a list of them");
        return op;
    }
    if (!v.IsMap())
        return c.err(v, "'{}' takes a map of field: value (e.g. {}: {{total: $data.amount}})", op_name(kind),
                     op_name(kind));
    for (const auto& kv : v) {
        if (!kv.first.IsScalar() || kv.first.Scalar().empty()) return c.err(kv.first, "a field name must be a string");
        const std::string& f = kv.first.Scalar();
        if (f == "key") return c.err(kv.first, "the field name 'key' is reserved for the row key");
        EVT_ASSIGN(Expr e, expr_at(c, kv.second));
        if ((kind == OpKind::inc || kind == OpKind::dec) && !e.is_path && !e.literal.is_number())
            return c.err(kv.second, "'{}' takes a number or a $path, not {}", op_name(kind), e.literal.dump());
        op.fields.emplace_back(f, std::move(e));
    }
    return op;
}

Result<std::vector<Op>> ops_at(const Ctx& c, const YAML::Node& list) {
    if (!list.IsSequence()) return c.err(list, "a handler is a list of operations (- set: ...)");
    std::vector<Op> out;
    for (const auto& item : list) {
        if (!item.IsMap()) return c.err(item, "an operation is a map such as {{inc: {{count: 1}}}}");
        std::vector<Cond> when;
        if (item["when"]) {
            EVT_ASSIGN(when, conds_at(c, item["when"]));
        }
        std::size_t before = out.size();
        for (const auto& kv : item) {
            std::string k = kv.first.Scalar();
            if (k == "when") continue;
            int found = -1;
            for (int i = 0; i < static_cast<int>(std::size(kOps)); ++i)
                if (k == kOps[i]) found = i;
            if (found < 0)
                return c.err(kv.first,
                             "unknown operation '{}' (expected set, unset, inc, dec, push, add, pull, min, max, "
                             "delete or when)",
                             k);
            EVT_ASSIGN(Op op, op_at(c, static_cast<OpKind>(found), kv.first, kv.second));
            op.when = when;
            out.push_back(std::move(op));
        }
        if (out.size() == before) return c.err(item, "'when' without an operation");
    }
    return out;
}

Result<Table> table_at(const Ctx& c, const YAML::Node& n, std::string name) {
    Table t;
    t.name = std::move(name);
    if (!n["key"]) return c.err(n, "missing 'key' (the row key: a path such as subject or data.customer_id)");
    t.key_mark = c.at(n["key"]);
    EVT_ASSIGN(t.key, path_at(c, n["key"], false));
    if (!n["on"]) return c.err(n, "missing 'on' (per event type, the operations on the row)");
    const YAML::Node& on = n["on"];
    if (!on.IsMap()) return c.err(on, "'on' must be a map of event type: [operations]");
    for (const auto& kv : on) {
        Handler h;
        h.pattern = kv.first.Scalar();
        if (h.pattern.empty()) return c.err(kv.first, "an event type must not be empty");
        h.glob = h.pattern.find_first_of("*?[") != std::string::npos;
        EVT_ASSIGN(h.ops, ops_at(c, kv.second));
        t.on.push_back(std::move(h));
    }
    for (const auto& kv : n) {
        std::string k = kv.first.Scalar();
        if (t.name.empty()) break;  // the root: parse_root checks its fields
        if (k != "key" && k != "on") return c.err(kv.first, "unknown field '{}' (expected key, on)", k);
    }
    return t;
}

Result<std::vector<std::string>> strings_at(const Ctx& c, const YAML::Node& n, std::string_view what) {
    std::vector<std::string> out;
    if (n.IsScalar()) out.push_back(n.Scalar());
    else if (n.IsSequence())
        for (const auto& e : n) {
            if (!e.IsScalar()) return c.err(e, "'{}' takes strings", what);
            out.push_back(e.Scalar());
        }
    else return c.err(n, "'{}' takes a string or a list of strings", what);
    return out;
}

Result<Spec> parse_root(const Ctx& c, const YAML::Node& root) {
    Spec s;
    s.file = c.file;
    if (!root.IsMap()) return c.err(root, "a projection spec is a YAML map (name, source, key, on)");
    for (const auto& kv : root) {
        std::string k = kv.first.Scalar();
        if (k != "name" && k != "source" && k != "key" && k != "on" && k != "aggregates" && k != "description")
            return c.err(kv.first, "unknown field '{}' (expected name, description, source, key, on, aggregates)", k);
    }
    if (!root["name"] || !root["name"].IsScalar()) return c.err(root, "missing 'name' (the read model's name)");
    s.name = root["name"].Scalar();
    if (auto st = check_model_name(s.name); !st.ok()) return c.err(root["name"], "{}", st.error().message);
    const YAML::Node& src = root["source"];
    if (!src) return c.err(root, "missing 'source' (source: {{topic: orders}})");
    if (src.IsScalar()) {
        s.topics.push_back(src.Scalar());
    } else if (src.IsMap()) {
        for (const auto& kv : src) {
            std::string k = kv.first.Scalar();
            if (k == "topic" || k == "topics") {
                EVT_ASSIGN(auto t, strings_at(c, kv.second, k));
                s.topics.insert(s.topics.end(), t.begin(), t.end());
            } else if (k == "types") {
                EVT_ASSIGN(s.types, strings_at(c, kv.second, k));
            } else {
                return c.err(kv.first, "unknown field '{}' in source (expected topic, topics, types)", k);
            }
        }
    } else {
        return c.err(src, "'source' must be a topic name or a map");
    }
    if (s.topics.empty()) return c.err(src, "source names no topic");
    EVT_ASSIGN(Table main, table_at(c, root, ""));
    s.tables.push_back(std::move(main));
    if (const YAML::Node& ag = root["aggregates"]) {
        if (!ag.IsMap()) return c.err(ag, "'aggregates' must be a map of name: {{key, on}}");
        for (const auto& kv : ag) {
            std::string name = kv.first.Scalar();
            bool ok = !name.empty();
            for (char ch : name) ok = ok && is_name_char(ch);
            if (!ok) return c.err(kv.first, "an aggregate name is letters, digits, '_' and '-'");
            if (!kv.second.IsMap()) return c.err(kv.second, "an aggregate is a map with key and on");
            EVT_ASSIGN(Table t, table_at(c, kv.second, name));
            s.tables.push_back(std::move(t));
        }
    }
    std::stringstream canon;
    canon << YAML::Dump(root);
    s.hash = hash64(canon.str());
    return s;
}

}  // namespace

std::string_view op_name(OpKind k) { return kOps[static_cast<int>(k)]; }

Status check_model_name(std::string_view name) {
    if (name.empty() || name.size() > 200)
        return Error{ErrorKind::invalid, "a read model's name is 1 to 200 letters, digits, '_' and '-'"};
    for (char ch : name)
        if (!is_name_char(ch))
            return make_error(ErrorKind::invalid, "bad read model name '{}': use letters, digits, '_' and '-'", name);
    return {};
}

Result<Path> parse_path(std::string_view text, bool allow_row) {
    Path p;
    p.text = std::string(text);
    auto bad = [&](std::string_view why) {
        return make_error(ErrorKind::invalid, "bad path '{}': {}", text, why);
    };
    if (text.empty()) return bad("empty");
    std::size_t i = 0;
    std::string name;
    bool need_name = true;
    while (i < text.size()) {
        char ch = text[i];
        if (ch == '.') {
            if (need_name) return bad("a name is missing before '.'");
            need_name = true;
            ++i;
        } else if (ch == '[') {
            if (need_name) return bad("'[' must follow a name");
            std::size_t close = text.find(']', i);
            if (close == std::string_view::npos) return bad("'[' without ']'");
            std::string_view inside = text.substr(i + 1, close - i - 1);
            bool slice = !inside.empty() && inside[0] == ':';
            if (slice) inside.remove_prefix(1);
            std::int64_t n = -1;
            auto [e, ec] = std::from_chars(inside.data(), inside.data() + inside.size(), n);
            if (inside.empty() || ec != std::errc() || e != inside.data() + inside.size() || n < 0)
                return bad("expected [N] (an index) or [:N] (a prefix)");
            if (slice) {
                if (close + 1 != text.size()) return bad("[:N] must come last");
                p.prefix = static_cast<int>(n);
            } else {
                p.segs.push_back({"", n});
            }
            i = close + 1;
        } else {
            if (!need_name) return bad("expected '.' or '['");
            std::size_t j = i;
            while (j < text.size() && text[j] != '.' && text[j] != '[') {
                char c = text[j];
                if (c == ']' || c == ' ' || c == '$' || c == '"') return bad(fmt::format("unexpected '{}'", c));
                ++j;
            }
            p.segs.push_back({std::string(text.substr(i, j - i)), -1});
            need_name = false;
            i = j;
        }
    }
    if (need_name) return bad("ends with '.'");
    if (p.segs[0].name == "row") {
        if (!allow_row) return bad("'row.' paths are allowed only in 'when' conditions");
        p.row = true;
        p.segs.erase(p.segs.begin());
        if (p.segs.empty()) return bad("'row' needs a field: row.status");
    } else if (p.segs.size() == 1) {
        static const std::pair<std::string_view, Path::Virtual> virts[] = {
            {"evttopic", Path::Virtual::topic},   {"evtpartition", Path::Virtual::partition},
            {"evtoffset", Path::Virtual::offset}, {"evttime", Path::Virtual::time},
            {"evtversion", Path::Virtual::version}, {"type", Path::Virtual::type}};
        for (auto& [n, v] : virts)
            if (p.segs[0].name == n) p.virt = v;
    }
    return p;
}

Result<Spec> parse_spec(std::string_view text, const std::string& file) {
    Ctx c{file};
    try {
        YAML::Node root = YAML::Load(std::string(text));
        return parse_root(c, root);
    } catch (const YAML::Exception& e) {
        return make_error(ErrorKind::invalid, "{}:{}:{}: {}", file, e.mark.line + 1, e.mark.column + 1, e.msg);
    }
}

Result<Spec> load_spec(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return make_error(ErrorKind::not_found, "cannot open spec '{}'", file);
    std::stringstream ss;
    ss << in.rdbuf();
    return parse_spec(ss.str(), file);
}

}  // namespace evt::project
