/*
 * Tests of the OKX side of tools/mdfeed-fakevenue (--venue okx), driven as a client would: start
 * the binary (fakevenue.h), talk to it over WebSocket (wsclient.h), and read every message with
 * the daemon's own decoder (venue/okx.h) and book rule (book/okx_book.h): so what the venue
 * sends is held to what the daemon accepts, acks, errors and notices included.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "book/okx_book.h"
#include "core/err.h"
#include "support/fakevenue.h"
#include "support/wsclient.h"
#include "test.h"
#include "venue/okx.h"

#define T_MS 5000   /* generous wait for anything that should happen */
#define OBS_BOOKS 4 /* books channels one observer follows */

/* Starts the venue with --venue okx and args (NULL-terminated, at most 30). */
static void start(struct fv_proc *fv, const char *const *args)
{
    const char *a[34] = {"--venue", "okx"};
    size_t n = 2;
    int r;

    for (size_t i = 0; args && args[i] && n < 33; i++)
        a[n++] = args[i];
    a[n] = NULL;
    r = fv_start(fv, a);
    if (r < 0)
        test_fail(__FILE__, __LINE__, "fv_start: %d", r);
}

/* Connects to path (/ws/v5/public or /ws/v5/business). */
static void okx_connect(struct wsc *c, int port, const char *path)
{
    struct wsc_opts o = {.max_message = 1u << 22};
    int r = wsc_connect(c, port, path, &o);

    if (r < 0)
        test_fail(__FILE__, __LINE__, "connect %s: %d (http %d)", path, r, c->http_status);
}

/* What one connection saw, read with the daemon's decoder and book rule. */
struct obs {
    struct okx_decoder *d;
    struct okx_book books[OBS_BOOKS]; /* books channels, by instId */
    char inst[OBS_BOOKS][MDF_SYMBOL_MAX];
    int nbooks;
    unsigned kinds[OKX_IGNORED + 1]; /* messages of each kind */
    unsigned acks, unacks, errors, notices;
    int err_code;            /* the last error's code */
    char err_msg[160];       /* its msg */
    char conn_id[40];        /* connId of the last event */
    unsigned resyncs;        /* books the rule discarded */
    unsigned keepalives;     /* books updates without levels (seqId == prevSeqId) */
    unsigned closed_candles; /* candles with confirm "1" */
    unsigned books5, bbo;    /* books5 and bbo-tbt messages */
    int64_t last_trade;      /* id of the last trade */
    unsigned ntrades;        /* trades */
};

static void obs_init(struct obs *o)
{
    memset(o, 0, sizeof(*o));
    o->d = okx_decoder_new(1000, 1u << 22);
    ASSERT(o->d != NULL);
}

static void obs_fini(struct obs *o)
{
    for (int i = 0; i < o->nbooks; i++)
        okx_book_fini(&o->books[i]);
    okx_decoder_free(o->d);
}

/* The observer's book of instId sym (created on first use). */
static struct okx_book *book_of(struct obs *o, const char *sym)
{
    for (int i = 0; i < o->nbooks; i++)
        if (strcmp(o->inst[i], sym) == 0)
            return &o->books[i];
    ASSERT_LT(o->nbooks, OBS_BOOKS);
    snprintf(o->inst[o->nbooks], sizeof(o->inst[0]), "%s", sym);
    ASSERT_EQ(okx_book_init(&o->books[o->nbooks], 0), 0);
    return &o->books[o->nbooks++];
}

/* Numbers are strings as the venue sends them: the only JSON numbers of a data message are the
 * book's checksum, seqId and prevSeqId. */
static void numbers_are_strings(const char *t, size_t len)
{
    static const char *const allowed[] = {"\"checksum\":", "\"seqId\":", "\"prevSeqId\":"};

    for (size_t i = 1; i + 1 < len; i++) {
        bool ok = false;

        if (t[i] != ':' || !(t[i + 1] == '-' || (t[i + 1] >= '0' && t[i + 1] <= '9')))
            continue;
        for (size_t k = 0; k < 3; k++) {
            size_t n = strlen(allowed[k]);

            ok |= i + 1 >= n && memcmp(t + i + 1 - n, allowed[k], n) == 0;
        }
        if (!ok)
            test_fail(__FILE__, __LINE__, "a JSON number at %zu: %.300s", i, t);
    }
    for (size_t i = 0; i + 1 < len; i++)
        if ((t[i] == '[' || t[i] == ',') &&
            (t[i + 1] == '-' || (t[i + 1] >= '0' && t[i + 1] <= '9')))
            test_fail(__FILE__, __LINE__, "a JSON number in an array at %zu: %.300s", i, t);
}

