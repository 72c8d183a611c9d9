/*
 * Bitfinex API v2 public WebSocket: stream checks and keys, control messages, and the decoder
 * (see bitfinex.h for the contract).
 *
 * Design: one internal check of a stream spec serves the public check, the key and request
 * builders and the reading of the venue's "subscribed" echo, so a key built from a spec and one
 * built from the echo of its subscription always agree. The decoder reads JSON through
 * venue/json.h on the jsmn backend only, straight from the message text, so every number is
 * exact; it parses a message once and keeps it parsed while the caller looks the channel up
 * (bitfinex_decode() then bitfinex_decode_data()). Every array is read by position from the
 * front, never by its length, so fields the venue appends are ignored.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "venue/bitfinex.h"
#include "venue/vconf.h"
#include "venue/json.h"
#include "venue/vcheck.h"
#include "venue/vtext.h"

/* ------------------------------------------------------------------------------------------ */
/* Streams                                                                                    */

/* Candle intervals Bitfinex serves, with its spellings (src/venue/README.md 3.2). */
static const struct {
    uint8_t interval; /* enum mdf_interval */
    const char *name; /* Bitfinex spelling */
} bfx_intervals[] = {
    {MDF_IV_1M, "1m"}, {MDF_IV_5M, "5m"}, {MDF_IV_15M, "15m"}, {MDF_IV_30M, "30m"},
    {MDF_IV_1H, "1h"}, {MDF_IV_3H, "3h"}, {MDF_IV_6H, "6h"},   {MDF_IV_12H, "12h"},
    {MDF_IV_1D, "1D"}, {MDF_IV_1W, "1W"}, {MDF_IV_14D, "14D"}, {MDF_IV_1MO, "1M"},
};

#define N_INTERVALS (sizeof(bfx_intervals) / sizeof(bfx_intervals[0]))

const char *bitfinex_interval_name(int interval)
{
    for (size_t i = 0; i < N_INTERVALS; i++)
        if (bfx_intervals[i].interval == interval)
            return bfx_intervals[i].name;
    return NULL;
}

int bitfinex_interval_from_name(const char *s, size_t len)
{
    if (len == 2 && memcmp(s, "7D", 2) == 0)
        return MDF_IV_1W; /* the older spelling, still in clients and docs */
    for (size_t i = 0; i < N_INTERVALS; i++)
        if (strlen(bfx_intervals[i].name) == len && memcmp(bfx_intervals[i].name, s, len) == 0)
            return bfx_intervals[i].interval;
    return 0;
}

int bitfinex_prec_from_name(const char *s, size_t len)
{
    if (len != 2)
        return -1;
    if (s[0] == 'P' && s[1] >= '0' && s[1] <= '4')
        return s[1] - '0';
    if (s[0] == 'R' && s[1] == '0')
        return (int)BFX_PREC_R0;
    return -1;
}

/* Checks a trading symbol; report: err_set() the reason. Returns 0 or -EINVAL. */
static int symbol_check(const char *sym, bool report)
{
    size_t n = strnlen(sym, MDF_SYMBOL_MAX), colons = 0;

    if (n == 0 || n >= MDF_SYMBOL_MAX)
        return report ? err_set(-EINVAL, "bitfinex: symbol empty or longer than %u characters",
                                MDF_SYMBOL_MAX - 1)
                      : -EINVAL;
    if (sym[0] == 'f')
        return report ? err_set(-EINVAL,
                                "bitfinex: funding symbol %s is not supported yet (trading "
                                "symbols only, like tBTCUSD)",
                                sym)
                      : -EINVAL;
    for (size_t i = 1; i < n; i++) {
        char c = sym[i];
        if (c == ':' && i > 1 && i + 1 < n) {
            colons++;
            continue;
        }
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
            colons = 2; /* force the failure below */
            break;
        }
    }
    if (sym[0] != 't' || n < 2 || colons > 1)
        return report ? err_set(-EINVAL,
                                "bitfinex: bad symbol \"%s\" (a 't', then upper-case letters, "
                                "digits and at most one inner ':', like tBTCUSD or tAVAX:USD)",
                                sym)
                      : -EINVAL;
    return 0;
}

/* The stream check behind bitfinex_stream_check() and the echo reader; report: err_set() the
 * reason (the echo reader checks quietly). Returns 0 or -EINVAL. */
static int check(const struct venue_profile *p, const struct vstream *s, bool report)
{
    const char *tn = vstream_type_name(s->type);

#define FAIL(...) return report ? err_set(-EINVAL, __VA_ARGS__) : -EINVAL
    if (!p || p->family != VF_BITFINEX)
        FAIL("%s is not a Bitfinex venue", p ? p->name : "NULL");
    if (s->type != VS_KLINE && s->type != VS_DIFF && s->type != VS_TRADE && s->type != VS_TICKER)
        FAIL("%s has no %s stream (kline, diff_depth, trade and ticker)", p->name, tn);
    if (symbol_check(s->symbol, report) < 0)
        return -EINVAL;
    if (s->type == VS_KLINE) {
        if (!bitfinex_interval_name(s->interval))
            FAIL("%s has no %s candles (1m 5m 15m 30m 1h 3h 6h 12h 1D 1W 14D 1M)", p->name,
                 mdf_interval_name(s->interval));
    } else if (s->interval) {
        FAIL("%s %s stream takes no interval", p->name, tn);
    }
    if (s->type == VS_DIFF) {
        if (s->prec == BFX_PREC_R0)
            FAIL("%s raw books (R0) are not supported: use precision P0..P4", p->name);
        if (s->prec > 4)
            FAIL("%s book precision %u invalid (0..4 for P0..P4)", p->name, s->prec);
        if (s->speed_ms != 0 && s->speed_ms != BFX_F1_MS)
            FAIL("%s book speed %u ms invalid (0 for F0 realtime, 2000 for F1)", p->name,
                 s->speed_ms);
        if (s->levels != 0 && s->levels != 1 && s->levels != 25 && s->levels != 100 &&
            s->levels != 250)
            FAIL("%s book length %u invalid (1, 25, 100 or 250)", p->name, s->levels);
    } else if (s->prec || s->speed_ms || s->levels) {
        FAIL("%s %s stream takes no precision, speed or length", p->name, tn);
    }
#undef FAIL
    return 0;
}

int bitfinex_stream_check(const struct venue_profile *p, const struct vstream *s)
{
    return check(p, s, true);
}

/* The book length a spec means (0 is the default 25). */
static unsigned book_len(const struct vstream *s)
{
    return s->levels ? s->levels : BFX_BOOK_LEN_DEFAULT;
}

