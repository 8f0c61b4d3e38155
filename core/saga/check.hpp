// Structural checks of a saga definition: the mistakes that make a saga
// leave work unreversed or never finish, each with the line and column of
// the node at fault. Rules (all errors unless noted):
//
//   saga/compensatable-after-pivot  a compensatable step after the pivot (the
//                                   pivot cannot be undone, so neither can it)
//   saga/pivot-count                more than one pivot step
//   saga/missing-compensation       a step without compensation that a later
//                                   step's failure would leave done
//   saga/compensation-ignored       (warning) a compensation on a pivot or
//                                   retriable step: it is never sent
//   saga/unreachable-step           a step after a step with no success reply
//   saga/no-success-reply           the last step has no success reply
//   saga/missing-timeout            a step with no timeout (and no defaults.timeout)
//
// The naming rules (commands named like facts, replies named like commands,
// compensations named like events) come from the event-catalog linter:
// core/lint/saga_names.hpp. Pure; no errors.
#pragma once

#include <vector>

#include "core/saga/definition.hpp"

namespace evt::saga {

struct Finding {
    Problem problem;
    bool warning = false;
};

std::vector<Finding> check_structure(const Definition& d);

}  // namespace evt::saga
