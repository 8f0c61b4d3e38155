#include "core/lint/report.hpp"

#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <nlohmann/json.hpp>

#include "core/lint/document.hpp"
#include "core/lint/rules.hpp"

namespace evt::lint {

namespace {

using nlohmann::json;

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

void write_json(std::ostream& out, const Report& r) {
    json arr = json::array();
    for (const auto& f : r.findings) {
        if (!shown(r, f)) continue;
        std::error_code ec;
        std::string source = f.file == "<stdin>" ? f.file : std::filesystem::absolute(f.file, ec).lexically_normal().string();
        arr.push_back({{"code", f.rule},
                       {"path", pointer_segments(f.pointer)},
                       {"message", f.message},
                       {"severity", spectral_severity(f.severity)},
                       {"range",
                        {{"start", {{"line", f.pos.line - 1}, {"character", f.pos.column - 1}}},
                         {"end", {{"line", f.pos.end_line - 1}, {"character", f.pos.end_column - 1}}}}},
                       {"source", source}});
    }
    out << arr.dump(2) << "\n";
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
    json rules = json::array();
    std::map<std::string, std::size_t> index;
    for (const auto& info : all_rules()) {
        index[std::string(info.id)] = rules.size();
        Severity def = info.severity == Severity::off ? Severity::warn : info.severity;
        rules.push_back({{"id", info.id},
                         {"shortDescription", {{"text", info.description}}},
                         {"defaultConfiguration", {{"level", sarif_level(def)}, {"enabled", info.severity != Severity::off}}}});
    }
    json results = json::array();
    for (const auto& f : r.findings) {
        if (!shown(r, f)) continue;
        json region = {{"startLine", f.pos.line}, {"startColumn", f.pos.column}, {"endLine", f.pos.end_line},
                       {"endColumn", std::max(f.pos.end_column, f.pos.column + 1)}};
        results.push_back({{"ruleId", f.rule},
                           {"ruleIndex", index[f.rule]},
                           {"level", sarif_level(f.severity)},
                           {"message", {{"text", f.message}}},
                           {"locations", json::array({{{"physicalLocation",
                                                        {{"artifactLocation", {{"uri", uri_of(f.file)}}}, {"region", region}}}}})}});
    }
    json doc = {{"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
                {"version", "2.1.0"},
                {"runs", json::array({{{"tool", {{"driver", {{"name", "evt-lint"}, {"version", r.version}, {"rules", rules}}}}},
                                       {"results", results}}})}};
    out << doc.dump(2) << "\n";
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
