#include "core/lint/yaml_fast.hpp"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace evt::lint {

namespace {
constexpr std::uint32_t kFail = std::numeric_limits<std::uint32_t>::max();
bool is_space(char c) { return c == ' '; }
}  // namespace

class FastYaml {
public:
    FastYaml(std::string_view s, Document& d) : s_(s), d_(d) {}

    bool run() {
        if (!plain_text(s_)) return false;  // control characters, bad UTF-8, a BOM: leave to yaml-cpp
        if (!next_content_line()) return false;
        if (col() == 1 && s_.substr(p_, 3) == "---" && (p_ + 3 == s_.size() || s_[p_ + 3] == '\n' || s_[p_ + 3] == ' ')) {
            skip_to_eol();
            if (!next_content_line()) return false;
        }
        std::uint32_t root = parse_block(0);
        if (root == kFail || fail_ || !eof_) return false;
        return root == 0;
    }

private:
    // Printable UTF-8 with tabs and line breaks only, and no byte-order mark.
    static bool plain_text(std::string_view s) {
        for (std::size_t i = 0; i < s.size();) {
            auto c = static_cast<unsigned char>(s[i]);
            if (c < 0x80) {
                if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) return false;
                if (c == '\r' && (i + 1 == s.size() || s[i + 1] != '\n')) return false;  // a lone CR
                ++i;
                continue;
            }
            std::size_t len = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
            if (len == 0 || c > 0xF4 || i + len > s.size()) return false;
            for (std::size_t k = 1; k < len; ++k)
                if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
            if (c == 0xEF && static_cast<unsigned char>(s[i + 1]) == 0xBB) return false;  // BOM, U+FEFF
            if (c == 0xC2 && static_cast<unsigned char>(s[i + 1]) < 0xA0) return false;   // C1 controls, NEL
            if (c == 0xE2 && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
                (static_cast<unsigned char>(s[i + 2]) == 0xA8 || static_cast<unsigned char>(s[i + 2]) == 0xA9))
                return false;  // LS, PS: YAML line breaks
            i += len;
        }
        return true;
    }

    // ---- positions and lines ----
    std::uint32_t col() const { return static_cast<std::uint32_t>(p_ - line_start_ + 1); }
    std::uint32_t indent() const { return col() - 1; }
    char at(std::size_t k = 0) const { return p_ + k < s_.size() ? s_[p_ + k] : '\0'; }
    bool at_eol(std::size_t k = 0) const {
        char c = at(k);
        return c == '\0' || c == '\n' || (c == '\r' && (at(k + 1) == '\n' || at(k + 1) == '\0'));
    }
    void newline() {
        ++p_;
        ++line_;
        line_start_ = p_;
    }
    void skip_to_eol() {
        while (p_ < s_.size() && s_[p_] != '\n') ++p_;
    }
    // Move to the first character of the next line with content (not blank,
    // not only a comment). Sets eof_ at the end. Fails on tabs in indentation
    // and on document markers.
    bool next_content_line() {
        while (true) {
            while (p_ < s_.size() && s_[p_] != '\n' && p_ != line_start_) ++p_;  // finish the current line
            if (p_ < s_.size() && s_[p_] == '\n' && p_ != line_start_) newline();
            if (p_ >= s_.size()) { eof_ = true; return false; }
            std::size_t q = p_;
            while (q < s_.size() && s_[q] == ' ') ++q;
            if (q < s_.size() && s_[q] == '\t') { fail_ = true; eof_ = true; return false; }
            if (q >= s_.size()) { p_ = q; eof_ = true; return false; }
            char c = s_[q];
            if (c == '\n' || c == '\r' || c == '#') {
                p_ = q;
                skip_to_eol();
                if (p_ < s_.size()) newline();
                continue;
            }
            p_ = q;
            if (col() == 1 && (s_.substr(p_, 3) == "---" || s_.substr(p_, 3) == "...")) { fail_ = true; eof_ = true; return false; }
            if (col() == 1 && c == '%') { fail_ = true; eof_ = true; return false; }
            return true;
        }
    }
    // After an inline value: only spaces and a comment may follow.
    bool finish_line() {
        while (is_space(at())) ++p_;
        if (at() == '#') skip_to_eol();
        if (at() == '\r') ++p_;
        if (!(at() == '\n' || at() == '\0')) return fail();
        if (at() == '\n') newline();
        next_content_line();
        return !fail_;
    }
    // After an inline value; a block scalar has already moved to the next line.
    bool end_inline() {
        if (block_scalar_done_) {
            block_scalar_done_ = false;
            return !fail_;
        }
        return finish_line();
    }
    bool fail() {
        fail_ = true;
        return false;
    }

    // ---- nodes ----
    std::uint32_t node(NodeKind k, std::uint32_t line, std::uint32_t column) {
        auto id = static_cast<std::uint32_t>(d_.nodes_.size());
        d_.nodes_.push_back({k, line, column, 0, 0});
        return id;
    }
    std::uint32_t scalar(std::uint32_t line, std::uint32_t column, std::string_view v, bool plain) {
        bool null = plain && (v.empty() || v == "~" || v == "null" || v == "Null" || v == "NULL");
        std::uint32_t id = node(null ? NodeKind::null : NodeKind::scalar, line, column);
        d_.nodes_[id].begin = static_cast<std::uint32_t>(d_.pool_.size());
        d_.nodes_[id].count = null ? 0 : static_cast<std::uint32_t>(v.size());
        if (!null) d_.pool_ += v;
        return id;
    }
    void close(std::uint32_t id, const std::vector<std::uint32_t>& kids) {
        d_.nodes_[id].begin = static_cast<std::uint32_t>(d_.children_.size());
        d_.nodes_[id].count = static_cast<std::uint32_t>(kids.size());
        d_.children_.insert(d_.children_.end(), kids.begin(), kids.end());
    }

    // ---- block structure ----
    bool seq_start() const { return at() == '-' && (at(1) == ' ' || at_eol(1)); }
    static bool special_start(char c) {
        switch (c) {
        case '-': case '?': case ':': case ',': case '[': case ']': case '{': case '}': case '#': case '&':
        case '*': case '!': case '|': case '>': case '%': case '@': case '`': return true;
        default: return false;
        }
    }
    bool key_line() const {
        std::size_t q = p_;
        char c = at();
        if (c == '"' || c == '\'') {
            ++q;
            while (q < s_.size() && s_[q] != c && s_[q] != '\n') q += (c == '"' && s_[q] == '\\') ? 2 : 1;
            if (q >= s_.size() || s_[q] != c) return false;
            ++q;
            while (q < s_.size() && s_[q] == ' ') ++q;
            return q < s_.size() && s_[q] == ':' && (q + 1 == s_.size() || s_[q + 1] == ' ' || s_[q + 1] == '\n' || s_[q + 1] == '\r');
        }
        if (special_start(c) || c == '"' || c == '\'') return false;
        for (; q < s_.size() && s_[q] != '\n'; ++q) {
            if (s_[q] == '#' && q > p_ && s_[q - 1] == ' ') return false;
            if (s_[q] == ':' && (q + 1 == s_.size() || s_[q + 1] == ' ' || s_[q + 1] == '\n' || s_[q + 1] == '\r')) return true;
        }
        return false;
    }

    std::uint32_t parse_block(std::uint32_t min_indent) {
        if (indent() < min_indent || ++block_depth_ > 256) return kFail;  // deep nesting: leave to yaml-cpp's guard
        std::uint32_t id = parse_block_inner(min_indent);
        --block_depth_;
        return id;
    }
    std::uint32_t parse_block_inner(std::uint32_t min_indent) {
        if (seq_start()) return parse_seq(indent());
        if (key_line()) return parse_map(indent());
        std::uint32_t v = parse_inline(static_cast<int>(min_indent) - 1);
        if (v == kFail || !end_inline()) return kFail;
        return v;
    }

    std::uint32_t parse_key() {
        // YAML limits implicit keys to 1024 characters (yaml-cpp enforces it).
        std::size_t eol = s_.find('\n', p_);
        if ((eol == std::string_view::npos ? s_.size() : eol) - p_ > 1000) return kFail;
        std::uint32_t l = line_, c = col();
        char q = at();
        if (q == '"' || q == '\'') {
            std::uint32_t k = parse_quoted();
            while (is_space(at())) ++p_;
            if (k == kFail || at() != ':') return kFail;
            ++p_;
            return k;
        }
        std::size_t b = p_;
        while (!(at() == ':' && (at(1) == ' ' || at_eol(1)))) {
            if (at() == '\t') return kFail;
            ++p_;
        }
        std::size_t e = p_;
        while (e > b && s_[e - 1] == ' ') --e;
        ++p_;
        return scalar(l, c, s_.substr(b, e - b), true);
    }

    // After "key:" or "-": the value starts on a later line (or is null).
    std::uint32_t value_below(std::uint32_t indent_of_parent, bool allow_same_indent_seq) {
        if (!finish_line()) return kFail;
        if (!eof_ && indent() > indent_of_parent) return parse_block(indent() > 0 ? indent() : 0);
        if (!eof_ && allow_same_indent_seq && indent() == indent_of_parent && seq_start()) return parse_seq(indent());
        if (eof_) return kFail;  // an empty value at the end of the file: yaml-cpp's position for it varies
        return scalar(line_, col(), {}, true);  // yaml-cpp places an empty value at the next token
    }

    std::uint32_t parse_map(std::uint32_t ind) {
        std::uint32_t id = node(NodeKind::mapping, line_, col());
        std::vector<std::uint32_t> kids;
        while (true) {
            if (!key_line()) return kFail;
            std::uint32_t k = parse_key();
            if (k == kFail) return kFail;
            kids.push_back(k);
            while (is_space(at())) ++p_;
            std::uint32_t v;
            if (at_eol() || at() == '#') {
                v = value_below(ind, true);
            } else {
                v = parse_inline(static_cast<int>(ind));
                if (v != kFail && !end_inline()) v = kFail;
            }
            if (v == kFail || fail_) return kFail;
            kids.push_back(v);
            if (eof_ || indent() < ind) break;
            if (indent() > ind) return kFail;
        }
        close(id, kids);
        return id;
    }

    std::uint32_t parse_seq(std::uint32_t ind) {
        std::uint32_t id = node(NodeKind::sequence, line_, col());
        std::vector<std::uint32_t> kids;
        while (true) {
            if (!seq_start()) break;
            ++p_;
            while (is_space(at())) ++p_;
            std::uint32_t v;
            if (at_eol() || at() == '#') {
                v = value_below(ind, false);
            } else if (seq_start()) {
                if (++block_depth_ > 256) return kFail;
                v = parse_seq(indent());
                --block_depth_;
            } else if (key_line()) {
                v = parse_map(indent());
            } else {
                v = parse_inline(static_cast<int>(ind));
                if (v != kFail && !end_inline()) v = kFail;
            }
            if (v == kFail || fail_) return kFail;
            kids.push_back(v);
            if (eof_ || indent() < ind) break;
            if (indent() > ind) return kFail;
        }
        close(id, kids);
        return id;
    }

    // ---- scalars and flow ----
    std::uint32_t parse_inline(int parent_indent) {
        char c = at();
        if (c == '[' || c == '{') return parse_flow();
        if (c == '"' || c == '\'') return parse_quoted();
        if (c == '|' || c == '>') return parse_block_scalar(parent_indent);
        if (special_start(c) && !(c == '-' && !(at(1) == ' ' || at_eol(1))) && c != ':') return kFail;
        if (c == ':' && (at(1) == ' ' || at_eol(1))) return kFail;
        std::uint32_t l = line_, cl = col();
        std::size_t b = p_;
        while (!at_eol()) {
            if (at() == ' ' && at(1) == '#') break;
            if (at() == ':' && (at(1) == ' ' || at_eol(1))) return kFail;
            if (at() == '\t') return kFail;
            ++p_;
        }
        std::size_t e = p_;
        while (e > b && s_[e - 1] == ' ') --e;
        return scalar(l, cl, s_.substr(b, e - b), true);
    }

    static void utf8(std::string& out, std::uint32_t cp) {
        if (cp < 0x80) out += static_cast<char>(cp);
        else if (cp < 0x800) { out += static_cast<char>(0xC0 | (cp >> 6)); out += static_cast<char>(0x80 | (cp & 0x3F)); }
        else { out += static_cast<char>(0xE0 | (cp >> 12)); out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F)); out += static_cast<char>(0x80 | (cp & 0x3F)); }
    }

    std::uint32_t parse_quoted() {
        char q = at();
        std::uint32_t l = line_, c = col();
        ++p_;
        std::string v;
        while (true) {
            char ch = at();
            if (ch == '\0' || ch == '\n' || ch == '\r') return kFail;  // multi-line: yaml-cpp folds it
            if (q == '\'' && ch == '\'') {
                if (at(1) == '\'') { v += '\''; p_ += 2; continue; }
                ++p_;
                break;
            }
            if (q == '"' && ch == '"') { ++p_; break; }
            if (q == '"' && ch == '\\') {
                char e = at(1);
                p_ += 2;
                switch (e) {
                case '\\': v += '\\'; break;
                case '"': v += '"'; break;
                case '/': v += '/'; break;
                case 'b': v += '\b'; break;
                case 'f': v += '\f'; break;
                case 'n': v += '\n'; break;
                case 'r': v += '\r'; break;
                case 't': v += '\t'; break;
                case '0': v += '\0'; break;
                case 'u': {
                    if (p_ + 4 > s_.size()) return kFail;
                    std::uint32_t cp = 0;
                    for (int i = 0; i < 4; ++i) {
                        char h = s_[p_ + i];
                        cp <<= 4;
                        if (h >= '0' && h <= '9') cp |= h - '0';
                        else if (h >= 'a' && h <= 'f') cp |= h - 'a' + 10;
                        else if (h >= 'A' && h <= 'F') cp |= h - 'A' + 10;
                        else return kFail;
                    }
                    if (cp >= 0xD800 && cp <= 0xDFFF) return kFail;
                    utf8(v, cp);
                    p_ += 4;
                    break;
                }
                default: return kFail;
                }
                continue;
            }
            v += ch;
            ++p_;
        }
        return scalar(l, c, v, false);
    }

    void skip_flow_space() {
        while (true) {
            char c = at();
            if (c == ' ' || c == '\r' || c == '\t') ++p_;
            else if (c == '\n') {
                newline();
                // "---" or "..." at the start of a line ends the document, even inside [...] or {...}.
                if ((s_.substr(p_, 3) == "---" || s_.substr(p_, 3) == "...")) fail_ = true;
            } else if (c == '#' && p_ > 0 && (s_[p_ - 1] == ' ' || s_[p_ - 1] == '\n')) skip_to_eol();
            else return;
        }
    }

    std::uint32_t flow_plain() {
        std::uint32_t l = line_, c = col();
        std::size_t b = p_;
        while (true) {
            char ch = at();
            if (ch == '\0' || ch == '\n' || ch == '\r' || ch == ',' || ch == '[' || ch == ']' || ch == '{' || ch == '}') break;
            if (ch == ':' && (at(1) == ' ' || at(1) == ',' || at(1) == ']' || at(1) == '}' || at_eol(1))) break;
            if (ch == ' ' && at(1) == '#') break;
            if (ch == '\t' || ch == '?') return kFail;  // yaml-cpp rejects '?' inside flow scalars: agree with it
            ++p_;
        }
        std::size_t e = p_;
        while (e > b && s_[e - 1] == ' ') --e;
        if (at() == '\n' || at() == '\r') {  // a plain scalar running onto the next line: yaml-cpp folds it
            std::size_t q = p_;
            while (q < s_.size() && (s_[q] == '\n' || s_[q] == '\r' || s_[q] == ' ')) ++q;
            if (q < s_.size() && s_[q] != ',' && s_[q] != ']' && s_[q] != '}' && s_[q] != ':') return kFail;
        }
        if (e == b) return kFail;
        return scalar(l, c, s_.substr(b, e - b), true);
    }

    std::uint32_t flow_item() {
        char c = at();
        if (c == ':') return kFail;
        if (c == '[' || c == '{') return parse_flow();
        if (c == '"' || c == '\'') return parse_quoted();
        if (c == '&' || c == '*' || c == '!' || c == '?' || c == '|' || c == '>' || c == '%' || c == '@' || c == '`' || c == '#')
            return kFail;
        if (c == '-' && (at(1) == ' ' || at(1) == ',')) return kFail;
        return flow_plain();
    }

    std::uint32_t parse_flow() {
        char open = at();
        char close_ch = open == '[' ? ']' : '}';
        std::uint32_t id = node(open == '[' ? NodeKind::sequence : NodeKind::mapping, line_, col());
        if (++depth_ > 512) return kFail;
        ++p_;
        std::vector<std::uint32_t> kids;
        while (true) {
            skip_flow_space();
            if (fail_) return kFail;
            if (at() == close_ch) { ++p_; break; }
            std::size_t item_start = p_;
            std::uint32_t item = flow_item();
            if (open == '{' && p_ - item_start > 1000) return kFail;  // the 1024-character implicit-key limit
            if (item == kFail) return kFail;
            std::uint32_t key_line = line_;
            skip_flow_space();
            if (fail_) return kFail;
            if (open == '{') {
                if (at() != ':' || line_ != key_line) return kFail;  // an implicit key and its ':' share a line
                ++p_;
                kids.push_back(item);
                skip_flow_space();
                if (fail_) return kFail;
                std::uint32_t v = (at() == ',' || at() == '}') ? scalar(line_, col(), {}, true) : flow_item();
                if (v == kFail) return kFail;
                kids.push_back(v);
                skip_flow_space();
                if (fail_) return kFail;
            } else {
                if (at() == ':') return kFail;  // single-pair mappings in sequences: leave to yaml-cpp
                kids.push_back(item);
            }
            if (at() == ',') { ++p_; continue; }
            if (at() == close_ch) { ++p_; break; }
            return kFail;
        }
        --depth_;
        close(id, kids);
        return id;
    }

    std::uint32_t parse_block_scalar(int parent_indent) {
        if (parent_indent < 0) return kFail;  // a block scalar as the whole document: yaml-cpp reads it its own way
        std::uint32_t l = line_, c = col();
        bool literal = at() == '|';
        ++p_;
        char chomp = 'c';
        if (at() == '-' || at() == '+') { chomp = at(); ++p_; }
        if (at() >= '1' && at() <= '9') return kFail;
        while (is_space(at())) ++p_;
        if (at() == '#') skip_to_eol();
        if (at() == '\r') ++p_;
        if (at() != '\n') return at() == '\0' ? scalar(l, c, {}, false) : kFail;
        newline();
        std::vector<std::string_view> lines;
        std::size_t content_indent = 0;
        bool terminated = true;  // the last line read ended with a line break
        while (p_ < s_.size()) {
            std::size_t q = p_;
            while (q < s_.size() && s_[q] == ' ') ++q;
            std::size_t eol = s_.find('\n', q);
            if (eol == std::string_view::npos) eol = s_.size();
            std::string_view rest = s_.substr(q, eol - q);
            if (!rest.empty() && rest.back() == '\r') rest.remove_suffix(1);
            std::size_t ind = q - p_;
            if (rest.empty()) {
                // Spaces beyond the indentation are content (literal) or fold
                // specially: leave such lines to yaml-cpp.
                if (ind > 0 && (content_indent == 0 || ind > content_indent)) return kFail;
                lines.push_back({});
            } else {
                if (s_[q] == '\t' && content_indent == 0) return kFail;
                if (content_indent == 0) {
                    if (static_cast<int>(ind) <= parent_indent) break;
                    content_indent = ind;
                }
                if (ind < content_indent) break;
                if (!literal && ind > content_indent) return kFail;
                lines.push_back(s_.substr(p_ + content_indent, eol - p_ - content_indent));
                if (!lines.back().empty() && lines.back().back() == '\r') lines.back().remove_suffix(1);
            }
            p_ = eol;
            terminated = p_ < s_.size();
            if (terminated) newline();
        }
        // Trailing blank lines belong to chomping.
        std::size_t trailing = 0;
        while (!lines.empty() && lines.back().empty()) { lines.pop_back(); ++trailing; }
        std::string v;
        for (std::size_t i = 0; i < lines.size(); ++i) {
            if (literal) {
                if (i) v += '\n';
            } else if (lines[i].empty()) {
                v += '\n';  // folding: each blank line between text lines is one newline
                continue;
            } else if (i && !lines[i - 1].empty()) {
                v += ' ';
            }
            v += lines[i];
        }
        if (!lines.empty() && chomp != '-' && (terminated || trailing > 0)) v += '\n';
        if (chomp == '+') v.append(trailing, '\n');
        // Leave the cursor on the next content line, as finish_line() would.
        line_start_ = p_;
        if (p_ >= s_.size()) eof_ = true;
        else next_content_line();
        block_scalar_done_ = true;
        return scalar(l, c, v, false);
    }

    std::string_view s_;
    Document& d_;
    std::size_t p_ = 0, line_start_ = 0;
    std::uint32_t line_ = 1;
    bool fail_ = false, eof_ = false;
    int depth_ = 0;
    int block_depth_ = 0;
    bool block_scalar_done_ = false;
};

bool fast_parse(std::string_view text, Document& doc) {
    FastYaml p(text, doc);
    return p.run();
}

}  // namespace evt::lint
