/*
 * Venue profiles and the venue-neutral stream vocabulary.
 *
 * Design: a venue's fixed facts (endpoints, limits, keepalive periods) are one static, read-only
 * table row (src/venue/README.md §1.1/1.3 for Binance spot, §2.1/2.2 for USD-M futures, §3.1 for
 * Bitfinex), so the config
 * layer only has to override what the user changed. Stream-type names and cadences live here
 * because the config, the daemon's staleness checks and every decoder share them; so do the
 * text building of the request builders (vtext.h) and the range checks of decoded values
 * (vcheck.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <mdfeed/mdfeed.h>

#include "core/err.h"
#include "venue/bybit.h"
#include "venue/okx.h"
#include "venue/vcheck.h"
#include "venue/venue.h"
#include "venue/vtext.h"

/* A Bybit profile: every category and host has the same limits. */
#define BYBIT_PROFILE(n, cat, host, rest)                                                          \
    {                                                                                              \
        .name = (n), .family = VF_BYBIT, .proto = &bybit_proto, .variant = (cat),                  \
        .ws_url = (host), .rest_url = (rest), .streams_per_conn = 200, .msgs_per_sec = 10,         \
        .conn_attempts = BYBIT_CONN_ATTEMPTS, .conn_window_s = BYBIT_CONN_WINDOW_S,                \
        .rest_weight_per_min = 600, .ping_interval_s = BYBIT_PING_INTERVAL_S,                      \
        .pong_timeout_s = BYBIT_IDLE_CUT_S, .max_age_s = 0, .snapshot_limit = 200,                 \
        .klines_limit = 1000,                                                                      \
    }

/* An OKX profile: production and demo trading have the same limits. */
#define OKX_PROFILE(n, host)                                                                       \
    {                                                                                              \
        .name = (n), .family = VF_OKX, .proto = &okx_proto, .variant = 0, .ws_url = (host),        \
        .rest_url = "https://www.okx.com", .streams_per_conn = 100, .msgs_per_sec = 10,            \
        .conn_attempts = OKX_CONN_PER_S, .conn_window_s = 1, .rest_weight_per_min = 1200,          \
        .ping_interval_s = OKX_PING_AFTER_S, .pong_timeout_s = OKX_IDLE_CUT_S, .max_age_s = 0,     \
        .snapshot_limit = OKX_BOOKS_DEPTH, .klines_limit = 300,                                    \
    }

