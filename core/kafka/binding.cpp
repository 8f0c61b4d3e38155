#include "core/kafka/binding.hpp"

#include <cctype>
#include <cstring>

namespace evt::kafka {

namespace {

bool iequals_prefix(std::string_view s, std::string_view prefix) {
    if (s.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
    return true;
}

void append_escaped(std::string& out, std::string_view s) {
    static const char* hex = "0123456789abcdef";
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
            if (u < 0x20) {
                out += "\\u00";
                out += hex[u >> 4];
                out += hex[u & 15];
            } else {
                out += c;
            }
        }
    }
}

void append_member(std::string& out, std::string_view name, std::string_view value) {
    if (out.size() > 1) out += ',';
    out += '"';
    append_escaped(out, name);
    out += "\":\"";
    append_escaped(out, value);
    out += '"';
}

bool is_json_text(std::string_view v) {
    simdjson::dom::parser p;
    return !p.parse(v.data(), v.size(), true).error();
}

}  // namespace

bool is_json_content_type(std::string_view ct) noexcept {
    std::string_view base = ct.substr(0, ct.find(';'));
    while (!base.empty() && base.back() == ' ') base.remove_suffix(1);
    std::string lower;
    for (char c : base) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return lower == "application/json" || lower == "text/json" ||
           (lower.size() > 5 && lower.compare(lower.size() - 5, 5, "+json") == 0);
}

bool is_structured_content_type(std::string_view ct) noexcept {
    constexpr std::string_view kPrefix = "application/cloudevents";
    return ct.starts_with(kPrefix) || iequals_prefix(ct, kPrefix);  // the exact spelling first: it is what writers use
}

