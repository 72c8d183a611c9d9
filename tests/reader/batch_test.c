/*
 * The batch read (mdf_read): records of mixed types and sizes land at a fixed stride in ring
 * order, equal to what mdf_next gives; a lapped cursor gets the exact lost count with the gaps
 * visible in h.seq; a short stride cuts records but keeps their header; bad arguments fail.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mdfeed/mdfeed.h>

#include "shm/publisher.h"
#include "test.h"

/* Publishes record k: trades, bbos and tickers in turn, each with a recognisable payload. */
static void publish_k(struct publisher *p, uint64_t k)
{
    static union mdf_record r;

    memset(&r, 0, sizeof(r));
    switch (k % 3) {
    case 0:
        r.trade.h = (struct mdf_rec_hdr){.type = MDF_REC_TRADE, .size = sizeof(struct mdf_trade)};
        r.trade.trade_id = (int64_t)k;
        r.trade.price = (struct mdf_dec){.m = (int64_t)k * 10 + 1, .e = -2};
        break;
    case 1:
        r.bbo.h = (struct mdf_rec_hdr){.type = MDF_REC_BBO, .size = sizeof(struct mdf_bbo)};
        r.bbo.update_id = (int64_t)k;
        break;
    default:
        r.ticker.h =
            (struct mdf_rec_hdr){.type = MDF_REC_TICKER, .size = sizeof(struct mdf_ticker)};
        r.ticker.count = (int64_t)k;
        r.ticker.prev_close_px = (struct mdf_dec){.m = (int64_t)k, .e = -8};
        break;
    }
    r.h.exch_time_ns = (int64_t)k;
    ASSERT_EQ_U(pub_publish(p, MDF_RING_TICKS, &r), k);
}