/* The known venues. Testnets share their production venue's limits. */
static const struct venue_profile profiles[] = {
    {
        .name = "binance-spot",
        .family = VF_BINANCE,
        .proto = &binance_proto,
        .futures = false,
        .ws_url = "wss://stream.binance.com:9443",
        .rest_url = "https://api.binance.com",
        .streams_per_conn = 1024,
        .msgs_per_sec = 5,
        .conn_attempts = 300,
        .conn_window_s = 300,
        .rest_weight_per_min = 6000,
        .ping_interval_s = 20,
        .pong_timeout_s = 60,
        .max_age_s = 86400,
        .snapshot_limit = 1000,
        .klines_limit = 1000,
    },
    {
        .name = "binance-spot-testnet",
        .family = VF_BINANCE,
        .proto = &binance_proto,
        .futures = false,
        .ws_url = "wss://stream.testnet.binance.vision",
        .rest_url = "https://testnet.binance.vision",
        .streams_per_conn = 1024,
        .msgs_per_sec = 5,
        .conn_attempts = 300,
        .conn_window_s = 300,
        .rest_weight_per_min = 6000,
        .ping_interval_s = 20,
        .pong_timeout_s = 60,
        .max_age_s = 86400,
        .snapshot_limit = 1000,
        .klines_limit = 1000,
    },
    {
        .name = "binance-futures",
        .family = VF_BINANCE,
        .proto = &binance_proto,
        .futures = true,
        .ws_url = "wss://fstream.binance.com",
        .rest_url = "https://fapi.binance.com",
        .streams_per_conn = 200,
        .msgs_per_sec = 10,
        .conn_attempts = 300,
        .conn_window_s = 300,
        .rest_weight_per_min = 2400,
        .ping_interval_s = 180,
        .pong_timeout_s = 600,
        .max_age_s = 86400,
        .snapshot_limit = 1000,
        .klines_limit = 1500,
    },
    {
        .name = "binance-futures-testnet",
        .family = VF_BINANCE,
        .proto = &binance_proto,
        .futures = true,
        .ws_url = "wss://fstream.binancefuture.com",
        .rest_url = "https://testnet.binancefuture.com",
        .streams_per_conn = 200,
        .msgs_per_sec = 10,
        .conn_attempts = 300,
        .conn_window_s = 300,
        .rest_weight_per_min = 2400,
        .ping_interval_s = 180,
        .pong_timeout_s = 600,
        .max_age_s = 86400,
        .snapshot_limit = 1000,
        .klines_limit = 1500,
    },
    {
        /* Bitfinex v2 public API (src/venue/README.md 3.1). The venue sends no WebSocket pings
         * but a heartbeat per silent channel every 15 s, answers {"event":"ping"} and cuts
         * neither idle nor old connections. No per-connection message limit is documented: 10/s
         * is our own cap. REST is unused so far; its limit is per endpoint (30 requests a
         * minute is the smallest, for candles: an assumption, unverified). */
        .name = "bitfinex",
        .family = VF_BITFINEX,
        .proto = &bitfinex_proto,
        .futures = false,
        .ws_url = "wss://api-pub.bitfinex.com",
        .rest_url = "https://api-pub.bitfinex.com",
        .streams_per_conn = 25,
        .msgs_per_sec = 10,
        .conn_attempts = 20,
        .conn_window_s = 60,
        .rest_weight_per_min = 30,
        .ping_interval_s = 15,
        .pong_timeout_s = 0,
        .max_age_s = 0,
        .snapshot_limit = 25,
        .klines_limit = 10000,
    },
    /* Bybit v5 public (src/venue/README.md 4.1): one path per category under the url. The
     * venue answers WebSocket pings but asks for {"op":"ping"} every 20 s (the adapter sends
     * it) and cuts a connection silent for 10 min; no age limit is documented. 500 new
     * connections per 5 min per domain. Streams per connection: no limit on linear, 10 args
     * per request on spot; 200 keeps a connection's book snapshots modest. REST is unused.
     * msgs_per_sec is our own cap (none documented). */
    BYBIT_PROFILE("bybit-spot", BYBIT_SPOT, BYBIT_HOST, "https://api.bybit.com"),
    BYBIT_PROFILE("bybit-linear", BYBIT_LINEAR, BYBIT_HOST, "https://api.bybit.com"),
    BYBIT_PROFILE("bybit-inverse", BYBIT_INVERSE, BYBIT_HOST, "https://api.bybit.com"),
    BYBIT_PROFILE("bybit-spot-testnet", BYBIT_SPOT, BYBIT_HOST_TESTNET,
                  "https://api-testnet.bybit.com"),
    BYBIT_PROFILE("bybit-linear-testnet", BYBIT_LINEAR, BYBIT_HOST_TESTNET,
                  "https://api-testnet.bybit.com"),
    /* OKX v5 public (src/venue/README.md 4.2): /ws/v5/public, and /ws/v5/business for candles,
     * under the url. The venue sends no WebSocket pings and closes a connection silent for 30 s:
     * the adapter sends the text "ping" after 25 s of silence (ping_interval_s) and the venue's
     * cut is pong_timeout_s; no age limit is documented. 3 connection attempts a second per IP;
     * 480 subscribe and unsubscribe requests per connection per hour (OKX_REQS_PER_HOUR, kept
     * by the adapter), however many args each has. Streams per connection: no limit is
     * documented; 100 are subscribed by one request (a few KB, far below the venue's 64 KB),
     * a reconnect's book snapshots stay a few MB, and a book resync costs 2 of the connection's
     * 480 requests, so fewer books per connection leave each more room. msgs_per_sec is our
     * own cap (none documented). Books come over the stream (snapshot_limit: the books
     * channel's 400 levels); REST is unused (candles: 300 a call, 40 calls per 2 s). */
    OKX_PROFILE("okx", OKX_HOST),
    OKX_PROFILE("okx-demo", OKX_HOST_DEMO),
};

