/*
 * The Bybit venues' synthetic market (--venue bybit-spot, bybit-linear): one market shared by
 * every connection, with a book, trades, a ticker, klines and (linear) liquidations for any
 * symbol a client subscribes to (created on first use; with --market, only those symbols), a
 * pure function of the symbol's name and --seed, and the topic generators that turn it into
 * Bybit v5 messages (src/venue/README.md 4.1). Symbols' decimals and price paths are candle.c's
 * (candle_params(), candle_price()), numbers are printed with its helpers, and events are paced
 * by --market-rate like the other markets (fv_market_due()).
 *
 * The book: BYB_LEVELS levels a side (price in ticks, size in quantity steps) around a mid that
 * follows the symbol's price path. Each event is a trade against the best level, a size change
 * near the top, a new level inside the spread or a cancelled best level, or a step toward the
 * path; on linear now and then a liquidation. Every event bumps the symbol's cross sequence
 * (seq).
 *
 * A generator per topic builds each message once and hands it to every subscriber
 * (bybit_send()), so all connections see the same bytes: an observer subscribed to the same
 * topics sees what the daemon saw. Book generators keep the view they have sent (the top
 * `depth` levels a side); after each tick they send its changes as one delta with u + 1 (size
 * "0" for a level that left the view), and a snapshot of the view to a new subscriber. Depth 1
 * is snapshots only, also re-sent unchanged (same u) every 3 s. --bybit-restart SYM/N sends a
 * u == 1 snapshot after N updates of each book topic of SYM (the venue's service restart).
 * Tickers: spot sends snapshots (on change, at least every second); linear one snapshot on
 * subscribe, then deltas holding only the fields that changed. Klines: the candle in progress
 * at most every second, and once with confirm true when its interval ends; --bybit-minute-ms
 * scales every interval (D = 1440 minutes, W = 10080, M = 43200).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fv.h"

#define BYB_LEVELS 300        /* levels a side of a symbol's book (depth 1000 sends them all) */
#define BYB_TICK_MAX_MS 50    /* the timer's longest period */
#define BYB_EV_MAX 256        /* trades or liquidations of a symbol kept within one tick */
#define BYB_L1_RESEND_MS 3000 /* depth 1: unchanged snapshot re-sent this often */
#define BYB_TICKER_MS 100     /* tickers looked at this often */
#define BYB_FUNDING_MIN 480   /* funding every 8 h (minutes, scaled by --bybit-minute-ms) */
#define TK_MAX 24             /* ticker fields */
#define BYB_SYMS_MAX 4096     /* symbols a market creates (a client cannot exhaust memory) */

/* One level: price in ticks, size in quantity steps. */
struct lvl {
    int64_t px, q;
};

/* One side of a book, best first. */
struct bside {
    struct lvl v[BYB_LEVELS]; /* levels */
    int n;                    /* used */
    bool bid;                 /* bids: descending prices; asks: ascending */
};

/* A trade or a liquidation of the current tick. */
struct fill {
    int64_t id;  /* trade id (trades) */
    int64_t t;   /* Unix ms */
    int64_t px;  /* ticks */
    int64_t q;   /* steps */
    int64_t seq; /* cross sequence */
    bool buy;    /* taker side (trades), liquidated position side (liquidations) */
};

/* One symbol. */
struct bsym {
    char name[32];              /* "BTCUSDT" */
    struct fv_symparams sp;     /* decimals, price path */
    struct bside bid, ask;      /* the book */
    uint64_t rng;               /* xorshift state */
    int64_t seq;                /* cross sequence */
    int64_t trade_id;           /* last trade id */
    struct fill tr[BYB_EV_MAX]; /* trades of this tick */
    int ntr;                    /* count */
    struct fill lq[BYB_EV_MAX]; /* liquidations of this tick */
    int nlq;                    /* count */
    int64_t last, prev24;       /* last trade price, price at start (ticks) */
    int64_t high, low;          /* since start */
    int64_t vol, turnover;      /* since start (steps, quote at vdec) */
    int dir;                    /* last tick direction: 1 up, -1 down, 0 same */
    int users;                  /* generators with subscribers */
};

/* One subscriber of a generator. */
struct bsub {
    struct fv_peer *p; /* the connection */
    uint64_t updates;  /* book updates sent to it */
};

/* One generator: a topic. */
struct bgen {
    char topic[64];      /* its name */
    enum byb_ttype type; /* what it is */
    int sym;             /* symbol index */
    int depth;           /* book: 1, 50, 200, 1000 */
    int iv;              /* kline: index in IVS */
    struct bsub *subs;   /* subscribers */
    size_t nsubs, cap;   /* used, allocated */
    struct lvl *vb, *va; /* book: the view as sent */
    int nb, na;          /* its levels */
    bool live;           /* book: view built (has subscribers) */
    int64_t u;           /* book: last update id */
    uint64_t updates;    /* book: updates sent (restart fault) */
    bool restarted;      /* book: the restart fault fired */
    uint64_t due_ms;     /* loop time of the next periodic look */
    int64_t open_ms;     /* kline: open time of the candle in progress */
    int64_t o, h, l, c;  /* kline: prices */
    int64_t v, q;        /* kline: volume, turnover */
    char tk[TK_MAX][40]; /* ticker: values last sent */
    int ntk;             /* their count (0: none yet) */
    uint64_t tk_sent_ms; /* ticker: loop time of the last message */
};

