/*
 * Benchmarks of the shared-memory data path. Prints figures only, one "name: value unit" per
 * line, no pass/fail. Everything runs against a scratch instance "bench<pid>" that this process
 * creates and publishes to; readers use the public API (mdf_open, mdf_subscribe, mdf_next,
 * mdf_wait, mdf_latest_book) from a forked child, or from a re-executed copy of this program for
 * the resident-memory figure, so that figure carries none of the bench's own memory.
 *
 * Main choices: the writer and the reader are pinned to two different CPUs when there are two;
 * cross-process latencies are CLOCK_MONOTONIC stamps carried in h.recv_time_ns, taken just
 * before the publish and compared just after the reader has its copy; the writer paces those
 * publishes (one every LAT_GAP_NS, spin-waiting, and only once the reader has the previous one)
 * so that latency is never queueing; percentiles are nearest-rank over a sorted array;
 * per-record costs are the median of several timed runs. stderr notes how often the scheduler
 * preempted writer or reader during a latency run: on a busy machine the tails show that.
 *
 * Figures:
 *   clock_gettime                        one CLOCK_MONOTONIC read; each latency holds about one
 *   ring_publish, ring_publish_book20    ns per publish into the 64 Ki-slot ticks ring / the
 *                                        16 Ki-slot books ring, flat out, no reader attached
 *   ring_publish_l2                      the same into a 1024-slot ring that stays in L2
 *   ring_publish_flag_no_sleeper         publish while `waiting` is raised but nobody sleeps
 *                                        (the FUTEX_WAKE system call with no one to wake)
 *   xproc_latency_{p50,p99,p999,max}     publish -> mdf_next in another process, trades
 *   xproc_latency_publish_p50            what each of those lone publishes cost the writer
 *   xproc_latency_book20_*               the same two with 20-level books
 *   reader_throughput, reader_next       mdf_next draining a full ring written by another CPU
 *   xproc_stream_*                       writer flat out with a reader trying to keep up in
 *                                        another process: publish cost, records read, % lost
 *   latest_book_read                     mdf_latest_book, depth 20, no concurrent writer
 *   latest_book_read_contended, _retries the same while the writer rewrites it every 10 us
 *   mdf_wait_wake_*                      publish -> the reader asleep in mdf_wait has the record
 *   ring_publish_wake_{p50,p99}          the publish that made that wake-up system call
 *   mdf_wait_liveness_check              what mdf_wait spends on seg_liveness before each sleep
 *   reader_rss, reader_rss_anon,         VmRSS / RssAnon of a fresh reader process (instance
 *   reader_rss_after_ticks_pass          open, every ring subscribed), then after it read the
 *                                        whole ticks ring (shared pages count too)
 *
 * Arguments name groups to run (prefixes of: clock publish latency drain stream book wake
 * liveness rss transport decode orderbook e2e); none runs them all.
 *
 * Cleanup: the instance is removed at exit and on fatal signals; a run that was SIGKILLed leaves
 * "bench<pid>" segments whose pid is gone, and the next run removes those first.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mdfeed/mdfeed.h>

#include "core/atomics.h"
#include "core/clock.h"
#include "shm/doorbell.h"
#include "shm/publisher.h"
#include "shm/ring.h"
#include "shm/segment.h"
#include "shm/synth.h"

#define PUB_N (1u << 20)           /* publishes per timed run */
#define PUB_RUNS 5                 /* timed runs; the median is reported */
#define FLAG_N 200000u             /* publishes with the waiting flag raised */
#define SMALL_RING 1024u           /* slots of the L2-resident ring */
#define LAT_WARMUP 20000u          /* paced publishes before samples are kept */
#define LAT_N 1000000u             /* latency samples, trades */
#define LAT_BOOK_N 200000u         /* latency samples, books */
#define LAT_GAP_NS 3000            /* writer's pace for latency samples */
#define WAKE_WARMUP 500u           /* wake-ups before samples are kept */
#define WAKE_N 30000u              /* wake-up samples */
#define WAKE_SETTLE_NS 30000       /* time the reader gets to fall asleep after raising its flag */
#define DRAIN_ROUNDS 33u           /* full-ring drains (the first is a warm-up) */
#define STREAM_N (4u << 20)        /* flat-out publishes with a reader attached */
#define BOOK_READS 1000000u        /* mdf_latest_book calls per run */
#define BOOK_UPDATE_NS 10000       /* writer's book update period in the contended run */
#define LIVENESS_N 20000u          /* seg_liveness calls timed */
#define BEAT_NS (10 * 1000 * 1000) /* heartbeat period while a reader may be in mdf_wait */
#define SYNC_TIMEOUT_NS (INT64_C(10) * 1000000000)
#define MAX_SAMPLES LAT_N

/* Parent-child control block and sample array, in a shared anonymous mapping. */
struct shared {
    _Atomic(uint32_t) ready;    /* child: subscribed, about to read */
    _Atomic(uint32_t) go;       /* parent: start / round number */
    _Atomic(uint32_t) ack;      /* child: round finished */
    _Atomic(uint32_t) done;     /* parent: no more measured publishes */
    _Atomic(uint64_t) end_seq;  /* parent: sequence after the last measured publish */
    _Atomic(uint64_t) progress; /* child: records read so far (latency runs) */
    int ring;                   /* parent: ring to subscribe to */
    uint64_t warmup;            /* parent: records to read before keeping samples */
    uint64_t n;                 /* child: samples kept */
    uint64_t got;               /* child: records read */
    uint64_t lost;              /* child: records lost to laps */
    uint64_t bad;               /* child: records out of order or failed reads */
    uint64_t retries;           /* child: seqlock retries (mdf_stats) */
    uint64_t contended;         /* child: reads that gave up (mdf_stats) */
    int64_t elapsed_ns;         /* child: duration of the timed section */
    long preempted;             /* child: involuntary context switches while measuring */
    int64_t run_delay_ns;       /* child: time spent runnable but waiting for a CPU */
    int err;                    /* child: negative code if it could not run */
    int64_t samples[];          /* child: latency samples in ns */
};

