#include "core/event/codec.hpp"

#include "core/event/format.hpp"

#include <cstring>

namespace evt::event {

std::string_view TypeReader::type(std::string_view json) {
    padded_.assign(json);
    padded_.append(simdjson::SIMDJSON_PADDING, ' ');
    auto doc = parser_.iterate(padded_.data(), json.size(), padded_.size());
    std::string_view t;
    if (doc.find_field("type").get_string().get(t)) return {};
    type_.assign(t);
    return type_;
}

namespace {

const char* kind_name(simdjson::dom::element_type t) {
    using T = simdjson::dom::element_type;
    switch (t) {
    case T::ARRAY: return "an array";
    case T::OBJECT: return "an object";
    case T::STRING: return "a string";
    case T::INT64:
    case T::UINT64:
    case T::DOUBLE: return "a number";
    case T::BOOL: return "a boolean";
    case T::NULL_VALUE: return "null";
    }
    return "a value";
}

// The 1-based column of the first byte that is not valid UTF-8.
std::size_t utf8_error_column(std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    std::size_t i = 0, n = s.size();
    while (i < n) {
        unsigned c = p[i];
        std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
        if (len == 0 || i + len > n) return i + 1;
        for (std::size_t k = 1; k < len; ++k)
            if ((p[i + k] & 0xc0) != 0x80) return i + 1;
        if (len == 2 && c < 0xc2) return i + 1;
        if (len == 3) {
            unsigned cp = ((c & 0x0f) << 12) | ((p[i + 1] & 0x3f) << 6) | (p[i + 2] & 0x3f);
            if (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)) return i + 1;
        }
        if (len == 4) {
            unsigned cp = ((c & 0x07) << 18) | ((p[i + 1] & 0x3f) << 12) | ((p[i + 2] & 0x3f) << 6) | (p[i + 3] & 0x3f);
            if (cp < 0x10000 || cp > 0x10ffff) return i + 1;
        }
        i += len;
    }
    return 0;
}

// Skips one JSON value in valid, minified text starting at i; returns the end.
std::size_t skip_value(std::string_view s, std::size_t i) {
    int depth = 0;
    bool in_string = false;
    for (; i < s.size(); ++i) {
        char c = s[i];
        if (in_string) {
            if (c == '\\') ++i;
            else if (c == '"') {
                in_string = false;
                if (depth == 0) return i + 1;
            }
            continue;
        }
        switch (c) {
        case '"': in_string = true; break;
        case '{':
        case '[': ++depth; break;
        case '}':
        case ']':
            if (depth == 0) return i;  // end of the enclosing object
            if (--depth == 0) return i + 1;
            break;
        case ',':
            if (depth == 0) return i;
            break;
        default: break;
        }
    }
    return i;
}

void append_attr(std::string& out, std::string_view name, std::string_view value) {
    out += '"';
    out += name;
    out += "\":\"";
    out += value;  // values we fill need no escaping (uuid, time, user source escaped by caller)
    out += "\",";
}

}  // namespace

std::string to_valid_utf8(std::string_view text) {
    std::string out;
    while (!text.empty()) {
        std::size_t col = utf8_error_column(text);
        if (col == 0) {
            out.append(text);
            break;
        }
        out.append(text.substr(0, col - 1));
        out.append("\xEF\xBF\xBD");
        text.remove_prefix(col);
    }
    return out;
}

bool is_position_attribute(std::string_view n) noexcept {
    return n.size() > 3 && n[0] == 'e' && n[1] == 'v' && n[2] == 't' &&
           (n == "evttopic" || n == "evtpartition" || n == "evtoffset" || n == "evttime" || n == "evtversion" ||
            n == "evtdelivery");
}