struct byb_market {
    struct fv_server *s; /* owner */
    uv_timer_t timer;    /* the tick */
    struct fv_pace pace; /* paced event rounds */
    struct bsym **syms;  /* symbols */
    size_t nsyms;        /* count */
    struct bgen **gens;  /* generators */
    size_t ngens;        /* count */
    struct fv_buf b;     /* messages are built here */
    struct lvl *chg[2];  /* changed levels of a view (bids, asks) */
};

/* Kline intervals: the topic's name and its length in minutes. */
static const struct {
    const char *name;
    int64_t min;
} IVS[] = {{"1", 1},    {"3", 3},     {"5", 5},     {"15", 15},   {"30", 30},
           {"60", 60},  {"120", 120}, {"240", 240}, {"360", 360}, {"720", 720},
           {"D", 1440}, {"W", 10080}, {"M", 43200}};
#define N_IVS (int)(sizeof(IVS) / sizeof(IVS[0]))

/* Linear ticker fields, in the venue's order (spot: SPOT_TK). */
static const char *const LIN_TK[] = {"symbol",          "tickDirection",
                                     "price24hPcnt",    "lastPrice",
                                     "prevPrice24h",    "highPrice24h",
                                     "lowPrice24h",     "prevPrice1h",
                                     "markPrice",       "indexPrice",
                                     "openInterest",    "openInterestValue",
                                     "turnover24h",     "volume24h",
                                     "nextFundingTime", "fundingRate",
                                     "bid1Price",       "bid1Size",
                                     "ask1Price",       "ask1Size",
                                     "deliveryTime",    "predictedDeliveryPrice"};
static const char *const SPOT_TK[] = {"symbol",      "lastPrice",    "highPrice24h",
                                      "lowPrice24h", "prevPrice24h", "volume24h",
                                      "turnover24h", "price24hPcnt", "usdIndexPrice"};

static bool is_spot(const struct byb_market *m)
{
    return bybit_spot(m->s);
}

static uint64_t rng_next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Length of interval iv in ms, scaled by --bybit-minute-ms. */
static int64_t iv_ms(const struct byb_market *m, int iv)
{
    return IVS[iv].min * m->s->o->byb.minute_ms;
}

/* ---- symbols and their books ---- */

/* Appends a level beyond the far end of sd. */
static void push_far(struct bsym *y, struct bside *sd)
{
    int64_t last = sd->v[sd->n - 1].px, step = 1 + (int64_t)(rng_next(&y->rng) % 2);

    if (sd->n >= BYB_LEVELS || (sd->bid && last - step <= 0))
        return;
    sd->v[sd->n].px = sd->bid ? last - step : last + step;
    sd->v[sd->n].q = 1 + (int64_t)(rng_next(&y->rng) % 5000);
    sd->n++;
}

/* Removes level i of sd and refills the far end. */
static void remove_at(struct bsym *y, struct bside *sd, int i)
{
    memmove(sd->v + i, sd->v + i + 1, (size_t)(sd->n - i - 1) * sizeof(sd->v[0]));
    sd->n--;
    push_far(y, sd);
}

/* Puts a new best level at px (inside the spread); the far end goes when full. */
static void insert_best(struct bsym *y, struct bside *sd, int64_t px)
{
    if (sd->n == BYB_LEVELS)
        sd->n--;
    memmove(sd->v + 1, sd->v, (size_t)sd->n * sizeof(sd->v[0]));
    sd->v[0].px = px;
    sd->v[0].q = 1 + (int64_t)(rng_next(&y->rng) % 2000);
    sd->n++;
}

/* The symbol named name[0..len), created on first use; -1 when --market does not list it. */
static int sym_get(struct byb_market *m, const char *name, size_t len)
{
    const char *l = m->s->o->market;
    struct bsym *y;
    int64_t mid;

    for (size_t i = 0; i < m->nsyms; i++)
        if (strlen(m->syms[i]->name) == len && memcmp(m->syms[i]->name, name, len) == 0)
            return (int)i;
    if (m->nsyms >= BYB_SYMS_MAX)
        return -1;
    if (l) {
        bool found = false;

        while (*l && !found) {
            size_t n = strcspn(l, ",");

            found = n == len && strncasecmp(l, name, len) == 0;
            l += n;
            l += *l == ',';
        }
        if (!found)
            return -1;
    }
    y = fv_xcalloc(1, sizeof(*y));
    memcpy(y->name, name, len);
    candle_params(&y->sp, y->name, false);
    y->rng = (m->s->o->seed * 0x9e3779b97f4a7c15ull) ^ y->sp.h;
    if (!y->rng)
        y->rng = 1;
    y->seq = (int64_t)(y->sp.h % 1000000) * 1000;
    y->trade_id = is_spot(m) ? 2290000000000000000LL + (int64_t)(y->sp.h % 100000) * 1000 : 0;
    mid = candle_price(&y->sp, fv_wall_ms());
    y->bid.bid = true;
    y->bid.v[0] = (struct lvl){mid - 1, 100};
    y->ask.v[0] = (struct lvl){mid + 1, 100};
    y->bid.n = y->ask.n = 1;
    while (y->bid.n < BYB_LEVELS)
        push_far(y, &y->bid);
    while (y->ask.n < BYB_LEVELS)
        push_far(y, &y->ask);
    y->last = y->prev24 = y->high = y->low = mid;
    m->syms = realloc(m->syms, (m->nsyms + 1) * sizeof(*m->syms));
    if (!m->syms)
        abort();
    m->syms[m->nsyms] = y;
    return (int)m->nsyms++;
}