/* Writes the key of an already checked spec. Returns the length or -ENOSPC. */
static int key_of(const struct vstream *s, char *buf, size_t cap)
{
    size_t len = 0;
    int rc;

    switch (s->type) {
    case VS_DIFF:
        rc = vtext_putf(buf, cap, &len, "book:%s:P%u:F%u:%u", s->symbol, s->prec,
                        s->speed_ms ? 1 : 0, book_len(s));
        break;
    case VS_KLINE:
        rc = vtext_putf(buf, cap, &len, "candles:trade:%s:%s", bitfinex_interval_name(s->interval),
                        s->symbol);
        break;
    case VS_TRADE:
        rc = vtext_putf(buf, cap, &len, "trades:%s", s->symbol);
        break;
    default:
        rc = vtext_putf(buf, cap, &len, "ticker:%s", s->symbol);
        break;
    }
    return vtext_finish(rc, buf, cap, len);
}

int bitfinex_stream_key(const struct venue_profile *p, const struct vstream *s, char *buf,
                        size_t cap)
{
    int rc = check(p, s, true);

    if (rc < 0) {
        if (cap)
            buf[0] = '\0';
        return rc;
    }
    return key_of(s, buf, cap);
}

int bitfinex_subscribe_msg(const struct venue_profile *p, const struct vstream *s, char *buf,
                           size_t cap)
{
    size_t len = 0;
    int rc = check(p, s, true);

    if (rc < 0) {
        if (cap)
            buf[0] = '\0';
        return rc;
    }
    switch (s->type) {
    case VS_DIFF:
        rc = vtext_putf(buf, cap, &len,
                        "{\"event\":\"subscribe\",\"channel\":\"book\",\"symbol\":\"%s\",\"prec\":"
                        "\"P%u\",\"freq\":\"F%u\",\"len\":\"%u\"}",
                        s->symbol, s->prec, s->speed_ms ? 1 : 0, book_len(s));
        break;
    case VS_KLINE:
        rc = vtext_putf(buf, cap, &len,
                        "{\"event\":\"subscribe\",\"channel\":\"candles\",\"key\":\"trade:%s:%s\"}",
                        bitfinex_interval_name(s->interval), s->symbol);
        break;
    default:
        rc = vtext_putf(buf, cap, &len,
                        "{\"event\":\"subscribe\",\"channel\":\"%s\",\"symbol\":\"%s\"}",
                        s->type == VS_TRADE ? "trades" : "ticker", s->symbol);
        break;
    }
    return vtext_finish(rc, buf, cap, len);
}

int bitfinex_unsubscribe_msg(int64_t chan_id, char *buf, size_t cap)
{
    size_t len = 0;
    int rc;

    if (chan_id < 0)
        return err_set(-EINVAL, "bitfinex: channel id %" PRId64 " invalid", chan_id);
    rc = vtext_putf(buf, cap, &len, "{\"event\":\"unsubscribe\",\"chanId\":%" PRId64 "}", chan_id);
    return vtext_finish(rc, buf, cap, len);
}

int bitfinex_conf_msg(uint32_t flags, char *buf, size_t cap)
{
    size_t len = 0;
    int rc;

    if (flags & ~BFX_F_SUPPORTED)
        return err_set(-EINVAL,
                       "bitfinex: conf flags %u not supported (only DEC_S, TIMESTAMP, "
                       "SEQ_ALL and OB_CHECKSUM)",
                       flags & ~BFX_F_SUPPORTED);
    rc = vtext_putf(buf, cap, &len, "{\"event\":\"conf\",\"flags\":%u}", flags);
    return vtext_finish(rc, buf, cap, len);
}

int bitfinex_conf_missing(uint32_t asked, uint32_t got, char *buf, size_t cap)
{
    static const struct {
        uint32_t flag;    /* conf flag */
        const char *cost; /* what its absence means for the data */
    } costs[] = {
        {BFX_F_OB_CHECKSUM, "books are not checksummed"},
        {BFX_F_SEQ_ALL, "missed messages cannot be detected"},
        {BFX_F_TIMESTAMP, "records carry no venue time"},
        {BFX_F_DEC_S, "decimals come as JSON numbers"},
    };
    size_t len = 0;
    int rc = 0;

    if (cap)
        buf[0] = '\0';
    for (size_t i = 0; i < sizeof(costs) / sizeof(costs[0]) && rc == 0; i++)
        if ((asked & costs[i].flag) && !(got & costs[i].flag))
            rc = vtext_putf(buf, cap, &len, "%s%s", len ? "; " : "", costs[i].cost);
    return vtext_finish(rc, buf, cap, len);
}

int bitfinex_ping_msg(int64_t cid, char *buf, size_t cap)
{
    size_t len = 0;
    int rc;

    if (cid < 0)
        return err_set(-EINVAL, "bitfinex: ping cid %" PRId64 " invalid", cid);
    rc = vtext_putf(buf, cap, &len, "{\"event\":\"ping\",\"cid\":%" PRId64 "}", cid);
    return vtext_finish(rc, buf, cap, len);
}

int bitfinex_normalize_symbol(const char *sym, char *buf, size_t cap)
{
    size_t n, len = 0;
    const char *colon;
    int rc;

    if (symbol_check(sym, true) < 0) {
        if (cap)
            buf[0] = '\0';
        return -EINVAL;
    }
    n = strlen(sym) - 1;
    sym++;
    colon = memchr(sym, ':', n);
    if (colon)
        rc = vtext_putf(buf, cap, &len, "%.*s/%s", (int)(colon - sym), sym, colon + 1);
    else if (n == 6)
        rc = vtext_putf(buf, cap, &len, "%.3s/%.3s", sym, sym + 3);
    else
        return err_set(-EINVAL, "bitfinex: cannot split t%s into base and quote", sym);
    return vtext_finish(rc, buf, cap, len);
}

static int stream_name(const struct venue_profile *p, const struct vstream *s, char *buf,
                       size_t cap)
{
    int len = bitfinex_stream_key(p, s, buf, cap);

    return len < 0 ? err_prefix(len, "stream %s", s->symbol) : len;
}

/* A pair whose split is unknown keeps only its native name. */
static void symbol_common(const char *native, char *out, size_t cap)
{
    if (bitfinex_normalize_symbol(native, out, cap) < 0 && cap)
        out[0] = '\0';
}

static enum venue_route route(const struct venue_profile *p, const struct vstream *s)
{
    return VR_ROOT;
}

/* The profile's url has no path: the API version's path is ours to add. */
static int ws_url(const struct venue_profile *p, const char *base, enum venue_route r, char *buf,
                  size_t cap)
{
    size_t len = 0;
    int rc = vtext_putf(buf, cap, &len, "%s%s", base, BFX_WS_PATH);

    return vtext_finish(rc, buf, cap, len);
}

