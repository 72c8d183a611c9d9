/*
 * Bybit v5 public WebSocket: topics, control messages and the decoder (see bybit.h for the
 * contract).
 *
 * Design: one table of intervals and one stream check serve the topic builder, the topic
 * parser and the request builders, so a topic built from a spec parses back to the same spec.
 * The decoder reads JSON through venue/json.h (jsmn, in place) and the shared field readers of
 * venue/vfield.h, so every number is exact and every error names its field; it keeps no state
 * between messages (the ticker merge is bybit_ticker.c's, the book rule book/bybit_book.c's).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "venue/bybit.h"
#include "venue/json.h"
#include "venue/vcheck.h"
#include "venue/vconf.h"
#include "venue/vfield.h"
#include "venue/vtext.h"

/* ------------------------------------------------------------------------------------------ */
/* Topics                                                                                     */

/* Kline intervals with Bybit's spelling (src/venue/README.md §4.1). */
static const struct {
    uint8_t interval; /* enum mdf_interval */
    const char *name; /* Bybit spelling */
} byb_intervals[] = {
    {MDF_IV_1M, "1"},   {MDF_IV_3M, "3"},    {MDF_IV_5M, "5"},   {MDF_IV_15M, "15"},
    {MDF_IV_30M, "30"}, {MDF_IV_1H, "60"},   {MDF_IV_2H, "120"}, {MDF_IV_4H, "240"},
    {MDF_IV_6H, "360"}, {MDF_IV_12H, "720"}, {MDF_IV_1D, "D"},   {MDF_IV_1W, "W"},
    {MDF_IV_1MO, "M"},
};

#define N_INTERVALS (sizeof(byb_intervals) / sizeof(byb_intervals[0]))

static const char *const cat_names[BYBIT_CATEGORY_COUNT] = {"spot", "linear", "inverse"};

const char *bybit_category_name(enum bybit_category cat)
{
    return (unsigned)cat < BYBIT_CATEGORY_COUNT ? cat_names[cat] : NULL;
}

int bybit_ws_url(enum bybit_category cat, bool testnet, char *buf, size_t cap)
{
    size_t len = 0;
    int rc;

    if (!bybit_category_name(cat))
        return err_set(-EINVAL, "bybit: unknown category %d", (int)cat);
    rc = vtext_putf(buf, cap, &len, "%s/v5/public/%s", testnet ? BYBIT_HOST_TESTNET : BYBIT_HOST,
                    cat_names[cat]);
    return vtext_finish(rc, buf, cap, len);
}

/* Bybit's spelling of an interval, NULL if it has none. */
static const char *interval_name(int interval)
{
    for (size_t i = 0; i < N_INTERVALS; i++)
        if (byb_intervals[i].interval == interval)
            return byb_intervals[i].name;
    return NULL;
}

/* The interval of a Bybit spelling s[0..len), 0 if none. */
static int interval_from(const char *s, size_t len)
{
    for (size_t i = 0; i < N_INTERVALS; i++)
        if (vf_is(s, len, byb_intervals[i].name))
            return byb_intervals[i].interval;
    return 0;
}

int bybit_interval_from_name(const char *s, size_t len)
{
    return interval_from(s, len);
}

