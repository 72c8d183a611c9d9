/*
 * Tests of mdfeed-cat: the built tool runs as a child process against an instance this test
 * publishes into, either in-process (the publisher API, for exact control over every field,
 * ring size and liveness) or through mdfeed-synth. JSON output is checked with a small strict
 * parser written here, so a line that is not valid JSON fails the test, and every field is
 * compared with the record that was published: decimals as exact strings, times as integers.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mdfeed/mdfeed.h>

#include "shm/publisher.h"
#include "shm/synth.h"
#include "test.h"

#define MAX_LINES 256
#define MAX_ARGS 32

/* ---- running the tool ----------------------------------------------------------------------- */

/* Runs mdfeed-cat -i INSTANCE followed by the NULL-terminated arguments; *out and *err are new.
 * Returns the exit status. */
static int run_cat(const char *instance, char **out, char **err, ...)
{
    char *argv[MAX_ARGS];
    char bin[4096];
    int n = 0;
    va_list ap;

    snprintf(bin, sizeof(bin), "%s", test_bin("mdfeed-cat"));
    argv[n++] = bin;
    argv[n++] = "-i";
    argv[n++] = (char *)instance;
    va_start(ap, err);
    while (n < MAX_ARGS - 1 && (argv[n] = va_arg(ap, char *)))
        n++;
    va_end(ap);
    argv[n] = NULL;
    return test_run_capture(argv, out, err);
}

/* Splits buf into lines in place; every line must end with '\n'. Returns the count. */
static size_t split_lines(char *buf, char **lines, size_t max)
{
    size_t n = 0;
    char *p = buf, *nl;

    while (*p) {
        nl = strchr(p, '\n');
        if (!nl)
            test_fail(__FILE__, __LINE__, "output does not end with a newline: \"%s\"", p);
        if (n == max)
            test_fail(__FILE__, __LINE__, "more than %zu lines", max);
        *nl = '\0';
        lines[n++] = p;
        p = nl + 1;
    }
    return n;
}

/* Asserts that line starts with prefix. */
#define ASSERT_PREFIX(line, prefix)                                                                \
    do {                                                                                           \
        const char *l_ = (line), *p_ = (prefix);                                                   \
        if (strncmp(l_, p_, strlen(p_)) != 0)                                                      \
            test_fail(__FILE__, __LINE__, "\"%s\" does not start with \"%s\"", l_, p_);            \
    } while (0)

/* Milliseconds elapsed since t0 (test_now_ns). */
static int64_t ms_since(int64_t t0)
{
    return (test_now_ns() - t0) / 1000000;
}

/* ---- a small strict JSON parser ------------------------------------------------------------- */

enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
    int t;        /* J_* */
    bool b;       /* J_BOOL value */
    char *s;      /* J_STR decoded UTF-8, J_NUM raw text (new) */
    size_t n;     /* J_ARR / J_OBJ members */
    struct jv *v; /* members (new) */
    char **k;     /* J_OBJ keys (new) */
};

/* Frees what a parse allocated in j (not j itself). */
static void jfree(struct jv *j)
{
    for (size_t i = 0; i < j->n; i++) {
        jfree(&j->v[i]);
        if (j->k)
            free(j->k[i]);
    }
    free(j->v);
    free(j->k);
    free(j->s);
    memset(j, 0, sizeof(*j));
}

/* Skips JSON whitespace. */
static void skip_ws(const char **p)
{
    while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
        (*p)++;
}

/* Value of a hex digit, or -1. */
static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Parses the 4 hex digits of a \\u escape. */
static bool hex4(const char *p, uint32_t *out)
{
    *out = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);

        if (h < 0)
            return false;
        *out = *out << 4 | (uint32_t)h;
    }
    return true;
}

/* Writes code point cp as UTF-8 at o; returns the end. */
static char *put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xc0 | cp >> 6);
        *o++ = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xe0 | cp >> 12);
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *o++ = (char)(0x80 | (cp & 0x3f));
    } else {
        *o++ = (char)(0xf0 | cp >> 18);
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3f));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *o++ = (char)(0x80 | (cp & 0x3f));
    }
    return o;
}

/* Length of a valid UTF-8 sequence at p (NUL-terminated), or 0. */
static size_t utf8_ok(const unsigned char *p)
{
    size_t len = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : 2;
    uint32_t cp = p[0] & (0x3f >> (len - 1));

    if (p[0] < 0xc2 || p[0] > 0xf4)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* Parses a string at *p (at its opening quote) into a new decoded buffer. */
static char *parse_str(const char **p)
{
    const char *s = *p + 1;
    char *buf = malloc(strlen(s) + 1), *o = buf;

    if (**p != '"' || !buf)
        goto fail;
    for (;;) {
        unsigned char c = (unsigned char)*s;

        if (c == '"')
            break;
        if (c < 0x20)
            goto fail; /* raw control characters (and the end of the text) */
        if (c >= 0x80) {
            size_t len = utf8_ok((const unsigned char *)s);

            if (!len)
                goto fail;
            memcpy(o, s, len);
            o += len;
            s += len;
            continue;
        }
        if (c != '\\') {
            *o++ = (char)c;
            s++;
            continue;
        }
        s++;
        switch (*s) {
        case '"':
        case '\\':
        case '/':
            *o++ = *s++;
            break;
        case 'b':
            *o++ = '\b', s++;
            break;
        case 'f':
            *o++ = '\f', s++;
            break;
        case 'n':
            *o++ = '\n', s++;
            break;
        case 'r':
            *o++ = '\r', s++;
            break;
        case 't':
            *o++ = '\t', s++;
            break;
        case 'u': {
            uint32_t cp, lo;

            if (!hex4(s + 1, &cp) || cp == 0)
                goto fail;
            s += 5;
            if (cp >= 0xdc00 && cp <= 0xdfff)
                goto fail;
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (s[0] != '\\' || s[1] != 'u' || !hex4(s + 2, &lo) || lo < 0xdc00 || lo > 0xdfff)
                    goto fail;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                s += 6;
            }
            o = put_utf8(o, cp);
            break;
        }
        default:
            goto fail;
        }
    }
    *o = '\0';
    *p = s + 1;
    return buf;
fail:
    free(buf);
    return NULL;
}

static bool parse_value(const char **p, struct jv *out);

/* Parses [ ... ] or { ... } at *p into out. */
static bool parse_container(const char **p, struct jv *out, bool obj)
{
    char close = obj ? '}' : ']';

    out->t = obj ? J_OBJ : J_ARR;
    (*p)++;
    skip_ws(p);
    if (**p == close) {
        (*p)++;
        return true;
    }
    for (;;) {
        struct jv *v;

        out->v = realloc(out->v, (out->n + 1) * sizeof(*out->v));
        if (obj)
            out->k = realloc(out->k, (out->n + 1) * sizeof(*out->k));
        if (!out->v || (obj && !out->k))
            return false;
        v = &out->v[out->n];
        memset(v, 0, sizeof(*v));
        if (obj)
            out->k[out->n] = NULL;
        out->n++;
        skip_ws(p);
        if (obj) {
            if (**p != '"' || !(out->k[out->n - 1] = parse_str(p)))
                return false;
            skip_ws(p);
            if (**p != ':')
                return false;
            (*p)++;
        }
        if (!parse_value(p, v))
            return false;
        skip_ws(p);
        if (**p == ',') {
            (*p)++;
            continue;
        }
        if (**p != close)
            return false;
        (*p)++;
        return true;
    }
}

