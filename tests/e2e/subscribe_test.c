/*
 * End to end: a SUBSCRIBE the venue refuses as a whole because of one stream name
 * (mdfeed-fakevenue --refuse-stream) is split and asked again until exactly that stream is
 * FAILED, with the venue's reason in its one SUBSCRIPTION_FAILED event, and every other stream
 * of the batch is LIVE and delivers; after a reconnect the refused stream is asked alone.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mdfeed/mdfeed.h>

#include "e2e/e2e.h"
#include "support/daemon.h"
#include "support/fakevenue.h"
#include "test.h"

#define BAD "cccusdt@bookTicker" /* the stream the venue refuses */
#define REASON "code 2 Invalid request: invalid stream name `" BAD "`"

/* Four symbols, trades and book tickers: 8 streams, one SUBSCRIBE batch on one connection. */
#define CONF                                                                                       \
    "venues = ({ venue = \"binance-spot\"; url = \"ws://127.0.0.1:%d\";\n"                         \
    "  rest_url = \"http://127.0.0.1:%d\";\n"                                                      \
    "  symbols = [\"AAAUSDT\", \"BBBUSDT\", \"CCCUSDT\", \"DDDUSDT\"]; trades = \"trade\";\n"      \
    "  kline = \"\"; book_ticker = true;\n"                                                        \
    "  connection = { reconnect_base_delay = 0.2; reconnect_jitter = 0.0; }; });\n"

/* The venue of CONF's symbols, refusing BAD. */
#define FV_ARGS                                                                                    \
    "--market", "AAAUSDT,BBBUSDT,CCCUSDT,DDDUSDT", "--market-rate", "20", "--refuse-stream", BAD

static const char *const SYMS[] = {"AAAUSDT", "BBBUSDT", "CCCUSDT", "DDDUSDT"};

/* True if name is one of the n names in bad. */
static bool is_bad(const char *name, const char *const *bad, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(name, bad[i]) == 0)
            return true;
    return false;
}

/* Polls the health segment (up to 30 s) until the n_bad streams named in bad are FAILED and the
 * n_live others LIVE; fails the test with what it saw otherwise. */
static void wait_states_of(const char *instance, const char *const *bad, int n_bad, uint32_t n_live)
{
    mdf_health_t *h;
    char why[256] = "";
    bool done = false;

    ASSERT_EQ(mdf_health_open(&h, instance), 0);
    for (int k = 0; k < 300 && !done; k++) {
        uint32_t n = mdf_health_count(h, MDF_HT_STREAM), live = 0, failed = 0;

        done = true;
        for (uint32_t i = 0; i < n; i++) {
            struct mdf_health_stream s;

            ASSERT_EQ(mdf_health_stream(h, i, &s), 0);
            if (!s.in_use)
                continue;
            if (is_bad(s.name, bad, n_bad) ? s.state != MDF_STREAM_FAILED
                                           : s.state != MDF_STREAM_LIVE) {
                snprintf(why, sizeof(why), "%s is %s", s.name, mdf_stream_state_name(s.state));
                done = false;
            }
            live += s.state == MDF_STREAM_LIVE;
            failed += s.state == MDF_STREAM_FAILED;
        }
        if (done && (live != n_live || failed != (uint32_t)n_bad)) {
            snprintf(why, sizeof(why), "%u live, %u failed of %u", live, failed, n);
            done = false;
        }
        if (!done)
            usleep(100000);
    }
    if (!done)
        test_fail(__FILE__, __LINE__, "stream states: %s", why);
    mdf_health_close(h);
}

/* BAD FAILED, the 7 other streams of CONF LIVE. */
static void wait_states(const char *instance)
{
    static const char *const bad[] = {BAD};

    wait_states_of(instance, bad, 1, 7);
}

