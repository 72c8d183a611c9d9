/*
 * Tests of the L2 book (src/book/book.c): a long randomized run against a naive reference that
 * compares decimals by value (mdf_dec_cmp), never by the book's int64 keys; removals of levels
 * the book does not hold; a full side; prices of mixed exponents.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <mdfeed/mdfeed.h>

#include "book/book.h"
#include "test.h"

#define TOP_MAX 25 /* deepest top the randomized test compares */

/* A decimal from mantissa and exponent. */
static struct mdf_dec dec(int64_t m, int32_t e)
{
    struct mdf_dec d = {.m = m, .e = e};

    return d;
}

/* A decimal parsed from text (the test fails on bad text). */
static struct mdf_dec dec_s(const char *s)
{
    struct mdf_dec d;

    if (mdf_dec_parse(s, strlen(s), &d) != 0)
        test_fail(__FILE__, __LINE__, "mdf_dec_parse(%s)", s);
    return d;
}

static struct vlevel lvl(struct mdf_dec px, struct mdf_dec qty)
{
    struct vlevel v = {.px = px, .qty = qty};

    return v;
}

/* Text of d for failure messages (two rotating buffers). */
static const char *dtxt(struct mdf_dec d)
{
    static char buf[2][MDF_DEC_STR_MAX];
    static int k;

    k ^= 1;
    mdf_dec_format(d, buf[k], sizeof(buf[k]));
    return buf[k];
}

static struct mdf_book *rec_new(uint32_t depth)
{
    struct mdf_book *r = calloc(1, MDF_BOOK_SIZE(depth));

    ASSERT(r != NULL);
    return r;
}

/* Asserts that level i of a side of rec is exactly (px, qty): same mantissa and exponent, so the
 * venue's text survives. */
static void expect_level(const struct mdf_level *l, const char *px, const char *qty, int line)
{
    struct mdf_dec p = dec_s(px), q = dec_s(qty);

    if (l->px.m != p.m || l->px.e != p.e || l->qty.m != q.m || l->qty.e != q.e)
        test_fail(__FILE__, line, "level %s x %s, expected %s x %s", dtxt(l->px), dtxt(l->qty), px,
                  qty);
}

/* ---- naive reference ------------------------------------------------------------------------ */

/* One side kept sorted best first by linear insertion, compared by value with mdf_dec_cmp. */
struct ref_side {
    struct vlevel *lv; /* best first */
    uint32_t n;        /* levels held */
    uint32_t cap;      /* most levels held */
    int better;        /* mdf_dec_cmp result meaning "a is better than b": 1 bids, -1 asks */
};

/* Applies one level with the book's documented semantics; counts drops in *dropped. */
static void ref_set(struct ref_side *r, const struct vlevel *v, uint64_t *dropped)
{
    uint32_t i;

    for (i = 0; i < r->n; i++) {
        if (mdf_dec_cmp(r->lv[i].px, v->px) == 0) {
            if (v->qty.m == 0) {
                memmove(&r->lv[i], &r->lv[i + 1], (r->n - i - 1) * sizeof(r->lv[0]));
                r->n--;
            } else {
                r->lv[i] = *v;
            }
            return;
        }
    }
    if (v->qty.m == 0)
        return;
    if (r->n == r->cap) {
        (*dropped)++;
        if (r->n == 0 || mdf_dec_cmp(v->px, r->lv[r->n - 1].px) != r->better)
            return; /* no better than the worst: the new level is the one dropped */
        r->n--;
    }
    for (i = 0; i < r->n && mdf_dec_cmp(r->lv[i].px, v->px) == r->better; i++)
        ;
    memmove(&r->lv[i + 1], &r->lv[i], (r->n - i) * sizeof(r->lv[0]));
    r->lv[i] = *v;
    r->n++;
}

/* Compares the top `depth` of one side of rec with the reference, exactly. */
static void ref_check(const struct ref_side *r, const struct mdf_level *top, uint32_t n_top,
                      uint32_t depth, const char *what, uint64_t step)
{
    uint32_t want = r->n < depth ? r->n : depth, i;

    if (n_top != want)
        test_fail(__FILE__, __LINE__, "step %" PRIu64 " %s: %u levels, reference %u", step, what,
                  n_top, want);
    for (i = 0; i < want; i++) {
        const struct vlevel *v = &r->lv[i];

        if (top[i].px.m != v->px.m || top[i].px.e != v->px.e || top[i].qty.m != v->qty.m ||
            top[i].qty.e != v->qty.e)
            test_fail(__FILE__, __LINE__,
                      "step %" PRIu64 " %s level %u: %s x %s, reference %s x %s", step, what, i,
                      dtxt(top[i].px), dtxt(top[i].qty), dtxt(v->px), dtxt(v->qty));
    }
}

