#include "core/backend/ingest.hpp"

namespace evt::backend {

namespace {
constexpr std::size_t kBatchEvents = 131072;
constexpr std::size_t kBatchBytes = 48u << 20;
}  // namespace

std::string where(const cli::Line& line) {
    if (line.input == "-") return fmt::format("line {}", line.number);
    return fmt::format("{}: line {}", line.input, line.number);
}

Result<IngestReport> ingest(cli::LineReader& in, event::Codec& codec, Producer& appender, Sync sync,
                            BadLines mode, const IngestHooks& hooks) {
    IngestReport report;
    auto commit = [&]() -> Status {
        EVT_ASSIGN(log::CommitResult r, appender.commit(hooks.on_stored));
        report.stored += r.stored;
        report.duplicates += r.skipped;
        if (hooks.on_commit && r.stored) EVT_TRY(hooks.on_commit());
        return {};
    };
    const bool batching = mode != BadLines::atomic && sync != Sync::each;
    cli::Line line;
    for (;;) {
        // Only ask "would it block?" when there is something to commit first.
        bool may_block = !batching || appender.pending() == 0;
        EVT_ASSIGN(cli::LineReader::Next n, in.next(line, may_block));
        if (n == cli::LineReader::Next::eof) break;
        if (n == cli::LineReader::Next::would_block) {
            EVT_TRY(commit());
            continue;
        }
        ++report.lines;
        Status bad;
        if (line.oversize) {
            bad = make_error(ErrorKind::invalid, "event of {} bytes is over --max-bytes ({})", line.size,
                             codec.options().max_bytes);
        } else {
            auto p = codec.prepare(line.text);
            bad = p.ok() ? appender.add(*p) : Status(p.error());
        }
        if (!bad.ok()) {
            const Error& e = bad.error();
            if (mode == BadLines::skip_bad && e.kind == ErrorKind::invalid) {
                ++report.rejected;
                if (hooks.on_reject) EVT_TRY(hooks.on_reject(line, e.message));
                continue;
            }
            if (mode == BadLines::atomic)
                return make_error(e.kind, "{}: {} (--atomic: nothing was stored)", where(line), e.message);
            EVT_TRY(commit());
            return make_error(e.kind, "{}: {} ({} event{} before it stored)", where(line), e.message,
                              report.stored, report.stored == 1 ? "" : "s");
        }
        if (sync == Sync::each || (batching && (appender.pending() >= kBatchEvents ||
                                                appender.pending_bytes() >= kBatchBytes)))
            EVT_TRY(commit());
    }
    EVT_TRY(commit());
    return report;
}

}  // namespace evt::backend