TEST(reader_read_batch_matches_next_and_counts_lost_exactly)
{
    static uint8_t buf[64 * 512];
    static union mdf_record one;
    struct pub_params prm;
    struct publisher p;
    mdf_instance_t *inst;
    mdf_sub_t *a, *b;
    size_t stride;
    uint64_t lost = 99, cap = 64;

    pub_default_params(&prm, test_instance());
    prm.ring_capacity[MDF_RING_TICKS] = cap;
    ASSERT_EQ(pub_open(&p, &prm), 0);
    ASSERT_EQ(mdf_open(&inst, test_instance(), 0), 0);
    ASSERT_EQ(mdf_subscribe(inst, MDF_RING_TICKS, MDF_START_OLDEST, 0, &a), 0);
    ASSERT_EQ(mdf_subscribe(inst, MDF_RING_TICKS, MDF_START_OLDEST, 0, &b), 0);
    stride = mdf_sub_record_max(a);
    ASSERT(stride >= sizeof(struct mdf_ticker) && stride % 8 == 0 && stride <= 512);
    ASSERT_EQ(mdf_sub_record_max(NULL), 0);
    ASSERT_EQ(mdf_read(a, buf, stride, 64, &lost), 0);
    ASSERT_EQ_U(lost, 0);

    /* 40 records, read 25 then the rest: each equals mdf_next's copy from another cursor. */
    for (uint64_t k = 0; k < 40; k++)
        publish_k(&p, k);
    ASSERT_EQ(mdf_read(a, buf, stride, 25, &lost), 25);
    ASSERT_EQ(mdf_read(a, buf + 25 * stride, stride, 64, &lost), 15);
    ASSERT_EQ_U(lost, 0);
    for (uint64_t k = 0; k < 40; k++) {
        const union mdf_record *r = (const void *)(buf + k * stride);

        ASSERT_EQ(mdf_next(b, &one, NULL), 1);
        ASSERT_EQ_U(r->h.seq, k);
        ASSERT_EQ(memcmp(r, &one, one.h.size), 0);
    }
    ASSERT_EQ(((const union mdf_record *)buf)->trade.price.m, 1);
    ASSERT_EQ(((const union mdf_record *)(buf + 38 * stride))->ticker.prev_close_px.m, 38);

    /* Lapped: 100 more on a 64-slot ring while a sleeps: 36 lost, then 64 records 76..139. */
    for (uint64_t k = 40; k < 140; k++)
        publish_k(&p, k);
    ASSERT_EQ(mdf_read(a, buf, stride, 10, &lost), 10);
    ASSERT_EQ_U(lost, 36);
    ASSERT_EQ_U(((const union mdf_record *)buf)->h.seq, 76);
    ASSERT_EQ(mdf_read(a, buf, stride, 100, &lost), 54);
    ASSERT_EQ_U(lost, 0);
    ASSERT_EQ_U(((const union mdf_record *)(buf + 53 * stride))->h.seq, 139);
    {
        uint64_t delivered, total_lost;

        mdf_sub_counts(a, &delivered, &total_lost);
        ASSERT_EQ_U(delivered, 104);
        ASSERT_EQ_U(total_lost, 36);
    }

    /* A short stride cuts the ticker (h.size still says its size) and keeps its neighbours. */
    publish_k(&p, 140); /* ticker */
    publish_k(&p, 141); /* trade */
    ASSERT_EQ(mdf_read(a, buf, 64, 2, &lost), 2);
    ASSERT_EQ(((const union mdf_record *)buf)->h.type, MDF_REC_TICKER);
    ASSERT_EQ(((const union mdf_record *)buf)->h.size, sizeof(struct mdf_ticker));
    ASSERT_EQ(((const union mdf_record *)(buf + 64))->h.type, MDF_REC_TRADE);
    ASSERT_EQ_U(((const union mdf_record *)(buf + 64))->h.seq, 141);

    /* Bad arguments. */
    ASSERT_EQ(mdf_read(a, buf, 60, 1, NULL), -EINVAL);
    ASSERT_EQ(mdf_read(a, buf, 48, 1, NULL), -EINVAL);
    ASSERT_EQ(mdf_read(NULL, buf, 64, 1, NULL), -EINVAL);
    ASSERT_EQ(mdf_read(a, NULL, 64, 1, NULL), -EINVAL);
    ASSERT_EQ(mdf_read(a, NULL, 64, 0, NULL), 0);
    mdf_unsubscribe(a);
    mdf_unsubscribe(b);
    mdf_close(inst);
    pub_close(&p, true);
    return 0;
}

/* A reader that waits in calls shorter than a heartbeat period (as the Python package does,
 * in 100 ms slices, or 50 ms here) still hears that the daemon died: mdf_wait checks liveness
 * before it gives up at its deadline. */
TEST(reader_wait_in_short_calls_reports_a_dead_daemon)
{
    struct pub_params prm;
    struct publisher p;
    mdf_instance_t *inst;
    mdf_sub_t *sub;
    int status, rc = 0, calls = 0;
    pid_t w = fork();

    ASSERT(w >= 0);
    if (w == 0) {
        pub_default_params(&prm, test_instance());
        if (pub_open(&p, &prm) < 0)
            _exit(3);
        for (;;)
            pause();
    }
    ASSERT_EQ(mdf_open(&inst, test_instance(), 5000), 0);
    ASSERT_EQ(mdf_subscribe(inst, MDF_RING_TICKS, MDF_START_NOW, 0, &sub), 0);
    ASSERT_EQ(mdf_wait(sub, 50), 0); /* alive: a plain time-out */
    kill(w, SIGKILL);
    waitpid(w, &status, 0);
    while (calls < 40 && (rc = mdf_wait(sub, 50)) == 0)
        calls++;
    ASSERT_EQ(rc, MDF_EDEAD);
    ASSERT_LE(calls, 1);
    ASSERT_CONTAINS(mdf_errmsg(), "dead");
    mdf_unsubscribe(sub);
    mdf_close(inst);
    return 0;
}
