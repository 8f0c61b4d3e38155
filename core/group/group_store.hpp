// Consumer-group records in the log (database `groups`, schemas/STORAGE.md
// section 11): each group's state (mode, topic, generation), its members
// (pid, host, heartbeat), the partition claims of log mode, committed offsets,
// and the per-event leases of queue mode.
//
// Keys start with a one-letter kind and the group name, separated by NUL
// (names cannot contain NUL):
//   s\0G                 state: JSON {mode, topic, strategy, generation, created}
//   m\0G\0MEMBER         member: JSON {id, pid, host, joined, heartbeat, session_timeout_us}
//   o\0G\0TOPIC\0P       committed offset: u64 next offset, i64 time (LE)
//   c\0G\0TOPIC\0P       claim (log mode): the owning member's id
//   l\0G\0TOPIC\0P\0O    lease (queue mode): i64 deadline, u32 deliveries, u8 state, member id
//   q\0G\0TOPIC          queue counters: u64 acked, redelivered, dead-lettered
// P and O are big-endian so that keys sort numerically.
//
// All functions work inside the caller's transaction. Errors: corrupt (a
// malformed record), io/busy from LMDB.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/group/assign.hpp"
#include "core/store/env.hpp"
#include "core/util/units.hpp"

namespace evt::group {

enum class Mode { log, queue };

struct GroupState {
    std::string name;
    Mode mode = Mode::log;
    std::string topic;
    Strategy strategy = Strategy::range;
    std::uint64_t generation = 0;
    Micros created = 0;
};

struct Member {
    std::string id;
    int pid = 0;
    std::string host;
    Micros joined = 0;
    Micros heartbeat = 0;
    Micros session_timeout = 10'000'000;
    // Dead: its lease ran out, or (on this host) its process is gone.
    bool alive(Micros now) const;
};

struct Lease {
    Micros deadline = 0;
    std::uint32_t deliveries = 0;
    enum class State : std::uint8_t { leased = 1, done = 2 } state = State::leased;
    std::string member;
};

struct QueueCounts {
    std::uint64_t acked = 0, redelivered = 0, dead_lettered = 0;
};

Status check_group_name(std::string_view name);
std::string this_host();

class GroupStore {
public:
    static Result<GroupStore> open(store::Txn& txn, bool create);
    bool exists() const { return dbi_ != 0 || opened_; }

    Result<std::optional<GroupState>> state(store::Txn& txn, std::string_view group);
    Status put_state(store::WriteTxn& txn, const GroupState& s);
    Result<std::vector<GroupState>> groups(store::Txn& txn);

    Result<std::vector<Member>> members(store::Txn& txn, std::string_view group);  // sorted by id
    Status put_member(store::WriteTxn& txn, std::string_view group, const Member& m);
    Status del_member(store::WriteTxn& txn, std::string_view group, std::string_view id);

    Result<std::optional<std::uint64_t>> offset(store::Txn& txn, std::string_view group, std::string_view topic,
                                                std::uint32_t p);
    Status put_offset(store::WriteTxn& txn, std::string_view group, std::string_view topic, std::uint32_t p,
                      std::uint64_t next, Micros now);
    Status del_offset(store::WriteTxn& txn, std::string_view group, std::string_view topic, std::uint32_t p);

    Result<std::optional<std::string>> claim(store::Txn& txn, std::string_view group, std::string_view topic,
                                             std::uint32_t p);
    Status put_claim(store::WriteTxn& txn, std::string_view group, std::string_view topic, std::uint32_t p,
                     std::string_view member);
    Status del_claim(store::WriteTxn& txn, std::string_view group, std::string_view topic, std::uint32_t p);

    Result<std::optional<Lease>> lease(store::Txn& txn, std::string_view group, std::string_view topic,
                                       std::uint32_t p, std::uint64_t offset);
    Status put_lease(store::WriteTxn& txn, std::string_view group, std::string_view topic, std::uint32_t p,
                     std::uint64_t offset, const Lease& l);
    Status del_lease(store::WriteTxn& txn, std::string_view group, std::string_view topic, std::uint32_t p,
                     std::uint64_t offset);
    // Leases of a partition from `from` on, in offset order, until fn returns false.
    Status for_each_lease(store::Txn& txn, std::string_view group, std::string_view topic, std::uint32_t p,
                          std::uint64_t from,
                          const std::function<Result<bool>(std::uint64_t offset, const Lease&)>& fn);

    // Queue mode: moves the committed offset past the leading done events
    // (deleting their leases); `floor` is the current committed offset.
    Status advance_floor(store::WriteTxn& txn, std::string_view group, std::string_view topic, std::uint32_t p,
                         std::uint64_t floor, Micros now);

    Result<QueueCounts> counts(store::Txn& txn, std::string_view group, std::string_view topic);
    Status put_counts(store::WriteTxn& txn, std::string_view group, std::string_view topic, const QueueCounts& c);

    // Removes every record of the group.
    Status delete_group(store::WriteTxn& txn, std::string_view group);

private:
    MDB_dbi dbi_ = 0;
    bool opened_ = false;
};

std::string mode_name(Mode m);
std::string strategy_name(Strategy s);

}  // namespace evt::group
