/*
 * Binance spot and USD-M futures: stream names, URLs, control messages, REST requests, and the
 * decoder from WebSocket and REST JSON into records.
 *
 * Design: everything here is a pure function of its arguments (no I/O, clock or globals).
 * Stream names are built from and parsed back into struct vstream through one table of
 * suffixes, and binance_stream_check() is the single place that knows which venue serves which
 * type, interval, depth and speed, so the config, the URL builders and the parser can never
 * disagree. The decoder reads JSON through venue/json.h, so the parser behind it can be swapped.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "venue/json.h"
#include "venue/vcheck.h"
#include "venue/vconf.h"
#include "venue/venue.h"
#include "venue/vtext.h"

/* ------------------------------------------------------------------------------------------ */
/* Stream names                                                                               */

/* Kline intervals Binance serves (spot and USD-M futures), in stream-name spelling. */
static const uint8_t binance_intervals[] = {
    MDF_IV_1S, MDF_IV_1M, MDF_IV_3M, MDF_IV_5M,  MDF_IV_15M, MDF_IV_30M, MDF_IV_1H, MDF_IV_2H,
    MDF_IV_4H, MDF_IV_6H, MDF_IV_8H, MDF_IV_12H, MDF_IV_1D,  MDF_IV_3D,  MDF_IV_1W, MDF_IV_1MO,
};

/* Stream-name suffix after "<symbol>@" for each type (depth types get their level count and
 * speed appended, klines their interval). */
static const char *const suffixes[VS_COUNT] = {
    [VS_TRADE] = "trade",         [VS_AGGTRADE] = "aggTrade",
    [VS_KLINE] = "kline_",        [VS_DEPTH] = "depth",
    [VS_DIFF] = "depth",          [VS_BOOKTICKER] = "bookTicker",
    [VS_TICKER] = "ticker",       [VS_MINITICKER] = "miniTicker",
    [VS_MARKPRICE] = "markPrice", [VS_FORCEORDER] = "forceOrder",
};

/* True if interval is one Binance serves. */
static bool binance_interval_ok(int interval)
{
    for (size_t i = 0; i < sizeof(binance_intervals); i++)
        if (binance_intervals[i] == interval)
            return true;
    return false;
}

/* True if sym is a non-empty NUL-terminated venue symbol: upper-case letters, digits and '_'
 * (futures delivery contracts, "BTCUSDT_250328"). */
static bool symbol_ok(const char *sym)
{
    size_t n = 0;

    for (; n < MDF_SYMBOL_MAX && sym[n]; n++) {
        char c = sym[n];
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return n > 0 && n < MDF_SYMBOL_MAX;
}

/* The venue's default book speed for a depth or diff-depth stream. */
static uint16_t default_book_speed(const struct venue_profile *p)
{
    return p->futures ? 250 : 1000;
}

/* True if speed (0 = default) is one the venue offers for depth / diff-depth streams. */
static bool book_speed_ok(const struct venue_profile *p, uint16_t speed)
{
    if (speed == 0 || speed == 100 || speed == default_book_speed(p))
        return true;
    return p->futures && speed == 500;
}

int binance_stream_check(const struct venue_profile *p, const struct vstream *s)
{
    const char *vn = p ? p->name : "?";
    const char *tn;

    if (!p || p->family != VF_BINANCE)
        return err_set(-EINVAL, "%s is not a Binance venue", vn);
    if (s->type <= VS_NONE || s->type >= VS_COUNT)
        return err_set(-EINVAL, "unknown stream type %d", s->type);
    tn = vstream_type_name(s->type);
    if (!symbol_ok(s->symbol))
        return err_set(-EINVAL, "%s: bad symbol \"%.*s\" (upper-case letters, digits, '_')", vn,
                       (int)strnlen(s->symbol, MDF_SYMBOL_MAX), s->symbol);
    if (s->type == VS_TRADE && p->futures)
        return err_set(-EINVAL, "%s has no trade stream (use agg_trade)", vn);
    if ((s->type == VS_MARKPRICE || s->type == VS_FORCEORDER) && !p->futures)
        return err_set(-EINVAL, "%s has no %s stream (futures only)", vn, tn);
    if (s->type == VS_KLINE) {
        if (!binance_interval_ok(s->interval))
            return err_set(-EINVAL, "%s has no %s kline interval", vn,
                           mdf_interval_name(s->interval));
    } else if (s->interval) {
        return err_set(-EINVAL, "%s %s stream takes no interval", vn, tn);
    }
    if (s->type == VS_DEPTH) {
        if (s->levels != 5 && s->levels != 10 && s->levels != 20)
            return err_set(-EINVAL, "%s depth stream has 5, 10 or 20 levels, not %u", vn,
                           s->levels);
    } else if (s->levels) {
        return err_set(-EINVAL, "%s %s stream takes no level count", vn, tn);
    }
    switch (s->type) {
    case VS_DEPTH:
    case VS_DIFF:
        if (!book_speed_ok(p, s->speed_ms))
            return err_set(-EINVAL, "%s %s stream has no %u ms speed (%s)", vn, tn, s->speed_ms,
                           p->futures ? "100, 250 or 500" : "100 or 1000");
        break;
    case VS_MARKPRICE:
        if (s->speed_ms != 0 && s->speed_ms != 1000 && s->speed_ms != 3000)
            return err_set(-EINVAL, "%s mark_price stream has no %u ms speed (1000 or 3000)", vn,
                           s->speed_ms);
        break;
    default:
        if (s->speed_ms)
            return err_set(-EINVAL, "%s %s stream takes no speed", vn, tn);
        break;
    }
    return 0;
}

/* Appends the NUL-terminated text t at *len in buf (keeping a NUL after it). Returns 0 or
 * -ENOSPC, leaving buf NUL-terminated when it has room for anything. */
static int put(char *buf, size_t cap, size_t *len, const char *t)
{
    size_t n = strlen(t);

    if (*len + n >= cap)
        return -ENOSPC;
    memcpy(buf + *len, t, n + 1);
    *len += n;
    return 0;
}

/* Appends n bytes of t. Same returns as put(). */
static int putn(char *buf, size_t cap, size_t *len, const char *t, size_t n)
{
    if (*len + n >= cap)
        return -ENOSPC;
    memcpy(buf + *len, t, n);
    *len += n;
    buf[*len] = '\0';
    return 0;
}

int binance_stream_name(const struct venue_profile *p, const struct vstream *s, char *buf,
                        size_t cap)
{
    char sym[MDF_SYMBOL_MAX];
    size_t len = 0, i;
    int rc;

    rc = binance_stream_check(p, s);
    if (rc < 0)
        return rc;
    for (i = 0; s->symbol[i]; i++)
        sym[i] =
            (char)(s->symbol[i] >= 'A' && s->symbol[i] <= 'Z' ? s->symbol[i] + 32 : s->symbol[i]);
    sym[i] = '\0';
    rc = vtext_putf(buf, cap, &len, "%s@%s", sym, suffixes[s->type]);
    if (rc == 0 && s->type == VS_KLINE)
        rc = put(buf, cap, &len, mdf_interval_name(s->interval));
    if (rc == 0 && s->type == VS_DEPTH)
        rc = vtext_putf(buf, cap, &len, "%u", s->levels);
    if (rc == 0 && (s->type == VS_DEPTH || s->type == VS_DIFF) && s->speed_ms &&
        s->speed_ms != default_book_speed(p))
        rc = vtext_putf(buf, cap, &len, "@%ums", s->speed_ms);
    if (rc == 0 && s->type == VS_MARKPRICE && s->speed_ms == 1000)
        rc = put(buf, cap, &len, "@1s");
    return vtext_finish(rc, buf, cap, len);
}

/* True if name[0..len) starts with the NUL-terminated prefix; advances *pos past it. */
static bool eat(const char *name, size_t len, size_t *pos, const char *prefix)
{
    size_t n = strlen(prefix);

    if (len - *pos < n || memcmp(name + *pos, prefix, n) != 0)
        return false;
    *pos += n;
    return true;
}

/* Parses "@<digits>ms" at *pos into *ms (1..60000). Returns true and advances on success. */
static bool eat_speed(const char *name, size_t len, size_t *pos, uint16_t *ms)
{
    size_t i = *pos;
    uint32_t v = 0;

    if (!eat(name, len, &i, "@"))
        return false;
    if (i >= len || name[i] < '1' || name[i] > '9')
        return false;
    while (i < len && name[i] >= '0' && name[i] <= '9' && v <= 60000)
        v = v * 10 + (uint32_t)(name[i++] - '0');
    if (v > 60000 || !eat(name, len, &i, "ms"))
        return false;
    *ms = (uint16_t)v;
    *pos = i;
    return true;
}

int binance_stream_parse(const struct venue_profile *p, const char *name, size_t len,
                         struct vstream *s)
{
    struct vstream v;
    size_t at, pos;
    int rc;

    if (!p)
        return err_set(-EINVAL, "no venue profile");
    memset(&v, 0, sizeof(v));
    for (at = 0; at < len && name[at] != '@'; at++) {
        char c = name[at];
        if (at + 1 >= MDF_SYMBOL_MAX)
            goto bad;
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 32);
        v.symbol[at] = c;
    }
    if (at == 0 || at >= len)
        goto bad;
    pos = at + 1;
    if (eat(name, len, &pos, "aggTrade")) {
        v.type = VS_AGGTRADE;
    } else if (eat(name, len, &pos, "trade")) {
        v.type = VS_TRADE;
    } else if (eat(name, len, &pos, "kline_")) {
        char iv[8];
        size_t n = len - pos;
        int i;
        if (n == 0 || n >= sizeof(iv))
            goto bad;
        memcpy(iv, name + pos, n);
        iv[n] = '\0';
        i = mdf_interval_from_name(iv);
        if (i <= 0)
            goto bad;
        v.type = VS_KLINE;
        v.interval = (uint8_t)i;
        pos = len;
    } else if (eat(name, len, &pos, "depth")) {
        v.type = VS_DIFF;
        if (eat(name, len, &pos, "5"))
            v.levels = 5;
        else if (eat(name, len, &pos, "10"))
            v.levels = 10;
        else if (eat(name, len, &pos, "20"))
            v.levels = 20;
        if (v.levels)
            v.type = VS_DEPTH;
        if (pos < len && !eat_speed(name, len, &pos, &v.speed_ms))
            goto bad;
        if (v.speed_ms == default_book_speed(p))
            v.speed_ms = 0;
    } else if (eat(name, len, &pos, "bookTicker")) {
        v.type = VS_BOOKTICKER;
    } else if (eat(name, len, &pos, "miniTicker")) {
        v.type = VS_MINITICKER;
    } else if (eat(name, len, &pos, "ticker")) {
        v.type = VS_TICKER;
    } else if (eat(name, len, &pos, "markPrice")) {
        v.type = VS_MARKPRICE;
        if (eat(name, len, &pos, "@1s"))
            v.speed_ms = 1000;
    } else if (eat(name, len, &pos, "forceOrder")) {
        v.type = VS_FORCEORDER;
    }
    if (v.type == VS_NONE || pos != len)
        goto bad;
    rc = binance_stream_check(p, &v);
    if (rc < 0)
        return rc;
    *s = v;
    return 0;
bad:
    return err_set(-EINVAL, "not a stream name mdfeed knows: \"%.*s\"", (int)(len > 80 ? 80 : len),
                   name);
}