/* True if s[0..len) is a symbol: upper-case letters and digits. */
static bool symbol_ok(const char *s, size_t len)
{
    if (len == 0 || len >= MDF_SYMBOL_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
            return false;
    return true;
}

int bybit_stream_check(enum bybit_category cat, const struct vstream *s)
{
    const char *cn = bybit_category_name(cat), *tn = vstream_type_name(s->type);

    if (!cn)
        return err_set(-EINVAL, "bybit: unknown category %d", (int)cat);
    if (!symbol_ok(s->symbol, strnlen(s->symbol, MDF_SYMBOL_MAX)))
        return err_set(-EINVAL, "bybit-%s: bad symbol \"%.*s\" (upper-case letters and digits)", cn,
                       (int)strnlen(s->symbol, MDF_SYMBOL_MAX), s->symbol);
    switch (s->type) {
    case VS_TRADE:
    case VS_TICKER:
        break;
    case VS_FORCEORDER:
        if (cat == BYBIT_SPOT)
            return err_set(-EINVAL, "bybit-spot has no force_order stream (linear, inverse)");
        break;
    case VS_KLINE:
        if (!interval_name(s->interval))
            return err_set(-EINVAL,
                           "bybit-%s has no %s klines (1m 3m 5m 15m 30m 1h 2h 4h 6h 12h 1d 1w 1M)",
                           cn, mdf_interval_name(s->interval));
        break;
    case VS_DIFF:
        if (s->levels != 0 && s->levels != 1 && s->levels != 50 && s->levels != 200)
            return err_set(-EINVAL, "bybit-%s book depth %u invalid (1, 50, 200, or 0 for 1000)",
                           cn, s->levels);
        break;
    default:
        return err_set(-EINVAL,
                       "bybit-%s has no %s stream (trade, diff_depth, kline, ticker, force_order)",
                       cn, tn);
    }
    if (s->type != VS_KLINE && s->interval)
        return err_set(-EINVAL, "bybit-%s %s stream takes no interval", cn, tn);
    if (s->type != VS_DIFF && s->levels)
        return err_set(-EINVAL, "bybit-%s %s stream takes no depth", cn, tn);
    if (s->prec || s->speed_ms)
        return err_set(-EINVAL, "bybit-%s %s stream takes no precision or speed", cn, tn);
    return 0;
}

int bybit_topic(enum bybit_category cat, const struct vstream *s, char *buf, size_t cap)
{
    size_t len = 0;
    int rc = bybit_stream_check(cat, s);

    if (rc < 0) {
        if (cap)
            buf[0] = '\0';
        return rc;
    }
    switch (s->type) {
    case VS_TRADE:
        rc = vtext_putf(buf, cap, &len, "publicTrade.%s", s->symbol);
        break;
    case VS_TICKER:
        rc = vtext_putf(buf, cap, &len, "tickers.%s", s->symbol);
        break;
    case VS_FORCEORDER:
        rc = vtext_putf(buf, cap, &len, "allLiquidation.%s", s->symbol);
        break;
    case VS_KLINE:
        rc = vtext_putf(buf, cap, &len, "kline.%s.%s", interval_name(s->interval), s->symbol);
        break;
    default:
        rc = vtext_putf(buf, cap, &len, "orderbook.%u.%s",
                        s->levels ? s->levels : BYBIT_BOOK_DEPTH_FULL, s->symbol);
        break;
    }
    return vtext_finish(rc, buf, cap, len);
}

/* Eats the NUL-terminated prefix p at the front of [*s, *s+*len). */
static bool eat(const char **s, size_t *len, const char *p)
{
    size_t n = strlen(p);

    if (*len < n || memcmp(*s, p, n) != 0)
        return false;
    *s += n;
    *len -= n;
    return true;
}

int bybit_topic_parse(const char *t, size_t len, struct vstream *s)
{
    const char *dot;
    size_t n;
    int64_t depth;
    bool kline = false;

    memset(s, 0, sizeof(*s));
    if (eat(&t, &len, "publicTrade.")) {
        s->type = VS_TRADE;
    } else if (eat(&t, &len, "tickers.")) {
        s->type = VS_TICKER;
    } else if (eat(&t, &len, "allLiquidation.") || eat(&t, &len, "liquidation.")) {
        s->type = VS_FORCEORDER;
    } else if ((kline = eat(&t, &len, "kline.")) || eat(&t, &len, "orderbook.")) {
        dot = memchr(t, '.', len);
        if (!dot)
            return -EINVAL;
        n = (size_t)(dot - t);
        if (kline) {
            s->type = VS_KLINE;
            s->interval = (uint8_t)interval_from(t, n);
            if (!s->interval)
                return -EINVAL;
        } else {
            s->type = VS_DIFF;
            if (vf_parse_int(t, n, &depth) < 0 || n > 4)
                return -EINVAL;
            if (depth == BYBIT_BOOK_DEPTH_FULL)
                depth = 0;
            else if (depth != 1 && depth != 50 && depth != 200)
                return -EINVAL;
            s->levels = (uint8_t)depth;
        }
        t = dot + 1;
        len -= n + 1;
    } else {
        return -EINVAL;
    }
    if (!symbol_ok(t, len))
        return -EINVAL;
    memcpy(s->symbol, t, len);
    s->symbol[len] = '\0';
    return 0;
}

/* True if a topic or req_id can be written inside quotes as it is: printable ASCII without '"'
 * or '\\', not empty. */
static bool plain(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f || *s == '"' || *s == '\\')
            return false;
    return true;
}

size_t bybit_batch_size(enum bybit_category cat, const char *const *topics, size_t n)
{
    size_t chars = 0, i;

    for (i = 0; i < n; i++) {
        if (cat == BYBIT_SPOT && i == BYBIT_SPOT_ARGS_MAX)
            break;
        /* ["a","b"]: each topic with its quotes, and a comma after all but the last. */
        chars += strlen(topics[i]) + 2 + (i > 0);
        if (chars > BYBIT_ARGS_CHARS_MAX)
            break;
    }
    return i;
}

/* Appends ,"req_id":"..." or nothing. */
static int put_req_id(char *buf, size_t cap, size_t *len, const char *req_id)
{
    return req_id ? vtext_putf(buf, cap, len, "\"req_id\":\"%s\",", req_id) : 0;
}