/* A trade against the best level of the other side. */
static void trade(struct bsym *y, int64_t now, bool buy)
{
    struct bside *sd = buy ? &y->ask : &y->bid;
    int64_t q = 1 + (int64_t)(rng_next(&y->rng) % (uint64_t)sd->v[0].q), px = sd->v[0].px;
    struct fill *f;

    if (y->ntr == BYB_EV_MAX)
        return;
    f = &y->tr[y->ntr++];
    *f = (struct fill){.id = ++y->trade_id, .t = now, .px = px, .q = q, .seq = y->seq, .buy = buy};
    y->dir = px > y->last ? 1 : px < y->last ? -1 : 0;
    y->last = px;
    y->high = px > y->high ? px : y->high;
    y->low = px < y->low ? px : y->low;
    y->vol += q;
    y->turnover += candle_quote(&y->sp, q, px);
    sd->v[0].q -= q;
    if (!sd->v[0].q)
        remove_at(y, sd, 0);
}

/* One market event on y (see the top of the file). */
static void event(struct byb_market *m, struct bsym *y, int64_t now)
{
    uint64_t r = rng_next(&y->rng);
    bool bid = (r >> 8) & 1;
    struct bside *sd = bid ? &y->bid : &y->ask;
    int64_t spread = y->ask.v[0].px - y->bid.v[0].px;

    y->seq++;
    switch (r % 10) {
    case 0:
    case 1:
    case 2:
        trade(y, now, bid);
        break;
    case 3:
    case 4:
    case 5: {
        int i = (int)((r >> 16) % (uint64_t)(sd->n < 20 ? sd->n : 20));

        sd->v[i].q = 1 + (int64_t)((r >> 24) % 5000);
        break;
    }
    case 6:
    case 7:
        if (spread >= 2)
            insert_best(y, sd, bid ? y->bid.v[0].px + 1 : y->ask.v[0].px - 1);
        else if (sd->n > 1)
            remove_at(y, sd, 0);
        break;
    default: {
        /* A step toward the price path: the side in the way loses its best level, the other
         * side follows inside the spread. */
        int64_t target = candle_price(&y->sp, now), mid2 = y->bid.v[0].px + y->ask.v[0].px;
        bool up = 2 * target > mid2;

        if (2 * target == mid2)
            break;
        remove_at(y, up ? &y->ask : &y->bid, 0);
        if (y->ask.v[0].px - y->bid.v[0].px >= 2)
            insert_best(y, up ? &y->bid : &y->ask, up ? y->bid.v[0].px + 1 : y->ask.v[0].px - 1);
        break;
    }
    }
    if (!is_spot(m) && (r >> 40) % 20 == 0 && y->nlq < BYB_EV_MAX) {
        bool longs = (r >> 50) & 1; /* a long position liquidated: sold at the bid */

        y->lq[y->nlq++] = (struct fill){.t = now,
                                        .px = longs ? y->bid.v[0].px : y->ask.v[0].px,
                                        .q = 1 + (int64_t)((r >> 52) % 500),
                                        .buy = longs};
    }
}

/* ---- message pieces ---- */

static void put(struct fv_buf *b, const char *s)
{
    fv_buf_append(b, s, strlen(s));
}

static void put_i64(struct fv_buf *b, int64_t v)
{
    fv_buf_printf(b, "%" PRId64, v);
}

/* {"topic":"T","type":"TYPE","ts":NOW, (the caller goes on with "data") */
static void head(struct fv_buf *b, const struct bgen *g, const char *type, int64_t now)
{
    b->len = 0;
    put(b, "{\"topic\":\"");
    put(b, g->topic);
    put(b, "\",\"type\":\"");
    put(b, type);
    put(b, "\",\"ts\":");
    put_i64(b, now);
}

/* Hands the message in m->b to every subscriber of g (delta_u: a book delta's u, else 0). */
static void deliver(struct byb_market *m, struct bgen *g, int64_t delta_u)
{
    for (size_t i = 0; i < g->nsubs; i++) {
        struct bsub *u = &g->subs[i];

        bybit_send(u->p, g->topic, delta_u, u->updates, (const char *)m->b.data, m->b.len);
        if (g->type == BYB_T_BOOK)
            u->updates++;
    }
}

/* [[p,q],...] */
static void put_levels(struct fv_buf *b, const struct bsym *y, const struct lvl *v, int n)
{
    put(b, "[");
    for (int i = 0; i < n; i++) {
        put(b, i ? ",[" : "[");
        candle_put_px(b, &y->sp, v[i].px);
        put(b, ",");
        if (v[i].q)
            candle_put_qty(b, &y->sp, v[i].q);
        else
            put(b, "\"0\""); /* a level that left: the venue's "0" */
        put(b, "]");
    }
    put(b, "]");
}

