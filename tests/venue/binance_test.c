/*
 * Tests of the Binance profiles, stream names, URLs and the decoder (src/venue/venue.c and
 * src/venue/binance.c): the real spot recording and the documentation examples of
 * src/venue/README.md, decoded with both JSON backends and checked field by field against values
 * written by hand or read independently from the message text, plus hostile input.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "venue/venue.h"

#include "test.h"

#define MAX_MSG (4u << 20) /* decoders in these tests take messages up to 4 MiB */

/* ------------------------------------------------------------------------------------------ */
/* Helpers                                                                                    */

/* Path of a file under tests/fixtures/ in the source tree this runner was built from. */
static const char *fixture(const char *name)
{
    static char path[4096 + 256];
    char root[4096];
    char *p;

    snprintf(root, sizeof(root), "%s", test_bin("x"));
    p = strstr(root, "/build");
    if (p)
        *p = '\0';
    snprintf(path, sizeof(path), "%s/tests/fixtures/%s", root, name);
    return path;
}

/* Reads a whole file (new, NUL-terminated). Fails the test if it cannot. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f)
        test_fail(__FILE__, __LINE__, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    ASSERT(buf);
    ASSERT_EQ(fread(buf, 1, (size_t)n, f), n);
    buf[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return buf;
}

/* The JSON messages of a recording: each line "<time>: <json>" (ws.rec) or
 * "<url> -> <time>: <json>" (http.rec); lines without ": {" or ": [" are skipped. */
struct rec_lines {
    char *buf;  /* the file (owned) */
    char **msg; /* NUL-terminated messages inside buf */
    size_t n;   /* their count */
};

