/*
 * Tests of the Bybit side of tools/mdfeed-fakevenue (--venue bybit-spot, bybit-linear), driven
 * as a client would: start the binary (fakevenue.h), talk to it over WebSocket (wsclient.h), and
 * read every message with the daemon's own Bybit decoder (src/venue/bybit.c), ticker merge
 * (bybit_ticker.c) and book rule (src/book/bybit_book.c). So what the fake venue sends is held to
 * what the daemon accepts: every message decodes, every book topic stays in sequence, and the
 * faults meant to break a book are the ones the book rule catches.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "book/bybit_book.h"
#include "core/err.h"
#include "support/fakevenue.h"
#include "support/wsclient.h"
#include "venue/bybit.h"

#include "test.h"

#define T_MS 5000          /* generous wait for anything that should happen */
#define MAX_ITEMS 2000     /* levels, trades, candles a message may hold */
#define MAX_MSG (4u << 20) /* largest message */
#define MAX_BOOKS 8        /* book topics a session follows */
#define MAX_TICKERS 4      /* ticker topics a session follows */

/* One connection read through the daemon's decoder. */
struct sess {
    struct wsc c;                       /* the connection */
    enum bybit_category cat;            /* its category */
    struct bybit_decoder *d;            /* the daemon's decoder */
    struct bybit_msg m;                 /* the last message decoded */
    const char *raw;                    /* its text (borrowed until the next receive) */
    struct bybit_book books[MAX_BOOKS]; /* one per book topic, by (symbol, depth) */
    char book_sym[MAX_BOOKS][MDF_SYMBOL_MAX];
    int book_depth[MAX_BOOKS];
    int nbooks;
    struct bybit_ticker_state tk[MAX_TICKERS]; /* one per ticker topic */
    char tk_sym[MAX_TICKERS][MDF_SYMBOL_MAX];
    int ntk;
    int64_t kinds[BYB_IGNORED + 1];              /* messages of each kind */
    int64_t tk_snapshots, tk_deltas, tk_funding; /* tickers: snapshots, deltas, funding records */
    int64_t tk_delta_have[BYT_N];                /* deltas holding each ticker field */
    int64_t closed, open_candles;                /* klines with confirm true, false */
    int64_t restarts;                            /* book snapshots with u == 1 */
    int last_book;                               /* index of the book the last message hit */
    int last_apply;                              /* what bybit_book_apply() said of it */
};

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Starts the venue (venue: "bybit-spot" or "bybit-linear") with args (NULL-terminated). */
static void start(struct fv_proc *fv, const char *venue, const char *const *args)
{
    int r = fv_start_venue(fv, venue, args);

    if (r < 0)
        test_fail(__FILE__, __LINE__, "fv_start: %d", r);
}

/* Connects s to the category's path and makes its decoder. */
static void sess_open(struct sess *s, int port, enum bybit_category cat)
{
    int r;

    memset(s, 0, sizeof(*s));
    s->cat = cat;
    r = wsc_connect(&s->c, port, cat == BYBIT_SPOT ? "/v5/public/spot" : "/v5/public/linear",
                    &(struct wsc_opts){.max_message = MAX_MSG});
    if (r < 0)
        test_fail(__FILE__, __LINE__, "connect: %d (%s) status %d", r, mdf_errmsg(),
                  s->c.http_status);
    s->d = bybit_decoder_new(cat, MAX_ITEMS, MAX_MSG);
    ASSERT(s->d != NULL);
}

static void sess_close(struct sess *s)
{
    for (int i = 0; i < s->nbooks; i++)
        bybit_book_fini(&s->books[i]);
    bybit_decoder_free(s->d);
    wsc_close(&s->c);
}

/* The book of the last message's topic (created on first use). */
static struct bybit_book *book_of(struct sess *s)
{
    int depth = s->m.spec.levels ? s->m.spec.levels : (int)BYBIT_BOOK_DEPTH_FULL;

    for (int i = 0; i < s->nbooks; i++) {
        if (s->book_depth[i] == depth && strcmp(s->book_sym[i], s->m.spec.symbol) == 0) {
            s->last_book = i;
            return &s->books[i];
        }
    }
    ASSERT_LT(s->nbooks, MAX_BOOKS);
    ASSERT_EQ(bybit_book_init(&s->books[s->nbooks], (uint32_t)depth), 0);
    snprintf(s->book_sym[s->nbooks], MDF_SYMBOL_MAX, "%s", s->m.spec.symbol);
    s->book_depth[s->nbooks] = depth;
    s->last_book = s->nbooks;
    return &s->books[s->nbooks++];
}

/* The ticker state of the last message's symbol. */
static struct bybit_ticker_state *ticker_of(struct sess *s)
{
    for (int i = 0; i < s->ntk; i++)
        if (strcmp(s->tk_sym[i], s->m.spec.symbol) == 0)
            return &s->tk[i];
    ASSERT_LT(s->ntk, MAX_TICKERS);
    bybit_ticker_init(&s->tk[s->ntk]);
    snprintf(s->tk_sym[s->ntk], MDF_SYMBOL_MAX, "%s", s->m.spec.symbol);
    return &s->tk[s->ntk++];
}

/* Receives the next text message, decodes it with the daemon's decoder (which must accept it
 * as something it uses) and feeds it to the book rule or the ticker merge. Returns its kind;
 * a timeout or a closed connection returns BYB_NONE when may_end. */
