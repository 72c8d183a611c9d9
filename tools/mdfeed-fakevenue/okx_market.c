/*
 * The OKX venue's synthetic market: one market shared by every connection, so every subscriber
 * of a channel gets the same messages (an observer client sees what the daemon was sent). An
 * instrument exists from its first subscription (or only those of --market), a pure function of
 * its instId and --seed: price and size decimals and the price path come from candle.c.
 *
 * The book: up to OKM_CAP levels a side, best first. A book event (--market-rate times a second
 * per subscribed instrument, --market-events of them at most) changes a size, removes a level,
 * adds one inside the spread or near the top, or changes nothing (5%: a keepalive update,
 * seqId == prevSeqId); every other event also makes a trade at the best price. After each event:
 * a books update (seqId up by 1 to 90, prevSeqId the last seqId, checksum the CRC-32 of the top
 * 25 levels interleaved "bidPx:bidSz:askPx:askSz:..." as a signed int, or 0 with
 * --okx-checksum-zero), a books5 snapshot, a bbo-tbt and a tickers message, and the trade. Every
 * 200 ms mark-price, every second funding-rate (SWAP only), and every 500 ms the open candle of
 * each subscribed bar; when a bar's time is over its candle goes once more with confirm "1".
 * --okx-minute-ms scales every bar. Numbers are strings, trailing zeros trimmed, as OKX prints.
 *
 * Faults (faulted connections only, once per run): --okx-seq-break sends one update whose
 * prevSeqId is not the last seqId, --okx-bad-checksum one with a wrong checksum.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zlib.h>

#include "okxv.h"

#define OKM_CAP 256       /* levels a side at most */
#define OKM_LEVELS 200    /* levels a side of a new book */
#define OKM_CS_LEVELS 25  /* levels a side in the checksum */
#define OKM_SYMS 64       /* instruments */
#define OKM_TICK_MAX 100  /* the timer's longest period (ms) */
#define OKM_MARK_MS 200   /* mark-price cadence */
#define OKM_FUND_MS 1000  /* funding-rate cadence */
#define OKM_CANDLE_MS 500 /* open candle cadence */
#define OKM_CHG 4         /* changed levels per event */
#define DAY_MS INT64_C(86400000)

/* The candle bars: name, length in seconds (of a real minute), alignment. */
enum { AL_UTC, AL_HK, AL_WEEK_UTC, AL_WEEK_HK, AL_MONTH_UTC, AL_MONTH_HK };
static const struct {
    const char *name;
    int64_t secs;
    uint8_t al;
    uint8_t months; /* calendar bars: months per bar */
} BARS[] = {
    {"1s", 1, AL_UTC, 0},
    {"1m", 60, AL_UTC, 0},
    {"3m", 180, AL_UTC, 0},
    {"5m", 300, AL_UTC, 0},
    {"15m", 900, AL_UTC, 0},
    {"30m", 1800, AL_UTC, 0},
    {"1H", 3600, AL_UTC, 0},
    {"2H", 7200, AL_UTC, 0},
    {"4H", 14400, AL_UTC, 0},
    {"6H", 21600, AL_HK, 0},
    {"12H", 43200, AL_HK, 0},
    {"1D", 86400, AL_HK, 0},
    {"2D", 172800, AL_HK, 0},
    {"3D", 259200, AL_HK, 0},
    {"1W", 604800, AL_WEEK_HK, 0},
    {"1M", 2592000, AL_MONTH_HK, 1},
    {"3M", 7776000, AL_MONTH_HK, 3},
    {"6Hutc", 21600, AL_UTC, 0},
    {"12Hutc", 43200, AL_UTC, 0},
    {"1Dutc", 86400, AL_UTC, 0},
    {"2Dutc", 172800, AL_UTC, 0},
    {"3Dutc", 259200, AL_UTC, 0},
    {"1Wutc", 604800, AL_WEEK_UTC, 0},
    {"1Mutc", 2592000, AL_MONTH_UTC, 1},
    {"3Mutc", 7776000, AL_MONTH_UTC, 3},
};
#define NBARS (sizeof(BARS) / sizeof(BARS[0]))

static const char *const CH_NAMES[] = {"books",   "books5",       "bbo-tbt",    "trades",
                                       "tickers", "funding-rate", "mark-price", "candle"};

/* One level. */
struct lv {
    int64_t px;  /* price, ticks */
    int64_t sz;  /* size, quantity steps (> 0) */
    int32_t cnt; /* orders */
};

/* One side, best first. */
struct oside {
    struct lv v[OKM_CAP];
    int n;
    bool bid;
};

