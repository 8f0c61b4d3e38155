// One picture of a saga: the happy path, every failure path (a failure
// reply, a timeout after the last attempt) and every compensation, as a
// Mermaid state diagram (stateDiagram-v2) or a Graphviz digraph.
//
// States are the steps (awaiting their reply), one state per compensation
// (they chain in reverse order, so the failure of step N enters the chain at
// the last compensatable step before N), and the ends: completed,
// compensated and, when a retriable step can run out of attempts, stuck.
// Transitions are labelled "reply / next command". Pure; no errors.
#pragma once

#include <string>

#include "core/saga/definition.hpp"

namespace evt::saga {

std::string diagram_mermaid(const Definition& d);
std::string diagram_dot(const Definition& d);

}  // namespace evt::saga