/* Parses a JSON number per the grammar, keeping its text. */
static bool parse_num(const char **p, struct jv *out)
{
    const char *s = *p, *b = s;

    if (*s == '-')
        s++;
    if (*s == '0')
        s++;
    else if (*s >= '1' && *s <= '9')
        while (*s >= '0' && *s <= '9')
            s++;
    else
        return false;
    if (*s == '.') {
        if (!(*++s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    out->t = J_NUM;
    out->s = strndup(b, (size_t)(s - b));
    *p = s;
    return out->s != NULL;
}

/* Parses any JSON value at *p into out, advancing *p. */
static bool parse_value(const char **p, struct jv *out)
{
    skip_ws(p);
    switch (**p) {
    case '{':
    case '[':
        return parse_container(p, out, **p == '{');
    case '"':
        out->t = J_STR;
        return (out->s = parse_str(p)) != NULL;
    case 't':
    case 'f':
        out->t = J_BOOL;
        out->b = **p == 't';
        if (strncmp(*p, out->b ? "true" : "false", out->b ? 4 : 5) != 0)
            return false;
        *p += out->b ? 4 : 5;
        return true;
    case 'n':
        out->t = J_NULL;
        if (strncmp(*p, "null", 4) != 0)
            return false;
        *p += 4;
        return true;
    default:
        return parse_num(p, out);
    }
}

/* Parses one line holding exactly one JSON object (fails the test otherwise). */
static void jparse(const char *line, struct jv *out)
{
    const char *p = line;

    memset(out, 0, sizeof(*out));
    if (!parse_value(&p, out) || out->t != J_OBJ)
        test_fail(__FILE__, __LINE__, "not a JSON object: %s", line);
    skip_ws(&p);
    if (*p)
        test_fail(__FILE__, __LINE__, "text after the JSON object: %s", line);
}

/* Member k of object o, or NULL; a key present twice fails the test. */
static const struct jv *jget(const struct jv *o, const char *k)
{
    const struct jv *found = NULL;

    for (size_t i = 0; i < o->n; i++) {
        if (strcmp(o->k[i], k) != 0)
            continue;
        if (found)
            test_fail(__FILE__, __LINE__, "key \"%s\" appears twice", k);
        found = &o->v[i];
    }
    return found;
}

/* ---- JSON expectations (file:line of the caller in failures) -------------------------------- */

#define EXPECT_STR(o, k, want) expect_str(__FILE__, __LINE__, o, k, want)
#define EXPECT_DEC(o, k, d) expect_dec(__FILE__, __LINE__, o, k, d)
#define EXPECT_INT(o, k, want) expect_int(__FILE__, __LINE__, o, k, want)
#define EXPECT_UINT(o, k, want) expect_uint(__FILE__, __LINE__, o, k, want)
#define EXPECT_BOOL(o, k, want) expect_bool(__FILE__, __LINE__, o, k, want)
#define EXPECT_NULL(o, k) expect_type(__FILE__, __LINE__, o, k, J_NULL)

/* Member k of o, which must exist with JSON type t. */
static const struct jv *expect_type(const char *f, int l, const struct jv *o, const char *k, int t)
{
    const struct jv *v = jget(o, k);

    if (!v)
        test_fail(f, l, "key \"%s\" missing", k);
    if (v->t != t)
        test_fail(f, l, "key \"%s\" has JSON type %d, want %d", k, v->t, t);
    return v;
}

/* Member k must be the string want (compared after unescaping). */
static void expect_str(const char *f, int l, const struct jv *o, const char *k, const char *want)
{
    const struct jv *v = expect_type(f, l, o, k, J_STR);

    if (strcmp(v->s, want) != 0)
        test_fail(f, l, "\"%s\": \"%s\", want \"%s\"", k, v->s, want);
}

/* Member k must be the exact text of decimal d, as a string. */
static void expect_dec(const char *f, int l, const struct jv *o, const char *k, struct mdf_dec d)
{
    char want[MDF_DEC_STR_MAX];

    if (mdf_dec_format(d, want, sizeof(want)) < 0)
        test_fail(f, l, "test bug: cannot format the decimal of \"%s\"", k);
    expect_str(f, l, o, k, want);
}

/* Member k must be the integer want, spelled exactly. */
static void expect_int(const char *f, int l, const struct jv *o, const char *k, int64_t want)
{
    const struct jv *v = expect_type(f, l, o, k, J_NUM);
    char buf[32];

    snprintf(buf, sizeof(buf), "%" PRId64, want);
    if (strcmp(v->s, buf) != 0)
        test_fail(f, l, "\"%s\": %s, want %s", k, v->s, buf);
}

/* Member k must be the unsigned integer want, spelled exactly. */
static void expect_uint(const char *f, int l, const struct jv *o, const char *k, uint64_t want)
{
    const struct jv *v = expect_type(f, l, o, k, J_NUM);
    char buf[32];

    snprintf(buf, sizeof(buf), "%" PRIu64, want);
    if (strcmp(v->s, buf) != 0)
        test_fail(f, l, "\"%s\": %s, want %s", k, v->s, buf);
}

/* Member k must be true or false as want. */
static void expect_bool(const char *f, int l, const struct jv *o, const char *k, bool want)
{
    const struct jv *v = expect_type(f, l, o, k, J_BOOL);

    if (v->b != want)
        test_fail(f, l, "\"%s\": %d, want %d", k, v->b, want);
}

/* ---- publishing ----------------------------------------------------------------------------- */

#define BOOK_DEPTH 3

/* Opens the test's instance for writing with small segments: every ring `cap` slots, books of
 * BOOK_DEPTH levels, heartbeat period hb_ns. */
static void pub_start(struct publisher *p, const char *instance, uint64_t cap, int64_t hb_ns)
{
    struct pub_params prm;

    pub_default_params(&prm, instance);
    for (int r = 0; r < MDF_RING_COUNT; r++)
        prm.ring_capacity[r] = cap;
    prm.state = (struct state_params){.max_venues = 4,
                                      .max_symbols = 16,
                                      .book_depth = BOOK_DEPTH,
                                      .candle_k = 8,
                                      .max_series = 16,
                                      .max_streams = 16};
    prm.hb_interval_ns = hb_ns;
    if (pub_open(p, &prm) < 0)
        test_fail(__FILE__, __LINE__, "pub_open: %s", mdf_errmsg());
}

/* The decimal m * 10^e. */
static struct mdf_dec dec_of(int64_t m, int32_t e)
{
    return (struct mdf_dec){.m = m, .e = e};
}

/* A record header of type/size for venue and symbol, with distinct times from i. */
static void hdr_init(union mdf_record *r, int type, size_t size, int venue, uint32_t sym, int64_t i)
{
    memset(r, 0, size);
    r->h.type = (uint16_t)type;
    r->h.size = (uint16_t)size;
    r->h.venue = (uint16_t)venue;
    r->h.symbol = sym;
    r->h.stream = MDF_STREAM_ID_NONE;
    r->h.exch_time_ns = INT64_C(1700000000123456789) + i;
    r->h.tx_time_ns = INT64_C(1700000000123456000) - i;
    r->h.recv_time_ns = INT64_C(9223372036854775000) + i;
    r->h.venue_seq = UINT64_C(18446744073709551000) + (uint64_t)i;
}

/* Published records, per ring, indexed by sequence number. */
static union mdf_record published[MDF_RING_COUNT][8];
static int n_published[MDF_RING_COUNT];

/* Publishes r to ring and keeps a copy, with its sequence number, in published[]. */
static void publish(struct publisher *p, int ring, union mdf_record *r)
{
    uint64_t seq = pub_publish(p, ring, r);

    ASSERT_EQ_U(seq, (uint64_t)n_published[ring]);
    r->h.seq = seq;
    memcpy(&published[ring][n_published[ring]++], r, r->h.size);
}

/* ---- checking one JSON record --------------------------------------------------------------- */

/* The side name the JSON must show. */
static const char *side_str(uint8_t side)
{
    return side == MDF_SIDE_BUY ? "buy" : side == MDF_SIDE_SELL ? "sell" : "unknown";
}

/* Checks one book side: an array of n ["px","qty"] pairs and an order-count array. */
static void check_levels(const struct jv *o, const char *k, const char *ok,
                         const struct mdf_level *lv, unsigned n)
{
    const struct jv *a = expect_type(__FILE__, __LINE__, o, k, J_ARR);
    const struct jv *ords = expect_type(__FILE__, __LINE__, o, ok, J_ARR);
    char want[MDF_DEC_STR_MAX];

    ASSERT_EQ(a->n, n);
    ASSERT_EQ(ords->n, n);
    for (unsigned i = 0; i < n; i++) {
        const struct jv *pair = &a->v[i];

        ASSERT_EQ(pair->t, J_ARR);
        ASSERT_EQ(pair->n, 2);
        ASSERT_EQ(pair->v[0].t, J_STR);
        ASSERT_EQ(pair->v[1].t, J_STR);
        mdf_dec_format(lv[i].px, want, sizeof(want));
        ASSERT_STR_EQ(pair->v[0].s, want);
        mdf_dec_format(lv[i].qty, want, sizeof(want));
        ASSERT_STR_EQ(pair->v[1].s, want);
        ASSERT_EQ(ords->v[i].t, J_NUM);
        ASSERT_EQ(strtoll(ords->v[i].s, NULL, 10), lv[i].orders);
    }
}

#define STREAM_KEY "book:\"P2\":F0:25" /* the stream of the book record, needing escapes */
static const char *g_stream_key;       /* key of the records' stream when registered, else NULL */

/* Compares every field of the JSON object o with the published record r. */
static void check_record(const struct jv *o, const union mdf_record *r, const char *venue,
                         const char *symbol)
{
    const struct mdf_rec_hdr *h = &r->h;

    EXPECT_UINT(o, "seq", h->seq);
    if (venue)
        EXPECT_STR(o, "venue", venue);
    else
        EXPECT_NULL(o, "venue");
    if (symbol)
        EXPECT_STR(o, "symbol", symbol);
    else
        EXPECT_NULL(o, "symbol");
    if (h->symbol == UINT32_MAX)
        EXPECT_NULL(o, "symbol_id");
    else
        EXPECT_UINT(o, "symbol_id", h->symbol);
    if (h->stream == MDF_STREAM_ID_NONE) {
        EXPECT_NULL(o, "stream_id");
        EXPECT_NULL(o, "stream");
    } else {
        EXPECT_UINT(o, "stream_id", h->stream);
        if (g_stream_key)
            EXPECT_STR(o, "stream", g_stream_key);
        else
            EXPECT_NULL(o, "stream"); /* an id with no stream table entry */
    }
    EXPECT_INT(o, "exch_time", h->exch_time_ns);
    EXPECT_INT(o, "tx_time", h->tx_time_ns);
    EXPECT_INT(o, "recv_time", h->recv_time_ns);
    EXPECT_UINT(o, "venue_seq", h->venue_seq);
    EXPECT_UINT(o, "flags", h->flags);
    switch (h->type) {
    case MDF_REC_TRADE:
        EXPECT_STR(o, "type", "trade");
        EXPECT_DEC(o, "price", r->trade.price);
        EXPECT_DEC(o, "qty", r->trade.qty);
        EXPECT_STR(o, "side", side_str(r->trade.side));
        EXPECT_INT(o, "trade_id", r->trade.trade_id);
        EXPECT_INT(o, "first_id", r->trade.first_id);
        EXPECT_INT(o, "last_id", r->trade.last_id);
        EXPECT_BOOL(o, "aggregate", h->flags & MDF_TRADE_F_AGGREGATE);
        EXPECT_BOOL(o, "best_match", h->flags & MDF_TRADE_F_BEST_MATCH);
        break;
    case MDF_REC_BBO:
        EXPECT_STR(o, "type", "bbo");
        EXPECT_DEC(o, "bid_px", r->bbo.bid_px);
        EXPECT_DEC(o, "bid_qty", r->bbo.bid_qty);
        EXPECT_DEC(o, "ask_px", r->bbo.ask_px);
        EXPECT_DEC(o, "ask_qty", r->bbo.ask_qty);
        EXPECT_INT(o, "update_id", r->bbo.update_id);
        break;
    case MDF_REC_TICKER:
        EXPECT_STR(o, "type", "ticker");
        EXPECT_DEC(o, "last_px", r->ticker.last_px);
        EXPECT_DEC(o, "last_qty", r->ticker.last_qty);
        EXPECT_DEC(o, "open_px", r->ticker.open_px);
        EXPECT_DEC(o, "high_px", r->ticker.high_px);
        EXPECT_DEC(o, "low_px", r->ticker.low_px);
        EXPECT_DEC(o, "volume", r->ticker.volume);
        EXPECT_DEC(o, "quote_volume", r->ticker.quote_volume);
        EXPECT_DEC(o, "change", r->ticker.change);
        EXPECT_DEC(o, "change_pct", r->ticker.change_pct);
        EXPECT_DEC(o, "vwap", r->ticker.vwap);
        EXPECT_DEC(o, "bid_px", r->ticker.bid_px);
        EXPECT_DEC(o, "bid_qty", r->ticker.bid_qty);
        EXPECT_DEC(o, "ask_px", r->ticker.ask_px);
        EXPECT_DEC(o, "ask_qty", r->ticker.ask_qty);
        EXPECT_INT(o, "open_time", r->ticker.open_time_ns);
        EXPECT_INT(o, "close_time", r->ticker.close_time_ns);
        EXPECT_INT(o, "first_id", r->ticker.first_id);
        EXPECT_INT(o, "last_id", r->ticker.last_id);
        EXPECT_INT(o, "count", r->ticker.count);
        break;
    case MDF_REC_LIQUIDATION:
        EXPECT_STR(o, "type", "liquidation");
        EXPECT_DEC(o, "price", r->liquidation.price);
        EXPECT_DEC(o, "qty", r->liquidation.qty);
        EXPECT_DEC(o, "avg_price", r->liquidation.avg_price);
        EXPECT_DEC(o, "filled_qty", r->liquidation.filled_qty);
        EXPECT_STR(o, "side", side_str(r->liquidation.side));
        break; /* status: checked by the caller, it may need escaping */
    case MDF_REC_CANDLE:
        EXPECT_STR(o, "type", "candle");
        EXPECT_STR(o, "interval", mdf_interval_name((int)r->candle.interval));
        EXPECT_BOOL(o, "closed", h->flags & MDF_CANDLE_F_CLOSED);
        EXPECT_INT(o, "open_time", r->candle.open_time_ns);
        EXPECT_INT(o, "close_time", r->candle.close_time_ns);
        EXPECT_DEC(o, "open", r->candle.open);
        EXPECT_DEC(o, "high", r->candle.high);
        EXPECT_DEC(o, "low", r->candle.low);
        EXPECT_DEC(o, "close", r->candle.close);
        EXPECT_DEC(o, "volume", r->candle.volume);
        EXPECT_DEC(o, "quote_volume", r->candle.quote_volume);
        EXPECT_DEC(o, "taker_buy_base", r->candle.taker_buy_base);
        EXPECT_DEC(o, "taker_buy_quote", r->candle.taker_buy_quote);
        EXPECT_INT(o, "trades", r->candle.trades);
        EXPECT_INT(o, "first_id", r->candle.first_id);
        EXPECT_INT(o, "last_id", r->candle.last_id);
        break;
    case MDF_REC_BOOK:
        EXPECT_STR(o, "type", "book");
        EXPECT_STR(o, "state", mdf_book_state_name(r->book.state));
        EXPECT_UINT(o, "generation", r->book.generation);
        EXPECT_INT(o, "first_update_id", r->book.first_update_id);
        EXPECT_INT(o, "last_update_id", r->book.last_update_id);
        EXPECT_UINT(o, "depth", r->book.depth);
        EXPECT_UINT(o, "n_bids", r->book.n_bids);
        EXPECT_UINT(o, "n_asks", r->book.n_asks);
        EXPECT_STR(o, "book_kind", mdf_book_kind_name(r->book.kind));
        EXPECT_UINT(o, "precision", r->book.precision);
        EXPECT_UINT(o, "levels_asked", r->book.levels_asked);
        check_levels(o, "bids", "bid_orders", r->book.levels, r->book.n_bids);
        check_levels(o, "asks", "ask_orders", r->book.levels + r->book.depth, r->book.n_asks);
        break;
    case MDF_REC_FUNDING:
        EXPECT_STR(o, "type", "funding");
        EXPECT_DEC(o, "mark_px", r->funding.mark_px);
        EXPECT_DEC(o, "index_px", r->funding.index_px);
        EXPECT_DEC(o, "est_settle_px", r->funding.est_settle_px);
        EXPECT_DEC(o, "funding_rate", r->funding.funding_rate);
        EXPECT_INT(o, "next_funding_time", r->funding.next_funding_time_ns);
        break;
    case MDF_REC_EVENT:
        EXPECT_STR(o, "type", "event");
        EXPECT_UINT(o, "level", r->event.level);
        EXPECT_STR(o, "code", mdf_event_code_name(r->event.code));
        EXPECT_UINT(o, "connection", r->event.connection);
        break; /* text: checked by the caller */
    default:
        EXPECT_STR(o, "type", "unknown");
        EXPECT_UINT(o, "type_id", h->type);
        EXPECT_UINT(o, "size", h->size);
        break;
    }
}

/* ---- tests ---------------------------------------------------------------------------------- */

/* Names with characters JSON must escape: quote, backslash, tab, a control byte, and UTF-8. */
#define VENUE "syn\"th\\v"
#define SYMBOL "BTC\"US\\DT\t\x01\xc3\xa9"
/* Event text with an invalid UTF-8 byte (\xff), which must come out as U+FFFD. */
#define EV_TEXT "say \"hi\" \\ new\nline\ttab \x02 \xe2\x82\xac \xff end"
#define EV_TEXT_DECODED "say \"hi\" \\ new\nline\ttab \x02 \xe2\x82\xac \xef\xbf\xbd end"

/* Every record type, published in-process with awkward values (big and negative ids, positive
 * and negative exponents, names and text that need escaping, invalid UTF-8, an unknown type),
 * comes out of --json as valid JSON whose every field matches the published record. */
TEST(cat_prints_json_with_exact_decimals)
{
    char inst[32], *out, *err, *lines[MAX_LINES];
    struct publisher pub;
    union mdf_record r;
    int venue, seen[MDF_RING_COUNT][8] = {{0}};
    int64_t sym, sym2;
    size_t n, total = 0;
    int rc;

    snprintf(inst, sizeof(inst), "%s", test_instance());
    pub_start(&pub, inst, 64, 100 * 1000 * 1000);
    venue = state_tx_venue(&pub.st, VENUE);
    ASSERT_GE(venue, 0);
    sym = state_tx_symbol(&pub.st, (uint16_t)venue, "ETHUSDT", "ETH/USDT");
    sym2 = state_tx_symbol(&pub.st, (uint16_t)venue, SYMBOL, NULL);
    ASSERT_GE(sym, 0);
    ASSERT_GE(sym2, 0);

    /* ticks 0: a trade with the decimals of the contract, negative ids, flags. */
    hdr_init(&r, MDF_REC_TRADE, sizeof(struct mdf_trade), venue, (uint32_t)sym, 0);
    r.h.flags = MDF_TRADE_F_AGGREGATE;
    r.trade.price = dec_of(1000000, -8);
    r.trade.qty = dec_of(-123456789, -3);
    r.trade.trade_id = INT64_MAX;
    r.trade.first_id = -5;
    r.trade.last_id = INT64_MIN;
    r.trade.side = MDF_SIDE_SELL;
    publish(&pub, MDF_RING_TICKS, &r);
    /* ticks 1: a bbo with positive exponents and zeros, for the second (escaped) symbol. */
    hdr_init(&r, MDF_REC_BBO, sizeof(struct mdf_bbo), venue, (uint32_t)sym2, 1);
    r.bbo.bid_px = dec_of(25, 2);
    r.bbo.bid_qty = dec_of(0, -4);
    r.bbo.ask_px = dec_of(INT64_MAX, -18);
    r.bbo.ask_qty = dec_of(-1, 0);
    r.bbo.update_id = 424242;
    publish(&pub, MDF_RING_TICKS, &r);
    /* ticks 2: a ticker with every field set. */
    hdr_init(&r, MDF_REC_TICKER, sizeof(struct mdf_ticker), venue, (uint32_t)sym, 2);
    {
        struct mdf_dec *d = &r.ticker.last_px;

        for (int k = 0; k < 14; k++)
            d[k] = dec_of(100007 * (k + 1) * (k % 2 ? -1 : 1), -k);
    }
    r.ticker.open_time_ns = 1;
    r.ticker.close_time_ns = 86400000000000;
    r.ticker.first_id = 11;
    r.ticker.last_id = 12;
    r.ticker.count = 13;
    publish(&pub, MDF_RING_TICKS, &r);
    /* ticks 3: a liquidation whose status needs escaping. */
    hdr_init(&r, MDF_REC_LIQUIDATION, sizeof(struct mdf_liquidation), venue, (uint32_t)sym, 3);
    r.liquidation.price = dec_of(31415, -4);
    r.liquidation.qty = dec_of(2, 0);
    r.liquidation.avg_price = dec_of(31400, -4);
    r.liquidation.filled_qty = dec_of(15, -1);
    r.liquidation.side = MDF_SIDE_BUY;
    snprintf(r.liquidation.status, sizeof(r.liquidation.status), "FI\"LL\\ED");
    publish(&pub, MDF_RING_TICKS, &r);
    /* ticks 4: a status filling all 16 bytes, with no NUL: must stop at the field's end. */
    hdr_init(&r, MDF_REC_LIQUIDATION, sizeof(struct mdf_liquidation), venue, (uint32_t)sym, 4);
    memcpy(r.liquidation.status, "ABCDEFGHIJKLMNOP", 16);
    publish(&pub, MDF_RING_TICKS, &r);
    /* ticks 5: a record of a type this tool does not know, unknown venue and symbol. */
    hdr_init(&r, 200, 64, 7, 9, 5);
    publish(&pub, MDF_RING_TICKS, &r);

    /* candles: one closed, one still open. */
    for (int k = 0; k < 2; k++) {
        hdr_init(&r, MDF_REC_CANDLE, sizeof(struct mdf_candle), venue, (uint32_t)sym, 10 + k);
        r.h.flags = k == 0 ? MDF_CANDLE_F_CLOSED : 0;
        r.candle.interval = k == 0 ? MDF_IV_1H : MDF_IV_1MO;
        r.candle.open_time_ns = 3600000000000 * (k + 1);
        r.candle.close_time_ns = 3600000000000 * (k + 2) - 1;
        for (int f = 0; f < 8; f++)
            (&r.candle.open)[f] = dec_of(987654321 + f + k, -(f + 2));
        r.candle.trades = 1000 + k;
        r.candle.first_id = 77;
        r.candle.last_id = 1077;
        publish(&pub, MDF_RING_CANDLES, &r);
    }

    /* books: 2 of 3 bids and 1 of 3 asks valid; the rest must not be printed. It names its
     * stream, a Bitfinex-like P2 book of 25 levels. */
    {
        struct mdf_stream_entry se = {.venue = (uint16_t)venue,
                                      .symbol = (uint32_t)sym2,
                                      .type = MDF_REC_BOOK,
                                      .book_kind = MDF_BOOK_KIND_FULL,
                                      .precision = 2,
                                      .levels = 25,
                                      .key = STREAM_KEY};

        ASSERT_EQ(state_tx_stream(&pub.st, &se), 0);
        g_stream_key = STREAM_KEY;
    }
    hdr_init(&r, MDF_REC_BOOK, MDF_BOOK_SIZE(BOOK_DEPTH), venue, (uint32_t)sym2, 20);
    r.h.stream = 0;
    r.book.kind = MDF_BOOK_KIND_FULL;
    r.book.precision = 2;
    r.book.levels_asked = 25;
    r.book.state = MDF_BOOK_RESYNCING;
    r.book.depth = BOOK_DEPTH;
    r.book.n_bids = 2;
    r.book.n_asks = 1;
    r.book.generation = 5;
    r.book.first_update_id = 100;
    r.book.last_update_id = 200;
    for (int k = 0; k < 2 * BOOK_DEPTH; k++) {
        r.book.levels[k].px = dec_of(50000 + k, -2);
        r.book.levels[k].qty = dec_of(k + 1, -8);
        r.book.levels[k].orders = (uint32_t)(k * 3);
    }
    publish(&pub, MDF_RING_BOOKS, &r);

    /* funding */
    hdr_init(&r, MDF_REC_FUNDING, sizeof(struct mdf_funding), venue, (uint32_t)sym, 30);
    r.funding.mark_px = dec_of(6543210, -2);
    r.funding.index_px = dec_of(6543100, -2);
    r.funding.est_settle_px = dec_of(654, 2);
    r.funding.funding_rate = dec_of(-375, -8);
    r.funding.next_funding_time_ns = INT64_C(1700028800000000000);
    publish(&pub, MDF_RING_FUNDING, &r);

    /* events: no symbol, text that needs every kind of escaping. */
    hdr_init(&r, MDF_REC_EVENT, sizeof(struct mdf_event), venue, UINT32_MAX, 40);
    r.event.level = 4;
    r.event.code = MDF_EV_CONNECTION_ERROR;
    r.event.connection = 77;
    snprintf(r.event.text, sizeof(r.event.text), "%s", EV_TEXT);
    publish(&pub, MDF_RING_EVENTS, &r);

    rc = run_cat(inst, &out, &err, "ticks", "candles", "books", "funding", "events", "--json",
                 "--from-start", (char *)NULL);
    ASSERT_EQ(rc, 0);
    ASSERT_STR_EQ(err, "");
    n = split_lines(out, lines, MAX_LINES);
    for (int ring = 0; ring < MDF_RING_COUNT; ring++)
        total += (size_t)n_published[ring];
    ASSERT_EQ(n, total);

    for (size_t i = 0; i < n; i++) {
        const union mdf_record *want;
        const struct jv *v;
        struct jv o;
        int ring;
        uint64_t seq;

        jparse(lines[i], &o);
        v = expect_type(__FILE__, __LINE__, &o, "ring", J_STR);
        ring = mdf_ring_from_name(v->s);
        ASSERT_GE(ring, 0);
        v = expect_type(__FILE__, __LINE__, &o, "seq", J_NUM);
        seq = strtoull(v->s, NULL, 10);
        ASSERT_LT(seq, (uint64_t)n_published[ring]);
        ASSERT_EQ(seen[ring][seq]++, 0);
        want = &published[ring][seq];
        check_record(&o, want, want->h.venue == venue ? VENUE : NULL,
                     want->h.symbol == (uint32_t)sym    ? "ETHUSDT"
                     : want->h.symbol == (uint32_t)sym2 ? SYMBOL
                                                        : NULL);
        /* The values of the contract, spelled out rather than recomputed. */
        if (ring == MDF_RING_TICKS && seq == 0) {
            EXPECT_STR(&o, "price", "0.01000000");
            EXPECT_STR(&o, "qty", "-123456.789");
            EXPECT_STR(&o, "side", "sell");
            EXPECT_BOOL(&o, "aggregate", true);
            ASSERT_CONTAINS(lines[i], "\"trade_id\":9223372036854775807");
            ASSERT_CONTAINS(lines[i], "\"last_id\":-9223372036854775808");
            ASSERT_CONTAINS(lines[i], "\"exch_time\":1700000000123456789");
        }
        if (ring == MDF_RING_TICKS && seq == 1) {
            EXPECT_STR(&o, "bid_px", "2500");
            EXPECT_STR(&o, "bid_qty", "0.0000");
            EXPECT_STR(&o, "ask_px", "9.223372036854775807");
            EXPECT_STR(&o, "ask_qty", "-1");
        }
        if (ring == MDF_RING_TICKS && seq == 3)
            EXPECT_STR(&o, "status", "FI\"LL\\ED");
        if (ring == MDF_RING_TICKS && seq == 4)
            EXPECT_STR(&o, "status", "ABCDEFGHIJKLMNOP");
        if (ring == MDF_RING_CANDLES)
            EXPECT_STR(&o, "interval", seq == 0 ? "1h" : "1M");
        if (ring == MDF_RING_BOOKS) {
            EXPECT_STR(&o, "state", "RESYNCING");
            ASSERT_CONTAINS(lines[i], "\"stream_id\":0,\"stream\":\"book:\\\"P2\\\":F0:25\",");
            ASSERT_CONTAINS(lines[i], "\"book_kind\":\"full\",\"precision\":2,"
                                      "\"levels_asked\":25");
            ASSERT_CONTAINS(lines[i], "\"bids\":[[\"500.00\",\"0.00000001\"],"
                                      "[\"500.01\",\"0.00000002\"]]");
            ASSERT_CONTAINS(lines[i], "\"asks\":[[\"500.03\",\"0.00000004\"]]");
        }
        if (ring == MDF_RING_FUNDING)
            EXPECT_STR(&o, "funding_rate", "-0.00000375");
        if (ring == MDF_RING_EVENTS) {
            EXPECT_STR(&o, "code", "CONNECTION_ERROR");
            EXPECT_STR(&o, "text", EV_TEXT_DECODED);
        }
        jfree(&o);
    }
    /* Round-robin: the first line of each ring comes before the second of any. */
    ASSERT_CONTAINS(lines[0], "\"ring\":\"ticks\",\"seq\":0,");
    ASSERT_CONTAINS(lines[1], "\"ring\":\"candles\",\"seq\":0,");
    ASSERT_CONTAINS(lines[2], "\"ring\":\"books\",\"seq\":0,");
    free(out);
    free(err);
    pub_close(&pub, true);
    return 0;
}

/* A reader that starts behind an 8-slot ring's oldest record gets exactly one lost line with
 * the exact count, then the records that remain; nothing is reported lost otherwise. */
TEST(cat_prints_lost_line_when_lapped)
{
    char inst[32], *out, *err, *lines[MAX_LINES];
    struct publisher pub;
    union mdf_record r;
    size_t n;
    int venue;

    snprintf(inst, sizeof(inst), "%s", test_instance());
    pub_start(&pub, inst, 8, 100 * 1000 * 1000);
    venue = state_tx_venue(&pub.st, "synth");
    ASSERT_GE(state_tx_symbol(&pub.st, (uint16_t)venue, "SYNTH0", NULL), 0);
    for (uint64_t i = 0; i < 20; i++) {
        synth_record(&r, MDF_REC_TRADE, i, (uint32_t)venue, 0, 0);
        ASSERT_EQ_U(pub_publish(&pub, MDF_RING_TICKS, &r), i);
    }

    /* Starting at seq 0 of a ring whose tail is 20 and capacity 8: exactly 12 lost. */
    ASSERT_EQ(run_cat(inst, &out, &err, "ticks", "--json", "--seq", "0", (char *)NULL), 0);
    n = split_lines(out, lines, MAX_LINES);
    ASSERT_EQ(n, 1 + 8);
    {
        struct jv o;

        jparse(lines[0], &o);
        ASSERT_EQ(o.n, 3);
        EXPECT_STR(&o, "type", "lost");
        EXPECT_STR(&o, "ring", "ticks");
        EXPECT_UINT(&o, "count", 12);
        jfree(&o);
    }
    for (size_t k = 1; k < n; k++) {
        uint64_t i = 12 + (k - 1);
        struct jv o;

        synth_record(&r, MDF_REC_TRADE, i, (uint32_t)venue, 0, 0);
        r.h.seq = i;
        jparse(lines[k], &o);
        check_record(&o, &r, "synth", "SYNTH0");
        jfree(&o);
    }
    free(out);
    free(err);

    /* Text mode: the same gap as "RING lost N" before the first record. */
    ASSERT_EQ(run_cat(inst, &out, &err, "ticks", "--seq", "0", "-n", "2", (char *)NULL), 0);
    n = split_lines(out, lines, MAX_LINES);
    ASSERT_EQ(n, 3);
    ASSERT_STR_EQ(lines[0], "ticks lost 12");
    ASSERT_PREFIX(lines[1], "ticks 12 trade synth:SYNTH0 ");
    ASSERT_PREFIX(lines[2], "ticks 13 trade synth:SYNTH0 ");
    free(out);
    free(err);

    /* A start inside the ring loses nothing; --from-start starts at the oldest held. */
    ASSERT_EQ(run_cat(inst, &out, &err, "ticks", "--seq", "15", (char *)NULL), 0);
    n = split_lines(out, lines, MAX_LINES);
    ASSERT_EQ(n, 5);
    ASSERT_PREFIX(lines[0], "ticks 15 ");
    free(out);
    free(err);
    ASSERT_EQ(run_cat(inst, &out, &err, "ticks", "--from-start", (char *)NULL), 0);
    n = split_lines(out, lines, MAX_LINES);
    ASSERT_EQ(n, 8);
    ASSERT_PREFIX(lines[0], "ticks 12 ");
    ASSERT(strstr(out, "lost") == NULL);
    free(out);
    free(err);
    pub_close(&pub, true);
    return 0;
}

/* Forks a producer that, after delay_ms, publishes a trade to ticks every period_ms until it
 * is killed. Returns its pid. */
static pid_t start_producer(struct publisher *pub, int venue, int delay_ms, int period_ms)
{
    pid_t pid = fork();

    ASSERT(pid >= 0);
    if (pid == 0) {
        struct timespec d = {.tv_sec = 0, .tv_nsec = (long)delay_ms * 1000000};
        struct timespec per = {.tv_sec = 0, .tv_nsec = (long)period_ms * 1000000};
        union mdf_record r;

        nanosleep(&d, NULL);
        for (uint64_t i = 0; i < 100000; i++) {
            synth_record(&r, MDF_REC_TRADE, i, (uint32_t)venue, 0, 0);
            pub_publish(pub, MDF_RING_TICKS, &r);
            nanosleep(&per, NULL);
        }
        _exit(0);
    }
    return pid;
}

/* Kills the producer and takes over the ticks tail it advanced in shared memory. */
static void stop_producer(struct publisher *pub, pid_t pid)
{
    int status;

    kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    pub->tx[MDF_RING_TICKS].tail = ring_tail(pub->rings[MDF_RING_TICKS].base);
}

/* -f -n waits for records that arrive later; --timeout ends a wait (3 if -n is not met, else
 * 0); a following cat writes each line at once into a pipe and exits 0 on SIGTERM. */
TEST(cat_follows_until_count_and_times_out)
{
    char inst[32], *out, *err, *lines[MAX_LINES], bin[4096], buf[4096];
    struct publisher pub;
    int64_t t0, ms;
    int venue, rc, fds[2], status;
    size_t n, got = 0;
    uint64_t first = 0;
    pid_t prod, cat;

    snprintf(inst, sizeof(inst), "%s", test_instance());
    /* A long heartbeat period: this process owns the instance and stays alive throughout. */
    pub_start(&pub, inst, 1024, INT64_C(30) * 1000000000);
    venue = state_tx_venue(&pub.st, "synth");
    ASSERT_GE(state_tx_symbol(&pub.st, (uint16_t)venue, "SYNTH0", NULL), 0);

    /* -f -n 5: nothing is there at the start; the records arrive later. */
    prod = start_producer(&pub, venue, 200, 10);
    t0 = test_now_ns();
    rc = run_cat(inst, &out, &err, "ticks", "--json", "-f", "-n", "5", (char *)NULL);
    ms = ms_since(t0);
    stop_producer(&pub, prod);
    ASSERT_EQ(rc, 0);
    ASSERT_STR_EQ(err, "");
    ASSERT_GE(ms, 150);
    n = split_lines(out, lines, MAX_LINES);
    ASSERT_EQ(n, 5);
    for (size_t k = 0; k < n; k++) {
        const struct jv *seq;
        struct jv o;

        jparse(lines[k], &o);
        EXPECT_STR(&o, "type", "trade");
        seq = expect_type(__FILE__, __LINE__, &o, "seq", J_NUM);
        if (k == 0)
            first = strtoull(seq->s, NULL, 10);
        ASSERT_EQ_U(strtoull(seq->s, NULL, 10), first + k);
        jfree(&o);
    }
    free(out);
    free(err);

    /* -n 5 with nobody publishing and --timeout 0.3: gives up after 0.3 s with status 3. */
    t0 = test_now_ns();
    rc = run_cat(inst, &out, &err, "ticks", "-n", "5", "--timeout", "0.3", (char *)NULL);
    ms = ms_since(t0);
    ASSERT_EQ(rc, 3);
    ASSERT_STR_EQ(out, "");
    ASSERT_GE(ms, 280);
    ASSERT_LT(ms, 5000);
    free(out);
    free(err);

    /* -f with --timeout and no -n: the timeout is a normal end. */
    t0 = test_now_ns();
    rc = run_cat(inst, &out, &err, "ticks", "books", "-f", "--timeout", "0.2", (char *)NULL);
    ASSERT_EQ(rc, 0);
    ASSERT_GE(ms_since(t0), 180);
    free(out);
    free(err);

    /* -f into a pipe: each line arrives while cat still runs; SIGTERM ends it with status 0. */
    ASSERT_EQ(pipe(fds), 0);
    snprintf(bin, sizeof(bin), "%s", test_bin("mdfeed-cat"));
    cat = fork();
    ASSERT(cat >= 0);
    if (cat == 0) {
        char *argv[] = {bin, "-i", inst, "ticks", "-f", NULL};

        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execv(bin, argv);
        _exit(127);
    }
    close(fds[1]);
    /* Slow enough that a block-buffered cat would not fill its buffer in the time given. */
    prod = start_producer(&pub, venue, 100, 400);
    t0 = test_now_ns();
    while (!memchr(buf, '\n', got) && ms_since(t0) < 2500) {
        struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
        ssize_t k;

        if (poll(&pfd, 1, 100) <= 0)
            continue;
        k = read(fds[0], buf + got, sizeof(buf) - 1 - got);
        ASSERT_GT(k, 0);
        got += (size_t)k;
    }
    stop_producer(&pub, prod);
    buf[got] = '\0';
    ASSERT_CONTAINS(buf, "ticks ");
    ASSERT_CONTAINS(buf, " trade synth:SYNTH0 ");
    ASSERT_EQ(waitpid(cat, &status, WNOHANG), 0); /* still following */
    kill(cat, SIGTERM);
    ASSERT_EQ(waitpid(cat, &status, 0), cat);
    ASSERT(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
    close(fds[0]);
    pub_close(&pub, true);
    return 0;
}

/* A missing instance is status 1 with a message naming it; command-line mistakes are 2. */
TEST(cat_reports_missing_instance_and_bad_ring)
{
    char inst[32], missing[48], *out, *err;
    struct publisher pub;
    int rc;

    snprintf(inst, sizeof(inst), "%s", test_instance());
    snprintf(missing, sizeof(missing), "%snone", inst);

    /* No such instance: status 1, and the message names it. */
    rc = run_cat(missing, &out, &err, "ticks", "--from-start", (char *)NULL);
    ASSERT_EQ(rc, 1);
    ASSERT_STR_EQ(out, "");
    ASSERT_CONTAINS(err, "cannot open instance");
    ASSERT_CONTAINS(err, missing);
    free(out);
    free(err);

    pub_start(&pub, inst, 8, 100 * 1000 * 1000);
    /* Usage errors exit 2 before anything is read, even with a good instance. */
    rc = run_cat(inst, &out, &err, "ticks", "tickz", (char *)NULL);
    ASSERT_EQ(rc, 2);
    ASSERT_CONTAINS(err, "unknown ring \"tickz\"");
    ASSERT_STR_EQ(out, "");
    free(out);
    free(err);
    rc = run_cat(missing, &out, &err, "nosuchring", (char *)NULL);
    ASSERT_EQ(rc, 2);
    free(out);
    free(err);
    {
        static char *const bad[][4] = {
            {"--from-start", NULL},                  /* no ring */
            {"ticks", "-n", "0", NULL},              /* count must be >= 1 */
            {"ticks", "-n", "x", NULL},              /* not a number */
            {"ticks", "-n", NULL},                   /* missing argument */
            {"ticks", "--timeout", "-1", NULL},      /* negative */
            {"ticks", "--timeout", "soon", NULL},    /* not a number */
            {"ticks", "--seq", "1", "--from-start"}, /* exclusive */
            {"ticks", "--bogus", NULL},              /* unknown option */
        };

        for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
            rc =
                run_cat(inst, &out, &err, bad[k][0], bad[k][1], bad[k][2], bad[k][3], (char *)NULL);
            if (rc != 2)
                test_fail(__FILE__, __LINE__, "case %zu: status %d, want 2", k, rc);
            ASSERT(err[0] != '\0');
            free(out);
            free(err);
        }
    }
    rc = run_cat(inst, &out, &err, "--help", (char *)NULL);
    ASSERT_EQ(rc, 0);
    ASSERT_CONTAINS(out, "usage: mdfeed-cat");
    free(out);
    free(err);
    pub_close(&pub, true);
    return 0;
}

/* Records mdfeed-synth published (the producer has exited) print as one exact text line each,
 * several rings interleave round-robin, and -n stops early. */
TEST(cat_text_mode_prints_one_line_per_record)
{
    char inst[32], *out, *err, *lines[MAX_LINES], want[512], px[MDF_DEC_STR_MAX],
        qty[MDF_DEC_STR_MAX], synth[4096];
    union mdf_record r;
    size_t n;
    int rc;

    snprintf(inst, sizeof(inst), "%s", test_instance());
    snprintf(synth, sizeof(synth), "%s", test_bin("mdfeed-synth"));
    setenv("TZ", "EST5", 1); /* mdfeed-cat inherits it: times in a known zone, no tzdata */
    {
        char *argv[] = {synth, "-i", inst, "-n", "12", "-t", "trade,bbo,event", "-c", "64", NULL};

        rc = test_run_capture(argv, &out, &err);
        ASSERT_EQ(rc, 0);
        free(out);
        free(err);
    }

    /* The producer has exited: its instance stays readable, no -f so no waiting. */
    rc = run_cat(inst, &out, &err, "ticks", "--from-start", (char *)NULL);
    ASSERT_EQ(rc, 0);
    ASSERT_STR_EQ(err, "");
    n = split_lines(out, lines, MAX_LINES);
    ASSERT_EQ(n, 8); /* of 12: indexes 0,1,3,4,6,7,9,10 went to ticks */
    for (size_t k = 0; k < n; k++) {
        uint64_t i = k / 2 * 3 + k % 2;
        int type = k % 2 ? MDF_REC_BBO : MDF_REC_TRADE;

        synth_record(&r, type, i, 0, (uint32_t)(i % 4), 0);
        if (type == MDF_REC_TRADE) {
            mdf_dec_format(r.trade.price, px, sizeof(px));
            mdf_dec_format(r.trade.qty, qty, sizeof(qty));
            snprintf(want, sizeof(want),
                     "ticks %zu trade synth:SYNTH%u price=%s qty=%s side=%s trade_id=%" PRId64 " ",
                     k, (unsigned)(i % 4), px, qty, i & 1 ? "sell" : "buy", r.trade.trade_id);
        } else {
            mdf_dec_format(r.bbo.bid_px, px, sizeof(px));
            mdf_dec_format(r.bbo.bid_qty, qty, sizeof(qty));
            snprintf(want, sizeof(want), "ticks %zu bbo synth:SYNTH%u bid_px=%s bid_qty=%s ", k,
                     (unsigned)(i % 4), px, qty);
        }
        ASSERT_PREFIX(lines[k], want);
        /* Local ISO-8601 times (TZ is EST5 here), the equal transaction time left out. */
        snprintf(want, sizeof(want),
                 " exch_time=2023-11-14T17:13:20.%06" PRIu64 "-05:00 recv_time=", i);
        ASSERT_CONTAINS(lines[k], want);
        ASSERT(strstr(lines[k], "tx_time=") == NULL);
        if (type == MDF_REC_BBO)
            ASSERT_CONTAINS(lines[k], " spread_bps=");
    }
    free(out);
    free(err);

    /* Events: the text quoted; -n stops early; two rings interleave round-robin. */
    rc = run_cat(inst, &out, &err, "events", "ticks", "--from-start", "-n", "3", (char *)NULL);
    ASSERT_EQ(rc, 0);
    n = split_lines(out, lines, MAX_LINES);
    ASSERT_EQ(n, 3);
    ASSERT_PREFIX(lines[0], "events 0 event synth:SYNTH2 level=6 code=FEED_STARTED "
                            "connection=0 text=\"synthetic event 2\" exch_time=");
    ASSERT_PREFIX(lines[1], "ticks 0 trade synth:SYNTH0 ");
    ASSERT_PREFIX(lines[2], "events 1 event synth:SYNTH1 ");
    free(out);
    free(err);

    /* Without --from-start nothing is new: exits at once with no output. */
    rc = run_cat(inst, &out, &err, "ticks", "events", (char *)NULL);
    ASSERT_EQ(rc, 0);
    ASSERT_STR_EQ(out, "");
    free(out);
    free(err);
    return 0;
}

/* Text is for people: a book prints as its level counts, best bid and ask and the spread in
 * basis points unless --levels asks for levels; a BBO gets the spread too; every time is local
 * ISO-8601 with microseconds and the zone's offset (a candle's open and close times too), "-"
 * when the venue gave none. JSON of the same records keeps integer ns and every level. */
TEST(cat_text_mode_summarizes_books_and_prints_local_iso_times)
{
    char inst[32], *out, *err, *lines[MAX_LINES];
    struct publisher pub;
    union mdf_record r;
    int venue;
    int64_t sym;
    size_t n;

    snprintf(inst, sizeof(inst), "%s", test_instance());
    setenv("TZ", "CET-1", 1); /* UTC+1, no tzdata needed */
    pub_start(&pub, inst, 64, 100 * 1000 * 1000);
    venue = state_tx_venue(&pub.st, "binance-spot");
    ASSERT_GE(venue, 0);
    sym = state_tx_symbol(&pub.st, (uint16_t)venue, "BTCUSDT", "BTC/USDT");
    ASSERT_GE(sym, 0);
    /* books 0: bids 100.00, 99.99, 99.98; asks 100.05, 100.06 (the third ask not valid). */
    hdr_init(&r, MDF_REC_BOOK, MDF_BOOK_SIZE(BOOK_DEPTH), venue, (uint32_t)sym, 0);
    r.h.exch_time_ns = INT64_C(1700000000123456789); /* 2023-11-14T22:13:20.123456789Z */
    r.h.tx_time_ns = 0;
    r.h.recv_time_ns = INT64_C(1700000000125000000);
    r.h.venue_seq = 0;
    r.book.state = MDF_BOOK_LIVE;
    r.book.depth = BOOK_DEPTH;
    r.book.n_bids = 3;
    r.book.n_asks = 2;
    r.book.first_update_id = 7;
    r.book.last_update_id = 9;
    for (int k = 0; k < BOOK_DEPTH; k++) {
        r.book.levels[k].px = dec_of(10000 - k, -2);
        r.book.levels[k].qty = dec_of(k + 1, 0);
        r.book.levels[BOOK_DEPTH + k].px = dec_of(10005 + k, -2);
        r.book.levels[BOOK_DEPTH + k].qty = dec_of(k + 5, 0);
    }
    publish(&pub, MDF_RING_BOOKS, &r);
    /* ticks 0: a BBO of the same prices, no venue time. */
    hdr_init(&r, MDF_REC_BBO, sizeof(struct mdf_bbo), venue, (uint32_t)sym, 1);
    r.h.exch_time_ns = 0;
    r.h.tx_time_ns = 0;
    r.h.recv_time_ns = INT64_C(1700000000125000000);
    r.h.venue_seq = 0;
    r.bbo.bid_px = dec_of(10000, -2);
    r.bbo.bid_qty = dec_of(1, 0);
    r.bbo.ask_px = dec_of(10005, -2);
    r.bbo.ask_qty = dec_of(5, 0);
    r.bbo.update_id = 9;
    publish(&pub, MDF_RING_TICKS, &r);
    /* candles 0: the 1-minute candle of 22:13 UTC. */
    hdr_init(&r, MDF_REC_CANDLE, sizeof(struct mdf_candle), venue, (uint32_t)sym, 2);
    r.h.exch_time_ns = INT64_C(1700000000123456789);
    r.h.tx_time_ns = 0;
    r.h.recv_time_ns = INT64_C(1700000000125000000);
    r.h.venue_seq = 0;
    r.candle.interval = MDF_IV_1M;
    r.candle.open_time_ns = INT64_C(1699999980000000000);
    r.candle.close_time_ns = INT64_C(1700000039999000000);
    publish(&pub, MDF_RING_CANDLES, &r);

    ASSERT_EQ(run_cat(inst, &out, &err, "books", "ticks", "candles", "--from-start", (char *)NULL),
              0);
    n = split_lines(out, lines, MAX_LINES);
    ASSERT_EQ(n, 3);
    ASSERT_STR_EQ(lines[0], "books 0 book binance-spot:BTCUSDT state=LIVE partial=false "
                            "generation=0 first_update_id=7 last_update_id=9 levels=3/2 "
                            "bid=100.00:1 ask=100.05:5 spread_bps=5.00 "
                            "exch_time=2023-11-14T23:13:20.123456+01:00 "
                            "recv_time=2023-11-14T23:13:20.125000+01:00");
    ASSERT_STR_EQ(lines[1], "ticks 0 bbo binance-spot:BTCUSDT bid_px=100.00 bid_qty=1 "
                            "ask_px=100.05 ask_qty=5 spread_bps=5.00 update_id=9 crossed=false "
                            "exch_time=- recv_time=2023-11-14T23:13:20.125000+01:00");
    ASSERT_CONTAINS(lines[2], " open_time=2023-11-14T23:13:00.000000+01:00 "
                              "close_time=2023-11-14T23:13:59.999000+01:00 ");
    free(out);
    free(err);

    /* Levels on request: N a side, or all of them. */
    ASSERT_EQ(run_cat(inst, &out, &err, "books", "--from-start", "--levels", "2", (char *)NULL), 0);
    n = split_lines(out, lines, MAX_LINES);
    ASSERT_EQ(n, 1);
    ASSERT_CONTAINS(lines[0], " bids=100.00:1,99.99:2 asks=100.05:5,100.06:6 spread_bps=5.00 ");
    free(out);
    free(err);
    ASSERT_EQ(run_cat(inst, &out, &err, "books", "--from-start", "--levels", "all", (char *)NULL),
              0);
    ASSERT_CONTAINS(out, " bids=100.00:1,99.99:2,99.98:3 asks=100.05:5,100.06:6 spread_bps=5.00 ");
    free(out);
    free(err);
    ASSERT_EQ(run_cat(inst, &out, &err, "books", "--levels", "0", (char *)NULL), 2);
    ASSERT_CONTAINS(err, "--levels");
    free(out);
    free(err);

    /* JSON is unchanged: integer ns and every valid level. */
    ASSERT_EQ(run_cat(inst, &out, &err, "books", "--from-start", "--json", (char *)NULL), 0);
    ASSERT_CONTAINS(out, "\"exch_time\":1700000000123456789,\"tx_time\":0,");
    ASSERT_CONTAINS(out, "\"bids\":[[\"100.00\",\"1\"],[\"99.99\",\"2\"],[\"99.98\",\"3\"]]");
    ASSERT(strstr(out, "spread") == NULL);
    free(out);
    free(err);
    pub_close(&pub, true);
    return 0;
}
