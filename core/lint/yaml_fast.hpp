// FastYaml: a quick reader for the everyday subset of YAML (block mappings
// and sequences, plain and quoted one-line scalars, literal and folded block
// scalars, comments) and for JSON (flow collections over any number of
// lines), building a Document directly.
//
// yaml-cpp's scanner reads about 14 MB/s, too slow for a 10,000-message
// AsyncAPI document in under half a second; this reader is many times faster. It
// is deliberately conservative: on anything outside its subset — anchors,
// aliases, tags, directives, complex keys, multi-line plain or quoted
// scalars, tabs in indentation, several documents — and on any syntax error
// it gives up and returns false, and Document::parse() falls back to yaml-cpp,
// which reports errors with their positions. No exceptions.
#pragma once

#include <string_view>

#include "core/lint/document.hpp"

namespace evt::lint {

// Parse `text` into `doc` (empty on entry). false: not handled here.
bool fast_parse(std::string_view text, Document& doc);

}  // namespace evt::lint