/* ---- tests ---------------------------------------------------------------------------------- */

/* 100k random sets and removes over 10 rounds, each with its own side size (1..300), tick
 * exponent and price range; most updates land near the top, some deep; prices come in several
 * exponents for the same value, and a few are one or two digits finer than the tick (the book
 * rescales). After every step the top N (N random, 1..25) of both sides must equal the
 * reference exactly, and the drop counts must agree. */
TEST(book_matches_naive_reference_randomized)
{
    struct test_rng rng;
    struct mdf_book *rec = rec_new(TOP_MAX);
    uint64_t step = 0;
    int round;

    test_rng_init(&rng, test_seed());
    for (round = 0; round < 10; round++) {
        uint32_t cap = test_rng_below(&rng, 4) == 0 ? 1 + (uint32_t)test_rng_below(&rng, 4)
                                                    : 1 + (uint32_t)test_rng_below(&rng, 300);
        int32_t tick_e = -2 - (int32_t)test_rng_below(&rng, 5);
        int64_t range = 50 + (int64_t)test_rng_below(&rng, 3000);
        struct ref_side ref[2] = {{.cap = cap, .better = 1}, {.cap = cap, .better = -1}};
        uint64_t ref_dropped = 0;
        struct book b;
        int i;

        ASSERT_EQ(book_init(&b, cap), 0);
        for (i = 0; i < 2; i++) {
            ref[i].lv = calloc(cap + 1, sizeof(struct vlevel));
            ASSERT(ref[i].lv != NULL);
        }
        for (i = 0; i < 10000; i++, step++) {
            int side = (int)test_rng_below(&rng, 2);
            struct ref_side *r = &ref[side];
            uint64_t roll = test_rng_below(&rng, 100);
            uint32_t depth = 1 + (uint32_t)test_rng_below(&rng, TOP_MAX);
            struct vlevel v;
            int64_t t;

            if (roll < 30 && r->n > 0 && test_rng_below(&rng, 2)) {
                /* Remove a held level, named in another exponent now and then. */
                v = r->lv[test_rng_below(&rng, r->n)];
                if (test_rng_below(&rng, 3) == 0 && v.px.m < INT64_C(1000000000000)) {
                    v.px.m *= 10;
                    v.px.e -= 1;
                }
                v.qty = dec(0, -8);
            } else {
                /* Near the top (bids high, asks low) three times in four, else anywhere. */
                if (test_rng_below(&rng, 4) != 0)
                    t = side == BOOK_BID ? range - 1 - (int64_t)test_rng_below(&rng, 30)
                                         : (int64_t)test_rng_below(&rng, 30);
                else
                    t = (int64_t)test_rng_below(&rng, (uint64_t)range);
                if (t < 0)
                    t = 0;
                v.px = dec(t, tick_e);
                if (test_rng_below(&rng, 3) == 0) {
                    int k = 1 + (int)test_rng_below(&rng, 2); /* same value, more digits */

                    v.px = dec(t * (k == 1 ? 10 : 100), tick_e - k);
                }
                if (test_rng_below(&rng, 2000) == 0) /* finer than the tick: rescales */
                    v.px = dec(t * 100 + 1 + (int64_t)test_rng_below(&rng, 99), tick_e - 2);
                v.qty = roll < 30 ? dec(0, 0)
                                  : dec(1 + (int64_t)test_rng_below(&rng, 1000000),
                                        -(int32_t)test_rng_below(&rng, 6));
            }
            if (book_set(&b, (enum book_side_id)side, &v) != 0)
                test_fail(__FILE__, __LINE__, "step %" PRIu64 ": book_set(%s x %s) failed", step,
                          dtxt(v.px), dtxt(v.qty));
            ref_set(r, &v, &ref_dropped);
            book_top(&b, rec, depth);
            ASSERT_EQ(rec->depth, depth);
            ASSERT_EQ(rec->h.size, MDF_BOOK_SIZE(depth));
            ref_check(&ref[0], rec->levels, rec->n_bids, depth, "bids", step);
            ref_check(&ref[1], rec->levels + depth, rec->n_asks, depth, "asks", step);
            ASSERT_EQ_U(b.dropped, ref_dropped);
            ASSERT_EQ(b.side[0].n, ref[0].n);
            ASSERT_EQ(b.side[1].n, ref[1].n);
        }
        book_fini(&b);
        free(ref[0].lv);
        free(ref[1].lv);
    }
    free(rec);
    return 0;
}

