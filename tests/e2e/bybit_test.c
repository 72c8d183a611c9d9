/*
 * End to end with Bybit v5 public: the fake venue's synthetic Bybit market (--venue
 * bybit-linear or bybit-spot) -> mdfeedd -> shared memory -> reader, checked against an
 * observer: a client of our own on the same fake venue, subscribed to the same topics (every
 * subscriber of a topic gets the same bytes), that keeps reference books, trades, closed
 * candles, merged tickers and liquidations from what it receives. The market stops after a
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

#define LIN_HEAD "venues = ({ venue = \"bybit-linear\"; url = \"ws://127.0.0.1:%d\";\n"
#define SPOT_HEAD "venues = ({ venue = \"bybit-spot\"; url = \"ws://127.0.0.1:%d\";\n"
#define OBS_TOPICS 32    /* topics one observer follows */
#define OBS_ITEMS 16384  /* trades or liquidations per topic */
#define OBS_CANDLES 512  /* closed candles per topic */
#define OBS_SPOT_ARGS 10 /* args per subscribe request on spot */

/* ---- decimals ---------------------------------------------------------------------------- */

/* Member k of object o, a decimal string; fails the test without it. */
static mdf_dec_t jdec(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));

    if (!s)
        test_fail(__FILE__, __LINE__, "no decimal string %s", k);
    return e2e_dec(s);
}

/* Member k of object o, an integer or a string of one. */
static int64_t jint(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);

    if (json_is_integer(v))
        return json_integer_value(v);
    if (json_is_string(v))
        return strtoll(json_string_value(v), NULL, 10);
    test_fail(__FILE__, __LINE__, "no integer %s", k);
}

#define ASSERT_DEC_EQ(got, want, what)                                                             \
    do {                                                                                           \
        char g_[64], w_[64];                                                                       \
        if (!e2e_dec_eq((got), (want))) {                                                          \
            mdf_dec_format((got), g_, sizeof(g_));                                                 \
            mdf_dec_format((want), w_, sizeof(w_));                                                \
            test_fail(__FILE__, __LINE__, "%s: daemon %s, venue %s", (what), g_, w_);              \
        }                                                                                          \
    } while (0)

/* ---- the observer ------------------------------------------------------------------------ */

enum okind { OK_TRADE, OK_BOOK, OK_KLINE, OK_TICKER, OK_LIQ };

/* A trade or a liquidation as the venue sent it. */
struct oitem {
    int64_t id; /* trade id as the daemon reads it (linear: hashed UUID); 0 for liquidations */
    mdf_dec_t px, qty;
    uint8_t side; /* enum mdf_side of the record the daemon should publish */
};

struct otopic {
    char name[64];
    enum okind kind;
    struct e2e_book *book; /* OK_BOOK */
    int64_t u;             /* OK_BOOK: last u */
    long updates;          /* data messages after the first */
    int snapshots;         /* OK_BOOK: snapshots (the first, restarts) */
    struct oitem *it;      /* OK_TRADE, OK_LIQ */
    int n_it;
    struct mdf_candle *cdl; /* OK_KLINE: closed candles, in order */
    int n_cdl;
    int64_t *popen; /* OK_KLINE: open times of the open-candle messages, in order */
    int n_popen;
    json_t *tk; /* OK_TICKER: the merged fields */
};

struct obs {
    struct wsc c;
    struct otopic t[OBS_TOPICS];
    int n;
    bool spot;
    int64_t last_book_ns; /* when the last book delta arrived */
};

/* The daemon's id of a trade id text: decimal ids as they are, others (linear UUIDs) by the
 * decoder's documented rule, FNV-1a 64 of the text shifted right by one. */
static int64_t trade_id(const char *s)
{
    uint64_t h = 0xcbf29ce484222325u;
    char *end;
    long long v = strtoll(s, &end, 10);

    if (*s && !*end && v >= 0)
        return v;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3u;
    return (int64_t)(h >> 1);
}

static void obs_open(struct obs *o, int port, bool spot)
{
    memset(o, 0, sizeof(*o));
    o->spot = spot;
    ASSERT_EQ(wsc_connect(&o->c, port, spot ? "/v5/public/spot" : "/v5/public/linear", NULL), 0);
}

/* Subscribes to topics (NULL-terminated), at most OBS_SPOT_ARGS a request. */
static void obs_sub(struct obs *o, const char *const *topics)
{
    for (int i = 0; topics[i];) {
        char buf[2048];
        size_t len = (size_t)snprintf(buf, sizeof(buf), "{\"op\":\"subscribe\",\"args\":[");

        for (int k = 0; k < OBS_SPOT_ARGS && topics[i]; k++, i++) {
            struct otopic *t = &o->t[o->n++];

            ASSERT(o->n <= OBS_TOPICS);
            snprintf(t->name, sizeof(t->name), "%s", topics[i]);
            if (strncmp(t->name, "publicTrade.", 12) == 0) {
                t->kind = OK_TRADE;
            } else if (strncmp(t->name, "orderbook.", 10) == 0) {
                t->kind = OK_BOOK;
                t->book = calloc(1, sizeof(*t->book));
                ASSERT(t->book != NULL);
            } else if (strncmp(t->name, "kline.", 6) == 0) {
                t->kind = OK_KLINE;
                t->cdl = calloc(OBS_CANDLES, sizeof(*t->cdl));
                t->popen = calloc(OBS_CANDLES * 8, sizeof(*t->popen));
            } else if (strncmp(t->name, "tickers.", 8) == 0) {
                t->kind = OK_TICKER;
                t->tk = json_object();
            } else {
                t->kind = OK_LIQ;
            }
            if (t->kind == OK_TRADE || t->kind == OK_LIQ)
                t->it = calloc(OBS_ITEMS, sizeof(*t->it));
            len +=
                (size_t)snprintf(buf + len, sizeof(buf) - len, "%s\"%s\"", k ? "," : "", topics[i]);
            ASSERT(len < sizeof(buf) - 64);
        }
        snprintf(buf + len, sizeof(buf) - len, "],\"req_id\":\"obs%d\"}", i);
        ASSERT_EQ(wsc_send_text(&o->c, buf), 0);
    }
}