/* A book message: the given bid and ask levels, u and the symbol's seq. */
static void fmt_book(struct byb_market *m, const struct bgen *g, bool snap, const struct lvl *b,
                     int nb, const struct lvl *a, int na, int64_t now)
{
    const struct bsym *y = m->syms[g->sym];

    head(&m->b, g, snap ? "snapshot" : "delta", now);
    put(&m->b, ",\"data\":{\"s\":\"");
    put(&m->b, y->name);
    put(&m->b, "\",\"b\":");
    put_levels(&m->b, y, b, nb);
    put(&m->b, ",\"a\":");
    put_levels(&m->b, y, a, na);
    put(&m->b, ",\"u\":");
    put_i64(&m->b, g->u);
    put(&m->b, ",\"seq\":");
    put_i64(&m->b, y->seq);
    put(&m->b, "},\"cts\":");
    put_i64(&m->b, now - 2);
    put(&m->b, "}");
}

/* ---- books ---- */

static bool better(bool bid, int64_t a, int64_t b)
{
    return bid ? a > b : a < b;
}

/* The changes turning view old[0..*no) into the top of sd (at most depth levels) into chg;
 * old becomes the new view. Returns the number of changes. */
static int view_diff(const struct bside *sd, int depth, struct lvl *old, int *no, struct lvl *chg)
{
    int nc = sd->n < depth ? sd->n : depth, i = 0, j = 0, k = 0;
    const struct lvl *cur = sd->v;

    while (i < *no || j < nc) {
        if (j >= nc || (i < *no && better(sd->bid, old[i].px, cur[j].px))) {
            chg[k++] = (struct lvl){old[i++].px, 0};
        } else if (i >= *no || better(sd->bid, cur[j].px, old[i].px)) {
            chg[k++] = cur[j++];
        } else {
            if (old[i].q != cur[j].q)
                chg[k++] = cur[j];
            i++;
            j++;
        }
    }
    memcpy(old, cur, (size_t)nc * sizeof(*old));
    *no = nc;
    return k;
}

/* Sends g's changes since the last tick: a delta (u + 1), a snapshot on depth 1 (also every
 * 3 s unchanged), or the restart fault's u == 1 snapshot. */
static void book_flush(struct byb_market *m, struct bgen *g, uint64_t now_loop, int64_t now)
{
    struct bsym *y = m->syms[g->sym];
    const struct fv_byb_fault *rf = &m->s->o->byb.restart;
    int kb = view_diff(&y->bid, g->depth, g->vb, &g->nb, m->chg[0]);
    int ka = view_diff(&y->ask, g->depth, g->va, &g->na, m->chg[1]);

    if (g->depth == 1) {
        if (!kb && !ka && now_loop < g->due_ms)
            return;
        g->u += kb || ka;
        g->due_ms = now_loop + BYB_L1_RESEND_MS;
        fmt_book(m, g, true, g->vb, g->nb, g->va, g->na, now);
        deliver(m, g, 0);
        return;
    }
    if (!kb && !ka)
        return;
    g->updates++;
    if (!g->restarted && rf->sym[0] && strcmp(rf->sym, y->name) == 0 &&
        g->updates > (uint64_t)rf->after) {
        g->restarted = true;
        g->u = 1;
        m->s->stats.faults++;
        fv_log("fault restart %s", g->topic);
        fmt_book(m, g, true, g->vb, g->nb, g->va, g->na, now);
        deliver(m, g, 0);
        return;
    }
    g->u++;
    fmt_book(m, g, false, m->chg[0], kb, m->chg[1], ka, now);
    deliver(m, g, g->u);
}

/* ---- trades and liquidations ---- */