/* Removing what the book does not hold changes nothing and is not an error: on an empty book,
 * an absent price, and a price finer than any the book could hold (no rescale either). */
TEST(book_removal_of_absent_levels_is_harmless)
{
    struct mdf_book *rec = rec_new(5);
    struct vlevel v;
    struct book b;

    ASSERT_EQ(book_init(&b, 10), 0);
    v = lvl(dec_s("1.25"), dec_s("0"));
    ASSERT_EQ(book_set(&b, BOOK_BID, &v), 0);
    ASSERT_EQ(book_set(&b, BOOK_ASK, &v), 0);
    book_top(&b, rec, 5);
    ASSERT_EQ(rec->n_bids, 0);
    ASSERT_EQ(rec->n_asks, 0);

    v = lvl(dec_s("1.25"), dec_s("3"));
    ASSERT_EQ(book_set(&b, BOOK_BID, &v), 0);
    v = lvl(dec_s("1.30"), dec_s("4"));
    ASSERT_EQ(book_set(&b, BOOK_ASK, &v), 0);
    ASSERT_EQ(b.exp, -2);

    /* Absent prices on both sides, including the other side's price. */
    v = lvl(dec_s("1.24"), dec_s("0.000"));
    ASSERT_EQ(book_set(&b, BOOK_BID, &v), 0);
    v = lvl(dec_s("1.30"), dec_s("0"));
    ASSERT_EQ(book_set(&b, BOOK_BID, &v), 0);
    v = lvl(dec_s("1.25"), dec_s("0"));
    ASSERT_EQ(book_set(&b, BOOK_ASK, &v), 0);
    /* Finer than the book: it cannot be held, so nothing is rescaled. */
    v = lvl(dec_s("1.2501"), dec_s("0"));
    ASSERT_EQ(book_set(&b, BOOK_BID, &v), 0);
    ASSERT_EQ(b.exp, -2);
    /* Far too large to key: not held either. */
    v = lvl(dec_s("1e30"), dec_s("0"));
    ASSERT_EQ(book_set(&b, BOOK_ASK, &v), 0);

    book_top(&b, rec, 5);
    ASSERT_EQ(rec->n_bids, 1);
    ASSERT_EQ(rec->n_asks, 1);
    expect_level(&rec->levels[0], "1.25", "3", __LINE__);
    expect_level(&rec->levels[5], "1.30", "4", __LINE__);
    /* Unused slots are zero. */
    ASSERT_EQ(rec->levels[1].px.m, 0);
    ASSERT_EQ(rec->levels[1].qty.m, 0);
    ASSERT_EQ(rec->levels[9].qty.m, 0);

    /* A held level named with trailing zeros is found and removed. */
    v = lvl(dec_s("1.2500"), dec_s("0"));
    ASSERT_EQ(book_set(&b, BOOK_BID, &v), 0);
    v = lvl(dec_s("1.3"), dec_s("0"));
    ASSERT_EQ(book_set(&b, BOOK_ASK, &v), 0);
    book_top(&b, rec, 5);
    ASSERT_EQ(rec->n_bids, 0);
    ASSERT_EQ(rec->n_asks, 0);
    ASSERT_EQ_U(b.dropped, 0);
    book_fini(&b);
    free(rec);
    return 0;
}

/* A full side keeps its best levels: a new level worse than all of them is the one dropped, a
 * better one pushes the worst out, and the top stays exact. Many pushes in a row (each new level
 * the best) cross the side's internal compaction several times. */
