/*
 * End to end: the candle history warm-up. A first start against the fake venue's synthetic
 * market has the last K (shm.candle_history) closed candles of every Binance kline stream in the
 * table within seconds, each equal to the venue's own REST klines (fetched here independently),
 * with nothing twice in the ring; a kline stream added by SIGHUP is warmed up the same way; a
 * restart adopting the state segment fetches only the candles missed while it was down; and a
 * warm-up that needs more REST weight than the budget allows in one minute waits for the next
 * minute instead of drawing a 429.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <mdfeed/mdfeed.h>

#include "e2e/e2e.h"
#include "support/daemon.h"
#include "support/fakevenue.h"
#include "support/wsclient.h"
#include "test.h"

#define MS INT64_C(1000000)

static int64_t wall_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t sym_id(mdf_instance_t *inst, const char *venue, const char *native)
{
    char key[64];
    int64_t id;

    snprintf(key, sizeof(key), "%s:%s", venue, native);
    id = mdf_symbol_lookup(inst, key);
    if (id < 0)
        test_fail(__FILE__, __LINE__, "no symbol %s", key);
    return id;
}

/* The series' held candles, newest k, oldest first (at most k). */
static int held(mdf_instance_t *inst, int64_t sym, int iv, struct mdf_candle *c, int k)
{
    int n = mdf_candles_last(inst, (uint32_t)sym, iv, c, (size_t)k);

    return n < 0 ? 0 : n;
}

/* Fails unless c[0..n) are closed candles of interval iv one interval apart, the newest one
 * opened no more than three intervals (at least 10 s) ago. Returns how many are flagged
 * backfilled. */
static int check_series(const struct mdf_candle *c, int n, int iv, const char *what)
{
    int64_t len = mdf_interval_ns(iv);
    int backfilled = 0;

    for (int i = 0; i < n; i++) {
        if (!(c[i].h.flags & MDF_CANDLE_F_CLOSED))
            test_fail(__FILE__, __LINE__, "%s: candle %d not closed", what, i);
        if (i && c[i].open_time_ns != c[i - 1].open_time_ns + len)
            test_fail(__FILE__, __LINE__, "%s: candle %d opens at %" PRId64 " after %" PRId64, what,
                      i, c[i].open_time_ns, c[i - 1].open_time_ns);
        backfilled += !!(c[i].h.flags & MDF_CANDLE_F_BACKFILLED);
    }
    ASSERT_GE(c[n - 1].open_time_ns + (3 * len > 10000 * MS ? 3 * len : 10000 * MS), wall_ns());
    return backfilled;
}

/* Fails unless c[0..n) of native symbol sym are exactly the fake venue's REST klines of the
 * same open times, asked for here page by page. */
static void check_equal_rest(int port, bool spot, const char *sym, int iv,
                             const struct mdf_candle *c, int n)
{
    int i = 0;

    while (i < n) {
        char target[256];
        struct wsc_http h;
        json_t *arr, *row;
        size_t k;

        snprintf(target, sizeof(target),
                 "%s?symbol=%s&interval=%s&startTime=%" PRId64 "&endTime=%" PRId64 "&limit=1000",
                 spot ? "/api/v3/klines" : "/fapi/v1/klines", sym, mdf_interval_name(iv),
                 c[i].open_time_ns / MS, c[n - 1].open_time_ns / MS);
        ASSERT_EQ(wsc_http_get(&h, port, target, 5000), 0);
        ASSERT_EQ(h.status, 200);
        arr = json_loads((const char *)h.body, 0, NULL);
        wsc_http_close(&h);
        ASSERT(arr && json_is_array(arr) && json_array_size(arr) > 0);
        json_array_foreach(arr, k, row)
        {
            const struct mdf_candle *x = &c[i];

            ASSERT(i < n);
            ASSERT_EQ(json_integer_value(json_array_get(row, 0)) * MS, x->open_time_ns);
            ASSERT_EQ(json_integer_value(json_array_get(row, 6)) * MS, x->close_time_ns);
            E2E_ASSERT_DEC(x->open, json_string_value(json_array_get(row, 1)));
            E2E_ASSERT_DEC(x->high, json_string_value(json_array_get(row, 2)));
            E2E_ASSERT_DEC(x->low, json_string_value(json_array_get(row, 3)));
            E2E_ASSERT_DEC(x->close, json_string_value(json_array_get(row, 4)));
            E2E_ASSERT_DEC(x->volume, json_string_value(json_array_get(row, 5)));
            E2E_ASSERT_DEC(x->quote_volume, json_string_value(json_array_get(row, 7)));
            ASSERT_EQ(json_integer_value(json_array_get(row, 8)), x->trades);
            E2E_ASSERT_DEC(x->taker_buy_base, json_string_value(json_array_get(row, 9)));
            E2E_ASSERT_DEC(x->taker_buy_quote, json_string_value(json_array_get(row, 10)));
            i++;
        }
        json_decref(arr);
    }
}