static struct publisher pub;             /* the scratch instance, open for writing */
static bool pub_is_open;                 /* pub must be closed (and unlinked) at exit */
static pid_t owner_pid;                  /* the process that owns pub */
static volatile sig_atomic_t child;      /* running reader child, 0 if none */
static char inst_name[MDF_INSTANCE_MAX]; /* "bench<pid>" */
static char seg_paths[MDF_RING_COUNT + 2][SEG_NAME_MAX + 16]; /* for the signal handler */
static int n_seg_paths;                                       /* entries of seg_paths */
static int cpu_writer = -1, cpu_reader = -1;                  /* -1: do not pin */
static int64_t next_beat;                                     /* when pub's heartbeat is due */
static struct shared *sh;                                     /* shared with the reader child */
static size_t sh_size;                                        /* bytes mapped at sh */
static uint16_t venue_id;                                     /* venue "bench" */
static uint32_t sym_id;                                       /* symbol "bench:BTCUSDT" */
static char **filters;                                        /* groups named on the command line */
static int n_filters;                                         /* entries of filters */

/* ---- plumbing ----------------------------------------------------------------------------- */

static void cleanup(void)
{
    if (getpid() != owner_pid)
        return;
    if (child > 0)
        kill((pid_t)child, SIGKILL);
    if (pub_is_open) {
        pub_close(&pub, true);
        pub_is_open = false;
    }
}

/* Fatal signals: the owner kills its reader and unlinks the segments (unlink(2) is
 * async-signal-safe), then dies of the same signal; a forked reader just exits. */
static void on_signal(int sig)
{
    if (getpid() != owner_pid)
        _exit(128 + sig);
    if (child > 0)
        kill((pid_t)child, SIGKILL);
    for (int i = 0; i < n_seg_paths; i++)
        unlink(seg_paths[i]);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_cleanup(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGSEGV,
                               SIGBUS, SIGABRT, SIGFPE, SIGILL};
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, NULL);
    atexit(cleanup);
}

/* Removes "bench<pid>" segments of runs that were killed before they could clean up. */
static void remove_stale(void)
{
    DIR *d = opendir("/dev/shm");
    struct dirent *e;

    if (!d)
        return;
    while ((e = readdir(d))) {
        char path[300];
        long pid;
        char *end;

        if (strncmp(e->d_name, "mdfeed.bench", 12) != 0)
            continue;
        pid = strtol(e->d_name + 12, &end, 10);
        if (end == e->d_name + 12 || *end != '.' || pid <= 0 || pid == (long)getpid())
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        snprintf(path, sizeof(path), "/dev/shm/%s", e->d_name);
        unlink(path);
    }
    closedir(d);
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench: %s: %s (%s)\n", what, mdf_strerror(rc), mdf_errmsg());
    exit(1);
}

static void pick_cpus(void)
{
    cpu_set_t set;

    if (sched_getaffinity(0, sizeof(set), &set) < 0)
        return;
    for (int c = 0; c < CPU_SETSIZE; c++) {
        if (!CPU_ISSET(c, &set))
            continue;
        if (cpu_writer < 0) {
            cpu_writer = c;
        } else {
            cpu_reader = c;
            break;
        }
    }
    if (cpu_reader < 0)
        cpu_writer = -1; /* one CPU: nothing to separate */
}

static void pin(int cpu)
{
    cpu_set_t set;

    if (cpu < 0)
        return;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof(set), &set);
}

/* Keeps the instance's heartbeat fresh, so a reader in mdf_wait does not call us dead. */
static void beat(int64_t now)
{
    if (now >= next_beat) {
        pub_heartbeat(&pub, now);
        next_beat = now + BEAT_NS;
    }
}

static void spin_until(int64_t t)
{
    while (clock_mono_ns() < t)
        ;
}

/* Involuntary context switches of this process so far. */
static long preemptions(void)
{
    struct rusage ru;

    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_nivcsw : 0;
}

/* Time this thread has spent runnable but waiting for a CPU (schedstat), in ns. */
static int64_t run_delay(void)
{
    FILE *f = fopen("/proc/thread-self/schedstat", "r");
    long long run = 0, wait = 0;

    if (!f)
        return 0;
    if (fscanf(f, "%lld %lld", &run, &wait) != 2)
        wait = 0;
    fclose(f);
    return wait;
}

/* What a process's scheduling looked like over a measured run. */
struct sched_mark {
    long preempted; /* involuntary context switches */
    int64_t delay;  /* ns runnable but not running */
};

static struct sched_mark sched_now(void)
{
    return (struct sched_mark){.preempted = preemptions(), .delay = run_delay()};
}

static struct sched_mark sched_since(struct sched_mark m)
{
    struct sched_mark n = sched_now();

    return (struct sched_mark){.preempted = n.preempted - m.preempted, .delay = n.delay - m.delay};
}

/* Says on stderr when other work took the CPUs during a latency run: the tails then show the
 * scheduler, not the ring. */
