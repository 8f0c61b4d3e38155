#include "core/cli/table.hpp"

#include <algorithm>

namespace evt::cli {

namespace {
// Display width: count UTF-8 lead bytes, not continuation bytes.
std::size_t width(const std::string& s) {
    return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xc0) != 0x80; }));
}
}  // namespace

Table::Table(std::vector<std::string> headers, std::vector<bool> numeric)
    : headers_(std::move(headers)), numeric_(std::move(numeric)) {
    numeric_.resize(headers_.size(), false);
}

std::string Table::render() const {
    std::vector<std::size_t> w(headers_.size());
    for (std::size_t i = 0; i < headers_.size(); ++i) w[i] = width(headers_[i]);
    for (const auto& r : rows_)
        for (std::size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], width(r[i]));
    std::string out;
    auto line = [&](const std::vector<std::string>& cells) {
        std::string l;
        for (std::size_t i = 0; i < w.size(); ++i) {
            const std::string cell = i < cells.size() ? cells[i] : "";
            std::string pad(w[i] - width(cell), ' ');
            if (i) l += "  ";
            l += numeric_[i] ? pad + cell : cell + (i + 1 < w.size() ? pad : "");
        }
        out += l + "\n";
    };
    line(headers_);
    for (const auto& r : rows_) line(r);
    return out;
}

}  // namespace evt::cli