#define N_PROFILES (sizeof(profiles) / sizeof(profiles[0]))

/* Config spellings of the stream types, indexed by enum vstream_type. */
static const char *const type_names[VS_COUNT] = {
    [VS_NONE] = "none",
    [VS_TRADE] = "trade",
    [VS_AGGTRADE] = "agg_trade",
    [VS_KLINE] = "kline",
    [VS_DEPTH] = "depth",
    [VS_DIFF] = "diff_depth",
    [VS_BOOKTICKER] = "book_ticker",
    [VS_TICKER] = "ticker",
    [VS_MINITICKER] = "mini_ticker",
    [VS_MARKPRICE] = "mark_price",
    [VS_FORCEORDER] = "force_order",
};

/* The quote assets Binance lists; USD for Bybit's inverse contracts ("BTCUSD"). */
void venue_split_quote(const char *native, char *out, size_t cap)
{
    static const char *const quotes[] = {
        "FDUSD", "USDT", "USDC", "TUSD", "BUSD", "USD1", "BIDR", "IDRT", "BVND",
        "DAI",   "BTC",  "ETH",  "BNB",  "EUR",  "TRY",  "BRL",  "GBP",  "JPY",
        "AUD",   "RUB",  "UAH",  "ZAR",  "PLN",  "RON",  "ARS",  "MXN",  "COP",
        "CZK",   "NGN",  "XRP",  "DOGE", "TRX",  "DOT",  "USD",
    };
    size_t n = strlen(native), best = 0;

    if (cap)
        out[0] = '\0';
    for (size_t i = 0; i < sizeof(quotes) / sizeof(quotes[0]); i++) {
        size_t q = strlen(quotes[i]);

        if (q < n && q > best && strcmp(native + n - q, quotes[i]) == 0)
            best = q;
    }
    if (best && n + 2 <= cap)
        snprintf(out, cap, "%.*s/%s", (int)(n - best), native, native + n - best);
}

/* Finds a profile by exact name; NULL if unknown or name is NULL. */
const struct venue_profile *venue_profile_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < N_PROFILES; i++)
        if (strcmp(profiles[i].name, name) == 0)
            return &profiles[i];
    return NULL;
}

/* The i-th profile in table order, NULL past the end. */
const struct venue_profile *venue_profile_at(size_t i)
{
    return i < N_PROFILES ? &profiles[i] : NULL;
}

/* Config name of a stream type; "?" for a value outside the enum. */
const char *vstream_type_name(int type)
{
    return type >= 0 && type < VS_COUNT ? type_names[type] : "?";
}

/* Stream type for a config name; VS_NONE for NULL, "none" or anything unknown. */
int vstream_type_find(const char *name)
{
    if (!name)
        return VS_NONE;
    for (int t = VS_NONE + 1; t < VS_COUNT; t++)
        if (strcmp(type_names[t], name) == 0)
            return t;
    return VS_NONE;
}

/*
 * The speed a spec means, with 0 standing for "the venue's default". A venue's default speed
 * for a type is never a valid explicit speed on the other Binance venue (spot books: 1000 ms,
 * futures books: 250 ms; mark price 3000 ms), so folding those onto 0 needs no profile.
 */
static uint16_t canonical_speed(const struct vstream *s)
{
    switch (s->type) {
    case VS_DEPTH:
    case VS_DIFF:
        return s->speed_ms == 1000 || s->speed_ms == 250 ? 0 : s->speed_ms;
    case VS_MARKPRICE:
        return s->speed_ms == 3000 ? 0 : s->speed_ms;
    default:
        return s->speed_ms;
    }
}