static void note_sched(const char *what, struct sched_mark writer, long r_pre, int64_t r_delay)
{
    if (writer.preempted || r_pre || writer.delay > 1000000 || r_delay > 1000000)
        fprintf(stderr,
                "bench: note: %s: writer preempted %ld times (%.1f ms waiting for a CPU), "
                "reader %ld times (%.1f ms)\n",
                what, writer.preempted, (double)writer.delay / 1e6, r_pre, (double)r_delay / 1e6);
}

/* True if group `g` was asked for (all are when the command line names none). */
void bench_transport(const char *self); /* bench_transport.c */
void bench_decode(void);                /* bench_decode.c */
void bench_orderbook(void);             /* bench_book.c */
void bench_e2e(const char *self);       /* bench_e2e.c */

static bool want(const char *g)
{
    if (n_filters == 0)
        return true;
    for (int i = 0; i < n_filters; i++)
        if (strncmp(g, filters[i], strlen(filters[i])) == 0)
            return true;
    return false;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Nearest-rank percentile q (0..1] of sorted[0..n). */
static int64_t pct(const int64_t *sorted, size_t n, double q)
{
    size_t k = (size_t)(q * (double)n + 0.999999);

    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return sorted[k - 1];
}

static void figure(const char *name, double v, const char *unit)
{
    if (v >= 100)
        printf("%s: %.0f %s\n", name, v, unit);
    else
        printf("%s: %.1f %s\n", name, v, unit);
    fflush(stdout);
}

static void figure_pcts(const char *prefix, int64_t *s, size_t n)
{
    char name[96];

    if (n == 0) {
        fprintf(stderr, "bench: %s: no samples\n", prefix);
        return;
    }
    qsort(s, n, sizeof(*s), cmp_i64);
    snprintf(name, sizeof(name), "%s_p50", prefix);
    figure(name, (double)pct(s, n, 0.50), "ns");
    snprintf(name, sizeof(name), "%s_p99", prefix);
    figure(name, (double)pct(s, n, 0.99), "ns");
    snprintf(name, sizeof(name), "%s_p999", prefix);
    figure(name, (double)pct(s, n, 0.999), "ns");
    snprintf(name, sizeof(name), "%s_max", prefix);
    figure(name, (double)s[n - 1], "ns");
}

static void reset_shared(int ring, uint64_t warmup)
{
    memset(sh, 0, sizeof(*sh));
    sh->ring = ring;
    sh->warmup = warmup;
}

/* Forks a reader running fn on the reader CPU; it dies with us (PDEATHSIG). */
static pid_t spawn(void (*fn)(void))
{
    pid_t parent = getpid(), pid;

    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) {
        perror("bench: fork");
        exit(1);
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        pin(cpu_reader);
        fn();
        _exit(0);
    }
    child = pid;
    return pid;
}

/* Waits for the reader to exit; false (with a message) if it failed. */
static bool reap(pid_t pid, const char *what)
{
    int64_t deadline = clock_mono_ns() + SYNC_TIMEOUT_NS;
    int status = 0;
    pid_t rc;

    /* Heartbeats meanwhile; a reader still there after the deadline is stuck: kill it. */
    while ((rc = waitpid(pid, &status, WNOHANG)) == 0) {
        int64_t now = clock_mono_ns();

        beat(now);
        if (now > deadline) {
            fprintf(stderr, "bench: %s: reader stuck; killing it\n", what);
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            break;
        }
        clock_sleep_ns(1000000);
    }
    if (rc < 0 && errno != EINTR)
        status = -1;
    child = 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || sh->err < 0) {
        fprintf(stderr, "bench: %s: reader failed (status %d, %s)\n", what, status,
                sh->err < 0 ? mdf_strerror(sh->err) : "-");
        return false;
    }
    return true;
}

/* True if the reader has exited (not reaped: reap() collects its status). */
static bool exited(pid_t pid)
{
    siginfo_t si;

    memset(&si, 0, sizeof(si));
    return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == pid;
}

/* Spins (heartbeating) until *flag >= want. If the reader exited or took too long, kills it
 * and returns false. */
static bool await(_Atomic(uint32_t) *flag, uint32_t want, pid_t pid)
{
    int64_t deadline = clock_mono_ns() + SYNC_TIMEOUT_NS;
    uint64_t i = 0;

    /* Pairs with the reader's release store of the flag: its results are visible. */
    while (load_acquire(flag) < want) {
        int64_t now = clock_mono_ns();

        beat(now);
        if (now > deadline || ((++i & 1023) == 0 && exited(pid))) {
            fprintf(stderr, "bench: reader did not answer\n");
            kill(pid, SIGKILL);
            return false;
        }
    }
    return true;
}

/* Ends a measured phase: tells the reader where the last measured record is, then publishes
 * one more record so a reader asleep in mdf_wait wakes up and sees it. */
static void finish_phase(int ring, union mdf_record *rec)
{
    atomic_store_explicit(&sh->end_seq, pub.tx[ring].tail, memory_order_relaxed);
    /* Pairs with the reader's acquire load of done: end_seq is visible with it. The extra
     * publish below then carries both (its stamp is a release). */
    store_release(&sh->done, 1);
    pub_publish(&pub, ring, rec);
}

/* Reader side: true once the parent said done and the reader is at or past end_seq. */
static bool phase_over(uint64_t pos)
{
    /* Pairs with the release store of done in finish_phase. */
    return load_acquire(&sh->done) &&
           pos >= atomic_load_explicit(&sh->end_seq, memory_order_relaxed);
}

