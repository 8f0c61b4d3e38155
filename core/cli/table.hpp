// Aligned text tables for people (`describe`, `query --format table`).
// Columns are left-aligned unless marked numeric (right-aligned); cells are
// plain text. Pure; no errors.
#pragma once

#include <string>
#include <vector>

namespace evt::cli {

class Table {
public:
    explicit Table(std::vector<std::string> headers, std::vector<bool> numeric = {});
    void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
    std::string render() const;

private:
    std::vector<std::string> headers_;
    std::vector<bool> numeric_;
    std::vector<std::vector<std::string>> rows_;
};

}  // namespace evt::cli