/* The book length a VS_DIFF spec means: Bitfinex's default 25 spelt 0 or 25 (Binance diff
 * specs have no length, always 0). */
static uint8_t canonical_diff_levels(const struct vstream *s)
{
    return s->levels == 25 ? 0 : s->levels;
}

/* Same type and symbol, and the same options among those the type has (interval for klines,
 * levels for partial depth, speed for books and mark price, default speed spelt 0 or not;
 * Bitfinex book precision and length). */
bool vstream_equal(const struct vstream *a, const struct vstream *b)
{
    if (a->type != b->type || strncmp(a->symbol, b->symbol, MDF_SYMBOL_MAX) != 0)
        return false;
    switch (a->type) {
    case VS_KLINE:
        return a->interval == b->interval;
    case VS_DEPTH:
        return a->levels == b->levels && canonical_speed(a) == canonical_speed(b);
    case VS_DIFF:
        return a->prec == b->prec && canonical_diff_levels(a) == canonical_diff_levels(b) &&
               canonical_speed(a) == canonical_speed(b);
    case VS_MARKPRICE:
        /* prec tells OKX's funding-rate channel from its mark-price (okx.h). */
        return a->prec == b->prec && canonical_speed(a) == canonical_speed(b);
    default:
        return true;
    }
}

/* Longest push delay in ms of a change, 0 for real-time streams (see venue.h). A NULL profile
 * is read as Binance spot. */
uint32_t vstream_cadence_ms(const struct venue_profile *p, const struct vstream *s)
{
    if (!p)
        p = &profiles[0];
    return p->proto->cadence_ms(p, s);
}

/* The venue's evidence rule for s (see venue.h and mdfeedd(8), HEALTH). */
void vstream_liveness(const struct venue_profile *p, const struct vstream *s, struct vliveness *l)
{
    if (!p)
        p = &profiles[0];
    memset(l, 0, sizeof(*l));
    p->proto->liveness(p, s, l);
}

/* ---- text building (vtext.h) ------------------------------------------------------------- */

int vtext_putf(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (*len >= cap)
        return -ENOSPC;
    va_start(ap, fmt);
    n = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap - *len) {
        buf[*len] = '\0';
        return -ENOSPC;
    }
    *len += (size_t)n;
    return 0;
}

int vtext_finish(int rc, char *buf, size_t cap, size_t len)
{
    if (rc < 0) {
        if (cap)
            buf[0] = '\0';
        return err_set(-ENOSPC, "buffer of %zu bytes too small", cap);
    }
    return (int)len;
}

/* ---- range checks (vcheck.h) ------------------------------------------------------------- */

bool vcheck_in(struct mdf_dec v, enum vbound b)
{
    switch (b) {
    case VB_POS:
        return v.m > 0;
    case VB_NONNEG:
        return v.m >= 0;
    default:
        return true;
    }
}

