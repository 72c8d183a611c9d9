/*
 * The L2 book: two sorted arrays of levels, best level last, keyed by int64 prices.
 *
 * Main choices:
 * - Keys. A price m * 10^e is keyed as m * 10^(e - exp) with one exponent `exp` per book, set by
 *   the first price. Keys stay within 18 digits (|key| < 10^18), so negating or comparing them
 *   never overflows. A price with a finer exponent than the book's (after dropping trailing
 *   zeros) rescales every key of both sides once, when they all still fit; venues keep their tick
 *   size, so this happens at most a few times per book and never on the common path.
 * - Order. Each side is sorted by its "rank" (the key for bids, minus the key for asks), so the
 *   best level is the last element on both sides and one search routine serves both. Updates near
 *   the top, which dominate, find their slot by a few comparisons galloping back from the end
 *   and move only the few levels above it.
 * - Full side. The worst level is element 0, so dropping it would move the whole array. Instead
 *   each side has a little slack before its levels: a drop advances `lv` by one element, and
 *   only when the slack is used up are the levels moved back to the start of their block, once
 *   per `slack` drops. The block is aligned to a power of two at least its size, so its start is
 *   found again from `lv` by masking (struct book_side has no field for it).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "book/book.h"

#define KEY_DIGITS 18                       /* most digits a key may have */
#define KEY_MAX INT64_C(999999999999999999) /* largest key magnitude: 10^18 - 1 */

/* Exact powers of ten for scaling keys: 10^0 .. 10^18. */
static const int64_t pow10_i64[KEY_DIGITS + 1] = {
    INT64_C(1),
    INT64_C(10),
    INT64_C(100),
    INT64_C(1000),
    INT64_C(10000),
    INT64_C(100000),
    INT64_C(1000000),
    INT64_C(10000000),
    INT64_C(100000000),
    INT64_C(1000000000),
    INT64_C(10000000000),
    INT64_C(100000000000),
    INT64_C(1000000000000),
    INT64_C(10000000000000),
    INT64_C(100000000000000),
    INT64_C(1000000000000000),
    INT64_C(10000000000000000),
    INT64_C(100000000000000000),
    INT64_C(1000000000000000000),
};

/* The largest mantissa that keys within 18 digits when scaled by 10^d: KEY_MAX / 10^d (a table,
 * so the hot path divides nothing). */
static const int64_t key_lim[KEY_DIGITS + 1] = {
    INT64_C(999999999999999999),
    INT64_C(99999999999999999),
    INT64_C(9999999999999999),
    INT64_C(999999999999999),
    INT64_C(99999999999999),
    INT64_C(9999999999999),
    INT64_C(999999999999),
    INT64_C(99999999999),
    INT64_C(9999999999),
    INT64_C(999999999),
    INT64_C(99999999),
    INT64_C(9999999),
    INT64_C(999999),
    INT64_C(99999),
    INT64_C(9999),
    INT64_C(999),
    INT64_C(99),
    INT64_C(9),
    INT64_C(0),
};

/* Levels of slack a side of cap levels keeps before its first level (see the file comment). */
static uint32_t side_slack(uint32_t cap)
{
    return cap / 4 + 1;
}

/* Bytes of one side's block, and the alignment that lets book_side.lv find the block's start:
 * the smallest power of two not below the block size. */
static size_t side_bytes(uint32_t cap)
{
    return ((size_t)cap + side_slack(cap)) * sizeof(struct book_level);
}

static size_t side_align(uint32_t cap)
{
    size_t a = 64;

    while (a < side_bytes(cap))
        a <<= 1;
    return a;
}

/* The start of the block that holds sd's levels: lv never leaves the block's first `slack`
 * elements' range, so masking it with the block alignment gives the block back. */
static struct book_level *side_base(const struct book_side *sd)
{
    return (struct book_level *)((uintptr_t)sd->lv & ~(uintptr_t)(side_align(sd->cap) - 1));
}

int book_init(struct book *b, uint32_t max_levels)
{
    int i;

    memset(b, 0, sizeof(*b));
    for (i = 0; i < 2; i++) {
        void *p = NULL;

        if (posix_memalign(&p, side_align(max_levels), side_bytes(max_levels)) != 0)
            goto err_free;
        b->side[i].lv = p;
        b->side[i].cap = max_levels;
    }
    return 0;

err_free:
    book_fini(b);
    return -ENOMEM;
}

void book_fini(struct book *b)
{
    int i;

    for (i = 0; i < 2; i++) {
        if (b->side[i].lv)
            free(side_base(&b->side[i]));
        b->side[i].lv = NULL;
        b->side[i].n = 0;
    }
}

void book_clear(struct book *b)
{
    int i;

    for (i = 0; i < 2; i++) {
        b->side[i].lv = side_base(&b->side[i]);
        b->side[i].n = 0;
    }
    b->exp = 0;
    b->exp_set = false;
}

/* Multiplies every key by 10^(exp - e) so the book can key prices of exponent e. Fails with
 * -ERANGE, changing nothing, if some key would leave the 18-digit range. */
static int rescale(struct book *b, int32_t e)
{
    int32_t d = b->exp - e;
    int64_t lim = d > KEY_DIGITS ? 0 : key_lim[d];
    uint32_t i;
    int s;

    for (s = 0; s < 2; s++)
        for (i = 0; i < b->side[s].n; i++)
            if (b->side[s].lv[i].key > lim || b->side[s].lv[i].key < -lim)
                return -ERANGE;
    if (lim != 0) /* else every key is zero and stays zero */
        for (s = 0; s < 2; s++)
            for (i = 0; i < b->side[s].n; i++)
                b->side[s].lv[i].key *= pow10_i64[d];
    b->exp = e;
    return 0;
}

