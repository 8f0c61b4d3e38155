#include "core/lint/catalog.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <sys/stat.h>

#include "core/lint/readers.hpp"

namespace evt::lint {

std::string_view format_name(Format f) {
    switch (f) {
    case Format::native: return "native catalog";
    case Format::asyncapi2: return "AsyncAPI 2";
    case Format::asyncapi3: return "AsyncAPI 3";
    case Format::events: return "NDJSON events";
    }
    return "unknown";
}

Finding invalid_document(const std::string& file, std::uint32_t line, std::uint32_t column, std::string message,
                         std::string pointer) {
    Finding f;
    f.file = file;
    f.pos = {line, column, line, column + 1};
    f.severity = Severity::error;
    f.rule = "parse/invalid-document";
    f.message = std::move(message);
    f.pointer = std::move(pointer);
    return f;
}

Position position_of(Node n) {
    Position p;
    if (!n) return p;
    p.line = p.end_line = n.line();
    p.column = n.column();
    p.end_column = p.column + static_cast<std::uint32_t>(n.is_scalar() ? std::max<std::size_t>(n.str().size(), 1) : 1);
    return p;
}

Result<std::string> read_file_text(const std::string& file) {
    if (file == "-") {
        std::ostringstream ss;
        ss << std::cin.rdbuf();
        return ss.str();
    }
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) return make_error(ErrorKind::not_found, "{}: no such file", file);
        return make_error(ErrorKind::io, "{}: {}", file, std::strerror(errno));
    }
    if (S_ISDIR(st.st_mode)) return make_error(ErrorKind::usage, "{}: is a directory", file);
    std::ifstream in(file, std::ios::binary);
    if (!in) return make_error(ErrorKind::io, "{}: cannot open: {}", file, std::strerror(errno));
    std::string text;
    text.resize(static_cast<std::size_t>(st.st_size));
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (in.bad()) return make_error(ErrorKind::io, "{}: read error", file);
    // Special files report size 0: read the rest.
    text.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return text;
}

namespace {

// An NDJSON stream of CloudEvents: the first line is one JSON object with a
// "specversion" attribute.
bool looks_like_cloudevents(std::string_view text) {
    std::size_t start = text.find_first_not_of(" \t\r\n");
    if (start == std::string_view::npos || text[start] != '{') return false;
    std::size_t nl = text.find('\n', start);
    std::string_view first = text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    while (!first.empty() && (first.back() == ' ' || first.back() == '\r')) first.remove_suffix(1);
    return !first.empty() && first.back() == '}' && first.find("\"specversion\"") != std::string_view::npos &&
           first.find("\"asyncapi\"") == std::string_view::npos;
}

}  // namespace

Catalog read_catalog(const std::string& file, const std::string& text, const ReadOptions& opts) {
    Catalog out;
    out.file = file == "-" ? "<stdin>" : file;
    if (opts.events || looks_like_cloudevents(text)) {
        out.format = Format::events;
        read_events(text, out);
        return out;
    }
    ParseFailure pf;
    auto doc = Document::parse(text, pf);
    if (!doc) {
        out.problems.push_back(invalid_document(out.file, pf.line, pf.column, fmt::format("malformed YAML/JSON: {}", pf.message)));
        out.unreadable = true;
        return out;
    }
    Node root = doc->root();
    if (!root.is_map()) {
        out.problems.push_back(invalid_document(out.file, root.line(), root.column(),
                                                "not a catalog: expected a mapping with 'catalog:' or 'asyncapi:'"));
        out.unreadable = true;
        return out;
    }
    RefResolver refs(*doc, file);
    if (root["asyncapi"]) {
        read_asyncapi(*doc, refs, opts, out);
    } else if (root["catalog"] || root["events"]) {
        out.format = Format::native;
        read_native(*doc, refs, out);
    } else {
        out.problems.push_back(invalid_document(out.file, root.line(), root.column(),
                                                "unknown document format: expected 'catalog:' or 'asyncapi:' at the top"));
        out.unreadable = true;
    }
    return out;
}

Result<Catalog> load_catalog(const std::string& file, const ReadOptions& opts) {
    EVT_ASSIGN(std::string text, read_file_text(file));
    return read_catalog(file, text, opts);
}

}  // namespace evt::lint
