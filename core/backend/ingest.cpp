#include "core/backend/ingest.hpp"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

namespace evt::backend {

namespace {

constexpr std::size_t kMaxWaiting = 2;
// While the writer has nothing to do, a batch is handed over as soon as it
// holds this many events: the writer starts early instead of waiting for a
// full batch, and the batch left to write after the input ends stays small.
// While it is busy, batches grow up to the producer's batch limits.
constexpr std::size_t kEagerEvents = 8192;

// What the reader thread tells the writer when it stops early.
struct InputError {
    Error error;
    bool count_stored;  // add "(N events before it stored)"
};

// Batches between the reader thread and the writing (calling) thread.
class Handoff {
public:
    explicit Handoff(Producer& p) : producer_(p) {}
    BatchLimits limits() const { return producer_.limits(); }

    std::unique_ptr<log::Batch> take_free() {
        std::lock_guard lock(m_);
        if (free_.empty()) {
            auto b = producer_.new_batch();
            b->reserve(producer_.limits().events, producer_.limits().bytes);
            return b;
        }
        auto b = std::move(free_.back());
        free_.pop_back();
        return b;
    }
    void give_back(std::unique_ptr<log::Batch> b) {
        std::lock_guard lock(m_);
        free_.push_back(std::move(b));
        idle_.store(full_.empty(), std::memory_order_relaxed);
        cv_.notify_all();
    }
    // Nothing queued and nothing being written: a partial batch is best
    // handed over now. Otherwise it may as well keep growing. Read without
    // the lock (it is checked every few events), so it may be a moment stale.
    bool writer_idle() const { return idle_.load(std::memory_order_relaxed); }
    // Queues a batch for writing; waits while kMaxWaiting are queued.
    void push(std::unique_ptr<log::Batch> b) {
        std::unique_lock lock(m_);
        cv_.wait(lock, [&] { return full_.size() < kMaxWaiting || stop.load(); });
        if (stop.load()) return;
        full_.push_back(std::move(b));
        idle_.store(false, std::memory_order_relaxed);
        cv_.notify_all();
    }
    // The next batch to write, or null when the reader is done.
    std::unique_ptr<log::Batch> pop() {
        std::unique_lock lock(m_);
        cv_.wait(lock, [&] { return !full_.empty() || done_; });
        if (full_.empty()) return nullptr;
        auto b = std::move(full_.front());
        full_.pop_front();
        idle_.store(false, std::memory_order_relaxed);
        cv_.notify_all();
        return b;
    }
    void finish(std::optional<InputError> e) {
        std::lock_guard lock(m_);
        error_ = std::move(e);
        done_ = true;
        cv_.notify_all();
    }
    void abort() {
        stop.store(true);
        std::lock_guard lock(m_);
        cv_.notify_all();
    }
    std::optional<InputError>& error() { return error_; }

