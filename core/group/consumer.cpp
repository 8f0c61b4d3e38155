#include "core/group/consumer.hpp"

#include <unistd.h>

#include <algorithm>
#include <random>
#include <thread>

#include "core/event/codec.hpp"
#include "core/event/format.hpp"
#include "core/log/appender.hpp"

namespace evt::group {

namespace {

std::string new_member_id() {
    std::random_device rd;
    return fmt::format("{}-{}-{:04x}", this_host(), getpid(), rd() & 0xffff);
}

std::vector<Member> live(const std::vector<Member>& all, Micros now) {
    std::vector<Member> out;
    for (const auto& m : all)
        if (m.alive(now)) out.push_back(m);
    return out;
}

}  // namespace

Consumer::Consumer(log::Log& lg, ConsumerOptions o) : log_(lg), o_(std::move(o)) {
    if (o_.dlq.empty()) o_.dlq = o_.topic + ".dlq";
}

Status Consumer::join() {
    EVT_TRY(check_group_name(o_.group));
    {
        EVT_ASSIGN(auto txn, log_.env().read());
        EVT_ASSIGN(topic_, log_.topic(txn, o_.topic));
    }
    if (o_.mode == Mode::queue) {
        log::TopicOptions to;
        EVT_ASSIGN(log::TopicConfig dlq, log_.ensure_topic(o_.dlq, to));
        dlq_ = std::make_unique<log::Appender>(log_, dlq, log::AppendOptions{});
        dlq_batch_ = std::make_unique<log::Batch>(log::AppendOptions{});
        EVT_ASSIGN(auto txn, log_.env().read());
        for (std::uint32_t p = 0; p < topic_.partitions; ++p) {
            EVT_ASSIGN(log::PartitionInfo info, log_.partition_info(txn, topic_, p));
            stop_at_[p] = info.end;
        }
    }
    Micros now = now_micros();
    me_ = Member{new_member_id(), static_cast<int>(getpid()), this_host(), now, now, o_.session_timeout};
    return log_.write([&](store::WriteTxn& txn) -> Status {
        EVT_ASSIGN(GroupStore gs, GroupStore::open(txn, true));
        EVT_ASSIGN(auto st, gs.state(txn, o_.group));
        GroupState s;
        if (st) {
            s = *st;
            if (s.mode != o_.mode)
                return make_error(ErrorKind::usage, "group '{}' consumes in {} mode, not {}", o_.group,
                                  mode_name(s.mode), mode_name(o_.mode));
            if (s.topic != o_.topic)
                return make_error(ErrorKind::usage, "group '{}' consumes topic '{}', not '{}'", o_.group, s.topic,
                                  o_.topic);
        } else {
            s = GroupState{o_.group, o_.mode, o_.topic, o_.strategy, 0, now};
        }
        s.strategy = o_.strategy;
        ++s.generation;
        EVT_TRY(gs.put_member(txn, o_.group, me_));
        return gs.put_state(txn, s);
    });
}

Status Consumer::leave() {
    return log_.write([&](store::WriteTxn& txn) -> Status {
        EVT_ASSIGN(GroupStore gs, GroupStore::open(txn, true));
        for (auto& [p, next] : owned_) {
            EVT_ASSIGN(auto holder, gs.claim(txn, o_.group, o_.topic, p));
            if (holder && *holder == me_.id) EVT_TRY(gs.del_claim(txn, o_.group, o_.topic, p));
        }
        if (o_.mode == Mode::queue && o_.auto_commit) {
            // What we handled is acked; give back what we leased and did not
            // deliver. (With --commit none the leases stay until evt-commit
            // acks them or the visibility timeout runs out.)
            for (std::uint32_t p = 0; p < topic_.partitions; ++p) {
                std::vector<std::pair<std::uint64_t, Lease>> mine;
                EVT_TRY(gs.for_each_lease(txn, o_.group, o_.topic, p, 0, [&](std::uint64_t off, const Lease& l) -> Result<bool> {
                    if (l.member == me_.id && l.state == Lease::State::leased) mine.emplace_back(off, l);
                    return true;
                }));
                for (auto& [off, l] : mine) {
                    Lease back = l;
                    back.deadline = 0;
                    EVT_TRY(gs.put_lease(txn, o_.group, o_.topic, p, off, back));
                }
            }
        }
        EVT_TRY(gs.del_member(txn, o_.group, me_.id));
        EVT_ASSIGN(auto st, gs.state(txn, o_.group));
        if (!st) return {};
        ++st->generation;
        return gs.put_state(txn, *st);
    });
}

// Heartbeat and housekeeping: removes dead members (and their claims), brings
// us back if we were removed. Returns true when the membership changed.
Result<bool> Consumer::maintain(bool force) {
    Micros now = now_micros();
    bool dead_seen = false;
    {
        EVT_ASSIGN(auto txn, log_.env().read());
        EVT_ASSIGN(GroupStore gs, GroupStore::open(txn, false));
        EVT_ASSIGN(auto all, gs.members(txn, o_.group));
        for (const auto& m : all)
            if (m.id != me_.id && !m.alive(now)) dead_seen = true;
    }
    if (!force && !dead_seen && now < next_heartbeat_) return false;
    next_heartbeat_ = now + std::max<Micros>(o_.session_timeout / 3, 1000);
    bool changed = false;
    EVT_TRY(log_.write([&](store::WriteTxn& txn) -> Status {
        changed = false;
        EVT_ASSIGN(GroupStore gs, GroupStore::open(txn, true));
        EVT_ASSIGN(auto all, gs.members(txn, o_.group));
        bool present = false;
        for (const auto& m : all) {
            if (m.id == me_.id) {
                present = true;
                continue;
            }
            if (m.alive(now)) continue;
            note(fmt::format("member {} (pid {}) is gone; its partitions move", m.id, m.pid));
            EVT_TRY(gs.del_member(txn, o_.group, m.id));
            for (std::uint32_t p = 0; p < topic_.partitions; ++p) {
                EVT_ASSIGN(auto holder, gs.claim(txn, o_.group, o_.topic, p));
                if (holder && *holder == m.id) EVT_TRY(gs.del_claim(txn, o_.group, o_.topic, p));
            }
            changed = true;
        }
        if (!present) {
            note("this member had been removed from the group (no heartbeat within the session timeout); rejoining");
            changed = true;
            owned_.clear();  // its claims went with it
            generation_ = ~0ull;
        }
        me_.heartbeat = now;
        EVT_TRY(gs.put_member(txn, o_.group, me_));
        if (!changed) return {};
        EVT_ASSIGN(auto st, gs.state(txn, o_.group));
        if (!st) return Error{ErrorKind::not_found, fmt::format("group '{}' was deleted", o_.group)};
        ++st->generation;
        return gs.put_state(txn, *st);
    }));
    return changed;
}

// Log mode: hand over what is no longer ours, claim what is and is free.
Status Consumer::rebalance() {
    Micros now = now_micros();
    return log_.write([&](store::WriteTxn& txn) -> Status {
        EVT_ASSIGN(GroupStore gs, GroupStore::open(txn, true));
        EVT_ASSIGN(auto st, gs.state(txn, o_.group));
        if (!st) return Error{ErrorKind::not_found, fmt::format("group '{}' was deleted", o_.group)};
        EVT_ASSIGN(topic_, log_.topic(txn, o_.topic));
        EVT_ASSIGN(auto all, gs.members(txn, o_.group));
        auto members = live(all, now);
        auto me = std::find_if(members.begin(), members.end(), [&](const Member& m) { return m.id == me_.id; });
        std::vector<std::uint32_t> mine;
        if (me != members.end()) {
            auto plan = assign(st->strategy, members.size(), topic_.partitions);
            mine = plan[static_cast<std::size_t>(me - members.begin())];
        }
        // Release: commit where we are, then drop the claim.
        for (auto it = owned_.begin(); it != owned_.end();) {
            if (std::find(mine.begin(), mine.end(), it->first) != mine.end()) {
                ++it;
                continue;
            }
            // Only what is still ours: a member that was declared dead may
            // come back to find its partitions claimed by another.
            EVT_ASSIGN(auto holder, gs.claim(txn, o_.group, o_.topic, it->first));
            if (holder && *holder == me_.id) {
                if (o_.auto_commit && it->second != committed_[it->first])
                    EVT_TRY(gs.put_offset(txn, o_.group, o_.topic, it->first, it->second, now));
                EVT_TRY(gs.del_claim(txn, o_.group, o_.topic, it->first));
            }
            it = owned_.erase(it);
        }
        pending_.clear();
        std::vector<std::string> live_ids;
        for (const auto& m : members) live_ids.push_back(m.id);
        for (std::uint32_t p : mine) {
            if (owned_.count(p)) continue;
            EVT_ASSIGN(auto holder, gs.claim(txn, o_.group, o_.topic, p));
            if (holder && *holder != me_.id &&
                std::find(live_ids.begin(), live_ids.end(), *holder) != live_ids.end()) {
                pending_.push_back(p);  // its owner has not let go yet
                continue;
            }
            EVT_TRY(gs.put_claim(txn, o_.group, o_.topic, p, me_.id));
            EVT_ASSIGN(auto off, gs.offset(txn, o_.group, o_.topic, p));
            EVT_ASSIGN(log::PartitionInfo info, log_.partition_info(txn, topic_, p));
            if (off && *off < info.start && topic_.expires()) EVT_TRY(lost(p, *off, info.start));
            std::uint64_t start = off ? std::max(*off, info.start) : (o_.from_latest ? info.end : info.start);
            if (!off && o_.from_latest) EVT_TRY(gs.put_offset(txn, o_.group, o_.topic, p, start, now));
            owned_[p] = start;
            committed_[p] = off ? *off : start;
            if (!o_.follow && !stop_at_.count(p)) stop_at_[p] = info.end;
        }
        generation_ = pending_.empty() ? st->generation : st->generation - 1;  // retry while pending
        return {};
    });
}

Status Consumer::commit_log() {
    bool any = false;
    for (auto& [p, next] : owned_)
        if (next != committed_[p]) any = true;
    if (!any) return {};
    Micros now = now_micros();
    std::vector<std::uint32_t> refused;
    EVT_TRY(log_.write([&](store::WriteTxn& txn) -> Status {
        refused.clear();
        EVT_ASSIGN(GroupStore gs, GroupStore::open(txn, true));
        for (auto& [p, next] : owned_) {
            if (next == committed_[p]) continue;
            EVT_ASSIGN(auto holder, gs.claim(txn, o_.group, o_.topic, p));
            if (!holder || *holder != me_.id) {
                refused.push_back(p);
                continue;
            }
            EVT_TRY(gs.put_offset(txn, o_.group, o_.topic, p, next, now));
        }
        return {};
    }));
    for (auto& [p, next] : owned_) committed_[p] = next;
    for (std::uint32_t p : refused) {
        note(fmt::format("commit of partition {} refused: it belongs to another member now", p));
        owned_.erase(p);
    }
    if (!refused.empty()) generation_ = ~0ull;
    return {};
}

Result<std::size_t> Consumer::deliver_log(const Handler& h) {
    std::size_t n = 0;
    if (owned_.empty()) return n;
    // Each owned partition gets its share of the round, so a busy one cannot
    // starve the others.
    std::size_t share = std::max<std::size_t>(1, o_.batch / owned_.size());
    EVT_ASSIGN(auto txn, log_.env().read());
    {
        // Still ours? A slow member may have been replaced while it worked.
        EVT_ASSIGN(GroupStore gs, GroupStore::open(txn, false));
        for (auto it = owned_.begin(); it != owned_.end();) {
            EVT_ASSIGN(auto holder, gs.claim(txn, o_.group, o_.topic, it->first));
            if (holder && *holder == me_.id) {
                ++it;
            } else {
                note(fmt::format("partition {} was taken over by another member", it->first));
                it = owned_.erase(it);
                generation_ = ~0ull;
            }
        }
    }
    for (auto& [p, next] : owned_) {
        EVT_ASSIGN(log::PartitionInfo info, log_.partition_info(txn, topic_, p));
        std::uint64_t end = o_.follow ? info.end : std::min(info.end, stop_at_[p]);
        if (next < info.start) {  // retention moved the start
            if (topic_.expires()) EVT_TRY(lost(p, next, info.start));
            next = info.start;
        }
        if (next >= end) continue;
        // One cursor walk per partition and round (a lookup per event cost 80%
        // of the time): positioned at the first record at or after `next`,
        // which also steps over a compacted topic's gaps.
        auto dbi = log::records_dbi(txn, topic_.id, p, false);
        if (!dbi.ok()) {
            if (dbi.error().kind == ErrorKind::not_found) continue;
            return dbi.error();
        }
        EVT_ASSIGN(store::Cursor cursor, store::Cursor::open(txn, *dbi));
        log::OffsetKey key(next);
        MDB_val k = store::val(key.view()), v;
        int rc = mdb_cursor_get(cursor.raw(), &k, &v, MDB_SET_RANGE);
        log::RecordView rec;
        rec.partition = p;
        std::size_t mine = 0;
        for (; rc == 0 && mine < share; rc = mdb_cursor_get(cursor.raw(), &k, &v, MDB_NEXT)) {
            log::prefetch_following(v);
            std::uint64_t off = log::offset_of(k.mv_data);
            if (off >= end) break;
            if (!log::decode_record(store::view(v), rec))
                return make_error(ErrorKind::corrupt, "partition {} offset {}: malformed record", p, off);
            rec.offset = off;
            next = off;
            Micros backoff = 100'000;
            for (;;) {
                EVT_ASSIGN(bool ok, h(rec, 1));
                if (ok) break;
                if (hooks_->stop && hooks_->stop()) return n;
                std::this_thread::sleep_for(std::chrono::microseconds(backoff));
                backoff = std::min<Micros>(backoff * 2, 5'000'000);
            }
            ++next;
            ++n;
            ++mine;
            if (o_.count && ++delivered_ >= o_.count) return n;
        }
        if (rc != 0 && rc != MDB_NOTFOUND) return store::lmdb_error(rc, "reading");
    }
    return n;
}

// The committed position fell off the start of the partition: retention
// removed events this group never read.
Status Consumer::lost(std::uint32_t p, std::uint64_t from, std::uint64_t start) const {
    std::string what = fmt::format(
        "group '{}', topic '{}' partition {}: events {}..{} were removed by retention before this group read them",
        o_.group, o_.topic, p, from, start - 1);
    if (o_.fail_on_lost) return Error{ErrorKind::not_found, what + " (--on-lost fail)"};
    std::string m = what + fmt::format("; continuing at the log start offset {}", start);
    if (hooks_ && hooks_->warn) hooks_->warn(m);
    else note(m);
    return {};
}

bool Consumer::done() const {
    if (o_.count && delivered_ >= o_.count) return true;
    if (o_.follow) return false;
    if (o_.mode == Mode::queue) return queue_idle_;
    if (!pending_.empty()) return false;
    for (const auto& [p, next] : owned_) {
        auto it = stop_at_.find(p);
        if (it != stop_at_.end() && next < it->second) return false;
    }
    return true;
}

Status Consumer::run(const Handler& handler, const ConsumerHooks& hooks) {
    hooks_ = &hooks;
    EVT_TRY(join());
    log::LogWatcher watcher(log_.path());
    Status result;
    int idle = 0;
    while (!(hooks.stop && hooks.stop())) {
        auto changed = maintain(false);
        if (!changed.ok()) {
            result = changed.error();
            break;
        }
        std::size_t n = 0;
        if (o_.mode == Mode::log) {
            {
                auto txn = log_.env().read();
                if (!txn.ok()) {
                    result = txn.error();
                    break;
                }
                auto gs = GroupStore::open(*txn, false);
                auto st = gs.ok() ? gs->state(*txn, o_.group) : Result<std::optional<GroupState>>(gs.error());
                if (!st.ok()) {
                    result = st.error();
                    break;
                }
                if (!*st) {
                    result = Error{ErrorKind::not_found, fmt::format("group '{}' was deleted", o_.group)};
                    break;
                }
                if ((*st)->generation != generation_) {
                    txn->abort();
                    Status s = rebalance();
                    if (!s.ok()) {
                        result = s;
                        break;
                    }
                }
            }
            auto d = deliver_log(handler);
            if (!d.ok()) {
                result = d.error();
                break;
            }
            n = *d;
            if (n) {
                Status f = hooks.flush ? hooks.flush() : Status();
                if (!f.ok()) {
                    result = f;
                    break;
                }
                // Commit what was flushed, at most every commit interval while
                // events stream (each commit is a durable transaction), and at
                // once when the member catches up, rebalances or leaves.
                if (o_.auto_commit && now_micros() - last_commit_ >= kCommitInterval) {
                    Status c = commit_log();
                    if (!c.ok()) {
                        result = c;
                        break;
                    }
                    last_commit_ = now_micros();
                }
            }
        } else {
            auto d = deliver_queue(handler);
            if (!d.ok()) {
                result = d.error();
                break;
            }
            n = *d;
        }
        if (done()) break;
        if (n == 0) {
            if (hooks.flush) {
                Status f = hooks.flush();
                if (!f.ok()) {
                    result = f;
                    break;
                }
            }
            if (o_.mode == Mode::log && o_.auto_commit) {  // caught up: commit the rest now
                Status c = commit_log();
                if (!c.ok()) {
                    result = c;
                    break;
                }
            }
            watcher.wait(std::min(20, 1 + idle++));
        } else {
            idle = 0;
        }
    }
    if (o_.mode == Mode::log && o_.auto_commit && result.ok()) {
        Status c = commit_log();
        if (!c.ok()) result = c;
    }
    Status l = leave();
    if (result.ok() && !l.ok()) result = l;
    return result;
}

}  // namespace evt::group