TEST(book_full_side_drops_worst_level_and_top_stays_exact)
{
    static const char *const bid_px[] = {"10.5", "10.1", "10.9", "10.3", "10.7",
                                         "10.2", "10.8", "10.4", "10.6", "10.0"};
    struct mdf_book *rec = rec_new(8);
    struct vlevel v;
    struct book b;
    uint32_t i;
    char px[32];

    ASSERT_EQ(book_init(&b, 5), 0);
    for (i = 0; i < 10; i++) {
        v = lvl(dec_s(bid_px[i]), dec(i + 1, 0));
        ASSERT_EQ(book_set(&b, BOOK_BID, &v), 0);
        v = lvl(dec_s(bid_px[i]), dec(i + 1, 0));
        ASSERT_EQ(book_set(&b, BOOK_ASK, &v), 0);
    }
    ASSERT_EQ(b.side[BOOK_BID].n, 5);
    ASSERT_EQ(b.side[BOOK_ASK].n, 5);
    ASSERT_EQ_U(b.dropped, 10);
    book_top(&b, rec, 8);
    ASSERT_EQ(rec->n_bids, 5);
    ASSERT_EQ(rec->n_asks, 5);
    /* Bids: the five highest, best first; asks: the five lowest. */
    expect_level(&rec->levels[0], "10.9", "3", __LINE__);
    expect_level(&rec->levels[1], "10.8", "7", __LINE__);
    expect_level(&rec->levels[2], "10.7", "5", __LINE__);
    expect_level(&rec->levels[3], "10.6", "9", __LINE__);
    expect_level(&rec->levels[4], "10.5", "1", __LINE__);
    expect_level(&rec->levels[8], "10.0", "10", __LINE__);
    expect_level(&rec->levels[9], "10.1", "2", __LINE__);
    expect_level(&rec->levels[12], "10.4", "8", __LINE__);

    /* Worse than every held bid: dropped itself, nothing changes. */
    v = lvl(dec_s("9.9"), dec_s("1"));
    ASSERT_EQ(book_set(&b, BOOK_BID, &v), 0);
    ASSERT_EQ_U(b.dropped, 11);
    book_top(&b, rec, 8);
    expect_level(&rec->levels[4], "10.5", "1", __LINE__);
    /* Replacing a held level of a full side drops nothing. */
    v = lvl(dec_s("10.50"), dec_s("77"));
    ASSERT_EQ(book_set(&b, BOOK_BID, &v), 0);
    ASSERT_EQ_U(b.dropped, 11);
    book_top(&b, rec, 8);
    expect_level(&rec->levels[4], "10.50", "77", __LINE__);

    /* A thousand new best bids: each pushes the worst out. */
    for (i = 0; i < 1000; i++) {
        snprintf(px, sizeof(px), "%u.5", 11 + i);
        v = lvl(dec_s(px), dec(i, -1));
        v.qty.m = i + 1;
        ASSERT_EQ(book_set(&b, BOOK_BID, &v), 0);
    }
    ASSERT_EQ(b.side[BOOK_BID].n, 5);
    ASSERT_EQ_U(b.dropped, 1011);
    book_top(&b, rec, 8);
    ASSERT_EQ(rec->n_bids, 5);
    expect_level(&rec->levels[0], "1010.5", "100.0", __LINE__);
    expect_level(&rec->levels[4], "1006.5", "99.6", __LINE__);
    /* And removing from the top still finds the right levels after the compactions. */
    v = lvl(dec_s("1008.5"), dec_s("0"));
    ASSERT_EQ(book_set(&b, BOOK_BID, &v), 0);
    book_top(&b, rec, 8);
    ASSERT_EQ(rec->n_bids, 4);
    expect_level(&rec->levels[1], "1009.5", "99.9", __LINE__);
    expect_level(&rec->levels[2], "1007.5", "99.7", __LINE__);

    /* A side of one level. */
    book_fini(&b);
    ASSERT_EQ(book_init(&b, 1), 0);
    for (i = 0; i < 100; i++) {
        v = lvl(dec(1000 - (int64_t)i, -2), dec_s("1"));
        ASSERT_EQ(book_set(&b, BOOK_ASK, &v), 0);
    }
    book_top(&b, rec, 8);
    ASSERT_EQ(rec->n_asks, 1);
    expect_level(&rec->levels[8], "9.01", "1", __LINE__);
    ASSERT_EQ_U(b.dropped, 99);
    book_fini(&b);
    free(rec);
    return 0;
}

/* "0.1000" and "0.10005" compare right whichever comes first (the finer one rescales the book
 * once); the same value in another exponent is the same level; prices that cannot be keyed in
 * 18 digits are refused with -ERANGE, negative values with -EINVAL, and leave the book as it
 * was. */