int bybit_control_msg(enum bybit_category cat, bool subscribe, const char *const *topics, size_t n,
                      const char *req_id, char *buf, size_t cap)
{
    size_t len = 0;
    int rc;

    if (cap)
        buf[0] = '\0';
    if (!bybit_category_name(cat) || n == 0)
        return err_set(-EINVAL, "bybit: a request needs a category and at least one topic");
    if (req_id && !plain(req_id))
        return err_set(-EINVAL, "bybit: req_id must be printable ASCII without quotes");
    for (size_t i = 0; i < n; i++)
        if (!plain(topics[i]))
            return err_set(-EINVAL, "bybit: topic %zu is not plain ASCII", i);
    if (bybit_batch_size(cat, topics, n) < n)
        return err_set(-E2BIG,
                       "bybit-%s: %zu topics exceed one request (spot: %u topics; args: %u "
                       "characters)",
                       cat_names[cat], n, BYBIT_SPOT_ARGS_MAX, BYBIT_ARGS_CHARS_MAX);
    rc = vtext_putf(buf, cap, &len, "{");
    if (rc == 0)
        rc = put_req_id(buf, cap, &len, req_id);
    if (rc == 0)
        rc = vtext_putf(buf, cap, &len, "\"op\":\"%s\",\"args\":[",
                        subscribe ? "subscribe" : "unsubscribe");
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = vtext_putf(buf, cap, &len, "%s\"%s\"", i ? "," : "", topics[i]);
    if (rc == 0)
        rc = vtext_putf(buf, cap, &len, "]}");
    return vtext_finish(rc, buf, cap, len);
}

int bybit_ping_msg(const char *req_id, char *buf, size_t cap)
{
    size_t len = 0;
    int rc;

    if (req_id && !plain(req_id)) {
        if (cap)
            buf[0] = '\0';
        return err_set(-EINVAL, "bybit: req_id must be printable ASCII without quotes");
    }
    rc = vtext_putf(buf, cap, &len, "{");
    if (rc == 0)
        rc = put_req_id(buf, cap, &len, req_id);
    if (rc == 0)
        rc = vtext_putf(buf, cap, &len, "\"op\":\"ping\"}");
    return vtext_finish(rc, buf, cap, len);
}

void bybit_stream_liveness(enum bybit_category cat, const struct vstream *s, struct vliveness *l)
{
    memset(l, 0, sizeof(*l));
    switch (s->type) {
    case VS_TRADE:
        l->proof = cat == BYBIT_SPOT ? VP_TRADE_ID : VP_VENUE_TIME;
        l->gives_id = cat == BYBIT_SPOT;
        l->gives_time = l->follows_trades = true;
        break;
    case VS_DIFF:
        l->period_ms = s->levels == 1     ? 10
                       : s->levels == 50  ? 20
                       : s->levels == 200 ? (cat == BYBIT_SPOT ? 200 : 100)
                                          : 200;
        l->guaranteed_ms = s->levels == 1 ? 3000 : 0;
        l->proof = VP_VENUE_TIME;
        l->follows_trades = true;
        break;
    case VS_TICKER:
        l->period_ms = cat == BYBIT_SPOT ? 50 : 100;
        l->proof = VP_VENUE_TIME;
        l->follows_trades = true;
        break;
    case VS_KLINE:
        l->period_ms = 60000;
        l->proof = VP_VENUE_TIME;
        l->follows_trades = true;
        break;
    default:
        l->period_ms = 500; /* allLiquidation pushes at most every 500 ms */
        break;
    }
}

/* ---- the protocol table (venue.h) -------------------------------------------------------- */

static enum bybit_category cat_of(const struct venue_profile *p)
{
    return (enum bybit_category)p->variant;
}

static int proto_check(const struct venue_profile *p, const struct vstream *s)
{
    return bybit_stream_check(cat_of(p), s);
}

static int proto_name(const struct venue_profile *p, const struct vstream *s, char *buf, size_t cap)
{
    int len = bybit_topic(cat_of(p), s, buf, cap);

    return len < 0 ? err_prefix(len, "stream %s", s->symbol) : len;
}

static enum venue_route proto_route(const struct venue_profile *p, const struct vstream *s)
{
    return VR_ROOT;
}

/* The profile's url is scheme, host and port; the category's path is ours to add. */
static int proto_url(const struct venue_profile *p, const char *base, enum venue_route r, char *buf,
                     size_t cap)
{
    size_t blen = strlen(base), len = 0;
    int rc;

    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    rc = vtext_putf(buf, cap, &len, "%.*s/v5/public/%s", (int)blen, base, cat_names[cat_of(p)]);
    return vtext_finish(rc, buf, cap, len);
}

static void proto_liveness(const struct venue_profile *p, const struct vstream *s,
                           struct vliveness *l)
{
    bybit_stream_liveness(cat_of(p), s, l);
}

static uint32_t proto_cadence(const struct venue_profile *p, const struct vstream *s)
{
    struct vliveness l;

    bybit_stream_liveness(cat_of(p), s, &l);
    return l.period_ms;
}

const struct venue_proto bybit_proto = {
    .name = "bybit",
    .conf = &bybit_conf,
    .stream_check = proto_check,
    .stream_name = proto_name,
    .symbol_common = venue_split_quote,
    .route = proto_route,
    .ws_url = proto_url,
    .liveness = proto_liveness,
    .cadence_ms = proto_cadence,
};

/* ------------------------------------------------------------------------------------------ */
/* Decoding                                                                                   */

struct bybit_decoder {
    enum bybit_category cat;      /* the category its connection serves */
    struct json_doc *json;        /* parser and token storage (owned) */
    uint32_t max_items;           /* room in each array below */
    size_t max_message;           /* longest message accepted */
    struct vlevel *bids, *asks;   /* book levels (owned) */
    struct mdf_trade *trades;     /* trades (owned) */
    struct mdf_candle *candles;   /* candles (owned) */
    struct mdf_liquidation *liqs; /* liquidations (owned) */
    int64_t recv_ns;              /* receive time of the message being decoded */
};

