// The NATS JetStream backend (libnats 3.4, nats-server 2.9):
// `-L nats://host:port[,host:port...]`. schemas/NATS.md is the mapping.
//
//   topics     the registry (KV bucket evt-topics) and a stream per
//              partition, EVT_<topic>_<p>, subjects evt.<topic>.<p>.>,
//              replicas 3 by default (fewer on a smaller cluster);
//              retention = MaxAge / MaxBytes, compaction = one message per
//              subject.
//   append     async publishes with a bounded window in flight; an event
//              counts as stored when the stream's quorum acknowledged it,
//              reported in input order; --idempotent = Nats-Msg-Id (the
//              event id) and the streams' duplicate window; --expect-version
//              = the subject's last sequence, checked by the server.
//   read       an ordered consumer per partition, merged by time; offsets
//              are stream sequences - 1, so they are dense per partition.
//   groups     log mode: members and partition leases in a KV bucket per
//              group (compare-and-set on revisions), committed offsets
//              there too; queue mode: a durable pull consumer per partition
//              with explicit acks (ack wait = --visibility).
// Lacks: --atomic (no multi-message transactions), local state.
//
// Settings (-X): evt.timeout (default 8s), evt.replicas, user, password,
// token, creds. A setting's value never appears in an error.
#pragma once

#include <memory>
#include <string>

#include "core/backend/backend.hpp"

namespace evt::nats {

Result<std::unique_ptr<backend::Backend>> open(const std::string& location, const backend::OpenOptions& options);

}  // namespace evt::nats