/* Fails if the candles ring holds a closed candle of one series twice. */
static void check_ring_no_dups(const char *instance)
{
    mdf_record_t *v = NULL;
    long n = e2e_drain(instance, MDF_RING_CANDLES, &v);
    long closed = 0;

    for (long i = 0; i < n; i++) {
        const struct mdf_candle *a = &v[i].candle;

        if (a->h.type != MDF_REC_CANDLE || !(a->h.flags & MDF_CANDLE_F_CLOSED))
            continue;
        closed++;
        for (long j = i + 1; j < n; j++) {
            const struct mdf_candle *b = &v[j].candle;

            if (b->h.type == MDF_REC_CANDLE && (b->h.flags & MDF_CANDLE_F_CLOSED) &&
                b->h.symbol == a->h.symbol && b->interval == a->interval &&
                b->open_time_ns == a->open_time_ns)
                test_fail(__FILE__, __LINE__, "candle of symbol %u %s at %" PRId64 " twice",
                          a->h.symbol, mdf_interval_name((int)a->interval), a->open_time_ns);
        }
    }
    fprintf(stderr, "  ring: %ld closed candles, none twice\n", closed);
    free(v);
}

/* Reads the fake venue's log until it has been quiet for quiet_ms (10 s for the first request):
 * the klines requests it answered (their "limit", at most max stored), and how many were
 * answered 429. Returns the count of requests. */
static int klines_requests(struct fv_proc *fv, int quiet_ms, long *limits, int max, int *n429)
{
    char line[1024];
    int n = 0;

    *n429 = 0;
    while (fv_wait_line(fv, "klines?", n ? quiet_ms : 10000, line, sizeof(line)) == 0) {
        const char *l = strstr(line, "limit=");
        size_t len = strlen(line);

        fprintf(stderr, "  venue: %s\n", line);
        if (len > 4 && strcmp(line + len - 4, " 429") == 0)
            (*n429)++;
        if (n < max)
            limits[n] = l ? strtol(l + 6, NULL, 10) : -1;
        n++;
    }
    return n;
}

#define SPOT_HEAD                                                                                  \
    "shm = { candle_history = %d; };\n"                                                            \
    "venues = ({ venue = \"binance-spot\"; url = \"ws://127.0.0.1:%d\";\n"                         \
    "  rest_url = \"http://127.0.0.1:%d\";\n"

