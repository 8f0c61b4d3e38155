#include "core/lint/naming.hpp"

#include <algorithm>
#include <array>

#include <fmt/format.h>

namespace evt::lint {

namespace {

constexpr std::array<std::string_view, 11> kEnvPrefixes = {
    "prod", "production", "dev", "development", "staging", "stage", "test", "qa", "uat", "local", "sandbox"};
constexpr std::array<std::string_view, 6> kCommandSuffixes = {"command", "cmd", "request", "req", "instruction", "job"};
// Longest first, so "DomainEvent" is taken whole.
const std::vector<std::vector<std::string_view>> kRedundant = {
    {"integration", "event"}, {"domain", "event"}, {"event"}, {"message"}, {"notification"}, {"topic"}};

template <class C>
bool contains(const C& c, std::string_view w) {
    return std::find(c.begin(), c.end(), w) != c.end();
}

bool is_version(const std::string& w) {
    std::size_t i = (w.size() >= 2 && w[0] == 'v') ? 1 : 0;
    if (i == w.size()) return false;
    for (; i < w.size(); ++i)
        if (w[i] < '0' || w[i] > '9') return false;
    return true;
}

// The parts of a name around its core words, for rebuilding fixes.
struct Frame {
    std::string prefix;         // text before the core ("com.acme.")
    std::string tail;           // version text after it ("V1", ".v2")
    std::string redundant;      // "Event" as written
    std::string command;        // "Command" as written, lower-cased word in command_word
    std::string command_word;
    std::size_t before_redundant_end = 0;  // byte end of the name without the redundant suffix
};

class Analyser {
public:
    Analyser(std::string_view name, const Vocabulary& v, std::string_view ns) : name_(name), v_(v), ns_(ns) {}

    NameAnalysis run() {
        a_.tokens = tokenize(name_);
        a_.style = detect_style(name_);
        b_ = 0;
        e_ = a_.tokens.size();
        if (v_.allow.count(std::string(name_)) || e_ == 0) return finish();
        strip_affixes();
        if (b_ >= e_) return finish();
        for (std::size_t i = b_; i < e_; ++i) w_.push_back(a_.tokens[i].word);
        check();
        return finish();
    }

private:
    NameAnalysis finish() {
        a_.core_begin = b_;
        a_.core_end = e_;
        return std::move(a_);
    }
    std::string_view text(std::size_t i) const {
        const Token& t = a_.tokens[i];
        return name_.substr(t.begin, t.end - t.begin);
    }

    void strip_affixes() {
        auto& t = a_.tokens;
        if (!ns_.empty() && name_.size() > ns_.size() && name_.substr(0, ns_.size()) == ns_ && name_[ns_.size()] == '.') {
            while (b_ < e_ && t[b_].begin < ns_.size()) ++b_;
        } else if (a_.style == Style::reverse_dns) {
            std::size_t second_dot = name_.find('.', name_.find('.') + 1);
            while (b_ < e_ && t[b_].begin < second_dot) ++b_;
        }
        if ((a_.style == Style::dot || a_.style == Style::reverse_dns) && e_ - b_ > 2 && contains(kEnvPrefixes, t[b_].word))
            ++b_;
        if (b_ < e_) f_.prefix = std::string(name_.substr(0, t[b_].begin));
        if (e_ - b_ > 1 && is_version(t[e_ - 1].word)) {
            f_.tail = std::string(name_.substr(t[e_ - 2].end));
            --e_;
        }
        for (const auto& suffix : kRedundant) {
            std::size_t k = suffix.size();
            if (e_ - b_ <= k) continue;
            bool match = true;
            for (std::size_t j = 0; j < k; ++j) match &= t[e_ - k + j].word == suffix[j];
            if (!match) continue;
            f_.redundant = std::string(name_.substr(t[e_ - k].begin, t[e_ - 1].end - t[e_ - k].begin));
            e_ -= k;
            f_.before_redundant_end = t[e_ - 1].end;
            break;
        }
        if (e_ - b_ > 1 && contains(kCommandSuffixes, t[e_ - 1].word)) {
            f_.command = std::string(text(e_ - 1));
            f_.command_word = t[e_ - 1].word;
            --e_;
        }
    }