enum venue_route binance_stream_route(const struct venue_profile *p, const struct vstream *s)
{
    if (!p || !p->futures)
        return VR_ROOT;
    switch (s->type) {
    case VS_DEPTH:
    case VS_DIFF:
    case VS_BOOKTICKER:
        return VR_PUBLIC;
    default:
        return VR_MARKET;
    }
}

int binance_ws_url(const struct venue_profile *p, const char *base, enum venue_route route,
                   const char *const *names, size_t n, char *buf, size_t cap)
{
    size_t blen = strlen(base), len = 0;
    int rc;

    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    rc = putn(buf, cap, &len, base, blen);
    if (rc == 0 && p && p->futures && route == VR_PUBLIC)
        rc = put(buf, cap, &len, "/public");
    if (rc == 0 && p && p->futures && route == VR_MARKET)
        rc = put(buf, cap, &len, "/market");
    if (rc == 0)
        rc = put(buf, cap, &len, n ? "/stream?streams=" : "/stream");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (i)
            rc = put(buf, cap, &len, "/");
        if (rc == 0)
            rc = put(buf, cap, &len, names[i]);
    }
    return vtext_finish(rc, buf, cap, len);
}

/* Longest push delay in ms of a change (the documented update speeds), 0 for real-time
 * streams. */
static uint32_t cadence_ms(const struct venue_profile *p, const struct vstream *s)
{
    bool futures = p->futures;

    switch (s->type) {
    case VS_KLINE:
        if (futures)
            return 250;
        return s->interval == MDF_IV_1S ? 1000 : 2000;
    case VS_DEPTH:
        if (s->speed_ms)
            return s->speed_ms;
        return futures ? 250 : 1000;
    case VS_TICKER:
    case VS_MINITICKER:
        return 1000;
    case VS_MARKPRICE:
        return s->speed_ms ? s->speed_ms : 3000;
    default:
        return 0;
    }
}

/* The evidence rule (see venue.h and mdfeedd(8), HEALTH): only markPrice pushes while nothing
 * changes; everything else follows trades or book changes and is silent on a symbol nobody
 * trades. */
static void liveness(const struct venue_profile *p, const struct vstream *s, struct vliveness *l)
{
    bool futures = p->futures;

    l->period_ms = cadence_ms(p, s);
    switch (s->type) {
    case VS_TRADE:
    case VS_AGGTRADE:
        l->proof = VP_TRADE_ID;
        l->gives_id = l->gives_time = l->follows_trades = true;
        break;
    case VS_KLINE:
    case VS_TICKER:
        l->proof = VP_TRADE_ID;
        l->gives_id = l->follows_trades = true;
        break;
    case VS_MINITICKER:
    case VS_DIFF:
        l->proof = VP_VENUE_TIME;
        l->follows_trades = true;
        break;
    case VS_DEPTH:
    case VS_BOOKTICKER:
        /* Futures stamp both with E; spot's carry no time at all. */
        l->proof = futures ? VP_VENUE_TIME : VP_RECV_TIME;
        l->follows_trades = true;
        break;
    case VS_MARKPRICE:
        l->guaranteed_ms = l->period_ms;
        break;
    default:
        break; /* forceOrder: liquidations are rare; silence proves nothing */
    }
}

static int stream_name(const struct venue_profile *p, const struct vstream *s, char *buf,
                       size_t cap)
{
    int len = binance_stream_name(p, s, buf, cap);

    return len < 0 ? err_set(-EINVAL, "stream name too long for %s", s->symbol) : len;
}

/* The combined-stream URL with no streams in it: they are added by SUBSCRIBE. */
static int ws_url(const struct venue_profile *p, const char *base, enum venue_route r, char *buf,
                  size_t cap)
{
    return binance_ws_url(p, base, r, NULL, 0, buf, cap);
}

/* True if a stream name can go into a JSON string as it is (no quotes, backslashes or control
 * characters) and is not empty. */
static bool json_safe(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            return false;
    return true;
}

int binance_control_msg(bool subscribe, const char *const *names, size_t n, uint64_t id, char *buf,
                        size_t cap)
{
    size_t len = 0;
    int rc;

    for (size_t i = 0; i < n; i++)
        if (!json_safe(names[i]))
            return err_set(-EINVAL, "stream name %zu cannot be sent as it is", i);
    rc = vtext_putf(buf, cap, &len, "{\"method\":\"%s\",\"params\":[",
                    subscribe ? "SUBSCRIBE" : "UNSUBSCRIBE");
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = vtext_putf(buf, cap, &len, "%s\"%s\"", i ? "," : "", names[i]);
    if (rc == 0)
        rc = vtext_putf(buf, cap, &len, "],\"id\":%" PRIu64 "}", id);
    return vtext_finish(rc, buf, cap, len);
}

/* Writes "<rest_base><path>?symbol=<symbol>" into buf at *len after checking the symbol. */
static int rest_start(const char *rest_base, const char *path, const char *symbol, char *buf,
                      size_t cap, size_t *len)
{
    size_t blen = strlen(rest_base);

    if (!symbol_ok(symbol))
        return err_set(-EINVAL, "bad symbol \"%.*s\"", (int)strnlen(symbol, MDF_SYMBOL_MAX),
                       symbol);
    while (blen > 0 && rest_base[blen - 1] == '/')
        blen--;
    if (putn(buf, cap, len, rest_base, blen) < 0 ||
        vtext_putf(buf, cap, len, "%s?symbol=%s", path, symbol) < 0)
        return -ENOSPC;
    return 0;
}

