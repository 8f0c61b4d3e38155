// The Kafka backend (librdkafka 2.0): `-L kafka://host:port[,host:port...]`.
//
// What it maps (the man pages' KAFKA sections say it for users):
//   append   an idempotent producer (acks=all), partitioner murmur2_random,
//            the partition chosen by evt's partitioner (the same numbers),
//            lz4 compression unless -X compression.codec says otherwise;
//            a batch counts as stored only once every delivery report came
//            back; --atomic is one Kafka transaction.
//   read     assign + watermarks; per-partition queues merged by record
//            timestamp (ties by partition); @TIME by offsetsForTimes.
//   consume  a real group member (subscribe, range / roundrobin /
//            cooperative-sticky), offsets committed after the output was
//            flushed; joins, assignments and revocations on stderr.
//   groups   committed offsets and watermarks (lag), members where the
//            broker describes groups, reset and delete by the admin API.
//   topics   metadata, watermarks, CreateTopics / CreatePartitions /
//            DeleteTopics / DescribeConfigs, each with a timeout.
// Lacks: --expect-version, --idempotent (event ids), --stream, queue mode,
// local state.
//
// Settings: the properties file (OpenOptions::config_file), then -X
// name=value; `evt.timeout` (default 8s, so that an
// unreachable cluster is reported within 10 s) bounds every call that waits on a
// broker, `evt.binding` (structured|binary) the CloudEvents mode of writes.
// A setting's value never appears in an error.
//
// Errors: unavailable (no broker answered in time, the broker lacks an API),
// not_found (topic, group), busy (a call timed out), invalid (a record that
// is not a CloudEvent, a bad setting), usage.
#pragma once

#include <memory>
#include <string>

#include "core/backend/backend.hpp"

namespace evt::kafka {

Result<std::unique_ptr<backend::Backend>> open(const std::string& location, const backend::OpenOptions& options);

}  // namespace evt::kafka