/* Fills *bad with field and the formatted reason. Returns -ERANGE. */
static int bad_set(struct vbad *bad, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad_set(struct vbad *bad, const char *field, const char *fmt, ...)
{
    va_list ap;

    bad->field = field;
    va_start(ap, fmt);
    vsnprintf(bad->why, sizeof(bad->why), fmt, ap);
    va_end(ap);
    return -ERANGE;
}

/* Writes v's text into buf (MDF_DEC_STR_MAX bytes). */
static const char *dec_text(struct mdf_dec v, char *buf)
{
    if (mdf_dec_format(v, buf, MDF_DEC_STR_MAX) < 0)
        snprintf(buf, MDF_DEC_STR_MAX, "%" PRId64 "e%" PRId32, v.m, v.e);
    return buf;
}

int vcheck_dec(const char *field, struct mdf_dec v, enum vbound b, struct vbad *bad)
{
    char t[MDF_DEC_STR_MAX];

    if (vcheck_in(v, b))
        return 0;
    return bad_set(bad, field, "%s is %s", dec_text(v, t),
                   b == VB_POS && v.m == 0 ? "not positive" : "negative");
}

int vcheck_int(const char *field, int64_t v, int64_t min, struct vbad *bad)
{
    if (v >= min)
        return 0;
    return bad_set(bad, field, "%" PRId64 " is below %" PRId64, v, min);
}

int vcheck_high_low(const char *hf, struct mdf_dec high, const char *lf, struct mdf_dec low,
                    struct vbad *bad)
{
    char t[MDF_DEC_STR_MAX], u[MDF_DEC_STR_MAX];

    if (high.m == 0 || low.m == 0 || mdf_dec_cmp(high, low) >= 0)
        return 0;
    return bad_set(bad, hf, "%s is below %s %s", dec_text(high, t), lf, dec_text(low, u));
}

int vcheck_id_order(const char *ff, int64_t first, const char *lf, int64_t last, struct vbad *bad)
{
    if (first <= last)
        return 0;
    return bad_set(bad, ff, "%" PRId64 " is above %s %" PRId64, first, lf, last);
}

/* Checks that a candle's price p (field f) lies within [low, high]. */
static int within(const struct mdf_candle *k, const struct vcandle_names *nm, const char *f,
                  struct mdf_dec p, struct vbad *bad)
{
    char t[MDF_DEC_STR_MAX], u[MDF_DEC_STR_MAX];

    if (mdf_dec_cmp(p, k->low) < 0)
        return bad_set(bad, f, "%s is below %s %s", dec_text(p, t), nm->low, dec_text(k->low, u));
    if (mdf_dec_cmp(p, k->high) > 0)
        return bad_set(bad, f, "%s is above %s %s", dec_text(p, t), nm->high, dec_text(k->high, u));
    return 0;
}

int vcheck_candle(const struct mdf_candle *k, const struct vcandle_names *nm, struct vbad *bad)
{
    const struct {
        const char *f;
        struct mdf_dec v;
    } vols[] = {
        {nm->volume, k->volume},
        {nm->quote_volume, k->quote_volume},
        {nm->taker_buy_base, k->taker_buy_base},
        {nm->taker_buy_quote, k->taker_buy_quote},
    };
    int rc;

    if ((rc = vcheck_dec(nm->open, k->open, VB_POS, bad)) < 0 ||
        (rc = vcheck_dec(nm->high, k->high, VB_POS, bad)) < 0 ||
        (rc = vcheck_dec(nm->low, k->low, VB_POS, bad)) < 0 ||
        (rc = vcheck_dec(nm->close, k->close, VB_POS, bad)) < 0 ||
        (rc = vcheck_high_low(nm->high, k->high, nm->low, k->low, bad)) < 0 ||
        (rc = within(k, nm, nm->open, k->open, bad)) < 0 ||
        (rc = within(k, nm, nm->close, k->close, bad)) < 0)
        return rc;
    for (size_t i = 0; i < sizeof(vols) / sizeof(vols[0]); i++)
        if (vols[i].f && (rc = vcheck_dec(vols[i].f, vols[i].v, VB_NONNEG, bad)) < 0)
            return rc;
    if (nm->trades && (rc = vcheck_int(nm->trades, k->trades, 0, bad)) < 0)
        return rc;
    if (!nm->first_id || !nm->last_id || (k->first_id == -1 && k->last_id == -1))
        return 0;
    /* Ids: both -1 (no trade), or a range of real ids. */
    if (k->first_id < 0 || k->last_id < 0)
        return bad_set(bad, k->first_id < 0 ? nm->first_id : nm->last_id,
                       "%" PRId64 " with %s %" PRId64 " (ids are both -1 or both >= 0)",
                       k->first_id < 0 ? k->first_id : k->last_id,
                       k->first_id < 0 ? nm->last_id : nm->first_id,
                       k->first_id < 0 ? k->last_id : k->first_id);
    return vcheck_id_order(nm->first_id, k->first_id, nm->last_id, k->last_id, bad);
}

bool vcheck_crossed(struct mdf_dec bid, struct mdf_dec ask)
{
    return bid.m > 0 && ask.m > 0 && mdf_dec_cmp(bid, ask) >= 0;
}
