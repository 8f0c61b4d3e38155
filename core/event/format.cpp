#include "core/event/format.hpp"

#include <charconv>
#include <cstring>

#include "core/util/units.hpp"

namespace evt::event {

namespace {
void append_uint(std::string& out, std::uint64_t v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}
}  // namespace

std::string json_escape_string(std::string_view s) {
    std::string o;
    o.reserve(s.size());
    for (char c : s) {
        if (c == '"' || c == '\\') {
            o += '\\';
            o += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            o += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
        } else {
            o += c;
        }
    }
    return o;
}

namespace {

// Writes v in decimal at p and returns the end (at most 20 characters).
inline char* put_uint(char* p, std::uint64_t v) {
    return std::to_chars(p, p + 20, v).ptr;
}

template <std::size_t N>
inline char* put_lit(char* p, const char (&s)[N]) {
    std::memcpy(p, s, N - 1);
    return p + N - 1;
}

}  // namespace

// The hot path of every reader (evt-replay, evt-consume, evt-append --echo):
// three appends per event, the suffix built on the stack.
void append_with_position(std::string& out, std::string_view topic, const log::RecordView& r,
                          const PositionExtras& extras) {
    std::string_view j = r.json;
    if (j.size() < 2) {
        out.append(j);
        return;
    }
    // `,"evttopic":"TOPIC","evtpartition":` depends only on the topic: built
    // once per thread and topic.
    thread_local std::string head_topic, head;
    if (head.empty() || topic != head_topic) {
        head_topic.assign(topic);
        head = ",\"evttopic\":\"";
        head.append(topic);
        head += "\",\"evtpartition\":";
    }
    // Events of one batch share their append time: format each millisecond once.
    thread_local Micros last_ms = -1;
    thread_local char t[24];
    if (r.time / 1000 != last_ms) {
        last_ms = r.time / 1000;
        format_time_ms(r.time, t);
    }
    // The rest: partition, offset, time and the extras; at most
    // 20 + 13 + 20 + 13 + 24 + 15 + 20 + 16 + 20 + 2 bytes.
    char tail[192];
    char* p = put_uint(tail, r.partition);
    p = put_lit(p, ",\"evtoffset\":");
    p = put_uint(p, r.offset);
    p = put_lit(p, ",\"evttime\":\"");
    std::memcpy(p, t, 24);
    p += 24;
    *p++ = '"';
    if (extras.version) {
        p = put_lit(p, ",\"evtversion\":");
        p = put_uint(p, extras.version);
    }
    if (extras.delivery) {
        p = put_lit(p, ",\"evtdelivery\":");
        p = put_uint(p, extras.delivery);
    }
    *p++ = '}';
    const bool empty_object = j.size() == 2;  // "{}": no comma before the first attribute
    out.append(j.data(), j.size() - 1);
    out.append(head.data() + empty_object, head.size() - empty_object);
    out.append(tail, static_cast<std::size_t>(p - tail));
}

Result<TextFormat> TextFormat::compile(std::string_view f) {
    TextFormat tf;
    std::string lit;
    auto flush = [&] {
        if (!lit.empty()) tf.pieces_.emplace_back(Piece::literal, std::move(lit));
        lit.clear();
    };
    for (std::size_t i = 0; i < f.size(); ++i) {
        char c = f[i];
        if (c == '\\' && i + 1 < f.size()) {
            char e = f[++i];
            lit += e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == '0' ? '\0' : e;
        } else if (c == '%' && i + 1 < f.size()) {
            char t = f[++i];
            Piece p;
            switch (t) {
            case 't': p = Piece::topic; break;
            case 'p': p = Piece::partition; break;
            case 'o': p = Piece::offset; break;
            case 'k': p = Piece::key; break;
            case 's': p = Piece::event; break;
            case 'T': p = Piece::time_ms; break;
            case 'S': p = Piece::size; break;
            case 'h': p = Piece::headers; break;
            case '%': lit += '%'; continue;
            default:
                return make_error(ErrorKind::usage,
                                  "unknown format token '%{}' (known: %t %p %o %k %s %T %S %%)", t);
            }
            flush();
            tf.pieces_.emplace_back(p, std::string());
        } else if (c == '%') {
            return Error{ErrorKind::usage, "format ends with a lone '%'"};
        } else {
            lit += c;
        }
    }
    flush();
    return tf;
}

bool TextFormat::uses_headers() const {
    for (const auto& [piece, text] : pieces_)
        if (piece == Piece::headers) return true;
    return false;
}

void TextFormat::render(std::string& out, std::string_view topic, const log::RecordView& r) const {
    for (const auto& [piece, text] : pieces_) {
        switch (piece) {
        case Piece::literal: out += text; break;
        case Piece::topic: out.append(topic); break;
        case Piece::partition: append_uint(out, r.partition); break;
        case Piece::offset: append_uint(out, r.offset); break;
        case Piece::key: out.append(r.key); break;
        case Piece::event: out.append(r.json); break;
        case Piece::time_ms: append_uint(out, static_cast<std::uint64_t>(r.time / 1000)); break;
        case Piece::size: append_uint(out, r.json.size()); break;
        case Piece::headers: out.append(r.headers); break;
        }
    }
}

}  // namespace evt::event