/* Decodes one message (every one must decode) and follows it. */
static void feed(struct obs *o, const uint8_t *t, size_t len)
{
    struct okx_msg m;
    int r = okx_decode(o->d, t, len, test_now_ns(), &m);

    if (r < 0)
        test_fail(__FILE__, __LINE__, "okx_decode %d (%s): %.400s", r, mdf_errmsg(),
                  (const char *)t);
    o->kinds[m.kind]++;
    if (m.kind != OKX_EVENT && m.kind != OKX_PONG)
        numbers_are_strings((const char *)t, len);
    if (m.kind == OKX_EVENT) {
        snprintf(o->conn_id, sizeof(o->conn_id), "%s", m.conn_id);
        if (m.event == OKX_EV_SUBSCRIBE)
            o->acks++;
        else if (m.event == OKX_EV_UNSUBSCRIBE)
            o->unacks++;
        else if (m.event == OKX_EV_NOTICE)
            o->notices++;
        if (m.event == OKX_EV_ERROR || m.event == OKX_EV_NOTICE) {
            o->err_code = m.code;
            snprintf(o->err_msg, sizeof(o->err_msg), "%s", m.text);
            o->errors += m.event == OKX_EV_ERROR;
        }
    } else if (m.kind == OKX_BOOK && m.spec.type == VS_DIFF) {
        /* an update without levels keeps the sequence */
        if (!m.snapshot && !m.n_bids && !m.n_asks) {
            ASSERT(m.have_seq);
            ASSERT_EQ(m.seq_id, m.prev_seq_id);
            o->keepalives++;
        }
        r = okx_book_apply(book_of(o, m.spec.symbol), &m, test_now_ns());
        ASSERT_GE(r, 0);
        o->resyncs += r == OKBK_RESYNC;
    } else if (m.kind == OKX_BOOK) {
        o->books5++;
    } else if (m.kind == OKX_BBO) {
        o->bbo++;
    } else if (m.kind == OKX_TRADES) {
        o->ntrades += m.n_trades;
        o->last_trade = m.trades[m.n_trades - 1].trade_id;
    } else if (m.kind == OKX_CANDLES) {
        for (uint32_t i = 0; i < m.n_candles; i++)
            o->closed_candles += (m.candles[i].h.flags & MDF_CANDLE_F_CLOSED) != 0;
    }
}

/* Reads and follows c's messages for ms milliseconds. Returns 0, or the error that ended the
 * connection (ERR_WS_CLOSED with c->close_code). */
static int run(struct obs *o, struct wsc *c, int ms)
{
    int64_t end = test_now_ns() + (int64_t)ms * 1000000;

    for (;;) {
        int64_t left = (end - test_now_ns() + 999999) / 1000000;
        const struct wsc_msg *m;
        int r;

        if (left <= 0)
            return 0;
        r = wsc_recv(c, (int)left, &m);
        if (r == -ETIMEDOUT)
            return 0;
        if (r < 0)
            return r;
        ASSERT(m->text);
        feed(o, m->data, m->len);
    }
}

/* Follows c's messages until pred(o) holds (or fails after T_MS). */
static void run_until(struct obs *o, struct wsc *c, bool (*pred)(const struct obs *))
{
    int64_t end = test_now_ns() + (int64_t)T_MS * 1000000;

    while (!pred(o)) {
        const struct wsc_msg *m;
        int r;

        ASSERT_LT(test_now_ns(), end);
        r = wsc_recv(c, T_MS, &m);
        if (r < 0)
            test_fail(__FILE__, __LINE__, "wsc_recv: %d", r);
        feed(o, m->data, m->len);
    }
}

/* Sends text and checks it went. */
static void send_text(struct wsc *c, const char *t)
{
    ASSERT_EQ(wsc_send_text(c, t), 0);
}

/* The next text message of c (borrowed until the next receive). */
static const char *recv_text(struct wsc *c)
{
    const struct wsc_msg *m;
    int r = wsc_recv(c, T_MS, &m);

    if (r < 0)
        test_fail(__FILE__, __LINE__, "wsc_recv: %d", r);
    return (const char *)m->data;
}

/* A string member of j ("" when absent). */
static const char *jstr(json_t *j, const char *k)
{
    json_t *v = json_object_get(j, k);

    return json_is_string(v) ? json_string_value(v) : "";
}

/* The venue's counter k (GET /fv/stats). */
static int64_t counter(int port, const char *k)
{
    struct wsc_http h;
    json_t *j;
    int64_t v;

    ASSERT_EQ(wsc_http_get(&h, port, "/fv/stats", T_MS), 0);
    ASSERT_EQ(h.status, 200);
    j = json_loads((const char *)h.body, 0, NULL);
    ASSERT(j != NULL);
    v = json_integer_value(json_object_get(j, k));
    json_decref(j);
    wsc_http_close(&h);
    return v;
}

/* A venue and the clients of a test, each with its observer. */
struct venue {
    struct fv_proc fv;
    struct wsc c[2];
    struct obs o[2];
    int n; /* clients */
};

/* Starts the venue with args and connects a client on each of paths (up to two, NULL ends). */
static void venue_open(struct venue *v, const char *const *args, const char *p0, const char *p1)
{
    const char *paths[2] = {p0, p1};

    memset(v, 0, sizeof(*v));
    start(&v->fv, args);
    for (; v->n < 2 && paths[v->n]; v->n++) {
        obs_init(&v->o[v->n]);
        okx_connect(&v->c[v->n], v->fv.port, paths[v->n]);
    }
}

/* Closes the clients and stops the venue, which must exit 0. */
static void venue_close(struct venue *v)
{
    for (int i = 0; i < v->n; i++) {
        wsc_close(&v->c[i]);
        obs_fini(&v->o[i]);
    }
    ASSERT_EQ(fv_stop(&v->fv), 0);
}

static bool one_error(const struct obs *o)
{
    return o->errors >= 1;
}

/* Acks per arg with the request's id and a connId; errors in the venue's shape for a channel
 * on the wrong path, an unknown channel or instrument, funding-rate of a spot pair and a request
 * that is not JSON; unsubscribe acked; the text ping answered pong. */
