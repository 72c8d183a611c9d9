/*
 * The synthetic market (--market SYMBOLS): one market for the whole venue, shared by every
 * connection, as on the real venue.
 *
 * Per symbol it keeps an order book of MKT_LEVELS levels a side around a drifting mid (prices in
 * ticks, quantities in steps, printed as decimal strings) and venue-wide ids: trade ids,
 * aggregate trade ids and book update ids. Book events (a trade, a quantity change, a new best
 * level inside the spread, a cancelled best level) happen --market-rate times a second per
 * symbol, or flat out under FV_WATERMARK backpressure with --market-rate max; the mid is pulled
 * towards the symbol's price path (candle.c), so books and candles tell the same story.
 *
 * The design choice: every stream message is built once and sent to every connection that is
 * subscribed to the stream (a "generator" per stream name), so the messages of one stream are
 * byte-identical on all connections, ids included. That is what lets a client drop duplicates
 * by id while it runs two connections during a make-before-break rotation.
 *
 * Depth diffs: each diff generator keeps the set of levels changed since its last message and
 * sends their quantities in the book at its cadence (U = previous u + 1, u = the current update
 * id; futures add pu and T). The REST snapshot of a market symbol is the book at its current
 * update id, so snapshot + diffs sync by the venue's rules. For futures the snapshot request
 * first makes one book event (a sparse or quiet symbol, which makes no other events, takes an
 * update id with no change instead), so lastUpdateId is never the u of a diff already sent: the
 * next diff of every speed then satisfies U <= lastUpdateId <= u, the futures bridge rule.
 *
 * Busy, sparse and quiet symbols. A busy symbol (the default) makes book events at
 * --market-rate and its kline, ticker and miniTicker streams push at their fixed period. A
 * --market-sparse symbol makes exactly one book event every --market-sparse-period seconds, a
 * taker order against the best level (so trade, aggTrade, bookTicker and the diffs all see it);
 * a --market-quiet symbol makes none. Those two behave as the venue does with symbols nobody
 * trades (src/venue/README.md 0.1): kline, ticker and miniTicker push at their period only when the
 * symbol traded since the stream's previous message, a kline's closing update (x:true) goes out
 * only for a candle that had a trade, and diffs only when the book changed (as for every symbol).
 * Partial depth and markPrice keep their fixed cadence for every symbol: in this venue's model
 * they are snapshots of state, not reports of change. forceOrder is busy symbols' only. Busy
 * symbols keep fixed periods so that tests built on them see a steady flow at any rate.
 *
 * Trade ids are one space per symbol: trade t, aggTrade f/l, kline f/L (candle.c reads them off
 * the symbol's tape, the ids of each second) and the 24 h ticker's F/L.
 *
 * Nothing here logs per message; the only line is "market stream NAME" when a stream starts.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fv.h"

#define MKT_LEVELS 200           /* levels a side */
#define MKT_CAP 208              /* room for one insertion before the far level goes */
#define MKT_TICK_MAX_MS 10       /* the timer's longest period */
#define MKT_BATCH 64             /* events per symbol per idle turn when flat out */
#define DAY_MS INT64_C(86400000) /* a day */
#define FUNDING_MS 28800000      /* futures funding period (8 h) */

enum gen_type {
    G_TRADE,   /* <s>@trade (spot) */
    G_AGG,     /* <s>@aggTrade */
    G_BOOKT,   /* <s>@bookTicker */
    G_DIFF,    /* <s>@depth[@100ms|@500ms] */
    G_PARTIAL, /* <s>@depth5/10/20[@100ms|@500ms] */
    G_KLINE,   /* <s>@kline_<iv> */
    G_TICKER,  /* <s>@ticker */
    G_MINI,    /* <s>@miniTicker */
    G_MARK,    /* <s>@markPrice[@1s] (futures) */
    G_FORCE,   /* <s>@forceOrder (futures) */
};

/* One book level. */
struct mkt_level {
    int64_t px;  /* price, ticks */
    int64_t qty; /* quantity, steps (> 0) */
};

/* One side of a book, best first. */
struct mkt_side {
    struct mkt_level v[MKT_CAP]; /* levels */
    int n;                       /* levels used */
    bool bid;                    /* bids: descending prices; asks: ascending */
};

/* The levels a diff generator has to report: a set of (side, price) keys with stamps, so
 * clearing it after a message is one increment. */
struct dirty {
    uint64_t *keys;   /* hash slots: key + 1, 0 = never used */
    uint32_t *stamps; /* slot is in the set when its stamp equals `stamp` */
    size_t cap;       /* slots, a power of two */
    uint32_t stamp;   /* current stamp */
    uint64_t *items;  /* keys in the set, in insertion order */
    size_t n, icap;   /* used, allocated */
};

/* One generated stream: everything subscribed to its name gets the same messages. */
struct mkt_gen {
    int sid;           /* stream id */
    int sym;           /* market symbol index */
    uint8_t type;      /* enum gen_type */
    unsigned period;   /* cadence in ms, 0 for event-driven streams */
    uint64_t due_ms;   /* loop time of the next periodic message */
    int levels;        /* G_PARTIAL: 5, 10 or 20 */
    int iv;            /* G_KLINE: interval index */
    int64_t open_ms;   /* G_KLINE: open time of the candle in progress */
    int64_t seen;      /* last trade id its previous message showed (change-driven pushes) */
    uint64_t last_u;   /* G_DIFF, G_PARTIAL: update id of the previous message */
    struct dirty *set; /* G_DIFF: levels changed since the previous message */
};

/* One market symbol. */
struct mkt_sym {
    struct fv_symparams sp; /* name, tick, step, price path */
    bool quiet;             /* --market-quiet: no book events at all */
    bool sparse;            /* --market-sparse: one trade per sparse period, nothing else */
    uint64_t sparse_due;    /* sparse: loop time of the next trade */
    long sparse_made;       /* sparse: trades made (stops at --market-events) */
    bool id_reserved;       /* an update id was taken for a futures snapshot, no event since */
    struct fv_tape tape;    /* trade ids by second (kline f, L, n) */
    struct mkt_side bid;    /* bids */
    struct mkt_side ask;    /* asks */
    uint64_t upd_id;        /* book update id of the last event */
    uint64_t trade_id;      /* last trade id */
    uint64_t agg_id;        /* last aggregate trade id */
    int64_t last_event_ms;  /* Unix ms of the last book event (futures "T") */
    int64_t last_px;        /* last trade price, 0 before the first trade */
    int64_t last_qty;       /* last aggregate trade quantity */
    int64_t hi, lo;         /* trade price extremes since start (0 = none) */
    int64_t vol;            /* traded quantity since start, steps */
    int64_t trades;         /* trades since start */
    int64_t step;           /* 10^qd: one unit of quantity */
    int64_t target;         /* the price path's value, cached per 100 ms */
    int64_t target_slot;    /* which 100 ms the cache holds */
    uint64_t rng;           /* xorshift state */
    int *gens;              /* indices of this symbol's generators */
    size_t ngens, capgens;  /* used, allocated */
};

