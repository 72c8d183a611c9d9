/*
 * Ring edge cases, single-threaded, over real ring code in ordinary memory: empty, wrap, laps
 * of exactly capacity, capacity+1 and k x capacity, start positions, oversize records, and a
 * randomized comparison of lost counts with an oracle.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "shm/ring.h"
#include "shm/synth.h"
#include "test.h"

/* A ring of `cap` trade-sized slots in zeroed heap memory. */
static void *make_ring(uint64_t cap, struct ring_tx *tx)
{
    uint32_t slot = ring_slot_size(sizeof(struct mdf_ticker));
    size_t size = ring_segment_size(cap, slot);
    void *base = aligned_alloc(64, (size + 63) & ~(size_t)63);

    ASSERT(base != NULL);
    memset(base, 0, size);
    ring_format(base, MDF_RING_TICKS, cap, slot);
    ring_tx_init(tx, base, NULL);
    return base;
}

static void publish(struct ring_tx *tx, uint64_t i)
{
    union mdf_record r;

    synth_record(&r, MDF_REC_TRADE, i, 0, (uint32_t)(i % 7), 1);
    ASSERT_EQ_U(ring_tx_publish(tx, &r, r.h.size), i);
}

/* Reads one record and checks it is record `want` (its seq and checksum), with `lost` before. */
static void expect(struct ring_rx *rx, uint64_t want, uint64_t want_lost)
{
    union mdf_record r;
    uint64_t lost = 999;

    ASSERT_EQ(ring_rx_next(rx, &r, sizeof(r), &lost), 1);
    ASSERT_EQ_U(r.h.seq, want);
    ASSERT_EQ_U(lost, want_lost);
    ASSERT(synth_check(&r));
    ASSERT_EQ_U(synth_index(&r), want);
}

static void expect_none(struct ring_rx *rx)
{
    union mdf_record r;
    uint64_t lost = 0;

    ASSERT_EQ(ring_rx_next(rx, &r, sizeof(r), &lost), 0);
    ASSERT(!ring_rx_ready(rx));
}

TEST(ring_empty_has_nothing_to_read)
{
    struct ring_tx tx;
    struct ring_rx now, oldest;
    void *base = make_ring(8, &tx);

    ring_rx_init(&now, base, MDF_START_NOW, 0);
    ring_rx_init(&oldest, base, MDF_START_OLDEST, 0);
    expect_none(&now);
    expect_none(&oldest);
    ASSERT_EQ_U(ring_tail(base), 0);
    publish(&tx, 0);
    ASSERT(ring_rx_ready(&now));
    expect(&now, 0, 0);
    expect(&oldest, 0, 0);
    expect_none(&now);
    expect_none(&oldest);
    free(base);
    return 0;
}

TEST(ring_wraps_and_keeps_order)
{
    struct ring_tx tx;
    struct ring_rx rx;
    void *base = make_ring(8, &tx);
    uint64_t i = 0, next = 0;

    ring_rx_init(&rx, base, MDF_START_NOW, 0);
    /* Bursts of 1..8 records, each read fully: many wraps, never a lap. */
    for (int round = 0; round < 200; round++) {
        int burst = 1 + round % 8;

        for (int k = 0; k < burst; k++)
            publish(&tx, i++);
        while (next < i)
            expect(&rx, next++, 0);
        expect_none(&rx);
    }
    ASSERT_EQ_U(rx.delivered, i);
    ASSERT_EQ_U(rx.lost, 0);
    free(base);
    return 0;
}

TEST(ring_lap_edges_report_exact_lost_counts)
{
    const uint64_t cap = 16;
    uint64_t lags[] = {cap - 1, cap, cap + 1, 2 * cap, 5 * cap, 5 * cap + 3};

    for (size_t t = 0; t < sizeof(lags) / sizeof(lags[0]); t++) {
        struct ring_tx tx;
        struct ring_rx rx;
        void *base = make_ring(cap, &tx);
        uint64_t lag = lags[t], lost_want = lag > cap ? lag - cap : 0;

        publish(&tx, 0);
        ring_rx_init(&rx, base, MDF_START_NOW, 0); /* positioned at 1 */
        for (uint64_t i = 1; i <= lag; i++)
            publish(&tx, i);
        /* The reader is `lag` behind: lag <= cap loses nothing. */
        expect(&rx, 1 + lost_want, lost_want);
        for (uint64_t s = 2 + lost_want; s <= lag; s++)
            expect(&rx, s, 0);
        expect_none(&rx);
        ASSERT_EQ_U(rx.lost, lost_want);
        ASSERT_EQ_U(rx.delivered + rx.lost, lag);
        free(base);
    }
    return 0;
}

