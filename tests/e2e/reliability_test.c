/*
 * Reliability end to end (issue 14): signals at any moment of start-up never kill the daemon.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/daemon.h"
#include "support/fakevenue.h"
#include "test.h"

#define ONE_VENUE                                                                                  \
    "venues = ({ venue = \"binance-spot\"; name = \"a\"; url = \"ws://127.0.0.1:%d\";\n"           \
    "  rest_url = \"http://127.0.0.1:%d\"; symbols = [\"AAAUSDT\"]; trades = \"agg_trade\";\n"     \
    "  kline = \"\"; }%s);\n"

/* Waits (up to 5 s) until process pid ignores SIGPIPE: mdfeedd does that once its config is
 * loaded, when the segments, the feeds and the loop are still to come. The signals below land
 * in that start-up, past exec and the dynamic loader (where no program can have a handler). */
static int wait_in_start_up(pid_t pid)
{
    char path[64], line[256];

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    for (int t = 0; t < 5000; t++) {
        FILE *f = fopen(path, "r");
        unsigned long long mask = 0;

        if (!f)
            return -1;
        while (fgets(line, sizeof(line), f))
            if (strncmp(line, "SigIgn:", 7) == 0)
                mask = strtoull(line + 7, NULL, 16);
        fclose(f);
        if (mask & (1ull << (SIGPIPE - 1)))
            return 0;
        usleep(200);
    }
    return -1;
}

TEST(daemon_sighup_and_sigterm_at_random_moments_of_start_up_never_kill_it)
{
    const char *fv_args[] = {"--market", "AAAUSDT", NULL};
    const char *n = getenv("MDFEED_TEST_SIGNAL_ROUNDS");
    int rounds = n ? atoi(n) : 200;
    unsigned seed = (unsigned)test_now_ns();
    struct fv_proc fv;

    printf("seed %u\n", seed);
    srand(seed);
    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    for (int i = 0; i < rounds; i++) {
        bool hup = i % 2 == 0;
        struct dmn d;
        int rc;

        ASSERT_EQ(dmn_config(&d, ONE_VENUE, fv.port, fv.port, ""), 0);
        ASSERT_EQ(dmn_spawn(&d), 0);
        ASSERT_EQ(wait_in_start_up(d.p.pid), 0);
        usleep((useconds_t)(rand() % 20000));
        dmn_kill(&d, hup ? SIGHUP : SIGTERM);
        if (hup) {
            /* Alive through it: it runs (and reloads), then stops cleanly when asked. */
            if (dmn_wait(&d, "running:", 10000, NULL, 0) < 0)
                test_fail(__FILE__, __LINE__, "round %d: SIGHUP at start-up: no running line", i);
            dmn_kill(&d, SIGTERM);
        }
        rc = dmn_wait_exit(&d, 10000);
        if (rc != 0)
            test_fail(__FILE__, __LINE__, "round %d: %s at start-up: exit status %d; log:\n%.*s", i,
                      hup ? "SIGHUP" : "SIGTERM", rc, (int)d.p.len, d.p.buf);
    }
    fv_stop(&fv);
    return 0;
}

/* A state segment a previous daemon left with a corrupt header is replaced, and the log says
 * which segment and why (it used to be re-initialised without a word). */
TEST(daemon_replacing_a_corrupt_segment_says_so)
{
    const char *fv_args[] = {"--market", "AAAUSDT", NULL};
    struct fv_proc fv;
    char path[128], line[512];
    struct dmn d;
    FILE *f;

    ASSERT_EQ(fv_start(&fv, fv_args), 0);
    ASSERT_EQ(dmn_config(&d, ONE_VENUE, fv.port, fv.port, ""), 0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(dmn_stop(&d), 0);
    snprintf(path, sizeof(path), "/dev/shm/mdfeed.%s.state", d.instance);
    f = fopen(path, "r+");
    ASSERT(f != NULL);
    ASSERT_EQ(fwrite("garbage!", 1, 8, f), 8); /* over the magic */
    fclose(f);
    ASSERT_EQ(dmn_config(&d, ONE_VENUE, fv.port, fv.port, ""), 0);
    ASSERT_EQ(dmn_start(&d), 0);
    ASSERT_EQ(dmn_wait(&d, "replaced /dev/shm/mdfeed.", 1000, line, sizeof(line)), 0);
    ASSERT_CONTAINS(line, ".state left by a previous daemon: its header was corrupt");
    ASSERT_EQ(dmn_count(&d, "adopted the segments"), 0);
    ASSERT_EQ(dmn_stop(&d), 0);
    fv_stop(&fv);
    return 0;
}