TEST(fakevenue_okx_acks_per_arg_refuses_wrong_path_and_answers_ping)
{
    const char *args[] = {"--market", "BTC-USDT,BTC-USDT-SWAP", NULL};
    struct venue v;
    struct wsc *pub = &v.c[0], *bus = &v.c[1];
    struct obs *o = &v.o[0];
    json_t *j;

    venue_open(&v, args, "/ws/v5/public", "/ws/v5/business");

    /* Two args, one request: two acks, each echoing the id and naming its arg. */
    send_text(pub,
              "{\"id\":\"req1\",\"op\":\"subscribe\",\"args\":[{\"channel\":\"tickers\","
              "\"instId\":\"BTC-USDT\"},{\"channel\":\"mark-price\",\"instId\":\"BTC-USDT\"}]}");
    for (int k = 0; k < 2;) {
        const char *t = recv_text(pub);

        feed(o, (const uint8_t *)t, strlen(t));
        if (strstr(t, "\"event\"") == NULL)
            continue; /* data may follow the first ack */
        j = json_loads(t, 0, NULL);
        ASSERT(j != NULL);
        ASSERT_STR_EQ(jstr(j, "id"), "req1");
        ASSERT_STR_EQ(jstr(j, "event"), "subscribe");
        ASSERT_STR_EQ(jstr(json_object_get(j, "arg"), "channel"), k ? "mark-price" : "tickers");
        ASSERT_EQ((int64_t)strlen(jstr(j, "connId")), 8);
        json_decref(j);
        k++;
    }
    ASSERT_EQ(o->acks, 2);

    /* A candle channel on /public, books on /business: refused with 60018. */
    send_text(pub, "{\"op\":\"subscribe\",\"args\":[{\"channel\":\"candle1m\",\"instId\":"
                   "\"BTC-USDT\"}]}");
    run_until(o, pub, one_error);
    ASSERT_EQ(o->err_code, 60018);
    ASSERT_CONTAINS(o->err_msg, "candle1m");
    o->errors = 0;
    send_text(bus, "{\"op\":\"subscribe\",\"args\":[{\"channel\":\"books\",\"instId\":"
                   "\"BTC-USDT\"}]}");
    run_until(o, bus, one_error);
    ASSERT_EQ(o->err_code, 60018);
    o->errors = 0;
    /* The candle on /business is fine: ack, then the open candle. */
    o->acks = 0;
    send_text(bus, "{\"op\":\"subscribe\",\"args\":[{\"channel\":\"candle1m\",\"instId\":"
                   "\"BTC-USDT\"}]}");
    ASSERT_EQ(run(o, bus, 700), 0);
    ASSERT_EQ(o->acks, 1);
    ASSERT_GE(o->kinds[OKX_CANDLES], 1);
    ASSERT_EQ(o->errors, 0);

    /* Unknown channel, unlisted instrument, funding-rate of a spot pair: 60018 each. */
    send_text(pub, "{\"op\":\"subscribe\",\"args\":[{\"channel\":\"nope\",\"instId\":"
                   "\"BTC-USDT\"},{\"channel\":\"trades\",\"instId\":\"ETH-USDT\"},{\"channel\":"
                   "\"funding-rate\",\"instId\":\"BTC-USDT\"}]}");
    run_until(o, pub, one_error);
    ASSERT_EQ(o->err_code, 60018);
    ASSERT_EQ(run(o, pub, 300), 0);
    ASSERT_EQ(o->errors, 3);
    o->errors = 0;
    /* Not JSON, or no op: 60012. */
    send_text(pub, "{\"op\":\"subscribe\"");
    run_until(o, pub, one_error);
    ASSERT_EQ(o->err_code, 60012);
    ASSERT_CONTAINS(o->err_msg, "Invalid request");
    ASSERT_EQ((int64_t)strlen(o->conn_id), 8);

    /* Unsubscribe: acked, and the data stops. */
    send_text(pub, "{\"op\":\"unsubscribe\",\"args\":[{\"channel\":\"tickers\",\"instId\":"
                   "\"BTC-USDT\"},{\"channel\":\"mark-price\",\"instId\":\"BTC-USDT\"}]}");
    ASSERT_EQ(run(o, pub, 500), 0);
    ASSERT_EQ(o->unacks, 2);
    memset(o->kinds, 0, sizeof(o->kinds));
    ASSERT_EQ(run(o, pub, 700), 0);
    ASSERT_EQ(o->kinds[OKX_TICKER] + o->kinds[OKX_FUNDING], 0);

    /* The text ping is answered by the text pong. */
    send_text(pub, "ping");
    ASSERT_STR_EQ(recv_text(pub), "pong");
    ASSERT_EQ(counter(v.fv.port, "errors"), 6);
    venue_close(&v);
    return 0;
}

/* Every channel on both paths: every message decodes with the daemon's decoder, the books
 * chain (snapshot, updates, keepalives) with checksums that verify, candles close with confirm
 * "1"; then the same with the retired checksum 0. */
