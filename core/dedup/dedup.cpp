#include "core/dedup/dedup.hpp"

#include "core/dedup/key.hpp"
#include "core/dedup/seen_set.hpp"
#include "core/dedup/store.hpp"
#include "core/event/codec.hpp"
#include "core/log/appender.hpp"
#include "core/util/hash.hpp"

namespace evt::dedup {

namespace {

constexpr std::size_t kBatchLines = 65536;
constexpr std::size_t kBatchBytes = 32u << 20;
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

Result<Stats> run_memory(const Options& o, cli::LineReader& in, cli::Output& out,
                         const std::function<void(const std::string&)>& warn) {
    Stats st;
    EVT_ASSIGN(KeyExtractor keys, KeyExtractor::make(o.paths));
    MissingPolicy missing{o, st, warn};
    SeenSet seen(o.window);
    cli::Line line;
    for (;;) {
        EVT_ASSIGN(auto n, in.next(line));
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
    EVT_TRY(out.flush());
    return st;
}

// The store modes: batches of lines, keys checked and recorded per batch.
class StoreRun {
public:
    StoreRun(const Options& o, cli::Output& out, log::Log& lg, const std::function<void(const std::string&)>& warn)
        : o_(o), out_(out), log_(lg), missing_(MissingPolicy{o, st_, warn}) {}

    Result<Stats> run(cli::LineReader& in) {
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
        if (stop) return *stop;
        return st_;
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
        Pending p{text_.size(), line.text.size(), 0, 0, *found};
        text_.append(line.text);
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
        bool output_written = false;
        Status s = log_.write([&](store::WriteTxn& txn) -> Status {
            EVT_ASSIGN(MDB_dbi dbi, txn.dbi(store_db(o_.store), true, MDB_INTEGERKEY));
            EVT_TRY(check_and_record(txn, dbi, refs, now, o_.window, seen_keyed));
            for (std::size_t j = 0; j < keyed.size(); ++j) emit[keyed[j]] = seen_keyed[j] == o_.only_dups;
            if (appender_) {
                batch_->clear();
                for (std::size_t i = 0; i < lines_.size(); ++i) {
                    if (!emit[i]) continue;
                    auto e = codec_.prepare(at(lines_[i].off, lines_[i].len));
                    if (!e.ok()) return make_error(ErrorKind::invalid, "--to-topic needs CloudEvents: {}", e.error().message);
                    EVT_TRY(batch_->add(*e));
                }
                return appender_->write(txn, *batch_, now);
            }
            if (!output_written) {  // once, even if the transaction is retried
                for (std::size_t i = 0; i < lines_.size(); ++i) {
                    if (!emit[i]) continue;
                    out_.write(at(lines_[i].off, lines_[i].len));
                    out_.write("\n");
                }
                EVT_TRY(out_.flush());
                output_written = true;
            }
            return {};
        });
        if (!s.ok()) return s;
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
    Stats st_;
    MissingPolicy missing_;
    KeyExtractor keys_;
    std::vector<Pending> lines_;
    std::string text_;
    std::unique_ptr<log::Appender> appender_;
    std::unique_ptr<log::Batch> batch_;
    event::Codec codec_{event::FillOptions{}};
};

}  // namespace

Result<Stats> run(const Options& o, cli::LineReader& in, cli::Output& out, log::Log* log,
                  const std::function<void(const std::string&)>& warn) {
    if (o.store.empty()) {
        if (!o.to_topic.empty()) return Error{ErrorKind::usage, "--to-topic needs --store"};
        return run_memory(o, in, out, warn);
    }
    if (!log) return Error{ErrorKind::internal, "the store mode needs a log"};
    StoreRun r(o, out, *log, warn);
    return r.run(in);
}

}  // namespace evt::dedup
