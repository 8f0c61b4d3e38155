// Rules: the closed list of lint rules (id, default severity, one-line
// description) and check_catalog(), which runs every enabled rule over a
// Catalog under a Config and returns the findings.
//
// Rule ids follow `category/name`: naming/*, catalog/*, ownership/*,
// payload/*, doc/* and parse/invalid-document, which cannot be switched off.
// A rule is skipped for a message that lists its id in `x-evtlint-ignore`
// (or when the document does). Naming findings carry the "did you mean" fix
// from naming.hpp. Pure: no I/O, no errors.
#pragma once

#include <string_view>
#include <vector>

#include "core/lint/catalog.hpp"
#include "core/lint/config.hpp"
#include "core/lint/finding.hpp"

namespace evt::lint {

struct RuleInfo {
    std::string_view id;
    Severity severity;  // the default
    std::string_view description;
};

const std::vector<RuleInfo>& all_rules();
const RuleInfo* find_rule(std::string_view id);

// Findings for one catalog (its reader problems included), sorted.
std::vector<Finding> check_catalog(const Catalog& catalog, const Config& config);

}  // namespace evt::lint
