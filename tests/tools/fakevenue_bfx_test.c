/*
 * Tests of the Bitfinex side of tools/mdfeed-fakevenue (--venue bitfinex), driven as a client
 * would: start the binary (fakevenue.h), talk to it over WebSocket (wsclient.h) and check what
 * arrives and what the venue logs and counts (GET /fv/stats).
 *
 * The book checks are an implementation of the client side of the protocol of their own, not the
 * venue's: numbers are read as doubles (as the venue's JavaScript clients read them), printed
 * back by the shortest form that round-trips through a double (libc's %.*e), laid out by the
 * ECMAScript rules, and the checksum string built from that and hashed with zlib's crc32.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <zlib.h>

#define JSMN_STATIC
#include <jsmn.h>

#include "core/err.h"
#include "support/certs.h"
#include "support/fakevenue.h"
#include "support/wsclient.h"
#include "test.h"

#define T_MS 5000      /* generous wait for anything that should happen */
#define MAX_TOK 8192   /* tokens of one data message (a 250-level book snapshot has ~2000) */
#define MAX_LEVELS 300 /* levels a side in a rebuilt book */

#define F_DEC_S 8
#define F_TIMESTAMP 32768
#define F_SEQ_ALL 65536
#define F_CHECKSUM 131072

/* ---- the venue and connections ---- */

/* Starts the venue with --venue bitfinex and args (NULL-terminated, at most 30). */
static void start(struct fv_proc *fv, const char *const *args)
{
    const char *a[34] = {"--venue", "bitfinex"};
    size_t n = 2;
    int r;

    for (size_t i = 0; args && args[i] && n < 33; i++)
        a[n++] = args[i];
    a[n] = NULL;
    r = fv_start(fv, a);
    if (r < 0)
        test_fail(__FILE__, __LINE__, "fv_start: %d", r);
}

/* Data messages that arrived while a test waited for an event, kept for recv_text() in order
 * (the waits of subscribe() and friends must not lose a snapshot). */
static struct {
    struct wsc *c; /* the connection */
    char *txt;     /* the message (owned) */
} pending[4096];
static size_t npending;

/* Receives the next text message from the socket (borrowed until the next receive) or fails. */
static const char *raw_recv(struct wsc *c, int timeout_ms)
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

/* The next text message of c: a kept one first, else from the socket (borrowed until the next
 * call). */
static const char *recv_text(struct wsc *c, int timeout_ms)
{
    static char *last;

    free(last);
    last = NULL;
    for (size_t i = 0; i < npending; i++) {
        if (pending[i].c != c)
            continue;
        last = pending[i].txt;
        memmove(pending + i, pending + i + 1, (npending - i - 1) * sizeof(pending[0]));
        npending--;
        return last;
    }
    return raw_recv(c, timeout_ms);
}

/* Forgets the kept messages of c (before it is closed). */
static void forget(struct wsc *c)
{
    size_t k = 0;

    for (size_t i = 0; i < npending; i++) {
        if (pending[i].c == c)
            free(pending[i].txt);
        else
            pending[k++] = pending[i];
    }
    npending = k;
}

/* Sends a text message built with printf. */
static void __attribute__((format(printf, 2, 3))) send_fmt(struct wsc *c, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    ASSERT_EQ(wsc_send_text(c, buf), 0);
}

/* Receives messages until an event object arrives; returns it (new). Data arrays that come
 * first are kept for recv_text(). */
static json_t *recv_event(struct wsc *c)
{
    for (;;) {
        const char *t = raw_recv(c, T_MS);

        if (t[0] == '{') {
            json_t *j = json_loads(t, 0, NULL);

            ASSERT(j != NULL);
            return j;
        }
        ASSERT_LT(npending, sizeof(pending) / sizeof(pending[0]));
        pending[npending].c = c;
        pending[npending++].txt = strdup(t);
    }
}

/* The string member k of event j ("" when absent). */
static const char *jstr(json_t *j, const char *k)
{
    json_t *v = json_object_get(j, k);

    return json_is_string(v) ? json_string_value(v) : "";
}

