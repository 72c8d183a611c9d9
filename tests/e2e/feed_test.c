/*
 * End to end against the fake venue's synthetic market (venue-wide ids, books that chain onto
 * live REST snapshots, deterministic candles): a gap resyncs one book only; rotations by age
 * and by serverShutdown lose nothing and publish nothing twice; streams beyond one
 * connection's limit spread over several without breaking the venue's limits; SIGHUP adds and
 * removes streams live; candles missed in an outage are backfilled; a quiet symbol is not
 * flagged; one symbol's depth5, depth20 and diff books, and its ticker and mini ticker, are
 * each read on their own.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mdfeed/mdfeed.h>

#include "e2e/e2e.h"
#include "support/daemon.h"
#include "support/fakevenue.h"
#include "test.h"

#define VENUE_HEAD                                                                                 \
    "venues = ({ venue = \"binance-spot\"; url = \"ws://127.0.0.1:%d\";\n"                         \
    "  rest_url = \"http://127.0.0.1:%d\";\n"

static int64_t sym_of(mdf_instance_t *inst, const char *native)
{
    char key[64];

    snprintf(key, sizeof(key), "binance-spot:%s", native);
    return mdf_symbol_lookup(inst, key);
}

/* Checks the trade records of symbol sym in v[0..n): ids strictly consecutive (nothing
 * missing, nothing twice). Returns how many there were. */
static long check_trades_consecutive(const mdf_record_t *v, long n, uint32_t sym, bool agg)
{
    int64_t prev = 0;
    long count = 0;

    for (long i = 0; i < n; i++) {
        const mdf_record_t *r = &v[i];

        if (r->h.type != MDF_REC_TRADE || r->h.symbol != sym ||
            !!(r->h.flags & MDF_TRADE_F_AGGREGATE) != agg)
            continue;
        if (prev && r->trade.trade_id != prev + 1)
            test_fail(__FILE__, __LINE__, "%s id %" PRId64 " after %" PRId64,
                      agg ? "aggregate trade" : "trade", r->trade.trade_id, prev);
        prev = r->trade.trade_id;
        count++;
    }
    return count;
}

/* Latest book of sym. */
static void latest_book(mdf_instance_t *inst, int64_t sym, struct mdf_book *b)
{
    ASSERT(sym >= 0);
    if (mdf_latest_book(inst, (uint32_t)sym, b, MDF_BOOK_SIZE(MDF_BOOK_DEPTH_MAX)) != 0)
        test_fail(__FILE__, __LINE__, "no book for symbol %" PRId64, sym);
}

