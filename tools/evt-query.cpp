// evt-query: read a read model (one row, all rows, filtered, sorted).
#include "core/cli/table.hpp"
#include "core/event/format.hpp"
#include "core/project/model.hpp"
#include "tools/common/runner.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace {

using nlohmann::json;

struct Options {
    evt::tool::LogFlags log;
    std::string name;
    std::string key;
    bool has_key = false;
    std::vector<std::string> where;
    std::string sort;
    std::uint64_t limit = 0;
    std::string format = "table";
    bool list = false;
};

// A field of a row: "status", "customer.id", or "key".
const json* field_of(const json& row, const std::string& path) {
    const json* cur = &row;
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t dot = path.find('.', start);
        std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        if (!cur->is_object()) return nullptr;
        auto it = cur->find(part);
        if (it == cur->end()) return nullptr;
        cur = &*it;
        if (dot == std::string::npos) break;
        start = dot + 1;
    }
    return cur;
}

// "FIELD=VALUE": VALUE is JSON if it parses as JSON (42, true, "x"), else a string.
evt::Result<std::pair<std::string, json>> parse_where(const std::string& w) {
    auto eq = w.find('=');
    if (eq == std::string::npos || eq == 0)
        return evt::make_error(evt::ErrorKind::usage, "--where takes FIELD=VALUE, not '{}'", w);
    std::string v = w.substr(eq + 1);
    json value = json::parse(v, nullptr, false);
    if (value.is_discarded()) value = v;
    return std::make_pair(w.substr(0, eq), value);
}

std::string cell(const json* v) {
    if (!v || v->is_null()) return "";
    if (v->is_string()) return v->get<std::string>();
    return v->dump();
}

evt::Result<int> list(const Options& o, evt::log::Log& lg) {
    using namespace evt;
    EVT_ASSIGN(auto models, project::list_models(lg));
    if (o.format == "table") {
        cli::Table t({"NAME", "GEN", "ROWS", "POSITION", "LAG", "STATE", "TOPICS", "TABLES", "UPDATED"},
                     {false, true, true, true, true, false, false, false, false});
        for (const auto& m : models) {
            std::string tables;
            for (const auto& x : m.tables)
                if (!x.empty()) tables += (tables.empty() ? "" : ",") + x;
            std::string topics;
            for (const auto& x : m.topics) topics += (topics.empty() ? "" : ",") + x;
            std::string state = m.gen == 0 ? "building" : m.rebuilding ? "rebuilding" : "active";
            if (!m.bound.empty()) state += " (until " + m.bound + ")";
            t.add({m.name, std::to_string(m.gen), std::to_string(m.rows), std::to_string(m.position),
                   std::to_string(m.lag), state, topics, tables.empty() ? "-" : tables, format_time_ms(m.updated)});
        }
        tool::write_out(t.render());
        return 0;
    }
    json out = json::array();
    for (const auto& m : models) {
        json tables = json::array();
        for (const auto& x : m.tables)
            if (!x.empty()) tables.push_back(x);
        json j = {{"name", m.name},     {"generation", m.gen},       {"rows", m.rows},
                  {"position", m.position}, {"lag", m.lag},          {"rebuilding", m.rebuilding},
                  {"topics", m.topics},  {"aggregates", tables},      {"events", m.events},
                  {"spec_hash", m.hash}, {"updated", format_time_ms(m.updated)}};
        if (!m.bound.empty()) j["until"] = m.bound;
        if (o.format == "ndjson") tool::write_out(j.dump() + "\n");
        else out.push_back(std::move(j));
    }
    if (o.format == "json") tool::write_out(out.dump() + "\n");
    return 0;
}

