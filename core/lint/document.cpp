#include "core/lint/document.hpp"
#include "core/lint/yaml_fast.hpp"

#include <cctype>
#include <istream>
#include <streambuf>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

namespace evt::lint {

namespace {

// Reads a string_view through std::istream without copying it.
class ViewBuf : public std::streambuf {
public:
    explicit ViewBuf(std::string_view s) {
        char* b = const_cast<char*>(s.data());
        setg(b, b, b + s.size());
    }
};

// JSON allows tabs between tokens; YAML's flow syntax mostly does too, but
// yaml-cpp rejects a tab that starts a line. Tabs outside strings become spaces
// (one for one, so columns stay right).
std::string detab_json(std::string_view text) {
    std::string out(text);
    bool in_string = false;
    for (std::size_t i = 0; i < out.size(); ++i) {
        char c = out[i];
        if (in_string) {
            if (c == '\\') ++i;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '\t') {
            out[i] = ' ';
        }
    }
    return out;
}

bool looks_like_json(std::string_view text) {
    for (char c : text) {
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
        return c == '{' || c == '[';
    }
    return false;
}

}  // namespace

class TreeBuilder : public YAML::EventHandler {
public:
    explicit TreeBuilder(Document& d) : d_(d) {}

    void OnDocumentStart(const YAML::Mark&) override {}
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark& m, YAML::anchor_t a) override { leaf(m, a, NodeKind::null, {}); }
    void OnAlias(const YAML::Mark&, YAML::anchor_t a) override {
        std::uint32_t target = a < anchors_.size() ? anchors_[a] : 0;
        attach(target);
    }
    void OnScalar(const YAML::Mark& m, const std::string& tag, YAML::anchor_t a, const std::string& v) override {
        bool plain_null = tag == "?" && (v == "~" || v == "null" || v == "Null" || v == "NULL");
        leaf(m, a, plain_null ? NodeKind::null : NodeKind::scalar, v);
    }
    void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t a,
                         YAML::EmitterStyle::value) override {
        open(m, a, NodeKind::sequence);
    }
    void OnSequenceEnd() override { close(); }
    void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t a, YAML::EmitterStyle::value) override {
        open(m, a, NodeKind::mapping);
    }
    void OnMapEnd() override { close(); }

private:
    std::uint32_t make(const YAML::Mark& m, YAML::anchor_t a, NodeKind k) {
        auto id = static_cast<std::uint32_t>(d_.nodes_.size());
        d_.nodes_.push_back({k, static_cast<std::uint32_t>(m.line + 1), static_cast<std::uint32_t>(m.column + 1), 0, 0});
        if (a != YAML::NullAnchor) {
            if (anchors_.size() <= a) anchors_.resize(a + 1, 0);
            anchors_[a] = id;
        }
        return id;
    }
    void attach(std::uint32_t id) {
        if (depth_ > 0) kids_[depth_ - 1].push_back(id);
    }
    void leaf(const YAML::Mark& m, YAML::anchor_t a, NodeKind k, const std::string& v) {
        std::uint32_t id = make(m, a, k);
        d_.nodes_[id].begin = static_cast<std::uint32_t>(d_.pool_.size());
        d_.nodes_[id].count = static_cast<std::uint32_t>(v.size());
        d_.pool_ += v;
        attach(id);
    }
    void open(const YAML::Mark& m, YAML::anchor_t a, NodeKind k) {
        std::uint32_t id = make(m, a, k);
        attach(id);
        if (kids_.size() <= depth_) kids_.emplace_back();
        kids_[depth_].clear();
        open_ids_.resize(depth_ + 1);
        open_ids_[depth_] = id;
        ++depth_;
    }
    void close() {
        --depth_;
        auto& rec = d_.nodes_[open_ids_[depth_]];
        rec.begin = static_cast<std::uint32_t>(d_.children_.size());
        rec.count = static_cast<std::uint32_t>(kids_[depth_].size());
        d_.children_.insert(d_.children_.end(), kids_[depth_].begin(), kids_[depth_].end());
    }

    Document& d_;
    std::vector<std::vector<std::uint32_t>> kids_;
    std::vector<std::uint32_t> open_ids_;
    std::vector<std::uint32_t> anchors_;
    std::size_t depth_ = 0;
};

std::optional<Document> Document::parse(std::string_view text, ParseFailure& failure) {
    Document doc;
    doc.nodes_.reserve(text.size() / 12 + 8);
    doc.pool_.reserve(text.size() / 2 + 16);
    if (fast_parse(text, doc)) {
        doc.nodes_.shrink_to_fit();
        return doc;
    }
    return parse_reference(text, failure);
}

