/*
 * The Bitfinex venue's synthetic market: one market shared by every connection, with a book,
 * trades, a ticker and candles for any pair a client subscribes to (created on first use, a
 * pure function of the pair's name and --seed), and the channel generators that turn it into
 * Bitfinex messages.
 *
 * The book: 300 P0 levels a side (price units of 10^-pscale so that one unit is the fifth
 * significant digit, as the venue's P0; an order count and an amount in 10^-8 units per level)
 * around a mid that drifts along the pair's price path (candle.c's candle_price()). Book events
 * (a trade against the best level, an amount or order-count change near the top, a new best
 * level inside the spread, a cancelled best level) happen --market-rate times a second per pair
 * with a subscriber, or flat out under FV_WATERMARK backpressure with --market-rate max.
 *
 * A generator per distinct subscription (pair and channel parameters) builds each message once
 * and hands it to every subscribed channel, so all connections see the same data; only the
 * channel id and the trailing timestamp and sequence number differ (bitfinex.c). A book
 * generator keeps the view it has sent: the top `len` levels a side at its precision (P1..P4
 * aggregate 10^k price units into one level, bids rounded down and asks up). After each book
 * event (F0) or every 2 s (F1) it sends the view's changes, one [PRICE,COUNT,AMOUNT] message a
 * level (COUNT 0 and AMOUNT 1 or -1 for a level that left the view, also when it only fell
 * beyond `len`), then one cs message: the CRC-32 of the view's top 25 bids and asks interleaved,
 * printed as JavaScript prints numbers (bfx_js_num()). So a client that applies every update has
 * exactly the venue's view, and the checksum holds it to that.
 *
 * Numbers are exact decimals kept as integers and printed in JavaScript's form (0.5, not 0.50;
 * 1.2e-7 below 1e-6), as JSON numbers or, with DEC_S, as strings of the same text. Amounts are
 * chosen to exercise that: round values, small ones like 0.00001234, now and then a few units of
 * 10^-8. Prices of some pairs sit below 1e-6 too.
 *
 * Candles are a pure function of (pair, timeframe, open time, now) like candle.c's: the open
 * candle shows the part of its path that has passed; at the next open time the old candle is
 * sent once with its final values, then the new one. --bfx-minute-ms shrinks every timeframe
 * for tests. Nothing here logs per message.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zlib.h>

#include "fv.h"

#define BFX_LEVELS 300       /* P0 levels a side */
#define BFX_CAP 320          /* room for insertions before the far levels go */
#define BFX_CS_DEPTH 25      /* levels a side in the checksum */
#define BFX_TRADES_SNAP 30   /* trades in a trades snapshot */
#define BFX_CANDLES_SNAP 240 /* candles in a candles snapshot */
#define BFX_TICK_MAX_MS 10   /* the timer's longest period */
#define BFX_BATCH 64         /* events per pair per idle turn when flat out */
#define BFX_F1_MS 2000       /* F1 book cadence */
#define BFX_TICKER_MS 1000   /* ticker cadence */
#define BFX_CHG_MAX 64       /* changed levels noted per event before a full rebuild */
#define AMT_SCALE 8          /* amounts are integers of 10^-8 */
#define DAY_MS INT64_C(86400000)

/* One P0 level. */
struct lvl {
    int64_t px;  /* price, units of 10^-pscale */
    int64_t amt; /* amount, 10^-8 units (> 0) */
    int32_t cnt; /* orders (> 0) */
};

/* One side of the P0 book, best first. */
struct side {
    struct lvl v[BFX_CAP]; /* levels */
    int n;                 /* used */
    bool bid;              /* bids: descending prices; asks: ascending */
};

/* One level of a view (aggregated at the generator's precision). */
struct agg {
    int64_t px;  /* bucket price, units */
    int64_t cnt; /* orders */
    int64_t amt; /* amount, 10^-8 units (> 0) */
};

/* One side of a view: the top `len` aggregated levels, best first. */
struct view {
    struct agg *v; /* len + 1 entries */
    int n;         /* used */
};

/* One change of a view to send. */
struct upd {
    int64_t px, cnt, amt; /* cnt 0: the level left */
    bool bid;             /* side */
};

/* One trade. */
struct trade {
    int64_t id;      /* venue-wide id */
    int64_t mts;     /* time, Unix ms */
    int64_t amt;     /* signed amount (> 0 buy) */
    int64_t px;      /* price, units */
    uint64_t tu_due; /* loop time its tu is due */
};

/* One candle. */
struct candle {
    int64_t mts, o, c, h, l, v; /* open time, prices (units), volume (10^-8) */
};

/* One channel attached to a generator. */
struct sub {
    struct fv_peer *p; /* the connection */
    int32_t chan;      /* its chanId */
    uint64_t last_ms;  /* loop time of the last message on it (heartbeats) */
    uint64_t updates;  /* book updates sent on it (book faults count these) */
};

/* One generator: a distinct subscription. */
struct gen {
    struct bfx_spec spec; /* what it makes */
    int sym;              /* pair index */
    struct sub *subs;     /* attached channels */
    size_t nsubs, cap;    /* used, allocated */
    int64_t w;            /* book: bucket width, units (10^prec) */
    struct view vb, va;   /* book: the view as sent */
    bool live;            /* book: view built and maintained (has subscribers) */
    uint64_t due_ms;      /* F1, ticker, candles: loop time of the next look */
    int64_t open_ms;      /* candles: open time of the candle in progress */
    struct candle last;   /* candles: values last sent */
    int64_t tk[10];       /* ticker: values last sent */
};

/* One pair. */
struct sym {
    char name[32];                        /* "tBTCUSD" */
    struct fv_symparams sp;               /* hash, price path (base in units) */
    int pscale;                           /* price decimals */
    struct side bid, ask;                 /* the P0 book */
    uint64_t rng;                         /* xorshift state */
    int64_t trade_id;                     /* last trade id */
    struct trade recent[BFX_TRADES_SNAP]; /* the last trades, a ring */
    size_t nrecent, rhead;                /* filled, next slot */
    struct trade *tuq;                    /* trades whose tu is pending, a ring */
    size_t tu_head, tu_n, tu_cap;         /* ring indices, allocated */
    struct trade ev[3];                   /* trades of the current event */
    int nev;                              /* count */
    int64_t last_px;                      /* last trade price (0 before the first) */
    int64_t vol;                          /* traded amount since start, 10^-8 */
    int64_t hi, lo;                       /* traded price extremes (0 = none) */
    int64_t target;                       /* the price path now (cached per 100 ms) */
    int64_t target_slot;                  /* which 100 ms the cache holds */
    int *gens;                            /* its generators */
    size_t ngens, capgens;                /* used, allocated */
    int64_t chg[BFX_CHG_MAX];             /* P0 prices changed by the current event (<<1 | bid) */
    int nchg;                             /* used */
    bool chg_all;                         /* too many: rebuild views */
};

struct bfx_market {
    struct fv_server *s;   /* owner */
    struct sym **syms;     /* pairs, in order of first use */
    size_t nsyms, capsyms; /* used, allocated */
    struct gen **gens;     /* generators */
    size_t ngens, capgens; /* used, allocated */
    uv_timer_t timer;      /* paced events and every periodic message */
    uv_idle_t idle;        /* flat-out events */
    bool idle_on;          /* idle running */
    unsigned tick_ms;      /* timer period */
    struct fv_pace pace;   /* paced event rounds */
    struct fv_buf body[2]; /* the message being built: numbers, strings (DEC_S) */
    struct fv_buf alt;     /* a faulted variant of it */
    struct upd *upd;       /* a generator's changes of one round */
    size_t nupd, capupd;   /* used, allocated */
    struct agg *tmp[2];    /* view rebuild scratch (bids, asks) */
    size_t tmpcap;         /* their capacity */
    bool cs_fault_done;    /* --bfx-bad-checksum fired */
    bool lvl_fault_done;   /* --bfx-bad-level fired */
};

/* ---- numbers ---- */