    // "resource.action" or "resources/action": the first segment names the entity.
    bool hierarchical_name() const { return name_.find('.') != std::string_view::npos || name_.find('/') != std::string_view::npos; }
    // Byte offset where the core's first segment ends (hierarchical names only).
    std::size_t first_segment_end() const {
        std::size_t from = a_.tokens[b_].begin;
        std::size_t dot = name_.find_first_of("./", from);
        return dot == std::string_view::npos ? name_.size() : dot;
    }

    Style core_style() const {
        const auto& t = a_.tokens;
        std::string_view core = name_.substr(t[b_].begin, t[e_ - 1].end - t[b_].begin);
        Style s = detect_style(core);
        if (s == Style::reverse_dns) return Style::dot;
        if (s == Style::lower || s == Style::unknown) {
            if (a_.style == Style::reverse_dns) return Style::dot;
            if (a_.style == Style::lower) return Style::dot;
            return a_.style;
        }
        return s;
    }
    std::string rebuild(const std::vector<std::string>& words) const {
        std::string body = render(words, core_style());
        if (a_.style == Style::pascal && !body.empty()) body[0] = static_cast<char>(std::toupper(body[0]));
        return f_.prefix + body + f_.tail;
    }
    void add(std::string rule, std::string message, std::string fix = {}) {
        if (!fix.empty() && fix != name_) message += fmt::format("; did you mean '{}'?", fix);
        else fix.clear();
        a_.verdicts.push_back({std::move(rule), std::move(message), std::move(fix)});
    }

    std::string imperative_fix() const {
        std::vector<std::string> rest(w_.begin() + 1, w_.end());
        std::string part = v_.participle_of(w_[0]);
        const std::string& lead = w_[0];
        auto p = std::find_if(rest.begin(), rest.end(), [&](const std::string& w) { return v_.is_participle(w); });
        if ((lead == "set" || lead == "mark" || lead == "make" || lead == "flag") && p != rest.end()) {
            part = *p;
            std::vector<std::string> subject;
            for (const auto& w : rest)
                if (w != part && w != "as" && w != "status" && w != "state" && w != "to" && w != "is") subject.push_back(w);
            rest = subject;
        } else if (!rest.empty() && v_.is_participle(rest.back())) {
            rest.pop_back();
        }
        static const std::vector<std::string_view> particles = {"on", "off", "up", "down", "in", "out", "over"};
        if (std::all_of(rest.begin(), rest.end(), [](const std::string& w) { return contains(particles, w); })) return {};
        rest.push_back(part);
        return rebuild(rest);
    }

    void check() {
        std::size_t n = w_.size();
        bool commandish = false;
        if (n >= 2 && (w_[0] == "before" || w_[0] == "after")) {
            std::vector<std::string> rest(w_.begin() + 1, w_.end());
            add("naming/no-before-after",
                fmt::format("'{}' starts with '{}': name the fact itself", name_, text(b_)), rebuild(rest));
        }
        // A word that is a noun as often as a verb leads a command only in a
        // flat name with no other verb: "ChargeCard", not "charge.refunded" or
        // "order.ship" (a resource, then its action).
        bool hierarchical = hierarchical_name();
        bool other_verb = std::any_of(w_.begin() + 1, w_.end(), [&](const std::string& w) {
            return v_.is_participle(w) || v_.is_base_verb(w);
        });
        bool leading = n >= 2 && (v_.starts_command(w_[0]) || (v_.is_noun_verb(w_[0]) && !hierarchical && !other_verb));
        if (leading) {
            commandish = true;
            add("naming/no-imperative",
                fmt::format("'{}' starts with the command verb '{}': an event names a fact that happened", name_,
                            text(b_)),
                imperative_fix());
        }
        if (!f_.command.empty()) {
            commandish = true;
            std::string fix;
            if (leading) fix = imperative_fix();
            else if (f_.command_word == "request" || f_.command_word == "req") {
                std::vector<std::string> words = w_;
                words.push_back("requested");
                fix = rebuild(words);
            } else if (v_.is_participle(w_.back())) {
                fix = rebuild(w_);
            }
            add("naming/no-command-suffix",
                fmt::format("'{}' ends in '{}': that names a command, not an event", name_, f_.command), fix);
        }
        if (!f_.redundant.empty()) {
            std::string fix = std::string(name_.substr(0, f_.before_redundant_end)) + f_.tail;
            add("naming/redundant-suffix", fmt::format("'{}' ends in the redundant '{}'", name_, f_.redundant), fix);
        }
        // The action word: the last participle or base-form verb.
        std::size_t action = n, base = n;
        for (std::size_t i = n; i-- > 0;) {
            if (v_.is_participle(w_[i])) { action = i; break; }
            bool noun_only = v_.is_noun_verb(w_[i]) && !v_.starts_command(w_[i]) && !v_.verbs.count(w_[i]);
            if (v_.is_base_verb(w_[i]) && !(noun_only && i + 1 < n)) { base = i; break; }
        }
        if (commandish) return;
        if (action == n) {
            if (base < n) {
                const Token& t = a_.tokens[b_ + base];
                std::string fix = std::string(name_.substr(0, t.begin)) +
                                  match_case(text(b_ + base), v_.participle_of(w_[base])) + std::string(name_.substr(t.end));
                add("naming/past-tense",
                    fmt::format("'{}' uses the verb '{}' in the present, not the past tense", name_, text(b_ + base)), fix);
            } else {
                add("naming/past-tense", fmt::format("'{}' has no past-tense verb: name a fact that happened", name_));
            }
            return;
        }
        check_meaning(action);
    }

