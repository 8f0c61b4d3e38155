// Config: a project's `.evtlint.yaml` — which rules run at what severity
// with what options, which files are ignored, per-file and per-message
// overrides, the naming style and namespace, and vocabulary extensions.
//
//     extends: [recommended]            # recommended | strict | all | path/to/base.yaml
//     rules:
//       naming/no-vague-verb: [warn, {allow: [CartUpdated]}]
//       doc/missing-version: off
//       payload/required-fields: [warn, {fields: [eventId, occurredAt]}]
//     ignore: ["legacy/**"]
//     overrides:
//       - files: ["old/*.yaml", "api.yaml#/components/messages/ChargeCard"]
//         rules: {naming/no-imperative: off}
//     naming: {style: PascalCase, namespace: com.acme.orders, field-style: camelCase}
//     vocabulary: {imperative: [escalate], attributes: [nickname], allow: [Ping]}
//
// find_config() walks up from a directory to the first `.evtlint.yaml` (or
// `.evtlint.yml`). Globs: `*` within a path segment, `**` across segments,
// `?` one character; they match paths relative to the config's directory.
//
// Errors: load_config() returns ErrorKind::not_found when the file does not
// exist, ErrorKind::io when it cannot be read and ErrorKind::invalid
// ("FILE:LINE:COL: what") when it is malformed or a value is wrong (an
// unknown severity, style or extends preset). Unknown rule ids and unknown
// keys are not errors: they are collected in Config::warnings.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/lint/casing.hpp"
#include "core/lint/finding.hpp"
#include "core/lint/words.hpp"
#include "core/util/result.hpp"

namespace evt::lint {

// Rule options: every value kept as a list of strings (a scalar is a list of one).
struct RuleOptions {
    std::map<std::string, std::vector<std::string>> values;
    const std::vector<std::string>* list(std::string_view key) const;
    std::string get(std::string_view key) const;  // first value or ""
};

struct RuleSetting {
    std::optional<Severity> severity;  // unset: keep the severity from below
    RuleOptions options;
};

struct Override {
    std::vector<std::string> files;  // "glob" or "glob#/json/pointer"
    std::map<std::string, RuleSetting> rules;
};

struct Config {
    std::string path;  // "" for the built-in defaults
    std::string dir;   // globs are relative to it (the working directory by default)
    std::string preset = "recommended";
    std::map<std::string, RuleSetting> rules;
    std::vector<std::string> ignore;
    std::vector<Override> overrides;
    std::optional<Style> style;
    std::optional<Style> field_style;
    std::string ns;
    Vocabulary vocab = Vocabulary::builtin();
    std::vector<std::string> warnings;  // "FILE:LINE:COL: unknown rule 'x'"

    struct Effective {
        Severity severity;
        const RuleOptions* options;  // never null
    };
    // The severity and options of a rule for a message at `pointer` in `file`.
    Effective resolve(std::string_view rule, Severity default_severity, const std::string& file,
                      std::string_view pointer) const;
    // Is the file excluded by `ignore:`?
    bool ignored(const std::string& file) const;
};

Config default_config();
Result<Config> load_config(const std::string& path);
// The nearest `.evtlint.yaml`/`.evtlint.yml` from `start` upwards, or "".
std::string find_config(const std::string& start);
// Glob match on '/'-separated paths.
bool glob_match(std::string_view pattern, std::string_view path);

}  // namespace evt::lint
