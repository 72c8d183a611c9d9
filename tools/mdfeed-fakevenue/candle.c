/*
 * The synthetic market's symbols and candles: what a symbol looks like (tick, step, price
 * level), its price path over time, and its candles.
 *
 * The design choice: a candle's prices and volumes are a pure function of (symbol, interval,
 * open time), and its trade ids come from the market's record of the trades it made. The
 * stream's closing update and a REST klines answer for the same candle are therefore the same
 * bytes, whenever they are asked for, which is what a client's candle backfill is checked
 * against. The price path is a sum of slow waves around a level derived
 * from the symbol's name, with a little per-second noise; a candle samples it on a grid of at
 * most 61 points (open .. next open), so its close is the next candle's open. Volumes and trade
 * counts come from a hash of the candle's key. Before the candle closes, the stream shows the
 * prefix of the grid that has passed (close = the latest sample, volume and count in
 * proportion), so a partial candle never shows a high above the final one.
 *
 * Trade ids: a candle during the market's run carries the ids the market's trade streams gave
 * out in it (first, last, count), read from the symbol's tape (the trade ids of each second), so
 * the kline's f/L, the trade and aggTrade ids and the ticker's F/L are one id space, as on the
 * venue, and the stream and REST klines agree because both read the same tape. A candle of that
 * time without trades is what Binance sends for one: f = L = -1, n = 0, no volume, flat at its
 * open. Candles that closed before the tape starts (history from before the market ran) keep
 * ids derived from time (open time x 1000: below every id the market gives out, since those
 * start from the clock at startup) and counts from the hash.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fv.h"

#define DAY_MS INT64_C(86400000)
#define SAMPLES_MAX 60 /* grid intervals per candle */

/* The Binance intervals; 1M is calendar months (ms 0), 1w starts on Mondays. */
static const struct {
    const char *name; /* as in stream names and REST */
    int64_t ms;       /* length; 0 = calendar month */
} IVS[FV_IV_COUNT] = {
    {"1s", 1000},     {"1m", 60000},      {"3m", 180000},     {"5m", 300000},
    {"15m", 900000},  {"30m", 1800000},   {"1h", 3600000},    {"2h", 7200000},
    {"4h", 14400000}, {"6h", 21600000},   {"8h", 28800000},   {"12h", 43200000},
    {"1d", DAY_MS},   {"3d", 3 * DAY_MS}, {"1w", 7 * DAY_MS}, {"1M", 0},
};

/* splitmix64: a good 64-bit mix of x. */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* See fv.h. */
int fv_dec(char *out, int64_t v, int scale, int decimals)
{
    static const int64_t P10[] = {1,       10,       100,       1000,       10000,        100000,
                                  1000000, 10000000, 100000000, 1000000000, 10000000000LL};
    uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    uint64_t ip = a / (uint64_t)P10[scale], fp = a % (uint64_t)P10[scale];
    int n;

    if (decimals == 0)
        return sprintf(out, "%s%" PRIu64, v < 0 ? "-" : "", ip);
    fp *= (uint64_t)P10[decimals - scale];
    n = sprintf(out, "%s%" PRIu64 ".%0*" PRIu64, v < 0 ? "-" : "", ip, decimals, fp);
    return n;
}

