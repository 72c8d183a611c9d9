/*
 * Order book figures: what a LIVE Binance spot book costs per applied diff, and what reading
 * its top 20 into a record costs. The book holds 1000 levels per side (0.01 ticks); each diff
 * carries 10 levels within the top 20 ticks of either side, a third of them removals, the rest
 * new or replaced quantities, so the book keeps its size and every update lands near the top,
 * as live traffic does. Diffs are built before timing; the figure is the median of several
 * timed runs.
 *
 * Figures:
 *   book_diff_apply   ns per bsync_diff of a 10-level diff (continuity check and the 10 sets)
 *   book_top20        ns per book_top of 20 levels per side into a record
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/book.h"
#include "core/clock.h"

void bench_orderbook(void);

#define BB_LEVELS 1000  /* levels per side */
#define BB_MID 100000   /* first ask tick; bids below it */
#define BB_DIFFS 4096   /* distinct prebuilt diffs, cycled */
#define BB_PER_DIFF 10  /* levels per diff */
#define BB_NEAR 20      /* diffs touch the top this many ticks deep */
#define BB_APPLY 400000 /* diffs per timed run */
#define BB_TOP 1000000  /* book_top calls per timed run */
#define BB_RUNS 5       /* timed runs; the median is reported */
#define BB_DEPTH 20     /* levels per side read */

/* A prebuilt diff: its levels (bids then asks). */
struct bb_diff {
    struct vlevel lv[BB_PER_DIFF]; /* levels, bids first */
    uint32_t n_bids;               /* how many are bids */
};

/* xorshift64*: deterministic figures. */
static uint64_t bb_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static struct mdf_dec bb_dec(int64_t m, int32_t e)
{
    struct mdf_dec d = {.m = m, .e = e};

    return d;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return v[n / 2];
}

void bench_orderbook(void)
{
    static union {
        struct mdf_book b;
        uint8_t room[MDF_BOOK_SIZE(BB_DEPTH)];
    } rec;
    struct bb_diff *diffs = calloc(BB_DIFFS, sizeof(*diffs));
    struct vlevel *bids = calloc(BB_LEVELS, sizeof(*bids));
    struct vlevel *asks = calloc(BB_LEVELS, sizeof(*asks));
    double apply_ns[BB_RUNS], top_ns[BB_RUNS];
    uint64_t rng = 0x9e3779b97f4a7c15ull, sink = 0;
    struct bsync_diff d;
    struct vmsg snap;
    struct bsync s;
    int64_t id = 1000, t0;
    uint32_t i, k;
    int run;

    if (!diffs || !bids || !asks || bsync_init(&s, BSYNC_BINANCE_SPOT, 5000, 64, 4096) < 0) {
        fprintf(stderr, "bench_book: out of memory\n");
        goto out;
    }
    for (i = 0; i < BB_LEVELS; i++) {
        bids[i].px = bb_dec(BB_MID - 1 - (int64_t)i, -2);
        bids[i].qty = bb_dec(1 + (int64_t)(bb_rand(&rng) % 100000), -4);
        asks[i].px = bb_dec(BB_MID + (int64_t)i, -2);
        asks[i].qty = bb_dec(1 + (int64_t)(bb_rand(&rng) % 100000), -4);
    }
    for (i = 0; i < BB_DIFFS; i++) {
        diffs[i].n_bids = (uint32_t)(bb_rand(&rng) % (BB_PER_DIFF + 1));
        for (k = 0; k < BB_PER_DIFF; k++) {
            int64_t off = (int64_t)(bb_rand(&rng) % BB_NEAR);
            struct vlevel *v = &diffs[i].lv[k];

            v->px = bb_dec(k < diffs[i].n_bids ? BB_MID - 1 - off : BB_MID + off, -2);
            v->qty = bb_rand(&rng) % 3 == 0 ? bb_dec(0, -8)
                                            : bb_dec(1 + (int64_t)(bb_rand(&rng) % 100000), -4);
        }
    }
    memset(&snap, 0, sizeof(snap));
    snap.kind = VM_PARTIAL;
    snap.last_id = id;
    snap.bids = bids;
    snap.asks = asks;
    snap.n_bids = snap.n_asks = BB_LEVELS;
    if (bsync_snapshot(&s, &snap) != BS_APPLIED) {
        fprintf(stderr, "bench_book: snapshot not applied\n");
        goto out_fini;
    }

    memset(&d, 0, sizeof(d));
    d.prev_id = -1;
    for (run = 0; run < BB_RUNS; run++) {
        t0 = clock_mono_ns();
        for (i = 0; i < BB_APPLY; i++) {
            const struct bb_diff *b = &diffs[i % BB_DIFFS];

            d.first_id = d.last_id = ++id;
            d.bids = b->lv;
            d.n_bids = b->n_bids;
            d.asks = b->lv + b->n_bids;
            d.n_asks = BB_PER_DIFF - b->n_bids;
            sink += (uint64_t)bsync_diff(&s, &d);
        }
        apply_ns[run] = (double)(clock_mono_ns() - t0) / BB_APPLY;
    }
    if (sink != (uint64_t)BS_APPLIED * BB_APPLY * BB_RUNS)
        fprintf(stderr, "bench_book: some diffs were not applied\n");
    printf("book_diff_apply: %.1f ns (10 levels near the top, %u/%u levels per side)\n",
           median(apply_ns, BB_RUNS), s.book.side[BOOK_BID].n, s.book.side[BOOK_ASK].n);

    for (run = 0; run < BB_RUNS; run++) {
        t0 = clock_mono_ns();
        for (i = 0; i < BB_TOP; i++) {
            book_top(&s.book, &rec.b, BB_DEPTH);
            sink += rec.b.levels[i % BB_DEPTH].qty.m;
        }
        top_ns[run] = (double)(clock_mono_ns() - t0) / BB_TOP;
    }
    printf("book_top20: %.1f ns\n", median(top_ns, BB_RUNS));
    if (sink == 42)
        printf("\n"); /* keeps the reads */

out_fini:
    bsync_fini(&s);
out:
    free(diffs);
    free(bids);
    free(asks);
}
