#include "core/lint/report.hpp"

#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <iterator>

#include "core/lint/document.hpp"
#include "core/lint/rules.hpp"

namespace evt::lint {

namespace {

bool shown(const Report& r, const Finding& f) { return !r.quiet || f.severity >= r.fail; }

std::vector<std::string> pointer_segments(std::string_view p) {
    std::vector<std::string> out;
    std::size_t pos = 1;
    while (!p.empty() && pos <= p.size()) {
        std::size_t end = p.find('/', pos);
        if (end == std::string_view::npos) end = p.size();
        out.push_back(pointer_unescape(p.substr(pos, end - pos)));
        pos = end + 1;
    }
    return out;
}

void write_text(std::ostream& out, const Report& r) {
    for (const auto& f : r.findings) {
        if (!shown(r, f)) continue;
        fmt::print(out, "{}:{}:{}: {}: {} [{}]\n", f.file, f.pos.line, f.pos.column, severity_word(f.severity), f.message, f.rule);
    }
    if (r.quiet) return;
    Counts c = count(r.findings);
    std::size_t total = c.errors + c.warnings + c.infos;
    std::string where = fmt::format("{} file{}", r.files.size(), r.files.size() == 1 ? "" : "s");
    if (r.types || r.events) where += fmt::format(", {} event type{} in {} event{}", r.types, r.types == 1 ? "" : "s", r.events, r.events == 1 ? "" : "s");
    if (total == 0) fmt::print(out, "no problems in {}\n", where);
    else
        fmt::print(out, "{} problem{} ({} error{}, {} warning{}, {} info{}) in {}\n", total, total == 1 ? "" : "s", c.errors,
                   c.errors == 1 ? "" : "s", c.warnings, c.warnings == 1 ? "" : "s", c.infos, c.infos == 1 ? "" : "s", where);
}

int spectral_severity(Severity s) { return s == Severity::error ? 0 : s == Severity::warn ? 1 : 2; }

// JSON is written straight into a string (no DOM): a run can have tens of
// thousands of findings.
void json_string(std::string& out, std::string_view s) {
    out += '"';
    for (char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
            else out += c;
        }
    }
    out += '"';
}

void write_json(std::ostream& out, const Report& r) {
    std::string buf = "[";
    std::map<std::string, std::string> sources;
    bool first = true;
    for (const auto& f : r.findings) {
        if (!shown(r, f)) continue;
        auto [it, fresh] = sources.try_emplace(f.file);
        if (fresh) {
            std::error_code ec;
            it->second = f.file == "<stdin>" ? f.file : std::filesystem::absolute(f.file, ec).lexically_normal().string();
        }
        buf += first ? "\n  {\"code\": " : ",\n  {\"code\": ";
        first = false;
        json_string(buf, f.rule);
        buf += ", \"path\": [";
        bool first_seg = true;
        for (const auto& seg : pointer_segments(f.pointer)) {
            if (!first_seg) buf += ", ";
            first_seg = false;
            json_string(buf, seg);
        }
        buf += "], \"message\": ";
        json_string(buf, f.message);
        fmt::format_to(std::back_inserter(buf),
                       ", \"severity\": {}, \"range\": {{\"start\": {{\"line\": {}, \"character\": {}}}, "
                       "\"end\": {{\"line\": {}, \"character\": {}}}}}, \"source\": ",
                       spectral_severity(f.severity), f.pos.line - 1, f.pos.column - 1, f.pos.end_line - 1,
                       f.pos.end_column - 1);
        json_string(buf, it->second);
        buf += "}";
    }
    buf += first ? "]\n" : "\n]\n";
    out << buf;
}

std::string_view sarif_level(Severity s) { return s == Severity::error ? "error" : s == Severity::warn ? "warning" : "note"; }

std::string uri_of(const std::string& file) {
    std::string out;
    for (char c : file) {
        if (c == ' ') out += "%20";
        else if (c == '%') out += "%25";
        else if (c == '#') out += "%23";
        else if (c == '?') out += "%3F";
        else out += c;
    }
    if (out.rfind("./", 0) == 0) out = out.substr(2);
    return out;
}

void write_sarif(std::ostream& out, const Report& r) {
    std::string buf = "{\n  \"$schema\": \"https://json.schemastore.org/sarif-2.1.0.json\",\n  \"version\": \"2.1.0\",\n"
                      "  \"runs\": [{\n    \"tool\": {\"driver\": {\"name\": \"evt-lint\", \"version\": ";
    json_string(buf, r.version);
    buf += ", \"rules\": [";
    std::map<std::string_view, std::size_t> index;
    const auto& rules = all_rules();
    for (std::size_t i = 0; i < rules.size(); ++i) {
        const auto& info = rules[i];
        index[info.id] = i;
        Severity def = info.severity == Severity::off ? Severity::warn : info.severity;
        buf += i ? ",\n      {\"id\": " : "\n      {\"id\": ";
        json_string(buf, info.id);
        buf += ", \"shortDescription\": {\"text\": ";
        json_string(buf, info.description);
        fmt::format_to(std::back_inserter(buf), "}}, \"defaultConfiguration\": {{\"level\": \"{}\", \"enabled\": {}}}}}",
                       sarif_level(def), info.severity != Severity::off);
    }
    buf += "]}},\n    \"results\": [";
    bool first = true;
    for (const auto& f : r.findings) {
        if (!shown(r, f)) continue;
        buf += first ? "\n      {\"ruleId\": " : ",\n      {\"ruleId\": ";
        first = false;
        json_string(buf, f.rule);
        fmt::format_to(std::back_inserter(buf), ", \"ruleIndex\": {}, \"level\": \"{}\", \"message\": {{\"text\": ",
                       index[f.rule], sarif_level(f.severity));
        json_string(buf, f.message);
        buf += "}, \"locations\": [{\"physicalLocation\": {\"artifactLocation\": {\"uri\": ";
        json_string(buf, uri_of(f.file));
        fmt::format_to(std::back_inserter(buf),
                       "}}, \"region\": {{\"startLine\": {}, \"startColumn\": {}, \"endLine\": {}, \"endColumn\": {}}}}}}}]}}",
                       f.pos.line, f.pos.column, f.pos.end_line, std::max(f.pos.end_column, f.pos.column + 1));
    }
    buf += first ? "]\n  }]\n}\n" : "\n    ]\n  }]\n}\n";
    out << buf;
}

void write_github(std::ostream& out, const Report& r) {
    for (const auto& f : r.findings) {
        if (!shown(r, f)) continue;
        std::string_view cmd = f.severity == Severity::error ? "error" : f.severity == Severity::warn ? "warning" : "notice";
        fmt::print(out, "::{} file={},line={},endLine={},col={},endColumn={},title={}::{}\n", cmd, github_escape_property(f.file),
                   f.pos.line, f.pos.end_line, f.pos.column, f.pos.end_column, github_escape_property(f.rule),
                   github_escape_data(f.message));
    }
}

void write_junit(std::ostream& out, const Report& r) {
    out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n";
    for (const auto& file : r.files) {
        std::vector<const Finding*> failing;
        for (const auto& f : r.findings)
            if (f.file == file && f.severity >= r.fail) failing.push_back(&f);
        fmt::print(out, "  <testsuite package=\"org.evt.lint\" time=\"0\" tests=\"{}\" errors=\"0\" failures=\"{}\" name=\"{}\">\n",
                   failing.size(), failing.size(), xml_escape(file));
        for (const Finding* f : failing) {
            fmt::print(out, "    <testcase time=\"0\" name=\"org.evt.lint.{}(#{})\" classname=\"{}\">\n", xml_escape(f->rule),
                       xml_escape(f->pointer), xml_escape(file));
            fmt::print(out, "      <failure message=\"{}\">line {}, col {}, {}: {}</failure>\n", xml_escape(f->message),
                       f->pos.line, f->pos.column, severity_word(f->severity), xml_escape(f->message));
            out << "    </testcase>\n";
        }
        out << "  </testsuite>\n";
    }
    out << "</testsuites>\n";
}

}  // namespace

