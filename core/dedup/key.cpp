#include "core/dedup/key.hpp"

#include "core/event/codec.hpp"

namespace evt::dedup {

Result<KeyExtractor> KeyExtractor::make(const std::vector<std::string>& paths) {
    KeyExtractor k;
    std::vector<std::string> all = paths.empty() ? std::vector<std::string>{"id"} : paths;
    for (const auto& p : all) {
        // "source,id" is two paths
        std::size_t start = 0;
        while (start <= p.size()) {
            std::size_t comma = p.find(',', start);
            std::string part = p.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
            EVT_ASSIGN(std::string ptr, event::to_json_pointer(part));
            k.pointers_.push_back(ptr);
            k.display_.push_back(part);
            if (comma == std::string::npos) break;
            start = comma + 1;
        }
    }
    return k;
}

Result<bool> KeyExtractor::extract(std::string_view line, std::string_view& key) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    buf_.assign(line);
    buf_.append(simdjson::SIMDJSON_PADDING, '\0');
    simdjson::dom::element doc;
    if (auto err = parser_.parse(buf_.data(), line.size(), false).get(doc))
        return make_error(ErrorKind::invalid, "malformed JSON: {}", simdjson::error_message(err));
    if (!doc.is_object()) return Error{ErrorKind::invalid, "not a JSON object"};
    key_.clear();
    for (std::size_t i = 0; i < pointers_.size(); ++i) {
        simdjson::dom::element v;
        if (doc.at_pointer(pointers_[i]).get(v)) return false;
        std::string_view s;
        std::string text;
        if (v.get_string().get(s)) {
            text = simdjson::minify(v);
            s = text;
        }
        // One path: the value itself. Several: each length-prefixed, so that
        // different tuples never join to the same key.
        if (pointers_.size() > 1) key_ += fmt::format("{}:", s.size());
        key_.append(s);
    }
    key = key_;
    return true;
}

}  // namespace evt::dedup