/* Every channel sends an hb at least every heartbeat period (15 s, the profile's
 * ping_interval_s) while it has nothing else: a real per-channel liveness signal. */
static void liveness(const struct venue_profile *p, const struct vstream *s, struct vliveness *l)
{
    l->guaranteed_ms = p->ping_interval_s * 1000;
}

/* Changes are pushed as they happen (an F1 book batches them every 2 s, inside the hb
 * period that already bounds its silence). */
static uint32_t cadence_ms(const struct venue_profile *p, const struct vstream *s)
{
    return 0;
}

const struct venue_proto bitfinex_proto = {
    .name = "bitfinex",
    .conf = &bitfinex_conf,
    .stream_check = bitfinex_stream_check,
    .stream_name = stream_name,
    .symbol_common = symbol_common,
    .route = route,
    .ws_url = ws_url,
    .liveness = liveness,
    .cadence_ms = cadence_ms,
};

/* ------------------------------------------------------------------------------------------ */
/* Decoding                                                                                   */

#define MS_MAX (INT64_MAX / 1000000) /* the largest ms time whose ns value fits int64 */
#define MAX_EL 6                     /* leading elements of a data message the decoder reads */

/* Tag of a data message: the string in element 1, if any. */
enum tag { TAG_NONE = 0, TAG_HB, TAG_CS, TAG_TE, TAG_TU, TAG_OTHER };

struct bfx_decoder {
    struct json_doc *json;      /* parser and its token storage (owned) */
    uint32_t max_items;         /* room in each array below */
    size_t max_message;         /* longest message accepted */
    struct bfx_level *levels;   /* decoded book levels (owned) */
    struct mdf_trade *trades;   /* decoded trades (owned) */
    struct mdf_candle *candles; /* decoded candles (owned) */
    struct mdf_ticker ticker;   /* decoded ticker */
    bool pending;               /* a BFX_DATA message is parsed and waiting */
    enum tag tag;               /* its tag */
    struct jnode payload;       /* its payload: element 1, or 2 after a tag */
    int64_t recv_ns;            /* its receive time */
};

/* One message being decoded: where errors are named from and where results go. */
struct dctx {
    struct bfx_decoder *d;    /* the decoder */
    const struct json_doc *j; /* its document */
    struct bfx_msg *out;      /* the result */
    const char *what;         /* message kind named in errors ("bitfinex book") */
    const char *item;         /* item being decoded ("level"), NULL when none */
    int32_t idx;              /* its index in a snapshot, -1 for a lone item */
};

struct bfx_decoder *bitfinex_decoder_new(enum vdec_backend backend, uint32_t max_items,
                                         size_t max_message)
{
    struct bfx_decoder *d;
    uint64_t tokens;

    if (backend != VDEC_JSMN) {
        err_set(-EINVAL, "bitfinex decoder: runs on the jsmn JSON backend only");
        return NULL;
    }
    if (max_items == 0 || max_items > (1u << 22) || max_message < 64) {
        err_set(-EINVAL, "bitfinex decoder: bad arguments (%u items, %zu bytes)", max_items,
                max_message);
        return NULL;
    }
    d = calloc(1, sizeof(*d));
    if (!d) {
        err_set(-ENOMEM, "out of memory for a decoder");
        return NULL;
    }
    d->max_items = max_items;
    d->max_message = max_message;
    d->levels = calloc(max_items, sizeof(*d->levels));
    d->trades = calloc(max_items, sizeof(*d->trades));
    d->candles = calloc(max_items, sizeof(*d->candles));
    if (!d->levels || !d->trades || !d->candles) {
        err_set(-ENOMEM, "out of memory for a decoder of %u items", max_items);
        goto err_free;
    }
    /* Tokens: a candle is 7 (the largest item), plus the elements around the items; never more
     * than a message of max_message bytes can hold (each token takes 2 bytes or more). */
    tokens = 8 * (uint64_t)max_items + 256;
    if (tokens > max_message / 2 + 16)
        tokens = max_message / 2 + 16;
    d->json = json_doc_new(VDEC_JSMN, (uint32_t)(tokens > UINT32_MAX ? UINT32_MAX : tokens));
    if (!d->json)
        goto err_free; /* json_doc_new said why */
    return d;

err_free:
    free(d->candles);
    free(d->trades);
    free(d->levels);
    free(d);
    return NULL;
}

void bitfinex_decoder_free(struct bfx_decoder *d)
{
    if (!d)
        return;
    json_doc_free(d->json);
    free(d->levels);
    free(d->trades);
    free(d->candles);
    free(d);
}

/* Sets an error message in its context: "bitfinex book: level 3: " then the formatted text.
 * Returns rc. */
