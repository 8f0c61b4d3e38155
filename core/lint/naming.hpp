// Naming: what an event name means, word by word.
//
// analyse_name() splits a name into words (see casing.hpp), sets aside what
// is not the fact itself (a reverse-DNS or environment prefix, a `.v1`
// version, a redundant `Event`/`Message` suffix, a `Command`/`Request`
// suffix) and judges the remaining words with the vocabulary (words.hpp):
// is the action word a past participle, does a command verb lead, is the
// verb a vague mutation with no attribute or target state, is the subject a
// generic noun. Each problem is a NameVerdict carrying the rule id, a message
// and, where one exists, a "did you mean" fix written in the name's own style
// (`ChargeCard` -> `CardCharged`, `channel_archive` -> `channel_archived`).
// Pure functions; no errors.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/lint/casing.hpp"
#include "core/lint/words.hpp"

namespace evt::lint {

struct NameVerdict {
    std::string rule;     // "naming/no-imperative"
    std::string message;  // ends with "; did you mean 'X'?" when fix is set
    std::string fix;      // "" when there is no suggestion
};

struct NameAnalysis {
    std::vector<Token> tokens;
    Style style = Style::unknown;
    std::size_t core_begin = 0, core_end = 0;  // the words that name the fact
    std::vector<NameVerdict> verdicts;         // empty: a well-formed fact
};

// `namespace_prefix` ("com.acme.orders") is stripped from dotted names first.
NameAnalysis analyse_name(std::string_view name, const Vocabulary& vocab, std::string_view namespace_prefix = {});

enum class NameClass { fact, command, vague };
// fact: no verdicts; command: imperative, command suffix or not past tense;
// vague: only vague-verb, generic-subject or status-change verdicts.
NameClass classify(const NameAnalysis& a);
std::string_view class_name(NameClass c);

// The naming/cloudevents-type check: a reverse-DNS prefix and lower-case
// dot segments with an optional `.vN`. Returns "" when the type is fine,
// else the message; `fix` gets a suggestion built from `namespace_prefix`.
std::string check_cloudevents_type(std::string_view type, const Vocabulary& vocab,
                                   std::string_view namespace_prefix, std::string& fix);

}  // namespace evt::lint
