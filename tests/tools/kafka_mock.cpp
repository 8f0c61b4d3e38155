// A Kafka cluster for tests: librdkafka's mock cluster on 127.0.0.1, kept
// alive until SIGTERM/SIGINT. Prints the bootstrap address (host:port,...)
// as its first line of stdout, then reads commands from stdin, one per line,
// answering each with "ok" or "error: ..." on stdout:
//
//   topic NAME PARTITIONS          create a topic
//   errors APIKEY COUNT CODE       the next COUNT requests of APIKEY (0 Produce,
//                                  1 Fetch, 8 OffsetCommit, ...) fail with CODE
//   down BROKER | up BROKER        take a broker (1..N) down or up
//
// Usage: kafka_mock [--brokers N] [--topic NAME:PARTITIONS]...
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {
volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

bool create_topic(rd_kafka_mock_cluster_t* mc, const std::string& name, int partitions) {
    return rd_kafka_mock_topic_create(mc, name.c_str(), partitions, 1) == RD_KAFKA_RESP_ERR_NO_ERROR;
}
}  // namespace

int main(int argc, char** argv) {
    int brokers = 1;
    std::vector<std::pair<std::string, int>> topics;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--brokers" && i + 1 < argc) {
            brokers = std::atoi(argv[++i]);
        } else if (a == "--topic" && i + 1 < argc) {
            std::string t = argv[++i];
            auto colon = t.rfind(':');
            if (colon == std::string::npos) {
                std::fprintf(stderr, "kafka_mock: --topic NAME:PARTITIONS\n");
                return 64;
            }
            topics.emplace_back(t.substr(0, colon), std::atoi(t.c_str() + colon + 1));
        } else {
            std::fprintf(stderr, "usage: kafka_mock [--brokers N] [--topic NAME:PARTITIONS]...\n");
            return 64;
        }
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        std::fprintf(stderr, "kafka_mock: %s\n", err);
        return 70;
    }
    rd_kafka_mock_cluster_t* mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (!mc) {
        std::fprintf(stderr, "kafka_mock: could not start the mock cluster\n");
        return 70;
    }
    for (const auto& [name, parts] : topics)
        if (!create_topic(mc, name, parts)) {
            std::fprintf(stderr, "kafka_mock: could not create topic %s\n", name.c_str());
            return 70;
        }
    std::printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    std::fflush(stdout);
    std::string buf;
    bool input = true;
    while (!g_stop) {
        if (!input) {
            pause();
            continue;
        }
        pollfd pfd{0, POLLIN, 0};
        if (poll(&pfd, 1, 200) <= 0) continue;
        char chunk[4096];
        ssize_t n = read(0, chunk, sizeof chunk);
        if (n <= 0) {
            input = false;
            continue;
        }
        buf.append(chunk, static_cast<size_t>(n));
        for (size_t nl; (nl = buf.find('\n')) != std::string::npos;) {
            std::istringstream cmd(buf.substr(0, nl));
            buf.erase(0, nl + 1);
            std::string verb;
            cmd >> verb;
            bool ok = false;
            if (verb == "topic") {
                std::string name;
                int parts = 0;
                ok = static_cast<bool>(cmd >> name >> parts) && create_topic(mc, name, parts);
            } else if (verb == "errors") {
                int16_t key = 0;
                int count = 0, code = 0;
                if (cmd >> key >> count >> code) {
                    for (int i = 0; i < count; ++i)
                        rd_kafka_mock_push_request_errors(mc, key, 1, static_cast<rd_kafka_resp_err_t>(code));
                    ok = true;
                }
            } else if (verb == "down" || verb == "up") {
                int id = 0;
                if (cmd >> id)
                    ok = (verb == "down" ? rd_kafka_mock_broker_set_down(mc, id) : rd_kafka_mock_broker_set_up(mc, id)) ==
                         RD_KAFKA_RESP_ERR_NO_ERROR;
            } else if (verb.empty()) {
                continue;
            }
            std::printf(ok ? "ok\n" : "error: %s\n", verb.c_str());
            std::fflush(stdout);
        }
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