static void obs_close(struct obs *o)
{
    wsc_close(&o->c);
    for (int i = 0; i < o->n; i++) {
        free(o->t[i].book);
        free(o->t[i].it);
        free(o->t[i].cdl);
        free(o->t[i].popen);
        json_decref(o->t[i].tk);
    }
}

static struct otopic *obs_topic(struct obs *o, const char *name)
{
    for (int i = 0; i < o->n; i++)
        if (strcmp(o->t[i].name, name) == 0)
            return &o->t[i];
    test_fail(__FILE__, __LINE__, "observer has no topic %s", name);
}

static void add_item(struct otopic *t, struct oitem x)
{
    ASSERT(t->n_it < OBS_ITEMS);
    t->it[t->n_it++] = x;
}

/* A closed candle (confirm true) of a kline message. */
static void obs_candle(struct otopic *t, json_t *k)
{
    struct mdf_candle *c;

    if (!json_is_true(json_object_get(k, "confirm"))) {
        ASSERT(t->n_popen < OBS_CANDLES * 8);
        t->popen[t->n_popen++] = jint(k, "start") * 1000000;
        return;
    }
    ASSERT(t->n_cdl < OBS_CANDLES);
    c = &t->cdl[t->n_cdl++];
    c->open_time_ns = jint(k, "start") * 1000000;
    c->open = jdec(k, "open");
    c->high = jdec(k, "high");
    c->low = jdec(k, "low");
    c->close = jdec(k, "close");
    c->volume = jdec(k, "volume");
}

