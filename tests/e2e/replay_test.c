/*
 * Replays of each venue's recording through the daemon: the fake venue replays
 * tests/fixtures/<venue>/ws.rec (--venue X --replay, answering the daemon's subscriptions from
 * the recording: acks, chanIds), mdfeedd subscribes exactly the recording's streams, and the
 * test reads shared memory through the public reader API and checks it against the recording,
 * read here independently with jansson (not the daemon's decoders): every live trade once with
 * its id, price, size and side; the final book LIVE and equal to the snapshot plus the updates
 * applied by the rule below; candles and tickers as recorded; no resync, gap or refusal.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include <mdfeed/mdfeed.h>

#include "e2e/e2e.h"
#include "support/daemon.h"
#include "support/fakevenue.h"
#include "test.h"

#define MS 1000000LL
#define REC_MAX 256 /* venue messages of a fixture */

/* What the venue said in a recording (lines "TS: JSON"; the URL lines and what the client said,
 * "URL <- TS: JSON", are left out), in order. */
struct vrec {
    json_t *msg[REC_MAX]; /* new references */
    int n;
};

static void vrec_load(struct vrec *r, const char *path)
{
    FILE *f = fopen(path, "r");
    char *line = NULL, *colon;
    size_t cap = 0;

    memset(r, 0, sizeof(*r));
    if (!f)
        test_fail(__FILE__, __LINE__, "cannot open %s", path);
    while (getline(&line, &cap, f) > 0) {
        if (line[0] < '0' || line[0] > '9' || !(colon = strstr(line, ": ")))
            continue;
        ASSERT(r->n < REC_MAX);
        r->msg[r->n] = json_loads(colon + 2, 0, NULL);
        if (!r->msg[r->n])
            test_fail(__FILE__, __LINE__, "%s: a venue line is not JSON: %s", path, line);
        r->n++;
    }
    free(line);
    fclose(f);
    ASSERT_GT(r->n, 5);
}

static void vrec_free(struct vrec *r)
{
    for (int i = 0; i < r->n; i++)
        json_decref(r->msg[i]);
}

/* A string member's decimal. */
static mdf_dec_t sdec(json_t *v)
{
    if (!json_is_string(v))
        test_fail(__FILE__, __LINE__, "recording: not a decimal string");
    return e2e_dec(json_string_value(v));
}