Result<std::string> to_json_pointer(std::string_view path) {
    if (path.empty()) return make_error(ErrorKind::usage, "empty key path");
    if (path[0] == '/') return std::string(path);
    if (path.rfind("$.", 0) == 0) path.remove_prefix(1);  // JSONPath's root
    if (path[0] == '.') path.remove_prefix(1);
    std::string out;
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t dot = path.find('.', start);
        std::string_view part = path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (part.empty()) return make_error(ErrorKind::usage, "invalid key path '{}'", path);
        out += '/';
        for (char c : part) {
            if (c == '~') out += "~0";
            else if (c == '/') out += "~1";
            else out += c;
        }
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    return out;
}

Codec::Codec(FillOptions options) : opt_(std::move(options)) {
    opt_.source = json_escape_string(opt_.source);
}

Status Codec::check_bytes(std::string_view line) const {
    if (line.empty()) return Error{ErrorKind::invalid, "empty line"};
    if (line.size() > opt_.max_bytes)
        return make_error(ErrorKind::invalid, "event of {} bytes is over --max-bytes ({})", line.size(), opt_.max_bytes);
    if (const void* nul = std::memchr(line.data(), 0, line.size()))
        return make_error(ErrorKind::invalid, "NUL byte at column {}",
                          static_cast<const char*>(nul) - line.data() + 1);
    if (!simdjson::validate_utf8(line.data(), line.size()))
        return make_error(ErrorKind::invalid, "invalid UTF-8 at column {}", utf8_error_column(line));
    return {};
}

std::string_view Codec::strip_positions(std::string_view min) {
    // min is a valid, minified object: walk its top-level members.
    scratch_.clear();
    scratch_ += '{';
    std::size_t i = 1;
    bool first = true;
    while (i < min.size() && min[i] != '}') {
        std::size_t key_start = i;
        std::size_t key_end = skip_value(min, i);  // past the closing quote
        std::string_view name = min.substr(key_start + 1, key_end - key_start - 2);
        std::size_t value_end = skip_value(min, key_end + 1);
        if (!is_position_attribute(name)) {
            if (!first) scratch_ += ',';
            scratch_.append(min.substr(key_start, value_end - key_start));
            first = false;
        }
        i = value_end;
        if (i < min.size() && min[i] == ',') ++i;
    }
    scratch_ += '}';
    return scratch_;
}

