/*
 * End to end: how a reader judges the daemon's liveness (the rule of enum mdf_liveness in
 * mdfeed.h). Beside a live daemon fed by the fake venue, with four busy-spinning processes
 * loading the machine and the daemon stopped (SIGSTOP) for 3 s, shorter than the 5 s bound,
 * a reader polling mdf_status, mdf_health_status and blocking in mdf_wait never reports the
 * daemon dead; a SIGKILLed daemon is reported dead at once, by both calls and by mdf_wait.
 *
 * The load test runs 60 s; MDF_TEST_LOAD_SECONDS=N (a test-only setting, 10 to 600) changes
 * that.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mdfeed/mdfeed.h>

#include "support/daemon.h"
#include "support/fakevenue.h"
#include "test.h"

#define MS 1000000LL
#define SPINNERS 4                /* busy processes loading the machine */
#define STOP_NS (3000 * MS)       /* the daemon is stopped this long, under MDF_DEAD_AFTER_MIN_NS */
#define KILL_NOTICE_NS (500 * MS) /* a killed daemon is reported dead within this (~1 period) */

#define CONF                                                                                       \
    "venues = ({ venue = \"binance-spot\"; url = \"ws://127.0.0.1:%d\";\n"                         \
    "  rest_url = \"http://127.0.0.1:%d\";\n"                                                      \
    "  symbols = [\"AAAUSDT\", \"BBBUSDT\"]; trades = \"both\"; kline = \"\";\n"                   \
    "  book_ticker = true; });\n"

/* A daemon, its venue, and a reader's three views of it. */
struct rig {
    struct fv_proc fv;
    struct dmn d;
    mdf_instance_t *inst;
    mdf_health_t *h;
    mdf_sub_t *sub;
    pid_t spin[SPINNERS];
};

static void rig_start(struct rig *r)
{
    const char *fv_args[] = {"--market", "AAAUSDT,BBBUSDT", "--market-rate", "50", NULL};

    ASSERT_EQ(fv_start(&r->fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&r->d, CONF, r->fv.port, r->fv.port), 0);
    ASSERT_EQ(dmn_start(&r->d), 0);
    ASSERT_EQ(mdf_open(&r->inst, r->d.instance, 1000), 0);
    ASSERT_EQ(mdf_health_open(&r->h, r->d.instance), 0);
    ASSERT_EQ(mdf_subscribe(r->inst, MDF_RING_TICKS, MDF_START_NOW, 0, &r->sub), 0);
}

/* Starts SPINNERS processes that burn CPU until killed (or until this process dies). */
static void spin_start(struct rig *r)
{
    for (int i = 0; i < SPINNERS; i++) {
        r->spin[i] = fork();
        ASSERT(r->spin[i] >= 0);
        if (r->spin[i] == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            for (volatile unsigned long x = 0;; x++)
                ;
        }
    }
}

static void spin_stop(struct rig *r)
{
    for (int i = 0; i < SPINNERS; i++) {
        int status;

        kill(r->spin[i], SIGKILL);
        waitpid(r->spin[i], &status, 0);
    }
}

/* Reads what is ready; returns how many records. */
static long drain(mdf_sub_t *sub)
{
    mdf_record_t rec;
    long n = 0;

    while (mdf_next(sub, &rec, NULL) == 1)
        n++;
    return n;
}

/* The load test's length in seconds. */
static int load_seconds(void)
{
    const char *v = getenv("MDF_TEST_LOAD_SECONDS");
    int n = v ? atoi(v) : 60;

    return n < 10 ? 10 : n > 600 ? 600 : n;
}