evt::Result<int> run(const Options& o) {
    using namespace evt;
    EVT_ASSIGN(auto be, tool::open_log(o.log, backend::Access::read));
    EVT_ASSIGN(log::Log * lg, backend::require_embedded(*be, "evt-query"));
    if (o.list) {
        if (!o.name.empty() || !o.where.empty() || !o.sort.empty())
            return Error{ErrorKind::usage, "--list takes no NAME, --where or --sort"};
        return list(o, *lg);
    }
    if (o.name.empty()) return Error{ErrorKind::usage, "a read model NAME is required (or --list)"};
    EVT_ASSIGN(project::TableRef ref, project::parse_table_ref(o.name));
    std::vector<std::pair<std::string, json>> where;
    for (const auto& w : o.where) {
        EVT_ASSIGN(auto p, parse_where(w));
        where.push_back(std::move(p));
    }
    std::optional<std::string> key;
    if (o.has_key) key = o.key;
    EVT_ASSIGN(auto rows, project::read_rows(*lg, ref, key));

    // Each row as an object with "key" first.
    struct Out {
        json row;
        std::string text;
    };
    bool need_parse = !where.empty() || !o.sort.empty() || o.format == "table";
    std::vector<Out> out;
    out.reserve(rows.size());
    for (auto& r : rows) {
        std::string text = "{\"key\":\"" + event::json_escape_string(r.key) + "\"";
        if (r.json.size() > 2) text += "," + r.json.substr(1);
        else text += "}";
        Out x{json(), std::move(text)};
        if (need_parse) {
            x.row = json::parse(x.text, nullptr, false);
            if (x.row.is_discarded())
                return make_error(ErrorKind::corrupt, "row '{}' of '{}' is not JSON", r.key, o.name);
            bool keep = true;
            for (const auto& [f, v] : where) {
                const json* fv = field_of(x.row, f);
                keep = keep && fv && *fv == v;
            }
            if (!keep) continue;
        }
        out.push_back(std::move(x));
    }
    if (!o.sort.empty()) {
        bool desc = o.sort[0] == '-';
        std::string f = desc ? o.sort.substr(1) : o.sort;
        std::stable_sort(out.begin(), out.end(), [&](const Out& a, const Out& b) {
            const json* x = field_of(a.row, f);
            const json* y = field_of(b.row, f);
            if (!x || x->is_null()) return false;  // missing values last
            if (!y || y->is_null()) return true;
            return desc ? *y < *x : *x < *y;
        });
    }
    if (o.limit && out.size() > o.limit) out.resize(o.limit);
    if (key && out.empty()) return make_error(ErrorKind::not_found, "row '{}' does not match --where", *key);

    if (o.format == "ndjson" || (o.format == "json" && key)) {
        std::string buf;
        for (const auto& x : out) buf += x.text + "\n";
        tool::write_out(buf);
    } else if (o.format == "json") {
        std::string buf = "[";
        for (std::size_t i = 0; i < out.size(); ++i) {
            if (i) buf += ",\n";
            buf += out[i].text;
        }
        buf += "]\n";
        tool::write_out(buf);
    } else {
        std::vector<std::string> cols{"key"};
        for (const auto& x : out)
            for (const auto& [k, v] : x.row.items())
                if (std::find(cols.begin(), cols.end(), k) == cols.end()) cols.push_back(k);
        std::vector<bool> numeric(cols.size(), false);
        for (std::size_t c = 1; c < cols.size(); ++c) {
            bool all = true, any = false;
            for (const auto& x : out) {
                const json* v = field_of(x.row, cols[c]);
                if (v && !v->is_null()) {
                    any = true;
                    all = all && v->is_number();
                }
            }
            numeric[c] = any && all;
        }
        std::vector<std::string> headers;
        for (const auto& c : cols) {
            std::string h = c;
            std::transform(h.begin(), h.end(), h.begin(), [](unsigned char ch) { return std::toupper(ch); });
            headers.push_back(h);
        }
        cli::Table t(headers, numeric);
        for (const auto& x : out) {
            std::vector<std::string> r;
            for (const auto& c : cols) r.push_back(cell(x.row.contains(c) ? &x.row[c] : nullptr));
            t.add(std::move(r));
        }
        tool::write_out(t.render());
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    evt::tool::Spec spec{"evt-query", "Read a read model built by evt-project: one row, all rows, filtered, sorted.",
                         {"evt-query NAME [KEY] [--where FIELD=VALUE]... [--sort [-]FIELD] [--limit N] "
                          "[--format table|json|ndjson] [OPTIONS]",
                          "evt-query --list [--format table|json|ndjson] [OPTIONS]"}};
    return evt::tool::main(argc, argv, spec, [](CLI::App& app, evt::tool::Context&) -> evt::tool::RunFn {
        auto o = std::make_shared<Options>();
        evt::tool::add_log_option(app, o->log);
        app.add_option("name", o->name, "the read model: NAME, NAME@LABEL (a snapshot), NAME.AGGREGATE");
        auto* k = app.add_option("key", o->key, "one row's key");
        app.add_option("-w,--where", o->where, "keep rows whose FIELD equals VALUE (repeatable)")
            ->allow_extra_args(false);
        app.add_option("-s,--sort", o->sort, "sort by FIELD (-FIELD: descending); default: by key");
        app.add_option("-n,--limit", o->limit, "at most N rows");
        app.add_option("--format", o->format, "table (default), json or ndjson")
            ->check(CLI::IsMember({"table", "json", "ndjson"}));
        app.add_flag("--list", o->list, "list the read models with their position and lag");
        return [o, k] {
            o->has_key = k->count() > 0;
            return run(*o);
        };
    });
}
