/*
 * End to end with Bitfinex: the fake venue's synthetic Bitfinex market -> mdfeedd -> shared
 * memory -> reader, checked against an observer: a client of our own on the same fake venue,
 * subscribed to the same channels (every subscriber of a channel gets the same messages), that
 * keeps reference books, trades and candles from what it receives. The market stops after a
 * fixed number of events (--market-events), so final states can be compared exactly.
 *
 * Faults are sent only to the daemon's first connection (--fault-conns 1): the observer (the
 * venue's second connection) always sees the truth.
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

#define VENUE_HEAD "venues = ({ venue = \"bitfinex\"; url = \"ws://127.0.0.1:%d\";\n"
#define OBS_CHANS 16    /* channels one observer follows */
#define OBS_LEVELS 512  /* levels per side of a reference book */
#define OBS_TRADES 8192 /* trades per channel */
#define OBS_CANDLES 512 /* candles per channel */

/* ---- decimals ---------------------------------------------------------------------------- */

static mdf_dec_t dec_abs(mdf_dec_t d)
{
    d.m = d.m < 0 ? -d.m : d.m;
    return d;
}

/* ---- the observer ------------------------------------------------------------------------ */

struct olevel {
    mdf_dec_t px, qty;
    uint32_t count;
};

struct ochan {
    int64_t id;             /* chanId */
    char kind[8];           /* "book", "trades", "candles", "ticker" */
    char symbol[24];        /* tAAAUSD */
    struct olevel *side[2]; /* book: [0] bids best first, [1] asks best first */
    int n[2];
    int64_t *te; /* trades: te ids in arrival order (after the snapshot) */
    mdf_dec_t *te_px, *te_qty;
    uint8_t *te_side;
    int n_te;
    struct mdf_candle *cdl; /* candles: the last values of each open time, in order */
    int n_cdl;
    mdf_dec_t bid, ask; /* ticker: the last best bid and ask */
    long updates;       /* data messages after the snapshot */
};

struct obs {
    struct wsc c;
    struct ochan ch[OBS_CHANS];
    int n;
    int64_t last_book_ns; /* when the last book update arrived */
};

static void obs_send(struct obs *o, const char *fmt, const char *a, const char *b)
{
    char buf[512];

    snprintf(buf, sizeof(buf), fmt, a, b);
    ASSERT_EQ(wsc_send_text(&o->c, buf), 0);
}

/* Connects with DEC_S (strings for every decimal) and nothing else. */
static void obs_open(struct obs *o, int port)
{
    memset(o, 0, sizeof(*o));
    ASSERT_EQ(wsc_connect(&o->c, port, "/ws/2", NULL), 0);
    ASSERT_EQ(wsc_send_text(&o->c, "{\"event\":\"conf\",\"flags\":8}"), 0);
}

/* Subscribes: kind "book" (extra: "\"prec\":\"P0\",\"len\":\"25\""), "trades", "ticker", or
 * "candles" (symbol is the key's timeframe:symbol, e.g. "1m:tAAAUSD"). */
static void obs_sub(struct obs *o, const char *kind, const char *symbol, const char *extra)
{
    struct ochan *c = &o->ch[o->n++];
    char fields[256];

    ASSERT(o->n <= OBS_CHANS);
    c->id = -1;
    snprintf(c->kind, sizeof(c->kind), "%s", kind);
    snprintf(c->symbol, sizeof(c->symbol), "%s", symbol);
    if (strcmp(kind, "candles") == 0)
        snprintf(fields, sizeof(fields), "\"key\":\"trade:%s\"", symbol);
    else
        snprintf(fields, sizeof(fields), "\"symbol\":\"%s\"%s%s", symbol, extra ? "," : "",
                 extra ? extra : "");
    obs_send(o, "{\"event\":\"subscribe\",\"channel\":\"%s\",%s}", kind, fields);
    if (strcmp(kind, "book") == 0) {
        c->side[0] = calloc(OBS_LEVELS, sizeof(struct olevel));
        c->side[1] = calloc(OBS_LEVELS, sizeof(struct olevel));
    } else if (strcmp(kind, "trades") == 0) {
        c->te = calloc(OBS_TRADES, sizeof(*c->te));
        c->te_px = calloc(OBS_TRADES, sizeof(*c->te_px));
        c->te_qty = calloc(OBS_TRADES, sizeof(*c->te_qty));
        c->te_side = calloc(OBS_TRADES, 1);
    } else if (strcmp(kind, "candles") == 0) {
        c->cdl = calloc(OBS_CANDLES, sizeof(*c->cdl));
    }
}

static void obs_close(struct obs *o)
{
    wsc_close(&o->c);
    for (int i = 0; i < o->n; i++) {
        free(o->ch[i].side[0]);
        free(o->ch[i].side[1]);
        free(o->ch[i].te);
        free(o->ch[i].te_px);
        free(o->ch[i].te_qty);
        free(o->ch[i].te_side);
        free(o->ch[i].cdl);
    }
}

/* Sets (count > 0) or removes a level: [PRICE, COUNT, AMOUNT]. */
static void book_level(struct ochan *c, json_t *l)
{
    mdf_dec_t px = e2e_jdec(json_array_get(l, 0)), amt = e2e_jdec(json_array_get(l, 2));
    uint32_t count = (uint32_t)json_integer_value(json_array_get(l, 1));
    int s = amt.m < 0, i, k;
    struct olevel *v = c->side[s];

    /* Bids best (highest) first, asks best (lowest) first. */
    for (i = 0; i < c->n[s]; i++) {
        int cmp = e2e_dec_cmp(px, v[i].px);

        if (cmp == 0 || (s == 0 ? cmp > 0 : cmp < 0))
            break;
    }
    if (i < c->n[s] && e2e_dec_cmp(px, v[i].px) == 0) {
        if (count == 0) {
            memmove(&v[i], &v[i + 1], (size_t)(c->n[s] - i - 1) * sizeof(*v));
            c->n[s]--;
        } else {
            v[i].qty = dec_abs(amt);
            v[i].count = count;
        }
        return;
    }
    if (count == 0)
        return;
    ASSERT(c->n[s] < OBS_LEVELS);
    for (k = c->n[s]; k > i; k--)
        v[k] = v[k - 1];
    v[i] = (struct olevel){.px = px, .qty = dec_abs(amt), .count = count};
    c->n[s]++;
}

