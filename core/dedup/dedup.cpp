#include "core/dedup/dedup.hpp"

#include "core/dedup/key.hpp"
#include "core/dedup/seen_set.hpp"
#include "core/dedup/store.hpp"
#include "core/event/codec.hpp"
#include "core/log/appender.hpp"
#include "core/util/hash.hpp"

namespace evt::dedup {

namespace {

constexpr std::size_t kBatchLines = 262144;
constexpr std::size_t kBatchBytes = 96u << 20;
constexpr int kMaxMissingNotes = 10;

std::string where(const cli::Line& l) {
    return l.input == "-" ? fmt::format("line {}", l.number) : fmt::format("{}: line {}", l.input, l.number);
}

// Decides what a line with a missing key becomes; counts and notes it.
struct MissingPolicy {
    const Options& o;
    Stats& st;
    const std::function<void(const std::string&)>& warn;
    // Returns true to pass the line on, false to drop it; an error to fail.
    Result<bool> operator()(const cli::Line& l) {
        ++st.missing;
        std::string paths;
        if (o.on_missing == OnMissing::fail)
            return make_error(ErrorKind::invalid, "{}: the key ({}) is missing (--on-missing-key fail)", where(l),
                              fmt::join(o.paths.empty() ? std::vector<std::string>{"id"} : o.paths, ","));
        if (st.missing <= kMaxMissingNotes && warn)
            warn(fmt::format("{}: no key; {}", where(l), o.on_missing == OnMissing::pass ? "passed on" : "dropped"));
        return o.on_missing == OnMissing::pass;
    }
};

Status run_memory(const Options& o, cli::LineReader& in, cli::Output& out,
                  const std::function<void(const std::string&)>& warn, Stats& st) {
    EVT_ASSIGN(KeyExtractor keys, KeyExtractor::make(o.paths));
    MissingPolicy missing{o, st, warn};
    SeenSet seen(o.window);
    cli::Line line;
    for (;;) {
        EVT_ASSIGN(auto n, in.next(line, false));
        if (n == cli::LineReader::Next::would_block) {  // pass on what we have before waiting
            EVT_TRY(out.flush());
            EVT_ASSIGN(n, in.next(line, true));
        }
        if (n == cli::LineReader::Next::eof) break;
        ++st.lines;
        if (line.oversize) return make_error(ErrorKind::invalid, "{}: line of {} bytes is too long", where(line), line.size);
        std::string_view key;
        auto found = keys.extract(line.text, key);
        if (!found.ok()) return make_error(ErrorKind::invalid, "{}: {}", where(line), found.error().message);
        bool emit;
        if (!*found) {
            EVT_ASSIGN(emit, missing(line));
        } else {
            bool dup = seen.check_and_insert(key, hash64(key), o.clock());
            (dup ? st.duplicates : st.unique)++;
            emit = dup == o.only_dups;
        }
        if (emit) {
            std::string& b = out.buffer();
            b.append(line.text);
            b += '\n';
            ++st.emitted;
            EVT_TRY(out.maybe_flush());
        }
    }
    return out.flush();
}

// The store modes: batches of lines, keys checked and recorded per batch.
class StoreRun {
public:
    StoreRun(const Options& o, cli::Output& out, log::Log& lg, const std::function<void(const std::string&)>& warn,
             Stats& st)
        : o_(o), out_(out), log_(lg), st_(st), missing_(MissingPolicy{o, st_, warn}) {}

    Status run(cli::LineReader& in) {
        EVT_TRY(check_store_name(o_.store));
        EVT_ASSIGN(keys_, KeyExtractor::make(o_.paths));
        if (!o_.to_topic.empty()) {
            log::TopicOptions to;
            EVT_ASSIGN(log::TopicConfig t, log_.ensure_topic(o_.to_topic, to));
            appender_ = std::make_unique<log::Appender>(log_, t, log::AppendOptions{});
            batch_ = std::make_unique<log::Batch>(log::AppendOptions{});
        }
        cli::Line line;
        std::optional<Error> stop;
        for (;;) {
            EVT_ASSIGN(auto n, in.next(line, lines_.empty()));
            if (n == cli::LineReader::Next::eof) break;
            if (n == cli::LineReader::Next::would_block) {
                EVT_TRY(flush());
                continue;
            }
            ++st_.lines;
            Status s = take(line);
            if (!s.ok()) {
                stop = s.error();
                break;
            }
            if (lines_.size() >= kBatchLines || text_.size() >= kBatchBytes) EVT_TRY(flush());
        }
        EVT_TRY(flush());
        if (o_.window > 0) {  // forget what the window no longer covers
            Micros now = o_.clock();
            EVT_TRY(log_.write([&](store::WriteTxn& txn) -> Status {
                EVT_ASSIGN(MDB_dbi dbi, txn.dbi(store_db(o_.store), true, MDB_INTEGERKEY));
                EVT_ASSIGN(std::uint64_t n, expire(txn, dbi, now, o_.window));
                (void)n;
                return {};
            }));
        }
        if (stop) return *stop;
        return {};
    }

private:
    struct Pending {
        std::size_t off, len;      // the line in text_
        std::size_t key_off, key_len;
        bool has_key;
    };