TEST(ring_lost_count_matches_oracle_randomized)
{
    struct test_rng rng;
    int cases = 1500;

    test_rng_init(&rng, test_seed());
    for (int c = 0; c < cases; c++) {
        uint64_t cap = UINT64_C(1) << (1 + test_rng_below(&rng, 9));
        struct ring_tx tx;
        struct ring_rx rx;
        void *base = make_ring(cap, &tx);
        uint64_t tail = 0, pos = 0; /* the oracle: writer tail and reader position */
        int steps = 1 + (int)test_rng_below(&rng, 20);

        ring_rx_init(&rx, base, MDF_START_OLDEST, 0);
        for (int s = 0; s < steps; s++) {
            uint64_t burst = test_rng_below(&rng, 4 * cap + 2);
            uint64_t reads = test_rng_below(&rng, 2 * cap + 2);

            for (uint64_t k = 0; k < burst; k++)
                publish(&tx, tail++);
            for (uint64_t k = 0; k < reads; k++) {
                uint64_t want_lost = 0;

                if (pos == tail) {
                    expect_none(&rx);
                    break;
                }
                if (tail - pos > cap) {
                    want_lost = tail - cap - pos;
                    pos = tail - cap;
                }
                expect(&rx, pos, want_lost);
                pos++;
            }
        }
        ASSERT_EQ_U(rx.next, pos);
        free(base);
    }
    return 0;
}

TEST(ring_subscribe_from_now_oldest_and_seq)
{
    struct ring_tx tx;
    struct ring_rx rx;
    void *base = make_ring(16, &tx);

    for (uint64_t i = 0; i < 100; i++)
        publish(&tx, i);
    ring_rx_init(&rx, base, MDF_START_NOW, 0);
    expect_none(&rx);
    ASSERT_EQ_U(rx.next, 100);
    ring_rx_init(&rx, base, MDF_START_OLDEST, 0);
    expect(&rx, 84, 0);
    ring_rx_init(&rx, base, MDF_START_SEQ, 90);
    expect(&rx, 90, 0);
    ring_rx_init(&rx, base, MDF_START_SEQ, 10);
    expect(&rx, 84, 74); /* asked for 10, the ring holds 84..99: 74 lost, counted */
    ring_rx_init(&rx, base, MDF_START_SEQ, 100); /* the next one: waits for it */
    expect_none(&rx);
    publish(&tx, 100);
    expect(&rx, 100, 0);
    /* Beyond what was ever published (a cursor of a replaced instance, a huge number): the
     * oldest record held, nothing lost, no wait for a number that may never come. */
    ring_rx_init(&rx, base, MDF_START_SEQ, 120);
    expect(&rx, 85, 0);
    ring_rx_init(&rx, base, MDF_START_SEQ, UINT64_MAX);
    expect(&rx, 85, 0);
    ring_rx_init(&rx, base, MDF_START_SEQ, (1ull << 63) + 5);
    expect(&rx, 85, 0);
    free(base);
    return 0;
}

TEST(ring_refuses_oversized_record)
{
    struct ring_tx tx;
    struct ring_rx rx;
    void *base = make_ring(8, &tx);
    static union mdf_record big;

    synth_record(&big, MDF_REC_BOOK, 1, 0, 0, 20); /* far larger than a ticks slot */
    ring_rx_init(&rx, base, MDF_START_NOW, 0);
    ASSERT_EQ_U(ring_tx_publish(&tx, &big, big.h.size), UINT64_MAX);
    ASSERT_EQ_U(ring_tx_publish(&tx, &big, 8), UINT64_MAX); /* shorter than a header */
    ASSERT_EQ_U(ring_tail(base), 0);
    expect_none(&rx);
    publish(&tx, 0);
    expect(&rx, 0, 0);
    free(base);
    return 0;
}

/* Slots whose stamps are newer than the tail allows, a whole ring of them, can only come from
 * a corrupt segment: the reader says so instead of searching forever (found by
 * tests/fuzz/reader). */
TEST(ring_reader_refuses_slots_that_run_ahead_of_the_tail)
{
    struct ring_tx tx;
    struct ring_rx rx;
    void *base = make_ring(8, &tx);
    union mdf_record r;
    uint64_t lost = 0;

    for (uint64_t i = 0; i < 3; i++)
        publish(&tx, i);
    ring_rx_init(&rx, base, MDF_START_OLDEST, 0);
    expect(&rx, 0, 0);
    for (uint64_t i = 0; i <= rx.mask; i++) {
        struct mdf_slot *sl = (struct mdf_slot *)(rx.slots + i * rx.slot_size);

        atomic_store_explicit(&sl->stamp, UINT64_MAX - 1, memory_order_relaxed);
    }
    ASSERT_EQ(ring_rx_next(&rx, &r, sizeof(r), &lost), MDF_EBADSEG);
    ASSERT_CONTAINS(mdf_errmsg(), "corrupt");
    free(base);
    return 0;
}