int binance_depth_url(const struct venue_profile *p, const char *rest_base, const char *symbol,
                      uint32_t limit, char *buf, size_t cap, uint32_t *weight)
{
    size_t len = 0;
    uint32_t w;
    int rc;

    if (p->futures) {
        switch (limit) {
        case 5:
        case 10:
        case 20:
        case 50:
            w = 2;
            break;
        case 100:
            w = 5;
            break;
        case 500:
            w = 10;
            break;
        case 1000:
            w = 20;
            break;
        default:
            return err_set(-EINVAL, "%s depth limit %u invalid (5, 10, 20, 50, 100, 500, 1000)",
                           p->name, limit);
        }
    } else {
        if (limit < 1 || limit > 5000)
            return err_set(-EINVAL, "%s depth limit %u invalid (1..5000)", p->name, limit);
        w = limit <= 100 ? 5 : limit <= 500 ? 25 : limit <= 1000 ? 50 : 250;
    }
    rc = rest_start(rest_base, p->futures ? "/fapi/v1/depth" : "/api/v3/depth", symbol, buf, cap,
                    &len);
    if (rc == -EINVAL)
        return rc;
    if (rc == 0)
        rc = vtext_putf(buf, cap, &len, "&limit=%u", limit);
    rc = vtext_finish(rc, buf, cap, len);
    if (rc >= 0 && weight)
        *weight = w;
    return rc;
}