TEST(e2e_gap_in_one_book_resyncs_that_symbol_only)
{
    struct fv_proc fv;
    struct dmn d;
    mdf_instance_t *inst;
    struct mdf_book *b = malloc(MDF_BOOK_SIZE(MDF_BOOK_DEPTH_MAX));
    const char *fv_args[] = {"--market", "AAAUSDT,BBBUSDT,CCCUSDT", "--market-rate",
                             "50",       "--fault-gap-after",       "150",
                             NULL};
    char line[512];
    int resynced = 0, live_gen1 = 0;
    int64_t after = 0, du = 0, dl = 0;
    mdf_record_t *books = NULL;
    long nb, live = 0;

    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d,
                         VENUE_HEAD
                         "  symbols = [\"AAAUSDT\", \"BBBUSDT\", \"CCCUSDT\"]; trades = \"none\";\n"
                         "  kline = \"\"; book_ticker = false; order_book = \"diff\";\n"
                         "  book_speed = 100; });\n",
                         fv.port, fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(dmn_wait(&d, "BOOK_RESYNC", 30000, line, sizeof(line)), 0);
    ASSERT_CONTAINS(line, "gap after update");
    /* The text names the book's last id before the gap and the diff that skipped past it. */
    ASSERT_EQ(sscanf(strstr(line, "gap after update"),
                     "gap after update %" SCNd64 ": diff U %" SCNd64 " u %" SCNd64, &after, &du,
                     &dl),
              3);
    ASSERT_GT(after, 0);
    ASSERT_GT(du, after + 1);
    ASSERT_GE(dl, du);
    ASSERT_EQ(dmn_wait(&d, "generation 1", 20000, NULL, 0), 0); /* BOOK_LIVE again */
    usleep(1500000);
    ASSERT_EQ(dmn_count(&d, "BOOK_RESYNC"), 0); /* one gap, one resync */
    ASSERT_EQ(mdf_open(&inst, d.instance, 1000), 0);
    for (int i = 0; i < 3; i++) {
        static const char *const names[] = {"AAAUSDT", "BBBUSDT", "CCCUSDT"};

        latest_book(inst, sym_of(inst, names[i]), b);
        ASSERT_EQ(b->state, MDF_BOOK_LIVE);
        resynced += b->generation == 1;
        live_gen1 += b->generation == 1 && b->n_bids > 0 && b->n_asks > 0;
    }
    ASSERT_EQ(resynced, 1);
    ASSERT_EQ(live_gen1, 1);
    mdf_close(inst);
    free(b);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);

    /* Every LIVE book record, those made from a REST snapshot alone included, has a receive
     * time and an id range that is not empty (a snapshot's is lastUpdateId..lastUpdateId). */
    nb = e2e_drain(d.instance, MDF_RING_BOOKS, &books);
    ASSERT_GT(nb, 0);
    for (long i = 0; i < nb; i++) {
        const struct mdf_book *r = &books[i].book;

        if (r->h.type != MDF_REC_BOOK || r->state != MDF_BOOK_LIVE)
            continue;
        live++;
        if (r->h.recv_time_ns == 0 || r->first_update_id > r->last_update_id)
            test_fail(__FILE__, __LINE__,
                      "LIVE book record %ld (generation %" PRIu64 "): receive time %" PRId64
                      ", update ids %" PRId64 "..%" PRId64,
                      i, r->generation, r->h.recv_time_ns, r->first_update_id, r->last_update_id);
    }
    ASSERT_GT(live, 0);
    free(books);
    return 0;
}

static void rotation_run(const char *why, const char *const *fv_args, const char *conn_conf,
                         int want)
{
    struct fv_proc fv;
    struct dmn d;
    mdf_instance_t *inst;
    mdf_record_t *ticks = NULL, *books = NULL;
    long nt, nb;
    int rotations = 0;

    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d,
                         VENUE_HEAD "  symbols = [\"AAAUSDT\", \"BBBUSDT\"]; trades = \"both\";\n"
                                    "  kline = \"\"; book_ticker = true; order_book = \"diff\";\n"
                                    "  book_speed = 100; %s });\n",
                         fv.port, fv.port, conn_conf),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    for (int idle = 0; rotations < want && idle < 20;) {
        if (dmn_wait(&d, "replaced conn", 1000, NULL, 0) == 0) {
            rotations++;
            idle = 0;
        } else {
            idle++;
        }
        fv_count_lines(&fv, "\n"); /* the venue's log keeps flowing (a full pipe stalls it) */
    }
    if (rotations < want)
        test_fail(__FILE__, __LINE__, "%s: %d rotations", why, rotations);
    dmn_kill(&d, SIGTERM);
    ASSERT_EQ(dmn_wait_exit(&d, 10000), 0);
    fv_stop(&fv);
    nt = e2e_drain(d.instance, MDF_RING_TICKS, &ticks);
    nb = e2e_drain(d.instance, MDF_RING_BOOKS, &books);
    ASSERT_EQ(mdf_open(&inst, d.instance, 0), 0);
    for (int i = 0; i < 2; i++) {
        int64_t sym = sym_of(inst, i ? "BBBUSDT" : "AAAUSDT");
        int64_t prev_u = 0;

        /* Trades and aggregate trades: every id once, none missing, across every rotation. */
        ASSERT(check_trades_consecutive(ticks, nt, (uint32_t)sym, false) > 50);
        ASSERT(check_trades_consecutive(ticks, nt, (uint32_t)sym, true) > 20);
        /* The book never resynced: one generation, update ids only going up. */
        for (long k = 0; k < nb; k++) {
            const struct mdf_book *bk = &books[k].book;

            if (bk->h.symbol != (uint32_t)sym || bk->state != MDF_BOOK_LIVE)
                continue;
            ASSERT_EQ(bk->generation, 0u);
            ASSERT(bk->last_update_id > prev_u);
            prev_u = bk->last_update_id;
        }
        ASSERT(prev_u > 0);
    }
    mdf_close(inst);
    free(ticks);
    free(books);
}

