#include "core/lint/rules.hpp"

#include <algorithm>
#include <map>
#include <unordered_map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/lint/naming.hpp"

namespace evt::lint {

const std::vector<RuleInfo>& all_rules() {
    static const std::vector<RuleInfo> rules = {
        {"naming/past-tense", Severity::error, "the action word is a past participle: the name states a fact"},
        {"naming/no-imperative", Severity::error, "no leading command verb (Charge, Send, Create, Process...)"},
        {"naming/no-command-suffix", Severity::error, "no Command, Cmd, Request, Req, Instruction or Job suffix"},
        {"naming/no-vague-verb", Severity::warn, "no generic Updated/Changed/Modified without an attribute or target state"},
        {"naming/no-generic-subject", Severity::warn, "the subject is a business entity, not Data, Entity, Record, Item..."},
        {"naming/no-status-change", Severity::warn, "StatusChanged names the new state instead"},
        {"naming/redundant-suffix", Severity::info, "no Event, DomainEvent, IntegrationEvent, Message, Notification, Topic suffix"},
        {"naming/no-before-after", Severity::info, "no Before/After prefix"},
        {"naming/casing", Severity::warn, "every name uses the configured (or the majority) casing"},
        {"naming/cloudevents-type", Severity::warn, "CloudEvents types are reverse-DNS with lower-case segments"},
        {"catalog/duplicate-name", Severity::error, "no name twice (after normalising case and separators)"},
        {"catalog/duplicate-version", Severity::error, "no name and version defined twice"},
        {"ownership/missing-producer", Severity::error, "every event has a producing service"},
        {"ownership/multiple-producers", Severity::warn, "every event has one producing service"},
        {"ownership/no-consumer", Severity::info, "every event has a known consumer"},
        {"payload/missing", Severity::error, "every event has a payload schema"},
        {"payload/empty", Severity::warn, "an object payload has properties"},
        {"payload/required-fields", Severity::off, "payloads carry the configured fields (option fields: [...])"},
        {"payload/field-casing", Severity::warn, "payload property names use one casing"},
        {"doc/missing-summary", Severity::warn, "every event has a summary or description"},
        {"doc/missing-version", Severity::warn, "every event has a version"},
        {"parse/invalid-document", Severity::error, "the document parses and its $refs resolve (cannot be switched off)"},
    };
    return rules;
}

const RuleInfo* find_rule(std::string_view id) {
    for (const auto& r : all_rules())
        if (r.id == id) return &r;
    return nullptr;
}

namespace {

std::string normalised(std::string_view name) {
    std::string out;
    for (const auto& t : tokenize(name)) out += t.word;
    return out;
}

// The majority style among names (lower-case single words fit many styles and do not vote).
std::optional<Style> majority(const std::vector<std::string_view>& names) {
    std::map<Style, std::size_t> votes;
    for (auto n : names) {
        Style s = detect_style(n);
        if (s == Style::reverse_dns) s = Style::dot;
        if (s != Style::lower && s != Style::unknown) ++votes[s];
    }
    if (votes.empty()) return std::nullopt;
    return std::max_element(votes.begin(), votes.end(), [](auto& a, auto& b) { return a.second < b.second; })->first;
}

class Checker {
public:
    Checker(const Catalog& c, const Config& cfg) : c_(c), cfg_(cfg) {}

    std::vector<Finding> run() {
        out_ = c_.problems;
        std::vector<std::string_view> names;
        for (const auto& m : c_.messages) names.push_back(m.name);
        name_style_ = cfg_.style ? cfg_.style : c_.style ? c_.style : majority(names);
        std::vector<std::string_view> field_names;
        for (const auto& m : c_.messages)
            for (const auto& f : m.fields) field_names.push_back(f.name);
        field_style_ = cfg_.field_style ? cfg_.field_style : majority(field_names);
        ns_ = !cfg_.ns.empty() ? cfg_.ns : c_.ns;
        cloudevents_ = c_.format == Format::events || name_style_ == Style::reverse_dns;
        for (const auto& m : c_.messages) {
            naming(m);
            if (c_.format != Format::events) structure(m);
        }
        duplicates();
        std::sort(out_.begin(), out_.end(), finding_less);
        return std::move(out_);
    }

private:
    // Emit unless the rule is off or suppressed for this message.
    void emit(std::string_view rule, const Message& m, const Position& pos, std::string message) {
        const RuleInfo* info = find_rule(rule);
        auto eff = cfg_.resolve(rule, info->severity, c_.file, m.pointer);
        if (eff.severity == Severity::off) return;
        auto listed = [&](const std::vector<std::string>& l) { return std::find(l.begin(), l.end(), rule) != l.end(); };
        if (listed(m.ignore) || listed(c_.ignore)) return;
        if (auto* allow = eff.options->list("allow"); allow && std::find(allow->begin(), allow->end(), m.name) != allow->end())
            return;
        if (c_.format == Format::events) message += fmt::format(" ({} event{})", m.count, m.count == 1 ? "" : "s");
        out_.push_back({c_.file, pos, eff.severity, std::string(rule), std::move(message), m.pointer});
    }
    Severity severity_of(std::string_view rule, const Message& m) const {
        return cfg_.resolve(rule, find_rule(rule)->severity, c_.file, m.pointer).severity;
    }

