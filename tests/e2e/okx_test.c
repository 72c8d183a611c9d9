/*
 * End to end with OKX v5 public: the fake venue's OKX market (--venue okx) -> mdfeedd ->
 * shared memory -> reader, checked against an observer: a client of our own on the same fake
 * venue, subscribed to the same channels (every subscriber of a channel gets the same
 * messages), that keeps reference books, trades, candles and the last bbo, ticker, books5 and
 * mark price from what it receives. The market stops after a fixed number of events
 * (--market-events), so final states can be compared exactly.
 *
 * Faults go only to the daemon's connections (--fault-conns: the daemon connects first), so
 * the observer always sees the truth.
 *
 * Runs on the fake venue's OKX module (tools/mdfeed-fakevenue/okx*.c: --venue okx, --market,
 * --okx-seq-break, --okx-bad-checksum, --okx-checksum-zero, --okx-req-limit, --okx-minute-ms,
 * --shutdown-after sending 64008, the 30 s idle cut, its 3 connections a second, and the
 * shared --fault-close-after and --fault-corrupt, GET /fv/stats) and okx entries of the
 * config.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include <mdfeed/health.h>
#include <mdfeed/mdfeed.h>

#include "e2e/e2e.h"
#include "support/daemon.h"
#include "support/fakevenue.h"
#include "support/wsclient.h"
#include "test.h"

#define VENUE_HEAD "venues = ({ venue = \"okx\"; url = \"ws://127.0.0.1:%d\";\n"
#define OBS_CHANS 16    /* channels one observer follows */
#define OBS_LEVELS 512  /* levels per side of a reference book (the market has up to 256) */
#define OBS_TRADES 8192 /* trades per channel */
#define OBS_CANDLES 512 /* candles per channel */

/* ---- decimals ---------------------------------------------------------------------------- */

/* ---- the observer ------------------------------------------------------------------------ */

struct olevel {
    mdf_dec_t px, qty;
};

struct ochan {
    char channel[24];       /* "books", "books5", "bbo-tbt", "trades", "tickers", ... */
    char inst[32];          /* instId */
    bool acked;             /* the venue answered the subscribe */
    struct olevel *side[2]; /* books, books5: [0] bids best first, [1] asks best first */
    int n[2];
    int64_t seq;  /* books: the last seqId */
    int64_t *tid; /* trades: ids in arrival order */
    mdf_dec_t *tpx, *tqty;
    uint8_t *tside;
    int n_t;
    struct mdf_candle *cdl; /* candles: the last values of each open time, in order */
    bool *confirmed;        /* ... and whether the venue said it closed */
    int n_cdl;
    mdf_dec_t bid, ask, last, mark; /* bbo-tbt, tickers, mark-price: the last values */
    int64_t *fts, *fnext; /* mark-price, funding-rate: each message's ts, fundingTime (ms) */
    mdf_dec_t *fval;      /* ... and its markPx or fundingRate */
    int n_f;
    long updates; /* data messages */
    long cs_zero; /* books messages with checksum 0 */
};

struct obs {
    struct wsc c;
    struct ochan ch[OBS_CHANS];
    int n;
    int64_t last_book_ns; /* when the last books update arrived */
};

/* Connects to path ("/ws/v5/public" or "/ws/v5/business"). */
static void obs_open(struct obs *o, int port, const char *path)
{
    memset(o, 0, sizeof(*o));
    ASSERT_EQ(wsc_connect(&o->c, port, path, NULL), 0);
}

/* Adds channel of inst to the observer's subscription (sent by obs_go()). */
static void obs_sub(struct obs *o, const char *channel, const char *inst)
{
    struct ochan *c = &o->ch[o->n++];

    ASSERT(o->n <= OBS_CHANS);
    snprintf(c->channel, sizeof(c->channel), "%s", channel);
    snprintf(c->inst, sizeof(c->inst), "%s", inst);
    if (strncmp(channel, "books", 5) == 0) {
        c->side[0] = calloc(OBS_LEVELS, sizeof(struct olevel));
        c->side[1] = calloc(OBS_LEVELS, sizeof(struct olevel));
    } else if (strcmp(channel, "trades") == 0) {
        c->tid = calloc(OBS_TRADES, sizeof(*c->tid));
        c->tpx = calloc(OBS_TRADES, sizeof(*c->tpx));
        c->tqty = calloc(OBS_TRADES, sizeof(*c->tqty));
        c->tside = calloc(OBS_TRADES, 1);
    } else if (strncmp(channel, "candle", 6) == 0) {
        c->cdl = calloc(OBS_CANDLES, sizeof(*c->cdl));
        c->confirmed = calloc(OBS_CANDLES, sizeof(*c->confirmed));
    } else if (strcmp(channel, "mark-price") == 0 || strcmp(channel, "funding-rate") == 0) {
        c->fts = calloc(OBS_CANDLES, sizeof(*c->fts));
        c->fnext = calloc(OBS_CANDLES, sizeof(*c->fnext));
        c->fval = calloc(OBS_CANDLES, sizeof(*c->fval));
    }
}

/* Subscribes every channel added, in one request (a test may allow a connection one). */
static void obs_go(struct obs *o)
{
    char buf[2048];
    size_t n = (size_t)snprintf(buf, sizeof(buf), "{\"id\":\"1\",\"op\":\"subscribe\",\"args\":[");

    for (int i = 0; i < o->n; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s{\"channel\":\"%s\",\"instId\":\"%s\"}",
                              i ? "," : "", o->ch[i].channel, o->ch[i].inst);
    snprintf(buf + n, sizeof(buf) - n, "]}");
    ASSERT_EQ(wsc_send_text(&o->c, buf), 0);
}

static void obs_close(struct obs *o)
{
    wsc_close(&o->c);
    for (int i = 0; i < o->n; i++) {
        free(o->ch[i].side[0]);
        free(o->ch[i].side[1]);
        free(o->ch[i].tid);
        free(o->ch[i].tpx);
        free(o->ch[i].tqty);
        free(o->ch[i].tside);
        free(o->ch[i].cdl);
        free(o->ch[i].confirmed);
        free(o->ch[i].fts);
        free(o->ch[i].fnext);
        free(o->ch[i].fval);
    }
}

static struct ochan *obs_find(struct obs *o, const char *channel, const char *inst)
{
    for (int i = 0; i < o->n; i++)
        if (strcmp(o->ch[i].channel, channel) == 0 && strcmp(o->ch[i].inst, inst) == 0)
            return &o->ch[i];
    return NULL;
}

static struct ochan *obs_chan(struct obs *o, const char *channel, const char *inst)
{
    struct ochan *c = obs_find(o, channel, inst);

    if (!c)
        test_fail(__FILE__, __LINE__, "observer has no %s %s", channel, inst);
    return c;
}

/* Sets (qty > 0) or removes a level [px, sz, "0", orders] of side s. */
static void book_level(struct ochan *c, int s, json_t *l)
{
    mdf_dec_t px = e2e_jdec(json_array_get(l, 0)), qty = e2e_jdec(json_array_get(l, 1));
    struct olevel *v = c->side[s];
    int i, k;

    /* Bids best (highest) first, asks best (lowest) first. */
    for (i = 0; i < c->n[s]; i++) {
        int cmp = e2e_dec_cmp(px, v[i].px);

        if (cmp == 0 || (s == 0 ? cmp > 0 : cmp < 0))
            break;
    }
    if (i < c->n[s] && e2e_dec_cmp(px, v[i].px) == 0) {
        if (qty.m == 0) {
            memmove(&v[i], &v[i + 1], (size_t)(c->n[s] - i - 1) * sizeof(*v));
            c->n[s]--;
        } else {
            v[i].qty = qty;
        }
        return;
    }
    if (qty.m == 0)
        return;
    ASSERT(c->n[s] < OBS_LEVELS);
    for (k = c->n[s]; k > i; k--)
        v[k] = v[k - 1];
    v[i] = (struct olevel){.px = px, .qty = qty};
    c->n[s]++;
}

static void on_book(struct obs *o, struct ochan *c, json_t *j, json_t *d)
{
    const char *action = json_string_value(json_object_get(j, "action"));
    json_t *sides[2] = {json_object_get(d, "bids"), json_object_get(d, "asks")};

    if (!action || strcmp(action, "snapshot") == 0)
        c->n[0] = c->n[1] = 0; /* books5: always the whole top 5 */
    else
        c->updates++;
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < json_array_size(sides[s]); i++)
            book_level(c, s, json_array_get(sides[s], i));
    c->seq = e2e_jint(json_object_get(d, "seqId"));
    c->cs_zero += json_object_get(d, "checksum") && e2e_jint(json_object_get(d, "checksum")) == 0;
    if (strcmp(c->channel, "books") == 0)
        o->last_book_ns = test_now_ns();
}