TEST(e2e_rotation_by_age_loses_nothing_and_publishes_nothing_twice)
{
    const char *fv_args[] = {"--market", "AAAUSDT,BBBUSDT", "--market-rate", "100", NULL};

    rotation_run("age", fv_args,
                 "connection = { max_connection_age = 2.0; connect_timeout = 1.0;\n"
                 "  pong_timeout = 1.0; };",
                 3);
    return 0;
}

TEST(e2e_rotation_on_server_shutdown_loses_nothing_and_publishes_nothing_twice)
{
    const char *fv_args[] = {
        "--market", "AAAUSDT,BBBUSDT", "--market-rate", "100", "--shutdown-after", "2", NULL};

    rotation_run("serverShutdown", fv_args, "", 3);
    return 0;
}

/* A venue restarting its servers again and again sends the notice to every connection, the
 * replacement still taking over included, and cuts each one 3 s later: nothing is lost, for
 * minutes (about a rotation a second: e2e_notice_seconds() of them). A new connection every
 * half second is past the venue's limit of 300 in 5 minutes, which the daemon keeps to by
 * default (it would wait, and lose data as it must): here its budget is lifted. */
TEST(e2e_shutdown_notices_on_every_connection_replacements_included_lose_nothing)
{
    const char *fv_args[] = {"--market",
                             "AAAUSDT,BBBUSDT",
                             "--market-rate",
                             "100",
                             "--shutdown-after",
                             "0.5",
                             "--shutdown-grace",
                             "3",
                             NULL};

    rotation_run("serverShutdown on replacements", fv_args,
                 "connection = { max_conn_attempts = 100000; };", e2e_notice_seconds());
    return 0;
}

TEST(e2e_more_streams_than_one_connection_takes_spread_within_venue_limits)
{
    struct fv_proc fv;
    struct dmn d;
    char syms[8192] = "", list[16384] = "", name[16];
    const char *fv_args[] = {"--market", syms, "--market-rate", "1", NULL};
    mdf_instance_t *inst;
    int n = 300, seen = 0;

    /* 300 symbols x 4 streams = 1200 streams: over the 1024 one spot connection takes (the
     * candle warm-up's 300 klines calls come too, within the REST budget). */
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "S%03dUSDT", i);
        snprintf(syms + strlen(syms), sizeof(syms) - strlen(syms), "%s%s", i ? "," : "", name);
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s\"%s\"", i ? ", " : "", name);
    }
    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d,
                         VENUE_HEAD "  symbols = [%s]; trades = \"both\"; kline = \"1m\";\n"
                                    "  book_ticker = true; });\n",
                         fv.port, fv.port, list),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(fv_wait_line(&fv, "upgrade /stream", 10000, NULL, 0), 0);
    ASSERT_EQ(fv_wait_line(&fv, "upgrade /stream", 10000, NULL, 0), 0);
    /* Every symbol delivers: all 1200 subscriptions went through. */
    ASSERT_EQ(mdf_open(&inst, d.instance, 1000), 0);
    for (int k = 0; k < 300 && seen < n; k++) {
        struct mdf_candle c;

        seen = 0;
        for (int i = 0; i < n; i++) {
            snprintf(name, sizeof(name), "S%03dUSDT", i);
            int64_t sym = sym_of(inst, name);
            struct mdf_bbo bbo;

            seen += sym >= 0 && mdf_latest_bbo(inst, (uint32_t)sym, &bbo) == 0;
        }
        (void)c;
        if (seen < n)
            usleep(100000);
    }
    ASSERT_EQ(seen, n);
    mdf_close(inst);
    /* Two connections, each within the venue's limits: nothing cut, nothing refused. */
    ASSERT_EQ(fv_count_lines(&fv, "upgrade /stream"), 0);
    ASSERT_EQ(fv_count_lines(&fv, "rate-limit"), 0);
    ASSERT_EQ(fv_count_lines(&fv, "\"code\":"), 0);
    ASSERT_EQ(dmn_count(&d, "SUBSCRIPTION_FAILED"), 0);
    ASSERT_EQ(dmn_count(&d, "CONNECTION_DISCONNECTED"), 0);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