Result<Prepared> Codec::prepare(std::string_view line, Micros now) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    EVT_TRY(check_bytes(line));
    min_.resize(line.size() + simdjson::SIMDJSON_PADDING);
    std::size_t min_len = line.size();
    bool compact = !std::memchr(line.data(), ' ', line.size()) && !std::memchr(line.data(), '\t', line.size()) &&
                   !std::memchr(line.data(), '\r', line.size());
    if (compact) {
        std::memcpy(min_.data(), line.data(), line.size());  // nothing to minify
    } else if (simdjson::minify(line.data(), line.size(), min_.data(), min_len) != simdjson::SUCCESS) {
        return Error{ErrorKind::invalid, "malformed JSON"};
    }
    simdjson::dom::element doc;
    if (auto err = parser_.parse(min_.data(), min_len, false).get(doc)) {
        if (err == simdjson::STRING_ERROR)
            return Error{ErrorKind::invalid, "malformed JSON: a string has a bad escape or a lone surrogate"};
        return make_error(ErrorKind::invalid, "malformed JSON: {}", simdjson::error_message(err));
    }
    simdjson::dom::object obj;
    if (doc.get_object().get(obj))
        return make_error(ErrorKind::invalid, "not a JSON object (got {})", kind_name(doc.type()));

    Prepared p;
    bool has_specversion = false, has_id = false, has_source = false, has_time = false, has_position = false;
    std::string_view partitionkey;
    bool has_partitionkey = false;
    simdjson::dom::element data;
    bool has_data = false;
    unsigned seen_mask = 0;
    for (auto field : obj) {
        std::string_view k = field.key;
        auto v = field.value;
        // A CloudEvents attribute given twice is ambiguous: readers disagree on which wins.
        static constexpr std::string_view kAttrs[] = {"type", "specversion", "id", "source", "time", "subject",
                                                      "partitionkey", "datacontenttype", "dataschema", "data"};
        for (unsigned a = 0; a < std::size(kAttrs); ++a) {
            if (k != kAttrs[a]) continue;
            if (seen_mask & (1u << a)) return make_error(ErrorKind::invalid, "'{}' is given twice", k);
            seen_mask |= 1u << a;
        }
        auto want_string = [&](std::string_view& out) -> Status {
            if (v.get_string().get(out) || out.empty())
                return make_error(ErrorKind::invalid, "'{}' must be a non-empty string", k);
            return {};
        };
        if (k == "type") {
            EVT_TRY(want_string(p.type));
        } else if (k == "specversion") {
            std::string_view sv;
            if (v.get_string().get(sv) || sv != "1.0")
                return make_error(ErrorKind::invalid, "'specversion' is {}, only \"1.0\" is supported",
                                  simdjson::to_string(v));
            has_specversion = true;
        } else if (k == "id") {
            EVT_TRY(want_string(p.id));
            has_id = true;
        } else if (k == "source") {
            std::string_view s;
            EVT_TRY(want_string(s));
            has_source = true;
        } else if (k == "time") {
            std::string_view t;
            if (v.get_string().get(t) || !parse_time(t, 0).ok() || t.size() < 20)
                return Error{ErrorKind::invalid, "'time' is not an RFC 3339 timestamp"};
            has_time = true;
        } else if (k == "subject") {
            if (v.get_string().get(p.subject)) return Error{ErrorKind::invalid, "'subject' must be a string"};
            p.has_subject = true;
        } else if (k == "partitionkey") {
            if (v.get_string().get(partitionkey)) return Error{ErrorKind::invalid, "'partitionkey' must be a string"};
            has_partitionkey = true;
        } else if (k == "data") {
            data = v;
            has_data = true;
        } else if (is_position_attribute(k)) {
            has_position = true;
        }
    }
    if (p.type.data() == nullptr) return Error{ErrorKind::invalid, "'type' is missing"};
    if (!has_id && opt_.require_id) return Error{ErrorKind::invalid, "'id' is missing (--require-id)"};
    if (opt_.check_event) {
        data_keys_.clear();
        simdjson::dom::object fields;
        if (has_data && !data.get_object().get(fields))
            for (auto f : fields) data_keys_.push_back(f.key);
        if (auto why = opt_.check_event(p.type, data_keys_)) return Error{ErrorKind::invalid, std::move(*why)};
    }

    if (!opt_.key_pointer.empty()) {
        simdjson::dom::element kv;
        if (!doc.at_pointer(opt_.key_pointer).get(kv)) {
            std::string_view ks;
            if (!kv.get_string().get(ks)) {
                key_buf_.assign(ks);
            } else {
                key_buf_ = simdjson::to_string(kv);
            }
            p.key = key_buf_;
            p.has_key = true;
        }
    }
    if (p.has_key) {
    } else if (has_partitionkey) {
        p.key = partitionkey;
        p.has_key = true;
    } else if (p.has_subject) {
        p.key = p.subject;
        p.has_key = true;
    }

    std::string_view body(min_.data(), min_len);
    if (has_position && !opt_.keep_position) body = strip_positions(body);
    if (has_specversion && has_id && has_source && has_time) {
        p.json = body;
        return p;
    }
    if (now == 0) now = now_micros();
    out_.clear();
    out_ += '{';
    if (!has_specversion) append_attr(out_, "specversion", "1.0");
    if (!has_id) {
        char id[36];
        uuid_.next(now / 1000, id);
        id_buf_.assign(id, 36);
        append_attr(out_, "id", id_buf_);
        p.id = id_buf_;
    }
    if (!has_source) append_attr(out_, "source", opt_.source);
    if (!has_time) {
        char t[24];
        format_time_ms(now, t);
        append_attr(out_, "time", std::string_view(t, 24));
    }
    if (body.size() > 2) {
        out_.append(body.substr(1));
    } else {
        out_.back() = '}';
    }
    p.json = out_;
    return p;
}

}  // namespace evt::event
