/*
 * OKX v5 public WebSocket: channels, routes, control messages and the decoder (see okx.h for
 * the contract).
 *
 * Design: one table of channels (name, stream type, route) and one of candle bars serve the
 * builders, the parser of a message's arg and the stream check, so a request built from a spec
 * and the arg the venue echoes back give the same spec. The decoder reads JSON through
 * venue/json.h (jsmn, in place) and venue/vfield.h, keeps no state between messages (the book
 * rule is book/okx_book.c's) and allocates nothing per message.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "venue/json.h"
#include "venue/okx.h"
#include "venue/vcheck.h"
#include "venue/vconf.h"
#include "venue/vfield.h"
#include "venue/vtext.h"

/* ------------------------------------------------------------------------------------------ */
/* Channels                                                                                   */

/* Candle bars with OKX's spelling: UTC-aligned from 6 h up (okx.h). */
static const struct {
    uint8_t interval; /* enum mdf_interval */
    const char *name; /* OKX bar */
} okx_bars[] = {
    {MDF_IV_1S, "1s"},    {MDF_IV_1M, "1m"},    {MDF_IV_3M, "3m"},      {MDF_IV_5M, "5m"},
    {MDF_IV_15M, "15m"},  {MDF_IV_30M, "30m"},  {MDF_IV_1H, "1H"},      {MDF_IV_2H, "2H"},
    {MDF_IV_4H, "4H"},    {MDF_IV_6H, "6Hutc"}, {MDF_IV_12H, "12Hutc"}, {MDF_IV_1D, "1Dutc"},
    {MDF_IV_3D, "3Dutc"}, {MDF_IV_1W, "1Wutc"}, {MDF_IV_1MO, "1Mutc"},
};

#define N_BARS (sizeof(okx_bars) / sizeof(okx_bars[0]))

/* The channels other than candles. */
static const struct {
    const char *name; /* channel */
    uint8_t type;     /* enum vstream_type */
    uint8_t levels;   /* vstream.levels */
    uint8_t prec;     /* vstream.prec */
} okx_channels[] = {
    {"books", VS_DIFF, 0, 0},
    {"books5", VS_DEPTH, 5, 0},
    {"bbo-tbt", VS_BOOKTICKER, 0, 0},
    {"trades", VS_TRADE, 0, 0},
    {"tickers", VS_TICKER, 0, 0},
    {"mark-price", VS_MARKPRICE, 0, 0},
    {"funding-rate", VS_MARKPRICE, 0, OKX_PREC_FUNDING},
};

#define N_CHANNELS (sizeof(okx_channels) / sizeof(okx_channels[0]))

static const char *bar_name(int interval)
{
    for (size_t i = 0; i < N_BARS; i++)
        if (okx_bars[i].interval == interval)
            return okx_bars[i].name;
    return NULL;
}

enum okx_route okx_route(const struct vstream *s)
{
    return s->type == VS_KLINE ? OKX_BUSINESS : OKX_PUBLIC;
}

int okx_ws_url(enum okx_route r, bool demo, char *buf, size_t cap)
{
    size_t len = 0;
    int rc = vtext_putf(buf, cap, &len, "%s/ws/v5/%s", demo ? OKX_HOST_DEMO : OKX_HOST,
                        r == OKX_BUSINESS ? "business" : "public");

    return vtext_finish(rc, buf, cap, len);
}

/* True if s[0..len) is an instId: upper-case letters, digits and inner single '-'. */
static bool inst_ok(const char *s, size_t len)
{
    if (len == 0 || len >= MDF_SYMBOL_MAX || s[0] == '-' || s[len - 1] == '-')
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '-' && s[i + 1] != '-')
            continue;
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return false;
    }
    return true;
}

int okx_stream_check(const struct vstream *s)
{
    const char *tn = vstream_type_name(s->type);
    size_t n = strnlen(s->symbol, MDF_SYMBOL_MAX);

    if (!inst_ok(s->symbol, n))
        return err_set(-EINVAL, "okx: bad instId \"%.*s\" (like BTC-USDT or BTC-USDT-SWAP)", (int)n,
                       s->symbol);
    if (s->type == VS_KLINE) {
        if (!bar_name(s->interval))
            return err_set(
                -EINVAL, "okx has no %s candles (1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 12h 1d 3d 1w 1M)",
                mdf_interval_name(s->interval));
        if (s->levels || s->prec || s->speed_ms)
            return err_set(-EINVAL, "okx kline stream takes no depth, precision or speed");
        return 0;
    }
    for (size_t i = 0; i < N_CHANNELS; i++)
        if (okx_channels[i].type == s->type && okx_channels[i].levels == s->levels &&
            okx_channels[i].prec == s->prec && !s->interval && !s->speed_ms)
            return 0;
    return err_set(-EINVAL,
                   "okx has no %s stream with levels %u, prec %u, interval %u, speed %u (books: "
                   "diff_depth; books5: depth 5; bbo-tbt: book_ticker; trades: trade; tickers: "
                   "ticker; mark-price: mark_price; funding-rate: mark_price prec 1; candles: "
                   "kline)",
                   tn, s->levels, s->prec, s->interval, s->speed_ms);
}