static int every_channel(bool zero)
{
    const char *args[] = {"--market-rate",
                          "40",
                          "--okx-minute-ms",
                          "600",
                          "--seed",
                          "7",
                          zero ? "--okx-checksum-zero" : NULL,
                          NULL};
    static const char *const chans[] = {"books",  "books5",  "bbo-tbt",
                                        "trades", "tickers", "mark-price"};
    static const char *const insts[] = {"BTC-USDT", "ETH-USDT-SWAP"};
    struct venue v;
    struct wsc *pub = &v.c[0], *bus = &v.c[1];
    struct obs *o = &v.o[0], *ob = &v.o[1];
    char req[2048];
    size_t n = 0;

    venue_open(&v, args, "/ws/v5/public", "/ws/v5/business");
    n += (size_t)snprintf(req + n, sizeof(req) - n, "{\"op\":\"subscribe\",\"args\":[");
    for (size_t i = 0; i < 2; i++)
        for (size_t k = 0; k < sizeof(chans) / sizeof(chans[0]); k++)
            n += (size_t)snprintf(req + n, sizeof(req) - n,
                                  "{\"channel\":\"%s\",\"instId\":\"%s\"},", chans[k], insts[i]);
    n += (size_t)snprintf(req + n, sizeof(req) - n,
                          "{\"channel\":\"funding-rate\",\"instId\":\"ETH-USDT-SWAP\"}]}");
    send_text(pub, req);
    send_text(bus, "{\"op\":\"subscribe\",\"args\":[{\"channel\":\"candle1m\",\"instId\":"
                   "\"BTC-USDT\"},{\"channel\":\"candle1s\",\"instId\":\"ETH-USDT-SWAP\"},"
                   "{\"channel\":\"candle1Dutc\",\"instId\":\"BTC-USDT\"},{\"channel\":"
                   "\"candle1H\",\"instId\":\"ETH-USDT-SWAP\"}]}");
    for (int round = 0; round < 6; round++) {
        ASSERT_EQ(run(o, pub, 250), 0);
        ASSERT_EQ(run(ob, bus, 250), 0);
        send_text(pub, "ping");
        send_text(bus, "ping");
    }
    ASSERT_EQ(o->acks, 13);
    ASSERT_EQ(ob->acks, 4);
    ASSERT_EQ(o->errors + ob->errors, 0);
    ASSERT_GE(o->kinds[OKX_PONG], 5);
    ASSERT_GE(ob->kinds[OKX_PONG], 5);
    /* Every channel delivered. */
    ASSERT_GE(o->books5, 20);
    ASSERT_GE(o->bbo, 20);
    ASSERT_GE(o->kinds[OKX_TRADES], 10);
    ASSERT_GE(o->kinds[OKX_TICKER], 20);
    ASSERT_GE(o->kinds[OKX_FUNDING], 5); /* mark-price of both, funding-rate of the swap */
    ASSERT_GE(ob->kinds[OKX_CANDLES], 8);
    ASSERT_GE(ob->closed_candles, 2);
    ASSERT_EQ(o->kinds[OKX_IGNORED] + ob->kinds[OKX_IGNORED], 0);
    /* Both books chain: one snapshot each, every update applied, keepalives kept the chain. */
    ASSERT_EQ(o->nbooks, 2);
    ASSERT_EQ(o->resyncs, 0);
    for (int i = 0; i < 2; i++) {
        const struct okx_book_stats *st = &o->books[i].stats;

        ASSERT_EQ(st->snapshots, 1);
        ASSERT_GE(st->updates, 20);
        ASSERT_EQ(st->gaps, 0);
        ASSERT_EQ(st->mismatches, 0);
        ASSERT_EQ(st->ignored, 0);
        ASSERT_EQ(o->books[i].state, MDF_BOOK_LIVE);
        if (zero) {
            ASSERT_EQ(st->checksums, 0);
        } else {
            ASSERT_EQ(st->checksums, st->snapshots + st->updates + st->keepalives);
        }
    }
    ASSERT_GE(o->keepalives, 1);
    ASSERT_EQ(o->keepalives, o->books[0].stats.keepalives + o->books[1].stats.keepalives);
    venue_close(&v);
    return 0;
}

TEST(fakevenue_okx_every_channel_decodes_and_books_verify_their_checksums)
{
    return every_channel(false);
}

TEST(fakevenue_okx_checksum_zero_books_chain_on_the_sequence_alone)
{
    return every_channel(true);
}

/* Candle bars open where the venue's do: UTC-aligned below 6 h and for the ...utc bars, at
 * UTC+8 midnight (16:00 UTC) for the plain 6 h and longer ones, weeks on Monday, months on the
 * 1st; each candle's open time holds the current time. */
