/*
 * Health that tells the truth, end to end (fake venue -> mdfeedd -> health segment and log):
 * a quiet market raises nothing; a stream that misses data while its connection lives is
 * STALE, gets one replacement, and no replacement storm when that does not cure it; a
 * connection that gives up is FAILED everywhere and keeps trying; a stream whose messages do
 * not decode is flagged, not LIVE. (The shipped demo's own run: tests/e2e/demo_test.c.)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mdfeed/health.h>
#include <mdfeed/mdfeed.h>

#include "support/daemon.h"
#include "support/fakevenue.h"
#include "test.h"

/* Short thresholds so that every one of them passes several times within a test. */
#define HEALTH_FAST                                                                                \
    "  health = { silent_after = 1.0; stale_min = 1.0; stale_factor = 3.0;\n"                      \
    "    check_interval = 0.2; watchdog_backoff = 30.0; };\n"

/* The health entry of stream `name` (0), or -ENOENT. */
static int stream_entry(mdf_health_t *h, const char *name, struct mdf_health_stream *out)
{
    uint32_t n = mdf_health_count(h, MDF_HT_STREAM);

    for (uint32_t i = 0; i < n; i++)
        if (mdf_health_stream(h, i, out) == 0 && out->in_use && strcmp(out->name, name) == 0)
            return 0;
    return -ENOENT;
}

/* Waits up to ms for stream `name` to be in state `state`. */
static int wait_stream_state(mdf_health_t *h, const char *name, int state, int ms)
{
    struct mdf_health_stream s;

    for (int t = 0; t < ms; t += 50) {
        if (stream_entry(h, name, &s) == 0 && s.state == state)
            return 0;
        usleep(50000);
    }
    return -ETIMEDOUT;
}

/* Waits up to ms for the daemon to be in state `state`. */
static int wait_daemon_state(mdf_health_t *h, int state, int ms)
{
    struct mdf_health_daemon dm;

    for (int t = 0; t < ms; t += 50) {
        if (mdf_health_daemon(h, &dm) == 0 && (int)dm.state == state)
            return 0;
        usleep(50000);
    }
    return -ETIMEDOUT;
}

/* Opens the health segment of d's instance, waiting for it. */
static mdf_health_t *health_of(const struct dmn *d)
{
    mdf_health_t *h = NULL;

    for (int t = 0; t < 100 && mdf_health_open(&h, d->instance) < 0; t++)
        usleep(50000);
    return h;
}

/* Appends to buf the explicit stream list for symbol on a spot or futures venue: every stream
 * type that venue serves. */
static void every_stream(char *buf, size_t cap, const char *sym, bool futures)
{
    static const char *const common[] = {
        "type = \"agg_trade\";",
        "type = \"kline\"; interval = \"1s\";",
        "type = \"kline\"; interval = \"1m\";",
        "type = \"depth\"; levels = 5;",
        "type = \"diff_depth\"; speed = 100;",
        "type = \"book_ticker\";",
        "type = \"ticker\";",
        "type = \"mini_ticker\";",
    };
    size_t len = strlen(buf);

    for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
        len += (size_t)snprintf(buf + len, cap - len, "    { symbol = \"%s\"; %s },\n", sym,
                                common[i]);
    if (futures) {
        len += (size_t)snprintf(buf + len, cap - len,
                                "    { symbol = \"%s\"; type = \"mark_price\"; speed = 1000; },\n"
                                "    { symbol = \"%s\"; type = \"force_order\"; },\n",
                                sym, sym);
    } else {
        len += (size_t)snprintf(buf + len, cap - len,
                                "    { symbol = \"%s\"; type = \"trade\"; },\n", sym);
    }
}

/* One venue of the quiet-market scenario: a symbol that trades all the time, one that trades
 * every 3 s, one that never trades; every stream type of each; 15 s with short thresholds. */