std::string base64(std::string_view bytes) {
    static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
        std::uint32_t v = static_cast<unsigned char>(bytes[i]) << 16 | static_cast<unsigned char>(bytes[i + 1]) << 8 |
                          static_cast<unsigned char>(bytes[i + 2]);
        out += t[v >> 18];
        out += t[(v >> 12) & 63];
        out += t[(v >> 6) & 63];
        out += t[v & 63];
    }
    if (i < bytes.size()) {
        std::uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
        if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
        out += t[v >> 18];
        out += t[(v >> 12) & 63];
        out += i + 1 < bytes.size() ? t[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

void rebuild(std::string_view value, bool null_value, const std::vector<HeaderView>& headers, std::string& json) {
    json.clear();
    json += '{';
    std::string_view ct;
    bool has_ct = false, tombstone = false;
    for (const auto& [name, v] : headers) {
        if (name == "ce_evttombstone" && v == "true") {
            // evt's tombstone marker is a boolean.
            if (json.size() > 1) json += ',';
            json += "\"evttombstone\":true";
            tombstone = true;
        } else if (name.size() > 3 && name.compare(0, 3, "ce_") == 0) {
            append_member(json, name.substr(3), v);
        } else if (name == "content-type" && !has_ct) {
            append_member(json, "datacontenttype", v);
            ct = v;
            has_ct = true;
        }
    }
    if (null_value && tombstone) {
        json += ",\"data\":null";
    } else if (!null_value) {
        if (json.size() > 1) json += ',';
        if ((!has_ct || is_json_content_type(ct)) && is_json_text(value)) {
            json += "\"data\":";
            json += value;
        } else if (simdjson::validate_utf8(value.data(), value.size())) {
            json += "\"data\":\"";
            append_escaped(json, value);
            json += '"';
        } else {
            json += "\"data_base64\":\"";
            json += base64(value);
            json += '"';
        }
    }
    json += '}';
}

Status decode(std::string_view value, bool null_value, const std::vector<HeaderView>& headers, std::string& json) {
    bool binary = false;
    for (const auto& [name, v] : headers) {
        if (name == "content-type" && is_structured_content_type(v)) {
            if (null_value) return Error{ErrorKind::invalid, "a structured-mode record with no value"};
            json.assign(value);
            return {};
        }
        if (name == "ce_specversion") binary = true;
    }
    if (binary) {
        rebuild(value, null_value, headers, json);
        return {};
    }
    // No binding headers: a plain producer's JSON event.
    if (!null_value && !value.empty() && value.front() == '{' && value.find("\"specversion\"") != std::string_view::npos) {
        json.assign(value);
        return {};
    }
    return Error{ErrorKind::invalid,
                 "not a CloudEvent: no content-type application/cloudevents+json, no ce_specversion header, and the "
                 "value is not a JSON event"};
}

Status Encoder::encode(std::string_view json, Encoded& out) {
    out.binary = false;
    out.null_value = false;
    out.value.clear();
    // Headers are assigned in place: an encoder called for every event of a
    // run reuses the strings of the previous one instead of allocating.
    std::size_t nh = 0;
    auto put = [&](std::string_view name, std::string_view value) {
        if (nh == out.headers.size()) out.headers.emplace_back();
        out.headers[nh].name.assign(name);
        out.headers[nh].value.assign(value);
        ++nh;
    };
    auto structured = [&] {
        if (out.headers.size() == 1 && out.headers[0].name == "content-type" &&
            out.headers[0].value == kStructuredType)
            return;  // what the previous event had
        nh = 0;
        put("content-type", kStructuredType);
        out.headers.resize(nh);
    };
    // Structured mode writes the event as the value, except a tombstone,
    // which must be a null value for Kafka's compaction to see it.
    const bool want_binary = mode_ == Mode::binary;
    static constexpr std::string_view kTombstone = "\"evttombstone\":true";
    static constexpr std::string_view kNullData = "\"data\":null}";  // a tombstone's data is null and last
    if (!want_binary && (!json.ends_with(kNullData) ||
                         !memmem(json.data(), json.size(), kTombstone.data(), kTombstone.size()))) {
        structured();
        return {};
    }
    padded_.assign(json);
    padded_.append(simdjson::SIMDJSON_PADDING, ' ');
    auto doc = parser_.iterate(padded_.data(), json.size(), padded_.size());
    simdjson::ondemand::object obj;
    if (doc.get_object().get(obj)) return Error{ErrorKind::invalid, "the event is not a JSON object"};
    bool ok = true, has_data = false, after_data = false, tombstone = false, data_null = false;
    for (auto field : obj) {
        std::string_view key;
        if (field.unescaped_key().get(key)) return Error{ErrorKind::invalid, "malformed event JSON"};
        simdjson::ondemand::value v = field.value();
        if (key == "data") {
            // The data's text runs from its first byte to the event's closing
            // brace when it is the last member (else binary mode is not used).
            std::string_view tok = v.raw_json_token();
            std::size_t start = static_cast<std::size_t>(tok.data() - padded_.data());
            if (start >= json.size()) return Error{ErrorKind::invalid, "malformed event JSON"};
            std::string_view raw = json.substr(start, json.size() - 1 - start);
            if (raw == "null") {
                // A tombstone (evttombstone before it) becomes a null value; other nulls cannot travel.
                if (!tombstone) ok = false;
                has_data = false;
                data_null = true;
                continue;
            }
            out.value.assign(raw);
            has_data = true;
            continue;
        }
        if (has_data || data_null) after_data = true;
        simdjson::ondemand::json_type type;
        if (v.type().get(type)) return Error{ErrorKind::invalid, "malformed event JSON"};
        if (key == "evttombstone" && type == simdjson::ondemand::json_type::boolean) {
            bool b = false;
            if (v.get_bool().get(b)) return Error{ErrorKind::invalid, "malformed event JSON"};
            if (b) {
                tombstone = true;
                put("ce_evttombstone", "true");
                continue;
            }
        }
        if (type != simdjson::ondemand::json_type::string) {
            ok = false;
            continue;
        }
        std::string_view s;
        if (v.get_string().get(s)) return Error{ErrorKind::invalid, "malformed event JSON"};
        if (key == "data_base64") ok = false;
        if (key == "datacontenttype") {
            put("content-type", s);
        } else {
            put({}, s);
            out.headers[nh - 1].name.assign("ce_").append(key);
        }
    }
    out.headers.resize(nh);
    if (after_data || (tombstone && !data_null)) ok = false;
    if (ok) {
        // A string data under a non-JSON content type is carried as its text.
        std::vector<HeaderView> views;
        views.reserve(out.headers.size());
        for (const auto& h : out.headers) views.emplace_back(h.name, h.value);
        std::string_view ct;
        bool has_ct = false;
        for (const auto& h : out.headers)
            if (h.name == "content-type") ct = h.value, has_ct = true;
        if (has_data && has_ct && !is_json_content_type(ct) && out.value.size() >= 2 && out.value.front() == '"') {
            padded_.assign(out.value);
            padded_.append(simdjson::SIMDJSON_PADDING, ' ');
            auto sdoc = parser_.iterate(padded_.data(), out.value.size(), padded_.size());
            std::string_view text;
            if (sdoc.get_string().get(text)) ok = false;
            else out.value.assign(text);
        }
        if (ok) {
            rebuild(out.value, !has_data, views, rebuilt_);
            ok = rebuilt_ == json;
        }
    }
    if (ok && !want_binary && !(tombstone && data_null)) ok = false;
    if (!ok) {
        if (want_binary) ++fallbacks_;
        out.value.clear();
        structured();
        return {};
    }
    out.binary = true;
    out.null_value = !has_data;  // no data, or a tombstone's null
    return {};
}

}  // namespace evt::kafka