/* A candle [ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]: the last values of its open
 * time. */
static void candle(struct ochan *c, json_t *k)
{
    int64_t open = e2e_jint(json_array_get(k, 0)) * 1000000;
    struct mdf_candle *x;
    int i;

    for (i = c->n_cdl - 1; i >= 0 && c->cdl[i].open_time_ns > open; i--)
        ;
    if (i < 0 || c->cdl[i].open_time_ns != open) {
        ASSERT(c->n_cdl < OBS_CANDLES);
        memmove(&c->cdl[i + 2], &c->cdl[i + 1], (size_t)(c->n_cdl - i - 1) * sizeof(*x));
        memmove(&c->confirmed[i + 2], &c->confirmed[i + 1], (size_t)(c->n_cdl - i - 1));
        c->n_cdl++;
        i++;
    }
    x = &c->cdl[i];
    x->open_time_ns = open;
    x->open = e2e_jdec(json_array_get(k, 1));
    x->high = e2e_jdec(json_array_get(k, 2));
    x->low = e2e_jdec(json_array_get(k, 3));
    x->close = e2e_jdec(json_array_get(k, 4));
    x->volume = e2e_jdec(json_array_get(k, 5));
    x->quote_volume = e2e_jdec(json_array_get(k, 6));
    c->confirmed[i] = strcmp(json_string_value(json_array_get(k, 8)), "1") == 0;
}

static void obs_message(struct obs *o, const char *txt, size_t len)
{
    json_t *j, *arg, *data, *d;
    struct ochan *c;
    const char *ev;

    if (len == 4 && memcmp(txt, "pong", 4) == 0)
        return;
    j = json_loadb(txt, len, 0, NULL);
    ASSERT(j != NULL);
    arg = json_object_get(j, "arg");
    ev = json_string_value(json_object_get(j, "event"));
    c = arg ? obs_find(o, json_string_value(json_object_get(arg, "channel")),
                       json_string_value(json_object_get(arg, "instId")))
            : NULL;
    if (ev) {
        if (strcmp(ev, "error") == 0)
            test_fail(__FILE__, __LINE__, "observer: %.*s", (int)len, txt);
        if (strcmp(ev, "subscribe") == 0 && c)
            c->acked = true;
        json_decref(j);
        return;
    }
    ASSERT(c != NULL);
    data = json_object_get(j, "data");
    d = json_array_get(data, 0);
    if (strncmp(c->channel, "books", 5) == 0) {
        on_book(o, c, j, d);
    } else if (strcmp(c->channel, "trades") == 0) {
        for (size_t i = 0; i < json_array_size(data); i++) {
            json_t *t = json_array_get(data, i);

            ASSERT(c->n_t < OBS_TRADES);
            c->tid[c->n_t] = e2e_jint(json_object_get(t, "tradeId"));
            c->tpx[c->n_t] = e2e_jdec(json_object_get(t, "px"));
            c->tqty[c->n_t] = e2e_jdec(json_object_get(t, "sz"));
            c->tside[c->n_t] = strcmp(json_string_value(json_object_get(t, "side")), "buy") == 0
                                   ? MDF_SIDE_BUY
                                   : MDF_SIDE_SELL;
            c->n_t++;
        }
    } else if (strcmp(c->channel, "bbo-tbt") == 0) {
        c->bid = e2e_jdec(json_array_get(json_array_get(json_object_get(d, "bids"), 0), 0));
        c->ask = e2e_jdec(json_array_get(json_array_get(json_object_get(d, "asks"), 0), 0));
    } else if (strcmp(c->channel, "tickers") == 0) {
        c->last = e2e_jdec(json_object_get(d, "last"));
        c->bid = e2e_jdec(json_object_get(d, "bidPx"));
        c->ask = e2e_jdec(json_object_get(d, "askPx"));
    } else if (strcmp(c->channel, "mark-price") == 0 || strcmp(c->channel, "funding-rate") == 0) {
        bool mark = strcmp(c->channel, "mark-price") == 0;

        if (mark)
            c->mark = e2e_jdec(json_object_get(d, "markPx"));
        if (c->n_f < OBS_CANDLES) {
            c->fts[c->n_f] = e2e_jint(json_object_get(d, "ts"));
            c->fnext[c->n_f] = mark ? 0 : e2e_jint(json_object_get(d, "fundingTime"));
            c->fval[c->n_f] = e2e_jdec(json_object_get(d, mark ? "markPx" : "fundingRate"));
            c->n_f++;
        }
    } else if (strncmp(c->channel, "candle", 6) == 0) {
        for (size_t i = 0; i < json_array_size(data); i++)
            candle(c, json_array_get(data, i));
    }
    c->updates += strcmp(c->channel, "books") != 0;
    json_decref(j);
}

/* Reads what arrives for ms. */
static void obs_pump(struct obs *o, int ms)
{
    int64_t end = test_now_ns() + (int64_t)ms * 1000000;
    const struct wsc_msg *m;

    while (test_now_ns() < end) {
        int r = wsc_recv(&o->c, 50, &m);

        if (r == -ETIMEDOUT)
            continue;
        if (r < 0)
            test_fail(__FILE__, __LINE__, "observer connection lost: %d", r);
        if (m->text)
            obs_message(o, (const char *)m->data, m->len);
    }
}

/* Reads until the market has stopped: books updates came and then none for 1.5 s (max_ms at
 * most). */
static void obs_until_quiet(struct obs *o, int max_ms)
{
    int64_t end = test_now_ns() + (int64_t)max_ms * 1000000;

    for (;;) {
        obs_pump(o, 250);
        if (o->last_book_ns && test_now_ns() - o->last_book_ns > 1500000000LL)
            break;
        if (test_now_ns() > end)
            test_fail(__FILE__, __LINE__, "the market did not stop within %d ms", max_ms);
    }
}

/* ---- the daemon's side ------------------------------------------------------------------- */

static uint32_t sym_of(mdf_instance_t *inst, const char *inst_id)
{
    char key[64];
    int64_t s;

    snprintf(key, sizeof(key), "okx:%s", inst_id);
    s = mdf_symbol_lookup(inst, key);
    if (s < 0)
        test_fail(__FILE__, __LINE__, "no symbol %s", key);
    return (uint32_t)s;
}

