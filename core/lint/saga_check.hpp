// `evt-saga check`: every finding about a saga definition, as lint findings
// (so the linter's reporters print them): the shape problems found while
// parsing (saga/schema), the structural rules of core/saga/check.hpp, and
// the naming rules of the event-catalog linter applied to the saga's names:
//
//   saga/command-named-like-fact       a command type the linter reads as a fact
//   saga/reply-named-like-command      a reply type the linter reads as a command
//   saga/compensation-named-like-event a compensation type named like a fact:
//                                      a command in disguise
//
// The names are judged by analyse_name()/classify() (naming.hpp) with the
// built-in vocabulary, the same judgement `evt-lint` makes of a catalog. Pure.
#pragma once

#include <vector>

#include "core/lint/finding.hpp"
#include "core/saga/definition.hpp"

namespace evt::lint {

std::vector<Finding> check_saga(const saga::Parsed& parsed);

}  // namespace evt::lint