TEST(book_mixed_exponents_compare_right)
{
    static const char *const orders[2][2] = {{"0.1000", "0.10005"}, {"0.10005", "0.1000"}};
    struct mdf_book *rec = rec_new(4);
    struct vlevel v;
    struct book b;
    int k, side;

    for (k = 0; k < 2; k++) {
        ASSERT_EQ(book_init(&b, 100), 0);
        for (side = 0; side < 2; side++) {
            v = lvl(dec_s("0.0999"), dec_s("5"));
            ASSERT_EQ(book_set(&b, (enum book_side_id)side, &v), 0);
            /* Quantity 1 for 0.1000 and 2 for 0.10005, whichever comes first. */
            v = lvl(dec_s(orders[k][0]), dec(1 + k, 0));
            ASSERT_EQ(book_set(&b, (enum book_side_id)side, &v), 0);
            v = lvl(dec_s(orders[k][1]), dec(2 - k, 0));
            ASSERT_EQ(book_set(&b, (enum book_side_id)side, &v), 0);
            v = lvl(dec_s("0.1001"), dec_s("3"));
            ASSERT_EQ(book_set(&b, (enum book_side_id)side, &v), 0);
        }
        ASSERT_EQ(b.exp, -5);
        book_top(&b, rec, 4);
        ASSERT_EQ(rec->n_bids, 4);
        ASSERT_EQ(rec->n_asks, 4);
        expect_level(&rec->levels[0], "0.1001", "3", __LINE__);
        expect_level(&rec->levels[1], "0.10005", "2", __LINE__);
        expect_level(&rec->levels[2], "0.1000", "1", __LINE__);
        expect_level(&rec->levels[3], "0.0999", "5", __LINE__);
        expect_level(&rec->levels[4], "0.0999", "5", __LINE__);
        expect_level(&rec->levels[5], "0.1000", "1", __LINE__);
        expect_level(&rec->levels[6], "0.10005", "2", __LINE__);
        expect_level(&rec->levels[7], "0.1001", "3", __LINE__);

        /* "0.10000000" and "1e-1" are the level "0.1000": replaced, keeping the new text. */
        v = lvl(dec_s("0.10000000"), dec_s("9.5"));
        ASSERT_EQ(book_set(&b, BOOK_BID, &v), 0);
        v = lvl(dec_s("1e-1"), dec_s("8.5"));
        ASSERT_EQ(book_set(&b, BOOK_ASK, &v), 0);
        ASSERT_EQ(b.exp, -5);
        book_top(&b, rec, 4);
        ASSERT_EQ(rec->n_bids, 4);
        ASSERT_EQ(rec->n_asks, 4);
        expect_level(&rec->levels[2], "0.10000000", "9.5", __LINE__);
        expect_level(&rec->levels[5], "1e-1", "8.5", __LINE__);

        /* Keying 1e-20 would make 0.1001 a 20-digit key: refused, nothing rescaled. */
        v = lvl(dec_s("0.00000000000000000001"), dec_s("1"));
        ASSERT_EQ(book_set(&b, BOOK_BID, &v), -ERANGE);
        /* Too large at the book's exponent. */
        v = lvl(dec_s("100000000000000"), dec_s("1"));
        ASSERT_EQ(book_set(&b, BOOK_ASK, &v), -ERANGE);
        v = lvl(dec_s("-0.1"), dec_s("1"));
        ASSERT_EQ(book_set(&b, BOOK_BID, &v), -EINVAL);
        v = lvl(dec_s("0.1"), dec_s("-1"));
        ASSERT_EQ(book_set(&b, BOOK_BID, &v), -EINVAL);
        ASSERT_EQ(b.exp, -5);
        book_top(&b, rec, 4);
        ASSERT_EQ(rec->n_bids, 4);
        ASSERT_EQ(rec->n_asks, 4);
        expect_level(&rec->levels[0], "0.1001", "3", __LINE__);
        expect_level(&rec->levels[4], "0.0999", "5", __LINE__);

        /* Cleared, the book takes its exponent afresh. */
        book_clear(&b);
        v = lvl(dec_s("123456789012345.678"), dec_s("1"));
        ASSERT_EQ(book_set(&b, BOOK_BID, &v), 0);
        ASSERT_EQ(b.exp, -3);
        book_fini(&b);
    }
    free(rec);
    return 0;
}
