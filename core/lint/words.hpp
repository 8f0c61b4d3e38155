// Vocabulary: the English word knowledge the naming rules use, compiled into
// the binary as data and extendable from `.evtlint.yaml` (`vocabulary:`).
//
// It knows past participles (regular "-ed" forms by rule, irregular ones and
// simple past forms by list), base-form verbs that start commands ("charge",
// "send", "create"), words that are both nouns and verbs ("order", "charge",
// "refund": a command only when no participle follows), generic mutation
// verbs ("updated", "changed"), generic nouns ("data", "entity") and
// attribute nouns ("password", "address") that make a mutation specific. All
// words are lower case. Lookups are pure; no errors.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace evt::lint {

struct Vocabulary {
    std::unordered_set<std::string> imperative;   // verbs that start a command: send, create
    std::unordered_set<std::string> noun_verbs;   // order, charge: commands only without a participle
    std::unordered_set<std::string> verbs;        // other base-form verbs (ship, archive, synchronize)
    std::unordered_set<std::string> participles;  // irregular participles and past forms: paid, sent
    std::unordered_map<std::string, std::string> irregular;  // base -> participle: pay -> paid
    std::unordered_set<std::string> not_participles;  // "-ed" words that are not verbs: seed, need
    std::unordered_set<std::string> doubling;     // ship -> shipped, submit -> submitted
    std::unordered_set<std::string> vague;        // updated, changed, modified
    std::unordered_set<std::string> generic;      // data, entity, record
    std::unordered_set<std::string> attributes;   // password, address: make a change specific
    std::unordered_set<std::string> allow;        // whole names every naming rule accepts

    // The built-in word lists.
    static const Vocabulary& builtin();

    bool is_participle(std::string_view word) const;
    // A base-form verb of any list (and not merely a participle).
    bool is_base_verb(std::string_view word) const;
    bool starts_command(std::string_view word) const { return imperative.count(std::string(word)) > 0; }
    bool is_noun_verb(std::string_view word) const { return noun_verbs.count(std::string(word)) > 0; }
    // "archive" -> "archived", "pay" -> "paid", "ship" -> "shipped", "apply" -> "applied".
    std::string participle_of(std::string_view verb) const;

    // Add words to a list by its config name ("imperative", "participles",
    // "verbs", "noun-verbs", "vague", "generic", "attributes", "allow");
    // returns false for an unknown list name.
    bool extend(std::string_view list, const std::vector<std::string>& words);
};

}  // namespace evt::lint