TEST(e2e_refused_subscribe_is_split_until_only_the_bad_stream_fails)
{
    struct fv_proc fv;
    struct dmn d;
    const char *fv_args[] = {FV_ARGS, NULL};
    struct mdf_health_daemon hd;
    mdf_instance_t *inst;
    mdf_health_t *h;
    mdf_record_t *ev = NULL;
    char line[512];
    int failed_events = 0;
    long n;

    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d, CONF, fv.port, fv.port), 0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(dmn_wait(&d, "SUBSCRIPTION_FAILED", 20000, line, sizeof(line)), 0);
    ASSERT_CONTAINS(line, BAD " refused: " REASON);
    wait_states(d.instance);

    /* Every other stream delivers; the refused one has nothing. */
    ASSERT_EQ(mdf_open(&inst, d.instance, 1000), 0);
    for (int i = 0; i < 4; i++) {
        char key[64];
        struct mdf_trade t;
        struct mdf_bbo b;
        int64_t sym;
        int rc = -1;

        snprintf(key, sizeof(key), "binance-spot:%s", SYMS[i]);
        sym = mdf_symbol_lookup(inst, key);
        ASSERT(sym >= 0);
        for (int k = 0; k < 100 && rc != 0; k++) {
            rc = mdf_latest_trade(inst, (uint32_t)sym, &t);
            if (rc == 0 && i != 2)
                rc = mdf_latest_bbo(inst, (uint32_t)sym, &b);
            if (rc != 0)
                usleep(50000);
        }
        ASSERT_EQ(rc, 0);
        if (i == 2)
            ASSERT_EQ(mdf_latest_bbo(inst, (uint32_t)sym, &b), MDF_ENODATA);
    }
    mdf_close(inst);

    /* The daemon's summary names what is wrong. */
    ASSERT_EQ(mdf_health_open(&h, d.instance), 0);
    ASSERT_EQ(mdf_health_daemon(h, &hd), 0);
    ASSERT_EQ(hd.n_streams_live, 7u);
    ASSERT_EQ(hd.n_streams_failed, 1u);
    ASSERT_EQ(hd.n_streams_bad, 1u);
    ASSERT_CONTAINS(hd.status, "7/8 streams live");
    ASSERT_CONTAINS(hd.status, ", 1 failed");
    ASSERT(strstr(hd.status, "stale") == NULL);
    ASSERT_EQ(hd.errors[MDF_HERR_SUBSCRIBE], 1u);
    mdf_health_close(h);

    /* One SUBSCRIPTION_FAILED event, for the refused stream, with the venue's reason. */
    n = e2e_drain(d.instance, MDF_RING_EVENTS, &ev);
    ASSERT(n > 0);
    for (long i = 0; i < n; i++) {
        if (ev[i].event.code != MDF_EV_SUBSCRIPTION_FAILED)
            continue;
        failed_events++;
        ASSERT_STR_EQ(ev[i].event.text, BAD " refused: " REASON);
    }
    ASSERT_EQ(failed_events, 1);
    free(ev);
    ASSERT_EQ(dmn_count(&d, "SUBSCRIPTION_FAILED"), 0); /* and one log line */

    /* The split's cost for 8 streams with one bad: the batch, then two parts at each of 3
     * levels (1 + 2*log2(8)), each refusal on the path to the bad stream; paced, so the venue
     * never cut the connection for its message rate. */
    ASSERT_EQ(fv_count_lines(&fv, "\"method\":\"SUBSCRIBE\""), 7);
    ASSERT_EQ(fv_count_lines(&fv, "refused stream " BAD), 4);
    ASSERT_EQ(fv_count_lines(&fv, "rate-limit"), 0);
    ASSERT_EQ(dmn_count(&d, "CONNECTION_DISCONNECTED"), 0);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

