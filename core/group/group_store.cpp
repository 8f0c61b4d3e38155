#include "core/group/group_store.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include "core/log/log.hpp"
#include "core/log/record.hpp"

namespace evt::group {

using log::get_le;
using log::put_le;
using nlohmann::json;

namespace {

constexpr const char* kDb = "groups";

void put_be32(std::string& k, std::uint32_t v) {
    for (int i = 3; i >= 0; --i) k += static_cast<char>((v >> (8 * i)) & 0xff);
}
void put_be64s(std::string& k, std::uint64_t v) {
    for (int i = 7; i >= 0; --i) k += static_cast<char>((v >> (8 * i)) & 0xff);
}

std::string key(char kind, std::string_view group) {
    std::string k(1, kind);
    k += '\0';
    k.append(group);
    return k;
}
std::string key(char kind, std::string_view group, std::string_view topic) {
    std::string k = key(kind, group);
    k += '\0';
    k.append(topic);
    return k;
}
std::string key(char kind, std::string_view group, std::string_view topic, std::uint32_t p) {
    std::string k = key(kind, group, topic);
    k += '\0';
    put_be32(k, p);
    return k;
}

Result<GroupState> decode_state(std::string_view name, std::string_view v) {
    json j = json::parse(v, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return make_error(ErrorKind::corrupt, "group '{}': bad state record", name);
    GroupState s;
    s.name = std::string(name);
    s.mode = j.value("mode", "log") == "queue" ? Mode::queue : Mode::log;
    s.topic = j.value("topic", "");
    s.strategy = j.value("strategy", "range") == "roundrobin" ? Strategy::roundrobin : Strategy::range;
    s.generation = j.value("generation", 0ull);
    s.created = j.value("created", 0ll);
    return s;
}

}  // namespace

std::string mode_name(Mode m) { return m == Mode::queue ? "queue" : "log"; }
std::string strategy_name(Strategy s) { return s == Strategy::roundrobin ? "roundrobin" : "range"; }

Status check_group_name(std::string_view name) {
    auto s = log::check_topic_name(name);
    if (!s.ok()) return make_error(ErrorKind::usage, "invalid group name '{}' (letters, digits, '.', '_', '-')", name);
    return {};
}

std::string this_host() {
    char buf[256] = {0};
    if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
    return buf;
}

bool Member::alive(Micros now) const {
    if (now - heartbeat > session_timeout) return false;
    if (host == this_host() && pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) return false;
    return true;
}

Result<GroupStore> GroupStore::open(store::Txn& txn, bool create) {
    GroupStore g;
    auto d = txn.dbi(kDb, create);
    if (!d.ok()) {
        if (d.error().kind == ErrorKind::not_found) return g;
        return d.error();
    }
    g.dbi_ = *d;
    g.opened_ = true;
    return g;
}

Result<std::optional<GroupState>> GroupStore::state(store::Txn& txn, std::string_view group) {
    if (!opened_) return std::optional<GroupState>();
    std::string_view v;
    EVT_ASSIGN(bool found, txn.get(dbi_, key('s', group), v));
    if (!found) return std::optional<GroupState>();
    EVT_ASSIGN(GroupState s, decode_state(group, v));
    return std::optional<GroupState>(std::move(s));
}

Status GroupStore::put_state(store::WriteTxn& txn, const GroupState& s) {
    json j = {{"mode", mode_name(s.mode)}, {"topic", s.topic}, {"strategy", strategy_name(s.strategy)},
              {"generation", s.generation}, {"created", s.created}};
    return txn.put(dbi_, key('s', s.name), j.dump());
}

Result<std::vector<GroupState>> GroupStore::groups(store::Txn& txn) {
    std::vector<GroupState> out;
    if (!opened_) return out;
    EVT_ASSIGN(store::Cursor c, store::Cursor::open(txn, dbi_));
    std::string prefix("s\0", 2);
    MDB_val k = store::val(prefix), v;
    EVT_ASSIGN(bool ok, c.get(k, v, MDB_SET_RANGE));
    while (ok) {
        std::string_view ks = store::view(k);
        if (ks.substr(0, 2) != prefix) break;
        EVT_ASSIGN(GroupState s, decode_state(ks.substr(2), store::view(v)));
        out.push_back(std::move(s));
        EVT_ASSIGN(ok, c.get(k, v, MDB_NEXT));
    }
    return out;
}

Result<std::vector<Member>> GroupStore::members(store::Txn& txn, std::string_view group) {
    std::vector<Member> out;
    if (!opened_) return out;
    EVT_ASSIGN(store::Cursor c, store::Cursor::open(txn, dbi_));
    std::string prefix = key('m', group);
    prefix += '\0';
    MDB_val k = store::val(prefix), v;
    EVT_ASSIGN(bool ok, c.get(k, v, MDB_SET_RANGE));
    while (ok) {
        std::string_view ks = store::view(k);
        if (ks.substr(0, prefix.size()) != prefix) break;
        json j = json::parse(store::view(v), nullptr, false);
        if (j.is_discarded() || !j.is_object()) return make_error(ErrorKind::corrupt, "group '{}': bad member", group);
        Member m;
        m.id = std::string(ks.substr(prefix.size()));
        m.pid = j.value("pid", 0);
        m.host = j.value("host", "");
        m.joined = j.value("joined", 0ll);
        m.heartbeat = j.value("heartbeat", 0ll);
        m.session_timeout = j.value("session_timeout_us", 10'000'000ll);
        out.push_back(std::move(m));
        EVT_ASSIGN(ok, c.get(k, v, MDB_NEXT));
    }
    return out;
}

Status GroupStore::put_member(store::WriteTxn& txn, std::string_view group, const Member& m) {
    json j = {{"pid", m.pid}, {"host", m.host}, {"joined", m.joined}, {"heartbeat", m.heartbeat},
              {"session_timeout_us", m.session_timeout}};
    std::string k = key('m', group);
    k += '\0';
    k += m.id;
    return txn.put(dbi_, k, j.dump());
}

Status GroupStore::del_member(store::WriteTxn& txn, std::string_view group, std::string_view id) {
    std::string k = key('m', group);
    k += '\0';
    k.append(id);
    return txn.del(dbi_, k);
}

Result<std::optional<std::uint64_t>> GroupStore::offset(store::Txn& txn, std::string_view group,
                                                        std::string_view topic, std::uint32_t p) {
    if (!opened_) return std::optional<std::uint64_t>();
    std::string_view v;
    EVT_ASSIGN(bool found, txn.get(dbi_, key('o', group, topic, p), v));
    if (!found) return std::optional<std::uint64_t>();
    if (v.size() < 8) return Error{ErrorKind::corrupt, "bad committed offset record"};
    return std::optional<std::uint64_t>(get_le<std::uint64_t>(v.data()));
}

Status GroupStore::put_offset(store::WriteTxn& txn, std::string_view group, std::string_view topic, std::uint32_t p,
                              std::uint64_t next, Micros now) {
    char v[16];
    put_le<std::uint64_t>(v, next);
    put_le<std::int64_t>(v + 8, now);
    return txn.put(dbi_, key('o', group, topic, p), std::string_view(v, 16));
}

Status GroupStore::del_offset(store::WriteTxn& txn, std::string_view group, std::string_view topic, std::uint32_t p) {
    return txn.del(dbi_, key('o', group, topic, p));
}

Result<std::optional<std::string>> GroupStore::claim(store::Txn& txn, std::string_view group, std::string_view topic,
                                                     std::uint32_t p) {
    if (!opened_) return std::optional<std::string>();
    std::string_view v;
    EVT_ASSIGN(bool found, txn.get(dbi_, key('c', group, topic, p), v));
    if (!found) return std::optional<std::string>();
    return std::optional<std::string>(std::string(v));
}

Status GroupStore::put_claim(store::WriteTxn& txn, std::string_view group, std::string_view topic, std::uint32_t p,
                             std::string_view member) {
    return txn.put(dbi_, key('c', group, topic, p), member);
}

Status GroupStore::del_claim(store::WriteTxn& txn, std::string_view group, std::string_view topic, std::uint32_t p) {
    return txn.del(dbi_, key('c', group, topic, p));
}

namespace {
std::string lease_key(std::string_view group, std::string_view topic, std::uint32_t p, std::uint64_t offset) {
    std::string k = key('l', group, topic, p);
    k += '\0';
    put_be64s(k, offset);
    return k;
}
Result<Lease> decode_lease(std::string_view v) {
    if (v.size() < 13) return Error{ErrorKind::corrupt, "bad lease record"};
    Lease l;
    l.deadline = get_le<std::int64_t>(v.data());
    l.deliveries = get_le<std::uint32_t>(v.data() + 8);
    l.state = static_cast<Lease::State>(v[12]);
    l.member = std::string(v.substr(13));
    return l;
}
}  // namespace

Result<std::optional<Lease>> GroupStore::lease(store::Txn& txn, std::string_view group, std::string_view topic,
                                               std::uint32_t p, std::uint64_t offset) {
    if (!opened_) return std::optional<Lease>();
    std::string_view v;
    EVT_ASSIGN(bool found, txn.get(dbi_, lease_key(group, topic, p, offset), v));
    if (!found) return std::optional<Lease>();
    EVT_ASSIGN(Lease l, decode_lease(v));
    return std::optional<Lease>(std::move(l));
}

Status GroupStore::put_lease(store::WriteTxn& txn, std::string_view group, std::string_view topic, std::uint32_t p,
                             std::uint64_t offset, const Lease& l) {
    std::string v(13, '\0');
    put_le<std::int64_t>(v.data(), l.deadline);
    put_le<std::uint32_t>(v.data() + 8, l.deliveries);
    v[12] = static_cast<char>(l.state);
    v += l.member;
    return txn.put(dbi_, lease_key(group, topic, p, offset), v);
}

Status GroupStore::del_lease(store::WriteTxn& txn, std::string_view group, std::string_view topic, std::uint32_t p,
                             std::uint64_t offset) {
    return txn.del(dbi_, lease_key(group, topic, p, offset));
}

Status GroupStore::for_each_lease(store::Txn& txn, std::string_view group, std::string_view topic, std::uint32_t p,
                                  std::uint64_t from,
                                  const std::function<Result<bool>(std::uint64_t, const Lease&)>& fn) {
    if (!opened_) return {};
    EVT_ASSIGN(store::Cursor c, store::Cursor::open(txn, dbi_));
    std::string prefix = key('l', group, topic, p);
    prefix += '\0';
    std::string start = lease_key(group, topic, p, from);
    MDB_val k = store::val(start), v;
    EVT_ASSIGN(bool ok, c.get(k, v, MDB_SET_RANGE));
    while (ok) {
        std::string_view ks = store::view(k);
        if (ks.size() != prefix.size() + 8 || ks.substr(0, prefix.size()) != prefix) break;
        std::uint64_t off = log::get_be64(ks.data() + prefix.size());
        EVT_ASSIGN(Lease l, decode_lease(store::view(v)));
        EVT_ASSIGN(bool more, fn(off, l));
        if (!more) break;
        EVT_ASSIGN(ok, c.get(k, v, MDB_NEXT));
    }
    return {};
}

Status GroupStore::advance_floor(store::WriteTxn& txn, std::string_view group, std::string_view topic,
                                 std::uint32_t p, std::uint64_t floor, Micros now) {
    std::uint64_t start = floor;
    std::vector<std::uint64_t> drop;
    EVT_TRY(for_each_lease(txn, group, topic, p, floor, [&](std::uint64_t off, const Lease& l) -> Result<bool> {
        if (off != floor || l.state != Lease::State::done) return false;
        drop.push_back(off);
        ++floor;
        return true;
    }));
    for (std::uint64_t off : drop) EVT_TRY(del_lease(txn, group, topic, p, off));
    if (floor != start) EVT_TRY(put_offset(txn, group, topic, p, floor, now));
    return {};
}

Result<QueueCounts> GroupStore::counts(store::Txn& txn, std::string_view group, std::string_view topic) {
    QueueCounts q;
    if (!opened_) return q;
    std::string_view v;
    EVT_ASSIGN(bool found, txn.get(dbi_, key('q', group, topic), v));
    if (found && v.size() >= 24) {
        q.acked = get_le<std::uint64_t>(v.data());
        q.redelivered = get_le<std::uint64_t>(v.data() + 8);
        q.dead_lettered = get_le<std::uint64_t>(v.data() + 16);
    }
    return q;
}

Status GroupStore::put_counts(store::WriteTxn& txn, std::string_view group, std::string_view topic,
                              const QueueCounts& q) {
    char v[24];
    put_le<std::uint64_t>(v, q.acked);
    put_le<std::uint64_t>(v + 8, q.redelivered);
    put_le<std::uint64_t>(v + 16, q.dead_lettered);
    return txn.put(dbi_, key('q', group, topic), std::string_view(v, 24));
}

Status GroupStore::delete_group(store::WriteTxn& txn, std::string_view group) {
    if (!opened_) return {};
    EVT_ASSIGN(store::Cursor c, store::Cursor::open(txn, dbi_));
    for (char kind : {'s', 'm', 'o', 'c', 'l', 'q'}) {
        std::string prefix = key(kind, group);
        MDB_val k = store::val(prefix), v;
        EVT_ASSIGN(bool ok, c.get(k, v, MDB_SET_RANGE));
        while (ok) {
            std::string_view ks = store::view(k);
            bool mine = ks.substr(0, prefix.size()) == prefix && (ks.size() == prefix.size() || ks[prefix.size()] == '\0');
            if (!mine) break;
            int rc = mdb_cursor_del(c.raw(), 0);
            if (rc) return store::lmdb_error(rc, "deleting a group");
            k = store::val(prefix);
            EVT_ASSIGN(ok, c.get(k, v, MDB_SET_RANGE));
        }
    }
    return {};
}

}  // namespace evt::group
