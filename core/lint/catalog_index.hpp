// CatalogIndex: the lookup `evt-append --catalog FILE` needs — is an event
// type in the catalog, and does an event's `data` carry the fields the
// catalog marks required.
//
// It is built from any catalog evt-lint reads (native YAML, AsyncAPI 2.x or
// 3.0); a type matches a message's name exactly. check() takes the top-level
// keys of `data` so that the caller keeps its own JSON parser. Immutable after
// load(); safe to share between threads.
//
// Errors: load() returns ErrorKind::not_found for a missing file,
// ErrorKind::io when it cannot be read, and ErrorKind::invalid
// ("FILE:LINE:COL: what") when the catalog cannot be read at all or has a
// broken $ref. check() returns a message ("type 'X' is not in the catalog",
// "data lacks the required field 'orderId' of 'OrderPlaced'") or nothing.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/util/result.hpp"

namespace evt::lint {

class CatalogIndex {
public:
    static Result<CatalogIndex> load(const std::string& file);

    bool contains(std::string_view type) const;
    // The first problem with an event of `type` whose data has `data_keys`.
    std::optional<std::string> check(std::string_view type, const std::vector<std::string_view>& data_keys) const;
    std::size_t size() const { return required_.size(); }

private:
    std::unordered_map<std::string, std::vector<std::string>> required_;  // type -> required fields
};

}  // namespace evt::lint