/* One instrument. */
struct osym {
    char inst[32];             /* instId */
    struct fv_symparams sp;    /* decimals and price path (candle.c) */
    bool swap, fut;            /* instType SWAP, FUTURES (else SPOT) */
    struct oside bids, asks;   /* the book */
    int64_t seq;               /* seqId of the last books message */
    int64_t ts;                /* its ts */
    uint64_t rng;              /* xorshift state */
    struct lv chg[OKM_CHG];    /* levels the last event changed (sz 0: removed) */
    bool chg_bid[OKM_CHG];     /* their sides */
    int nchg;                  /* their count */
    int64_t trade_id;          /* the last tradeId */
    int64_t last_px, last_sz;  /* the last trade */
    unsigned nsubs;            /* subscriptions on it */
    unsigned bar_subs[NBARS];  /* candle subscriptions per bar */
    int64_t bar_open[NBARS];   /* open time of the candle last sent per bar, 0 = none */
    uint64_t bar_push[NBARS];  /* loop time it was sent */
    uint64_t mark_ms, fund_ms; /* loop times mark-price and funding-rate were last sent */
};

struct okx_market {
    struct fv_server *s;
    uv_timer_t timer;
    unsigned tick_ms;
    struct fv_pace pace;
    struct osym *syms[OKM_SYMS];
    size_t nsyms;
    struct fv_buf msg;      /* the message being delivered */
    bool seq_done, cs_done; /* the once-per-run faults fired */
};

/* ---- numbers ---- */

static uint64_t rng_next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Writes v x 10^-scale with trailing zeros trimmed ("8477", "0.5") into out (48 bytes).
 * Returns the length. */
static int dec_text(char *out, int64_t v, int scale)
{
    int n;

    for (; scale > 10; scale--)
        v /= 10; /* fv_dec() goes to 10 decimals: quote volumes (td + qd) may have 11 */
    n = fv_dec(out, v, scale, scale);

    if (scale > 0) {
        while (out[n - 1] == '0')
            n--;
        if (out[n - 1] == '.')
            n--;
    }
    out[n] = '\0';
    return n;
}

/* Appends v x 10^-scale as a JSON string, as dec_text() writes it. */
static void put_dec(struct fv_buf *b, int64_t v, int scale)
{
    char t[48];
    int n = dec_text(t, v, scale);

    fv_buf_append(b, "\"", 1);
    fv_buf_append(b, t, (size_t)n);
    fv_buf_append(b, "\"", 1);
}

/* Appends ,"key":"value" with value v x 10^-scale (put_dec()). */
static void put_kv(struct fv_buf *b, const char *key, int64_t v, int scale)
{
    fv_buf_printf(b, ",\"%s\":", key);
    put_dec(b, v, scale);
}

/* Appends an integer as a JSON string ("1597026383085"). */
static void put_istr(struct fv_buf *b, int64_t v)
{
    fv_buf_printf(b, "\"%" PRId64 "\"", v);
}

/* ---- bars ---- */

/* See okxv.h. */
int okxv_channel(const char *name, uint8_t *ch, uint8_t *bar)
{
    *bar = 0;
    if (strncmp(name, "candle", 6) == 0) {
        for (size_t i = 0; i < NBARS; i++) {
            if (strcmp(name + 6, BARS[i].name) == 0) {
                *ch = OKXV_CANDLE;
                *bar = (uint8_t)i;
                return OKXV_BUSINESS;
            }
        }
        return -1;
    }
    for (uint8_t i = 0; i < OKXV_CANDLE; i++) {
        if (strcmp(name, CH_NAMES[i]) == 0) {
            *ch = i;
            return OKXV_PUBLIC;
        }
    }
    return -1;
}

