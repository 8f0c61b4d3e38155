#include "core/lint/config.hpp"

#include <filesystem>

#include "core/lint/catalog.hpp"
#include "core/lint/document.hpp"
#include "core/lint/rules.hpp"

namespace evt::lint {

namespace fs = std::filesystem;

const std::vector<std::string>* RuleOptions::list(std::string_view key) const {
    auto it = values.find(std::string(key));
    return it == values.end() ? nullptr : &it->second;
}

std::string RuleOptions::get(std::string_view key) const {
    auto* l = list(key);
    return l && !l->empty() ? l->front() : std::string();
}

bool glob_match(std::string_view p, std::string_view s) {
    if (p.empty()) return s.empty();
    if (p.substr(0, 2) == "**") {
        std::string_view rest = p.substr(2);
        if (!rest.empty() && rest[0] == '/') {
            // "**/" matches zero or more whole segments.
            if (glob_match(rest.substr(1), s)) return true;
        }
        for (std::size_t i = 0; i <= s.size(); ++i)
            if (glob_match(rest, s.substr(i))) return true;
        return false;
    }
    if (p[0] == '*') {
        for (std::size_t i = 0; i <= s.size(); ++i) {
            if (glob_match(p.substr(1), s.substr(i))) return true;
            if (i < s.size() && s[i] == '/') break;
        }
        return false;
    }
    if (s.empty()) return false;
    if (p[0] == '?' ? s[0] != '/' : p[0] == s[0]) return glob_match(p.substr(1), s.substr(1));
    return false;
}

namespace {

std::string relative_to(const std::string& file, const std::string& dir) {
    if (file == "<stdin>" || dir.empty()) return file;
    std::error_code ec;
    fs::path abs = fs::absolute(file, ec).lexically_normal();
    fs::path rel = abs.lexically_relative(fs::path(dir));
    std::string r = rel.generic_string();
    if (r.empty() || r.rfind("..", 0) == 0) return file;
    return r;
}

bool file_matches(std::string_view pattern, const std::string& file, const std::string& dir) {
    std::string rel = relative_to(file, dir);
    if (glob_match(pattern, rel) || glob_match(pattern, file)) return true;
    if (pattern.find('/') == std::string_view::npos) return glob_match(pattern, fs::path(file).filename().string());
    return false;
}

Severity preset_severity(const std::string& preset, std::string_view rule, Severity s) {
    if (preset == "strict") {
        if (s == Severity::warn) return Severity::error;
        if (s == Severity::info) return Severity::warn;
    }
    if ((preset == "all" || preset == "strict") && s == Severity::off && rule == "payload/required-fields")
        return Severity::warn;
    return s;
}

class ConfigParser {
public:
    ConfigParser(Config& cfg, std::string file) : cfg_(cfg), file_(std::move(file)) {}

    Status apply(const Document& doc, int depth) {
        Node root = doc.root();
        if (root.kind() == NodeKind::null) return {};
        if (!root.is_map()) return bad(root, "a config must be a mapping");
        for (std::size_t i = 0; i < root.size(); ++i) {
            std::string_view key = root.key(i).str();
            Node v = root.value(i);
            if (key == "extends") EVT_TRY(extends(v, depth));
            else if (key == "rules") EVT_TRY(rules(v, cfg_.rules));
            else if (key == "ignore") for (auto& g : string_list(v)) cfg_.ignore.push_back(g);
            else if (key == "overrides") EVT_TRY(overrides(v));
            else if (key == "naming") EVT_TRY(naming(v));
            else if (key == "vocabulary") EVT_TRY(vocabulary(v));
            else warn(root.key(i), fmt::format("unknown key '{}'", key));
        }
        return {};
    }

private:
    Error bad(Node at, std::string what) const {
        return make_error(ErrorKind::invalid, "{}:{}:{}: {}", file_, at.line(), at.column(), what);
    }
    void warn(Node at, std::string what) { cfg_.warnings.push_back(fmt::format("{}:{}:{}: {}", file_, at.line(), at.column(), what)); }

    Status extends(Node v, int depth) {
        for (std::size_t i = 0; i < (v.is_seq() ? v.size() : 1); ++i) {
            Node item = v.is_seq() ? v.item(i) : v;
            std::string name(item.str());
            if (name == "recommended" || name == "strict" || name == "all") {
                cfg_.preset = name;
                continue;
            }
            if (name.empty()) return bad(item, "'extends' takes recommended, strict, all or a file");
            if (depth > 8) return bad(item, "'extends' nests too deeply");
            fs::path base = fs::path(file_).parent_path() / name;
            auto text = read_file_text(base.string());
            if (!text.ok()) return bad(item, fmt::format("cannot extend '{}': {}", name, text.error().message));
            ParseFailure pf;
            auto doc = Document::parse(*text, pf);
            if (!doc) return make_error(ErrorKind::invalid, "{}:{}:{}: {}", base.string(), pf.line, pf.column, pf.message);
            ConfigParser inner(cfg_, base.string());
            EVT_TRY(inner.apply(*doc, depth + 1));
        }
        return {};
    }