int binance_klines_url(const struct venue_profile *p, const char *rest_base, const char *symbol,
                       int interval, int64_t start_ms, int64_t end_ms, uint32_t limit, char *buf,
                       size_t cap, uint32_t *weight)
{
    size_t len = 0;
    uint32_t w;
    int rc;

    if (!binance_interval_ok(interval) || (p->futures && interval == MDF_IV_1S))
        return err_set(-EINVAL, "%s has no %s REST klines", p->name, mdf_interval_name(interval));
    if (limit < 1 || limit > p->klines_limit)
        return err_set(-EINVAL, "%s klines limit %u invalid (1..%u)", p->name, limit,
                       p->klines_limit);
    if (start_ms < 0 || end_ms < start_ms)
        return err_set(-EINVAL, "klines time range [%" PRId64 ", %" PRId64 "] invalid", start_ms,
                       end_ms);
    if (p->futures)
        w = limit < 100 ? 1 : limit < 500 ? 2 : limit <= 1000 ? 5 : 10;
    else
        w = 2;
    rc = rest_start(rest_base, p->futures ? "/fapi/v1/klines" : "/api/v3/klines", symbol, buf, cap,
                    &len);
    if (rc == -EINVAL)
        return rc;
    if (rc == 0)
        rc = vtext_putf(buf, cap, &len,
                        "&interval=%s&startTime=%" PRId64 "&endTime=%" PRId64 "&limit=%u",
                        mdf_interval_name(interval), start_ms, end_ms, limit);
    rc = vtext_finish(rc, buf, cap, len);
    if (rc >= 0 && weight)
        *weight = w;
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Decoding                                                                                   */

/* A decoder: the JSON document and the level arrays, all allocated once by vdec_new(). */
struct vdecoder {
    const struct venue_profile *p; /* the venue (static) */
    struct json_doc *json;         /* parser and its storage (owned) */
    uint32_t max_levels;           /* room per side in bids / asks */
    size_t max_message;            /* longest message accepted */
    struct vlevel *bids;           /* decoded bids of the current message (owned) */
    struct vlevel *asks;           /* decoded asks of the current message (owned) */
};

/* One message being decoded: where errors are named from and where results go. */
struct dctx {
    struct vdecoder *d;       /* the decoder */
    const struct json_doc *j; /* its document */
    struct vmsg *out;         /* the result */
    const char *what;         /* message kind named in errors ("aggTrade") */
    bool wrapped;             /* came in a combined-stream wrapper (out->spec is set) */
};

/* The largest ms time whose ns value fits int64. */
#define MS_MAX (INT64_MAX / 1000000)

/* Event type names ("e") of the streams mdfeed decodes, indexed by enum vstream_type. VS_DEPTH
 * payloads carry "depthUpdate" on futures and nothing on spot. */
static const char *const event_names[VS_COUNT] = {
    [VS_TRADE] = "trade",
    [VS_AGGTRADE] = "aggTrade",
    [VS_KLINE] = "kline",
    [VS_DEPTH] = "depthUpdate",
    [VS_DIFF] = "depthUpdate",
    [VS_BOOKTICKER] = "bookTicker",
    [VS_TICKER] = "24hrTicker",
    [VS_MINITICKER] = "24hrMiniTicker",
    [VS_MARKPRICE] = "markPriceUpdate",
    [VS_FORCEORDER] = "forceOrder",
};

struct vdecoder *vdec_new(const struct venue_profile *p, enum vdec_backend backend,
                          uint32_t max_levels, size_t max_message)
{
    struct vdecoder *d;
    uint64_t tokens;

    if (!p || p->family != VF_BINANCE || max_levels == 0 || max_levels > (1u << 24) ||
        max_message < 64) {
        err_set(-EINVAL, "vdec_new: bad arguments (profile %s, %u levels, %zu bytes)",
                p ? p->name : "NULL", max_levels, max_message);
        return NULL;
    }
    d = calloc(1, sizeof(*d));
    if (!d) {
        err_set(-ENOMEM, "out of memory for a decoder");
        return NULL;
    }
    d->p = p;
    d->max_levels = max_levels;
    d->max_message = max_message;
    d->bids = calloc(max_levels, sizeof(*d->bids));
    d->asks = calloc(max_levels, sizeof(*d->asks));
    if (!d->bids || !d->asks) {
        err_set(-ENOMEM, "out of memory for a decoder of %u levels", max_levels);
        goto err_free;
    }
    /* Tokens: each level is 3 ([p, q]), the largest klines body 13 per candle, plus the
     * fields around them; never more than a message of max_message bytes can hold. */
    tokens = 6 * (uint64_t)max_levels + 256;
    if (tokens < 13 * (uint64_t)p->klines_limit + 64)
        tokens = 13 * (uint64_t)p->klines_limit + 64;
    if (tokens > max_message / 2 + 16)
        tokens = max_message / 2 + 16;
    d->json = json_doc_new(backend, (uint32_t)(tokens > UINT32_MAX ? UINT32_MAX : tokens));
    if (!d->json)
        goto err_free; /* json_doc_new said why */
    return d;

err_free:
    free(d->asks);
    free(d->bids);
    free(d);
    return NULL;
}

void vdec_free(struct vdecoder *d)
{
    if (!d)
        return;
    json_doc_free(d->json);
    free(d->bids);
    free(d->asks);
    free(d);
}

/* Names a field's error: "aggTrade.p: not a decimal" or "...: out of range". */
static int field_err(const struct dctx *c, int rc, const char *field, const char *expect)
{
    return err_set(rc, "%s.%s: %s", c->what, field,
                   rc == -ERANGE  ? "out of range"
                   : rc == -E2BIG ? "too many"
                                  : expect);
}

/* A value out of range: "kline.k.h: 0.5 is below k.l 1". Returns -ERANGE. */
static int range_err(const struct dctx *c, const struct vbad *bad)
{
    return err_set(-ERANGE, "%s.%s: %s", c->what, bad->field, bad->why);
}

/* "missing field" error for a required field. */
static int missing(const struct dctx *c, const char *field)
{
    return err_set(-EBADMSG, "%s: missing field %s", c->what, field);
}

/* Reads an optional (or, if req, required) integer field; absent leaves *v alone. */
static int get_i64(const struct dctx *c, struct jnode n, const char *f, bool req, int64_t *v)
{
    int rc;

    if (!json_present(n))
        return req ? missing(c, f) : 0;
    rc = json_int64(c->j, n, v);
    return rc < 0 ? field_err(c, rc, f, "not an integer") : 0;
}

/* Reads a time in ms into *ns; a time before 1970 or past 2262 is -ERANGE. */
static int get_time(const struct dctx *c, struct jnode n, const char *f, bool req, int64_t *ns)
{
    int64_t ms = 0;
    int rc = get_i64(c, n, f, req, &ms);

    if (rc < 0)
        return rc;
    if (ms < 0 || ms > MS_MAX)
        return field_err(c, -ERANGE, f, "");
    if (json_present(n))
        *ns = ms * 1000000;
    return 0;
}

/* Reads a decimal field that must be within b when present. empty_ok: "" reads as absent
 * (Binance sends "" for a funding rate that does not apply). */
static int get_dec(const struct dctx *c, struct jnode n, const char *f, bool req, bool empty_ok,
                   enum vbound b, struct mdf_dec *v)
{
    struct vbad bad;
    int rc;

    if (!json_present(n))
        return req ? missing(c, f) : 0;
    if (empty_ok && json_kind(c->j, n) == JK_STRING) {
        const char *s;
        size_t len;
        if (json_str(c->j, n, &s, &len) == 0 && len == 0)
            return 0;
    }
    rc = json_dec(c->j, n, v);
    if (rc < 0)
        return field_err(c, rc, f, "not a decimal");
    return vcheck_dec(f, *v, b, &bad) < 0 ? range_err(c, &bad) : 0;
}

/* Reads an optional count (a number of trades): an integer >= 0; absent leaves *v alone. */
static int get_count(const struct dctx *c, struct jnode n, const char *f, int64_t *v)
{
    struct vbad bad;
    int rc = get_i64(c, n, f, false, v);

    if (rc == 0 && vcheck_int(f, *v, 0, &bad) < 0)
        return range_err(c, &bad);
    return rc;
}

/* Reads a boolean field into *v (absent: *v unchanged). */
static int get_bool(const struct dctx *c, struct jnode n, const char *f, bool req, bool *v)
{
    int rc;

    if (!json_present(n))
        return req ? missing(c, f) : 0;
    rc = json_bool(c->j, n, v);
    return rc < 0 ? field_err(c, rc, f, "not true or false") : 0;
}

/* Copies a short ASCII label (order status, type, ...) into buf[cap] with a NUL; a longer one
 * is -ERANGE. */
static int get_label(const struct dctx *c, struct jnode n, const char *f, bool req, char *buf,
                     size_t cap)
{
    const char *s;
    size_t len;
    int rc;

    if (!json_present(n))
        return req ? missing(c, f) : 0;
    rc = json_name(c->j, n, &s, &len);
    if (rc < 0)
        return field_err(c, rc, f, "not a plain ASCII string");
    if (len >= cap)
        return field_err(c, -ERANGE, f, "");
    memcpy(buf, s, len);
    buf[len] = '\0';
    return 0;
}

/* Checks an event type field against the stream's type (when wrapped): a stream that carries
 * another event is -EBADMSG. Absent is fine (spot bookTicker and depthN carry none). */
static int check_event(const struct dctx *c, struct jnode e, int type)
{
    const char *s;
    size_t len;

    if (!json_present(e))
        return 0;
    if (json_name(c->j, e, &s, &len) < 0)
        return field_err(c, -EBADMSG, "e", "not a plain ASCII string");
    if (strlen(event_names[type]) != len || memcmp(s, event_names[type], len) != 0)
        return err_set(-EBADMSG, "%s stream carries event \"%.*s\"", c->what,
                       (int)(len > 40 ? 40 : len), s);
    return 0;
}

/* Checks a symbol field: wrapped, it must name the stream's symbol; raw, it fills out->spec's
 * symbol (the only way a raw payload says whose it is). */
static int check_symbol(const struct dctx *c, struct jnode n, const char *f)
{
    char sym[MDF_SYMBOL_MAX];
    int rc;

    if (!json_present(n))
        return 0;
    rc = get_label(c, n, f, false, sym, sizeof(sym));
    if (rc < 0)
        return rc;
    if (c->wrapped) {
        if (strncmp(sym, c->out->spec.symbol, sizeof(sym)) != 0)
            return err_set(-EBADMSG, "%s.%s: symbol %s on the %s stream", c->what, f, sym,
                           c->out->spec.symbol);
    } else {
        memcpy(c->out->spec.symbol, sym, strlen(sym) + 1);
    }
    return 0;
}

/* Clears the record for a type of size bytes and fills its header. */
static union mdf_record *rec_start(struct vmsg *out, uint16_t type, size_t size)
{
    int64_t recv = out->rec.h.recv_time_ns;

    memset(&out->rec, 0, size);
    out->rec.h.type = type;
    out->rec.h.size = (uint16_t)size;
    out->rec.h.recv_time_ns = recv;
    out->kind = VM_RECORD;
    return &out->rec;
}

/* Sets the result to VM_IGNORED with a short description. */
static int ignored(struct vmsg *out, const char *what, const char *name, size_t len)
{
    out->kind = VM_IGNORED;
    snprintf(out->text, sizeof(out->text), "%s%s%.*s", what, name ? " " : "",
             (int)(len > 100 ? 100 : len), name ? name : "");
    return 0;
}

/* Maps an event type name to a stream type (VS_NONE if it is no stream mdfeed decodes). */
static int type_of_event(const char *s, size_t len)
{
    for (int t = VS_TRADE; t < VS_COUNT; t++)
        if (t != VS_DEPTH && strlen(event_names[t]) == len && memcmp(event_names[t], s, len) == 0)
            return t;
    return VS_NONE;
}

/* trade and aggTrade (the only difference: a/f/l vs t, and the AGGREGATE flag). */
static int dec_trade(struct dctx *c, struct jnode o, bool agg)
{
    static const struct json_key keys[] = {
        JSON_KEY("e"), JSON_KEY("E"), JSON_KEY("s"), JSON_KEY("t"), JSON_KEY("a"), JSON_KEY("p"),
        JSON_KEY("q"), JSON_KEY("f"), JSON_KEY("l"), JSON_KEY("T"), JSON_KEY("m"), JSON_KEY("M"),
    };
    enum { K_e, K_E, K_s, K_t, K_a, K_p, K_q, K_f, K_l, K_T, K_m, K_M, K_N };
    struct jnode v[K_N];
    struct mdf_trade *t;
    struct vbad bad;
    bool maker = false, best = false;
    int rc;

    json_collect(c->j, o, keys, K_N, v);
    t = &rec_start(c->out, MDF_REC_TRADE, sizeof(*t))->trade;
    if ((rc = check_event(c, v[K_e], agg ? VS_AGGTRADE : VS_TRADE)) < 0 ||
        (rc = check_symbol(c, v[K_s], "s")) < 0 ||
        (rc = get_time(c, v[K_E], "E", false, &t->h.exch_time_ns)) < 0 ||
        (rc = get_time(c, v[K_T], "T", false, &t->h.tx_time_ns)) < 0 ||
        (rc = get_dec(c, v[K_p], "p", true, false, VB_POS, &t->price)) < 0 ||
        (rc = get_dec(c, v[K_q], "q", true, false, VB_POS, &t->qty)) < 0 ||
        (rc = get_bool(c, v[K_m], "m", false, &maker)) < 0 ||
        (rc = get_bool(c, v[K_M], "M", false, &best)) < 0)
        return rc;
    if (agg) {
        if ((rc = get_i64(c, v[K_a], "a", true, &t->trade_id)) < 0 ||
            (rc = get_i64(c, v[K_f], "f", false, &t->first_id)) < 0 ||
            (rc = get_i64(c, v[K_l], "l", false, &t->last_id)) < 0)
            return rc;
        if (json_present(v[K_f]) && json_present(v[K_l]) &&
            vcheck_id_order("f", t->first_id, "l", t->last_id, &bad) < 0)
            return range_err(c, &bad);
        t->h.flags = MDF_TRADE_F_AGGREGATE;
    } else {
        if ((rc = get_i64(c, v[K_t], "t", true, &t->trade_id)) < 0)
            return rc;
        t->first_id = t->last_id = t->trade_id;
    }
    if (best)
        t->h.flags |= MDF_TRADE_F_BEST_MATCH;
    if (json_present(v[K_m]))
        t->side = maker ? MDF_SIDE_SELL : MDF_SIDE_BUY;
    return 0;
}

/* A kline stream's candle fields and a REST klines row's, for vcheck_candle(). */
static const struct vcandle_names kline_names = {
    "k.o", "k.h", "k.l", "k.c", "k.v", "k.q", "k.V", "k.Q", "k.n", "k.f", "k.L",
};
static const struct vcandle_names row_names = {
    "open",         "high",          "low",    "close", "volume", "quoteVolume",
    "takerBuyBase", "takerBuyQuote", "trades", NULL,    NULL,
};

/* kline: the candle in "k". */
static int dec_kline(struct dctx *c, struct jnode o)
{
    static const struct json_key top[] = {JSON_KEY("e"), JSON_KEY("E"), JSON_KEY("s"),
                                          JSON_KEY("k")};
    static const struct json_key keys[] = {
        JSON_KEY("t"), JSON_KEY("T"), JSON_KEY("s"), JSON_KEY("i"), JSON_KEY("f"), JSON_KEY("L"),
        JSON_KEY("o"), JSON_KEY("c"), JSON_KEY("h"), JSON_KEY("l"), JSON_KEY("v"), JSON_KEY("n"),
        JSON_KEY("x"), JSON_KEY("q"), JSON_KEY("V"), JSON_KEY("Q"),
    };
    enum { K_t, K_T, K_s, K_i, K_f, K_L, K_o, K_c, K_h, K_l, K_v, K_n, K_x, K_q, K_V, K_Q, K_N };
    struct jnode tv[4], v[K_N];
    struct mdf_candle *k;
    struct vbad bad;
    bool closed = false;
    char iv[8];
    int rc, interval;

    json_collect(c->j, o, top, 4, tv);
    if (json_kind(c->j, tv[3]) != JK_OBJECT)
        return json_present(tv[3]) ? field_err(c, -EBADMSG, "k", "not an object") : missing(c, "k");
    json_collect(c->j, tv[3], keys, K_N, v);
    k = &rec_start(c->out, MDF_REC_CANDLE, sizeof(*k))->candle;
    if ((rc = check_event(c, tv[0], VS_KLINE)) < 0 || (rc = check_symbol(c, tv[2], "s")) < 0 ||
        (rc = check_symbol(c, v[K_s], "k.s")) < 0 ||
        (rc = get_time(c, tv[1], "E", false, &k->h.exch_time_ns)) < 0 ||
        (rc = get_label(c, v[K_i], "k.i", true, iv, sizeof(iv))) < 0)
        return rc;
    interval = mdf_interval_from_name(iv);
    if (interval <= 0 || !binance_interval_ok(interval))
        return err_set(-EBADMSG, "%s.k.i: unknown interval \"%s\"", c->what, iv);
    if (c->wrapped && interval != c->out->spec.interval)
        return err_set(-EBADMSG, "%s.k.i: interval %s on a %s stream", c->what, iv,
                       mdf_interval_name(c->out->spec.interval));
    k->interval = (uint32_t)interval;
    if ((rc = get_time(c, v[K_t], "k.t", true, &k->open_time_ns)) < 0 ||
        (rc = get_time(c, v[K_T], "k.T", true, &k->close_time_ns)) < 0 ||
        (rc = get_i64(c, v[K_f], "k.f", false, &k->first_id)) < 0 ||
        (rc = get_i64(c, v[K_L], "k.L", false, &k->last_id)) < 0 ||
        (rc = get_dec(c, v[K_o], "k.o", true, false, VB_ANY, &k->open)) < 0 ||
        (rc = get_dec(c, v[K_h], "k.h", true, false, VB_ANY, &k->high)) < 0 ||
        (rc = get_dec(c, v[K_l], "k.l", true, false, VB_ANY, &k->low)) < 0 ||
        (rc = get_dec(c, v[K_c], "k.c", true, false, VB_ANY, &k->close)) < 0 ||
        (rc = get_dec(c, v[K_v], "k.v", false, false, VB_ANY, &k->volume)) < 0 ||
        (rc = get_dec(c, v[K_q], "k.q", false, false, VB_ANY, &k->quote_volume)) < 0 ||
        (rc = get_dec(c, v[K_V], "k.V", false, false, VB_ANY, &k->taker_buy_base)) < 0 ||
        (rc = get_dec(c, v[K_Q], "k.Q", false, false, VB_ANY, &k->taker_buy_quote)) < 0 ||
        (rc = get_i64(c, v[K_n], "k.n", false, &k->trades)) < 0 ||
        (rc = get_bool(c, v[K_x], "k.x", false, &closed)) < 0)
        return rc;
    if (vcheck_candle(k, &kline_names, &bad) < 0)
        return range_err(c, &bad);
    if (closed)
        k->h.flags = MDF_CANDLE_F_CLOSED;
    return 0;
}

/* bookTicker (spot: u s b B a A; futures adds e E T). */
static int dec_bookticker(struct dctx *c, struct jnode o)
{
    static const struct json_key keys[] = {
        JSON_KEY("e"), JSON_KEY("u"), JSON_KEY("E"), JSON_KEY("T"), JSON_KEY("s"),
        JSON_KEY("b"), JSON_KEY("B"), JSON_KEY("a"), JSON_KEY("A"),
    };
    enum { K_e, K_u, K_E, K_T, K_s, K_b, K_B, K_a, K_A, K_N };
    struct jnode v[K_N];
    struct mdf_bbo *b;
    int rc;

    json_collect(c->j, o, keys, K_N, v);
    b = &rec_start(c->out, MDF_REC_BBO, sizeof(*b))->bbo;
    if ((rc = check_event(c, v[K_e], VS_BOOKTICKER)) < 0 ||
        (rc = check_symbol(c, v[K_s], "s")) < 0 ||
        (rc = get_i64(c, v[K_u], "u", false, &b->update_id)) < 0 ||
        (rc = get_time(c, v[K_E], "E", false, &b->h.exch_time_ns)) < 0 ||
        (rc = get_time(c, v[K_T], "T", false, &b->h.tx_time_ns)) < 0 ||
        (rc = get_dec(c, v[K_b], "b", true, false, VB_NONNEG, &b->bid_px)) < 0 ||
        (rc = get_dec(c, v[K_B], "B", true, false, VB_NONNEG, &b->bid_qty)) < 0 ||
        (rc = get_dec(c, v[K_a], "a", true, false, VB_NONNEG, &b->ask_px)) < 0 ||
        (rc = get_dec(c, v[K_A], "A", true, false, VB_NONNEG, &b->ask_qty)) < 0)
        return rc;
    if (b->update_id < 0)
        return field_err(c, -ERANGE, "u", "");
    b->h.venue_seq = (uint64_t)b->update_id;
    /* Crossed or locked: published, flagged (a reader decides whether to trust it). */
    if (vcheck_crossed(b->bid_px, b->ask_px))
        b->h.flags |= MDF_BBO_F_CROSSED;
    return 0;
}

/* 24hrTicker and 24hrMiniTicker (the mini one has a subset; MDF_TICKER_F_MINI). */
static int dec_ticker(struct dctx *c, struct jnode o, bool mini)
{
    static const struct json_key keys[] = {
        JSON_KEY("e"), JSON_KEY("E"), JSON_KEY("s"), JSON_KEY("p"), JSON_KEY("P"), JSON_KEY("w"),
        JSON_KEY("x"), JSON_KEY("c"), JSON_KEY("Q"), JSON_KEY("b"), JSON_KEY("B"), JSON_KEY("a"),
        JSON_KEY("A"), JSON_KEY("o"), JSON_KEY("h"), JSON_KEY("l"), JSON_KEY("v"), JSON_KEY("q"),
        JSON_KEY("O"), JSON_KEY("C"), JSON_KEY("F"), JSON_KEY("L"), JSON_KEY("n"),
    };
    /* clang-format off */
    enum {
        K_e, K_E, K_s, K_p, K_P, K_w, K_x, K_c, K_Q, K_b, K_B, K_a,
        K_A, K_o, K_h, K_l, K_v, K_q, K_O, K_C, K_F, K_L, K_n, K_N
    };
    /* clang-format on */
    struct jnode v[K_N];
    struct mdf_ticker *t;
    struct vbad bad;
    int rc;

    json_collect(c->j, o, keys, K_N, v);
    t = &rec_start(c->out, MDF_REC_TICKER, sizeof(*t))->ticker;
    if ((rc = check_event(c, v[K_e], mini ? VS_MINITICKER : VS_TICKER)) < 0 ||
        (rc = check_symbol(c, v[K_s], "s")) < 0 ||
        (rc = get_time(c, v[K_E], "E", false, &t->h.exch_time_ns)) < 0 ||
        (rc = get_dec(c, v[K_c], "c", true, false, VB_NONNEG, &t->last_px)) < 0 ||
        (rc = get_dec(c, v[K_o], "o", false, false, VB_NONNEG, &t->open_px)) < 0 ||
        (rc = get_dec(c, v[K_h], "h", false, false, VB_NONNEG, &t->high_px)) < 0 ||
        (rc = get_dec(c, v[K_l], "l", false, false, VB_NONNEG, &t->low_px)) < 0 ||
        (rc = get_dec(c, v[K_v], "v", false, false, VB_NONNEG, &t->volume)) < 0 ||
        (rc = get_dec(c, v[K_q], "q", false, false, VB_NONNEG, &t->quote_volume)) < 0)
        return rc;
    if (vcheck_high_low("h", t->high_px, "l", t->low_px, &bad) < 0)
        return range_err(c, &bad);
    if (mini) {
        t->h.flags = MDF_TICKER_F_MINI;
        return 0;
    }
    if ((rc = get_dec(c, v[K_p], "p", false, false, VB_ANY, &t->change)) < 0 ||
        (rc = get_dec(c, v[K_P], "P", false, false, VB_ANY, &t->change_pct)) < 0 ||
        (rc = get_dec(c, v[K_w], "w", false, false, VB_NONNEG, &t->vwap)) < 0 ||
        (rc = get_dec(c, v[K_x], "x", false, false, VB_NONNEG, &t->prev_close_px)) < 0 ||
        (rc = get_dec(c, v[K_Q], "Q", false, false, VB_NONNEG, &t->last_qty)) < 0 ||
        (rc = get_dec(c, v[K_b], "b", false, false, VB_NONNEG, &t->bid_px)) < 0 ||
        (rc = get_dec(c, v[K_B], "B", false, false, VB_NONNEG, &t->bid_qty)) < 0 ||
        (rc = get_dec(c, v[K_a], "a", false, false, VB_NONNEG, &t->ask_px)) < 0 ||
        (rc = get_dec(c, v[K_A], "A", false, false, VB_NONNEG, &t->ask_qty)) < 0 ||
        (rc = get_time(c, v[K_O], "O", false, &t->open_time_ns)) < 0 ||
        (rc = get_time(c, v[K_C], "C", false, &t->close_time_ns)) < 0 ||
        (rc = get_i64(c, v[K_F], "F", false, &t->first_id)) < 0 ||
        (rc = get_i64(c, v[K_L], "L", false, &t->last_id)) < 0 ||
        (rc = get_count(c, v[K_n], "n", &t->count)) < 0)
        return rc;
    if (vcheck_crossed(t->bid_px, t->ask_px))
        t->h.flags |= MDF_TICKER_F_CROSSED;
    return 0;
}

/* markPriceUpdate -> funding record. */
static int dec_markprice(struct dctx *c, struct jnode o)
{
    static const struct json_key keys[] = {
        JSON_KEY("e"), JSON_KEY("E"), JSON_KEY("s"), JSON_KEY("p"),
        JSON_KEY("i"), JSON_KEY("P"), JSON_KEY("r"), JSON_KEY("T"),
    };
    enum { K_e, K_E, K_s, K_p, K_i, K_P, K_r, K_T, K_N };
    struct jnode v[K_N];
    struct mdf_funding *f;
    int rc;

    json_collect(c->j, o, keys, K_N, v);
    f = &rec_start(c->out, MDF_REC_FUNDING, sizeof(*f))->funding;
    if ((rc = check_event(c, v[K_e], VS_MARKPRICE)) < 0 ||
        (rc = check_symbol(c, v[K_s], "s")) < 0 ||
        (rc = get_time(c, v[K_E], "E", false, &f->h.exch_time_ns)) < 0 ||
        (rc = get_dec(c, v[K_p], "p", true, false, VB_POS, &f->mark_px)) < 0 ||
        (rc = get_dec(c, v[K_i], "i", false, true, VB_POS, &f->index_px)) < 0 ||
        (rc = get_dec(c, v[K_P], "P", false, true, VB_NONNEG, &f->est_settle_px)) < 0 ||
        (rc = get_dec(c, v[K_r], "r", false, true, VB_ANY, &f->funding_rate)) < 0 ||
        (rc = get_time(c, v[K_T], "T", false, &f->next_funding_time_ns)) < 0)
        return rc;
    return 0;
}

/* forceOrder -> liquidation record (the order in "o"). */
static int dec_forceorder(struct dctx *c, struct jnode o)
{
    static const struct json_key top[] = {JSON_KEY("e"), JSON_KEY("E"), JSON_KEY("o")};
    static const struct json_key keys[] = {
        JSON_KEY("s"),  JSON_KEY("S"), JSON_KEY("o"), JSON_KEY("f"), JSON_KEY("q"), JSON_KEY("p"),
        JSON_KEY("ap"), JSON_KEY("X"), JSON_KEY("l"), JSON_KEY("z"), JSON_KEY("T"),
    };
    enum { K_s, K_S, K_o, K_f, K_q, K_p, K_ap, K_X, K_l, K_z, K_T, K_N };
    struct jnode tv[3], v[K_N];
    struct mdf_liquidation *q;
    char side[8];
    int rc;

    json_collect(c->j, o, top, 3, tv);
    if (json_kind(c->j, tv[2]) != JK_OBJECT)
        return json_present(tv[2]) ? field_err(c, -EBADMSG, "o", "not an object") : missing(c, "o");
    json_collect(c->j, tv[2], keys, K_N, v);
    q = &rec_start(c->out, MDF_REC_LIQUIDATION, sizeof(*q))->liquidation;
    if ((rc = check_event(c, tv[0], VS_FORCEORDER)) < 0 ||
        (rc = check_symbol(c, v[K_s], "o.s")) < 0 ||
        (rc = get_time(c, tv[1], "E", false, &q->h.exch_time_ns)) < 0 ||
        (rc = get_time(c, v[K_T], "o.T", false, &q->h.tx_time_ns)) < 0 ||
        (rc = get_label(c, v[K_S], "o.S", true, side, sizeof(side))) < 0 ||
        (rc = get_label(c, v[K_o], "o.o", false, q->order_type, sizeof(q->order_type))) < 0 ||
        (rc = get_label(c, v[K_f], "o.f", false, q->time_in_force, sizeof(q->time_in_force))) < 0 ||
        (rc = get_label(c, v[K_X], "o.X", false, q->status, sizeof(q->status))) < 0 ||
        (rc = get_dec(c, v[K_q], "o.q", true, false, VB_POS, &q->qty)) < 0 ||
        (rc = get_dec(c, v[K_p], "o.p", true, false, VB_POS, &q->price)) < 0 ||
        (rc = get_dec(c, v[K_ap], "o.ap", false, false, VB_NONNEG, &q->avg_price)) < 0 ||
        (rc = get_dec(c, v[K_l], "o.l", false, false, VB_NONNEG, &q->last_qty)) < 0 ||
        (rc = get_dec(c, v[K_z], "o.z", false, false, VB_NONNEG, &q->filled_qty)) < 0)
        return rc;
    if (strcmp(side, "BUY") == 0)
        q->side = MDF_SIDE_BUY;
    else if (strcmp(side, "SELL") == 0)
        q->side = MDF_SIDE_SELL;
    else
        return err_set(-EBADMSG, "%s.o.S: side \"%s\" is not BUY or SELL", c->what, side);
    return 0;
}

/* Decodes a levels array [[price, qty], ...] into dst (room for the decoder's max_levels);
 * *n gets the count. Extra elements after price and qty are ignored. */
static int dec_levels(struct dctx *c, struct jnode arr, const char *f, struct vlevel *dst,
                      uint32_t *n)
{
    const struct json_doc *j = c->j;
    struct json_iter it, lv;
    struct jnode e, px, qty;
    struct vbad bad;
    uint32_t count, i = 0;
    int rc;

    if (json_kind(j, arr) != JK_ARRAY)
        return json_present(arr) ? field_err(c, -EBADMSG, f, "not an array") : missing(c, f);
    count = json_count(j, arr);
    if (count > c->d->max_levels)
        return err_set(-E2BIG, "%s.%s: %u levels, the decoder holds %u", c->what, f, count,
                       c->d->max_levels);
    json_iter_init(j, arr, &it);
    while (json_iter_next(j, &it, &e)) {
        if (json_kind(j, e) != JK_ARRAY || json_count(j, e) < 2)
            return err_set(-EBADMSG, "%s.%s[%u]: not a [price, qty] pair", c->what, f, i);
        json_iter_init(j, e, &lv);
        json_iter_next(j, &lv, &px);
        json_iter_next(j, &lv, &qty);
        rc = json_dec(j, px, &dst[i].px);
        if (rc == 0)
            rc = json_dec(j, qty, &dst[i].qty);
        if (rc < 0)
            return err_set(rc, "%s.%s[%u]: %s", c->what, f, i,
                           rc == -ERANGE ? "decimal out of range" : "not a decimal");
        /* A level's price is positive; its quantity may be 0 (a diff's deletion). */
        if (vcheck_dec("price", dst[i].px, VB_POS, &bad) < 0 ||
            vcheck_dec("qty", dst[i].qty, VB_NONNEG, &bad) < 0)
            return err_set(-ERANGE, "%s.%s[%u]: %s %s", c->what, f, i, bad.field, bad.why);
        i++;
    }
    *n = i;
    return 0;
}

/* Sets the result's level pointers to the decoder's arrays. */
static void levels_out(struct dctx *c)
{
    c->out->bids = c->d->bids;
    c->out->asks = c->d->asks;
}

/* depthUpdate (diff, or futures depthN when partial) and spot depthN / REST snapshots
 * ({"lastUpdateId", "bids", "asks"}, futures snapshots add E and T). */
static int dec_depth(struct dctx *c, struct jnode o, bool partial)
{
    static const struct json_key keys[] = {
        JSON_KEY("e"), JSON_KEY("E"),    JSON_KEY("T"),    JSON_KEY("s"),
        JSON_KEY("U"), JSON_KEY("u"),    JSON_KEY("pu"),   JSON_KEY("b"),
        JSON_KEY("a"), JSON_KEY("bids"), JSON_KEY("asks"), JSON_KEY("lastUpdateId"),
    };
    enum { K_e, K_E, K_T, K_s, K_U, K_u, K_pu, K_b, K_a, K_bids, K_asks, K_lid, K_N };
    struct jnode v[K_N];
    struct vmsg *out = c->out;
    int rc;

    json_collect(c->j, o, keys, K_N, v);
    levels_out(c);
    if ((rc = get_time(c, v[K_E], "E", false, &out->exch_time_ns)) < 0 ||
        (rc = get_time(c, v[K_T], "T", false, &out->tx_time_ns)) < 0)
        return rc;
    if (json_present(v[K_lid]) || (!json_present(v[K_e]) && json_present(v[K_bids]))) {
        /* The snapshot shape: spot depthN and REST bodies. */
        if (!partial)
            return err_set(-EBADMSG, "%s: a book snapshot on a diff stream", c->what);
        out->kind = VM_PARTIAL;
        if ((rc = get_i64(c, v[K_lid], "lastUpdateId", true, &out->last_id)) < 0 ||
            (rc = dec_levels(c, v[K_bids], "bids", c->d->bids, &out->n_bids)) < 0 ||
            (rc = dec_levels(c, v[K_asks], "asks", c->d->asks, &out->n_asks)) < 0)
            return rc;
        return 0;
    }
    out->kind = partial ? VM_PARTIAL : VM_DIFF;
    if ((rc = check_event(c, v[K_e], VS_DIFF)) < 0 || (rc = check_symbol(c, v[K_s], "s")) < 0 ||
        (rc = get_i64(c, v[K_U], "U", true, &out->first_id)) < 0 ||
        (rc = get_i64(c, v[K_u], "u", true, &out->last_id)) < 0 ||
        (rc = get_i64(c, v[K_pu], "pu", false, &out->prev_id)) < 0 ||
        (rc = dec_levels(c, v[K_b], "b", c->d->bids, &out->n_bids)) < 0 ||
        (rc = dec_levels(c, v[K_a], "a", c->d->asks, &out->n_asks)) < 0)
        return rc;
    return 0;
}

/* serverShutdown: E when present. */
static int dec_shutdown(struct dctx *c, struct jnode o)
{
    struct jnode e = json_get(c->j, o, "E");
    int rc = get_time(c, e, "E", false, &c->out->exch_time_ns);

    if (rc < 0)
        return rc;
    c->out->kind = VM_SHUTDOWN;
    return 0;
}

/* Decodes a payload object of stream type `type`. */
static int dec_payload(struct dctx *c, int type, struct jnode o)
{
    c->what = type == VS_DEPTH ? "depth" : event_names[type];
    if (json_kind(c->j, o) != JK_OBJECT)
        return err_set(-EBADMSG, "%s: payload is not an object", c->what);
    switch (type) {
    case VS_TRADE:
        return dec_trade(c, o, false);
    case VS_AGGTRADE:
        return dec_trade(c, o, true);
    case VS_KLINE:
        return dec_kline(c, o);
    case VS_DEPTH:
        return dec_depth(c, o, true);
    case VS_DIFF:
        return dec_depth(c, o, false);
    case VS_BOOKTICKER:
        return dec_bookticker(c, o);
    case VS_TICKER:
        return dec_ticker(c, o, false);
    case VS_MINITICKER:
        return dec_ticker(c, o, true);
    case VS_MARKPRICE:
        return dec_markprice(c, o);
    case VS_FORCEORDER:
        return dec_forceorder(c, o);
    default:
        return err_set(-EBADMSG, "stream type %d has no decoder", type);
    }
}

/* A control reply: {"result":...,"id":N} or {"code":N,"msg":"...","id":N}. */
static int dec_reply(struct dctx *c, struct jnode id, struct jnode code, struct jnode msg)
{
    struct vmsg *out = c->out;
    int64_t v;

    c->what = "reply";
    out->kind = VM_REPLY;
    if (json_kind(c->j, id) == JK_NUMBER && json_int64(c->j, id, &v) == 0)
        out->reply_id = v;
    if (!json_present(code))
        return 0;
    if (json_int64(c->j, code, &v) < 0 || v < INT_MIN || v > INT_MAX)
        return field_err(c, -EBADMSG, "code", "not an integer error code");
    /* Binance's code 0 ("unknown property", SET_PROPERTY only) must not read as success. */
    out->reply_code = v == 0 ? -1 : (int)v;
    if (json_present(msg))
        json_text(c->j, msg, out->text, sizeof(out->text));
    return 0;
}

/* Resets everything in *out but the body of the record. */
static void vmsg_reset(struct vmsg *out, int64_t recv_ns)
{
    out->kind = VM_NONE;
    out->stream = NULL;
    out->stream_len = 0;
    memset(&out->spec, 0, sizeof(out->spec));
    memset(&out->rec.h, 0, sizeof(out->rec.h));
    out->rec.h.recv_time_ns = recv_ns;
    out->first_id = 0;
    out->last_id = 0;
    out->prev_id = -1;
    out->exch_time_ns = 0;
    out->tx_time_ns = 0;
    out->bids = NULL;
    out->asks = NULL;
    out->n_bids = 0;
    out->n_asks = 0;
    out->reply_id = -1;
    out->reply_code = 0;
    out->text[0] = '\0';
}

/* Parses msg into the decoder's document after the size check. */
static int parse(struct vdecoder *d, const uint8_t *msg, size_t len, struct jnode *root)
{
    if (len > d->max_message)
        return err_set(-E2BIG, "message of %zu bytes over the %zu-byte limit", len, d->max_message);
    return json_parse(d->json, (const char *)msg, len, root);
}

/* binance_decode() without the final reset of the kind on failure. */
static int decode_msg(struct vdecoder *d, const uint8_t *msg, size_t len, int64_t recv_ns,
                      struct vmsg *out)
{
    /* clang-format off */
    static const struct json_key keys[] = {
        JSON_KEY("stream"), JSON_KEY("data"), JSON_KEY("result"), JSON_KEY("id"),
        JSON_KEY("code"), JSON_KEY("msg"), JSON_KEY("lastUpdateId"), JSON_KEY("e"),
        JSON_KEY("u"), JSON_KEY("b"), JSON_KEY("a"),
    };
    /* clang-format on */
    enum { K_stream, K_data, K_result, K_id, K_code, K_msg, K_lid, K_e, K_u, K_b, K_a, K_N };
    struct dctx c = {d, d->json, out, "message", false};
    struct jnode root, v[K_N];
    const char *s;
    size_t slen;
    int rc, type;

    vmsg_reset(out, recv_ns);
    rc = parse(d, msg, len, &root);
    if (rc < 0)
        return rc;
    if (json_kind(c.j, root) == JK_ARRAY)
        return ignored(out, "array payload", NULL, 0);
    json_collect(c.j, root, keys, K_N, v);

    if (json_present(v[K_stream])) {
        if (json_name(c.j, v[K_stream], &s, &slen) < 0)
            return field_err(&c, -EBADMSG, "stream", "not a plain ASCII string");
        if (json_kind(c.j, v[K_data]) != JK_OBJECT && json_kind(c.j, v[K_data]) != JK_ARRAY)
            return field_err(&c, -EBADMSG, "data", "missing or not an object");
        out->stream = s;
        out->stream_len = slen;
        c.wrapped = true;
        if (slen == 15 && memcmp(s, "!serverShutdown", 15) == 0) {
            c.what = "serverShutdown";
            return json_kind(c.j, v[K_data]) == JK_OBJECT ? dec_shutdown(&c, v[K_data])
                                                          : dec_shutdown(&c, json_absent());
        }
        if (binance_stream_parse(d->p, s, slen, &out->spec) < 0) {
            memset(&out->spec, 0, sizeof(out->spec));
            return ignored(out, "stream", s, slen);
        }
        return dec_payload(&c, out->spec.type, v[K_data]);
    }
    if (json_present(v[K_code]) || (json_present(v[K_result]) && json_present(v[K_id])))
        return dec_reply(&c, v[K_id], v[K_code], v[K_msg]);
    if (json_present(v[K_e])) {
        if (json_name(c.j, v[K_e], &s, &slen) < 0)
            return field_err(&c, -EBADMSG, "e", "not a plain ASCII string");
        if (slen == 14 && memcmp(s, "serverShutdown", 14) == 0) {
            c.what = "serverShutdown";
            return dec_shutdown(&c, root);
        }
        type = type_of_event(s, slen);
        if (type == VS_NONE)
            return ignored(out, "event", s, slen);
        return dec_payload(&c, type, root);
    }
    if (json_present(v[K_lid]))
        return dec_payload(&c, VS_DEPTH, root);
    if (json_present(v[K_u]) && json_present(v[K_b]) && json_present(v[K_a]))
        return dec_payload(&c, VS_BOOKTICKER, root);
    return ignored(out, "object of unknown shape", NULL, 0);
}

int binance_decode(struct vdecoder *d, const uint8_t *msg, size_t len, int64_t recv_ns,
                   struct vmsg *out)
{
    static const char pre[] = "{\"stream\":\"";
    int rc = decode_msg(d, msg, len, recv_ns, out);

    /* A message refused half way must not look like a result; it still names its stream when
     * it can, so that the failure is the stream's (even when the JSON itself is broken). */
    if (rc < 0) {
        out->kind = VM_NONE;
        if (!out->stream && len > sizeof(pre) && memcmp(msg, pre, sizeof(pre) - 1) == 0) {
            const uint8_t *name = msg + sizeof(pre) - 1;
            const uint8_t *q =
                memchr(name, '"', len - (sizeof(pre) - 1) < 64 ? len - (sizeof(pre) - 1) : 64);

            if (q && q > name) {
                out->stream = (const char *)name;
                out->stream_len = (size_t)(q - name);
            }
        }
    }
    return rc;
}

int binance_decode_snapshot(struct vdecoder *d, const uint8_t *body, size_t len, struct vmsg *out)
{
    struct dctx c = {d, d->json, out, "snapshot", false};
    struct jnode root;
    int rc;

    vmsg_reset(out, 0);
    rc = parse(d, body, len, &root);
    if (rc < 0)
        return rc;
    if (json_kind(c.j, root) != JK_OBJECT)
        return err_set(-EBADMSG, "snapshot: not an object");
    if (!json_present(json_get(c.j, root, "lastUpdateId")))
        return missing(&c, "lastUpdateId");
    rc = dec_depth(&c, root, true);
    if (rc < 0)
        out->kind = VM_NONE;
    return rc;
}

/* One REST kline row [openTime, o, h, l, c, v, closeTime, q, n, V, Q, ignore] into *k. */
static int dec_kline_row(struct dctx *c, struct jnode row, struct mdf_candle *k)
{
    static const char *const names[11] = {"openTime", "open",         "high",         "low",
                                          "close",    "volume",       "closeTime",    "quoteVolume",
                                          "trades",   "takerBuyBase", "takerBuyQuote"};
    struct json_iter it;
    struct jnode v[11];
    struct vbad bad;
    int rc;

    if (json_kind(c->j, row) != JK_ARRAY || json_count(c->j, row) < 11)
        return err_set(-EBADMSG, "klines: a row is not an array of 11 or more values");
    json_iter_init(c->j, row, &it);
    for (int i = 0; i < 11; i++)
        json_iter_next(c->j, &it, &v[i]);
    memset(k, 0, sizeof(*k));
    if ((rc = get_time(c, v[0], names[0], true, &k->open_time_ns)) < 0 ||
        (rc = get_dec(c, v[1], names[1], true, false, VB_ANY, &k->open)) < 0 ||
        (rc = get_dec(c, v[2], names[2], true, false, VB_ANY, &k->high)) < 0 ||
        (rc = get_dec(c, v[3], names[3], true, false, VB_ANY, &k->low)) < 0 ||
        (rc = get_dec(c, v[4], names[4], true, false, VB_ANY, &k->close)) < 0 ||
        (rc = get_dec(c, v[5], names[5], true, false, VB_ANY, &k->volume)) < 0 ||
        (rc = get_time(c, v[6], names[6], true, &k->close_time_ns)) < 0 ||
        (rc = get_dec(c, v[7], names[7], true, false, VB_ANY, &k->quote_volume)) < 0 ||
        (rc = get_i64(c, v[8], names[8], true, &k->trades)) < 0 ||
        (rc = get_dec(c, v[9], names[9], true, false, VB_ANY, &k->taker_buy_base)) < 0 ||
        (rc = get_dec(c, v[10], names[10], true, false, VB_ANY, &k->taker_buy_quote)) < 0)
        return rc;
    if (vcheck_candle(k, &row_names, &bad) < 0)
        return range_err(c, &bad);
    return 0;
}

int binance_decode_klines(struct vdecoder *d, const uint8_t *body, size_t len, int interval,
                          int64_t now_ns, int64_t recv_ns, struct mdf_candle *out, size_t max,
                          size_t *n)
{
    struct vmsg dummy_out; /* dctx needs one; only err paths read it */
    struct dctx c = {d, d->json, &dummy_out, "klines", false};
    struct mdf_candle k;
    struct json_iter it;
    struct jnode root, row;
    size_t count = 0;
    int rc;

    *n = 0;
    if (!binance_interval_ok(interval))
        return err_set(-EINVAL, "klines: interval %d is not a Binance interval", interval);
    rc = parse(d, body, len, &root);
    if (rc < 0)
        return rc;
    if (json_kind(c.j, root) != JK_ARRAY)
        return err_set(-EBADMSG, "klines: body is not an array");
    json_iter_init(c.j, root, &it);
    while (json_iter_next(c.j, &it, &row)) {
        rc = dec_kline_row(&c, row, &k);
        if (rc < 0)
            return rc;
        if (k.close_time_ns >= now_ns)
            continue;
        if (count >= max)
            return err_set(-E2BIG, "klines: more than %zu closed candles", max);
        k.h.type = MDF_REC_CANDLE;
        k.h.size = sizeof(k);
        k.h.flags = MDF_CANDLE_F_CLOSED | MDF_CANDLE_F_BACKFILLED;
        k.h.recv_time_ns = recv_ns;
        k.interval = (uint32_t)interval;
        out[count++] = k;
    }
    *n = count;
    return 0;
}

int binance_decode_error(const uint8_t *body, size_t len, int *code, char *msg, size_t cap)
{
    static const struct json_key keys[] = {JSON_KEY("code"), JSON_KEY("msg")};
    struct json_doc *j;
    struct jnode root, v[2];
    int64_t c64;
    int rc;

    if (cap)
        msg[0] = '\0';
    j = json_doc_new(VDEC_JSMN, 256);
    if (!j)
        return -ENOMEM;
    rc = json_parse(j, (const char *)body, len, &root);
    if (rc < 0) {
        rc = -EBADMSG;
        goto out;
    }
    json_collect(j, root, keys, 2, v);
    if (json_int64(j, v[0], &c64) < 0 || c64 < INT_MIN || c64 > INT_MAX) {
        rc = err_set(-EBADMSG, "REST error body has no integer \"code\"");
        goto out;
    }
    *code = (int)c64;
    if (json_present(v[1]) && cap)
        json_text(j, v[1], msg, cap);
    rc = 0;
out:
    json_doc_free(j);
    return rc;
}

const struct venue_proto binance_proto = {
    .name = "binance",
    .conf = &binance_conf,
    .stream_check = binance_stream_check,
    .stream_name = stream_name,
    .symbol_common = venue_split_quote,
    .route = binance_stream_route,
    .ws_url = ws_url,
    .liveness = liveness,
    .cadence_ms = cadence_ms,
};
