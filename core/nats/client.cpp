// The NATS backend's settings, connection, errors, names, topic registry and
// message decoding.
#include "core/nats/client.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

#include <nlohmann/json.hpp>

#include "core/util/units.hpp"

namespace evt::nats {

// ---- settings -------------------------------------------------------------

Result<Settings> parse_settings(const std::string& location, const backend::OpenOptions& o) {
    Settings s;
    s.location = location;
    std::string_view rest = std::string_view(location).substr(7);
    while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    if (rest.empty() || rest.find_first_of("/?@ ") != std::string_view::npos)
        return make_error(ErrorKind::usage, "'{}': a NATS log is nats://host:port[,host:port...]", location);
    while (!rest.empty()) {
        auto comma = rest.find(',');
        std::string_view hp = rest.substr(0, comma);
        if (hp.empty() || hp.find(':') == std::string_view::npos)
            return make_error(ErrorKind::usage, "'{}': '{}' is not host:port", location, hp);
        s.servers.push_back(fmt::format("nats://{}", hp));
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
    }
    if (!o.config_file.empty())
        return make_error(ErrorKind::usage, "--kafka-config is for kafka:// logs; give NATS settings with -X name=value");
    for (const auto& [name, value] : o.settings) {
        if (name == "evt.timeout") {
            auto d = parse_duration(value);
            if (!d.ok() || *d <= 0) return make_error(ErrorKind::usage, "evt.timeout: expected a duration such as 10s");
            s.timeout = *d;
        } else if (name == "evt.replicas") {
            int r = 0;
            auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), r);
            if (ec != std::errc() || p != value.data() + value.size() || r < 1 || r > 5)
                return make_error(ErrorKind::usage, "evt.replicas: expected 1 to 5");
            s.replicas = r;
        } else if (name == "user") {
            s.user = value;
        } else if (name == "password") {
            s.password = value;
        } else if (name == "token") {
            s.token = value;
        } else if (name == "creds") {
            s.creds = value;
        } else {
            return make_error(ErrorKind::usage,
                              "unknown NATS setting '{}' (evt.timeout, evt.replicas, user, password, token, creds)",
                              name);
        }
    }
    return s;
}

// ---- errors ---------------------------------------------------------------

Error nats_error(const Settings& s, natsStatus st, std::string_view what, jsErrCode code, std::string_view detail) {
    std::string text = detail.empty() ? std::string(natsStatus_GetText(st)) : std::string(detail);
    int c = static_cast<int>(code);
    if (c == JSStreamNotFoundErr)
        return make_error(ErrorKind::not_found, "{}: {}: no such stream ({})", s.location, what, text);
    if (c == JSClusterNotAvailErr || c == JSClusterNoPeersErr || c == JSInsufficientResourcesErr)
        return make_error(ErrorKind::unavailable, "{}: {}: the cluster cannot serve it ({}, JetStream error {})",
                          s.location, what, text, c);
    if (st == NATS_NO_SERVER || st == NATS_CONNECTION_CLOSED || st == NATS_NO_RESPONDERS ||
        st == NATS_CONNECTION_DISCONNECTED || st == NATS_STALE_CONNECTION)
        return make_error(ErrorKind::unavailable, "{}: {}: {}", s.location, what,
                          st == NATS_NO_RESPONDERS ? std::string("no JetStream server answered (is JetStream enabled, "
                                                                 "and does the stream have a leader?)")
                                                   : text);
    // Connected, and JetStream did not answer: the stream (or the cluster's
    // metadata) has no leader, which is a lost quorum of its servers.
    if (st == NATS_TIMEOUT)
        return make_error(ErrorKind::unavailable,
                          "{}: {}: no answer within {}: no leader (has the cluster lost its quorum, a majority of "
                          "the stream's servers down?)",
                          s.location, what, format_duration(s.timeout));
    if (st == NATS_NOT_FOUND) return make_error(ErrorKind::not_found, "{}: {}: not found", s.location, what);
    if (c) return make_error(ErrorKind::unavailable, "{}: {}: {} (JetStream error {})", s.location, what, text, c);
    return make_error(ErrorKind::unavailable, "{}: {}: {}", s.location, what, text);
}

// ---- connection -------------------------------------------------------------

Client::~Client() {
    if (js_) jsCtx_Destroy(js_);
    if (nc_) {
        natsConnection_Close(nc_);
        natsConnection_Destroy(nc_);
    }
}