/* Keys px at the book's exponent into *key. Returns 0; 1 if px needs a finer exponent (*e_need
 * gets it); -ERANGE if its key would have more than 18 digits. */
static int price_key(const struct book *b, struct mdf_dec px, int64_t *key, int32_t *e_need)
{
    int64_t m = px.m;
    int32_t e = px.e;

    if (m == 0) {
        *key = 0;
        return 0;
    }
    /* Trailing zeros do not make a price finer: "0.10000" keys like "0.1000". */
    while (e < b->exp && m % 10 == 0) {
        m /= 10;
        e++;
    }
    if (e < b->exp) {
        *e_need = e;
        return 1;
    }
    if (e - b->exp > KEY_DIGITS || m > key_lim[e - b->exp])
        return -ERANGE;
    *key = m * pow10_i64[e - b->exp];
    return 0;
}

/* Index of the first level of sd whose rank is not below `rank` (rank = key * sgn): where a
 * level of that rank is or would go. Gallops down from the top (1, 2, 4, ... levels) to bracket
 * it, then bisects the bracket, so an update k levels from the top costs about 2 log2(k)
 * comparisons whatever the book's size. */
static uint32_t lower_bound(const struct book_side *sd, int64_t sgn, int64_t rank)
{
    const struct book_level *lv = sd->lv;
    uint32_t hi = sd->n, lo = 0, step = 1;

    /* Invariants: levels at hi and above rank >= `rank`; levels below lo rank < `rank`. */
    while (step <= hi) {
        uint32_t p = hi - step;

        if (lv[p].key * sgn < rank) {
            lo = p + 1;
            break;
        }
        hi = p;
        step <<= 1;
    }
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;

        if (lv[mid].key * sgn < rank)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Drops sd's worst level (element 0) by advancing lv; moves the levels back to the start of
 * their block once the slack is used up. */
static void drop_worst(struct book_side *sd)
{
    struct book_level *base;

    sd->lv++;
    sd->n--;
    base = side_base(sd);
    if ((uint32_t)(sd->lv - base) >= side_slack(sd->cap)) {
        memmove(base, sd->lv, (size_t)sd->n * sizeof(*base));
        sd->lv = base;
    }
}

int book_set(struct book *b, enum book_side_id side, const struct vlevel *lv)
{
    struct book_side *sd = &b->side[side];
    int64_t sgn = side == BOOK_BID ? 1 : -1;
    int64_t key = 0, rank;
    int32_t e_need = 0;
    bool remove = lv->qty.m == 0;
    uint32_t i;
    int r;

    if (lv->px.m < 0 || lv->qty.m < 0)
        return -EINVAL;
    if (!b->exp_set) {
        if (remove)
            return 0; /* nothing held, nothing to remove */
        b->exp = lv->px.e;
        b->exp_set = true;
    }
    r = price_key(b, lv->px, &key, &e_need);
    if (r != 0 && remove)
        return 0; /* a price the book cannot key is not held */
    if (r == 1) {
        /* Control path: rescale, then key again (it fits unless the mantissa itself is over
         * 18 digits). */
        if (rescale(b, e_need) < 0)
            return -ERANGE;
        r = price_key(b, lv->px, &key, &e_need);
    }
    if (r < 0)
        return r;

    rank = key * sgn;
    i = lower_bound(sd, sgn, rank);
    if (i < sd->n && sd->lv[i].key == key) {
        if (remove) {
            memmove(&sd->lv[i], &sd->lv[i + 1], (size_t)(sd->n - i - 1) * sizeof(sd->lv[0]));
            sd->n--;
        } else {
            sd->lv[i].px = lv->px;
            sd->lv[i].qty = lv->qty;
        }
        return 0;
    }
    if (remove)
        return 0;
    if (sd->n == sd->cap) {
        b->dropped++;
        if (i == 0)
            return 0; /* the new level is the worst: it is the one that goes */
        drop_worst(sd);
        i--;
    }
    memmove(&sd->lv[i + 1], &sd->lv[i], (size_t)(sd->n - i) * sizeof(sd->lv[0]));
    sd->lv[i].key = key;
    sd->lv[i].px = lv->px;
    sd->lv[i].qty = lv->qty;
    sd->n++;
    return 0;
}

/* Copies the best `depth` levels of sd, best first, into out (zeroing unused slots); returns how
 * many were valid. */
static uint16_t copy_top(const struct book_side *sd, struct mdf_level *out, uint32_t depth)
{
    uint32_t k = sd->n < depth ? sd->n : depth, i;

    for (i = 0; i < k; i++) {
        const struct book_level *l = &sd->lv[sd->n - 1 - i];

        out[i].px = l->px;
        out[i].qty = l->qty;
        out[i].orders = 0;
        out[i]._r = 0;
    }
    if (k < depth)
        memset(&out[k], 0, (size_t)(depth - k) * sizeof(out[0]));
    return (uint16_t)k;
}

void book_top(const struct book *b, struct mdf_book *rec, uint32_t depth)
{
    rec->depth = (uint16_t)depth;
    rec->n_bids = copy_top(&b->side[BOOK_BID], rec->levels, depth);
    rec->n_asks = copy_top(&b->side[BOOK_ASK], rec->levels + depth, depth);
    rec->h.size = (uint16_t)MDF_BOOK_SIZE(depth);
}
