/*
 * Crash tests. A writer publishing flat out is SIGKILLed at random moments 2,000 times while a
 * reader process checks every record it gets: no committed record is ever corrupt, sequences
 * only go forward with exact lost counts, and each restarted writer adopts the segments with a
 * bumped epoch so the reader resumes. Also: a killed writer is noticed at once even while its
 * pid lingers as a zombie, a live writer that stops beating is dead only past the heartbeat
 * bound (MDF_DEAD_AFTER_NS), and a reader killed while blocked costs the writer nothing.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mdfeed/mdfeed.h>

#include "core/clock.h"
#include "shm/doorbell.h"
#include "shm/publisher.h"
#include "shm/synth.h"
#include "test.h"

#define KILLS 2000
#define HB_NS 5000000 /* 5 ms heartbeats in these tests */

static void kill_params(struct pub_params *prm)
{
    pub_default_params(prm, test_instance());
    for (int r = 0; r < MDF_RING_COUNT; r++)
        prm->ring_capacity[r] = 1024;
    prm->state.max_symbols = 64;
    prm->state.max_series = 16;
    prm->hb_interval_ns = HB_NS;
}

/* The writer child: adopt (or create) the instance, then publish trades flat out, each record i
 * made from its own sequence number so readers can check it, heartbeating as it goes. */
static void writer_main(void)
{
    struct pub_params prm;
    struct publisher p;
    union mdf_record r;
    int64_t next_hb = 0;

    kill_params(&prm);
    if (pub_open(&p, &prm) < 0) {
        fprintf(stderr, "writer: %s\n", mdf_errmsg());
        _exit(3);
    }
    for (uint64_t i = p.tx[MDF_RING_TICKS].tail;; i++) {
        synth_record(&r, (i % 4) == 3 ? MDF_REC_TICKER : MDF_REC_TRADE, i, 0, 0, 1);
        pub_publish(&p, MDF_RING_TICKS, &r);
        if ((i & 63) == 0) {
            int64_t now = clock_mono_ns();

            if (now >= next_hb) {
                pub_heartbeat(&p, now);
                next_hb = now + HB_NS;
            }
        }
    }
}

static volatile sig_atomic_t reader_stop; /* SIGTERM to the reader child */

static void on_term(int sig)
{
    (void)sig;
    reader_stop = 1;
}

struct reader_report {
    uint64_t delivered;  /* records read and checked */
    uint64_t lost;       /* records lost to laps (counted, not missing) */
    uint64_t bad;        /* corrupt or out-of-order records: must be 0 */
    uint64_t restarts;   /* epoch changes seen */
    uint64_t reopens;    /* segments retired and reopened */
    uint64_t last_epoch; /* epoch at the end */
    uint64_t last_seq;   /* sequence of the last record read */
};

/* The reader child: reads the ticks ring until SIGTERM, checking every record. */
static void reader_main(int report_fd)
{
    struct reader_report rep = {0};
    struct sigaction sa = {.sa_handler = on_term};
    mdf_instance_t *inst = NULL;
    mdf_sub_t *sub = NULL;
    union mdf_record r;
    uint64_t lost, expect = 0;
    bool have = false;

    sigaction(SIGTERM, &sa, NULL);
    while (!reader_stop) {
        struct mdf_status st;
        int rc;

        if (!inst) {
            if (mdf_open(&inst, test_instance(), 100) < 0 ||
                mdf_subscribe(inst, MDF_RING_TICKS, MDF_START_OLDEST, 0, &sub) < 0) {
                mdf_close(inst);
                inst = NULL;
                continue;
            }
            have = false;
        }
        while ((rc = mdf_next(sub, (mdf_record_t *)&r, &lost)) == 1) {
            if (!synth_check(&r) || synth_index(&r) != r.h.seq ||
                (have && r.h.seq != expect + lost))
                rep.bad++;
            rep.delivered++;
            rep.lost += lost;
            rep.last_seq = r.h.seq;
            expect = r.h.seq + 1;
            have = true;
        }
        rc = mdf_wait(sub, 20);
        mdf_status(inst, &st);
        rep.restarts += st.restarted;
        rep.last_epoch = st.epoch;
        if (rc == MDF_ERETIRED || st.liveness == MDF_RETIRED) {
            /* A writer killed while creating replaced the half-built segments. */
            mdf_unsubscribe(sub);
            mdf_close(inst);
            inst = NULL;
            rep.reopens++;
        } else if (rc == MDF_EDEAD) {
            clock_sleep_ns(200000);
        }
    }
    if (write(report_fd, &rep, sizeof(rep)) != sizeof(rep))
        _exit(5);
    _exit(0);
}