struct bybit_decoder *bybit_decoder_new(enum bybit_category cat, uint32_t max_items,
                                        size_t max_message)
{
    struct bybit_decoder *d;
    uint64_t tokens;

    if (!bybit_category_name(cat) || max_items == 0 || max_items > (1u << 22) || max_message < 64) {
        err_set(-EINVAL, "bybit decoder: bad arguments (category %d, %u items, %zu bytes)",
                (int)cat, max_items, max_message);
        return NULL;
    }
    d = calloc(1, sizeof(*d));
    if (!d) {
        err_set(-ENOMEM, "out of memory for a decoder");
        return NULL;
    }
    d->cat = cat;
    d->max_items = max_items;
    d->max_message = max_message;
    d->bids = calloc(max_items, sizeof(*d->bids));
    d->asks = calloc(max_items, sizeof(*d->asks));
    d->trades = calloc(max_items, sizeof(*d->trades));
    d->candles = calloc(max_items, sizeof(*d->candles));
    d->liqs = calloc(max_items, sizeof(*d->liqs));
    if (!d->bids || !d->asks || !d->trades || !d->candles || !d->liqs) {
        err_set(-ENOMEM, "out of memory for a decoder of %u items", max_items);
        goto err_free;
    }
    /* A trade object is up to 33 tokens (16 members, options' included); a level 3; never
     * more tokens than a message of max_message bytes can hold (each takes 2 bytes or more). */
    tokens = 34 * (uint64_t)max_items + 256;
    if (tokens > max_message / 2 + 16)
        tokens = max_message / 2 + 16;
    d->json = json_doc_new(VDEC_JSMN, (uint32_t)(tokens > UINT32_MAX ? UINT32_MAX : tokens));
    if (!d->json)
        goto err_free;
    return d;

err_free:
    bybit_decoder_free(d);
    return NULL;
}

void bybit_decoder_free(struct bybit_decoder *d)
{
    if (!d)
        return;
    json_doc_free(d->json);
    free(d->bids);
    free(d->asks);
    free(d->trades);
    free(d->candles);
    free(d->liqs);
    free(d);
}

/* Resets *out to an empty result. */
static void msg_reset(struct bybit_msg *out)
{
    memset(out, 0, sizeof(*out));
}

/* Sets the result to BYB_IGNORED with a short description. */
static int ignored(struct bybit_msg *out, const char *what, const char *name, size_t len)
{
    out->kind = BYB_IGNORED;
    snprintf(out->text, sizeof(out->text), "%s %.*s", what, (int)(len > 100 ? 100 : len), name);
    return 0;
}

/* Clears a record and fills its header. */
static void rec_head(const struct bybit_decoder *d, const struct bybit_msg *out, void *rec,
                     uint16_t type, size_t size)
{
    struct mdf_rec_hdr *h = rec;

    memset(rec, 0, size);
    h->type = type;
    h->size = (uint16_t)size;
    h->recv_time_ns = d->recv_ns;
    h->exch_time_ns = out->ts_ns;
}

/* Checks that a data item's symbol member (if present) is the topic's. */
static int same_symbol(const struct vfctx *c, struct jnode n, const struct bybit_msg *out)
{
    const char *s;
    size_t len;
    int rc;

    if (!json_present(n))
        return 0;
    if ((rc = vf_name(c, n, "s", &s, &len)) < 0)
        return rc;
    if (!vf_is(s, len, out->spec.symbol))
        return vf_err(c, -EBADMSG, "symbol %.*s is not the topic's %s", (int)(len > 48 ? 48 : len),
                      s, out->spec.symbol);
    return 0;
}

/* Reads "Buy"/"Sell" into *side. */
static int get_side(const struct vfctx *c, struct jnode n, const char *f, uint8_t *side)
{
    const char *s;
    size_t len;
    int rc;

    if ((rc = vf_name(c, n, f, &s, &len)) < 0)
        return rc;
    if (vf_is(s, len, "Buy"))
        *side = MDF_SIDE_BUY;
    else if (vf_is(s, len, "Sell"))
        *side = MDF_SIDE_SELL;
    else
        return vf_err(c, -EBADMSG, "%s: not Buy or Sell", f);
    return 0;
}

/* A trade id: decimal digits as they are, anything else (a UUID) as a 63-bit FNV-1a hash. */
static int get_trade_id(const struct vfctx *c, struct jnode n, int64_t *id)
{
    const char *s;
    size_t len;
    uint64_t h = 0xcbf29ce484222325u;
    int rc;

    if (json_kind(c->j, n) == JK_NUMBER)
        return vf_int(c, n, "i", 0, INT64_MAX, id);
    if ((rc = vf_name(c, n, "i", &s, &len)) < 0)
        return rc;
    if (len == 0)
        return vf_err(c, -EBADMSG, "i: empty");
    if (vf_parse_int(s, len, id) == 0 && *id >= 0)
        return 0;
    for (size_t k = 0; k < len; k++)
        h = (h ^ (unsigned char)s[k]) * 0x100000001b3u;
    *id = (int64_t)(h >> 1);
    return 0;
}