/* A trade [ID, MTS, AMOUNT, PRICE] from a te. */
static void trade_te(struct ochan *c, json_t *t)
{
    mdf_dec_t amt = e2e_jdec(json_array_get(t, 2));

    ASSERT(c->n_te < OBS_TRADES);
    c->te[c->n_te] = json_integer_value(json_array_get(t, 0));
    c->te_px[c->n_te] = e2e_jdec(json_array_get(t, 3));
    c->te_qty[c->n_te] = dec_abs(amt);
    c->te_side[c->n_te] = amt.m > 0 ? MDF_SIDE_BUY : MDF_SIDE_SELL;
    c->n_te++;
}

/* A candle [MTS, OPEN, CLOSE, HIGH, LOW, VOLUME]: the last values for its open time. */
static void candle(struct ochan *c, json_t *k)
{
    int64_t open = json_integer_value(json_array_get(k, 0)) * 1000000;
    struct mdf_candle *x;
    int i;

    for (i = c->n_cdl - 1; i >= 0 && c->cdl[i].open_time_ns > open; i--)
        ;
    if (i < 0 || c->cdl[i].open_time_ns != open) {
        ASSERT(c->n_cdl < OBS_CANDLES);
        memmove(&c->cdl[i + 2], &c->cdl[i + 1], (size_t)(c->n_cdl - i - 1) * sizeof(*x));
        c->n_cdl++;
        i++;
    }
    x = &c->cdl[i];
    x->open_time_ns = open;
    x->open = e2e_jdec(json_array_get(k, 1));
    x->close = e2e_jdec(json_array_get(k, 2));
    x->high = e2e_jdec(json_array_get(k, 3));
    x->low = e2e_jdec(json_array_get(k, 4));
    x->volume = e2e_jdec(json_array_get(k, 5));
}

static void obs_message(struct obs *o, const char *txt)
{
    json_t *j = json_loads(txt, 0, NULL), *b;
    struct ochan *c = NULL;

    ASSERT(j != NULL);
    if (json_is_object(j)) {
        const char *ev = json_string_value(json_object_get(j, "event"));

        if (ev && strcmp(ev, "subscribed") == 0) {
            for (int i = 0; i < o->n && !c; i++)
                if (o->ch[i].id < 0)
                    c = &o->ch[i]; /* answers come in request order */
            ASSERT(c != NULL);
            c->id = json_integer_value(json_object_get(j, "chanId"));
        } else if (ev && strcmp(ev, "error") == 0) {
            test_fail(__FILE__, __LINE__, "observer: %s", txt);
        }
        json_decref(j);
        return;
    }
    for (int i = 0; i < o->n && !c; i++)
        if (o->ch[i].id == json_integer_value(json_array_get(j, 0)))
            c = &o->ch[i];
    ASSERT(c != NULL);
    b = json_array_get(j, 1);
    if (json_is_string(b)) {
        if (strcmp(json_string_value(b), "te") == 0) {
            trade_te(c, json_array_get(j, 2));
            c->updates++;
        }
        json_decref(j); /* hb, tu */
        return;
    }
    if (strcmp(c->kind, "book") == 0) {
        if (json_is_array(json_array_get(b, 0))) {
            c->n[0] = c->n[1] = 0;
            for (size_t i = 0; i < json_array_size(b); i++)
                book_level(c, json_array_get(b, i));
        } else {
            book_level(c, b);
            c->updates++;
            o->last_book_ns = test_now_ns();
        }
    } else if (strcmp(c->kind, "candles") == 0) {
        if (json_is_array(json_array_get(b, 0))) {
            for (size_t i = json_array_size(b); i-- > 0;)
                candle(c, json_array_get(b, i)); /* newest first */
        } else {
            candle(c, b);
            c->updates++;
        }
    } else if (strcmp(c->kind, "ticker") == 0) {
        c->bid = e2e_jdec(json_array_get(b, 0));
        c->ask = e2e_jdec(json_array_get(b, 2));
        c->updates++;
    }
    /* trades snapshot: history from before the observer, not compared */
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
            obs_message(o, (const char *)m->data);
    }
}

/* Reads until the market has stopped: book updates came and then none for 1.5 s. */
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

static struct ochan *obs_chan(struct obs *o, const char *kind, const char *symbol)
{
    for (int i = 0; i < o->n; i++)
        if (strcmp(o->ch[i].kind, kind) == 0 && strcmp(o->ch[i].symbol, symbol) == 0)
            return &o->ch[i];
    test_fail(__FILE__, __LINE__, "observer has no %s %s", kind, symbol);
}

/* ---- the daemon's side ------------------------------------------------------------------- */

static uint32_t sym_of(mdf_instance_t *inst, const char *native)
{
    char key[64];
    int64_t s;

    snprintf(key, sizeof(key), "bitfinex:%s", native);
    s = mdf_symbol_lookup(inst, key);
    if (s < 0)
        test_fail(__FILE__, __LINE__, "no symbol %s", key);
    return (uint32_t)s;
}

/* Book b of symbol is LIVE and equals the observer's channel c: every level of the record (top
 * book_depth), price, quantity and order count. */