static int64_t fdiv(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* A real or scaled length: secs seconds of minutes of minute_ms. */
static int64_t scaled(const struct fv_server *s, int64_t secs)
{
    int64_t v = secs * s->o->okx.minute_ms / 60;

    return v > 0 ? v : 1;
}

/* Calendar months (unscaled month bars): the open time of the bar holding t. */
static int64_t month_open(int64_t t, int64_t off, int months, int delta)
{
    time_t tt = (time_t)fdiv(t + off, 1000);
    struct tm tm;
    int mon;

    gmtime_r(&tt, &tm);
    mon = tm.tm_year * 12 + tm.tm_mon;
    mon = mon - mon % months + delta * months;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = mon / 12;
    tm.tm_mon = mon % 12;
    tm.tm_mday = 1;
    return (int64_t)timegm(&tm) * 1000 - off;
}

/* The open time of bar's candle holding t, and of the next one (*next). */
static int64_t bar_open(const struct fv_server *s, int bar, int64_t t, int64_t *next)
{
    int al = BARS[bar].al;
    int64_t off = 0, len = scaled(s, BARS[bar].secs), open;
    bool hk = al == AL_HK || al == AL_WEEK_HK || al == AL_MONTH_HK;

    if (hk)
        off = scaled(s, 8 * 3600);
    if (BARS[bar].months && s->o->okx.minute_ms == 60000) {
        open = month_open(t, off, BARS[bar].months, 0);
        *next = month_open(t, off, BARS[bar].months, 1);
        return open;
    }
    if (al == AL_WEEK_UTC || al == AL_WEEK_HK)
        off -= scaled(s, 4 * 86400); /* weeks open on Monday; 1970-01-01 was a Thursday */
    open = fdiv(t + off, len) * len - off;
    *next = open + len;
    return open;
}

/* ---- instruments ---- */

/* A size in steps: mostly round, sometimes small. */
static int64_t rand_sz(struct osym *y)
{
    uint64_t r = rng_next(&y->rng);
    int64_t u = 1;

    for (int k = 0; k < y->sp.qd; k++)
        u *= 10;
    switch (r % 4) {
    case 0:
        return u * (int64_t)(1 + (r >> 8) % 20);
    case 1:
        return 1 + (int64_t)((r >> 8) % 50);
    default:
        return 1 + (int64_t)((r >> 8) % (uint64_t)(u * 100));
    }
}

static int32_t rand_cnt(struct osym *y)
{
    return 1 + (int32_t)(rng_next(&y->rng) % 30);
}

/* Builds the book around the price path at now. */
static void book_init(struct osym *y, int64_t now)
{
    int64_t mid = candle_price(&y->sp, now);

    y->bids.bid = true;
    y->asks.bid = false;
    for (int i = 0; i < OKM_LEVELS; i++) {
        int64_t gap = 1 + (int64_t)(rng_next(&y->rng) % 3);
        struct lv *b = &y->bids.v[i], *a = &y->asks.v[i];

        b->px = i ? y->bids.v[i - 1].px - gap : mid - 1;
        a->px = i ? y->asks.v[i - 1].px + gap : mid + 1;
        b->sz = rand_sz(y);
        a->sz = rand_sz(y);
        b->cnt = rand_cnt(y);
        a->cnt = rand_cnt(y);
    }
    y->bids.n = y->asks.n = OKM_LEVELS;
    y->seq = 1000 + (int64_t)(y->sp.h % 100000000);
    y->ts = now;
    y->last_px = mid;
    y->last_sz = 1;
    y->trade_id = 100000 + (int64_t)(y->sp.h % 1000000);
}

/* See okxv.h. Unlisted instruments (when --market lists them) are refused. */
int okxv_symbol(struct fv_server *s, const char *inst, bool *swap)
{
    struct okx_market *m = s->okx;
    const char *l = s->o->market;
    size_t n = strlen(inst), parts = 1;
    struct osym *y;

    if (!m || !fvokx_inst_ok(inst, n))
        return -1;
    for (size_t i = 0; i < m->nsyms; i++) {
        if (strcmp(m->syms[i]->inst, inst) == 0) {
            *swap = m->syms[i]->swap;
            return (int)i;
        }
    }
    if (l) {
        bool found = false;

        while (*l && !found) {
            size_t len = strcspn(l, ",");

            found = len == n && strncmp(l, inst, n) == 0;
            l += len;
            if (*l == ',')
                l++;
        }
        if (!found)
            return -1;
    }
    if (m->nsyms == OKM_SYMS)
        return -1;
    y = fv_xcalloc(1, sizeof(*y));
    memcpy(y->inst, inst, n + 1);
    for (size_t i = 0; i < n; i++)
        parts += inst[i] == '-';
    y->swap = n > 5 && strcmp(inst + n - 5, "-SWAP") == 0;
    y->fut = !y->swap && parts > 2;
    candle_params(&y->sp, inst, false);
    y->rng = y->sp.h ^ (s->o->seed * 0x9e3779b97f4a7c15ull);
    if (!y->rng)
        y->rng = 1;
    book_init(y, fv_wall_ms());
    m->syms[m->nsyms] = y;
    *swap = y->swap;
    return (int)m->nsyms++;
}

/* ---- the book ---- */

static void note(struct osym *y, bool bid, const struct lv *l)
{
    if (y->nchg < OKM_CHG) {
        y->chg[y->nchg] = *l;
        y->chg_bid[y->nchg++] = bid;
    }
}

static void remove_at(struct osym *y, struct oside *sd, int i)
{
    struct lv gone = sd->v[i];

    gone.sz = 0;
    gone.cnt = 0;
    note(y, sd->bid, &gone);
    memmove(sd->v + i, sd->v + i + 1, (size_t)(sd->n - i - 1) * sizeof(sd->v[0]));
    sd->n--;
}

/* Adds or changes the level at px. */
static void set_level(struct osym *y, struct oside *sd, int64_t px)
{
    int i = 0;

    while (i < sd->n && (sd->bid ? sd->v[i].px > px : sd->v[i].px < px))
        i++;
    if (i == sd->n || sd->v[i].px != px) {
        if (sd->n == OKM_CAP)
            remove_at(y, sd, sd->n - 1);
        memmove(sd->v + i + 1, sd->v + i, (size_t)(sd->n - i) * sizeof(sd->v[0]));
        sd->n++;
        sd->v[i].px = px;
    }
    sd->v[i].sz = rand_sz(y);
    sd->v[i].cnt = rand_cnt(y);
    note(y, sd->bid, &sd->v[i]);
}

/* One book event; a trade on every other one. */
static void book_event(struct osym *y, int64_t now)
{
    uint64_t r = rng_next(&y->rng);
    struct oside *sd = (r >> 8) & 1 ? &y->bids : &y->asks;
    struct oside *other = sd->bid ? &y->asks : &y->bids;
    int top = sd->n < OKM_CS_LEVELS ? sd->n : OKM_CS_LEVELS;
    unsigned kind = (unsigned)(r % 20);

    y->nchg = 0;
    if (kind == 0) {
        /* a keepalive: no levels */
    } else if (kind <= 10) {
        set_level(y, sd, sd->v[(r >> 16) % (uint64_t)top].px);
    } else if (kind <= 14 && sd->n > 150) {
        remove_at(y, sd, (int)((r >> 16) % 10));
    } else {
        /* inside the spread or up to 20 ticks behind the best */
        int64_t lo = sd->bid ? sd->v[0].px - 20 : other->v[0].px + 1;
        int64_t hi = sd->bid ? other->v[0].px - 1 : sd->v[0].px + 20;

        if (hi >= lo)
            set_level(y, sd, lo + (int64_t)((r >> 16) % (uint64_t)(hi - lo + 1)));
    }
    y->ts = now;
    if ((r >> 40) & 1) {
        bool buy = (r >> 41) & 1;
        const struct lv *best = buy ? &y->asks.v[0] : &y->bids.v[0];

        y->trade_id++;
        y->last_px = best->px;
        y->last_sz = 1 + (int64_t)((r >> 42) % (uint64_t)best->sz);
    }
}

/* ---- messages ---- */

static void put_arg(struct fv_buf *b, const char *ch, const struct osym *y)
{
    fv_buf_printf(b, "{\"arg\":{\"channel\":\"%s\",\"instId\":\"%s\"},", ch, y->inst);
}

static void put_level(struct fv_buf *b, const struct osym *y, const struct lv *l)
{
    fv_buf_append(b, "[", 1);
    put_dec(b, l->px, y->sp.td);
    fv_buf_append(b, ",", 1);
    put_dec(b, l->sz, y->sp.qd);
    fv_buf_printf(b, ",\"0\",\"%d\"]", (int)l->cnt);
}

/* "asks":[..],"bids":[..] with the top n levels a side. */
static void put_sides(struct fv_buf *b, const struct osym *y, int n)
{
    fv_buf_append(b, "\"asks\":[", 8);
    for (int i = 0; i < n && i < y->asks.n; i++) {
        if (i)
            fv_buf_append(b, ",", 1);
        put_level(b, y, &y->asks.v[i]);
    }
    fv_buf_append(b, "],\"bids\":[", 10);
    for (int i = 0; i < n && i < y->bids.n; i++) {
        if (i)
            fv_buf_append(b, ",", 1);
        put_level(b, y, &y->bids.v[i]);
    }
    fv_buf_append(b, "]", 1);
}

/* The venue's checksum of the book: CRC-32 of "bidPx:bidSz:askPx:askSz:..." over the top 25. */
static int32_t book_crc(const struct osym *y)
{
    char t[OKM_CS_LEVELS * 2 * 100]; /* two values of at most 48 bytes and ':' a level */
    size_t n = 0;

    for (int i = 0; i < OKM_CS_LEVELS; i++) {
        const struct oside *sides[2] = {&y->bids, &y->asks};

        for (int k = 0; k < 2; k++) {
            if (i >= sides[k]->n)
                continue;
            if (n)
                t[n++] = ':';
            n += (size_t)dec_text(t + n, sides[k]->v[i].px, y->sp.td);
            t[n++] = ':';
            n += (size_t)dec_text(t + n, sides[k]->v[i].sz, y->sp.qd);
        }
    }
    return (int32_t)(uint32_t)crc32(0L, (const Bytef *)t, (uInt)n);
}

/* The books snapshot. */
static void fmt_snapshot(struct okx_market *m, const struct osym *y, struct fv_buf *b)
{
    bool zero = m->s->o->okx.checksum_zero;

    put_arg(b, "books", y);
    fv_buf_append(b, "\"action\":\"snapshot\",\"data\":[{", 29);
    put_sides(b, y, OKM_CAP);
    fv_buf_append(b, ",\"ts\":", 6);
    put_istr(b, y->ts);
    fv_buf_printf(b, ",\"checksum\":%" PRId32 ",\"prevSeqId\":-1,\"seqId\":%" PRId64 "}]}",
                  zero ? 0 : book_crc(y), y->seq);
}

/* A books update of the last event with checksum cs and prevSeqId prev. */
static void fmt_update(const struct osym *y, struct fv_buf *b, int32_t cs, int64_t prev)
{
    bool any[2] = {false, false};

    put_arg(b, "books", y);
    fv_buf_append(b, "\"action\":\"update\",\"data\":[{", 27);
    for (int k = 0; k < 2; k++) {
        fv_buf_append(b, k ? "],\"bids\":[" : "\"asks\":[", k ? 10 : 8);
        for (int i = 0; i < y->nchg; i++) {
            if (y->chg_bid[i] != (k == 1))
                continue;
            if (any[k])
                fv_buf_append(b, ",", 1);
            any[k] = true;
            put_level(b, y, &y->chg[i]);
        }
    }
    fv_buf_append(b, "],\"ts\":", 7);
    put_istr(b, y->ts);
    fv_buf_printf(b, ",\"checksum\":%" PRId32 ",\"prevSeqId\":%" PRId64 ",\"seqId\":%" PRId64 "}]}",
                  cs, prev, y->seq);
}

static void fmt_books5(const struct osym *y, struct fv_buf *b)
{
    put_arg(b, "books5", y);
    fv_buf_append(b, "\"data\":[{", 9);
    put_sides(b, y, 5);
    fv_buf_printf(b, ",\"instId\":\"%s\",\"ts\":", y->inst);
    put_istr(b, y->ts);
    fv_buf_printf(b, ",\"seqId\":%" PRId64 "}]}", y->seq);
}

static void fmt_bbo(const struct osym *y, struct fv_buf *b)
{
    put_arg(b, "bbo-tbt", y);
    fv_buf_append(b, "\"data\":[{", 9);
    put_sides(b, y, 1);
    fv_buf_append(b, ",\"ts\":", 6);
    put_istr(b, y->ts);
    fv_buf_printf(b, ",\"seqId\":%" PRId64 "}]}", y->seq);
}

static void fmt_trade(const struct osym *y, struct fv_buf *b, bool buy)
{
    put_arg(b, "trades", y);
    fv_buf_printf(b, "\"data\":[{\"instId\":\"%s\",\"tradeId\":", y->inst);
    put_istr(b, y->trade_id);
    fv_buf_append(b, ",\"px\":", 6);
    put_dec(b, y->last_px, y->sp.td);
    fv_buf_append(b, ",\"sz\":", 6);
    put_dec(b, y->last_sz, y->sp.qd);
    fv_buf_printf(b, ",\"side\":\"%s\",\"ts\":", buy ? "buy" : "sell");
    put_istr(b, y->ts);
    fv_buf_append(b, ",\"count\":\"1\"}]}", 15);
}

static const char *inst_type(const struct osym *y, bool mark)
{
    if (y->swap)
        return "SWAP";
    if (y->fut)
        return "FUTURES";
    return mark ? "MARGIN" : "SPOT";
}

/* Base volume steps traded per second. */
static int64_t vol_rate(const struct osym *y)
{
    return 1 + (int64_t)((y->sp.h >> 20) % 40);
}

static void fmt_ticker(const struct osym *y, struct fv_buf *b)
{
    int64_t now = y->ts, open = candle_price(&y->sp, now - DAY_MS), hi = open, lo = open;
    int64_t vol = vol_rate(y) * 86400, day = fdiv(now, DAY_MS) * DAY_MS;

    for (int k = 1; k <= 48; k++) {
        int64_t p = k == 48 ? y->last_px : candle_price(&y->sp, now - DAY_MS + k * DAY_MS / 48);

        hi = p > hi ? p : hi;
        lo = p < lo ? p : lo;
    }
    put_arg(b, "tickers", y);
    fv_buf_printf(b,
                  "\"data\":[{\"instType\":\"%s\",\"instId\":\"%s\",\"last\":", inst_type(y, false),
                  y->inst);
    put_dec(b, y->last_px, y->sp.td);
    put_kv(b, "lastSz", y->last_sz, y->sp.qd);
    put_kv(b, "askPx", y->asks.v[0].px, y->sp.td);
    put_kv(b, "askSz", y->asks.v[0].sz, y->sp.qd);
    put_kv(b, "bidPx", y->bids.v[0].px, y->sp.td);
    put_kv(b, "bidSz", y->bids.v[0].sz, y->sp.qd);
    put_kv(b, "open24h", open, y->sp.td);
    put_kv(b, "high24h", hi, y->sp.td);
    put_kv(b, "low24h", lo, y->sp.td);
    if (y->swap || y->fut)
        put_kv(b, "volCcy24h", vol, y->sp.qd + 2); /* derivatives: base currency (contracts/100) */
    else
        put_kv(b, "volCcy24h", vol * open, y->sp.qd + y->sp.td); /* spot: quote currency */
    put_kv(b, "vol24h", vol, y->sp.qd);
    put_kv(b, "sodUtc0", candle_price(&y->sp, day), y->sp.td);
    put_kv(b, "sodUtc8", candle_price(&y->sp, day - 8 * 3600000), y->sp.td);
    fv_buf_append(b, ",\"ts\":", 6);
    put_istr(b, now);
    fv_buf_append(b, "}]}", 3);
}

static void fmt_mark(const struct osym *y, struct fv_buf *b, int64_t now)
{
    put_arg(b, "mark-price", y);
    fv_buf_printf(b, "\"data\":[{\"instType\":\"%s\",\"instId\":\"%s\",\"markPx\":",
                  inst_type(y, true), y->inst);
    put_dec(b, y->bids.v[0].px + y->asks.v[0].px, y->sp.td + 1);
    fv_buf_printf(b, ",\"ts\":\"%" PRId64 "\"}]}", now);
}

static void fmt_funding(const struct osym *y, struct fv_buf *b, int64_t now)
{
    int64_t period = 8 * 3600000, next = (fdiv(now, period) + 1) * period;
    int64_t rate = (int64_t)(((y->sp.h ^ (uint64_t)(now / 60000)) % 2001)) - 1000;

    put_arg(b, "funding-rate", y);
    fv_buf_append(b, "\"data\":[{\"fundingRate\":", 23);
    put_dec(b, rate, 7);
    fv_buf_printf(b,
                  ",\"fundingTime\":\"%" PRId64 "\",\"instId\":\"%s\",\"instType\":\"SWAP\","
                  "\"method\":\"current_period\",\"maxFundingRate\":\"0.00375\","
                  "\"minFundingRate\":\"-0.00375\",\"nextFundingRate\":\"\","
                  "\"nextFundingTime\":\"%" PRId64 "\",\"premium\":",
                  next, y->inst, next + period);
    put_dec(b, rate / 2, 7);
    fv_buf_append(b, ",\"settFundingRate\":", 19);
    put_dec(b, rate, 7);
    fv_buf_printf(b, ",\"settState\":\"settled\",\"ts\":\"%" PRId64 "\"}]}", now);
}

/* The candle of bar opening at open (next: the next open) as of now. */
static void fmt_candle(const struct okx_market *m, const struct osym *y, int bar, int64_t open,
                       int64_t next, int64_t now, struct fv_buf *b)
{
    int64_t upto = now < next - 1 ? now : next - 1, o = candle_price(&y->sp, open);
    int64_t c = candle_price(&y->sp, upto), h = o > c ? o : c, l = o < c ? o : c;
    int64_t vol = (upto - open) * vol_rate(y) * 60000 / m->s->o->okx.minute_ms / 1000;

    for (int k = 1; k < 32; k++) {
        int64_t t = open + (next - open) * k / 32, p;

        if (t > upto)
            break;
        p = candle_price(&y->sp, t);
        h = p > h ? p : h;
        l = p < l ? p : l;
    }
    fv_buf_printf(b, "{\"arg\":{\"channel\":\"candle%s\",\"instId\":\"%s\"},\"data\":[[",
                  BARS[bar].name, y->inst);
    put_istr(b, open);
    {
        /* o h l c vol volCcy (derivatives: base, contracts / 100; spot: quote) volCcyQuote */
        int64_t quote = vol * (o + c) / 2, v[7] = {o, h, l, c, vol, quote, quote};
        int sc[7] = {y->sp.td,           y->sp.td, y->sp.td,
                     y->sp.td,           y->sp.qd, y->sp.qd + y->sp.td,
                     y->sp.qd + y->sp.td};

        if (y->swap || y->fut) {
            v[5] = vol;
            sc[5] = y->sp.qd + 2;
        }
        for (int i = 0; i < 7; i++) {
            fv_buf_append(b, ",", 1);
            put_dec(b, v[i], sc[i]);
        }
    }
    fv_buf_printf(b, ",\"%s\"]]}", now >= next ? "1" : "0");
}

/* ---- delivery ---- */

/* The stream id of channel ch (bar: candles) of y, named "channel:instId" for --fault-mute and
 * --fault-corrupt to match by its end; -1 (no lookup) when neither is given. */
static int chan_sid(const struct okx_market *m, const struct osym *y, int ch, int bar)
{
    const struct fv_faults *f = &m->s->o->f;
    char key[96];
    int n;

    if (!f->mute && !f->corrupt)
        return -1;
    n = snprintf(key, sizeof(key), "%s%s:%s", CH_NAMES[ch], ch == OKXV_CANDLE ? BARS[bar].name : "",
                 y->inst);
    return streams_intern(&m->s->streams, key, (size_t)n);
}

/* Sends the message in m->msg to every subscription (sym, ch, bar) of every connection. */
static void deliver(struct okx_market *m, int sym, int ch, int bar)
{
    int sid = chan_sid(m, m->syms[sym], ch, bar);

    for (struct fv_peer *p = m->s->peers; p; p = p->next) {
        struct okx_peer *x = okxv_peer(p);

        for (size_t i = 0; x && i < x->nsubs; i++) {
            const struct okxv_sub *u = &x->subs[i];

            if (u->sym == sym && u->ch == ch && u->bar == bar) {
                fault_send_data(p, sid, m->msg.data, m->msg.len);
                break;
            }
        }
    }
}

/* True when fault f is due on connection p's books subscription u of y. */
static bool fault_due(const struct fv_okx_fault *f, bool done, const struct fv_peer *p,
                      const struct okxv_sub *u, const struct osym *y)
{
    return !done && p->faulted && f->inst[0] && strcmp(f->inst, y->inst) == 0 &&
           u->updates == (uint64_t)f->after;
}

/* The books update of the last event, with prevSeqId prev, to every books subscriber; the
 * book faults bend it for one connection. */
static void deliver_update(struct okx_market *m, int sym, int64_t prev)
{
    struct osym *y = m->syms[sym];
    const struct fv_okx_opts *oo = &m->s->o->okx;
    int32_t cs = oo->checksum_zero ? 0 : book_crc(y);
    struct fv_buf *b = &m->msg;
    int sid = chan_sid(m, y, OKXV_BOOKS, 0);

    b->len = 0;
    fmt_update(y, b, cs, prev);
    for (struct fv_peer *p = m->s->peers; p; p = p->next) {
        struct okx_peer *x = okxv_peer(p);

        for (size_t i = 0; x && i < x->nsubs; i++) {
            struct okxv_sub *u = &x->subs[i];
            struct fv_buf *alt = &m->s->scratch;

            if (u->sym != sym || u->ch != OKXV_BOOKS)
                continue;
            if (fault_due(&oo->seq, m->seq_done, p, u, y)) {
                m->seq_done = true;
                alt->len = 0;
                fmt_update(y, alt, cs, prev - 1);
                fv_log("conn %u fault seq-break %s %" PRId64, p->id, y->inst, prev - 1);
                m->s->stats.faults++;
                fault_send_data(p, -1, alt->data, alt->len);
            } else if (fault_due(&oo->bad_cs, m->cs_done, p, u, y)) {
                m->cs_done = true;
                alt->len = 0;
                fmt_update(y, alt, cs + 1 ? cs + 1 : 1, prev);
                fv_log("conn %u fault bad-checksum %s", p->id, y->inst);
                m->s->stats.faults++;
                fault_send_data(p, -1, alt->data, alt->len);
            } else {
                fault_send_data(p, sid, b->data, b->len);
            }
            u->updates++;
            m->s->stats.book++;
            break;
        }
    }
}

/* One market event of instrument sym and the messages it makes. */
static void event(struct okx_market *m, int sym, int64_t now)
{
    struct osym *y = m->syms[sym];
    int64_t prev = y->seq, tid = y->trade_id;
    struct fv_buf *b = &m->msg;

    book_event(y, now);
    if (y->nchg)
        y->seq += 1 + (int64_t)(rng_next(&y->rng) % 90);
    deliver_update(m, sym, prev);
    b->len = 0;
    fmt_books5(y, b);
    deliver(m, sym, OKXV_BOOKS5, 0);
    b->len = 0;
    fmt_bbo(y, b);
    deliver(m, sym, OKXV_BBO, 0);
    if (y->trade_id != tid) {
        b->len = 0;
        fmt_trade(y, b, y->last_px == y->asks.v[0].px);
        deliver(m, sym, OKXV_TRADES, 0);
    }
    b->len = 0;
    fmt_ticker(y, b);
    deliver(m, sym, OKXV_TICKERS, 0);
}

/* The timed channels of instrument sym: mark-price, funding-rate, candles. */
static void timed(struct okx_market *m, int sym, uint64_t now_loop, int64_t now)
{
    struct osym *y = m->syms[sym];
    struct fv_buf *b = &m->msg;

    if (now_loop - y->mark_ms >= OKM_MARK_MS) {
        y->mark_ms = now_loop;
        b->len = 0;
        fmt_mark(y, b, now);
        deliver(m, sym, OKXV_MARK, 0);
    }
    if (y->swap && now_loop - y->fund_ms >= OKM_FUND_MS) {
        y->fund_ms = now_loop;
        b->len = 0;
        fmt_funding(y, b, now);
        deliver(m, sym, OKXV_FUNDING, 0);
    }
    for (int k = 0; k < (int)NBARS; k++) {
        int64_t next, open;

        if (!y->bar_subs[k])
            continue;
        open = bar_open(m->s, k, now, &next);
        if (y->bar_open[k] && y->bar_open[k] != open) {
            int64_t onext;
            int64_t oopen = bar_open(m->s, k, y->bar_open[k], &onext);

            b->len = 0;
            fmt_candle(m, y, k, oopen, onext, onext, b); /* closed: confirm "1" */
            deliver(m, sym, OKXV_CANDLE, k);
            y->bar_push[k] = 0;
        } else if (now_loop - y->bar_push[k] < OKM_CANDLE_MS) {
            continue;
        }
        y->bar_open[k] = open;
        y->bar_push[k] = now_loop;
        b->len = 0;
        fmt_candle(m, y, k, open, next, now, b);
        deliver(m, sym, OKXV_CANDLE, k);
        m->s->stats.candles++;
    }
}

/* See okxv.h. */
void okxv_attach(struct fv_server *s, struct fv_peer *p, struct okxv_sub *u)
{
    struct okx_market *m = s->okx;
    struct osym *y = m->syms[u->sym];
    struct fv_buf *b = &m->msg;
    int64_t now = fv_wall_ms(), next, open;

    y->nsubs++;
    b->len = 0;
    if (u->ch == OKXV_MARK)
        y->mark_ms = fv_now_ms(s); /* the next push after the cadence */
    else if (u->ch == OKXV_FUNDING)
        y->fund_ms = fv_now_ms(s);
    u->updates = 0;
    switch (u->ch) {
    case OKXV_BOOKS:
        fmt_snapshot(m, y, b);
        s->stats.snapshots++;
        break;
    case OKXV_BOOKS5:
        fmt_books5(y, b);
        break;
    case OKXV_BBO:
        fmt_bbo(y, b);
        break;
    case OKXV_TICKERS:
        fmt_ticker(y, b);
        break;
    case OKXV_MARK:
        fmt_mark(y, b, now);
        break;
    case OKXV_FUNDING:
        fmt_funding(y, b, now);
        break;
    case OKXV_CANDLE:
        if (!y->bar_subs[u->bar]++) {
            y->bar_open[u->bar] = 0;
            y->bar_push[u->bar] = fv_now_ms(s);
        }
        open = bar_open(s, u->bar, now, &next);
        fmt_candle(m, y, u->bar, open, next, now, b);
        break;
    default:
        return; /* trades: from the next trade on */
    }
    fault_send_data(p, chan_sid(m, y, u->ch, u->bar), b->data, b->len);
}

/* See okxv.h. */
void okxv_detach(struct fv_server *s, const struct okxv_sub *u)
{
    struct osym *y = s->okx ? s->okx->syms[u->sym] : NULL;

    if (!y)
        return;
    y->nsubs--;
    if (u->ch == OKXV_CANDLE)
        y->bar_subs[u->bar]--;
}

static void on_timer(uv_timer_t *t)
{
    struct okx_market *m = t->data;
    uint64_t now_loop = fv_now_ms(m->s), due = 0;
    int64_t now = fv_wall_ms();
    bool any = m->pace.base_ms != 0;

    /* The pace (and --market-events) counts from the first subscription on. */
    for (size_t i = 0; i < m->nsyms && !any; i++)
        any = m->syms[i]->nsubs != 0;
    if (any)
        due = fv_market_due(m->s->o, &m->pace, now_loop);
    for (; m->pace.sent < due; m->pace.sent++)
        for (size_t i = 0; i < m->nsyms; i++)
            if (m->syms[i]->nsubs)
                event(m, (int)i, now);
    for (size_t i = 0; i < m->nsyms; i++)
        if (m->syms[i]->nsubs)
            timed(m, (int)i, now_loop, now);
    for (struct fv_peer *p = m->s->peers; p; p = p->next)
        if (okxv_peer(p))
            peer_flush(p);
}

/* See okxv.h. */
int fvokx_init(struct fv_server *s)
{
    struct okx_market *m = fv_xcalloc(1, sizeof(*m));

    m->s = s;
    s->okx = m;
    m->tick_ms = fv_market_tick_ms(s->o, OKM_TICK_MAX);
    uv_timer_init(s->loop, &m->timer);
    m->timer.data = m;
    uv_timer_start(&m->timer, on_timer, m->tick_ms, m->tick_ms);
    return 0;
}

static void on_closed(uv_handle_t *h)
{
    (void)h;
}

/* See okxv.h. */
void fvokx_stop(struct fv_server *s)
{
    struct okx_market *m = s->okx;

    if (m && !uv_is_closing((uv_handle_t *)&m->timer))
        uv_close((uv_handle_t *)&m->timer, on_closed);
}

/* See okxv.h. */
void fvokx_fini(struct fv_server *s)
{
    struct okx_market *m = s->okx;

    if (!m)
        return;
    for (size_t i = 0; i < m->nsyms; i++)
        free(m->syms[i]);
    fv_buf_free(&m->msg);
    free(m);
    s->okx = NULL;
}
