#include "core/saga/orchestrator.hpp"

#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <queue>
#include <set>
#include <unordered_map>

#include <simdjson.h>

#include "core/group/group_store.hpp"
#include "core/log/appender.hpp"
#include "core/log/reader.hpp"

namespace evt::saga {

namespace {

struct Input {
    std::string topic;
    std::uint32_t partition;
    std::uint64_t offset;
    std::string type;
    std::string json;
};

struct Output {
    std::unique_ptr<log::Appender> appender;
    std::unique_ptr<log::Batch> batch;
};

nlohmann::json parse(std::string_view text) {
    return nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
}

Micros at_of(const nlohmann::json& data, Micros fallback) {
    auto it = data.find("at");
    return it != data.end() && it->is_number_integer() ? it->get<Micros>() : fallback;
}

// Folds the state topic into instances.
Status fold(log::Log& lg, const Definition& d, const Machine& m, std::unordered_map<std::string, Instance>& out) {
    log::ReadOptions ro;
    Status s = log::read_topic(lg, d.state_topic, ro, [&](const log::RecordView& rec) -> Result<bool> {
        auto ev = parse(rec.json);
        if (!ev.is_object() || !ev.contains("subject") || !ev["subject"].is_string())
            return make_error(ErrorKind::corrupt, "topic '{}' offset {}: a state event without a subject", d.state_topic,
                              rec.offset);
        std::string id = ev["subject"].get<std::string>();
        auto [it, fresh] = out.try_emplace(id);
        if (fresh) it->second.id = id;
        const nlohmann::json& data = ev.contains("data") ? ev["data"] : nlohmann::json::object();
        EVT_TRY(m.apply(it->second, rec.type, data, at_of(data, rec.time)));
        return true;
    });
    if (!s.ok() && s.error().kind == ErrorKind::not_found) return {};  // no state topic yet
    return s;
}

class Run {
public:
    Run(log::Log& lg, const Definition& d, const RunOptions& o, RunStats& st) : lg_(lg), d_(d), o_(o), st_(st), m_(d) {
        group_ = o.group.empty() ? "saga." + d.name.value : o.group;
    }

    Status go() {
        EVT_TRY(group::check_group_name(group_));
        log::TopicOptions topt;
        for (const auto& t : d_.input_topics()) {
            EVT_ASSIGN(log::TopicConfig c, lg_.ensure_topic(t, topt));
            inputs_.push_back(c);
        }
        std::vector<std::string> outs = d_.output_topics();
        outs.push_back(d_.state_topic);
        for (const auto& t : outs) {
            EVT_ASSIGN(log::TopicConfig c, lg_.ensure_topic(t, topt));
            Output out;
            out.appender = std::make_unique<log::Appender>(lg_, c, log::AppendOptions{});
            out.batch = std::make_unique<log::Batch>(log::AppendOptions{});
            outputs_.emplace(t, std::move(out));
        }
        EVT_TRY(join());
        Status s = loop();
        Status l = leave();
        if (!s.ok()) return s;
        return l;
    }

private:
    Status join() {
        Micros now = o_.clock();
        me_.id = fmt::format("saga-{}-{}", group::this_host(), ::getpid());
        me_.pid = ::getpid();
        me_.host = group::this_host();
        me_.joined = me_.heartbeat = now_micros();
        EVT_TRY(lg_.write([&](store::WriteTxn& txn) -> Status {
            EVT_ASSIGN(auto gs, group::GroupStore::open(txn, true));
            EVT_ASSIGN(auto state, gs.state(txn, group_));
            if (!state) {
                group::GroupState s;
                s.name = group_;
                s.topic = d_.start_topic.value;
                s.created = now_micros();
                EVT_TRY(gs.put_state(txn, s));
            } else if (state->mode != group::Mode::log) {
                return make_error(ErrorKind::usage, "group '{}' is a queue-mode group, not a saga's", group_);
            }
            EVT_ASSIGN(auto members, gs.members(txn, group_));
            for (const auto& mb : members) {
                bool mine = mb.pid == me_.pid && mb.host == me_.host;  // an earlier run of this process
                if (!mine && mb.alive(now_micros()))
                    return make_error(ErrorKind::busy, "saga '{}' is already run by pid {} on {} (group '{}')",
                                      d_.name.value, mb.pid, mb.host, group_);
                EVT_TRY(gs.del_member(txn, group_, mb.id));
            }
            EVT_TRY(gs.put_member(txn, group_, me_));
            for (const auto& c : inputs_)
                for (std::uint32_t p = 0; p < c.partitions; ++p) {
                    EVT_ASSIGN(auto off, gs.offset(txn, group_, c.name, p));
                    pos_[{c.name, p}] = off ? *off : 0;
                }
            return {};
        }));
        last_beat_ = now_micros();
        EVT_TRY(fold(lg_, d_, m_, instances_));
        for (auto& [id, in] : instances_) {
            if (finished(in.phase)) continue;
            ++st_.running;
            if (in.due) timers_.push({in.due, id});
        }
        (void)now;
        return {};
    }

