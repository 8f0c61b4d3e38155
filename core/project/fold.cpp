#include "core/project/fold.hpp"

#include "core/project/model.hpp"
#include "core/util/hash.hpp"

#include <fnmatch.h>
#include <sys/mman.h>
#include <simdjson.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <unordered_map>

namespace evt::project {

namespace {

using nlohmann::json;


bool glob_match(const std::string& pattern, const std::string& text) {
    return fnmatch(pattern.c_str(), text.c_str(), 0) == 0;
}

// One event being folded: its record and (parsed on demand) its JSON.
struct Event {
    const log::RecordView* rec = nullptr;
    std::string_view topic;
    simdjson::dom::element doc;
    // "orders/0/17", for messages (made only when one is needed: not per event)
    std::string where() const { return fmt::format("{}/{}/{}", topic, rec->partition, rec->offset); }
};

Error fold_error(const Event& e, const Mark& m, std::string_view what) {
    return make_error(ErrorKind::invalid, "event {}: {}: {}", e.where(), m.str(), what);
}

std::string_view kind_name(const json& v) {
    if (v.is_null()) return "null";
    if (v.is_boolean()) return "a boolean";
    if (v.is_number()) return "a number";
    if (v.is_string()) return "a string";
    if (v.is_array()) return "an array";
    return "an object";
}

json element_json(simdjson::dom::element e) {
    using T = simdjson::dom::element_type;
    switch (e.type()) {
    case T::STRING: return json(std::string(e.get_string().value_unsafe()));
    case T::INT64: return json(e.get_int64().value_unsafe());
    case T::UINT64: return json(e.get_uint64().value_unsafe());
    case T::DOUBLE: return json(e.get_double().value_unsafe());
    case T::BOOL: return json(e.get_bool().value_unsafe());
    case T::NULL_VALUE: return json(nullptr);
    case T::ARRAY: {
        json a = json::array();
        simdjson::dom::array arr;
        if (e.get_array().get(arr)) return a;
        for (simdjson::dom::element x : arr) a.push_back(element_json(x));
        return a;
    }
    case T::OBJECT: {
        json o = json::object();
        simdjson::dom::object obj;
        if (e.get_object().get(obj)) return o;
        for (simdjson::dom::key_value_pair kv : obj) o[std::string(kv.key)] = element_json(kv.value);
        return o;
    }
    }
    return json(nullptr);
}

bool lookup(simdjson::dom::element cur, const Path& p, simdjson::dom::element& out) {
    for (const auto& s : p.segs) {
        if (s.index >= 0) {
            simdjson::dom::array a;
            if (cur.get_array().get(a) || a.at(static_cast<std::size_t>(s.index)).get(cur)) return false;
        } else {
            simdjson::dom::object o;
            if (cur.get_object().get(o) || o.at_key(s.name).get(cur)) return false;
        }
    }
    out = cur;
    return true;
}

const json* lookup_row(const json& row, const Path& p) {
    const json* cur = &row;
    for (const auto& s : p.segs) {
        if (s.index >= 0) {
            if (!cur->is_array() || static_cast<std::size_t>(s.index) >= cur->size()) return nullptr;
            cur = &(*cur)[static_cast<std::size_t>(s.index)];
        } else {
            if (!cur->is_object()) return nullptr;
            auto it = cur->find(s.name);
            if (it == cur->end()) return nullptr;
            cur = &*it;
        }
    }
    return cur;
}

json virtual_value(const Event& e, Path::Virtual v) {
    switch (v) {
    case Path::Virtual::topic: return std::string(e.topic);
    case Path::Virtual::partition: return e.rec->partition;
    case Path::Virtual::offset: return e.rec->offset;
    case Path::Virtual::time: return format_time_ms(e.rec->time);
    case Path::Virtual::version: return e.rec->link.version ? json(e.rec->link.version) : json(nullptr);
    case Path::Virtual::type: return std::string(e.rec->type);
    case Path::Virtual::none: break;
    }
    return nullptr;
}

// The value at a path (false: missing); [:N] applies to strings.
Result<bool> value_of(const Event& e, const Path& p, const Mark& m, json& out) {
    if (p.virt != Path::Virtual::none) {
        out = virtual_value(e, p.virt);
        if (out.is_null()) return false;
    } else {
        simdjson::dom::element el;
        if (!lookup(e.doc, p, el)) return false;
        out = element_json(el);
    }
    if (p.prefix >= 0) {
        if (!out.is_string())
            return fold_error(e, m, fmt::format("{}: [:{}] needs a string, the event has {}", p.text, p.prefix,
                                                kind_name(out)));
        auto& s = out.get_ref<std::string&>();
        if (s.size() > static_cast<std::size_t>(p.prefix)) s.resize(static_cast<std::size_t>(p.prefix));
    }
    return true;
}

// The row key of an event for a table (false: the event has none).
Result<bool> key_of(const Event& e, const Table& t, std::string& out) {
    const Path& p = t.key;
    if (p.virt == Path::Virtual::type && p.prefix < 0) {
        out.assign(e.rec->type);
    } else if (p.virt == Path::Virtual::none && p.prefix < 0) {
        simdjson::dom::element el;
        if (!lookup(e.doc, p, el)) return false;
        std::string_view s;
        if (!el.get_string().get(s)) {
            out.assign(s);
        } else if (el.is_null()) {
            return false;
        } else if (el.is_object() || el.is_array()) {
            return fold_error(e, t.key_mark,
                              fmt::format("the row key {} is {}, not a string or number", p.text,
                                          el.is_object() ? "an object" : "an array"));
        } else {
            out = simdjson::minify(el);
        }
    } else {
        json v;
        EVT_ASSIGN(bool found, value_of(e, p, t.key_mark, v));
        if (!found || v.is_null()) return false;
        if (v.is_string()) out = v.get<std::string>();
        else if (v.is_structured())
            return fold_error(e, t.key_mark, fmt::format("the row key {} is {}, not a string or number", p.text,
                                                         kind_name(v)));
        else out = v.dump();
    }
    if (out.empty()) return false;
    if (out.size() > 511)
        return fold_error(e, t.key_mark, fmt::format("the row key is {} bytes; at most 511 are allowed", out.size()));
    return true;
}

// A row: its fields in one small vector (fewer cache misses than a JSON
// object's tree when a fold touches 100,000 rows), stored as a JSON object
// with its fields in name order.
class Row {
public:
    json* find(std::string_view name) {
        if (has0_ && n0_ == name) return &v0_;
        for (auto& [n, v] : rest_)
            if (n == name) return &v;
        return nullptr;
    }
    const json* find(std::string_view name) const { return const_cast<Row*>(this)->find(name); }
    json& at(const std::string& name) {
        if (json* v = find(name)) return *v;
        if (!has0_) {
            has0_ = true;
            n0_ = name;
            v0_ = json();
            return v0_;
        }
        rest_.emplace_back(name, json());
        return rest_.back().second;
    }
    void erase(std::string_view name) {
        if (has0_ && n0_ == name) {
            if (rest_.empty()) {
                has0_ = false;
                v0_ = json();
            } else {
                n0_ = std::move(rest_.back().first);
                v0_ = std::move(rest_.back().second);
                rest_.pop_back();
            }
            return;
        }
        rest_.erase(std::remove_if(rest_.begin(), rest_.end(), [&](const auto& x) { return x.first == name; }),
                    rest_.end());
    }
    void clear() {
        has0_ = false;
        v0_ = json();
        rest_.clear();
    }
    static Row parse(std::string_view text) {
        Row r;
        json j = json::parse(text);
        if (!j.is_object()) throw std::runtime_error("not a JSON object");
        for (auto& [k, v] : j.items()) r.at(k) = std::move(v);
        return r;
    }
    std::string dump() const {
        std::vector<std::pair<const std::string*, const json*>> order;
        order.reserve(rest_.size() + 1);
        if (has0_) order.emplace_back(&n0_, &v0_);
        for (const auto& x : rest_) order.emplace_back(&x.first, &x.second);
        std::sort(order.begin(), order.end(), [](auto& a, auto& b) { return *a.first < *b.first; });
        std::string out = "{";
        for (const auto& [n, v] : order) {
            if (out.size() > 1) out += ',';
            out += json(*n).dump();
            out += ':';
            out += v->dump();
        }
        out += '}';
        return out;
    }

private:
    // The first field lives in the row itself (most rows of a count or a sum
    // have one or two), the others in a vector.
    bool has0_ = false;
    std::string n0_;
    json v0_;
    std::vector<std::pair<std::string, json>> rest_;
};

struct Slot {
    Row row;
    bool exists = false;
    bool stored = false;  // exists in the database
};

// The rows a batch touches: the entries in one dense vector, found through
// an open-addressing index of 8-byte cells (32 bits of the hash, 32 bits of
// the entry's place). A lookup reads one cell (a collision usually costs no
// further cache line) and one entry, and both can be prefetched ahead of use
// (see Pending); a probe over cells that held the rows themselves (~130 bytes
// each) touched a new cache line at every step, and a std::unordered_map
// costs a bucket and a node.
class RowMap {
public:
    struct Entry {
        std::string key;
        Slot slot;
    };
    // The entry for key, or nullptr (then `insert` with the same hash).
    Entry* find(std::string_view key, std::uint64_t h) {
        if (index_.empty()) return nullptr;
        const auto tag = static_cast<std::uint32_t>(h >> 32);
        for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
            std::uint64_t c = index_[i];
            if (c == 0) return nullptr;
            if (static_cast<std::uint32_t>(c >> 32) == tag) {
                Entry& e = entries_[static_cast<std::uint32_t>(c) - 1];
                if (e.key == key) return &e;
            }
        }
    }
    // Pointers to entries stay valid until the next insert.
    Entry* insert(std::string key, std::uint64_t h, Slot slot) {
        if ((entries_.size() + 1) * 2 > index_.size()) grow();
        entries_.push_back(Entry{std::move(key), std::move(slot)});
        place(h, entries_.size());
        return &entries_.back();
    }
    // Hints for a lookup a few events ahead: the index cell of a hash, then
    // (once that cell has arrived) the entry it names. Neither changes anything.
    void prefetch_cell(std::uint64_t h) const {
        if (!index_.empty()) __builtin_prefetch(&index_[h & mask_]);
    }
    void prefetch_entry(std::uint64_t h) const {
        if (index_.empty()) return;
        std::uint64_t c = index_[h & mask_];
        auto n = static_cast<std::uint32_t>(c);
        if (n != 0 && static_cast<std::uint32_t>(c >> 32) == static_cast<std::uint32_t>(h >> 32) &&
            n <= entries_.size())
            __builtin_prefetch(&entries_[n - 1]);
    }
    template <class Fn>
    void each(Fn&& fn) const {
        for (const auto& e : entries_) fn(e);
    }
    std::size_t size() const { return entries_.size(); }
    void clear() {
        if (entries_.empty()) return;
        entries_.clear();
        std::fill(index_.begin(), index_.end(), 0);
    }

private:
    void place(std::uint64_t h, std::size_t n) {
        std::size_t i = h & mask_;
        while (index_[i] != 0) i = (i + 1) & mask_;
        index_[i] = (h >> 32 << 32) | n;
    }
    void grow() {
        index_.assign(std::max<std::size_t>(1024, index_.size() * 2), 0);
        mask_ = index_.size() - 1;
        for (std::size_t n = 0; n < entries_.size(); ++n) place(hash64(entries_[n].key), n + 1);
    }
    std::vector<std::uint64_t> index_;  // 0: empty; else tag << 32 | (entry + 1)
    std::vector<Entry> entries_;
    std::size_t mask_ = 0;
};

bool cmp_ok(const json& a, const json& b, Cond::Cmp c) {
    bool comparable = (a.is_number() && b.is_number()) || (a.is_string() && b.is_string());
    switch (c) {
    case Cond::Cmp::eq: return a == b;
    case Cond::Cmp::ne: return a != b;
    case Cond::Cmp::gt: return comparable && b < a;
    case Cond::Cmp::ge: return comparable && !(a < b);
    case Cond::Cmp::lt: return comparable && a < b;
    case Cond::Cmp::le: return comparable && !(b < a);
    default: return false;
    }
}

Result<bool> conds_hold(const Event& e, const std::vector<Cond>& conds, const Slot& slot) {
    for (const auto& c : conds) {
        json v;
        bool found = false;
        if (c.path.row) {
            const json* r = nullptr;
            if (slot.exists) {
                r = slot.row.find(c.path.segs[0].index < 0 ? c.path.segs[0].name : "");
                if (r && c.path.segs.size() > 1) {
                    Path rest = c.path;
                    rest.segs.erase(rest.segs.begin());
                    r = lookup_row(*r, rest);
                }
            }
            if (r) {
                v = *r;
                found = true;
            }
        } else {
            EVT_ASSIGN(found, value_of(e, c.path, c.mark, v));
        }
        bool ok;
        if (c.cmp == Cond::Cmp::exists) ok = found == c.value.get<bool>();
        else if (!found) ok = c.cmp == Cond::Cmp::ne;
        else if (c.cmp == Cond::Cmp::in) ok = std::find(c.value.begin(), c.value.end(), v) != c.value.end();
        else ok = cmp_ok(v, c.value, c.cmp);
        if (!ok) return false;
    }
    return true;
}

Status number_op(const Event& e, const Op& op, const std::string& f, json& field, const json& v) {
    if (!v.is_number())
        return fold_error(e, op.mark, fmt::format("{} '{}': the value is {}, not a number", op_name(op.kind), f,
                                                  kind_name(v)));
    bool neg = op.kind == OpKind::dec;
    if (field.is_null()) {
        field = v;
        if (neg) field = v.is_number_float() ? json(-v.get<double>()) : json(-v.get<std::int64_t>());
        return {};
    }
    if (!field.is_number())
        return fold_error(e, op.mark, fmt::format("{} '{}': the row's field is {}, not a number", op_name(op.kind), f,
                                                  kind_name(field)));
    if (field.is_number_float() || v.is_number_float()) {
        double d = v.get<double>();
        field = field.get<double>() + (neg ? -d : d);
    } else {
        std::int64_t d = v.get<std::int64_t>();
        field = field.get<std::int64_t>() + (neg ? -d : d);
    }
    return {};
}

Status apply(const Event& e, const Op& op, Slot& slot) {
    if (op.kind == OpKind::del) {
        slot.exists = false;
        slot.row.clear();
        return {};
    }
    if (!slot.exists) {
        slot.exists = true;
        slot.row.clear();
    }
    Row& row = slot.row;
    if (op.kind == OpKind::unset) {
        for (const auto& n : op.names) row.erase(n);
        return {};
    }
    for (const auto& [f, expr] : op.fields) {
        json tmp;
        const json* v = &expr.literal;
        if (expr.is_path) {
            EVT_ASSIGN(bool found, value_of(e, expr.path, op.mark, tmp));
            if (!found) {
                // a missing value leaves the field alone; a count or sum starts at 0
                if ((op.kind == OpKind::inc || op.kind == OpKind::dec) && !row.find(f)) row.at(f) = 0;
                continue;
            }
            v = &tmp;
        }
        json& field = row.at(f);
        switch (op.kind) {
        case OpKind::set: field = *v; break;
        case OpKind::inc:
        case OpKind::dec: EVT_TRY(number_op(e, op, f, field, *v)); break;
        case OpKind::push:
        case OpKind::add:
            if (field.is_null()) field = json::array();
            if (!field.is_array())
                return fold_error(e, op.mark, fmt::format("{} '{}': the row's field is {}, not an array",
                                                          op_name(op.kind), f, kind_name(field)));
            if (op.kind == OpKind::push || std::find(field.begin(), field.end(), *v) == field.end())
                field.push_back(*v);
            break;
        case OpKind::pull:
            if (field.is_null()) {
                row.erase(f);
                break;
            }
            if (!field.is_array())
                return fold_error(e, op.mark,
                                  fmt::format("pull '{}': the row's field is {}, not an array", f, kind_name(field)));
            field.erase(std::remove(field.begin(), field.end(), *v), field.end());
            break;
        case OpKind::min:
        case OpKind::max: {
            if (field.is_null()) {
                field = *v;
                break;
            }
            bool comparable = (field.is_number() && v->is_number()) || (field.is_string() && v->is_string());
            if (!comparable)
                return fold_error(e, op.mark, fmt::format("{} '{}': cannot compare the row's {} with {}",
                                                          op_name(op.kind), f, kind_name(field), kind_name(*v)));
            if (op.kind == OpKind::min ? *v < field : field < *v) field = *v;
            break;
        }
        default: break;
        }
    }
    return {};
}

// What the handlers of one event type are: per table, the handlers that match.
struct Dispatch {
    std::vector<std::pair<std::size_t, std::vector<const Handler*>>> tables;
};

// An event read ahead of the fold: its record, its parsed JSON, and its row
// key in each table it touches, found kAhead events before it is folded so
// that the rows it needs can be fetched into the cache meanwhile (a fold over
// 100,000 subjects otherwise waits on memory for most of its time).
struct Pending {
    struct Key {
        std::string key;
        std::uint64_t hash = 0;
        bool has = false;
    };
    log::RecordView rec;
    std::uint32_t topic = 0;
    const Dispatch* d = nullptr;
    simdjson::dom::element doc;
    std::optional<Error> error;  // raised when the event's turn comes, so errors keep their order
    std::vector<Key> keys;       // one per entry of d->tables
};

constexpr std::size_t kAhead = 16;  // events read ahead; the ring of parsers has as many

struct Source {
    std::uint32_t topic = 0;  // index into the generation's topics
    std::uint32_t partition = 0;
    std::uint64_t next = 0;
    std::uint64_t end = ~0ull;
    store::Cursor cursor;
    log::RecordView rec;
    bool has = false;
};

class Folder {
public:
    Folder(log::Log& log, const Spec& spec, const FoldOptions& o, std::string model)
        : log_(log), spec_(spec), o_(o), model_(std::move(model)) {
        rows_.resize(spec_.tables.size());
    }

