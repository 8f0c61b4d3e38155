// The dedup key of an event: the values at one or more JSON paths, joined.
//
// A KeyExtractor parses a line (fully validating the JSON and its UTF-8) and
// builds the key from its paths ("id" by default; "source,id" is the
// CloudEvents identity). A string contributes its decoded text, anything else
// its compact JSON; with several paths each part is prefixed by its length
// and a colon ("2:/s3:a1"), so different tuples never make the same key.
//
// extract() returns found=false when a path is missing, and ErrorKind::invalid
// for a line that is not a JSON object. Not thread-safe; views stay valid
// until the next call.
#pragma once

#include <simdjson.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/util/result.hpp"

namespace evt::dedup {

class KeyExtractor {
public:
    // paths: "id", ".data.order_id", "/data/x", "$.id"; several are joined.
    static Result<KeyExtractor> make(const std::vector<std::string>& paths);
    // The key of line; false when a path is missing.
    Result<bool> extract(std::string_view line, std::string_view& key);
    const std::vector<std::string>& paths() const { return display_; }

private:
    std::vector<std::string> pointers_;
    std::vector<std::string> display_;
    simdjson::dom::parser parser_;
    std::string buf_;
    std::string key_;
};

}  // namespace evt::dedup
