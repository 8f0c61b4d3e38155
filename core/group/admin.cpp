#include "core/group/admin.hpp"

#include <simdjson.h>

#include <charconv>
#include <map>
#include <set>

#include "core/log/reader.hpp"

namespace evt::group {

Result<std::uint64_t> reset_target(std::string_view spec, std::uint64_t start, std::uint64_t end,
                                   std::optional<std::uint64_t> current,
                                   const std::function<Result<std::uint64_t>(Micros)>& seek_time) {
    auto clamp = [&](std::uint64_t x) { return std::clamp(x, start, end); };
    if (spec == "earliest") return start;
    if (spec == "latest") return end;
    if (spec.rfind("shift:", 0) == 0) {
        std::string_view n = spec.substr(6);
        bool neg = !n.empty() && n[0] == '-';
        if (!n.empty() && (n[0] == '-' || n[0] == '+')) n.remove_prefix(1);
        std::uint64_t k = 0;
        auto r = std::from_chars(n.data(), n.data() + n.size(), k);
        if (n.empty() || r.ec != std::errc() || r.ptr != n.data() + n.size())
            return make_error(ErrorKind::usage, "invalid reset spec '{}'", spec);
        std::uint64_t base = current ? *current : start;
        return clamp(neg ? (base > k ? base - k : 0) : base + k);
    }
    if (!spec.empty() && spec[0] == '@') {
        EVT_ASSIGN(Micros at, parse_time(spec.substr(1), now_micros()));
        return seek_time(at);
    }
    std::uint64_t n = 0;
    auto r = std::from_chars(spec.data(), spec.data() + spec.size(), n);
    if (spec.empty() || r.ec != std::errc() || r.ptr != spec.data() + spec.size())
        return make_error(ErrorKind::usage, "invalid reset spec '{}' (earliest, latest, N, @TIME or shift:-N)", spec);
    return clamp(n);
}


namespace {

Result<GroupView> view(log::Log& lg, store::Txn& txn, GroupStore& gs, const GroupState& s) {
    GroupView v;
    v.state = s;
    Micros now = now_micros();
    EVT_ASSIGN(auto all, gs.members(txn, s.name));
    for (auto& m : all)
        if (m.alive(now)) v.members.push_back(m);
    EVT_ASSIGN(auto topic, lg.find_topic(txn, s.topic));
    if (!topic) return v;
    EVT_ASSIGN(v.counts, gs.counts(txn, s.name, s.topic));
    v.retention = topic->removes();
    for (std::uint32_t p = 0; p < topic->partitions; ++p) {
        PartitionRow r;
        r.partition = p;
        EVT_ASSIGN(log::PartitionInfo info, lg.partition_info(txn, *topic, p));
        r.log_start = info.start;
        r.log_end = info.end;
        EVT_ASSIGN(r.committed, gs.offset(txn, s.name, s.topic, p));
        if (r.committed && *r.committed < info.start && topic->expires()) r.lost = info.start - *r.committed;
        std::uint64_t from = r.committed ? std::max(*r.committed, info.start) : info.start;
        r.lag = info.end > from ? info.end - from : 0;
        EVT_ASSIGN(auto holder, gs.claim(txn, s.name, s.topic, p));
        if (holder) {
            for (const auto& m : v.members)
                if (m.id == *holder) {
                    r.member = m.id;
                    r.host = m.host;
                    r.pid = m.pid;
                }
        }
        if (s.mode == Mode::queue) {
            EVT_TRY(gs.for_each_lease(txn, s.name, s.topic, p, 0, [&](std::uint64_t, const Lease& l) -> Result<bool> {
                if (l.state == Lease::State::leased && l.deadline > now) ++r.in_flight;
                return true;
            }));
        }
        v.partitions.push_back(r);
    }
    return v;
}

Result<std::uint64_t> reset_target(log::Log& lg, store::Txn& txn, const log::TopicConfig& t, std::uint32_t p,
                                   std::optional<std::uint64_t> current, std::string_view spec) {
    EVT_ASSIGN(log::PartitionInfo info, lg.partition_info(txn, t, p));
    return group::reset_target(spec, info.start, info.end, current, [&](Micros at) { return lg.seek_time(txn, t, p, at); });
}

Status refuse_if_live(GroupStore& gs, store::Txn& txn, std::string_view group, const char* what) {
    EVT_ASSIGN(auto all, gs.members(txn, group));
    Micros now = now_micros();
    std::size_t n = 0;
    for (auto& m : all) n += m.alive(now);
    if (n) return make_error(ErrorKind::busy, "group '{}' has {} live member{}; stop them before {}", group, n,
                             n == 1 ? "" : "s", what);
    return {};
}

}  // namespace

Result<std::vector<GroupView>> list_groups(log::Log& lg) {
    EVT_ASSIGN(auto txn, lg.env().read());
    EVT_ASSIGN(GroupStore gs, GroupStore::open(txn, false));
    EVT_ASSIGN(auto states, gs.groups(txn));
    std::vector<GroupView> out;
    for (const auto& s : states) {
        EVT_ASSIGN(GroupView v, view(lg, txn, gs, s));
        out.push_back(std::move(v));
    }
    return out;
}

Result<GroupView> describe_group(log::Log& lg, std::string_view group) {
    EVT_ASSIGN(auto txn, lg.env().read());
    EVT_ASSIGN(GroupStore gs, GroupStore::open(txn, false));
    EVT_ASSIGN(auto s, gs.state(txn, group));
    if (!s) return make_error(ErrorKind::not_found, "no such group '{}'", group);
    return view(lg, txn, gs, *s);
}

Result<std::vector<ResetRow>> reset_group(log::Log& lg, std::string_view group, std::string_view topic,
                                          std::string_view spec, bool execute) {
    std::vector<ResetRow> rows;
    Status s = lg.write([&](store::WriteTxn& txn) -> Status {
        rows.clear();
        EVT_ASSIGN(GroupStore gs, GroupStore::open(txn, true));
        EVT_ASSIGN(auto st, gs.state(txn, group));
        if (!st) return make_error(ErrorKind::not_found, "no such group '{}'", group);
        if (st->topic != topic) return make_error(ErrorKind::usage, "group '{}' consumes '{}', not '{}'", group, st->topic, topic);
        EVT_TRY(refuse_if_live(gs, txn, group, "resetting its offsets"));
        EVT_ASSIGN(log::TopicConfig t, lg.topic(txn, topic));
        for (std::uint32_t p = 0; p < t.partitions; ++p) {
            EVT_ASSIGN(auto current, gs.offset(txn, group, topic, p));
            EVT_ASSIGN(std::uint64_t target, reset_target(lg, txn, t, p, current, spec));
            rows.push_back(ResetRow{p, current, target});
            if (execute) {
                EVT_TRY(gs.put_offset(txn, group, topic, p, target, now_micros()));
                // queue mode: leases below or at the new floor no longer matter
                std::vector<std::uint64_t> drop;
                EVT_TRY(gs.for_each_lease(txn, group, topic, p, 0, [&](std::uint64_t off, const Lease&) -> Result<bool> {
                    drop.push_back(off);
                    return true;
                }));
                for (auto off : drop) EVT_TRY(gs.del_lease(txn, group, topic, p, off));
            }
        }
        if (!execute) return Error{ErrorKind::internal, "dry run"};  // abort: nothing changes
        return {};
    });
    if (!s.ok() && !(s.error().kind == ErrorKind::internal && s.error().message == "dry run")) return s.error();
    return rows;
}

Status delete_group(log::Log& lg, std::string_view group) {
    return lg.write([&](store::WriteTxn& txn) -> Status {
        EVT_ASSIGN(GroupStore gs, GroupStore::open(txn, true));
        EVT_ASSIGN(auto st, gs.state(txn, group));
        if (!st) return make_error(ErrorKind::not_found, "no such group '{}'", group);
        EVT_TRY(refuse_if_live(gs, txn, group, "deleting it"));
        return gs.delete_group(txn, group);
    });
}

Result<CommitReport> commit_events(log::Log& lg, std::string_view group, cli::LineReader& in) {
    CommitReport rep;
    GroupState state;
    bool known = false;
    // The group is looked up at the first event, not at start: in a pipeline
    // evt-commit starts before the evt-consume that creates the group.
    auto load_state = [&]() -> Status {
        if (known) return {};
        EVT_ASSIGN(auto txn, lg.env().read());
        EVT_ASSIGN(GroupStore gs, GroupStore::open(txn, false));
        EVT_ASSIGN(auto st, gs.state(txn, group));
        if (!st) return make_error(ErrorKind::not_found, "no such group '{}'", group);
        state = *st;
        known = true;
        return {};
    };
    simdjson::dom::parser parser;
    std::map<std::uint32_t, std::set<std::uint64_t>> seen;  // log mode: finished, not yet contiguous
    std::vector<std::pair<std::uint32_t, std::uint64_t>> batch;
    auto flush = [&]() -> Status {
        if (batch.empty()) return {};
        std::map<std::uint32_t, std::set<std::uint64_t>> work;  // seen, as this attempt leaves it
        CommitReport before = rep;
        EVT_TRY(lg.write([&](store::WriteTxn& txn) -> Status {
            rep = before;  // a retried transaction starts over
            work = seen;
            EVT_ASSIGN(GroupStore gs, GroupStore::open(txn, true));
            Micros now = now_micros();
            if (state.mode == Mode::log) {
                std::set<std::uint32_t> parts;
                for (auto& [p, off] : batch) {
                    work[p].insert(off);
                    parts.insert(p);
                }
                for (std::uint32_t p : parts) {
                    EVT_ASSIGN(auto c, gs.offset(txn, group, state.topic, p));
                    std::uint64_t next = c ? *c : 0;
                    auto& s = work[p];
                    while (!s.empty() && *s.begin() < next) s.erase(s.begin());
                    std::uint64_t start = next;
                    while (!s.empty() && *s.begin() == next) {
                        s.erase(s.begin());
                        ++next;
                    }
                    if (next != start) {
                        EVT_TRY(gs.put_offset(txn, group, state.topic, p, next, now));
                        rep.advanced += next - start;
                    }
                }
                return {};
            }
            EVT_ASSIGN(QueueCounts counts, gs.counts(txn, group, state.topic));
            std::set<std::uint32_t> parts;
            for (auto& [p, off] : batch) {
                EVT_ASSIGN(auto l, gs.lease(txn, group, state.topic, p, off));
                if (!l || l->state != Lease::State::leased) {
                    ++rep.ignored;
                    continue;
                }
                Lease d = *l;
                d.state = Lease::State::done;
                EVT_TRY(gs.put_lease(txn, group, state.topic, p, off, d));
                ++counts.acked;
                ++rep.acked;
                parts.insert(p);
            }
            for (std::uint32_t p : parts) {
                EVT_ASSIGN(auto c, gs.offset(txn, group, state.topic, p));
                EVT_TRY(gs.advance_floor(txn, group, state.topic, p, c ? *c : 0, now));
            }
            return gs.put_counts(txn, group, state.topic, counts);
        }));
        seen = std::move(work);
        batch.clear();
        return {};
    };
    cli::Line line;
    std::string buf;
    for (;;) {
        EVT_ASSIGN(auto n, in.next(line, batch.empty()));
        if (n == cli::LineReader::Next::eof) break;
        if (n == cli::LineReader::Next::would_block) {
            EVT_TRY(flush());
            continue;
        }
        ++rep.lines;
        EVT_TRY(load_state());
        auto where = line.input == "-" ? fmt::format("line {}", line.number)
                                       : fmt::format("{}: line {}", line.input, line.number);
        buf.assign(line.text);
        buf.append(simdjson::SIMDJSON_PADDING, '\0');
        simdjson::dom::element doc;
        std::string_view topic;
        std::uint64_t p = 0, off = 0;
        if (parser.parse(buf.data(), line.text.size(), false).get(doc)) {
            EVT_TRY(flush());
            return make_error(ErrorKind::invalid, "{}: malformed JSON", where);
        }
        if (doc["evttopic"].get_string().get(topic) || doc["evtpartition"].get_uint64().get(p) ||
            doc["evtoffset"].get_uint64().get(off)) {
            EVT_TRY(flush());
            return make_error(ErrorKind::invalid,
                              "{}: the event carries no position (evttopic, evtpartition, evtoffset); "
                              "was it printed with --no-position?",
                              where);
        }
        if (topic != state.topic) {
            EVT_TRY(flush());
            return make_error(ErrorKind::usage, "{}: an event of topic '{}', but group '{}' consumes '{}'", where,
                              topic, group, state.topic);
        }
        batch.emplace_back(static_cast<std::uint32_t>(p), off);
        if (batch.size() >= 65536) EVT_TRY(flush());
    }
    EVT_TRY(flush());
    EVT_TRY(load_state());  // no input at all: the group must still exist
    return rep;
}

Status read_positions(cli::LineReader& in, CommitReport& rep,
                      const std::function<Status(std::string_view topic, std::uint32_t p, std::uint64_t off)>& fn) {
    simdjson::dom::parser parser;
    cli::Line line;
    for (;;) {
        EVT_ASSIGN(auto n, in.next(line, true));
        if (n == cli::LineReader::Next::eof) return {};
        if (n == cli::LineReader::Next::would_block) continue;
        ++rep.lines;
        simdjson::dom::element doc;
        if (parser.parse(line.text.data(), line.text.size()).get(doc))
            return make_error(ErrorKind::invalid, "line {}: not a JSON event", line.number);
        std::string_view topic;
        std::int64_t p = -1, off = -1;
        if (doc["evttopic"].get(topic) || doc["evtpartition"].get(p) || doc["evtoffset"].get(off) || p < 0 || off < 0)
            return make_error(ErrorKind::invalid, "line {}: an event without its position (evttopic, evtpartition, "
                                                  "evtoffset): commit what evt-consume printed",
                              line.number);
        EVT_TRY(fn(topic, static_cast<std::uint32_t>(p), static_cast<std::uint64_t>(off)));
    }
}

}  // namespace evt::group