    Status leave() {
        return lg_.write([&](store::WriteTxn& txn) -> Status {
            EVT_ASSIGN(auto gs, group::GroupStore::open(txn, true));
            return gs.del_member(txn, group_, me_.id);
        });
    }

    // Reads up to batch events past the current positions: the reply topics
    // first, so that sagas in flight move on before new ones start.
    Status read(std::vector<Input>& in) {
        std::size_t budget = o_.batch;
        for (auto it = inputs_.rbegin(); it != inputs_.rend(); ++it) {
            const auto& c = *it;
            for (std::uint32_t p = 0; p < c.partitions && budget > 0; ++p) {
                std::uint64_t& next = pos_[{c.name, p}];
                log::ReadOptions ro;
                ro.partitions = {p};
                ro.from.kind = log::OffsetSpec::Kind::offset;
                ro.from.n = next;
                ro.limit = budget;
                std::size_t got = 0;
                EVT_TRY(log::read_topic(lg_, c.name, ro, [&](const log::RecordView& rec) -> Result<bool> {
                    in.push_back({c.name, p, rec.offset, std::string(rec.type), std::string(rec.json)});
                    ++got;
                    return true;
                }));
                budget -= std::min(budget, got);
            }
        }
        return {};
    }

    void take(const Input& e, Micros now) {
        ++st_.read;
        pos_[{e.topic, e.partition}] = e.offset + 1;
        dirty_.insert({e.topic, e.partition});
        // simdjson finds the few attributes needed; only `data` becomes a JSON value, and only when used
        simdjson::dom::element doc;
        if (parser_.parse(e.json).get(doc) || !doc.is_object()) {
            ++st_.ignored;
            warn(fmt::format("topic '{}' partition {} offset {}: not a JSON object; skipped", e.topic, e.partition, e.offset));
            return;
        }
        auto text = [&](simdjson::dom::element el, std::string& out) {
            std::string_view v;
            if (!el.get_string().get(v)) {
                out.assign(v);
                return true;
            }
            std::int64_t i = 0;
            std::uint64_t u = 0;
            if (!el.get_int64().get(i)) out = std::to_string(i);
            else if (!el.get_uint64().get(u)) out = std::to_string(u);
            else return false;
            return true;
        };
        auto data = [&](nlohmann::json absent) {
            simdjson::dom::element de;
            if (doc["data"].get(de)) return absent;
            return nlohmann::json::parse(simdjson::minify(de), nullptr, false);
        };
        if (e.topic == d_.start_topic.value && e.type == d_.start_type.value) {
            std::string id;
            simdjson::dom::element c;
            if (doc.at_pointer(d_.correlate_pointer).get(c) || !text(c, id) || id.empty()) {
                ++st_.ignored;
                warn(fmt::format("topic '{}' partition {} offset {}: {} has no '{}'; skipped", e.topic, e.partition,
                                 e.offset, e.type, d_.correlate_by));
                return;
            }
            if (instances_.count(id)) {  // a duplicate start
                ++st_.ignored;
                return;
            }
            nlohmann::json start = nlohmann::json::object();
            std::string_view cause;
            if (!doc["id"].get_string().get(cause)) start["id"] = std::string(cause);
            start["data"] = data(nullptr);
            Instance in = m_.start(id, start, now, out_);
            ++st_.started;
            ++st_.running;
            touched_.push_back(id);
            instances_.emplace(id, std::move(in));
            return;
        }
        std::string id;
        simdjson::dom::element c;
        for (const char* k : {"correlationid", "subject"}) {
            std::string_view v;
            if (!doc[k].get(c) && !c.get_string().get(v)) {
                id.assign(v);
                break;
            }
        }
        auto it = instances_.find(id);
        if (it == instances_.end() || finished(it->second.phase) ||
            !m_.reply(it->second, e.topic, e.type, data(nlohmann::json::object()), now, out_)) {
            ++st_.ignored;
            return;
        }
        ++st_.replies;
        touched_.push_back(id);
    }

    // Fires the timers due at `now`; returns how many fired.
    std::size_t fire(Micros now) {
        std::size_t n = 0;
        while (!timers_.empty() && timers_.top().first <= now) {
            auto [due, id] = timers_.top();
            timers_.pop();
            auto it = instances_.find(id);
            if (it == instances_.end() || it->second.due != due) continue;  // stale
            if (m_.tick(it->second, now, out_)) {
                ++n;
                touched_.push_back(id);
            }
        }
        return n;
    }

