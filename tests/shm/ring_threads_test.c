/*
 * Ring tests with threads (also run under ThreadSanitizer): one writer and three readers over
 * 10^7 checksummed records (3 x 10^5 under TSan) in a small ring, so readers are lapped
 * constantly and read slots while they are being overwritten; and the doorbell: a blocked reader
 * is woken, while publishing with nobody waiting makes no system call.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include <mdfeed/mdfeed.h>

#include "core/clock.h"
#include "shm/doorbell.h"
#include "shm/publisher.h"
#include "shm/ring.h"
#include "shm/synth.h"
#include "test.h"

/* TSan instruments every access (the readers spin on the ring), so 10^7 records take two
 * minutes there; 3 x 10^5 still lap the 256-slot ring over a thousand times, which is what
 * gives TSan its races to look for. GCC says __SANITIZE_THREAD__, clang __has_feature. */
#if defined(__SANITIZE_THREAD__)
#define RING_UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RING_UNDER_TSAN 1
#endif
#endif

#ifdef RING_UNDER_TSAN
#define N_RECORDS 300000ull
#else
#define N_RECORDS 10000000ull
#endif
#define N_READERS 3

struct torn_ctx {
    void *base;                    /* the ring */
    _Atomic(int) done;             /* writer finished */
    uint64_t delivered[N_READERS]; /* per reader */
    uint64_t lost[N_READERS];      /* per reader */
    uint64_t bad[N_READERS];       /* checksum or order failures per reader */
    uint64_t start[N_READERS];     /* where each reader started */
};

struct reader_arg {
    struct torn_ctx *ctx; /* shared */
    int id;               /* reader index */
};

static void *torn_reader(void *p)
{
    struct reader_arg *a = p;
    struct torn_ctx *ctx = a->ctx;
    struct ring_rx rx;
    union mdf_record r;
    uint64_t expect, lost;

    ring_rx_init(&rx, ctx->base, MDF_START_OLDEST, 0);
    expect = rx.next; /* the writer may be well past 0 already */
    ctx->start[a->id] = rx.next;
    for (;;) {
        int rc = ring_rx_next(&rx, &r, sizeof(r), &lost);

        if (rc == 0) {
            /* Acquire: pairs with the writer's release store of done, after its last publish. */
            if (atomic_load_explicit(&ctx->done, memory_order_acquire) && !ring_rx_ready(&rx))
                break;
            continue;
        }
        /* Every record: intact, in order, and exactly `lost` after the previous one. */
        if (!synth_check(&r) || synth_index(&r) != r.h.seq || r.h.seq != expect + lost)
            ctx->bad[a->id]++;
        expect = r.h.seq + 1;
    }
    ctx->delivered[a->id] = rx.delivered;
    ctx->lost[a->id] = rx.lost;
    return NULL;
}

TEST(ring_never_delivers_torn_record_to_three_reader_threads)
{
    static struct torn_ctx ctx;
    struct reader_arg args[N_READERS];
    pthread_t th[N_READERS];
    uint32_t slot = ring_slot_size(sizeof(struct mdf_ticker));
    uint64_t cap = 256;
    size_t size = ring_segment_size(cap, slot);
    struct ring_tx tx;
    union mdf_record r;

    ctx.base = aligned_alloc(64, (size + 63) & ~(size_t)63);
    ASSERT(ctx.base);
    memset(ctx.base, 0, size);
    ring_format(ctx.base, MDF_RING_TICKS, cap, slot);
    ring_tx_init(&tx, ctx.base, NULL);
    for (int i = 0; i < N_READERS; i++) {
        args[i] = (struct reader_arg){.ctx = &ctx, .id = i};
        ASSERT_EQ(pthread_create(&th[i], NULL, torn_reader, &args[i]), 0);
    }
    /* Mixed record sizes, so a torn copy would also mix lengths. */
    for (uint64_t i = 0; i < N_RECORDS; i++) {
        synth_record(&r, (i % 3) == 2 ? MDF_REC_TICKER : MDF_REC_TRADE, i, 0, 0, 1);
        ring_tx_publish(&tx, &r, r.h.size);
    }
    /* Release: pairs with the readers' acquire load; every publish happens-before it. */
    atomic_store_explicit(&ctx.done, 1, memory_order_release);
    for (int i = 0; i < N_READERS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < N_READERS; i++) {
        fprintf(stderr, "  reader %d: %llu delivered, %llu lost\n", i,
                (unsigned long long)ctx.delivered[i], (unsigned long long)ctx.lost[i]);
        ASSERT_EQ_U(ctx.bad[i], 0);
        ASSERT_EQ_U(ctx.start[i] + ctx.delivered[i] + ctx.lost[i], N_RECORDS);
        ASSERT_GT(ctx.delivered[i], 0);
    }
    free(ctx.base);
    return 0;
}