static int ctx_err(const struct dctx *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int ctx_err(const struct dctx *c, int rc, const char *fmt, ...)
{
    char msg[160];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (c->item && c->idx >= 0)
        return err_set(rc, "%s: %s %d: %s", c->what, c->item, (int)c->idx, msg);
    if (c->item)
        return err_set(rc, "%s: %s: %s", c->what, c->item, msg);
    return err_set(rc, "%s: %s", c->what, msg);
}

/* Names a field's error: "bitfinex book: level 3: amount: not a decimal". */
static int field_err(const struct dctx *c, int rc, const char *field, const char *expect)
{
    return ctx_err(c, rc, "%s: %s", field,
                   rc == -ERANGE  ? "out of range"
                   : rc == -E2BIG ? "too many"
                                  : expect);
}

/* "missing field" error for a required field. */
static int missing(const struct dctx *c, const char *field)
{
    return ctx_err(c, -EBADMSG, "missing %s", field);
}

/* A value out of range (vcheck.h): "bitfinex book: level 3: price: 0 is not positive". */
static int range_err(const struct dctx *c, const struct vbad *bad)
{
    return ctx_err(c, -ERANGE, "%s: %s", bad->field, bad->why);
}

/* Parses a decimal integer string s[0..len) ("-12") exactly. Returns 0, -EBADMSG or -ERANGE. */
static int parse_int_text(const char *s, size_t len, int64_t *v)
{
    bool neg = len > 0 && s[0] == '-';
    uint64_t u = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    size_t i = neg;

    if (i >= len)
        return -EBADMSG;
    for (; i < len; i++) {
        unsigned dgt = (unsigned)s[i] - '0';
        if (dgt > 9)
            return -EBADMSG;
        if (u > (lim - dgt) / 10)
            return -ERANGE;
        u = u * 10 + dgt;
    }
    *v = neg ? (int64_t)(0 - u) : (int64_t)u;
    return 0;
}

/* Reads an integer given as a JSON number or a string. Returns 0, -EBADMSG or -ERANGE. */
static int read_int(const struct json_doc *j, struct jnode n, int64_t *v)
{
    const char *s;
    size_t len;

    if (json_kind(j, n) == JK_STRING) {
        if (json_name(j, n, &s, &len) < 0)
            return -EBADMSG;
        return parse_int_text(s, len, v);
    }
    return json_int64(j, n, v);
}

/* Reads a required (or, if !req, optional: absent leaves *v alone) integer field in
 * [min, max]. */
static int get_int(const struct dctx *c, struct jnode n, const char *f, bool req, int64_t min,
                   int64_t max, int64_t *v)
{
    int64_t x;
    int rc;

    if (!json_present(n) || json_kind(c->j, n) == JK_NULL)
        return req ? missing(c, f) : 0;
    rc = read_int(c->j, n, &x);
    if (rc < 0)
        return field_err(c, rc, f, "not an integer");
    if (x < min || x > max)
        return field_err(c, -ERANGE, f, "");
    *v = x;
    return 0;
}

/* Reads a required ms time into *ns. */
static int get_time(const struct dctx *c, struct jnode n, const char *f, int64_t *ns)
{
    int64_t ms = 0;
    int rc = get_int(c, n, f, true, 0, MS_MAX, &ms);

    if (rc < 0)
        return rc;
    *ns = ms * 1000000;
    return 0;
}

/* Reads the two trailing elements SEQ_ALL and TIMESTAMP add together, in either order: the
 * sources disagree on it (see bitfinex.h), so the time is the one that is a plausible ms time
 * (from 2001-09-09, 1e12 ms) and the sequence number the other, which would need 1e12 messages
 * on one connection to be mistaken for a time. */
static int get_seq_time(const struct dctx *c, struct jnode a, struct jnode b, struct bfx_msg *out)
{
    int64_t x = 0, y = 0;
    int rc;

    if ((rc = get_int(c, a, "sequence number or timestamp", true, 0, MS_MAX, &x)) < 0 ||
        (rc = get_int(c, b, "timestamp or sequence number", true, 0, MS_MAX, &y)) < 0)
        return rc;
    if ((x >= BFX_MTS_MIN) == (y >= BFX_MTS_MIN))
        return field_err(c, -EBADMSG, "trailing elements", "not one sequence number and one time");
    out->seq = x < BFX_MTS_MIN ? x : y;
    out->ts_ns = (x < BFX_MTS_MIN ? y : x) * 1000000;
    return 0;
}

/* Reads a required decimal (JSON number or string, exactly). */
static int get_dec(const struct dctx *c, struct jnode n, const char *f, struct mdf_dec *v)
{
    int rc;

    if (!json_present(n) || json_kind(c->j, n) == JK_NULL)
        return missing(c, f);
    rc = json_dec(c->j, n, v);
    return rc < 0 ? field_err(c, rc, f, "not a decimal") : 0;
}

/* Sets *s, *len to a plain ASCII string field; absent or not such a string is -EBADMSG when
 * req, else *len = 0. */
static int get_name(const struct dctx *c, struct jnode n, const char *f, bool req, const char **s,
                    size_t *len)
{
    *s = "";
    *len = 0;
    if (!json_present(n))
        return req ? missing(c, f) : 0;
    if (json_name(c->j, n, s, len) < 0)
        return field_err(c, -EBADMSG, f, "not a plain ASCII string");
    return 0;
}

/* True if s[0..len) is the NUL-terminated lit. */
static bool is(const char *s, size_t len, const char *lit)
{
    return strlen(lit) == len && memcmp(s, lit, len) == 0;
}

/* Sets the result to BFX_IGNORED with a short description. */
static int ignored(struct bfx_msg *out, const char *what, const char *name, size_t len)
{
    out->kind = BFX_IGNORED;
    snprintf(out->text, sizeof(out->text), "%s%s%.*s", what, name ? " " : "",
             (int)(len > 100 ? 100 : len), name ? name : "");
    return 0;
}

/* Resets *out to the values bitfinex.h gives for fields a kind does not use. */
static void msg_reset(struct bfx_msg *out)
{
    out->kind = BFX_NONE;
    out->chan_id = -1;
    out->seq = -1;
    out->ts_ns = 0;
    out->code = 0;
    out->version = -1;
    out->platform_status = -1;
    out->flags = 0;
    out->ok = false;
    out->cid = -1;
    out->checksum = 0;
    memset(&out->spec, 0, sizeof(out->spec));
    out->key[0] = '\0';
    out->text[0] = '\0';
    out->levels = NULL;
    out->n_levels = 0;
    out->trades = NULL;
    out->n_trades = 0;
    out->candles = NULL;
    out->n_candles = 0;
    out->ticker = NULL;
}

/* ---- events ------------------------------------------------------------------------------ */

/* Members of an event the decoder reads. */
/* clang-format off */
enum {
    K_event, K_code, K_msg, K_version, K_platform, K_status, K_flags, K_chanId, K_channel,
    K_symbol, K_pair, K_prec, K_freq, K_len, K_key, K_cid, K_ts, K_N
};
/* clang-format on */

/* Copies t[0..n) into the spec's symbol (after pfx, if any). Returns false if it does not
 * fit. */
static bool set_symbol(struct vstream *s, const char *pfx, const char *t, size_t n)
{
    size_t p = strlen(pfx);

    if (p + n >= MDF_SYMBOL_MAX)
        return false;
    memcpy(s->symbol, pfx, p);
    memcpy(s->symbol + p, t, n);
    s->symbol[p + n] = '\0';
    return true;
}

/* Reads a book length echo ("25" or 25) into *levels. Returns false if it is no length. */
static bool echo_len(const struct json_doc *j, struct jnode n, uint8_t *levels)
{
    int64_t v;

    if (!json_present(n)) {
        *levels = BFX_BOOK_LEN_DEFAULT;
        return true;
    }
    if (read_int(j, n, &v) < 0 || v < 1 || v > 255)
        return false;
    *levels = (uint8_t)v;
    return true;
}

/* Builds out->spec and out->key from the request fields the venue echoes in "subscribed" and
 * "error" events. An echo that names no stream mdfeed serves leaves key "" and puts a summary
 * of the echo in out->text (for subscribed; error keeps its msg). Cannot fail. */
static void echo_spec(const struct dctx *c, const struct jnode *v, bool summarize)
{
    const struct venue_profile *p = venue_profile_find("bitfinex");
    struct vstream s;
    const char *ch = "", *sym = "", *x = "";
    size_t chn = 0, symn = 0, xn = 0;
    bool ok = false;
    int r;

    memset(&s, 0, sizeof(s));
    if (json_name(c->j, v[K_channel], &ch, &chn) < 0)
        goto out;
    if (json_name(c->j, v[K_symbol], &sym, &symn) == 0)
        ok = set_symbol(&s, "", sym, symn);
    else if (json_name(c->j, v[K_pair], &sym, &symn) == 0)
        ok = set_symbol(&s, "t", sym, symn); /* older echoes name the pair only */
    if (is(ch, chn, "book")) {
        s.type = VS_DIFF;
        if (json_present(v[K_prec])) {
            if (json_name(c->j, v[K_prec], &x, &xn) < 0 || (r = bitfinex_prec_from_name(x, xn)) < 0)
                ok = false;
            else
                s.prec = (uint8_t)r;
        }
        if (json_present(v[K_freq])) {
            if (json_name(c->j, v[K_freq], &x, &xn) < 0 || (!is(x, xn, "F0") && !is(x, xn, "F1")))
                ok = false;
            else
                s.speed_ms = is(x, xn, "F1") ? BFX_F1_MS : 0;
        }
        if (!echo_len(c->j, v[K_len], &s.levels))
            ok = false;
    } else if (is(ch, chn, "trades") || is(ch, chn, "ticker")) {
        s.type = is(ch, chn, "trades") ? VS_TRADE : VS_TICKER;
    } else if (is(ch, chn, "candles")) {
        /* key "trade:<tf>:<symbol>"; funding keys have more parts and are not served. */
        const char *k, *tf, *colon;
        size_t kn;
        s.type = VS_KLINE;
        ok = false;
        if (json_name(c->j, v[K_key], &k, &kn) == 0 && kn > 6 && memcmp(k, "trade:", 6) == 0) {
            tf = k + 6;
            colon = memchr(tf, ':', kn - 6);
            if (colon) {
                r = bitfinex_interval_from_name(tf, (size_t)(colon - tf));
                s.interval = (uint8_t)r;
                ok = r > 0 && set_symbol(&s, "", colon + 1, kn - (size_t)(colon + 1 - k));
            }
        }
    } else {
        ok = false;
    }
    if (ok && check(p, &s, false) == 0 && key_of(&s, c->out->key, sizeof(c->out->key)) >= 0) {
        c->out->spec = s;
        return;
    }
out:
    c->out->key[0] = '\0';
    if (summarize) {
        const char *k = "";
        size_t kn = 0;
        json_name(c->j, v[K_key], &k, &kn);
        snprintf(c->out->text, sizeof(c->out->text), "channel %.*s symbol %.*s key %.*s",
                 (int)(chn > 30 ? 30 : chn), ch, (int)(symn > 40 ? 40 : symn), sym,
                 (int)(kn > 60 ? 60 : kn), k);
    }
}

/* An event object: {"event":"...", ...}. */
static int dec_event(struct dctx *c, struct jnode root)
{
    static const struct json_key keys[] = {
        JSON_KEY("event"),    JSON_KEY("code"),   JSON_KEY("msg"),   JSON_KEY("version"),
        JSON_KEY("platform"), JSON_KEY("status"), JSON_KEY("flags"), JSON_KEY("chanId"),
        JSON_KEY("channel"),  JSON_KEY("symbol"), JSON_KEY("pair"),  JSON_KEY("prec"),
        JSON_KEY("freq"),     JSON_KEY("len"),    JSON_KEY("key"),   JSON_KEY("cid"),
        JSON_KEY("ts"),
    };
    struct bfx_msg *out = c->out;
    struct jnode v[K_N];
    const char *ev, *st;
    size_t evn, stn;
    int64_t x;
    int rc;

    json_collect(c->j, root, keys, K_N, v);
    if (!json_present(v[K_event]))
        return ignored(out, "object without an event", NULL, 0);
    c->what = "bitfinex event";
    if ((rc = get_name(c, v[K_event], "event", true, &ev, &evn)) < 0)
        return rc;
    if (is(ev, evn, "info")) {
        c->what = "bitfinex info";
        x = 0;
        if ((rc = get_int(c, v[K_code], "code", false, 0, INT_MAX, &x)) < 0)
            return rc;
        out->code = (int)x;
        x = -1;
        if ((rc = get_int(c, v[K_version], "version", false, 0, INT_MAX, &x)) < 0)
            return rc;
        out->version = (int)x;
        if (json_present(v[K_platform])) {
            if (json_kind(c->j, v[K_platform]) != JK_OBJECT)
                return field_err(c, -EBADMSG, "platform", "not an object");
            x = -1;
            if ((rc = get_int(c, json_get(c->j, v[K_platform], "status"), "platform.status", false,
                              0, INT_MAX, &x)) < 0)
                return rc;
            out->platform_status = (int)x;
        }
        if (json_present(v[K_msg]))
            json_text(c->j, v[K_msg], out->text, sizeof(out->text));
        out->kind = BFX_INFO;
        return 0;
    }
    if (is(ev, evn, "conf")) {
        c->what = "bitfinex conf";
        if (!json_present(v[K_status]))
            return ignored(out, "conf request", NULL, 0); /* our own request, echoed in logs */
        x = 0;
        if ((rc = get_name(c, v[K_status], "status", true, &st, &stn)) < 0 ||
            (rc = get_int(c, v[K_flags], "flags", false, 0, UINT32_MAX, &x)) < 0)
            return rc;
        out->ok = is(st, stn, "OK");
        out->flags = (uint32_t)x;
        out->kind = BFX_CONF;
        return 0;
    }
    if (is(ev, evn, "subscribed")) {
        c->what = "bitfinex subscribed";
        if ((rc = get_int(c, v[K_chanId], "chanId", true, 0, INT64_MAX, &out->chan_id)) < 0)
            return rc;
        if (!json_present(v[K_channel]))
            return missing(c, "channel");
        echo_spec(c, v, true);
        out->kind = BFX_SUBSCRIBED;
        return 0;
    }
    if (is(ev, evn, "unsubscribed")) {
        c->what = "bitfinex unsubscribed";
        if ((rc = get_int(c, v[K_chanId], "chanId", true, 0, INT64_MAX, &out->chan_id)) < 0 ||
            (rc = get_name(c, v[K_status], "status", false, &st, &stn)) < 0)
            return rc;
        out->ok = is(st, stn, "OK");
        out->kind = BFX_UNSUBSCRIBED;
        return 0;
    }
    if (is(ev, evn, "error")) {
        c->what = "bitfinex error";
        if ((rc = get_int(c, v[K_code], "code", true, INT_MIN, INT_MAX, &x)) < 0 ||
            (rc = get_int(c, v[K_chanId], "chanId", false, 0, INT64_MAX, &out->chan_id)) < 0)
            return rc;
        out->code = (int)x;
        if (json_present(v[K_channel]))
            echo_spec(c, v, false);
        if (json_present(v[K_msg]))
            json_text(c->j, v[K_msg], out->text, sizeof(out->text));
        out->kind = BFX_ERROR;
        return 0;
    }
    if (is(ev, evn, "pong")) {
        c->what = "bitfinex pong";
        if ((rc = get_int(c, v[K_cid], "cid", false, 0, INT64_MAX, &out->cid)) < 0)
            return rc;
        if (json_present(v[K_ts]) && (rc = get_time(c, v[K_ts], "ts", &out->ts_ns)) < 0)
            return rc;
        out->kind = BFX_PONG;
        return 0;
    }
    return ignored(out, "event", ev, evn);
}

/* ---- channel data ------------------------------------------------------------------------ */

/* A data array: [CHAN, PAYLOAD | TAG [, X], SEQ?, MTS?, ...]. Decodes hb and cs; leaves the
 * rest pending for bitfinex_decode_data(). */
static int dec_array(struct dctx *c, struct jnode root, uint32_t flags)
{
    struct bfx_decoder *d = c->d;
    struct bfx_msg *out = c->out;
    struct jnode e[MAX_EL];
    struct json_iter it;
    uint32_t n = 0, pos;
    enum tag tag = TAG_NONE;
    const char *s;
    size_t sn;
    int64_t x;
    int rc;

    c->what = "bitfinex data";
    json_iter_init(c->j, root, &it);
    while (n < MAX_EL && json_iter_next(c->j, &it, &e[n]))
        n++;
    for (uint32_t i = n; i < MAX_EL; i++)
        e[i] = json_absent();
    if (n < 2)
        return err_set(-EBADMSG, "%s: not [CHAN_ID, ...] with a payload", c->what);
    if ((rc = get_int(c, e[0], "chanId", true, 0, INT64_MAX, &out->chan_id)) < 0)
        return rc;
    switch (json_kind(c->j, e[1])) {
    case JK_ARRAY:
        pos = 2;
        break;
    case JK_STRING:
        if ((rc = get_name(c, e[1], "tag", true, &s, &sn)) < 0)
            return rc;
        tag = is(s, sn, "hb")   ? TAG_HB
              : is(s, sn, "cs") ? TAG_CS
              : is(s, sn, "te") ? TAG_TE
              : is(s, sn, "tu") ? TAG_TU
                                : TAG_OTHER;
        pos = tag == TAG_HB ? 2 : 3;
        if (tag != TAG_HB && !json_present(e[2]))
            return missing(c, "payload after the tag");
        break;
    default:
        return field_err(c, -EBADMSG, "[1]", "not an array or a tag");
    }
    if ((flags & BFX_F_SEQ_ALL) && (flags & BFX_F_TIMESTAMP)) {
        if ((rc = get_seq_time(c, e[pos], e[pos + 1], out)) < 0)
            return rc;
    } else if (flags & BFX_F_SEQ_ALL) {
        if ((rc = get_int(c, e[pos], "sequence number", true, 0, INT64_MAX, &out->seq)) < 0)
            return rc;
    } else if ((flags & BFX_F_TIMESTAMP) &&
               (rc = get_time(c, e[pos], "timestamp", &out->ts_ns)) < 0) {
        return rc;
    }
    if (tag == TAG_HB) {
        out->kind = BFX_HB;
        return 0;
    }
    if (tag == TAG_CS) {
        c->what = "bitfinex checksum";
        if ((rc = get_int(c, e[2], "checksum", true, INT32_MIN, INT32_MAX, &x)) < 0)
            return rc;
        out->checksum = (int32_t)x;
        out->kind = BFX_CHECKSUM;
        return 0;
    }
    if (out->chan_id == 0)
        return ignored(out, "account channel 0", NULL, 0);
    d->pending = true;
    d->tag = tag;
    d->payload = tag == TAG_NONE ? e[1] : e[2];
    out->kind = BFX_DATA;
    return 0;
}

/* Clears a record of size bytes (struct mdf_rec_hdr first) and fills its header: type, size,
 * the receive time, TIMESTAMP time and sequence number. */
static void rec_head(const struct dctx *c, void *rec, uint16_t type, size_t size)
{
    struct mdf_rec_hdr *h = rec;

    memset(rec, 0, size);
    h->type = type;
    h->size = (uint16_t)size;
    h->recv_time_ns = c->d->recv_ns;
    h->exch_time_ns = c->out->ts_ns;
    h->venue_seq = c->out->seq > 0 ? (uint64_t)c->out->seq : 0;
}

/* Collects the first k elements of array a (not an array of k or more: -EBADMSG). */
static int elements(const struct dctx *c, struct jnode a, uint32_t k, struct jnode *e)
{
    struct json_iter it;
    uint32_t i = 0;

    if (json_kind(c->j, a) != JK_ARRAY || json_count(c->j, a) < k)
        return ctx_err(c, -EBADMSG, "not an array of %u or more values", k);
    json_iter_init(c->j, a, &it);
    while (i < k && json_iter_next(c->j, &it, &e[i]))
        i++;
    return 0;
}

/* One book level [PRICE, COUNT, AMOUNT, ...] into *lv. */
static int dec_level(const struct dctx *c, struct jnode a, struct bfx_level *lv)
{
    struct jnode e[3];
    int64_t count = 0;
    struct vbad bad;
    int rc;

    if ((rc = elements(c, a, 3, e)) < 0 || (rc = get_dec(c, e[0], "price", &lv->px)) < 0 ||
        (rc = get_int(c, e[1], "count", true, 0, UINT32_MAX, &count)) < 0 ||
        (rc = get_dec(c, e[2], "amount", &lv->amount)) < 0)
        return rc;
    if (vcheck_dec("price", lv->px, VB_POS, &bad) < 0)
        return range_err(c, &bad);
    if (lv->amount.m == 0)
        return ctx_err(c, -ERANGE, "amount zero (no side)");
    lv->count = (uint32_t)count;
    lv->ask = lv->amount.m < 0;
    return 0;
}

/* Book: a snapshot [[P,C,A], ...] or one level [P,C,A]. */
static int dec_book(struct dctx *c, struct jnode p)
{
    struct bfx_decoder *d = c->d;
    struct json_iter it;
    struct jnode e;
    uint32_t n = json_count(c->j, p), i = 0;
    int rc;

    c->what = "bitfinex book";
    c->item = "level";
    c->idx = -1;
    c->out->levels = d->levels;
    /* An update is one level (its first element a number or a string); a snapshot is an array
     * of levels, possibly empty. */
    json_iter_init(c->j, p, &it);
    if (n > 0 && json_iter_next(c->j, &it, &e) && json_kind(c->j, e) != JK_ARRAY) {
        if ((rc = dec_level(c, p, &d->levels[0])) < 0)
            return rc;
        c->out->n_levels = 1;
        c->out->kind = BFX_BOOK_UPDATE;
        return 0;
    }
    if (n > d->max_items)
        return err_set(-E2BIG, "%s: snapshot of %u levels, the decoder holds %u", c->what, n,
                       d->max_items);
    json_iter_init(c->j, p, &it);
    while (json_iter_next(c->j, &it, &e)) {
        c->idx = (int32_t)i;
        if ((rc = dec_level(c, e, &d->levels[i])) < 0)
            return rc;
        i++;
    }
    c->out->n_levels = i;
    c->out->kind = BFX_BOOK_SNAPSHOT;
    return 0;
}

/* One trade [ID, MTS, AMOUNT, PRICE, ...] into *t. */
static int dec_trade(const struct dctx *c, struct jnode a, struct mdf_trade *t)
{
    struct jnode e[4];
    struct mdf_dec amount;
    struct vbad bad;
    int rc;

    rec_head(c, t, MDF_REC_TRADE, sizeof(*t));
    if ((rc = elements(c, a, 4, e)) < 0 ||
        (rc = get_int(c, e[0], "id", true, INT64_MIN, INT64_MAX, &t->trade_id)) < 0 ||
        (rc = get_time(c, e[1], "mts", &t->h.tx_time_ns)) < 0 ||
        (rc = get_dec(c, e[2], "amount", &amount)) < 0 ||
        (rc = get_dec(c, e[3], "price", &t->price)) < 0)
        return rc;
    if (amount.m == 0 || amount.m == INT64_MIN)
        return ctx_err(c, -ERANGE, "amount zero or out of range");
    if (vcheck_dec("price", t->price, VB_POS, &bad) < 0)
        return range_err(c, &bad);
    t->side = amount.m > 0 ? MDF_SIDE_BUY : MDF_SIDE_SELL;
    t->qty = amount;
    t->qty.m = amount.m > 0 ? amount.m : -amount.m;
    t->first_id = t->last_id = t->trade_id;
    return 0;
}

/* Trades: a snapshot [[ID,MTS,AMOUNT,PRICE], ...] (newest first; given oldest first), or one
 * "te"/"tu" trade. */
static int dec_trades(struct dctx *c, struct jnode p, enum tag tag)
{
    struct bfx_decoder *d = c->d;
    struct json_iter it;
    struct jnode e;
    uint32_t n, i = 0;
    int rc;

    c->what = "bitfinex trades";
    c->item = "trade";
    c->idx = -1;
    c->out->trades = d->trades;
    if (tag == TAG_TE || tag == TAG_TU) {
        if ((rc = dec_trade(c, p, &d->trades[0])) < 0)
            return rc;
        c->out->n_trades = 1;
        c->out->kind = tag == TAG_TE ? BFX_TRADE : BFX_TRADE_UPDATE;
        return 0;
    }
    c->item = NULL;
    if (tag != TAG_NONE)
        return ctx_err(c, -EBADMSG, "tag other than te or tu (funding trades are not supported)");
    if (json_kind(c->j, p) != JK_ARRAY)
        return ctx_err(c, -EBADMSG, "snapshot is not an array");
    c->item = "trade";
    n = json_count(c->j, p);
    if (n > d->max_items)
        return err_set(-E2BIG, "%s: snapshot of %u trades, the decoder holds %u", c->what, n,
                       d->max_items);
    json_iter_init(c->j, p, &it);
    while (json_iter_next(c->j, &it, &e)) {
        c->idx = (int32_t)i;
        if ((rc = dec_trade(c, e, &d->trades[n - 1 - i])) < 0)
            return rc;
        i++;
    }
    c->out->n_trades = n;
    c->out->kind = BFX_TRADES_SNAPSHOT;
    return 0;
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int dd)
{
    int64_t era;
    int64_t yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + dd - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The start (ns) of the calendar month after the one holding t_ns (UTC). */
static int64_t next_month_ns(int64_t t_ns)
{
    int64_t z = t_ns / (86400 * INT64_C(1000000000)) + 719468, era, y;
    int64_t doe, yoe, doy, mp;
    int m;

    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    m = (int)(mp < 10 ? mp + 3 : mp - 9);
    y += m <= 2;
    if (m == 12) {
        y++;
        m = 1;
    } else {
        m++;
    }
    return days_from_civil(y, m, 1) * 86400 * INT64_C(1000000000);
}

/* A candle's fields as Bitfinex names them, for vcheck_candle() (no quote volumes, count or
 * ids). */
static const struct vcandle_names candle_names = {
    "open", "high", "low", "close", "volume", NULL, NULL, NULL, NULL, NULL, NULL,
};

/* One candle [MTS, OPEN, CLOSE, HIGH, LOW, VOLUME, ...] into *k. */
static int dec_candle(const struct dctx *c, struct jnode a, int interval, struct mdf_candle *k)
{
    struct jnode e[6];
    struct vbad bad;
    int64_t len;
    int rc;

    rec_head(c, k, MDF_REC_CANDLE, sizeof(*k));
    k->interval = (uint32_t)interval;
    if ((rc = elements(c, a, 6, e)) < 0 || (rc = get_time(c, e[0], "mts", &k->open_time_ns)) < 0 ||
        (rc = get_dec(c, e[1], "open", &k->open)) < 0 ||
        (rc = get_dec(c, e[2], "close", &k->close)) < 0 ||
        (rc = get_dec(c, e[3], "high", &k->high)) < 0 ||
        (rc = get_dec(c, e[4], "low", &k->low)) < 0 ||
        (rc = get_dec(c, e[5], "volume", &k->volume)) < 0)
        return rc;
    if (vcheck_candle(k, &candle_names, &bad) < 0)
        return range_err(c, &bad);
    len = mdf_interval_ns(interval);
    if (interval == MDF_IV_1MO)
        k->close_time_ns = next_month_ns(k->open_time_ns) - 1000000;
    else if (k->open_time_ns > INT64_MAX - len)
        return ctx_err(c, -ERANGE, "mts out of range");
    else
        k->close_time_ns = k->open_time_ns + len - 1000000;
    return 0;
}

/* Candles: a snapshot [[MTS,O,C,H,L,V], ...] (newest first; given oldest first, all but the
 * newest closed) or one candle [MTS,O,C,H,L,V]. */
static int dec_candles(struct dctx *c, struct jnode p, int interval)
{
    struct bfx_decoder *d = c->d;
    struct json_iter it;
    struct jnode e;
    uint32_t n = json_count(c->j, p), i = 0;
    int rc;

    c->what = "bitfinex candles";
    c->item = "candle";
    c->idx = -1;
    c->out->candles = d->candles;
    json_iter_init(c->j, p, &it);
    if (n > 0 && json_iter_next(c->j, &it, &e) && json_kind(c->j, e) != JK_ARRAY) {
        if ((rc = dec_candle(c, p, interval, &d->candles[0])) < 0)
            return rc;
        c->out->n_candles = 1;
        c->out->kind = BFX_CANDLE;
        return 0;
    }
    if (n > d->max_items)
        return err_set(-E2BIG, "%s: snapshot of %u candles, the decoder holds %u", c->what, n,
                       d->max_items);
    json_iter_init(c->j, p, &it);
    while (json_iter_next(c->j, &it, &e)) {
        struct mdf_candle *k = &d->candles[n - 1 - i];
        c->idx = (int32_t)i;
        if ((rc = dec_candle(c, e, interval, k)) < 0)
            return rc;
        if (i > 0)
            k->h.flags = MDF_CANDLE_F_CLOSED; /* a newer interval has begun */
        i++;
    }
    c->out->n_candles = n;
    c->out->kind = BFX_CANDLES_SNAPSHOT;
    return 0;
}

/* Ticker [BID, BID_SIZE, ASK, ASK_SIZE, DAILY_CHANGE, DAILY_CHANGE_RELATIVE, LAST_PRICE,
 * VOLUME, HIGH, LOW, ...]. */
static int dec_ticker(struct dctx *c, struct jnode p)
{
    struct mdf_ticker *t = &c->d->ticker;
    struct mdf_dec rel;
    struct jnode e[10];
    struct vbad bad;
    int rc;

    c->what = "bitfinex ticker";
    rec_head(c, t, MDF_REC_TICKER, sizeof(*t));
    if ((rc = elements(c, p, 10, e)) < 0 || (rc = get_dec(c, e[0], "bid", &t->bid_px)) < 0 ||
        (rc = get_dec(c, e[1], "bid_size", &t->bid_qty)) < 0 ||
        (rc = get_dec(c, e[2], "ask", &t->ask_px)) < 0 ||
        (rc = get_dec(c, e[3], "ask_size", &t->ask_qty)) < 0 ||
        (rc = get_dec(c, e[4], "daily_change", &t->change)) < 0 ||
        (rc = get_dec(c, e[5], "daily_change_relative", &rel)) < 0 ||
        (rc = get_dec(c, e[6], "last_price", &t->last_px)) < 0 ||
        (rc = get_dec(c, e[7], "volume", &t->volume)) < 0 ||
        (rc = get_dec(c, e[8], "high", &t->high_px)) < 0 ||
        (rc = get_dec(c, e[9], "low", &t->low_px)) < 0)
        return rc;
    if (vcheck_high_low("high", t->high_px, "low", t->low_px, &bad) < 0)
        return range_err(c, &bad);
    /* A fraction to a percentage, exactly: two more powers of ten. */
    if (rel.m != 0 && rel.e > 62)
        return field_err(c, -ERANGE, "daily_change_relative", "");
    t->change_pct = rel;
    if (rel.m != 0)
        t->change_pct.e += 2;
    if (vcheck_crossed(t->bid_px, t->ask_px))
        t->h.flags |= MDF_TICKER_F_CROSSED;
    c->out->ticker = t;
    c->out->kind = BFX_TICKER;
    return 0;
}

/* bitfinex_decode() without the final reset of the kind on failure. */
static int decode_msg(struct bfx_decoder *d, const uint8_t *msg, size_t len, int64_t recv_ns,
                      uint32_t flags, struct bfx_msg *out)
{
    struct dctx c = {d, d->json, out, "bitfinex message", NULL, -1};
    struct jnode root;
    int rc;

    msg_reset(out);
    d->pending = false;
    d->recv_ns = recv_ns;
    if (flags & ~BFX_F_SUPPORTED)
        return err_set(-EINVAL, "bitfinex: conf flags %u not supported", flags & ~BFX_F_SUPPORTED);
    if (len > d->max_message)
        return err_set(-E2BIG, "bitfinex: message of %zu bytes over the %zu-byte limit", len,
                       d->max_message);
    rc = json_parse(d->json, (const char *)msg, len, &root);
    if (rc < 0)
        return rc;
    if (json_kind(c.j, root) == JK_OBJECT)
        return dec_event(&c, root);
    return dec_array(&c, root, flags);
}

int bitfinex_decode(struct bfx_decoder *d, const uint8_t *msg, size_t len, int64_t recv_ns,
                    uint32_t flags, struct bfx_msg *out)
{
    int rc = decode_msg(d, msg, len, recv_ns, flags, out);

    /* A message refused half way must not look like a result. */
    if (rc < 0) {
        out->kind = BFX_NONE;
        d->pending = false;
    }
    return rc;
}

int bitfinex_decode_data(struct bfx_decoder *d, const struct vstream *spec, struct bfx_msg *out)
{
    struct dctx c = {d, d->json, out, "bitfinex data", NULL, -1};
    enum tag tag = d->tag;
    int rc;

    if (!d->pending || out->kind != BFX_DATA) {
        d->pending = false;
        return err_set(-EINVAL, "bitfinex: no channel data waiting to be decoded");
    }
    d->pending = false;
    switch (spec->type) {
    case VS_DIFF:
        rc = tag != TAG_NONE ? err_set(-EBADMSG, "bitfinex book: a tagged message")
             : json_kind(c.j, d->payload) != JK_ARRAY
                 ? err_set(-EBADMSG, "bitfinex book: payload is not an array")
                 : dec_book(&c, d->payload);
        break;
    case VS_TRADE:
        rc = dec_trades(&c, d->payload, tag);
        break;
    case VS_TICKER:
        rc = tag != TAG_NONE ? err_set(-EBADMSG, "bitfinex ticker: a tagged message")
                             : dec_ticker(&c, d->payload);
        break;
    case VS_KLINE:
        if (!bitfinex_interval_name(spec->interval))
            rc = err_set(-EINVAL, "bitfinex: no candles of interval %d", spec->interval);
        else if (tag != TAG_NONE)
            rc = err_set(-EBADMSG, "bitfinex candles: a tagged message");
        else if (json_kind(c.j, d->payload) != JK_ARRAY)
            rc = err_set(-EBADMSG, "bitfinex candles: payload is not an array");
        else
            rc = dec_candles(&c, d->payload, spec->interval);
        break;
    default:
        rc = err_set(-EINVAL, "bitfinex: stream type %d has no decoder", spec->type);
        break;
    }
    if (rc < 0) {
        out->kind = BFX_NONE;
        out->levels = NULL;
        out->n_levels = 0;
        out->trades = NULL;
        out->n_trades = 0;
        out->candles = NULL;
        out->n_candles = 0;
        out->ticker = NULL;
    }
    return rc;
}