/* Book b is LIVE and its levels (top depth) equal the observer's channel c. */
static void check_book_chan(const struct mdf_book *b, const struct ochan *c, const char *what)
{
    ASSERT_EQ(b->state, MDF_BOOK_LIVE);
    for (int s = 0; s < 2; s++) {
        int want = c->n[s] < b->depth ? c->n[s] : b->depth;
        int got = s ? b->n_asks : b->n_bids;

        if (got != want)
            test_fail(__FILE__, __LINE__, "%s %s: %d levels, the venue's book has %d", what,
                      s ? "asks" : "bids", got, want);
        for (int i = 0; i < want; i++) {
            const struct mdf_level *l = &b->levels[s * b->depth + i];
            char g[64], w[64], gq[64], wq[64];

            if (e2e_dec_eq(l->px, c->side[s][i].px) && e2e_dec_eq(l->qty, c->side[s][i].qty))
                continue;
            mdf_dec_format(l->px, g, sizeof(g));
            mdf_dec_format(c->side[s][i].px, w, sizeof(w));
            mdf_dec_format(l->qty, gq, sizeof(gq));
            mdf_dec_format(c->side[s][i].qty, wq, sizeof(wq));
            test_fail(__FILE__, __LINE__, "%s %s level %d: daemon %s x %s, venue %s x %s", what,
                      s ? "ask" : "bid", i, g, gq, w, wq);
        }
    }
}

/* The daemon's latest book of inst_id equals the observer's books channel; returns the book's
 * generation. */
static uint64_t check_book(mdf_instance_t *inst, struct obs *o, const char *inst_id)
{
    struct mdf_book *b = malloc(MDF_BOOK_SIZE(MDF_BOOK_DEPTH_MAX));
    uint64_t gen;

    ASSERT(b != NULL);
    ASSERT_EQ(mdf_latest_book(inst, sym_of(inst, inst_id), b, MDF_BOOK_SIZE(MDF_BOOK_DEPTH_MAX)),
              0);
    ASSERT_EQ(b->kind, MDF_BOOK_KIND_FULL);
    ASSERT(!(b->h.flags & MDF_BOOK_F_PARTIAL));
    check_book_chan(b, obs_chan(o, "books", inst_id), inst_id);
    ASSERT_EQ(b->last_update_id, obs_chan(o, "books", inst_id)->seq);
    gen = b->generation;
    free(b);
    return gen;
}

/* The daemon's trades of inst_id in v[0..n) go strictly up (nothing twice) and, from the first
 * one both saw on, are the observer's (price, size and side), missing at most lost of them in
 * one run (0: nothing lost). */
static void check_trades(mdf_instance_t *inst, const mdf_record_t *v, long n, struct obs *o,
                         const char *inst_id, int lost)
{
    struct ochan *c = obs_chan(o, "trades", inst_id);
    uint32_t sym = sym_of(inst, inst_id);
    int64_t prev = 0;
    int k = 0, first = -1, skipped = 0, runs = 0;

    ASSERT_GT(c->n_t, 10);
    for (long i = 0; i < n; i++) {
        const struct mdf_trade *t = &v[i].trade;

        if (v[i].h.type != MDF_REC_TRADE || v[i].h.symbol != sym)
            continue;
        if (t->trade_id <= prev)
            test_fail(__FILE__, __LINE__, "%s trade %" PRId64 " after %" PRId64, inst_id,
                      t->trade_id, prev);
        prev = t->trade_id;
        if (t->trade_id < c->tid[0])
            continue;
        if (first < 0) { /* the observer may have subscribed before the daemon did */
            while (k < c->n_t && c->tid[k] < t->trade_id)
                k++;
            first = k;
        } else if (k < c->n_t && t->trade_id != c->tid[k]) { /* a run the daemon missed */
            int from = k;

            while (k < c->n_t && c->tid[k] < t->trade_id)
                k++;
            skipped += k - from;
            runs++;
        }
        if (k >= c->n_t || t->trade_id != c->tid[k])
            test_fail(__FILE__, __LINE__, "%s: daemon trade %" PRId64 ", the venue's next %" PRId64,
                      inst_id, t->trade_id, k < c->n_t ? c->tid[k] : -1);
        ASSERT(e2e_dec_eq(t->price, c->tpx[k]));
        ASSERT(e2e_dec_eq(t->qty, c->tqty[k]));
        ASSERT_EQ(t->side, c->tside[k]);
        k++;
    }
    ASSERT(first >= 0);
    skipped += c->n_t - k;
    runs += k < c->n_t;
    printf("%s: %d of the venue's %d trades compared, %d missed\n", inst_id, k - first - skipped,
           c->n_t - first, skipped);
    if (skipped > lost || runs > (lost > 0))
        test_fail(__FILE__, __LINE__,
                  "%s: the daemon missed %d of the venue's %d trades in %d runs (at most %d)",
                  inst_id, skipped, c->n_t, runs, lost);
    ASSERT_GT(k - first - skipped, 10);
}

/* Starts the fake venue with args plus --venue okx. */
static void venue_start(struct fv_proc *fv, const char *const *args)
{
    const char *all[40] = {"--venue", "okx"};
    int n = 2;

    for (int i = 0; args[i]; i++)
        all[n++] = args[i];
    all[n] = NULL;
    ASSERT_EQ(fv_start(fv, all), 0);
}

/* The venue's counter k (GET /fv/stats). */
static int64_t venue_stat(int port, const char *k)
{
    struct wsc_http h;
    json_t *j;
    int64_t v;

    ASSERT_EQ(wsc_http_get(&h, port, "/fv/stats", 5000), 0);
    j = json_loads((const char *)h.body, 0, NULL);
    ASSERT(j != NULL);
    v = json_integer_value(json_object_get(j, k));
    json_decref(j);
    wsc_http_close(&h);
    return v;
}

/* Waits until the venue's counter k reaches want (timeout_ms at most); returns it. */
static int64_t venue_stat_wait(int port, const char *k, int64_t want, int timeout_ms)
{
    int64_t end = test_now_ns() + (int64_t)timeout_ms * 1000000, v;

    while ((v = venue_stat(port, k)) < want && test_now_ns() < end)
        usleep(100000);
    return v;
}

/* The daemon's error count of kind (health segment). */
static uint64_t health_errors(struct dmn *d, int kind)
{
    struct mdf_health_daemon dm;
    mdf_health_t *h;

    ASSERT_EQ(mdf_health_open(&h, d->instance), 0);
    ASSERT_EQ(mdf_health_daemon(h, &dm), 0);
    mdf_health_close(h);
    return dm.errors[kind];
}

/* Reads the daemon's and the venue's output for ms, so neither pipe fills. */
static void drain_logs(struct dmn *d, struct fv_proc *fv, int ms)
{
    for (int64_t end = test_now_ns() + (int64_t)ms * 1000000; test_now_ns() < end;) {
        dmn_count(d, "\n");
        fv_count_lines(fv, "\n");
        usleep(100000);
    }
}

/* ---- tests ------------------------------------------------------------------------------- */

/* Every channel type lands exactly: books (local book from snapshot and seqId-chained updates),
 * books5 (partial book), bbo-tbt, trades, tickers, mark-price and candles (closed once, on
 * confirm) equal what the venue sent, through a reader. */
