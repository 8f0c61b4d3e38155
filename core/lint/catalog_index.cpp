#include "core/lint/catalog_index.hpp"

#include <algorithm>

#include "core/lint/catalog.hpp"

namespace evt::lint {

Result<CatalogIndex> CatalogIndex::load(const std::string& file) {
    EVT_ASSIGN(Catalog cat, load_catalog(file, {}));
    if (!cat.problems.empty()) {
        const Finding& f = cat.problems.front();
        return make_error(ErrorKind::invalid, "{}:{}:{}: {}", f.file, f.pos.line, f.pos.column, f.message);
    }
    CatalogIndex idx;
    for (const auto& m : cat.messages) {
        auto& req = idx.required_[m.name];
        for (const auto& field : m.fields)
            if (field.required && std::find(req.begin(), req.end(), field.name) == req.end()) req.push_back(field.name);
    }
    return idx;
}

bool CatalogIndex::contains(std::string_view type) const { return required_.count(std::string(type)) > 0; }

std::optional<std::string> CatalogIndex::check(std::string_view type, const std::vector<std::string_view>& data_keys) const {
    auto it = required_.find(std::string(type));
    if (it == required_.end()) return fmt::format("type '{}' is not in the catalog", type);
    for (const auto& field : it->second)
        if (std::find(data_keys.begin(), data_keys.end(), field) == data_keys.end())
            return fmt::format("data lacks the required field '{}' of '{}'", field, type);
    return std::nullopt;
}

}  // namespace evt::lint
