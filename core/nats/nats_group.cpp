// Consumer groups on NATS (schemas/NATS.md, "Groups").
//
// A group is a KV bucket, evtg_<group>: `meta` (topic, mode, strategy),
// `m.<member>` (a member's heartbeat), `own.<p>` (the member that holds
// partition p, "" when free) and `off.<p>` (the committed offset). Every
// change of ownership is a compare-and-set on the key's revision, so two
// members never hold one partition: a member takes a partition only when it
// is free or its holder's heartbeat is older than its session timeout, and
// gives one up by committing its offset and then freeing the key.
//
// Log mode: each member reads its partitions with ordered consumers from the
// committed offsets. Queue mode: one durable pull consumer per partition
// stream, named after the group, shared by every member: explicit acks, ack
// wait = --visibility, each redelivery counted by the server; past
// --max-deliveries the event goes to the dead-letter topic with the reason.
#include <charconv>
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <unistd.h>

#include <simdjson.h>

#include <nlohmann/json.hpp>

#include "core/event/codec.hpp"
#include "core/event/format.hpp"
#include "core/route/partitioner.hpp"
#include "core/group/admin.hpp"
#include "core/group/assign.hpp"
#include "core/nats/client.hpp"

namespace evt::nats {

namespace {

std::string bucket_of(std::string_view group) { return "evtg_" + subject_token(group); }

std::string group_of_bucket(std::string_view bucket) {
    std::string out;
    std::string_view t = bucket.substr(5);
    for (std::size_t i = 0; i < t.size(); ++i) {
        if (t[i] == '_' && i + 2 < t.size()) {
            out += static_cast<char>(std::stoi(std::string(t.substr(i + 1, 2)), nullptr, 16));
            i += 2;
        } else {
            out += t[i];
        }
    }
    return out;
}

std::string consumer_name(std::string_view group) { return "evtq_" + subject_token(group); }

struct Entry {
    std::string value;
    std::uint64_t revision = 0;
};

// The group's bucket.
class GroupKV {
public:
    GroupKV(const Settings& s, const Client& c) : s_(s), c_(c) {}
    GroupKV(const GroupKV&) = delete;
    ~GroupKV() {
        if (kv_) kvStore_Destroy(kv_);
    }

    // Binds the bucket; creates it when create (replicas as the topics').
    Status open(std::string_view group, bool create, int replicas) {
        group_ = std::string(group);
        std::string b = bucket_of(group);
        natsStatus st = js_KeyValue(&kv_, c_.js(), b.c_str());
        if (st == NATS_OK) return {};
        kv_ = nullptr;
        if (st != NATS_NOT_FOUND) return nats_error(s_, st, fmt::format("opening group '{}'", group));
        if (!create) return make_error(ErrorKind::not_found, "no such group '{}' on {}", group, s_.location);
        kvConfig kc;
        kvConfig_Init(&kc);
        kc.Bucket = b.c_str();
        std::string desc = fmt::format("evt consumer group {}", group);
        kc.Description = desc.c_str();
        kc.History = 1;
        kc.Replicas = replicas;
        kc.StorageType = js_FileStorage;
        st = js_CreateKeyValue(&kv_, c_.js(), &kc);
        if (st != NATS_OK) {
            kv_ = nullptr;
            return nats_error(s_, st, fmt::format("creating group '{}'", group));
        }
        return {};
    }

