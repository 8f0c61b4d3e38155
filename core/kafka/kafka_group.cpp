// Kafka consumer groups: evt-consume as a real group member, evt-commit from
// outside the group, and evt-group's describe/reset/delete.
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "core/kafka/client.hpp"

namespace evt::kafka {

namespace {

using Clock = std::chrono::steady_clock;

std::string join_partitions(const rd_kafka_topic_partition_list_t* l) {
    std::string s;
    for (int i = 0; i < l->cnt; ++i) {
        if (!s.empty()) s += ", ";
        s += fmt::format("{}/{}", l->elems[i].topic, l->elems[i].partition);
    }
    return s.empty() ? "none" : s;
}

struct Member {
    const Settings* s = nullptr;
    const group::ConsumerOptions* o = nullptr;
    const group::ConsumerHooks* hooks = nullptr;
    rd_kafka_t* rk = nullptr;
    std::map<std::int32_t, std::int64_t> position;   // next offset to commit, per owned partition
    std::map<std::int32_t, std::int64_t> committed;  // what was committed
    std::set<std::int32_t> owned, at_end;
    bool joined = false, assigned_once = false;
    std::optional<Error> failure;
    std::uint64_t refused_commits = 0;

    void note(const std::string& m) const {
        if (hooks->note) hooks->note(m);
    }
    void warn(const std::string& m) const {
        if (hooks->warn) hooks->warn(m);
        else note(m);
    }

    // Flush the output, then commit what it holds. Only partitions in `only` (all if null).
    void commit(const std::set<std::int32_t>* only) {
        if (!o->auto_commit) return;
        rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(4);
        for (auto [p, off] : position) {
            if (only && !only->count(p)) continue;
            auto c = committed.find(p);
            if (c != committed.end() && c->second >= off) continue;
            rd_kafka_topic_partition_list_add(l, o->topic.c_str(), p)->offset = off;
        }
        if (l->cnt == 0) {
            rd_kafka_topic_partition_list_destroy(l);
            return;
        }
        if (hooks->flush) {
            Status f = hooks->flush();
            if (!f.ok()) {
                failure = f.error();
                rd_kafka_topic_partition_list_destroy(l);
                return;
            }
        }
        rd_kafka_resp_err_t err = rd_kafka_commit(rk, l, 0);
        if (!err) {
            for (int i = 0; i < l->cnt; ++i) committed[l->elems[i].partition] = l->elems[i].offset;
        } else if (err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS || err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
                   err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID || err == RD_KAFKA_RESP_ERR__STATE) {
            ++refused_commits;
            note(fmt::format("commit of {} refused ({}): those events may be delivered again", join_partitions(l),
                             rd_kafka_err2str(err)));
        } else {
            failure = kafka_error(*s, err, "committing offsets");
        }
        rd_kafka_topic_partition_list_destroy(l);
    }
};

// The rebalance callback reaches the member through a thread-local pointer
// (the callback runs inside rd_kafka_consumer_poll on this thread).
thread_local Member* t_member = nullptr;

void rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts, void*) {
    Member* me = t_member;
    bool cooperative = std::string_view(rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE";
    if (!me) {
        if (cooperative) {
            rd_kafka_error_t* e = err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ? rd_kafka_incremental_assign(rk, parts)
                                                                                : rd_kafka_incremental_unassign(rk, parts);
            if (e) rd_kafka_error_destroy(e);
        } else {
            rd_kafka_assign(rk, err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ? parts : nullptr);
        }
        return;
    }
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        if (!me->joined) {
            char* id = rd_kafka_memberid(rk);
            me->note(fmt::format("joined group '{}' as {}", me->o->group, id ? id : "?"));
            if (id) rd_kafka_mem_free(rk, id);
            me->joined = true;
        }
        me->note(fmt::format("assigned {}", join_partitions(parts)));
        for (int i = 0; i < parts->cnt; ++i) {
            me->owned.insert(parts->elems[i].partition);
            me->at_end.erase(parts->elems[i].partition);
        }
        me->assigned_once = true;
        if (cooperative) {
            if (rd_kafka_error_t* e = rd_kafka_incremental_assign(rk, parts)) rd_kafka_error_destroy(e);
        } else {
            rd_kafka_assign(rk, parts);
        }
        return;
    }
    // Revoked (or an error): commit what was delivered of those partitions, then let go.
    std::set<std::int32_t> gone;
    for (int i = 0; i < parts->cnt; ++i) gone.insert(parts->elems[i].partition);
    if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        me->commit(&gone);
        me->note(fmt::format("revoked {}", join_partitions(parts)));
    } else {
        me->note(fmt::format("rebalance error: {}", rd_kafka_err2str(err)));
    }
    for (std::int32_t p : gone) {
        me->owned.erase(p);
        me->at_end.erase(p);
        me->position.erase(p);
        me->committed.erase(p);
    }
    if (cooperative) {
        if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk, parts)) rd_kafka_error_destroy(e);
    } else {
        rd_kafka_assign(rk, nullptr);
        me->owned.clear();
        me->position.clear();
        me->committed.clear();
        me->at_end.clear();
    }
}