TEST(e2e_okx_every_channel_equals_what_the_venue_sent)
{
    const char *args[] = {"--market",
                          "BTC-USDT,ETH-USDT,BTC-USDT-SWAP",
                          "--market-rate",
                          "100",
                          "--market-events",
                          "600",
                          "--okx-minute-ms",
                          "1000",
                          NULL};
    struct fv_proc fv;
    struct dmn d;
    struct obs o, ob;
    mdf_instance_t *inst;
    mdf_record_t *v = NULL;
    struct mdf_book *b = malloc(MDF_BOOK_SIZE(MDF_BOOK_DEPTH_MAX));
    struct ochan *oc;
    long n;
    int closed = 0, matched = 0;
    int64_t prev_open = 0;
    uint32_t btc, eth, swap;

    ASSERT(b != NULL);
    venue_start(&fv, args);
    ASSERT_EQ(dmn_config(&d,
                         VENUE_HEAD
                         "  symbols = [\"BTC-USDT\"]; trades = \"trade\"; kline = \"1m\";\n"
                         "  book_ticker = true; order_book = \"diff\"; ticker = true;\n"
                         "  streams = ({ symbol = \"ETH-USDT\"; type = \"depth\"; levels = 5; },\n"
                         "    { symbol = \"ETH-USDT\"; type = \"trade\"; },\n"
                         "    { symbol = \"BTC-USDT-SWAP\"; type = \"mark_price\"; }); });\n",
                         fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(dmn_wait(&d, "books:BTC-USDT book live", 10000, NULL, 0), 0);
    obs_open(&o, fv.port, "/ws/v5/public");
    obs_sub(&o, "books", "BTC-USDT");
    obs_sub(&o, "books5", "ETH-USDT");
    obs_sub(&o, "bbo-tbt", "BTC-USDT");
    obs_sub(&o, "trades", "BTC-USDT");
    obs_sub(&o, "trades", "ETH-USDT");
    obs_sub(&o, "tickers", "BTC-USDT");
    obs_sub(&o, "mark-price", "BTC-USDT-SWAP");
    obs_go(&o);
    usleep(1100000); /* the venue takes 3 connections a second */
    obs_open(&ob, fv.port, "/ws/v5/business");
    obs_sub(&ob, "candle1m", "BTC-USDT");
    obs_go(&ob);
    obs_until_quiet(&o, 30000);
    obs_pump(&o, 500);
    obs_pump(&ob, 2500); /* the last candles close */

    ASSERT_EQ(mdf_open(&inst, d.instance, 1000), 0);
    btc = sym_of(inst, "BTC-USDT");
    eth = sym_of(inst, "ETH-USDT");
    swap = sym_of(inst, "BTC-USDT-SWAP");
    /* The local book, and the venue's top 5 as a partial book. */
    ASSERT_EQ(check_book(inst, &o, "BTC-USDT"), 0);
    ASSERT_GT(obs_chan(&o, "books", "BTC-USDT")->updates, 100);
    ASSERT_EQ(mdf_latest_book(inst, eth, b, MDF_BOOK_SIZE(MDF_BOOK_DEPTH_MAX)), 0);
    ASSERT(b->h.flags & MDF_BOOK_F_PARTIAL);
    check_book_chan(b, obs_chan(&o, "books5", "ETH-USDT"), "ETH-USDT books5");
    /* bbo-tbt, tickers and mark-price: the last ones are the venue's last. */
    {
        struct mdf_bbo q;
        struct mdf_ticker t;
        struct mdf_funding f;

        oc = obs_chan(&o, "bbo-tbt", "BTC-USDT");
        ASSERT_EQ(mdf_latest_bbo(inst, btc, &q), 0);
        ASSERT(e2e_dec_eq(q.bid_px, oc->bid) && e2e_dec_eq(q.ask_px, oc->ask));
        oc = obs_chan(&o, "tickers", "BTC-USDT");
        ASSERT_EQ(mdf_latest_ticker(inst, btc, &t), 0);
        ASSERT(e2e_dec_eq(t.last_px, oc->last));
        ASSERT(e2e_dec_eq(t.bid_px, oc->bid) && e2e_dec_eq(t.ask_px, oc->ask));
        oc = obs_chan(&o, "mark-price", "BTC-USDT-SWAP");
        ASSERT_GT(oc->updates, 3);
        ASSERT_EQ(mdf_latest_funding(inst, swap, &f), 0);
        ASSERT(e2e_dec_eq(f.mark_px, oc->mark));
    }
    n = e2e_drain(d.instance, MDF_RING_TICKS, &v);
    ASSERT_GT(n, 0);
    check_trades(inst, v, n, &o, "BTC-USDT", 0);
    check_trades(inst, v, n, &o, "ETH-USDT", 0);
    free(v);

    /* Candles: each open time closed once, in order, with the venue's values at confirm. */
    oc = obs_chan(&ob, "candle1m", "BTC-USDT");
    n = e2e_drain(d.instance, MDF_RING_CANDLES, &v);
    ASSERT_GT(n, 0);
    for (long i = 0; i < n; i++) {
        const struct mdf_candle *c = &v[i].candle;

        if (v[i].h.symbol != btc || !(v[i].h.flags & MDF_CANDLE_F_CLOSED))
            continue;
        if (c->open_time_ns <= prev_open)
            test_fail(__FILE__, __LINE__, "closed candle %" PRId64 " after %" PRId64,
                      c->open_time_ns, prev_open);
        prev_open = c->open_time_ns;
        closed++;
        for (int k = 0; k < oc->n_cdl; k++) {
            if (oc->cdl[k].open_time_ns != c->open_time_ns || !oc->confirmed[k])
                continue;
            ASSERT(e2e_dec_eq(c->open, oc->cdl[k].open) && e2e_dec_eq(c->close, oc->cdl[k].close));
            ASSERT(e2e_dec_eq(c->high, oc->cdl[k].high) && e2e_dec_eq(c->low, oc->cdl[k].low));
            ASSERT(e2e_dec_eq(c->volume, oc->cdl[k].volume));
            ASSERT(e2e_dec_eq(c->quote_volume, oc->cdl[k].quote_volume));
            matched++;
        }
    }
    ASSERT_GT(closed, 3);
    ASSERT_GT(matched, 3);
    free(v);
    ASSERT_EQ(dmn_count(&d, "does not decode"), 0);
    ASSERT_EQ(dmn_count(&d, "BOOK_RESYNC"), 0);
    ASSERT_EQ(dmn_count(&d, "SUBSCRIPTION_FAILED"), 0);
    mdf_close(inst);
    obs_close(&o);
    obs_close(&ob);
    free(b);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

/* A break in one book's seqId chain and a bad checksum on another resync those two books only:
 * each published RESYNCING with a BOOK_RESYNC event, unsubscribed and subscribed again for a
 * fresh snapshot (generation 1), and equal to the venue's book at the end; the third book
 * never left generation 0. */
TEST(e2e_okx_seq_break_and_bad_checksum_resync_only_that_book)
{
    const char *args[] = {"--market",
                          "BTC-USDT,ETH-USDT,SOL-USDT",
                          "--market-rate",
                          "100",
                          "--market-events",
                          "500",
                          "--okx-seq-break",
                          "BTC-USDT/30",
                          "--okx-bad-checksum",
                          "ETH-USDT/40",
                          "--fault-conns",
                          "1",
                          NULL};
    struct fv_proc fv;
    struct dmn d;
    struct obs o;
    mdf_instance_t *inst;

    venue_start(&fv, args);
    ASSERT_EQ(dmn_config(&d,
                         VENUE_HEAD "  symbols = [\"BTC-USDT\", \"ETH-USDT\", \"SOL-USDT\"];\n"
                                    "  trades = \"none\"; kline = \"\"; book_ticker = false;\n"
                                    "  order_book = \"diff\"; });\n",
                         fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(dmn_wait(&d, "books:SOL-USDT book live", 10000, NULL, 0), 0);
    obs_open(&o, fv.port, "/ws/v5/public");
    obs_sub(&o, "books", "BTC-USDT");
    obs_sub(&o, "books", "ETH-USDT");
    obs_sub(&o, "books", "SOL-USDT");
    obs_go(&o);
    ASSERT_EQ(fv_wait_line(&fv, "fault seq-break BTC-USDT", 20000, NULL, 0), 0);
    ASSERT_EQ(fv_wait_line(&fv, "fault bad-checksum ETH-USDT", 20000, NULL, 0), 0);
    obs_until_quiet(&o, 30000);
    ASSERT_EQ(dmn_count(&d, "BOOK_RESYNC"), 2);
    ASSERT_EQ(dmn_count(&d, "books:BTC-USDT gap after seqId"), 1);
    ASSERT_EQ(dmn_count(&d, "books:ETH-USDT checksum mismatch after seqId"), 1);

    ASSERT_EQ(mdf_open(&inst, d.instance, 1000), 0);
    ASSERT_EQ(check_book(inst, &o, "BTC-USDT"), 1);
    ASSERT_EQ(check_book(inst, &o, "ETH-USDT"), 1);
    ASSERT_EQ(check_book(inst, &o, "SOL-USDT"), 0);
    ASSERT_EQ(dmn_count(&d, "CONNECTION_ROTATING"), 0);
    /* Resubscribed: one unsubscribe per book that broke, on the same connection. */
    ASSERT_EQ(venue_stat(fv.port, "unsubscribed"), 2);
    ASSERT_EQ(venue_stat(fv.port, "upgrades"), 2); /* the daemon's and the observer's */
    mdf_close(inst);
    obs_close(&o);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

/* The venue answers each arg of a request on its own: an instrument it does not list (60018,
 * named in the error's msg) fails its own streams, once, while the request's other args are
 * subscribed and deliver; nothing is asked again. */
TEST(e2e_okx_refused_arg_fails_only_its_own_streams)
{
    const char *args[] = {"--market", "BTC-USDT", "--market-rate", "100", "--market-events",
                          "300",      NULL};
    struct fv_proc fv;
    struct dmn d;
    struct obs o;
    mdf_instance_t *inst;

    venue_start(&fv, args);
    ASSERT_EQ(dmn_config(&d,
                         VENUE_HEAD "  symbols = [\"BTC-USDT\", \"NOPE-USDT\"];\n"
                                    "  trades = \"trade\"; kline = \"\"; book_ticker = false;\n"
                                    "  order_book = \"diff\"; });\n",
                         fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(dmn_wait(&d, "books:BTC-USDT book live", 10000, NULL, 0), 0);
    obs_open(&o, fv.port, "/ws/v5/public");
    obs_sub(&o, "books", "BTC-USDT");
    obs_go(&o);
    obs_until_quiet(&o, 30000);
    ASSERT_EQ(dmn_count(&d, "SUBSCRIPTION_FAILED"), 2);
    ASSERT_EQ(dmn_count(&d, "trades:NOPE-USDT refused: code 60018"), 1);
    ASSERT_EQ(dmn_count(&d, "books:NOPE-USDT refused: code 60018"), 1);
    ASSERT_EQ(dmn_count(&d, "reply to unknown request id"), 0);
    /* One subscribe request: 2 streams subscribed, 2 refused, none asked twice. */
    ASSERT_EQ(venue_stat(fv.port, "subscribed"), 3); /* the daemon's 2 and the observer's */
    ASSERT_EQ(venue_stat(fv.port, "errors"), 2);
    ASSERT_EQ(mdf_open(&inst, d.instance, 1000), 0);
    check_book(inst, &o, "BTC-USDT");
    mdf_close(inst);
    obs_close(&o);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

/* A connection out of subscribe requests (the venue's 60014, here after one request) cannot
 * resubscribe a broken book: it is replaced make-before-break, the new connection subscribes
 * every stream afresh and the book comes back LIVE, equal to the venue's. */
TEST(e2e_okx_request_limit_reached_replaces_the_connection_for_a_resync)
{
    const char *args[] = {"--market",
                          "BTC-USDT,ETH-USDT",
                          "--market-rate",
                          "100",
                          "--market-events",
                          "500",
                          "--okx-seq-break",
                          "BTC-USDT/30",
                          "--okx-req-limit",
                          "1",
                          "--fault-conns",
                          "1",
                          NULL};
    struct fv_proc fv;
    struct dmn d;
    struct obs o;
    mdf_instance_t *inst;

    venue_start(&fv, args);
    ASSERT_EQ(dmn_config(&d,
                         VENUE_HEAD "  symbols = [\"BTC-USDT\", \"ETH-USDT\"];\n"
                                    "  trades = \"none\"; kline = \"\"; book_ticker = false;\n"
                                    "  order_book = \"diff\"; });\n",
                         fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(dmn_wait(&d, "books:ETH-USDT book live", 10000, NULL, 0), 0);
    obs_open(&o, fv.port, "/ws/v5/public");
    obs_sub(&o, "books", "BTC-USDT");
    obs_sub(&o, "books", "ETH-USDT");
    obs_go(&o);
    ASSERT_EQ(dmn_wait(&d, "(60014): replacing the connection", 20000, NULL, 0), 0);
    ASSERT_EQ(dmn_wait(&d, "replaced conn 1", 10000, NULL, 0), 0);
    obs_until_quiet(&o, 30000);

    ASSERT_EQ(mdf_open(&inst, d.instance, 1000), 0);
    ASSERT_GE(check_book(inst, &o, "BTC-USDT"), 1);
    check_book(inst, &o, "ETH-USDT");
    ASSERT_EQ(dmn_count(&d, "SUBSCRIPTION_FAILED"), 0);
    mdf_close(inst);
    obs_close(&o);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

/* The service-upgrade notice (64008) replaces the connection make-before-break: trades and
 * best bid/offers go on without a gap or a repeat; the book, bbo and ticker end equal to the
 * venue's. */
TEST(e2e_okx_upgrade_notice_64008_replaces_the_connection_losing_nothing)
{
    const char *args[] = {"--market",
                          "BTC-USDT",
                          "--market-rate",
                          "100",
                          "--market-events",
                          "800",
                          "--shutdown-after",
                          "3",
                          "--shutdown-grace",
                          "4",
                          "--fault-conns",
                          "1",
                          NULL};
    struct fv_proc fv;
    struct dmn d;
    struct obs o;
    mdf_instance_t *inst;
    mdf_record_t *v = NULL;
    int64_t prev = 0;
    long n;
    int bbo = 0;

    venue_start(&fv, args);
    ASSERT_EQ(dmn_config(&d,
                         VENUE_HEAD
                         "  symbols = [\"BTC-USDT\"]; trades = \"trade\"; kline = \"\";\n"
                         "  book_ticker = true; order_book = \"diff\"; ticker = true; });\n",
                         fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(dmn_wait(&d, "books:BTC-USDT book live", 10000, NULL, 0), 0);
    obs_open(&o, fv.port, "/ws/v5/public");
    obs_sub(&o, "books", "BTC-USDT");
    obs_sub(&o, "trades", "BTC-USDT");
    obs_sub(&o, "bbo-tbt", "BTC-USDT");
    obs_sub(&o, "tickers", "BTC-USDT");
    obs_go(&o);
    ASSERT_EQ(fv_wait_line(&fv, "conn 1 notice 64008", 10000, NULL, 0), 0);
    ASSERT_EQ(dmn_wait(&d, "service upgrade notice (64008)", 5000, NULL, 0), 0);
    ASSERT_EQ(dmn_wait(&d, "replaced conn 1", 10000, NULL, 0), 0);
    obs_until_quiet(&o, 30000);

    ASSERT_EQ(mdf_open(&inst, d.instance, 1000), 0);
    check_book(inst, &o, "BTC-USDT");
    n = e2e_drain(d.instance, MDF_RING_TICKS, &v);
    ASSERT_GT(n, 0);
    check_trades(inst, v, n, &o, "BTC-USDT", 0);
    /* Best bid/offers: each seqId once, in order, across both connections. */
    for (long i = 0; i < n; i++) {
        if (v[i].h.type != MDF_REC_BBO)
            continue;
        if (v[i].bbo.update_id <= prev)
            test_fail(__FILE__, __LINE__, "bbo seqId %" PRId64 " after %" PRId64,
                      v[i].bbo.update_id, prev);
        prev = v[i].bbo.update_id;
        bbo++;
    }
    ASSERT_GT(bbo, 100);
    free(v);
    {
        struct mdf_bbo q;
        struct mdf_ticker t;
        struct ochan *oc = obs_chan(&o, "bbo-tbt", "BTC-USDT");

        ASSERT_EQ(mdf_latest_bbo(inst, sym_of(inst, "BTC-USDT"), &q), 0);
        ASSERT(e2e_dec_eq(q.bid_px, oc->bid) && e2e_dec_eq(q.ask_px, oc->ask));
        oc = obs_chan(&o, "tickers", "BTC-USDT");
        ASSERT_EQ(mdf_latest_ticker(inst, sym_of(inst, "BTC-USDT"), &t), 0);
        ASSERT(e2e_dec_eq(t.last_px, oc->last));
    }
    ASSERT_EQ(dmn_count(&d, "BOOK_RESYNC"), 0);
    ASSERT_EQ(dmn_count(&d, "CONNECTION_DISCONNECTED"), 0);
    mdf_close(inst);
    obs_close(&o);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

/* The venue closes a connection whose client said nothing for 30 s, however much it sends:
 * the daemon's text "ping" keeps a connection with nothing else to say open, and the venue's
 * "pong" counts as no decode error. */
TEST(e2e_okx_text_ping_keeps_the_connection_past_the_venue_idle_cut)
{
    const char *args[] = {"--market", "BTC-USDT", "--market-rate", "20", NULL};
    struct fv_proc fv;
    struct dmn d;

    venue_start(&fv, args);
    ASSERT_EQ(dmn_config(&d,
                         VENUE_HEAD
                         "  symbols = [\"BTC-USDT\"]; trades = \"trade\"; kline = \"\";\n"
                         "  book_ticker = false; order_book = \"none\"; });\n",
                         fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(dmn_wait(&d, "CONNECTION_ESTABLISHED", 10000, NULL, 0), 0);
    sleep(40);
    ASSERT_EQ(fv_count_lines(&fv, "closed idle"), 0);
    ASSERT_EQ(dmn_count(&d, "CONNECTION_DISCONNECTED"), 0);
    ASSERT_EQ(dmn_count(&d, "does not decode"), 0);
    ASSERT_EQ(venue_stat(fv.port, "upgrades"), 1);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

/* funding = true on a swap subscribes mark-price and funding-rate; both fill funding records of
 * their own stream, each with its own channel's fields only: mark-price the mark price, each
 * message once and equal to the venue's; funding-rate the rate and the next funding time (the
 * venue's fundingTime), nothing else. */
TEST(e2e_okx_funding_true_fills_funding_records_from_mark_price_and_funding_rate)
{
    const char *args[] = {"--market", "BTC-USDT-SWAP", "--market-rate", "50", NULL};
    struct fv_proc fv;
    struct dmn d;
    struct obs o;
    mdf_instance_t *inst;
    mdf_record_t *v = NULL;
    struct ochan *om, *of;
    struct mdf_funding f;
    int64_t sm, sf, prev[2] = {0, 0};
    long n;
    int marks = 0, rates = 0;

    venue_start(&fv, args);
    ASSERT_EQ(dmn_config(&d,
                         VENUE_HEAD
                         "  symbols = [\"BTC-USDT-SWAP\"]; trades = \"none\"; kline = \"\";\n"
                         "  book_ticker = false; order_book = \"none\"; funding = true; });\n",
                         fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(dmn_wait(&d, "CONNECTION_ESTABLISHED", 10000, NULL, 0), 0);
    ASSERT_EQ(fv_wait_line(&fv, "subscribed funding-rate BTC-USDT-SWAP", 10000, NULL, 0), 0);
    obs_open(&o, fv.port, "/ws/v5/public");
    obs_sub(&o, "mark-price", "BTC-USDT-SWAP");
    obs_sub(&o, "funding-rate", "BTC-USDT-SWAP");
    obs_go(&o);
    obs_pump(&o, 7000);
    om = obs_chan(&o, "mark-price", "BTC-USDT-SWAP");
    of = obs_chan(&o, "funding-rate", "BTC-USDT-SWAP");
    ASSERT_GT(om->n_f, 10);
    ASSERT_GT(of->n_f, 3);

    ASSERT_EQ(mdf_open(&inst, d.instance, 1000), 0);
    sm = mdf_stream_find(inst, "okx:BTC-USDT-SWAP", "mark-price");
    sf = mdf_stream_find(inst, "okx:BTC-USDT-SWAP", "funding-rate");
    ASSERT_GE(sm, 0);
    ASSERT_GE(sf, 0);
    n = e2e_drain(d.instance, MDF_RING_FUNDING, &v);
    ASSERT_GT(n, 0);
    for (long i = 0; i < n; i++) {
        const struct mdf_funding *r = &v[i].funding;
        const struct ochan *c = v[i].h.stream == (uint32_t)sm ? om : of;
        int k = 0;

        ASSERT_EQ(v[i].h.type, MDF_REC_FUNDING);
        ASSERT(v[i].h.stream == (uint32_t)sm || v[i].h.stream == (uint32_t)sf);
        if (r->h.exch_time_ns <= prev[c == of]) /* each message once, in order */
            test_fail(__FILE__, __LINE__, "%s ts %" PRId64 " after %" PRId64, c->channel,
                      r->h.exch_time_ns, prev[c == of]);
        prev[c == of] = r->h.exch_time_ns;
        if (c == om) {
            ASSERT(r->mark_px.m > 0);
            ASSERT(r->funding_rate.m == 0 && r->next_funding_time_ns == 0);
        } else {
            ASSERT(r->mark_px.m == 0 && r->index_px.m == 0);
            ASSERT_GT(r->next_funding_time_ns, 0);
        }
        /* The venue's message of the same ts, if the observer was there for it. */
        while (k < c->n_f && c->fts[k] * 1000000 != r->h.exch_time_ns)
            k++;
        if (k == c->n_f)
            continue;
        if (c == om) {
            ASSERT(e2e_dec_eq(r->mark_px, c->fval[k]));
            marks++;
        } else {
            ASSERT(e2e_dec_eq(r->funding_rate, c->fval[k]));
            ASSERT_EQ(r->next_funding_time_ns, c->fnext[k] * 1000000);
            rates++;
        }
    }
    printf("%d mark prices and %d funding rates matched\n", marks, rates);
    ASSERT_GT(marks, 10);
    ASSERT_GT(rates, 3);
    free(v);
    /* Each stream's newest record is its channel's newest message. */
    ASSERT_EQ(mdf_latest_funding_stream(inst, (uint32_t)sm, &f), 0);
    ASSERT(f.funding_rate.m == 0);
    ASSERT_EQ(mdf_latest_funding_stream(inst, (uint32_t)sf, &f), 0);
    ASSERT(f.mark_px.m == 0 && f.funding_rate.m != 0);
    ASSERT_EQ(dmn_count(&d, "does not decode"), 0);
    ASSERT_EQ(health_errors(&d, MDF_HERR_PARSE), 0);
    mdf_close(inst);
    obs_close(&o);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

/* Books with checksum 0 (OKX is retiring the checksum) chain on seqId alone: never a resync,
 * and the books end LIVE, generation 0, equal to the venue's. */
TEST(e2e_okx_checksum_zero_books_chain_on_seqid_alone)
{
    const char *args[] = {"--market",
                          "BTC-USDT,ETH-USDT",
                          "--market-rate",
                          "100",
                          "--market-events",
                          "500",
                          "--okx-checksum-zero",
                          NULL};
    struct fv_proc fv;
    struct dmn d;
    struct obs o;
    mdf_instance_t *inst;

    venue_start(&fv, args);
    ASSERT_EQ(dmn_config(&d,
                         VENUE_HEAD "  symbols = [\"BTC-USDT\", \"ETH-USDT\"];\n"
                                    "  trades = \"none\"; kline = \"\"; book_ticker = false;\n"
                                    "  order_book = \"diff\"; });\n",
                         fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(dmn_wait(&d, "books:ETH-USDT book live", 10000, NULL, 0), 0);
    obs_open(&o, fv.port, "/ws/v5/public");
    obs_sub(&o, "books", "BTC-USDT");
    obs_sub(&o, "books", "ETH-USDT");
    obs_go(&o);
    obs_until_quiet(&o, 30000);
    ASSERT_GT(obs_chan(&o, "books", "BTC-USDT")->updates, 100);
    /* Every message, snapshot included, carried checksum 0. */
    ASSERT_EQ(obs_chan(&o, "books", "BTC-USDT")->cs_zero,
              obs_chan(&o, "books", "BTC-USDT")->updates + 1);
    ASSERT_EQ(mdf_open(&inst, d.instance, 1000), 0);
    ASSERT_EQ(check_book(inst, &o, "BTC-USDT"), 0);
    ASSERT_EQ(check_book(inst, &o, "ETH-USDT"), 0);
    mdf_close(inst);
    ASSERT_EQ(dmn_count(&d, "BOOK_RESYNC"), 0);
    ASSERT_EQ(dmn_count(&d, "checksum"), 0);
    ASSERT_EQ(venue_stat(fv.port, "unsubscribed"), 0);
    obs_close(&o);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

/* Streams go on connections of at most streams_per_connection: 12 streams of 4 instruments,
 * 3 a connection, on 4 connections opened within the venue's 3 a second (none refused), each
 * subscribing its own 3, every book LIVE. */
TEST(e2e_okx_streams_spread_over_connections_of_streams_per_connection)
{
    const char *args[] = {"--market", "AAA-USDT,BBB-USDT,CCC-USDT,DDD-USDT", "--market-rate", "20",
                          NULL};
    struct fv_proc fv;
    struct dmn d;
    char line[512], what[32];

    venue_start(&fv, args);
    ASSERT_EQ(dmn_config(&d,
                         VENUE_HEAD "  symbols = [\"AAA-USDT\", \"BBB-USDT\", \"CCC-USDT\",\n"
                                    "    \"DDD-USDT\"]; trades = \"trade\"; kline = \"\";\n"
                                    "  book_ticker = true; order_book = \"diff\";\n"
                                    "  streams_per_connection = 3; });\n",
                         fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(dmn_wait(&d, "FEED_STARTED", 10000, line, sizeof(line)), 0);
    ASSERT_CONTAINS(line, "12 streams on 4 connections");
    for (int i = 0; i < 4; i++)
        ASSERT_EQ(dmn_wait(&d, "BOOK_LIVE", 20000, NULL, 0), 0);
    ASSERT_EQ(venue_stat_wait(fv.port, "channels", 12, 20000), 12);
    ASSERT_EQ(venue_stat(fv.port, "subscribed"), 12);
    ASSERT_EQ(venue_stat(fv.port, "upgrades"), 4);
    ASSERT_EQ(venue_stat(fv.port, "refused"), 0);
    ASSERT_EQ(venue_stat(fv.port, "errors"), 0);
    for (int c = 1; c <= 4; c++) {
        snprintf(what, sizeof(what), "conn %d subscribed ", c);
        ASSERT_EQ(fv_count_lines(&fv, what), 3);
    }
    ASSERT_EQ(dmn_count(&d, "SUBSCRIPTION_FAILED"), 0);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

/* The first 12 connections each cut a moment after they open (two connections of the daemon's,
 * by streams_per_connection): the daemon reconnects as fast as its own limit lets it, 80 % of
 * the venue's 3 a second, so the venue refuses no upgrade; after the storm every book is LIVE
 * and equal to the venue's. */
TEST(e2e_okx_reconnect_storm_keeps_to_the_connection_limit)
{
    const char *args[] = {"--market",
                          "BTC-USDT,ETH-USDT",
                          "--market-rate",
                          "100",
                          "--market-events",
                          "1200",
                          "--fault-close-after",
                          "20",
                          "--fault-conns",
                          "12",
                          NULL};
    struct fv_proc fv;
    struct dmn d;
    struct obs o;
    mdf_instance_t *inst;
    int64_t up, end = test_now_ns() + 20000000000LL;

    venue_start(&fv, args);
    ASSERT_EQ(dmn_config(&d,
                         VENUE_HEAD "  symbols = [\"BTC-USDT\", \"ETH-USDT\"];\n"
                                    "  trades = \"trade\"; kline = \"\"; book_ticker = false;\n"
                                    "  order_book = \"diff\"; streams_per_connection = 2;\n"
                                    "  connection = { reconnect_base_delay = 0.05;\n"
                                    "    reconnect_max_delay = 0.1; reconnect_jitter = 0; }; });\n",
                         fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    /* The storm: the first 12 connections cut or refused, at most 3 a second of them accepted
     * (watched in the venue's log: a GET /fv/stats is a connection too, and would take a
     * faulted number). */
    while (fv_count_lines(&fv, "fault-close") + fv_count_lines(&fv, "refused conn-limit") < 12) {
        if (test_now_ns() > end)
            test_fail(__FILE__, __LINE__, "12 connections not cut within 20 s");
        drain_logs(&d, &fv, 200);
    }
    ASSERT_EQ(fv_count_lines(&fv, "refused conn-limit"), 0);
    obs_open(&o, fv.port, "/ws/v5/public"); /* the 13th or later: not cut */
    obs_sub(&o, "books", "BTC-USDT");
    obs_sub(&o, "books", "ETH-USDT");
    obs_go(&o);
    obs_until_quiet(&o, 40000);
    up = venue_stat(fv.port, "upgrades");
    printf("%" PRId64 " upgrades, %" PRId64 " refused, %d cuts\n", up,
           venue_stat(fv.port, "refused"), fv_count_lines(&fv, "fault-close"));
    ASSERT_EQ(venue_stat(fv.port, "refused"), 0);
    ASSERT_GE(up, 14); /* 12 cut, 2 for the daemon after them (and the observer) */
    ASSERT_GE(dmn_count(&d, "CONNECTION_RECONNECTING"), 5);
    ASSERT_EQ(mdf_open(&inst, d.instance, 1000), 0);
    ASSERT_GE(check_book(inst, &o, "BTC-USDT"), 1);
    ASSERT_GE(check_book(inst, &o, "ETH-USDT"), 1);
    mdf_close(inst);
    obs_close(&o);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

/* One channel's messages mangled (every digit of its data an x: still named, never
 * decodable): counted as decode errors of that stream, DECODE_FAILING said once, nothing of it
 * published; the other channels of the same connection go on exactly; no crash. */
TEST(e2e_okx_undecodable_channel_is_counted_and_the_others_go_on)
{
    const char *args[] = {
        "--market", "BTC-USDT,ETH-USDT", "--market-rate",    "100",           "--market-events",
        "600",      "--fault-corrupt",   "tickers:BTC-USDT", "--fault-conns", "1",
        NULL};
    struct fv_proc fv;
    struct dmn d;
    struct obs o;
    mdf_instance_t *inst;
    mdf_health_t *h;
    struct mdf_health_stream hs;
    struct mdf_ticker tk;
    mdf_record_t *v = NULL;
    int64_t st;
    long n;
    char line[512];

    venue_start(&fv, args);
    ASSERT_EQ(dmn_config(&d,
                         VENUE_HEAD "  symbols = [\"BTC-USDT\", \"ETH-USDT\"];\n"
                                    "  trades = \"trade\"; kline = \"\"; book_ticker = false;\n"
                                    "  order_book = \"diff\"; ticker = true; });\n",
                         fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(dmn_wait(&d, "books:ETH-USDT book live", 10000, NULL, 0), 0);
    obs_open(&o, fv.port, "/ws/v5/public");
    obs_sub(&o, "books", "BTC-USDT");
    obs_sub(&o, "books", "ETH-USDT");
    obs_sub(&o, "trades", "BTC-USDT");
    obs_sub(&o, "tickers", "ETH-USDT");
    obs_go(&o);
    obs_until_quiet(&o, 30000);
    obs_pump(&o, 500);
    ASSERT_GT(venue_stat(fv.port, "faults"), 10); /* the venue mangled the channel */
    ASSERT_EQ(dmn_wait(&d, "DECODE_FAILING", 1000, line, sizeof(line)), 0);
    ASSERT_CONTAINS(line, "tickers:BTC-USDT");
    ASSERT_EQ(dmn_count(&d, "DECODE_FAILING"), 0); /* said once */
    ASSERT_GT(health_errors(&d, MDF_HERR_PARSE), 10);
    ASSERT_EQ(mdf_open(&inst, d.instance, 1000), 0);
    st = mdf_stream_find(inst, "okx:BTC-USDT", "tickers");
    ASSERT_GE(st, 0);
    ASSERT_EQ(mdf_health_open(&h, d.instance), 0);
    ASSERT_EQ(mdf_health_stream(h, (uint32_t)st, &hs), 0);
    ASSERT_GT(hs.decode_errors, 10);
    mdf_health_close(h);
    /* Nothing of it published; the other channels exact. */
    ASSERT(mdf_latest_ticker(inst, sym_of(inst, "BTC-USDT"), &tk) < 0);
    ASSERT_EQ(mdf_latest_ticker(inst, sym_of(inst, "ETH-USDT"), &tk), 0);
    ASSERT(e2e_dec_eq(tk.last_px, obs_chan(&o, "tickers", "ETH-USDT")->last));
    ASSERT_EQ(check_book(inst, &o, "BTC-USDT"), 0);
    ASSERT_EQ(check_book(inst, &o, "ETH-USDT"), 0);
    n = e2e_drain(d.instance, MDF_RING_TICKS, &v);
    check_trades(inst, v, n, &o, "BTC-USDT", 0);
    free(v);
    mdf_close(inst);
    obs_close(&o);
    ASSERT_EQ(dmn_stop(&d), 0); /* still running, stops cleanly */
    fv_stop(&fv);
    return 0;
}

/* The daemon's connection cut (close after N messages): it reconnects and subscribes afresh;
 * both books are rebuilt from the new snapshots (LIVE, generation 1, equal to the venue's) and no
 * trade is published twice; OKX replays no trades, so those sent while no connection was open
 * are missing, in one run. */
TEST(e2e_okx_connection_cut_publishes_no_trade_twice_and_books_end_equal)
{
    const char *args[] = {
        "--market", "BTC-USDT,ETH-USDT",   "--market-rate", "100",           "--market-events",
        "1000",     "--fault-close-after", "600",           "--fault-conns", "1",
        NULL};
    struct fv_proc fv;
    struct dmn d;
    struct obs o;
    mdf_instance_t *inst;
    mdf_record_t *v = NULL;
    char line[512];
    long n;

    venue_start(&fv, args);
    ASSERT_EQ(dmn_config(&d,
                         VENUE_HEAD "  symbols = [\"BTC-USDT\", \"ETH-USDT\"];\n"
                                    "  trades = \"trade\"; kline = \"\"; book_ticker = false;\n"
                                    "  order_book = \"diff\";\n"
                                    "  connection = { reconnect_base_delay = 0.05;\n"
                                    "    reconnect_max_delay = 0.1; }; });\n",
                         fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(dmn_wait(&d, "books:ETH-USDT book live", 10000, NULL, 0), 0);
    obs_open(&o, fv.port, "/ws/v5/public");
    obs_sub(&o, "books", "BTC-USDT");
    obs_sub(&o, "books", "ETH-USDT");
    obs_sub(&o, "trades", "BTC-USDT");
    obs_sub(&o, "trades", "ETH-USDT");
    obs_go(&o);
    ASSERT_EQ(dmn_wait(&d, "CONNECTION_RECONNECTING", 20000, line, sizeof(line)), 0);
    ASSERT_CONTAINS(line, "conn 1");
    obs_until_quiet(&o, 30000);
    obs_pump(&o, 500);
    ASSERT_EQ(fv_wait_line(&fv, "fault-close", 1000, NULL, 0), 0);
    ASSERT_EQ(mdf_open(&inst, d.instance, 1000), 0);
    ASSERT_EQ(check_book(inst, &o, "BTC-USDT"), 1);
    ASSERT_EQ(check_book(inst, &o, "ETH-USDT"), 1);
    n = e2e_drain(d.instance, MDF_RING_TICKS, &v);
    ASSERT_GT(n, 0);
    check_trades(inst, v, n, &o, "BTC-USDT", 60);
    check_trades(inst, v, n, &o, "ETH-USDT", 60);
    free(v);
    mdf_close(inst);
    ASSERT_EQ(dmn_count(&d, "BOOK_RESYNC"), 0);
    ASSERT_EQ(venue_stat(fv.port, "upgrades"), 3); /* daemon, observer, daemon again */
    obs_close(&o);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}