    Result<std::optional<Entry>> get(const std::string& key) {
        kvEntry* e = nullptr;
        natsStatus st = kvStore_Get(&e, kv_, key.c_str());
        if (st == NATS_NOT_FOUND) return std::optional<Entry>{};
        if (st != NATS_OK) return nats_error(s_, st, fmt::format("group '{}': reading {}", group_, key));
        Entry out;
        out.value.assign(static_cast<const char*>(kvEntry_Value(e)), static_cast<std::size_t>(kvEntry_ValueLen(e)));
        out.revision = kvEntry_Revision(e);
        kvEntry_Destroy(e);
        return std::optional(out);
    }
    Result<std::uint64_t> put(const std::string& key, std::string_view v) {
        std::uint64_t rev = 0;
        natsStatus st = kvStore_Put(&rev, kv_, key.c_str(), v.data(), static_cast<int>(v.size()));
        if (st != NATS_OK) return nats_error(s_, st, fmt::format("group '{}': writing {}", group_, key));
        return rev;
    }
    // Compare-and-set: rev 0 creates (absent keys only). False when someone else changed it.
    Result<bool> cas(const std::string& key, std::string_view v, std::uint64_t rev) {
        std::uint64_t out = 0;
        natsStatus st = rev ? kvStore_Update(&out, kv_, key.c_str(), v.data(), static_cast<int>(v.size()), rev)
                            : kvStore_Create(&out, kv_, key.c_str(), v.data(), static_cast<int>(v.size()));
        if (st == NATS_OK) return true;
        int code = 0;
        const char* text = nats_GetLastError(nullptr);
        if (text && (std::string_view(text).find("wrong last sequence") != std::string_view::npos ||
                     std::string_view(text).find("key exists") != std::string_view::npos))
            code = JSStreamWrongLastSequenceErr;
        if (code || st == NATS_ERR) return false;
        return nats_error(s_, st, fmt::format("group '{}': writing {}", group_, key));
    }
    Status del(const std::string& key) {
        natsStatus st = kvStore_Delete(kv_, key.c_str());
        if (st != NATS_OK && st != NATS_NOT_FOUND)
            return nats_error(s_, st, fmt::format("group '{}': deleting {}", group_, key));
        return {};
    }
    // Every key with its value.
    Result<std::map<std::string, Entry>> all() {
        std::map<std::string, Entry> out;
        kvKeysList keys{nullptr, 0};
        natsStatus st = kvStore_Keys(&keys, kv_, nullptr);
        if (st == NATS_NOT_FOUND) return out;
        if (st != NATS_OK) return nats_error(s_, st, fmt::format("group '{}': listing", group_));
        std::vector<std::string> names;
        for (int i = 0; i < keys.Count; ++i) names.emplace_back(keys.Keys[i]);
        kvKeysList_Destroy(&keys);
        for (const auto& k : names) {
            EVT_ASSIGN(auto e, get(k));
            if (e) out.emplace(k, std::move(*e));
        }
        return out;
    }

private:
    const Settings& s_;
    const Client& c_;
    std::string group_;
    kvStore* kv_ = nullptr;
};

// ---- the group's records ----------------------------------------------------

struct Meta {
    std::string topic;
    group::Mode mode = group::Mode::log;
    group::Strategy strategy = group::Strategy::range;
    Micros created = 0;
};

std::string meta_json(const Meta& m) {
    return nlohmann::json{{"topic", m.topic},
                          {"mode", m.mode == group::Mode::queue ? "queue" : "log"},
                          {"strategy", m.strategy == group::Strategy::roundrobin ? "roundrobin" : "range"},
                          {"created", m.created}}
        .dump();
}
std::optional<Meta> parse_meta_json(std::string_view v) {
    auto j = nlohmann::json::parse(v.begin(), v.end(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) return std::nullopt;
    Meta m;
    m.topic = j.value("topic", "");
    m.mode = j.value("mode", "log") == "queue" ? group::Mode::queue : group::Mode::log;
    m.strategy = j.value("strategy", "range") == "roundrobin" ? group::Strategy::roundrobin : group::Strategy::range;
    m.created = j.value("created", Micros{0});
    return m;
}

std::string member_json(const group::Member& m) {
    return nlohmann::json{{"id", m.id},
                          {"pid", m.pid},
                          {"host", m.host},
                          {"joined", m.joined},
                          {"heartbeat", m.heartbeat},
                          {"session", m.session_timeout}}
        .dump();
}
std::optional<group::Member> parse_member(std::string_view v) {
    auto j = nlohmann::json::parse(v.begin(), v.end(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) return std::nullopt;
    group::Member m;
    m.id = j.value("id", "");
    m.pid = j.value("pid", 0);
    m.host = j.value("host", "");
    m.joined = j.value("joined", Micros{0});
    m.heartbeat = j.value("heartbeat", Micros{0});
    m.session_timeout = j.value("session", Micros{10'000'000});
    return m;
}

std::optional<std::uint64_t> parse_u64(std::string_view v) {
    std::uint64_t n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || p != v.data() + v.size() || v.empty()) return std::nullopt;
    return n;
}

std::string own_key(std::uint32_t p) { return fmt::format("own.{}", p); }
std::string off_key(std::uint32_t p) { return fmt::format("off.{}", p); }

// The live members, sorted by id; the dead ones' ids in dead.
std::vector<group::Member> live_members(const std::map<std::string, Entry>& all, Micros now,
                                        std::vector<std::string>* dead = nullptr) {
    std::vector<group::Member> out;
    for (const auto& [k, e] : all) {
        if (k.rfind("m.", 0) != 0) continue;
        auto m = parse_member(e.value);
        if (!m) continue;
        if (m->alive(now)) out.push_back(*m);
        else if (dead) dead->push_back(k);
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return out;
}

Result<Meta> meta_from(const std::optional<Entry>& e, std::string_view group, const Settings& s) {
    if (!e) return make_error(ErrorKind::not_found, "no such group '{}' on {}", group, s.location);
    auto m = parse_meta_json(e->value);
    if (!m) return make_error(ErrorKind::corrupt, "group '{}' on {}: its meta record is not evt's", group, s.location);
    return *m;
}
Result<Meta> read_meta(GroupKV& kv, std::string_view group, const Settings& s) {
    EVT_ASSIGN(auto e, kv.get("meta"));
    return meta_from(e, group, s);
}
Result<Meta> meta_of(const std::map<std::string, Entry>& all, std::string_view group, const Settings& s) {
    auto me = all.find("meta");
    return meta_from(me == all.end() ? std::nullopt : std::optional(me->second), group, s);
}

std::string partitions_text(const std::set<std::uint32_t>& ps, std::string_view topic) {
    std::string s;
    for (auto p : ps) {
        if (!s.empty()) s += ", ";
        s += fmt::format("{}/{}", topic, p);
    }
    return s.empty() ? "none" : s;
}

int group_replicas(const TopicRecord& t) { return std::max(1, t.replicas); }

// ---- a member ----------------------------------------------------------------

class NatsMember {
public:
    NatsMember(const Settings& s, const Client& c, Registry& reg, const TopicRecord& t, const group::ConsumerOptions& o,
               const group::ConsumerHooks& hooks)
        : s_(s), c_(c), reg_(reg), t_(t), o_(o), hooks_(hooks), kv_(s, c) {}

    Status run(const group::Handler& h) {
        EVT_TRY(group::check_group_name(o_.group));
        EVT_TRY(kv_.open(o_.group, true, group_replicas(t_)));
        EVT_TRY(check_meta());
        EVT_TRY(join());
        Status st = o_.mode == group::Mode::queue ? run_queue(h) : run_log(h);
        Status left = leave(st.ok());
        return st.ok() ? left : st;
    }

private:
    void note(const std::string& m) const {
        if (hooks_.note) hooks_.note(m);
    }
    bool stopped() const { return hooks_.stop && hooks_.stop(); }

    Status check_meta() {
        Meta want;
        want.topic = o_.topic;
        want.mode = o_.mode;
        want.strategy = o_.strategy;
        want.created = now_micros();
        for (;;) {
            EVT_ASSIGN(auto e, kv_.get("meta"));
            if (!e) {
                EVT_ASSIGN(bool made, kv_.cas("meta", meta_json(want), 0));
                if (made) return {};
                continue;
            }
            auto m = parse_meta_json(e->value);
            if (!m) return make_error(ErrorKind::corrupt, "group '{}': its meta record is not evt's", o_.group);
            if (m->topic != o_.topic)
                return make_error(ErrorKind::usage, "group '{}' consumes topic '{}', not '{}'", o_.group, m->topic,
                                  o_.topic);
            if (m->mode != o_.mode)
                return make_error(ErrorKind::usage, "group '{}' is a {}-mode group", o_.group,
                                  m->mode == group::Mode::queue ? "queue" : "log");
            strategy_ = m->strategy;
            return {};
        }
    }

    Status join() {
        me_.pid = static_cast<int>(::getpid());
        me_.host = group::this_host();
        std::random_device rd;
        me_.id = fmt::format("{}-{}-{:04x}", subject_token(me_.host), me_.pid, rd() & 0xffff);
        me_.joined = now_micros();
        me_.session_timeout = o_.session_timeout;
        EVT_TRY(heartbeat());
        note(fmt::format("joined group '{}' as {}", o_.group, me_.id));
        return {};
    }

    Status heartbeat() {
        me_.heartbeat = now_micros();
        EVT_ASSIGN(auto rev, kv_.put("m." + me_.id, member_json(me_)));
        (void)rev;
        return {};
    }

    Status leave(bool clean) {
        if (clean) EVT_TRY(commit_all());
        for (auto& [p, rev] : owned_) (void)kv_.cas(own_key(p), "", rev);
        owned_.clear();
        feeds_.clear();
        return kv_.del("m." + me_.id);
    }

    // ---- log mode ----

    Micros interval() const { return std::clamp<Micros>(o_.session_timeout / 3, 100'000, 1'000'000); }

    // Heartbeat, then the assignment: gives up what is no longer ours (its
    // offset committed first), takes what is ours and free.
    Status maintain() {
        EVT_TRY(heartbeat());
        EVT_ASSIGN(auto all, kv_.all());
        Micros now = now_micros();
        std::vector<std::string> dead;
        auto live = live_members(all, now, &dead);
        for (const auto& k : dead) {
            note(fmt::format("member {} is gone (no heartbeat within its session timeout); its partitions move",
                             k.substr(2)));
            EVT_TRY(kv_.del(k));
        }
        std::set<std::string> live_ids;
        std::size_t me = live.size();
        for (std::size_t i = 0; i < live.size(); ++i) {
            live_ids.insert(live[i].id);
            if (live[i].id == me_.id) me = i;
        }
        if (me == live.size()) {
            note("this member had been removed from the group (no heartbeat within the session timeout); rejoining");
            return {};
        }
        auto plan = group::assign(strategy_, live.size(), t_.config.partitions);
        std::set<std::uint32_t> want(plan[me].begin(), plan[me].end());
        // Ours still? Someone who thought us dead may have taken a partition.
        for (auto it = owned_.begin(); it != owned_.end();) {
            auto e = all.find(own_key(it->first));
            if (e == all.end() || e->second.value != me_.id) {
                note(fmt::format("partition {} was taken over by another member", it->first));
                feeds_.erase(it->first);
                position_.erase(it->first);
                it = owned_.erase(it);
            } else {
                it->second = e->second.revision;
                ++it;
            }
        }
        std::set<std::uint32_t> given;
        for (auto it = owned_.begin(); it != owned_.end();) {
            if (want.count(it->first)) {
                ++it;
                continue;
            }
            EVT_TRY(commit_one(it->first));
            EVT_ASSIGN(bool freed, kv_.cas(own_key(it->first), "", it->second));
            (void)freed;
            given.insert(it->first);
            feeds_.erase(it->first);
            position_.erase(it->first);
            it = owned_.erase(it);
        }
        if (!given.empty()) note(fmt::format("revoked {}", partitions_text(given, o_.topic)));
        std::set<std::uint32_t> taken;
        waiting_ = false;
        for (std::uint32_t p : want) {
            if (owned_.count(p)) continue;
            auto e = all.find(own_key(p));
            std::uint64_t rev = 0;
            if (e != all.end()) {
                const std::string& holder = e->second.value;
                if (!holder.empty() && holder != me_.id && live_ids.count(holder)) {
                    waiting_ = true;  // its holder gives it up at its next heartbeat
                    continue;
                }
                rev = e->second.revision;
            }
            EVT_ASSIGN(bool got, kv_.cas(own_key(p), me_.id, rev));
            if (!got) {
                waiting_ = true;
                continue;
            }
            EVT_ASSIGN(auto cur, kv_.get(own_key(p)));
            owned_[p] = cur ? cur->revision : 0;
            if (Status st = start_partition(p); !st.ok()) {
                owned_.erase(p);  // the lease is still ours: taken again at the next round
                return st;
            }
            taken.insert(p);
        }
        if (!taken.empty()) {
            assigned_once_ = true;
            note(fmt::format("assigned {}", partitions_text(taken, o_.topic)));
        }
        if (want.empty() && !assigned_once_) assigned_once_ = !waiting_;
        return {};
    }

    Status start_partition(std::uint32_t p) {
        EVT_ASSIGN(StreamState st, stream_state(s_, c_, o_.topic, p));
        EVT_ASSIGN(auto off, kv_.get(off_key(p)));
        std::uint64_t from = o_.from_latest ? st.end : st.start;
        if (off) {
            auto n = parse_u64(off->value);
            if (n) {
                from = *n;
                if (from < st.start) {
                    std::string m = fmt::format("partition {}: events {}..{} were removed by retention before the "
                                                "group read them; going on at {}",
                                                p, from, st.start - 1, st.start);
                    if (o_.fail_on_lost) return make_error(ErrorKind::not_found, "{}", m);
                    if (hooks_.warn) hooks_.warn(m);
                    else note(m);
                    from = st.start;
                }
            }
        }
        committed_[p] = from;
        position_[p] = from;
        end_at_start_[p] = st.end;
        EVT_ASSIGN(Feed f, Feed::open(s_, c_, o_.topic, p, from));
        feeds_.erase(p);
        feeds_.emplace(p, std::move(f));
        return {};
    }

    Status commit_one(std::uint32_t p) {
        auto pos = position_.find(p);
        if (pos == position_.end()) return {};
        if (committed_[p] == pos->second) return {};
        EVT_ASSIGN(auto rev, kv_.put(off_key(p), std::to_string(pos->second)));
        (void)rev;
        committed_[p] = pos->second;
        return {};
    }

    Status commit_all() {
        if (!o_.auto_commit) return {};
        if (hooks_.flush) EVT_TRY(hooks_.flush());
        for (auto& [p, rev] : owned_) EVT_TRY(commit_one(p));
        return {};
    }

    bool caught_up() const {
        if (owned_.empty()) return false;
        for (const auto& [p, rev] : owned_) {
            auto pos = position_.find(p);
            auto end = end_at_start_.find(p);
            if (pos == position_.end() || end == end_at_start_.end() || pos->second < end->second) return false;
        }
        return true;
    }

    // Hands one message of partition p to the handler, retrying a failed
    // one with back-off until it succeeds or the member stops. False when the
    // run ends (stopped, or --count reached).
    Result<bool> deliver(std::uint32_t p, natsMsg* raw, const group::Handler& h) {
        std::unique_ptr<natsMsg, void (*)(natsMsg*)> m(raw, natsMsg_Destroy);
        log::RecordView rec;
        if (!dec_.decode(raw, p, rec, false))
            return make_error(ErrorKind::invalid, "{}/{}: a message without JetStream metadata", o_.topic, p);
        if (rec.offset < position_[p]) return true;  // again, after the consumer was made again
        for (int backoff_ms = 100;; backoff_ms = std::min(backoff_ms * 2, 2000)) {
            EVT_ASSIGN(bool ok, h(rec, 1));
            if (ok) break;
            if (stopped()) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
        }
        position_[p] = rec.offset + 1;
        dirty_ = true;
        ++delivered_;
        return !(o_.count && delivered_ >= o_.count) && !stopped();
    }

    // A failure the cluster recovers from (a server or a stream leader
    // lost, its quorum being re-formed): the member keeps its place and
    // tries again, for up to kOutage without one answer; anything else, or
    // a longer outage, ends the run.
    static constexpr Micros kOutage = 60'000'000;
    Status ride_out(Status st) {
        Micros now = now_micros();
        if (st.ok()) {
            if (outage_since_) note("the cluster answers again; going on");
            outage_since_ = 0;
            return {};
        }
        const Error& e = st.error();
        if (e.kind != ErrorKind::unavailable && e.kind != ErrorKind::busy) return st;
        if (!outage_since_) {
            outage_since_ = now;
            note(fmt::format("{}; retrying for up to {}", e.message, format_duration(kOutage)));
        }
        if (now - outage_since_ > kOutage) return st;
        return {};
    }

    Status run_log(const group::Handler& h) {
        Micros next_maint = 0, last_commit = now_micros();
        while (!stopped()) {
            Micros now = now_micros();
            if (now >= next_maint) {
                Status m = maintain();
                EVT_TRY(ride_out(m));
                next_maint = now + (!m.ok() ? 500'000 : waiting_ ? 100'000 : interval());
            }
            bool any = false;
            for (auto& [p, f] : feeds_) {
                auto next = f.next(s_, 0);
                if (!next.ok()) {
                    EVT_TRY(ride_out(next.error()));
                    continue;
                }
                natsMsg* raw = *next;
                if (!raw) continue;
                any = true;
                EVT_ASSIGN(bool go, deliver(p, raw, h));
                if (!go) return commit_all();
            }
            now = now_micros();
            if (dirty_ && (!any || now - last_commit > 50'000)) {
                Status c = commit_all();
                EVT_TRY(ride_out(c));
                if (c.ok()) dirty_ = false;
                last_commit = now;
            }
            if (any) continue;
            if (!o_.follow && assigned_once_ && !waiting_ && (caught_up() || owned_.empty())) break;
            if (feeds_.empty()) {
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
                continue;
            }
            // Nothing anywhere: wait on one partition at a time, briefly.
            auto it = feeds_.begin();
            std::advance(it, static_cast<long>(turn_++ % feeds_.size()));
            auto next = it->second.next(s_, 10);
            if (!next.ok()) {
                EVT_TRY(ride_out(next.error()));
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
                continue;
            }
            if (natsMsg* raw = *next) {
                EVT_ASSIGN(bool go, deliver(it->first, raw, h));
                if (!go) return commit_all();
            }
        }
        return commit_all();
    }

    // ---- queue mode ----

    Status open_queue() {
        std::string name = consumer_name(o_.group);
        for (std::uint32_t p = 0; p < t_.config.partitions; ++p) {
            std::string stream = stream_name(o_.topic, p);
            std::string subj = partition_subject(o_.topic, p) + ".>";
            jsSubOptions so;
            jsSubOptions_Init(&so);
            so.Stream = stream.c_str();
            so.Config.Durable = name.c_str();
            so.Config.AckPolicy = js_AckExplicit;
            so.Config.AckWait = o_.visibility * 1000;
            so.Config.MaxDeliver = -1;  // evt counts deliveries and dead-letters itself, with the reason
            so.Config.MaxAckPending = 65536;
            so.Config.DeliverPolicy = o_.from_latest ? js_DeliverNew : js_DeliverAll;
            natsSubscription* sub = nullptr;
            jsErrCode code = static_cast<jsErrCode>(0);
            natsStatus st = js_PullSubscribe(&sub, c_.js(), subj.c_str(), name.c_str(), nullptr, &so, &code);
            if (st != NATS_OK)
                return nats_error(s_, st, fmt::format("joining the work queue of {}", stream), code);
            pulls_.emplace_back(p, sub);
            EVT_ASSIGN(StreamState ss, stream_state(s_, c_, o_.topic, p));
            end_at_start_[p] = ss.end;
        }
        return {};
    }

    Status to_dlq(const log::RecordView& r, std::uint64_t deliveries) {
        if (!dlq_) {
            log::TopicOptions to;
            auto t = reg_.find(dlq_name_);
            if (!t.ok() && t.error().kind == ErrorKind::not_found) t = reg_.create(dlq_name_, to);
            if (!t.ok()) t = reg_.find(dlq_name_);
            if (!t.ok()) return t.error();
            dlq_ = std::make_unique<TopicRecord>(*t);
        }
        std::string j = group::dead_letter(r, o_, static_cast<std::uint32_t>(deliveries));
        std::uint32_t p = r.has_key ? static_cast<std::uint32_t>(murmur2(r.key) & 0x7fffffff) % dlq_->config.partitions
                                    : static_cast<std::uint32_t>(dlq_count_++ % dlq_->config.partitions);
        std::string subj = event_subject(dlq_name_, p, {});
        jsPubAck* pa = nullptr;
        jsErrCode code = static_cast<jsErrCode>(0);
        natsStatus st = js_Publish(&pa, c_.js(), subj.c_str(), j.data(), static_cast<int>(j.size()), nullptr, &code);
        if (pa) jsPubAck_Destroy(pa);
        if (st != NATS_OK) return nats_error(s_, st, fmt::format("writing to the dead-letter topic '{}'", dlq_name_), code);
        ++dead_;
        return {};
    }

    Status run_queue(const group::Handler& h) {
        dlq_name_ = o_.dlq.empty() ? o_.topic + ".dlq" : o_.dlq;
        EVT_TRY(open_queue());
        Decoder dec;
        std::size_t idle_rounds = 0;
        Micros next_hb = now_micros() + interval();
        while (!stopped()) {
            bool any = false;
            for (auto& [p, sub] : pulls_) {
                natsMsgList list{nullptr, 0};
                jsErrCode code = static_cast<jsErrCode>(0);
                natsStatus st = natsSubscription_Fetch(&list, sub, 256, any ? 1 : 50, &code);
                if (st == NATS_TIMEOUT || (st == NATS_OK && list.Count == 0)) {
                    natsMsgList_Destroy(&list);
                    continue;
                }
                if (st != NATS_OK) {
                    natsMsgList_Destroy(&list);
                    if (st == NATS_CONNECTION_DISCONNECTED || st == NATS_NO_RESPONDERS) continue;  // failing over
                    return nats_error(s_, st, "fetching from the work queue", code);
                }
                any = true;
                std::vector<natsMsg*> done;
                for (int i = 0; i < list.Count; ++i) {
                    natsMsg* m = list.Msgs[i];
                    MsgMeta meta;
                    log::RecordView rec;
                    if (!parse_meta(natsMsg_GetReply(m), meta) || !dec.decode(m, meta, p, rec, false)) continue;
                    if (meta.delivered > o_.max_deliveries) {
                        EVT_TRY(to_dlq(rec, meta.delivered));
                        natsMsg_Term(m, nullptr);
                        continue;
                    }
                    EVT_ASSIGN(bool ok, h(rec, static_cast<std::uint32_t>(meta.delivered)));
                    if (!ok) {
                        natsMsg_Nak(m, nullptr);
                        continue;
                    }
                    ++delivered_;
                    if (o_.auto_commit) done.push_back(m);
                    if (o_.count && delivered_ >= o_.count) break;
                }
                if (!done.empty()) {
                    if (hooks_.flush) EVT_TRY(hooks_.flush());
                    for (natsMsg* m : done) natsMsg_Ack(m, nullptr);
                }
                natsMsgList_Destroy(&list);
                if (o_.count && delivered_ >= o_.count) return flush_acks();
            }
            if (now_micros() >= next_hb) {
                EVT_TRY(heartbeat());
                next_hb = now_micros() + interval();
            }
            if (any) {
                idle_rounds = 0;
                continue;
            }
            if (hooks_.flush) EVT_TRY(hooks_.flush());
            // Without --follow: stop when no partition has events left that are not done.
            if (!o_.follow && ++idle_rounds >= 2) {
                EVT_ASSIGN(bool drained, queue_drained());
                if (drained) break;
            }
        }
        return flush_acks();
    }

    Status flush_acks() {
        natsStatus st = natsConnection_FlushTimeout(c_.nc(), s_.timeout_ms());
        if (st != NATS_OK) return nats_error(s_, st, "sending acks");
        if (dead_) note(fmt::format("{} event{} moved to '{}'", dead_, dead_ == 1 ? "" : "s", dlq_name_));
        return {};
    }

    // Nothing pending and nothing leased (up to the end at the start).
    Result<bool> queue_drained() {
        std::string name = consumer_name(o_.group);
        for (auto& [p, sub] : pulls_) {
            jsConsumerInfo* ci = nullptr;
            jsErrCode code = static_cast<jsErrCode>(0);
            std::string stream = stream_name(o_.topic, p);
            natsStatus st = js_GetConsumerInfo(&ci, c_.js(), stream.c_str(), name.c_str(), nullptr, &code);
            if (st != NATS_OK) return nats_error(s_, st, fmt::format("reading the work queue of {}", stream), code);
            bool left = ci->AckFloor.Stream < end_at_start_[p];
            jsConsumerInfo_Destroy(ci);
            if (left) return false;
        }
        return true;
    }

    const Settings& s_;
    const Client& c_;
    Registry& reg_;
    const TopicRecord& t_;
    const group::ConsumerOptions& o_;
    const group::ConsumerHooks& hooks_;
    GroupKV kv_;
    group::Member me_;
    group::Strategy strategy_ = group::Strategy::range;
    std::map<std::uint32_t, std::uint64_t> owned_;  // partition -> revision of its own.<p>
    std::map<std::uint32_t, Feed> feeds_;
    std::map<std::uint32_t, std::uint64_t> position_, committed_, end_at_start_;
    std::vector<std::pair<std::uint32_t, natsSubscription*>> pulls_;
    bool assigned_once_ = false, waiting_ = false, dirty_ = false;
    Micros outage_since_ = 0;  // when the cluster stopped answering (0: it answers)
    Decoder dec_;
    std::uint64_t delivered_ = 0;
    std::size_t turn_ = 0;
    std::string dlq_name_;
    std::unique_ptr<TopicRecord> dlq_;
    std::uint64_t dlq_count_ = 0, dead_ = 0;

public:
    ~NatsMember() {
        for (auto& [p, sub] : pulls_) natsSubscription_Destroy(sub);
    }
};

}  // namespace

Status consume(const Settings& s, const Client& c, Registry& reg, const TopicRecord& t,
               const group::ConsumerOptions& o, const group::Handler& handler, const group::ConsumerHooks& hooks) {
    NatsMember m(s, c, reg, t, o, hooks);
    return m.run(handler);
}

// ---- outside the group ----------------------------------------------------------

Result<group::CommitReport> commit_events(const Settings& s, const Client& c, Registry& reg, std::string_view group,
                                          cli::LineReader& in) {
    EVT_TRY(group::check_group_name(group));
    GroupKV kv(s, c);
    EVT_TRY(kv.open(group, false, 1));
    EVT_ASSIGN(Meta meta, read_meta(kv, group, s));
    group::CommitReport report;
    std::map<std::uint32_t, std::uint64_t> next;
    std::vector<std::pair<std::uint32_t, std::uint64_t>> acks;
    EVT_TRY(group::read_positions(in, report, [&](std::string_view topic, std::uint32_t p, std::uint64_t off) -> Status {
        if (topic != meta.topic) ++report.ignored;
        else if (meta.mode == group::Mode::queue) acks.emplace_back(p, off);
        else next[p] = std::max(next[p], off + 1);
        return {};
    }));
    if (meta.mode == group::Mode::queue) {
        // An ack names the stream, the consumer and the stream sequence; the
        // server takes the rest of its pending record from the sequence.
        std::string name = consumer_name(group);
        for (auto [p, off] : acks) {
            std::string subj = fmt::format("$JS.ACK.{}.{}.1.{}.1.0.0", stream_name(meta.topic, p), name, off + 1);
            natsMsg* reply = nullptr;
            natsStatus st = natsConnection_RequestString(&reply, c.nc(), subj.c_str(), "+ACK", s.timeout_ms());
            if (reply) natsMsg_Destroy(reply);
            if (st != NATS_OK) return nats_error(s, st, "acknowledging");
            ++report.acked;
        }
        return report;
    }
    (void)reg;
    for (const auto& [p, off] : next) {
        EVT_ASSIGN(auto cur, kv.get(off_key(p)));
        std::uint64_t before = cur ? parse_u64(cur->value).value_or(0) : 0;
        if (cur && before >= off) {
            ++report.ignored;
            continue;
        }
        report.advanced += off - before;
        EVT_ASSIGN(auto rev, kv.put(off_key(p), std::to_string(off)));
        (void)rev;
    }
    return report;
}

Result<group::GroupView> describe_group(const Settings& s, const Client& c, Registry& reg, std::string_view group) {
    EVT_TRY(group::check_group_name(group));
    GroupKV kv(s, c);
    EVT_TRY(kv.open(group, false, 1));
    EVT_ASSIGN(auto all, kv.all());
    EVT_ASSIGN(Meta meta, meta_of(all, group, s));
    EVT_ASSIGN(TopicRecord t, reg.find(meta.topic));
    group::GroupView v;
    v.state.name = std::string(group);
    v.state.mode = meta.mode;
    v.state.topic = meta.topic;
    v.state.strategy = meta.strategy;
    v.state.created = meta.created;
    v.members = live_members(all, now_micros());
    v.retention = t.config.removes();
    std::string cname = consumer_name(group);
    for (std::uint32_t p = 0; p < t.config.partitions; ++p) {
        EVT_ASSIGN(StreamState st, stream_state(s, c, meta.topic, p));
        group::PartitionRow r;
        r.partition = p;
        r.log_start = st.start;
        r.log_end = st.end;
        if (meta.mode == group::Mode::queue) {
            jsConsumerInfo* ci = nullptr;
            jsErrCode code = static_cast<jsErrCode>(0);
            std::string stream = stream_name(meta.topic, p);
            natsStatus cs = js_GetConsumerInfo(&ci, c.js(), stream.c_str(), cname.c_str(), nullptr, &code);
            if (cs == NATS_OK) {
                r.committed = ci->AckFloor.Stream;
                r.in_flight = static_cast<std::uint64_t>(ci->NumAckPending);
                v.counts.redelivered += static_cast<std::uint64_t>(ci->NumRedelivered);
                jsConsumerInfo_Destroy(ci);
            } else if (static_cast<int>(code) != 10014) {  // consumer not found: nothing consumed yet
                return nats_error(s, cs, fmt::format("reading the work queue of {}", stream), code);
            }
        } else {
            auto o = all.find(off_key(p));
            if (o != all.end()) r.committed = parse_u64(o->second.value);
            auto w = all.find(own_key(p));
            if (w != all.end() && !w->second.value.empty())
                for (const auto& m : v.members)
                    if (m.id == w->second.value) {
                        r.member = m.id;
                        r.host = m.host;
                        r.pid = m.pid;
                    }
        }
        std::uint64_t from = r.committed ? std::max(*r.committed, st.start) : st.start;
        r.lag = st.end > from ? st.end - from : 0;
        if (r.committed && *r.committed < st.start) r.lost = st.start - *r.committed;
        v.partitions.push_back(r);
    }
    return v;
}

Result<std::vector<group::GroupView>> list_groups(const Settings& s, const Client& c, Registry& reg) {
    jsStreamNamesList* names = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    natsStatus st = js_StreamNames(&names, c.js(), nullptr, &code);
    std::vector<group::GroupView> out;
    if (st == NATS_NOT_FOUND) return out;
    if (st != NATS_OK) return nats_error(s, st, "listing groups", code);
    std::vector<std::string> groups;
    for (int i = 0; i < names->Count; ++i) {
        std::string_view n = names->List[i];
        if (n.rfind("KV_evtg_", 0) == 0) groups.push_back(group_of_bucket(n.substr(3)));
    }
    jsStreamNamesList_Destroy(names);
    std::sort(groups.begin(), groups.end());
    for (const auto& g : groups) {
        auto v = describe_group(s, c, reg, g);
        if (v.ok()) out.push_back(std::move(*v));
        else if (v.error().kind != ErrorKind::not_found) return v.error();
    }
    return out;
}

Result<std::vector<group::ResetRow>> reset_group(const Settings& s, const Client& c, Registry& reg,
                                                 std::string_view group, std::string_view topic,
                                                 std::string_view spec, bool execute) {
    EVT_TRY(group::check_group_name(group));
    GroupKV kv(s, c);
    EVT_TRY(kv.open(group, false, 1));
    EVT_ASSIGN(auto all, kv.all());
    EVT_ASSIGN(Meta meta, meta_of(all, group, s));
    if (meta.topic != topic)
        return make_error(ErrorKind::usage, "group '{}' consumes topic '{}', not '{}'", group, meta.topic, topic);
    if (meta.mode == group::Mode::queue)
        return make_error(ErrorKind::usage, "group '{}' is a queue-mode group: on NATS its position is the work "
                                            "queue's ack floor; delete the group to start it again",
                          group);
    auto live = live_members(all, now_micros());
    if (!live.empty())
        return make_error(ErrorKind::busy, "group '{}' has {} live member{}: stop them before a reset", group,
                          live.size(), live.size() == 1 ? "" : "s");
    EVT_ASSIGN(TopicRecord t, reg.find(topic));
    std::vector<group::ResetRow> rows;
    for (std::uint32_t p = 0; p < t.config.partitions; ++p) {
        EVT_ASSIGN(StreamState st, stream_state(s, c, topic, p));
        std::optional<std::uint64_t> cur;
        auto o = all.find(off_key(p));
        if (o != all.end()) cur = parse_u64(o->second.value);
        EVT_ASSIGN(std::uint64_t target,
                   group::reset_target(spec, st.start, st.end, cur, [&](Micros at) -> Result<std::uint64_t> {
                       return offset_for_time(s, c, topic, p, st, at);
                   }));
        rows.push_back({p, cur, target});
    }
    if (execute)
        for (const auto& r : rows) {
            EVT_ASSIGN(auto rev, kv.put(off_key(r.partition), std::to_string(r.target)));
            (void)rev;
        }
    return rows;
}

Status delete_group(const Settings& s, const Client& c, Registry& reg, std::string_view group) {
    EVT_TRY(group::check_group_name(group));
    GroupKV kv(s, c);
    EVT_TRY(kv.open(group, false, 1));
    EVT_ASSIGN(auto all, kv.all());
    auto live = live_members(all, now_micros());
    if (!live.empty())
        return make_error(ErrorKind::busy, "group '{}' has {} live member{}: stop them before deleting it", group,
                          live.size(), live.size() == 1 ? "" : "s");
    auto me = all.find("meta");
    if (me != all.end())
        if (auto meta = parse_meta_json(me->second.value); meta && meta->mode == group::Mode::queue) {
            if (auto t = reg.find(meta->topic); t.ok()) {
                std::string cname = consumer_name(group);
                for (std::uint32_t p = 0; p < t->config.partitions; ++p) {
                    jsErrCode code = static_cast<jsErrCode>(0);
                    std::string stream = stream_name(meta->topic, p);
                    natsStatus st = js_DeleteConsumer(c.js(), stream.c_str(), cname.c_str(), nullptr, &code);
                    if (st != NATS_OK && static_cast<int>(code) != 10014)
                        return nats_error(s, st, fmt::format("deleting the work queue of {}", stream), code);
                }
            }
        }
    std::string b = bucket_of(group);
    natsStatus st = js_DeleteKeyValue(c.js(), b.c_str());
    if (st != NATS_OK) return nats_error(s, st, fmt::format("deleting group '{}'", group));
    return {};
}

}  // namespace evt::nats