/* publicTrade: data [{T, s, S, v, p, L, i, BT, seq}, ...]. */
static int dec_trades(struct bybit_decoder *d, struct vfctx *c, struct jnode data,
                      struct bybit_msg *out)
{
    static const struct json_key keys[] = {JSON_KEY("T"),  JSON_KEY("s"), JSON_KEY("S"),
                                           JSON_KEY("v"),  JSON_KEY("p"), JSON_KEY("i"),
                                           JSON_KEY("seq")};
    struct json_iter it;
    struct jnode e, v[7];
    int64_t seq;
    uint32_t i = 0;
    int rc;

    c->what = "bybit publicTrade";
    if (json_kind(c->j, data) != JK_ARRAY)
        return vf_err(c, -EBADMSG, "data: not an array");
    if (json_count(c->j, data) > d->max_items)
        return vf_err(c, -E2BIG, "%u trades, the decoder holds %u", json_count(c->j, data),
                      d->max_items);
    c->item = "trade";
    json_iter_init(c->j, data, &it);
    while (json_iter_next(c->j, &it, &e)) {
        struct mdf_trade *t = &d->trades[i];
        c->idx = (int32_t)i;
        if (json_kind(c->j, e) != JK_OBJECT)
            return vf_err(c, -EBADMSG, "not an object");
        json_collect(c->j, e, keys, 7, v);
        rec_head(d, out, t, MDF_REC_TRADE, sizeof(*t));
        seq = 0;
        if ((rc = vf_ms(c, v[0], "T", &t->h.tx_time_ns)) < 0 ||
            (rc = same_symbol(c, v[1], out)) < 0 || (rc = get_side(c, v[2], "S", &t->side)) < 0 ||
            (rc = vf_dec(c, v[3], "v", VB_POS, &t->qty)) < 0 ||
            (rc = vf_dec(c, v[4], "p", VB_POS, &t->price)) < 0 ||
            (rc = get_trade_id(c, v[5], &t->trade_id)) < 0 ||
            (rc = vf_int_opt(c, v[6], "seq", 0, INT64_MAX, &seq, NULL)) < 0)
            return rc;
        t->first_id = t->last_id = t->trade_id;
        t->h.venue_seq = (uint64_t)seq;
        i++;
    }
    out->trades = d->trades;
    out->n_trades = i;
    out->kind = BYB_TRADES;
    return 0;
}

/* Book levels [[price, size], ...] into lv. */
static int dec_levels(struct bybit_decoder *d, struct vfctx *c, struct jnode arr, const char *side,
                      struct vlevel *lv, uint32_t *n)
{
    struct json_iter it;
    struct jnode e, p[2];
    uint32_t i = 0;
    int rc;

    *n = 0;
    if (json_kind(c->j, arr) != JK_ARRAY)
        return vf_err(c, -EBADMSG, "%s: not an array", side);
    if (json_count(c->j, arr) > d->max_items)
        return vf_err(c, -E2BIG, "%s: %u levels, the decoder holds %u", side, json_count(c->j, arr),
                      d->max_items);
    c->item = side;
    json_iter_init(c->j, arr, &it);
    while (json_iter_next(c->j, &it, &e)) {
        struct json_iter li;
        c->idx = (int32_t)i;
        if (json_kind(c->j, e) != JK_ARRAY || json_count(c->j, e) < 2)
            return vf_err(c, -EBADMSG, "not [price, size]");
        json_iter_init(c->j, e, &li);
        json_iter_next(c->j, &li, &p[0]);
        json_iter_next(c->j, &li, &p[1]);
        if ((rc = vf_dec(c, p[0], "price", VB_POS, &lv[i].px)) < 0 ||
            (rc = vf_dec(c, p[1], "size", VB_NONNEG, &lv[i].qty)) < 0)
            return rc;
        i++;
    }
    c->item = NULL;
    c->idx = -1;
    *n = i;
    return 0;
}

/* orderbook: data {s, b, a, u, seq}, type snapshot or delta, cts beside. */
static int dec_book(struct bybit_decoder *d, struct vfctx *c, struct jnode data,
                    struct bybit_msg *out)
{
    static const struct json_key keys[] = {JSON_KEY("s"), JSON_KEY("b"), JSON_KEY("a"),
                                           JSON_KEY("u"), JSON_KEY("seq")};
    struct jnode v[5];
    int rc;

    c->what = "bybit orderbook";
    if (json_kind(c->j, data) != JK_OBJECT)
        return vf_err(c, -EBADMSG, "data: not an object");
    json_collect(c->j, data, keys, 5, v);
    if ((rc = same_symbol(c, v[0], out)) < 0 ||
        (rc = dec_levels(d, c, v[1], "b", d->bids, &out->n_bids)) < 0 ||
        (rc = dec_levels(d, c, v[2], "a", d->asks, &out->n_asks)) < 0 ||
        (rc = vf_int(c, v[3], "u", 1, INT64_MAX, &out->update_id)) < 0 ||
        (rc = vf_int_opt(c, v[4], "seq", 0, INT64_MAX, &out->seq, NULL)) < 0)
        return rc;
    out->bids = d->bids;
    out->asks = d->asks;
    out->kind = BYB_BOOK;
    return 0;
}

