// RefResolver: follows JSON-Reference `$ref`s inside a document
// ("#/components/messages/OrderPlaced") and to relative files
// ("schemas/order.yaml#/OrderPlaced", "common.json"), loading each other file
// once. A chain of $refs is followed to its end (at most 32 steps, which also
// stops cycles).
//
// Errors: resolve() returns ErrorKind::invalid with a message naming the
// reference ("cannot resolve $ref '#/x': no such node", "... cannot read
// 'a.yaml'"); the caller turns it into a located parse/invalid-document
// finding at the $ref. Not thread-safe (it caches documents).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "core/lint/document.hpp"
#include "core/util/result.hpp"

namespace evt::lint {

struct Resolved {
    Node node;
    std::string pointer;  // JSON pointer of the target inside its document
    bool external = false;  // the target lives in another file
};

class RefResolver {
public:
    // `main` is the document being read, `file` its path (for relative refs).
    RefResolver(const Document& main, std::string file) : main_(main), file_(std::move(file)) {}

    // If `node` is a mapping with `$ref`, follow it; otherwise return it as is
    // with `pointer` unchanged.
    Result<Resolved> resolve(Node node, std::string pointer) const;

private:
    Result<Resolved> follow(const Document& from, const std::string& from_file, std::string_view ref) const;
    const std::string& file_of(const Document* doc) const;

    const Document& main_;
    std::string file_;
    mutable std::map<std::string, std::unique_ptr<Document>> files_;
    mutable std::map<const Document*, std::string> names_;
};

}  // namespace evt::lint
