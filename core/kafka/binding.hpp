// The CloudEvents Kafka protocol binding (cloudevents/spec, bindings/
// kafka-protocol-binding.md): an evt event as a Kafka record and back.
//
// Structured mode: the value is the event's canonical JSON and the header
// `content-type: application/cloudevents+json; charset=UTF-8`.
// Binary mode: the value is `data`; `datacontenttype` travels as the
// `content-type` header, every other attribute as a UTF-8 header
// `ce_<name>`, in the event's attribute order; an event without data has a
// null value. An evt tombstone ("evttombstone":true, then "data":null) is a
// record with a null value in either mode (what compaction on Kafka deletes
// by), its attributes as ce_ headers (ce_evttombstone: true).
//
// Writing in binary mode is exact or not done: an event is written in binary
// mode only when reading the record back gives the same bytes (rebuild()
// below). An event that binary mode cannot carry exactly (a non-string
// attribute such as "sequence":5, data that is not last, escapes that the
// rebuild writes differently, "data":null, data_base64) is written in
// structured mode, which the binding lets a reader detect per record, and
// counted (Encoder::fallbacks).
//
// Reading detects the mode per record: structured when content-type starts
// with application/cloudevents (any case), else binary when a ce_specversion
// header is present, else a value that is a JSON object with "specversion"
// is taken as a structured event sent without its content-type (as plain
// producers do); anything else is not a CloudEvent (ErrorKind::invalid).
//
// The rebuild of a binary record: `{` then each ce_ header as
// "name":"value" and content-type as "datacontenttype":"value", in header
// order, then the data: "data":<value> when the content type is absent or
// JSON (application/json, */*+json, text/json) and the value is JSON;
// "data":"<value>" when it is UTF-8 text; else "data_base64":"<base64>".
#pragma once

#include <simdjson.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/util/result.hpp"

namespace evt::kafka {

enum class Mode { structured, binary };

struct Header {
    std::string name, value;
};

struct Encoded {
    bool binary = false;      // false: structured (asked, or a fallback)
    bool null_value = false;  // binary, no data
    std::string value;        // binary: the data (structured: use the event itself)
    std::vector<Header> headers;
};

inline constexpr std::string_view kStructuredType = "application/cloudevents+json; charset=UTF-8";

class Encoder {
public:
    explicit Encoder(Mode mode) : mode_(mode) {}
    // Fills out for the canonical event json. Errors: invalid (not a JSON object).
    Status encode(std::string_view json, Encoded& out);
    Mode mode() const { return mode_; }
    std::uint64_t fallbacks() const { return fallbacks_; }

private:
    Mode mode_;
    std::uint64_t fallbacks_ = 0;
    simdjson::ondemand::parser parser_;
    std::string padded_, rebuilt_;
};

using HeaderView = std::pair<std::string_view, std::string_view>;

// The event a record carries, into json (cleared first). Errors: invalid
// (not a CloudEvent, or a structured value that is not a JSON object).
Status decode(std::string_view value, bool null_value, const std::vector<HeaderView>& headers, std::string& json);

// The JSON rebuilt from binary-mode headers and value (see above).
void rebuild(std::string_view value, bool null_value, const std::vector<HeaderView>& headers, std::string& json);

bool is_json_content_type(std::string_view ct) noexcept;
bool is_structured_content_type(std::string_view ct) noexcept;
std::string base64(std::string_view bytes);

}  // namespace evt::kafka