struct fv_market {
    struct fv_server *s;   /* owner */
    struct mkt_sym *syms;  /* the symbols, in --market order */
    size_t nsyms;          /* count */
    struct mkt_gen *gens;  /* every generator ever started */
    size_t ngens, capgens; /* used, allocated */
    int32_t *gen_of_sid;   /* by stream id: generator index, -1 none, -2 not looked at */
    size_t nsid;           /* entries */
    uv_timer_t timer;      /* paced events and every periodic stream */
    uv_idle_t idle;        /* flat-out events */
    bool idle_on;          /* idle running */
    unsigned tick_ms;      /* timer period */
    struct fv_pace pace;   /* paced event rounds */
    uint64_t sparse_ms;    /* --market-sparse-period in ms */
    struct fv_buf msg;     /* the message being built: combined form, raw inside */
    size_t raw_off;        /* where the raw payload starts in msg */
    int64_t *sb, *sa;      /* diff scratch: changed bid and ask prices */
    size_t scap;           /* their capacity */
};

/* ---- small helpers ---- */

/* xorshift64: cheap, repeatable book events. */
static uint64_t rng_next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* True when a connection would be sent messages of stream sid now. */
static bool subscribed(const struct fv_market *m, int sid)
{
    for (const struct fv_peer *p = m->s->peers; p; p = p->next)
        if (peer_live(p) && binance_delivers(p, sid))
            return true;
    return false;
}

/* Starts a message of g's stream in m->msg, or returns false when nobody is subscribed. */
static bool begin(struct fv_market *m, const struct mkt_gen *g)
{
    const char *name = m->s->streams.v[g->sid].name;

    if (!subscribed(m, g->sid))
        return false;
    m->msg.len = 0;
    fv_buf_append(&m->msg, "{\"stream\":\"", 11);
    fv_buf_append(&m->msg, name, strlen(name));
    fv_buf_append(&m->msg, "\",\"data\":", 9);
    m->raw_off = m->msg.len;
    return true;
}

/* Ends the message and sends it to every connection subscribed to g's stream. */
static void finish(struct fv_market *m, const struct mkt_gen *g)
{
    size_t rlen = m->msg.len - m->raw_off;
    const char *t;

    fv_buf_append(&m->msg, "}", 1);
    t = (const char *)m->msg.data;
    for (struct fv_peer *p = m->s->peers; p; p = p->next)
        if (peer_live(p) && binance_delivers(p, g->sid))
            binance_send(p, g->sid, t, m->msg.len, t + m->raw_off, rlen);
}

/* Hands what was sent to the sockets. */
static void flush_all(struct fv_market *m)
{
    for (struct fv_peer *p = m->s->peers; p; p = p->next)
        if (peer_live(p))
            peer_flush(p);
}

/* True on the spot venue (message shapes differ from futures). */
static bool spot(const struct fv_market *m)
{
    return fv_binance_spot(m->s->o);
}

/* True for a symbol whose kline and tickers push only on change (sparse or quiet). */
static bool lazy(const struct mkt_sym *y)
{
    return y->quiet || y->sparse;
}

/* Appends [["p","q"],...] for the first n levels of side sd. */
static void put_levels(struct fv_buf *b, const struct fv_symparams *sp, const struct mkt_side *sd,
                       int n)
{
    fv_buf_append(b, "[", 1);
    for (int i = 0; i < n && i < sd->n; i++) {
        fv_buf_append(b, i ? ",[" : "[", i ? 2 : 1);
        candle_put_px(b, sp, sd->v[i].px);
        fv_buf_append(b, ",", 1);
        candle_put_qty(b, sp, sd->v[i].qty);
        fv_buf_append(b, "]", 1);
    }
    fv_buf_append(b, "]", 1);
}

/* ---- dirty sets ---- */

/* Adds key to the set (no-op if present). */
static void dirty_add(struct dirty *d, uint64_t key)
{
    size_t i;

    if ((d->n + 1) * 2 > d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 256;

        free(d->keys);
        free(d->stamps);
        d->keys = fv_xcalloc(cap, sizeof(*d->keys));
        d->stamps = fv_xcalloc(cap, sizeof(*d->stamps));
        d->cap = cap;
        d->stamp = 1;
        for (size_t k = 0; k < d->n; k++) {
            i = (size_t)(d->items[k] * 0x9e3779b97f4a7c15ull >> 20) & (cap - 1);
            while (d->stamps[i] == d->stamp)
                i = (i + 1) & (cap - 1);
            d->keys[i] = d->items[k] + 1;
            d->stamps[i] = d->stamp;
        }
    }
    i = (size_t)(key * 0x9e3779b97f4a7c15ull >> 20) & (d->cap - 1);
    while (d->stamps[i] == d->stamp) {
        if (d->keys[i] == key + 1)
            return;
        i = (i + 1) & (d->cap - 1);
    }
    d->keys[i] = key + 1;
    d->stamps[i] = d->stamp;
    if (d->n == d->icap) {
        d->icap = d->icap ? d->icap * 2 : 128;
        d->items = realloc(d->items, d->icap * sizeof(*d->items));
        if (!d->items)
            abort();
    }
    d->items[d->n++] = key;
}

/* Empties the set. */
static void dirty_clear(struct dirty *d)
{
    d->n = 0;
    if (++d->stamp == 0) { /* wrapped: old stamps could match again */
        if (d->stamps)
            memset(d->stamps, 0, d->cap * sizeof(*d->stamps));
        d->stamp = 1;
    }
}

/* Frees a set (NULL is fine). */
static void dirty_free(struct dirty *d)
{
    if (!d)
        return;
    free(d->keys);
    free(d->stamps);
    free(d->items);
    free(d);
}

/* ---- the book ---- */

/* True when price a comes before price b on side sd. */
static bool before(const struct mkt_side *sd, int64_t a, int64_t b)
{
    return sd->bid ? a > b : a < b;
}