/* Reader side: opens the instance and subscribes; on failure records the code and exits. */
static mdf_sub_t *child_subscribe(mdf_instance_t **inst, int ring, int start)
{
    mdf_sub_t *sub = NULL;
    int rc;

    if ((rc = mdf_open(inst, inst_name, 0)) < 0 ||
        (rc = mdf_subscribe(*inst, ring, start, 0, &sub)) < 0) {
        sh->err = rc;
        fprintf(stderr, "bench: reader: %s\n", mdf_errmsg());
        _exit(2);
    }
    return sub;
}

/* ---- clock -------------------------------------------------------------------------------- */

/* Cost of one clock_gettime(CLOCK_MONOTONIC): every latency sample holds about one. */
static void bench_clock(void)
{
    const uint32_t n = 1000000;
    int64_t t0 = clock_mono_ns(), sink = 0;

    for (uint32_t i = 0; i < n; i++)
        sink += clock_mono_ns();
    figure("clock_gettime", (double)(clock_mono_ns() - t0) / n, "ns");
    if (sink == 42)
        puts("");
}

/* ---- publish cost ------------------------------------------------------------------------- */

/* Publishes n records through tx; returns ns per record. The payload changes per record, as
 * it would in the daemon. */
static double publish_run(struct ring_tx *tx, union mdf_record *rec, uint64_t n)
{
    int64_t t0 = clock_mono_ns();

    for (uint64_t i = 0; i < n; i++) {
        rec->h.exch_time_ns = (int64_t)i;
        ring_tx_publish(tx, rec, rec->h.size);
    }
    return (double)(clock_mono_ns() - t0) / (double)n;
}

/* Warms up (two laps of the ring, so every page is faulted in and every line was written
 * once), then reports the median of PUB_RUNS timed runs. */
static void bench_publish(const char *name, struct ring_tx *tx, int type)
{
    union mdf_record rec;
    double runs[PUB_RUNS];

    synth_record(&rec, type, 1, venue_id, sym_id, pub.st.d->book_depth);
    if (ring_tx_publish(tx, &rec, rec.h.size) == UINT64_MAX) {
        fprintf(stderr, "bench: %s: record does not fit the ring\n", name);
        return;
    }
    publish_run(tx, &rec, 2 * (tx->mask + 1));
    for (int r = 0; r < PUB_RUNS; r++)
        runs[r] = publish_run(tx, &rec, PUB_N);
    qsort(runs, PUB_RUNS, sizeof(runs[0]), cmp_double);
    figure(name, runs[PUB_RUNS / 2], "ns/record");
}

/* The same record into a small private ring that fits in L2 (same doorbell): separates the
 * protocol's own cost from the cost of missing the cache on every fresh slot. */
static void bench_publish_l2(void)
{
    uint32_t slot = pub.tx[MDF_RING_TICKS].slot_size;
    size_t size = ring_segment_size(SMALL_RING, slot);
    void *base = aligned_alloc(4096, (size + 4095) & ~(size_t)4095);
    struct ring_tx tx;

    if (!base) {
        fprintf(stderr, "bench: out of memory\n");
        return;
    }
    memset(base, 0, size);
    ring_format(base, MDF_RING_TICKS, SMALL_RING, slot);
    ring_tx_init(&tx, base, pub.tx[MDF_RING_TICKS].bell);
    bench_publish("ring_publish_l2", &tx, MDF_REC_TRADE);
    free(base);
}

/* Publishes with the waiting flag raised but no reader asleep: each publish clears the flag and
 * makes the FUTEX_WAKE system call for nobody. */
static void bench_publish_flagged(void)
{
    struct ring_tx *tx = &pub.tx[MDF_RING_TICKS];
    uint64_t wakes0 = tx->wakes;
    union mdf_record rec;
    int64_t t0;

    synth_record(&rec, MDF_REC_TRADE, 1, venue_id, sym_id, 0);
    t0 = clock_mono_ns();
    for (uint32_t i = 0; i < FLAG_N; i++) {
        /* Relaxed: only this thread reads it back (in ring_tx_publish). */
        store_relaxed(&tx->bell->waiting, 1);
        ring_tx_publish(tx, &rec, rec.h.size);
    }
    figure("ring_publish_flag_no_sleeper", (double)(clock_mono_ns() - t0) / FLAG_N, "ns/record");
    if (tx->wakes - wakes0 != FLAG_N)
        fprintf(stderr, "bench: expected %u wake calls, saw %" PRIu64 "\n", FLAG_N,
                tx->wakes - wakes0);
}

/* ---- cross-process latency ---------------------------------------------------------------- */

/* Reader: spins on mdf_next; each record's age is now minus the stamp in h.recv_time_ns. */
static void child_latency(void)
{
    mdf_instance_t *inst;
    mdf_sub_t *sub = child_subscribe(&inst, sh->ring, MDF_START_NOW);
    static mdf_record_t rec;
    uint64_t lost, seen = 0;
    struct sched_mark m = sched_now();

    /* Pairs with the parent's acquire in await(): we are subscribed. */
    store_release(&sh->ready, 1);
    for (;;) {
        int rc = mdf_next(sub, &rec, &lost);
        int64_t now;

        if (rc == 0) {
            if (phase_over(mdf_sub_position(sub)))
                break;
            continue;
        }
        now = clock_mono_ns();
        if (rc < 0) {
            sh->err = rc;
            break;
        }
        sh->lost += lost;
        if (phase_over(rec.h.seq))
            break;
        if (seen++ >= sh->warmup && sh->n < MAX_SAMPLES)
            sh->samples[sh->n++] = now - rec.h.recv_time_ns;
        /* Pairs with the writer's acquire in bench_latency: it publishes the next record only
         * once we have this one, so no sample waits behind another. */
        store_release(&sh->progress, seen);
    }
    sh->got = seen;
    m = sched_since(m);
    sh->preempted = m.preempted;
    sh->run_delay_ns = m.delay;
    mdf_unsubscribe(sub);
    mdf_close(inst);
}