static int quiet_market(bool futures)
{
    const char *fv_args[] = {"--venue",
                             futures ? "binance-futures" : "binance-spot",
                             "--market",
                             "AAAUSDT,QQQUSDT,ZZZUSDT",
                             "--market-sparse",
                             "QQQUSDT",
                             "--market-sparse-period",
                             "3",
                             "--market-quiet",
                             "ZZZUSDT",
                             NULL};
    struct mdf_health_stream st;
    struct mdf_health_daemon dm;
    static char streams[8192];
    struct fv_proc fv;
    mdf_health_t *h;
    struct dmn d;

    streams[0] = '\0';
    every_stream(streams, sizeof(streams), "AAAUSDT", futures);
    every_stream(streams, sizeof(streams), "QQQUSDT", futures);
    every_stream(streams, sizeof(streams), "ZZZUSDT", futures);
    streams[strlen(streams) - 2] = '\0'; /* no comma after the last group */
    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d,
                         "venues = ({ venue = \"%s\"; url = \"ws://127.0.0.1:%d\";\n"
                         "  rest_url = \"http://127.0.0.1:%d\";\n" HEALTH_FAST
                         "  streams = (\n%s\n  ); });\n",
                         futures ? "binance-futures" : "binance-spot", fv.port, fv.port, streams),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT((h = health_of(&d)) != NULL);
    usleep(15000000);
    ASSERT_EQ(dmn_count(&d, "FEED_STALE"), 0);
    ASSERT_EQ(dmn_count(&d, "SUBSCRIPTION_SILENT"), 0);
    ASSERT_EQ(dmn_count(&d, "WATCHDOG_TRIGGERED"), 0);
    ASSERT_EQ(dmn_count(&d, "CONNECTION_ROTATING"), 0);
    ASSERT_EQ(dmn_count(&d, "DECODE_FAILING"), 0);
    /* The sparse symbol did trade (so its streams were judged against evidence), and every
     * stream of the silent one is LIVE: quiet, not stale. */
    ASSERT_EQ(stream_entry(h, "qqqusdt@aggTrade", &st), 0);
    ASSERT(st.msgs >= 3);
    ASSERT_EQ(stream_entry(h, "zzzusdt@kline_1m", &st), 0);
    ASSERT_EQ(st.state, MDF_STREAM_LIVE);
    ASSERT_EQ(st.msgs, 0);
    ASSERT_EQ(mdf_health_daemon(h, &dm), 0);
    ASSERT_EQ(dm.state, MDF_DAEMON_RUNNING);
    ASSERT_EQ(dm.n_streams_bad, 0);
    ASSERT_EQ(dm.n_streams_live, dm.n_streams);
    mdf_health_close(h);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

TEST(e2e_quiet_market_spot_and_futures_raises_no_alarm)
{
    ASSERT_EQ(quiet_market(false), 0);
    ASSERT_EQ(quiet_market(true), 0);
    return 0;
}

/* The venue stops sending one stream (its ticker) while trades flow: the ticker's trade ids
 * fall behind, which is the evidence. */
static int muted_ticker(bool every_conn, struct fv_proc *fv, struct dmn *d)
{
    const char *fv_one[] = {"--market",
                            "AAAUSDT",
                            "--fault-mute",
                            "@ticker",
                            "--fault-mute-after",
                            "40",
                            "--fault-conns",
                            "1",
                            NULL};
    const char *fv_all[] = {"--market", "AAAUSDT", "--fault-mute", "@ticker", "--fault-mute-after",
                            "40",       NULL};

    ASSERT_EQ(fv_start(fv, every_conn ? fv_all : fv_one), 0);
    ASSERT_EQ(dmn_config(d,
                         "venues = ({ venue = \"binance-spot\"; url = \"ws://127.0.0.1:%d\";\n"
                         "  rest_url = \"http://127.0.0.1:%d\";\n" HEALTH_FAST
                         "  symbols = [\"AAAUSDT\"]; trades = \"both\"; kline = \"1s\";\n"
                         "  book_ticker = true; ticker = true; });\n",
                         fv->port, fv->port),
              0);
    ASSERT_EQ(dmn_start(d), 0);
    return 0;
}

