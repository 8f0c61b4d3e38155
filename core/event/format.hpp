// Writing events that leave the log: the JSON with its position attributes
// (SPEC.md section 3) or custom text from kcat-style format tokens.
//
// Position attributes are inserted before the closing brace of the stored
// canonical JSON, so the output stays one compact object per line and is valid
// input to evt-append (which strips them again).
//
// Format tokens: %t topic, %p partition, %o offset, %k key, %s the event (with
// no position attributes), %T append time in ms, %S the event's size in bytes,
// %h the record's headers as name=value,... (Kafka; empty on the embedded log),
// %% a percent sign; escapes \n \t \\ . Unknown tokens are a usage error.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/log/record.hpp"
#include "core/util/result.hpp"

namespace evt::event {

struct PositionExtras {
    std::uint64_t version = 0;   // evtversion when non-zero
    std::uint64_t delivery = 0;  // evtdelivery when non-zero
};

// Appends json with evttopic/evtpartition/evtoffset/evttime (and extras).
void append_with_position(std::string& out, std::string_view topic_json_escaped, const log::RecordView& r,
                          const PositionExtras& extras = {});

std::string json_escape_string(std::string_view s);

class TextFormat {
public:
    static Result<TextFormat> compile(std::string_view fmt);
    void render(std::string& out, std::string_view topic, const log::RecordView& r) const;
    bool uses_headers() const;  // %h: the reader must collect record headers

private:
    enum class Piece { literal, topic, partition, offset, key, event, time_ms, size, headers };
    std::vector<std::pair<Piece, std::string>> pieces_;
};

}  // namespace evt::event