TEST(fakevenue_okx_candle_bars_open_at_the_venues_times)
{
    static const struct {
        const char *bar;
        int64_t len, off; /* open time = k * len + off (ms), off in [0, len) */
    } bars[] = {
        {"1m", 60000, 0},
        {"1H", 3600000, 0},
        {"4H", 14400000, 0},
        {"6H", 21600000, 57600000 % 21600000},
        {"6Hutc", 21600000, 0},
        {"1D", 86400000, 57600000},
        {"1Dutc", 86400000, 0},
        {"1Wutc", 604800000, 4 * 86400000LL}, /* 1970-01-05 was a Monday */
        {"1W", 604800000, 4 * 86400000LL - 28800000},
    };
    const size_t n = sizeof(bars) / sizeof(bars[0]);
    struct fv_proc fv;
    struct wsc c;
    char req[1024];
    size_t len = 0, seen = 0;
    bool got[16] = {false}, month = false;

    start(&fv, NULL);
    okx_connect(&c, fv.port, "/ws/v5/business");
    len += (size_t)snprintf(req + len, sizeof(req) - len, "{\"op\":\"subscribe\",\"args\":[");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(req + len, sizeof(req) - len,
                                "{\"channel\":\"candle%s\",\"instId\":\"BTC-USDT\"},", bars[i].bar);
    snprintf(req + len, sizeof(req) - len,
             "{\"channel\":\"candle1Mutc\",\"instId\":\"BTC-USDT\"}]}");
    send_text(&c, req);
    while (seen < n + 1) {
        json_t *j = json_loads(recv_text(&c), 0, NULL);
        const char *ch = jstr(json_object_get(j, "arg"), "channel");
        json_t *row = json_array_get(json_object_get(j, "data"), 0);
        int64_t now = (int64_t)time(NULL) * 1000, open;

        ASSERT(j != NULL);
        if (!row) {
            json_decref(j);
            continue; /* an ack */
        }
        open = strtoll(json_string_value(json_array_get(row, 0)), NULL, 10);
        ASSERT_LE(open, now + 1000);
        if (strcmp(ch, "candle1Mutc") == 0) {
            time_t t = (time_t)(open / 1000);
            struct tm tm;

            gmtime_r(&t, &tm);
            ASSERT_EQ(open % 86400000, 0);
            ASSERT_EQ(tm.tm_mday, 1);
            ASSERT_GT(open + 31 * 86400000LL, now);
            seen += !month;
            month = true;
        }
        for (size_t i = 0; i < n; i++) {
            if (strcmp(ch + 6, bars[i].bar) != 0)
                continue;
            if (((open - bars[i].off) % bars[i].len + bars[i].len) % bars[i].len != 0)
                test_fail(__FILE__, __LINE__, "%s opens at %lld", ch, (long long)open);
            ASSERT_GT(open + bars[i].len, now - 1000);
            seen += !got[i];
            got[i] = true;
        }
        json_decref(j);
    }
    wsc_close(&c);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

/* The books subscription of BTC-USDT. */
#define BOOKS_SUB                                                                                  \
    "{\"op\":\"subscribe\",\"args\":[{\"channel\":\"books\",\"instId\":\"BTC-USDT\"}]}"

/* --okx-seq-break and --okx-bad-checksum: the first faulted connection's books channel gets one
 * update that the book rule refuses (a gap, a mismatch) after N updates; a resubscribe heals;
 * the other connection never sees it. */
static int book_fault(const char *opt, bool gap)
{
    const char *args[] = {"--market-rate", "50", opt, "BTC-USDT/15", "--fault-conns", "1", NULL};
    struct venue v;
    struct wsc *c = &v.c[0], *c2 = &v.c[1];
    struct obs *o = &v.o[0], *o2 = &v.o[1];
    const struct okx_book_stats *st;

    venue_open(&v, args, "/ws/v5/public", "/ws/v5/public");
    send_text(c, BOOKS_SUB);
    send_text(c2, BOOKS_SUB);
    ASSERT_EQ(run(o, c, 1500), 0);
    ASSERT_EQ(run(o2, c2, 10), 0);
    st = &o->books[0].stats;
    ASSERT_EQ(o->resyncs, 1);
    ASSERT_EQ(gap ? st->gaps : st->mismatches, 1);
    ASSERT_EQ(gap ? st->mismatches : st->gaps, 0);
    /* It came after 15 updates (keepalives included) applied; the one with the wrong checksum
     * is applied before its checksum is found wrong, the gap is not. */
    ASSERT_EQ(st->updates + st->keepalives, gap ? 15 : 16);
    ASSERT_EQ(o->books[0].state, MDF_BOOK_RESYNCING);
    /* Resubscribing gives a new snapshot and the chain holds again. */
    send_text(c, BOOKS_SUB);
    ASSERT_EQ(run(o, c, 800), 0);
    ASSERT_EQ(o->books[0].state, MDF_BOOK_LIVE);
    ASSERT_EQ(st->snapshots, 2);
    ASSERT_EQ(o->resyncs, 1);
    /* Connection 2 (not faulted) followed without a break. */
    ASSERT_EQ(run(o2, c2, 300), 0);
    ASSERT_EQ(o2->resyncs, 0);
    ASSERT_GE(o2->books[0].stats.updates, 40);
    ASSERT_EQ(counter(v.fv.port, "faults"), 1);
    venue_close(&v);
    return 0;
}

TEST(fakevenue_okx_seq_break_fault_is_a_gap_the_book_rule_catches)
{
    return book_fault("--okx-seq-break", true);
}

TEST(fakevenue_okx_bad_checksum_fault_is_a_mismatch_the_book_rule_catches)
{
    return book_fault("--okx-bad-checksum", false);
}

static bool one_notice(const struct obs *o)
{
    return o->notices >= 1;
}

/* Observers: every subscriber of a channel gets the same market, so a second client can check
 * what a first one (the daemon) was sent. --market-events stops the market: both end on the
 * same book (seqId and checksum text) and the same last trade; the later one saw a suffix of
 * the trades. The pace counts from the first subscription. */
TEST(fakevenue_okx_two_subscribers_end_on_the_same_market)
{
    const char *args[] = {"--market-rate", "100", "--market-events", "60", NULL};
    const char *sub = "{\"op\":\"subscribe\",\"args\":[{\"channel\":\"books\",\"instId\":"
                      "\"BTC-USDT\"},{\"channel\":\"trades\",\"instId\":\"BTC-USDT\"}]}";
    struct venue v;
    struct wsc *c = &v.c[0], *c2 = &v.c[1];
    struct obs *o = &v.o[0], *o2 = &v.o[1];
    char t1[4096], t2[4096];

    venue_open(&v, args, "/ws/v5/public", "/ws/v5/public");
    usleep(800 * 1000); /* longer than the whole market: nothing may be spent before a client */
    send_text(c, sub);
    ASSERT_EQ(run(o, c, 200), 0);
    send_text(c2, sub);
    ASSERT_EQ(run(o, c, 1000), 0);
    ASSERT_EQ(run(o2, c2, 200), 0);
    ASSERT_EQ(o->books[0].stats.updates + o->books[0].stats.keepalives, 60);
    ASSERT_LT(o2->books[0].stats.updates + o2->books[0].stats.keepalives, 60);
    ASSERT_EQ(o->books[0].seq_id, o2->books[0].seq_id);
    ASSERT_GT(okx_book_checksum_text(&o->books[0], t1, sizeof(t1)), 0);
    ASSERT_GT(okx_book_checksum_text(&o2->books[0], t2, sizeof(t2)), 0);
    ASSERT_STR_EQ(t1, t2);
    ASSERT_GE(o->ntrades, 20);
    ASSERT_LT(o2->ntrades, o->ntrades);
    ASSERT_EQ(o->last_trade, o2->last_trade);
    ASSERT_EQ(o->resyncs + o2->resyncs, 0);
    venue_close(&v);
    return 0;
}

/* --shutdown-after: the faulted connection gets the 64008 notice, then a close (1001) after
 * --shutdown-grace; the other connection neither. */
TEST(fakevenue_okx_notice_64008_then_close_after_the_grace)
{
    const char *args[] = {
        "--shutdown-after", "0.3", "--shutdown-grace", "0.5", "--fault-conns", "1", NULL};
    struct venue v;
    struct wsc *c = &v.c[0], *c2 = &v.c[1];
    struct obs *o = &v.o[0], *o2 = &v.o[1];
    int64_t t0;

    venue_open(&v, args, "/ws/v5/public", "/ws/v5/public");
    send_text(c, "{\"op\":\"subscribe\",\"args\":[{\"channel\":\"tickers\",\"instId\":"
                 "\"BTC-USDT\"}]}");
    run_until(o, c, one_notice);
    ASSERT_EQ(o->err_code, OKX_NOTICE_UPGRADE);
    t0 = test_now_ns();
    ASSERT_EQ(run(o, c, T_MS), ERR_WS_CLOSED);
    ASSERT_EQ(c->close_code, 1001);
    ASSERT_GT(test_now_ns() - t0, 300 * 1000000LL);
    ASSERT_EQ(run(o2, c2, 500), 0);
    ASSERT_EQ(o2->notices, 0);
    send_text(c2, "ping");
    ASSERT_STR_EQ(recv_text(c2), "pong");
    ASSERT_EQ(counter(v.fv.port, "infos"), 1);
    venue_close(&v);
    return 0;
}

/* --okx-idle: a client silent that long is cut; one that sends "ping" stays. */
TEST(fakevenue_okx_idle_client_is_cut_and_ping_keeps_it)
{
    const char *args[] = {"--okx-idle", "1", NULL};
    struct venue v;
    struct wsc *quiet = &v.c[0], *busy = &v.c[1];
    struct obs *o = &v.o[0], *o2 = &v.o[1];
    int r = 0;

    venue_open(&v, args, "/ws/v5/public", "/ws/v5/public");
    for (int i = 0; i < 8; i++) {
        send_text(busy, "ping");
        ASSERT_EQ(run(o2, busy, 250), 0);
        if (r == 0)
            r = run(o, quiet, 10);
    }
    ASSERT_EQ(r, ERR_WS_CLOSED);
    ASSERT_EQ(o2->kinds[OKX_PONG], 8);
    send_text(busy, "ping");
    ASSERT_STR_EQ(recv_text(busy), "pong");
    ASSERT_EQ(fv_wait_line(&v.fv, "conn 1 closed idle", T_MS, NULL, 0), 0);
    venue_close(&v);
    return 0;
}

/* --okx-req-limit: requests (not args) over the limit get 60014; pings do not count. */
TEST(fakevenue_okx_request_limit_gives_60014)
{
    const char *args[] = {"--okx-req-limit", "3", NULL};
    struct venue v;
    struct wsc *c = &v.c[0];
    struct obs *o = &v.o[0];

    venue_open(&v, args, "/ws/v5/public", NULL);
    for (int i = 0; i < 3; i++) {
        send_text(c, "{\"op\":\"subscribe\",\"args\":[{\"channel\":\"tickers\",\"instId\":"
                     "\"BTC-USDT\"},{\"channel\":\"bbo-tbt\",\"instId\":\"BTC-USDT\"}]}");
        send_text(c, "ping");
    }
    ASSERT_EQ(run(o, c, 500), 0);
    ASSERT_EQ(o->acks, 6);
    ASSERT_EQ(o->errors, 0);
    send_text(c, "{\"op\":\"unsubscribe\",\"args\":[{\"channel\":\"tickers\",\"instId\":"
                 "\"BTC-USDT\"}]}");
    run_until(o, c, one_error);
    ASSERT_EQ(o->err_code, 60014);
    ASSERT_EQ(o->unacks, 0);
    venue_close(&v);
    return 0;
}

/* The connection fault flags and --lifetime apply to OKX connections: --fault-close-after N
 * closes the faulted one after N data messages, --lifetime cuts the other. */
TEST(fakevenue_okx_connection_faults_and_lifetime_apply)
{
    const char *args[] = {"--fault-close-after",
                          "5",
                          "--fault-close-code",
                          "4000",
                          "--fault-conns",
                          "1",
                          "--lifetime",
                          "1.5",
                          "--market-rate",
                          "20",
                          NULL};
    struct venue v;
    int64_t t0 = test_now_ns();

    venue_open(&v, args, "/ws/v5/public", "/ws/v5/public");
    for (int i = 0; i < 2; i++)
        send_text(&v.c[i], "{\"op\":\"subscribe\",\"args\":[{\"channel\":\"books5\","
                           "\"instId\":\"BTC-USDT\"}]}");
    ASSERT_EQ(run(&v.o[0], &v.c[0], T_MS), ERR_WS_CLOSED);
    ASSERT_EQ(v.c[0].close_code, 4000);
    ASSERT_EQ(v.o[0].books5, 5);
    ASSERT_EQ(run(&v.o[1], &v.c[1], T_MS), ERR_WS_CLOSED);
    ASSERT_EQ(v.c[1].close_code, 1000);
    ASSERT_GT(test_now_ns() - t0, 1400 * 1000000LL);
    ASSERT_GT(v.o[1].books5, 5);
    venue_close(&v);
    return 0;
}

/* Three upgrades a second by default; the fourth is refused with 429. Unknown paths are 404. */
TEST(fakevenue_okx_conn_limit_and_unknown_path)
{
    struct fv_proc fv;
    struct wsc c[4], x;
    int r;

    start(&fv, NULL);
    r = wsc_connect(&x, fv.port, "/ws/v5/private", NULL);
    ASSERT_EQ(r, ERR_WS_HANDSHAKE);
    ASSERT_EQ(x.http_status, 404);
    wsc_close(&x);
    usleep(1100 * 1000);
    for (int i = 0; i < 3; i++)
        okx_connect(&c[i], fv.port, i % 2 ? "/ws/v5/business" : "/ws/v5/public");
    r = wsc_connect(&c[3], fv.port, "/ws/v5/public", NULL);
    ASSERT_EQ(r, ERR_WS_HANDSHAKE);
    ASSERT_EQ(c[3].http_status, 429);
    ASSERT_EQ(counter(fv.port, "refused"), 1);
    for (int i = 0; i < 4; i++)
        wsc_close(&c[i]);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

/* ---- replay (--venue okx --replay FILE) ---- */

#define REC "okx/ws.rec" /* synthetic (tests/fixtures/okx/README.md) */
#define REC_MAX 256      /* lines of the recording the tests read */

/* What the venue sent in the recording (one connection, to /ws/v5/public), in order: the text
 * of every received line. Read by the recording format alone (tests/fixtures/README.md shapes:
 * "URL <-> TS", "TS: JSON", "URL <- TS: JSON"). */
struct rec {
    char *msg[REC_MAX]; /* owned */
    size_t n;
};

static void rec_read(struct rec *r)
{
    FILE *f = fopen(test_fixture(REC), "r");
    char line[65536];

    ASSERT(f != NULL);
    r->n = 0;
    while (fgets(line, sizeof(line), f)) {
        char *j = strstr(line, ": ");

        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] < '0' || line[0] > '9' || !j || strstr(line, " <- ") || strstr(line, " <-> "))
            continue;
        ASSERT_LT(r->n, REC_MAX);
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

/* "channel:instId" of an event's or a data message's arg ("" when it has none); *event tells
 * which of the two it is. */
static void arg_key(const char *t, char *key, size_t cap, bool *event)
{
    json_t *j = json_loads(t, 0, NULL), *arg = json_object_get(j, "arg");

    *event = json_object_get(j, "event") != NULL;
    key[0] = '\0';
    if (json_is_object(arg))
        snprintf(key, cap, "%s:%s", jstr(arg, "channel"), jstr(arg, "instId"));
    json_decref(j);
}

/* The recorded subscribe ack of key, or NULL. */
static const char *rec_ack(const struct rec *r, const char *key)
{
    for (size_t i = 0; i < r->n; i++) {
        char k[128];
        bool ev;

        arg_key(r->msg[i], k, sizeof(k), &ev);
        if (ev && strstr(r->msg[i], "\"event\":\"subscribe\"") && strcmp(k, key) == 0)
            return r->msg[i];
    }
    return NULL;
}

/* True when recorded line i is a data message of one of keys (NULL-terminated). */
static bool rec_data_of(const struct rec *r, size_t i, const char *const *keys)
{
    char k[128];
    bool ev;

    arg_key(r->msg[i], k, sizeof(k), &ev);
    for (size_t n = 0; !ev && keys[n]; n++)
        if (strcmp(k, keys[n]) == 0)
            return true;
    return false;
}

/* Data messages that arrived while a test waited for an event, in order. */
struct got {
    char *msg[REC_MAX]; /* owned */
    size_t n, next;     /* kept, taken */
};

/* Receives until an event arrives and returns it (borrowed); data before it are kept in g. */
static const char *next_event(struct wsc *c, struct got *g)
{
    for (;;) {
        const char *t = recv_text(c);
        char k[128];
        bool ev;

        arg_key(t, k, sizeof(k), &ev);
        if (ev)
            return t;
        ASSERT_LT(g->n, REC_MAX);
        g->msg[g->n++] = strdup(t);
    }
}

/* The next data message: one kept in g, else the next received. */
static const char *next_data(struct wsc *c, struct got *g)
{
    return g->next < g->n ? g->msg[g->next++] : recv_text(c);
}

static void got_free(struct got *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->msg[i]);
    g->n = g->next = 0;
}

/* Checks that connection c receives exactly the recorded data messages of keys, in recorded
 * order, each decoded by the daemon's decoder and books kept by its book rule (o). Returns how
 * many there were. */
static size_t expect_recorded(const struct rec *r, const char *const *keys, struct wsc *c,
                              struct got *g, struct obs *o)
{
    size_t k = 0;

    for (size_t i = 0; i < r->n; i++) {
        const char *m;

        if (!rec_data_of(r, i, keys))
            continue;
        m = next_data(c, g);
        if (strcmp(m, r->msg[i]) != 0)
            test_fail(__FILE__, __LINE__, "message %zu: got %.200s, recorded %.200s", k, m,
                      r->msg[i]);
        feed(o, (const uint8_t *)m, strlen(m));
        k++;
    }
    return k;
}

/* Subscribe args are answered with the recorded acks (the live request's id in place of the
 * recorded one when they differ), an arg the recording never subscribed or a recorded channel
 * asked on the wrong path gets 60018, and each client gets every recorded message of the
 * channels it subscribed, exactly and in order, at the recorded spacing; the books channel's
 * checksums hold for the daemon's book rule. */
TEST(fakevenue_okx_replay_answers_subscribe_args_and_serves_the_recorded_channels)
{
    static const char *const pub_keys[] = {"books:BTC-USDT", "trades:BTC-USDT", "tickers:ETH-USDT",
                                           NULL};
    static const char *const tick_keys[] = {"tickers:ETH-USDT", NULL};
    const char *args[] = {"--replay", test_fixture(REC), NULL};
    struct venue v;
    struct rec r;
    struct got gp = {.n = 0}, gb = {.n = 0};
    char want[512];
    const char *t, *ack;
    int64_t t0, t1;

    rec_read(&r);
    venue_open(&v, args, "/ws/v5/public", "/ws/v5/public");
    /* Public: the recorded request's id, the args in another order than recorded. */
    send_text(&v.c[0], "{\"id\":\"1\",\"op\":\"subscribe\",\"args\":["
                       "{\"channel\":\"tickers\",\"instId\":\"ETH-USDT\"},"
                       "{\"channel\":\"books\",\"instId\":\"BTC-USDT\"},"
                       "{\"channel\":\"trades\",\"instId\":\"BTC-USDT\"}]}");
    ASSERT_STR_EQ(next_event(&v.c[0], &gp), rec_ack(&r, "tickers:ETH-USDT"));
    ASSERT_STR_EQ(next_event(&v.c[0], &gp), rec_ack(&r, "books:BTC-USDT"));
    ASSERT_STR_EQ(next_event(&v.c[0], &gp), rec_ack(&r, "trades:BTC-USDT"));
    /* Another id than the recorded one: the live id in the recorded ack. */
    send_text(&v.c[1], "{\"id\":\"b2\",\"op\":\"subscribe\",\"args\":["
                       "{\"channel\":\"tickers\",\"instId\":\"ETH-USDT\"}]}");
    ack = rec_ack(&r, "tickers:ETH-USDT");
    ASSERT(ack != NULL && strncmp(ack, "{\"id\":\"1\",", 10) == 0);
    snprintf(want, sizeof(want), "{\"id\":\"b2\",%s", ack + 10);
    ASSERT_STR_EQ(next_event(&v.c[1], &gb), want);
    /* Not in the recording: refused, not invented. */
    send_text(&v.c[0], "{\"op\":\"subscribe\",\"args\":[{\"channel\":\"books\","
                       "\"instId\":\"ETH-USDT\"}]}");
    t = next_event(&v.c[0], &gp);
    ASSERT(strstr(t, "\"event\":\"error\"") != NULL);
    ASSERT(strstr(t, "\"code\":\"60018\"") != NULL);
    send_text(&v.c[1], "{\"op\":\"subscribe\",\"args\":[{\"channel\":\"candle1m\","
                       "\"instId\":\"BTC-USDT\"}]}");
    t = next_event(&v.c[1], &gb);
    ASSERT(strstr(t, "\"code\":\"60018\"") != NULL);
    /* Every recorded message of the subscribed channels, exactly and in order, over about the
     * recorded 1.39 s from the snapshot to the last update. */
    t0 = test_now_ns();
    ASSERT_EQ(expect_recorded(&r, pub_keys, &v.c[0], &gp, &v.o[0]), 13);
    t1 = test_now_ns();
    ASSERT_EQ(expect_recorded(&r, tick_keys, &v.c[1], &gb, &v.o[1]), 3);
    ASSERT_GE(t1 - t0, 1000 * 1000000LL);
    ASSERT_EQ(v.o[0].resyncs, 0);
    ASSERT_EQ(v.o[0].keepalives, 1);
    ASSERT_GE(v.o[0].books[0].stats.checksums, 6);
    ASSERT_EQ(fv_wait_line(&v.fv, "replay done", T_MS, NULL, 0), 0);
    {
        const struct wsc_msg *m;

        ASSERT_EQ(wsc_recv(&v.c[0], 300, &m), -ETIMEDOUT);
        ASSERT_EQ(wsc_recv(&v.c[1], 100, &m), -ETIMEDOUT);
        ASSERT_EQ(v.o[1].books5 + v.o[1].ntrades + v.o[1].kinds[OKX_BOOK], 0);
    }
    venue_close(&v);
    got_free(&gp);
    got_free(&gb);
    rec_free(&r);
    return 0;
}

/* A client that takes one of the recorded channels gets that channel's messages and nothing
 * else, flat out (--speed max); an unsubscribe is acked live. */
TEST(fakevenue_okx_replay_serves_only_the_subscribed_channel)
{
    static const char *const keys[] = {"trades:BTC-USDT", NULL};
    const char *args[] = {"--replay", test_fixture(REC), "--speed", "max", NULL};
    struct venue v;
    struct rec r;
    struct got g = {.n = 0};

    rec_read(&r);
    venue_open(&v, args, "/ws/v5/public", NULL);
    send_text(&v.c[0], "{\"id\":\"1\",\"op\":\"subscribe\",\"args\":["
                       "{\"channel\":\"trades\",\"instId\":\"BTC-USDT\"}]}");
    ASSERT_STR_EQ(next_event(&v.c[0], &g), rec_ack(&r, "trades:BTC-USDT"));
    ASSERT_EQ(expect_recorded(&r, keys, &v.c[0], &g, &v.o[0]), 3);
    ASSERT_EQ(v.o[0].ntrades, 3);
    ASSERT_EQ(fv_wait_line(&v.fv, "replay done", T_MS, NULL, 0), 0);
    {
        const struct wsc_msg *m;

        ASSERT_EQ(wsc_recv(&v.c[0], 300, &m), -ETIMEDOUT);
    }
    send_text(&v.c[0], "{\"op\":\"unsubscribe\",\"args\":[{\"channel\":\"trades\","
                       "\"instId\":\"BTC-USDT\"}]}");

    {
        json_t *j = json_loads(recv_text(&v.c[0]), 0, NULL);

        ASSERT_STR_EQ(jstr(j, "event"), "unsubscribe");
        json_decref(j);
    }
    venue_close(&v);
    got_free(&g);
    rec_free(&r);
    return 0;
}