/* A candle's fields as Bybit names them, for vcheck_candle(). */
static const struct vcandle_names candle_names = {
    "open", "high", "low", "close", "volume", "turnover", NULL, NULL, NULL, NULL, NULL,
};

/* kline: data [{start, end, interval, open, close, high, low, volume, turnover, confirm,
 * timestamp}, ...]. */
static int dec_klines(struct bybit_decoder *d, struct vfctx *c, struct jnode data,
                      struct bybit_msg *out)
{
    static const struct json_key keys[] = {
        JSON_KEY("start"),    JSON_KEY("end"),     JSON_KEY("interval"),  JSON_KEY("open"),
        JSON_KEY("close"),    JSON_KEY("high"),    JSON_KEY("low"),       JSON_KEY("volume"),
        JSON_KEY("turnover"), JSON_KEY("confirm"), JSON_KEY("timestamp"),
    };
    struct json_iter it;
    struct jnode e, v[11];
    struct vbad bad;
    const char *iv;
    size_t ivn;
    uint32_t i = 0;
    bool confirm;
    int rc;

    c->what = "bybit kline";
    if (json_kind(c->j, data) != JK_ARRAY)
        return vf_err(c, -EBADMSG, "data: not an array");
    if (json_count(c->j, data) > d->max_items)
        return vf_err(c, -E2BIG, "%u candles, the decoder holds %u", json_count(c->j, data),
                      d->max_items);
    c->item = "candle";
    json_iter_init(c->j, data, &it);
    while (json_iter_next(c->j, &it, &e)) {
        struct mdf_candle *k = &d->candles[i];
        c->idx = (int32_t)i;
        if (json_kind(c->j, e) != JK_OBJECT)
            return vf_err(c, -EBADMSG, "not an object");
        json_collect(c->j, e, keys, 11, v);
        rec_head(d, out, k, MDF_REC_CANDLE, sizeof(*k));
        k->interval = out->spec.interval;
        if ((rc = vf_ms(c, v[0], "start", &k->open_time_ns)) < 0 ||
            (rc = vf_ms(c, v[1], "end", &k->close_time_ns)) < 0 ||
            (rc = vf_dec(c, v[3], "open", VB_ANY, &k->open)) < 0 ||
            (rc = vf_dec(c, v[4], "close", VB_ANY, &k->close)) < 0 ||
            (rc = vf_dec(c, v[5], "high", VB_ANY, &k->high)) < 0 ||
            (rc = vf_dec(c, v[6], "low", VB_ANY, &k->low)) < 0 ||
            (rc = vf_dec(c, v[7], "volume", VB_ANY, &k->volume)) < 0 ||
            (rc = vf_dec(c, v[8], "turnover", VB_ANY, &k->quote_volume)) < 0)
            return rc;
        if (json_present(v[2])) {
            if ((rc = vf_name(c, v[2], "interval", &iv, &ivn)) < 0)
                return rc;
            if (interval_from(iv, ivn) != (int)out->spec.interval)
                return vf_err(c, -EBADMSG, "interval %.*s is not the topic's",
                              (int)(ivn > 8 ? 8 : ivn), iv);
        }
        if (json_bool(c->j, v[9], &confirm) < 0)
            return vf_err(c, -EBADMSG, "confirm: missing or not true/false");
        if (json_present(v[10]) && (rc = vf_ms(c, v[10], "timestamp", &k->h.tx_time_ns)) < 0)
            return rc;
        if (k->close_time_ns < k->open_time_ns)
            return vf_err(c, -ERANGE, "end before start");
        if (vcheck_candle(k, &candle_names, &bad) < 0)
            return vf_range(c, &bad);
        if (confirm)
            k->h.flags = MDF_CANDLE_F_CLOSED;
        i++;
    }
    out->candles = d->candles;
    out->n_candles = i;
    out->kind = BYB_CANDLES;
    return 0;
}