/* The channel name of an already checked spec. */
static const char *channel_of(const struct vstream *s, char *tmp, size_t cap)
{
    if (s->type == VS_KLINE) {
        snprintf(tmp, cap, "candle%s", bar_name(s->interval));
        return tmp;
    }
    for (size_t i = 0; i < N_CHANNELS; i++)
        if (okx_channels[i].type == s->type && okx_channels[i].prec == s->prec)
            return okx_channels[i].name;
    return "?";
}

/* The channel name of s, and with inst its key "channel:instId"; -EINVAL if s is not served. */
static int channel_text(const struct vstream *s, bool inst, char *buf, size_t cap)
{
    char tmp[OKX_CHANNEL_MAX];
    size_t len = 0;
    int rc = okx_stream_check(s);

    if (rc < 0) {
        if (cap)
            buf[0] = '\0';
        return rc;
    }
    rc = vtext_putf(buf, cap, &len, "%s%s%s", channel_of(s, tmp, sizeof(tmp)), inst ? ":" : "",
                    inst ? s->symbol : "");
    return vtext_finish(rc, buf, cap, len);
}

int okx_channel(const struct vstream *s, char *buf, size_t cap)
{
    return channel_text(s, false, buf, cap);
}

int okx_stream_key(const struct vstream *s, char *buf, size_t cap)
{
    return channel_text(s, true, buf, cap);
}

/* The settlement currency of a contract on base-quote: the quote for USDT and USDC margined
 * contracts, else the base (coin-margined). */
static void settle_of(const char *base, size_t bn, const char *quote, size_t qn, const char **s,
                      size_t *sn)
{
    bool stable = vf_is(quote, qn, "USDT") || vf_is(quote, qn, "USDC");

    *s = stable ? quote : base;
    *sn = stable ? qn : bn;
}

void okx_symbol_common(const char *inst, char *out, size_t cap)
{
    size_t n = strnlen(inst, MDF_SYMBOL_MAX), len = 0, bn, qn, sn;
    const char *d1, *d2, *settle;
    int rc;

    if (cap)
        out[0] = '\0';
    if (!inst_ok(inst, n) || !(d1 = memchr(inst, '-', n)))
        return;
    bn = (size_t)(d1 - inst);
    d2 = memchr(d1 + 1, '-', n - bn - 1);
    if (!d2) {
        rc = vtext_putf(out, cap, &len, "%.*s/%s", (int)bn, inst, d1 + 1);
    } else {
        qn = (size_t)(d2 - d1 - 1);
        settle_of(inst, bn, d1 + 1, qn, &settle, &sn);
        if (strcmp(d2 + 1, "SWAP") == 0)
            rc = vtext_putf(out, cap, &len, "%.*s/%.*s:%.*s", (int)bn, inst, (int)qn, d1 + 1,
                            (int)sn, settle);
        else
            rc = vtext_putf(out, cap, &len, "%.*s/%.*s:%.*s-%s", (int)bn, inst, (int)qn, d1 + 1,
                            (int)sn, settle, d2 + 1);
    }
    if (rc < 0 && cap)
        out[0] = '\0';
}

int okx_stream_parse(const char *ch, size_t clen, const char *inst, size_t ilen, struct vstream *s)
{
    memset(s, 0, sizeof(*s));
    if (!inst_ok(inst, ilen))
        return -EINVAL;
    if (clen > 6 && memcmp(ch, "candle", 6) == 0) {
        for (size_t i = 0; i < N_BARS && !s->type; i++)
            if (vf_is(ch + 6, clen - 6, okx_bars[i].name)) {
                s->type = VS_KLINE;
                s->interval = okx_bars[i].interval;
            }
    }
    for (size_t i = 0; i < N_CHANNELS && !s->type; i++)
        if (vf_is(ch, clen, okx_channels[i].name)) {
            s->type = okx_channels[i].type;
            s->levels = okx_channels[i].levels;
            s->prec = okx_channels[i].prec;
        }
    if (!s->type)
        return -EINVAL;
    memcpy(s->symbol, inst, ilen);
    s->symbol[ilen] = '\0';
    return 0;
}

int okx_control_msg(bool subscribe, const struct vstream *s, size_t n, const char *id, char *buf,
                    size_t cap)
{
    char tmp[OKX_CHANNEL_MAX];
    size_t len = 0;
    int rc;

    if (cap)
        buf[0] = '\0';
    if (n == 0)
        return err_set(-EINVAL, "okx: a request needs at least one stream");
    if (id) {
        size_t k = strlen(id);
        if (k == 0 || k > 32)
            return err_set(-EINVAL, "okx: request id must be 1..32 letters and digits");
        for (size_t i = 0; i < k; i++)
            if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
                  (id[i] >= '0' && id[i] <= '9')))
                return err_set(-EINVAL, "okx: request id must be 1..32 letters and digits");
    }
    for (size_t i = 0; i < n; i++) {
        if ((rc = okx_stream_check(&s[i])) < 0)
            return rc;
        if (okx_route(&s[i]) != okx_route(&s[0]))
            return err_set(-EINVAL, "okx: candles (/business) and other channels (/public) "
                                    "cannot share a request");
    }
    rc = vtext_putf(buf, cap, &len, "{");
    if (rc == 0 && id)
        rc = vtext_putf(buf, cap, &len, "\"id\":\"%s\",", id);
    if (rc == 0)
        rc = vtext_putf(buf, cap, &len, "\"op\":\"%s\",\"args\":[",
                        subscribe ? "subscribe" : "unsubscribe");
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = vtext_putf(buf, cap, &len, "%s{\"channel\":\"%s\",\"instId\":\"%s\"}", i ? "," : "",
                        channel_of(&s[i], tmp, sizeof(tmp)), s[i].symbol);
    if (rc == 0)
        rc = vtext_putf(buf, cap, &len, "]}");
    return vtext_finish(rc, buf, cap, len);
}