/* See fv.h. */
void candle_params(struct fv_symparams *sp, const char *name, bool spot)
{
    uint64_t h = 1469598103934665603ull;
    size_t i;

    memset(sp, 0, sizeof(*sp));
    for (i = 0; name[i] && i < sizeof(sp->name) - 1; i++) {
        sp->name[i] = name[i];
        sp->lower[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
        h = (h ^ (uint8_t)name[i]) * 1099511628211ull;
    }
    h = mix(h);
    sp->h = h;
    sp->td = 2 + (int)(h % 7);
    sp->qd = (int)((h >> 8) % 4);
    sp->base = (int64_t)(1 + (h >> 16) % 9);
    for (int k = 0; k < 4 + (int)((h >> 24) % 3); k++)
        sp->base *= 10;
    for (int k = 0; k < 4; k++)
        sp->ph[k] = (double)(mix(h + (uint64_t)k + 1) % 6283) / 1000.0;
    sp->pdec = spot ? 8 : sp->td;
    sp->qdec = spot ? 8 : sp->qd;
    sp->vdec = spot ? 8 : (sp->td + sp->qd < 8 ? sp->td + sp->qd : 8);
}

/* See fv.h. Slow waves (a day, an hour, five minutes, 37 s) and per-second noise; always within
 * a few percent of the base level, so always positive. */
int64_t candle_price(const struct fv_symparams *sp, int64_t t_ms)
{
    double x = (double)t_ms / 1000.0, f;
    int64_t sec = t_ms >= 0 ? t_ms / 1000 : (t_ms - 999) / 1000;
    double noise = (double)(mix(sp->h ^ (uint64_t)sec) % 10001) / 10000.0 - 0.5;

    f = 1.0 + 0.02 * sin(2 * M_PI * x / 86400.0 + sp->ph[0]) +
        0.005 * sin(2 * M_PI * x / 3600.0 + sp->ph[1]) +
        0.002 * sin(2 * M_PI * x / 300.0 + sp->ph[2]) +
        0.0008 * sin(2 * M_PI * x / 37.0 + sp->ph[3]) + 0.0004 * noise;
    return llround((double)sp->base * f);
}

/* See fv.h. */
int candle_interval(const char *name, size_t len)
{
    for (int i = 0; i < FV_IV_COUNT; i++)
        if (strlen(IVS[i].name) == len && memcmp(IVS[i].name, name, len) == 0)
            return i;
    return -1;
}

/* See fv.h. */
const char *candle_interval_name(int iv)
{
    return IVS[iv].name;
}

/* a / b rounded toward minus infinity (b > 0). */
static int64_t floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* The first day (Unix ms) of the month `months` months after January 1970. */
static int64_t month_start(int64_t months)
{
    struct tm tm = {0};

    tm.tm_year = 70 + (int)floor_div(months, 12);
    tm.tm_mon = (int)(months - floor_div(months, 12) * 12);
    tm.tm_mday = 1;
    return (int64_t)timegm(&tm) * 1000;
}

/* Months since January 1970 of the month holding t_ms. */
static int64_t month_of(int64_t t_ms)
{
    time_t t = (time_t)floor_div(t_ms, 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    return (int64_t)(tm.tm_year - 70) * 12 + tm.tm_mon;
}

/* See fv.h. Weeks start on Monday (1970-01-05 was one). */
int64_t candle_open(int iv, int64_t t_ms)
{
    int64_t ms = IVS[iv].ms;

    if (!ms)
        return month_start(month_of(t_ms));
    if (ms == 7 * DAY_MS)
        return floor_div(t_ms - 4 * DAY_MS, ms) * ms + 4 * DAY_MS;
    return floor_div(t_ms, ms) * ms;
}

/* See fv.h. */
int64_t candle_next(int iv, int64_t open_ms)
{
    if (!IVS[iv].ms)
        return month_start(month_of(open_ms) + 1);
    return open_ms + IVS[iv].ms;
}

/* The open time of the candle before the one opening at open_ms. */
static int64_t candle_prev(int iv, int64_t open_ms)
{
    if (!IVS[iv].ms)
        return month_start(month_of(open_ms) - 1);
    return open_ms - IVS[iv].ms;
}

/* See fv.h: truncated or padded to vdec decimals. */
int64_t candle_quote(const struct fv_symparams *sp, int64_t v, int64_t px)
{
    __int128 q = (__int128)v * px;
    int drop = sp->td + sp->qd - sp->vdec;

    for (; drop > 0; drop--)
        q /= 10;
    for (; drop < 0; drop++)
        q *= 10;
    return (int64_t)q;
}

/* ---- the trade tape ---- */

/* Entry i (0 = oldest) of the tape. */
static const struct fv_tape_sec *tape_at(const struct fv_tape *t, size_t i)
{
    return &t->v[(t->head + i) % t->cap];
}

/* Index of the first entry with sec >= s (t->n when none). */
static size_t tape_lower(const struct fv_tape *t, int64_t s)
{
    size_t lo = 0, hi = t->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (tape_at(t, mid)->sec < s)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* See fv.h. */
void candle_tape_init(struct fv_tape *t, int64_t since_ms)
{
    memset(t, 0, sizeof(*t));
    t->since_ms = since_ms;
}

/* See fv.h. Seconds are appended in order; a clock that steps back files its trades under the
 * latest second, so the ring stays sorted. A full ring at FV_TAPE_MAX forgets its oldest second
 * and moves since_ms past it. */
void candle_tape_note(struct fv_tape *t, int64_t t_ms, int64_t first, int64_t last)
{
    int64_t sec = floor_div(t_ms, 1000);
    struct fv_tape_sec *e;

    if (t->n) {
        e = &t->v[(t->head + t->n - 1) % t->cap];
        if (sec <= e->sec) {
            e->last = last;
            return;
        }
    }
    if (t->n == t->cap && t->cap < FV_TAPE_MAX) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct fv_tape_sec *v;

        if (cap > FV_TAPE_MAX)
            cap = FV_TAPE_MAX;
        v = fv_xmalloc(cap * sizeof(*v));
        for (size_t i = 0; i < t->n; i++)
            v[i] = *tape_at(t, i);
        free(t->v);
        t->v = v;
        t->cap = cap;
        t->head = 0;
    }
    if (t->n == t->cap) {
        t->since_ms = (t->v[t->head].sec + 1) * 1000;
        t->head = (t->head + 1) % t->cap;
        t->n--;
    }
    e = &t->v[(t->head + t->n) % t->cap];
    e->sec = sec;
    e->first = first;
    e->last = last;
    t->n++;
}

/* See fv.h. */
void candle_tape_fini(struct fv_tape *t)
{
    free(t->v);
    memset(t, 0, sizeof(*t));
}

/* The market's trades in [from_ms, to_ms) (whole seconds): *f and *L, and the count, 0 (with
 * *f = *L = -1) when there were none. */
static int64_t tape_range(const struct fv_tape *t, int64_t from_ms, int64_t to_ms, int64_t *f,
                          int64_t *L)
{
    size_t a = tape_lower(t, floor_div(from_ms, 1000)), b = tape_lower(t, floor_div(to_ms, 1000));

    if (a >= b) {
        *f = *L = -1;
        return 0;
    }
    *f = tape_at(t, a)->first;
    *L = tape_at(t, b - 1)->last;
    return *L - *f + 1;
}

/* ---- candles ---- */

/* See fv.h. */
void candle_compute(const struct fv_symparams *sp, const struct fv_tape *tape, int iv,
                    int64_t open_ms, int64_t now_ms, struct fv_candle *c)
{
    int64_t next = candle_next(iv, open_ms), len = next - open_ms;
    int64_t nsamp = len / 1000 < SAMPLES_MAX ? len / 1000 : SAMPLES_MAX;
    uint64_t k = mix(sp->h ^ mix((uint64_t)open_ms) ^ ((uint64_t)iv << 56));
    int64_t last, step = 1, v_full, n_full, buy_pct, avg;

    if (nsamp < 1)
        nsamp = 1;
    /* Samples 0..last have passed; the final candle has all nsamp + 1 (the last is next). */
    c->x = now_ms >= next;
    if (c->x) {
        last = nsamp;
    } else {
        last = (now_ms - open_ms) * nsamp / len;
        if (last < 0)
            last = 0;
        if (last >= nsamp)
            last = nsamp - 1;
    }
    c->t = open_ms;
    c->T = next - 1;
    c->o = candle_price(sp, open_ms);
    c->h = c->l = c->o;
    for (int64_t j = 1; j <= last; j++) {
        int64_t px = candle_price(sp, open_ms + len * j / nsamp);

        if (px > c->h)
            c->h = px;
        if (px < c->l)
            c->l = px;
        c->c = px;
    }
    if (last == 0)
        c->c = c->o;
    for (int i = 0; i < sp->qd; i++)
        step *= 10;
    v_full = (int64_t)(1 + k % 1000) * (len / 60000 + 1) * step;
    n_full = 1 + (int64_t)((k >> 12) % (uint64_t)(len / 200 > 1 ? len / 200 : 1));
    buy_pct = 30 + (int64_t)((k >> 40) % 41);
    c->v = v_full * (last + 1) / (nsamp + 1);
    c->n = n_full * (last + 1) / (nsamp + 1);
    if (c->n < 1)
        c->n = 1;
    if (c->v < 1)
        c->v = 1;
    c->V = c->v * buy_pct / 100;
    avg = (c->o + c->h + c->l + c->c) / 4;
    c->q = candle_quote(sp, c->v, avg);
    c->Q = candle_quote(sp, c->V, avg);
    c->f = open_ms * 1000 + 1;
    c->L = c->f + c->n - 1;
    if (!tape || next <= tape->since_ms)
        return; /* history from before the tape: synthetic ids and count */
    c->n = tape_range(tape, open_ms, next, &c->f, &c->L);
    if (!c->n) {
        /* No trade: what the venue sends for an empty candle. */
        c->h = c->l = c->c = c->o;
        c->v = c->V = c->q = c->Q = 0;
    }
}

/* See fv.h. */
void candle_put_px(struct fv_buf *b, const struct fv_symparams *sp, int64_t px)
{
    char t[40];
    int n = fv_dec(t, px, sp->td, sp->pdec);

    fv_buf_append(b, "\"", 1);
    fv_buf_append(b, t, (size_t)n);
    fv_buf_append(b, "\"", 1);
}

/* See fv.h. */
void candle_put_qty(struct fv_buf *b, const struct fv_symparams *sp, int64_t q)
{
    char t[40];
    int n = fv_dec(t, q, sp->qd, sp->qdec);

    fv_buf_append(b, "\"", 1);
    fv_buf_append(b, t, (size_t)n);
    fv_buf_append(b, "\"", 1);
}

/* See fv.h. */
void candle_put_quote(struct fv_buf *b, const struct fv_symparams *sp, int64_t q)
{
    char t[40];
    int n = fv_dec(t, q, sp->vdec, sp->vdec);

    fv_buf_append(b, "\"", 1);
    fv_buf_append(b, t, (size_t)n);
    fv_buf_append(b, "\"", 1);
}

/* See fv.h. Member order as the venue sends it. */
void candle_format_k(const struct fv_symparams *sp, int iv, const struct fv_candle *c,
                     struct fv_buf *out)
{
    fv_buf_printf(out,
                  "{\"t\":%" PRId64 ",\"T\":%" PRId64 ",\"s\":\"%s\",\"i\":\"%s\",\"f\":%" PRId64
                  ",\"L\":%" PRId64 ",\"o\":",
                  c->t, c->T, sp->name, IVS[iv].name, c->f, c->L);
    candle_put_px(out, sp, c->o);
    fv_buf_append(out, ",\"c\":", 5);
    candle_put_px(out, sp, c->c);
    fv_buf_append(out, ",\"h\":", 5);
    candle_put_px(out, sp, c->h);
    fv_buf_append(out, ",\"l\":", 5);
    candle_put_px(out, sp, c->l);
    fv_buf_append(out, ",\"v\":", 5);
    candle_put_qty(out, sp, c->v);
    fv_buf_printf(out, ",\"n\":%" PRId64 ",\"x\":%s,\"q\":", c->n, c->x ? "true" : "false");
    candle_put_quote(out, sp, c->q);
    fv_buf_append(out, ",\"V\":", 5);
    candle_put_qty(out, sp, c->V);
    fv_buf_append(out, ",\"Q\":", 5);
    candle_put_quote(out, sp, c->Q);
    fv_buf_append(out, ",\"B\":\"0\"}", 9);
}

/* Appends one REST row: [t,"o","h","l","c","v",T,"q",n,"V","Q","0"]. */
static void rest_row(const struct fv_symparams *sp, const struct fv_candle *c, struct fv_buf *out)
{
    fv_buf_printf(out, "[%" PRId64 ",", c->t);
    candle_put_px(out, sp, c->o);
    fv_buf_append(out, ",", 1);
    candle_put_px(out, sp, c->h);
    fv_buf_append(out, ",", 1);
    candle_put_px(out, sp, c->l);
    fv_buf_append(out, ",", 1);
    candle_put_px(out, sp, c->c);
    fv_buf_append(out, ",", 1);
    candle_put_qty(out, sp, c->v);
    fv_buf_printf(out, ",%" PRId64 ",", c->T);
    candle_put_quote(out, sp, c->q);
    fv_buf_printf(out, ",%" PRId64 ",", c->n);
    candle_put_qty(out, sp, c->V);
    fv_buf_append(out, ",", 1);
    candle_put_quote(out, sp, c->Q);
    fv_buf_append(out, ",\"0\"]", 5);
}

/* See fv.h. */
void candle_rest_klines(const struct fv_symparams *sp, const struct fv_tape *tape, int iv,
                        int64_t start_ms, int64_t end_ms, int limit, int64_t now_ms,
                        struct fv_buf *out)
{
    int64_t open, last_closed = candle_prev(iv, candle_open(iv, now_ms));
    int count = 0;

    /* The newest closed candle; a candle is closed once its close time is before now. */
    if (end_ms < last_closed)
        last_closed = candle_open(iv, end_ms);
    if (start_ms != INT64_MIN) {
        open = candle_open(iv, start_ms);
        if (open < start_ms)
            open = candle_next(iv, open);
    } else {
        open = last_closed;
        for (int i = 1; i < limit; i++)
            open = candle_prev(iv, open);
    }
    fv_buf_append(out, "[", 1);
    for (; open <= last_closed && count < limit; open = candle_next(iv, open)) {
        struct fv_candle c;

        candle_compute(sp, tape, iv, open, now_ms, &c);
        if (count++)
            fv_buf_append(out, ",", 1);
        rest_row(sp, &c, out);
    }
    fv_buf_append(out, "]", 1);
}