TEST(kill_writer_2000_times_no_corrupt_record_and_readers_resume)
{
    struct test_rng rng;
    struct reader_report rep;
    int pfd[2], status, killed_running = 0;
    pid_t reader, w;
    uint64_t tail_before_final;
    struct pub_params prm;
    struct publisher p;
    union mdf_record r;

    test_rng_init(&rng, test_seed());
    ASSERT_EQ(pipe(pfd), 0);
    reader = fork();
    ASSERT(reader >= 0);
    if (reader == 0) {
        close(pfd[0]);
        reader_main(pfd[1]);
    }
    close(pfd[1]);
    for (int k = 0; k < KILLS; k++) {
        w = fork();
        ASSERT(w >= 0);
        if (w == 0)
            writer_main();
        /* Mostly mid-publish; sometimes mid-open. */
        clock_sleep_ns((int64_t)test_rng_below(&rng, 2500000));
        kill(w, SIGKILL);
        ASSERT_EQ(waitpid(w, &status, 0), w);
        if (WIFEXITED(status))
            test_fail(__FILE__, __LINE__, "writer %d exited with %d instead of being killed", k,
                      WEXITSTATUS(status));
        ASSERT_EQ(WTERMSIG(status), SIGKILL);
        killed_running++;
    }
    /* A final writer: adopts what 2,000 crashes left and publishes 1000 checked records. */
    kill_params(&prm);
    ASSERT_EQ(pub_open(&p, &prm), 0);
    ASSERT(p.adopted);
    tail_before_final = p.tx[MDF_RING_TICKS].tail;
    for (uint64_t i = tail_before_final; i < tail_before_final + 1000; i++) {
        synth_record(&r, MDF_REC_TRADE, i, 0, 0, 1);
        pub_publish(&p, MDF_RING_TICKS, &r);
    }
    pub_heartbeat(&p, clock_mono_ns());
    /* Give the reader time to notice the restart and catch up (it waits at most 20 ms). */
    for (int i = 0; i < 200; i++) {
        clock_sleep_ns(10000000);
        pub_heartbeat(&p, clock_mono_ns());
    }
    kill(reader, SIGTERM);
    ASSERT_EQ(read(pfd[0], &rep, sizeof(rep)), (ssize_t)sizeof(rep));
    waitpid(reader, &status, 0);
    fprintf(stderr,
            "  %d kills; reader: %llu delivered, %llu lost, %llu restarts seen, %llu reopens, "
            "epoch %llu\n",
            killed_running, (unsigned long long)rep.delivered, (unsigned long long)rep.lost,
            (unsigned long long)rep.restarts, (unsigned long long)rep.reopens,
            (unsigned long long)rep.last_epoch);
    ASSERT_EQ_U(rep.bad, 0);
    ASSERT_GT(rep.delivered, 0);
    ASSERT_GT(rep.restarts, 0);
    ASSERT_EQ_U(rep.last_epoch, p.epoch);               /* it saw the final epoch */
    ASSERT_EQ_U(rep.last_seq, tail_before_final + 999); /* and resumed to the end */
    pub_close(&p, true);
    return 0;
}