TEST(e2e_first_start_has_the_last_k_candles_of_every_kline_stream_within_seconds)
{
    static const char *syms[] = {"AAAUSDT", "BBBUSDT"};
    static const int ivs[] = {MDF_IV_1S, MDF_IV_1M};
    enum { K = 1200 }; /* more than one page (1000) */
    const char *fv_args[] = {"--market", "AAAUSDT,BBBUSDT", NULL};
    struct mdf_candle *c = calloc(K, sizeof(*c));
    struct fv_proc fv;
    struct dmn d;
    mdf_instance_t *inst;
    int64_t t0, full_ns = 0;
    long limits[16];
    int n429, nreq, full = 0;

    ASSERT(c != NULL);
    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d,
                         SPOT_HEAD "  symbols = [\"AAAUSDT\", \"BBBUSDT\"]; trades = \"none\";\n"
                                   "  kline = [\"1s\", \"1m\"]; book_ticker = false; });\n",
                         K, fv.port, fv.port),
              0);
    t0 = wall_ns();
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(mdf_open(&inst, d.instance, 2000), 0);
    /* Every series full within seconds, not one candle per interval. */
    while (wall_ns() - t0 < 15000 * MS) {
        full = 0;
        for (int s = 0; s < 2; s++)
            for (int i = 0; i < 2; i++)
                full += held(inst, sym_id(inst, "binance-spot", syms[s]), ivs[i], c, K) == K;
        if (full == 4)
            break;
        usleep(100000);
    }
    full_ns = wall_ns() - t0;
    fprintf(stderr, "  %d of 4 series held %d candles %.2f s after the start\n", full, K,
            (double)full_ns / 1e9);
    ASSERT_EQ(full, 4);
    /* One request per page, two pages (1000 + 200) per series; none refused (read before this
     * test's own requests below). */
    nreq = klines_requests(&fv, 1500, limits, 16, &n429);
    ASSERT_EQ(nreq, 8);
    for (int i = 0; i < nreq; i++)
        ASSERT(limits[i] == 1000 || limits[i] == 200);
    /* One notice for the whole venue; the pages are events at debug level, not logged. */
    {
        /* A notice each time the warm-ups under way are over (streams start when their first
         * kline message comes): together all 4 x K candles; the pages are events at debug level,
         * not logged. */
        char line[512];
        long candles = 0, streams = 0;

        while (dmn_wait(&d, "candle history warm-up done: ", 2000, line, sizeof(line)) == 0) {
            const char *p = strstr(line, "done: ");
            long a = 0, b = 0;

            ASSERT(p && sscanf(p, "done: %ld closed candles for %ld kline streams", &a, &b) == 2);
            candles += a;
            streams += b;
        }
        ASSERT_EQ(candles, 4 * K);
        ASSERT_EQ(streams, 4);
        ASSERT_EQ(dmn_count(&d, "(history warm-up)"), 0);
    }
    ASSERT_EQ(dmn_count(&d, "(history warm-up)"), 0);
    ASSERT_EQ(n429, 0);
    ASSERT_EQ(dmn_count(&d, "REST_THROTTLED"), 0);
    for (int s = 0; s < 2; s++)
        for (int i = 0; i < 2; i++) {
            char what[64];
            int n = held(inst, sym_id(inst, "binance-spot", syms[s]), ivs[i], c, K), bf;

            snprintf(what, sizeof(what), "%s %s", syms[s], mdf_interval_name(ivs[i]));
            ASSERT_EQ(n, K);
            bf = check_series(c, n, ivs[i], what);
            /* All but those the stream closed since the start came over REST. */
            ASSERT_GE(bf, K - 20);
            check_equal_rest(fv.port, true, syms[s], ivs[i], c, n);
            fprintf(stderr, "  %s: %d candles, %d backfilled, equal to REST klines\n", what, n, bf);
        }
    mdf_close(inst);
    ASSERT_EQ(dmn_stop(&d), 0);
    check_ring_no_dups(d.instance);
    fv_stop(&fv);
    free(c);
    return 0;
}