Result<Client> Client::connect(const Settings& s, const AsyncAcks* acks) {
    natsOptions* opts = nullptr;
    if (natsOptions_Create(&opts) != NATS_OK) return Error{ErrorKind::internal, "cannot create NATS options"};
    std::unique_ptr<natsOptions, void (*)(natsOptions*)> hold(opts, natsOptions_Destroy);
    std::vector<const char*> servers;
    for (const auto& u : s.servers) servers.push_back(u.c_str());
    natsStatus st = natsOptions_SetServers(opts, servers.data(), static_cast<int>(servers.size()));
    // Connecting: each server in turn for at most the timeout in all; once
    // connected, a lost server is replaced by another (failover) for as long
    // as the timeout allows.
    if (st == NATS_OK) st = natsOptions_SetTimeout(opts, std::max<std::int64_t>(s.timeout_ms() / 4, 500));
    if (st == NATS_OK) st = natsOptions_SetAllowReconnect(opts, true);
    if (st == NATS_OK) st = natsOptions_SetMaxReconnect(opts, std::max(10, s.timeout_ms() / 100));
    if (st == NATS_OK) st = natsOptions_SetReconnectWait(opts, 100);
    if (st == NATS_OK) st = natsOptions_SetReconnectJitter(opts, 50, 50);
    if (st == NATS_OK) st = natsOptions_SetReconnectBufSize(opts, 64 << 20);
    if (st == NATS_OK) st = natsOptions_SetPingInterval(opts, 2000);
    if (st == NATS_OK) st = natsOptions_SetMaxPingsOut(opts, 2);
    if (st == NATS_OK) st = natsOptions_SetMaxPendingMsgs(opts, 1 << 20);
    if (st == NATS_OK) st = natsOptions_SetName(opts, "evt");
    if (st == NATS_OK && !s.user.empty()) st = natsOptions_SetUserInfo(opts, s.user.c_str(), s.password.c_str());
    if (st == NATS_OK && !s.token.empty()) st = natsOptions_SetToken(opts, s.token.c_str());
    if (st == NATS_OK && !s.creds.empty()) st = natsOptions_SetUserCredentialsFromFiles(opts, s.creds.c_str(), nullptr);
    if (st != NATS_OK) return make_error(ErrorKind::usage, "NATS settings: {}", natsStatus_GetText(st));
    Client c;
    st = natsConnection_Connect(&c.nc_, opts);
    if (st != NATS_OK) {
        c.nc_ = nullptr;
        return make_error(ErrorKind::unavailable, "{}: cannot connect: {}", s.location,
                          st == NATS_NO_SERVER ? std::string("no server answered") : natsStatus_GetText(st));
    }
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = s.timeout_ms();
    if (acks) {
        jo.PublishAsync.AckHandler = acks->handler;
        jo.PublishAsync.AckHandlerClosure = acks->closure;
        jo.PublishAsync.MaxPending = acks->max_pending;
        jo.PublishAsync.StallWait = s.timeout_ms();
    }
    st = natsConnection_JetStream(&c.js_, c.nc_, &jo);
    if (st != NATS_OK) return nats_error(s, st, "opening JetStream");
    return c;
}

// ---- names ------------------------------------------------------------------

namespace {
std::string dotless(std::string_view name, char with) {
    std::string out(name);
    std::replace(out.begin(), out.end(), '.', with);
    return out;
}
}  // namespace

