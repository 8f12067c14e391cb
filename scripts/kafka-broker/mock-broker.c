/*
 * Local Kafka broker for development, tests and the demo: librdkafka's mock
 * cluster behind a tiny line protocol. No Kafka broker ships in npm or Debian,
 * but the mock speaks the real wire protocol (produce/fetch, metadata, group
 * coordinator, offset commit/fetch), which is all kafkajs needs.
 *
 *   mock-broker [--brokers N] [--partitions P] [--topic name[:parts]]...
 *
 * stdout: "BOOTSTRAP host:port[,host:port...]" once, then one "OK ..." or
 * "ERR ..." per stdin command:  down <id> | up <id> | topic <name> <parts>
 * Exits when stdin closes (so a dead parent never leaks a broker) or on
 * SIGTERM/SIGINT. Data lives in memory only, and the mock keeps at most 5 MB
 * (or 100,000 produce batches) per partition, dropping the oldest like retention.
 * Unknown topics are auto-created on Metadata requests (kafkajs asks by default)
 * with the mock's fixed default of 4 partitions, hence --topic and "topic".
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop = 0;
static void on_signal(int sig) { (void)sig; stop = 1; }

static void reply(rd_kafka_resp_err_t err, const char *what) {
    if (err) printf("ERR %s: %s\n", what, rd_kafka_err2str(err));
    else printf("OK %s\n", what);
    fflush(stdout); /* the parent waits for this line; stdout is a pipe */
}

/* Replication factor only shapes metadata (the mock keeps one shared log per
 * partition); min(3, brokers) mirrors what a real cluster would report. */
static rd_kafka_resp_err_t create_topic(rd_kafka_mock_cluster_t *mc, int brokers,
                                        const char *name, int parts) {
    if (parts < 1) return RD_KAFKA_RESP_ERR_INVALID_PARTITIONS;
    return rd_kafka_mock_topic_create(mc, name, parts, brokers < 3 ? brokers : 3);
}

int main(int argc, char **argv) {
    int brokers = 1, partitions = 6;
    char errstr[512], line[1024];

    /* First pass: numbers only, so --partitions may come after --topic. */
    for (int i = 1; i + 1 < argc; i++) {
        if (!strcmp(argv[i], "--brokers")) brokers = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--partitions")) partitions = atoi(argv[++i]);
    }
    if (brokers < 1 || partitions < 1) {
        fprintf(stderr, "mock-broker: --brokers and --partitions must be >= 1\n");
        return 2;
    }

    /* Signals must reach this thread, where they interrupt fgets (no SA_RESTART):
     * block them before librdkafka starts its threads, which inherit the mask. */
    struct sigaction sa;
    sigset_t stop_sigs;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* parent gone: fail the write, exit on EOF */
    sigemptyset(&stop_sigs);
    sigaddset(&stop_sigs, SIGTERM);
    sigaddset(&stop_sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_sigs, NULL);

    /* The mock needs an rd_kafka_t for its bookkeeping thread; a producer
     * handle that never produces is the cheapest one. */
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) { fprintf(stderr, "mock-broker: rd_kafka_new: %s\n", errstr); return 1; }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (!mc) { fprintf(stderr, "mock-broker: mock cluster failed\n"); return 1; }

    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--topic")) continue;
        const char *spec = argv[++i], *colon = strrchr(spec, ':');
        char name[512];
        snprintf(name, sizeof name, "%.*s", colon ? (int)(colon - spec) : (int)strlen(spec), spec);
        rd_kafka_resp_err_t err = create_topic(mc, brokers, name, colon ? atoi(colon + 1) : partitions);
        if (err) {
            fprintf(stderr, "mock-broker: topic %s: %s\n", name, rd_kafka_err2str(err));
            return 2;
        }
    }

    pthread_sigmask(SIG_UNBLOCK, &stop_sigs, NULL);
    printf("BOOTSTRAP %s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);

    /* The mock serves clients on its own thread; this one only takes orders. */
    while (!stop && fgets(line, sizeof line, stdin)) {
        char cmd[16] = "", name[512] = "";
        int n = 0;
        line[strcspn(line, "\r\n")] = '\0';
        int got = sscanf(line, "%15s %511s %d", cmd, name, &n);
        if (got < 1) continue;
        if ((!strcmp(cmd, "down") || !strcmp(cmd, "up")) && got >= 2) {
            int id = atoi(name);
            /* Ids run 1..N; the mock treats -1 as "all", so refuse others. */
            if (id < 1 || id > brokers) { printf("ERR %s: no such broker\n", line); fflush(stdout); continue; }
            reply(cmd[0] == 'd' ? rd_kafka_mock_broker_set_down(mc, id)
                                : rd_kafka_mock_broker_set_up(mc, id), line);
        } else if (!strcmp(cmd, "topic") && got == 3) {
            reply(create_topic(mc, brokers, name, n), line);
        } else if (!strcmp(cmd, "topic-error") && got == 3) {
            /* Every request about the topic answers with this Kafka error code (0 clears it):
             * fault tests make a topic unwritable, e.g. 29 = TOPIC_AUTHORIZATION_FAILED. */
            rd_kafka_mock_topic_set_error(mc, name, (rd_kafka_resp_err_t)n);
            reply(RD_KAFKA_RESP_ERR_NO_ERROR, line);
        } else {
            printf("ERR %s: usage: down <id> | up <id> | topic <name> <partitions> | topic-error <name> <code>\n", line);
            fflush(stdout);
        }
    }

    /* No teardown: rd_kafka_mock_cluster_destroy/rd_kafka_destroy can each take
     * ~1 s joining threads, the log is in memory only, and the kernel closes
     * every socket on exit. _exit also keeps atexit handlers from racing them. */
    fflush(stdout);
    _exit(0);
}