    Result<FoldReport> run();

private:
    Status begin();
    Status resolve_topics(store::Txn& txn, GenState& g);
    Status batch(bool& at_end);
    Status read_batch(store::ReadTxn& txn, bool& at_end);
    void prepare(Pending& p, simdjson::dom::parser& parser);
    void prefetch(const Pending& p) const;
    Status fold_event(Pending& p);
    Result<Slot*> slot(std::size_t table, std::string& key, std::uint64_t hash);
    Status flush(bool at_end);
    const Dispatch& dispatch(std::string_view type);
    void release_map();

    log::Log& log_;
    const Spec& spec_;
    const FoldOptions& o_;
    std::string model_;
    FoldReport report_;
    std::uint64_t gen_ = 0;
    GenState start_;  // the generation's state as stored when the batch began
    GenState cur_;    // as it will be after the batch
    std::vector<RowMap> rows_;
    std::size_t row_count_ = 0;
    std::vector<std::optional<MDB_dbi>> dbis_;
    store::ReadTxn* txn_ = nullptr;
    // unique_ptr: a Dispatch stays where it is while events read ahead point to it
    std::unordered_map<std::uint64_t, std::vector<std::pair<std::string, std::unique_ptr<Dispatch>>>> dispatch_;
    std::vector<simdjson::dom::parser> parsers_{kAhead};
    std::vector<Pending> ring_{kAhead};
    std::string buf_;
    std::uint64_t total_ = 0, done_ = 0;
    bool counted_ = false;
};

// Unmaps the log's pages this process has touched. They stay in the page
// cache (the map is read-only: no MDB_WRITEMAP) and are mapped again on the
// next access, so a fold of any length keeps a bounded resident set.
void Folder::release_map() {
    // LMDB does not tell where its map is (mdb_env_info only knows a fixed
    // map's address), so find data.mdb's mapping in /proc/self/maps.
    std::FILE* f = std::fopen("/proc/self/maps", "r");
    if (!f) return;
    std::string data = log_.env().dir() + "/data.mdb";
    char line[4096];
    while (std::fgets(line, sizeof line, f)) {
        std::string_view l(line);
        while (!l.empty() && (l.back() == '\n' || l.back() == ' ')) l.remove_suffix(1);
        if (l.size() < data.size() || l.substr(l.size() - data.size()) != data) continue;
        unsigned long lo = 0, hi = 0;
        if (std::sscanf(line, "%lx-%lx", &lo, &hi) == 2 && hi > lo)
            (void)madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
    }
    std::fclose(f);
}

const Dispatch& Folder::dispatch(std::string_view type) {
    auto& bucket = dispatch_[hash64(type)];
    for (const auto& [t, d] : bucket)
        if (t == type) return *d;
    Dispatch d;
    std::string t(type);
    bool wanted = spec_.types.empty();
    for (const auto& g : spec_.types) wanted = wanted || glob_match(g, t);
    if (wanted)
        for (std::size_t i = 0; i < spec_.tables.size(); ++i) {
            std::vector<const Handler*> hs;
            for (const auto& h : spec_.tables[i].on)
                if (h.glob ? glob_match(h.pattern, t) : h.pattern == t) hs.push_back(&h);
            if (!hs.empty()) d.tables.emplace_back(i, std::move(hs));
        }
    bucket.emplace_back(t, std::make_unique<Dispatch>(std::move(d)));
    return *bucket.back().second;
}

Status Folder::resolve_topics(store::Txn& txn, GenState& g) {
    for (auto& tp : g.topics) {
        EVT_ASSIGN(auto tc, log_.find_topic(txn, tp.name));
        if (!tc) return make_error(ErrorKind::not_found, "no such topic '{}' (read model '{}')", tp.name, model_);
        if (tp.id == 0) tp.id = tc->id;
        if (tc->id != tp.id)
            return make_error(ErrorKind::usage,
                              "topic '{}' was deleted and created again since read model '{}' was built; "
                              "run with --rebuild",
                              tp.name, model_);
        while (tp.pos.size() < tc->partitions) {
            auto p = static_cast<std::uint32_t>(tp.pos.size());
            EVT_ASSIGN(log::PartitionInfo info, log_.partition_info(txn, *tc, p));
            tp.pos.push_back(info.start);
            if (!g.bound.empty()) {
                std::uint64_t end = info.end;
                if (o_.until && o_.until->kind == log::OffsetSpec::Kind::offset) end = std::min(end, o_.until->n);
                else if (o_.until) {
                    EVT_ASSIGN(end, log_.seek_time(txn, *tc, p, o_.until->time));
                }
                tp.end.push_back(end);
            }
        }
    }
    return {};
}

Status Folder::begin() {
    bool rebuild = o_.rebuild;
    return log_.write([&](store::WriteTxn& txn) -> Status {
        EVT_ASSIGN(auto st, read_state(txn, model_));
        ModelState s;
        if (st) s = *st;
        s.name = model_;
        std::string hash = spec_.hash_hex();
        report_.resumed = false;
        if (!rebuild && s.active) {
            const GenState& g = s.gens.at(s.active);
            if (g.hash != hash)
                return make_error(ErrorKind::usage,
                                  "the spec of read model '{}' changed since it was built (from {}); run "
                                  "evt-project with --rebuild",
                                  model_, g.file);
            gen_ = s.active;
            return {};
        }
        if (rebuild && s.building && s.gens.at(s.building).hash == hash) {
            gen_ = s.building;
            report_.resumed = true;
            return {};
        }
        if (s.building) {
            EVT_TRY(drop_gen(txn, model_, s.gens.at(s.building)));
            s.gens.erase(s.building);
            s.building = 0;
        }
        GenState g;
        g.gen = s.next++;
        g.hash = hash;
        g.file = spec_.file;
        g.updated = now_micros();
        g.bound = o_.until ? o_.until_text : "";
        for (const auto& t : spec_.tables) g.tables.push_back(t.name);
        for (const auto& t : spec_.topics) g.topics.push_back({t, 0, {}, {}});
        EVT_TRY(resolve_topics(txn, g));
        gen_ = g.gen;
        if (s.active) s.building = g.gen;  // beside the active one, swapped in at the end
        else s.active = g.gen;             // nothing to protect: readers see it grow
        s.gens[g.gen] = std::move(g);
        return write_state(txn, s);
    });
}

Result<Slot*> Folder::slot(std::size_t table, std::string& key, std::uint64_t h) {
    auto& m = rows_[table];
    if (auto* e = m.find(key, h)) return &e->slot;
    Slot s;
    if (dbis_[table]) {
        std::string_view v;
        EVT_ASSIGN(bool found, txn_->get(*dbis_[table], key, v));
        if (found) {
            try {
                s.row = Row::parse(v);
            } catch (const std::exception& ex) {
                return make_error(ErrorKind::corrupt, "read model '{}': row '{}' is not JSON: {}", model_, key,
                                  ex.what());
            }
            s.exists = s.stored = true;
        }
    }
    ++row_count_;
    return &m.insert(std::move(key), h, std::move(s))->slot;
}

void Folder::prepare(Pending& p, simdjson::dom::parser& parser) {
    p.error.reset();
    p.d = &dispatch(p.rec.type);
    if (p.d->tables.empty()) return;
    std::string_view text = p.rec.json;
    if (buf_.size() < text.size() + simdjson::SIMDJSON_PADDING) buf_.resize(text.size() + simdjson::SIMDJSON_PADDING);
    std::memcpy(buf_.data(), text.data(), text.size());
    Event e{&p.rec, cur_.topics[p.topic].name, {}};
    if (auto err = parser.parse(buf_.data(), text.size(), false).get(p.doc)) {
        p.error = make_error(ErrorKind::corrupt, "event {}: stored JSON does not parse: {}", e.where(),
                             simdjson::error_message(err));
        return;
    }
    e.doc = p.doc;
    if (p.keys.size() < p.d->tables.size()) p.keys.resize(p.d->tables.size());
    for (std::size_t j = 0; j < p.d->tables.size(); ++j) {
        std::size_t ti = p.d->tables[j].first;
        Pending::Key& k = p.keys[j];
        auto has = key_of(e, spec_.tables[ti], k.key);
        if (!has.ok()) {
            p.error = std::move(has).error();
            return;
        }
        k.has = *has;
        if (!k.has) continue;
        k.hash = hash64(k.key);
        rows_[ti].prefetch_cell(k.hash);
    }
}

void Folder::prefetch(const Pending& p) const {
    if (p.error || p.d->tables.empty()) return;
    for (std::size_t j = 0; j < p.d->tables.size(); ++j)
        if (p.keys[j].has) rows_[p.d->tables[j].first].prefetch_entry(p.keys[j].hash);
}

Status Folder::fold_event(Pending& p) {
    if (p.error) return *p.error;
    const Dispatch& d = *p.d;
    if (d.tables.empty()) return {};
    Event e{&p.rec, cur_.topics[p.topic].name, p.doc};
    bool applied = false;
    for (std::size_t j = 0; j < d.tables.size(); ++j) {
        Pending::Key& k = p.keys[j];
        if (!k.has) continue;
        EVT_ASSIGN(Slot * s, slot(d.tables[j].first, k.key, k.hash));
        for (const Handler* h : d.tables[j].second)
            for (const Op& op : h->ops) {
                if (!op.when.empty()) {
                    EVT_ASSIGN(bool ok, conds_hold(e, op.when, *s));
                    if (!ok) continue;
                }
                EVT_TRY(apply(e, op, *s));
                applied = true;
            }
    }
    if (applied) {
        ++cur_.applied;
        ++report_.applied;
    }
    return {};
}

Status Folder::read_batch(store::ReadTxn& txn, bool& at_end) {
    txn_ = &txn;
    EVT_ASSIGN(auto st, read_state(txn, model_));
    if (!st || !st->gens.count(gen_))
        return make_error(ErrorKind::busy, "read model '{}' was rebuilt or dropped by another process meanwhile",
                          model_);
    start_ = st->gens.at(gen_);
    cur_ = start_;
    EVT_TRY(resolve_topics(txn, cur_));
    dbis_.assign(spec_.tables.size(), std::nullopt);
    for (std::size_t i = 0; i < spec_.tables.size(); ++i) {
        auto d = txn.dbi(rows_db(model_, gen_, spec_.tables[i].name), false);
        if (d.ok()) dbis_[i] = *d;
        else if (d.error().kind != ErrorKind::not_found) return d.error();
    }
    std::vector<Source> src;
    std::vector<log::TopicConfig> configs;
    for (std::uint32_t ti = 0; ti < cur_.topics.size(); ++ti) {
        const TopicPos& tp = cur_.topics[ti];
        EVT_ASSIGN(log::TopicConfig tc, log_.topic(txn, tp.name));
        configs.push_back(tc);
        for (std::uint32_t p = 0; p < tp.pos.size(); ++p) {
            Source s;
            s.topic = ti;
            s.partition = p;
            s.next = tp.pos[p];
            if (!tp.end.empty()) s.end = tp.end[p];
            if (s.next >= s.end) continue;
            EVT_ASSIGN(MDB_dbi d, log::records_dbi(txn, tc.id, p, false));
            EVT_ASSIGN(s.cursor, store::Cursor::open(txn, d));
            if (!counted_) {
                EVT_ASSIGN(log::PartitionInfo info, log_.partition_info(txn, tc, p));
                std::uint64_t e = std::min(info.end, s.end);
                if (e > s.next) total_ += e - s.next;
            }
            src.push_back(std::move(s));
        }
    }
    counted_ = true;
    // Positions the source at its next record; has=false at its end.
    auto load = [&](Source& s, MDB_cursor_op op) -> Status {
        MDB_val k, v;
        std::uint64_t want = s.next;
        if (op == MDB_SET_RANGE) k = store::val(&want, 8);
        EVT_ASSIGN(bool found, s.cursor.get(k, v, op));
        s.has = false;
        if (!found) return {};
        std::uint64_t off = log::offset_of(k.mv_data);
        if (off >= s.end) return {};
        if (!log::decode_record(store::view(v), s.rec))
            return make_error(ErrorKind::corrupt, "{}/{}/{}: a malformed record", cur_.topics[s.topic].name,
                              s.partition, off);
        s.rec.partition = s.partition;
        s.rec.offset = off;
        s.has = true;
        return {};
    };
    auto later = [&](const Source* a, const Source* b) {
        if (a->rec.time != b->rec.time) return a->rec.time > b->rec.time;
        if (a->topic != b->topic) return a->topic > b->topic;
        return a->partition > b->partition;
    };
    std::vector<Source*> heap;
    for (auto& s : src) {
        EVT_TRY(load(s, MDB_SET_RANGE));
        if (s.has) heap.push_back(&s);
    }
    std::make_heap(heap.begin(), heap.end(), later);
    // The fold reads kAhead events ahead of the one it applies (see Pending):
    // ring_[(first + i) % kAhead] for i < queued. Events read ahead and not
    // applied when the batch ends are read again by the next one (it starts
    // from the positions of the applied events).
    std::size_t first = 0, queued = 0;
    auto read_ahead = [&]() -> Status {
        while (queued < kAhead && !heap.empty()) {
            std::pop_heap(heap.begin(), heap.end(), later);
            Source* s = heap.back();
            std::size_t at = (first + queued) % kAhead;
            Pending& p = ring_[at];
            p.rec = s->rec;
            p.topic = s->topic;
            prepare(p, parsers_[at]);
            ++queued;
            s->next = s->rec.offset + 1;
            EVT_TRY(load(*s, MDB_NEXT));
            if (s->has) std::push_heap(heap.begin(), heap.end(), later);
            else heap.pop_back();
        }
        return {};
    };
    std::uint64_t n = 0;
    Micros started = now_micros();
    for (;;) {
        EVT_TRY(read_ahead());
        if (queued == 0) break;
        if (queued > kAhead / 2) prefetch(ring_[(first + kAhead / 2) % kAhead]);
        Pending& p = ring_[first];
        EVT_TRY(fold_event(p));
        cur_.topics[p.topic].pos[p.rec.partition] = p.rec.offset + 1;
        first = (first + 1) % kAhead;
        --queued;
        ++cur_.events;
        ++n;
        ++done_;
        if (o_.progress) o_.progress(done_, std::max(total_, done_));
        if (n >= o_.batch || row_count_ >= o_.max_rows) break;
        if ((n & 1023) == 0 && now_micros() - started >= o_.max_batch_time) break;
        if ((n & 1023) == 0 && o_.stop && o_.stop()) break;
        if ((n & 65535) == 0) release_map();
    }
    at_end = heap.empty() && queued == 0;
    report_.events += n;
    txn_ = nullptr;
    return {};
}

Status Folder::flush(bool at_end) {
    std::vector<std::vector<std::pair<const std::string*, const Slot*>>> sorted(rows_.size());
    for (std::size_t i = 0; i < rows_.size(); ++i) {
        rows_[i].each([&](const RowMap::Entry& e) { sorted[i].emplace_back(&e.key, &e.slot); });
        std::sort(sorted[i].begin(), sorted[i].end(), [](auto& a, auto& b) { return *a.first < *b.first; });
    }
    bool swapped = false;
    Status st = log_.write([&](store::WriteTxn& txn) -> Status {
        swapped = false;
        EVT_ASSIGN(auto s, read_state(txn, model_));
        if (!s || !s->gens.count(gen_))
            return make_error(ErrorKind::busy, "read model '{}' was rebuilt or dropped by another process meanwhile",
                              model_);
        const GenState& stored = s->gens.at(gen_);
        bool same = stored.topics.size() == start_.topics.size() && stored.events == start_.events;
        for (std::size_t i = 0; same && i < stored.topics.size(); ++i)
            same = stored.topics[i].pos == start_.topics[i].pos;
        if (!same)
            return make_error(ErrorKind::busy,
                              "read model '{}' was advanced by another evt-project meanwhile; nothing of this "
                              "batch was written",
                              model_);
        for (std::size_t i = 0; i < rows_.size(); ++i) {
            if (sorted[i].empty()) continue;
            EVT_ASSIGN(MDB_dbi d, txn.dbi(rows_db(model_, gen_, spec_.tables[i].name), true));
            for (const auto& [k, slot] : sorted[i]) {
                if (slot->exists) EVT_TRY(txn.put(d, *k, slot->row.dump()));
                else if (slot->stored) EVT_TRY(txn.del(d, *k));
            }
        }
        cur_.updated = now_micros();
        s->gens[gen_] = cur_;
        if (at_end && s->building == gen_) {
            if (s->active && s->gens.count(s->active)) {
                EVT_TRY(drop_gen(txn, model_, s->gens.at(s->active)));
                s->gens.erase(s->active);
            }
            s->active = gen_;
            s->building = 0;
            swapped = true;
        }
        return write_state(txn, *s);
    });
    EVT_TRY(st);
    if (swapped) report_.rebuilt = true;
    ++report_.batches;
    for (auto& m : rows_) m.clear();
    row_count_ = 0;
    return {};
}

Status Folder::batch(bool& at_end) {
    {
        EVT_ASSIGN(store::ReadTxn txn, log_.env().read());
        EVT_TRY(read_batch(txn, at_end));
    }
    bool moved = cur_.events != start_.events;
    bool grew = false;
    for (std::size_t i = 0; i < cur_.topics.size(); ++i)
        grew = grew || cur_.topics[i].pos.size() != start_.topics[i].pos.size();
    bool pending_swap = false;
    if (at_end) {
        EVT_ASSIGN(store::ReadTxn txn, log_.env().read());
        EVT_ASSIGN(auto s, read_state(txn, model_));
        pending_swap = s && s->building == gen_;
    }
    if (moved || grew || pending_swap) EVT_TRY(flush(at_end));
    return {};
}

Result<FoldReport> Folder::run() {
    report_.model = model_;
    EVT_TRY(begin());
    report_.gen = gen_;
    std::unique_ptr<log::LogWatcher> watcher;
    for (;;) {
        bool at_end = false;
        EVT_TRY(batch(at_end));
        if (o_.stop && o_.stop()) break;
        if (!at_end) continue;
        if (!o_.follow) break;
        if (o_.idle) o_.idle();
        if (!watcher) watcher = std::make_unique<log::LogWatcher>(log_.path());
        watcher->wait(200);
    }
    return report_;
}

}  // namespace

std::string default_label(std::string_view bound) {
    std::string out;
    for (char c : bound) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        if (c == '@' && out.empty()) continue;
        out += ok ? c : '-';
    }
    return out.empty() ? "snapshot" : out;
}

Result<FoldReport> fold(log::Log& log, const Spec& spec, const FoldOptions& o) {
    std::string model = spec.name;
    if (o.until || !o.snapshot.empty()) {
        if (!o.until) return Error{ErrorKind::usage, "--snapshot needs --until @TIME or --to OFFSET"};
        std::string label = o.snapshot.empty() ? default_label(o.until_text) : o.snapshot;
        if (auto st = check_model_name(label); !st.ok())
            return make_error(ErrorKind::usage, "bad snapshot label '{}': use letters, digits, '_' and '-'", label);
        model += "@" + label;
        if (o.follow) return Error{ErrorKind::usage, "a snapshot is fixed: --follow cannot be used with --until/--to"};
    }
    Folder f(log, spec, o, model);
    return f.run();
}

}  // namespace evt::project