static void bench_latency(const char *prefix, int ring, int type, uint64_t n)
{
    int64_t *cost = malloc(n * sizeof(*cost));
    union mdf_record rec;
    int64_t next;
    struct sched_mark m = sched_now();
    uint64_t kept = 0;
    char name[96];
    pid_t pid;

    if (!cost) {
        fprintf(stderr, "bench: out of memory\n");
        return;
    }
    reset_shared(ring, LAT_WARMUP);
    synth_record(&rec, type, 1, venue_id, sym_id, pub.st.d->book_depth);
    pid = spawn(child_latency);
    if (!await(&sh->ready, 1, pid))
        goto out;
    next = clock_mono_ns();
    for (uint64_t i = 0; i < LAT_WARMUP + n; i++) {
        int64_t t, deadline = next + SYNC_TIMEOUT_NS;

        /* One record in flight: a reader that was preempted delays one sample, not the
         * thousands that would otherwise queue behind it. Pairs with the reader's release. */
        while (load_acquire(&sh->progress) < i)
            if (clock_mono_ns() > deadline) {
                fprintf(stderr, "bench: %s: reader stopped at %" PRIu64 "\n", prefix, i);
                goto end;
            }
        while ((t = clock_mono_ns()) < next)
            ;
        rec.h.recv_time_ns = t;
        pub_publish(&pub, ring, &rec);
        /* What a lone publish costs the writer (its slot is cold, unlike in a flat-out run). */
        if (i >= LAT_WARMUP)
            cost[kept++] = clock_mono_ns() - t;
        next = t + LAT_GAP_NS;
        if ((i & 1023) == 0)
            beat(t);
    }
end:
    finish_phase(ring, &rec);
out:
    if (reap(pid, prefix)) {
        if (sh->lost)
            fprintf(stderr, "bench: %s: reader lost %" PRIu64 " records\n", prefix, sh->lost);
        note_sched(prefix, sched_since(m), sh->preempted, sh->run_delay_ns);
        figure_pcts(prefix, sh->samples, sh->n);
        if (kept) {
            qsort(cost, kept, sizeof(*cost), cmp_i64);
            snprintf(name, sizeof(name), "%s_publish_p50", prefix);
            figure(name, (double)pct(cost, kept, 0.5), "ns");
        }
    }
    free(cost);
}

/* ---- mdf_wait wake-up --------------------------------------------------------------------- */

/* Reader: sleeps in mdf_wait, then reads what woke it. */
static void child_wake(void)
{
    mdf_instance_t *inst;
    mdf_sub_t *sub = child_subscribe(&inst, MDF_RING_TICKS, MDF_START_NOW);
    static mdf_record_t rec;
    uint64_t lost, seen = 0;
    struct sched_mark m = sched_now();

    store_release(&sh->ready, 1);
    for (;;) {
        int rc = mdf_wait(sub, 1000);

        if (rc < 0) {
            sh->err = rc;
            break;
        }
        if (rc == 0) {
            if (phase_over(mdf_sub_position(sub)))
                break;
            continue;
        }
        while ((rc = mdf_next(sub, &rec, &lost)) == 1) {
            int64_t now = clock_mono_ns();

            sh->lost += lost;
            if (phase_over(rec.h.seq))
                goto out;
            if (seen++ >= sh->warmup && sh->n < MAX_SAMPLES)
                sh->samples[sh->n++] = now - rec.h.recv_time_ns;
        }
    }
out:
    sh->got = seen;
    m = sched_since(m);
    sh->preempted = m.preempted;
    sh->run_delay_ns = m.delay;
    mdf_unsubscribe(sub);
    mdf_close(inst);
}

/* For each sample: wait until the reader raised its flag, give it time to fall asleep in the
 * futex, then publish (timed: this is the publish that makes the wake-up system call). */
static void bench_wake(void)
{
    struct ring_tx *tx = &pub.tx[MDF_RING_TICKS];
    int64_t *cost = malloc(WAKE_N * sizeof(*cost));
    uint64_t kept = 0, woke = 0;
    struct sched_mark m = sched_now();
    union mdf_record rec;
    pid_t pid;

    if (!cost) {
        fprintf(stderr, "bench: out of memory\n");
        return;
    }
    reset_shared(MDF_RING_TICKS, WAKE_WARMUP);
    /* Relaxed: no reader is attached yet. */
    store_relaxed(&tx->bell->waiting, 0);
    synth_record(&rec, MDF_REC_TRADE, 1, venue_id, sym_id, 0);
    pid = spawn(child_wake);
    if (!await(&sh->ready, 1, pid))
        goto out;
    for (uint64_t i = 0; i < WAKE_WARMUP + WAKE_N; i++) {
        int64_t deadline = clock_mono_ns() + SYNC_TIMEOUT_NS, t0, t1;
        uint64_t w0;

        /* Pairs with the reader's seq_cst store of `waiting` in doorbell_wait. */
        while (!atomic_load_explicit(&tx->bell->waiting, memory_order_seq_cst)) {
            int64_t now = clock_mono_ns();

            beat(now);
            if (now > deadline) {
                fprintf(stderr, "bench: mdf_wait reader never went to sleep\n");
                goto end;
            }
        }
        spin_until(clock_mono_ns() + WAKE_SETTLE_NS);
        beat(clock_mono_ns());
        w0 = tx->wakes;
        t0 = clock_mono_ns();
        rec.h.recv_time_ns = t0;
        ring_tx_publish(tx, &rec, rec.h.size);
        t1 = clock_mono_ns();
        if (i >= WAKE_WARMUP) {
            cost[kept++] = t1 - t0;
            woke += tx->wakes - w0;
        }
    }
end:
    finish_phase(MDF_RING_TICKS, &rec);
out:
    if (reap(pid, "mdf_wait_wake") && kept) {
        char name[64];

        /* A woken reader that finds its CPU taken waits in run_delay: that is the tail. */
        note_sched("mdf_wait_wake", sched_since(m), sh->preempted, sh->run_delay_ns);
        figure_pcts("mdf_wait_wake", sh->samples, sh->n);
        qsort(cost, kept, sizeof(*cost), cmp_i64);
        snprintf(name, sizeof(name), "ring_publish_wake_p50");
        figure(name, (double)pct(cost, kept, 0.50), "ns");
        snprintf(name, sizeof(name), "ring_publish_wake_p99");
        figure(name, (double)pct(cost, kept, 0.99), "ns");
        if (woke != kept)
            fprintf(stderr, "bench: %" PRIu64 " of %" PRIu64 " timed publishes made a wake call\n",
                    woke, kept);
    }
    store_relaxed(&tx->bell->waiting, 0);
    free(cost);
}