    Status write() {
        for (auto& e : out_) {
            if (e.flow == Emitted::Flow::command) ++st_.commands;
            if (e.flow == Emitted::Flow::compensation) ++st_.compensations;
            event::Prepared p;
            p.json = e.json;
            p.id = e.id;
            p.type = e.type;
            p.subject = e.subject;
            p.key = e.subject;
            p.has_subject = p.has_key = true;
            EVT_TRY(outputs_.at(e.topic).batch->add(p));
        }
        bool beat = now_micros() - last_beat_ > 1'000'000;
        if (beat) me_.heartbeat = now_micros();
        EVT_TRY(lg_.write([&](store::WriteTxn& txn) -> Status {
            for (auto& [t, o] : outputs_) EVT_TRY(o.appender->write(txn, *o.batch, now_micros()));
            EVT_ASSIGN(auto gs, group::GroupStore::open(txn, true));
            for (const auto& k : dirty_) EVT_TRY(gs.put_offset(txn, group_, k.first, k.second, pos_[k], now_micros()));
            if (beat) EVT_TRY(gs.put_member(txn, group_, me_));
            if (o_.before_commit) o_.before_commit();
            return {};
        }));
        for (auto& [t, o] : outputs_) o.appender->committed(*o.batch);
        if (beat) last_beat_ = me_.heartbeat;
        ++st_.rounds;
        out_.clear();
        dirty_.clear();
        std::sort(touched_.begin(), touched_.end());
        touched_.erase(std::unique(touched_.begin(), touched_.end()), touched_.end());
        for (const auto& id : touched_) {
            auto it = instances_.find(id);
            if (it == instances_.end()) continue;
            Instance& in = it->second;
            if (finished(in.phase)) {  // a finished instance is never touched again
                --st_.running;
                if (in.phase == Phase::completed) ++st_.completed;
                if (in.phase == Phase::compensated) ++st_.compensated;
                if (in.phase == Phase::stuck) ++st_.stuck;
                in.data = nullptr;  // keep only what spotting duplicates needs
                in.replies = nlohmann::json::object();
                in.done.clear();
            } else if (in.due) {
                timers_.push({in.due, id});
            }
        }
        touched_.clear();
        return {};
    }

    Status loop() {
        std::unique_ptr<log::LogWatcher> watcher;
        bool waiting = o_.follow || o_.until_done;
        if (waiting) watcher = std::make_unique<log::LogWatcher>(lg_.path());
        std::vector<Input> in;
        for (;;) {
            if (o_.stop && o_.stop()) return {};
            in.clear();
            EVT_TRY(read(in));
            Micros now = o_.clock();
            for (const auto& e : in) take(e, now);
            std::size_t fired = fire(now);
            if (!out_.empty() || !dirty_.empty()) EVT_TRY(write());
            if (!in.empty() || fired) continue;
            if (!waiting) return {};
            if (o_.until_done && st_.running == 0) return {};
            int wait_ms = 1000;
            if (!timers_.empty()) {
                Micros left = timers_.top().first - o_.clock();
                wait_ms = static_cast<int>(std::clamp<Micros>(left / 1000 + 1, 1, 1000));
            }
            if (now_micros() - last_beat_ > 1'000'000) EVT_TRY(write());  // heartbeat while idle
            watcher->wait(wait_ms);
        }
    }

    void warn(const std::string& m) {
        if (o_.warn) o_.warn(m);
    }

    log::Log& lg_;
    const Definition& d_;
    const RunOptions& o_;
    RunStats& st_;
    Machine m_;
    std::string group_;
    group::Member me_;
    Micros last_beat_ = 0;
    std::vector<log::TopicConfig> inputs_;
    std::map<std::string, Output> outputs_;
    std::map<std::pair<std::string, std::uint32_t>, std::uint64_t> pos_;
    std::set<std::pair<std::string, std::uint32_t>> dirty_;
    std::unordered_map<std::string, Instance> instances_;
    std::priority_queue<std::pair<Micros, std::string>, std::vector<std::pair<Micros, std::string>>, std::greater<>>
        timers_;
    std::vector<Emitted> out_;
    simdjson::dom::parser parser_;
    std::vector<std::string> touched_;
};

}  // namespace

Status run_saga(log::Log& lg, const Definition& d, const RunOptions& o, RunStats& stats) {
    Run r(lg, d, o, stats);
    return r.go();
}

Result<std::vector<Instance>> load_instances(log::Log& lg, const Definition& d) {
    Machine m(d);
    std::unordered_map<std::string, Instance> map;
    EVT_TRY(fold(lg, d, m, map));
    std::vector<Instance> v;
    v.reserve(map.size());
    for (auto& [id, in] : map) v.push_back(std::move(in));
    std::sort(v.begin(), v.end(), [](const Instance& a, const Instance& b) { return a.id < b.id; });
    return v;
}

Result<std::vector<HistoryEntry>> instance_history(log::Log& lg, const Definition& d, const std::string& id) {
    std::vector<HistoryEntry> h;
    log::ReadOptions ro;
    Status s = log::read_stream(lg, d.state_topic, id, ro, [&](const log::RecordView& rec, std::uint64_t v) -> Result<bool> {
        auto ev = parse(rec.json);
        nlohmann::json data = ev.is_object() && ev.contains("data") ? ev["data"] : nlohmann::json::object();
        h.push_back({v, at_of(data, rec.time), std::string(rec.type), data});
        return true;
    });
    if (!s.ok() && s.error().kind != ErrorKind::not_found) return s.error();
    if (h.empty()) return make_error(ErrorKind::not_found, "saga '{}' has no instance '{}'", d.name.value, id);
    return h;
}

}  // namespace evt::saga