static void rec_load(struct rec_lines *r, const char *name)
{
    char *line, *save = NULL;
    size_t cap = 0;

    r->buf = slurp(fixture(name), NULL);
    r->msg = NULL;
    r->n = 0;
    for (line = strtok_r(r->buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *j = strstr(line, ": {");
        if (!j)
            j = strstr(line, ": [");
        if (!j)
            continue;
        if (r->n == cap) {
            cap = cap ? cap * 2 : 64;
            r->msg = realloc(r->msg, cap * sizeof(*r->msg));
            ASSERT(r->msg);
        }
        r->msg[r->n++] = j + 2;
    }
}

static void rec_free(struct rec_lines *r)
{
    free(r->msg);
    free(r->buf);
}

/* Copies the string value of the first "key":"..." after `from` in msg into buf; fails the test
 * if there is none. Returns buf. */
static const char *str_after(const char *msg, const char *from, const char *key, char *buf,
                             size_t cap)
{
    char pat[64];
    const char *p = from ? strstr(msg, from) : msg, *e;

    ASSERT(p);
    snprintf(pat, sizeof(pat), "\"%s\":\"", key);
    p = strstr(p, pat);
    if (!p)
        test_fail(__FILE__, __LINE__, "no \"%s\" string in %s", key, msg);
    p += strlen(pat);
    e = strchr(p, '"');
    ASSERT(e && (size_t)(e - p) < cap);
    memcpy(buf, p, (size_t)(e - p));
    buf[e - p] = '\0';
    return buf;
}

/* The integer after the first "key": in msg (after `from` when given). */
static int64_t int_after(const char *msg, const char *from, const char *key)
{
    char pat[64];
    const char *p = from ? strstr(msg, from) : msg;

    ASSERT(p);
    snprintf(pat, sizeof(pat), "\"%s\":", key);
    p = strstr(p, pat);
    if (!p)
        test_fail(__FILE__, __LINE__, "no \"%s\" in %s", key, msg);
    return strtoll(p + strlen(pat), NULL, 10);
}

/* Asserts that decimal d formats to exactly text. */
#define ASSERT_DEC(d, text)                                                                        \
    do {                                                                                           \
        char b_[MDF_DEC_STR_MAX];                                                                  \
        ASSERT(mdf_dec_format((d), b_, sizeof(b_)) > 0);                                           \
        ASSERT_STR_EQ(b_, (text));                                                                 \
    } while (0)

/* Asserts that decimal d formats to the string value of "key" after `from` in msg. */
#define ASSERT_DEC_FIELD(d, msg, from, key)                                                        \
    do {                                                                                           \
        char t_[128];                                                                              \
        ASSERT_DEC((d), str_after((msg), (from), (key), t_, sizeof(t_)));                          \
    } while (0)

/* Asserts that levels[0..n) are exactly the [["p","q"],...] array following `"key":[` in msg,
 * read independently from the text. */
static void check_levels(const char *msg, const char *key, const struct vlevel *lv, uint32_t n)
{
    char pat[32], px[128], qty[128];
    const char *p;
    uint32_t i = 0;

    snprintf(pat, sizeof(pat), "\"%s\":[", key);
    p = strstr(msg, pat);
    ASSERT(p);
    p += strlen(pat);
    while (*p == '[') {
        const char *e;
        ASSERT_EQ(p[1], '"');
        e = strchr(p + 2, '"');
        ASSERT(e && e - (p + 2) < (long)sizeof(px));
        memcpy(px, p + 2, (size_t)(e - (p + 2)));
        px[e - (p + 2)] = '\0';
        ASSERT_EQ(e[1], ',');
        ASSERT_EQ(e[2], '"');
        p = e + 3;
        e = strchr(p, '"');
        ASSERT(e && e - p < (long)sizeof(qty));
        memcpy(qty, p, (size_t)(e - p));
        qty[e - p] = '\0';
        p = strchr(e, ']');
        ASSERT(p);
        p++;
        if (*p == ',')
            p++;
        ASSERT_LT(i, n);
        ASSERT_DEC(lv[i].px, px);
        ASSERT_DEC(lv[i].qty, qty);
        i++;
    }
    ASSERT_EQ(*p, ']');
    ASSERT_EQ(i, n);
}

/* Counts the levels of the array following `"key":[` by counting its '[' characters. */
static uint32_t count_levels(const char *msg, const char *key)
{
    char pat[32];
    const char *p;
    uint32_t n = 0;

    snprintf(pat, sizeof(pat), "\"%s\":[", key);
    p = strstr(msg, pat);
    ASSERT(p);
    for (p += strlen(pat); *p && *p != ']'; p++) {
        if (*p == '[')
            n++;
        else if (*p == '"')
            p = strchr(p + 1, '"');
        ASSERT(p);
        if (*p == '[') {
            p = strchr(p, ']');
            ASSERT(p);
        }
    }
    return n;
}

static const struct venue_profile *spot(void)
{
    const struct venue_profile *p = venue_profile_find("binance-spot");
    ASSERT(p);
    return p;
}

static const struct venue_profile *futures(void)
{
    const struct venue_profile *p = venue_profile_find("binance-futures");
    ASSERT(p);
    return p;
}

/* Decodes a NUL-terminated message; returns the code. */
static int dec(struct vdecoder *d, const char *msg, struct vmsg *m)
{
    return binance_decode(d, (const uint8_t *)msg, strlen(msg), 777, m);
}

/* Decodes msg and fails the test (with the error message) unless it succeeds. */
static void dec_ok(struct vdecoder *d, const char *msg, struct vmsg *m)
{
    int rc = dec(d, msg, m);

    if (rc != 0)
        test_fail(__FILE__, __LINE__, "decode failed (%d: %s): %.200s", rc, mdf_errmsg(), msg);
}

/* A stream spec. */
static struct vstream spec(int type, const char *sym, int interval, int levels, int speed)
{
    struct vstream s;

    memset(&s, 0, sizeof(s));
    s.type = (uint8_t)type;
    s.interval = (uint8_t)interval;
    s.levels = (uint8_t)levels;
    s.speed_ms = (uint16_t)speed;
    snprintf(s.symbol, sizeof(s.symbol), "%s", sym);
    return s;
}

/* ------------------------------------------------------------------------------------------ */
/* Profiles and stream vocabulary                                                             */

TEST(venue_profiles_have_the_documented_endpoints_and_limits)
{
    const struct venue_profile *s = venue_profile_find("binance-spot");
    const struct venue_profile *st = venue_profile_find("binance-spot-testnet");
    const struct venue_profile *f = venue_profile_find("binance-futures");
    const struct venue_profile *ft = venue_profile_find("binance-futures-testnet");
    size_t n = 0;

    ASSERT(s && st && f && ft);
    ASSERT(!venue_profile_find("binance") && !venue_profile_find(NULL));
    while (venue_profile_at(n))
        n++;
    ASSERT_EQ(n, 12); /* and bitfinex, 5 bybit, okx and okx-demo */

    ASSERT_STR_EQ(s->ws_url, "wss://stream.binance.com:9443");
    ASSERT_STR_EQ(s->rest_url, "https://api.binance.com");
    ASSERT(!s->futures && s->family == VF_BINANCE);
    ASSERT_EQ(s->streams_per_conn, 1024);
    ASSERT_EQ(s->msgs_per_sec, 5);
    ASSERT_EQ(s->conn_attempts, 300);
    ASSERT_EQ(s->conn_window_s, 300);
    ASSERT_EQ(s->rest_weight_per_min, 6000);
    ASSERT_EQ(s->ping_interval_s, 20);
    ASSERT_EQ(s->pong_timeout_s, 60);
    ASSERT_EQ(s->max_age_s, 86400);
    ASSERT_EQ(s->snapshot_limit, 1000);
    ASSERT_EQ(s->klines_limit, 1000);

    ASSERT_STR_EQ(st->ws_url, "wss://stream.testnet.binance.vision");
    ASSERT_STR_EQ(st->rest_url, "https://testnet.binance.vision");
    ASSERT(!st->futures);
    ASSERT_EQ(st->streams_per_conn, 1024);
    ASSERT_EQ(st->msgs_per_sec, 5);

    ASSERT_STR_EQ(f->ws_url, "wss://fstream.binance.com");
    ASSERT_STR_EQ(f->rest_url, "https://fapi.binance.com");
    ASSERT(f->futures && f->family == VF_BINANCE);
    ASSERT_EQ(f->streams_per_conn, 200);
    ASSERT_EQ(f->msgs_per_sec, 10);
    ASSERT_EQ(f->rest_weight_per_min, 2400);
    ASSERT_EQ(f->ping_interval_s, 180);
    ASSERT_EQ(f->pong_timeout_s, 600);
    ASSERT_EQ(f->max_age_s, 86400);
    ASSERT_EQ(f->snapshot_limit, 1000);
    ASSERT_EQ(f->klines_limit, 1500);

    ASSERT_STR_EQ(ft->ws_url, "wss://fstream.binancefuture.com");
    ASSERT_STR_EQ(ft->rest_url, "https://testnet.binancefuture.com");
    ASSERT(ft->futures);
    ASSERT_EQ(ft->klines_limit, 1500);
    return 0;
}

TEST(vstream_type_names_equality_and_cadences)
{
    static const char *const names[] = {"trade",      "agg_trade",   "kline",  "depth",
                                        "diff_depth", "book_ticker", "ticker", "mini_ticker",
                                        "mark_price", "force_order"};
    struct vstream a, b;

    for (int t = VS_TRADE; t < VS_COUNT; t++) {
        ASSERT_STR_EQ(vstream_type_name(t), names[t - 1]);
        ASSERT_EQ(vstream_type_find(names[t - 1]), t);
    }
    ASSERT_EQ(vstream_type_find("aggTrade"), VS_NONE);
    ASSERT_EQ(vstream_type_find(NULL), VS_NONE);
    ASSERT_STR_EQ(vstream_type_name(99), "?");

    a = spec(VS_KLINE, "BTCUSDT", MDF_IV_1M, 0, 0);
    b = a;
    ASSERT(vstream_equal(&a, &b));
    b.interval = MDF_IV_5M;
    ASSERT(!vstream_equal(&a, &b));
    b = spec(VS_KLINE, "ETHUSDT", MDF_IV_1M, 0, 0);
    ASSERT(!vstream_equal(&a, &b));
    /* The default speed compares equal however it is spelt. */
    a = spec(VS_DIFF, "BTCUSDT", 0, 0, 0);
    b = spec(VS_DIFF, "BTCUSDT", 0, 0, 1000);
    ASSERT(vstream_equal(&a, &b));
    b.speed_ms = 100;
    ASSERT(!vstream_equal(&a, &b));
    a = spec(VS_DEPTH, "BTCUSDT", 0, 20, 250);
    b = spec(VS_DEPTH, "BTCUSDT", 0, 20, 0);
    ASSERT(vstream_equal(&a, &b));
    b.levels = 10;
    ASSERT(!vstream_equal(&a, &b));
    a = spec(VS_MARKPRICE, "BTCUSDT", 0, 0, 3000);
    b = spec(VS_MARKPRICE, "BTCUSDT", 0, 0, 0);
    ASSERT(vstream_equal(&a, &b));
    b.speed_ms = 1000;
    ASSERT(!vstream_equal(&a, &b));
    a = spec(VS_TRADE, "BTCUSDT", 0, 0, 0);
    b = spec(VS_AGGTRADE, "BTCUSDT", 0, 0, 0);
    ASSERT(!vstream_equal(&a, &b));

    a = spec(VS_KLINE, "BTCUSDT", MDF_IV_1M, 0, 0);
    ASSERT_EQ(vstream_cadence_ms(spot(), &a), 2000);
    ASSERT_EQ(vstream_cadence_ms(futures(), &a), 250);
    a.interval = MDF_IV_1S;
    ASSERT_EQ(vstream_cadence_ms(spot(), &a), 1000);
    a = spec(VS_DEPTH, "BTCUSDT", 0, 5, 0);
    ASSERT_EQ(vstream_cadence_ms(spot(), &a), 1000);
    ASSERT_EQ(vstream_cadence_ms(futures(), &a), 250);
    a.speed_ms = 100;
    ASSERT_EQ(vstream_cadence_ms(spot(), &a), 100);
    a.speed_ms = 500;
    ASSERT_EQ(vstream_cadence_ms(futures(), &a), 500);
    a = spec(VS_TICKER, "BTCUSDT", 0, 0, 0);
    ASSERT_EQ(vstream_cadence_ms(spot(), &a), 1000);
    a.type = VS_MINITICKER;
    ASSERT_EQ(vstream_cadence_ms(futures(), &a), 1000);
    a = spec(VS_MARKPRICE, "BTCUSDT", 0, 0, 0);
    ASSERT_EQ(vstream_cadence_ms(futures(), &a), 3000);
    a.speed_ms = 1000;
    ASSERT_EQ(vstream_cadence_ms(futures(), &a), 1000);
    for (int t = VS_TRADE; t < VS_COUNT; t++) {
        if (t == VS_TRADE || t == VS_AGGTRADE || t == VS_BOOKTICKER || t == VS_DIFF ||
            t == VS_FORCEORDER) {
            a = spec(t, "BTCUSDT", 0, 0, t == VS_DIFF ? 100 : 0);
            ASSERT_EQ(vstream_cadence_ms(spot(), &a), 0);
            ASSERT_EQ(vstream_cadence_ms(futures(), &a), 0);
        }
    }
    /* The evidence rule (mdfeedd(8), HEALTH): only markPrice pushes while nothing changes;
     * everything else follows trades and is judged by trade ids or event times. */
    for (int t = VS_TRADE; t < VS_COUNT; t++) {
        struct vliveness ls, lf;

        a = spec(t, "BTCUSDT", t == VS_KLINE ? MDF_IV_1M : 0, t == VS_DEPTH ? 5 : 0, 0);
        vstream_liveness(spot(), &a, &ls);
        vstream_liveness(futures(), &a, &lf);
        ASSERT_EQ(lf.guaranteed_ms, t == VS_MARKPRICE ? 3000u : 0u);
        ASSERT_EQ(ls.guaranteed_ms, t == VS_MARKPRICE ? 3000u : 0u);
        ASSERT_EQ(lf.follows_trades, t != VS_MARKPRICE && t != VS_FORCEORDER);
        ASSERT_EQ(lf.gives_id,
                  t == VS_TRADE || t == VS_AGGTRADE || t == VS_KLINE || t == VS_TICKER);
        ASSERT_EQ(lf.gives_time, t == VS_TRADE || t == VS_AGGTRADE);
        if (t == VS_DEPTH || t == VS_BOOKTICKER) {
            ASSERT_EQ(ls.proof, VP_RECV_TIME); /* spot stamps neither with a time */
            ASSERT_EQ(lf.proof, VP_VENUE_TIME);
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Stream names                                                                               */

/* Checks that name(s) == want, and that it parses back to a spec equal to s that names the
 * same text again. */
static void name_round_trip(const struct venue_profile *p, const struct vstream *s,
                            const char *want)
{
    char buf[128], again[128];
    struct vstream back;
    int n = binance_stream_name(p, s, buf, sizeof(buf));

    if (n < 0)
        test_fail(__FILE__, __LINE__, "%s: no name for type %d: %s", p->name, s->type,
                  mdf_errmsg());
    ASSERT_EQ(n, strlen(buf));
    if (want)
        ASSERT_STR_EQ(buf, want);
    ASSERT_EQ(binance_stream_parse(p, buf, (size_t)n, &back), 0);
    ASSERT(vstream_equal(s, &back));
    ASSERT_EQ(binance_stream_name(p, &back, again, sizeof(again)), n);
    ASSERT_STR_EQ(again, buf);
}

TEST(binance_stream_names_build_and_parse_back_for_every_option)
{
    static const int speeds[] = {0, 100, 250, 500, 1000, 3000};
    static const int levels[] = {0, 5, 10, 15, 20};
    const struct venue_profile *ps[2] = {spot(), futures()};
    int served[2] = {0, 0};

    /* Exhaustive: every type x interval x levels x speed is either refused by the check or
     * names a stream that parses back to itself. */
    for (int v = 0; v < 2; v++) {
        for (int t = VS_TRADE; t < VS_COUNT; t++) {
            for (int iv = 0; iv < MDF_IV_COUNT; iv++) {
                for (size_t l = 0; l < sizeof(levels) / sizeof(levels[0]); l++) {
                    for (size_t sp = 0; sp < sizeof(speeds) / sizeof(speeds[0]); sp++) {
                        struct vstream s = spec(t, "BTCUSDT", iv, levels[l], speeds[sp]);
                        char buf[128];
                        if (binance_stream_check(ps[v], &s) < 0) {
                            ASSERT_EQ(binance_stream_name(ps[v], &s, buf, sizeof(buf)), -EINVAL);
                            continue;
                        }
                        name_round_trip(ps[v], &s, NULL);
                        served[v]++;
                    }
                }
            }
        }
    }
    /* spot: trade agg book ticker mini (5) + 16 klines + diff 3 speeds (0,100,1000) +
     * depth 3 levels x 3 speeds; futures: agg book ticker mini force (5) + 16 klines + diff 4
     * speeds (0,100,250,500) + depth 3 x 4 + mark price 3 speeds. */
    ASSERT_EQ(served[0], 5 + 16 + 3 + 9);
    ASSERT_EQ(served[1], 5 + 16 + 4 + 12 + 3);

    /* Exact spellings. */
    struct vstream s = spec(VS_DIFF, "BTCUSDT", 0, 0, 100);
    name_round_trip(spot(), &s, "btcusdt@depth@100ms");
    name_round_trip(futures(), &s, "btcusdt@depth@100ms");
    s.speed_ms = 0;
    name_round_trip(spot(), &s, "btcusdt@depth");
    s.speed_ms = 1000;
    name_round_trip(spot(), &s, "btcusdt@depth");
    s.speed_ms = 500;
    name_round_trip(futures(), &s, "btcusdt@depth@500ms");
    s.speed_ms = 250;
    name_round_trip(futures(), &s, "btcusdt@depth");
    s = spec(VS_DEPTH, "BNBBTC", 0, 20, 100);
    name_round_trip(spot(), &s, "bnbbtc@depth20@100ms");
    s = spec(VS_DEPTH, "BNBBTC", 0, 5, 0);
    name_round_trip(spot(), &s, "bnbbtc@depth5");
    s = spec(VS_DEPTH, "BTCUSDT", 0, 10, 500);
    name_round_trip(futures(), &s, "btcusdt@depth10@500ms");
    s = spec(VS_KLINE, "NKNUSDT", MDF_IV_1M, 0, 0);
    name_round_trip(spot(), &s, "nknusdt@kline_1m");
    s.interval = MDF_IV_1MO;
    name_round_trip(spot(), &s, "nknusdt@kline_1M");
    s.interval = MDF_IV_1S;
    name_round_trip(spot(), &s, "nknusdt@kline_1s");
    s = spec(VS_MARKPRICE, "BTCUSDT", 0, 0, 1000);
    name_round_trip(futures(), &s, "btcusdt@markPrice@1s");
    s.speed_ms = 0;
    name_round_trip(futures(), &s, "btcusdt@markPrice");
    s = spec(VS_AGGTRADE, "BTCUSDT_250328", 0, 0, 0);
    name_round_trip(futures(), &s, "btcusdt_250328@aggTrade");
    s = spec(VS_TRADE, "BNBBTC", 0, 0, 0);
    name_round_trip(spot(), &s, "bnbbtc@trade");
    s = spec(VS_BOOKTICKER, "BNBBTC", 0, 0, 0);
    name_round_trip(spot(), &s, "bnbbtc@bookTicker");
    s = spec(VS_TICKER, "BNBBTC", 0, 0, 0);
    name_round_trip(spot(), &s, "bnbbtc@ticker");
    s = spec(VS_MINITICKER, "BNBBTC", 0, 0, 0);
    name_round_trip(spot(), &s, "bnbbtc@miniTicker");
    s = spec(VS_FORCEORDER, "BTCUSDT", 0, 0, 0);
    name_round_trip(futures(), &s, "btcusdt@forceOrder");

    /* A short buffer is -ENOSPC. */
    char small[8];
    s = spec(VS_AGGTRADE, "BTCUSDT", 0, 0, 0);
    ASSERT_EQ(binance_stream_name(spot(), &s, small, sizeof(small)), -ENOSPC);
    return 0;
}

/* Asserts that the check refuses s on p with a message containing why. */
static void refused(const struct venue_profile *p, struct vstream s, const char *why)
{
    ASSERT_EQ(binance_stream_check(p, &s), -EINVAL);
    ASSERT_CONTAINS(mdf_errmsg(), why);
}

TEST(binance_stream_check_refuses_what_the_venue_does_not_serve)
{
    refused(spot(), spec(VS_MARKPRICE, "BTCUSDT", 0, 0, 0),
            "binance-spot has no mark_price stream");
    refused(spot(), spec(VS_FORCEORDER, "BTCUSDT", 0, 0, 0),
            "binance-spot has no force_order stream");
    refused(futures(), spec(VS_TRADE, "BTCUSDT", 0, 0, 0), "binance-futures has no trade stream");
    refused(spot(), spec(VS_KLINE, "BTCUSDT", MDF_IV_3H, 0, 0), "no 3h kline interval");
    refused(spot(), spec(VS_KLINE, "BTCUSDT", MDF_IV_14D, 0, 0), "no 14d kline interval");
    refused(spot(), spec(VS_KLINE, "BTCUSDT", 0, 0, 0), "kline interval");
    refused(spot(), spec(VS_DEPTH, "BTCUSDT", 0, 15, 0), "5, 10 or 20 levels, not 15");
    refused(spot(), spec(VS_DEPTH, "BTCUSDT", 0, 0, 0), "5, 10 or 20 levels, not 0");
    refused(spot(), spec(VS_DEPTH, "BTCUSDT", 0, 5, 500), "no 500 ms speed (100 or 1000)");
    refused(spot(), spec(VS_DIFF, "BTCUSDT", 0, 0, 250), "no 250 ms speed");
    refused(futures(), spec(VS_DIFF, "BTCUSDT", 0, 0, 1000), "no 1000 ms speed (100, 250 or 500)");
    refused(futures(), spec(VS_MARKPRICE, "BTCUSDT", 0, 0, 100), "no 100 ms speed");
    refused(spot(), spec(VS_TICKER, "BTCUSDT", 0, 0, 100), "ticker stream takes no speed");
    refused(spot(), spec(VS_TICKER, "BTCUSDT", MDF_IV_1M, 0, 0), "takes no interval");
    refused(spot(), spec(VS_DIFF, "BTCUSDT", 0, 5, 0), "takes no level count");
    refused(spot(), spec(VS_TRADE, "btcusdt", 0, 0, 0), "bad symbol \"btcusdt\"");
    refused(spot(), spec(VS_TRADE, "", 0, 0, 0), "bad symbol");
    refused(spot(), spec(VS_TRADE, "BTC/USDT", 0, 0, 0), "bad symbol");
    refused(spot(), spec(VS_NONE, "BTCUSDT", 0, 0, 0), "unknown stream type");
    refused(spot(), spec(VS_COUNT, "BTCUSDT", 0, 0, 0), "unknown stream type");
    ASSERT_EQ(binance_stream_check(spot(), &(struct vstream){.type = VS_TRADE, .symbol = "X"}), 0);

    /* Names that parse to nothing mdfeed subscribes to, or to what this venue lacks. */
    static const char *const bad[] = {
        "btcusdt@avgPrice",
        "btcusdt@kline_1m@+08:00",
        "!miniTicker@arr",
        "btcusdt",
        "@trade",
        "btcusdt@trades",
        "btcusdt@depth7",
        "btcusdt@depth@250ms",
        "btcusdt@depth@ms",
        "btcusdt@kline_2d",
        "btcusdt@markPrice",
        "btc usdt@trade",
        "btcusdt@depth5@100",
        "btcusdt@ticker_1h",
        "",
        "btcusdt@kline_",
    };
    struct vstream s;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (binance_stream_parse(spot(), bad[i], strlen(bad[i]), &s) != -EINVAL)
            test_fail(__FILE__, __LINE__, "parsed \"%s\"", bad[i]);
    }
    ASSERT_EQ(binance_stream_parse(futures(), "btcusdt@trade", 13, &s), -EINVAL);
    ASSERT_CONTAINS(mdf_errmsg(), "binance-futures has no trade stream");
    ASSERT_EQ(binance_stream_parse(futures(), "btcusdt@depth@250ms", 19, &s), 0);
    ASSERT_EQ(s.type, VS_DIFF);
    ASSERT_EQ(s.speed_ms, 0);
    ASSERT_STR_EQ(s.symbol, "BTCUSDT");
    /* The length bounds the name: trailing bytes past len are not read. */
    ASSERT_EQ(binance_stream_parse(spot(), "ethbtc@tradeXYZ", 12, &s), 0);
    ASSERT_EQ(s.type, VS_TRADE);
    ASSERT_STR_EQ(s.symbol, "ETHBTC");
    return 0;
}

TEST(binance_routes_urls_control_messages_and_rest_weights_are_exact)
{
    const char *names[] = {"btcusdt@aggTrade", "btcusdt@depth@100ms", "ethusdt@kline_1m"};
    char buf[512];
    uint32_t w = 0;
    int n;

    /* Routes: futures book data on /public, the rest on /market; spot has one root. */
    for (int t = VS_TRADE; t < VS_COUNT; t++) {
        struct vstream s = spec(t, "BTCUSDT", 0, 0, 0);
        enum venue_route want =
            (t == VS_DEPTH || t == VS_DIFF || t == VS_BOOKTICKER) ? VR_PUBLIC : VR_MARKET;
        ASSERT_EQ(binance_stream_route(spot(), &s), VR_ROOT);
        ASSERT_EQ(binance_stream_route(futures(), &s), want);
    }

    n = binance_ws_url(spot(), "wss://stream.binance.com:9443", VR_ROOT, names, 3, buf,
                       sizeof(buf));
    ASSERT_STR_EQ(buf, "wss://stream.binance.com:9443/stream?streams=btcusdt@aggTrade/"
                       "btcusdt@depth@100ms/ethusdt@kline_1m");
    ASSERT_EQ(n, strlen(buf));
    n = binance_ws_url(spot(), "wss://127.0.0.1:8443/", VR_ROOT, NULL, 0, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "wss://127.0.0.1:8443/stream");
    ASSERT_EQ(n, strlen(buf));
    binance_ws_url(futures(), "wss://fstream.binance.com", VR_PUBLIC, names + 1, 1, buf,
                   sizeof(buf));
    ASSERT_STR_EQ(buf, "wss://fstream.binance.com/public/stream?streams=btcusdt@depth@100ms");
    binance_ws_url(futures(), "wss://fstream.binance.com", VR_MARKET, names, 1, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "wss://fstream.binance.com/market/stream?streams=btcusdt@aggTrade");
    binance_ws_url(futures(), "wss://fstream.binance.com", VR_MARKET, NULL, 0, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "wss://fstream.binance.com/market/stream");
    ASSERT_EQ(binance_ws_url(spot(), "wss://stream.binance.com:9443", VR_ROOT, names, 3, buf, 40),
              -ENOSPC);

    n = binance_control_msg(true, names, 2, 1, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "{\"method\":\"SUBSCRIBE\",\"params\":[\"btcusdt@aggTrade\","
                       "\"btcusdt@depth@100ms\"],\"id\":1}");
    ASSERT_EQ(n, strlen(buf));
    binance_control_msg(false, names + 1, 1, 312, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "{\"method\":\"UNSUBSCRIBE\",\"params\":[\"btcusdt@depth@100ms\"],"
                       "\"id\":312}");
    binance_control_msg(true, NULL, 0, UINT64_MAX, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "{\"method\":\"SUBSCRIBE\",\"params\":[],\"id\":18446744073709551615}");
    ASSERT_EQ(binance_control_msg(true, names, 3, 1, buf, 30), -ENOSPC);
    const char *evil[] = {"btc\"usdt@trade"};
    ASSERT_EQ(binance_control_msg(true, evil, 1, 1, buf, sizeof(buf)), -EINVAL);

    /* REST depth: spot weights by limit band; futures fixed limits only. */
    static const struct {
        uint32_t limit, weight;
    } sw[] = {{1, 5},    {100, 5},   {101, 25},   {500, 25},
              {501, 50}, {1000, 50}, {1001, 250}, {5000, 250}};
    for (size_t i = 0; i < sizeof(sw) / sizeof(sw[0]); i++) {
        char want[128];
        n = binance_depth_url(spot(), "https://api.binance.com", "NKNUSDT", sw[i].limit, buf,
                              sizeof(buf), &w);
        snprintf(want, sizeof(want), "https://api.binance.com/api/v3/depth?symbol=NKNUSDT&limit=%u",
                 sw[i].limit);
        ASSERT_STR_EQ(buf, want);
        ASSERT_EQ(n, strlen(want));
        ASSERT_EQ(w, sw[i].weight);
    }
    ASSERT_EQ(
        binance_depth_url(spot(), "https://api.binance.com", "NKNUSDT", 0, buf, sizeof(buf), &w),
        -EINVAL);
    ASSERT_EQ(
        binance_depth_url(spot(), "https://api.binance.com", "NKNUSDT", 5001, buf, sizeof(buf), &w),
        -EINVAL);
    static const struct {
        uint32_t limit, weight;
    } fw[] = {{5, 2}, {10, 2}, {20, 2}, {50, 2}, {100, 5}, {500, 10}, {1000, 20}};
    for (size_t i = 0; i < sizeof(fw) / sizeof(fw[0]); i++) {
        char want[128];
        binance_depth_url(futures(), "https://fapi.binance.com/", "BTCUSDT", fw[i].limit, buf,
                          sizeof(buf), &w);
        snprintf(want, sizeof(want),
                 "https://fapi.binance.com/fapi/v1/depth?symbol=BTCUSDT&limit=%u", fw[i].limit);
        ASSERT_STR_EQ(buf, want);
        ASSERT_EQ(w, fw[i].weight);
    }
    static const uint32_t fbad[] = {1, 4, 6, 25, 99, 101, 999, 1001, 5000};
    for (size_t i = 0; i < sizeof(fbad) / sizeof(fbad[0]); i++) {
        ASSERT_EQ(binance_depth_url(futures(), "https://fapi.binance.com", "BTCUSDT", fbad[i], buf,
                                    sizeof(buf), &w),
                  -EINVAL);
        ASSERT_CONTAINS(mdf_errmsg(), "depth limit");
    }
    ASSERT_EQ(
        binance_depth_url(spot(), "https://api.binance.com", "nknusdt", 100, buf, sizeof(buf), &w),
        -EINVAL);
    ASSERT_EQ(binance_depth_url(spot(), "https://api.binance.com", "NKNUSDT", 100, buf, 20, &w),
              -ENOSPC);

    /* REST klines. */
    n = binance_klines_url(spot(), "https://api.binance.com", "BTCUSDT", MDF_IV_1M, 1633998480000,
                           1633998539999, 1000, buf, sizeof(buf), &w);
    ASSERT_STR_EQ(buf, "https://api.binance.com/api/v3/klines?symbol=BTCUSDT&interval=1m"
                       "&startTime=1633998480000&endTime=1633998539999&limit=1000");
    ASSERT_EQ(n, strlen(buf));
    ASSERT_EQ(w, 2);
    binance_klines_url(spot(), "https://api.binance.com", "BTCUSDT", MDF_IV_1S, 0, 0, 1, buf,
                       sizeof(buf), &w);
    ASSERT_STR_EQ(buf, "https://api.binance.com/api/v3/klines?symbol=BTCUSDT&interval=1s"
                       "&startTime=0&endTime=0&limit=1");
    ASSERT_EQ(w, 2);
    static const struct {
        uint32_t limit, weight;
    } kw[] = {{1, 1}, {99, 1}, {100, 2}, {499, 2}, {500, 5}, {1000, 5}, {1001, 10}, {1500, 10}};
    for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++) {
        char want[256];
        binance_klines_url(futures(), "https://fapi.binance.com", "BTCUSDT", MDF_IV_1MO, 5, 6,
                           kw[i].limit, buf, sizeof(buf), &w);
        snprintf(want, sizeof(want),
                 "https://fapi.binance.com/fapi/v1/klines?symbol=BTCUSDT&interval=1M"
                 "&startTime=5&endTime=6&limit=%u",
                 kw[i].limit);
        ASSERT_STR_EQ(buf, want);
        ASSERT_EQ(w, kw[i].weight);
    }
    ASSERT_EQ(binance_klines_url(spot(), "https://api.binance.com", "BTCUSDT", MDF_IV_1M, 0, 1,
                                 1001, buf, sizeof(buf), &w),
              -EINVAL);
    ASSERT_EQ(binance_klines_url(futures(), "https://fapi.binance.com", "BTCUSDT", MDF_IV_1M, 0, 1,
                                 1501, buf, sizeof(buf), &w),
              -EINVAL);
    ASSERT_EQ(binance_klines_url(futures(), "https://fapi.binance.com", "BTCUSDT", MDF_IV_1S, 0, 1,
                                 10, buf, sizeof(buf), &w),
              -EINVAL);
    ASSERT_EQ(binance_klines_url(spot(), "https://api.binance.com", "BTCUSDT", MDF_IV_3H, 0, 1, 10,
                                 buf, sizeof(buf), &w),
              -EINVAL);
    ASSERT_EQ(binance_klines_url(spot(), "https://api.binance.com", "BTCUSDT", MDF_IV_1M, 10, 9, 10,
                                 buf, sizeof(buf), &w),
              -EINVAL);
    ASSERT_EQ(binance_klines_url(spot(), "https://api.binance.com", "BTCUSDT", MDF_IV_1M, 0, 1, 0,
                                 buf, sizeof(buf), &w),
              -EINVAL);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Decoding: the spot recording                                                               */

/* Checks one decoded fixture line against its own text: the stream spec, the kind, and every
 * decimal and id read independently from the message. */
static void check_fixture_line(const char *msg, const struct vmsg *m)
{
    char name[128], buf[128];
    struct vstream s;
    const char *data = strstr(msg, "\"data\":");

    ASSERT(data);
    str_after(msg, NULL, "stream", name, sizeof(name));
    ASSERT_EQ(m->stream_len, strlen(name));
    ASSERT(memcmp(m->stream, name, m->stream_len) == 0);
    ASSERT_EQ(binance_stream_parse(spot(), name, strlen(name), &s), 0);
    ASSERT(memcmp(&s, &m->spec, sizeof(s)) == 0);
    ASSERT_EQ(m->rec.h.recv_time_ns, 777);

    switch (s.type) {
    case VS_DIFF:
        ASSERT_EQ(m->kind, VM_DIFF);
        ASSERT_EQ(m->first_id, int_after(data, NULL, "U"));
        ASSERT_EQ(m->last_id, int_after(data, NULL, "u"));
        ASSERT_EQ(m->prev_id, -1);
        ASSERT_EQ(m->exch_time_ns, int_after(data, NULL, "E") * 1000000);
        ASSERT_EQ(m->tx_time_ns, 0);
        check_levels(data, "b", m->bids, m->n_bids);
        check_levels(data, "a", m->asks, m->n_asks);
        break;
    case VS_BOOKTICKER:
        ASSERT_EQ(m->kind, VM_RECORD);
        ASSERT_EQ(m->rec.h.type, MDF_REC_BBO);
        ASSERT_EQ(m->rec.h.size, sizeof(struct mdf_bbo));
        ASSERT_EQ(m->rec.bbo.update_id, int_after(data, NULL, "u"));
        ASSERT_EQ_U(m->rec.h.venue_seq, (uint64_t)int_after(data, NULL, "u"));
        ASSERT_DEC_FIELD(m->rec.bbo.bid_px, data, NULL, "b");
        ASSERT_DEC_FIELD(m->rec.bbo.bid_qty, data, NULL, "B");
        ASSERT_DEC_FIELD(m->rec.bbo.ask_px, data, NULL, "a");
        ASSERT_DEC_FIELD(m->rec.bbo.ask_qty, data, NULL, "A");
        ASSERT_EQ(m->rec.h.exch_time_ns, 0);
        break;
    case VS_KLINE:
        ASSERT_EQ(m->kind, VM_RECORD);
        ASSERT_EQ(m->rec.h.type, MDF_REC_CANDLE);
        ASSERT_EQ(m->rec.h.size, sizeof(struct mdf_candle));
        ASSERT_EQ(m->rec.candle.interval, s.interval);
        ASSERT_EQ(m->rec.h.exch_time_ns, int_after(data, NULL, "E") * 1000000);
        ASSERT_EQ(m->rec.candle.open_time_ns, int_after(data, "\"k\":", "t") * 1000000);
        ASSERT_EQ(m->rec.candle.close_time_ns, int_after(data, "\"k\":", "T") * 1000000);
        ASSERT_EQ(m->rec.candle.first_id, int_after(data, "\"k\":", "f"));
        ASSERT_EQ(m->rec.candle.last_id, int_after(data, "\"k\":", "L"));
        ASSERT_EQ(m->rec.candle.trades, int_after(data, "\"k\":", "n"));
        ASSERT_EQ(m->rec.h.flags, strstr(data, "\"x\":true") ? MDF_CANDLE_F_CLOSED : 0);
        ASSERT_DEC_FIELD(m->rec.candle.open, data, "\"k\":", "o");
        ASSERT_DEC_FIELD(m->rec.candle.high, data, "\"k\":", "h");
        ASSERT_DEC_FIELD(m->rec.candle.low, data, "\"k\":", "l");
        ASSERT_DEC_FIELD(m->rec.candle.close, data, "\"k\":", "c");
        ASSERT_DEC_FIELD(m->rec.candle.volume, data, "\"k\":", "v");
        ASSERT_DEC_FIELD(m->rec.candle.quote_volume, data, "\"k\":", "q");
        ASSERT_DEC_FIELD(m->rec.candle.taker_buy_base, data, "\"k\":", "V");
        ASSERT_DEC_FIELD(m->rec.candle.taker_buy_quote, data, "\"k\":", "Q");
        break;
    case VS_AGGTRADE:
        ASSERT_EQ(m->kind, VM_RECORD);
        ASSERT_EQ(m->rec.h.type, MDF_REC_TRADE);
        ASSERT_EQ(m->rec.h.size, sizeof(struct mdf_trade));
        ASSERT_EQ(m->rec.trade.trade_id, int_after(data, NULL, "a"));
        ASSERT_EQ(m->rec.trade.first_id, int_after(data, NULL, "f"));
        ASSERT_EQ(m->rec.trade.last_id, int_after(data, NULL, "l"));
        ASSERT_EQ(m->rec.h.exch_time_ns, int_after(data, NULL, "E") * 1000000);
        ASSERT_EQ(m->rec.h.tx_time_ns, int_after(data, NULL, "T") * 1000000);
        ASSERT_EQ(m->rec.trade.side, strstr(data, "\"m\":true") ? MDF_SIDE_SELL : MDF_SIDE_BUY);
        ASSERT_EQ(m->rec.h.flags, MDF_TRADE_F_AGGREGATE |
                                      (strstr(data, "\"M\":true") ? MDF_TRADE_F_BEST_MATCH : 0));
        ASSERT_DEC_FIELD(m->rec.trade.price, data, NULL, "p");
        ASSERT_DEC_FIELD(m->rec.trade.qty, data, NULL, "q");
        break;
    default:
        test_fail(__FILE__, __LINE__, "unexpected stream %s",
                  str_after(msg, NULL, "stream", buf, sizeof(buf)));
    }
}

TEST(binance_decodes_every_spot_fixture_line_exactly)
{
    struct rec_lines r;
    struct vmsg *m = malloc(sizeof(*m));
    int kinds[VS_COUNT] = {0};

    ASSERT(m);
    rec_load(&r, "binance-spot/ws.rec");
    ASSERT_GT(r.n, 200);
    for (int b = 0; b < 2; b++) {
        struct vdecoder *d = vdec_new(spot(), b ? VDEC_JANSSON : VDEC_JSMN, 1000, MAX_MSG);
        ASSERT(d);
        for (size_t i = 0; i < r.n; i++) {
            dec_ok(d, r.msg[i], m);
            check_fixture_line(r.msg[i], m);
            if (b == 0)
                kinds[m->spec.type]++;
        }
        vdec_free(d);
    }
    /* The recording has all four stream kinds of its URL. */
    ASSERT_GT(kinds[VS_DIFF], 0);
    ASSERT_GT(kinds[VS_BOOKTICKER], 0);
    ASSERT_GT(kinds[VS_KLINE], 0);
    ASSERT_GT(kinds[VS_AGGTRADE], 0);
    ASSERT_EQ(kinds[VS_DIFF] + kinds[VS_BOOKTICKER] + kinds[VS_KLINE] + kinds[VS_AGGTRADE], r.n);
    rec_free(&r);
    free(m);
    return 0;
}

TEST(binance_decodes_recorded_lines_field_by_field)
{
    struct vmsg *m = malloc(sizeof(*m));
    struct vdecoder *d = vdec_new(spot(), VDEC_JSMN, 100, 65536);

    ASSERT(m && d);
    /* The src/venue/README.md §1.5 recording lines, values written out by hand. */
    dec_ok(d,
           "{\"stream\":\"nknusdt@kline_1m\",\"data\":{\"e\":\"kline\",\"E\":1633998523963,\"s\":"
           "\"NKNUSDT\",\"k\":{\"t\":1633998480000,\"T\":1633998539999,\"s\":\"NKNUSDT\",\"i\":"
           "\"1m\",\"f\":19862761,\"L\":19862790,\"o\":\"0.35270000\",\"c\":\"0.35280000\",\"h\":"
           "\"0.35280000\",\"l\":\"0.35220000\",\"v\":\"25877.00000000\",\"n\":30,\"x\":false,"
           "\"q\":\"9116.04600000\",\"V\":\"58.00000000\",\"Q\":\"20.46240000\",\"B\":\"0\"}}}",
           m);
    ASSERT_EQ(m->kind, VM_RECORD);
    ASSERT_EQ(m->spec.type, VS_KLINE);
    ASSERT_EQ(m->spec.interval, MDF_IV_1M);
    ASSERT_STR_EQ(m->spec.symbol, "NKNUSDT");
    const struct mdf_candle *k = &m->rec.candle;
    ASSERT_EQ(k->h.type, MDF_REC_CANDLE);
    ASSERT_EQ(k->h.flags, 0);
    ASSERT_EQ(k->h.exch_time_ns, 1633998523963000000);
    ASSERT_EQ(k->h.tx_time_ns, 0);
    ASSERT_EQ(k->h.recv_time_ns, 777);
    ASSERT_EQ(k->h.venue, 0);
    ASSERT_EQ(k->h.symbol, 0);
    ASSERT_EQ(k->interval, MDF_IV_1M);
    ASSERT_EQ(k->open_time_ns, 1633998480000000000);
    ASSERT_EQ(k->close_time_ns, 1633998539999000000);
    ASSERT_EQ(k->first_id, 19862761);
    ASSERT_EQ(k->last_id, 19862790);
    ASSERT_EQ(k->trades, 30);
    ASSERT_EQ(k->open.m, 35270000);
    ASSERT_EQ(k->open.e, -8);
    ASSERT_DEC(k->close, "0.35280000");
    ASSERT_DEC(k->high, "0.35280000");
    ASSERT_DEC(k->low, "0.35220000");
    ASSERT_DEC(k->volume, "25877.00000000");
    ASSERT_DEC(k->quote_volume, "9116.04600000");
    ASSERT_DEC(k->taker_buy_base, "58.00000000");
    ASSERT_DEC(k->taker_buy_quote, "20.46240000");

    dec_ok(d,
           "{\"stream\":\"nknusdt@aggTrade\",\"data\":{\"e\":\"aggTrade\",\"E\":1633998523963,"
           "\"s\":\"NKNUSDT\",\"a\":15683430,\"p\":\"0.35280000\",\"q\":\"58.00000000\",\"f\":"
           "19862790,\"l\":19862790,\"T\":1633998523963,\"m\":false,\"M\":true}}",
           m);
    const struct mdf_trade *t = &m->rec.trade;
    ASSERT_EQ(m->spec.type, VS_AGGTRADE);
    ASSERT_EQ(t->h.type, MDF_REC_TRADE);
    ASSERT_EQ(t->h.size, sizeof(*t));
    ASSERT_EQ(t->h.flags, MDF_TRADE_F_AGGREGATE | MDF_TRADE_F_BEST_MATCH);
    ASSERT_EQ(t->h.exch_time_ns, 1633998523963000000);
    ASSERT_EQ(t->h.tx_time_ns, 1633998523963000000);
    ASSERT_EQ(t->h.venue_seq, 0);
    ASSERT_EQ(t->trade_id, 15683430);
    ASSERT_EQ(t->first_id, 19862790);
    ASSERT_EQ(t->last_id, 19862790);
    ASSERT_EQ(t->side, MDF_SIDE_BUY);
    ASSERT_EQ(t->price.m, 35280000);
    ASSERT_EQ(t->price.e, -8);
    ASSERT_EQ(t->qty.m, 5800000000);
    ASSERT_EQ(t->qty.e, -8);

    dec_ok(d,
           "{\"stream\":\"nknusdt@bookTicker\",\"data\":{\"u\":499869768,\"s\":\"NKNUSDT\",\"b\":"
           "\"0.35210000\",\"B\":\"672.00000000\",\"a\":\"0.35260000\",\"A\":\"3199.00000000\"}}",
           m);
    const struct mdf_bbo *q = &m->rec.bbo;
    ASSERT_EQ(m->spec.type, VS_BOOKTICKER);
    ASSERT_EQ(q->h.type, MDF_REC_BBO);
    ASSERT_EQ(q->update_id, 499869768);
    ASSERT_EQ_U(q->h.venue_seq, 499869768);
    ASSERT_EQ(q->h.exch_time_ns, 0);
    ASSERT_DEC(q->bid_px, "0.35210000");
    ASSERT_DEC(q->bid_qty, "672.00000000");
    ASSERT_DEC(q->ask_px, "0.35260000");
    ASSERT_DEC(q->ask_qty, "3199.00000000");

    dec_ok(d,
           "{\"stream\":\"nknusdt@depth@100ms\",\"data\":{\"e\":\"depthUpdate\",\"E\":"
           "1633998512068,\"s\":\"NKNUSDT\",\"U\":499869750,\"u\":499869752,\"b\":[[\"0.35130000\","
           "\"6195.00000000\"],[\"0.34750000\",\"5548.00000000\"],[\"0.34640000\","
           "\"6222.00000000\"]],\"a\":[]}}",
           m);
    ASSERT_EQ(m->kind, VM_DIFF);
    ASSERT_EQ(m->spec.type, VS_DIFF);
    ASSERT_EQ(m->spec.speed_ms, 100);
    ASSERT_EQ(m->first_id, 499869750);
    ASSERT_EQ(m->last_id, 499869752);
    ASSERT_EQ(m->prev_id, -1);
    ASSERT_EQ(m->exch_time_ns, 1633998512068000000);
    ASSERT_EQ(m->n_bids, 3);
    ASSERT_EQ(m->n_asks, 0);
    ASSERT_DEC(m->bids[0].px, "0.35130000");
    ASSERT_DEC(m->bids[0].qty, "6195.00000000");
    ASSERT_DEC(m->bids[2].px, "0.34640000");
    ASSERT_DEC(m->bids[2].qty, "6222.00000000");
    vdec_free(d);
    free(m);
    return 0;
}

TEST(binance_snapshots_from_the_recording_decode_every_level)
{
    struct rec_lines r;
    struct vmsg *m = malloc(sizeof(*m));

    ASSERT(m);
    rec_load(&r, "binance-spot/http.rec");
    ASSERT_GE(r.n, 4);
    for (int b = 0; b < 2; b++) {
        struct vdecoder *d = vdec_new(spot(), b ? VDEC_JANSSON : VDEC_JSMN, 5000, MAX_MSG);
        ASSERT(d);
        for (size_t i = 0; i < r.n; i++) {
            int rc = binance_decode_snapshot(d, (const uint8_t *)r.msg[i], strlen(r.msg[i]), m);
            if (rc != 0)
                test_fail(__FILE__, __LINE__, "snapshot %zu: %d %s", i, rc, mdf_errmsg());
            ASSERT_EQ(m->kind, VM_PARTIAL);
            ASSERT_EQ(m->last_id, int_after(r.msg[i], NULL, "lastUpdateId"));
            ASSERT_EQ(m->n_bids, count_levels(r.msg[i], "bids"));
            ASSERT_EQ(m->n_asks, count_levels(r.msg[i], "asks"));
            ASSERT_GT(m->n_bids, 100);
            check_levels(r.msg[i], "bids", m->bids, m->n_bids);
            check_levels(r.msg[i], "asks", m->asks, m->n_asks);
        }
        /* A decoder with less room refuses the snapshot instead of cutting it. */
        vdec_free(d);
        d = vdec_new(spot(), b ? VDEC_JANSSON : VDEC_JSMN, 100, MAX_MSG);
        ASSERT(d);
        ASSERT_EQ(binance_decode_snapshot(d, (const uint8_t *)r.msg[0], strlen(r.msg[0]), m),
                  -E2BIG);
        vdec_free(d);
    }
    /* The first NKNUSDT snapshot as src/venue/README.md §1.7 quotes it. */
    ASSERT_EQ(int_after(r.msg[0], NULL, "lastUpdateId"), 499869752);
    rec_free(&r);
    free(m);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Decoding: documentation examples                                                           */

TEST(binance_decodes_the_documented_spot_examples)
{
    struct vmsg *m = malloc(sizeof(*m));
    struct vdecoder *d = vdec_new(spot(), VDEC_JSMN, 100, 65536);
    const char *trade = "{\"e\":\"trade\",\"E\":1672515782136,\"s\":\"BNBBTC\",\"t\":12345,\"p\":"
                        "\"0.001\",\"q\":\"100\",\"T\":1672515782136,\"m\":true,\"M\":true}";
    const char *mini = "{\"e\":\"24hrMiniTicker\",\"E\":1672515782136,\"s\":\"BNBBTC\",\"c\":"
                       "\"0.0025\",\"o\":\"0.0010\",\"h\":\"0.0025\",\"l\":\"0.0010\",\"v\":"
                       "\"10000\",\"q\":\"18\"}";
    const char *avg = "{\"e\":\"avgPrice\",\"E\":1693907033000,\"s\":\"BTCUSDT\",\"i\":\"5m\","
                      "\"w\":\"25776.86000000\",\"T\":1693907032213}";
    const char *partial =
        "{\"lastUpdateId\":160,\"bids\":[[\"0.0024\",\"10\"]],\"asks\":[[\"0.0026\",\"100\"]]}";
    char buf[1024];

    ASSERT(m && d);
    /* trade, raw and wrapped. */
    for (int w = 0; w < 2; w++) {
        if (w)
            snprintf(buf, sizeof(buf), "{\"stream\":\"bnbbtc@trade\",\"data\":%s}", trade);
        dec_ok(d, w ? buf : trade, m);
        ASSERT_EQ(m->kind, VM_RECORD);
        ASSERT_EQ(m->spec.type, w ? VS_TRADE : VS_NONE);
        ASSERT_STR_EQ(m->spec.symbol, "BNBBTC");
        ASSERT(w ? m->stream != NULL : m->stream == NULL);
        const struct mdf_trade *t = &m->rec.trade;
        ASSERT_EQ(t->h.type, MDF_REC_TRADE);
        ASSERT_EQ(t->h.flags, MDF_TRADE_F_BEST_MATCH);
        ASSERT_EQ(t->h.exch_time_ns, 1672515782136000000);
        ASSERT_EQ(t->h.tx_time_ns, 1672515782136000000);
        ASSERT_EQ(t->trade_id, 12345);
        ASSERT_EQ(t->first_id, 12345);
        ASSERT_EQ(t->last_id, 12345);
        ASSERT_EQ(t->side, MDF_SIDE_SELL); /* buyer is maker: the seller hit the bid */
        ASSERT_DEC(t->price, "0.001");
        ASSERT_DEC(t->qty, "100");
    }

    /* 24hrMiniTicker. */
    for (int w = 0; w < 2; w++) {
        if (w)
            snprintf(buf, sizeof(buf), "{\"stream\":\"bnbbtc@miniTicker\",\"data\":%s}", mini);
        dec_ok(d, w ? buf : mini, m);
        ASSERT_EQ(m->kind, VM_RECORD);
        const struct mdf_ticker *t = &m->rec.ticker;
        ASSERT_EQ(t->h.type, MDF_REC_TICKER);
        ASSERT_EQ(t->h.size, sizeof(*t));
        ASSERT_EQ(t->h.flags, MDF_TICKER_F_MINI);
        ASSERT_EQ(t->h.exch_time_ns, 1672515782136000000);
        ASSERT_DEC(t->last_px, "0.0025");
        ASSERT_DEC(t->open_px, "0.0010");
        ASSERT_DEC(t->high_px, "0.0025");
        ASSERT_DEC(t->low_px, "0.0010");
        ASSERT_DEC(t->volume, "10000");
        ASSERT_DEC(t->quote_volume, "18");
        ASSERT_EQ(t->change.m, 0);
        ASSERT_EQ(t->bid_px.m, 0);
        ASSERT_EQ(t->count, 0);
    }

    /* avgPrice: valid, not for us, raw and wrapped. */
    dec_ok(d, avg, m);
    ASSERT_EQ(m->kind, VM_IGNORED);
    ASSERT_CONTAINS(m->text, "avgPrice");
    snprintf(buf, sizeof(buf), "{\"stream\":\"btcusdt@avgPrice\",\"data\":%s}", avg);
    dec_ok(d, buf, m);
    ASSERT_EQ(m->kind, VM_IGNORED);
    ASSERT_CONTAINS(m->text, "btcusdt@avgPrice");
    ASSERT_EQ(m->spec.type, VS_NONE);

    /* Partial depth: raw, and on depth5 / depth20@100ms streams. */
    dec_ok(d, partial, m);
    ASSERT_EQ(m->kind, VM_PARTIAL);
    ASSERT_EQ(m->last_id, 160);
    ASSERT_EQ(m->first_id, 0);
    ASSERT_EQ(m->n_bids, 1);
    ASSERT_EQ(m->n_asks, 1);
    ASSERT_DEC(m->bids[0].px, "0.0024");
    ASSERT_DEC(m->bids[0].qty, "10");
    ASSERT_DEC(m->asks[0].px, "0.0026");
    ASSERT_DEC(m->asks[0].qty, "100");
    snprintf(buf, sizeof(buf), "{\"stream\":\"bnbbtc@depth20@100ms\",\"data\":%s}", partial);
    dec_ok(d, buf, m);
    ASSERT_EQ(m->kind, VM_PARTIAL);
    ASSERT_EQ(m->spec.type, VS_DEPTH);
    ASSERT_EQ(m->spec.levels, 20);
    ASSERT_EQ(m->spec.speed_ms, 100);
    ASSERT_EQ(m->last_id, 160);
    ASSERT_DEC(m->asks[0].qty, "100");
    /* A snapshot on a diff stream is not what that stream sends. */
    snprintf(buf, sizeof(buf), "{\"stream\":\"bnbbtc@depth\",\"data\":%s}", partial);
    ASSERT_EQ(dec(d, buf, m), -EBADMSG);

    /* Full 24hrTicker (spot has x, b, B, a, A). */
    dec_ok(d,
           "{\"stream\":\"bnbbtc@ticker\",\"data\":{\"e\":\"24hrTicker\",\"E\":1672515782136,"
           "\"s\":\"BNBBTC\",\"p\":\"0.0015\",\"P\":\"250.00\",\"w\":\"0.0018\",\"x\":\"0.0009\","
           "\"c\":\"0.0025\",\"Q\":\"10\",\"b\":\"0.0024\",\"B\":\"10\",\"a\":\"0.0026\",\"A\":"
           "\"100\",\"o\":\"0.0010\",\"h\":\"0.0025\",\"l\":\"0.0010\",\"v\":\"10000\",\"q\":"
           "\"18\",\"O\":0,\"C\":86400000,\"F\":0,\"L\":18150,\"n\":18151}}",
           m);
    const struct mdf_ticker *t = &m->rec.ticker;
    ASSERT_EQ(m->spec.type, VS_TICKER);
    ASSERT_EQ(t->h.flags, 0);
    ASSERT_DEC(t->change, "0.0015");
    ASSERT_DEC(t->change_pct, "250.00");
    ASSERT_DEC(t->vwap, "0.0018");
    ASSERT_DEC(t->prev_close_px, "0.0009");
    ASSERT_DEC(t->last_px, "0.0025");
    ASSERT_DEC(t->last_qty, "10");
    ASSERT_DEC(t->bid_px, "0.0024");
    ASSERT_DEC(t->bid_qty, "10");
    ASSERT_DEC(t->ask_px, "0.0026");
    ASSERT_DEC(t->ask_qty, "100");
    ASSERT_DEC(t->open_px, "0.0010");
    ASSERT_DEC(t->high_px, "0.0025");
    ASSERT_DEC(t->low_px, "0.0010");
    ASSERT_DEC(t->volume, "10000");
    ASSERT_DEC(t->quote_volume, "18");
    ASSERT_EQ(t->open_time_ns, 0);
    ASSERT_EQ(t->close_time_ns, 86400000000000);
    ASSERT_EQ(t->first_id, 0);
    ASSERT_EQ(t->last_id, 18150);
    ASSERT_EQ(t->count, 18151);

    /* Control replies (src/venue/README.md §1.4). */
    dec_ok(d, "{\"result\":null,\"id\":1}", m);
    ASSERT_EQ(m->kind, VM_REPLY);
    ASSERT_EQ(m->reply_id, 1);
    ASSERT_EQ(m->reply_code, 0);
    dec_ok(d, "{\"result\":[\"btcusdt@aggTrade\"],\"id\":3}", m);
    ASSERT_EQ(m->kind, VM_REPLY);
    ASSERT_EQ(m->reply_id, 3);
    ASSERT_EQ(m->reply_code, 0);
    dec_ok(d, "{\"result\":true,\"id\":\"abc\"}", m);
    ASSERT_EQ(m->kind, VM_REPLY);
    ASSERT_EQ(m->reply_id, -1);
    dec_ok(d,
           "{\"code\": 2, \"msg\": \"Invalid request: unknown variant \\\"SUBSCRIB\\\"\", "
           "\"id\": 9223372036854775807}",
           m);
    ASSERT_EQ(m->kind, VM_REPLY);
    ASSERT_EQ(m->reply_id, INT64_MAX);
    ASSERT_EQ(m->reply_code, 2);
    ASSERT_STR_EQ(m->text, "Invalid request: unknown variant \"SUBSCRIB\"");
    dec_ok(d,
           "{\"code\":3,\"msg\":\"Invalid JSON: expected value at line 1 column 1\",\"id\":null}",
           m);
    ASSERT_EQ(m->reply_code, 3);
    ASSERT_EQ(m->reply_id, -1);
    ASSERT_STR_EQ(m->text, "Invalid JSON: expected value at line 1 column 1");
    dec_ok(d, "{\"code\":0,\"msg\":\"Unknown property\",\"id\":5}", m);
    ASSERT_EQ(m->kind, VM_REPLY);
    ASSERT_NE(m->reply_code, 0); /* an error must never read as success */

    /* serverShutdown, raw and combined. */
    dec_ok(d, "{\"e\":\"serverShutdown\",\"E\":1746700000000}", m);
    ASSERT_EQ(m->kind, VM_SHUTDOWN);
    ASSERT_EQ(m->exch_time_ns, 1746700000000000000);
    dec_ok(d,
           "{\"stream\":\"!serverShutdown\",\"data\":{\"e\":\"serverShutdown\",\"E\":"
           "1746700000001}}",
           m);
    ASSERT_EQ(m->kind, VM_SHUTDOWN);
    ASSERT_EQ(m->exch_time_ns, 1746700000001000000);
    ASSERT_EQ(m->stream_len, 15);

    /* Other valid messages nobody asked for. */
    dec_ok(d, "[{\"e\":\"24hrMiniTicker\",\"E\":1,\"s\":\"BNBBTC\",\"c\":\"1\"}]", m);
    ASSERT_EQ(m->kind, VM_IGNORED);
    dec_ok(d, "{\"hello\":1}", m);
    ASSERT_EQ(m->kind, VM_IGNORED);
    dec_ok(d, "{\"stream\":\"!miniTicker@arr\",\"data\":[]}", m);
    ASSERT_EQ(m->kind, VM_IGNORED);
    ASSERT_CONTAINS(m->text, "!miniTicker@arr");
    vdec_free(d);
    free(m);
    return 0;
}

TEST(binance_decodes_the_documented_futures_examples)
{
    struct vmsg *m = malloc(sizeof(*m));
    struct vdecoder *d = vdec_new(futures(), VDEC_JSMN, 100, 65536);
    const char *mark = "{\"e\":\"markPriceUpdate\",\"E\":1562305380000,\"s\":\"BTCUSDT\",\"p\":"
                       "\"11794.15000000\",\"i\":\"11784.62659091\",\"P\":\"11784.25641265\","
                       "\"r\":\"0.00038167\",\"T\":1562306400000}";
    const char *force = "{\"e\":\"forceOrder\",\"E\":1568014460893,\"o\":{\"s\":\"BTCUSDT\",\"S\":"
                        "\"SELL\",\"o\":\"LIMIT\",\"f\":\"IOC\",\"q\":\"0.014\",\"p\":\"9910\","
                        "\"ap\":\"9910\",\"X\":\"FILLED\",\"l\":\"0.014\",\"z\":\"0.014\",\"T\":"
                        "1568014460893}}";
    char buf[1024];

    ASSERT(m && d);
    for (int w = 0; w < 3; w++) {
        if (w)
            snprintf(buf, sizeof(buf), "{\"stream\":\"btcusdt@markPrice%s\",\"data\":%s}",
                     w == 2 ? "@1s" : "", mark);
        dec_ok(d, w ? buf : mark, m);
        const struct mdf_funding *f = &m->rec.funding;
        ASSERT_EQ(m->kind, VM_RECORD);
        ASSERT_EQ(m->spec.type, w ? VS_MARKPRICE : VS_NONE);
        ASSERT_EQ(m->spec.speed_ms, w == 2 ? 1000 : 0);
        ASSERT_EQ(f->h.type, MDF_REC_FUNDING);
        ASSERT_EQ(f->h.size, sizeof(*f));
        ASSERT_EQ(f->h.exch_time_ns, 1562305380000000000);
        ASSERT_DEC(f->mark_px, "11794.15000000");
        ASSERT_DEC(f->index_px, "11784.62659091");
        ASSERT_DEC(f->est_settle_px, "11784.25641265");
        ASSERT_DEC(f->funding_rate, "0.00038167");
        ASSERT_EQ(f->next_funding_time_ns, 1562306400000000000);
    }
    /* Delivery contracts send no funding rate: "" reads as zero. */
    dec_ok(d,
           "{\"e\":\"markPriceUpdate\",\"E\":1,\"s\":\"BTCUSDT_250328\",\"p\":\"1.5\",\"i\":"
           "\"1.4\",\"P\":\"1.45\",\"r\":\"\",\"T\":0}",
           m);
    ASSERT_EQ(m->rec.funding.funding_rate.m, 0);
    ASSERT_EQ(m->rec.funding.next_funding_time_ns, 0);

    for (int w = 0; w < 2; w++) {
        if (w)
            snprintf(buf, sizeof(buf), "{\"stream\":\"btcusdt@forceOrder\",\"data\":%s}", force);
        dec_ok(d, w ? buf : force, m);
        const struct mdf_liquidation *q = &m->rec.liquidation;
        ASSERT_EQ(m->kind, VM_RECORD);
        ASSERT_STR_EQ(m->spec.symbol, "BTCUSDT");
        ASSERT_EQ(q->h.type, MDF_REC_LIQUIDATION);
        ASSERT_EQ(q->h.size, sizeof(*q));
        ASSERT_EQ(q->h.exch_time_ns, 1568014460893000000);
        ASSERT_EQ(q->h.tx_time_ns, 1568014460893000000);
        ASSERT_EQ(q->side, MDF_SIDE_SELL);
        ASSERT_STR_EQ(q->order_type, "LIMIT");
        ASSERT_STR_EQ(q->time_in_force, "IOC");
        ASSERT_STR_EQ(q->status, "FILLED");
        ASSERT_DEC(q->qty, "0.014");
        ASSERT_DEC(q->price, "9910");
        ASSERT_DEC(q->avg_price, "9910");
        ASSERT_DEC(q->last_qty, "0.014");
        ASSERT_DEC(q->filled_qty, "0.014");
    }

    /* continuous_kline: not a stream mdfeed subscribes to. */
    dec_ok(d,
           "{\"e\":\"continuous_kline\",\"E\":1607443058651,\"ps\":\"BTCUSDT\",\"ct\":"
           "\"PERPETUAL\",\"k\":{\"t\":1607443020000,\"T\":1607443079999,\"i\":\"1m\",\"f\":"
           "116467658886,\"L\":116468012423,\"o\":\"18787.00\",\"c\":\"18804.04\",\"h\":"
           "\"18804.04\",\"l\":\"18786.54\",\"v\":\"197.664\",\"n\":543,\"x\":false,\"q\":"
           "\"3715253.19494\",\"V\":\"184.769\",\"Q\":\"3472925.84746\",\"B\":\"0\"}}",
           m);
    ASSERT_EQ(m->kind, VM_IGNORED);
    ASSERT_CONTAINS(m->text, "continuous_kline");

    /* The futures recording lines (src/venue/README.md §2.3). */
    dec_ok(d,
           "{\"stream\":\"sushiusdt@bookTicker\",\"data\":{\"e\":\"bookTicker\",\"u\":"
           "600859600576,\"s\":\"SUSHIUSDT\",\"b\":\"7.6110\",\"B\":\"2\",\"a\":\"7.6120\",\"A\":"
           "\"297\",\"T\":1626992741012,\"E\":1626992741017}}",
           m);
    const struct mdf_bbo *b = &m->rec.bbo;
    ASSERT_EQ(m->kind, VM_RECORD);
    ASSERT_EQ(b->h.type, MDF_REC_BBO);
    ASSERT_EQ(b->update_id, 600859600576);
    ASSERT_EQ_U(b->h.venue_seq, 600859600576);
    ASSERT_EQ(b->h.exch_time_ns, 1626992741017000000);
    ASSERT_EQ(b->h.tx_time_ns, 1626992741012000000);
    ASSERT_DEC(b->bid_px, "7.6110");
    ASSERT_DEC(b->bid_qty, "2");
    ASSERT_DEC(b->ask_px, "7.6120");
    ASSERT_DEC(b->ask_qty, "297");

    const char *diff = "{\"e\":\"depthUpdate\",\"E\":1626992741037,\"T\":1626992741024,\"s\":"
                       "\"SUSHIUSDT\",\"U\":600859599090,\"u\":600859600917,\"pu\":600859598061,"
                       "\"b\":[[\"7.5040\",\"813\"],[\"7.6090\",\"0\"],[\"7.6110\",\"2\"]],\"a\":"
                       "[[\"7.6150\",\"1563\"],[\"7.6220\",\"3284\"]]}";
    for (int w = 0; w < 3; w++) {
        if (w)
            snprintf(buf, sizeof(buf), "{\"stream\":\"sushiusdt@%s\",\"data\":%s}",
                     w == 1 ? "depth@100ms" : "depth20@100ms", diff);
        dec_ok(d, w ? buf : diff, m);
        /* The same payload is a diff on a diff stream and the top 20 on a depth20 stream. */
        ASSERT_EQ(m->kind, w == 2 ? VM_PARTIAL : VM_DIFF);
        ASSERT_EQ(m->first_id, 600859599090);
        ASSERT_EQ(m->last_id, 600859600917);
        ASSERT_EQ(m->prev_id, 600859598061);
        ASSERT_EQ(m->exch_time_ns, 1626992741037000000);
        ASSERT_EQ(m->tx_time_ns, 1626992741024000000);
        ASSERT_EQ(m->n_bids, 3);
        ASSERT_EQ(m->n_asks, 2);
        check_levels(diff, "b", m->bids, m->n_bids);
        check_levels(diff, "a", m->asks, m->n_asks);
        ASSERT_EQ(m->bids[1].qty.m, 0);
    }

    dec_ok(d,
           "{\"stream\":\"ctkusdt@aggTrade\",\"data\":{\"e\":\"aggTrade\",\"E\":1626992741575,"
           "\"a\":16599292,\"s\":\"CTKUSDT\",\"p\":\"1.01100\",\"q\":\"10\",\"f\":23961322,\"l\":"
           "23961322,\"T\":1626992741421,\"m\":false}}",
           m);
    const struct mdf_trade *t = &m->rec.trade;
    ASSERT_EQ(t->h.flags, MDF_TRADE_F_AGGREGATE);
    ASSERT_EQ(t->trade_id, 16599292);
    ASSERT_EQ(t->first_id, 23961322);
    ASSERT_EQ(t->last_id, 23961322);
    ASSERT_EQ(t->h.exch_time_ns, 1626992741575000000);
    ASSERT_EQ(t->h.tx_time_ns, 1626992741421000000);
    ASSERT_EQ(t->side, MDF_SIDE_BUY);
    ASSERT_DEC(t->price, "1.01100");
    ASSERT_DEC(t->qty, "10");

    dec_ok(d,
           "{\"stream\":\"ctkusdt@kline_1m\",\"data\":{\"e\":\"kline\",\"E\":1626992741424,\"s\":"
           "\"CTKUSDT\",\"k\":{\"t\":1626992700000,\"T\":1626992759999,\"s\":\"CTKUSDT\",\"i\":"
           "\"1m\",\"f\":23961275,\"L\":23961322,\"o\":\"1.01000\",\"c\":\"1.01100\",\"h\":"
           "\"1.01100\",\"l\":\"1.01000\",\"v\":\"3917\",\"n\":48,\"x\":true,\"q\":\"3957.89900\","
           "\"V\":\"1729\",\"Q\":\"1748.01900\",\"B\":\"0\"}}}",
           m);
    const struct mdf_candle *k = &m->rec.candle;
    ASSERT_EQ(k->h.flags, MDF_CANDLE_F_CLOSED);
    ASSERT_EQ(k->h.exch_time_ns, 1626992741424000000);
    ASSERT_EQ(k->open_time_ns, 1626992700000000000);
    ASSERT_EQ(k->close_time_ns, 1626992759999000000);
    ASSERT_EQ(k->first_id, 23961275);
    ASSERT_EQ(k->last_id, 23961322);
    ASSERT_EQ(k->trades, 48);
    ASSERT_DEC(k->open, "1.01000");
    ASSERT_DEC(k->close, "1.01100");
    ASSERT_DEC(k->high, "1.01100");
    ASSERT_DEC(k->low, "1.01000");
    ASSERT_DEC(k->volume, "3917");
    ASSERT_DEC(k->quote_volume, "3957.89900");
    ASSERT_DEC(k->taker_buy_base, "1729");
    ASSERT_DEC(k->taker_buy_quote, "1748.01900");
    /* A kline on the wrong interval's stream is refused. */
    ASSERT_EQ(dec(d,
                  "{\"stream\":\"ctkusdt@kline_5m\",\"data\":{\"e\":\"kline\",\"k\":{\"t\":1,"
                  "\"T\":2,\"i\":\"1m\",\"o\":\"1\",\"c\":\"1\",\"h\":\"1\",\"l\":\"1\"}}}",
                  m),
              -EBADMSG);
    ASSERT_CONTAINS(mdf_errmsg(), "k.i");

    /* Futures REST snapshot (E and T present). */
    const char *snap = "{\"lastUpdateId\":1027024,\"E\":1589436922972,\"T\":1589436922959,"
                       "\"bids\":[[\"4.00000000\",\"431.00000000\"]],\"asks\":[[\"4.00000200\","
                       "\"12.00000000\"]]}";
    ASSERT_EQ(binance_decode_snapshot(d, (const uint8_t *)snap, strlen(snap), m), 0);
    ASSERT_EQ(m->kind, VM_PARTIAL);
    ASSERT_EQ(m->last_id, 1027024);
    ASSERT_EQ(m->exch_time_ns, 1589436922972000000);
    ASSERT_EQ(m->tx_time_ns, 1589436922959000000);
    ASSERT_DEC(m->bids[0].px, "4.00000000");
    ASSERT_DEC(m->asks[0].px, "4.00000200");
    ASSERT_EQ(binance_decode_snapshot(d, (const uint8_t *)diff, strlen(diff), m), -EBADMSG);
    vdec_free(d);
    free(m);
    return 0;
}

TEST(binance_klines_body_keeps_closed_candles_only)
{
    const char *body =
        "[[1633998420000,\"0.35200000\",\"0.35300000\",\"0.35100000\",\"0.35250000\","
        "\"1000.00000000\",1633998479999,\"352.50000000\",12,\"500.00000000\",\"176.25000000\","
        "\"0\"],"
        "[1633998480000,\"0.35270000\",\"0.35280000\",\"0.35220000\",\"0.35280000\","
        "\"25877.00000000\",1633998539999,\"9116.04600000\",30,\"58.00000000\",\"20.46240000\","
        "\"0\"],"
        "[1633998540000,\"0.35280000\",\"0.35280000\",\"0.35280000\",\"0.35280000\",\"0\","
        "1633998599999,\"0\",0,\"0\",\"0\",\"0\"]]";
    struct mdf_candle out[4];
    size_t n = 99;

    for (int b = 0; b < 2; b++) {
        struct vdecoder *d = vdec_new(spot(), b ? VDEC_JANSSON : VDEC_JSMN, 100, 65536);
        ASSERT(d);
        /* now = inside the third candle: two are closed. */
        ASSERT_EQ(binance_decode_klines(d, (const uint8_t *)body, strlen(body), MDF_IV_1M,
                                        1633998560000000000, 42, out, 4, &n),
                  0);
        ASSERT_EQ(n, 2);
        ASSERT_EQ(out[0].h.type, MDF_REC_CANDLE);
        ASSERT_EQ(out[0].h.size, sizeof(out[0]));
        ASSERT_EQ(out[0].h.flags, MDF_CANDLE_F_CLOSED | MDF_CANDLE_F_BACKFILLED);
        ASSERT_EQ(out[0].h.recv_time_ns, 42);
        ASSERT_EQ(out[0].h.exch_time_ns, 0);
        ASSERT_EQ(out[0].interval, MDF_IV_1M);
        ASSERT_EQ(out[0].open_time_ns, 1633998420000000000);
        ASSERT_EQ(out[0].close_time_ns, 1633998479999000000);
        ASSERT_DEC(out[0].open, "0.35200000");
        ASSERT_DEC(out[0].high, "0.35300000");
        ASSERT_DEC(out[0].low, "0.35100000");
        ASSERT_DEC(out[0].close, "0.35250000");
        ASSERT_DEC(out[0].volume, "1000.00000000");
        ASSERT_DEC(out[0].quote_volume, "352.50000000");
        ASSERT_EQ(out[0].trades, 12);
        ASSERT_DEC(out[0].taker_buy_base, "500.00000000");
        ASSERT_DEC(out[0].taker_buy_quote, "176.25000000");
        ASSERT_EQ(out[1].open_time_ns, 1633998480000000000);
        ASSERT_DEC(out[1].quote_volume, "9116.04600000");
        ASSERT_EQ(out[1].trades, 30);
        /* A close time equal to now is not closed yet. */
        ASSERT_EQ(binance_decode_klines(d, (const uint8_t *)body, strlen(body), MDF_IV_1M,
                                        1633998539999000000, 42, out, 4, &n),
                  0);
        ASSERT_EQ(n, 1);
        /* Far future: all three; no room for them is -E2BIG. */
        ASSERT_EQ(binance_decode_klines(d, (const uint8_t *)body, strlen(body), MDF_IV_1M,
                                        INT64_MAX, 42, out, 4, &n),
                  0);
        ASSERT_EQ(n, 3);
        ASSERT_EQ(binance_decode_klines(d, (const uint8_t *)body, strlen(body), MDF_IV_1M,
                                        INT64_MAX, 42, out, 2, &n),
                  -E2BIG);
        ASSERT_EQ(binance_decode_klines(d, (const uint8_t *)"[]", 2, MDF_IV_1M, INT64_MAX, 42, out,
                                        4, &n),
                  0);
        ASSERT_EQ(n, 0);
        ASSERT_EQ(binance_decode_klines(d, (const uint8_t *)"[[1,\"1\"]]", 10, MDF_IV_1M, INT64_MAX,
                                        42, out, 4, &n),
                  -EBADMSG);
        ASSERT_EQ(binance_decode_klines(d, (const uint8_t *)"{\"code\":-1120}", 14, MDF_IV_1M,
                                        INT64_MAX, 42, out, 4, &n),
                  -EBADMSG);
        const char *badrow = "[[1,\"1\",\"1\",\"1\",\"1\",\"1\",2,\"1\",true,\"1\",\"1\",\"0\"]]";
        ASSERT_EQ(binance_decode_klines(d, (const uint8_t *)badrow, strlen(badrow), MDF_IV_1M,
                                        INT64_MAX, 42, out, 4, &n),
                  -EBADMSG);
        ASSERT_CONTAINS(mdf_errmsg(), "trades");
        vdec_free(d);
    }
    return 0;
}

TEST(binance_rest_error_body_gives_code_and_message)
{
    const char *b = "{\"code\":-1003,\"msg\":\"Way too many requests; IP banned until "
                    "1659146705474.\"}";
    char msg[32];
    int code = 0;

    ASSERT_EQ(binance_decode_error((const uint8_t *)b, strlen(b), &code, msg, sizeof(msg)), 0);
    ASSERT_EQ(code, -1003);
    ASSERT_STR_EQ(msg, "Way too many requests; IP banne"); /* cut to fit, NUL-terminated */
    ASSERT_EQ(
        binance_decode_error((const uint8_t *)"{\"code\":-4021}", 14, &code, msg, sizeof(msg)), 0);
    ASSERT_EQ(code, -4021);
    ASSERT_STR_EQ(msg, "");
    ASSERT_EQ(binance_decode_error((const uint8_t *)"<html>", 6, &code, msg, sizeof(msg)),
              -EBADMSG);
    ASSERT_EQ(binance_decode_error((const uint8_t *)"{\"msg\":\"x\"}", 11, &code, msg, sizeof(msg)),
              -EBADMSG);
    ASSERT_EQ(
        binance_decode_error((const uint8_t *)"{\"code\":\"x\"}", 12, &code, msg, sizeof(msg)),
        -EBADMSG);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Backends agree                                                                             */

/* Fails unless a and b (decoded from the same message by different backends) are the same. */
static void same_vmsg(const struct vmsg *a, const struct vmsg *b, const char *msg)
{
    if (a->kind != b->kind)
        test_fail(__FILE__, __LINE__, "kinds differ on %.200s", msg);
    ASSERT_EQ(a->stream_len, b->stream_len);
    ASSERT((a->stream == NULL) == (b->stream == NULL));
    if (a->stream)
        ASSERT(memcmp(a->stream, b->stream, a->stream_len) == 0);
    ASSERT(memcmp(&a->spec, &b->spec, sizeof(a->spec)) == 0);
    ASSERT_EQ(a->rec.h.size, b->rec.h.size);
    if (a->kind == VM_RECORD) {
        ASSERT_GT(a->rec.h.size, sizeof(a->rec.h));
        if (memcmp(&a->rec, &b->rec, a->rec.h.size) != 0)
            test_fail(__FILE__, __LINE__, "records differ on %.200s", msg);
    }
    ASSERT_EQ(a->first_id, b->first_id);
    ASSERT_EQ(a->last_id, b->last_id);
    ASSERT_EQ(a->prev_id, b->prev_id);
    ASSERT_EQ(a->exch_time_ns, b->exch_time_ns);
    ASSERT_EQ(a->tx_time_ns, b->tx_time_ns);
    ASSERT_EQ(a->n_bids, b->n_bids);
    ASSERT_EQ(a->n_asks, b->n_asks);
    if (a->n_bids)
        ASSERT(memcmp(a->bids, b->bids, a->n_bids * sizeof(*a->bids)) == 0);
    if (a->n_asks)
        ASSERT(memcmp(a->asks, b->asks, a->n_asks * sizeof(*a->asks)) == 0);
    ASSERT_EQ(a->reply_id, b->reply_id);
    ASSERT_EQ(a->reply_code, b->reply_code);
    ASSERT_STR_EQ(a->text, b->text);
}

/* A copy of src (new, unterminated) with one to three bytes changed, removed or inserted; *len
 * gets its length. A changed byte is any byte if `change` is NULL, else one of `change`; an
 * inserted byte one of `insert`. */
static char *mutated(struct test_rng *rng, const char *src, size_t *len, const char *change,
                     const char *insert)
{
    size_t n = strlen(src), pos;
    char *p = malloc(n + 8);

    ASSERT(p);
    memcpy(p, src, n);
    for (int k = 0; k < 1 + (int)test_rng_below(rng, 3); k++) {
        pos = (size_t)test_rng_below(rng, n);
        switch (test_rng_below(rng, 3)) {
        case 0:
            p[pos] =
                change ? change[test_rng_below(rng, strlen(change))] : (char)test_rng_next(rng);
            break;
        case 1:
            memmove(p + pos, p + pos + 1, n - pos - 1);
            n--;
            break;
        default:
            memmove(p + pos + 1, p + pos, n - pos);
            p[pos] = insert[test_rng_below(rng, strlen(insert))];
            n++;
            break;
        }
    }
    *len = n;
    return p;
}

/* Messages beyond the recording that both backends must agree on. */
static const char *const extra_msgs[] = {
    "{\"e\":\"trade\",\"E\":1672515782136,\"s\":\"BNBBTC\",\"t\":12345,\"p\":\"0.001\",\"q\":"
    "\"100\",\"T\":1672515782136,\"m\":true,\"M\":true}",
    "{\"e\":\"24hrMiniTicker\",\"E\":1672515782136,\"s\":\"BNBBTC\",\"c\":\"0.0025\",\"o\":"
    "\"0.0010\",\"h\":\"0.0025\",\"l\":\"0.0010\",\"v\":\"10000\",\"q\":\"18\"}",
    "{\"e\":\"avgPrice\",\"E\":1693907033000,\"s\":\"BTCUSDT\",\"i\":\"5m\",\"w\":"
    "\"25776.86000000\",\"T\":1693907032213}",
    "{\"lastUpdateId\":160,\"bids\":[[\"0.0024\",\"10\"]],\"asks\":[[\"0.0026\",\"100\"]]}",
    "{\"stream\":\"bnbbtc@depth10\",\"data\":{\"lastUpdateId\":160,\"bids\":[[\"0.0024\",\"10\"]],"
    "\"asks\":[]}}",
    "{\"result\":null,\"id\":1}",
    "{\"code\":2,\"msg\":\"Invalid request: \\\"x\\\" \\u00e9\\ud83d\\ude00!\",\"id\":7}",
    "{\"e\":\"serverShutdown\",\"E\":1746700000000}",
    "{\"stream\":\"!serverShutdown\",\"data\":{\"e\":\"serverShutdown\",\"E\":1746700000001}}",
    "{\"stream\":\"bnbbtc@ticker\",\"data\":{\"e\":\"24hrTicker\",\"E\":1672515782136,\"s\":"
    "\"BNBBTC\",\"p\":\"0.0015\",\"P\":\"250.00\",\"w\":\"0.0018\",\"x\":\"0.0009\",\"c\":"
    "\"0.0025\",\"Q\":\"10\",\"b\":\"0.0024\",\"B\":\"10\",\"a\":\"0.0026\",\"A\":\"100\",\"o\":"
    "\"0.0010\",\"h\":\"0.0025\",\"l\":\"0.0010\",\"v\":\"10000\",\"q\":\"18\",\"O\":0,\"C\":"
    "86400000,\"F\":-1,\"L\":-1,\"n\":0}}",
    "[1,2,3]",
};

/* Futures messages both backends must agree on. */
static const char *const futures_msgs[] = {
    "{\"e\":\"markPriceUpdate\",\"E\":1562305380000,\"s\":\"BTCUSDT\",\"p\":\"11794.15000000\","
    "\"i\":\"11784.62659091\",\"P\":\"11784.25641265\",\"r\":\"0.00038167\",\"T\":1562306400000}",
    "{\"e\":\"continuous_kline\",\"E\":1607443058651,\"ps\":\"BTCUSDT\",\"ct\":\"PERPETUAL\","
    "\"k\":{\"t\":1607443020000,\"T\":1607443079999,\"i\":\"1m\",\"f\":116467658886,\"L\":"
    "116468012423,\"o\":\"18787.00\",\"c\":\"18804.04\",\"h\":\"18804.04\",\"l\":\"18786.54\","
    "\"v\":\"197.664\",\"n\":543,\"x\":false,\"q\":\"3715253.19494\",\"V\":\"184.769\",\"Q\":"
    "\"3472925.84746\",\"B\":\"0\"}}",
    "{\"stream\":\"btcusdt@forceOrder\",\"data\":{\"e\":\"forceOrder\",\"E\":1568014460893,\"o\":"
    "{\"s\":\"BTCUSDT\",\"S\":\"SELL\",\"o\":\"LIMIT\",\"f\":\"IOC\",\"q\":\"0.014\",\"p\":"
    "\"9910\",\"ap\":\"9910\",\"X\":\"FILLED\",\"l\":\"0.014\",\"z\":\"0.014\",\"T\":"
    "1568014460893}}}",
    "{\"stream\":\"sushiusdt@bookTicker\",\"data\":{\"e\":\"bookTicker\",\"u\":600859600576,\"s\":"
    "\"SUSHIUSDT\",\"b\":\"7.6110\",\"B\":\"2\",\"a\":\"7.6120\",\"A\":\"297\",\"T\":"
    "1626992741012,\"E\":1626992741017}}",
    "{\"stream\":\"sushiusdt@depth@100ms\",\"data\":{\"e\":\"depthUpdate\",\"E\":1626992741037,"
    "\"T\":1626992741024,\"s\":\"SUSHIUSDT\",\"U\":600859599090,\"u\":600859600917,\"pu\":"
    "600859598061,\"b\":[[\"7.5040\",\"813\"],[\"7.6090\",\"0\"],[\"7.6110\",\"2\"]],\"a\":"
    "[[\"7.6150\",\"1563\"],[\"7.6220\",\"3284\"]]}}",
    "{\"stream\":\"sushiusdt@depth5@500ms\",\"data\":{\"e\":\"depthUpdate\",\"E\":1626992741037,"
    "\"T\":1626992741024,\"s\":\"SUSHIUSDT\",\"U\":600859599090,\"u\":600859600917,\"pu\":"
    "600859598061,\"b\":[[\"7.5040\",\"813\"]],\"a\":[[\"7.6150\",\"1563\"]]}}",
    "{\"stream\":\"ctkusdt@aggTrade\",\"data\":{\"e\":\"aggTrade\",\"E\":1626992741575,\"a\":"
    "16599292,\"s\":\"CTKUSDT\",\"p\":\"1.01100\",\"q\":\"10\",\"f\":23961322,\"l\":23961322,"
    "\"T\":1626992741421,\"m\":false}}",
    "{\"stream\":\"ctkusdt@kline_1m\",\"data\":{\"e\":\"kline\",\"E\":1626992741424,\"s\":"
    "\"CTKUSDT\",\"k\":{\"t\":1626992700000,\"T\":1626992759999,\"s\":\"CTKUSDT\",\"i\":\"1m\","
    "\"f\":23961275,\"L\":23961322,\"o\":\"1.01000\",\"c\":\"1.01100\",\"h\":\"1.01100\",\"l\":"
    "\"1.01000\",\"v\":\"3917\",\"n\":48,\"x\":false,\"q\":\"3957.89900\",\"V\":\"1729\",\"Q\":"
    "\"1748.01900\",\"B\":\"0\"}}}",
};

/* Decodes msg with both decoders and checks they agree (success or the same error). */
static void both_agree(struct vdecoder *dj, struct vdecoder *dn, const char *msg, size_t len,
                       struct vmsg *a, struct vmsg *b)
{
    int ra = binance_decode(dj, (const uint8_t *)msg, len, 5, a);
    int rb = binance_decode(dn, (const uint8_t *)msg, len, 5, b);

    if (ra != rb)
        test_fail(__FILE__, __LINE__, "jsmn %d vs jansson %d on %.*s", ra, rb,
                  (int)(len > 200 ? 200 : len), msg);
    if (ra == 0)
        same_vmsg(a, b, msg);
}

TEST(binance_backends_give_identical_results_on_every_fixture)
{
    struct vmsg *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
    struct rec_lines r, h;
    struct vdecoder *sj = vdec_new(spot(), VDEC_JSMN, 5000, MAX_MSG);
    struct vdecoder *sn = vdec_new(spot(), VDEC_JANSSON, 5000, MAX_MSG);
    struct vdecoder *fj = vdec_new(futures(), VDEC_JSMN, 5000, MAX_MSG);
    struct vdecoder *fn = vdec_new(futures(), VDEC_JANSSON, 5000, MAX_MSG);

    ASSERT(a && b && sj && sn && fj && fn);
    rec_load(&r, "binance-spot/ws.rec");
    for (size_t i = 0; i < r.n; i++) {
        both_agree(sj, sn, r.msg[i], strlen(r.msg[i]), a, b);
        ASSERT_NE(a->kind, VM_IGNORED);
    }
    for (size_t i = 0; i < sizeof(extra_msgs) / sizeof(extra_msgs[0]); i++)
        both_agree(sj, sn, extra_msgs[i], strlen(extra_msgs[i]), a, b);
    for (size_t i = 0; i < sizeof(futures_msgs) / sizeof(futures_msgs[0]); i++)
        both_agree(fj, fn, futures_msgs[i], strlen(futures_msgs[i]), a, b);
    /* The reply text survives escapes the same way: one '?' per non-ASCII character. */
    ASSERT_EQ(binance_decode(sj, (const uint8_t *)extra_msgs[6], strlen(extra_msgs[6]), 5, a), 0);
    ASSERT_STR_EQ(a->text, "Invalid request: \"x\" ?"
                           "?!");

    rec_load(&h, "binance-spot/http.rec");
    for (size_t i = 0; i < h.n; i++) {
        ASSERT_EQ(binance_decode_snapshot(sj, (const uint8_t *)h.msg[i], strlen(h.msg[i]), a), 0);
        ASSERT_EQ(binance_decode_snapshot(sn, (const uint8_t *)h.msg[i], strlen(h.msg[i]), b), 0);
        same_vmsg(a, b, h.msg[i]);
    }
    rec_free(&h);
    rec_free(&r);
    vdec_free(sj);
    vdec_free(sn);
    vdec_free(fj);
    vdec_free(fn);
    free(a);
    free(b);
    return 0;
}

/* Tricky messages for the differential test: decimals given as JSON numbers (read exactly from
 * their literal on both paths), escapes inside decimals, names and keys (refused, or no match,
 * on both), repeated keys, unknown members whose strings hold brackets and quotes, odd
 * whitespace, and values out of range. {S} marks a spot message, {F} a futures one. */
static const char *const tricky_msgs[] = {
    /* Decimals as JSON numbers: the literal, never a double. */
    "S{\"e\":\"trade\",\"E\":1,\"s\":\"BNBBTC\",\"t\":1,\"p\":0.1,\"q\":2,\"T\":1,\"m\":true}",
    "S{\"e\":\"trade\",\"t\":1,\"p\":1.00,\"q\":0.30000000000000004}",
    "S{\"e\":\"trade\",\"t\":1,\"p\":1e-8,\"q\":1E+2}",
    "S{\"e\":\"trade\",\"t\":1,\"p\":12345678901234567,\"q\":-0.0}",
    "S{\"e\":\"trade\",\"t\":1,\"p\":1e99,\"q\":1}",
    "S{\"e\":\"trade\",\"t\":1,\"p\":123456789012345678901234567890,\"q\":1}",
    "S{\"e\":\"trade\",\"t\":1e3,\"p\":\"1\",\"q\":\"1\"}",
    "S{\"lastUpdateId\":7,\"bids\":[[0.0024,10],[\"0.0023\",1.5e1]],\"asks\":[[2.5E-3,100]]}",
    "S{\"u\":5,\"s\":\"BNBBTC\",\"b\":0.5,\"B\":1,\"a\":0.6,\"A\":2}",
    /* Escapes inside decimals, names and keys. */
    "S{\"e\":\"trade\",\"t\":1,\"p\":\"0\\u002e1\",\"q\":\"1\"}",
    "S{\"e\":\"trade\",\"t\":1,\"p\":\"\\u0031\",\"q\":\"1\"}",
    "S{\"e\":\"trade\",\"t\":1,\"p\":\"1\",\"q\":\"1\\u0030\"}",
    "S{\"e\":\"trade\",\"t\":1,\"p\":\"1\",\"\\u0070\":\"5\",\"q\":\"1\"}",
    "S{\"e\":\"trade\",\"t\":1,\"\\u0070\":\"5\",\"q\":\"1\"}",
    "S{\"e\":\"tr\\u0061de\",\"t\":1,\"p\":\"1\",\"q\":\"1\"}",
    "S{\"e\":\"trade\",\"s\":\"BNB\\u0042TC\",\"t\":1,\"p\":\"1\",\"q\":\"1\"}",
    "S{\"stream\":\"bnbbtc@tr\\u0061de\",\"data\":{\"e\":\"trade\",\"t\":1,\"p\":\"1\",\"q\":\"1\"}"
    "}",
    "S{\"lastUpdateId\":7,\"bids\":[[\"0\\u002e5\",\"1\"]],\"asks\":[]}",
    "S{\"code\":3,\"msg\":\"bad \\u0070 \\\"q\\\" \\ud83d\\ude00\",\"id\":9}",
    /* Repeated keys: the last one wins on both. */
    "S{\"e\":\"trade\",\"t\":1,\"p\":\"1\",\"p\":\"2\",\"q\":\"1\",\"t\":3}",
    "S{\"e\":\"trade\",\"t\":1,\"p\":\"1\",\"q\":\"1\",\"p\":0.25}",
    /* Unknown members that a text walk must step over whole. */
    "S{\"x\":{\"a\":\"]}\\\"\\\\\",\"b\":[1,{\"c\":\"}\"},[[]]],\"d\":\"p\"},\"e\":\"trade\",\"t\":"
    "1,"
    "\"p\":\"1.5\",\"q\":\"2\",\"y\":[\"\\\"p\\\":9\"]}",
    "S{\"e\":\"trade\",\"t\":1,\"z\":\"\\\\\",\"p\":\"1.5\",\"q\":\"2\"}",
    "S  {\n \"e\" :\t\"trade\" ,\r\n \"t\" : 1 , \"p\" : 0.5 ,\"q\"\n:\n\"3\" }  \n",
    "S{\"lastUpdateId\":7,\"bids\":[ [ \"1\" , \"2\" , [\"x\"] ] , [\"0.9\",\"1\",{}] ],\"asks\":[ "
    "]}",
    /* Range: both refuse with the same code. */
    "S{\"e\":\"trade\",\"t\":1,\"p\":-1,\"q\":\"1\"}",
    "S{\"e\":\"trade\",\"t\":1,\"p\":\"1\",\"q\":0}",
    "S{\"e\":\"kline\",\"k\":{\"t\":1,\"T\":2,\"i\":\"1m\",\"f\":-1,\"L\":-1,\"o\":1,\"c\":1,"
    "\"h\":0.5,\"l\":1,\"v\":0,\"n\":0}}",
    "S{\"e\":\"kline\",\"k\":{\"t\":1,\"T\":2,\"i\":\"1m\",\"f\":-1,\"L\":-1,\"o\":1,\"c\":1,"
    "\"h\":1.0,\"l\":1.00,\"v\":0,\"n\":0,\"x\":true}}",
    "S{\"u\":5,\"b\":\"2\",\"B\":\"1\",\"a\":\"1\",\"A\":\"1\"}",
    /* Futures. */
    "F{\"e\":\"markPriceUpdate\",\"E\":1,\"s\":\"BTCUSDT\",\"p\":11794.15,\"i\":\"\",\"P\":\"\","
    "\"r\":-0.0001,\"T\":2}",
    "F{\"e\":\"markPriceUpdate\",\"p\":\"11794\\u002e15\"}",
    "F{\"e\":\"forceOrder\",\"E\":1,\"o\":{\"s\":\"BTCUSDT\",\"S\":\"SELL\",\"o\":\"LIMIT\",\"f\":"
    "\"IOC\",\"q\":0.014,\"p\":9910,\"ap\":9910.0,\"X\":\"FILLED\",\"l\":0.014,\"z\":0.014}}",
    "F{\"e\":\"forceOrder\",\"o\":{\"S\":\"S\\u0045LL\",\"q\":\"1\",\"p\":\"1\"}}",
    "F{\"e\":\"depthUpdate\",\"E\":1,\"T\":1,\"s\":\"BTCUSDT\",\"U\":1,\"u\":2,\"pu\":0,\"b\":"
    "[[32012.3,0]],\"a\":[[\"32012.4\",\"1.000\"]]}",
};

/* jansson 2.14 drops a NUL after a number or a literal ("[1\0]" loads as [1]); both back ends
 * must refuse such a message, as JSON does (found by tests/fuzz/binance_diff). */
TEST(binance_backends_both_refuse_a_nul_byte_between_tokens)
{
    static const char msg[] = "{\"result\":1\0,\"id\":1}";
    struct vmsg *m = malloc(sizeof(*m));

    ASSERT(m);
    for (int j = 0; j < 2; j++) {
        struct vdecoder *d = vdec_new(spot(), j ? VDEC_JANSSON : VDEC_JSMN, 100, MAX_MSG);
        ASSERT(d);
        ASSERT_EQ(binance_decode(d, (const uint8_t *)msg, sizeof(msg) - 1, 5, m), -EBADMSG);
        ASSERT_CONTAINS(mdf_errmsg(), "NUL byte at 11");
        vdec_free(d);
    }
    free(m);
    return 0;
}

TEST(binance_backends_agree_on_tricky_messages_and_every_recording)
{
    static const char *const recs[] = {"binance-spot/ws.rec", "binance-futures/ws.rec",
                                       "binance-spot/http.rec", "binance-futures/http.rec"};
    struct vmsg *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
    struct vdecoder *dec_[2][2]; /* [futures][jansson] */
    struct test_rng rng;
    size_t agreed_ok = 0, agreed_err = 0;

    ASSERT(a && b);
    for (int f = 0; f < 2; f++)
        for (int j = 0; j < 2; j++) {
            dec_[f][j] =
                vdec_new(f ? futures() : spot(), j ? VDEC_JANSSON : VDEC_JSMN, 5000, MAX_MSG);
            ASSERT(dec_[f][j]);
        }
    for (size_t i = 0; i < sizeof(tricky_msgs) / sizeof(tricky_msgs[0]); i++) {
        const char *msg = tricky_msgs[i] + 1;
        int f = tricky_msgs[i][0] == 'F';
        int ra = binance_decode(dec_[f][0], (const uint8_t *)msg, strlen(msg), 5, a);
        int rb = binance_decode(dec_[f][1], (const uint8_t *)msg, strlen(msg), 5, b);
        if (ra != rb)
            test_fail(__FILE__, __LINE__, "jsmn %d vs jansson %d on %s", ra, rb, msg);
        if (ra == 0)
            same_vmsg(a, b, msg);
        ra == 0 ? agreed_ok++ : agreed_err++;
    }
    /* Both outcomes are exercised, and the chosen meaning holds: numbers exact, escapes out. */
    ASSERT_GE(agreed_ok, 10);
    ASSERT_GE(agreed_err, 10);
    ASSERT_EQ(dec(dec_[0][1], tricky_msgs[1] + 1, a), 0);
    ASSERT(a->rec.trade.price.m == 100 && a->rec.trade.price.e == -2);
    ASSERT_DEC(a->rec.trade.qty, "0.30000000000000004");
    ASSERT_EQ(dec(dec_[0][1], tricky_msgs[9] + 1, a), -EBADMSG);
    ASSERT_CONTAINS(mdf_errmsg(), "trade.p");
    ASSERT_EQ(dec(dec_[0][1], tricky_msgs[12] + 1, a), 0);
    ASSERT_DEC(a->rec.trade.price, "1");

    /* Every recorded message, whole and then with a few bytes changed, removed or inserted
     * (no digits or exponents put in, so no number grows past what jansson parses: jansson
     * refuses such a message whole, json.h). */
    test_rng_init(&rng, test_seed());
    for (size_t r = 0; r < sizeof(recs) / sizeof(recs[0]); r++) {
        struct rec_lines lines;
        int f = strstr(recs[r], "futures") != NULL, http = strstr(recs[r], "http") != NULL;
        rec_load(&lines, recs[r]);
        ASSERT_GT(lines.n, 0);
        for (size_t i = 0; i < lines.n; i++) {
            size_t n = strlen(lines.msg[i]);
            int ra, rb;
            if (http) {
                ra = binance_decode_snapshot(dec_[f][0], (const uint8_t *)lines.msg[i], n, a);
                rb = binance_decode_snapshot(dec_[f][1], (const uint8_t *)lines.msg[i], n, b);
                ASSERT_EQ(ra, 0);
                ASSERT_EQ(rb, 0);
                same_vmsg(a, b, lines.msg[i]);
                continue;
            }
            both_agree(dec_[f][0], dec_[f][1], lines.msg[i], n, a, b);
            ASSERT_EQ(a->kind == VM_NONE, 0); /* every recorded message decodes */
        }
        for (int it = 0; !http && it < 2000; it++) {
            static const char bytes[] = "{}[]\",:.\\u -";
            size_t n;
            char *p = mutated(&rng, lines.msg[test_rng_below(&rng, lines.n)], &n, bytes, bytes);
            both_agree(dec_[f][0], dec_[f][1], p, n, a, b);
            free(p);
        }
        rec_free(&lines);
    }
    for (int f = 0; f < 2; f++)
        for (int j = 0; j < 2; j++)
            vdec_free(dec_[f][j]);
    free(a);
    free(b);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Ranges                                                                                     */

/* Valid messages of each kind, to change one field of. */
#define T_TRADE                                                                                    \
    "{\"e\":\"trade\",\"E\":1,\"s\":\"BNBBTC\",\"t\":12345,\"p\":\"0.001\",\"q\":\"100\",\"T\":1," \
    "\"m\":true,\"M\":true}"
#define T_AGG                                                                                      \
    "{\"e\":\"aggTrade\",\"E\":1,\"s\":\"BNBBTC\",\"a\":5,\"p\":\"0.001\",\"q\":\"100\",\"f\":10," \
    "\"l\":12,\"T\":1,\"m\":true}"
#define T_KLINE                                                                                    \
    "{\"e\":\"kline\",\"E\":1,\"s\":\"BNBBTC\",\"k\":{\"t\":60000,\"T\":119999,\"s\":\"BNBBTC\","  \
    "\"i\":\"1m\",\"f\":100,\"L\":200,\"o\":\"0.0010\",\"c\":\"0.0020\",\"h\":\"0.0025\",\"l\":"   \
    "\"0.0005\",\"v\":\"1000\",\"n\":101,\"x\":false,\"q\":\"1.0000\",\"V\":\"500\",\"Q\":"        \
    "\"0.5000\",\"B\":\"0\"}}"
#define T_BOOKT                                                                                    \
    "{\"u\":400900217,\"s\":\"BNBUSDT\",\"b\":\"25.35190000\",\"B\":\"31.21000000\",\"a\":"        \
    "\"25.36520000\",\"A\":\"40.66000000\"}"
#define T_TICKER                                                                                   \
    "{\"e\":\"24hrTicker\",\"E\":1,\"s\":\"BNBBTC\",\"p\":\"-0.0015\",\"P\":\"-250.00\",\"w\":"    \
    "\"0.0018\",\"x\":\"0.0009\",\"c\":\"0.0025\",\"Q\":\"10\",\"b\":\"0.0024\",\"B\":\"10\","     \
    "\"a\":\"0.0026\",\"A\":\"100\",\"o\":\"0.0010\",\"h\":\"0.0025\",\"l\":\"0.0010\",\"v\":"     \
    "\"10000\",\"q\":\"18\",\"O\":0,\"C\":86400000,\"F\":0,\"L\":18150,\"n\":18151}"
#define T_MINI                                                                                     \
    "{\"e\":\"24hrMiniTicker\",\"E\":1,\"s\":\"BNBBTC\",\"c\":\"0.0025\",\"o\":\"0.0010\",\"h\":"  \
    "\"0.0025\",\"l\":\"0.0010\",\"v\":\"10000\",\"q\":\"18\"}"
#define T_MARK                                                                                     \
    "{\"e\":\"markPriceUpdate\",\"E\":1,\"s\":\"BTCUSDT\",\"p\":\"11794.15000000\",\"i\":"         \
    "\"11784.62659091\",\"P\":\"11784.25641265\",\"r\":\"0.00038167\",\"T\":1562306400000}"
#define T_FORCE                                                                                    \
    "{\"e\":\"forceOrder\",\"E\":1,\"o\":{\"s\":\"BTCUSDT\",\"S\":\"SELL\",\"o\":\"LIMIT\",\"f\":" \
    "\"IOC\",\"q\":\"0.014\",\"p\":\"9910\",\"ap\":\"9910\",\"X\":\"FILLED\",\"l\":\"0.014\","     \
    "\"z\":\"0.014\",\"T\":1}}"
#define T_DIFF                                                                                     \
    "{\"e\":\"depthUpdate\",\"E\":1,\"s\":\"BNBBTC\",\"U\":157,\"u\":160,\"b\":[[\"0.0024\","      \
    "\"10\"]],\"a\":[[\"0.0026\",\"100\"]]}"
#define T_SNAP                                                                                     \
    "{\"lastUpdateId\":160,\"bids\":[[\"0.0024\",\"10\"]],\"asks\":[[\"0.0026\",\"100\"]]}"
#define T_ROW                                                                                      \
    "[[60000,\"0.0010\",\"0.0025\",\"0.0005\",\"0.0020\",\"1000\",119999,\"1.0000\",101,\"500\","  \
    "\"0.5000\",\"0\"]]"

/* Writes tmpl into buf with the value of the first member "key" after `from` (or anywhere)
 * replaced by val (a scalar, or a bracketed array or object). Returns buf. */
static const char *with(const char *tmpl, const char *from, const char *key, const char *val,
                        char *buf, size_t cap)
{
    char pat[32];
    const char *p = from ? strstr(tmpl, from) : tmpl, *e;
    int depth = 0;

    ASSERT(p);
    snprintf(pat, sizeof(pat), "\"%s\":", key);
    p = strstr(p, pat);
    if (!p)
        test_fail(__FILE__, __LINE__, "no member %s in %s", key, tmpl);
    p += strlen(pat);
    /* The value ends at a ',' or a closing bracket of its parent, or just past its own. */
    for (e = p; *e; e++) {
        if (*e == '[' || *e == '{') {
            depth++;
        } else if (*e == ']' || *e == '}') {
            if (depth == 0)
                break;
            if (--depth == 0) {
                e++;
                break;
            }
        } else if (*e == ',' && depth == 0) {
            break;
        }
    }
    snprintf(buf, cap, "%.*s%s%s", (int)(p - tmpl), tmpl, val, e);
    return buf;
}

/* Decodes msg with a jsmn and a jansson decoder (spot or futures); they must agree on the code
 * and the record. Returns the code; mdf_errmsg() is the jsmn path's. */
static int dec_both(bool fut, const char *msg, struct vmsg *m)
{
    static struct vdecoder *d[2][2];
    static struct vmsg other;
    int ra, rb;

    for (int j = 0; j < 2; j++)
        if (!d[fut][j]) {
            d[fut][j] =
                vdec_new(fut ? futures() : spot(), j ? VDEC_JANSSON : VDEC_JSMN, 100, 65536);
            ASSERT(d[fut][j]);
        }
    rb = dec(d[fut][1], msg, &other);
    ra = dec(d[fut][0], msg, m);
    if (ra != rb)
        test_fail(__FILE__, __LINE__, "jsmn %d vs jansson %d on %s", ra, rb, msg);
    if (ra == 0)
        same_vmsg(m, &other, msg);
    return ra;
}

TEST(binance_decoder_refuses_impossible_values_as_range_errors_naming_field_and_value)
{
    static const struct {
        char venue;                  /* 'S' spot, 'F' futures */
        const char *tmpl, *from;     /* the valid message, where the member is looked for */
        const char *key, *val;       /* the member changed and its new value */
        const char *field, *because; /* what the error names */
    } cases[] = {
        {'S', T_TRADE, NULL, "p", "\"0\"", "trade.p", "0 is not positive"},
        {'S', T_TRADE, NULL, "p", "\"-0.001\"", "trade.p", "-0.001 is negative"},
        {'S', T_TRADE, NULL, "q", "\"0.00000000\"", "trade.q", "0.00000000 is not positive"},
        {'S', T_TRADE, NULL, "q", "-1", "trade.q", "-1 is negative"},
        {'S', T_AGG, NULL, "p", "\"0.0\"", "aggTrade.p", "0.0 is not positive"},
        {'S', T_AGG, NULL, "q", "\"-5\"", "aggTrade.q", "-5 is negative"},
        {'S', T_AGG, NULL, "f", "13", "aggTrade.f", "13 is above l 12"},
        {'S', T_KLINE, "\"k\"", "o", "\"0\"", "kline.k.o", "0 is not positive"},
        {'S', T_KLINE, "\"k\"", "h", "\"-0.0025\"", "kline.k.h", "-0.0025 is negative"},
        {'S', T_KLINE, "\"k\"", "l", "\"0.0000\"", "kline.k.l", "0.0000 is not positive"},
        {'S', T_KLINE, "\"k\"", "c", "\"0\"", "kline.k.c", "0 is not positive"},
        {'S', T_KLINE, "\"k\"", "l", "\"0.0030\"", "kline.k.h", "0.0025 is below k.l 0.0030"},
        {'S', T_KLINE, "\"k\"", "o", "\"0.0004\"", "kline.k.o", "0.0004 is below k.l 0.0005"},
        {'S', T_KLINE, "\"k\"", "c", "\"0.0026\"", "kline.k.c", "0.0026 is above k.h 0.0025"},
        {'S', T_KLINE, "\"k\"", "v", "\"-1000\"", "kline.k.v", "-1000 is negative"},
        {'S', T_KLINE, "\"k\"", "q", "\"-1\"", "kline.k.q", "-1 is negative"},
        {'S', T_KLINE, "\"k\"", "V", "\"-0.1\"", "kline.k.V", "-0.1 is negative"},
        {'S', T_KLINE, "\"k\"", "Q", "\"-0.5\"", "kline.k.Q", "-0.5 is negative"},
        {'S', T_KLINE, "\"k\"", "n", "-1", "kline.k.n", "-1 is below 0"},
        {'S', T_KLINE, "\"k\"", "f", "-1", "kline.k.f", "-1 with k.L 200"},
        {'S', T_KLINE, "\"k\"", "L", "-1", "kline.k.L", "-1 with k.f 100"},
        {'S', T_KLINE, "\"k\"", "f", "201", "kline.k.f", "201 is above k.L 200"},
        {'S', T_BOOKT, NULL, "b", "\"-25.35\"", "bookTicker.b", "-25.35 is negative"},
        {'S', T_BOOKT, NULL, "B", "\"-1\"", "bookTicker.B", "-1 is negative"},
        {'S', T_BOOKT, NULL, "a", "\"-1\"", "bookTicker.a", "-1 is negative"},
        {'S', T_BOOKT, NULL, "A", "\"-40\"", "bookTicker.A", "-40 is negative"},
        {'S', T_TICKER, NULL, "c", "\"-0.0025\"", "24hrTicker.c", "-0.0025 is negative"},
        {'S', T_TICKER, NULL, "o", "\"-1\"", "24hrTicker.o", "-1 is negative"},
        {'S', T_TICKER, NULL, "v", "\"-10000\"", "24hrTicker.v", "-10000 is negative"},
        {'S', T_TICKER, NULL, "q", "\"-18\"", "24hrTicker.q", "-18 is negative"},
        {'S', T_TICKER, NULL, "w", "\"-0.0018\"", "24hrTicker.w", "-0.0018 is negative"},
        {'S', T_TICKER, NULL, "x", "\"-1\"", "24hrTicker.x", "-1 is negative"},
        {'S', T_TICKER, NULL, "Q", "\"-10\"", "24hrTicker.Q", "-10 is negative"},
        {'S', T_TICKER, NULL, "b", "\"-0.0024\"", "24hrTicker.b", "-0.0024 is negative"},
        {'S', T_TICKER, NULL, "B", "\"-10\"", "24hrTicker.B", "-10 is negative"},
        {'S', T_TICKER, NULL, "a", "\"-0.0026\"", "24hrTicker.a", "-0.0026 is negative"},
        {'S', T_TICKER, NULL, "A", "\"-100\"", "24hrTicker.A", "-100 is negative"},
        {'S', T_TICKER, NULL, "n", "-18151", "24hrTicker.n", "-18151 is below 0"},
        {'S', T_TICKER, NULL, "h", "\"0.0009\"", "24hrTicker.h", "0.0009 is below l 0.0010"},
        {'S', T_MINI, NULL, "l", "\"0.0030\"", "24hrMiniTicker.h", "0.0025 is below l 0.0030"},
        {'S', T_MINI, NULL, "v", "\"-1\"", "24hrMiniTicker.v", "-1 is negative"},
        {'F', T_MARK, NULL, "p", "\"0\"", "markPriceUpdate.p", "0 is not positive"},
        {'F', T_MARK, NULL, "p", "\"-11794.15\"", "markPriceUpdate.p", "-11794.15 is negative"},
        {'F', T_MARK, NULL, "i", "\"0.00000000\"", "markPriceUpdate.i", "0.00000000 is not posit"},
        {'F', T_MARK, NULL, "P", "\"-1\"", "markPriceUpdate.P", "-1 is negative"},
        {'F', T_FORCE, "\"o\":{", "p", "\"0\"", "forceOrder.o.p", "0 is not positive"},
        {'F', T_FORCE, "\"o\":{", "q", "\"-0.014\"", "forceOrder.o.q", "-0.014 is negative"},
        {'F', T_FORCE, "\"o\":{", "ap", "\"-9910\"", "forceOrder.o.ap", "-9910 is negative"},
        {'F', T_FORCE, "\"o\":{", "l", "\"-1\"", "forceOrder.o.l", "-1 is negative"},
        {'F', T_FORCE, "\"o\":{", "z", "\"-1\"", "forceOrder.o.z", "-1 is negative"},
        {'S', T_DIFF, NULL, "b", "[[\"0\",\"10\"]]", "depthUpdate.b[0]", "price 0 is not positive"},
        {'S', T_DIFF, NULL, "b", "[[\"1\",\"1\"],[\"-0.5\",\"0\"]]", "depthUpdate.b[1]",
         "price -0.5 is negative"},
        {'S', T_DIFF, NULL, "a", "[[\"0.0026\",\"-100\"]]", "depthUpdate.a[0]",
         "qty -100 is negative"},
        {'S', T_SNAP, NULL, "asks", "[[\"0.00\",\"1\"]]", "depth.asks[0]",
         "price 0.00 is not positive"},
        {'F', T_DIFF, NULL, "a", "[[\"0\",\"0\"]]", "depthUpdate.a[0]", "price 0 is not positive"},
    };
    struct vmsg *m = malloc(sizeof(*m));
    char buf[1024];

    ASSERT(m);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool fut = cases[i].venue == 'F';
        /* The template itself is valid, then the changed one is refused. */
        ASSERT_EQ(dec_both(fut, cases[i].tmpl, m), 0);
        with(cases[i].tmpl, cases[i].from, cases[i].key, cases[i].val, buf, sizeof(buf));
        int rc = dec_both(fut, buf, m);
        if (rc != -ERANGE)
            test_fail(__FILE__, __LINE__, "case %zu: %d, want -ERANGE (%s) on %s", i, rc,
                      rc ? mdf_errmsg() : "decoded", buf);
        ASSERT_CONTAINS(mdf_errmsg(), cases[i].field);
        ASSERT_CONTAINS(mdf_errmsg(), cases[i].because);
        ASSERT_EQ(m->kind, VM_NONE); /* nothing to publish */
    }

    /* The same rules on REST bodies: a snapshot level and a klines row. */
    for (int j = 0; j < 2; j++) {
        struct vdecoder *d = vdec_new(spot(), j ? VDEC_JANSSON : VDEC_JSMN, 100, 65536);
        struct mdf_candle k[2];
        size_t n;
        ASSERT(d);
        with(T_SNAP, NULL, "bids", "[[\"-1\",\"1\"]]", buf, sizeof(buf));
        ASSERT_EQ(binance_decode_snapshot(d, (const uint8_t *)buf, strlen(buf), m), -ERANGE);
        ASSERT_CONTAINS(mdf_errmsg(), "snapshot.bids[0]: price -1 is negative");
        ASSERT_EQ(binance_decode_klines(d, (const uint8_t *)T_ROW, strlen(T_ROW), MDF_IV_1M,
                                        INT64_MAX, 1, k, 2, &n),
                  0);
        ASSERT_EQ(n, 1);
        static const char *const rows[][2] = {
            {"[[60000,\"0.0010\",\"0.0004\",\"0.0005\",\"0.0020\",\"1\",119999,\"1\",1,\"1\",\"1\","
             "\"0\"]]",
             "klines.high: 0.0004 is below low 0.0005"},
            {"[[60000,\"0\",\"0.0025\",\"0.0005\",\"0.0020\",\"1\",119999,\"1\",1,\"1\",\"1\","
             "\"0\"]]",
             "klines.open: 0 is not positive"},
            {"[[60000,\"0.0010\",\"0.0025\",\"0.0005\",\"0.0020\",\"-1\",119999,\"1\",1,\"1\","
             "\"1\","
             "\"0\"]]",
             "klines.volume: -1 is negative"},
            {"[[60000,\"0.0010\",\"0.0025\",\"0.0005\",\"0.0020\",\"1\",119999,\"1\",-2,\"1\","
             "\"1\","
             "\"0\"]]",
             "klines.trades: -2 is below 0"},
        };
        for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
            ASSERT_EQ(binance_decode_klines(d, (const uint8_t *)rows[r][0], strlen(rows[r][0]),
                                            MDF_IV_1M, INT64_MAX, 1, k, 2, &n),
                      -ERANGE);
            ASSERT_CONTAINS(mdf_errmsg(), rows[r][1]);
        }
        vdec_free(d);
    }
    free(m);
    return 0;
}

TEST(binance_decoder_keeps_valid_edge_values)
{
    struct vmsg *m = malloc(sizeof(*m));
    char buf[1024], b2[1024], b3[1024], b4[1024];

    ASSERT(m);
    /* A ticker on an empty book: no bid, no ask, all zero; not crossed. */
    with(T_TICKER, NULL, "b", "\"0.00000000\"", buf, sizeof(buf));
    with(buf, NULL, "B", "\"0.00000000\"", b2, sizeof(b2));
    with(b2, NULL, "a", "\"0.00000000\"", b3, sizeof(b3));
    with(b3, NULL, "A", "\"0.00000000\"", b4, sizeof(b4));
    ASSERT_EQ(dec_both(false, b4, m), 0);
    ASSERT_EQ(m->rec.ticker.bid_px.m, 0);
    ASSERT_EQ(m->rec.ticker.ask_qty.m, 0);
    ASSERT_EQ(m->rec.h.flags, 0);
    /* A negative change and percentage are fine. */
    ASSERT_DEC(m->rec.ticker.change, "-0.0015");
    ASSERT_DEC(m->rec.ticker.change_pct, "-250.00");
    /* A bid with no ask (one side empty) is not crossed. */
    with(T_TICKER, NULL, "a", "\"0\"", buf, sizeof(buf));
    ASSERT_EQ(dec_both(false, buf, m), 0);
    ASSERT_EQ(m->rec.h.flags, 0);
    /* No trade in 24 h: a zero count, ids -1, vwap 0, last quantity 0. */
    with(T_TICKER, NULL, "n", "0", buf, sizeof(buf));
    with(buf, NULL, "F", "-1", b2, sizeof(b2));
    with(b2, NULL, "L", "-1", b3, sizeof(b3));
    with(b3, NULL, "w", "\"0.00000000\"", b4, sizeof(b4));
    with(b4, NULL, "Q", "\"0\"", buf, sizeof(buf));
    ASSERT_EQ(dec_both(false, buf, m), 0);
    ASSERT_EQ(m->rec.ticker.count, 0);
    ASSERT_EQ(m->rec.ticker.first_id, -1);

    /* A kline with no trades: f = L = -1, n = 0, zero volumes, one price. */
    with(T_KLINE, "\"k\"", "f", "-1", buf, sizeof(buf));
    with(buf, "\"k\"", "L", "-1", b2, sizeof(b2));
    with(b2, "\"k\"", "n", "0", b3, sizeof(b3));
    with(b3, "\"k\"", "v", "\"0.00000000\"", b4, sizeof(b4));
    with(b4, "\"k\"", "q", "\"0\"", buf, sizeof(buf));
    with(buf, "\"k\"", "V", "\"0\"", b2, sizeof(b2));
    with(b2, "\"k\"", "Q", "\"0\"", b3, sizeof(b3));
    with(b3, "\"k\"", "h", "\"0.0010\"", b4, sizeof(b4));
    with(b4, "\"k\"", "l", "\"0.0010\"", buf, sizeof(buf));
    with(buf, "\"k\"", "c", "\"0.00100\"", b2, sizeof(b2));
    ASSERT_EQ(dec_both(false, b2, m), 0);
    ASSERT_EQ(m->rec.candle.first_id, -1);
    ASSERT_EQ(m->rec.candle.last_id, -1);
    ASSERT_EQ(m->rec.candle.trades, 0);
    ASSERT_DEC(m->rec.candle.close, "0.00100");
    /* One trade: f = L. Open and close on the low and the high. */
    with(T_KLINE, "\"k\"", "f", "200", buf, sizeof(buf));
    with(buf, "\"k\"", "o", "\"0.0005\"", b2, sizeof(b2));
    with(b2, "\"k\"", "c", "\"0.00250\"", b3, sizeof(b3));
    ASSERT_EQ(dec_both(false, b3, m), 0);
    ASSERT_EQ(m->rec.candle.first_id, 200);

    /* A diff's zero quantity deletes the level; a zero-quantity bookTicker side is kept. */
    with(T_DIFF, NULL, "b", "[[\"0.0024\",\"0.00000000\"]]", buf, sizeof(buf));
    ASSERT_EQ(dec_both(false, buf, m), 0);
    ASSERT_EQ(m->n_bids, 1);
    ASSERT_EQ(m->bids[0].qty.m, 0);
    with(T_BOOKT, NULL, "b", "\"0.00000000\"", buf, sizeof(buf));
    with(buf, NULL, "B", "\"0.00000000\"", b2, sizeof(b2));
    ASSERT_EQ(dec_both(false, b2, m), 0);
    ASSERT_EQ(m->rec.h.flags, 0);

    /* Funding: a negative rate; "" for an index and settle price that do not apply. */
    with(T_MARK, NULL, "r", "\"-0.00010000\"", buf, sizeof(buf));
    with(buf, NULL, "i", "\"\"", b2, sizeof(b2));
    with(b2, NULL, "P", "\"\"", b3, sizeof(b3));
    ASSERT_EQ(dec_both(true, b3, m), 0);
    ASSERT_DEC(m->rec.funding.funding_rate, "-0.00010000");
    ASSERT_EQ(m->rec.funding.index_px.m, 0);
    /* A liquidation not filled yet: average price and filled quantity 0. */
    with(T_FORCE, "\"o\":{", "ap", "\"0\"", buf, sizeof(buf));
    with(buf, "\"o\":{", "z", "\"0\"", b2, sizeof(b2));
    with(b2, "\"o\":{", "l", "\"0\"", b3, sizeof(b3));
    ASSERT_EQ(dec_both(true, b3, m), 0);
    /* An aggregate of one trade: f = l. */
    with(T_AGG, NULL, "f", "12", buf, sizeof(buf));
    ASSERT_EQ(dec_both(false, buf, m), 0);
    free(m);
    return 0;
}

TEST(binance_flags_a_crossed_or_locked_best_bid_and_offer_and_publishes_it)
{
    static const struct {
        bool fut;
        const char *bid, *ask;
        bool crossed;
    } cases[] = {
        {false, "\"25.37\"", "\"25.36520000\"", true},      /* bid above ask */
        {false, "\"25.36520\"", "\"25.3652000000\"", true}, /* locked, other exponents */
        {false, "\"25.36510000\"", "\"25.36520000\"", false},
        {false, "\"0.00000000\"", "\"25.36520000\"", false}, /* no bid */
        {false, "\"25.37\"", "\"0\"", false},                /* no ask */
        {true, "\"7.6130\"", "\"7.6120\"", true},
    };
    struct vmsg *m = malloc(sizeof(*m));
    char buf[1024], b2[1024];

    ASSERT(m);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        with(T_BOOKT, NULL, "b", cases[i].bid, buf, sizeof(buf));
        with(buf, NULL, "a", cases[i].ask, b2, sizeof(b2));
        ASSERT_EQ(dec_both(cases[i].fut, b2, m), 0);
        ASSERT_EQ(m->kind, VM_RECORD);
        ASSERT_EQ(m->rec.h.type, MDF_REC_BBO);
        if (m->rec.h.flags != (cases[i].crossed ? MDF_BBO_F_CROSSED : 0))
            test_fail(__FILE__, __LINE__, "case %zu: flags %u on %s", i, m->rec.h.flags, b2);
        ASSERT_EQ(m->rec.bbo.update_id, 400900217); /* published as it came */
        ASSERT_DEC(m->rec.bbo.bid_qty, "31.21000000");
    }
    /* The ticker's bid and ask: the same rule, its own bit beside MINI. */
    with(T_TICKER, NULL, "b", "\"0.0027\"", buf, sizeof(buf));
    ASSERT_EQ(dec_both(false, buf, m), 0);
    ASSERT_EQ(m->rec.h.flags, MDF_TICKER_F_CROSSED);
    ASSERT_DEC(m->rec.ticker.bid_px, "0.0027");
    with(T_TICKER, NULL, "b", "\"0.00260\"", buf, sizeof(buf));
    ASSERT_EQ(dec_both(false, buf, m), 0);
    ASSERT_EQ(m->rec.h.flags, MDF_TICKER_F_CROSSED);
    ASSERT_EQ(dec_both(false, T_TICKER, m), 0);
    ASSERT_EQ(m->rec.h.flags, 0);
    ASSERT_EQ(dec_both(false, T_MINI, m), 0);
    ASSERT_EQ(m->rec.h.flags, MDF_TICKER_F_MINI);
    free(m);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Hostile input                                                                              */

/* True if rc is one of the decoder's documented error codes (or success). */
static bool clean_code(int rc)
{
    return rc == 0 || rc == -EBADMSG || rc == -ERANGE || rc == -E2BIG;
}

TEST(binance_decoder_refuses_every_truncation_of_a_message)
{
    const char *msgs[] = {
        "{\"stream\":\"nknusdt@kline_1m\",\"data\":{\"e\":\"kline\",\"E\":1633998523963,\"s\":"
        "\"NKNUSDT\",\"k\":{\"t\":1633998480000,\"T\":1633998539999,\"s\":\"NKNUSDT\",\"i\":"
        "\"1m\",\"f\":19862761,\"L\":19862790,\"o\":\"0.35270000\",\"c\":\"0.35280000\",\"h\":"
        "\"0.35280000\",\"l\":\"0.35220000\",\"v\":\"25877.00000000\",\"n\":30,\"x\":false,"
        "\"q\":\"9116.04600000\",\"V\":\"58.00000000\",\"Q\":\"20.46240000\",\"B\":\"0\"}}}",
        "{\"stream\":\"nknusdt@depth@100ms\",\"data\":{\"e\":\"depthUpdate\",\"E\":1633998512068,"
        "\"s\":\"NKNUSDT\",\"U\":499869750,\"u\":499869752,\"b\":[[\"0.35130000\","
        "\"6195.00000000\"],[\"0.34750000\",\"5548.00000000\"]],\"a\":[]}}",
        "{\"e\":\"trade\",\"E\":1672515782136,\"s\":\"BNBBTC\",\"t\":12345,\"p\":\"0.001\",\"q\":"
        "\"100\",\"T\":1672515782136,\"m\":true,\"M\":true}",
        "{\"result\":null,\"id\":1}",
        "{\"lastUpdateId\":160,\"bids\":[[\"0.0024\",\"10\"]],\"asks\":[[\"0.0026\",\"100\"]]}",
    };
    struct vmsg *m = malloc(sizeof(*m));

    ASSERT(m);
    for (int b = 0; b < 2; b++) {
        struct vdecoder *d = vdec_new(spot(), b ? VDEC_JANSSON : VDEC_JSMN, 100, 65536);
        ASSERT(d);
        for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
            size_t len = strlen(msgs[i]);
            /* Copy each prefix into its own buffer so ASan sees any read past the end. */
            for (size_t cut = 0; cut < len; cut++) {
                char *p = malloc(cut ? cut : 1);
                ASSERT(p);
                memcpy(p, msgs[i], cut);
                int rc = binance_decode(d, (const uint8_t *)p, cut, 1, m);
                if (rc != -EBADMSG)
                    test_fail(__FILE__, __LINE__, "backend %d: prefix %zu of message %zu: %d", b,
                              cut, i, rc);
                free(p);
            }
            ASSERT_EQ(binance_decode(d, (const uint8_t *)msgs[i], len, 1, m), 0);
        }
        vdec_free(d);
    }
    free(m);
    return 0;
}

/* Decodes the aggTrade template with field `key`'s value replaced by `val`; returns the code
 * of both backends (they must agree) and leaves the error message. */
static int agg_with(struct vdecoder *dj, struct vdecoder *dn, const char *key, const char *val,
                    struct vmsg *m)
{
    static const char *const keys[] = {"e", "E", "s", "a", "p", "q", "f", "l", "T", "m", "M"};
    static const char *const vals[] = {
        "\"aggTrade\"",   "1633998523963",   "\"NKNUSDT\"", "15683430",
        "\"0.35280000\"", "\"58.00000000\"", "19862790",    "19862790",
        "1633998523963",  "false",           "true"};
    char buf[1024], msgerr[512];
    size_t len = 0;
    int ra, rb;

    len += (size_t)snprintf(buf + len, sizeof(buf) - len,
                            "{\"stream\":\"nknusdt@aggTrade\","
                            "\"data\":{");
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s\"%s\":%s", i ? "," : "", keys[i],
                                strcmp(keys[i], key) == 0 ? val : vals[i]);
    len += (size_t)snprintf(buf + len, sizeof(buf) - len, "}}");
    ra = binance_decode(dn, (const uint8_t *)buf, len, 1, m);
    rb = binance_decode(dj, (const uint8_t *)buf, len, 1, m);
    snprintf(msgerr, sizeof(msgerr), "%s", mdf_errmsg());
    if (ra != rb)
        test_fail(__FILE__, __LINE__, "backends differ (%d, %d) on %s", ra, rb, buf);
    return ra;
}

TEST(binance_decoder_names_the_field_of_a_wrong_type_or_range)
{
    struct vdecoder *dj = vdec_new(spot(), VDEC_JSMN, 100, 65536);
    struct vdecoder *dn = vdec_new(spot(), VDEC_JANSSON, 100, 65536);
    struct vmsg *m = malloc(sizeof(*m));
    static const struct {
        const char *key, *val;
        int rc;
        const char *err;
    } cases[] = {
        {"p", "true", -EBADMSG, "aggTrade.p"},
        {"p", "\"0.35x\"", -EBADMSG, "aggTrade.p"},
        {"p", "\"\"", -EBADMSG, "aggTrade.p"},
        {"p", "null", -EBADMSG, "aggTrade.p"},
        {"q", "[1]", -EBADMSG, "aggTrade.q"},
        {"q", "{\"x\":1}", -EBADMSG, "aggTrade.q"},
        {"a", "\"15683430\"", -EBADMSG, "aggTrade.a"},
        {"a", "1.5", -EBADMSG, "aggTrade.a"},
        {"a", "1e3", -EBADMSG, "aggTrade.a"},
        {"a", "9223372036854775808", -ERANGE, "aggTrade.a"},
        {"a", "-9223372036854775809", -ERANGE, "aggTrade.a"},
        {"f", "99999999999999999999999", -ERANGE, "aggTrade.f"},
        {"E", "\"1633998523963\"", -EBADMSG, "aggTrade.E"},
        {"E", "-1", -ERANGE, "aggTrade.E"},
        {"E", "9223372036854775807", -ERANGE, "aggTrade.E"},
        {"T", "9223372036855", -ERANGE, "aggTrade.T"},
        {"m", "\"false\"", -EBADMSG, "aggTrade.m"},
        {"m", "0", -EBADMSG, "aggTrade.m"},
        {"M", "null", -EBADMSG, "aggTrade.M"},
        {"s", "5", -EBADMSG, "aggTrade.s"},
        {"s", "\"BTCUSDT\"", -EBADMSG, "symbol BTCUSDT on the NKNUSDT stream"},
        {"e", "\"trade\"", -EBADMSG, "carries event \"trade\""},
        {"e", "7", -EBADMSG, "aggTrade.e"},
        {"p", "\"123456789012345678901234567890\"", -ERANGE, "aggTrade.p"},
        {"p", "\"1e99\"", -ERANGE, "aggTrade.p"},
    };

    ASSERT(dj && dn && m);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = agg_with(dj, dn, cases[i].key, cases[i].val, m);
        if (rc != cases[i].rc)
            test_fail(__FILE__, __LINE__, "%s=%s: %d, want %d (%s)", cases[i].key, cases[i].val, rc,
                      cases[i].rc, mdf_errmsg());
        ASSERT_CONTAINS(mdf_errmsg(), cases[i].err);
        ASSERT_EQ(m->kind, VM_NONE); /* a refused message is no half-filled result */
    }
    /* Edge values that fit. */
    ASSERT_EQ(agg_with(dj, dn, "a", "-9223372036854775808", m), 0);
    ASSERT_EQ(m->rec.trade.trade_id, INT64_MIN);
    ASSERT_EQ(agg_with(dj, dn, "a", "9223372036854775807", m), 0);
    ASSERT_EQ(m->rec.trade.trade_id, INT64_MAX);
    ASSERT_EQ(agg_with(dj, dn, "T", "9223372036854", m), 0);
    ASSERT_EQ(m->rec.h.tx_time_ns, 9223372036854000000);
    /* 30 digits whose trailing zeros can go are kept exactly; decimals as numbers are
     * read from their text on both paths. */
    ASSERT_EQ(agg_with(dj, dn, "p", "\"1.00000000000000000000000000000\"", m), 0);
    ASSERT_EQ(mdf_dec_cmp(m->rec.trade.price, (struct mdf_dec){1, 0, 0}), 0);
    ASSERT_EQ(agg_with(dj, dn, "p", "\"0.000000000000000000000000000001\"", m), 0);
    ASSERT_DEC(m->rec.trade.price, "0.000000000000000000000000000001");
    ASSERT_EQ(dec(dj, "{\"e\":\"trade\",\"t\":1,\"p\":0.1,\"q\":2}", m), 0);
    ASSERT_DEC(m->rec.trade.price, "0.1");
    ASSERT_DEC(m->rec.trade.qty, "2");
    ASSERT_EQ(dec(dn, "{\"e\":\"trade\",\"t\":1,\"p\":0.1,\"q\":2}", m), 0);
    ASSERT_DEC(m->rec.trade.price, "0.1");
    /* Missing required fields. */
    ASSERT_EQ(dec(dj, "{\"e\":\"aggTrade\",\"p\":\"1\",\"q\":\"1\"}", m), -EBADMSG);
    ASSERT_CONTAINS(mdf_errmsg(), "missing field a");
    ASSERT_EQ(dec(dj, "{\"stream\":\"nknusdt@aggTrade\"}", m), -EBADMSG);
    ASSERT_EQ(dec(dj, "{\"stream\":7,\"data\":{}}", m), -EBADMSG);
    ASSERT_EQ(dec(dj, "{\"e\":\"forceOrder\",\"o\":{\"S\":\"LONG\",\"q\":\"1\",\"p\":\"1\"}}", m),
              -EBADMSG);
    ASSERT_CONTAINS(mdf_errmsg(), "o.S");
    ASSERT_EQ(dec(dj,
                  "{\"e\":\"forceOrder\",\"o\":{\"S\":\"SELL\",\"q\":\"1\",\"p\":\"1\",\"X\":"
                  "\"FILLED_AND_THEN_SOME\"}}",
                  m),
              -ERANGE);
    ASSERT_CONTAINS(mdf_errmsg(), "o.X");
    ASSERT_EQ(dec(dj, "{\"e\":\"depthUpdate\",\"U\":1,\"u\":2,\"b\":[[\"1\"]],\"a\":[]}", m),
              -EBADMSG);
    ASSERT_CONTAINS(mdf_errmsg(), "b[0]");
    ASSERT_EQ(dec(dj, "{\"e\":\"depthUpdate\",\"U\":1,\"u\":2,\"b\":[],\"a\":[[\"1\",\"-1\"]]}", m),
              -ERANGE);
    ASSERT_CONTAINS(mdf_errmsg(), "a[0]");
    ASSERT_EQ(dec(dj, "{\"e\":\"depthUpdate\",\"U\":1,\"u\":2,\"b\":{},\"a\":[]}", m), -EBADMSG);
    ASSERT_EQ(dec(dj, "{\"e\":\"kline\",\"k\":[]}", m), -EBADMSG);
    ASSERT_EQ(dec(dj,
                  "{\"e\":\"kline\",\"k\":{\"t\":1,\"T\":2,\"i\":\"2m\",\"o\":\"1\",\"c\":"
                  "\"1\",\"h\":\"1\",\"l\":\"1\"}}",
                  m),
              -EBADMSG);
    ASSERT_CONTAINS(mdf_errmsg(), "unknown interval");
    ASSERT_EQ(dec(dj,
                  "{\"e\":\"bookTicker\",\"u\":-5,\"b\":\"1\",\"B\":\"1\",\"a\":\"1\",\"A\":"
                  "\"1\"}",
                  m),
              -ERANGE);
    ASSERT_EQ(dec(dj, "{\"code\":\"x\",\"msg\":\"y\"}", m), -EBADMSG);
    vdec_free(dj);
    vdec_free(dn);
    free(m);
    return 0;
}

TEST(binance_decoder_survives_junk_depth_and_oversized_input)
{
    const size_t deep = 10000;
    struct vmsg *m = malloc(sizeof(*m));
    struct test_rng rng;
    struct rec_lines r;
    char *buf;
    size_t len;

    ASSERT(m);
    test_rng_init(&rng, test_seed());
    rec_load(&r, "binance-spot/ws.rec");
    buf = malloc(2u << 20);
    ASSERT(buf);
    for (int b = 0; b < 2; b++) {
        enum vdec_backend be = b ? VDEC_JANSSON : VDEC_JSMN;
        struct vdecoder *d = vdec_new(spot(), be, 1000, 2u << 20);
        int rc;
        ASSERT(d);

        /* Empty and blank. */
        ASSERT_EQ(binance_decode(d, (const uint8_t *)"", 0, 1, m), -EBADMSG);
        ASSERT_EQ(binance_decode(d, (const uint8_t *)" \n\t ", 4, 1, m), -EBADMSG);
        ASSERT_EQ(binance_decode(d, (const uint8_t *)"null", 4, 1, m), -EBADMSG);
        ASSERT_EQ(binance_decode(d, (const uint8_t *)"\"x\"", 3, 1, m), -EBADMSG);

        /* Nested 10000 deep, arrays and objects. */
        len = 0;
        for (size_t i = 0; i < deep; i++)
            buf[len++] = '[';
        for (size_t i = 0; i < deep; i++)
            buf[len++] = ']';
        rc = binance_decode(d, (const uint8_t *)buf, len, 1, m);
        ASSERT(rc == -EBADMSG || rc == -E2BIG);
        len = 0;
        for (size_t i = 0; i < deep; i++)
            len += (size_t)sprintf(buf + len, "{\"a\":");
        buf[len++] = '1';
        for (size_t i = 0; i < deep; i++)
            buf[len++] = '}';
        rc = binance_decode(d, (const uint8_t *)buf, len, 1, m);
        ASSERT(rc == -EBADMSG || rc == -E2BIG);

        /* Binary junk. */
        for (int it = 0; it < 2000; it++) {
            size_t n = (size_t)test_rng_below(&rng, 300);
            char *p = malloc(n ? n : 1);
            ASSERT(p);
            for (size_t i = 0; i < n; i++)
                p[i] = (char)test_rng_next(&rng);
            rc = binance_decode(d, (const uint8_t *)p, n, 1, m);
            ASSERT(clean_code(rc));
            free(p);
        }

        /* Recorded lines with random bytes changed, inserted or removed. */
        for (int it = 0; it < 3000; it++) {
            size_t n;
            char *p = mutated(&rng, r.msg[test_rng_below(&rng, r.n)], &n, NULL, "{}[]\",:0\\");
            rc = binance_decode(d, (const uint8_t *)p, n, 1, m);
            ASSERT(clean_code(rc));
            free(p);
        }

        /* A 1 MiB levels array, far beyond the decoder's 1000 levels. */
        len = (size_t)sprintf(buf, "{\"stream\":\"btcusdt@depth@100ms\",\"data\":{\"e\":"
                                   "\"depthUpdate\",\"E\":1,\"s\":\"BTCUSDT\",\"U\":1,\"u\":2,"
                                   "\"b\":[");
        while (len < (1u << 20))
            len += (size_t)sprintf(buf + len, "[\"1.00\",\"2.00\"],");
        len += (size_t)sprintf(buf + len - 1, "],\"a\":[]}}") - 1;
        ASSERT_EQ(binance_decode(d, (const uint8_t *)buf, len, 1, m), -E2BIG);
        /* And one over the message size limit. */
        ASSERT_EQ(binance_decode(d, (const uint8_t *)buf, (2u << 20) + 1, 1, m), -E2BIG);
        ASSERT_CONTAINS(mdf_errmsg(), "limit");

        /* The decoder still works afterwards. */
        dec_ok(d, r.msg[0], m);
        ASSERT_EQ(m->kind, VM_DIFF);
        vdec_free(d);
    }
    free(buf);
    rec_free(&r);
    free(m);
    return 0;
}