int okx_ping_msg(char *buf, size_t cap)
{
    size_t len = 0;
    int rc = vtext_putf(buf, cap, &len, "ping");

    return vtext_finish(rc, buf, cap, len);
}

void okx_stream_liveness(const struct vstream *s, struct vliveness *l)
{
    memset(l, 0, sizeof(*l));
    switch (s->type) {
    case VS_TRADE:
        l->proof = VP_TRADE_ID;
        l->gives_id = l->gives_time = l->follows_trades = true;
        break;
    case VS_DIFF:
    case VS_DEPTH:
    case VS_BOOKTICKER:
    case VS_TICKER:
        l->period_ms = s->type == VS_BOOKTICKER ? 10 : 100;
        l->proof = VP_VENUE_TIME;
        l->follows_trades = true;
        break;
    case VS_KLINE:
        l->period_ms = 1000;
        l->proof = VP_RECV_TIME; /* a candle push carries no push time, only its open time */
        l->follows_trades = true;
        break;
    default: /* mark-price, funding-rate */
        l->period_ms = s->prec == OKX_PREC_FUNDING ? 90000 : 200;
        l->guaranteed_ms = s->prec == OKX_PREC_FUNDING ? 90000 : 10000;
        l->proof = VP_VENUE_TIME;
        break;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* The protocol table (venue.h)                                                               */

static int proto_check(const struct venue_profile *p, const struct vstream *s)
{
    return okx_stream_check(s);
}

static int proto_name(const struct venue_profile *p, const struct vstream *s, char *buf, size_t cap)
{
    int len = okx_stream_key(s, buf, cap);

    return len < 0 ? err_prefix(len, "stream %s", s->symbol) : len;
}

/* venue_route is a grouping of connections by endpoint: OKX's /public is the root route, its
 * /business (candles) takes VR_MARKET, the other one venue.h has. */
static enum venue_route proto_route(const struct venue_profile *p, const struct vstream *s)
{
    return okx_route(s) == OKX_BUSINESS ? VR_MARKET : VR_ROOT;
}

/* The profile's url is scheme, host and port; the endpoint's path is ours to add. */
static int proto_url(const struct venue_profile *p, const char *base, enum venue_route r, char *buf,
                     size_t cap)
{
    size_t blen = strlen(base), len = 0;
    int rc;

    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    rc = vtext_putf(buf, cap, &len, "%.*s/ws/v5/%s", (int)blen, base,
                    r == VR_MARKET ? "business" : "public");
    return vtext_finish(rc, buf, cap, len);
}

static void proto_liveness(const struct venue_profile *p, const struct vstream *s,
                           struct vliveness *l)
{
    okx_stream_liveness(s, l);
}

static uint32_t proto_cadence(const struct venue_profile *p, const struct vstream *s)
{
    struct vliveness l;

    okx_stream_liveness(s, &l);
    return l.period_ms;
}

const struct venue_proto okx_proto = {
    .name = "okx",
    .conf = &okx_conf,
    .stream_check = proto_check,
    .stream_name = proto_name,
    .symbol_common = okx_symbol_common,
    .route = proto_route,
    .ws_url = proto_url,
    .liveness = proto_liveness,
    .cadence_ms = proto_cadence,
};

/* ------------------------------------------------------------------------------------------ */
/* Decoding                                                                                   */

struct okx_decoder {
    struct json_doc *json;      /* parser and token storage (owned) */
    uint32_t max_items;         /* room in each array below */
    size_t max_message;         /* longest message accepted */
    struct vlevel *bids, *asks; /* book levels (owned) */
    struct mdf_trade *trades;   /* trades (owned) */
    struct mdf_candle *candles; /* candles (owned) */
    int64_t recv_ns;            /* receive time of the message being decoded */
};

struct okx_decoder *okx_decoder_new(uint32_t max_items, size_t max_message)
{
    struct okx_decoder *d;
    uint64_t tokens;

    if (max_items == 0 || max_items > (1u << 22) || max_message < 64) {
        err_set(-EINVAL, "okx decoder: bad arguments (%u items, %zu bytes)", max_items,
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
    d->bids = calloc(max_items, sizeof(*d->bids));
    d->asks = calloc(max_items, sizeof(*d->asks));
    d->trades = calloc(max_items, sizeof(*d->trades));
    d->candles = calloc(max_items, sizeof(*d->candles));
    if (!d->bids || !d->asks || !d->trades || !d->candles) {
        err_set(-ENOMEM, "out of memory for a decoder of %u items", max_items);
        goto err_free;
    }
    /* A trade object is up to 19 tokens, a level 5 (two sides); never more than a message of
     * max_message bytes can hold. */
    tokens = 20 * (uint64_t)max_items + 256;
    if (tokens > max_message / 2 + 16)
        tokens = max_message / 2 + 16;
    d->json = json_doc_new(VDEC_JSMN, (uint32_t)(tokens > UINT32_MAX ? UINT32_MAX : tokens));
    if (!d->json)
        goto err_free;
    return d;

err_free:
    okx_decoder_free(d);
    return NULL;
}

void okx_decoder_free(struct okx_decoder *d)
{
    if (!d)
        return;
    json_doc_free(d->json);
    free(d->bids);
    free(d->asks);
    free(d->trades);
    free(d->candles);
    free(d);
}

/* Sets the result to OKX_IGNORED with a short description. */
static int ignored(struct okx_msg *out, const char *what, const char *name, size_t len)
{
    out->kind = OKX_IGNORED;
    snprintf(out->text, sizeof(out->text), "%s %.*s", what, (int)(len > 100 ? 100 : len), name);
    return 0;
}

/* Clears a record and fills its header. */
static void rec_head(const struct okx_decoder *d, void *rec, uint16_t type, size_t size)
{
    struct mdf_rec_hdr *h = rec;

    memset(rec, 0, size);
    h->type = type;
    h->size = (uint16_t)size;
    h->recv_time_ns = d->recv_ns;
}

/* True if the instId names a derivative (two or more '-'). */
static bool derivative(const char *inst)
{
    const char *dash = strchr(inst, '-');

    return dash && strchr(dash + 1, '-');
}

/* Checks that an item's instId member (if present) is the arg's. */
static int same_inst(const struct vfctx *c, struct jnode n, const struct okx_msg *out)
{
    const char *s;
    size_t len;
    int rc;

    if (!json_present(n))
        return 0;
    if ((rc = vf_name(c, n, "instId", &s, &len)) < 0)
        return rc;
    if (!vf_is(s, len, out->spec.symbol))
        return vf_err(c, -EBADMSG, "instId is not the arg's %s", out->spec.symbol);
    return 0;
}

/* The one item of data a channel sends per message. */
static int one_item(const struct vfctx *c, struct jnode data, struct jnode *item)
{
    struct json_iter it;

    if (json_kind(c->j, data) != JK_ARRAY || json_count(c->j, data) != 1)
        return vf_err(c, -EBADMSG, "data: not an array of one object");
    json_iter_init(c->j, data, &it);
    json_iter_next(c->j, &it, item);
    if (json_kind(c->j, *item) != JK_OBJECT)
        return vf_err(c, -EBADMSG, "data[0]: not an object");
    return 0;
}

/* Levels [[px, sz, "0", orders], ...] into lv (px and sz read; the rest may be absent). */
static int dec_levels(struct okx_decoder *d, struct vfctx *c, struct jnode arr, const char *side,
                      struct vlevel *lv, uint32_t *n)
{
    struct json_iter it;
    struct jnode e, p[2];
    uint32_t i = 0;
    int rc;

    *n = 0;
    if (json_kind(c->j, arr) != JK_ARRAY)
        return vf_err(c, -EBADMSG, "%s: missing or not an array", side);
    if (json_count(c->j, arr) > d->max_items)
        return vf_err(c, -E2BIG, "%s: %u levels, the decoder holds %u", side, json_count(c->j, arr),
                      d->max_items);
    c->item = side;
    json_iter_init(c->j, arr, &it);
    while (json_iter_next(c->j, &it, &e)) {
        struct json_iter li;
        c->idx = (int32_t)i;
        if (json_kind(c->j, e) != JK_ARRAY || json_count(c->j, e) < 2)
            return vf_err(c, -EBADMSG, "not [px, sz, ...]");
        json_iter_init(c->j, e, &li);
        json_iter_next(c->j, &li, &p[0]);
        json_iter_next(c->j, &li, &p[1]);
        if ((rc = vf_dec(c, p[0], "px", VB_POS, &lv[i].px)) < 0 ||
            (rc = vf_dec(c, p[1], "sz", VB_NONNEG, &lv[i].qty)) < 0)
            return rc;
        i++;
    }
    c->item = NULL;
    c->idx = -1;
    *n = i;
    return 0;
}

/* books, books5, bbo-tbt: data [{asks, bids, ts, checksum, prevSeqId, seqId, instId}]. */
static int dec_book(struct okx_decoder *d, struct vfctx *c, struct jnode data, bool have_action,
                    bool snapshot, struct okx_msg *out)
{
    static const struct json_key keys[] = {
        JSON_KEY("asks"),      JSON_KEY("bids"),  JSON_KEY("ts"),    JSON_KEY("checksum"),
        JSON_KEY("prevSeqId"), JSON_KEY("seqId"), JSON_KEY("instId")};
    struct jnode item, v[7];
    int64_t cs = 0;
    bool hp, hs;
    int rc;

    c->what = out->spec.type == VS_DIFF    ? "okx books"
              : out->spec.type == VS_DEPTH ? "okx books5"
                                           : "okx bbo-tbt";
    if ((rc = one_item(c, data, &item)) < 0)
        return rc;
    json_collect(c->j, item, keys, 7, v);
    if ((rc = same_inst(c, v[6], out)) < 0 ||
        (rc = dec_levels(d, c, v[0], "asks", d->asks, &out->n_asks)) < 0 ||
        (rc = dec_levels(d, c, v[1], "bids", d->bids, &out->n_bids)) < 0 ||
        (rc = vf_ms(c, v[2], "ts", &out->ts_ns)) < 0 ||
        (rc = vf_int_opt(c, v[3], "checksum", INT32_MIN, INT32_MAX, &cs, NULL)) < 0 ||
        (rc = vf_int_opt(c, v[4], "prevSeqId", -1, INT64_MAX, &out->prev_seq_id, &hp)) < 0 ||
        (rc = vf_int_opt(c, v[5], "seqId", 0, INT64_MAX, &out->seq_id, &hs)) < 0)
        return rc;
    out->checksum = (int32_t)cs;
    out->bids = d->bids;
    out->asks = d->asks;
    if (out->spec.type != VS_DIFF) {
        if (have_action && !snapshot)
            return vf_err(c, -EBADMSG, "action: an update on a snapshot-only channel");
        out->snapshot = true;
        out->have_seq = hs;
    } else {
        if (!have_action)
            return vf_err(c, -EBADMSG, "missing action");
        out->snapshot = snapshot;
        out->have_seq = hs && hp;
        if (hs != hp)
            return vf_err(c, -EBADMSG, "seqId and prevSeqId: one without the other");
    }
    if (out->spec.type == VS_BOOKTICKER) {
        struct mdf_bbo *b = &out->bbo;
        if (out->n_bids > 1 || out->n_asks > 1)
            return vf_err(c, -EBADMSG, "more than one level a side");
        rec_head(d, b, MDF_REC_BBO, sizeof(*b));
        b->h.exch_time_ns = out->ts_ns;
        b->h.venue_seq = hs ? (uint64_t)out->seq_id : 0;
        b->update_id = hs ? out->seq_id : 0;
        if (out->n_bids) {
            b->bid_px = d->bids[0].px;
            b->bid_qty = d->bids[0].qty;
        }
        if (out->n_asks) {
            b->ask_px = d->asks[0].px;
            b->ask_qty = d->asks[0].qty;
        }
        if (vcheck_crossed(b->bid_px, b->ask_px))
            b->h.flags |= MDF_BBO_F_CROSSED;
        out->kind = OKX_BBO;
        return 0;
    }
    out->kind = OKX_BOOK;
    return 0;
}

/* trades: data [{instId, tradeId, px, sz, side, ts, count, seqId}, ...]. */
static int dec_trades(struct okx_decoder *d, struct vfctx *c, struct jnode data,
                      struct okx_msg *out)
{
    static const struct json_key keys[] = {JSON_KEY("instId"), JSON_KEY("tradeId"), JSON_KEY("px"),
                                           JSON_KEY("sz"),     JSON_KEY("side"),    JSON_KEY("ts"),
                                           JSON_KEY("seqId")};
    struct json_iter it;
    struct jnode e, v[7];
    const char *s;
    size_t sn;
    int64_t seq;
    uint32_t i = 0;
    int rc;

    c->what = "okx trades";
    if (json_kind(c->j, data) != JK_ARRAY || json_count(c->j, data) == 0)
        return vf_err(c, -EBADMSG, "data: not an array of trades");
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
        rec_head(d, t, MDF_REC_TRADE, sizeof(*t));
        seq = 0;
        if ((rc = same_inst(c, v[0], out)) < 0 ||
            (rc = vf_int(c, v[1], "tradeId", 0, INT64_MAX, &t->trade_id)) < 0 ||
            (rc = vf_dec(c, v[2], "px", VB_POS, &t->price)) < 0 ||
            (rc = vf_dec(c, v[3], "sz", VB_POS, &t->qty)) < 0 ||
            (rc = vf_name(c, v[4], "side", &s, &sn)) < 0 ||
            (rc = vf_ms(c, v[5], "ts", &t->h.tx_time_ns)) < 0 ||
            (rc = vf_int_opt(c, v[6], "seqId", 0, INT64_MAX, &seq, NULL)) < 0)
            return rc;
        if (vf_is(s, sn, "buy"))
            t->side = MDF_SIDE_BUY;
        else if (vf_is(s, sn, "sell"))
            t->side = MDF_SIDE_SELL;
        else
            return vf_err(c, -EBADMSG, "side: not buy or sell");
        t->h.exch_time_ns = t->h.tx_time_ns;
        t->h.venue_seq = (uint64_t)seq;
        t->first_id = t->last_id = t->trade_id;
        i++;
    }
    out->trades = d->trades;
    out->n_trades = i;
    out->kind = OKX_TRADES;
    return 0;
}

/* tickers: data [{instId, last, lastSz, askPx, askSz, bidPx, bidSz, open24h, high24h, low24h,
 * volCcy24h, vol24h, ts}]. */
static int dec_ticker(struct okx_decoder *d, struct vfctx *c, struct jnode data,
                      struct okx_msg *out)
{
    static const struct json_key keys[] = {
        JSON_KEY("instId"),  JSON_KEY("last"),   JSON_KEY("lastSz"),    JSON_KEY("askPx"),
        JSON_KEY("askSz"),   JSON_KEY("bidPx"),  JSON_KEY("bidSz"),     JSON_KEY("open24h"),
        JSON_KEY("high24h"), JSON_KEY("low24h"), JSON_KEY("volCcy24h"), JSON_KEY("vol24h"),
        JSON_KEY("ts"),
    };
    struct mdf_ticker *t = &out->ticker;
    struct mdf_dec vol = {0, 0, 0}, volccy = {0, 0, 0};
    struct jnode item, v[13];
    struct vbad bad;
    bool h;
    int rc;

    c->what = "okx tickers";
    if ((rc = one_item(c, data, &item)) < 0)
        return rc;
    json_collect(c->j, item, keys, 13, v);
    rec_head(d, t, MDF_REC_TICKER, sizeof(*t));
    if ((rc = same_inst(c, v[0], out)) < 0 ||
        (rc = vf_dec(c, v[1], "last", VB_NONNEG, &t->last_px)) < 0 ||
        (rc = vf_dec_opt(c, v[2], "lastSz", VB_NONNEG, &t->last_qty, &h)) < 0 ||
        (rc = vf_dec_opt(c, v[3], "askPx", VB_NONNEG, &t->ask_px, &h)) < 0 ||
        (rc = vf_dec_opt(c, v[4], "askSz", VB_NONNEG, &t->ask_qty, &h)) < 0 ||
        (rc = vf_dec_opt(c, v[5], "bidPx", VB_NONNEG, &t->bid_px, &h)) < 0 ||
        (rc = vf_dec_opt(c, v[6], "bidSz", VB_NONNEG, &t->bid_qty, &h)) < 0 ||
        (rc = vf_dec(c, v[7], "open24h", VB_NONNEG, &t->open_px)) < 0 ||
        (rc = vf_dec(c, v[8], "high24h", VB_NONNEG, &t->high_px)) < 0 ||
        (rc = vf_dec(c, v[9], "low24h", VB_NONNEG, &t->low_px)) < 0 ||
        (rc = vf_dec(c, v[10], "volCcy24h", VB_NONNEG, &volccy)) < 0 ||
        (rc = vf_dec(c, v[11], "vol24h", VB_NONNEG, &vol)) < 0 ||
        (rc = vf_ms(c, v[12], "ts", &t->h.exch_time_ns)) < 0)
        return rc;
    if (vcheck_high_low("high24h", t->high_px, "low24h", t->low_px, &bad) < 0)
        return vf_range(c, &bad);
    if (derivative(out->spec.symbol)) {
        t->volume = volccy; /* vol24h counts contracts */
    } else {
        t->volume = vol;
        t->quote_volume = volccy;
    }
    if (vcheck_crossed(t->bid_px, t->ask_px))
        t->h.flags |= MDF_TICKER_F_CROSSED;
    out->kind = OKX_TICKER;
    return 0;
}

/* mark-price: data [{instId, markPx, ts}]; funding-rate: data [{instId, fundingRate,
 * fundingTime, nextFundingTime, ts, ...}]. */
static int dec_funding(struct okx_decoder *d, struct vfctx *c, struct jnode data,
                       struct okx_msg *out)
{
    static const struct json_key keys[] = {JSON_KEY("instId"), JSON_KEY("markPx"),
                                           JSON_KEY("fundingRate"), JSON_KEY("fundingTime"),
                                           JSON_KEY("ts")};
    struct mdf_funding *f = &out->funding;
    struct jnode item, v[5];
    int rc;

    c->what = out->spec.prec == OKX_PREC_FUNDING ? "okx funding-rate" : "okx mark-price";
    if ((rc = one_item(c, data, &item)) < 0)
        return rc;
    json_collect(c->j, item, keys, 5, v);
    rec_head(d, f, MDF_REC_FUNDING, sizeof(*f));
    if ((rc = same_inst(c, v[0], out)) < 0 || (rc = vf_ms(c, v[4], "ts", &f->h.exch_time_ns)) < 0)
        return rc;
    if (out->spec.prec == OKX_PREC_FUNDING) {
        if ((rc = vf_dec(c, v[2], "fundingRate", VB_ANY, &f->funding_rate)) < 0 ||
            (rc = vf_ms(c, v[3], "fundingTime", &f->next_funding_time_ns)) < 0)
            return rc;
    } else if ((rc = vf_dec(c, v[1], "markPx", VB_POS, &f->mark_px)) < 0) {
        return rc;
    }
    out->kind = OKX_FUNDING;
    return 0;
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int dd)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + dd - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The start (ns) of the UTC calendar month after the one holding t_ns (t_ns >= 0). */
static int64_t next_month_ns(int64_t t_ns)
{
    int64_t z = t_ns / (86400 * INT64_C(1000000000)) + 719468;
    int64_t era = z / 146097, doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);

    y += m <= 2;
    if (++m == 13) {
        m = 1;
        y++;
    }
    return days_from_civil(y, m, 1) * 86400 * INT64_C(1000000000);
}

/* A candle's fields as OKX names them, for vcheck_candle(). */
static const struct vcandle_names candle_names = {
    "o", "h", "l", "c", "vol", "volCcy", NULL, NULL, NULL, NULL, NULL,
};

/* candles: data [[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm], ...]. */
static int dec_candles(struct okx_decoder *d, struct vfctx *c, struct jnode data,
                       struct okx_msg *out)
{
    struct json_iter it, ci;
    struct jnode e, v[9];
    struct vbad bad;
    struct mdf_dec vol, volccy, volq = {0, 0, 0};
    bool deriv = derivative(out->spec.symbol), hq;
    int64_t len = mdf_interval_ns(out->spec.interval), confirm;
    uint32_t i = 0;
    int rc;

    c->what = "okx candles";
    if (json_kind(c->j, data) != JK_ARRAY || json_count(c->j, data) == 0)
        return vf_err(c, -EBADMSG, "data: not an array of candles");
    if (json_count(c->j, data) > d->max_items)
        return vf_err(c, -E2BIG, "%u candles, the decoder holds %u", json_count(c->j, data),
                      d->max_items);
    c->item = "candle";
    json_iter_init(c->j, data, &it);
    while (json_iter_next(c->j, &it, &e)) {
        struct mdf_candle *k = &d->candles[i];
        uint32_t n = 0;
        c->idx = (int32_t)i;
        if (json_kind(c->j, e) != JK_ARRAY || json_count(c->j, e) < 9)
            return vf_err(c, -EBADMSG, "not [ts,o,h,l,c,vol,volCcy,volCcyQuote,confirm]");
        json_iter_init(c->j, e, &ci);
        while (n < 9 && json_iter_next(c->j, &ci, &v[n]))
            n++;
        rec_head(d, k, MDF_REC_CANDLE, sizeof(*k));
        k->interval = out->spec.interval;
        if ((rc = vf_ms(c, v[0], "ts", &k->open_time_ns)) < 0 ||
            (rc = vf_dec(c, v[1], "o", VB_ANY, &k->open)) < 0 ||
            (rc = vf_dec(c, v[2], "h", VB_ANY, &k->high)) < 0 ||
            (rc = vf_dec(c, v[3], "l", VB_ANY, &k->low)) < 0 ||
            (rc = vf_dec(c, v[4], "c", VB_ANY, &k->close)) < 0 ||
            (rc = vf_dec(c, v[5], "vol", VB_NONNEG, &vol)) < 0 ||
            (rc = vf_dec(c, v[6], "volCcy", VB_NONNEG, &volccy)) < 0 ||
            (rc = vf_dec_opt(c, v[7], "volCcyQuote", VB_NONNEG, &volq, &hq)) < 0 ||
            (rc = vf_int(c, v[8], "confirm", 0, 1, &confirm)) < 0)
            return rc;
        k->volume = deriv ? volccy : vol;
        k->quote_volume = deriv ? volq : volccy;
        if (vcheck_candle(k, &candle_names, &bad) < 0)
            return vf_range(c, &bad);
        if (out->spec.interval == MDF_IV_1MO)
            k->close_time_ns = next_month_ns(k->open_time_ns) - 1000000;
        else if (k->open_time_ns > INT64_MAX - len)
            return vf_err(c, -ERANGE, "ts out of range");
        else
            k->close_time_ns = k->open_time_ns + len - 1000000;
        if (confirm)
            k->h.flags = MDF_CANDLE_F_CLOSED;
        i++;
    }
    out->candles = d->candles;
    out->n_candles = i;
    out->kind = OKX_CANDLES;
    return 0;
}

/* Sets out->spec and out->key from a channel name and an instId; false (key "") if they name
 * no stream mdfeed serves. */
static bool name_spec(const char *ch, size_t chn, const char *inst, size_t instn,
                      struct okx_msg *out)
{
    out->key[0] = '\0';
    out->key_len = 0;
    if (okx_stream_parse(ch, chn, inst, instn, &out->spec) < 0)
        return false;
    /* Both fit: a channel name is under OKX_CHANNEL_MAX, an instId under MDF_SYMBOL_MAX. */
    out->key_len =
        (uint32_t)snprintf(out->key, sizeof(out->key), "%.*s:%.*s", (int)chn, ch, (int)instn, inst);
    return true;
}

/* Reads arg {channel, instId} into out->spec and out->key; false if it names no stream mdfeed
 * serves. */
static bool arg_spec(const struct vfctx *c, struct jnode arg, struct okx_msg *out)
{
    const char *ch, *inst;
    size_t chn, instn;

    if (json_kind(c->j, arg) != JK_OBJECT ||
        json_name(c->j, json_get(c->j, arg, "channel"), &ch, &chn) < 0 ||
        json_name(c->j, json_get(c->j, arg, "instId"), &inst, &instn) < 0)
        return false;
    return name_spec(ch, chn, inst, instn, out);
}

/* The stream a 60018 error names in its msg, "Wrong URL or channel:C,instId:I doesn't exist.
 * ...": the venue's errors carry no arg, so this is how a refused arg of a request of many is
 * told apart. False if the text names none mdfeed serves. */
static bool error_spec(const char *msg, struct okx_msg *out)
{
    const char *ch = strstr(msg, "channel:"), *inst, *end;

    if (!ch)
        return false;
    ch += 8;
    inst = strstr(ch, ",instId:");
    if (!inst)
        return false;
    end = inst + 8;
    while ((*end >= 'A' && *end <= 'Z') || (*end >= '0' && *end <= '9') || *end == '-')
        end++;
    return name_spec(ch, (size_t)(inst - ch), inst + 8, (size_t)(end - inst - 8), out);
}

/* {"event":..., "arg":..., "code":..., "msg":..., "connId":..., "id":...}: v holds them in
 * that order. */
static int dec_event(struct vfctx *c, const struct jnode *v, struct okx_msg *out)
{
    const char *ev;
    size_t evn;
    int64_t code = 0;
    int rc;

    c->what = "okx event";
    if ((rc = vf_name(c, v[0], "event", &ev, &evn)) < 0 ||
        (rc = vf_int_opt(c, v[2], "code", 0, INT32_MAX, &code, NULL)) < 0)
        return rc;
    out->kind = OKX_EVENT;
    out->code = (int)code;
    if (json_present(v[4]))
        json_text(c->j, v[4], out->conn_id, sizeof(out->conn_id));
    if (json_present(v[5]))
        json_text(c->j, v[5], out->id, sizeof(out->id));
    if (json_present(v[1]))
        out->spec_known = arg_spec(c, v[1], out);
    if (vf_is(ev, evn, "subscribe"))
        out->event = OKX_EV_SUBSCRIBE;
    else if (vf_is(ev, evn, "unsubscribe"))
        out->event = OKX_EV_UNSUBSCRIBE;
    else if (vf_is(ev, evn, "error"))
        out->event = OKX_EV_ERROR;
    else if (vf_is(ev, evn, "notice"))
        out->event = OKX_EV_NOTICE;
    if (json_present(v[3]) && !vf_empty(c, v[3]))
        json_text(c->j, v[3], out->text, sizeof(out->text));
    else
        snprintf(out->text, sizeof(out->text), "%.*s", (int)(evn > 100 ? 100 : evn), ev);
    if ((out->event == OKX_EV_SUBSCRIBE || out->event == OKX_EV_UNSUBSCRIBE) && !json_present(v[1]))
        return vf_err(c, -EBADMSG, "%.*s without arg", (int)evn, ev);
    if (out->event == OKX_EV_ERROR && !out->spec_known && out->code == OKX_ERR_NO_CHANNEL)
        out->spec_known = error_spec(out->text, out);
    return 0;
}

/* okx_decode() without the reset on failure. */
static int decode_msg(struct okx_decoder *d, const uint8_t *msg, size_t len, struct okx_msg *out)
{
    enum { K_event, K_arg, K_code, K_msg, K_connId, K_id, K_action, K_data, K_N };
    static const struct json_key keys[] = {JSON_KEY("event"),  JSON_KEY("arg"),    JSON_KEY("code"),
                                           JSON_KEY("msg"),    JSON_KEY("connId"), JSON_KEY("id"),
                                           JSON_KEY("action"), JSON_KEY("data")};
    struct vfctx c = {d->json, "okx message", NULL, -1};
    struct jnode root, v[K_N];
    const char *s;
    size_t n;
    bool snapshot = false;
    int rc;

    if (len == 4 && memcmp(msg, "pong", 4) == 0) {
        out->kind = OKX_PONG;
        return 0;
    }
    if (len > d->max_message)
        return err_set(-E2BIG, "okx: message of %zu bytes over the %zu-byte limit", len,
                       d->max_message);
    if ((rc = json_parse(d->json, (const char *)msg, len, &root)) < 0)
        return rc;
    if (json_kind(c.j, root) != JK_OBJECT)
        return err_set(-EBADMSG, "okx: message is not an object");
    json_collect(c.j, root, keys, K_N, v);
    if (json_present(v[K_event]))
        return dec_event(&c, v, out);
    if (!json_present(v[K_arg]) || !json_present(v[K_data]))
        return ignored(out, "object without event, arg or data", "", 0);
    if (!arg_spec(&c, v[K_arg], out))
        return ignored(out, "data of a channel mdfeed does not serve", "", 0);
    if (json_present(v[K_action])) {
        if ((rc = vf_name(&c, v[K_action], "action", &s, &n)) < 0)
            return rc;
        if (vf_is(s, n, "snapshot"))
            snapshot = true;
        else if (!vf_is(s, n, "update"))
            return vf_err(&c, -EBADMSG, "action: not snapshot or update");
    }
    switch (out->spec.type) {
    case VS_DIFF:
    case VS_DEPTH:
    case VS_BOOKTICKER:
        return dec_book(d, &c, v[K_data], json_present(v[K_action]), snapshot, out);
    case VS_TRADE:
        return dec_trades(d, &c, v[K_data], out);
    case VS_TICKER:
        return dec_ticker(d, &c, v[K_data], out);
    case VS_MARKPRICE:
        return dec_funding(d, &c, v[K_data], out);
    default:
        return dec_candles(d, &c, v[K_data], out);
    }
}

int okx_decode(struct okx_decoder *d, const uint8_t *msg, size_t len, int64_t recv_ns,
               struct okx_msg *out)
{
    int rc;

    memset(out, 0, sizeof(*out));
    out->prev_seq_id = -1;
    d->recv_ns = recv_ns;
    rc = decode_msg(d, msg, len, out);
    if (rc < 0) {
        /* The stream's key survives: the caller counts the failure on its stream. */
        char key[OKX_KEY_MAX];
        uint32_t key_len = out->key_len;

        memcpy(key, out->key, sizeof(key));
        memset(out, 0, sizeof(*out));
        out->prev_seq_id = -1;
        memcpy(out->key, key, sizeof(key));
        out->key_len = key_len;
    }
    return rc;
}
