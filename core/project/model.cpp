#include "core/project/model.hpp"

#include "core/project/spec.hpp"

#include <algorithm>

namespace evt::project {

namespace {
constexpr const char* kStateDb = "projections";

Result<std::optional<MDB_dbi>> state_dbi(store::Txn& txn, bool create) {
    auto d = txn.dbi(kStateDb, create);
    if (!d.ok()) {
        if (d.error().kind == ErrorKind::not_found) return std::optional<MDB_dbi>();
        return d.error();
    }
    return std::optional<MDB_dbi>(*d);
}

// Calls fn(key, value) for every entry of a database, in key order.
template <class Fn>
Status each_entry(store::Txn& txn, MDB_dbi dbi, Fn&& fn) {
    EVT_ASSIGN(auto c, store::Cursor::open(txn, dbi));
    MDB_val k, v;
    for (MDB_cursor_op op = MDB_FIRST;; op = MDB_NEXT) {
        EVT_ASSIGN(bool ok, c.get(k, v, op));
        if (!ok) return {};
        EVT_TRY(fn(store::view(k), store::view(v)));
    }
}

Result<std::optional<MDB_dbi>> open_rows(store::Txn& txn, const std::string& name) {
    auto d = txn.dbi(name, false);
    if (!d.ok()) {
        if (d.error().kind == ErrorKind::not_found) return std::optional<MDB_dbi>();
        return d.error();
    }
    return std::optional<MDB_dbi>(*d);
}
}  // namespace

std::string rows_db(std::string_view model, std::uint64_t gen, std::string_view table) {
    if (table.empty()) return fmt::format("p:{}:{}", model, gen);
    return fmt::format("p:{}:{}:{}", model, gen, table);
}

nlohmann::json to_json(const ModelState& s) {
    nlohmann::json gens = nlohmann::json::object();
    for (const auto& [n, g] : s.gens) {
        nlohmann::json topics = nlohmann::json::array();
        for (const auto& t : g.topics) {
            nlohmann::json jt = {{"name", t.name}, {"id", t.id}, {"pos", t.pos}};
            if (!t.end.empty()) jt["end"] = t.end;
            topics.push_back(std::move(jt));
        }
        nlohmann::json jg = {{"hash", g.hash},     {"file", g.file},       {"tables", g.tables},
                             {"topics", topics},   {"events", g.events},   {"applied", g.applied},
                             {"updated", g.updated}};
        if (!g.bound.empty()) jg["bound"] = g.bound;
        gens[std::to_string(n)] = std::move(jg);
    }
    return {{"active", s.active}, {"building", s.building}, {"next", s.next}, {"gens", gens}};
}

Result<ModelState> model_from_json(std::string_view name, std::string_view text) {
    try {
        auto j = nlohmann::json::parse(text);
        ModelState s;
        s.name = std::string(name);
        s.active = j.at("active").get<std::uint64_t>();
        s.building = j.at("building").get<std::uint64_t>();
        s.next = j.at("next").get<std::uint64_t>();
        for (const auto& [k, jg] : j.at("gens").items()) {
            GenState g;
            g.gen = std::stoull(k);
            g.hash = jg.at("hash").get<std::string>();
            g.file = jg.at("file").get<std::string>();
            g.tables = jg.at("tables").get<std::vector<std::string>>();
            for (const auto& jt : jg.at("topics")) {
                TopicPos t;
                t.name = jt.at("name").get<std::string>();
                t.id = jt.at("id").get<std::uint32_t>();
                t.pos = jt.at("pos").get<std::vector<std::uint64_t>>();
                if (jt.contains("end")) t.end = jt["end"].get<std::vector<std::uint64_t>>();
                g.topics.push_back(std::move(t));
            }
            g.events = jg.at("events").get<std::uint64_t>();
            g.applied = jg.value("applied", std::uint64_t{0});
            g.updated = jg.at("updated").get<Micros>();
            g.bound = jg.value("bound", std::string());
            s.gens.emplace(g.gen, std::move(g));
        }
        return s;
    } catch (const std::exception& e) {
        return make_error(ErrorKind::corrupt, "read model '{}': bad state record: {}", name, e.what());
    }
}

Result<std::optional<ModelState>> read_state(store::Txn& txn, std::string_view model) {
    EVT_ASSIGN(auto d, state_dbi(txn, false));
    if (!d) return std::optional<ModelState>();
    std::string_view v;
    EVT_ASSIGN(bool found, txn.get(*d, model, v));
    if (!found) return std::optional<ModelState>();
    EVT_ASSIGN(ModelState s, model_from_json(model, v));
    return std::optional<ModelState>(std::move(s));
}

Status write_state(store::WriteTxn& txn, const ModelState& s) {
    EVT_ASSIGN(auto d, state_dbi(txn, true));
    return txn.put(*d, s.name, to_json(s).dump());
}

Status delete_state(store::WriteTxn& txn, std::string_view model) {
    EVT_ASSIGN(auto d, state_dbi(txn, true));
    return txn.del(*d, model);
}

Result<std::vector<ModelState>> list_states(store::Txn& txn) {
    std::vector<ModelState> out;
    EVT_ASSIGN(auto d, state_dbi(txn, false));
    if (!d) return out;
    EVT_TRY(each_entry(txn, *d, [&](std::string_view k, std::string_view v) -> Status {
        EVT_ASSIGN(ModelState s, model_from_json(k, v));
        out.push_back(std::move(s));
        return {};
    }));
    return out;
}

Status drop_gen(store::WriteTxn& txn, std::string_view model, const GenState& g) {
    for (const auto& t : g.tables) {
        std::string name = rows_db(model, g.gen, t);
        EVT_ASSIGN(auto d, open_rows(txn, name));
        if (!d) continue;
        Status s = txn.drop(*d, true);
        txn.env().dbi_cache().erase(name);
        EVT_TRY(s);
    }
    return {};
}

Status drop_model(log::Log& log, std::string_view model) {
    return log.write([&](store::WriteTxn& txn) -> Status {
        EVT_ASSIGN(auto s, read_state(txn, model));
        if (!s) return make_error(ErrorKind::not_found, "no read model '{}'", model);
        for (const auto& [n, g] : s->gens) EVT_TRY(drop_gen(txn, model, g));
        return delete_state(txn, model);
    });
}

Result<TableRef> parse_table_ref(std::string_view text) {
    TableRef r;
    std::string_view s = text;
    if (auto dot = s.find('.'); dot != std::string_view::npos) {
        r.table = std::string(s.substr(dot + 1));
        s = s.substr(0, dot);
        if (r.table.empty()) return make_error(ErrorKind::usage, "'{}': a table name is missing after '.'", text);
    }
    std::string_view base = s.substr(0, s.find('@'));
    if (auto st = check_model_name(base); !st.ok()) return Error{ErrorKind::usage, st.error().message};
    r.model = std::string(s);
    return r;
}

Result<std::vector<Row>> read_rows(log::Log& log, const TableRef& ref, const std::optional<std::string>& key) {
    EVT_ASSIGN(auto txn, log.env().read());
    EVT_ASSIGN(auto s, read_state(txn, ref.model));
    if (!s || s->active == 0) return make_error(ErrorKind::not_found, "no read model '{}'", ref.model);
    const GenState& g = s->gens.at(s->active);
    if (std::find(g.tables.begin(), g.tables.end(), ref.table) == g.tables.end())
        return make_error(ErrorKind::not_found, "read model '{}' has no aggregate '{}'", ref.model, ref.table);
    std::vector<Row> out;
    EVT_ASSIGN(auto d, open_rows(txn, rows_db(ref.model, g.gen, ref.table)));
    if (key) {
        std::string_view v;
        bool found = false;
        if (d) {
            EVT_ASSIGN(found, txn.get(*d, *key, v));
        }
        if (!found)
            return make_error(ErrorKind::not_found, "no row '{}' in '{}{}{}'", *key, ref.model,
                              ref.table.empty() ? "" : ".", ref.table);
        out.push_back({*key, std::string(v)});
        return out;
    }
    if (!d) return out;
    EVT_TRY(each_entry(txn, *d, [&](std::string_view k, std::string_view v) -> Status {
        out.push_back({std::string(k), std::string(v)});
        return {};
    }));
    return out;
}

Result<std::vector<ModelInfo>> list_models(log::Log& log) {
    EVT_ASSIGN(auto txn, log.env().read());
    EVT_ASSIGN(auto states, list_states(txn));
    std::vector<ModelInfo> out;
    for (const auto& s : states) {
        ModelInfo m;
        m.name = s.name;
        m.rebuilding = s.building != 0;
        if (s.active == 0 && s.building == 0) continue;
        const GenState& g = s.gens.at(s.active ? s.active : s.building);
        m.gen = s.active;
        m.tables = g.tables;
        m.events = g.events;
        m.updated = g.updated;
        m.hash = g.hash;
        m.bound = g.bound;
        for (const auto& t : g.topics) {
            m.topics.push_back(t.name);
            auto tc = log.find_topic(txn, t.name);
            for (std::size_t p = 0; p < t.pos.size(); ++p) {
                m.position += t.pos[p];
                if (!tc.ok() || !*tc || (*tc)->id != t.id || p >= (*tc)->partitions) continue;
                EVT_ASSIGN(log::PartitionInfo info, log.partition_info(txn, **tc, static_cast<std::uint32_t>(p)));
                std::uint64_t end = t.end.empty() ? info.end : std::min(info.end, t.end[p]);
                if (end > t.pos[p]) m.lag += end - t.pos[p];
            }
        }
        if (s.active) {
            EVT_ASSIGN(auto d, open_rows(txn, rows_db(s.name, g.gen, "")));
            if (d) {
                MDB_stat st;
                if (mdb_stat(txn.raw(), *d, &st) == 0) m.rows = st.ms_entries;
            }
        }
        out.push_back(std::move(m));
    }
    return out;
}

}  // namespace evt::project
