#include "core/lint/saga_check.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/lint/naming.hpp"
#include "core/saga/check.hpp"

namespace evt::lint {

namespace {

Finding finding(const saga::Definition& d, const saga::Where& at, std::string_view rule, std::string message,
                Severity sev, std::uint32_t length = 1) {
    Finding f;
    f.file = d.file;
    f.pos = {at.line, at.column, at.line, at.column + length};
    f.severity = sev;
    f.rule = std::string(rule);
    f.message = std::move(message);
    return f;
}

// The fix the linter suggests, as " (did you mean ...)" text, if any.
std::string suggestion(const NameAnalysis& a) {
    for (const auto& v : a.verdicts)
        if (!v.fix.empty()) return fmt::format("; the linter suggests '{}' for a fact", v.fix);
    return {};
}

void names(const saga::Definition& d, std::vector<Finding>& out) {
    const Vocabulary& vocab = Vocabulary::builtin();
    auto length = [](const saga::Named& n) { return static_cast<std::uint32_t>(n.value.size()); };
    auto command = [&](const saga::Named& n, std::string_view what, std::string_view owner, std::string_view rule,
                       std::string_view noun) {
        if (n.value.empty()) return;
        NameAnalysis a = analyse_name(n.value, vocab);
        if (classify(a) != NameClass::fact) return;
        out.push_back(finding(d, n.at, rule,
                              fmt::format("{} '{}' of {} is named like an event (a fact that happened); {} asks for "
                                          "something, in the imperative (e.g. Reserve..., Cancel...)",
                                          what, n.value, owner, noun),
                              Severity::error, length(n)));
    };
    // A reply reads as a command when the linter finds command evidence: a
    // leading command verb or a Command/Request suffix. (Failure replies that
    // name a state, such as InventoryUnavailable, are not commands.)
    auto commandish = [](const NameAnalysis& a) {
        for (const auto& v : a.verdicts)
            if (v.rule == "naming/no-imperative" || v.rule == "naming/no-command-suffix") return true;
        return false;
    };
    for (const auto& s : d.steps) {
        std::string owner = fmt::format("step '{}'", s.id.value);
        command(s.command.type, "command", owner, "saga/command-named-like-fact", "a command");
        command(s.compensation.type, "compensation", owner, "saga/compensation-named-like-event",
                "a compensation is a command and");
        std::vector<const saga::Named*> replies;
        if (!s.ok.value.empty()) replies.push_back(&s.ok);
        for (const auto& f : s.fail) replies.push_back(&f);
        for (const auto* r : replies) {
            NameAnalysis a = analyse_name(r->value, vocab);
            if (classify(a) != NameClass::command || !commandish(a)) continue;
            out.push_back(finding(d, r->at, "saga/reply-named-like-command",
                                  fmt::format("reply '{}' of step '{}' is named like a command; a reply reports what "
                                              "happened, in the past tense{}",
                                              r->value, s.id.value, suggestion(a)),
                                  Severity::error, length(*r)));
        }
    }
    command(d.start_compensation.type, "compensation", "the start", "saga/compensation-named-like-event",
            "a compensation is a command and");
}

}  // namespace

std::vector<Finding> check_saga(const saga::Parsed& parsed) {
    const saga::Definition& d = parsed.def;
    std::vector<Finding> out;
    for (const auto& p : parsed.problems) out.push_back(finding(d, p.at, p.rule, p.message, Severity::error));
    for (const auto& f : saga::check_structure(d))
        out.push_back(finding(d, f.problem.at, f.problem.rule, f.problem.message,
                              f.warning ? Severity::warn : Severity::error));
    names(d, out);
    std::sort(out.begin(), out.end(), finding_less);
    return out;
}

}  // namespace evt::lint