std::string assignor_of(const group::ConsumerOptions& o) {
    if (!o.assignor.empty()) return o.assignor;
    return o.strategy == group::Strategy::roundrobin ? "roundrobin" : "range";
}

// A handle in the group that never joins it: for commits and lookups from outside.
Result<Handle> outside_handle(const Settings& s, std::string_view group) {
    return make_handle(s, RD_KAFKA_CONSUMER, {}, {{"group.id", std::string(group)}, {"enable.auto.commit", "false"}});
}

Result<std::map<std::pair<std::string, std::int32_t>, std::int64_t>> committed_offsets(
    const Settings& s, rd_kafka_t* rk, const std::vector<TopicMeta>& topics) {
    std::map<std::pair<std::string, std::int32_t>, std::int64_t> out;
    rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(16);
    for (const auto& t : topics)
        for (std::uint32_t p = 0; p < t.partitions; ++p)
            rd_kafka_topic_partition_list_add(l, t.name.c_str(), static_cast<std::int32_t>(p));
    rd_kafka_resp_err_t err = l->cnt ? rd_kafka_committed(rk, l, s.timeout_ms()) : RD_KAFKA_RESP_ERR_NO_ERROR;
    if (!err)
        for (int i = 0; i < l->cnt; ++i)
            if (l->elems[i].offset >= 0 && !l->elems[i].err)
                out[{l->elems[i].topic, l->elems[i].partition}] = l->elems[i].offset;
    rd_kafka_topic_partition_list_destroy(l);
    if (err) return kafka_error(s, err, "reading committed offsets");
    return out;
}

// Members and their partitions, where the broker describes groups.
struct GroupMembers {
    bool known = false;
    std::string why;  // when not known
    std::string state, protocol;
    std::vector<group::Member> members;
    std::map<std::pair<std::string, std::int32_t>, std::string> owner;  // -> member id
};