/* tickers: data {symbol, lastPrice, ...}: the fields present (a delta holds the changed ones). */
static int dec_ticker(struct vfctx *c, struct jnode data, struct bybit_msg *out)
{
    /* In enum bybit_tk_field order, then symbol and nextFundingTime. */
    static const struct json_key keys[] = {
        JSON_KEY("lastPrice"),    JSON_KEY("prevPrice24h"),    JSON_KEY("highPrice24h"),
        JSON_KEY("lowPrice24h"),  JSON_KEY("volume24h"),       JSON_KEY("turnover24h"),
        JSON_KEY("price24hPcnt"), JSON_KEY("bid1Price"),       JSON_KEY("bid1Size"),
        JSON_KEY("ask1Price"),    JSON_KEY("ask1Size"),        JSON_KEY("markPrice"),
        JSON_KEY("indexPrice"),   JSON_KEY("fundingRate"),     JSON_KEY("predictedDeliveryPrice"),
        JSON_KEY("symbol"),       JSON_KEY("nextFundingTime"),
    };
    static const enum vbound bounds[BYT_N] = {
        [BYT_LAST] = VB_NONNEG, [BYT_PREV24] = VB_NONNEG, [BYT_HIGH] = VB_NONNEG,
        [BYT_LOW] = VB_NONNEG,  [BYT_VOLUME] = VB_NONNEG, [BYT_TURNOVER] = VB_NONNEG,
        [BYT_PCT] = VB_ANY,     [BYT_BID] = VB_NONNEG,    [BYT_BID_SZ] = VB_NONNEG,
        [BYT_ASK] = VB_NONNEG,  [BYT_ASK_SZ] = VB_NONNEG, [BYT_MARK] = VB_POS,
        [BYT_INDEX] = VB_POS,   [BYT_FUNDING] = VB_ANY,   [BYT_SETTLE] = VB_NONNEG,
    };
    struct bybit_ticker *t = &out->ticker;
    struct jnode v[BYT_N + 2];
    const char *sym;
    size_t symn;
    bool have;
    int rc;

    c->what = "bybit tickers";
    if (json_kind(c->j, data) != JK_OBJECT)
        return vf_err(c, -EBADMSG, "data: not an object");
    json_collect(c->j, data, keys, BYT_N + 2, v);
    if (json_present(v[BYT_N])) {
        if ((rc = vf_name(c, v[BYT_N], "symbol", &sym, &symn)) < 0)
            return rc;
        if (!vf_is(sym, symn, out->spec.symbol))
            return vf_err(c, -EBADMSG, "symbol is not the topic's %s", out->spec.symbol);
    }
    for (int i = 0; i < BYT_N; i++) {
        if ((rc = vf_dec_opt(c, v[i], keys[i].s, bounds[i], &t->v[i], &have)) < 0)
            return rc;
        if (have)
            t->have |= 1u << i;
    }
    if ((rc = vf_int_opt(c, v[BYT_N + 1], "nextFundingTime", 0, VF_MS_MAX, &t->next_funding_ns,
                         &have)) < 0)
        return rc;
    if (have) {
        t->next_funding_ns *= 1000000;
        t->have |= 1u << BYT_NEXT_FUNDING;
    }
    t->snapshot = out->snapshot;
    out->kind = BYB_TICKER;
    return 0;
}

/* allLiquidation: data [{T, s, S, v, p}, ...]; liquidation: data {updatedTime, symbol, side,
 * size, price}. S/side is the liquidated position's side: the order closing it is opposite. */
static int dec_liqs(struct bybit_decoder *d, struct vfctx *c, struct jnode data,
                    struct bybit_msg *out)
{
    static const struct json_key keys[] = {
        JSON_KEY("T"),    JSON_KEY("s"),           JSON_KEY("S"),      JSON_KEY("v"),
        JSON_KEY("p"),    JSON_KEY("updatedTime"), JSON_KEY("symbol"), JSON_KEY("side"),
        JSON_KEY("size"), JSON_KEY("price"),
    };
    struct json_iter it;
    struct jnode e, v[10];
    uint32_t i = 0, n;
    bool one = json_kind(c->j, data) == JK_OBJECT;
    uint8_t side = 0; /* set by get_side() before use (-O3 cannot see it) */
    int rc;

    c->what = "bybit liquidation";
    if (!one && json_kind(c->j, data) != JK_ARRAY)
        return vf_err(c, -EBADMSG, "data: not an array or an object");
    n = one ? 1 : json_count(c->j, data);
    if (n > d->max_items)
        return vf_err(c, -E2BIG, "%u liquidations, the decoder holds %u", n, d->max_items);
    c->item = "liquidation";
    json_iter_init(c->j, data, &it);
    while (one ? i == 0 : json_iter_next(c->j, &it, &e)) {
        struct mdf_liquidation *q = &d->liqs[i];
        int o;
        if (one)
            e = data;
        c->idx = (int32_t)i;
        if (json_kind(c->j, e) != JK_OBJECT)
            return vf_err(c, -EBADMSG, "not an object");
        json_collect(c->j, e, keys, 10, v);
        o = json_present(v[0]) ? 0 : 5; /* the short names, or the older long ones */
        rec_head(d, out, q, MDF_REC_LIQUIDATION, sizeof(*q));
        if ((rc = vf_ms(c, v[o], o ? "updatedTime" : "T", &q->h.tx_time_ns)) < 0 ||
            (rc = same_symbol(c, v[o + 1], out)) < 0 ||
            (rc = get_side(c, v[o + 2], o ? "side" : "S", &side)) < 0 ||
            (rc = vf_dec(c, v[o + 3], o ? "size" : "v", VB_POS, &q->qty)) < 0 ||
            (rc = vf_dec(c, v[o + 4], o ? "price" : "p", VB_POS, &q->price)) < 0)
            return rc;
        q->side = side == MDF_SIDE_BUY ? MDF_SIDE_SELL : MDF_SIDE_BUY;
        q->filled_qty = q->qty;
        q->last_qty = q->qty;
        i++;
    }
    out->liqs = d->liqs;
    out->n_liqs = i;
    out->kind = BYB_LIQUIDATIONS;
    return 0;
}

