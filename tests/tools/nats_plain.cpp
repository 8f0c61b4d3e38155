// nats_plain: a hand-written JetStream publisher and fetcher on libnats, the
// floor bench/nats.sh measures evt against. No evt code: what a user who
// writes the loop themselves would write, with the same layout as evt (one
// stream per partition, the same replicas, the same lines as payloads).
//
//   nats_plain create URL NAME P R     streams PLAIN_NAME_<p>, subjects plain.NAME.<p>.>, R replicas
//   nats_plain pub URL NAME P [W] < lines
//                                      each line to partition (line number mod P), subject
//                                      plain.NAME.<p>._ (one per stream), async,
//                                      at most W (4096) unacknowledged; waits for every ack
//   nats_plain pub-keyed URL NAME P [W] < key<TAB>line
//                                      as pub, but each line to partition fnv1a(key) mod P
//                                      and subject plain.NAME.<p>.<key> (key: one subject
//                                      token): one subject per entity, as evt writes
//   nats_plain fetch URL NAME P > lines
//                                      every message of every partition, partition by
//                                      partition (ordered consumers, all subscribed at once)
//   nats_plain count URL NAME P        messages stored per partition, and the total
//
// Exit 0 when every publish was acknowledged (pub) or every stored message
// was read (fetch); 1 otherwise, with the reason on stderr.
#include <nats/nats.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

[[noreturn]] void die(const char* what, natsStatus st) {
    std::fprintf(stderr, "nats_plain: %s: %s (%s)\n", what, natsStatus_GetText(st),
                 nats_GetLastError(nullptr) ? nats_GetLastError(nullptr) : "");
    std::exit(1);
}

void check(natsStatus st, const char* what) {
    if (st != NATS_OK) die(what, st);
}

std::string stream_of(const std::string& name, int p) { return "PLAIN_" + name + "_" + std::to_string(p); }
std::string subject_of(const std::string& name, int p) { return "plain." + name + "." + std::to_string(p); }

struct Conn {
    natsConnection* nc = nullptr;
    jsCtx* js = nullptr;
    explicit Conn(const char* url, std::int64_t window = 4096) {
        natsOptions* o = nullptr;
        check(natsOptions_Create(&o), "options");
        // nats://h:p,h:p,... as evt takes it: every server, each with the scheme.
        std::string list = url;
        if (list.rfind("nats://", 0) == 0) list.erase(0, 7);
        std::vector<std::string> urls;
        for (std::size_t at = 0; at <= list.size();) {
            std::size_t comma = list.find(',', at);
            if (comma == std::string::npos) comma = list.size();
            urls.push_back("nats://" + list.substr(at, comma - at));
            at = comma + 1;
        }
        std::vector<const char*> servers;
        for (const std::string& u : urls) servers.push_back(u.c_str());
        check(natsOptions_SetServers(o, servers.data(), static_cast<int>(servers.size())), "servers");
        check(natsOptions_SetReconnectBufSize(o, 64 << 20), "reconnect buffer");
        check(natsConnection_Connect(&nc, o), "connect");
        natsOptions_Destroy(o);
        jsOptions jo;
        jsOptions_Init(&jo);
        jo.PublishAsync.MaxPending = window;
        jo.PublishAsync.ErrHandler = on_error;
        jo.Wait = 10000;
        check(natsConnection_JetStream(&js, nc, &jo), "jetstream");
    }
    ~Conn() {
        jsCtx_Destroy(js);
        natsConnection_Destroy(nc);
    }
    static inline long errors = 0;
    static void on_error(jsCtx*, jsPubAckErr* pae, void*) {
        if (errors++ == 0)
            std::fprintf(stderr, "nats_plain: publish failed: %s\n", pae->ErrText ? pae->ErrText : "?");
    }
};

std::uint64_t stored(Conn& c, const std::string& stream) {
    jsStreamInfo* si = nullptr;
    jsErrCode code;
    check(js_GetStreamInfo(&si, c.js, stream.c_str(), nullptr, &code), "stream info");
    std::uint64_t n = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    return n;
}

int create(Conn& c, const std::string& name, int parts, int replicas) {
    for (int p = 0; p < parts; ++p) {
        std::string stream = stream_of(name, p), subj = subject_of(name, p);
        std::string wild = subj + ".>";
        const char* subjects[] = {wild.c_str()};
        jsStreamConfig cfg;
        jsStreamConfig_Init(&cfg);
        cfg.Name = stream.c_str();
        cfg.Subjects = subjects;
        cfg.SubjectsLen = 1;
        cfg.Replicas = replicas;
        cfg.Storage = js_FileStorage;
        jsStreamInfo* si = nullptr;
        jsErrCode code;
        check(js_AddStream(&si, c.js, &cfg, nullptr, &code), "add stream");
        jsStreamInfo_Destroy(si);
    }
    return 0;
}

std::uint32_t fnv1a(const char* p, std::size_t n) {
    std::uint32_t h = 2166136261u;
    for (std::size_t i = 0; i < n; ++i) h = (h ^ static_cast<unsigned char>(p[i])) * 16777619u;
    return h;
}