TEST(reader_detects_killed_writer_at_once_even_as_a_zombie)
{
    struct mdf_status st;
    mdf_instance_t *inst;
    int status;
    pid_t w = fork();

    ASSERT(w >= 0);
    if (w == 0)
        writer_main();
    ASSERT_EQ(mdf_open(&inst, test_instance(), 5000), 0);
    clock_sleep_ns(3 * HB_NS);
    ASSERT_EQ(mdf_status(inst, &st), 0);
    ASSERT_EQ(st.liveness, MDF_ALIVE);
    ASSERT_EQ(st.pid, w);
    kill(w, SIGKILL);
    /* Not reaped yet, its pid still answers kill(pid, 0); /proc says it is a zombie. Dead as
     * soon as the kernel has finished it, long before its heartbeat could tell. */
    for (int k = 0; k < 1000; k++) {
        siginfo_t si;

        if (waitid(P_PID, w, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == w)
            break;
        clock_sleep_ns(1000000);
    }
    ASSERT_EQ(kill(w, 0), 0); /* still a zombie */
    ASSERT_EQ(mdf_status(inst, &st), 0);
    ASSERT_EQ(st.liveness, MDF_DEAD);
    ASSERT_LT(st.heartbeat_age_ns, MDF_DEAD_AFTER_NS(st.hb_interval_ns));
    waitpid(w, &status, 0);
    ASSERT_EQ(mdf_status(inst, &st), 0);
    ASSERT_EQ(st.liveness, MDF_DEAD);
    mdf_close(inst);
    return 0;
}

/* A writer whose process lives on but stops beating (a stuck loop): it opens the instance,
 * beats a few times, then sleeps until killed. */
static void silent_writer_main(void)
{
    struct pub_params prm;
    struct publisher p;

    kill_params(&prm);
    if (pub_open(&p, &prm) < 0)
        _exit(3);
    for (int i = 0; i < 5; i++) {
        pub_heartbeat(&p, clock_mono_ns());
        clock_sleep_ns(HB_NS);
    }
    for (;;)
        pause();
}

TEST(reader_calls_a_live_writer_dead_only_past_the_heartbeat_bound)
{
    struct mdf_status st;
    mdf_instance_t *inst;
    int64_t last_beat, bound;
    int status;
    pid_t w = fork();

    ASSERT(w >= 0);
    if (w == 0)
        silent_writer_main();
    ASSERT_EQ(mdf_open(&inst, test_instance(), 5000), 0);
    clock_sleep_ns(10 * HB_NS); /* its last beat is behind us */
    ASSERT_EQ(mdf_status(inst, &st), 0);
    last_beat = clock_mono_ns() - st.heartbeat_age_ns;
    bound = MDF_DEAD_AFTER_NS(st.hb_interval_ns);
    ASSERT_EQ(bound, MDF_DEAD_AFTER_MIN_NS); /* 20 periods of 5 ms are less than the floor */
    /* Alive (the process runs) until the bound, however many periods that is... */
    while (clock_mono_ns() < last_beat + bound - 200000000) {
        ASSERT_EQ(mdf_status(inst, &st), 0);
        ASSERT_EQ(st.liveness, MDF_ALIVE);
        clock_sleep_ns(50000000);
    }
    /* ...and dead after it. */
    while (clock_mono_ns() < last_beat + bound + 10000000)
        clock_sleep_ns(10000000);
    ASSERT_EQ(mdf_status(inst, &st), 0);
    ASSERT_EQ(st.liveness, MDF_DEAD);
    ASSERT_GT(st.heartbeat_age_ns, bound);
    kill(w, SIGKILL);
    waitpid(w, &status, 0);
    mdf_close(inst);
    return 0;
}

TEST(reader_killed_while_blocked_leaves_writer_unaffected)
{
    struct pub_params prm;
    struct publisher p;
    struct mdf_doorbell *bell;
    mdf_instance_t *inst;
    mdf_sub_t *sub;
    union mdf_record r;
    int status, n = 0;
    int64_t t0;
    pid_t rd;

    kill_params(&prm);
    ASSERT_EQ(pub_open(&p, &prm), 0);
    bell = doorbell_at(p.doorbell.base, MDF_RING_TICKS);
    rd = fork();
    ASSERT(rd >= 0);
    if (rd == 0) {
        if (mdf_open(&inst, test_instance(), 0) < 0 ||
            mdf_subscribe(inst, MDF_RING_TICKS, MDF_START_NOW, 0, &sub) < 0)
            _exit(1);
        for (;;)
            mdf_wait(sub, -1);
    }
    t0 = test_now_ns();
    while (atomic_load_explicit(&bell->waiting, memory_order_seq_cst) == 0) {
        ASSERT_LT(test_now_ns() - t0, INT64_C(5000000000));
        pub_heartbeat(&p, clock_mono_ns());
        clock_sleep_ns(1000000);
    }
    kill(rd, SIGKILL);
    waitpid(rd, &status, 0);
    /* The dead reader's raised flag costs one wake-up, then nothing. */
    for (uint64_t i = 0; i < 100000; i++) {
        synth_record(&r, MDF_REC_TRADE, i, 0, 0, 1);
        ASSERT_EQ_U(pub_publish(&p, MDF_RING_TICKS, &r), i);
    }
    ASSERT_LE(p.tx[MDF_RING_TICKS].wakes, 1);
    /* And other readers are served as before. */
    ASSERT_EQ(mdf_open(&inst, test_instance(), 0), 0);
    ASSERT_EQ(mdf_subscribe(inst, MDF_RING_TICKS, MDF_START_OLDEST, 0, &sub), 0);
    while (mdf_next(sub, (mdf_record_t *)&r, NULL) == 1)
        n += synth_check(&r);
    ASSERT_EQ(n, 1024);
    mdf_unsubscribe(sub);
    mdf_close(inst);
    pub_close(&p, true);
    return 0;
}