static void check_book_chan(const struct mdf_book *b, const struct ochan *c, const char *symbol)
{
    ASSERT_EQ(b->state, MDF_BOOK_LIVE);
    for (int s = 0; s < 2; s++) {
        int want = c->n[s] < b->depth ? c->n[s] : b->depth;
        int got = s ? b->n_asks : b->n_bids;

        if (got != want)
            test_fail(__FILE__, __LINE__, "%s %s: %d levels, the venue's book has %d", symbol,
                      s ? "asks" : "bids", got, want);
        for (int i = 0; i < want; i++) {
            const struct mdf_level *l = &b->levels[s * b->depth + i];
            char g[64], w[64];

            if (e2e_dec_eq(l->px, c->side[s][i].px) && e2e_dec_eq(l->qty, c->side[s][i].qty) &&
                l->orders == c->side[s][i].count)
                continue;
            mdf_dec_format(l->px, g, sizeof(g));
            mdf_dec_format(c->side[s][i].px, w, sizeof(w));
            test_fail(__FILE__, __LINE__, "%s %s level %d: daemon %s (%u orders), venue %s (%u)",
                      symbol, s ? "ask" : "bid", i, g, l->orders, w, c->side[s][i].count);
        }
    }
}

/* The daemon's latest book of symbol equals the observer's channel (check_book_chan). Returns
 * the book's generation. */
static uint64_t check_book(mdf_instance_t *inst, struct obs *o, const char *symbol, const char *key)
{
    struct mdf_book *b = malloc(MDF_BOOK_SIZE(MDF_BOOK_DEPTH_MAX));
    struct ochan *c = NULL;
    uint64_t gen;

    for (int i = 0; i < o->n && !c; i++)
        if (strcmp(o->ch[i].kind, "book") == 0 && strcmp(o->ch[i].symbol, key) == 0)
            c = &o->ch[i];
    ASSERT(c != NULL && b != NULL);
    ASSERT_EQ(mdf_latest_book(inst, sym_of(inst, symbol), b, MDF_BOOK_SIZE(MDF_BOOK_DEPTH_MAX)), 0);
    check_book_chan(b, c, symbol);
    gen = b->generation;
    free(b);
    return gen;
}

/* The daemon's trades of symbol in v[0..n) go strictly up (nothing twice) and, from the
 * first one both saw on, are exactly the observer's (nothing lost), price, size and side.
 * Returns how many were compared. */
static int check_trades(mdf_instance_t *inst, const mdf_record_t *v, long n, struct obs *o,
                        const char *symbol)
{
    struct ochan *c = obs_chan(o, "trades", symbol);
    uint32_t sym = sym_of(inst, symbol);
    int64_t prev = 0;
    int k = 0, first = -1;

    ASSERT_GT(c->n_te, 10);
    for (long i = 0; i < n; i++) {
        const struct mdf_trade *t = &v[i].trade;

        if (v[i].h.type != MDF_REC_TRADE || v[i].h.symbol != sym)
            continue;
        if (t->trade_id <= prev)
            test_fail(__FILE__, __LINE__, "%s trade %" PRId64 " after %" PRId64, symbol,
                      t->trade_id, prev);
        prev = t->trade_id;
        if (t->trade_id < c->te[0])
            continue;
        if (k == 0) /* the observer may have subscribed before the daemon did */
            while (k < c->n_te && c->te[k] < t->trade_id)
                k++;
        first = first < 0 ? k : first;
        if (k >= c->n_te || t->trade_id != c->te[k])
            test_fail(__FILE__, __LINE__, "%s: daemon trade %" PRId64 ", the venue's next %" PRId64,
                      symbol, t->trade_id, k < c->n_te ? c->te[k] : -1);
        ASSERT(e2e_dec_eq(t->price, c->te_px[k]));
        ASSERT(e2e_dec_eq(t->qty, c->te_qty[k]));
        ASSERT_EQ(t->side, c->te_side[k]);
        k++;
    }
    if (k != c->n_te)
        test_fail(__FILE__, __LINE__, "%s: the daemon published %d of the venue's %d trades",
                  symbol, k, c->n_te);
    ASSERT_GT(k - first, 10);
    return k - first;
}

