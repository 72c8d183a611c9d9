/*
 * The Bitfinex aggregated book with its OB_CHECKSUM (see bfx_book.h for the rules).
 *
 * Design: a Bitfinex book is short (the channel's length, at most 250 levels a side), so each
 * side is one sorted array with the best level last, found by binary search; updates near the
 * top, which dominate, move only the few levels above them. Prices compare exactly as decimals
 * (mantissas directly when the exponents agree, which is the common case). Each level carries
 * its checksum text, made once when the level is set, so verifying a checksum is one CRC-32
 * (zlib) pass over cached strings.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "book/bfx_book.h"
#include "core/err.h"

enum { SIDE_BID = 0, SIDE_ASK = 1 };

/* ---- number text ------------------------------------------------------------------------- */

/* Strips trailing zeros off v's mantissa (value unchanged); writes its digits (no sign) into
 * dig and returns their count; *neg gets the sign, *e the exponent of the last digit. A zero
 * gives "0" with exponent 0. */
static int digits_of(struct mdf_dec v, char dig[24], bool *neg, int32_t *e)
{
    uint64_t u;

    *neg = v.m < 0;
    u = v.m < 0 ? UINT64_C(0) - (uint64_t)v.m : (uint64_t)v.m;
    *e = v.e;
    if (u == 0) {
        *e = 0;
        dig[0] = '0';
        dig[1] = '\0';
        return 1;
    }
    while (u % 10 == 0) {
        u /= 10;
        (*e)++;
    }
    return snprintf(dig, 24, "%" PRIu64, u);
}

/* A tiny appender over buf[0..cap): *len grows, *ok turns false when something did not fit. */
struct out {
    char *buf;  /* destination */
    size_t cap; /* its size */
    size_t len; /* bytes written */
    bool ok;    /* everything fitted so far (room kept for the NUL) */
};