/* What mdf_wait spends on seg_liveness each time it is about to sleep (kill(2) on the writer's
 * pid plus reading /proc/<pid>/stat), before it raises its flag. */
static void bench_liveness(void)
{
    const struct mdf_seg_header *h = pub.rings[MDF_RING_TICKS].base;
    int64_t t0 = clock_mono_ns();
    int alive = 0;

    pub_heartbeat(&pub, t0);
    for (uint32_t i = 0; i < LIVENESS_N; i++)
        alive += seg_liveness(h, t0) == MDF_ALIVE;
    figure("mdf_wait_liveness_check", (double)(clock_mono_ns() - t0) / LIVENESS_N, "ns");
    if (alive != (int)LIVENESS_N)
        fprintf(stderr, "bench: liveness said not alive %d times\n", (int)LIVENESS_N - alive);
}

/* ---- reader throughput -------------------------------------------------------------------- */

/* Reader: each round, drains the ring the writer just filled (capacity records, so exactly
 * none is lost); times the drains after the first. */
static void child_drain(void)
{
    mdf_instance_t *inst;
    mdf_sub_t *sub = child_subscribe(&inst, MDF_RING_TICKS, MDF_START_NOW);
    uint64_t cap = pub.tx[MDF_RING_TICKS].mask + 1, lost, expect = mdf_sub_position(sub);
    static mdf_record_t rec;

    store_release(&sh->ready, 1);
    for (uint32_t r = 1; r <= DRAIN_ROUNDS; r++) {
        int64_t t0;

        /* Pairs with the parent's release store of go: the round's records are committed. */
        while (load_acquire(&sh->go) < r)
            ;
        t0 = clock_mono_ns();
        for (uint64_t got = 0; got < cap;) {
            if (mdf_next(sub, &rec, &lost) != 1)
                continue;
            got++;
            sh->lost += lost;
            sh->bad += rec.h.seq != expect++;
        }
        if (r > 1) {
            sh->elapsed_ns += clock_mono_ns() - t0;
            sh->got += cap;
        }
        store_release(&sh->ack, r);
    }
    mdf_unsubscribe(sub);
    mdf_close(inst);
}

static void bench_drain(void)
{
    struct ring_tx *tx = &pub.tx[MDF_RING_TICKS];
    uint64_t cap = tx->mask + 1;
    union mdf_record rec;
    pid_t pid;

    reset_shared(MDF_RING_TICKS, 0);
    synth_record(&rec, MDF_REC_TRADE, 1, venue_id, sym_id, 0);
    pid = spawn(child_drain);
    if (!await(&sh->ready, 1, pid))
        goto out;
    for (uint32_t r = 1; r <= DRAIN_ROUNDS; r++) {
        publish_run(tx, &rec, cap);
        /* Pairs with the reader's acquire load of go. */
        store_release(&sh->go, r);
        if (!await(&sh->ack, r, pid))
            break;
    }
out:
    if (!reap(pid, "reader_throughput") || !sh->elapsed_ns)
        return;
    if (sh->lost || sh->bad)
        fprintf(stderr, "bench: drain lost %" PRIu64 ", out of order %" PRIu64 "\n", sh->lost,
                sh->bad);
    figure("reader_throughput", (double)sh->got * 1e3 / (double)sh->elapsed_ns, "Mrecords/s");
    figure("reader_next", (double)sh->elapsed_ns / (double)sh->got, "ns/record");
}

/* ---- streaming with a live reader --------------------------------------------------------- */

/* Reader: keeps up with a writer publishing flat out, as long as it can. */
static void child_stream(void)
{
    mdf_instance_t *inst;
    mdf_sub_t *sub = child_subscribe(&inst, MDF_RING_TICKS, MDF_START_NOW);
    static mdf_record_t rec;
    uint64_t lost;
    int64_t t0 = 0;

    store_release(&sh->ready, 1);
    for (;;) {
        int rc = mdf_next(sub, &rec, &lost);

        if (rc == 0) {
            if (phase_over(mdf_sub_position(sub)))
                break;
            continue;
        }
        if (rc < 0) {
            sh->err = rc;
            break;
        }
        if (phase_over(rec.h.seq))
            break;
        if (!sh->got++)
            t0 = clock_mono_ns();
        sh->lost += lost;
        sh->elapsed_ns = clock_mono_ns() - t0;
    }
    mdf_unsubscribe(sub);
    mdf_close(inst);
}