TEST(e2e_restart_adopting_the_state_fetches_only_the_candles_missed)
{
    enum { K = 300 };
    const char *fv_args[] = {"--market", "AAAUSDT", NULL};
    const char *conf = SPOT_HEAD "  symbols = [\"AAAUSDT\"]; trades = \"none\";\n"
                                 "  kline = [\"1s\", \"1m\"]; book_ticker = false; });\n";
    struct mdf_candle *c = calloc(K, sizeof(*c));
    struct fv_proc fv;
    struct dmn d;
    mdf_instance_t *inst;
    long limits[16];
    int n429, nreq, n;
    int64_t sym, end;

    ASSERT(c != NULL);
    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d, conf, K, fv.port, fv.port), 0);
    ASSERT_EQ(dmn_start(&d), 0);
    nreq = klines_requests(&fv, 2000, limits, 16, &n429);
    ASSERT_EQ(nreq, 2); /* the warm-up: one page per series */
    ASSERT_EQ(n429, 0);
    ASSERT_EQ(dmn_stop(&d), 0);

    /* Down for 3 s; then the same instance again. */
    usleep(3000000);
    ASSERT_EQ(dmn_config(&d, conf, K, fv.port, fv.port), 0);
    ASSERT_EQ(dmn_start(&d), 0);
    nreq = klines_requests(&fv, 2000, limits, 16, &n429);
    fprintf(stderr, "  after the restart: %d klines requests", nreq);
    for (int i = 0; i < nreq && i < 16; i++)
        fprintf(stderr, " limit=%ld", limits[i]);
    fprintf(stderr, "\n");
    /* The 1s series' gap (a few candles), maybe the 1m one's; never the history again. */
    ASSERT_GE(nreq, 1);
    ASSERT_LE(nreq, 2);
    for (int i = 0; i < nreq; i++)
        ASSERT_LE(limits[i], 60); /* the seconds it was down, far from the 300 */
    ASSERT_EQ(mdf_open(&inst, d.instance, 2000), 0);
    sym = sym_id(inst, "binance-spot", "AAAUSDT");
    end = wall_ns() + 5000 * MS;
    while ((n = held(inst, sym, MDF_IV_1S, c, K)) < K && wall_ns() < end)
        usleep(100000);
    ASSERT_EQ(n, K);
    check_series(c, n, MDF_IV_1S, "AAAUSDT 1s");
    check_equal_rest(fv.port, true, "AAAUSDT", MDF_IV_1S, c, n);
    ASSERT_EQ(held(inst, sym, MDF_IV_1M, c, K), K);
    check_series(c, K, MDF_IV_1M, "AAAUSDT 1m");
    mdf_close(inst);
    ASSERT_EQ(dmn_stop(&d), 0);
    check_ring_no_dups(d.instance);
    fv_stop(&fv);
    free(c);
    return 0;
}

TEST(e2e_kline_stream_added_by_sighup_is_warmed_up_too)
{
    enum { K = 400 };
    const char *fv_args[] = {"--market", "AAAUSDT,BBBUSDT", NULL};
    struct mdf_candle *c = calloc(K, sizeof(*c));
    struct fv_proc fv;
    struct dmn d;
    mdf_instance_t *inst;
    long limits[16];
    int n429, nreq, n = 0;
    int64_t sym = -1, end;

    ASSERT(c != NULL);
    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d,
                         SPOT_HEAD "  symbols = [\"AAAUSDT\"]; trades = \"none\";\n"
                                   "  kline = \"1m\"; book_ticker = false; });\n",
                         K, fv.port, fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(klines_requests(&fv, 2000, limits, 16, &n429), 1);
    /* BBBUSDT's 1m and 5m klines added live. */
    ASSERT_EQ(dmn_rewrite(&d,
                          SPOT_HEAD "  symbols = [\"AAAUSDT\", \"BBBUSDT\"]; trades = \"none\";\n"
                                    "  kline = \"1m\"; book_ticker = false;\n"
                                    "  streams = ({ symbol = \"BBBUSDT\"; type = \"kline\";\n"
                                    "    interval = \"5m\"; }); });\n",
                          K, fv.port, fv.port),
              0);
    dmn_kill(&d, SIGHUP);
    ASSERT_EQ(mdf_open(&inst, d.instance, 2000), 0);
    end = wall_ns() + 15000 * MS;
    while (wall_ns() < end) {
        sym = mdf_symbol_lookup(inst, "binance-spot:BBBUSDT");
        if (sym >= 0 && (n = held(inst, sym, MDF_IV_1M, c, K)) == K &&
            held(inst, sym, MDF_IV_5M, c, K) == K)
            break;
        usleep(100000);
    }
    ASSERT(sym >= 0);
    ASSERT_EQ(held(inst, sym, MDF_IV_1M, c, K), K);
    ASSERT_EQ(held(inst, sym, MDF_IV_5M, c, K), K);
    /* Only the new streams' history was fetched, one page each. */
    nreq = klines_requests(&fv, 1500, limits, 16, &n429);
    ASSERT_EQ(nreq, 2);
    ASSERT_EQ(n429, 0);
    check_series(c, K, MDF_IV_5M, "BBBUSDT 5m");
    check_equal_rest(fv.port, true, "BBBUSDT", MDF_IV_5M, c, K);
    n = held(inst, sym, MDF_IV_1M, c, K);
    check_series(c, n, MDF_IV_1M, "BBBUSDT 1m");
    mdf_close(inst);
    ASSERT_EQ(dmn_stop(&d), 0);
    check_ring_no_dups(d.instance);
    fv_stop(&fv);
    free(c);
    return 0;
}

