// NDJSON event streams: the distinct CloudEvents `type`s, each with the line
// where it first appears and how many events carried it.
#include <unordered_map>

#include <simdjson.h>

#include "core/lint/readers.hpp"

namespace evt::lint {

void read_events(const std::string& text, Catalog& out) {
    simdjson::ondemand::parser parser;
    std::unordered_map<std::string, std::size_t> index;
    std::size_t pos = 0;
    std::uint32_t line_no = 0;
    while (pos < text.size()) {
        std::size_t nl = text.find('\n', pos);
        if (nl == std::string::npos) nl = text.size();
        std::string_view line(text.data() + pos, nl - pos);
        pos = nl + 1;
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
        ++out.events_total;
        simdjson::padded_string padded(line);
        simdjson::ondemand::document doc;
        std::string_view type;
        auto bad = [&](std::string what) {
            out.problems.push_back(invalid_document(out.file, line_no, 1, std::move(what), fmt::format("/{}", line_no - 1)));
            out.unreadable = true;
        };
        if (parser.iterate(padded).get(doc) != simdjson::SUCCESS) {
            bad("malformed JSON event");
            continue;
        }
        simdjson::ondemand::object obj;
        if (doc.get_object().get(obj) != simdjson::SUCCESS) {
            bad("malformed JSON event, or not a JSON object");
            continue;
        }
        auto field = obj.find_field_unordered("type");
        if (field.error() == simdjson::NO_SUCH_FIELD) {
            bad("event has no 'type'");
            continue;
        }
        if (field.get_string().get(type) != simdjson::SUCCESS || type.empty()) {
            bad("malformed JSON event or 'type' is not a non-empty string");
            continue;
        }
        auto [it, fresh] = index.try_emplace(std::string(type), out.messages.size());
        if (fresh) {
            Message m;
            m.name = std::string(type);
            auto col = line.find("\"type\"");
            std::uint32_t c = col == std::string_view::npos ? 1 : static_cast<std::uint32_t>(col + 1);
            m.pos = {line_no, c, line_no, c + 6};
            m.pointer = fmt::format("/{}/type", line_no - 1);
            out.messages.push_back(std::move(m));
        }
        ++out.messages[it->second].count;
    }
}

}  // namespace evt::lint
