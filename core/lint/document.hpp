// Document: a parsed YAML or JSON file as a compact, read-only tree in which
// every node keeps the 1-based line and column where it starts.
//
// The catalog readers need positions for every finding and must cope with
// AsyncAPI documents of ten thousand messages, so the tree is built from
// yaml-cpp's event stream (not its Node graph) into one flat vector of small
// records; scalars live in one string pool. JSON is read by the same parser
// (JSON is YAML 1.2 flow syntax); tabs between JSON tokens are accepted.
// Anchors and aliases are resolved by sharing the anchored node. A Document
// is immutable after parse() apart from a lazily built lookup index for
// large mappings, so one Document must not be read from two threads at once.
//
// Errors: parse() returns ErrorKind::invalid with "LINE:COL: what" when the
// text is not well-formed YAML/JSON or holds more than one document; the
// position is also returned in ParseFailure for located findings.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace evt::lint {

enum class NodeKind : std::uint8_t { null, scalar, sequence, mapping };

class Document;

// A cheap handle to one node; a default-constructed (or missing) Node is null
// and answers every query with "nothing".
class Node {
public:
    Node() = default;
    Node(const Document* doc, std::uint32_t id) : doc_(doc), id_(id) {}

    bool valid() const { return doc_ != nullptr; }
    explicit operator bool() const { return valid(); }
    NodeKind kind() const;
    bool is_scalar() const { return valid() && kind() == NodeKind::scalar; }
    bool is_map() const { return valid() && kind() == NodeKind::mapping; }
    bool is_seq() const { return valid() && kind() == NodeKind::sequence; }
    std::uint32_t line() const;
    std::uint32_t column() const;
    // The text of a scalar ("" for anything else).
    std::string_view str() const;
    // Children: sequence items, or mapping entries (key() / value() pairs).
    std::size_t size() const;
    Node item(std::size_t i) const;
    Node key(std::size_t i) const;
    Node value(std::size_t i) const;
    // The value under a mapping key; null when absent or not a mapping.
    Node operator[](std::string_view key) const;
    std::uint32_t id() const { return id_; }
    const Document* document() const { return doc_; }
    bool operator==(const Node& o) const { return doc_ == o.doc_ && id_ == o.id_; }

private:
    const Document* doc_ = nullptr;
    std::uint32_t id_ = 0;
};

struct ParseFailure {
    std::uint32_t line = 1, column = 1;
    std::string message;
};

class Document {
public:
    // Parse YAML or JSON text; on failure returns nullopt and fills `failure`.
    static std::optional<Document> parse(std::string_view text, ParseFailure& failure);

    // The same through yaml-cpp alone (parse() tries a faster reader for the
    // common subset first); tests compare the two.
    static std::optional<Document> parse_reference(std::string_view text, ParseFailure& failure);

    Node root() const { return nodes_.empty() ? Node() : Node(this, 0); }
    // Resolve a JSON pointer ("/components/messages/OrderPlaced", "" = root).
    Node at_pointer(std::string_view pointer) const;
    std::size_t node_count() const { return nodes_.size(); }

    Document() = default;

private:
    friend class Node;
    friend class TreeBuilder;
    friend class FastYaml;
    struct Rec {
        NodeKind kind;
        std::uint32_t line, column;
        std::uint32_t begin, count;  // scalar: pool range; containers: children range
    };
    std::vector<Rec> nodes_;
    std::vector<std::uint32_t> children_;  // maps store key, value, key, value...
    std::string pool_;
    // Large mappings get a hash index on first lookup.
    mutable std::unordered_map<std::uint32_t, std::unordered_map<std::string, std::uint32_t>> index_;
    Node find_in_map(std::uint32_t id, std::string_view key) const;
};

// The strings of a scalar or of a sequence of scalars (anything else: none).
std::vector<std::string> string_list(Node n);

// "~1" -> "/", "~0" -> "~" in one pointer segment, and the reverse.
std::string pointer_unescape(std::string_view segment);
std::string pointer_escape(std::string_view segment);

}  // namespace evt::lint