    Status rule_setting(Node v, RuleSetting& out) {
        Node sev = v.is_seq() ? v.item(0) : v;
        if (sev.is_scalar()) {
            auto s = parse_severity(sev.str());
            if (!s) return bad(sev, fmt::format("unknown severity '{}' (error, warn, info, off)", sev.str()));
            out.severity = *s;
        }
        Node opts = v.is_seq() ? v.item(1) : (v.is_map() ? v : Node());
        for (std::size_t i = 0; i < opts.size(); ++i) {
            if (opts.key(i).str() == "severity") continue;
            out.options.values[std::string(opts.key(i).str())] = string_list(opts.value(i));
        }
        if (v.is_map() && v["severity"]) return rule_setting(v["severity"], out);
        return {};
    }

    Status rules(Node v, std::map<std::string, RuleSetting>& into) {
        if (v && !v.is_map()) return bad(v, "'rules' must be a mapping of rule ids");
        for (std::size_t i = 0; i < v.size(); ++i) {
            std::string id(v.key(i).str());
            if (!find_rule(id)) warn(v.key(i), fmt::format("unknown rule '{}'", id));
            EVT_TRY(rule_setting(v.value(i), into[id]));
        }
        return {};
    }

    Status overrides(Node v) {
        for (std::size_t i = 0; i < v.size(); ++i) {
            Override o;
            o.files = string_list(v.item(i)["files"]);
            if (o.files.empty()) return bad(v.item(i), "an override needs 'files'");
            EVT_TRY(rules(v.item(i)["rules"], o.rules));
            cfg_.overrides.push_back(std::move(o));
        }
        return {};
    }

    Status style(Node n, std::optional<Style>& out) {
        if (!n) return {};
        auto s = parse_style(n.str());
        if (!s)
            return bad(n, fmt::format("unknown naming style '{}' (PascalCase, camelCase, dot.case, kebab-case, "
                                      "snake_case, slash/case, reverse-dns)", n.str()));
        out = s;
        return {};
    }

    Status naming(Node v) {
        EVT_TRY(style(v["style"], cfg_.style));
        EVT_TRY(style(v["field-style"], cfg_.field_style));
        if (Node ns = v["namespace"]; ns.is_scalar()) cfg_.ns = std::string(ns.str());
        return {};
    }

    Status vocabulary(Node v) {
        for (std::size_t i = 0; i < v.size(); ++i)
            if (!cfg_.vocab.extend(v.key(i).str(), string_list(v.value(i))))
                warn(v.key(i), fmt::format("unknown vocabulary list '{}'", v.key(i).str()));
        return {};
    }

    Config& cfg_;
    std::string file_;
};

}  // namespace

Config default_config() {
    Config c;
    std::error_code ec;
    c.dir = fs::current_path(ec).string();
    return c;
}

Result<Config> load_config(const std::string& path) {
    EVT_ASSIGN(std::string text, read_file_text(path));
    Config cfg = default_config();
    cfg.path = path;
    std::error_code ec;
    cfg.dir = fs::absolute(path, ec).parent_path().lexically_normal().string();
    ParseFailure pf;
    auto doc = Document::parse(text, pf);
    if (!doc) return make_error(ErrorKind::invalid, "{}:{}:{}: {}", path, pf.line, pf.column, pf.message);
    ConfigParser parser(cfg, path);
    EVT_TRY(parser.apply(*doc, 0));
    return cfg;
}

std::string find_config(const std::string& start) {
    std::error_code ec;
    fs::path dir = fs::absolute(start, ec);
    while (true) {
        for (const char* name : {".evtlint.yaml", ".evtlint.yml"}) {
            fs::path p = dir / name;
            if (fs::is_regular_file(p, ec)) return p.string();
        }
        if (!dir.has_parent_path() || dir.parent_path() == dir) return {};
        dir = dir.parent_path();
    }
}

Config::Effective Config::resolve(std::string_view rule, Severity def, const std::string& file,
                                  std::string_view pointer) const {
    static const RuleOptions kNone;
    Effective e{preset_severity(preset, rule, def), &kNone};
    auto apply = [&](const std::map<std::string, RuleSetting>& m) {
        auto it = m.find(std::string(rule));
        if (it == m.end()) return;
        if (it->second.severity) e.severity = *it->second.severity;
        if (!it->second.options.values.empty()) e.options = &it->second.options;
    };
    apply(rules);
    for (const auto& o : overrides) {
        bool hit = false;
        for (const auto& f : o.files) {
            auto hash = f.find('#');
            std::string_view glob = std::string_view(f).substr(0, hash);
            if (!file_matches(glob, file, dir)) continue;
            if (hash == std::string::npos) { hit = true; break; }
            std::string_view want = std::string_view(f).substr(hash + 1);
            if (pointer.substr(0, want.size()) == want && (pointer.size() == want.size() || pointer[want.size()] == '/')) {
                hit = true;
                break;
            }
        }
        if (hit) apply(o.rules);
    }
    return e;
}

bool Config::ignored(const std::string& file) const {
    for (const auto& g : ignore)
        if (file_matches(g, file, dir)) return true;
    return false;
}

}  // namespace evt::lint