/* Index of price px on side sd, or -1. */
static int find_level(const struct mkt_side *sd, int64_t px)
{
    int lo = 0, hi = sd->n;

    while (lo < hi) {
        int mid = (lo + hi) / 2;

        if (sd->v[mid].px == px)
            return mid;
        if (before(sd, sd->v[mid].px, px))
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* A level of side sd at price px changed under the current update id: every diff stream of
 * the symbol will report it. */
static void note(struct fv_market *m, struct mkt_sym *y, const struct mkt_side *sd, int64_t px)
{
    for (size_t i = 0; i < y->ngens; i++) {
        struct mkt_gen *g = &m->gens[y->gens[i]];

        if (g->type == G_DIFF)
            dirty_add(g->set, (uint64_t)px << 1 | (sd->bid ? 1u : 0u));
    }
}

/* A random quantity: 1 to 50 units. */
static int64_t rand_qty(struct mkt_sym *y)
{
    return 1 + (int64_t)(rng_next(&y->rng) % (uint64_t)(50 * y->step));
}

/* Removes level i of side sd (noted as changed). */
static void remove_at(struct fv_market *m, struct mkt_sym *y, struct mkt_side *sd, int i)
{
    note(m, y, sd, sd->v[i].px);
    memmove(sd->v + i, sd->v + i + 1, (size_t)(sd->n - i - 1) * sizeof(sd->v[0]));
    sd->n--;
}

/* Inserts a level at index i of side sd (noted as changed); the caller keeps the order. */
static void insert_at(struct fv_market *m, struct mkt_sym *y, struct mkt_side *sd, int i,
                      int64_t px, int64_t qty)
{
    memmove(sd->v + i + 1, sd->v + i, (size_t)(sd->n - i) * sizeof(sd->v[0]));
    sd->v[i].px = px;
    sd->v[i].qty = qty;
    sd->n++;
    note(m, y, sd, px);
}

/* Brings side sd back to MKT_LEVELS: new levels beyond the far end, or the far ones removed. */
static void rebalance(struct fv_market *m, struct mkt_sym *y, struct mkt_side *sd)
{
    while (sd->n > MKT_LEVELS)
        remove_at(m, y, sd, sd->n - 1);
    while (sd->n < MKT_LEVELS && sd->n > 0) {
        int64_t gap = 1 + (int64_t)(rng_next(&y->rng) % 3);
        int64_t px = sd->v[sd->n - 1].px + (sd->bid ? -gap : gap);

        if (px <= 0)
            break;
        insert_at(m, y, sd, sd->n, px, rand_qty(y));
    }
}

/* The price path's value now (cached for 100 ms: it moves slowly). */
static int64_t target(struct mkt_sym *y, int64_t now)
{
    if (now / 100 != y->target_slot) {
        y->target_slot = now / 100;
        y->target = candle_price(&y->sp, now);
    }
    return y->target;
}

/* ---- event-driven messages ---- */

/* Sends one @trade message per fill and one @aggTrade message for a taker order. */
static void send_trades(struct fv_market *m, struct mkt_sym *y, int64_t now, int64_t px,
                        int64_t qty, uint64_t first, int64_t fills, bool buyer_maker)
{
    const struct fv_symparams *sp = &y->sp;

    for (size_t i = 0; i < y->ngens; i++) {
        const struct mkt_gen *g = &m->gens[y->gens[i]];

        if (g->type == G_TRADE) {
            for (int64_t k = 0; k < fills; k++) {
                int64_t q = qty / fills + (k == fills - 1 ? qty % fills : 0);

                if (!begin(m, g))
                    break;
                fv_buf_printf(
                    &m->msg,
                    "{\"e\":\"trade\",\"E\":%" PRId64 ",\"s\":\"%s\",\"t\":%" PRIu64 ",\"p\":", now,
                    sp->name, first + (uint64_t)k);
                candle_put_px(&m->msg, sp, px);
                fv_buf_append(&m->msg, ",\"q\":", 5);
                candle_put_qty(&m->msg, sp, q);
                fv_buf_printf(&m->msg, ",\"T\":%" PRId64 ",\"m\":%s,\"M\":true}", now,
                              buyer_maker ? "true" : "false");
                finish(m, g);
            }
        } else if (g->type == G_AGG && begin(m, g)) {
            if (spot(m))
                fv_buf_printf(&m->msg,
                              "{\"e\":\"aggTrade\",\"E\":%" PRId64 ",\"s\":\"%s\",\"a\":%" PRIu64
                              ",\"p\":",
                              now, sp->name, y->agg_id);
            else
                fv_buf_printf(&m->msg,
                              "{\"e\":\"aggTrade\",\"E\":%" PRId64 ",\"a\":%" PRIu64
                              ",\"s\":\"%s\",\"p\":",
                              now, y->agg_id, sp->name);
            candle_put_px(&m->msg, sp, px);
            fv_buf_append(&m->msg, ",\"q\":", 5);
            candle_put_qty(&m->msg, sp, qty);
            fv_buf_printf(&m->msg,
                          ",\"f\":%" PRIu64 ",\"l\":%" PRIu64 ",\"T\":%" PRId64 ",\"m\":%s%s}",
                          first, first + (uint64_t)fills - 1, now, buyer_maker ? "true" : "false",
                          spot(m) ? ",\"M\":true" : "");
            finish(m, g);
        }
    }
}

/* Sends the symbol's best bid and ask to its @bookTicker subscribers. */
static void send_book_ticker(struct fv_market *m, struct mkt_sym *y, int64_t now)
{
    const struct fv_symparams *sp = &y->sp;

    for (size_t i = 0; i < y->ngens; i++) {
        const struct mkt_gen *g = &m->gens[y->gens[i]];

        if (g->type != G_BOOKT || !begin(m, g))
            continue;
        if (spot(m))
            fv_buf_printf(&m->msg, "{\"u\":%" PRIu64 ",\"s\":\"%s\",\"b\":", y->upd_id, sp->name);
        else
            fv_buf_printf(&m->msg,
                          "{\"e\":\"bookTicker\",\"u\":%" PRIu64 ",\"s\":\"%s\",\"b\":", y->upd_id,
                          sp->name);
        candle_put_px(&m->msg, sp, y->bid.v[0].px);
        fv_buf_append(&m->msg, ",\"B\":", 5);
        candle_put_qty(&m->msg, sp, y->bid.v[0].qty);
        fv_buf_append(&m->msg, ",\"a\":", 5);
        candle_put_px(&m->msg, sp, y->ask.v[0].px);
        fv_buf_append(&m->msg, ",\"A\":", 5);
        candle_put_qty(&m->msg, sp, y->ask.v[0].qty);
        if (spot(m))
            fv_buf_append(&m->msg, "}", 1);
        else
            fv_buf_printf(&m->msg, ",\"T\":%" PRId64 ",\"E\":%" PRId64 "}", y->last_event_ms, now);
        finish(m, g);
    }
}

/* A taker order against the best level of the other side: 1 to 3 fills at one price. */
static void trade(struct fv_market *m, struct mkt_sym *y, int64_t now, bool buy, uint64_t r)
{
    struct mkt_side *sd = buy ? &y->ask : &y->bid;
    struct mkt_level *lv = &sd->v[0];
    int64_t px = lv->px, qty, fills;
    uint64_t first;

    if ((r >> 16) % 10 < 3 || lv->qty == 1)
        qty = lv->qty;
    else
        qty = 1 + (int64_t)((r >> 20) % (uint64_t)(lv->qty - 1));
    fills = 1 + (int64_t)((r >> 32) % 3);
    if (fills > qty)
        fills = qty;
    first = y->trade_id + 1;
    y->trade_id += (uint64_t)fills;
    y->agg_id++;
    candle_tape_note(&y->tape, now, (int64_t)first, (int64_t)y->trade_id);
    if (qty == lv->qty) {
        remove_at(m, y, sd, 0);
        rebalance(m, y, sd);
    } else {
        lv->qty -= qty;
        note(m, y, sd, px);
    }
    y->last_px = px;
    y->last_qty = qty;
    if (!y->hi || px > y->hi)
        y->hi = px;
    if (!y->lo || px < y->lo)
        y->lo = px;
    y->vol += qty;
    y->trades += fills;
    send_trades(m, y, now, px, qty, first, fills, !buy);
}

enum ev_kind {
    EV_ANY,        /* whatever the dice say */
    EV_DEEP_QUOTE, /* a quantity change below the top (REST snapshot bridge) */
    EV_TRADE,      /* a taker order against the best level (sparse symbols) */
};

/* One book event under a new update id. The side is chosen towards the price path 7 times in
 * 10, so the mid follows it loosely. */
static void event(struct fv_market *m, struct mkt_sym *y, int64_t now, enum ev_kind kind)
{
    struct mkt_level b0 = y->bid.v[0], a0 = y->ask.v[0];
    uint64_t r = rng_next(&y->rng);
    unsigned roll = kind == EV_DEEP_QUOTE ? 50 : kind == EV_TRADE ? 0 : (unsigned)(r % 100);
    bool down = b0.px + a0.px > 2 * target(y, now);
    bool dn = (r >> 8) % 10 < 7 ? down : !down;

    y->upd_id++;
    y->id_reserved = false;
    y->last_event_ms = now;
    if (roll < 35) {
        trade(m, y, now, !dn, r);
    } else if (roll >= 80 && roll < 90 && a0.px - b0.px >= 2) {
        /* A new best level inside the spread; the far level of that side goes. */
        struct mkt_side *sd = dn ? &y->ask : &y->bid;
        int64_t in = 1 + (int64_t)((r >> 24) % (uint64_t)(a0.px - b0.px - 1));

        insert_at(m, y, sd, 0, dn ? a0.px - in : b0.px + in, rand_qty(y));
        rebalance(m, y, sd);
    } else if (roll >= 90 && y->bid.n > 1 && y->ask.n > 1) {
        /* The best level is cancelled; a new one appears at the far end. */
        struct mkt_side *sd = dn ? &y->bid : &y->ask;

        remove_at(m, y, sd, 0);
        rebalance(m, y, sd);
    } else {
        /* A quantity change, mostly near the top. */
        struct mkt_side *sd = (r >> 28) & 1 ? &y->bid : &y->ask;
        int span = (r >> 30) % 10 < 7 && sd->n > 20 ? 20 : sd->n;
        int i = (int)((r >> 36) % (uint64_t)span);

        if (kind == EV_DEEP_QUOTE && i == 0 && sd->n > 1)
            i = 1;
        sd->v[i].qty = rand_qty(y);
        note(m, y, sd, sd->v[i].px);
    }
    if (b0.px != y->bid.v[0].px || b0.qty != y->bid.v[0].qty || a0.px != y->ask.v[0].px ||
        a0.qty != y->ask.v[0].qty)
        send_book_ticker(m, y, now);
}

/* ---- periodic messages ---- */

/* qsort orders: bids best (highest) first, asks best (lowest) first. */
static int cmp_desc(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? 1 : x > y ? -1 : 0;
}

/* The ask order. */
static int cmp_asc(const void *a, const void *b)
{
    return -cmp_desc(a, b);
}

/* Appends the changed levels of one side: their quantity now, "0" for removed ones. */
static void put_changes(struct fv_buf *b, const struct fv_symparams *sp, const struct mkt_side *sd,
                        const int64_t *px, size_t n)
{
    fv_buf_append(b, "[", 1);
    for (size_t i = 0; i < n; i++) {
        int k = find_level(sd, px[i]);

        fv_buf_append(b, i ? ",[" : "[", i ? 2 : 1);
        candle_put_px(b, sp, px[i]);
        fv_buf_append(b, ",", 1);
        candle_put_qty(b, sp, k >= 0 ? sd->v[k].qty : 0);
        fv_buf_append(b, "]", 1);
    }
    fv_buf_append(b, "]", 1);
}

/* A diff message when the book changed since the previous one. An update id taken for a
 * futures snapshot without a book change (market_depth) sends nothing: the next diff's U..u
 * covers it. */
static void send_diff(struct fv_market *m, struct mkt_gen *g, struct mkt_sym *y, int64_t now)
{
    struct dirty *d = g->set;
    size_t nb = 0, na = 0;

    if (!d->n)
        return;
    if (begin(m, g)) {
        if (d->n > m->scap) {
            m->scap = d->n * 2;
            free(m->sb);
            free(m->sa);
            m->sb = fv_xmalloc(m->scap * sizeof(*m->sb));
            m->sa = fv_xmalloc(m->scap * sizeof(*m->sa));
        }
        for (size_t i = 0; i < d->n; i++) {
            if (d->items[i] & 1)
                m->sb[nb++] = (int64_t)(d->items[i] >> 1);
            else
                m->sa[na++] = (int64_t)(d->items[i] >> 1);
        }
        qsort(m->sb, nb, sizeof(*m->sb), cmp_desc);
        qsort(m->sa, na, sizeof(*m->sa), cmp_asc);
        if (spot(m))
            fv_buf_printf(&m->msg,
                          "{\"e\":\"depthUpdate\",\"E\":%" PRId64 ",\"s\":\"%s\",\"U\":%" PRIu64
                          ",\"u\":%" PRIu64 ",\"b\":",
                          now, y->sp.name, g->last_u + 1, y->upd_id);
        else
            fv_buf_printf(&m->msg,
                          "{\"e\":\"depthUpdate\",\"E\":%" PRId64 ",\"T\":%" PRId64
                          ",\"s\":\"%s\",\"U\":%" PRIu64 ",\"u\":%" PRIu64 ",\"pu\":%" PRIu64
                          ",\"b\":",
                          now, y->last_event_ms, y->sp.name, g->last_u + 1, y->upd_id, g->last_u);
        put_changes(&m->msg, &y->sp, &y->bid, m->sb, nb);
        fv_buf_append(&m->msg, ",\"a\":", 5);
        put_changes(&m->msg, &y->sp, &y->ask, m->sa, na);
        fv_buf_append(&m->msg, "}", 1);
        finish(m, g);
    }
    g->last_u = y->upd_id;
    dirty_clear(d);
}

/* The top N of the book (spot: lastUpdateId, bids, asks; futures: a depthUpdate). */
static void send_partial(struct fv_market *m, struct mkt_gen *g, struct mkt_sym *y, int64_t now)
{
    if (begin(m, g)) {
        if (spot(m)) {
            fv_buf_printf(&m->msg, "{\"lastUpdateId\":%" PRIu64 ",\"bids\":", y->upd_id);
            put_levels(&m->msg, &y->sp, &y->bid, g->levels);
            fv_buf_append(&m->msg, ",\"asks\":", 8);
            put_levels(&m->msg, &y->sp, &y->ask, g->levels);
        } else {
            uint64_t first = y->upd_id > g->last_u ? g->last_u + 1 : y->upd_id;

            fv_buf_printf(&m->msg,
                          "{\"e\":\"depthUpdate\",\"E\":%" PRId64 ",\"T\":%" PRId64
                          ",\"s\":\"%s\",\"U\":%" PRIu64 ",\"u\":%" PRIu64 ",\"pu\":%" PRIu64
                          ",\"b\":",
                          now, y->last_event_ms ? y->last_event_ms : now, y->sp.name, first,
                          y->upd_id, g->last_u);
            put_levels(&m->msg, &y->sp, &y->bid, g->levels);
            fv_buf_append(&m->msg, ",\"a\":", 5);
            put_levels(&m->msg, &y->sp, &y->ask, g->levels);
        }
        fv_buf_append(&m->msg, "}", 1);
        finish(m, g);
    }
    g->last_u = y->upd_id;
}

/* A kline update for the candle opening at open_ms, as it stands at now. For a sparse or quiet
 * symbol only when it shows something new: an open candle with a trade the previous message
 * did not show, or the close of a candle that had a trade. */
static void send_kline(struct fv_market *m, struct mkt_gen *g, struct mkt_sym *y, int64_t open_ms,
                       int64_t now)
{
    struct fv_candle c;

    candle_compute(&y->sp, &y->tape, g->iv, open_ms, now, &c);
    if (lazy(y) && (!c.n || (!c.x && c.L <= g->seen)))
        return;
    if (c.L > g->seen)
        g->seen = c.L;
    if (!begin(m, g))
        return;
    fv_buf_printf(&m->msg, "{\"e\":\"kline\",\"E\":%" PRId64 ",\"s\":\"%s\",\"k\":", now,
                  y->sp.name);
    candle_format_k(&y->sp, g->iv, &c, &m->msg);
    fv_buf_append(&m->msg, "}", 1);
    finish(m, g);
}

/* 24-hour statistics as the tickers show them. */
struct stats {
    int64_t o, h, l, c; /* prices, ticks */
    int64_t v, q;       /* base volume (steps), quote volume (vdec decimals) */
    int64_t n, F, L;    /* trade count, first and last trade id */
};

/* The 24-hour statistics now: open from the price path a day ago, the rest from the market. */
static void day_stats(struct mkt_sym *y, int64_t now, struct stats *st)
{
    st->o = candle_price(&y->sp, now - DAY_MS);
    st->c = y->last_px ? y->last_px : y->bid.v[0].px;
    st->h = st->o > st->c ? st->o : st->c;
    st->l = st->o < st->c ? st->o : st->c;
    if (y->hi > st->h)
        st->h = y->hi;
    if (y->lo && y->lo < st->l)
        st->l = y->lo;
    st->v = (int64_t)(1 + (y->sp.h >> 8) % 1000) * 1440 * y->step + y->vol;
    st->q = candle_quote(&y->sp, st->v, (st->h + st->l) / 2);
    st->n = 100000 + (int64_t)((y->sp.h >> 20) % 100000) + y->trades;
    st->L = (int64_t)y->trade_id;
    st->F = st->L - st->n + 1;
}

/* @ticker (24hrTicker; spot adds x and the best bid and ask) and @miniTicker. */
static void send_ticker(struct fv_market *m, struct mkt_gen *g, struct mkt_sym *y, int64_t now)
{
    const struct fv_symparams *sp = &y->sp;
    struct fv_buf *b = &m->msg;
    struct stats st;
    char t[40];
    int n;

    if (!begin(m, g))
        return;
    day_stats(y, now, &st);
    if (g->type == G_MINI) {
        fv_buf_printf(b, "{\"e\":\"24hrMiniTicker\",\"E\":%" PRId64 ",\"s\":\"%s\",\"c\":", now,
                      sp->name);
        candle_put_px(b, sp, st.c);
        fv_buf_append(b, ",\"o\":", 5);
        candle_put_px(b, sp, st.o);
    } else {
        fv_buf_printf(b, "{\"e\":\"24hrTicker\",\"E\":%" PRId64 ",\"s\":\"%s\",\"p\":", now,
                      sp->name);
        candle_put_px(b, sp, st.c - st.o);
        n = fv_dec(t, (st.c - st.o) * 100000 / st.o, 3, 3);
        fv_buf_printf(b, ",\"P\":\"%.*s\",\"w\":", n, t);
        candle_put_px(b, sp, (st.h + st.l) / 2);
        if (spot(m)) {
            fv_buf_append(b, ",\"x\":", 5);
            candle_put_px(b, sp, st.o);
        }
        fv_buf_append(b, ",\"c\":", 5);
        candle_put_px(b, sp, st.c);
        fv_buf_append(b, ",\"Q\":", 5);
        candle_put_qty(b, sp, y->last_qty);
        if (spot(m)) {
            fv_buf_append(b, ",\"b\":", 5);
            candle_put_px(b, sp, y->bid.v[0].px);
            fv_buf_append(b, ",\"B\":", 5);
            candle_put_qty(b, sp, y->bid.v[0].qty);
            fv_buf_append(b, ",\"a\":", 5);
            candle_put_px(b, sp, y->ask.v[0].px);
            fv_buf_append(b, ",\"A\":", 5);
            candle_put_qty(b, sp, y->ask.v[0].qty);
        }
        fv_buf_append(b, ",\"o\":", 5);
        candle_put_px(b, sp, st.o);
    }
    fv_buf_append(b, ",\"h\":", 5);
    candle_put_px(b, sp, st.h);
    fv_buf_append(b, ",\"l\":", 5);
    candle_put_px(b, sp, st.l);
    fv_buf_append(b, ",\"v\":", 5);
    candle_put_qty(b, sp, st.v);
    fv_buf_append(b, ",\"q\":", 5);
    candle_put_quote(b, sp, st.q);
    if (g->type == G_TICKER)
        fv_buf_printf(b,
                      ",\"O\":%" PRId64 ",\"C\":%" PRId64 ",\"F\":%" PRId64 ",\"L\":%" PRId64
                      ",\"n\":%" PRId64,
                      now - DAY_MS, now, st.F, st.L, st.n);
    fv_buf_append(b, "}", 1);
    finish(m, g);
}

/* @markPrice[@1s]: mark = mid, index = the price path, funding rate from the funding period. */
static void send_mark(struct fv_market *m, struct mkt_gen *g, struct mkt_sym *y, int64_t now)
{
    const struct fv_symparams *sp = &y->sp;
    int64_t mark = (y->bid.v[0].px + y->ask.v[0].px) / 2, index = candle_price(sp, now);
    int64_t period = now / FUNDING_MS;
    int64_t rate = (int64_t)((sp->h ^ (uint64_t)period * 0x9e3779b97f4a7c15ull) % 40001) - 10000;
    char a[40], b[40], c[40], d[40];

    if (!begin(m, g))
        return;
    fv_dec(a, mark, sp->td, 8);
    fv_dec(b, index, sp->td, 8);
    fv_dec(c, (mark + index) / 2, sp->td, 8);
    fv_dec(d, rate, 8, 8);
    fv_buf_printf(&m->msg,
                  "{\"e\":\"markPriceUpdate\",\"E\":%" PRId64
                  ",\"s\":\"%s\",\"p\":\"%s\",\"i\":\"%s\",\"P\":\"%s\",\"r\":\"%s\",\"T\":%" PRId64
                  "}",
                  now, sp->name, a, b, c, d, (period + 1) * FUNDING_MS);
    finish(m, g);
}

/* @forceOrder: a liquidation filled just beyond the best price. */
static void send_force(struct fv_market *m, struct mkt_gen *g, struct mkt_sym *y, int64_t now)
{
    const struct fv_symparams *sp = &y->sp;
    uint64_t r = rng_next(&y->rng);
    bool sell = r & 1;
    int64_t best = sell ? y->bid.v[0].px : y->ask.v[0].px;
    int64_t off = 1 + (int64_t)((r >> 8) % 5), qty = rand_qty(y);

    if (!begin(m, g))
        return;
    fv_buf_printf(&m->msg,
                  "{\"e\":\"forceOrder\",\"E\":%" PRId64
                  ",\"o\":{\"s\":\"%s\",\"S\":\"%s\",\"o\":\"LIMIT\",\"f\":\"IOC\",\"q\":",
                  now, sp->name, sell ? "SELL" : "BUY");
    candle_put_qty(&m->msg, sp, qty);
    fv_buf_append(&m->msg, ",\"p\":", 5);
    candle_put_px(&m->msg, sp, sell ? (best > off ? best - off : best) : best + off);
    fv_buf_append(&m->msg, ",\"ap\":", 6);
    candle_put_px(&m->msg, sp, best);
    fv_buf_append(&m->msg, ",\"X\":\"FILLED\",\"l\":", 18);
    candle_put_qty(&m->msg, sp, qty);
    fv_buf_append(&m->msg, ",\"z\":", 5);
    candle_put_qty(&m->msg, sp, qty);
    fv_buf_printf(&m->msg, ",\"T\":%" PRId64 "}}", now);
    finish(m, g);
}

/* Next due time of a periodic generator: one period on, never in the past. */
static void advance(struct mkt_gen *g, uint64_t now_loop)
{
    g->due_ms += g->period;
    if (g->due_ms <= now_loop)
        g->due_ms = now_loop + g->period;
}

/* Runs one generator's cadence. */
static void run_gen(struct fv_market *m, struct mkt_gen *g, uint64_t now_loop, int64_t now)
{
    struct mkt_sym *y = &m->syms[g->sym];

    if (g->type == G_KLINE && now >= candle_next(g->iv, g->open_ms)) {
        send_kline(m, g, y, g->open_ms, now); /* the closing update, x:true */
        g->open_ms = candle_open(g->iv, now);
    }
    if (!g->period || now_loop < g->due_ms)
        return;
    switch (g->type) {
    case G_DIFF:
        send_diff(m, g, y, now);
        break;
    case G_PARTIAL:
        send_partial(m, g, y, now);
        break;
    case G_KLINE:
        send_kline(m, g, y, g->open_ms, now);
        break;
    case G_TICKER:
    case G_MINI:
        /* Sparse and quiet symbols: only when the symbol traded since the previous one. */
        if (lazy(y) && g->seen == (int64_t)y->trade_id)
            break;
        g->seen = (int64_t)y->trade_id;
        send_ticker(m, g, y, now);
        break;
    case G_MARK:
        send_mark(m, g, y, now);
        break;
    case G_FORCE:
        if (!lazy(y))
            send_force(m, g, y, now);
        g->period = 2000 + (unsigned)(rng_next(&y->rng) % 3000);
        break;
    default:
        break;
    }
    advance(g, now_loop);
}

/* ---- the drivers ---- */

/* A sparse symbol's trade when its period has come (none past --market-events trades). */
static void sparse_tick(struct fv_market *m, struct mkt_sym *y, uint64_t now_loop, int64_t now)
{
    long max = m->s->o->market_events;

    if (!y->sparse || now_loop < y->sparse_due)
        return;
    if (!max || y->sparse_made < max) {
        event(m, y, now, EV_TRADE);
        y->sparse_made++;
    }
    y->sparse_due += m->sparse_ms;
    if (y->sparse_due <= now_loop)
        y->sparse_due = now_loop + m->sparse_ms;
}

/* The timer: paced events of busy symbols (unless flat out) and sparse symbols' trades, then
 * every periodic stream that is due. */
static void on_timer(uv_timer_t *t)
{
    struct fv_market *m = t->data;
    const struct fv_opts *o = m->s->o;
    uint64_t now_loop = uv_now(m->s->loop);
    int64_t now = fv_wall_ms();

    if (!o->market_max) {
        uint64_t due = fv_market_due(o, &m->pace, now_loop);

        for (; m->pace.sent < due; m->pace.sent++)
            for (size_t i = 0; i < m->nsyms; i++)
                if (!lazy(&m->syms[i]))
                    event(m, &m->syms[i], now, EV_ANY);
    }
    for (size_t i = 0; i < m->nsyms; i++)
        sparse_tick(m, &m->syms[i], now_loop, now);
    for (size_t i = 0; i < m->ngens; i++)
        run_gen(m, &m->gens[i], now_loop, now);
    flush_all(m);
}

/* True when flat-out generation must wait: a subscriber has too much unsent output, or
 * there is no subscriber at all. */
static bool blocked(const struct fv_market *m)
{
    bool any = false;

    for (const struct fv_peer *p = m->s->peers; p; p = p->next) {
        if (!peer_live(p) || !p->subs.n)
            continue;
        any = true;
        if (peer_unsent(p) >= FV_WATERMARK)
            return true;
    }
    return !any;
}

/* True when someone is subscribed to a stream of y that book events feed (trades, book
 * ticker, diffs): flat out, only those symbols trade, so nothing spins for nobody. */
static bool wanted(const struct fv_market *m, const struct mkt_sym *y)
{
    for (size_t i = 0; i < y->ngens; i++) {
        const struct mkt_gen *g = &m->gens[y->gens[i]];

        if (g->type <= G_DIFF && subscribed(m, g->sid))
            return true;
    }
    return false;
}

/* Flat out: a batch of events for every symbol with a subscribed book or trade stream. */
static void on_idle(uv_idle_t *h)
{
    struct fv_market *m = h->data;
    int64_t now = fv_wall_ms();
    bool any = false;

    if (!blocked(m)) {
        for (size_t i = 0; i < m->nsyms; i++) {
            struct mkt_sym *y = &m->syms[i];

            if (lazy(y) || !wanted(m, y))
                continue;
            any = true;
            for (int k = 0; k < MKT_BATCH; k++)
                event(m, y, now, EV_ANY);
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
static void start_idle(struct fv_market *m)
{
    if (m->s->o->market_max && !m->idle_on && !m->s->stopping) {
        uv_idle_start(&m->idle, on_idle);
        m->idle_on = true;
    }
}

/* ---- generators ---- */

/* The market symbol named sym (upper case), or -1. */
static int find_sym(const struct fv_market *m, const char *sym)
{
    for (size_t i = 0; i < m->nsyms; i++)
        if (strcmp(m->syms[i].sp.name, sym) == 0)
            return (int)i;
    return -1;
}

/* Parses "5", "10" or "20" at x; returns the count and moves *x past it, or 0. */
static int depth_levels(const char **x)
{
    static const char *const L[] = {"5", "10", "20"};

    for (int i = 0; i < 3; i++) {
        size_t n = strlen(L[i]);

        if (strncmp(*x, L[i], n) == 0 && ((*x)[n] == '\0' || (*x)[n] == '@')) {
            *x += n;
            return atoi(L[i]);
        }
    }
    return 0;
}

/* Works out what stream sid is on this venue. Returns false when the market does not make it
 * (not a market symbol, or a stream type or speed the venue does not have). */
static bool describe_gen(const struct fv_market *m, int sid, struct mkt_gen *g)
{
    const struct fv_stream *st = &m->s->streams.v[sid];
    const char *at = strchr(st->name, '@'), *x;
    bool sp = spot(m);

    memset(g, 0, sizeof(*g));
    g->sid = sid;
    g->sym = find_sym(m, st->sym);
    if (g->sym < 0 || !at)
        return false;
    x = at + 1;
    if (sp && strcmp(x, "trade") == 0) {
        g->type = G_TRADE;
    } else if (strcmp(x, "aggTrade") == 0) {
        g->type = G_AGG;
    } else if (strcmp(x, "bookTicker") == 0) {
        g->type = G_BOOKT;
    } else if (strcmp(x, "depth") == 0) {
        g->type = G_DIFF;
        g->period = sp ? 1000 : 250;
    } else if (strcmp(x, "depth@100ms") == 0 || (!sp && strcmp(x, "depth@500ms") == 0)) {
        g->type = G_DIFF;
        g->period = (unsigned)atoi(x + 6);
    } else if (strncmp(x, "depth", 5) == 0) {
        x += 5;
        g->levels = depth_levels(&x);
        if (!g->levels)
            return false;
        g->type = G_PARTIAL;
        if (!*x)
            g->period = sp ? 1000 : 250;
        else if (strcmp(x, "@100ms") == 0 || (!sp && strcmp(x, "@500ms") == 0))
            g->period = (unsigned)atoi(x + 1);
        else
            return false;
    } else if (strncmp(x, "kline_", 6) == 0) {
        g->iv = candle_interval(x + 6, strlen(x + 6));
        if (g->iv < 0)
            return false;
        g->type = G_KLINE;
        g->period = !sp ? 250 : g->iv == 0 ? 1000 : 2000;
    } else if (strcmp(x, "ticker") == 0) {
        g->type = G_TICKER;
        g->period = 1000;
    } else if (strcmp(x, "miniTicker") == 0) {
        g->type = G_MINI;
        g->period = 1000;
    } else if (!sp && (strcmp(x, "markPrice") == 0 || strcmp(x, "markPrice@1s") == 0)) {
        g->type = G_MARK;
        g->period = x[9] ? 1000 : 3000;
    } else if (!sp && strcmp(x, "forceOrder") == 0) {
        g->type = G_FORCE;
        g->period = 2000 + (unsigned)(m->syms[g->sym].rng % 3000);
    } else {
        return false;
    }
    return true;
}

/* Starts the generator of stream sid if the market makes it. */
static void start_gen(struct fv_market *m, int sid)
{
    struct mkt_gen g;
    struct mkt_sym *y;
    int idx;

    m->gen_of_sid[sid] = -1;
    if (!describe_gen(m, sid, &g))
        return;
    y = &m->syms[g.sym];
    g.due_ms = uv_now(m->s->loop) + g.period;
    g.last_u = y->upd_id;
    g.seen = (int64_t)y->trade_id;
    if (g.type == G_KLINE)
        g.open_ms = candle_open(g.iv, fv_wall_ms());
    if (g.type == G_DIFF) {
        g.set = fv_xcalloc(1, sizeof(*g.set));
        g.set->stamp = 1;
    }
    if (m->ngens == m->capgens) {
        m->capgens = m->capgens ? m->capgens * 2 : 64;
        m->gens = realloc(m->gens, m->capgens * sizeof(*m->gens));
        if (!m->gens)
            abort();
    }
    idx = (int)m->ngens++;
    m->gens[idx] = g;
    if (y->ngens == y->capgens) {
        y->capgens = y->capgens ? y->capgens * 2 : 8;
        y->gens = realloc(y->gens, y->capgens * sizeof(*y->gens));
        if (!y->gens)
            abort();
    }
    y->gens[y->ngens++] = idx;
    m->gen_of_sid[sid] = idx;
    fv_log("market stream %s", m->s->streams.v[sid].name);
}

/* See fv.h. Looks at every subscribed stream not seen before. */
void market_kick(struct fv_server *s)
{
    struct fv_market *m = s->market;

    if (!m || s->stopping)
        return;
    if (m->nsid < s->streams.n) {
        size_t n = s->streams.n + 64;

        m->gen_of_sid = realloc(m->gen_of_sid, n * sizeof(*m->gen_of_sid));
        if (!m->gen_of_sid)
            abort();
        for (size_t i = m->nsid; i < n; i++)
            m->gen_of_sid[i] = -2;
        m->nsid = n;
    }
    for (struct fv_peer *p = s->peers; p; p = p->next)
        for (size_t i = 0; i < p->subs.n; i++)
            if (m->gen_of_sid[p->subs.ids[i]] == -2)
                start_gen(m, p->subs.ids[i]);
    start_idle(m);
}

/* See fv.h. */
void market_on_drain(struct fv_server *s)
{
    if (s->market)
        start_idle(s->market);
}

/* ---- REST ---- */

/* See fv.h. */
const struct fv_symparams *market_symbol(const struct fv_server *s, const char *sym)
{
    int i = s->market ? find_sym(s->market, sym) : -1;

    return i < 0 ? NULL : &s->market->syms[i].sp;
}

/* See fv.h. */
const struct fv_tape *market_tape(const struct fv_server *s, const char *sym)
{
    int i = s->market ? find_sym(s->market, sym) : -1;

    return i < 0 ? NULL : &s->market->syms[i].tape;
}

/* See fv.h. A futures snapshot must not be at the u of a diff already sent (the bridge needs
 * U <= lastUpdateId <= u): a busy symbol makes a book event first; a sparse or quiet one, which
 * makes no other events, takes an update id without a change instead, which the next diff's
 * U..u then covers. */
bool market_depth(struct fv_server *s, const char *sym, long limit, struct fv_buf *out)
{
    struct fv_market *m = s->market;
    int i = m ? find_sym(m, sym) : -1;
    int64_t now = fv_wall_ms();
    struct mkt_sym *y;

    if (i < 0)
        return false;
    y = &m->syms[i];
    if (!spot(m) && !lazy(y)) {
        event(m, y, now, EV_DEEP_QUOTE);
        flush_all(m);
    } else if (!spot(m) && !y->id_reserved) {
        y->upd_id++;
        y->id_reserved = true;
    }
    if (limit > MKT_CAP)
        limit = MKT_CAP;
    fv_buf_printf(out, "{\"lastUpdateId\":%" PRIu64, y->upd_id);
    if (!spot(m))
        fv_buf_printf(out, ",\"E\":%" PRId64 ",\"T\":%" PRId64, now,
                      y->last_event_ms ? y->last_event_ms : now);
    fv_buf_append(out, ",\"bids\":", 8);
    put_levels(out, &y->sp, &y->bid, (int)limit);
    fv_buf_append(out, ",\"asks\":", 8);
    put_levels(out, &y->sp, &y->ask, (int)limit);
    fv_buf_append(out, "}", 1);
    return true;
}

/* ---- life cycle ---- */

/* True when name (upper case) is in the comma list (case-insensitive). */
static bool in_list(const char *list, const char *name)
{
    size_t nl = strlen(name);

    while (list && *list) {
        size_t len = strcspn(list, ",");

        if (len == nl && strncasecmp(list, name, len) == 0)
            return true;
        list += len;
        if (*list == ',')
            list++;
    }
    return false;
}

/* A symbol's book around its price path now, and its ids. */
static void sym_init(struct fv_market *m, struct mkt_sym *y, const char *name, int64_t now)
{
    int64_t mid;

    candle_params(&y->sp, name, spot(m));
    y->quiet = in_list(m->s->o->market_quiet, y->sp.name);
    y->sparse = in_list(m->s->o->market_sparse, y->sp.name);
    y->sparse_due = uv_now(m->s->loop) + m->sparse_ms;
    candle_tape_init(&y->tape, now);
    y->rng = (m->s->o->seed ^ y->sp.h) | 1;
    y->step = 1;
    for (int i = 0; i < y->sp.qd; i++)
        y->step *= 10;
    /* Ids start from the clock (1000 a millisecond), so a restarted venue carries on above
     * the ids it sent before, as the real one never goes back. */
    y->upd_id = (uint64_t)now * 1000 + y->sp.h % 1000;
    y->trade_id = (uint64_t)now * 1000 + (y->sp.h >> 16) % 1000;
    y->agg_id = (uint64_t)now * 1000 + (y->sp.h >> 32) % 1000;
    y->target_slot = -1;
    mid = target(y, now);
    y->bid.bid = true;
    y->bid.n = 1;
    y->bid.v[0].px = mid;
    y->bid.v[0].qty = rand_qty(y);
    y->ask.n = 1;
    y->ask.v[0].px = mid + 1 + (int64_t)(rng_next(&y->rng) % 3);
    y->ask.v[0].qty = rand_qty(y);
    rebalance(m, y, &y->bid);
    rebalance(m, y, &y->ask);
}

/* See fv.h. The symbols come from --market (validated by main.c). */
int market_init(struct fv_server *s)
{
    const struct fv_opts *o = s->o;
    const char *l = o->market;
    struct fv_market *m;
    int64_t now = fv_wall_ms();

    if (!l)
        return 0;
    m = fv_xcalloc(1, sizeof(*m));
    m->s = s;
    m->sparse_ms = (uint64_t)llround(o->market_sparse_period * 1000);
    if (!m->sparse_ms)
        m->sparse_ms = 1;
    s->market = m;
    while (*l) {
        size_t len = strcspn(l, ",");
        char name[32];

        if (len && len < sizeof(name)) {
            for (size_t i = 0; i < len; i++)
                name[i] = (char)(l[i] >= 'a' && l[i] <= 'z' ? l[i] - 32 : l[i]);
            name[len] = '\0';
            if (find_sym(m, name) < 0) {
                m->syms = realloc(m->syms, (m->nsyms + 1) * sizeof(*m->syms));
                if (!m->syms)
                    abort();
                memset(&m->syms[m->nsyms], 0, sizeof(m->syms[0]));
                sym_init(m, &m->syms[m->nsyms++], name, now);
            }
        }
        l += len;
        if (*l == ',')
            l++;
    }
    m->tick_ms = fv_market_tick_ms(o, MKT_TICK_MAX_MS);
    uv_timer_init(s->loop, &m->timer);
    uv_idle_init(s->loop, &m->idle);
    m->timer.data = m;
    m->idle.data = m;
    uv_timer_start(&m->timer, on_timer, m->tick_ms, m->tick_ms);
    return 0;
}

/* Close callback of the market's handles (freed with it in market_fini). */
static void on_closed(uv_handle_t *h)
{
    (void)h;
}

/* Closes the timer and idle handles (shutdown). */
void market_stop(struct fv_server *s)
{
    struct fv_market *m = s->market;

    if (!m)
        return;
    uv_close((uv_handle_t *)&m->timer, on_closed);
    uv_close((uv_handle_t *)&m->idle, on_closed);
    m->idle_on = false;
}

/* Frees everything (after the loop ended). */
void market_fini(struct fv_server *s)
{
    struct fv_market *m = s->market;

    if (!m)
        return;
    for (size_t i = 0; i < m->ngens; i++)
        dirty_free(m->gens[i].set);
    for (size_t i = 0; i < m->nsyms; i++) {
        free(m->syms[i].gens);
        candle_tape_fini(&m->syms[i].tape);
    }
    free(m->syms);
    free(m->gens);
    free(m->gen_of_sid);
    free(m->sb);
    free(m->sa);
    fv_buf_free(&m->msg);
    free(m);
    s->market = NULL;
}