std::string stream_name(std::string_view topic, std::uint32_t partition) {
    return fmt::format("EVT_{}_{}", dotless(topic, '~'), partition);
}
std::string partition_subject(std::string_view topic, std::uint32_t partition) {
    return fmt::format("evt.{}.{}", dotless(topic, '~'), partition);
}
std::string subject_token(std::string_view subject) {
    if (subject.empty()) return "_";
    std::string out;
    out.reserve(subject.size());
    static const char* hex = "0123456789ABCDEF";
    for (unsigned char c : subject) {
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
        if (plain) {
            out += static_cast<char>(c);
        } else {
            out += '_';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}
std::string subject_of_token(std::string_view token) {
    std::string out;
    if (token == "_") return out;
    out.reserve(token.size());
    auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'A' + 10; };
    for (std::size_t i = 0; i < token.size(); ++i) {
        if (token[i] == '_' && i + 2 < token.size()) {
            out += static_cast<char>(nibble(token[i + 1]) << 4 | nibble(token[i + 2]));
            i += 2;
        } else {
            out += token[i];
        }
    }
    return out;
}
std::string event_subject(std::string_view topic, std::uint32_t partition, std::string_view subject) {
    std::string out = partition_subject(topic, partition);
    out += '.';
    out += subject_token(subject);
    return out;
}
std::string kv_key(std::string_view name) { return dotless(name, '='); }

// ---- the topic registry -------------------------------------------------------

namespace {
constexpr const char* kTopics = "evt-topics";

std::string to_json(const TopicRecord& t) {
    nlohmann::json j = {{"partitions", t.config.partitions}, {"created", t.config.created},
                        {"retention", t.config.retention},   {"retention_bytes", t.config.retention_bytes},
                        {"compact", t.config.compact},       {"replicas", t.replicas}};
    return j.dump();
}

Result<TopicRecord> from_json(std::string_view name, std::string_view text) {
    auto j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("partitions"))
        return make_error(ErrorKind::invalid, "the NATS topic record of '{}' is not evt's (bucket {})", name, kTopics);
    TopicRecord t;
    t.config.name = std::string(name);
    t.config.partitions = j.value("partitions", 1u);
    t.config.created = j.value("created", Micros{0});
    t.config.retention = j.value("retention", Micros{0});
    t.config.retention_bytes = j.value("retention_bytes", std::uint64_t{0});
    t.config.compact = j.value("compact", false);
    t.replicas = j.value("replicas", 1);
    return t;
}
}  // namespace

Registry::~Registry() {
    if (kv_) kvStore_Destroy(kv_);
}

Status Registry::bind(bool create) {
    if (kv_) return {};
    natsStatus st = js_KeyValue(&kv_, c_.js(), kTopics);
    if (st == NATS_OK) return {};
    kv_ = nullptr;
    if (st != NATS_NOT_FOUND) return nats_error(s_, st, "opening the topic registry");
    if (!create) return make_error(ErrorKind::not_found, "{}: no evt topics here yet", s_.location);
    EVT_ASSIGN(int r, replicas_for(0));
    kvConfig kc;
    kvConfig_Init(&kc);
    kc.Bucket = kTopics;
    kc.Description = "evt topics: one key per topic, its configuration as JSON";
    kc.History = 1;
    kc.Replicas = r;
    kc.StorageType = js_FileStorage;
    st = js_CreateKeyValue(&kv_, c_.js(), &kc);
    if (st != NATS_OK) {
        kv_ = nullptr;
        return nats_error(s_, st, "creating the topic registry");
    }
    return {};
}

Result<int> Registry::replicas_for(int asked) {
    int r = asked ? asked : s_.replicas;
    if (r) return r;
    // The servers this connection knows: the cluster's, as its INFO announces them.
    char** urls = nullptr;
    int n = 0;
    if (natsConnection_GetServers(c_.nc(), &urls, &n) != NATS_OK) n = 1;
    for (int i = 0; i < n; ++i) free(urls[i]);
    free(urls);
    return std::clamp(n, 1, 3);
}

Result<TopicRecord> Registry::find(std::string_view topic) {
    EVT_TRY(log::check_topic_name(topic));
    if (Status b = bind(false); !b.ok()) {
        if (b.error().kind == ErrorKind::not_found)
            return make_error(ErrorKind::not_found, "no such topic '{}' on {}", topic, s_.location);
        return b.error();
    }
    kvEntry* e = nullptr;
    natsStatus st = kvStore_Get(&e, kv_, kv_key(topic).c_str());
    if (st == NATS_NOT_FOUND) return make_error(ErrorKind::not_found, "no such topic '{}' on {}", topic, s_.location);
    if (st != NATS_OK) return nats_error(s_, st, fmt::format("looking up topic '{}'", topic));
    std::string v(static_cast<const char*>(kvEntry_Value(e)), static_cast<std::size_t>(kvEntry_ValueLen(e)));
    kvEntry_Destroy(e);
    return from_json(topic, v);
}