/* The integer member k of event j (-1 when absent). */
static int64_t jint(json_t *j, const char *k)
{
    json_t *v = json_object_get(j, k);

    return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

/* Closes c and forgets what was kept of it. */
static void close_ws(struct wsc *c)
{
    forget(c);
    wsc_close(c);
}

/* Connects to /ws/2 with options o (NULL: plain ws), checks the info event, sends conf when
 * flags != 0 (checking the reply). */
static void bfx_connect_opts(struct wsc *c, int port, const struct wsc_opts *o, int flags,
                             int want_status)
{
    json_t *j;
    int r = wsc_connect(c, port, "/ws/2", o);

    if (r < 0)
        test_fail(__FILE__, __LINE__, "connect: %d (%s) status %d", r, mdf_errmsg(),
                  c->http_status);
    j = recv_event(c);
    ASSERT_STR_EQ(jstr(j, "event"), "info");
    ASSERT_EQ(jint(j, "version"), 2);
    ASSERT(strlen(jstr(j, "serverId")) > 0);
    ASSERT_EQ(jint(json_object_get(j, "platform"), "status"), want_status);
    json_decref(j);
    if (!flags)
        return;
    send_fmt(c, "{\"event\":\"conf\",\"flags\":%d}", flags);
    j = recv_event(c);
    ASSERT_STR_EQ(jstr(j, "event"), "conf");
    ASSERT_STR_EQ(jstr(j, "status"), "OK");
    ASSERT_EQ(jint(j, "flags"), flags);
    json_decref(j);
}

/* bfx_connect_opts() over plain ws. */
static void bfx_connect(struct wsc *c, int port, int flags, int want_status)
{
    bfx_connect_opts(c, port, NULL, flags, want_status);
}

/* Sends a subscribe event (fields: the JSON members after "event") and returns the chanId of
 * the subscribed event that answers it. */
static int64_t subscribe(struct wsc *c, const char *fields)
{
    json_t *j;
    int64_t id;

    send_fmt(c, "{\"event\":\"subscribe\",%s}", fields);
    j = recv_event(c);
    if (strcmp(jstr(j, "event"), "subscribed") != 0)
        test_fail(__FILE__, __LINE__, "subscribe %s: %s %s", fields, jstr(j, "event"),
                  jstr(j, "msg"));
    id = jint(j, "chanId");
    ASSERT_GT(id, 0);
    json_decref(j);
    return id;
}

/* Sends a subscribe event that must fail; checks the error code. */
static void subscribe_error(struct wsc *c, const char *fields, int code)
{
    json_t *j;

    send_fmt(c, "{\"event\":\"subscribe\",%s}", fields);
    j = recv_event(c);
    if (strcmp(jstr(j, "event"), "error") != 0 || jint(j, "code") != code)
        test_fail(__FILE__, __LINE__, "subscribe %s: %s code %" PRId64 ", want error %d", fields,
                  jstr(j, "event"), jint(j, "code"), code);
    ASSERT(strlen(jstr(j, "msg")) > 0);
    json_decref(j);
}

/* GET /fv/stats: the counter named k. */
static int64_t counter(int port, const char *k)
{
    struct wsc_http h;
    json_t *j;
    int64_t v;

    ASSERT_EQ(wsc_http_get(&h, port, "/fv/stats", T_MS), 0);
    ASSERT_EQ(h.status, 200);
    j = json_loads((const char *)h.body, 0, NULL);
    ASSERT(j != NULL);
    v = jint(j, k);
    json_decref(j);
    wsc_http_close(&h);
    return v;
}

/* ---- data messages ---- */

/* One data message, tokenized in place (numbers keep their text). */
struct dmsg {
    char *txt;    /* a copy of the text (owned) */
    jsmntok_t *t; /* tokens */
    int nt;       /* tokens used */
    int64_t chan; /* element 0 */
    int nel;      /* elements of the top array */
    int el[8];    /* token index of the first 8 elements */
    char kind[8]; /* element 1 when it is a string ("hb", "cs", "te", "tu"), else "" */
};

/* Index of the token after the subtree at i. */
static int tok_skip(const jsmntok_t *t, int i)
{
    int n = t[i].size, j = i + 1;

    for (int k = 0; k < n; k++)
        j = tok_skip(t, j);
    return j;
}

/* Copies token i's text (a string's contents without quotes) into out. Returns its length. */
static size_t tok_text(const struct dmsg *d, int i, char *out, size_t cap)
{
    size_t n = (size_t)(d->t[i].end - d->t[i].start);

    if (n >= cap)
        n = cap - 1;
    memcpy(out, d->txt + d->t[i].start, n);
    out[n] = '\0';
    return n;
}

/* Token i as an integer. */
static int64_t tok_int(const struct dmsg *d, int i)
{
    char t[40];

    tok_text(d, i, t, sizeof(t));
    return strtoll(t, NULL, 10);
}

/* Parses a message: 1 for a data array (d filled), 0 for an event object. */
static int parse_msg(struct dmsg *d, const char *txt)
{
    jsmn_parser p;
    int i;

    free(d->txt);
    d->txt = strdup(txt);
    if (!d->t)
        d->t = malloc(MAX_TOK * sizeof(*d->t));
    ASSERT(d->txt && d->t);
    if (txt[0] == '{')
        return 0;
    jsmn_init(&p);
    d->nt = jsmn_parse(&p, d->txt, strlen(d->txt), d->t, MAX_TOK);
    if (d->nt <= 0 || d->t[0].type != JSMN_ARRAY)
        test_fail(__FILE__, __LINE__, "not a data message: %.200s", txt);
    d->nel = d->t[0].size;
    ASSERT_GE(d->nel, 2);
    i = 1;
    for (int k = 0; k < d->nel; k++) {
        if (k < 8)
            d->el[k] = i;
        i = tok_skip(d->t, i);
    }
    d->chan = tok_int(d, d->el[0]);
    d->kind[0] = '\0';
    if (d->t[d->el[1]].type == JSMN_STRING)
        tok_text(d, d->el[1], d->kind, sizeof(d->kind));
    return 1;
}

/* Frees what parse_msg() allocated. */
static void dmsg_free(struct dmsg *d)
{
    free(d->txt);
    free(d->t);
    memset(d, 0, sizeof(*d));
}

/* Receives the next data message into d (events are skipped). */
static void recv_data(struct wsc *c, struct dmsg *d, int timeout_ms)
{
    while (!parse_msg(d, recv_text(c, timeout_ms)))
        ;
}

/* ---- numbers as JavaScript prints them ---- */

/* Writes x as ECMAScript's Number::toString does: the shortest digits that read back as the
 * same double (found with %.*e), as an integer up to 21 digits, a plain fraction down to 1e-6,
 * else with an exponent. */
static void js_format(double x, char *out)
{
    char e[40], dig[24];
    int p, k = 0, exp10, n;
    char *o = out;

    if (x == 0) {
        strcpy(out, "0");
        return;
    }
    if (x < 0) {
        *o++ = '-';
        x = -x;
    }
    for (p = 1; p <= 17; p++) {
        snprintf(e, sizeof(e), "%.*e", p - 1, x);
        if (strtod(e, NULL) == x)
            break;
    }
    for (const char *s = e; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9')
            dig[k++] = *s;
    while (k > 1 && dig[k - 1] == '0')
        k--;
    dig[k] = '\0';
    exp10 = atoi(strchr(e, 'e') + 1);
    n = exp10 + 1; /* x = 0.DIG x 10^n */
    if (k <= n && n <= 21) {
        o += sprintf(o, "%s", dig);
        for (int i = 0; i < n - k; i++)
            *o++ = '0';
    } else if (0 < n && n <= 21) {
        o += sprintf(o, "%.*s.%s", n, dig, dig + n);
    } else if (-6 < n && n <= 0) {
        o += sprintf(o, "0.");
        for (int i = 0; i < -n; i++)
            *o++ = '0';
        o += sprintf(o, "%s", dig);
    } else {
        o += sprintf(o, "%c", dig[0]);
        if (k > 1)
            o += sprintf(o, ".%s", dig + 1);
        o += sprintf(o, "e%c%d", n - 1 < 0 ? '-' : '+', abs(n - 1));
    }
    *o = '\0';
}

TEST(fakevenue_bfx_js_format_matches_known_values)
{
    /* What JavaScript's String(x) gives for these (from the ECMAScript rules). */
    static const struct {
        double x;
        const char *js;
    } K[] = {{0.5, "0.5"},
             {60400, "60400"},
             {0.00001234, "0.00001234"},
             {1e-7, "1e-7"},
             {1.2e-7, "1.2e-7"},
             {0.000001, "0.000001"},
             {-0.68826974, "-0.68826974"},
             {1e21, "1e+21"},
             {123456789012, "123456789012"},
             {3012.3, "3012.3"},
             {-1, "-1"},
             {2.5e-8, "2.5e-8"}};
    char out[64];

    for (size_t i = 0; i < sizeof(K) / sizeof(K[0]); i++) {
        js_format(K[i].x, out);
        ASSERT_STR_EQ(out, K[i].js);
    }
    return 0;
}

/* ---- a book rebuilt from the messages ---- */

/* One level of a rebuilt book. */
struct level {
    double px, amt; /* amount with its API sign */
};

/* One side of a rebuilt book, best first. */
struct bside {
    struct level v[MAX_LEVELS]; /* levels */
    int n;                      /* used */
    bool bid;                   /* bids: descending */
};

/* A rebuilt book and what was seen on its channel. */
struct book {
    int64_t chan;       /* chanId */
    int len;            /* subscribed len */
    struct bside b, a;  /* bids, asks */
    bool snap;          /* snapshot received */
    long cs_ok, cs_bad; /* checksums that matched, that did not */
    long updates;       /* updates applied */
    long tiny;          /* numbers below 1e-6 seen */
};

/* Reads token i of d as a decimal (a JSON number, or a string with DEC_S), checks that its text
 * is what JavaScript prints for it, and counts values below 1e-6. */
static double number(const struct dmsg *d, int i, bool str, long *tiny)
{
    char t[64], js[64];
    double x;

    ASSERT_EQ(d->t[i].type == JSMN_STRING, str);
    tok_text(d, i, t, sizeof(t));
    x = strtod(t, NULL);
    js_format(x, js);
    if (strcmp(t, js) != 0)
        test_fail(__FILE__, __LINE__, "number %s is printed %s by JavaScript", t, js);
    if (x != 0 && fabs(x) < 1e-6 && tiny)
        (*tiny)++;
    return x;
}

/* Sets or deletes a level (amount 0 deletes). */
static void side_set(struct bside *s, double px, double amt)
{
    int i = 0;

    while (i < s->n && (s->bid ? s->v[i].px > px : s->v[i].px < px))
        i++;
    if (i < s->n && s->v[i].px == px) {
        if (amt == 0) {
            memmove(s->v + i, s->v + i + 1, (size_t)(s->n - i - 1) * sizeof(s->v[0]));
            s->n--;
        } else {
            s->v[i].amt = amt;
        }
        return;
    }
    if (amt == 0)
        return;
    ASSERT_LT(s->n, MAX_LEVELS);
    memmove(s->v + i + 1, s->v + i, (size_t)(s->n - i) * sizeof(s->v[0]));
    s->v[i].px = px;
    s->v[i].amt = amt;
    s->n++;
}

/* Applies the level [PRICE,COUNT,AMOUNT] at token i: COUNT 0 deletes (AMOUNT 1 bid, -1 ask). */
static void apply_level(struct book *bk, const struct dmsg *d, int i, bool str)
{
    double px, amt;
    int64_t cnt;

    ASSERT(d->t[i].type == JSMN_ARRAY && d->t[i].size == 3);
    px = number(d, i + 1, str, &bk->tiny);
    cnt = tok_int(d, i + 2);
    amt = number(d, i + 3, str, &bk->tiny);
    ASSERT_GE(cnt, 0);
    ASSERT(px > 0);
    if (cnt == 0) {
        ASSERT(amt == 1 || amt == -1);
        side_set(amt > 0 ? &bk->b : &bk->a, px, 0);
    } else {
        ASSERT(amt != 0);
        side_set(amt > 0 ? &bk->b : &bk->a, px, amt);
    }
}

/* The checksum of the rebuilt book (src/venue/README.md 3.5), computed here. */
static int32_t book_crc(const struct book *bk)
{
    char s[8192], t[64];
    size_t len = 0;

    for (int i = 0; i < 25; i++) {
        const struct level *lv[2] = {i < bk->b.n ? &bk->b.v[i] : NULL,
                                     i < bk->a.n ? &bk->a.v[i] : NULL};

        for (int k = 0; k < 2; k++) {
            if (!lv[k])
                continue;
            js_format(lv[k]->px, t);
            len += (size_t)snprintf(s + len, sizeof(s) - len, "%s%s", len ? ":" : "", t);
            js_format(lv[k]->amt, t);
            len += (size_t)snprintf(s + len, sizeof(s) - len, ":%s", t);
        }
    }
    return (int32_t)(uint32_t)crc32(crc32(0L, Z_NULL, 0), (const Bytef *)s, (uInt)len);
}

/* Feeds one data message of bk's channel: snapshot, update or cs (checked). Returns the value
 * of a cs message's check: 1 matched, -1 did not, 0 not a cs message. */
static int book_feed(struct book *bk, const struct dmsg *d, bool str)
{
    int body = d->el[1];

    if (strcmp(d->kind, "hb") == 0)
        return 0;
    if (strcmp(d->kind, "cs") == 0) {
        int32_t want = (int32_t)tok_int(d, d->el[2]);

        ASSERT(bk->snap);
        /* Between two batches (cs marks the end of one) the book is never crossed. */
        if (bk->b.n && bk->a.n)
            ASSERT(bk->b.v[0].px < bk->a.v[0].px);
        if (book_crc(bk) == want) {
            bk->cs_ok++;
            return 1;
        }
        bk->cs_bad++;
        return -1;
    }
    ASSERT(d->t[body].type == JSMN_ARRAY);
    if (d->t[body].size > 0 && d->t[body + 1].type == JSMN_ARRAY) {
        /* A snapshot: bids best first, then asks best first. */
        int i = body + 1;

        ASSERT(!bk->snap);
        bk->b.n = bk->a.n = 0;
        for (int k = 0; k < d->t[body].size; k++) {
            int nb = bk->b.n, na = bk->a.n;

            ASSERT_GT(tok_int(d, i + 2), 0);
            apply_level(bk, d, i, str);
            /* In book order: each level lands at the end of its side, bids before asks. */
            if (bk->b.n == nb + 1)
                ASSERT(bk->a.n == 0);
            else
                ASSERT_EQ(bk->a.n, na + 1);
            i = tok_skip(d->t, i);
        }
        bk->snap = true;
    } else if (d->t[body].size == 0) {
        ASSERT(!bk->snap);
        bk->snap = true;
    } else {
        ASSERT(bk->snap);
        apply_level(bk, d, body, str);
        bk->updates++;
    }
    ASSERT_LE(bk->b.n, bk->len);
    ASSERT_LE(bk->a.n, bk->len);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */

TEST(fakevenue_bfx_sends_info_answers_conf_ping_and_unknown_events)
{
    struct fv_proc fv;
    struct wsc c, bad;
    json_t *j;

    start(&fv, NULL);
    /* Only /ws/2 is served. */
    ASSERT_EQ(wsc_connect(&bad, fv.port, "/ws", NULL), ERR_WS_HANDSHAKE);
    ASSERT_EQ(bad.http_status, 404);
    close_ws(&bad);
    bfx_connect(&c, fv.port, F_SEQ_ALL | F_CHECKSUM, 1);
    send_fmt(&c, "{\"event\":\"ping\",\"cid\":1234}");
    j = recv_event(&c);
    ASSERT_STR_EQ(jstr(j, "event"), "pong");
    ASSERT_EQ(jint(j, "cid"), 1234);
    ASSERT(llabs(jint(j, "ts") - (int64_t)time(NULL) * 1000) < 60000);
    json_decref(j);
    /* A second conf replaces the flags. */
    send_fmt(&c, "{\"event\":\"conf\",\"flags\":8}");
    j = recv_event(&c);
    ASSERT_STR_EQ(jstr(j, "event"), "conf");
    ASSERT_EQ(jint(j, "flags"), 8);
    json_decref(j);
    send_fmt(&c, "{\"event\":\"dance\"}");
    j = recv_event(&c);
    ASSERT_STR_EQ(jstr(j, "event"), "error");
    ASSERT_EQ(jint(j, "code"), 10000);
    json_decref(j);
    send_fmt(&c, "[0,\"on\",null,{}]");
    j = recv_event(&c);
    ASSERT_EQ(jint(j, "code"), 10000);
    json_decref(j);
    close_ws(&c);
    ASSERT_EQ(counter(fv.port, "upgrades"), 1);
    ASSERT_EQ(counter(fv.port, "errors"), 2);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

TEST(fakevenue_bfx_subscribe_unsubscribe_and_error_codes)
{
    const char *args[] = {"--bfx-pairs", "tBTCUSD,tAVAX:USD,tETHUSD", "--market-rate", "50", NULL};
    struct fv_proc fv;
    struct wsc c;
    struct dmsg d = {0};
    json_t *j;
    int64_t book, trades, ticker, candles;
    bool seen_after = false;

    start(&fv, args);
    bfx_connect(&c, fv.port, 0, 1);
    /* The subscribed events echo what the venue echoes. */
    send_fmt(&c, "{\"event\":\"subscribe\",\"channel\":\"book\",\"symbol\":\"tBTCUSD\","
                 "\"prec\":\"P1\",\"freq\":\"F0\",\"len\":100,\"subId\":\"x1\"}");
    j = recv_event(&c);
    ASSERT_STR_EQ(jstr(j, "event"), "subscribed");
    ASSERT_STR_EQ(jstr(j, "channel"), "book");
    ASSERT_STR_EQ(jstr(j, "symbol"), "tBTCUSD");
    ASSERT_STR_EQ(jstr(j, "prec"), "P1");
    ASSERT_STR_EQ(jstr(j, "freq"), "F0");
    ASSERT_STR_EQ(jstr(j, "len"), "100");
    ASSERT_STR_EQ(jstr(j, "pair"), "BTCUSD");
    ASSERT_STR_EQ(jstr(j, "subId"), "x1");
    book = jint(j, "chanId");
    json_decref(j);
    send_fmt(&c, "{\"event\":\"subscribe\",\"channel\":\"trades\",\"symbol\":\"tAVAX:USD\"}");
    j = recv_event(&c);
    ASSERT_STR_EQ(jstr(j, "channel"), "trades");
    ASSERT_STR_EQ(jstr(j, "symbol"), "tAVAX:USD");
    ASSERT_STR_EQ(jstr(j, "pair"), "AVAX:USD");
    trades = jint(j, "chanId");
    json_decref(j);
    /* The old "pair" parameter names the same thing. */
    send_fmt(&c, "{\"event\":\"subscribe\",\"channel\":\"ticker\",\"pair\":\"BTCUSD\"}");
    j = recv_event(&c);
    ASSERT_STR_EQ(jstr(j, "channel"), "ticker");
    ASSERT_STR_EQ(jstr(j, "symbol"), "tBTCUSD");
    ticker = jint(j, "chanId");
    json_decref(j);
    send_fmt(&c, "{\"event\":\"subscribe\",\"channel\":\"candles\",\"key\":\"trade:1m:tETHUSD\"}");
    j = recv_event(&c);
    ASSERT_STR_EQ(jstr(j, "channel"), "candles");
    ASSERT_STR_EQ(jstr(j, "key"), "trade:1m:tETHUSD");
    ASSERT(json_object_get(j, "symbol") == NULL);
    candles = jint(j, "chanId");
    json_decref(j);
    ASSERT(book != trades && trades != ticker && ticker != candles && candles != book);
    /* Errors, by code only (the texts change). */
    subscribe_error(&c, "\"channel\":\"book\",\"symbol\":\"tXRPUSD\"", 10001); /* not listed */
    subscribe_error(&c, "\"channel\":\"book\",\"symbol\":\"tbtcusd\"", 10001);
    subscribe_error(&c, "\"channel\":\"trades\",\"symbol\":\"tBTC\"", 10001);
    subscribe_error(&c, "\"channel\":\"candles\",\"key\":\"trade:1m:tDOGEUSD\"", 10001);
    subscribe_error(&c, "\"channel\":\"book\",\"symbol\":\"tBTCUSD\",\"prec\":\"P5\"", 10011);
    subscribe_error(&c, "\"channel\":\"book\",\"symbol\":\"tBTCUSD\",\"len\":\"50\"", 10012);
    subscribe_error(&c, "\"channel\":\"book\",\"symbol\":\"tBTCUSD\",\"freq\":\"F9\"", 10300);
    subscribe_error(&c, "\"channel\":\"candles\",\"key\":\"trade:2m:tBTCUSD\"", 10300);
    subscribe_error(&c, "\"channel\":\"candles\",\"key\":\"funding:1m:tBTCUSD\"", 10300);
    subscribe_error(&c, "\"channel\":\"orders\",\"symbol\":\"tBTCUSD\"", 10302);
    subscribe_error(
        &c, "\"channel\":\"book\",\"symbol\":\"tBTCUSD\",\"prec\":\"P1\",\"len\":\"100\"", 10301);
    subscribe_error(&c, "\"channel\":\"trades\",\"pair\":\"AVAX:USD\"", 10301);
    /* The same pair at another precision or length is another channel. */
    subscribe(&c, "\"channel\":\"book\",\"symbol\":\"tBTCUSD\",\"prec\":\"P1\",\"len\":\"25\"");
    /* unsubscribe: the channel goes quiet after the unsubscribed event. */
    send_fmt(&c, "{\"event\":\"unsubscribe\",\"chanId\":%" PRId64 "}", book);
    for (;;) {
        const char *t = recv_text(&c, T_MS);

        if (t[0] == '{') {
            j = json_loads(t, 0, NULL);
            ASSERT_STR_EQ(jstr(j, "event"), "unsubscribed");
            ASSERT_STR_EQ(jstr(j, "status"), "OK");
            ASSERT_EQ(jint(j, "chanId"), book);
            json_decref(j);
            break;
        }
    }
    send_fmt(&c, "{\"event\":\"unsubscribe\",\"chanId\":%" PRId64 "}", book);
    for (int n = 0; n < 400; n++) {
        const char *t = recv_text(&c, T_MS);

        if (t[0] == '{') {
            j = json_loads(t, 0, NULL);
            ASSERT_STR_EQ(jstr(j, "event"), "error");
            ASSERT_EQ(jint(j, "code"), 10401);
            json_decref(j);
            seen_after = true;
            break;
        }
        parse_msg(&d, t);
        ASSERT_NE(d.chan, book);
    }
    ASSERT(seen_after);
    /* The ticker: ten values, bid below ask. */
    for (;;) {
        recv_data(&c, &d, T_MS);
        if (d.chan == ticker && !d.kind[0])
            break;
    }
    ASSERT_EQ(d.t[d.el[1]].size, 10);
    {
        char b[64], a[64];

        tok_text(&d, d.el[1] + 1, b, sizeof(b));
        tok_text(&d, d.el[1] + 3, a, sizeof(a));
        ASSERT(strtod(b, NULL) < strtod(a, NULL));
    }
    close_ws(&c);
    ASSERT_EQ(counter(fv.port, "errors"), 13);
    ASSERT_EQ(counter(fv.port, "subscribed"), 5);
    ASSERT_EQ(counter(fv.port, "unsubscribed"), 1);
    dmsg_free(&d);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

TEST(fakevenue_bfx_channel_limit_gives_10305)
{
    const char *small[] = {"--max-streams", "3", NULL};
    struct fv_proc fv;
    struct wsc c, c2;
    char f[128];
    int64_t first = 0;
    json_t *j;

    /* The venue's default: 25 channels per connection. */
    start(&fv, NULL);
    bfx_connect(&c, fv.port, 0, 1);
    for (int i = 0; i < 25; i++) {
        int64_t id;

        snprintf(f, sizeof(f), "\"channel\":\"candles\",\"key\":\"trade:%s:tBTCUSD\"",
                 (const char *[]){"1m", "5m", "15m", "30m", "1h", "3h", "6h", "12h", "1D", "1W",
                                  "14D", "1M"}[i % 12]);
        if (i >= 12) /* then tickers of other pairs */
            snprintf(f, sizeof(f), "\"channel\":\"ticker\",\"symbol\":\"tA%02dUSD\"", i);
        id = subscribe(&c, f);
        if (!first)
            first = id;
    }
    subscribe_error(&c, "\"channel\":\"trades\",\"symbol\":\"tBTCUSD\"", 10305);
    /* Another connection has its own 25. */
    bfx_connect(&c2, fv.port, 0, 1);
    subscribe(&c2, "\"channel\":\"trades\",\"symbol\":\"tBTCUSD\"");
    ASSERT_EQ(counter(fv.port, "channels"), 26);
    close_ws(&c2);
    /* Room again after an unsubscribe. */
    send_fmt(&c, "{\"event\":\"unsubscribe\",\"chanId\":%" PRId64 "}", first);
    j = recv_event(&c);
    ASSERT_STR_EQ(jstr(j, "event"), "unsubscribed");
    json_decref(j);
    subscribe(&c, "\"channel\":\"trades\",\"symbol\":\"tBTCUSD\"");
    subscribe_error(&c, "\"channel\":\"book\",\"symbol\":\"tBTCUSD\"", 10305);
    close_ws(&c);
    ASSERT_EQ(fv_stop(&fv), 0);
    /* --max-streams changes it. */
    start(&fv, small);
    bfx_connect(&c, fv.port, 0, 1);
    subscribe(&c, "\"channel\":\"trades\",\"symbol\":\"tBTCUSD\"");
    subscribe(&c, "\"channel\":\"ticker\",\"symbol\":\"tBTCUSD\"");
    subscribe(&c, "\"channel\":\"book\",\"symbol\":\"tBTCUSD\"");
    subscribe_error(&c, "\"channel\":\"book\",\"symbol\":\"tETHUSD\"", 10305);
    close_ws(&c);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

/* Collects the number and string texts of the update messages of channel chan (numbers as
 * their text, strings without quotes, one line per message) until n are collected. */
static void collect_updates(struct wsc *c, int64_t chan, char **out, int n)
{
    struct dmsg d = {0};
    int k = 0;

    while (k < n) {
        char line[512] = "", t[64];
        int body;

        recv_data(c, &d, T_MS);
        if (d.chan != chan || d.kind[0])
            continue;
        body = d.el[1];
        if (d.t[body].size == 0 || d.t[body + 1].type == JSMN_ARRAY)
            continue; /* the snapshot */
        for (int i = body + 1; i < body + 4; i++) {
            tok_text(&d, i, t, sizeof(t));
            strcat(line, t);
            strcat(line, d.t[i].type == JSMN_STRING ? "s|" : "n|");
        }
        out[k++] = strdup(line);
    }
    dmsg_free(&d);
}

/* Turns the string marks of a collected line into number marks; returns how many there were. */
static int as_numbers(char *line)
{
    int n = 0;

    for (char *p = line; (p = strstr(p, "s|")); p += 2, n++)
        p[0] = 'n';
    return n;
}

TEST(fakevenue_bfx_dec_s_sends_the_same_decimals_as_strings)
{
    const char *args[] = {"--market-rate", "200", NULL};
    struct fv_proc fv;
    struct wsc num, str;
    char *a[400], *b[200];
    int64_t ca, cb;
    int at = -1;

    start(&fv, args);
    bfx_connect(&num, fv.port, 0, 1);
    bfx_connect(&str, fv.port, F_DEC_S, 1);
    ca = subscribe(&num, "\"channel\":\"book\",\"symbol\":\"tAVAX:USD\",\"len\":\"250\"");
    cb = subscribe(&str, "\"channel\":\"book\",\"symbol\":\"tAVAX:USD\",\"len\":\"250\"");
    collect_updates(&num, ca, a, 400);
    collect_updates(&str, cb, b, 200);
    /* Prices and amounts are strings on one side, numbers on the other; counts are numbers on
     * both. */
    for (int k = 0; k < 200; k++) {
        ASSERT(strstr(a[k], "s|") == NULL);
        ASSERT_EQ(as_numbers(b[k]), 2);
    }
    /* Both connections get the same stream, the second from a little later: its first updates
     * are somewhere in the first's, and from there on every one is the same text. */
    for (int i = 0; i + 5 <= 200 && at < 0; i++) {
        bool same = true;

        for (int k = 0; k < 5 && same; k++)
            same = strcmp(a[i + k], b[k]) == 0;
        if (same)
            at = i;
    }
    ASSERT_GE(at, 0);
    for (int k = 0; k < 200; k++)
        ASSERT_STR_EQ(a[at + k], b[k]);
    for (int k = 0; k < 400; k++)
        free(a[k]);
    for (int k = 0; k < 200; k++)
        free(b[k]);
    close_ws(&num);
    close_ws(&str);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

TEST(fakevenue_bfx_seq_all_and_timestamp_trail_every_message)
{
    const char *args[] = {"--market-rate", "100", "--bfx-hb-ms", "300", NULL};
    struct fv_proc fv;
    struct wsc c, plain;
    struct dmsg d = {0};
    int64_t book, quiet, last = 0;
    long hb = 0, cs = 0, upd = 0, n = 0;
    int64_t now_ms = (int64_t)time(NULL) * 1000;

    start(&fv, args);
    bfx_connect(&c, fv.port, F_SEQ_ALL | F_TIMESTAMP | F_CHECKSUM, 1);
    book = subscribe(&c, "\"channel\":\"book\",\"symbol\":\"tBTCUSD\"");
    /* A daily candle hardly changes: its channel lives on heartbeats. */
    quiet = subscribe(&c, "\"channel\":\"candles\",\"key\":\"trade:1D:tETHUSD\"");
    subscribe(&c, "\"channel\":\"trades\",\"symbol\":\"tBTCUSD\"");
    while (n < 300 || hb < 3) {
        int64_t seq, ts;

        recv_data(&c, &d, T_MS);
        n++;
        /* [CHAN, body..., TIMESTAMP, SEQ]: hb and cs included. */
        seq = tok_int(&d, d.el[d.nel - 1]);
        ts = tok_int(&d, d.el[d.nel - 2]);
        ASSERT_EQ(seq, last + 1);
        last = seq;
        ASSERT(ts > now_ms - 60000 && ts < now_ms + 600000);
        if (strcmp(d.kind, "hb") == 0) {
            ASSERT_EQ(d.nel, 4);
            if (d.chan == quiet)
                hb++;
        } else if (strcmp(d.kind, "cs") == 0) {
            ASSERT_EQ(d.nel, 5);
            ASSERT_EQ(d.chan, book);
            cs++;
        } else if (d.chan == book) {
            ASSERT_EQ(d.nel, 4);
            upd++;
        }
    }
    ASSERT_GT(cs, 10);
    ASSERT_GT(upd, 10);
    /* Without flags: [CHAN, body] and [CHAN,"hb"], nothing appended, no cs. */
    bfx_connect(&plain, fv.port, 0, 1);
    book = subscribe(&plain, "\"channel\":\"book\",\"symbol\":\"tBTCUSD\"");
    quiet = subscribe(&plain, "\"channel\":\"candles\",\"key\":\"trade:1D:tETHUSD\"");
    for (hb = 0, n = 0; n < 100 || hb < 2; n++) {
        recv_data(&plain, &d, T_MS);
        ASSERT(strcmp(d.kind, "cs") != 0);
        ASSERT_EQ(d.nel, 2);
        if (d.chan == quiet && strcmp(d.kind, "hb") == 0)
            hb++;
    }
    ASSERT_GT(counter(fv.port, "hb"), 4);
    close_ws(&c);
    close_ws(&plain);
    dmsg_free(&d);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

/* One book channel of the checksum test. */
struct bsub {
    const char *fields; /* subscribe fields */
    int len;            /* its len */
    bool full;          /* P0 F0: both sides always have len levels */
};

TEST(fakevenue_bfx_book_checksums_match_a_rebuilt_book)
{
    static const struct bsub SUBS[] = {
        {"\"channel\":\"book\",\"symbol\":\"%s\"", 25, true},
        {"\"channel\":\"book\",\"symbol\":\"%s\",\"prec\":\"P1\",\"len\":\"100\"", 100, false},
        {"\"channel\":\"book\",\"symbol\":\"%s\",\"prec\":\"P2\",\"len\":\"250\"", 250, false},
        {"\"channel\":\"book\",\"symbol\":\"%s\",\"prec\":\"P3\",\"len\":\"25\"", 25, false},
        {"\"channel\":\"book\",\"symbol\":\"%s\",\"prec\":\"P4\",\"len\":\"250\"", 250, false},
        {"\"channel\":\"book\",\"symbol\":\"%s\",\"len\":\"1\"", 1, true},
        {"\"channel\":\"book\",\"symbol\":\"%s\",\"len\":\"250\",\"freq\":\"F1\"", 250, false},
    };
    static const char *const PAIRS[] = {"tBTCUSD",   "tETHUSD",          "tAVAX:USD", "tXRPUSD",
                                        "tSHIB:USD", "tTESTBTC:TESTUSD", "tLTCBTC",   "tDOGE:USD"};
    uint64_t seed = test_seed();
    struct test_rng rng;
    char seedarg[32], f[256];
    const char *args[] = {"--market-rate", "300", "--seed", seedarg, NULL};
    enum { NB = sizeof(SUBS) / sizeof(SUBS[0]) };
    struct book *bk = calloc(NB, sizeof(*bk));
    struct fv_proc fv;
    struct wsc c;
    struct dmsg d = {0};
    long tiny = 0, checked = 0;
    bool str;

    ASSERT(bk != NULL);
    test_rng_init(&rng, seed);
    str = test_rng_below(&rng, 2);
    snprintf(seedarg, sizeof(seedarg), "%" PRIu64, seed % 1000000);
    start(&fv, args);
    bfx_connect(&c, fv.port, F_CHECKSUM | F_SEQ_ALL | (str ? F_DEC_S : 0), 1);
    for (int i = 0; i < NB; i++) {
        snprintf(f, sizeof(f), SUBS[i].fields, PAIRS[test_rng_below(&rng, 8)]);
        bk[i].len = SUBS[i].len;
        bk[i].b.bid = true;
        bk[i].chan = subscribe(&c, f);
    }
    while (checked < 3000) {
        int i;

        recv_data(&c, &d, T_MS);
        for (i = 0; i < NB && bk[i].chan != d.chan; i++)
            ;
        ASSERT_LT(i, NB);
        if (book_feed(&bk[i], &d, str) < 0)
            test_fail(__FILE__, __LINE__, "checksum mismatch on %s after %ld updates",
                      SUBS[i].fields, bk[i].updates);
        if (strcmp(d.kind, "cs") == 0)
            checked++;
    }
    for (int i = 0; i < NB; i++) {
        ASSERT(bk[i].snap);
        ASSERT_EQ(bk[i].cs_bad, 0);
        tiny += bk[i].tiny;
        if (i != NB - 1) /* F1 changes come every 2 s */
            ASSERT_GT(bk[i].cs_ok, 0);
        if (SUBS[i].full)
            ASSERT(bk[i].b.n == bk[i].len && bk[i].a.n == bk[i].len);
    }
    /* Amounts below 1e-6 (printed 1.2e-7 and so on) come now and then. */
    ASSERT_GT(tiny, 0);
    close_ws(&c);
    dmsg_free(&d);
    free(bk);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

/* Reads the book channel of c until n checksums were checked; returns the mismatches, and in
 * *at_update the update count of the first one. */
static long read_checked(struct wsc *c, struct book *bk, long n, long *at_update)
{
    struct dmsg d = {0};
    long seen = 0, bad = 0;

    while (seen < n) {
        int r;

        recv_data(c, &d, T_MS);
        if (d.chan != bk->chan)
            continue;
        r = book_feed(bk, &d, false);
        if (r)
            seen++;
        if (r < 0 && !bad++ && at_update)
            *at_update = bk->updates;
    }
    dmsg_free(&d);
    return bad;
}

TEST(fakevenue_bfx_bad_checksum_fault_sends_one_wrong_value)
{
    const char *args[] = {"--market-rate", "200", "--bfx-bad-checksum", "tBTCUSD/30", NULL};
    struct fv_proc fv;
    struct wsc c, c2;
    struct book bk = {.len = 25, .b.bid = true}, other = {.len = 25, .b.bid = true};
    long at = 0;
    char line[256];

    start(&fv, args);
    bfx_connect(&c, fv.port, F_CHECKSUM, 1);
    subscribe(&c, "\"channel\":\"book\",\"symbol\":\"tETHUSD\"");
    bk.chan = subscribe(&c, "\"channel\":\"book\",\"symbol\":\"tBTCUSD\"");
    ASSERT_EQ(read_checked(&c, &bk, 300, &at), 1);
    ASSERT_GE(at, 30);
    ASSERT_EQ(fv_wait_line(&fv, "fault bad-checksum tBTCUSD", T_MS, line, sizeof(line)), 0);
    /* Once per run: another connection gets only right values. */
    bfx_connect(&c2, fv.port, F_CHECKSUM, 1);
    other.chan = subscribe(&c2, "\"channel\":\"book\",\"symbol\":\"tBTCUSD\"");
    ASSERT_EQ(read_checked(&c2, &other, 200, NULL), 0);
    ASSERT_EQ(counter(fv.port, "faults"), 1);
    close_ws(&c);
    close_ws(&c2);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

TEST(fakevenue_bfx_bad_level_is_caught_by_the_checksum_and_a_resubscribe_heals)
{
    const char *args[] = {"--market-rate", "200", "--bfx-bad-level", "tAVAX:USD/20", NULL};
    struct fv_proc fv;
    struct wsc c;
    struct book bk = {.len = 25, .b.bid = true}, again = {.len = 25, .b.bid = true};
    struct dmsg d = {0};
    long at = 0, bad;
    char line[256];
    json_t *j;

    start(&fv, args);
    bfx_connect(&c, fv.port, F_CHECKSUM, 1);
    bk.chan = subscribe(&c, "\"channel\":\"book\",\"symbol\":\"tAVAX:USD\"");
    /* The wrong amount stays in the client's book, so every later checksum fails until it
     * resyncs (or a later update happens to overwrite that level). */
    bad = read_checked(&c, &bk, 60, &at);
    ASSERT_GE(bad, 1);
    ASSERT_GE(at, 20);
    ASSERT_EQ(fv_wait_line(&fv, "fault bad-level tAVAX:USD", T_MS, line, sizeof(line)), 0);
    /* Resync: unsubscribe, subscribe, fresh snapshot; checksums hold again. */
    send_fmt(&c, "{\"event\":\"unsubscribe\",\"chanId\":%" PRId64 "}", bk.chan);
    for (;;) {
        const char *t = recv_text(&c, T_MS);

        if (t[0] != '{')
            continue;
        j = json_loads(t, 0, NULL);
        ASSERT_STR_EQ(jstr(j, "event"), "unsubscribed");
        json_decref(j);
        break;
    }
    again.chan = subscribe(&c, "\"channel\":\"book\",\"symbol\":\"tAVAX:USD\"");
    ASSERT_EQ(read_checked(&c, &again, 200, NULL), 0);
    ASSERT_EQ(counter(fv.port, "faults"), 1);
    close_ws(&c);
    dmsg_free(&d);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

TEST(fakevenue_bfx_gap_fault_skips_one_sequence_number)
{
    const char *args[] = {
        "--market-rate", "100", "--fault-gap-after", "50", "--fault-conns", "1", NULL};
    struct fv_proc fv;
    struct wsc c[2];
    struct dmsg d = {0};
    char line[256];

    start(&fv, args);
    for (int k = 0; k < 2; k++) {
        int64_t last = 0, gaps = 0, gap_at = 0;

        bfx_connect(&c[k], fv.port, F_SEQ_ALL, 1);
        subscribe(&c[k], "\"channel\":\"book\",\"symbol\":\"tBTCUSD\"");
        subscribe(&c[k], "\"channel\":\"trades\",\"symbol\":\"tBTCUSD\"");
        for (int n = 1; n <= 200; n++) {
            int64_t seq;

            recv_data(&c[k], &d, T_MS);
            seq = tok_int(&d, d.el[d.nel - 1]);
            if (seq != last + 1) {
                ASSERT_EQ(seq, last + 2);
                gaps++;
                gap_at = n;
            }
            last = seq;
        }
        /* Connection 1 (--fault-conns 1): one gap, right after its 50th data message. */
        ASSERT_EQ(gaps, k == 0 ? 1 : 0);
        if (k == 0)
            ASSERT_EQ(gap_at, 51);
        close_ws(&c[k]);
    }
    ASSERT_EQ(fv_wait_line(&fv, "conn 1 fault gap seq", T_MS, line, sizeof(line)), 0);
    dmsg_free(&d);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

TEST(fakevenue_bfx_info_20051_then_close_after_the_grace)
{
    const char *args[] = {
        "--shutdown-after", "0.3", "--shutdown-grace", "0.5", "--fault-conns", "1", NULL};
    struct fv_proc fv;
    struct wsc c, c2;
    json_t *j = NULL;
    const struct wsc_msg *m;
    int r;
    int64_t t0;

    start(&fv, args);
    bfx_connect(&c, fv.port, 0, 1);
    subscribe(&c, "\"channel\":\"ticker\",\"symbol\":\"tBTCUSD\"");
    for (;;) {
        const char *t = recv_text(&c, T_MS);

        if (t[0] != '{')
            continue;
        j = json_loads(t, 0, NULL);
        break;
    }
    ASSERT_STR_EQ(jstr(j, "event"), "info");
    ASSERT_EQ(jint(j, "code"), 20051);
    json_decref(j);
    /* Then the close frame (1001) comes after the grace period. */
    t0 = test_now_ns();
    while ((r = wsc_recv(&c, T_MS, &m)) == 0)
        ;
    ASSERT_EQ(r, ERR_WS_CLOSED);
    ASSERT_EQ(c.close_code, 1001);
    ASSERT_GT(test_now_ns() - t0, 100 * 1000000LL);
    close_ws(&c);
    /* --fault-conns 1: connection 2 is left alone. */
    bfx_connect(&c2, fv.port, 0, 1);
    subscribe(&c2, "\"channel\":\"ticker\",\"symbol\":\"tBTCUSD\"");
    ASSERT_EQ(wsc_pump(&c2, 1500), 0);
    while (c2.q_len) {
        ASSERT(recv_text(&c2, T_MS)[0] == '[');
    }
    close_ws(&c2);
    ASSERT_EQ(counter(fv.port, "infos"), 1);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

/* Waits for info event code on c, counting the data messages before it into *data. */
static void wait_info(struct wsc *c, int code, long *data)
{
    for (;;) {
        const char *t = recv_text(c, T_MS);
        json_t *j;

        if (t[0] != '{') {
            (*data)++;
            continue;
        }
        j = json_loads(t, 0, NULL);
        if (strcmp(jstr(j, "event"), "info") != 0) {
            json_decref(j);
            continue;
        }
        ASSERT_EQ(jint(j, "code"), code);
        json_decref(j);
        return;
    }
}

TEST(fakevenue_bfx_maintenance_pauses_data_between_20060_and_20061)
{
    const char *args[] = {"--market-rate",
                          "100",
                          "--bfx-maintenance-after",
                          "1.5",
                          "--bfx-maintenance-len",
                          "1",
                          NULL};
    const char *on_connect[] = {"--market-rate",         "100", "--bfx-maintenance-on-connect",
                                "--bfx-maintenance-len", "0.5", NULL};
    struct fv_proc fv;
    struct wsc c;
    long before = 0, during = 0, after;

    start(&fv, args);
    bfx_connect(&c, fv.port, 0, 1);
    subscribe(&c, "\"channel\":\"book\",\"symbol\":\"tBTCUSD\"");
    wait_info(&c, 20060, &before);
    ASSERT_GT(before, 0);
    wait_info(&c, 20061, &during);
    ASSERT_EQ(during, 0);
    /* Data flows again (the channel resumes; a client should resubscribe all). */
    ASSERT(recv_text(&c, T_MS)[0] == '[');
    close_ws(&c);
    ASSERT_EQ(fv_stop(&fv), 0);
    /* Platform status 0 on connect: no data until 20061. */
    start(&fv, on_connect);
    bfx_connect(&c, fv.port, 0, 0);
    send_fmt(&c, "{\"event\":\"subscribe\",\"channel\":\"book\",\"symbol\":\"tBTCUSD\"}");
    during = 0;
    wait_info(&c, 20061, &during);
    ASSERT_EQ(during, 0);
    subscribe(&c, "\"channel\":\"book\",\"symbol\":\"tETHUSD\"");
    after = 0;
    for (int i = 0; i < 10; i++)
        if (recv_text(&c, T_MS)[0] == '[')
            after++;
    ASSERT_EQ(after, 10);
    close_ws(&c);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

/* A candle [MTS,OPEN,CLOSE,HIGH,LOW,VOLUME] at token i. */
struct cdl {
    int64_t mts;          /* open time */
    double o, c, h, l, v; /* open, close, high, low, volume */
};

/* Reads the candle at token i of d. */
static struct cdl read_candle(const struct dmsg *d, int i)
{
    struct cdl k;

    ASSERT(d->t[i].type == JSMN_ARRAY && d->t[i].size == 6);
    k.mts = tok_int(d, i + 1);
    k.o = number(d, i + 2, false, NULL);
    k.c = number(d, i + 3, false, NULL);
    k.h = number(d, i + 4, false, NULL);
    k.l = number(d, i + 5, false, NULL);
    k.v = number(d, i + 6, false, NULL);
    ASSERT(k.h >= k.o && k.h >= k.c && k.l <= k.o && k.l <= k.c && k.v >= 0);
    return k;
}

TEST(fakevenue_bfx_candles_snapshot_newest_first_then_updates_and_next_candle)
{
    const char *args[] = {"--bfx-minute-ms", "2000", NULL};
    struct fv_proc fv;
    struct wsc c, c2;
    struct dmsg d = {0};
    struct cdl snap0, cur, final = {0};
    int64_t chan, open;
    bool rolled = false;
    int i;

    start(&fv, args);
    bfx_connect(&c, fv.port, 0, 1);
    chan = subscribe(&c, "\"channel\":\"candles\",\"key\":\"trade:1m:tETHUSD\"");
    recv_data(&c, &d, T_MS);
    ASSERT_EQ(d.chan, chan);
    ASSERT_EQ(d.t[d.el[1]].size, 240);
    /* Newest first, one (scaled) minute apart. */
    i = d.el[1] + 1;
    snap0 = read_candle(&d, i);
    open = snap0.mts;
    ASSERT_EQ(open % 2000, 0);
    for (int k = 1; k < 240; k++) {
        struct cdl x;

        i = tok_skip(d.t, i);
        x = read_candle(&d, i);
        ASSERT_EQ(x.mts, open - 2000 * k);
    }
    /* Updates of the open candle, then a new open time: the old candle's last update holds
     * its final values, and the next candle opens where it closed. */
    cur = snap0;
    while (!rolled) {
        struct cdl x;

        recv_data(&c, &d, T_MS);
        ASSERT_EQ(d.chan, chan);
        if (d.kind[0])
            continue;
        x = read_candle(&d, d.el[1]);
        ASSERT_GE(x.mts, cur.mts);
        if (x.mts > cur.mts) {
            ASSERT_EQ(x.mts, cur.mts + 2000);
            ASSERT(x.o == cur.c);
            final = cur;
            rolled = true;
        }
        cur = x;
    }
    /* A later snapshot shows the closed candle with the same values. */
    bfx_connect(&c2, fv.port, 0, 1);
    subscribe(&c2, "\"channel\":\"candles\",\"key\":\"trade:1m:tETHUSD\"");
    recv_data(&c2, &d, T_MS);
    i = d.el[1] + 1;
    rolled = false;
    for (int k = 0; k < 240 && !rolled; k++, i = tok_skip(d.t, i)) {
        struct cdl x = read_candle(&d, i);

        if (x.mts != final.mts)
            continue;
        ASSERT(x.o == final.o && x.c == final.c && x.h == final.h && x.l == final.l &&
               x.v == final.v);
        rolled = true;
    }
    ASSERT(rolled);
    close_ws(&c);
    close_ws(&c2);
    dmsg_free(&d);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

/* A trade [ID,MTS,AMOUNT,PRICE] at token i. */
struct trd {
    int64_t id, mts; /* trade id, time */
    double amt, px;  /* signed amount, price */
};

/* Reads the trade at token i of d. */
static struct trd read_trade(const struct dmsg *d, int i, bool str)
{
    struct trd t;

    ASSERT(d->t[i].type == JSMN_ARRAY && d->t[i].size == 4);
    t.id = tok_int(d, i + 1);
    t.mts = tok_int(d, i + 2);
    t.amt = number(d, i + 3, str, NULL);
    t.px = number(d, i + 4, str, NULL);
    ASSERT(t.amt != 0 && t.px > 0);
    return t;
}

TEST(fakevenue_bfx_trades_te_then_tu_with_the_same_ids)
{
    const char *args[] = {"--market-rate", "100", "--bfx-tu-ms", "300", NULL};
    struct fv_proc fv;
    struct wsc c;
    struct dmsg d = {0};
    struct trd te[256], first;
    int nte = 0, ntu = 0, i;
    int64_t chan, last_id = 0;

    start(&fv, args);
    bfx_connect(&c, fv.port, F_DEC_S, 1);
    chan = subscribe(&c, "\"channel\":\"trades\",\"symbol\":\"tBTCUSD\"");
    recv_data(&c, &d, T_MS);
    ASSERT_EQ(d.chan, chan);
    ASSERT_GT(d.t[d.el[1]].size, 0);
    /* The snapshot: newest first. */
    i = d.el[1] + 1;
    first = read_trade(&d, i, true);
    last_id = first.id;
    for (int k = 1; k < d.t[d.el[1]].size; k++) {
        struct trd t;

        i = tok_skip(d.t, i);
        t = read_trade(&d, i, true);
        ASSERT_LT(t.id, last_id);
        last_id = t.id;
    }
    last_id = first.id;
    while (ntu < 40) {
        struct trd t;

        recv_data(&c, &d, T_MS);
        ASSERT_EQ(d.chan, chan);
        if (strcmp(d.kind, "te") == 0) {
            t = read_trade(&d, d.el[2], true);
            ASSERT_GT(t.id, last_id); /* ids only move forward */
            last_id = t.id;
            ASSERT_LT(nte, 256);
            te[nte++] = t;
        } else if (strcmp(d.kind, "tu") == 0) {
            int k;

            t = read_trade(&d, d.el[2], true);
            /* A tu always follows the te of the same trade, with the same values. */
            for (k = 0; k < nte && te[k].id != t.id; k++)
                ;
            ASSERT_LT(k, nte);
            ASSERT(te[k].mts == t.mts && te[k].amt == t.amt && te[k].px == t.px);
            ASSERT_EQ(k, ntu); /* in the order of the te */
            ntu++;
        }
    }
    ASSERT_GE(counter(fv.port, "te"), nte);
    ASSERT_GE(counter(fv.port, "tu"), ntu);
    close_ws(&c);
    dmsg_free(&d);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

TEST(fakevenue_bfx_conn_limit_refuses_upgrades_and_counts_them)
{
    const char *args[] = {"--conn-limit", "3/60", NULL};
    struct fv_proc fv;
    struct wsc c[4];
    char line[256];

    start(&fv, args);
    for (int i = 0; i < 3; i++)
        bfx_connect(&c[i], fv.port, 0, 1);
    ASSERT_EQ(wsc_connect(&c[3], fv.port, "/ws/2", NULL), ERR_WS_HANDSHAKE);
    ASSERT_EQ(c[3].http_status, 429);
    ASSERT_EQ(fv_wait_line(&fv, "refused conn-limit", T_MS, line, sizeof(line)), 0);
    ASSERT_STR_EQ(line, "conn 4 refused conn-limit");
    ASSERT_EQ(counter(fv.port, "refused"), 1);
    ASSERT_EQ(counter(fv.port, "upgrades"), 3);
    for (int i = 0; i < 4; i++)
        close_ws(&c[i]);
    ASSERT_EQ(fv_stop(&fv), 0);
    /* The venue's default is 20 a minute. */
    start(&fv, NULL);
    for (int i = 0; i < 20; i++) {
        struct wsc x;

        bfx_connect(&x, fv.port, 0, 1);
        close_ws(&x);
    }
    ASSERT_EQ(wsc_connect(&c[0], fv.port, "/ws/2", NULL), ERR_WS_HANDSHAKE);
    ASSERT_EQ(c[0].http_status, 429);
    close_ws(&c[0]);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}

TEST(fakevenue_bfx_serves_wss_with_the_given_certificate)
{
    const char *dir = certs_dir();
    char cert[512], key[512], ca[512];
    const char *args[] = {"--tls-cert", cert, "--tls-key", key, NULL};
    struct wsc_opts o = {.ca_file = ca};
    struct fv_proc fv;
    struct wsc c;
    struct dmsg d = {0};
    int64_t chan;

    if (!dir)
        test_fail(__FILE__, __LINE__, "certs_dir: %s", mdf_errmsg());
    snprintf(cert, sizeof(cert), "%s/good.pem", dir);
    snprintf(key, sizeof(key), "%s/good.key", dir);
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    start(&fv, args);
    bfx_connect_opts(&c, fv.port, &o, F_CHECKSUM | F_SEQ_ALL, 1);
    ASSERT(c.tls_on);
    chan = subscribe(&c, "\"channel\":\"book\",\"symbol\":\"tBTCUSD\"");
    recv_data(&c, &d, T_MS);
    ASSERT_EQ(d.chan, chan);
    ASSERT_EQ(tok_int(&d, d.el[d.nel - 1]), 1); /* the snapshot is message 1 */
    close_ws(&c);
    dmsg_free(&d);
    ASSERT_EQ(fv_stop(&fv), 0);
    return 0;
}
