// Catalog: the format-neutral list of messages a linter run checks, and the
// entry point that reads one input file into it.
//
// Whatever the input — the native YAML catalog (schemas/catalog.schema.json),
// an AsyncAPI 2.0-2.6 or 3.0 document in YAML or JSON, or an NDJSON stream of
// CloudEvents read with `events` set — it becomes a Catalog: messages with a
// name, where the name is written, who produces and consumes them, a version,
// whether they are documented, and the payload's fields. The format is
// detected from the document's first keys (`asyncapi:`, `catalog:`); a file
// whose first line is a JSON object with "specversion" is read as NDJSON
// CloudEvents even without `events`.
//
// Errors: load_catalog() returns ErrorKind::not_found for a missing file and
// ErrorKind::io for an unreadable one. Everything wrong *inside* a file is
// not an error but a located `parse/invalid-document` finding in
// Catalog::problems; `unreadable` is set when nothing could be read from the
// document (malformed YAML/JSON, unknown format, a bad NDJSON line), which the
// tool turns into exit status 65.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/lint/casing.hpp"
#include "core/lint/finding.hpp"
#include "core/util/result.hpp"

namespace evt::lint {

enum class Format { native, asyncapi2, asyncapi3, events };
std::string_view format_name(Format f);

struct Field {
    std::string name;
    std::string type;  // "" when not given
    bool required = false;
    Position pos;
    std::string pointer;
};

struct Message {
    std::string name;     // the name the naming rules check
    Position pos;         // where that name is written
    std::string pointer;  // JSON pointer of the message object
    std::string message_id;  // AsyncAPI 2.x messageId ("" when absent)
    Position id_pos;
    std::vector<std::string> producers;
    std::vector<std::string> consumers;
    std::string version;
    bool version_declared = false;  // on the message itself, not inherited from info.version
    bool documented = false;  // has a summary or description
    bool has_payload = false;
    bool payload_object = false;  // type: object (or has properties)
    bool payload_has_properties = false;
    Position payload_pos;
    std::string payload_pointer;
    std::vector<Field> fields;
    std::vector<std::string> ignore;  // x-evtlint-ignore rule ids
    std::uint64_t count = 0;          // events seen with this type (events format)
};

struct Catalog {
    std::string file;  // as named on the command line; "<stdin>" for -
    Format format = Format::native;
    std::string ns;    // namespace for CloudEvents types
    std::optional<Style> style;  // naming style declared in the document
    std::vector<Message> messages;
    std::vector<Finding> problems;  // parse/invalid-document findings
    std::vector<std::string> ignore;  // document-level x-evtlint-ignore
    bool unreadable = false;
    std::uint64_t events_total = 0;   // events format: lines read
};

struct ReadOptions {
    bool events = false;          // the input is an NDJSON event stream
    bool flip_direction = false;  // AsyncAPI 2.x: `publish` means the app produces
};

// Read `text` (the contents of `file`, which relative $refs are resolved
// against) into a Catalog.
Catalog read_catalog(const std::string& file, const std::string& text, const ReadOptions& opts);
// Read a file ("-" is stdin) and parse it.
Result<Catalog> load_catalog(const std::string& file, const ReadOptions& opts);
// Read a whole file ("-" is stdin); not_found / io errors.
Result<std::string> read_file_text(const std::string& file);

// A parse/invalid-document finding at a position.
Finding invalid_document(const std::string& file, std::uint32_t line, std::uint32_t column, std::string message,
                         std::string pointer = {});

}  // namespace evt::lint