/* A linear trade id: a UUID-shaped string made from the numeric id. */
static void put_uuid(struct fv_buf *b, int64_t id, uint64_t h)
{
    uint64_t a = ((uint64_t)id + h) * 0x9e3779b97f4a7c15ull, c = a * 0xbf58476d1ce4e5b9ull + 7;

    fv_buf_printf(b, "\"%08x-%04x-%04x-%04x-%012" PRIx64 "\"", (unsigned)(a >> 32),
                  (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xffff, (unsigned)(c >> 48),
                  (uint64_t)(c & 0xffffffffffffull));
}

static void trades_flush(struct byb_market *m, struct bgen *g, int64_t now)
{
    const struct bsym *y = m->syms[g->sym];

    if (!y->ntr)
        return;
    head(&m->b, g, "snapshot", now);
    put(&m->b, ",\"data\":[");
    for (int i = 0; i < y->ntr; i++) {
        const struct fill *t = &y->tr[i];

        put(&m->b, i ? ",{\"T\":" : "{\"T\":");
        put_i64(&m->b, t->t);
        put(&m->b, ",\"s\":\"");
        put(&m->b, y->name);
        put(&m->b, t->buy ? "\",\"S\":\"Buy\",\"v\":" : "\",\"S\":\"Sell\",\"v\":");
        candle_put_qty(&m->b, &y->sp, t->q);
        put(&m->b, ",\"p\":");
        candle_put_px(&m->b, &y->sp, t->px);
        if (is_spot(m)) {
            fv_buf_printf(&m->b, ",\"i\":\"%" PRId64 "\",\"BT\":false}", t->id);
        } else {
            put(&m->b, ",\"L\":\"");
            put(&m->b, t->buy ? "PlusTick" : "MinusTick");
            put(&m->b, "\",\"i\":");
            put_uuid(&m->b, t->id, y->sp.h);
            put(&m->b, ",\"BT\":false,\"seq\":");
            put_i64(&m->b, t->seq);
            put(&m->b, "}");
        }
    }
    put(&m->b, "]}");
    deliver(m, g, 0);
}

/* allLiquidation: one message with every liquidation of the tick; liquidation (the older
 * topic): one message each. */
static void liqs_flush(struct byb_market *m, struct bgen *g, int64_t now)
{
    const struct bsym *y = m->syms[g->sym];

    for (int i = 0; i < y->nlq; i++) {
        const struct fill *l = &y->lq[i];

        if (g->type == BYB_T_LIQ) {
            head(&m->b, g, "snapshot", now);
            put(&m->b, ",\"data\":{\"updatedTime\":");
            put_i64(&m->b, l->t);
            put(&m->b, ",\"symbol\":\"");
            put(&m->b, y->name);
            put(&m->b, l->buy ? "\",\"side\":\"Buy\",\"size\":" : "\",\"side\":\"Sell\",\"size\":");
            candle_put_qty(&m->b, &y->sp, l->q);
            put(&m->b, ",\"price\":");
            candle_put_px(&m->b, &y->sp, l->px);
            put(&m->b, "}}");
            deliver(m, g, 0);
            continue;
        }
        if (i == 0) {
            head(&m->b, g, "snapshot", now);
            put(&m->b, ",\"data\":[");
        }
        put(&m->b, i ? ",{\"T\":" : "{\"T\":");
        put_i64(&m->b, l->t);
        put(&m->b, ",\"s\":\"");
        put(&m->b, y->name);
        put(&m->b, l->buy ? "\",\"S\":\"Buy\",\"v\":" : "\",\"S\":\"Sell\",\"v\":");
        candle_put_qty(&m->b, &y->sp, l->q);
        put(&m->b, ",\"p\":");
        candle_put_px(&m->b, &y->sp, l->px);
        put(&m->b, "}");
        if (i == y->nlq - 1) {
            put(&m->b, "]}");
            deliver(m, g, 0);
        }
    }
}

/* ---- klines ---- */

/* Sends g's candle in progress (confirm: closed) to sub (NULL: every subscriber). */
static void kline_send(struct byb_market *m, struct bgen *g, bool confirm, int64_t now,
                       struct bsub *sub)
{
    const struct bsym *y = m->syms[g->sym];

    m->b.len = 0;
    put(&m->b, "{\"topic\":\"");
    put(&m->b, g->topic);
    put(&m->b, "\",\"data\":[{\"start\":");
    put_i64(&m->b, g->open_ms);
    put(&m->b, ",\"end\":");
    put_i64(&m->b, g->open_ms + iv_ms(m, g->iv) - 1);
    put(&m->b, ",\"interval\":\"");
    put(&m->b, IVS[g->iv].name);
    put(&m->b, "\",\"open\":");
    candle_put_px(&m->b, &y->sp, g->o);
    put(&m->b, ",\"close\":");
    candle_put_px(&m->b, &y->sp, g->c);
    put(&m->b, ",\"high\":");
    candle_put_px(&m->b, &y->sp, g->h);
    put(&m->b, ",\"low\":");
    candle_put_px(&m->b, &y->sp, g->l);
    put(&m->b, ",\"volume\":");
    candle_put_qty(&m->b, &y->sp, g->v);
    put(&m->b, ",\"turnover\":");
    candle_put_quote(&m->b, &y->sp, g->q);
    put(&m->b, confirm ? ",\"confirm\":true,\"timestamp\":" : ",\"confirm\":false,\"timestamp\":");
    put_i64(&m->b, now);
    put(&m->b, "}],\"ts\":");
    put_i64(&m->b, now);
    put(&m->b, ",\"type\":\"snapshot\"}");
    if (sub)
        bybit_send(sub->p, g->topic, 0, 0, (const char *)m->b.data, m->b.len);
    else
        deliver(m, g, 0);
}

/* Starts the candle holding now, flat at the last price. */
static void kline_open(struct byb_market *m, struct bgen *g, int64_t now)
{
    int64_t len = iv_ms(m, g->iv);

    g->open_ms = now - now % len;
    g->o = g->h = g->l = g->c = m->syms[g->sym]->last;
    g->v = g->q = 0;
}

/* Closes the candle when its interval ended (confirm true), adds the tick's trades, sends the
 * candle in progress when due. */
static void kline_flush(struct byb_market *m, struct bgen *g, uint64_t now_loop, int64_t now)
{
    const struct bsym *y = m->syms[g->sym];
    int64_t len = iv_ms(m, g->iv);
    bool rolled = false;

    if (now >= g->open_ms + len) {
        kline_send(m, g, true, now, NULL);
        kline_open(m, g, now);
        rolled = true;
    }
    for (int i = 0; i < y->ntr; i++) {
        const struct fill *t = &y->tr[i];

        g->h = t->px > g->h ? t->px : g->h;
        g->l = t->px < g->l ? t->px : g->l;
        g->c = t->px;
        g->v += t->q;
        g->q += candle_quote(&y->sp, t->q, t->px);
    }
    if (rolled || now_loop >= g->due_ms) {
        int64_t step = len / 4 < 1000 ? (len / 4 < 20 ? 20 : len / 4) : 1000;

        kline_send(m, g, false, now, NULL);
        g->due_ms = now_loop + (uint64_t)step;
    }
}

/* ---- tickers ---- */

/* The ticker's values now, as the venue prints them, into v (names: LIN_TK or SPOT_TK). */
static int ticker_values(struct byb_market *m, const struct bgen *g, int64_t now,
                         char v[TK_MAX][40])
{
    const struct bsym *y = m->syms[g->sym];
    const struct fv_symparams *sp = &y->sp;
    int64_t pct = (y->last - y->prev24) * 1000000 / y->prev24;
    int64_t mark = (y->bid.v[0].px + y->ask.v[0].px) / 2;
    int64_t index = mark + (int64_t)((y->seq / 7) % 5) - 2;
    int64_t per = BYB_FUNDING_MIN * m->s->o->byb.minute_ms;
    int64_t oi = 1000000 + y->vol % 100000;
    int n = 0;

    snprintf(v[n++], 40, "%s", y->name);
    if (is_spot(m)) {
        fv_dec(v[n++], y->last, sp->td, sp->pdec);
        fv_dec(v[n++], y->high, sp->td, sp->pdec);
        fv_dec(v[n++], y->low, sp->td, sp->pdec);
        fv_dec(v[n++], y->prev24, sp->td, sp->pdec);
        fv_dec(v[n++], y->vol, sp->qd, sp->qdec);
        fv_dec(v[n++], y->turnover, sp->vdec, sp->vdec);
        fv_dec(v[n++], pct, 6, 6);
        fv_dec(v[n++], index > 0 ? index : mark, sp->td, sp->pdec);
        return n;
    }
    snprintf(v[n++], 40, "%s", y->dir > 0 ? "PlusTick" : y->dir < 0 ? "MinusTick" : "ZeroPlusTick");
    fv_dec(v[n++], pct, 6, 6);
    fv_dec(v[n++], y->last, sp->td, sp->pdec);
    fv_dec(v[n++], y->prev24, sp->td, sp->pdec);
    fv_dec(v[n++], y->high, sp->td, sp->pdec);
    fv_dec(v[n++], y->low, sp->td, sp->pdec);
    fv_dec(v[n++], y->prev24, sp->td, sp->pdec);
    fv_dec(v[n++], mark, sp->td, sp->pdec);
    fv_dec(v[n++], index > 0 ? index : mark, sp->td, sp->pdec);
    fv_dec(v[n++], oi, sp->qd, sp->qdec);
    fv_dec(v[n++], candle_quote(sp, oi, mark), sp->vdec, sp->vdec);
    fv_dec(v[n++], y->turnover, sp->vdec, sp->vdec);
    fv_dec(v[n++], y->vol, sp->qd, sp->qdec);
    snprintf(v[n++], 40, "%" PRId64, (now / per + 1) * per);
    fv_dec(v[n++], (int64_t)(y->sp.h % 200) - 50 + (y->seq / 100) % 7, 6, 6);
    fv_dec(v[n++], y->bid.v[0].px, sp->td, sp->pdec);
    fv_dec(v[n++], y->bid.v[0].q, sp->qd, sp->qdec);
    fv_dec(v[n++], y->ask.v[0].px, sp->td, sp->pdec);
    fv_dec(v[n++], y->ask.v[0].q, sp->qd, sp->qdec);
    v[n++][0] = '\0';
    v[n++][0] = '\0';
    return n;
}

/* A ticker message with the fields of g->tk that `send` marks (every one for a snapshot). */
static void fmt_ticker(struct byb_market *m, const struct bgen *g, bool snap, const bool *send,
                       int64_t now)
{
    const char *const *names = is_spot(m) ? SPOT_TK : LIN_TK;
    const struct bsym *y = m->syms[g->sym];
    bool first = true;

    head(&m->b, g, snap ? "snapshot" : "delta", now);
    put(&m->b, ",\"cs\":");
    put_i64(&m->b, y->seq);
    put(&m->b, ",\"data\":{");
    for (int i = 0; i < g->ntk; i++) {
        if (!snap && !send[i])
            continue;
        fv_buf_printf(&m->b, "%s\"%s\":\"%s\"", first ? "" : ",", names[i], g->tk[i]);
        first = false;
    }
    put(&m->b, "}}");
}

/* Spot: a snapshot when a value changed (at least every second); linear: a delta of the
 * fields that changed. g->tk becomes what was sent. */
static void ticker_flush(struct byb_market *m, struct bgen *g, uint64_t now_loop, int64_t now)
{
    char v[TK_MAX][40];
    bool send[TK_MAX] = {true}, any = false;
    int n = ticker_values(m, g, now, v);

    for (int i = 1; i < n; i++) {
        send[i] = strcmp(v[i], g->tk[i]) != 0;
        any |= send[i];
    }
    g->ntk = n;
    memcpy(g->tk, v, sizeof(v));
    if (is_spot(m) ? !any && now_loop < g->tk_sent_ms + 1000 : !any)
        return;
    g->tk_sent_ms = now_loop;
    fmt_ticker(m, g, is_spot(m), send, now);
    deliver(m, g, 0);
}

/* ---- the driver ---- */

/* Sends what a generator has to say at this tick. */
static void gen_flush(struct byb_market *m, struct bgen *g, uint64_t now_loop, int64_t now)
{
    if (!g->nsubs)
        return;
    switch (g->type) {
    case BYB_T_TRADE:
        trades_flush(m, g, now);
        break;
    case BYB_T_BOOK:
        book_flush(m, g, now_loop, now);
        break;
    case BYB_T_KLINE:
        kline_flush(m, g, now_loop, now);
        break;
    case BYB_T_TICKER:
        if (now_loop >= g->due_ms) {
            ticker_flush(m, g, now_loop, now);
            g->due_ms = now_loop + BYB_TICKER_MS;
        }
        break;
    default:
        liqs_flush(m, g, now);
        break;
    }
}

/* The tick: paced events on every symbol with a subscriber, every generator's messages, the
 * idle cut, then the output goes out. */
static void on_timer(uv_timer_t *t)
{
    struct byb_market *m = t->data;
    const struct fv_opts *o = m->s->o;
    uint64_t now_loop = fv_now_ms(m->s), due;
    int64_t now = fv_wall_ms();

    due = fv_market_due(o, &m->pace, now_loop);
    for (; m->pace.sent < due; m->pace.sent++)
        for (size_t i = 0; i < m->nsyms; i++)
            if (m->syms[i]->users)
                event(m, m->syms[i], now);
    for (size_t i = 0; i < m->ngens; i++)
        gen_flush(m, m->gens[i], now_loop, now);
    for (size_t i = 0; i < m->nsyms; i++)
        m->syms[i]->ntr = m->syms[i]->nlq = 0;
    for (struct fv_peer *p = m->s->peers; p; p = p->next)
        if (p->vstate && p->cstate != FV_CLOSED)
            peer_flush(p);
}

/* ---- generators ---- */

/* The symbol after prefix in topic[0..len) (bybit_symbol_ok()), or -1. */
static int topic_sym(struct byb_market *m, const char *s, size_t len)
{
    return bybit_symbol_ok(s, len) ? sym_get(m, s, len) : -1;
}

/* True when topic[0..len) starts with prefix; *rest is what follows. */
static bool starts(const char *topic, size_t len, const char *prefix, const char **rest,
                   size_t *rlen)
{
    size_t n = strlen(prefix);

    if (len <= n || memcmp(topic, prefix, n) != 0)
        return false;
    *rest = topic + n;
    *rlen = len - n;
    return true;
}

/* See fv.h. */
int bybm_topic(struct fv_server *s, const char *topic, size_t len)
{
    struct byb_market *m = s->byb;
    struct bgen g = {0}, *ng;
    const char *r;
    size_t rl;

    if (!m || len >= sizeof(g.topic))
        return -1;
    for (size_t i = 0; i < m->ngens; i++)
        if (strlen(m->gens[i]->topic) == len && memcmp(m->gens[i]->topic, topic, len) == 0)
            return (int)i;
    if (starts(topic, len, "publicTrade.", &r, &rl)) {
        g.type = BYB_T_TRADE;
    } else if (starts(topic, len, "tickers.", &r, &rl)) {
        g.type = BYB_T_TICKER;
    } else if (!is_spot(m) && starts(topic, len, "allLiquidation.", &r, &rl)) {
        g.type = BYB_T_ALLLIQ;
    } else if (!is_spot(m) && starts(topic, len, "liquidation.", &r, &rl)) {
        g.type = BYB_T_LIQ;
    } else if (starts(topic, len, "orderbook.", &r, &rl)) {
        size_t d = strcspn(r, ".");

        g.type = BYB_T_BOOK;
        g.depth = d < rl ? atoi(r) : 0;
        if ((g.depth != 1 && g.depth != 50 && g.depth != 200 && g.depth != 1000) ||
            d != (size_t)snprintf(g.topic, sizeof(g.topic), "%d", g.depth))
            return -1;
        r += d + 1;
        rl -= d + 1;
    } else if (starts(topic, len, "kline.", &r, &rl)) {
        size_t d = strcspn(r, ".");

        g.type = BYB_T_KLINE;
        g.iv = -1;
        for (int i = 0; d < rl && i < N_IVS; i++)
            if (strlen(IVS[i].name) == d && memcmp(IVS[i].name, r, d) == 0)
                g.iv = i;
        if (g.iv < 0)
            return -1;
        r += d + 1;
        rl -= d + 1;
    } else {
        return -1;
    }
    if ((g.sym = topic_sym(m, r, rl)) < 0)
        return -1;
    memcpy(g.topic, topic, len);
    g.topic[len] = '\0';
    if (g.type == BYB_T_BOOK) {
        int d = g.depth < BYB_LEVELS ? g.depth : BYB_LEVELS;

        g.vb = fv_xcalloc((size_t)d, sizeof(struct lvl));
        g.va = fv_xcalloc((size_t)d, sizeof(struct lvl));
        g.u = 1000 + (int64_t)(m->syms[g.sym]->sp.h % 100000) + g.depth;
    }
    ng = fv_xmalloc(sizeof(*ng));
    *ng = g;
    m->gens = realloc(m->gens, (m->ngens + 1) * sizeof(*m->gens));
    if (!m->gens)
        abort();
    m->gens[m->ngens] = ng;
    return (int)m->ngens++;
}

/* See fv.h. */
const char *bybm_topic_name(const struct fv_server *s, int gen)
{
    return s->byb->gens[gen]->topic;
}

/* See fv.h. A generator that had no subscriber starts from the market as it is now; one that
 * had sends its pending changes first, so the snapshot and the updates after it agree. */
void bybm_attach(struct fv_server *s, int gen, struct fv_peer *p)
{
    struct byb_market *m = s->byb;
    struct bgen *g = m->gens[gen];
    struct bsym *y = m->syms[g->sym];
    uint64_t now_loop = fv_now_ms(s);
    int64_t now = fv_wall_ms();
    struct bsub *u;

    if (!g->nsubs) {
        y->users++;
        switch (g->type) {
        case BYB_T_BOOK:
            g->nb = g->na = 0;
            view_diff(&y->bid, g->depth, g->vb, &g->nb, m->chg[0]);
            view_diff(&y->ask, g->depth, g->va, &g->na, m->chg[1]);
            g->u++; /* a new snapshot */
            g->due_ms = now_loop + BYB_L1_RESEND_MS;
            break;
        case BYB_T_KLINE:
            kline_open(m, g, now);
            g->due_ms = now_loop + 1000;
            break;
        case BYB_T_TICKER:
            g->ntk = ticker_values(m, g, now, g->tk);
            g->due_ms = now_loop + BYB_TICKER_MS;
            g->tk_sent_ms = now_loop;
            break;
        default:
            break;
        }
    } else if (g->type == BYB_T_TICKER) {
        ticker_flush(m, g, now_loop, now);
    }
    if (g->nsubs == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 4;
        g->subs = realloc(g->subs, g->cap * sizeof(*g->subs));
        if (!g->subs)
            abort();
    }
    u = &g->subs[g->nsubs++];
    *u = (struct bsub){.p = p};
    switch (g->type) {
    case BYB_T_BOOK:
        fmt_book(m, g, true, g->vb, g->nb, g->va, g->na, now);
        bybit_send(p, g->topic, 0, 0, (const char *)m->b.data, m->b.len);
        s->stats.snapshots++;
        break;
    case BYB_T_TICKER:
        fmt_ticker(m, g, true, NULL, now);
        bybit_send(p, g->topic, 0, 0, (const char *)m->b.data, m->b.len);
        s->stats.snapshots++;
        break;
    case BYB_T_KLINE:
        kline_send(m, g, false, now, u);
        break;
    default:
        break;
    }
    peer_flush(p);
}

/* See fv.h. */
void bybm_detach(struct fv_server *s, int gen, struct fv_peer *p)
{
    struct bgen *g = s->byb ? s->byb->gens[gen] : NULL;

    for (size_t i = 0; g && i < g->nsubs; i++) {
        if (g->subs[i].p != p)
            continue;
        memmove(g->subs + i, g->subs + i + 1, (g->nsubs - i - 1) * sizeof(*g->subs));
        if (!--g->nsubs)
            s->byb->syms[g->sym]->users--;
        break;
    }
}

/* ---- life cycle ---- */

/* See fv.h. */
int bybm_init(struct fv_server *s)
{
    struct byb_market *m = fv_xcalloc(1, sizeof(*m));
    unsigned tick = fv_market_tick_ms(s->o, BYB_TICK_MAX_MS);

    m->s = s;
    s->byb = m;
    m->chg[0] = fv_xcalloc(2 * BYB_LEVELS, sizeof(struct lvl));
    m->chg[1] = fv_xcalloc(2 * BYB_LEVELS, sizeof(struct lvl));
    uv_timer_init(s->loop, &m->timer);
    m->timer.data = m;
    uv_timer_start(&m->timer, on_timer, tick, tick);
    return 0;
}

static void on_closed(uv_handle_t *h)
{
    (void)h;
}

/* See fv.h. */
void bybm_stop(struct fv_server *s)
{
    struct byb_market *m = s->byb;

    if (m && !uv_is_closing((uv_handle_t *)&m->timer))
        uv_close((uv_handle_t *)&m->timer, on_closed);
}

/* See fv.h. */
void bybm_fini(struct fv_server *s)
{
    struct byb_market *m = s->byb;

    if (!m)
        return;
    for (size_t i = 0; i < m->ngens; i++) {
        free(m->gens[i]->subs);
        free(m->gens[i]->vb);
        free(m->gens[i]->va);
        free(m->gens[i]);
    }
    for (size_t i = 0; i < m->nsyms; i++)
        free(m->syms[i]);
    free(m->gens);
    free(m->syms);
    free(m->chg[0]);
    free(m->chg[1]);
    fv_buf_free(&m->b);
    free(m);
    s->byb = NULL;
}