TEST(e2e_sighup_adds_and_removes_streams_live_untouched_streams_never_blink)
{
    struct fv_proc fv;
    struct dmn d;
    mdf_instance_t *inst;
    mdf_record_t *ticks = NULL;
    const char *fv_args[] = {"--market", "AAAUSDT,BBBUSDT,CCCUSDT", "--market-rate", "50", NULL};
    struct mdf_stream_entry e;
    struct mdf_trade t;
    struct mdf_bbo bbo;
    int64_t a, c;
    int retired = 0;
    long nt;

    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d,
                         VENUE_HEAD "  symbols = [\"AAAUSDT\", \"BBBUSDT\"]; trades = \"trade\";\n"
                                    "  kline = \"\"; book_ticker = true; });\n",
                         fv.port, fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(fv_wait_line(&fv, "upgrade", 10000, NULL, 0), 0);
    ASSERT_EQ(fv_wait_line(&fv, "SUBSCRIBE", 10000, NULL, 0), 0);
    ASSERT_EQ(dmn_wait(&d, "CONNECTION_ESTABLISHED", 10000, NULL, 0), 0);
    usleep(1000000);
    /* Drop BBBUSDT's book ticker, add CCCUSDT's trades. */
    ASSERT_EQ(dmn_rewrite(&d,
                          VENUE_HEAD
                          "  symbols = [\"AAAUSDT\", \"BBBUSDT\"]; trades = \"trade\";\n"
                          "  kline = \"\"; book_ticker = false;\n"
                          "  streams = ({ symbol = \"AAAUSDT\"; type = \"book_ticker\"; },\n"
                          "             { symbol = \"CCCUSDT\"; type = \"trade\"; }); });\n",
                          fv.port, fv.port),
              0);
    dmn_kill(&d, SIGHUP);
    ASSERT_EQ(dmn_wait(&d, "CONFIG_RELOADED", 5000, NULL, 0), 0);
    ASSERT_EQ(
        fv_wait_line(&fv, "\"UNSUBSCRIBE\",\"params\":[\"bbbusdt@bookTicker\"]", 5000, NULL, 0), 0);
    ASSERT_EQ(fv_wait_line(&fv, "\"SUBSCRIBE\",\"params\":[\"cccusdt@trade\"]", 5000, NULL, 0), 0);
    ASSERT_EQ(mdf_open(&inst, d.instance, 1000), 0);
    c = sym_of(inst, "CCCUSDT");
    for (int k = 0; k < 100 && (c < 0 || mdf_latest_trade(inst, (uint32_t)c, &t) != 0); k++) {
        usleep(50000);
        c = sym_of(inst, "CCCUSDT");
    }
    ASSERT_EQ(mdf_latest_trade(inst, (uint32_t)c, &t), 0);
    /* The removed book ticker's stream is retired: not found, no longer BBBUSDT's bbo, its last
     * record still readable by id; AAAUSDT's, kept, is untouched. */
    ASSERT_EQ(mdf_stream_find(inst, "binance-spot:BBBUSDT", "bookTicker"), -ENOENT);
    ASSERT_EQ(mdf_latest_bbo(inst, (uint32_t)sym_of(inst, "BBBUSDT"), &bbo), MDF_ENODATA);
    for (uint32_t i = 0; i < mdf_stream_count(inst); i++) {
        ASSERT_EQ(mdf_stream_info(inst, i, &e), 0);
        if (strcmp(e.key, "bbbusdt@bookTicker") == 0) {
            ASSERT_EQ(e.retired, 1);
            ASSERT_EQ(mdf_latest_bbo_stream(inst, i, &bbo), 0);
            retired++;
        }
    }
    ASSERT_EQ(retired, 1);
    ASSERT_GE(mdf_stream_find(inst, "binance-spot:AAAUSDT", "bookTicker"), 0);
    ASSERT_EQ(mdf_latest_bbo(inst, (uint32_t)sym_of(inst, "AAAUSDT"), &bbo), 0);
    usleep(500000);
    /* One connection throughout; AAAUSDT's trades never missed one. */
    ASSERT_EQ(fv_count_lines(&fv, "upgrade"), 0);
    ASSERT_EQ(dmn_count(&d, "CONNECTION_"), 0);
    nt = e2e_drain(d.instance, MDF_RING_TICKS, &ticks);
    a = sym_of(inst, "AAAUSDT");
    ASSERT(check_trades_consecutive(ticks, nt, (uint32_t)a, false) > 20);
    mdf_close(inst);
    free(ticks);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

TEST(e2e_candles_missed_in_an_outage_are_backfilled_without_holes)
{
    struct fv_proc fv;
    struct dmn d;
    mdf_instance_t *inst;
    struct mdf_candle c[64];
    const char *fv_args[] = {"--market", "AAAUSDT", "--fault-rst-after", "8", "--fault-conns",
                             "1",        NULL};
    int n, backfilled = 0;
    int64_t sym;

    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d,
                         VENUE_HEAD
                         "  symbols = [\"AAAUSDT\"]; trades = \"none\";\n"
                         "  kline = \"1s\"; book_ticker = false; candle_warmup = false;\n"
                         "  connection = { reconnect_base_delay = 4.0;\n"
                         "    reconnect_jitter = 0.0; }; });\n",
                         fv.port, fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(dmn_wait(&d, "CONNECTION_DISCONNECTED", 20000, NULL, 0), 0);
    ASSERT_EQ(dmn_wait(&d, "CANDLES_BACKFILLED", 20000, NULL, 0), 0);
    usleep(2500000);
    ASSERT_EQ(mdf_open(&inst, d.instance, 1000), 0);
    sym = sym_of(inst, "AAAUSDT");
    n = mdf_candles_last(inst, (uint32_t)sym, MDF_IV_1S, c, 64);
    ASSERT(n >= 8);
    for (int i = 0; i < n; i++) {
        ASSERT(c[i].h.flags & MDF_CANDLE_F_CLOSED);
        backfilled += !!(c[i].h.flags & MDF_CANDLE_F_BACKFILLED);
        if (i)
            ASSERT_EQ(c[i].open_time_ns, c[i - 1].open_time_ns + 1000000000LL);
    }
    ASSERT(backfilled >= 2); /* the outage lasted at least 4 s */
    mdf_close(inst);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

TEST(e2e_quiet_symbol_is_not_flagged_stale_or_silent)
{
    struct fv_proc fv;
    struct dmn d;
    const char *fv_args[] = {"--market", "AAAUSDT,QQQUSDT", "--market-quiet", "QQQUSDT", NULL};

    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d,
                         VENUE_HEAD "  symbols = [\"AAAUSDT\", \"QQQUSDT\"]; trades = \"both\";\n"
                                    "  kline = \"1s\"; book_ticker = true; order_book = \"diff\";\n"
                                    "  book_speed = 100; ticker = true;\n"
                                    "  health = { silent_after = 1.0; stale_min = 1.0;\n"
                                    "    stale_factor = 3.0; check_interval = 0.2; }; });\n",
                         fv.port, fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    usleep(6000000);
    ASSERT_EQ(dmn_count(&d, "SUBSCRIPTION_SILENT"), 0);
    ASSERT_EQ(dmn_count(&d, "FEED_STALE"), 0);
    ASSERT_EQ(dmn_count(&d, "WATCHDOG_TRIGGERED"), 0);
    fv_stop(&fv);
    ASSERT_EQ(dmn_stop(&d), 0);
    return 0;
}

TEST(e2e_stalled_venue_streams_are_flagged_stale_then_watchdog_replaces_connection)
{
    struct fv_proc fv;
    struct dmn d;
    const char *fv_args[] = {
        "--venue", "binance-futures", "--market", "AAAUSDT", "--fault-stall-after",
        "20",      "--fault-conns",   "1",        NULL};
    char line[512];

    /* The venue stops sending (socket open): the mark price, which the venue pushes every
     * second whatever the market does, goes stale; the watchdog replaces its connection
     * (make-before-break) before the pong deadline would drop it, and the new one delivers
     * again. */
    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d,
                         "venues = ({ venue = \"binance-futures\"; url = \"ws://127.0.0.1:%d\";\n"
                         "  rest_url = \"http://127.0.0.1:%d\";\n"
                         "  symbols = [\"AAAUSDT\"]; trades = \"none\"; kline = \"1m\";\n"
                         "  book_ticker = false; funding = true;\n"
                         "  connection = { ping_interval = 2.0; pong_timeout = 2.0;\n"
                         "    reconnect_base_delay = 0.2; };\n"
                         "  health = { stale_min = 1.0; stale_factor = 1.5;\n"
                         "    check_interval = 0.2; watchdog_timeout = 5.0; }; });\n",
                         fv.port, fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(dmn_wait(&d, "FEED_STALE", 20000, line, sizeof(line)), 0);
    ASSERT_CONTAINS(line, "aaausdt@markPrice");
    ASSERT_CONTAINS(line, "at least every 1.0 s");
    ASSERT_EQ(dmn_wait(&d, "WATCHDOG_TRIGGERED", 20000, line, sizeof(line)), 0);
    ASSERT_CONTAINS(line, "stale");
    ASSERT_EQ(dmn_wait(&d, "FEED_RECOVERED", 20000, NULL, 0), 0);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

/* Finds stream `kind` of binance-spot:native, failing the test if there is none. */
static uint32_t stream_of(mdf_instance_t *inst, const char *native, const char *kind)
{
    char key[64];
    int64_t id;

    snprintf(key, sizeof(key), "binance-spot:%s", native);
    id = mdf_stream_find(inst, key, kind);
    if (id < 0)
        test_fail(__FILE__, __LINE__, "no stream %s of %s: %s", kind, key, mdf_errmsg());
    return (uint32_t)id;
}

/* True if books a and b are LIVE and have the same top n levels a side (values). */
static bool same_top(const struct mdf_book *a, const struct mdf_book *b, int n)
{
    if (a->state != MDF_BOOK_LIVE || b->state != MDF_BOOK_LIVE || a->n_bids < n || b->n_bids < n ||
        a->n_asks < n || b->n_asks < n)
        return false;
    for (int s = 0; s < 2; s++)
        for (int i = 0; i < n; i++) {
            const struct mdf_level *x = &a->levels[s * a->depth + i];
            const struct mdf_level *y = &b->levels[s * b->depth + i];

            if (mdf_dec_cmp(x->px, y->px) || mdf_dec_cmp(x->qty, y->qty))
                return false;
        }
    return true;
}

/* One symbol with three books (the venue's top 5 and top 20 every 100 ms, and the diff book
 * kept locally) and both tickers: each stream keeps its own latest record, says which it is,
 * and once the market stops the three books agree on their common top; the per-symbol calls
 * give the local full book and the full ticker. */
TEST(e2e_depth5_depth20_diff_and_ticker_mini_of_one_symbol_are_read_apart)
{
    struct fv_proc fv;
    struct dmn d;
    mdf_instance_t *inst;
    size_t len = MDF_BOOK_SIZE(MDF_BOOK_DEPTH_MAX);
    struct mdf_book *b5 = malloc(len), *b20 = malloc(len), *bd = malloc(len);
    const char *fv_args[] = {"--market", "AAAUSDT", "--market-rate", "50", "--market-events",
                             "200",      NULL};
    struct mdf_stream_entry e;
    struct mdf_ticker t;
    uint32_t s5, s20, sd, st, sm, sym;
    bool agree = false;

    ASSERT(b5 && b20 && bd);
    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d,
                         VENUE_HEAD
                         "  symbols = [\"AAAUSDT\"]; trades = \"none\"; kline = \"\";\n"
                         "  book_ticker = false; order_book = \"diff\"; book_speed = 100;\n"
                         "  streams = ({ symbol = \"AAAUSDT\"; type = \"depth\"; levels = 5;\n"
                         "               speed = 100; },\n"
                         "             { symbol = \"AAAUSDT\"; type = \"depth\"; levels = 20;\n"
                         "               speed = 100; },\n"
                         "             { symbol = \"AAAUSDT\"; type = \"ticker\"; },\n"
                         "             { symbol = \"AAAUSDT\"; type = \"mini_ticker\"; }); });\n",
                         fv.port, fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(dmn_wait(&d, "AAAUSDT book live", 20000, NULL, 0), 0);
    ASSERT_EQ(mdf_open(&inst, d.instance, 1000), 0);
    sym = (uint32_t)sym_of(inst, "AAAUSDT");
    s5 = stream_of(inst, "AAAUSDT", "depth5");
    s20 = stream_of(inst, "AAAUSDT", "aaausdt@depth20@100ms");
    sd = stream_of(inst, "AAAUSDT", "depth");
    st = stream_of(inst, "AAAUSDT", "ticker");
    sm = stream_of(inst, "AAAUSDT", "miniTicker");
    ASSERT(s5 != s20 && s5 != sd && s20 != sd && st != sm);
    ASSERT_EQ(mdf_stream_info(inst, sd, &e), 0);
    ASSERT_STR_EQ(e.key, "aaausdt@depth@100ms");
    ASSERT_STR_EQ(e.kind, "depth@100ms");
    ASSERT_EQ(e.symbol, sym);
    ASSERT_EQ(e.book_kind, MDF_BOOK_KIND_FULL);
    ASSERT_EQ(mdf_stream_info(inst, s20, &e), 0);
    ASSERT_EQ(e.book_kind, MDF_BOOK_KIND_PARTIAL);
    ASSERT_EQ(e.levels, 20);

    /* The market stops after 200 events (4 s); then every book shows its final state. */
    for (int k = 0; k < 200 && !agree; k++) {
        usleep(100000);
        agree = mdf_latest_book_stream(inst, s5, b5, len) == 0 &&
                mdf_latest_book_stream(inst, s20, b20, len) == 0 &&
                mdf_latest_book_stream(inst, sd, bd, len) == 0 && same_top(b5, b20, 5) &&
                same_top(b20, bd, 20) && k > 50;
    }
    ASSERT(agree);
    /* Each says which book it is, and holds what its stream asked for. */
    ASSERT_EQ(b5->h.stream, s5);
    ASSERT_EQ(b5->kind, MDF_BOOK_KIND_PARTIAL);
    ASSERT(b5->h.flags & MDF_BOOK_F_PARTIAL);
    ASSERT_EQ(b5->levels_asked, 5);
    ASSERT_EQ(b5->n_bids, 5);
    ASSERT_EQ(b5->n_asks, 5);
    ASSERT_EQ(b20->h.stream, s20);
    ASSERT_EQ(b20->kind, MDF_BOOK_KIND_PARTIAL);
    ASSERT_EQ(b20->levels_asked, 20);
    ASSERT_EQ(b20->n_bids, 20);
    ASSERT_EQ(bd->h.stream, sd);
    ASSERT_EQ(bd->kind, MDF_BOOK_KIND_FULL);
    ASSERT_EQ(bd->h.flags & MDF_BOOK_F_PARTIAL, 0);
    ASSERT_EQ(bd->levels_asked, 0);
    ASSERT_EQ(bd->n_bids, mdf_book_depth(inst));
    ASSERT_EQ(bd->precision, 0);
    /* The per-symbol book is the local full one. */
    ASSERT_EQ(mdf_latest_book(inst, sym, b5, len), 0);
    ASSERT_EQ(b5->h.stream, sd);
    ASSERT_EQ(b5->kind, MDF_BOOK_KIND_FULL);

    /* Tickers: both every second; the mini one has no best bid/offer. */
    ASSERT_EQ(mdf_latest_ticker_stream(inst, st, &t), 0);
    ASSERT_EQ(t.h.stream, st);
    ASSERT_EQ(t.h.flags & MDF_TICKER_F_MINI, 0);
    ASSERT(t.bid_px.m != 0 && t.ask_px.m != 0);
    ASSERT_EQ(mdf_latest_ticker_stream(inst, sm, &t), 0);
    ASSERT_EQ(t.h.stream, sm);
    ASSERT(t.h.flags & MDF_TICKER_F_MINI);
    ASSERT_EQ(t.bid_px.m, 0);
    ASSERT(t.last_px.m != 0);
    /* The per-symbol ticker is the full one, however recently the mini one came. */
    for (int k = 0; k < 12; k++) {
        ASSERT_EQ(mdf_latest_ticker(inst, sym, &t), 0);
        ASSERT_EQ(t.h.stream, st);
        ASSERT_EQ(t.h.flags & MDF_TICKER_F_MINI, 0);
        usleep(100000);
    }
    mdf_close(inst);
    free(b5);
    free(b20);
    free(bd);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}