    void naming(const Message& m) {
        NameAnalysis a = analyse_name(m.name, cfg_.vocab, ns_);
        for (const auto& v : a.verdicts) emit(v.rule, m, m.pos, v.message);
        Style actual = detect_style(m.name);
        if (name_style_ && !style_fits(actual, *name_style_) && !(cloudevents_ && actual == Style::reverse_dns)) {
            std::vector<std::string> words;
            for (const auto& t : a.tokens) words.push_back(t.word);
            std::string fix = render(words, *name_style_);
            emit("naming/casing", m, m.pos,
                 fmt::format("'{}' is {}, not {} like the rest; did you mean '{}'?", m.name, style_name(actual),
                             style_name(*name_style_), fix));
        }
        if (cloudevents_) {
            std::string fix;
            std::string msg = check_cloudevents_type(m.name, cfg_.vocab, ns_, fix);
            if (!msg.empty()) emit("naming/cloudevents-type", m, m.pos, msg);
        }
    }

    void structure(const Message& m) {
        const Position& ppos = m.has_payload ? m.payload_pos : m.pos;
        if (m.producers.empty())
            emit("ownership/missing-producer", m, m.pos, fmt::format("'{}' has no producing service", m.name));
        if (m.producers.size() > 1)
            emit("ownership/multiple-producers", m, m.pos,
                 fmt::format("'{}' has {} producers ({}): one service should own an event", m.name, m.producers.size(),
                             fmt::join(m.producers, ", ")));
        if (m.consumers.empty()) emit("ownership/no-consumer", m, m.pos, fmt::format("'{}' has no known consumer", m.name));
        if (!m.has_payload) emit("payload/missing", m, m.pos, fmt::format("'{}' has no payload schema", m.name));
        else if (m.payload_object && !m.payload_has_properties)
            emit("payload/empty", m, ppos, fmt::format("the payload of '{}' is an object with no properties", m.name));
        if (m.has_payload && m.payload_object && severity_of("payload/required-fields", m) != Severity::off) {
            auto eff = cfg_.resolve("payload/required-fields", Severity::off, c_.file, m.pointer);
            if (const auto* want = eff.options->list("fields"))
                for (const auto& f : *want)
                    if (std::none_of(m.fields.begin(), m.fields.end(), [&](const Field& x) { return x.name == f; }))
                        emit("payload/required-fields", m, ppos, fmt::format("the payload of '{}' lacks the field '{}'", m.name, f));
        }
        field_casing(m);
        if (!m.documented) emit("doc/missing-summary", m, m.pos, fmt::format("'{}' has no summary or description", m.name));
        if (m.version.empty()) emit("doc/missing-version", m, m.pos, fmt::format("'{}' has no version", m.name));
    }

    void field_casing(const Message& m) {
        std::optional<Style> want = field_style_;
        auto eff = cfg_.resolve("payload/field-casing", Severity::warn, c_.file, m.pointer);
        if (auto s = parse_style(eff.options->get("style"))) want = s;
        if (!want) return;
        for (const auto& f : m.fields) {
            Style actual = detect_style(f.name);
            if (style_fits(actual, *want)) continue;
            std::vector<std::string> words;
            for (const auto& t : tokenize(f.name)) words.push_back(t.word);
            emit("payload/field-casing", m, f.pos,
                 fmt::format("payload field '{}' of '{}' is {}, not {}; did you mean '{}'?", f.name, m.name,
                             style_name(actual), style_name(*want), render(words, *want)));
        }
    }

    void duplicates() {
        std::unordered_map<std::string, std::vector<const Message*>> groups;
        for (const auto& m : c_.messages) groups[normalised(m.name) + "\n"].push_back(&m);
        for (const auto& m : c_.messages) {
            auto& g = groups[normalised(m.name) + "\n"];
            if (g.size() < 2 || g.front() == &m) continue;
            for (const Message* earlier : g) {
                if (earlier == &m) break;
                bool both_versions = m.version_declared && earlier->version_declared;
                if (both_versions && m.version != earlier->version) continue;
                if (both_versions)
                    emit("catalog/duplicate-version", m, m.pos,
                         fmt::format("'{}' version {} is already defined at line {}", m.name, m.version, earlier->pos.line));
                else
                    emit("catalog/duplicate-name", m, m.pos,
                         fmt::format("'{}' duplicates '{}' at line {}", m.name, earlier->name, earlier->pos.line));
                break;
            }
        }
    }

    const Catalog& c_;
    const Config& cfg_;
    std::vector<Finding> out_;
    std::optional<Style> name_style_, field_style_;
    std::string ns_;
    bool cloudevents_ = false;
};

}  // namespace

std::vector<Finding> check_catalog(const Catalog& catalog, const Config& config) {
    return Checker(catalog, config).run();
}

}  // namespace evt::lint