struct wait_ctx {
    mdf_sub_t *sub;      /* reader's subscription */
    _Atomic(int) result; /* mdf_wait's return, 100 while blocked */
};

static void *waiter(void *p)
{
    struct wait_ctx *w = p;

    /* Relaxed: the main thread polls it; the join below orders the rest. */
    atomic_store_explicit(&w->result, mdf_wait(w->sub, 10000), memory_order_relaxed);
    return NULL;
}

TEST(ring_wait_wakes_blocked_reader_and_publish_skips_syscall_otherwise)
{
    struct pub_params prm;
    struct publisher pub;
    struct wait_ctx w = {.result = 100};
    mdf_instance_t *inst;
    struct mdf_doorbell *bell;
    union mdf_record r;
    pthread_t th;
    int64_t t0;

    pub_default_params(&prm, test_instance());
    ASSERT_EQ(pub_open(&pub, &prm), 0);
    ASSERT_EQ(mdf_open(&inst, test_instance(), 0), 0);
    ASSERT_EQ(mdf_subscribe(inst, MDF_RING_TICKS, MDF_START_NOW, 0, &w.sub), 0);
    bell = doorbell_at(pub.doorbell.base, MDF_RING_TICKS);

    /* Nobody waits: 10000 publishes, no wake-up system call. */
    for (uint64_t i = 0; i < 10000; i++) {
        synth_record(&r, MDF_REC_TRADE, i, 0, 0, 1);
        pub_publish(&pub, MDF_RING_TICKS, &r);
    }
    ASSERT_EQ_U(pub.tx[MDF_RING_TICKS].wakes, 0);
    /* Catch up, then block. */
    while (mdf_next(w.sub, (mdf_record_t *)&r, NULL) == 1)
        ;
    ASSERT_EQ(pthread_create(&th, NULL, waiter, &w), 0);
    /* Wait until the reader has raised its flag (it is about to sleep or asleep). */
    t0 = test_now_ns();
    while (atomic_load_explicit(&bell->waiting, memory_order_seq_cst) == 0) {
        ASSERT_LT(test_now_ns() - t0, INT64_C(5000000000));
        clock_sleep_ns(100000);
    }
    clock_sleep_ns(20000000); /* let it reach the futex */
    ASSERT_EQ(atomic_load_explicit(&w.result, memory_order_relaxed), 100); /* still blocked */
    pub_heartbeat(&pub, clock_mono_ns());
    synth_record(&r, MDF_REC_TRADE, 10000, 0, 0, 1);
    pub_publish(&pub, MDF_RING_TICKS, &r);
    pthread_join(th, NULL);
    ASSERT_EQ(atomic_load_explicit(&w.result, memory_order_relaxed), 1);
    ASSERT_EQ_U(pub.tx[MDF_RING_TICKS].wakes, 1);
    ASSERT_EQ(mdf_next(w.sub, (mdf_record_t *)&r, NULL), 1);
    ASSERT_EQ_U(r.h.seq, 10000);
    /* The flag was cleared: the next publish makes no system call. */
    pub_publish(&pub, MDF_RING_TICKS, &r);
    ASSERT_EQ_U(pub.tx[MDF_RING_TICKS].wakes, 1);
    ASSERT_EQ(mdf_next(w.sub, (mdf_record_t *)&r, NULL), 1);
    /* Nothing published: the wait times out with 0. */
    pub_heartbeat(&pub, clock_mono_ns());
    ASSERT_EQ(mdf_wait(w.sub, 30), 0);
    mdf_unsubscribe(w.sub);
    mdf_close(inst);
    pub_close(&pub, true);
    return 0;
}