    Status take(const cli::Line& line) {
        if (line.oversize) return make_error(ErrorKind::invalid, "{}: line of {} bytes is too long", where(line), line.size);
        std::string_view key;
        auto found = keys_.extract(line.text, key);
        if (!found.ok()) return make_error(ErrorKind::invalid, "{}: {}", where(line), found.error().message);
        std::string_view text = line.text;
        if (appender_) {  // the event must be one evt-append takes: say which line is not
            auto e = codec_.prepare(line.text);
            if (!e.ok()) return make_error(ErrorKind::invalid, "{}: {}", where(line), e.error().message);
            text = e->json;
        }
        Pending p{text_.size(), text.size(), 0, 0, *found};
        text_.append(text);
        if (*found) {
            p.key_off = text_.size();
            p.key_len = key.size();
            text_.append(key);
        } else {
            EVT_ASSIGN(bool pass, missing_(line));
            if (!pass) return {};
        }
        lines_.push_back(p);
        return {};
    }

    std::string_view at(std::size_t off, std::size_t len) const { return {text_.data() + off, len}; }

    // Writes one batch: keys recorded and (to_topic) events appended in one
    // transaction; (store) lines written to the output before the commit.
    Status flush() {
        if (lines_.empty()) return {};
        std::vector<KeyRef> refs;
        std::vector<std::size_t> keyed;
        for (std::size_t i = 0; i < lines_.size(); ++i) {
            if (!lines_[i].has_key) continue;
            std::string_view k = at(lines_[i].key_off, lines_[i].key_len);
            refs.push_back(KeyRef{k, hash64(k)});
            keyed.push_back(i);
        }
        Micros now = o_.clock();
        std::vector<bool> seen_keyed, emit(lines_.size(), true);
        auto decide = [&] {
            for (std::size_t j = 0; j < keyed.size(); ++j) emit[keyed[j]] = seen_keyed[j] == o_.only_dups;
        };
        if (appender_) {  // keys and events in one transaction: exactly once
            EVT_TRY(log_.write([&](store::WriteTxn& txn) -> Status {
                EVT_ASSIGN(MDB_dbi dbi, txn.dbi(store_db(o_.store), true, MDB_INTEGERKEY));
                EVT_TRY(check_and_record(txn, dbi, refs, now, o_.window, seen_keyed));
                decide();
                batch_->clear();
                for (std::size_t i = 0; i < lines_.size(); ++i) {
                    if (!emit[i]) continue;
                    auto e = codec_.prepare(at(lines_[i].off, lines_[i].len));
                    if (!e.ok()) return e.error();  // cannot happen: take() prepared it already
                    EVT_TRY(batch_->add(*e));
                }
                return appender_->write(txn, *batch_, now);
            }));
        } else {  // look up, write the output, then record: at least once
            Probed probed;
            {
                EVT_ASSIGN(auto txn, log_.env().read());
                auto dbi = txn.dbi(store_db(o_.store), false, MDB_INTEGERKEY);
                if (dbi.ok()) {
                    EVT_TRY(check(txn, *dbi, refs, now, o_.window, seen_keyed, &probed));
                } else if (dbi.error().kind == ErrorKind::not_found) {  // no store yet
                    seen_keyed.assign(refs.size(), false);
                    mark_repeats(refs, seen_keyed);
                } else {
                    return dbi.error();
                }
            }
            decide();
            for (std::size_t i = 0; i < lines_.size(); ++i) {
                if (!emit[i]) continue;
                out_.write(at(lines_[i].off, lines_[i].len));
                out_.write("\n");
            }
            EVT_TRY(out_.flush());
            EVT_TRY(log_.write([&](store::WriteTxn& txn) -> Status {
                EVT_ASSIGN(MDB_dbi dbi, txn.dbi(store_db(o_.store), true, MDB_INTEGERKEY));
                return record(txn, dbi, refs, seen_keyed, now, o_.window, &probed);
            }));
        }
        if (appender_) appender_->committed(*batch_);
        for (std::size_t j = 0; j < keyed.size(); ++j) (seen_keyed[j] ? st_.duplicates : st_.unique)++;
        for (bool e : emit) st_.emitted += e;
        lines_.clear();
        text_.clear();
        return {};
    }

    const Options& o_;
    cli::Output& out_;
    log::Log& log_;
    Stats& st_;
    MissingPolicy missing_;
    KeyExtractor keys_;
    std::vector<Pending> lines_;
    std::string text_;
    std::string key_copy_;
    std::unique_ptr<log::Appender> appender_;
    std::unique_ptr<log::Batch> batch_;
    event::Codec codec_{event::FillOptions{}};
};

}  // namespace

Status run(const Options& o, cli::LineReader& in, cli::Output& out, log::Log* log,
           const std::function<void(const std::string&)>& warn, Stats& stats) {
    if (o.store.empty()) {
        if (!o.to_topic.empty()) return Error{ErrorKind::usage, "--to-topic needs --store"};
        return run_memory(o, in, out, warn, stats);
    }
    if (!log) return Error{ErrorKind::internal, "the store mode needs a log"};
    StoreRun r(o, out, *log, warn, stats);
    return r.run(in);
}

}  // namespace evt::dedup