/* Appends n bytes of s. */
static void put(struct out *o, const char *s, size_t n)
{
    if (!o->ok || o->len + n >= o->cap) {
        o->ok = false;
        return;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

/* Appends c n times. */
static void put_rep(struct out *o, char c, size_t n)
{
    if (!o->ok || o->len + n >= o->cap) {
        o->ok = false;
        return;
    }
    memset(o->buf + o->len, c, n);
    o->len += n;
}

/* NUL-terminates and returns the length or -ENOSPC. */
static int out_end(struct out *o)
{
    if (!o->ok) {
        if (o->cap)
            o->buf[0] = '\0';
        return -ENOSPC;
    }
    o->buf[o->len] = '\0';
    return (int)o->len;
}

/* Appends the plain form of digits dig[0..k) times 10^e (no sign). */
static void put_plain(struct out *o, const char *dig, int k, int32_t e)
{
    int32_t n = k + e; /* digits before the point */

    if (e >= 0) {
        put(o, dig, (size_t)k);
        put_rep(o, '0', (size_t)e);
    } else if (n > 0) {
        put(o, dig, (size_t)n);
        put(o, ".", 1);
        put(o, dig + n, (size_t)(k - n));
    } else {
        put(o, "0.", 2);
        put_rep(o, '0', (size_t)-n);
        put(o, dig, (size_t)k);
    }
}

int bfx_fmt_js(struct mdf_dec v, char *buf, size_t cap)
{
    struct out o = {buf, cap, 0, true};
    char dig[24], ex[16];
    bool neg;
    int32_t e;
    int k = digits_of(v, dig, &neg, &e), n;

    /* ECMA-262 Number::toString: value = 0.DIG * 10^n with k digits, no trailing zeros. */
    n = k + e;
    if (neg)
        put(&o, "-", 1);
    if (n >= -5 && n <= 21) {
        put_plain(&o, dig, k, e);
    } else {
        put(&o, dig, 1);
        if (k > 1) {
            put(&o, ".", 1);
            put(&o, dig + 1, (size_t)(k - 1));
        }
        snprintf(ex, sizeof(ex), "e%c%d", n - 1 >= 0 ? '+' : '-', n - 1 >= 0 ? n - 1 : 1 - n);
        put(&o, ex, strlen(ex));
    }
    return out_end(&o);
}

/* ---- the book ---------------------------------------------------------------------------- */

int bfx_book_init(struct bfx_book *b, uint32_t max_levels)
{
    memset(b, 0, sizeof(*b));
    if (max_levels == 0 || max_levels > (1u << 20))
        return -EINVAL;
    b->lv[SIDE_BID] = calloc(max_levels, sizeof(struct bfx_book_level));
    b->lv[SIDE_ASK] = calloc(max_levels, sizeof(struct bfx_book_level));
    if (!b->lv[SIDE_BID] || !b->lv[SIDE_ASK]) {
        bfx_book_fini(b);
        return -ENOMEM;
    }
    b->cap = max_levels;
    b->state = MDF_BOOK_EMPTY;
    return 0;
}

void bfx_book_fini(struct bfx_book *b)
{
    free(b->lv[SIDE_BID]);
    free(b->lv[SIDE_ASK]);
    b->lv[SIDE_BID] = b->lv[SIDE_ASK] = NULL;
    b->n[SIDE_BID] = b->n[SIDE_ASK] = 0;
    b->cap = 0;
}

/* Empties both sides. */
static void clear(struct bfx_book *b)
{
    b->n[SIDE_BID] = b->n[SIDE_ASK] = 0;
}

/* Starts a resync: empty, RESYNCING, generation bumped (unless one is already under way). */
static void start_resync(struct bfx_book *b)
{
    clear(b);
    if (b->state == MDF_BOOK_RESYNCING)
        return;
    b->state = MDF_BOOK_RESYNCING;
    b->generation++;
    b->stats.resyncs++;
}

void bfx_book_resync(struct bfx_book *b)
{
    start_resync(b);
}

void bfx_book_interrupt(struct bfx_book *b)
{
    if (b->state == MDF_BOOK_LIVE)
        b->state = MDF_BOOK_STALE;
}

/* Compares prices exactly: <0, 0, >0. */
static inline int px_cmp(struct mdf_dec a, struct mdf_dec b)
{
    if (a.e == b.e)
        return (a.m > b.m) - (a.m < b.m);
    return mdf_dec_cmp(a, b);
}

/* Index of the first level of side s ranking at or above px (rank: price for bids, minus the
 * price for asks), i.e. where px is or would go. */
static uint32_t lower_bound(const struct bfx_book *b, int s, struct mdf_dec px)
{
    const struct bfx_book_level *lv = b->lv[s];
    uint32_t lo = 0, hi = b->n[s];

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = px_cmp(lv[mid].px, px);

        if (s == SIDE_ASK)
            c = -c;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Fills a level from a decoded one: quantity, count and checksum text. Returns 0 or -ERANGE
 * (text too long). */
static int fill(struct bfx_book_level *l, const struct bfx_level *in)
{
    int a, p = bfx_fmt_js(in->px, l->cs, sizeof(l->cs));

    if (p < 0 || (size_t)p + 1 >= sizeof(l->cs))
        return -ERANGE;
    l->cs[p] = ':';
    a = bfx_fmt_js(in->amount, l->cs + p + 1, sizeof(l->cs) - (size_t)p - 1);
    if (a < 0)
        return -ERANGE;
    l->cs_len = (uint16_t)(p + 1 + a);
    l->px = in->px;
    l->qty = in->amount;
    if (l->qty.m < 0)
        l->qty.m = -l->qty.m; /* the decoder refuses INT64_MIN amounts */
    l->count = in->count;
    return 0;
}

/* Sets or removes one level. Returns 1 if the book changed, 0 if not, -ERANGE for a level that
 * cannot be held (the book is left as it was). */
static int set_level(struct bfx_book *b, const struct bfx_level *in)
{
    int s = in->ask ? SIDE_ASK : SIDE_BID;
    struct bfx_book_level *lv = b->lv[s], tmp;
    uint32_t n = b->n[s], i = lower_bound(b, s, in->px);
    bool found = i < n && px_cmp(lv[i].px, in->px) == 0;

    if (in->count == 0) {
        if (!found)
            return 0;
        memmove(&lv[i], &lv[i + 1], (size_t)(n - i - 1) * sizeof(lv[0]));
        b->n[s]--;
        return 1;
    }
    if (fill(&tmp, in) < 0) {
        b->stats.level_errors++;
        return -ERANGE;
    }
    if (found) {
        lv[i] = tmp;
        return 1;
    }
    if (n == b->cap) {
        b->stats.dropped++;
        if (i == 0)
            return 0; /* worse than every level held: it is the one that goes */
        /* The worst level (0) goes; the ones below the slot move down into its place. */
        memmove(&lv[0], &lv[1], (size_t)(i - 1) * sizeof(lv[0]));
        lv[i - 1] = tmp;
        return 1;
    }
    memmove(&lv[i + 1], &lv[i], (size_t)(n - i) * sizeof(lv[0]));
    lv[i] = tmp;
    b->n[s]++;
    return 1;
}

/* Keeps a message's sequence number and times. */
static void note(struct bfx_book *b, const struct bfx_msg *m, int64_t recv_ns)
{
    if (m->seq > 0)
        b->last_seq = m->seq;
    b->exch_time_ns = m->ts_ns;
    b->recv_time_ns = recv_ns;
}

int bfx_book_apply(struct bfx_book *b, const struct bfx_msg *m, int64_t recv_ns)
{
    int rc;

    if (m->kind == BFX_BOOK_SNAPSHOT) {
        /* A rebuild not announced by a resync (after STALE, or a second snapshot) is a new
         * generation too; the first build and a resync's build are not counted again. */
        if (b->state == MDF_BOOK_LIVE || b->state == MDF_BOOK_STALE)
            b->generation++;
        clear(b);
        for (uint32_t i = 0; i < m->n_levels; i++) {
            rc = set_level(b, &m->levels[i]);
            if (rc < 0) {
                start_resync(b);
                return err_set(rc, "bitfinex book: snapshot level %u cannot be held", i);
            }
        }
        b->state = MDF_BOOK_LIVE;
        b->stats.snapshots++;
        b->first_seq = m->seq > 0 ? m->seq : 0;
        b->last_seq = 0;
        note(b, m, recv_ns);
        return 1;
    }
    if (m->kind != BFX_BOOK_UPDATE || m->n_levels != 1)
        return err_set(-EINVAL, "bfx_book_apply: not a book snapshot or update (kind %d)",
                       (int)m->kind);
    if (b->state != MDF_BOOK_LIVE) {
        b->stats.ignored++;
        return 0;
    }
    rc = set_level(b, &m->levels[0]);
    if (rc < 0) {
        start_resync(b);
        return err_set(rc, "bitfinex book: level cannot be held (checksum text too long)");
    }
    if (rc == 0)
        b->stats.ignored++;
    else
        b->stats.updates++;
    note(b, m, recv_ns);
    return rc;
}

/* Feeds the checksum text to fn(ctx, piece, len) piece by piece: level texts joined by ':'. */
static void walk_text(const struct bfx_book *b, void (*fn)(void *, const char *, size_t), void *ctx)
{
    bool first = true;

    for (uint32_t i = 0; i < BFX_CHECKSUM_LEVELS; i++) {
        for (int s = SIDE_BID; s <= SIDE_ASK; s++) {
            const struct bfx_book_level *l;

            if (i >= b->n[s])
                continue;
            l = &b->lv[s][b->n[s] - 1 - i];
            if (!first)
                fn(ctx, ":", 1);
            fn(ctx, l->cs, l->cs_len);
            first = false;
        }
    }
}

/* walk_text() sink: CRC-32 over the pieces. */
static void crc_piece(void *ctx, const char *s, size_t n)
{
    uLong *crc = ctx;

    *crc = crc32(*crc, (const Bytef *)s, (uInt)n);
}

/* walk_text() sink: appends to a struct out. */
static void text_piece(void *ctx, const char *s, size_t n)
{
    put(ctx, s, n);
}

int32_t bfx_book_checksum(const struct bfx_book *b)
{
    uLong crc = crc32(0L, Z_NULL, 0);

    walk_text(b, crc_piece, &crc);
    return (int32_t)(uint32_t)crc;
}

int bfx_book_checksum_text(const struct bfx_book *b, char *buf, size_t cap)
{
    struct out o = {buf, cap, 0, true};

    walk_text(b, text_piece, &o);
    return out_end(&o);
}

int bfx_book_handover(struct bfx_book *b, const struct bfx_msg *m, int64_t recv_ns)
{
    uint64_t gen = b->generation;
    bool live = b->state == MDF_BOOK_LIVE;
    int rc;

    if (m->kind != BFX_BOOK_SNAPSHOT)
        return err_set(-EINVAL, "bfx_book_handover: not a book snapshot (kind %d)", (int)m->kind);
    rc = bfx_book_apply(b, m, recv_ns);
    if (rc == 1 && live)
        b->generation = gen;
    return rc;
}

int bfx_book_verify(struct bfx_book *b, int32_t checksum)
{
    int32_t mine;

    if (b->state != MDF_BOOK_LIVE)
        return 1;
    mine = bfx_book_checksum(b);
    if (mine == checksum) {
        b->stats.checksums++;
        return 0;
    }
    b->stats.mismatches++;
    start_resync(b);
    return err_set(-EBADMSG,
                   "bitfinex book: checksum %" PRId32 " from the venue, %" PRId32
                   " computed: the book is out of sync",
                   checksum, mine);
}

/* Copies the best `depth` levels of side s, best first, into out (zeroing unused slots);
 * returns how many were valid. */
static uint16_t copy_top(const struct bfx_book *b, int s, struct mdf_level *out, uint32_t depth)
{
    uint32_t k = b->n[s] < depth ? b->n[s] : depth, i;

    for (i = 0; i < k; i++) {
        const struct bfx_book_level *l = &b->lv[s][b->n[s] - 1 - i];

        out[i].px = l->px;
        out[i].qty = l->qty;
        out[i].orders = l->count;
        out[i]._r = 0;
    }
    if (k < depth)
        memset(&out[k], 0, (size_t)(depth - k) * sizeof(out[0]));
    return (uint16_t)k;
}

void bfx_book_top(const struct bfx_book *b, struct mdf_book *rec, uint32_t depth)
{
    rec->depth = (uint16_t)depth;
    rec->n_bids = copy_top(b, SIDE_BID, rec->levels, depth);
    rec->n_asks = copy_top(b, SIDE_ASK, rec->levels + depth, depth);
    rec->h.size = (uint16_t)MDF_BOOK_SIZE(depth);
}

void bfx_book_record(const struct bfx_book *b, struct mdf_book *rec, uint32_t depth)
{
    rec->h.type = MDF_REC_BOOK;
    rec->h.flags = 0;
    rec->h.exch_time_ns = b->exch_time_ns;
    rec->h.tx_time_ns = 0;
    rec->h.recv_time_ns = b->recv_time_ns;
    rec->h.venue_seq = b->last_seq > 0 ? (uint64_t)b->last_seq : (uint64_t)b->first_seq;
    rec->state = b->state;
    rec->kind = MDF_BOOK_KIND_FULL; /* precision and levels asked: the daemon's stream */
    rec->precision = 0;
    rec->_r1 = 0;
    rec->levels_asked = 0;
    rec->_r2 = 0;
    rec->generation = b->generation;
    rec->first_update_id = b->first_seq;
    rec->last_update_id = b->last_seq > 0 ? b->last_seq : b->first_seq;
    bfx_book_top(b, rec, depth);
}