/* See fv.h. The value's digits without trailing zeros, laid out by the rules of ECMAScript's
 * Number::toString: an integer up to 21 digits, a fraction down to 1e-6, otherwise d.ddde-N. An
 * exact decimal of at most 15 significant digits is what the shortest round-trip form of its
 * double is, so this is the text JavaScript prints. */
int bfx_js_num(char *out, int64_t v, int scale)
{
    char dig[24];
    uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    int k = 0, z = 0, n;
    char *o = out;

    if (!a) {
        out[0] = '0';
        out[1] = '\0';
        return 1;
    }
    if (v < 0)
        *o++ = '-';
    while (a % 10 == 0) {
        a /= 10;
        z++;
    }
    for (uint64_t t = a; t; t /= 10)
        k++;
    for (int i = k - 1; i >= 0; i--, a /= 10)
        dig[i] = (char)('0' + a % 10);
    n = k + z - scale; /* the value is 0.DIGITS x 10^n */
    if (k <= n && n <= 21) {
        memcpy(o, dig, (size_t)k);
        o += k;
        memset(o, '0', (size_t)(n - k));
        o += n - k;
    } else if (0 < n && n <= 21) {
        memcpy(o, dig, (size_t)n);
        o += n;
        *o++ = '.';
        memcpy(o, dig + n, (size_t)(k - n));
        o += k - n;
    } else if (-6 < n && n <= 0) {
        *o++ = '0';
        *o++ = '.';
        memset(o, '0', (size_t)-n);
        o += -n;
        memcpy(o, dig, (size_t)k);
        o += k;
    } else {
        int e = n - 1;

        *o++ = dig[0];
        if (k > 1) {
            *o++ = '.';
            memcpy(o, dig + 1, (size_t)(k - 1));
            o += k - 1;
        }
        *o++ = 'e';
        *o++ = e < 0 ? '-' : '+';
        o += sprintf(o, "%d", e < 0 ? -e : e);
    }
    *o = '\0';
    return (int)(o - out);
}

/* Appends a decimal as a JSON number or (DEC_S) a string of the same text. */
static void put_num(struct fv_buf *b, bool str, int64_t v, int scale)
{
    char t[48];
    int n = bfx_js_num(t, v, scale);

    fv_buf_reserve(b, (size_t)n + 2);
    if (str)
        b->data[b->len++] = '"';
    memcpy(b->data + b->len, t, (size_t)n);
    b->len += (size_t)n;
    if (str)
        b->data[b->len++] = '"';
}

/* Appends an integer. */
static void put_int(struct fv_buf *b, int64_t v)
{
    char t[24];
    uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    int n = 0;

    do {
        t[sizeof(t) - 1 - n++] = (char)('0' + a % 10);
        a /= 10;
    } while (a);
    if (v < 0)
        t[sizeof(t) - 1 - n++] = '-';
    fv_buf_append(b, t + sizeof(t) - n, (size_t)n);
}

/* Appends a literal. */
#define PUT(b, lit) fv_buf_append((b), (lit), sizeof(lit) - 1)

/* ---- timeframes ---- */

/* The candle timeframes (src/venue/README.md 3.2), in minutes; 0 = a calendar month. */
static const struct {
    const char *name; /* as in the key */
    int64_t min;      /* length in minutes */
} TFS[] = {
    {"1m", 1},   {"5m", 5},    {"15m", 15},  {"30m", 30},   {"1h", 60},     {"3h", 180},
    {"6h", 360}, {"12h", 720}, {"1D", 1440}, {"1W", 10080}, {"14D", 20160}, {"1M", 0},
};
#define TF_1W 9
#define TF_COUNT 12

/* See fv.h. "7D", an older name of 1W, is accepted too. */
int bfx_tf(const char *name, size_t len)
{
    if (len == 2 && memcmp(name, "7D", 2) == 0)
        return TF_1W;
    for (int i = 0; i < TF_COUNT; i++)
        if (strlen(TFS[i].name) == len && memcmp(TFS[i].name, name, len) == 0)
            return i;
    return -1;
}

/* Length of timeframe tf in ms (scaled by --bfx-minute-ms; a month counts 30 days when scaled). */
static int64_t tf_len(const struct bfx_market *m, int tf)
{
    int64_t min = TFS[tf].min ? TFS[tf].min : 43200;

    return min * m->s->o->bfx.minute_ms;
}

/* True when tf is a calendar month (only at the real minute). */
static bool tf_calendar(const struct bfx_market *m, int tf)
{
    return TFS[tf].min == 0 && m->s->o->bfx.minute_ms == 60000;
}