    void check_meaning(std::size_t action) {
        std::size_t n = w_.size();
        bool complement = action + 1 < n;
        std::vector<std::string> subject(w_.begin(), w_.begin() + static_cast<std::ptrdiff_t>(action));
        bool vague_verb = v_.vague.count(w_[action]) > 0;
        if (!subject.empty() && (subject.back() == "status" || subject.back() == "state") && vague_verb && !complement) {
            add("naming/no-status-change",
                fmt::format("'{}' does not say which {} was reached: name the new state", name_, subject.back()));
            return;
        }
        if (subject.size() == 1 && v_.generic.count(subject[0])) {
            add("naming/no-generic-subject",
                fmt::format("'{}' has the generic subject '{}': name the business entity", name_, text(b_)));
            return;
        }
        if (!vague_verb || complement) return;
        // An attribute makes the change specific ("PasswordChanged"), except as
        // the resource itself of a hierarchical name ("price.updated").
        std::size_t entity_end = hierarchical_name() ? first_segment_end() : 0;
        bool specific = false;
        for (std::size_t i = 0; i < subject.size(); ++i)
            specific |= v_.attributes.count(subject[i]) > 0 && a_.tokens[b_ + i].begin >= entity_end;
        if (!specific)
            add("naming/no-vague-verb",
                fmt::format("'{}' is vague: '{}' does not say what changed; name the attribute or the business fact",
                            name_, text(b_ + action)));
    }

    std::string_view name_;
    const Vocabulary& v_;
    std::string_view ns_;
    NameAnalysis a_;
    Frame f_;
    std::size_t b_ = 0, e_ = 0;
    std::vector<std::string> w_;
};

}  // namespace

NameAnalysis analyse_name(std::string_view name, const Vocabulary& vocab, std::string_view ns) {
    return Analyser(name, vocab, ns).run();
}

NameClass classify(const NameAnalysis& a) {
    bool vague = false;
    for (const auto& v : a.verdicts) {
        if (v.rule == "naming/no-imperative" || v.rule == "naming/no-command-suffix" || v.rule == "naming/past-tense")
            return NameClass::command;
        if (v.rule == "naming/no-vague-verb" || v.rule == "naming/no-generic-subject" || v.rule == "naming/no-status-change")
            vague = true;
    }
    return vague ? NameClass::vague : NameClass::fact;
}

std::string_view class_name(NameClass c) {
    switch (c) {
    case NameClass::fact: return "fact";
    case NameClass::command: return "command";
    case NameClass::vague: return "vague";
    }
    return "fact";
}

std::string check_cloudevents_type(std::string_view type, const Vocabulary& vocab, std::string_view ns, std::string& fix) {
    Style s = detect_style(type);
    if (s == Style::reverse_dns) return {};
    NameAnalysis a = analyse_name(type, vocab, ns);
    std::vector<std::string> words;
    for (std::size_t i = a.core_begin; i < a.core_end; ++i) words.push_back(a.tokens[i].word);
    std::string prefix = ns.empty() ? std::string("com.example") : std::string(ns);
    fix = words.empty() ? std::string() : prefix + "." + render(words, Style::dot);
    std::string msg = fmt::format("'{}' is not a reverse-DNS CloudEvents type (lower-case dot segments under a domain, optional .vN)", type);
    if (!fix.empty()) msg += fmt::format("; did you mean '{}'?", fix);
    return msg;
}

}  // namespace evt::lint