TEST(e2e_reader_under_load_beside_a_live_daemon_never_reports_it_dead)
{
    struct rig r;
    int64_t t0, end, stop_at, cont_at = 0, resumed = 0, max_age = 0, max_load_age = 0;
    long delivered = 0, after_stop = 0, checks = 0, deaths = 0, unstopped = 0;
    char first[160] = "";
    int secs = load_seconds();

    rig_start(&r);
    spin_start(&r);
    t0 = test_now_ns();
    end = t0 + secs * 1000 * MS;
    stop_at = t0 + secs * 1000 * MS / 3;
    while (test_now_ns() < end || cont_at >= 0) { /* never leave it stopped */
        struct mdf_status st, hs;
        int64_t now = test_now_ns();
        int rc;

        if (stop_at && now >= stop_at) {
            dmn_kill(&r.d, SIGSTOP);
            cont_at = now + STOP_NS;
            stop_at = 0;
        } else if (cont_at > 0 && now >= cont_at) {
            dmn_kill(&r.d, SIGCONT);
            cont_at = -1; /* done */
            resumed = now;
        }
        /* Longer than a heartbeat period, so mdf_wait looks at liveness itself. */
        rc = mdf_wait(r.sub, 250);
        if (rc == MDF_EDEAD) {
            unstopped += cont_at == 0;
            if (!deaths++)
                snprintf(first, sizeof(first), "mdf_wait at %lld ms: %s",
                         (long long)((now - t0) / MS), mdf_errmsg());
        }
        if (rc == 1) {
            long n = drain(r.sub);

            delivered += n;
            after_stop += cont_at < 0 ? n : 0;
        }
        ASSERT_EQ(mdf_status(r.inst, &st), 0);
        ASSERT_EQ(mdf_health_status(r.h, &hs), 0);
        checks++;
        if (st.heartbeat_age_ns > max_age)
            max_age = st.heartbeat_age_ns;
        /* Outside the stop (and the moment after it), what the load alone does. */
        if ((cont_at == 0 || (resumed && now - resumed > 1000 * MS)) &&
            st.heartbeat_age_ns > max_load_age)
            max_load_age = st.heartbeat_age_ns;
        if (st.liveness == MDF_DEAD || hs.liveness == MDF_DEAD) {
            unstopped += cont_at == 0;
            if (!deaths++)
                snprintf(first, sizeof(first), "%s at %lld ms: heartbeat age %lld ms",
                         st.liveness == MDF_DEAD ? "mdf_status" : "mdf_health_status",
                         (long long)((now - t0) / MS),
                         (long long)((st.liveness == MDF_DEAD ? st : hs).heartbeat_age_ns / MS));
        }
    }
    spin_stop(&r);
    fprintf(stderr,
            "  %d s beside %d spinners, stopped %lld ms: %ld checks, %ld records, longest "
            "heartbeat age %lld ms (%lld ms outside the stop), %ld deaths (%ld before the "
            "stop)%s%s\n",
            secs, SPINNERS, STOP_NS / MS, checks, delivered, (long long)(max_age / MS),
            (long long)(max_load_age / MS), deaths, unstopped, deaths ? "; first: " : "", first);
    ASSERT_EQ(deaths, 0);
    ASSERT_GE(max_age, STOP_NS - 500 * MS); /* the stop did keep the daemon from beating */
    ASSERT_GT(after_stop, 0);               /* and it served again afterwards */
    mdf_unsubscribe(r.sub);
    mdf_health_close(r.h);
    mdf_close(r.inst);
    ASSERT_EQ(dmn_stop(&r.d), 0);
    fv_stop(&r.fv);
    return 0;
}

TEST(e2e_reader_reports_a_killed_daemon_dead_at_once)
{
    struct mdf_status st, hs;
    struct rig r;
    int64_t t0, t_status, t_wait;
    int rc;

    rig_start(&r);
    spin_start(&r);
    usleep(2000000);
    ASSERT_EQ(mdf_status(r.inst, &st), 0);
    ASSERT_EQ(st.liveness, MDF_ALIVE);
    drain(r.sub);
    t0 = test_now_ns();
    dmn_kill(&r.d, SIGKILL);
    /* Not reaped until dmn_wait_exit: a zombie, which counts as gone. */
    do {
        ASSERT_EQ(mdf_status(r.inst, &st), 0);
        t_status = test_now_ns() - t0;
        ASSERT_LT(t_status, KILL_NOTICE_NS);
    } while (st.liveness != MDF_DEAD);
    ASSERT_EQ(mdf_health_status(r.h, &hs), 0);
    ASSERT_EQ(hs.liveness, MDF_DEAD);
    ASSERT_LT(st.heartbeat_age_ns, MDF_DEAD_AFTER_NS(st.hb_interval_ns)); /* not by the beat */
    /* A blocked reader is told within about a heartbeat period. */
    drain(r.sub);
    t0 = test_now_ns();
    rc = mdf_wait(r.sub, 5000);
    t_wait = test_now_ns() - t0;
    spin_stop(&r);
    fprintf(stderr, "  under load: dead for mdf_status after %lld ms, mdf_wait after %lld ms\n",
            (long long)(t_status / MS), (long long)(t_wait / MS));
    ASSERT_EQ(rc, MDF_EDEAD);
    ASSERT_LT(t_wait, KILL_NOTICE_NS);
    ASSERT_EQ(dmn_wait_exit(&r.d, 10000), 128 + SIGKILL);
    ASSERT_EQ(mdf_status(r.inst, &st), 0);
    ASSERT_EQ(st.liveness, MDF_DEAD);
    mdf_unsubscribe(r.sub);
    mdf_health_close(r.h);
    mdf_close(r.inst);
    fv_stop(&r.fv);
    return 0;
}
