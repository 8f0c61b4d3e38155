#include "core/saga/check.hpp"

#include <fmt/format.h>

namespace evt::saga {

namespace {

bool can_fail(const Step& s) { return s.kind != Kind::retriable; }

}  // namespace

std::vector<Finding> check_structure(const Definition& d) {
    std::vector<Finding> out;
    auto error = [&](Where at, const char* rule, std::string msg) { out.push_back({{at, rule, std::move(msg)}, false}); };
    auto warning = [&](Where at, const char* rule, std::string msg) { out.push_back({{at, rule, std::move(msg)}, true}); };
    const auto& steps = d.steps;

    int pivot = -1;
    for (std::size_t i = 0; i < steps.size(); ++i) {
        const Step& s = steps[i];
        if (s.kind == Kind::pivot) {
            if (pivot >= 0)
                error(s.kind_at, "saga/pivot-count",
                      fmt::format("step '{}' is a second pivot (after '{}'): a saga has at most one point of no return",
                                  s.id.value, steps[pivot].id.value));
            else
                pivot = static_cast<int>(i);
        } else if (s.kind == Kind::compensatable && pivot >= 0) {
            error(s.kind_at, "saga/compensatable-after-pivot",
                  fmt::format("compensatable step '{}' comes after the pivot '{}': once the pivot succeeded nothing is "
                              "undone, so a failure here leaves the saga half done; make it retriable or move it before "
                              "the pivot",
                              s.id.value, steps[pivot].id.value));
        }
    }

    for (std::size_t i = 0; i < steps.size(); ++i) {
        const Step& s = steps[i];
        if (s.kind != Kind::compensatable && s.compensation.present)
            warning(s.compensation.at, "saga/compensation-ignored",
                    fmt::format("{} step '{}' is never compensated; its compensation is never sent",
                                kind_name(s.kind), s.id.value));
        if (s.kind == Kind::pivot || s.compensation.present) continue;
        if (s.kind == Kind::compensatable) {
            error(s.id.at, "saga/missing-compensation",
                  fmt::format("compensatable step '{}' has no compensation: if a later step fails, its work stays done",
                              s.id.value));
            continue;
        }
        // a retriable step: a problem only when a step after it can still fail
        for (std::size_t j = i + 1; j < steps.size(); ++j) {
            if (!can_fail(steps[j])) continue;
            error(s.id.at, "saga/missing-compensation",
                  fmt::format("step '{}' has no compensation, but {} step '{}' after it can fail and would leave it "
                              "unreversed; add a compensation or move it after the pivot",
                              s.id.value, kind_name(steps[j].kind), steps[j].id.value));
            break;
        }
    }

    for (std::size_t i = 0; i < steps.size(); ++i) {
        const Step& s = steps[i];
        if (!s.ok.value.empty() || s.reply_topic.value.empty()) continue;  // no reply at all: saga/schema
        if (i + 1 == steps.size()) {
            error(s.id.at, "saga/no-success-reply",
                  fmt::format("step '{}' has no success reply (reply.ok): the saga can never complete", s.id.value));
        } else {
            for (std::size_t j = i + 1; j < steps.size(); ++j)
                error(steps[j].id.at, "saga/unreachable-step",
                      fmt::format("step '{}' is unreachable: step '{}' before it has no success reply (reply.ok)",
                                  steps[j].id.value, s.id.value));
        }
        break;
    }

    for (const Step& s : steps)
        if (!s.timeout)
            error(s.id.at, "saga/missing-timeout",
                  fmt::format("step '{}' has no timeout (and there is no defaults.timeout): a participant that never "
                              "answers leaves the saga waiting forever",
                              s.id.value));
    return out;
}

}  // namespace evt::saga