#define ASSERT_DEC_EQ(got, want)                                                                   \
    do {                                                                                           \
        mdf_dec_t g__ = (got), w__ = (want);                                                       \
        char gs__[64], ws__[64];                                                                   \
        if (g__.m != w__.m || g__.e != w__.e) {                                                    \
            mdf_dec_format(g__, gs__, sizeof(gs__));                                               \
            mdf_dec_format(w__, ws__, sizeof(ws__));                                               \
            test_fail(__FILE__, __LINE__, "%s: daemon %s, recording %s", #got, gs__, ws__);        \
        }                                                                                          \
    } while (0)

/* A trade as the recording has it. */
struct rtrade {
    int64_t id, ms;
    mdf_dec_t px, qty;
    uint8_t side;
};

static uint32_t sym_of(mdf_instance_t *inst, const char *key)
{
    int64_t s = mdf_symbol_lookup(inst, key);

    if (s < 0)
        test_fail(__FILE__, __LINE__, "no symbol %s", key);
    return (uint32_t)s;
}

/* Starts the fake venue replaying path as venue. */
static void replay_start(struct fv_proc *fv, const char *venue, const char *path)
{
    const char *args[] = {"--venue", venue, "--replay", path, NULL};

    ASSERT_EQ(fv_start(fv, args), 0);
}

/* The daemon's trades of sym in ticks v[0..n) are exactly want[0..nw), in order. */
static void check_trades(const mdf_record_t *v, long n, uint32_t sym, const struct rtrade *want,
                         int nw)
{
    int k = 0;

    for (long i = 0; i < n; i++) {
        const struct mdf_trade *t = &v[i].trade;

        if (v[i].h.type != MDF_REC_TRADE || v[i].h.symbol != sym)
            continue;
        if (k >= nw)
            test_fail(__FILE__, __LINE__, "daemon trade %" PRId64 " beyond the recording's %d",
                      t->trade_id, nw);
        if (t->trade_id != want[k].id)
            test_fail(__FILE__, __LINE__, "daemon trade %d has id %" PRId64 ", recording %" PRId64,
                      k, t->trade_id, want[k].id);
        ASSERT_DEC_EQ(t->price, want[k].px);
        ASSERT_DEC_EQ(t->qty, want[k].qty);
        ASSERT_EQ(t->side, want[k].side);
        ASSERT_EQ(v[i].h.exch_time_ns, want[k].ms * MS);
        k++;
    }
    if (k != nw)
        test_fail(__FILE__, __LINE__, "the daemon published %d of the recording's %d trades", k,
                  nw);
}

/* Counts sym's records of type in v[0..n). */
static int count_type(const mdf_record_t *v, long n, uint32_t sym, int type)
{
    int c = 0;

    for (long i = 0; i < n; i++)
        c += v[i].h.type == type && v[i].h.symbol == sym;
    return c;
}

/* Waits up to 10 s for sym's latest book to be LIVE at the reference ref, then checks it. */
static void check_final_book(mdf_instance_t *inst, uint32_t sym, const struct e2e_book *ref,
                             const char *what)
{
    size_t len = MDF_BOOK_SIZE(MDF_BOOK_DEPTH_MAX);
    struct mdf_book *b = malloc(len);
    char why[256] = "no book";
    bool ok = false;

    ASSERT(b != NULL);
    for (int k = 0; k < 100 && !ok; k++) {
        if (mdf_latest_book(inst, sym, b, len) < 0)
            snprintf(why, sizeof(why), "no book");
        else if (b->state != MDF_BOOK_LIVE)
            snprintf(why, sizeof(why), "state %d, not LIVE", (int)b->state);
        else
            ok = e2e_book_equal(ref, b, why, sizeof(why));
        if (!ok)
            usleep(100000);
    }
    if (!ok)
        test_fail(__FILE__, __LINE__, "%s final book: %s", what, why);
    ASSERT_EQ(b->kind, MDF_BOOK_KIND_FULL);
    ASSERT(!(b->h.flags & MDF_BOOK_F_PARTIAL));
    ASSERT_EQ(b->generation, 0u); /* built once, never resynced */
    free(b);
}

/* The events ring holds no resync, sequence gap, refused subscription or failing decode, and a
 * BOOK_LIVE for each of n_books books. */
static void check_events(const char *instance, int n_books)
{
    mdf_record_t *v = NULL;
    long n = e2e_drain(instance, MDF_RING_EVENTS, &v);
    int live = 0;

    ASSERT_GT(n, 0);
    for (long i = 0; i < n; i++) {
        const struct mdf_event *e = &v[i].event;

        if (e->code == MDF_EV_BOOK_RESYNC || e->code == MDF_EV_SEQUENCE_GAP ||
            e->code == MDF_EV_SUBSCRIPTION_FAILED || e->code == MDF_EV_DECODE_FAILING ||
            e->code == MDF_EV_CONNECTION_ERROR)
            test_fail(__FILE__, __LINE__, "daemon event %u: %s", e->code, e->text);
        live += e->code == MDF_EV_BOOK_LIVE;
    }
    ASSERT_EQ(live, n_books);
    free(v);
}

/* ---- Bitfinex ---------------------------------------------------------------------------- */

#define BFX_REC "tests/fixtures/bitfinex/ws.rec"

/* The recording's chanId of channel ("book", "trades", "candles"), from its subscribed event. */
static int64_t bfx_chan(const struct vrec *r, const char *channel)
{
    for (int i = 0; i < r->n; i++) {
        json_t *m = r->msg[i];
        const char *ev = json_string_value(json_object_get(m, "event"));

        if (ev && strcmp(ev, "subscribed") == 0 && strcmp(e2e_str(m, "channel"), channel) == 0)
            return e2e_num(m, "chanId");
    }
    test_fail(__FILE__, __LINE__, "recording: no %s channel", channel);
    return -1;
}

/* The payload of a channel message [CHAN, PAYLOAD, ...] or [CHAN, "te"|"tu", TRADE, ...]; NULL
 * for events, heartbeats ("hb") and checksums ("cs"). */
static json_t *bfx_payload(json_t *m)
{
    json_t *p = json_array_get(m, 1);
    const char *tag = json_string_value(p);

    if (!json_is_array(m))
        return NULL;
    if (!tag)
        return p;
    return strcmp(tag, "te") == 0 || strcmp(tag, "tu") == 0 ? json_array_get(m, 2) : NULL;
}

/* Applies one Bitfinex P0 book level [PRICE, COUNT, AMOUNT]: amount > 0 is a bid, < 0 an ask;
 * count 0 deletes the level (amount 1 or -1 then names the side). */
static void bfx_level(struct e2e_book *b, json_t *l)
{
    const char *px = json_string_value(json_array_get(l, 0));
    const char *amount = json_string_value(json_array_get(l, 2));
    int64_t count = json_integer_value(json_array_get(l, 1));
    bool ask = amount[0] == '-';
    json_t *lv = json_pack("[[ss]]", px, count == 0 ? "0" : amount + ask);
    json_t *none = json_array();

    ASSERT(lv && none);
    e2e_book_apply(b, ask ? none : lv, ask ? lv : none);
    json_decref(lv);
    json_decref(none);
}

/* A Bitfinex trade [ID, MTS, AMOUNT, PRICE]. */
static struct rtrade bfx_trade(json_t *t)
{
    const char *amount = json_string_value(json_array_get(t, 2));
    struct rtrade x = {.id = json_integer_value(json_array_get(t, 0)),
                       .ms = json_integer_value(json_array_get(t, 1)),
                       .px = sdec(json_array_get(t, 3))};

    ASSERT(amount != NULL);
    x.side = amount[0] == '-' ? MDF_SIDE_SELL : MDF_SIDE_BUY;
    x.qty = e2e_dec(amount + (amount[0] == '-'));
    return x;
}

/* A Bitfinex candle [MTS, OPEN, CLOSE, HIGH, LOW, VOLUME] equals record c. */
static void bfx_check_candle(const struct mdf_candle *c, json_t *k)
{
    ASSERT_EQ(c->open_time_ns, json_integer_value(json_array_get(k, 0)) * MS);
    ASSERT_DEC_EQ(c->open, sdec(json_array_get(k, 1)));
    ASSERT_DEC_EQ(c->close, sdec(json_array_get(k, 2)));
    ASSERT_DEC_EQ(c->high, sdec(json_array_get(k, 3)));
    ASSERT_DEC_EQ(c->low, sdec(json_array_get(k, 4)));
    ASSERT_DEC_EQ(c->volume, sdec(json_array_get(k, 5)));
}

/* The book (tBTCUSD P0 F0 25), the trades (tETHUSD) and the 1m candles (tBTCUSD) of the
 * Bitfinex recording land exactly: the subscriptions are answered by the recording's subscribed
 * events (their chanIds route the data), the book is its snapshot plus updates with every
 * checksum holding, the trades snapshot only seeds the stream and each live trade (te, then its
 * tu) is published once, the candles snapshot's closed candle is backfilled and the open one
 * follows its updates. */
TEST(e2e_replay_bitfinex_recording_lands_exactly)
{
    struct fv_proc fv;
    struct dmn d;
    struct vrec r;
    struct e2e_book *ref = calloc(1, sizeof(*ref));
    struct rtrade want[REC_MAX], t;
    json_t *closed = NULL, *open = NULL;
    mdf_instance_t *inst;
    mdf_record_t *v = NULL;
    int nw = 0, partial = 0, nclosed = 0;
    int64_t book_ch, trades_ch, candles_ch, seeded = 0;
    uint32_t btc, eth;
    long n;

    ASSERT(ref != NULL);
    vrec_load(&r, BFX_REC);
    book_ch = bfx_chan(&r, "book");
    trades_ch = bfx_chan(&r, "trades");
    candles_ch = bfx_chan(&r, "candles");
    for (int i = 0; i < r.n; i++) {
        json_t *m = r.msg[i], *p = bfx_payload(m);
        int64_t ch = json_integer_value(json_array_get(m, 0));

        if (!p)
            continue;
        if (ch == book_ch) {
            if (json_is_array(json_array_get(p, 0))) /* the snapshot */
                for (size_t k = 0; k < json_array_size(p); k++)
                    bfx_level(ref, json_array_get(p, k));
            else
                bfx_level(ref, p);
        } else if (ch == trades_ch) {
            if (json_is_array(json_array_get(p, 0))) { /* the snapshot: history, not published */
                for (size_t k = 0; k < json_array_size(p); k++)
                    if (bfx_trade(json_array_get(p, k)).id > seeded)
                        seeded = bfx_trade(json_array_get(p, k)).id;
                continue;
            }
            t = bfx_trade(p); /* te, or its tu: once */
            if (t.id > seeded && (nw == 0 || t.id > want[nw - 1].id))
                want[nw++] = t;
        } else if (ch == candles_ch) {
            if (json_is_array(json_array_get(p, 0))) { /* the snapshot, newest first */
                closed = json_array_get(p, 1);
                open = json_array_get(p, 0);
            } else {
                open = p;
            }
        }
    }
    ASSERT_GT(nw, 0);
    ASSERT(closed && open);

    replay_start(&fv, "bitfinex", BFX_REC);
    ASSERT_EQ(dmn_config(&d,
                         "venues = ({ venue = \"bitfinex\"; url = \"ws://127.0.0.1:%d\";\n"
                         "  emit_partial_candles = true;\n"
                         "  streams = ({ symbol = \"tBTCUSD\"; type = \"diff_depth\";\n"
                         "      prec = \"P0\"; freq = \"F0\"; len = 25; },\n"
                         "    { symbol = \"tETHUSD\"; type = \"trade\"; },\n"
                         "    { symbol = \"tBTCUSD\"; type = \"kline\"; interval = \"1m\"; });\n"
                         "});\n",
                         fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(fv_wait_line(&fv, "replay done", 20000, NULL, 0), 0);
    ASSERT_EQ(fv_count_lines(&fv, "refused"), 0);
    ASSERT_EQ(mdf_open(&inst, d.instance, 1000), 0);
    btc = sym_of(inst, "bitfinex:tBTCUSD");
    eth = sym_of(inst, "bitfinex:tETHUSD");
    check_final_book(inst, btc, ref, "tBTCUSD");

    n = e2e_drain(d.instance, MDF_RING_TICKS, &v);
    ASSERT_GE(n, 0);
    check_trades(v, n, eth, want, nw);
    free(v);

    /* Candles: the snapshot's closed candle once, backfilled; the open one as partial
     * candles, the last with the last update's values; nothing else. */
    n = e2e_drain(d.instance, MDF_RING_CANDLES, &v);
    ASSERT_GT(n, 0);
    for (long i = 0; i < n; i++) {
        ASSERT_EQ(v[i].h.symbol, btc);
        ASSERT_EQ(v[i].candle.interval, (uint32_t)MDF_IV_1M);
        if (v[i].h.flags & MDF_CANDLE_F_CLOSED) {
            ASSERT(v[i].h.flags & MDF_CANDLE_F_BACKFILLED);
            bfx_check_candle(&v[i].candle, closed);
            nclosed++;
        } else {
            partial++;
        }
    }
    ASSERT_EQ(nclosed, 1);
    ASSERT_GT(partial, 0);
    ASSERT(!(v[n - 1].h.flags & MDF_CANDLE_F_CLOSED));
    bfx_check_candle(&v[n - 1].candle, open);
    free(v);

    check_events(d.instance, 1);
    mdf_close(inst);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    vrec_free(&r);
    free(ref);
    return 0;
}

/* ---- OKX --------------------------------------------------------------------------------- */

#define OKX_REC "tests/fixtures/okx/ws.rec"

/* The books of BTC-USDT, the trades of BTC-USDT and the tickers of ETH-USDT of the OKX
 * recording land exactly: each arg is answered by its recorded ack, the book is the snapshot
 * plus the seqId-chained updates (the keepalive included) with every checksum holding, each
 * trade is published once, each ticker in order. */
TEST(e2e_replay_okx_recording_lands_exactly)
{
    struct fv_proc fv;
    struct dmn d;
    struct vrec r;
    struct e2e_book *ref = calloc(1, sizeof(*ref));
    struct rtrade want[REC_MAX];
    json_t *tick[REC_MAX];
    mdf_instance_t *inst;
    mdf_record_t *v = NULL;
    int nw = 0, nt = 0, k = 0;
    int64_t last_seq = 0;
    uint32_t btc, eth;
    long n;

    ASSERT(ref != NULL);
    vrec_load(&r, OKX_REC);
    for (int i = 0; i < r.n; i++) {
        json_t *m = r.msg[i], *arg = json_object_get(m, "arg"), *data = json_object_get(m, "data");
        const char *ch = json_string_value(json_object_get(arg, "channel"));

        if (json_object_get(m, "event") || !ch)
            continue;
        if (strcmp(ch, "books") == 0) {
            json_t *x = json_array_get(data, 0);

            if (strcmp(e2e_str(m, "action"), "snapshot") == 0)
                memset(ref, 0, sizeof(*ref));
            e2e_book_apply(ref, json_object_get(x, "bids"), json_object_get(x, "asks"));
            last_seq = e2e_num(x, "seqId");
        } else if (strcmp(ch, "trades") == 0) {
            for (size_t j = 0; j < json_array_size(data); j++) {
                json_t *t = json_array_get(data, j);

                want[nw++] = (struct rtrade){
                    .id = e2e_jint(json_object_get(t, "tradeId")),
                    .ms = e2e_jint(json_object_get(t, "ts")),
                    .px = sdec(json_object_get(t, "px")),
                    .qty = sdec(json_object_get(t, "sz")),
                    .side = strcmp(e2e_str(t, "side"), "buy") == 0 ? MDF_SIDE_BUY : MDF_SIDE_SELL};
            }
        } else if (strcmp(ch, "tickers") == 0) {
            tick[nt++] = json_array_get(data, 0);
        }
    }
    ASSERT_GT(nw, 0);
    ASSERT_GT(nt, 0);
    ASSERT_GT(last_seq, 0);

    replay_start(&fv, "okx", OKX_REC);
    ASSERT_EQ(dmn_config(&d,
                         "venues = ({ venue = \"okx\"; url = \"ws://127.0.0.1:%d\";\n"
                         "  streams = ({ symbol = \"BTC-USDT\"; type = \"diff_depth\"; },\n"
                         "    { symbol = \"BTC-USDT\"; type = \"trade\"; },\n"
                         "    { symbol = \"ETH-USDT\"; type = \"ticker\"; });\n"
                         "});\n",
                         fv.port),
              0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(fv_wait_line(&fv, "replay done", 20000, NULL, 0), 0);
    ASSERT_EQ(fv_count_lines(&fv, "refused"), 0);
    ASSERT_EQ(mdf_open(&inst, d.instance, 1000), 0);
    btc = sym_of(inst, "okx:BTC-USDT");
    eth = sym_of(inst, "okx:ETH-USDT");
    check_final_book(inst, btc, ref, "BTC-USDT");
    {
        struct mdf_book *b = malloc(MDF_BOOK_SIZE(MDF_BOOK_DEPTH_MAX));

        ASSERT(b != NULL);
        ASSERT_EQ(mdf_latest_book(inst, btc, b, MDF_BOOK_SIZE(MDF_BOOK_DEPTH_MAX)), 0);
        ASSERT_EQ(b->last_update_id, last_seq);
        free(b);
    }

    n = e2e_drain(d.instance, MDF_RING_TICKS, &v);
    ASSERT_GE(n, 0);
    check_trades(v, n, btc, want, nw);
    /* Tickers: each one once, in order. */
    ASSERT_EQ(count_type(v, n, eth, MDF_REC_TICKER), nt);
    for (long i = 0; i < n; i++) {
        const struct mdf_ticker *t = &v[i].ticker;
        json_t *x;

        if (v[i].h.type != MDF_REC_TICKER || v[i].h.symbol != eth)
            continue;
        x = tick[k++];
        ASSERT_EQ(v[i].h.exch_time_ns, e2e_jint(json_object_get(x, "ts")) * MS);
        ASSERT_DEC_EQ(t->last_px, sdec(json_object_get(x, "last")));
        ASSERT_DEC_EQ(t->last_qty, sdec(json_object_get(x, "lastSz")));
        ASSERT_DEC_EQ(t->bid_px, sdec(json_object_get(x, "bidPx")));
        ASSERT_DEC_EQ(t->bid_qty, sdec(json_object_get(x, "bidSz")));
        ASSERT_DEC_EQ(t->ask_px, sdec(json_object_get(x, "askPx")));
        ASSERT_DEC_EQ(t->ask_qty, sdec(json_object_get(x, "askSz")));
        ASSERT_DEC_EQ(t->open_px, sdec(json_object_get(x, "open24h")));
        ASSERT_DEC_EQ(t->high_px, sdec(json_object_get(x, "high24h")));
        ASSERT_DEC_EQ(t->low_px, sdec(json_object_get(x, "low24h")));
        ASSERT_DEC_EQ(t->volume, sdec(json_object_get(x, "vol24h")));
    }
    free(v);

    check_events(d.instance, 1);
    mdf_close(inst);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    vrec_free(&r);
    free(ref);
    return 0;
}

/* ---- Bybit ------------------------------------------------------------------------------- */

#define BYBIT_REC "tests/fixtures/bybit/ws.rec"

/* A Bybit linear trade id: the UUID folded into a positive 63-bit FNV-1a hash, as
 * src/venue/README.md §4 documents. */
static int64_t bybit_id(const char *uuid)
{
    uint64_t h = 0xcbf29ce484222325u;

    for (const char *p = uuid; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3u;
    return (int64_t)(h >> 1);
}

/* The daemon's trades of sym in ticks v[0..n) are want[0..nw), in order, each once (Bybit's
 * hashed ids are not ordered, so each is compared, not ranked). */
static void bybit_check_trades(const mdf_record_t *v, long n, uint32_t sym,
                               const struct rtrade *want, int nw, const char *what)
{
    int k = 0;

    for (long i = 0; i < n; i++) {
        const struct mdf_trade *t = &v[i].trade;

        if (v[i].h.type != MDF_REC_TRADE || v[i].h.symbol != sym)
            continue;
        if (k >= nw)
            test_fail(__FILE__, __LINE__, "%s: daemon trade %d beyond the recording's %d", what,
                      k + 1, nw);
        if (t->trade_id != want[k].id)
            test_fail(__FILE__, __LINE__,
                      "%s: daemon trade %d has id %" PRId64 ", recording %" PRId64, what, k,
                      t->trade_id, want[k].id);
        ASSERT_DEC_EQ(t->price, want[k].px);
        ASSERT_DEC_EQ(t->qty, want[k].qty);
        ASSERT_EQ(t->side, want[k].side);
        ASSERT_EQ(v[i].h.exch_time_ns, want[k].ms * MS);
        k++;
    }
    if (k != nw)
        test_fail(__FILE__, __LINE__, "%s: the daemon published %d of the recording's %d trades",
                  what, k, nw);
}

/* The orderbook.50 (BTCUSDT), publicTrade (BTCUSDT, ETHUSDT), kline.1 (BTCUSDT) and tickers
 * (BTCUSDT) topics of the Bybit linear recording land exactly: the subscribe is answered by the
 * recorded reply, the book is its snapshot plus the u-chained deltas, each trade is published
 * once, the candle in progress has the last kline's values, and the ticker and funding records
 * hold the snapshot merged with every delta, field by field. */
TEST(e2e_replay_bybit_recording_lands_exactly)
{
    struct fv_proc fv;
    struct dmn d;
    struct vrec r;
    struct e2e_book *ref = calloc(1, sizeof(*ref));
    struct rtrade want[2][REC_MAX]; /* [0] BTCUSDT, [1] ETHUSDT */
    int nw[2] = {0, 0};
    json_t *tick = json_object(), *kline = NULL;
    mdf_instance_t *inst;
    mdf_record_t *v = NULL;
    int64_t last_u = 0;
    uint32_t btc, eth;
    long n;

    ASSERT(ref && tick);
    vrec_load(&r, BYBIT_REC);
    for (int i = 0; i < r.n; i++) {
        json_t *m = r.msg[i], *data = json_object_get(m, "data");
        const char *topic = json_string_value(json_object_get(m, "topic"));

        if (!topic)
            continue; /* the subscribe replies */
        if (strcmp(topic, "orderbook.50.BTCUSDT") == 0) {
            if (strcmp(e2e_str(m, "type"), "snapshot") == 0)
                memset(ref, 0, sizeof(*ref));
            e2e_book_apply(ref, json_object_get(data, "b"), json_object_get(data, "a"));
            last_u = e2e_num(data, "u");
        } else if (strncmp(topic, "publicTrade.", 12) == 0) {
            int s = strcmp(topic + 12, "ETHUSDT") == 0;

            for (size_t j = 0; j < json_array_size(data); j++) {
                json_t *t = json_array_get(data, j);

                want[s][nw[s]++] = (struct rtrade){
                    .id = bybit_id(e2e_str(t, "i")),
                    .ms = e2e_num(t, "T"),
                    .px = sdec(json_object_get(t, "p")),
                    .qty = sdec(json_object_get(t, "v")),
                    .side = strcmp(e2e_str(t, "S"), "Buy") == 0 ? MDF_SIDE_BUY : MDF_SIDE_SELL};
            }
        } else if (strcmp(topic, "kline.1.BTCUSDT") == 0) {
            kline = json_array_get(data, json_array_size(data) - 1);
        } else if (strcmp(topic, "tickers.BTCUSDT") == 0) {
            if (strcmp(e2e_str(m, "type"), "snapshot") == 0)
                json_object_clear(tick);
            json_object_update(tick, data); /* a delta holds the fields that changed */
        }
    }
    ASSERT_GT(nw[0], 0);
    ASSERT_GT(nw[1], 0);
    ASSERT(kline != NULL);
    ASSERT_GT(last_u, 0);

    replay_start(&fv, "bybit-linear", BYBIT_REC);
    ASSERT_EQ(
        dmn_config(&d,
                   "venues = ({ venue = \"bybit-linear\"; url = \"ws://127.0.0.1:%d\";\n"
                   "  emit_partial_candles = true;\n"
                   "  streams = ({ symbol = \"BTCUSDT\"; type = \"diff_depth\"; len = 50; },\n"
                   "    { symbol = \"BTCUSDT\"; type = \"trade\"; },\n"
                   "    { symbol = \"BTCUSDT\"; type = \"kline\"; interval = \"1m\"; },\n"
                   "    { symbol = \"BTCUSDT\"; type = \"ticker\"; },\n"
                   "    { symbol = \"ETHUSDT\"; type = \"trade\"; });\n"
                   "});\n",
                   fv.port),
        0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(fv_wait_line(&fv, "replay done", 20000, NULL, 0), 0);
    ASSERT_EQ(fv_count_lines(&fv, "refused"), 0);
    ASSERT_EQ(mdf_open(&inst, d.instance, 1000), 0);
    btc = sym_of(inst, "bybit-linear:BTCUSDT");
    eth = sym_of(inst, "bybit-linear:ETHUSDT");
    check_final_book(inst, btc, ref, "BTCUSDT");
    {
        struct mdf_book *b = malloc(MDF_BOOK_SIZE(MDF_BOOK_DEPTH_MAX));

        ASSERT(b != NULL);
        ASSERT_EQ(mdf_latest_book(inst, btc, b, MDF_BOOK_SIZE(MDF_BOOK_DEPTH_MAX)), 0);
        ASSERT_EQ(b->last_update_id, last_u);
        free(b);
    }

    n = e2e_drain(d.instance, MDF_RING_TICKS, &v);
    ASSERT_GE(n, 0);
    bybit_check_trades(v, n, btc, want[0], nw[0], "BTCUSDT");
    bybit_check_trades(v, n, eth, want[1], nw[1], "ETHUSDT");
    free(v);

    /* The candle in progress: partial candles only, the last with the last kline's values. */
    n = e2e_drain(d.instance, MDF_RING_CANDLES, &v);
    ASSERT_GT(n, 0);
    for (long i = 0; i < n; i++) {
        ASSERT_EQ(v[i].h.symbol, btc);
        ASSERT(!(v[i].h.flags & MDF_CANDLE_F_CLOSED));
    }
    ASSERT_EQ(v[n - 1].candle.interval, (uint32_t)MDF_IV_1M);
    ASSERT_EQ(v[n - 1].candle.open_time_ns, e2e_num(kline, "start") * MS);
    ASSERT_DEC_EQ(v[n - 1].candle.open, sdec(json_object_get(kline, "open")));
    ASSERT_DEC_EQ(v[n - 1].candle.high, sdec(json_object_get(kline, "high")));
    ASSERT_DEC_EQ(v[n - 1].candle.low, sdec(json_object_get(kline, "low")));
    ASSERT_DEC_EQ(v[n - 1].candle.close, sdec(json_object_get(kline, "close")));
    ASSERT_DEC_EQ(v[n - 1].candle.volume, sdec(json_object_get(kline, "volume")));
    ASSERT_DEC_EQ(v[n - 1].candle.quote_volume, sdec(json_object_get(kline, "turnover")));
    free(v);

    /* The ticker and funding records: the merged ticker's fields. */
    {
        struct mdf_ticker t;
        struct mdf_funding f;

        ASSERT_EQ(mdf_latest_ticker(inst, btc, &t), 0);
        ASSERT_DEC_EQ(t.last_px, sdec(json_object_get(tick, "lastPrice")));
        ASSERT_DEC_EQ(t.open_px, sdec(json_object_get(tick, "prevPrice24h")));
        ASSERT_DEC_EQ(t.high_px, sdec(json_object_get(tick, "highPrice24h")));
        ASSERT_DEC_EQ(t.low_px, sdec(json_object_get(tick, "lowPrice24h")));
        ASSERT_DEC_EQ(t.volume, sdec(json_object_get(tick, "volume24h")));
        ASSERT_DEC_EQ(t.quote_volume, sdec(json_object_get(tick, "turnover24h")));
        ASSERT_DEC_EQ(t.bid_px, sdec(json_object_get(tick, "bid1Price")));
        ASSERT_DEC_EQ(t.bid_qty, sdec(json_object_get(tick, "bid1Size")));
        ASSERT_DEC_EQ(t.ask_px, sdec(json_object_get(tick, "ask1Price")));
        ASSERT_DEC_EQ(t.ask_qty, sdec(json_object_get(tick, "ask1Size")));
        ASSERT_EQ(mdf_latest_funding(inst, btc, &f), 0);
        ASSERT_DEC_EQ(f.mark_px, sdec(json_object_get(tick, "markPrice")));
        ASSERT_DEC_EQ(f.index_px, sdec(json_object_get(tick, "indexPrice")));
        ASSERT_DEC_EQ(f.funding_rate, sdec(json_object_get(tick, "fundingRate")));
        ASSERT_EQ(f.next_funding_time_ns, e2e_jint(json_object_get(tick, "nextFundingTime")) * MS);
    }

    check_events(d.instance, 1);
    mdf_close(inst);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    json_decref(tick);
    vrec_free(&r);
    free(ref);
    return 0;
}
