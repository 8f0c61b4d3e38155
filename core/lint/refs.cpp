#include "core/lint/refs.hpp"

#include <filesystem>

#include "core/lint/catalog.hpp"

namespace evt::lint {

namespace fs = std::filesystem;

const std::string& RefResolver::file_of(const Document* doc) const {
    if (doc == &main_) return file_;
    auto it = names_.find(doc);
    return it == names_.end() ? file_ : it->second;
}

Result<Resolved> RefResolver::resolve(Node node, std::string pointer) const {
    Resolved cur{node, std::move(pointer), false};
    for (int step = 0; step < 32; ++step) {
        Node ref = cur.node["$ref"];
        if (!ref) return cur;
        if (!ref.is_scalar())
            return make_error(ErrorKind::invalid, "$ref must be a string");
        const Document* doc = cur.node.document();
        EVT_ASSIGN(Resolved next, follow(*doc, file_of(doc), ref.str()));
        next.external = next.external || cur.external;
        cur = std::move(next);
    }
    return make_error(ErrorKind::invalid, "$ref chain too long or circular");
}

Result<Resolved> RefResolver::follow(const Document& from, const std::string& from_file, std::string_view ref) const {
    auto hash = ref.find('#');
    std::string_view path = ref.substr(0, hash);
    std::string pointer = hash == std::string_view::npos ? std::string() : std::string(ref.substr(hash + 1));
    const Document* target = &from;
    bool external = false;
    if (!path.empty()) {
        if (path.find("://") != std::string_view::npos)
            return make_error(ErrorKind::invalid, "cannot resolve $ref '{}': remote references are not fetched", ref);
        fs::path base = (from_file == "-" || from_file == "<stdin>") ? fs::current_path() : fs::path(from_file).parent_path();
        std::string full = (base / std::string(path)).lexically_normal().string();
        auto it = files_.find(full);
        if (it == files_.end()) {
            std::error_code ec;
            if (fs::exists(full, ec) && !fs::is_regular_file(full, ec))
                return make_error(ErrorKind::invalid, "cannot resolve $ref '{}': not a regular file", ref);
            auto text = read_file_text(full);
            if (!text.ok()) return make_error(ErrorKind::invalid, "cannot resolve $ref '{}': {}", ref, text.error().message);
            ParseFailure pf;
            auto doc = Document::parse(*text, pf);
            if (!doc)
                return make_error(ErrorKind::invalid, "cannot resolve $ref '{}': {}:{}:{}: {}", ref, full, pf.line,
                                  pf.column, pf.message);
            it = files_.emplace(full, std::make_unique<Document>(std::move(*doc))).first;
            names_[it->second.get()] = full;
        }
        target = it->second.get();
        external = true;
    }
    Node n = target->at_pointer(pointer);
    if (!n) return make_error(ErrorKind::invalid, "cannot resolve $ref '{}': no such node", ref);
    return Resolved{n, pointer, external};
}

}  // namespace evt::lint