Result<std::vector<TopicRecord>> Registry::list() {
    std::vector<TopicRecord> out;
    if (Status b = bind(false); !b.ok()) {
        if (b.error().kind == ErrorKind::not_found) return out;
        return b.error();
    }
    kvKeysList keys{nullptr, 0};
    natsStatus st = kvStore_Keys(&keys, kv_, nullptr);
    if (st == NATS_NOT_FOUND) return out;
    if (st != NATS_OK) return nats_error(s_, st, "listing topics");
    std::vector<std::string> names;
    for (int i = 0; i < keys.Count; ++i) {
        names.emplace_back(keys.Keys[i]);
        std::replace(names.back().begin(), names.back().end(), '=', '.');  // kv_key() undone
    }
    kvKeysList_Destroy(&keys);
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
        auto t = find(n);
        if (t.ok()) out.push_back(std::move(*t));
        else if (t.error().kind != ErrorKind::not_found) return t.error();
    }
    return out;
}

Status Registry::add_stream(const TopicRecord& t, std::uint32_t p) {
    std::string name = stream_name(t.config.name, p);
    std::string subj = partition_subject(t.config.name, p) + ".>";
    std::string desc = fmt::format("evt topic {} partition {}", t.config.name, p);
    const char* subjects[] = {subj.c_str()};
    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    sc.Name = name.c_str();
    sc.Description = desc.c_str();
    sc.Subjects = subjects;
    sc.SubjectsLen = 1;
    sc.Storage = js_FileStorage;
    sc.Retention = js_LimitsPolicy;
    sc.Replicas = t.replicas;
    sc.Duplicates = 2LL * 60 * 1000 * 1000 * 1000;  // the server's default; evt-append --idempotent sets its own
    if (t.config.retention) sc.MaxAge = t.config.retention * 1000;
    if (t.config.retention_bytes) sc.MaxBytes = static_cast<std::int64_t>(t.config.retention_bytes);
    if (t.config.compact) sc.MaxMsgsPerSubject = 1;
    sc.AllowDirect = true;
    jsErrCode code = static_cast<jsErrCode>(0);
    jsStreamInfo* si = nullptr;
    natsStatus st = js_AddStream(&si, c_.js(), &sc, nullptr, &code);
    if (si) jsStreamInfo_Destroy(si);
    if (st == NATS_OK) return {};
    std::string text = nats_GetLastError(nullptr) ? nats_GetLastError(nullptr) : "";
    return nats_error(s_, st, fmt::format("creating stream {} (replicas {})", name, t.replicas), code, text);
}

Result<TopicRecord> Registry::create(std::string_view topic, const log::TopicOptions& o) {
    EVT_TRY(log::check_topic_name(topic));
    if (o.partitions < 1 || o.partitions > 1024)
        return make_error(ErrorKind::usage, "--partitions must be 1 to 1024 on NATS (a stream each)");
    EVT_TRY(bind(true));
    TopicRecord t;
    t.config.name = std::string(topic);
    t.config.partitions = o.partitions;
    t.config.created = now_micros();
    t.config.retention = o.retention;
    t.config.retention_bytes = o.retention_bytes;
    t.config.compact = o.compact;
    EVT_ASSIGN(t.replicas, replicas_for(static_cast<int>(o.replicas)));
    {
        kvEntry* e = nullptr;
        if (kvStore_Get(&e, kv_, kv_key(topic).c_str()) == NATS_OK) {
            kvEntry_Destroy(e);
            return make_error(ErrorKind::usage, "topic '{}' already exists on {}", topic, s_.location);
        }
    }
    for (std::uint32_t p = 0; p < o.partitions; ++p) EVT_TRY(add_stream(t, p));
    std::string v = to_json(t);
    std::uint64_t rev = 0;
    natsStatus st = kvStore_Create(&rev, kv_, kv_key(topic).c_str(), v.data(), static_cast<int>(v.size()));
    if (st != NATS_OK) {
        // Another process created it meanwhile (the streams are the same ones): take its record.
        auto there = find(topic);
        if (there.ok()) return make_error(ErrorKind::usage, "topic '{}' already exists on {}", topic, s_.location);
        return nats_error(s_, st, fmt::format("registering topic '{}'", topic));
    }
    return t;
}

Result<TopicRecord> Registry::add_partitions(std::string_view topic, std::uint32_t partitions) {
    EVT_ASSIGN(TopicRecord t, find(topic));
    if (partitions < t.config.partitions)
        return make_error(ErrorKind::usage, "topic '{}' has {} partitions: partitions can be added, not removed", topic,
                          t.config.partitions);
    if (partitions > 1024) return make_error(ErrorKind::usage, "--partitions must be at most 1024 on NATS");
    if (partitions == t.config.partitions) return t;
    for (std::uint32_t p = t.config.partitions; p < partitions; ++p) EVT_TRY(add_stream(t, p));
    t.config.partitions = partitions;
    std::string v = to_json(t);
    std::uint64_t rev = 0;
    natsStatus st = kvStore_Put(&rev, kv_, kv_key(topic).c_str(), v.data(), static_cast<int>(v.size()));
    if (st != NATS_OK) return nats_error(s_, st, fmt::format("updating topic '{}'", topic));
    return t;
}

