// open(): the one place that reads a log's location; refusals of features.
#include "core/backend/backend.hpp"

#include "core/kafka/kafka_backend.hpp"
#include "core/nats/nats_backend.hpp"

namespace evt::backend {

Result<std::unique_ptr<Backend>> open_embedded(const std::string& location, const OpenOptions& o);

std::string_view feature_flag(Feature f) {
    switch (f) {
    case Feature::expect_version: return "--expect-version";
    case Feature::idempotent_ids: return "--idempotent";
    case Feature::streams: return "--stream";
    case Feature::queue_mode: return "--mode queue";
    case Feature::retention: return "--retention";
    case Feature::compaction: return "--compact";
    case Feature::local_state: return "this tool";
    }
    return "this feature";
}

std::string Backend::lacks(Feature f) const { return fmt::format("{} does not offer {}", name(), feature_flag(f)); }

Error refuse(const Backend&, std::string_view what, std::string_view why) {
    return Error{ErrorKind::unavailable, fmt::format("{} needs the embedded log; {}", what, why)};
}

Error refuse(const Backend& b, Feature f) { return refuse(b, feature_flag(f), b.lacks(f)); }

Result<log::Log*> require_embedded(Backend& b, std::string_view what, std::string_view why) {
    if (log::Log* lg = b.embedded()) return lg;
    return refuse(b, what,
                  fmt::format("{}, and {} is {}", why.empty() ? "it keeps its state in a local log" : why, b.location(),
                              b.name()));
}

bool is_remote(std::string_view location) {
    return location.rfind("kafka://", 0) == 0 || location.rfind("nats://", 0) == 0;
}

Result<std::unique_ptr<Backend>> open(const std::string& location, const OpenOptions& options) {
    if (location.rfind("kafka://", 0) == 0) return kafka::open(location, options);
    if (location.rfind("nats://", 0) == 0) return nats::open(location, options);
    if (location.find("://") != std::string::npos)
        return make_error(ErrorKind::usage, "'{}': unknown log URL; a log is a directory, kafka://host:port or nats://host:port",
                          location);
    return open_embedded(location, options);
}

}  // namespace evt::backend