static void bench_stream(void)
{
    union mdf_record rec;
    double ns = 0;
    pid_t pid;

    reset_shared(MDF_RING_TICKS, 0);
    synth_record(&rec, MDF_REC_TRADE, 1, venue_id, sym_id, 0);
    pid = spawn(child_stream);
    if (!await(&sh->ready, 1, pid))
        goto out;
    ns = publish_run(&pub.tx[MDF_RING_TICKS], &rec, STREAM_N);
    finish_phase(MDF_RING_TICKS, &rec);
out:
    if (!reap(pid, "xproc_stream") || !sh->elapsed_ns)
        return;
    figure("xproc_stream_publish", ns, "ns/record");
    figure("xproc_stream_read", (double)sh->got * 1e3 / (double)sh->elapsed_ns, "Mrecords/s");
    figure("xproc_stream_lost", 100.0 * (double)sh->lost / (double)(sh->got + sh->lost), "%");
}

/* ---- latest book -------------------------------------------------------------------------- */

/* Reader: mdf_latest_book in a loop on the symbol the writer registered. */
static void child_book(void)
{
    mdf_instance_t *inst;
    static mdf_record_t rec;
    struct mdf_stats st;
    int64_t sym, t0;
    int rc;

    if ((rc = mdf_open(&inst, inst_name, 0)) < 0 ||
        (sym = mdf_symbol_lookup(inst, "bench:BTCUSDT")) < 0) {
        sh->err = rc < 0 ? rc : -ENOENT;
        _exit(2);
    }
    for (uint32_t i = 0; i < 10000; i++)
        mdf_latest_book(inst, (uint32_t)sym, &rec.book, sizeof(rec));
    store_release(&sh->ready, 1);
    while (!load_acquire(&sh->go))
        ;
    t0 = clock_mono_ns();
    for (uint32_t i = 0; i < BOOK_READS; i++) {
        rc = mdf_latest_book(inst, (uint32_t)sym, &rec.book, sizeof(rec));
        /* MDF_ECONTENDED (the writer stayed inside its seqlock, e.g. preempted) is counted by
         * mdf_stats; anything else is a failure. */
        sh->bad += rc != 0 && rc != MDF_ECONTENDED;
    }
    sh->elapsed_ns = clock_mono_ns() - t0;
    sh->got = BOOK_READS;
    if (rc == 0 && (!synth_check(&rec) || rec.book.depth != mdf_book_depth(inst)))
        sh->bad++;
    mdf_stats(inst, &st);
    sh->retries = st.seqlock_retries;
    sh->contended = st.contended;
    /* Pairs with the parent's acquire: the figures above are written. */
    store_release(&sh->ack, 1);
    mdf_close(inst);
}

static void bench_book(bool contended)
{
    const char *name = contended ? "latest_book_read_contended" : "latest_book_read";
    union mdf_record *books = malloc(2 * sizeof(*books));
    pid_t pid;

    if (!books) {
        fprintf(stderr, "bench: out of memory\n");
        return;
    }
    /* Two prebuilt books to alternate between: building one costs more than storing it. */
    for (int k = 0; k < 2; k++)
        synth_record(&books[k], MDF_REC_BOOK, 7 + (uint64_t)k, venue_id, sym_id,
                     pub.st.d->book_depth);
    state_tx_update(&pub.st, &books[0]);
    reset_shared(MDF_RING_BOOKS, 0);
    pid = spawn(child_book);
    if (!await(&sh->ready, 1, pid))
        goto out;
    store_release(&sh->go, 1);
    if (contended) {
        int64_t next = clock_mono_ns();
        uint64_t i = 0;

        /* Pairs with the reader's release store of ack. */
        while (!load_acquire(&sh->ack)) {
            int64_t t = clock_mono_ns();

            if (t < next)
                continue;
            state_tx_update(&pub.st, &books[++i & 1]);
            next = t + BOOK_UPDATE_NS;
            beat(t);
            if ((i & 1023) == 0 && exited(pid))
                break; /* reap() reports it */
        }
    }
out:
    if (reap(pid, name) && sh->got) {
        if (sh->bad || sh->contended)
            fprintf(stderr,
                    "bench: %s: %" PRIu64 " failed or torn reads, %" PRIu64 " gave up contended\n",
                    name, sh->bad, sh->contended);
        figure(name, (double)sh->elapsed_ns / (double)sh->got, "ns");
        if (contended)
            figure("latest_book_retries", 1000.0 * (double)sh->retries / (double)sh->got,
                   "per 1000 reads");
    }
    free(books);
}

/* ---- resident memory ---------------------------------------------------------------------- */

