#include "core/saga/diagram.hpp"

#include <fmt/format.h>

#include <vector>

namespace evt::saga {

namespace {

enum class EdgeKind { happy, failure, retry, compensation };

struct Node {
    std::string id, label;
    enum class Shape { step, compensation, end_ok, end_bad } shape;
};

struct Edge {
    std::string from, to, label;
    EdgeKind kind;
};

struct Graph {
    std::vector<Node> nodes;
    std::vector<Edge> edges;
};

std::string node_id(std::string_view prefix, std::string_view name) {
    std::string out(prefix);
    for (char c : name) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    return out;
}

std::string join_or(const std::vector<std::string>& v) {
    std::string s;
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? " or " : "") + v[i];
    return s;
}

bool retries(const Step& s) { return s.retry.max_attempts != 1 && (s.timeout || s.kind == Kind::retriable); }

std::string attempts(const Step& s) {
    return s.retry.max_attempts == 0 ? "unlimited" : fmt::format("{}", s.retry.max_attempts);
}

Graph build(const Definition& d) {
    Graph g;
    const auto& steps = d.steps;
    for (const auto& s : steps)
        g.nodes.push_back({node_id("step_", s.id.value),
                           fmt::format("{} ({})", s.id.value, kind_name(s.kind)), Node::Shape::step});
    // the compensation chain, in the order it runs (reverse step order, the start last)
    std::vector<std::pair<int, std::string>> chain;  // step index (-1: start), node id
    for (int i = static_cast<int>(steps.size()) - 1; i >= 0; --i)
        if (steps[i].kind == Kind::compensatable && steps[i].compensation.present)
            chain.push_back({i, node_id("undo_", steps[i].id.value)});
    if (d.start_compensation.present) chain.push_back({-1, "undo_start"});
    for (const auto& [i, id] : chain) {
        const Command& c = i < 0 ? d.start_compensation : steps[i].compensation;
        g.nodes.push_back({id, fmt::format("undo {} with {}", i < 0 ? "start" : steps[i].id.value, c.type.value),
                           Node::Shape::compensation});
    }
    g.nodes.push_back({"completed", "completed", Node::Shape::end_ok});
    bool any_fail = false, any_stuck = false;
    for (const auto& s : steps) {
        any_fail = any_fail || s.kind != Kind::retriable;
        any_stuck = any_stuck || (s.kind == Kind::retriable && s.retry.max_attempts != 0);
    }
    if (any_fail) g.nodes.push_back({"compensated", "compensated", Node::Shape::end_bad});
    if (any_stuck) g.nodes.push_back({"stuck", "stuck", Node::Shape::end_bad});

    if (!steps.empty())
        g.edges.push_back({"[*]", node_id("step_", steps[0].id.value),
                           fmt::format("{} / {}", d.start_type.value, steps[0].command.type.value), EdgeKind::happy});
    for (std::size_t i = 0; i < steps.size(); ++i) {
        const Step& s = steps[i];
        std::string me = node_id("step_", s.id.value);
        std::string ok = s.ok.value.empty() ? "(no success reply)" : s.ok.value;
        if (i + 1 < steps.size())
            g.edges.push_back({me, node_id("step_", steps[i + 1].id.value),
                               fmt::format("{} / {}", ok, steps[i + 1].command.type.value), EdgeKind::happy});
        else
            g.edges.push_back({me, "completed", ok, EdgeKind::happy});
        std::vector<std::string> fails;
        for (const auto& f : s.fail) fails.push_back(f.value);
        if (retries(s)) {
            std::vector<std::string> why;
            if (s.kind == Kind::retriable) why = fails;
            if (s.timeout) why.push_back("timeout " + format_duration(*s.timeout));
            g.edges.push_back({me, me, fmt::format("{} / retry {} ({} attempts)", join_or(why), s.command.type.value,
                                                   attempts(s)),
                               EdgeKind::retry});
        }
        if (s.kind == Kind::retriable) {
            if (s.retry.max_attempts != 0)
                g.edges.push_back({me, "stuck", fmt::format("attempt {} failed", s.retry.max_attempts), EdgeKind::failure});
            continue;
        }
        std::vector<std::string> why = fails;
        if (s.timeout)
            why.push_back(s.retry.max_attempts == 1 ? "timeout" : fmt::format("timeout of attempt {}", attempts(s)));
        if (why.empty()) continue;
        // where the compensation starts: the last compensatable step before this one
        std::string target = "compensated", first;
        for (const auto& [j, id] : chain)
            if (j < static_cast<int>(i)) {
                target = id;
                first = j < 0 ? d.start_compensation.type.value : steps[j].compensation.type.value;
                break;
            }
        g.edges.push_back({me, target, first.empty() ? join_or(why) : fmt::format("{} / {}", join_or(why), first),
                           EdgeKind::failure});
    }
    for (std::size_t k = 0; k < chain.size(); ++k) {
        if (k + 1 < chain.size()) {
            int j = chain[k + 1].first;
            g.edges.push_back({chain[k].second, chain[k + 1].second,
                               j < 0 ? d.start_compensation.type.value : steps[j].compensation.type.value,
                               EdgeKind::compensation});
        } else {
            g.edges.push_back({chain[k].second, "compensated", "SagaAborted", EdgeKind::compensation});
        }
    }
    g.edges.push_back({"completed", "[*]", "", EdgeKind::happy});
    if (any_fail) g.edges.push_back({"compensated", "[*]", "", EdgeKind::compensation});
    if (any_stuck) g.edges.push_back({"stuck", "[*]", "", EdgeKind::failure});
    return g;
}

// Mermaid's state-diagram text: no ':' inside a label, no quotes in descriptions.
std::string mermaid_text(std::string s) {
    for (char& c : s)
        if (c == ':' || c == '"' || c == ';' || c == '#') c = ' ';
    return s;
}

std::string dot_quote(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

}  // namespace

std::string diagram_mermaid(const Definition& d) {
    Graph g = build(d);
    std::string out = "stateDiagram-v2\n";
    out += fmt::format("    %% saga {} version {}: happy path, failure paths and compensations\n", d.name.value, d.version);
    for (const auto& n : g.nodes) out += fmt::format("    state \"{}\" as {}\n", mermaid_text(n.label), n.id);
    for (const auto& e : g.edges) {
        out += fmt::format("    {} --> {}", e.from, e.to);
        if (!e.label.empty()) out += " : " + mermaid_text(e.label);
        out += "\n";
    }
    out += "    classDef compensation fill:#fff3cd,stroke:#b8860b\n";
    out += "    classDef bad fill:#f8d7da,stroke:#a94442\n";
    out += "    classDef good fill:#d4edda,stroke:#3c763d\n";
    for (const auto& n : g.nodes) {
        if (n.shape == Node::Shape::compensation) out += fmt::format("    class {} compensation\n", n.id);
        if (n.shape == Node::Shape::end_bad) out += fmt::format("    class {} bad\n", n.id);
        if (n.shape == Node::Shape::end_ok) out += fmt::format("    class {} good\n", n.id);
    }
    return out;
}

std::string diagram_dot(const Definition& d) {
    Graph g = build(d);
    std::string out = fmt::format("digraph {} {{\n", dot_quote("saga " + d.name.value));
    out += "    rankdir=LR;\n    node [shape=box, style=\"rounded,filled\", fillcolor=white, fontname=\"Helvetica\"];\n";
    out += "    edge [fontname=\"Helvetica\", fontsize=10];\n";
    out += fmt::format("    label={};\n    labelloc=t;\n", dot_quote(fmt::format("saga {} (version {})", d.name.value, d.version)));
    out += "    start [shape=circle, label=\"\", width=0.25, style=filled, fillcolor=black];\n";
    out += "    finish [shape=doublecircle, label=\"\", width=0.2, style=filled, fillcolor=black];\n";
    for (const auto& n : g.nodes) {
        const char* fill = n.shape == Node::Shape::compensation ? "#fff3cd"
                         : n.shape == Node::Shape::end_bad     ? "#f8d7da"
                         : n.shape == Node::Shape::end_ok      ? "#d4edda"
                                                               : "white";
        out += fmt::format("    {} [label={}, fillcolor=\"{}\"];\n", n.id, dot_quote(n.label), fill);
    }
    for (const auto& e : g.edges) {
        std::string from = e.from == "[*]" ? "start" : e.from, to = e.to == "[*]" ? "finish" : e.to;
        const char* style = e.kind == EdgeKind::failure        ? ", color=\"#a94442\", fontcolor=\"#a94442\""
                          : e.kind == EdgeKind::compensation   ? ", style=dashed, color=\"#b8860b\""
                          : e.kind == EdgeKind::retry          ? ", style=dotted"
                                                               : "";
        out += fmt::format("    {} -> {} [label={}{}];\n", from, to, dot_quote(e.label), style);
    }
    out += "}\n";
    return out;
}

}  // namespace evt::saga