static enum bybit_kind next_msg(struct sess *s, int timeout_ms, bool may_end)
{
    const struct wsc_msg *w;
    int64_t t = now_ns();
    int r;

    do {
        r = wsc_recv(&s->c, timeout_ms, &w);
        if (r < 0 && may_end)
            return BYB_NONE;
        if (r < 0)
            test_fail(__FILE__, __LINE__, "wsc_recv: %d", r);
    } while (!w->text);
    s->raw = (const char *)w->data;
    r = bybit_decode(s->d, w->data, w->len, t, &s->m);
    if (r < 0)
        test_fail(__FILE__, __LINE__, "bybit_decode: %d (%s) on %.400s", r, mdf_errmsg(), s->raw);
    if (s->m.kind == BYB_IGNORED)
        test_fail(__FILE__, __LINE__, "decoder ignored (%s): %.300s", s->m.text, s->raw);
    s->kinds[s->m.kind]++;
    switch (s->m.kind) {
    case BYB_BOOK: {
        struct bybit_book *b = book_of(s);

        if (s->m.snapshot && s->m.update_id == 1)
            s->restarts++;
        s->last_apply = bybit_book_apply(b, &s->m, t);
        ASSERT_GE(s->last_apply, 0);
        break;
    }
    case BYB_TICKER: {
        struct mdf_ticker tk;
        struct mdf_funding f;
        int o = bybit_ticker_apply(ticker_of(s), &s->m, t, &tk, &f);

        if (o < 0)
            test_fail(__FILE__, __LINE__, "bybit_ticker_apply: %d (%s) on %.300s", o, mdf_errmsg(),
                      s->raw);
        s->tk_snapshots += s->m.ticker.snapshot;
        s->tk_deltas += !s->m.ticker.snapshot;
        for (int i = 0; i < BYT_N && !s->m.ticker.snapshot; i++)
            s->tk_delta_have[i] += (s->m.ticker.have >> i) & 1;
        if (o & BYT_OUT_FUNDING) {
            s->tk_funding++;
            ASSERT_GT(f.mark_px.m, 0);
            ASSERT_GT(f.index_px.m, 0);
            ASSERT_GT(f.next_funding_time_ns, 0);
        }
        break;
    }
    case BYB_CANDLES:
        for (uint32_t i = 0; i < s->m.n_candles; i++) {
            if (s->m.candles[i].h.flags & MDF_CANDLE_F_CLOSED)
                s->closed++;
            else
                s->open_candles++;
        }
        break;
    default:
        break;
    }
    return s->m.kind;
}

/* Sends a text message built with printf. */
static void __attribute__((format(printf, 2, 3))) send_fmt(struct sess *s, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    ASSERT_EQ(wsc_send_text(&s->c, buf), 0);
}

/* Reads until the reply to op arrives (data before it is decoded and applied as usual);
 * checks success and req_id; returns its ret_msg (borrowed until the next receive). */
static const char *await_reply(struct sess *s, const char *op, bool want_ok, const char *req_id)
{
    for (int i = 0; i < 100000; i++) {
        enum bybit_kind k = next_msg(s, T_MS, false);

        if (k != BYB_REPLY && k != BYB_PONG)
            continue;
        if (s->m.success != want_ok || strcmp(s->m.op, op) != 0)
            test_fail(__FILE__, __LINE__, "want %s %s, got: %s", op, want_ok ? "ok" : "refused",
                      s->raw);
        ASSERT_STR_EQ(s->m.req_id, req_id);
        ASSERT_CONTAINS(s->raw, "\"conn_id\":\"");
        return s->m.text;
    }
    test_fail(__FILE__, __LINE__, "no reply to %s", op);
    return NULL;
}

/* Receives for ms milliseconds (or until the connection ends). */
static void read_for(struct sess *s, int ms)
{
    int64_t end = now_ns() + (int64_t)ms * 1000000;

    while (now_ns() < end)
        if (next_msg(s, (int)((end - now_ns()) / 1000000) + 1, true) == BYB_NONE && s->c.fd < 0)
            break;
}

/* Asserts every book the session follows is LIVE, with no gap, resync or refused level. */
static void assert_books_in_sequence(const struct sess *s, int want_books)
{
    ASSERT_EQ(s->nbooks, want_books);
    for (int i = 0; i < s->nbooks; i++) {
        const struct bybit_book *b = &s->books[i];

        if (b->state != MDF_BOOK_LIVE || b->stats.gaps || b->stats.resyncs || b->stats.level_errors)
            test_fail(__FILE__, __LINE__,
                      "book %s/%d: state %d gaps %" PRIu64 " resyncs %" PRIu64
                      " level errors %" PRIu64,
                      s->book_sym[i], s->book_depth[i], b->state, b->stats.gaps, b->stats.resyncs,
                      b->stats.level_errors);
        ASSERT_GE(b->stats.snapshots, 1);
        if (s->book_depth[i] > 1)
            ASSERT_GT(b->stats.deltas, 5);
        ASSERT_GT(b->book.side[BOOK_BID].n, 0);
        ASSERT_GT(b->book.side[BOOK_ASK].n, 0);
        /* Not crossed: best bid below best ask (best levels are last). */
        ASSERT_LT(b->book.side[BOOK_BID].lv[b->book.side[BOOK_BID].n - 1].key,
                  b->book.side[BOOK_ASK].lv[b->book.side[BOOK_ASK].n - 1].key);
    }
}