/* Starts the fake venue with args plus --venue bitfinex. */
static void venue_start(struct fv_proc *fv, const char *const *args)
{
    const char *all[32] = {"--venue", "bitfinex"};
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

/* Waits up to timeout_ms for the venue's counter k to reach want; returns its last value. */
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

/* ---- tests ------------------------------------------------------------------------------- */

TEST(e2e_bfx_books_trades_candles_and_tickers_equal_what_the_venue_sent)
{
    const char *args[] = {
        "--market-rate", "100", "--market-events", "700", "--bfx-minute-ms", "1000", "--bfx-tu-ms",
        "300",           NULL};
    struct fv_proc fv;
    struct dmn d;
    struct obs o;
    mdf_instance_t *inst;
    mdf_record_t *v = NULL;
    struct mdf_candle *hist;
    struct ochan *oc;
    long n;
    int closed = 0, backfilled = 0, partial = 0, matched = 0, bbo = 0, nh;
    int64_t prev_open = 0;
    uint32_t aaa;

    venue_start(&fv, args);
    ASSERT_EQ(dmn_config(&d,
                         VENUE_HEAD "  symbols = [\"tAAAUSD\", \"tBBBUSD\"]; trades = \"trade\";\n"
                                    "  kline = \"1m\"; ticker = true; order_book = \"diff\";\n"
                                    "  emit_partial_candles = true;\n"
                                    "  streams = ({ symbol = \"tCCCUSD\"; type = \"diff_depth\";\n"
                                    "    prec = \"P1\"; len = 100; }); });\n",
                         fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(dmn_wait(&d, "book:tCCCUSD:P1:F0:100 book live", 10000, NULL, 0),
              0); /* subscribed last */
    obs_open(&o, fv.port);
    obs_sub(&o, "book", "tAAAUSD", "\"prec\":\"P0\",\"freq\":\"F0\",\"len\":\"25\"");
    obs_sub(&o, "book", "tBBBUSD", "\"prec\":\"P0\",\"freq\":\"F0\",\"len\":\"25\"");
    obs_sub(&o, "book", "tCCCUSD", "\"prec\":\"P1\",\"freq\":\"F0\",\"len\":\"100\"");
    obs_sub(&o, "trades", "tAAAUSD", NULL);
    obs_sub(&o, "trades", "tBBBUSD", NULL);
    obs_sub(&o, "candles", "1m:tAAAUSD", NULL);
    obs_sub(&o, "ticker", "tAAAUSD", NULL);
    obs_until_quiet(&o, 30000);
    obs_pump(&o, 1500); /* the last candles and tickers */

    ASSERT_EQ(mdf_open(&inst, d.instance, 1000), 0);
    ASSERT_EQ(check_book(inst, &o, "tAAAUSD", "tAAAUSD"), 0);
    ASSERT_EQ(check_book(inst, &o, "tBBBUSD", "tBBBUSD"), 0);
    ASSERT_EQ(check_book(inst, &o, "tCCCUSD", "tCCCUSD"), 0);
    ASSERT(obs_chan(&o, "book", "tAAAUSD")->updates > 100);

    n = e2e_drain(d.instance, MDF_RING_TICKS, &v);
    ASSERT_GT(n, 0);
    check_trades(inst, v, n, &o, "tAAAUSD");
    check_trades(inst, v, n, &o, "tBBBUSD");
    /* Ticker and best bid/offer: the last ones are the venue's last ticker. */
    oc = obs_chan(&o, "ticker", "tAAAUSD");
    aaa = sym_of(inst, "tAAAUSD");
    {
        struct mdf_bbo b;
        struct mdf_ticker t;

        ASSERT_EQ(mdf_latest_bbo(inst, aaa, &b), 0);
        ASSERT_EQ(mdf_latest_ticker(inst, aaa, &t), 0);
        ASSERT(e2e_dec_eq(b.bid_px, oc->bid) && e2e_dec_eq(b.ask_px, oc->ask));
        ASSERT(e2e_dec_eq(t.bid_px, oc->bid) && e2e_dec_eq(t.ask_px, oc->ask));
    }
    for (long i = 0; i < n; i++)
        bbo += v[i].h.type == MDF_REC_BBO && v[i].h.symbol == aaa;
    ASSERT_GT(bbo, 1);
    free(v);

    /* Candles: the snapshot's closed history (flagged backfilled), then candles closed live
     * when the next one appeared: each open time once, in order, with the venue's final
     * values; the open candle as partial candles. */
    oc = obs_chan(&o, "candles", "1m:tAAAUSD");
    n = e2e_drain(d.instance, MDF_RING_CANDLES, &v);
    ASSERT_GT(n, 0);
    for (long i = 0; i < n; i++) {
        const struct mdf_candle *c = &v[i].candle;

        if (v[i].h.symbol != aaa)
            continue;
        if (!(v[i].h.flags & MDF_CANDLE_F_CLOSED)) {
            partial++;
            continue;
        }
        if (c->open_time_ns <= prev_open)
            test_fail(__FILE__, __LINE__, "closed candle %" PRId64 " after %" PRId64,
                      c->open_time_ns, prev_open);
        prev_open = c->open_time_ns;
        closed++;
        if (v[i].h.flags & MDF_CANDLE_F_BACKFILLED) {
            ASSERT_EQ(closed, ++backfilled); /* history comes first */
        }
        for (int k = 0; k + 1 < oc->n_cdl; k++) { /* the observer's newest may still change */
            if (oc->cdl[k].open_time_ns != c->open_time_ns)
                continue;
            ASSERT(e2e_dec_eq(c->open, oc->cdl[k].open) && e2e_dec_eq(c->close, oc->cdl[k].close));
            ASSERT(e2e_dec_eq(c->high, oc->cdl[k].high) && e2e_dec_eq(c->low, oc->cdl[k].low));
            ASSERT(e2e_dec_eq(c->volume, oc->cdl[k].volume));
            matched++;
        }
    }
    ASSERT_EQ(backfilled, 239); /* 240 in the snapshot, the newest open */
    ASSERT_GT(closed - backfilled, 3);
    ASSERT_GT(matched, 200);
    ASSERT_GT(partial, 3);
    /* The history table holds the same closed candles, oldest first, the open one last. */
    hist = calloc(600, sizeof(*hist));
    nh = mdf_candles_last(inst, aaa, MDF_IV_1M, hist, 600);
    ASSERT_GT(nh, 200);
    prev_open = 0;
    for (int k = 0; k < nh; k++) {
        ASSERT(hist[k].open_time_ns > prev_open);
        prev_open = hist[k].open_time_ns;
        for (long i = 0; i < n; i++)
            if (v[i].h.symbol == aaa && (v[i].h.flags & MDF_CANDLE_F_CLOSED) &&
                v[i].candle.open_time_ns == hist[k].open_time_ns) {
                ASSERT(hist[k].h.flags & MDF_CANDLE_F_CLOSED);
                ASSERT(e2e_dec_eq(hist[k].close, v[i].candle.close));
                ASSERT(e2e_dec_eq(hist[k].volume, v[i].candle.volume));
            }
    }
    free(hist);
    free(v);
    ASSERT_EQ(dmn_count(&d, "does not decode"), 0);
    ASSERT_EQ(dmn_count(&d, "BOOK_RESYNC"), 0);
    mdf_close(inst);
    obs_close(&o);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

/* Two books of one pair at precisions P0 and P2 are two streams: each is found by its channel
 * key or kind, read on its own, says which book it is, and equals what the venue sent on that
 * channel; the pair's default book is the P0 one. */
TEST(e2e_bfx_books_of_one_pair_at_p0_and_p2_are_read_apart)
{
    const char *args[] = {"--market-rate", "100", "--market-events", "400", NULL};
    size_t len = MDF_BOOK_SIZE(MDF_BOOK_DEPTH_MAX);
    struct mdf_book *b = malloc(len);
    struct mdf_stream_entry e;
    struct fv_proc fv;
    struct dmn d;
    struct obs o;
    mdf_instance_t *inst;
    int64_t p0, p2;

    ASSERT(b != NULL);
    venue_start(&fv, args);
    ASSERT_EQ(dmn_config(&d,
                         VENUE_HEAD "  symbols = [\"tAAAUSD\"]; trades = \"none\"; kline = \"\";\n"
                                    "  ticker = false; order_book = \"diff\";\n"
                                    "  streams = ({ symbol = \"tAAAUSD\"; type = \"diff_depth\";\n"
                                    "    prec = \"P2\"; len = 25; }); });\n",
                         fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(dmn_wait(&d, "book:tAAAUSD:P2:F0:25 book live", 10000, NULL, 0), 0);
    obs_open(&o, fv.port);
    obs_sub(&o, "book", "tAAAUSD", "\"prec\":\"P0\",\"freq\":\"F0\",\"len\":\"25\"");
    obs_sub(&o, "book", "tAAAUSD", "\"prec\":\"P2\",\"freq\":\"F0\",\"len\":\"25\"");
    obs_until_quiet(&o, 30000);
    ASSERT(o.ch[0].updates > 50 && o.ch[1].updates > 5);

    ASSERT_EQ(mdf_open(&inst, d.instance, 1000), 0);
    p0 = mdf_stream_find(inst, "bitfinex:tAAAUSD", "book:tAAAUSD:P0:F0:25");
    p2 = mdf_stream_find(inst, "bitfinex:tAAAUSD", "book:P2");
    ASSERT_GE(p0, 0);
    ASSERT_GE(p2, 0);
    ASSERT(p0 != p2);
    ASSERT_EQ(mdf_stream_find(inst, "bitfinex:tAAAUSD", "book:P0:F0:25"), p0);
    ASSERT_EQ(mdf_stream_info(inst, (uint32_t)p2, &e), 0);
    ASSERT_STR_EQ(e.key, "book:tAAAUSD:P2:F0:25");
    ASSERT_EQ(e.symbol, sym_of(inst, "tAAAUSD"));
    ASSERT_EQ(e.book_kind, MDF_BOOK_KIND_FULL);
    ASSERT_EQ(e.precision, 2);
    ASSERT_EQ(e.levels, 25);
    /* Each book on its own equals its channel, and says which it is. */
    ASSERT_EQ(mdf_latest_book_stream(inst, (uint32_t)p0, b, len), 0);
    ASSERT_EQ(b->h.stream, (uint32_t)p0);
    ASSERT_EQ(b->precision, 0);
    ASSERT_EQ(b->kind, MDF_BOOK_KIND_FULL);
    ASSERT_EQ(b->levels_asked, 25);
    check_book_chan(b, &o.ch[0], "tAAAUSD P0");
    ASSERT_EQ(mdf_latest_book_stream(inst, (uint32_t)p2, b, len), 0);
    ASSERT_EQ(b->h.stream, (uint32_t)p2);
    ASSERT_EQ(b->precision, 2);
    check_book_chan(b, &o.ch[1], "tAAAUSD P2");
    /* The per-symbol book is the finer one. */
    ASSERT_EQ(mdf_latest_book(inst, sym_of(inst, "tAAAUSD"), b, len), 0);
    ASSERT_EQ(b->h.stream, (uint32_t)p0);
    check_book_chan(b, &o.ch[0], "tAAAUSD default");
    ASSERT_EQ(dmn_count(&d, "BOOK_RESYNC"), 0);
    mdf_close(inst);
    obs_close(&o);
    free(b);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

/* The daemon's latest book of symbol is in state `state`. */
static void assert_book_state(struct dmn *d, const char *symbol, int state)
{
    struct mdf_book *b = malloc(MDF_BOOK_SIZE(MDF_BOOK_DEPTH_MAX));
    mdf_instance_t *inst;

    ASSERT(b != NULL);
    ASSERT_EQ(mdf_open(&inst, d->instance, 1000), 0);
    ASSERT_EQ(mdf_latest_book(inst, sym_of(inst, symbol), b, MDF_BOOK_SIZE(MDF_BOOK_DEPTH_MAX)), 0);
    if (b->state != state)
        test_fail(__FILE__, __LINE__, "%s book %s, want %s", symbol, mdf_book_state_name(b->state),
                  mdf_book_state_name(state));
    mdf_close(inst);
    free(b);
}

TEST(e2e_bfx_bad_level_is_caught_by_the_checksum_and_only_that_book_resyncs)
{
    const char *args[] = {"--market-rate",
                          "100",
                          "--market-events",
                          "600",
                          "--bfx-bad-level",
                          "tAAAUSD/150",
                          "--fault-conns",
                          "1",
                          NULL};
    struct fv_proc fv;
    struct dmn d;
    struct obs o;
    mdf_instance_t *inst;
    char line[512];

    venue_start(&fv, args);
    ASSERT_EQ(dmn_config(&d,
                         VENUE_HEAD "  symbols = [\"tAAAUSD\", \"tBBBUSD\"]; trades = \"none\";\n"
                                    "  kline = \"\"; order_book = \"diff\"; });\n",
                         fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(dmn_wait(&d, "CONNECTION_ESTABLISHED", 10000, NULL, 0), 0);
    obs_open(&o, fv.port);
    obs_sub(&o, "book", "tAAAUSD", NULL);
    obs_sub(&o, "book", "tBBBUSD", NULL);
    ASSERT_EQ(dmn_wait(&d, "BOOK_RESYNC", 20000, line, sizeof(line)), 0);
    ASSERT_CONTAINS(line, "tAAAUSD");
    ASSERT_CONTAINS(line, "checksum");
    ASSERT_EQ(dmn_wait(&d, "generation 1", 10000, line, sizeof(line)), 0); /* BOOK_LIVE again */
    ASSERT_CONTAINS(line, "tAAAUSD");
    obs_until_quiet(&o, 30000);
    obs_pump(&o, 500);
    ASSERT_EQ(mdf_open(&inst, d.instance, 1000), 0);
    ASSERT_EQ(check_book(inst, &o, "tAAAUSD", "tAAAUSD"), 1);
    ASSERT_EQ(check_book(inst, &o, "tBBBUSD", "tBBBUSD"), 0);
    mdf_close(inst);
    ASSERT_EQ(dmn_count(&d, "BOOK_RESYNC"), 0); /* one bad level, one resync */
    ASSERT_EQ(health_errors(&d, MDF_HERR_CHECKSUM), 1);
    ASSERT_EQ(venue_stat(fv.port, "faults"), 1);
    obs_close(&o);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

/* A connection replaced while the market moves: the daemon (tAAAUSD and tBBBUSD with
 * `streams` switches) on the venue started with args, an observer of both books and trades;
 * waits for the daemon's log line `event`, then for the replacement, then for the market to
 * stop. Checks both books equal the venue's at generation gen, trades are neither lost nor
 * doubled, and closed candles come once each, in order. Leaves venue and daemon running. */
static void handover_case(struct fv_proc *fv, struct dmn *d, const char *const *args,
                          const char *streams, const char *event, uint64_t gen)
{
    struct obs o;
    mdf_instance_t *inst;
    mdf_record_t *v = NULL;
    int64_t prev = 0;
    uint32_t aaa;
    long n;

    venue_start(fv, args);
    ASSERT_EQ(dmn_config(d,
                         VENUE_HEAD "  symbols = [\"tAAAUSD\", \"tBBBUSD\"]; trades = \"trade\";\n"
                                    "  %s order_book = \"diff\"; });\n",
                         fv->port, streams),
              0);
    ASSERT_EQ(dmn_start(d), 0);
    ASSERT_EQ(dmn_wait(d, "CONNECTION_ESTABLISHED", 10000, NULL, 0), 0);
    obs_open(&o, fv->port);
    obs_sub(&o, "book", "tAAAUSD", NULL);
    obs_sub(&o, "book", "tBBBUSD", NULL);
    obs_sub(&o, "trades", "tAAAUSD", NULL);
    obs_sub(&o, "trades", "tBBBUSD", NULL);
    obs_pump(&o, 300);
    ASSERT_EQ(dmn_wait(d, event, 20000, NULL, 0), 0);
    ASSERT_EQ(dmn_wait(d, "replaced conn", 20000, NULL, 0), 0);
    obs_until_quiet(&o, 30000);
    obs_pump(&o, 500);
    ASSERT_EQ(mdf_open(&inst, d->instance, 1000), 0);
    ASSERT_EQ(check_book(inst, &o, "tAAAUSD", "tAAAUSD"), gen);
    ASSERT_EQ(check_book(inst, &o, "tBBBUSD", "tBBBUSD"), gen);
    n = e2e_drain(d->instance, MDF_RING_TICKS, &v);
    ASSERT_GT(n, 0);
    check_trades(inst, v, n, &o, "tAAAUSD");
    check_trades(inst, v, n, &o, "tBBBUSD");
    free(v);
    aaa = sym_of(inst, "tAAAUSD");
    n = e2e_drain(d->instance, MDF_RING_CANDLES, &v);
    for (long i = 0; i < n; i++) {
        if (v[i].h.symbol != aaa || !(v[i].h.flags & MDF_CANDLE_F_CLOSED))
            continue;
        ASSERT(v[i].candle.open_time_ns > prev);
        prev = v[i].candle.open_time_ns;
    }
    free(v);
    mdf_close(inst);
    obs_close(&o);
}

TEST(e2e_bfx_sequence_gap_resyncs_books_and_resubscribes_on_a_new_connection)
{
    const char *args[] = {"--market-rate",
                          "100",
                          "--market-events",
                          "800",
                          "--fault-gap-after",
                          "400",
                          "--fault-conns",
                          "1",
                          NULL};
    struct fv_proc fv;
    struct dmn d;

    /* Both books were on the connection: both were rebuilt from the new one's snapshots. */
    handover_case(&fv, &d, args, "kline = \"\";", "messages lost", 1);
    ASSERT_EQ(dmn_count(&d, "SEQUENCE_GAP"), 0); /* the one gap, said once */
    ASSERT_EQ(health_errors(&d, MDF_HERR_SEQ_GAP), 1);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

TEST(e2e_bfx_restart_notice_20051_replaces_the_connection_losing_nothing)
{
    const char *args[] = {"--market-rate",
                          "100",
                          "--market-events",
                          "800",
                          "--bfx-minute-ms",
                          "1000",
                          "--shutdown-after",
                          "3",
                          "--shutdown-grace",
                          "3",
                          "--fault-conns",
                          "1",
                          NULL};
    struct fv_proc fv;
    struct dmn d;

    /* The replacement took the books over at its snapshots: the same generation, no resync. */
    handover_case(&fv, &d, args, "kline = \"1m\"; ticker = true;", "20051", 0);
    ASSERT_EQ(dmn_count(&d, "BOOK_RESYNC"), 0);
    ASSERT_EQ(dmn_count(&d, "SEQUENCE_GAP"), 0);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

TEST(e2e_bfx_maintenance_pauses_then_every_channel_is_resubscribed_and_books_rebuilt)
{
    const char *args[] = {"--market-rate",
                          "50",
                          "--bfx-maintenance-after",
                          "2",
                          "--bfx-maintenance-len",
                          "3",
                          "--fault-conns",
                          "1",
                          NULL};
    struct fv_proc fv;
    struct dmn d;
    char line[512];

    venue_start(&fv, args);
    ASSERT_EQ(dmn_config(&d,
                         VENUE_HEAD "  symbols = [\"tAAAUSD\"]; trades = \"trade\"; kline = \"\";\n"
                                    "  order_book = \"diff\";\n"
                                    "  health = { check_interval = 0.2; silent_after = 1.0;\n"
                                    "    stale_min = 1.0; }; });\n",
                         fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(dmn_wait(&d, "BOOK_LIVE", 10000, NULL, 0), 0);
    ASSERT_EQ(dmn_wait(&d, "VENUE_MAINTENANCE", 10000, line, sizeof(line)), 0);
    ASSERT_CONTAINS(line, "20060");
    assert_book_state(&d, "tAAAUSD", MDF_BOOK_STALE);
    ASSERT_EQ(dmn_wait(&d, "VENUE_MAINTENANCE", 10000, line, sizeof(line)), 0);
    ASSERT_CONTAINS(line, "20061");
    ASSERT_EQ(dmn_wait(&d, "BOOK_LIVE", 10000, line, sizeof(line)), 0);
    ASSERT_CONTAINS(line, "generation 1");
    assert_book_state(&d, "tAAAUSD", MDF_BOOK_LIVE);
    /* Every channel unsubscribed and subscribed again; no alarm for the quiet pause. */
    ASSERT_EQ(venue_stat_wait(fv.port, "subscribed", 4, 10000), 4);
    ASSERT_EQ(venue_stat(fv.port, "unsubscribed"), 2);
    ASSERT_EQ(dmn_count(&d, "FEED_STALE"), 0);
    ASSERT_EQ(dmn_count(&d, "SUBSCRIPTION_SILENT"), 0);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

TEST(e2e_bfx_platform_status_0_on_connect_holds_subscriptions_until_maintenance_ends)
{
    const char *args[] = {"--market-rate",
                          "50",
                          "--bfx-maintenance-on-connect",
                          "--bfx-maintenance-len",
                          "3",
                          "--fault-conns",
                          "1",
                          NULL};
    struct fv_proc fv;
    struct dmn d;
    char line[512];

    venue_start(&fv, args);
    ASSERT_EQ(dmn_config(&d,
                         VENUE_HEAD "  symbols = [\"tAAAUSD\"]; trades = \"trade\"; kline = \"\";\n"
                                    "  order_book = \"diff\"; });\n",
                         fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(dmn_wait(&d, "VENUE_MAINTENANCE", 10000, line, sizeof(line)), 0);
    ASSERT_CONTAINS(line, "platform status 0");
    usleep(1500000);
    ASSERT_EQ(venue_stat(fv.port, "subscribed"), 0);
    ASSERT_EQ(dmn_wait(&d, "20061", 10000, NULL, 0), 0);
    ASSERT_EQ(dmn_wait(&d, "BOOK_LIVE", 10000, NULL, 0), 0);
    ASSERT_EQ(venue_stat_wait(fv.port, "subscribed", 2, 10000), 2);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

TEST(e2e_bfx_more_channels_than_one_connection_allows_spread_over_several)
{
    const char *args[] = {"--market-rate", "20", NULL};
    struct fv_proc fv;
    struct dmn d;
    char line[512];

    venue_start(&fv, args);
    ASSERT_EQ(dmn_config(&d,
                         VENUE_HEAD
                         "  symbols = [\"tAAAUSD\", \"tBBBUSD\", \"tCCCUSD\", \"tDDDUSD\",\n"
                         "    \"tEEEUSD\", \"tFFFUSD\", \"tGGGUSD\", \"tHHHUSD\", \"tIII:USD\"];\n"
                         "  trades = \"trade\"; kline = \"1m\"; ticker = true;\n"
                         "  order_book = \"diff\"; });\n",
                         fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(dmn_wait(&d, "FEED_STARTED", 10000, line, sizeof(line)), 0);
    ASSERT_CONTAINS(line, "36 streams on 2 connections");
    for (int i = 0; i < 9; i++)
        ASSERT_EQ(dmn_wait(&d, "BOOK_LIVE", 20000, NULL, 0), 0);
    ASSERT_EQ(venue_stat_wait(fv.port, "channels", 36, 20000), 36);
    ASSERT_EQ(venue_stat(fv.port, "errors"), 0);
    ASSERT_EQ(venue_stat(fv.port, "upgrades"), 2);
    ASSERT_EQ(dmn_count(&d, "SUBSCRIPTION_FAILED"), 0);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

/* A broken server that gives every channel of a connection the same id: the daemon cannot tell
 * their data apart, so every subscription but the first fails, visibly, with the reason. */
TEST(e2e_bfx_same_channel_id_for_every_subscription_fails_all_but_the_first)
{
    const char *args[] = {"--market-rate", "20", "--bfx-same-chan-id", NULL};
    struct fv_proc fv;
    struct dmn d;
    char line[512];

    venue_start(&fv, args);
    ASSERT_EQ(dmn_config(&d,
                         VENUE_HEAD
                         "  symbols = [\"tAAAUSD\"]; trades = \"trade\"; kline = \"1m\";\n"
                         "  ticker = true; });\n",
                         fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(dmn_wait(&d, "SUBSCRIPTION_FAILED", 10000, line, sizeof(line)), 0);
    ASSERT_CONTAINS(line, "already");
    ASSERT_EQ(dmn_wait(&d, "SUBSCRIPTION_FAILED", 10000, line, sizeof(line)), 0);
    ASSERT_CONTAINS(line, "already");
    usleep(1000000);
    ASSERT_EQ(dmn_count(&d, "SUBSCRIPTION_FAILED"), 0); /* the first channel keeps its id */
    ASSERT_EQ(health_errors(&d, MDF_HERR_SUBSCRIBE), 2);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

/* What a reader following the daemon's rings saw of the two pairs. */
struct notice_seen {
    uint32_t sym[2];       /* tAAAUSD, tBBBUSD */
    int64_t last_trade[2]; /* last trade id, 0 before the first */
    long trades[2];        /* trades seen */
    long live_books[2];    /* LIVE book records seen */
    long rotating;         /* CONNECTION_ROTATING events */
    long reconnecting;     /* CONNECTION_RECONNECTING events */
};

/* Reads what sub holds now; fails the test on a lapped reader, a trade id that is not the
 * pair's previous plus one, a book that is not LIVE at generation 0 once it was, a resync or a
 * sequence gap. */
static void notice_follow(mdf_sub_t *sub, mdf_record_t *r, struct notice_seen *w)
{
    uint64_t lost;
    int rc;

    while ((rc = mdf_next(sub, r, &lost)) == 1) {
        int k = r->h.symbol == w->sym[0] ? 0 : r->h.symbol == w->sym[1] ? 1 : -1;

        if (lost)
            test_fail(__FILE__, __LINE__, "the reader was lapped: %" PRIu64 " records", lost);
        if (r->h.type == MDF_REC_TRADE && k >= 0) {
            if (w->last_trade[k] && r->trade.trade_id != w->last_trade[k] + 1)
                test_fail(__FILE__, __LINE__, "pair %d: trade %" PRId64 " after %" PRId64, k,
                          r->trade.trade_id, w->last_trade[k]);
            w->last_trade[k] = r->trade.trade_id;
            w->trades[k]++;
        } else if (r->h.type == MDF_REC_BOOK && k >= 0) {
            if (w->live_books[k] && (r->book.state != MDF_BOOK_LIVE || r->book.generation != 0))
                test_fail(__FILE__, __LINE__,
                          "pair %d: book state %u generation %" PRIu64 " after %ld LIVE records", k,
                          r->book.state, r->book.generation, w->live_books[k]);
            w->live_books[k] += r->book.state == MDF_BOOK_LIVE;
        } else if (r->h.type == MDF_REC_EVENT) {
            if (r->event.code == MDF_EV_BOOK_RESYNC || r->event.code == MDF_EV_SEQUENCE_GAP)
                test_fail(__FILE__, __LINE__, "event %u: %s", r->event.code, r->event.text);
            w->rotating += r->event.code == MDF_EV_CONNECTION_ROTATING;
            w->reconnecting += r->event.code == MDF_EV_CONNECTION_RECONNECTING;
        }
    }
    ASSERT_EQ(rc, 0);
}

/* Follows the rings and both logs (so neither process ever blocks on a full pipe) until
 * end_ns, counting the daemon's lines saying a notice reached a replacement still taking over. */
static void notice_run(mdf_sub_t *const *sub, mdf_record_t *r, struct notice_seen *w, struct dmn *d,
                       struct fv_proc *fv, int64_t end_ns, int *doomed)
{
    while (test_now_ns() < end_ns) {
        for (int i = 0; i < 3; i++)
            notice_follow(sub[i], r, w);
        while (dmn_wait(d, "is to be cut as well", 0, NULL, 0) == 0)
            (*doomed)++;
        dmn_count(d, "\n");
        fv_count_lines(fv, "\n");
        usleep(50000);
    }
}

/* A venue restarting its servers again and again for minutes: every connection, the
 * replacement still taking over included, gets 20051 half a second after it opens and is cut
 * 3 s later. Nothing is lost: the pairs' trade ids (consecutive in the fake market) come one
 * after the other, none twice, and the books stay LIVE at generation 0 (the checksums hold
 * them to the venue's); after minutes of it, data still flows. No observer client: the venue
 * would restart it as well. A new connection every half second is far past Bitfinex's limit of
 * 20 a minute, which the venue enforces and the daemon keeps to by default (it would wait, and
 * lose data as it must): here both are lifted. */
TEST(e2e_bfx_restart_notices_on_every_connection_replacements_included_lose_nothing)
{
    const char *args[] = {"--market-rate",
                          "100",
                          "--shutdown-after",
                          "0.5",
                          "--shutdown-grace",
                          "3",
                          "--conn-limit",
                          "0",
                          NULL};
    int secs = e2e_notice_seconds();
    struct notice_seen w = {0};
    long trades[2], books[2];
    mdf_sub_t *sub[3];
    mdf_instance_t *inst;
    mdf_record_t *r = malloc(sizeof(*r));
    struct fv_proc fv;
    struct dmn d;
    int64_t end;
    int doomed = 0;

    ASSERT(r != NULL);
    venue_start(&fv, args);
    ASSERT_EQ(dmn_config(&d,
                         VENUE_HEAD "  symbols = [\"tAAAUSD\", \"tBBBUSD\"]; trades = \"trade\";\n"
                                    "  kline = \"\"; order_book = \"diff\";\n"
                                    "  connection = { max_conn_attempts = 100000; }; });\n",
                         fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(dmn_wait(&d, "BOOK_LIVE", 10000, NULL, 0), 0);
    ASSERT_EQ(mdf_open(&inst, d.instance, 1000), 0);
    w.sym[0] = sym_of(inst, "tAAAUSD");
    w.sym[1] = sym_of(inst, "tBBBUSD");
    ASSERT_EQ(mdf_subscribe(inst, MDF_RING_TICKS, MDF_START_OLDEST, 0, &sub[0]), 0);
    ASSERT_EQ(mdf_subscribe(inst, MDF_RING_BOOKS, MDF_START_OLDEST, 0, &sub[1]), 0);
    ASSERT_EQ(mdf_subscribe(inst, MDF_RING_EVENTS, MDF_START_OLDEST, 0, &sub[2]), 0);
    printf("%d s of restart notices\n", secs);
    notice_run(sub, r, &w, &d, &fv, test_now_ns() + (int64_t)secs * 1000000000, &doomed);
    /* Still flowing at the end: more trades and LIVE books of both pairs within 10 s. */
    memcpy(trades, w.trades, sizeof(trades));
    memcpy(books, w.live_books, sizeof(books));
    end = test_now_ns() + 10000000000;
    while (test_now_ns() < end &&
           (w.trades[0] < trades[0] + 20 || w.trades[1] < trades[1] + 20 ||
            w.live_books[0] < books[0] + 20 || w.live_books[1] < books[1] + 20))
        notice_run(sub, r, &w, &d, &fv, test_now_ns() + 100000000, &doomed);
    printf("%ld and %ld trades, %ld and %ld LIVE books, %ld rotations, %d notices on "
           "replacements, %" PRId64 " notices in all\n",
           w.trades[0], w.trades[1], w.live_books[0], w.live_books[1], w.rotating, doomed,
           venue_stat(fv.port, "infos"));
    for (int k = 0; k < 2; k++) {
        ASSERT_GE(w.trades[k], trades[k] + 20);
        ASSERT_GE(w.live_books[k], books[k] + 20);
        ASSERT_GT(w.trades[k], secs * 10);
    }
    /* Never a reconnect by the backoff schedule, which is where trades went missing; notices
     * reached replacements still taking over, again and again. */
    ASSERT_EQ(w.reconnecting, 0);
    ASSERT_GE(w.rotating, secs);
    ASSERT_GE(doomed, secs / 2);
    for (int i = 0; i < 3; i++)
        mdf_unsubscribe(sub[i]);
    mdf_close(inst);
    free(r);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}
