// The embedded backend: an LMDB log directory (log::Log and friends).
#include "core/backend/backend.hpp"

namespace evt::backend {

namespace {

class LmdbProducer final : public Producer {
public:
    LmdbProducer(log::Log& lg, log::TopicConfig t, log::AppendOptions o) : appender_(lg, std::move(t), std::move(o)) {}
    std::unique_ptr<log::Batch> new_batch() override { return std::make_unique<log::Batch>(appender_.options()); }
    Result<log::CommitResult> commit(log::Batch& batch, const log::Appender::StoredFn& on_stored) override {
        return appender_.commit(batch, on_stored);
    }

private:
    log::Appender appender_;
};

class LmdbBackend final : public Backend {
public:
    explicit LmdbBackend(std::unique_ptr<log::Log> lg) : log_(std::move(lg)) {}

    std::string location() const override { return log_->path(); }
    std::string_view name() const override { return "the embedded log"; }
    bool supports(Feature) const override { return true; }
    log::Log* embedded() override { return log_.get(); }

    Result<log::TopicConfig> create_topic(std::string_view n, const log::TopicOptions& o) override {
        if (o.replicas > 1)
            return make_error(ErrorKind::unavailable,
                              "--replicas {} needs a replicated backend (nats:// or kafka://); the embedded log keeps "
                              "one copy",
                              o.replicas);
        return log_->create_topic(n, o);
    }
    Result<log::TopicConfig> ensure_topic(std::string_view n, const log::TopicOptions& o) override {
        return log_->ensure_topic(n, o);
    }
    Result<log::TopicConfig> alter_partitions(std::string_view n, std::uint32_t p) override {
        return log_->alter_partitions(n, p);
    }
    Status delete_topic(std::string_view n) override { return log_->delete_topic(n); }

    Result<std::vector<log::TopicConfig>> topics() override {
        EVT_ASSIGN(auto txn, log_->env().read());
        return log_->topics(txn);
    }

    Result<std::vector<log::PartitionInfo>> describe(std::string_view topic, log::TopicConfig& config) override {
        EVT_ASSIGN(auto txn, log_->env().read());
        EVT_ASSIGN(config, log_->topic(txn, topic));
        std::vector<log::PartitionInfo> out;
        for (std::uint32_t p = 0; p < config.partitions; ++p) {
            EVT_ASSIGN(log::PartitionInfo info, log_->partition_info(txn, config, p, true));
            out.push_back(info);
        }
        return out;
    }

    Result<std::unique_ptr<Producer>> producer(std::string_view topic, const log::AppendOptions& o,
                                               Sync sync) override {
        EVT_TRY(log::check_topic_name(topic));
        log_->env().set_sync(sync != Sync::none);
        log::TopicConfig t;
        t.name = std::string(topic);
        return std::unique_ptr<Producer>(new LmdbProducer(*log_, t, o));
    }

    Status read(std::string_view topic, const log::ReadOptions& o, const log::RecordFn& fn,
                const log::FollowHooks& hooks) override {
        return log::read_topic(*log_, topic, o, fn, hooks);
    }

    Status read_stream(std::string_view topic, std::string_view subject, const log::ReadOptions& o,
                       const std::function<Result<bool>(const log::RecordView&, std::uint64_t)>& fn,
                       const log::FollowHooks& hooks) override {
        return log::read_stream(*log_, topic, subject, o, fn, hooks);
    }

    Status consume(const group::ConsumerOptions& o, const group::Handler& handler,
                   const group::ConsumerHooks& hooks) override {
        group::Consumer consumer(*log_, o);
        return consumer.run(handler, hooks);
    }
    Result<group::CommitReport> commit_events(std::string_view g, cli::LineReader& in) override {
        return group::commit_events(*log_, g, in);
    }
    Result<std::vector<group::GroupView>> list_groups() override { return group::list_groups(*log_); }
    Result<group::GroupView> describe_group(std::string_view g) override { return group::describe_group(*log_, g); }
    Result<std::vector<group::ResetRow>> reset_group(std::string_view g, std::string_view topic, std::string_view spec,
                                                     bool execute) override {
        return group::reset_group(*log_, g, topic, spec, execute);
    }
    Status delete_group(std::string_view g) override { return group::delete_group(*log_, g); }

private:
    std::unique_ptr<log::Log> log_;
};

}  // namespace

std::unique_ptr<Backend> over(std::unique_ptr<log::Log> lg) { return std::make_unique<LmdbBackend>(std::move(lg)); }

Result<std::unique_ptr<Backend>> open_embedded(const std::string& location, const OpenOptions& o) {
    EVT_ASSIGN(auto lg, log::Log::open(location, o.access == Access::write ? log::Log::Access::write
                                                                           : log::Log::Access::read));
    lg->env().set_max_size(o.max_size);
    return over(std::move(lg));
}

}  // namespace evt::backend