int pub(Conn& c, const std::string& name, int parts, bool keyed) {
    std::vector<std::string> subjects;
    for (int p = 0; p < parts; ++p) subjects.push_back(subject_of(name, p));
    char* line = nullptr;
    std::size_t cap = 0;
    long n = 0;
    std::string subject;
    for (ssize_t len; (len = getline(&line, &cap, stdin)) > 0;) {
        if (line[len - 1] == '\n') --len;
        if (len == 0) continue;
        const char* data = line;
        std::size_t p = static_cast<std::size_t>(n % parts);
        if (keyed) {
            const char* tab = static_cast<const char*>(std::memchr(line, '\t', static_cast<std::size_t>(len)));
            if (!tab || tab == line) {
                std::fprintf(stderr, "nats_plain: line %ld: expected key<TAB>line\n", n + 1);
                return 1;
            }
            std::size_t klen = static_cast<std::size_t>(tab - line);
            p = fnv1a(line, klen) % static_cast<std::uint32_t>(parts);
            subject.assign(subjects[p]).append(".").append(line, klen);
            data = tab + 1;
            len -= static_cast<ssize_t>(klen + 1);
        } else {
            subject.assign(subjects[p]).append("._");
        }
        check(js_PublishAsync(c.js, subject.c_str(), data, static_cast<int>(len), nullptr), "publish");
        ++n;
    }
    std::free(line);
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 60000;
    check(js_PublishAsyncComplete(c.js, &po), "waiting for acks");
    if (Conn::errors) {
        std::fprintf(stderr, "nats_plain: %ld of %ld publishes failed\n", Conn::errors, n);
        return 1;
    }
    std::fprintf(stderr, "nats_plain: %ld acknowledged\n", n);
    return 0;
}

int fetch(Conn& c, const std::string& name, int parts) {
    std::vector<natsSubscription*> subs(static_cast<std::size_t>(parts));
    std::vector<std::uint64_t> want(static_cast<std::size_t>(parts));
    for (int p = 0; p < parts; ++p) {
        std::string stream = stream_of(name, p), subj = subject_of(name, p) + ".>";
        want[p] = stored(c, stream);
        jsSubOptions so;
        jsSubOptions_Init(&so);
        so.Stream = stream.c_str();
        so.Ordered = true;
        jsErrCode code;
        check(js_SubscribeSync(&subs[p], c.js, subj.c_str(), nullptr, &so, &code), "subscribe");
        natsSubscription_SetPendingLimits(subs[p], 1 << 20, 256 << 20);
    }
    static char out[1 << 16];
    std::setvbuf(stdout, out, _IOFBF, sizeof out);
    std::uint64_t total = 0;
    for (int p = 0; p < parts; ++p) {
        for (std::uint64_t got = 0; got < want[p];) {
            natsMsg* m = nullptr;
            natsStatus st = natsSubscription_NextMsg(&m, subs[p], 10000);
            if (st == NATS_SLOW_CONSUMER || st == NATS_MISMATCH || st == NATS_MISSED_HEARTBEAT) continue;
            check(st, "next message");
            std::fwrite(natsMsg_GetData(m), 1, static_cast<std::size_t>(natsMsg_GetDataLength(m)), stdout);
            std::fputc('\n', stdout);
            natsMsg_Destroy(m);
            ++got;
        }
        total += want[p];
        natsSubscription_Unsubscribe(subs[p]);
        natsSubscription_Destroy(subs[p]);
    }
    std::fflush(stdout);
    std::fprintf(stderr, "nats_plain: %llu read\n", static_cast<unsigned long long>(total));
    return 0;
}

int count(Conn& c, const std::string& name, int parts) {
    std::uint64_t total = 0;
    for (int p = 0; p < parts; ++p) total += stored(c, stream_of(name, p));
    std::printf("%llu\n", static_cast<unsigned long long>(total));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 5) {
        std::fprintf(stderr, "usage: nats_plain create|pub|pub-keyed|fetch|count URL NAME P [R|W]\n");
        return 2;
    }
    std::string cmd = argv[1], name = argv[3];
    int parts = std::atoi(argv[4]);
    if (parts < 1) {
        std::fprintf(stderr, "nats_plain: P must be at least 1\n");
        return 2;
    }
    int rc;
    {
        Conn c(argv[2], cmd.rfind("pub", 0) == 0 && argc > 5 ? std::atoll(argv[5]) : 4096);
        if (cmd == "create")
            rc = create(c, name, parts, argc > 5 ? std::atoi(argv[5]) : 3);
        else if (cmd == "pub")
            rc = pub(c, name, parts, false);
        else if (cmd == "pub-keyed")
            rc = pub(c, name, parts, true);
        else if (cmd == "fetch")
            rc = fetch(c, name, parts);
        else if (cmd == "count")
            rc = count(c, name, parts);
        else {
            std::fprintf(stderr, "nats_plain: unknown command '%s'\n", cmd.c_str());
            rc = 2;
        }
    }
    nats_Close();
    return rc;
}