std::optional<Document> Document::parse_reference(std::string_view text, ParseFailure& failure) {
    std::string detabbed;
    if (looks_like_json(text)) {
        detabbed = detab_json(text);
        text = detabbed;
    }
    Document doc;
    doc.nodes_.reserve(text.size() / 12 + 8);
    ViewBuf buf(text);
    std::istream in(&buf);
    try {
        YAML::Parser parser(in);
        TreeBuilder builder(doc);
        if (!parser.HandleNextDocument(builder)) {
            doc.nodes_.push_back({NodeKind::null, 1, 1, 0, 0});
            return doc;
        }
        std::size_t first_end = doc.nodes_.size();
        if (parser.HandleNextDocument(builder) && doc.nodes_.size() > first_end) {
            const Rec& r = doc.nodes_[first_end];
            failure = {r.line, r.column, "more than one YAML document in the file"};
            return std::nullopt;
        }
    } catch (const YAML::Exception& e) {
        failure.line = e.mark.is_null() ? 1 : static_cast<std::uint32_t>(e.mark.line + 1);
        failure.column = e.mark.is_null() ? 1 : static_cast<std::uint32_t>(e.mark.column + 1);
        failure.message = e.msg;
        return std::nullopt;
    }
    if (doc.nodes_.empty()) doc.nodes_.push_back({NodeKind::null, 1, 1, 0, 0});
    doc.nodes_.shrink_to_fit();
    return doc;
}

NodeKind Node::kind() const { return doc_->nodes_[id_].kind; }
std::uint32_t Node::line() const { return valid() ? doc_->nodes_[id_].line : 0; }
std::uint32_t Node::column() const { return valid() ? doc_->nodes_[id_].column : 0; }

std::string_view Node::str() const {
    if (!valid()) return {};
    const auto& r = doc_->nodes_[id_];
    if (r.kind != NodeKind::scalar) return {};
    return std::string_view(doc_->pool_).substr(r.begin, r.count);
}

std::size_t Node::size() const {
    if (!valid()) return 0;
    const auto& r = doc_->nodes_[id_];
    if (r.kind == NodeKind::sequence) return r.count;
    if (r.kind == NodeKind::mapping) return r.count / 2;
    return 0;
}

Node Node::item(std::size_t i) const {
    if (!is_seq() || i >= size()) return {};
    return Node(doc_, doc_->children_[doc_->nodes_[id_].begin + i]);
}

Node Node::key(std::size_t i) const {
    if (!is_map() || i >= size()) return {};
    return Node(doc_, doc_->children_[doc_->nodes_[id_].begin + 2 * i]);
}

Node Node::value(std::size_t i) const {
    if (!is_map() || i >= size()) return {};
    return Node(doc_, doc_->children_[doc_->nodes_[id_].begin + 2 * i + 1]);
}

Node Node::operator[](std::string_view k) const {
    if (!is_map()) return {};
    return doc_->find_in_map(id_, k);
}

Node Document::find_in_map(std::uint32_t id, std::string_view key) const {
    const Rec& r = nodes_[id];
    std::size_t n = r.count / 2;
    if (n <= 24) {
        for (std::size_t i = 0; i < n; ++i) {
            Node k(this, children_[r.begin + 2 * i]);
            if (k.is_scalar() && k.str() == key) return Node(this, children_[r.begin + 2 * i + 1]);
        }
        return {};
    }
    auto it = index_.find(id);
    if (it == index_.end()) {
        auto& idx = index_[id];
        idx.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            Node k(this, children_[r.begin + 2 * i]);
            if (k.is_scalar()) idx.emplace(std::string(k.str()), children_[r.begin + 2 * i + 1]);
        }
        it = index_.find(id);
    }
    auto hit = it->second.find(std::string(key));
    return hit == it->second.end() ? Node() : Node(this, hit->second);
}

Node Document::at_pointer(std::string_view pointer) const {
    Node cur = root();
    if (pointer.empty()) return cur;
    if (pointer[0] != '/') return {};
    std::size_t pos = 1;
    while (cur) {
        std::size_t end = pointer.find('/', pos);
        std::string seg = pointer_unescape(pointer.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos));
        if (cur.is_map()) {
            cur = cur[seg];
        } else if (cur.is_seq()) {
            std::size_t i = 0;
            bool digits = !seg.empty();
            for (char c : seg) {
                if (c < '0' || c > '9') digits = false;
                else i = i * 10 + static_cast<std::size_t>(c - '0');
            }
            cur = digits ? cur.item(i) : Node();
        } else {
            return {};
        }
        if (end == std::string_view::npos) break;
        pos = end + 1;
    }
    return cur;
}

std::vector<std::string> string_list(Node n) {
    std::vector<std::string> out;
    if (n.is_scalar()) out.emplace_back(n.str());
    for (std::size_t i = 0; i < (n.is_seq() ? n.size() : 0); ++i)
        if (n.item(i).is_scalar()) out.emplace_back(n.item(i).str());
    return out;
}

std::string pointer_unescape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '~' && i + 1 < s.size() && (s[i + 1] == '0' || s[i + 1] == '1')) {
            out += s[i + 1] == '0' ? '~' : '/';
            ++i;
        } else if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
                   std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
            out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::string pointer_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        if (c == '~') out += "~0";
        else if (c == '/') out += "~1";
        else out += c;
    }
    return out;
}

}  // namespace evt::lint
