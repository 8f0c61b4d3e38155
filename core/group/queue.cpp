// Queue mode of Consumer (consumer.hpp): leases, acks, redelivery, dead letters.
#include <algorithm>
#include <functional>
#include <map>

#include "core/event/codec.hpp"
#include "core/event/format.hpp"
#include "core/group/consumer.hpp"

namespace evt::group {

std::string dead_letter(const log::RecordView& r, const ConsumerOptions& o, std::uint32_t deliveries) {
    std::string j(r.json.substr(0, r.json.size() - 1));
    if (r.json.size() > 2) j += ',';
    j += fmt::format(
        R"j("evtdlqreason":"not acknowledged after {} deliveries (--max-deliveries {})","evtdlqgroup":"{}","evtdlqtopic":"{}","evtdlqpartition":{},"evtdlqoffset":{}}})j",
        deliveries - 1, o.max_deliveries, event::json_escape_string(o.group), event::json_escape_string(o.topic),
        r.partition, r.offset);
    return j;
}

namespace {

constexpr std::uint64_t kScan = 65536;  // offsets looked at past the floor per partition and round

struct Taken {
    std::uint32_t partition;
    std::uint64_t offset;
    std::uint32_t deliveries;
};

}  // namespace

Status Consumer::scan_queue(store::Txn& txn, GroupStore& gs, std::uint32_t p, Micros now, std::size_t limit,
                            bool& drained, const std::function<Status(std::uint64_t, const Lease*)>& fn) {
    EVT_ASSIGN(log::PartitionInfo info, log_.partition_info(txn, topic_, p));
    EVT_ASSIGN(auto committed, gs.offset(txn, o_.group, o_.topic, p));
    std::uint64_t floor = committed ? std::max(*committed, info.start) : (o_.from_latest ? info.end : info.start);
    std::uint64_t stop = o_.follow ? info.end : std::max(stop_at_[p], floor);
    if (floor < stop) drained = false;
    std::uint64_t end = std::min({info.end, floor + kScan, stop});
    std::map<std::uint64_t, Lease> leases;
    EVT_TRY(gs.for_each_lease(txn, o_.group, o_.topic, p, floor, [&](std::uint64_t off, const Lease& l) -> Result<bool> {
        if (off >= end) return false;
        leases.emplace(off, l);
        return true;
    }));
    std::size_t n = 0;
    for (std::uint64_t off = floor; off < end && n < limit; ++off) {
        auto it = leases.find(off);
        if (it != leases.end() && (it->second.state == Lease::State::done || it->second.deadline > now)) continue;
        ++n;
        EVT_TRY(fn(off, it == leases.end() ? nullptr : &it->second));
    }
    return {};
}

Result<std::size_t> Consumer::deliver_queue(const Handler& h) {
    Micros now = now_micros();
    std::vector<Taken> taken;
    // A read-only look first: an idle member must not write (and wake every
    // other process watching the log) when there is nothing to take.
    {
        EVT_ASSIGN(auto txn, log_.env().read());
        EVT_ASSIGN(GroupStore gs, GroupStore::open(txn, false));
        EVT_ASSIGN(topic_, log_.topic(txn, o_.topic));
        bool drained = true, available = false;
        for (std::uint32_t p = 0; p < topic_.partitions && !available; ++p)
            EVT_TRY(scan_queue(txn, gs, p, now, 1, drained, [&](std::uint64_t, const Lease*) -> Status {
                available = true;
                return {};
            }));
        if (!available) {
            // Without --follow a member stops once every event up to the end
            // it saw at start is done (acked or dead-lettered).
            queue_idle_ = drained;
            return std::size_t{0};
        }
    }
    event::Codec codec{event::FillOptions{}};
    EVT_TRY(log_.write([&](store::WriteTxn& txn) -> Status {
        taken.clear();
        dlq_batch_->clear();
        EVT_ASSIGN(GroupStore gs, GroupStore::open(txn, true));
        EVT_ASSIGN(topic_, log_.topic(txn, o_.topic));
        EVT_ASSIGN(QueueCounts counts, gs.counts(txn, o_.group, o_.topic));
        bool drained = true;
        for (std::uint32_t i = 0; i < topic_.partitions && taken.size() < o_.batch; ++i) {
            std::uint32_t p = (next_partition_ + i) % topic_.partitions;
            EVT_ASSIGN(auto committed, gs.offset(txn, o_.group, o_.topic, p));
            if (!committed) {
                EVT_ASSIGN(log::PartitionInfo info, log_.partition_info(txn, topic_, p));
                EVT_TRY(gs.put_offset(txn, o_.group, o_.topic, p, o_.from_latest ? info.end : info.start, now));
            }
            EVT_TRY(scan_queue(txn, gs, p, now, o_.batch - taken.size(), drained,
                               [&](std::uint64_t off, const Lease* l) -> Status {
                std::uint32_t deliveries = l ? l->deliveries + 1 : 1;
                if (deliveries > o_.max_deliveries) {
                    log::RecordView rec;
                    EVT_ASSIGN(bool found, log_.record_at(txn, topic_, p, off, rec));
                    if (found) {
                        auto e = codec.prepare(dead_letter(rec, o_, deliveries));
                        if (!e.ok()) return e.error();
                        EVT_TRY(dlq_batch_->add(*e));
                    }
                    ++counts.dead_lettered;
                    return gs.put_lease(txn, o_.group, o_.topic, p, off,
                                        Lease{now, deliveries - 1, Lease::State::done, me_.id});
                }
                if (deliveries > 1) ++counts.redelivered;
                taken.push_back(Taken{p, off, deliveries});
                return gs.put_lease(txn, o_.group, o_.topic, p, off,
                                    Lease{now + o_.visibility, deliveries, Lease::State::leased, me_.id});
            }));
            EVT_ASSIGN(auto floor, gs.offset(txn, o_.group, o_.topic, p));
            EVT_TRY(gs.advance_floor(txn, o_.group, o_.topic, p, floor ? *floor : 0, now));
        }
        next_partition_ = (next_partition_ + 1) % std::max<std::uint32_t>(topic_.partitions, 1);
        EVT_TRY(gs.put_counts(txn, o_.group, o_.topic, counts));
        return dlq_->write(txn, *dlq_batch_, now);
    }));
    dlq_->committed(*dlq_batch_);
    queue_idle_ = false;
    if (taken.empty()) return std::size_t{0};

    std::vector<bool> ok(taken.size(), false);
    {
        EVT_ASSIGN(auto txn, log_.env().read());
        for (std::size_t i = 0; i < taken.size(); ++i) {
            log::RecordView rec;
            EVT_ASSIGN(bool found, log_.record_at(txn, topic_, taken[i].partition, taken[i].offset, rec));
            if (!found) {
                ok[i] = true;  // removed by retention: nothing to deliver
                continue;
            }
            EVT_ASSIGN(ok[i], h(rec, taken[i].deliveries));
            if (ok[i] && o_.count && ++delivered_ >= o_.count) {
                taken.resize(i + 1);
                ok.resize(i + 1);
                break;
            }
        }
    }
    if (hooks_->flush) EVT_TRY(hooks_->flush());
    // Acks (handled, once the output is flushed) and nacks (failed: due again now).
    Micros acked_at = now_micros();
    EVT_TRY(log_.write([&](store::WriteTxn& txn) -> Status {
        EVT_ASSIGN(GroupStore gs, GroupStore::open(txn, true));
        EVT_ASSIGN(QueueCounts counts, gs.counts(txn, o_.group, o_.topic));
        std::map<std::uint32_t, bool> touched;
        for (std::size_t i = 0; i < taken.size(); ++i) {
            const Taken& t = taken[i];
            if (ok[i] && !o_.auto_commit) continue;
            EVT_ASSIGN(auto l, gs.lease(txn, o_.group, o_.topic, t.partition, t.offset));
            if (!l || l->member != me_.id || l->deliveries != t.deliveries || l->state != Lease::State::leased)
                continue;  // the lease ran out and the event went elsewhere: not ours to settle
            Lease next = *l;
            if (ok[i]) {
                next.state = Lease::State::done;
                ++counts.acked;
                touched[t.partition] = true;
            } else {
                next.deadline = 0;
            }
            EVT_TRY(gs.put_lease(txn, o_.group, o_.topic, t.partition, t.offset, next));
        }
        for (auto& [p, _] : touched) {
            EVT_ASSIGN(auto committed, gs.offset(txn, o_.group, o_.topic, p));
            EVT_TRY(gs.advance_floor(txn, o_.group, o_.topic, p, committed ? *committed : 0, acked_at));
        }
        return gs.put_counts(txn, o_.group, o_.topic, counts);
    }));
    return taken.size();
}

}  // namespace evt::group