/* A field of /proc/self/status in kB, or -1. */
static long status_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    size_t len = strlen(field);
    char line[256];
    long v = -1;

    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, field, len) == 0 && line[len] == ':') {
            v = strtol(line + len + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

/* Runs in a fresh process (this program re-executed): a typical reader that opens the
 * instance, subscribes to every ring and reads the latest book; then one that also read the
 * whole ticks ring (its shared pages count in VmRSS too). */
static int rss_reader(const char *name)
{
    mdf_sub_t *subs[MDF_RING_COUNT] = {0}, *all = NULL;
    mdf_instance_t *inst;
    static mdf_record_t rec;
    uint64_t lost;
    int64_t sym;
    int rc;

    if ((rc = mdf_open(&inst, name, 0)) < 0)
        goto err;
    for (int r = 0; r < MDF_RING_COUNT; r++)
        if ((rc = mdf_subscribe(inst, r, MDF_START_NOW, 0, &subs[r])) < 0)
            goto err;
    if ((sym = mdf_symbol_lookup(inst, "bench:BTCUSDT")) >= 0)
        mdf_latest_book(inst, (uint32_t)sym, &rec.book, sizeof(rec));
    for (int r = 0; r < MDF_RING_COUNT; r++)
        mdf_next(subs[r], &rec, &lost);
    figure("reader_rss", (double)status_kb("VmRSS"), "kB");
    figure("reader_rss_anon", (double)status_kb("RssAnon"), "kB");
    if ((rc = mdf_subscribe(inst, MDF_RING_TICKS, MDF_START_OLDEST, 0, &all)) < 0)
        goto err;
    while (mdf_next(all, &rec, &lost) == 1)
        ;
    figure("reader_rss_after_ticks_pass", (double)status_kb("VmRSS"), "kB");
    mdf_unsubscribe(all);
    for (int r = 0; r < MDF_RING_COUNT; r++)
        mdf_unsubscribe(subs[r]);
    mdf_close(inst);
    return 0;
err:
    fprintf(stderr, "bench: rss reader: %s (%s)\n", mdf_strerror(rc), mdf_errmsg());
    return 1;
}

static void bench_rss(const char *self)
{
    pid_t pid;
    int status;

    fflush(stdout);
    pid = fork();
    if (pid < 0)
        return;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execl("/proc/self/exe", self, "--rss-reader", inst_name, (char *)NULL);
        _exit(127);
    }
    child = pid;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    child = 0;
}

/* ---- main --------------------------------------------------------------------------------- */

static void open_instance(void)
{
    struct pub_params prm;
    int64_t id;
    int rc;

    snprintf(inst_name, sizeof(inst_name), "bench%d", (int)getpid());
    n_seg_paths = 0;
    for (int i = -2; i < MDF_RING_COUNT; i++) {
        char name[SEG_NAME_MAX];
        const char *seg = i == -2 ? "state" : i == -1 ? "doorbell" : mdf_ring_name(i);

        if (seg_format_name(name, inst_name, seg) == 0)
            snprintf(seg_paths[n_seg_paths++], sizeof(seg_paths[0]), "/dev/shm%s", name);
    }
    pub_default_params(&prm, inst_name);
    prm.mode = 0600;
    if ((rc = pub_open(&pub, &prm)) < 0)
        die("pub_open", rc);
    pub_is_open = true;
    if ((rc = state_tx_venue(&pub.st, "bench")) < 0)
        die("state_tx_venue", rc);
    venue_id = (uint16_t)rc;
    if ((id = state_tx_symbol(&pub.st, venue_id, "BTCUSDT", "BTC/USDT")) < 0)
        die("state_tx_symbol", (int)id);
    sym_id = (uint32_t)id;
    /* The book stream the latest-book benchmarks write, of the same id (synth_record's rule). */
    {
        struct mdf_stream_entry e = {.venue = venue_id, .symbol = sym_id, .key = "bench"};

        if ((id = state_tx_stream(&pub.st, &e)) != sym_id)
            die("state_tx_stream", (int)(id < 0 ? id : -EINVAL));
    }
    beat(clock_mono_ns());
}

int main(int argc, char **argv)
{
    double load[1];

    if (argc == 3 && strcmp(argv[1], "--rss-reader") == 0)
        return rss_reader(argv[2]);
    filters = argv + 1;
    n_filters = argc - 1;

    owner_pid = getpid();
    install_cleanup();
    remove_stale();
    pick_cpus();
    pin(cpu_writer);
    sh_size = sizeof(struct shared) + MAX_SAMPLES * sizeof(int64_t);
    sh = mmap(NULL, sh_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) {
        perror("bench: mmap");
        return 1;
    }
    memset(sh, 0, sh_size); /* fault the sample pages in now, not while sampling */
    open_instance();

    if (cpu_reader < 0)
        fprintf(stderr, "bench: note: one CPU: writer and reader share it\n");
    if (getloadavg(load, 1) == 1 && load[0] > 0.5)
        fprintf(stderr,
                "bench: note: load average %.2f: other work shares these CPUs and "
                "shows in the tails\n",
                load[0]);
    if (want("clock"))
        bench_clock();
    if (want("publish")) {
        bench_publish("ring_publish", &pub.tx[MDF_RING_TICKS], MDF_REC_TRADE);
        bench_publish("ring_publish_book20", &pub.tx[MDF_RING_BOOKS], MDF_REC_BOOK);
        bench_publish_l2();
        bench_publish_flagged();
    }
    if (want("latency")) {
        bench_latency("xproc_latency", MDF_RING_TICKS, MDF_REC_TRADE, LAT_N);
        bench_latency("xproc_latency_book20", MDF_RING_BOOKS, MDF_REC_BOOK, LAT_BOOK_N);
    }
    if (want("drain"))
        bench_drain();
    if (want("stream"))
        bench_stream();
    if (want("book")) {
        bench_book(false);
        bench_book(true);
    }
    if (want("wake"))
        bench_wake();
    if (want("liveness"))
        bench_liveness();
    if (want("rss"))
        bench_rss(argv[0]);
    if (want("transport"))
        bench_transport(argv[0]);
    if (want("decode"))
        bench_decode();
    if (want("orderbook"))
        bench_orderbook();
    if (want("e2e"))
        bench_e2e(argv[0]);

    munmap(sh, sh_size);
    return 0; /* cleanup() closes and unlinks the instance */
}