std::optional<OutputFormat> parse_output_format(std::string_view n) {
    if (n == "text") return OutputFormat::text;
    if (n == "json") return OutputFormat::json;
    if (n == "sarif") return OutputFormat::sarif;
    if (n == "github" || n == "github-actions") return OutputFormat::github;
    if (n == "junit") return OutputFormat::junit;
    return std::nullopt;
}

Counts count(const std::vector<Finding>& findings) {
    Counts c;
    for (const auto& f : findings) {
        if (f.severity == Severity::error) ++c.errors;
        else if (f.severity == Severity::warn) ++c.warnings;
        else if (f.severity == Severity::info) ++c.infos;
    }
    return c;
}

void write_report(std::ostream& out, OutputFormat format, const Report& report) {
    switch (format) {
    case OutputFormat::text: write_text(out, report); break;
    case OutputFormat::json: write_json(out, report); break;
    case OutputFormat::sarif: write_sarif(out, report); break;
    case OutputFormat::github: write_github(out, report); break;
    case OutputFormat::junit: write_junit(out, report); break;
    }
}

std::string github_escape_data(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '%') out += "%25";
        else if (c == '\r') out += "%0D";
        else if (c == '\n') out += "%0A";
        else out += c;
    }
    return out;
}

std::string github_escape_property(std::string_view s) {
    std::string out;
    for (char c : github_escape_data(s)) {
        if (c == ':') out += "%3A";
        else if (c == ',') out += "%2C";
        else out += c;
    }
    return out;
}

std::string xml_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&apos;"; break;
        default: out += c;
        }
    }
    return out;
}

}  // namespace evt::lint