/* ---- tests ---- */

TEST(fakevenue_bybit_linear_every_topic_decodes_and_books_stay_in_sequence)
{
    const char *args[] = {"--market-rate", "100", "--bybit-minute-ms", "200", NULL};
    struct fv_proc fv;
    struct sess s;

    start(&fv, "bybit-linear", args);
    sess_open(&s, fv.port, BYBIT_LINEAR);
    /* Every topic type the daemon decodes, in one request (linear has no args limit). */
    send_fmt(&s, "{\"req_id\":\"sub-1\",\"op\":\"subscribe\",\"args\":["
                 "\"publicTrade.BTCUSDT\",\"orderbook.1.BTCUSDT\",\"orderbook.50.BTCUSDT\","
                 "\"orderbook.200.ETHUSDT\",\"orderbook.1000.BTCUSDT\",\"kline.1.BTCUSDT\","
                 "\"kline.D.ETHUSDT\",\"tickers.BTCUSDT\",\"tickers.ETHUSDT\","
                 "\"allLiquidation.BTCUSDT\",\"liquidation.ETHUSDT\",\"publicTrade.ETHUSDT\"]}");
    ASSERT_STR_EQ(await_reply(&s, "subscribe", true, "sub-1"), "");
    /* Pings: the linear pong carries req_id, "" when the ping had none. */
    send_fmt(&s, "{\"req_id\":\"p-1\",\"op\":\"ping\"}");
    await_reply(&s, "ping", true, "p-1");
    ASSERT_EQ(s.m.kind, BYB_PONG);
    ASSERT_CONTAINS(s.raw, "\"ret_msg\":\"pong\"");
    send_fmt(&s, "{\"op\":\"ping\"}");
    await_reply(&s, "ping", true, "");
    ASSERT_CONTAINS(s.raw, "\"req_id\":\"\"");
    read_for(&s, 3000);

    ASSERT_GT(s.kinds[BYB_TRADES], 10);
    ASSERT_GT(s.kinds[BYB_BOOK], 50);
    ASSERT_GT(s.kinds[BYB_LIQUIDATIONS], 2);
    assert_books_in_sequence(&s, 4);
    /* Tickers: one snapshot a topic, then deltas that carry funding fields. */
    ASSERT_EQ(s.tk_snapshots, 2);
    ASSERT_GT(s.tk_deltas, 10);
    ASSERT_GT(s.tk_funding, 2);
    /* Deltas hold only what changed: the mark and funding rate now and then, never all. */
    ASSERT_GT(s.tk_delta_have[BYT_MARK], 0);
    ASSERT_GT(s.tk_delta_have[BYT_FUNDING], 0);
    ASSERT_LT(s.tk_delta_have[BYT_FUNDING], s.tk_deltas);
    ASSERT_LT(s.tk_delta_have[BYT_PREV24], s.tk_deltas);
    ASSERT(s.tk[0].live && s.tk[1].live);
    ASSERT(s.tk[0].cur.have & (1u << BYT_NEXT_FUNDING));
    /* Klines: minutes of 200 ms, so kline.1 closed candles (confirm true) in 3 s. */
    ASSERT_GT(s.closed, 5);
    ASSERT_GT(s.open_candles, 5);
    sess_close(&s);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

TEST(fakevenue_bybit_spot_topics_decode_args_limit_and_unknown_topics_are_refused)
{
    const char *args[] = {"--market-rate", "100", "--market", "BTCUSDT,ETHUSDT,SOLUSDT", NULL};
    struct fv_proc fv;
    struct sess s;
    const char *msg;
    int64_t trades;

    start(&fv, "bybit-spot", args);
    sess_open(&s, fv.port, BYBIT_SPOT);
    /* 11 args: refused as a whole with the venue's limit message. */
    send_fmt(&s, "{\"req_id\":\"big\",\"op\":\"subscribe\",\"args\":["
                 "\"publicTrade.BTCUSDT\",\"publicTrade.ETHUSDT\",\"publicTrade.SOLUSDT\","
                 "\"tickers.BTCUSDT\",\"tickers.ETHUSDT\",\"tickers.SOLUSDT\","
                 "\"orderbook.1.BTCUSDT\",\"orderbook.50.BTCUSDT\",\"orderbook.200.BTCUSDT\","
                 "\"orderbook.1000.ETHUSDT\",\"kline.5.BTCUSDT\"]}");
    msg = await_reply(&s, "subscribe", false, "big");
    ASSERT_CONTAINS(msg, "args size >10");
    /* Liquidations are linear only; a symbol --market does not list; a bad depth. */
    send_fmt(&s, "{\"req_id\":\"liq\",\"op\":\"subscribe\",\"args\":[\"allLiquidation.BTCUSDT\"]}");
    ASSERT_CONTAINS(await_reply(&s, "subscribe", false, "liq"), "handler not found");
    send_fmt(&s, "{\"req_id\":\"x\",\"op\":\"subscribe\",\"args\":[\"tickers.XRPUSDT\"]}");
    ASSERT_CONTAINS(await_reply(&s, "subscribe", false, "x"), "tickers.XRPUSDT");
    send_fmt(&s, "{\"req_id\":\"d\",\"op\":\"subscribe\",\"args\":[\"orderbook.25.BTCUSDT\"]}");
    await_reply(&s, "subscribe", false, "d");
    /* Nothing was subscribed by the refusals. */
    read_for(&s, 300);
    ASSERT_EQ(s.kinds[BYB_TRADES] + s.kinds[BYB_BOOK] + s.kinds[BYB_TICKER], 0);
    /* 10 args: accepted (spot's ret_msg is "subscribe"). */
    send_fmt(&s, "{\"req_id\":\"ten\",\"op\":\"subscribe\",\"args\":["
                 "\"publicTrade.BTCUSDT\",\"publicTrade.ETHUSDT\",\"tickers.BTCUSDT\","
                 "\"tickers.ETHUSDT\",\"orderbook.1.BTCUSDT\",\"orderbook.50.BTCUSDT\","
                 "\"orderbook.200.BTCUSDT\",\"orderbook.1000.ETHUSDT\",\"kline.1.BTCUSDT\","
                 "\"kline.M.ETHUSDT\"]}");
    ASSERT_STR_EQ(await_reply(&s, "subscribe", true, "ten"), "subscribe");
    /* The same topic again: refused. */
    send_fmt(&s, "{\"req_id\":\"dup\",\"op\":\"subscribe\",\"args\":[\"tickers.BTCUSDT\"]}");
    ASSERT_CONTAINS(await_reply(&s, "subscribe", false, "dup"), "already subscribed");
    /* The spot pong: op "ping", ret_msg "pong", req_id only when the ping had one. */
    send_fmt(&s, "{\"req_id\":\"100001\",\"op\":\"ping\"}");
    await_reply(&s, "ping", true, "100001");
    ASSERT_EQ(s.m.kind, BYB_PONG);
    send_fmt(&s, "{\"op\":\"ping\"}");
    await_reply(&s, "ping", true, "");
    ASSERT(strstr(s.raw, "req_id") == NULL);
    read_for(&s, 2500);
    ASSERT_GT(s.kinds[BYB_TRADES], 10);
    ASSERT_GT(s.kinds[BYB_CANDLES], 1);
    assert_books_in_sequence(&s, 4);
    /* Spot tickers: snapshots only. */
    ASSERT_GT(s.tk_snapshots, 4);
    ASSERT_EQ(s.tk_deltas, 0);
    /* Unsubscribe: acknowledged, then the topic is silent. */
    send_fmt(&s, "{\"req_id\":\"u\",\"op\":\"unsubscribe\",\"args\":[\"publicTrade.BTCUSDT\","
                 "\"publicTrade.ETHUSDT\"]}");
    await_reply(&s, "unsubscribe", true, "u");
    read_for(&s, 200); /* what was on its way */
    trades = s.kinds[BYB_TRADES];
    read_for(&s, 1000);
    ASSERT_EQ(s.kinds[BYB_TRADES], trades);
    send_fmt(&s, "{\"req_id\":\"u2\",\"op\":\"unsubscribe\",\"args\":[\"publicTrade.BTCUSDT\"]}");
    ASSERT_CONTAINS(await_reply(&s, "unsubscribe", false, "u2"), "not subscribed");
    sess_close(&s);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

/* Reads book messages of s until n updates (deltas) of its first book have come or it
 * resynced; returns the count of updates applied before the resync (-1: no resync). */
static int64_t read_until_resync(struct sess *s, int n)
{
    int64_t applied = 0;

    while (applied < n) {
        if (next_msg(s, T_MS, false) != BYB_BOOK || s->m.snapshot)
            continue;
        if (s->last_apply == BYBK_RESYNC)
            return applied;
        applied++;
    }
    return -1;
}

TEST(fakevenue_bybit_gap_fault_is_caught_by_the_book_rule_on_faulted_connections_only)
{
    const char *args[] = {"--market-rate", "200", "--bybit-gap", "BTCUSDT/20",
                          "--fault-conns", "1",   NULL};
    struct fv_proc fv;
    struct sess s[2];
    char line[256];

    start(&fv, "bybit-linear", args);
    for (int k = 0; k < 2; k++) {
        sess_open(&s[k], fv.port, BYBIT_LINEAR);
        send_fmt(&s[k],
                 "{\"req_id\":\"b\",\"op\":\"subscribe\",\"args\":[\"orderbook.50.BTCUSDT\"]}");
        await_reply(&s[k], "subscribe", true, "b");
        if (k == 0) {
            /* Connection 1: the 21st update is dropped, so the 21st delta seen skips a u. */
            ASSERT_EQ(read_until_resync(&s[k], 100), 20);
            ASSERT_EQ(s[k].books[0].stats.gaps, 1);
            ASSERT_EQ(s[k].books[0].state, MDF_BOOK_RESYNCING);
        } else {
            ASSERT_EQ(read_until_resync(&s[k], 100), -1);
            assert_books_in_sequence(&s[k], 1);
        }
        sess_close(&s[k]);
    }
    ASSERT_EQ(fv_wait_line(&fv, "conn 1 fault gap orderbook.50.BTCUSDT", T_MS, line, sizeof(line)),
              0);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

TEST(fakevenue_bybit_fault_gap_after_drops_one_book_delta)
{
    const char *args[] = {"--market-rate", "200", "--fault-gap-after", "40", NULL};
    struct fv_proc fv;
    struct sess s;
    char line[256];
    int64_t before;

    start(&fv, "bybit-linear", args);
    sess_open(&s, fv.port, BYBIT_LINEAR);
    send_fmt(&s, "{\"req_id\":\"b\",\"op\":\"subscribe\",\"args\":[\"publicTrade.ETHUSDT\","
                 "\"orderbook.200.ETHUSDT\"]}");
    await_reply(&s, "subscribe", true, "b");
    /* The first book delta after 40 data messages (trades and book alike) is not sent: the
     * delta that shows the gap comes after 40 or 41 messages and at most one trade message
     * of the next tick. */
    ASSERT_GT(read_until_resync(&s, 200), 0);
    before = s.kinds[BYB_TRADES] + s.kinds[BYB_BOOK] - 1;
    ASSERT_GE(before, 40);
    ASSERT_LE(before, 42);
    ASSERT_EQ(s.books[0].stats.gaps, 1);
    ASSERT_EQ(fv_wait_line(&fv, "conn 1 fault gap orderbook.200.ETHUSDT", T_MS, line, sizeof(line)),
              0);
    sess_close(&s);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

/* GET /fv/stats: the counter named k (-1 when absent). */
static int64_t counter(int port, const char *k)
{
    struct wsc_http h;
    json_t *j, *v;
    int64_t n;

    ASSERT_EQ(wsc_http_get(&h, port, "/fv/stats", T_MS), 0);
    ASSERT_EQ(h.status, 200);
    j = json_loads((const char *)h.body, 0, NULL);
    ASSERT(j != NULL);
    v = json_object_get(j, k);
    n = json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
    json_decref(j);
    wsc_http_close(&h);
    return n;
}

TEST(fakevenue_bybit_bad_requests_are_refused_counted_and_the_connection_lives_on)
{
    static const char *const bad[] = {
        "not json",
        "[1,2]",
        "{\"op\":5}",
        "{\"op\":\"subscribe\"}",
        "{\"op\":\"subscribe\",\"args\":[]}",
        "{\"op\":\"subscribe\",\"args\":[7]}",
        "{\"op\":\"subscribe\",\"args\":[\"orderbook.0050.BTCUSDT\"]}",
        "{\"op\":\"subscribe\",\"args\":[\"orderbook.50.BTCUSDT.X\"]}",
        "{\"op\":\"subscribe\",\"args\":[\"kline.2.BTCUSDT\"]}",
        "{\"op\":\"subscribe\",\"args\":[\"tickers.btcusdt\"]}",
        "{\"op\":\"subscribe\",\"args\":[\"tickers.BTCUSDT\",\"tickers.BTCUSDT\"]}",
        "{\"op\":\"unsubscribe\",\"args\":[\"tickers.BTCUSDT\"]}",
    };
    const char *args[] = {"--market-rate", "50", NULL};
    struct fv_proc fv;
    struct sess s;
    char *big;
    size_t n = 0;

    start(&fv, "bybit-linear", args);
    sess_open(&s, fv.port, BYBIT_LINEAR);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ASSERT_EQ(wsc_send_text(&s.c, bad[i]), 0);
        for (;;) {
            enum bybit_kind k = next_msg(&s, T_MS, false);

            if (k == BYB_REPLY)
                break;
        }
        if (s.m.success)
            test_fail(__FILE__, __LINE__, "accepted: %s", bad[i]);
        ASSERT(strlen(s.m.text) > 0);
    }
    /* A topic with control characters: refused, named with '?' in their place. */
    ASSERT_EQ(wsc_send_text(&s.c, "{\"op\":\"subscribe\",\"args\":[\"tickers.A\\nB\"]}"), 0);
    await_reply(&s, "subscribe", false, "");
    ASSERT_CONTAINS(s.raw, "topic:tickers.A?B\"");
    ASSERT_EQ(fv_wait_line(&fv, "refused subscribe: error:handler not found,topic:tickers.A?B",
                           T_MS, NULL, 0),
              0);
    /* Args over 21,000 characters, even on linear. */
    big = malloc(30000);
    ASSERT(big != NULL);
    n = (size_t)snprintf(big, 30000, "{\"req_id\":\"big\",\"op\":\"subscribe\",\"args\":[");
    for (int i = 0; n < 21100; i++)
        n += (size_t)snprintf(big + n, 30000 - n, "%s\"tickers.SYM%dUSDT\"", i ? "," : "", i);
    snprintf(big + n, 30000 - n, "]}");
    ASSERT_EQ(wsc_send_text(&s.c, big), 0);
    free(big);
    ASSERT_CONTAINS(await_reply(&s, "subscribe", false, "big"), "21000");
    /* Every refusal counted; nothing subscribed; the connection still works. */
    ASSERT_EQ(counter(fv.port, "errors"), (int64_t)(sizeof(bad) / sizeof(bad[0])) + 2);
    ASSERT_EQ(counter(fv.port, "channels"), 0);
    send_fmt(&s, "{\"req_id\":\"ok\",\"op\":\"subscribe\",\"args\":[\"orderbook.50.BTCUSDT\"]}");
    await_reply(&s, "subscribe", true, "ok");
    while (!s.nbooks || s.books[0].stats.deltas < 10)
        ASSERT_NE(next_msg(&s, T_MS, false), BYB_NONE);
    ASSERT_EQ(counter(fv.port, "channels"), 1);
    assert_books_in_sequence(&s, 1);
    sess_close(&s);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

TEST(fakevenue_bybit_restart_sends_a_u1_snapshot_that_overwrites_the_book)
{
    const char *args[] = {"--market-rate", "200", "--bybit-restart", "BTCUSDT/15", NULL};
    struct fv_proc fv;
    struct sess s;
    int64_t deltas_before = -1;

    start(&fv, "bybit-spot", args);
    sess_open(&s, fv.port, BYBIT_SPOT);
    send_fmt(&s, "{\"req_id\":\"b\",\"op\":\"subscribe\",\"args\":[\"orderbook.200.BTCUSDT\"]}");
    await_reply(&s, "subscribe", true, "b");
    while (!s.nbooks || s.books[0].stats.deltas < 40) {
        ASSERT_NE(next_msg(&s, T_MS, false), BYB_NONE);
        if (s.restarts == 1 && deltas_before < 0)
            deltas_before = (int64_t)s.books[0].stats.deltas;
    }
    /* After 15 deltas, a snapshot with u == 1; the deltas after it go on from u 2. */
    ASSERT_EQ(s.restarts, 1);
    ASSERT_EQ(deltas_before, 15);
    ASSERT_EQ(s.books[0].stats.snapshots, 2);
    ASSERT_EQ(s.books[0].first_id, 1);
    ASSERT_EQ(s.books[0].update_id, 1 + (int64_t)s.books[0].stats.deltas - 15);
    assert_books_in_sequence(&s, 1);
    sess_close(&s);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

TEST(fakevenue_bybit_observer_on_the_same_topics_sees_the_same_messages)
{
    const char *args[] = {"--market-rate", "100", NULL};
    const char *sub = "{\"req_id\":\"o\",\"op\":\"subscribe\",\"args\":[\"publicTrade.BTCUSDT\","
                      "\"orderbook.50.BTCUSDT\",\"tickers.BTCUSDT\",\"allLiquidation.BTCUSDT\"]}";
    struct fv_proc fv;
    struct sess a, b;
    char **seen = NULL;
    size_t nseen = 0, matched = 0;

    start(&fv, "bybit-linear", args);
    sess_open(&a, fv.port, BYBIT_LINEAR);
    sess_open(&b, fv.port, BYBIT_LINEAR);
    send_fmt(&a, "%s", sub);
    await_reply(&a, "subscribe", true, "o");
    send_fmt(&b, "%s", sub);
    await_reply(&b, "subscribe", true, "o");
    /* The observer (b) joined later: after its own snapshots, each of its messages is one the
     * first connection got too, byte for byte. */
    for (int i = 0; i < 200; i++) {
        ASSERT_NE(next_msg(&b, T_MS, false), BYB_NONE);
        if ((b.m.kind == BYB_BOOK || b.m.kind == BYB_TICKER) && b.m.snapshot)
            continue;
        seen = realloc(seen, (nseen + 1) * sizeof(*seen));
        ASSERT(seen != NULL);
        seen[nseen++] = strdup(b.raw);
    }
    /* a's messages from its subscription on: ~2 s of them hold b's 200 (5000 is ample). */
    for (int i = 0; i < 5000 && matched < nseen; i++) {
        ASSERT_NE(next_msg(&a, T_MS, false), BYB_NONE);
        for (size_t k = 0; k < nseen; k++) {
            if (seen[k] && strcmp(seen[k], a.raw) == 0) {
                free(seen[k]);
                seen[k] = NULL;
                matched++;
                break;
            }
        }
    }
    ASSERT_EQ(matched, nseen);
    free(seen);
    ASSERT_GT(b.kinds[BYB_TRADES], 5);
    assert_books_in_sequence(&a, 1);
    assert_books_in_sequence(&b, 1);
    sess_close(&a);
    sess_close(&b);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

TEST(fakevenue_bybit_idle_cut_spares_pinging_clients_and_fault_flags_apply)
{
    const char *args[] = {"--market-rate",
                          "100",
                          "--bybit-idle-cut",
                          "1",
                          "--conn-limit",
                          "3/60",
                          "--fault-close-after",
                          "30",
                          "--fault-close-code",
                          "4001",
                          "--fault-conns",
                          "2",
                          NULL};
    struct fv_proc fv;
    struct sess a, b, c, d;
    char line[256];
    int64_t t0 = now_ns();
    int r;

    start(&fv, "bybit-linear", args);
    /* Connection 1 pings every 300 ms and subscribes nothing: faulted, but sent no data. */
    sess_open(&a, fv.port, BYBIT_LINEAR);
    /* Connection 2 never pings and subscribes to a book: its 30th data message brings the
     * close frame; connection 3 never pings and is cut after a second. */
    sess_open(&b, fv.port, BYBIT_LINEAR);
    sess_open(&c, fv.port, BYBIT_LINEAR);
    send_fmt(&b, "{\"op\":\"subscribe\",\"args\":[\"orderbook.50.BTCUSDT\"]}");
    while (now_ns() - t0 < 2500000000LL) {
        send_fmt(&a, "{\"op\":\"ping\"}");
        await_reply(&a, "ping", true, "");
        wsc_pump(&a.c, 300);
    }
    /* Connection 2: the fault's close code after 30 data messages. */
    for (;;) {
        const struct wsc_msg *m;

        r = wsc_recv(&b.c, T_MS, &m);
        if (r < 0)
            break;
    }
    ASSERT_EQ(r, ERR_WS_CLOSED);
    ASSERT_EQ(b.c.close_code, 4001);
    /* Connection 3: cut without a close frame. */
    {
        const struct wsc_msg *m;

        r = wsc_recv(&c.c, T_MS, &m);
    }
    ASSERT(r == -EPIPE || r == -ECONNRESET);
    ASSERT_EQ(fv_wait_line(&fv, "conn 3 closed idle-cut", T_MS, line, sizeof(line)), 0);
    ASSERT_EQ(fv_count_lines(&fv, "conn 1 closed"), 0);
    /* --conn-limit 3/60: a fourth upgrade is refused with 429. */
    r = wsc_connect(&d.c, fv.port, "/v5/public/linear", NULL);
    ASSERT_EQ(r, ERR_WS_HANDSHAKE);
    ASSERT_EQ(d.c.http_status, 429);
    wsc_close(&d.c);
    sess_close(&a);
    sess_close(&b);
    sess_close(&c);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

/* ---- replay (--venue bybit-linear --replay tests/fixtures/bybit/ws.rec) ---- */

#define REPLAY_REC "bybit/ws.rec"
#define REPLAY_MAX 4096 /* received lines of the recording the test reads */

/* The received lines ("TS: JSON") of a recording, in order, with their times. */
struct rec {
    char *msg[REPLAY_MAX]; /* owned */
    double t[REPLAY_MAX];  /* Unix seconds */
    size_t n;
};

static void rec_read(struct rec *r, const char *name)
{
    FILE *f = fopen(test_fixture(name), "r");
    char line[65536];

    ASSERT(f != NULL);
    r->n = 0;
    while (fgets(line, sizeof(line), f)) {
        char *j = strstr(line, ": ");

        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] < '0' || line[0] > '9' || !j || strstr(line, " <- ") || strstr(line, " <-> "))
            continue;
        ASSERT_LT(r->n, REPLAY_MAX);
        r->t[r->n] = strtod(line, NULL);
        r->msg[r->n++] = strdup(j + 2);
    }
    fclose(f);
}

static void rec_free(struct rec *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->msg[i]);
    r->n = 0;
}

/* The string member k of JSON text m ("" when absent) into out (cap bytes). */
static void member(const char *m, const char *k, char *out, size_t cap)
{
    json_t *j = json_loads(m, 0, NULL);
    const char *v = json_string_value(json_object_get(j, k));

    snprintf(out, cap, "%s", v ? v : "");
    json_decref(j);
}

/* True when topic is one of the NULL-terminated list. */
static bool topic_in(const char *topic, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(topic, list[i]) == 0)
            return true;
    return false;
}

/* The next text message of c (borrowed until the next call) or a failure. */
static const char *replay_next(struct wsc *c, int timeout_ms)
{
    const struct wsc_msg *m;
    int r;

    do {
        r = wsc_recv(c, timeout_ms, &m);
        if (r < 0)
            test_fail(__FILE__, __LINE__, "wsc_recv: %d", r);
    } while (!m->text);
    return (const char *)m->data;
}

TEST(fakevenue_bybit_replay_answers_the_subscribe_and_serves_the_recorded_topics_in_order)
{
    static const char *const TOPICS[] = {"orderbook.50.BTCUSDT", "publicTrade.BTCUSDT",
                                         "kline.1.BTCUSDT", "tickers.BTCUSDT", NULL};
    const char *args[] = {"--replay", test_fixture(REPLAY_REC), "--speed", "2", NULL};
    struct fv_proc fv;
    struct rec r;
    struct wsc c;
    char want_ack[1024] = "", topic[128], op[32], type[32];
    size_t want = 0, k = 0, kinds[4] = {0};
    double first_t = 0, last_t = 0;
    int64_t t_first = 0, t_last = 0;
    const char *t;
    const struct wsc_msg *m;

    /* The recorded reply to the recorded request for these topics (the first subscribe
     * reply) with our req_id, and the recorded messages of these topics. */
    rec_read(&r, REPLAY_REC);
    for (size_t i = 0; i < r.n; i++) {
        member(r.msg[i], "op", op, sizeof(op));
        member(r.msg[i], "topic", topic, sizeof(topic));
        if (!want_ack[0] && strcmp(op, "subscribe") == 0) {
            char rid[64], *at;

            member(r.msg[i], "req_id", rid, sizeof(rid));
            ASSERT(rid[0] != '\0');
            at = strstr(r.msg[i], rid);
            ASSERT(at != NULL);
            snprintf(want_ack, sizeof(want_ack), "%.*slive-7%s", (int)(at - r.msg[i]), r.msg[i],
                     at + strlen(rid));
        }
        if (!topic_in(topic, TOPICS))
            continue;
        member(r.msg[i], "type", type, sizeof(type));
        kinds[0] += strncmp(topic, "orderbook.", 10) == 0 && strcmp(type, "snapshot") == 0;
        kinds[1] += strncmp(topic, "orderbook.", 10) == 0 && strcmp(type, "delta") == 0;
        kinds[2] += strncmp(topic, "tickers.", 8) == 0 && strcmp(type, "delta") == 0;
        kinds[3] += strncmp(topic, "kline.", 6) == 0 || strncmp(topic, "publicTrade.", 12) == 0;
        if (!want++)
            first_t = r.t[i];
        last_t = r.t[i];
    }
    /* The fixture holds what the test is about: a book snapshot and deltas, ticker deltas,
     * trades and klines of the subscribed topics. */
    ASSERT(want_ack[0] != '\0');
    ASSERT_EQ(kinds[0], 1);
    ASSERT_GE(kinds[1], 5);
    ASSERT_GE(kinds[2], 2);
    ASSERT_GE(kinds[3], 4);
    ASSERT_GE(last_t - first_t, 1.0);

    start(&fv, "bybit-linear", args);
    ASSERT_EQ(wsc_connect(&c, fv.port, "/v5/public/linear", NULL), 0);
    /* The subscribe is answered by the recorded reply, with our req_id. */
    ASSERT_EQ(wsc_send_text(&c, "{\"op\":\"subscribe\",\"args\":[\"orderbook.50.BTCUSDT\","
                                "\"publicTrade.BTCUSDT\",\"kline.1.BTCUSDT\","
                                "\"tickers.BTCUSDT\"],\"req_id\":\"live-7\"}"),
              0);
    ASSERT_STR_EQ(replay_next(&c, T_MS), want_ack);
    /* Every recorded message of the subscribed topics, byte for byte, in recorded order, at
     * the recorded spacing divided by --speed (less a margin); nothing of the topic the
     * recording client also took (publicTrade.ETHUSDT). */
    for (size_t i = 0; i < r.n; i++) {
        member(r.msg[i], "topic", topic, sizeof(topic));
        if (!topic_in(topic, TOPICS))
            continue;
        t = replay_next(&c, T_MS);
        ASSERT_STR_EQ(t, r.msg[i]);
        if (!k++)
            t_first = now_ns();
        t_last = now_ns();
    }
    ASSERT_EQ(k, want);
    ASSERT_GE((double)(t_last - t_first) / 1e9, (last_t - first_t) / 2 * 0.8);
    ASSERT_EQ(wsc_recv(&c, 1500, &m), -ETIMEDOUT);
    /* A topic the recording does not have is refused, and the connection lives on. */
    ASSERT_EQ(wsc_send_text(&c, "{\"op\":\"subscribe\",\"args\":[\"publicTrade.SOLUSDT\"],"
                                "\"req_id\":\"live-8\"}"),
              0);
    t = replay_next(&c, T_MS);
    ASSERT(strstr(t, "\"success\":false") != NULL);
    ASSERT(strstr(t, "not in the replayed recording,topic:publicTrade.SOLUSDT") != NULL);
    ASSERT(strstr(t, "\"req_id\":\"live-8\"") != NULL);
    wsc_close(&c);
    fv_stop(&fv);
    rec_free(&r);
    return 0;
}

TEST(fakevenue_bybit_replay_serves_only_the_subscribed_topic)
{
    static const char *const TOPICS[] = {"publicTrade.ETHUSDT", NULL};
    const char *args[] = {"--replay", test_fixture(REPLAY_REC), "--speed", "4", NULL};
    struct fv_proc fv;
    struct rec r;
    struct wsc c;
    char want_ack[1024] = "", topic[128], op[32], rid[64];
    size_t want = 0, k = 0, acks = 0;
    const struct wsc_msg *m;

    /* The recorded reply to the second recorded request (publicTrade.ETHUSDT alone), with our
     * req_id, and that topic's recorded messages. */
    rec_read(&r, REPLAY_REC);
    for (size_t i = 0; i < r.n; i++) {
        member(r.msg[i], "op", op, sizeof(op));
        member(r.msg[i], "topic", topic, sizeof(topic));
        if (strcmp(op, "subscribe") == 0 && ++acks == 2) {
            char *at;

            member(r.msg[i], "req_id", rid, sizeof(rid));
            at = strstr(r.msg[i], rid);
            ASSERT(rid[0] != '\0' && at != NULL);
            snprintf(want_ack, sizeof(want_ack), "%.*slive-9%s", (int)(at - r.msg[i]), r.msg[i],
                     at + strlen(rid));
        }
        want += topic_in(topic, TOPICS);
    }
    ASSERT(want_ack[0] != '\0');
    ASSERT_GE(want, 3);

    start(&fv, "bybit-linear", args);
    ASSERT_EQ(wsc_connect(&c, fv.port, "/v5/public/linear", NULL), 0);
    ASSERT_EQ(wsc_send_text(&c, "{\"op\":\"subscribe\",\"args\":[\"publicTrade.ETHUSDT\"],"
                                "\"req_id\":\"live-9\"}"),
              0);
    ASSERT_STR_EQ(replay_next(&c, T_MS), want_ack);
    /* Only that topic's messages, exactly and in order, though the recording's first request
     * (whose reply holds the clock for up to a second) was never made. */
    for (size_t i = 0; i < r.n; i++) {
        member(r.msg[i], "topic", topic, sizeof(topic));
        if (!topic_in(topic, TOPICS))
            continue;
        ASSERT_STR_EQ(replay_next(&c, T_MS), r.msg[i]);
        k++;
    }
    ASSERT_EQ(k, want);
    ASSERT_EQ(wsc_recv(&c, 1500, &m), -ETIMEDOUT);
    wsc_close(&c);
    fv_stop(&fv);
    rec_free(&r);
    return 0;
}