TEST(e2e_stream_missing_data_on_a_live_connection_is_stale_and_one_replacement_cures_it)
{
    struct fv_proc fv;
    char line[512];
    struct dmn d;

    ASSERT_EQ(muted_ticker(false, &fv, &d), 0);
    ASSERT_EQ(dmn_wait(&d, "FEED_STALE", 20000, line, sizeof(line)), 0);
    ASSERT_CONTAINS(line, "aaausdt@ticker");
    ASSERT_CONTAINS(line, "the venue traded up to id");
    ASSERT_EQ(dmn_wait(&d, "WATCHDOG_TRIGGERED", 10000, line, sizeof(line)), 0);
    ASSERT_CONTAINS(line, "first try");
    ASSERT_EQ(dmn_wait(&d, "FEED_RECOVERED", 20000, line, sizeof(line)), 0);
    ASSERT_CONTAINS(line, "aaausdt@ticker");
    usleep(5000000);
    ASSERT_EQ(dmn_count(&d, "WATCHDOG_TRIGGERED"), 0);
    ASSERT_EQ(dmn_count(&d, "FEED_STALE"), 0);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

TEST(e2e_stream_missing_data_on_every_connection_gets_one_replacement_then_stays_stale)
{
    struct mdf_health_stream st;
    struct mdf_health_daemon dm;
    struct fv_proc fv;
    mdf_health_t *h;
    char line[512];
    struct dmn d;

    ASSERT_EQ(muted_ticker(true, &fv, &d), 0);
    ASSERT((h = health_of(&d)) != NULL);
    ASSERT_EQ(dmn_wait(&d, "FEED_STALE", 20000, line, sizeof(line)), 0);
    ASSERT_CONTAINS(line, "aaausdt@ticker");
    ASSERT_EQ(dmn_wait(&d, "WATCHDOG_TRIGGERED", 10000, line, sizeof(line)), 0);
    ASSERT_EQ(dmn_wait(&d, "opens to replace it", 5000, NULL, 0), 0);
    ASSERT_EQ(dmn_wait(&d, "replaced conn", 15000, NULL, 0), 0);
    /* The replacement did not cure it: the cause is not the connection. No further
     * replacement within the backoff (30 s), the alarm stays visible. */
    usleep(12000000);
    ASSERT_EQ(dmn_count(&d, "WATCHDOG_TRIGGERED"), 0);
    ASSERT_EQ(dmn_count(&d, "opens to replace it"), 0);
    ASSERT_EQ(dmn_count(&d, "FEED_STALE"), 0);
    ASSERT_EQ(stream_entry(h, "aaausdt@ticker", &st), 0);
    ASSERT_EQ(st.state, MDF_STREAM_STALE);
    ASSERT(st.owed_mono_ns != 0);
    ASSERT_EQ(stream_entry(h, "aaausdt@aggTrade", &st), 0);
    ASSERT_EQ(st.state, MDF_STREAM_LIVE);
    ASSERT_EQ(mdf_health_daemon(h, &dm), 0);
    ASSERT(dm.n_streams_bad == 1);
    ASSERT_CONTAINS(dm.status, "stale");
    mdf_health_close(h);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

/* A loopback TCP port nothing listens on (bound, then closed). */
static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* Checks that d's only connection shows FAILED with its streams, the daemon DEGRADED. */
static int failed_everywhere(mdf_health_t *h)
{
    struct mdf_health_daemon dm;
    struct mdf_health_conn c;
    struct mdf_health_stream st;

    ASSERT_EQ(wait_daemon_state(h, MDF_DAEMON_DEGRADED, 10000), 0);
    ASSERT_EQ(mdf_health_conn(h, 0, &c), 0);
    ASSERT_EQ(c.state, MDF_CONN_FAILED);
    ASSERT_EQ(stream_entry(h, "aaausdt@aggTrade", &st), 0);
    ASSERT_EQ(st.state, MDF_STREAM_FAILED);
    ASSERT_EQ(mdf_health_daemon(h, &dm), 0);
    ASSERT_EQ(dm.n_streams_live, 0);
    ASSERT_EQ(dm.n_streams_bad, dm.n_streams);
    ASSERT_CONTAINS(dm.status, "degraded");
    return 0;
}

#define GIVE_UP_CONF                                                                               \
    "venues = ({ venue = \"binance-spot\"; url = \"ws://127.0.0.1:%d\";\n"                         \
    "  rest_url = \"http://127.0.0.1:%d\";\n"                                                      \
    "  symbols = [\"AAAUSDT\"]; trades = \"agg_trade\"; kline = \"1s\";\n"                         \
    "  connection = { max_reconnect_attempts = 3; reconnect_base_delay = 0.1;\n"                   \
    "    reconnect_max_delay = 1.0; connect_timeout = 2.0; }; });\n"

TEST(e2e_connection_giving_up_before_first_connect_is_failed_everywhere_and_keeps_trying)
{
    int port = free_port();
    char ps[16];
    const char *fv_args[] = {"--market", "AAAUSDT", "--port", ps, NULL};
    struct fv_proc fv;
    mdf_health_t *h;
    char line[512];
    struct dmn d;

    ASSERT(port > 0);
    snprintf(ps, sizeof(ps), "%d", port);
    setenv("MDFEED_TEST_START_BOUND_MS", "3000", 1);
    ASSERT_EQ(dmn_config(&d, GIVE_UP_CONF, port, port), 0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT((h = health_of(&d)) != NULL);
    /* Said at once, in the log, with the reason. */
    ASSERT_EQ(dmn_wait(&d, "cannot connect to ws://127.0.0.1", 3000, line, sizeof(line)), 0);
    ASSERT_CONTAINS(line, "warning");
    ASSERT_EQ(dmn_wait(&d, "no venue connection has come up yet", 3000, line, sizeof(line)), 0);
    ASSERT_CONTAINS(line, "make demo");
    ASSERT_EQ(dmn_wait(&d, "CONNECTION_ERROR", 10000, line, sizeof(line)), 0);
    ASSERT_CONTAINS(line, "gave up after 3 attempts");
    ASSERT_EQ(dmn_wait(&d, "STREAM_DOWN", 2000, line, sizeof(line)), 0);
    ASSERT_EQ(dmn_wait(&d, "STREAM_DOWN", 2000, line, sizeof(line)), 0);
    /* Never STARTING past the bound. */
    ASSERT_EQ(dmn_wait(&d, "running DEGRADED", 10000, NULL, 0), 0);
    ASSERT_EQ(failed_everywhere(h), 0);
    /* It keeps trying at the backoff cap: the venue comes up, everything goes LIVE. */
    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_wait(&d, "back after giving up", 10000, NULL, 0), 0);
    ASSERT_EQ(wait_stream_state(h, "aaausdt@aggTrade", MDF_STREAM_LIVE, 10000), 0);
    ASSERT_EQ(wait_daemon_state(h, MDF_DAEMON_RUNNING, 10000), 0);
    mdf_health_close(h);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

TEST(e2e_connection_giving_up_after_it_ran_is_failed_everywhere_and_comes_back)
{
    int port = free_port();
    char ps[16];
    const char *fv_args[] = {"--market", "AAAUSDT", "--port", ps, NULL};
    struct fv_proc fv;
    mdf_health_t *h;
    char line[512];
    struct dmn d;

    ASSERT(port > 0);
    snprintf(ps, sizeof(ps), "%d", port);
    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d, GIVE_UP_CONF, port, port), 0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT((h = health_of(&d)) != NULL);
    ASSERT_EQ(wait_stream_state(h, "aaausdt@aggTrade", MDF_STREAM_LIVE, 10000), 0);
    ASSERT_EQ(wait_daemon_state(h, MDF_DAEMON_RUNNING, 10000), 0);
    fv_stop(&fv);
    ASSERT_EQ(dmn_wait(&d, "CONNECTION_ERROR", 15000, line, sizeof(line)), 0);
    ASSERT_CONTAINS(line, "gave up after 3 attempts");
    ASSERT_EQ(failed_everywhere(h), 0);
    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_wait(&d, "back after giving up", 10000, NULL, 0), 0);
    ASSERT_EQ(wait_stream_state(h, "aaausdt@aggTrade", MDF_STREAM_LIVE, 10000), 0);
    ASSERT_EQ(wait_daemon_state(h, MDF_DAEMON_RUNNING, 10000), 0);
    mdf_health_close(h);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

TEST(e2e_stream_whose_messages_do_not_decode_is_flagged_not_live)
{
    const char *fv_args[] = {
        "--market", "AAAUSDT", "--fault-corrupt", "@aggTrade", "--fault-corrupt-after", "30", NULL};
    struct mdf_health_stream st;
    struct mdf_health_daemon dm;
    struct fv_proc fv;
    mdf_health_t *h;
    char line[512];
    struct dmn d;

    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d,
                         "venues = ({ venue = \"binance-spot\"; url = \"ws://127.0.0.1:%d\";\n"
                         "  rest_url = \"http://127.0.0.1:%d\";\n" HEALTH_FAST
                         "  symbols = [\"AAAUSDT\"]; trades = \"both\"; kline = \"1s\"; });\n",
                         fv.port, fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT((h = health_of(&d)) != NULL);
    ASSERT_EQ(dmn_wait(&d, "DECODE_FAILING", 20000, line, sizeof(line)), 0);
    ASSERT_CONTAINS(line, "aaausdt@aggTrade");
    ASSERT_EQ(wait_stream_state(h, "aaausdt@aggTrade", MDF_STREAM_BAD_DATA, 5000), 0);
    ASSERT_EQ(stream_entry(h, "aaausdt@aggTrade", &st), 0);
    ASSERT(st.decode_errors >= 5);
    ASSERT_EQ(stream_entry(h, "aaausdt@trade", &st), 0);
    ASSERT_EQ(st.state, MDF_STREAM_LIVE);
    ASSERT_EQ(wait_daemon_state(h, MDF_DAEMON_DEGRADED, 5000), 0);
    ASSERT_EQ(mdf_health_daemon(h, &dm), 0);
    ASSERT(dm.n_streams_live < dm.n_streams);
    ASSERT(dm.errors[MDF_HERR_PARSE] >= 5);
    mdf_health_close(h);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}