std::uint16_t be16(const unsigned char* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
std::uint32_t be32(const unsigned char* p) {
    return static_cast<std::uint32_t>(p[0]) << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

// A consumer-protocol MemberAssignment: version, [topic, [partition]], user data.
void parse_assignment(const void* data, int size, const std::string& member, GroupMembers& g) {
    auto* p = static_cast<const unsigned char*>(data);
    const unsigned char* end = p + size;
    if (!p || size < 6) return;
    p += 2;
    std::uint32_t topics = be32(p);
    p += 4;
    for (std::uint32_t t = 0; t < topics && p + 2 <= end; ++t) {
        std::uint16_t len = be16(p);
        p += 2;
        if (p + len + 4 > end) return;
        std::string name(reinterpret_cast<const char*>(p), len);
        p += len;
        std::uint32_t n = be32(p);
        p += 4;
        for (std::uint32_t i = 0; i < n && p + 4 <= end; ++i, p += 4)
            g.owner[{name, static_cast<std::int32_t>(be32(p))}] = member;
    }
}

GroupMembers describe_members(const Settings& s, rd_kafka_t* rk, std::string_view group) {
    GroupMembers g;
    const rd_kafka_group_list* list = nullptr;
    rd_kafka_resp_err_t err = rd_kafka_list_groups(rk, std::string(group).c_str(), &list, std::min(s.timeout_ms(), 5000));
    if (err) {
        g.why = fmt::format("the broker did not describe the group ({}): members and owners unknown", rd_kafka_err2str(err));
        return g;
    }
    for (int i = 0; i < list->group_cnt; ++i) {
        const rd_kafka_group_info& gi = list->groups[i];
        if (group != gi.group || gi.err) continue;
        g.known = true;
        g.state = gi.state ? gi.state : "";
        g.protocol = gi.protocol ? gi.protocol : "";
        for (int j = 0; j < gi.member_cnt; ++j) {
            const rd_kafka_group_member_info& mi = gi.members[j];
            group::Member m;
            m.id = mi.member_id;
            m.host = mi.client_host ? mi.client_host : "";
            g.members.push_back(m);
            parse_assignment(mi.member_assignment, mi.member_assignment_size, m.id, g);
        }
    }
    if (!g.known) g.why = "the broker did not describe the group: members and owners unknown";
    rd_kafka_group_list_destroy(list);
    return g;
}

}  // namespace

Status consume(const Settings& s, const group::ConsumerOptions& o, const group::Handler& handler,
               const group::ConsumerHooks& hooks) {
    EVT_TRY(group::check_group_name(o.group));
    Member me;
    me.s = &s;
    me.o = &o;
    me.hooks = &hooks;
    std::string session_ms = std::to_string(std::max<Micros>(o.session_timeout / 1000, 1000));
    std::string heartbeat_ms = std::to_string(std::max<Micros>(o.session_timeout / 3000, 100));
    EVT_ASSIGN(Handle h, make_handle(s, RD_KAFKA_CONSUMER,
                                     {{"fetch.wait.max.ms", "50"},
                                      {"session.timeout.ms", session_ms},
                                      {"heartbeat.interval.ms", heartbeat_ms}},
                                     {{"group.id", o.group},
                                      {"partition.assignment.strategy", assignor_of(o)},
                                      {"enable.auto.commit", "false"},
                                      {"enable.auto.offset.store", "false"},
                                      {"enable.partition.eof", "true"},
                                      {"auto.offset.reset", o.from_latest ? "latest" : "earliest"}},
                                     [](rd_kafka_conf_t* c) { rd_kafka_conf_set_rebalance_cb(c, rebalance); }));
    me.rk = h.rk;
    if (auto found = find_topic(s, h.rk, o.topic); !found.ok()) return found.error();
    rd_kafka_poll_set_consumer(h.rk);
    rd_kafka_topic_partition_list_t* sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, o.topic.c_str(), RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(h.rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (err) return kafka_error(s, err, "subscribing");
    t_member = &me;
    RecordDecoder decoder;
    std::uint64_t delivered = 0;
    auto last_commit = Clock::now();
    Status result;
    bool dirty = false;
    while (!(hooks.stop && hooks.stop()) && !me.failure) {
        rd_kafka_message_t* raw = rd_kafka_consumer_poll(h.rk, 50);
        if (!raw) {
            if (dirty) {
                me.commit(nullptr);
                dirty = false;
                last_commit = Clock::now();
            }
            if (!o.follow && me.assigned_once && !me.owned.empty() && me.at_end.size() == me.owned.size()) break;
            continue;
        }
        std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> m(raw, rd_kafka_message_destroy);
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            me.at_end.insert(m->partition);
            continue;
        }
        if (m->err) {
            if (m->err == RD_KAFKA_RESP_ERR__TRANSPORT || m->err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) continue;
            result = kafka_error(s, m->err, "consuming", rd_kafka_message_errstr(m.get()));
            break;
        }
        if (!me.owned.count(m->partition)) continue;  // revoked meanwhile
        me.at_end.erase(m->partition);
        log::RecordView rec;
        Status d = decoder.decode(o.topic, m.get(), rec, false);
        if (!d.ok()) {
            result = d;
            break;
        }
        // Log mode: a failed handler is retried with back-off until it succeeds or we stop.
        int backoff_ms = 100;
        for (;;) {
            auto ok = handler(rec, 1);
            if (!ok.ok()) {
                result = ok.error();
                break;
            }
            if (*ok) break;
            if (hooks.stop && hooks.stop()) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
            backoff_ms = std::min(backoff_ms * 2, 2000);
            if (hooks.stop && hooks.stop()) break;
        }
        if (!result.ok() || (hooks.stop && hooks.stop())) break;
        me.position[m->partition] = m->offset + 1;
        dirty = true;
        ++delivered;
        if (Clock::now() - last_commit > std::chrono::milliseconds(50)) {
            me.commit(nullptr);
            dirty = false;
            last_commit = Clock::now();
        }
        if (o.count && delivered >= o.count) break;
    }
    if (!me.failure && result.ok()) me.commit(nullptr);
    rd_kafka_consumer_close(h.rk);  // leaves the group (the revoke callback commits again, harmlessly)
    t_member = nullptr;
    if (me.failure) return *me.failure;
    return result;
}

Result<group::CommitReport> commit_events(const Settings& s, std::string_view group, cli::LineReader& in) {
    EVT_TRY(group::check_group_name(group));
    group::CommitReport report;
    std::map<std::pair<std::string, std::int32_t>, std::int64_t> next;
    EVT_TRY(group::read_positions(in, report, [&](std::string_view topic, std::uint32_t p, std::uint64_t off) -> Status {
        auto& v = next[{std::string(topic), static_cast<std::int32_t>(p)}];
        v = std::max(v, static_cast<std::int64_t>(off) + 1);
        return {};
    }));
    if (next.empty()) return report;
    EVT_ASSIGN(Handle h, outside_handle(s, group));
    std::vector<TopicMeta> topics;
    for (const auto& [tp, off] : next) {
        if (!topics.empty() && topics.back().name == tp.first) continue;
        EVT_ASSIGN(TopicMeta t, find_topic(s, h.rk, tp.first));
        topics.push_back(t);
    }
    EVT_ASSIGN(auto before, committed_offsets(s, h.rk, topics));
    rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(static_cast<int>(next.size()));
    for (const auto& [tp, off] : next) {
        auto b = before.find(tp);
        if (b != before.end() && b->second >= off) {
            ++report.ignored;
            continue;
        }
        report.advanced += static_cast<std::uint64_t>(off - (b == before.end() ? 0 : b->second));
        rd_kafka_topic_partition_list_add(l, tp.first.c_str(), tp.second)->offset = off;
    }
    // Kafka takes commits from outside a group only while it has no members:
    // retry briefly while a consumer upstream in the pipeline is leaving.
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    auto deadline = Clock::now() + std::chrono::milliseconds(s.timeout_ms());
    while (l->cnt) {
        err = rd_kafka_commit(h.rk, l, 0);
        bool retry = err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS || err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID ||
                     err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
                     err == RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS;
        if (!retry || Clock::now() > deadline) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    rd_kafka_topic_partition_list_destroy(l);
    if (err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID || err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
        err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS)
        return make_error(ErrorKind::busy,
                          "{}: group '{}' has live members, and Kafka takes commits from outside a group only while it "
                          "is empty ({}); run evt-commit after the consumers stopped",
                          s.location, group, rd_kafka_err2str(err));
    if (err) return kafka_error(s, err, "committing offsets");
    report.acked = 0;
    return report;
}

Result<group::GroupView> describe_group(const Settings& s, std::string_view group) {
    EVT_TRY(group::check_group_name(group));
    EVT_ASSIGN(Handle h, outside_handle(s, group));
    EVT_ASSIGN(auto topics, list_topics(s, h.rk));
    EVT_ASSIGN(auto committed, committed_offsets(s, h.rk, topics));
    GroupMembers gm = describe_members(s, h.rk, group);
    std::set<std::string> used;
    for (const auto& [tp, off] : committed) used.insert(tp.first);
    for (const auto& [tp, m] : gm.owner) used.insert(tp.first);
    if (used.empty() && gm.members.empty())
        return make_error(ErrorKind::not_found, "no such group '{}' on {} (no committed offsets, no members)", group,
                          s.location);
    group::GroupView v;
    v.state.name = std::string(group);
    v.state.mode = group::Mode::log;
    v.state.topic = used.empty() ? "" : *used.begin();
    v.state.strategy = gm.protocol == "roundrobin" ? group::Strategy::roundrobin : group::Strategy::range;
    v.members = gm.members;
    v.note = gm.known ? "" : gm.why;
    for (const auto& t : topics) {
        if (!used.count(t.name)) continue;
        for (std::uint32_t p = 0; p < t.partitions; ++p) {
            EVT_ASSIGN(Watermarks w, watermarks(s, h.rk, t.name, p));
            group::PartitionRow r;
            r.topic = t.name == v.state.topic ? "" : t.name;
            r.partition = p;
            auto c = committed.find({t.name, static_cast<std::int32_t>(p)});
            if (c != committed.end()) r.committed = static_cast<std::uint64_t>(c->second);
            r.log_start = w.low;
            r.log_end = w.high;
            std::uint64_t from = r.committed ? std::max(*r.committed, w.low) : w.low;
            r.lag = w.high > from ? w.high - from : 0;
            auto o = gm.owner.find({t.name, static_cast<std::int32_t>(p)});
            if (o != gm.owner.end()) {
                r.member = o->second;
                for (const auto& m : gm.members)
                    if (m.id == o->second) r.host = m.host;
            }
            v.partitions.push_back(r);
        }
    }
    return v;
}

Result<std::vector<group::GroupView>> list_groups(const Settings& s) {
    EVT_ASSIGN(Handle h, make_handle(s, RD_KAFKA_CONSUMER, {}, {{"group.id", "evt-group"}}));
    const rd_kafka_group_list* list = nullptr;
    rd_kafka_resp_err_t err = rd_kafka_list_groups(h.rk, nullptr, &list, s.timeout_ms());
    if (err)
        return make_error(ErrorKind::unavailable,
                          "{}: the broker cannot list groups ({}); name the group: evt-group describe GROUP",
                          s.location, rd_kafka_err2str(err));
    std::vector<std::string> names;
    for (int i = 0; i < list->group_cnt; ++i)
        if (list->groups[i].protocol_type == nullptr || std::string_view(list->groups[i].protocol_type) == "consumer" ||
            !*list->groups[i].protocol_type)
            names.push_back(list->groups[i].group);
    rd_kafka_group_list_destroy(list);
    std::sort(names.begin(), names.end());
    std::vector<group::GroupView> out;
    for (const auto& n : names) {
        auto v = describe_group(s, n);
        if (v.ok()) out.push_back(std::move(*v));
        else if (v.error().kind != ErrorKind::not_found) return v.error();
    }
    return out;
}

Result<std::vector<group::ResetRow>> reset_group(const Settings& s, std::string_view group, std::string_view topic,
                                                 std::string_view spec, bool execute) {
    EVT_TRY(group::check_group_name(group));
    EVT_ASSIGN(Handle h, outside_handle(s, group));
    EVT_ASSIGN(TopicMeta t, find_topic(s, h.rk, topic));
    EVT_ASSIGN(auto committed, committed_offsets(s, h.rk, {t}));
    GroupMembers gm = describe_members(s, h.rk, group);
    if (gm.known && !gm.members.empty())
        return make_error(ErrorKind::busy, "group '{}' has {} live member{}: stop them before a reset", group,
                          gm.members.size(), gm.members.size() == 1 ? "" : "s");
    std::vector<Watermarks> marks;
    std::vector<std::uint32_t> parts;
    for (std::uint32_t p = 0; p < t.partitions; ++p) {
        EVT_ASSIGN(Watermarks w, watermarks(s, h.rk, t.name, p));
        marks.push_back(w);
        parts.push_back(p);
    }
    std::vector<group::ResetRow> rows;
    rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(static_cast<int>(t.partitions));
    Status st;
    for (std::uint32_t p = 0; p < t.partitions; ++p) {
        auto c = committed.find({t.name, static_cast<std::int32_t>(p)});
        std::optional<std::uint64_t> cur;
        if (c != committed.end()) cur = static_cast<std::uint64_t>(c->second);
        auto target = group::reset_target(spec, marks[p].low, marks[p].high, cur, [&](Micros at) -> Result<std::uint64_t> {
            EVT_ASSIGN(auto offs, offsets_for_time(s, h.rk, t.name, {p}, at, {marks[p]}));
            return offs[0];
        });
        if (!target.ok()) {
            st = target.error();
            break;
        }
        rows.push_back({p, cur, *target});
        rd_kafka_topic_partition_list_add(l, t.name.c_str(), static_cast<std::int32_t>(p))->offset =
            static_cast<std::int64_t>(*target);
    }
    if (st.ok() && execute) {
        rd_kafka_resp_err_t err = rd_kafka_commit(h.rk, l, 0);
        if (err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID || err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
            err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS)
            st = make_error(ErrorKind::busy, "{}: group '{}' is not empty ({}): stop its members before a reset",
                            s.location, group, rd_kafka_err2str(err));
        else if (err)
            st = kafka_error(s, err, "committing the new offsets");
    }
    rd_kafka_topic_partition_list_destroy(l);
    EVT_TRY(st);
    return rows;
}

Status delete_group(const Settings& s, std::string_view group) {
    EVT_TRY(group::check_group_name(group));
    EVT_ASSIGN(Handle h, make_handle(s, RD_KAFKA_PRODUCER, {}, {}));
    if (auto reach = list_topics(s, h.rk); !reach.ok()) return reach.error();
    // librdkafka 2.0.2 aborts the process (an assertion in its admin fan-out)
    // when a broker does not support DeleteGroups, so ask first with the
    // group API every broker since 0.9 has: a broker without DescribeGroups
    // has no DeleteGroups (KIP-229, Kafka 1.1) either.
    {
        const rd_kafka_group_list* probe = nullptr;
        rd_kafka_resp_err_t err = rd_kafka_list_groups(h.rk, std::string(group).c_str(), &probe, s.timeout_ms());
        if (probe) rd_kafka_group_list_destroy(probe);
        if (err == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE)
            return make_error(ErrorKind::unavailable, "{}: the broker cannot delete groups (DeleteGroups needs Kafka 1.1 or later)",
                              s.location);
        if (err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT)
            return kafka_error(s, err, "describing the group before deleting it");
    }
    rd_kafka_queue_t* q = rd_kafka_queue_new(h.rk);
    rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(h.rk, RD_KAFKA_ADMIN_OP_DELETEGROUPS);
    char errstr[256];
    rd_kafka_AdminOptions_set_request_timeout(opts, s.timeout_ms(), errstr, sizeof errstr);
    rd_kafka_DeleteGroup_t* dg = rd_kafka_DeleteGroup_new(std::string(group).c_str());
    rd_kafka_DeleteGroups(h.rk, &dg, 1, opts, q);
    rd_kafka_DeleteGroup_destroy(dg);
    rd_kafka_event_t* ev = rd_kafka_queue_poll(q, s.timeout_ms() + 2000);
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_queue_destroy(q);
    if (!ev)
        return make_error(ErrorKind::busy, "{}: the broker did not answer DeleteGroups within {}", s.location,
                          format_duration(s.timeout));
    Status st;
    if (rd_kafka_event_error(ev)) {
        st = kafka_error(s, rd_kafka_event_error(ev), "deleting a group", rd_kafka_event_error_string(ev));
    } else {
        size_t n = 0;
        const rd_kafka_group_result_t** res =
            rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(ev), &n);
        for (size_t i = 0; i < n && st.ok(); ++i)
            if (const rd_kafka_error_t* e = rd_kafka_group_result_error(res[i])) {
                rd_kafka_resp_err_t code = rd_kafka_error_code(e);
                if (code == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND)
                    st = make_error(ErrorKind::not_found, "no such group '{}' on {}", group, s.location);
                else if (code == RD_KAFKA_RESP_ERR_NON_EMPTY_GROUP)
                    st = make_error(ErrorKind::busy, "group '{}' has live members: stop them before deleting it", group);
                else
                    st = kafka_error(s, code, "deleting a group", rd_kafka_error_string(e));
            }
    }
    rd_kafka_event_destroy(ev);
    return st;
}

}  // namespace evt::kafka