    std::atomic<bool> stop{false};

private:
    Producer& producer_;
    std::mutex m_;
    std::condition_variable cv_;
    std::deque<std::unique_ptr<log::Batch>> full_;
    std::vector<std::unique_ptr<log::Batch>> free_;
    bool done_ = false;
    std::atomic<bool> idle_{true};  // nothing queued, nothing being written; set under m_
    std::optional<InputError> error_;
};

struct ReaderCounts {
    std::uint64_t lines = 0;
    std::uint64_t rejected = 0;
};

std::optional<InputError> read_input(cli::LineReader& in, event::Codec& codec, Handoff& h, Sync sync,
                                     BadLines mode, const IngestHooks& hooks, ReaderCounts& counts) {
    const bool batching = mode != BadLines::atomic && sync != Sync::each;
    const BatchLimits limits = h.limits();
    auto batch = h.take_free();
    auto hand_over = [&] {
        if (batch->empty()) return;
        h.push(std::move(batch));
        batch = h.take_free();
    };
    cli::Line line;
    for (;;) {
        if (h.stop.load()) return std::nullopt;
        // Only ask "would it block?" when there is something to hand over first.
        auto n = in.next(line, !batching || batch->empty());
        if (!n.ok()) {
            hand_over();
            return InputError{std::move(n).error(), false};
        }
        if (*n == cli::LineReader::Next::eof) break;
        if (*n == cli::LineReader::Next::would_block) {
            // The input pauses. Hand the batch over if the writer is free, so
            // a slow producer's events are visible within milliseconds; while
            // it is busy, keep collecting (bursty input makes big batches).
            if (h.writer_idle()) hand_over();
            else in.wait_readable(1);
            continue;
        }
        ++counts.lines;
        Status bad;
        if (line.oversize) {
            bad = make_error(ErrorKind::invalid, "event of {} bytes is over --max-bytes ({})", line.size,
                             codec.options().max_bytes);
        } else {
            auto p = codec.prepare(line.text);
            bad = p.ok() ? batch->add(*p) : Status(p.error());
        }
        if (!bad.ok()) {
            const Error& e = bad.error();
            if (mode == BadLines::skip_bad && e.kind == ErrorKind::invalid) {
                ++counts.rejected;
                if (hooks.on_reject) {
                    Status s = hooks.on_reject(line, e.message);
                    if (!s.ok()) return InputError{s.error(), false};
                }
                continue;
            }
            if (mode == BadLines::atomic)
                return InputError{make_error(e.kind, "{}: {} (--atomic: nothing was stored)", where(line), e.message),
                                  false};
            hand_over();
            return InputError{make_error(e.kind, "{}: {}", where(line), e.message), true};
        }
        if (sync == Sync::each || (batching && (batch->size() >= limits.events || batch->bytes() >= limits.bytes)))
            hand_over();
        else if (batching && batch->size() >= kEagerEvents && (batch->size() & 255) == 0 && h.writer_idle())
            hand_over();
    }
    hand_over();
    return std::nullopt;
}

}  // namespace

std::string where(const cli::Line& line) {
    if (line.input == "-") return fmt::format("line {}", line.number);
    return fmt::format("{}: line {}", line.input, line.number);
}

Result<IngestReport> ingest(cli::LineReader& in, event::Codec& codec, Producer& producer, Sync sync,
                            BadLines mode, const IngestHooks& hooks) {
    Handoff h(producer);
    ReaderCounts counts;
    in.set_cancel(&h.stop);
    std::thread reader([&] {
        std::optional<InputError> e;
        try {
            e = read_input(in, codec, h, sync, mode, hooks, counts);
        } catch (const std::exception& ex) {
            e = InputError{make_error(ErrorKind::internal, "internal error: {}", ex.what()), false};
        }
        h.finish(std::move(e));
    });
    IngestReport report;
    std::optional<Error> failure;
    while (auto batch = h.pop()) {
        auto r = producer.commit(*batch, hooks.on_stored);
        Status after = r.ok() && r->stored && hooks.on_commit ? hooks.on_commit() : Status();
        if (!r.ok() || !after.ok()) {
            failure = r.ok() ? after.error() : r.error();
            h.abort();
            break;
        }
        report.stored += r->stored;
        report.duplicates += r->skipped;
        h.give_back(std::move(batch));
    }
    reader.join();
    if (!failure) {
        auto f = producer.finish(hooks.on_stored);
        if (f.ok()) report.stored += f->stored;
        Status after = f.ok() && f->stored && hooks.on_commit ? hooks.on_commit() : Status();
        if (!f.ok()) failure = f.error();
        else if (!after.ok()) failure = after.error();
    }
    report.lines = counts.lines;
    report.rejected = counts.rejected;
    if (failure) return *failure;
    if (auto& e = h.error()) {
        if (!e->count_stored) return e->error;
        return make_error(e->error.kind, "{} ({} event{} before it stored)", e->error.message, report.stored,
                          report.stored == 1 ? "" : "s");
    }
    return report;
}

}  // namespace evt::backend