Status Registry::remove(std::string_view topic) {
    EVT_ASSIGN(TopicRecord t, find(topic));
    // The record first: a topic half deleted is gone for evt, and its
    // remaining streams are removed by the next create of the same name.
    natsStatus st = kvStore_Purge(kv_, kv_key(topic).c_str(), nullptr);
    if (st != NATS_OK) return nats_error(s_, st, fmt::format("deleting topic '{}'", topic));
    for (std::uint32_t p = 0; p < t.config.partitions; ++p) {
        jsErrCode code = static_cast<jsErrCode>(0);
        std::string name = stream_name(topic, p);
        natsStatus d = js_DeleteStream(c_.js(), name.c_str(), nullptr, &code);
        if (d != NATS_OK && static_cast<int>(code) != JSStreamNotFoundErr)
            return nats_error(s_, d, fmt::format("deleting stream {}", name), code);
    }
    return {};
}

// ---- messages -------------------------------------------------------------

bool parse_meta(std::string_view reply, MsgMeta& m) {
    // v1: $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ns>.<pending> (9 tokens);
    // v2: $JS.ACK.<domain>.<account>.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ns>.<pending>[.<random>].
    if (reply.rfind("$JS.ACK.", 0) != 0) return false;
    std::string_view tok[14];
    int n = 0;
    std::size_t at = 0;
    while (n < 14) {
        std::size_t dot = reply.find('.', at);
        tok[n++] = reply.substr(at, dot == std::string_view::npos ? std::string_view::npos : dot - at);
        if (dot == std::string_view::npos) break;
        at = dot + 1;
    }
    int base;
    if (n == 9) base = 4;
    else if (n >= 11) base = 6;
    else return false;
    auto num = [](std::string_view t, auto& out) {
        auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
        return ec == std::errc() && p == t.data() + t.size();
    };
    return num(tok[base], m.delivered) && num(tok[base + 1], m.stream_seq) && num(tok[base + 2], m.consumer_seq) &&
           num(tok[base + 3], m.ns) && num(tok[base + 4], m.pending);
}

bool Decoder::decode(natsMsg* m, std::uint32_t partition, log::RecordView& rec, bool want_headers) {
    const char* reply = natsMsg_GetReply(m);
    MsgMeta meta;
    if (!reply || !parse_meta(reply, meta)) return false;
    return decode(m, meta, partition, rec, want_headers);
}

bool Decoder::decode(natsMsg* m, const MsgMeta& meta, std::uint32_t partition, log::RecordView& rec,
                     bool want_headers) {
    rec = log::RecordView{};
    rec.partition = partition;
    rec.offset = meta.stream_seq - 1;
    rec.time = meta.ns / 1000;
    rec.json = std::string_view(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m)));
    const char* key = nullptr;
    if (natsMsgHeader_Get(m, "Evt-Key", &key) == NATS_OK && key) {
        rec.has_key = true;
        rec.key = key;
    } else if (const char* subj = natsMsg_GetSubject(m)) {
        // No header: the key is the event's subject, which the last token carries.
        std::string_view sv(subj);
        std::string_view token = sv.substr(sv.rfind('.') + 1);
        if (token != "_") {
            rec.has_key = true;
            if (token.find('_') == std::string_view::npos) {
                rec.key = token;
            } else {
                key_ = subject_of_token(token);
                rec.key = key_;
            }
        }
    }
    if (want_headers) {
        headers_.clear();
        const char** keys = nullptr;
        int n = 0;
        if (natsMsgHeader_Keys(m, &keys, &n) == NATS_OK) {
            for (int i = 0; i < n; ++i) {
                const char* v = nullptr;
                natsMsgHeader_Get(m, keys[i], &v);
                if (!headers_.empty()) headers_ += ',';
                headers_ += keys[i];
                headers_ += '=';
                if (v) headers_ += v;
            }
            free(keys);
        }
        rec.headers = headers_;
    }
    return true;
}

}  // namespace evt::nats