static void obs_message(struct obs *o, const char *txt)
{
    json_t *j = json_loads(txt, 0, NULL), *data;
    const char *topic, *type;
    struct otopic *t = NULL;
    bool snap;

    ASSERT(j != NULL);
    topic = json_string_value(json_object_get(j, "topic"));
    if (!topic) {
        if (json_is_false(json_object_get(j, "success")))
            test_fail(__FILE__, __LINE__, "observer: %s", txt);
        json_decref(j);
        return;
    }
    for (int i = 0; i < o->n && !t; i++)
        if (strcmp(o->t[i].name, topic) == 0)
            t = &o->t[i];
    ASSERT(t != NULL);
    type = json_string_value(json_object_get(j, "type"));
    snap = !type || strcmp(type, "snapshot") == 0;
    data = json_object_get(j, "data");
    switch (t->kind) {
    case OK_BOOK:
        if (snap) {
            e2e_book_set(t->book, json_object_get(data, "b"), json_object_get(data, "a"));
            t->snapshots++;
        } else {
            ASSERT_EQ(jint(data, "u"), t->u + 1);
            e2e_book_apply(t->book, json_object_get(data, "b"), json_object_get(data, "a"));
            t->updates++;
            o->last_book_ns = test_now_ns();
        }
        t->u = jint(data, "u");
        break;
    case OK_TRADE:
        for (size_t i = 0; i < json_array_size(data); i++) {
            json_t *x = json_array_get(data, i);
            const char *s = json_string_value(json_object_get(x, "S"));

            add_item(t, (struct oitem){trade_id(json_string_value(json_object_get(x, "i"))),
                                       jdec(x, "p"), jdec(x, "v"),
                                       strcmp(s, "Buy") == 0 ? MDF_SIDE_BUY : MDF_SIDE_SELL});
        }
        t->updates++;
        break;
    case OK_LIQ:
        /* S is the liquidated position's side; the liquidation order is the other. */
        for (size_t i = 0; i < json_array_size(data); i++) {
            json_t *x = json_array_get(data, i);
            const char *s = json_string_value(json_object_get(x, "S"));

            add_item(t, (struct oitem){0, jdec(x, "p"), jdec(x, "v"),
                                       strcmp(s, "Buy") == 0 ? MDF_SIDE_SELL : MDF_SIDE_BUY});
        }
        t->updates++;
        break;
    case OK_KLINE:
        for (size_t i = 0; i < json_array_size(data); i++)
            obs_candle(t, json_array_get(data, i));
        t->updates++;
        break;
    case OK_TICKER:
        if (snap)
            json_object_clear(t->tk);
        json_object_update(t->tk, data);
        t->updates++;
        break;
    }
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

/* Reads until the market has stopped: book deltas came and then none for 1.5 s. */
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

static uint32_t sym_of(mdf_instance_t *inst, const char *venue, const char *native)
{
    char key[64];
    int64_t s;

    snprintf(key, sizeof(key), "%s:%s", venue, native);
    s = mdf_symbol_lookup(inst, key);
    if (s < 0)
        test_fail(__FILE__, __LINE__, "no symbol %s", key);
    return (uint32_t)s;
}

/* The daemon's latest book of symbol is LIVE and equals the observer's topic; returns its
 * generation. */
static uint64_t check_book(mdf_instance_t *inst, struct obs *o, const char *venue,
                           const char *symbol, const char *topic)
{
    struct mdf_book *b = malloc(MDF_BOOK_SIZE(MDF_BOOK_DEPTH_MAX));
    struct otopic *t = obs_topic(o, topic);
    char why[256];
    uint64_t gen;

    ASSERT(b != NULL);
    ASSERT_EQ(
        mdf_latest_book(inst, sym_of(inst, venue, symbol), b, MDF_BOOK_SIZE(MDF_BOOK_DEPTH_MAX)),
        0);
    if (b->state != MDF_BOOK_LIVE)
        test_fail(__FILE__, __LINE__, "%s book %s", symbol, mdf_book_state_name(b->state));
    if (!e2e_book_equal(t->book, b, why, sizeof(why)))
        test_fail(__FILE__, __LINE__, "%s book: %s", symbol, why);
    ASSERT_EQ(b->last_update_id, t->u);
    gen = b->generation;
    free(b);
    return gen;
}

/* The daemon's trades of symbol in v[0..n): no id twice; from the observer's first trade on
 * exactly the observer's, in order, price, size and side, except at most `lost` trades in one
 * run (a cut connection's outage). Returns how many were compared. */
static int check_trades(mdf_instance_t *inst, const mdf_record_t *v, long n, struct obs *o,
                        const char *venue, const char *symbol, int lost)
{
    char topic[64];
    struct otopic *t;
    uint32_t sym = sym_of(inst, venue, symbol);
    int64_t *ids = calloc((size_t)n + 1, sizeof(*ids));
    int k = -1, nid = 0, skipped = 0, runs = 0;

    snprintf(topic, sizeof(topic), "publicTrade.%s", symbol);
    t = obs_topic(o, topic);
    ASSERT(ids != NULL);
    ASSERT_GT(t->n_it, 10);
    for (long i = 0; i < n; i++) {
        const struct mdf_trade *r = &v[i].trade;

        if (v[i].h.type != MDF_REC_TRADE || v[i].h.symbol != sym)
            continue;
        for (int q = 0; q < nid; q++)
            if (ids[q] == r->trade_id)
                test_fail(__FILE__, __LINE__, "%s trade %" PRId64 " published twice", symbol,
                          r->trade_id);
        ids[nid++] = r->trade_id;
        if (k < 0) { /* before the observer subscribed? */
            for (int q = 0; q < t->n_it && k < 0; q++)
                if (t->it[q].id == r->trade_id)
                    k = q;
            if (k < 0)
                continue;
            skipped += k; /* the observer's first ones, missing */
            runs += k > 0;
        }
        if (k < t->n_it && r->trade_id != t->it[k].id) {
            int from = k;

            while (k < t->n_it && t->it[k].id != r->trade_id)
                k++;
            skipped += k - from;
            runs++;
        }
        if (k >= t->n_it)
            test_fail(__FILE__, __LINE__, "%s: daemon trade %" PRId64 " the venue never sent",
                      symbol, r->trade_id);
        ASSERT_DEC_EQ(r->price, t->it[k].px, "trade price");
        ASSERT_DEC_EQ(r->qty, t->it[k].qty, "trade size");
        ASSERT_EQ(r->side, t->it[k].side);
        k++;
    }
    free(ids);
    if (k < 0)
        test_fail(__FILE__, __LINE__, "%s: the daemon never published the observer's first trade",
                  symbol);
    skipped += t->n_it - k;
    runs += k < t->n_it;
    printf("%s: %d of the venue's %d trades compared, %d missed\n", symbol, k - skipped, t->n_it,
           skipped);
    if (skipped > lost || runs > (lost > 0))
        test_fail(__FILE__, __LINE__,
                  "%s: the daemon missed %d of the venue's %d trades in %d runs (at most %d)",
                  symbol, skipped, t->n_it, runs, lost);
    ASSERT_GT(k - skipped, 10);
    return k - skipped;
}

/* Starts the fake venue (--venue bybit-linear or bybit-spot) with args. */
static void venue_start(struct fv_proc *fv, bool spot, const char *const *args)
{
    const char *all[40] = {"--venue", spot ? "bybit-spot" : "bybit-linear"};
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

/* Closed candles of symbol in v[0..n): each open time once, in order, and every closed candle
 * the observer saw is there with the venue's values. Returns how many matched. */
static int check_candles(const mdf_record_t *v, long n, uint32_t sym, const struct otopic *t)
{
    int64_t prev = 0;
    int matched = 0;

    for (long i = 0; i < n; i++) {
        const struct mdf_candle *c = &v[i].candle;

        if (v[i].h.symbol != sym || !(v[i].h.flags & MDF_CANDLE_F_CLOSED))
            continue;
        if (c->open_time_ns <= prev)
            test_fail(__FILE__, __LINE__, "closed candle %" PRId64 " after %" PRId64,
                      c->open_time_ns, prev);
        prev = c->open_time_ns;
        for (int k = 0; k < t->n_cdl; k++) {
            if (t->cdl[k].open_time_ns != c->open_time_ns)
                continue;
            ASSERT_DEC_EQ(c->open, t->cdl[k].open, "candle open");
            ASSERT_DEC_EQ(c->high, t->cdl[k].high, "candle high");
            ASSERT_DEC_EQ(c->low, t->cdl[k].low, "candle low");
            ASSERT_DEC_EQ(c->close, t->cdl[k].close, "candle close");
            ASSERT_DEC_EQ(c->volume, t->cdl[k].volume, "candle volume");
            matched++;
        }
    }
    if (matched != t->n_cdl)
        test_fail(__FILE__, __LINE__, "%d of the venue's %d closed candles published", matched,
                  t->n_cdl);
    return matched;
}

/* Open candles (emit_partial_candles) of symbol in v[0..n): for each interval the observer saw
 * whole (from the first close on), as many as the venue sent; the venue sends a candle's close
 * and the next candle's first update at one push time, and neither may be taken for a copy of
 * the other. Returns how many intervals were compared. */
static int check_open_candles(const mdf_record_t *v, long n, uint32_t sym, const struct otopic *t)
{
    int compared = 0;

    ASSERT_GT(t->n_cdl, 1);
    for (int k = 0; k + 1 < t->n_cdl; k++) {
        int64_t open = t->cdl[k + 1].open_time_ns; /* opens as cdl[k] closes */
        int want = 0, got = 0;

        for (int i = 0; i < t->n_popen; i++)
            want += t->popen[i] == open;
        for (long i = 0; i < n; i++)
            got += v[i].h.type == MDF_REC_CANDLE && v[i].h.symbol == sym &&
                   !(v[i].h.flags & MDF_CANDLE_F_CLOSED) && v[i].candle.open_time_ns == open;
        if (got != want)
            test_fail(__FILE__, __LINE__,
                      "candle opening at %" PRId64 ": %d open-candle records, the venue sent %d",
                      open, got, want);
        compared++;
    }
    return compared;
}

/* ---- tests ------------------------------------------------------------------------------- */

TEST(e2e_bybit_linear_every_topic_lands_exactly)
{
    const char *args[] = {"--market-rate", "100", "--market-events", "1500", "--bybit-minute-ms",
                          "500",           NULL};
    const char *topics[] = {"orderbook.50.AAAUSDT",   "orderbook.200.BBBUSDT",
                            "publicTrade.AAAUSDT",    "publicTrade.BBBUSDT",
                            "kline.1.AAAUSDT",        "tickers.AAAUSDT",
                            "allLiquidation.AAAUSDT", NULL};
    struct fv_proc fv;
    struct dmn d;
    struct obs o;
    mdf_instance_t *inst;
    mdf_record_t *v = NULL;
    struct otopic *t;
    struct mdf_ticker tk;
    struct mdf_funding fu;
    uint32_t aaa;
    long n;
    int liqs = 0, k = -1, funding = 0;

    venue_start(&fv, false, args);
    ASSERT_EQ(dmn_config(&d,
                         LIN_HEAD "  symbols = [\"AAAUSDT\"]; kline = \"1m\"; ticker = true;\n"
                                  "  funding = true; liquidations = true; order_book = 50;\n"
                                  "  emit_partial_candles = false;\n"
                                  "  streams = ({ symbol = \"BBBUSDT\"; type = \"diff_depth\"; },\n"
                                  "    { symbol = \"BBBUSDT\"; type = \"trade\"; }); });\n",
                         fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(dmn_wait(&d, "orderbook.200.BBBUSDT book live", 10000, NULL, 0), 0);
    ASSERT_EQ(dmn_wait(&d, "orderbook.50.AAAUSDT book live", 10000, NULL, 0), 0);
    usleep(300000); /* every topic's first message in */
    obs_open(&o, fv.port, false);
    obs_sub(&o, topics);
    obs_until_quiet(&o, 40000);
    obs_pump(&o, 1500); /* the last candles and tickers */

    ASSERT_EQ(mdf_open(&inst, d.instance, 1000), 0);
    aaa = sym_of(inst, "bybit-linear", "AAAUSDT");
    /* Books: LIVE, generation 0, equal to the venue's at the same u. */
    ASSERT_EQ(check_book(inst, &o, "bybit-linear", "AAAUSDT", "orderbook.50.AAAUSDT"), 0);
    ASSERT_EQ(check_book(inst, &o, "bybit-linear", "BBBUSDT", "orderbook.200.BBBUSDT"), 0);
    ASSERT_GT(obs_topic(&o, "orderbook.50.AAAUSDT")->updates, 200);

    /* Trades (UUID ids) and liquidations, each once, in order. */
    n = e2e_drain(d.instance, MDF_RING_TICKS, &v);
    ASSERT_GT(n, 0);
    check_trades(inst, v, n, &o, "bybit-linear", "AAAUSDT", 0);
    check_trades(inst, v, n, &o, "bybit-linear", "BBBUSDT", 0);
    t = obs_topic(&o, "allLiquidation.AAAUSDT");
    ASSERT_GT(t->n_it, 0);
    for (long i = 0; i < n; i++) {
        const struct mdf_liquidation *l = &v[i].liquidation;

        if (v[i].h.type != MDF_REC_LIQUIDATION || v[i].h.symbol != aaa)
            continue;
        liqs++;
        if (k < 0) { /* the first the observer saw: same price, size and side */
            if (!e2e_dec_eq(l->price, t->it[0].px) || !e2e_dec_eq(l->qty, t->it[0].qty) ||
                l->side != t->it[0].side)
                continue;
            k = 0;
        }
        ASSERT(k < t->n_it);
        ASSERT_DEC_EQ(l->price, t->it[k].px, "liquidation price");
        ASSERT_DEC_EQ(l->qty, t->it[k].qty, "liquidation size");
        ASSERT_EQ(l->side, t->it[k].side);
        k++;
    }
    if (k != t->n_it)
        test_fail(__FILE__, __LINE__, "%d of the venue's %d liquidations published (%d in all)",
                  k < 0 ? 0 : k, t->n_it, liqs);
    free(v);

    /* Ticker and funding: the merged snapshot + deltas equal the venue's fields. */
    t = obs_topic(&o, "tickers.AAAUSDT");
    ASSERT_GT(t->updates, 5);
    ASSERT_EQ(mdf_latest_ticker(inst, aaa, &tk), 0);
    ASSERT_DEC_EQ(tk.last_px, jdec(t->tk, "lastPrice"), "ticker last");
    ASSERT_DEC_EQ(tk.bid_px, jdec(t->tk, "bid1Price"), "ticker bid");
    ASSERT_DEC_EQ(tk.ask_px, jdec(t->tk, "ask1Price"), "ticker ask");
    ASSERT_DEC_EQ(tk.high_px, jdec(t->tk, "highPrice24h"), "ticker high");
    ASSERT_DEC_EQ(tk.volume, jdec(t->tk, "volume24h"), "ticker volume");
    ASSERT_EQ(mdf_latest_funding(inst, aaa, &fu), 0);
    ASSERT_DEC_EQ(fu.mark_px, jdec(t->tk, "markPrice"), "mark price");
    ASSERT_DEC_EQ(fu.index_px, jdec(t->tk, "indexPrice"), "index price");
    ASSERT_DEC_EQ(fu.funding_rate, jdec(t->tk, "fundingRate"), "funding rate");
    ASSERT_EQ(fu.next_funding_time_ns, jint(t->tk, "nextFundingTime") * 1000000);
    n = e2e_drain(d.instance, MDF_RING_FUNDING, &v);
    for (long i = 0; i < n; i++)
        funding += v[i].h.type == MDF_REC_FUNDING && v[i].h.symbol == aaa;
    ASSERT_GT(funding, 5);
    free(v);

    /* Closed candles: once each, in order, the venue's values. */
    t = obs_topic(&o, "kline.1.AAAUSDT");
    ASSERT_GT(t->n_cdl, 3);
    n = e2e_drain(d.instance, MDF_RING_CANDLES, &v);
    check_candles(v, n, aaa, t);
    free(v);

    ASSERT_EQ(dmn_count(&d, "does not decode"), 0);
    ASSERT_EQ(dmn_count(&d, "BOOK_RESYNC"), 0);
    ASSERT_EQ(health_errors(&d, MDF_HERR_PARSE), 0);
    mdf_close(inst);
    obs_close(&o);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

TEST(e2e_bybit_spot_trades_books_candles_and_tickers_land_exactly)
{
    const char *args[] = {"--market-rate", "100", "--market-events", "1000", "--bybit-minute-ms",
                          "500",           NULL};
    const char *topics[] = {"orderbook.50.AAAUSDT", "publicTrade.AAAUSDT", "kline.1.AAAUSDT",
                            "tickers.AAAUSDT", NULL};
    struct fv_proc fv;
    struct dmn d;
    struct obs o;
    mdf_instance_t *inst;
    mdf_record_t *v = NULL;
    struct otopic *t;
    struct mdf_ticker tk;
    struct mdf_funding fu;
    uint32_t aaa;
    long n;

    venue_start(&fv, true, args);
    ASSERT_EQ(dmn_config(&d,
                         SPOT_HEAD "  symbols = [\"AAAUSDT\"]; kline = \"1m\"; ticker = true;\n"
                                   "  order_book = 50; emit_partial_candles = true; });\n",
                         fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(dmn_wait(&d, "orderbook.50.AAAUSDT book live", 10000, NULL, 0), 0);
    usleep(300000);
    obs_open(&o, fv.port, true);
    obs_sub(&o, topics);
    obs_until_quiet(&o, 40000);
    obs_pump(&o, 1500);

    ASSERT_EQ(mdf_open(&inst, d.instance, 1000), 0);
    aaa = sym_of(inst, "bybit-spot", "AAAUSDT");
    ASSERT_EQ(check_book(inst, &o, "bybit-spot", "AAAUSDT", "orderbook.50.AAAUSDT"), 0);
    n = e2e_drain(d.instance, MDF_RING_TICKS, &v);
    ASSERT_GT(n, 0);
    check_trades(inst, v, n, &o, "bybit-spot", "AAAUSDT", 0);
    /* Spot ids are the venue's decimal ids. */
    ASSERT(obs_topic(&o, "publicTrade.AAAUSDT")->it[0].id > 0);
    free(v);
    t = obs_topic(&o, "tickers.AAAUSDT");
    ASSERT_GT(t->updates, 3);
    ASSERT_EQ(mdf_latest_ticker(inst, aaa, &tk), 0);
    ASSERT_DEC_EQ(tk.last_px, jdec(t->tk, "lastPrice"), "ticker last");
    ASSERT_DEC_EQ(tk.high_px, jdec(t->tk, "highPrice24h"), "ticker high");
    ASSERT_DEC_EQ(tk.low_px, jdec(t->tk, "lowPrice24h"), "ticker low");
    ASSERT_DEC_EQ(tk.volume, jdec(t->tk, "volume24h"), "ticker volume");
    /* No funding on spot. */
    ASSERT(mdf_latest_funding(inst, aaa, &fu) < 0);
    n = e2e_drain(d.instance, MDF_RING_FUNDING, &v);
    for (long i = 0; i < n; i++)
        ASSERT(v[i].h.symbol != aaa);
    free(v);
    t = obs_topic(&o, "kline.1.AAAUSDT");
    ASSERT_GT(t->n_cdl, 3);
    n = e2e_drain(d.instance, MDF_RING_CANDLES, &v);
    check_candles(v, n, aaa, t);
    /* Open candles too, each the venue sent, the one sharing the close's push time included. */
    ASSERT_GT(check_open_candles(v, n, aaa, t), 2);
    free(v);
    ASSERT_EQ(dmn_count(&d, "does not decode"), 0);
    ASSERT_EQ(dmn_count(&d, "BOOK_RESYNC"), 0);
    mdf_close(inst);
    obs_close(&o);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

/* Two linear books and AAAUSDT's trades, with the venue started with args: waits for both
 * books LIVE, subscribes the observer, waits for the daemon's log line `event` (NULL: none),
 * then for the market to stop. Leaves everything running for the caller's checks. */
static void two_books(struct fv_proc *fv, struct dmn *d, struct obs *o, const char *const *args,
                      const char *extra, const char *event, char *line, size_t cap)
{
    const char *topics[] = {"orderbook.50.AAAUSDT", "orderbook.50.BBBUSDT", "publicTrade.AAAUSDT",
                            NULL};

    venue_start(fv, false, args);
    ASSERT_EQ(dmn_config(d,
                         LIN_HEAD "  symbols = [\"AAAUSDT\", \"BBBUSDT\"]; kline = \"\";\n"
                                  "  order_book = 50; liquidations = false;\n"
                                  "  %s });\n",
                         fv->port, extra ? extra : "ticker = false;"),
              0);
    ASSERT_EQ(dmn_start(d), 0);
    ASSERT_EQ(dmn_wait(d, "orderbook.50.AAAUSDT book live", 10000, NULL, 0), 0);
    ASSERT_EQ(dmn_wait(d, "orderbook.50.BBBUSDT book live", 10000, NULL, 0), 0);
    obs_open(o, fv->port, false);
    obs_sub(o, topics);
    if (event)
        ASSERT_EQ(dmn_wait(d, event, 20000, line, cap), 0);
    obs_until_quiet(o, 40000);
    obs_pump(o, 500);
}

TEST(e2e_bybit_book_gap_resyncs_that_book_only)
{
    const char *args[] = {"--market-rate", "100",         "--market-events",
                          "1200",          "--bybit-gap", "AAAUSDT/150",
                          "--fault-conns", "1",           NULL};
    struct fv_proc fv;
    struct dmn d;
    struct obs o;
    mdf_instance_t *inst;
    mdf_record_t *v = NULL;
    char line[512];
    long n;

    two_books(&fv, &d, &o, args, NULL, "BOOK_RESYNC", line, sizeof(line));
    ASSERT_CONTAINS(line, "orderbook.50.AAAUSDT");
    ASSERT_EQ(fv_wait_line(&fv, "fault gap orderbook.50.AAAUSDT", 1000, NULL, 0), 0);
    ASSERT_EQ(dmn_wait(&d, "orderbook.50.AAAUSDT book live", 1000, line, sizeof(line)), 0);
    ASSERT_CONTAINS(line, "generation 1");
    ASSERT_EQ(mdf_open(&inst, d.instance, 1000), 0);
    /* The gapped book rebuilt (a new generation) and equal; the other never touched. */
    ASSERT_EQ(check_book(inst, &o, "bybit-linear", "AAAUSDT", "orderbook.50.AAAUSDT"), 1);
    ASSERT_EQ(check_book(inst, &o, "bybit-linear", "BBBUSDT", "orderbook.50.BBBUSDT"), 0);
    n = e2e_drain(d.instance, MDF_RING_TICKS, &v);
    check_trades(inst, v, n, &o, "bybit-linear", "AAAUSDT", 0);
    free(v);
    mdf_close(inst);
    ASSERT_EQ(dmn_count(&d, "BOOK_RESYNC"), 0); /* one gap, one resync */
    ASSERT_EQ(dmn_count(&d, "BBBUSDT book live"), 0);
    ASSERT_EQ(health_errors(&d, MDF_HERR_BOOK_GAP), 1);
    ASSERT_EQ(venue_stat(fv.port, "faults"), 1);
    ASSERT_EQ(venue_stat(fv.port, "unsubscribed"), 1); /* the one topic resubscribed */
    obs_close(&o);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

TEST(e2e_bybit_restart_u1_overwrites_the_book_without_a_resync)
{
    const char *args[] = {"--market-rate", "100", "--market-events", "1000", "--bybit-restart",
                          "AAAUSDT/300",   NULL};
    struct fv_proc fv;
    struct dmn d;
    struct obs o;
    mdf_instance_t *inst;

    two_books(&fv, &d, &o, args, NULL, NULL, NULL, 0);
    ASSERT_EQ(fv_wait_line(&fv, "fault restart orderbook.50.AAAUSDT", 1000, NULL, 0), 0);
    ASSERT_EQ(obs_topic(&o, "orderbook.50.AAAUSDT")->snapshots, 2); /* the observer saw it */
    ASSERT_GT(obs_topic(&o, "orderbook.50.AAAUSDT")->updates, 100); /* and deltas after it */
    ASSERT_EQ(mdf_open(&inst, d.instance, 1000), 0);
    /* Overwritten: a book not continuous with the last, so a new generation, equal at the end;
     * nothing resubscribed. */
    ASSERT_EQ(check_book(inst, &o, "bybit-linear", "AAAUSDT", "orderbook.50.AAAUSDT"), 1);
    ASSERT_EQ(check_book(inst, &o, "bybit-linear", "BBBUSDT", "orderbook.50.BBBUSDT"), 0);
    mdf_close(inst);
    ASSERT_EQ(dmn_count(&d, "BOOK_RESYNC"), 0);
    ASSERT_EQ(health_errors(&d, MDF_HERR_BOOK_GAP), 0);
    ASSERT_EQ(venue_stat(fv.port, "unsubscribed"), 0);
    ASSERT_EQ(venue_stat(fv.port, "faults"), 1);
    obs_close(&o);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

/* The daemon's connection closed by the venue after 400 messages: it reconnects at once, both
 * books are rebuilt from the new snapshots, and no trade is published twice. Bybit replays no
 * trades, so those sent while no connection was open are gone (at most a short run; usually
 * none at these settings). */
TEST(e2e_bybit_connection_cut_publishes_no_trade_twice_and_books_end_equal)
{
    const char *args[] = {"--market-rate",
                          "100",
                          "--market-events",
                          "1500",
                          "--fault-close-after",
                          "400",
                          "--fault-conns",
                          "1",
                          NULL};
    struct fv_proc fv;
    struct dmn d;
    struct obs o;
    mdf_instance_t *inst;
    mdf_record_t *v = NULL;
    char line[512];
    long n;

    two_books(&fv, &d, &o, args,
              "ticker = false; connection = { reconnect_base_delay = 0.05;\n"
              "  reconnect_max_delay = 0.1; };",
              "CONNECTION_RECONNECTING", line, sizeof(line));
    ASSERT_CONTAINS(line, "conn 1");
    ASSERT_EQ(fv_wait_line(&fv, "fault-close", 1000, NULL, 0), 0);
    ASSERT_EQ(mdf_open(&inst, d.instance, 1000), 0);
    /* Both books rebuilt from the new connection's snapshots: LIVE, a new generation, equal. */
    ASSERT_EQ(check_book(inst, &o, "bybit-linear", "AAAUSDT", "orderbook.50.AAAUSDT"), 1);
    ASSERT_EQ(check_book(inst, &o, "bybit-linear", "BBBUSDT", "orderbook.50.BBBUSDT"), 1);
    /* Trades: none twice; the venue's, in order, but those sent while no connection was open
     * (Bybit has no trade replay), in one run. */
    n = e2e_drain(d.instance, MDF_RING_TICKS, &v);
    check_trades(inst, v, n, &o, "bybit-linear", "AAAUSDT", 60);
    free(v);
    mdf_close(inst);
    ASSERT_EQ(dmn_count(&d, "BOOK_RESYNC"), 0);
    ASSERT_EQ(venue_stat(fv.port, "upgrades"), 3); /* daemon, observer, daemon again */
    obs_close(&o);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

TEST(e2e_bybit_topics_spread_over_connections_of_streams_per_connection)
{
    const char *args[] = {"--market-rate", "20", NULL};
    struct fv_proc fv;
    struct dmn d;
    char line[512];

    venue_start(&fv, false, args);
    ASSERT_EQ(dmn_config(&d,
                         LIN_HEAD
                         "  symbols = [\"AAAUSDT\", \"BBBUSDT\", \"CCCUSDT\", \"DDDUSDT\"];\n"
                         "  kline = \"1m\"; ticker = true; liquidations = true;\n"
                         "  order_book = 50; streams_per_connection = 4; });\n",
                         fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(dmn_wait(&d, "FEED_STARTED", 10000, line, sizeof(line)), 0);
    ASSERT_CONTAINS(line, "20 streams on 5 connections");
    for (int i = 0; i < 4; i++)
        ASSERT_EQ(dmn_wait(&d, "BOOK_LIVE", 20000, NULL, 0), 0);
    ASSERT_EQ(venue_stat_wait(fv.port, "channels", 20, 20000), 20);
    ASSERT_EQ(venue_stat(fv.port, "subscribed"), 20);
    ASSERT_EQ(venue_stat(fv.port, "upgrades"), 5);
    ASSERT_EQ(venue_stat(fv.port, "errors"), 0);
    ASSERT_EQ(dmn_count(&d, "SUBSCRIPTION_FAILED"), 0);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

/* Spot takes at most 10 topics a subscribe request (the venue refuses more as a whole): 36
 * topics on one connection go in batches that fit, every one subscribed. */
TEST(e2e_bybit_spot_subscribes_at_most_10_topics_a_request)
{
    const char *args[] = {"--market-rate", "20", NULL};
    struct fv_proc fv;
    struct dmn d;
    char line[512];

    venue_start(&fv, true, args);
    ASSERT_EQ(dmn_config(&d,
                         SPOT_HEAD
                         "  symbols = [\"AAAUSDT\", \"BBBUSDT\", \"CCCUSDT\", \"DDDUSDT\",\n"
                         "    \"EEEUSDT\", \"FFFUSDT\", \"GGGUSDT\", \"HHHUSDT\",\n"
                         "    \"IIIUSDT\", \"JJJUSDT\", \"KKKUSDT\", \"LLLUSDT\"];\n"
                         "  kline = \"\"; ticker = true; order_book = 50; });\n",
                         fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(dmn_wait(&d, "FEED_STARTED", 10000, line, sizeof(line)), 0);
    ASSERT_CONTAINS(line, "36 streams on 1 connections");
    for (int i = 0; i < 12; i++)
        ASSERT_EQ(dmn_wait(&d, "BOOK_LIVE", 20000, NULL, 0), 0);
    ASSERT_EQ(venue_stat_wait(fv.port, "channels", 36, 20000), 36);
    ASSERT_EQ(venue_stat(fv.port, "errors"), 0);
    ASSERT_EQ(venue_stat(fv.port, "upgrades"), 1);
    ASSERT_EQ(fv_count_lines(&fv, "refused"), 0);
    ASSERT_EQ(dmn_count(&d, "SUBSCRIPTION_FAILED"), 0);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

/* Every connection (several: streams_per_connection) cut a moment after it opens, for 12 s: the
 * daemon reconnects as fast as its own connection limit lets it, 4 attempts in any 4 s here,
 * 80 % of the venue's 5 (the share it keeps of a profile's limit by default), so the venue never
 * refuses one; the storm did happen. */
TEST(e2e_bybit_reconnect_storm_keeps_to_the_connection_limit)
{
    const char *args[] = {
        "--market-rate", "50", "--conn-limit", "5/4", "--fault-close-after", "20", NULL};
    struct fv_proc fv;
    struct dmn d;
    int64_t up;

    venue_start(&fv, false, args);
    ASSERT_EQ(dmn_config(&d,
                         LIN_HEAD
                         "  symbols = [\"AAAUSDT\", \"BBBUSDT\"]; kline = \"\";\n"
                         "  order_book = 50; streams_per_connection = 4;\n"
                         "  connection = { max_conn_attempts = 4; conn_attempt_window = 4;\n"
                         "    reconnect_base_delay = 0.05; reconnect_max_delay = 0.1;\n"
                         "    reconnect_jitter = 0; }; });\n",
                         fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    for (int64_t end = test_now_ns() + 12000000000LL; test_now_ns() < end;) {
        dmn_count(&d, "\n"); /* keep both pipes drained */
        fv_count_lines(&fv, "\n");
        usleep(100000);
    }
    up = venue_stat(fv.port, "upgrades");
    printf("%" PRId64 " upgrades, %" PRId64 " refused\n", up, venue_stat(fv.port, "refused"));
    ASSERT_EQ(venue_stat(fv.port, "refused"), 0);
    ASSERT_GE(up, 8);     /* a storm: the limit was reached again and again */
    ASSERT_LE(up, 4 * 4); /* at most 4 in each 4 s, over 12 s and a little */
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

/* A connection that sends bytes no WebSocket parser accepts: a counted protocol error, the
 * connection replaced, every topic back and the books equal at the end; the daemon goes on. */
TEST(e2e_bybit_garbage_frames_are_counted_and_the_feed_recovers)
{
    const char *args[] = {"--market-rate",
                          "100",
                          "--market-events",
                          "1200",
                          "--fault-garbage-after",
                          "300",
                          "--fault-conns",
                          "1",
                          NULL};
    struct fv_proc fv;
    struct dmn d;
    struct obs o;
    mdf_instance_t *inst;

    two_books(&fv, &d, &o, args,
              "ticker = false; connection = { reconnect_base_delay = 0.05;\n"
              "  reconnect_max_delay = 0.1; };",
              "CONNECTION_RECONNECTING", NULL, 0);
    ASSERT_EQ(mdf_open(&inst, d.instance, 1000), 0);
    ASSERT_EQ(check_book(inst, &o, "bybit-linear", "AAAUSDT", "orderbook.50.AAAUSDT"), 1);
    ASSERT_EQ(check_book(inst, &o, "bybit-linear", "BBBUSDT", "orderbook.50.BBBUSDT"), 1);
    mdf_close(inst);
    ASSERT_GE(health_errors(&d, MDF_HERR_WS), 1);
    ASSERT_EQ(venue_stat(fv.port, "upgrades"), 3);
    obs_close(&o);
    ASSERT_EQ(dmn_stop(&d), 0); /* still running, stops cleanly */
    fv_stop(&fv);
    return 0;
}

/* One topic's messages mangled (every digit of its data an x: still named, never decodable):
 * counted as decode errors of that stream, DECODE_FAILING said once, the stream flagged; the
 * other topics of the same connection go on exactly. */
TEST(e2e_bybit_undecodable_topic_is_counted_and_the_others_go_on)
{
    const char *args[] = {"--market-rate",
                          "100",
                          "--market-events",
                          "1000",
                          "--fault-corrupt",
                          "tickers.AAAUSDT",
                          "--fault-conns",
                          "1",
                          NULL};
    struct fv_proc fv;
    struct dmn d;
    struct obs o;
    mdf_instance_t *inst;
    mdf_health_t *h;
    struct mdf_health_stream hs;
    struct mdf_ticker tk;
    int64_t st;
    char line[512];

    two_books(&fv, &d, &o, args, "ticker = true;", NULL, NULL, 0);
    ASSERT_GT(venue_stat(fv.port, "faults"), 0); /* the venue mangled the topic */
    ASSERT_EQ(dmn_wait(&d, "DECODE_FAILING", 1000, line, sizeof(line)), 0);
    ASSERT_CONTAINS(line, "tickers.AAAUSDT");
    ASSERT_EQ(dmn_count(&d, "DECODE_FAILING"), 0); /* said once */
    ASSERT_GT(health_errors(&d, MDF_HERR_PARSE), 10);
    ASSERT_EQ(mdf_open(&inst, d.instance, 1000), 0);
    /* The stream's own counter. */
    st = mdf_stream_find(inst, "bybit-linear:AAAUSDT", "tickers.AAAUSDT");
    ASSERT_GE(st, 0);
    ASSERT_EQ(mdf_health_open(&h, d.instance), 0);
    ASSERT_EQ(mdf_health_stream(h, (uint32_t)st, &hs), 0);
    ASSERT_GT(hs.decode_errors, 10);
    mdf_health_close(h);
    /* Nothing of it published; the other topics exact. */
    ASSERT(mdf_latest_ticker(inst, sym_of(inst, "bybit-linear", "AAAUSDT"), &tk) < 0);
    ASSERT_EQ(check_book(inst, &o, "bybit-linear", "AAAUSDT", "orderbook.50.AAAUSDT"), 0);
    ASSERT_EQ(check_book(inst, &o, "bybit-linear", "BBBUSDT", "orderbook.50.BBBUSDT"), 0);
    ASSERT_EQ(mdf_latest_ticker(inst, sym_of(inst, "bybit-linear", "BBBUSDT"), &tk), 0);
    mdf_close(inst);
    obs_close(&o);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

/* Connections replaced make-before-break every 2 s (max_connection_age): during each overlap
 * both connections deliver every topic; the daemon publishes each trade once (ids deduplicated),
 * hands each book over without a resync (generation 0 to the end, equal to the venue's), and the
 * merged ticker and funding end at the venue's values. */
TEST(e2e_bybit_rotation_by_age_hands_over_losing_and_doubling_nothing)
{
    const char *args[] = {"--market-rate", "100", "--market-events", "1200", NULL};
    const char *topics[] = {"orderbook.50.AAAUSDT", "orderbook.50.BBBUSDT", "publicTrade.AAAUSDT",
                            "publicTrade.BBBUSDT",  "tickers.AAAUSDT",      NULL};
    struct fv_proc fv;
    struct dmn d;
    struct obs o;
    mdf_instance_t *inst;
    mdf_record_t *v = NULL;
    struct otopic *t;
    struct mdf_ticker tk;
    struct mdf_funding fu;
    uint32_t aaa;
    long n;
    int replaced;

    venue_start(&fv, false, args);
    ASSERT_EQ(dmn_config(&d,
                         LIN_HEAD "  symbols = [\"AAAUSDT\", \"BBBUSDT\"]; kline = \"\";\n"
                                  "  ticker = true; funding = true; liquidations = false;\n"
                                  "  order_book = 50; connection = { max_connection_age = 2;\n"
                                  "    pong_timeout = 1; connect_timeout = 1; }; });\n",
                         fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(dmn_wait(&d, "orderbook.50.AAAUSDT book live", 10000, NULL, 0), 0);
    ASSERT_EQ(dmn_wait(&d, "orderbook.50.BBBUSDT book live", 10000, NULL, 0), 0);
    obs_open(&o, fv.port, false);
    obs_sub(&o, topics);
    obs_until_quiet(&o, 40000);
    obs_pump(&o, 1000);
    replaced = dmn_count(&d, "replaced conn");
    printf("%d replacements\n", replaced);
    ASSERT_GE(replaced, 3);
    ASSERT_EQ(mdf_open(&inst, d.instance, 1000), 0);
    aaa = sym_of(inst, "bybit-linear", "AAAUSDT");
    ASSERT_EQ(check_book(inst, &o, "bybit-linear", "AAAUSDT", "orderbook.50.AAAUSDT"), 0);
    ASSERT_EQ(check_book(inst, &o, "bybit-linear", "BBBUSDT", "orderbook.50.BBBUSDT"), 0);
    n = e2e_drain(d.instance, MDF_RING_TICKS, &v);
    check_trades(inst, v, n, &o, "bybit-linear", "AAAUSDT", 0);
    check_trades(inst, v, n, &o, "bybit-linear", "BBBUSDT", 0);
    free(v);
    t = obs_topic(&o, "tickers.AAAUSDT");
    ASSERT_EQ(mdf_latest_ticker(inst, aaa, &tk), 0);
    ASSERT_DEC_EQ(tk.last_px, jdec(t->tk, "lastPrice"), "ticker last");
    ASSERT_DEC_EQ(tk.bid_px, jdec(t->tk, "bid1Price"), "ticker bid");
    ASSERT_DEC_EQ(tk.ask_px, jdec(t->tk, "ask1Price"), "ticker ask");
    ASSERT_EQ(mdf_latest_funding(inst, aaa, &fu), 0);
    ASSERT_DEC_EQ(fu.mark_px, jdec(t->tk, "markPrice"), "mark price");
    ASSERT_DEC_EQ(fu.index_px, jdec(t->tk, "indexPrice"), "index price");
    ASSERT_DEC_EQ(fu.funding_rate, jdec(t->tk, "fundingRate"), "funding rate");
    mdf_close(inst);
    ASSERT_EQ(dmn_count(&d, "BOOK_RESYNC"), 0);
    ASSERT_EQ(dmn_count(&d, "does not decode"), 0);
    obs_close(&o);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}

/* The venue cuts a connection that sent no ping op for a while (10 min on Bybit; 22 s here):
 * the daemon's op ping every 20 s keeps even a connection with little data open for 45 s. */
TEST(e2e_bybit_ping_op_keeps_the_connection_from_the_idle_cut)
{
    const char *args[] = {"--market-rate", "2", "--bybit-idle-cut", "22", NULL};
    struct fv_proc fv;
    struct dmn d;
    int pings = 0;

    venue_start(&fv, false, args);
    ASSERT_EQ(dmn_config(&d,
                         LIN_HEAD "  symbols = [\"AAAUSDT\"]; kline = \"\"; ticker = false;\n"
                                  "  liquidations = false; order_book = 50; });\n",
                         fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(dmn_wait(&d, "BOOK_LIVE", 10000, NULL, 0), 0);
    for (int64_t end = test_now_ns() + 45000000000LL; test_now_ns() < end;) {
        dmn_count(&d, "\n");
        fv_count_lines(&fv, "\n");
        usleep(200000);
    }
    pings = fv_count_lines(&fv, "\"op\":\"ping\"");
    printf("%d ping ops\n", pings);
    ASSERT_EQ(fv_count_lines(&fv, "idle-cut"), 0);
    ASSERT_EQ(venue_stat(fv.port, "upgrades"), 1);
    ASSERT_GE(pings, 2);
    ASSERT_EQ(dmn_count(&d, "CONNECTION_RECONNECTING"), 0);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}