TEST(e2e_stream_refused_before_is_asked_alone_after_a_reconnect)
{
    struct fv_proc fv;
    struct dmn d;
    const char *fv_args[] = {FV_ARGS, "--lifetime", "5", NULL};
    char line[2048];
    int names = 0;

    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d, CONF, fv.port, fv.port), 0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(dmn_wait(&d, "SUBSCRIPTION_FAILED", 20000, NULL, 0), 0);
    ASSERT_EQ(fv_wait_line(&fv, "conn 1 closed lifetime", 20000, NULL, 0), 0);
    ASSERT_EQ(fv_count_lines(&fv, "conn 1 refused stream " BAD), 4);
    /* The next connection asks for the refused stream alone, first, then for the other seven
     * in one batch, which the venue accepts. */
    ASSERT_EQ(fv_wait_line(&fv, "conn 2 recv", 20000, line, sizeof(line)), 0);
    ASSERT_CONTAINS(line, "{\"method\":\"SUBSCRIBE\",\"params\":[\"" BAD "\"]");
    ASSERT_EQ(dmn_wait(&d, "SUBSCRIPTION_FAILED", 20000, line, sizeof(line)), 0);
    ASSERT_CONTAINS(line, BAD " refused: " REASON);
    ASSERT_EQ(fv_wait_line(&fv, "conn 2 recv", 5000, line, sizeof(line)), 0);
    ASSERT_CONTAINS(line, "\"method\":\"SUBSCRIBE\"");
    for (const char *p = line; (p = strchr(p, '@')) != NULL; p++)
        names++;
    ASSERT_EQ(names, 7);
    usleep(1000000);
    ASSERT_EQ(fv_count_lines(&fv, "conn 2 recv {\"method\":\"SUBSCRIBE\""), 0);
    ASSERT_EQ(fv_count_lines(&fv, "conn 2 refused stream " BAD), 1);
    ASSERT_EQ(dmn_count(&d, "asking again in two parts"), 3); /* all on the first connection */
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

TEST(e2e_two_refused_streams_in_a_batch_of_40_cost_at_most_the_split_bound)
{
    static const char *const bad[] = {"s03usdt@trade", "s07usdt@bookTicker"};
    const char *fv_args[] = {"--market",
                             "",
                             "--market-rate",
                             "5",
                             "--refuse-stream",
                             "s03usdt@trade",
                             "--refuse-stream",
                             "s07usdt@bookTicker",
                             NULL};
    char syms[256] = "", list[512] = "";
    struct fv_proc fv;
    struct dmn d;
    int msgs;

    /* 10 symbols x (trade, aggTrade, bookTicker, kline_1m) = 40 streams in one batch. */
    for (int i = 0; i < 10; i++) {
        snprintf(syms + strlen(syms), sizeof(syms) - strlen(syms), "%sS%02dUSDT", i ? "," : "", i);
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s\"S%02dUSDT\"", i ? ", " : "",
                 i);
    }
    fv_args[1] = syms;
    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d,
                         "venues = ({ venue = \"binance-spot\"; url = \"ws://127.0.0.1:%d\";\n"
                         "  rest_url = \"http://127.0.0.1:%d\";\n"
                         "  symbols = [%s]; trades = \"both\"; kline = \"1m\";\n"
                         "  book_ticker = true; });\n",
                         fv.port, fv.port, list),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    wait_states_of(d.instance, bad, 2, 38);
    /* Each of the 2 bad streams costs at most two parts per level of the 6 (ceil(log2 40)). */
    msgs = fv_count_lines(&fv, "\"method\":\"SUBSCRIBE\"");
    fprintf(stderr, "  40 streams, 2 refused: %d SUBSCRIBE messages (bound 25)\n", msgs);
    ASSERT_LE(msgs, 1 + 2 * 2 * 6);
    ASSERT_EQ(dmn_count(&d, "SUBSCRIPTION_FAILED"), 2);
    ASSERT_EQ(dmn_count(&d, "SUBSCRIPTION_FAILED binance-spot conn 1: s03usdt@trade refused"), 1);
    ASSERT_EQ(dmn_count(&d, "s07usdt@bookTicker refused: code 2"), 1);
    ASSERT_EQ(fv_count_lines(&fv, "rate-limit"), 0);
    ASSERT_EQ(dmn_count(&d, "CONNECTION_DISCONNECTED"), 0);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}