TEST(e2e_candle_warmup_over_a_minute_of_weight_waits_for_the_next_minute)
{
    static const char *syms[] = {"AAAUSDT", "BBBUSDT", "CCCUSDT", "DDDUSDT", "EEEUSDT"};
    static const int ivs[] = {MDF_IV_1M, MDF_IV_3M, MDF_IV_5M};
    enum { K = 1500 }; /* one page of 1500 per series, weight 10 on futures */
    /* The venue answers 429 beyond 120 weight a minute: 5% of the futures' 2400, what the
     * entry allows itself. 15 series x 10 = 150: 12 this minute, 3 the next. */
    const char *fv_args[] = {"--venue",
                             "binance-futures",
                             "--market",
                             "AAAUSDT,BBBUSDT,CCCUSDT,DDDUSDT,EEEUSDT",
                             "--weight-limit",
                             "120",
                             NULL};
    struct mdf_candle *c = calloc(K, sizeof(*c));
    struct fv_proc fv;
    struct dmn d;
    mdf_instance_t *inst;
    long limits[32];
    int64_t left, end, minute0;
    int n429, nreq, full = 0, full_first = 0;

    ASSERT(c != NULL);
    /* The first 12 must not fall just before a minute's end. */
    left = 60000 - (wall_ns() / MS) % 60000;
    if (left < 25000)
        usleep((useconds_t)(left + 500) * 1000);
    minute0 = wall_ns() / (60000 * MS);
    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d,
                         "shm = { candle_history = %d; };\n"
                         "venues = ({ venue = \"binance-futures\"; url = \"ws://127.0.0.1:%d\";\n"
                         "  rest_url = \"http://127.0.0.1:%d\"; rest_weight_share = 0.05;\n"
                         "  symbols = [\"AAAUSDT\", \"BBBUSDT\", \"CCCUSDT\", \"DDDUSDT\",\n"
                         "    \"EEEUSDT\"]; trades = \"none\"; kline = [\"1m\", \"3m\", \"5m\"];\n"
                         "  book_ticker = false; });\n",
                         K, fv.port, fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(mdf_open(&inst, d.instance, 2000), 0);
    end = wall_ns() + 90000 * MS;
    do {
        usleep(200000);
        full = 0;
        for (int s = 0; s < 5; s++)
            for (int i = 0; i < 3; i++)
                full += held(inst, sym_id(inst, "binance-futures", syms[s]), ivs[i], c, K) == K;
        if (wall_ns() / (60000 * MS) == minute0)
            full_first = full;
    } while (full < 15 && wall_ns() < end);
    fprintf(stderr, "  %d series full in the first minute, %d in all\n", full_first, full);
    ASSERT_EQ(full_first, 12);
    ASSERT_EQ(full, 15);
    nreq = klines_requests(&fv, 1000, limits, 32, &n429);
    ASSERT_EQ(n429, 0); /* the venue never had to refuse one */
    ASSERT_EQ(nreq, 15);
    for (int i = 0; i < nreq; i++)
        ASSERT_EQ(limits[i], K);
    ASSERT_EQ(dmn_count(&d, "REST_THROTTLED"), 0);
    for (int s = 0; s < 5; s++)
        for (int i = 0; i < 3; i++) {
            int n = held(inst, sym_id(inst, "binance-futures", syms[s]), ivs[i], c, K);

            check_series(c, n, ivs[i], syms[s]);
        }
    /* One series against the venue's REST klines (more would spend the venue's 120). */
    check_equal_rest(fv.port, false, "AAAUSDT", MDF_IV_5M, c,
                     held(inst, sym_id(inst, "binance-futures", "AAAUSDT"), MDF_IV_5M, c, K));
    mdf_close(inst);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    free(c);
    return 0;
}