/* An op reply: {"success":..,"ret_msg":..,"conn_id":..,"req_id":..,"op":..} or an options
 * pong {"op":"pong","args":[...]}. */
static int dec_reply(struct vfctx *c, const struct jnode *v, struct bybit_msg *out)
{
    const char *op, *rm = "";
    size_t opn, rmn = 0;
    int rc;

    c->what = "bybit reply";
    if ((rc = vf_name(c, v[0], "op", &op, &opn)) < 0)
        return rc;
    snprintf(out->op, sizeof(out->op), "%.*s", (int)(opn > 15 ? 15 : opn), op);
    if (vf_is(op, opn, "pong")) {
        out->kind = BYB_PONG;
        out->success = true;
        return 0;
    }
    if (json_bool(c->j, v[1], &out->success) < 0)
        return vf_err(c, -EBADMSG, "success: missing or not true/false");
    if (json_present(v[2])) {
        json_text(c->j, v[2], out->text, sizeof(out->text));
        json_str(c->j, v[2], &rm, &rmn);
    }
    if (json_present(v[3]))
        json_text(c->j, v[3], out->req_id, sizeof(out->req_id));
    out->kind = vf_is(op, opn, "ping") && vf_is(rm, rmn, "pong") ? BYB_PONG : BYB_REPLY;
    return 0;
}

/* bybit_decode() without the reset of the kind on failure. */
static int decode_msg(struct bybit_decoder *d, const uint8_t *msg, size_t len,
                      struct bybit_msg *out)
{
    enum { K_topic, K_type, K_ts, K_data, K_cts, K_op, K_success, K_ret_msg, K_req_id, K_N };
    static const struct json_key keys[] = {
        JSON_KEY("topic"),   JSON_KEY("type"),    JSON_KEY("ts"),
        JSON_KEY("data"),    JSON_KEY("cts"),     JSON_KEY("op"),
        JSON_KEY("success"), JSON_KEY("ret_msg"), JSON_KEY("req_id"),
    };
    struct vfctx c = {d->json, "bybit message", NULL, -1};
    struct jnode root, v[K_N];
    const char *s;
    size_t n;
    int rc;

    if (len > d->max_message)
        return err_set(-E2BIG, "bybit: message of %zu bytes over the %zu-byte limit", len,
                       d->max_message);
    if ((rc = json_parse(d->json, (const char *)msg, len, &root)) < 0)
        return rc;
    if (json_kind(c.j, root) != JK_OBJECT)
        return err_set(-EBADMSG, "bybit: message is not an object");
    json_collect(c.j, root, keys, K_N, v);
    if (!json_present(v[K_topic])) {
        if (json_present(v[K_op]))
            return dec_reply(&c, &v[K_op], out);
        return ignored(out, "object without topic or op", "", 0);
    }
    if ((rc = vf_name(&c, v[K_topic], "topic", &s, &n)) < 0)
        return rc;
    out->topic = s;
    out->topic_len = n;
    if (bybit_topic_parse(s, n, &out->spec) < 0)
        return ignored(out, "topic", s, n);
    if (json_present(v[K_ts]) && (rc = vf_ms(&c, v[K_ts], "ts", &out->ts_ns)) < 0)
        return rc;
    if (json_present(v[K_cts]) && (rc = vf_ms(&c, v[K_cts], "cts", &out->cts_ns)) < 0)
        return rc;
    out->snapshot = true;
    if (json_present(v[K_type])) {
        if ((rc = vf_name(&c, v[K_type], "type", &s, &n)) < 0)
            return rc;
        if (vf_is(s, n, "delta"))
            out->snapshot = false;
        else if (!vf_is(s, n, "snapshot"))
            return vf_err(&c, -EBADMSG, "type: not snapshot or delta");
    } else if (out->spec.type == VS_DIFF || out->spec.type == VS_TICKER) {
        return vf_err(&c, -EBADMSG, "missing type");
    }
    if (!json_present(v[K_data]))
        return vf_err(&c, -EBADMSG, "missing data");
    switch (out->spec.type) {
    case VS_TRADE:
        return dec_trades(d, &c, v[K_data], out);
    case VS_DIFF:
        return dec_book(d, &c, v[K_data], out);
    case VS_KLINE:
        return dec_klines(d, &c, v[K_data], out);
    case VS_TICKER:
        return dec_ticker(&c, v[K_data], out);
    default:
        return dec_liqs(d, &c, v[K_data], out);
    }
}

int bybit_decode(struct bybit_decoder *d, const uint8_t *msg, size_t len, int64_t recv_ns,
                 struct bybit_msg *out)
{
    int rc;

    msg_reset(out);
    d->recv_ns = recv_ns;
    rc = decode_msg(d, msg, len, out);
    /* A message refused half way must not look like a result; its topic stays known. */
    if (rc < 0) {
        const char *topic = out->topic;
        size_t topic_len = out->topic_len;

        msg_reset(out);
        out->topic = topic;
        out->topic_len = topic_len;
    }
    return rc;
}