/* Floor division. */
static int64_t fdiv(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* Open time of the candle of tf that contains t. Weeks start on Mondays (1970-01-05). */
static int64_t tf_open(const struct bfx_market *m, int tf, int64_t t)
{
    int64_t len = tf_len(m, tf), off = 0;

    if (tf_calendar(m, tf)) {
        time_t sec = (time_t)fdiv(t, 1000);
        struct tm tm;

        gmtime_r(&sec, &tm);
        tm.tm_mday = 1;
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        return (int64_t)timegm(&tm) * 1000;
    }
    if (TFS[tf].min >= 10080)
        off = 4 * 1440 * m->s->o->bfx.minute_ms;
    return fdiv(t - off, len) * len + off;
}

/* Open time of the candle after (delta 1) or before (delta -1) the one opening at open. */
static int64_t tf_step(const struct bfx_market *m, int tf, int64_t open, int delta)
{
    if (tf_calendar(m, tf)) {
        time_t sec = (time_t)(open / 1000);
        struct tm tm;

        gmtime_r(&sec, &tm);
        tm.tm_mon += delta;
        tm.tm_mday = 1;
        return (int64_t)timegm(&tm) * 1000;
    }
    return open + delta * tf_len(m, tf);
}

/* splitmix64. */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* The candle of (pair, tf, open) as seen at now: the path sampled on 61 points from open to the
 * next open, those passed so far; volume in proportion. A pure function of its arguments. */
static void candle_at(const struct bfx_market *m, const struct sym *y, int tf, int64_t open,
                      int64_t now, struct candle *c)
{
    int64_t next = tf_step(m, tf, open, 1), span = next - open;
    uint64_t h = mix(y->sp.h ^ (uint64_t)open * 31 ^ (uint64_t)tf);
    int j, seen = 0;

    c->mts = open;
    c->o = c->h = c->l = c->c = candle_price(&y->sp, open);
    for (j = 1; j <= 60; j++) {
        int64_t t = open + span * j / 60, px;

        if (t > now)
            break;
        px = candle_price(&y->sp, t);
        c->c = px;
        if (px > c->h)
            c->h = px;
        if (px < c->l)
            c->l = px;
        seen = j;
    }
    /* 0.01 to 100 units over the candle, now and then with fewer digits. */
    c->v = (int64_t)(1000000 + h % 10000000000ull);
    if ((h >> 40) % 4 == 0)
        c->v -= c->v % 1000000;
    c->v = c->v / 60 * seen;
}

/* ---- the pairs ---- */

/* xorshift64. */
static uint64_t rng_next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* A random level amount: mostly 0.001 to 50 with 8 decimals, often a round value, sometimes
 * small (0.00001 to 0.0001), now and then 1 to 99 units of 10^-8 (below 1e-6). */
static int64_t rand_amt(struct sym *y)
{
    static const int64_t ROUND[] = {50000000,   100000000, 250000000, 25000000,
                                    1000000000, 10000000,  120000000, 300000000};
    uint64_t r = rng_next(&y->rng);
    unsigned k = (unsigned)(r % 100);

    if (k < 3)
        return 1 + (int64_t)((r >> 8) % 99);
    if (k < 10)
        return 1000 + (int64_t)((r >> 8) % 9000);
    if (k < 30)
        return ROUND[(r >> 8) % 8];
    return 100000 + (int64_t)((r >> 8) % 5000000000ull);
}

/* A random order count: 1 to 6. */
static int32_t rand_cnt(struct sym *y)
{
    return 1 + (int32_t)(rng_next(&y->rng) % 6);
}

/* The price path now (cached for 100 ms: it moves slowly). */
static int64_t target(struct sym *y, int64_t now)
{
    if (now / 100 != y->target_slot) {
        y->target_slot = now / 100;
        y->target = candle_price(&y->sp, now);
    }
    return y->target;
}

/* Notes that P0 level px of side sd changed in the current event. */
static void note(struct sym *y, const struct side *sd, int64_t px)
{
    if (y->nchg == BFX_CHG_MAX) {
        y->chg_all = true;
        return;
    }
    y->chg[y->nchg++] = (int64_t)((uint64_t)px << 1) | (sd->bid ? 1 : 0);
}

/* Removes level i of sd. */
static void remove_at(struct sym *y, struct side *sd, int i)
{
    note(y, sd, sd->v[i].px);
    memmove(sd->v + i, sd->v + i + 1, (size_t)(sd->n - i - 1) * sizeof(sd->v[0]));
    sd->n--;
}

/* Inserts a level at index i of sd (the caller keeps the order). */
static void insert_at(struct sym *y, struct side *sd, int i, int64_t px)
{
    memmove(sd->v + i + 1, sd->v + i, (size_t)(sd->n - i) * sizeof(sd->v[0]));
    sd->v[i].px = px;
    sd->v[i].amt = rand_amt(y);
    sd->v[i].cnt = rand_cnt(y);
    sd->n++;
    note(y, sd, px);
}

/* Brings sd back to BFX_LEVELS levels: new ones beyond the far end, or the far ones removed.
 * Gaps are 1 to 3 units near the top and wider further out, so the book reaches about a fifth
 * of the price away and every precision has several levels. */
static void rebalance(struct sym *y, struct side *sd)
{
    int64_t wide = 1 + 2 * (y->sp.base / 5) / BFX_LEVELS;

    while (sd->n > BFX_LEVELS)
        remove_at(y, sd, sd->n - 1);
    while (sd->n < BFX_LEVELS && sd->n > 0) {
        uint64_t r = rng_next(&y->rng);
        int64_t gap = 1 + (int64_t)(r % (sd->n < 25 ? 3 : (uint64_t)wide));
        int64_t px = sd->v[sd->n - 1].px + (sd->bid ? -gap : gap);

        if (px <= 0)
            break;
        insert_at(y, sd, sd->n, px);
    }
}

/* The pair named name, created on first use: its price class (the decade of its prices, some
 * below 1e-6), its path and a book around the path now. */
static int sym_get(struct bfx_market *m, const char *name)
{
    static const int EXP[16] = {4, 4, 4, 3, 3, 3, 2, 2, 1, 1, 0, -1, -2, -3, -5, -7};
    struct sym *y;
    int64_t now = fv_wall_ms(), mid;

    for (size_t i = 0; i < m->nsyms; i++)
        if (strcmp(m->syms[i]->name, name) == 0)
            return (int)i;
    if (m->nsyms == m->capsyms) {
        m->capsyms = m->capsyms ? m->capsyms * 2 : 16;
        m->syms = realloc(m->syms, m->capsyms * sizeof(*m->syms));
        if (!m->syms)
            abort();
    }
    y = fv_xcalloc(1, sizeof(*y));
    snprintf(y->name, sizeof(y->name), "%s", name);
    candle_params(&y->sp, name, false);
    y->pscale = 4 - EXP[(y->sp.h >> 40) % 16];
    y->sp.base = 15000 + (int64_t)((y->sp.h >> 8) % 70001);
    y->rng = (m->s->o->seed ^ y->sp.h) | 1;
    y->trade_id = now * 1000 + (int64_t)(y->sp.h % 1000);
    y->target_slot = -1;
    mid = target(y, now);
    y->bid.bid = true;
    y->bid.n = 1;
    y->bid.v[0] = (struct lvl){.px = mid, .amt = rand_amt(y), .cnt = rand_cnt(y)};
    y->ask.n = 1;
    y->ask.v[0] = (struct lvl){
        .px = mid + 1 + (int64_t)(rng_next(&y->rng) % 3), .amt = rand_amt(y), .cnt = rand_cnt(y)};
    rebalance(y, &y->bid);
    rebalance(y, &y->ask);
    /* A minute of past trades around the mid, so the first trades snapshot is not empty. */
    for (int k = 0; k < BFX_TRADES_SNAP; k++) {
        uint64_t r = rng_next(&y->rng);
        struct trade *t = &y->recent[k];

        t->id = ++y->trade_id;
        t->mts = now - (BFX_TRADES_SNAP - k) * 2000;
        t->amt = (r & 1 ? 1 : -1) * rand_amt(y);
        t->px = r & 1 ? y->ask.v[0].px : y->bid.v[0].px;
    }
    y->nrecent = BFX_TRADES_SNAP;
    y->nchg = 0;
    y->chg_all = false;
    m->syms[m->nsyms] = y;
    return (int)m->nsyms++;
}

/* A taker order against the best level of the other side: 1 to 3 fills at its price. */
static void trade(struct sym *y, int64_t now, bool buy, uint64_t r)
{
    struct side *sd = buy ? &y->ask : &y->bid;
    struct lvl *lv = &sd->v[0];
    int64_t px = lv->px, qty, fills;

    if ((r >> 16) % 10 < 3 || lv->amt < 2)
        qty = lv->amt;
    else
        qty = 1 + (int64_t)((r >> 20) % (uint64_t)(lv->amt - 1));
    fills = 1 + (int64_t)((r >> 44) % 3);
    if (fills > qty)
        fills = qty;
    if (qty == lv->amt) {
        remove_at(y, sd, 0);
        rebalance(y, sd);
    } else {
        lv->amt -= qty;
        if (lv->cnt > 1 && (r >> 50) & 1)
            lv->cnt--;
        note(y, sd, px);
    }
    y->nev = 0;
    for (int64_t k = 0; k < fills; k++) {
        struct trade *t = &y->ev[y->nev++];
        int64_t a = qty / fills + (k == fills - 1 ? qty % fills : 0);

        t->id = ++y->trade_id;
        t->mts = now;
        t->amt = buy ? a : -a;
        t->px = px;
        y->recent[y->rhead] = *t;
        y->rhead = (y->rhead + 1) % BFX_TRADES_SNAP;
        if (y->nrecent < BFX_TRADES_SNAP)
            y->nrecent++;
    }
    y->last_px = px;
    y->vol += qty;
    if (!y->hi || px > y->hi)
        y->hi = px;
    if (!y->lo || px < y->lo)
        y->lo = px;
}

/* True when price a is better than b on the side. */
static bool better(bool bid, int64_t a, int64_t b)
{
    return bid ? a > b : a < b;
}

/* Index of the first P0 level of sd that is not better than px. */
static int first_not_better(const struct side *sd, int64_t px)
{
    int lo = 0, hi = sd->n;

    while (lo < hi) {
        int mid = (lo + hi) / 2;

        if (better(sd->bid, sd->v[mid].px, px))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* A new level behind the best of sd, 1 to 20 units deeper, where there is none yet (levels
 * come and go near the top, so the top never thins out). */
static void add_near_top(struct sym *y, struct side *sd, uint64_t r)
{
    int64_t px = sd->v[0].px + (sd->bid ? -1 : 1) * (1 + (int64_t)(r % 20));
    int i = first_not_better(sd, px);

    if (px <= 0 || (i < sd->n && sd->v[i].px == px))
        return;
    insert_at(y, sd, i, px);
    rebalance(y, sd);
}

/* An empty side (prices reached 0) starts again next to the other one. */
static void reseed(struct sym *y, struct side *sd, const struct side *other)
{
    int64_t px = other->v[0].px + (sd->bid ? -1 : 1);

    if (px <= 0)
        px = 1;
    insert_at(y, sd, 0, px);
    rebalance(y, sd);
}

/* One book event. The side is chosen towards the price path 7 times in 10, so the mid follows
 * it loosely; levels appear near the top as often as trades and cancels take them away. */
static void book_event(struct sym *y, int64_t now)
{
    uint64_t r = rng_next(&y->rng);
    unsigned roll = (unsigned)(r % 100);
    struct lvl b0, a0;
    bool down, dn;

    if (!y->bid.n)
        reseed(y, &y->bid, &y->ask);
    if (!y->ask.n)
        reseed(y, &y->ask, &y->bid);
    b0 = y->bid.v[0];
    a0 = y->ask.v[0];
    down = b0.px + a0.px > 2 * target(y, now);
    dn = (r >> 8) % 10 < 7 ? down : !down;
    y->nev = 0;
    if (a0.px - b0.px > 20 && roll >= 30)
        roll = 30; /* a wide spread closes first */
    if (roll < 30) {
        trade(y, now, !dn, r);
    } else if (roll < 42 && a0.px - b0.px >= 2) {
        /* A new best level inside the spread; the far level of that side goes. */
        struct side *sd = dn ? &y->ask : &y->bid;
        int64_t in = 1 + (int64_t)((r >> 24) % (uint64_t)(a0.px - b0.px - 1));

        insert_at(y, sd, 0, dn ? a0.px - in : b0.px + in);
        rebalance(y, sd);
    } else if (roll < 50 && y->bid.n > 1 && y->ask.n > 1) {
        /* The best level is cancelled; a new one appears at the far end. */
        struct side *sd = dn ? &y->bid : &y->ask;

        remove_at(y, sd, 0);
        rebalance(y, sd);
    } else if (roll < 65) {
        add_near_top(y, (r >> 28) & 1 ? &y->bid : &y->ask, r >> 32);
    } else {
        /* An order joins or leaves a level, mostly near the top. */
        struct side *sd = (r >> 28) & 1 ? &y->bid : &y->ask;
        int span = (r >> 30) % 10 < 7 && sd->n > 20 ? 20 : sd->n;
        struct lvl *lv = &sd->v[(r >> 36) % (uint64_t)span];

        if (roll < 80 && lv->cnt > 1) {
            lv->cnt--;
            lv->amt = lv->amt > 1 ? lv->amt - 1 - (int64_t)((r >> 44) % (uint64_t)(lv->amt - 1))
                                  : lv->amt;
        } else if (roll < 90) {
            lv->cnt++;
            lv->amt += rand_amt(y);
        } else {
            lv->amt = rand_amt(y);
        }
        note(y, sd, lv->px);
    }
}

/* ---- views ---- */

/* The bucket of P0 price px at width w: bids round down, asks up. */
static int64_t bucket(int64_t px, int64_t w, bool bid)
{
    return bid ? px / w * w : (px + w - 1) / w * w;
}

/* The aggregate of bucket b (width w) of sd; cnt 0 when it is empty. */
static struct agg bucket_agg(const struct side *sd, int64_t b, int64_t w)
{
    struct agg a = {.px = b};
    int64_t lo = sd->bid ? b : b - w + 1, hi = sd->bid ? b + w - 1 : b;

    for (int i = first_not_better(sd, sd->bid ? hi : lo); i < sd->n; i++) {
        if (sd->v[i].px < lo || sd->v[i].px > hi)
            break;
        a.cnt += sd->v[i].cnt;
        a.amt += sd->v[i].amt;
    }
    return a;
}

/* Builds the top len buckets of sd into out. Returns the count. */
static int build_side(const struct side *sd, int64_t w, int len, struct agg *out)
{
    int n = 0;

    for (int i = 0; i < sd->n; i++) {
        int64_t b = bucket(sd->v[i].px, w, sd->bid);

        if (n && out[n - 1].px == b) {
            out[n - 1].cnt += sd->v[i].cnt;
            out[n - 1].amt += sd->v[i].amt;
            continue;
        }
        if (n == len)
            break;
        out[n++] = (struct agg){.px = b, .cnt = sd->v[i].cnt, .amt = sd->v[i].amt};
    }
    return n;
}

/* Queues one change of a view. */
static void emit(struct bfx_market *m, bool bid, int64_t px, int64_t cnt, int64_t amt)
{
    if (m->nupd == m->capupd) {
        m->capupd = m->capupd ? m->capupd * 2 : 256;
        m->upd = realloc(m->upd, m->capupd * sizeof(*m->upd));
        if (!m->upd)
            abort();
    }
    m->upd[m->nupd++] = (struct upd){.px = px, .cnt = cnt, .amt = amt, .bid = bid};
}

/* Index of bucket b in view vw (found) or where it would go. */
static int view_find(const struct view *vw, bool bid, int64_t b, bool *found)
{
    int lo = 0, hi = vw->n;

    while (lo < hi) {
        int mid = (lo + hi) / 2;

        if (vw->v[mid].px == b) {
            *found = true;
            return mid;
        }
        if (better(bid, vw->v[mid].px, b))
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

/* Appends the buckets after the view's last one until it has len levels or the side ends. */
static void view_refill(struct bfx_market *m, struct gen *g, const struct side *sd, struct view *vw)
{
    while (vw->n < g->spec.len) {
        int i = vw->n ? first_not_better(sd, vw->v[vw->n - 1].px + (sd->bid ? -1 : 1)) : 0;
        struct agg a;

        if (i >= sd->n)
            break;
        a = bucket_agg(sd, bucket(sd->v[i].px, g->w, sd->bid), g->w);
        if (!a.cnt)
            break;
        vw->v[vw->n++] = a;
        emit(m, sd->bid, a.px, a.cnt, a.amt);
    }
}

/* One changed P0 price px of sd: its bucket is recomputed and the view follows. */
static void view_apply(struct bfx_market *m, struct gen *g, const struct side *sd, struct view *vw,
                       int64_t px)
{
    int64_t b = bucket(px, g->w, sd->bid);
    struct agg a = bucket_agg(sd, b, g->w);
    bool found;
    int i = view_find(vw, sd->bid, b, &found);

    if (found) {
        if (!a.cnt) {
            memmove(vw->v + i, vw->v + i + 1, (size_t)(vw->n - i - 1) * sizeof(vw->v[0]));
            vw->n--;
            emit(m, sd->bid, b, 0, 0);
            view_refill(m, g, sd, vw);
        } else if (a.cnt != vw->v[i].cnt || a.amt != vw->v[i].amt) {
            vw->v[i] = a;
            emit(m, sd->bid, b, a.cnt, a.amt);
        }
    } else if (a.cnt && i < g->spec.len) {
        /* The level pushed beyond len leaves first, so the client never holds more than len. */
        if (vw->n == g->spec.len)
            emit(m, sd->bid, vw->v[--vw->n].px, 0, 0);
        memmove(vw->v + i + 1, vw->v + i, (size_t)(vw->n - i) * sizeof(vw->v[0]));
        vw->v[i] = a;
        vw->n++;
        emit(m, sd->bid, b, a.cnt, a.amt);
    }
}

/* Makes sure the rebuild scratch holds n levels. */
static void tmp_reserve(struct bfx_market *m, size_t n)
{
    if (m->tmpcap >= n)
        return;
    for (int k = 0; k < 2; k++) {
        free(m->tmp[k]);
        m->tmp[k] = fv_xcalloc(n, sizeof(struct agg));
    }
    m->tmpcap = n;
}

/* Rebuilds one side of the view from the book, queueing the differences. */
static void view_rebuild(struct bfx_market *m, struct gen *g, const struct side *sd,
                         struct view *vw, struct agg *nv)
{
    int n = build_side(sd, g->w, g->spec.len, nv);

    /* Two merges in price order: the levels that left first, then the new and changed ones,
     * so the client never holds more than len. */
    for (int pass = 0; pass < 2; pass++) {
        int i = 0, j = 0;

        while (i < vw->n || j < n) {
            if (j >= n || (i < vw->n && better(sd->bid, vw->v[i].px, nv[j].px))) {
                if (pass == 0)
                    emit(m, sd->bid, vw->v[i].px, 0, 0);
                i++;
            } else if (i >= vw->n || better(sd->bid, nv[j].px, vw->v[i].px)) {
                if (pass == 1)
                    emit(m, sd->bid, nv[j].px, nv[j].cnt, nv[j].amt);
                j++;
            } else {
                if (pass == 1 && (vw->v[i].cnt != nv[j].cnt || vw->v[i].amt != nv[j].amt))
                    emit(m, sd->bid, nv[j].px, nv[j].cnt, nv[j].amt);
                i++;
                j++;
            }
        }
    }
    memcpy(vw->v, nv, (size_t)n * sizeof(*nv));
    vw->n = n;
}

/* The checksum of a view: CRC-32 of its top 25 bids and asks interleaved (price, amount, asks
 * negative), printed as JavaScript prints them and joined with ':', as a signed 32-bit int. */
static int32_t view_crc(const struct gen *g, const struct sym *y)
{
    char s[BFX_CS_DEPTH * 4 * 48];
    size_t len = 0;

    for (int i = 0; i < BFX_CS_DEPTH; i++) {
        if (i < g->vb.n) {
            len += (size_t)bfx_js_num(s + len, g->vb.v[i].px, y->pscale);
            s[len++] = ':';
            len += (size_t)bfx_js_num(s + len, g->vb.v[i].amt, AMT_SCALE);
            s[len++] = ':';
        }
        if (i < g->va.n) {
            len += (size_t)bfx_js_num(s + len, g->va.v[i].px, y->pscale);
            s[len++] = ':';
            len += (size_t)bfx_js_num(s + len, -g->va.v[i].amt, AMT_SCALE);
            s[len++] = ':';
        }
    }
    if (len)
        len--; /* the last ':' */
    return (int32_t)(uint32_t)crc32(crc32(0L, Z_NULL, 0), (const Bytef *)s, (uInt)len);
}

/* ---- delivery ---- */

/* Formats a message body into b, numbers as strings when str. */
typedef void (*fmt_fn)(struct bfx_market *m, const struct gen *g, struct fv_buf *b, bool str,
                       const void *arg);

/* Sends the body that fmt makes to every channel of g (formatted once per number style in
 * use); counts what went out in *stat. */
static void deliver(struct bfx_market *m, struct gen *g, fmt_fn fmt, const void *arg,
                    uint64_t *stat)
{
    bool need[2] = {false, false};
    uint64_t now = fv_now_ms(m->s);

    for (size_t i = 0; i < g->nsubs; i++)
        need[(bitfinex_flags(g->subs[i].p) & BFX_DEC_S) != 0] = true;
    for (int k = 0; k < 2; k++) {
        if (need[k]) {
            m->body[k].len = 0;
            fmt(m, g, &m->body[k], k == 1, arg);
        }
    }
    for (size_t i = 0; i < g->nsubs; i++) {
        struct sub *u = &g->subs[i];
        const struct fv_buf *b = &m->body[(bitfinex_flags(u->p) & BFX_DEC_S) != 0];

        if (bitfinex_send(u->p, u->chan, (const char *)b->data, b->len)) {
            (*stat)++;
            u->last_ms = now;
        }
    }
}

/* [PRICE,COUNT,AMOUNT] of one level, or of a level that left (COUNT 0, AMOUNT 1 or -1). */
static void put_level(struct fv_buf *b, const struct sym *y, bool str, bool bid, int64_t px,
                      int64_t cnt, int64_t amt)
{
    PUT(b, "[");
    put_num(b, str, px, y->pscale);
    PUT(b, ",");
    put_int(b, cnt);
    PUT(b, ",");
    if (cnt)
        put_num(b, str, bid ? amt : -amt, AMT_SCALE);
    else
        put_num(b, str, bid ? 1 : -1, 0);
    PUT(b, "]");
}

/* Body of a book update (arg: struct upd). */
static void fmt_update(struct bfx_market *m, const struct gen *g, struct fv_buf *b, bool str,
                       const void *arg)
{
    const struct upd *u = arg;

    put_level(b, m->syms[g->sym], str, u->bid, u->px, u->cnt, u->amt);
}

/* True when the bucket is among the checksummed levels of the view. */
static bool in_cs_depth(const struct gen *g, const struct upd *u)
{
    bool found;
    int i = view_find(u->bid ? &g->vb : &g->va, u->bid, u->px, &found);

    return found && i < BFX_CS_DEPTH;
}

/* True when a book fault of the options (sym and count) fires on this channel now. */
static bool fault_due(const struct fv_bfx_fault *f, const struct gen *g, const struct sym *y,
                      const struct sub *u)
{
    return f->sym[0] && strcmp(f->sym, y->name) == 0 && u->p->faulted &&
           (bitfinex_flags(u->p) & BFX_CHECKSUM) && u->updates >= (uint64_t)f->after;
}

/* Sends one book update to every channel of g; --bfx-bad-level bends it on one channel once
 * (a wrong amount at a checksummed level). */
static void deliver_update(struct bfx_market *m, struct gen *g, const struct upd *u)
{
    const struct fv_opts *o = m->s->o;
    struct sym *y = m->syms[g->sym];
    bool need[2] = {false, false};
    uint64_t now = fv_now_ms(m->s);

    for (size_t i = 0; i < g->nsubs; i++)
        need[(bitfinex_flags(g->subs[i].p) & BFX_DEC_S) != 0] = true;
    for (int k = 0; k < 2; k++) {
        if (need[k]) {
            m->body[k].len = 0;
            fmt_update(m, g, &m->body[k], k == 1, u);
        }
    }
    for (size_t i = 0; i < g->nsubs; i++) {
        struct sub *s = &g->subs[i];
        bool str = (bitfinex_flags(s->p) & BFX_DEC_S) != 0;
        const struct fv_buf *b = &m->body[str];

        if (!m->lvl_fault_done && u->cnt && fault_due(&o->bfx.bad_lvl, g, y, s) &&
            in_cs_depth(g, u) && peer_live(s->p)) {
            m->lvl_fault_done = true;
            m->alt.len = 0;
            put_level(&m->alt, y, str, u->bid, u->px, u->cnt, u->amt + 1 + u->amt / 3);
            b = &m->alt;
            m->s->stats.faults++;
            fv_log("conn %u fault bad-level %s %d", s->p->id, y->name, s->chan);
        }
        if (bitfinex_send(s->p, s->chan, (const char *)b->data, b->len)) {
            m->s->stats.book++;
            s->updates++;
            s->last_ms = now;
        }
    }
}

/* Sends the cs message of g (to the channels whose connection asked for checksums);
 * --bfx-bad-checksum sends one wrong value once. */
static void deliver_cs(struct bfx_market *m, struct gen *g)
{
    const struct fv_opts *o = m->s->o;
    struct sym *y = m->syms[g->sym];
    uint64_t now = fv_now_ms(m->s);
    bool have = false;
    int32_t crc = 0;

    for (size_t i = 0; i < g->nsubs; i++) {
        struct sub *s = &g->subs[i];
        int32_t v;
        char t[40];
        int n;

        if (!(bitfinex_flags(s->p) & BFX_CHECKSUM))
            continue;
        if (!have) {
            crc = view_crc(g, y);
            have = true;
        }
        v = crc;
        if (!m->cs_fault_done && fault_due(&o->bfx.bad_cs, g, y, s) && peer_live(s->p)) {
            m->cs_fault_done = true;
            v = (int32_t)((uint32_t)crc ^ 0x5a5a5a5au);
            m->s->stats.faults++;
            fv_log("conn %u fault bad-checksum %s %d", s->p->id, y->name, s->chan);
        }
        n = snprintf(t, sizeof(t), "\"cs\",%" PRId32, v);
        if (bitfinex_send(s->p, s->chan, t, (size_t)n)) {
            m->s->stats.cs++;
            s->last_ms = now;
        }
    }
}

/* Sends the queued changes of g, then its cs message. */
static void flush_updates(struct bfx_market *m, struct gen *g)
{
    if (!m->nupd)
        return;
    for (size_t i = 0; i < m->nupd; i++)
        deliver_update(m, g, &m->upd[i]);
    m->nupd = 0;
    deliver_cs(m, g);
}

/* ---- snapshots and periodic messages ---- */

/* Body of a book snapshot: bids best first, then asks best first. */
static void fmt_book_snap(struct bfx_market *m, const struct gen *g, struct fv_buf *b, bool str,
                          const void *arg)
{
    const struct sym *y = m->syms[g->sym];
    bool first = true;

    (void)arg;
    PUT(b, "[");
    for (int k = 0; k < 2; k++) {
        const struct view *vw = k == 0 ? &g->vb : &g->va;

        for (int i = 0; i < vw->n; i++) {
            if (!first)
                PUT(b, ",");
            first = false;
            put_level(b, y, str, k == 0, vw->v[i].px, vw->v[i].cnt, vw->v[i].amt);
        }
    }
    PUT(b, "]");
}

/* [ID,MTS,AMOUNT,PRICE]. */
static void put_trade(struct fv_buf *b, const struct sym *y, bool str, const struct trade *t)
{
    PUT(b, "[");
    put_int(b, t->id);
    PUT(b, ",");
    put_int(b, t->mts);
    PUT(b, ",");
    put_num(b, str, t->amt, AMT_SCALE);
    PUT(b, ",");
    put_num(b, str, t->px, y->pscale);
    PUT(b, "]");
}

/* Body of a trades snapshot: the last trades, newest first. */
static void fmt_trades_snap(struct bfx_market *m, const struct gen *g, struct fv_buf *b, bool str,
                            const void *arg)
{
    const struct sym *y = m->syms[g->sym];

    (void)arg;
    PUT(b, "[");
    for (size_t k = 0; k < y->nrecent; k++) {
        size_t i = (y->rhead + BFX_TRADES_SNAP - 1 - k) % BFX_TRADES_SNAP;

        if (k)
            PUT(b, ",");
        put_trade(b, y, str, &y->recent[i]);
    }
    PUT(b, "]");
}

/* Body of a te message (arg: the trade). */
static void fmt_te(struct bfx_market *m, const struct gen *g, struct fv_buf *b, bool str,
                   const void *arg)
{
    PUT(b, "\"te\",");
    put_trade(b, m->syms[g->sym], str, arg);
}

/* Body of a tu message (arg: the trade). */
static void fmt_tu(struct bfx_market *m, const struct gen *g, struct fv_buf *b, bool str,
                   const void *arg)
{
    PUT(b, "\"tu\",");
    put_trade(b, m->syms[g->sym], str, arg);
}

/* The ticker's ten values now: BID, BID_SIZE (the 25 best bids' amounts), ASK, ASK_SIZE,
 * DAILY_CHANGE, DAILY_CHANGE_RELATIVE (4 decimals), LAST_PRICE, VOLUME, HIGH, LOW. */
static void ticker_values(struct sym *y, int64_t now, int64_t v[10])
{
    int64_t open = candle_price(&y->sp, now - DAY_MS), last, bs = 0, as = 0;

    for (int i = 0; i < BFX_CS_DEPTH && i < y->bid.n; i++)
        bs += y->bid.v[i].amt;
    for (int i = 0; i < BFX_CS_DEPTH && i < y->ask.n; i++)
        as += y->ask.v[i].amt;
    last = y->last_px ? y->last_px : y->bid.v[0].px;
    v[0] = y->bid.v[0].px;
    v[1] = bs;
    v[2] = y->ask.v[0].px;
    v[3] = as;
    v[4] = last - open;
    v[5] = (last - open) * 10000 / open;
    v[6] = last;
    /* The traded part wraps at 100000 units so the value keeps at most 15 digits (JavaScript
     * prints up to 17 digits of a double, the exact decimal only up to 15). */
    v[7] = (int64_t)(1 + (y->sp.h >> 12) % 5000) * 100000000 + y->vol % 10000000000000;
    v[8] = open > last ? open : last;
    v[9] = open < last ? open : last;
    if (y->hi > v[8])
        v[8] = y->hi;
    if (y->lo && y->lo < v[9])
        v[9] = y->lo;
}

/* Body of a ticker message (arg: the ten values). */
static void fmt_ticker(struct bfx_market *m, const struct gen *g, struct fv_buf *b, bool str,
                       const void *arg)
{
    static const int8_t KIND[10] = {0, 1, 0, 1, 0, 2, 0, 1, 0, 0}; /* price, amount, relative */
    const struct sym *y = m->syms[g->sym];
    const int64_t *v = arg;

    PUT(b, "[");
    for (int i = 0; i < 10; i++) {
        if (i)
            PUT(b, ",");
        put_num(b, str, v[i], KIND[i] == 0 ? y->pscale : KIND[i] == 1 ? AMT_SCALE : 4);
    }
    PUT(b, "]");
}

/* [MTS,OPEN,CLOSE,HIGH,LOW,VOLUME]. */
static void put_candle(struct fv_buf *b, const struct sym *y, bool str, const struct candle *c)
{
    PUT(b, "[");
    put_int(b, c->mts);
    PUT(b, ",");
    put_num(b, str, c->o, y->pscale);
    PUT(b, ",");
    put_num(b, str, c->c, y->pscale);
    PUT(b, ",");
    put_num(b, str, c->h, y->pscale);
    PUT(b, ",");
    put_num(b, str, c->l, y->pscale);
    PUT(b, ",");
    put_num(b, str, c->v, AMT_SCALE);
    PUT(b, "]");
}

/* Body of a candle update (arg: the candle). */
static void fmt_candle(struct bfx_market *m, const struct gen *g, struct fv_buf *b, bool str,
                       const void *arg)
{
    put_candle(b, m->syms[g->sym], str, arg);
}

/* Body of a candles snapshot: BFX_CANDLES_SNAP candles up to the open one, newest first. */
static void fmt_candles_snap(struct bfx_market *m, const struct gen *g, struct fv_buf *b, bool str,
                             const void *arg)
{
    const struct sym *y = m->syms[g->sym];
    int64_t now = *(const int64_t *)arg, open = g->open_ms;

    PUT(b, "[");
    for (int k = 0; k < BFX_CANDLES_SNAP; k++) {
        struct candle c;

        candle_at(m, y, g->spec.tf, open, now, &c);
        if (k)
            PUT(b, ",");
        put_candle(b, y, str, &c);
        open = tf_step(m, g->spec.tf, open, -1);
    }
    PUT(b, "]");
}

/* Candles: at a new open time the old candle once more with its final values, then the new
 * one; otherwise the open candle when it changed. */
static void candles_tick(struct bfx_market *m, struct gen *g, int64_t now)
{
    struct sym *y = m->syms[g->sym];
    int64_t open = tf_open(m, g->spec.tf, now);
    struct candle c;

    if (open != g->open_ms) {
        candle_at(m, y, g->spec.tf, g->open_ms, now, &c);
        if (memcmp(&c, &g->last, sizeof(c)) != 0)
            deliver(m, g, fmt_candle, &c, &m->s->stats.candles);
        g->open_ms = open;
    }
    candle_at(m, y, g->spec.tf, open, now, &c);
    if (memcmp(&c, &g->last, sizeof(c)) != 0) {
        g->last = c;
        deliver(m, g, fmt_candle, &c, &m->s->stats.candles);
    }
}

/* Ticker: the values when they changed. */
static void ticker_tick(struct bfx_market *m, struct gen *g, int64_t now)
{
    int64_t v[10];

    ticker_values(m->syms[g->sym], now, v);
    if (memcmp(v, g->tk, sizeof(v)) != 0) {
        memcpy(g->tk, v, sizeof(v));
        deliver(m, g, fmt_ticker, v, &m->s->stats.ticker);
    }
}

/* ---- events through the generators ---- */

/* The generator's view after a book event: changed buckets, or a rebuild. */
static void book_follow(struct bfx_market *m, struct gen *g, struct sym *y)
{
    if (y->chg_all) {
        tmp_reserve(m, (size_t)g->spec.len);
        view_rebuild(m, g, &y->bid, &g->vb, m->tmp[0]);
        view_rebuild(m, g, &y->ask, &g->va, m->tmp[1]);
    } else {
        for (int i = 0; i < y->nchg; i++) {
            bool bid = y->chg[i] & 1;
            int64_t px = (int64_t)((uint64_t)y->chg[i] >> 1);

            view_apply(m, g, bid ? &y->bid : &y->ask, bid ? &g->vb : &g->va, px);
        }
    }
#ifdef BFX_CHECK_VIEW
    {
        struct agg nb[251], na[251];
        int n1 = build_side(&y->bid, g->w, g->spec.len, nb);
        int n2 = build_side(&y->ask, g->w, g->spec.len, na);

        if (n1 != g->vb.n || n2 != g->va.n || memcmp(nb, g->vb.v, sizeof(*nb) * (size_t)n1) ||
            memcmp(na, g->va.v, sizeof(*na) * (size_t)n2))
            abort();
    }
#endif
    flush_updates(m, g);
}

/* One book event of y and the messages it makes: F0 book changes and cs, te for its trades
 * (their tu queued). */
static void event(struct bfx_market *m, struct sym *y, int64_t now)
{
    uint64_t now_loop = fv_now_ms(m->s);

    y->nchg = 0;
    y->chg_all = false;
    book_event(y, now);
    for (size_t i = 0; i < y->ngens; i++) {
        struct gen *g = m->gens[y->gens[i]];

        if (g->spec.type == BFX_C_BOOK && g->live && !g->spec.f1)
            book_follow(m, g, y);
    }
    for (size_t i = 0; y->nev && i < y->ngens; i++) {
        struct gen *g = m->gens[y->gens[i]];

        if (g->spec.type != BFX_C_TRADES || !g->nsubs)
            continue;
        for (int k = 0; k < y->nev; k++) {
            deliver(m, g, fmt_te, &y->ev[k], &m->s->stats.te);
            if (y->tu_n == y->tu_cap) {
                size_t cap = y->tu_cap ? y->tu_cap * 2 : 256;
                struct trade *q = fv_xmalloc(cap * sizeof(*q));

                for (size_t j = 0; j < y->tu_n; j++)
                    q[j] = y->tuq[(y->tu_head + j) % y->tu_cap];
                free(y->tuq);
                y->tuq = q;
                y->tu_cap = cap;
                y->tu_head = 0;
            }
            y->ev[k].tu_due = now_loop + (uint64_t)m->s->o->bfx.tu_ms;
            y->tuq[(y->tu_head + y->tu_n++) % y->tu_cap] = y->ev[k];
        }
    }
    y->nev = 0;
}

/* True when someone is subscribed to one of y's channels (kinds: a bit per enum bfx_ctype). */
static bool sym_wanted(const struct bfx_market *m, const struct sym *y, unsigned kinds)
{
    for (size_t i = 0; i < y->ngens; i++) {
        const struct gen *g = m->gens[y->gens[i]];

        if (g->nsubs && (kinds >> g->spec.type & 1))
            return true;
    }
    return false;
}

/* Hands what was sent to the sockets. */
static void flush_all(struct bfx_market *m)
{
    for (struct fv_peer *p = m->s->peers; p; p = p->next)
        if (p->kind == FV_KIND_VENUE && peer_live(p))
            peer_flush(p);
}

/* Due tu messages of y. */
static void tu_tick(struct bfx_market *m, struct sym *y, uint64_t now_loop)
{
    while (y->tu_n && y->tuq[y->tu_head].tu_due <= now_loop) {
        struct trade t = y->tuq[y->tu_head];

        y->tu_head = (y->tu_head + 1) % y->tu_cap;
        y->tu_n--;
        for (size_t i = 0; i < y->ngens; i++) {
            struct gen *g = m->gens[y->gens[i]];

            if (g->spec.type == BFX_C_TRADES && g->nsubs)
                deliver(m, g, fmt_tu, &t, &m->s->stats.tu);
        }
    }
}

/* Heartbeats: [CHAN,"hb"] on every channel idle for --bfx-hb-ms. */
static void hb_tick(struct bfx_market *m, uint64_t now_loop)
{
    uint64_t hb = (uint64_t)m->s->o->bfx.hb_ms;

    for (size_t i = 0; i < m->ngens; i++) {
        struct gen *g = m->gens[i];

        for (size_t k = 0; k < g->nsubs; k++) {
            struct sub *u = &g->subs[k];

            if (now_loop - u->last_ms < hb)
                continue;
            u->last_ms = now_loop;
            if (bitfinex_send(u->p, u->chan, "\"hb\"", 4))
                m->s->stats.hb++;
        }
    }
}

/* Periodic messages of one generator: F1 books, tickers, candles. */
static void gen_tick(struct bfx_market *m, struct gen *g, uint64_t now_loop, int64_t now)
{
    struct sym *y = m->syms[g->sym];

    if (!g->nsubs || now_loop < g->due_ms)
        return;
    switch (g->spec.type) {
    case BFX_C_BOOK:
        if (!g->spec.f1)
            return;
        tmp_reserve(m, (size_t)g->spec.len);
        view_rebuild(m, g, &y->bid, &g->vb, m->tmp[0]);
        view_rebuild(m, g, &y->ask, &g->va, m->tmp[1]);
        flush_updates(m, g);
        g->due_ms = now_loop + BFX_F1_MS;
        break;
    case BFX_C_TICKER:
        ticker_tick(m, g, now);
        g->due_ms = now_loop + BFX_TICKER_MS;
        break;
    case BFX_C_CANDLES: {
        int64_t step = tf_len(m, g->spec.tf) / 4;

        candles_tick(m, g, now);
        g->due_ms = now_loop + (uint64_t)(step < 1000 ? (step < 20 ? 20 : step) : 1000);
        /* Never sleep past the next open time. */
        {
            int64_t next = tf_step(m, g->spec.tf, g->open_ms, 1) - now;

            if (next >= 0 && (uint64_t)next + now_loop < g->due_ms)
                g->due_ms = now_loop + (uint64_t)next;
        }
        break;
    }
    default:
        break;
    }
}

/* ---- the drivers ---- */

/* The timer: paced events (unless flat out), then tu, periodic messages and heartbeats. */
static void on_timer(uv_timer_t *t)
{
    struct bfx_market *m = t->data;
    const struct fv_opts *o = m->s->o;
    uint64_t now_loop = fv_now_ms(m->s);
    int64_t now = fv_wall_ms();

    if (!o->market_max) {
        uint64_t due = fv_market_due(o, &m->pace, now_loop);

        for (; m->pace.sent < due; m->pace.sent++)
            for (size_t i = 0; i < m->nsyms; i++)
                if (sym_wanted(m, m->syms[i], 0xf))
                    event(m, m->syms[i], now);
    }
    for (size_t i = 0; i < m->nsyms; i++)
        tu_tick(m, m->syms[i], now_loop);
    for (size_t i = 0; i < m->ngens; i++)
        gen_tick(m, m->gens[i], now_loop, now);
    hb_tick(m, now_loop);
    flush_all(m);
}

/* True when flat-out generation must wait: a Bitfinex connection has too much unsent output. */
static bool blocked(const struct bfx_market *m)
{
    for (const struct fv_peer *p = m->s->peers; p; p = p->next)
        if (p->kind == FV_KIND_VENUE && peer_live(p) && peer_unsent(p) >= FV_WATERMARK)
            return true;
    return false;
}

/* Flat out: a batch of events for every pair with a book or trades subscriber. */
static void on_idle(uv_idle_t *h)
{
    struct bfx_market *m = h->data;
    int64_t now = fv_wall_ms();
    bool any = false;

    if (!blocked(m)) {
        for (size_t i = 0; i < m->nsyms; i++) {
            struct sym *y = m->syms[i];

            if (!sym_wanted(m, y, 1u << BFX_C_BOOK | 1u << BFX_C_TRADES))
                continue;
            any = true;
            for (int k = 0; k < BFX_BATCH; k++)
                event(m, y, now);
        }
    }
    if (!any) {
        uv_idle_stop(&m->idle);
        m->idle_on = false;
        return;
    }
    flush_all(m);
}

/* Starts the idle handle when flat out. */
static void start_idle(struct bfx_market *m)
{
    if (m->s->o->market_max && !m->idle_on && !m->s->stopping) {
        uv_idle_start(&m->idle, on_idle);
        m->idle_on = true;
    }
}

/* See fv.h. */
void bfxm_on_drain(struct fv_server *s)
{
    if (s->bfx)
        start_idle(s->bfx);
}

/* ---- generators and channels ---- */

/* True when two specs make the same messages. */
static bool same(const struct bfx_spec *a, const struct bfx_spec *b)
{
    if (a->type != b->type || strcmp(a->sym, b->sym) != 0)
        return false;
    if (a->type == BFX_C_BOOK)
        return a->prec == b->prec && a->len == b->len && a->f1 == b->f1;
    return a->type != BFX_C_CANDLES || a->tf == b->tf;
}

/* See fv.h. */
int bfxm_gen(struct fv_server *s, const struct bfx_spec *spec)
{
    struct bfx_market *m = s->bfx;
    struct sym *y;
    struct gen *g;

    for (size_t i = 0; i < m->ngens; i++)
        if (same(&m->gens[i]->spec, spec))
            return (int)i;
    if (m->ngens == m->capgens) {
        m->capgens = m->capgens ? m->capgens * 2 : 32;
        m->gens = realloc(m->gens, m->capgens * sizeof(*m->gens));
        if (!m->gens)
            abort();
    }
    g = fv_xcalloc(1, sizeof(*g));
    g->spec = *spec;
    g->sym = sym_get(m, spec->sym);
    g->w = 1;
    for (int k = 0; k < spec->prec; k++)
        g->w *= 10;
    if (spec->type == BFX_C_BOOK) {
        g->vb.v = fv_xcalloc((size_t)spec->len + 1, sizeof(struct agg));
        g->va.v = fv_xcalloc((size_t)spec->len + 1, sizeof(struct agg));
    }
    y = m->syms[g->sym];
    if (y->ngens == y->capgens) {
        y->capgens = y->capgens ? y->capgens * 2 : 8;
        y->gens = realloc(y->gens, y->capgens * sizeof(*y->gens));
        if (!y->gens)
            abort();
    }
    y->gens[y->ngens++] = (int)m->ngens;
    m->gens[m->ngens] = g;
    return (int)m->ngens++;
}

/* Sends body (built by fmt) to one channel as its snapshot. */
static void send_snapshot(struct bfx_market *m, struct gen *g, struct sub *u, fmt_fn fmt,
                          const void *arg)
{
    bool str = (bitfinex_flags(u->p) & BFX_DEC_S) != 0;

    m->body[0].len = 0;
    fmt(m, g, &m->body[0], str, arg);
    if (bitfinex_send(u->p, u->chan, (const char *)m->body[0].data, m->body[0].len)) {
        m->s->stats.snapshots++;
        u->last_ms = fv_now_ms(m->s);
    }
}

/* See fv.h. A book generator that had no subscriber builds its view first; a candles generator
 * first catches up with the clock, so the snapshot and the updates after it agree. */
void bfxm_attach(struct fv_server *s, int gen, struct fv_peer *p, int32_t chan)
{
    struct bfx_market *m = s->bfx;
    struct gen *g = m->gens[gen];
    struct sym *y = m->syms[g->sym];
    int64_t now = fv_wall_ms();
    struct sub *u;

    switch (g->spec.type) {
    case BFX_C_BOOK:
        if (!g->live) {
            g->vb.n = build_side(&y->bid, g->w, g->spec.len, g->vb.v);
            g->va.n = build_side(&y->ask, g->w, g->spec.len, g->va.v);
            g->live = true;
            g->due_ms = fv_now_ms(s) + BFX_F1_MS;
        }
        break;
    case BFX_C_CANDLES:
        if (!g->nsubs) {
            g->open_ms = tf_open(m, g->spec.tf, now);
            memset(&g->last, 0, sizeof(g->last));
        } else {
            candles_tick(m, g, now);
        }
        break;
    case BFX_C_TICKER:
        if (!g->nsubs)
            ticker_values(y, now, g->tk);
        break;
    default:
        break;
    }
    if (g->nsubs == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 4;
        g->subs = realloc(g->subs, g->cap * sizeof(*g->subs));
        if (!g->subs)
            abort();
    }
    u = &g->subs[g->nsubs++];
    *u = (struct sub){.p = p, .chan = chan, .last_ms = fv_now_ms(s)};
    switch (g->spec.type) {
    case BFX_C_BOOK:
        send_snapshot(m, g, u, fmt_book_snap, NULL);
        break;
    case BFX_C_TRADES:
        send_snapshot(m, g, u, fmt_trades_snap, NULL);
        break;
    case BFX_C_TICKER:
        send_snapshot(m, g, u, fmt_ticker, g->tk);
        g->due_ms = fv_now_ms(s) + BFX_TICKER_MS;
        break;
    case BFX_C_CANDLES:
        send_snapshot(m, g, u, fmt_candles_snap, &now);
        if (g->nsubs == 1) {
            candle_at(m, y, g->spec.tf, g->open_ms, now, &g->last);
            g->due_ms = fv_now_ms(s);
        }
        break;
    default:
        break;
    }
    peer_flush(p);
    start_idle(m);
}

/* See fv.h. */
void bfxm_detach(struct fv_server *s, int gen, struct fv_peer *p, int32_t chan)
{
    struct gen *g = s->bfx ? s->bfx->gens[gen] : NULL;

    for (size_t i = 0; g && i < g->nsubs; i++) {
        if (g->subs[i].p != p || g->subs[i].chan != chan)
            continue;
        memmove(g->subs + i, g->subs + i + 1, (g->nsubs - i - 1) * sizeof(*g->subs));
        g->nsubs--;
        break;
    }
    if (g && !g->nsubs)
        g->live = false; /* the view is rebuilt for the next subscriber */
}

/* ---- life cycle ---- */

/* See fv.h. */
int bfxm_init(struct fv_server *s)
{
    const struct fv_opts *o = s->o;
    struct bfx_market *m = fv_xcalloc(1, sizeof(*m));

    m->s = s;
    s->bfx = m;
    s->bfx_chan_seq = (int32_t)(10000 + o->seed % 90000) * 10;
    m->tick_ms = fv_market_tick_ms(o, BFX_TICK_MAX_MS);
    uv_timer_init(s->loop, &m->timer);
    uv_idle_init(s->loop, &m->idle);
    m->timer.data = m;
    m->idle.data = m;
    uv_timer_start(&m->timer, on_timer, m->tick_ms, m->tick_ms);
    return 0;
}

/* Close callback of the market's handles (freed with it in bfxm_fini). */
static void on_closed(uv_handle_t *h)
{
    (void)h;
}

/* See fv.h. */
void bfxm_stop(struct fv_server *s)
{
    struct bfx_market *m = s->bfx;

    if (!m || uv_is_closing((uv_handle_t *)&m->timer))
        return;
    uv_close((uv_handle_t *)&m->timer, on_closed);
    uv_close((uv_handle_t *)&m->idle, on_closed);
    m->idle_on = false;
}

/* See fv.h. */
void bfxm_fini(struct fv_server *s)
{
    struct bfx_market *m = s->bfx;

    if (!m)
        return;
    for (size_t i = 0; i < m->ngens; i++) {
        free(m->gens[i]->subs);
        free(m->gens[i]->vb.v);
        free(m->gens[i]->va.v);
        free(m->gens[i]);
    }
    for (size_t i = 0; i < m->nsyms; i++) {
        free(m->syms[i]->gens);
        free(m->syms[i]->tuq);
        free(m->syms[i]);
    }
    free(m->gens);
    free(m->syms);
    free(m->upd);
    free(m->tmp[0]);
    free(m->tmp[1]);
    fv_buf_free(&m->body[0]);
    fv_buf_free(&m->body[1]);
    fv_buf_free(&m->alt);
    free(m);
    s->bfx = NULL;
}
