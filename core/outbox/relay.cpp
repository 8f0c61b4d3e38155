#include "core/outbox/relay.hpp"

#include <thread>

#include "core/event/format.hpp"

namespace evt::outbox {

namespace {

// ,"name":"value" with the value escaped for JSON. Plain text (the usual
// case: ids, types, aggregate ids) is copied in one piece, without a
// temporary string.
void add_string(std::string& out, std::string_view name, std::string_view value) {
    out += ",\"";
    out += name;
    out += "\":\"";
    bool plain = true;
    for (char c : value)
        if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
            plain = false;
            break;
        }
    if (plain)
        out += value;
    else
        out += event::json_escape_string(value);
    out += '"';
}

}  // namespace

void to_event(std::string& out, const Row& row, const EventOptions& o) {
    out += "{\"specversion\":\"1.0\"";
    add_string(out, "id", row.id);
    add_string(out, "source", o.source);
    add_string(out, "type", row.type);
    add_string(out, "subject", row.aggregateid);
    add_string(out, "partitionkey", row.aggregateid);
    if (!row.occurred_at.empty()) add_string(out, "time", row.occurred_at);
    add_string(out, "aggregatetype", row.aggregatetype);
    for (std::size_t i = 0; i < o.map.size() && i < row.extra.size(); ++i)
        if (!row.extra_null[i]) add_string(out, o.map[i].second, row.extra[i]);
    if (row.has_payload) {
        out += ",\"datacontenttype\":\"application/json\",\"data\":";
        out += row.payload;
    }
    out += '}';
}

Relay::Relay(Source& source, backend::Producer& producer, RelayOptions options)
    : src_(source), producer_(producer), opt_(std::move(options)), codec_([] {
          event::FillOptions f;
          f.require_id = true;
          f.max_bytes = 16u << 20;
          return f;
      }()) {
    batch_ = producer_.new_batch();
}

Result<std::size_t> Relay::step() {
    // The rows of the last batch may not be marked yet (PostgreSQL marks them
    // while this batch is fetched and appended): fetch as many more and drop
    // them, which keeps what is left a prefix, in seq order, of the rows not
    // yet relayed.
    EVT_TRY(src_.fetch(opt_.batch + inflight_.size(), rows_));
    if (!inflight_.empty()) {
        std::erase_if(rows_, [&](const Row& r) { return inflight_.count(r.seq) != 0; });
        if (rows_.size() > opt_.batch) rows_.resize(opt_.batch);
    }
    if (rows_.empty()) {
        EVT_TRY(settle());
        return std::size_t{0};
    }
    batch_->clear();
    std::size_t good = 0;
    std::optional<Error> bad;
    for (const Row& r : rows_) {
        line_.clear();
        to_event(line_, r, opt_.event);
        auto p = codec_.prepare(line_);
        Status added = p.ok() ? batch_->add(*p) : Status(p.error());
        if (!added.ok()) {
            bad = make_error(ErrorKind::invalid, "row seq={} id={}: {} ({} rows before it were relayed)", r.seq,
                             r.id, added.error().message, stats_.rows + good);
            break;
        }
        ++good;
    }
    if (good) {
        EVT_ASSIGN(log::CommitResult c, producer_.commit(*batch_, {}));
        rows_.resize(good);
        EVT_TRY(settle());
        EVT_TRY(src_.finish(rows_, opt_.remove));
        for (const Row& r : rows_) inflight_.insert(r.seq);
        stats_.rows += good;
        stats_.stored += c.stored;
        stats_.duplicates += c.skipped;
        ++stats_.batches;
    }
    if (bad) return *bad;
    return good;
}

Status Relay::settle() {
    EVT_TRY(src_.settle());
    inflight_.clear();
    return {};
}

Result<RelayStats> Relay::run(const RelayHooks& hooks) {
    auto st = loop(hooks);
    if (!st.ok()) {
        (void)settle();  // the marks of what was relayed before the error
        return st;
    }
    EVT_TRY(settle());
    return st;
}

Result<RelayStats> Relay::loop(const RelayHooks& hooks) {
    EVT_TRY(src_.lock(hooks.on_lock_wait));
    Micros pause = 1000;
    Micros retry = 100000;
    for (;;) {
        if (hooks.stop && hooks.stop()) return stats_;
        auto n = step();
        if (!n.ok()) {
            if (!opt_.follow || n.error().kind != ErrorKind::unavailable) return std::move(n).error();
            // Unreachable database while following: nothing was marked that is
            // not in the log; wait, connect again, carry on.
            for (;;) {
                if (hooks.on_retry) hooks.on_retry(n.error(), retry);
                std::this_thread::sleep_for(std::chrono::microseconds(retry));
                retry = std::min<Micros>(retry * 2, 10000000);
                if (hooks.stop && hooks.stop()) return stats_;
                inflight_.clear();  // unsettled marks are lost with the connection: those rows come again
                auto again = src_.reconnect(hooks.on_lock_wait);
                if (again.ok()) break;
                if (again.error().kind != ErrorKind::unavailable) return std::move(again).error();
                n = Result<std::size_t>(std::move(again).error());
            }
            if (hooks.on_reconnected) hooks.on_reconnected();
            retry = 100000;
            continue;
        }
        if (opt_.once) return stats_;
        if (*n >= opt_.batch) {
            pause = 1000;
            continue;  // more may be waiting
        }
        if (!opt_.follow) {
            if (*n == 0) return stats_;
            continue;  // a short batch: look once more, rows may have arrived meanwhile
        }
        if (*n > 0) {
            pause = 1000;
            continue;
        }
        auto w = src_.wait(pause);
        if (!w.ok() && w.error().kind != ErrorKind::unavailable) return std::move(w).error();
        pause = std::min(pause * 2, opt_.poll_max);
    }
}

}  // namespace evt::outbox
