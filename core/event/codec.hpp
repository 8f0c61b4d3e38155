// The CloudEvents 1.0 JSON codec (structured mode, one event per line).
//
// prepare() takes one input line and yields the event's canonical form: the
// JSON with insignificant whitespace removed (string and number text kept byte
// for byte), position attributes of SPEC.md section 3 (evttopic, evtpartition,
// evtoffset, evttime, evtversion, evtdelivery) stripped unless kept, and the
// attributes evt fills prepended when missing: specversion "1.0", id (UUIDv7),
// source, time (now, RFC 3339 UTC with milliseconds). It also extracts what
// routing and the indexes need: id, type, subject and the partition key.
//
// Errors (ErrorKind::invalid, message without the line prefix): empty line,
// over max_bytes, NUL byte, invalid UTF-8, malformed JSON (lone surrogates
// included), a non-object, a missing or empty `type`, a `specversion` other
// than "1.0", a non-string or empty `id`/`source`, a `time` that is not RFC 3339,
// and with require_id a missing `id`.
//
// A Codec owns reusable buffers: the views in Prepared stay valid until the
// next prepare(). Not thread-safe; one Codec per thread.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/result.hpp"
#include "core/util/units.hpp"
#include "core/util/uuid.hpp"

namespace evt::event {

// The `type` of a CloudEvent's JSON (for --type on a remote log, whose
// records do not carry it apart); empty when it has none. The view lasts
// until the next call.
class TypeReader {
public:
    std::string_view type(std::string_view json);

private:
    std::string padded_, type_;
    simdjson::ondemand::parser parser_;
};

struct FillOptions {
    std::string source = "/evt";
    bool require_id = false;
    bool keep_position = false;
    std::string key_pointer;  // JSON pointer for --key ("/data/customer_id"); empty: partitionkey, subject
    std::size_t max_bytes = 1 << 20;
    // An extra check of each event (evt-append --catalog): given the type and
    // the top-level keys of `data` (empty when data is absent or not an
    // object), the reason to reject the event, or nothing. Called on the
    // thread that owns the Codec; must be safe to share between Codecs.
    std::function<std::optional<std::string>(std::string_view type, const std::vector<std::string_view>& data_keys)>
        check_event;
};

struct Prepared {
    std::string_view json;     // canonical event
    std::string_view id;
    std::string_view type;
    std::string_view subject;  // empty when has_subject is false
    std::string_view key;      // routing key; empty when has_key is false
    bool has_subject = false;
    bool has_key = false;
};

// "data.customer_id", ".data.customer_id" or "/data/customer_id" -> "/data/customer_id".
Result<std::string> to_json_pointer(std::string_view path);

// The text with each invalid UTF-8 byte replaced by U+FFFD (for reports).
std::string to_valid_utf8(std::string_view text);

// True for the extension attributes that carry a position (SPEC.md section 3).
bool is_position_attribute(std::string_view name) noexcept;

class Codec {
public:
    explicit Codec(FillOptions options);
    // `now` fills missing id and time; 0 reads the clock only when needed.
    Result<Prepared> prepare(std::string_view line, Micros now = 0);
    const FillOptions& options() const { return opt_; }

private:
    Status check_bytes(std::string_view line) const;
    std::string_view strip_positions(std::string_view min);

    FillOptions opt_;
    simdjson::dom::parser parser_;
    std::string min_;      // minified input (+ padding)
    std::string out_;      // canonical output when it differs from min_
    std::string scratch_;  // stripped body
    std::string key_buf_;
    std::string id_buf_;
    std::vector<std::string_view> data_keys_;
    Uuid7Generator uuid_;
};

}  // namespace evt::event
